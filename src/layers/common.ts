/** Argument codecs shared by layer families: activations, initializers, regularizers, constraints. */
import * as t from "io-ts";
import { Bool, accepting, argumentName, described, type ConfigOf } from "../args.js";
import { ACTIVATION_NAMES, resolveActivation, type Activation, type ActivationInput } from "../ops/activations.js";
import {
  INITIALIZER_NAMES,
  initializerSpec,
  resolveInitializer,
  type InitializerInput,
  type InitializerSpec,
} from "../ops/initializers.js";
import { resolveRegularizer, type RegularizerInput, type RegularizerSpec } from "../ops/regularizers.js";
import { resolveConstraint, type ConstraintInput, type ConstraintSpec } from "../ops/constraints.js";
import { tf, type Tensor } from "../backend/tf.js";
import { KerasError } from "../errors.js";
import type { WeightSpec } from "../model/types.js";

/**
 * A codec resolving what the user gave (a name, a spec, a Keras `{ class_name, config }` record, a
 * function) with `resolve(value, argument)`: a string is a problem completing "`argument` ...",
 * undefined a value of the wrong kind altogether.
 */
function resolving<A>(
  name: string,
  expected: string,
  resolve: (u: unknown, arg: string) => A | string | undefined,
  encode: (a: A) => unknown,
): t.Type<A, unknown, unknown> {
  return described(
    new t.Type<A, unknown, unknown>(
      name,
      (u): u is A => {
        const r = resolve(u, "value");
        return r !== undefined && typeof r !== "string";
      },
      (u, c) => {
        const r = resolve(u, argumentName(c));
        if (typeof r === "string") return t.failure(u, c, r);
        return r === undefined ? t.failure(u, c) : t.success(r);
      },
      encode,
    ),
    expected,
  );
}

/** An activation by name, a function, or null (linear). Decodes to `{ name, fn }`. */
export const ActivationArg = accepting<ActivationInput>()(
  resolving<Activation>(
    "Activation",
    `an activation name (${ACTIVATION_NAMES.join(", ")}), a function, or null`,
    resolveActivation,
    (a) => a.name,
  ),
);

export const InitializerArg = accepting<InitializerInput>()(
  resolving<InitializerSpec>(
    "Initializer",
    `an initializer name (${INITIALIZER_NAMES.join(", ")}), an initializer_*() value, or a function (shape) => values`,
    resolveInitializer,
    (s) => ({ class_name: s.class_name, config: s.config }),
  ),
);

export const RegularizerArg = accepting<RegularizerInput>()(
  resolving<RegularizerSpec | null>(
    "Regularizer",
    'a regularizer (regularizer_l1(), regularizer_l2(), regularizer_l1_l2(), "l1", "l2"), a function, or null',
    resolveRegularizer,
    (s) => (s ? { class_name: s.class_name, config: s.config } : null),
  ),
);

export const ConstraintArg = accepting<ConstraintInput>()(
  resolving<ConstraintSpec | null>(
    "Constraint",
    "a constraint (constraint_maxnorm(), constraint_nonneg(), constraint_unitnorm(), constraint_minmaxnorm()), a function, or null",
    resolveConstraint,
    (s) => (s ? { class_name: s.class_name, config: s.config } : null),
  ),
);

/** Serialises a decoded config for get_config(): activations by name, specs as {class_name, config}. */
export function serializeConfigValue(v: unknown): unknown {
  if (v === null || v === undefined) return v ?? null;
  if (typeof v === "function") return v.name || "custom";
  if (Array.isArray(v)) return v.map(serializeConfigValue);
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    if ("fn" in o && "name" in o && typeof o.fn === "function" && !("class_name" in o)) return o.name; // activation
    if ("class_name" in o) return { class_name: o.class_name, config: o.config ?? {} };
    if (typeof (o as any).className === "string" && typeof (o as any).config === "object") return o; // nested layer handled by caller
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, serializeConfigValue(x)]));
  }
  return v;
}

/**
 * The get_config() entries of a layer built on TypeScript functions (layer_lambda, rnn_cell_custom):
 * the source as text, marked not serialisable, with how to rebuild the layer.
 */
