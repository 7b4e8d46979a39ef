/**
 * A cell's step function, whatever instruction set runs it (WebAssembly: step_kernels.ts; native AVX2:
 * native_steps.ts): its parameters and the buffers it touches (`phaseLayout`), and the per-row body around
 * the phase's arithmetic (`liveRow`, `maskedRow`), written once over any `LaneAlgebra`.
 *
 * A step function runs over the B rows of one timestep; per row, a unit loop. The skeleton around the
 * phase body is the same for every cell:
 *  - "forward": masked rows keep their states (the body's `state` writes select the old value).
 *  - "grad" (backward): g = dhrec + [dh] + dy [+ dyc], the gradient w.r.t. the step's new h from the
 *    recurrent product of the next step, the direct path (dh), the output, and the output gradient carried
 *    back through masked steps (dyc). The masked variant (suffix _m) branches per row: a masked row passes
 *    its state gradients on (dh ← dh + dhrec, `state` buffers untouched), adds what its output gets to dyc
 *    (dy2: dy, or zeros under zero_output_for_mask) and writes zeros wherever the body stores.
 *  - "plain": the body on every row.
 */
import type { FusedCell, Phase, PhaseIO, StepBuffer } from "./cells/types.js";
import type { LaneAlgebra } from "./lane_algebra.js";
import { VECTOR, WasmAlgebra, get, type Code } from "./wasm.js";

/** The buffers the grad skeleton adds: the recurrent product's gradient, the output gradient and its carry. */
export type SkeletonBuffer = "dhrec" | "dy" | "dyc" | "dy2";

/** How far a buffer's pointer moves from one row to the next: that many units (u floats), or a stride parameter. */
export function rowBlocks(buffer: StepBuffer | SkeletonBuffer, cell: FusedCell): number | "stride" {
  switch (buffer) {
    case "bi":
    case "br":
      return 0;
    case "rec":
    case "dr":
      return cell.recurrentGates;
    case "gates":
      return cell.savedGates;
    case "xp":
    case "dxp":
    case "dy":
    case "dy2":
      return "stride";
    default:
      return 1;
  }
}

export const strideParam = (buffer: string): string => `${buffer}stride`;

/** What a dry run of a phase body shows: the buffers it touches (in order), its stores, and what it uses. */
export interface BodyShape {
  readonly buffers: readonly StepBuffer[];
  readonly stores: readonly (readonly [StepBuffer, number])[];
  /** Blocks of each buffer the body reaches (the highest block it loads or stores, plus one). */
  readonly blocks: ReadonlyMap<StepBuffer, number>;
  /** Whether it writes states (`state`). */
  readonly state: boolean;
  /** Whether it has a direct state-gradient path (`directStateGrad`). */
  readonly direct: boolean;
}

function shapeOf(phaseBody: (io: PhaseIO<Code>, A: WasmAlgebra) => void): BodyShape {
  const buffers: StepBuffer[] = [];
  const stores: [StepBuffer, number][] = [];
  const blocks = new Map<StepBuffer, number>();
  let state = false,
    direct = false;
  const touch = (b: StepBuffer, k: number) => {
    if (!buffers.includes(b)) buffers.push(b);
    blocks.set(b, Math.max(blocks.get(b) ?? 0, k + 1));
  };
  let locals = 0;
  phaseBody(
    {
      load: (b, k) => {
        touch(b, k);
        return get(0);
      },
      store: (b, k) => {
        touch(b, k);
        stores.push([b, k]);
      },
      state: (b, k) => {
        touch(b, k);
        state = true;
      },
      g: get(0),
      directStateGrad: () => {
        direct = true;
      },
    },
    new WasmAlgebra(VECTOR, () => locals++, "linear", "linear"),
  );
  return { buffers, stores, blocks, state, direct };
}

/**
 * A step function of one phase of a cell, whatever runs it (WebAssembly here, native AVX2:
 * native_steps.ts): its name, parameters, and the bookkeeping around the phase body.
 */
