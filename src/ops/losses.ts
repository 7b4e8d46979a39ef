/**
 * Keras losses. Each is a per-sample function (reducing the last axis, as Keras's loss functions do);
 * the training engine reduces it Keras 3's way ("sum_over_batch_size": sum of weighted values divided
 * by their count). `loss_*()` is dual as in R: without data it returns a loss value for compile(),
 * with `(y_true, y_pred)` it computes the per-sample losses and returns them as numbers.
 */
import { tf, type Tensor } from "../backend/tf.js";
import { KerasError, describeValue } from "../errors.js";
import * as t from "io-ts";
import { checkedTensorFunction } from "./user_functions.js";
import {
  Bool,
  Int,
  NonNegativeNum,
  PositiveNum,
  Rate,
  Str,
  decodeArgs,
  described,
  Nullable,
  type Props,
} from "../args.js";
import { indexProblem, isArrayData, isClassIndexed, release, toNestedArray, toTensorData } from "../backend/convert.js";
import { softmaxAlong } from "./activations.js";
import { ctcPerSample } from "./ctc.js";

export const LOSS_BRAND = Symbol.for("tskeras.loss");
/** Keras's backend epsilon, used to clip probabilities and denominators. */
export const EPSILON = 1e-7;

export interface LossSpec {
  readonly [LOSS_BRAND]: true;
  /** Keras name of the function, e.g. "mean_squared_error" (used in logs of multi-output models). */
  readonly name: string;
  /** Keras class name, e.g. "MeanSquaredError"; "Custom" for user functions. */
  readonly class_name: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** Per-sample loss: the last axis reduced. Runs inside tf.tidy. */
  readonly perSample: (yTrue: Tensor, yPred: Tensor) => Tensor;
}

export function isLoss(x: unknown): x is LossSpec {
  return x !== null && typeof x === "object" && (x as any)[LOSS_BRAND] === true;
}

const { abs, add, sub, mul, div, log, square, maximum, mean, sum, clipByValue, relu } = tf;
const lastMean = (x: Tensor) => mean(x, -1);

/** Keras 3's hinge labels: {0, 1} are mapped to {-1, 1}; {-1, 1} are kept. */
function hingeLabels(y: Tensor): Tensor {
  const isBinary = tf.all(tf.logicalOr(tf.equal(y, 0), tf.equal(y, 1)));
  return tf.where(isBinary, sub(mul(y, 2), 1), y);
}

const l2Normalize = (x: Tensor, axis: number) => div(x, tf.sqrt(maximum(sum(square(x), axis, true), 1e-12)));

/** Probabilities from `yPred` (logits when `fromLogits`), normalised and clipped as Keras does. */
function categoricalCrossentropy(yTrue: Tensor, yPred: Tensor, fromLogits: boolean, axis: number): Tensor {
  if (fromLogits) return tf.neg(sum(mul(yTrue, softmaxAlong(yPred, axis, true)), axis));
  const p = clipByValue(div(yPred, sum(yPred, axis, true)), EPSILON, 1 - EPSILON);
  return tf.neg(sum(mul(yTrue, log(p)), axis));
}

/** Sparse integer labels (shape (batch...) or (batch..., 1)) as one-hot rows of `classes` columns. */
export function sparseToOneHot(yTrue: Tensor, classes: number, predRank: number): Tensor {
  let labels = yTrue;
  if (labels.rank === predRank) labels = tf.squeeze(labels, [-1]);
  return tf.oneHot(tf.cast(labels, "int32"), classes);
}

/** Keras's `binary_crossentropy` of probabilities `q` (clipped to [eps, 1 - eps]) against targets `y`. */
const clippedBinaryCrossentropy = (y: Tensor, q: Tensor) => {
  const c = clipByValue(q, EPSILON, 1 - EPSILON);
  return tf.neg(add(mul(y, log(c)), mul(sub(1, y), log(sub(1, c)))));
};
/** The same from logits `x`: max(x, 0) - x * y + log(1 + exp(-|x|)) (the numerically stable sigmoid form). */
const logitBinaryCrossentropy = (y: Tensor, x: Tensor) =>
  add(sub(relu(x), mul(x, y)), tf.log1p(tf.exp(tf.neg(abs(x)))));

