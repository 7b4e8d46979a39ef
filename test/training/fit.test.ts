import { expect } from "chai";
import {
  use_backend,
  keras_model_sequential,
  keras_model,
  layer_input,
  layer_dense,
  get_weights,
  set_weights,
  compile,
  fit,
  evaluate,
  predict,
  train_on_batch,
  test_on_batch,
  predict_on_batch,
  optimizer_adam,
  optimizer_sgd,
  regularizer_l2,
} from "../../src/index.js";
import { tf } from "../../src/backend/tf.js";
import { releaseRuntime } from "../../src/engine/runtime.js";
import type { Model } from "../../src/model/model.js";
import { expectClose, expectKerasError } from "./helpers.js";

/** Deterministic pseudo-random numbers in [0, 1) (a linear congruential generator). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (1664525 * s + 1013904223) >>> 0) / 2 ** 32;
}

function regressionData(n: number) {
  const r = rng(1);
  const x = Array.from({ length: n }, () => [r() * 2 - 1, r() * 2 - 1]);
  const y = x.map(([a, b]) => [2 * a - b + 0.5]);
  return { x, y };
}

/** Two blobs around (-1, -1) (class 0) and (1, 1) (class 1). */
function classificationData(n: number) {
  const r = rng(2);
  const x: number[][] = [];
  const y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const centre = c ? 1 : -1;
    x.push([centre + (r() - 0.5), centre + (r() - 0.5)]);
    y.push([c]);
  }
  return { x, y };
}

/** Dense identity model y = x (kernel 1, bias 0) for hand-checked losses. */
function identityModel(): Model {
  const m = layer_dense(keras_model_sequential({ input_shape: [1] }), { units: 1, weights: [[[1]], [0]] });
  return m;
}

for (const backend of ["wasm", "cpu"] as const) {
  describe(`training: fit learns on ${backend}`, function () {
    this.timeout(60000);
    before(async () => {
      await use_backend(backend);
    });

    it("a small regression: mse falls below 0.01", async () => {
      const { x, y } = regressionData(128);
      const model = compile(
        layer_dense(layer_dense(keras_model_sequential({ input_shape: [2] }), { units: 8, activation: "tanh" }), {
          units: 1,
        }),
        { optimizer: optimizer_adam({ learning_rate: 0.05 }), loss: "mse", metrics: ["mae"] },
      );
      const { model: trained, history } = await fit(model, x, y, { epochs: 40, batch_size: 16, verbose: 0 });
      const losses = history.metrics.loss;
      expect(losses).to.have.length(40);
      expect(losses[39]).to.be.below(0.01);
      expect(losses[39]).to.be.below(losses[0] / 10);
      const ev = await evaluate(trained, x, y, { verbose: 0 });
      expect(Object.keys(ev)).to.deep.equal(["loss", "mae"]);
      expect(ev.loss).to.be.below(0.01);
    });

    it("a small classification: binary crossentropy below 0.1, accuracy 1", async () => {
      const { x, y } = classificationData(64);
      const model = compile(
        layer_dense(layer_dense(keras_model_sequential({ input_shape: [2] }), { units: 4, activation: "relu" }), {
          units: 1,
          activation: "sigmoid",
        }),
        { optimizer: optimizer_adam({ learning_rate: 0.05 }), loss: "binary_crossentropy", metrics: ["accuracy"] },
      );
      const { model: trained, history } = await fit(model, x, y, { epochs: 30, batch_size: 16, verbose: 0 });
      expect(history.metrics.loss[29]).to.be.below(0.1);
      expect(history.metrics.accuracy[29]).to.equal(1);
      const p = (await predict(trained, [
        [-1, -1],
        [1, 1],
      ])) as number[][];
      expect(p[0][0]).to.be.below(0.5);
      expect(p[1][0]).to.be.above(0.5);
    });
  });
}

