/**
 * predict(x, batch_size = 1024) of W2, W3 or W4 (bench/peers/node_peer.mjs's models: W2 LSTM(64) on
 * 50 steps × 16 features; W3 GRU(128, return_sequences) → GRU(128) on 100 steps × 32 features; W4
 * Embedding(1000, 32, mask_zero) → Bidirectional(LSTM(64)) → Dense(1, sigmoid), tokens right-padded to 80
 * with lengths 20–79): CPU time of the process (all threads) and wall time, best of REPEATS calls, and
 * the fused kernels' counters over one call. For `node --cpu-prof` of the predict path, and before/after
 * comparisons (BENCH_TSKERAS: the tskeras module, default ../src/index.ts).
 *
 * usage: TSKERAS_NUM_THREADS=1 node --import tsx bench/predict_parts.mjs [w2|w3|w4] [REPEATS]
 */
const [WORKLOAD = "w2", REPEATS = "7"] = process.argv.slice(2);
const source = process.env.BENCH_TSKERAS ?? "../src/index.ts";
const api = await import(source);
const { fusedKernelCalls } = await import(source.replace(/index\.ts$/, "layers/recurrent/fused/index.ts"));
await api.use_backend("wasm");
const tf = api.tf ?? (await import("@tensorflow/tfjs"));

const N = 1024;
const pipe = (x, ...fs) => fs.reduce((acc, f) => f(acc), x);
let seed = 12345;
const uniform = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
const normal = (shape) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, uniform), shape);

function workload(name) {
  if (name === "w2")
    return {
      model: pipe(
        api.keras_model_sequential({ input_shape: [50, 16] }),
        api.layer_lstm({ units: 64 }),
        api.layer_dense({ units: 1 }),
      ),
      x: normal([N, 50, 16]),
    };
  if (name === "w3")
    return {
      model: pipe(
        api.keras_model_sequential({ input_shape: [100, 32] }),
        api.layer_gru({ units: 128, return_sequences: true }),
        api.layer_gru({ units: 128 }),
        api.layer_dense({ units: 1 }),
      ),
      x: normal([N, 100, 32]),
    };
  if (name === "w4") {
    const T = 80;
    const tokens = Array.from({ length: N }, (_, i) => {
      const L = 20 + ((i * 7) % (T - 19));
      return Array.from({ length: T }, (_, t) => (t < L ? 1 + Math.floor(((uniform() + 1) / 2) * 998) : 0));
    });
    return {
      model: pipe(
        api.keras_model_sequential({ input_shape: [T] }),
        api.layer_embedding({ input_dim: 1000, output_dim: 32, mask_zero: true }),
        api.bidirectional({ layer: api.layer_lstm({ units: 64 }) }),
        api.layer_dense({ units: 1, activation: "sigmoid" }),
      ),
      x: tf.tensor2d(tokens, [N, T], "float32"),
    };
  }
  throw new Error(`unknown workload ${name}`);
}

const { model, x } = workload(WORKLOAD);
const predictOnce = async () => tf.dispose(await api.predict(model, x, { batch_size: N, verbose: 0 }));
await predictOnce();
const before = fusedKernelCalls();
await predictOnce();
const after = fusedKernelCalls();
let cpu = Infinity,
  wall = Infinity;
for (let i = 0; i < Number(REPEATS); i++) {
  const c0 = process.cpuUsage(),
    t0 = performance.now();
  await predictOnce();
  const c = process.cpuUsage(c0);
  wall = Math.min(wall, performance.now() - t0);
  cpu = Math.min(cpu, (c.user + c.system) / 1000);
}
const r = (v) => Math.round(v * 10) / 10;
console.log(
  JSON.stringify({
    workload: WORKLOAD,
    threads: process.env.TSKERAS_NUM_THREADS ?? "default",
    predict_ms: { cpu: r(cpu), wall: r(wall) },
    samples_per_s: { cpu: Math.round((N * 1000) / cpu), wall: Math.round((N * 1000) / wall) },
    fused_calls: Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k]])),
  }),
);
