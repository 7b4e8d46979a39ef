/**
 * layer_text_vectorization (Keras's TextVectorization): raw strings → standardised, split, n-grams →
 * token indices padded to a length (or one_hot / multi_hot / count / tf_idf rows). A StringLookup with
 * mask token "" inside, as in Keras. Runs on the host, on the raw strings of a model input.
 */
import * as t from "io-ts";
import { FnOf, Nullable, OneOf, PositiveInt, described, mixed, type ConfigOf } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import type { Shape } from "../../model/types.js";
import { readHostTokens, type HostOutput } from "./host_data.js";
import { encodeRows, makeLookup, outputDepth, type LookupSettings, type VocabularyState } from "./lookup.js";
import { ngramsOf, splitText, standardizeText, type Split, type Standardize } from "./text.js";
import {
  LOOKUP_PROPS,
  OnlyFalse,
  StringList,
  lookupKerasConfig,
  lookupOutputShape,
  noVocabulary,
  vocabularyStateOf,
  withGivenVocabulary,
} from "./vocabulary.js";

const TEXT_VECTORIZATION_PROPS = {
  ...LOOKUP_PROPS,
  /** How strings are standardised before splitting: a built-in, a function (string) => string, or NULL. */
  standardize: Nullable(
    described(
      t.union([
        OneOf("lower_and_strip_punctuation", "lower", "strip_punctuation"),
        mixed(FnOf<(s: string) => string>()),
      ]),
      'one of "lower_and_strip_punctuation", "lower", "strip_punctuation", or a function (string) => string',
    ),
  ),
  /** How standardised strings become tokens: "whitespace", "character", a function, or NULL (one token). */
  split: Nullable(
    described(
      t.union([OneOf("whitespace", "character"), mixed(FnOf<(s: string) => readonly string[]>())]),
      'one of "whitespace", "character", or a function (string) => string[]',
    ),
  ),
  /** n-grams up to this width (2: tokens and bigrams), or a vector of widths; NULL: tokens only. */
  ngrams: Nullable(
    described(t.union([mixed(PositiveInt), t.array(mixed(PositiveInt))]), "a positive integer or a vector of them"),
  ),
  /** With output_mode "int": pad or truncate every sample to this many tokens (NULL: the longest sample). */
  output_sequence_length: Nullable(PositiveInt),
  /** The vocabulary (one string per token, most frequent first), instead of adapt(). */
  vocabulary: Nullable(StringList),
  /** Ragged outputs: not available (int outputs are padded with 0). */
  ragged: OnlyFalse("ragged outputs are not available"),
  /** The text encoding: UTF-8 (JavaScript strings are Unicode). */
  encoding: OneOf("utf-8"),
};

type TextVectorizationConfig = ConfigOf<typeof TEXT_VECTORIZATION_PROPS>;

const fn = "layer_text_vectorization";

/** The StringLookup inside: mask token "" (index 0 in int output), one OOV index "[UNK]". */
export function textLookupSettings(c: Readonly<Record<string, any>>): LookupSettings {
  return {
    maxTokens: c.max_tokens,
    numOovIndices: 1,
    maskToken: "",
    oovToken: "[UNK]",
    outputMode: c.output_mode,
    invert: false,
    padToMaxTokens: c.pad_to_max_tokens,
    tokenKind: "string",
  };
}

/** The n-gram widths: `ngrams` = n means 1 to n. */
const ngramWidths = (ngrams: number | readonly number[] | null): readonly number[] | null =>
  ngrams === null ? null : typeof ngrams === "number" ? Array.from({ length: ngrams }, (_, i) => i + 1) : ngrams;

/**
 * The tokens of each sample (Keras's _preprocess): standardised, split, n-grams. Input: a vector of
 * strings, or a matrix with one string per row; with split = NULL each string is one token.
 */
export function textTokens(
  callFn: string,
  what: string,
  c: Readonly<Record<string, any>>,
  x: unknown,
): { rows: string[][]; shape: number[] } {
  const data = readHostTokens(callFn, what, x, "string");
  const { shape } = data;
  if (c.split !== null && shape.length > 1 && (shape.length > 2 || shape[1] !== 1))
    throw new KerasError(
      callFn,
      `${what} must be a vector of strings or a matrix of one column to be split, got shape [${shape.join(", ")}]`,
      "shape",
    );
  const widths = ngramWidths(c.ngrams);
  const rows = (data.tokens as string[]).map((s) => {
    const tokens = splitText(
      callFn,
      c.split as Split | null,
      standardizeText(callFn, c.standardize as Standardize | null, s),
    );
    return widths ? ngramsOf(tokens, widths) : tokens;
  });
  return { rows, shape };
}