const UnitInterval = described(
  t.refinement(t.number, (n) => n >= 0 && n <= 1),
  "a number in [0, 1]",
);
/** Keras's `axis` of dice and tversky: null (every axis, one value for the batch), an axis or a vector of axes. */
const Axes = described(t.union([t.null, Int, t.array(Int)]), "null, an integer or a vector of integers");
const axesOf = (axis: number | number[] | null) => (axis === null ? undefined : axis);

interface LossDef {
  readonly className: string;
  readonly fn: string;
  readonly aliases: readonly string[];
  readonly props: Props;
  readonly defaults: Record<string, unknown>;
  readonly perSample: (c: Record<string, any>) => (yTrue: Tensor, yPred: Tensor) => Tensor;
}

const LOSSES: Record<string, LossDef> = {
  mean_squared_error: {
    className: "MeanSquaredError",
    fn: "loss_mean_squared_error",
    aliases: ["mse"],
    props: {},
    defaults: {},
    perSample: () => (t, p) => lastMean(square(sub(p, t))),
  },
  mean_absolute_error: {
    className: "MeanAbsoluteError",
    fn: "loss_mean_absolute_error",
    aliases: ["mae"],
    props: {},
    defaults: {},
    perSample: () => (t, p) => lastMean(abs(sub(p, t))),
  },
  mean_absolute_percentage_error: {
    className: "MeanAbsolutePercentageError",
    fn: "loss_mean_absolute_percentage_error",
    aliases: ["mape"],
    props: {},
    defaults: {},
    perSample: () => (t, p) => mul(100, lastMean(abs(div(sub(t, p), maximum(abs(t), EPSILON))))),
  },
  mean_squared_logarithmic_error: {
    className: "MeanSquaredLogarithmicError",
    fn: "loss_mean_squared_logarithmic_error",
    aliases: ["msle"],
    props: {},
    defaults: {},
    perSample: () => (t, p) =>
      lastMean(square(sub(log(add(maximum(p, EPSILON), 1)), log(add(maximum(t, EPSILON), 1))))),
  },
  binary_crossentropy: {
    className: "BinaryCrossentropy",
    fn: "loss_binary_crossentropy",
    aliases: ["bce"],
    props: { from_logits: Bool, label_smoothing: Rate, axis: Int },
    defaults: { from_logits: false, label_smoothing: 0, axis: -1 },
    perSample: (c) => (t, p) => {
      const y = c.label_smoothing ? add(mul(t, 1 - c.label_smoothing), 0.5 * c.label_smoothing) : t;
      // from logits: max(x, 0) - x * y + log(1 + exp(-|x|)) (the numerically stable sigmoid form)
      const elementwise = c.from_logits ? logitBinaryCrossentropy(y, p) : clippedBinaryCrossentropy(y, p);
      return mean(elementwise, c.axis);
    },
  },
  categorical_crossentropy: {
    className: "CategoricalCrossentropy",
    fn: "loss_categorical_crossentropy",
    aliases: ["cce"],
    props: { from_logits: Bool, label_smoothing: Rate, axis: Int },
    defaults: { from_logits: false, label_smoothing: 0, axis: -1 },
    perSample: (c) => (t, p) => {
      const classes = p.shape[p.rank - 1];
      const y = c.label_smoothing ? add(mul(t, 1 - c.label_smoothing), c.label_smoothing / classes) : t;
      return categoricalCrossentropy(y, p, c.from_logits, c.axis);
    },
  },
  sparse_categorical_crossentropy: {
    className: "SparseCategoricalCrossentropy",
    fn: "loss_sparse_categorical_crossentropy",
    aliases: ["scce"],
    props: { from_logits: Bool, ignore_class: Nullable(Int) },
    defaults: { from_logits: false, ignore_class: null },
    perSample: (c) => (t, p) => {
      const classes = p.shape[p.rank - 1];
      const labels = t.rank === p.rank ? tf.squeeze(t, [-1]) : t;
      const ce = categoricalCrossentropy(sparseToOneHot(labels, classes, p.rank), p, c.from_logits, -1);
      return c.ignore_class === null ? ce : mul(ce, tf.cast(tf.notEqual(labels, c.ignore_class), "float32"));
    },
  },
  binary_focal_crossentropy: {
    className: "BinaryFocalCrossentropy",
    fn: "loss_binary_focal_crossentropy",
    aliases: [],
    props: {
      apply_class_balancing: Bool,
      alpha: UnitInterval,
      gamma: NonNegativeNum,
      from_logits: Bool,
      label_smoothing: Rate,
      axis: Int,
    },
    defaults: { apply_class_balancing: false, alpha: 0.25, gamma: 2, from_logits: false, label_smoothing: 0, axis: -1 },
    // Keras 3: bce * (1 - p_t)^gamma [* (y alpha + (1 - y)(1 - alpha))], p_t = y p + (1 - y)(1 - p). From
    // logits, Keras's TF backend computes the bce from the logits themselves (no clipping).
    perSample: (c) => (t, p) => {
      const y = c.label_smoothing ? add(mul(t, 1 - c.label_smoothing), 0.5 * c.label_smoothing) : t;
      const prob = c.from_logits ? tf.sigmoid(p) : p;
      const bce = c.from_logits ? logitBinaryCrossentropy(y, p) : clippedBinaryCrossentropy(y, p);
      const pT = add(mul(y, prob), mul(sub(1, y), sub(1, prob)));
      let focal = mul(tf.pow(sub(1, pT), c.gamma), bce);
      if (c.apply_class_balancing) focal = mul(add(mul(y, c.alpha), mul(sub(1, y), 1 - c.alpha)), focal);
      return mean(focal, c.axis);
    },
  },
  categorical_focal_crossentropy: {
    className: "CategoricalFocalCrossentropy",
    fn: "loss_categorical_focal_crossentropy",
    aliases: [],
    props: {
      alpha: described(
        t.union([NonNegativeNum, t.array(NonNegativeNum)]),
        "a non-negative number or a vector of them (one per class)",
      ),
      gamma: NonNegativeNum,
      from_logits: Bool,
      label_smoothing: Rate,
      axis: Int,
    },
    defaults: { alpha: 0.25, gamma: 2, from_logits: false, label_smoothing: 0, axis: -1 },
    // Keras 3: sum(alpha * (1 - q)^gamma * -y log(q)) with q the normalised, clipped probabilities.
    perSample: (c) => (t, p) => {
      const classes = t.shape[t.rank - 1];
      const y = c.label_smoothing ? add(mul(t, 1 - c.label_smoothing), c.label_smoothing / classes) : t;
      const prob = c.from_logits ? softmaxAlong(p, c.axis) : p;
      const q = clipByValue(div(prob, sum(prob, c.axis, true)), EPSILON, 1 - EPSILON);
      const alpha = Array.isArray(c.alpha) ? tf.tensor1d(c.alpha) : c.alpha;
      const weight = mul(tf.pow(sub(1, q), c.gamma), alpha);
      return sum(mul(weight, tf.neg(mul(y, log(q)))), c.axis);
    },
  },
  dice: {
    className: "Dice",
    fn: "loss_dice",
    aliases: [],
    props: { axis: Axes },
    defaults: { axis: null },
    // 1 - 2 sum(y p) / (sum(y) + sum(p) + eps) over `axis` (null: one value for the whole batch).
    perSample: (c) => (t, p) => {
      const axis = axesOf(c.axis);
      const intersection = sum(mul(t, p), axis);
      return sub(1, div(mul(2, intersection), add(add(sum(t, axis), sum(p, axis)), EPSILON)));
    },
  },
  tversky: {
    className: "Tversky",
    fn: "loss_tversky",
    aliases: [],
    props: { alpha: NonNegativeNum, beta: NonNegativeNum, axis: Axes },
    defaults: { alpha: 0.5, beta: 0.5, axis: null },
    // Keras 3 (its names): 1 - tp / (tp + alpha sum((1 - p) y) + beta sum(p (1 - y)) + eps).
    perSample: (c) => (t, p) => {
      const axis = axesOf(c.axis);
      const tp = sum(mul(t, p), axis);
      const fp = sum(mul(sub(1, p), t), axis);
      const fn = sum(mul(p, sub(1, t)), axis);
      return sub(1, div(tp, add(add(add(tp, mul(fp, c.alpha)), mul(fn, c.beta)), EPSILON)));
    },
  },
  ctc: {
    className: "CTC",
    fn: "loss_ctc",
    aliases: [],
    props: {},
    defaults: {},
    perSample: () => ctcPerSample,
  },
  hinge: {
    className: "Hinge",
    fn: "loss_hinge",
    aliases: [],
    props: {},
    defaults: {},
    perSample: () => (t, p) => lastMean(relu(sub(1, mul(hingeLabels(t), p)))),
  },
  squared_hinge: {
    className: "SquaredHinge",
    fn: "loss_squared_hinge",
    aliases: [],
    props: {},
    defaults: {},
    perSample: () => (t, p) => lastMean(square(relu(sub(1, mul(hingeLabels(t), p))))),
  },
  categorical_hinge: {
    className: "CategoricalHinge",
    fn: "loss_categorical_hinge",
    aliases: [],
    props: {},
    defaults: {},
    perSample: () => (t, p) => {
      const pos = sum(mul(t, p), -1);
      const neg = tf.max(mul(sub(1, t), p), -1);
      return relu(add(sub(neg, pos), 1));
    },
  },
  huber: {
    className: "Huber",
    fn: "loss_huber",
    aliases: ["huber_loss"],
    props: { delta: PositiveNum },
    defaults: { delta: 1 },
    // Keras: where(|e| <= delta, e² / 2, delta * |e| - delta² / 2), written with min(|e|, delta) so
    // that it is differentiable in tfjs (whose comparisons have no gradient).
    perSample: (c) => (t, p) => {
      const err = abs(sub(p, t));
      const quadratic = tf.minimum(err, c.delta);
      return lastMean(add(mul(0.5, square(quadratic)), mul(c.delta, sub(err, quadratic))));
    },
  },
  log_cosh: {
    className: "LogCosh",
    fn: "loss_log_cosh",
    aliases: ["logcosh"],
    props: {},
    defaults: {},
    // log(cosh(x)) = x + softplus(-2x) - log(2), stable for large |x|
    perSample: () => (t, p) => {
      const x = sub(p, t);
      return lastMean(sub(add(x, tf.softplus(mul(-2, x))), Math.LN2));
    },
  },
  kl_divergence: {
    className: "KLDivergence",
    fn: "loss_kl_divergence",
    aliases: ["kld", "kullback_leibler_divergence"],
    props: {},
    defaults: {},
    perSample: () => (t, p) => {
      const yt = clipByValue(t, EPSILON, 1);
      const yp = clipByValue(p, EPSILON, 1);
      return sum(mul(yt, log(div(yt, yp))), -1);
    },
  },
  poisson: {
    className: "Poisson",
    fn: "loss_poisson",
    aliases: [],
    props: {},
    defaults: {},
    perSample: () => (t, p) => lastMean(sub(p, mul(t, log(add(p, EPSILON))))),
  },
  cosine_similarity: {
    className: "CosineSimilarity",
    fn: "loss_cosine_similarity",
    aliases: [],
    props: { axis: Int },
    defaults: { axis: -1 },
    perSample: (c) => (t, p) => tf.neg(sum(mul(l2Normalize(t, c.axis), l2Normalize(p, c.axis)), c.axis)),
  },
};

