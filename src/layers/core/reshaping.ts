/**
 * Layers that only rearrange values: layer_flatten, layer_reshape, layer_permute, layer_repeat_vector,
 * and over 1 to 3 spatial axes layer_zero_padding_*, layer_cropping_* and layer_upsampling_* (nearest;
 * bilinear in 2-D). None of them supports masking (Keras 3): the input mask stops here.
 */
import * as t from "io-ts";
import { Int, IntTuple, NonNegativeInt, OneOf, PositiveInt, accepting, described } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import { expectRank, formatShape, product } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { tf } from "../../backend/tf.js";
import { fromChannelsLast, toChannelsLast } from "../../ops/convolution.js";
import { DataFormatArg, spatialLayout, withSpatial, type DataFormat } from "./axes.js";

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

// ---------------------------------------------------------------------------------------------
// Padding, cropping and upsampling over spatial axes

type Pair = [number, number];
const isCount = (u: unknown): u is number => NonNegativeInt.is(u);
const isPair = (u: unknown): u is Pair => Array.isArray(u) && u.length === 2 && u.every(isCount);

/**
 * Amounts before and after each of `rank` spatial axes, as Keras takes them: one integer (every side),
 * for 1 axis a pair (before, after), for 2 or 3 axes one integer per axis (both sides) or one pair per
 * axis. Decodes to Keras's config form: a pair for 1 axis, a list of pairs otherwise.
 */
const SidesArg = (rank: 1 | 2 | 3) =>
  accepting<number | readonly number[] | readonly (readonly number[])[]>()(
    described(
      new t.Type<number[] | Pair[], number[] | Pair[], unknown>(
        "Sides",
        (u): u is number[] | Pair[] => Array.isArray(u),
        (u, c) => {
          if (rank === 1) {
            if (isCount(u)) return t.success([u, u]);
            return isPair(u) ? t.success([...u]) : t.failure(u, c);
          }
          if (isCount(u)) return t.success(Array.from({ length: rank }, (): Pair => [u, u]));
          if (!Array.isArray(u) || u.length !== rank) return t.failure(u, c);
          if (u.every(isCount)) return t.success(u.map((n): Pair => [n, n]));
          if (u.every(isPair)) return t.success(u.map((p): Pair => [p[0], p[1]]));
          return t.failure(u, c);
        },
        t.identity,
      ),
      rank === 1
        ? "a non-negative integer or a vector of 2 of them (before, after)"
        : `a non-negative integer, a vector of ${rank} of them (one per axis), or a list of ${rank} pairs (before, after)`,
    ),
  );
/** The (before, after) pairs of a decoded SidesArg, one per spatial axis. */
const pairsOf = (sides: readonly number[] | readonly Pair[]): Pair[] =>
  typeof sides[0] === "number" ? [sides as Pair] : (sides as Pair[]);
const showSides = (sides: readonly number[] | readonly Pair[]) => JSON.stringify(sides);

/** `[batch, ...sides, channels]` paddings (or crops) of a channels_last tensor. */
const fullPairs = (pairs: readonly Pair[]): Pair[] => [[0, 0], ...pairs, [0, 0]];

const NAMES = { 1: "1d", 2: "2d", 3: "3d" } as const;
/** Keras's defaults, in the decoded form. */
const PADDING_DEFAULTS: Record<1 | 2 | 3, number[] | Pair[]> = {
  1: [1, 1],
  2: [
    [1, 1],
    [1, 1],
  ],
  3: [
    [1, 1],
    [1, 1],
    [1, 1],
  ],
};
const CROPPING_DEFAULTS: Record<1 | 2 | 3, number[] | Pair[]> = {
  1: [1, 1],
  2: [
    [0, 0],
    [0, 0],
  ],
  3: [
    [1, 1],
    [1, 1],
    [1, 1],
  ],
};

function zeroPadding(rank: 1 | 2 | 3) {
  const fn = `layer_zero_padding_${NAMES[rank]}`;
  return defineLayer({
    className: `ZeroPadding${rank}D`,
    fn,
    props: {
      /** The zeros added before and after each spatial axis. */
      padding: SidesArg(rank),
      /** "channels_last" (batch, ...spatial, channels) or "channels_first" (batch, channels, ...spatial). */
      data_format: DataFormatArg,
    },
    defaults: { padding: PADDING_DEFAULTS[rank], data_format: "channels_last" as DataFormat },
    mask: "drop",
    outputShape: (c, [input]) => {
      const layout = spatialLayout(fn, input, rank, c.data_format);
      const pairs = pairsOf(c.padding);
      return [
        withSpatial(
          input,
          layout,
          layout.spatial.map((a, i) => (input[a] === null ? null : (input[a] as number) + pairs[i][0] + pairs[i][1])),
        ),
      ];
    },
    forward: (c, { inputs: [x] }) => {
      const channelsFirst = c.data_format === "channels_first";
      return {
        outputs: [
          fromChannelsLast(tf.pad(toChannelsLast(x, channelsFirst), fullPairs(pairsOf(c.padding))), channelsFirst),
        ],
      };
    },
  });
}

