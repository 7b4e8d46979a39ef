/**
 * The one-step inference path (engine/training/one_step.ts, counted by `oneStepPredictCalls()`): a chain
 * of fused recurrent layers and Dense layers on one small batch runs in plain JavaScript on the weights and
 * states where the backend keeps them. Its numbers must be the general path's (which runs the fused
 * kernels and tfjs ops in float32: equal within float32 rounding), its states carried and reset as there,
 * after a fit too; everything else must take the general path.
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import {
  callback_early_stopping,
  compile,
  fit,
  get_weights,
  keras_model,
  keras_model_sequential,
  layer_bidirectional,
  layer_concatenate,
  layer_conv_2d,
  layer_dense,
  layer_gru,
  layer_input,
  layer_lstm,
  layer_masking,
  layer_rnn,
  layer_simple_rnn,
  optimizer_sgd,
  predict,
  predict_on_batch,
  reset_states,
  rnn_cell_lstm,
  set_weights,
  train_on_batch,
  use_backend,
} from "../../src/index.js";
import { tf } from "../../src/backend/tf.js";
import {
  ONE_STEP_MAX_MULTIPLY_ADDS,
  oneStepPredictCalls,
  setOneStepEnabled,
} from "../../src/engine/training/one_step.js";
import { simdProductCalls, simdProducts, simdWeightCopies } from "../../src/engine/training/one_step_simd.js";
import { updatePaths } from "../../src/ops/optimizers.js";
import { FUSED_CELLS, foldBias, type BiasLayout } from "../../src/layers/recurrent/fused/cells/index.js";
import { getRuntime, releaseAllRuntimes, releaseRuntime } from "../../src/engine/runtime.js";
import { stateCellOf } from "../../src/engine/layer_state.js";
import { setFusedKernelsEnabled } from "../../src/layers/recurrent/fused/index.js";
import type { Model } from "../../src/model/model.js";
import type { NestedNumbers } from "../../src/model/dual.js";

/** Runs `f` and returns its result and how many predictions took the one-step path. */
async function counted<T>(f: () => Promise<T>): Promise<[T, number]> {
  const before = oneStepPredictCalls();
  const r = await f();
  return [r, oneStepPredictCalls() - before];
}

/** `f` on the general path (the one-step path switched off). */
async function general<T>(f: () => Promise<T>): Promise<T> {
  setOneStepEnabled(false);
  try {
    return await f();
  } finally {
    setOneStepEnabled(true);
  }
}

const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);
/** `v` (nested arrays of numbers) with `f` applied to every number. */
const mapNumbers = <T>(v: T, f: (x: number) => number): T =>
  (Array.isArray(v) ? v.map((e: unknown) => mapNumbers(e, f)) : f(v as number)) as T;

/** Same shape, and every value within `tol` of the other's (float32 rounding of values of order 1). */
function expectClose(a: unknown, b: unknown, tol = 2e-6): void {
  expect(JSON.stringify(a, (_, v) => (typeof v === "number" ? 0 : v))).to.equal(
    JSON.stringify(b, (_, v) => (typeof v === "number" ? 0 : v)),
  );
  const [fa, fb] = [flat(a), flat(b)];
  const worst = Math.max(...fa.map((v, i) => Math.abs(v - fb[i])));
  expect(worst, `largest difference ${worst}`).to.be.at.most(tol);
}

/** A copy of `m` with the same weights and a state of its own (set_weights makes new layer values). */
const twin = (m: Model): Model => set_weights(m, get_weights(m));

/** The states of `m`'s stateful layers as plain arrays (null: zeros, not made yet). */
const statesOf = (m: Model) =>
  m.layers
    .filter((l) => l.config.stateful)
    .map(
      (l) =>
        stateCellOf(l)
          .read()
          ?.map((s) => Array.from(s.values)) ?? null,
    );

/** n samples of shape (T, F), deterministic. */
const batchOf = (n: number, T: number, F: number, seed: number): number[][][] =>
  Array.from({ length: n }, (_, b) =>
    Array.from({ length: T }, (_, t) => Array.from({ length: F }, (_, i) => Math.sin(seed + 7 * b + 3 * t + i))),
  );

