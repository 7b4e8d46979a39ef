/**
 * Callbacks: `callback_*()` values (frozen specs; each fit creates fresh per-run state from them), user
 * callbacks as records of `on_*` functions, and the list that fires them in Keras order.
 */
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../../io/atomic.js";
import * as t from "io-ts";
import { ArgumentError, KerasError, describeValue } from "../../errors.js";
import {
  Bool,
  NonNegativeInt,
  NonNegativeNum,
  Num,
  Nullable,
  OneOf,
  Str,
  decodeArgs,
  decodeCall,
  described,
  checkArgs,
  problemList,
  isPlainRecord,
  Fn,
  FilePath,
  type Props,
  refuseArgumentsPast,
  refuseUnusedArguments,
} from "../../args.js";
import { Progbar, defaultProgressIO, type ProgressIO } from "../../report/progress.js";
import type { Model } from "../../model/model.js";
import type { OptimizerStateValue } from "../../ops/optimizers.js";
import type { RngState } from "../../ops/random.js";

export type Logs = Record<string, number>;

export interface RunParams {
  readonly epochs: number;
  /** Steps of the current loop (training steps per epoch in fit; test or predict steps otherwise). */
  readonly steps: number;
  readonly verbose: 0 | 1 | 2;
}

/** What built-in callbacks may see and do to the run (Keras's `self.model`). */
export interface CallbackContext {
  readonly params: RunParams;
  /** The model the loop runs (what fit / evaluate / predict was given). */
  readonly model: Model;
  stopTraining: boolean;
  readonly io: ProgressIO;
  learningRate(fn: string): number;
  setLearningRate(fn: string, value: number): void;
  /** A copy of the current weights. */
  getWeights(): Float32Array[][];
  setWeights(weights: Float32Array[][]): void;
  /** Each layer's weights' Keras names ("kernel", "bias", ...) and shapes, in getWeights() order. */
  weightSpecs(): { name: string; shape: readonly number[] }[][];
  /** The optimizer's update count (Keras's `optimizer.iterations`); 0 without an optimizer. */
  iterations(): number;
  /** "up" when larger values of a log name are better, "down" when smaller are, undefined if unknown. */
  metricDirection(name: string): "up" | "down" | undefined;
  /**
   * In fit: the model value as training has it now (weights and optimizer state), for a checkpoint;
   * training goes on undisturbed.
   */
  snapshotModel(): Model;
  /** In fit: where training is (for a backup), as plain JSON-safe data. */
  trainingPoint(): TrainingPoint;
  /**
   * In fit, from on_train_begin only: continue from a backup — these weights (per layer, in weight
   * order) and optimizer state, at this point.
   */
  resumeFrom(weights: Float32Array[][], optimizerState: OptimizerStateValue | null, point: TrainingPoint): void;
}

/** Where a fit is: what a backup needs to continue it exactly. */
export interface TrainingPoint {
  /** The epoch (0-based) to run next, or the one in progress. */
  readonly epoch: number;
  /** Batches of that epoch done (0 at an epoch's start). */
  readonly batch: number;
  /** The epoch's batches (when batch > 0). */
  readonly batches: unknown[] | null;
  /** The batch schedule's state (after drawing the epoch's batches when batch > 0). */
  readonly schedule: unknown;
  /** set_random_seed()'s stream (null without it: shuffles and dropout are then not reproducible). */
  readonly random: RngState | null;
  /** The epoch's running sums (when batch > 0). */
  readonly accumulator: unknown;
}

type Hook<A extends unknown[]> = (...args: A) => unknown;

/** Per-run callback state and behaviour; every hook optional. */
export interface CallbackHooks {
  on_train_begin?: Hook<[Logs]>;
  on_train_end?: Hook<[Logs]>;
  on_epoch_begin?: Hook<[number, Logs]>;
  on_epoch_end?: Hook<[number, Logs]>;
  on_train_batch_begin?: Hook<[number, Logs]>;
  on_train_batch_end?: Hook<[number, Logs]>;
  on_test_begin?: Hook<[Logs]>;
  on_test_end?: Hook<[Logs]>;
  on_test_batch_begin?: Hook<[number, Logs]>;
  on_test_batch_end?: Hook<[number, Logs]>;
  on_predict_begin?: Hook<[Logs]>;
  on_predict_end?: Hook<[Logs]>;
  on_predict_batch_begin?: Hook<[number, Logs]>;
  on_predict_batch_end?: Hook<[number, Logs]>;
  /**
   * Entries a built-in callback adds to an epoch's logs before on_epoch_end fires (Keras's learning-rate
   * callbacks write `learning_rate` there); logs are frozen values, so this is how they get in.
   */
  extraEpochLogs?: (epoch: number) => Logs;
}
export type HookName = Exclude<keyof CallbackHooks, "extraEpochLogs">;

