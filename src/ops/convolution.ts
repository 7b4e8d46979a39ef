/**
 * N-D convolution of a channels_last batch (cross-correlation, as TF and PyTorch), dilation included.
 *
 * tfjs 4.22 computes dilated convolutions forward (natively, fast) but has no gradient for them
 * ("dilation rates greater than 1 are not yet supported in gradients", on every backend). While tfjs
 * records a gradient tape, a dilated convolution is therefore written as TF's `with_space_to_batch`
 * writes it: the input is padded and split into dilation^rank interleaved sub-images (SpaceToBatchND),
 * each convolved with the undilated kernel ("valid"), and the results interleaved back (BatchToSpaceND);
 * both reshuffles and the undilated convolution have gradients. It sums the same products as tfjs's
 * kernel, but its rank-6 transposes make it several times slower on wasm, so inference keeps the
 * kernel. "same" pads (kernel - 1) * dilation, the odd one at the end, as TF does.
 */
import { tf, type Tensor } from "../backend/tf.js";

export type ConvPadding = "valid" | "same";

/** tfjs's convolution of `x` (batch, ...spatial, channels) with `kernel` (...window, in, out). */
function tfjsConv(
  x: Tensor,
  kernel: Tensor,
  strides: readonly number[],
  padding: ConvPadding,
  dilation: readonly number[],
): Tensor {
  switch (strides.length) {
    case 1:
      return tf.conv1d(x as tf.Tensor3D, kernel as tf.Tensor3D, strides[0], padding, "NWC", dilation[0]);
    case 2:
      return tf.conv2d(
        x as tf.Tensor4D,
        kernel as tf.Tensor4D,
        strides as [number, number],
        padding,
        "NHWC",
        dilation as [number, number],
      );
    default:
      return tf.conv3d(
        x as tf.Tensor5D,
        kernel as tf.Tensor5D,
        strides as [number, number, number],
        padding,
        "NDHWC",
        dilation as [number, number, number],
      );
  }
}

/** The dilated convolution (strides 1) as undilated convolutions of interleaved sub-images. */
function viaSpaceToBatch(x: Tensor, kernel: Tensor, padding: ConvPadding, dilation: readonly number[]): Tensor {
  const spatial = x.shape.slice(1, -1);
  const window = kernel.shape.slice(0, -2);
  const paddings: [number, number][] = [];
  const crops: [number, number][] = [];
  spatial.forEach((size, i) => {
    const total = padding === "same" ? (window[i] - 1) * dilation[i] : 0;
    const start = Math.floor(total / 2);
    // Pad up to a multiple of the dilation; that extra padding is cropped from the result's end.
    const extra = (dilation[i] - ((size + total) % dilation[i])) % dilation[i];
    paddings.push([start, total - start + extra]);
    crops.push([0, extra]);
  });
  const ones = dilation.map(() => 1);
  const blocks = tf.spaceToBatchND(x, [...dilation], paddings);
  return tf.batchToSpaceND(tfjsConv(blocks, kernel, ones, "valid", ones), [...dilation], crops);
}

/**
 * `x` (batch, ...spatial, channels) convolved with `kernel` (...window, in_channels, out_channels), 1 to 3
 * spatial axes. Strides above 1 together with dilation above 1 are refused by the layers (as in Keras).
 */
export function convChannelsLast(
  x: Tensor,
  kernel: Tensor,
  strides: readonly number[],
  padding: ConvPadding,
  dilation: readonly number[],
): Tensor {
  if (dilation.every((d) => d === 1)) return tfjsConv(x, kernel, strides, padding, dilation);
  if (strides.some((s) => s > 1)) throw new Error("convChannelsLast: strides > 1 with dilation > 1");
  return tf.engine().isTapeOn()
    ? viaSpaceToBatch(x, kernel, padding, dilation)
    : tfjsConv(x, kernel, strides, padding, dilation);
}

/** `x` in channels_last order: channels_first (batch, channels, ...spatial) is transposed. */
export function toChannelsLast(x: Tensor, channelsFirst: boolean): Tensor {
  if (!channelsFirst) return x;
  return tf.transpose(x, [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2), 1]);
}

