/**
 * What a fused cell module (gru_reset_after.ts, gru_reset_before.ts, lstm.ts, simple_rnn.ts) tells the
 * sequence driver (../driver.ts): its weight and bias layout, what it saves for the backward pass, and
 * its step as phases — per-unit bodies that load from and store to the driver's step buffers, from
 * which ../step_kernels.ts generates the WebAssembly step functions.
 */
import type { CellAlgebra, GateInput, GradAlgebra } from "./algebra.js";

export type FusedCellId = "gru_reset_after" | "gru_reset_before" | "lstm" | "simple_rnn";

/**
 * How a bias is laid out: "none"; "input" — G·u values added to the input projection x·W;
 * "input+recurrent" — 2·G·u values (shape (2, G·u) or flat), the input bias then the recurrent bias, which
 * is added to h·U (Keras's GRU reset_after, CuDNNGRU, CuDNNLSTM).
 */
export type BiasLayout = "none" | "input" | "input+recurrent";

/**
 * The buffers a step body reads and writes (one row per batch row, each row `blocks` units wide; see
 * ROW_BLOCKS in ../step_kernels.ts). Forward: xp (this step's x·W), bi / br (input / recurrent bias), rec
 * (h·U), h, c (the states), gates / aux (saved for backward), rh / rech (GRU reset_before's r·h and
 * (r·h)·U_h). Backward: gates, aux, hprev (saved), dxp / dr (the gradients w.r.t. x·W and h·U), dc (the
 * carried cell-state gradient), dhh / drh (GRU reset_before: the h gate's gradient and dhh·U_hᵀ), dh
 * (the carried state gradient).
 */
export type StepBuffer =
  | "xp"
  | "bi"
  | "br"
  | "rec"
  | "h"
  | "c"
  | "gates"
  | "aux"
  | "rh"
  | "rech"
  | "hprev"
  | "dxp"
  | "dr"
  | "dc"
  | "dhh"
  | "drh"
  | "dh";

/** What a phase body sees of one row and one group of units. */
export interface PhaseIO<V> {
  /** The value of block `block` of this row of `buffer`. */
  load(buffer: StepBuffer, block: number): V;
  /** Writes a value; in a backward "grad" phase a masked row gets zero there instead. */
  store(buffer: StepBuffer, block: number, v: V): void;
  /** Writes a state (forward h, c) or a carried state gradient (backward dc): a masked row keeps its value. */
  state(buffer: StepBuffer, block: number, v: V): void;
  /** Backward "grad" phases: the gradient w.r.t. this step's new h, all paths summed. */
  readonly g: V;
  /** Backward "grad" phases: the gradient w.r.t. the previous h that bypasses h·U (GRU: g·z). */
  directStateGrad(v: V): void;
}

/** Gate k's input-side pre-activation in a step body: this step's x·W plus the input bias. */
export const inputSide =
  <V>(io: PhaseIO<V>, A: CellAlgebra<V>): GateInput<V> =>
  (k) =>
    A.add(io.load("xp", k), io.load("bi", k));

/**
 * One WebAssembly step function. "forward": masked rows keep their states (`state`); "grad": a backward
 * step with the driver's gradient bookkeeping around the body (g, masked rows, carried gradients);
 * "plain": the body on every row, nothing else.
 */
export interface Phase {
  readonly name: string;
  readonly kind: "forward" | "grad" | "plain";
  body<V>(io: PhaseIO<V>, A: GradAlgebra<V>): void;
}

export interface FusedCell {
  readonly id: FusedCellId;
  /** The public layer function, for errors. */
  readonly layerFn: string;
  /** Gate blocks G of the kernel and recurrent kernel (u columns each). */
  readonly gates: number;
  /** Gate blocks of the per-step product h·U (GRU reset_before: z and r only). */
  readonly recurrentGates: number;
  /**
   * GRU reset_before: the h gate's recurrent term is (r·h)·U_h, a second product inside the step: the
   * forward and backward steps are two phases each with that product between them, and aux saves r·h.
   */
  readonly resetProduct: boolean;
  /** 1 (h) or 2 (h, c). */
  readonly states: 1 | 2;
  /** Saved values per unit and step for the backward pass (the `gates` buffer's blocks). */
  readonly savedGates: number;
  /** Whether one more value per unit and step is saved (the `aux` buffer). */
  readonly savesAux: boolean;
  /** The layouts this cell's bias may have, and the one of its Keras layer's bias. */
  readonly biasLayouts: readonly BiasLayout[];
  readonly kerasBiasLayout: BiasLayout;
  /**
   * Gate blocks whose recurrent bias is not simply added to the pre-activation (GRU reset_after: h, where
   * it is multiplied by r); every other block gets the recurrent bias folded into the input bias.
   */
  readonly separateRecurrentBias: readonly number[];
  /** Whether the gradient w.r.t. h·U equals the one w.r.t. x·W (LSTM, SimpleRNN). */
  readonly recurrentGradIsInputGrad: boolean;
  /** One phase, or two around the reset product (`resetProduct`). */
  readonly forward: readonly Phase[];
  readonly backward: readonly Phase[];
}

/**
 * A bias of layout `layout` (`bias`: its G·u or 2·G·u values, or null for "none") as the step buffers
 * take it: `bi` (G·u) the input-side bias, with every recurrent bias that is simply added folded in;
 * `br` (G·u) the recurrent bias of the blocks in `cell.separateRecurrentBias`, zero elsewhere.
 */
export function foldBias(
  cell: FusedCell,
  layout: BiasLayout,
  bias: ArrayLike<number> | null,
  u: number,
  bi: Float32Array | Float64Array,
  br: Float32Array | Float64Array,
): void {
  const Gu = cell.gates * u;
  bi.fill(0, 0, Gu);
  br.fill(0, 0, Gu);
  if (!bias || layout === "none") return;
  for (let i = 0; i < Gu; i++) bi[i] = bias[i];
  if (layout !== "input+recurrent") return;
  for (let k = 0; k < cell.gates; k++) {
    const separate = cell.separateRecurrentBias.includes(k);
    for (let j = k * u; j < (k + 1) * u; j++) {
      if (separate) br[j] = bias[Gu + j];
      else bi[j] += bias[Gu + j];
    }
  }
}
