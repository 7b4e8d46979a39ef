/**
 * The statistics Keras's stateful metrics accumulate, one family per function: each returns the
 * batch's sums as one 1-D tensor (inside tf.tidy; the host adds them up over batches in float64) and
 * turns accumulated sums into the metric's value, exactly as the Keras 3 metric class does.
 */
import { tf, type Tensor } from "../backend/tf.js";
import { ArgumentError, KerasError } from "../errors.js";
import { MAX_TENSOR_SIZE } from "../args.js";
import { EPSILON } from "./losses.js";

const { mul, sum, cast } = tf;
export const divideNoNan = (a: number, b: number) => (b === 0 ? 0 : a / b);

/** Sample weights of shape (batch) broadcast against values of shape (batch, ...). */
export function broadcastWeight(w: Tensor, like: Tensor): Tensor {
  let b = w;
  while (b.rank < like.rank) b = tf.expandDims(b, -1);
  return tf.broadcastTo(b, like.shape);
}

const nonBatchAxes = (x: Tensor) => Array.from({ length: x.rank - 1 }, (_, i) => i + 1);

/**
 * Keras's Mean over values with sample weights: [sum(v * w), sum(w)], the non-batch axes averaged
 * (`reduce_to_samplewise_values`); without weights every sample counts 1 (a scalar counts once).
 */
export function meanStats(values: Tensor, w: Tensor | null): Tensor {
  const weight = w ? broadcastWeight(w, values) : tf.onesLike(values);
  let v = mul(values, weight);
  let ww = weight;
  if (v.rank > 1) {
    v = tf.mean(v, nonBatchAxes(v));
    ww = tf.mean(ww, nonBatchAxes(ww));
  }
  return tf.stack([sum(v), sum(ww)]);
}

/** Keras's Sum: [sum(v * w)]. */
export const sumStats = (values: Tensor, w: Tensor | null): Tensor =>
  tf.reshape(sum(w ? mul(values, broadcastWeight(w, values)) : values), [1]);

// ---------------------------------------------------------------------------------------------
// Confusion counts at thresholds (Keras's `update_confusion_matrix_variables`)

/**
 * Thresholds as Keras's confusion metrics hold them, and whether Keras counts them with its bucket
 * method (`thresholds_distributed_evenly`: i / (n - 1) for i = 0..n-1, n >= 3, or the AUC grid).
 */
export interface Thresholds {
  readonly values: readonly number[];
  readonly evenly: boolean;
}

/** Keras's `is_evenly_distributed_thresholds`: np.allclose(thresholds, i / (n - 1), atol = 1e-7). */
export function thresholdsOf(values: readonly number[]): Thresholds {
  const n = values.length;
  const evenly =
    n >= 3 && values.every((v, i) => Math.abs(v - Math.fround(i / (n - 1))) <= 1e-7 + 1e-5 * Math.abs(i / (n - 1)));
  return { values, evenly };
}

/** The grid of AUC / the *-at-* metrics: 0, 1/(n-1), ..., 1 (AUC: ±epsilon at the ends), counted by buckets. */
export function gridThresholds(n: number, epsilon = 0): Thresholds {
  // A loop, not a spread of Array.from: 2^24 thresholds took seconds.
  const values = new Array<number>(n);
  for (let i = 1; i < n - 1; i++) values[i] = i / (n - 1);
  values[0] = 0 - epsilon;
  values[n - 1] = 1 + epsilon;
  return { values, evenly: true };
}

/**
 * Weighted counts [tp(n), fp(n), tn(n), fn(n)] of the n thresholds: predicted positive when y_pred >
 * threshold, or — for evenly spaced thresholds, as Keras does — when y_pred clipped to [0, 1] falls in a
 * bucket at or above the threshold's (`ceil(y_pred * (n - 1)) - 1 >= i`).
 */
