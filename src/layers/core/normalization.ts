/**
 * layer_batch_normalization, layer_layer_normalization and layer_group_normalization:
 * `y = gamma * (x - mean) / sqrt(var + epsilon) + beta`, with batch statistics (per feature, over the
 * batch and other axes), per-sample statistics (over `axis`) or per-sample, per-group statistics; and
 * the per-sample rescalings layer_unit_normalization (unit L2 norm) and layer_rms_normalization.
 */
import * as t from "io-ts";
import { Bool, NonNegativeNum, Num, PositiveInt, described, type ConfigOf } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import { formatShape } from "../../model/shape.js";
import type { Shape, WeightSpec } from "../../model/types.js";
import { initializerSpec } from "../../ops/initializers.js";
import { ConstraintArg, InitializerArg, RegularizerArg } from "../common.js";
import { tf, type Tensor } from "../../backend/tf.js";
import { AxisArg, knownDim, resolveAxis } from "./axes.js";

/** Arguments and weights both normalisation layers share (gamma = scale, beta = center). */
const AFFINE_PROPS = {
  /** Small float added to the variance to avoid dividing by zero. */
  epsilon: NonNegativeNum,
  /** Add the learned offset `beta`. */
  center: Bool,
  /** Multiply by the learned scale `gamma`. */
  scale: Bool,
  /** Initializer of `beta`. */
  beta_initializer: InitializerArg,
  /** Initializer of `gamma`. */
  gamma_initializer: InitializerArg,
  /** Regularizer of `beta`. */
  beta_regularizer: RegularizerArg,
  /** Regularizer of `gamma`. */
  gamma_regularizer: RegularizerArg,
  /** Constraint of `beta`. */
  beta_constraint: ConstraintArg,
  /** Constraint of `gamma`. */
  gamma_constraint: ConstraintArg,
};
type AffineConfig = ConfigOf<typeof AFFINE_PROPS>;

const AFFINE_DEFAULTS: Partial<AffineConfig> = {
  epsilon: 1e-3,
  center: true,
  scale: true,
  beta_initializer: initializerSpec("zeros"),
  gamma_initializer: initializerSpec("ones"),
  beta_regularizer: null,
  gamma_regularizer: null,
  beta_constraint: null,
  gamma_constraint: null,
};

/** Keras order: gamma (if scale), then beta (if center). */
function affineWeights(c: AffineConfig, shape: number[]): WeightSpec[] {
  return [
    ...(c.scale
      ? [
          {
            name: "gamma",
            shape,
            initializer: c.gamma_initializer,
            trainable: true,
            regularizer: c.gamma_regularizer,
            constraint: c.gamma_constraint,
          },
        ]
      : []),
    ...(c.center
      ? [
          {
            name: "beta",
            shape,
            initializer: c.beta_initializer,
            trainable: true,
            regularizer: c.beta_regularizer,
            constraint: c.beta_constraint,
          },
        ]
      : []),
  ];
}

/** (x - mean) / sqrt(var + eps) * gamma + beta, with every statistic already shaped to broadcast. */
function normalize(
  c: AffineConfig,
  x: Tensor,
  mean: Tensor,
  variance: Tensor,
  gamma: Tensor | undefined,
  beta: Tensor | undefined,
  paramShape: number[],
): Tensor {
  let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, c.epsilon)));
  if (gamma) y = tf.mul(y, tf.reshape(gamma, paramShape));
  if (beta) y = tf.add(y, tf.reshape(beta, paramShape));
  return y;
}

const BATCH_NORMALIZATION_PROPS = {
  /** The features axis (normalised per feature); -1: the last. */
  axis: AxisArg,
  /** Momentum of the moving mean and variance. */
  momentum: Num,
  /** Initializer of the moving mean. */
  moving_mean_initializer: InitializerArg,
  /** Initializer of the moving variance. */
  moving_variance_initializer: InitializerArg,
  ...AFFINE_PROPS,
};
export type BatchNormalizationConfig = ConfigOf<typeof BATCH_NORMALIZATION_PROPS>;

