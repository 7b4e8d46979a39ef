/**
 * Keras's datasets under R keras's names: `dataset_mnist`, `dataset_fashion_mnist`, `dataset_imdb`
 * (+ `dataset_imdb_word_index`), `dataset_reuters` (+ `dataset_reuters_word_index`),
 * `dataset_boston_housing`. Files come from Keras's URLs through Keras's cache (see download.ts);
 * the post-processing (seeded shuffles, start / oov characters, index offsets, length and vocabulary
 * cuts) is Keras 3's, step for step, so the samples come in the same order as in Python.
 * Arrays are `{ data, shape }` records; the word-index sequences of imdb and reuters are `number[][]`.
 */
import * as t from "io-ts";
import { gunzipSync } from "node:zlib";
import { KerasError } from "../errors.js";
import { NonNegativeInt, Nullable, PositiveInt, decodeArgs, described, refuseArgumentsPast } from "../args.js";
import { NumpyRandomState } from "../ops/random.js";
import { arrayValue, size, type ArrayValue, type TypedArray } from "./arrays.js";
import { getFile, type RemoteFile } from "./download.js";
import { readNpz, type NpyArray } from "./npz.js";

/** R's `list(train = list(x, y), test = list(x, y))`. */
export interface Dataset<X, Y = ArrayValue> {
  readonly train: { readonly x: X; readonly y: Y };
  readonly test: { readonly x: X; readonly y: Y };
}

/** The sha256 / md5 hashes Keras 3.15 lists for its files (keras/src/datasets/*.py). */
const KERAS_FILES = {
  "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
  "imdb.npz": "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
  "imdb_word_index.json": "bfafd718b763782e994055a2d397834f",
  "reuters.npz": "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
  "reuters_word_index.json": "4d44cc38712099c9e383dc6e5f11a921",
  "boston_housing.npz": "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
} as const;

const remote = (source: keyof typeof KERAS_FILES, fname: string): RemoteFile => ({
  fname,
  source,
  hash: KERAS_FILES[source],
});

const Path = described(
  t.refinement(t.string, (s) => s.length > 0),
  "a file name",
);
const Seed = described(
  t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32),
  "an integer in [0, 2^32)",
);
const TestSplit = described(
  t.refinement(t.number, (n) => n >= 0 && n < 1),
  "a number in [0, 1)",
);

async function loadNpz(fn: string, file: RemoteFile, keys: readonly string[]): Promise<Record<string, NpyArray>> {
  const arrays = await readNpz(fn, file.fname, await getFile(fn, file));
  const missing = keys.filter((k) => !(k in arrays));
  if (missing.length)
    throw new KerasError(fn, `${file.fname} lacks the array(s) ${missing.join(", ")}: it is not Keras's file`, "io");
  return arrays;
}

function numeric(fn: string, file: string, key: string, a: NpyArray): ArrayValue {
  if (a.kind !== "numeric") throw new KerasError(fn, `${file}: ${key} must be a numeric array`, "io");
  return arrayValue(a.data, a.shape);
}

/** Rows `order` of an array (samples on the first axis). */
function takeRows(a: ArrayValue, order: ArrayLike<number>, from = 0, to = order.length): ArrayValue {
  const per = size(a.shape.slice(1));
  const Type = a.data.constructor as new (n: number) => TypedArray;
  const out = new Type((to - from) * per);
  for (let i = from; i < to; i++) out.set(a.data.subarray(order[i] * per, (order[i] + 1) * per), (i - from) * per);
  return arrayValue(out, [to - from, ...a.shape.slice(1)]);
}

const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

function freezeDataset<X, Y>(train: { x: X; y: Y }, test: { x: X; y: Y }): Dataset<X, Y> {
  return Object.freeze({ train: Object.freeze(train), test: Object.freeze(test) });
}

