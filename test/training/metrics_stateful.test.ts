/**
 * The metrics of issue 12 without Keras: values worked out by hand (Keras's documented examples
 * among them), the immutable update_state / result / reset_state API, metrics of several values in
 * fit()'s logs, custom_metric(), and the errors. (losses_metrics_optimizers.test.ts compares every one
 * with Keras over batches.)
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import { tf, type Tensor } from "../../src/backend/tf.js";
import * as k from "../../src/index.js";
import { expectClose, expectKerasError } from "./helpers.js";

describe("training: metrics of issue 12 (hand-derived values)", () => {
  before(async () => {
    await k.use_backend("wasm");
  });

  it("confusion counts at one threshold or several (one count per threshold)", () => {
    const yTrue = [0, 1, 1, 1];
    const yPred = [0.2, 0.4, 0.6, 0.9];
    expect(k.metric_true_positives([0, 1, 1, 1], [1, 0, 1, 1])).to.equal(2);
    expect(k.metric_true_positives(yTrue, yPred, { thresholds: [0.3, 0.7] })).to.deep.equal([3, 1]);
    expect(k.metric_false_positives(yTrue, yPred, { thresholds: 0.1 })).to.equal(1);
    expect(k.metric_true_negatives(yTrue, yPred)).to.equal(1);
    expect(k.metric_false_negatives(yTrue, yPred, { thresholds: [0.5, 0.95] })).to.deep.equal([1, 3]);
  });

  it("precision at recall, recall at precision (Keras's documented examples)", () => {
    expectClose(k.metric_precision_at_recall([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], { recall: 0.5 }), 0.5);
    expectClose(k.metric_recall_at_precision([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], { precision: 0.8 }), 0.5);
    // class_id picks a column
    expectClose(
      k.metric_precision_at_recall(
        [
          [1, 0],
          [0, 1],
          [0, 1],
        ],
        [
          [0.9, 0.8],
          [0.1, 0.7],
          [0.2, 0.6],
        ],
        { recall: 1, class_id: 1 },
      ),
      2 / 3,
    );
  });

  it("F1 and F-beta per class and averaged (Keras's example: [0.5, 0.8, 0.667])", () => {
    const yTrue = [
      [1, 1, 1],
      [1, 0, 0],
      [1, 1, 0],
    ];
    const yPred = [
      [0.2, 0.6, 0.7],
      [0.2, 0.6, 0.6],
      [0.6, 0.8, 0.0],
    ];
    // threshold 0.5 predicts [[0,1,1],[0,1,1],[1,1,0]]: per class (tp, fp, fn) = (1, 0, 2), (2, 1, 0), (1, 1, 0)
    expectClose(k.metric_f1_score(yTrue, yPred, { threshold: 0.5 }), [0.5, 0.8, 2 / 3]);
    expectClose(k.metric_f1_score(yTrue, yPred, { threshold: 0.5, average: "macro" }), (0.5 + 0.8 + 2 / 3) / 3);
    // micro: tp 4, fp 2, fn 2
    expectClose(k.metric_f1_score(yTrue, yPred, { threshold: 0.5, average: "micro" }), 2 / 3);
    // weighted by the true counts 3, 2, 1
    expectClose(
      k.metric_f1_score(yTrue, yPred, { threshold: 0.5, average: "weighted" }),
      (3 * 0.5 + 2 * 0.8 + 2 / 3) / 6,
    );
    // beta 2 for class 0: precision 1, recall 1/3 -> 5 * (1/3) / (4 + 1/3)
    expectClose((k.metric_fbeta_score(yTrue, yPred, { threshold: 0.5, beta: 2 }) as number[])[0], 5 / 13);
    // without a threshold the best class of each row counts as predicted: 2, 1 and 2 (a tie), 1 -> tp 2,
    // fp 2, fn 4
    expectClose(k.metric_f1_score(yTrue, yPred, { average: "micro" }), (2 * 2) / (2 * 2 + 2 + 4));
  });

  it("R2: 1 - SS_res / SS_tot, aggregated, adjusted for regressors", () => {
    // y 1, 4, 3 (mean 8/3, SS_tot 42/9) against 2, 4, 4 (SS_res 2)
    const r2 = 1 - 2 / (42 / 9);
    expectClose(k.metric_r2_score([[1], [4], [3]], [[2], [4], [4]]), r2);
    const two = [
      [1, 0],
      [4, 1],
      [3, 2],
    ];
    const pred = [
      [2, 0],
      [4, 1],
      [4, 1],
    ];
    // second output: mean 1, SS_tot 2, SS_res 1 -> 0.5
    expectClose(k.metric_r2_score(two, pred, { class_aggregation: null }), [r2, 0.5]);
    expectClose(k.metric_r2_score(two, pred), (r2 + 0.5) / 2);
    expectClose(
      k.metric_r2_score(two, pred, { class_aggregation: "variance_weighted_average" }),
      ((42 / 9) * r2 + 2 * 0.5) / (42 / 9 + 2),
    );
    // adjusted with n = 6 values, p = 1 regressor: 1 - (1 - r2)(n - 1)/(n - p - 1)
    expectClose(k.metric_r2_score(two, pred, { num_regressors: 1 }), 1 - ((1 - (r2 + 0.5) / 2) * 5) / 4);
  });

  it("IoU and mean IoU from a confusion matrix of class ids", () => {
    // class 0: 1 hit, 1 missed, 1 false alarm -> 1/3; class 1 likewise
    expectClose(k.metric_iou([0, 0, 1, 1], [0, 1, 0, 1], { num_classes: 2, target_class_ids: [0] }), 1 / 3);
    expectClose(k.metric_mean_iou([0, 0, 1, 1], [0, 1, 1, 1], { num_classes: 2 }), (1 / 2 + 2 / 3) / 2);
    // ignore_class drops the entries whose true class it is (a prediction of it still counts: class 1 scores 0)
    expectClose(k.metric_mean_iou([0, 0, 1, 2], [0, 1, 1, 2], { num_classes: 3, ignore_class: 1 }), 0.5, 1e-6);
    // a class with no entries at all is left out of the mean
    expectClose(k.metric_mean_iou([0, 0], [0, 1], { num_classes: 3 }), 0.25, 1e-6);
    // one-hot / probabilities through argmax
    expectClose(
      k.metric_iou(
        [
          [1, 0],
          [0, 1],
        ],
        [
          [0.8, 0.2],
          [0.9, 0.1],
        ],
        { num_classes: 2, target_class_ids: [0, 1], sparse_y_true: false, sparse_y_pred: false },
      ),
      0.25,
      1e-6,
    );
    expect(k.metric_iou({ num_classes: 2, target_class_ids: [0] }).name).to.equal("io_u");
  });

  it("IoU's dtype: an integer one (Keras's default, written \"int64\" in its files) truncates sample weights", () => {
    // weight 1.5 on the first hit of class 0: counted 1 (1/3 as above), or 1.5: 1.5 / (2.5 + 2.5 - 1.5) = 3/7
    // (Keras 3.15.1: 0.33333 with dtype None and "int32", 0.42857 with "float32"; None is written "int64")
    const iou = (dtype: string | null) =>
      k
        .metric_iou({ num_classes: 2, target_class_ids: [0], dtype })
        .update_state([0, 0, 1, 1], [0, 1, 0, 1], { sample_weight: [1.5, 1, 1, 1] })
        .result();
    for (const dtype of [null, "int32", "int64"]) expectClose(iou(dtype), 1 / 3, 1e-6);
    expectClose(iou("float32"), 3 / 7, 1e-6);
    expect(k.metric_mean_iou({ num_classes: 2, dtype: "int64" }).config.dtype).to.equal("int64");
  });

  it("cosine similarity, log-cosh error and hinge (Keras's documented examples)", () => {
    expectClose(
      k.metric_cosine_similarity(
        [
          [0, 1],
          [1, 1],
        ],
        [
          [1, 0],
          [1, 1],
        ],
      ),
      [0, 1],
    );
    expectClose(k.metric_log_cosh_error([[0, 1]], [[1, 1]]), [Math.log(Math.cosh(1)) / 2]);
    expectClose(
      k.metric_hinge(
        [
          [0, 1],
          [0, 0],
        ],
        [
          [0.6, 0.4],
          [0.4, 0.6],
        ],
      ),
      [1.1, 1.5],
    );
    expect(k.metric_log_cosh_error().name).to.equal("logcosh");
  });

  it("update_state returns a new value; result and reset_state as Keras's metric objects", () => {
    const m0 = k.metric_mean();
    const m1 = m0.update_state([1, 3, 5, 7]);
    expect(m0.result()).to.equal(0);
    expect(m1.result()).to.equal(4);
    expect(m1.update_state([1, 3, 5, 7], { sample_weight: [1, 1, 0, 0] }).result()).to.equal(20 / 6);
    expect(
      m1
        .reset_state()
        .update_state([1, 3, 5, 7], { sample_weight: [1, 1, 0, 0] })
        .result(),
    ).to.equal(2);
    expect(m1.result()).to.equal(4);
    expect(Object.isFrozen(m1) && Object.isFrozen(m1.state)).to.equal(true);
    expect(
      k
        .metric_sum()
        .update_state([1, 3, 5, 7], { sample_weight: [1, 1, 0, 0] })
        .result(),
    ).to.equal(4);
    // stateful metrics accumulate their sums, not their results
    const tp = k
      .metric_precision_at_recall({ recall: 0.5 })
      .update_state([0, 0, 0], [0, 0.3, 0.8])
      .update_state([1, 1], [0.3, 0.8]);
    expectClose(tp.result(), 0.5);
    const f1 = k.metric_f1_score({ average: "macro", threshold: 0.5 }).update_state([[1, 0]], [[0.9, 0.2]]);
    expectClose(f1.update_state([[0, 1]], [[0.8, 0.7]]).result(), (2 / 3 + 1) / 2);
  });

  it("metrics of several values log <name>_<i> in fit(); their direction is the metric's", async () => {
    const model = pipe(
      k.keras_model_sequential({ input_shape: [2] }),
      k.layer_dense({ units: 3, activation: "softmax" }),
      k.compile({
        optimizer: "sgd",
        loss: "categorical_crossentropy",
        metrics: [k.metric_f1_score(), k.metric_true_positives({ thresholds: [0.2, 0.5] })],
      }),
    );
    const x = [
      [1, 0],
      [0, 1],
      [1, 1],
      [0, 0],
    ];
    const y = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [1, 0, 0],
    ];
    const { history } = await k.fit(model, x, y, {
      epochs: 2,
      verbose: 0,
      callbacks: [k.callback_early_stopping({ monitor: "f1_score_0", patience: 5 })],
    });
    const names = ["loss", "f1_score_0", "f1_score_1", "f1_score_2", "true_positives_0", "true_positives_1"];
    expect(Object.keys(history.metrics)).to.deep.equal(names);
    const logs = await k.evaluate(model, x, y, { verbose: 0 });
    expect(Object.keys(logs)).to.deep.equal(names);
    const f1 = k.metric_f1_score().update_state(y, await k.predict(model, x, { verbose: 0 }));
    expectClose([logs.f1_score_0, logs.f1_score_1, logs.f1_score_2], f1.result(), 1e-6);
  });

  it("custom_metric(name, fn) is a mean metric under that name", async () => {
    const maxError = k.custom_metric("max_error", (yt: Tensor, yp: Tensor) => tf.max(tf.abs(tf.sub(yp, yt)), -1));
    expect(maxError.name).to.equal("max_error");
    expectClose(
      maxError
        .update_state([[1, 2]], [[2, 4]])
        .update_state([[0, 0]], [[0, 1]])
        .result(),
      1.5,
    );
    const model = pipe(
      k.keras_model_sequential({ input_shape: [1] }),
      k.layer_dense({ units: 1, kernel_initializer: "ones", bias_initializer: "zeros" }),
      k.compile({ optimizer: "sgd", loss: "mse", metrics: [maxError] }),
    );
    const logs = await k.evaluate(model, [[1], [2]], [[1], [5]], { verbose: 0 });
    expectClose(logs.max_error, 1.5);
  });

  it("errors name the function and the argument", async () => {
    await expectKerasError(() => k.metric_f1_score({ average: "mean" as any }), /metric_f1_score\(\)/, /average/);
    await expectKerasError(() => k.metric_fbeta_score({ beta: 0 }), /metric_fbeta_score\(\)/, /beta/);
    await expectKerasError(
      () => k.metric_precision_at_recall({}),
      /metric_precision_at_recall\(\)/,
      /`recall` is required/,
    );
    await expectKerasError(() => k.metric_recall_at_precision({ precision: 2 }), /precision/, /\[0, 1\]/);
    await expectKerasError(() => k.metric_iou({ num_classes: 2 } as any), /metric_iou\(\)/, /target_class_ids/);
    await expectKerasError(
      () => k.metric_iou({ num_classes: 2, target_class_ids: [2] }),
      /`target_class_ids` holds 2, out of range/,
    );
    await expectKerasError(() => k.metric_true_positives({ thresholds: [0.5, 2] }), /thresholds/);
    await expectKerasError(() => k.metric_r2_score({ class_aggregation: "mean" as any }), /class_aggregation/);
    await expectKerasError(() => k.metric_f1_score().result(), /result\(\)/, /update_state\(\) first/);
    await expectKerasError(() => k.metric_f1_score([1, 0], [0.5, 0.2]), /2-D data/);
    await expectKerasError(
      () =>
        k
          .metric_f1_score()
          .update_state([[1, 0]], [[1, 0]])
          .update_state([[1, 0, 0]], [[1, 0, 0]]),
      /update_state\(\)/,
      /reset_state/,
    );
    await expectKerasError(
      () =>
        k.compile(k.keras_model_sequential({ input_shape: [1], layers: [k.layer_dense({ units: 1 })] }), {
          loss: "mse",
          metrics: [k.metric_mean()],
        }),
      /compile\(\)/,
      /custom_metric/,
    );
    const dense = k.keras_model_sequential({ input_shape: [1], layers: [k.layer_dense({ units: 1 })] });
    await expectKerasError(
      () => k.compile(dense, { loss: "mse", metrics: ["iou"] }),
      /metric_iou\(\) with its arguments/,
    );
    await expectKerasError(() => k.custom_metric("m", 3 as any), /custom_metric\(\)/, /a function/);
    await expectKerasError(
      () => k.metric_mean().update_state([1], { weights: [1] } as any),
      /unknown argument `weights`/,
    );
  });
});
