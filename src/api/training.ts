/**
 * The R-shaped training verbs: compile (pipeable), fit, evaluate, predict and the *_on_batch forms, plus
 * the public losses, metrics, optimizers, schedules, callbacks and history helpers.
 */
import * as t from "io-ts";
import { KerasError, asKerasError, describeValue } from "../errors.js";
import {
  Bool,
  NonNegativeInt,
  NullIsDefault,
  type ArgsOf,
  Num,
  PositiveInt,
  Rate,
  RecordOf,
  decodeArgs,
  described,
  isPlainRecord,
  refuseArgumentsPast,
  refuseUnusedArguments,
} from "../args.js";
import { backendSelected, backend_ready } from "../backend/index.js";
import { isModel } from "../model/guards.js";
import { withModel, type CompiledState, type Model } from "../model/model.js";
import { makeSetup, type CompileArgs } from "../engine/training/setup.js";
import { adaptData, disposeSet, splitValidation, type ArraySet } from "../engine/training/data.js";
import { isTimeseriesBatches, windowPlanOf, type TimeseriesBatches } from "../data/timeseries.js";
import { evaluateLoop, fitLoop, predictLoop, trainOnBatch } from "../engine/training/loops.js";
import { predictOneStep } from "../engine/training/one_step.js";
import { resolveVerbose } from "../report/progress.js";
import { checkModelUse, noteDerived, watchTrainingResult } from "./hints.js";
import type { History } from "../report/history.js";
import type { Logs } from "../engine/training/callbacks.js";

export {
  loss_mean_squared_error,
  loss_mean_absolute_error,
  loss_mean_absolute_percentage_error,
  loss_mean_squared_logarithmic_error,
  loss_binary_crossentropy,
  loss_categorical_crossentropy,
  loss_sparse_categorical_crossentropy,
  loss_hinge,
  loss_squared_hinge,
  loss_categorical_hinge,
  loss_huber,
  loss_log_cosh,
  loss_kl_divergence,
  loss_poisson,
  loss_cosine_similarity,
  loss_binary_focal_crossentropy,
  loss_categorical_focal_crossentropy,
  loss_dice,
  loss_tversky,
  loss_ctc,
  type LossSpec,
} from "../ops/losses.js";
export { k_ctc_decode, type CtcDecodeArgs } from "../ops/ctc.js";
export {
  metric_mean_squared_error,
  metric_mean_absolute_error,
  metric_mean_absolute_percentage_error,
  metric_mean_squared_logarithmic_error,
  metric_root_mean_squared_error,
  metric_binary_crossentropy,
  metric_categorical_crossentropy,
  metric_sparse_categorical_crossentropy,
  metric_kl_divergence,
  metric_poisson,
  metric_binary_accuracy,
  metric_categorical_accuracy,
  metric_sparse_categorical_accuracy,
  metric_top_k_categorical_accuracy,
  metric_sparse_top_k_categorical_accuracy,
  metric_auc,
  metric_precision,
  metric_recall,
  metric_hinge,
  metric_log_cosh_error,
  metric_cosine_similarity,
  metric_true_positives,
  metric_false_positives,
  metric_true_negatives,
  metric_false_negatives,
  metric_precision_at_recall,
  metric_recall_at_precision,
  metric_f1_score,
  metric_fbeta_score,
  metric_r2_score,
  metric_iou,
  metric_mean_iou,
  metric_mean,
  metric_sum,
  custom_metric,
  type MetricSpec,
} from "../ops/metrics.js";
export {
  optimizer_sgd,
  optimizer_rmsprop,
  optimizer_adam,
  optimizer_adamw,
  optimizer_adagrad,
  optimizer_adadelta,
  optimizer_adamax,
  optimizer_nadam,
  optimizer_lion,
  optimizer_lamb,
  optimizer_ftrl,
  optimizer_adafactor,
  type OptimizerSpec,
  type OptimizerStateValue,
} from "../ops/optimizers.js";
export {
  learning_rate_schedule_exponential_decay,
  learning_rate_schedule_inverse_time_decay,
  learning_rate_schedule_piecewise_constant_decay,
  learning_rate_schedule_cosine_decay,
  learning_rate_schedule_polynomial_decay,
  learning_rate_schedule_cosine_decay_restarts,
  type LearningRateSchedule,
} from "../ops/schedules.js";
export {
  callback_early_stopping,
  callback_reduce_lr_on_plateau,
  callback_learning_rate_scheduler,
  callback_terminate_on_nan,
  callback_csv_logger,
  callback_lambda,
  callback_progbar_logger,
  type CallbackSpec,
  type Logs,
} from "../engine/training/callbacks.js";
import type { NestedNumbers } from "../model/dual.js";
export { callback_tensorboard, type TensorBoardArgs } from "../engine/training/tensorboard.js";
export {
  callback_backup_and_restore,
  callback_model_checkpoint,
  type BackupAndRestoreArgs,
  type ModelCheckpointArgs,
} from "../engine/training/checkpoint.js";
export { print_history, as_data_frame, type History, type HistoryRow } from "../report/history.js";
export { plot_history } from "../report/plot.js";
export type { TrainingSetup } from "../engine/training/setup.js";

