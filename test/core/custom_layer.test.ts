/**
 * new_layer_class(): custom layers as values — in sequential and functional models and eagerly, masks in
 * and out (Keras's own masked TimeDistributed test), training (hand-derived SGD steps with a regularizer
 * and add_loss), summary(), get_weights / set_weights, .keras files with custom_objects, and the errors.
 * The numbers against real Keras are in test/integration/keras/custom_layers.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import { tf, type Tensor } from "../../src/backend/tf.js";
import {
  KerasError,
  compile,
  count_params,
  evaluate,
  fit,
  get_config,
  get_weights,
  keras_model,
  keras_model_sequential,
  layer_dense,
  layer_input,
  layer_masking,
  load_model,
  model_from_json,
  model_to_json,
  new_layer_class,
  add_weight,
  optimizer_sgd,
  predict,
  regularizer_l2,
  save_model,
  set_weights,
  summary,
  time_distributed,
  use_backend,
} from "../../src/index.js";
import { eagerMaskOf } from "../../src/engine/eager.js";
import { releaseAllRuntimes } from "../../src/engine/runtime.js";
import { layer_masked_mean, layer_scaled_dense } from "../helpers/custom_layers.js";
import { BACKENDS, expectClose } from "../wrappers/helpers.js";

/** Keras's MaskedDense of time_distributed_test.py: Dense(units, kernel 0.01, no bias), outputs zeroed where masked. */
const layer_masked_dense = new_layer_class({
  classname: "MaskedDense",
  arguments: { units: 1 },
  build: (input_shape, { config, add_weight }) => ({
    kernel: add_weight({
      shape: [input_shape.at(-1)!, config.units],
      initializer: { class_name: "Constant", config: { value: 0.01 } },
    }),
  }),
  call: (x, { weights, mask }) => {
    const y = tf.matMul(x as tf.Tensor2D, weights.kernel as tf.Tensor2D);
    return mask ? tf.mul(y, tf.expandDims(tf.cast(mask, "float32"), -1)) : y;
  },
  supports_masking: true,
});

/** y = w * x with one scalar weight w (initial value 1), an L2 penalty `l2` on it. */
const scale = (l2: number) =>
  new_layer_class({
    classname: "Scale",
    build: () => ({ w: add_weight({ shape: [1], initializer: "ones", regularizer: regularizer_l2(l2) }) }),
    call: (x, { weights }) => tf.mul(x, weights.w),
    compute_output_shape: (s) => s,
  });

for (const backend of BACKENDS) {
  describe(`new_layer_class on ${backend}`, () => {
    before(async () => {
      await use_backend(backend);
    });

    it("writes Keras's masked TimeDistributed test layer: its numbers from time_distributed_test.py", () => {
      // sequence = arange(24) as (3, 2, 4); mask [[F, T], [T, F], [T, T]]; kernel 0.01:
      // row sums 6, 22, 38, 54, 70, 86 -> 0.06 .. 0.86, zeroed where masked.
      const sequence = tf.reshape(tf.range(0, 24, 1, "float32"), [3, 2, 4]);
      const mask = [
        [false, true],
        [true, false],
        [true, true],
      ];
      const y = time_distributed({ layer: layer_masked_dense({ units: 1 }) })(sequence, { mask }) as Tensor;
      expectClose(
        y,
        [
          [[0], [0.22]],
          [[0.38], [0]],
          [[0.7], [0.86]],
        ],
        1e-6,
      );
      tf.dispose([sequence, y]);
    });

    it("passes the mask on with supports_masking, drops it by default, computes it with compute_mask", () => {
      const x = [[[1], [0], [2]]];
      const masked = layer_masking({ mask_value: 0 })(x) as Tensor;
      const kept = layer_masked_dense({ units: 1 })(masked) as Tensor;
      expectClose(eagerMaskOf(kept)!, [[1, 0, 1]], 0);
      const dropped = layer_masked_mean()(masked) as Tensor;
      expect(eagerMaskOf(dropped)).to.equal(undefined);
      // The masked mean of [1, 2] (the 0 step skipped), gain 1.
      expectClose(dropped, [[1.5]], 1e-6);
      const firstOnly = new_layer_class({
        classname: "FirstOnly",
        call: (x) => x,
        compute_mask: (_x, mask) => (mask ? tf.logicalAnd(mask, tf.tensor2d([[true, false, false]])) : null),
      });
      const y = firstOnly()(masked) as Tensor;
      expectClose(eagerMaskOf(y)!, [[1, 0, 0]], 0);
      tf.dispose([masked, kept, dropped, y]);
    });

    it("trains its weights: one SGD step with the regularizer's penalty in the loss (derived by hand)", async () => {
      // x = 1, y = 0, w = 1: mse = w^2 = 1, penalty 0.5 w^2 = 0.5, loss 1.5; d/dw = 2w + w = 3;
      // lr 0.1: w = 1 - 0.3 = 0.7.
      const model = compile(pipe(keras_model_sequential({ input_shape: [1] }), scale(0.5)()), {
        optimizer: optimizer_sgd({ learning_rate: 0.1 }),
        loss: "mse",
      });
      const { model: trained, history } = await fit(model, [[1]], [[0]], { epochs: 1, verbose: 0 });
      expectClose(history.metrics.loss, [1.5], 1e-6);
      expectClose(get_weights(trained)[0], [0.7], 1e-6);
      expectClose(get_weights(model)[0], [1], 0); // the value trained is unchanged
    });

    it("adds call's add_loss() terms to the loss, and sees `training`", async () => {
      // y = w x, add_loss(w^2) only while training: loss = (w x - 0)^2 + w^2 = 2 at w = 1; d/dw = 4: w = 0.6.
      const seen: boolean[] = [];
      const layer_penalised = new_layer_class({
        classname: "Penalised",
        build: () => ({ w: add_weight({ shape: [], initializer: "ones" }) }),
        call: (x, { weights, training, add_loss }) => {
          seen.push(training);
          if (training) add_loss(tf.square(weights.w));
          return tf.mul(x, weights.w);
        },
      });
      const model = compile(pipe(keras_model_sequential({ input_shape: [1] }), layer_penalised()), {
        optimizer: optimizer_sgd({ learning_rate: 0.1 }),
        loss: "mse",
      });
      const { model: trained, history } = await fit(model, [[1]], [[0]], { epochs: 1, verbose: 0 });
      expectClose(history.metrics.loss, [2], 1e-6);
      expectClose(get_weights(trained)[0], 0.6, 1e-6);
      expect(seen).to.include(true);
      const after = await evaluate(trained, [[1]], [[0]], { verbose: 0 });
      expectClose(after.loss, 0.36, 1e-6); // no add_loss outside training
    });
  });
}

