/**
 * R keras 2's text classics on Keras's legacy `Tokenizer` (keras.preprocessing.text): `text_tokenizer`,
 * `fit_text_tokenizer`, `texts_to_sequences`, `texts_to_matrix`, `sequences_to_matrix`. A tokenizer is a
 * value: fitting returns a new one.
 */
import * as t from "io-ts";
import { KerasError, describeValue } from "../errors.js";
import { Bool, Nullable, OneOf, PositiveInt, Str, decodeArgs, described, refuseArgumentsPast } from "../args.js";
import { allocate, arrayValue, readSequences, type ArrayInput, type ArrayValue } from "./arrays.js";

type Lookup<K extends string | number, V> = Readonly<Record<K, V>>;

/** A fitted or unfitted tokenizer (Keras's Tokenizer state, read-only). */
export interface TextTokenizer {
  readonly class: "Tokenizer";
  readonly num_words: number | null;
  readonly filters: string;
  readonly lower: boolean;
  readonly split: string;
  readonly char_level: boolean;
  readonly oov_token: string | null;
  /** Texts fitted so far. */
  readonly document_count: number;
  /** `[word, count]` in the order the words were first seen (Keras's OrderedDict). */
  readonly word_counts: readonly (readonly [string, number])[];
  /** Word → number of texts it occurs in. */
  readonly word_docs: Lookup<string, number>;
  /** Word → index, 1 for the most frequent (ties: first seen first); the oov token takes 1 when given. */
  readonly word_index: Lookup<string, number>;
  readonly index_word: Lookup<number, string>;
  /** Index → number of texts its word occurs in. */
  readonly index_docs: Lookup<number, number>;
}

const tokenizers = new WeakSet<object>();

const DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n';

const TOKENIZER_PROPS = {
  num_words: Nullable(PositiveInt),
  filters: Str,
  lower: Bool,
  split: described(
    t.refinement(t.string, (s) => s.length > 0),
    "a non-empty string",
  ),
  char_level: Bool,
  oov_token: Nullable(Str),
};

export interface TextTokenizerArgs {
  num_words?: number | null;
  filters?: string;
  lower?: boolean;
  split?: string;
  char_level?: boolean;
  oov_token?: string | null;
}

/** A frozen record without a prototype (a word such as "constructor" is an ordinary key). */
function lookup<K extends string | number, V>(entries: Iterable<readonly [K, V]>): Lookup<K, V> {
  const out = Object.create(null) as Record<K, V>;
  for (const [k, v] of entries) out[k] = v;
  return Object.freeze(out);
}

function makeTokenizer(fields: TextTokenizer): TextTokenizer {
  const tok = Object.freeze({ ...fields, word_counts: Object.freeze(fields.word_counts.map((e) => Object.freeze(e))) });
  tokenizers.add(tok);
  return tok;
}

/**
 * `text_tokenizer({ num_words = NULL, filters = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n', lower = TRUE,
 * split = " ", char_level = FALSE, oov_token = NULL })`: an unfitted tokenizer. Words are indexed by
 * frequency when fitted; `num_words` keeps only the `num_words - 1` most frequent ones when texts are
 * converted (the index itself keeps every word), `oov_token` stands for the others.
 *
 * @example
 * ```ts
 * const tok = fit_text_tokenizer(text_tokenizer({ num_words: 1000 }), ["The cat sat.", "The dog sat!"]);
 * texts_to_sequences(tok, ["the cat"]); // [[1, 3]]
 * ```
 */
export function text_tokenizer(args: TextTokenizerArgs = {}): TextTokenizer {
  refuseArgumentsPast("text_tokenizer", ["args"], arguments);
  const a = decodeArgs("text_tokenizer", TOKENIZER_PROPS, args, {
    num_words: null as number | null,
    filters: DEFAULT_FILTERS,
    lower: true,
    split: " ",
    char_level: false,
    oov_token: null as string | null,
  });
  return makeTokenizer({
    class: "Tokenizer",
    num_words: a.num_words,
    filters: a.filters,
    lower: a.lower,
    split: a.split,
    char_level: a.char_level,
    oov_token: a.oov_token,
    document_count: 0,
    word_counts: [],
    word_docs: lookup([]),
    word_index: lookup([]),
    index_word: lookup([]),
    index_docs: lookup([]),
  });
}

function checkTokenizer(fn: string, x: unknown): asserts x is TextTokenizer {
  if (x === null || typeof x !== "object" || !tokenizers.has(x))
    throw new KerasError(fn, `\`tokenizer\` must be a text_tokenizer() value, got ${describeValue(x)}`);
}

