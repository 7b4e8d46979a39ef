/**
 * A custom layer with new_layer_class(): attention pooling over time. The layer learns one query vector;
 * each timestep scores `x_t . query / sqrt(features)`, padded steps (the embedding's mask) get no weight,
 * and the output is the softmax-weighted mean of the steps. It declares its weight in `build`, reads
 * the mask in `call`, consumes the mask (the output has no time axis) and saves with the model.
 *
 * Task: sequences of 3-12 tokens out of 1..9 (0 pads to 12); the label says whether token 7 occurs.
 * A mean over time dilutes one 7 among many tokens; attention learns to look for it. Trains in seconds,
 * prints the accuracy, then saves the model, loads it back with `custom_objects` and checks that the
 * reloaded model predicts the same. In your own project, import from "tskeras" instead of "../src/index.js".
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipe } from "fp-ts/lib/function.js";
import {
  backend_ready,
  compile,
  evaluate,
  fit,
  keras_model_sequential,
  layer_dense,
  layer_embedding,
  load_model,
  new_layer_class,
  predict,
  save_model,
  set_random_seed,
  summary,
} from "../src/index.js";
// The tensor operations a layer's `call` uses: TensorFlow.js, the instance tskeras runs on.
import * as tf from "@tensorflow/tfjs";

const layer_attention_pooling = new_layer_class({
  classname: "AttentionPooling",
  arguments: { temperature: 1 },
  // input_shape is (batch, time, features): one query of `features` values.
  build: (input_shape, { add_weight }) => ({
    query: add_weight({ shape: [input_shape.at(-1)!], initializer: "glorot_uniform" }),
  }),
  call: (x, { weights, mask, config }) => {
    const features = x.shape[x.shape.length - 1];
    // scores: (batch, time)
    const scores = tf.div(tf.sum(tf.mul(x, weights.query), -1), Math.sqrt(features) * config.temperature);
    // Padded steps get a score of -1e9: after the softmax their weight is 0.
    const masked = mask ? tf.where(mask, scores, tf.fill(scores.shape, -1e9)) : scores;
    const attention = tf.expandDims(tf.softmax(masked), -1);
    return tf.sum(tf.mul(x, attention), 1);
  },
  compute_output_shape: (input_shape) => [input_shape[0], input_shape[2]],
  // The time axis is gone: no mask goes on.
  compute_mask: () => null,
});

/** Deterministic pseudo-random numbers, so every run trains on the same data. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const MAX_LEN = 12;
function makeData(n: number, seed: number) {
  const rand = lcg(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const x: number[][] = [];
  const y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const length = int(3, MAX_LEN);
    // Tokens 1..9 except 7; half the sequences get one 7 somewhere.
    const tokens = Array.from({ length }, () => [1, 2, 3, 4, 5, 6, 8, 9][int(0, 7)]);
    const positive = rand() < 0.5;
    if (positive) tokens[int(0, length - 1)] = 7;
    x.push([...tokens, ...Array(MAX_LEN - length).fill(0)]);
    y.push([positive ? 1 : 0]);
  }
  return { x, y };
}

await backend_ready();
set_random_seed(42);
const train = makeData(600, 1);
const test = makeData(200, 2);

const model = pipe(
  keras_model_sequential({ input_shape: [MAX_LEN] }),
  layer_embedding({ input_dim: 10, output_dim: 8, mask_zero: true }),
  layer_attention_pooling(),
  layer_dense({ units: 1, activation: "sigmoid" }),
  compile({ optimizer: "adam", loss: "binary_crossentropy", metrics: ["accuracy"] }),
);
summary(model);

const { model: trained } = await fit(model, train.x, train.y, { epochs: 30, batch_size: 32, verbose: 0 });
const scores = await evaluate(trained, test.x, test.y, { verbose: 0 });
console.log(`test accuracy: ${scores.accuracy.toFixed(3)} (loss ${scores.loss.toFixed(3)})`);
if (scores.accuracy < 0.9) throw new Error(`attention pooling should find the 7s: accuracy ${scores.accuracy}`);

// Save and load: the file names the class; custom_objects gives its layer function back.
const dir = mkdtempSync(join(tmpdir(), "custom-layer-"));
try {
  const file = join(dir, "attention.keras");
  await save_model(trained, file);
  const reloaded = await load_model(file, { custom_objects: { AttentionPooling: layer_attention_pooling } });
  const before = (await predict(trained, test.x.slice(0, 5), { verbose: 0 })) as number[][];
  const after = (await predict(reloaded, test.x.slice(0, 5), { verbose: 0 })) as number[][];
  const diff = Math.max(...before.map((row, i) => Math.abs(row[0] - after[i][0])));
  console.log(`reloaded from ${file}: largest prediction difference ${diff}`);
  if (diff > 1e-6) throw new Error("the reloaded model predicts differently");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
