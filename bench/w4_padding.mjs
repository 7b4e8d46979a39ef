/**
 * W4 of bench/peers/node_peer.mjs on its own (Embedding(1000, 32, mask_zero) → Bidirectional(LSTM(64)) →
 * Dense(1, sigmoid), tokens right-padded to 80 with lengths 20–79, batch 32, Adam, binary crossentropy),
 * for measuring the fused kernels' padding skip: fit() ms per batch and predict() ms at batch 1024, best
 * of REPEATS timed runs, in CPU time of the process (all threads; steadier than wall time on a shared
 * machine) and wall time.
 *
 * usage: TSKERAS_NUM_THREADS=1 node --import tsx bench/w4_padding.mjs [BACKEND] [REPEATS]
 *   BENCH_TSKERAS: the tskeras module (default ../src/index.ts); W4_PADDING=pre: the padding before the
 *   tokens (pad_sequences' default) instead of after them.
 */
const [BACKEND = "wasm", REPEATS = "5"] = process.argv.slice(2);
const api = await import(process.env.BENCH_TSKERAS ?? "../src/index.ts");
await api.use_backend(BACKEND);
const tf = api.tf ?? (await import("@tensorflow/tfjs"));

const PRE = process.env.W4_PADDING === "pre";
const B = 32,
  T = 80,
  BATCHES = 8,
  PREDICT_N = 1024;
let seed = 12345;
const uniform = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
function data(n) {
  const L = Array.from({ length: n }, (_, i) => 20 + ((i * 7) % (T - 19)));
  const x = Array.from({ length: n }, (_, i) =>
    Array.from({ length: T }, (_, t) =>
      (PRE ? t >= T - L[i] : t < L[i]) ? 1 + Math.floor(((uniform() + 1) / 2) * 998) : 0,
    ),
  );
  const y = Array.from({ length: n }, () => [uniform() > 0 ? 1 : 0]);
  return { x: tf.tensor2d(x, [n, T], "float32"), y: tf.tensor2d(y, [n, 1]) };
}

const pipe = (x, ...fs) => fs.reduce((acc, f) => f(acc), x);
let model = api.compile(
  pipe(
    api.keras_model_sequential({ input_shape: [T] }),
    api.layer_embedding({ input_dim: 1000, output_dim: 32, mask_zero: true }),
    api.bidirectional({ layer: api.layer_lstm({ units: 64 }) }),
    api.layer_dense({ units: 1, activation: "sigmoid" }),
  ),
  { optimizer: "adam", loss: "binary_crossentropy" },
);

/** Best of `repeats` runs of f: [cpu ms, wall ms]. */
async function best(f, repeats) {
  await f();
  let cpu = Infinity,
    wall = Infinity;
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage(),
      t0 = performance.now();
    await f();
    const c = process.cpuUsage(c0);
    wall = Math.min(wall, performance.now() - t0);
    cpu = Math.min(cpu, (c.user + c.system) / 1000);
  }
  return [cpu, wall];
}

const train = data(B * BATCHES);
const [fitCpu, fitWall] = await best(async () => {
  model = (await api.fit(model, train.x, train.y, { epochs: 1, batch_size: B, verbose: 0, shuffle: false })).model;
}, Number(REPEATS));
const test = data(PREDICT_N);
const [predCpu, predWall] = await best(async () => {
  tf.dispose(await api.predict(model, test.x, { batch_size: PREDICT_N, verbose: 0 }));
}, Number(REPEATS));
const r = (x) => Math.round(x * 100) / 100;
console.log(
  JSON.stringify({
    backend: BACKEND,
    padding: PRE ? "pre" : "post",
    threads: process.env.TSKERAS_NUM_THREADS ?? "default",
    fit_ms_per_batch: { cpu: r(fitCpu / BATCHES), wall: r(fitWall / BATCHES) },
    fit_samples_per_s_cpu: Math.round((B * BATCHES * 1000) / fitCpu),
    predict_ms_1024: { cpu: r(predCpu), wall: r(predWall) },
    predict_samples_per_s_cpu: Math.round((PREDICT_N * 1000) / predCpu),
  }),
);