describe("training: fit, evaluate and predict semantics", function () {
  this.timeout(60000);
  before(async () => {
    await use_backend("wasm");
  });

  it("fit leaves its argument model unchanged and returns a new value", async () => {
    const { x, y } = regressionData(32);
    const model = compile(layer_dense(keras_model_sequential({ input_shape: [2] }), { units: 1 }), {
      optimizer: "sgd",
      loss: "mse",
    });
    const w0 = get_weights(model);
    const p0 = await predict(model, x, { verbose: 0 });
    const { model: trained } = await fit(model, x, y, { epochs: 2, verbose: 0 });
    expect(trained).to.not.equal(model);
    expect(Object.isFrozen(trained)).to.equal(true);
    expect(get_weights(model)).to.deep.equal(w0);
    expect(await predict(model, x, { verbose: 0 })).to.deep.equal(p0);
    expect(get_weights(trained)).to.not.deep.equal(w0);
    // the trained value's weights are the ones its predictions use
    const rebuilt = set_weights(model, get_weights(trained));
    expectClose(await predict(rebuilt, x, { verbose: 0 }), await predict(trained, x, { verbose: 0 }), 1e-6);
  });

  it("continues with the optimizer state: two fits of 1 epoch equal one fit of 2 epochs (no shuffling)", async () => {
    const { x, y } = regressionData(32);
    const model = compile(
      layer_dense(keras_model_sequential({ input_shape: [2] }), { units: 1, weights: [[[0.1], [0.2]], [0]] }),
      { optimizer: optimizer_adam({ learning_rate: 0.1 }), loss: "mse" },
    );
    const once = await fit(model, x, y, { epochs: 2, batch_size: 8, shuffle: false, verbose: 0 });
    const a = await fit(model, x, y, { epochs: 1, batch_size: 8, shuffle: false, verbose: 0 });
    const b = await fit(a.model, x, y, { epochs: 1, batch_size: 8, shuffle: false, verbose: 0 });
    expectClose(get_weights(b.model), get_weights(once.model), 1e-5);
    expect((b.model.compiled as any).optimizerState.iterations).to.equal(8);
  });

  it("loss with sample weights, weighted metrics and regularization (hand-computed)", async () => {
    // identity model on x = [1, 2], y = [0, 0]: squared errors [1, 4]
    const model = compile(identityModel(), {
      optimizer: "sgd",
      loss: "mse",
      metrics: ["mse"],
      weighted_metrics: ["mse"],
    });
    const ev = await evaluate(model, [[1], [2]], [[0], [0]], { sample_weight: [1, 3], verbose: 0 });
    expect(ev.loss).to.be.closeTo((1 * 1 + 3 * 4) / 2, 1e-6); // Keras: sum of weighted values / count
    expect(ev.mse).to.be.closeTo(2.5, 1e-6); // unweighted
    expect(ev.weighted_mse).to.be.closeTo((1 + 12) / 4, 1e-6); // weighted mean
    // l2(0.5) on kernel 1: penalty 0.5 added to the loss
    const reg = layer_dense(keras_model_sequential({ input_shape: [1] }), {
      units: 1,
      weights: [[[1]], [0]],
      kernel_regularizer: regularizer_l2(0.5),
    });
    const ev2 = await evaluate(compile(reg, { loss: "mse" }), [[1], [2]], [[0], [0]], { verbose: 0 });
    expect(ev2.loss).to.be.closeTo(2.5 + 0.5, 1e-6);
  });

  it("train_on_batch makes one SGD step (hand-computed gradient)", async () => {
    // y_hat = w x + b with w = 1, b = 0 on x = [1, 2], y = [0, 0]; mse = mean((w x + b)^2)
    // d/dw = mean(2 x (w x + b)) = (2 + 8) / 2 = 5; d/db = mean(2 (w x + b)) = 3; lr 0.1 -> w = 0.5, b = -0.3
    const model = compile(identityModel(), { optimizer: optimizer_sgd({ learning_rate: 0.1 }), loss: "mse" });
    const { model: next, logs } = await train_on_batch(model, [[1], [2]], [[0], [0]]);
    expect(logs.loss).to.be.closeTo(2.5, 1e-6);
    expectClose(get_weights(next), [[[0.5]], [-0.3]], 1e-6);
    // after the step: predictions 0.5 x - 0.3 = [0.2, 0.7]; mse = (0.04 + 0.49) / 2
    expect((await test_on_batch(next, [[1], [2]], [[0], [0]])).loss).to.be.closeTo(0.265, 1e-6);
    expectClose(await predict_on_batch(next, [[1], [2]]), [[0.2], [0.7]], 1e-6);
  });

  it("validation_split takes the last samples, validation_data gives val_* logs", async () => {
    const model = compile(identityModel(), { optimizer: optimizer_sgd({ learning_rate: 0 }), loss: "mse" });
    // the last 25% = the last sample (x = 2, y = 0): val_loss = 4; training on the first three: (1 + 0 + 1) / 3
    const { history } = await fit(model, [[1], [0], [1], [2]], [[0], [0], [0], [0]], {
      validation_split: 0.25,
      verbose: 0,
    });
    expect(history.metrics.val_loss[0]).to.be.closeTo(4, 1e-6);
    expect(history.metrics.loss[0]).to.be.closeTo(2 / 3, 1e-6);
    const h2 = (await fit(model, [[1]], [[0]], { validation_data: [[[3]], [[0]]], epochs: 2, verbose: 0 })).history;
    expect(h2.metrics.val_loss).to.deep.equal([9, 9]);
  });

  it("multi-input and multi-output models: lists or records by name, per-output logs", async () => {
    const a = layer_input({ shape: [1], name: "a" });
    const b = layer_input({ shape: [1], name: "b" });
    const outA = layer_dense(a, { units: 1, name: "out_a", weights: [[[1]], [0]] });
    const outB = layer_dense(b, { units: 1, name: "out_b", weights: [[[2]], [0]] });
    const model = compile(keras_model({ inputs: [a, b], outputs: [outA, outB] }), {
      optimizer: "sgd",
      loss: "mse",
      loss_weights: { out_a: 1, out_b: 0.5 },
      metrics: ["mae"],
    });
    const x = { a: [[1], [2]], b: [[1], [1]] };
    const y = [
      [[0], [0]],
      [[0], [0]],
    ];
    const ev = await evaluate(model, x, y, { verbose: 0 });
    // out_a: mse (1 + 4) / 2 = 2.5; out_b: predictions [2, 2], mse 4, weight 0.5 -> 2
    expect(ev.out_a_loss).to.be.closeTo(2.5, 1e-6);
    expect(ev.out_b_loss).to.be.closeTo(2, 1e-6);
    expect(ev.loss).to.be.closeTo(4.5, 1e-6);
    expect(ev.out_a_mae).to.be.closeTo(1.5, 1e-6);
    const p = (await predict(
      model,
      [
        [[1], [2]],
        [[1], [1]],
      ],
      { verbose: 0 },
    )) as number[][][];
    expect(p).to.have.length(2);
    expectClose(p[1], [[2], [2]]);
    const { history } = await fit(model, x, { out_a: [[0], [0]], out_b: [[0], [0]] }, { verbose: 0 });
    expect(Object.keys(history.metrics)).to.include.members([
      "loss",
      "out_a_loss",
      "out_b_loss",
      "out_a_mae",
      "out_b_mae",
    ]);
  });

  it("accepts tf.Tensors (never disposing them), typed arrays and { data, shape }", async () => {
    const model = compile(identityModel(), { loss: "mse" });
    const xt = tf.tensor2d([[1], [2]]);
    const ev1 = await evaluate(model, xt, { data: new Float32Array([0, 0]), shape: [2, 1] }, { verbose: 0 });
    expect(xt.isDisposed).to.equal(false);
    xt.dispose();
    const ev2 = await evaluate(model, new Float32Array([1, 2]), [0, 0], { verbose: 0 });
    expect(ev1.loss).to.be.closeTo(2.5, 1e-6);
    expect(ev2.loss).to.be.closeTo(2.5, 1e-6);
  });

  it("steps_per_epoch runs that many batches per epoch, continuing through the data", async () => {
    const model = compile(identityModel(), { optimizer: optimizer_sgd({ learning_rate: 0 }), loss: "mse" });
    let batches = 0;
    const { model: trained, history } = await fit(model, [[1], [2], [3], [4]], [[0], [0], [0], [0]], {
      epochs: 2,
      batch_size: 2,
      steps_per_epoch: 3,
      shuffle: false,
      verbose: 0,
      callbacks: [{ on_train_batch_end: () => void batches++ }],
    });
    expect(batches).to.equal(6);
    expect((trained.compiled as any).optimizerState.iterations).to.equal(6);
    // epoch 1 sees batches [1,2], [3,4], [1,2]: (1 + 4 + 9 + 16 + 1 + 4) / 6 samples
    expect(history.metrics.loss[0]).to.be.closeTo(35 / 6, 1e-6);
  });

  it("class_weight weighs the samples by their class", async () => {
    const model = compile(identityModel(), { optimizer: optimizer_sgd({ learning_rate: 0 }), loss: "mse" });
    // x = [1, 2] with classes [0, 1]: errors (1-0)^2 = 1 and (2-1)^2 = 1, weights 1 and 3 -> (1 + 3) / 2
    const { history } = await fit(model, [[1], [2]], [[0], [1]], {
      class_weight: { 0: 1, 1: 3 },
      verbose: 0,
      shuffle: false,
    });
    expect(history.metrics.loss[0]).to.be.closeTo(2, 1e-6);
  });

  it("errors name the function and the argument", async () => {
    const model = compile(identityModel(), { loss: "mse" });
    await expectKerasError(() => fit(model, [[1]], [[0]], { epochz: 2 } as any), /fit\(\)/, /epochs/);
    await expectKerasError(() => fit(model, [[1], [2]], [[0]], { verbose: 0 }), /same number of samples/);
    await expectKerasError(() => fit(model, [[1, 2]], [[0]], { verbose: 0 }), /shape/);
    await expectKerasError(() => fit(identityModel(), [[1]], [[0]]), /compile/);
    await expectKerasError(() => fit(model, [[1]], [[0]], { initial_epoch: 3, epochs: 2 }), /initial_epoch/);
    await expectKerasError(() => compile(model, { optimizer: "adamm" }), /compile\(\)/, /adamm/);
    await expectKerasError(() => compile(model, { loss: "msee" }), /msee/);
    await expectKerasError(() => predict({} as any, [[1]]), /predict\(\)/, /model/);
  });

  it("compile is pipeable and keeps the model unchanged", () => {
    const m = identityModel();
    const c = compile({ optimizer: "adam", loss: "mse" })(m);
    expect(m.compiled).to.equal(null);
    expect((c.compiled as any).optimizer.class_name).to.equal("Adam");
    expect((c.compiled as any).optimizer.config.epsilon).to.equal(1e-7);
  });

  it("leaks no tensors over 200 fit / predict calls", async () => {
    const { x, y } = regressionData(16);
    const xt = tf.tensor2d(x);
    let model = compile(layer_dense(keras_model_sequential({ input_shape: [2] }), { units: 1 }), {
      optimizer: "adam",
      loss: "mse",
      metrics: ["mae", "accuracy"],
    });
    model = (await fit(model, x, y, { verbose: 0, validation_split: 0.25 })).model; // warm-up: runtime + optimizer slots exist now
    await predict(model, xt, { verbose: 0 });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) {
      model = (await fit(model, xt, y, { verbose: 0, batch_size: 8, validation_split: 0.25 })).model;
      await predict(model, x, { verbose: 0 });
    }
    expect(tf.memory().numTensors).to.equal(before);
    releaseRuntime(model);
    xt.dispose();
  });
});
