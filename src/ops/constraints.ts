/** Keras weight constraints, applied after each optimizer update. */
import { tf, type Tensor } from "../backend/tf.js";
import { Int, NonNegativeNum, checkArgs, decodeArgs, isPlainRecord, type Props, refusingUnused } from "../args.js";
import { checkedTensorFunction, shapeProblem } from "./user_functions.js";

export interface ConstraintSpec {
  readonly class_name: "MaxNorm" | "NonNeg" | "UnitNorm" | "MinMaxNorm" | "Custom";
  readonly config: Readonly<Record<string, number>>;
  readonly fn?: (w: Tensor) => Tensor;
}

/**
 * What a constraint argument takes: "max_norm", "non_neg", "unit_norm", a constraint_*() value, a Keras
 * `{ class_name, config }` record, a function of the weight returning its constrained value, or null.
 */
export type ConstraintInput =
  | "max_norm"
  | "maxnorm"
  | "non_neg"
  | "nonneg"
  | "unit_norm"
  | "unitnorm"
  | ConstraintSpec
  | { readonly class_name: string; readonly config?: Readonly<Record<string, unknown>> }
  | ((w: Tensor) => Tensor)
  | null;

/** Each class's arguments (= Keras config keys) and defaults, for constraint_*() and `{ class_name, config }`. */
const CLASSES: Readonly<Record<string, { fn: string; props: Props; defaults: Record<string, number> }>> = {
  MaxNorm: {
    fn: "constraint_maxnorm",
    props: { max_value: NonNegativeNum, axis: Int },
    defaults: { max_value: 2, axis: 0 },
  },
  NonNeg: { fn: "constraint_nonneg", props: {}, defaults: {} },
  UnitNorm: { fn: "constraint_unitnorm", props: { axis: Int }, defaults: { axis: 0 } },
  MinMaxNorm: {
    fn: "constraint_minmaxnorm",
    props: { min_value: NonNegativeNum, max_value: NonNegativeNum, rate: NonNegativeNum, axis: Int },
    defaults: { min_value: 0, max_value: 1, rate: 1, axis: 0 },
  },
};

const constraint = (class_name: ConstraintSpec["class_name"], config: Record<string, number>): ConstraintSpec =>
  Object.freeze({ class_name, config: Object.freeze(config) });

const make = (class_name: keyof typeof CLASSES & ConstraintSpec["class_name"], args: unknown) => {
  const c = CLASSES[class_name];
  return constraint(class_name, decodeArgs(c.fn, c.props, args, c.defaults));
};

/**
 * `constraint_maxnorm(max_value = 2, axis = 0)`: rescales weights whose norm along `axis` exceeds max_value.
 *
 * @example
 * layer_dense({ units: 4, kernel_constraint: constraint_maxnorm({ max_value: 2 }) });
 */
export const constraint_maxnorm = refusingUnused(
  "constraint_maxnorm",
  ["args"],
  (args: { max_value?: number; axis?: number } = {}): ConstraintSpec => make("MaxNorm", args),
);
/**
 * `constraint_nonneg()`: negative weights become zero.
 *
 * @example
 * layer_dense({ units: 4, kernel_constraint: constraint_nonneg() });
 */
export const constraint_nonneg = refusingUnused("constraint_nonneg", [], (): ConstraintSpec =>
  constraint("NonNeg", {}),
);
/**
 * `constraint_unitnorm(axis = 0)`: weights divided by their norm along `axis`.
 *
 * @example
 * layer_dense({ units: 4, kernel_constraint: constraint_unitnorm({ axis: 0 }) });
 */
export const constraint_unitnorm = refusingUnused(
  "constraint_unitnorm",
  ["args"],
  (args: { axis?: number } = {}): ConstraintSpec => make("UnitNorm", args),
);
/**
 * `constraint_minmaxnorm(min_value = 0, max_value = 1, rate = 1, axis = 0)`.
 *
 * @example
 * layer_dense({ units: 4, kernel_constraint: constraint_minmaxnorm({ min_value: 0.5, max_value: 1 }) });
 */
