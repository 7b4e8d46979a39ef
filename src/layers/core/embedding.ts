/** layer_embedding: integer tokens → dense vectors (`embeddings[token]`), optionally masking token 0. */
import { Bool, Nullable, PositiveInt } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import { formatShape } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { initializerSpec, type InitializerSpec } from "../../ops/initializers.js";
import type { RegularizerSpec } from "../../ops/regularizers.js";
import type { ConstraintSpec } from "../../ops/constraints.js";
import { ConstraintArg, InitializerArg, RegularizerArg, activityLoss } from "../common.js";
import { tf } from "../../backend/tf.js";
import { indexProblem } from "../../backend/convert.js";

export interface EmbeddingConfig {
  /** Vocabulary size (largest token + 1); not an input shape here, unlike other layers. */
  input_dim: number;
  output_dim: number;
  embeddings_initializer: InitializerSpec;
  embeddings_regularizer: RegularizerSpec | null;
  activity_regularizer: RegularizerSpec | null;
  embeddings_constraint: ConstraintSpec | null;
  mask_zero: boolean;
  /** Keras 2: the sequence length, which sets the input shape `(input_length)`. */
  input_length: number | null;
}

export const layer_embedding = defineLayer<EmbeddingConfig>({
  className: "Embedding",
  fn: "layer_embedding",
  props: {
    input_dim: PositiveInt,
    output_dim: PositiveInt,
    embeddings_initializer: InitializerArg,
    embeddings_regularizer: RegularizerArg,
    activity_regularizer: RegularizerArg,
    embeddings_constraint: ConstraintArg,
    mask_zero: Bool,
    input_length: Nullable(PositiveInt),
  },
  defaults: {
    embeddings_initializer: initializerSpec("random_uniform", { minval: -0.05, maxval: 0.05 }),
    embeddings_regularizer: null,
    activity_regularizer: null,
    embeddings_constraint: null,
    mask_zero: false,
    input_length: null,
  },
  required: ["input_dim", "output_dim"],
  impliedInputShape: (c) => (c.input_length ? [c.input_length] : null),
  outputShape: (c, [input]) => {
    if (c.input_length !== null && input.length >= 2 && input[1] !== null && input[1] !== c.input_length) {
      throw new KerasError(
        "layer_embedding",
        `\`input_length\` = ${c.input_length} does not match the input shape ${formatShape(input)}`,
        "shape",
      );
    }
    return [[...input, c.output_dim] as Shape];
  },
  weights: (c) => [
    {
      name: "embeddings",
      shape: [c.input_dim, c.output_dim],
      initializer: c.embeddings_initializer,
      trainable: true,
      regularizer: c.embeddings_regularizer,
      constraint: c.embeddings_constraint,
    },
  ],
  inputProblem: (c, x) => indexProblem(x, c.input_dim, "`input_dim`"),
  forward: (c, { inputs: [x], weights: [embeddings] }) => {
    // Tokens arrive as float data; gather needs int32 indices (its gradient is UnsortedSegmentSum).
    const y = tf.gather(embeddings, tf.cast(x, "int32"));
    return {
      outputs: [y],
      masks: [c.mask_zero ? tf.notEqual(x, 0) : null],
      losses: activityLoss(c.activity_regularizer, y, x.shape[0]),
    };
  },
});