export const LOSS_NAMES = Object.keys(LOSSES).flatMap((k) => [k, ...LOSSES[k].aliases]);

function defByName(name: string): [string, LossDef] | undefined {
  const key = name.toLowerCase();
  const hit = Object.entries(LOSSES).find(([k, d]) => k === key || d.aliases.includes(key));
  return hit;
}

function makeLoss(key: string, args: unknown): LossSpec {
  const def = LOSSES[key];
  const c = decodeArgs(def.fn, { ...def.props, name: Str, reduction: Str }, args, { ...def.defaults });
  if (c.reduction !== undefined && c.reduction !== "sum_over_batch_size") {
    throw new KerasError(
      def.fn,
      `only \`reduction = "sum_over_batch_size"\` (Keras's default) is supported, got ${JSON.stringify(c.reduction)}`,
    );
  }
  const config = Object.freeze({ ...c });
  return Object.freeze({
    [LOSS_BRAND]: true as const,
    name: c.name ?? key,
    class_name: def.className,
    config,
    perSample: def.perSample(c),
  });
}

/** A loss by name ("mse", "binary_crossentropy", ...), a loss_*() value, or a function (y_true, y_pred) → tensor. */
export function resolveLoss(fn: string, v: unknown, what = "`loss`"): LossSpec {
  if (isLoss(v)) return v;
  if (typeof v === "string") {
    const hit = defByName(v);
    if (!hit)
      throw new KerasError(
        fn,
        `${what} "${v}" is not a known loss; use one of ${LOSS_NAMES.map((n) => `"${n}"`).join(", ")}, a loss_*() value or a function`,
      );
    return makeLoss(hit[0], { name: v });
  }
  if (typeof v === "function") {
    return Object.freeze({
      [LOSS_BRAND]: true as const,
      name: v.name || "loss",
      class_name: "Custom",
      config: Object.freeze({}),
      perSample: checkedTensorFunction(`${what} (a function)`, v as (t: Tensor, p: Tensor) => unknown),
    });
  }
  throw new KerasError(
    fn,
    `${what} must be a loss name, a loss_*() value or a function (y_true, y_pred) => tensor, got ${describeValue(v)}`,
  );
}

