/** Keras activations by name (both hard sigmoids: see KERAS_FACTS "Defaults policy"). */
import { tf, type Tensor } from "../backend/tf.js";
import { checkedTensorFunction, shapeProblem } from "./user_functions.js";

export type ActivationFn = (x: Tensor) => Tensor;
/** A resolved activation: its Keras name (for configs/summary) and the function. */
export interface Activation {
  readonly name: string;
  readonly fn: ActivationFn;
}

const selu = (x: Tensor) => tf.selu(x);
const gelu =
  (approximate: boolean): ActivationFn =>
  (x) =>
    tf.tidy(() =>
      approximate
        ? tf.mul(
            tf.mul(x, 0.5),
            tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))),
          )
        : tf.mul(tf.mul(x, 0.5), tf.add(1, erf(tf.div(x, Math.SQRT2)))),
    );
// tfjs erf is accurate to ~1e-7 on cpu/wasm
const erf = (x: Tensor) => tf.erf(x);

/** Keras 3: clip(x / 6 + 1/2, 0, 1). */
export const hardSigmoid: ActivationFn = (x) => tf.tidy(() => tf.clipByValue(tf.add(tf.div(x, 6), 0.5), 0, 1));
/** Keras 2 / tf.keras / tfjs: clip(0.2 x + 0.5, 0, 1). */
export const hardSigmoidKeras2: ActivationFn = (x) => tf.tidy(() => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1));

/**
 * Softmax (or log-softmax) along `axis` (negative counts from the end; the caller checks its range).
 * tfjs's kernels take only the last axis, so another axis is moved last and back.
 */
export function softmaxAlong(x: Tensor, axis: number, log = false): Tensor {
  const last = (t: Tensor) => (log ? tf.logSoftmax(t, -1) : tf.softmax(t, -1));
  const a = axis < 0 ? x.rank + axis : axis;
  if (a === x.rank - 1) return last(x);
  const order = [...Array(x.rank).keys()].filter((i) => i !== a).concat(a);
  const back = order.map((_, i) => order.indexOf(i));
  return tf.tidy(() => tf.transpose(last(tf.transpose(x, order)), back));
}

const softmaxLastAxis: ActivationFn = (x) => tf.softmax(x, -1);

const ACTIVATION_FNS = {
  linear: (x: Tensor) => x,
  relu: (x: Tensor) => tf.relu(x),
  relu6: (x: Tensor) => tf.relu6(x),
  leaky_relu: (x: Tensor) => tf.leakyRelu(x, 0.2),
  elu: (x: Tensor) => tf.elu(x),
  selu,
  celu: (x: Tensor) => tf.tidy(() => tf.where(tf.greater(x, 0), x, tf.sub(tf.exp(x), 1))),
  sigmoid: (x: Tensor) => tf.sigmoid(x),
  log_sigmoid: (x: Tensor) => tf.logSigmoid(x),
  hard_sigmoid: hardSigmoid,
  hard_sigmoid_keras2: hardSigmoidKeras2,
  tanh: (x: Tensor) => tf.tanh(x),
  softmax: softmaxLastAxis,
  log_softmax: (x: Tensor) => tf.logSoftmax(x, -1),
  softplus: (x: Tensor) => tf.softplus(x),
  softsign: (x: Tensor) => tf.tidy(() => tf.div(x, tf.add(tf.abs(x), 1))),
  exponential: (x: Tensor) => tf.exp(x),
  swish: (x: Tensor) => tf.tidy(() => tf.mul(x, tf.sigmoid(x))),
  silu: (x: Tensor) => tf.tidy(() => tf.mul(x, tf.sigmoid(x))),
  hard_silu: (x: Tensor) => tf.tidy(() => tf.mul(x, hardSigmoid(x))),
  hard_swish: (x: Tensor) => tf.tidy(() => tf.mul(x, hardSigmoid(x))),
  mish: (x: Tensor) => tf.tidy(() => tf.mul(x, tf.tanh(tf.softplus(x)))),
  gelu: gelu(false),
  gelu_approximate: gelu(true),
} satisfies Record<string, ActivationFn>;

/** The Keras activations by name. */
export type ActivationName = keyof typeof ACTIVATION_FNS;
export const ACTIVATIONS: Readonly<Record<string, ActivationFn>> = Object.freeze(ACTIVATION_FNS);
export const ACTIVATION_NAMES = Object.freeze(Object.keys(ACTIVATIONS));
/** What an activation argument takes: a name, a function of a tensor, an activation resolved before, or null (linear). */
export type ActivationInput = ActivationName | ((x: Tensor) => Tensor) | Activation | null;

/** The activations resolved here (an `{ name, fn }` record from elsewhere is not one). */
const resolved = new WeakSet<object>();

/** A new frozen activation value each time, so no two layers share one (and none can be changed after it is made). */
const activationOf = (name: string, fn: ActivationFn): Activation => {
  const a = Object.freeze({ name, fn });
  resolved.add(a);
  return a;
};

/** A user activation, checked when it runs: it must return a tensor of its input's shape. */
function customActivation(f: (x: Tensor) => unknown, arg: string): Activation {
  const fn = checkedTensorFunction(`\`${arg}\` (a function)`, f, (y, x) =>
    shapeProblem(y, x.shape, "its input's shape"),
  );
  return activationOf(f.name || "custom_activation", fn);
}

/**
 * Resolves a name, a function, an activation resolved before, or null ("linear") given as argument `arg`
 * to a new Activation. Unknown names and other values return undefined.
 */
export function resolveActivation(a: unknown, arg = "activation"): Activation | undefined {
  if (a === null || a === undefined) return activationOf("linear", ACTIVATIONS.linear);
  if (typeof a === "string") return Object.hasOwn(ACTIVATIONS, a) ? activationOf(a, ACTIVATIONS[a]) : undefined;
  if (typeof a === "function") return customActivation(a as (x: Tensor) => unknown, arg);
  if (isActivation(a)) return activationOf(a.name, a.fn);
  return undefined;
}

/** TRUE for an Activation resolved by resolveActivation (`{ name, fn }`). */
export function isActivation(x: unknown): x is Activation {
  return typeof x === "object" && x !== null && resolved.has(x);
}
