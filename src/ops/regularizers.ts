/** Keras weight regularizers: l1, l2, l1_l2 (plain data specs; penalty computed with tf ops). */
import { tf, type Tensor } from "../backend/tf.js";
import { NonNegativeNum, decodeArgs } from "../args.js";

export interface RegularizerSpec {
  readonly class_name: "L1" | "L2" | "L1L2" | "Custom";
  readonly config: Readonly<{ l1?: number; l2?: number }>;
  readonly fn?: (w: Tensor) => Tensor;
}

/** A penalty factor given positionally (`regularizer_l2(0.5)`) or by R's name (`regularizer_l2({ l: 0.5 })`). */
function factor(fn: string, arg: number | { l?: number } | undefined): number {
  const a = typeof arg === "number" ? { l: arg } : arg;
  return decodeArgs(fn, { l: NonNegativeNum }, a, { l: 0.01 }).l;
}

/** `regularizer_l1(l = 0.01)`: penalty l * sum(|w|). */
export const regularizer_l1 = (l?: number | { l?: number }): RegularizerSpec =>
  Object.freeze({ class_name: "L1", config: Object.freeze({ l1: factor("regularizer_l1", l) }) });
/** `regularizer_l2(l = 0.01)`: penalty l * sum(w^2). */
export const regularizer_l2 = (l?: number | { l?: number }): RegularizerSpec =>
  Object.freeze({ class_name: "L2", config: Object.freeze({ l2: factor("regularizer_l2", l) }) });
/** `regularizer_l1_l2(l1 = 0.01, l2 = 0.01)`: both penalties. */
export function regularizer_l1_l2(l1?: number | { l1?: number; l2?: number }, l2?: number): RegularizerSpec {
  const a = typeof l1 === "object" ? l1 : { l1, l2 };
  const d = decodeArgs("regularizer_l1_l2", { l1: NonNegativeNum, l2: NonNegativeNum }, a, { l1: 0.01, l2: 0.01 });
  return Object.freeze({ class_name: "L1L2", config: Object.freeze({ l1: d.l1, l2: d.l2 }) });
}

export function resolveRegularizer(v: unknown): RegularizerSpec | null | undefined {
  if (v === null) return null;
  if (v === "l1") return regularizer_l1();
  if (v === "l2") return regularizer_l2();
  if (v === "l1_l2") return regularizer_l1_l2();
  if (typeof v === "function")
    return Object.freeze({ class_name: "Custom", config: {}, fn: v as (w: Tensor) => Tensor });
  if (v && typeof v === "object" && ["L1", "L2", "L1L2", "Custom"].includes((v as RegularizerSpec).class_name))
    return v as RegularizerSpec;
  return undefined;
}

/** The scalar penalty of `spec` on weight `w`. */
export function regularizationPenalty(spec: RegularizerSpec, w: Tensor): Tensor {
  return tf.tidy(() => {
    if (spec.fn) return spec.fn(w);
    let p: Tensor = tf.scalar(0);
    if (spec.config.l1) p = tf.add(p, tf.mul(spec.config.l1, tf.sum(tf.abs(w))));
    if (spec.config.l2) p = tf.add(p, tf.mul(spec.config.l2, tf.sum(tf.square(w))));
    return p;
  });
}
