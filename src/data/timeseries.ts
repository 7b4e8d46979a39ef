/**
 * Sliding windows over a timeseries, batched: Keras 3's `timeseries_dataset_from_array` and R keras 2's
 * `timeseries_generator` (Keras 2's TimeseriesGenerator). Both return a value that `fit`, `evaluate` and
 * `predict` take as `x` and that a `for ... of` loop iterates batch by batch. The series is held once;
 * windows are gathered batch by batch (on the device while training), never all materialised.
 */
import { KerasError } from "../errors.js";
import { Bool, NonNegativeInt, Nullable, PositiveInt, decodeArgs, described, refuseArgumentsPast } from "../args.js";
import * as t from "io-ts";
import { NumpyRandomState, Rng, drawSeed, permutation } from "../ops/random.js";
import { arrayValue, readArray, size, type ArrayInput, type ArrayValue, type HostArray } from "./arrays.js";

/** How a batches value's samples are cut from its series (read by the training data adapter). */
export interface WindowPlan {
  /** The public function that made it, for messages. */
  readonly fn: string;
  /** The series, time on the first axis (float32). */
  readonly series: ArrayValue<Float32Array>;
  readonly targets: ArrayValue<Float32Array> | null;
  /** Samples per batch (all but maybe the last). */
  readonly batchSize: number;
  /** Timesteps per sample. */
  readonly timesteps: number;
  /** Series index of each sample's first timestep; the next ones follow every `step` rows (negative: reversed). */
  readonly first: Int32Array;
  readonly step: number;
  /** Target row of each sample. */
  readonly targetRow: Int32Array;
  readonly samplesPerPass: number;
  readonly batchesPerPass: number;
  /** The batches of one pass (lists of sample numbers): `rng` draws the shuffles; `shuffleBatches` is fit's `shuffle`. */
  readonly pass: (rng: Rng, shuffleBatches: boolean) => Int32Array[];
  /** The random stream for one fit, evaluate, predict or loop over the batches. */
  readonly newRng: () => Rng;
}

const PLAN = Symbol("tskeras.windows");

/** One batch: the windows `x` and their targets `y` (null when the value has no targets). */
export interface TimeseriesBatch {
  readonly x: ArrayValue<Float32Array>;
  readonly y: ArrayValue<Float32Array> | null;
}

/** What `timeseries_dataset_from_array()` and `timeseries_generator()` return. */
export interface TimeseriesBatches extends Iterable<TimeseriesBatch> {
  readonly class: "timeseries_dataset" | "timeseries_generator";
  /** Samples per batch (all but maybe the last). */
  readonly batch_size: number;
  /** Batches in one pass (R's `length()`). */
  readonly length: number;
  /** Samples in one pass. */
  readonly samples: number;
  readonly [PLAN]: WindowPlan;
}

export function isTimeseriesBatches(x: unknown): x is TimeseriesBatches {
  return x !== null && typeof x === "object" && PLAN in x;
}

export const windowPlanOf = (x: TimeseriesBatches): WindowPlan => x[PLAN];

/** Series rows of the samples `ids`, sample after sample (timesteps × ids). */
export function windowRows(plan: WindowPlan, ids: ArrayLike<number>): Int32Array {
  const rows = new Int32Array(ids.length * plan.timesteps);
  for (let i = 0; i < ids.length; i++)
    for (let j = 0; j < plan.timesteps; j++) rows[i * plan.timesteps + j] = plan.first[ids[i]] + j * plan.step;
  return rows;
}

/** Rows `rows` of `a` (time on the first axis), as a new array of shape `[...lead, ...a's row shape]`. */
function takeRows(a: ArrayValue<Float32Array>, rows: ArrayLike<number>, lead: number[]): ArrayValue<Float32Array> {
  const per = size(a.shape.slice(1));
  const out = new Float32Array(rows.length * per);
  for (let i = 0; i < rows.length; i++) out.set(a.data.subarray(rows[i] * per, (rows[i] + 1) * per), i * per);
  return arrayValue(out, [...lead, ...a.shape.slice(1)]);
}

