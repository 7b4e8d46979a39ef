/**
 * Native step functions: a cell's phases (cells/*.ts) as AVX-512 or AVX2 C, generated here from the same
 * phase bodies, row skeleton (phase_layout.ts `liveRow`, `maskedRow`) and activations (lane_algebra.ts) as the
 * WebAssembly step functions, compiled on first use per (cell, activation, recurrent activation) into
 * the cache that holds the native products (native.ts), and imported by the cell's WebAssembly module in
 * place of its own step functions. The sequence functions, the products, the threads are unchanged.
 *
 * The same bits as the WebAssembly: every operation is the same IEEE float32 operation in the same order
 * (separate multiply and add, -ffp-contract=off), min / max keep WebAssembly's NaN and ±0 rules
 * (assets/native/steps.h), constants are the float32 bits WebAssembly's hold. 8 units per instruction
 * instead of 4, or 16 with AVX-512: an LSTM forward step 2.5× / 4.1× faster (bench/step_functions.ts).
 *
 * Used wherever the native products are (native.ts `useNativeProducts`) unless `setNativeSteps(false)`;
 * a cell whose file does not build runs its WebAssembly steps (`nativeStepsStatus` says why).
 */
import type { FusedCell, StepBuffer } from "./cells/types.js";
import { LaneAlgebra, type FusedActivation, type Instructions } from "./lane_algebra.js";
import {
  loadAddon,
  nativeCalls,
  nativeImportsOf,
  nativeWidestLanes,
  STEP_COUNT_OFFSET,
  useNativeProducts,
  type NativeFunction,
  type NativeStatus,
} from "./native.js";
import { liveRow, maskedRow, rowBlocks, stepLayouts, strideParam, type PhaseLayout } from "./phase_layout.js";

// ---------------------------------------------------------------------------------------------
// C from phases

const f32bits = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0];
const hex = (bits: number): string => `0x${bits.toString(16).padStart(8, "0")}`;
const CONSTANT = /^K\((0x[0-9a-f]{8})\)$/;

/** The bits of a constant expression's float32 that is neither ±0 nor NaN, else null. */
function ordinaryConstant(e: string): number | null {
  const m = CONSTANT.exec(e);
  if (!m) return null;
  const bits = Number(m[1]);
  const magnitude = bits & 0x7fffffff;
  return magnitude === 0 || magnitude > 0x7f800000 ? null : bits;
}

/**
 * WebAssembly's min / max of `a` and `b`: with a constant that is neither zero nor NaN, the instruction
 * with the other operand second (x86 returns the second operand when one is NaN); otherwise steps.h's
 * exact emulation.
 */
function minMax(op: "MIN" | "MAX", a: string, b: string): string {
  if (ordinaryConstant(a) !== null) return `${op}(${a}, ${b})`;
  if (ordinaryConstant(b) !== null) return `${op}(${b}, ${a})`;
  return `wasm_${op.toLowerCase()}(${a}, ${b})`;
}

/**
 * Vector expressions in steps.h's macros (AVX-512 or AVX2, the same text); loads and stores through
 * `load` / `store` (whole groups, or the last group's tail lanes).
 */
const vectorOps = (load: string, store: string): Instructions<string> => ({
  load: (addr) => `${load}(${addr})`,
  store: (addr, v) => `${store}(${addr}, ${v});`,
  constant: (x) => `K(${hex(f32bits(x))})`,
  add: (a, b) => `ADD(${a}, ${b})`,
  sub: (a, b) => `SUB(${a}, ${b})`,
  mul: (a, b) => `MUL(${a}, ${b})`,
  div: (a, b) => `DIV(${a}, ${b})`,
  min: (a, b) => minMax("MIN", a, b),
  max: (a, b) => minMax("MAX", a, b),
  gt: (a, b) => `GT(${a}, ${b})`,
  lt: (a, b) => `LT(${a}, ${b})`,
  both: (a, b) => `BOTH(${a}, ${b})`,
  where: (c, a, b) => `WHERE(${c}, ${a}, ${b})`,
});
const FULL = vectorOps("LD", "ST");
const TAIL = vectorOps("LDT", "STT");

/** Block k of buffer b at this row's units j (`second`: in the second group of a pair). */
const address =
  (second: boolean) =>
  (buffer: string, block: number): string =>
    `m + (size_t)${buffer} + (size_t)j${second ? " + GROUP" : ""}${block === 0 ? "" : ` + (size_t)${block} * u4`}`;

