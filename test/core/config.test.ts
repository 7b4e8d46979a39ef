/** get_config / from_config: Keras config JSON and the round trip (same summary, same predictions). */
import { expect } from "chai";
import { tf } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { KerasError } from "../../src/errors.js";
import { getRuntime } from "../../src/engine/runtime.js";
import { keras_model_sequential } from "../../src/model/sequential.js";
import { keras_model } from "../../src/model/functional.js";
import { layer_input } from "../../src/model/symbolic.js";
import type { Model } from "../../src/model/model.js";
import { get_weights, set_weights, count_params } from "../../src/api/weights.js";
import { get_config, from_config } from "../../src/api/config.js";
import { summaryText } from "../../src/report/summary.js";
import { regularizer_l2 } from "../../src/ops/regularizers.js";
import * as L from "../../src/layers/core/index.js";
import { expectClose, flat, nested } from "./helpers.js";

function predict(model: Model, xs: number[][][] | any[]): number[][] {
  const inputs = xs.map((x) => tf.tensor(x));
  const r = getRuntime(model).run(inputs, { training: false });
  const out = r.outputs.map(flat);
  tf.dispose([...inputs, ...r.outputs]);
  return out;
}

/** from_config(get_config(m)) through JSON text, with m's weights: same summary and predictions. */
function expectRoundTrip(model: Model, xs: any[]): Model {
  const text = JSON.stringify(get_config(model));
  const rebuilt = from_config(JSON.parse(text)) as Model;
  expect(summaryText(rebuilt)).to.equal(summaryText(model));
  const restored = set_weights(rebuilt, get_weights(model));
  const [a, b] = [predict(model, xs), predict(restored, xs)];
  expect(b.length).to.equal(a.length);
  a.forEach((o, i) => expectClose(b[i], o, 1e-6, `output ${i + 1}`));
  return rebuilt;
}

