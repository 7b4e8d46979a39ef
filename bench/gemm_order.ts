/**
 * The fused kernels' matrix product (src/layers/recurrent/fused/gemm.ts) in both tile orders ("rows",
 * "panels") and in blocks of k (0: one pass) at the training step's shapes (a chunk of 16 rows × 50 steps
 * of W1/W2), CPU time, µs per call (best of 7), and whether every variant gives the bits of the first.
 * `npx tsx bench/gemm_order.ts`
 */
import { gemmFunction, type TileOrder } from "../src/layers/recurrent/fused/gemm.js";
import { moduleBytes, relaxedSimd } from "../src/layers/recurrent/fused/wasm.js";
import { newMemory, WA } from "../src/layers/recurrent/fused/step_kernels.js";
import { cpuMs, scratchAllocator } from "./wasm_scratch.js";

relaxedSimd();
const memory = newMemory(2048);
const variants: [TileOrder, number][] = [
  ["rows", 0], // gemm_tn before blocks of k
  ["panels", 0],
  ["rows", 64],
  ["panels", 64],
  ["rows", 128],
  ["panels", 128], // the kernels' gemm_tn (TN_K_BLOCK)
  ["panels", 256],
];
const orders = variants.map(([o, kb]) => `${o}${kb || ""}`);
const fns = [false, true].flatMap((t) =>
  variants.map(([o, kb], v) => gemmFunction(t, o, kb, `${t ? "tn" : "nn"}_${orders[v]}`)),
);
const exports = new WA!.Instance(new WA!.Module(moduleBytes(fns)), { env: { memory } }).exports as Record<
  string,
  (...a: number[]) => void
>;
const alloc = scratchAllocator();
// m, k, n, packed B (nn: ldb 32), A transposed, calls per repeat, what
const shapes: [number, number, number, boolean, boolean, number, string][] = [
  [16, 64, 256, true, false, 4000, "h·U per step, LSTM(64), U packed"],
  [16, 256, 64, true, false, 4000, "dr·Uᵀ per step, LSTM(64), Uᵀ packed"],
  [16, 64, 192, true, false, 4000, "h·U per step, GRU(64)"],
  [16, 192, 64, true, false, 4000, "dr·Uᵀ per step, GRU(64)"],
  [800, 16, 256, false, false, 200, "X·W of a chunk, LSTM(64)"],
  [64, 800, 256, false, true, 100, "dU = Hprevᵀ·dR of a chunk, LSTM(64)"],
  [16, 800, 256, false, true, 400, "dW = Xᵀ·dXP of a chunk, LSTM(64)"],
  [64, 800, 192, false, true, 100, "dU of a chunk, GRU(64)"],
];
const lines: string[] = [];
for (const [m, k, n, packed, trans, reps, what] of shapes) {
  const A = alloc(m * k),
    B = alloc(Math.ceil(n / 8) * 8 * k),
    C = orders.map(() => alloc(m * n));
  const f = new Float32Array(memory.buffer);
  for (let i = 0; i < m * k; i++) f[A / 4 + i] = Math.sin(i);
  for (let i = 0; i < Math.ceil(n / 8) * 8 * k; i++) f[B / 4 + i] = Math.cos(i);
  const [ldb, bpanel] = packed ? [32, 32 * k] : [n * 4, 32];
  const lda = trans ? m * 4 : k * 4;
  const us = orders.map((o, v) => {
    const g = exports[`${trans ? "tn" : "nn"}_${o}`];
    const run = () => g(m, k, n, A, lda, B, ldb, bpanel, C[v], n * 4, 0);
    for (let i = 0; i < 20; i++) run();
    let best = Infinity;
    for (let r = 0; r < 7; r++) {
      const t0 = cpuMs();
      for (let i = 0; i < reps; i++) run();
      best = Math.min(best, (cpuMs() - t0) / reps);
    }
    return best * 1000;
  });
  const f2 = new Float32Array(memory.buffer);
  let same = true;
  for (let v = 1; v < orders.length; v++)
    for (let i = 0; i < m * n; i++) same &&= Object.is(f2[C[0] / 4 + i], f2[C[v] / 4 + i]);
  lines.push(
    `${m}×${k}×${n} ${what}: ${orders.map((o, v) => `${o} ${us[v].toFixed(2)}`).join(", ")} µs; same bits ${same}`,
  );
}
console.log(lines.join("\n"));
