/**
 * W2 (LSTM(64) → Dense(1), 50 steps × 16 features; LSTM_LAYER=gru: W1's GRU(64)) predict@1024 and fit
 * (8 batches of 32), CPU time of the process, best of LSTM_REPS (default 7).
 * Run with TSKERAS_NUM_THREADS=1: `npx tsx bench/lstm_step.ts`.
 */
import { tf } from "../src/backend/tf.js";
import { use_backend } from "../src/backend/index.js";
import * as api from "../src/index.js";
import { pipe } from "fp-ts/lib/function.js";

const REPS = Number(process.env.LSTM_REPS ?? 7);
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

async function main() {
  await use_backend("wasm");
  const a: any = api;
  let model = pipe(
    a.keras_model_sequential({ input_shape: [50, 16] }),
    (process.env.LSTM_LAYER === "gru" ? a.layer_gru : a.layer_lstm)({ units: 64 }),
    a.layer_dense({ units: 1 }),
  );
  model = a.compile(model, { optimizer: "adam", loss: "mse" });
  const xp = tf.randomNormal([1024, 50, 16]);
  const xs = tf.randomNormal([256, 50, 16]),
    ys = tf.randomNormal([256, 1]);
  const predictOnce = async () => {
    const y = await a.predict(model, xp, { batch_size: 1024, verbose: 0 });
    (Array.isArray(y) ? y : [y]).forEach((t: any) => t.dispose?.());
  };
  const fitOnce = async () =>
    (model = (await a.fit(model, xs, ys, { epochs: 1, batch_size: 32, verbose: 0, shuffle: false })).model);
  await predictOnce();
  await fitOnce();
  const p: number[] = [],
    f: number[] = [];
  for (let r = 0; r < REPS; r++) {
    let t0 = cpuMs();
    for (let i = 0; i < 3; i++) await predictOnce();
    p.push((cpuMs() - t0) / 3);
    t0 = cpuMs();
    await fitOnce();
    f.push((cpuMs() - t0) / 8);
  }
  const bp = Math.min(...p),
    bf = Math.min(...f);
  console.log(
    `predict@1024: ${bp.toFixed(1)} ms CPU (${((1024 / bp) * 1000).toFixed(0)} samples/s)  ` +
      `fit: ${bf.toFixed(2)} ms CPU/batch (${((32 / bf) * 1000).toFixed(0)} samples/s)`,
  );
}
main();