/** Keras's backend epsilon, used in the masked moments. */
const BACKEND_EPSILON = 1e-7;

/**
 * `layer_batch_normalization(object, axis = -1, momentum = 0.99, epsilon = 0.001, ...)`: normalises each
 * feature with the batch statistics while training and with their moving averages otherwise.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [8] }), layer_dense({ units: 16 }), layer_batch_normalization());
 */
export const layer_batch_normalization = defineLayer({
  className: "BatchNormalization",
  fn: "layer_batch_normalization",
  props: BATCH_NORMALIZATION_PROPS,
  defaults: {
    axis: -1,
    momentum: 0.99,
    moving_mean_initializer: initializerSpec("zeros"),
    moving_variance_initializer: initializerSpec("ones"),
    ...AFFINE_DEFAULTS,
  },
  outputShape: (c, [input]) => {
    knownDim(
      "layer_batch_normalization",
      input,
      resolveAxis("layer_batch_normalization", c.axis, input),
      "the normalised axis",
    );
    return [input];
  },
  weights: (c, [input]) => {
    const dim = input[resolveAxis("layer_batch_normalization", c.axis, input)] as number;
    return [
      ...affineWeights(c, [dim]),
      { name: "moving_mean", shape: [dim], initializer: c.moving_mean_initializer, trainable: false },
      { name: "moving_variance", shape: [dim], initializer: c.moving_variance_initializer, trainable: false },
    ];
  },
  // Keras >= 2.1 (and Keras 3): a frozen layer (trainable = FALSE) runs in inference mode even in
  // training — the moving statistics normalise and are not updated (the fine-tuning convention).
  forward: (c, { inputs: [x], weights, masks: [mask], training, trainable }) => {
    const axis = c.axis < 0 ? x.rank + c.axis : c.axis;
    const paramShape = x.shape.map((d, i) => (i === axis ? d : 1));
    let k = 0;
    const gamma = c.scale ? weights[k++] : undefined;
    const beta = c.center ? weights[k++] : undefined;
    const [movingMeanIndex, movingVarIndex] = [k, k + 1];
    if (!training || trainable === false) {
      const y = normalize(
        c,
        x,
        tf.reshape(weights[movingMeanIndex], paramShape),
        tf.reshape(weights[movingVarIndex], paramShape),
        gamma,
        beta,
        paramShape,
      );
      return { outputs: [y] };
    }
    const reduce = x.shape.map((_, i) => i).filter((i) => i !== axis);
    const { mean, variance } =
      mask && axis === x.rank - 1 && mask.rank === x.rank - 1
        ? maskedMoments(x, mask, reduce)
        : tf.moments(x, reduce, true);
    const y = normalize(c, x, mean, variance, gamma, beta, paramShape);
    // Keras 3: moving = moving * momentum + batch * (1 - momentum), with the biased batch variance.
    const update = (moving: Tensor, batch: Tensor) =>
      tf.add(tf.mul(moving, c.momentum), tf.mul(tf.reshape(batch, moving.shape), 1 - c.momentum));
    return {
      outputs: [y],
      weightUpdates: [
        { index: movingMeanIndex, value: update(weights[movingMeanIndex], mean) },
        { index: movingVarIndex, value: update(weights[movingVarIndex], variance) },
      ],
    };
  },
});

/** Keras 3 BatchNormalization._moments with a (batch, steps) mask: masked steps carry no weight. */
function maskedMoments(x: Tensor, mask: Tensor, reduce: number[]): { mean: Tensor; variance: Tensor } {
  const w = tf.expandDims(tf.cast(mask, x.dtype), -1);
  const weighted = tf.mul(w, x);
  const weightSum = tf.add(tf.sum(w, reduce, true), BACKEND_EPSILON);
  const mean = tf.div(tf.sum(weighted, reduce, true), weightSum);
  const variance = tf.div(tf.sum(tf.mul(w, tf.square(tf.sub(weighted, mean))), reduce, true), weightSum);
  return { mean, variance };
}

const AxisOrAxes = described(t.union([AxisArg, t.array(AxisArg)]), "an integer axis or a vector of them");