/** The inverse of `toChannelsLast`: a channels_last result back in the layer's data format. */
export function fromChannelsLast(y: Tensor, channelsFirst: boolean): Tensor {
  if (!channelsFirst) return y;
  return tf.transpose(y, [0, y.rank - 1, ...Array.from({ length: y.rank - 2 }, (_, i) => i + 1)]);
}

/** `x` padded by `[before, after]` per axis, a negative amount cropping that many instead. */
function padOrCrop(x: Tensor, amounts: readonly (readonly [number, number])[]): Tensor {
  const padded = amounts.some(([a, b]) => a > 0 || b > 0)
    ? tf.pad(
        x,
        amounts.map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)] as [number, number]),
      )
    : x;
  if (amounts.every(([a, b]) => a >= 0 && b >= 0)) return padded;
  const begin = amounts.map(([a]) => Math.max(-a, 0));
  const size = amounts.map(([, b], i) => padded.shape[i] - begin[i] - Math.max(-b, 0));
  return tf.slice(padded, begin, size);
}

/** `x` with `stride - 1` zeros between neighbours along `axis` (the input of a strided transposed convolution). */
function interleaveZeros(x: Tensor, axis: number, stride: number): Tensor {
  if (stride === 1) return x;
  const n = x.shape[axis];
  const shape = [...x.shape];
  const spread = tf.pad(
    tf.expandDims(x, axis + 1),
    [...shape, 1].map((_, i) => (i === axis + 1 ? [0, stride - 1] : [0, 0]) as [number, number]),
  );
  shape[axis] = n * stride;
  const begin = shape.map(() => 0);
  const size = [...shape];
  size[axis] = (n - 1) * stride + 1;
  return tf.slice(tf.reshape(spread, shape), begin, size);
}

/**
 * The output length of a transposed convolution along one axis, as Keras computes it
 * (backend_utils `_get_output_shape_given_tf_padding`); null when the input length is unknown.
 */
export function transposeOutputLength(
  length: number | null,
  window: number,
  stride: number,
  padding: ConvPadding,
  outputPadding: number | null,
  dilation: number,
): number | null {
  if (length === null) return null;
  const effective = (window - 1) * dilation + 1;
  if (padding === "valid")
    return (length - 1) * stride + effective + (outputPadding ?? Math.max(effective, stride) - effective);
  return outputPadding === null ? length * stride : (length - 1) * stride + (effective % 2) + outputPadding;
}

/**
 * The transposed convolution (the gradient of a convolution w.r.t. its input, as TF's conv_transpose)
 * of `x` (batch, ...spatial, channels) with Keras's kernel (...window, filters, in_channels), 1 to 3
 * spatial axes. Written as a stride-1 convolution — of the input with zeros between its entries,
 * padded, and the flipped kernel — so that it has gradients on every backend and every rank (tfjs 4.22
 * has no gradient of conv3dTranspose and no dilated conv2dTranspose). The padding of the forward
 * convolution is TF's for an input of the output's length: "same" puts the odd one at the end.
 */
export function convTransposeChannelsLast(
  x: Tensor,
  kernel: Tensor,
  strides: readonly number[],
  padding: ConvPadding,
  outputPadding: readonly number[] | null,
  dilation: readonly number[],
): Tensor {
  const spatial = x.shape.slice(1, -1);
  const window = kernel.shape.slice(0, -2);
  let z = x;
  strides.forEach((s, i) => (z = interleaveZeros(z, i + 1, s)));
  const amounts = spatial.map((n, i): [number, number] => {
    const effective = (window[i] - 1) * dilation[i] + 1;
    const out = transposeOutputLength(n, window[i], strides[i], padding, outputPadding?.[i] ?? null, dilation[i])!;
    const before = padding === "valid" ? 0 : Math.floor(Math.max((n - 1) * strides[i] + effective - out, 0) / 2);
    return [effective - 1 - before, out + before - (n - 1) * strides[i] - 1];
  });
  z = padOrCrop(z, [[0, 0], ...amounts, [0, 0]]);
  const rank = window.length;
  const flipped = tf.transpose(
    tf.reverse(
      kernel,
      Array.from({ length: rank }, (_, i) => i),
    ),
    [...Array.from({ length: rank }, (_, i) => i), rank + 1, rank],
  );
  return convChannelsLast(
    z,
    flipped,
    strides.map(() => 1),
    "valid",
    dilation,
  );
}

