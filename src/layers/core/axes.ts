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
