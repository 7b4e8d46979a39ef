/**
 * Convolution layers over 1 to 3 spatial axes, channels_last or channels_first:
 * - layer_conv_1d / 2d / 3d: `activation(conv(x, kernel) + bias)`, kernel (...kernel_size, in / groups,
 *   filters); Conv1D's padding "causal" pads dilation * (kernel_size - 1) zeros on the left;
 * - layer_conv_1d / 2d / 3d_transpose: the transposed convolution, kernel (...kernel_size, filters, in);
 * - layer_depthwise_conv_1d / 2d: each input channel convolved with its own depth_multiplier filters,
 *   kernel (...kernel_size, in, depth_multiplier);
 * - layer_separable_conv_1d / 2d: a depthwise convolution, then a pointwise (1 x 1) one.
 * Every family computes in channels_last order (ops/convolution.ts) and moves channels_first data there
 * and back. Keras refuses strides > 1 together with dilation_rate > 1 except in depthwise convolutions.
 */
import * as t from "io-ts";
import { Bool, IntTuple, NonNegativeInt, Nullable, OneOf, PositiveInt, type ConfigOf } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import { formatShape } from "../../model/shape.js";
import type { Shape, WeightSpec } from "../../model/types.js";
import type { InitializerSpec } from "../../ops/initializers.js";
import type { RegularizerSpec } from "../../ops/regularizers.js";
import type { ConstraintSpec } from "../../ops/constraints.js";
import { initializerSpec } from "../../ops/initializers.js";
import {
  ActivationArg,
  ConstraintArg,
  InitializerArg,
  KERNEL_LAYER_DEFAULTS,
  KERNEL_LAYER_PROPS,
  RegularizerArg,
  activityLoss,
  kernelWeights,
} from "../common.js";
import { tf, type Tensor } from "../../backend/tf.js";
import {
  convChannelsLast,
  convTransposeChannelsLast,
  depthwiseConvChannelsLast,
  fromChannelsLast,
  toChannelsLast,
  transposeOutputLength,
} from "../../ops/convolution.js";
import { DataFormatArg, knownDim, spatialLayout, windowOutputLength, withSpatial, type DataFormat } from "./axes.js";

type Rank = 1 | 2 | 3;
const ones = (rank: number) => Array<number>(rank).fill(1);

/** The window arguments every convolution has, for `rank` spatial axes and the paddings it allows. */
const windowProps = <P extends string>(rank: Rank, padding: t.Type<P, P, unknown>) => ({
  /** The size of the convolution window (an integer, or one per spatial axis). */
  kernel_size: IntTuple(rank),
  /** The strides of the convolution (an integer, or one per spatial axis). */
  strides: IntTuple(rank),
  /** "valid" (no padding) or "same" (output as long as the input / strides); Conv1D also "causal". */
  padding,
  /** "channels_last" (batch, ...spatial, channels) or "channels_first" (batch, channels, ...spatial). */
  data_format: DataFormatArg,
  /** The dilation rate of a dilated (atrous) convolution (an integer, or one per spatial axis). */
  dilation_rate: IntTuple(rank),
});
const windowDefaults = (rank: Rank) =>
  ({
    strides: ones(rank),
    padding: "valid",
    data_format: "channels_last",
    dilation_rate: ones(rank),
  }) as const;
type WindowConfig = {
  kernel_size: number[];
  strides: number[];
  padding: "valid" | "same" | "causal";
  data_format: DataFormat;
  dilation_rate: number[];
};

const ValidOrSame = OneOf("valid", "same");

/** Keras's check: strides > 1 cannot be combined with dilation_rate > 1. */
function refuseStridedDilation(fn: string, c: WindowConfig): void {
  if (Math.max(...c.strides) > 1 && Math.max(...c.dilation_rate) > 1)
    throw new KerasError(
      fn,
      `\`strides\` > 1 cannot be combined with \`dilation_rate\` > 1, got strides [${c.strides.join(", ")}] and dilation_rate [${c.dilation_rate.join(", ")}]`,
    );
}

/**
 * The output shape of a convolution of `rank` spatial axes: each spatial length from `length`, the
 * channels from `channelsOut` (of the input's channels, which must be known).
 */
