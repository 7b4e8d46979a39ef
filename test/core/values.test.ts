/**
 * Values stay values (issue 9 §2): concurrent calls on one model value do not interfere, nothing a user
 * holds can be changed from outside, and every record handed out (fit's result, logs, backend_info,
 * activations) is frozen.
 */
import { expect } from "chai";
import {
  use_backend,
  backend_info,
  callback_lambda,
  callback_learning_rate_scheduler,
  compile,
  fit,
  get_weights,
  keras_model_sequential,
  layer_dense,
  predict,
  set_weights,
  train_on_batch,
  type Model,
} from "../../src/index.js";
import { tf } from "../../src/backend/tf.js";
import { releaseAllRuntimes } from "../../src/engine/runtime.js";

const X = [
  [0.1, 0.2],
  [0.3, -0.1],
  [-0.2, 0.4],
  [0.5, 0.5],
  [0.9, -0.7],
  [-0.4, -0.3],
];
const Y = [[0.3], [0.2], [0.2], [1.0], [0.1], [-0.6]];

const twoLayers = (): Model =>
  compile(
    keras_model_sequential({
      input_shape: [2],
      layers: [layer_dense({ units: 4, activation: "tanh" }), layer_dense({ units: 1 })],
    }),
    { optimizer: "adam", loss: "mse" },
  );

const fitArgs = { epochs: 3, batch_size: 2, shuffle: false, verbose: 0 as const };

/** Runs `f` and returns the TypeError it throws (ES modules are strict: writing a frozen property throws). */
function writeError(f: () => void): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("values stay values", () => {
  before(async () => {
    await use_backend("wasm");
  });
  after(() => releaseAllRuntimes());

  it("two fit() calls started together on one value each train their own copy (bit-exact with alone)", async () => {
    const m = twoLayers();
    await predict(m, X, { verbose: 0 }); // m's runtime is cached: one of the fits may take it
    const alone = get_weights((await fit(m, X, Y, fitArgs)).model);
    const [a, b] = await Promise.all([fit(m, X, Y, fitArgs), fit(m, X, Y, fitArgs)]);
    expect(get_weights(a.model)).to.deep.equal(alone);
    expect(get_weights(b.model)).to.deep.equal(alone);
    expect(a.history.metrics.loss).to.deep.equal(b.history.metrics.loss);
  });

  it("predict(model) from a callback during fit(model) sees model's own weights", async () => {
    const m = twoLayers();
    const own = await predict(m, X, { verbose: 0 });
    const seen: unknown[] = [];
    const { model: trained } = await fit(m, X, Y, {
      ...fitArgs,
      callbacks: [callback_lambda({ on_epoch_end: async () => void seen.push(await predict(m, X, { verbose: 0 })) })],
    });
    expect(seen).to.have.length(3);
    for (const s of seen) expect(s).to.deep.equal(own);
    expect(await predict(trained, X, { verbose: 0 })).not.to.deep.equal(own);
  });

  it("the weight arrays inside a model value cannot be changed from outside", async () => {
    const { model: trained } = await fit(twoLayers(), X, Y, fitArgs);
    const weights = get_weights(trained);
    const out = await predict(trained, X, { verbose: 0 });
    const held = trained.layers[0].weightValues![0];
    held.values[0] = 999;
    held.values.fill(7);
    expect(get_weights(trained)).to.deep.equal(weights);
    expect(await predict(trained, X, { verbose: 0 })).to.deep.equal(out);
    // get_weights hands out copies
    (get_weights(trained)[0] as number[][])[0][0] = 999;
    expect(get_weights(trained)).to.deep.equal(weights);
    // the optimizer's slots stored on the value too
    const slots = (trained.compiled as any).optimizerState.slots as Record<string, { values: Float32Array }[]>;
    const slot = Object.values(slots)[0][0];
    const slotBefore = Array.from(slot.values);
    slot.values.fill(5);
    expect(Array.from(slot.values)).to.deep.equal(slotBefore);
  });

  it("set_weights and the `weights` argument copy what they are given", async () => {
    const kernel = new Float32Array([1, 2]);
    const bias = [0.5];
    const layered = keras_model_sequential({
      input_shape: [2],
      layers: [layer_dense({ units: 1, weights: [kernel, bias] })],
    });
    const set = set_weights(keras_model_sequential({ input_shape: [2], layers: [layer_dense({ units: 1 })] }), [
      kernel,
      bias,
    ]);
    kernel[0] = 100;
    bias[0] = 100;
    const want = [[[1], [2]], [0.5]];
    expect(get_weights(layered)).to.deep.equal(want);
    expect(get_weights(set)).to.deep.equal(want);
    expect(await predict(layered, [[1, 1]], { verbose: 0 })).to.deep.equal([[3.5]]);
  });

  it("activation objects are per-layer and frozen", async () => {
    const a = layer_dense({ units: 1 });
    const b = layer_dense({ units: 1, activation: "relu" });
    const c = layer_dense({ units: 1, activation: b.config.activation });
    expect(a.config.activation).to.not.equal(layer_dense({ units: 1 }).config.activation);
    expect(c.config.activation).to.not.equal(b.config.activation);
    for (const layer of [a, b, c]) {
      expect(Object.isFrozen(layer.config.activation)).to.equal(true);
      expect(writeError(() => (layer.config.activation.fn = () => tf.scalar(0)))).to.be.instanceOf(TypeError);
    }
    const m = keras_model_sequential({ input_shape: [1], layers: [layer_dense({ units: 1, weights: [[[2]], [1]] })] });
    expect(await predict(m, [[3]], { verbose: 0 })).to.deep.equal([[7]]);
  });

  it("backend_info(), fit's and train_on_batch's records and callback logs are frozen", async () => {
    const info = backend_info();
    expect(Object.isFrozen(info) && Object.isFrozen(info.not_used)).to.equal(true);
    const logs: Record<string, number>[] = [];
    const writes: unknown[] = [];
    const record = (l: Record<string, number>) => {
      logs.push(l);
      writes.push(writeError(() => (l.loss = -1)));
    };
    const result = await fit(twoLayers(), X, Y, {
      ...fitArgs,
      validation_split: 1 / 3,
      callbacks: [
        callback_lambda({
          on_train_batch_end: (_b: number, l: Record<string, number>) => record(l),
          on_epoch_end: (_e: number, l: Record<string, number>) => record(l),
          on_test_end: (l: Record<string, number>) => record(l),
          on_train_end: (l: Record<string, number>) => record(l),
        }),
        callback_learning_rate_scheduler((_epoch, lr) => lr),
      ],
    });
    expect(logs.length).to.be.greaterThan(6);
    for (const w of writes) expect(w).to.be.instanceOf(TypeError);
    expect(logs.every((l) => Object.isFrozen(l))).to.equal(true);
    // the learning-rate callbacks still add learning_rate to the epoch logs (and so to the history)
    expect(result.history.metrics.learning_rate).to.have.length(3);
    expect(Object.isFrozen(result)).to.equal(true);
    const step = await train_on_batch(result.model, X, Y);
    expect(Object.isFrozen(step) && Object.isFrozen(step.logs)).to.equal(true);
  });
});