const COMPILE_PROPS = {
  optimizer: described(t.unknown, "an optimizer name or optimizer_*() value"),
  loss: described(t.unknown, "a loss"),
  metrics: described(t.unknown, "a list of metrics"),
  loss_weights: described(t.unknown, "loss weights"),
  weighted_metrics: described(t.unknown, "a list of metrics"),
};

function checkModel(fn: string, model: unknown): asserts model is Model {
  if (!isModel(model))
    throw new KerasError(
      fn,
      `\`object\` must be a model (keras_model_sequential() or keras_model()), got ${describeValue(model)}`,
    );
}

/**
 * `compile(model, { optimizer, loss, metrics, loss_weights, weighted_metrics })` → a new, compiled model
 * value; `compile({ ... })` → a function of the model (for `pipe`). The optimizer defaults to "rmsprop"
 * (R keras's default).
 *
 * @example
 * const compiled = compile(model, { optimizer: "adam", loss: "mse", metrics: ["mae"] });
 */
export function compile<M extends Model>(model: M, args: CompileArgs): M;
export function compile(args: CompileArgs): <M extends Model>(model: M) => M;
export function compile(a: unknown, b?: unknown, ...unused: unknown[]): unknown {
  const fn = "compile";
  refuseUnusedArguments(fn, 3, unused, "compile(model, args) or compile(args)");
  if (!isModel(a)) {
    if (b !== undefined) checkModel(fn, a);
    const args = decodeArgs(fn, COMPILE_PROPS, a, {});
    return <M extends Model>(model: M): M => compile(model, args);
  }
  const args = decodeArgs(fn, COMPILE_PROPS, b, {});
  const compiled = withModel(a, { compiled: makeSetup(fn, a, args) as unknown as CompiledState });
  noteDerived(fn, a, compiled);
  return compiled;
}

const Verbose = described(t.union([t.literal(0), t.literal(1), t.literal(2), t.literal("auto")]), '0, 1, 2 or "auto"');
const List = described(t.array(t.unknown), "a list");
const Data = described(t.unknown, "data");
const ClassWeight = described(
  t.union([
    t.refinement(RecordOf(Num, "a record of weights"), (r) => Object.keys(r).every((k) => /^\d+$/.test(k))),
    t.array(Num),
  ]),
  "a record of weights by class index (e.g. { 0: 1, 1: 5 }) or a vector of weights",
);
const ValidationFreq = described(
  t.union([PositiveInt, t.array(PositiveInt)]),
  "a positive integer or a vector of epochs",
);

