/**
 * The fused kernels' WebAssembly: a cell's phases (cells/*.ts) become step functions, and around them
 * sequence functions run a whole time loop (the per-step products of gemm.ts, the step functions, the
 * outputs) in one call. One module per (cell, activation, recurrent activation), compiled on first use and
 * instantiated on the kernels' arena (mem.ts) by every thread that runs it (threads.ts).
 *
 * A step function runs over the B rows of one timestep; per row, a unit loop four units at a time
 * (f32x4) and then one at a time for the units left over, around the phase body as phase_layout.ts
 * writes it. Where the machine has them, the step functions are native instead (native_steps.ts: the
 * same C from the same phases, imported by the module), and so are the products (native.ts).
 *
 * Signatures: every parameter is an i32 named once, in the function's `params` (row counts, pointers
 * into the memory as byte offsets, strides in bytes); the wasm type and the call site both come from that
 * list. `StepKernel.call` takes the arguments by name and refuses a missing one (positionally it would
 * silently become address 0).
 */
import type { FusedCell } from "./cells/types.js";
import { GEMM_FUNCTIONS, GEMM_PARAMS, PACK_PARAMS } from "./gemm.js";
import type { FusedActivation } from "./lane_algebra.js";
import { nativeImports, useNativeProducts } from "./native.js";
import { nativeStepImports, nativeStepsFor, type NativeSteps } from "./native_steps.js";
import { liveRow, maskedRow, rowBlocks, stepLayouts, strideParam, type PhaseLayout } from "./phase_layout.js";
import {
  SCALAR,
  VECTOR,
  WasmAlgebra,
  add,
  importedFunction,
  and,
  call,
  defineFunction,
  eq,
  eqz,
  geU,
  get,
  i32,
  ifElse,
  inc,
  load8u,
  loopUntil,
  memoryCopy,
  memoryZero,
  moduleBytes,
  SHARED_MAX_PAGES,
  mul,
  select,
  set,
  vec,
  type Code,
  type Lanes,
  type WasmFunction,
} from "./wasm.js";

// ---------------------------------------------------------------------------------------------
// Step functions from phases (phase_layout.ts)

