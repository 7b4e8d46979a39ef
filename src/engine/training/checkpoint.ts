/**
 * The callbacks that write the model during fit():
 * - `callback_model_checkpoint()`: Keras 3's ModelCheckpoint — the model (`.keras`, legacy `.h5`) or its
 *   weights (`.weights.h5`) at each epoch's end or every `save_freq` batches, the path filled in from
 *   Python-style placeholders (`"ckpt-{epoch:02d}-{val_loss:.2f}.keras"`), optionally only when the
 *   monitored value improves; files are replaced (as Keras does), atomically.
 * - `callback_backup_and_restore()`: Keras 3's BackupAndRestore — a backup of the training state in
 *   `backup_dir`, so that a fit killed mid-way and started again with the same callback resumes where
 *   the backup was taken; deleted when fit ends, unless `delete_checkpoint = FALSE`.
 * A checkpoint holds the weights and optimizer state of the moment it is taken (a snapshot of the
 * running training, which goes on undisturbed).
 */
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as t from "io-ts";
import { KerasError, describeValue } from "../../errors.js";
import { Bool, Nullable, Num, OneOf, PositiveInt, decodeArgs, described, refuseArgumentsPast } from "../../args.js";
import type { Model } from "../../model/model.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { readHdf5 } from "../../io/hdf5.js";
import { WEIGHTS_ENTRY, hasZipSignature, parseJsonEntry, unpackArchive } from "../../io/keras_archive.js";
import { readKerasWeights, readOptimizerState } from "../../io/keras_weights.js";
import { kerasArchive, kerasWeightsFile, legacyModelFile } from "../../io/model_files.js";
import { isTrainingSetup } from "./setup.js";
import { pythonFormat, type PyNumber } from "./python_format.js";
import {
  MonitorMode,
  Verbose01,
  asVerbose,
  makeCallback,
  monitorDirection,
  type CallbackContext,
  type CallbackSpec,
  type Logs,
  type Mode,
  type TrainingPoint,
} from "./callbacks.js";

const SaveFreq = described(t.union([OneOf("epoch"), PositiveInt]), '"epoch" or a positive integer (batches)');
const Path = described(
  t.refinement(t.string, (s) => s.length > 0),
  "a file path (a non-empty string)",
);

/** Counts batches across epochs as Keras does: true every `every` batches. */
function batchCounter(every: number): (batch: number) => boolean {
  let seen = 0;
  let last: number | null = null;
  return (batch) => {
    seen += last === null || batch <= last ? batch + 1 : batch - last;
    last = batch;
    if (seen < every) return false;
    seen = 0;
    return true;
  };
}

/** The model file of a checkpoint path: by its extension, as Keras 3 writes it. */
async function modelFileBytes(fn: string, model: Model, path: string, weightsOnly: boolean): Promise<Uint8Array> {
  if (weightsOnly) return kerasWeightsFile(fn, model);
  return /\.keras$/i.test(path) ? kerasArchive(fn, model, true) : legacyModelFile(fn, model, true);
}

async function writeCheckpoint(fn: string, path: string, bytes: Uint8Array): Promise<void> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true }).catch((e: Error) => {
    throw new KerasError(fn, `cannot create the folder "${folder}": ${e.message}`, "io");
  });
  const existing = await stat(path).catch(() => null);
  if (existing?.isDirectory())
    throw new KerasError(
      fn,
      `Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing directory: ${path}`,
      "io",
    );
  await writeFileAtomic(fn, path, bytes);
}

export interface ModelCheckpointArgs {
  /** The log to watch with `save_best_only` (default "val_loss"). */
  monitor?: string;
  /** 1: Keras's messages when saving (default 0). */
  verbose?: 0 | 1 | boolean;
  /** Save only when `monitor` improves on the best so far (default FALSE). */
  save_best_only?: boolean;
  /** Save the weights only (`filepath` must end in ".weights.h5"; default FALSE). */
  save_weights_only?: boolean;
  /** Whether `monitor` should go down ("min") or up ("max"); "auto" tells from its name (default). */
  mode?: Mode;
  /** "epoch" (default): at each epoch's end; an integer n: every n batches. */
  save_freq?: "epoch" | number;
  /** With `save_best_only`: the value to beat first (default NULL: the first value is saved). */
  initial_value_threshold?: number | null;
}

/**
 * `callback_model_checkpoint(filepath, { monitor = "val_loss", verbose = 0, save_best_only = FALSE,
 * save_weights_only = FALSE, mode = "auto", save_freq = "epoch", initial_value_threshold = NULL })`:
 * Keras 3's ModelCheckpoint. `filepath` may hold Python-style placeholders filled in at each save:
 * `{epoch}` (1-based, as Keras), `{batch}` (1-based, with an integer `save_freq`) and any log
 * (`{loss}`, `{val_loss:.2f}`), with Python's format specs. It must end in ".keras" or ".h5" (the
 * whole model, with its optimizer state), or with `save_weights_only` in ".weights.h5".
 *
 * @example
 * const checkpoint = callback_model_checkpoint("ckpt-{epoch:02d}-{val_loss:.2f}.keras", { save_best_only: true });
 * const { model: trained } = await fit(model, x, y, { epochs: 10, validation_split: 0.2, callbacks: [checkpoint] });
 */
