/**
 * The README's quick start, as a script of this repository: a GRU learns the mean of the last step of
 * random sequences. Apart from this comment and the import path (in your own project, "tskeras"), the
 * code is the README's first example; test/integration/examples.test.ts checks that the two agree.
 * Run: npx tsx examples/quickstart.ts
 */
import { pipe } from "fp-ts/lib/function.js";
import { keras_model_sequential, layer_gru, layer_dense, compile, fit, summary } from "../src/index.js";

// 256 sequences of 50 steps x 16 features; the target is the mean of the last step
const x = Array.from({ length: 256 }, () => Array.from({ length: 50 }, () => Array.from({ length: 16 }, Math.random)));
const y = x.map((s) => [s[49].reduce((a, b) => a + b) / 16]);

const model = pipe(
  keras_model_sequential({ input_shape: [50, 16] }),
  layer_gru({ units: 64 }), // reset_after = TRUE, recurrent_activation = "sigmoid"
  layer_dense({ units: 1 }),
  compile({ optimizer: "adam", loss: "mse", metrics: ["mae"] }),
);
summary(model);
const { model: trained, history } = await fit(model, x, y, { epochs: 10, batch_size: 32 });

// Not in the README: what training achieved. `fit()` returned the trained model as a new value; the error
// of always predicting the average target is the bar a model that learned nothing cannot clear.
const losses = history.metrics.loss;
const average = y.reduce((s, [v]) => s + v, 0) / y.length;
const baseline = y.reduce((s, [v]) => s + (v - average) ** 2, 0) / y.length;
console.log(`\nfit() returned a new model value: ${trained !== model}`);
console.log(`training mse: epoch 1 ${losses[0].toFixed(4)}, epoch ${losses.length} ${losses.at(-1)!.toFixed(4)}`);
console.log(`mse of always predicting the average target: ${baseline.toFixed(4)}`);
