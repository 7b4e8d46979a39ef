/**
 * What the three text layers share: the lookup arguments' codecs, a layer's vocabulary (given, or
 * learned by adapt() and kept in its config under `VOCABULARY_STATE`), and their Keras config form.
 */
import * as t from "io-ts";
import { Bool, Nullable, Num, OneOf, described, mixed } from "../../args.js";
import { KerasError } from "../../errors.js";
import type { Shape } from "../../model/types.js";
import {
  givenVocabulary,
  outputDepth,
  vocabularySize,
  type LookupSettings,
  type OutputMode,
  type Token,
  type VocabularyState,
} from "./lookup.js";

/** The config key holding a layer's vocabulary (given or adapted): not a Keras config key. */
export const VOCABULARY_STATE = "vocabulary_state";

export const OUTPUT_MODES: OutputMode[] = ["int", "one_hot", "multi_hot", "count", "tf_idf"];
export const OutputModeArg = OneOf(...OUTPUT_MODES);

/** A Keras argument this package supports at its default only (sparse and ragged outputs). */
export const OnlyFalse = (why: string) =>
  described(t.literal(false) as t.Type<false, false, unknown>, `FALSE (${why})`);

export const SafeInteger = described(
  t.refinement(t.number, Number.isSafeInteger),
  "an integer (a safe integer: at most 2^53 in size)",
);
export const StringList = described(t.array(t.string), "a vector of strings");
export const IntegerList = described(t.array(mixed(SafeInteger)), "a vector of integers");
export const IdfWeightsArg = Nullable(described(t.array(mixed(Num)), "a vector of finite numbers"));

/** The lookup arguments every text layer takes (with R keras's defaults). */
export const LOOKUP_PROPS = {
  /** The most indices the vocabulary may have, special tokens included (NULL: no limit). */
  max_tokens: Nullable(
    described(
      t.refinement(t.number, (n) => Number.isInteger(n) && n >= 1 && n <= 2 ** 31 - 1),
      "a positive integer",
    ),
  ),
  /** "int": token indices; "one_hot", "multi_hot", "count", "tf_idf": one value per vocabulary index. */
  output_mode: OutputModeArg,
  /** With multi_hot / count / tf_idf / one_hot: output `max_tokens` values whatever the vocabulary size. */
  pad_to_max_tokens: Bool,
  /** The inverse document frequency of each vocabulary entry, with a given `vocabulary` and tf_idf. */
  idf_weights: IdfWeightsArg,
  /** Sparse outputs: not available (outputs are dense). */
  sparse: OnlyFalse("sparse outputs are not available"),
};

/** The vocabulary a layer holds, or null before adapt() (and without `vocabulary`). */
export const vocabularyStateOf = (config: Readonly<Record<string, unknown>>): VocabularyState | null =>
  (config[VOCABULARY_STATE] as VocabularyState | null | undefined) ?? null;

/** The config with the vocabulary given as `vocabulary` / `idf_weights` checked and recorded. */
export function withGivenVocabulary<C extends Record<string, unknown>>(fn: string, s: LookupSettings, config: C): C {
  if (s.maxTokens !== null && s.maxTokens <= (s.maskToken !== null && s.outputMode === "int" ? 1 : 0) + s.numOovIndices)
    throw new KerasError(
      fn,
      `\`max_tokens\` = ${s.maxTokens} leaves no index for a token after the mask and OOV indices`,
    );
  if (s.padToMaxTokens && s.maxTokens === null && s.outputMode !== "int")
    throw new KerasError(fn, "`pad_to_max_tokens` = TRUE needs `max_tokens`");
  const vocabulary = config.vocabulary as Token[] | null;
  const idf = config.idf_weights as number[] | null;
  if (vocabulary === null) {
    if (idf !== null)
      throw new KerasError(fn, "`idf_weights` needs `vocabulary` (or adapt() the layer, which learns both)");
    return { ...config, [VOCABULARY_STATE]: null };
  }
  return { ...config, [VOCABULARY_STATE]: Object.freeze(givenVocabulary(fn, s, vocabulary, idf)) };
}

/** Keras's config of a text layer: its arguments, without the vocabulary state, with `vocabulary_size`. */
export function lookupKerasConfig(
  s: LookupSettings,
  config: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const own: Record<string, unknown> = { ...config };
  delete own[VOCABULARY_STATE];
  const state = vocabularyStateOf(config);
  own.vocabulary_size = state ? vocabularySize(s, state) : null;
  return own;
}

/**
 * The output shape of a lookup on `input`: int keeps the shape (as does inverting), one_hot adds an
 * axis of the vocabulary's depth (replacing a last axis of 1), multi_hot / count / tf_idf replace the
 * last axis by it.
 */
export function lookupOutputShape(
  fn: string,
  s: LookupSettings,
  config: Readonly<Record<string, unknown>>,
  input: Shape,
): Shape {
  if (s.outputMode === "int") return input;
  // A layer read from a Keras config gets its vocabulary from the file's assets after: its config says the size.
  const depth =
    outputDepth(s, vocabularyStateOf(config)) ?? (config.vocabulary_size as number | null | undefined) ?? null;
  if (s.outputMode === "one_hot")
    return input.length > 1 && input[input.length - 1] === 1 ? [...input.slice(0, -1), depth] : [...input, depth];
  if (input.length < 2)
    throw new KerasError(
      fn,
      `output_mode = "${s.outputMode}" needs inputs of shape (samples, tokens): give the model input the shape 1 or more tokens per sample`,
      "shape",
    );
  return [...input.slice(0, -1), depth];
}

/** A KerasError for a layer used without a vocabulary. */
export function noVocabulary(fn: string): never {
  throw new KerasError(fn, "the layer has no vocabulary yet: adapt() it to data or give `vocabulary`", "state");
}
