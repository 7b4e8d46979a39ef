/**
 * time_distributed over a model (Keras's TimeDistributed(Sequential(...))): the model runs at every
 * timestep with the weights it holds, its config and .keras file nest the model's, and what cannot be done
 * (the legacy HDF5 layout) is refused. Expected numbers are derived
 * by hand; test/integration/keras/custom_layers.test.ts compares with Keras.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import { type Tensor } from "../../src/backend/tf.js";
import {
  KerasError,
  count_params,
  from_config,
  get_config,
  get_weights,
  keras_model,
  keras_model_sequential,
  layer_dense,
  layer_input,
  layer_lstm,
  load_model,
  load_model_weights_hdf5,
  model_from_json,
  model_to_json,
  predict,
  save_model,
  save_model_hdf5,
  save_model_weights_hdf5,
  set_weights,
  time_distributed,
} from "../../src/index.js";
import type { Layer } from "../../src/model/layer.js";
import type { Model } from "../../src/model/model.js";
import { expectClose } from "./helpers.js";

/** y = 2 x + 1, then y * 3 - 1 (two one-unit dense layers): 6 x + 2. */
const affine = () =>
  set_weights(
    pipe(keras_model_sequential({ input_shape: [1] }), layer_dense({ units: 1 }), layer_dense({ units: 1 })),
    [[[2]], [1], [[3]], [-1]],
  );

describe("time_distributed over a model", () => {
  it("runs the model at every timestep with the weights it holds", () => {
    const inner = affine();
    const y = time_distributed([[[0], [1], [2]]], { layer: inner }) as Tensor;
    expectClose(y, [[[2], [8], [14]]], 1e-6);
    const model = pipe(keras_model_sequential({ input_shape: [3, 1] }), time_distributed({ layer: inner }));
    expect(count_params(model)).to.equal(4);
    expectClose(get_weights(model).flat(3), [2, 1, 3, -1], 0);
    expectClose(get_weights(inner).flat(3), [2, 1, 3, -1], 0); // the model wrapped is unchanged
    y.dispose();
  });

  it("composes in a functional model with the shape the wrapped model gives", () => {
    const x = layer_input({ shape: [4, 1] });
    expect(time_distributed(x, { layer: affine() }).shape).to.deep.equal([null, 4, 1]);
  });

  it("refuses models it cannot run", () => {
    const a = layer_input({ shape: [1] });
    const b = layer_input({ shape: [1] });
    const twoInputs = keras_model({ inputs: [a, b], outputs: layer_dense(a, { units: 1 }) });
    expect(() => time_distributed({ layer: twoInputs })).to.throw(
      KerasError,
      /time_distributed\(\): `layer`: model "[a-z_0-9]+" must have one input and one output, it has 2 and 1/,
    );
    const stateful = pipe(
      keras_model_sequential({ batch_input_shape: [2, 3, 1] }),
      layer_lstm({ units: 1, stateful: true }),
    );
    expect(() => time_distributed({ layer: stateful })).to.throw(KerasError, /holds stateful layer "lstm(_\d+)?"/);
    expect(() => pipe(keras_model_sequential({ input_shape: [3, 2] }), time_distributed({ layer: affine() }))).to.throw(
      KerasError,
      /takes inputs of shape \(None, 1\), got \(None, 2\)/,
    );
  });

  it("refuses the legacy HDF5 layout both ways, naming the wrapper and the format that holds it", async () => {
    const model = pipe(keras_model_sequential({ input_shape: [3, 1] }), time_distributed({ layer: affine() }));
    const dir = mkdtempSync(join(tmpdir(), "tskeras-td-model-"));
    try {
      const refusal =
        /layer "time_distributed(_\d+)?" wraps a model, which the legacy HDF5 format does not hold here: save the model as a \.keras file/;
      await expectRejected(save_model_hdf5(model, join(dir, "m.h5")), /save_model_hdf5\(\)/, refusal);
      await expectRejected(save_model_weights_hdf5(model, join(dir, "w.h5")), /save_model_weights_hdf5\(\)/, refusal);
      expect(readdirSync(dir)).to.deep.equal([]);
      const plain = pipe(keras_model_sequential({ input_shape: [3, 1] }), layer_dense({ units: 1 }));
      await save_model_weights_hdf5(plain, join(dir, "plain.h5"));
      await expectRejected(
        load_model_weights_hdf5(model, join(dir, "plain.h5")),
        /load_model_weights_hdf5\(\)/,
        refusal,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("time_distributed over a model: configs and files", () => {
  const wrapped = (inner: Model) =>
    pipe(keras_model_sequential({ input_shape: [3, 1] }), time_distributed({ layer: inner }));
  const X = [[[0], [1], [2]]];
  /** affine()'s numbers: 6 x + 2 at every timestep. */
  const Y = [[[2], [8], [14]]];
  function functionalAffine(): Model {
    const x = layer_input({ shape: [1] });
    const h = layer_dense(x, { units: 1, name: "inner_a" });
    const model = keras_model({ inputs: x, outputs: layer_dense(h, { units: 1, name: "inner_b" }), name: "inner" });
    return set_weights(model, [[[2]], [1], [[3]], [-1]]);
  }
  const innerOf = (model: Model) => model.layers[0].config.layer as Layer;

  for (const [kind, make] of [
    ["sequential", affine],
    ["functional", functionalAffine],
  ] as const) {
    it(`get_config / from_config nest the ${kind} model's config and rebuild it (fresh weights)`, async () => {
      const model = wrapped(make());
      const config = get_config(model) as any;
      const nested = config.layers[0].config.layer;
      expect(nested.class_name).to.equal(kind === "sequential" ? "Sequential" : "Functional");
      expect(nested.config.layers.map((l: any) => l.class_name)).to.include.members(["Dense"]);
      const back = from_config(config) as Model;
      expect(innerOf(back).className).to.equal(nested.class_name);
      expect(count_params(back)).to.equal(4);
      expect(get_config(back)).to.deep.equal(config);
      expectClose(await predict(set_weights(back, [[[2]], [1], [[3]], [-1]]), X, { verbose: 0 }), Y, 1e-6);
    });

    it(`model_to_json / model_from_json write the ${kind} model as Keras 3 nests it, and read it back`, async () => {
      const json = JSON.parse(model_to_json(wrapped(make())));
      const nested = json.config.layers[1].config.layer;
      expect(nested.class_name).to.equal(kind === "sequential" ? "Sequential" : "Functional");
      expect(nested.module).to.match(/^keras/);
      const back = model_from_json(JSON.stringify(json));
      expect(innerOf(back).className).to.equal(nested.class_name);
      expectClose(await predict(set_weights(back, [[[2]], [1], [[3]], [-1]]), X, { verbose: 0 }), Y, 1e-6);
    });

    it(`save_model / load_model keep the ${kind} model and its weights`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "tskeras-td-model-"));
      try {
        await save_model(wrapped(make()), join(dir, "m.keras"));
        const back = await load_model(join(dir, "m.keras"));
        expect(innerOf(back).className).to.equal(kind === "sequential" ? "Sequential" : "Functional");
        expectClose(get_weights(back).flat(3), [2, 1, 3, -1], 0);
        expectClose(await predict(back, X, { verbose: 0 }), Y, 1e-6);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

async function expectRejected(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error).to.be.instanceOf(KerasError);
  for (const p of patterns) expect(String(error)).to.match(p);
}
