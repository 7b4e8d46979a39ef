/**
 * SimpleRNN (KERAS_FACTS "Cells"): h' = act(x W + b + h U); kernel (input_dim, u), recurrent_kernel
 * (u, u), bias (u). The step's math is fused/cells/simple_rnn.ts, shared with the fused kernels.
 */
import { tf } from "../../backend/tf.js";
import type { ConfigOf } from "../../args.js";
import {
  CELL_DEFAULTS,
  CELL_PROPS,
  applyMask,
  defineCell,
  dropoutMasks,
  gatedWeightSpecs,
  project,
  type CellArgs,
  type RecurrentCell,
} from "./cell.js";
import { defineRecurrentLayer, type RnnArgs } from "./rnn_layer.js";
import { tensorAlgebra } from "./fused/cells/algebra.js";
import { simpleRnnStep } from "./fused/cells/simple_rnn.js";

export type SimpleRNNCellConfig = ConfigOf<typeof CELL_PROPS>;

export function simpleRnnCell(c: SimpleRNNCellConfig): RecurrentCell {
  const u = c.units;
  const args = { ...c, implementation: 2 } as CellArgs;
  return {
    stateSizes: [u],
    outputSize: u,
    fused: {
      cell: "simple_rnn",
      activation: c.activation,
      recurrentActivation: null,
      biasLayout: c.use_bias ? "input" : "none",
      dropout: c.dropout,
      recurrentDropout: c.recurrent_dropout,
    },
    weightSpecs: (inputDim) => gatedWeightSpecs(args, inputDim, 1, { shape: [u] }),
    prepare: ([kernel, recurrent, bias], { batch, inputDim, training }) => {
      const inMask = dropoutMasks(c.dropout, training, 1, batch, inputDim, c.seed)?.[0] ?? null;
      const A = tensorAlgebra(c.activation.fn);
      const recMask = dropoutMasks(c.recurrent_dropout, training, 1, batch, u, c.seed)?.[0] ?? null;
      return {
        project: (x) => [project(applyMask(x, inMask), kernel, c.use_bias ? bias : undefined)],
        step: ([xt], [h]) => {
          const next = simpleRnnStep(A, xt, tf.matMul(applyMask(h, recMask), recurrent));
          return { output: next, states: [next] };
        },
      };
    },
  };
}

const { recurrent_activation: _ra, implementation: _impl, ...SIMPLE_DEFAULTS } = CELL_DEFAULTS;

/**
 * `layer_simple_rnn_cell(units, ...)` (R keras 2 name): one SimpleRNN step, for layer_rnn() and stacks.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 4] }), layer_rnn({ cell: layer_simple_rnn_cell({ units: 8 }) }));
 */
export const layer_simple_rnn_cell = defineCell({
  className: "SimpleRNNCell",
  fn: "layer_simple_rnn_cell",
  props: CELL_PROPS,
  defaults: SIMPLE_DEFAULTS,
  required: ["units"],
  build: (c) => simpleRnnCell(c),
});
/**
 * `rnn_cell_simple(units, ...)` (keras3 name of layer_simple_rnn_cell).
 *
 * @example
 * const rnn = layer_rnn({ cell: rnn_cell_simple({ units: 8 }) });
 */
export const rnn_cell_simple = layer_simple_rnn_cell;

export type SimpleRNNConfig = SimpleRNNCellConfig & RnnArgs;

/**
 * `layer_simple_rnn(object, units, ...)`: the fully connected RNN, h' = activation(x W + h U + b).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 4] }), layer_simple_rnn({ units: 8 }));
 */
export const layer_simple_rnn = defineRecurrentLayer({
  className: "SimpleRNN",
  fn: "layer_simple_rnn",
  props: CELL_PROPS,
  defaults: SIMPLE_DEFAULTS,
  required: ["units"],
  cellOf: (c) => simpleRnnCell(c),
});
