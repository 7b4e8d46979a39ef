/**
 * The data adapter: user x / y / sample weights → device tensors with samples on the first axis, the
 * validation split, and batches (slices, or gathers in shuffled order). A timeseries batches value
 * (timeseries_dataset_from_array, timeseries_generator) goes on the device as its whole series, and its
 * batches are gathered window by window.
 */
import { tf, type Tensor } from "../../backend/tf.js";
import { KerasError, describeValue } from "../../errors.js";
import type { Model } from "../../model/model.js";
import {
  indexProblem,
  isArrayData,
  isClassIndexed,
  isDataRecord,
  release,
  toTensorData,
  type Converted,
} from "../../backend/convert.js";
import { inputNamesOf, isTrainingSetup, outputNamesOf } from "./setup.js";
import { familyOf, type Layer } from "../../model/layer.js";
import { fedLayers, hostReaders, hostTensor } from "../host.js";
import { Rng, type RngState } from "../../ops/random.js";
import { isTimeseriesBatches, windowPlanOf, windowRows, type WindowPlan } from "../../data/timeseries.js";

/** Arrays of samples on the device. Tensors listed in `owned` were made here and are freed by `dispose`. */
export interface ArraySet {
  readonly inputs: readonly Tensor[];
  readonly targets: readonly Tensor[] | null;
  readonly sampleWeight: Tensor | null;
  readonly n: number;
  readonly owned: readonly Tensor[];
  /** Set when the samples are windows over a series: `inputs` / `targets` then hold the whole series. */
  readonly windows?: WindowPlan;
}

export function disposeSet(set: ArraySet | null | undefined): void {
  if (set) for (const t of set.owned) t.dispose();
}

/** Shapes (without the batch axis) of the model's inputs when known. */
function inputFeatureShapes(model: Model): ((number | null)[] | undefined)[] {
  if (model.type === "functional") return model.inputs.map((i) => [...i.shape.slice(1)]);
  return [model.inputShape ? [...model.inputShape.slice(1)] : undefined];
}

function outputFeatureShapes(model: Model): ((number | null)[] | undefined)[] {
  if (model.type === "functional") return model.outputs.map((o) => [...o.shape.slice(1)]);
  const last = model.shapes && model.shapes.length ? model.shapes[model.shapes.length - 1][0] : null;
  return [last ? [...last.slice(1)] : undefined];
}

/** A list whose elements are each one array (tensors, { data, shape } or typed arrays), not a nested array of numbers. */
const isListOfWholeArrays = (v: unknown): v is unknown[] =>
  Array.isArray(v) &&
  v.length > 0 &&
  v.every((e) => e instanceof tf.Tensor || isDataRecord(e) || ArrayBuffer.isView(e));

/**
 * Splits `v` into one array per name: a single array (one name), a list in order, or a record keyed by
 * name. A nested array for a single-input model is one array, not a list.
 */
function perName(fn: string, role: "x" | "y", what: string, v: unknown, names: readonly string[]): unknown[] {
  if (
    v !== null &&
    typeof v === "object" &&
    !Array.isArray(v) &&
    !(v instanceof tf.Tensor) &&
    !ArrayBuffer.isView(v) &&
    !isDataRecord(v)
  ) {
    const rec = v as Record<string, unknown>;
    const unknown = Object.keys(rec).filter((k) => !names.includes(k));
    const missing = names.filter((n) => rec[n] === undefined);
    if (unknown.length || missing.length) {
      throw new KerasError(
        fn,
        `\`${what}\` as a record must be keyed by the model's ${role === "x" ? "input" : "output"} names (${names.map((n) => `"${n}"`).join(", ")})${unknown.length ? `; unknown: ${unknown.map((k) => `"${k}"`).join(", ")}` : ""}${missing.length ? `; missing: ${missing.map((k) => `"${k}"`).join(", ")}` : ""}`,
      );
    }
    return names.map((n) => rec[n]);
  }
  if (names.length === 1) {
    if (isListOfWholeArrays(v)) {
      if (v.length !== 1)
        throw new KerasError(
          fn,
          `\`${what}\` is a list of ${v.length} arrays but the model has one ${role === "x" ? "input" : "output"}`,
        );
      return v;
    }
    return [v];
  }
  if (!Array.isArray(v) || v.length !== names.length || !v.every(isArrayData)) {
    throw new KerasError(
      fn,
      `the model has ${names.length} ${role === "x" ? "inputs" : "outputs"} (${names.map((n) => `"${n}"`).join(", ")}): give \`${what}\` as a list of ${names.length} arrays or a record keyed by those names, got ${describeValue(v)}`,
    );
  }
  return v;
}