export function confusionStats(
  t: Tensor,
  p: Tensor,
  w: Tensor | null,
  thresholds: Thresholds,
  classId: number | null = null,
): Tensor {
  if (classId !== null) {
    const classes = p.shape[p.rank - 1];
    if (p.rank === 0 || classId >= classes)
      throw new ArgumentError(
        `\`class_id\` = ${classId} is not a column of \`y_pred\` of shape [${p.shape.join(", ")}]${p.rank ? ` (classes 0..${classes - 1})` : ""}`,
      );
    t = tf.slice(t, [...t.shape.slice(0, -1).map(() => 0), classId], [...t.shape.slice(0, -1), 1]);
    if (w && w.rank === p.rank)
      w = tf.slice(w, [...w.shape.slice(0, -1).map(() => 0), classId], [...w.shape.slice(0, -1), 1]);
    p = tf.slice(p, [...p.shape.slice(0, -1).map(() => 0), classId], [...p.shape.slice(0, -1), 1]);
  }
  const n = thresholds.values.length;
  // Every prediction is compared with every threshold in one tensor.
  if (p.size * n > MAX_TENSOR_SIZE)
    throw new ArgumentError(
      `\`num_thresholds\` = ${n} compared with ${p.size} predictions at once needs ${p.size * n} values, more than a tensor can hold (${MAX_TENSOR_SIZE}); use fewer thresholds or smaller batches`,
    );
  const labels = tf.reshape(cast(t, "bool"), [-1, 1]);
  const weights = w ? tf.reshape(broadcastWeight(w, p), [-1, 1]) : tf.onesLike(tf.reshape(p, [-1, 1]));
  const flat = tf.reshape(p, [-1, 1]);
  let pred: Tensor;
  if (thresholds.evenly) {
    let bucket = tf.sub(tf.ceil(mul(tf.clipByValue(flat, 0, 1), n - 1)), 1);
    if (thresholds.values[0] < 0) bucket = tf.relu(bucket);
    pred = tf.greaterEqual(bucket, tf.range(0, n, 1, "float32").reshape([1, -1]));
  } else pred = tf.greater(flat, tf.tensor1d(thresholds.values as number[]).reshape([1, -1]));
  const count = (a: Tensor) => sum(mul(cast(a, "float32"), weights), 0);
  const notLabels = tf.logicalNot(labels);
  const notPred = tf.logicalNot(pred);
  return tf.concat([
    count(tf.logicalAnd(labels, pred)),
    count(tf.logicalAnd(notLabels, pred)),
    count(tf.logicalAnd(notLabels, notPred)),
    count(tf.logicalAnd(labels, notPred)),
  ]);
}

/** The four count vectors of `confusionStats` sums. */
export function confusionCounts(s: ArrayLike<number>, n: number) {
  const part = (k: number) => Array.from({ length: n }, (_, i) => s[k * n + i]);
  return { tp: part(0), fp: part(1), tn: part(2), fn: part(3) };
}

/** Keras's AUC with `summation_method = "interpolation"` (trapezoids for ROC; PR as Keras 3 interpolates it too). */
export function aucValue(sums: ArrayLike<number>, n: number, curve: "ROC" | "PR"): number {
  const { tp, fp, tn, fn } = confusionCounts(sums, n);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    if (curve === "ROC") {
      xs.push(divideNoNan(fp[i], fp[i] + tn[i]));
      ys.push(divideNoNan(tp[i], tp[i] + fn[i]));
    } else {
      xs.push(divideNoNan(tp[i], tp[i] + fn[i]));
      ys.push(divideNoNan(tp[i], tp[i] + fp[i]));
    }
  }
  let auc = 0;
  for (let i = 0; i < n - 1; i++) auc += (xs[i] - xs[i + 1]) * ((ys[i] + ys[i + 1]) / 2);
  return auc;
}

/**
 * Keras's SensitivitySpecificityBase result: the largest `dependent` rate over thresholds whose
 * `constrained` rate is at least `target` (0 when none), rates computed in float32 as Keras does.
 */
export function bestUnderConstraint(
  sums: ArrayLike<number>,
  n: number,
  target: number,
  constrained: "recall" | "precision",
): number {
  const { tp, fp, fn } = confusionCounts(sums, n);
  const recall = (i: number) => Math.fround(divideNoNan(tp[i], tp[i] + fn[i]));
  const precision = (i: number) => Math.fround(divideNoNan(tp[i], tp[i] + fp[i]));
  const [c, d] = constrained === "recall" ? [recall, precision] : [precision, recall];
  let best = 0;
  for (let i = 0; i < n; i++) if (c(i) >= Math.fround(target)) best = Math.max(best, d(i));
  return best;
}

