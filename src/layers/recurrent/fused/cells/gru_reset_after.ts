/**
 * GRU with reset_after = TRUE (Keras's default, CuDNNGRU, torch.nn.GRU): the reset gate scales the
 * recurrent term of hh, recurrent bias included.
 *   z = ract(xW_z + b_z + hU_z + rb_z),  r likewise,  hh = act(xW_h + b_h + r·(hU_h + rb_h)),
 *   h' = z·h + (1 − z)·hh
 * Bias (2, 3u) [input; recurrent] or CuDNNGRU's flat (6u), or none.
 */
import type { CellAlgebra, GateInput, GradAlgebra, Input } from "./algebra.js";
import { inputSide, type FusedCell } from "./types.js";
import { gruUpdate, gruUpdateGrad } from "./gru_update.js";

/**
 * One step from the gates' input-side pre-activations x(k) (xW + b, recurrent biases of z and r folded
 * in) and recurrent-side ones rec(k) (hU; for h plus its recurrent bias), and the state h.
 */
export function gruResetAfterStep<V>(A: CellAlgebra<V>, x: GateInput<V>, rec: GateInput<V>, h: Input<V>) {
  const z = A.ract(A.add(x(0), rec(0)));
  const r = A.ract(A.add(x(1), rec(1)));
  const recH = rec(2);
  const hh = A.act(A.add(x(2), A.mul(r, recH)));
  return { z, r, hh, recH, h: gruUpdate(A, z, h(), hh) };
}

/** The step's gradients from g = ∂L/∂h' and what the forward step saved (recH = hU_h + rb_h). */
export function gruResetAfterGrad<V>(
  A: GradAlgebra<V>,
  g: V,
  saved: { z: Input<V>; r: Input<V>; hh: Input<V>; recH: Input<V>; hPrev: Input<V> },
) {
  const { dhh, dz, dhPrev } = gruUpdateGrad(A, g, saved.z(), saved.hh(), saved.hPrev);
  const r = saved.r();
  const dr = A.mul(A.mul(dhh, saved.recH()), A.dract(r));
  return { dz, dr, dhh, dRecH: A.mul(dhh, r), dhPrev };
}

export const GRU_RESET_AFTER: FusedCell = {
  id: "gru_reset_after",
  layerFn: "layer_gru",
  gates: 3,
  recurrentGates: 3,
  resetProduct: false,
  states: 1,
  savedGates: 3, // z, r, hh
  savesAux: true, // rec_h
  biasLayouts: ["none", "input+recurrent"],
  kerasBiasLayout: "input+recurrent",
  separateRecurrentBias: [2],
  recurrentGradIsInputGrad: false,
  forward: [
    {
      name: "fwd",
      kind: "forward",
      body: (io, A) => {
        const s = gruResetAfterStep(
          A,
          inputSide(io, A),
          (k) => (k === 2 ? A.add(io.load("rec", 2), io.load("br", 2)) : io.load("rec", k)),
          () => io.load("h", 0),
        );
        io.store("gates", 0, s.z);
        io.store("gates", 1, s.r);
        io.store("gates", 2, s.hh);
        io.store("aux", 0, s.recH);
        io.state("h", 0, s.h);
      },
    },
  ],
  backward: [
    {
      name: "bwd",
      kind: "grad",
      body: (io, A) => {
        const d = gruResetAfterGrad(A, io.g, {
          z: () => io.load("gates", 0),
          r: () => io.load("gates", 1),
          hh: () => io.load("gates", 2),
          recH: () => io.load("aux", 0),
          hPrev: () => io.load("hprev", 0),
        });
        io.directStateGrad(d.dhPrev);
        [d.dz, d.dr, d.dhh].forEach((v, k) => io.store("dxp", k, v));
        [d.dz, d.dr, d.dRecH].forEach((v, k) => io.store("dr", k, v));
      },
    },
  ],
};
