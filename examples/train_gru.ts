/**
 * The main job (`npm start`): build a small GRU model with pipes, train it end to end on the default
 * backend with a live progress bar, evaluate and predict, then write the training history plot. It calls
 * set_random_seed(), so every run prints the same numbers.
 *
 * Task: each sample is 20 noisy steps of a sine wave (phase and frequency vary); predict the next value.
 * In your own project, import from "tskeras" instead of "../src/index.js".
 */
import { mkdirSync } from "node:fs";
import { pipe } from "fp-ts/lib/function.js";
import {
  backend_ready,
  keras_model_sequential,
  layer_gru,
  layer_dense,
  compile,
  fit,
  evaluate,
  predict,
  summary,
  print_history,
  plot_history,
  callback_early_stopping,
  set_random_seed,
} from "../src/index.js";

const timesteps = 20;
const samples = 1024;

/** Deterministic pseudo-random numbers, so every run trains on the same data. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function makeData(n: number, seed: number) {
  const rand = lcg(seed);
  const x: number[][][] = [];
  const y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const phase = rand() * 2 * Math.PI;
    const freq = 0.15 + rand() * 0.25;
    const wave = (t: number) => Math.sin(phase + freq * t);
    x.push(Array.from({ length: timesteps }, (_, t) => [wave(t) + (rand() - 0.5) * 0.1]));
    y.push([wave(timesteps)]);
  }
  return { x, y };
}

// The same initial weights and the same shuffling on every run: the numbers below do not change.
set_random_seed(42);

const info = await backend_ready();
console.log(
  `Backend: ${info.backend} (${info.package} ${info.version})${info.not_used.length ? `; not used: ${info.not_used.join("; ")}` : ""}\n`,
);

const model = pipe(
  keras_model_sequential({ input_shape: [timesteps, 1], name: "sine_forecaster" }),
  layer_gru({ units: 32 }),
  layer_dense({ units: 1 }),
  compile({ optimizer: "adam", loss: "mse", metrics: ["mae"] }),
);
summary(model);

const train = makeData(samples, 42);
const test = makeData(256, 7);
const { model: trained, history } = await fit(model, train.x, train.y, {
  epochs: 15,
  batch_size: 32,
  validation_split: 0.2,
  callbacks: [callback_early_stopping({ monitor: "val_loss", patience: 3, restore_best_weights: true })],
});

print_history(history);
const scores = await evaluate(trained, test.x, test.y, { verbose: 0 });
console.log(`\nTest loss (mse): ${scores.loss.toFixed(4)}, test mae: ${scores.mae.toFixed(4)}`);

const preds = (await predict(trained, test.x.slice(0, 3), { verbose: 0 })) as number[][];
preds.forEach((p, i) =>
  console.log(`  sample ${i + 1}: predicted ${p[0].toFixed(3)}, actual ${test.y[i][0].toFixed(3)}`),
);

mkdirSync("examples/output", { recursive: true });
const file = "examples/output/history.svg";
await plot_history(history, { file });
console.log(`\nTraining history plot written to ${file}`);
