/**
 * The text layers on hand-derived cases (Keras's rules: vocabulary by count, ties in descending token
 * order; mask "" at 0 and "[UNK]" at 1 in text_vectorization; idf = log(1 + docs / (1 + docs with the
 * token)), special indices weighted by the mean), the errors of bad input, layers as values, models
 * taking raw strings, get_config / from_config, and .keras / tfjs files.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { unzipSync } from "fflate";
import { pipe } from "fp-ts/lib/function.js";
import * as k from "../../src/index.js";
import { KerasError } from "../../src/errors.js";
import { use_backend } from "../../src/backend/index.js";
import type { Tensor } from "../../src/backend/tf.js";

const run = (layer: (x: never) => unknown, x: unknown) => {
  const y = layer(x as never) as Tensor;
  const out = y.arraySync();
  y.dispose();
  return out;
};
const quiet = { verbose: 0 as const };

describe("text layers (hand-derived cases)", function () {
  this.timeout(60_000);
  before(async () => {
    await use_backend("cpu");
  });

  it("text_vectorization: counts, then descending token order; mask 0, OOV 1; padding to the longest", () => {
    // counts: the 3, cat 2, sat 1, on 1, mat 1 → the, cat, then sat > on > mat (descending order).
    const tv = k.adapt(k.layer_text_vectorization(), ["The cat sat", "the CAT on the mat."]);
    expect(k.get_vocabulary(tv)).to.deep.equal(["", "[UNK]", "the", "cat", "sat", "on", "mat"]);
    expect(k.get_vocabulary(tv, { include_special_tokens: false })).to.deep.equal(["the", "cat", "sat", "on", "mat"]);
    expect(run(tv, ["the dog sat", ""])).to.deep.equal([
      [2, 1, 4],
      [0, 0, 0],
    ]);
  });

  it("text_vectorization: output_sequence_length pads and truncates; ngrams add joined n-grams after the tokens", () => {
    const tv = k.adapt(k.layer_text_vectorization({ ngrams: 2, output_sequence_length: 4 }), ["a b", "a b"]);
    // a 2, b 2, "a b" 2 → ties in descending order: b, a b, a.
    expect(k.get_vocabulary(tv)).to.deep.equal(["", "[UNK]", "b", "a b", "a"]);
    expect(run(tv, ["a b", "b a b"])).to.deep.equal([
      [4, 2, 3, 0],
      [2, 4, 2, 1],
    ]);
  });

  it("text_vectorization: standardize lowercases ASCII only and strips ASCII punctuation; split on ASCII whitespace", () => {
    // "ÉCOLE" → "École" (É is not ASCII), "École," → "École", "école!\u00a0x" → one token (no-break space).
    const tv = k.adapt(k.layer_text_vectorization(), ["ÉCOLE École, école!\u00a0x"]);
    expect(k.get_vocabulary(tv)).to.deep.equal(["", "[UNK]", "École", "école\u00a0x"]);
  });

  it("tf_idf: Keras's idf and the mean for the OOV index", () => {
    const tv = k.adapt(k.layer_text_vectorization({ output_mode: "tf_idf" }), ["a b", "a"]);
    const [idfA, idfB] = [Math.log(1 + 2 / 3), Math.log(1 + 2 / 2)];
    const mean = (idfA + idfB) / 2;
    const y = run(tv, ["a a b z"]) as number[][];
    // [UNK] once, a twice, b once.
    [mean, 2 * idfA, idfB].forEach((v, i) => expect(y[0][i]).to.be.closeTo(v, 1e-6));
  });

  it("string and integer lookups: OOV, mask, multi_hot, invert, floormod OOV buckets", () => {
    const sl = k.layer_string_lookup({ vocabulary: ["a", "b"], mask_token: "" });
    expect(run(sl, [["a", "", "z"]])).to.deep.equal([[2, 0, 1]]);
    const mh = k.layer_string_lookup({ vocabulary: ["a", "b"], output_mode: "multi_hot" });
    expect(
      run(mh, [
        ["b", "b"],
        ["z", "a"],
      ]),
    ).to.deep.equal([
      [0, 0, 1],
      [1, 1, 0],
    ]);
    const inv = k.layer_string_lookup({ vocabulary: ["a", "b"], invert: true });
    expect(run(inv, [[0, 1, 2, 7]])).to.deep.equal([["[UNK]", "a", "b", "[UNK]"]]);
    // 2 OOV indices after mask 0: 8 → 1 + 8 mod 2 = 1, 9 → 2, -1 → 1 + 1 = 2.
    const il = k.layer_integer_lookup({ vocabulary: [7, 3], num_oov_indices: 2, mask_token: 0 });
    expect(run(il, [[0, 7, 3, 8, 9, -1]])).to.deep.equal([[0, 3, 4, 1, 2, 2]]);
  });

  it("adapt returns a new layer and leaves its argument unchanged", () => {
    const plain = k.layer_string_lookup();
    const adapted = k.adapt(plain, [["x", "y", "y"]]);
    expect(k.get_vocabulary(plain)).to.deep.equal(["[UNK]"]);
    expect(k.get_vocabulary(adapted)).to.deep.equal(["[UNK]", "y", "x"]);
    // An iterable of batches, `steps` of them read: the third batch ("w") is not.
    function* batches() {
      yield [["x", "y"]];
      yield [["y"]];
      yield [["w", "w", "w"]];
    }
    expect(k.get_vocabulary(k.adapt(plain, batches(), { steps: 2 }))).to.deep.equal(["[UNK]", "y", "x"]);
    const set = k.set_vocabulary(adapted, ["q"]);
    expect(k.get_vocabulary(set)).to.deep.equal(["[UNK]", "q"]);
    expect(k.get_vocabulary(adapted)).to.deep.equal(["[UNK]", "y", "x"]);
  });

  it("bad input is a KerasError naming the function and the argument", () => {
    const err = (f: () => unknown, re: RegExp) => expect(f).to.throw(KerasError, re);
    err(() => k.adapt(k.layer_text_vectorization(), []), /adapt\(\): `data` has no samples/);
    err(() => k.adapt(k.layer_text_vectorization(), [1, 2]), /adapt\(\): `data` must be strings/);
    err(() => k.adapt(k.layer_dense({ units: 1 }), ["a"]), /adapt\(\): `object` must be a layer_text_vectorization/);
    err(() => k.adapt(k.layer_string_lookup({ vocabulary: ["a"] }), [["a"]]), /adapt\(\): .*was given a `vocabulary`/);
    err(
      () => k.layer_string_lookup({ vocabulary: ["a", "b", "a"] }),
      /layer_string_lookup\(\): `vocabulary` repeats "a"/,
    );
    err(
      () => k.layer_text_vectorization({ output_mode: "bogus" as never }),
      /layer_text_vectorization\(\): `output_mode`/,
    );
    err(
      () => k.layer_text_vectorization({ output_mode: "multi_hot", output_sequence_length: 3 }),
      /output_sequence_length/,
    );
    err(
      () => k.layer_string_lookup({ invert: true, output_mode: "count" }),
      /`invert` = TRUE needs output_mode = "int"/,
    );
    err(() => k.layer_string_lookup({ num_oov_indices: 2 }), /`num_oov_indices` > 1 is not available for strings/);
    err(() => k.layer_text_vectorization()(["a"]), /has no vocabulary yet/);
    const tv = k.layer_text_vectorization({ vocabulary: ["a"] });
    err(() => tv([1, 2] as never), /layer_text_vectorization\(\): `object` must be strings/);
    err(() => tv([["a", "b"]]), /vector of strings or a matrix of one column/);
    err(() => k.layer_string_lookup({ vocabulary: ["a"], num_oov_indices: 0 })([["z"]]), /not in the vocabulary/);
    err(
      () => pipe(k.keras_model_sequential({ input_shape: [3] }), k.layer_dense({ units: 2 }), tv),
      /can only be the first layer/,
    );
    const input = k.layer_input({ shape: [3] });
    err(() => pipe(input, k.layer_dense({ units: 2 }), tv), /apply it to a layer_input\(\)/);
  });

  it("a raw-string input feeds its text layer only", async () => {
    const input = k.layer_input({ shape: [1], dtype: "string" });
    const tv = k.layer_text_vectorization({ vocabulary: ["a"], output_sequence_length: 1 });
    const both = k.keras_model({
      inputs: input,
      outputs: k.layer_add([tv(input), k.layer_dense(input, { units: 1 })]),
    });
    await expectReject(k.predict(both, ["a"], quiet), /feeds the text layer .* and layer "dense/);
  });

  it("a model starting with text_vectorization takes raw strings in fit / evaluate / predict", async () => {
    k.set_random_seed(1);
    const tv = k.adapt(k.layer_text_vectorization({ output_sequence_length: 3 }), ["good fun", "bad sad", "good"]);
    const model = pipe(
      k.keras_model_sequential(),
      tv,
      k.layer_embedding({ input_dim: 8, output_dim: 2, mask_zero: true }),
      k.layer_global_average_pooling_1d(),
      k.layer_dense({ units: 1, activation: "sigmoid" }),
      k.compile({ optimizer: "adam", loss: "binary_crossentropy" }),
    );
    expect(model.inputDtype).to.equal("string");
    const { model: trained } = await k.fit(model, ["good fun", "bad sad"], [1, 0], { epochs: 1, ...quiet });
    const loss = await k.evaluate(trained, ["good fun", "bad sad"], [1, 0], quiet);
    expect(loss.loss).to.be.a("number");
    const p = (await k.predict(trained, [["good"], ["sad"]], quiet)) as number[][];
    expect(p).to.have.length(2);
    await expectReject(k.predict(trained, [1, 2], quiet), /predict\(\): `x` must be strings/);
  });

  it("get_config / from_config keep the arguments (and, as in Keras, not an adapted vocabulary)", () => {
    const given = k.layer_text_vectorization({ vocabulary: ["x", "y"], ngrams: [1, 2], output_sequence_length: 5 });
    const config = JSON.parse(JSON.stringify(k.get_config(given)));
    expect(config.config).to.include({
      vocabulary_size: 4,
      output_sequence_length: 5,
      standardize: "lower_and_strip_punctuation",
    });
    const back = k.from_config(config) as typeof given;
    expect(k.get_vocabulary(back)).to.deep.equal(k.get_vocabulary(given));
    expect(run(back, ["x y z"])).to.deep.equal(run(given, ["x y z"]));
    const adapted = k.adapt(k.layer_integer_lookup(), [[5, 5, 6]]);
    expect(JSON.parse(JSON.stringify(k.get_config(adapted))).config.vocabulary).to.equal(null);
  });

  it(".keras: standardize / split functions are saved by name and come back from custom_objects", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tskeras-text-fn-"));
    try {
      const shout = (s: string) => s.toUpperCase();
      const commas = (s: string) => s.split(",");
      const tv = k.adapt(k.layer_text_vectorization({ standardize: shout, split: commas }), ["a,b", "b,c"]);
      expect(k.get_vocabulary(tv)).to.deep.equal(["", "[UNK]", "B", "C", "A"]);
      const model = pipe(k.keras_model_sequential(), tv, k.layer_embedding({ input_dim: 5, output_dim: 2 }));
      const file = join(dir, "fn.keras");
      await k.save_model(model, file);
      await expectReject(
        k.load_model(file),
        /custom_objects.*"shout" \(the `standardize` function of TextVectorization layer "text_vectorization"\).*"commas"/s,
      );
      const back = await k.load_model(file, { custom_objects: { shout, commas } });
      expect(await k.predict(back, ["a,z"], quiet)).to.deep.equal(await k.predict(model, ["a,z"], quiet));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(".keras: the vocabulary goes in the assets and comes back; tfjs refuses the layer by name", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tskeras-text-unit-"));
    try {
      const tv = k.adapt(k.layer_text_vectorization({ output_mode: "tf_idf", max_tokens: 6 }), ["a b c", "a b", "a"]);
      const model = pipe(k.keras_model_sequential(), tv, k.layer_dense({ units: 2 }));
      const file = join(dir, "m.keras");
      await k.save_model(model, file);
      const entries = unzipSync(readFileSync(file));
      expect(new TextDecoder().decode(entries["assets/layers/text_vectorization/vocabulary.txt"])).to.equal(
        "[UNK]\na\nb\nc",
      );
      expect(entries).to.have.property("assets/layers/text_vectorization/_lookup_layer/vocabulary.txt");
      const back = await k.load_model(file);
      const x = ["a c z", "b"];
      expect(await k.predict(back, x, quiet)).to.deep.equal(await k.predict(model, x, quiet));
      await expectReject(
        k.save_model_tfjs(model, join(dir, "tfjs")),
        /layer "text_vectorization" \(TextVectorization\): tfjs-layers 4.22 has no TextVectorization layer/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function expectReject(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(KerasError);
    expect((e as Error).message).to.match(re);
    return;
  }
  expect.fail(`expected a KerasError matching ${re}`);
}