/**
 * `layer_zero_padding_1d(object, padding = 1)`: zeros before and after the steps of a sequence.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 3] }), layer_zero_padding_1d({ padding: [2, 1] }));
 */
export const layer_zero_padding_1d = zeroPadding(1);
/**
 * `layer_zero_padding_2d(object, padding = c(1, 1), data_format = NULL)`: rows and cols of zeros around an image.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [8, 8, 3] }), layer_zero_padding_2d({ padding: [[1, 0], [2, 2]] }));
 */
export const layer_zero_padding_2d = zeroPadding(2);
/**
 * `layer_zero_padding_3d(object, padding = c(1, 1, 1), data_format = NULL)`: zeros around a volume.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4, 8, 8, 1] }), layer_zero_padding_3d());
 */
export const layer_zero_padding_3d = zeroPadding(3);

function cropping(rank: 1 | 2 | 3) {
  const fn = `layer_cropping_${NAMES[rank]}`;
  const props = {
    /** How much is cut from the start and the end of each spatial axis. */
    cropping: SidesArg(rank),
    /** "channels_last" (batch, ...spatial, channels) or "channels_first" (batch, channels, ...spatial). */
    data_format: DataFormatArg,
  };
  return defineLayer({
    className: `Cropping${rank}D`,
    fn,
    // Keras's Cropping1D takes no data_format: its input is (batch, steps, channels).
    props: rank === 1 ? { cropping: props.cropping } : props,
    defaults: {
      cropping: CROPPING_DEFAULTS[rank],
      ...(rank === 1 ? {} : { data_format: "channels_last" as DataFormat }),
    },
    mask: "drop",
    outputShape: (c, [input]) => {
      const layout = spatialLayout(fn, input, rank, (c.data_format as DataFormat | undefined) ?? "channels_last");
      const pairs = pairsOf(c.cropping);
      const lengths = layout.spatial.map((a, i) =>
        input[a] === null ? null : (input[a] as number) - pairs[i][0] - pairs[i][1],
      );
      if (lengths.some((n) => n !== null && n <= 0))
        throw new KerasError(
          fn,
          `\`cropping\` ${showSides(c.cropping)} leaves nothing of input shape ${formatShape(input)}`,
          "shape",
        );
      return [withSpatial(input, layout, lengths)];
    },
    forward: (c, { inputs: [x] }) => {
      const channelsFirst = c.data_format === "channels_first";
      const y = toChannelsLast(x, channelsFirst);
      const pairs = fullPairs(pairsOf(c.cropping));
      const cropped = tf.slice(
        y,
        pairs.map(([a]) => a),
        pairs.map(([a, b], i) => y.shape[i] - a - b),
      );
      return { outputs: [fromChannelsLast(cropped, channelsFirst)] };
    },
  });
}

/**
 * `layer_cropping_1d(object, cropping = c(1, 1))`: cuts steps from the start and the end of a sequence.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 3] }), layer_cropping_1d({ cropping: [2, 1] }));
 */
export const layer_cropping_1d = cropping(1);
/**
 * `layer_cropping_2d(object, cropping = list(c(0, 0), c(0, 0)), data_format = NULL)`: cuts rows and cols from the edges.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [8, 8, 3] }), layer_cropping_2d({ cropping: [[1, 1], [2, 0]] }));
 */
export const layer_cropping_2d = cropping(2);
/**
 * `layer_cropping_3d(object, cropping = list(c(1, 1), c(1, 1), c(1, 1)), data_format = NULL)`: cuts the edges of a volume.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4, 8, 8, 1] }), layer_cropping_3d());
 */
export const layer_cropping_3d = cropping(3);

/**
 * Each entry of `x` repeated `times` times along `axis` (nearest-neighbour upsampling, Keras's ops.repeat),
 * as a gather: tfjs 4.22 has no gradient of tile above rank 4.
 */
function repeatEach(x: tf.Tensor, axis: number, times: number): tf.Tensor {
  if (times === 1) return x;
  const n = x.shape[axis];
  return tf.gather(
    x,
    tf.tensor1d(
      Array.from({ length: n * times }, (_, i) => Math.floor(i / times)),
      "int32",
    ),
    axis,
  );
}