/** fit()'s arguments; those whose R default is NULL take null as "not given". */
const FIT_PROPS = {
  /** Samples per gradient update (32; a timeseries dataset brings its own). */
  batch_size: NullIsDefault(PositiveInt),
  /** How many times to iterate over the data (1). */
  epochs: PositiveInt,
  /** 0: silent, 1: a progress bar, 2: one line per epoch; "auto" (default): 1, or 2 when not a terminal. */
  verbose: Verbose,
  /** callback_*() values or records of `on_*` functions. */
  callbacks: NullIsDefault(List),
  /** The fraction of the samples (the last ones, before shuffling) held out for validation. */
  validation_split: Rate,
  /** `list(x, y)` or `list(x, y, sample_weight)` to validate on at each epoch's end. */
  validation_data: NullIsDefault(Data),
  /** Shuffle the samples before each epoch (TRUE; FALSE for a model with a stateful layer). */
  shuffle: Bool,
  /** A weight per class index, for the loss. */
  class_weight: NullIsDefault(ClassWeight),
  /** A weight per sample, for the loss. */
  sample_weight: NullIsDefault(Data),
  /** The epoch to start at (0-based; for resuming a run). */
  initial_epoch: NonNegativeInt,
  /** Batches per epoch (all of them by default). */
  steps_per_epoch: NullIsDefault(PositiveInt),
  /** Samples per validation batch (batch_size by default). */
  validation_batch_size: NullIsDefault(PositiveInt),
  /** Validate every this many epochs, or at these epochs (1-based). */
  validation_freq: ValidationFreq,
};

/** fit()'s named arguments, derived from its codecs. */
export type FitArgs = ArgsOf<typeof FIT_PROPS>;

/**
 * `x` made by timeseries_dataset_from_array() / timeseries_generator() holds its targets, so R's
 * `fit(dataset, epochs = 5)` is `fit(model, dataset, { epochs: 5 })`: the third argument is then the
 * arguments. Returns [y, args]; arguments that a batches value fixes itself are rejected.
 */
function datasetCall<A>(fn: string, x: unknown, y: unknown, args: A | undefined): [unknown, A | undefined] {
  if (!isTimeseriesBatches(x)) return [y, args];
  if (args === undefined && y !== null && typeof y === "object" && !Array.isArray(y)) [y, args] = [undefined, y as A];
  const made = `made by ${windowPlanOf(x).fn}()`;
  if (y !== undefined && y !== null)
    throw new KerasError(fn, `\`y\` must not be given when \`x\` is ${made}: its batches hold the targets`);
  const fixed: Record<string, string> = {
    batch_size: `its batches have batch_size ${(x as TimeseriesBatches).batch_size}, set when it was made`,
    validation_split: "give `validation_data` (e.g. another dataset over later rows, with `start_index`)",
  };
  for (const [k, why] of Object.entries(fixed))
    if ((args as Record<string, unknown> | undefined)?.[k] != null)
      throw new KerasError(fn, `\`${k}\` cannot be used when \`x\` is ${made}: ${why}`);
  return [undefined, args];
}

function noDataset(fn: string, x: unknown): void {
  if (isTimeseriesBatches(x))
    throw new KerasError(fn, `\`x\` must be arrays (one batch), not a value made by ${windowPlanOf(x).fn}()`);
}

const batchSizeOf = (x: unknown): number | undefined => (isTimeseriesBatches(x) ? x.batch_size : undefined);

