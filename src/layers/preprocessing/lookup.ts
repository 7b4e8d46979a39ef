/**
 * Keras's IndexLookup on the host: the vocabulary of string_lookup / integer_lookup / text_vectorization
 * (special tokens first, then tokens by frequency), looking tokens up and encoding rows of indices in
 * each output mode. Pure data: no tensors (the layers run before the tensor graph).
 */
import { KerasError } from "../../errors.js";

export type Token = string | number;
export type OutputMode = "int" | "one_hot" | "multi_hot" | "count" | "tf_idf";

/** The lookup arguments of a layer, as Keras's IndexLookup takes them. */
export interface LookupSettings {
  readonly maxTokens: number | null;
  readonly numOovIndices: number;
  readonly maskToken: Token | null;
  readonly oovToken: Token | null;
  readonly outputMode: OutputMode;
  readonly invert: boolean;
  readonly padToMaxTokens: boolean;
  readonly tokenKind: "string" | "integer";
}

/** A vocabulary: the tokens after the special ones, and with tf_idf the idf weight of every index. */
export interface VocabularyState {
  readonly tokens: readonly Token[];
  readonly idfWeights: readonly number[] | null;
}

/** The first OOV index: 1 when the mask token takes index 0 (int output only), else 0. */
export const oovStartIndex = (s: LookupSettings): number => (s.maskToken !== null && s.outputMode === "int" ? 1 : 0);
/** The first index of a learned or given token. */
export const tokenStartIndex = (s: LookupSettings): number => oovStartIndex(s) + s.numOovIndices;

/** The special tokens that start a full vocabulary: the mask token (int output) and the OOV tokens. */
export function specialTokens(s: LookupSettings): Token[] {
  return [
    ...(oovStartIndex(s) ? [s.maskToken as Token] : []),
    ...Array<Token>(s.numOovIndices).fill(s.oovToken as Token),
  ];
}

/** Keras's get_vocabulary(): the special tokens then the tokens, a token's position being its index. */
export function fullVocabulary(s: LookupSettings, v: VocabularyState, includeSpecial = true): Token[] {
  return includeSpecial ? [...specialTokens(s), ...v.tokens] : [...v.tokens];
}

export const vocabularySize = (s: LookupSettings, v: VocabularyState): number => tokenStartIndex(s) + v.tokens.length;

/** The width of multi_hot / count / tf_idf / one_hot outputs (null while there is no vocabulary). */
export function outputDepth(s: LookupSettings, v: VocabularyState | null): number | null {
  if (s.padToMaxTokens && s.maxTokens !== null) return s.maxTokens;
  return v ? vocabularySize(s, v) : null;
}

/** Strings in code-point order (the order of their UTF-8 bytes, which Keras sorts by). */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

const compareTokens = (a: Token, b: Token): number =>
  typeof a === "number" && typeof b === "number" ? a - b : compareCodePoints(String(a), String(b));

/** Token counts gathered by adapt(): occurrences, documents containing each token, documents. */
export interface TokenCounts {
  readonly counts: Map<Token, number>;
  readonly documentCounts: Map<Token, number>;
  documents: number;
}

export const newTokenCounts = (): TokenCounts => ({ counts: new Map(), documentCounts: new Map(), documents: 0 });

/** Counts one document's tokens (Keras's update_state for one row). */
export function countDocument(c: TokenCounts, tokens: readonly Token[]): void {
  for (const t of tokens) c.counts.set(t, (c.counts.get(t) ?? 0) + 1);
  for (const t of new Set(tokens)) c.documentCounts.set(t, (c.documentCounts.get(t) ?? 0) + 1);
  c.documents++;
}

/**
 * The vocabulary adapt() learns (Keras's finalize_state): the mask and OOV tokens left out, the most
 * frequent tokens first with ties in descending token order, at most `max_tokens` indices in all; with
 * tf_idf the idf weights log(1 + documents / (1 + documents with the token)), the special indices
 * weighted by their mean.
 */
export function learnVocabulary(s: LookupSettings, c: TokenCounts): VocabularyState {
  const entries = [...c.counts].filter(([t]) => t !== s.maskToken && t !== s.oovToken);
  entries.sort((a, b) => b[1] - a[1] || compareTokens(b[0], a[0]));
  const limit = s.maxTokens === null ? entries.length : Math.max(0, s.maxTokens - tokenStartIndex(s));
  const tokens = entries.slice(0, limit).map(([t]) => t);
  if (s.outputMode !== "tf_idf") return { tokens, idfWeights: null };
  const idf = tokens.map((t) => Math.fround(Math.log(1 + c.documents / (1 + (c.documentCounts.get(t) ?? 0)))));
  const mean = idf.length ? Math.fround(idf.reduce((a, b) => a + b, 0) / idf.length) : NaN;
  return { tokens, idfWeights: padIdf(s, [...Array<number>(tokenStartIndex(s)).fill(mean), ...idf]) };
}

/** The idf weights padded with zeros up to max_tokens when pad_to_max_tokens. */
function padIdf(s: LookupSettings, idf: number[]): number[] {
  if (!s.padToMaxTokens || s.maxTokens === null || idf.length >= s.maxTokens) return idf;
  return [...idf, ...Array<number>(s.maxTokens - idf.length).fill(0)];
}

const shown = (t: Token) => JSON.stringify(t);

/**
 * A given vocabulary (Keras's set_vocabulary): it may start with the special tokens, must not repeat
 * a token nor hold the mask token (or, inverting, the OOV token) elsewhere, and fits max_tokens. With
 * tf_idf, `idf_weights` has one weight per vocabulary entry (the special indices get their mean when
 * the vocabulary leaves them out).
 */
