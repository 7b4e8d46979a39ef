/**
 * Training matches real Keras 3.15.1 where it used to break (issue 9, section 3), on wasm and cpu:
 * - Adam and SGD with momentum through bidirectional(LSTM / GRU) in merge modes concat and sum, and
 *   through layer_rnn over two stacked cells: every weight gets its own optimizer slots (they were keyed
 *   by name, which the forward and backward copies and the cells of a stack share);
 * - dilated ConvLSTM1D / 2D: output, gradients w.r.t. the input and every weight, one training step;
 * - the huber loss: values, gradient (at the branch point |e| = delta too) and one training step;
 * - softmax / log-softmax / crossentropy from logits along every axis of a rank-3 tensor;
 * - recurrent models whose head's gradient is written by hand (src/engine/training/head.ts): a softmax
 *   Dense with categorical or sparse categorical crossentropy, a linear Dense with the mean absolute
 *   error (Keras takes the crossentropy from the softmax's logits, the same function where no
 *   probability reaches the clipping bounds).
 * Both sides start from the same weights (set here, sent to Keras's set_weights) and train on the same
 * data with one batch per epoch and shuffle off. One Python call (training.py) answers every case.
 */
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { join } from "node:path";
import { tf, type Tensor } from "../../../src/backend/tf.js";
import {
  activation_log_softmax,
  activation_softmax,
  bidirectional,
  get_weights,
  keras_model_sequential,
  layer_conv_lstm_1d,
  layer_conv_lstm_2d,
  layer_dense,
  layer_gru,
  layer_gru_cell,
  layer_lstm,
  layer_lstm_cell,
  layer_rnn,
  layer_stacked_rnn_cells,
  loss_categorical_crossentropy,
  loss_huber,
  use_backend,
} from "../../../src/index.js";
import type { Model } from "../../../src/model/model.js";
import { familyOf } from "../../../src/model/layer.js";
import type { LayerFunctionWith, RecurrentLayerFunction } from "../../../src/model/dual.js";
import { headPaths } from "../../../src/engine/training/head.js";
import { requireKeras, runKeras } from "../../helpers/keras.js";
import { expectSameTraining, trainHere, trainingCase, type OptimizerCase } from "../../helpers/keras_training.js";
import { nested, withPatternWeights } from "../../core/helpers.js";
import { BACKENDS, expectClose } from "../../wrappers/helpers.js";

const SCRIPT = readFileSync(join(import.meta.dirname, "training.py"), "utf8");
/** Absolute tolerance for every comparison (values are of order 1). */
const TOL = 1e-5;

const ADAM: OptimizerCase = { class_name: "Adam", learning_rate: 0.01 };
const MOMENTUM: OptimizerCase = { class_name: "SGD", learning_rate: 0.1, momentum: 0.9 };
const SGD: OptimizerCase = { class_name: "SGD", learning_rate: 0.5, momentum: 0 };

// ---------------------------------------------------------------------------------------------
// The cases

const SEQ_SHAPE = [5, 2];
const seqX = nested([4, ...SEQ_SHAPE], 1);
const seqY = nested([4, 1], 2);

interface WrapperCase {
  name: string;
  keras: Record<string, unknown>;
  model: () => Model;
  optimizer: OptimizerCase;
}

const RECURRENT: Record<"lstm" | "gru", RecurrentLayerFunction<{ units: number }>> = {
  lstm: layer_lstm,
  gru: layer_gru,
};
const CELLS: Record<"lstm" | "gru", LayerFunctionWith<{ units: number }, "many">> = {
  lstm: layer_lstm_cell,
  gru: layer_gru_cell,
};
const sequential = (layer: unknown) =>
  keras_model_sequential({ input_shape: SEQ_SHAPE, layers: [layer as any, layer_dense({ units: 1 })] });

