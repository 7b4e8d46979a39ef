/**
 * The text layers against real Keras 3.15.1, one Python call (text.py): vocabularies (order, ties,
 * special tokens) and outputs of layer_text_vectorization / layer_string_lookup / layer_integer_lookup
 * over a varied corpus (punctuation, unicode, case, empty strings, odd whitespace, n-grams, OOV, masks,
 * invert, every output mode); `.keras` files with text layers written here load in Keras and map the
 * same raw strings to the same outputs, and Keras's files load here and do the same.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import * as k from "../../../src/index.js";
import { use_backend } from "../../../src/backend/index.js";
import type { Layer } from "../../../src/model/layer.js";
import type { Tensor } from "../../../src/backend/tf.js";
import { requireKeras, runKeras } from "../../helpers/keras.js";

const script = readFileSync(join(import.meta.dirname, "text.py"), "utf8");
const quiet = { verbose: 0 as const };
const flatten = (v: unknown): unknown[] => (Array.isArray(v) ? v.flatMap(flatten) : [v]);

function expectClose(actual: unknown, expected: unknown, tol: number, what: string): void {
  const [a, e] = [flatten(actual), flatten(expected)];
  expect(a.length, `${what}: length`).to.equal(e.length);
  e.forEach((x, i) => {
    if (typeof x === "string") expect(a[i], `${what}[${i}]`).to.equal(x);
    else if (Math.abs((a[i] as number) - (x as number)) > tol * Math.max(1, Math.abs(x as number)))
      expect.fail(`${what}[${i}]: expected ${x}, got ${a[i]}`);
  });
}

const corpus = [
  "The cat sat on the mat.",
  "the CAT, the dog!",
  "",
  "Émile a vu l'ÉCOLE — très bien",
  "dog\tdog\ncat  mat",
  "naïve café; naïve",
  "a\u00a0b c\u2003d",
  "Σίσυφος ΣΊΣΥΦΟΣ 🙂 🙂",
  "   ",
  "x-y_z (parens) [brackets] {braces}",
  "the the the dog",
];
const probe = ["the cat", "", "unseen words here", "Émile 🙂 mat!", "dog dog cat the mat sat on", "CAT"];
const tokens = [
  ["a", "b", "a"],
  ["c", "[PAD]", "b"],
  ["é", "a", "zz"],
  ["b", "b", "b"],
];
const tokensProbe = [
  ["a", "q", "[PAD]"],
  ["é", "b", "zz"],
];
const ints = [
  [3, 3, 5],
  [7, 7, 7],
  [0, 5, 9],
  [12, 3, 0],
];
const intsProbe = [
  [3, 0, 8],
  [9, 7, -1],
];

type Case = { cls: string; args: Record<string, unknown>; adapt?: unknown; inputs: unknown };
const column = (xs: string[]) => xs.map((s) => [s]);

const cases: Case[] = [
  { cls: "TextVectorization", args: {}, adapt: corpus, inputs: probe },
  {
    cls: "TextVectorization",
    args: { max_tokens: 12, output_sequence_length: 6 },
    adapt: corpus,
    inputs: column(probe),
  },
  { cls: "TextVectorization", args: { ngrams: 2, output_sequence_length: 10 }, adapt: corpus, inputs: probe },
  { cls: "TextVectorization", args: { ngrams: [1, 3], output_sequence_length: 9 }, adapt: corpus, inputs: probe },
  {
    cls: "TextVectorization",
    args: { standardize: "lower", split: "character", output_sequence_length: 8 },
    adapt: corpus,
    inputs: probe,
  },
  { cls: "TextVectorization", args: { standardize: null, output_sequence_length: 5 }, adapt: corpus, inputs: probe },
  { cls: "TextVectorization", args: { standardize: "strip_punctuation" }, adapt: corpus, inputs: probe },
  { cls: "TextVectorization", args: { split: null }, adapt: corpus, inputs: column(corpus) },
  { cls: "TextVectorization", args: { output_mode: "multi_hot" }, adapt: corpus, inputs: probe },
  { cls: "TextVectorization", args: { output_mode: "count", ngrams: 2 }, adapt: corpus, inputs: probe },
  { cls: "TextVectorization", args: { output_mode: "tf_idf" }, adapt: corpus, inputs: probe },
  {
    cls: "TextVectorization",
    args: { output_mode: "tf_idf", max_tokens: 40, pad_to_max_tokens: true },
    adapt: corpus,
    inputs: probe,
  },
  {
    cls: "TextVectorization",
    args: { vocabulary: ["dog", "cat", "the"], output_sequence_length: 4 },
    inputs: probe,
  },
  {
    cls: "TextVectorization",
    args: { vocabulary: ["dog", "cat", "the"], idf_weights: [0.5, 1.5, 0.25], output_mode: "tf_idf" },
    inputs: probe,
  },
  { cls: "StringLookup", args: {}, adapt: tokens, inputs: tokensProbe },
  { cls: "StringLookup", args: { mask_token: "[PAD]", max_tokens: 5 }, adapt: tokens, inputs: tokensProbe },
  { cls: "StringLookup", args: { output_mode: "one_hot" }, adapt: tokens, inputs: ["a", "é", "nope"] },
  { cls: "StringLookup", args: { output_mode: "multi_hot", mask_token: "[PAD]" }, adapt: tokens, inputs: tokensProbe },
  { cls: "StringLookup", args: { output_mode: "count" }, adapt: tokens, inputs: tokensProbe },
  { cls: "StringLookup", args: { output_mode: "tf_idf" }, adapt: tokens, inputs: tokensProbe },
  {
    cls: "StringLookup",
    args: { num_oov_indices: 0 },
    adapt: tokens,
    inputs: [
      ["a", "é"],
      ["zz", "b"],
    ],
  },
  { cls: "StringLookup", args: { vocabulary: ["x", "y", "z"], invert: true }, inputs: [[0, 1, 2, 3, 9]] },
  {
    cls: "StringLookup",
    args: { vocabulary: ["[PAD]", "[UNK]", "x", "y"], mask_token: "[PAD]", invert: true },
    inputs: [[0, 1, 2, 3, 7]],
  },
  { cls: "IntegerLookup", args: {}, adapt: ints, inputs: intsProbe },
  { cls: "IntegerLookup", args: { num_oov_indices: 2, mask_token: 0 }, adapt: ints, inputs: intsProbe },
  { cls: "IntegerLookup", args: { output_mode: "multi_hot", max_tokens: 4 }, adapt: ints, inputs: intsProbe },
  { cls: "IntegerLookup", args: { output_mode: "tf_idf" }, adapt: ints, inputs: intsProbe },
  { cls: "IntegerLookup", args: { vocabulary: [12, 7, 5], invert: true }, inputs: [[0, 1, 2, 3, 4]] },
];

const FUNCTIONS: Record<string, (args: any) => Layer> = {
  TextVectorization: k.layer_text_vectorization,
  StringLookup: k.layer_string_lookup,
  IntegerLookup: k.layer_integer_lookup,
};

function makeLayer(c: Case): Layer {
  const layer = FUNCTIONS[c.cls](c.args);
  return c.adapt === undefined ? layer : k.adapt(layer, c.adapt);
}

const probeColumn = column(probe);

/** Models written here for Keras: text layers first, trained weights after them. */
async function tsModels(dir: string): Promise<{ file: string; inputs: unknown; expected: unknown }[]> {
  k.set_random_seed(11);
  const tv = k.adapt(k.layer_text_vectorization({ max_tokens: 25, output_sequence_length: 6 }), corpus);
  const sequential = pipe(
    k.keras_model_sequential(),
    tv,
    k.layer_embedding({ input_dim: 25, output_dim: 4, mask_zero: true }),
    k.layer_lstm({ units: 3 }),
    k.layer_dense({ units: 1, activation: "sigmoid" }),
    k.compile({ optimizer: "adam", loss: "binary_crossentropy" }),
  );
  const { model: trained } = await k.fit(
    sequential,
    corpus,
    corpus.map((_, i) => i % 2),
    { epochs: 2, ...quiet },
  );
  const input = k.layer_input({ shape: [1], dtype: "string" });
  const tfidf = k.adapt(k.layer_text_vectorization({ output_mode: "tf_idf", ngrams: 2 }), corpus);
  const functional = k.keras_model({ inputs: input, outputs: pipe(input, tfidf, k.layer_dense({ units: 2 })) });
  const lookup = k.adapt(k.layer_integer_lookup({ output_mode: "count", mask_token: 0 }), ints);
  const integer = pipe(k.keras_model_sequential({ input_shape: [3] }), lookup, k.layer_dense({ units: 2 }));
  const out = [];
  for (const [name, model, inputs] of [
    ["ts_text_sequential.keras", trained, probeColumn],
    ["ts_text_tfidf.keras", functional, probeColumn],
    ["ts_integer_lookup.keras", integer, intsProbe],
  ] as const) {
    const file = join(dir, name);
    await k.save_model(model, file);
    out.push({ file, inputs, expected: await k.predict(model, inputs, quiet) });
  }
  return out;
}

