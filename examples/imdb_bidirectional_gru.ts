/**
 * Sentiment of movie reviews with a bidirectional GRU (R keras's imdb_bidirectional_lstm.R, on generated
 * reviews so that nothing is downloaded).
 *
 * A "review" is a run of words; it is positive when its praise outweighs its criticism, where "not"
 * turns the next word around ("not good" counts as criticism). Word order matters, so a recurrent layer
 * is the right tool. The steps are IMDB's: words → integer sequences (text_tokenizer), pad_sequences()
 * to one length, layer_embedding(mask_zero = TRUE) so the GRU skips the padding, bidirectional(layer_gru).
 * Run: npx tsx examples/imdb_bidirectional_gru.ts  (in your own project, import from "tskeras")
 */
import { pipe } from "fp-ts/lib/function.js";
import {
  keras_model_sequential,
  layer_embedding,
  bidirectional,
  layer_gru,
  layer_dropout,
  layer_dense,
  compile,
  fit,
  evaluate,
  predict,
  summary,
  text_tokenizer,
  fit_text_tokenizer,
  texts_to_sequences,
  pad_sequences,
  set_random_seed,
} from "../src/index.js";

set_random_seed(7); // the same weights and shuffling on every run

const maxlen = 40; // reviews are cut (at the start, as R's pad_sequences does) or padded to 40 words
const praise = ["good", "great", "superb", "fun", "moving", "brilliant", "clever", "charming"];
const criticism = ["bad", "boring", "awful", "dull", "silly", "weak", "clumsy", "tedious"];
const filler = "the a film movie plot actor scene story music ending cast it was and is of director script".split(" ");

// --- Generated reviews (a seeded generator: the same reviews every run) ------------------------------
let state = 11;
const random = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const choose = (words: string[]) => words[Math.floor(random() * words.length)];

function makeReviews(n: number) {
  const texts: string[] = [];
  const labels: number[][] = [];
  while (texts.length < n) {
    const words = Array.from({ length: 6 + Math.floor(random() * 30) }, () => {
      if (random() > 0.25) return [choose(filler)];
      const opinion = choose(random() < 0.5 ? praise : criticism);
      return random() < 0.4 ? ["not", opinion] : [opinion];
    }).flat();
    // the score of the words the model will see: +1 for praise, -1 for criticism, flipped after "not"
    const seen = words.slice(-maxlen);
    const score = seen.reduce((s, w, i) => {
      const sign = seen[i - 1] === "not" ? -1 : 1;
      return s + (praise.includes(w) ? sign : criticism.includes(w) ? -sign : 0);
    }, 0);
    if (score === 0) continue; // no clear verdict: leave it out
    texts.push(words.join(" "));
    labels.push([score > 0 ? 1 : 0]);
  }
  return { texts, labels };
}
const train = makeReviews(2000);
const test = makeReviews(500);
console.log(`A training review: "${train.texts[0]}" (label ${train.labels[0][0]})`);

// --- Words to padded integer sequences -------------------------------------------------------------
const tokenizer = fit_text_tokenizer(text_tokenizer({ num_words: 100 }), train.texts);
const x_train = pad_sequences(texts_to_sequences(tokenizer, train.texts), { maxlen });
const x_test = pad_sequences(texts_to_sequences(tokenizer, test.texts), { maxlen });
console.log(`x_train: [${x_train.shape}] (0 is padding; "not" is word ${tokenizer.word_index["not"]})\n`);

// --- The model -------------------------------------------------------------------------------------
const model = pipe(
  keras_model_sequential({ input_shape: [maxlen] }),
  layer_embedding({ input_dim: 100, output_dim: 16, mask_zero: true }),
  bidirectional({ layer: layer_gru({ units: 16 }) }), // one GRU reads left to right, one right to left
  layer_dropout({ rate: 0.3 }),
  layer_dense({ units: 1, activation: "sigmoid" }),
  compile({ optimizer: "adam", loss: "binary_crossentropy", metrics: ["accuracy"] }),
);
summary(model);

const { model: trained, history } = await fit(model, x_train, train.labels, {
  batch_size: 32,
  epochs: 15,
  validation_data: [x_test, test.labels],
  verbose: 0,
});

// Accuracy jumps once the model has learned what "not" does to the next word.
const accuracy = history.metrics.val_accuracy.map((a) => `${(a * 100).toFixed(0)}%`);
console.log(`\nValidation accuracy by epoch: ${accuracy.join(" ")}`);

// --- How well it reads -----------------------------------------------------------------------------
const scores = await evaluate(trained, x_test, test.labels, { verbose: 0 });
console.log(`Test accuracy: ${(scores.accuracy * 100).toFixed(1)}%`);
const mine = ["the plot was good and the music great", "the plot was not good and the music not great"];
const p: number[][] = await predict(trained, pad_sequences(texts_to_sequences(tokenizer, mine), { maxlen }), {
  verbose: 0,
});
mine.forEach((text, i) => console.log(`P(positive) = ${p[i][0].toFixed(3)} for "${text}"`));