/** `texts`: one string, a list of strings, or a list of token lists (already split). */
function readTexts(fn: string, texts: unknown): (string | readonly string[])[] {
  // Array.from: a hole in a sparse list reads as undefined, which is not a text (every() skips holes).
  const isTokens = (s: unknown) => Array.isArray(s) && Array.from(s).every((w) => typeof w === "string");
  const list = typeof texts === "string" ? [texts] : Array.isArray(texts) ? Array.from(texts as unknown[]) : null;
  if (!list || !list.every((s) => typeof s === "string" || isTokens(s)))
    throw new KerasError(
      fn,
      `\`texts\` must be a string or a list of strings (or of token lists), got ${describeValue(texts)}`,
    );
  return list as (string | readonly string[])[];
}

const escapeForClass = (c: string) => c.replace(/[\\\]^-]/g, "\\$&");

/** Keras's `text_to_word_sequence` for `tok`: lower-cased, every filter character turned into `split`, split, empties dropped. */
function splitter(tok: TextTokenizer): (text: string | readonly string[]) => string[] {
  const filters = Array.from(tok.filters);
  const filter = filters.length ? new RegExp(`[${filters.map(escapeForClass).join("")}]`, "gu") : null;
  return (text) => {
    if (typeof text !== "string") return text.map((w) => (tok.lower ? w.toLowerCase() : w));
    const s = tok.lower ? text.toLowerCase() : text;
    if (tok.char_level) return Array.from(s);
    return (filter ? s.replace(filter, tok.split) : s).split(tok.split).filter((w) => w.length > 0);
  };
}

/**
 * `fit_text_tokenizer(tokenizer, texts)`: a new tokenizer that has also counted the words of `texts` (one
 * string or a list); `tokenizer` is unchanged.
 *
 * @example
 * ```ts
 * const tok = fit_text_tokenizer(text_tokenizer(), ["a b b", "b c"]);
 * tok.word_index; // { b: 1, a: 2, c: 3 }
 * ```
 */
export function fit_text_tokenizer(tokenizer: TextTokenizer, texts: string | readonly string[]): TextTokenizer {
  const fn = "fit_text_tokenizer";
  refuseArgumentsPast(fn, ["tokenizer", "texts"], arguments);
  checkTokenizer(fn, tokenizer);
  const list = readTexts(fn, texts);
  const counts = new Map<string, number>(tokenizer.word_counts);
  const docs = new Map<string, number>(Object.entries(tokenizer.word_docs));
  const tokens = splitter(tokenizer);
  for (const text of list) {
    const seq = tokens(text);
    for (const w of seq) counts.set(w, (counts.get(w) ?? 0) + 1);
    for (const w of new Set(seq)) docs.set(w, (docs.get(w) ?? 0) + 1);
  }
  // A stable sort by count keeps first-seen order among ties, as Python's does.
  const byCount = [...counts].sort((p, q) => q[1] - p[1]);
  const vocabulary = [...(tokenizer.oov_token === null ? [] : [tokenizer.oov_token]), ...byCount.map(([w]) => w)];
  // Later duplicates win, as in Python's dict(zip(...)): an oov token that also occurs in the texts
  // ends up at its frequency rank.
  const wordIndex = new Map<string, number>();
  vocabulary.forEach((w, i) => wordIndex.set(w, i + 1));
  return makeTokenizer({
    ...tokenizer,
    document_count: tokenizer.document_count + list.length,
    word_counts: [...counts],
    word_docs: lookup(docs),
    word_index: lookup(wordIndex),
    index_word: lookup([...wordIndex].map(([w, i]) => [i, w] as const)),
    index_docs: lookup([...docs].map(([w, c]) => [wordIndex.get(w)!, c] as const)),
  });
}

/**
 * `texts_to_sequences(tokenizer, texts)`: each text as its words' indices. Words the tokenizer has not seen,
 * or ranked at `num_words` or beyond, become the oov token's index, or are dropped without one.
 *
 * @example
 * ```ts
 * texts_to_sequences(tok, ["b a z"]); // [[1, 2]]
 * ```
 */
export function texts_to_sequences(tokenizer: TextTokenizer, texts: string | readonly string[]): number[][] {
  const fn = "texts_to_sequences";
  refuseArgumentsPast(fn, ["tokenizer", "texts"], arguments);
  checkTokenizer(fn, tokenizer);
  return toSequences(fn, tokenizer, readTexts(fn, texts));
}

function toSequences(fn: string, tok: TextTokenizer, texts: readonly (string | readonly string[])[]): number[][] {
  if (tok.document_count === 0)
    throw new KerasError(fn, "the tokenizer has not been fitted: use fit_text_tokenizer(tokenizer, texts) first");
  const numWords = tok.num_words;
  const oov = tok.oov_token === null ? undefined : tok.word_index[tok.oov_token];
  const tokens = splitter(tok);
  return texts.map((text) => {
    const out: number[] = [];
    for (const w of tokens(text)) {
      const i = tok.word_index[w];
      if (i === undefined || (numWords !== null && i >= numWords)) {
        if (oov !== undefined) out.push(oov);
      } else out.push(i);
    }
    return out;
  });
}