/**
 * `dataset_mnist({ path = "mnist.npz" })`: 60,000 training and 10,000 test images of handwritten digits,
 * 28 × 28 grey levels 0–255 (`x`: uint8 `[n, 28, 28]`) with their digit (`y`: uint8 `[n]`).
 *
 * @example
 * ```ts
 * const mnist = await dataset_mnist();
 * mnist.train.x.shape; // [60000, 28, 28]
 * ```
 */
export async function dataset_mnist(args: { path?: string } = {}): Promise<Dataset<ArrayValue>> {
  const fn = "dataset_mnist";
  refuseArgumentsPast(fn, ["args"], arguments);
  const a = decodeArgs(fn, { path: Path }, args, { path: "mnist.npz" });
  const file = remote("mnist.npz", a.path);
  const f = await loadNpz(fn, file, ["x_train", "y_train", "x_test", "y_test"]);
  const get = (k: string) => numeric(fn, file.fname, k, f[k]);
  return freezeDataset({ x: get("x_train"), y: get("y_train") }, { x: get("x_test"), y: get("y_test") });
}

/** An idx file (magic 0x0801 / 0x0803): its uint8 values after the header, checked against the header's sizes. */
function readIdx(fn: string, name: string, gz: Uint8Array): ArrayValue<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(gunzipSync(gz));
  } catch (e) {
    throw new KerasError(fn, `${name} is not a readable gzip file: ${(e as Error).message}`, "io");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = bytes.length >= 4 ? view.getUint32(0) : 0;
  const rank = magic & 0xff;
  if (magic >>> 8 !== 0x08 || rank < 1 || rank > 3 || bytes.length < 4 + 4 * rank)
    throw new KerasError(fn, `${name} is not an idx file of unsigned bytes`, "io");
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const data = bytes.slice(4 + 4 * rank);
  if (data.length !== size(shape))
    throw new KerasError(fn, `${name} holds ${data.length} values, not the ${size(shape)} its header says`, "io");
  return arrayValue(data, shape);
}

/**
 * `dataset_fashion_mnist()`: 60,000 training and 10,000 test 28 × 28 grey-level images of clothing
 * (`x`: uint8 `[n, 28, 28]`) in 10 classes (`y`: uint8 `[n]`), from Keras's four idx files (Keras lists no
 * hash for them: each download is checked as a complete gzip idx file before it is cached).
 *
 * @example
 * ```ts
 * const fashion = await dataset_fashion_mnist();
 * fashion.test.y.shape; // [10000]
 * ```
 */
export async function dataset_fashion_mnist(args: Record<string, never> = {}): Promise<Dataset<ArrayValue>> {
  const fn = "dataset_fashion_mnist";
  refuseArgumentsPast(fn, ["args"], arguments);
  decodeArgs(fn, {}, args, {});
  const part = async (name: string) =>
    readIdx(
      fn,
      name,
      await getFile(fn, {
        fname: name,
        source: name,
        hash: null,
        subdir: "fashion-mnist",
        validate: (bytes) => void readIdx(fn, name, bytes),
      }),
    );
  const [yTrain, xTrain, yTest, xTest] = [
    await part("train-labels-idx1-ubyte.gz"),
    await part("train-images-idx3-ubyte.gz"),
    await part("t10k-labels-idx1-ubyte.gz"),
    await part("t10k-images-idx3-ubyte.gz"),
  ];
  for (const [x, y] of [
    [xTrain, yTrain],
    [xTest, yTest],
  ])
    if (x.shape[0] !== y.shape[0] || y.shape.length !== 1)
      throw new KerasError(fn, `the fashion-mnist files disagree: ${x.shape[0]} images, ${y.shape[0]} labels`, "io");
  return freezeDataset({ x: xTrain, y: yTrain }, { x: xTest, y: yTest });
}