function convertAll(
  fn: string,
  what: string,
  values: unknown[],
  names: readonly string[],
  shapes: ((number | null)[] | undefined)[],
  done: Converted[],
  readers: readonly (Layer | null)[] = [],
): Tensor[] {
  return values.map((v, k) => {
    const reader = readers[k];
    if (reader) {
      const tensor = hostTensor(reader, v, fn, names.length > 1 ? `\`${what}\` for "${names[k]}"` : `\`${what}\``);
      done.push({ tensor, owned: true });
      if (tensor.dtype === "string")
        throw new KerasError(
          fn,
          `layer "${reader.name}" makes strings (invert = TRUE): a model cannot compute on them; call the layer on its own`,
        );
      return tensor;
    }
    if (!isArrayData(v))
      throw new KerasError(
        fn,
        `\`${what}\`${names.length > 1 ? ` for "${names[k]}"` : ""} must be a tf.Tensor, a nested array, a typed array or { data, shape }, got ${describeValue(v)}`,
      );
    const c = toTensorData(fn, v, names.length > 1 ? `\`${what}\` for "${names[k]}"` : `\`${what}\``, shapes[k]);
    done.push(c);
    if (c.tensor.rank === 0) throw new KerasError(fn, `\`${what}\` must have a samples axis, got a scalar`, "shape");
    return c.tensor;
  });
}

export interface AdaptOptions {
  readonly sampleWeight?: unknown;
  /** Keras class_weight: weight per class index (a record "0": w, ... or a list). */
  readonly classWeight?: Readonly<Record<string, number>> | readonly number[] | null;
  /** How errors name x, y and the sample weights (default "x", "y", "sample_weight"). */
  readonly labels?: { readonly x: string; readonly y: string; readonly sampleWeight: string };
}

/** Converts x (and y, weights) for `model`. Throws KerasError on inconsistent sample counts. */
export function adaptData(
  fn: string,
  model: Model,
  x: unknown,
  y: unknown | undefined,
  options: AdaptOptions = {},
): ArraySet {
  if (isTimeseriesBatches(x)) return adaptWindows(fn, model, windowPlanOf(x), y, options);
  const done: Converted[] = [];
  try {
    const inputNames = inputNamesOf(model);
    const labels = { x: "x", y: "y", sampleWeight: "sample_weight", ...options.labels };
    const inputs = convertAll(
      fn,
      labels.x,
      perName(fn, "x", labels.x, x, inputNames),
      inputNames,
      inputFeatureShapes(model),
      done,
      hostReaders(fn, model, inputNames.length),
    );
    let targets: Tensor[] | null = null;
    if (y !== undefined && y !== null) {
      const outputNames = outputNamesOf(model);
      targets = convertAll(
        fn,
        labels.y,
        perName(fn, "y", labels.y, y, outputNames),
        outputNames,
        outputFeatureShapes(model),
        done,
      );
      // A vector of targets for a one-unit output: (n) → (n, 1), as Keras does.
      targets = targets.map((t, k) => {
        const want = outputFeatureShapes(model)[k];
        if (t.rank === 1 && want && want.length === 1 && want[0] === 1) {
          const r = tf.reshape(t, [t.shape[0], 1]);
          done.push({ tensor: r, owned: true });
          return r;
        }
        return t;
      });
    }
    checkInputData(fn, model, inputs, labels.x);
    if (targets) checkSparseLabels(fn, model, targets, labels.y);
    const n = inputs[0].shape[0];
    const counts = [...inputs, ...(targets ?? [])].map((t) => t.shape[0]);
    if (counts.some((c) => c !== n)) {
      throw new KerasError(
        fn,
        `\`${labels.x}\` and \`${labels.y}\` must have the same number of samples (first axis); got ${counts.join(", ")}`,
        "shape",
      );
    }
    if (n === 0) throw new KerasError(fn, `\`${labels.x}\` has no samples`, "shape");
    let sampleWeight: Tensor | null = null;
    if (options.sampleWeight !== undefined && options.sampleWeight !== null) {
      const c = toTensorData(fn, options.sampleWeight, `\`${labels.sampleWeight}\``);
      done.push(c);
      if (c.tensor.rank !== 1 || c.tensor.shape[0] !== n)
        throw new KerasError(
          fn,
          `\`${labels.sampleWeight}\` must be a vector of ${n} weights (one per sample), got shape [${c.tensor.shape.join(", ")}]`,
          "shape",
        );
      sampleWeight = c.tensor;
    }
    if (options.classWeight) {
      if (!targets || targets.length !== 1)
        throw new KerasError(fn, "`class_weight` needs y and a model with one output");
      const w = classWeights(fn, targets[0], options.classWeight);
      done.push({ tensor: w, owned: true });
      if (sampleWeight) {
        const prod = tf.mul(sampleWeight, w);
        done.push({ tensor: prod, owned: true });
        sampleWeight = prod;
      } else sampleWeight = w;
    }
    return { inputs, targets, sampleWeight, n, owned: done.filter((c) => c.owned).map((c) => c.tensor) };
  } catch (e) {
    release(done);
    throw e;
  }
}

