/**
 * The loop's semantics with numbers (KERAS_FACTS "The recurrent loop"). Most cases use a linear
 * SimpleRNN with W = 1, U = 0.5, b = 0, i.e. h_t = 0.5 h_{t-1} + x_t, whose values are easy by hand.
 */
import { expect } from "chai";
import { tf, type Tensor } from "../../src/backend/tf.js";
import type { SymbolicTensor } from "../../src/model/symbolic.js";
import type { ArgsOfLayer } from "../../src/model/dual.js";
import { use_backend } from "../../src/backend/index.js";
import { KerasError } from "../../src/errors.js";
import { keras_model_sequential } from "../../src/model/sequential.js";
import { keras_model } from "../../src/model/functional.js";
import { layer_input } from "../../src/model/symbolic.js";
import { layer_embedding, layer_masking } from "../../src/layers/core/index.js";
import { layer_gru, layer_lstm, layer_rnn, layer_simple_rnn, rnn_cell_gru } from "../../src/layers/recurrent/index.js";
import { regularizer_l2 } from "../../src/ops/regularizers.js";
import { familyOf } from "../../src/model/layer.js";
import { setFusedKernelsEnabled } from "../../src/layers/recurrent/fused/index.js";
import { expectClose, forwardOf, runModel, eachTestOnPath } from "./helpers.js";

const halfDecay = (args: Omit<ArgsOfLayer<typeof layer_simple_rnn>, "units"> = {}) =>
  layer_simple_rnn({ units: 1, activation: "linear", weights: [[[1]], [[0.5]], [0]], ...args });
const seq = (...v: number[]) => tf.tensor3d([v.map((x) => [x])]);
const mask = (...m: number[]) => tf.tensor2d([m], undefined, "bool");

// The layers take the fused kernels by default; the step-wise loop (custom cells, stacks, dropout) must
// give the same hand-derived numbers, so the semantics below are checked on both paths.
for (const path of ["fused kernels", "step-wise loop"] as const)
  describe(`recurrent loop semantics: numbers (${path})`, () => {
    before(async () => {
      await use_backend("wasm");
      setFusedKernelsEnabled(path === "fused kernels");
    });
    after(() => setFusedKernelsEnabled(true));
    eachTestOnPath(path);

    it("return_sequences / last output: h = 0.5 h + x over [1, 2, 3, 4] gives 1, 2.5, 4.25, 6.125", () => {
      expectClose(halfDecay({ return_sequences: true })(seq(1, 2, 3, 4)), [1, 2.5, 4.25, 6.125], 1e-6);
      expectClose(halfDecay()(seq(1, 2, 3, 4)), [6.125], 1e-6);
    });

    it("go_backwards runs over reversed time and returns outputs in processing order: 4, 5, 4.5, 3.25", () => {
      expectClose(halfDecay({ go_backwards: true, return_sequences: true })(seq(1, 2, 3, 4)), [4, 5, 4.5, 3.25], 1e-6);
      expectClose(halfDecay({ go_backwards: true })(seq(1, 2, 3, 4)), [3.25], 1e-6);
    });

    it("masked steps keep the state and repeat the previous output (or zeros with zero_output_for_mask)", () => {
      // mask 1,0,1,0: h = 1, (kept) 1, 0.5 + 3 = 3.5, (kept) 3.5
      expectClose(
        halfDecay({ return_sequences: true })(seq(1, 2, 3, 4), { mask: mask(1, 0, 1, 0) }),
        [1, 1, 3.5, 3.5],
        1e-6,
      );
      expectClose(
        halfDecay({ return_sequences: true, zero_output_for_mask: true })(seq(1, 2, 3, 4), { mask: mask(1, 0, 1, 0) }),
        [1, 0, 3.5, 0],
        1e-6,
      );
      // return_sequences = FALSE: the last processed step's output, which repeats 3.5
      expectClose(halfDecay()(seq(1, 2, 3, 4), { mask: mask(1, 0, 1, 0) }), [3.5], 1e-6);
    });

    it("before any unmasked step the output is zeros, while the state is the initial state", () => {
      // initial h = 10; mask 0,1,1,0: out 0 (state 10), 5 + 2 = 7, 3.5 + 3 = 6.5, (kept) 6.5
      const layer = halfDecay({ return_sequences: true, return_state: true });
      const [out, h] = (<Tensor[]>layer(seq(1, 2, 3, 4), {
        mask: mask(0, 1, 1, 0),
        initial_state: [tf.tensor2d([[10]])],
      })) as tf.Tensor[];
      expectClose(out, [0, 7, 6.5, 6.5], 1e-6);
      expectClose(h, [6.5], 1e-6);
    });

    it("go_backwards reverses the mask with the inputs", () => {
      // reversed x 4,3,2,1 with reversed mask 0,0,1,1 (mask 1,1,0,0): out 0, 0, 2, 0.5*2 + 1 = 2
      expectClose(
        halfDecay({ go_backwards: true, return_sequences: true })(seq(1, 2, 3, 4), { mask: mask(1, 1, 0, 0) }),
        [0, 0, 2, 2],
        1e-6,
      );
    });

    it("the mask comes from layer_embedding(mask_zero = TRUE) and from layer_masking", () => {
      // embedding row k = k, tokens 1 2 0 3 -> x 1 2 _ 3 (token 0 masked): h = 1, 2.5, (kept) 2.5, 1.25 + 3 = 4.25
      const model = keras_model_sequential({ input_shape: [4] });
      const m1 = halfDecay({ return_sequences: true })(
        layer_embedding(model, { input_dim: 5, output_dim: 1, mask_zero: true, weights: [[[0], [1], [2], [3], [4]]] }),
      );
      expectClose(runModel(m1, tf.tensor2d([[1, 2, 0, 3]]))[0], [1, 2.5, 2.5, 4.25], 1e-6);
      const m2 = halfDecay({ return_sequences: true })(
        layer_masking(keras_model_sequential({ input_shape: [4, 1] }), { mask_value: 0 }),
      );
      expectClose(runModel(m2, seq(1, 2, 0, 3))[0], [1, 2.5, 2.5, 4.25], 1e-6);
    });
  });