export const HOOK_NAMES: readonly HookName[] = [
  "on_train_begin",
  "on_train_end",
  "on_epoch_begin",
  "on_epoch_end",
  "on_train_batch_begin",
  "on_train_batch_end",
  "on_test_begin",
  "on_test_end",
  "on_test_batch_begin",
  "on_test_batch_end",
  "on_predict_begin",
  "on_predict_end",
  "on_predict_batch_begin",
  "on_predict_batch_end",
];
/** Keras's aliases: on_batch_* fire for training batches when on_train_batch_* is not given. */
const USER_HOOK_NAMES = [...HOOK_NAMES, "on_batch_begin", "on_batch_end"];

export const CALLBACK_BRAND = Symbol.for("tskeras.callback");

export interface CallbackSpec {
  readonly [CALLBACK_BRAND]: true;
  readonly class_name: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly create: (ctx: CallbackContext) => CallbackHooks;
}

export function isCallback(x: unknown): x is CallbackSpec {
  return x !== null && typeof x === "object" && (x as any)[CALLBACK_BRAND] === true;
}

export function makeCallback(
  class_name: string,
  config: Record<string, unknown>,
  create: (ctx: CallbackContext) => CallbackHooks,
): CallbackSpec {
  return Object.freeze({ [CALLBACK_BRAND]: true as const, class_name, config: Object.freeze(config), create });
}

/** R's callback_lambda arguments: a function per hook. */
const HOOK_PROPS = Object.fromEntries(USER_HOOK_NAMES.map((n) => [n, Fn]));

/** User hooks (R's callback_lambda arguments): called with (epoch|batch, logs) or (logs). */
function userHooks(rec: Record<string, unknown>): CallbackHooks {
  const hooks: Record<string, unknown> = {};
  for (const name of HOOK_NAMES) if (typeof rec[name] === "function") hooks[name] = rec[name];
  if (!hooks.on_train_batch_begin && typeof rec.on_batch_begin === "function")
    hooks.on_train_batch_begin = rec.on_batch_begin;
  if (!hooks.on_train_batch_end && typeof rec.on_batch_end === "function") hooks.on_train_batch_end = rec.on_batch_end;
  return hooks as CallbackHooks;
}

/**
 * `callback_lambda({ on_epoch_end: (epoch, logs) => ..., ... })`; epochs and batches are 0-based as in Keras.
 *
 * @example
 * callback_lambda({ on_epoch_end: (epoch, logs) => console.log(epoch, logs.loss) });
 */
export function callback_lambda(
  args: Omit<CallbackHooks, "extraEpochLogs"> & {
    /** R keras 2's name of `on_train_batch_begin`. */
    on_batch_begin?: Hook<[number, Logs]>;
    /** R keras 2's name of `on_train_batch_end`. */
    on_batch_end?: Hook<[number, Logs]>;
  },
): CallbackSpec {
  refuseArgumentsPast("callback_lambda", ["args"], arguments);
  const a = decodeArgs("callback_lambda", HOOK_PROPS, args, {});
  return makeCallback("LambdaCallback", { ...a }, () => userHooks(a));
}

/**
 * `hooks` with each one's throw turned into an ArgumentError naming `what`, the hook and its epoch or
 * batch (the user's error kept as `cause`); a KerasError of a built-in callback passes unchanged.
 */
function guarded(hooks: CallbackHooks, what: string): CallbackHooks {
  const out: Record<string, unknown> = { ...hooks };
  for (const name of HOOK_NAMES) {
    const f = hooks[name] as ((...a: unknown[]) => unknown) | undefined;
    if (!f) continue;
    const at = (args: unknown[]) =>
      /epoch/.test(name) ? `epoch = ${args[0]}` : /batch/.test(name) ? `batch = ${args[0]}` : "";
    out[name] = async (...args: unknown[]) => {
      try {
        return await f.apply(hooks, args);
      } catch (e) {
        if (e instanceof KerasError || e instanceof ArgumentError) throw e;
        throw new ArgumentError(
          `${what}: \`${name}(${at(args)})\` failed: ${(e as Error)?.message ?? describeValue(e)}`,
          {
            cause: e,
          },
        );
      }
    };
  }
  return out as CallbackHooks;
}