function batchesValue(cls: TimeseriesBatches["class"], plan: WindowPlan): TimeseriesBatches {
  Object.freeze(plan);
  return Object.freeze({
    class: cls,
    batch_size: plan.batchSize,
    length: plan.batchesPerPass,
    samples: plan.samplesPerPass,
    [PLAN]: plan,
    *[Symbol.iterator](): Iterator<TimeseriesBatch> {
      for (const ids of plan.pass(plan.newRng(), false)) {
        const x = takeRows(plan.series, windowRows(plan, ids), [ids.length, plan.timesteps]);
        const y = plan.targets
          ? takeRows(
              plan.targets,
              Array.from(ids, (i) => plan.targetRow[i]),
              [ids.length],
            )
          : null;
        yield Object.freeze({ x, y });
      }
    },
  });
}

function float32Array(a: HostArray): ArrayValue<Float32Array> {
  return arrayValue(Float32Array.from(a.data), a.shape);
}

/** Consecutive chunks of `order` of `batchSize` (the last may be shorter). */
function chunks(order: Int32Array, batchSize: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let s = 0; s < order.length; s += batchSize) out.push(order.slice(s, s + batchSize));
  return out;
}

/**
 * tf.data's `shuffle(buffer_size)`: elements pass through a buffer of `bufferSize` and leave it in random
 * order, so each one moves at most that far.
 */
function bufferShuffle(order: Int32Array, bufferSize: number, rng: Rng): Int32Array {
  const out = new Int32Array(order.length);
  const buffer = Array.from(order.subarray(0, bufferSize));
  let next = buffer.length;
  for (let k = 0; k < order.length; k++) {
    const j = Math.floor(rng.uniform() * buffer.length);
    out[k] = buffer[j];
    if (next < order.length) buffer[j] = order[next++];
    else {
      buffer[j] = buffer[buffer.length - 1];
      buffer.pop();
    }
  }
  return out;
}

const Seed = described(
  t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32),
  "an integer in [0, 2^32)",
);

const DATASET_PROPS = {
  sequence_length: PositiveInt,
  sequence_stride: PositiveInt,
  sampling_rate: PositiveInt,
  batch_size: PositiveInt,
  shuffle: Bool,
  seed: Nullable(Seed),
  start_index: Nullable(NonNegativeInt),
  end_index: Nullable(NonNegativeInt),
};

export interface TimeseriesDatasetArgs {
  sequence_length: number;
  sequence_stride?: number;
  sampling_rate?: number;
  batch_size?: number;
  shuffle?: boolean;
  seed?: number | null;
  start_index?: number | null;
  end_index?: number | null;
}

/**
 * `timeseries_dataset_from_array(data, targets, { sequence_length, sequence_stride = 1, sampling_rate = 1,
 * batch_size = 128, shuffle = FALSE, seed = NULL, start_index = NULL, end_index = NULL })` (Keras 3).
 * Window `i` holds rows `s, s + sampling_rate, ...` (`sequence_length` of them) of `data` from
 * `s = start_index + i * sequence_stride`, and its target is `targets[s]` (`targets` may be null). Rows from
 * `end_index` on are left out. With `shuffle`, the windows are permuted as Keras does (numpy's
 * `RandomState(seed)`, the same order as Keras for a given seed) and, at every pass, shuffled again
 * locally in a buffer of 8 batches, as tf.data does (that second shuffle draws its own random numbers, so
 * batches differ from Keras's). Give the result to `fit` / `evaluate` / `predict` as `x`, or loop over it:
 *
 * @example
 * ```ts
 * const series = Array.from({ length: 100 }, (_, i) => [Math.sin(i / 5)]);
 * const ds = timeseries_dataset_from_array(series.slice(0, -10), series.slice(10), { sequence_length: 10, batch_size: 16 });
 * for (const { x, y } of ds) console.log(x.shape, y?.shape); // [16, 10, 1] [16, 1] ...
 * const { model: trained } = await fit(model, ds, { epochs: 5 });
 * ```
 */
