/**
 * The custom layers of the tests, written with new_layer_class(); test/integration/keras/custom_layers.py
 * defines the same classes in Python for the Keras oracle.
 */
import { tf } from "../../src/backend/tf.js";
import { new_layer_class, regularizer_l2 } from "../../src/index.js";

/** tanh(x . kernel * scale + bias) + offset; `offset` is declared first but is not trainable. */
export const layer_scaled_dense = new_layer_class({
  classname: "ScaledDense",
  arguments: { units: 4, scale: 1 },
  build: (input_shape, { config, add_weight }) => ({
    offset: add_weight({ shape: [config.units], initializer: "ones", trainable: false }),
    kernel: add_weight({ shape: [input_shape.at(-1)!, config.units], regularizer: regularizer_l2(0.01) }),
    bias: add_weight({ shape: [config.units], initializer: "zeros" }),
  }),
  call: (x, { weights: w, config }) =>
    tf.add(
      tf.tanh(tf.add(tf.mul(tf.matMul(x as tf.Tensor2D, w.kernel as tf.Tensor2D), config.scale), w.bias)),
      w.offset,
    ),
});

/** The mean over the unmasked timesteps times a learnable per-feature gain; consumes the mask. */
export const layer_masked_mean = new_layer_class({
  classname: "MaskedMean",
  build: (input_shape, { add_weight }) => ({ gain: add_weight({ shape: [input_shape.at(-1)!], initializer: "ones" }) }),
  call: (x, { weights, mask }) => {
    if (!mask) return tf.mul(tf.mean(x, 1), weights.gain);
    const m = tf.expandDims(tf.cast(mask, "float32"), -1);
    return tf.mul(tf.div(tf.sum(tf.mul(x, m), 1), tf.maximum(tf.sum(m, 1), 1)), weights.gain);
  },
  compute_mask: () => null,
});
