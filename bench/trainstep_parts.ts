/**
 * Parts of W1's serial training step alone, CPU ms per call (best of 7 repeats): the Adam update of W1's
 * 5 trainable weights (GRU(64) over 16 features, Dense(1)), and taking one batch of 32 rows of a
 * [n, 50, 16] data set (n = 256: bench/peers/node_peer.mjs's 8 batches per fit; n = 4096).
 * `TSKERAS_NUM_THREADS=1 npx tsx bench/trainstep_parts.ts [wasm|cpu]`.
 */
import { tf } from "../src/backend/tf.js";
import { use_backend } from "../src/backend/index.js";
import { OptimizerRuntime, optimizer_adam } from "../src/ops/optimizers.js";

const backend = (process.argv[2] ?? "wasm") as "wasm" | "cpu";
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
function best(calls: number, f: () => void): number {
  const ms: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = cpuMs();
    for (let i = 0; i < calls; i++) f();
    ms.push((cpuMs() - t0) / calls);
  }
  return Math.min(...ms);
}

async function main() {
  await use_backend(backend);
  const shapes = [[16, 192], [64, 192], [2, 192], [64, 1], [1]];
  const vars = shapes.map((s, i) => tf.variable(tf.randomNormal(s), true, `w${i}`));
  const grads = shapes.map((s) => tf.randomNormal(s).mul(0.01));
  const opt = new OptimizerRuntime(optimizer_adam());
  const pairs = vars.map((v, i) => ({ target: { key: `${i}`, variable: v }, grad: grads[i] }));
  const adam = best(200, () => opt.apply(pairs));
  const out = [`${backend}: Adam update of W1's 5 weights ${adam.toFixed(3)} ms`];
  for (const n of [256, 4096]) {
    const x = tf.randomNormal([n, 50, 16]);
    const ms = best(50, () => tf.slice(x, [64, 0, 0], [32, -1, -1]).dispose());
    out.push(`batch of 32 from ${n} rows ${ms.toFixed(3)} ms`);
    x.dispose();
  }
  console.log(out.join(" | "));
}
main();
