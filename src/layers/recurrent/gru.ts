/**
 * GRU (KERAS_FACTS "Cells"): gate order z, r, h; kernel (input_dim, 3u), recurrent_kernel (u, 3u);
 * bias (2, 3u) [input bias; recurrent bias] with reset_after = TRUE (default, cuDNN-compatible), (3u)
 * with reset_after = FALSE. The step's math is fused/cells/gru_reset_after.ts and gru_reset_before.ts,
 * shared with the fused kernels.
 */
import { tf, type Tensor } from "../../backend/tf.js";
import { Bool, type ConfigOf } from "../../args.js";
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
import { gruResetAfterStep } from "./fused/cells/gru_reset_after.js";
import { gruResetBeforeGates, gruResetBeforeUpdate } from "./fused/cells/gru_reset_before.js";

const GRU_CELL_PROPS = {
  ...GATED_CELL_PROPS,
  /** Apply the reset gate after the recurrent matrix product (TRUE: Keras 3 / cuDNN; FALSE: R keras <= 2.6). */
  reset_after: Bool,
};
export type GRUCellConfig = ConfigOf<typeof GRU_CELL_PROPS>;

/** "keras": bias (2, 3u) or (3u); "cudnn": CuDNNGRU's flat (6u) bias, input bias then recurrent bias. */
export type GruBiasLayout = "keras" | "cudnn";

export function gruCell(c: GRUCellConfig, biasLayout: GruBiasLayout = "keras"): RecurrentCell {
  const u = c.units;
  const resetAfter = c.reset_after;
  return {
    stateSizes: [u],
    outputSize: u,
    weightSpecs: (inputDim) =>
      gatedWeightSpecs(c, inputDim, 3, { shape: biasLayout === "cudnn" ? [6 * u] : resetAfter ? [2, 3 * u] : [3 * u] }),
    fused: {
      cell: resetAfter ? "gru_reset_after" : "gru_reset_before",
      activation: c.activation,
      recurrentActivation: c.recurrent_activation,
      biasLayout: !c.use_bias ? "none" : resetAfter ? "input+recurrent" : "input",
      dropout: c.dropout,
      recurrentDropout: c.recurrent_dropout,
    },
    prepare: (weights, { batch, inputDim, training }) => {
      const [kernel, recurrent, bias] = weights;
      const W = gateBlocks(kernel, 3);
      const U = gateBlocks(recurrent, 3);
      // Input biases (added to the projection) and, with reset_after, the recurrent bias of h.
      let inBias: (Tensor | undefined)[] = [undefined, undefined, undefined];
      let recBiasH: Tensor | undefined;
      if (c.use_bias) {
        if (resetAfter) {
          const [bIn, bRec] = tf.unstack(tf.reshape(bias, [2, 3 * u]), 0).map((b) => gateBlocks(b, 3));
          // z and r add both biases outside any product: fold the recurrent ones in once.
          inBias = [tf.add(bIn[0], bRec[0]), tf.add(bIn[1], bRec[1]), bIn[2]];
          recBiasH = bRec[2];
        } else inBias = gateBlocks(bias, 3);
      }
      const inMasks = gateDropoutMasks(c.dropout, c, training, 3, batch, inputDim);
      const recMasks = gateDropoutMasks(c.recurrent_dropout, c, training, 3, batch, u);
      const A = tensorAlgebra(c.activation.fn, c.recurrent_activation.fn);
      const rec = (h: Tensor, g: number) => tf.matMul(applyMask(h, recMasks[g]), U[g]);
      return {
        project: (x) => [0, 1, 2].map((g) => project(applyMask(x, inMasks[g]), W[g], inBias[g])),
        step: (x, [h]) => {
          let next: Tensor;
          if (resetAfter) {
            const recAt = (g: number) => (g === 2 && recBiasH ? tf.add(rec(h, 2), recBiasH) : rec(h, g));
            next = gruResetAfterStep(
              A,
              (g) => x[g],
              recAt,
              () => h,
            ).h;
          } else {
            const { z, rh } = gruResetBeforeGates(
              A,
              (g) => x[g],
              (g) => rec(h, g),
              () => applyMask(h, recMasks[2]),
            );
            next = gruResetBeforeUpdate(
              A,
              () => x[2],
              () => tf.matMul(rh, U[2]),
              () => z,
              () => h,
            ).h;
          }
          return { output: next, states: [next] };
        },
      };
    },
  };
}

const GRU_CELL_DEFAULTS: Partial<GRUCellConfig> = { ...CELL_DEFAULTS, reset_after: true };

/**
 * `layer_gru_cell(units, ...)` (R keras 2 name): one GRU step, for layer_rnn() and stacks.
 *
 * @example
 * const cell = layer_gru_cell({ units: 8 });
 * const model = pipe(keras_model_sequential({ input_shape: [10, 4] }), layer_rnn({ cell }));
 */
export const layer_gru_cell = defineCell({
  className: "GRUCell",
  fn: "layer_gru_cell",
  props: GRU_CELL_PROPS,
  defaults: GRU_CELL_DEFAULTS,
  required: ["units"],
  build: (c) => gruCell(c),
});
/**
 * `rnn_cell_gru(units, ...)` (keras3 name of layer_gru_cell).
 *
 * @example
 * const rnn = layer_rnn({ cell: rnn_cell_gru({ units: 8 }) });
 */
export const rnn_cell_gru = layer_gru_cell;

const GRU_PROPS = { ...GRU_CELL_PROPS, use_cudnn: USE_CUDNN_PROP };
export type GRUConfig = ConfigOf<typeof GRU_PROPS> & RnnArgs;

/**
 * `layer_gru(object, units, ...)`. Defaults are Keras 3 / R keras >= 2.7: recurrent_activation
 * "sigmoid", reset_after TRUE; R keras <= 2.6 used "hard_sigmoid" (the Keras 2 formula, here
 * "hard_sigmoid_keras2") and reset_after FALSE — pass them to get the old numbers.
 *
 * @example
 * const model = pipe(
 *   keras_model_sequential({ input_shape: [50, 16] }),
 *   layer_gru({ units: 32, return_sequences: true }),
 *   layer_gru({ units: 8 }),
 *   layer_dense({ units: 1 }),
 * );
 */
export const layer_gru = defineRecurrentLayer({
  className: "GRU",
  fn: "layer_gru",
  props: GRU_PROPS,
  defaults: { ...GRU_CELL_DEFAULTS, use_cudnn: "auto" },
  required: ["units"],
  validate: (c) => checkUseCudnn("layer_gru", c, "gru"),
  cellOf: (c) => gruCell(c),
});