function validationSet(fn: string, model: Model, v: unknown): ArraySet {
  if (isTimeseriesBatches(v)) {
    if (!windowPlanOf(v).targets)
      throw new KerasError(fn, "`validation_data` made without `targets` cannot be evaluated: give it targets");
    return adaptData(fn, model, v, undefined);
  }
  if (Array.isArray(v) && (v.length === 2 || v.length === 3)) {
    const labels = { x: "validation_data[[1]]", y: "validation_data[[2]]", sampleWeight: "validation_data[[3]]" };
    if (v[1] === undefined || v[1] === null) throw new KerasError(fn, `\`${labels.y}\` (the targets) is required`);
    return adaptData(fn, model, v[0], v[1], { sampleWeight: v[2], labels });
  }
  if (
    isPlainRecord(v) &&
    Object.keys(v).every((k) => ["x", "y", "sample_weight"].includes(k)) &&
    "x" in v &&
    "y" in v
  ) {
    const labels = { x: "validation_data$x", y: "validation_data$y", sampleWeight: "validation_data$sample_weight" };
    if (v.y === undefined || v.y === null) throw new KerasError(fn, `\`${labels.y}\` (the targets) is required`);
    return adaptData(fn, model, v.x, v.y, { sampleWeight: v.sample_weight, labels });
  }
  throw new KerasError(
    fn,
    `\`validation_data\` must be list(x_val, y_val) (optionally with sample weights third), { x, y, sample_weight } or a timeseries dataset, got ${describeValue(v)}`,
  );
}

/**
 * `fit(model, x, y, { batch_size = 32, epochs = 1, verbose = "auto", ... })` → `{ model, history }`.
 * The argument model is unchanged; the trained weights, optimizer state and recurrent state live on
 * the returned model. `shuffle` defaults to TRUE, or FALSE for a model with a stateful layer.
 * `x` may be a timeseries dataset or generator (`fit(model, ds, { epochs })`): it brings its targets
 * and batch size.
 *
 * @example
 * const { model: trained, history } = await fit(compiled, x, y, { epochs: 10, batch_size: 32 });
 */
export async function fit<M extends Model>(
  model: M,
  x: unknown,
  y?: unknown,
  args?: FitArgs,
): Promise<{ model: M; history: History }> {
  const fn = "fit";
  refuseArgumentsPast(fn, ["model", "x", "y", "args"], arguments);
  checkModel(fn, model);
  [y, args] = datasetCall(fn, x, y, args);
  const a = decodeArgs(fn, FIT_PROPS, args, {
    epochs: 1,
    verbose: "auto" as const,
    callbacks: [] as unknown[],
    initial_epoch: 0,
    validation_freq: 1,
  });
  if (a.initial_epoch >= a.epochs)
    throw new KerasError(
      fn,
      `\`initial_epoch\` (${a.initial_epoch}) must be below \`epochs\` (${a.epochs}); epochs counts the final epoch, not the number to run`,
    );
  if (a.validation_split !== undefined && a.validation_data !== undefined)
    throw new KerasError(fn, "give `validation_split` or `validation_data`, not both");
  if ((y === undefined || y === null) && !isTimeseriesBatches(x))
    throw new KerasError(fn, "`y` (the targets) is required");
  await backend_ready();
  const sets: ArraySet[] = [];
  try {
    let train = adaptData(fn, model, x, y, { sampleWeight: a.sample_weight, classWeight: a.class_weight });
    sets.push(train);
    let validation: ArraySet | null = null;
    if (a.validation_split) {
      [train, validation] = splitValidation(fn, train, a.validation_split);
      sets.push(train, validation);
    } else if (a.validation_data !== undefined && a.validation_data !== null) {
      validation = validationSet(fn, model, a.validation_data);
      sets.push(validation);
    }
    const freq = a.validation_freq;
    checkModelUse(fn, model, { x, y, args }); // once the arguments and data are checked: a failing call uses nothing
    const result = await fitLoop(fn, model, train, {
      batchSize: a.batch_size ?? batchSizeOf(x),
      epochs: a.epochs,
      verbose: resolveVerbose(a.verbose),
      callbacks: a.callbacks,
      shuffle: a.shuffle,
      initialEpoch: a.initial_epoch,
      stepsPerEpoch: a.steps_per_epoch,
      validation,
      validationBatchSize: a.validation_batch_size,
      validateAt: (epoch) => (Array.isArray(freq) ? freq.includes(epoch) : epoch % freq === 0),
    });
    // The trained model is `model` with new weights and state: the same kind of model.
    return watchTrainingResult(fn, model, { x, y, args }, result) as { model: M; history: History };
  } catch (e) {
    throw asKerasError(fn, e);
  } finally {
    sets.forEach(disposeSet);
  }
}

