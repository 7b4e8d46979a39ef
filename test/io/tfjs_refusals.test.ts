/**
 * save_model_tfjs() refuses models tfjs-layers 4.22 cannot run with our numbers, naming every layer and
 * why, and writes nothing. Where a refusal rests on a tfjs-layers behaviour (not a missing class), a
 * test shows that behaviour on tfjs-layers itself.
 */
import { expect } from "chai";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { tf } from "../../src/backend/tf.js";
import * as k from "../../src/index.js";
import type { Model, SequentialModel } from "../../src/model/model.js";
import { nested } from "../core/helpers.js";
import {
  expectSame,
  oursPredict,
  saveFromTfjs,
  tfjsPredict,
  tmp,
  tokens,
  withPatternWeightsTfjs,
} from "./tfjs_helpers.js";

async function refusal(model: Model): Promise<string> {
  const dir = join(tmp(), "model");
  const err = await k.save_model_tfjs(model, dir).catch((e: unknown) => e);
  expect(err, "save_model_tfjs() should refuse").to.be.instanceOf(k.KerasError);
  expect(existsSync(dir), "nothing is written").to.equal(false);
  return (err as Error).message;
}

const expectLines = (message: string, lines: RegExp[]) => {
  for (const line of lines) expect(message).to.match(line);
};

