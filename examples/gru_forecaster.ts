/**
 * A GRU forecaster trained twice, once with each `reset_after` variant, on the same data from the same
 * seed.
 *
 * reset_after = TRUE (the default since Keras 2.3 / R keras 2.7, and cuDNN's GRU) applies the reset
 * gate after the recurrent matrix product and so has a second bias vector; reset_after = FALSE (the
 * original GRU, R keras <= 2.6's default) applies it before. Both learn; their weights are not
 * interchangeable, which is why a saved model remembers the variant.
 * Task: an hourly "temperature" with a daily cycle, a slow drift and noise; predict the next hour from
 * the last 24. Run: npx tsx examples/gru_forecaster.ts  (in your own project, import from "tskeras")
 */
import { pipe } from "fp-ts/lib/function.js";
import {
  keras_model_sequential,
  layer_gru,
  layer_dense,
  compile,
  fit,
  evaluate,
  count_params,
  timeseries_dataset_from_array,
  set_random_seed,
} from "../src/index.js";

const lookback = 24; // hours of history per sample
const units = 16;

// --- The series (a seeded generator: the same series every run) ------------------------------------
let state = 3;
const random = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const hours = 2400;
const temperature = Array.from(
  { length: hours },
  (_, t) => Math.sin((2 * Math.PI * t) / 24) + 0.5 * Math.sin((2 * Math.PI * t) / 240) + 0.2 * (random() - 0.5),
);

// Windows of 24 hours and the hour after each: the first 2000 hours train, the rest validate.
const windows = (start_index: number, end_index: number | null) =>
  timeseries_dataset_from_array(
    temperature.slice(0, -1).map((v) => [v]), // inputs: one feature per hour
    temperature.slice(lookback), // the target of the window starting at hour s is hour s + 24
    { sequence_length: lookback, batch_size: 32, start_index, end_index },
  );
const train = windows(0, 2000);
const validation = windows(2000, null);

/** Builds, trains and scores the forecaster with one variant; every run starts from the same seed. */
async function forecaster(reset_after: boolean) {
  set_random_seed(42);
  const model = pipe(
    keras_model_sequential({ input_shape: [lookback, 1] }),
    layer_gru({ units, reset_after }),
    layer_dense({ units: 1 }),
    compile({ optimizer: "adam", loss: "mse" }),
  );
  const { model: trained, history } = await fit(model, train, { epochs: 15, verbose: 0 });
  const scores = await evaluate(trained, validation, { verbose: 0 });
  return { params: count_params(model), loss: history.metrics.loss.at(-1)!, val_loss: scores.loss };
}

const after = await forecaster(true);
const before = await forecaster(false);

// reset_after = TRUE has 3 * units more parameters: the recurrent bias of the three gates.
console.log("reset_after  params  training loss  validation loss");
for (const [name, r] of [
  ["TRUE ", after],
  ["FALSE", before],
] as const)
  console.log(`${name}        ${r.params}     ${r.loss.toFixed(5)}        ${r.val_loss.toFixed(5)}`);
console.log(`\nparameter difference: ${after.params - before.params} = 3 gates x ${units} units`);
console.log(`noise alone gives a validation loss of about ${(0.2 ** 2 / 12).toFixed(5)} (the noise variance)`);
