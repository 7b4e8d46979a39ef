import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  use_backend,
  keras_model_sequential,
  layer_dense,
  compile,
  fit,
  evaluate,
  predict,
  get_weights,
  optimizer_sgd,
  callback_early_stopping,
  callback_reduce_lr_on_plateau,
  callback_learning_rate_scheduler,
  callback_terminate_on_nan,
  callback_csv_logger,
  callback_lambda,
} from "../../src/index.js";
import type { Model } from "../../src/model/model.js";
import { expectKerasError } from "./helpers.js";
import { temporaryFolders } from "../helpers/temporary_folders.js";

function identityModel(lr = 0.1): Model {
  return compile(layer_dense(keras_model_sequential({ input_shape: [1] }), { units: 1, weights: [[[1]], [0]] }), {
    optimizer: optimizer_sgd({ learning_rate: lr }),
    loss: "mse",
  });
}
const X = [[1], [2]];
const Y = [[0], [0]];

describe("training: callbacks", function () {
  const tmp = temporaryFolders("tskeras-csv-");
  this.timeout(60000);
  before(async () => {
    await use_backend("wasm");
  });

  it("fire in Keras order (train, epochs, batches, validation, end)", async () => {
    const events: string[] = [];
    const recorder = {
      on_train_begin: () => events.push("train_begin"),
      on_epoch_begin: (e: number) => events.push(`epoch_begin ${e}`),
      on_train_batch_begin: (b: number) => events.push(`batch_begin ${b}`),
      on_train_batch_end: (b: number, logs: any) => events.push(`batch_end ${b} ${"loss" in logs}`),
      on_test_begin: () => events.push("test_begin"),
      on_test_batch_begin: (b: number) => events.push(`test_batch_begin ${b}`),
      on_test_batch_end: (b: number) => events.push(`test_batch_end ${b}`),
      on_test_end: () => events.push("test_end"),
      on_epoch_end: (e: number, logs: any) => events.push(`epoch_end ${e} ${Object.keys(logs).join(",")}`),
      on_train_end: () => events.push("train_end"),
    };
    await fit(identityModel(), X, Y, {
      epochs: 2,
      batch_size: 1,
      shuffle: false,
      validation_data: [X, Y],
      validation_batch_size: 2,
      callbacks: [recorder],
      verbose: 0,
    });
    const epoch = (e: number) => [
      `epoch_begin ${e}`,
      "batch_begin 0",
      "batch_end 0 true",
      "batch_begin 1",
      "batch_end 1 true",
      "test_begin",
      "test_batch_begin 0",
      "test_batch_end 0",
      "test_end",
      `epoch_end ${e} loss,val_loss`,
    ];
    expect(events).to.deep.equal(["train_begin", ...epoch(0), ...epoch(1), "train_end"]);
  });

  it("predict and evaluate fire their own hooks; on_batch_* alias training batches", async () => {
    const events: string[] = [];
    const cb = callback_lambda({
      on_predict_begin: () => events.push("predict_begin"),
      on_predict_batch_end: (b: number) => events.push(`predict_batch_end ${b}`),
      on_predict_end: () => events.push("predict_end"),
      on_test_end: (logs: any) => events.push(`test_end ${logs.loss}`),
      on_batch_end: (b: number) => events.push(`batch_end ${b}`),
    });
    await predict(identityModel(), X, { batch_size: 1, callbacks: [cb], verbose: 0 });
    await evaluate(identityModel(), X, Y, { callbacks: [cb], verbose: 0 });
    await fit(identityModel(), X, Y, { batch_size: 2, callbacks: [cb], verbose: 0 });
    expect(events).to.deep.equal([
      "predict_begin",
      "predict_batch_end 0",
      "predict_batch_end 1",
      "predict_end",
      "test_end 2.5",
      "batch_end 0",
    ]);
  });

  it("early stopping stops on patience and restores the best weights", async () => {
    // one batch per epoch; the scheduler uses lr 0.1 in epoch 0 (improves), then 10 (diverges).
    // val_loss is measured after each epoch's update, so the best epoch is 0 and its weights are restored.
    const stop = callback_early_stopping({ monitor: "val_loss", patience: 1, restore_best_weights: true });
    const sched = callback_learning_rate_scheduler((epoch) => (epoch === 0 ? 0.1 : 10));
    const { model, history } = await fit(identityModel(), X, Y, {
      epochs: 10,
      batch_size: 2,
      validation_data: [X, Y],
      callbacks: [sched, stop],
      verbose: 0,
    });
    // epoch 0: val improves; epoch 1: worse, wait = 1 >= patience -> stop after 2 epochs
    expect(history.metrics.val_loss).to.have.length(2);
    expect(history.metrics.val_loss[1]).to.be.above(history.metrics.val_loss[0]);
    expect(history.metrics.learning_rate).to.deep.equal([0.1, 10]);
    // w after one SGD step from w = 1, b = 0 (gradients 5 and 3, lr 0.1): w = 0.5, b = -0.3
    const w = get_weights(model) as number[][][];
    expect(w[0][0][0]).to.be.closeTo(0.5, 1e-6);
    expect((w[1] as unknown as number[])[0]).to.be.closeTo(-0.3, 1e-6);
    expect((await evaluate(model, X, Y, { verbose: 0 })).loss).to.be.closeTo(history.metrics.val_loss[0], 1e-6);
  });

  it("early stopping: start_from_epoch, baseline and mode", async () => {
    const flat = identityModel(0); // lr 0: the loss never improves
    const a = await fit(flat, X, Y, {
      epochs: 6,
      callbacks: [callback_early_stopping({ monitor: "loss", patience: 0, start_from_epoch: 3 })],
      verbose: 0,
    });
    expect(a.history.metrics.loss).to.have.length(5); // epochs 3 (first seen) and 4 (no improvement -> stop)
    const b = await fit(flat, X, Y, {
      epochs: 6,
      callbacks: [callback_early_stopping({ monitor: "loss", patience: 2, baseline: 1 })],
      verbose: 0,
    });
    // 2.5 never beats the baseline 1, so epoch 0 does not reset the wait: wait = 2 >= patience at epoch 1
    expect(b.history.metrics.loss).to.have.length(2);
    await expectKerasError(
      () => fit(flat, X, Y, { callbacks: [callback_early_stopping({ monitor: "something" })], verbose: 0 }),
      /something/,
      /mode/,
    );
  });

  it("reduce_lr_on_plateau lowers the rate after `patience` flat epochs", async () => {
    const cb2 = callback_reduce_lr_on_plateau({ monitor: "loss", patience: 1, factor: 0.5, min_delta: 10 });
    const h2 = (await fit(identityModel(0.01), X, Y, { epochs: 3, callbacks: [cb2], verbose: 0 })).history;
    // improvements smaller than min_delta = 10 count as none. Epoch 0 sets the best; epochs 1 and 2 each
    // exhaust patience 1 and halve the rate. The logged rate is the one the epoch ran with (logged before reducing).
    expect(h2.metrics.learning_rate).to.deep.equal([0.01, 0.01, 0.005]);
    const h3 = (await fit(identityModel(0.01), X, Y, { epochs: 4, callbacks: [cb2], verbose: 0 })).history;
    expect(h3.metrics.learning_rate[3]).to.be.closeTo(0.0025, 1e-12);
  });

  it("terminate_on_nan stops at the first non-finite loss", async () => {
    const { history } = await fit(identityModel(), [[1], [NaN]], Y, {
      epochs: 3,
      batch_size: 1,
      shuffle: false,
      callbacks: [callback_terminate_on_nan()],
      verbose: 0,
    });
    expect(history.metrics.loss).to.have.length(1);
    expect(Number.isNaN(history.metrics.loss[0])).to.equal(true);
  });

  it("csv_logger writes one row per epoch atomically, and appends", async () => {
    const dir = tmp();
    const file = join(dir, "log.csv");
    await fit(identityModel(0), X, Y, {
      epochs: 2,
      validation_data: [X, Y],
      callbacks: [callback_csv_logger(file)],
      verbose: 0,
    });
    expect(readFileSync(file, "utf8")).to.equal("epoch,loss,val_loss\n0,2.5,2.5\n1,2.5,2.5\n");
    await fit(identityModel(0), X, Y, {
      epochs: 1,
      validation_data: [X, Y],
      callbacks: [callback_csv_logger(file, { append: true, separator: "," })],
      verbose: 0,
    });
    expect(readFileSync(file, "utf8").trim().split("\n")).to.have.length(4);
    expect(readdirSync(dir)).to.deep.equal(["log.csv"]); // no temporary files left
  });

  it("user callbacks may be async; unknown hook names are errors", async () => {
    const seen: number[] = [];
    await fit(identityModel(), X, Y, {
      epochs: 2,
      callbacks: [
        { on_epoch_end: async (e: number) => void (await new Promise((r) => setTimeout(r, 1)), seen.push(e)) },
      ],
      verbose: 0,
    });
    expect(seen).to.deep.equal([0, 1]);
    await expectKerasError(
      () => fit(identityModel(), X, Y, { callbacks: [{ on_epoch_ends: () => 1 }], verbose: 0 }),
      /on_epoch_ends/,
      /on_epoch_end/,
    );
    await expectKerasError(() => callback_lambda({ on_epoch_end: 3 as any }), /callback_lambda\(\)/, /function/);
    await expectKerasError(() => callback_reduce_lr_on_plateau({ factor: 2 }), /factor/);
  });
});
