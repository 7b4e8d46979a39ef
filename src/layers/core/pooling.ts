/**
 * Pooling: layer_max_pooling_1d / 2d / 3d and layer_average_pooling_1d / 2d / 3d (windows over the
 * spatial axes) and layer_global_max_pooling_1d / 2d / 3d and layer_global_average_pooling_1d / 2d / 3d
 * (over all of them; the 1-D average ignores masked steps, as Keras). None of them passes a mask on.
 */
import * as t from "io-ts";
import { Bool, IntTuple, Nullable, OneOf, PositiveInt, accepting, described } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import { expectRank, formatShape } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { tf, type Tensor } from "../../backend/tf.js";
import { fromChannelsLast, toChannelsLast, windowPadding } from "../../ops/convolution.js";
import { DataFormatArg, spatialLayout, windowOutputLength, withSpatial } from "./axes.js";

/**
 * A window length of 1-D pooling: an integer, or a vector of one (the tuple Keras 3 writes to its configs),
 * decoded to the integer.
 */
const WindowLength = accepting<number | readonly number[]>()(
  described(
    new t.Type<number, number, unknown>(
      "WindowLength",
      (u): u is number => PositiveInt.is(u),
      (u, c) => {
        if (PositiveInt.is(u)) return t.success(u);
        return Array.isArray(u) && u.length === 1 && PositiveInt.is(u[0]) ? t.success(u[0]) : t.failure(u, c);
      },
      t.identity,
    ),
    "a positive integer (or a vector of 1)",
  ),
);

const POOLING_1D_PROPS = {
  /** The size of the pooling window. */
  pool_size: WindowLength,
  /** The step between windows (NULL: pool_size). */
  strides: Nullable(WindowLength),
  /** "valid" (windows inside the input) or "same" (output as long as the input / strides). */
  padding: OneOf("valid", "same"),
  /** "channels_last" (batch, steps, channels) or "channels_first" (batch, channels, steps). */
  data_format: DataFormatArg,
};

function pooling1d(
  className: string,
  fn: string,
  pool: (x4: tf.Tensor4D, window: [number, number], strides: [number, number], padding: "valid" | "same") => Tensor,
) {
  return defineLayer({
    className,
    fn,
    props: POOLING_1D_PROPS,
    defaults: { pool_size: 2, strides: null, padding: "valid", data_format: "channels_last" },
    mask: "drop",
    outputShape: (c, [input]) => {
      expectRank(fn, input, 3, "a sequence input (batch, steps, channels)");
      const stepsAxis = c.data_format === "channels_last" ? 1 : 2;
      const steps = windowOutputLength(input[stepsAxis], c.pool_size, c.strides ?? c.pool_size, c.padding);
      if (steps !== null && steps <= 0)
        throw new KerasError(
          fn,
          `the input is too short for pool_size ${c.pool_size} with padding "valid": input shape ${formatShape(input)}`,
          "shape",
        );
      const out = [...input];
      out[stepsAxis] = steps;
      return [out];
    },
    forward: (c, { inputs: [x0] }) => {
      // Pool as 2-D over (steps, 1): (batch, steps, channels) → (batch, steps, 1, channels).
      const x = c.data_format === "channels_first" ? tf.transpose(x0, [0, 2, 1]) : x0;
      const s = c.strides ?? c.pool_size;
      let y = tf.squeeze(pool(tf.expandDims(x, 2) as tf.Tensor4D, [c.pool_size, 1], [s, 1], c.padding), [2]);
      if (c.data_format === "channels_first") y = tf.transpose(y, [0, 2, 1]);
      return { outputs: [y] };
    },
  });
}

/**
 * `layer_max_pooling_1d(object, pool_size = 2, strides = NULL, padding = "valid")`.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 4] }), layer_max_pooling_1d({ pool_size: 2 }));
 */
export const layer_max_pooling_1d = pooling1d("MaxPooling1D", "layer_max_pooling_1d", (x, w, s, p) =>
  tf.maxPool(x, w, s, p),
);
/**
 * `layer_average_pooling_1d(object, pool_size = 2, strides = NULL, padding = "valid")`. Windows at the
 * edges with padding "same" average over their real values only (TF/Keras).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 4] }), layer_average_pooling_1d({ pool_size: 2 }));
 */
export const layer_average_pooling_1d = pooling1d("AveragePooling1D", "layer_average_pooling_1d", (x, w, s, p) =>
  averagePool(x, w, s, p),
);

const GLOBAL_POOLING_1D_PROPS = {
  /** "channels_last" (batch, steps, channels) or "channels_first" (batch, channels, steps). */
  data_format: DataFormatArg,
  /** Keep the steps axis (with length 1). */
  keepdims: Bool,
};

