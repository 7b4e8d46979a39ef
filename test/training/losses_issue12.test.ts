/**
 * The focal, dice and tversky losses without Keras (values worked out by hand and Keras's documented
 * examples), a batch-level loss under sample weights in fit(), and every new loss, metric, optimizer
 * and schedule through a .keras file written and read here; save_model_tfjs() refuses them by name.
 */
import { join } from "node:path";
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import * as k from "../../src/index.js";
import { isTrainingSetup } from "../../src/engine/training/setup.js";
import { expectClose, expectKerasError } from "./helpers.js";
import { temporaryFolders } from "../helpers/temporary_folders.js";

describe("training: focal, dice and tversky losses (hand-derived values)", () => {
  before(async () => {
    await k.use_backend("wasm");
  });

  it("binary focal crossentropy: bce * (1 - p_t)^gamma, class balancing by alpha", () => {
    const yTrue = [
      [0, 1],
      [0, 0],
    ];
    const yPred = [
      [0.6, 0.4],
      [0.4, 0.6],
    ];
    // Keras's documented example: [0.330, 0.206]
    const bce = (y: number, p: number) => -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
    const focal = (y: number, p: number, gamma: number) => bce(y, p) * (1 - (y * p + (1 - y) * (1 - p))) ** gamma;
    const expected = yTrue.map((row, i) => (focal(row[0], yPred[i][0], 2) + focal(row[1], yPred[i][1], 2)) / 2);
    expectClose(k.loss_binary_focal_crossentropy(yTrue, yPred, { gamma: 2 }), expected);
    expectClose(expected, [0.33, 0.206], 2e-3);
    // balancing: class 1 weighs alpha, class 0 1 - alpha
    const balanced = yTrue.map(
      (row, i) =>
        (row.map((y, j) => (y ? 0.25 : 0.75) * focal(y, yPred[i][j], 2)) as number[]).reduce((a, b) => a + b) / 2,
    );
    expectClose(k.loss_binary_focal_crossentropy(yTrue, yPred, { apply_class_balancing: true }), balanced);
    // from logits: the same as the probabilities' sigmoid
    const logits = yPred.map((row) => row.map((p) => Math.log(p / (1 - p))));
    expectClose(k.loss_binary_focal_crossentropy(yTrue, logits, { from_logits: true }), expected);
  });

  it("categorical focal crossentropy: sum(alpha (1 - p)^gamma * -y log p) (Keras's example)", () => {
    const values = k.loss_categorical_focal_crossentropy(
      [
        [0, 1, 0],
        [0, 0, 1],
      ],
      [
        [0.05, 0.9, 0.05],
        [0.1, 0.85, 0.05],
      ],
    );
    expectClose(values, [0.25 * 0.1 ** 2 * -Math.log(0.9), 0.25 * 0.95 ** 2 * -Math.log(0.05)]);
    expectClose(values, [2.63401289e-4, 6.75912094e-1], 1e-4);
    // one alpha per class
    expectClose(k.loss_categorical_focal_crossentropy([[0, 1]], [[0.2, 0.8]], { alpha: [0.1, 0.6], gamma: 1 }), [
      0.6 * 0.2 * -Math.log(0.8),
    ]);
  });

  it("dice and tversky over the whole batch or per sample", () => {
    const yTrue = [
      [1, 1, 0, 0],
      [1, 0, 0, 0],
    ];
    const yPred = [
      [0, 1, 0, 1],
      [1, 0, 0, 0],
    ];
    // batch: intersection 2, sums 3 + 3
    expectClose(k.loss_dice(yTrue, yPred), 1 - 4 / 6);
    expectClose(k.loss_dice(yTrue, yPred, { axis: 1 }), [0.5, 0]);
    // "fp" = sum((1 - p) y) = 1, "fn" = sum(p (1 - y)) = 1 (Keras's names), tp 2
    expectClose(k.loss_tversky(yTrue, yPred, { alpha: 0.7, beta: 0.3 }), 1 - 2 / (2 + 0.7 + 0.3));
    expectClose(k.loss_tversky(yTrue, yPred, { alpha: 0.9, beta: 0.1, axis: [1] }), [1 - 1 / 2, 0]);
    expect(k.loss_tversky().config).to.include({ alpha: 0.5, beta: 0.5, axis: null });
  });

  it("a loss of the whole batch (dice) under sample weights: times their mean, as Keras reduces it", async () => {
    const model = pipe(
      k.keras_model_sequential({ input_shape: [2] }),
      k.layer_dense({ units: 2, activation: "sigmoid", kernel_initializer: "ones", bias_initializer: "zeros" }),
      k.compile({ optimizer: "sgd", loss: k.loss_dice() }),
    );
    const x = [
      [0.5, -1],
      [1, 2],
    ];
    const y = [
      [1, 0],
      [0, 1],
    ];
    const dice = k.loss_dice(y, await k.predict(model, x, { verbose: 0 })) as number;
    const logs = await k.test_on_batch(model, x, y, { sample_weight: [1, 3] });
    expectClose(logs.loss, dice * 2, 1e-6);
  });

  it("errors name the function and the argument", async () => {
    await expectKerasError(
      () => k.loss_binary_focal_crossentropy({ alpha: 2 }),
      /loss_binary_focal_crossentropy/,
      /alpha/,
    );
    await expectKerasError(() => k.loss_categorical_focal_crossentropy({ alpha: [0.1, -1] }), /alpha/);
    await expectKerasError(() => k.loss_dice({ axis: 1.5 }), /loss_dice\(\)/, /axis/);
    await expectKerasError(() => k.loss_tversky({ gamma: 1 } as any), /unknown argument `gamma`/);
  });
});

