/**
 * Device memory over repeated calls (issue 9 §1): tf.memory() after the first call, after a tenth of the
 * calls and at the end, per scenario, with natural GC only.
 * `npx tsx bench/memory.ts [iterations] [big-model fits]` (defaults 1000 and 50).
 */
import {
  backend_ready,
  compile,
  evaluate,
  fit,
  keras_model_sequential,
  layer_dense,
  layer_simple_rnn,
  predict,
  reset_states,
  train_on_batch,
  type Model,
} from "../src/index.js";
import { tf } from "../src/backend/tf.js";

const N = Number(process.argv[2] ?? 1000);
const BIG_FITS = Number(process.argv[3] ?? 50);

const x = [
  [0.1, 0.2],
  [0.3, -0.1],
  [-0.2, 0.4],
  [0.5, 0.5],
];
const y = [[0.3], [0.2], [0.2], [1.0]];

const small = (): Model =>
  compile(layer_dense(keras_model_sequential({ input_shape: [2] }), { units: 1 }), { optimizer: "adam", loss: "mse" });

/** tf.memory() after one warm-up call, after a tenth of the calls and at the end. */
async function measure(name: string, n: number, step: (i: number) => Promise<void> | void): Promise<void> {
  await step(-1); // warm-up
  const points = [tf.memory()];
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    await step(i);
    if (i + 1 === Math.ceil(n / 10)) points.push(tf.memory());
  }
  points.push(tf.memory());
  const dt = Date.now() - t0;
  const show = (k: "numTensors" | "numBytes", w: number) => points.map((p) => String(p[k]).padStart(w)).join(" -> ");
  console.log(
    `${name.padEnd(40)} n=${String(n).padStart(5)}  tensors ${show("numTensors", 6)}  bytes ${show("numBytes", 10)}  ${dt} ms`,
  );
}

async function main(): Promise<void> {
  await backend_ready();
  console.log(`backend ${tf.getBackend()}, natural GC only`);
  const m0 = small();
  await measure("predict (same value)", N, async () => {
    await predict(m0, x, { verbose: 0 });
  });
  await measure("evaluate (same value)", N, async () => {
    await evaluate(m0, x, y, { verbose: 0 });
  });
  await measure("train_on_batch (same value)", N, async () => {
    await train_on_batch(m0, x, y);
  });
  let chained = m0;
  await measure("train_on_batch (chained)", N, async () => {
    chained = (await train_on_batch(chained, x, y)).model;
  });
  await measure("fit (same value)", N, async () => {
    await fit(m0, x, y, { verbose: 0, batch_size: 2 });
  });
  chained = m0;
  await measure("fit (chained)", N, async () => {
    chained = (await fit(chained, x, y, { verbose: 0, batch_size: 2 })).model;
  });
  const xt = tf.tensor2d(x);
  await measure("eager calls on throwaway layers", N, () => {
    const out = layer_dense(xt, { units: 3 }) as tf.Tensor;
    out.dispose();
  });
  const stateful = layer_simple_rnn(keras_model_sequential({ batch_input_shape: [2, 3, 1] }), {
    units: 2,
    stateful: true,
  });
  const seq = [
    [[1], [2], [3]],
    [[4], [5], [6]],
  ];
  await measure("stateful predict + reset_states", N, async () => {
    await predict(stateful, seq, { verbose: 0 });
    reset_states(stateful);
  });
  xt.dispose();
  // ~1M parameters: 1000 -> 1000 dense (1,001,000 weights), Adam (two slots per weight).
  const big = compile(layer_dense(keras_model_sequential({ input_shape: [1000] }), { units: 1000 }), {
    optimizer: "adam",
    loss: "mse",
  });
  const bx = tf.randomNormal([8, 1000], 0, 1, "float32", 1);
  const by = tf.randomNormal([8, 1000], 0, 1, "float32", 2);
  await measure("fit 1M-param Adam model (same value)", BIG_FITS, async () => {
    await fit(big, bx, by, { verbose: 0, batch_size: 8 });
  });
  bx.dispose();
  by.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
