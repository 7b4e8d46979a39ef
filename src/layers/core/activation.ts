/** layer_activation: applies an activation function element-wise. */
import { defineLayer } from "../../model/layer.js";
import type { Activation } from "../../ops/activations.js";
import { ActivationArg } from "../common.js";

export const layer_activation = defineLayer<{ activation: Activation }>({
  className: "Activation",
  fn: "layer_activation",
  props: { activation: ActivationArg },
  defaults: {},
  required: ["activation"],
  outputShape: (_c, [input]) => [input],
  forward: (c, { inputs: [x] }) => ({ outputs: [c.activation.fn(x)] }),
});
