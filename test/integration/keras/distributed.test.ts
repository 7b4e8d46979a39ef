/**
 * The hand-off to Keras for distributed training (vignettes/moving-models-to-and-from-keras.md), whole:
 * a model built and tried here → save_model() → examples/keras_distributed_train.py trains it with
 * Keras under tf.distribute.MirroredStrategy on two logical CPU devices → load_model() here predicts
 * what Keras predicts with it, and fine-tuning it here continues Keras's training (optimizer state and
 * iteration count carried over).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pipe } from "fp-ts/lib/function.js";
import * as k from "../../../src/index.js";
import { use_backend } from "../../../src/backend/index.js";
import { isTrainingSetup } from "../../../src/engine/training/setup.js";
import { KERAS_PYTHON, kerasEnv, requireKeras } from "../../helpers/keras.js";
import { expectClose } from "../../training/helpers.js";
import { temporaryFolders } from "../../helpers/temporary_folders.js";

const root = resolve(import.meta.dirname, "../../..");

describe("scaling out on Keras: train under a distribution strategy, come back", function () {
  const tmp = temporaryFolders();
  this.timeout(600_000);

  it("a model saved here trains in Keras on 2 replicas; loaded back it predicts Keras's numbers and fine-tunes", async function () {
    requireKeras(this);
    await use_backend("wasm");
    const dir = tmp("tskeras-distributed-");
    k.set_random_seed(3);
    const x = Array.from({ length: 64 }, (_, i) =>
      Array.from({ length: 6 }, (_, t) => [Math.sin(i + t), Math.cos(i - t)]),
    );
    const y = x.map((s) => [s.reduce((a, v) => a + v[0] * v[1], 0) / 6]);
    const model = pipe(
      k.keras_model_sequential({ input_shape: [6, 2] }),
      k.layer_gru({ units: 8 }),
      k.layer_dense({ units: 1 }),
      k.compile({ optimizer: k.optimizer_adam({ learning_rate: 0.01 }), loss: "mse", metrics: ["mae"] }),
    );
    // tried here first
    const tried = await k.fit(model, x, y, { epochs: 1, batch_size: 16, verbose: 0 });
    await k.save_model(tried.model, join(dir, "model.keras"));
    writeFileSync(join(dir, "data.json"), JSON.stringify({ x, y }));
    const r = spawnSync(
      KERAS_PYTHON,
      [
        join(root, "examples/keras_distributed_train.py"),
        join(dir, "model.keras"),
        join(dir, "data.json"),
        join(dir, "trained.keras"),
        ...["--epochs", "3", "--batch-size", "16", "--devices", "2", "--report", join(dir, "report.json")],
      ],
      { encoding: "utf8", env: kerasEnv(), timeout: 300_000 },
    );
    if (r.status !== 0) throw new Error(`the example failed (${r.status}):\n${r.stderr}`);
    const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
    expect(report.replicas).to.equal(2);
    expect(report.history.loss).to.have.length(3);
    expect(r.stdout).to.include("training on 2 replicas (tensorflow)");

    const trained = await k.load_model(join(dir, "trained.keras"));
    expect(k.get_weights(trained)).to.not.deep.equal(k.get_weights(tried.model));
    const predictions = await k.predict(trained, x, { verbose: 0 });
    expectClose(predictions, report.predictions, 1e-5, "predictions");
    // 4 steps per epoch: 4 here, then 12 in Keras
    const setup = trained.compiled;
    expect(isTrainingSetup(setup) && setup.optimizerState?.iterations).to.equal(16);
    expect(report.iterations).to.equal(16);
    // fine-tuning here continues from there
    const tuned = await k.fit(trained, x, y, { epochs: 2, batch_size: 16, verbose: 0 });
    const after = tuned.model.compiled;
    expect(isTrainingSetup(after) && after.optimizerState?.iterations).to.equal(24);
    const losses = tuned.history.metrics.loss;
    expect(losses.every(Number.isFinite)).to.equal(true);
    expect(losses[1]).to.be.lessThan(report.history.loss[0]);
  });
});
