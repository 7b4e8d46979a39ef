/**
 * Models for the file-format tests: together they use every layer family, cell and wrapper the
 * package offers, in sequential and functional models, stateful ones with their batch size, masked
 * ones. Each has deterministic non-trivial weights and input data. `keras: false` marks the models
 * Keras cannot load or run: those needing user code (Lambda, custom cells), layer names with "/" or
 * non-ASCII characters.
 */
import * as k from "../../src/index.js";
import type { Model } from "../../src/model/model.js";
import type { Layer } from "../../src/model/layer.js";
import type { SymbolicTensor } from "../../src/model/symbolic.js";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { nested, withPatternWeights } from "../core/helpers.js";

export interface FileCase {
  readonly name: string;
  readonly model: Model;
  /** One input array per model input. */
  readonly inputs: unknown[];
  /** FALSE when the model needs custom objects (TypeScript functions) to be read back. */
  readonly keras: boolean;
  /**
   * FALSE when Keras 3.15.1 cannot read the model back from a legacy .h5 file, not even one it wrote itself
   * (RMSNormalization with a list `axis` is rebuilt there with the last axis alone: a shape mismatch).
   */
  readonly legacyH5InKeras?: false;
}

/** Token ids in 1..n-1 with trailing zeros (padding) in every other row. */
function tokens(batch: number, time: number, n: number): number[][] {
  return Array.from({ length: batch }, (_, b) =>
    Array.from({ length: time }, (_, t) => (b % 2 === 1 && t >= time - 2 ? 0 : 1 + ((b * 7 + t * 3) % (n - 1)))),
  );
}

/** Sequence data whose last steps are all `value` in odd rows (for layer_masking). */
function maskedSequences(batch: number, time: number, features: number, value: number): number[][][] {
  const x = nested([batch, time, features]) as number[][][];
  return x.map((row, b) => row.map((step, t) => (b % 2 === 1 && t >= time - 2 ? step.map(() => value) : step)));
}

const seq = (name: string, inputShape: number[], layers: Layer[], extra: Record<string, unknown> = {}): FileCase => {
  const model = withPatternWeights(k.keras_model_sequential({ input_shape: inputShape, layers, name, ...extra }));
  const batch = (extra.batch_size as number | undefined) ?? 2;
  return { name, model, inputs: [nested([batch, ...inputShape])], keras: true };
};

function graph(
  name: string,
  shapes: number[][],
  build: (xs: SymbolicTensor[]) => SymbolicTensor | SymbolicTensor[],
  keras = true,
  inputs?: unknown[],
): FileCase {
  const xs = shapes.map((s) => k.layer_input({ shape: s }));
  const model = withPatternWeights(k.keras_model({ inputs: xs, outputs: build(xs), name }));
  return { name, model, inputs: inputs ?? shapes.map((s, i) => nested([2, ...s], i + 1)), keras };
}

/** A named function (files refer to a Lambda's function by its name). */
function halve(x: Tensor): Tensor {
  return tf.mul(x, 0.5);
}

/** The seed-004 MinimalRNNCell: h' = tanh(x W + h U). */
export const minimalCell = () =>
  k.rnn_cell_custom({
    class_name: "MinimalRNNCell",
    state_size: 2,
    build: (d: number) => [
      { name: "kernel", shape: [d, 2] },
      { name: "recurrent_kernel", shape: [2, 2] },
    ],
    call: (x, [h], [w, u]) => {
      const out = tf.tanh(tf.add(tf.matMul(x, w), tf.matMul(h, u)));
      return [out, [out]];
    },
  });

export { halve };

