/**
 * The streaming check of issue 13 with CPU time as well as wall time (the machine is shared):
 * a stateful GRU(64) → Dense(1), batch_input_shape (1, 1, 16), one step per call; ms per call over the
 * first 1,000 calls of this process (cold) and the next 3,000 (warm).
 *
 * usage: node [--import tsx] bench/stream.mjs BACKEND CALL   (wasm|cpu, predict|predict_on_batch)
 * tskeras comes from BENCH_TSKERAS (dist/index.js), else src/index.ts under tsx. Prints "@@ {json}", with
 * the CPU ms per call of the cold phase's segments (call 1, 2, 3–10, 11–100, 101–1,000).
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
/** Mean wall and CPU ms per call over `n` calls; `marks`: also the CPU ms per call of calls (prev, mark]. */
async function phase(n, marks = []) {
  const [w0, c0] = [performance.now(), cpu()];
  const segments = {};
  let [prev, cPrev] = [0, c0];
  for (let i = 0; i < n; i++) {
    await step();
    if (marks.includes(i + 1)) {
      const c = cpu();
      segments[`cpu_ms_calls_${prev + 1}_${i + 1}`] = r((c - cPrev) / (i + 1 - prev));
      [prev, cPrev] = [i + 1, c];
    }
  }
  return { wall: (performance.now() - w0) / n, cpu: (cpu() - c0) / n, segments };
}
const r = (v) => Math.round(v * 10000) / 10000;
const cold = await phase(1000, [1, 2, 10, 100, 1000]);
const warm = await phase(3000);
console.log(
  "@@ " +
    JSON.stringify({
      backend: BACKEND,
      call: CALL,
      cold_wall_ms: r(cold.wall),
      cold_cpu_ms: r(cold.cpu),
      warm_wall_ms: r(warm.wall),
      warm_cpu_ms: r(warm.cpu),
      ...cold.segments,
    }),
);
process.exit(0);