export const constraint_minmaxnorm = refusingUnused(
  "constraint_minmaxnorm",
  ["args"],
  (args: { min_value?: number; max_value?: number; rate?: number; axis?: number } = {}): ConstraintSpec =>
    make("MinMaxNorm", args),
);

/** The custom specs made here (a `{ class_name: "Custom", fn }` record from elsewhere is not one). */
const customSpecs = new WeakSet<object>();

/** A user constraint, checked when it runs: it must return the weights' new values, same shape. */
function customConstraint(f: (w: Tensor) => unknown, arg: string): ConstraintSpec {
  const fn = checkedTensorFunction(`\`${arg}\` (a function of the weights)`, f, (v, w) =>
    shapeProblem(v, w.shape, "the weights' shape"),
  );
  const s = Object.freeze({ class_name: "Custom" as const, config: Object.freeze({}), fn });
  customSpecs.add(s);
  return s;
}

/**
 * Resolves what a user gave as constraint argument `arg` (a name, a constraint_*() value, a Keras
 * `{ class_name, config }` record, a function or null): the spec, null, a problem (text completing
 * "`arg` ..."), or undefined when it is not a constraint at all.
 */
export function resolveConstraint(v: unknown, arg = "constraint"): ConstraintSpec | null | string | undefined {
  if (v === null) return null;
  if (v === "max_norm" || v === "maxnorm") return constraint_maxnorm();
  if (v === "non_neg" || v === "nonneg") return constraint_nonneg();
  if (v === "unit_norm" || v === "unitnorm") return constraint_unitnorm();
  if (typeof v === "function") return customConstraint(v as (w: Tensor) => unknown, arg);
  if (!isPlainRecord(v) || typeof v.class_name !== "string") return undefined;
  if (customSpecs.has(v)) return v as unknown as ConstraintSpec;
  if (!Object.hasOwn(CLASSES, v.class_name))
    return `names an unknown constraint class ${JSON.stringify(v.class_name)} (known: ${Object.keys(CLASSES).join(", ")})`;
  const c = CLASSES[v.class_name];
  const r = checkArgs(c.props, v.config ?? {}, c.defaults);
  if (r.problems) return `is not a valid ${v.class_name} constraint: ${r.problems.join("; ")}`;
  return constraint(v.class_name as ConstraintSpec["class_name"], r.value);
}

/** Why `spec` cannot constrain a weight of `shape` (its axis is outside the weight's axes), or null. */
export function constraintShapeProblem(spec: ConstraintSpec, shape: readonly number[]): string | null {
  const axis = spec.config.axis;
  if (axis === undefined || (axis >= -shape.length && axis < shape.length)) return null;
  return `axis ${axis} is not an axis of a weight of shape [${shape.join(", ")}]`;
}

const EPS = 1e-7;

export function applyConstraint(spec: ConstraintSpec, w: Tensor): Tensor {
  return tf.tidy(() => {
    if (spec.fn) return spec.fn(w);
    const c = spec.config;
    switch (spec.class_name) {
      case "NonNeg":
        return tf.mul(w, tf.cast(tf.greaterEqual(w, 0), w.dtype));
      case "MaxNorm": {
        const norms = tf.sqrt(tf.sum(tf.square(w), c.axis, true));
        const desired = tf.clipByValue(norms, 0, c.max_value);
        return tf.mul(w, tf.div(desired, tf.add(norms, EPS)));
      }
      case "UnitNorm":
        return tf.div(w, tf.add(tf.sqrt(tf.sum(tf.square(w), c.axis, true)), EPS));
      case "MinMaxNorm": {
        const norms = tf.sqrt(tf.sum(tf.square(w), c.axis, true));
        const desired = tf.add(
          tf.mul(c.rate, tf.clipByValue(norms, c.min_value, c.max_value)),
          tf.mul(1 - c.rate, norms),
        );
        return tf.mul(w, tf.div(desired, tf.add(norms, EPS)));
      }
      default:
        return w;
    }
  });
}
