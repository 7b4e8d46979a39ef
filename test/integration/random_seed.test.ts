/**
 * set_random_seed(): two runs in separate processes draw the same numbers from every random source
 * (initializers, dropout and noise masks, fit's shuffling, a shuffled generator); another seed, or none,
 * draws others. `npm start` (examples/train_gru.ts, which calls it) prints the same numbers every run.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";

const root = resolve(import.meta.dirname, "../..");

async function run(seed?: number): Promise<Record<string, unknown>> {
  const args = ["--import", "tsx", "test/helpers/seeded_run.ts", ...(seed === undefined ? [] : [String(seed)])];
  const { stdout } = await promisify(execFile)(process.execPath, args, {
    cwd: root,
    env: { ...process.env, KERAS_BACKEND: "" },
  });
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

describe("set_random_seed", function () {
  this.timeout(120_000);
  let runs: Record<string, unknown>[];
  before(async () => {
    runs = await Promise.all([run(42), run(42), run(43), run(), run()]);
  });

  const sources = ["weights", "dropout", "noise", "loss", "shuffledRows"];

  it("the same seed gives the same numbers in two processes", () => {
    for (const k of sources) expect(runs[1][k], k).to.deep.equal(runs[0][k]);
  });

  it("another seed gives other numbers from every source", () => {
    for (const k of sources) expect(runs[2][k], k).to.not.deep.equal(runs[0][k]);
  });

  it("without a seed, two runs differ", () => {
    for (const k of sources) expect(runs[4][k], k).to.not.deep.equal(runs[3][k]);
  });

  it("npm start prints the same numbers on every run (timings aside)", async () => {
    const start = () =>
      promisify(execFile)(process.execPath, ["--import", "tsx", "examples/train_gru.ts"], {
        cwd: root,
        env: { ...process.env, KERAS_BACKEND: "" },
      }).then(({ stdout }) => stdout.replace(/\d+s - \d+(ms|us|s)\/step/g, "<time>"));
    const [a, b] = [await start(), await start()];
    expect(a).to.include("Test loss (mse)");
    expect(b).to.equal(a);
  });
});
