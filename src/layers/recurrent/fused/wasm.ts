/**
 * A tiny WebAssembly encoder for the fused kernels' step functions (no assembler, no build step):
 * instructions are byte arrays in stack-machine order, a module is a list of functions with i32
 * parameters that import one memory ("env"."memory") and work in place on it.
 *
 * `Lanes` are the two instruction sets a step function's unit loop is written in: f32x4 (four units at
 * a time) and f32 (the units left over when `units` is not a multiple of 4). `WasmAlgebra` writes a
 * cell's step math (cells/*.ts) in either (lane_algebra.ts), one local per value.
 */
import { createRequire } from "node:module";
import { LaneAlgebra, type FusedActivation, type Instructions } from "./lane_algebra.js";

export type Code = number[];

export function uleb(n: number): Code {
  // a local or parameter name that does not exist would otherwise encode as index 0
  if (!Number.isInteger(n) || n < 0) throw new Error(`wasm encoder: ${n} is not an index or size`);
  const out: Code = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(n: number): Code {
  const out: Code = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const f32bytes = (x: number): Code => Array.from(new Uint8Array(new Float32Array([x]).buffer));
// concat, not a loop: the first module of a process is built before V8 has optimized any JavaScript
export const vec = (...parts: Code[]): Code => ([] as Code).concat(...parts);
const section = (id: number, body: Code): Code => [id, ...uleb(body.length), ...body];
const list = (items: Code[]): Code => vec(uleb(items.length), ...items);
const name = (s: string): Code => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];

/** Value types (of locals and parameters). */
export const I32 = 0x7f,
  F32 = 0x7d,
  F64 = 0x7c,
  V128 = 0x7b;
const simd = (op: number): Code => [0xfd, ...uleb(op)];
/** f32x4.splat: a float32 in all four lanes. */
export const splat = (a: Code): Code => [...a, ...simd(0x13)];

// ---------------------------------------------------------------------------------------------
// i32 instructions (addresses, counters)

export const get = (i: number): Code => [0x20, ...uleb(i)];
export const set = (i: number, e: Code): Code => [...e, 0x21, ...uleb(i)];
export const i32 = (n: number): Code => [0x41, ...sleb(n)];
export const add = (a: Code, b: Code): Code => [...a, ...b, 0x6a];
export const sub = (a: Code, b: Code): Code => [...a, ...b, 0x6b];
export const mul = (a: Code, b: Code): Code => [...a, ...b, 0x6c];
export const and = (a: Code, b: Code): Code => [...a, ...b, 0x71];
export const geU = (a: Code, b: Code): Code => [...a, ...b, 0x4f];
export const leU = (a: Code, b: Code): Code => [...a, ...b, 0x4d];
export const eqz = (a: Code): Code => [...a, 0x45];
export const eq = (a: Code, b: Code): Code => [...a, ...b, 0x46];
/** a when cond ≠ 0, else b (any operand type). */
export const select = (a: Code, b: Code, cond: Code): Code => [...a, ...b, ...cond, 0x1b];
export const load8u = (addr: Code): Code => [...addr, 0x2d, 0, 0];
export const inc = (i: number, by: Code): Code => set(i, add(get(i), by));
/** for (;;) { if (stop) break; body } */
export const loopUntil = (stop: Code, body: Code): Code => [
  0x02,
  0x40,
  0x03,
  0x40,
  ...stop,
  0x0d,
  1,
  ...body,
  0x0c,
  0,
  0x0b,
  0x0b,
];
/** if (cond) then else otherwise */
export const ifElse = (cond: Code, then: Code, otherwise: Code): Code => [
  ...cond,
  0x04,
  0x40,
  ...then,
  0x05,
  ...otherwise,
  0x0b,
];
/** memory.copy(dst, src, n) (bulk memory) */
export const memoryCopy = (dst: Code, src: Code, n: Code): Code => [...dst, ...src, ...n, 0xfc, 0x0a, 0x00, 0x00];
/** memory.fill(dst, 0, n) */
export const memoryZero = (dst: Code, n: Code): Code => [...dst, ...i32(0), ...n, 0xfc, 0x0b, 0x00];
/** A call of the module's function number `index` (functions are numbered in the order of `moduleBytes`). */
export const call = (index: number, args: readonly Code[]): Code => [...vec(...args), 0x10, ...uleb(index)];

// ---------------------------------------------------------------------------------------------
// The unit loop's instruction sets

export interface Lanes extends Instructions<Code> {
  /** Type of a value local. */
  readonly valueType: number;
  /** Bytes of one value (4 units or 1). */
  readonly bytes: 16 | 4;
  /** a·b + c: one fused multiply-add where relaxed SIMD has it (`relaxedSimd()`), else a multiply and an add. */
  madd(a: Code, b: Code, c: Code): Code;
  /** The condition "row is masked" from an i32 local holding 1 (masked) or 0 (live). */
  masked(flagLocal: number): Code;
}

/** f32x4: four units per instruction. */
export const VECTOR: Lanes = {
  valueType: V128,
  bytes: 16,
  load: (addr) => [...addr, ...simd(0x00), 2, 0],
  store: (addr, v) => [...addr, ...v, ...simd(0x0b), 2, 0],
  constant: (x) => [0xfd, 0x0c, ...f32bytes(x), ...f32bytes(x), ...f32bytes(x), ...f32bytes(x)],
  add: (a, b) => [...a, ...b, ...simd(0xe4)],
  sub: (a, b) => [...a, ...b, ...simd(0xe5)],
  mul: (a, b) => [...a, ...b, ...simd(0xe6)],
  div: (a, b) => [...a, ...b, ...simd(0xe7)],
  madd: (a, b, c) =>
    relaxedSimd() ? [...a, ...b, ...c, ...simd(0x105)] : [...a, ...b, ...simd(0xe6), ...c, ...simd(0xe4)],
  min: (a, b) => [...a, ...b, ...simd(0xe8)],
  max: (a, b) => [...a, ...b, ...simd(0xe9)],
  gt: (a, b) => [...a, ...b, ...simd(0x44)],
  lt: (a, b) => [...a, ...b, ...simd(0x43)],
  both: (c1, c2) => [...c1, ...c2, ...simd(0x4e)],
  where: (cond, a, b) => [...a, ...b, ...cond, ...simd(0x52)], // v128.bitselect
  masked: (flag) => [...sub(i32(0), get(flag)), ...simd(0x11)], // i32x4.splat(0 − flag): all ones when masked
};

/** f64 instructions (the initializers' float64 arithmetic: random_draws.ts, gram_schmidt.ts). */
export const FLOAT64 = {
  load: (addr: Code): Code => [...addr, 0x2b, 3, 0],
  store: (addr: Code, v: Code): Code => [...addr, ...v, 0x39, 3, 0],
  /** f32.demote_f64 then f32.store: the float32 a Float32Array store of the double gives. */
  storeFloat32: (addr: Code, v: Code): Code => [...addr, ...v, 0xb6, 0x38, 2, 0],
  constant: (x: number): Code => [0x44, ...new Uint8Array(new Float64Array([x]).buffer)],
  add: (a: Code, b: Code): Code => [...a, ...b, 0xa0],
  sub: (a: Code, b: Code): Code => [...a, ...b, 0xa1],
  mul: (a: Code, b: Code): Code => [...a, ...b, 0xa2],
  div: (a: Code, b: Code): Code => [...a, ...b, 0xa3],
  eq: (a: Code, b: Code): Code => [...a, ...b, 0x61],
  ne: (a: Code, b: Code): Code => [...a, ...b, 0x62],
  gt: (a: Code, b: Code): Code => [...a, ...b, 0x64],
  abs: (a: Code): Code => [...a, 0x99],
  sqrt: (a: Code): Code => [...a, 0x9f],
  /** f64.convert_i32_u */
  fromU32: (a: Code): Code => [...a, 0xb8],
};

/** f32: one unit per instruction (the units after the last multiple of 4). */
export const SCALAR: Lanes = {
  valueType: F32,
  bytes: 4,
  load: (addr) => [...addr, 0x2a, 2, 0],
  store: (addr, v) => [...addr, ...v, 0x38, 2, 0],
  constant: (x) => [0x43, ...f32bytes(x)],
  add: (a, b) => [...a, ...b, 0x92],
  sub: (a, b) => [...a, ...b, 0x93],
  mul: (a, b) => [...a, ...b, 0x94],
  div: (a, b) => [...a, ...b, 0x95],
  madd: (a, b, c) => [...a, ...b, 0x94, ...c, 0x92],
  min: (a, b) => [...a, ...b, 0x96],
  max: (a, b) => [...a, ...b, 0x97],
  gt: (a, b) => [...a, ...b, 0x5e],
  lt: (a, b) => [...a, ...b, 0x5d],
  both: (c1, c2) => [...c1, ...c2, 0x71],
  where: (cond, a, b) => select(a, b, cond),
  masked: (flag) => get(flag),
};

// ---------------------------------------------------------------------------------------------
// Relaxed SIMD

/** f32x4.relaxed_madd(a, b, c) of three parameters: validates only where relaxed SIMD is on. */
const RELAXED_PROBE = new Uint8Array([
  0,
  97,
  115,
  109,
  1,
  0,
  0,
  0,
  1,
  8,
  1,
  0x60,
  3,
  V128,
  V128,
  V128,
  1,
  V128,
  3,
  2,
  1,
  0,
  10,
  13,
  1,
  11,
  0,
  0x20,
  0,
  0x20,
  1,
  0x20,
  2,
  ...simd(0x105),
  0x0b,
]);
let relaxed: boolean | undefined;

/**
 * Whether the matrix products (gemm.ts) use relaxed SIMD's fused multiply-add (x86 FMA3, Arm FMLA): they
 * run 1.2–1.3× faster with it (bench/ANALYSIS.md). Node 20's V8 has it behind
 * --experimental-wasm-relaxed-simd; V8 reads that flag when it validates a module, so it is turned on
 * here, once, before the first module is generated (TSKERAS_RELAXED_SIMD=0: never, the products then
 * multiply and add separately, as before). Decided once per process: every module and thread agrees.
 */
export function relaxedSimd(): boolean {
  if (relaxed !== undefined) return relaxed;
  const WA = (globalThis as { WebAssembly?: { validate(b: Uint8Array): boolean } }).WebAssembly;
  const valid = () => {
    try {
      return !!WA?.validate(RELAXED_PROBE);
    } catch {
      return false;
    }
  };
  relaxed = false;
  if (globalThis.process?.env?.TSKERAS_RELAXED_SIMD === "0" || !WA) return relaxed;
  if (!valid()) {
    try {
      (createRequire(import.meta.url)("node:v8") as typeof import("node:v8")).setFlagsFromString(
        "--experimental-wasm-relaxed-simd",
      );
    } catch {
      return relaxed;
    }
  }
  return (relaxed = valid());
}

/** A cell's step math in one of the `Lanes`: every value in a local of its own (`newLocal`). */
export class WasmAlgebra extends LaneAlgebra<Code> {
  constructor(
    readonly lanes: Lanes,
    newLocal: () => number,
    activation: FusedActivation,
    recurrentActivation: FusedActivation,
  ) {
    super(
      lanes,
      (e) => {
        const local = newLocal();
        return [set(local, e), get(local)];
      },
      activation,
      recurrentActivation,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Functions and modules

/** One exported function: its parameters (all i32, by name: the signature), the types of its locals, its body. */
export interface WasmFunction {
  readonly name: string;
  readonly params: readonly string[];
  readonly locals: readonly number[];
  readonly body: Code;
  /** Set: the function is imported from this module namespace under its name (no locals, no body). */
  readonly importedFrom?: string;
}

/** A function of i32 parameters imported from `namespace` (the module's first functions: `moduleBytes`). */
export const importedFunction = (namespace: string, fname: string, params: readonly string[]): WasmFunction => ({
  name: fname,
  params,
  locals: [],
  body: [],
  importedFrom: namespace,
});

/**
 * Builds a function: parameters and the named i32 locals get indices in that order; `valueLocal(lanes)`
 * allocates a value local (v128 or f32) while the body is generated.
 */
export function defineFunction(
  fname: string,
  params: readonly string[],
  i32Names: readonly string[],
  build: (L: Record<string, number>, valueLocal: (lanes: Lanes) => number) => Code,
): WasmFunction {
  const L: Record<string, number> = {};
  [...params, ...i32Names].forEach((n, i) => (L[n] = i));
  const locals: number[] = i32Names.map(() => I32);
  const valueLocal = (lanes: Lanes): number => params.length + locals.push(lanes.valueType) - 1;
  const body = build(L, valueLocal);
  return { name: fname, params, locals, body };
}

/** The local declarations: runs of one type. */
function localDeclarations(types: readonly number[]): Code {
  const runs: Code[] = [];
  for (let i = 0; i < types.length;) {
    let j = i;
    while (j < types.length && types[j] === types[i]) j++;
    runs.push(vec(uleb(j - i), [types[i]]));
    i = j;
  }
  return list(runs);
}

/** Pages a shared memory may grow to (the import's maximum; a shared memory must declare one). */
export const SHARED_MAX_PAGES = 65536;

/**
 * The module of `fns`, importing "env"."memory" (a shared one, which threads can use together, when
 * `shared`) and, when named in `mathFunctions`, those functions of float64 → float64 from "Math" (function
 * indices 0, 1, … in that order; `fns` follow them, the imported ones — `importedFunction` — first).
 */
export function moduleBytes(
  fns: readonly WasmFunction[],
  shared = false,
  mathFunctions: readonly string[] = [],
): Uint8Array {
  const arities = [...new Set(fns.map((f) => f.params.length))];
  const f64ToF64 = arities.length;
  const types = section(
    1,
    list([
      ...arities.map((n) => vec([0x60], list(Array.from({ length: n }, () => [I32])), [0])),
      ...(mathFunctions.length ? [[0x60, 1, F64, 1, F64]] : []),
    ]),
  );
  const limits = shared ? vec([0x03], uleb(1), uleb(SHARED_MAX_PAGES)) : vec([0x00], uleb(1));
  const imports = section(
    2,
    list([
      vec(name("env"), name("memory"), [0x02], limits),
      ...mathFunctions.map((f) => vec(name("Math"), name(f), [0x00], uleb(f64ToF64))),
      ...fns
        .filter((f) => f.importedFrom)
        .map((f) => vec(name(f.importedFrom!), name(f.name), [0x00], uleb(arities.indexOf(f.params.length)))),
    ]),
  );
  const defined = fns.filter((f) => !f.importedFrom);
  if (fns.slice(0, fns.length - defined.length).some((f) => !f.importedFrom))
    throw new Error("wasm encoder: imported functions come first");
  const funcs = section(3, list(defined.map((f) => uleb(arities.indexOf(f.params.length)))));
  const exports = section(7, list(fns.map((f, i) => vec(name(f.name), [0x00], uleb(mathFunctions.length + i)))));
  const code = section(
    10,
    list(
      defined.map((f) => {
        const body = vec(localDeclarations(f.locals), f.body, [0x0b]);
        return vec(uleb(body.length), body);
      }),
    ),
  );
  return new Uint8Array(vec([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], types, imports, funcs, exports, code));
}
