/**
 * The fused kernels give the same numbers with worker threads as without: the batch's chunks write
 * disjoint rows and their partial weight gradients are added in chunk order (driver.ts, threads.ts).
 * Each configuration runs in a child process (the thread count is fixed when the kernels' memory is
 * made); 3 threads are asked for, so the workers run even on a machine with one core.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const child = fileURLToPath(new URL("../helpers/threads_run.ts", import.meta.url));

function run(backend: string, threads: number) {
  const r = spawnSync(process.execPath, ["--import", "tsx", child, backend], {
    encoding: "utf8",
    env: { ...process.env, TSKERAS_NUM_THREADS: String(threads) },
    timeout: 120000,
  });
  if (r.status !== 0) throw new Error(`threads_run.ts ${backend} ${threads} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as { out: Record<string, number[]>; threadedJobs: number };
}

describe("fused kernels on worker threads", function () {
  this.timeout(240000);

  for (const backend of ["wasm", "cpu"])
    it(`${backend}: outputs and every gradient are the same to the bit with 3 threads as with 1 (GRU masked, LSTM, SimpleRNN, padding skipped)`, () => {
      const one = run(backend, 1);
      const three = run(backend, 3);
      expect(one.threadedJobs, "one thread: no worker ran").to.equal(0);
      expect(three.threadedJobs, "three threads: the workers ran").to.be.above(0);
      for (const cell of Object.keys(one.out)) {
        expect(three.out[cell].length, cell).to.equal(one.out[cell].length);
        expect(one.out[cell].every(Number.isFinite), `${cell}: finite`).to.equal(true);
        expect(three.out[cell], cell).to.deep.equal(one.out[cell]);
      }
    });
});