/**
 * Model inputs that feed a layer whose data has a domain (embedding tokens): checked on the host here,
 * once per call, since the device kernels do not check it.
 */
function checkInputData(fn: string, model: Model, inputs: readonly Tensor[], label: string): void {
  for (const [k, layer] of fedLayers(model)) {
    const problem = k >= 0 ? familyOf(layer).inputProblem?.(layer.config, inputs[k]) : null;
    if (problem)
      throw new KerasError(
        fn,
        `\`${label}\`${inputs.length > 1 ? ` for input ${k + 1}` : ""} ${problem} (fed to layer "${layer.name}")`,
      );
  }
}

/**
 * Class labels of outputs with a sparse loss or metric must index the output's classes (Keras's
 * crossentropy kernel refuses others; tf.oneHot would silently make them zero rows).
 */
function checkSparseLabels(fn: string, model: Model, targets: readonly Tensor[], label: string): void {
  const setup = model.compiled;
  if (!isTrainingSetup(setup)) return;
  const shapes = outputFeatureShapes(model);
  targets.forEach((y, k) => {
    const classes = shapes[k]?.[shapes[k]!.length - 1];
    const loss = setup.losses[k];
    const sparse = [loss, ...setup.metrics[k], ...setup.weightedMetrics[k]].some((s) => isClassIndexed(s?.class_name));
    if (!sparse || typeof classes !== "number") return;
    const ignored = isClassIndexed(loss?.class_name) ? ((loss!.config.ignore_class as number | null) ?? null) : null;
    const problem = indexProblem(y, classes, "the output's number of classes", ignored);
    if (problem) throw new KerasError(fn, `\`${label}\`${targets.length > 1 ? ` for output ${k + 1}` : ""} ${problem}`);
  });
}

/** The series of a batches value on the device; its batches are gathered by takeBatch. */
function adaptWindows(fn: string, model: Model, plan: WindowPlan, y: unknown, options: AdaptOptions): ArraySet {
  const what = `\`x\` (made by ${plan.fn}())`;
  if (y !== undefined && y !== null)
    throw new KerasError(
      fn,
      `\`y\` must not be given when \`x\` is made by ${plan.fn}(): its batches hold the targets`,
    );
  if ((options.sampleWeight ?? null) !== null || (options.classWeight ?? null) !== null)
    throw new KerasError(fn, `\`sample_weight\` and \`class_weight\` cannot be used when ${what}`);
  if (inputNamesOf(model).length !== 1)
    throw new KerasError(fn, `${what} gives one input, but the model has ${inputNamesOf(model).length}`);
  const series = tf.tensor(plan.series.data, [...plan.series.shape], "float32");
  let targets: Tensor | null = null;
  if (plan.targets) {
    const want = outputFeatureShapes(model)[0];
    const rowShape = plan.targets.shape.slice(1);
    // A vector of targets for a one-unit output: rows become (1), as for arrays.
    const shape =
      rowShape.length === 0 && want && want.length === 1 && want[0] === 1
        ? [...plan.targets.shape, 1]
        : plan.targets.shape;
    targets = tf.tensor(plan.targets.data, [...shape], "float32");
  }
  const owned = targets ? [series, targets] : [series];
  try {
    checkInputData(fn, model, [series], "x");
    // The targets were given to the function that made x, under this name.
    if (targets) checkSparseLabels(fn, model, [targets], "targets");
  } catch (e) {
    owned.forEach((t) => t.dispose());
    throw e;
  }
  return {
    inputs: [series],
    targets: targets ? [targets] : null,
    sampleWeight: null,
    n: plan.samplesPerPass,
    owned,
    windows: plan,
  };
}

