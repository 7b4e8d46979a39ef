/** SimpleRNN: h' = act(xW + b + hU). Bias (u) or none. */
import type { CellAlgebra, GradAlgebra } from "./algebra.js";
import { inputSide, type FusedCell } from "./types.js";

export const simpleRnnStep = <V>(A: CellAlgebra<V>, x: V, rec: V): V => A.act(A.add(x, rec));

/** The gradient w.r.t. the pre-activation from g = ∂L/∂h' and h'. */
export const simpleRnnGrad = <V>(A: GradAlgebra<V>, g: V, h: V): V => A.mul(g, A.dact(h));

export const SIMPLE_RNN: FusedCell = {
  id: "simple_rnn",
  layerFn: "layer_simple_rnn",
  gates: 1,
  recurrentGates: 1,
  resetProduct: false,
  states: 1,
  savedGates: 1, // h'
  savesAux: false,
  biasLayouts: ["none", "input"],
  kerasBiasLayout: "input",
  separateRecurrentBias: [],
  recurrentGradIsInputGrad: true,
  forward: [
    {
      name: "fwd",
      kind: "forward",
      body: (io, A) => {
        const h = simpleRnnStep(A, inputSide(io, A)(0), io.load("rec", 0));
        io.store("gates", 0, h);
        io.state("h", 0, h);
      },
    },
  ],
  backward: [
    {
      name: "bwd",
      kind: "grad",
      body: (io, A) => {
        const d = simpleRnnGrad(A, io.g, io.load("gates", 0));
        io.store("dxp", 0, d);
        io.store("dr", 0, d);
      },
    },
  ],
};
