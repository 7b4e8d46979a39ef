/**
 * layer_string_lookup and layer_integer_lookup (Keras's IndexLookup): tokens → vocabulary indices (or
 * one_hot / multi_hot / count / tf_idf rows), or back with `invert = TRUE`. They run on the host, on the
 * raw data of a model input (see HostLayer); adapt() learns their vocabulary.
 */
import * as t from "io-ts";
import { Bool, NonNegativeInt, Nullable, OneOf, Str, described, type ConfigOf } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import type { LayerFamily } from "../../model/types.js";
import { readHostTokens, type HostOutput } from "./host_data.js";
import {
  encodeRows,
  makeInverse,
  makeLookup,
  outputDepth,
  type LookupSettings,
  type Token,
  type VocabularyState,
} from "./lookup.js";
import {
  IntegerList,
  LOOKUP_PROPS,
  SafeInteger,
  StringList,
  lookupKerasConfig,
  lookupOutputShape,
  noVocabulary,
  vocabularyStateOf,
  withGivenVocabulary,
} from "./vocabulary.js";

const STRING_LOOKUP_PROPS = {
  ...LOOKUP_PROPS,
  /** How many indices out-of-vocabulary tokens get (1: all share one; 0: they are an error). */
  num_oov_indices: NonNegativeInt,
  /** The token that means padding (index 0 in int output; counts nothing otherwise); NULL: none. */
  mask_token: Nullable(Str),
  /** The token out-of-vocabulary indices give back when inverting. */
  oov_token: Str,
  /** The vocabulary (one string per token, most frequent first), instead of adapt(). */
  vocabulary: Nullable(StringList),
  /** Keras's vocabulary dtype: "string" (or NULL) for string lookups. */
  vocabulary_dtype: Nullable(OneOf("string")),
  /** TRUE: map indices back to tokens (output_mode "int" only). */
  invert: Bool,
  /** The text encoding: UTF-8 (JavaScript strings are Unicode). */
  encoding: OneOf("utf-8"),
};

const INTEGER_LOOKUP_PROPS = {
  ...LOOKUP_PROPS,
  num_oov_indices: NonNegativeInt,
  mask_token: Nullable(SafeInteger),
  oov_token: SafeInteger,
  /** The vocabulary (one integer per token, most frequent first), instead of adapt(). */
  vocabulary: Nullable(IntegerList),
  /** Keras's vocabulary dtype: "int64" or "int32". */
  vocabulary_dtype: OneOf("int64", "int32"),
  invert: Bool,
};

/** Keras config keys of the lookups that R's functions do not take. */
const LOOKUP_CONFIG_PROPS = {
  vocabulary_size: Nullable(NonNegativeInt),
  oov_method: OneOf("floormod"),
  salt: described(t.null, "null"),
};

type LookupConfig = ConfigOf<typeof STRING_LOOKUP_PROPS> | ConfigOf<typeof INTEGER_LOOKUP_PROPS>;

const LOOKUP_DEFAULTS = {
  max_tokens: null,
  num_oov_indices: 1,
  mask_token: null,
  vocabulary: null,
  idf_weights: null,
  invert: false,
  output_mode: "int" as const,
  sparse: false as const,
  pad_to_max_tokens: false,
};

export function lookupSettings(c: Readonly<Record<string, any>>, tokenKind: "string" | "integer"): LookupSettings {
  return {
    maxTokens: c.max_tokens,
    numOovIndices: c.num_oov_indices,
    maskToken: c.mask_token,
    oovToken: c.oov_token,
    outputMode: c.output_mode,
    invert: c.invert ?? false,
    padToMaxTokens: c.pad_to_max_tokens,
    tokenKind,
  };
}

/** Encodes tokens of `shape` with a lookup (Keras's IndexLookup.call). */
export function lookupTokens(
  fn: string,
  s: LookupSettings,
  state: VocabularyState,
  tokens: readonly Token[],
  shape: readonly number[],
): HostOutput {
  if (s.invert) {
    const token = makeInverse(s, state);
    const out = tokens.map((i) => token(i as number));
    if (s.tokenKind === "string") return { kind: "strings", values: out as (string | null)[], shape };
    return { kind: "numbers", values: Float32Array.from(out as number[]), shape };
  }
  const lookup = makeLookup(fn, s, state);
  const indices = tokens.map((t) => lookup.index(t));
  if (s.outputMode === "int") return { kind: "numbers", values: Float32Array.from(indices), shape };
  const depth = outputDepth(s, state)!;
  if (s.outputMode === "one_hot") {
    const outShape =
      shape.length > 1 && shape[shape.length - 1] === 1 ? [...shape.slice(0, -1), depth] : [...shape, depth];
    return {
      kind: "numbers",
      values: encodeRows(
        { ...s, outputMode: "multi_hot" },
        state,
        indices.map((i) => [i]),
        depth,
      ),
      shape: outShape,
    };
  }
  // multi_hot / count / tf_idf: one row per last-axis vector (a vector of tokens is one row).
  const width = shape[shape.length - 1];
  const rows = Array.from({ length: width === 0 ? 0 : indices.length / width }, (_, r) =>
    indices.slice(r * width, (r + 1) * width),
  );
  if (width === 0) rows.push(...Array.from({ length: shape.slice(0, -1).reduce((a, b) => a * b, 1) }, () => []));
  return { kind: "numbers", values: encodeRows(s, state, rows, depth), shape: [...shape.slice(0, -1), depth] };
}

