/**
 * Keras metrics. A metric accumulates a small vector of sums over the batches of an epoch (computed on
 * the device, added up on the host in float64) and turns them into its value, as Keras's stateful
 * metrics do (metric_stats.ts has the statistics). `metric_*()` is dual as the losses: no data → a metric
 * value for compile(); `(y_true, y_pred)` → computed (per-sample numbers for the mean metrics, the
 * metric's value for the others).
 *
 * A metric value is also R keras3's metric object, immutably: `m.update_state(y_true, y_pred,
 * { sample_weight })` returns a new value holding the accumulated sums, `m.result()` reads it and
 * `m.reset_state()` returns the empty value (`metric_mean()` / `metric_sum()` take `update_state(values)`).
 */
import * as t from "io-ts";
import { tf, type Tensor } from "../backend/tf.js";
import { ArgumentError, KerasError, asKerasError, describeValue, within } from "../errors.js";
import { checkedTensorFunction } from "./user_functions.js";
import {
  Bool,
  FloatDType,
  Fn,
  Int,
  NonNegativeInt,
  PositiveInt,
  PositiveNum,
  Rate,
  Str,
  decodeArgs,
  described,
  Nullable,
  OneOf,
  PositiveIntAtMost,
  MAX_TENSOR_SIZE,
  type Props,
  refuseArgumentsPast,
  refuseUnusedArguments,
  refusingUnused,
} from "../args.js";
import { release, toTensorData, type Converted } from "../backend/convert.js";
import {
  checkClassLabels,
  computePerSample,
  dualYFunction,
  isLoss,
  lossFunction,
  withAxisCheck,
  type LossSpec,
} from "./losses.js";
import {
  aucValue,
  bestUnderConstraint,
  confusionCounts,
  confusionStats,
  divideNoNan,
  fbetaStats,
  fbetaValue,
  gridThresholds,
  iouStats,
  iouValue,
  meanStats,
  r2Stats,
  r2Value,
  sumStats,
  thresholdsOf,
  twoDimensional,
  type FAverage,
  type Thresholds,
} from "./metric_stats.js";

/** More evenly spaced thresholds than float32 can tell apart in [0, 1] (its 2^24 steps below 1) add nothing. */
const MAX_THRESHOLDS = 2 ** 24;
/** `num_thresholds` of AUC and the *-at-* metrics: an integer in [min, MAX_THRESHOLDS]. */
const NumThresholds = (min: number) =>
  described(
    t.refinement(PositiveInt, (n) => n >= min && n <= MAX_THRESHOLDS),
    `an integer in [${min}, ${MAX_THRESHOLDS}] (more thresholds are closer than float32 predictions in [0, 1] can tell apart)`,
  );

export const METRIC_BRAND = Symbol.for("tskeras.metric");

/** What a metric computes; a `MetricSpec` is this plus its accumulated state. */
export interface MetricCore {
  /** The name in logs and history ("mae", "accuracy", "auc", ...). */
  readonly name: string;
  /** Keras class name; "auto" for "accuracy"/"crossentropy", resolved against the loss and shapes. */
  readonly class_name: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** "up" when larger is better (used by callbacks in mode "auto"). */
  readonly direction: "up" | "down";
  /** Number of sums the metric accumulates. */
  readonly size: number;
  /**
   * Sums of one batch, a 1-D tensor of `size` values (inside tf.tidy). Metrics of values
   * (`valuesOnly`) read their values from the first argument.
   */
  readonly stats: (yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor | null) => Tensor;
  /** The metric's value from the accumulated sums: a number, or one per class / threshold. */
  readonly value: (sums: ArrayLike<number>) => number | number[];
  /** Per-sample values, for the mean metrics (the computed form of the dual function). */
  readonly perSample?: (yTrue: Tensor, yPred: Tensor) => Tensor;
  /** Metrics whose size depends on the data (F-scores, R²): the metric for these shapes. */
  readonly build?: (yTrueShape: readonly (number | null)[], yPredShape: readonly (number | null)[]) => MetricCore;
  /** Keras's Mean and Sum: they aggregate values given to update_state(), not (y_true, y_pred). */
  readonly valuesOnly?: boolean;
}

export interface MetricSpec extends MetricCore {
  readonly [METRIC_BRAND]: true;
  /** The public function that made it (`metric_auc`, `custom_metric`): errors of its methods name it. */
  readonly fn: string;
  /** Sums accumulated by update_state() (null: none yet). */
  readonly state: readonly number[] | null;
  /** A new metric value with this batch added (Keras's `update_state`); `(values, args)` for metric_mean/sum. */
  update_state(y_true: unknown, y_pred?: unknown, args?: { sample_weight?: unknown }): MetricSpec;
  /** The metric over everything added so far (Keras's `result()`). */
  result(): number | number[];
  /** The same metric with nothing accumulated (Keras's `reset_state()`). */
  reset_state(): MetricSpec;
}

export function isMetric(x: unknown): x is MetricSpec {
  return x !== null && typeof x === "object" && (x as any)[METRIC_BRAND] === true;
}