const SEQUENCE_PROPS = {
  path: Path,
  num_words: Nullable(PositiveInt),
  skip_top: NonNegativeInt,
  maxlen: Nullable(PositiveInt),
  seed: Seed,
  start_char: Nullable(NonNegativeInt),
  oov_char: Nullable(NonNegativeInt),
  index_from: NonNegativeInt,
};
const SEQUENCE_DEFAULTS = {
  num_words: null as number | null,
  skip_top: 0,
  maxlen: null as number | null,
  seed: 113,
  start_char: 1 as number | null,
  oov_char: 2 as number | null,
  index_from: 3,
};

export interface SequenceDatasetArgs {
  path?: string;
  num_words?: number | null;
  skip_top?: number;
  maxlen?: number | null;
  seed?: number;
  start_char?: number | null;
  oov_char?: number | null;
  index_from?: number;
}

/** Word-index sequences of an object array, each a list of integers. */
function sequencesOf(fn: string, file: string, key: string, a: NpyArray): number[][] {
  if (a.kind !== "object" || a.shape.length !== 1)
    throw new KerasError(fn, `${file}: ${key} must be an object array of sequences`, "io");
  return a.data.map((s, i) => {
    if (!Array.isArray(s) || !s.every((w) => Number.isInteger(w)))
      throw new KerasError(fn, `${file}: ${key}[${i}] is not a list of word indices`, "io");
    return s as number[];
  });
}

/** Keras's start_char / index_from step. */
function offsetWords(xs: readonly number[][], startChar: number | null, indexFrom: number): number[][] {
  return xs.map((x) => {
    const moved = indexFrom ? x.map((w) => w + indexFrom) : [...x];
    return startChar !== null ? [startChar, ...moved] : moved;
  });
}

/** Keras's `remove_long_seq`: keeps the sequences shorter than `maxlen`, with their labels. */
function removeLong(maxlen: number, xs: number[][], labels: ArrayLike<number>): [number[][], number[]] {
  const keep = xs.map((x, i) => [x, i] as const).filter(([x]) => x.length < maxlen);
  return [keep.map(([x]) => x), keep.map(([, i]) => labels[i])];
}

/** Keras's vocabulary step: words outside skip_top..num_words-1 become oov_char, or are dropped without one. */
function limitWords(xs: number[][], numWords: number | null, skipTop: number, oovChar: number | null): number[][] {
  let max = -Infinity;
  for (const x of xs) for (const w of x) if (w > max) max = w;
  const limit = numWords ?? max;
  return xs.map((x) =>
    oovChar !== null
      ? x.map((w) => (skipTop <= w && w < limit ? w : oovChar))
      : x.filter((w) => skipTop <= w && w < limit),
  );
}

const labelsValue = (labels: ArrayLike<number>, like: TypedArray): ArrayValue => {
  const Type = like.constructor as unknown as { from(a: ArrayLike<number>): TypedArray };
  return arrayValue(Type.from(labels), [labels.length]);
};

/**
 * `dataset_imdb({ path = "imdb.npz", num_words = NULL, skip_top = 0, maxlen = NULL, seed = 113,
 * start_char = 1, oov_char = 2, index_from = 3 })`: 25,000 training and 25,000 test movie reviews as word
 * indices (`x`: `number[][]`, word `i` of `dataset_imdb_word_index()` is `i + index_from`), labelled 0
 * (negative) or 1 (positive). `num_words` keeps the most frequent words (others become `oov_char`),
 * `skip_top` drops the most frequent ones, `maxlen` keeps reviews shorter than it; the samples are shuffled
 * with `seed` as Keras does.
 *
 * @example
 * ```ts
 * const imdb = await dataset_imdb({ num_words: 10000 });
 * const x = pad_sequences(imdb.train.x, { maxlen: 200 });
 * ```
 */
