/**
 * callback_model_checkpoint and callback_backup_and_restore in-process: files named from Python-style
 * placeholders, the snapshot a checkpoint holds (weights and optimizer state of that moment, training
 * undisturbed), save_best_only / mode / initial_value_threshold with Keras's messages, save_freq in
 * batches, the formats by extension, the backup resumed after an interrupted fit (mid-epoch too) giving
 * the uninterrupted run's weights, and argument errors. The process-kill test is
 * test/integration/backup_restore.test.ts.
 */
import { expect } from "chai";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pipe } from "fp-ts/lib/function.js";
import * as k from "../../src/index.js";
import { use_backend } from "../../src/backend/index.js";
import type { Model } from "../../src/model/model.js";
import { isTrainingSetup } from "../../src/engine/training/setup.js";
import { expectKerasError } from "./helpers.js";
import { withPatternWeights } from "../core/helpers.js";
import { temporaryFolders } from "../helpers/temporary_folders.js";

const x = Array.from({ length: 12 }, (_, i) =>
  Array.from({ length: 4 }, (_, t) => [i, t, i - t].map((v) => Math.sin(v))),
);
const y = x.map((_, i) => [Math.cos(i)]);

const build = (): Model =>
  withPatternWeights(
    pipe(
      k.keras_model_sequential({ input_shape: [4, 3] }),
      k.layer_gru({ units: 3 }),
      k.layer_dropout({ rate: 0.3 }),
      k.layer_dense({ units: 1 }),
      k.compile({ optimizer: k.optimizer_adam({ learning_rate: 0.01 }), loss: "mse", metrics: ["mae"] }),
    ),
  );

/** Runs `f` with stdout captured. */
async function captured<T>(f: () => Promise<T>): Promise<{ value: T; text: string }> {
  const write = process.stdout.write;
  let text = "";
  process.stdout.write = ((s: string) => ((text += s), true)) as typeof process.stdout.write;
  try {
    return { value: await f(), text };
  } finally {
    process.stdout.write = write;
  }
}