// ---------------------------------------------------------------------------------------------
// F-beta (Keras 3 FBetaScore)

export type FAverage = "micro" | "macro" | "weighted" | null;

/** [tp, fp, fn, sum of weighted y_true], per class (one value each for "micro"). */
export function fbetaStats(
  t: Tensor,
  p: Tensor,
  w: Tensor | null,
  threshold: number | null,
  average: FAverage,
): Tensor {
  const predicted =
    threshold === null
      ? tf.logicalAnd(tf.greaterEqual(p, tf.max(p, -1, true)), tf.greater(tf.abs(p), 1e-9))
      : tf.greater(p, threshold);
  const yPred = cast(predicted, "float32");
  const weighted = (v: Tensor) => {
    const x = w ? mul(v, tf.expandDims(w, 1)) : v;
    return tf.reshape(average === "micro" ? sum(x) : sum(x, 0), [-1]);
  };
  return tf.concat([
    weighted(mul(yPred, t)),
    weighted(mul(yPred, tf.sub(1, t))),
    weighted(mul(tf.sub(1, yPred), t)),
    weighted(t),
  ]);
}

export function fbetaValue(sums: ArrayLike<number>, beta: number, average: FAverage): number | number[] {
  const n = sums.length / 4;
  const at = (k: number, i: number) => sums[k * n + i];
  const b2 = beta * beta;
  const scores = Array.from({ length: n }, (_, i) => {
    const [tp, fp, fn] = [at(0, i), at(1, i), at(2, i)];
    const precision = tp / (tp + fp + EPSILON);
    const recall = tp / (tp + fn + EPSILON);
    return ((precision * recall) / (b2 * precision + recall + EPSILON)) * (1 + b2);
  });
  if (average === "weighted") {
    const total = Array.from({ length: n }, (_, i) => at(3, i)).reduce((a, b) => a + b, 0);
    return scores.reduce((acc, f, i) => acc + (f * at(3, i)) / (total + EPSILON), 0);
  }
  if (average !== null) return scores.reduce((a, b) => a + b, 0) / n;
  return scores;
}

/** Keras FBetaScore / R2Score need 2-D (batch, output_dim) data with a known output_dim. */
export function twoDimensional(fn: string, what: string, yTrueShape: readonly number[], yPredShape: readonly number[]) {
  if (yTrueShape.length !== 2 || yPredShape.length !== 2 || !(yPredShape[1] > 0))
    throw new KerasError(
      fn,
      `${what} needs 2-D data of shape (batch, output_dim) with output_dim known; got y_true [${yTrueShape.join(", ")}] and y_pred [${yPredShape.join(", ")}]`,
      "shape",
    );
  return yPredShape[1];
}

// ---------------------------------------------------------------------------------------------
// R² (Keras 3 R2Score)

/** Per output: [sum(w y), sum(w y²), sum(w (y - p)²), sum(w)], then the number of values seen. */
export function r2Stats(t: Tensor, p: Tensor, w: Tensor | null): Tensor {
  const weight = w ? tf.broadcastTo(w.rank === 1 ? tf.expandDims(w, 1) : w, t.shape) : tf.onesLike(t);
  const wy = mul(t, weight);
  return tf.concat([
    sum(wy, 0),
    sum(mul(t, wy), 0),
    sum(mul(tf.square(tf.sub(t, p)), weight), 0),
    sum(weight, 0),
    tf.tensor1d([t.size]),
  ]);
}

export function r2Value(
  sums: ArrayLike<number>,
  aggregation: "uniform_average" | "variance_weighted_average" | null,
  regressors: number,
): number | number[] {
  const n = (sums.length - 1) / 4;
  const at = (k: number, i: number) => sums[k * n + i];
  const samples = sums[4 * n];
  const totals = Array.from({ length: n }, (_, i) => at(1, i) - at(0, i) * (at(0, i) / at(3, i)));
  const raw = totals.map((total, i) => {
    const r = 1 - at(2, i) / total;
    return Number.isFinite(r) || Number.isNaN(r) ? r : 0;
  });
  let r2: number | number[] =
    aggregation === "uniform_average"
      ? raw.reduce((a, b) => a + b, 0) / n
      : aggregation === "variance_weighted_average"
        ? raw.reduce((a, r, i) => a + totals[i] * r, 0) / totals.reduce((a, b) => a + b, 0)
        : raw;
  // Adjusted R² (Keras falls back to the plain score, with a warning, when there are too few samples).
  if (regressors !== 0) {
    if (regressors >= samples - 1)
      process.emitWarning(
        `metric_r2_score(): ${regressors === samples - 1 ? "division by zero in" : "more independent predictors than datapoints in"} the adjusted R2 score; falling back to the standard R2 score`,
        "KerasWarning",
      );
    else {
      const adjust = (r: number) => 1 - ((1 - r) * (samples - 1)) / (samples - regressors - 1);
      r2 = Array.isArray(r2) ? r2.map(adjust) : adjust(r2);
    }
  }
  return r2;
}

