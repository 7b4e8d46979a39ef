/**
 * Keras metrics. A metric accumulates a small vector of sums over the batches of an epoch (computed on
 * the device, added up on the host in float64) and turns them into its value, as Keras's stateful
 * metrics do. `metric_*()` is dual as the losses: no data → a metric value for compile(); `(y_true,
 * y_pred)` → computed (per-sample numbers for the mean metrics, one number for auc/precision/recall/rmse).
 */
import { tf, type Tensor } from "../backend/tf.js";
import { ArgumentError, KerasError, describeValue } from "../errors.js";
import { checkedTensorFunction } from "./user_functions.js";
import { Bool, FloatDType, MAX_TENSOR_SIZE, PositiveInt, Rate, Str, decodeArgs, OneOf, type Props } from "../args.js";
import { release, toTensorData } from "../engine/training/convert.js";
import { computePerSample, dualYFunction, isLoss, lossFunction, type LossSpec } from "./losses.js";

export const METRIC_BRAND = Symbol.for("tskeras.metric");

export interface MetricSpec {
  readonly [METRIC_BRAND]: true;
  /** The name in logs and history ("mae", "accuracy", "auc", ...). */
  readonly name: string;
  /** Keras class name; "auto" for "accuracy"/"crossentropy", resolved against the loss and shapes. */
  readonly class_name: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** "up" when larger is better (used by callbacks in mode "auto"). */
  readonly direction: "up" | "down";
  /** Number of sums the metric accumulates. */
  readonly size: number;
  /** Sums of one batch, a 1-D tensor of `size` values (inside tf.tidy). */
  readonly stats: (yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor | null) => Tensor;
  /** The metric's value from the accumulated sums. */
  readonly result: (sums: ArrayLike<number>) => number;
  /** Per-sample values, for the mean metrics (the computed form of the dual function). */
  readonly perSample?: (yTrue: Tensor, yPred: Tensor) => Tensor;
}

export function isMetric(x: unknown): x is MetricSpec {
  return x !== null && typeof x === "object" && (x as any)[METRIC_BRAND] === true;
}

const { mul, sum, cast, equal, argMax, greater } = tf;
const divideNoNan = (a: number, b: number) => (b === 0 ? 0 : a / b);

/** Sample weights of shape (batch) broadcast against values of shape (batch, ...). */
function broadcastWeight(w: Tensor, like: Tensor): Tensor {
  let b = w;
  while (b.rank < like.rank) b = tf.expandDims(b, -1);
  return tf.broadcastTo(b, like.shape);
}

/** Keras's Mean over per-sample values with sample weights: [sum(v * w), sum(w)], averaging non-batch axes. */
function meanStats(values: Tensor, w: Tensor | null): Tensor {
  const weight = w ? broadcastWeight(w, values) : tf.onesLike(values);
  let v = mul(values, weight);
  let ww = weight;
  if (v.rank > 1) {
    const axes = Array.from({ length: v.rank - 1 }, (_, i) => i + 1);
    v = tf.mean(v, axes);
    ww = tf.mean(ww, axes);
  }
  return tf.stack([sum(v), sum(ww)]);
}

function meanMetric(
  name: string,
  className: string,
  config: Record<string, unknown>,
  direction: "up" | "down",
  perSample: (t: Tensor, p: Tensor) => Tensor,
  transform?: (x: number) => number,
): MetricSpec {
  return Object.freeze({
    [METRIC_BRAND]: true as const,
    name,
    class_name: className,
    config: Object.freeze(config),
    direction,
    size: 2,
    stats: (t: Tensor, p: Tensor, w: Tensor | null) => meanStats(perSample(t, p), w),
    result: (s: ArrayLike<number>) => (transform ? transform(divideNoNan(s[0], s[1])) : divideNoNan(s[0], s[1])),
    // A transformed mean (rmse) is not a per-sample quantity: its computed form is one number.
    perSample: transform ? undefined : perSample,
  });
}

// Per-sample accuracy functions (Keras 3 `keras.metrics.*_accuracy`).
const binaryAccuracy = (threshold: number) => (t: Tensor, p: Tensor) =>
  tf.mean(cast(equal(t, cast(greater(p, threshold), "float32")), "float32"), -1);