function globalPooling1d(
  className: string,
  fn: string,
  reduce: (x: Tensor, stepsAxis: number, keepdims: boolean, mask: Tensor | null) => Tensor,
) {
  return defineLayer({
    className,
    fn,
    props: GLOBAL_POOLING_1D_PROPS,
    defaults: { data_format: "channels_last", keepdims: false },
    mask: "drop",
    outputShape: (c, [input]) => {
      expectRank(fn, input, 3, "a sequence input (batch, steps, channels)");
      const stepsAxis = c.data_format === "channels_last" ? 1 : 2;
      return [
        (c.keepdims
          ? input.map((d, i) => (i === stepsAxis ? 1 : d))
          : input.filter((_, i) => i !== stepsAxis)) as Shape,
      ];
    },
    forward: (c, { inputs: [x], masks: [mask] }) => ({
      outputs: [reduce(x, c.data_format === "channels_last" ? 1 : 2, c.keepdims, mask)],
    }),
  });
}

/**
 * `layer_global_max_pooling_1d(object, data_format = "channels_last", keepdims = FALSE)`: the maximum over all steps.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 4] }), layer_global_max_pooling_1d());
 */
export const layer_global_max_pooling_1d = globalPooling1d(
  "GlobalMaxPooling1D",
  "layer_global_max_pooling_1d",
  (x, axis, keepdims) => tf.max(x, axis, keepdims),
);

/**
 * With a (batch, steps) mask: sum(x * mask) / sum(mask) over steps (Keras GlobalAveragePooling1D).
 *
 * @example
 * const pooled = layer_global_average_pooling_1d([[[1, 2], [3, 4]]]); // [[2, 3]]
 */
export const layer_global_average_pooling_1d = globalPooling1d(
  "GlobalAveragePooling1D",
  "layer_global_average_pooling_1d",
  (x, axis, keepdims, mask) => {
    if (!mask) return tf.mean(x, axis, keepdims);
    const w = tf.expandDims(tf.cast(mask, x.dtype), axis === 1 ? 2 : 1);
    return tf.div(tf.sum(tf.mul(x, w), axis, keepdims), tf.sum(w, axis, keepdims));
  },
);

const poolingProps = (rank: 2 | 3) => ({
  /** The size of the pooling window (an integer, or one per spatial axis). */
  pool_size: IntTuple(rank),
  /** The step between windows (NULL: pool_size). */
  strides: Nullable(IntTuple(rank)),
  /** "valid" (windows inside the input) or "same" (output as long as the input / strides). */
  padding: OneOf("valid", "same"),
  /** "channels_last" (batch, ...spatial, channels) or "channels_first" (batch, channels, ...spatial). */
  data_format: DataFormatArg,
});

type Pool = (x: Tensor, window: number[], strides: number[], padding: "valid" | "same") => Tensor;

/** Pooling windows over 2 or 3 spatial axes (tfjs's pooling kernels, channels_last). */
function pooling(rank: 2 | 3, className: string, fn: string, pool: Pool) {
  return defineLayer({
    className,
    fn,
    props: poolingProps(rank),
    defaults: { pool_size: Array(rank).fill(2), strides: null, padding: "valid", data_format: "channels_last" },
    mask: "drop",
    outputShape: (c, [input]) => {
      const layout = spatialLayout(fn, input, rank, c.data_format);
      const strides = c.strides ?? c.pool_size;
      const lengths = layout.spatial.map((a, i) => windowOutputLength(input[a], c.pool_size[i], strides[i], c.padding));
      if (lengths.some((n) => n !== null && n <= 0))
        throw new KerasError(
          fn,
          `the input is too small for pool_size [${c.pool_size.join(", ")}] with padding "valid": input shape ${formatShape(input)}`,
          "shape",
        );
      return [withSpatial(input, layout, lengths)];
    },
    forward: (c, { inputs: [x0] }) => {
      const channelsFirst = c.data_format === "channels_first";
      const y = pool(toChannelsLast(x0, channelsFirst), c.pool_size, c.strides ?? c.pool_size, c.padding);
      return { outputs: [fromChannelsLast(y, channelsFirst)] };
    },
  });
}

/**
 * Max pooling of a channels_last batch over 2 or 3 spatial axes. 3-D windows are pooled as 2-D windows
 * over (rows, cols) of every frame, then over frames: the same maxima, and tfjs-backend-wasm 4.22's
 * MaxPool3D starts its windows at the smallest positive float instead of -Infinity (an all-negative
 * window gives 1.2e-38) and has wrong gradients besides.
 */
const maxPool: Pool = (x, w, s, p) => {
  if (x.rank === 4) return tf.maxPool(x as tf.Tensor4D, w as [number, number], s as [number, number], p);
  const [batch, depth, rows, cols, channels] = x.shape;
  const frames = tf.maxPool(
    tf.reshape(x, [batch * depth, rows, cols, channels]) as tf.Tensor4D,
    [w[1], w[2]],
    [s[1], s[2]],
    p,
  );
  const [, outRows, outCols] = frames.shape;
  const pooled = tf.maxPool(
    tf.reshape(frames, [batch, depth, outRows * outCols, channels]) as tf.Tensor4D,
    [w[0], 1],
    [s[0], 1],
    p,
  );
  return tf.reshape(pooled, [batch, pooled.shape[1], outRows, outCols, channels]);
};