function convOutputShape(
  fn: string,
  rank: Rank,
  c: WindowConfig,
  input: Shape,
  length: (n: number | null, axis: number) => number | null,
  channelsOut: (channels: number) => number,
): Shape {
  const layout = spatialLayout(fn, input, rank, c.data_format);
  const channels = knownDim(fn, input, layout.channel, "the channel axis");
  const lengths = layout.spatial.map((a, i) => length(input[a], i));
  if (lengths.some((n) => n !== null && n <= 0))
    throw new KerasError(
      fn,
      `the input is too ${rank === 1 ? "short" : "small"} for kernel_size [${c.kernel_size.join(", ")}] (dilation_rate [${c.dilation_rate.join(", ")}]) with padding "${c.padding}": input shape ${formatShape(input)}`,
      "shape",
    );
  return withSpatial(input, layout, lengths, channelsOut(channels));
}

/** The input's channel count (known: convOutputShape checked it). */
const channelsOf = (c: WindowConfig, rank: Rank, input: Shape) =>
  input[c.data_format === "channels_last" ? rank + 1 : 1] as number;

const weight = (
  name: string,
  shape: number[],
  initializer: InitializerSpec,
  regularizer: RegularizerSpec | null,
  constraint: ConstraintSpec | null,
): WeightSpec => ({ name, shape, initializer, trainable: true, regularizer, constraint });

type BiasConfig = {
  use_bias: boolean;
  bias_initializer: InitializerSpec;
  bias_regularizer: RegularizerSpec | null;
  bias_constraint: ConstraintSpec | null;
};
const biasWeights = (c: BiasConfig, size: number): WeightSpec[] =>
  c.use_bias ? [weight("bias", [size], c.bias_initializer, c.bias_regularizer, c.bias_constraint)] : [];

/** The shared end of every convolution: bias, activation, the data format restored, the activity loss. */
function finish(
  c: BiasConfig & {
    data_format: DataFormat;
    activation: { fn: (x: Tensor) => Tensor };
    activity_regularizer: RegularizerSpec | null;
  },
  y: Tensor,
  bias: Tensor | undefined,
  batch: number,
) {
  const biased = c.use_bias ? tf.add(y, bias!) : y;
  const out = fromChannelsLast(c.activation.fn(biased), c.data_format === "channels_first");
  return { outputs: [out], losses: activityLoss(c.activity_regularizer, out, batch) };
}

// ---------------------------------------------------------------------------------------------
// Convolution

const convProps = <P extends string>(rank: Rank, padding: t.Type<P, P, unknown>) => ({
  /** The number of output channels (filters in the convolution). */
  filters: PositiveInt,
  ...windowProps(rank, padding),
  /** The number of groups the input channels are split into, each convolved with filters / groups filters. */
  groups: PositiveInt,
  ...KERNEL_LAYER_PROPS,
});

function convolution<P extends "valid" | "same" | "causal">(rank: Rank, padding: t.Type<P, P, unknown>) {
  const fn = `layer_conv_${rank}d`;
  return defineLayer({
    className: `Conv${rank}D`,
    fn,
    props: convProps(rank, padding),
    defaults: { ...windowDefaults(rank), groups: 1, ...KERNEL_LAYER_DEFAULTS } as Partial<
      ConfigOf<ReturnType<typeof convProps<P>>>
    >,
    required: ["filters", "kernel_size"],
    validate: (c) => {
      refuseStridedDilation(fn, c);
      if (c.filters % c.groups !== 0)
        throw new KerasError(fn, `\`filters\` (${c.filters}) must be divisible by \`groups\` (${c.groups})`);
      return c;
    },
    mask: "drop",
    outputShape: (c, [input]) => {
      const out = convOutputShape(
        fn,
        rank,
        c,
        input,
        (n, i) => windowOutputLength(n, c.kernel_size[i], c.strides[i], c.padding, c.dilation_rate[i]),
        () => c.filters,
      );
      const channels = channelsOf(c, rank, input);
      if (channels % c.groups !== 0)
        throw new KerasError(
          fn,
          `the input channels (${channels}) must be divisible by \`groups\` (${c.groups}), input shape ${formatShape(input)}`,
          "shape",
        );
      return [out];
    },
    weights: (c, [input]) =>
      kernelWeights(c, [...c.kernel_size, channelsOf(c, rank, input) / c.groups, c.filters], [c.filters]),
    forward: (c, { inputs: [x0], weights: [kernel, bias] }) => {
      let x = toChannelsLast(x0, c.data_format === "channels_first");
      if (c.padding === "causal")
        x = tf.pad(x, [
          [0, 0],
          [c.dilation_rate[0] * (c.kernel_size[0] - 1), 0],
          [0, 0],
        ]);
      const pad = c.padding === "same" ? "same" : "valid";
      const conv = (xi: Tensor, ki: Tensor) => convChannelsLast(xi, ki, c.strides, pad, c.dilation_rate);
      if (c.groups === 1) return finish(c, conv(x, kernel), bias, x0.shape[0]);
      // each slice of the input channels convolved with its slice of the filters
      const kernels = tf.split(kernel, c.groups, rank + 1);
      const y = tf.concat(
        tf.split(x, c.groups, rank + 1).map((xi, g) => conv(xi, kernels[g])),
        rank + 1,
      );
      return finish(c, y, bias, x0.shape[0]);
    },
  });
}