const categoricalAccuracy = (t: Tensor, p: Tensor) => cast(equal(argMax(t, -1), argMax(p, -1)), "float32");
const sparseLabels = (t: Tensor, p: Tensor) => cast(t.rank === p.rank ? tf.squeeze(t, [-1]) : t, "int32");
const sparseCategoricalAccuracy = (t: Tensor, p: Tensor) => cast(equal(sparseLabels(t, p), argMax(p, -1)), "float32");
/** TF's in_top_k: the target is in the top k when fewer than k classes score strictly higher. */
const inTopK = (labels: Tensor, p: Tensor, k: number) => {
  const classes = p.shape[p.rank - 1];
  const target = sum(mul(p, tf.oneHot(labels, classes)), -1, true);
  return cast(tf.less(sum(cast(greater(p, target), "float32"), -1), k), "float32");
};
const topK = (k: number) => (t: Tensor, p: Tensor) => inTopK(cast(argMax(t, -1), "int32"), p, k);
const sparseTopK = (k: number) => (t: Tensor, p: Tensor) => inTopK(sparseLabels(t, p), p, k);

/** Counts of true/false positives/negatives (predicted positive when y_pred > threshold). */
/** More AUC thresholds than float32 can tell apart in [0, 1] (its 2^24 steps below 1) add nothing. */
const MAX_THRESHOLDS = 2 ** 24;

function confusionStats(t: Tensor, p: Tensor, w: Tensor | null, thresholds: readonly number[]): Tensor {
  // Every prediction is compared with every threshold in one tensor.
  if (p.size * thresholds.length > MAX_TENSOR_SIZE)
    throw new ArgumentError(
      `\`num_thresholds\` = ${thresholds.length} compared with ${p.size} predictions at once needs ${p.size * thresholds.length} values, more than a tensor can hold (${MAX_TENSOR_SIZE}); use fewer thresholds or smaller batches`,
    );
  const labels = tf.reshape(cast(t, "bool"), [-1, 1]);
  const weights = w ? tf.reshape(broadcastWeight(w, p), [-1, 1]) : tf.onesLike(tf.reshape(p, [-1, 1]));
  const pred = greater(tf.reshape(p, [-1, 1]), tf.tensor1d(thresholds as number[]).reshape([1, -1]));
  const count = (a: Tensor) => sum(mul(cast(a, "float32"), weights), 0);
  const notLabels = tf.logicalNot(labels);
  const notPred = tf.logicalNot(pred);
  return tf.concat([
    count(tf.logicalAnd(labels, pred)), // tp
    count(tf.logicalAnd(notLabels, pred)), // fp
    count(tf.logicalAnd(notLabels, notPred)), // tn
    count(tf.logicalAnd(labels, notPred)), // fn
  ]);
}

function confusionMetric(
  name: string,
  className: string,
  config: Record<string, unknown>,
  result: (tp: number, fp: number, tn: number, fn: number) => number,
): MetricSpec {
  const threshold = config.thresholds as number;
  return Object.freeze({
    [METRIC_BRAND]: true as const,
    name,
    class_name: className,
    config: Object.freeze(config),
    direction: "up" as const,
    size: 4,
    stats: (t: Tensor, p: Tensor, w: Tensor | null) => confusionStats(t, p, w, [threshold]),
    result: (s: ArrayLike<number>) => result(s[0], s[1], s[2], s[3]),
  });
}

/** Keras AUC thresholds: 0 - eps, (i + 1) / (n - 1) for i < n - 2, 1 + eps. */
function aucThresholds(n: number): number[] {
  // A loop, not a spread of Array.from: 2^24 thresholds took seconds.
  const thresholds = new Array<number>(n);
  for (let i = 1; i < n - 1; i++) thresholds[i] = i / (n - 1);
  thresholds[0] = -1e-7;
  thresholds[n - 1] = 1 + 1e-7;
  return thresholds;
}

/** Keras's AUC with `summation_method = "interpolation"` (trapezoids for ROC). */
function aucResult(sums: ArrayLike<number>, n: number, curve: "ROC" | "PR"): number {
  const at = (k: number, i: number) => sums[k * n + i];
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const [tp, fp, tn, fn] = [at(0, i), at(1, i), at(2, i), at(3, i)];
    if (curve === "ROC") {
      xs.push(divideNoNan(fp, fp + tn));
      ys.push(divideNoNan(tp, tp + fn));
    } else {
      xs.push(divideNoNan(tp, tp + fn));
      ys.push(divideNoNan(tp, tp + fp));
    }
  }
  let auc = 0;
  for (let i = 0; i < n - 1; i++) auc += (xs[i] - xs[i + 1]) * ((ys[i] + ys[i + 1]) / 2);
  return auc;
}

