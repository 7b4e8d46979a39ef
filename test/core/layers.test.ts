/** Core layers against hand-derived numbers (the arithmetic is in the comments). */
import { expect } from "chai";
import { tf } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { KerasError } from "../../src/errors.js";
import { eagerMaskOf } from "../../src/engine/eager.js";
import { getRuntime } from "../../src/engine/runtime.js";
import { keras_model_sequential } from "../../src/model/sequential.js";
import { keras_model } from "../../src/model/functional.js";
import { layer_input } from "../../src/model/symbolic.js";
import { get_weights, set_weights, count_params } from "../../src/api/weights.js";
import * as L from "../../src/layers/core/index.js";
import { expectClose, flat } from "./helpers.js";

const run = (layer: any, x: any, options?: any): tf.Tensor => layer(x, options);
const values = (layer: any, x: any, options?: any) => {
  const y = run(layer, x, options);
  const v = flat(y);
  y.dispose();
  return v;
};
const shapeOf = (t: tf.Tensor) => [...t.shape];

describe("core layers: numbers", function () {
  before(async () => {
    await use_backend("wasm");
  });

  describe("layer_dense / layer_activation", () => {
    it("computes x · kernel + bias", () => {
      // [1, 1] · [[1, 2], [3, 4]] + [0.5, -1] = [1 + 3 + 0.5, 2 + 4 - 1] = [4.5, 5]
      const dense = L.layer_dense({
        units: 2,
        weights: [
          [
            [1, 2],
            [3, 4],
          ],
          [0.5, -1],
        ],
      });
      expectClose(values(dense, [[1, 1]]), [4.5, 5]);
    });
    it("applies Keras activations, both hard sigmoids", () => {
      expectClose(values(L.layer_activation({ activation: "relu" }), [[-1, 2]]), [0, 2]);
      // Keras 3: clip(x/6 + 0.5, 0, 1) at -1.5, 0, 3 → 0.25, 0.5, 1
      expectClose(values(L.layer_activation({ activation: "hard_sigmoid" }), [[-1.5, 0, 3]]), [0.25, 0.5, 1]);
      // Keras 2: clip(0.2x + 0.5, 0, 1) at -1.5, 0, 3 → 0.2, 0.5, 1
      expectClose(values(L.layer_activation({ activation: "hard_sigmoid_keras2" }), [[-1.5, 0, 3]]), [0.2, 0.5, 1]);
    });
  });

  describe("noise layers", () => {
    const ones = (shape: number[]) => tf.ones(shape);
    it("layer_dropout is the identity at inference and inverted dropout in training", () => {
      const x = ones([40, 50]);
      const d = L.layer_dropout({ rate: 0.25 });
      expect(values(d, x)).to.deep.equal(new Array(2000).fill(1));
      const v = values(d, x, { training: true });
      // kept values are scaled by 1 / (1 - 0.25) = 4/3
      expect(v.every((e) => e === 0 || Math.abs(e - 4 / 3) < 1e-6)).to.equal(true);
      const dropped = v.filter((e) => e === 0).length / v.length;
      expect(dropped).to.be.within(0.2, 0.3);
      x.dispose();
    });
    it("layer_dropout's noise_shape shares the mask along axes of size 1", () => {
      const x = ones([30, 4]);
      const y = run(L.layer_dropout({ rate: 0.5, noise_shape: [null, 1], seed: 3 }), x, { training: true });
      const rows = y.arraySync() as number[][];
      for (const r of rows) expect(new Set(r).size).to.equal(1);
      expect(new Set(rows.map((r) => r[0]))).to.deep.equal(new Set([0, 2]));
      tf.dispose([x, y]);
    });
    it("a seeded dropout draws a fixed sequence of masks", () => {
      const x = ones([10, 10]);
      const a = L.layer_dropout({ rate: 0.5, seed: 42 });
      const b = L.layer_dropout({ rate: 0.5, seed: 42 });
      const a1 = values(a, x, { training: true });
      const a2 = values(a, x, { training: true });
      expect(values(b, x, { training: true })).to.deep.equal(a1);
      expect(values(b, x, { training: true })).to.deep.equal(a2);
      expect(a2).to.not.deep.equal(a1);
      x.dispose();
    });
    it("layer_spatial_dropout_1d drops whole channels", () => {
      const x = ones([8, 5, 6]);
      const y = run(L.layer_spatial_dropout_1d({ rate: 0.5 }), x, { training: true });
      const v = y.arraySync() as number[][][];
      for (const sample of v)
        for (let ch = 0; ch < 6; ch++) expect(new Set(sample.map((step) => step[ch])).size).to.equal(1);
      tf.dispose([x, y]);
      expect(() => L.layer_spatial_dropout_1d(keras_model_sequential({ input_shape: [3] }), { rate: 0.5 })).to.throw(
        KerasError,
        /rank 3/,
      );
    });
    it("layer_gaussian_noise adds N(0, stddev²) noise in training only", () => {
      const x = tf.zeros([100, 100]);
      const g = L.layer_gaussian_noise({ stddev: 0.5, seed: 1 });
      expect(values(g, x).every((e) => e === 0)).to.equal(true);
      const v = values(g, x, { training: true });
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      expect(mean).to.be.within(-0.02, 0.02);
      expect(sd).to.be.within(0.48, 0.52);
      x.dispose();
    });
    it("layer_activity_regularization adds (l1·Σ|x| + l2·Σx²) / batch to the losses", () => {
      const model = keras_model_sequential({
        input_shape: [2],
        layers: [L.layer_activity_regularization({ l1: 0.1, l2: 0.2 })],
      });
      const x = tf.tensor([
        [1, -2],
        [0, 1],
      ]);
      // Σ|x| = 4, Σx² = 6: (0.1·4 + 0.2·6) / 2 = 0.8
      const r = getRuntime(model).run([x], { training: true });
      expectClose(flat(r.outputs[0]), [1, -2, 0, 1]);
      expectClose(flat(r.losses[0]), [0.8]);
      tf.dispose([x, ...r.losses]);
    });
  });

  describe("layer_embedding", () => {
    const weights = [
      [
        [0, 0],
        [1, 2],
        [3, 4],
      ],
    ];
    it("looks tokens up and masks token 0 when mask_zero", () => {
      const e = L.layer_embedding({ input_dim: 3, output_dim: 2, mask_zero: true, weights });
      const y = run(e, [[1, 2, 0]]);
      expect(shapeOf(y)).to.deep.equal([1, 3, 2]);
      expectClose(flat(y), [1, 2, 3, 4, 0, 0]);
      expect(flat(eagerMaskOf(y)!)).to.deep.equal([1, 1, 0]);
      y.dispose();
    });
    it("has no mask without mask_zero, one `embeddings` weight drawn from U(-0.05, 0.05)", () => {
      const e = L.layer_embedding({ input_dim: 50, output_dim: 8 });
      const y = run(e, [[1, 2]]);
      expect(eagerMaskOf(y)).to.equal(undefined);
      y.dispose();
      const model = keras_model_sequential({
        input_shape: [4],
        layers: [L.layer_embedding({ input_dim: 50, output_dim: 8 })],
      });
      const [w] = get_weights(model);
      const v = (w as number[][]).flat();
      expect(v.length).to.equal(400);
      expect(Math.max(...v.map(Math.abs))).to.be.at.most(0.05);
      expect(Math.max(...v.map(Math.abs))).to.be.greaterThan(0.03);
      expect(getRuntime(model).specs[0].map((s) => s.name)).to.deep.equal(["embeddings"]);
    });
    it("input_dim is the vocabulary size, input_length the K2 input shape", () => {
      const m = keras_model_sequential({
        layers: [L.layer_embedding({ input_dim: 10, output_dim: 3, input_length: 7 })],
      });
      expect(m.inputShape).to.deep.equal([null, 7]);
      expect(count_params(m)).to.equal(30);
      expect(() =>
        keras_model_sequential({
          input_shape: [5],
          layers: [L.layer_embedding({ input_dim: 10, output_dim: 3, input_length: 7 })],
        }),
      ).to.throw(KerasError, /input shape \(None, 7\)/);
    });
  });

  describe("layer_masking", () => {
    it("masks steps whose features all equal mask_value and zeroes them", () => {
      // steps [1,1] (all equal 1 → masked, zeroed) and [1,2] (kept)
      const y = run(L.layer_masking({ mask_value: 1 }), [
        [
          [1, 1],
          [1, 2],
        ],
      ]);
      expectClose(flat(y), [0, 0, 1, 2]);
      expect(flat(eagerMaskOf(y)!)).to.deep.equal([0, 1]);
      y.dispose();
    });
  });

  describe("reshaping layers", () => {
    it("layer_flatten (channels_last and channels_first)", () => {
      expectClose(
        values(L.layer_flatten(), [
          [
            [1, 2],
            [3, 4],
          ],
        ]),
        [1, 2, 3, 4],
      );
      // (1, 2 channels, 3 steps) → channels_last (1, 3, 2) = [[1,4],[2,5],[3,6]] → flattened
      expectClose(
        values(L.layer_flatten({ data_format: "channels_first" }), [
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
        ]),
        [1, 4, 2, 5, 3, 6],
      );
      const m = keras_model_sequential({ input_shape: [3, 4], layers: [L.layer_flatten()] });
      expect(m.shapes![0][0]).to.deep.equal([null, 12]);
    });
    it("layer_reshape with -1", () => {
      const y = run(L.layer_reshape({ target_shape: [-1, 2] }), [[1, 2, 3, 4, 5, 6]]);
      expect(shapeOf(y)).to.deep.equal([1, 3, 2]);
      expectClose(flat(y), [1, 2, 3, 4, 5, 6]);
      y.dispose();
      const m = keras_model_sequential({ input_shape: [6], layers: [L.layer_reshape({ target_shape: [-1, 2] })] });
      expect(m.shapes![0][0]).to.deep.equal([null, 3, 2]);
      expect(() =>
        keras_model_sequential({ input_shape: [6], layers: [L.layer_reshape({ target_shape: [4] })] }),
      ).to.throw(KerasError, /total size/);
      expect(() =>
        keras_model_sequential({ input_shape: [6], layers: [L.layer_reshape({ target_shape: [-1, 4] })] }),
      ).to.throw(KerasError, /total size/);
      expect(() => L.layer_reshape({ target_shape: [-1, -1] })).to.throw(KerasError, /at most one -1/);
    });
    it("layer_permute takes 1-based dims", () => {
      // (1, 2, 3) [[1,2,3],[4,5,6]] → (1, 3, 2) [[1,4],[2,5],[3,6]]
      const y = run(L.layer_permute({ dims: [2, 1] }), [
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
      ]);
      expect(shapeOf(y)).to.deep.equal([1, 3, 2]);
      expectClose(flat(y), [1, 4, 2, 5, 3, 6]);
      y.dispose();
      expect(() => L.layer_permute({ dims: [0, 1] })).to.throw(KerasError, /dims/);
      expect(() => L.layer_permute({ dims: [1, 3] })).to.throw(KerasError, /permutation/);
    });
    it("layer_repeat_vector", () => {
      const y = run(L.layer_repeat_vector({ n: 3 }), [[1, 2]]);
      expect(shapeOf(y)).to.deep.equal([1, 3, 2]);
      expectClose(flat(y), [1, 2, 1, 2, 1, 2]);
      y.dispose();
    });
  });

  describe("merge layers", () => {
    const a = [[1, 5]];
    const b = [[3, 2]];
    it("element-wise merges", () => {
      expectClose(values(L.layer_add(), [a, b]), [4, 7]);
      expectClose(values(L.layer_add(), [a, b, [[10, 10]]]), [14, 17]);
      expectClose(values(L.layer_subtract(), [a, b]), [-2, 3]);
      expectClose(values(L.layer_multiply(), [a, b]), [3, 10]);
      expectClose(values(L.layer_average(), [a, b]), [2, 3.5]);
      expectClose(values(L.layer_maximum(), [a, b]), [3, 5]);
      expectClose(values(L.layer_minimum(), [a, b]), [1, 2]);
      expect(() => L.layer_subtract([a, b, a])).to.throw(KerasError, /needs 2 input/);
    });
    it("layer_concatenate([a, b], { axis })", () => {
      expectClose(values(L.layer_concatenate({ axis: -1 }), [a, b]), [1, 5, 3, 2]);
      const y = L.layer_concatenate([tf.tensor(a), tf.tensor(b)], { axis: 1 }) as tf.Tensor;
      expect(shapeOf(y)).to.deep.equal([1, 4]);
      y.dispose();
    });
    it("layer_dot over axes, with normalize", () => {
      // 1·3 + 5·2 = 13
      expectClose(values(L.layer_dot({ axes: 1 }), [a, b]), [13]);
      // cosine: 13 / (√26 · √13) = 1/√2
      expectClose(values(L.layer_dot({ axes: 1, normalize: true }), [a, b]), [Math.SQRT1_2]);
      const x = [
        [
          [1, 2],
          [3, 4],
        ],
      ];
      const y = [
        [
          [5, 6],
          [7, 8],
        ],
      ];
      // axes (2, 2): x · yᵀ = [[1·5+2·6, 1·7+2·8], [3·5+4·6, 3·7+4·8]]
      expectClose(values(L.layer_dot({ axes: [2, 2] }), [x, y]), [17, 23, 39, 53]);
      // axes (1, 1): xᵀ · y = [[1·5+3·7, 1·6+3·8], [2·5+4·7, 2·6+4·8]]
      expectClose(values(L.layer_dot({ axes: 1 }), [x, y]), [26, 30, 38, 44]);
    });
    it("infers shapes and rejects misfits naming the shapes", () => {
      const i1 = layer_input({ shape: [4, 3] });
      const i2 = layer_input({ shape: [4, 5] });
      expect(L.layer_concatenate([i1, i2]).shape).to.deep.equal([null, 4, 8]);
      expect(() => L.layer_concatenate([i1, i2], { axis: 1 })).to.throw(KerasError, /\(None, 4, 3\).*\(None, 4, 5\)/);
      expect(() => L.layer_add([i1, i2])).to.throw(KerasError, /compatible shapes/);
      expect(L.layer_dot([i1, i2], { axes: 1 }).shape).to.deep.equal([null, 3, 5]);
    });
    it("merges masks: Keras 3 OR for element-wise merges (none when an input has none), any() for concatenate", () => {
      const emb = L.layer_embedding({ input_dim: 4, output_dim: 2, mask_zero: true });
      const e1 = run(emb, [[1, 0, 2, 0]]);
      const e2 = run(emb, [[0, 0, 3, 3]]);
      const merged = [L.layer_add(), L.layer_subtract(), L.layer_average(), L.layer_multiply(), L.layer_maximum()].map(
        (layer) => run(layer, [e1, e2]),
      );
      for (const m of merged) expect(flat(eagerMaskOf(m)!)).to.deep.equal([1, 0, 1, 1]);
      const c = run(L.layer_concatenate(), [e1, e2]);
      expect(flat(eagerMaskOf(c)!)).to.deep.equal([1, 0, 1, 1]);
      const e3 = run(emb, [[1, 1, 1]]);
      const unmasked = run(L.layer_add(), [e3, run(L.layer_dense({ units: 2 }), tf.ones([1, 3, 2]))]);
      expect(eagerMaskOf(unmasked)).to.equal(undefined);
      tf.dispose([e1, e2, e3, ...merged, c, unmasked]);
    });
    it("Maximum / Minimum take the other input's value at a masked step, Multiply counts it as 1", () => {
      // layer_masking() masks the all-zero steps.
      const masked = (x: number[][][]) => run(L.layer_masking(), x);
      const a = masked([
        [
          [-1, 2],
          [0, 0],
          [0, 0],
          [3, -4],
        ],
      ]);
      const b = masked([
        [
          [0, 0],
          [0, 0],
          [5, 6],
          [2, -7],
        ],
      ]);
      const c = tf.tensor([
        [
          [-8, -8],
          [-8, -8],
          [-8, -8],
          [-8, -8],
        ],
      ]);
      const outs = [
        // a keeps steps 0 and 3, b steps 2 and 3. A plain maximum would give 0 at steps 0 and 2 of column 0.
        [L.layer_maximum(), [a, b], [-1, 2, 0, 0, 5, 6, 3, -4], [1, 0, 1, 1]],
        [L.layer_minimum(), [a, b], [-1, 2, 0, 0, 5, 6, 2, -7], [1, 0, 1, 1]],
        // masked steps are 1 in the product, then 0 where every input is masked.
        [L.layer_multiply(), [a, b], [-1, 2, 0, 0, 5, 6, 6, 28], [1, 0, 1, 1]],
        // c has no mask: no output mask, but a's masked steps still give way (Keras does the same).
        [L.layer_maximum(), [a, c], [-1, 2, -8, -8, -8, -8, 3, -4], null],
        [L.layer_multiply(), [a, c], [8, -16, -8, -8, -8, -8, -24, 32], null],
        // add has no identity problem: plain sums.
        [L.layer_add(), [a, b], [-1, 2, 0, 0, 5, 6, 5, -11], [1, 0, 1, 1]],
      ] as const;
      const results = outs.map(([layer, xs]) => run(layer, xs));
      outs.forEach(([, , values, mask], i) => {
        expectClose(flat(results[i]), values);
        const m = eagerMaskOf(results[i]);
        expect(m ? flat(m) : null).to.deep.equal(mask);
      });
      tf.dispose([a, b, c, ...results]);
    });
  });

  describe("layer_lambda", () => {
    it("applies f and infers or takes the output shape", () => {
      expectClose(values(L.layer_lambda({ f: (x: tf.Tensor) => tf.mul(x, 2) }), [[1, -3]]), [2, -6]);
      const input = layer_input({ shape: [3] });
      expect(L.layer_lambda(input, { f: (x: tf.Tensor) => tf.sum(x, -1) }).shape).to.deep.equal([null]);
      expect(L.layer_lambda(input, { f: (x: tf.Tensor) => tf.tile(x, [1, 2]), output_shape: [6] }).shape).to.deep.equal(
        [null, 6],
      );
      expectClose(
        values(L.layer_lambda({ f: (x: tf.Tensor, args: any) => tf.add(x, args.k), arguments: { k: 10 } }), [[1]]),
        [11],
      );
    });
  });

  describe("normalization", () => {
    it("layer_batch_normalization: batch statistics in training, moving ones at inference", () => {
      const model = keras_model_sequential({ input_shape: [1], layers: [L.layer_batch_normalization()] });
      expect(getRuntime(model).specs[0].map((s) => [s.name, s.trainable])).to.deep.equal([
        ["gamma", true],
        ["beta", true],
        ["moving_mean", false],
        ["moving_variance", false],
      ]);
      const x = tf.tensor([[0], [4]]);
      // batch mean 2, biased variance 4: y = (x - 2) / √(4 + 0.001) = ∓2 / 2.00025
      const r = getRuntime(model).run([x], { training: true });
      expectClose(flat(r.outputs[0]), [-2 / Math.sqrt(4.001), 2 / Math.sqrt(4.001)]);
      // moving_mean = 0·0.99 + 2·0.01 = 0.02; moving_variance = 1·0.99 + 4·0.01 = 1.03
      expect(r.weightUpdates.map((u) => u.index)).to.deep.equal([2, 3]);
      expectClose(flat(r.weightUpdates[0].value), [0.02]);
      expectClose(flat(r.weightUpdates[1].value), [1.03]);
      // inference: gamma 2, beta 1, moving mean 0, variance 1: 2·1/√1.001 + 1
      const m2 = set_weights(model, [[2], [1], [0], [1]]);
      const r2 = getRuntime(m2).run([tf.tensor([[1]])], { training: false });
      expectClose(flat(r2.outputs[0]), [2 / Math.sqrt(1.001) + 1]);
      expect(r2.weightUpdates).to.deep.equal([]);
    });
    it("layer_batch_normalization counts 4 weights per feature, half non-trainable", () => {
      const model = keras_model_sequential({
        input_shape: [3],
        layers: [L.layer_batch_normalization({ center: false })],
      });
      expect(count_params(model)).to.equal(9);
      expect(getRuntime(model).specs[0].map((s) => s.name)).to.deep.equal(["gamma", "moving_mean", "moving_variance"]);
    });
    it("layer_layer_normalization normalises each sample over the last axis", () => {
      // x = [1, 2, 3]: mean 2, variance 2/3; y = (x - 2) / √(2/3 + 0.001)
      const s = Math.sqrt(2 / 3 + 0.001);
      expectClose(values(L.layer_layer_normalization(), [[1, 2, 3]]), [-1 / s, 0, 1 / s]);
      const ln = L.layer_layer_normalization({
        weights: [
          [2, 2, 2],
          [1, 1, 1],
        ],
      });
      expectClose(values(ln, [[1, 2, 3]]), [1 - 2 / s, 1, 1 + 2 / s]);
    });
  });

  describe("layer_conv_1d", () => {
    const x = [[[1], [2], [3], [4]]];
    const kernel = [[[2]], [[1]]]; // (kernel_size 2, in 1, filters 1): y_t = 2·x_t + x_{t+1}
    const conv = (args: Record<string, unknown>) =>
      L.layer_conv_1d({ filters: 1, kernel_size: 2, use_bias: false, weights: [kernel], ...args });
    it("valid, same, causal, strides and dilation", () => {
      expectClose(values(conv({}), x), [4, 7, 10]);
      // same: one zero padded on the right → last = 2·4 + 0
      expectClose(values(conv({ padding: "same" }), x), [4, 7, 10, 8]);
      // causal: one zero on the left → [2·0 + 1, 2·1 + 2, 2·2 + 3, 2·3 + 4]
      expectClose(values(conv({ padding: "causal" }), x), [1, 4, 7, 10]);
      // causal, dilation 2: y_t = 2·x_{t-2} + x_t → [1, 2, 2 + 3, 4 + 4]
      expectClose(values(conv({ padding: "causal", dilation_rate: 2 }), x), [1, 2, 5, 8]);
      expectClose(values(conv({ strides: 2 }), x), [4, 10]);
      expectClose(
        values(L.layer_conv_1d({ filters: 1, kernel_size: 2, weights: [kernel, [0.5]] }), x),
        [4.5, 7.5, 10.5],
      );
    });
    it("channels_first and groups", () => {
      expectClose(values(conv({ data_format: "channels_first" }), [[[1, 2, 3, 4]]]), [4, 7, 10]);
      // groups 2, kernel (1, 1, 2) = [3, 5]: channel 0 · 3, channel 1 · 5
      const g = L.layer_conv_1d({ filters: 2, kernel_size: 1, groups: 2, use_bias: false, weights: [[[[3, 5]]]] });
      expectClose(
        values(g, [
          [
            [1, 10],
            [2, 20],
          ],
        ]),
        [3, 50, 6, 100],
      );
    });
    it("weights, shapes and errors", () => {
      const m = keras_model_sequential({
        input_shape: [10, 3],
        layers: [L.layer_conv_1d({ filters: 4, kernel_size: 3, strides: 2 })],
      });
      expect(m.shapes![0][0]).to.deep.equal([null, 4, 4]); // floor((10 - 3) / 2) + 1
      expect(count_params(m)).to.equal(3 * 3 * 4 + 4);
      expect(getRuntime(m).specs[0].map((s) => s.shape)).to.deep.equal([[3, 3, 4], [4]]);
      expect(() =>
        keras_model_sequential({ input_shape: [2, 3], layers: [L.layer_conv_1d({ filters: 1, kernel_size: 3 })] }),
      ).to.throw(KerasError, /too short/);
      expect(() => L.layer_conv_1d({ filters: 2, kernel_size: 3, strides: 2, dilation_rate: 2 })).to.throw(
        KerasError,
        /dilation_rate/,
      );
    });
  });

  describe("pooling", () => {
    const x = [[[1], [3], [2], [5], [4]]];
    it("max and average pooling 1d", () => {
      expectClose(values(L.layer_max_pooling_1d(), x), [3, 5]);
      // same: windows [1,3] [2,5] [4]
      expectClose(values(L.layer_max_pooling_1d({ padding: "same" }), x), [3, 5, 4]);
      expectClose(values(L.layer_max_pooling_1d({ strides: 1 }), x), [3, 3, 5, 5]);
      expectClose(values(L.layer_average_pooling_1d(), x), [2, 3.5]);
      // the padded edge window averages its one real value
      expectClose(values(L.layer_average_pooling_1d({ padding: "same" }), x), [2, 3.5, 4]);
      expectClose(values(L.layer_max_pooling_1d({ data_format: "channels_first" }), [[[1, 3, 2, 5, 4]]]), [3, 5]);
    });
    it("global pooling 1d, keepdims, channels_first and the mask", () => {
      const s = [
        [
          [1, 6],
          [4, 2],
          [3, 5],
        ],
      ];
      expectClose(values(L.layer_global_max_pooling_1d(), s), [4, 6]);
      expectClose(values(L.layer_global_average_pooling_1d(), s), [8 / 3, 13 / 3]);
      const k = run(L.layer_global_average_pooling_1d({ keepdims: true }), s);
      expect(shapeOf(k)).to.deep.equal([1, 1, 2]);
      k.dispose();
      expectClose(
        values(L.layer_global_average_pooling_1d({ data_format: "channels_first" }), [
          [
            [1, 2, 3],
            [4, 5, 9],
          ],
        ]),
        [2, 6],
      );
      // mask [T, F, T]: [(1 + 3) / 2, (6 + 5) / 2]
      expectClose(values(L.layer_global_average_pooling_1d(), s, { mask: [[1, 0, 1]] }), [2, 5.5]);
    });
  });

  describe("mask propagation through a model", () => {
    it("embedding → dropout → global average pooling averages unmasked steps only", () => {
      const model = keras_model_sequential({
        input_shape: [3],
        layers: [
          L.layer_embedding({
            input_dim: 3,
            output_dim: 2,
            mask_zero: true,
            weights: [
              [
                [9, 9],
                [1, 2],
                [3, 4],
              ],
            ],
          }),
          L.layer_dropout({ rate: 0.5 }),
          L.layer_global_average_pooling_1d(),
        ],
      });
      const x = tf.tensor([[1, 0, 2]]);
      // steps: [1,2], masked, [3,4] → mean [2, 3] (token 0's vector [9, 9] is ignored)
      const r = getRuntime(model).run([x], { training: false });
      expectClose(flat(r.outputs[0]), [2, 3]);
      expect(r.outputMasks[0]).to.equal(null);
      x.dispose();
    });
    it("masking → dense passes the mask on; flatten drops it", () => {
      const input = layer_input({ shape: [2, 2] });
      const masked = L.layer_masking(input);
      const model = keras_model({
        inputs: input,
        outputs: [L.layer_dense(masked, { units: 1 }), L.layer_flatten(masked)],
      });
      const x = tf.tensor([
        [
          [0, 0],
          [1, 1],
        ],
      ]);
      const r = getRuntime(model).run([x], { training: false });
      expect(flat(r.outputMasks[0]!)).to.deep.equal([0, 1]);
      expect(r.outputMasks[1]).to.equal(null);
      x.dispose();
    });
  });

  it("eager layer calls leak no tensors", () => {
    const layers = [
      L.layer_dense({ units: 2 }),
      L.layer_batch_normalization(),
      L.layer_layer_normalization(),
      L.layer_dropout({ rate: 0.5 }),
    ];
    const x = tf.tensor([[1, 2, 3]]);
    for (const l of layers) run(l, x).dispose(); // builds the weights once
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) for (const l of layers) run(l, x, { training: true }).dispose();
    expect(tf.memory().numTensors).to.equal(before);
    x.dispose();
  });
});
