/** `activation_*()` functions (R names) applying Keras activations to tensors. */
import { ACTIVATIONS } from "../ops/activations.js";
import type { Tensor } from "../backend/tf.js";
import { tf } from "../backend/tf.js";

const wrap = (name: string) => (x: Tensor) => ACTIVATIONS[name](x);
export const activation_linear = wrap("linear");
export const activation_relu = wrap("relu");
export const activation_relu6 = wrap("relu6");
export const activation_leaky_relu = wrap("leaky_relu");
export const activation_elu = wrap("elu");
export const activation_selu = wrap("selu");
export const activation_celu = wrap("celu");
export const activation_sigmoid = wrap("sigmoid");
export const activation_log_sigmoid = wrap("log_sigmoid");
/** Keras 3 hard sigmoid: clip(x / 6 + 1/2, 0, 1). */
export const activation_hard_sigmoid = wrap("hard_sigmoid");
/** Keras 2 / R keras <= 2.6 hard sigmoid: clip(0.2 x + 0.5, 0, 1). */
export const activation_hard_sigmoid_keras2 = wrap("hard_sigmoid_keras2");
export const activation_tanh = wrap("tanh");
export const activation_softmax = (x: Tensor, axis = -1) => tf.softmax(x, axis);
export const activation_log_softmax = (x: Tensor, axis = -1) => tf.logSoftmax(x, axis);
export const activation_softplus = wrap("softplus");
export const activation_softsign = wrap("softsign");
export const activation_exponential = wrap("exponential");
export const activation_swish = wrap("swish");
export const activation_silu = wrap("silu");
export const activation_hard_silu = wrap("hard_silu");
export const activation_mish = wrap("mish");
export const activation_gelu = (x: Tensor, approximate = false) => ACTIVATIONS[approximate ? "gelu_approximate" : "gelu"](x);
