/** layer_dense: `output = activation(x · kernel + bias)` over the last axis. */
import { PositiveInt } from "../../args.js";
import { defineLayer } from "../../model/layer.js";
import { expectRank, knownLastDim } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import {
  KERNEL_LAYER_DEFAULTS,
  KERNEL_LAYER_PROPS,
  activityLoss,
  denseApply,
  type KernelLayerConfig,
} from "../common.js";

export interface DenseConfig extends KernelLayerConfig {
  units: number;
}

export const layer_dense = defineLayer<DenseConfig>({
  className: "Dense",
  fn: "layer_dense",
  props: { units: PositiveInt, ...KERNEL_LAYER_PROPS },
  defaults: KERNEL_LAYER_DEFAULTS,
  required: ["units"],
  outputShape: (c, [input]) => {
    if (input.length < 2) expectRank("layer_dense", input, 2, "an input with at least one feature axis");
    knownLastDim("layer_dense", input);
    return [[...input.slice(0, -1), c.units] as Shape];
  },
  weights: (c, [input]) => {
    const inDim = input[input.length - 1] as number;
    return [
      {
        name: "kernel",
        shape: [inDim, c.units],
        initializer: c.kernel_initializer,
        trainable: true,
        regularizer: c.kernel_regularizer,
        constraint: c.kernel_constraint,
      },
      ...(c.use_bias
        ? [
            {
              name: "bias",
              shape: [c.units],
              initializer: c.bias_initializer,
              trainable: true,
              regularizer: c.bias_regularizer,
              constraint: c.bias_constraint,
            },
          ]
        : []),
    ];
  },
  forward: (c, { inputs: [x], weights: [kernel, bias] }) => {
    const y = c.activation.fn(denseApply(x, kernel, c.use_bias ? bias : undefined));
    return { outputs: [y], losses: activityLoss(c.activity_regularizer, y, x.shape[0]) };
  },
});