export function fileCases(): FileCase[] {
  return [
    seq(
      "dense",
      [4],
      [k.layer_dense({ units: 3, activation: "relu" }), k.layer_dense({ units: 2, use_bias: false, name: "output" })],
    ),
    seq(
      "core",
      [6],
      [
        k.layer_dense({ units: 4, activation: "tanh", kernel_regularizer: k.regularizer_l2(0.01) }),
        k.layer_activation({ activation: "softplus" }),
        k.layer_dropout({ rate: 0.3 }),
        k.layer_gaussian_noise({ stddev: 0.2 }),
        k.layer_activity_regularization({ l1: 0.01 }),
        k.layer_batch_normalization({ momentum: 0.9, epsilon: 0.01 }),
        k.layer_reshape({ target_shape: [2, 2] }),
        k.layer_permute({ dims: [2, 1] }),
        k.layer_layer_normalization(),
        k.layer_flatten(),
        k.layer_repeat_vector({ n: 3 }),
        k.layer_spatial_dropout_1d({ rate: 0.2 }),
        k.layer_conv_1d({ filters: 3, kernel_size: 2, padding: "causal", activation: "relu" }),
        k.layer_max_pooling_1d({ pool_size: 2, strides: 1 }),
        k.layer_average_pooling_1d({ pool_size: 1 }),
        k.layer_global_average_pooling_1d(),
      ],
    ),
    seq(
      "pooling",
      [4, 3],
      [k.layer_conv_1d({ filters: 2, kernel_size: 3, padding: "same" }), k.layer_global_max_pooling_1d()],
    ),
    {
      name: "embedding_masked",
      model: withPatternWeights(
        k.keras_model_sequential({
          input_shape: [5],
          input_dtype: "int32",
          name: "embedding_masked",
          layers: [
            k.layer_embedding({ input_dim: 7, output_dim: 3, mask_zero: true }),
            k.layer_lstm({ units: 3, return_sequences: true }),
            k.layer_gru({ units: 2 }),
            k.layer_dense({ units: 1, activation: "sigmoid" }),
          ],
        }),
      ),
      inputs: [tokens(4, 5, 7)],
      keras: true,
    },
    {
      name: "masking",
      model: withPatternWeights(
        k.keras_model_sequential({
          input_shape: [5, 2],
          name: "masking",
          layers: [
            k.layer_masking({ mask_value: 0 }),
            k.layer_simple_rnn({ units: 3, return_sequences: true, go_backwards: true }),
            k.layer_lstm({ units: 2 }),
          ],
        }),
      ),
      inputs: [maskedSequences(4, 5, 2, 0)],
      keras: true,
    },
    seq(
      "recurrent",
      [4, 3],
      [
        k.layer_gru({ units: 3, return_sequences: true }),
        k.layer_gru({ units: 3, reset_after: false, recurrent_activation: "hard_sigmoid", return_sequences: true }),
        k.layer_lstm({ units: 2, unit_forget_bias: false, return_sequences: true }),
        k.layer_simple_rnn({ units: 2, activation: "relu" }),
      ],
    ),
    seq(
      "rnn_cells",
      [4, 3],
      [
        k.layer_rnn({ cell: k.layer_gru_cell({ units: 3 }), return_sequences: true }),
        k.layer_rnn({
          cell: [
            k.layer_simple_rnn_cell({ units: 2 }),
            k.layer_gru_cell({ units: 3 }),
            k.layer_lstm_cell({ units: 2 }),
          ],
          return_sequences: true,
        }),
        k.layer_rnn({
          cell: k.layer_stacked_rnn_cells({
            cells: [k.layer_lstm_cell({ units: 2 }), k.layer_gru_cell({ units: 2, reset_after: false })],
          }),
          go_backwards: true,
        }),
      ],
    ),
    seq(
      "bidirectional",
      [4, 3],
      [
        k.bidirectional({ layer: k.layer_lstm({ units: 2, return_sequences: true }) }),
        k.bidirectional({ layer: k.layer_gru({ units: 2, return_sequences: true }), merge_mode: "sum" }),
        k.bidirectional({ layer: k.layer_simple_rnn({ units: 2, return_sequences: true }), merge_mode: "ave" }),
        k.bidirectional({
          layer: k.layer_gru({ units: 2 }),
          backward_layer: k.layer_simple_rnn({ units: 2, go_backwards: true }),
          merge_mode: "mul",
        }),
      ],
    ),
    seq(
      "bidirectional_cells",
      [4, 3],
      [
        k.bidirectional({
          layer: k.layer_rnn({ cell: [k.layer_gru_cell({ units: 2 }), k.layer_lstm_cell({ units: 2 })] }),
        }),
      ],
    ),
    graph("bidirectional_none", [[4, 3]], ([x]) =>
      k.bidirectional(x, { layer: k.layer_gru({ units: 2, return_sequences: true }), merge_mode: null }),
    ),
    seq(
      "time_distributed",
      [3, 4],
      [
        k.time_distributed({ layer: k.layer_dense({ units: 2 }) }),
        k.time_distributed({ layer: k.layer_batch_normalization() }),
        k.time_distributed({ layer: k.layer_dropout({ rate: 0.5 }) }),
      ],
    ),
    seq(
      "conv_2d",
      [6, 6, 2],
      [
        k.layer_conv_2d({ filters: 4, kernel_size: 3, padding: "same", groups: 2, activation: "relu" }),
        k.layer_depthwise_conv_2d({ kernel_size: 2, depth_multiplier: 2 }),
        k.layer_separable_conv_2d({ filters: 3, kernel_size: 2, padding: "same" }),
        k.layer_max_pooling_2d(),
        k.layer_zero_padding_2d({
          padding: [
            [1, 0],
            [0, 1],
          ],
        }),
        k.layer_conv_2d_transpose({ filters: 2, kernel_size: 3, strides: 2, padding: "same" }),
        k.layer_cropping_2d({ cropping: [1, 2] }),
        k.layer_upsampling_2d({ interpolation: "bilinear" }),
        k.layer_average_pooling_2d({ pool_size: 3, padding: "same" }),
        k.layer_spatial_dropout_2d({ rate: 0.2 }),
        k.layer_global_average_pooling_2d({ keepdims: true }),
        k.layer_global_max_pooling_2d(),
      ],
    ),
    seq(
      "conv_3d",
      [4, 4, 4, 1],
      [
        k.layer_conv_3d({ filters: 2, kernel_size: 2, padding: "same" }),
        k.layer_max_pooling_3d(),
        k.layer_zero_padding_3d(),
        k.layer_conv_3d_transpose({ filters: 2, kernel_size: 2, strides: 2 }),
        k.layer_cropping_3d(),
        k.layer_upsampling_3d({ size: [1, 2, 1] }),
        k.layer_average_pooling_3d({ padding: "same" }),
        k.layer_spatial_dropout_3d({ rate: 0.2 }),
        k.layer_global_average_pooling_3d({ keepdims: true }),
        k.layer_global_max_pooling_3d(),
      ],
    ),
    seq(
      "conv_1d_family",
      [8, 3],
      [
        k.layer_conv_1d_transpose({ filters: 2, kernel_size: 3, strides: 2 }),
        k.layer_depthwise_conv_1d({ kernel_size: 3, depth_multiplier: 2 }),
        k.layer_separable_conv_1d({ filters: 2, kernel_size: 2, strides: 2 }),
        k.layer_zero_padding_1d({ padding: [1, 2] }),
        k.layer_cropping_1d(),
        k.layer_upsampling_1d({ size: 3 }),
      ],
    ),
    seq("conv_lstm_1d", [3, 5, 2], [k.layer_conv_lstm_1d({ filters: 2, kernel_size: 2, return_sequences: true })]),
    seq("conv_lstm_2d", [2, 4, 4, 1], [k.layer_conv_lstm_2d({ filters: 2, kernel_size: [2, 2], padding: "same" })]),
    seq("conv_lstm_3d", [2, 3, 3, 3, 1], [k.layer_conv_lstm_3d({ filters: 1, kernel_size: 2 })]),
    seq(
      "cudnn",
      [4, 3],
      [
        k.layer_cudnn_gru({ units: 3, return_sequences: true }),
        k.bidirectional({ layer: k.layer_cudnn_gru({ units: 2, return_sequences: true }) }),
        k.layer_cudnn_lstm({ units: 2 }),
      ],
    ),
    seq(
      "stateful",
      [4, 3],
      [k.layer_gru({ units: 3, stateful: true, return_sequences: true }), k.layer_lstm({ units: 2, stateful: true })],
      { batch_size: 2 },
    ),
    graph("functional", [[4, 3], [3]], ([x, y]) => {
      const shared = k.layer_dense({ units: 3, name: "shared" });
      const a = k.layer_dense(k.layer_gru(x, { units: 4 }), { units: 3 });
      const b = shared(y);
      const c = shared(a);
      const merged = k.layer_concatenate([
        k.layer_add([a, b]),
        k.layer_subtract([a, b]),
        k.layer_multiply([a, c]),
        k.layer_average([b, c]),
        k.layer_maximum([a, b]),
        k.layer_minimum([a, c]),
        k.layer_dot([a, b], { axes: 1, normalize: true }),
      ]);
      return [k.layer_dense(merged, { units: 2 }), a];
    }),
    graph("states", [[4, 3]], ([x]) => {
      const [seqOut, h, c] = k.layer_lstm(x, {
        units: 3,
        return_sequences: true,
        return_state: true,
      }) as SymbolicTensor[];
      const g = k.layer_lstm(seqOut, { units: 3 }) as SymbolicTensor;
      const withState = k.layer_lstm({ units: 3 })(seqOut, { initial_state: [h, c] });
      return k.layer_add([withState, g]);
    }),
    seq(
      "activation_noise_normalization",
      [3, 4],
      [
        k.layer_activation_relu({ max_value: 0.5, negative_slope: 0.1, threshold: 0.1 }),
        k.layer_activation_parametric_relu({ shared_axes: [1] }),
        k.layer_activation_leaky_relu(),
        k.layer_activation_elu({ alpha: 0.7 }),
        k.layer_identity(),
        k.layer_activation_softmax({ axis: 1 }),
        k.layer_gaussian_dropout({ rate: 0.2 }),
        k.layer_alpha_dropout({ rate: 0.1 }),
        k.layer_group_normalization({ groups: 2 }),
        k.layer_unit_normalization(),
        k.layer_rms_normalization(),
      ],
    ),
    { ...seq("rms_normalization_axes", [3, 4], [k.layer_rms_normalization({ axis: [1, 2] })]), legacyH5InKeras: false },
    (() => {
      // Attention over mask_zero embeddings: the masks, Keras's call arguments (node kwargs) and
      // MultiHeadAttention's positional inputs and sublayer weights.
      const qi = k.layer_input({ shape: [3], dtype: "int32" });
      const vi = k.layer_input({ shape: [5], dtype: "int32" });
      const emb = k.layer_embedding({ input_dim: 7, output_dim: 4, mask_zero: true });
      const [q, v] = [emb(qi), emb(vi)];
      const merged = k.layer_concatenate([
        k.layer_attention([q, v], { use_scale: true, score_mode: "concat", use_causal_mask: true }),
        k.layer_additive_attention([q, v, v]),
        k.layer_multi_head_attention([q, v], { num_heads: 2, key_dim: 3, value_dim: 2, use_causal_mask: true }),
      ]);
      // Keras 3.15's MultiHeadAttention clears the masks of the tensors it is called on, so a later
      // consumer of q and v sees none in Keras (here it does): this one attends over tensors of its own.
      const emb2 = k.layer_embedding({ input_dim: 7, output_dim: 3, mask_zero: true });
      const [q2, v2] = [emb2(qi), emb2(vi)];
      const [, scores] = k.layer_multi_head_attention([q2, v2, v2], {
        num_heads: 2,
        key_dim: 2,
        use_bias: false,
        output_shape: [2],
        return_attention_scores: true,
      });
      const model = withPatternWeights(
        k.keras_model({ inputs: [qi, vi], outputs: [k.layer_dense(merged, { units: 2 }), scores], name: "attention" }),
      );
      return { name: "attention", model, inputs: [tokens(2, 3, 7), tokens(2, 5, 7)], keras: true };
    })(),
    // Keras 3 refuses "/" in layer names: such a file reads back here only. Keras reads a unicode
    // name, but its TensorFlow backend cannot run a layer with one.
    { ...seq("slash_name", [3], [k.layer_dense({ units: 2, name: "out/ü" })]), keras: false },
    { ...seq("unicode_name", [3], [k.layer_dense({ units: 2, name: "ausgabe_ü" })]), keras: false },
    graph("custom", [[4, 3]], ([x]) => k.layer_rnn(k.layer_lambda(x, { f: halve }), { cell: minimalCell() }), false),
  ];
}