function encodeText(c: TextVectorizationConfig, x: unknown, callFn: string, what: string): HostOutput {
  const state = vocabularyStateOf(c) ?? noVocabulary(callFn);
  const s = textLookupSettings(c);
  const { rows, shape } = textTokens(callFn, what, c, x);
  const lookup = makeLookup(callFn, s, state);
  const indices = rows.map((r) => r.map((tok) => lookup.index(tok)));
  if (c.output_mode === "int") {
    // split = NULL keeps the input's shape (one token per string) unless a length is asked for.
    if (c.split === null && c.output_sequence_length === null)
      return { kind: "numbers", values: Float32Array.from(indices.flat()), shape };
    const length = c.output_sequence_length ?? Math.max(0, ...indices.map((r) => r.length));
    const values = new Float32Array(indices.length * length);
    indices.forEach((r, i) => values.set(r.slice(0, length), i * length));
    return { kind: "numbers", values, shape: [indices.length, length] };
  }
  const depth = outputDepth(s, state)!;
  if (c.output_mode === "one_hot") {
    if (indices.some((r) => r.length !== 1))
      throw new KerasError(callFn, 'output_mode = "one_hot" needs one token per sample (split = NULL)');
    return {
      kind: "numbers",
      values: encodeRows({ ...s, outputMode: "multi_hot" }, state, indices, depth),
      shape: [indices.length, depth],
    };
  }
  return { kind: "numbers", values: encodeRows(s, state, indices, depth), shape: [indices.length, depth] };
}

/**
 * `layer_text_vectorization(object, max_tokens = NULL, standardize = "lower_and_strip_punctuation",
 * split = "whitespace", ngrams = NULL, output_mode = "int", output_sequence_length = NULL,
 * pad_to_max_tokens = FALSE, vocabulary = NULL, idf_weights = NULL, ...)`: raw strings to token
 * indices. adapt() it to a corpus (or give `vocabulary`); as a model's first layer the model takes
 * raw strings.
 *
 * @example
 * const vectorize = adapt(layer_text_vectorization({ output_sequence_length: 4 }), ["the cat sat", "the dog"]);
 * vectorize(["the cat", "a bird"]); // [[2, 5, 0, 0], [1, 1, 0, 0]]
 */
export const layer_text_vectorization = defineLayer({
  className: "TextVectorization",
  fn,
  props: TEXT_VECTORIZATION_PROPS,
  configProps: { vocabulary_size: Nullable(described(t.number, "a number")) },
  defaults: {
    max_tokens: null,
    standardize: "lower_and_strip_punctuation",
    split: "whitespace",
    ngrams: null,
    output_mode: "int",
    output_sequence_length: null,
    pad_to_max_tokens: false,
    vocabulary: null,
    idf_weights: null,
    sparse: false,
    ragged: false,
    encoding: "utf-8",
  },
  validate: (c) => {
    if (c.output_mode !== "int" && c.output_sequence_length !== null)
      throw new KerasError(fn, `\`output_sequence_length\` is for output_mode = "int", not "${c.output_mode}"`);
    return withGivenVocabulary(fn, textLookupSettings(c), c);
  },
  // Keras's usual text input: one string per sample, layer_input(shape = 1, dtype = "string").
  impliedInputShape: () => [1],
  outputShape: (c, [input]) => {
    if (c.output_mode === "int") {
      if (c.split === null && c.output_sequence_length === null) return [input];
      return [[input[0], c.output_sequence_length] as Shape];
    }
    const rows: Shape = [input[0], 1];
    return [lookupOutputShape(fn, textLookupSettings(c), c, rows)];
  },
  forward: (_c, { inputs }) => ({ outputs: [inputs[0]] }),
  mask: "drop",
  toConfig: (c) => {
    const own = lookupKerasConfig(textLookupSettings(c), c);
    // A function is written as Keras writes a function reference; loading needs it in `custom_objects`.
    for (const key of ["standardize", "split"] as const)
      if (typeof own[key] === "function")
        own[key] = {
          module: "builtins",
          class_name: "function",
          config: (own[key] as (s: string) => unknown).name || "custom",
          registered_name: "function",
        };
    return own;
  },
  host: { inputDtype: () => "string", encode: encodeText },
});

export type { VocabularyState };
