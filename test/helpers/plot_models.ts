/** The models the plot_model suites draw (unit and Keras oracle), with the names Keras's side gives them. */
import { keras_model, keras_model_sequential, layer_concatenate, layer_dense, layer_input } from "../../src/index.js";
import type { Model } from "../../src/model/model.js";

/** Three dense layers on a 3-feature input. */
export function sequentialModel(): Model {
  let m: Model = keras_model_sequential({ input_shape: [3], name: "seq" });
  m = layer_dense(m, { units: 4, activation: "relu", name: "first" });
  m = layer_dense(m, { units: 2, name: "second" });
  return layer_dense(m, { units: 1, activation: "sigmoid", name: "third" });
}

/** Two inputs, a layer shared by both, a merge and two outputs. */
export function functionalModel(): Model {
  const a = layer_input({ shape: [3], name: "in_a" });
  const b = layer_input({ shape: [3], name: "in_b" });
  const shared = layer_dense({ units: 2, name: "shared" });
  const hidden = layer_dense(a, { units: 2, activation: "relu", name: "hidden" });
  const merged = layer_concatenate([hidden, shared(a), shared(b)], { name: "merged" });
  return keras_model({
    inputs: [a, b],
    outputs: [layer_dense(merged, { units: 1, name: "out_1" }), layer_dense(merged, { units: 2, name: "out_2" })],
    name: "func",
  });
}
