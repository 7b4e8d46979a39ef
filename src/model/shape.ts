/** Shape helpers and Keras-style shape printing. */
import { KerasError } from "../errors.js";
import type { Shape } from "./types.js";

/** Keras prints shapes as Python tuples: (None, 10, 4); a 1-tuple keeps its comma: (None,). */
export function formatShape(s: Shape): string {
  const dims = s.map((d) => (d === null ? "None" : String(d)));
  return dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(", ")})`;
}

export function formatShapes(shapes: readonly Shape[]): string {
  return shapes.length === 1 ? formatShape(shapes[0]) : `[${shapes.map(formatShape).join(", ")}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Two shapes agree where both dims are known. */
export function shapesCompatible(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === null || b[i] === null || d === b[i]);
}

/**
 * A call's `mask` covers leading axes of the input, as Keras's masks do: (batch, time) for a recurrent
 * layer (`sequence`), else a shape the input starts with, short of its last (features) axis.
 */
export function checkMaskShape(fn: string, mask: Shape, input: Shape, sequence: boolean): void {
  const rank = sequence ? 2 : mask.length;
  if (rank < 1 || rank >= input.length || !shapesCompatible(mask, input.slice(0, rank)))
    throw new KerasError(
      fn,
      `\`mask\` must have shape ${sequence ? formatShape(input.slice(0, 2)) : `${formatShape(input.slice(0, -1))} or a leading part of it`} for an input of shape ${formatShape(input)}, got ${formatShape(mask)}`,
      "shape",
    );
}

export function expectRank(fn: string, shape: Shape, rank: number | readonly number[], what: string): void {
  const ranks = typeof rank === "number" ? [rank] : rank;
  if (!ranks.includes(shape.length)) {
    throw new KerasError(
      fn,
      `expected ${what} (rank ${ranks.join(" or ")} including the batch axis), got shape ${formatShape(shape)}`,
      "shape",
    );
  }
}

/** The last dimension, which must be known (e.g. a Dense layer's input features). */
export function knownLastDim(fn: string, shape: Shape, what = "the last dimension of the input"): number {
  const d = shape[shape.length - 1];
  if (d === null || d === undefined)
    throw new KerasError(fn, `${what} must be known, got shape ${formatShape(shape)}`, "shape");
  return d;
}

export const product = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
