/**
 * W3 (2×GRU(128), batch 64 × 100 steps × 32 features) through fit() only:
 * `npx tsx bench/w3fit.ts [wasm|cpu] [batches per fit]`. Prints CPU ms/batch over FITS (default 2)
 * fit() calls, best of REPS (default 5).
 */
import { tf } from "../src/backend/tf.js";
import { use_backend } from "../src/backend/index.js";
import * as api from "../src/index.js";
import { pipe } from "fp-ts/lib/function.js";

const [B, T, F, U] = [64, 100, 32, 128];
const backend = (process.argv[2] ?? "wasm") as "wasm" | "cpu";
const NB = Number(process.argv[3] ?? 4);
const FITS = Number(process.env.FITS ?? 2);
const REPS = Number(process.env.REPS ?? 5);
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

async function main() {
  await use_backend(backend);
  const a: any = api;
  let model = pipe(
    a.keras_model_sequential({ input_shape: [T, F] }),
    a.layer_gru({ units: U, return_sequences: true }),
    a.layer_gru({ units: U }),
    a.layer_dense({ units: 1 }),
  );
  model = a.compile(model, { optimizer: "adam", loss: "mse" });
  const xs = tf.randomNormal([B * NB, T, F]),
    ys = tf.randomNormal([B * NB, 1]);
  const fitOnce = async () =>
    (model = (await a.fit(model, xs, ys, { epochs: 1, batch_size: B, verbose: 0, shuffle: false })).model);
  await fitOnce();
  const ms: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = cpuMs();
    for (let i = 0; i < FITS; i++) await fitOnce();
    ms.push((cpuMs() - t0) / NB / FITS);
  }
  console.log(
    `${backend} w3 fit: ${Math.min(...ms).toFixed(2)} ms/batch CPU (best of ${REPS}; ${ms.map((m) => m.toFixed(2)).join(" ")})`,
  );
  tf.dispose([xs, ys]);
}
main();
