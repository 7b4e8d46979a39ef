/**
 * The optimizer's one-pass update in the backend's memory (wasm heap, cpu arrays): it runs (counted by
 * `updatePaths`; Adam on wasm in WebAssembly SIMD), it gives the tensor rule's numbers bit for bit over several steps for every rule and
 * option it covers, clipping and constraints fall back to the tensor rule, data the optimizer did not
 * make itself (a model value's host arrays, a saved optimizer state) or that a clone shares is never
 * written, and nothing leaks. The tensor rule itself is checked against Keras in optimizers.test.ts.
 */
import { expect } from "chai";
import { tf } from "../../src/backend/tf.js";
import {
  compile,
  constraint_nonneg,
  fit,
  get_weights,
  keras_model_sequential,
  layer_dense,
  layer_gru,
  optimizer_adam,
  optimizer_adamw,
  optimizer_rmsprop,
  optimizer_sgd,
  predict,
  set_weights,
  train_on_batch,
  learning_rate_schedule_exponential_decay,
  use_backend,
  type Model,
} from "../../src/index.js";
import { OptimizerRuntime, updatePaths, type OptimizerSpec } from "../../src/ops/optimizers.js";
import { releaseAllRuntimes, releaseRuntime } from "../../src/engine/runtime.js";

const SHAPE = [7, 5];
const STEPS = 6;

/** Deterministic values in [-1, 1) (a linear congruential sequence). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/**
 * The variable after each of STEPS updates with fixed gradients. `shared`: a clone holds the variable's
 * data during every update, so the optimizer must take the tensor rule.
 */
function run(spec: OptimizerSpec, shared: boolean, constraint: any = null) {
  const n = SHAPE[0] * SHAPE[1];
  const v = tf.tidy(() => tf.variable(tf.tensor(values(n, 1), SHAPE)));
  const opt = new OptimizerRuntime(spec);
  const before = { ...updatePaths };
  const out: Float32Array[] = [];
  for (let k = 0; k < STEPS; k++) {
    // gradients as a backward pass leaves them: some near zero, some large
    const g = tf.tidy(() => tf.mul(tf.tensor(values(n, 100 + k), SHAPE), k % 2 ? 0.001 : 3));
    const pin = shared ? tf.clone(v) : null;
    opt.apply([{ target: { key: "w", variable: v, constraint }, grad: g }]);
    pin?.dispose();
    g.dispose();
    out.push(Float32Array.from(v.dataSync() as Float32Array));
  }
  const slots = opt.snapshot().slots.w.map((s) => s.values);
  opt.dispose();
  v.dispose();
  return {
    out,
    slots,
    inPlace: updatePaths.inPlace - before.inPlace,
    tensor: updatePaths.tensor - before.tensor,
    simd: updatePaths.simd - before.simd,
  };
}

const CASES: [string, () => OptimizerSpec][] = [
  ["adam", () => optimizer_adam({ learning_rate: 0.01 })],
  ["adam amsgrad", () => optimizer_adam({ learning_rate: 0.01, amsgrad: true, beta_1: 0.8 })],
  ["adamw weight decay", () => optimizer_adamw({ learning_rate: 0.02, weight_decay: 0.1 })],
  ["adam with weight_decay", () => optimizer_adam({ weight_decay: 0.05 })],
  [
    "adam with a schedule",
    () =>
      optimizer_adam({
        learning_rate: learning_rate_schedule_exponential_decay({
          initial_learning_rate: 0.05,
          decay_steps: 2,
          decay_rate: 0.5,
        }),
      }),
  ],
  ["sgd", () => optimizer_sgd({ learning_rate: 0.1 })],
  ["sgd momentum", () => optimizer_sgd({ learning_rate: 0.1, momentum: 0.9 })],
  ["sgd nesterov", () => optimizer_sgd({ learning_rate: 0.1, momentum: 0.5, nesterov: true })],
  ["rmsprop", () => optimizer_rmsprop({ learning_rate: 0.01 })],
  ["rmsprop momentum centered", () => optimizer_rmsprop({ learning_rate: 0.01, momentum: 0.7, centered: true })],
];

