/**
 * Saving and loading models in Keras's formats (R keras3's names, and R keras 2's `*_hdf5` ones): the
 * `.keras` zip, `.weights.h5`, the legacy HDF5 `.h5` (whole models and weights), JSON configs, raw
 * bytes, and — by the path `.../model.json` — the TensorFlow.js layers format. Loading returns a new
 * model value; saving never changes the model. Files are written atomically (a temporary file in the
 * same folder, then a rename).
 */
import { readTextState } from "../io/text_assets.js";
import * as t from "io-ts";
import { readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { KerasError } from "../errors.js";
import { Bool, FilePath, Fn, Guarded, RecordOf, Str, decodeCall, described, refuseArgumentsPast } from "../args.js";
import { isCellLayer } from "../layers/recurrent/cell.js";
import { isModel } from "../model/guards.js";
import type { Model } from "../model/model.js";
import { writeFileAtomic } from "../io/atomic.js";
import { kerasArchive, kerasWeightsFile, legacyModelFile, legacyWeightsFile } from "../io/model_files.js";
import { hasHdf5Signature, readHdf5 } from "../io/hdf5.js";
import { kerasJson, modelFromKeras3, modelToKeras3, type CustomObjects } from "../io/keras3_config.js";
import { compileArgsFromKeras3, compileToKeras3 } from "../io/keras_compile.js";
import { readKerasWeights, readOptimizerState } from "../io/keras_weights.js";
import {
  CONFIG_ENTRY,
  METADATA_ENTRY,
  WEIGHTS_ENTRY,
  hasZipSignature,
  parseJsonEntry,
  unpackArchive,
} from "../io/keras_archive.js";
import {
  MODEL_WEIGHTS,
  compileConfigFromLegacy,
  fromKeras2Config,
  isKeras2File,
  jsonAttribute,
  legacyWeightsRoot,
  readLegacyOptimizerState,
  readLegacyWeights,
} from "../io/legacy_h5.js";
import type { H5Reader } from "../io/hdf5.js";
import { MODEL_JSON, loadTfjsModel, saveTfjsModel } from "../io/tfjs.js";
import { isTrainingSetup } from "../engine/training/setup.js";
import { compile } from "./training.js";

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

/** A path to a TensorFlow.js layers model: `.../model.json`. */
const TFJS_JSON = /(^|[/\\])model\.json$/i;

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

/** Whether `path` is a folder holding a TensorFlow.js model.json. */
async function isTfjsFolder(path: string): Promise<boolean> {
  const s = await stat(path).catch(() => null);
  return !!s?.isDirectory() && !!(await stat(join(path, MODEL_JSON)).catch(() => null))?.isFile();
}

async function readBytes(fn: string, filepath: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(filepath));
  } catch (e) {
    throw new KerasError(fn, `cannot read "${filepath}": ${(e as Error).message}`, "io");
  }
}

/** A saver's `(model, filepath, { overwrite = FALSE, ...props })`, decoded. */
function decodeSave<D extends Record<string, unknown>>(
  fn: string,
  model: unknown,
  filepath: unknown,
  args: unknown,
  props: Record<string, t.Mixed> = {},
  defaults: D = {} as D,
): D & { overwrite: boolean } & Record<string, any> {
  return decodeCall(
    fn,
    { model: [ModelArg, model], filepath: [FilePath, filepath] },
    args,
    { overwrite: Bool, ...props },
    { overwrite: false, ...defaults },
  );
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
  overwriteDefault = false,
): Promise<void> {
  const { overwrite } = decodeSave(fn, model, filepath, args, {}, { overwrite: overwriteDefault });
  checkPath(filepath);
  await checkOverwrite(fn, filepath, overwrite);
  await writeFileAtomic(fn, filepath, await content(model));
}

/** A model from its Keras 3 config, compiled (with `compileIt`) when the config has a compile_config, as Keras does. */
function modelFromConfig(fn: string, config: unknown, custom: CustomObjects, compileIt = true): Model {
  const model = modelFromKeras3(fn, config, custom);
  const compileConfig = (config as Record<string, unknown>).compile_config;
  return compileIt ? compiledAs(fn, model, compileConfig, custom) : model;
}

/** `model` compiled with a Keras 3 compile config (unchanged when there is none). */
function compiledAs(fn: string, model: Model, compileConfig: unknown, custom: CustomObjects): Model {
  if (compileConfig && typeof compileConfig === "object" && Object.keys(compileConfig).length > 0)
    return compile(model, compileArgsFromKeras3(fn, model, compileConfig, custom));
  return model;
}

// ---------------------------------------------------------------------------------------------
// .keras

