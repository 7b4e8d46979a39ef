/** layer_embedding: integer tokens → dense vectors (`embeddings[token]`), optionally masking token 0. */
import { Bool, Nullable, PositiveInt } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import { formatShape } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { initializerSpec } from "../../ops/initializers.js";
import { ConstraintArg, InitializerArg, RegularizerArg, activityLoss } from "../common.js";
import { tf } from "../../backend/tf.js";
import { indexProblem } from "../../backend/convert.js";

/**
 * `layer_embedding(object, input_dim, output_dim, ...)`: integer tokens to dense vectors.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [20] }), layer_embedding({ input_dim: 1000, output_dim: 16, mask_zero: true }));
 */
export const layer_embedding = defineLayer({
  className: "Embedding",
  fn: "layer_embedding",
  props: {
    /** Vocabulary size (largest token + 1); not an input shape here, unlike other layers. */
    input_dim: PositiveInt,
    /** Dimension of the dense embedding. */
    output_dim: PositiveInt,
    /** Initializer of the `embeddings` matrix. */
    embeddings_initializer: InitializerArg,
    /** Regularizer applied to the `embeddings` matrix. */
    embeddings_regularizer: RegularizerArg,
    /** Regularizer applied to the output of the layer. */
    activity_regularizer: RegularizerArg,
    /** Constraint applied to the `embeddings` matrix. */
    embeddings_constraint: ConstraintArg,
    /** Whether token 0 is padding: later layers skip those timesteps. */
    mask_zero: Bool,
    /** Keras 2: the sequence length, which sets the input shape `(input_length)`. */
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