const LAYER_NORMALIZATION_PROPS = {
  /** Axis or axes normalised over (per sample); -1: the last. */
  axis: AxisOrAxes,
  ...AFFINE_PROPS,
};
export type LayerNormalizationConfig = ConfigOf<typeof LAYER_NORMALIZATION_PROPS>;

function layerNormAxes(c: LayerNormalizationConfig, input: Shape): number[] {
  const axes = (typeof c.axis === "number" ? [c.axis] : c.axis).map((a) =>
    resolveAxis("layer_layer_normalization", a, input),
  );
  if (new Set(axes).size !== axes.length)
    throw new KerasError("layer_layer_normalization", `\`axis\` repeats an axis: [${axes.join(", ")}]`);
  return axes.sort((a, b) => a - b);
}

/**
 * `layer_layer_normalization(object, axis = -1, epsilon = 0.001, ...)`: normalises each sample over `axis`.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 8] }), layer_layer_normalization());
 */
export const layer_layer_normalization = defineLayer({
  className: "LayerNormalization",
  fn: "layer_layer_normalization",
  props: LAYER_NORMALIZATION_PROPS,
  defaults: { axis: -1, ...AFFINE_DEFAULTS },
  outputShape: (c, [input]) => {
    for (const a of layerNormAxes(c, input))
      knownDim("layer_layer_normalization", input, a, `axis ${a} of ${formatShape(input)}`);
    return [input];
  },
  weights: (c, [input]) =>
    affineWeights(
      c,
      layerNormAxes(c, input).map((a) => input[a] as number),
    ),
  forward: (c, { inputs: [x], weights }) => {
    const axes = layerNormAxes(c, x.shape);
    const paramShape = x.shape.map((d, i) => (axes.includes(i) ? d : 1));
    const { mean, variance } = tf.moments(x, axes, true);
    const gamma = c.scale ? weights[0] : undefined;
    const beta = c.center ? weights[c.scale ? 1 : 0] : undefined;
    return { outputs: [normalize(c, x, mean, variance, gamma, beta, paramShape)] };
  },
});

const GROUP_NORMALIZATION_PROPS = {
  /** The number of channel groups (-1: one per channel, instance normalisation). */
  groups: described(t.union([PositiveInt, t.literal(-1)]), "a positive integer or -1"),
  /** The channels axis; -1: the last. */
  axis: AxisArg,
  ...AFFINE_PROPS,
};
type GroupNormalizationConfig = ConfigOf<typeof GROUP_NORMALIZATION_PROPS>;

/** The channels axis and the number of groups of a group normalisation over `input`. */
function channelGroups(c: GroupNormalizationConfig, input: Shape): { axis: number; channels: number; groups: number } {
  const fn = "layer_group_normalization";
  const axis = resolveAxis(fn, c.axis, input);
  const channels = knownDim(fn, input, axis, `the channels axis ${c.axis}`);
  const groups = c.groups === -1 ? channels : c.groups;
  if (channels % groups !== 0)
    throw new KerasError(
      fn,
      `\`groups\` = ${groups} must divide the ${channels} channels of ${formatShape(input)}`,
      "shape",
    );
  return { axis, channels, groups };
}

/**
 * `layer_group_normalization(object, groups = 32, axis = -1, epsilon = 0.001, center = TRUE, scale = TRUE, ...)`:
 * normalises each sample's channels in groups (statistics over the group's channels and every
 * non-batch axis), then scales and shifts per channel.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 8] }), layer_group_normalization({ groups: 4 }));
 */
