/**
 * The text classics against Keras 2's Tokenizer semantics: Keras 3.15.1 keeps that Tokenizer as
 * keras.src.legacy.preprocessing.text, whose outputs are in test/fixtures/data_utils/keras.json.
 */
import { expect } from "chai";
import {
  KerasError,
  fit_text_tokenizer,
  sequences_to_matrix,
  text_tokenizer,
  texts_to_matrix,
  texts_to_sequences,
} from "../../src/index.js";
import { expectArray, keras } from "./helpers.js";

const texts = [
  "The cat sat on the mat.",
  "The dog ate my homework!",
  "Dogs and cats, cats and DOGS; the end?",
  "Ünïcode wörds: Straße — naïve café",
  "tab\tseparated\nnew-line words",
];
const moreTexts = ["the mat and the dog", "unseen words here"];

const asRecord = (r: Readonly<Record<string | number, unknown>>) => ({ ...r });

describe("text_tokenizer / fit_text_tokenizer / texts_to_sequences / texts_to_matrix", () => {
  for (const c of keras.tokenizer) {
    describe(`Tokenizer(${JSON.stringify(c.args)})`, () => {
      const first = fit_text_tokenizer(text_tokenizer(c.args), texts);
      const tok = fit_text_tokenizer(first, moreTexts);

      it("counts and indexes words as Keras does (frequency order, first seen first among ties)", () => {
        expect(asRecord(first.word_index)).to.deep.equal(c.first_fit.word_index);
        expect(first.word_counts).to.deep.equal(c.first_fit.word_counts);
        expect(tok.word_counts).to.deep.equal(c.word_counts);
        expect(asRecord(tok.word_docs)).to.deep.equal(c.word_docs);
        expect(asRecord(tok.word_index)).to.deep.equal(c.word_index);
        expect(asRecord(tok.index_word)).to.deep.equal(c.index_word);
        expect(asRecord(tok.index_docs)).to.deep.equal(c.index_docs);
        expect(tok.document_count).to.equal(c.document_count);
      });

      it("converts texts to sequences (num_words cut and oov token at conversion)", () => {
        expect(texts_to_sequences(tok, [...texts, ...moreTexts, "words never seen"])).to.deep.equal(c.sequences);
      });

      for (const mode of ["binary", "count", "tfidf", "freq"] as const) {
        it(`texts_to_matrix mode "${mode}" (float32 here, float64 in Keras)`, () => {
          const got = texts_to_matrix(tok, [...texts, ...moreTexts], { mode });
          expect(got.data).to.be.instanceOf(Float32Array);
          expectArray(got, c.matrix[mode], { tol: 1e-7, dtype: false });
          const viaSequences = sequences_to_matrix(tok, texts_to_sequences(tok, [...texts, ...moreTexts]), { mode });
          expect(viaSequences).to.deep.equal(got);
        });
      }
    });
  }

  it("fitting returns a new tokenizer and leaves the old one as it was", () => {
    const empty = text_tokenizer();
    const a = fit_text_tokenizer(empty, ["a b b"]);
    const b = fit_text_tokenizer(a, "c c c");
    expect(empty.document_count).to.equal(0);
    expect(empty.word_counts).to.deep.equal([]);
    expect(asRecord(a.word_index)).to.deep.equal({ b: 1, a: 2 });
    expect(asRecord(b.word_index)).to.deep.equal({ c: 1, b: 2, a: 3 });
    expect(Object.isFrozen(a) && Object.isFrozen(a.word_index) && Object.isFrozen(a.word_counts)).to.equal(true);
  });

  it("treats words like `constructor` and `__proto__` as ordinary words", () => {
    // No filters: the default ones would turn "_" into spaces.
    const tok = fit_text_tokenizer(text_tokenizer({ filters: "" }), ["constructor __proto__ toString constructor"]);
    expect(tok.word_index.constructor).to.equal(1);
    expect(tok.word_index["__proto__"]).to.equal(2);
    expect(texts_to_sequences(tok, ["__proto__ hasOwnProperty constructor"])).to.deep.equal([[2, 1]]);
  });

  it("sequences_to_matrix leaves out indices from num_words on", () => {
    const tok = fit_text_tokenizer(text_tokenizer({ num_words: 3 }), ["a b c"]);
    expect(sequences_to_matrix(tok, [[1, 1, 2, 5]], { mode: "count" })).to.deep.equal({
      data: Float32Array.of(0, 2, 1),
      shape: [1, 3],
    });
    expect(sequences_to_matrix(tok, [[1, 3]], { mode: "freq" }).data).to.deep.equal(Float32Array.of(0, 0.5, 0));
  });

  it("rejects bad input with a KerasError naming the function and the argument", () => {
    const tok = fit_text_tokenizer(text_tokenizer(), ["a b"]);
    expect(() => text_tokenizer({ split: "" })).to.throw(
      KerasError,
      /^text_tokenizer\(\): `split` must be a non-empty string/,
    );
    expect(() => text_tokenizer({ num_word: 3 } as any)).to.throw(KerasError, /did you mean `num_words`/);
    expect(() => fit_text_tokenizer({ word_index: {} } as any, ["a"])).to.throw(
      KerasError,
      /^fit_text_tokenizer\(\): `tokenizer` must be a text_tokenizer\(\) value/,
    );
    expect(() => fit_text_tokenizer(tok, [1, 2] as any)).to.throw(
      KerasError,
      /`texts` must be a string or a list of strings/,
    );
    expect(() => texts_to_sequences(text_tokenizer(), ["a"])).to.throw(
      KerasError,
      /^texts_to_sequences\(\): the tokenizer has not been fitted/,
    );
    expect(() => sequences_to_matrix(tok, [[1, -1]])).to.throw(
      KerasError,
      /`sequences\[\[1\]\]` must hold word indices \(integers from 0\), got -1/,
    );
    expect(() => sequences_to_matrix(tok, [[1]], { mode: "tf-idf" } as any)).to.throw(
      KerasError,
      /`mode` must be one of "binary", "count", "tfidf", "freq"/,
    );
    expect(() => sequences_to_matrix(text_tokenizer(), [[1]])).to.throw(
      KerasError,
      /give the tokenizer `num_words`, or fit it/,
    );
    expect(() => sequences_to_matrix(text_tokenizer({ num_words: 4 }), [[1]], { mode: "tfidf" })).to.throw(
      KerasError,
      /fit the tokenizer on some texts before using mode "tfidf"/,
    );
  });
});
