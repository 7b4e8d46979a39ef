/**
 * predict() / predict_on_batch() on data that is one batch, with no callback and no progress bar, take
 * the one-batch path (loops.ts `predictOneBatch`, counted by `oneBatchPredictCalls()`): the streaming
 * case of issue 13. Its results must be the batch loop's, with the state carried and reset as there.
 * The one-step path (one_step.ts, predict_one_step.test.ts) would take several of these models first:
 * it is off here.
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import {
  compile,
  get_weights,
  keras_model,
  keras_model_sequential,
  layer_dense,
  layer_gru,
  layer_input,
  layer_lstm,
  layer_simple_rnn,
  predict,
  predict_on_batch,
  reset_states,
  set_weights,
  timeseries_dataset_from_array,
  use_backend,
} from "../../src/index.js";
import { tf } from "../../src/backend/tf.js";
import { oneBatchPredictCalls } from "../../src/engine/training/loops.js";
import { setOneStepEnabled } from "../../src/engine/training/one_step.js";
import { fusedKernelCalls } from "../../src/layers/recurrent/fused/index.js";
import type { Model } from "../../src/model/model.js";
import type { NestedNumbers } from "../../src/model/dual.js";

/** A callback that forces the batch loop (the one-batch path runs only without callbacks). */
const loopOnly = { callbacks: [{ on_predict_batch_end: () => undefined }], verbose: 0 as const };

/** Runs `f` and returns its result and how many one-batch predictions it made. */
async function counted<T>(f: () => Promise<T>): Promise<[T, number]> {
  const before = oneBatchPredictCalls();
  const r = await f();
  return [r, oneBatchPredictCalls() - before];
}

/** The streaming model of issue 13, smaller: stateful GRU → Dense, batch_input_shape (1, 1, F). */
function streamModel(rnn = layer_gru, units = 8, F = 3): Model {
  return compile(
    pipe(
      keras_model_sequential({ batch_input_shape: [1, 1, F] }),
      rnn({ units, stateful: true }),
      layer_dense({ units: 2 }),
    ),
    { optimizer: "adam", loss: "mse" },
  );
}

/** A copy of `m` with the same weights and a state of its own (set_weights makes new layer values). */
const twin = (m: Model): Model => set_weights(m, get_weights(m));

const steps = (n: number, F: number) =>
  Array.from({ length: n }, (_, i) => [[Array.from({ length: F }, (_, j) => Math.sin(1 + i * F + j))]]);

