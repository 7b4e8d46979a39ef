/**
 * time_distributed over a model (Keras's TimeDistributed(Sequential(...))): the model runs at every
 * timestep with the weights it holds, and what cannot be done is refused. Expected numbers are derived
 * by hand; test/integration/keras/custom_layers.test.ts compares with Keras.
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import { type Tensor } from "../../src/backend/tf.js";
import {
  KerasError,
  count_params,
  get_weights,
  keras_model,
  keras_model_sequential,
  layer_dense,
  layer_input,
  layer_lstm,
  save_model,
  set_weights,
  time_distributed,
} from "../../src/index.js";
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

  it("refuses models it cannot run, and saving", async () => {
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
    const model = pipe(keras_model_sequential({ input_shape: [3, 1] }), time_distributed({ layer: affine() }));
    let error: unknown;
    try {
      await save_model(model, "/nonexistent-dir/never.keras");
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(
      /a model wrapped by time_distributed\(\) cannot be written to a config or a file yet/,
    );
  });
});
