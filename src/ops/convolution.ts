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
