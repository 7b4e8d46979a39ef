/**
 * Modified Gram–Schmidt on the columns of a float64 matrix, in WebAssembly: the orthogonal initializer's
 * QR (initializers.ts). The first weight drawn in a process (a recurrent layer's recurrent kernel) runs
 * this before V8 has optimized any JavaScript: in JavaScript it cost ~8 ms more than warm there (GRU(64):
 * 0.8 million multiply-adds); WebAssembly runs without V8's warm-up. The arithmetic is JavaScript's
 * float64 in the same order (no fused multiply-add), so the values are the same bits; the scaled float32
 * weight is written here too (in JavaScript that loop alone cost ≈ 3 ms on the first weight).
 */
import {
  FLOAT64,
  F64,
  I32,
  add,
  and,
  geU,
  get,
  i32,
  inc,
  loopUntil,
  moduleBytes,
  mul,
  select,
  set,
  vec,
  type Code,
} from "../layers/recurrent/fused/wasm.js";
import { WA } from "../layers/recurrent/fused/step_kernels.js";
import { prebuiltWasm } from "./prebuilt_wasm.js";

/**
 * The module's bytes. gram_schmidt_column(m, j): column j of the columns of m float64 each at address 0,
 * column-major, orthogonalized against columns 0..j-1 (already orthonormal) and normalized, in place.
 */
export function gramSchmidtModuleBytes(): Uint8Array {
  // parameters m, j; i32 locals; f64 locals
  const [m, j, m8, k, i, cj, ck, dot, norm] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const eachRow = (body: Code): Code => vec(set(i, i32(0)), loopUntil(geU(get(i), get(m8)), vec(body, inc(i, i32(8)))));
  const at = (column: number) => add(get(column), get(i));
  const body = vec(
    set(m8, mul(get(m), i32(8))),
    set(cj, mul(get(j), get(m8))),
    set(k, i32(0)),
    loopUntil(
      geU(get(k), get(j)),
      vec(
        set(ck, mul(get(k), get(m8))),
        set(dot, FLOAT64.constant(0)),
        eachRow(set(dot, FLOAT64.add(get(dot), FLOAT64.mul(FLOAT64.load(at(ck)), FLOAT64.load(at(cj)))))),
        eachRow(FLOAT64.store(at(cj), FLOAT64.sub(FLOAT64.load(at(cj)), FLOAT64.mul(get(dot), FLOAT64.load(at(ck)))))),
        inc(k, i32(1)),
      ),
    ),
    set(norm, FLOAT64.constant(0)),
    eachRow(set(norm, FLOAT64.add(get(norm), FLOAT64.mul(FLOAT64.load(at(cj)), FLOAT64.load(at(cj)))))),
    // JavaScript's `Math.sqrt(norm) || 1`: 1 for 0 and NaN
    set(norm, FLOAT64.sqrt(get(norm))),
    set(
      norm,
      select(
        get(norm),
        FLOAT64.constant(1),
        and(FLOAT64.eq(get(norm), get(norm)), FLOAT64.ne(get(norm), FLOAT64.constant(0))),
      ),
    ),
    eachRow(FLOAT64.store(at(cj), FLOAT64.div(FLOAT64.load(at(cj)), get(norm)))),
  );
  const fn = { name: "gram_schmidt_column", params: ["m", "j"], locals: [I32, I32, I32, I32, I32, F64, F64], body };
  return moduleBytes([fn, scaledFloat32()]);
}

/**
 * scaled_f32(m, n, transpose): float32(gain · a[j·m + i]) for the m × n column-major a at 0, gain the
 * float64 after a, the float32 values after gain: at i·n + j when `transpose` (a's rows as rows), else at
 * j·m + i (a's columns as rows).
 */
function scaledFloat32(): { name: string; params: string[]; locals: number[]; body: Code } {
  const [m, n, transpose, i, j, gainAt, outAt, from] = [0, 1, 2, 3, 4, 5, 6, 7];
  const f32Store = (addr: Code, v: Code): Code => [...addr, ...v, 0xb6, 0x38, 2, 0]; // f32.demote_f64, f32.store
  const body = vec(
    set(gainAt, mul(mul(get(m), get(n)), i32(8))),
    set(outAt, add(get(gainAt), i32(8))),
    set(i, i32(0)),
    loopUntil(
      geU(get(i), get(m)),
      vec(
        set(j, i32(0)),
        loopUntil(
          geU(get(j), get(n)),
          vec(
            set(from, add(mul(get(j), get(m)), get(i))),
            f32Store(
              add(get(outAt), mul(select(add(mul(get(i), get(n)), get(j)), get(from), get(transpose)), i32(4))),
              FLOAT64.mul(FLOAT64.load(get(gainAt)), FLOAT64.load(mul(get(from), i32(8)))),
            ),
            inc(j, i32(1)),
          ),
        ),
        inc(i, i32(1)),
      ),
    ),
  );
  return { name: "scaled_f32", params: ["m", "n", "transpose"], locals: [I32, I32, I32, I32, I32], body };
}

let compiled: object | undefined;

/**
 * The orthogonal initializer's weight from its m × n (m ≥ n) normal draws `a` (column-major): a's columns
 * orthonormalized by modified Gram–Schmidt, times `gain`, as float32, row-major: a's rows as the weight's
 * rows when `transpose` (rows ≥ cols), else a's columns.
 */
export function orthonormalScaled(
  a: Float64Array,
  m: number,
  n: number,
  gain: number,
  transpose: boolean,
): Float32Array {
  compiled ??= new WA!.Module(prebuiltWasm("gramSchmidt"));
  const gainAt = a.byteLength;
  const bytes = gainAt + 8 + a.length * 4;
  const memory = new WA!.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const { exports } = new WA!.Instance(compiled, { env: { memory } });
  new Float64Array(memory.buffer, 0, a.length).set(a);
  // one call per column: V8 compiles a WebAssembly function with its optimizing tier in the background
  // while the first calls run in its baseline tier, and later calls (the longer columns) take the result
  const column = exports.gram_schmidt_column as (m: number, j: number) => void;
  for (let j = 0; j < n; j++) column(m, j);
  new Float64Array(memory.buffer, gainAt, 1)[0] = gain;
  (exports.scaled_f32 as (m: number, n: number, transpose: number) => void)(m, n, transpose ? 1 : 0);
  return new Float32Array(memory.buffer, gainAt + 8, a.length).slice();
}
