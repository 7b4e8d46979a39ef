/**
 * The bytes of the model files this package writes — the `.keras` archive, Keras 3 `.weights.h5`, the
 * legacy `.h5` model and weights files — shared by the save_*() functions and the checkpoint callbacks.
 */
import type { Model } from "../model/model.js";
import { isTrainingSetup } from "../engine/training/setup.js";
import { writeHdf5 } from "./hdf5.js";
import { kerasJson, modelToKeras3 } from "./keras3_config.js";
import type { Json } from "./layer_config.js";
import { compileToKeras3 } from "./keras_compile.js";
import { writeKerasWeights } from "./keras_weights.js";
import { CONFIG_ENTRY, METADATA_ENTRY, WEIGHTS_ENTRY, packArchive } from "./keras_archive.js";
import { writeLegacyModel, writeLegacyWeights } from "./legacy_h5.js";
import { textAssetEntries } from "./text_assets.js";

/** The Keras version this package writes files as (the one its tests load them in). */
export const KERAS_VERSION = "3.15.1";

/** Keras's `date_saved`: "%Y-%m-%d@%H:%M:%S" in local time. */
function kerasDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}@${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The `.keras` archive of a model, as bytes; `extra` entries are added after Keras's three. */
export async function kerasArchive(
  fn: string,
  model: Model,
  includeOptimizer: boolean,
  extra: readonly [string, Uint8Array][] = [],
): Promise<Uint8Array> {
  const config = modelToKeras3(fn, model);
  if (isTrainingSetup(model.compiled)) config.compile_config = compileToKeras3(model.compiled);
  const weights = await writeHdf5(fn, (file) => writeKerasWeights(file, fn, model, includeOptimizer));
  const encode = (v: Json) => new TextEncoder().encode(kerasJson(v));
  const metadata = { keras_version: KERAS_VERSION, date_saved: kerasDate(new Date()) };
  return packArchive([
    [METADATA_ENTRY, encode(metadata)],
    [CONFIG_ENTRY, encode(config)],
    [WEIGHTS_ENTRY, weights],
    ...textAssetEntries(model),
    ...extra,
  ]);
}

/** A Keras 3 `.weights.h5` file of the model's weights. */
export const kerasWeightsFile = (fn: string, model: Model): Promise<Uint8Array> =>
  writeHdf5(fn, (file) => writeKerasWeights(file, fn, model, false));

/** The legacy `.h5` file of a model. */
export const legacyModelFile = (fn: string, model: Model, includeOptimizer: boolean): Promise<Uint8Array> =>
  writeHdf5(fn, (file) => writeLegacyModel(file, fn, model, includeOptimizer, KERAS_VERSION));

/** A legacy weights-only `.h5` file (the `model_weights` layout at the root). */
export const legacyWeightsFile = (fn: string, model: Model): Promise<Uint8Array> =>
  writeHdf5(fn, (file) => writeLegacyWeights(file, "", fn, model, KERAS_VERSION));