const bidirectionalCase = (
  layer: "lstm" | "gru",
  merge_mode: "concat" | "sum",
  optimizer: OptimizerCase,
): WrapperCase => ({
  name: `bidirectional(layer_${layer}), merge_mode "${merge_mode}", ${optimizer === ADAM ? "Adam" : "SGD with momentum"}`,
  keras: { kind: "bidirectional", layer, merge_mode, units: [3] },
  model: () => sequential(bidirectional({ layer: RECURRENT[layer]({ units: 3 }), merge_mode })),
  optimizer,
});

const stackedCase = (cells: ("lstm" | "gru")[], units: number[], optimizer: OptimizerCase): WrapperCase => ({
  name: `layer_rnn(layer_stacked_rnn_cells(${cells.join(" + ")})), ${optimizer === ADAM ? "Adam" : "SGD with momentum"}`,
  keras: { kind: "stacked", cells, units },
  model: () =>
    sequential(
      layer_rnn({ cell: layer_stacked_rnn_cells({ cells: cells.map((k, i) => CELLS[k]({ units: units[i] })) }) }),
    ),
  optimizer,
});

const WRAPPERS: WrapperCase[] = [
  bidirectionalCase("lstm", "concat", ADAM),
  bidirectionalCase("lstm", "sum", MOMENTUM),
  bidirectionalCase("gru", "concat", MOMENTUM),
  bidirectionalCase("gru", "sum", ADAM),
  stackedCase(["gru", "lstm"], [3, 4], ADAM),
  stackedCase(["gru", "lstm"], [3, 4], MOMENTUM),
  stackedCase(["gru", "gru"], [3, 3], MOMENTUM),
];

interface ConvLstmCase {
  name: string;
  rank: 1 | 2;
  config: Record<string, unknown>;
  inputShape: number[];
  outputShape: number[];
}

const CONV_LSTM: ConvLstmCase[] = [
  {
    name: "ConvLSTM1D, dilation 2, padding same, return_sequences",
    rank: 1,
    config: { filters: 2, kernel_size: 3, dilation_rate: 2, padding: "same", return_sequences: true },
    inputShape: [3, 7, 2],
    outputShape: [3, 7, 2],
  },
  {
    name: "ConvLSTM2D, dilation (2, 3), padding valid",
    rank: 2,
    config: { filters: 2, kernel_size: [2, 2], dilation_rate: [2, 3], padding: "valid" },
    inputShape: [3, 6, 5, 2],
    outputShape: [4, 2, 2],
  },
  {
    name: "ConvLSTM2D, dilation 2, padding same",
    rank: 2,
    config: { filters: 3, kernel_size: 3, dilation_rate: 2, padding: "same" },
    inputShape: [2, 5, 4, 1],
    outputShape: [5, 4, 3],
  },
];
const CONV_LSTM_LAYERS = { 1: layer_conv_lstm_1d, 2: layer_conv_lstm_2d };
const convLstmModel = (c: ConvLstmCase) =>
  keras_model_sequential({ input_shape: c.inputShape, layers: [CONV_LSTM_LAYERS[c.rank](c.config as any)] });

// Errors e = y_pred - y_true (exact in float32) on both sides of delta = 1 and delta = 0.5, 0 and the
// branch points themselves included.
const HUBER_TRUE = [
  [0.25, -1, 2],
  [0.5, 0, -0.75],
  [1, 1.5, -2],
  [-0.5, 0.25, 0.75],
];
const HUBER_ERRORS = [
  [0, 1, -1],
  [0.5, -0.5, 0.25],
  [2, -3, 0.75],
  [1.5, -0.125, 4],
];
const HUBER_PRED = HUBER_TRUE.map((row, i) => row.map((v, j) => v + HUBER_ERRORS[i][j]));
const DELTAS = [1, 0.5];