/**
 * `layer_conv_1d(object, filters, kernel_size, strides = 1, padding = "valid", ...)`: 1-D convolution over time.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [20, 3] }), layer_conv_1d({ filters: 8, kernel_size: 3, activation: "relu" }));
 */
export const layer_conv_1d = convolution(1, OneOf("valid", "same", "causal"));
/**
 * `layer_conv_2d(object, filters, kernel_size, strides = c(1, 1), padding = "valid", data_format = NULL,
 * dilation_rate = c(1, 1), groups = 1, activation = NULL, use_bias = TRUE, ...)`: 2-D convolution over images.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [28, 28, 1] }), layer_conv_2d({ filters: 8, kernel_size: 3, activation: "relu" }));
 */
export const layer_conv_2d = convolution(2, ValidOrSame);
/**
 * `layer_conv_3d(object, filters, kernel_size, strides = c(1, 1, 1), padding = "valid", ...)`: 3-D
 * convolution over volumes (or video: frames, rows, cols).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [8, 16, 16, 1] }), layer_conv_3d({ filters: 4, kernel_size: 3 }));
 */
export const layer_conv_3d = convolution(3, ValidOrSame);

// ---------------------------------------------------------------------------------------------
// Transposed convolution

const convTransposeProps = (rank: Rank) => ({
  /** The number of output channels (filters in the convolution). */
  filters: PositiveInt,
  ...windowProps(rank, ValidOrSame),
  /** Extra length added to one side of each output axis, less than the stride (NULL: inferred). */
  output_padding: Nullable(IntTuple(rank, "a non-negative integer", NonNegativeInt)),
  ...KERNEL_LAYER_PROPS,
});

function convolutionTranspose(rank: Rank) {
  const fn = `layer_conv_${rank}d_transpose`;
  return defineLayer({
    className: `Conv${rank}DTranspose`,
    fn,
    props: convTransposeProps(rank),
    defaults: { ...windowDefaults(rank), output_padding: null, ...KERNEL_LAYER_DEFAULTS } as Partial<
      ConfigOf<ReturnType<typeof convTransposeProps>>
    >,
    required: ["filters", "kernel_size"],
    validate: (c) => {
      refuseStridedDilation(fn, c);
      c.output_padding?.forEach((p, i) => {
        if (p >= c.strides[i])
          throw new KerasError(
            fn,
            `\`output_padding\` must be less than \`strides\` on every axis, got output_padding [${c.output_padding!.join(", ")}] and strides [${c.strides.join(", ")}]`,
          );
      });
      return c;
    },
    mask: "drop",
    outputShape: (c, [input]) => [
      convOutputShape(
        fn,
        rank,
        c,
        input,
        (n, i) =>
          transposeOutputLength(
            n,
            c.kernel_size[i],
            c.strides[i],
            c.padding,
            c.output_padding?.[i] ?? null,
            c.dilation_rate[i],
          ),
        () => c.filters,
      ),
    ],
    weights: (c, [input]) => kernelWeights(c, [...c.kernel_size, c.filters, channelsOf(c, rank, input)], [c.filters]),
    forward: (c, { inputs: [x0], weights: [kernel, bias] }) => {
      const x = toChannelsLast(x0, c.data_format === "channels_first");
      const y = convTransposeChannelsLast(x, kernel, c.strides, c.padding, c.output_padding, c.dilation_rate);
      return finish(c, y, bias, x0.shape[0]);
    },
  });
}