/** The hooks of one entry of `callbacks`: a callback_*() value or a record of on_* functions. */
export function hooksOf(fn: string, entry: unknown, index: number, ctx: CallbackContext): CallbackHooks {
  const what = `\`callbacks[[${index + 1}]]\``;
  if (isCallback(entry)) return guarded(entry.create(ctx), what);
  if (isPlainRecord(entry)) {
    const r = checkArgs(HOOK_PROPS, entry, {});
    if (r.problems) throw new KerasError(fn, `${what}: ${problemList(r.problems)}`);
    return guarded(userHooks(r.value), what);
  }
  throw new KerasError(
    fn,
    `${what} must be a callback_*() value or a record of on_* functions, got ${describeValue(entry)}`,
  );
}

/** Fires hooks in list order, awaiting each (user hooks may be async). */
export class CallbackList {
  constructor(private readonly hooks: readonly CallbackHooks[]) {}
  async fire<N extends HookName>(name: N, ...args: Parameters<NonNullable<CallbackHooks[N]>>): Promise<void> {
    for (const h of this.hooks) {
      const f = h[name] as ((...a: unknown[]) => unknown) | undefined;
      if (f) await f.apply(h, args);
    }
  }

  /** Whether any callback has hook `name` (a batch's logs are built only for one that reads them). */
  has(name: HookName): boolean {
    return this.hooks.some((h) => h[name] !== undefined);
  }

  /** The entries the callbacks add to epoch `epoch`'s logs. */
  extraEpochLogs(epoch: number): Logs {
    return Object.assign({}, ...this.hooks.map((h) => h.extraEpochLogs?.(epoch) ?? {}));
  }
}

// ---------------------------------------------------------------------------------------------
// Monitoring helpers

export type Mode = "auto" | "min" | "max";

export function monitorDirection(fn: string, ctx: CallbackContext, monitor: string, mode: Mode): "up" | "down" {
  if (mode === "min") return "down";
  if (mode === "max") return "up";
  const dir = ctx.metricDirection(monitor);
  if (dir) return dir;
  throw new KerasError(
    fn,
    `cannot tell whether \`${monitor}\` should go up or down; give \`mode = "min"\` or \`"max"\``,
  );
}

const warned = new Set<string>();
function warnMissing(fn: string, monitor: string, logs: Logs): void {
  const key = `${fn}:${monitor}:${Object.keys(logs).join(",")}`;
  if (warned.has(key)) return;
  warned.add(key);
  process.emitWarning(
    `${fn}(): the monitored value \`${monitor}\` is not in the logs (available: ${Object.keys(logs).join(", ") || "none"})`,
    "KerasWarning",
  );
}

export const MonitorMode = OneOf("auto", "min", "max");
export const Verbose01 = described(t.union([t.literal(0), t.literal(1), t.boolean]), "0 or 1");
export const asVerbose = (v: unknown) => (v === true || v === 1 ? 1 : 0);

/**
 * `callback_early_stopping()`: Keras 3 EarlyStopping, restoring the best weights at the end when asked.
 *
 * @example
 * await fit(model, x, y, { epochs: 100, validation_split: 0.2, callbacks: [callback_early_stopping({ patience: 3 })] });
 */
