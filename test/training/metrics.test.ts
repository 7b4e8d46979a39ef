import { expect } from "chai";
import { use_backend } from "../../src/index.js";
import {
  metric_mean_squared_error,
  metric_mean_absolute_error,
  metric_mean_absolute_percentage_error,
  metric_root_mean_squared_error,
  metric_binary_accuracy,
  metric_categorical_accuracy,
  metric_sparse_categorical_accuracy,
  metric_top_k_categorical_accuracy,
  metric_sparse_top_k_categorical_accuracy,
  metric_auc,
  metric_precision,
  metric_recall,
  metric_binary_crossentropy,
  metric_categorical_crossentropy,
  metric_sparse_categorical_crossentropy,
  loss_binary_crossentropy,
} from "../../src/api/training.js";
import { resolveAutoMetric, resolveMetric } from "../../src/ops/metrics.js";
import { resolveLoss } from "../../src/ops/losses.js";
import { expectClose, expectKerasError } from "./helpers.js";

describe("training: metrics (hand-derived values)", () => {
  before(async () => {
    await use_backend("wasm");
  });

  it("mean metrics compute per-sample values like the losses", () => {
    expectClose(
      metric_mean_squared_error(
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
      metric_mean_absolute_error(
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
    expectClose(metric_mean_absolute_percentage_error([[2, 4]], [[1, 5]]), [37.5]);
    expectClose(metric_binary_crossentropy([[1, 0]], [[0.8, 0.4]]), [0.36698459]);
    expectClose(metric_categorical_crossentropy([[0, 1, 0]], [[0.2, 0.7, 0.1]]), [-Math.log(0.7)]);
    expectClose(metric_sparse_categorical_crossentropy([1], [[0.2, 0.7, 0.1]]), [-Math.log(0.7)]);
  });

  it("root mean squared error over all samples: sqrt((3^2 + 4^2) / 2)", () => {
    expectClose(metric_root_mean_squared_error([[0], [0]], [[3], [4]]), Math.sqrt(12.5));
  });

  it("accuracies: binary (threshold 0.5), categorical, sparse, top-k", () => {
    // 0.7 > 0.5 matches 1; 0.6 -> 1 vs 0; 0.4 -> 0 vs 1; 0.1 -> 0 matches 0
    expectClose(metric_binary_accuracy([[1], [0], [1], [0]], [[0.7], [0.6], [0.4], [0.1]]), [1, 0, 0, 1]);
    expectClose(metric_binary_accuracy([[1]], [[0.7]], { threshold: 0.8 }), [0]);
    expectClose(
      metric_categorical_accuracy(
        [
          [0, 1],
          [1, 0],
        ],
        [
          [0.2, 0.8],
          [0.3, 0.7],
        ],
      ),
      [1, 0],
    );
    expectClose(
      metric_sparse_categorical_accuracy(
        [[1], [0]],
        [
          [0.2, 0.8],
          [0.3, 0.7],
        ],
      ),
      [1, 0],
    );
    // class 2 scores 0.2; two classes score higher: in the top 3, not in the top 2
    expectClose(metric_top_k_categorical_accuracy([[0, 0, 1]], [[0.5, 0.3, 0.2]], { k: 2 }), [0]);
    expectClose(metric_top_k_categorical_accuracy([[0, 0, 1]], [[0.5, 0.3, 0.2]], { k: 3 }), [1]);
    expectClose(metric_sparse_top_k_categorical_accuracy([1], [[0.5, 0.3, 0.2]], { k: 2 }), [1]);
  });

  it("auc (ROC, 200 thresholds) on the classic example is 0.75", () => {
    // positives score 0.35 and 0.8, negatives 0.1 and 0.4: 3 of the 4 positive/negative pairs are ordered right
    expectClose(metric_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75, 1e-6);
    expectClose(metric_auc([0, 1], [0.2, 0.9]), 1, 1e-6);
  });

  it("precision and recall at threshold 0.5", () => {
    // predicted positive: 0.7 (true), 0.6 (false), 0.9 (false) -> precision 1/3; positives 0.7 found, 0.4 missed -> recall 1/2
    expectClose(metric_precision([1, 1, 0, 0], [0.7, 0.4, 0.6, 0.9]), 1 / 3);
    expectClose(metric_recall([1, 1, 0, 0], [0.7, 0.4, 0.6, 0.9]), 1 / 2);
    expectClose(metric_precision([0, 0], [0.1, 0.2]), 0); // no predicted positives: 0, not NaN
  });

  it('"accuracy" and "crossentropy" resolve like Keras from the loss and shapes', () => {
    const acc = resolveMetric("compile", "accuracy");
    expect(resolveAutoMetric(acc, [8, 1], [8, 1], null).class_name).to.equal("BinaryAccuracy");
    expect(resolveAutoMetric(acc, [8], [8, 3], null).class_name).to.equal("SparseCategoricalAccuracy");
    expect(resolveAutoMetric(acc, [8, 1], [8, 3], null).class_name).to.equal("SparseCategoricalAccuracy");
    expect(resolveAutoMetric(acc, [8, 3], [8, 3], null).class_name).to.equal("CategoricalAccuracy");
    expect(resolveAutoMetric(acc, [8, 3], [8, 3], resolveLoss("compile", "binary_crossentropy")).class_name).to.equal(
      "BinaryAccuracy",
    );
    const ce = resolveAutoMetric(
      resolveMetric("compile", "crossentropy"),
      [8, 3],
      [8, 3],
      resolveLoss("compile", "sparse_categorical_crossentropy"),
    );
    expect(ce.class_name).to.equal("SparseCategoricalCrossentropy");
    expect(resolveAutoMetric(acc, [8, 1], [8, 1], null).name).to.equal("accuracy");
  });

  it("metric values for compile, names, and errors", async () => {
    expect(metric_auc().name).to.equal("auc");
    expect(metric_mean_absolute_error({ name: "my_mae" }).name).to.equal("my_mae");
    expect(resolveMetric("compile", "mae").name).to.equal("mae");
    expect(resolveMetric("compile", loss_binary_crossentropy()).class_name).to.equal("BinaryCrossentropy");
    await expectKerasError(() => resolveMetric("compile", "accurasy"), /compile\(\)/, /accurasy/, /not known/);
    await expectKerasError(() => metric_auc({ num_thresholds: 1 }), /metric_auc\(\)/, /num_thresholds/);
  });
});