/**
 * Computes `perSample(y_true, y_pred)` on user data and returns the values as nested numbers (the
 * computed form of the dual loss_* and metric_* functions).
 */
export function computePerSample(
  fn: string,
  perSample: (t: Tensor, p: Tensor) => Tensor,
  yTrue: unknown,
  yPred: unknown,
  className?: string,
): any {
  const t = toTensorData(fn, yTrue, "`y_true`");
  let p;
  try {
    p = toTensorData(fn, yPred, "`y_pred`");
  } catch (e) {
    release([t]);
    throw e;
  }
  try {
    checkClassLabels(fn, className, t.tensor, p.tensor);
    const out = tf.tidy(() => perSample(t.tensor, p.tensor));
    const values = out.dataSync() as Float32Array;
    const shape = out.shape;
    out.dispose();
    return toNestedArray(Array.from(values), shape);
  } catch (e) {
    if (e instanceof KerasError) throw e;
    throw new KerasError(
      fn,
      `cannot compute on y_true ${JSON.stringify(t.tensor.shape)} and y_pred ${JSON.stringify(p.tensor.shape)}: ${(e as Error).message}`,
      "shape",
    );
  } finally {
    release([t, p]);
  }
}

/** Class-index labels of a Sparse* loss or metric must index y_pred's classes (its last axis). */
export function checkClassLabels(fn: string, className: string | undefined, yTrue: Tensor, yPred: Tensor): void {
  if (!isClassIndexed(className) || yPred.rank === 0) return;
  const problem = indexProblem(yTrue, yPred.shape[yPred.rank - 1], "y_pred's number of classes");
  if (problem) throw new KerasError(fn, `\`y_true\` ${problem}`);
}