const CHAINS: [string, () => Model, [number, number, number]][] = [
  [
    "GRU → Dense",
    () =>
      pipe(
        keras_model_sequential({ batch_input_shape: [1, 1, 3] }),
        layer_gru({ units: 8, stateful: true }),
        layer_dense({ units: 2 }),
      ),
    [1, 1, 3],
  ],
  [
    "GRU reset_after = FALSE → Dense",
    () =>
      pipe(
        keras_model_sequential({ batch_input_shape: [1, 1, 3] }),
        layer_gru({ units: 8, stateful: true, reset_after: false }),
        layer_dense({ units: 2, activation: "tanh" }),
      ),
    [1, 1, 3],
  ],
  [
    "LSTM → Dense",
    () =>
      pipe(
        keras_model_sequential({ batch_input_shape: [2, 1, 3] }),
        layer_lstm({ units: 6, stateful: true }),
        layer_dense({ units: 2, activation: "sigmoid" }),
      ),
    [2, 1, 3],
  ],
  [
    "SimpleRNN (relu) → Dense",
    () =>
      pipe(
        keras_model_sequential({ batch_input_shape: [1, 2, 3] }),
        layer_simple_rnn({ units: 5, activation: "relu", stateful: true }),
        layer_dense({ units: 1 }),
      ),
    [1, 2, 3],
  ],
  [
    "layer_rnn(LSTM cell) → Dense",
    () =>
      pipe(
        keras_model_sequential({ batch_input_shape: [1, 1, 3] }),
        layer_rnn({ cell: rnn_cell_lstm({ units: 4 }), stateful: true }),
        layer_dense({ units: 2 }),
      ),
    [1, 1, 3],
  ],
  [
    "GRU (sequences) → LSTM → Dense (relu) → Dense (sigmoid)",
    () =>
      pipe(
        keras_model_sequential({ batch_input_shape: [2, 3, 3] }),
        layer_gru({ units: 6, stateful: true, return_sequences: true }),
        layer_lstm({ units: 5, stateful: true }),
        layer_dense({ units: 4, activation: "relu" }),
        layer_dense({ units: 1, activation: "sigmoid" }),
      ),
    [2, 3, 3],
  ],
  [
    "GRU and Dense without biases",
    () =>
      pipe(
        keras_model_sequential({ batch_input_shape: [1, 2, 3] }),
        layer_gru({ units: 4, stateful: true, use_bias: false }),
        layer_dense({ units: 2, use_bias: false }),
      ),
    [1, 2, 3],
  ],
  [
    "GRU (sequences, no state) → Dense on every step",
    () =>
      pipe(
        keras_model_sequential({ input_shape: [3, 3] }),
        layer_gru({ units: 4, return_sequences: true }),
        layer_dense({ units: 2 }),
      ),
    [2, 3, 3],
  ],
];

describe("the one-step path's bias folding in WebAssembly", () => {
  it("gives foldBias's bits for every fused cell and bias layout", () => {
    const u = 8;
    for (const cell of Object.values(FUSED_CELLS))
      for (const layout of ["none", "input", "input+recurrent"] as BiasLayout[]) {
        const Gu = cell.gates * u;
        const bias = Float32Array.from({ length: (layout === "input+recurrent" ? 2 : 1) * Gu }, (_, i) =>
          Math.fround(Math.sin(i * 1.7 + cell.gates) * 10 ** ((i % 7) - 3)),
        );
        const products = simdProducts(cell, 3, u)!;
        products.load(new Float32Array(3 * Gu), new Float32Array(u * Gu));
        const [bi, br, wantBi, wantBr] = [0, 1, 2, 3].map(() => new Float64Array(Gu + 4).fill(NaN));
        products.foldBias(layout, layout === "none" ? null : bias, bi, br);
        foldBias(cell, layout, layout === "none" ? null : bias, u, wantBi, wantBr);
        const same = (a: Float64Array, b: Float64Array) => a.every((v, i) => Object.is(v, b[i]));
        expect(same(bi, wantBi) && same(br, wantBr), `${cell.id}, ${layout}`).to.equal(true);
      }
  });
});

