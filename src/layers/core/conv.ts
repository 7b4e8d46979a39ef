/**
 * layer_conv_1d: `activation(conv1d(x, kernel) + bias)` with kernel shape (kernel_size, in / groups, filters).
 * Padding "causal" pads dilation * (kernel_size - 1) zeros on the left; dilation as in ops/convolution.ts.
 */
import { IntTuple, OneOf, PositiveInt } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import { expectRank, formatShape } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { KERNEL_LAYER_DEFAULTS, KERNEL_LAYER_PROPS, activityLoss } from "../common.js";
import type { ConfigOf } from "../../args.js";
import { tf, type Tensor } from "../../backend/tf.js";
import { convChannelsLast } from "../../ops/convolution.js";
import { DataFormatArg, knownDim, windowOutputLength } from "./axes.js";

const CONV_1D_PROPS = {
  /** The number of output channels (filters in the convolution). */
  filters: PositiveInt,
  /** The length of the convolution window. */
  kernel_size: IntTuple(1),
  /** The stride of the convolution. */
  strides: IntTuple(1),
  /** "valid" (no padding), "same" (output as long as the input) or "causal" (no look-ahead). */
  padding: OneOf("valid", "same", "causal"),
  /** "channels_last" (batch, steps, channels) or "channels_first" (batch, channels, steps). */
  data_format: DataFormatArg,
  /** The dilation rate of a dilated convolution. */
  dilation_rate: IntTuple(1),
  /** The number of groups the input channels are split into, each convolved with filters / groups filters. */
  groups: PositiveInt,
  ...KERNEL_LAYER_PROPS,
};
export type Conv1DConfig = ConfigOf<typeof CONV_1D_PROPS>;

const FN = "layer_conv_1d";

/** (steps axis, channels axis) of a rank-3 input. */
const axesOf = (c: Conv1DConfig): [number, number] => (c.data_format === "channels_last" ? [1, 2] : [2, 1]);

/**
 * `layer_conv_1d(object, filters, kernel_size, strides = 1, padding = "valid", ...)`: 1-D convolution over time.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [20, 3] }), layer_conv_1d({ filters: 8, kernel_size: 3, activation: "relu" }));
 */
export const layer_conv_1d = defineLayer({
  className: "Conv1D",
  fn: FN,
  props: CONV_1D_PROPS,
  defaults: {
    strides: [1],
    padding: "valid",
    data_format: "channels_last",
    dilation_rate: [1],
    groups: 1,
    ...KERNEL_LAYER_DEFAULTS,
  },
  required: ["filters", "kernel_size"],
  validate: (c) => {
    if (c.strides[0] > 1 && c.dilation_rate[0] > 1)
      throw new KerasError(
        FN,
        `\`strides\` > 1 cannot be combined with \`dilation_rate\` > 1, got strides ${c.strides[0]} and dilation_rate ${c.dilation_rate[0]}`,
      );
    if (c.filters % c.groups !== 0)
      throw new KerasError(FN, `\`filters\` (${c.filters}) must be divisible by \`groups\` (${c.groups})`);
    return c;
  },
  mask: "drop",
  outputShape: (c, [input]) => {
    expectRank(FN, input, 3, "a sequence input (batch, steps, channels)");
    const [stepsAxis, channelAxis] = axesOf(c);
    const channels = knownDim(FN, input, channelAxis, "the channel axis");
    if (channels % c.groups !== 0)
      throw new KerasError(
        FN,
        `the input channels (${channels}) must be divisible by \`groups\` (${c.groups}), input shape ${formatShape(input)}`,
        "shape",
      );
    const steps = windowOutputLength(input[stepsAxis], c.kernel_size[0], c.strides[0], c.padding, c.dilation_rate[0]);
    if (steps !== null && steps <= 0) {
      throw new KerasError(
        FN,
        `the input is too short for kernel_size ${c.kernel_size[0]} (dilation ${c.dilation_rate[0]}) with padding "valid": input shape ${formatShape(input)}`,
        "shape",
      );
    }
    return [(c.data_format === "channels_last" ? [input[0], steps, c.filters] : [input[0], c.filters, steps]) as Shape];
  },
  weights: (c, [input]) => {
    const channels = input[axesOf(c)[1]] as number;
    return [
      {
        name: "kernel",
        shape: [c.kernel_size[0], channels / c.groups, c.filters],
        initializer: c.kernel_initializer,
        trainable: true,
        regularizer: c.kernel_regularizer,
        constraint: c.kernel_constraint,
      },
      ...(c.use_bias
        ? [
            {
              name: "bias",
              shape: [c.filters],
              initializer: c.bias_initializer,
              trainable: true,
              regularizer: c.bias_regularizer,
              constraint: c.bias_constraint,
            },
          ]
        : []),
    ];
  },
  forward: (c, { inputs: [x0], weights: [kernel, bias] }) => {
    let x = c.data_format === "channels_first" ? tf.transpose(x0, [0, 2, 1]) : x0;
    const d = c.dilation_rate[0];
    if (c.padding === "causal")
      x = tf.pad(x, [
        [0, 0],
        [d * (c.kernel_size[0] - 1), 0],
        [0, 0],
      ]);
    const pad = c.padding === "same" ? "same" : "valid";
    const conv = (xi: Tensor, ki: Tensor) => convChannelsLast(xi, ki, c.strides, pad, c.dilation_rate);
    let y: Tensor;
    if (c.groups === 1) y = conv(x, kernel);
    else {
      const xs = tf.split(x, c.groups, 2);
      const ks = tf.split(kernel, c.groups, 2);
      y = tf.concat(
        xs.map((xi, g) => conv(xi, ks[g])),
        2,
      );
    }
    if (c.use_bias) y = tf.add(y, bias);
    y = c.activation.fn(y);
    if (c.data_format === "channels_first") y = tf.transpose(y, [0, 2, 1]);
    return { outputs: [y], losses: activityLoss(c.activity_regularizer, y, x0.shape[0]) };
  },
});
