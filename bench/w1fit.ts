/**
 * W1 (or W2 with `lstm`, W3 with `w3`: 2×GRU(128), batch 64 × 100 steps × 32 features) through fit()
 * only, for profiling the serial part of a training step:
 * `node --cpu-prof --import tsx bench/w1fit.ts [wasm|cpu] [gru|lstm|w3] [batches per fit]`.
 * Prints CPU and wall ms/batch over FITS (default 10) fit() calls, best of 5. With SERIAL=1 also the time
 * inside the fused kernels' jobs (`ThreadPool.run`: the chunks on this thread and the workers) and the
 * rest, the main thread's serial work (tape, dispatches, head and loss, optimizer, fit loop, the driver
 * around a job), ms/batch, best of 5.
 */
import { tf } from "../src/backend/tf.js";
import { use_backend } from "../src/backend/index.js";
import * as api from "../src/index.js";
import { ThreadPool } from "../src/layers/recurrent/fused/threads.js";

const backend = (process.argv[2] ?? "wasm") as "wasm" | "cpu";
const kind = process.argv[3] ?? "gru";
const [B, T, F, U] = kind === "w3" ? [64, 100, 32, 128] : [32, 50, 16, 64];
// 8 batches per fit() call, as bench/peers/node_peer.mjs times it: per-call costs count
const NB = Number(process.argv[4] ?? 8);
const FITS = Number(process.env.FITS ?? 10);
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

let inJobs = 0;
if (process.env.SERIAL) {
  const run = ThreadPool.prototype.run;
  ThreadPool.prototype.run = function (this: ThreadPool, ...args: Parameters<typeof run>) {
    const t0 = performance.now();
    try {
      return run.apply(this, args);
    } finally {
      inJobs += performance.now() - t0;
    }
  };
}

async function main() {
  await use_backend(backend);
  const a: any = api;
  const recurrent =
    kind === "w3"
      ? [a.layer_gru({ units: U, return_sequences: true }), a.layer_gru({ units: U })]
      : [(kind === "gru" ? a.layer_gru : a.layer_lstm)({ units: U })];
  let model = [...recurrent, a.layer_dense({ units: 1 })].reduce(
    (m, layer) => layer(m),
    a.keras_model_sequential({ input_shape: [T, F] }),
  );
  model = a.compile(model, { optimizer: "adam", loss: "mse" });
  const xs = tf.randomNormal([B * NB, T, F]),
    ys = tf.randomNormal([B * NB, 1]);
  const fitOnce = async () =>
    (model = (await a.fit(model, xs, ys, { epochs: 1, batch_size: B, verbose: 0, shuffle: false })).model);
  await fitOnce();
  const ms: number[] = [];
  const wall: number[] = [];
  const jobs: number[] = [];
  const serial: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = cpuMs(),
      w0 = performance.now(),
      j0 = inJobs;
    for (let i = 0; i < FITS; i++) await fitOnce();
    ms.push((cpuMs() - t0) / NB / FITS);
    wall.push((performance.now() - w0) / NB / FITS);
    jobs.push((inJobs - j0) / NB / FITS);
    serial.push(wall[r] - jobs[r]);
  }
  console.log(
    `${backend} ${kind} fit: ${Math.min(...ms).toFixed(2)} ms/batch CPU (best of 5; ${ms.map((m) => m.toFixed(2)).join(" ")}); ` +
      `wall ${Math.min(...wall).toFixed(2)} ms/batch (best of 5)` +
      (process.env.SERIAL
        ? `; inside jobs ${Math.min(...jobs).toFixed(3)}, serial ${Math.min(...serial).toFixed(3)} ms/batch`
        : ""),
  );
  tf.dispose([xs, ys]);
}
main();
