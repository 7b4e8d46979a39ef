/**
 * Device memory is released deterministically (issue 9 §1): with garbage collection left to itself (no
 * --expose-gc, no global.gc), tf.memory() stays flat over 1,000 calls of every verb, because device
 * copies live in one bounded cache (src/engine/runtime.ts) and never wait for a finalizer. Stateful
 * recurrent state survives eviction (written back to host memory), and ownership of tensors between a
 * run, its commit and the recurrent loop never hands out a tensor someone else disposes.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import {
  use_backend,
  compile,
  custom_metric,
  evaluate,
  fit,
  get_layer,
  keras_model,
  keras_model_sequential,
  layer_dense,
  layer_dropout,
  layer_input,
  layer_lambda,
  layer_rnn,
  layer_simple_rnn,
  predict,
  reset_states,
  rnn_cell_custom,
  train_on_batch,
  type Model,
} from "../../src/index.js";
import { tf } from "../../src/backend/tf.js";
import { RUNTIME_CACHE_LIMITS, getRuntime, releaseAllRuntimes, runtimeCacheStats } from "../../src/engine/runtime.js";
import { headPaths } from "../../src/engine/training/head.js";
import { expectClose } from "./helpers.js";

const X = [
  [0.1, 0.2],
  [0.3, -0.1],
  [-0.2, 0.4],
  [0.5, 0.5],
];
const Y = [[0.3], [0.2], [0.2], [1.0]];

const small = (): Model =>
  compile(layer_dense(keras_model_sequential({ input_shape: [2] }), { units: 1 }), { optimizer: "adam", loss: "mse" });

/** Enough calls to fill the cache: after them, every new runtime evicts an old one. */
const WARM_UP = RUNTIME_CACHE_LIMITS.maxEntries + 2;

/** tf.memory() before and after `n` calls of `step`, after a warm-up. */
async function growth(n: number, step: () => unknown): Promise<{ tensors: number; bytes: number }> {
  for (let i = 0; i < WARM_UP; i++) await step();
  const before = tf.memory();
  for (let i = 0; i < n; i++) await step();
  const after = tf.memory();
  return { tensors: after.numTensors - before.numTensors, bytes: after.numBytes - before.numBytes };
}

const FLAT = { tensors: 0, bytes: 0 };

/** A stateful running sum: SimpleRNN with h = h + x (kernel 1, recurrent kernel 1, bias 0, linear). */
const runningSum = (name = "carry") =>
  layer_simple_rnn({ units: 1, activation: "linear", stateful: true, name, weights: [[[1]], [[1]], [0]] });
const statefulModel = () => runningSum()(keras_model_sequential({ batch_input_shape: [1, 2, 1] })) as Model;

/** Fills the cache with other runtimes, so that every runtime not in use is evicted. */
function evictEverything(): void {
  const x = tf.tensor2d([[1, 2]]);
  for (let i = 0; i <= RUNTIME_CACHE_LIMITS.maxEntries; i++) (layer_dense(x, { units: 1 }) as tf.Tensor).dispose();
  x.dispose();
}

