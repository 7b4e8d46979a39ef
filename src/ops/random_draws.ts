/**
 * The initializers' draws from an Rng (random.ts) in WebAssembly: xoshiro128** and Box–Muller as in
 * `Rng.uniform()` / `Rng.normal()`, with Math.log / sin / cos imported from JavaScript (the same functions,
 * so the same bits). The first weights of a process (a recurrent layer's 12k normal draws for its
 * orthogonal U) are drawn before V8 has optimized any JavaScript: there the scalar loop cost ≈ 6 ms and
 * ≈ 1.5 MB of boxed numbers; WebAssembly runs at full speed from its first call and allocates nothing.
 * The arithmetic is the scalar loops' float64 in the same order (WebAssembly has no implicit fused
 * multiply-add), rounded to float32 as a Float32Array store rounds.
 */
import {
  FLOAT64,
  F64,
  I32,
  add,
  eqz,
  geU,
  get,
  i32,
  ifElse,
  inc,
  loopUntil,
  mul,
  set,
  moduleBytes,
  vec,
  type Code,
} from "../layers/recurrent/fused/wasm.js";
import { WA, type WasmMemory } from "../layers/recurrent/fused/step_kernels.js";
import { prebuiltWasm } from "./prebuilt_wasm.js";

/**
 * What `drawFloats` writes for each value, from a standard normal z or a uniform u in [0, 1) and the
 * constants a, b: the scalar loops' expressions (initializers.ts), in their order of operations.
 */
export const DRAW_KINDS = {
  /** b·z */
  scaledNormal: 0,
  /** a + b·z */
  normal: 1,
  /** a + b·z, z redrawn while |z| > 2 */
  truncatedNormal: 2,
  /** a + b·u */
  uniform: 3,
  /** (u·2 − 1)·b */
  symmetricUniform: 4,
} as const;
export type DrawKind = (typeof DRAW_KINDS)[keyof typeof DRAW_KINDS];

const i32Load = (addr: number): Code => [...i32(addr), 0x28, 2, 0];
const i32Store = (addr: number, v: Code): Code => [...i32(addr), ...v, 0x36, 2, 0];
const op =
  (code: number) =>
  (...operands: Code[]): Code => [...vec(...operands), code];
const [xor, shl, rotl] = [op(0x73), op(0x74), op(0x77)];
/** The imported Math functions, function indices 0–2. */
const MATH = ["log", "sin", "cos"] as const;
const math = (f: (typeof MATH)[number], x: Code): Code => [...x, 0x10, MATH.indexOf(f)];

// memory (bytes): the state s[0..4) at 0, spare at 16, "has a spare" at 24, a at 32, b at 40, values from 64
const [SPARE, HAS_SPARE, A, B] = [16, 24, 32, 40];
export const DRAWS_AT = 64;

// locals after the three i32 parameters
const [s0, s1, s2, s3, t, has, i, j] = [3, 4, 5, 6, 7, 8, 9, 10];
const [u, v, r, z, spare] = [11, 12, 13, 14, 15];
const LOCALS = [I32, I32, I32, I32, I32, I32, I32, I32, F64, F64, F64, F64, F64];

/** local `into` = Rng.uniform() */
const uniform = (into: number): Code =>
  vec(
    set(t, shl(get(s1), i32(9))),
    set(
      into,
      FLOAT64.div(FLOAT64.fromU32(mul(rotl(mul(get(s1), i32(5)), i32(7)), i32(9))), FLOAT64.constant(4294967296)),
    ),
    set(s2, xor(get(s2), get(s0))),
    set(s3, xor(get(s3), get(s1))),
    set(s1, xor(get(s1), get(s2))),
    set(s0, xor(get(s0), get(s3))),
    set(s2, xor(get(s2), get(t))),
    set(s3, rotl(get(s3), i32(11))),
  );

/** local z = Rng.normal() */
const normal = ifElse(
  get(has),
  vec(set(z, get(spare)), set(has, i32(0))),
  vec(
    set(u, FLOAT64.constant(0)),
    loopUntil(FLOAT64.ne(get(u), FLOAT64.constant(0)), uniform(u)),
    uniform(v),
    set(r, FLOAT64.sqrt(FLOAT64.mul(FLOAT64.constant(-2), math("log", get(u))))),
    set(spare, FLOAT64.mul(get(r), math("sin", FLOAT64.mul(FLOAT64.constant(2 * Math.PI), get(v))))),
    set(has, i32(1)),
    set(z, FLOAT64.mul(get(r), math("cos", FLOAT64.mul(FLOAT64.constant(2 * Math.PI), get(v))))),
  ),
);

const loadState = vec(
  set(s0, i32Load(0)),
  set(s1, i32Load(4)),
  set(s2, i32Load(8)),
  set(s3, i32Load(12)),
  set(spare, FLOAT64.load(i32(SPARE))),
  set(has, i32Load(HAS_SPARE)),
);
const storeState = vec(
  i32Store(0, get(s0)),
  i32Store(4, get(s1)),
  i32Store(8, get(s2)),
  i32Store(12, get(s3)),
  FLOAT64.store(i32(SPARE), get(spare)),
  i32Store(HAS_SPARE, get(has)),
);