export interface PhaseLayout {
  readonly cell: FusedCell;
  readonly phase: Phase;
  readonly fname: string;
  readonly shape: BodyShape;
  readonly grad: boolean;
  /** The _m variant of a "grad" phase. */
  readonly masked: boolean;
  /** A forward phase that writes states: masked rows keep theirs. */
  readonly keepsStates: boolean;
  /** Whether the gradient reads (and writes) the carried state gradient dh. */
  readonly usesDh: boolean;
  /** The buffers it touches: the body's, then the grad skeleton's. */
  readonly buffers: readonly (StepBuffer | SkeletonBuffer)[];
  /** Its i32 parameters, in order. */
  readonly params: readonly string[];
}

/** The step function of phase `phaseIndex` of `cell` (`masked`: the _m variant of a "grad" phase). */
export function phaseLayout(
  cell: FusedCell,
  phaseIndex: number,
  direction: "forward" | "backward",
  masked: boolean,
): PhaseLayout {
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
  return { cell, phase, fname, shape, grad, masked, keepsStates, usesDh, buffers, params };
}

/** Every step function of `cell` in module order: the forward phases, then each backward phase (and its _m variant) as layouts. */
export function stepLayouts(cell: FusedCell): PhaseLayout[] {
  const layouts = cell.forward.map((_, i) => phaseLayout(cell, i, "forward", false));
  cell.backward.forEach((p, i) => {
    layouts.push(phaseLayout(cell, i, "backward", false));
    if (p.kind === "grad") layouts.push(phaseLayout(cell, i, "backward", true));
  });
  return layouts;
}

/**
 * The unit-loop body of a live row (of every row, outside the _m variant) in A's statements: the grad
 * skeleton's g, the phase body, the carried gradient. `at(b, k)`: the address of block k of buffer b
 * at this row's units; `isMasked()`: the condition "row is masked" (forward phases that keep states).
 */
export function liveRow<V>(
  layout: PhaseLayout,
  A: LaneAlgebra<V>,
  at: (buffer: string, block: number) => V,
  isMasked: () => V,
): void {
  const { grad, usesDh, masked, keepsStates } = layout;
  const loaded = new Map<string, V>();
  const load = (b: string, k: number): V => {
    const key = `${b}:${k}`;
    let v = loaded.get(key);
    if (v === undefined) loaded.set(key, (v = A.load(at(b, k))));
    return v;
  };
  const store = (b: string, k: number, v: V) => {
    loaded.delete(`${b}:${k}`);
    A.store(at(b, k), v);
  };
  let g = A.one;
  if (grad) {
    g = load("dhrec", 0);
    if (usesDh) g = A.add(g, load("dh", 0));
    g = A.add(g, load("dy", 0));
    if (masked) {
      g = A.add(g, load("dyc", 0));
      store("dyc", 0, A.constant(0));
    }
  }
  let direct = false;
  layout.phase.body(
    {
      load,
      store,
      state: (b, k, v) => store(b, k, keepsStates ? A.where(isMasked(), load(b, k), v) : v),
      g,
      directStateGrad: (v) => {
        direct = true;
        store("dh", 0, v);
      },
    },
    A,
  );
  // the state gradient carried in dh is now in g
  if (usesDh && !direct) store("dh", 0, A.constant(0));
}

/** A masked row of the _m variant in A's statements: state gradients passed on, the output gradient carried, zeros stored. */
export function maskedRow<V>(layout: PhaseLayout, A: LaneAlgebra<V>, at: (buffer: string, block: number) => V): void {
  const load = (b: string) => A.load(at(b, 0));
  if (layout.usesDh) A.store(at("dh", 0), A.add(load("dh"), load("dhrec")));
  A.store(at("dyc", 0), A.add(load("dyc"), load("dy2")));
  for (const [b, k] of layout.shape.stores) A.store(at(b, k), A.constant(0));
}
