/**
 * LSTM: gates i, f, c, o; states h and c.
 *   i, f, o = ract(xW + b + hU),  g = act(xW_c + b_c + hU_c),  c' = f·c + i·g,  h' = o·act(c')
 * Bias (4u), CuDNNLSTM's (8u) input then recurrent bias (both simply added), or none.
 */
import type { CellAlgebra, GateInput, GradAlgebra, Input } from "./algebra.js";
import { inputSide, type FusedCell } from "./types.js";

/** One step from the gates' input-side pre-activations x(k) (xW + b), recurrent-side ones rec(k) (hU) and c. */
export function lstmStep<V>(A: CellAlgebra<V>, x: GateInput<V>, rec: GateInput<V>, cPrev: Input<V>) {
  const i = A.ract(A.add(x(0), rec(0)));
  const f = A.ract(A.add(x(1), rec(1)));
  const g = A.act(A.add(x(2), rec(2)));
  const o = A.ract(A.add(x(3), rec(3)));
  const c = A.add(A.mul(f, cPrev()), A.mul(i, g));
  const actC = A.act(c);
  return { i, f, g, o, c, actC, h: A.mul(o, actC) };
}

/**
 * The step's gradients from gh = ∂L/∂h' and dc = ∂L/∂c' (carried from the next step), with what the
 * forward step saved: the gates' pre-activations (i, f, c, o order) and ∂L/∂c.
 */
export function lstmGrad<V>(
  A: GradAlgebra<V>,
  gh: V,
  dc: Input<V>,
  saved: { i: Input<V>; f: Input<V>; g: Input<V>; o: Input<V>; actC: Input<V>; cPrev: Input<V> },
) {
  const [i, f, g, o, actC] = [saved.i(), saved.f(), saved.g(), saved.o(), saved.actC()];
  const dcTotal = A.add(dc(), A.mul(A.mul(gh, o), A.dact(actC)));
  return {
    gates: [
      A.mul(A.mul(dcTotal, g), A.dract(i)),
      A.mul(A.mul(dcTotal, saved.cPrev()), A.dract(f)),
      A.mul(A.mul(dcTotal, i), A.dact(g)),
      A.mul(A.mul(gh, actC), A.dract(o)),
    ] as const,
    dcPrev: A.mul(dcTotal, f),
  };
}

export const LSTM: FusedCell = {
  id: "lstm",
  layerFn: "layer_lstm",
  gates: 4,
  recurrentGates: 4,
  resetProduct: false,
  states: 2,
  savedGates: 5, // i, f, g, o, act(c')
  savesAux: true, // c
  biasLayouts: ["none", "input", "input+recurrent"],
  kerasBiasLayout: "input",
  separateRecurrentBias: [],
  recurrentGradIsInputGrad: true,
  forward: [
    {
      name: "fwd",
      kind: "forward",
      body: (io, A) => {
        const s = lstmStep(
          A,
          inputSide(io, A),
          (k) => io.load("rec", k),
          () => io.load("c", 0),
        );
        [s.i, s.f, s.g, s.o, s.actC].forEach((v, k) => io.store("gates", k, v));
        io.store("aux", 0, io.load("c", 0));
        io.state("c", 0, s.c);
        io.state("h", 0, s.h);
      },
    },
  ],
  backward: [
    {
      name: "bwd",
      kind: "grad",
      body: (io, A) => {
        const saved = (k: number) => () => io.load("gates", k);
        const d = lstmGrad(A, io.g, () => io.load("dc", 0), {
          i: saved(0),
          f: saved(1),
          g: saved(2),
          o: saved(3),
          actC: saved(4),
          cPrev: () => io.load("aux", 0),
        });
        io.state("dc", 0, d.dcPrev);
        d.gates.forEach((v, k) => {
          io.store("dxp", k, v);
          io.store("dr", k, v);
        });
      },
    },
  ],
};
