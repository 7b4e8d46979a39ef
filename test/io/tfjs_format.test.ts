/**
 * The TensorFlow.js layers format both ways, checked against tfjs-layers 4.22 itself (an independent
 * implementation in this process): our files load with tf.loadLayersModel() and predict what we
 * predict; models built and saved by tfjs-layers load with load_model_tfjs() and predict what
 * tfjs-layers predicts. Expected numbers are always tfjs-layers' own predictions.
 */
import { expect } from "chai";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pipe } from "fp-ts/lib/function.js";
import { tf } from "../../src/backend/tf.js";
import * as k from "../../src/index.js";
import type { Model } from "../../src/model/model.js";
import { nested, withPatternWeights } from "../core/helpers.js";
import {
  expectSame,
  loadInTfjs,
  oursPredict,
  saveFromTfjs,
  tfjsPredict,
  tmp,
  tokens,
  withPatternWeightsTfjs,
} from "./tfjs_helpers.js";

const TOL = 1e-6;

/** Saves `model` here, loads it with tfjs-layers, and compares predictions (both calls, for stateful models). */
async function roundTripToTfjs(model: Model, inputs: unknown[], calls = 1): Promise<tf.LayersModel> {
  const dir = join(tmp(), "model");
  await k.save_model_tfjs(model, dir);
  expect(readdirSync(dir).sort()).to.deep.equal(["model.json", "weights.bin"]);
  const theirs = await loadInTfjs(join(dir, "model.json"));
  for (let call = 1; call <= calls; call++)
    expectSame(await oursPredict(model, inputs), tfjsPredict(theirs, inputs), TOL, `call ${call}`);
  return theirs;
}

const seq = (inputShape: number[], ...layers: ((m: any) => any)[]): Model =>
  layers.reduce((m: Model, l) => l(m) as Model, k.keras_model_sequential({ input_shape: inputShape }) as Model);

