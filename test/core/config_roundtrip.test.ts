/**
 * get_config / from_config round trip of every registered layer family: one small model per family,
 * rebuilt from its config through JSON text, must print the same summary and (given the original's
 * weights) predict the same numbers. The builder list must cover every family in the registry, so a
 * family added later without a round-trip case fails here. Nested layers (Bidirectional,
 * TimeDistributed, RNN over a cell or a stack of cells) and the cuDNN layers are checked key by key
 * against the Keras config forms; TypeScript functions (Lambda, custom cells) are refused clearly.
 */
import { expect } from "chai";
import { tf } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { KerasError } from "../../src/errors.js";
import { getRuntime } from "../../src/engine/runtime.js";
import { familyNames, getFamily } from "../../src/model/registry.js";
import * as api from "../../src/index.js";
import { keras_model_sequential } from "../../src/model/sequential.js";
import { keras_model } from "../../src/model/functional.js";
import { layer_input, type SymbolicTensor } from "../../src/model/symbolic.js";
import type { Model } from "../../src/model/model.js";
import type { Layer } from "../../src/model/layer.js";
import { get_weights, set_weights } from "../../src/api/weights.js";
import { get_config, from_config } from "../../src/api/config.js";
import { summaryText } from "../../src/report/summary.js";
import * as L from "../../src/layers/core/index.js";
import * as R from "../../src/layers/recurrent/index.js";
import { bidirectional, time_distributed } from "../../src/layers/wrappers/index.js";
import { expectClose, nested } from "./helpers.js";

interface Case {
  model: Model;
  /** One input array per model input. */
  inputs: unknown[];
}

/** A sequential model over `input_shape` (batch axis excluded) and input data of batch 2. */
const seq = (inputShape: number[], layers: Layer[], name = "sequential"): Case => ({
  model: keras_model_sequential({ input_shape: inputShape, layers, name }),
  inputs: [nested([2, ...inputShape])],
});

/** A functional model: `build` maps the inputs (one per shape) to the outputs. */
function graph(shapes: number[][], build: (xs: SymbolicTensor[]) => SymbolicTensor | SymbolicTensor[]): Case {
  const xs = shapes.map((s) => layer_input({ shape: s }));
  return {
    model: keras_model({ inputs: xs, outputs: build(xs), name: "functional" }),
    inputs: shapes.map((s, i) => nested([2, ...s], i)),
  };
}

/** Data with values in 0..n-1 (token ids), shape `shape`. */
const tokens = (shape: number[], n: number) =>
  nested(shape).map((row: number[]) => row.map((v) => Math.floor(Math.abs(v) * n) % n));

const merge = (f: (xs: SymbolicTensor[]) => SymbolicTensor | SymbolicTensor[]) => graph([[3], [3]], f);
const cellCase = (cell: Layer) => graph([[3]], ([x]) => cell(x));

/**
 * One builder per layer family (by Keras class name). Families that cannot be serialised (they hold
 * TypeScript functions) are listed in UNSERIALIZABLE instead, and checked to refuse.
 */