/** A metric value made by public function `fn`: `core` with `state` and the update_state / result / reset_state methods. */
function metricValue(fn: string, core: MetricCore, state: readonly number[] | null = null): MetricSpec {
  const self: MetricSpec = Object.freeze({
    ...core,
    [METRIC_BRAND]: true as const,
    fn,
    state: state ? Object.freeze([...state]) : null,
    update_state: (a: unknown, b?: unknown, c?: unknown, ...unused: unknown[]) =>
      method(self, "update_state", () => {
        if (core.valuesOnly) {
          refuseUnusedArguments(fn, 3, [c, ...unused], "update_state(values, args)");
          return accumulate(self, a, a, b);
        }
        refuseUnusedArguments(fn, 4, unused, "update_state(y_true, y_pred, args)");
        return accumulate(self, a, b, c);
      }),
    result: (...unused: unknown[]) =>
      method(self, "result", () => {
        refuseUnusedArguments(fn, 1, unused, "result()");
        return currentResult(self);
      }),
    reset_state: (...unused: unknown[]) =>
      method(self, "reset_state", () => {
        refuseUnusedArguments(fn, 1, unused, "reset_state()");
        return metricValue(fn, core);
      }),
  });
  return self;
}

/** Runs method `name` of `spec`: its errors are those of the metric's function, the method named first. */
function method<T>(spec: MetricSpec, name: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    throw e instanceof KerasError ? within(spec.fn, `${name}()`, e) : e;
  }
}

const UPDATE_PROPS = { sample_weight: described(t.unknown, "sample weights") };

/** `spec` with one batch added: its stats on (y_true, y_pred, sample_weight), added to its state. */
function accumulate(spec: MetricSpec, yTrue: unknown, yPred: unknown, args: unknown): MetricSpec {
  const fn = spec.fn;
  const a = decodeArgs(fn, UPDATE_PROPS, args, {});
  const held: Converted[] = [];
  const convert = (v: unknown, what: string) => {
    const c = toTensorData(fn, v, what);
    held.push(c);
    return c.tensor;
  };
  try {
    const t = convert(yTrue, spec.valuesOnly ? "`values`" : "`y_true`");
    const p = spec.valuesOnly ? t : convert(yPred, "`y_pred`");
    const w =
      a.sample_weight === undefined || a.sample_weight === null ? null : convert(a.sample_weight, "`sample_weight`");
    const shapes = (yt: Tensor, yp: Tensor, sw: Tensor | null) =>
      (spec.valuesOnly
        ? `\`values\` of shape [${yt.shape.join(", ")}]`
        : `\`y_true\` of shape [${yt.shape.join(", ")}] and \`y_pred\` of shape [${yp.shape.join(", ")}]`) +
      (sw ? ` with \`sample_weight\` of shape [${sw.shape.join(", ")}]` : "");
    if (!spec.valuesOnly) checkClassLabels(fn, spec.class_name, t, p);
    const core = spec.build ? spec.build(t.shape, p.shape) : spec;
    let sums: ArrayLike<number>;
    try {
      const s = tf.tidy(() => core.stats(t, p, w));
      sums = s.dataSync();
      s.dispose();
    } catch (e) {
      if (e instanceof KerasError) throw e;
      if (e instanceof ArgumentError) throw asKerasError(fn, e);
      throw new KerasError(fn, `${spec.name}: cannot use ${shapes(t, p, w)} (${(e as Error).message})`, "shape");
    }
    if (sums.length !== core.size)
      throw new KerasError(
        fn,
        `${spec.name}: ${shapes(t, p, null)} give ${sums.length} sums where the metric holds ${core.size} (the data changed shape since the earlier batches); start again from reset_state()`,
        "shape",
      );
    const total = Array.from(sums, (v, i) => v + (spec.state?.[i] ?? 0));
    const { build: _build, ...sized } = core;
    return metricValue(fn, sized, total);
  } finally {
    release(held);
  }
}

function currentResult(spec: MetricSpec): number | number[] {
  if (spec.build)
    throw new KerasError(
      spec.fn,
      `${spec.name}: nothing has been added yet; call update_state() first (its size comes from the data)`,
      "state",
    );
  return spec.value(spec.state ?? new Array(spec.size).fill(0));
}

const { mul, sum, cast, equal, argMax, greater } = tf;

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

/** Keras's mean metrics (MeanMetricWrapper): the weighted mean of a per-sample function. */
function meanMetric(
  name: string,
  className: string,
  config: Record<string, unknown>,
  direction: "up" | "down",
  perSample: (t: Tensor, p: Tensor) => Tensor,
  transform?: (x: number) => number,
): MetricCore {
  return {
    name,
    class_name: className,
    config: Object.freeze(config),
    direction,
    size: 2,
    stats: (t: Tensor, p: Tensor, w: Tensor | null) => meanStats(perSample(t, p), w),
    value: (s: ArrayLike<number>) => (transform ? transform(divideNoNan(s[0], s[1])) : divideNoNan(s[0], s[1])),
    // A transformed mean (rmse) is not a per-sample quantity: its computed form is one number.
    perSample: transform ? undefined : perSample,
  };
}