for (const backend of ["wasm", "cpu"] as const) {
  describe(`predict on the one-step path (${backend})`, () => {
    before(async () => {
      await use_backend(backend);
    });

    for (const [name, make, [n, T, F]] of CHAINS) {
      it(`${name}: the general path's outputs and states over a stream of calls with reset_states`, async () => {
        const fast = make();
        const slow = twin(fast);
        // 8 calls, reset_states before the 5th; predict and predict_on_batch in turn
        const stream = (m: Model) => async () => {
          const out: NestedNumbers[][] = [];
          for (let i = 0; i < 8; i++) {
            if (i === 4) reset_states(m);
            const x = batchOf(n, T, F, i);
            out.push(await (i % 2 ? predict_on_batch(m, x) : predict(m, x, { verbose: 0 })));
          }
          return out;
        };
        const [a, nFast] = await counted(stream(fast));
        const [b, nSlow] = await counted(() => general(stream(slow)));
        expect([nFast, nSlow]).to.deep.equal([8, 0]);
        expectClose(a, b);
        expect(statesOf(fast)).to.have.length(statesOf(slow).length);
        expectClose(statesOf(fast), statesOf(slow));
      });
    }

    it("one value called with 3, 1, 2, 3 rows in turn (its buffers made anew for each batch size): the general path's numbers", async () => {
      const model = pipe(
        keras_model_sequential({ input_shape: [2, 3] }),
        layer_lstm({ units: 4, return_sequences: true }),
        layer_gru({ units: 6 }),
        layer_dense({ units: 2, activation: "tanh" }),
      );
      const stream = async () => {
        const out: NestedNumbers[][] = [];
        for (const [i, n] of [3, 1, 2, 3].entries())
          out.push(await predict(model, batchOf(n, 2, 3, i), { verbose: 0 }));
        return out;
      };
      const [a, k] = await counted(stream);
      expect(k).to.equal(4);
      expectClose(a, await general(stream));
    });

    it("the products run in WebAssembly SIMD when the units are a multiple of 4, in JavaScript otherwise", async () => {
      const x = batchOf(1, 1, 3, 4);
      const ran = async (units: number) => {
        const model = pipe(
          keras_model_sequential({ batch_input_shape: [1, 1, 3] }),
          layer_gru({ units, stateful: true }),
          layer_dense({ units: 1 }),
        );
        const before = simdProductCalls();
        const [out, k] = await counted(() => predict(model, x, { verbose: 0 }));
        expect(k).to.equal(1);
        reset_states(model);
        expectClose(out, await general(() => predict(model, x, { verbose: 0 })));
        return simdProductCalls() - before;
      };
      expect([await ran(8), await ran(6)]).to.deep.equal([1, 0]);
    });

    it("after a fit: the trained value's numbers (its runtime's variables trained where they live), the original's unchanged", async () => {
      const m = compile(CHAINS[0][1](), { optimizer: "adam", loss: "mse" });
      const x = batchOf(1, 1, 3, 0);
      const before = await predict(m, x, { verbose: 0 });
      reset_states(m);
      const kernel = getRuntime(m, [[1, 1, 3]]).variables[0][0];
      let trained = m;
      for (let i = 0; i < 3; i++) trained = (await train_on_batch(trained, x, [[5, -5]])).model;
      // fit trained the runtime predict had used: the same variable, new values
      expect(getRuntime(trained, [[1, 1, 3]]).variables[0][0]).to.equal(kernel);
      reset_states(trained);
      const [after, k] = await counted(() => predict(trained, x, { verbose: 0 }));
      expect(k).to.equal(1);
      reset_states(trained);
      expectClose(after, await general(() => predict(trained, x, { verbose: 0 })));
      expect(Math.abs(flat(after)[0] - flat(before)[0])).to.be.above(1e-3);
      reset_states(m);
      expect(await predict(m, x, { verbose: 0 })).to.deep.equal(before);
    });

    it("weights kept in the SIMD memory between calls: copied again after every writer, never another value's", async () => {
      const x = batchOf(1, 1, 3, 5);
      const y = [[5, -5]];
      const copies = () => simdWeightCopies();
      /** One-step and general predictions of `m` from zero states, equal; the one-step one, and its weight copies. */
      const checked = async (m: Model, what: string) => {
        reset_states(m);
        const before = copies();
        const [fast, k] = await counted(() => predict(m, x, { verbose: 0 }));
        const copied = copies() - before;
        reset_states(m);
        expect(k, what).to.equal(1);
        expectClose(fast, await general(() => predict(m, x, { verbose: 0 })));
        return { out: flat(fast), copied };
      };
      const changed = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
      let m = compile(CHAINS[0][1](), { optimizer: "adam", loss: "mse" });
      let last = await checked(m, "first call");
      expect(last.copied).to.equal(1);
      // nothing written: the copy stays (and the general path between calls does not disturb it)
      expect((await checked(m, "again")).copied).to.equal(0);
      const writers: [string, (m: Model) => Promise<Model>][] = [
        ["train_on_batch (the optimizer's first, tensor update)", async (m) => (await train_on_batch(m, x, y)).model],
        ["train_on_batch (in place)", async (m) => (await train_on_batch(m, x, y)).model],
        ["fit (in place)", async (m) => (await fit(m, x, y, { epochs: 2, verbose: 0 })).model],
        [
          "fit with clipnorm (the tensor update: an assign)",
          async (m) =>
            (
              await fit(
                compile(m, { optimizer: optimizer_sgd({ learning_rate: 0.1, clipnorm: 1 }), loss: "mse" }),
                x,
                y,
                {
                  epochs: 2,
                  verbose: 0,
                },
              )
            ).model,
        ],
        [
          "fit restoring the best weights (a callback's set_weights)",
          async (m) =>
            (
              await fit(compile(m, { optimizer: "adam", loss: "mse" }), x, y, {
                epochs: 3,
                verbose: 0,
                callbacks: [callback_early_stopping({ monitor: "loss", min_delta: 1e9, restore_best_weights: true })],
              })
            ).model,
        ],
        [
          "set_weights",
          async (m) =>
            set_weights(
              m,
              mapNumbers(get_weights(m), (v) => v * 0.5),
            ),
        ],
      ];
      for (const [what, write] of writers) {
        const paths = { ...updatePaths };
        const next = await write(m);
        // the in-place update runs from the second step on (the first one's variables hold the value's arrays)
        if (what.includes("in place")) expect(updatePaths.inPlace - paths.inPlace, what).to.be.above(0);
        const now = await checked(next, what);
        expect(now.copied, what).to.equal(1);
        expect(changed(now.out, last.out), what).to.be.above(1e-4);
        expect((await checked(next, `${what}, again`)).copied, what).to.equal(0);
        [m, last] = [next, now];
      }
      // two values in turn (the set_weights value and the one before): each its own weights
      const [a, b] = [await checked(m, "A"), await checked(twin(m), "B")];
      expect(a.out).to.deep.equal(b.out);
      const other = set_weights(
        m,
        mapNumbers(get_weights(m), (v) => v + 0.25),
      );
      const first = [last.out, (await checked(other, "other")).out];
      for (let i = 0; i < 4; i++) {
        const now = await checked(i % 2 ? other : m, `value ${i % 2}`);
        expect(now.copied).to.equal(1);
        expect(now.out).to.deep.equal(first[i % 2]);
      }
      expect(changed(first[0], first[1])).to.be.above(1e-4);
    });

    it("takes the general path for what it does not cover, with the general path's numbers and errors", async () => {
      const x = batchOf(2, 2, 3, 1);
      const gru = (o: Record<string, unknown> = {}) => layer_gru({ units: 4, ...o });
      const seq = (...layers: unknown[]) =>
        layers.reduce<Model>((m, f) => (f as (m: Model) => Model)(m), keras_model_sequential({ input_shape: [2, 3] }));
      const big = Math.ceil(Math.sqrt(ONE_STEP_MAX_MULTIPLY_ADDS / 3));
      const cases: [string, Model, Record<string, unknown>?][] = [
        ["a masking layer", seq(layer_masking({ mask_value: 0 }), gru(), layer_dense({ units: 1 }))],
        ["a softmax head", seq(gru(), layer_dense({ units: 2, activation: "softmax" }))],
        ["use_cudnn = FALSE", seq(gru({ use_cudnn: false }), layer_dense({ units: 1 }))],
        ["go_backwards", seq(gru({ go_backwards: true }), layer_dense({ units: 1 }))],
        ["an activity regularizer", seq(gru({ activity_regularizer: "l2" }), layer_dense({ units: 1 }))],
        ["a Dense first", seq(layer_dense({ units: 3 }), gru())],
        ["a bidirectional layer", seq(layer_bidirectional(layer_gru({ units: 2 })), layer_dense({ units: 1 }))],
        ["more products than the path takes", seq(layer_gru({ units: big }), layer_dense({ units: 1 }))],
        ["two batches", seq(gru(), layer_dense({ units: 1 })), { batch_size: 1 }],
        ["a callback", seq(gru(), layer_dense({ units: 1 })), { callbacks: [{ on_predict_end: () => undefined }] }],
      ];
      for (const [what, model, args] of cases) {
        const [out, k] = await counted(() => predict(model, x, { verbose: 0, ...args }));
        expect(k, what).to.equal(0);
        expect(out, what).to.deep.equal(await general(() => predict(model, x, { verbose: 0, ...args })));
      }
      const model = seq(gru(), layer_dense({ units: 1 }));
      const [, kTensor] = await counted(() => predict_on_batch(model, tf.tensor3d(x)));
      setFusedKernelsEnabled(false);
      const [, kStepWise] = await counted(() => predict(model, x, { verbose: 0 }));
      setFusedKernelsEnabled(true);
      expect([kTensor, kStepWise]).to.deep.equal([0, 0]);
      // a model built from x's shape that cannot take it: the general path's error
      const conv = pipe(keras_model_sequential(), layer_conv_2d({ filters: 1, kernel_size: 1 })) as Model;
      const raised = (p: Promise<unknown>) =>
        p.then(
          () => "no error",
          (e: Error) => e.message,
        );
      const [convError, kConv] = await counted(() => raised(predict(conv, [[[1, 2, 3]]], { verbose: 0 })));
      expect(kConv).to.equal(0);
      expect(convError).to.equal(await general(() => raised(predict(conv, [[[1, 2, 3]]], { verbose: 0 }))));
      for (const bad of [
        [
          [
            [1, 2, 3],
            [1, 2],
          ],
        ],
        [
          [
            [1, 2, 3],
            [1, 2, "a"],
          ],
        ],
        [[[1, 2, 3]]],
        [[[[1, 2, 3]]]],
      ]) {
        const message = (p: Promise<unknown>) =>
          p.then(
            () => "no error",
            (e: Error) => e.message,
          );
        const [m1, k] = await counted(() => message(predict(model, bad, { verbose: 0 })));
        expect(k).to.equal(0);
        expect(m1).to.equal(await general(() => message(predict(model, bad, { verbose: 0 }))));
        expect(m1).to.match(/^predict\(\)/);
      }
    });

    it("keeps other models' cached runtimes: a two-input model (x looks like one of rank 3), Dense on sequences", async () => {
      const [a, b] = [layer_input({ shape: [3] }), layer_input({ shape: [3] })];
      const twoInputs = keras_model({ inputs: [a, b], outputs: layer_dense(layer_concatenate([a, b]), { units: 1 }) });
      const denseOnSteps = pipe(keras_model_sequential({ input_shape: [2, 3] }), layer_dense({ units: 2 }));
      const rows = [
        [1, 2, 3],
        [4, 5, 6],
      ];
      for (const [model, x] of [
        [twoInputs, [rows, rows]],
        [denseOnSteps, [rows]],
      ] as [Model, unknown][]) {
        const [first, k] = await counted(() => predict(model, x, { verbose: 0 }));
        const rt = getRuntime(model);
        for (let i = 0; i < 3; i++) expect(await predict(model, x, { verbose: 0 })).to.deep.equal(first);
        expect(getRuntime(model)).to.equal(rt);
        expect(k).to.equal(0);
      }
    });

    it("values are values: the weights, x and earlier results stay as they were", async () => {
      const model = CHAINS[7][1](); // GRU (sequences, no state) → Dense
      const x = batchOf(2, 3, 3, 2);
      const xCopy = JSON.parse(JSON.stringify(x));
      const weights = JSON.stringify(get_weights(model));
      const [first, k] = await counted(() => predict(model, x, { verbose: 0 }));
      const kept = JSON.parse(JSON.stringify(first));
      (first[0] as number[][])[0][0] = 1e9;
      for (let i = 0; i < 20; i++) expect(await predict(model, x, { verbose: 0 })).to.deep.equal(kept);
      expect(k).to.equal(1);
      expect(x).to.deep.equal(xCopy);
      expect(JSON.stringify(get_weights(model))).to.equal(weights);
    });

    it("no tensor is left behind over hundreds of calls; a state tensor shared with another holder is replaced, not written", async () => {
      const model = CHAINS[2][1]();
      const x = batchOf(2, 1, 3, 3);
      releaseAllRuntimes(); // no eviction of other tests' runtimes below
      await predict(model, x, { verbose: 0 }); // builds the runtime and the state
      const before = tf.memory().numTensors;
      const [, k] = await counted(async () => {
        for (let i = 0; i < 150; i++) {
          await predict(model, x, { verbose: 0 });
          await predict_on_batch(model, x);
        }
      });
      expect(k).to.equal(300);
      expect(tf.memory().numTensors).to.equal(before);
      // a clone shares the state's data (as a training run's own copy of the state does)
      const rt = getRuntime(model, [[2, 1, 3]]);
      const holder = rt.stateOf(0, rt.plan)!.map((s) => s.clone());
      const held = holder.map((t) => Array.from(t.dataSync()));
      const slow = twin(model);
      reset_states(
        slow,
        holder.map((t) => t.arraySync()),
      );
      const [a, b] = [await predict(model, x, { verbose: 0 }), await general(() => predict(slow, x, { verbose: 0 }))];
      expectClose(a, b);
      expect(holder.map((t) => Array.from(t.dataSync()))).to.deep.equal(held);
      expectClose(statesOf(model), statesOf(slow));
      holder.forEach((t) => t.dispose());
      releaseRuntime(slow);
      expect(tf.memory().numTensors).to.equal(before);
    });
  });
}