describe("device memory: flat over 1,000 calls, natural GC only", function () {
  this.timeout(120000);
  before(async () => {
    await use_backend("wasm");
    expect((globalThis as { gc?: unknown }).gc, "these tests must run without --expose-gc").to.equal(undefined);
  });
  after(() => releaseAllRuntimes());

  it("predict and evaluate on one value", async () => {
    const m = small();
    expect(await growth(1000, () => predict(m, X, { verbose: 0 }))).to.deep.equal(FLAT);
    expect(await growth(1000, () => evaluate(m, X, Y, { verbose: 0 }))).to.deep.equal(FLAT);
  });

  it("train_on_batch from one value and chained", async () => {
    const m = small();
    expect(await growth(1000, () => train_on_batch(m, X, Y))).to.deep.equal(FLAT);
    let chained = m;
    expect(
      await growth(1000, async () => {
        chained = (await train_on_batch(chained, X, Y)).model;
      }),
    ).to.deep.equal(FLAT);
  });

  it("fit from one value and chained (m = fit(m).model)", async () => {
    const m = small();
    expect(await growth(1000, () => fit(m, X, Y, { verbose: 0, batch_size: 4 }))).to.deep.equal(FLAT);
    let chained = m;
    expect(
      await growth(1000, async () => {
        chained = (await fit(chained, X, Y, { verbose: 0, batch_size: 4 })).model;
      }),
    ).to.deep.equal(FLAT);
  });

  it("fit of a softmax classifier with metrics, its head's gradient by hand (chained)", async () => {
    let m = compile(layer_dense(keras_model_sequential({ input_shape: [2] }), { units: 3, activation: "softmax" }), {
      optimizer: "adam",
      loss: "categorical_crossentropy",
      metrics: ["accuracy"],
    });
    const oneHot = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [0, 1, 0],
    ];
    const handWritten = headPaths.handWritten;
    expect(
      await growth(1000, async () => {
        m = (await fit(m, X, oneHot, { verbose: 0, batch_size: 4 })).model;
      }),
    ).to.deep.equal(FLAT);
    expect(headPaths.handWritten - handWritten).to.equal(1000 + WARM_UP);
  });

  /** A fit of `model` on X, Y that must fail with an error matching `expected`. */
  const failingFit = (model: Model, expected: RegExp) => async () => {
    let error: unknown = null;
    try {
      await fit(model, X, Y, { verbose: 0, batch_size: 2 });
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(expected);
  };

  it("fit() with a metric that throws: each failed step releases what its gradient recorded", async () => {
    const failing = custom_metric("fails", () => {
      throw new Error("the metric failed");
    });
    // a linear Dense with MSE takes the hand-written head; after a relu the tape does it all
    for (const activation of ["linear", "relu"] as const) {
      const model = compile(layer_dense(keras_model_sequential({ input_shape: [2] }), { units: 1, activation }), {
        optimizer: "adam",
        loss: "mse",
        metrics: [failing],
      });
      expect(await growth(200, failingFit(model, /the metric failed/)), activation).to.deep.equal(FLAT);
    }
  });

  it("fit() whose weight constraint is refused in the optimizer's update keeps nothing of the failed step", async () => {
    const model = compile(
      layer_dense(keras_model_sequential({ input_shape: [2] }), { units: 1, kernel_constraint: () => tf.ones([7]) }),
      { optimizer: "sgd", loss: "mse" },
    );
    expect(await growth(200, failingFit(model, /kernel_constraint/))).to.deep.equal(FLAT);
  });

  it("eager calls on throwaway layers", async () => {
    const x = tf.tensor2d(X);
    expect(await growth(1000, () => (layer_dense(x, { units: 3 }) as tf.Tensor).dispose())).to.deep.equal(FLAT);
    x.dispose();
  });

  it("stateful predict + reset_states", async () => {
    const m = statefulModel();
    expect(
      await growth(1000, async () => {
        await predict(m, [[[1], [2]]], { verbose: 0 });
        reset_states(m);
      }),
    ).to.deep.equal(FLAT);
  });

  it("fits of a ~1M-parameter Adam model from one compiled value stay within the cache's bound", async () => {
    // 1000 -> 1000 dense: 1,001,000 weights, 12 MB with Adam's two slots per weight. The full 1,000 fits
    // run in test/integration/memory.test.ts; here enough of them to fill the cache and show it stays so.
    const big = compile(layer_dense(keras_model_sequential({ input_shape: [1000] }), { units: 1000 }), {
      optimizer: "adam",
      loss: "mse",
    });
    const x = tf.randomNormal([8, 1000], 0, 1, "float32", 1);
    const y = tf.randomNormal([8, 1000], 0, 1, "float32", 2);
    const fitOnce = () => fit(big, x, y, { verbose: 0, batch_size: 8 });
    expect(await growth(4, fitOnce)).to.deep.equal(FLAT);
    expect(runtimeCacheStats().bytes).to.be.at.most(RUNTIME_CACHE_LIMITS.maxBytes);
    releaseAllRuntimes();
    x.dispose();
    y.dispose();
  });
});