for (const backend of ["wasm", "cpu"] as const) {
  describe(`predict on one batch (${backend})`, () => {
    before(async () => {
      await use_backend(backend);
      setOneStepEnabled(false);
    });
    after(() => setOneStepEnabled(true));

    it("a one-step stream carries its state exactly as h = 0.5 h + x says, and reset_states starts it again", async () => {
      const model = pipe(
        keras_model_sequential({ batch_input_shape: [1, 1, 1] }),
        layer_simple_rnn({ units: 1, activation: "linear", stateful: true, weights: [[[1]], [[0.5]], [0]] }),
      );
      const [out, n] = await counted(async () => [
        await predict(model, [[[1]]], { verbose: 0 }),
        await predict_on_batch(model, [[[2]]]),
        await predict(model, [[[3]]], { verbose: 0 }),
      ]);
      expect(n).to.equal(3);
      expect(out).to.deep.equal([[[1]], [[2.5]], [[4.25]]]);
      reset_states(model);
      expect(await predict_on_batch(model, [[[1]]])).to.deep.equal([[1]]);
    });

    for (const [name, rnn] of [
      ["GRU", layer_gru],
      ["LSTM", layer_lstm],
    ] as const) {
      it(`a stateful ${name} stream: the same numbers as the batch loop over calls and after reset_states, on the fused kernel`, async () => {
        const fast = streamModel(rnn);
        const loop = twin(fast);
        const xs = steps(12, 3);
        const [fused, reused] = [fusedKernelCalls().forward, fusedKernelCalls().layoutsReused];
        // 12 one-step calls, reset_states before the 7th; `one`: predict and predict_on_batch in turn
        const stream = (m: Model, one: boolean) =>
          counted(async () => {
            const out: NestedNumbers[][] = [];
            for (let i = 0; i < xs.length; i++) {
              if (i === 6) reset_states(m);
              const x = xs[i];
              out.push(
                await (one
                  ? i % 2
                    ? predict_on_batch(m, x)
                    : predict(m, x, { verbose: 0 })
                  : predict(m, x, loopOnly)),
              );
            }
            return out;
          });
        const [a, nFast] = await stream(fast, true);
        const [b, nLoop] = await stream(loop, false);
        expect([nFast, nLoop]).to.deep.equal([12, 0]);
        expect(fusedKernelCalls().forward - fused).to.equal(24);
        // the same shapes on every call: from the second call on, the kernel reuses the first one's calls
        expect(fusedKernelCalls().layoutsReused - reused).to.be.at.least(23);
        expect(a).to.deep.equal(b);
        // after reset_states, call 7 is what a model with a fresh (zero) state gives for its input
        const fresh = twin(fast);
        expect(await predict(fresh, xs[6], { verbose: 0 })).to.deep.equal(a[6]);
      });
    }

    it("a model without state, several samples in one batch: the batch loop's numbers; more than one batch takes the loop", async () => {
      const model = pipe(
        keras_model_sequential({ input_shape: [4] }),
        layer_dense({ units: 5, activation: "tanh" }),
        layer_dense({ units: 2 }),
      );
      const x = Array.from({ length: 10 }, (_, i) => [i, -i, i / 2, 1]);
      const [fast, n1] = await counted(() => predict(model, x, { verbose: 0 }));
      const [loop, n2] = await counted(() => predict(model, x, loopOnly));
      const [batched, n3] = await counted(() => predict(model, x, { batch_size: 4, verbose: 0 }));
      const [onBatch, n4] = await counted(() => predict_on_batch(model, tf.tensor2d(x)));
      expect([n1, n2, n3, n4]).to.deep.equal([1, 0, 0, 1]);
      expect(fast).to.deep.equal(loop);
      expect(batched).to.deep.equal(loop);
      expect(onBatch).to.deep.equal(loop);
    });

    it("a model with two outputs: a list of two arrays, as the batch loop gives", async () => {
      const input = layer_input({ shape: [3] });
      const model = keras_model({
        inputs: input,
        outputs: [layer_dense(input, { units: 2 }), layer_dense(input, { units: 1, activation: "sigmoid" })],
      });
      const x = [
        [1, 2, 3],
        [-1, 0, 0.5],
      ];
      const [fast, n1] = await counted(() => predict(model, x, { verbose: 0 }));
      const [loop, n2] = await counted(() => predict(model, x, loopOnly));
      expect([n1, n2]).to.deep.equal([1, 0]);
      expect(fast).to.have.length(2);
      expect((fast as NestedNumbers[][])[0]).to.have.length(2);
      expect(fast).to.deep.equal(loop);
    });

    it("a progress bar, a callback or a timeseries dataset take the batch loop", async () => {
      const model = pipe(keras_model_sequential({ input_shape: [2, 1] }), layer_simple_rnn({ units: 2 }));
      const x = [[[1], [2]]];
      const lines: string[] = [];
      const write = process.stdout.write;
      process.stdout.write = ((s: string) => (lines.push(String(s)), true)) as typeof process.stdout.write;
      let n: number;
      try {
        [, n] = await counted(() => predict(model, x, { verbose: 1 }));
      } finally {
        process.stdout.write = write;
      }
      expect(n).to.equal(0);
      expect(lines.join("")).to.match(/1\/1/);
      expect((await counted(() => predict(model, x, loopOnly)))[1]).to.equal(0);
      const ds = timeseries_dataset_from_array([[1], [2], [3]], null, { sequence_length: 2 });
      expect((await counted(() => predict(model, ds, { verbose: 0 })))[1]).to.equal(0);
    });

    it("no tensor is left behind over a few hundred one-step calls, and the caller's tensor stays", async () => {
      const model = streamModel();
      const x = steps(1, 3)[0];
      const xt = tf.tensor3d(x as number[][][]);
      await predict(model, x, { verbose: 0 }); // builds the runtime and the state
      const before = tf.memory().numTensors;
      const [, n] = await counted(async () => {
        for (let i = 0; i < 150; i++) {
          await predict(model, x, { verbose: 0 });
          await predict_on_batch(model, xt);
        }
      });
      expect(n).to.equal(300);
      expect(tf.memory().numTensors).to.equal(before);
      expect(xt.isDisposed).to.equal(false);
      xt.dispose();
    });
  });
}