/** The C function of one step function (its parameters as WebAssembly's, from `args`). */
function stepFunction(layout: PhaseLayout, act: FusedActivation, ract: FusedActivation): string {
  const { cell, fname, buffers, params, masked, keepsStates } = layout;
  let names = 0;
  type Row = (A: LaneAlgebra<string>, at: (buffer: string, block: number) => string) => void;
  const statements = (ops: Instructions<string>, row: Row, second = false): string[] => {
    const A = new LaneAlgebra<string>(
      ops,
      (e) => {
        const v = `v${names++}`;
        return [`const VEC ${v} = ${e};`, v];
      },
      act,
      ract,
    );
    row(A, address(second));
    return A.statements;
  };
  const body = (ops: Instructions<string>, row: Row): string => statements(ops, row).join("\n      ");
  /** Two groups of units, their statements interleaved (as the WebAssembly forward steps: step_kernels.ts). */
  const pair = (row: Row): string => {
    const first = statements(FULL, row),
      second = statements(FULL, row, true);
    return first.flatMap((s, i) => [s, second[i]]).join("\n      ");
  };
  /** The unit loop: [pairs of groups,] groups (GROUP bytes: 16 or 8 units), then the last group's tail lanes. */
  const units = (row: Row, pairs: boolean): string => `
    j = 0;${
      pairs
        ? `
    for (; j < uv2; j += 2 * GROUP) {
      ${pair(row)}
    }`
        : ""
    }
    for (; j < uv; j += GROUP) {
      ${body(FULL, row)}
    }
    if (j < u4) {
      ${body(TAIL, row)}
    }`;
  const pairs = !layout.grad;
  const live = units((A, at) => liveRow(layout, A, at, () => "keep"), pairs);
  const isBuffer = new Set<string>(buffers);
  const declarations = params.map((p, i) =>
    isBuffer.has(p) || p === "mask" ? `uint32_t ${p} = (uint32_t)a[${i}];` : `const int32_t ${p} = a[${i}];`,
  );
  type Buffer = (typeof buffers)[number];
  // the grad skeleton's buffers (not the body's) are one block wide
  const blocks = (b: Buffer): number => layout.shape.blocks.get(b as StepBuffer) ?? 1;
  const rowStride = (b: Buffer): string => {
    const n = rowBlocks(b, cell);
    return n === "stride" ? strideParam(b) : `${n} * u4`;
  };
  const checks = buffers.map((b) => `!rows_within(length, ${b}, B, ${rowStride(b)}, (int64_t)${blocks(b)} * u4)`);
  if (masked) checks.push("!rows_within(length, mask, B, mstride, 1)");
  if (keepsStates) checks.push("(mask && !rows_within(length, mask, B, mstride, 1))");
  const advance = buffers
    .filter((b) => rowBlocks(b, cell) !== 0)
    .map((b) => `${b} += ${rowStride(b)};`)
    .join(" ");
  const maskByte = "m[(int64_t)mask + (int64_t)b * mstride]";
  const row = masked
    ? `if (!${maskByte}) {${units((A, at) => maskedRow(layout, A, at), false)}
    } else {${live}
    }`
    : keepsStates
      ? `const int32_t masked = mask ? !${maskByte} : 0;
    const COND keep = KEEP(masked);${live}`
      : live;
  return `
STEP_FN static int ${fname}(uint8_t* m, uint64_t length, const int32_t* a) {
  ${declarations.join("\n  ")}
  if (u4 < 0 || (u4 & 3)) return 1;
  if (B <= 0) return 0;
  if (${checks.join(" ||\n      ")}) return 1;
  const int32_t uv = u4 & ~(GROUP - 1), uv2 = u4 & ~(2 * GROUP - 1);
  const TAIL tail = TAIL_LANES((u4 - uv) >> 2);
  int32_t j;
  for (int32_t b = 0; b < B; b++) {
    ${row}
    ${advance}
  }
  return 0;
}`;
}

/** The vector width the step functions are generated for: 16 lanes (AVX-512) or 8 (AVX2). */
export type StepLanes = 8 | 16;

/**
 * The C file of `cell`'s step functions for these activations: an addon exporting each by name, and
 * `supported()` (whether this CPU has the instruction set of `lanes`).
 */