/**
 * The (outSize x inSize) matrix of TF's bilinear resize with half-pixel centers along one axis: output o
 * reads input position (o + 0.5) * inSize / outSize - 0.5, between its two neighbours (clamped).
 */
function bilinearWeights(inSize: number, outSize: number): number[][] {
  return Array.from({ length: outSize }, (_, o) => {
    const row = Array<number>(inSize).fill(0);
    const at = ((o + 0.5) * inSize) / outSize - 0.5;
    const lerp = at - Math.floor(at);
    row[Math.max(Math.floor(at), 0)] += 1 - lerp;
    row[Math.min(Math.ceil(at), inSize - 1)] += lerp;
    return row;
  });
}

/**
 * `x` resized along `axis` by `weights` (outSize x inSize): a matrix product, so it has gradients on
 * every backend (tfjs 4.22's ResizeBilinear gradient mixes up rows and cols of non-square images).
 */
function interpolateAxis(x: tf.Tensor, axis: number, weights: number[][]): tf.Tensor {
  const others = x.shape.map((_, i) => i).filter((i) => i !== axis);
  const front = tf.transpose(x, [axis, ...others]);
  const mixed = tf.matMul(tf.tensor2d(weights), tf.reshape(front, [x.shape[axis], -1]));
  const back = tf.reshape(mixed, [weights.length, ...others.map((i) => x.shape[i])]);
  const inverse = [axis, ...others].map((_, i) => [axis, ...others].indexOf(i));
  return tf.transpose(back, inverse);
}

function upsampling(rank: 1 | 2 | 3) {
  const fn = `layer_upsampling_${NAMES[rank]}`;
  const props = {
    /** The upsampling factor of each spatial axis (an integer, or one per axis). */
    size: rank === 1 ? PositiveInt : IntTuple(rank),
    /** "channels_last" (batch, ...spatial, channels) or "channels_first" (batch, channels, ...spatial). */
    data_format: DataFormatArg,
    /** "nearest" (repeat each value) or "bilinear" (interpolate, half-pixel centers as TF). */
    interpolation: OneOf("nearest", "bilinear"),
  };
  return defineLayer({
    className: `UpSampling${rank}D`,
    fn,
    // Keras's UpSampling1D takes neither data_format nor interpolation; UpSampling3D no interpolation.
    props:
      rank === 1 ? { size: props.size } : rank === 2 ? props : { size: props.size, data_format: props.data_format },
    defaults: {
      size: rank === 1 ? 2 : Array(rank).fill(2),
      ...(rank === 1 ? {} : { data_format: "channels_last" as DataFormat }),
      ...(rank === 2 ? { interpolation: "nearest" as const } : {}),
    },
    mask: "drop",
    outputShape: (c, [input]) => {
      const layout = spatialLayout(fn, input, rank, (c.data_format as DataFormat | undefined) ?? "channels_last");
      const size: number[] = typeof c.size === "number" ? [c.size] : c.size;
      return [
        withSpatial(
          input,
          layout,
          layout.spatial.map((a, i) => (input[a] === null ? null : (input[a] as number) * size[i])),
        ),
      ];
    },
    forward: (c, { inputs: [x] }) => {
      const channelsFirst = c.data_format === "channels_first";
      const size: number[] = typeof c.size === "number" ? [c.size] : c.size;
      let y = toChannelsLast(x, channelsFirst);
      size.forEach((s, i) => {
        const n = y.shape[i + 1];
        y =
          c.interpolation === "bilinear"
            ? interpolateAxis(y, i + 1, bilinearWeights(n, n * s))
            : repeatEach(y, i + 1, s);
      });
      return { outputs: [fromChannelsLast(y, channelsFirst)] };
    },
  });
}

/**
 * `layer_upsampling_1d(object, size = 2)`: repeats each step `size` times.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 3] }), layer_upsampling_1d({ size: 3 }));
 */
export const layer_upsampling_1d = upsampling(1);
/**
 * `layer_upsampling_2d(object, size = c(2, 2), data_format = NULL, interpolation = "nearest")`: repeats rows and
 * cols (or interpolates them, "bilinear").
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [8, 8, 3] }), layer_upsampling_2d({ interpolation: "bilinear" }));
 */
export const layer_upsampling_2d = upsampling(2);
/**
 * `layer_upsampling_3d(object, size = c(2, 2, 2), data_format = NULL)`: repeats the entries of a volume along each axis.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4, 8, 8, 1] }), layer_upsampling_3d());
 */
export const layer_upsampling_3d = upsampling(3);
