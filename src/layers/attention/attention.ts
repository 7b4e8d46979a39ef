/**
 * layer_attention (Luong, dot-product or concat scores) and layer_additive_attention (Bahdanau):
 * scores of every query step against every key step, a softmax over the value steps the masks leave
 * (value padding, causal), then the weighted sum of the values; query steps the query mask drops
 * give zeros. Called on `[query, value]` or `[query, value, key]`; the output mask is the query mask.
 */
import { Bool, OneOf, Rate, type ConfigOf } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer, type LayerArgs } from "../../model/layer.js";
import { formatShapes } from "../../model/shape.js";
import type { ForwardContext, ForwardResult, Shape, WeightSpec } from "../../model/types.js";
import { initializerSpec } from "../../ops/initializers.js";
import { tf, type Tensor } from "../../backend/tf.js";
import { Seed, invertedDropout, nextSeed } from "../core/noise.js";
import {
  CALL_ARGS,
  CALL_DEFAULTS,
  CALL_PROPS,
  allOf,
  asColumns,
  attentionShapes,
  causalMask,
  featuresOf,
  type AttentionLayerFunction,
} from "./common.js";

const SHARED_PROPS = {
  /** The fraction of the attention scores to drop while training. */
  dropout: Rate,
  /** The seed of the dropout draws (NULL: the global stream of set_random_seed()). */
  seed: Seed,
  ...CALL_PROPS,
};
const SHARED_DEFAULTS = { dropout: 0, seed: null, ...CALL_DEFAULTS };

const ATTENTION_PROPS = {
  /** TRUE: a learned scalar `scale` multiplies the scores. */
  use_scale: Bool,
  /** "dot": query · key; "concat": sum(tanh(query + key)) times a learned scalar. */
  score_mode: OneOf("dot", "concat"),
  ...SHARED_PROPS,
};
type AttentionConfig = ConfigOf<typeof ATTENTION_PROPS>;

const ADDITIVE_ATTENTION_PROPS = {
  /** TRUE: a learned vector `scale` (one value per feature) weighs the tanh terms. */
  use_scale: Bool,
  ...SHARED_PROPS,
};
type AdditiveAttentionConfig = ConfigOf<typeof ADDITIVE_ATTENTION_PROPS>;

/** Keras's bias on the scores of masked positions (float32). */
const MASKED_SCORE_BIAS = 1e9;

/** (batch, Tq, 1, dim) + (batch, 1, Tv, dim): every query step against every key step. */
const pairwiseSum = (q: Tensor, k: Tensor): Tensor => tf.add(tf.expandDims(q, 2), tf.expandDims(k, 1));

/**
 * Output and scores shapes, with the features the scores combine checked: `query` and `key` must have
 * the same features (`value`'s are the output's).
 */
function outputShapes(fn: string, returnScores: boolean, shapes: readonly Shape[]): Shape[] {
  const { query, value, key } = attentionShapes(fn, shapes);
  const [dq, dk] = [query[2], key[2]];
  if (dq !== null && dk !== null && dq !== dk)
    throw new KerasError(
      fn,
      `\`query\` and \`key\` must have the same number of features, got shapes ${formatShapes([query, key])}`,
      "shape",
    );
  const out: Shape = [query[0], query[1], value[2]];
  return returnScores ? [out, [query[0], query[1], key[1]]] : [out];
}

/**
 * Keras's Attention._apply_scores and call: masked scores get -1e9 (value padding, causal), softmax over
 * the value steps, dropout while training, the weighted sum of the values, zeros where the query is masked.
 */
function applyScores(
  c: AttentionConfig | AdditiveAttentionConfig,
  scores: Tensor,
  value: Tensor,
  { masks: [queryMask, valueMask = null], training }: ForwardContext,
): ForwardResult {
  const causal = c.use_causal_mask ? causalMask(scores.shape[1] as number, scores.shape[2] as number) : null;
  const visible = allOf([asColumns(valueMask), causal]);
  const masked = visible ? tf.where(visible, scores, tf.sub(scores, MASKED_SCORE_BIAS)) : scores;
  const weights = tf.softmax(masked, -1);
  const dropped = training && c.dropout > 0 ? invertedDropout(weights, c.dropout, weights.shape, nextSeed(c)) : weights;
  let output = tf.matMul(dropped as tf.Tensor3D, value as tf.Tensor3D) as Tensor;
  if (queryMask) output = tf.where(tf.expandDims(tf.cast(queryMask, "bool"), -1), output, tf.zerosLike(output));
  const outMask = queryMask ?? null;
  return c.return_attention_scores
    ? { outputs: [output, weights], masks: [outMask, null] }
    : { outputs: [output], masks: [outMask] };
}

