/**
 * GRU with reset_after = FALSE (Keras 2's default): the reset gate scales h before the product with U_h.
 *   z = ract(xW_z + b_z + hU_z),  r likewise,  hh = act(xW_h + b_h + (r·h)U_h),  h' = z·h + (1 − z)·hh
 * Bias (3u) or none. The step is two phases with the product (r·h)·U_h between them.
 */
import type { CellAlgebra, GateInput, GradAlgebra, Input } from "./algebra.js";
import { inputSide, type FusedCell } from "./types.js";
import { gruUpdate, gruUpdateGrad } from "./gru_update.js";

/** The gates z and r, and r·hReset (the left factor of the product with U_h). */
export function gruResetBeforeGates<V>(A: CellAlgebra<V>, x: GateInput<V>, rec: GateInput<V>, hReset: Input<V>) {
  const z = A.ract(A.add(x(0), rec(0)));
  const r = A.ract(A.add(x(1), rec(1)));
  return { z, r, rh: A.mul(r, hReset()) };
}

/** hh from its input-side pre-activation xh and rech = (r·h)U_h, then the new state. */
export function gruResetBeforeUpdate<V>(A: CellAlgebra<V>, xh: Input<V>, rech: Input<V>, z: Input<V>, h: Input<V>) {
  const hh = A.act(A.add(xh(), rech()));
  return { hh, h: gruUpdate(A, z(), h(), hh) };
}

/** r's gradient from drh = dhh·U_hᵀ (the gradient w.r.t. r·h), and r·h's share of ∂L/∂h. */
export function gruResetBeforeResetGrad<V>(A: GradAlgebra<V>, drh: V, r: V, hPrev: Input<V>) {
  return { dr: A.mul(A.mul(drh, hPrev()), A.dract(r)), dhPrev: A.mul(drh, r) };
}

export const GRU_RESET_BEFORE: FusedCell = {
  id: "gru_reset_before",
  layerFn: "layer_gru",
  gates: 3,
  recurrentGates: 2,
  resetProduct: true,
  states: 1,
  savedGates: 3, // z, r, hh
  savesAux: true, // r·h
  biasLayouts: ["none", "input"],
  kerasBiasLayout: "input",
  separateRecurrentBias: [],
  recurrentGradIsInputGrad: false,
  forward: [
    {
      name: "fwd1",
      kind: "plain",
      body: (io, A) => {
        const s = gruResetBeforeGates(
          A,
          inputSide(io, A),
          (k) => io.load("rec", k),
          () => io.load("h", 0),
        );
        io.store("gates", 0, s.z);
        io.store("gates", 1, s.r);
        io.store("rh", 0, s.rh);
      },
    },
    {
      name: "fwd2",
      kind: "forward",
      body: (io, A) => {
        const s = gruResetBeforeUpdate(
          A,
          () => inputSide(io, A)(2),
          () => io.load("rech", 0),
          () => io.load("gates", 0),
          () => io.load("h", 0),
        );
        io.store("gates", 2, s.hh);
        io.store("aux", 0, io.load("rh", 0));
        io.state("h", 0, s.h);
      },
    },
  ],
  backward: [
    {
      // z and hh; r waits for drh = dhh·U_hᵀ
      name: "bwd1",
      kind: "grad",
      body: (io, A) => {
        const d = gruUpdateGrad(A, io.g, io.load("gates", 0), io.load("gates", 2), () => io.load("hprev", 0));
        io.directStateGrad(d.dhPrev);
        io.store("dxp", 0, d.dz);
        io.store("dxp", 2, d.dhh);
        io.store("dr", 0, d.dz);
        io.store("dhh", 0, d.dhh);
      },
    },
    {
      // every row: a masked row's dhh, hence its drh, is zero
      name: "bwd2",
      kind: "plain",
      body: (io, A) => {
        const d = gruResetBeforeResetGrad(A, io.load("drh", 0), io.load("gates", 1), () => io.load("hprev", 0));
        io.store("dxp", 1, d.dr);
        io.store("dr", 1, d.dr);
        io.store("dh", 0, A.add(io.load("dh", 0), d.dhPrev));
      },
    },
  ],
};
