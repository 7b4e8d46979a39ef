/**
 * W1 / W2 through fit() as bench/w1fit.ts, with the time inside the fused kernels' jobs
 * (`ThreadPool.run`: the chunks on this thread and the workers) measured apart from the rest, which is
 * the main thread's serial work (tfjs's tape and dispatches, the head and loss, the optimizer, the fit
 * loop, the driver around a job). `TSKERAS_NUM_THREADS=2 FITS=10 npx tsx bench/w1fit_serial.ts [gru|lstm]`
 * prints wall, CPU, inside-jobs and serial ms per batch (best of 5 repeats each, on wasm).
 */
import { tf } from "../src/backend/tf.js";
import { use_backend } from "../src/backend/index.js";
import * as api from "../src/index.js";
import { ThreadPool } from "../src/layers/recurrent/fused/threads.js";

const kind = process.argv[2] ?? "lstm";
const [B, T, F, U, NB] = [32, 50, 16, 64, 8];
const FITS = Number(process.env.FITS ?? 10);
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

let inJobs = 0;
const run = ThreadPool.prototype.run;
ThreadPool.prototype.run = function (this: ThreadPool, ...args: Parameters<typeof run>) {
  const t0 = performance.now();
  try {
    return run.apply(this, args);
  } finally {
    inJobs += performance.now() - t0;
  }
};

async function main() {
  await use_backend("wasm");
  const a: any = api;
  const layer = kind === "gru" ? a.layer_gru : a.layer_lstm;
  let model = a.layer_dense({ units: 1 })(layer({ units: U })(a.keras_model_sequential({ input_shape: [T, F] })));
  model = a.compile(model, { optimizer: "adam", loss: "mse" });
  const xs = tf.randomNormal([B * NB, T, F]),
    ys = tf.randomNormal([B * NB, 1]);
  const fitOnce = async () =>
    (model = (await a.fit(model, xs, ys, { epochs: 1, batch_size: B, verbose: 0, shuffle: false })).model);
  await fitOnce();
  const rows: { wall: number; cpu: number; jobs: number; serial: number }[] = [];
  for (let r = 0; r < 5; r++) {
    const c0 = cpuMs(),
      w0 = performance.now(),
      j0 = inJobs;
    for (let i = 0; i < FITS; i++) await fitOnce();
    const per = NB * FITS;
    const wall = (performance.now() - w0) / per;
    const jobs = (inJobs - j0) / per;
    rows.push({ wall, cpu: (cpuMs() - c0) / per, jobs, serial: wall - jobs });
  }
  const best = (k: keyof (typeof rows)[0]) => Math.min(...rows.map((x) => x[k])).toFixed(3);
  console.log(
    `wasm ${kind} fit, ${process.env.TSKERAS_NUM_THREADS ?? "default"} threads, ms/batch (best of 5): ` +
      `wall ${best("wall")}, CPU ${best("cpu")}, inside jobs ${best("jobs")}, serial ${best("serial")}`,
  );
  tf.dispose([xs, ys]);
}
main();