// ---------------------------------------------------------------------------------------------
// IoU (Keras 3 IoU / MeanIoU): a confusion matrix of class ids

export interface IoUOptions {
  readonly num_classes: number;
  readonly ignore_class: number | null;
  readonly sparse_y_true: boolean;
  readonly sparse_y_pred: boolean;
  readonly axis: number;
  /** Keras's default dtype "int" truncates the sample weights to integers. */
  readonly integerWeights: boolean;
}

/** The batch's confusion matrix (rows: true class, columns: predicted class), flattened. */
export function iouStats(t: Tensor, p: Tensor, w: Tensor | null, o: IoUOptions): Tensor {
  const ids = (x: Tensor, sparse: boolean, what: string) => {
    if (sparse) return tf.reshape(cast(x, "int32"), [-1]);
    if (o.axis < -x.rank || o.axis >= x.rank || x.rank === 0)
      throw new ArgumentError(
        `\`axis\` = ${o.axis} is not an axis of ${what} of shape [${x.shape.join(", ")}] (its class scores, not being sparse)`,
      );
    return tf.reshape(tf.argMax(x, o.axis), [-1]);
  };
  const yTrue = ids(t, o.sparse_y_true, "`y_true`");
  const yPred = ids(p, o.sparse_y_pred, "`y_pred`");
  if (yTrue.size !== yPred.size)
    throw new ArgumentError(
      `\`y_true\` of shape [${t.shape.join(", ")}] gives ${yTrue.size} class ids but \`y_pred\` of shape [${p.shape.join(", ")}] ${yPred.size}${o.sparse_y_true && o.sparse_y_pred ? "" : " (`sparse_y_true` / `sparse_y_pred` = FALSE: one id per row of class scores)"}`,
    );
  let weight = w ? tf.broadcastTo(tf.reshape(cast(w, "float32"), [-1]), yTrue.shape) : tf.ones(yTrue.shape);
  if (o.integerWeights) weight = cast(cast(weight, "int32"), "float32");
  const inRange = (x: Tensor) => tf.logicalAnd(tf.greaterEqual(x, 0), tf.less(x, o.num_classes));
  let keep = tf.logicalAnd(inRange(yTrue), inRange(yPred));
  if (o.ignore_class !== null) keep = tf.logicalAnd(keep, tf.notEqual(yTrue, o.ignore_class));
  const zero = tf.zerosLike(yTrue);
  const rows = tf.oneHot(tf.where(keep, yTrue, zero), o.num_classes);
  const cols = tf.oneHot(tf.where(keep, yPred, zero), o.num_classes);
  const weighted = mul(cast(rows, "float32"), tf.expandDims(tf.where(keep, weight, tf.zerosLike(weight)), 1));
  return tf.reshape(tf.matMul(weighted, cast(cols, "float32"), true, false), [-1]);
}

/** Mean IoU of `targets` from an accumulated confusion matrix (classes with no entries left out). */
export function iouValue(sums: ArrayLike<number>, numClasses: number, targets: readonly number[]): number {
  let total = 0;
  let valid = 0;
  for (const c of targets) {
    let row = 0;
    let col = 0;
    for (let k = 0; k < numClasses; k++) {
      row += sums[k * numClasses + c];
      col += sums[c * numClasses + k];
    }
    const tp = sums[c * numClasses + c];
    const denominator = row + col - tp;
    if (denominator > 1e-9) {
      total += tp / (denominator + EPSILON);
      valid++;
    }
  }
  return total / (valid + EPSILON);
}
