/**
 * layer_batch_normalization in training: a frozen layer (trainable = FALSE) runs in inference mode
 * (Keras >= 2.1: moving statistics used, not updated); an eager call with training = TRUE updates the
 * moving statistics it keeps. Numbers by hand, for x = [[1, 2], [3, 6]] (batch 2, 2 features),
 * gamma = [2, 1], beta = [0.5, 0], moving mean [1, 2], moving variance [4, 0.25], epsilon 0, momentum 0.9:
 *   inference: y = gamma (x - mm) / sqrt(mv) + beta = [[0.5, 0], [2.5, 8]];
 *   training:  batch mean [2, 4], biased batch variance [1, 4], y = [[-1.5, -1], [2.5, 1]];
 *              moving mean 0.9 [1, 2] + 0.1 [2, 4] = [1.1, 2.2],
 *              moving variance 0.9 [4, 0.25] + 0.1 [1, 4] = [3.7, 0.625].
 */
import { tf } from "../../src/backend/tf.js";
import { expect } from "chai";
import { use_backend } from "../../src/backend/index.js";
import { modelRuntime } from "../../src/engine/runtime.js";
import { get_weights } from "../../src/index.js";
import { keras_model_sequential } from "../../src/model/sequential.js";
import type { Model } from "../../src/model/model.js";
import type { Layer } from "../../src/model/layer.js";
import { freeze_weights } from "../../src/api/weights.js";
import { layer_batch_normalization } from "../../src/layers/core/index.js";
import { time_distributed } from "../../src/layers/wrappers/index.js";
import { expectClose, expectNoLeak } from "./helpers.js";

const X = [
  [1, 2],
  [3, 6],
];
const INFERENCE = [
  [0.5, 0],
  [2.5, 8],
];
const TRAINING = [
  [-1.5, -1],
  [2.5, 1],
];
const MOVED = [
  [1.1, 2.2],
  [3.7, 0.625],
];
const WEIGHTS = [
  [2, 1],
  [0.5, 0],
  [1, 2],
  [4, 0.25],
];

const bn = (args: Record<string, unknown> = {}) =>
  layer_batch_normalization({ momentum: 0.9, epsilon: 0, weights: WEIGHTS, ...args });

/** One training-mode run of the model's plan: the output and the moving-statistics updates it asks for. */
function trainingRun(model: Model, x: unknown): { y: number[]; updates: number[][] } {
  const rt = modelRuntime(model);
  try {
    return tf.tidy(() => {
      const r = rt.run([tf.tensor(x as number[][])], { training: true });
      return {
        y: Array.from(r.outputs[0].dataSync()),
        updates: r.weightUpdates.map((u) => Array.from(u.value.dataSync())),
      };
    });
  } finally {
    rt.dispose();
  }
}

const flat = (a: number[][]) => a.flat();

describe("layer_batch_normalization: frozen layers and eager training calls", () => {
  before(async () => {
    await use_backend("wasm");
  });

  it("trainable: batch statistics in training, with moving-statistics updates (the reference case)", () => {
    const { y, updates } = trainingRun(keras_model_sequential({ input_shape: [2], layers: [bn()] }), X);
    expectClose(y, flat(TRAINING), 1e-6);
    expectClose(updates.flat(), flat(MOVED), 1e-6);
  });

  it("frozen by freeze_weights, by trainable = FALSE, or inside a frozen wrapper: inference mode in training, no updates", () => {
    const frozen: [string, Model, unknown][] = [
      ["freeze_weights", freeze_weights(keras_model_sequential({ input_shape: [2], layers: [bn()] })), X],
      ["trainable = FALSE", keras_model_sequential({ input_shape: [2], layers: [bn({ trainable: false })] }), X],
      [
        "time_distributed(frozen layer)",
        keras_model_sequential({
          input_shape: [1, 2],
          layers: [time_distributed({ layer: bn({ trainable: false }) })],
        }),
        X.map((r) => [r]),
      ],
      [
        "frozen time_distributed",
        freeze_weights(keras_model_sequential({ input_shape: [1, 2], layers: [time_distributed({ layer: bn() })] })),
        X.map((r) => [r]),
      ],
    ];
    for (const [what, model, x] of frozen) {
      const { y, updates } = trainingRun(model, x);
      expectClose(y, flat(INFERENCE), 1e-6, what);
      expect(updates, what).to.deep.equal([]);
    }
  });

  it("an eager call with training = TRUE updates the layer's moving statistics; later calls use them", () => {
    const layer = bn();
    const run = (training: boolean) => {
      const y = (layer as Layer)(X, { training }) as tf.Tensor;
      const out = Array.from(y.dataSync());
      y.dispose();
      return out;
    };
    // The first call builds the layer's variables (its eager cache); later calls leave nothing behind.
    expectClose(run(false), flat(INFERENCE), 1e-6, "before");
    const call = (training: boolean) => expectNoLeak(() => run(training));
    expectClose(
      (get_weights(layer).slice(2) as number[][]).flat(),
      flat([WEIGHTS[2], WEIGHTS[3]]),
      0,
      "inference changes nothing",
    );
    expectClose(call(true), flat(TRAINING), 1e-6, "training call");
    expectClose((get_weights(layer).slice(2) as number[][]).flat(), flat(MOVED), 1e-6, "moved");
    // get_weights() reports the statistics the layer now computes with
    expectClose((get_weights(layer).slice(2) as number[][]).flat(), flat(MOVED), 1e-6, "get_weights after the update");
    // inference now normalises with [1.1, 2.2] and [3.7, 0.625]
    const after = X.map((r) =>
      r.map((v, j) => (j === 0 ? (2 * (v - 1.1)) / Math.sqrt(3.7) + 0.5 : (v - 2.2) / Math.sqrt(0.625))),
    );
    expectClose(call(false), flat(after), 1e-6, "after");
  });

  it("an eager training call on a frozen layer runs in inference mode and updates nothing", () => {
    const layer = bn({ trainable: false });
    const y = layer(X, { training: true }) as tf.Tensor;
    expectClose(y.dataSync(), flat(INFERENCE), 1e-6);
    y.dispose();
    expectClose((get_weights(layer).slice(2) as number[][]).flat(), flat([WEIGHTS[2], WEIGHTS[3]]), 0);
  });
});
