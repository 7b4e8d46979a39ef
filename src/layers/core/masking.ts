/** layer_masking: marks timesteps whose features all equal `mask_value` as masked and zeroes them. */
import { Num } from "../../args.js";
import { defineLayer } from "../../model/layer.js";
import { expectRank } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { tf } from "../../backend/tf.js";

/**
 * `layer_masking(object, mask_value = 0)`: later layers skip the timesteps whose features all equal `mask_value`.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [null, 3] }), layer_masking({ mask_value: 0 }), layer_lstm({ units: 4 }));
 */
export const layer_masking = defineLayer({
  className: "Masking",
  fn: "layer_masking",
  props: {
    /** The value that marks a padded timestep (all of its features equal it). */
    mask_value: Num,
  },
  defaults: { mask_value: 0 },
  outputShape: (_c, [input]) => {
    expectRank("layer_masking", input, [2, 3, 4, 5], "an input with a feature axis");
    return [input as Shape];
  },
  forward: (c, { inputs: [x] }) => {
    // Keras: mask = any(x != mask_value, axis = -1); output = x * mask (masked steps become zeros).
    // Written as sign(max |x - v|) because tfjs's NotEqual and Any have no gradient: this form keeps
    // gradients w.r.t. the input computable through the layer (the mask's own gradient is zero).
    const keep = tf.cast(tf.sign(tf.max(tf.abs(tf.sub(x, c.mask_value)), -1)), "bool");
    return { outputs: [tf.mul(x, tf.expandDims(tf.cast(keep, x.dtype), -1))], masks: [keep] };
  },
});
