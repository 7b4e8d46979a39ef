/** `activation_*()` functions (R names): Keras activations applied to a tensor or a nested array. */
import { ACTIVATIONS, softmaxAlong } from "../ops/activations.js";
import { resolveAxis } from "../layers/core/axes.js";
import { tf, type Tensor } from "../backend/tf.js";
import { toTensorData } from "../backend/convert.js";
import { Bool, Int, decodeArgs, refuseArgumentsPast, refusingUnused } from "../args.js";
import type { NestedNumbers } from "../model/dual.js";

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

const wrap = (name: string) =>
  refusingUnused(`activation_${name}`, ["x"], (x: ActivationInput) =>
    applyTo(`activation_${name}`, x, ACTIVATIONS[name]),
  );
/**
 * `activation_linear(x)`: x unchanged, element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_linear([[-1, 0, 2]]); // [[-1, 0, 2]]
 */
export const activation_linear = wrap("linear");
/**
 * `activation_relu(x)`: max(x, 0), element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_relu([[-1, 0, 2]]); // [[0, 0, 2]]
 */
export const activation_relu = wrap("relu");
/**
 * `activation_relu6(x)`: min(max(x, 0), 6), element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_relu6([[-1, 0, 2]]); // [[0, 0, 2]]
 */
export const activation_relu6 = wrap("relu6");
/**
 * `activation_leaky_relu(x)`: x, or 0.2 x below 0, element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_leaky_relu([[-1, 0, 2]]); // [[-0.2, 0, 2]]
 */
export const activation_leaky_relu = wrap("leaky_relu");
/**
 * `activation_elu(x)`: x, or exp(x) - 1 below 0, element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_elu([[-1, 0, 2]]); // [[-0.632, 0, 2]]
 */
export const activation_elu = wrap("elu");
/**
 * `activation_selu(x)`: scaled elu (Keras's constants), element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_selu([[-1, 0, 2]]);
 */
export const activation_selu = wrap("selu");
/**
 * `activation_celu(x)`: x, or exp(x) - 1 below 0 (alpha = 1), element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_celu([[-1, 0, 2]]); // [[-0.632, 0, 2]]
 */
export const activation_celu = wrap("celu");
/**
 * `activation_sigmoid(x)`: 1 / (1 + exp(-x)), element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_sigmoid([[-1, 0, 2]]); // [[0.269, 0.5, 0.881]]
 */
export const activation_sigmoid = wrap("sigmoid");
/**
 * `activation_log_sigmoid(x)`: log(sigmoid(x)), element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_log_sigmoid([[-1, 0, 2]]);
 */
export const activation_log_sigmoid = wrap("log_sigmoid");
/**
 * Keras 3 hard sigmoid: clip(x / 6 + 1/2, 0, 1).
 *
 * @example
 * activation_hard_sigmoid([[-3, 0, 3]]); // [[0, 0.5, 1]]
 */
export const activation_hard_sigmoid = wrap("hard_sigmoid");
/**
 * Keras 2 / R keras <= 2.6 hard sigmoid: clip(0.2 x + 0.5, 0, 1).
 *
 * @example
 * activation_hard_sigmoid_keras2([[-3, 0, 3]]); // [[0, 0.5, 1]]
 */
export const activation_hard_sigmoid_keras2 = wrap("hard_sigmoid_keras2");
/**
 * `activation_tanh(x)`: tanh(x), element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_tanh([[-1, 0, 2]]); // [[-0.762, 0, 0.964]]
 */
export const activation_tanh = wrap("tanh");
/**
 * `activation_softplus(x)`: log(1 + exp(x)), element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_softplus([[-1, 0, 2]]); // [[0.313, 0.693, 2.127]]
 */
export const activation_softplus = wrap("softplus");
/**
 * `activation_softsign(x)`: x / (1 + |x|), element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_softsign([[-1, 0, 2]]); // [[-0.5, 0, 0.667]]
 */
export const activation_softsign = wrap("softsign");
/**
 * `activation_exponential(x)`: exp(x), element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_exponential([[-1, 0, 2]]); // [[0.368, 1, 7.389]]
 */
export const activation_exponential = wrap("exponential");
/**
 * `activation_swish(x)`: x * sigmoid(x), element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_swish([[-1, 0, 2]]);
 */
export const activation_swish = wrap("swish");
/**
 * `activation_silu(x)`: x * sigmoid(x) (the same as swish), element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_silu([[-1, 0, 2]]);
 */
export const activation_silu = wrap("silu");
/**
 * `activation_hard_silu(x)`: x * hard_sigmoid(x), element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_hard_silu([[-1, 0, 2]]);
 */
export const activation_hard_silu = wrap("hard_silu");
/**
 * `activation_mish(x)`: x * tanh(softplus(x)), element-wise (a tensor or nested arrays in, a tensor out).
 *
 * @example
 * activation_mish([[-1, 0, 2]]);
 */
export const activation_mish = wrap("mish");

/** Softmax or log-softmax along `args.axis` (any axis of any rank, negative from the end), as `fn`. */
function softmaxActivation(fn: string, x: unknown, args: { axis?: number }, log: boolean): Tensor {
  const { axis } = decodeArgs(fn, { axis: Int }, args, { axis: -1 });
  return applyTo(fn, x, (t) => softmaxAlong(t, resolveAxis(fn, axis, t.shape, "`axis`", true), log));
}

/**
 * `activation_softmax(x, axis = -1)`.
 *
 * @example
 * activation_softmax([[1, 2, 3]]); // [[0.090, 0.245, 0.665]]
 */
export function activation_softmax(x: ActivationInput, args: { axis?: number } = {}): Tensor {
  refuseArgumentsPast("activation_softmax", ["x", "args"], arguments);
  return softmaxActivation("activation_softmax", x, args, false);
}

/**
 * `activation_log_softmax(x, axis = -1)`.
 *
 * @example
 * activation_log_softmax([[1, 2, 3]]); // [[-2.408, -1.408, -0.408]]
 */
export function activation_log_softmax(x: ActivationInput, args: { axis?: number } = {}): Tensor {
  refuseArgumentsPast("activation_log_softmax", ["x", "args"], arguments);
  return softmaxActivation("activation_log_softmax", x, args, true);
}

/**
 * `activation_gelu(x, approximate = FALSE)`.
 *
 * @example
 * activation_gelu([[-1, 0, 2]], { approximate: true });
 */
export function activation_gelu(x: ActivationInput, args: { approximate?: boolean } = {}): Tensor {
  refuseArgumentsPast("activation_gelu", ["x", "args"], arguments);
  const { approximate } = decodeArgs("activation_gelu", { approximate: Bool }, args, { approximate: false });
  return applyTo("activation_gelu", x, ACTIVATIONS[approximate ? "gelu_approximate" : "gelu"]);
}
