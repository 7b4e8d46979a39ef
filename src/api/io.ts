/**
 * Saving and loading models in Keras's formats (R keras3's names): the `.keras` zip, `.weights.h5`,
 * JSON configs, and raw bytes. Loading returns a new model value; saving never changes the model.
 * Files are written atomically (a temporary file in the same folder, then a rename).
 */
import * as t from "io-ts";
import { readFile, stat } from "node:fs/promises";
import { KerasError } from "../errors.js";
import { Bool, FilePath, Fn, Guarded, RecordOf, Str, decodeCall, described } from "../args.js";
import { isCellLayer } from "../layers/recurrent/cell.js";
import { isModel } from "../model/guards.js";
import type { Model } from "../model/model.js";
import { writeFileAtomic } from "../io/atomic.js";
import { hasHdf5Signature, readHdf5, writeHdf5 } from "../io/hdf5.js";
import { kerasJson, modelFromKeras3, modelToKeras3, type CustomObjects } from "../io/keras3_config.js";
import type { Json } from "../io/layer_config.js";
import { compileArgsFromKeras3, compileToKeras3 } from "../io/keras_compile.js";
import { readKerasWeights, readOptimizerState, writeKerasWeights } from "../io/keras_weights.js";
import {
  CONFIG_ENTRY,
  METADATA_ENTRY,
  WEIGHTS_ENTRY,
  hasZipSignature,
  packArchive,
  parseJsonEntry,
  unpackArchive,
} from "../io/keras_archive.js";
import { isTrainingSetup } from "../engine/training/setup.js";
import { compile } from "./training.js";

/** The Keras version this package writes files as (the one its tests load them in). */
const KERAS_VERSION = "3.15.1";

const CustomObjectsArg = RecordOf(
  t.union([Fn, Guarded("Cell", isCellLayer, "a cell")]),
  "a record of custom objects by name (functions, rnn_cell_custom() cells)",
);
const Bytes = Guarded(
  "Bytes",
  (u): u is Uint8Array => u instanceof Uint8Array,
  "raw bytes (a Uint8Array, e.g. from serialize_model())",
);
const ModelArg = Guarded("Model", isModel, "a model (keras_model_sequential() or keras_model())");

const LEGACY = /\.(h5|hdf5)$/i;

/** The options of the loaders of whole models. */
const LOAD_PROPS = { custom_objects: CustomObjectsArg, compile: Bool };
const LOAD_DEFAULTS = { custom_objects: {}, compile: true };

const PathOrBytes = described(
  t.union([FilePath, Bytes]),
  "a file path (a string) or the bytes of a .keras file (a Uint8Array)",
);

function legacyNotAvailable(fn: string, filepath: string): never {
  throw new KerasError(
    fn,
    `"${filepath}" names the legacy HDF5 (.h5) model format, which is not available yet; use the Keras 3 format, a path ending in ".keras"`,
    "io",
  );
}

/** R's refusal to overwrite (keras3's confirm_overwrite). */
async function checkOverwrite(fn: string, filepath: string, overwrite: boolean): Promise<void> {
  if (overwrite) return;
  const exists = await stat(filepath).then(
    () => true,
    () => false,
  );
  if (exists)
    throw new KerasError(fn, `File '${filepath}' already exists (pass overwrite = TRUE to force save).`, "io");
}

async function readBytes(fn: string, filepath: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(filepath));
  } catch (e) {
    throw new KerasError(fn, `cannot read "${filepath}": ${(e as Error).message}`, "io");
  }
}

/**
 * What the savers share: `(model, filepath, { overwrite = FALSE })` decoded, the path checked by
 * `checkPath`, an existing file kept unless `overwrite`, the content written atomically.
 */