export function stepsSource(cell: FusedCell, act: FusedActivation, ract: FusedActivation, lanes: StepLanes): string {
  const layouts = stepLayouts(cell);
  return [
    `/* ${cell.id} step functions, ${act} / ${ract}: generated by src/layers/recurrent/fused/native_steps.ts */`,
    `#define STEP_LANES ${lanes}`,
    `#include "steps.h"`,
    ...layouts.map((l) => stepFunction(l, act, ract)),
    `static const struct step_entry STEPS[] = {`,
    ...layouts.map((l) => `  {"${l.fname}", ${l.fname}, ${l.params.length}},`),
    `};`,
    `napi_value napi_register_module_v1(napi_env env, napi_value exports) {`,
    `  return register_steps(env, exports, STEPS, ${layouts.length});`,
    `}`,
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Building, loading, importing

/** A cell's native step functions: the addon's file, and each function's name and parameter count. */
export interface NativeSteps {
  readonly file: string;
  readonly functions: readonly (readonly [name: string, params: number])[];
}

/** A steps file's addon: each step function by name (`NativeFunction`), and `supported()`. */
type StepAddon = Record<string, NativeFunction> & { supported(): boolean };

const built = new Map<string, NativeSteps | string>();
const addons = new WeakMap<NativeSteps, StepAddon>();
let enabled = true;

/**
 * Built from now on at this width; by default the widest the CPU has (as the products): a step is long
 * chains of dependent instructions (the rational tanh), and at 16 lanes per instruction the processor's
 * window holds twice the units.
 */
let lanes: StepLanes | undefined;

/** `cell`'s native step functions for these activations (built on first use), or why they do not run. */
function decide(cell: FusedCell, act: FusedActivation, ract: FusedActivation): NativeSteps | string {
  if (!enabled) return "turned off (setNativeSteps(false))";
  if (!useNativeProducts()) return "no native products here (rnn_fused_status()'s `products` says why)";
  lanes ??= nativeWidestLanes();
  const key = `${cell.id}/${act}/${ract}/${lanes}`;
  let b = built.get(key);
  if (b === undefined) {
    const source = stepsSource(cell, act, ract, lanes);
    const loaded = loadAddon<StepAddon>(process.env, `steps-${cell.id}`, source, `${key} steps`);
    if (typeof loaded === "string") b = loaded;
    else if (!loaded.addon.supported()) b = `this CPU has no ${lanes === 16 ? "AVX-512" : "AVX2 and FMA"}`;
    else {
      b = { file: loaded.file, functions: stepLayouts(cell).map((l) => [l.fname, l.params.length] as const) };
      addons.set(b, loaded.addon);
    }
    built.set(key, b);
  }
  return b;
}

/** `cell`'s native step functions for these activations (built on first use), or null where they do not run. */
export function nativeStepsFor(cell: FusedCell, act: FusedActivation, ract: FusedActivation): NativeSteps | null {
  const d = decide(cell, act, ract);
  return typeof d === "string" ? null : d;
}

/** Whether `cell`'s step functions for these activations are native, and why not where they are not. */
export function nativeStepsStatus(cell: FusedCell, act: FusedActivation, ract: FusedActivation): NativeStatus {
  const d = decide(cell, act, ract);
  return typeof d === "string" ? { isa: null, detail: d } : { isa: lanes === 16 ? "AVX-512" : "AVX2", detail: d.file };
}

/** The vector width of the step functions built from now on (tests build both; default: the machine's widest). */
export function setNativeStepLanes(n: StepLanes): void {
  lanes = n;
}

/**
 * Off: modules compiled from now on define their own step functions (tests compare the two paths bit for
 * bit; a module already compiled keeps its steps).
 */
export function setNativeSteps(on: boolean): void {
  enabled = on;
}

/** How many native step functions this process has run, worker threads included (tests: the path ran). */
export const nativeStepCalls = (): number => nativeCalls(STEP_COUNT_OFFSET);

/** The import object's "steps" namespace for this thread's instance of a module with native `steps`. */
export function nativeStepImports(memory: { buffer: ArrayBuffer }, steps: NativeSteps): object {
  return { steps: nativeImportsOf(memory, addons.get(steps)!, steps.functions, STEP_COUNT_OFFSET) };
}