export function timeseries_dataset_from_array(
  data: ArrayInput,
  targets: ArrayInput | null,
  args: TimeseriesDatasetArgs,
): TimeseriesBatches {
  const fn = "timeseries_dataset_from_array";
  refuseArgumentsPast(fn, ["data", "targets", "args"], arguments);
  const a = decodeArgs(
    fn,
    DATASET_PROPS,
    args,
    {
      sequence_stride: 1,
      sampling_rate: 1,
      batch_size: 128,
      shuffle: false,
      seed: null as number | null,
      start_index: null as number | null,
      end_index: null as number | null,
    },
    ["sequence_length"],
  );
  const series = float32Array(readArray(fn, "`data`", data));
  const target = targets === null || targets === undefined ? null : float32Array(readArray(fn, "`targets`", targets));
  if (series.shape.length === 0) throw new KerasError(fn, "`data` must have a time axis, got a scalar", "shape");
  if (target && target.shape.length === 0)
    throw new KerasError(fn, "`targets` must have a time axis, got a scalar", "shape");
  const rows = series.shape[0];
  const start: number = a.start_index ?? 0;
  const end: number = a.end_index ?? rows;
  if (a.start_index !== null && start >= rows)
    throw new KerasError(fn, `\`start_index\` (${start}) must be below the length of \`data\` (${rows})`);
  if (a.end_index !== null && (end >= rows || end <= start))
    throw new KerasError(
      fn,
      `\`end_index\` (${end}) must be above \`start_index\` (${start}) and below the length of \`data\` (${rows})`,
    );
  for (const k of ["sampling_rate", "sequence_stride"] as const)
    if (a[k] >= rows) throw new KerasError(fn, `\`${k}\` (${a[k]}) must be below the length of \`data\` (${rows})`);
  const span = (a.sequence_length - 1) * a.sampling_rate + 1;
  let windows = end - start - span + 1;
  if (target) windows = Math.min(windows, target.shape[0]);
  if (windows <= 0)
    throw new KerasError(
      fn,
      `no window fits: a window spans ${span} rows (sequence_length ${a.sequence_length}, sampling_rate ${a.sampling_rate}) but rows ${start}..${end - 1} are ${end - start}${target && target.shape[0] < end - start - span + 1 ? ` and \`targets\` has ${target.shape[0]}` : ""}`,
    );
  const positions = Int32Array.from(
    { length: Math.ceil(windows / a.sequence_stride) },
    (_, i) => i * a.sequence_stride,
  );
  const seed: number = a.seed ?? drawSeed() % 1_000_000;
  if (a.shuffle) new NumpyRandomState(seed).shuffle(positions);
  const first = positions.map((p) => start + p);
  if (target) {
    const lastRow = Math.min(end, target.shape[0]);
    const bad = first.find((r) => r >= lastRow);
    if (bad !== undefined)
      throw new KerasError(
        fn,
        `the window starting at row ${bad} has no target: \`targets\` rows ${start}..${lastRow - 1} are used`,
        "shape",
      );
  }
  const order = Int32Array.from(first, (_, i) => i);
  const batchSize: number = a.batch_size;
  return batchesValue("timeseries_dataset", {
    fn,
    series,
    targets: target,
    batchSize,
    timesteps: a.sequence_length,
    first,
    step: a.sampling_rate,
    targetRow: first,
    samplesPerPass: first.length,
    batchesPerPass: Math.ceil(first.length / batchSize),
    pass: (rng) => chunks(a.shuffle ? bufferShuffle(order, batchSize * 8, rng) : order, batchSize),
    newRng: () => new Rng(seed),
  });
}

const GENERATOR_PROPS = {
  length: PositiveInt,
  sampling_rate: PositiveInt,
  stride: PositiveInt,
  start_index: NonNegativeInt,
  end_index: Nullable(NonNegativeInt),
  shuffle: Bool,
  reverse: Bool,
  batch_size: PositiveInt,
};

export interface TimeseriesGeneratorArgs {
  length: number;
  sampling_rate?: number;
  stride?: number;
  start_index?: number;
  end_index?: number | null;
  shuffle?: boolean;
  reverse?: boolean;
  batch_size?: number;
}

