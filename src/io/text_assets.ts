/**
 * The text layers' state in a `.keras` file, where Keras 3 keeps it: an adapted (or set) vocabulary as
 * `assets/<layer path>/vocabulary.txt` (one token a line, special tokens first; TextVectorization's
 * inner StringLookup again under `_lookup_layer/`), tf_idf weights as a `vars/idf_weights` dataset. A
 * vocabulary given as the `vocabulary` argument is in the config instead.
 */
import { KerasError } from "../errors.js";
import { withLayer, type Layer } from "../model/layer.js";
import { withModel, type Model } from "../model/model.js";
import { fullVocabulary, givenVocabulary } from "../layers/preprocessing/lookup.js";
import { VOCABULARY_STATE, vocabularyStateOf } from "../layers/preprocessing/vocabulary.js";
import { textLayerSettings } from "../layers/preprocessing/settings.js";
import { kerasLayerPaths } from "./weight_paths.js";
import type { H5Reader, H5Writer } from "./hdf5.js";

/** The object paths of a text layer's state: the layer's, and TextVectorization's inner lookup's. */
const statePaths = (layer: Layer, path: string): string[] =>
  layer.className === "TextVectorization" ? [path, `${path}/_lookup_layer`] : [path];

/** Text layers of the model whose vocabulary goes in the assets (not given as an argument), with their paths. */
function storedVocabularies(model: Model): { layer: Layer; path: string }[] {
  return kerasLayerPaths(model)
    .map(({ layerIndex, path }) => ({ layer: model.layers[layerIndex], path }))
    .filter(({ layer }) => textLayerSettings(layer) !== null && layer.config.vocabulary === null);
}

/** The assets entries of the model's `.keras` archive. */
export function textAssetEntries(model: Model): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  for (const { layer, path } of storedVocabularies(model)) {
    const state = vocabularyStateOf(layer.config);
    if (!state) continue;
    const text = new TextEncoder().encode(fullVocabulary(textLayerSettings(layer)!, state).map(String).join("\n"));
    for (const at of statePaths(layer, path)) out.push([`assets/${at}/vocabulary.txt`, text]);
  }
  return out;
}

/** Writes the tf_idf weights of the model's text layers (their `vars` groups exist already). */
export function writeTextVariables(file: H5Writer, model: Model): void {
  for (const { layerIndex, path } of kerasLayerPaths(model)) {
    const layer = model.layers[layerIndex];
    const idf = textLayerSettings(layer) ? vocabularyStateOf(layer.config)?.idfWeights : null;
    if (!idf) continue;
    for (const at of statePaths(layer, path))
      file.dataset(`${at}/vars/idf_weights`, Float32Array.from(idf), [idf.length]);
  }
}

/**
 * The model with its text layers' vocabularies from the archive's assets and tf_idf weights from its
 * weights file (`what` names the file in errors). A layer with no stored vocabulary stays unadapted.
 */
export function readTextState(
  fn: string,
  what: string,
  model: Model,
  assets: ReadonlyMap<string, Uint8Array>,
  file: H5Reader,
): Model {
  const stored = storedVocabularies(model);
  if (stored.length === 0) return model;
  const layers = [...model.layers];
  for (const { layer, path } of stored) {
    const s = textLayerSettings(layer)!;
    const bytes = statePaths(layer, path)
      .map((at) => assets.get(`assets/${at}/vocabulary.txt`))
      .find((b) => b !== undefined);
    if (!bytes) continue;
    const lines = new TextDecoder().decode(bytes).split(/\r\n|\r|\n/);
    while (lines.length && lines[lines.length - 1] === "") lines.pop();
    const tokens = s.tokenKind === "string" ? lines : lines.map(Number);
    if (tokens.some((t) => typeof t === "number" && !Number.isSafeInteger(t)))
      throw new KerasError(
        fn,
        `${what}: the vocabulary of layer "${layer.name}" holds a line that is not an integer`,
        "io",
      );
    let idf: number[] | null = null;
    if (s.outputMode === "tf_idf") {
      const at = statePaths(layer, path)
        .map((p) => `${p}/vars/idf_weights`)
        .find((p) => file.isDataset(p));
      if (!at) throw new KerasError(fn, `${what} has no idf_weights for tf_idf layer "${layer.name}"`, "io");
      idf = Array.from(file.read(at) as ArrayLike<number>, Number);
    }
    let state;
    try {
      state = givenVocabulary(fn, s, tokens, idf);
    } catch (e) {
      if (e instanceof KerasError) throw new KerasError(fn, `${what}: layer "${layer.name}": ${e.detail}`, "io");
      throw e;
    }
    const i = model.layers.indexOf(layer);
    layers[i] = withLayer(layer, { config: { ...layer.config, [VOCABULARY_STATE]: Object.freeze(state) } });
  }
  return withModel(model, { layers: Object.freeze(layers) });
}