describe("get_config / from_config", function () {
  before(async () => {
    await use_backend("wasm");
  });

  it("a sequential model's config is Keras JSON with batch_input_shape on the first layer", () => {
    const model = keras_model_sequential({
      input_shape: [4],
      name: "seq",
      layers: [
        L.layer_dense({ units: 8, activation: "relu", kernel_regularizer: regularizer_l2(0.01) }),
        L.layer_dropout({ rate: 0.5 }),
        L.layer_dense({ units: 2, name: "out" }),
      ],
    });
    const c = get_config(model) as any;
    expect(c.name).to.equal("seq");
    expect(c.layers.map((l: any) => l.class_name)).to.deep.equal(["Dense", "Dropout", "Dense"]);
    expect(c.layers[0].config).to.deep.include({
      name: "dense",
      trainable: true,
      dtype: "float32",
      batch_input_shape: [null, 4],
      units: 8,
      activation: "relu",
      use_bias: true,
    });
    expect(c.layers[0].config.kernel_initializer).to.deep.equal({
      class_name: "GlorotUniform",
      config: { seed: null },
    });
    expect(c.layers[0].config.kernel_regularizer).to.deep.equal({ class_name: "L2", config: { l2: 0.01 } });
    expect(c.layers[1].config).to.deep.equal({
      name: "dropout",
      trainable: true,
      dtype: "float32",
      rate: 0.5,
      noise_shape: null,
      seed: null,
    });
    expect(c.layers[2].config).to.not.have.property("batch_input_shape");
    expect(Object.isFrozen(c.layers[0].config)).to.equal(true);
    expectRoundTrip(model, [nested([3, 4])]);
  });

  it("a functional model's config has Keras 2 inbound_nodes, input_layers and output_layers; shared layers round-trip", () => {
    const a = layer_input({ shape: [3], name: "a" });
    const b = layer_input({ shape: [3], name: "b" });
    const shared = L.layer_dense({ units: 2, name: "shared" });
    const sa = shared(a);
    const sb = shared(b);
    const merged = L.layer_concatenate([sa, sb]);
    const out = L.layer_dense(merged, { units: 1, name: "head" });
    const model = keras_model({ inputs: [a, b], outputs: [out, sb], name: "two_towers" });
    const c = get_config(model) as any;
    expect(c.input_layers).to.deep.equal([
      ["a", 0, 0],
      ["b", 0, 0],
    ]);
    expect(c.output_layers).to.deep.equal([
      ["head", 0, 0],
      ["shared", 1, 0],
    ]);
    const byName = Object.fromEntries(c.layers.map((l: any) => [l.name, l]));
    expect(byName.a.config).to.deep.equal({
      batch_input_shape: [null, 3],
      dtype: "float32",
      sparse: false,
      ragged: false,
      name: "a",
    });
    expect(byName.shared.inbound_nodes).to.deep.equal([[["a", 0, 0, {}]], [["b", 0, 0, {}]]]);
    expect(byName.concatenate.inbound_nodes).to.deep.equal([
      [
        ["shared", 0, 0, {}],
        ["shared", 1, 0, {}],
      ],
    ]);
    const rebuilt = expectRoundTrip(model, [nested([2, 3]), nested([2, 3], 1)]);
    expect(count_params(rebuilt)).to.equal(count_params(model));
    // the rebuilt shared layer is one layer (one set of weights) called twice
    expect(rebuilt.layers.filter((l) => l.name === "shared").length).to.equal(1);
  });

  it("call arguments (mask, training) survive in the inbound node kwargs", () => {
    const x = layer_input({ shape: [4] });
    const m = layer_input({ shape: [4] });
    const e = L.layer_embedding(x, { input_dim: 5, output_dim: 2 });
    const pooled = L.layer_global_average_pooling_1d()(e, { mask: m });
    const d = L.layer_dropout(pooled, { rate: 0.5 });
    const model = keras_model({
      inputs: [x, m],
      outputs: L.layer_dense(L.layer_dropout({ rate: 0.3 })(d, { training: false }), { units: 1 }),
    });
    const c = get_config(model) as any;
    const pool = c.layers.find((l: any) => l.class_name === "GlobalAveragePooling1D");
    const maskInput = c.layers.filter((l: any) => l.class_name === "InputLayer")[1];
    expect(maskInput.config.name).to.not.equal(c.layers[0].config.name);
    expect(pool.inbound_nodes[0][0][3]).to.deep.equal({ mask: [maskInput.name ?? maskInput.config.name, 0, 0] });
    const drop = c.layers.filter((l: any) => l.class_name === "Dropout")[1];
    expect(drop.inbound_nodes[0][0][3]).to.deep.equal({ training: false });
    expectRoundTrip(model, [[[1, 2, 0, 4]], [[1, 1, 0, 0]]]);
  });

  it("every core layer's config round-trips", () => {
    const layers = [
      L.layer_dense({ units: 3, activation: "tanh", use_bias: false }),
      L.layer_activation({ activation: "hard_sigmoid_keras2" }),
      L.layer_dropout({ rate: 0.2, noise_shape: [null, 1, 4], seed: 3 }),
      L.layer_spatial_dropout_1d({ rate: 0.1 }),
      L.layer_gaussian_noise({ stddev: 0.2 }),
      L.layer_activity_regularization({ l1: 0.01 }),
      L.layer_embedding({ input_dim: 10, output_dim: 4, mask_zero: true, input_length: 5 }),
      L.layer_masking({ mask_value: -1 }),
      L.layer_flatten({ data_format: "channels_first" }),
      L.layer_reshape({ target_shape: [2, -1] }),
      L.layer_permute({ dims: [2, 1] }),
      L.layer_repeat_vector({ n: 3 }),
      L.layer_concatenate({ axis: 1 }),
      L.layer_add(),
      L.layer_dot({ axes: [1, 2], normalize: true }),
      L.layer_batch_normalization({ momentum: 0.9, center: false }),
      L.layer_layer_normalization({ axis: [1, 2], epsilon: 1e-5 }),
      L.layer_conv_1d({ filters: 4, kernel_size: 3, padding: "causal", dilation_rate: 2, activation: "relu" }),
      L.layer_max_pooling_1d({ pool_size: 3, strides: 1, padding: "same" }),
      L.layer_average_pooling_1d({ data_format: "channels_first" }),
      L.layer_global_max_pooling_1d({ keepdims: true }),
      L.layer_global_average_pooling_1d(),
    ];
    for (const layer of layers) {
      const c = JSON.parse(JSON.stringify(get_config(layer)));
      const again = from_config(c);
      expect(get_config(again), layer.className).to.deep.equal(c);
    }
    expect((get_config(layers[6]) as any).config.batch_input_shape).to.deep.equal([null, 5]);
  });

  it("a lambda layer says it is not serialisable, and from_config refuses it", () => {
    const c = get_config(L.layer_lambda({ f: (x: tf.Tensor) => tf.square(x) })) as any;
    expect(c.config.serializable).to.equal(false);
    expect(c.config.function_source).to.match(/square/);
    expect(() => from_config(c)).to.throw(KerasError, /cannot be restored/);
  });

  it("reads configs written by Keras (InputLayer first, class_name-wrapped, dtype policies)", () => {
    const kerasJson = {
      class_name: "Sequential",
      config: {
        name: "sequential",
        layers: [
          {
            class_name: "InputLayer",
            config: {
              batch_input_shape: [null, 5],
              dtype: "float32",
              sparse: false,
              ragged: false,
              name: "dense_input",
            },
          },
          {
            class_name: "Dense",
            config: {
              name: "dense",
              trainable: true,
              dtype: { module: "keras", class_name: "DTypePolicy", config: { name: "float32" } },
              units: 3,
              activation: "linear",
              use_bias: true,
              kernel_initializer: {
                module: "keras.initializers",
                class_name: "GlorotUniform",
                config: { seed: null },
                registered_name: null,
              },
              bias_initializer: { class_name: "Zeros", config: {} },
              kernel_regularizer: null,
              bias_regularizer: null,
              activity_regularizer: null,
              kernel_constraint: null,
              bias_constraint: null,
              lora_rank: null,
            },
          },
        ],
      },
    };
    const m = from_config(kerasJson) as Model;
    expect(count_params(m)).to.equal(18); // 5·3 + 3
    expect(m.type === "sequential" && m.inputShape).to.deep.equal([null, 5]);
  });

  it("bad configs are KerasErrors naming the problem", () => {
    expect(() => from_config({ class_name: "Dens", config: { units: 2 } })).to.throw(
      KerasError,
      /unknown layer class "Dens"; did you mean "Dense"/,
    );
    expect(() => from_config({ class_name: "Dense", config: { name: "d", units: 2.5 } })).to.throw(
      KerasError,
      /layer "d" \(Dense\).*`units` must be a positive integer/,
    );
    expect(() => from_config(42)).to.throw(KerasError, /from_config\(\)/);
    expect(() => get_config({} as any)).to.throw(KerasError, /get_config\(\): `object` must be a model or a layer/);
    expect(() => from_config({ name: "f", layers: [], input_layers: [["nope", 0, 0]], output_layers: [] })).to.throw(
      KerasError,
      /no layer produces/,
    );
  });
});