/** A model from `.keras` archive bytes; `what` names them in errors. */
async function modelFromArchive(
  fn: string,
  what: string,
  bytes: Uint8Array,
  custom: CustomObjects,
  compileIt: boolean,
): Promise<Model> {
  if (hasHdf5Signature(bytes)) return modelFromLegacy(fn, what, bytes, custom, compileIt);
  if (!hasZipSignature(bytes))
    throw new KerasError(fn, `${what} is not a Keras model file (a .keras zip archive)`, "io");
  const entries = await unpackArchive(
    fn,
    what,
    bytes,
    (n) => [CONFIG_ENTRY, METADATA_ENTRY, WEIGHTS_ENTRY].includes(n) || n.startsWith("assets/"),
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
    return readOptimizerState(file, fn, readTextState(fn, what, loaded, entries, file));
  });
}

/**
 * `save_model(model, filepath, { overwrite = FALSE })`: the model as a Keras 3 `.keras` file (config,
 * weights, and when compiled its optimizer, loss, metrics and optimizer state), which Python Keras's
 * `keras.saving.load_model()` reads. As in keras3, a path ending in `.h5` / `.hdf5` writes the legacy
 * HDF5 format instead (save_model_hdf5()); and a path `.../model.json` writes the TensorFlow.js layers
 * format into that folder (save_model_tfjs()).
 *
 * @example
 * await save_model(model, "model.keras");
 */
export async function save_model(model: Model, filepath: string, args: { overwrite?: boolean } = {}): Promise<void> {
  const fn = "save_model";
  refuseArgumentsPast(fn, ["model", "filepath", "args"], arguments);
  if (typeof filepath === "string" && TFJS_JSON.test(filepath)) {
    const { overwrite } = decodeSave(fn, model, filepath, args);
    return saveTfjsModel(fn, model, dirname(filepath), { overwrite, includeOptimizer: true });
  }
  await saveTo(
    fn,
    model,
    filepath,
    args,
    (path) => {
      if (!/\.keras$/i.test(path) && !LEGACY.test(path))
        throw new KerasError(
          fn,
          `\`filepath\` must end in ".keras" (the Keras 3 format), ".h5" / ".hdf5" (the legacy HDF5 format) or name a "model.json" (the TensorFlow.js format), got "${path}"`,
          "io",
        );
    },
    (m) => (LEGACY.test(filepath) ? legacyModelFile(fn, m, true) : kerasArchive(fn, m, true)),
  );
}

/**
 * `load_model(model, { custom_objects, compile = TRUE })`: a model from a `.keras` file or a legacy
 * HDF5 `.h5` file (a path; the file's content decides), from their bytes (a Uint8Array, as
 * serialize_model() makes), or from a TensorFlow.js layers model (a path to its `model.json`, or the
 * folder holding one). Layers built on TypeScript functions (layer_lambda, rnn_cell_custom) need
 * `custom_objects`; nothing in a file is run as code.
 *
 * @example
 * const model = await load_model("model.keras");
 */
export async function load_model(
  model: string | Uint8Array,
  args: { custom_objects?: Record<string, unknown>; compile?: boolean } = {},
): Promise<Model> {
  const fn = "load_model";
  refuseArgumentsPast(fn, ["model", "args"], arguments);
  const a = decodeCall(fn, { model: [PathOrBytes, model] }, args, LOAD_PROPS, LOAD_DEFAULTS);
  if (model instanceof Uint8Array) return modelFromArchive(fn, "the model bytes", model, a.custom_objects, a.compile);
  if (TFJS_JSON.test(model) || (await isTfjsFolder(model))) return loadTfjsModel(fn, model, { compile: a.compile });
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
  refuseArgumentsPast(fn, ["model", "args"], arguments);
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
  refuseArgumentsPast(fn, ["model", "args"], arguments);
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
  refuseArgumentsPast(fn, ["model", "filepath", "args"], arguments);
  await saveTo(
    fn,
    model,
    filepath,
    args,
    (path) => {
      if (!WEIGHTS_FILE.test(path))
        throw new KerasError(
          fn,
          `\`filepath\` must end in ".weights.h5" (Keras 3's weights format; save_model_weights_hdf5() writes the legacy .h5 layout), got "${path}"`,
          "io",
        );
    },
    (m) => kerasWeightsFile(fn, m),
  );
}

/**
 * `load_model_weights(model, filepath, { skip_mismatch = FALSE, by_name = FALSE })`: a new model value
 * holding the weights of a `.weights.h5` file (or of a `.keras` file), matched by the model's
 * structure as Keras does; a path ending in `.h5` / `.hdf5` (not `.weights.h5`) is read as the legacy
 * layout (load_model_weights_hdf5()), where `by_name` matches layers by name. With `skip_mismatch`,
 * weights that do not fit keep the model's own, with a warning each.
 *
 * @example
 * const restored = await load_model_weights(model, "model.weights.h5");
 */