/** The R-style dual: `(args?)` → a value for compile(); `(y_true, y_pred, args?)` → computed. */
export function isDataCall(a: unknown): boolean {
  return a !== undefined && isArrayData(a);
}

/**
 * R's dual loss/metric function: `f(args)` (or `f()`) is a value for compile(); `f(y_true, y_pred, args)`
 * computes it on data.
 */
export function dualYFunction<S>(
  fn: string,
  what: "loss" | "metric",
  make: (args: unknown) => S,
  compute: (spec: S, yTrue: unknown, yPred: unknown) => unknown,
) {
  function dual(args?: Record<string, unknown>): S;
  function dual(y_true: unknown, y_pred: unknown, args?: Record<string, unknown>): any;
  function dual(a?: unknown, b?: unknown, c?: unknown): unknown {
    if (!isDataCall(a)) {
      if (b !== undefined)
        throw new KerasError(
          fn,
          `\`y_true\` must be data (a tensor, a nested array of numbers, a typed array or { data, shape }) to compute the ${what}, or give a record of arguments alone; got ${describeValue(a)} then ${describeValue(b)}`,
        );
      return make(a);
    }
    if (b === undefined)
      throw new KerasError(
        fn,
        `\`y_pred\` is missing: call it as (y_true, y_pred) to compute the ${what}, or with a record of arguments for compile()`,
      );
    return compute(make(c), a, b);
  }
  Object.defineProperty(dual, "name", { value: fn });
  return dual;
}

