/**
 * The fused GRU kernel alone, as a one-step stream calls it: GRU(64), 16 features, batch 1, one step, no
 * gradient. Prints "@@ {json}": the CPU µs per call (process.cpuUsage) of the best of REPEATS blocks of
 * CALLS calls, after a warm-up.
 *
 * usage: node bench/fused_step.mjs [wasm|cpu]   (tskeras from BENCH_TSKERAS_DIST, a built dist/ folder; default ../dist)
 */
const [BACKEND = "wasm"] = process.argv.slice(2);
const dist = process.env.BENCH_TSKERAS_DIST ?? "../dist";
const { use_backend } = await import(`${dist}/index.js`);
const { tf } = await import(`${dist}/backend/tf.js`);
const { fusedRnn } = await import(`${dist}/layers/recurrent/fused/index.js`);
await use_backend(BACKEND);
const [F, u, CALLS, REPEATS] = [16, 64, 5000, 7];
const x = tf.randomNormal([1, 1, F]),
  kernel = tf.randomNormal([F, 3 * u]),
  recurrentKernel = tf.randomNormal([u, 3 * u]),
  bias = tf.randomNormal([2, 3 * u]);
let h = tf.zeros([1, u]);
const call = () => {
  const r = fusedRnn({
    cell: "gru_reset_after",
    inputs: x,
    kernel,
    recurrentKernel,
    bias,
    initialState: [h],
    mask: null,
    goBackwards: false,
    returnSequences: false,
    zeroOutputForMask: false,
    activation: "tanh",
    recurrentActivation: "sigmoid",
  });
  h.dispose();
  r.output.dispose();
  h = r.states[0];
};
const cpu = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
for (let i = 0; i < CALLS; i++) call();
const blocks = [];
for (let r = 0; r < REPEATS; r++) {
  const c0 = cpu();
  for (let i = 0; i < CALLS; i++) call();
  blocks.push((cpu() - c0) / CALLS);
}
const us = (v) => Math.round(v * 100) / 100;
console.log("@@ " + JSON.stringify({ backend: BACKEND, best_cpu_us: us(Math.min(...blocks)), blocks: blocks.map(us) }));
process.exit(0);