export async function dataset_imdb(args: SequenceDatasetArgs = {}): Promise<Dataset<number[][]>> {
  const fn = "dataset_imdb";
  refuseArgumentsPast(fn, ["args"], arguments);
  const a = decodeArgs(fn, SEQUENCE_PROPS, args, { path: "imdb.npz", ...SEQUENCE_DEFAULTS });
  const file = remote("imdb.npz", a.path);
  const f = await loadNpz(fn, file, ["x_train", "y_train", "x_test", "y_test"]);
  const rng = new NumpyRandomState(a.seed);
  const split = (xKey: string, yKey: string) => {
    const xs = sequencesOf(fn, file.fname, xKey, f[xKey]);
    const y = numeric(fn, file.fname, yKey, f[yKey]);
    if (y.shape.length !== 1 || y.shape[0] !== xs.length)
      throw new KerasError(fn, `${file.fname}: ${yKey} must hold one label per sequence of ${xKey}`, "io");
    const order = rng.shuffle(range(xs.length));
    return { xs: Array.from(order, (i) => xs[i]), labels: takeRows(y, order).data };
  };
  const train = split("x_train", "y_train");
  const test = split("x_test", "y_test");
  let xTrain = offsetWords(train.xs, a.start_char, a.index_from);
  let xTest = offsetWords(test.xs, a.start_char, a.index_from);
  let yTrain: ArrayLike<number> = train.labels;
  let yTest: ArrayLike<number> = test.labels;
  if (a.maxlen !== null) {
    [xTrain, yTrain] = removeLong(a.maxlen, xTrain, yTrain);
    [xTest, yTest] = removeLong(a.maxlen, xTest, yTest);
    if (!xTrain.length || !xTest.length)
      throw new KerasError(
        fn,
        `after filtering for sequences shorter than maxlen=${a.maxlen}, no sequence was kept; increase \`maxlen\``,
      );
  }
  const xs = limitWords([...xTrain, ...xTest], a.num_words, a.skip_top, a.oov_char);
  const like = train.labels;
  return freezeDataset(
    { x: xs.slice(0, xTrain.length), y: labelsValue(yTrain, like) },
    { x: xs.slice(xTrain.length), y: labelsValue(yTest, like) },
  );
}

/**
 * `dataset_reuters({ path = "reuters.npz", num_words = NULL, skip_top = 0, maxlen = NULL, test_split = 0.2,
 * seed = 113, start_char = 1, oov_char = 2, index_from = 3 })`: 11,228 newswires as word indices
 * (`x`: `number[][]`) in 46 topics (`y`), shuffled with `seed` and split at `1 - test_split`, as Keras does.
 *
 * @example
 * ```ts
 * const reuters = await dataset_reuters({ num_words: 10000 });
 * const y = to_categorical(reuters.train.y, { num_classes: 46 });
 * ```
 */
export async function dataset_reuters(
  args: SequenceDatasetArgs & { test_split?: number } = {},
): Promise<Dataset<number[][]>> {
  const fn = "dataset_reuters";
  refuseArgumentsPast(fn, ["args"], arguments);
  const a = decodeArgs(fn, { ...SEQUENCE_PROPS, test_split: TestSplit }, args, {
    path: "reuters.npz",
    test_split: 0.2,
    ...SEQUENCE_DEFAULTS,
  });
  const file = remote("reuters.npz", a.path);
  const f = await loadNpz(fn, file, ["x", "y"]);
  const all = sequencesOf(fn, file.fname, "x", f.x);
  const y = numeric(fn, file.fname, "y", f.y);
  if (y.shape.length !== 1 || y.shape[0] !== all.length)
    throw new KerasError(fn, `${file.fname}: y must hold one label per sequence of x`, "io");
  const order = new NumpyRandomState(a.seed).shuffle(range(all.length));
  let xs = offsetWords(
    Array.from(order, (i) => all[i]),
    a.start_char,
    a.index_from,
  );
  let labels: ArrayLike<number> = takeRows(y, order).data;
  if (a.maxlen !== null) [xs, labels] = removeLong(a.maxlen, xs, labels);
  xs = limitWords(xs, a.num_words, a.skip_top, a.oov_char);
  const at = Math.trunc(xs.length * (1 - a.test_split));
  const part = (from: number, to: number) => ({
    x: xs.slice(from, to),
    y: labelsValue(Array.prototype.slice.call(labels, from, to) as number[], y.data),
  });
  return freezeDataset(part(0, at), part(at, xs.length));
}