export const layer_group_normalization = defineLayer({
  className: "GroupNormalization",
  fn: "layer_group_normalization",
  props: GROUP_NORMALIZATION_PROPS,
  defaults: { groups: 32, axis: -1, ...AFFINE_DEFAULTS },
  outputShape: (c, [input]) => {
    channelGroups(c, input);
    return [input];
  },
  weights: (c, [input]) => affineWeights(c, [channelGroups(c, input).channels]),
  forward: (c, { inputs: [x], weights }) => {
    const { axis, channels, groups } = channelGroups(c, x.shape);
    const grouped = [...x.shape.slice(0, axis), groups, channels / groups, ...x.shape.slice(axis + 1)];
    const reduce = grouped.map((_, i) => i).filter((i) => i !== 0 && i !== axis);
    const xg = tf.reshape(x, grouped);
    const { mean, variance } = tf.moments(xg, reduce, true);
    const normalized = tf.reshape(tf.mul(tf.sub(xg, mean), tf.rsqrt(tf.add(variance, c.epsilon))), x.shape);
    const paramShape = x.shape.map((d, i) => (i === axis ? d : 1));
    const gamma = c.scale ? weights[0] : undefined;
    const beta = c.center ? weights[c.scale ? 1 : 0] : undefined;
    let y = normalized;
    if (gamma) y = tf.mul(y, tf.reshape(gamma, paramShape));
    if (beta) y = tf.add(y, tf.reshape(beta, paramShape));
    return { outputs: [y] };
  },
});

/** The sorted, distinct axes of `axis` (one or several) on `input`. */
function normalizedAxes(fn: string, axis: number | number[], input: Shape): number[] {
  const axes = (typeof axis === "number" ? [axis] : axis).map((a) => resolveAxis(fn, a, input));
  if (new Set(axes).size !== axes.length) throw new KerasError(fn, `\`axis\` repeats an axis: [${axes.join(", ")}]`);
  return axes.sort((a, b) => a - b);
}

/**
 * `layer_unit_normalization(object, axis = -1)`: scales each sample to unit L2 norm over `axis`
 * (`x * min(1 / ||x||, 1e12)`, as Keras).
 *
 * @example
 * const y = layer_unit_normalization([[3, 4]]); // [[0.6, 0.8]]
 */
export const layer_unit_normalization = defineLayer({
  className: "UnitNormalization",
  fn: "layer_unit_normalization",
  props: {
    /** Axis or axes normalised over; -1: the last. */
    axis: AxisOrAxes,
  },
  defaults: { axis: -1 },
  outputShape: (c, [input]) => {
    normalizedAxes("layer_unit_normalization", c.axis, input);
    return [input];
  },
  forward: (c, { inputs: [x] }) => {
    const axes = normalizedAxes("layer_unit_normalization", c.axis, x.shape);
    const inverseNorm = tf.minimum(tf.rsqrt(tf.sum(tf.square(x), axes, true)), 1e12);
    return { outputs: [tf.mul(x, inverseNorm)] };
  },
});

/**
 * `layer_rms_normalization(object, axis = -1, epsilon = 1e-6)`: divides each sample by its root mean
 * square over `axis` and multiplies by a learned `scale` (one per element of those axes).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 8] }), layer_rms_normalization());
 */
export const layer_rms_normalization = defineLayer({
  className: "RMSNormalization",
  fn: "layer_rms_normalization",
  props: {
    /** Axis or axes normalised over; -1: the last. */
    axis: AxisOrAxes,
    /** Small float added to the mean square. */
    epsilon: NonNegativeNum,
  },
  defaults: { axis: -1, epsilon: 1e-6 },
  outputShape: (c, [input]) => {
    for (const a of normalizedAxes("layer_rms_normalization", c.axis, input))
      knownDim("layer_rms_normalization", input, a, `axis ${a} of ${formatShape(input)}`);
    return [input];
  },
  weights: (c, [input]) => [
    {
      name: "scale",
      shape: normalizedAxes("layer_rms_normalization", c.axis, input).map((a) => input[a] as number),
      initializer: initializerSpec("ones"),
      trainable: true,
    },
  ],
  forward: (c, { inputs: [x], weights: [scale] }) => {
    const axes = normalizedAxes("layer_rms_normalization", c.axis, x.shape);
    const rrms = tf.rsqrt(tf.add(tf.mean(tf.square(x), axes, true), c.epsilon));
    const paramShape = x.shape.map((d, i) => (axes.includes(i) ? d : 1));
    return { outputs: [tf.mul(tf.mul(x, rrms), tf.reshape(scale, paramShape))] };
  },
});