interface MetricDef {
  readonly fn: string;
  readonly props: Props;
  readonly defaults: Record<string, unknown>;
  readonly make: (c: Record<string, any>) => MetricSpec;
}

const mean = (
  key: string,
  className: string,
  direction: "up" | "down",
  per: (c: Record<string, any>) => (t: Tensor, p: Tensor) => Tensor,
  props: Props = {},
  defaults: Record<string, unknown> = {},
): [string, MetricDef] => [
  key,
  {
    fn: `metric_${key}`,
    props,
    defaults: { name: key, ...defaults },
    make: (c) => meanMetric(c.name, className, c, direction, per(c)),
  },
];
const fromLoss = (
  key: string,
  className: string,
  props: Props = {},
  defaults: Record<string, unknown> = {},
  direction: "up" | "down" = "down",
) => mean(key, className, direction, (c) => lossFunction(key, withoutName(c)), props, defaults);
const withoutName = (c: Record<string, any>) => {
  const { name: _n, ...rest } = c;
  return rest;
};

const METRIC_LIST: [string, MetricDef][] = [
  fromLoss("mean_squared_error", "MeanSquaredError"),
  fromLoss("mean_absolute_error", "MeanAbsoluteError"),
  fromLoss("mean_absolute_percentage_error", "MeanAbsolutePercentageError"),
  fromLoss("mean_squared_logarithmic_error", "MeanSquaredLogarithmicError"),
  fromLoss(
    "binary_crossentropy",
    "BinaryCrossentropy",
    { from_logits: Bool, label_smoothing: Rate },
    { from_logits: false, label_smoothing: 0 },
  ),
  fromLoss(
    "categorical_crossentropy",
    "CategoricalCrossentropy",
    { from_logits: Bool, label_smoothing: Rate },
    { from_logits: false, label_smoothing: 0 },
  ),
  fromLoss(
    "sparse_categorical_crossentropy",
    "SparseCategoricalCrossentropy",
    { from_logits: Bool },
    { from_logits: false },
  ),
  fromLoss("kl_divergence", "KLDivergence"),
  fromLoss("poisson", "Poisson"),
  fromLoss("hinge", "Hinge"),
  fromLoss("squared_hinge", "SquaredHinge"),
  fromLoss("categorical_hinge", "CategoricalHinge"),
  fromLoss("log_cosh", "LogCoshError"),
  mean(
    "binary_accuracy",
    "BinaryAccuracy",
    "up",
    (c) => binaryAccuracy(c.threshold),
    { threshold: Rate },
    { threshold: 0.5 },
  ),
  mean("categorical_accuracy", "CategoricalAccuracy", "up", () => categoricalAccuracy),
  mean("sparse_categorical_accuracy", "SparseCategoricalAccuracy", "up", () => sparseCategoricalAccuracy),
  mean("top_k_categorical_accuracy", "TopKCategoricalAccuracy", "up", (c) => topK(c.k), { k: PositiveInt }, { k: 5 }),
  mean(
    "sparse_top_k_categorical_accuracy",
    "SparseTopKCategoricalAccuracy",
    "up",
    (c) => sparseTopK(c.k),
    { k: PositiveInt },
    { k: 5 },
  ),
  [
    "root_mean_squared_error",
    {
      fn: "metric_root_mean_squared_error",
      props: {},
      defaults: { name: "root_mean_squared_error" },
      make: (c) =>
        meanMetric(
          c.name,
          "RootMeanSquaredError",
          c,
          "down",
          (t, p) => tf.mean(tf.square(tf.sub(p, t)), -1),
          Math.sqrt,
        ),
    },
  ],
  [
    "precision",
    {
      fn: "metric_precision",
      props: { thresholds: Rate },
      defaults: { name: "precision", thresholds: 0.5 },
      make: (c) => confusionMetric(c.name, "Precision", c, (tp, fp) => divideNoNan(tp, tp + fp)),
    },
  ],
  [
    "recall",
    {
      fn: "metric_recall",
      props: { thresholds: Rate },
      defaults: { name: "recall", thresholds: 0.5 },
      make: (c) => confusionMetric(c.name, "Recall", c, (tp, _fp, _tn, fn) => divideNoNan(tp, tp + fn)),
    },
  ],
  [
    "auc",
    {
      fn: "metric_auc",
      props: { num_thresholds: PositiveInt, curve: OneOf("ROC", "PR") },
      defaults: { name: "auc", num_thresholds: 200, curve: "ROC" },
      make: (c) => {
        if (c.num_thresholds < 2 || c.num_thresholds > MAX_THRESHOLDS)
          throw new KerasError(
            "metric_auc",
            `\`num_thresholds\` must be between 2 and ${MAX_THRESHOLDS} (more are closer than float32 predictions in [0, 1] can tell apart), got ${c.num_thresholds}`,
          );
        const thresholds = aucThresholds(c.num_thresholds);
        return Object.freeze({
          [METRIC_BRAND]: true as const,
          name: c.name,
          class_name: "AUC",
          config: Object.freeze({ ...c }),
          direction: "up" as const,
          size: 4 * c.num_thresholds,
          stats: (t: Tensor, p: Tensor, w: Tensor | null) => confusionStats(t, p, w, thresholds),
          result: (s: ArrayLike<number>) => aucResult(s, c.num_thresholds, c.curve),
        });
      },
    },
  ],
];
const METRICS: Record<string, MetricDef> = Object.fromEntries(METRIC_LIST);