/** Keras's confusion-matrix metrics: the counts at `thresholds` (of column `classId`) and a value from them. */
function confusionMetric(
  name: string,
  className: string,
  config: Record<string, unknown>,
  direction: "up" | "down",
  thresholds: Thresholds,
  value: (c: ReturnType<typeof confusionCounts>, n: number, sums: ArrayLike<number>) => number | number[],
  classId: number | null = null,
): MetricCore {
  const n = thresholds.values.length;
  return {
    name,
    class_name: className,
    config: Object.freeze(config),
    direction,
    size: 4 * n,
    stats: (t: Tensor, p: Tensor, w: Tensor | null) => confusionStats(t, p, w, thresholds, classId),
    value: (s: ArrayLike<number>) => value(confusionCounts(s, n), n, s),
  };
}

/** Keras's `thresholds` argument: one number in [0, 1] or a vector of them (default 0.5). */
const ThresholdList = described(
  t.union([t.refinement(t.number, (n) => n >= 0 && n <= 1), t.array(t.refinement(t.number, (n) => n >= 0 && n <= 1))]),
  "a number in [0, 1] or a vector of them",
);
const listOf = (v: number | number[]) => (Array.isArray(v) ? v : [v]);
/** One value per threshold, or the value itself for a single threshold (as Keras returns them). */
const perThreshold = (values: number[]) => (values.length === 1 ? values[0] : values);

const Probability = described(
  t.refinement(t.number, (n) => n >= 0 && n <= 1),
  "a number in [0, 1]",
);
const ClassId = Nullable(
  described(
    t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0),
    "a class index",
  ),
);

interface MetricDef {
  readonly fn: string;
  readonly className: string;
  readonly props: Props;
  readonly defaults: Record<string, unknown>;
  /** Arguments without a default. */
  readonly required?: readonly string[];
  readonly make: (c: Record<string, any>) => MetricCore;
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
    className,
    props,
    defaults: { name: key, ...defaults },
    make: (c) => meanMetric(c.name, className, c, direction, withAxisCheck(c.axis, per(c))),
  },
];
const withoutName = (c: Record<string, any>) => {
  const { name: _n, dtype: _d, ...rest } = c;
  return rest;
};
/** A mean metric of the loss function `loss` (Keras's metric classes of the same name). */
const fromLoss = (
  key: string,
  className: string,
  props: Props = {},
  defaults: Record<string, unknown> = {},
  loss = key,
) => mean(key, className, "down", (c) => lossFunction(loss, withoutName(c)), props, defaults);

const confusionCount = (
  key: string,
  className: string,
  direction: "up" | "down",
  k: "tp" | "fp" | "tn" | "fn",
): [string, MetricDef] => [
  key,
  {
    fn: `metric_${key}`,
    className,
    props: { thresholds: ThresholdList },
    defaults: { name: key, thresholds: 0.5 },
    make: (c) =>
      confusionMetric(c.name, className, c, direction, thresholdsOf(listOf(c.thresholds)), (counts) =>
        perThreshold(counts[k]),
      ),
  },
];

const atConstraint = (key: string, className: string, target: "recall" | "precision"): [string, MetricDef] => [
  key,
  {
    fn: `metric_${key}`,
    className,
    props: { [target]: Probability, num_thresholds: NumThresholds(1), class_id: ClassId },
    defaults: { name: key, num_thresholds: 200, class_id: null },
    required: [target],
    make: (c) => {
      const thresholds: Thresholds =
        c.num_thresholds === 1 ? { values: [0.5], evenly: false } : gridThresholds(c.num_thresholds);
      return confusionMetric(
        c.name,
        className,
        c,
        "up",
        thresholds,
        (_counts, n, s) => bestUnderConstraint(s, n, c[target], target),
        c.class_id,
      );
    },
  },
];

const FBETA_PROPS: Props = {
  average: described(
    t.union([t.null, t.literal("micro"), t.literal("macro"), t.literal("weighted")]),
    'NULL, "micro", "macro" or "weighted"',
  ),
  threshold: Nullable(
    described(
      t.refinement(t.number, (n) => n > 0 && n <= 1),
      "a number in (0, 1]",
    ),
  ),
};
const fbeta = (key: string, className: string, withBeta: boolean): [string, MetricDef] => [
  key,
  {
    fn: `metric_${key}`,
    className,
    props: withBeta ? { ...FBETA_PROPS, beta: PositiveNum } : FBETA_PROPS,
    defaults: { name: key, average: null, threshold: null, ...(withBeta ? { beta: 1 } : {}) },
    make: (c) => {
      const beta: number = c.beta ?? 1;
      const average: FAverage = c.average;
      const sized = (classes: number): MetricCore => ({
        name: c.name,
        class_name: className,
        config: Object.freeze({ ...c }),
        direction: "up",
        size: average === "micro" ? 4 : 4 * classes,
        stats: (yt: Tensor, yp: Tensor, w: Tensor | null) => fbetaStats(yt, yp, w, c.threshold, average),
        value: (s: ArrayLike<number>) => fbetaValue(s, beta, average),
      });
      return {
        ...sized(0),
        build: (ts, ps) => sized(twoDimensional(`metric_${key}`, className, ts as number[], ps as number[])),
      };
    },
  },
];