/** Shapes of the samples as the model sees them (first axis: the samples). */
export function inputShapesOf(set: ArraySet): number[][] {
  if (!set.windows) return set.inputs.map((t) => t.shape);
  return [[set.n, set.windows.timesteps, ...set.windows.series.shape.slice(1)]];
}

export interface BatchSlice {
  readonly start: number;
  readonly size: number;
  /** Sample numbers of the pass (start and size index it), or null for samples in order. */
  readonly order: Int32Array | null;
}

/** The batches of a batches value, pass after pass, continuing across epochs when steps_per_epoch cuts a pass short. */
export class WindowSchedule {
  private queue: BatchSlice[] = [];
  private rng: Rng;
  constructor(
    private readonly plan: WindowPlan,
    private readonly shuffle: boolean,
  ) {
    this.rng = plan.newRng();
  }

  epoch(steps?: number): BatchSlice[] {
    if (steps === undefined) return this.pass();
    const out: BatchSlice[] = [];
    while (out.length < steps) {
      if (!this.queue.length) this.queue = this.pass();
      out.push(this.queue.shift()!);
    }
    return out;
  }

  /** Where the schedule is, as plain data (a training backup). */
  state(): unknown {
    return { rng: this.rng.state(), queue: slicesToData(this.queue) };
  }

  restore(state: unknown): void {
    const s = state as { rng: RngState; queue: SliceData[] };
    this.rng = Rng.fromState(s.rng);
    this.queue = slicesFromData(s.queue);
  }

  private pass(): BatchSlice[] {
    const batches = this.plan.pass(this.rng, this.shuffle);
    const order = new Int32Array(batches.reduce((n, b) => n + b.length, 0));
    let start = 0;
    return batches.map((b) => {
      order.set(b, start);
      start += b.length;
      return { start: start - b.length, size: b.length, order };
    });
  }
}

/** A batch slice as plain data; slices sharing one order array keep sharing it when read back. */
export interface SliceData {
  readonly start: number;
  readonly size: number;
  readonly order: number | null;
  readonly orders?: number[][];
}

/** Slices as plain data: their order arrays listed once, referred to by index. */
export function sliceData(slice: BatchSlice, index = 0, all: readonly BatchSlice[] = [slice]): SliceData {
  const orders = [...new Set(all.map((s) => s.order).filter((o): o is Int32Array => o !== null))];
  return {
    start: slice.start,
    size: slice.size,
    order: slice.order ? orders.indexOf(slice.order) : null,
    ...(index === 0 ? { orders: orders.map((o) => Array.from(o)) } : {}),
  };
}

export function slicesToData(slices: readonly BatchSlice[]): SliceData[] {
  return slices.map((s, i) => sliceData(s, i, slices));
}

export function slicesFromData(data: readonly SliceData[]): BatchSlice[] {
  const orders = (data[0]?.orders ?? []).map((o) => Int32Array.from(o));
  return data.map((d) => ({ start: d.start, size: d.size, order: d.order === null ? null : orders[d.order] }));
}

/** The batches of one pass for evaluate / predict: slices in order, or a batches value's own batches. */
export function passBatches(set: ArraySet, batchSize: number): BatchSlice[] {
  if (set.windows) return new WindowSchedule(set.windows, false).epoch();
  return Array.from({ length: Math.ceil(set.n / batchSize) }, (_, b) => ({
    start: b * batchSize,
    size: Math.min(batchSize, set.n - b * batchSize),
    order: null,
  }));
}

