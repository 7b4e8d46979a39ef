/**
 * Hand-derived small cases for every cell (units = 1, features = 1, gate weights all different so a
 * swapped gate changes the numbers), written as the scalar equations of KERAS_FACTS "Cells".
 */
import { expect } from "chai";
import { tf } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { KerasError } from "../../src/errors.js";
import {
  cell_call,
  get_initial_state,
  layer_gru,
  layer_gru_cell,
  layer_lstm,
  layer_lstm_cell,
  layer_simple_rnn,
  layer_simple_rnn_cell,
  output_size,
  rnn_cell_gru,
  rnn_cell_lstm,
  rnn_cells_stack,
  state_size,
  zero_state,
} from "../../src/layers/recurrent/index.js";
import { get_weights } from "../../src/api/weights.js";
import { setFusedKernelsEnabled } from "../../src/layers/recurrent/fused/index.js";
import { expectClose, eachTestOnPath } from "./helpers.js";

const sig = (v: number) => 1 / (1 + Math.exp(-v));
const xs = [1, -2]; // one sample, two timesteps, one feature
const x = () => tf.tensor3d([[[xs[0]], [xs[1]]]]);

// GRU weights (z, r, h): kernel, recurrent kernel, input bias, recurrent bias
const [Wz, Wr, Wh] = [0.5, -0.4, 0.3];
const [Uz, Ur, Uh] = [0.2, 0.6, -0.7];
const [bz, br, bh] = [0.1, 0.2, -0.1];
const [rbz, rbr, rbh] = [0.05, -0.3, 0.4];

function gruAfter(h: number, xt: number): number {
  const z = sig(xt * Wz + bz + h * Uz + rbz);
  const r = sig(xt * Wr + br + h * Ur + rbr);
  const hh = Math.tanh(xt * Wh + bh + r * (h * Uh + rbh));
  return z * h + (1 - z) * hh;
}
function gruBefore(h: number, xt: number, recAct = sig): number {
  const z = recAct(xt * Wz + bz + h * Uz);
  const r = recAct(xt * Wr + br + h * Ur);
  const hh = Math.tanh(xt * Wh + bh + r * h * Uh);
  return z * h + (1 - z) * hh;
}

// LSTM weights (i, f, c, o)
const LW = [0.5, -0.3, 0.8, 0.2];
const LU = [0.1, 0.4, -0.6, 0.3];
const LB = [0.1, 1.0, -0.2, 0.05];
function lstmStep([h, c]: number[], xt: number): number[] {
  const g = (k: number) => xt * LW[k] + h * LU[k] + LB[k];
  const i = sig(g(0));
  const f = sig(g(1));
  const cNext = f * c + i * Math.tanh(g(2));
  const o = sig(g(3));
  return [o * Math.tanh(cNext), cNext];
}