/** The WebAssembly function of a phase's step function. */
function phaseFunction(
  layout: PhaseLayout,
  activation: FusedActivation,
  recurrentActivation: FusedActivation,
): WasmFunction {
  const { cell, fname, buffers, grad, masked, keepsStates } = layout;
  return defineFunction(fname, layout.params, ["b", "j", "uv", "uv2", "masked"], (L, valueLocal) => {
    // "row is masked" as the unit loops' condition, set per row: all-ones lanes (f32x4), or the i32 flag (f32)
    const keepVector = valueLocal(VECTOR);
    const isMasked = (lanes: Lanes) => () => (lanes === VECTOR ? get(keepVector) : get(L.masked));
    // `shift`: bytes past unit j where the group of units starts (the second group of an interleaved pair)
    const at =
      (shift: number) =>
      (buffer: string, block: number): Code => {
        const unit = shift === 0 ? get(L.j) : add(get(L.j), i32(shift));
        return block === 0 ? add(get(L[buffer]), unit) : add(add(get(L[buffer]), unit), mul(get(L.u4), i32(block)));
      };
    const algebra = (lanes: Lanes) => new WasmAlgebra(lanes, () => valueLocal(lanes), activation, recurrentActivation);

    /** The unit-loop body of a live row (or of every row), in `lanes`, as its statements. */
    const liveStatements = (lanes: Lanes, shift = 0): Code[] => {
      const A = algebra(lanes);
      liveRow(layout, A, at(shift), isMasked(lanes));
      return A.statements;
    };
    const liveBody = (lanes: Lanes): Code => vec(...liveStatements(lanes));
    /**
     * Two groups of 4 units, their statements interleaved (forward and plain phases). A forward step is
     * long chains of dependent instructions (an activation of activations: LSTM's act(f·c + i·g)), which
     * one group alone leaves the processor waiting on; two independent chains side by side run ~1.3–1.6×
     * faster (bench/ANALYSIS.md, "The gate arithmetic"). Backward steps are short chains: pairs ran slower there.
     */
    const livePair = (): Code => {
      const first = liveStatements(VECTOR),
        second = liveStatements(VECTOR, VECTOR.bytes);
      if (first.length !== second.length) throw new Error(`wasm encoder: ${fname}'s unit groups differ`);
      return vec(...first.flatMap((statement, i) => [statement, second[i]]));
    };
    const maskedBody = (lanes: Lanes): Code => {
      const A = algebra(lanes);
      maskedRow(layout, A, at(0));
      return vec(...A.statements);
    };

    const units = (body: (lanes: Lanes) => Code, pair?: () => Code): Code =>
      vec(
        set(L.j, i32(0)),
        pair ? loopUntil(geU(get(L.j), get(L.uv2)), vec(pair(), inc(L.j, i32(2 * VECTOR.bytes)))) : [],
        loopUntil(geU(get(L.j), get(L.uv)), vec(body(VECTOR), inc(L.j, i32(VECTOR.bytes)))),
        loopUntil(geU(get(L.j), get(L.u4)), vec(body(SCALAR), inc(L.j, i32(SCALAR.bytes)))),
      );
    const maskByte = () => load8u(add(get(L.mask), mul(get(L.b), get(L.mstride))));
    const rowEnd = vec(
      ...buffers.map((b) => {
        const blocks = rowBlocks(b, cell);
        if (blocks === "stride") return inc(L[b], get(L[strideParam(b)]));
        return blocks === 0 ? [] : inc(L[b], blocks === 1 ? get(L.u4) : mul(get(L.u4), i32(blocks)));
      }),
      inc(L.b, i32(1)),
    );
    const pair = grad ? undefined : livePair;
    const row = masked
      ? vec(set(L.masked, eqz(maskByte())), ifElse(get(L.masked), units(maskedBody), units(liveBody, pair)))
      : keepsStates
        ? // mask 0: no mask, every row live
          vec(
            set(L.masked, eqz(select(i32(1), maskByte(), eqz(get(L.mask))))),
            set(keepVector, VECTOR.masked(L.masked)),
            units(liveBody, pair),
          )
        : units(liveBody, pair);
    return vec(
      set(L.uv, and(get(L.u4), i32(-16))),
      set(L.uv2, and(get(L.u4), i32(-32))),
      set(L.b, i32(0)),
      loopUntil(geU(get(L.b), get(L.B)), vec(row, rowEnd)),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Utilities (independent of the cell): the products (gemm.ts), column sums, a step's outputs

const COLSUM_ACC = ["rows", "src", "srcstride", "nbytes", "dst"] as const;
const OUT_STEP = ["B", "u4", "h", "ycur", "y", "ystride", "mask", "mstride", "zero"] as const;

/** colsum_acc(rows, src, srcstride, nbytes, dst): dst (nbytes/4 floats) += the sum of src's rows (stride srcstride bytes). */
const colsumAcc = defineFunction("colsum_acc", COLSUM_ACC, ["r", "j", "jv"], (L) => {
  const sum = (lanes: Lanes, from: Code, to: number) =>
    vec(
      set(L.j, from),
      loopUntil(
        geU(get(L.j), get(to)),
        vec(
          lanes.store(
            add(get(L.dst), get(L.j)),
            lanes.add(lanes.load(add(get(L.dst), get(L.j))), lanes.load(add(get(L.src), get(L.j)))),
          ),
          inc(L.j, i32(lanes.bytes)),
        ),
      ),
    );
  return vec(
    set(L.jv, and(get(L.nbytes), i32(-16))),
    set(L.r, i32(0)),
    loopUntil(
      geU(get(L.r), get(L.rows)),
      vec(sum(VECTOR, i32(0), L.jv), sum(SCALAR, get(L.jv), L.nbytes), inc(L.src, get(L.srcstride)), inc(L.r, i32(1))),
    ),
  );
});

/**
 * out_step(B, u4, h, ycur, y, ystride, mask, mstride, zero): a step's output rows. ycur holds the
 * current output: a live row's new h; a masked row keeps the previous output, or zeros when `zero`
 * (zero_output_for_mask). Then y's rows (stride ystride) get ycur's, unless y is ycur.
 */
const outStep = defineFunction("out_step", OUT_STEP, ["b"], (L) =>
  vec(
    set(L.b, i32(0)),
    loopUntil(
      geU(get(L.b), get(L.B)),
      vec(
        // mask 0: no mask, every row live
        ifElse(
          select(i32(1), load8u(add(get(L.mask), mul(get(L.b), get(L.mstride)))), eqz(get(L.mask))),
          memoryCopy(get(L.ycur), get(L.h), get(L.u4)),
          ifElse(get(L.zero), memoryZero(get(L.ycur), get(L.u4)), []),
        ),
        ifElse(eqz(eq(get(L.y), get(L.ycur))), memoryCopy(get(L.y), get(L.ycur), get(L.u4)), []),
        inc(L.h, get(L.u4)),
        inc(L.ycur, get(L.u4)),
        inc(L.y, get(L.ystride)),
        inc(L.b, i32(1)),
      ),
    ),
  ),
);

/** The functions every module has, first in it (their numbers are their places here); `native`: gemm.ts. */
const UTILITY_FUNCTIONS = (native = false): readonly WasmFunction[] => [...GEMM_FUNCTIONS(native), colsumAcc, outStep];

// ---------------------------------------------------------------------------------------------
// Sequence functions: a whole time loop in one call

/**
 * The variables of a sequence function: every one is two parameters, `v` (its value at the call's
 * first step) and `v_d` (what is added to it after every step: a pointer's advance, 0 for a constant).
 * Besides the step functions' own parameters (which take the variable of the same name):
 *  - forward: urec, uld, upanel (U's columns of the per-step product, as gemm_nn reads B: row-major
 *    or packed, driver.ts `packsRecurrentKernel`); uh (U_h with the reset product); u, grec (sizes); hprev, save (the state before the step is copied there when save ≠ 0);
 *    ycur, y, ystride, zero (out_step).
 *  - backward: ut, utpanel (Uᵀ packed, for dh = dr·Uᵀ), uht, uhtpanel (U_hᵀ packed); u, grec.
 */
const SEQ_FORWARD_VARS = [
  "urec",
  "uld",
  "upanel",
  "uh",
  "u",
  "grec",
  "hprev",
  "save",
  "ycur",
  "y",
  "ystride",
  "zero",
] as const;
const SEQ_BACKWARD_VARS = ["ut", "utpanel", "uht", "uhtpanel", "u", "grec"] as const;

/** The suffix of the parameter holding a variable's change per step. */
export const DELTA = "_d";
/** The name of the parameter holding variable v's change per step. */
export const stepDelta = (v: string): string => `${v}${DELTA}`;

function sequenceFunction(
  fname: string,
  moduleFunctions: readonly WasmFunction[],
  vars: readonly string[],
  step: (L: Record<string, number>, callFn: (name: string, args?: Record<string, Code>) => Code) => Code,
): WasmFunction {
  const params = ["steps", ...vars.flatMap((v) => [v, stepDelta(v)])];
  return defineFunction(fname, params, ["s"], (L) => {
    const callFn = (name: string, args: Record<string, Code> = {}): Code => {
      const index = moduleFunctions.findIndex((f) => f.name === name);
      if (index < 0) throw new Error(`wasm encoder: no function ${name}`);
      return call(
        index,
        moduleFunctions[index].params.map((p) => {
          if (args[p]) return args[p];
          if (!(p in L)) throw new Error(`wasm encoder: ${fname} has no variable for ${name}'s parameter ${p}`);
          return get(L[p]);
        }),
      );
    };
    return vec(
      set(L.s, i32(0)),
      loopUntil(
        geU(get(L.s), get(L.steps)),
        vec(step(L, callFn), ...vars.map((v) => inc(L[v], get(L[stepDelta(v)]))), inc(L.s, i32(1))),
      ),
    );
  });
}

const byName = (L: Record<string, number>, ...names: string[]): Code[] => names.map((n) => get(L[n]));
const gemmArgs = (
  L: Record<string, number>,
  m: string,
  k: string,
  n: string,
  a: string,
  lda: Code,
  b: string,
  ldb: Code,
  bpanel: Code,
  c: string,
  ldc: Code,
  acc: number,
): Record<string, Code> => {
  const [mm, kk, nn, aa, bb, cc] = byName(L, m, k, n, a, b, c);
  return { m: mm, k: kk, n: nn, a: aa, lda, b: bb, ldb, bpanel, c: cc, ldc, acc: i32(acc) };
};

/** seq_fwd: per step rec = h·U (+ the reset product), the step functions, hprev, the outputs. */
function forwardSequence(cell: FusedCell, fns: readonly WasmFunction[]): WasmFunction {
  const phaseNames = cell.forward.map((p) => `${cell.id}_${p.name}`);
  const phaseParams = phaseNames.flatMap((n) => fns.find((f) => f.name === n)!.params);
  const vars = [...new Set([...phaseParams, ...SEQ_FORWARD_VARS, "B", "u4", "mask", "mstride", "h", "rec"])];
  return sequenceFunction(`${cell.id}_seq_fwd`, fns, vars, (L, callFn) =>
    vec(
      callFn(
        "gemm_nn",
        gemmArgs(
          L,
          "B",
          "u",
          "grec",
          "h",
          get(L.u4),
          "urec",
          get(L.uld),
          get(L.upanel),
          "rec",
          mul(get(L.grec), i32(4)),
          0,
        ),
      ),
      ifElse(get(L.save), memoryCopy(get(L.hprev), get(L.h), mul(get(L.B), get(L.u4))), []),
      callFn(phaseNames[0]),
      cell.resetProduct
        ? vec(
            callFn(
              "gemm_nn",
              gemmArgs(L, "B", "u", "u", "rh", get(L.u4), "uh", get(L.uld), get(L.upanel), "rech", get(L.u4), 0),
            ),
            callFn(phaseNames[1]),
          )
        : [],
      callFn("out_step"),
    ),
  );
}

/**
 * seq_bwd (and seq_bwd_m with a mask): per step, last to first, the step functions and dh = dr·Uᵀ (the
 * reset product's drh = dhh·U_hᵀ between the phases). The weight gradients are products over all
 * steps afterwards (the driver's chunk calls).
 */
function backwardSequence(cell: FusedCell, fns: readonly WasmFunction[], masked: boolean): WasmFunction {
  const phaseNames = cell.backward.map((p) => `${cell.id}_${p.name}${masked && p.kind === "grad" ? "_m" : ""}`);
  const phaseParams = phaseNames.flatMap((n) => fns.find((f) => f.name === n)!.params);
  const vars = [...new Set([...phaseParams, ...SEQ_BACKWARD_VARS, "B", "u4", "dr", "dhrec", "dhh", "drh"])];
  const c32 = i32(32);
  return sequenceFunction(`${cell.id}_seq_bwd${masked ? "_m" : ""}`, fns, vars, (L, callFn) =>
    vec(
      callFn(phaseNames[0]),
      cell.resetProduct
        ? vec(
            callFn(
              "gemm_nn",
              gemmArgs(L, "B", "u", "u", "dhh", get(L.u4), "uht", c32, get(L.uhtpanel), "drh", get(L.u4), 0),
            ),
            callFn(phaseNames[1]),
          )
        : [],
      callFn(
        "gemm_nn",
        gemmArgs(L, "B", "grec", "u", "dr", mul(get(L.grec), i32(4)), "ut", c32, get(L.utpanel), "dhrec", get(L.u4), 0),
      ),
    ),
  );
}

/**
 * A cell's module: its step functions (imported first when they are native), the utilities, and its
 * sequence functions, which call them.
 */
function cellFunctions(
  cell: FusedCell,
  act: FusedActivation,
  ract: FusedActivation,
  native = false,
  steps: NativeSteps | null = null,
): WasmFunction[] {
  const layouts = stepLayouts(cell);
  const fns = steps
    ? [...layouts.map((l) => importedFunction("steps", l.fname, l.params)), ...UTILITY_FUNCTIONS(native)]
    : [...UTILITY_FUNCTIONS(native), ...layouts.map((l) => phaseFunction(l, act, ract))];
  fns.push(forwardSequence(cell, fns), backwardSequence(cell, fns, false), backwardSequence(cell, fns, true));
  return fns;
}

// ---------------------------------------------------------------------------------------------
// Compiling and binding

/** The few WebAssembly JS-API members used here (the project's TypeScript lib has no WebAssembly types). */
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}
/** A WebAssembly.Memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
/** The runtime's WebAssembly, typed as far as these modules use it (undefined where there is none). */
export const WA = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** The arguments of `fn` in its parameter order, from a record by name; a missing one is refused. */
export function orderedArgs(fn: WasmFunction, args: Readonly<Record<string, number | undefined>>): number[] {
  return fn.params.map((p) => {
    const v = args[p];
    // positionally a missing value would silently become address 0
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new Error(`fused kernel ${fn.name}(): no value for parameter \`${p}\``);
    return v;
  });
}

/** A function of an instantiated module: called with its arguments by name. */
export class StepKernel<P extends string = string> {
  constructor(
    readonly fn: WasmFunction,
    private readonly exported: (...args: number[]) => void,
  ) {}

  get name(): string {
    return this.fn.name;
  }

  /** Calls the function; `args` may hold more than its parameters (absent ones are undefined). */
  call(args: Readonly<Record<P, number | undefined>>): void {
    this.exported.apply(null, orderedArgs(this.fn, args as Readonly<Record<string, number | undefined>>));
  }

  /** Calls the function with its arguments in parameter order (from `orderedArgs`). */
  call0(args: readonly number[]): void {
    this.exported.apply(null, args as number[]);
  }
}

export interface Utilities {
  readonly gemmNN: StepKernel<(typeof GEMM_PARAMS)[number]>;
  readonly gemmTN: StepKernel<(typeof GEMM_PARAMS)[number]>;
  readonly packB: StepKernel<(typeof PACK_PARAMS)[number]>;
  readonly colsumAcc: StepKernel<(typeof COLSUM_ACC)[number]>;
}

/** A compiled module, with its functions (in module order) and a key naming it for the threads. */
export interface CompiledModule {
  readonly key: string;
  readonly module: object;
  readonly functions: readonly WasmFunction[];
  /** Whether it imports its products from the native addon (native.ts). */
  readonly native: boolean;
  /** The native step functions it imports (native_steps.ts), or null. */
  readonly steps: NativeSteps | null;
}

/** A cell's functions: its step functions (forward phases, backward unmasked and masked), its sequence functions. */
export interface CellKernels {
  readonly compiled: CompiledModule;
  readonly forward: readonly StepKernel[];
  readonly backward: readonly StepKernel[];
  readonly backwardMasked: readonly StepKernel[];
  readonly seqForward: StepKernel;
  readonly seqBackward: StepKernel;
  readonly seqBackwardMasked: StepKernel;
  /** The utilities of the same module (so that a chunk's calls are all into one module). */
  readonly utilities: Utilities;
}

const utilitiesOf = (fns: Map<string, StepKernel>): Utilities => ({
  gemmNN: fns.get("gemm_nn")!,
  gemmTN: fns.get("gemm_tn")!,
  packB: fns.get("pack_b")!,
  colsumAcc: fns.get("colsum_acc")!,
});

const compiled = new Map<string, CompiledModule>();

function compile(
  key: string,
  functions: (native: boolean) => readonly WasmFunction[],
  shared: boolean,
  native: boolean,
  steps: NativeSteps | null = null,
): CompiledModule {
  const k = `${key}${shared ? "/shared" : ""}${native ? "/native" : ""}${steps ? `/steps:${steps.file}` : ""}`;
  let c = compiled.get(k);
  if (!c) {
    const fns = functions(native);
    const module = new WA!.Module(moduleBytes(fns, shared));
    compiled.set(k, (c = { key: k, module, functions: fns, native, steps }));
  }
  return c;
}

/** Instantiates a module on `memory` and checks every export against its declared signature. */
export function instantiate(c: CompiledModule, memory: WasmMemory): Map<string, StepKernel> {
  const exports = new WA!.Instance(c.module, {
    env: { memory },
    ...(c.native ? nativeImports(memory) : {}),
    ...(c.steps ? nativeStepImports(memory, c.steps) : {}),
  }).exports;
  return new Map(
    c.functions.map((f) => {
      const e = exports[f.name];
      if (typeof e !== "function" || e.length !== f.params.length)
        throw new Error(
          `fused kernel ${f.name}(): the export does not take the ${f.params.length} declared parameters`,
        );
      return [f.name, new StepKernel(f, e as (...args: number[]) => void)];
    }),
  );
}

/** The kernels bound to one memory (shared: a memory the worker threads use too); modules compiled on first use. */
export class MemoryKernels {
  private readonly cells = new Map<string, CellKernels>();
  private readonly utilityKernels = new Map<boolean, Utilities>();

  constructor(
    private readonly memory: WasmMemory,
    readonly shared: boolean,
  ) {}

  /** The utilities alone (tests; the driver uses a cell module's own). */
  get utilities(): Utilities {
    const native = useNativeProducts();
    let u = this.utilityKernels.get(native);
    if (!u)
      this.utilityKernels.set(
        native,
        (u = utilitiesOf(instantiate(compile("utilities", UTILITY_FUNCTIONS, this.shared, native), this.memory))),
      );
    return u;
  }

  /** `cell`'s functions for these activations (SimpleRNN: any recurrent activation; it has none). */
  cell(cell: FusedCell, activation: FusedActivation, recurrentActivation: FusedActivation): CellKernels {
    const native = useNativeProducts();
    const steps = native ? nativeStepsFor(cell, activation, recurrentActivation) : null;
    const key = `${cell.id}/${activation}/${recurrentActivation}`;
    const bound = `${key}${native ? "/native" : ""}${steps ? `/steps:${steps.file}` : ""}`;
    let k = this.cells.get(bound);
    if (!k) {
      const c = compile(
        key,
        (n) => cellFunctions(cell, activation, recurrentActivation, n, steps),
        this.shared,
        native,
        steps,
      );
      const fns = instantiate(c, this.memory);
      const named = (name: string) => fns.get(`${cell.id}_${name}`)!;
      k = {
        compiled: c,
        forward: cell.forward.map((p) => named(p.name)),
        backward: cell.backward.map((p) => named(p.name)),
        backwardMasked: cell.backward.map((p) => named(`${p.name}${p.kind === "grad" ? "_m" : ""}`)),
        seqForward: named("seq_fwd"),
        seqBackward: named("seq_bwd"),
        seqBackwardMasked: named("seq_bwd_m"),
        utilities: utilitiesOf(fns),
      };
      this.cells.set(bound, k);
    }
    return k;
  }
}

let simd: boolean | undefined;

/** NULL when this runtime runs WebAssembly with SIMD, else why not. */
export function wasmSimdProblem(): string | null {
  if (simd === undefined) {
    try {
      simd = !!WA && WA.validate(moduleBytes(UTILITY_FUNCTIONS()));
    } catch {
      simd = false;
    }
  }
  return simd ? null : "this JavaScript runtime has no WebAssembly SIMD";
}

const bound = new WeakMap<object, MemoryKernels | string>();

/** The kernels on `memory`, or why they cannot run there. */
export function kernelsFor(memory: WasmMemory, shared = false): MemoryKernels | string {
  let k = bound.get(memory);
  if (k === undefined) {
    const no = wasmSimdProblem();
    if (no) k = no;
    else
      try {
        k = new MemoryKernels(memory, shared);
      } catch (e) {
        k = `the fused kernels cannot use this WebAssembly memory (${(e as Error).message})`;
      }
    bound.set(memory, k);
  }
  return k;
}

/** A fresh WebAssembly.Memory of `pages` 64 KiB pages; a shared one (threads) when `shared`. */
export function newMemory(pages: number, shared = false): WasmMemory {
  return new WA!.Memory(shared ? { initial: pages, maximum: SHARED_MAX_PAGES, shared: true } : { initial: pages });
}

/** Every function of a cell's module, for tests (validation, signatures). */
export function allFunctionsFor(
  cell: FusedCell,
  act: FusedActivation,
  ract: FusedActivation,
): { bytes: Uint8Array; functions: readonly WasmFunction[] } {
  const functions = cellFunctions(cell, act, ract);
  return { bytes: moduleBytes(functions), functions };
}
