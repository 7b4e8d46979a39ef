/** layer_dense: `output = activation(x · kernel + bias)` over the last axis. */
import { Bool, PositiveInt } from "../../args.js";
import { defineLayer } from "../../model/layer.js";
import { expectRank, knownLastDim } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { initializerSpec } from "../../ops/initializers.js";
import type { Activation } from "../../ops/activations.js";
import type { InitializerSpec } from "../../ops/initializers.js";
import type { RegularizerSpec } from "../../ops/regularizers.js";
import type { ConstraintSpec } from "../../ops/constraints.js";
import { ActivationArg, ConstraintArg, InitializerArg, RegularizerArg, activityLoss, denseApply } from "../common.js";

export interface DenseConfig {
  units: number;
  activation: Activation;
  use_bias: boolean;
  kernel_initializer: InitializerSpec;
  bias_initializer: InitializerSpec;
  kernel_regularizer: RegularizerSpec | null;
  bias_regularizer: RegularizerSpec | null;
  activity_regularizer: RegularizerSpec | null;
  kernel_constraint: ConstraintSpec | null;
  bias_constraint: ConstraintSpec | null;
}

export const layer_dense = defineLayer<DenseConfig>({
  className: "Dense",
  fn: "layer_dense",
  props: {
    units: PositiveInt,
    activation: ActivationArg,
    use_bias: Bool,
    kernel_initializer: InitializerArg,
    bias_initializer: InitializerArg,
    kernel_regularizer: RegularizerArg,
    bias_regularizer: RegularizerArg,
    activity_regularizer: RegularizerArg,
    kernel_constraint: ConstraintArg,
    bias_constraint: ConstraintArg,
  },
  defaults: {
    activation: { name: "linear", fn: (x) => x },
    use_bias: true,
    kernel_initializer: initializerSpec("glorot_uniform"),
    bias_initializer: initializerSpec("zeros"),
    kernel_regularizer: null,
    bias_regularizer: null,
    activity_regularizer: null,
    kernel_constraint: null,
    bias_constraint: null,
  },
  required: ["units"],
  outputShape: (c, [input]) => {
    if (input.length < 2) expectRank("layer_dense", input, 2, "an input with at least one feature axis");
    knownLastDim("layer_dense", input);
    return [[...input.slice(0, -1), c.units] as Shape];
  },
  weights: (c, [input]) => {
    const inDim = input[input.length - 1] as number;
    return [
      { name: "kernel", shape: [inDim, c.units], initializer: c.kernel_initializer, trainable: true, regularizer: c.kernel_regularizer, constraint: c.kernel_constraint },
      ...(c.use_bias ? [{ name: "bias", shape: [c.units], initializer: c.bias_initializer, trainable: true, regularizer: c.bias_regularizer, constraint: c.bias_constraint }] : []),
    ];
  },
  forward: (c, { inputs: [x], weights: [kernel, bias] }) => {
    const y = c.activation.fn(denseApply(x, kernel, c.use_bias ? bias : undefined));
    return { outputs: [y], losses: activityLoss(c.activity_regularizer, y, x.shape[0]) };
  },
});