const avgPoolValid = (x: Tensor, w: number[], s: number[]) =>
  x.rank === 4
    ? tf.avgPool(x as tf.Tensor4D, w as [number, number], s as [number, number], "valid")
    : tf.avgPool3d(x as tf.Tensor5D, w as [number, number, number], s as [number, number, number], "valid");

/**
 * Average pooling of a channels_last batch over 1 (as 2-D), 2 or 3 spatial axes. With padding "same"
 * the windows at the edges average their real values only (TF/Keras): the sum over the zero-padded input
 * divided by the count of real values, both as "valid" pooling — tfjs 4.22's gradient of "same" average
 * pooling divides by the whole window instead.
 */
const averagePool: Pool = (x, w, s, p) => {
  if (p === "valid") return avgPoolValid(x, w, s);
  const spatial = x.shape.slice(1, -1);
  const pads: [number, number][] = [[0, 0], ...spatial.map((n, i) => windowPadding(n, w[i], s[i], p)), [0, 0]];
  const counts = avgPoolValid(tf.pad(tf.ones([1, ...spatial, 1]), pads), w, s);
  return tf.div(avgPoolValid(tf.pad(x, pads), w, s), counts);
};

/**
 * `layer_max_pooling_2d(object, pool_size = c(2, 2), strides = NULL, padding = "valid", data_format = NULL)`.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [8, 8, 3] }), layer_max_pooling_2d());
 */
export const layer_max_pooling_2d = pooling(2, "MaxPooling2D", "layer_max_pooling_2d", maxPool);
/**
 * `layer_max_pooling_3d(object, pool_size = c(2, 2, 2), strides = NULL, padding = "valid", data_format = NULL)`.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4, 8, 8, 3] }), layer_max_pooling_3d());
 */
export const layer_max_pooling_3d = pooling(3, "MaxPooling3D", "layer_max_pooling_3d", maxPool);
/**
 * `layer_average_pooling_2d(object, pool_size = c(2, 2), strides = NULL, padding = "valid", data_format = NULL)`.
 * Windows at the edges with padding "same" average over their real values only (TF/Keras).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [8, 8, 3] }), layer_average_pooling_2d());
 */
export const layer_average_pooling_2d = pooling(2, "AveragePooling2D", "layer_average_pooling_2d", averagePool);
/**
 * `layer_average_pooling_3d(object, pool_size = c(2, 2, 2), strides = NULL, padding = "valid", data_format = NULL)`.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4, 8, 8, 3] }), layer_average_pooling_3d());
 */
export const layer_average_pooling_3d = pooling(3, "AveragePooling3D", "layer_average_pooling_3d", averagePool);

/** The maximum or mean over all spatial axes (2 or 3 of them). */
function globalPooling(rank: 2 | 3, className: string, fn: string, reduce: typeof tf.max) {
  return defineLayer({
    className,
    fn,
    props: GLOBAL_POOLING_1D_PROPS,
    defaults: { data_format: "channels_last", keepdims: false },
    mask: "drop",
    outputShape: (c, [input]) => {
      const layout = spatialLayout(fn, input, rank, c.data_format);
      return [
        c.keepdims
          ? withSpatial(input, layout, Array(rank).fill(1))
          : input.filter((_, i) => !layout.spatial.includes(i)),
      ];
    },
    forward: (c, { inputs: [x] }) => {
      const first = c.data_format === "channels_last" ? 1 : 2;
      return {
        outputs: [
          reduce(
            x,
            Array.from({ length: rank }, (_, i) => first + i),
            c.keepdims,
          ),
        ],
      };
    },
  });
}

/**
 * `layer_global_max_pooling_2d(object, data_format = NULL, keepdims = FALSE)`: the maximum over rows and cols.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [8, 8, 3] }), layer_global_max_pooling_2d());
 */
export const layer_global_max_pooling_2d = globalPooling(
  2,
  "GlobalMaxPooling2D",
  "layer_global_max_pooling_2d",
  tf.max,
);
/**
 * `layer_global_max_pooling_3d(object, data_format = NULL, keepdims = FALSE)`: the maximum over the three spatial axes.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4, 8, 8, 3] }), layer_global_max_pooling_3d());
 */
export const layer_global_max_pooling_3d = globalPooling(
  3,
  "GlobalMaxPooling3D",
  "layer_global_max_pooling_3d",
  tf.max,
);
/**
 * `layer_global_average_pooling_2d(object, data_format = NULL, keepdims = FALSE)`: the mean over rows and cols.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [8, 8, 3] }), layer_global_average_pooling_2d());
 */
export const layer_global_average_pooling_2d = globalPooling(
  2,
  "GlobalAveragePooling2D",
  "layer_global_average_pooling_2d",
  tf.mean,
);
/**
 * `layer_global_average_pooling_3d(object, data_format = NULL, keepdims = FALSE)`: the mean over the three spatial axes.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4, 8, 8, 3] }), layer_global_average_pooling_3d());
 */
export const layer_global_average_pooling_3d = globalPooling(
  3,
  "GlobalAveragePooling3D",
  "layer_global_average_pooling_3d",
  tf.mean,
);
