/**
 * Text classification with masking: padded token sequences → layer_embedding(mask_zero = TRUE) →
 * bidirectional LSTM → sigmoid. The mask makes the LSTM skip the padding.
 *
 * Task (synthetic, so it runs anywhere): a "review" is positive when it mentions more "good" words
 * (tokens 2–9) than "bad" ones (tokens 10–17); other tokens are neutral; 0 is padding.
 * Run: npx tsx examples/text_classification.ts  (in your project: import from "tskeras")
 */
import { pipe } from "fp-ts/lib/function.js";
import {
  backend_ready,
  keras_model_sequential,
  layer_embedding,
  bidirectional,
  layer_lstm,
  layer_dense,
  compile,
  fit,
  evaluate,
  predict,
  summary,
  rnn_fused_status,
} from "../src/index.js";

const vocabulary = 40;
const maxLength = 24;

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function makeReviews(n: number, seed: number) {
  const rand = lcg(seed);
  const x: number[][] = [];
  const y: number[][] = [];
  while (x.length < n) {
    const length = 6 + Math.floor(rand() * (maxLength - 6));
    const tokens = Array.from({ length }, () => 1 + Math.floor(rand() * (vocabulary - 1)));
    const good = tokens.filter((t) => t >= 2 && t <= 9).length;
    const bad = tokens.filter((t) => t >= 10 && t <= 17).length;
    if (good === bad) continue;
    x.push([...Array(maxLength - length).fill(0), ...tokens]); // pre-padding, as R's pad_sequences()
    y.push([good > bad ? 1 : 0]);
  }
  return { x, y };
}

await backend_ready();
const model = pipe(
  keras_model_sequential({ input_shape: [maxLength] }),
  layer_embedding({ input_dim: vocabulary, output_dim: 16, mask_zero: true }),
  bidirectional({ layer: layer_lstm({ units: 16 }) }),
  layer_dense({ units: 1, activation: "sigmoid" }),
  compile({ optimizer: "adam", loss: "binary_crossentropy", metrics: ["accuracy"] }),
);
summary(model);
console.log(rnn_fused_status(model)); // both LSTM directions run on the fused kernels

const train = makeReviews(1500, 1);
const test = makeReviews(300, 2);
const { model: trained } = await fit(model, train.x, train.y, { epochs: 12, batch_size: 32, validation_split: 0.2 });
const scores = await evaluate(trained, test.x, test.y, { verbose: 0 });
console.log(`\nTest accuracy: ${(scores.accuracy * 100).toFixed(1)}%`);

const examples = [
  [...Array(20).fill(0), 2, 3, 20, 4],
  [...Array(20).fill(0), 11, 25, 12, 13],
];
const p = (await predict(trained, examples, { verbose: 0 })) as number[][];
console.log(
  `P(positive) for a short good review: ${p[0][0].toFixed(3)}; for a short bad review: ${p[1][0].toFixed(3)}`,
);