export async function load_model_weights<M extends Model>(
  model: M,
  filepath: string,
  args: { skip_mismatch?: boolean; by_name?: boolean } = {},
): Promise<M> {
  const fn = "load_model_weights";
  refuseArgumentsPast(fn, ["model", "filepath", "args"], arguments);
  const { skip_mismatch, by_name } = decodeCall(
    fn,
    { model: [ModelArg, model], filepath: [FilePath, filepath] },
    args,
    { skip_mismatch: Bool, by_name: Bool },
    { skip_mismatch: false, by_name: false },
  );
  const legacy = !WEIGHTS_FILE.test(filepath) && LEGACY.test(filepath);
  if (by_name && !legacy)
    throw new KerasError(
      fn,
      `\`by_name\` applies to legacy ".h5" / ".hdf5" weights only (Keras 3 files match weights by the model's structure), got "${filepath}"`,
    );
  if (legacy) return legacyWeightsInto(fn, model, filepath, { byName: by_name, skipMismatch: skip_mismatch });
  const what = `"${filepath}"`;
  let bytes = await readBytes(fn, filepath);
  if (hasZipSignature(bytes)) {
    const weights = (await unpackArchive(fn, what, bytes, (n) => n === WEIGHTS_ENTRY)).get(WEIGHTS_ENTRY);
    if (!weights) throw new KerasError(fn, `${what} has no ${WEIGHTS_ENTRY}`, "io");
    bytes = weights;
  }
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
  refuseArgumentsPast(fn, ["model"], arguments);
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
  refuseArgumentsPast(fn, ["json", "args"], arguments);
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
  refuseArgumentsPast("save_model_config", ["model", "filepath", "args"], arguments);
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
  refuseArgumentsPast(fn, ["filepath", "args"], arguments);
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

// ---------------------------------------------------------------------------------------------
// Legacy HDF5 (.h5): Keras 2 / tf.keras's format, which Keras 3 still writes and reads

/**
 * A model from legacy `.h5` bytes: its `model_config` (Keras 2 meanings when an older Keras wrote it),
 * weights, and with `compileIt` its `training_config` and optimizer state.
 */
async function modelFromLegacy(
  fn: string,
  what: string,
  bytes: Uint8Array,
  custom: CustomObjects,
  compileIt: boolean,
): Promise<Model> {
  return readHdf5(fn, what, bytes, (file) => {
    const config = jsonAttribute(file, fn, what, "model_config");
    if (config === undefined)
      throw new KerasError(
        fn,
        `${what} has no model config (root attribute \`model_config\`): it holds weights only; build the model and use load_model_weights_hdf5()`,
        "io",
      );
    const keras2 = isKeras2File(file);
    let model = modelFromKeras3(fn, keras2 ? fromKeras2Config(config) : config, custom);
    model = loadLegacyWeights(fn, file, MODEL_WEIGHTS, what, model, { byName: false, skipMismatch: false });
    const training = jsonAttribute(file, fn, what, "training_config");
    if (!compileIt || training === undefined) return model;
    model = compiledAs(fn, model, compileConfigFromLegacy(training), custom);
    return readLegacyOptimizerState(file, fn, model);
  });
}

function loadLegacyWeights(
  fn: string,
  file: H5Reader,
  root: string,
  what: string,
  model: Model,
  options: { byName: boolean; skipMismatch: boolean },
): Model {
  if (!file.isGroup(root))
    throw new KerasError(fn, `${what} has no \`${root}\` group: it is not a Keras model file`, "io");
  const loaded = readLegacyWeights(file, root, fn, what, model, options);
  for (const s of loaded.skipped) console.warn(`${fn}(): skipped: ${s}`);
  return loaded.model;
}

/** `model` with the legacy-layout weights of the file at `filepath` (a weights file or a whole-model file). */
async function legacyWeightsInto<M extends Model>(
  fn: string,
  model: M,
  filepath: string,
  options: { byName: boolean; skipMismatch: boolean },
): Promise<M> {
  const what = `"${filepath}"`;
  const bytes = await readBytes(fn, filepath);
  return readHdf5(fn, what, bytes, (file) =>
    loadLegacyWeights(fn, file, legacyWeightsRoot(file, fn, what), what, model, options),
  ) as Promise<M>;
}

function checkLegacyPath(fn: string, path: string): void {
  if (WEIGHTS_FILE.test(path))
    throw new KerasError(
      fn,
      `"${path}" ends in ".weights.h5", Keras 3's weights format (save_model_weights() / load_model_weights()); the legacy format takes ".h5" or ".hdf5"`,
      "io",
    );
  if (!LEGACY.test(path))
    throw new KerasError(fn, `\`filepath\` must end in ".h5" or ".hdf5" (the legacy HDF5 format), got "${path}"`, "io");
}

/**
 * `save_model_hdf5(model, filepath, { overwrite = TRUE, include_optimizer = TRUE })` (R keras 2): the
 * model as a legacy HDF5 file — config, weights, and with `include_optimizer` its compile settings and
 * optimizer state — exactly as Keras 3's `model.save("x.h5")` writes it. R keras 2's defaults:
 * an existing file is replaced unless `overwrite = FALSE`.
 *
 * @example
 * await save_model_hdf5(model, "model.h5");
 */
export async function save_model_hdf5(
  model: Model,
  filepath: string,
  args: { overwrite?: boolean; include_optimizer?: boolean } = {},
): Promise<void> {
  const fn = "save_model_hdf5";
  refuseArgumentsPast(fn, ["model", "filepath", "args"], arguments);
  const a = decodeSave(
    fn,
    model,
    filepath,
    args,
    { include_optimizer: Bool },
    { overwrite: true, include_optimizer: true },
  );
  checkLegacyPath(fn, filepath);
  await checkOverwrite(fn, filepath, a.overwrite);
  await writeFileAtomic(fn, filepath, await legacyModelFile(fn, model, a.include_optimizer));
}

/**
 * `load_model_hdf5(filepath, { custom_objects, compile = TRUE })` (R keras 2): a model from a legacy `.h5` file.
 *
 * @example
 * const model = await load_model_hdf5("model.h5");
 */
export async function load_model_hdf5(
  filepath: string,
  args: { custom_objects?: Record<string, unknown>; compile?: boolean } = {},
): Promise<Model> {
  const fn = "load_model_hdf5";
  refuseArgumentsPast(fn, ["filepath", "args"], arguments);
  const a = decodeCall(fn, { filepath: [FilePath, filepath] }, args, LOAD_PROPS, LOAD_DEFAULTS);
  const what = `"${filepath}"`;
  const bytes = await readBytes(fn, filepath);
  if (hasZipSignature(bytes))
    throw new KerasError(fn, `${what} is a Keras 3 .keras file, not a legacy HDF5 one: use load_model()`, "io");
  return modelFromLegacy(fn, what, bytes, a.custom_objects, a.compile);
}

/**
 * `save_model_weights_hdf5(model, filepath, { overwrite = TRUE })` (R keras 2): every layer's weights in
 * the legacy layout (tf.keras's `save_weights("x.h5")`), which Keras 3's `model.load_weights()` reads.
 *
 * @example
 * await save_model_weights_hdf5(model, "weights.h5");
 */
export async function save_model_weights_hdf5(
  model: Model,
  filepath: string,
  args: { overwrite?: boolean } = {},
): Promise<void> {
  const fn = "save_model_weights_hdf5";
  refuseArgumentsPast(fn, ["model", "filepath", "args"], arguments);
  await saveTo(
    fn,
    model,
    filepath,
    args,
    (path) => checkLegacyPath(fn, path),
    (m) => legacyWeightsFile(fn, m),
    true,
  );
}

/**
 * `load_model_weights_hdf5(model, filepath, { by_name = FALSE, skip_mismatch = FALSE, reshape = FALSE })`
 * (R keras 2): a new model value with the weights of a legacy `.h5` file (a weights file, or a whole
 * model's): by layer order (the layers that have weights), or with `by_name` by layer name (layers the
 * file lacks keep theirs). With `skip_mismatch`, weights of another shape (and, by name, layers with
 * another number of weights) keep the model's own, with a warning each. `reshape` (Keras 1) is not
 * supported.
 *
 * @example
 * const restored = await load_model_weights_hdf5(model, "weights.h5", { by_name: true });
 */
export async function load_model_weights_hdf5<M extends Model>(
  model: M,
  filepath: string,
  args: { by_name?: boolean; skip_mismatch?: boolean; reshape?: boolean } = {},
): Promise<M> {
  const fn = "load_model_weights_hdf5";
  refuseArgumentsPast(fn, ["model", "filepath", "args"], arguments);
  const a = decodeCall(
    fn,
    { model: [ModelArg, model], filepath: [FilePath, filepath] },
    args,
    { by_name: Bool, skip_mismatch: Bool, reshape: Bool },
    { by_name: false, skip_mismatch: false, reshape: false },
  );
  if (a.reshape)
    throw new KerasError(fn, "`reshape = TRUE` (Keras 1's weight reshaping) is not supported; weights load as saved");
  if (WEIGHTS_FILE.test(filepath))
    throw new KerasError(
      fn,
      `"${filepath}" ends in ".weights.h5", Keras 3's weights format: use load_model_weights()`,
      "io",
    );
  return legacyWeightsInto(fn, model, filepath, { byName: a.by_name, skipMismatch: a.skip_mismatch });
}
