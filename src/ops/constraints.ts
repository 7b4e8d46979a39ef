/** Keras weight constraints, applied after each optimizer update. */
import { tf, type Tensor } from "../backend/tf.js";
import { Int, NonNegativeNum, decodeArgs } from "../args.js";

export interface ConstraintSpec {
  readonly class_name: "MaxNorm" | "NonNeg" | "UnitNorm" | "MinMaxNorm" | "Custom";
  readonly config: Readonly<Record<string, number>>;
  readonly fn?: (w: Tensor) => Tensor;
}

const constraint = (class_name: ConstraintSpec["class_name"], config: Record<string, number>): ConstraintSpec =>
  Object.freeze({ class_name, config: Object.freeze(config) });

/** `constraint_maxnorm(max_value = 2, axis = 0)`: rescales weights whose norm along `axis` exceeds max_value. */
export const constraint_maxnorm = (args: { max_value?: number; axis?: number } = {}): ConstraintSpec =>
  constraint(
    "MaxNorm",
    decodeArgs("constraint_maxnorm", { max_value: NonNegativeNum, axis: Int }, args, { max_value: 2, axis: 0 }),
  );
/** `constraint_nonneg()`: negative weights become zero. */
export const constraint_nonneg = (): ConstraintSpec => constraint("NonNeg", {});
/** `constraint_unitnorm(axis = 0)`: weights divided by their norm along `axis`. */
export const constraint_unitnorm = (args: { axis?: number } = {}): ConstraintSpec =>
  constraint("UnitNorm", decodeArgs("constraint_unitnorm", { axis: Int }, args, { axis: 0 }));
/** `constraint_minmaxnorm(min_value = 0, max_value = 1, rate = 1, axis = 0)`. */
export const constraint_minmaxnorm = (
  args: { min_value?: number; max_value?: number; rate?: number; axis?: number } = {},
): ConstraintSpec =>
  constraint(
    "MinMaxNorm",
    decodeArgs(
      "constraint_minmaxnorm",
      { min_value: NonNegativeNum, max_value: NonNegativeNum, rate: NonNegativeNum, axis: Int },
      args,
      { min_value: 0, max_value: 1, rate: 1, axis: 0 },
    ),
  );

export function resolveConstraint(v: unknown): ConstraintSpec | null | undefined {
  if (v === null) return null;
  if (v === "max_norm" || v === "maxnorm") return constraint_maxnorm();
  if (v === "non_neg" || v === "nonneg") return constraint_nonneg();
  if (v === "unit_norm" || v === "unitnorm") return constraint_unitnorm();
  if (typeof v === "function")
    return Object.freeze({ class_name: "Custom", config: {}, fn: v as (w: Tensor) => Tensor });
  if (v && typeof v === "object" && typeof (v as ConstraintSpec).class_name === "string") return v as ConstraintSpec;
  return undefined;
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
