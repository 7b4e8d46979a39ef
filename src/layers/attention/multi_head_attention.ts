/**
 * layer_multi_head_attention: `num_heads` attention heads, each projecting query, key and value
 * (Keras's EinsumDense sublayers "query", "key", "value"), scaled dot-product attention per head, and
 * the heads' outputs projected back ("attention_output"). Masks: the query mask, value mask and key
 * mask (from the inputs) and the causal mask combine into one attention mask; the output mask is the
 * query mask.
 */
import * as t from "io-ts";
import { Int, Nullable, PositiveInt, Rate, described, type ConfigOf } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer, type LayerArgs } from "../../model/layer.js";
import { product } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { tf, type Tensor } from "../../backend/tf.js";
import { KERNEL_LAYER_DEFAULTS, KERNEL_LAYER_PROPS, activityLoss, denseApply, kernelWeights } from "../common.js";
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
  type AttentionLayerFunctionWith,
} from "./common.js";

const FN = "layer_multi_head_attention";

// MultiHeadAttention has the kernel-layer arguments except an activation.
const { activation: _activation, ...KERNEL_PROPS } = KERNEL_LAYER_PROPS;
const { activation: _linear, ...KERNEL_DEFAULTS } = KERNEL_LAYER_DEFAULTS;

const MULTI_HEAD_ATTENTION_PROPS = {
  /** The number of attention heads. */
  num_heads: PositiveInt,
  /** The size of each head's query and key projections. */
  key_dim: PositiveInt,
  /** The size of each head's value projection (NULL: `key_dim`). */
  value_dim: Nullable(PositiveInt),
  /** The fraction of the attention scores to drop while training. */
  dropout: Rate,
  /** The output shape without the batch and query-step axes (NULL: the query's features). */
  output_shape: Nullable(
    described(t.union([PositiveInt, t.array(PositiveInt)]), "a positive integer or a vector of them"),
  ),
  /** The axes attention is applied over (NULL: every axis but batch, heads and features; for sequences the steps). */
  attention_axes: Nullable(described(t.union([Int, t.array(Int)]), "an integer axis or a vector of them")),
  /** The seed of the dropout draws (NULL: the global stream of set_random_seed()). */
  seed: Seed,
  ...KERNEL_PROPS,
  ...CALL_PROPS,
};
type MultiHeadAttentionConfig = ConfigOf<typeof MULTI_HEAD_ATTENTION_PROPS>;

const valueDim = (c: MultiHeadAttentionConfig) => c.value_dim ?? c.key_dim;
const outputDims = (c: MultiHeadAttentionConfig, query: Shape): number[] =>
  c.output_shape === null
    ? [featuresOf(FN, "query", query)]
    : typeof c.output_shape === "number"
      ? [c.output_shape]
      : [...c.output_shape];

/** Whether Keras computes the attention by its own softmax (which zeros fully masked rows) or by dot_product_attention. */
const keepsOwnSoftmax = (c: MultiHeadAttentionConfig) => c.dropout > 0 || c.return_attention_scores;

/**
 * `layer_multi_head_attention(inputs, num_heads, key_dim, value_dim = NULL, dropout = 0, use_bias = TRUE,
 * output_shape = NULL, attention_axes = NULL, kernel_initializer = "glorot_uniform", ...)`: multi-head
 * attention of `query` over `value` on the list `[query, value]` or `[query, value, key]` (R keras3:
 * `layer_multi_head_attention(list(query, value), ...)`; self-attention: `[x, x]`).
 *
 * @example
 * const x = layer_input({ shape: [10, 16] });
 * const y = layer_multi_head_attention([x, x], { num_heads: 2, key_dim: 8, use_causal_mask: true }); // (NA, 10, 16)
 */
