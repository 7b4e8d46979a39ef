/**
 * The fused kernels' WebAssembly: a cell's phases (cells/*.ts) become step functions, one module per
 * (cell, activation, recurrent activation), compiled on first use and instantiated on the memory the
 * driver works in (the wasm backend's heap, or the cpu backend's arena; mem.ts), so they work in place on
 * the same buffers as the matrix products.
 *
 * A step function runs over the B rows of one timestep; per row, a unit loop four units at a time
 * (f32x4) and then one at a time for the units left over. The phase body is the per-unit arithmetic; the
 * skeleton around it here is the same for every cell:
 *  - "forward": masked rows keep their states (the body's `state` writes select the old value).
 *  - "grad" (backward): g = dhrec + [dh] + dy [+ dyc], the gradient w.r.t. the step's new h from the
 *    recurrent product of the next step, the direct path (dh), the output, and the output gradient carried
 *    back through masked steps (dyc). The masked variant (suffix _m) branches per row: a masked row passes
 *    its state gradients on (dh ← dh + dhrec, `state` buffers untouched), adds what its output gets to dyc
 *    (dy2: dy, or zeros under zero_output_for_mask) and writes zeros wherever the body stores.
 *  - "plain": the body on every row.
 *
 * Signatures: every parameter is an i32 named once, in the function's `params` (row counts, pointers
 * into the memory as byte offsets, strides in bytes); the wasm type and the call site both come from that
 * list. `StepKernel.call` takes the arguments by name and refuses a missing one (positionally it would
 * silently become address 0).
 */
import type { FusedCell, PhaseIO, StepBuffer } from "./cells/types.js";
import {
  SCALAR,
  VECTOR,
  WasmAlgebra,
  add,
  and,
  defineFunction,
  eqz,
  geU,
  get,
  i32,
  ifElse,
  inc,
  leU,
  load8u,
  loopUntil,
  memoryCopy,
  moduleBytes,
  mul,
  select,
  set,
  vec,
  type Code,
  type FusedActivation,
  type Lanes,
  type WasmFunction,
} from "./wasm.js";

// ---------------------------------------------------------------------------------------------
// Step functions from phases

/** The buffers the grad skeleton adds: the recurrent product's gradient, the output gradient and its carry. */
type SkeletonBuffer = "dhrec" | "dy" | "dyc" | "dy2";

/** How far a buffer's pointer moves from one row to the next: that many units (u floats), or a stride parameter. */
function rowBlocks(buffer: StepBuffer | SkeletonBuffer, cell: FusedCell): number | "stride" {
  switch (buffer) {
    case "bi":
    case "br":
      return 0;
    case "xp":
      return cell.gates;
    case "rec":
    case "dr":
      return cell.recurrentGates;
    case "gates":
      return cell.savedGates;
    case "dxp":
    case "dy":
    case "dy2":
      return "stride";
    default:
      return 1;
  }
}

const strideParam = (buffer: string) => `${buffer}stride`;

/** What a dry run of a phase body shows: the buffers it touches (in order), its stores, and what it uses. */
interface BodyShape {
  readonly buffers: readonly StepBuffer[];
  readonly stores: readonly (readonly [StepBuffer, number])[];
  /** Whether it writes states (`state`). */
  readonly state: boolean;
  /** Whether it has a direct state-gradient path (`directStateGrad`). */
  readonly direct: boolean;
}

function shapeOf(phaseBody: (io: PhaseIO<Code>, A: WasmAlgebra) => void): BodyShape {
  const buffers: StepBuffer[] = [];
  const stores: [StepBuffer, number][] = [];
  let state = false,
    direct = false;
  const touch = (b: StepBuffer) => {
    if (!buffers.includes(b)) buffers.push(b);
  };
  let locals = 0;
  phaseBody(
    {
      load: (b) => {
        touch(b);
        return get(0);
      },
      store: (b, k) => {
        touch(b);
        stores.push([b, k]);
      },
      state: (b) => {
        touch(b);
        state = true;
      },
      g: get(0),
      directStateGrad: () => {
        direct = true;
      },
    },
    new WasmAlgebra(VECTOR, () => locals++, "linear", "linear"),
  );
  return { buffers, stores, state, direct };
}

