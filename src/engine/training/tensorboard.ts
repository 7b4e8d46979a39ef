/**
 * `callback_tensorboard()`: Keras 3's TensorBoard callback writing TensorBoard event files (io/tfevents.ts)
 * with Keras's tags, folders and steps:
 * - `<log_dir>/train`: `epoch_<log>` for each training log plus `epoch_learning_rate` at step = epoch
 *   (0-based); `batch_<log>` at step = the run's global batch number (1-based) every `update_freq`
 *   batches; the model config as the `keras` summary of the graph_keras_model plugin at step 0 (TensorBoard's
 *   Graphs tab draws the layer graph from it); weight histograms `[<model>/]<layer>/<weight>/histogram`
 *   (the model's name for sequential models, as Keras's weight paths) every `histogram_freq` epochs, and
 *   with `write_images` the weights as images `.../<weight>/image` beside them.
 * - `<log_dir>/validation`: `epoch_<log>` of the `val_` logs (prefix dropped) at step = epoch, and
 *   `evaluation_<log>_vs_iterations` at step = the optimizer's iteration count after each test run
 *   (validation in fit, or evaluate()).
 * One difference from Keras 3.15, on purpose: with an integer `update_freq`, Keras's batch-level
 * `record_if` also silences the epoch-level summaries of epochs whose last global batch is not a multiple
 * of `update_freq` (they go missing from TensorBoard); here epoch summaries are always written.
 */
import { join } from "node:path";
import * as t from "io-ts";
import { KerasError, describeValue } from "../../errors.js";
import {
  Bool,
  NonNegativeInt,
  Nullable,
  OneOf,
  PositiveInt,
  RecordOf,
  Str,
  decodeArgs,
  described,
  refuseArgumentsPast,
} from "../../args.js";
import { EventFileWriter, IMAGES_PLUGIN, KERAS_GRAPH_PLUGIN, histogramBuckets } from "../../io/tfevents.js";
import { encodePng } from "../../io/png.js";
import { kerasJson, modelToKeras3 } from "../../io/keras3_config.js";
import { makeCallback, type CallbackSpec, type Logs } from "./callbacks.js";

const FN = "callback_tensorboard";

const UpdateFreq = described(t.union([OneOf("batch", "epoch"), PositiveInt]), '"batch", "epoch" or a positive integer');
const ProfileBatch = described(
  t.union([NonNegativeInt, t.tuple([NonNegativeInt, NonNegativeInt]), t.string]),
  'a non-negative integer, a pair of them, or "start,stop"',
);
const EmbeddingsMetadata = Nullable(
  described(
    t.union([t.string, RecordOf(t.string, "a record of file names by layer")]),
    "a file name or a record of file names by layer",
  ),
);

const TENSORBOARD_PROPS = {
  log_dir: Str,
  histogram_freq: NonNegativeInt,
  write_graph: Bool,
  write_images: Bool,
  write_steps_per_second: Bool,
  update_freq: UpdateFreq,
  profile_batch: ProfileBatch,
  embeddings_freq: NonNegativeInt,
  embeddings_metadata: EmbeddingsMetadata,
};

export interface TensorBoardArgs {
  /** Where to write: `<log_dir>/train` and `<log_dir>/validation` (default "logs"). */
  log_dir?: string;
  /** Weight histograms every this many epochs (0: none). */
  histogram_freq?: number;
  /** Write the model config for TensorBoard's Graphs tab (default TRUE). */
  write_graph?: boolean;
  /** With histograms, also each weight as an image (`<weight>/image`), as Keras draws it. */
  write_images?: boolean;
  /** Also log `steps_per_second` (per epoch) and `batch_steps_per_second` (with batch-level logging). */
  write_steps_per_second?: boolean;
  /** "epoch" (default), "batch" (every batch) or N (every N batches): how often batch-level logs are written. */
  update_freq?: "batch" | "epoch" | number;
  /** Profiling: not supported (must be 0). */
  profile_batch?: number | [number, number] | string;
  /** Embedding projector: not supported (must be 0). */
  embeddings_freq?: number;
  embeddings_metadata?: string | Record<string, string> | null;
}

/** The profiled batch range from Keras's forms (n, [start, stop], "start,stop"); [0, 0] means none. */
function profileRange(v: number | [number, number] | string): [number, number] | null {
  if (typeof v === "number") return [v, v];
  if (Array.isArray(v)) return v;
  const parts = v.split(",").map((s) => Number(s.trim()));
  if (parts.length === 1 && Number.isInteger(parts[0])) return [parts[0], parts[0]];
  if (parts.length === 2 && parts.every((n) => Number.isInteger(n))) return [parts[0], parts[1]];
  return null;
}

