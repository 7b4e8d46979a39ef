/**
 * layer_activation (any activation function) and the activation layers with their own arguments:
 * layer_activation_relu, _leaky_relu, _elu, _parametric_relu (learned slopes), _softmax (mask-aware),
 * and layer_identity.
 */
import * as t from "io-ts";
import { NonNegativeNum, Nullable, Num, PositiveInt, described } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import { formatShape } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { initializerSpec } from "../../ops/initializers.js";
import { tf, type Tensor } from "../../backend/tf.js";
import { ActivationArg, ConstraintArg, InitializerArg, RegularizerArg } from "../common.js";
import { AxisArg, resolveAxis } from "./axes.js";

/**
 * `layer_activation(object, activation)`: applies an activation function element-wise.
 *
 * @example
 * const y = layer_activation([[-1, 2]], { activation: "relu" }); // [[0, 2]]
 */
export const layer_activation = defineLayer({
  className: "Activation",
  fn: "layer_activation",
  props: {
    /** The activation: a name ("relu", "tanh", ...) or a function of a tensor. */
    activation: ActivationArg,
  },
  defaults: {},
  required: ["activation"],
  outputShape: (_c, [input]) => [input],
  forward: (c, { inputs: [x] }) => ({ outputs: [c.activation.fn(x)] }),
});

/**
 * `layer_activation_relu(object, max_value = NULL, negative_slope = 0, threshold = 0)`: Keras's relu,
 * `x` above `threshold` (capped at `max_value`), `negative_slope * (x - threshold)` below it.
 *
 * @example
 * const y = layer_activation_relu([[-2, 1, 8]], { max_value: 6 }); // [[0, 1, 6]]
 */
export const layer_activation_relu = defineLayer({
  className: "ReLU",
  fn: "layer_activation_relu",
  props: {
    /** The largest output (NULL: no cap). */
    max_value: Nullable(NonNegativeNum),
    /** The slope below the threshold. */
    negative_slope: NonNegativeNum,
    /** The value below which the output is `negative_slope * (x - threshold)`. */
    threshold: Num,
  },
  defaults: { max_value: null, negative_slope: 0, threshold: 0 },
  outputShape: (_c, [input]) => [input],
  forward: (c, { inputs: [x] }) => {
    // Keras 3 activations.relu, term by term (its gradients at the kinks included).
    const negativePart = c.negative_slope !== 0 ? tf.relu(tf.sub(c.threshold, x)) : null;
    let y = c.threshold !== 0 ? tf.mul(x, tf.cast(tf.greater(x, c.threshold), x.dtype)) : tf.relu(x);
    if (c.max_value !== null) y = tf.clipByValue(y, 0, c.max_value);
    if (negativePart) y = tf.sub(y, tf.mul(c.negative_slope, negativePart));
    return { outputs: [y] };
  },
});

/**
 * `layer_activation_leaky_relu(object, negative_slope = 0.3)`: `x` for x >= 0, `negative_slope * x` below.
 *
 * @example
 * const y = layer_activation_leaky_relu([[-2, 1]]); // [[-0.6, 1]]
 */
export const layer_activation_leaky_relu = defineLayer({
  className: "LeakyReLU",
  fn: "layer_activation_leaky_relu",
  props: {
    /** The slope for negative inputs. */
    negative_slope: NonNegativeNum,
  },
  defaults: { negative_slope: 0.3 },
  outputShape: (_c, [input]) => [input],
  forward: (c, { inputs: [x] }) => ({ outputs: [tf.leakyRelu(x, c.negative_slope)] }),
});

/**
 * `layer_activation_elu(object, alpha = 1)`: `x` for x > 0, `alpha * (exp(x) - 1)` below.
 *
 * @example
 * const y = layer_activation_elu([[-1, 2]]); // [[-0.632, 2]]
 */
export const layer_activation_elu = defineLayer({
  className: "ELU",
  fn: "layer_activation_elu",
  props: {
    /** The scale of the negative part. */
    alpha: Num,
  },
  defaults: { alpha: 1 },
  outputShape: (_c, [input]) => [input],
  forward: (c, { inputs: [x] }) => ({
    outputs: [tf.where(tf.greater(x, 0), x, tf.mul(c.alpha, tf.sub(tf.exp(tf.minimum(x, 0)), 1)))],
  }),
});

/**
 * `layer_activation_parametric_relu(object, alpha_initializer = "zeros", alpha_regularizer = NULL,
 * alpha_constraint = NULL, shared_axes = NULL)`: `x` for x >= 0, `alpha * x` below, with `alpha` learned
 * per input element (shared along `shared_axes`).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [5, 3] }), layer_activation_parametric_relu({ shared_axes: 1 }));
 */
