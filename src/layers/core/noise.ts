/**
 * Regularisation layers that act only while training: layer_dropout (inverted dropout),
 * layer_spatial_dropout_1d / 2d / 3d (whole channels), layer_gaussian_noise, layer_gaussian_dropout
 * (multiplicative noise) and layer_alpha_dropout (for SELU networks). At inference they pass
 * their input through unchanged; all pass the input mask on.
 */
import { Nullable, NonNegativeInt, NonNegativeNum, Rate, ShapeArg } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import { formatShape, expectRank } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { tf, type Tensor } from "../../backend/tf.js";
import { drawSeed } from "../../ops/random.js";
import { DataFormatArg, spatialLayout } from "./axes.js";

/** The seed of the layer's random draws (NULL: the global stream of set_random_seed()). */
export const Seed = Nullable(NonNegativeInt);

/**
 * A seeded layer draws a different mask on every call, in a sequence fixed by its seed (as Keras's
 * seed generators and TF's stateful random ops do). The position in that sequence belongs to the
 * layer's config object, i.e. to one layer value. An unseeded layer draws from the global stream
 * (set_random_seed).
 */
const drawsSoFar = new WeakMap<object, number>();
export function nextSeed(config: { seed: number | null }): number {
  if (config.seed === null) return drawSeed();
  const n = drawsSoFar.get(config) ?? 0;
  drawsSoFar.set(config, n + 1);
  return config.seed + n * 7919;
}

/** A `noise_shape` has the input's rank and each dim 1, null or the input's. */
function checkNoiseShape(fn: string, noiseShape: Shape | null, input: Shape): void {
  const ns = noiseShape;
  if (
    ns &&
    (ns.length !== input.length || ns.some((d, i) => d !== null && d !== 1 && input[i] !== null && d !== input[i]))
  ) {
    throw new KerasError(
      fn,
      `\`noise_shape\` ${formatShape(ns)} must have the input's rank and each dim equal to 1, null or the input's dim; the input has shape ${formatShape(input)}`,
      "shape",
    );
  }
}

/** What layer_dropout and layer_alpha_dropout share: `rate`, `noise_shape` and `seed`, and the shape check. */
function maskedDropout(fn: string) {
  return {
    props: {
      /** The fraction of the input units to drop, in [0, 1). */
      rate: Rate,
      /** The shape of the binary dropout mask (1 where the mask is shared along an axis), batch axis included. */
      noise_shape: Nullable(ShapeArg),
      /** The seed of the random draws (NULL: the global stream of set_random_seed()). */
      seed: Seed,
    },
    defaults: { noise_shape: null, seed: null },
    required: ["rate" as const],
    outputShape: (c: { noise_shape: Shape | null }, [input]: readonly Shape[]) => {
      checkNoiseShape(fn, c.noise_shape, input);
      return [input];
    },
  };
}

/** The concrete noise shape: `noise_shape`'s null dims are the input's. */
const noiseShapeOf = (noiseShape: Shape | null, x: Tensor): number[] =>
  noiseShape ? noiseShape.map((d, i) => d ?? x.shape[i]) : x.shape;

/** x * keep / (1 - rate), keep ~ Bernoulli(1 - rate) drawn with `noiseShape` (broadcast over x). */
export function invertedDropout(
  x: Tensor,
  rate: number,
  noiseShape: readonly number[],
  seed: number | undefined,
): Tensor {
  const keep = tf.cast(tf.greaterEqual(tf.randomUniform([...noiseShape], 0, 1, "float32", seed), rate), "float32");
  return tf.mul(x, tf.div(keep, 1 - rate));
}

/**
 * `layer_dropout(object, rate, noise_shape = NULL, seed = NULL)`: sets a fraction `rate` of the inputs to
 * 0 while training (and scales the others by 1 / (1 - rate)).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [8] }), layer_dense({ units: 16 }), layer_dropout({ rate: 0.5 }));
 */
export const layer_dropout = defineLayer({
  className: "Dropout",
  fn: "layer_dropout",
  ...maskedDropout("layer_dropout"),
  forward: (c, { inputs: [x], training }) => {
    if (!training || c.rate === 0) return { outputs: [x] };
    const noiseShape = noiseShapeOf(c.noise_shape, x);
    return { outputs: [invertedDropout(x, c.rate, noiseShape, nextSeed(c))] };
  },
});

/**
 * `layer_spatial_dropout_1d(object, rate, seed = NULL)`: drops whole channels (the noise shape is
 * (batch, 1, channels)).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 4] }), layer_spatial_dropout_1d({ rate: 0.2 }));
 */
export const layer_spatial_dropout_1d = defineLayer({
  className: "SpatialDropout1D",
  fn: "layer_spatial_dropout_1d",
  props: {
    /** The fraction of the channels to drop, in [0, 1). */
    rate: Rate,
    /** The seed of the random draws (NULL: the global stream of set_random_seed()). */
    seed: Seed,
  },
  defaults: { seed: null },
  required: ["rate"],
  outputShape: (_c, [input]) => {
    expectRank("layer_spatial_dropout_1d", input, 3, "a sequence input (batch, steps, channels)");
    return [input];
  },
  forward: (c, { inputs: [x], training }) => {
    if (!training || c.rate === 0) return { outputs: [x] };
    return { outputs: [invertedDropout(x, c.rate, [x.shape[0], 1, x.shape[2] as number], nextSeed(c))] };
  },
});