for (const backend of ["cpu", "wasm"] as const) {
  describe(`training: the optimizer updates in place on ${backend}`, () => {
    before(async () => {
      await use_backend(backend);
    });
    after(async () => {
      releaseAllRuntimes();
      await use_backend("cpu");
    });

    for (const [name, spec] of CASES) {
      it(`${name}: the tensor rule's numbers, bit for bit, over ${STEPS} steps`, () => {
        const tensorRule = run(spec(), true);
        const inPlace = run(spec(), false);
        expect(tensorRule).to.include({ inPlace: 0, tensor: STEPS });
        // the first step makes the data the optimizer then owns; every later step runs in place
        expect(inPlace).to.include({ inPlace: STEPS - 1, tensor: 1 });
        // Adam without amsgrad, on wasm: in WebAssembly SIMD on the backend's heap (32 of the 35 values)
        const simd = backend === "wasm" && name.startsWith("adam") && !name.includes("amsgrad");
        expect(inPlace.simd).to.equal(simd ? STEPS - 1 : 0);
        inPlace.out.forEach((w, k) =>
          expect(Array.from(w), `step ${k + 1}`).to.deep.equal(Array.from(tensorRule.out[k])),
        );
        inPlace.slots.forEach((s, k) =>
          expect(Array.from(s), `slot ${k}`).to.deep.equal(Array.from(tensorRule.slots[k])),
        );
        // and the steps did move the weights
        expect(inPlace.out[STEPS - 1]).not.to.deep.equal(inPlace.out[0]);
      });
    }

    it("clipping and constraints take the tensor rule", () => {
      for (const spec of [
        optimizer_adam({ clipnorm: 0.5 }),
        optimizer_adam({ global_clipnorm: 0.5 }),
        optimizer_sgd({ clipvalue: 0.1 }),
      ])
        expect(run(spec, false)).to.include({ inPlace: 0, tensor: STEPS });
      const constrained = run(optimizer_adam({ learning_rate: 0.5 }), false, constraint_nonneg());
      expect(constrained).to.include({ inPlace: 0, tensor: STEPS });
      expect(Math.min(...constrained.out[STEPS - 1])).to.equal(0);
    });

    it("fit: in place after the first batch; no model value changes when a later fit trains its runtime", async () => {
      const x = Array.from({ length: 16 }, (_, i) =>
        Array.from({ length: 3 }, (_, t) => [Math.sin(i + t), Math.cos(i * t)]),
      );
      const y = Array.from({ length: 16 }, (_, i) => [Math.sin(i)]);
      const m0: Model = compile(
        layer_dense(layer_gru(keras_model_sequential({ input_shape: [3, 2] }), { units: 4 }), { units: 1 }),
        {
          optimizer: optimizer_adam({ learning_rate: 0.05 }),
          loss: "mse",
        },
      );
      const copy = (m: Model) => get_weights(m).map((w) => (Array.isArray(w) ? w.flat(Infinity) : [w]));
      const state = (m: Model) =>
        // the trained value's optimizer slots (model.compiled is its TrainingSetup)
        Object.values((m.compiled as any).optimizerState.slots as Record<string, { values: Float32Array }[]>).flatMap(
          (list) => list.map((s) => Array.from(s.values)),
        );
      const w0 = copy(m0);
      const before = { ...updatePaths };
      const m1 = (await fit(m0, x, y, { epochs: 2, batch_size: 4, shuffle: false, verbose: 0 })).model;
      const firstFit = { inPlace: updatePaths.inPlace - before.inPlace, tensor: updatePaths.tensor - before.tensor };
      const [w1, s1] = [copy(m1), state(m1)];
      expect(w1).not.to.deep.equal(w0);
      // the runtime kept with m1 predicts with m1's weights (wasm: XNNPACK's packed copy of a kernel is not stale)
      expect(await predict(m1, x, { verbose: 0 })).to.deep.equal(
        await predict(set_weights(m0, get_weights(m1)), x, { verbose: 0 }),
      );
      // m1's runtime (kept with it) is trained again, in place from its first batch
      const m2 = (await fit(m1, x, y, { epochs: 1, batch_size: 4, shuffle: false, verbose: 0 })).model;
      const secondFit = updatePaths.inPlace - before.inPlace - firstFit.inPlace;
      expect(copy(m1)).to.deep.equal(w1);
      expect(state(m1)).to.deep.equal(s1);
      expect(copy(m2)).not.to.deep.equal(w1);
      // m1 again from its host arrays (runtime released): weights and slots loaded from m1 are not written
      releaseRuntime(m1);
      releaseRuntime(m2);
      await fit(m1, x, y, { epochs: 1, batch_size: 4, shuffle: false, verbose: 0 });
      expect(copy(m1)).to.deep.equal(w1);
      expect(state(m1)).to.deep.equal(s1);
      // and m0, trained again, is m0
      await fit(m0, x, y, { epochs: 1, batch_size: 4, shuffle: false, verbose: 0 });
      expect(copy(m0)).to.deep.equal(w0);
      // train_on_batch chains: each value stays what it was when the next one trains
      const t1 = (await train_on_batch(m1, x.slice(0, 4), y.slice(0, 4))).model;
      const wt1 = copy(t1);
      const t2 = (await train_on_batch(t1, x.slice(4, 8), y.slice(4, 8))).model;
      await train_on_batch(t2, x.slice(8, 12), y.slice(8, 12));
      expect([copy(m1), copy(t1)]).to.deep.equal([w1, wt1]);
      expect(copy(t2)).not.to.deep.equal(wt1);
      // 5 trainable weights, 8 batches: the first batch makes the data, the other 7 run in place; the
      // second fit, on the runtime kept with m1, runs in place from its first batch
      expect(firstFit).to.deep.equal({ inPlace: 5 * 7, tensor: 5 });
      expect(secondFit).to.equal(5 * 4);
    });

    it("leaks no tensors over many steps", () => {
      const v = tf.tidy(() => tf.variable(tf.tensor(values(35, 3), SHAPE)));
      const g = tf.tidy(() => tf.tensor(values(35, 4), SHAPE));
      const opt = new OptimizerRuntime(optimizer_adam({ amsgrad: true }));
      const step = () => opt.apply([{ target: { key: "w", variable: v }, grad: g }]);
      step();
      const before = tf.memory();
      for (let i = 0; i < 200; i++) step();
      const after = tf.memory();
      expect([after.numTensors, after.numBytes]).to.deep.equal([before.numTensors, before.numBytes]);
      opt.dispose();
      tf.dispose([v, g]);
    });
  });
}
