/**
 * A digest of W1 / W2 (GRU(64) / LSTM(64) → Dense(1), batch 32 × 50 steps × 16 features, Adam, MSE)
 * after a seeded fit of 3 epochs of 8 batches: its losses and every weight's bits, to compare two trees
 * ("same numbers" means the same digest). `[BATCH=32] npx tsx bench/fit_bits.ts [wasm|cpu] [gru|lstm]`
 * (BATCH=64: four chunks of 16 rows, whose partial weight gradients are summed)
 */
import { createHash } from "node:crypto";
import { tf } from "../src/backend/tf.js";
import { use_backend } from "../src/backend/index.js";
import * as api from "../src/index.js";

const backend = (process.argv[2] ?? "wasm") as "wasm" | "cpu";
const kind = process.argv[3] ?? "lstm";

async function main() {
  await use_backend(backend);
  const a: any = api;
  a.set_random_seed(7);
  const layer = kind === "gru" ? a.layer_gru : a.layer_lstm;
  let model = a.layer_dense({ units: 1 })(layer({ units: 64 })(a.keras_model_sequential({ input_shape: [50, 16] })));
  model = a.compile(model, { optimizer: "adam", loss: "mse" });
  const xs = tf.randomNormal([256, 50, 16], 0, 1, "float32", 1),
    ys = tf.randomNormal([256, 1], 0, 1, "float32", 2);
  const fitted = await a.fit(model, xs, ys, {
    epochs: 3,
    batch_size: Number(process.env.BATCH ?? 32),
    verbose: 0,
    shuffle: false,
  });
  const hash = createHash("sha256");
  const losses: number[] = fitted.history?.metrics?.loss ?? fitted.history?.loss ?? [];
  hash.update(new Float64Array(losses.flat()));
  const weights = a.get_weights(fitted.model) as any[];
  for (const w of weights)
    hash.update(new Float32Array((w.dataSync ? w.dataSync() : w.flat(Infinity)) as ArrayLike<number>));
  console.log(
    `${backend} ${kind}: losses ${losses
      .flat()
      .map((l: number) => l.toFixed(6))
      .join(" ")}; ${weights.length} weights; digest ${hash.digest("hex").slice(0, 16)}`,
  );
}
main();
