/**
 * One run for test/core/random_seed.test.ts, in a child process: `seeded_run.ts [SEED]` calls
 * set_random_seed(SEED) when given, then prints (JSON) what each random source of the package drew:
 * initial weights (initializers), a dropout and a gaussian-noise layer in training mode, fit with shuffling
 * and recurrent dropout, and a shuffled timeseries generator's batch order.
 */
import { pipe } from "fp-ts/lib/function.js";
import {
  compile,
  fit,
  get_weights,
  keras_model_sequential,
  layer_dense,
  layer_dropout,
  layer_gaussian_noise,
  layer_gru,
  set_random_seed,
  timeseries_generator,
} from "../../src/index.js";
import type { tf } from "../../src/backend/tf.js";

if (process.argv[2] !== undefined) set_random_seed(Number(process.argv[2]));
const x = Array.from({ length: 16 }, (_, i) =>
  Array.from({ length: 5 }, (_, t) => [Math.sin(i + t), Math.cos(i * t), i / 16]),
);
const y = x.map((s) => [s[4][0]]);
const model = pipe(
  keras_model_sequential({ input_shape: [5, 3] }),
  layer_gru({ units: 4, dropout: 0.2, recurrent_dropout: 0.2 }),
  layer_dense({ units: 1 }),
  compile({ optimizer: "adam", loss: "mse" }),
);
const weights = get_weights(model);
const dropout = (layer_dropout({ rate: 0.5 })(x[0], { training: true }) as unknown as tf.Tensor).arraySync();
const noise = (layer_gaussian_noise({ stddev: 1 })(x[0], { training: true }) as unknown as tf.Tensor).arraySync();
const { history } = await fit(model, x, y, { epochs: 2, batch_size: 4, verbose: 0 });
const series = Array.from({ length: 40 }, (_, i) => [i]);
const shuffledRows = [...timeseries_generator(series, series, { length: 2, batch_size: 3, shuffle: true })].map((b) =>
  Array.from(b.y!.data),
);
console.log(JSON.stringify({ weights, dropout, noise, loss: history.metrics.loss, shuffledRows }));