/**
 * `layer_conv_1d_transpose(object, filters, kernel_size, strides = 1, padding = "valid", output_padding = NULL, ...)`:
 * the transposed 1-D convolution (upsampling sequences by `strides`).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 3] }), layer_conv_1d_transpose({ filters: 2, kernel_size: 3, strides: 2 }));
 */
export const layer_conv_1d_transpose = convolutionTranspose(1);
/**
 * `layer_conv_2d_transpose(object, filters, kernel_size, strides = c(1, 1), padding = "valid", output_padding = NULL, ...)`:
 * the transposed 2-D convolution ("deconvolution").
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [7, 7, 8] }), layer_conv_2d_transpose({ filters: 4, kernel_size: 3, strides: 2, padding: "same" }));
 */
export const layer_conv_2d_transpose = convolutionTranspose(2);
/**
 * `layer_conv_3d_transpose(object, filters, kernel_size, strides = c(1, 1, 1), padding = "valid", output_padding = NULL, ...)`:
 * the transposed 3-D convolution.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4, 4, 4, 2] }), layer_conv_3d_transpose({ filters: 1, kernel_size: 2, strides: 2 }));
 */
export const layer_conv_3d_transpose = convolutionTranspose(3);

// ---------------------------------------------------------------------------------------------
// Depthwise and separable convolution

const DEPTHWISE_PROPS = {
  /** The number of output channels per input channel. */
  depth_multiplier: PositiveInt,
  /** The activation applied to the output (default NULL: linear). */
  activation: ActivationArg,
  /** Whether the layer adds a bias vector. */
  use_bias: Bool,
  /** Initializer of the depthwise kernel. */
  depthwise_initializer: InitializerArg,
  /** Initializer of the bias vector. */
  bias_initializer: InitializerArg,
  /** Regularizer applied to the depthwise kernel. */
  depthwise_regularizer: RegularizerArg,
  /** Regularizer applied to the bias vector. */
  bias_regularizer: RegularizerArg,
  /** Regularizer applied to the output of the layer (its "activation"). */
  activity_regularizer: RegularizerArg,
  /** Constraint applied to the depthwise kernel after each update. */
  depthwise_constraint: ConstraintArg,
  /** Constraint applied to the bias vector after each update. */
  bias_constraint: ConstraintArg,
};
const DEPTHWISE_DEFAULTS = {
  depth_multiplier: 1,
  activation: KERNEL_LAYER_DEFAULTS.activation,
  use_bias: true,
  depthwise_initializer: initializerSpec("glorot_uniform"),
  bias_initializer: initializerSpec("zeros"),
  depthwise_regularizer: null,
  bias_regularizer: null,
  activity_regularizer: null,
  depthwise_constraint: null,
  bias_constraint: null,
};

const depthwiseProps = (rank: Rank) => ({ ...windowProps(rank, ValidOrSame), ...DEPTHWISE_PROPS });

/** The spatial output length of a depthwise (or separable) convolution along axis `i`. */
const depthwiseLength = (c: WindowConfig) => (n: number | null, i: number) =>
  windowOutputLength(n, c.kernel_size[i], c.strides[i], c.padding, c.dilation_rate[i]);

function depthwiseConvolution(rank: 1 | 2) {
  const fn = `layer_depthwise_conv_${rank}d`;
  return defineLayer({
    className: `DepthwiseConv${rank}D`,
    fn,
    props: depthwiseProps(rank),
    defaults: { ...windowDefaults(rank), ...DEPTHWISE_DEFAULTS } as Partial<
      ConfigOf<ReturnType<typeof depthwiseProps>>
    >,
    required: ["kernel_size"],
    mask: "drop",
    outputShape: (c, [input]) => [
      convOutputShape(fn, rank, c, input, depthwiseLength(c), (channels) => channels * c.depth_multiplier),
    ],
    weights: (c, [input]) => [
      weight(
        "kernel",
        [...c.kernel_size, channelsOf(c, rank, input), c.depth_multiplier],
        c.depthwise_initializer,
        c.depthwise_regularizer,
        c.depthwise_constraint,
      ),
      ...biasWeights(c, channelsOf(c, rank, input) * c.depth_multiplier),
    ],
    forward: (c, { inputs: [x0], weights: [kernel, bias] }) => {
      const x = toChannelsLast(x0, c.data_format === "channels_first");
      const y = depthwiseConvChannelsLast(x, kernel, c.strides, c.padding, c.dilation_rate);
      return finish(c, y, bias, x0.shape[0]);
    },
  });
}

