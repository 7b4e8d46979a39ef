/**
 * 1-D pooling: layer_max_pooling_1d / layer_average_pooling_1d (windows over steps) and
 * layer_global_max_pooling_1d / layer_global_average_pooling_1d (over all steps; the average one
 * ignores masked steps, as Keras). None of them passes a mask on.
 */
import { Bool, Nullable, OneOf, PositiveInt } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import { expectRank, formatShape } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { tf, type Tensor } from "../../backend/tf.js";
import { DataFormatArg, windowOutputLength } from "./axes.js";

const POOLING_1D_PROPS = {
  /** The size of the pooling window. */
  pool_size: PositiveInt,
  /** The step between windows (NULL: pool_size). */
  strides: Nullable(PositiveInt),
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
  tf.avgPool(x, w, s, p),
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