export function givenVocabulary(
  fn: string,
  s: LookupSettings,
  vocabulary: readonly Token[],
  idfWeights: readonly number[] | null,
): VocabularyState {
  if (vocabulary.length === 0) throw new KerasError(fn, "`vocabulary` is empty");
  const special = specialTokens(s);
  const start = special.length;
  const withSpecial = vocabulary.length >= start && special.every((t, i) => vocabulary[i] === t);
  const tokens = withSpecial ? vocabulary.slice(start) : [...vocabulary];
  const seen = new Set<Token>();
  const repeated = new Set<Token>();
  for (const t of tokens) (seen.has(t) ? repeated : seen).add(t);
  if (repeated.size)
    throw new KerasError(
      fn,
      `\`vocabulary\` repeats ${[...repeated].map(shown).join(", ")}; each token must appear once`,
    );
  const at = (t: Token) => vocabulary.lastIndexOf(t) + 1;
  if (s.maskToken !== null && seen.has(s.maskToken))
    throw new KerasError(
      fn,
      `\`vocabulary\` holds the mask token ${shown(s.maskToken)} at position ${at(s.maskToken)}: leave the mask and OOV tokens out, or put them first in this order: ${special.map(shown).join(", ")}`,
    );
  if (s.invert && s.oovToken !== null && seen.has(s.oovToken))
    throw new KerasError(
      fn,
      `\`vocabulary\` holds the OOV token ${shown(s.oovToken)} at position ${at(s.oovToken)}: leave the mask and OOV tokens out, or put them first in this order: ${special.map(shown).join(", ")}`,
    );
  const size = start + tokens.length;
  if (s.maxTokens !== null && size > s.maxTokens)
    throw new KerasError(
      fn,
      `\`vocabulary\` makes ${size} indices (with ${start} special), more than \`max_tokens\` = ${s.maxTokens}`,
    );
  if (s.outputMode !== "tf_idf") {
    if (idfWeights !== null)
      throw new KerasError(fn, `\`idf_weights\` is for output_mode = "tf_idf", not "${s.outputMode}"`);
    return { tokens, idfWeights: null };
  }
  if (idfWeights === null)
    throw new KerasError(fn, 'output_mode = "tf_idf" with a `vocabulary` needs `idf_weights` as well');
  if (idfWeights.length !== vocabulary.length)
    throw new KerasError(
      fn,
      `\`idf_weights\` must have one weight per vocabulary entry (${vocabulary.length}), got ${idfWeights.length}`,
    );
  const weights = idfWeights.map(Math.fround);
  const mean = Math.fround(weights.reduce((a, b) => a + b, 0) / weights.length);
  return {
    tokens,
    idfWeights: padIdf(s, withSpecial ? weights : [...Array<number>(start).fill(mean), ...weights]),
  };
}

/** Index lookup of one layer: token → index, with the mask and OOV rules. */
export interface Lookup {
  /** The index of a token; -1 for the mask token outside int output (dropped from the counts). */
  index(token: Token): number;
}

export function makeLookup(fn: string, s: LookupSettings, v: VocabularyState): Lookup {
  const start = tokenStartIndex(s);
  const oovStart = oovStartIndex(s);
  const table = new Map<Token, number>();
  // Keras's table is built from the tokens in order: a repeated token would keep its last index.
  v.tokens.forEach((t, i) => table.set(t, start + i));
  return {
    index(token) {
      if (s.maskToken !== null && token === s.maskToken) return s.outputMode === "int" ? 0 : -1;
      const i = table.get(token);
      if (i !== undefined) return i;
      if (s.numOovIndices === 1) return oovStart;
      if (s.numOovIndices === 0)
        throw new KerasError(
          fn,
          `${shown(token)} is not in the vocabulary and \`num_oov_indices\` = 0; give num_oov_indices = 1 for out-of-vocabulary tokens`,
        );
      // Integer tokens over several OOV indices: floormod (string tokens are refused when the layer is made).
      const n = s.numOovIndices;
      return oovStart + ((((token as number) % n) + n) % n);
    },
  };
}

/** Inverse lookup: index → token; the mask index gives the mask token, any other unknown index the OOV token. */
export function makeInverse(s: LookupSettings, v: VocabularyState): (index: number) => Token | null {
  const start = tokenStartIndex(s);
  return (i) => {
    if (s.maskToken !== null && i === 0) return s.maskToken;
    const k = i - start;
    return Number.isInteger(k) && k >= 0 && k < v.tokens.length ? v.tokens[k] : s.oovToken;
  };
}

/**
 * Rows of indices in a counting output mode, as Keras's encode_categorical_inputs: multi_hot marks
 * each index of the row, count and tf_idf count them (tf_idf then times the idf weights). Dropped
 * indices (-1: the mask) count nothing. One row of `depth` values per input row.
 */
export function encodeRows(
  s: LookupSettings,
  v: VocabularyState,
  rows: readonly (readonly number[])[],
  depth: number,
): Float32Array {
  const out = new Float32Array(rows.length * depth);
  rows.forEach((row, r) => {
    for (const i of row) {
      if (i < 0 || i >= depth) continue;
      if (s.outputMode === "multi_hot") out[r * depth + i] = 1;
      else out[r * depth + i] += 1;
    }
  });
  if (s.outputMode === "tf_idf") {
    const idf = v.idfWeights ?? [];
    for (let k = 0; k < out.length; k++) out[k] = Math.fround(out[k] * (idf[k % depth] ?? 0));
  }
  return out;
}