// Every layer call takes the fused kernels by default; the same hand-derived numbers must come out of the
// step-wise loop too (the path of custom cells, stacks and dropout), so both are checked independently.
for (const path of ["fused kernels", "step-wise loop"] as const)
  describe(`recurrent cells: hand-derived numbers (${path})`, () => {
    before(async () => {
      await use_backend("wasm");
      setFusedKernelsEnabled(path === "fused kernels");
    });
    after(() => setFusedKernelsEnabled(true));
    eachTestOnPath(path);

    it("SimpleRNN: h' = tanh(x W + b + h U)", () => {
      // W = 0.5, U = -1, b = 0.1: h1 = tanh(0.5 + 0.1) = tanh(0.6); h2 = tanh(-1 + 0.1 - h1)
      const layer = layer_simple_rnn({ units: 1, return_sequences: true, weights: [[[0.5]], [[-1]], [0.1]] });
      const h1 = Math.tanh(0.6);
      const h2 = Math.tanh(0.5 * -2 + 0.1 - h1);
      expectClose(layer(x()), [h1, h2], 1e-6);
    });

    it("GRU reset_after = TRUE (default): recurrent bias inside the reset product", () => {
      const layer = layer_gru({
        units: 1,
        return_sequences: true,
        weights: [
          [[Wz, Wr, Wh]],
          [[Uz, Ur, Uh]],
          [
            [bz, br, bh],
            [rbz, rbr, rbh],
          ],
        ],
      });
      const h1 = gruAfter(0, xs[0]);
      const h2 = gruAfter(h1, xs[1]);
      // h1 by hand: z = σ(0.5 + 0.1 + 0.05) = σ(0.65), r = σ(-0.4 + 0.2 - 0.3) = σ(-0.5), hh = tanh(0.3 - 0.1 + 0.4 r)
      expect(h1).to.be.closeTo((1 - sig(0.65)) * Math.tanh(0.2 + 0.4 * sig(-0.5)), 1e-12);
      expectClose(layer(x()), [h1, h2], 1e-6);
    });

    it("GRU reset_after = FALSE: bias (3u), reset applied before the recurrent product", () => {
      const layer = layer_gru({
        units: 1,
        reset_after: false,
        return_sequences: true,
        weights: [[[Wz, Wr, Wh]], [[Uz, Ur, Uh]], [bz, br, bh]],
      });
      const h1 = gruBefore(0, xs[0]);
      const h2 = gruBefore(h1, xs[1]);
      expect(h1).to.be.closeTo((1 - sig(0.6)) * Math.tanh(0.2), 1e-12);
      expectClose(layer(x()), [h1, h2], 1e-6);
    });

    it("GRU recurrent_activation: 'hard_sigmoid' is Keras 3's x/6 + 1/2, 'hard_sigmoid_keras2' is 0.2x + 0.5", () => {
      const hs3 = (v: number) => Math.min(1, Math.max(0, v / 6 + 0.5));
      const hs2 = (v: number) => Math.min(1, Math.max(0, 0.2 * v + 0.5));
      for (const [name, f] of [
        ["hard_sigmoid", hs3],
        ["hard_sigmoid_keras2", hs2],
      ] as const) {
        const layer = layer_gru({
          units: 1,
          reset_after: false,
          recurrent_activation: name,
          weights: [[[Wz, Wr, Wh]], [[Uz, Ur, Uh]], [bz, br, bh]],
        });
        expectClose(layer(x()), [gruBefore(gruBefore(0, xs[0], f), xs[1], f)], 1e-6, 1e-5, name);
      }
    });

    it("LSTM: gates i, f, c, o; states [h, c]", () => {
      const layer = layer_lstm({ units: 1, return_sequences: true, return_state: true, weights: [[LW], [LU], LB] });
      const s1 = lstmStep([0, 0], xs[0]);
      const s2 = lstmStep(s1, xs[1]);
      // step 1 by hand: c1 = σ(0.6) tanh(0.6), h1 = σ(0.25) tanh(c1)
      expect(s1[1]).to.be.closeTo(sig(0.6) * Math.tanh(0.6), 1e-12);
      const [seq, h, c] = layer(x()) as tf.Tensor[];
      expectClose(seq, [s1[0], s2[0]], 1e-6);
      expectClose(h, [s2[0]], 1e-6);
      expectClose(c, [s2[1]], 1e-6);
    });

    it("GRU reset_after = FALSE on random weights equals a plain-JS loop of the KERAS_FACTS equations", () => {
      const [B, T, F, U] = [2, 5, 3, 4];
      let seed = 7;
      const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 1.6 - 0.8;
      const kernel = Array.from({ length: F }, () => Array.from({ length: 3 * U }, rnd));
      const rec = Array.from({ length: U }, () => Array.from({ length: 3 * U }, rnd));
      const bias = Array.from({ length: 3 * U }, rnd);
      const xv = Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: F }, rnd)));
      // reference: gate g of unit j is column g*U + j
      const expected = xv.map((seq) => {
        let h = new Array(U).fill(0);
        for (const xt of seq) {
          const xw = (g: number, j: number) =>
            xt.reduce((s, v, k) => s + v * kernel[k][g * U + j], 0) + bias[g * U + j];
          const hu = (hv: number[], g: number, j: number) => hv.reduce((s, v, k) => s + v * rec[k][g * U + j], 0);
          const z = h.map((_, j) => sig(xw(0, j) + hu(h, 0, j)));
          const r = h.map((_, j) => sig(xw(1, j) + hu(h, 1, j)));
          const rh = h.map((v, j) => r[j] * v);
          const hh = h.map((_, j) => Math.tanh(xw(2, j) + hu(rh, 2, j)));
          h = h.map((v, j) => z[j] * v + (1 - z[j]) * hh[j]);
        }
        return h;
      });
      const layer = layer_gru({ units: U, reset_after: false, weights: [kernel, rec, bias] });
      expectClose(layer(tf.tensor3d(xv)), expected, 1e-5);
    });
  });

