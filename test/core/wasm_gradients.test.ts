/**
 * Every core layer trains on wasm: one gradient step on wasm and on cpu gives the same gradients
 * (to 1e-5 of the gradient's scale). This is also how the missing wasm kernels were found.
 */
import { expect } from "chai";
import { tf } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { getRuntime, releaseRuntime } from "../../src/engine/runtime.js";
import { keras_model_sequential } from "../../src/model/sequential.js";
import { keras_model } from "../../src/model/functional.js";
import { layer_input, type SymbolicTensor } from "../../src/model/symbolic.js";
import type { Model } from "../../src/model/model.js";
import * as L from "../../src/layers/core/index.js";
import { nested, withPatternWeights } from "./helpers.js";

interface Case {
  name: string;
  model: () => Model;
  /** One input tensor's data (batch axis included). */
  x: () => any;
}

const seq = (inputShape: (number | null)[], ...layers: any[]) =>
  keras_model_sequential({ input_shape: inputShape, layers: [...layers, L.layer_dense({ units: 2 })] });

function merged(merge: (inputs: SymbolicTensor[]) => SymbolicTensor, inputShape = [3]): Model {
  const input = layer_input({ shape: inputShape });
  const a = L.layer_dense(input, { units: 4 });
  const b = L.layer_dense(input, { units: 4, activation: "tanh" });
  return keras_model({ inputs: input, outputs: L.layer_dense(merge([a, b]), { units: 2 }) });
}

const tokens = () => [
  [1, 2, 0, 0],
  [3, 1, 4, 1],
  [0, 5, 2, 2],
];

const CASES: Case[] = [
  { name: "dense", model: () => seq([3], L.layer_dense({ units: 4, activation: "relu" })), x: () => nested([5, 3]) },
  {
    name: "activation",
    model: () => seq([3], L.layer_activation({ activation: "softplus" })),
    x: () => nested([5, 3]),
  },
  { name: "dropout", model: () => seq([6], L.layer_dropout({ rate: 0.4, seed: 11 })), x: () => nested([5, 6]) },
  {
    name: "spatial_dropout_1d",
    model: () => seq([4, 3], L.layer_spatial_dropout_1d({ rate: 0.5, seed: 5 })),
    x: () => nested([3, 4, 3]),
  },
  {
    name: "gaussian_noise",
    model: () => seq([3], L.layer_gaussian_noise({ stddev: 0.3, seed: 2 })),
    x: () => nested([5, 3]),
  },
  {
    name: "activity_regularization",
    model: () => seq([3], L.layer_activity_regularization({ l1: 0.1, l2: 0.2 })),
    x: () => nested([5, 3]),
  },
  { name: "embedding", model: () => seq([4], L.layer_embedding({ input_dim: 6, output_dim: 3 })), x: tokens },
  {
    name: "embedding (mask_zero) + global_average_pooling_1d",
    model: () =>
      seq(
        [4],
        L.layer_embedding({ input_dim: 6, output_dim: 3, mask_zero: true }),
        L.layer_global_average_pooling_1d(),
      ),
    x: tokens,
  },
  {
    name: "masking",
    model: () => seq([3, 2], L.layer_masking({ mask_value: 0 }), L.layer_global_average_pooling_1d()),
    x: () => [
      [
        [1, 2],
        [0, 0],
        [3, -1],
      ],
      [
        [0, 0],
        [0.5, 1],
        [2, 2],
      ],
    ],
  },
  { name: "flatten", model: () => seq([3, 2], L.layer_flatten()), x: () => nested([2, 3, 2]) },
  { name: "reshape", model: () => seq([6], L.layer_reshape({ target_shape: [3, -1] })), x: () => nested([2, 6]) },
  { name: "permute", model: () => seq([3, 2], L.layer_permute({ dims: [2, 1] })), x: () => nested([2, 3, 2]) },
  { name: "repeat_vector", model: () => seq([3], L.layer_repeat_vector({ n: 2 })), x: () => nested([2, 3]) },
  { name: "concatenate", model: () => merged((xs) => L.layer_concatenate(xs, { axis: -1 })), x: () => nested([4, 3]) },
  { name: "add", model: () => merged((xs) => L.layer_add(xs)), x: () => nested([4, 3]) },
  { name: "subtract", model: () => merged((xs) => L.layer_subtract(xs)), x: () => nested([4, 3]) },
  { name: "multiply", model: () => merged((xs) => L.layer_multiply(xs)), x: () => nested([4, 3]) },
  { name: "average", model: () => merged((xs) => L.layer_average(xs)), x: () => nested([4, 3]) },
  { name: "maximum", model: () => merged((xs) => L.layer_maximum(xs)), x: () => nested([4, 3]) },
  { name: "minimum", model: () => merged((xs) => L.layer_minimum(xs)), x: () => nested([4, 3]) },
  {
    name: "dot (normalize)",
    model: () => merged((xs) => L.layer_dot(xs, { axes: 1, normalize: true })),
    x: () => nested([4, 3]),
  },
  {
    name: "lambda",
    model: () => seq([3], L.layer_lambda({ f: (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x)) })),
    x: () => nested([4, 3]),
  },
  { name: "batch_normalization", model: () => seq([3], L.layer_batch_normalization()), x: () => nested([5, 3]) },
  { name: "layer_normalization", model: () => seq([4], L.layer_layer_normalization()), x: () => nested([3, 4]) },
  {
    name: "conv_1d",
    model: () => seq([6, 3], L.layer_conv_1d({ filters: 4, kernel_size: 3 })),
    x: () => nested([2, 6, 3]),
  },
  {
    name: "conv_1d (same, strides 2)",
    model: () => seq([7, 2], L.layer_conv_1d({ filters: 3, kernel_size: 3, strides: 2, padding: "same" })),
    x: () => nested([2, 7, 2]),
  },
  {
    name: "conv_1d (causal, dilation 2, groups 2)",
    model: () =>
      seq([6, 4], L.layer_conv_1d({ filters: 4, kernel_size: 2, padding: "causal", dilation_rate: 2, groups: 2 })),
    x: () => nested([2, 6, 4]),
  },
  {
    name: "conv_1d (channels_first)",
    model: () => seq([3, 6], L.layer_conv_1d({ filters: 2, kernel_size: 2, data_format: "channels_first" })),
    x: () => nested([2, 3, 6]),
  },
  {
    name: "max_pooling_1d",
    model: () => seq([6, 2], L.layer_max_pooling_1d({ pool_size: 2 })),
    x: () => nested([2, 6, 2]),
  },
  {
    name: "average_pooling_1d (same)",
    model: () => seq([5, 2], L.layer_average_pooling_1d({ pool_size: 2, padding: "same" })),
    x: () => nested([2, 5, 2]),
  },
  {
    name: "global_max_pooling_1d",
    model: () => seq([4, 3], L.layer_global_max_pooling_1d()),
    x: () => nested([2, 4, 3]),
  },
  {
    name: "global_average_pooling_1d",
    model: () => seq([4, 3], L.layer_global_average_pooling_1d()),
    x: () => nested([2, 4, 3]),
  },
];