describe("device memory: eviction keeps what must survive", () => {
  before(async () => {
    await use_backend("wasm");
  });
  after(() => releaseAllRuntimes());

  it("past its bounds the cache drops the least recently used runtimes, by count and by bytes", async () => {
    releaseAllRuntimes();
    const limits = { ...RUNTIME_CACHE_LIMITS };
    try {
      const models = [0, 1, 2, 3].map(() => small());
      const used = async (k: number) => {
        await predict(models[k], X, { verbose: 0 });
        return getRuntime(models[k]);
      };
      RUNTIME_CACHE_LIMITS.maxEntries = 3;
      const rts = [await used(0), await used(1), await used(2)];
      expect(await used(0)).to.equal(rts[0]); // in use order: 1, 2, 0
      rts.push(await used(3)); // 1 goes
      expect(rts.map((rt) => rt.isDisposed)).to.deep.equal([false, true, false, false]);
      expect(runtimeCacheStats()).to.deep.equal({ entries: 3, bytes: 3 * rts[0].bytes });
      RUNTIME_CACHE_LIMITS.maxBytes = 2 * rts[0].bytes;
      expect(await used(2)).to.equal(rts[2]); // in use order: 0, 3, 2; 0 goes
      expect(rts.map((rt) => rt.isDisposed)).to.deep.equal([true, true, false, false]);
      expect(runtimeCacheStats()).to.deep.equal({ entries: 2, bytes: 2 * rts[0].bytes });
      // the most recently used one stays even when it alone is past the bound
      RUNTIME_CACHE_LIMITS.maxBytes = 1;
      expect(await used(3)).to.equal(rts[3]);
      expect(rts.map((rt) => rt.isDisposed)).to.deep.equal([true, true, true, false]);
      expect(runtimeCacheStats()).to.deep.equal({ entries: 1, bytes: rts[0].bytes });
    } finally {
      Object.assign(RUNTIME_CACHE_LIMITS, limits);
      releaseAllRuntimes();
    }
  });

  it("a stateful model's state survives eviction of its runtime", async () => {
    const m = statefulModel();
    expectClose(await predict(m, [[[1], [2]]], { verbose: 0 }), [[3]]);
    evictEverything();
    expectClose(await predict(m, [[[10], [0]]], { verbose: 0 }), [[13]]); // continues from 3
    reset_states(m);
    expectClose(await predict(m, [[[1], [1]]], { verbose: 0 }), [[2]]);
  });

  it("reset_states on a layer taken with get_layer, before and after eviction", async () => {
    const m = statefulModel();
    await predict(m, [[[5], [5]]], { verbose: 0 });
    evictEverything();
    reset_states(get_layer(m, { name: "carry" }));
    expectClose(await predict(m, [[[1], [2]]], { verbose: 0 }), [[3]]);
    reset_states(get_layer(m, { name: "carry" }), [[[100]]]);
    evictEverything();
    expectClose(await predict(m, [[[1], [2]]], { verbose: 0 }), [[103]]);
  });

  it("an eager stateful layer keeps its state through eviction", () => {
    const layer = runningSum("eager_carry");
    const seq = (...v: number[]) => tf.tensor3d([v.map((x) => [x])]);
    const run = (t: tf.Tensor) => {
      const y = layer(t) as tf.Tensor;
      const out = Array.from(y.dataSync());
      tf.dispose([t, y]);
      return out;
    };
    expectClose(run(seq(1, 2)), [3]);
    evictEverything();
    expectClose(run(seq(4)), [7]);
    reset_states(layer);
    expectClose(run(seq(4)), [4]);
  });

  it("fit's final state goes to the trained value; the argument keeps its own", async () => {
    const m = compile(statefulModel(), { optimizer: "sgd", loss: "mse" });
    await predict(m, [[[1], [1]]], { verbose: 0 }); // m's state: 2
    const { model: trained } = await fit(m, [[[1], [1]]], [[9]], { verbose: 0, batch_size: 1, epochs: 1 });
    evictEverything();
    // SGD moved the weights a little, so compare the argument exactly and the trained value roughly
    expectClose(await predict(m, [[[0], [0]]], { verbose: 0 }), [[2]]);
    const t = (await predict(trained, [[[0], [0]]], { verbose: 0 })) as number[][];
    expect(t[0][0]).to.be.greaterThan(3); // from 2 + 1 + 1 = 4, not from 0 or 2
  });
});