describe("save_model_tfjs(): tf.loadLayersModel() predicts our numbers", function () {
  this.timeout(120000);
  before(() => k.backend_ready());

  it("dense layers with every activation tfjs-layers has (hard_sigmoid_keras2 written as its hard_sigmoid)", async () => {
    const acts = [
      "relu",
      "relu6",
      "elu",
      "selu",
      "sigmoid",
      "tanh",
      "softplus",
      "softsign",
      "swish",
      "silu",
      "mish",
      "gelu",
      "hard_sigmoid_keras2",
      "linear",
      "log_softmax",
      "softmax",
    ] as const;
    const model = withPatternWeights(
      seq(
        [3],
        ...acts.map((activation) => k.layer_dense({ units: 4, activation })),
        k.layer_activation({ activation: "tanh" }),
      ),
    );
    const theirs = await roundTripToTfjs(model, [nested([5, 3]).map((r: number[]) => r.map((v) => 3 * v))]);
    expect(theirs.layers.map((l) => l.getConfig().activation)).to.include("hardSigmoid");
  });

  it("embedding with mask_zero into SimpleRNN, GRU (reset_after = FALSE) and LSTM, with masking", async () => {
    const model = withPatternWeights(
      seq(
        [6],
        k.layer_embedding({ input_dim: 10, output_dim: 3, mask_zero: true }),
        k.layer_simple_rnn({ units: 4, return_sequences: true }),
        k.layer_gru({
          units: 3,
          reset_after: false,
          return_sequences: true,
          recurrent_activation: "hard_sigmoid_keras2",
        }),
        k.layer_lstm({ units: 2, go_backwards: true }),
        k.layer_dense({ units: 2 }),
      ),
    );
    await roundTripToTfjs(model, [tokens(6)]);
  });

  it("masking, dropout, spatial dropout and gaussian noise (identity when predicting), LSTM", async () => {
    const x = nested([3, 5, 2]);
    x[1][4] = [0, 0];
    x[2][3] = [0, 0];
    x[2][4] = [0, 0];
    const model = withPatternWeights(
      seq(
        [5, 2],
        k.layer_masking({ mask_value: 0 }),
        k.layer_dropout({ rate: 0.3 }),
        k.layer_spatial_dropout_1d({ rate: 0.2 }),
        k.layer_gaussian_noise({ stddev: 0.5 }),
        k.layer_lstm({ units: 3, recurrent_activation: "sigmoid" }),
      ),
    );
    await roundTripToTfjs(model, [x]);
  });

  it("flatten, reshape, permute, repeat_vector", async () => {
    const model = withPatternWeights(
      seq(
        [4, 3],
        k.layer_permute({ dims: [2, 1] }),
        k.layer_flatten(),
        k.layer_dense({ units: 6 }),
        k.layer_reshape({ target_shape: [3, 2] }),
        k.layer_flatten(),
        k.layer_repeat_vector({ n: 2 }),
        k.layer_simple_rnn({ units: 2 }),
      ),
    );
    await roundTripToTfjs(model, [nested([3, 4, 3])]);
  });

  it("batch and layer normalization (trained moving statistics)", async () => {
    const model = withPatternWeights(
      seq(
        [4, 3],
        k.layer_batch_normalization({ epsilon: 0.01 }),
        k.layer_layer_normalization({ epsilon: 0.001 }),
        k.layer_dense({ units: 2 }),
        k.layer_batch_normalization({ center: false, momentum: 0.9 }),
      ),
    );
    await roundTripToTfjs(model, [nested([3, 4, 3])]);
  });

  it("conv_1d (valid, same, strides, dilation), poolings and global poolings", async () => {
    const inp = k.layer_input({ shape: [12, 3] });
    const a = pipe(
      inp,
      k.layer_conv_1d({ filters: 4, kernel_size: 3, padding: "same", dilation_rate: 2, activation: "relu" }),
      k.layer_max_pooling_1d({ pool_size: 2 }),
      k.layer_conv_1d({ filters: 3, kernel_size: 2, padding: "same", strides: 2 }),
      k.layer_average_pooling_1d({ pool_size: 2, strides: 1, padding: "same" }),
    );
    const b = pipe(inp, k.layer_conv_1d({ filters: 2, kernel_size: 4, use_bias: false }));
    const model = withPatternWeights(
      k.keras_model({
        inputs: inp,
        outputs: [k.layer_global_max_pooling_1d(a), k.layer_global_average_pooling_1d(b), k.layer_flatten(a)],
      }),
    );
    await roundTripToTfjs(model, [nested([2, 12, 3])]);
  });

  it("merges: add, multiply, average, maximum, minimum, concatenate, dot (normalize); a shared layer", async () => {
    const x1 = k.layer_input({ shape: [4] });
    const x2 = k.layer_input({ shape: [4] });
    const shared = k.layer_dense({ units: 4, activation: "tanh" });
    const [h1, h2] = [shared(x1), shared(x2)];
    const outs = [
      k.layer_add([h1, h2, x1]),
      k.layer_multiply([h1, h2]),
      k.layer_average([h1, x2]),
      k.layer_maximum([h1, h2]),
      k.layer_minimum([h1, h2]),
      k.layer_concatenate([h1, h2], { axis: -1 }),
      k.layer_dot([h1, h2], { axes: 1, normalize: true }),
    ];
    const model = withPatternWeights(k.keras_model({ inputs: [x1, x2], outputs: outs }));
    await roundTripToTfjs(model, [nested([3, 4]), nested([3, 4], 1)]);
  });

  it("recurrent options: return_sequences, go_backwards, return_state, initial_state, no bias", async () => {
    const x = k.layer_input({ shape: [5, 3] });
    const h0 = k.layer_input({ shape: [4] });
    const c0 = k.layer_input({ shape: [4] });
    const [seqOut, h, c] = k.layer_lstm({ units: 4, return_sequences: true, return_state: true })(x, {
      initial_state: [h0, c0],
    });
    const g = k.layer_gru({ units: 2, reset_after: false, go_backwards: true, use_bias: false })(seqOut);
    const s = k.layer_simple_rnn({ units: 4, activation: "relu" })(x, { initial_state: [h] });
    const model = withPatternWeights(k.keras_model({ inputs: [x, h0, c0], outputs: [g, s, c] }));
    await roundTripToTfjs(model, [nested([2, 5, 3]), nested([2, 4], 1), nested([2, 4], 2)]);
  });

  for (const merge_mode of ["concat", "sum", "ave", "mul", null] as const) {
    it(`bidirectional, merge_mode = ${merge_mode === null ? "NULL" : `"${merge_mode}"`}`, async () => {
      const x = k.layer_input({ shape: [5, 3] });
      const y = k.bidirectional(x, {
        layer: k.layer_gru({ units: 3, reset_after: false, return_sequences: merge_mode === "concat" }),
        merge_mode,
      });
      const model = withPatternWeights(k.keras_model({ inputs: x, outputs: y }));
      await roundTripToTfjs(model, [nested([2, 5, 3])]);
    });
  }

  it("bidirectional LSTM over a mask, into an LSTM (masked steps skipped)", async () => {
    const model = withPatternWeights(
      seq(
        [6],
        k.layer_embedding({ input_dim: 10, output_dim: 3, mask_zero: true }),
        k.bidirectional({ layer: k.layer_lstm({ units: 2, return_sequences: true }) }),
        k.layer_lstm({ units: 3 }),
      ),
    );
    await roundTripToTfjs(model, [tokens(6)]);
  });

  it("one mask through dense, time_distributed, dropout and a concatenation, into recurrent layers", async () => {
    const x = k.layer_input({ shape: [6] });
    const e = k.layer_embedding(x, { input_dim: 10, output_dim: 3, mask_zero: true });
    const d = k.layer_dropout(k.layer_dense(e, { units: 4, activation: "tanh" }), { rate: 0.2 });
    const t = k.time_distributed(d, { layer: k.layer_dense({ units: 3 }) });
    const a = k.layer_lstm(t, { units: 2, return_sequences: true });
    const b = k.layer_gru(d, { units: 2, reset_after: false, return_sequences: true });
    const c = k.layer_concatenate([a, b]);
    const outs = [k.bidirectional(c, { layer: k.layer_lstm({ units: 2 }) }), k.layer_simple_rnn(c, { units: 3 })];
    const model = withPatternWeights(k.keras_model({ inputs: x, outputs: outs }));
    await roundTripToTfjs(model, [tokens(6)]);
  });

  it("bidirectional with return_sequences over a mask: the same numbers at unmasked steps (zeros here at masked ones)", async () => {
    const model = withPatternWeights(
      seq(
        [5],
        k.layer_embedding({ input_dim: 10, output_dim: 3, mask_zero: true }),
        k.bidirectional({ layer: k.layer_simple_rnn({ units: 2, return_sequences: true }) }),
      ),
    );
    const x = tokens(5);
    const dir = join(tmp(), "m");
    await k.save_model_tfjs(model, dir);
    const [ours] = await oursPredict(model, [x]);
    const [theirs] = tfjsPredict(await loadInTfjs(join(dir, "model.json")), [x]);
    x.flat().forEach((token, step) => {
      const slice = (v: number[]) => v.slice(4 * step, 4 * step + 4);
      if (token !== 0) expectSame([slice(ours)], [slice(theirs)], TOL, `step ${step}`);
      else expect(slice(ours).slice(0, 2), `forward output at masked step ${step}`).to.deep.equal([0, 0]);
    });
  });

  it("time_distributed over dense and over conv_1d (4-D input)", async () => {
    const x = k.layer_input({ shape: [3, 6, 2] });
    const a = k.time_distributed(x, { layer: k.layer_conv_1d({ filters: 2, kernel_size: 3 }) });
    const b = k.time_distributed(k.layer_reshape(a, { target_shape: [3, 8] }), { layer: k.layer_dense({ units: 2 }) });
    const model = withPatternWeights(k.keras_model({ inputs: x, outputs: b }));
    await roundTripToTfjs(model, [nested([2, 3, 6, 2])]);
  });

  it("conv_lstm_2d (padding same, return_sequences) and conv_lstm_2d into a dense head", async () => {
    const model = withPatternWeights(
      seq(
        [3, 5, 5, 2],
        k.layer_conv_lstm_2d({ filters: 3, kernel_size: 3, padding: "same", return_sequences: true }),
        k.layer_conv_lstm_2d({ filters: 2, kernel_size: 2, recurrent_activation: "hard_sigmoid_keras2" }),
        k.layer_flatten(),
        k.layer_dense({ units: 2 }),
      ),
    );
    await roundTripToTfjs(model, [nested([2, 3, 5, 5, 2])]);
  });

  it("layer_rnn over single cells and over stacked cells (names RNNCell_<i>)", async () => {
    const x = k.layer_input({ shape: [4, 3] });
    const a = k.layer_rnn(x, { cell: k.rnn_cell_gru({ units: 3, reset_after: false }), return_sequences: true });
    const b = k.layer_rnn(a, {
      cell: [
        k.rnn_cell_lstm({ units: 4 }),
        k.rnn_cell_gru({ units: 2, reset_after: false }),
        k.rnn_cell_simple({ units: 3 }),
      ],
    });
    const c = k.layer_rnn(x, {
      cell: k.layer_stacked_rnn_cells({ cells: [k.rnn_cell_simple({ units: 2 }), k.rnn_cell_lstm({ units: 2 })] }),
    });
    const model = withPatternWeights(k.keras_model({ inputs: x, outputs: [b, c] }));
    const dir = join(tmp(), "m");
    await k.save_model_tfjs(model, dir);
    const names = JSON.parse(readFileSync(join(dir, "model.json"), "utf8")).weightsManifest[0].weights.map(
      (w: any) => w.name,
    );
    expect(names).to.include.members(["rnn_1/RNNCell_0/kernel", "rnn_1/RNNCell_2/bias", "rnn/kernel"]);
    await roundTripToTfjs(model, [nested([2, 4, 3])]);
  });

  it("stateful LSTM with its batch size: the carried state gives the same second call", async () => {
    const model = withPatternWeights(
      pipe(
        k.keras_model_sequential(),
        k.layer_lstm({ units: 3, stateful: true, return_sequences: true, batch_input_shape: [2, 4, 3] }),
        k.layer_simple_rnn({ units: 2, stateful: true }),
      ),
    );
    await roundTripToTfjs(model, [nested([2, 4, 3])], 2);
  });

  it("leaves the model as it was", async () => {
    const model = withPatternWeights(seq([3], k.layer_dense({ units: 2 })));
    const before = JSON.stringify(k.get_weights(model));
    const returned = await k.save_model_tfjs(model, join(tmp(), "m"));
    expect(returned).to.equal(model);
    expect(JSON.stringify(k.get_weights(model))).to.equal(before);
  });
});