async function saveTo(
  fn: string,
  model: Model,
  filepath: string,
  args: unknown,
  checkPath: (filepath: string) => void,
  content: (model: Model) => Promise<string | Uint8Array> | string,
): Promise<void> {
  const { overwrite } = decodeCall(
    fn,
    { model: [ModelArg, model], filepath: [FilePath, filepath] },
    args,
    { overwrite: Bool },
    { overwrite: false },
  );
  checkPath(filepath);
  await checkOverwrite(fn, filepath, overwrite);
  await writeFileAtomic(fn, filepath, await content(model));
}

/** A model from its Keras 3 config, compiled (with `compileIt`) when the config has a compile_config, as Keras does. */
function modelFromConfig(fn: string, config: unknown, custom: CustomObjects, compileIt = true): Model {
  const model = modelFromKeras3(fn, config, custom);
  const compileConfig = (config as Record<string, unknown>).compile_config;
  if (compileIt && compileConfig && typeof compileConfig === "object" && Object.keys(compileConfig).length > 0)
    return compile(model, compileArgsFromKeras3(fn, model, compileConfig, custom));
  return model;
}

// ---------------------------------------------------------------------------------------------
// .keras

/** The `.keras` archive of a model, as bytes. */
async function kerasArchive(fn: string, model: Model, includeOptimizer: boolean): Promise<Uint8Array> {
  const config = modelToKeras3(fn, model);
  if (isTrainingSetup(model.compiled)) config.compile_config = compileToKeras3(model.compiled);
  const weights = await writeHdf5(fn, (file) => writeKerasWeights(file, fn, model, includeOptimizer));
  const encode = (v: Json) => new TextEncoder().encode(kerasJson(v));
  const metadata = { keras_version: KERAS_VERSION, date_saved: kerasDate(new Date()) };
  return packArchive([
    [METADATA_ENTRY, encode(metadata)],
    [CONFIG_ENTRY, encode(config)],
    [WEIGHTS_ENTRY, weights],
  ]);
}

