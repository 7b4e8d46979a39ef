/**
 * A stateful LSTM on a damped cosine (R keras's lstm_stateful.R), compared with a stateless one.
 *
 * Each sample is ONE value of the series and the target is the next value. From one value alone you
 * cannot tell whether the wave is going up or down, so a stateless LSTM can only guess; a stateful LSTM
 * keeps its state from one batch to the next and so remembers where the wave came from.
 * Stateful training, as in R: a fixed batch size (batch_input_shape), shuffle = FALSE (fit's default for
 * stateful models), one epoch per fit() call and reset_states() between epochs.
 * Run: npx tsx examples/stateful_lstm.ts  (in your own project, import from "tskeras")
 */
import { pipe } from "fp-ts/lib/function.js";
import {
  keras_model_sequential,
  layer_lstm,
  layer_dense,
  compile,
  fit,
  evaluate,
  predict,
  reset_states,
  set_random_seed,
  type History,
  type Model,
} from "../src/index.js";

set_random_seed(2024); // the same initial weights on every run

const batch_size = 20; // 20 parallel streams of the series
const tsteps = 1; // one timestep per sample: the memory has to come from the state
const steps = 160; // length of each stream; the first 120 steps train, the last 40 test
const trainSteps = 120;
const epochs = 12;

// A cosine of period 20 whose amplitude decays: cos(2πt/20)·exp(-0.0005t) (R: gen_cosine_amp()).
const cosine = (t: number) => Math.cos((2 * Math.PI * t) / 20) * Math.exp(-0.0005 * t);

/**
 * Stream s is the stretch of the series that starts at t = s·steps. Batch k holds step k of every stream,
 * so row s of batch k+1 continues row s of batch k: that is what lets a stateful layer carry its state.
 */
function batches(from: number, to: number) {
  const x: number[][][] = [];
  const y: number[][] = [];
  for (let k = from; k < to; k++)
    for (let s = 0; s < batch_size; s++) {
      const t = s * steps + k;
      x.push([[cosine(t)]]);
      y.push([cosine(t + 1)]);
    }
  return { x, y };
}
const train = batches(0, trainSteps);
const test = batches(trainSteps, steps);

// --- Stateful: the state flows across batches; we reset it at the start of each epoch -------------
let stateful: Model = pipe(
  keras_model_sequential({ batch_input_shape: [batch_size, tsteps, 1] }),
  layer_lstm({ units: 32, return_sequences: true, stateful: true }),
  layer_lstm({ units: 32, stateful: true }),
  layer_dense({ units: 1 }),
  compile({ loss: "mse", optimizer: "rmsprop" }),
);
for (let epoch = 1; epoch <= epochs; epoch++) {
  // R: model %>% fit(...) changes the model; here fit() returns the trained model, so keep it
  const result: { model: Model; history: History } = await fit(stateful, train.x, train.y, {
    batch_size,
    epochs: 1,
    shuffle: false,
    verbose: 0,
  });
  stateful = result.model;
  if (epoch % 4 === 0)
    console.log(`stateful  epoch ${epoch}: training loss ${result.history.metrics.loss[0].toFixed(5)}`);
  reset_states(stateful); // the next epoch starts every stream from its beginning again
}

// --- Stateless: the same layers without state, trained on the same samples ------------------------
const stateless = pipe(
  keras_model_sequential({ input_shape: [tsteps, 1] }),
  layer_lstm({ units: 32, return_sequences: true }),
  layer_lstm({ units: 32 }),
  layer_dense({ units: 1 }),
  compile({ loss: "mse", optimizer: "rmsprop" }),
);
const { model: trainedStateless, history } = await fit(stateless, train.x, train.y, {
  batch_size,
  epochs,
  shuffle: false,
  verbose: 0,
});
console.log(`stateless epoch ${epochs}: training loss ${history.metrics.loss[epochs - 1].toFixed(5)}\n`);

// --- Test on the next 40 steps of every stream ----------------------------------------------------
// The stateful model first replays the training steps, so that its state is where each stream left off.
reset_states(stateful);
await predict(stateful, train.x, { batch_size, verbose: 0 });
const statefulTest = await evaluate(stateful, test.x, test.y, { batch_size, verbose: 0 });
const statelessTest = await evaluate(trainedStateless, test.x, test.y, { batch_size, verbose: 0 });
const repeatLast = test.x.reduce((s, [[v]], i) => s + (v - test.y[i][0]) ** 2, 0) / test.x.length;
console.log(`Test mse, stateful LSTM:                ${statefulTest.loss.toFixed(5)}`);
console.log(`Test mse, stateless LSTM:               ${statelessTest.loss.toFixed(5)}`);
console.log(`Test mse, "the next value = this value": ${repeatLast.toFixed(5)}`);