/** The WebAssembly function of one phase of `cell` (`masked`: the _m variant of a "grad" phase). */
function phaseFunction(
  cell: FusedCell,
  phaseIndex: number,
  direction: "forward" | "backward",
  masked: boolean,
  activation: FusedActivation,
  recurrentActivation: FusedActivation,
): WasmFunction {
  const phase = (direction === "forward" ? cell.forward : cell.backward)[phaseIndex];
  const shape = shapeOf(phase.body);
  const grad = phase.kind === "grad";
  const keepsStates = phase.kind === "forward" && shape.state;
  const usesDh = grad && (shape.direct || masked);
  const skeleton: (StepBuffer | SkeletonBuffer)[] = grad
    ? ["dhrec", "dy", ...(usesDh ? (["dh"] as const) : []), ...(masked ? (["dyc", "dy2"] as const) : [])]
    : [];
  const buffers = [...shape.buffers, ...skeleton];
  const params = [
    "B",
    "u4",
    ...buffers.flatMap((b) => (rowBlocks(b, cell) === "stride" ? [b, strideParam(b)] : [b])),
    ...(keepsStates || masked ? ["mask", "mstride"] : []),
  ];
  const fname = `${cell.id}_${phase.name}${masked ? "_m" : ""}`;
  return defineFunction(fname, params, ["b", "j", "uv", "masked"], (L, valueLocal) => {
    // "row is masked" as the unit loops' condition, set per row: all-ones lanes (f32x4), or the i32 flag (f32)
    const keepVector = valueLocal(VECTOR);
    const isMasked = (lanes: Lanes): Code => (lanes === VECTOR ? get(keepVector) : get(L.masked));
    const at = (buffer: string, block: number): Code =>
      block === 0 ? add(get(L[buffer]), get(L.j)) : add(add(get(L[buffer]), get(L.j)), mul(get(L.u4), i32(block)));

    /** The unit-loop body of a live row (or of every row), in `lanes`. */
    const liveBody = (lanes: Lanes): Code => {
      const A = new WasmAlgebra(lanes, () => valueLocal(lanes), activation, recurrentActivation);
      const loaded = new Map<string, Code>();
      const load = (b: string, k: number): Code => {
        const key = `${b}:${k}`;
        let v = loaded.get(key);
        if (!v) loaded.set(key, (v = A.load(at(b, k))));
        return v;
      };
      const store = (b: string, k: number, v: Code) => {
        loaded.delete(`${b}:${k}`);
        A.store(at(b, k), v);
      };
      let g: Code = [];
      if (grad) {
        g = load("dhrec", 0);
        if (usesDh) g = A.add(g, load("dh", 0));
        g = A.add(g, load("dy", 0));
        if (masked) {
          g = A.add(g, load("dyc", 0));
          store("dyc", 0, lanes.constant(0));
        }
      }
      let direct = false;
      phase.body(
        {
          load,
          store,
          state: (b, k, v) => store(b, k, keepsStates ? A.where(isMasked(lanes), load(b, k), v) : v),
          g,
          directStateGrad: (v) => {
            direct = true;
            store("dh", 0, v);
          },
        },
        A,
      );
      // the state gradient carried in dh is now in g
      if (usesDh && !direct) store("dh", 0, lanes.constant(0));
      return vec(...A.statements);
    };

    /** A masked row of the _m variant: state gradients passed on, the output gradient carried, zeros stored. */
    const maskedBody = (lanes: Lanes): Code => {
      const ld = (b: string) => lanes.load(at(b, 0));
      return vec(
        usesDh ? lanes.store(at("dh", 0), lanes.add(ld("dh"), ld("dhrec"))) : [],
        lanes.store(at("dyc", 0), lanes.add(ld("dyc"), ld("dy2"))),
        ...shape.stores.map(([b, k]) => lanes.store(at(b, k), lanes.constant(0))),
      );
    };

    const units = (body: (lanes: Lanes) => Code): Code =>
      vec(
        set(L.j, i32(0)),
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
    const row = masked
      ? vec(set(L.masked, eqz(maskByte())), ifElse(get(L.masked), units(maskedBody), units(liveBody)))
      : keepsStates
        ? // mask 0: no mask, every row live
          vec(
            set(L.masked, eqz(select(i32(1), maskByte(), eqz(get(L.mask))))),
            set(keepVector, VECTOR.masked(L.masked)),
            units(liveBody),
          )
        : units(liveBody);
    return vec(
      set(L.uv, and(get(L.u4), i32(-16))),
      set(L.b, i32(0)),
      loopUntil(geU(get(L.b), get(L.B)), vec(row, rowEnd)),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Utilities (independent of the cell): transposes, row copies and column sums for the driver

const TRANSPOSE = ["src", "rows", "cols", "dst"] as const;
const COPY_ROWS = ["src", "srcstride", "dst", "dststride", "nbytes", "n"] as const;
const COLSUM = ["src", "rows", "rowbytes", "dst"] as const;

/**
 * transpose(src, rows, cols, dst): dst (cols × rows) = srcᵀ, src (rows × cols) row-major. 4×4 blocks by
 * shuffles in column panels of 16 (one cache line of a source row, every destination row written
 * sequentially); the leftover columns and rows one element at a time.
 */
const transpose = defineFunction(
  "transpose",
  TRANSPOSE,
  ["r", "c", "rs4", "cs4", "p", "q", "rows4", "cols4", "c0", "cend"],
  (L, valueLocal) => {
    const [a, b, cc, d, t0, t1, t2, t3] = Array.from({ length: 8 }, () => valueLocal(VECTOR));
    const shuffle = (x: number, y: number, lanes: number[]): Code => [
      ...get(x),
      ...get(y),
      0xfd,
      0x0d,
      ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]),
    ];
    const srcRow = (i: number): Code => VECTOR.load(add(get(L.p), mul(get(L.cs4), i32(i))));
    const dstRow = (i: number, v: Code): Code => VECTOR.store(add(get(L.q), mul(get(L.rs4), i32(i))), v);
    const element = (r: Code, c: Code) =>
      SCALAR.store(
        add(get(L.dst), mul(add(mul(c, get(L.rows)), r), i32(4))),
        SCALAR.load(add(get(L.src), mul(add(mul(r, get(L.cols)), c), i32(4)))),
      );
    return vec(
      set(L.rs4, mul(get(L.rows), i32(4))),
      set(L.cs4, mul(get(L.cols), i32(4))),
      set(L.rows4, and(get(L.rows), i32(-4))),
      set(L.cols4, and(get(L.cols), i32(-4))),
      set(L.c0, i32(0)),
      loopUntil(
        geU(get(L.c0), get(L.cols4)),
        vec(
          set(L.cend, add(get(L.c0), i32(16))),
          set(L.cend, select(get(L.cend), get(L.cols4), leU(get(L.cend), get(L.cols4)))),
          set(L.r, i32(0)),
          loopUntil(
            geU(get(L.r), get(L.rows4)),
            vec(
              set(L.c, get(L.c0)),
              loopUntil(
                geU(get(L.c), get(L.cend)),
                vec(
                  set(L.p, add(get(L.src), mul(add(mul(get(L.r), get(L.cols)), get(L.c)), i32(4)))),
                  set(L.q, add(get(L.dst), mul(add(mul(get(L.c), get(L.rows)), get(L.r)), i32(4)))),
                  set(a, srcRow(0)),
                  set(b, srcRow(1)),
                  set(cc, srcRow(2)),
                  set(d, srcRow(3)),
                  set(t0, shuffle(a, b, [0, 4, 1, 5])),
                  set(t1, shuffle(a, b, [2, 6, 3, 7])),
                  set(t2, shuffle(cc, d, [0, 4, 1, 5])),
                  set(t3, shuffle(cc, d, [2, 6, 3, 7])),
                  dstRow(0, shuffle(t0, t2, [0, 1, 4, 5])),
                  dstRow(1, shuffle(t0, t2, [2, 3, 6, 7])),
                  dstRow(2, shuffle(t1, t3, [0, 1, 4, 5])),
                  dstRow(3, shuffle(t1, t3, [2, 3, 6, 7])),
                  inc(L.c, i32(4)),
                ),
              ),
              inc(L.r, i32(4)),
            ),
          ),
          inc(L.c0, i32(16)),
        ),
      ),
      // leftover columns of the block rows
      set(L.r, i32(0)),
      loopUntil(
        geU(get(L.r), get(L.rows4)),
        vec(
          set(L.c, get(L.cols4)),
          loopUntil(geU(get(L.c), get(L.cols)), vec(element(get(L.r), get(L.c)), inc(L.c, i32(1)))),
          inc(L.r, i32(1)),
        ),
      ),
      // leftover rows
      set(L.r, get(L.rows4)),
      loopUntil(
        geU(get(L.r), get(L.rows)),
        vec(
          set(L.c, i32(0)),
          loopUntil(geU(get(L.c), get(L.cols)), vec(element(get(L.r), get(L.c)), inc(L.c, i32(1)))),
          inc(L.r, i32(1)),
        ),
      ),
    );
  },
);

/**
 * copy_rows(src, srcstride, dst, dststride, nbytes, n): n rows of nbytes each, from src (row stride
 * srcstride bytes, 0 repeats one row) to dst (stride dststride), by memory.copy.
 */
const copyRows = defineFunction("copy_rows", COPY_ROWS, ["r"], (L) =>
  vec(
    set(L.r, i32(0)),
    loopUntil(
      geU(get(L.r), get(L.n)),
      vec(
        memoryCopy(get(L.dst), get(L.src), get(L.nbytes)),
        inc(L.src, get(L.srcstride)),
        inc(L.dst, get(L.dststride)),
        inc(L.r, i32(1)),
      ),
    ),
  ),
);

/** colsum(src, rows, rowbytes, dst): dst (rowbytes/4 floats) = the sum of src's rows. */
const colsum = defineFunction("colsum", COLSUM, ["r", "j", "jv"], (L) => {
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
  const zero = (lanes: Lanes, from: Code, to: number) =>
    vec(
      set(L.j, from),
      loopUntil(
        geU(get(L.j), get(to)),
        vec(lanes.store(add(get(L.dst), get(L.j)), lanes.constant(0)), inc(L.j, i32(lanes.bytes))),
      ),
    );
  return vec(
    set(L.jv, and(get(L.rowbytes), i32(-16))),
    zero(VECTOR, i32(0), L.jv),
    zero(SCALAR, get(L.jv), L.rowbytes),
    set(L.r, i32(0)),
    loopUntil(
      geU(get(L.r), get(L.rows)),
      vec(sum(VECTOR, i32(0), L.jv), sum(SCALAR, get(L.jv), L.rowbytes), inc(L.src, get(L.rowbytes)), inc(L.r, i32(1))),
    ),
  );
});

const UTILITY_FUNCTIONS = [transpose, copyRows, colsum];

// ---------------------------------------------------------------------------------------------
// Compiling and binding

/** The few WebAssembly JS-API members used here (the project's TypeScript lib has no WebAssembly types). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number }) => WasmMemory;
}
/** A WebAssembly.Memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const WA = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** A step function bound to a memory: called with its arguments by name. */
export class StepKernel<P extends string = string> {
  private readonly values: number[];
  constructor(
    private readonly fn: WasmFunction,
    private readonly exported: (...args: number[]) => void,
  ) {
    this.values = new Array<number>(fn.params.length).fill(0);
  }

  get name(): string {
    return this.fn.name;
  }

  /** Calls the function; `args` may hold more than its parameters (absent ones are undefined). */
  call(args: Readonly<Record<P, number | undefined>>): void {
    const { params } = this.fn;
    for (let i = 0; i < params.length; i++) {
      const v = (args as Readonly<Record<string, number | undefined>>)[params[i]];
      if (typeof v !== "number" || !Number.isFinite(v))
        throw new Error(`fused kernel ${this.fn.name}(): no value for parameter \`${params[i]}\``);
      this.values[i] = v;
    }
    this.exported.apply(null, this.values);
  }
}

export interface Utilities {
  readonly transpose: StepKernel<(typeof TRANSPOSE)[number]>;
  readonly copyRows: StepKernel<(typeof COPY_ROWS)[number]>;
  readonly colsum: StepKernel<(typeof COLSUM)[number]>;
}

/** A cell's step functions: its forward phases, and its backward phases unmasked and masked. */
export interface CellKernels {
  readonly forward: readonly StepKernel[];
  readonly backward: readonly StepKernel[];
  readonly backwardMasked: readonly StepKernel[];
}

interface CompiledModule {
  readonly module: object;
  readonly functions: readonly WasmFunction[];
}

const compiled = new Map<string, CompiledModule>();

function compile(key: string, functions: readonly WasmFunction[]): CompiledModule {
  let c = compiled.get(key);
  if (!c) compiled.set(key, (c = { module: new WA!.Module(moduleBytes(functions)), functions }));
  return c;
}

/** Instantiates a module on `memory` and checks every export against its declared signature. */
function instantiate(c: CompiledModule, memory: WasmMemory): Map<string, StepKernel> {
  const exports = new WA!.Instance(c.module, { env: { memory } }).exports;
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

const cellFunctions = (cell: FusedCell, act: FusedActivation, ract: FusedActivation): WasmFunction[] => {
  const fns = cell.forward.map((_, i) => phaseFunction(cell, i, "forward", false, act, ract));
  cell.backward.forEach((p, i) => {
    fns.push(phaseFunction(cell, i, "backward", false, act, ract));
    if (p.kind === "grad") fns.push(phaseFunction(cell, i, "backward", true, act, ract));
  });
  return fns;
};

/** The kernels bound to one memory. */
export class MemoryKernels {
  readonly utilities: Utilities;
  private readonly cells = new Map<string, CellKernels>();

  constructor(private readonly memory: WasmMemory) {
    const u = instantiate(compile("utilities", UTILITY_FUNCTIONS), memory);
    this.utilities = {
      transpose: u.get("transpose")!,
      copyRows: u.get("copy_rows")!,
      colsum: u.get("colsum")!,
    };
  }

  /** `cell`'s step functions for these activations (SimpleRNN: any recurrent activation; it has none). */
  cell(cell: FusedCell, activation: FusedActivation, recurrentActivation: FusedActivation): CellKernels {
    const key = `${cell.id}/${activation}/${recurrentActivation}`;
    let k = this.cells.get(key);
    if (!k) {
      const fns = instantiate(compile(key, cellFunctions(cell, activation, recurrentActivation)), this.memory);
      const named = (phase: { name: string }, masked = false) =>
        fns.get(`${cell.id}_${phase.name}${masked ? "_m" : ""}`)!;
      k = {
        forward: cell.forward.map((p) => named(p)),
        backward: cell.backward.map((p) => named(p)),
        backwardMasked: cell.backward.map((p) => named(p, p.kind === "grad")),
      };
      this.cells.set(key, k);
    }
    return k;
  }
}

let simd: boolean | undefined;

/** NULL when this runtime runs WebAssembly with SIMD, else why not. */
export function wasmSimdProblem(): string | null {
  if (simd === undefined) {
    try {
      simd = !!WA && WA.validate(moduleBytes(UTILITY_FUNCTIONS));
    } catch {
      simd = false;
    }
  }
  return simd ? null : "this JavaScript runtime has no WebAssembly SIMD";
}

const bound = new WeakMap<object, MemoryKernels | string>();

/** The kernels on `memory`, or why they cannot run there (e.g. a shared memory: a threaded wasm build). */
export function kernelsFor(memory: WasmMemory): MemoryKernels | string {
  let k = bound.get(memory);
  if (k === undefined) {
    const no = wasmSimdProblem();
    if (no) k = no;
    else
      try {
        k = new MemoryKernels(memory);
      } catch (e) {
        k = `the fused kernels cannot use this WebAssembly memory (${(e as Error).message})`;
      }
    bound.set(memory, k);
  }
  return k;
}

/** A fresh WebAssembly.Memory of `pages` 64 KiB pages (the cpu backend's arena; tests). */
export function newMemory(pages: number): WasmMemory {
  return new WA!.Memory({ initial: pages });
}

/** Every step function's WebAssembly, for tests (validation, signatures). */
export function allFunctionsFor(
  cell: FusedCell,
  act: FusedActivation,
  ract: FusedActivation,
): { bytes: Uint8Array; functions: readonly WasmFunction[] } {
  const functions = cellFunctions(cell, act, ract);
  return { bytes: moduleBytes(functions), functions };
}
