/**
 * The streaming check of issue 13 with CPU time as well as wall time (the machine is shared):
 * a stateful GRU(64) → Dense(1), batch_input_shape (1, 1, 16), one step per call; ms per call over the
 * first 1,000 calls of this process (cold) and the next 3,000 (warm).
 *
 * usage: node [--import tsx] bench/stream.mjs BACKEND CALL   (wasm|cpu, predict|predict_on_batch)
 * tskeras comes from BENCH_TSKERAS (dist/index.js), else src/index.ts under tsx. Prints "@@ {json}".
 */
const [BACKEND = "wasm", CALL = "predict"] = process.argv.slice(2);
const api = await import(process.env.BENCH_TSKERAS ?? "../src/index.ts");
await api.use_backend(BACKEND);
const F = 16;
let seed = 12345;
const uniform = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
const xs = Array.from({ length: F }, uniform);
const model = api.compile(
  [api.layer_gru({ units: 64, stateful: true }), api.layer_dense({ units: 1 })].reduce(
    (m, f) => f(m),
    api.keras_model_sequential({ batch_input_shape: [1, 1, F] }),
  ),
  { optimizer: "adam", loss: "mse" },
);
const x = [[xs]];
const step = CALL === "predict" ? () => api.predict(model, x, { verbose: 0 }) : () => api.predict_on_batch(model, x);
const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
async function phase(n) {
  const [w0, c0] = [performance.now(), cpu()];
  for (let i = 0; i < n; i++) await step();
  return { wall: (performance.now() - w0) / n, cpu: (cpu() - c0) / n };
}
const cold = await phase(1000);
const warm = await phase(3000);
const r = (v) => Math.round(v * 10000) / 10000;
console.log(
  "@@ " +
    JSON.stringify({
      backend: BACKEND,
      call: CALL,
      cold_wall_ms: r(cold.wall),
      cold_cpu_ms: r(cold.cpu),
      warm_wall_ms: r(warm.wall),
      warm_cpu_ms: r(warm.cpu),
      tensors: api.tf ? api.tf.memory().numTensors : null,
    }),
);
process.exit(0);
