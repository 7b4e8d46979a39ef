/**
 * Quick training-throughput check (wasm by default): GRU(64) and LSTM(64) → Dense(1) through the public
 * API's fit(), the fused kernels alone (forward + backward, no optimizer), and tf.layers' trainOnBatch,
 * same process. `npx tsx bench/quick.ts [backend]`. Prints samples/s; best of a few repeats.
 * Wall time, best of the repeats (QUICK_REPS, default 5).
 */
import { tf } from "../src/backend/tf.js";
import { use_backend } from "../src/backend/index.js";
import { fusedRnn } from "../src/layers/recurrent/fused/index.js";
import * as api from "../src/index.js";
import { pipe } from "fp-ts/lib/function.js";

const B = 32,
  T = 50,
  F = 16,
  U = 64,
  NB = 12;
const backend = (process.argv[2] ?? "wasm") as "wasm" | "cpu";
const REPS = Number(process.env.QUICK_REPS ?? 5);
// the minimum of the repeats: the machine is shared, and interference only ever adds time
const median = (v: number[]) => Math.min(...v);
const rand = (s: number[]) => tf.randomNormal(s);
// wall time; QUICK_CPU=1: CPU time of the process (all threads, GC helpers included, so tf.layers reads higher)
const now = () =>
  process.env.QUICK_CPU !== "1"
    ? performance.now()
    : (() => {
        const c = process.cpuUsage();
        return (c.user + c.system) / 1000;
      })();

async function main() {
  await use_backend(backend);
  const a: any = api;
  for (const kind of ["gru", "lstm"] as const) {
    // public API fit
    let model = pipe(
      a.keras_model_sequential({ input_shape: [T, F] }),
      (kind === "gru" ? a.layer_gru : a.layer_lstm)({ units: U }),
      a.layer_dense({ units: 1 }),
    );
    model = a.compile(model, { optimizer: "adam", loss: "mse" });
    const xs = rand([B * NB, T, F]),
      ys = rand([B * NB, 1]);
    const fitOnce = async () =>
      (model = (await a.fit(model, xs, ys, { epochs: 1, batch_size: B, verbose: 0, shuffle: false })).model);
    await fitOnce();
    const fitMs: number[] = [];
    for (let r = 0; r < REPS; r++) {
      const t0 = now();
      await fitOnce();
      fitMs.push((now() - t0) / NB);
    }
    // fused kernels alone: forward + backward through tf.grads
    const G = kind === "gru" ? 3 : 4;
    const cell = kind === "gru" ? "gru_reset_after" : "lstm";
    const W = tf.variable(rand([F, G * U]).mul(0.2)),
      Uv = tf.variable(rand([U, G * U]).mul(0.1));
    const bias = tf.variable(tf.zeros(kind === "gru" ? [2, G * U] : [G * U]));
    const x = xs.slice([0, 0, 0], [B, T, F]);
    const fb = () =>
      tf.tidy(() => {
        const g = tf.variableGrads(
          () => fusedRnn({ cell, inputs: x, kernel: W, recurrentKernel: Uv, bias }).output.square().mean() as tf.Scalar,
        );
        tf.dispose(g.grads);
        g.value.dataSync();
      });
    fb();
    fb();
    const fbMs: number[] = [];
    for (let r = 0; r < REPS; r++) {
      const t0 = now();
      for (let i = 0; i < 10; i++) fb();
      fbMs.push((now() - t0) / 10);
    }
    const fwMs: number[] = [];
    for (let r = 0; r < REPS; r++) {
      const t0 = now();
      for (let i = 0; i < 10; i++)
        tf.tidy(() => fusedRnn({ cell, inputs: x, kernel: W, recurrentKernel: Uv, bias }).output.dataSync());
      fwMs.push((now() - t0) / 10);
    }
    // tf.layers
    const m = tf.sequential();
    m.add((kind === "gru" ? tf.layers.gru : tf.layers.lstm)({ units: U, inputShape: [T, F] }));
    m.add(tf.layers.dense({ units: 1 }));
    m.compile({ optimizer: "adam", loss: "meanSquaredError" });
    const y = ys.slice([0, 0], [B, 1]);
    await m.trainOnBatch(x, y);
    const tlMs: number[] = [];
    for (let r = 0; r < Math.min(REPS, 3); r++) {
      const t0 = now();
      for (let i = 0; i < 3; i++) await m.trainOnBatch(x, y);
      tlMs.push((now() - t0) / 3);
    }
    const f = median(fitMs),
      l = median(tlMs);
    console.log(
      `${backend} ${kind}: fit ${f.toFixed(2)} ms/batch = ${((B * 1000) / f).toFixed(0)} samples/s | fused fwd ${median(fwMs).toFixed(2)} ms, fwd+bwd ${median(fbMs).toFixed(2)} ms | tf.layers ${l.toFixed(2)} ms = ${((B * 1000) / l).toFixed(0)} samples/s | ratio ${(l / f).toFixed(2)}x`,
    );
    m.dispose();
    tf.dispose([xs, ys, x, y, W, Uv, bias]);
  }
  console.log(`tensors left: ${tf.memory().numTensors}`);
}
main();