const BUILDERS: Record<string, () => Case> = {
  InputLayer: () => graph([[4]], ([x]) => L.layer_dense(x, { units: 2 })),
  Dense: () =>
    seq(
      [4],
      [L.layer_dense({ units: 3, activation: "relu" }), L.layer_dense({ units: 2, use_bias: false, name: "out" })],
    ),
  Activation: () => seq([4], [L.layer_activation({ activation: "hard_sigmoid_keras2" })]),
  Dropout: () => seq([4], [L.layer_dropout({ rate: 0.3, seed: 1 }), L.layer_dense({ units: 2 })]),
  SpatialDropout1D: () => seq([3, 4], [L.layer_spatial_dropout_1d({ rate: 0.2 })]),
  GaussianNoise: () => seq([4], [L.layer_gaussian_noise({ stddev: 0.5 })]),
  ActivityRegularization: () => seq([4], [L.layer_activity_regularization({ l1: 0.01, l2: 0.02 })]),
  Embedding: () => ({
    model: keras_model_sequential({
      layers: [
        L.layer_embedding({ input_dim: 6, output_dim: 3, input_length: 4, mask_zero: true }),
        R.layer_gru({ units: 2 }),
      ],
    }),
    inputs: [tokens([2, 4], 6)],
  }),
  Masking: () => seq([3, 2], [L.layer_masking({ mask_value: 0.5 }), R.layer_simple_rnn({ units: 2 })]),
  Flatten: () => seq([3, 2], [L.layer_flatten()]),
  Reshape: () => seq([6], [L.layer_reshape({ target_shape: [3, -1] })]),
  Permute: () => seq([3, 2], [L.layer_permute({ dims: [2, 1] })]),
  RepeatVector: () => seq([2], [L.layer_repeat_vector({ n: 3 })]),
  Add: () => merge((xs) => L.layer_add(xs)),
  Subtract: () => merge((xs) => L.layer_subtract(xs)),
  Multiply: () => merge((xs) => L.layer_multiply(xs)),
  Average: () => merge((xs) => L.layer_average(xs)),
  Maximum: () => merge((xs) => L.layer_maximum(xs)),
  Minimum: () => merge((xs) => L.layer_minimum(xs)),
  Concatenate: () => merge((xs) => L.layer_concatenate(xs, { axis: -1 })),
  Dot: () => merge((xs) => L.layer_dot(xs, { axes: 1, normalize: true })),
  BatchNormalization: () => seq([4], [L.layer_batch_normalization({ momentum: 0.9, epsilon: 0.01 })]),
  LayerNormalization: () => seq([3, 2], [L.layer_layer_normalization({ axis: [1, 2] })]),
  Conv1D: () => seq([5, 2], [L.layer_conv_1d({ filters: 3, kernel_size: 2, padding: "causal", activation: "tanh" })]),
  MaxPooling1D: () => seq([4, 2], [L.layer_max_pooling_1d({ pool_size: 2 })]),
  AveragePooling1D: () => seq([4, 2], [L.layer_average_pooling_1d({ pool_size: 2, strides: 1 })]),
  GlobalMaxPooling1D: () => seq([4, 2], [L.layer_global_max_pooling_1d()]),
  GlobalAveragePooling1D: () => seq([4, 2], [L.layer_global_average_pooling_1d({ keepdims: true })]),
  SimpleRNNCell: () => cellCase(R.layer_simple_rnn_cell({ units: 2, activation: "relu" })),
  SimpleRNN: () => seq([3, 2], [R.layer_simple_rnn({ units: 3, return_sequences: true, go_backwards: true })]),
  GRUCell: () => cellCase(R.layer_gru_cell({ units: 2, reset_after: false })),
  GRU: () => seq([3, 2], [R.layer_gru({ units: 3, recurrent_activation: "hard_sigmoid_keras2", reset_after: false })]),
  LSTMCell: () => cellCase(R.layer_lstm_cell({ units: 2, unit_forget_bias: false })),
  LSTM: () => graph([[3, 2]], ([x]) => R.layer_lstm(x, { units: 2, return_state: true })),
  StackedRNNCells: () =>
    cellCase(R.layer_stacked_rnn_cells({ cells: [R.layer_gru_cell({ units: 3 }), R.layer_lstm_cell({ units: 2 })] })),
  RNN: () =>
    seq(
      [3, 2],
      [
        R.layer_rnn({ cell: R.layer_lstm_cell({ units: 3 }), return_sequences: true }),
        R.layer_rnn({
          cell: [R.layer_simple_rnn_cell({ units: 2 }), R.layer_gru_cell({ units: 2 })],
          go_backwards: true,
        }),
      ],
    ),
  CuDNNGRU: () =>
    seq(
      [3, 2],
      [
        R.layer_cudnn_gru({ units: 2, return_sequences: true }),
        bidirectional({ layer: R.layer_cudnn_gru({ units: 2 }) }),
      ],
    ),
  CuDNNLSTM: () => seq([3, 2], [R.layer_cudnn_lstm({ units: 2, unit_forget_bias: false })]),
  ConvLSTM1D: () => seq([2, 4, 1], [R.layer_conv_lstm_1d({ filters: 2, kernel_size: 2 })]),
  ConvLSTM2D: () =>
    seq(
      [2, 3, 3, 1],
      [R.layer_conv_lstm_2d({ filters: 2, kernel_size: [2, 2], padding: "same", return_sequences: true })],
    ),
  ConvLSTM3D: () => seq([2, 2, 2, 2, 1], [R.layer_conv_lstm_3d({ filters: 1, kernel_size: 2 })]),
  TimeDistributed: () =>
    seq(
      [3, 4],
      [
        time_distributed({ layer: L.layer_dense({ units: 2, name: "inner" }) }),
        time_distributed({ layer: L.layer_batch_normalization() }),
      ],
    ),
  Bidirectional: () =>
    seq(
      [3, 2],
      [
        bidirectional({ layer: R.layer_lstm({ units: 2, return_sequences: true }) }),
        bidirectional({
          layer: R.layer_gru({ units: 2 }),
          backward_layer: R.layer_simple_rnn({ units: 2, go_backwards: true }),
          merge_mode: "sum",
        }),
      ],
    ),
};

