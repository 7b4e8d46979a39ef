/** Axis and shape helpers shared by the core layer families (spec tier: no tensors here). */
import { KerasError } from "../../errors.js";
import { Int, described, OneOf } from "../../args.js";
import { formatShape } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";

/** An integer axis, negative counting from the end (Keras/Python convention, batch axis = 0). */
export const AxisArg = described(Int, "an integer axis (negative counts from the end)");

export const DataFormatArg = OneOf("channels_last", "channels_first");
export type DataFormat = "channels_last" | "channels_first";

/**
 * Resolves a Keras axis against a rank (batch axis included). The batch axis itself is refused unless
 * `allowBatch`, because a layer cannot act across samples.
 */
export function resolveAxis(fn: string, axis: number, shape: Shape, what = "`axis`", allowBatch = false): number {
  const rank = shape.length;
  const a = axis < 0 ? rank + axis : axis;
  if (a < (allowBatch ? 0 : 1) || a >= rank) {
    throw new KerasError(fn, `${what} = ${axis} is out of range for an input of shape ${formatShape(shape)}`, "shape");
  }
  return a;
}

/** The dim at `axis`, which must be known. */
export function knownDim(fn: string, shape: Shape, axis: number, what: string): number {
  const d = shape[axis];
  if (d === null) throw new KerasError(fn, `${what} must be known, got input shape ${formatShape(shape)}`, "shape");
  return d;
}

/** Output length of a 1-D window op (convolution or pooling) as TF computes it; null when unknown. */
export function windowOutputLength(
  length: number | null,
  window: number,
  stride: number,
  padding: "valid" | "same" | "causal",
  dilation = 1,
): number | null {
  if (length === null) return null;
  if (padding === "valid") {
    const effective = (window - 1) * dilation + 1;
    return Math.floor((length - effective) / stride) + 1;
  }
  return Math.ceil(length / stride);
}

/** How many spatial axes a convolution, pooling or padding layer of rank `n` ("2d") has, in words. */
const SPATIAL_INPUTS: Readonly<Record<number, string>> = {
  1: "a sequence input (batch, steps, channels)",
  2: "an image input (batch, rows, cols, channels)",
  3: "a volume input (batch, dim1, dim2, dim3, channels)",
};

/**
 * The spatial axes and the channel axis of an input with `rank` spatial axes in `format`, after
 * checking the input has that many axes (batch and channels included).
 */
export function spatialLayout(
  fn: string,
  input: Shape,
  rank: number,
  format: DataFormat,
): { spatial: number[]; channel: number } {
  if (input.length !== rank + 2)
    throw new KerasError(
      fn,
      `expected ${SPATIAL_INPUTS[rank]} (rank ${rank + 2} including the batch axis; channels ${format === "channels_last" ? "last" : "first"}), got shape ${formatShape(input)}`,
      "shape",
    );
  const first = format === "channels_last" ? 1 : 2;
  return {
    spatial: Array.from({ length: rank }, (_, i) => first + i),
    channel: format === "channels_last" ? rank + 1 : 1,
  };
}

/** `input` with its spatial axes' lengths replaced by `lengths` and its channels by `channels` (if given). */
export function withSpatial(
  input: Shape,
  layout: { spatial: readonly number[]; channel: number },
  lengths: readonly (number | null)[],
  channels?: number | null,
): Shape {
  const out = [...input];
  layout.spatial.forEach((a, i) => (out[a] = lengths[i]));
  if (channels !== undefined) out[layout.channel] = channels;
  return out;
}
