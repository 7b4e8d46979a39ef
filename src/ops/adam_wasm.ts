/**
 * Adam's one-pass update (optimizers.ts `adamInPlace`) four values per instruction: WebAssembly SIMD
 * on the wasm backend's own heap, where the in-place update finds the variable, its gradient and its
 * slots. Every operation is one float32 add, subtract, multiply, divide or square root, as the
 * JavaScript loop's `Math.fround` of each double operation (a double result rounded to float32 is the
 * float32 result for these operations), so the bits are the loop's (test/training/optimizer_in_place).
 */
import { tf } from "../backend/tf.js";
import type { WasmBackendApi } from "../backend/internals.js";
import {
  VECTOR,
  defineFunction,
  geU,
  get,
  inc,
  loopUntil,
  moduleBytes,
  set,
  splat,
  vec,
  type Code,
} from "../layers/recurrent/fused/wasm.js";
import { WA, wasmSimdProblem, type WasmMemory } from "../layers/recurrent/fused/step_kernels.js";

const PARAMS = ["n", "g", "v", "m", "vel", "alpha", "rest1", "rest2", "epsilon"] as const;

/** A float32 parameter passed as its bits in an i32, in all four lanes. */
const splatBits = (local: number): Code => splat([...get(local), 0xbe]); // f32.reinterpret_i32
const sqrt = (a: Code): Code => [...a, 0xfd, 0xe3, 0x01];

/** adam(n, g, v, m, vel, alpha, rest1, rest2, epsilon): the first n values (n a multiple of 4). */
const adamFunction = () =>
  defineFunction("adam", PARAMS, ["end"], (L, valueLocal) => {
    const [alpha, rest1, rest2, epsilon, gi, mi, vi, m1, v1] = Array.from({ length: 9 }, () => valueLocal(VECTOR));
    const A = VECTOR;
    return vec(
      set(alpha, splatBits(L.alpha)),
      set(rest1, splatBits(L.rest1)),
      set(rest2, splatBits(L.rest2)),
      set(epsilon, splatBits(L.epsilon)),
      set(L.end, [...get(L.g), ...get(L.n), 0x41, 2, 0x74, 0x6a]), // g + 4n
      loopUntil(
        geU(get(L.g), get(L.end)),
        vec(
          set(gi, A.load(get(L.g))),
          set(mi, A.load(get(L.m))),
          set(vi, A.load(get(L.vel))),
          set(m1, A.add(get(mi), A.mul(A.sub(get(gi), get(mi)), get(rest1)))),
          set(v1, A.add(get(vi), A.mul(A.sub(A.mul(get(gi), get(gi)), get(vi)), get(rest2)))),
          A.store(get(L.m), get(m1)),
          A.store(get(L.vel), get(v1)),
          A.store(
            get(L.v),
            A.sub(A.load(get(L.v)), A.div(A.mul(get(alpha), get(m1)), A.add(sqrt(get(v1)), get(epsilon)))),
          ),
          ...["g", "v", "m", "vel"].map((p) => inc(L[p], [0x41, 16])),
        ),
      ),
    );
  });

let compiled: object | null | undefined;
/** The function bound to each heap; null where it cannot be (a shared heap: the module imports a plain one). */
const instances = new WeakMap<object, ((...args: number[]) => void) | null>();
const f32 = new Float32Array(1),
  i32 = new Int32Array(f32.buffer);
const bitsOf = (x: number): number => ((f32[0] = x), i32[0]);

/** The wasm backend's heap, when it is the memory these arrays are views of. */
function heapOf(arrays: readonly Float32Array[]): WasmMemory | null {
  if (tf.getBackend() !== "wasm") return null;
  const memory = (tf.backend() as Partial<WasmBackendApi>).wasm?.asm?.memory as WasmMemory | undefined;
  return memory && arrays.every((a) => a.buffer === memory.buffer) ? memory : null;
}

/**
 * Adam's update of the first values of `v` (a multiple of 4) with gradient `g` and slots `m`, `vel`, in
 * place; how many it updated (0 where the arrays are not on the wasm backend's heap or there is no SIMD).
 */
export function adamSimd(
  g: Float32Array,
  v: Float32Array,
  m: Float32Array,
  vel: Float32Array,
  alpha: number,
  rest1: number,
  rest2: number,
  epsilon: number,
): number {
  const n = v.length & ~3;
  const memory = n ? heapOf([g, v, m, vel]) : null;
  if (!memory) return 0;
  let adam = instances.get(memory);
  if (adam === undefined) {
    if (compiled === undefined) compiled = wasmSimdProblem() ? null : new WA!.Module(moduleBytes([adamFunction()]));
    try {
      adam = compiled && (new WA!.Instance(compiled, { env: { memory } }).exports.adam as (...args: number[]) => void);
    } catch {
      adam = null;
    }
    instances.set(memory, adam);
  }
  if (!adam) return 0;
  const at = (a: Float32Array) => a.byteOffset;
  adam(n, at(g), at(v), at(m), at(vel), bitsOf(alpha), bitsOf(rest1), bitsOf(rest2), bitsOf(epsilon));
  return n;
}