const IOU_PROPS: Props = {
  // Keras's IoU classes default to dtype "int" and write it ("int64"): counts of integer (truncated) weights.
  dtype: Nullable(OneOf("float32", "int32", "int64")),
  // The confusion matrix holds num_classes^2 counts.
  num_classes: PositiveIntAtMost(Math.floor(Math.sqrt(MAX_TENSOR_SIZE)), "its square is the size of a tensor"),
  ignore_class: Nullable(Int),
  sparse_y_true: Bool,
  sparse_y_pred: Bool,
  axis: Int,
};
const IOU_DEFAULTS = { ignore_class: null, sparse_y_true: true, sparse_y_pred: true, axis: -1 };
const iouMetric = (key: string, className: string, withTargets: boolean, name: string): [string, MetricDef] => [
  key,
  {
    fn: `metric_${key}`,
    className,
    props: withTargets
      ? { ...IOU_PROPS, target_class_ids: described(t.array(NonNegativeInt), "a vector of class indices") }
      : IOU_PROPS,
    defaults: { name, ...IOU_DEFAULTS },
    required: withTargets ? ["num_classes", "target_class_ids"] : ["num_classes"],
    make: (c) => {
      const fn = `metric_${key}`;
      const targets: number[] = withTargets ? c.target_class_ids : Array.from({ length: c.num_classes }, (_, i) => i);
      const outside = targets.find((id) => id >= c.num_classes);
      if (outside !== undefined)
        throw new KerasError(
          fn,
          `\`target_class_ids\` holds ${outside}, out of range [0, ${c.num_classes}) of \`num_classes\``,
        );
      const options = { ...c, integerWeights: !String(c.dtype ?? "int").startsWith("float") } as any;
      return {
        name: c.name,
        class_name: className,
        config: Object.freeze({ ...c }),
        direction: "up",
        size: c.num_classes * c.num_classes,
        stats: (yt: Tensor, yp: Tensor, w: Tensor | null) => iouStats(yt, yp, w, options),
        value: (s: ArrayLike<number>) => iouValue(s, c.num_classes, targets),
      };
    },
  },
];

/** Keras's normalize(x) = x * min(1 / ||x||, 1 / epsilon), then the cosine of y_true and y_pred. */
const cosineSimilarity = (axis: number) => (yt: Tensor, yp: Tensor) => {
  const normalize = (x: Tensor) => mul(x, tf.minimum(tf.rsqrt(sum(tf.square(x), axis, true)), 1e7));
  return sum(mul(normalize(yt), normalize(yp)), axis);
};

