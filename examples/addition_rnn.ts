/**
 * Learning to add (Keras's addition_rnn, R keras's addition_rnn.R): a sequence-to-sequence model reads
 * the characters of "12+345" and writes the characters of "357".
 *
 * An LSTM encoder reads the question into one vector; layer_repeat_vector() hands that vector to every
 * step of an LSTM decoder; time_distributed(layer_dense(softmax)) picks one character per answer step.
 * The questions are written reversed ("543+21"), as in Keras's example: the digits that are added first
 * are then read last, which makes the task easier to learn.
 * Run: npx tsx examples/addition_rnn.ts  (in your own project, import from "tskeras")
 */
import { pipe } from "fp-ts/lib/function.js";
import {
  keras_model_sequential,
  layer_lstm,
  layer_repeat_vector,
  time_distributed,
  layer_dense,
  compile,
  optimizer_adam,
  fit,
  evaluate,
  predict,
  to_categorical,
  set_random_seed,
} from "../src/index.js";

set_random_seed(1234); // the same weights, shuffling and data on every run

const DIGITS = 2; // numbers up to 99 (Keras's example uses 3 digits and trains for much longer)
const MAXLEN = DIGITS + 1 + DIGITS; // "99+99"
const ANSWER = DIGITS + 1; // "198"
const UNITS = 64; // the size of the encoder's summary of the question (Keras's example: 128)
const chars = "0123456789+ ";

// --- Data: every question a+b once, as text padded with spaces -------------------------------------
const questions: string[] = [];
const answers: string[] = [];
for (let a = 0; a < 10 ** DIGITS; a++)
  for (let b = a; b < 10 ** DIGITS; b++) {
    questions.push(`${a}+${b}`.padEnd(MAXLEN));
    answers.push(String(a + b).padEnd(ANSWER));
  }

// A random order of the questions (a seeded generator and a Fisher–Yates shuffle: the same split every run)
let state = 42;
const random = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const order = questions.map((_, i) => i);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}

// One-hot encoding: a string of n characters becomes n rows of 12 zeros with a one at the character.
const encode = (texts: string[], reverse: boolean) =>
  to_categorical(
    texts.map((t) => [...(reverse ? [...t].reverse().join("") : t)].map((c) => chars.indexOf(c))),
    { num_classes: chars.length },
  );
const decode = (probabilities: number[][]) => probabilities.map((p) => chars[p.indexOf(Math.max(...p))]).join("");

const split = Math.floor(order.length * 0.9);
const trainIds = order.slice(0, split);
const testIds = order.slice(split);
const pick = (ids: number[], texts: string[]) => ids.map((i) => texts[i]);
const x_train = encode(pick(trainIds, questions), true);
const y_train = encode(pick(trainIds, answers), false);
const x_test = encode(pick(testIds, questions), true);
const y_test = encode(pick(testIds, answers), false);
console.log(
  `${trainIds.length} training questions, ${testIds.length} held out; x: [${x_train.shape}], y: [${y_train.shape}]`,
);

// --- The model: encoder, repeat, decoder, one softmax per answer character -------------------------
const model = pipe(
  keras_model_sequential({ input_shape: [MAXLEN, chars.length] }),
  layer_lstm({ units: UNITS }), // the encoder: the whole question as one vector
  layer_repeat_vector({ n: ANSWER }), // that vector at each of the 3 answer steps
  layer_lstm({ units: UNITS, return_sequences: true }), // the decoder
  time_distributed({ layer: layer_dense({ units: chars.length, activation: "softmax" }) }),
  compile({
    loss: "categorical_crossentropy",
    optimizer: optimizer_adam({ learning_rate: 0.01 }),
    metrics: ["accuracy"],
  }),
);

const { model: trained } = await fit(model, x_train, y_train, {
  epochs: 20,
  batch_size: 64,
  verbose: 0,
});

// --- What it learned ---------------------------------------------------------------------------------
const scores = await evaluate(trained, x_test, y_test, { verbose: 0 });
const guesses: number[][][] = await predict(trained, x_test, { verbose: 0 });
const heldOut = pick(testIds, questions);
const truth = pick(testIds, answers);
const correct = guesses.filter((g, i) => decode(g) === truth[i]).length;
console.log(`Held-out character accuracy: ${(scores.accuracy * 100).toFixed(1)}%`);
console.log(
  `Held-out sums entirely right: ${correct} of ${testIds.length} (${((100 * correct) / testIds.length).toFixed(1)}%)\n`,
);
for (let i = 0; i < 8; i++) {
  const guess = decode(guesses[i]);
  console.log(`Q ${heldOut[i]} T ${truth[i]} ${guess === truth[i] ? "☑" : "☒"} ${guess}`);
}
