/**
 * LSTM (KERAS_FACTS "Cells"): gate order i, f, c, o; kernel (input_dim, 4u), recurrent_kernel (u, 4u),
 * bias (4u). States [h, c]. The step's math is fused/cells/lstm.ts, shared with the fused kernels.
 * unit_forget_bias = TRUE initialises the forget-gate bias to ones: [init(u), ones(u), init(2u)].
 */
import { tf, type Tensor } from "../../backend/tf.js";
import { Bool, type ConfigOf } from "../../args.js";
import { initialize, type InitializerSpec } from "../../ops/initializers.js";
import {
  CELL_DEFAULTS,
  GATED_CELL_PROPS,
  applyMask,
  defineCell,
  gateBlocks,
  gateDropoutMasks,
  gatedWeightSpecs,
  project,
  type RecurrentCell,
} from "./cell.js";
import { defineRecurrentLayer, type RnnArgs } from "./rnn_layer.js";
import { USE_CUDNN_PROP, checkUseCudnn } from "./fused/plan.js";
import { tensorAlgebra } from "./fused/cells/algebra.js";
import { lstmStep } from "./fused/cells/lstm.js";

const LSTM_CELL_PROPS = {
  ...GATED_CELL_PROPS,
  /** Add 1 to the forget gate's bias at initialization (Jozefowicz et al., 2015). */
  unit_forget_bias: Bool,
};
export type LSTMCellConfig = ConfigOf<typeof LSTM_CELL_PROPS>;

/**
 * The bias initializer with unit_forget_bias: `blocks` bias blocks of `units` each (4 for LSTM, 8 for
 * CuDNNLSTM) drawn from `base`, except block `forgetBlock`, which is ones.
 */
export function forgetBiasInitializer(
  base: InitializerSpec,
  units: number,
  blocks: number,
  forgetBlock: number,
): InitializerSpec {
  return Object.freeze({
    class_name: "Custom",
    config: Object.freeze({ name: "unit_forget_bias" }),
    fn: () => {
      const before = initialize(base, [forgetBlock * units]);
      const after = initialize(base, [(blocks - forgetBlock - 1) * units]);
      return Float32Array.from([...before, ...new Array(units).fill(1), ...after]);
    },
  });
}

/** "keras": bias (4u); "cudnn": CuDNNLSTM's (8u) bias, input bias then recurrent bias (their sum is the LSTM bias). */
export type LstmBiasLayout = "keras" | "cudnn";

export function lstmCell(c: LSTMCellConfig, biasLayout: LstmBiasLayout = "keras"): RecurrentCell {
  const u = c.units;
  const blocks = biasLayout === "cudnn" ? 8 : 4;
  const biasInit = c.unit_forget_bias
    ? forgetBiasInitializer(c.bias_initializer, u, blocks, biasLayout === "cudnn" ? 5 : 1)
    : c.bias_initializer;
  return {
    stateSizes: [u, u],
    outputSize: u,
    fused: {
      cell: "lstm",
      activation: c.activation,
      recurrentActivation: c.recurrent_activation,
      biasLayout: !c.use_bias ? "none" : biasLayout === "cudnn" ? "input+recurrent" : "input",
      dropout: c.dropout,
      recurrentDropout: c.recurrent_dropout,
    },
    weightSpecs: (inputDim) => gatedWeightSpecs(c, inputDim, 4, { shape: [blocks * u], initializer: biasInit }),
    prepare: (weights, { batch, inputDim, training }) => {
      const [kernel, recurrent, bias] = weights;
      const W = gateBlocks(kernel, 4);
      const U = gateBlocks(recurrent, 4);
      let b: (Tensor | undefined)[] = [undefined, undefined, undefined, undefined];
      if (c.use_bias) b = gateBlocks(biasLayout === "cudnn" ? tf.sum(tf.reshape(bias, [2, 4 * u]), 0) : bias, 4);
      const inMasks = gateDropoutMasks(c.dropout, c, training, 4, batch, inputDim);
      const recMasks = gateDropoutMasks(c.recurrent_dropout, c, training, 4, batch, u);
      const A = tensorAlgebra(c.activation.fn, c.recurrent_activation.fn);
      const rec = (h: Tensor, g: number) => tf.matMul(applyMask(h, recMasks[g]), U[g]);
      return {
        project: (x) => [0, 1, 2, 3].map((g) => project(applyMask(x, inMasks[g]), W[g], b[g])),
        step: (x, [h, cPrev]) => {
          const s = lstmStep(
            A,
            (g) => x[g],
            (g) => rec(h, g),
            () => cPrev,
          );
          return { output: s.h, states: [s.h, s.c] };
        },
      };
    },
  };
}

const LSTM_CELL_DEFAULTS: Partial<LSTMCellConfig> = { ...CELL_DEFAULTS, unit_forget_bias: true };

/**
 * `layer_lstm_cell(units, ...)` (R keras 2 name): one LSTM step, for layer_rnn() and stacks.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 4] }), layer_rnn({ cell: layer_lstm_cell({ units: 8 }) }));
 */
export const layer_lstm_cell = defineCell({
  className: "LSTMCell",
  fn: "layer_lstm_cell",
  props: LSTM_CELL_PROPS,
  defaults: LSTM_CELL_DEFAULTS,
  required: ["units"],
  build: (c) => lstmCell(c),
});
/**
 * `rnn_cell_lstm(units, ...)` (keras3 name of layer_lstm_cell).
 *
 * @example
 * const rnn = layer_rnn({ cell: rnn_cell_lstm({ units: 8 }) });
 */
export const rnn_cell_lstm = layer_lstm_cell;

const LSTM_PROPS = { ...LSTM_CELL_PROPS, use_cudnn: USE_CUDNN_PROP };
export type LSTMConfig = ConfigOf<typeof LSTM_PROPS> & RnnArgs;

/**
 * `layer_lstm(object, units, ...)`; defaults as layer_gru (recurrent_activation "sigmoid").
 *
 * @example
 * const input = layer_input({ shape: [10, 4] });
 * const [output, h, c] = layer_lstm(input, { units: 8, return_state: true });
 */
export const layer_lstm = defineRecurrentLayer({
  className: "LSTM",
  fn: "layer_lstm",
  props: LSTM_PROPS,
  defaults: { ...LSTM_CELL_DEFAULTS, use_cudnn: "auto" },
  required: ["units"],
  validate: (c) => checkUseCudnn("layer_lstm", c, "lstm"),
  cellOf: (c) => lstmCell(c),
});