describe("text layers against Keras 3 (vocabularies, outputs, .keras files both ways)", function () {
  this.timeout(300_000);
  let dir: string;
  let mine: { file: string; inputs: unknown; expected: unknown }[];
  let oracle: {
    cases: { vocabulary: unknown[]; output: unknown }[];
    load: unknown[];
    layouts: { ours: unknown; keras: unknown }[];
    saved: { file: string; inputs: unknown; output: unknown }[];
  };

  before(async function () {
    requireKeras(this);
    await use_backend("cpu");
    dir = mkdtempSync(join(tmpdir(), "tskeras-text-"));
    mine = await tsModels(dir);
    oracle = runKeras(script, {
      cases,
      load: mine.map(({ file, inputs }) => ({ file, inputs })),
      corpus,
      probe,
      tokens,
      save_dir: dir,
    });
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it("learns Keras's vocabulary and gives Keras's outputs, case by case", () => {
    cases.forEach((c, i) => {
      const what = `case ${i + 1} (${c.cls} ${JSON.stringify(c.args)})`;
      const layer = makeLayer(c);
      expect(k.get_vocabulary(layer), `${what}: vocabulary`).to.deep.equal(oracle.cases[i].vocabulary);
      const y = layer(c.inputs as never) as unknown as Tensor;
      expect(y.shape, `${what}: shape`).to.deep.equal(shapeOf(oracle.cases[i].output));
      expectClose(y.arraySync(), oracle.cases[i].output, 1e-6, what);
      y.dispose();
    });
  });

  it("writes .keras files that Keras loads and runs on the same raw strings to the same outputs", () => {
    mine.forEach((m, i) => expectClose(oracle.load[i], m.expected, 1e-5, m.file));
  });

  it("the files written here have Keras's layout: Keras saving them again gives the same entries, assets and weight objects", () => {
    oracle.layouts.forEach(({ ours, keras }, i) => expect(ours, mine[i].file).to.deep.equal(keras));
  });

  it("loads Keras's .keras files with adapted text layers and predicts Keras's numbers from raw strings", async () => {
    for (const s of oracle.saved) {
      const model = await k.load_model(s.file);
      expectClose(await k.predict(model, s.inputs, quiet), s.output, 1e-5, s.file);
    }
  });
});

function shapeOf(v: unknown): number[] {
  const shape: number[] = [];
  for (let cur = v; Array.isArray(cur); cur = cur[0]) shape.push(cur.length);
  return shape;
}