const EVAL_PROPS = {
  /** Samples per batch (32). */
  batch_size: NullIsDefault(PositiveInt),
  /** 0: silent, 1: a progress bar; "auto" (default). */
  verbose: Verbose,
  /** A weight per sample, for the loss and the weighted metrics. */
  sample_weight: NullIsDefault(Data),
  /** callback_*() values or records of `on_*` functions. */
  callbacks: NullIsDefault(List),
};

/**
 * `evaluate(model, x, y, { batch_size, verbose, sample_weight, callbacks })` → `{ loss, <metrics> }`;
 * `evaluate(model, dataset, { verbose })` for a timeseries dataset or generator.
 *
 * @example
 * const { loss, mae } = await evaluate(trained, x_test, y_test);
 */
export async function evaluate(model: Model, x: unknown, y?: unknown, args?: ArgsOf<typeof EVAL_PROPS>): Promise<Logs> {
  const fn = "evaluate";
  refuseArgumentsPast(fn, ["model", "x", "y", "args"], arguments);
  checkModel(fn, model);
  [y, args] = datasetCall(fn, x, y, args);
  const a = decodeArgs(fn, EVAL_PROPS, args, { verbose: "auto" as const, callbacks: [] as unknown[] });
  if ((y === undefined || y === null) && !isTimeseriesBatches(x))
    throw new KerasError(fn, "`y` (the targets) is required");
  await backend_ready();
  const set = adaptData(fn, model, x, y, { sampleWeight: a.sample_weight });
  checkModelUse(fn, model);
  try {
    return Object.freeze(
      await evaluateLoop(fn, model, set, {
        batchSize: a.batch_size ?? batchSizeOf(x),
        verbose: resolveVerbose(a.verbose),
        callbacks: a.callbacks,
      }),
    );
  } catch (e) {
    throw asKerasError(fn, e);
  } finally {
    disposeSet(set);
  }
}

const PREDICT_PROPS = {
  /** Samples per batch (32). */
  batch_size: NullIsDefault(PositiveInt),
  /** 0: silent, 1: a progress bar; "auto" (default). */
  verbose: Verbose,
  /** callback_*() values or records of `on_*` functions. */
  callbacks: NullIsDefault(List),
};

/**
 * `predict(model, x, { batch_size, verbose, callbacks })` → nested arrays (a list of them for several outputs).
 * `x` may be a timeseries dataset or generator: one prediction per window, in the order its batches come.
 * The element type `T` is what the caller says the samples are (`const p: number[][] = await predict(...)`
 * infers it); the rank is the model's, which TypeScript cannot know.
 *
 * @example
 * const y_hat = await predict(trained, x_test);
 */
export async function predict<T extends NestedNumbers = NestedNumbers>(
  model: Model,
  x: unknown,
  args: ArgsOf<typeof PREDICT_PROPS> = {},
): Promise<T[]> {
  const fn = "predict";
  refuseArgumentsPast(fn, ["model", "x", "args"], arguments);
  checkModel(fn, model);
  datasetCall(fn, x, undefined, args);
  const a = decodeArgs(fn, PREDICT_PROPS, args, { verbose: "auto" as const, callbacks: [] as unknown[] });
  if (!backendSelected()) await backend_ready();
  const verbose = resolveVerbose(a.verbose);
  if (verbose === 0 && a.callbacks.length === 0) {
    const quick = oneStep(fn, model, x, a.batch_size ?? undefined);
    if (quick) return quick as T[];
  }
  const set = adaptData(fn, model, x, undefined);
  checkModelUse(fn, model);
  try {
    return (await predictLoop(fn, model, set, {
      batchSize: a.batch_size ?? batchSizeOf(x),
      verbose,
      callbacks: a.callbacks,
    })) as T[];
  } catch (e) {
    throw asKerasError(fn, e);
  } finally {
    disposeSet(set);
  }
}