const MODES = ["binary", "count", "tfidf", "freq"] as const;
type MatrixMode = (typeof MODES)[number];
const MODE_PROPS = { mode: OneOf(...MODES) };

/**
 * `sequences_to_matrix(tokenizer, sequences, { mode = "binary" })`: one row per sequence, one column per word
 * index (`num_words` columns, or the vocabulary size + 1): "binary" marks the indices present, "count"
 * counts them, "freq" divides the counts by the sequence's length, "tfidf" weighs `1 + log(count)` by
 * `log(1 + documents / (1 + documents with the word))`. Indices from `num_words` on are left out.
 * The result is float32.
 *
 * @example
 * ```ts
 * sequences_to_matrix(tok, [[1, 1, 3]], { mode: "count" }); // { data: Float32Array [0, 2, 0, 1], shape: [1, 4] }
 * ```
 */
export function sequences_to_matrix(
  tokenizer: TextTokenizer,
  sequences: readonly ArrayInput[] | ArrayInput,
  args: { mode?: MatrixMode } = {},
): ArrayValue<Float32Array> {
  const fn = "sequences_to_matrix";
  refuseArgumentsPast(fn, ["tokenizer", "sequences", "args"], arguments);
  checkTokenizer(fn, tokenizer);
  const a = decodeArgs(fn, MODE_PROPS, args, { mode: "binary" as MatrixMode });
  const seqs = readSequences(fn, "sequences", sequences).map((s, i) => {
    if (s.shape.length !== 1)
      throw new KerasError(fn, `\`sequences[[${i + 1}]]\` must be a vector of word indices`, "shape");
    for (let k = 0; k < s.data.length; k++)
      if (!Number.isInteger(s.data[k]) || s.data[k] < 0)
        throw new KerasError(
          fn,
          `\`sequences[[${i + 1}]]\` must hold word indices (integers from 0), got ${s.data[k]}`,
        );
    return s.data;
  });
  return toMatrix(fn, tokenizer, seqs, a.mode as MatrixMode);
}

function toMatrix(
  fn: string,
  tok: TextTokenizer,
  seqs: readonly ArrayLike<number>[],
  mode: MatrixMode,
): ArrayValue<Float32Array> {
  const wordCount = Object.keys(tok.word_index).length;
  if (tok.num_words === null && wordCount === 0)
    throw new KerasError(fn, "give the tokenizer `num_words`, or fit it on some texts first");
  const columns = tok.num_words ?? wordCount + 1;
  if (mode === "tfidf" && tok.document_count === 0)
    throw new KerasError(fn, 'fit the tokenizer on some texts before using mode "tfidf"');
  const out = allocate(fn, Float32Array, seqs.length * columns, "the tokenizer's `num_words` is too large");
  seqs.forEach((seq, i) => {
    const counts = new Map<number, number>();
    for (let k = 0; k < seq.length; k++) if (seq[k] < columns) counts.set(seq[k], (counts.get(seq[k]) ?? 0) + 1);
    for (const [j, c] of counts) {
      out[i * columns + j] =
        mode === "count"
          ? c
          : mode === "freq"
            ? c / seq.length
            : mode === "binary"
              ? 1
              : (1 + Math.log(c)) * Math.log(1 + tok.document_count / (1 + (tok.index_docs[j] ?? 0)));
    }
  });
  return arrayValue(out, [seqs.length, columns]);
}

/**
 * `texts_to_matrix(tokenizer, texts, { mode = "binary" })`: `sequences_to_matrix` of `texts_to_sequences`.
 *
 * @example
 * ```ts
 * texts_to_matrix(tok, ["b b a"], { mode: "count" }); // { data: Float32Array [0, 2, 1, 0], shape: [1, 4] }
 * ```
 */
export function texts_to_matrix(
  tokenizer: TextTokenizer,
  texts: string | readonly string[],
  args: { mode?: MatrixMode } = {},
): ArrayValue<Float32Array> {
  const fn = "texts_to_matrix";
  refuseArgumentsPast(fn, ["tokenizer", "texts", "args"], arguments);
  checkTokenizer(fn, tokenizer);
  const a = decodeArgs(fn, MODE_PROPS, args, { mode: "binary" as MatrixMode });
  return toMatrix(fn, tokenizer, toSequences(fn, tokenizer, readTexts(fn, texts)), a.mode as MatrixMode);
}