/** Keras's Mean and Sum: aggregates of values given to update_state(). */
const aggregate = (key: "mean" | "sum", className: string): [string, MetricDef] => [
  key,
  {
    fn: `metric_${key}`,
    className,
    props: {},
    defaults: { name: key },
    make: (c) => ({
      name: c.name,
      class_name: className,
      config: Object.freeze({ ...c }),
      direction: "down",
      size: key === "mean" ? 2 : 1,
      stats: (values: Tensor, _: Tensor, w: Tensor | null) =>
        key === "mean" ? meanStats(values, w) : sumStats(values, w),
      value: (s: ArrayLike<number>) => (key === "mean" ? divideNoNan(s[0], s[1]) : s[0]),
      valuesOnly: true,
    }),
  },
];

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
  fromLoss("log_cosh_error", "LogCoshError", {}, { name: "logcosh" }, "log_cosh"),
  mean("cosine_similarity", "CosineSimilarity", "up", (c) => cosineSimilarity(c.axis), { axis: Int }, { axis: -1 }),
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
      className: "RootMeanSquaredError",
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
      className: "Precision",
      props: { thresholds: Rate },
      defaults: { name: "precision", thresholds: 0.5 },
      make: (c) =>
        confusionMetric(c.name, "Precision", c, "up", thresholdsOf([c.thresholds]), ({ tp, fp }) =>
          divideNoNan(tp[0], tp[0] + fp[0]),
        ),
    },
  ],
  [
    "recall",
    {
      fn: "metric_recall",
      className: "Recall",
      props: { thresholds: Rate },
      defaults: { name: "recall", thresholds: 0.5 },
      make: (c) =>
        confusionMetric(c.name, "Recall", c, "up", thresholdsOf([c.thresholds]), ({ tp, fn }) =>
          divideNoNan(tp[0], tp[0] + fn[0]),
        ),
    },
  ],
  [
    "auc",
    {
      fn: "metric_auc",
      className: "AUC",
      props: { num_thresholds: NumThresholds(2), curve: OneOf("ROC", "PR") },
      defaults: { name: "auc", num_thresholds: 200, curve: "ROC" },
      make: (c) =>
        confusionMetric(c.name, "AUC", c, "up", gridThresholds(c.num_thresholds, 1e-7), (_c, n, s) =>
          aucValue(s, n, c.curve),
        ),
    },
  ],
  confusionCount("true_positives", "TruePositives", "up", "tp"),
  confusionCount("false_positives", "FalsePositives", "down", "fp"),
  confusionCount("true_negatives", "TrueNegatives", "up", "tn"),
  confusionCount("false_negatives", "FalseNegatives", "down", "fn"),
  atConstraint("precision_at_recall", "PrecisionAtRecall", "recall"),
  atConstraint("recall_at_precision", "RecallAtPrecision", "precision"),
  fbeta("f1_score", "F1Score", false),
  fbeta("fbeta_score", "FBetaScore", true),
  [
    "r2_score",
    {
      fn: "metric_r2_score",
      className: "R2Score",
      props: {
        class_aggregation: Nullable(OneOf("uniform_average", "variance_weighted_average")),
        num_regressors: NonNegativeInt,
      },
      defaults: { name: "r2_score", class_aggregation: "uniform_average", num_regressors: 0 },
      make: (c) => {
        const sized = (classes: number): MetricCore => ({
          name: c.name,
          class_name: "R2Score",
          config: Object.freeze({ ...c }),
          direction: "up",
          size: 4 * classes + 1,
          stats: r2Stats,
          value: (s: ArrayLike<number>) => r2Value(s, c.class_aggregation, c.num_regressors),
        });
        return {
          ...sized(0),
          build: (ts, ps) => {
            // Keras squeezes or expands y_true to y_pred's rank first.
            const yt = ts.length === ps.length - 1 && ps[ps.length - 1] === 1 ? [...ts, 1] : ts;
            return sized(twoDimensional("metric_r2_score", "R2Score", yt as number[], ps as number[]));
          },
        };
      },
    },
  ],
  iouMetric("iou", "IoU", true, "io_u"),
  iouMetric("mean_iou", "MeanIoU", false, "mean_io_u"),
  aggregate("mean", "Mean"),
  aggregate("sum", "Sum"),
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
  logcosh: "log_cosh_error",
  log_cosh: "log_cosh_error",
};
/** Names resolved against the loss and the shapes of the first batch, as Keras does. */
const AUTO_NAMES = ["accuracy", "acc", "crossentropy", "ce"];
/** Metrics that need arguments, or aggregate values: not available by name in compile(). */
const NOT_BY_NAME = ["precision_at_recall", "recall_at_precision", "iou", "mean_iou", "mean", "sum"];
export const METRIC_NAMES = [
  ...Object.keys(METRICS).filter((k) => !NOT_BY_NAME.includes(k)),
  ...Object.keys(ALIASES),
  ...AUTO_NAMES,
];

function makeMetric(key: string, args: unknown): MetricSpec {
  const def = METRICS[key];
  const c = decodeArgs(def.fn, { name: Str, dtype: FloatDType, ...def.props }, args, def.defaults, def.required);
  return metricValue(def.fn, def.make(c));
}