/** Gradients of 0.5 * sum(output²) + layer losses w.r.t. every trainable variable, in model order. */
async function gradientsOn(backend: "wasm" | "cpu", c: Case): Promise<Float32Array[]> {
  await use_backend(backend);
  const model = withPatternWeights(c.model());
  const runtime = getRuntime(model);
  const before = tf.memory().numTensors;
  const x = tf.tensor(c.x(), undefined, "float32");
  const vars = runtime.trainableVariables();
  const { value, grads } = tf.variableGrads(() => {
    const r = runtime.run([x], { training: true });
    const main = tf.mul(0.5, tf.sum(tf.square(r.outputs[0])));
    return r.losses.reduce((acc, l) => tf.add(acc, l), main) as tf.Scalar;
  }, vars);
  const out = vars.map((v) => Float32Array.from(grads[v.name].dataSync()));
  value.dispose();
  tf.dispose(Object.values(grads));
  x.dispose();
  expect(tf.memory().numTensors, "tensors leaked by one gradient step").to.equal(before);
  releaseRuntime(model);
  return out;
}

describe("core layers: one gradient step on wasm equals cpu", function () {
  after(async () => {
    await use_backend("wasm");
  });
  for (const c of CASES) {
    it(c.name, async () => {
      const cpu = await gradientsOn("cpu", c);
      const wasm = await gradientsOn("wasm", c);
      expect(wasm.length).to.equal(cpu.length);
      expect(cpu.length).to.be.greaterThan(0);
      cpu.forEach((g, k) => {
        const scale = Math.max(1e-3, ...Array.from(g, Math.abs));
        // A zero gradient everywhere would make the comparison vacuous.
        expect(scale, `gradient ${k} is all zeros`).to.be.greaterThan(1e-3);
        for (let i = 0; i < g.length; i++) {
          if (Math.abs(wasm[k][i] - g[i]) > 1e-5 * scale)
            expect.fail(`${c.name}: gradient ${k}[${i}] wasm ${wasm[k][i]} vs cpu ${g[i]}`);
        }
      });
    });
  }
});