describe("ownership of tensors between run, commit and the recurrent loop", () => {
  before(async () => {
    await use_backend("wasm");
  });
  after(() => releaseAllRuntimes());

  it("predict on a model whose output is its input (dropout only, identity lambda)", async () => {
    const x = [
      [1, 2],
      [3, 4],
    ];
    const dropoutOnly = layer_dropout(keras_model_sequential({ input_shape: [2] }), { rate: 0.5 });
    const identity = layer_lambda(keras_model_sequential({ input_shape: [2] }), { f: (t: tf.Tensor) => t });
    const before = tf.memory().numTensors;
    expect(await predict(dropoutOnly, x, { verbose: 0 })).to.deep.equal(x);
    expect(await predict(identity, x, { verbose: 0 })).to.deep.equal(x);
    expect(await predict(identity, x, { verbose: 0 })).to.deep.equal(x);
    releaseAllRuntimes();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it("a stateful custom cell that returns its incoming states unchanged (as states and as output)", async () => {
    const unchanged = rnn_cell_custom({ state_size: 2, call: (_x, states) => [states[0], states] });
    const passInput = rnn_cell_custom({ state_size: 2, call: (x, states) => [x, states] });
    for (const cell of [unchanged, passInput]) {
      const m = layer_rnn(keras_model_sequential({ batch_input_shape: [1, 3, 2] }), { cell, stateful: true });
      reset_states(m, [[[7, 8]]]);
      const seq = [
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
      ];
      const want = cell === unchanged ? [[7, 8]] : [[5, 6]];
      expect(await predict(m, seq, { verbose: 0 })).to.deep.equal(want);
      expect(await predict(m, seq, { verbose: 0 })).to.deep.equal(want);
    }
  });

  it("a stateful layer returning its new state as an output too (return_state)", async () => {
    const sum = rnn_cell_custom({
      state_size: 2,
      call: (x, [h]) => {
        const n = tf.add(h, x);
        return [n, [n]];
      },
    });
    const input = layer_input({ shape: [3, 2], batch_size: 1 });
    const m = keras_model({
      inputs: input,
      outputs: layer_rnn(input, { cell: sum, stateful: true, return_state: true }),
    });
    const seq = [
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
    ];
    expect(await predict(m, seq, { verbose: 0 })).to.deep.equal([[[9, 12]], [[9, 12]]]);
    expect(await predict(m, seq, { verbose: 0 })).to.deep.equal([[[18, 24]], [[18, 24]]]);
  });

  it("no garbage-collection hook frees device memory (no FinalizationRegistry or WeakRef in src/)", () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => {
        const p = join(dir, f);
        return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
      });
    // src/api/hints.ts holds WeakRefs to tokens that live as long as a model value (never to the value, never to
    // tensors) only to tell whether a dropped result was collected, for the R-habit hint; it frees nothing.
    const observersOnly = [join("src", "api", "hints.ts")];
    const users = files("src").filter(
      (f) => !observersOnly.includes(f) && /new (FinalizationRegistry|WeakRef)\b/.test(readFileSync(f, "utf8")),
    );
    expect(users).to.deep.equal([]);
  });
});
