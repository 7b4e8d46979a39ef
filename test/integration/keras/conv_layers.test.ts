/**
 * The convolution, pooling, padding / cropping / upsampling layers of 1-D to 3-D data (issue 12) against
 * real Keras 3.15.1, on wasm and cpu, one Python call (conv_layers.py):
 * - the output, and the gradients of sum(output · probe) w.r.t. the input and every weight;
 * - one SGD step (mse) of a model holding the layer: its weights and loss;
 * - the .keras file written here loads in Keras, with the same layer config as Keras's own layer built
 *   from the same arguments, and predicts the same numbers; Keras's file of the model loads here and
 *   predicts Keras's numbers.
 * Both sides start from the same weights (set here, sent to Keras's set_weights).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { expect } from "chai";
import * as k from "../../../src/index.js";
import { tf, type Tensor } from "../../../src/backend/tf.js";
import type { Model } from "../../../src/model/model.js";
import { familyOf, type Layer } from "../../../src/model/layer.js";
import { requireKeras, runKeras } from "../../helpers/keras.js";
import { nested, withPatternWeights } from "../../core/helpers.js";
import { BACKENDS, expectClose } from "../../wrappers/helpers.js";

const SCRIPT = readFileSync(join(import.meta.dirname, "conv_layers.py"), "utf8");
/** Absolute tolerance (values and gradients are of order 1 to 10). */
const TOL = 2e-5;

interface Case {
  /** The tskeras function (its Keras class follows from the layer it makes). */
  fn: keyof typeof k;
  config: Record<string, unknown>;
  inputShape: number[];
}

const c = (fn: keyof typeof k, inputShape: number[], config: Record<string, unknown> = {}): Case => ({
  fn,
  config,
  inputShape,
});
const CF = { data_format: "channels_first" };

