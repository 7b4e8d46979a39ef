/** layer_dense: `output = activation(x · kernel + bias)` over the last axis. */
import { PositiveInt } from "../../args.js";
import { defineLayer } from "../../model/layer.js";
import { expectRank, knownLastDim } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { KERNEL_LAYER_DEFAULTS, KERNEL_LAYER_PROPS, activityLoss, denseApply, kernelWeights } from "../common.js";

const DENSE_PROPS = {
  /** Dimensionality of the output space (the last axis of the output). */
  units: PositiveInt,
  ...KERNEL_LAYER_PROPS,
};

/**
 * `layer_dense(object, units, activation = NULL, use_bias = TRUE, ...)`: a densely connected layer.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4] }), layer_dense({ units: 8, activation: "relu" }), layer_dense({ units: 1 }));
 */
export const layer_dense = defineLayer({
  className: "Dense",
  fn: "layer_dense",
  props: DENSE_PROPS,
  defaults: KERNEL_LAYER_DEFAULTS,
  required: ["units"],
  outputShape: (c, [input]) => {
    if (input.length < 2) expectRank("layer_dense", input, 2, "an input with at least one feature axis");
    knownLastDim("layer_dense", input);
    return [[...input.slice(0, -1), c.units] as Shape];
  },
  weights: (c, [input]) => kernelWeights(c, [input[input.length - 1] as number, c.units], [c.units]),
  forward: (c, { inputs: [x], weights: [kernel, bias] }) => {
    const y = c.activation.fn(denseApply(x, kernel, c.use_bias ? bias : undefined));
    return { outputs: [y], losses: activityLoss(c.activity_regularizer, y, x.shape[0]) };
  },
});