describe("load_model_tfjs(): models saved by tfjs-layers predict tfjs-layers' numbers here", function () {
  this.timeout(120000);
  before(() => k.backend_ready());
  const L = tf.layers;

  async function roundTripFromTfjs(theirs: tf.LayersModel, inputs: unknown[], calls = 1): Promise<Model> {
    withPatternWeightsTfjs(theirs);
    const dir = await saveFromTfjs(theirs, join(tmp(), "tfjs"));
    const ours = await k.load_model_tfjs(dir);
    for (let call = 1; call <= calls; call++)
      expectSame(await oursPredict(ours, inputs), tfjsPredict(theirs, inputs), TOL, `call ${call}`);
    return ours;
  }
  const sequential = (...layers: tf.layers.Layer[]) => {
    const m = tf.sequential();
    layers.forEach((l) => m.add(l));
    return m;
  };

  it("dense layers and activations (tfjs names: hardSigmoid read as hard_sigmoid_keras2)", async () => {
    const acts = [
      "relu",
      "relu6",
      "elu",
      "selu",
      "sigmoid",
      "hardSigmoid",
      "tanh",
      "softplus",
      "softsign",
      "swish",
      "mish",
      "gelu",
      "linear",
      "logSoftmax",
      "softmax",
    ];
    const m = sequential(
      L.dense({ units: 4, inputShape: [3] }),
      ...acts.map((a) => L.dense({ units: 4, activation: a as any })),
      L.activation({ activation: "tanh" }),
    );
    await roundTripFromTfjs(m, [nested([5, 3]).map((r: number[]) => r.map((v) => 3 * v))]);
  });

  it("embedding (mask_zero) into SimpleRNN, GRU and LSTM with tfjs's default hard sigmoid", async () => {
    const m = sequential(
      L.embedding({ inputDim: 10, outputDim: 3, maskZero: true, inputLength: 6 }),
      L.simpleRNN({ units: 4, returnSequences: true }),
      L.gru({ units: 3, returnSequences: true }),
      L.lstm({ units: 2, goBackwards: true, unitForgetBias: true }),
      L.dense({ units: 2 }),
    );
    const ours = await roundTripFromTfjs(m, [tokens(6)]);
    expect((k.get_layer(ours, { index: 3 }).config.recurrent_activation as { name: string }).name).to.equal(
      "hard_sigmoid_keras2",
    );
  });

  it("masking, dropout, noise, time_distributed, reshape, permute, flatten, pooling, repeat_vector, stacked cells", async () => {
    const x = nested([3, 4, 3]);
    x[2][3] = [0, 0, 0];
    const m = sequential(
      L.masking({ maskValue: 0, inputShape: [4, 3] }),
      L.dropout({ rate: 0.1 }),
      L.spatialDropout1d({ rate: 0.1 }),
      L.gaussianNoise({ stddev: 0.1 }),
      L.timeDistributed({ layer: L.dense({ units: 2 }) }),
      L.lstm({ units: 3, returnSequences: true }),
      L.activation({ activation: "relu" }),
      L.flatten(),
      L.reshape({ targetShape: [4, 3] }),
      L.permute({ dims: [2, 1] }),
      L.globalMaxPooling1d({}),
      L.repeatVector({ n: 2 }),
      L.rnn({
        cell: [L.lstmCell({ units: 2 }), L.gruCell({ units: 3 }), L.simpleRNNCell({ units: 2 })] as any,
        returnSequences: true,
      }),
      L.globalAveragePooling1d({}),
    );
    await roundTripFromTfjs(m, [x]);
  });

  it("conv1d, poolings, batch and layer normalization", async () => {
    const m = sequential(
      L.conv1d({ filters: 4, kernelSize: 3, inputShape: [10, 2], dilationRate: 2, activation: "relu" }),
      L.layerNormalization({}),
      L.maxPooling1d({ poolSize: 2 }),
      L.conv1d({ filters: 3, kernelSize: 2, strides: 2, padding: "same" }),
      L.batchNormalization({}),
      L.averagePooling1d({ poolSize: 2, strides: 1, padding: "same" }),
      L.flatten(),
    );
    await roundTripFromTfjs(m, [nested([2, 10, 2])]);
  });

  for (const mergeMode of ["concat", "sum", "ave", "mul"] as const) {
    it(`bidirectional (mergeMode ${mergeMode}) over a masked GRU`, async () => {
      const m = sequential(
        L.embedding({ inputDim: 10, outputDim: 3, maskZero: true, inputLength: 5 }),
        L.bidirectional({ layer: L.gru({ units: 2, returnSequences: true }) as any, mergeMode }),
        L.lstm({ units: 2 }),
      );
      await roundTripFromTfjs(m, [tokens(5)]);
    });
  }

  it("functional: merges, dot, concatenate, shared layers, bidirectional without merging", async () => {
    const x1 = tf.input({ shape: [5, 3] });
    const x2 = tf.input({ shape: [4] });
    const shared = L.dense({ units: 4, activation: "tanh" });
    const h1 = shared.apply(L.flatten().apply(L.conv1d({ filters: 1, kernelSize: 2 }).apply(x1))) as tf.SymbolicTensor;
    const h2 = shared.apply(x2) as tf.SymbolicTensor;
    const [f, b] = L.bidirectional({ layer: L.simpleRNN({ units: 2 }) as any, mergeMode: null as any }).apply(
      x1,
    ) as tf.SymbolicTensor[];
    const outs = [
      L.add().apply([h1, h2]),
      L.multiply().apply([h1, h2]),
      L.average().apply([h1, h2]),
      L.maximum().apply([h1, h2]),
      L.minimum().apply([h1, h2]),
      L.concatenate().apply([h1, h2, f, b]),
      L.dot({ axes: 1, normalize: true }).apply([h1, h2]),
    ] as tf.SymbolicTensor[];
    await roundTripFromTfjs(tf.model({ inputs: [x1, x2], outputs: outs }), [nested([2, 5, 3]), nested([2, 4], 1)]);
  });

  it("initial states given as further inputs of a recurrent layer", async () => {
    const x = tf.input({ shape: [4, 3] });
    const h = tf.input({ shape: [2] });
    const c = tf.input({ shape: [2] });
    const y = L.lstm({ units: 2 }).apply(x, { initialState: [h, c] }) as tf.SymbolicTensor;
    await roundTripFromTfjs(tf.model({ inputs: [x, h, c], outputs: y }), [
      nested([2, 4, 3]),
      nested([2, 2], 1),
      nested([2, 2], 2),
    ]);
  });

  it("conv_lstm_2d", async () => {
    const m = sequential(
      L.convLstm2d({ filters: 2, kernelSize: 3, inputShape: [3, 5, 5, 1], padding: "same", returnSequences: true }),
      L.flatten(),
    );
    await roundTripFromTfjs(m, [nested([2, 3, 5, 5, 1])]);
  });

  it("stateful GRU with its batch size, two calls", async () => {
    const m = sequential(L.gru({ units: 3, stateful: true, batchInputShape: [2, 4, 3] }));
    await roundTripFromTfjs(m, [nested([2, 4, 3])], 2);
  });

  it("a compiled model: its training config (loss, metrics, optimizer) compiles the loaded model", async () => {
    const m = sequential(L.dense({ units: 3, inputShape: [4], activation: "softmax" }));
    m.compile({
      optimizer: tf.train.adam(0.01, 0.8, 0.99, 1e-6),
      loss: "categoricalCrossentropy",
      metrics: ["accuracy"],
    });
    const dir = await saveFromTfjs(m, join(tmp(), "tfjs"), true);
    const ours = await k.load_model_tfjs(dir);
    const setup = ours.compiled as any;
    expect(setup.optimizer.class_name).to.equal("Adam");
    expect(setup.optimizer.config).to.include({ learning_rate: 0.01, beta_1: 0.8, beta_2: 0.99, epsilon: 1e-6 });
    expect(setup.losses[0].class_name).to.equal("CategoricalCrossentropy");
    expect(setup.metrics[0].map((x: any) => x.name)).to.deep.equal(["accuracy"]);
    expect((await k.load_model_tfjs(dir, { compile: false })).compiled).to.equal(null);
  });
});

