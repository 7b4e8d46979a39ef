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
import { DataFormatArg, windowOutputLength, type DataFormat } from "./axes.js";

export interface Pooling1DConfig {
  pool_size: number;
  /** null = pool_size. */
  strides: number | null;
  padding: "valid" | "same";
  data_format: DataFormat;
}

function pooling1d(
  className: string,
  fn: string,
  pool: (x4: tf.Tensor4D, window: [number, number], strides: [number, number], padding: "valid" | "same") => Tensor,
) {
  return defineLayer<Pooling1DConfig>({
    className,
    fn,
    props: {
      pool_size: PositiveInt,
      strides: Nullable(PositiveInt),
      padding: OneOf("valid", "same"),
      data_format: DataFormatArg,
    },
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

export const layer_max_pooling_1d = pooling1d("MaxPooling1D", "layer_max_pooling_1d", (x, w, s, p) =>
  tf.maxPool(x, w, s, p),
);
/** Windows at the edges with padding "same" average over their real values only (TF/Keras). */
export const layer_average_pooling_1d = pooling1d("AveragePooling1D", "layer_average_pooling_1d", (x, w, s, p) =>
  tf.avgPool(x, w, s, p),
);

export interface GlobalPooling1DConfig {
  data_format: DataFormat;
  keepdims: boolean;
}

function globalPooling1d(
  className: string,
  fn: string,
  reduce: (x: Tensor, stepsAxis: number, keepdims: boolean, mask: Tensor | null) => Tensor,
) {
  return defineLayer<GlobalPooling1DConfig>({
    className,
    fn,
    props: { data_format: DataFormatArg, keepdims: Bool },
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

export const layer_global_max_pooling_1d = globalPooling1d(
  "GlobalMaxPooling1D",
  "layer_global_max_pooling_1d",
  (x, axis, keepdims) => tf.max(x, axis, keepdims),
);

/** With a (batch, steps) mask: sum(x * mask) / sum(mask) over steps (Keras GlobalAveragePooling1D). */
export const layer_global_average_pooling_1d = globalPooling1d(
  "GlobalAveragePooling1D",
  "layer_global_average_pooling_1d",
  (x, axis, keepdims, mask) => {
    if (!mask) return tf.mean(x, axis, keepdims);
    const w = tf.expandDims(tf.cast(mask, x.dtype), axis === 1 ? 2 : 1);
    return tf.div(tf.sum(tf.mul(x, w), axis, keepdims), tf.sum(w, axis, keepdims));
  },
);