/** Short names Keras accepts as strings, and what they stand for. */
const ALIASES: Record<string, string> = {
  mse: "mean_squared_error",
  mae: "mean_absolute_error",
  mape: "mean_absolute_percentage_error",
  msle: "mean_squared_logarithmic_error",
  rmse: "root_mean_squared_error",
  kld: "kl_divergence",
  top_k_accuracy: "top_k_categorical_accuracy",
  logcosh: "log_cosh",
};
/** Names resolved against the loss and the shapes of the first batch, as Keras does. */
const AUTO_NAMES = ["accuracy", "acc", "crossentropy", "ce"];
export const METRIC_NAMES = [...Object.keys(METRICS), ...Object.keys(ALIASES), ...AUTO_NAMES];

function makeMetric(key: string, args: unknown): MetricSpec {
  const def = METRICS[key];
  const c = decodeArgs(def.fn, { ...def.props, name: Str, dtype: FloatDType }, args, def.defaults);
  return def.make(c);
}

/** "accuracy" and "crossentropy" by name: placeholders resolved by `resolveAutoMetric`. */
function autoMetric(name: string): MetricSpec {
  return Object.freeze({
    [METRIC_BRAND]: true as const,
    name,
    class_name: "auto",
    config: Object.freeze({ name }),
    direction: (name.startsWith("acc") ? "up" : "down") as "up" | "down",
    size: 0,
    stats: () => {
      throw new KerasError("fit", `internal: metric "${name}" used before it was resolved`);
    },
    result: () => NaN,
  });
}

/**
 * Keras 3 `get_metric` for "accuracy"/"crossentropy": binary when y_pred has one column, sparse when
 * y_true has fewer axes than y_pred (or one column while y_pred has several), else categorical. A
 * binary/sparse crossentropy loss decides first.
 */
export function resolveAutoMetric(
  m: MetricSpec,
  yTrueShape: readonly number[],
  yPredShape: readonly number[],
  loss: LossSpec | null,
): MetricSpec {
  if (m.class_name !== "auto") return m;
  const accuracy = m.name.startsWith("acc");
  const lossClass = loss?.class_name;
  const isBinary =
    lossClass === "BinaryCrossentropy" ||
    (lossClass !== "SparseCategoricalCrossentropy" &&
      lossClass !== "CategoricalCrossentropy" &&
      yPredShape[yPredShape.length - 1] === 1);
  const isSparse =
    lossClass === "SparseCategoricalCrossentropy" ||
    yTrueShape.length < yPredShape.length ||
    (yTrueShape[yTrueShape.length - 1] === 1 && yPredShape[yPredShape.length - 1] > 1);
  const key = accuracy
    ? isBinary
      ? "binary_accuracy"
      : isSparse
        ? "sparse_categorical_accuracy"
        : "categorical_accuracy"
    : isBinary
      ? "binary_crossentropy"
      : isSparse
        ? "sparse_categorical_crossentropy"
        : "categorical_crossentropy";
  const fromLogits = !accuracy && isLoss(loss) && loss.config.from_logits === true ? { from_logits: true } : {};
  return makeMetric(key, { name: m.name, ...fromLogits });
}