function dualLoss(key: string) {
  const fn = LOSSES[key].fn;
  return dualYFunction(
    fn,
    "loss",
    (args) => makeLoss(key, args),
    (loss, yTrue, yPred) => computePerSample(fn, loss.perSample, yTrue, yPred, loss.class_name),
  );
}

/**
 * `loss_mean_squared_error(y_true, y_pred, ...)` (Keras 3): mean((y_true - y_pred)^2) over the last axis. Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * loss_mean_squared_error([[0, 1]], [[1, 1]]); // [0.5]
 */
export const loss_mean_squared_error = dualLoss("mean_squared_error");
/**
 * `loss_mean_absolute_error(y_true, y_pred, ...)` (Keras 3): mean(|y_true - y_pred|) over the last axis. Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * loss_mean_absolute_error([[0, 1]], [[1, 1]]); // [0.5]
 */
export const loss_mean_absolute_error = dualLoss("mean_absolute_error");
/**
 * `loss_mean_absolute_percentage_error(y_true, y_pred, ...)` (Keras 3): 100 * mean(|(y_true - y_pred) / y_true|). Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * loss_mean_absolute_percentage_error([[2, 4]], [[1, 4]]); // [25]
 */
export const loss_mean_absolute_percentage_error = dualLoss("mean_absolute_percentage_error");
/**
 * `loss_mean_squared_logarithmic_error(y_true, y_pred, ...)` (Keras 3): mean((log(1 + y_true) - log(1 + y_pred))^2). Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: loss_mean_squared_logarithmic_error() });
 */
export const loss_mean_squared_logarithmic_error = dualLoss("mean_squared_logarithmic_error");
/**
 * `loss_binary_crossentropy(y_true, y_pred, ...)` (Keras 3): -(y log(p) + (1 - y) log(1 - p)), averaged over the last axis (from_logits, label_smoothing, axis). Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * loss_binary_crossentropy([[0, 1]], [[0.5, 0.5]]); // [0.693]
 */
export const loss_binary_crossentropy = dualLoss("binary_crossentropy");
/**
 * `loss_categorical_crossentropy(y_true, y_pred, ...)` (Keras 3): -sum(y log(p)) over the classes (one-hot targets; from_logits, label_smoothing, axis). Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * loss_categorical_crossentropy([[0, 1]], [[0.5, 0.5]]); // [0.693]
 */
export const loss_categorical_crossentropy = dualLoss("categorical_crossentropy");
/**
 * `loss_sparse_categorical_crossentropy(y_true, y_pred, ...)` (Keras 3): categorical crossentropy with class indices as targets (from_logits, ignore_class, axis). Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * loss_sparse_categorical_crossentropy([1], [[0.5, 0.5]]); // [0.693]
 */
export const loss_sparse_categorical_crossentropy = dualLoss("sparse_categorical_crossentropy");
/**
 * `loss_hinge(y_true, y_pred, ...)` (Keras 3): mean(max(1 - y_true * y_pred, 0)), labels {0, 1} mapped to {-1, 1}. Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * loss_hinge([[0, 1]], [[0.6, 0.4]]); // [1.1]
 */
export const loss_hinge = dualLoss("hinge");
/**
 * `loss_squared_hinge(y_true, y_pred, ...)` (Keras 3): mean(max(1 - y_true * y_pred, 0)^2), labels {0, 1} mapped to {-1, 1}. Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "sgd", loss: loss_squared_hinge() });
 */
export const loss_squared_hinge = dualLoss("squared_hinge");
/**
 * `loss_categorical_hinge(y_true, y_pred, ...)` (Keras 3): max(0, 1 + max((1 - y_true) * y_pred) - sum(y_true * y_pred)). Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "sgd", loss: loss_categorical_hinge() });
 */
export const loss_categorical_hinge = dualLoss("categorical_hinge");
/**
 * `loss_huber(y_true, y_pred, ...)` (Keras 3): quadratic below `delta` (1), linear above. Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * loss_huber([[0, 3]], [[0.5, 0]], { delta: 1 }); // [(0.125 + 2.5) / 2]
 */
export const loss_huber = dualLoss("huber");
/**
 * `loss_log_cosh(y_true, y_pred, ...)` (Keras 3): mean(log(cosh(y_pred - y_true))). Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: loss_log_cosh() });
 */