describe("compile settings of issue 12 in files", function () {
  const tmp = temporaryFolders("tskeras-issue12-");
  this.timeout(60_000);
  before(async () => {
    await k.use_backend("wasm");
  });

  const compiled = () =>
    pipe(
      k.keras_model_sequential({ input_shape: [4] }),
      k.layer_dense({ units: 3, activation: "softmax" }),
      k.compile({
        optimizer: k.optimizer_adafactor({
          learning_rate: k.learning_rate_schedule_cosine_decay_restarts({
            initial_learning_rate: 1,
            first_decay_steps: 2,
          }),
        }),
        loss: k.loss_categorical_focal_crossentropy({ alpha: [0.2, 0.3, 0.5] }),
        metrics: [
          k.metric_f1_score({ average: "micro" }),
          k.metric_fbeta_score({ beta: 2 }),
          k.metric_iou({ num_classes: 3, target_class_ids: [1], sparse_y_true: false, sparse_y_pred: false }),
          k.metric_r2_score({ class_aggregation: null }),
          k.metric_precision_at_recall({ recall: 0.4 }),
          k.metric_log_cosh_error(),
        ],
      }),
    );

  it("a .keras file keeps the optimizer, schedule, loss and metrics; training resumes exactly", async () => {
    const x = Array.from({ length: 6 }, (_, i) => [0, 1, 2, 3].map((j) => Math.sin(i + j)));
    const y = Array.from({ length: 6 }, (_, i) => [0, 1, 2].map((j) => (j === i % 3 ? 1 : 0)));
    const fitArgs = { epochs: 1, batch_size: 3, shuffle: false, verbose: 0 as const };
    const base = compiled();
    const once = (await k.fit(base, x, y, fitArgs)).model;
    const twice = await k.fit(base, x, y, { ...fitArgs, epochs: 2 });
    const file = join(tmp(), "m.keras");
    await k.save_model(once, file);
    const back = await k.load_model(file);
    const setup = back.compiled;
    if (!isTrainingSetup(setup)) throw new Error("not compiled");
    expect(setup.optimizer.class_name).to.equal("Adafactor");
    expect((setup.optimizer.config.learning_rate as any).class_name).to.equal("CosineDecayRestarts");
    expect(setup.losses[0]?.config.alpha).to.deep.equal([0.2, 0.3, 0.5]);
    expect(setup.metrics[0].map((m) => m.class_name)).to.deep.equal([
      "F1Score",
      "FBetaScore",
      "IoU",
      "R2Score",
      "PrecisionAtRecall",
      "LogCoshError",
    ]);
    expect(setup.metrics[0][3].config.class_aggregation).to.equal(null);
    const resumed = await k.fit(back, x, y, fitArgs);
    expect(k.get_weights(resumed.model)).to.deep.equal(k.get_weights(twice.model));
    for (const name of Object.keys(twice.history.metrics))
      expect(resumed.history.metrics[name][0], name).to.equal(twice.history.metrics[name][1]);
  });

  it("save_model_tfjs() refuses what tfjs-layers cannot compile, naming each", async () => {
    const dir = join(tmp(), "tfjs");
    const err = await k.save_model_tfjs(compiled(), dir).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(k.KerasError);
    expect((err as Error).message)
      .to.match(/the optimizer Adafactor/)
      .and.match(/a learning-rate schedule/)
      .and.match(/the loss "categorical_focal_crossentropy"/)
      .and.match(/the metric "f1_score"/)
      .and.match(/the metric "io_u"/)
      .and.match(/include_optimizer = FALSE/);
    const ctc = pipe(
      k.keras_model_sequential({ input_shape: [5, 2] }),
      k.layer_dense({ units: 3 }),
      k.compile({ optimizer: k.optimizer_lion(), loss: k.loss_ctc() }),
    );
    const message = String(await k.save_model_tfjs(ctc, dir).catch((e: unknown) => e));
    expect(message)
      .to.match(/the optimizer Lion/)
      .and.match(/the loss "ctc"/);
    await k.save_model_tfjs(ctc, dir, { include_optimizer: false });
  });
});