export const layer_multi_head_attention = defineLayer({
  className: "MultiHeadAttention",
  fn: FN,
  props: MULTI_HEAD_ATTENTION_PROPS,
  configProps: {
    use_gate: described(t.literal(false), "FALSE (gated attention is not supported)"),
    sliding_window: described(t.null, "NULL (sliding-window attention is not supported)"),
  },
  defaults: {
    value_dim: null,
    dropout: 0,
    output_shape: null,
    attention_axes: null,
    seed: null,
    ...KERNEL_DEFAULTS,
    ...CALL_DEFAULTS,
  },
  required: ["num_heads", "key_dim"],
  inputs: "many",
  callArgs: CALL_ARGS,
  outputShape: (c, shapes) => {
    const { query, value, key } = attentionShapes(FN, shapes);
    for (const [what, s] of [
      ["query", query],
      ["value", value],
      ["key", key],
    ] as const)
      featuresOf(FN, what, s);
    if (c.attention_axes !== null) {
      const axes = (typeof c.attention_axes === "number" ? [c.attention_axes] : c.attention_axes).map((a) =>
        a < 0 ? query.length + a : a,
      );
      if (axes.length !== 1 || axes[0] !== 1)
        throw new KerasError(
          FN,
          `\`attention_axes\` = ${JSON.stringify(c.attention_axes)}: on sequences (batch, steps, features) attention runs over the steps (axis 1); other axes are not supported`,
          "shape",
        );
    }
    const out: Shape = [query[0], query[1], ...outputDims(c, query)];
    return c.return_attention_scores ? [out, [query[0], c.num_heads, query[1], value[1]]] : [out];
  },
  weights: (c, shapes) => {
    const [query, value, key = value] = shapes;
    const dense = (input: number, out: number[], biasShape: number[]) => kernelWeights(c, [input, ...out], biasShape);
    const heads = (dim: number) => [c.num_heads, dim];
    const outDims = outputDims(c, query);
    return [
      ...dense(query[2] as number, heads(c.key_dim), heads(c.key_dim)),
      ...dense(key[2] as number, heads(c.key_dim), heads(c.key_dim)),
      ...dense(value[2] as number, heads(valueDim(c)), heads(valueDim(c))),
      // attention_output: kernel (heads, value_dim, ...output_shape)
      ...dense(c.num_heads, [valueDim(c), ...outDims], outDims),
    ];
  },
  forward: (c, { inputs, weights, masks, training }) => {
    const [query, value, key = value] = inputs;
    const [queryMask = null, valueMask = null, keyMask = null] = masks;
    const perDense = c.use_bias ? 2 : 1;
    const w = (i: number) => ({
      kernel: weights[i * perDense],
      bias: c.use_bias ? weights[i * perDense + 1] : undefined,
    });
    const [batch, tq] = query.shape as [number, number];
    const tv = value.shape[1] as number;
    const vd = valueDim(c);
    /** (batch, steps, features) projected to (batch, heads, steps, dim). */
    const project = (x: Tensor, i: number, dim: number) => {
      const { kernel, bias } = w(i);
      const flat = denseApply(
        x,
        tf.reshape(kernel, [kernel.shape[0], c.num_heads * dim]),
        bias ? tf.reshape(bias, [-1]) : undefined,
      );
      return tf.transpose(tf.reshape(flat, [batch, x.shape[1] as number, c.num_heads, dim]), [0, 2, 1, 3]);
    };
    const [q, k, v] = [project(query, 0, c.key_dim), project(key, 1, c.key_dim), project(value, 2, vd)];
    const scores = tf.matMul(tf.mul(q, 1 / Math.sqrt(c.key_dim)) as tf.Tensor4D, k as tf.Tensor4D, false, true); // (batch, heads, Tq, Tv)
    const queryRows = queryMask ? tf.expandDims(tf.cast(queryMask, "bool"), -1) : null;
    const attentionMask = allOf([
      queryRows,
      asColumns(valueMask),
      asColumns(keyMask),
      c.use_causal_mask ? causalMask(tq, tv) : null,
    ]);
    const headMask = attentionMask ? tf.expandDims(attentionMask, 1) : null;
    let probs = tf.softmax(headMask ? tf.where(headMask, scores, tf.fill(scores.shape, -1e9)) : scores, -1);
    if (headMask && keepsOwnSoftmax(c)) probs = tf.where(headMask, probs, tf.zerosLike(probs));
    const dropped = training && c.dropout > 0 ? invertedDropout(probs, c.dropout, probs.shape, nextSeed(c)) : probs;
    const heads = tf.transpose(tf.matMul(dropped as tf.Tensor4D, v as tf.Tensor4D), [0, 2, 1, 3]); // (batch, Tq, heads, vd)
    const out = w(3);
    const outDims = out.kernel.shape.slice(2);
    const projected = denseApply(
      tf.reshape(heads, [batch, tq, c.num_heads * vd]),
      tf.reshape(out.kernel, [c.num_heads * vd, product(outDims)]),
      out.bias ? tf.reshape(out.bias, [-1]) : undefined,
    );
    const output = tf.reshape(projected, [batch, tq, ...outDims]);
    // Keras regularises the activity of each of the four projections (its EinsumDense sublayers).
    const losses = [q, k, v, output].flatMap((y) => activityLoss(c.activity_regularizer, y, batch));
    return c.return_attention_scores
      ? { outputs: [output, probs], masks: [queryMask, null], losses }
      : { outputs: [output], masks: [queryMask], losses };
  },
}) as unknown as AttentionLayerFunctionWith<LayerArgs<typeof MULTI_HEAD_ATTENTION_PROPS, "num_heads" | "key_dim">>;