async function wordIndex(fn: string, file: RemoteFile): Promise<Readonly<Record<string, number>>> {
  const bytes = await getFile(fn, file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new KerasError(fn, `${file.fname} is not a JSON file: ${(e as Error).message}`, "io");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new KerasError(fn, `${file.fname} must hold a word → index record`, "io");
  const out = Object.create(null) as Record<string, number>;
  for (const [w, i] of Object.entries(parsed)) {
    if (!Number.isInteger(i))
      throw new KerasError(fn, `${file.fname}: the index of ${JSON.stringify(w)} is not an integer`, "io");
    out[w] = i as number;
  }
  return Object.freeze(out);
}

/**
 * `dataset_imdb_word_index({ path = "imdb_word_index.json" })`: word → rank in the imdb vocabulary (1 for the
 * most frequent). In `dataset_imdb()`'s sequences that word is `rank + index_from`.
 *
 * @example
 * ```ts
 * const index = await dataset_imdb_word_index();
 * index["good"]; // its rank (1 for the most frequent word)
 * ```
 */
export async function dataset_imdb_word_index(args: { path?: string } = {}): Promise<Readonly<Record<string, number>>> {
  const fn = "dataset_imdb_word_index";
  refuseArgumentsPast(fn, ["args"], arguments);
  const a = decodeArgs(fn, { path: Path }, args, { path: "imdb_word_index.json" });
  return wordIndex(fn, remote("imdb_word_index.json", a.path));
}

/**
 * `dataset_reuters_word_index({ path = "reuters_word_index.json" })`: word → rank in the reuters vocabulary.
 *
 * @example
 * ```ts
 * const index = await dataset_reuters_word_index();
 * ```
 */
export async function dataset_reuters_word_index(
  args: { path?: string } = {},
): Promise<Readonly<Record<string, number>>> {
  const fn = "dataset_reuters_word_index";
  refuseArgumentsPast(fn, ["args"], arguments);
  const a = decodeArgs(fn, { path: Path }, args, { path: "reuters_word_index.json" });
  return wordIndex(fn, remote("reuters_word_index.json", a.path));
}

/**
 * `dataset_boston_housing({ path = "boston_housing.npz", test_split = 0.2, seed = 113 })`: 506 Boston suburbs
 * of the 1970s, 13 features each (`x`: float64 `[n, 13]`) and the median home value in k$ (`y`: float64 `[n]`),
 * shuffled with `seed` and split at `1 - test_split`, as Keras does.
 *
 * @example
 * ```ts
 * const boston = await dataset_boston_housing();
 * boston.train.x.shape; // [404, 13]
 * ```
 */
export async function dataset_boston_housing(
  args: { path?: string; test_split?: number; seed?: number } = {},
): Promise<Dataset<ArrayValue>> {
  const fn = "dataset_boston_housing";
  refuseArgumentsPast(fn, ["args"], arguments);
  const a = decodeArgs(fn, { path: Path, test_split: TestSplit, seed: Seed }, args, {
    path: "boston_housing.npz",
    test_split: 0.2,
    seed: 113,
  });
  const file = remote("boston_housing.npz", a.path);
  const f = await loadNpz(fn, file, ["x", "y"]);
  const x = numeric(fn, file.fname, "x", f.x);
  const y = numeric(fn, file.fname, "y", f.y);
  if (x.shape[0] !== y.shape[0]) throw new KerasError(fn, `${file.fname}: x and y have different lengths`, "io");
  const order = new NumpyRandomState(a.seed).shuffle(range(x.shape[0]));
  const at = Math.trunc(x.shape[0] * (1 - a.test_split));
  return freezeDataset(
    { x: takeRows(x, order, 0, at), y: takeRows(y, order, 0, at) },
    { x: takeRows(x, order, at), y: takeRows(y, order, at) },
  );
}