/** Families whose layers hold TypeScript functions: get_config marks them, from_config refuses them. */
const UNSERIALIZABLE = ["Lambda", "CustomRNNCell"];

/** The model's outputs on `inputs`, run through the runtime (inference), as flat arrays. */
function predict(model: Model, inputs: unknown[]): number[][] {
  const rt = getRuntime(model);
  return tf.tidy(() =>
    rt
      .run(
        inputs.map((x) => tf.tensor(x as number[], undefined, "float32")),
        { training: false },
      )
      .outputs.map((o) => Array.from(o.dataSync())),
  );
}

/** from_config(JSON.parse(JSON.stringify(get_config(m)))), given m's weights: same summary, same numbers. */
function expectRoundTrip({ model, inputs }: Case, what: string): Model {
  const json = JSON.parse(JSON.stringify(get_config(model)));
  const rebuilt = from_config(json) as Model;
  expect(summaryText(rebuilt, { print: false }), `${what}: summary`).to.equal(summaryText(model, { print: false }));
  expect(get_config(rebuilt), `${what}: config of the rebuilt model`).to.deep.equal(json);
  const restored = set_weights(rebuilt, get_weights(model));
  const [want, got] = [predict(model, inputs), predict(restored, inputs)];
  expect(got.length, `${what}: outputs`).to.equal(want.length);
  want.forEach((w, i) => expectClose(got[i], w, 1e-6, `${what}: output ${i + 1}`));
  return rebuilt;
}

describe("get_config / from_config round trip of every layer family", function () {
  before(async () => {
    await use_backend("wasm");
  });

  it("has a round-trip case for every registered family of the package (or lists it as unserialisable)", () => {
    // The package's families are those whose R function the package exports (tests may register others).
    const packageFamilies = familyNames().filter((n) => getFamily(n)!.fn in api);
    expect(packageFamilies.length).to.be.greaterThan(40);
    const covered = [...Object.keys(BUILDERS), ...UNSERIALIZABLE].sort();
    expect(covered).to.deep.equal(packageFamilies.sort());
  });

  for (const family of UNSERIALIZABLE) {
    it(`${family}: from_config refuses it`, () => {
      const layer =
        family === "Lambda"
          ? L.layer_lambda({ f: (x: tf.Tensor) => tf.neg(x) })
          : R.rnn_cell_custom({ state_size: 1, call: (x: tf.Tensor, s: tf.Tensor[]) => [x, s] });
      const c = JSON.parse(JSON.stringify(get_config(layer)));
      expect(c.class_name).to.equal(family);
      expect(c.config.serializable).to.equal(false);
      expect(() => from_config(c)).to.throw(KerasError, /cannot be restored from a config; rebuild it with/);
    });
  }

  for (const [family, build] of Object.entries(BUILDERS)) {
    it(`${family}: same summary and predictions after the round trip`, () => {
      const c = build();
      const classes = c.model.layers.flatMap(function walk(l: Layer): string[] {
        const inner = Object.values(l.config).flatMap((v) =>
          typeof v === "function" && "className" in v
            ? walk(v as Layer)
            : Array.isArray(v)
              ? v.filter((x) => typeof x === "function" && "className" in x).flatMap(walk)
              : [],
        );
        return [l.className, ...inner];
      });
      expect(classes, "the case uses its family").to.include(family);
      expectRoundTrip(c, family);
    });
  }
});