export const CASES: Case[] = [
  // convolution
  c("layer_conv_2d", [5, 6, 2], { filters: 3, kernel_size: [2, 3] }),
  c("layer_conv_2d", [5, 6, 2], { filters: 2, kernel_size: 3, strides: 2, padding: "same", activation: "tanh" }),
  c("layer_conv_2d", [6, 5, 2], { filters: 2, kernel_size: 2, dilation_rate: [2, 1], padding: "same" }),
  c("layer_conv_2d", [4, 5, 6], { filters: 4, kernel_size: 2, groups: 2, ...CF }),
  c("layer_conv_3d", [4, 4, 3, 2], { filters: 2, kernel_size: 2 }),
  c("layer_conv_3d", [4, 5, 3, 4], { filters: 2, kernel_size: 3, strides: [2, 2, 1], padding: "same", groups: 2 }),
  c("layer_conv_3d", [2, 4, 4, 3], { filters: 3, kernel_size: [2, 1, 2], use_bias: false, ...CF }),
  // transposed convolution (TensorFlow's CPU kernels refuse dilation_rate > 1: test/core/conv_layers.test.ts
  // checks the dilated ones against the gradient of the dilated convolution)
  c("layer_conv_1d_transpose", [5, 3], { filters: 2, kernel_size: 3, strides: 2 }),
  c("layer_conv_1d_transpose", [5, 3], { filters: 2, kernel_size: 3, strides: 2, padding: "same", output_padding: 1 }),
  c("layer_conv_2d_transpose", [4, 4, 3], { filters: 2, kernel_size: 3, strides: 2, padding: "same" }),
  c("layer_conv_2d_transpose", [3, 4, 2], { filters: 2, kernel_size: [2, 3], strides: [3, 1] }),
  c("layer_conv_2d_transpose", [3, 3, 2], { filters: 2, kernel_size: 3, strides: 2, output_padding: [1, 0] }),
  c("layer_conv_2d_transpose", [2, 3, 4], { filters: 3, kernel_size: 2, strides: 2, padding: "same", ...CF }),
  c("layer_conv_3d_transpose", [3, 3, 2, 2], { filters: 2, kernel_size: 2, strides: 2 }),
  c("layer_conv_3d_transpose", [2, 3, 3, 2], { filters: 1, kernel_size: 3, strides: [1, 2, 2], padding: "same" }),
  c("layer_conv_3d_transpose", [2, 2, 3, 3], { filters: 2, kernel_size: 2, strides: 2, ...CF }),
  // depthwise and separable convolution
  c("layer_depthwise_conv_1d", [6, 3], { kernel_size: 3, depth_multiplier: 2 }),
  c("layer_depthwise_conv_1d", [7, 2], { kernel_size: 3, strides: 2, dilation_rate: 2, padding: "same" }),
  c("layer_depthwise_conv_2d", [5, 6, 2], { kernel_size: [2, 3] }),
  c("layer_depthwise_conv_2d", [5, 5, 2], { kernel_size: 3, strides: 2, padding: "same", depth_multiplier: 3 }),
  c("layer_depthwise_conv_2d", [2, 6, 5], { kernel_size: 2, dilation_rate: 2, ...CF }),
  c("layer_separable_conv_1d", [6, 2], { filters: 3, kernel_size: 3, depth_multiplier: 2 }),
  c("layer_separable_conv_1d", [7, 3], { filters: 2, kernel_size: 2, strides: 2, padding: "same", ...CF }),
  c("layer_separable_conv_2d", [5, 5, 2], { filters: 3, kernel_size: 3 }),
  c("layer_separable_conv_2d", [6, 5, 2], { filters: 2, kernel_size: 2, dilation_rate: 2, padding: "same" }),
  c("layer_separable_conv_2d", [2, 5, 6], { filters: 2, kernel_size: [3, 2], strides: 2, ...CF }),
  // pooling
  c("layer_max_pooling_2d", [4, 5, 2]),
  c("layer_max_pooling_2d", [5, 5, 2], { pool_size: 3, strides: 1, padding: "same" }),
  c("layer_max_pooling_2d", [2, 5, 4], { pool_size: [2, 3], ...CF }),
  c("layer_max_pooling_3d", [4, 4, 5, 2]),
  c("layer_max_pooling_3d", [2, 3, 4, 4], { pool_size: 2, strides: 1, padding: "same", ...CF }),
  c("layer_average_pooling_2d", [5, 5, 2], { pool_size: 3, strides: 2, padding: "same" }),
  c("layer_average_pooling_2d", [2, 4, 6], { pool_size: [2, 3], ...CF }),
  c("layer_average_pooling_3d", [3, 3, 3, 2], { pool_size: 2, padding: "same" }),
  c("layer_average_pooling_3d", [2, 4, 4, 2], { pool_size: [2, 2, 1], strides: [1, 2, 1], ...CF }),
  // (1-D: tfjs's gradient of "same" average pooling, which this package no longer uses)
  c("layer_average_pooling_1d", [7, 2], { pool_size: 3, strides: 2, padding: "same" }),
  c("layer_global_max_pooling_2d", [4, 5, 2]),
  c("layer_global_max_pooling_2d", [2, 4, 5], { keepdims: true, ...CF }),
  c("layer_global_average_pooling_2d", [4, 5, 2], { keepdims: true }),
  c("layer_global_average_pooling_2d", [2, 4, 5], CF),
  c("layer_global_max_pooling_3d", [3, 4, 2, 2]),
  c("layer_global_average_pooling_3d", [2, 3, 4, 2], { keepdims: true, ...CF }),
  // padding, cropping, upsampling
  c("layer_zero_padding_1d", [4, 2], { padding: [2, 1] }),
  c("layer_zero_padding_2d", [3, 4, 2], {
    padding: [
      [1, 0],
      [2, 1],
    ],
  }),
  c("layer_zero_padding_2d", [2, 3, 4], { padding: [1, 2], ...CF }),
  c("layer_zero_padding_3d", [2, 3, 2, 2]),
  c("layer_cropping_1d", [6, 2], { cropping: [1, 2] }),
  c("layer_cropping_2d", [5, 6, 2], {
    cropping: [
      [1, 0],
      [2, 1],
    ],
  }),
  c("layer_cropping_2d", [2, 5, 6], { cropping: [1, 2], ...CF }),
  c("layer_cropping_3d", [4, 4, 5, 2]),
  c("layer_upsampling_1d", [4, 2], { size: 3 }),
  c("layer_upsampling_2d", [3, 4, 2], { size: [2, 3] }),
  c("layer_upsampling_2d", [3, 4, 2], { interpolation: "bilinear" }),
  c("layer_upsampling_2d", [2, 3, 4], { size: [3, 2], interpolation: "bilinear", ...CF }),
  c("layer_upsampling_3d", [2, 3, 2, 2], { size: [2, 1, 3] }),
  c("layer_upsampling_3d", [2, 2, 3, 2], CF),
  // spatial dropout: the identity at inference (the training draws are tskeras's own: test/core)
  c("layer_spatial_dropout_2d", [3, 4, 2], { rate: 0.3 }),
  c("layer_spatial_dropout_3d", [2, 2, 3, 2], { rate: 0.3, ...CF }),
];

const makeLayer = (cs: Case) => (k[cs.fn] as unknown as (args: unknown) => Layer)(cs.config);
const modelOf = (cs: Case): Model =>
  withPatternWeights(k.keras_model_sequential({ input_shape: cs.inputShape, layers: [makeLayer(cs)] }));
const title = (cs: Case) => `${cs.fn}(${JSON.stringify(cs.config)}) on input ${JSON.stringify(cs.inputShape)}`;

/** Keras's layer config without the parts that differ by construction (the generated name). */
const comparable = (config: Record<string, unknown>) => {
  const { name: _name, ...rest } = config;
  return rest;
};

