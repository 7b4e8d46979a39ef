/** Keras weight regularizers: l1, l2, l1_l2 (plain data specs; penalty computed with tf ops). */
import { tf, type Tensor } from "../backend/tf.js";
import {
  NonNegativeNum,
  checkArgs,
  decodeArgs,
  isPlainRecord,
  type Props,
  refuseArgumentsPast,
  refuseUnusedArguments,
  refusingUnused,
} from "../args.js";
import { checkedTensorFunction } from "./user_functions.js";

export interface RegularizerSpec {
  readonly class_name: "L1" | "L2" | "L1L2" | "Custom";
  readonly config: Readonly<{ l1?: number; l2?: number }>;
  readonly fn?: (w: Tensor) => Tensor;
}

/**
 * What a regularizer argument takes: "l1", "l2", "l1_l2", a regularizer_*() value, a Keras
 * `{ class_name, config }` record, a function of the weight returning a scalar penalty, or null.
 */
export type RegularizerInput =
  | "l1"
  | "l2"
  | "l1_l2"
  | RegularizerSpec
  | { readonly class_name: string; readonly config?: Readonly<Record<string, unknown>> }
  | ((w: Tensor) => Tensor)
  | null;

/** Each class's config keys and codecs: what a `{ class_name, config }` record is checked against. */
const CLASSES: Readonly<Record<string, { props: Props; defaults: Record<string, number> }>> = {
  L1: { props: { l1: NonNegativeNum }, defaults: { l1: 0.01 } },
  L2: { props: { l2: NonNegativeNum }, defaults: { l2: 0.01 } },
  L1L2: { props: { l1: NonNegativeNum, l2: NonNegativeNum }, defaults: { l1: 0, l2: 0 } },
};

const spec = (class_name: RegularizerSpec["class_name"], config: Record<string, number>): RegularizerSpec =>
  Object.freeze({ class_name, config: Object.freeze(config) });

/** A penalty factor given positionally (`regularizer_l2(0.5)`) or by R's name (`regularizer_l2({ l: 0.5 })`). */
function factor(fn: string, arg: unknown): number {
  const a = isPlainRecord(arg) || arg === undefined || arg === null ? arg : { l: arg };
  return decodeArgs(fn, { l: NonNegativeNum }, a, { l: 0.01 }).l;
}

/**
 * `regularizer_l1(l = 0.01)`: penalty l * sum(|w|).
 *
 * @example
 * layer_dense({ units: 4, kernel_regularizer: regularizer_l1(0.001) });
 */
export const regularizer_l1 = refusingUnused("regularizer_l1", ["l"], (l?: number | { l?: number }): RegularizerSpec =>
  spec("L1", { l1: factor("regularizer_l1", l) }),
);
/**
 * `regularizer_l2(l = 0.01)`: penalty l * sum(w^2).
 *
 * @example
 * layer_dense({ units: 4, kernel_regularizer: regularizer_l2(0.001) });
 */
export const regularizer_l2 = refusingUnused("regularizer_l2", ["l"], (l?: number | { l?: number }): RegularizerSpec =>
  spec("L2", { l2: factor("regularizer_l2", l) }),
);
/**
 * `regularizer_l1_l2(l1 = 0.01, l2 = 0.01)`: both penalties.
 *
 * @example
 * layer_dense({ units: 4, kernel_regularizer: regularizer_l1_l2({ l1: 0.001, l2: 0.01 }) });
 */
export function regularizer_l1_l2(l1?: number | { l1?: number; l2?: number }, l2?: number): RegularizerSpec {
  const fn = "regularizer_l1_l2";
  refuseArgumentsPast(fn, ["l1", "l2"], arguments);
  // With the record form, a second argument is one too many.
  if (typeof l1 === "object" && l1 !== null) refuseUnusedArguments(fn, 2, [l2], `${fn}(l1, l2) or ${fn}(args)`);
  const a = typeof l1 === "object" ? l1 : { l1, l2 };
  const d = decodeArgs(fn, CLASSES.L1L2.props, a, { l1: 0.01, l2: 0.01 });
  return spec("L1L2", { l1: d.l1, l2: d.l2 });
}

/** The custom specs made here (a `{ class_name: "Custom", fn }` record from elsewhere is not one). */
const customSpecs = new WeakSet<object>();

/** A user regularizer, checked when it runs: it must return the penalty as a scalar tensor. */
function customRegularizer(f: (w: Tensor) => unknown, arg: string): RegularizerSpec {
  const penalty = checkedTensorFunction(`\`${arg}\` (a function of the weights)`, f, (p) =>
    p.size === 1 ? null : `the penalty as a scalar tensor, got shape [${p.shape.join(", ")}]`,
  );
  const fn = (w: Tensor): Tensor => tf.reshape(penalty(w), []);
  const s = Object.freeze({ class_name: "Custom" as const, config: Object.freeze({}), fn });
  customSpecs.add(s);
  return s;
}

/**
 * Resolves what a user gave as regularizer argument `arg` ("l1", "l2", "l1_l2", a regularizer_*() value, a
 * Keras `{ class_name, config }` record, a function or null): the spec, null, a problem (text completing
 * "`arg` ..."), or undefined when it is not a regularizer at all.
 */
export function resolveRegularizer(v: unknown, arg = "regularizer"): RegularizerSpec | null | string | undefined {
  if (v === null) return null;
  if (v === "l1") return regularizer_l1();
  if (v === "l2") return regularizer_l2();
  if (v === "l1_l2") return regularizer_l1_l2();
  if (typeof v === "function") return customRegularizer(v as (w: Tensor) => unknown, arg);
  if (!isPlainRecord(v) || typeof v.class_name !== "string") return undefined;
  if (customSpecs.has(v)) return v as unknown as RegularizerSpec;
  if (!Object.hasOwn(CLASSES, v.class_name))
    return `names an unknown regularizer class ${JSON.stringify(v.class_name)} (known: ${Object.keys(CLASSES).join(", ")})`;
  const r = checkArgs(CLASSES[v.class_name].props, v.config ?? {}, CLASSES[v.class_name].defaults);
  if (r.problems) return `is not a valid ${v.class_name} regularizer: ${r.problems.join("; ")}`;
  return spec(v.class_name as RegularizerSpec["class_name"], r.value);
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
