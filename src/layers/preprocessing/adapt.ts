/**
 * adapt(), get_vocabulary(), set_vocabulary(): a text layer's vocabulary, learned from data or given.
 * Layers are values: adapt() and set_vocabulary() return a new layer holding the vocabulary.
 */
import * as t from "io-ts";
import {
  Bool,
  Nullable,
  PositiveInt,
  decodeArgs,
  decodeCall,
  described,
  mixed,
  refuseArgumentsPast,
} from "../../args.js";
import { KerasError, describeValue } from "../../errors.js";
import { familyOf, isLayer, newId, withLayer, type Layer } from "../../model/layer.js";
import { readHostTokens } from "./host_data.js";
import {
  countDocument,
  fullVocabulary,
  givenVocabulary,
  learnVocabulary,
  newTokenCounts,
  type LookupSettings,
  type Token,
  type TokenCounts,
} from "./lookup.js";
import { textLayerSettings } from "./settings.js";
import { textTokens } from "./text_vectorization.js";
import { IdfWeightsArg, VOCABULARY_STATE, vocabularyStateOf } from "./vocabulary.js";

function textLayer(fn: string, object: unknown): { layer: Layer; settings: LookupSettings } {
  const settings = isLayer(object) ? textLayerSettings(object) : null;
  if (settings) return { layer: object as Layer, settings };
  throw new KerasError(
    fn,
    `\`object\` must be a layer_text_vectorization(), layer_string_lookup() or layer_integer_lookup() layer, got ${isLayer(object) ? `a ${familyOf(object).fn}() layer` : describeValue(object)}`,
  );
}

/** Counts the documents of one batch: a sample's tokens (a row of a matrix, one string of a vector). */
function countBatch(fn: string, what: string, layer: Layer, s: LookupSettings, batch: unknown, c: TokenCounts): void {
  if (layer.className === "TextVectorization") {
    for (const row of textTokens(fn, what, layer.config, batch).rows) countDocument(c, row);
    return;
  }
  const { tokens, shape } = readHostTokens(fn, what, batch, s.tokenKind);
  const per = shape.length === 1 ? 1 : shape.slice(1).reduce((a, b) => a * b, 1);
  for (let i = 0; i * per < tokens.length || (per === 0 && i < shape[0]); i++)
    countDocument(c, tokens.slice(i * per, (i + 1) * per));
}

const isBatchIterable = (x: unknown): x is Iterable<unknown> =>
  x !== null && typeof x === "object" && !Array.isArray(x) && Symbol.iterator in x && !ArrayBuffer.isView(x);

const ADAPT_PROPS = {
  /** Ignored for arrays (the whole array is counted); kept for R keras's signature. */
  batch_size: Nullable(PositiveInt),
  /** With an iterable of batches: how many batches to read (NULL: all). */
  steps: Nullable(PositiveInt),
};

/**
 * `adapt(object, data, { batch_size = NULL, steps = NULL })`: a text layer that has learned its
 * vocabulary (and with tf_idf its idf weights) from `data` — an array of strings (one per sample; or
 * integers for layer_integer_lookup), or an iterable of such batches. Returns a NEW layer; `object` is
 * unchanged. The vocabulary: most frequent first, ties in descending token order, as in Keras.
 *
 * @example
 * const vectorize = adapt(layer_text_vectorization({ output_sequence_length: 8 }), ["the cat sat", "the dog ran"]);
 */
export function adapt<L extends Layer>(
  object: L,
  data: unknown,
  args: { batch_size?: number | null; steps?: number | null } = {},
): L {
  const fn = "adapt";
  refuseArgumentsPast(fn, ["object", "data", "args"], arguments);
  const { layer, settings } = textLayer(fn, object);
  const a = decodeArgs(fn, ADAPT_PROPS, args, { batch_size: null, steps: null });
  if (layer.config.vocabulary !== null)
    throw new KerasError(
      fn,
      `layer "${layer.name}" was given a \`vocabulary\`; it cannot be adapted (make it without \`vocabulary\`)`,
      "state",
    );
  const counts = newTokenCounts();
  if (isBatchIterable(data)) {
    let step = 0;
    for (const batch of data) {
      if (a.steps !== null && step >= a.steps) break;
      step++;
      countBatch(fn, `\`data\` batch ${step}`, layer, settings, batch, counts);
    }
  } else {
    if (a.steps !== null) throw new KerasError(fn, "`steps` is for an iterable of batches, not an array");
    countBatch(fn, "`data`", layer, settings, data, counts);
  }
  if (counts.documents === 0) throw new KerasError(fn, "`data` has no samples to learn a vocabulary from");
  const state = Object.freeze(learnVocabulary(settings, counts));
  return withLayer(layer, { id: newId(), origin: {}, config: { ...layer.config, [VOCABULARY_STATE]: state } }) as L;
}

/**
 * `get_vocabulary(object, { include_special_tokens = TRUE })`: the layer's vocabulary, a token's
 * position (from 0) being its index; without special tokens, the learned or given tokens alone.
 *
 * @example
 * get_vocabulary(vectorize); // ["", "[UNK]", "the", ...]
 */
export function get_vocabulary(object: Layer, args: { include_special_tokens?: boolean } = {}): Token[] {
  const fn = "get_vocabulary";
  refuseArgumentsPast(fn, ["object", "args"], arguments);
  const { layer, settings } = textLayer(fn, object);
  const a = decodeArgs(fn, { include_special_tokens: Bool }, args, { include_special_tokens: true });
  const state = vocabularyStateOf(layer.config) ?? { tokens: [], idfWeights: null };
  return fullVocabulary(settings, state, a.include_special_tokens);
}

const VOCABULARY_ARG = described(
  t.array(t.union([t.string, mixed(described(t.refinement(t.number, Number.isSafeInteger), "an integer"))])),
  "a vector of tokens",
);

/**
 * `set_vocabulary(object, vocabulary, { idf_weights = NULL })`: a NEW layer with this vocabulary
 * (and idf weights, for tf_idf), as adapt() would have learned it; it may start with the special tokens.
 *
 * @example
 * const lookup = set_vocabulary(layer_string_lookup(), ["a", "b", "c"]);
 */
export function set_vocabulary<L extends Layer>(
  object: L,
  vocabulary: readonly Token[],
  args: { idf_weights?: readonly number[] | null } = {},
): L {
  const fn = "set_vocabulary";
  refuseArgumentsPast(fn, ["object", "vocabulary", "args"], arguments);
  const { layer, settings } = textLayer(fn, object);
  const a = decodeCall(
    fn,
    { vocabulary: [VOCABULARY_ARG, vocabulary] },
    args,
    { idf_weights: IdfWeightsArg },
    { idf_weights: null },
  );
  const kind = settings.tokenKind === "string" ? "string" : "number";
  const bad = (a.vocabulary as Token[]).findIndex((v) => typeof v !== kind);
  if (bad >= 0)
    throw new KerasError(
      fn,
      `\`vocabulary\` must hold ${settings.tokenKind === "string" ? "strings" : "integers"}, element ${bad + 1} is ${describeValue(a.vocabulary[bad])}`,
    );
  const state = Object.freeze(givenVocabulary(fn, settings, a.vocabulary, a.idf_weights));
  // A layer made with `vocabulary` keeps it in its config (get_config writes it): that is replaced too.
  const given = layer.config.vocabulary !== null ? { vocabulary: a.vocabulary, idf_weights: a.idf_weights } : {};
  return withLayer(layer, {
    id: newId(),
    origin: {},
    config: { ...layer.config, ...given, [VOCABULARY_STATE]: state },
  }) as L;
}