/**
 * TF's padding (before, after) of one axis of length `length` for a window of (dilated) extent `window`
 * and `stride`: none for "valid"; for "same" what makes the output ceil(length / stride) long, the odd
 * one at the end.
 */
export function windowPadding(length: number, window: number, stride: number, padding: ConvPadding): [number, number] {
  if (padding === "valid") return [0, 0];
  const total = Math.max((Math.ceil(length / stride) - 1) * stride + window - length, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/**
 * `count` entries of `x` along `axis` from `start`, every `stride`-th (a strided slice written with
 * slice, pad and reshape: tfjs 4.22 has no gradient of stridedSlice).
 */
function takeEvery(x: Tensor, axis: number, start: number, count: number, stride: number): Tensor {
  const begin = x.shape.map((_, i) => (i === axis ? start : 0));
  const size = x.shape.map((d, i) => (i === axis ? (count - 1) * stride + 1 : d));
  const slice = tf.slice(x, begin, size);
  if (stride === 1) return slice;
  const full = tf.pad(
    slice,
    x.shape.map((_, i) => (i === axis ? [0, stride - 1] : [0, 0]) as [number, number]),
  );
  const split = [...x.shape.slice(0, axis), count, stride, ...x.shape.slice(axis + 1)];
  const firsts = tf.slice(
    tf.reshape(full, split),
    split.map(() => 0),
    split.map((d, i) => (i === axis + 1 ? 1 : d)),
  );
  return tf.reshape(
    firsts,
    size.map((d, i) => (i === axis ? count : d)),
  );
}

/**
 * The depthwise convolution of `x` (batch, ...spatial, channels) with `kernel` (...window, channels,
 * multiplier), 1 or 2 spatial axes: output channel c · multiplier + m is channel c convolved with
 * kernel[..., c, m] (TF's depthwise_conv2d). Written as a sum over the window's taps of strided slices
 * times the tap's weights, so strides, dilation and gradients work together on every backend (tfjs
 * 4.22's wasm backend has no depthwise gradient kernels, and tfjs none for dilated depthwise gradients).
 */
export function depthwiseConvChannelsLast(
  x: Tensor,
  kernel: Tensor,
  strides: readonly number[],
  padding: ConvPadding,
  dilation: readonly number[],
): Tensor {
  const [batch, ...rest] = x.shape;
  const spatial = rest.slice(0, -1);
  const channels = rest[rest.length - 1];
  const window = kernel.shape.slice(0, -2);
  const multiplier = kernel.shape[kernel.rank - 1];
  const effective = window.map((k, i) => (k - 1) * dilation[i] + 1);
  const out = spatial.map((n, i) =>
    padding === "valid" ? Math.floor((n - effective[i]) / strides[i]) + 1 : Math.ceil(n / strides[i]),
  );
  const padded = padOrCrop(x, [
    [0, 0],
    ...spatial.map((n, i) => windowPadding(n, effective[i], strides[i], padding)),
    [0, 0],
  ]);
  const taps = tf.unstack(tf.reshape(kernel, [-1, channels, multiplier]));
  const tapIndex = (t: number) => {
    const idx: number[] = [];
    for (let d = window.length - 1; d >= 0; d--) {
      idx.unshift(t % window[d]);
      t = Math.floor(t / window[d]);
    }
    return idx;
  };
  let acc: Tensor | null = null;
  taps.forEach((w, t) => {
    const at = tapIndex(t).map((k, i) => k * dilation[i]);
    let slice = padded;
    at.forEach((start, i) => (slice = takeEvery(slice, i + 1, start, out[i], strides[i])));
    const term = tf.mul(tf.expandDims(slice, -1), w);
    acc = acc === null ? term : tf.add(acc, term);
  });
  return tf.reshape(acc!, [batch, ...out, channels * multiplier]);
}