export function functionConfig(source: string, rebuild: string): Record<string, unknown> {
  return {
    function: null,
    function_type: "typescript",
    function_source: source,
    serializable: false,
    note: `a TypeScript function cannot be serialised; rebuild this layer with ${rebuild}`,
  };
}

/** from_config() of such a layer: a KerasError of `fn` saying what is lost and how to rebuild it. */
export function refuseFunctionConfig(fn: string, what: string, rebuild: string): never {
  throw new KerasError(fn, `${what} cannot be restored from a config; rebuild it with ${rebuild}`, "io");
}

/** Activity regularization loss of a layer output, if the layer has an activity_regularizer. */
export function activityLoss(reg: RegularizerSpec | null | undefined, output: Tensor, batch: number): Tensor[] {
  if (!reg) return [];
  // Keras divides the activity penalty by the batch size.
  return [tf.tidy(() => tf.div(regPenalty(reg, output), batch))];
}

import { regularizationPenalty as regPenalty } from "../ops/regularizers.js";

/** x · kernel over the last axis of x (any rank >= 2), as Keras Dense. */
export function denseApply(x: Tensor, kernel: Tensor, bias?: Tensor): Tensor {
  if (x.rank === 2) {
    // no scope to open for one or two ops (a one-step stream runs this on every call)
    const y = tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D);
    if (!bias) return y;
    const out = tf.add(y, bias);
    y.dispose();
    return out;
  }
  return tf.tidy(() => {
    const inDim = x.shape[x.shape.length - 1];
    const outDim = kernel.shape[1] as number;
    const y = tf.reshape(tf.matMul(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, kernel as tf.Tensor2D), [
      ...x.shape.slice(0, -1),
      outDim,
    ]);
    return bias ? tf.add(y, bias) : y;
  });
}

/**
 * The arguments of layers with a kernel and a bias (dense, conv): activation, use_bias, the two
 * initializers, three regularizers and two constraints, with Keras's defaults.
 */
export const KERNEL_LAYER_PROPS = {
  /** The activation applied to the output (default NULL: linear). */
  activation: ActivationArg,
  /** Whether the layer adds a bias vector. */
  use_bias: Bool,
  /** Initializer of the `kernel` weights matrix. */
  kernel_initializer: InitializerArg,
  /** Initializer of the bias vector. */
  bias_initializer: InitializerArg,
  /** Regularizer applied to the `kernel` weights matrix. */
  kernel_regularizer: RegularizerArg,
  /** Regularizer applied to the bias vector. */
  bias_regularizer: RegularizerArg,
  /** Regularizer applied to the output of the layer (its "activation"). */
  activity_regularizer: RegularizerArg,
  /** Constraint applied to the `kernel` weights matrix after each update. */
  kernel_constraint: ConstraintArg,
  /** Constraint applied to the bias vector after each update. */
  bias_constraint: ConstraintArg,
};
export type KernelLayerConfig = ConfigOf<typeof KERNEL_LAYER_PROPS>;

export const KERNEL_LAYER_DEFAULTS: KernelLayerConfig = Object.freeze({
  activation: resolveActivation("linear")!,
  use_bias: true,
  kernel_initializer: initializerSpec("glorot_uniform"),
  bias_initializer: initializerSpec("zeros"),
  kernel_regularizer: null,
  bias_regularizer: null,
  activity_regularizer: null,
  kernel_constraint: null,
  bias_constraint: null,
});

/** The `kernel` and (with `use_bias`) `bias` weight specs of a kernel layer, with its initializers, regularizers, constraints. */
export function kernelWeights(
  c: Omit<KernelLayerConfig, "activation">,
  kernelShape: number[],
  biasShape: number[],
): WeightSpec[] {
  return [
    {
      name: "kernel",
      shape: kernelShape,
      initializer: c.kernel_initializer,
      trainable: true,
      regularizer: c.kernel_regularizer,
      constraint: c.kernel_constraint,
    },
    ...(c.use_bias
      ? [
          {
            name: "bias",
            shape: biasShape,
            initializer: c.bias_initializer,
            trainable: true,
            regularizer: c.bias_regularizer,
            constraint: c.bias_constraint,
          },
        ]
      : []),
  ];
}
