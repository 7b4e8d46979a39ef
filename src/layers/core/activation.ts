/** layer_activation: applies an activation function element-wise. */
import { defineLayer } from "../../model/layer.js";
import { ActivationArg } from "../common.js";

/**
 * `layer_activation(object, activation)`: applies an activation function element-wise.
 *
 * @example
 * const y = layer_activation([[-1, 2]], { activation: "relu" }); // [[0, 2]]
 */
export const layer_activation = defineLayer({
  className: "Activation",
  fn: "layer_activation",
  props: {
    /** The activation: a name ("relu", "tanh", ...) or a function of a tensor. */
    activation: ActivationArg,
  },
  defaults: {},
  required: ["activation"],
  outputShape: (_c, [input]) => [input],
  forward: (c, { inputs: [x] }) => ({ outputs: [c.activation.fn(x)] }),
});