function lookupFamily<C extends LookupConfig>(tokenKind: "string" | "integer") {
  const fn = tokenKind === "string" ? "layer_string_lookup" : "layer_integer_lookup";
  return {
    validate: (c: C): C => {
      const s = lookupSettings(c, tokenKind);
      if (c.invert && c.output_mode !== "int")
        throw new KerasError(fn, `\`invert\` = TRUE needs output_mode = "int", got "${c.output_mode}"`);
      if (tokenKind === "string" && c.num_oov_indices > 1)
        throw new KerasError(
          fn,
          "`num_oov_indices` > 1 is not available for strings (Keras hashes them with FarmHash); use 0 or 1",
        );
      return withGivenVocabulary(fn, s, c);
    },
    outputShape: (c: C, [input]: readonly (readonly (number | null)[])[]) => [
      lookupOutputShape(fn, lookupSettings(c, tokenKind), c, input),
    ],
    forward: (_c: C, { inputs }: { inputs: readonly import("../../backend/tf.js").Tensor[] }) => ({
      outputs: [inputs[0]],
    }),
    mask: "drop" as const,
    toConfig: (c: C) => {
      const own = lookupKerasConfig(lookupSettings(c, tokenKind), c);
      // Keras's StringLookup sets its vocabulary dtype itself (a `vocabulary_dtype` key would be passed twice).
      if (tokenKind === "string") delete own.vocabulary_dtype;
      return { ...own, oov_method: "floormod", salt: null };
    },
    host: {
      inputDtype: (c: C) => (c.invert || tokenKind === "integer" ? "int64" : "string"),
      encode: (c: C, x: unknown, callFn: string, what: string): HostOutput => {
        const state = vocabularyStateOf(c) ?? noVocabulary(callFn);
        const s = lookupSettings(c, tokenKind);
        const data = readHostTokens(callFn, what, x, s.invert ? "integer" : tokenKind);
        return lookupTokens(callFn, s, state, data.tokens, data.shape);
      },
    },
  } satisfies Partial<LayerFamily<C>>;
}

/**
 * `layer_string_lookup(object, max_tokens = NULL, num_oov_indices = 1, mask_token = NULL, oov_token =
 * "[UNK]", vocabulary = NULL, idf_weights = NULL, invert = FALSE, output_mode = "int", ...)`: strings to
 * vocabulary indices. Give `vocabulary`, or adapt() it to data.
 *
 * @example
 * const lookup = layer_string_lookup({ vocabulary: ["a", "b", "c"] });
 * lookup([["a"], ["z"]]); // [[2], [0]]: index 0 is the OOV index
 */
export const layer_string_lookup = defineLayer({
  className: "StringLookup",
  fn: "layer_string_lookup",
  props: STRING_LOOKUP_PROPS,
  configProps: LOOKUP_CONFIG_PROPS,
  defaults: { ...LOOKUP_DEFAULTS, oov_token: "[UNK]", vocabulary_dtype: null, encoding: "utf-8" },
  ...lookupFamily<ConfigOf<typeof STRING_LOOKUP_PROPS>>("string"),
});

/**
 * `layer_integer_lookup(object, max_tokens = NULL, num_oov_indices = 1, mask_token = NULL, oov_token =
 * -1, vocabulary = NULL, vocabulary_dtype = "int64", idf_weights = NULL, invert = FALSE, output_mode =
 * "int", ...)`: integer tokens to vocabulary indices (out-of-vocabulary integers over several OOV indices
 * by their remainder, as Keras's floormod).
 *
 * @example
 * const lookup = adapt(layer_integer_lookup(), [12, 7, 12, 3]);
 * lookup([[12, 3, 99]]); // [[1, 3, 0]]: 12 is the most frequent, 7 beats 3 in a tie, 99 is unseen
 */
export const layer_integer_lookup = defineLayer({
  className: "IntegerLookup",
  fn: "layer_integer_lookup",
  props: INTEGER_LOOKUP_PROPS,
  configProps: LOOKUP_CONFIG_PROPS,
  defaults: { ...LOOKUP_DEFAULTS, oov_token: -1, vocabulary_dtype: "int64" },
  ...lookupFamily<ConfigOf<typeof INTEGER_LOOKUP_PROPS>>("integer"),
});
