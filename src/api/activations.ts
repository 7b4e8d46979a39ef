/** `activation_*()` functions (R names): Keras activations applied to a tensor or a nested array. */
import { ACTIVATIONS, softmaxAlong } from "../ops/activations.js";
import { resolveAxis } from "../layers/core/axes.js";
import { tf, type Tensor } from "../backend/tf.js";
import { toTensorData } from "../backend/convert.js";
import { Bool, Int, decodeArgs } from "../args.js";

/** Numbers nested to any depth (a scalar, a vector, a matrix, ...). */
type NestedNumbers = number | readonly NestedNumbers[];
/** What `activation_*()` takes: a tensor, or numbers nested to any rank. */
export type ActivationInput = Tensor | NestedNumbers;

/** Runs `f` on `x` (a tensor, or data converted to one and freed afterwards), as `fn`. */
function applyTo(fn: string, x: unknown, f: (t: Tensor) => Tensor): Tensor {
  const { tensor, owned } = toTensorData(fn, x, "`x`");
  try {
    return tf.tidy(() => {
      const y = f(tensor);
      return y === tensor ? tensor.clone() : y;
    });
  } finally {
    if (owned) tensor.dispose();
  }
}

const wrap = (name: string) => (x: ActivationInput) => applyTo(`activation_${name}`, x, ACTIVATIONS[name]);
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
export const activation_softplus = wrap("softplus");
export const activation_softsign = wrap("softsign");
export const activation_exponential = wrap("exponential");
export const activation_swish = wrap("swish");
export const activation_silu = wrap("silu");
export const activation_hard_silu = wrap("hard_silu");
export const activation_mish = wrap("mish");

/** Softmax or log-softmax along `args.axis` (any axis of any rank, negative from the end), as `fn`. */
function softmaxActivation(fn: string, x: unknown, args: { axis?: number }, log: boolean): Tensor {
  const { axis } = decodeArgs(fn, { axis: Int }, args, { axis: -1 });
  return applyTo(fn, x, (t) => softmaxAlong(t, resolveAxis(fn, axis, t.shape, "`axis`", true), log));
}

/** `activation_softmax(x, axis = -1)`. */
export function activation_softmax(x: ActivationInput, args: { axis?: number } = {}): Tensor {
  return softmaxActivation("activation_softmax", x, args, false);
}

/** `activation_log_softmax(x, axis = -1)`. */
export function activation_log_softmax(x: ActivationInput, args: { axis?: number } = {}): Tensor {
  return softmaxActivation("activation_log_softmax", x, args, true);
}

/** `activation_gelu(x, approximate = FALSE)`. */
export function activation_gelu(x: ActivationInput, args: { approximate?: boolean } = {}): Tensor {
  const { approximate } = decodeArgs("activation_gelu", { approximate: Bool }, args, { approximate: false });
  return applyTo("activation_gelu", x, ACTIVATIONS[approximate ? "gelu_approximate" : "gelu"]);
}
