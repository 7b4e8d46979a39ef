/**
 * What the attention layers share: the call arguments Keras takes when the layer is called, the
 * checks of the input list, the masks (value / key padding, causal) and their typed dual function.
 */
import { Bool } from "../../args.js";
import { KerasError } from "../../errors.js";
import { formatShape, formatShapes } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import type { Layer } from "../../model/layer.js";
import type { Applied, LayerInput, Outputs } from "../../model/dual.js";
import { tf, type Tensor } from "../../backend/tf.js";

/**
 * Keras's call arguments, taken here by the layer function (a layer value is called with data and
 * the standard call options only); a Keras 3 file keeps them in the node's kwargs (family `callArgs`).
 */
export const CALL_PROPS = {
  /** TRUE for decoder self-attention: query position i attends to value positions j <= i only. */
  use_causal_mask: Bool,
  /** TRUE: also return the attention scores (after masking and softmax): the layer returns a list. */
  return_attention_scores: Bool,
};
export const CALL_DEFAULTS = { use_causal_mask: false, return_attention_scores: false } as const;
export const CALL_ARGS: readonly string[] = Object.keys(CALL_PROPS);

/** The query, value and key shapes of an attention layer's input list (`[query, value]` or `[query, value, key]`). */
export function attentionShapes(fn: string, shapes: readonly Shape[]): { query: Shape; value: Shape; key: Shape } {
  if (shapes.length < 2 || shapes.length > 3)
    throw new KerasError(
      fn,
      `takes a list of 2 or 3 tensors, [query, value] or [query, value, key]; got ${shapes.length}`,
      "shape",
    );
  const [query, value, key = value] = shapes;
  const names = ["query", "value", "key"];
  shapes.forEach((s, i) => {
    if (s.length !== 3)
      throw new KerasError(
        fn,
        `\`${names[i]}\` must be a sequence (batch, timesteps, features), got shape ${formatShape(s)}`,
        "shape",
      );
  });
  if (value[1] !== null && key[1] !== null && value[1] !== key[1])
    throw new KerasError(
      fn,
      `\`value\` and \`key\` must have the same number of timesteps, got shapes ${formatShapes([value, key])}`,
      "shape",
    );
  return { query, value, key };
}

/** The last dim of `shape`, which must be known. */
export function featuresOf(fn: string, what: string, shape: Shape): number {
  const d = shape[shape.length - 1];
  if (d === null)
    throw new KerasError(fn, `the features of \`${what}\` must be known, got ${formatShape(shape)}`, "shape");
  return d;
}

/** Keras's causal mask (1, Tq, Tv): query step i (from 1) sees value steps j <= i. */
export function causalMask(tq: number, tv: number): Tensor {
  const rows = tf.reshape(tf.range(0, tq, 1, "int32"), [1, tq, 1]);
  const cols = tf.reshape(tf.range(0, tv, 1, "int32"), [1, 1, tv]);
  return tf.greaterEqual(rows, cols);
}

/** The logical AND of the masks that are present, each already shaped to broadcast (none → null). */
export function allOf(masks: readonly (Tensor | null)[]): Tensor | null {
  const present = masks.filter((m): m is Tensor => m !== null);
  if (present.length === 0) return null;
  return present.slice(1).reduce((acc, m) => tf.logicalAnd(acc, m), tf.cast(present[0], "bool"));
}

/** A (batch, steps) mask as (batch, 1, steps): the value / key positions every query step may see. */
export const asColumns = (mask: Tensor | null): Tensor | null =>
  mask ? tf.expandDims(tf.cast(mask, "bool"), 1) : null;

/**
 * An attention layer's dual function: with `return_attention_scores = TRUE` it returns the output and
 * the scores (a list), else the output alone. The input is the list `[query, value]` or `[query, value, key]`.
 */
export interface AttentionLayerFunction<A> {
  <X extends LayerInput>(inputs: X, args: A & { return_attention_scores: true }): Applied<X, "many">;
  <X extends LayerInput>(inputs: X, args?: A & { return_attention_scores?: false | null }): Applied<X, "one">;
  <X extends LayerInput>(inputs: X, args?: A): Applied<X, Outputs>;
  (args: A & { return_attention_scores: true }): Layer<"many">;
  (args?: A & { return_attention_scores?: false | null }): Layer<"one">;
  (args?: A): Layer;
}

/** As AttentionLayerFunction, for a layer with required arguments (layer_multi_head_attention). */
export interface AttentionLayerFunctionWith<A> {
  <X extends LayerInput>(inputs: X, args: A & { return_attention_scores: true }): Applied<X, "many">;
  <X extends LayerInput>(inputs: X, args: A & { return_attention_scores?: false | null }): Applied<X, "one">;
  <X extends LayerInput>(inputs: X, args: A): Applied<X, Outputs>;
  (args: A & { return_attention_scores: true }): Layer<"many">;
  (args: A & { return_attention_scores?: false | null }): Layer<"one">;
  (args: A): Layer;
}