describe("new_layer_class: models, weights, files and errors", () => {
  let dir: string;
  before(async () => {
    await use_backend("wasm");
    dir = mkdtempSync(join(tmpdir(), "tskeras-custom-layer-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("composes in sequential and functional models, infers shapes, prints in summary()", () => {
    const seq = pipe(
      keras_model_sequential({ input_shape: [3] }),
      layer_scaled_dense({ units: 2 }),
      layer_dense({ units: 1 }),
    );
    // kernel 3 x 2 + bias 2 trainable; offset 2 not.
    expect(count_params(seq)).to.equal(8 + 2 + 3);
    const text = summary(seq);
    expect(text).to.match(/scaled_dense \(ScaledDense\)\s+\(None, 2\)\s+10/);
    expect(text).to.match(/Non-trainable params: 2/);
    const input = layer_input({ shape: [4, 3] });
    const mean = layer_masked_mean(input);
    expect(mean.shape).to.deep.equal([null, 3]); // found by running `call` (no compute_output_shape)
    const out = layer_scaled_dense({ units: 5 })(mean);
    expect(out.shape).to.deep.equal([null, 5]);
    expect(keras_model({ inputs: input, outputs: out }).layers.map((l) => l.className)).to.deep.equal([
      "InputLayer",
      "MaskedMean",
      "ScaledDense",
    ]);
  });

  it("is a value: get_config, get_weights in Keras order, set_weights returns a new model", async () => {
    const layer = layer_scaled_dense({ units: 2, scale: 0.5, name: "sd" });
    expect(Object.isFrozen(layer)).to.equal(true);
    expect(get_config(layer)).to.deep.include({ class_name: "ScaledDense" });
    expect((get_config(layer) as any).config).to.deep.include({ name: "sd", units: 2, scale: 0.5 });
    const model = pipe(keras_model_sequential({ input_shape: [1] }), layer);
    const w = get_weights(model);
    // kernel (1 x 2, glorot), bias zeros, offset ones: trainable first.
    expect(w.map((a: any) => JSON.stringify(a).length > 0)).to.have.length(3);
    expectClose(w[1], [0, 0], 0);
    expectClose(w[2], [1, 1], 0);
    const set = set_weights(model, [[[1, -1]], [0.5, 0.5], [0, 0]]);
    expectClose(await predict(set, [[2]], { verbose: 0 }), [[Math.tanh(1.5), Math.tanh(-0.5)]], 1e-6);
    expectClose(get_weights(model)[2], [1, 1], 0);
  });

  it("saves and loads a .keras file with custom_objects; without it, the error names the class", async () => {
    const model = set_weights(
      pipe(keras_model_sequential({ input_shape: [3] }), layer_scaled_dense({ units: 2, scale: 0.5 })),
      [
        [
          [1, 0],
          [0, 1],
          [1, 1],
        ],
        [0.1, -0.1],
        [0, 1],
      ],
    );
    const file = join(dir, "custom.keras");
    await save_model(model, file);
    let error: unknown;
    try {
      await load_model(file);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(KerasError);
    expect(String(error)).to.match(/needs `custom_objects` for: "ScaledDense" \(a layer class/);
    const back = await load_model(file, { custom_objects: { ScaledDense: layer_scaled_dense } });
    expect(back.layers[0].className).to.equal("ScaledDense");
    expect(back.layers[0].config).to.deep.include({ units: 2, scale: 0.5 });
    const x = [[1, 2, 3]];
    expectClose(await predict(back, x, { verbose: 0 }), await predict(model, x, { verbose: 0 }), 1e-6);
    const json = model_to_json(model);
    expect(() => model_from_json(json)).to.throw(KerasError, /needs `custom_objects` for: "ScaledDense"/);
    const fresh = model_from_json(json, { custom_objects: { ScaledDense: layer_scaled_dense } });
    expect(fresh.layers[0].config).to.deep.include({ units: 2, scale: 0.5 });
  });

  it("leaves no tensors behind: composing (the probe of the output shape), eager calls, predict", async () => {
    releaseAllRuntimes();
    const before = tf.memory().numTensors;
    const model = pipe(
      keras_model_sequential({ input_shape: [4, 3] }),
      layer_masked_mean(),
      layer_scaled_dense({ units: 2 }),
    );
    const y = layer_masked_mean([[[1, 2, 3]]]) as Tensor;
    y.dispose();
    await predict(
      model,
      [
        [
          [1, 2, 3],
          [4, 5, 6],
          [7, 8, 9],
          [0, 1, 0],
        ],
      ],
      { verbose: 0 },
    );
    releaseAllRuntimes(); // the device copies of the models' weights, a cache
    expect(tf.memory().numTensors - before).to.equal(0);
  });

  it("refuses bad definitions, bad arguments and bad results with KerasErrors naming them", () => {
    const call = (x: Tensor) => x;
    expect(() => new_layer_class({ classname: "Dense", call })).to.throw(
      KerasError,
      /`classname` "Dense" is a built-in class/,
    );
    expect(() => new_layer_class({ classname: "1x", call })).to.throw(
      KerasError,
      /new_layer_class\(\): `classname` must be a class name/,
    );
    expect(() => new_layer_class({ classname: "A", arguments: { name: "x" }, call })).to.throw(
      KerasError,
      /may not name the standard layer arguments \(`name`\)/,
    );
    expect(() => new_layer_class({ classname: "A", call: 3 } as any)).to.throw(KerasError, /`call` must be a function/);
    expect(() => layer_scaled_dense({ unit: 2 } as any)).to.throw(
      KerasError,
      /ScaledDense\(\): unknown argument `unit`; did you mean `units`\?/,
    );
    expect(() => layer_scaled_dense({ units: "2" } as any)).to.throw(
      KerasError,
      /ScaledDense\(\): `units` must be a finite number, got "2"/,
    );
    const needsUnits = new_layer_class({ classname: "NeedsUnits", arguments: { units: 1 }, required: ["units"], call });
    expect(() => needsUnits()).to.throw(KerasError, /NeedsUnits\(\): `units` is required/);
    expect(() => add_weight({ shape: [2, 0] })).to.throw(
      KerasError,
      /add_weight\(\): `shape` must be a shape of positive integers/,
    );
    const badBuild = new_layer_class({ classname: "BadBuild", build: () => ({ w: [1, 2] }) as any, call });
    expect(() => pipe(keras_model_sequential({ input_shape: [3] }), badBuild())).to.throw(
      KerasError,
      /BadBuild\(\): `build` \(a function of the input shape\) must return a record of add_weight\(\) values/,
    );
    const junk = new_layer_class({ classname: "Junk", call: () => 3 as any });
    expect(() => layer_input({ shape: [2] }) && junk(layer_input({ shape: [2] }))).to.throw(
      KerasError,
      /Junk\(\): `call` must return a numeric tensor, got 3/,
    );
    const throws = new_layer_class({
      classname: "Throws",
      call: () => {
        throw new Error("boom");
      },
    });
    expect(() => throws([[1, 2]])).to.throw(KerasError, /`call` failed: boom/);
    const liar = new_layer_class({ classname: "Liar", call, compute_output_shape: (s) => [s[0], 7] });
    expect(() => liar([[1, 2]])).to.throw(
      KerasError,
      /`call` returned shape \(1, 2\) where `compute_output_shape` gives \(1, 7\)/,
    );
  });
});