describe("recurrent loop semantics", () => {
  before(async () => {
    await use_backend("wasm");
  });

  it("return_sequences passes the input mask on; otherwise the output has no mask", () => {
    const x = seq(1, 2, 3, 4);
    const r1 = forwardOf(halfDecay({ return_sequences: true }), {
      x,
      weights: [tf.tensor2d([[1]]), tf.tensor2d([[0.5]]), tf.tensor1d([0])],
      mask: mask(1, 1, 0, 0),
    });
    expect(r1.masks![0]).to.not.equal(null);
    const r2 = forwardOf(halfDecay({ return_state: true }), {
      x,
      weights: [tf.tensor2d([[1]]), tf.tensor2d([[0.5]]), tf.tensor1d([0])],
      mask: mask(1, 1, 0, 0),
    });
    expect(r2.masks).to.deep.equal([null, null]);
  });

  it("return_state returns [output, ...final states]; symbolically a list of tensors", () => {
    const lstm = layer_lstm({ units: 2, return_state: true });
    const out = lstm(tf.ones([3, 4, 5])) as tf.Tensor[];
    expect(out.map((t) => t.shape)).to.deep.equal([
      [3, 2],
      [3, 2],
      [3, 2],
    ]);
    expectClose(out[0], out[1]); // the output is h
    const sym = layer_gru(layer_input({ shape: [4, 5] }), { units: 2, return_state: true, return_sequences: true });
    expect(sym.map((s: any) => s.shape)).to.deep.equal([
      [null, 4, 2],
      [null, 2],
    ]);
  });

  it("initial_state symbolic: an encoder's states start the decoder (encoder -> decoder)", () => {
    // linear SimpleRNN encoder (h = 0.5 h + x) over [1, 2] ends at 2.5; the decoder (same rule) over [4] from 2.5: 1.25 + 4
    const enc = layer_input({ shape: [2, 1] });
    const dec = layer_input({ shape: [1, 1] });
    const [, encState] = halfDecay({ return_state: true })(enc) as SymbolicTensor[];
    const out = halfDecay()(dec, { initial_state: encState });
    const model = keras_model({ inputs: [enc, dec], outputs: out });
    expectClose(runModel(model, [seq(1, 2), seq(4)])[0], [5.25], 1e-6);
    // LSTM states [h, c] flow too, and a wrong number of states is a shape error at composition
    const [, h, c] = layer_lstm(enc, { units: 3, return_state: true });
    expect(layer_lstm(dec, { units: 3 }).shape).to.deep.equal([null, 3]);
    expect(layer_lstm({ units: 3 })(dec, { initial_state: [h, c] }).shape).to.deep.equal([null, 3]);
    expect(() => layer_lstm({ units: 3 })(dec, { initial_state: [h] })).to.throw(
      KerasError,
      /initial_state.*2 state tensors/,
    );
    expect(() => layer_gru({ units: 4 })(dec, { initial_state: [h] })).to.throw(
      KerasError,
      /initial_state.*\(None, 4\)/,
    );
  });

  it("a 2-D input is a shape error naming (batch, timesteps, features)", () => {
    expect(() => layer_gru(keras_model_sequential({ input_shape: [8] }), { units: 2 })).to.throw(
      KerasError,
      /layer_gru\(\).*\(batch, timesteps, features\).*\(None, 8\)/,
    );
    expect(() => layer_lstm({ units: 2 })(tf.ones([2, 3]))).to.throw(KerasError, /\(batch, timesteps, features\)/);
  });

  it("input_dim maps to input shape (None, input_dim)", () => {
    expect(layer_gru({ units: 2, input_dim: 7 }).batchInputShape).to.deep.equal([null, null, 7]);
  });

  it("dropout: masks only in training, drawn once per sequence (the same at every step)", () => {
    // linear SimpleRNN with W = 1, U = 0: output_t = x_t * mask; x = ones, so each step shows the mask
    const layer = layer_simple_rnn({
      units: 4,
      activation: "linear",
      dropout: 0.5,
      return_sequences: true,
      seed: 1,
      weights: [tf.eye(6, 4).arraySync(), tf.zeros([4, 4]).arraySync(), [0, 0, 0, 0]],
    });
    const x = tf.ones([8, 5, 6]);
    expectClose(layer(x), tf.ones([8, 5, 4]));
    const out = (layer(x, { training: true }) as tf.Tensor).arraySync() as number[][][];
    const values = new Set(out.flat(2));
    expect([...values].sort()).to.deep.equal([0, 2]); // 1 / (1 - 0.5)
    for (const sample of out) for (const step of sample) expect(step).to.deep.equal(sample[0]);
    // the masks differ between samples (and are not all kept)
    expect(out.some((s) => s[0].some((v) => v === 0))).to.equal(true);
    // recurrent_dropout: h_t = (h_{t-1} * m) U + x_t with U = I, x = [1,0,...]: later steps show the same mask
    const rec = layer_simple_rnn({
      units: 3,
      activation: "linear",
      recurrent_dropout: 0.5,
      return_sequences: true,
      weights: [[[1, 1, 1]], tf.eye(3).arraySync(), [0, 0, 0]],
    });
    const xr = tf.concat([tf.ones([16, 1, 1]), tf.zeros([16, 3, 1])], 1);
    const r = (rec(xr, { training: true }) as tf.Tensor).arraySync() as number[][][];
    // step 0: 1; step 1: m; step 2: m * m (m in {0, 2}) -> 0 or 4, consistent with the same m at both steps
    for (const s of r) s[0].forEach((_, j) => expect(s[2][j]).to.equal(s[1][j] * s[1][j]));
    expectClose(rec(xr), tf.ones([16, 4, 3]));
  });

  it("implementation 1 draws one dropout mask per gate, implementation 2 one for all gates", () => {
    // GRU(1) on x = 1 with U = 0 and zero biases (reset_after: r only scales h U_h + rb_h = 0, so it is
    // unused). Kernel W_z = -100, W_h = 1; dropout 0.5 gives each gate input a mask m in {0, 2}:
    //   z = σ(-100 m_z) = 1/2 (m_z = 0) or 0 (m_z = 2);  hh = tanh(m_h) = 0 or tanh 2;  h = (1 - z) hh.
    //   one shared mask (m_z = m_h):   h ∈ {0, tanh 2}
    //   one mask per gate:             h ∈ {0, tanh(2) / 2, tanh 2}; tanh(2) / 2 only when the masks differ
    //   no mask on the h gate:         h ∈ {tanh(1) / 2, tanh 1};  no dropout at all: h = tanh 1
    // 64 samples: each expected value shows up except with probability <= (3/4)^64 ≈ 1e-8.
    const layer = (impl: 1 | 2) =>
      layer_gru({
        units: 1,
        implementation: impl,
        dropout: 0.5,
        weights: [
          [[-100, 0, 1]],
          [[0, 0, 0]],
          [
            [0, 0, 0],
            [0, 0, 0],
          ],
        ],
      });
    const x = tf.ones([64, 1, 1]);
    const t2 = Math.tanh(2);
    const seen = (impl: 1 | 2) => {
      const v = Array.from((layer(impl)(x, { training: true }) as tf.Tensor).dataSync());
      return (target: number) => v.some((e) => Math.abs(e - target) < 1e-5);
    };
    const only = (impl: 1 | 2, allowed: number[]) => {
      const v = Array.from((layer(impl)(x, { training: true }) as tf.Tensor).dataSync());
      v.forEach((e) =>
        expect(
          allowed.some((a) => Math.abs(e - a) < 1e-5),
          `implementation ${impl}: ${e} not in ${allowed}`,
        ).to.equal(true),
      );
    };
    only(2, [0, t2]);
    const shared = seen(2);
    expect([shared(0), shared(t2)]).to.deep.equal([true, true]);
    only(1, [0, t2 / 2, t2]);
    const perGate = seen(1);
    expect([perGate(0), perGate(t2 / 2), perGate(t2)]).to.deep.equal([true, true, true]);
    // inference: no dropout, h = (1 - σ(-100)) tanh(1) = tanh 1
    expectClose(layer(1)(x), new Array(64).fill(Math.tanh(1)), 1e-6);
  });

  it("activity_regularizer adds a loss on the output (divided by the batch size, as Keras)", () => {
    const layer = halfDecay({ activity_regularizer: regularizer_l2(0.5) });
    const r = forwardOf(layer, {
      x: seq(1, 2, 3, 4),
      weights: [tf.tensor2d([[1]]), tf.tensor2d([[0.5]]), tf.tensor1d([0])],
    });
    expectClose(r.losses![0], [0.5 * 6.125 * 6.125], 1e-6); // batch 1, output 6.125
  });

  it("get_config form of layer_rnn names its cell by class", () => {
    const config = familyOf(layer_rnn({ cell: [rnn_cell_gru({ units: 2 }), rnn_cell_gru({ units: 3 })] })).toConfig!(
      layer_rnn({ cell: [rnn_cell_gru({ units: 2 }), rnn_cell_gru({ units: 3 })] }).config,
    );
    expect((config.cell as any).class_name).to.equal("StackedRNNCells");
    expect(
      (config.cell as any).config.cells.map((c: any) => [c.class_name, c.config.units, c.config.recurrent_activation]),
    ).to.deep.equal([
      ["GRUCell", 2, "sigmoid"],
      ["GRUCell", 3, "sigmoid"],
    ]);
    expect(config.return_sequences).to.equal(false);
  });

  it("memory: a step's intermediates are released as the loop goes, and nothing leaks in a tidy", () => {
    const layer = layer_gru({ units: 3, go_backwards: true, dropout: 0.2, recurrent_dropout: 0.2 });
    const weights = [tf.randomNormal([4, 9]), tf.randomNormal([3, 9]), tf.zeros([2, 9])];
    // Outside a tidy, what a call leaves behind (set-up: gate blocks, dropout masks; the output) must
    // not grow with the number of timesteps.
    const leftover = (steps: number) => {
      const x = tf.randomNormal([2, steps, 4]);
      const m = tf.ones([2, steps], "bool");
      const before = tf.memory().numTensors;
      forwardOf(layer, { x, weights, mask: m, training: true });
      const n = tf.memory().numTensors - before;
      tf.dispose([x, m]);
      return n;
    };
    expect(leftover(12)).to.equal(leftover(4));
    const x = tf.randomNormal([2, 6, 4]);
    const m = tf.tensor2d(
      [
        [1, 1, 1, 0, 0, 1],
        [1, 0, 1, 1, 1, 1],
      ],
      undefined,
      "bool",
    );
    const inTidy = tf.memory().numTensors;
    tf.tidy(() => {
      forwardOf(layer_lstm({ units: 3, return_sequences: true, return_state: true }), {
        x,
        weights: [tf.randomNormal([4, 12]), tf.randomNormal([3, 12]), tf.zeros([12])],
        mask: m,
        training: true,
      });
    });
    expect(tf.memory().numTensors).to.equal(inTidy);
  });
});