/** predict / predict_on_batch on the one-step path (engine/training/one_step.ts), or null for the general one. */
function oneStep(fn: string, model: Model, x: unknown, batchSize: number | undefined): NestedNumbers[] | null {
  try {
    return predictOneStep(model, x, batchSize, () => checkModelUse(fn, model));
  } catch (e) {
    throw asKerasError(fn, e);
  }
}

const ON_BATCH_PROPS = { sample_weight: Data, class_weight: ClassWeight };

/**
 * `train_on_batch(model, x, y, { sample_weight, class_weight })` → `{ model, logs }` (one update on the whole of x).
 *
 * @example
 * const { model: updated, logs } = await train_on_batch(compiled, x_batch, y_batch);
 */
export async function train_on_batch<M extends Model>(
  model: M,
  x: unknown,
  y: unknown,
  args: { sample_weight?: unknown; class_weight?: Record<string, number> | number[] } = {},
): Promise<{ model: M; logs: Logs }> {
  const fn = "train_on_batch";
  refuseArgumentsPast(fn, ["model", "x", "y", "args"], arguments);
  checkModel(fn, model);
  noDataset(fn, x);
  const a = decodeArgs(fn, ON_BATCH_PROPS, args, {});
  await backend_ready();
  const set = adaptData(fn, model, x, y, { sampleWeight: a.sample_weight, classWeight: a.class_weight });
  checkModelUse(fn, model, { x, y, args });
  try {
    // The trained model is `model` with new weights: the same kind of model.
    return watchTrainingResult(fn, model, { x, y, args }, await trainOnBatch(fn, model, set)) as {
      model: M;
      logs: Logs;
    };
  } catch (e) {
    throw asKerasError(fn, e);
  } finally {
    disposeSet(set);
  }
}

/**
 * `test_on_batch(model, x, y, { sample_weight })` → `{ loss, <metrics> }` on x as one batch.
 *
 * @example
 * const logs = await test_on_batch(trained, x_batch, y_batch);
 */
export async function test_on_batch(
  model: Model,
  x: unknown,
  y: unknown,
  args: { sample_weight?: unknown } = {},
): Promise<Logs> {
  const fn = "test_on_batch";
  refuseArgumentsPast(fn, ["model", "x", "y", "args"], arguments);
  checkModel(fn, model);
  noDataset(fn, x);
  const a = decodeArgs(fn, { sample_weight: Data }, args, {});
  await backend_ready();
  const set = adaptData(fn, model, x, y, { sampleWeight: a.sample_weight });
  checkModelUse(fn, model);
  try {
    return Object.freeze(await evaluateLoop(fn, model, set, { batchSize: set.n, verbose: 0, callbacks: [] }));
  } catch (e) {
    throw asKerasError(fn, e);
  } finally {
    disposeSet(set);
  }
}

/**
 * `predict_on_batch(model, x)` → nested arrays, x as one batch.
 *
 * @example
 * const y_hat = await predict_on_batch(trained, x_batch);
 */
export async function predict_on_batch<T extends NestedNumbers = NestedNumbers>(
  model: Model,
  x: unknown,
): Promise<T[]> {
  const fn = "predict_on_batch";
  refuseArgumentsPast(fn, ["model", "x"], arguments);
  checkModel(fn, model);
  noDataset(fn, x);
  if (!backendSelected()) await backend_ready();
  const quick = oneStep(fn, model, x, undefined);
  if (quick) return quick as T[];
  const set = adaptData(fn, model, x, undefined);
  checkModelUse(fn, model);
  try {
    return (await predictLoop(fn, model, set, { batchSize: set.n, verbose: 0, callbacks: [] })) as T[];
  } catch (e) {
    throw asKerasError(fn, e);
  } finally {
    disposeSet(set);
  }
}