export function callback_model_checkpoint(filepath: string, args: ModelCheckpointArgs = {}): CallbackSpec {
  const fn = "callback_model_checkpoint";
  refuseArgumentsPast(fn, ["filepath", "args"], arguments);
  if (args !== undefined && args !== null && (typeof args !== "object" || Array.isArray(args)))
    throw new KerasError(fn, `the options must be a record of named arguments, got ${describeValue(args)}`);
  const a = decodeArgs(
    fn,
    {
      filepath: Path,
      monitor: described(t.string, "a log name (a string)"),
      verbose: Verbose01,
      save_best_only: Bool,
      save_weights_only: Bool,
      mode: MonitorMode,
      save_freq: SaveFreq,
      initial_value_threshold: Nullable(Num),
    },
    { ...(args ?? {}), filepath },
    {
      monitor: "val_loss",
      verbose: 0,
      save_best_only: false,
      save_weights_only: false,
      mode: "auto" as Mode,
      save_freq: "epoch" as "epoch" | number,
      initial_value_threshold: null as number | null,
    },
    ["filepath"],
  );
  const path: string = a.filepath;
  if (a.save_weights_only && !/\.weights\.h5$/.test(path))
    throw new KerasError(
      fn,
      `When using \`save_weights_only = TRUE\`, the filepath provided must end in \`.weights.h5\` (Keras weights format). Received: filepath=${path}`,
    );
  if (!a.save_weights_only && !/\.(keras|h5)$/.test(path))
    throw new KerasError(
      fn,
      `The filepath provided must end in \`.keras\` (Keras model format) or \`.h5\` (legacy HDF5). Received: filepath=${path}`,
    );
  return makeCallback("ModelCheckpoint", { ...a }, (ctx) => {
    const verbose = asVerbose(a.verbose);
    let epochNow = 0;
    let best: number | null = a.initial_value_threshold;
    let better: ((v: number, ref: number) => boolean) | null = null;
    const due = typeof a.save_freq === "number" ? batchCounter(a.save_freq) : null;
    const say = (text: string) => verbose && ctx.io.write(`\n${text}\n`);
    const fileName = (epoch: number, batch: number | null, logs: Logs) => {
      const values: Record<string, PyNumber> = {};
      for (const [k, v] of Object.entries(logs)) values[k] = { float: v };
      values.epoch = { int: epoch + 1 };
      if (batch !== null && !("batch" in logs)) values.batch = { int: batch + 1 };
      return pythonFormat(fn, path, values);
    };
    const shouldSave = (epoch: number, logs: Logs, file: string): boolean => {
      if (!a.save_best_only) {
        say(`Epoch ${epoch + 1}: saving model to ${file}`);
        return true;
      }
      const current = logs[a.monitor];
      if (current === undefined) {
        process.emitWarning(`${fn}(): Can save best model only with ${a.monitor} available.`, "KerasWarning");
        return true;
      }
      better ??= monitorDirection(fn, ctx, a.monitor, a.mode) === "up" ? (v, r) => v > r : (v, r) => v < r;
      const bestText = best === null ? "None" : best.toFixed(5);
      if (best === null || better(current, best)) {
        say(
          `Epoch ${epoch + 1}: ${a.monitor} improved from ${bestText} to ${current.toFixed(5)}, saving model to ${file}`,
        );
        best = current;
        return true;
      }
      say(`Epoch ${epoch + 1}: ${a.monitor} did not improve from ${bestText}`);
      return false;
    };
    const save = async (epoch: number, batch: number | null, logs: Logs) => {
      const file = fileName(epoch, batch, logs);
      if (!shouldSave(epoch, logs, file)) return;
      await writeCheckpoint(fn, file, await modelFileBytes(fn, ctx.snapshotModel(), file, a.save_weights_only));
      say(`Epoch ${epoch + 1}: finished saving model to ${file}`);
    };
    return {
      on_epoch_begin: (epoch) => {
        epochNow = epoch;
      },
      on_train_batch_end: async (batch, logs) => {
        if (due?.(batch)) await save(epochNow, batch, logs);
      },
      on_epoch_end: async (epoch, logs) => {
        if (a.save_freq === "epoch") await save(epoch, null, logs);
      },
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Backup and restore

/** The backup file in `backup_dir`: a .keras archive (weights, optimizer state) plus where training was. */
const BACKUP_FILE = "training_state.keras";
const POINT_ENTRY = "training_metadata.json";

/** The weights of a model value per layer (in the runtime's order: every layer's weights, in weight order). */
const layerWeights = (model: Model): Float32Array[][] =>
  model.layers.map((l) => (l.weightValues ?? []).map((w) => w.values));

async function readBackup(
  fn: string,
  ctx: CallbackContext,
  file: string,
): Promise<{ weights: Float32Array[][]; model: Model; point: TrainingPoint }> {
  const what = `the backup "${file}"`;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    throw new KerasError(fn, `cannot read ${what}: ${(e as Error).message}`, "io");
  }
  if (!hasZipSignature(bytes)) throw new KerasError(fn, `${what} is not a backup written by this callback`, "io");
  const entries = await unpackArchive(fn, what, bytes, (n) => n === WEIGHTS_ENTRY || n === POINT_ENTRY);
  const weights = entries.get(WEIGHTS_ENTRY);
  const point = entries.get(POINT_ENTRY);
  if (!weights || !point)
    throw new KerasError(fn, `${what} is incomplete (no ${!weights ? WEIGHTS_ENTRY : POINT_ENTRY})`, "io");
  const model = await readHdf5(fn, `${WEIGHTS_ENTRY} in ${what}`, weights, (f) => {
    const loaded = readKerasWeights(f, fn, what, ctx.model, false).model;
    return readOptimizerState(f, fn, loaded);
  });
  const snapshot = ctx.snapshotModel();
  const shapes = (m: Model) => JSON.stringify(m.layers.map((l) => (l.weightValues ?? []).map((w) => w.shape)));
  if (shapes(model) !== shapes(snapshot))
    throw new KerasError(fn, `${what} holds the weights of another model: use another backup_dir`, "io");
  return { weights: layerWeights(model), model, point: parseJsonEntry(fn, what, point) as TrainingPoint };
}

export interface BackupAndRestoreArgs {
  /** "epoch" (default): back up at each epoch's end; an integer n: every n batches. */
  save_freq?: "epoch" | number;
  /** Delete the backup when fit() ends (default TRUE). */
  delete_checkpoint?: boolean;
}

/**
 * `callback_backup_and_restore(backup_dir, { save_freq = "epoch", delete_checkpoint = TRUE })`: Keras 3's
 * BackupAndRestore. Backs up the training state in `backup_dir` (weights, optimizer state, the epoch
 * and batch, the batch order and set_random_seed()'s random stream) at each epoch's end or every
 * `save_freq` batches; a fit() started again with the same callback after an interruption (an error,
 * the process killed) resumes from the backup — mid-epoch too — and, with set_random_seed() called as
 * before, gives the weights an uninterrupted run gives. The backup is deleted when fit() ends unless
 * `delete_checkpoint = FALSE`. The folder is this callback's: do not share it with other runs.
 *
 * @example
 * // run it again after a crash: fit() resumes where the backup left off
 * await fit(model, x, y, { epochs: 50, callbacks: [callback_backup_and_restore("backup")] });
 */
export function callback_backup_and_restore(backup_dir: string, args: BackupAndRestoreArgs = {}): CallbackSpec {
  const fn = "callback_backup_and_restore";
  refuseArgumentsPast(fn, ["backup_dir", "args"], arguments);
  if (args !== undefined && args !== null && (typeof args !== "object" || Array.isArray(args)))
    throw new KerasError(fn, `the options must be a record of named arguments, got ${describeValue(args)}`);
  const a = decodeArgs(
    fn,
    { backup_dir: Path, save_freq: SaveFreq, delete_checkpoint: Bool },
    { ...(args ?? {}), backup_dir },
    { save_freq: "epoch" as "epoch" | number, delete_checkpoint: true },
    ["backup_dir"],
  );
  const dir: string = a.backup_dir;
  const file = join(dir, BACKUP_FILE);
  return makeCallback("BackupAndRestore", { ...a }, (ctx) => {
    const due = typeof a.save_freq === "number" ? batchCounter(a.save_freq) : null;
    const backup = async () => {
      if (!isTrainingSetup(ctx.model.compiled)) return;
      const point = new TextEncoder().encode(JSON.stringify(ctx.trainingPoint()));
      const bytes = await kerasArchive(fn, ctx.snapshotModel(), true, [[POINT_ENTRY, point]]);
      await mkdir(dir, { recursive: true }).catch((e: Error) => {
        throw new KerasError(fn, `cannot create the folder "${dir}": ${e.message}`, "io");
      });
      await writeFileAtomic(fn, file, bytes);
    };
    return {
      on_train_begin: async () => {
        if (!(await stat(file).catch(() => null))) return;
        const { weights, model, point } = await readBackup(fn, ctx, file);
        const setup = model.compiled;
        ctx.resumeFrom(weights, isTrainingSetup(setup) ? (setup.optimizerState ?? null) : null, point);
      },
      on_train_batch_end: async (batch) => {
        if (due?.(batch)) await backup();
      },
      on_epoch_end: async () => {
        if (a.save_freq === "epoch") await backup();
      },
      on_train_end: async () => {
        if (a.delete_checkpoint) await rm(dir, { recursive: true, force: true });
      },
    };
  });
}