describe("recurrent cells: one step, cell API, defaults", () => {
  before(async () => {
    await use_backend("wasm");
  });

  it("cells run one step with cell_call, equal to the layer's first step", () => {
    const gru = layer_gru_cell({
      units: 1,
      weights: [
        [[Wz, Wr, Wh]],
        [[Uz, Ur, Uh]],
        [
          [bz, br, bh],
          [rbz, rbr, rbh],
        ],
      ],
    });
    const h0 = 0.3;
    const [out, states] = cell_call(gru, tf.tensor2d([[xs[1]]]), [tf.tensor2d([[h0]])]);
    expectClose(out, [gruAfter(h0, xs[1])], 1e-6);
    expectClose(states[0], [gruAfter(h0, xs[1])], 1e-6);
    const lstm = layer_lstm_cell({ units: 1, weights: [[LW], [LU], LB] });
    const [lo, [lh, lc]] = cell_call(lstm, [[xs[0]]], [tf.tensor2d([[0.2]]), tf.tensor2d([[-0.5]])]);
    const ref = lstmStep([0.2, -0.5], xs[0]);
    expectClose(lo, [ref[0]], 1e-6);
    expectClose(lh, [ref[0]], 1e-6);
    expectClose(lc, [ref[1]], 1e-6);
    // without states: zeros
    const simple = layer_simple_rnn_cell({ units: 1, weights: [[[0.5]], [[-1]], [0.1]] });
    expectClose(cell_call(simple, [[1]])[0], [Math.tanh(0.6)], 1e-6);
  });

  it("cell API: state_size, output_size, get_initial_state, zero_state (seed 002)", () => {
    expect(state_size(rnn_cell_gru({ units: 4 }))).to.equal(4);
    expect(state_size(rnn_cell_lstm({ units: 5 }))).to.deep.equal([5, 5]);
    expect(output_size(rnn_cell_lstm({ units: 5 }))).to.equal(5);
    const stack = rnn_cells_stack({ cells: [rnn_cell_gru({ units: 3 }), rnn_cell_lstm({ units: 2 })] });
    expect(state_size(stack)).to.deep.equal([3, 2, 2]);
    expect(output_size(stack)).to.equal(2);
    const init = get_initial_state(rnn_cell_lstm({ units: 5 }), { batch_size: 3, dtype: "float32" });
    expect(init.map((t) => t.shape)).to.deep.equal([
      [3, 5],
      [3, 5],
    ]);
    expectClose(init[1], new Array(15).fill(0));
    const z = zero_state(rnn_cell_gru({ units: 4 }), 2, "float32") as tf.Tensor;
    expect(z.shape).to.deep.equal([2, 4]);
    expect(() => zero_state(rnn_cell_gru({ units: 4 }), 0)).to.throw(KerasError, /batch_size/);
    expect(() => state_size(layer_gru({ units: 2 }) as any)).to.throw(KerasError, /must be an RNN cell/);
  });

  it("defaults are Keras 3 / R keras >= 2.7; the pre-2.7 defaults work when passed", () => {
    const g = layer_gru({ units: 2 });
    expect(g.config.recurrent_activation.name).to.equal("sigmoid");
    expect(g.config.reset_after).to.equal(true);
    expect(g.config.implementation).to.equal(2);
    expect(layer_lstm({ units: 2 }).config.unit_forget_bias).to.equal(true);
    const old = layer_gru({
      units: 2,
      recurrent_activation: "hard_sigmoid_keras2",
      reset_after: false,
      implementation: 1,
    });
    expect(old.config.recurrent_activation.name).to.equal("hard_sigmoid_keras2");
    expect(old.config.reset_after).to.equal(false);
  });

  it("unit_forget_bias initialises the forget-gate bias to ones: [zeros(u), ones(u), zeros(2u)]", () => {
    const layer = layer_lstm({ units: 2 });
    layer(tf.zeros([1, 2, 3]));
    expect(get_weights(layer)[2]).to.deep.equal([0, 0, 1, 1, 0, 0, 0, 0]);
    const plain = layer_lstm({ units: 2, unit_forget_bias: false });
    plain(tf.zeros([1, 2, 3]));
    expect(get_weights(plain)[2]).to.deep.equal(new Array(8).fill(0));
  });

  it("weight names and shapes are Keras's (kernel, recurrent_kernel, bias)", () => {
    const layer = layer_gru({ units: 2 });
    layer(tf.zeros([1, 2, 3]));
    const w = get_weights(layer) as number[][][];
    expect([w[0].length, w[0][0].length, w[1].length, w[1][0].length, w[2].length, w[2][0].length]).to.deep.equal([
      3, 6, 2, 6, 2, 6,
    ]);
  });

  it("argument errors name the function and the argument", () => {
    expect(() => layer_gru({ unit: 3 } as any)).to.throw(
      KerasError,
      /layer_gru\(\).*unknown argument `unit`; did you mean `units`/s,
    );
    expect(() => layer_lstm({ units: 3, dropout: 1.5 })).to.throw(KerasError, /`dropout` must be a number in \[0, 1\)/);
    expect(() => layer_gru({ units: 3, implementation: 3 } as any)).to.throw(
      KerasError,
      /`implementation` must be 1 or 2/,
    );
    expect(() => layer_gru({ units: 3, time_major: true })).to.throw(KerasError, /time_major/);
    expect(() => layer_gru({ units: 3, use_cudnn: true, recurrent_activation: "hard_sigmoid" })).to.throw(
      KerasError,
      /use_cudnn = TRUE.*recurrent_activation must be "sigmoid"/,
    );
    expect(() => layer_gru({ units: 3, use_cudnn: true })).not.to.throw();
  });
});
