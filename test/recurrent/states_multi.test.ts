/**
 * reset_states(model, states) for a model with several stateful layers: one entry per stateful layer,
 * in model order. The layers have zero kernels and biases, so a step on any input is, by hand:
 *   GRU:  z = r = sigmoid(0) = 1/2, hh = tanh(0) = 0, h' = z h + (1 - z) hh = h / 2;
 *   LSTM: i = f = o = 1/2, g = tanh(0) = 0, c' = f c + i g = c / 2, h' = o tanh(c') = tanh(c / 2) / 2.
 * After T steps: GRU h = h0 / 2^T; LSTM c = c0 / 2^T and output h = tanh(c0 / 2^T) / 2.
 */
import { expect } from "chai";
import { tf } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { KerasError } from "../../src/errors.js";
import { existingStateCell } from "../../src/engine/layer_state.js";
import { keras_model_sequential } from "../../src/model/sequential.js";
import { layer_dense } from "../../src/layers/core/index.js";
import { reset_states } from "../../src/api/states.js";
import { layer_gru, layer_lstm } from "../../src/layers/recurrent/index.js";
import { expectClose, runModel } from "./helpers.js";

const ZERO = { kernel_initializer: "zeros", recurrent_initializer: "zeros", bias_initializer: "zeros" } as const;

/** GRU(2) then LSTM(2), both stateful, batch 2, 2 timesteps of 3 features; a stateless dense between. */
const model = () =>
  keras_model_sequential({
    batch_input_shape: [2, 2, 3],
    layers: [
      layer_gru({ units: 2, stateful: true, return_sequences: true, name: "g", ...ZERO }),
      layer_dense({ units: 2, name: "d" }),
      layer_lstm({ units: 2, stateful: true, unit_forget_bias: false, name: "l", ...ZERO }),
    ],
  });

const h1 = [
  [1, -2],
  [0.5, 4],
];
const h2 = [
  [2, 0],
  [-1, 3],
];
const c2 = [
  [1, 2],
  [-4, 0.5],
];
const x = () => tf.ones([2, 2, 3]);
/** The state a layer of `m` holds, as nested arrays. */
const stateValues = (m: ReturnType<typeof model>, layerIndex: number) =>
  existingStateCell(m.layers[layerIndex])!
    .read()!
    .map((s) =>
      Array.from({ length: s.shape[0] }, (_, i) => Array.from(s.values.subarray(i * s.shape[1], (i + 1) * s.shape[1]))),
    );

describe("reset_states(model, states) with several stateful layers", () => {
  before(async () => {
    await use_backend("wasm");
  });

  it("takes one list of states per stateful layer, in model order", () => {
    const m = model();
    reset_states(m, [[h1], [h2, c2]]);
    expect(stateValues(m, 0)).to.deep.equal([h1]);
    expect(stateValues(m, 2)).to.deep.equal([h2, c2]);
    const [y] = runModel(m, x());
    // LSTM output after 2 steps: tanh(c0 / 4) / 2
    expectClose(
      y,
      c2.map((r) => r.map((c) => Math.tanh(c / 4) / 2)),
      1e-6,
    );
    // GRU state after 2 steps: h0 / 4; LSTM states: h = tanh(c0 / 4) / 2, c = c0 / 4
    expectClose(
      stateValues(m, 0),
      h1.map((r) => r.map((h) => h / 4)),
      1e-6,
    );
    expectClose(
      stateValues(m, 2)[1],
      c2.map((r) => r.map((c) => c / 4)),
      1e-6,
    );
    tf.dispose(y);
  });

  it("accepts a single state for a one-state layer, tensors, and NULL for zeros", () => {
    const m = model();
    reset_states(m, [tf.tensor2d(h1), [tf.tensor2d(h2), c2]]);
    expect(stateValues(m, 0)).to.deep.equal([h1]);
    reset_states(m, [null, [h2, c2]]);
    expect(stateValues(m, 2)).to.deep.equal([h2, c2]);
    const [y] = runModel(m, x());
    expectClose(
      y,
      c2.map((r) => r.map((c) => Math.tanh(c / 4) / 2)),
      1e-6,
    );
    // the GRU started from zeros: it stays at zero
    expectClose(
      stateValues(m, 0),
      [
        [0, 0],
        [0, 0],
      ],
      1e-7,
    );
    tf.dispose(y);
    reset_states(m);
    const [zero] = runModel(m, x());
    expectClose(
      zero,
      [
        [0, 0],
        [0, 0],
      ],
      1e-7,
    ); // from zero states the LSTM stays at tanh(0) / 2 = 0
    tf.dispose(zero);
  });

  it("count and shape mismatches are KerasErrors naming the layers, and change no state", () => {
    const m = model();
    reset_states(m, [[h1], [h2, c2]]);
    const before = tf.memory().numTensors;
    expect(() => reset_states(m, [[h1]])).to.throw(
      KerasError,
      /reset_states\(\): model "sequential" has 2 stateful layers \("g", "l"\): `states` must be a list of 2 entries, one per stateful layer in model order.*got a list of 1/,
    );
    expect(() => reset_states(m, [[h1], [h2]])).to.throw(
      KerasError,
      /reset_states\(\): `states`: layer "l" has 2 states \(\(2, 2\), \(2, 2\)\), got 1/,
    );
    expect(() =>
      reset_states(m, [
        [h1],
        [
          h2,
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
        ],
      ]),
    ).to.throw(KerasError, /layer "l": state 2 must have shape \(2, 2\), got \(2, 3\)/);
    expect(() => reset_states(m, [[[[1, 2]]], [h2, c2]])).to.throw(
      KerasError,
      /layer "g": state 1 must have shape \(2, 2\), got \(1, 2\)/,
    );
    expect(() => reset_states(m, 3)).to.throw(KerasError, /must be a list of 2 entries.*got 3/);
    expect(tf.memory().numTensors, "tensors leaked").to.equal(before);
    expect(stateValues(m, 0)).to.deep.equal([h1]);
    expect(stateValues(m, 2)).to.deep.equal([h2, c2]);
  });

  it("a model without stateful layers says so", () => {
    const m = keras_model_sequential({ input_shape: [2, 3], layers: [layer_gru({ units: 2 })] });
    expect(() => reset_states(m, [h1])).to.throw(KerasError, /model "sequential" has no stateful layers/);
  });
});