/** draw_f32(kind, start, end): float32 values start..end-1 of `kind` at DRAWS_AT. */
function drawF32(): Code {
  const [kind, start, end] = [0, 1, 2];
  const a = FLOAT64.load(i32(A));
  const b = FLOAT64.load(i32(B));
  const isKind = (k: DrawKind): Code => [...get(kind), ...i32(k), 0x46];
  const value = ifElse(
    isKind(DRAW_KINDS.scaledNormal),
    vec(normal, set(r, FLOAT64.mul(b, get(z)))),
    ifElse(
      isKind(DRAW_KINDS.normal),
      vec(normal, set(r, FLOAT64.add(a, FLOAT64.mul(b, get(z))))),
      ifElse(
        isKind(DRAW_KINDS.truncatedNormal),
        vec(
          normal,
          loopUntil(eqz(FLOAT64.gt(FLOAT64.abs(get(z)), FLOAT64.constant(2))), normal),
          set(r, FLOAT64.add(a, FLOAT64.mul(b, get(z)))),
        ),
        ifElse(
          isKind(DRAW_KINDS.uniform),
          vec(uniform(u), set(r, FLOAT64.add(a, FLOAT64.mul(b, get(u))))),
          vec(
            uniform(u),
            set(r, FLOAT64.mul(FLOAT64.sub(FLOAT64.mul(get(u), FLOAT64.constant(2)), FLOAT64.constant(1)), b)),
          ),
        ),
      ),
    ),
  );
  return vec(
    loadState,
    set(i, get(start)),
    loopUntil(
      geU(get(i), get(end)),
      vec(value, FLOAT64.storeFloat32(add(i32(DRAWS_AT), mul(get(i), i32(4))), get(r)), inc(i, i32(1))),
    ),
    storeState,
  );
}

/** normal_row(m, n, i): row i's n float64 normal draws, stored column-major (m per column) at DRAWS_AT. */
function normalRow(): Code {
  const [m, n] = [0, 1];
  return vec(
    loadState,
    set(i, get(2)),
    set(j, i32(0)),
    loopUntil(
      geU(get(j), get(n)),
      vec(
        normal,
        FLOAT64.store(add(i32(DRAWS_AT), mul(add(mul(get(j), get(m)), get(i)), i32(8))), get(z)),
        inc(j, i32(1)),
      ),
    ),
    storeState,
  );
}

/** The module's bytes: memory and Math.log / sin / cos imported, draw_f32 and normal_row exported. */
export function drawsModuleBytes(): Uint8Array {
  const fns = [
    { name: "draw_f32", params: ["kind", "start", "end"], locals: LOCALS, body: drawF32() },
    { name: "normal_row", params: ["m", "n", "i"], locals: LOCALS, body: normalRow() },
  ];
  return moduleBytes(fns, false, MATH);
}

interface Draws {
  readonly memory: WasmMemory;
  readonly drawF32: (kind: number, start: number, end: number) => void;
  readonly normalRow: (m: number, n: number, i: number) => void;
}
let draws: Draws | null | undefined;

/** The memory the kept instance may have (a larger draw gets an instance of its own, freed after it). */
const KEPT_BYTES = 1 << 20;

/** The module's instance, with a memory of at least `bytes` (null without WebAssembly). */
function drawsFor(bytes: number): Draws | null {
  if (draws === undefined) draws = WA ? instance(1) : null;
  if (!draws || draws.memory.buffer.byteLength >= bytes) return draws;
  const sized = instance(Math.ceil(bytes / 65536));
  if (bytes <= KEPT_BYTES) draws = sized;
  return sized;
}

let module: object | undefined;
function instance(pages: number): Draws {
  module ??= new WA!.Module(prebuiltWasm("draws"));
  const memory = new WA!.Memory({ initial: pages });
  const { exports } = new WA!.Instance(module, { env: { memory }, Math });
  return {
    memory,
    drawF32: exports.draw_f32 as Draws["drawF32"],
    normalRow: exports.normal_row as Draws["normalRow"],
  };
}

/** An Rng's state as the module reads and writes it: s (4 words) and the spare normal, if any. */
export interface DrawState {
  s: Uint32Array;
  spare: number | undefined;
}

/**
 * Values per call: V8 compiles a WebAssembly function with its optimizing tier in the background while
 * the first calls run in its baseline tier, and later calls take the result (one long call would not).
 */
const CHUNK = 256;

let runs = 0;
/** How many draws ran in WebAssembly in this process (tests assert that they did). */
export const wasmDrawRuns = (): number => runs;

function run(state: DrawState, bytes: number, a: number, b: number, go: (d: Draws) => void): WasmMemory | null {
  const d = drawsFor(DRAWS_AT + bytes);
  if (!d) return null;
  const words = new Uint32Array(d.memory.buffer, 0, 8);
  words.set(state.s);
  words[HAS_SPARE / 4] = state.spare === undefined ? 0 : 1;
  const f64 = new Float64Array(d.memory.buffer, 0, 6);
  f64[SPARE / 8] = state.spare ?? 0;
  f64[A / 8] = a;
  f64[B / 8] = b;
  go(d);
  runs++;
  state.s.set(words.subarray(0, 4));
  state.spare = words[HAS_SPARE / 4] ? f64[SPARE / 8] : undefined;
  return d.memory;
}

/** n float32 draws of `kind` (DRAW_KINDS) from `state`, which moves on; null without WebAssembly. */
export function drawFloats(state: DrawState, kind: DrawKind, n: number, a: number, b: number): Float32Array | null {
  const memory = run(state, n * 4, a, b, (d) => {
    for (let start = 0; start < n; start += CHUNK) d.drawF32(kind, start, Math.min(n, start + CHUNK));
  });
  return memory && new Float32Array(memory.buffer, DRAWS_AT, n).slice();
}

/** m·n normal draws, row by row, stored column-major (m values per column); null without WebAssembly. */
export function drawNormalColumns(state: DrawState, m: number, n: number): Float64Array | null {
  const memory = run(state, m * n * 8, 0, 0, (d) => {
    for (let i = 0; i < m; i++) d.normalRow(m, n, i);
  });
  return memory && new Float64Array(memory.buffer, DRAWS_AT, m * n).slice();
}