export function callback_early_stopping(
  args: {
    monitor?: string;
    min_delta?: number;
    patience?: number;
    verbose?: number | boolean;
    mode?: Mode;
    baseline?: number | null;
    restore_best_weights?: boolean;
    start_from_epoch?: number;
  } = {},
): CallbackSpec {
  const fn = "callback_early_stopping";
  refuseArgumentsPast(fn, ["args"], arguments);
  const a = decodeArgs(
    fn,
    {
      monitor: Str,
      min_delta: Num,
      patience: NonNegativeInt,
      verbose: Verbose01,
      mode: MonitorMode,
      baseline: Nullable(Num),
      restore_best_weights: Bool,
      start_from_epoch: NonNegativeInt,
    },
    args,
    {
      monitor: "val_loss",
      min_delta: 0,
      patience: 0,
      verbose: 0,
      mode: "auto" as Mode,
      baseline: null,
      restore_best_weights: false,
      start_from_epoch: 0,
    },
  );
  return makeCallback("EarlyStopping", a, (ctx) => {
    let better: (current: number, reference: number) => boolean;
    let wait = 0;
    let stoppedEpoch = 0;
    let best: number | null = null;
    let bestWeights: Float32Array[][] | null = null;
    let bestEpoch = 0;
    const isImprovement = (v: number, ref: number | null) => ref === null || better(v, ref);
    return {
      on_train_begin: () => {
        const up = monitorDirection(fn, ctx, a.monitor, a.mode) === "up";
        const delta = Math.abs(a.min_delta);
        better = up ? (v, ref) => v - delta > ref : (v, ref) => v + delta < ref;
        wait = 0;
        stoppedEpoch = 0;
        best = null;
        bestWeights = null;
        bestEpoch = 0;
      },
      on_epoch_end: (epoch, logs) => {
        const current = logs[a.monitor];
        if (current === undefined) return warnMissing(fn, a.monitor, logs);
        if (epoch < a.start_from_epoch) return;
        if (a.restore_best_weights && bestWeights === null) {
          bestWeights = ctx.getWeights();
          bestEpoch = epoch;
        }
        wait += 1;
        if (isImprovement(current, best)) {
          best = current;
          bestEpoch = epoch;
          if (a.restore_best_weights) bestWeights = ctx.getWeights();
          if (a.baseline === null || isImprovement(current, a.baseline)) wait = 0;
          return;
        }
        if (wait >= a.patience && epoch > 0) {
          stoppedEpoch = epoch;
          ctx.stopTraining = true;
        }
      },
      on_train_end: () => {
        const verbose = asVerbose(a.verbose);
        if (stoppedEpoch > 0 && verbose) ctx.io.write(`Epoch ${stoppedEpoch + 1}: early stopping\n`);
        if (a.restore_best_weights && bestWeights) {
          if (verbose) ctx.io.write(`Restoring model weights from the end of the best epoch: ${bestEpoch + 1}.\n`);
          ctx.setWeights(bestWeights);
        }
      },
    };
  });
}

/**
 * `callback_reduce_lr_on_plateau()`: Keras 3 ReduceLROnPlateau (adds `learning_rate` to the epoch logs).
 *
 * @example
 * await fit(model, x, y, { epochs: 50, validation_split: 0.2, callbacks: [callback_reduce_lr_on_plateau({ factor: 0.5, patience: 2 })] });
 */
export function callback_reduce_lr_on_plateau(
  args: {
    monitor?: string;
    factor?: number;
    patience?: number;
    verbose?: number | boolean;
    mode?: Mode;
    min_delta?: number;
    cooldown?: number;
    min_lr?: number;
  } = {},
): CallbackSpec {
  const fn = "callback_reduce_lr_on_plateau";
  refuseArgumentsPast(fn, ["args"], arguments);
  const a = decodeArgs(
    fn,
    {
      monitor: Str,
      factor: NonNegativeNum,
      patience: NonNegativeInt,
      verbose: Verbose01,
      mode: MonitorMode,
      min_delta: NonNegativeNum,
      cooldown: NonNegativeInt,
      min_lr: NonNegativeNum,
    },
    args,
    {
      monitor: "val_loss",
      factor: 0.1,
      patience: 10,
      verbose: 0,
      mode: "auto" as Mode,
      min_delta: 1e-4,
      cooldown: 0,
      min_lr: 0,
    },
  );
  if (a.factor >= 1)
    throw new KerasError(fn, `\`factor\` must be below 1 (it multiplies the learning rate), got ${a.factor}`);
  return makeCallback("ReduceLROnPlateau", a, (ctx) => {
    let better: (v: number, best: number) => boolean;
    let best = Infinity;
    let wait = 0;
    let cooldownCounter = 0;
    return {
      on_train_begin: () => {
        const up = monitorDirection(fn, ctx, a.monitor, a.mode) === "up";
        better = up ? (v, b) => v > b + a.min_delta : (v, b) => v < b - a.min_delta;
        best = up ? -Infinity : Infinity;
        wait = 0;
        cooldownCounter = 0;
      },
      extraEpochLogs: () => ({ learning_rate: ctx.learningRate(fn) }),
      on_epoch_end: (epoch, logs) => {
        const current = logs[a.monitor];
        if (current === undefined) return warnMissing(fn, a.monitor, logs);
        if (cooldownCounter > 0) {
          cooldownCounter -= 1;
          wait = 0;
        }
        if (better(current, best)) {
          best = current;
          wait = 0;
        } else if (!(cooldownCounter > 0)) {
          wait += 1;
          if (wait >= a.patience) {
            const old = ctx.learningRate(fn);
            if (old > Math.fround(a.min_lr)) {
              const lr = Math.max(old * a.factor, a.min_lr);
              ctx.setLearningRate(fn, lr);
              if (asVerbose(a.verbose))
                ctx.io.write(`\nEpoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${lr}.\n`);
              cooldownCounter = a.cooldown;
              wait = 0;
            }
          }
        }
      },
    };
  });
}

