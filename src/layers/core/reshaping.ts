/**
 * Layers that only rearrange values: layer_flatten, layer_reshape, layer_permute, layer_repeat_vector.
 * None of them supports masking (Keras 3): the input mask stops here.
 */
import * as t from "io-ts";
import { Int, PositiveInt, described } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import { expectRank, formatShape, product } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { tf } from "../../backend/tf.js";
import { DataFormatArg } from "./axes.js";

/**
 * `layer_flatten(object, data_format = NULL)`: (batch, ...) → (batch, product of the other axes).
 * channels_first inputs are moved to channels_last order first, as Keras does, so both flatten alike.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4, 3] }), layer_flatten());
 */
export const layer_flatten = defineLayer({
  className: "Flatten",
  fn: "layer_flatten",
  props: {
    /** "channels_last" (batch, steps, channels) or "channels_first" (batch, channels, steps). */
    data_format: DataFormatArg,
  },
  defaults: { data_format: "channels_last" },
  mask: "drop",
  outputShape: (_c, [input]) => {
    const rest = input.slice(1);
    return [[input[0], rest.some((d) => d === null) ? null : product(rest as number[])]];
  },
  forward: (c, { inputs: [x] }) => {
    const ordered =
      c.data_format === "channels_first" && x.rank >= 3
        ? tf.transpose(x, [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2), 1])
        : x;
    return { outputs: [tf.reshape(ordered, [x.shape[0], -1])] };
  },
});

const TargetShape = described(
  t.refinement(t.array(Int), (a) => a.every((d) => d > 0 || d === -1) && a.filter((d) => d === -1).length <= 1),
  "a shape: positive integers with at most one -1",
);

/**
 * `layer_reshape(object, target_shape)`: the same values in another shape (batch axis kept).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [12] }), layer_reshape({ target_shape: [3, 4] }));
 */
export const layer_reshape = defineLayer({
  className: "Reshape",
  fn: "layer_reshape",
  props: {
    /** The output shape without the batch axis; one axis may be -1 (inferred). */
    target_shape: TargetShape,
  },
  defaults: {},
  required: ["target_shape"],
  mask: "drop",
  outputShape: (c, [input]) => {
    const rest = input.slice(1);
    const known = rest.every((d) => d !== null);
    const total = known ? product(rest as number[]) : null;
    const fixed = product(c.target_shape.filter((d) => d !== -1));
    const wildcard = c.target_shape.indexOf(-1);
    const mismatch = () =>
      new KerasError(
        "layer_reshape",
        `the total size must be unchanged: input shape ${formatShape(input)} (${total} values per sample) cannot be reshaped to target_shape [${c.target_shape.join(", ")}]`,
        "shape",
      );
    if (wildcard < 0) {
      if (total !== null && total !== fixed) throw mismatch();
      return [[input[0], ...c.target_shape]];
    }
    if (total === null) return [[input[0], ...c.target_shape.map((d) => (d === -1 ? null : d))]];
    if (total % fixed !== 0) throw mismatch();
    return [[input[0], ...c.target_shape.map((d) => (d === -1 ? total / fixed : d))]];
  },
  forward: (c, { inputs: [x] }) => ({ outputs: [tf.reshape(x, [x.shape[0], ...c.target_shape])] }),
});

/**
 * `layer_permute(object, dims)`: permutes the non-batch axes.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 4] }), layer_permute({ dims: [2, 1] }));
 */
export const layer_permute = defineLayer({
  className: "Permute",
  fn: "layer_permute",
  props: {
    /** 1-based permutation of the non-batch axes, as in R and Keras: `c(2, 1)` swaps steps and features. */
    dims: described(t.array(PositiveInt), "a permutation of 1..k (1-based axes, batch axis excluded)"),
  },
  defaults: {},
  required: ["dims"],
  mask: "drop",
  validate: (c) => {
    const sorted = [...c.dims].sort((a, b) => a - b);
    if (c.dims.length === 0 || sorted.some((d, i) => d !== i + 1)) {
      throw new KerasError(
        "layer_permute",
        `\`dims\` must be a permutation of 1..${c.dims.length || "k"} (1-based axes, batch axis excluded), got [${c.dims.join(", ")}]`,
      );
    }
    return c;
  },
  outputShape: (c, [input]) => {
    expectRank(
      "layer_permute",
      input,
      c.dims.length + 1,
      `an input with ${c.dims.length} non-batch axes for dims [${c.dims.join(", ")}]`,
    );
    return [[input[0], ...c.dims.map((d) => input[d])]];
  },
  forward: (c, { inputs: [x] }) => ({ outputs: [tf.transpose(x, [0, ...c.dims])] }),
});

/**
 * `layer_repeat_vector(object, n)`: (batch, features) → (batch, n, features).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4] }), layer_repeat_vector({ n: 3 }));
 */
export const layer_repeat_vector = defineLayer({
  className: "RepeatVector",
  fn: "layer_repeat_vector",
  props: {
    /** How many times the input is repeated. */
    n: PositiveInt,
  },
  defaults: {},
  required: ["n"],
  mask: "drop",
  outputShape: (c, [input]) => {
    expectRank("layer_repeat_vector", input, 2, "a 2-D input (batch, features)");
    return [[input[0], c.n, input[1]] as Shape];
  },
  forward: (c, { inputs: [x] }) => ({ outputs: [tf.tile(tf.expandDims(x, 1), [1, c.n, 1])] }),
});