/** Keras's `date_saved`: "%Y-%m-%d@%H:%M:%S" in local time. */
function kerasDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}@${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A model from `.keras` archive bytes; `what` names them in errors. */
async function modelFromArchive(
  fn: string,
  what: string,
  bytes: Uint8Array,
  custom: CustomObjects,
  compileIt: boolean,
): Promise<Model> {
  if (hasHdf5Signature(bytes))
    throw new KerasError(fn, `${what} is a legacy HDF5 (.h5) model file, a format not available yet`, "io");
  if (!hasZipSignature(bytes))
    throw new KerasError(fn, `${what} is not a Keras model file (a .keras zip archive)`, "io");
  const entries = await unpackArchive(fn, what, bytes, (n) =>
    [CONFIG_ENTRY, METADATA_ENTRY, WEIGHTS_ENTRY].includes(n),
  );
  const configBytes = entries.get(CONFIG_ENTRY);
  if (!configBytes) throw new KerasError(fn, `${what} has no ${CONFIG_ENTRY}: it is not a .keras model file`, "io");
  const config = parseJsonEntry(fn, `${CONFIG_ENTRY} in ${what}`, configBytes);
  const model = modelFromConfig(fn, config, custom, compileIt);
  const weights = entries.get(WEIGHTS_ENTRY);
  if (!weights)
    throw new KerasError(
      fn,
      `${what} has no ${WEIGHTS_ENTRY} (Keras's sharded or .npz weights are not supported)`,
      "io",
    );
  return readHdf5(fn, `${WEIGHTS_ENTRY} in ${what}`, weights, (file) => {
    const loaded = readKerasWeights(file, fn, `the file`, model, false).model;
    return readOptimizerState(file, fn, loaded);
  });
}

/**
 * `save_model(model, filepath, { overwrite = FALSE })`: the model as a Keras 3 `.keras` file (config,
 * weights, and when compiled its optimizer, loss, metrics and optimizer state), which Python Keras's
 * `keras.saving.load_model()` reads. A path ending in `.h5` / `.hdf5` names the legacy format (not
 * available yet).
 *
 * @example
 * await save_model(model, "model.keras");
 */
export async function save_model(model: Model, filepath: string, args: { overwrite?: boolean } = {}): Promise<void> {
  const fn = "save_model";
  await saveTo(
    fn,
    model,
    filepath,
    args,
    (path) => {
      if (LEGACY.test(path)) legacyNotAvailable(fn, path);
      if (!/\.keras$/i.test(path))
        throw new KerasError(
          fn,
          `\`filepath\` must end in ".keras" (the Keras 3 format; ".h5" names the legacy format), got "${path}"`,
          "io",
        );
    },
    (m) => kerasArchive(fn, m, true),
  );
}

/**
 * `load_model(model, { custom_objects, compile = TRUE })`: a model from a `.keras` file (a path) or
 * from its bytes (a Uint8Array, as serialize_model() makes). Layers built on TypeScript functions
 * (layer_lambda, rnn_cell_custom) need `custom_objects`; nothing in a file is run as code.
 *
 * @example
 * const model = await load_model("model.keras");
 */
export async function load_model(
  model: string | Uint8Array,
  args: { custom_objects?: Record<string, unknown>; compile?: boolean } = {},
): Promise<Model> {
  const fn = "load_model";
  const a = decodeCall(fn, { model: [PathOrBytes, model] }, args, LOAD_PROPS, LOAD_DEFAULTS);
  if (model instanceof Uint8Array) return modelFromArchive(fn, "the model bytes", model, a.custom_objects, a.compile);
  if (LEGACY.test(model)) legacyNotAvailable(fn, model);
  return modelFromArchive(fn, `"${model}"`, await readBytes(fn, model), a.custom_objects, a.compile);
}

/**
 * `serialize_model(model, { include_optimizer = TRUE })`: the `.keras` file as raw bytes (for a database column).
 *
 * @example
 * const bytes = await serialize_model(model);
 */
export async function serialize_model(model: Model, args: { include_optimizer?: boolean } = {}): Promise<Uint8Array> {
  const fn = "serialize_model";
  const { include_optimizer } = decodeCall(
    fn,
    { model: [ModelArg, model] },
    args,
    { include_optimizer: Bool },
    { include_optimizer: true },
  );
  return kerasArchive(fn, model, include_optimizer);
}

/**
 * `unserialize_model(model, { custom_objects, compile = TRUE })`: the model from serialize_model()'s bytes.
 *
 * @example
 * const copy = await unserialize_model(await serialize_model(model));
 */
export async function unserialize_model(
  model: Uint8Array,
  args: { custom_objects?: Record<string, unknown>; compile?: boolean } = {},
): Promise<Model> {
  const fn = "unserialize_model";
  const a = decodeCall(fn, { model: [Bytes, model] }, args, LOAD_PROPS, LOAD_DEFAULTS);
  return modelFromArchive(fn, "the model bytes", a.model, a.custom_objects, a.compile);
}

// ---------------------------------------------------------------------------------------------
// .weights.h5

const WEIGHTS_FILE = /\.weights\.h5$/i;

/**
 * `save_model_weights(model, filepath, { overwrite = FALSE })`: every layer's weights in a Keras 3
 * `.weights.h5` file (Keras's `model.save_weights()` layout).
 *
 * @example
 * await save_model_weights(model, "model.weights.h5");
 */
export async function save_model_weights(
  model: Model,
  filepath: string,
  args: { overwrite?: boolean } = {},
): Promise<void> {
  const fn = "save_model_weights";
  await saveTo(
    fn,
    model,
    filepath,
    args,
    (path) => {
      if (!WEIGHTS_FILE.test(path))
        throw new KerasError(
          fn,
          `\`filepath\` must end in ".weights.h5" (Keras 3's weights format; the legacy .h5 weights format is not available yet), got "${path}"`,
          "io",
        );
    },
    (m) => writeHdf5(fn, (file) => writeKerasWeights(file, fn, m, false)),
  );
}

/**
 * `load_model_weights(model, filepath, { skip_mismatch = FALSE })`: a new model value holding the weights
 * of a `.weights.h5` file (or of a `.keras` file), matched by the model's structure as Keras does.
 * With `skip_mismatch`, layers whose weights do not fit keep theirs, with a warning each.
 *
 * @example
 * const restored = await load_model_weights(model, "model.weights.h5");
 */
export async function load_model_weights<M extends Model>(
  model: M,
  filepath: string,
  args: { skip_mismatch?: boolean } = {},
): Promise<M> {
  const fn = "load_model_weights";
  const { skip_mismatch } = decodeCall(
    fn,
    { model: [ModelArg, model], filepath: [FilePath, filepath] },
    args,
    { skip_mismatch: Bool },
    { skip_mismatch: false },
  );
  const what = `"${filepath}"`;
  let bytes = await readBytes(fn, filepath);
  if (hasZipSignature(bytes)) {
    const weights = (await unpackArchive(fn, what, bytes, (n) => n === WEIGHTS_ENTRY)).get(WEIGHTS_ENTRY);
    if (!weights) throw new KerasError(fn, `${what} has no ${WEIGHTS_ENTRY}`, "io");
    bytes = weights;
  } else if (!WEIGHTS_FILE.test(filepath) && LEGACY.test(filepath)) legacyNotAvailable(fn, filepath);
  const loaded = await readHdf5(fn, what, bytes, (file) =>
    readKerasWeights(file, fn, "the file", model, skip_mismatch),
  );
  for (const s of loaded.skipped) console.warn(`${fn}(): skipped: ${s}`);
  return loaded.model as M;
}

// ---------------------------------------------------------------------------------------------
// JSON

/**
 * `model_to_json(model)`: the model's Keras 3 JSON (`model.to_json()`: architecture and compile settings, no weights).
 *
 * @example
 * const json = model_to_json(model);
 */
export function model_to_json(model: Model): string {
  const fn = "model_to_json";
  decodeCall(fn, { model: [ModelArg, model] }, {}, {}, {});
  const config = modelToKeras3(fn, model);
  if (isTrainingSetup(model.compiled)) config.compile_config = compileToKeras3(model.compiled);
  return kerasJson(config);
}

/**
 * `model_from_json(json, { custom_objects })`: a new model (fresh weights) from model_to_json()'s or Keras's JSON.
 *
 * @example
 * const copy = model_from_json(model_to_json(model)); // new weights, same architecture
 */
export function model_from_json(json: string, args: { custom_objects?: Record<string, unknown> } = {}): Model {
  const fn = "model_from_json";
  const a = decodeCall(fn, { json: [Str, json] }, args, { custom_objects: CustomObjectsArg }, { custom_objects: {} });
  let config: unknown;
  try {
    config = JSON.parse(a.json);
  } catch (e) {
    throw new KerasError(fn, `\`json\` is not valid JSON: ${(e as Error).message}`, "io");
  }
  return modelFromConfig(fn, config, a.custom_objects);
}

/**
 * `save_model_config(model, filepath, { overwrite = FALSE })`: model_to_json() written to a file.
 *
 * @example
 * await save_model_config(model, "model.json");
 */
export async function save_model_config(
  model: Model,
  filepath: string,
  args: { overwrite?: boolean } = {},
): Promise<void> {
  await saveTo("save_model_config", model, filepath, args, () => undefined, model_to_json);
}

/**
 * `load_model_config(filepath, { custom_objects })`: a new model (fresh weights) from a saved config.
 *
 * @example
 * const copy = await load_model_config("model.json");
 */
export async function load_model_config(
  filepath: string,
  args: { custom_objects?: Record<string, unknown> } = {},
): Promise<Model> {
  const fn = "load_model_config";
  const a = decodeCall(
    fn,
    { filepath: [FilePath, filepath] },
    args,
    { custom_objects: CustomObjectsArg },
    { custom_objects: {} },
  );
  const config = parseJsonEntry(fn, `"${filepath}"`, await readBytes(fn, filepath));
  return modelFromConfig(fn, config, a.custom_objects);
}
