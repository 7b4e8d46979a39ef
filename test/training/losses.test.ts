import { expect } from "chai";
import { use_backend } from "../../src/index.js";
import { tf } from "../../src/backend/tf.js";
import {
  loss_mean_squared_error,
  loss_mean_absolute_error,
  loss_mean_absolute_percentage_error,
  loss_mean_squared_logarithmic_error,
  loss_binary_crossentropy,
  loss_categorical_crossentropy,
  loss_sparse_categorical_crossentropy,
  loss_hinge,
  loss_squared_hinge,
  loss_categorical_hinge,
  loss_huber,
  loss_log_cosh,
  loss_kl_divergence,
  loss_poisson,
  loss_cosine_similarity,
} from "../../src/api/training.js";
import { LOSS_NAMES, resolveLoss } from "../../src/ops/losses.js";
import { expectClose, expectKerasError } from "./helpers.js";

// Expected values are derived by hand from the Keras definitions (per-sample, mean over the last axis).
describe("training: losses (hand-derived values)", () => {
  before(async () => {
    await use_backend("wasm");
  });

  it("mean squared / absolute errors", () => {
    // mse: [(0.5^2 + 0)/2, (1^2 + 2^2)/2] = [0.125, 2.5]; mae: [(0.5 + 0)/2, (1 + 2)/2] = [0.25, 1.5]
    expectClose(
      loss_mean_squared_error(
        [
          [1, 2],
          [3, 4],
        ],
        [
          [1.5, 2],
          [2, 6],
        ],
      ),
      [0.125, 2.5],
    );
    expectClose(
      loss_mean_absolute_error(
        [
          [1, 2],
          [3, 4],
        ],
        [
          [1.5, 2],
          [2, 6],
        ],
      ),
      [0.25, 1.5],
    );
  });

  it("mean absolute percentage error and mean squared logarithmic error", () => {
    // mape: 100 * mean(|2-1|/2, |4-5|/4) = 100 * 0.375
    expectClose(loss_mean_absolute_percentage_error([[2, 4]], [[1, 5]]), [37.5]);
    // msle: log(1 + (e-1)) = 1 and log(1 + 0) = 0, so mean((0-1)^2, (1-0)^2) = 1
    expectClose(loss_mean_squared_logarithmic_error([[0, Math.E - 1]], [[Math.E - 1, 0]]), [1], 1e-5);
  });

  it("binary crossentropy: probabilities, logits, label smoothing", () => {
    // -(ln 0.8 + ln 0.6) / 2 = (0.22314355 + 0.51082562) / 2
    expectClose(loss_binary_crossentropy([[1, 0]], [[0.8, 0.4]]), [0.36698459]);
    // logit 0 = probability 1/2: ln 2
    expectClose(loss_binary_crossentropy([[1]], [[0]], { from_logits: true }), [Math.LN2]);
    // smoothing 0.2: target 1 -> 0.9; -(0.9 ln 0.8 + 0.1 ln 0.2) = 0.2008292 + 0.1609438
    expectClose(loss_binary_crossentropy([[1]], [[0.8]], { label_smoothing: 0.2 }), [0.36177299]);
  });

  it("categorical crossentropy: normalises probabilities, logits, label smoothing", () => {
    expectClose(loss_categorical_crossentropy([[0, 1, 0]], [[0.2, 0.7, 0.1]]), [-Math.log(0.7)]);
    // unnormalised [1, 3.5, 0.5] / 5 = [0.2, 0.7, 0.1]
    expectClose(loss_categorical_crossentropy([[0, 1, 0]], [[1, 3.5, 0.5]]), [-Math.log(0.7)]);
    // logits [0, ln 2, 0] -> softmax [1/4, 1/2, 1/4]
    expectClose(loss_categorical_crossentropy([[0, 1, 0]], [[0, Math.LN2, 0]], { from_logits: true }), [Math.LN2]);
    // smoothing 0.3 over 3 classes: [0.1, 0.8, 0.1]; -(0.1 ln 0.2 + 0.8 ln 0.7 + 0.1 ln 0.1)
    expectClose(loss_categorical_crossentropy([[0, 1, 0]], [[0.2, 0.7, 0.1]], { label_smoothing: 0.3 }), [0.67654225]);
  });

  it("sparse categorical crossentropy takes integer labels of shape (n) or (n, 1)", () => {
    expectClose(
      loss_sparse_categorical_crossentropy(
        [1, 2],
        [
          [0.2, 0.7, 0.1],
          [0.25, 0.25, 0.5],
        ],
      ),
      [-Math.log(0.7), Math.LN2],
    );
    expectClose(loss_sparse_categorical_crossentropy([[1]], [[0.2, 0.7, 0.1]]), [-Math.log(0.7)]);
  });

  it("hinge, squared hinge (0/1 labels become -1/1) and categorical hinge", () => {
    // labels [-1, 1]: mean(max(1 + 0.3, 0), max(1 - 0.4, 0)) = mean(1.3, 0.6)
    expectClose(loss_hinge([[0, 1]], [[0.3, 0.4]]), [0.95]);
    expectClose(loss_squared_hinge([[0, 1]], [[0.3, 0.4]]), [(1.69 + 0.36) / 2]);
    // pos = 0.3, neg = max(0.5, 0, 0.2) = 0.5: max(0.5 - 0.3 + 1, 0)
    expectClose(loss_categorical_hinge([[0, 1, 0]], [[0.5, 0.3, 0.2]]), [1.2]);
  });

  it("huber, log cosh, kl divergence, poisson, cosine similarity", () => {
    // |e| = 0.5 <= 1: 0.5 * 0.25; |e| = 2 > 1: 1 * 2 - 0.5
    expectClose(loss_huber([[0, 0]], [[0.5, 2]]), [(0.125 + 1.5) / 2]);
    expectClose(loss_huber([[0]], [[2]], { delta: 3 }), [2]); // 0.5 * 4
    expectClose(loss_log_cosh([[0]], [[1]]), [Math.log(Math.cosh(1))]);
    // 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75)
    expectClose(loss_kl_divergence([[0.5, 0.5]], [[0.25, 0.75]]), [0.5 * Math.log(2) + 0.5 * Math.log(2 / 3)]);
    // mean(1 - 1 ln 1, 4 - 2 ln 4)
    expectClose(loss_poisson([[1, 2]], [[1, 4]]), [(1 + 4 - 2 * Math.log(4)) / 2], 1e-5);
    expectClose(loss_cosine_similarity([[1, 0]], [[1, 1]]), [-Math.SQRT1_2]);
  });

  it("huber is differentiable: d mean / d y_pred = clip(e, -delta, delta) / n, at e = 0 and |e| = delta too", () => {
    const errors = [0, 0.25, -0.5, 1, -1, 2, -3];
    for (const delta of [1, 0.5]) {
      const spec = loss_huber({ delta });
      const yTrue = tf.zeros([1, errors.length]);
      const yPred = tf.tensor2d([errors]);
      const g = tf.grad((p) => tf.mean(spec.perSample(yTrue, p)))(yPred);
      expectClose(
        Array.from(g.dataSync()),
        errors.map((e) => Math.max(-delta, Math.min(delta, e)) / errors.length),
      );
      tf.dispose([yTrue, yPred, g]);
    }
  });

  it("every loss has a gradient with respect to y_pred", () => {
    const probabilities = [
      [0.2, 0.5, 0.3],
      [0.6, 0.3, 0.1],
    ];
    const oneHot = [
      [0, 1, 0],
      [1, 0, 0],
    ];
    for (const name of LOSS_NAMES) {
      const spec = resolveLoss("compile", name);
      const sparse = spec.class_name === "SparseCategoricalCrossentropy";
      const yTrue = tf.tensor2d(sparse ? [[1], [0]] : oneHot);
      const yPred = tf.tensor2d(probabilities);
      const g = tf.grad((p) => tf.mean(spec.perSample(yTrue, p)))(yPred);
      const values = Array.from(g.dataSync());
      expect(values.every(Number.isFinite), `${name}: finite gradient`).to.equal(true);
      expect(
        values.some((v) => v !== 0),
        `${name}: non-zero gradient`,
      ).to.equal(true);
      tf.dispose([yTrue, yPred, g]);
    }
  });

  it("crossentropy from logits along a non-last axis", () => {
    // axis 0 of [[0, 0], [ln 3, 0]]: log-softmax of column 0 is [ln 1/4, ln 3/4]; labels pick row 1 / row 0
    const ce = loss_categorical_crossentropy(
      [
        [0, 1],
        [1, 0],
      ],
      [
        [0, 0],
        [Math.log(3), 0],
      ],
      { from_logits: true, axis: 0 },
    );
    expectClose(ce, [-Math.log(3 / 4), -Math.log(1 / 2)]);
  });

  it("accepts tensors, typed arrays with shape, and leaks nothing", () => {
    const before = tf.memory().numTensors;
    const t = tf.tensor2d([[1, 2]]);
    expectClose(loss_mean_squared_error(t, { data: new Float32Array([3, 2]), shape: [1, 2] }), [2]);
    expect(t.isDisposed).to.equal(false);
    t.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it("without data returns a loss value for compile; bad arguments name the function", async () => {
    const l = loss_binary_crossentropy({ from_logits: true });
    expect(l.class_name).to.equal("BinaryCrossentropy");
    expect(l.config.from_logits).to.equal(true);
    expect(Object.isFrozen(l)).to.equal(true);
    await expectKerasError(
      () => loss_binary_crossentropy({ from_logit: true } as any),
      /loss_binary_crossentropy\(\)/,
      /from_logits/,
    );
    await expectKerasError(() => (loss_mean_squared_error as any)([[1]]), /y_pred/);
    await expectKerasError(() => loss_huber({ delta: -1 }), /delta/, /positive/);
  });
});
