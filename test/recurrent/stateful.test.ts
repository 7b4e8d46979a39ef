/** Stateful carry and reset_states (model and layer level), with the linear rule h = 0.5 h + x. */
import { expect } from "chai";
import { tf } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { KerasError } from "../../src/errors.js";
import { keras_model_sequential } from "../../src/model/sequential.js";
import { keras_model } from "../../src/model/functional.js";
import { layer_input } from "../../src/model/symbolic.js";
import { get_layer, set_weights, get_weights } from "../../src/api/weights.js";
import { reset_states } from "../../src/api/states.js";
import { layer_gru, layer_lstm, layer_simple_rnn } from "../../src/layers/recurrent/index.js";
import { expectClose, runModel } from "./helpers.js";

const halfDecay = (args: Record<string, unknown> = {}) =>
  layer_simple_rnn({ units: 1, activation: "linear", weights: [[[1]], [[0.5]], [0]], ...args });
const seq = (...v: number[]) => tf.tensor3d([v.map((x) => [x])]);

describe("stateful recurrent layers and reset_states", () => {
  before(async () => {
    await use_backend("wasm");
  });

  it("eager layer: the final state of a call starts the next; reset_states zeroes or sets it", () => {
    const layer = halfDecay({ stateful: true });
    expectClose(layer(seq(1, 2)), [2.5], 1e-6); // 1, 0.5 + 2
    expectClose(layer(seq(3, 4)), [6.125], 1e-6); // 1.25 + 3 = 4.25, 2.125 + 4 — as one long sequence
    expect(reset_states(layer)).to.equal(layer);
    expectClose(layer(seq(1, 2)), [2.5], 1e-6);
    reset_states(layer, [[[10]]]);
    expectClose(layer(seq(4)), [9], 1e-6); // 5 + 4
    expect(() => reset_states(layer, [[[1, 2]]])).to.throw(KerasError, /reset_states\(\).*shape/);
  });

  it("a call-time initial_state wins over the carried state (Keras), and the carry continues from that call", () => {
    const layer = halfDecay({ stateful: true });
    expectClose(layer(seq(1, 2)), [2.5], 1e-6); // carried state 2.5
    // from the given 10, not the carried 2.5: 5 + 4 = 9 (the carried state would give 1.25 + 4 = 5.25)
    expectClose(layer(seq(4), { initial_state: [tf.tensor2d([[10]])] }), [9], 1e-6);
    expectClose(layer(seq(0)), [4.5], 1e-6); // continues from 9
  });

  it("model level: predict-style calls carry state; reset_states(model) and reset_states(model, states)", () => {
    const model = halfDecay({ stateful: true })(keras_model_sequential({ batch_input_shape: [1, 2, 1] }));
    expectClose(runModel(model, seq(1, 2))[0], [2.5], 1e-6);
    expectClose(runModel(model, seq(3, 4))[0], [6.125], 1e-6);
    reset_states(model);
    expectClose(runModel(model, seq(1, 2))[0], [2.5], 1e-6);
    reset_states(model, [[2]]);
    expectClose(runModel(model, seq(0, 0))[0], [0.5], 1e-6); // 1, 0.5
  });

  it("layer level on a layer taken from a model with get_layer", () => {
    const model = halfDecay({ stateful: true, name: "carry" })(
      keras_model_sequential({ batch_input_shape: [1, 2, 1] }),
    );
    runModel(model, seq(1, 2));
    reset_states(get_layer(model, { name: "carry" }));
    expectClose(runModel(model, seq(1, 2))[0], [2.5], 1e-6);
    reset_states(get_layer(model, { index: 1 }), [[[4]]]);
    expectClose(runModel(model, seq(0, 0))[0], [1], 1e-6); // 2, 1
  });

  it("batch continuation equals one long sequence (GRU, batch 2, random weights)", () => {
    const x = tf.randomNormal([2, 6, 3], 0, 1, "float32", 3);
    const plain = layer_gru({ units: 4, seed: 1 });
    const whole = plain(x) as tf.Tensor;
    const w = get_weights(plain);
    const model = set_weights(
      layer_gru(keras_model_sequential({ batch_input_shape: [2, 3, 3] }), { units: 4, stateful: true }),
      w,
    );
    runModel(model, tf.slice(x, [0, 0, 0], [2, 3, 3]));
    expectClose(runModel(model, tf.slice(x, [0, 3, 0], [2, 3, 3]))[0], whole, 1e-5);
  });

  it("LSTM: both states [h, c] are carried and can be set", () => {
    const lstm = layer_lstm({ units: 2, stateful: true, return_state: true });
    const x = tf.randomNormal([1, 3, 2], 0, 1, "float32", 5);
    const [, h, c] = lstm(x) as tf.Tensor[];
    const ref = layer_lstm({ units: 2, return_state: true, weights: get_weights(lstm) });
    const [seqOut] = ref(x, { initial_state: [h, c] }) as tf.Tensor[];
    expectClose((lstm(x) as tf.Tensor[])[0], seqOut, 1e-6);
    reset_states(lstm, [h, c]);
    expectClose((lstm(x) as tf.Tensor[])[0], seqOut, 1e-6);
  });

  it("a stateful layer without a fixed batch size is a composition error naming the three ways", () => {
    const err = /stateful.*batch size.*batch_input_shape.*input_shape.*batch_size.*layer_input/s;
    expect(() => layer_gru(keras_model_sequential({ input_shape: [5, 3] }), { units: 2, stateful: true })).to.throw(
      KerasError,
      err,
    );
    expect(() => layer_lstm(layer_input({ shape: [5, 3] }), { units: 2, stateful: true })).to.throw(KerasError, err);
    expect(() =>
      layer_gru(keras_model_sequential({ input_shape: [5, 3], batch_size: 4 }), { units: 2, stateful: true }),
    ).not.to.throw();
    expect(() =>
      keras_model_sequential({ layers: [layer_gru({ units: 2, stateful: true, input_shape: [5, 3], batch_size: 4 })] }),
    ).not.to.throw();
    const inp = layer_input({ shape: [5, 3], batch_size: 4 });
    expect(() => keras_model({ inputs: inp, outputs: layer_gru(inp, { units: 2, stateful: true }) })).not.to.throw();
  });

  it("reset_states validates its argument", () => {
    expect(() => reset_states(layer_gru({ units: 2 }))).to.throw(KerasError, /reset_states\(\).*not stateful/);
    expect(() => reset_states(42 as any)).to.throw(KerasError, /`object` must be a model or a stateful layer/);
    expect(() => reset_states(halfDecay({ stateful: true }), [[[1]]])).to.throw(KerasError, /has not been run yet/);
  });
});