export const loss_log_cosh = dualLoss("log_cosh");
/**
 * `loss_kl_divergence(y_true, y_pred, ...)` (Keras 3): sum(y_true * log(y_true / y_pred)) (both clipped to [1e-7, 1]). Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: loss_kl_divergence() });
 */
export const loss_kl_divergence = dualLoss("kl_divergence");
/**
 * `loss_poisson(y_true, y_pred, ...)` (Keras 3): mean(y_pred - y_true * log(y_pred + 1e-7)). Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: loss_poisson() });
 */
export const loss_poisson = dualLoss("poisson");
/**
 * `loss_cosine_similarity(y_true, y_pred, ...)` (Keras 3): -cosine similarity of y_true and y_pred along `axis`. Called with data it computes the loss per sample; called with a record of arguments (or none) it is the loss for `compile()`.
 *
 * @example
 * loss_cosine_similarity([[0, 1]], [[0, 2]]); // [-1]
 */
export const loss_cosine_similarity = dualLoss("cosine_similarity");
/**
 * Binary focal crossentropy (Keras 3): `(1 - p_t)^gamma * bce`, with `apply_class_balancing` weighting
 * class 1 by `alpha` and class 0 by `1 - alpha`. Arguments: apply_class_balancing = FALSE, alpha = 0.25,
 * gamma = 2, from_logits = FALSE, label_smoothing = 0, axis = -1.
 *
 * @example
 * loss_binary_focal_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], { gamma: 2 }); // [0.330, 0.206]
 * compile(model, { optimizer: "adam", loss: loss_binary_focal_crossentropy({ gamma: 3 }) });
 */
export const loss_binary_focal_crossentropy = dualLoss("binary_focal_crossentropy");
/**
 * Categorical focal crossentropy (Keras 3): `sum(alpha * (1 - p)^gamma * -y log(p))` over `axis`, `alpha`
 * a number or one weight per class. Arguments: alpha = 0.25, gamma = 2, from_logits = FALSE,
 * label_smoothing = 0, axis = -1.
 *
 * @example
 * loss_categorical_focal_crossentropy([[0, 1, 0], [0, 0, 1]], [[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]]);
 * // [0.000263, 0.6759]
 */
export const loss_categorical_focal_crossentropy = dualLoss("categorical_focal_crossentropy");
/**
 * Dice loss (Keras 3): `1 - 2 sum(y_true * y_pred) / (sum(y_true) + sum(y_pred))` over `axis`; with the
 * default `axis = NULL` one value for the whole batch, with e.g. `axis = c(1, 2, 3)` one per sample.
 *
 * @example
 * loss_dice([[1, 1, 0, 0]], [[0, 1, 0, 1]]); // 0.5
 */
export const loss_dice = dualLoss("dice");
/**
 * Tversky loss (Keras 3): `1 - tp / (tp + alpha * fp + beta * fn)` over `axis` (default NULL: the whole
 * batch), where Keras weighs `sum((1 - y_pred) * y_true)` by `alpha` and `sum(y_pred * (1 - y_true))` by
 * `beta`; alpha = beta = 0.5 is the dice loss.
 *
 * @example
 * loss_tversky([[1, 1, 0, 0]], [[0, 1, 0, 1]], { alpha: 0.7, beta: 0.3 });
 */
export const loss_tversky = dualLoss("tversky");
/**
 * CTC loss (Keras 3 `keras.losses.CTC`): `y_true` integer labels (batch, max_length) padded with 0,
 * `y_pred` logits (batch, time, classes) with class 0 the blank — a log-softmax is taken inside, so
 * end the model with a linear layer. One value per sample: -log P(labels | logits), summed over every
 * alignment. Decode predictions with `k_ctc_decode()`.
 *
 * @example
 * const model = pipe(
 *   keras_model_sequential({ input_shape: [20, 8] }),
 *   layer_gru({ units: 32, return_sequences: true }),
 *   layer_dense({ units: 5 }), // 4 labels + the blank (class 0)
 *   compile({ optimizer: "adam", loss: loss_ctc() }),
 * );
 */
export const loss_ctc = dualLoss("ctc");

/** Per-sample functions by Keras name, shared with the metrics of the same names. */
export function lossFunction(name: string, config: Record<string, unknown> = {}): (t: Tensor, p: Tensor) => Tensor {
  const def = LOSSES[name];
  return def.perSample({ ...def.defaults, ...config });
}
