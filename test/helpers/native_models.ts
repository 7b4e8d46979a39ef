/**
 * Whole models for the native paths' tests (test/fused/native_products.test.ts, native_steps.test.ts):
 * every fused cell (GRU both variants, LSTM stacked and masked in a Bidirectional, SimpleRNN), other
 * activations than the defaults, go_backwards; each fitted two epochs and then predicting, once with a
 * native path off and once on, so that the test compares the two to the bit.
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import {
  bidirectional,
  compile,
  fit,
  get_weights,
  keras_model_sequential,
  layer_dense,
  layer_embedding,
  layer_gru,
  layer_lstm,
  layer_simple_rnn,
  predict,
  set_random_seed,
  type Model,
} from "../../src/index.js";
import { threadedJobs, workerThreadFailures } from "../../src/layers/recurrent/fused/threads.js";

export const NATIVE_MODEL_CASES: readonly [name: string, build: () => Model, data: "tokens" | "values"][] = [
  [
    "GRU (reset_after) → Dense",
    () => pipe(keras_model_sequential({ input_shape: [9, 5] }), layer_gru({ units: 12 }), layer_dense({ units: 1 })),
    "values",
  ],
  [
    "GRU (reset_after = FALSE, hard_sigmoid), go_backwards → Dense",
    () =>
      pipe(
        keras_model_sequential({ input_shape: [9, 5] }),
        layer_gru({ units: 7, reset_after: false, go_backwards: true, recurrent_activation: "hard_sigmoid" }),
        layer_dense({ units: 1 }),
      ),
    "values",
  ],
  [
    "stacked LSTM → Dense",
    () =>
      pipe(
        keras_model_sequential({ input_shape: [9, 5] }),
        layer_lstm({ units: 10, return_sequences: true }),
        layer_lstm({ units: 6 }),
        layer_dense({ units: 1 }),
      ),
    "values",
  ],
  [
    "SimpleRNN (relu) → Dense",
    () =>
      pipe(
        keras_model_sequential({ input_shape: [9, 5] }),
        layer_simple_rnn({ units: 9, activation: "relu" }),
        layer_dense({ units: 1 }),
      ),
    "values",
  ],
  [
    "Embedding(mask_zero) → Bidirectional(LSTM) → Dense",
    () =>
      pipe(
        keras_model_sequential({ input_shape: [9] }),
        layer_embedding({ input_dim: 20, output_dim: 4, mask_zero: true }),
        bidirectional({ layer: layer_lstm({ units: 8 }) }),
        layer_dense({ units: 1, activation: "sigmoid" }),
      ),
    "tokens",
  ],
];

/**
 * Fits a model of `build` (seeded) two epochs on 40 rows and predicts, with the native path off and then
 * on (`withPath(on, f)` runs f so and counts its native calls), and expects the same bits both ways, the
 * native `what` run only when on, and no worker thread dead.
 */
export async function expectSameFitsAndPredictions(
  build: () => Model,
  data: "tokens" | "values",
  withPath: <T>(on: boolean, f: () => Promise<T>) => Promise<{ result: T; nativeCalls: number }>,
  what: string,
): Promise<void> {
  const jobs = threadedJobs();
  const B = 40;
  const x =
    data === "tokens"
      ? Array.from({ length: B }, (_, b) =>
          Array.from({ length: 9 }, (_, t) => (t < 2 + (b % 8) ? 1 + ((b * 7 + t * 3) % 19) : 0)),
        )
      : Array.from({ length: B }, (_, b) =>
          Array.from({ length: 9 }, (_, t) => Array.from({ length: 5 }, (_, f) => Math.sin(b + 1.3 * t + 0.7 * f))),
        );
  const y = Array.from({ length: B }, (_, b) => [b % 2]);
  set_random_seed(42);
  const model = compile(build(), { optimizer: "adam", loss: data === "tokens" ? "binary_crossentropy" : "mse" });
  const run = (on: boolean) =>
    withPath(on, async () => {
      const trained = await fit(model, x, y, { epochs: 2, batch_size: 20, verbose: 0, shuffle: false });
      const weights = get_weights(trained.model);
      return { weights, predictions: await predict(trained.model, x, { batch_size: 40, verbose: 0 }) };
    });
  const off = await run(false);
  const on = await run(true);
  expect(off.nativeCalls, `off: no native ${what}`).to.equal(0);
  expect(on.nativeCalls, `on: native ${what}s ran`).to.be.above(0);
  expect(on.result.weights, "weights after two epochs, to the bit").to.deep.equal(off.result.weights);
  expect(on.result.predictions, "predictions, to the bit").to.deep.equal(off.result.predictions);
  if (threadedJobs() > jobs) expect(workerThreadFailures(), "no worker thread died").to.deep.equal([]);
}