/** Per-sample weights from class weights: class = argmax of one-hot targets, else the label itself. */
function classWeights(fn: string, y: Tensor, cw: Readonly<Record<string, number>> | readonly number[]): Tensor {
  const classes = tf.tidy(() =>
    y.rank > 1 && y.shape[y.rank - 1] > 1
      ? tf.argMax(y, -1)
      : tf.round(tf.reshape(y, [y.shape[0], -1]).slice([0, 0], [-1, 1]).reshape([-1])),
  );
  const labels = classes.dataSync();
  classes.dispose();
  const weightOf = (c: number) => {
    const w = Array.isArray(cw) ? cw[c] : (cw as Record<string, number>)[String(c)];
    if (w === undefined) return 1;
    if (typeof w !== "number" || !Number.isFinite(w))
      throw new KerasError(fn, `\`class_weight\` for class ${c} must be a number, got ${describeValue(w)}`);
    return w;
  };
  return tf.tensor1d(Float32Array.from(labels, weightOf));
}

/** Keras's validation_split: the last `fraction` of the samples (taken before any shuffling). */
export function splitValidation(fn: string, set: ArraySet, fraction: number): [ArraySet, ArraySet] {
  const splitAt = Math.floor(set.n * (1 - fraction));
  if (splitAt === 0 || splitAt === set.n) {
    throw new KerasError(
      fn,
      `\`validation_split\` = ${fraction} leaves ${splitAt === 0 ? "no training" : "no validation"} samples out of ${set.n}`,
    );
  }
  const part = (start: number, size: number): ArraySet => {
    const take = (t: Tensor) =>
      tf.slice(t, [start, ...t.shape.slice(1).map(() => 0)], [size, ...t.shape.slice(1).map(() => -1)]);
    const inputs = set.inputs.map(take);
    const targets = set.targets ? set.targets.map(take) : null;
    const sampleWeight = set.sampleWeight ? take(set.sampleWeight) : null;
    return {
      inputs,
      targets,
      sampleWeight,
      n: size,
      owned: [...inputs, ...(targets ?? []), ...(sampleWeight ? [sampleWeight] : [])],
    };
  };
  return [part(0, splitAt), part(splitAt, set.n - splitAt)];
}

export interface Batch {
  readonly inputs: Tensor[];
  readonly targets: Tensor[] | null;
  readonly sampleWeight: Tensor | null;
  readonly size: number;
}

/** Samples `start .. start+size` of the set in `order` (or in order). The tensors are new: dispose them. */
export function takeBatch(set: ArraySet, start: number, size: number, order: Int32Array | null): Batch {
  if (set.windows) return takeWindows(set, set.windows, start, size, order);
  return tf.tidy(() => {
    const take = order
      ? (() => {
          const idx = tf.tensor1d(order.subarray(start, start + size), "int32");
          return (t: Tensor) => tf.gather(t, idx);
        })()
      : (t: Tensor) =>
          tf.slice(t, [start, ...t.shape.slice(1).map(() => 0)], [size, ...t.shape.slice(1).map(() => -1)]);
    return {
      inputs: set.inputs.map(take),
      targets: set.targets ? set.targets.map(take) : null,
      sampleWeight: set.sampleWeight ? take(set.sampleWeight) : null,
      size,
    } as any;
  }) as unknown as Batch;
}

function takeWindows(set: ArraySet, plan: WindowPlan, start: number, size: number, order: Int32Array | null): Batch {
  const ids = order ? order.subarray(start, start + size) : Int32Array.from({ length: size }, (_, i) => start + i);
  return tf.tidy(() => {
    const series = set.inputs[0];
    const rows = tf.tensor1d(windowRows(plan, ids), "int32");
    const x = tf.reshape(tf.gather(series, rows), [size, plan.timesteps, ...series.shape.slice(1)]);
    const targets = set.targets
      ? [
          tf.gather(
            set.targets[0],
            tf.tensor1d(
              Int32Array.from(ids, (i) => plan.targetRow[i]),
              "int32",
            ),
          ),
        ]
      : null;
    return { inputs: [x], targets, sampleWeight: null, size } as any;
  }) as unknown as Batch;
}

export function disposeBatch(b: Batch): void {
  for (const t of b.inputs) t.dispose();
  if (b.targets) for (const t of b.targets) t.dispose();
  b.sampleWeight?.dispose();
}

export { permutation } from "../../ops/random.js";