describe("save_model_tfjs() refuses what tfjs-layers 4.22 cannot run", function () {
  this.timeout(60000);
  before(() => k.backend_ready());

  it("lists every unsupported layer with its reason in one error", async () => {
    const x = k.layer_input({ shape: [5, 3] });
    const img = k.layer_input({ shape: [5, 4, 2] });
    const myTanh = function tanh(t: tf.Tensor) {
      return tf.tanh(t);
    };
    const outs = [
      k.layer_gru(x, { units: 2, name: "gru_default" }),
      k.layer_lstm(x, { units: 2, recurrent_activation: "hard_sigmoid", name: "lstm_keras3_hard_sigmoid" }),
      k.layer_subtract([x, x], { name: "minus" }),
      k.layer_lambda(x, { f: (t: tf.Tensor) => tf.mul(t, 2), name: "doubler" }),
      k.layer_cudnn_gru(x, { units: 2, name: "fast_gru" }),
      k.layer_activity_regularization(x, { l1: 0.1, name: "activity" }),
      k.layer_dense(x, { units: 2, activation: "leaky_relu", name: "leaky" }),
      k.layer_dense(x, { units: 2, activation: "gelu_approximate", name: "gelu_tanh" }),
      k.layer_dense(x, {
        units: 2,
        kernel_initializer: (shape: number[]) => new Float32Array(shape[0] * shape[1]),
        name: "init_fn",
      }),
      k.layer_conv_1d(x, { filters: 2, kernel_size: 2, padding: "causal", name: "causal" }),
      k.layer_simple_rnn(x, { units: 2, activation: myTanh, name: "own_tanh" }),
      k.layer_rnn(x, {
        cell: k.rnn_cell_custom({
          state_size: 1,
          call: (input: tf.Tensor, [h]: tf.Tensor[]) => [tf.add(h, tf.sum(input, -1, true)), [h]],
        }),
        name: "custom",
      }),
      k.layer_conv_lstm_1d(img, { filters: 2, kernel_size: 2, name: "conv1d_lstm" }),
      k.layer_dense(x, { units: 2, name: "my layer" }),
      k.bidirectional(x, {
        layer: k.layer_gru({ units: 2, reset_after: false }),
        backward_layer: k.layer_gru({ units: 3, reset_after: false, go_backwards: true }),
        name: "two_grus",
      }),
      k.layer_rnn(x, {
        cell: [k.rnn_cell_lstm({ units: 2 }), k.rnn_cell_gru({ units: 2 })],
        name: "stack",
      }),
    ];
    const message = await refusal(k.keras_model({ inputs: [x, img], outputs: outs.flat() }));
    expectLines(message, [
      /^save_model_tfjs\(\): TensorFlow\.js \(tfjs-layers 4\.22\) cannot run model "[^"]+"/,
      /layer "gru_default" \(GRU\): reset_after = TRUE/,
      /layer "lstm_keras3_hard_sigmoid" \(LSTM\): `recurrent_activation` "hard_sigmoid": .*Keras 2.*"hard_sigmoid_keras2"/,
      /layer "minus" \(Subtract\): tfjs-layers 4\.22 has no Subtract layer/,
      /layer "doubler" \(Lambda\): its TypeScript function cannot be stored/,
      /layer "fast_gru" \(CuDNNGRU\): .*layer_from_cudnn\(\)/,
      /layer "activity" \(ActivityRegularization\)/,
      /layer "leaky" \(Dense\): `activation` "leaky_relu": tfjs-layers 4\.22 has no "leaky_relu" activation/,
      /layer "gelu_tanh" \(Dense\): .*gelu_new/,
      /layer "init_fn" \(Dense\): `kernel_initializer` is a TypeScript function/,
      /layer "causal" \(Conv1D\): padding = "causal"/,
      /layer "own_tanh" \(SimpleRNN\): `activation` is a TypeScript function/,
      /layer "custom" \(RNN\): cell "[^"]+" \(CustomRNNCell\): its TypeScript step function/,
      /layer "conv1d_lstm" \(ConvLSTM1D\): tfjs-layers 4\.22 has ConvLSTM2D only/,
      /layer "my layer" \(Dense\): its name is not a valid tfjs-layers name/,
      /layer "two_grus" \(Bidirectional\): its backward_layer is configured differently/,
      /layer "stack" \(RNN\): cell "[^"]+" \(GRUCell\): reset_after = TRUE/,
    ]);
    expect(message.split("\n  - ")).to.have.length(17); // the heading and 16 layers
  });

  it("refuses settings tfjs-layers 4.22 computes differently or cannot rebuild", async () => {
    const seqs = k.layer_input({ batch_shape: [2, 3, 8] });
    const rank4 = k.layer_input({ batch_shape: [2, 2, 3, 4] });
    const frames = k.layer_input({ batch_shape: [2, 2, 2, 5, 5] });
    const model = k.keras_model({
      inputs: [seqs, rank4, frames],
      outputs: [
        k.layer_conv_1d(seqs, { filters: 2, kernel_size: 3, data_format: "channels_first", name: "cf_conv" }),
        k.layer_batch_normalization(seqs, { axis: 1, name: "bn_axis1" }),
        k.layer_batch_normalization(seqs, { axis: 2, name: "bn_last_is_fine" }),
        ...k.layer_lstm(seqs, { units: 2, stateful: true, return_state: true, name: "stateful_states" }),
        k.bidirectional(seqs, { layer: k.layer_rnn({ cell: k.rnn_cell_lstm({ units: 2 }) }), name: "bidi_rnn" }),
        k.layer_dot([rank4, rank4], { axes: 3, name: "dot4" }),
        k.layer_conv_lstm_2d(frames, {
          filters: 2,
          kernel_size: 3,
          data_format: "channels_first",
          name: "cf_convlstm",
        }),
        k.layer_global_average_pooling_1d(seqs, { keepdims: true, name: "keep" }),
      ],
    });
    const message = await refusal(model);
    expectLines(message, [
      /layer "cf_conv" \(Conv1D\): data_format = "channels_first"/,
      /layer "bn_axis1" \(BatchNormalization\): it normalizes another axis than the last/,
      /layer "stateful_states" \(LSTM\): it is stateful with several outputs: tfjs-layers 4\.22 runs a layer once per output/,
      /layer "bidi_rnn" \(Bidirectional\): tfjs-layers 4\.22 cannot copy a generic RNN layer/,
      /layer "dot4" \(Dot\): tfjs-layers 4\.22's Dot takes inputs of rank 3 at most/,
      /layer "cf_convlstm" \(ConvLSTM2D\): data_format = "channels_first"/,
      /layer "keep" \(GlobalAveragePooling1D\): keepdims = TRUE/,
    ]);
    expect(message).not.to.match(/bn_last_is_fine/);
  });

  it("refuses masks tfjs-layers handles differently: elementwise merges, global average pooling, mixed concatenation", async () => {
    const x = k.layer_input({ shape: [6] });
    const e = k.layer_embedding(x, { input_dim: 10, output_dim: 4, mask_zero: true, name: "tokens" });
    const other = k.layer_dense(k.layer_input({ shape: [6, 4] }), { units: 4 });
    const model = k.keras_model({
      inputs: [x, other.node.inputs[0]],
      outputs: [
        k.layer_add([e, e], { name: "sum" }),
        k.layer_global_average_pooling_1d(e, { name: "avg" }),
        k.layer_concatenate([e, other], { name: "joined" }),
        k.layer_global_max_pooling_1d(e, { name: "max_is_fine" }),
      ],
    });
    const message = await refusal(model);
    expectLines(message, [
      /layer "sum" \(Add\): it receives a mask, and tfjs-layers 4\.22 computes Add's output mask wrongly/,
      /layer "avg" \(GlobalAveragePooling1D\): it receives a mask, which tfjs-layers 4\.22 ignores/,
      /layer "joined" \(Concatenate\): its inputs carry different masks/,
    ]);
    expect(message).not.to.match(/max_is_fine/);
  });

  it("refuses a recurrent layer without a mask running after a masked one (tfjs-layers' stale mask)", async () => {
    const model = k.keras_model_sequential({ input_shape: [4] });
    const m = [
      k.layer_embedding({ input_dim: 10, output_dim: 2, mask_zero: true }),
      k.layer_lstm({ units: 2 }),
      k.layer_repeat_vector({ n: 4 }),
      k.layer_simple_rnn({ units: 2, return_sequences: true, name: "decoder" }),
    ].reduce((acc: SequentialModel, l) => l(acc), model);
    expect(await refusal(m)).to.match(
      /layer "decoder" \(SimpleRNN\): it receives no mask, but tfjs-layers 4\.22 would hand it the mask of layer "lstm"/,
    );
  });

  it("refuses call arguments a model file cannot express: mask, training = TRUE, initial_state of stacked cells", async () => {
    const x = k.layer_input({ shape: [4, 3] });
    const mask = k.layer_input({ shape: [4], dtype: "bool" });
    const h = k.layer_input({ shape: [2] });
    const model = k.keras_model({
      inputs: [x, mask, h],
      outputs: [
        k.layer_lstm({ units: 2, name: "masked_by_hand" })(x, { mask }),
        k.layer_dropout({ rate: 0.5, name: "mc_dropout" })(x, { training: true }),
        k.layer_rnn({ cell: [k.rnn_cell_simple({ units: 2 }), k.rnn_cell_simple({ units: 2 })], name: "stack" })(x, {
          initial_state: [h, h],
        }),
      ],
    });
    expectLines(await refusal(model), [
      /layer "masked_by_hand" \(LSTM\): it is called with an explicit `mask`/,
      /layer "mc_dropout" \(Dropout\): it is called with training = TRUE/,
      /layer "stack" \(RNN\): initial_state with stacked cells/,
    ]);
  });
});