/**
 * `layer_depthwise_conv_1d(object, kernel_size, strides = 1, padding = "valid", depth_multiplier = 1, ...)`:
 * each input channel convolved with its own `depth_multiplier` filters over time.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [20, 3] }), layer_depthwise_conv_1d({ kernel_size: 3, depth_multiplier: 2 }));
 */
export const layer_depthwise_conv_1d = depthwiseConvolution(1);
/**
 * `layer_depthwise_conv_2d(object, kernel_size, strides = c(1, 1), padding = "valid", depth_multiplier = 1, ...)`:
 * each input channel convolved with its own `depth_multiplier` filters.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [16, 16, 3] }), layer_depthwise_conv_2d({ kernel_size: 3 }));
 */
export const layer_depthwise_conv_2d = depthwiseConvolution(2);

const separableProps = (rank: Rank) => ({
  /** The number of output channels (filters of the pointwise convolution). */
  filters: PositiveInt,
  ...depthwiseProps(rank),
  /** Initializer of the pointwise (1 x 1) kernel. */
  pointwise_initializer: InitializerArg,
  /** Regularizer applied to the pointwise kernel. */
  pointwise_regularizer: RegularizerArg,
  /** Constraint applied to the pointwise kernel after each update. */
  pointwise_constraint: ConstraintArg,
});

function separableConvolution(rank: 1 | 2) {
  const fn = `layer_separable_conv_${rank}d`;
  return defineLayer({
    className: `SeparableConv${rank}D`,
    fn,
    props: separableProps(rank),
    defaults: {
      ...windowDefaults(rank),
      ...DEPTHWISE_DEFAULTS,
      pointwise_initializer: initializerSpec("glorot_uniform"),
      pointwise_regularizer: null,
      pointwise_constraint: null,
    } as Partial<ConfigOf<ReturnType<typeof separableProps>>>,
    required: ["filters", "kernel_size"],
    mask: "drop",
    outputShape: (c, [input]) => [convOutputShape(fn, rank, c, input, depthwiseLength(c), () => c.filters)],
    weights: (c, [input]) => {
      const channels = channelsOf(c, rank, input);
      return [
        weight(
          "depthwise_kernel",
          [...c.kernel_size, channels, c.depth_multiplier],
          c.depthwise_initializer,
          c.depthwise_regularizer,
          c.depthwise_constraint,
        ),
        weight(
          "pointwise_kernel",
          [...ones(rank), channels * c.depth_multiplier, c.filters],
          c.pointwise_initializer,
          c.pointwise_regularizer,
          c.pointwise_constraint,
        ),
        ...biasWeights(c, c.filters),
      ];
    },
    forward: (c, { inputs: [x0], weights: [depthwise, pointwise, bias] }) => {
      const x = toChannelsLast(x0, c.data_format === "channels_first");
      const d = depthwiseConvChannelsLast(x, depthwise, c.strides, c.padding, c.dilation_rate);
      const y = convChannelsLast(d, pointwise, ones(rank), "valid", ones(rank));
      return finish(c, y, bias, x0.shape[0]);
    },
  });
}

/**
 * `layer_separable_conv_1d(object, filters, kernel_size, strides = 1, padding = "valid", ..., depth_multiplier = 1, ...)`:
 * a depthwise convolution over time, then a pointwise one mixing the channels.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [20, 3] }), layer_separable_conv_1d({ filters: 4, kernel_size: 3 }));
 */
export const layer_separable_conv_1d = separableConvolution(1);
/**
 * `layer_separable_conv_2d(object, filters, kernel_size, strides = c(1, 1), padding = "valid", ..., depth_multiplier = 1, ...)`:
 * a depthwise convolution, then a pointwise (1 x 1) one mixing the channels.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [16, 16, 3] }), layer_separable_conv_2d({ filters: 8, kernel_size: 3 }));
 */
export const layer_separable_conv_2d = separableConvolution(2);