function checkUnsupported(a: Required<TensorBoardArgs>): void {
  const range = profileRange(a.profile_batch);
  if (!range || range[0] < 0 || range[1] < range[0])
    throw new KerasError(
      FN,
      `\`profile_batch\` must be a non-negative integer or a pair of them (start <= stop), got ${describeValue(a.profile_batch)}`,
    );
  if (range[1] > 0)
    throw new KerasError(
      FN,
      "`profile_batch` must be 0: profiling needs TensorFlow's profiler, which TensorFlow.js does not have (Keras refuses it on its torch and numpy backends too)",
    );
  if (a.embeddings_freq > 0)
    throw new KerasError(
      FN,
      "`embeddings_freq` must be 0: TensorBoard's embedding projector reads TensorFlow checkpoints, which this package does not write",
    );
}

/**
 * `callback_tensorboard(log_dir = "logs", { histogram_freq = 0, write_graph = TRUE, write_images = FALSE,
 * write_steps_per_second = FALSE, update_freq = "epoch", profile_batch = 0, embeddings_freq = 0,
 * embeddings_metadata = NULL })`: writes TensorBoard event files while fit() runs (scalars per epoch, per
 * batch with `update_freq = "batch"` or N, the learning rate, the model graph, weight histograms and
 * images). Each fit writes new files into `<log_dir>/train` and `<log_dir>/validation`; they are flushed
 * at every epoch end. `log_dir` may also be given in the record. Profiling and embeddings are refused
 * with an error.
 *
 * @example
 * const { model: trained } = await fit(model, x, y, {
 *   epochs: 10,
 *   validation_split: 0.2,
 *   callbacks: [callback_tensorboard("logs/run1", { update_freq: "batch" })],
 * });
 * // then: tensorboard --logdir logs
 */
export function callback_tensorboard(log_dir?: string | TensorBoardArgs, args?: TensorBoardArgs): CallbackSpec {
  refuseArgumentsPast("callback_tensorboard", ["log_dir", "args"], arguments);
  if (log_dir !== undefined && log_dir !== null && typeof log_dir === "object" && !Array.isArray(log_dir)) {
    if (args !== undefined) throw new KerasError(FN, "give `log_dir` either first or in the record, not both");
    args = log_dir;
    log_dir = undefined;
  }
  if (log_dir !== undefined && (typeof log_dir !== "string" || log_dir === ""))
    throw new KerasError(FN, `\`log_dir\` must be a directory path, got ${describeValue(log_dir)}`);
  const a = decodeArgs(FN, TENSORBOARD_PROPS, args, {
    log_dir: log_dir ?? "logs",
    histogram_freq: 0,
    write_graph: true,
    write_images: false,
    write_steps_per_second: false,
    update_freq: "epoch" as "batch" | "epoch" | number,
    profile_batch: 0 as number | [number, number] | string,
    embeddings_freq: 0,
    embeddings_metadata: null as string | Record<string, string> | null,
  }) as Required<TensorBoardArgs>;
  if (log_dir !== undefined && (args as TensorBoardArgs | undefined)?.log_dir !== undefined)
    throw new KerasError(FN, "give `log_dir` either first or in the record, not both");
  if (a.log_dir === "") throw new KerasError(FN, "`log_dir` must be a directory path, got an empty string");
  checkUnsupported(a);
  const batchFreq = a.update_freq === "epoch" ? null : a.update_freq === "batch" ? 1 : a.update_freq;

  return makeCallback("TensorBoard", { ...a }, (ctx) => {
    const writers = new Map<"train" | "validation", EventFileWriter>();
    const writer = async (run: "train" | "validation") => {
      let w = writers.get(run);
      if (!w) writers.set(run, (w = await EventFileWriter.open(FN, join(a.log_dir, run))));
      return w;
    };
    const flushAll = () => Promise.all([...writers.values()].map((w) => w.flush()));
    let started = false;
    let inFit = false;
    let globalBatch = 0;
    let batchStart = 0;
    let epochStart = 0;
    let epochStartIterations = 0;

    /** Keras's set_model: the model config for the Graphs tab. */
    const start = async () => {
      if (started) return;
      started = true;
      if (!a.write_graph) return;
      const w = await writer("train");
      const json = kerasJson(modelToKeras3("callback_tensorboard", ctx.model));
      w.strings("keras", [json], [], 0, KERAS_GRAPH_PLUGIN, new TextEncoder().encode("1"));
      await w.flush();
    };

    /** Keras's _log_weights: a histogram of every weight, and with write_images the weight as images. */
    const logWeights = async (epoch: number) => {
      const w = await writer("train");
      const specs = ctx.weightSpecs();
      const weights = ctx.getWeights();
      // Keras's weight paths: a sequential model builds its layers inside its own name scope, a
      // functional model's layers are built outside any.
      const scope = ctx.model.type === "sequential" ? `${ctx.model.name}/` : "";
      for (const [i, layer] of ctx.model.layers.entries()) {
        const seen = new Map<string, number>();
        for (const [j, { name, shape }] of specs[i].entries()) {
          // A wrapper holds its inner layers' weights under the same names: number the repeats.
          const k = seen.get(name) ?? 0;
          seen.set(name, k + 1);
          const path = `${scope}${layer.name}/${k ? `${name}_${k}` : name}`;
          w.histogram(`${path}/histogram`, histogramBuckets(weights[i][j]), epoch);
          const image = a.write_images ? weightImage(weights[i][j], shape) : null;
          if (image) {
            const values = await imageSummary(image);
            w.strings(`${path}/image`, values, [values.length], epoch, IMAGES_PLUGIN);
          }
        }
      }
    };

    return {
      on_train_begin: async () => {
        inFit = true;
        globalBatch = 0;
        await start();
      },
      on_train_end: async () => {
        inFit = false;
        await flushAll();
      },
      on_test_begin: () => (inFit ? undefined : start()),
      on_predict_begin: () => start(),
      on_epoch_begin: () => {
        epochStart = performance.now();
        epochStartIterations = ctx.iterations();
      },
      on_train_batch_begin: () => {
        globalBatch += 1;
        batchStart = performance.now();
      },
      on_train_batch_end: async (_batch: number, logs: Logs) => {
        if (batchFreq === null || globalBatch % batchFreq !== 0) return;
        const w = await writer("train");
        if (a.write_steps_per_second)
          w.scalar("batch_steps_per_second", 1000 / (performance.now() - batchStart), globalBatch);
        for (const [name, value] of Object.entries(logs)) w.scalar(`batch_${name}`, value, globalBatch);
        if (w.pendingCount >= 1000) await w.flush();
      },
      on_test_end: async (logs: Logs) => {
        const w = await writer("validation");
        const step = ctx.iterations();
        for (const [name, value] of Object.entries(logs)) w.scalar(`evaluation_${name}_vs_iterations`, value, step);
        if (!inFit) await w.flush();
      },
      on_epoch_end: async (epoch: number, logs: Logs) => {
        const entries = Object.entries(logs);
        if (!entries.length) return;
        const train: Logs = Object.fromEntries(entries.filter(([k]) => !k.startsWith("val_")));
        train.learning_rate = ctx.learningRate(FN);
        if (a.write_steps_per_second)
          train.steps_per_second =
            (ctx.iterations() - epochStartIterations) / ((performance.now() - epochStart) / 1000);
        const tw = await writer("train");
        for (const [name, value] of Object.entries(train)) tw.scalar(`epoch_${name}`, value, epoch);
        const val = entries.filter(([k]) => k.startsWith("val_"));
        if (val.length) {
          const vw = await writer("validation");
          for (const [name, value] of val) vw.scalar(`epoch_${name.slice(4)}`, value, epoch);
        }
        if (a.histogram_freq && epoch % a.histogram_freq === 0) await logWeights(epoch);
        await flushAll();
      },
    };
  });
}