describe("2-D / 3-D convolution, pooling, padding, cropping and upsampling layers match Keras 3", function () {
  this.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), "tskeras-conv-layers-"));
  const sent: Record<string, unknown>[] = [];
  let keras: any[];

  before(async function () {
    requireKeras(this);
    await k.use_backend("wasm");
    for (const [i, cs] of CASES.entries()) {
      const model = modelOf(cs);
      const x = nested([2, ...cs.inputShape], i);
      const probe = nested(shapeOf(await k.predict(model, x, { verbose: 0 })), 50 + i);
      const file = join(dir, `ours_${i}.keras`);
      await k.save_model(model, file);
      sent.push({
        class_name: model.layers[0].className,
        config: cs.config,
        input_shape: cs.inputShape,
        weights: k.get_weights(model),
        x,
        probe,
        file,
        keras_file: join(dir, `keras_${i}.keras`),
      });
    }
    keras = runKeras(SCRIPT, { cases: sent });
  });

  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await k.use_backend("wasm");
  });

  it("Keras reads every file written here as the layer Keras builds from the same arguments, and predicts the same", async () => {
    for (const [i, cs] of CASES.entries()) {
      const kerasCase = keras[i];
      expect(comparable(kerasCase.file_config), `${title(cs)}: config`).to.deep.equal(comparable(kerasCase.config));
      const model = modelOf(cs);
      const ours = await k.predict(model, sent[i].x, { verbose: 0 });
      if (kerasCase.file_predictions !== null)
        expectClose(ours, kerasCase.file_predictions, TOL, `${title(cs)}: Keras's predictions of our file`);
    }
  });

  it("Keras's numbers of channels_first layers are its channels_last layers' (but where TF's CPU kernels fail or Keras errs)", () => {
    const where = (flag: string) => CASES.filter((_, i) => keras[i][flag]).map(title);
    // TensorFlow's CPU kernels have no channels_first transposed convolution.
    expect(where("keras_failed")).to.deep.equal(
      CASES.filter((cs) => cs.fn.endsWith("_transpose") && cs.config.data_format === "channels_first").map(title),
    );
    // Keras 3.15.1's SeparableConv1D with channels_first, strides 2 and padding "same" on this input differs
    // from its channels_last twin; the twin agrees with the definition (test/core/conv_layers.test.ts).
    expect(where("keras_differs")).to.deep.equal(
      CASES.filter((cs) => cs.fn === "layer_separable_conv_1d" && cs.config.data_format === "channels_first").map(
        title,
      ),
    );
  });

  for (const backend of BACKENDS) {
    describe(`on ${backend}`, () => {
      before(async () => {
        await k.use_backend(backend);
      });

      it("Keras's files load here and predict Keras's numbers", async () => {
        for (const [i, cs] of CASES.entries()) {
          const model = await k.load_model(sent[i].keras_file as string);
          const y = await k.predict(model, sent[i].x, { verbose: 0 });
          expectClose(y, keras[i].output, TOL, `${title(cs)}: Keras's file`);
        }
      });

      CASES.forEach((cs, i) => {
        it(`${title(cs)}: output and gradients w.r.t. the input and every weight${hasWeights(cs) ? ", one SGD step" : ""}`, async () => {
          const model = modelOf(cs);
          const layer = model.layers[0];
          const weights = k.get_weights(model).map((w) => tf.tensor(w as number[]));
          const x = tf.tensor(sent[i].x as number[]);
          const probe = tf.tensor(sent[i].probe as number[]);
          const run = (input: Tensor, ...ws: Tensor[]) =>
            familyOf(layer).forward(layer.config, { inputs: [input], weights: ws, masks: [null], training: false })
              .outputs[0];
          const y = run(x, ...weights);
          expectClose(y, keras[i].output, TOL, "output");
          const grads = tf.grads((input: Tensor, ...ws: Tensor[]) => tf.sum(tf.mul(run(input, ...ws), probe)))([
            x,
            ...weights,
          ]);
          expect(grads.length, "gradients").to.equal(keras[i].gradients.length);
          keras[i].gradients.forEach((g: unknown, j: number) =>
            expectClose(grads[j], g, TOL, j === 0 ? "d/dx" : `d/d weight ${j - 1}`),
          );
          tf.dispose([y, x, probe, ...weights, ...grads]);
          if (!keras[i].train) return;
          const compiled = k.compile(model, { optimizer: k.optimizer_sgd({ learning_rate: 0.1 }), loss: "mse" });
          const xs = sent[i].x as number[];
          const { model: trained, history } = await k.fit(compiled, xs, sent[i].probe as number[], {
            epochs: 1,
            batch_size: xs.length,
            shuffle: false,
            verbose: 0,
          });
          k.get_weights(trained).forEach((w, j) =>
            expectClose(w, keras[i].train.weights[j], TOL, `weight ${j} after a step`),
          );
          expectClose(history.metrics.loss, keras[i].train.losses, TOL, "loss");
        });
      });
    });
  }
});

/** The shape of nested arrays. */
function shapeOf(v: unknown): number[] {
  return Array.isArray(v) ? [v.length, ...shapeOf(v[0])] : [];
}

/** Whether the layer has weights (known before Keras answers, for the test's title). */
function hasWeights(cs: Case): boolean {
  return /conv/.test(String(cs.fn));
}