/**
 * `layer_attention(inputs, use_scale = FALSE, score_mode = "dot", dropout = 0, seed = NULL, ...)`:
 * dot-product (Luong-style) attention of `query` over `value`, on the list `[query, value]` or
 * `[query, value, key]` (key defaults to value). `use_causal_mask` and `return_attention_scores` are
 * Keras's call arguments.
 *
 * @example
 * const query = layer_input({ shape: [4, 8] });
 * const value = layer_input({ shape: [6, 8] });
 * const context = layer_attention([query, value]); // shape (NA, 4, 8)
 */
export const layer_attention = defineLayer({
  className: "Attention",
  fn: "layer_attention",
  props: ATTENTION_PROPS,
  defaults: { use_scale: false, score_mode: "dot", ...SHARED_DEFAULTS },
  inputs: "many",
  callArgs: CALL_ARGS,
  outputShape: (c, shapes) => outputShapes("layer_attention", c.return_attention_scores, shapes),
  weights: (c) => {
    const scalar = (name: string): WeightSpec => ({
      name,
      shape: [],
      initializer: initializerSpec("ones"),
      trainable: true,
    });
    return [
      ...(c.use_scale ? [scalar("scale")] : []),
      ...(c.score_mode === "concat" ? [scalar("concat_score_weight")] : []),
    ];
  },
  forward: (c, ctx) => {
    const [query, value, key = value] = ctx.inputs;
    const scale = c.use_scale ? ctx.weights[0] : null;
    let scores: Tensor;
    if (c.score_mode === "dot") {
      scores = tf.matMul(query as tf.Tensor3D, key as tf.Tensor3D, false, true);
      if (scale) scores = tf.mul(scores, scale);
    } else {
      const concatWeight = ctx.weights[scale ? 1 : 0];
      const sum = pairwiseSum(query, key);
      scores = tf.mul(concatWeight, tf.sum(tf.tanh(scale ? tf.mul(scale, sum) : sum), -1));
    }
    return applyScores(c, scores, value, ctx);
  },
}) as unknown as AttentionLayerFunction<LayerArgs<typeof ATTENTION_PROPS>>;

/**
 * `layer_additive_attention(inputs, use_scale = TRUE, dropout = 0, ...)`: additive (Bahdanau-style)
 * attention, scores `sum(scale * tanh(query + key))`, on `[query, value]` or `[query, value, key]`.
 *
 * @example
 * const query = layer_input({ shape: [4, 8] });
 * const value = layer_input({ shape: [6, 8] });
 * const context = layer_additive_attention([query, value]); // shape (NA, 4, 8)
 */
export const layer_additive_attention = defineLayer({
  className: "AdditiveAttention",
  fn: "layer_additive_attention",
  props: ADDITIVE_ATTENTION_PROPS,
  defaults: { use_scale: true, ...SHARED_DEFAULTS },
  inputs: "many",
  callArgs: CALL_ARGS,
  outputShape: (c, shapes) => outputShapes("layer_additive_attention", c.return_attention_scores, shapes),
  weights: (c, [query]) =>
    c.use_scale
      ? [
          {
            name: "scale",
            shape: [featuresOf("layer_additive_attention", "query", query)],
            initializer: initializerSpec("glorot_uniform"),
            trainable: true,
          },
        ]
      : [],
  forward: (c, ctx) => {
    const [query, value, key = value] = ctx.inputs;
    const terms = tf.tanh(pairwiseSum(query, key));
    const scores = tf.sum(c.use_scale ? tf.mul(ctx.weights[0], terms) : terms, -1);
    return applyScores(c, scores, value, ctx);
  },
}) as unknown as AttentionLayerFunction<LayerArgs<typeof ADDITIVE_ATTENTION_PROPS>>;