describe("get_config / from_config: the Keras forms of nested and cuDNN layers", function () {
  before(async () => {
    await use_backend("wasm");
  });

  const configOf = (layer: Layer) =>
    JSON.parse(JSON.stringify(get_config(layer))) as { class_name: string; config: Record<string, any> };

  it("Bidirectional writes `layer`, `backward_layer` and `merge_mode` as Keras 3 does, and reads a Keras 2 config without `backward_layer`", () => {
    const c = configOf(bidirectional({ layer: R.layer_gru({ units: 2, name: "g" }), merge_mode: "ave" }));
    expect(c.config.merge_mode).to.equal("ave");
    expect([c.config.layer.class_name, c.config.layer.config.name, c.config.layer.config.go_backwards]).to.deep.equal([
      "GRU",
      "forward_g",
      false,
    ]);
    expect([
      c.config.backward_layer.class_name,
      c.config.backward_layer.config.name,
      c.config.backward_layer.config.go_backwards,
    ]).to.deep.equal(["GRU", "backward_g", true]);
    // Keras 2 writes the wrapped layer under its own name and no backward_layer: the backward layer is derived.
    const { backward_layer: _, ...keras2 } = c.config;
    const rebuilt = from_config({
      class_name: "Bidirectional",
      config: { ...keras2, layer: { ...c.config.layer, config: { ...c.config.layer.config, name: "g" } } },
    }) as Layer;
    expect([
      rebuilt.config.layer.name,
      rebuilt.config.backward_layer.name,
      rebuilt.config.backward_layer.config.go_backwards,
    ]).to.deep.equal(["forward_g", "backward_g", true]);
    expect(configOf(rebuilt)).to.deep.equal(c);
  });

  it("TimeDistributed writes its inner layer as { class_name, config } and rebuilds it", () => {
    const c = configOf(time_distributed({ layer: L.layer_dense({ units: 3, activation: "relu", name: "d" }) }));
    expect(c.config.layer.class_name).to.equal("Dense");
    expect(c.config.layer.config).to.deep.include({ name: "d", units: 3, activation: "relu" });
    const rebuilt = from_config(c) as Layer;
    expect([
      rebuilt.config.layer.className,
      rebuilt.config.layer.name,
      rebuilt.config.layer.config.units,
    ]).to.deep.equal(["Dense", "d", 3]);
  });

  it("layer_rnn writes one cell as itself and a list of cells as the StackedRNNCells Keras makes of it", () => {
    const one = configOf(R.layer_rnn({ cell: R.layer_gru_cell({ units: 2, name: "c" }) }));
    expect([one.config.cell.class_name, one.config.cell.config.name, one.config.cell.config.units]).to.deep.equal([
      "GRUCell",
      "c",
      2,
    ]);
    const many = configOf(R.layer_rnn({ cell: [R.layer_gru_cell({ units: 2 }), R.layer_lstm_cell({ units: 3 })] }));
    expect(many.config.cell.class_name).to.equal("StackedRNNCells");
    expect(many.config.cell.config.cells.map((x: any) => [x.class_name, x.config.units])).to.deep.equal([
      ["GRUCell", 2],
      ["LSTMCell", 3],
    ]);
    const rebuilt = from_config(many) as Layer;
    expect(rebuilt.config.cell.className).to.equal("StackedRNNCells");
    expect(configOf(rebuilt)).to.deep.equal(many);
  });

  // Keras 2.15's CuDNNGRU.get_config() / _CuDNNRNN.get_config() keys (CuDNNLSTM adds unit_forget_bias).
  const CUDNN_GRU_KEYS = [
    "name",
    "trainable",
    "dtype",
    "batch_input_shape",
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "time_major",
    "units",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
  ];

  it("CuDNNGRU / CuDNNLSTM write exactly Keras 2's config keys, and read them back", () => {
    const gru = configOf(R.layer_cudnn_gru({ units: 2, batch_input_shape: [null, 3, 4] }));
    expect(Object.keys(gru.config).sort()).to.deep.equal([...CUDNN_GRU_KEYS].sort());
    const lstm = configOf(R.layer_cudnn_lstm({ units: 2, unit_forget_bias: false, batch_input_shape: [null, 3, 4] }));
    expect(Object.keys(lstm.config).sort()).to.deep.equal([...CUDNN_GRU_KEYS, "unit_forget_bias"].sort());
    expect(configOf(from_config(gru) as Layer)).to.deep.equal(gru);
    expect(configOf(from_config(lstm) as Layer)).to.deep.equal(lstm);
    // go_backwards is a Keras config key, not an R argument: a backward CuDNNGRU (e.g. Bidirectional's) reads back.
    const backward = from_config({ ...gru, config: { ...gru.config, go_backwards: true } }) as Layer;
    expect(backward.config.go_backwards).to.equal(true);
    // @ts-expect-error: not an argument of layer_cudnn_gru (the test of the run-time check)
    expect(() => R.layer_cudnn_gru({ units: 2, go_backwards: true })).to.throw(
      KerasError,
      /unknown argument `go_backwards`/,
    );
    expect(() => from_config({ ...gru, config: { ...gru.config, time_major: true } })).to.throw(
      KerasError,
      /cu_dnngru.*`time_major` must be FALSE/,
    );
  });

  it("Lambda and custom cells are marked not serialisable, and from_config refuses them naming the enclosing layers", () => {
    const custom = R.rnn_cell_custom({ state_size: 2, call: (x: tf.Tensor, s: tf.Tensor[]) => [x, s], name: "mine" });
    const cellConfig = configOf(custom);
    expect(cellConfig.config).to.deep.include({ serializable: false, function_type: "typescript", state_size: 2 });
    expect(cellConfig.config.function_source).to.match(/\[x, ?s\]/);
    expect(() => from_config(cellConfig)).to.throw(
      KerasError,
      /from_config\(\): `config`: layer "mine" \(CustomRNNCell\): a custom cell's TypeScript functions .* cannot be restored from a config; rebuild it with rnn_cell_custom/,
    );
    const nestedCustom = configOf(
      bidirectional({ layer: R.layer_rnn({ cell: [R.layer_gru_cell({ units: 2 }), custom] }) }),
    );
    expect(() => from_config(nestedCustom)).to.throw(
      KerasError,
      /layer "bidirectional" \(Bidirectional\): layer "forward_rnn" \(RNN\): layer "stacked_rnn_cells" \(StackedRNNCells\): layer "mine" \(CustomRNNCell\): .*cannot be restored/,
    );
    const lambda = configOf(time_distributed({ layer: L.layer_lambda({ f: (x: tf.Tensor) => tf.abs(x) }) }));
    expect(lambda.config.layer.config.serializable).to.equal(false);
    expect(() => from_config(lambda)).to.throw(
      KerasError,
      /\(TimeDistributed\): layer "lambda" \(Lambda\): a Lambda layer's TypeScript function cannot be restored/,
    );
  });

  it("a bad nested config is a KerasError naming the wrapper", () => {
    const c = configOf(time_distributed({ layer: L.layer_dense({ units: 3 }) }));
    expect(() => from_config({ ...c, config: { ...c.config, layer: { class_name: "Dens", config: {} } } })).to.throw(
      KerasError,
      /\(TimeDistributed\): unknown layer class "Dens"; did you mean "Dense"/,
    );
  });
});
