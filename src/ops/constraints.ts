/** Keras weight constraints, applied after each optimizer update. */
import { tf, type Tensor } from "../backend/tf.js";

export interface ConstraintSpec {
  readonly class_name: "MaxNorm" | "NonNeg" | "UnitNorm" | "MinMaxNorm" | "Custom";
  readonly config: Readonly<Record<string, number>>;
  readonly fn?: (w: Tensor) => Tensor;
}

export const constraint_maxnorm = (max_value = 2, axis = 0): ConstraintSpec =>
  Object.freeze({ class_name: "MaxNorm", config: Object.freeze({ max_value, axis }) });
export const constraint_nonneg = (): ConstraintSpec => Object.freeze({ class_name: "NonNeg", config: Object.freeze({}) });
export const constraint_unitnorm = (axis = 0): ConstraintSpec => Object.freeze({ class_name: "UnitNorm", config: Object.freeze({ axis }) });
export const constraint_minmaxnorm = (min_value = 0, max_value = 1, rate = 1, axis = 0): ConstraintSpec =>
  Object.freeze({ class_name: "MinMaxNorm", config: Object.freeze({ min_value, max_value, rate, axis }) });

export function resolveConstraint(v: unknown): ConstraintSpec | null | undefined {
  if (v === null) return null;
  if (v === "max_norm" || v === "maxnorm") return constraint_maxnorm();
  if (v === "non_neg" || v === "nonneg") return constraint_nonneg();
  if (v === "unit_norm" || v === "unitnorm") return constraint_unitnorm();
  if (typeof v === "function") return Object.freeze({ class_name: "Custom", config: {}, fn: v as (w: Tensor) => Tensor });
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
        const desired = tf.add(tf.mul(c.rate, tf.clipByValue(norms, c.min_value, c.max_value)), tf.mul(1 - c.rate, norms));
        return tf.mul(w, tf.div(desired, tf.add(norms, EPS)));
      }
      default:
        return w;
    }
  });
}