describe("save_model_tfjs(): a compiled model's trainingConfig compiles the model in tfjs-layers", function () {
  before(() => k.backend_ready());

  it("keeps loss, metrics and the optimizer's hyperparameters", async () => {
    const model = k.compile(seq([4], k.layer_dense({ units: 3, activation: "softmax" })), {
      optimizer: k.optimizer_rmsprop({ learning_rate: 0.02, rho: 0.8, momentum: 0.1 }),
      loss: "categorical_crossentropy",
      metrics: ["accuracy", "mae"],
    });
    const dir = join(tmp(), "m");
    await k.save_model_tfjs(model, dir);
    const theirs = await loadInTfjs(join(dir, "model.json"));
    expect(theirs.optimizer.getClassName()).to.equal("RMSProp");
    expect(theirs.optimizer.getConfig()).to.include({ learningRate: 0.02, decay: 0.8, momentum: 0.1 });
    expect(theirs.loss).to.equal("categoricalCrossentropy");
    expect(theirs.metricsNames).to.deep.equal(["loss", "acc", "mae"]);
    const back = await k.load_model_tfjs(dir);
    expect((back.compiled as any).optimizer.config).to.include({ learning_rate: 0.02, rho: 0.8, momentum: 0.1 });
    const plain = join(tmp(), "plain");
    await k.save_model_tfjs(model, plain, { include_optimizer: false });
    expect(JSON.parse(readFileSync(join(plain, "model.json"), "utf8"))).not.to.have.property("trainingConfig");
  });

  it("refuses settings tfjs-layers could not compile, suggesting include_optimizer = FALSE", async () => {
    const model = k.compile(seq([4], k.layer_dense({ units: 1 })), { optimizer: "nadam", loss: "huber" });
    const dir = join(tmp(), "m");
    const err = await k.save_model_tfjs(model, dir).catch((e) => e);
    expect(err).to.be.instanceOf(k.KerasError);
    expect(err.message)
      .to.match(/Nadam/)
      .and.match(/"huber"/)
      .and.match(/include_optimizer = FALSE/);
    expect(existsSync(dir)).to.equal(false);
    await k.save_model_tfjs(model, dir, { include_optimizer: false });
  });
});