/**
 * Decodes a callback's arguments when its first one may also be named in the record, as R allows
 * (`callback_csv_logger(filename = "log.csv")`): `f(record)` or `f(first, record)`; `unused` are the
 * arguments past those two, refused.
 */
function decodeWithFirst<D extends Record<string, unknown>>(
  fn: string,
  first: string,
  props: Props,
  a: unknown,
  b: unknown,
  unused: readonly unknown[],
  defaults: D,
): D & Record<string, unknown> {
  refuseUnusedArguments(fn, 3, unused, `${fn}(${first}, args) or ${fn}(args)`);
  if (isPlainRecord(a) && b === undefined) return decodeArgs(fn, props, a, defaults, [first]);
  const { [first]: codec, ...rest } = props;
  return decodeCall(fn, { [first]: [codec, a] }, b, rest, defaults);
}

type Schedule = (epoch: number, lr: number) => number;
const SCHEDULER_PROPS = {
  /** `(epoch, lr) => new learning rate`, epoch 0-based. */
  schedule: described(Fn, "a function (epoch, lr) => new learning rate"),
  /** 1: print the rate set at each epoch. */
  verbose: Verbose01,
};

/**
 * `callback_learning_rate_scheduler(schedule, { verbose })` or `callback_learning_rate_scheduler({ schedule, verbose })`:
 * `schedule(epoch, lr)` (epoch 0-based) sets the rate at each epoch's start.
 *
 * @example
 * const halve = callback_learning_rate_scheduler({ schedule: (epoch, lr) => (epoch > 0 ? lr / 2 : lr) });
 */
export function callback_learning_rate_scheduler(
  schedule: Schedule,
  args?: { verbose?: 0 | 1 | boolean },
): CallbackSpec;
export function callback_learning_rate_scheduler(args: { schedule: Schedule; verbose?: 0 | 1 | boolean }): CallbackSpec;
export function callback_learning_rate_scheduler(first: unknown, rest?: unknown, ...unused: unknown[]): CallbackSpec {
  const fn = "callback_learning_rate_scheduler";
  const a = decodeWithFirst(fn, "schedule", SCHEDULER_PROPS, first, rest, unused, { verbose: 0 });
  const schedule = a.schedule as Schedule;
  return makeCallback("LearningRateScheduler", { schedule, ...a }, (ctx) => ({
    on_epoch_begin: (epoch) => {
      const lr = schedule(epoch, ctx.learningRate(fn));
      if (typeof lr !== "number" || !Number.isFinite(lr))
        throw new KerasError(fn, `\`schedule\` must return a number, got ${describeValue(lr)} at epoch ${epoch}`);
      ctx.setLearningRate(fn, lr);
      if (asVerbose(a.verbose))
        ctx.io.write(`\nEpoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${lr}.\n`);
    },
    extraEpochLogs: () => ({ learning_rate: ctx.learningRate(fn) }),
  }));
}

/**
 * `callback_terminate_on_nan()`: stops training when a batch's loss is NaN or infinite.
 *
 * @example
 * await fit(model, x, y, { epochs: 10, callbacks: [callback_terminate_on_nan()] });
 */
export function callback_terminate_on_nan(): CallbackSpec {
  refuseArgumentsPast("callback_terminate_on_nan", [], arguments);
  return makeCallback("TerminateOnNaN", {}, (ctx) => ({
    on_train_batch_end: (batch, logs) => {
      const loss = logs.loss;
      if (loss !== undefined && !Number.isFinite(loss)) {
        ctx.io.write(`Batch ${batch}: Invalid loss, terminating training\n`);
        ctx.stopTraining = true;
      }
    },
  }));
}

const CSV_LOGGER_PROPS = {
  /** The CSV file written (atomically) at each epoch's end. */
  filename: FilePath,
  /** The field separator. */
  separator: Str,
  /** Append to an existing file (its header is kept). */
  append: Bool,
};

