/**
 * Activation, noise and normalization layers of issue 12: hand-derived values, training-time noise
 * statistics, validation (fast; Keras's numbers are in test/integration/keras/layers_issue12.test.ts).
 */
import { expect } from "chai";
import * as k from "../../src/index.js";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { KerasError } from "../../src/errors.js";
import { familyOf } from "../../src/model/layer.js";
import { expectClose, flat } from "./helpers.js";

const run = (layer: unknown, x: unknown, training = false): number[] => {
  const y = (layer as (x: unknown, o: { training: boolean }) => Tensor)(x, { training });
  const values = flat(y);
  y.dispose();
  return values;
};

const throwsKeras = (f: () => unknown, fn: string, arg: RegExp) => {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(KerasError);
    expect((e as KerasError).message)
      .to.contain(fn)
      .and.match(arg);
    return;
  }
  expect.fail(`expected a KerasError of ${fn}`);
};

describe("activation, noise and normalization layers (issue 12)", () => {
  it("activation layers: hand-derived values", () => {
    const x = [[-2, -0.5, 0.25, 1, 8]];
    expectClose(run(k.layer_activation_relu(), x), [0, 0, 0.25, 1, 8]);
    expectClose(run(k.layer_activation_relu({ max_value: 6 }), x), [0, 0, 0.25, 1, 6]);
    // threshold 0.5, slope 0.1: x > 0.5 kept, else 0.1 * (x - 0.5); capped at 2
    expectClose(
      run(k.layer_activation_relu({ threshold: 0.5, negative_slope: 0.1, max_value: 2 }), x),
      [-0.25, -0.1, -0.025, 1, 2],
    );
    expectClose(run(k.layer_activation_leaky_relu(), x), [-0.6, -0.15, 0.25, 1, 8]);
    expectClose(run(k.layer_activation_elu({ alpha: 2 }), x), [
      2 * (Math.exp(-2) - 1),
      2 * (Math.exp(-0.5) - 1),
      0.25,
      1,
      8,
    ]);
    const e = Math.exp(1);
    expectClose(run(k.layer_activation_softmax(), [[0, 1]]), [1 / (1 + e), e / (1 + e)]);
    expectClose(run(k.layer_identity(), x), x[0]);
  });

  it("layer_activation_parametric_relu: alpha per element, shared along shared_axes", () => {
    const model = k.keras_model_sequential({
      input_shape: [2, 3],
      layers: [k.layer_activation_parametric_relu({ shared_axes: 1, alpha_initializer: "ones" })],
    });
    expect(k.count_params(model)).to.equal(3);
    throwsKeras(
      () =>
        k.keras_model_sequential({
          input_shape: [2],
          layers: [k.layer_activation_parametric_relu({ shared_axes: 3 })],
        }),
      "layer_activation_parametric_relu",
      /shared_axes/,
    );
  });

  it("layer_activation_softmax: masked positions get no weight and output 0", () => {
    // Keras's Softmax takes a mask aligned with the input's last axes (here the whole input), which a
    // layer call's `mask` (leading axes) cannot express: the family's forward gets it directly.
    const layer = k.layer_activation_softmax();
    const x = tf.tensor2d([[1, 2, 3]]);
    const mask = tf.tensor2d([[1, 1, 0]], undefined, "bool");
    const [y] = familyOf(layer).forward(layer.config, {
      inputs: [x],
      weights: [],
      masks: [mask],
      training: false,
    }).outputs;
    const e = Math.exp(1);
    expectClose(flat(y), [1 / (1 + e), e / (1 + e), 0]);
    tf.dispose([x, mask, y]);
  });

  it("layer_gaussian_dropout / layer_alpha_dropout: identity at inference; Keras's moments while training", () => {
    const x = tf.ones([20000]);
    expect(run(k.layer_gaussian_dropout({ rate: 0.5 }), x)).to.deep.equal(flat(x));
    expect(run(k.layer_alpha_dropout({ rate: 0.5 }), x)).to.deep.equal(flat(x));
    const moments = (v: number[]) => {
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      return [m, v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length];
    };
    // gaussian: x * N(1, rate / (1 - rate)) = N(1, 1) for rate 0.5
    const [gm, gv] = moments(run(k.layer_gaussian_dropout({ rate: 0.5, seed: 1 }), x, true));
    expect(gm).to.be.closeTo(1, 0.03);
    expect(gv).to.be.closeTo(1, 0.05);
    // alpha dropout on N(0, 1) inputs keeps mean 0 and variance 1 (its purpose, for SELU networks)
    const z = tf.randomNormal([20000], 0, 1, "float32", 3);
    const [am, av] = moments(run(k.layer_alpha_dropout({ rate: 0.2, seed: 2 }), z, true));
    expect(am).to.be.closeTo(0, 0.05);
    expect(av).to.be.closeTo(1, 0.07);
    // some units really are dropped: the value they take is a * alpha' + b
    const dropped = run(k.layer_alpha_dropout({ rate: 0.2, seed: 2 }), tf.zeros([1000]), true);
    expect(new Set(dropped.map((v) => v.toFixed(5))).size).to.equal(2);
    tf.dispose([x, z]);
  });

  it("normalization layers: hand-derived values", () => {
    expectClose(run(k.layer_unit_normalization(), [[3, 4]]), [0.6, 0.8]);
    // rms of [3, 4] = sqrt(12.5); scale starts at ones
    const rms = Math.sqrt(12.5 + 1e-6);
    expectClose(run(k.layer_rms_normalization(), [[3, 4]]), [3 / rms, 4 / rms]);
    // two groups of two channels: each group normalised on its own
    const g = run(k.layer_group_normalization({ groups: 2, epsilon: 0 }), [[1, 3, 10, 30]]);
    expectClose(g, [-1, 1, -1, 1], 1e-5);
  });

  it("refuse bad arguments and misfit inputs with a KerasError naming the function and argument", () => {
    throwsKeras(() => k.layer_activation_relu({ negative_slope: -1 }), "layer_activation_relu", /negative_slope/);
    throwsKeras(() => k.layer_activation_elu({ alpha: "x" as any }), "layer_activation_elu", /alpha/);
    throwsKeras(() => k.layer_gaussian_dropout({ rate: 1.5 }), "layer_gaussian_dropout", /rate/);
    throwsKeras(() => (k.layer_alpha_dropout as any)({}), "layer_alpha_dropout", /rate/);
    throwsKeras(() => k.layer_group_normalization({ groups: 0 }), "layer_group_normalization", /groups/);
    throwsKeras(
      () => k.keras_model_sequential({ input_shape: [6], layers: [k.layer_group_normalization({ groups: 4 })] }),
      "layer_group_normalization",
      /groups/,
    );
    throwsKeras(
      () => k.keras_model_sequential({ input_shape: [3], layers: [k.layer_rms_normalization({ axis: 2 })] }),
      "layer_rms_normalization",
      /axis/,
    );
    throwsKeras(
      () => k.keras_model_sequential({ input_shape: [3], layers: [k.layer_activation_softmax({ axis: [1, 5] })] }),
      "layer_activation_softmax",
      /axis/,
    );
  });
});