describe("the tfjs-layers 4.22 behaviours behind the refusals", function () {
  this.timeout(60000);
  before(() => k.backend_ready());
  const L = tf.layers;

  it("a mask-less recurrent layer after a masked one gets the earlier mask in tfjs-layers", async () => {
    const theirs = tf.sequential();
    theirs.add(L.embedding({ inputDim: 10, outputDim: 2, maskZero: true, inputLength: 5 }));
    theirs.add(L.lstm({ units: 2 }));
    theirs.add(L.repeatVector({ n: 5 }));
    theirs.add(L.simpleRNN({ units: 2, returnSequences: true }));
    withPatternWeightsTfjs(theirs);
    const ours = await k.load_model_tfjs(await saveFromTfjs(theirs, join(tmp(), "stale")));
    const x = [tokens(5)];
    const [a] = await oursPredict(ours, x);
    const [b] = tfjsPredict(theirs, x);
    // Step 5 of the second sequence is padding: tfjs-layers carries the state through it, we do not.
    const gap = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    expect(gap).to.be.greaterThan(1e-3);
    // Our decoder computes what tfjs-layers computes when it is run on its own (without a mask).
    const decoder = tf.sequential();
    decoder.add(L.simpleRNN({ units: 2, returnSequences: true, inputShape: [5, 2] }));
    decoder.setWeights(theirs.layers[3].getWeights());
    const repeated = tf.model({ inputs: theirs.inputs, outputs: theirs.layers[2].output as tf.SymbolicTensor });
    const mid = repeated.predict(tf.tensor(x[0])) as tf.Tensor;
    const expected = Array.from((decoder.predict(mid) as tf.Tensor).dataSync());
    a.forEach((v, i) => expect(Math.abs(v - expected[i])).to.be.lessThan(1e-6));
  });

  it("tfjs-layers averages masked steps in GlobalAveragePooling1D and breaks Add's mask", async () => {
    const x = tf.input({ shape: [5] });
    const e = L.embedding({ inputDim: 10, outputDim: 3, maskZero: true }).apply(x) as tf.SymbolicTensor;
    const avg = L.globalAveragePooling1d({}).apply(e) as tf.SymbolicTensor;
    const theirs = withPatternWeightsTfjs(tf.model({ inputs: x, outputs: avg }));
    const ours = await k.load_model_tfjs(await saveFromTfjs(theirs, join(tmp(), "avg")));
    const input = [tokens(5)];
    const [a] = await oursPredict(ours, input);
    const [b] = tfjsPredict(theirs, input);
    expectSame([a.slice(0, 3)], [b.slice(0, 3)], 1e-6, "first sequence (nothing masked)");
    expect(Math.abs(a[3] - b[3])).to.be.greaterThan(1e-3); // second: tfjs averages the padding too

    const sum = L.add().apply([e, e]) as tf.SymbolicTensor;
    const rnn = L.simpleRNN({ units: 2 }).apply(sum) as tf.SymbolicTensor;
    const broken = withPatternWeightsTfjs(tf.model({ inputs: x, outputs: rnn }));
    let err: unknown = null;
    let out: number[] | null = null;
    try {
      [out] = tfjsPredict(broken, input);
    } catch (e2) {
      err = e2;
    }
    const ok = await k.load_model_tfjs(await saveFromTfjs(broken, join(tmp(), "add")));
    const [expected] = await oursPredict(ok, input);
    // Either tfjs-layers fails outright or it computes other numbers than the masked RNN should.
    if (err === null) expect(Math.max(...out!.map((v, i) => Math.abs(v - expected[i])))).to.be.greaterThan(1e-3);
  });

  it("tfjs-layers has no causal Conv1D and no reset_after GRU, and cannot read its own gelu_new", () => {
    const conv = tf.sequential();
    conv.add(L.conv1d({ filters: 1, kernelSize: 2, padding: "causal", inputShape: [4, 1] }));
    expect(() => conv.predict(tf.zeros([1, 4, 1]))).to.throw(/CAUSAL/);
    expect(() => L.gru({ units: 2, resetAfter: true } as any)).to.throw(/reset_after/);
    const json = {
      class_name: "Sequential",
      config: {
        layers: [{ class_name: "Dense", config: { units: 1, activation: "gelu_new", batch_input_shape: [null, 2] } }],
      },
    };
    return tf.models.modelFromJSON(json as any).then(
      () => expect.fail("tfjs-layers read gelu_new"),
      (e: Error) => expect(e.message).to.match(/geluNew|Unknown activation/),
    );
  });

  it("tfjs-layers normalizes a non-last axis and convolves channels_first Conv1D otherwise than we do", async () => {
    const x = nested([2, 3, 8]);
    const pairs: [tf.LayersModel, Model][] = [
      [
        tf.sequential({ layers: [L.batchNormalization({ axis: 1, inputShape: [3, 8] })] }),
        k.keras_model_sequential({ input_shape: [3, 8], layers: [k.layer_batch_normalization({ axis: 1 })] }),
      ],
      [
        tf.sequential({
          layers: [L.conv1d({ filters: 2, kernelSize: 3, dataFormat: "channelsFirst", inputShape: [3, 8] })],
        }),
        k.keras_model_sequential({
          input_shape: [3, 8],
          layers: [k.layer_conv_1d({ filters: 2, kernel_size: 3, data_format: "channels_first" })],
        }),
      ],
    ];
    for (const [theirs, ours] of pairs) {
      withPatternWeightsTfjs(theirs);
      const same = k.set_weights(
        ours,
        theirs.getWeights().map((w) => w.arraySync()),
      );
      const [a] = await oursPredict(same, [x]);
      const [b] = tfjsPredict(theirs, [x]);
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).to.be.greaterThan(1e-2);
    }
  });

  it("tfjs-layers advances a stateful layer once per output, and cannot wrap layer_rnn() in Bidirectional", async () => {
    const x = tf.input({ batchShape: [2, 3, 2] });
    const outs = L.lstm({ units: 2, stateful: true, returnState: true }).apply(x) as tf.SymbolicTensor[];
    const theirs = withPatternWeightsTfjs(tf.model({ inputs: x, outputs: outs }));
    const ours = await k.load_model_tfjs(await saveFromTfjs(theirs, join(tmp(), "stateful")));
    const input = [nested([2, 3, 2])];
    const [a] = await oursPredict(ours, input);
    const [b] = tfjsPredict(theirs, input);
    // A first call starts from zero states, as the same LSTM without state computes; tfjs-layers' does not.
    const plain = tf.sequential({ layers: [L.lstm({ units: 2, inputShape: [3, 2] })] });
    plain.setWeights(theirs.getWeights());
    const [fresh] = tfjsPredict(plain, input);
    expectSame([a], [fresh], 1e-6, "our first call");
    expect(Math.max(...b.map((v, i) => Math.abs(v - fresh[i])))).to.be.greaterThan(1e-3);
    expect(() => L.bidirectional({ layer: L.rnn({ cell: L.lstmCell({ units: 2 }) }) as any })).to.throw(
      /Improper config format/,
    );
  });

  it("tfjs-layers computes hard_sigmoid as clip(0.2 x + 0.5, 0, 1)", () => {
    const y = tf.layers.activation({ activation: "hardSigmoid" }).apply(tf.tensor([-2, 1])) as tf.Tensor;
    expect(Array.from(y.dataSync())).to.deep.equal([0.09999999403953552, 0.699999988079071]);
  });
});
