/**
 * The per-batch cost of fit() around a model that costs almost nothing: Dense(1) on 2 features, Adam,
 * MSE, 64 batches of 32 per fit() call. CPU ms per batch, best of 7 × 5 calls.
 * `npx tsx bench/fit_overhead.ts [wasm|cpu]`.
 */
import { tf } from "../src/backend/tf.js";
import * as api from "../src/index.js";

const NB = 64;

async function main() {
  await api.use_backend((process.argv[2] ?? "wasm") as "wasm" | "cpu");
  let model = api.compile(api.layer_dense(api.keras_model_sequential({ input_shape: [2] }), { units: 1 }), {
    optimizer: "adam",
    loss: "mse",
  });
  const xs = tf.randomNormal([32 * NB, 2]);
  const ys = tf.randomNormal([32 * NB, 1]);
  const fitOnce = async () =>
    (model = (await api.fit(model, xs, ys, { epochs: 1, batch_size: 32, verbose: 0, shuffle: false })).model);
  for (let i = 0; i < 5; i++) await fitOnce();
  const ms: number[] = [];
  for (let r = 0; r < 7; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < 5; i++) await fitOnce();
    const c = process.cpuUsage(c0);
    ms.push((c.user + c.system) / 1000 / NB / 5);
  }
  console.log(`${tf.getBackend()} fit overhead: ${Math.min(...ms).toFixed(3)} ms/batch`);
  tf.dispose([xs, ys]);
}
main();