/** An image batch `[n, height, width, channels]` of float data, row-major. */
interface ImageBatch {
  shape: [number, number, number, number];
  data: Float32Array;
}

/**
 * Keras's _log_weight_as_image: the weight squeezed, then a vector as one 1-pixel-wide column, a matrix
 * as one image (transposed to be wider than tall), a rank-3 kernel as one image per output channel; shown
 * when that is a batch of images with 1, 3 or 4 channels (so not scalars or 3-D convolutions' kernels).
 */
export function weightImage(values: Float32Array, shape: readonly number[]): ImageBatch | null {
  const s = shape.filter((d) => d !== 1);
  if (s.length === 1) return { shape: [1, s[0], 1, 1], data: values };
  if (s.length === 2) {
    const [r, c] = s;
    if (r <= c) return { shape: [1, r, c, 1], data: values };
    const t = new Float32Array(values.length);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = values[i * c + j];
    return { shape: [1, c, r, 1], data: t };
  }
  if (s.length === 3) {
    // channels_last kernels: one image per output channel (transpose [2, 0, 1]).
    const [a0, a1, a2] = s;
    const t = new Float32Array(values.length);
    for (let i = 0; i < a0; i++)
      for (let j = 0; j < a1; j++)
        for (let k = 0; k < a2; k++) t[(k * a0 + i) * a1 + j] = values[(i * a1 + j) * a2 + k];
    return { shape: [a2, a0, a1, 1], data: t };
  }
  if (s.length === 4 && [1, 3, 4].includes(s[3])) return { shape: s as ImageBatch["shape"], data: values };
  return null;
}

/**
 * tf.summary.image's tensor: width and height as strings, then the first three images as PNG, their
 * float pixels converted as tf.image.convert_image_dtype(saturate = TRUE) does (x 255.5, clamped, truncated).
 */
async function imageSummary(image: ImageBatch): Promise<(string | Uint8Array)[]> {
  const [n, height, width, channels] = image.shape;
  const size = height * width * channels;
  const pngs: Uint8Array[] = [];
  for (let i = 0; i < Math.min(n, 3); i++) {
    const pixels = new Uint8Array(size);
    for (let p = 0; p < size; p++)
      pixels[p] = Math.trunc(Math.min(255, Math.max(0, Math.fround(image.data[i * size + p] * 255.5))));
    pngs.push(await encodePng(FN, width, height, channels as 1 | 3 | 4, pixels));
  }
  return [String(width), String(height), ...pngs];
}
