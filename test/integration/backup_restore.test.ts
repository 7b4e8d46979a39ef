/**
 * callback_backup_and_restore across a killed process: a child fits a model (shuffled batches, dropout,
 * set_random_seed) with the backup callback and is killed with SIGKILL in the middle of an epoch; the
 * same script started again resumes from the backup and ends with exactly the weights of a run that
 * was never interrupted — with backups at each epoch's end and every few batches (resumed mid-epoch).
 * The backup folder is gone after the successful run.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { temporaryFolders } from "../helpers/temporary_folders.js";

const root = resolve(import.meta.dirname, "../..");

/** The child: fit 4 epochs; with KILL_AT="epoch,batch" it reports and hangs there, waiting for the kill. */
const childSource = (saveFreq: string) => `
import * as k from ${JSON.stringify(join(root, "src", "index.ts"))};
import { writeFileSync } from "node:fs";
const [backupDir, out, killAt] = process.argv.slice(2);
k.set_random_seed(21);
const x = Array.from({ length: 20 }, (_, i) => Array.from({ length: 5 }, (_, t) => [Math.sin(i + t), Math.cos(i * t), (i % 3) - t / 5]));
const y = x.map((_, i) => [Math.sin(i / 3)]);
const model = k.compile(
  k.keras_model_sequential({ input_shape: [5, 3], layers: [k.layer_gru({ units: 4 }), k.layer_dropout({ rate: 0.25 }), k.layer_dense({ units: 1 })] }),
  { optimizer: k.optimizer_adam({ learning_rate: 0.02 }), loss: "mse" },
);
let epochNow = -1;
const hang = {
  on_epoch_begin: (e) => void (epochNow = e),
  on_train_batch_end: async (b) => {
    if (killAt && killAt === epochNow + "," + b) {
      process.stdout.write("ready\\n");
      await new Promise(() => {});
    }
  },
};
const { model: trained, history } = await k.fit(model, x, y, {
  epochs: 4, batch_size: 4, verbose: 0,
  callbacks: [k.callback_backup_and_restore(backupDir, { save_freq: ${saveFreq} }), hang],
});
writeFileSync(out, JSON.stringify({ weights: k.get_weights(trained), epochs: history.epoch }));
`;

function run(child: string, args: string[], waitFor: string | null): Promise<number | null> {
  const proc = spawn(process.execPath, ["--import", "tsx", child, ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  proc.stderr.on("data", (d: Buffer) => (err += String(d)));
  return new Promise((done, fail) => {
    proc.stdout.on("data", (d: Buffer) => {
      if (waitFor && String(d).includes(waitFor)) {
        proc.kill("SIGKILL");
      }
    });
    proc.on("exit", (code, signal) => {
      if (waitFor && signal !== "SIGKILL") return fail(new Error(`the child was not killed (${code}):\n${err}`));
      if (!waitFor && code !== 0) return fail(new Error(`the child failed (${code}):\n${err}`));
      done(code);
    });
  });
}

describe("callback_backup_and_restore: a fit killed mid-way resumes", function () {
  const tmp = temporaryFolders();
  this.timeout(600_000);

  for (const saveFreq of ['"epoch"', "3"]) {
    it(`with save_freq = ${saveFreq}: killed (SIGKILL) in epoch 3, run again, it ends with the uninterrupted run's weights`, async () => {
      const dir = tmp("tskeras-backup-kill-");
      const child = join(dir, "child.mts");
      writeFileSync(child, childSource(saveFreq));
      const backup = join(dir, "backup");
      await run(child, [join(dir, "plain-backup"), join(dir, "plain.json")], null);
      await run(child, [backup, join(dir, "never.json"), "2,2"], "ready");
      expect(existsSync(join(dir, "never.json"))).to.equal(false);
      expect(readdirSync(backup)).to.deep.equal(["training_state.keras"]);
      await run(child, [backup, join(dir, "resumed.json")], null);
      const plain = JSON.parse(readFileSync(join(dir, "plain.json"), "utf8"));
      const resumed = JSON.parse(readFileSync(join(dir, "resumed.json"), "utf8"));
      expect(plain.epochs).to.deep.equal([0, 1, 2, 3]);
      // the resumed run starts at the killed epoch (from its start, or from the batch of the last backup)
      expect(resumed.epochs).to.deep.equal([2, 3]);
      expect(resumed.weights).to.deep.equal(plain.weights);
      expect(existsSync(backup), "the backup is deleted at the end").to.equal(false);
    });
  }
});