/** A metric by name, a metric_*() value, or a function (y_true, y_pred) → per-sample tensor. */
export function resolveMetric(fn: string, v: unknown, what = "`metrics`"): MetricSpec {
  if (isMetric(v)) return v;
  if (typeof v === "string") {
    const key = v.toLowerCase();
    if (AUTO_NAMES.includes(key)) return autoMetric(v);
    const full = Object.hasOwn(ALIASES, key) ? ALIASES[key] : key;
    if (Object.hasOwn(METRICS, full)) return makeMetric(full, { name: v });
    throw new KerasError(
      fn,
      `${what}: metric "${v}" is not known; use one of ${METRIC_NAMES.map((n) => `"${n}"`).join(", ")}, a metric_*() value or a function`,
    );
  }
  if (typeof v === "function") {
    const f = checkedTensorFunction(`${what} (a function)`, v as (t: Tensor, p: Tensor) => unknown);
    return meanMetric(v.name || "custom_metric", "Custom", {}, "down", f);
  }
  if (isLoss(v)) return meanMetric(v.name, v.class_name, { ...v.config }, "down", v.perSample);
  throw new KerasError(
    fn,
    `${what}: a metric must be a name, a metric_*() value or a function (y_true, y_pred) => tensor, got ${describeValue(v)}`,
  );
}

/** The metric's value over all of (y_true, y_pred) at once, as one number. */
function computeWhole(fn: string, m: MetricSpec, yTrue: unknown, yPred: unknown): number {
  const t = toTensorData(fn, yTrue, "`y_true`");
  let p;
  try {
    p = toTensorData(fn, yPred, "`y_pred`");
    const s = tf.tidy(() => m.stats(t.tensor, p!.tensor, null));
    const sums = s.dataSync();
    s.dispose();
    return m.result(sums);
  } catch (e) {
    if (e instanceof KerasError || !p) throw e;
    throw new KerasError(
      fn,
      `cannot compute on y_true ${JSON.stringify(t.tensor.shape)} and y_pred ${JSON.stringify(p.tensor.shape)}: ${(e as Error).message}`,
      "shape",
    );
  } finally {
    release([t, p]);
  }
}

function dualMetric(key: string) {
  const fn = METRICS[key].fn;
  return dualYFunction(
    fn,
    "metric",
    (args) => makeMetric(key, args),
    (m, yTrue, yPred) =>
      m.perSample ? computePerSample(fn, m.perSample, yTrue, yPred, m.class_name) : computeWhole(fn, m, yTrue, yPred),
  );
}

export const metric_mean_squared_error = dualMetric("mean_squared_error");
export const metric_mean_absolute_error = dualMetric("mean_absolute_error");
export const metric_mean_absolute_percentage_error = dualMetric("mean_absolute_percentage_error");
export const metric_mean_squared_logarithmic_error = dualMetric("mean_squared_logarithmic_error");
export const metric_root_mean_squared_error = dualMetric("root_mean_squared_error");
export const metric_binary_crossentropy = dualMetric("binary_crossentropy");
export const metric_categorical_crossentropy = dualMetric("categorical_crossentropy");
export const metric_sparse_categorical_crossentropy = dualMetric("sparse_categorical_crossentropy");
export const metric_kl_divergence = dualMetric("kl_divergence");
export const metric_poisson = dualMetric("poisson");
export const metric_binary_accuracy = dualMetric("binary_accuracy");
export const metric_categorical_accuracy = dualMetric("categorical_accuracy");
export const metric_sparse_categorical_accuracy = dualMetric("sparse_categorical_accuracy");
export const metric_top_k_categorical_accuracy = dualMetric("top_k_categorical_accuracy");
export const metric_sparse_top_k_categorical_accuracy = dualMetric("sparse_top_k_categorical_accuracy");
export const metric_auc = dualMetric("auc");
export const metric_precision = dualMetric("precision");
export const metric_recall = dualMetric("recall");
