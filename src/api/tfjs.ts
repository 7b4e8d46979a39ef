/**
 * `save_model_tfjs()` / `load_model_tfjs()`: the TensorFlow.js layers format (a folder with model.json
 * and weights.bin), named after R keras's `save_model_<format>()` family (save_model_hdf5, save_model_tf).
 */
import * as t from "io-ts";
import { KerasError, describeValue } from "../errors.js";
import { Bool, decodeCall, described, refuseArgumentsPast } from "../args.js";
import { isModel } from "../model/guards.js";
import type { Model } from "../model/model.js";
import { loadTfjsModel, saveTfjsModel } from "../io/tfjs.js";

const FilePath = described(
  t.refinement(t.string, (s) => s.length > 0),
  "a path (a non-empty string)",
);

export interface SaveModelTfjsArgs {
  /** Replace an existing model.json / weights.bin in the folder (default FALSE, as keras3's save_model()). */
  overwrite?: boolean;
  /** Write the compile settings (loss, metrics, optimizer and its hyperparameters) as `trainingConfig` (default TRUE). */
  include_optimizer?: boolean;
}

/**
 * `save_model_tfjs(model, filepath, { overwrite = FALSE, include_optimizer = TRUE })`: writes the folder
 * `filepath` with `model.json` and `weights.bin`, which plain TensorFlow.js loads with
 * `tf.loadLayersModel(".../model.json")` and predicts the same numbers. A model with layers
 * tfjs-layers 4.22 cannot run as computed here is refused, every such layer named with the reason.
 * Returns the model (unchanged).
 *
 * @example
 * await save_model_tfjs(model, "model_dir"); // model.json + weight shards, for TensorFlow.js
 */
export async function save_model_tfjs<M extends Model>(
  model: M,
  filepath: string,
  args?: SaveModelTfjsArgs,
): Promise<M> {
  const fn = "save_model_tfjs";
  refuseArgumentsPast(fn, ["model", "filepath", "args"], arguments);
  const a = decodeCall(
    fn,
    { filepath: [FilePath, filepath] },
    args,
    { overwrite: Bool, include_optimizer: Bool },
    { overwrite: false, include_optimizer: true },
  );
  if (!isModel(model)) throw new KerasError(fn, `\`model\` must be a model, got ${describeValue(model)}`);
  await saveTfjsModel(fn, model, a.filepath, { overwrite: a.overwrite, includeOptimizer: a.include_optimizer });
  return model;
}

export interface LoadModelTfjsArgs {
  /** Compile the model with the file's `trainingConfig`, when it has one (default TRUE). */
  compile?: boolean;
}

/**
 * `load_model_tfjs(filepath, { compile = TRUE })`: a model from a TensorFlow.js layers model — the
 * folder holding `model.json` or the `model.json` path — as written by tfjs-layers `model.save()`,
 * tensorflowjs_converter (Keras .h5 input) or save_model_tfjs(). A new model value each call.
 *
 * @example
 * const model = await load_model_tfjs("model_dir");
 */
export async function load_model_tfjs(filepath: string, args?: LoadModelTfjsArgs): Promise<Model> {
  const fn = "load_model_tfjs";
  refuseArgumentsPast(fn, ["filepath", "args"], arguments);
  const a = decodeCall(fn, { filepath: [FilePath, filepath] }, args, { compile: Bool }, { compile: true });
  return loadTfjsModel(fn, a.filepath, { compile: a.compile });
}