const SOFTMAX_X = nested([2, 3, 4], 3).map((a: number[][]) => a.map((b) => b.map((v) => 3 * v)));
const SOFTMAX_AXES = [0, 1, -2, 2, -1];
/** One-hot labels along `axis` of a (2, 3, 4) tensor: the hot index is the sum of the other indices. */
function oneHotAlong(axis: number): number[][][] {
  const a = axis < 0 ? axis + 3 : axis;
  const size = [2, 3, 4][a];
  return nested([2, 3, 4]).map((m: number[][], i: number) =>
    m.map((row, j) =>
      row.map((_, k) => {
        const idx = [i, j, k];
        const others = idx.reduce((s, v, d) => (d === a ? s : s + v), 0);
        return idx[a] === others % size ? 1 : 0;
      }),
    ),
  );
}

interface HeadCase {
  name: string;
  keras: { layer: "lstm" | "gru"; units: number; dense: number; activation: string; loss: string };
  y: any;
  optimizer: OptimizerCase;
}

const HEADS: HeadCase[] = [
  {
    name: "GRU -> softmax Dense(4), categorical crossentropy, Adam",
    keras: { layer: "gru", units: 3, dense: 4, activation: "softmax", loss: "categorical_crossentropy" },
    y: [0, 3, 1, 2].map((k) => [0, 1, 2, 3].map((j) => (j === k ? 1 : 0))),
    optimizer: ADAM,
  },
  {
    name: "LSTM -> softmax Dense(3), sparse categorical crossentropy, SGD with momentum",
    keras: { layer: "lstm", units: 3, dense: 3, activation: "softmax", loss: "sparse_categorical_crossentropy" },
    y: [2, 0, 1, 2],
    optimizer: MOMENTUM,
  },
  {
    name: "GRU -> Dense(2), mean absolute error, Adam",
    keras: { layer: "gru", units: 3, dense: 2, activation: "linear", loss: "mean_absolute_error" },
    y: nested([4, 2], 3),
    optimizer: ADAM,
  },
];
const headModel = (h: HeadCase) =>
  keras_model_sequential({
    input_shape: SEQ_SHAPE,
    layers: [
      RECURRENT[h.keras.layer]({ units: h.keras.units }),
      layer_dense({ units: h.keras.dense, activation: h.keras.activation as any }),
    ],
  });

// ---------------------------------------------------------------------------------------------