/** "accuracy" and "crossentropy" by name: placeholders resolved by `resolveAutoMetric`. */
function autoMetric(fn: string, name: string): MetricSpec {
  return metricValue(fn, {
    name,
    class_name: "auto",
    config: Object.freeze({ name }),
    direction: (name.startsWith("acc") ? "up" : "down") as "up" | "down",
    size: 0,
    stats: () => {
      throw new KerasError("fit", `internal: metric "${name}" used before it was resolved`);
    },
    value: () => NaN,
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

/** The metric sized for data of these shapes (F-scores, R² take their size from the output's). */
export function metricForShapes(
  m: MetricSpec,
  yTrueShape: readonly (number | null)[],
  yPredShape: readonly (number | null)[],
): MetricSpec {
  return m.build ? metricValue(m.fn, m.build(yTrueShape, yPredShape)) : m;
}

/** A metric by name, a metric_*() value, or a function (y_true, y_pred) → per-sample tensor. */
export function resolveMetric(fn: string, v: unknown, what = "`metrics`"): MetricSpec {
  if (isMetric(v)) {
    if (v.valuesOnly)
      throw new KerasError(
        fn,
        `${what}: metric "${v.name}" (metric_${v.class_name.toLowerCase()}()) aggregates values given to its update_state(), not (y_true, y_pred); to track a function of them use custom_metric(name, fn)`,
      );
    return v;
  }
  if (typeof v === "string") {
    const key = v.toLowerCase();
    if (AUTO_NAMES.includes(key)) return autoMetric(fn, v);
    const full = Object.hasOwn(ALIASES, key) ? ALIASES[key] : key;
    if (Object.hasOwn(METRICS, full) && !NOT_BY_NAME.includes(full)) return makeMetric(full, { name: v });
    throw new KerasError(
      fn,
      `${what}: metric "${v}" is not known${NOT_BY_NAME.includes(full) ? ` by name (give ${METRICS[full].fn}() with its arguments)` : ""}; use one of ${METRIC_NAMES.map((n) => `"${n}"`).join(", ")}, a metric_*() value or a function`,
    );
  }
  if (typeof v === "function") {
    const f = checkedTensorFunction(`${what} (a function)`, v as (t: Tensor, p: Tensor) => unknown);
    return metricValue(fn, meanMetric(v.name || "custom_metric", "Custom", {}, "down", f));
  }
  if (isLoss(v)) return metricValue(fn, meanMetric(v.name, v.class_name, { ...v.config }, "down", v.perSample));
  throw new KerasError(
    fn,
    `${what}: a metric must be a name, a metric_*() value or a function (y_true, y_pred) => tensor, got ${describeValue(v)}`,
  );
}

/** The public function of a Keras metric class ("F1Score" → metric_f1_score), for reading Keras's configs. */
export function metricFunctionOf(className: string): ((args?: Record<string, unknown>) => MetricSpec) | undefined {
  const hit = Object.entries(METRICS).find(([, d]) => d.className === className);
  return hit ? (args) => makeMetric(hit[0], args) : undefined;
}

function dualMetric(key: string) {
  const fn = METRICS[key].fn;
  return dualYFunction(
    fn,
    "metric",
    (args) => makeMetric(key, args),
    (m, yTrue, yPred) =>
      m.perSample
        ? computePerSample(fn, m.perSample, yTrue, yPred, m.class_name)
        : accumulate(m, yTrue, yPred, {}).result(),
  );
}

/**
 * `metric_mean_squared_error(y_true, y_pred, ...)` (Keras 3): the mean of (y_true - y_pred)^2. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * metric_mean_squared_error([[0, 1]], [[1, 1]]); // [0.5]
 */
export const metric_mean_squared_error = dualMetric("mean_squared_error");
/**
 * `metric_mean_absolute_error(y_true, y_pred, ...)` (Keras 3): the mean of |y_true - y_pred|. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "mse", metrics: [metric_mean_absolute_error()] });
 */
export const metric_mean_absolute_error = dualMetric("mean_absolute_error");
/**
 * `metric_mean_absolute_percentage_error(y_true, y_pred, ...)` (Keras 3): 100 * the mean of |(y_true - y_pred) / y_true|. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "mse", metrics: [metric_mean_absolute_percentage_error()] });
 */
export const metric_mean_absolute_percentage_error = dualMetric("mean_absolute_percentage_error");
/**
 * `metric_mean_squared_logarithmic_error(y_true, y_pred, ...)` (Keras 3): the mean of (log(1 + y_true) - log(1 + y_pred))^2. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "mse", metrics: [metric_mean_squared_logarithmic_error()] });
 */
export const metric_mean_squared_logarithmic_error = dualMetric("mean_squared_logarithmic_error");
/**
 * `metric_root_mean_squared_error(y_true, y_pred, ...)` (Keras 3): the square root of the mean squared error over all batches. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "mse", metrics: [metric_root_mean_squared_error()] });
 */
export const metric_root_mean_squared_error = dualMetric("root_mean_squared_error");
/**
 * `metric_binary_crossentropy(y_true, y_pred, ...)` (Keras 3): the binary crossentropy (from_logits, label_smoothing). Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * metric_binary_crossentropy([[0, 1]], [[0.5, 0.5]]); // [0.693]
 */
export const metric_binary_crossentropy = dualMetric("binary_crossentropy");
/**
 * `metric_categorical_crossentropy(y_true, y_pred, ...)` (Keras 3): the categorical crossentropy of one-hot targets. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "categorical_crossentropy", metrics: [metric_categorical_crossentropy()] });
 */
export const metric_categorical_crossentropy = dualMetric("categorical_crossentropy");
/**
 * `metric_sparse_categorical_crossentropy(y_true, y_pred, ...)` (Keras 3): the categorical crossentropy of class-index targets. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: [metric_sparse_categorical_crossentropy()] });
 */
export const metric_sparse_categorical_crossentropy = dualMetric("sparse_categorical_crossentropy");
/**
 * `metric_kl_divergence(y_true, y_pred, ...)` (Keras 3): the Kullback-Leibler divergence. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "kl_divergence", metrics: [metric_kl_divergence()] });
 */
export const metric_kl_divergence = dualMetric("kl_divergence");
/**
 * `metric_poisson(y_true, y_pred, ...)` (Keras 3): the Poisson loss. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "poisson", metrics: [metric_poisson()] });
 */
export const metric_poisson = dualMetric("poisson");
/**
 * `metric_binary_accuracy(y_true, y_pred, ...)` (Keras 3): how often y_pred > threshold (0.5) matches y_true. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * metric_binary_accuracy([[1, 0]], [[0.7, 0.6]]); // [0.5]
 */
export const metric_binary_accuracy = dualMetric("binary_accuracy");
/**
 * `metric_categorical_accuracy(y_true, y_pred, ...)` (Keras 3): how often the largest y_pred is the one-hot target's class. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * metric_categorical_accuracy([[0, 1]], [[0.3, 0.7]]); // [1]
 */
export const metric_categorical_accuracy = dualMetric("categorical_accuracy");
/**
 * `metric_sparse_categorical_accuracy(y_true, y_pred, ...)` (Keras 3): how often the largest y_pred is the target class index. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * metric_sparse_categorical_accuracy([1], [[0.3, 0.7]]); // [1]
 */
export const metric_sparse_categorical_accuracy = dualMetric("sparse_categorical_accuracy");
/**
 * `metric_top_k_categorical_accuracy(y_true, y_pred, ...)` (Keras 3): how often the one-hot target's class is among the k (5) largest predictions. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "categorical_crossentropy", metrics: [metric_top_k_categorical_accuracy({ k: 3 })] });
 */
export const metric_top_k_categorical_accuracy = dualMetric("top_k_categorical_accuracy");
/**
 * `metric_sparse_top_k_categorical_accuracy(y_true, y_pred, ...)` (Keras 3): how often the target class index is among the k (5) largest predictions. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: [metric_sparse_top_k_categorical_accuracy({ k: 3 })] });
 */
export const metric_sparse_top_k_categorical_accuracy = dualMetric("sparse_top_k_categorical_accuracy");
/**
 * `metric_auc(y_true, y_pred, ...)` (Keras 3): the area under the ROC (or PR) curve, by `num_thresholds` (200) thresholds. Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "binary_crossentropy", metrics: [metric_auc({ curve: "PR" })] });
 */
export const metric_auc = dualMetric("auc");
/**
 * `metric_precision(y_true, y_pred, ...)` (Keras 3): true positives / predicted positives, at `thresholds` (0.5). Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "binary_crossentropy", metrics: [metric_precision()] });
 */
export const metric_precision = dualMetric("precision");
/**
 * `metric_recall(y_true, y_pred, ...)` (Keras 3): true positives / actual positives, at `thresholds` (0.5). Called with data it computes the values; called with a record of arguments (or none) it is the metric for `compile()`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "binary_crossentropy", metrics: [metric_recall()] });
 */
export const metric_recall = dualMetric("recall");
/**
 * Hinge metric (Keras 3 `Hinge`): the mean of `max(1 - y_true * y_pred, 0)`, labels {0, 1} mapped to {-1, 1}.
 *
 * @example
 * metric_hinge([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]); // per sample [1.1, 1.5]
 */
export const metric_hinge = dualMetric("hinge");
/**
 * Log-cosh error (Keras 3 `LogCoshError`, name "logcosh"): the mean of `log(cosh(y_pred - y_true))`.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "mse", metrics: [metric_log_cosh_error()] });
 */
export const metric_log_cosh_error = dualMetric("log_cosh_error");
/**
 * Cosine similarity (Keras 3 `CosineSimilarity`): the mean over samples of the cosine between y_true
 * and y_pred along `axis` (default -1); larger is better.
 *
 * @example
 * metric_cosine_similarity([[0, 1], [1, 1]], [[1, 0], [1, 1]]); // per sample [0, 1]
 */
export const metric_cosine_similarity = dualMetric("cosine_similarity");
/**
 * True positives (Keras 3 `TruePositives`): the weighted count of samples with y_true != 0 predicted
 * positive (y_pred > threshold); with a vector of `thresholds` (default 0.5) one count per threshold.
 *
 * @example
 * metric_true_positives([0, 1, 1, 1], [1, 0, 1, 1]); // 2
 * metric_true_positives([0, 1, 1, 1], [0.2, 0.4, 0.6, 0.9], { thresholds: [0.3, 0.7] }); // [3, 1]
 */
export const metric_true_positives = dualMetric("true_positives");
/**
 * False positives (Keras 3 `FalsePositives`): y_true == 0 predicted positive; `thresholds` as metric_true_positives().
 *
 * @example
 * metric_false_positives([0, 1, 0, 0], [0, 0, 1, 1]); // 2
 */
export const metric_false_positives = dualMetric("false_positives");
/**
 * True negatives (Keras 3 `TrueNegatives`): y_true == 0 predicted negative; `thresholds` as metric_true_positives().
 *
 * @example
 * metric_true_negatives([0, 1, 0, 0], [0, 0, 1, 0]); // 2
 */
export const metric_true_negatives = dualMetric("true_negatives");
/**
 * False negatives (Keras 3 `FalseNegatives`): y_true != 0 predicted negative; `thresholds` as metric_true_positives().
 *
 * @example
 * metric_false_negatives([0, 1, 1, 1], [0, 1, 0, 0]); // 2
 */
export const metric_false_negatives = dualMetric("false_negatives");
/**
 * Best precision at a recall of at least `recall` (Keras 3 `PrecisionAtRecall`), over `num_thresholds`
 * (default 200) evenly spaced thresholds; `class_id` picks one column of multi-class data.
 *
 * @example
 * metric_precision_at_recall([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], { recall: 0.5 }); // 0.5
 */
export const metric_precision_at_recall = dualMetric("precision_at_recall");
/**
 * Best recall at a precision of at least `precision` (Keras 3 `RecallAtPrecision`); `num_thresholds`
 * (default 200) and `class_id` as metric_precision_at_recall().
 *
 * @example
 * metric_recall_at_precision([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], { precision: 0.8 }); // 0.5
 */
export const metric_recall_at_precision = dualMetric("recall_at_precision");
/**
 * F1 score (Keras 3 `F1Score`) of (batch, classes) data: per class by default (`average = NULL`), or
 * averaged "micro", "macro" or "weighted". Without `threshold` the highest-scoring class of each sample
 * counts as predicted; with it, every y_pred > threshold.
 *
 * @example
 * metric_f1_score([[1, 1, 1], [1, 0, 0], [1, 1, 0]], [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]],
 *   { threshold: 0.5 }); // [0.5, 0.8, 0.667]
 */
export const metric_f1_score = dualMetric("f1_score");
/**
 * F-beta score (Keras 3 `FBetaScore`): as metric_f1_score(), recall weighted `beta` (default 1) times as
 * much as precision.
 *
 * @example
 * compile(model, { optimizer: "adam", loss: "binary_crossentropy",
 *   metrics: [metric_fbeta_score({ beta: 2, average: "macro", threshold: 0.5 })] });
 */
export const metric_fbeta_score = dualMetric("fbeta_score");
/**
 * R² (Keras 3 `R2Score`) of (batch, outputs) data: per output, then `class_aggregation`
 * "uniform_average" (default), "variance_weighted_average" or NULL (one per output); adjusted for
 * `num_regressors` > 0.
 *
 * @example
 * metric_r2_score([[1], [4], [3]], [[2], [4], [4]]); // 0.5714
 */
export const metric_r2_score = dualMetric("r2_score");
/**
 * Intersection over union (Keras 3 `IoU`) of the `target_class_ids` among `num_classes`: a confusion
 * matrix of class ids (sparse by default; `sparse_y_true` / `sparse_y_pred` = FALSE take the argmax over
 * `axis`), entries of `ignore_class` left out. `dtype` NULL (default) is Keras's "int" (written "int64"
 * in its files): sample weights are truncated to integers; "float32" keeps them.
 *
 * @example
 * metric_iou([0, 0, 1, 1], [0, 1, 0, 1], { num_classes: 2, target_class_ids: [0] }); // 1/3
 */
export const metric_iou = dualMetric("iou");
/**
 * Mean IoU over all `num_classes` (Keras 3 `MeanIoU`, name "mean_io_u"); the other arguments as metric_iou().
 *
 * @example
 * metric_mean_iou([0, 0, 1, 1], [0, 1, 0, 1], { num_classes: 2 }); // 1/3
 */
export const metric_mean_iou = dualMetric("mean_iou");

/**
 * `metric_mean({ name = "mean" })`: Keras 3's `Mean`, the weighted mean of the values given to
 * `update_state(values, { sample_weight })`. For custom training loops; compile() takes custom_metric().
 *
 * @example
 * metric_mean().update_state([1, 3, 5, 7]).result(); // 4
 */
export const metric_mean = refusingUnused(
  "metric_mean",
  ["args"],
  (args?: { name?: string; dtype?: string | null }): MetricSpec => makeMetric("mean", args),
);
/**
 * `metric_sum({ name = "sum" })`: Keras 3's `Sum` of the values given to `update_state(values, { sample_weight })`.
 *
 * @example
 * metric_sum().update_state([1, 3, 5, 7], { sample_weight: [1, 1, 0, 0] }).result(); // 4
 */
export const metric_sum = refusingUnused(
  "metric_sum",
  ["args"],
  (args?: { name?: string; dtype?: string | null }): MetricSpec => makeMetric("sum", args),
);

/**
 * `custom_metric(name, fn)` (R keras's helper): `fn(y_true, y_pred)` → per-sample tensor, tracked in
 * compile() as the weighted mean of its values under `name`.
 *
 * @example
 * const max_error = custom_metric("max_error", (y_true, y_pred) => tf.max(tf.abs(tf.sub(y_pred, y_true)), -1));
 * compile(model, { optimizer: "adam", loss: "mse", metrics: [max_error] });
 */
export function custom_metric(name: string, fn: (y_true: Tensor, y_pred: Tensor) => Tensor): MetricSpec {
  refuseArgumentsPast("custom_metric", ["name", "fn"], arguments);
  const a = decodeArgs("custom_metric", { name: Str, fn: Fn }, { name, fn }, {}, ["name", "fn"]);
  const f = checkedTensorFunction(
    `\`fn\` of custom_metric(${JSON.stringify(a.name)})`,
    a.fn as (t: Tensor, p: Tensor) => unknown,
  );
  return metricValue("custom_metric", meanMetric(a.name, "Custom", {}, "down", f));
}