export const layer_activation_parametric_relu = defineLayer({
  className: "PReLU",
  fn: "layer_activation_parametric_relu",
  props: {
    /** Initializer of the slopes `alpha`. */
    alpha_initializer: InitializerArg,
    /** Regularizer of `alpha`. */
    alpha_regularizer: RegularizerArg,
    /** Constraint of `alpha`. */
    alpha_constraint: ConstraintArg,
    /** Axes (batch axis = 0) along which one slope is shared, e.g. the steps of a sequence. */
    shared_axes: Nullable(
      described(t.union([PositiveInt, t.array(PositiveInt)]), "a positive axis or a vector of them"),
    ),
  },
  defaults: {
    alpha_initializer: initializerSpec("zeros"),
    alpha_regularizer: null,
    alpha_constraint: null,
    shared_axes: null,
  },
  outputShape: (c, [input]) => {
    alphaShape(c.shared_axes, input);
    return [input];
  },
  weights: (c, [input]) => [
    {
      name: "alpha",
      shape: alphaShape(c.shared_axes, input),
      initializer: c.alpha_initializer,
      trainable: true,
      regularizer: c.alpha_regularizer,
      constraint: c.alpha_constraint,
    },
  ],
  forward: (_c, { inputs: [x], weights: [alpha] }) => ({
    outputs: [tf.sub(tf.relu(x), tf.mul(alpha, tf.relu(tf.neg(x))))],
  }),
});

/** PReLU's `alpha` shape: the input's without the batch axis, 1 along the shared axes. */
function alphaShape(sharedAxes: number | number[] | null, input: Shape): number[] {
  const fn = "layer_activation_parametric_relu";
  const shared = sharedAxes === null ? [] : typeof sharedAxes === "number" ? [sharedAxes] : sharedAxes;
  for (const a of shared)
    if (a >= input.length)
      throw new KerasError(
        fn,
        `\`shared_axes\` = ${a} is out of range for an input of shape ${formatShape(input)}`,
        "shape",
      );
  return input.slice(1).map((d, i) => {
    if (shared.includes(i + 1)) return 1;
    if (d === null)
      throw new KerasError(
        fn,
        `axis ${i + 1} of the input ${formatShape(input)} must be known or shared (\`shared_axes\`)`,
        "shape",
      );
    return d;
  });
}

/**
 * `layer_activation_softmax(object, axis = -1)`: softmax along `axis`. With a mask (broadcast against
 * the input from its last axes, as Keras does) masked positions get no weight and output 0.
 *
 * @example
 * const y = layer_activation_softmax([[1, 2, 3]]);
 */
export const layer_activation_softmax = defineLayer({
  className: "Softmax",
  fn: "layer_activation_softmax",
  props: {
    /** The axis (or axes) the softmax normalises over; -1: the last. */
    axis: described(t.union([AxisArg, t.array(AxisArg)]), "an integer axis or a vector of them"),
  },
  defaults: { axis: -1 },
  outputShape: (c, [input]) => {
    for (const a of typeof c.axis === "number" ? [c.axis] : c.axis) resolveAxis("layer_activation_softmax", a, input);
    return [input];
  },
  forward: (c, { inputs: [x], masks: [mask] }) => {
    const axes = (typeof c.axis === "number" ? [c.axis] : c.axis).map((a) => (a < 0 ? x.rank + a : a));
    const keep = mask ? broadcastMask(mask, x) : null;
    const z = keep ? tf.where(keep, x, tf.fill(x.shape, -1e9)) : x;
    // exp(z - logsumexp(z)) over several axes, as Keras
    const y = axes.length === 1 ? softmaxAlong(z, axes[0]) : tf.exp(tf.sub(z, tf.logSumExp(z, axes, true)));
    return { outputs: [keep ? tf.where(keep, y, tf.zerosLike(y)) : y] };
  },
});

/** Softmax along one axis (tf.softmax works on the last). */
function softmaxAlong(x: Tensor, axis: number): Tensor {
  if (axis === x.rank - 1) return tf.softmax(x, -1);
  const perm = x.shape.map((_, i) => i);
  [perm[axis], perm[x.rank - 1]] = [perm[x.rank - 1], perm[axis]];
  return tf.transpose(tf.softmax(tf.transpose(x, perm), -1), perm);
}

/** Keras Softmax's mask rule: aligned with the input's last axes, each dim 1 or the input's. */
function broadcastMask(mask: Tensor, x: Tensor): Tensor {
  const lead = x.rank - mask.rank;
  const fits = lead >= 0 && mask.shape.every((d, i) => d === 1 || d === x.shape[lead + i]);
  if (!fits)
    throw new KerasError(
      "layer_activation_softmax",
      `the mask of shape ${formatShape(mask.shape)} must broadcast to the input's ${formatShape(x.shape)} (aligned at the last axis)`,
      "shape",
    );
  return tf.broadcastTo(tf.reshape(tf.cast(mask, "bool"), [...Array(lead).fill(1), ...mask.shape]), x.shape);
}

/**
 * `layer_identity(object)`: returns its input unchanged (and passes its mask on).
 *
 * @example
 * const y = layer_identity([[1, 2]]); // [[1, 2]]
 */
export const layer_identity = defineLayer({
  className: "Identity",
  fn: "layer_identity",
  props: {},
  defaults: {},
  outputShape: (_c, [input]) => [input],
  forward: (_c, { inputs: [x] }) => ({ outputs: [x] }),
});