function spatialDropout(rank: 2 | 3) {
  const fn = `layer_spatial_dropout_${rank}d`;
  return defineLayer({
    className: `SpatialDropout${rank}D`,
    fn,
    props: {
      /** The fraction of the channels to drop, in [0, 1). */
      rate: Rate,
      /** "channels_last" (batch, ...spatial, channels) or "channels_first" (batch, channels, ...spatial). */
      data_format: DataFormatArg,
      /** The seed of the random draws (NULL: the global stream of set_random_seed()). */
      seed: Seed,
    },
    defaults: { data_format: "channels_last", seed: null },
    required: ["rate"],
    outputShape: (c, [input]) => {
      spatialLayout(fn, input, rank, c.data_format);
      return [input];
    },
    forward: (c, { inputs: [x], training }) => {
      if (!training || c.rate === 0) return { outputs: [x] };
      // One draw per sample and channel, shared over the spatial axes.
      const channel = c.data_format === "channels_last" ? rank + 1 : 1;
      const noiseShape = x.shape.map((d, i) => (i === 0 || i === channel ? d : 1));
      return { outputs: [invertedDropout(x, c.rate, noiseShape, nextSeed(c))] };
    },
  });
}

/**
 * `layer_spatial_dropout_2d(object, rate, data_format = NULL, seed = NULL)`: drops whole feature maps
 * (the noise shape is (batch, 1, 1, channels), channels_last).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [8, 8, 4] }), layer_spatial_dropout_2d({ rate: 0.2 }));
 */
export const layer_spatial_dropout_2d = spatialDropout(2);
/**
 * `layer_spatial_dropout_3d(object, rate, data_format = NULL, seed = NULL)`: drops whole 3-D feature maps.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4, 8, 8, 4] }), layer_spatial_dropout_3d({ rate: 0.2 }));
 */
export const layer_spatial_dropout_3d = spatialDropout(3);

/**
 * `layer_gaussian_noise(object, stddev, seed = NULL)`: adds N(0, stddev²) noise while training.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4] }), layer_gaussian_noise({ stddev: 0.1 }));
 */
export const layer_gaussian_noise = defineLayer({
  className: "GaussianNoise",
  fn: "layer_gaussian_noise",
  props: {
    /** The standard deviation of the noise. */
    stddev: NonNegativeNum,
    /** The seed of the random draws (NULL: the global stream of set_random_seed()). */
    seed: Seed,
  },
  defaults: { seed: null },
  required: ["stddev"],
  outputShape: (_c, [input]) => [input as Shape],
  forward: (c, { inputs: [x], training }) => {
    if (!training || c.stddev === 0) return { outputs: [x] };
    return { outputs: [tf.add(x, tf.randomNormal(x.shape, 0, c.stddev, "float32", nextSeed(c)))] };
  },
});

/**
 * `layer_gaussian_dropout(object, rate, seed = NULL)`: multiplies the inputs by N(1, rate / (1 - rate))
 * noise while training.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4] }), layer_gaussian_dropout({ rate: 0.2 }));
 */
export const layer_gaussian_dropout = defineLayer({
  className: "GaussianDropout",
  fn: "layer_gaussian_dropout",
  props: {
    /** The drop probability the noise stands for: its variance is rate / (1 - rate). */
    rate: Rate,
    /** The seed of the random draws (NULL: the global stream of set_random_seed()). */
    seed: Seed,
  },
  defaults: { seed: null },
  required: ["rate"],
  outputShape: (_c, [input]) => [input as Shape],
  forward: (c, { inputs: [x], training }) => {
    if (!training || c.rate === 0) return { outputs: [x] };
    const stddev = Math.sqrt(c.rate / (1 - c.rate));
    return { outputs: [tf.mul(x, tf.randomNormal(x.shape, 1, stddev, "float32", nextSeed(c)))] };
  },
});

/** SELU's constants (Keras AlphaDropout). */
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/**
 * `layer_alpha_dropout(object, rate, noise_shape = NULL, seed = NULL)`: dropout that keeps the mean and
 * variance of SELU activations while training: dropped units are set to SELU's negative saturation,
 * then everything is scaled and shifted back.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [8] }), layer_dense({ units: 8, activation: "selu" }), layer_alpha_dropout({ rate: 0.1 }));
 */
export const layer_alpha_dropout = defineLayer({
  className: "AlphaDropout",
  fn: "layer_alpha_dropout",
  ...maskedDropout("layer_alpha_dropout"),
  forward: (c, { inputs: [x], training }) => {
    if (!training || c.rate === 0) return { outputs: [x] };
    const noiseShape = noiseShapeOf(c.noise_shape, x);
    const keep = tf.cast(
      tf.greaterEqual(tf.randomUniform([...noiseShape], 0, 1, "float32", nextSeed(c)), c.rate),
      "float32",
    );
    const alphaP = -SELU_ALPHA * SELU_SCALE;
    const a = ((1 - c.rate) * (1 + c.rate * alphaP ** 2)) ** -0.5;
    const b = -a * alphaP * c.rate;
    const dropped = tf.add(tf.mul(x, keep), tf.mul(alphaP, tf.sub(1, keep)));
    return { outputs: [tf.add(tf.mul(a, dropped), b)] };
  },
});