/**
 * `callback_csv_logger(filename, { separator, append })` or `callback_csv_logger({ filename, separator, append })`:
 * one row per epoch (0-based `epoch`, then the logs sorted by name).
 *
 * @example
 * const logger = callback_csv_logger({ filename: "training.csv", append: true });
 */
export function callback_csv_logger(filename: string, args?: { separator?: string; append?: boolean }): CallbackSpec;
export function callback_csv_logger(args: { filename: string; separator?: string; append?: boolean }): CallbackSpec;
export function callback_csv_logger(first: unknown, rest?: unknown, ...unused: unknown[]): CallbackSpec {
  const fn = "callback_csv_logger";
  const a = decodeWithFirst(fn, "filename", CSV_LOGGER_PROPS, first, rest, unused, {
    separator: ",",
    append: false,
  });
  const filename = a.filename as string;
  return makeCallback("CSVLogger", { filename, ...a }, () => {
    let content = "";
    let keys: string[] | null = null;
    let headerWritten = false;
    const cell = (v: unknown) => (v === undefined ? "NA" : String(v));
    return {
      on_train_begin: async () => {
        content = "";
        keys = null;
        headerWritten = false;
        if (a.append) {
          try {
            content = await readFile(filename, "utf8");
            headerWritten = content.length > 0;
            if (content.length && !content.endsWith("\n")) content += "\n";
          } catch {
            content = "";
          }
        }
      },
      on_epoch_end: async (epoch, logs) => {
        if (!keys) keys = Object.keys(logs).sort();
        if (!headerWritten) {
          content += ["epoch", ...keys].join(a.separator) + "\n";
          headerWritten = true;
        }
        content += [String(epoch), ...keys.map((k) => cell(logs[k]))].join(a.separator) + "\n";
        await writeFileAtomic(fn, filename, content);
      },
    };
  });
}

/**
 * `callback_progbar_logger()`: the Keras 3 progress bar (fit adds one by default when verbose > 0).
 *
 * @example
 * await fit(model, x, y, { epochs: 5, verbose: 0, callbacks: [callback_progbar_logger()] });
 */
export function callback_progbar_logger(
  args: { count_mode?: "steps"; stateful_metrics?: string[] | null } = {},
): CallbackSpec {
  const fn = "callback_progbar_logger";
  refuseArgumentsPast(fn, ["args"], arguments);
  const a = decodeArgs(
    fn,
    { count_mode: OneOf("steps"), stateful_metrics: Nullable(described(t.array(t.string), "a vector of names")) },
    args,
    { count_mode: "steps", stateful_metrics: null },
  );
  return makeCallback("ProgbarLogger", a, (ctx) => progbarHooks(ctx));
}

export const PROGBAR_CLASS = "ProgbarLogger";

/** The progress bar's hooks (Keras 3 ProgbarLogger): a bar per epoch in fit, one for evaluate / predict. */
export function progbarHooks(ctx: CallbackContext): CallbackHooks {
  let bar: Progbar | null = null;
  let inFit = false;
  const verbose = () => ctx.params.verbose;
  const newBar = () => {
    const v = verbose();
    bar =
      v === 0
        ? null
        : new Progbar(
            Math.max(ctx.params.steps, 1),
            v,
            ctx.io,
            0.05,
            ctx.io !== defaultProgressIO || process.stdout.isTTY === true,
          );
  };
  const entries = (logs: Logs) => Object.entries(logs).filter(([, v]) => typeof v === "number") as [string, number][];
  return {
    on_train_begin: () => {
      inFit = true;
    },
    on_train_end: () => {
      inFit = false;
    },
    on_epoch_begin: (epoch) => {
      if (verbose() && ctx.params.epochs > 1) ctx.io.write(`Epoch ${epoch + 1}/${ctx.params.epochs}\n`);
      newBar();
    },
    on_train_batch_end: (batch, logs) => bar?.update(batch + 1, entries(logs)),
    on_epoch_end: (_epoch, logs) => bar?.update(ctx.params.steps, entries(logs), true),
    on_test_begin: () => {
      if (!inFit) newBar();
    },
    on_test_batch_end: (batch, logs) => {
      if (!inFit) bar?.update(batch + 1, entries(logs));
    },
    on_test_end: (logs) => {
      if (!inFit) bar?.update(ctx.params.steps, entries(logs), true);
    },
    on_predict_begin: () => newBar(),
    on_predict_batch_end: (batch) => bar?.update(batch + 1, []),
    on_predict_end: () => bar?.update(ctx.params.steps, [], true),
  };
}