describe("callback_model_checkpoint / callback_backup_and_restore", function () {
  const tmp = temporaryFolders();
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    await use_backend("wasm");
  });
  beforeEach(() => {
    dir = tmp("tskeras-ckpt-");
  });

  it("names files from Python-style placeholders (epoch 1-based, any log), one per epoch", async () => {
    const path = join(dir, "ckpt-{epoch:02d}-{val_loss:.4f}.keras");
    const { history } = await k.fit(build(), x, y, {
      epochs: 3,
      batch_size: 4,
      validation_split: 0.25,
      verbose: 0,
      callbacks: [k.callback_model_checkpoint(path)],
    });
    const want = history.metrics.val_loss.map((v, i) => `ckpt-0${i + 1}-${v.toFixed(4)}.keras`);
    expect(readdirSync(dir).sort()).to.deep.equal(want.sort());
  });

  it("a checkpoint holds that moment's weights and optimizer state; training goes on undisturbed", async () => {
    k.set_random_seed(4);
    const withCheckpoints = await k.fit(build(), x, y, {
      epochs: 3,
      batch_size: 4,
      verbose: 0,
      callbacks: [
        k.callback_model_checkpoint(join(dir, "e{epoch}.keras")),
        k.callback_model_checkpoint(join(dir, "e{epoch}.h5")),
      ],
    });
    k.set_random_seed(4);
    const plain = await k.fit(build(), x, y, { epochs: 3, batch_size: 4, verbose: 0 });
    expect(k.get_weights(withCheckpoints.model)).to.deep.equal(k.get_weights(plain.model));
    k.set_random_seed(4);
    const once = (await k.fit(build(), x, y, { epochs: 1, batch_size: 4, verbose: 0 })).model;
    for (const file of ["e1.keras", "e1.h5"]) {
      const saved = await k.load_model(join(dir, file));
      expect(k.get_weights(saved), file).to.deep.equal(k.get_weights(once));
      const setup = saved.compiled;
      expect(isTrainingSetup(setup) && setup.optimizerState?.iterations, file).to.equal(3);
    }
    const last = await k.load_model(join(dir, "e3.keras"));
    expect(k.get_weights(last)).to.deep.equal(k.get_weights(plain.model));
  });

  it("save_best_only with mode and initial_value_threshold, and Keras's messages at verbose 1", async () => {
    const model = build();
    const path = join(dir, "best.keras");
    /** Keras's lines for these losses with `up` (mode "max") or not. */
    const keras = (losses: readonly number[], up: boolean) => {
      let best: number | null = null;
      return losses.flatMap((v, e) => {
        const bestText = best === null ? "None" : best.toFixed(5);
        if (best === null || (up ? v > best : v < best)) {
          best = v;
          return [
            `Epoch ${e + 1}: loss improved from ${bestText} to ${v.toFixed(5)}, saving model to ${path}`,
            `Epoch ${e + 1}: finished saving model to ${path}`,
          ];
        }
        return [`Epoch ${e + 1}: loss did not improve from ${bestText}`];
      });
    };
    const messages: string[] = [];
    for (const mode of ["auto", "max"] as const) {
      const { value, text } = await captured(() =>
        k.fit(model, x, y, {
          epochs: 3,
          batch_size: 4,
          shuffle: false,
          verbose: 0,
          callbacks: [k.callback_model_checkpoint(path, { monitor: "loss", save_best_only: true, mode, verbose: 1 })],
        }),
      );
      const lines = text.split("\n").filter((l) => l);
      expect(lines, mode).to.deep.equal(keras(value.history.metrics.loss, mode === "max"));
      messages.push(...lines);
    }
    expect(messages.some((l) => l.includes("did not improve"))).to.equal(true);
    expect(messages.some((l) => l.includes("improved from None"))).to.equal(true);
    // a threshold nothing beats: no file
    const never = join(dir, "never.keras");
    await k.fit(model, x, y, {
      epochs: 2,
      batch_size: 4,
      verbose: 0,
      callbacks: [
        k.callback_model_checkpoint(never, { monitor: "loss", save_best_only: true, initial_value_threshold: 1e-9 }),
      ],
    });
    expect(existsSync(never)).to.equal(false);
  });

  it("save_freq in batches (counted across epochs, {batch} 1-based); weights only; files are replaced", async () => {
    await k.fit(build(), x, y, {
      epochs: 2,
      batch_size: 4,
      verbose: 0,
      callbacks: [
        k.callback_model_checkpoint(join(dir, "b-{epoch}-{batch}.weights.h5"), {
          save_freq: 2,
          save_weights_only: true,
        }),
        k.callback_model_checkpoint(join(dir, "latest.keras")),
      ],
    });
    // 3 batches per epoch: batches 2 (epoch 1), then 1 and 3 (epoch 2)
    expect(readdirSync(dir).sort()).to.deep.equal([
      "b-1-2.weights.h5",
      "b-2-1.weights.h5",
      "b-2-3.weights.h5",
      "latest.keras",
    ]);
    const w = await k.load_model_weights(build(), join(dir, "b-2-3.weights.h5"));
    const latest = await k.load_model(join(dir, "latest.keras"));
    expect(k.get_weights(w)).to.deep.equal(k.get_weights(latest));
  });

  it("errors: extensions as Keras requires, unknown placeholders, bad arguments", async () => {
    await expectKerasError(
      () => k.callback_model_checkpoint(join(dir, "m.tf")),
      /^callback_model_checkpoint\(\): The filepath provided must end in `\.keras`/,
    );
    await expectKerasError(
      () => k.callback_model_checkpoint(join(dir, "m.keras"), { save_weights_only: true }),
      /must end in `\.weights\.h5`/,
    );
    await expectKerasError(
      () => k.callback_model_checkpoint(3 as any, { save_freq: 0, mode: "up", monitro: "loss" } as any),
      /^callback_model_checkpoint\(\): invalid arguments:/,
      /`filepath`/,
      /`save_freq`/,
      /`mode`/,
      /monitro.*did you mean `monitor`/,
    );
    await expectKerasError(
      () =>
        k.fit(build(), x, y, {
          epochs: 1,
          verbose: 0,
          callbacks: [k.callback_model_checkpoint(join(dir, "m-{val_acc:.2f}.keras"))],
        }),
      /^callback_model_checkpoint\(\): cannot fill in the placeholders of `filepath` ".*m-\{val_acc:\.2f\}\.keras": there is no value for \{val_acc\} \(fields available: loss, mae, epoch\)/,
    );
    await expectKerasError(
      () => k.callback_backup_and_restore("", { save_freq: -1 } as any),
      /^callback_backup_and_restore\(\): invalid arguments:/,
      /`backup_dir`/,
      /`save_freq`/,
    );
  });

  it("backup and restore: a fit interrupted (mid-epoch too) and run again resumes to the uninterrupted weights", async () => {
    const stopAt = (epoch: number, batch: number) => ({
      on_epoch_begin: (e: number) => void (stopAt.epoch = e),
      on_train_batch_end: (b: number) => {
        if (stopAt.epoch === epoch && b === batch) throw new Error("interrupted");
      },
    });
    stopAt.epoch = -1;
    for (const save_freq of ["epoch", 2] as const) {
      const backupDir = join(dir, `backup-${save_freq}`);
      const args = { epochs: 4, batch_size: 4, verbose: 0 as const };
      k.set_random_seed(9);
      const model = build();
      const uninterrupted = await k.fit(model, x, y, args);
      k.set_random_seed(9);
      const again = build();
      const backup = k.callback_backup_and_restore(backupDir, { save_freq });
      let failed = false;
      try {
        await k.fit(again, x, y, { ...args, callbacks: [backup, stopAt(2, 1)] });
      } catch (e) {
        failed = /`on_train_batch_end\(batch = 1\)` failed: interrupted$/.test((e as Error).message);
      }
      expect(failed).to.equal(true);
      expect(readdirSync(backupDir)).to.deep.equal(["training_state.keras"]);
      const resumed = await k.fit(again, x, y, { ...args, callbacks: [backup] });
      // epoch 3 (0-based 2) runs again: from its start ("epoch") or from its second batch (every 2 batches)
      expect(resumed.history.epoch, String(save_freq)).to.deep.equal([2, 3]);
      expect(k.get_weights(resumed.model), String(save_freq)).to.deep.equal(k.get_weights(uninterrupted.model));
      expect(resumed.history.metrics.loss.at(-1)).to.equal(uninterrupted.history.metrics.loss.at(-1));
      expect(existsSync(backupDir), "deleted at the end").to.equal(false);
    }
    // delete_checkpoint = FALSE keeps it; a backup of another model is refused
    const keep = join(dir, "keep");
    await k.fit(build(), x, y, {
      epochs: 1,
      batch_size: 4,
      verbose: 0,
      callbacks: [k.callback_backup_and_restore(keep, { delete_checkpoint: false })],
    });
    expect(readdirSync(keep)).to.deep.equal(["training_state.keras"]);
    const other = pipe(
      k.keras_model_sequential({ input_shape: [4, 3] }),
      k.layer_lstm({ units: 2 }),
      k.layer_dense({ units: 1 }),
      k.compile({ optimizer: "adam", loss: "mse" }),
    );
    await expectKerasError(
      () => k.fit(other, x, y, { epochs: 1, verbose: 0, callbacks: [k.callback_backup_and_restore(keep)] }),
      /^callback_backup_and_restore\(\): /,
    );
  });
});