describe("training matches Keras 3 (bidirectional, stacked cells, dilated ConvLSTM, huber, softmax axis)", function () {
  this.timeout(300_000);
  const wrapperCases = WRAPPERS.map((w) => ({
    ...w.keras,
    input_shape: SEQ_SHAPE,
    ...trainingCase(w.model(), w.optimizer, 3, seqX, seqY),
  }));
  const convCases = CONV_LSTM.map((c, i) => {
    const x = nested([2, ...c.inputShape], 10 + i);
    const y = nested([2, ...c.outputShape], 20 + i);
    return {
      rank: c.rank,
      config: c.config,
      input_shape: c.inputShape,
      probe: nested([2, ...c.outputShape], 30 + i),
      ...trainingCase(convLstmModel(c), SGD, 1, x, y),
    };
  });
  const huberTrain = trainingCase(
    keras_model_sequential({ input_shape: [2], layers: [layer_dense({ units: 3 })] }),
    SGD,
    1,
    nested([4, 2], 5),
    nested([4, 3], 6).map((r: number[]) => r.map((v) => 3 * v)),
  );
  const headCases = HEADS.map((h) => ({
    ...h.keras,
    input_shape: SEQ_SHAPE,
    ...trainingCase(headModel(h), h.optimizer, 3, seqX, h.y),
  }));
  let keras: any;

  before(function () {
    requireKeras(this);
    keras = runKeras(SCRIPT, {
      wrappers: wrapperCases,
      conv_lstm: convCases,
      heads: headCases,
      huber: { y_true: HUBER_TRUE, y_pred: HUBER_PRED, deltas: DELTAS, train: huberTrain },
      softmax: {
        x: SOFTMAX_X,
        axes: SOFTMAX_AXES,
        labels: Object.fromEntries(SOFTMAX_AXES.map((a) => [String(a), oneHotAlong(a)])),
      },
    });
  });

  after(async () => {
    await use_backend("wasm");
  });

  for (const backend of BACKENDS) {
    describe(`on ${backend}`, () => {
      before(async () => {
        await use_backend(backend);
      });

      WRAPPERS.forEach((w, i) =>
        it(`${w.name}: weights and losses over 3 steps`, async () => {
          expectSameTraining(await trainHere(w.model(), wrapperCases[i]), keras.wrappers[i]);
        }),
      );

      CONV_LSTM.forEach((c, i) => {
        it(`${c.name}: output and gradients w.r.t. the input and every weight`, () => {
          const model = withPatternWeights(convLstmModel(c));
          const weights = get_weights(model).map((w) => tf.tensor(w));
          const x = tf.tensor(convCases[i].x);
          const probe = tf.tensor(convCases[i].probe);
          const layer = model.layers[model.layers.length - 1];
          const run = (input: Tensor, ...ws: Tensor[]) =>
            familyOf(layer).forward(layer.config, { inputs: [input], weights: ws, masks: [null], training: false })
              .outputs[0];
          const y = run(x, ...weights);
          expectClose(y, keras.conv_lstm[i].output, TOL, "output");
          const grads = tf.grads((input: Tensor, ...ws: Tensor[]) => tf.sum(tf.mul(run(input, ...ws), probe)))([
            x,
            ...weights,
          ]);
          keras.conv_lstm[i].gradients.forEach((g: any, k: number) =>
            expectClose(grads[k], g, TOL, k === 0 ? "d/dx" : `d/d weight ${k - 1}`),
          );
          tf.dispose([y, x, probe, ...weights, ...grads]);
        });

        it(`${c.name}: one SGD step`, async () => {
          expectSameTraining(await trainHere(convLstmModel(c), convCases[i]), keras.conv_lstm[i].train);
        });
      });

      DELTAS.forEach((delta) => {
        it(`huber (delta ${delta}): per-sample values and the gradient of their mean`, () => {
          const k = keras.huber[String(delta)];
          expectClose(loss_huber(HUBER_TRUE, HUBER_PRED, { delta }), k.per_sample, TOL, "per-sample loss");
          const spec = loss_huber({ delta });
          const yTrue = tf.tensor(HUBER_TRUE);
          const yPred = tf.tensor(HUBER_PRED);
          const g = tf.grad((p: Tensor) => tf.mean(spec.perSample(yTrue, p)))(yPred);
          expectClose(g, k.gradient, TOL, "gradient");
          tf.dispose([yTrue, yPred, g]);
        });

        it(`huber (delta ${delta}): one SGD step`, async () => {
          const model = keras_model_sequential({ input_shape: [2], layers: [layer_dense({ units: 3 })] });
          const here = await trainHere(model, huberTrain, loss_huber({ delta }));
          expectSameTraining(here, keras.huber[String(delta)].train);
        });
      });

      HEADS.forEach((h, i) =>
        it(`${h.name}: weights and losses over 3 steps, the head's gradient by hand`, async () => {
          const handWritten = headPaths.handWritten;
          expectSameTraining(await trainHere(headModel(h), headCases[i], h.keras.loss), keras.heads[i]);
          expect(headPaths.handWritten - handWritten).to.equal(3);
        }),
      );

      it("softmax, log-softmax and crossentropy from logits along every axis of a rank-3 tensor", () => {
        for (const axis of SOFTMAX_AXES) {
          const k = keras.softmax[String(axis)];
          const s = activation_softmax(SOFTMAX_X, { axis });
          const ls = activation_log_softmax(SOFTMAX_X, { axis });
          expectClose(s, k.softmax, TOL, `softmax axis ${axis}`);
          expectClose(ls, k.log_softmax, TOL, `log_softmax axis ${axis}`);
          tf.dispose([s, ls]);
          const ce = loss_categorical_crossentropy(oneHotAlong(axis), SOFTMAX_X, { from_logits: true, axis });
          expectClose(ce, k.crossentropy, TOL, `crossentropy axis ${axis}`);
        }
      });
    });
  }
});