/**
 * `timeseries_generator(data, targets, { length, sampling_rate = 1, stride = 1, start_index = 0,
 * end_index = NULL, shuffle = FALSE, reverse = FALSE, batch_size = 128 })` (R keras 2, Keras 2's
 * TimeseriesGenerator): the sample for row `r` is `data[r - length], data[r - length + sampling_rate], ...`
 * (rows before `r`), its target `targets[r]`, for `r` from `start_index + length` to `end_index` (default: the
 * last row) every `stride` rows. `reverse` flips each sample's time order; `shuffle` draws every batch's
 * `batch_size` rows at random (with replacement) instead. `fit` shuffles the order of the batches unless
 * `shuffle: false` (as Keras does for generators).
 *
 * @example
 * ```ts
 * const gen = timeseries_generator(series, series, { length: 10, batch_size: 32 });
 * gen.length; // batches per epoch
 * const { model: trained } = await fit(model, gen, { epochs: 5 });
 * ```
 */
export function timeseries_generator(
  data: ArrayInput,
  targets: ArrayInput,
  args: TimeseriesGeneratorArgs,
): TimeseriesBatches {
  const fn = "timeseries_generator";
  refuseArgumentsPast(fn, ["data", "targets", "args"], arguments);
  const a = decodeArgs(
    fn,
    GENERATOR_PROPS,
    args,
    {
      sampling_rate: 1,
      stride: 1,
      start_index: 0,
      end_index: null as number | null,
      shuffle: false,
      reverse: false,
      batch_size: 128,
    },
    ["length"],
  );
  const series = float32Array(readArray(fn, "`data`", data));
  if (targets === null || targets === undefined) throw new KerasError(fn, "`targets` is required");
  const target = float32Array(readArray(fn, "`targets`", targets));
  if (series.shape.length === 0 || target.shape.length === 0)
    throw new KerasError(fn, "`data` and `targets` must have a time axis", "shape");
  const rows = series.shape[0];
  if (target.shape[0] !== rows)
    throw new KerasError(
      fn,
      `\`data\` and \`targets\` must have the same length; \`data\` has ${rows} rows, \`targets\` ${target.shape[0]}`,
      "shape",
    );
  const start = a.start_index + a.length;
  const end: number = a.end_index ?? rows - 1;
  if (end >= rows) throw new KerasError(fn, `\`end_index\` (${end}) must be below the length of \`data\` (${rows})`);
  if (start > end)
    throw new KerasError(
      fn,
      `\`start_index\` + \`length\` (${start}) is past \`end_index\` (${end}): no row is left to be a sample's current step`,
    );
  const timesteps = Math.ceil(a.length / a.sampling_rate);
  const targetRow = Int32Array.from({ length: end - start + 1 }, (_, i) => start + i);
  const first = targetRow.map((r) => (a.reverse ? r - a.length + (timesteps - 1) * a.sampling_rate : r - a.length));
  const batchSize: number = a.batch_size;
  const span = batchSize * a.stride;
  const batches = Math.floor((end - start + span) / span);
  const candidates = end - start + 1;
  return batchesValue("timeseries_generator", {
    fn,
    series,
    targets: target,
    batchSize,
    timesteps,
    first,
    step: a.reverse ? -a.sampling_rate : a.sampling_rate,
    targetRow,
    samplesPerPass: a.shuffle ? batches * batchSize : Math.floor((end - start) / a.stride) + 1,
    batchesPerPass: batches,
    pass: (rng, shuffleBatches) => {
      const order = shuffleBatches ? permutation(batches, rng) : Int32Array.from({ length: batches }, (_, i) => i);
      return Array.from(order, (k) =>
        a.shuffle
          ? Int32Array.from({ length: batchSize }, () => Math.floor(rng.uniform() * candidates))
          : Int32Array.from(
              { length: Math.min(batchSize, Math.floor((candidates - 1 - k * span) / a.stride) + 1) },
              (_, j) => k * span + j * a.stride,
            ),
      );
    },
    newRng: () => new Rng(),
  });
}
