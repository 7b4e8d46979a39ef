/**
 * A fused cell's step functions alone (LSTM_CELL, default lstm: every forward and backward phase) on
 * LSTM_B (default 1024) rows × 64 units, and gemm_nn at LSTM's per-step product's shape (B×64 · 64×256,
 * U row-major and U packed into panels as the forward reads it from 1,024 row-steps on):
 * CPU µs per call, best of LSTM_REPS (default 9) batches of calls. `npx tsx bench/lstm_kernels.ts`.
 */
import { FUSED_CELLS, type FusedCellId } from "../src/layers/recurrent/fused/cells/index.js";
import { kernelsFor, newMemory, type MemoryKernels } from "../src/layers/recurrent/fused/step_kernels.js";

const B = Number(process.env.LSTM_B ?? 1024),
  U = 64,
  REPS = Number(process.env.LSTM_REPS ?? 9);
const mem = newMemory(2048);
const k = kernelsFor(mem) as MemoryKernels;
const cellK = k.cell(FUSED_CELLS[(process.env.LSTM_CELL ?? "lstm") as FusedCellId], "tanh", "sigmoid");
const f32 = new Float32Array(mem.buffer);
for (let i = 0; i < f32.length; i++) f32[i] = Math.sin(i * 0.37) * 2;
let next = 64;
const alloc = (floats: number) => {
  const p = next;
  next += floats * 4 + 64;
  return p;
};
const args: Record<string, number> = { B, u4: U * 4, mask: 0, mstride: 0 };
for (const fn of [...cellK.forward, ...cellK.backward])
  for (const p of fn.fn.params)
    if (!(p in args)) {
      if (p.endsWith("stride")) args[p] = 4 * 4 * U;
      else args[p] = alloc(B * 8 * U);
    }
const cpu = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
const time = (name: string, f: () => void, calls: number) => {
  for (let i = 0; i < calls; i++) f();
  let best = Infinity;
  for (let r = 0; r < REPS; r++) {
    const t0 = cpu();
    for (let i = 0; i < calls; i++) f();
    best = Math.min(best, (cpu() - t0) / calls);
  }
  console.log(`${name}: ${best.toFixed(1)} µs`);
};
for (const fn of [...cellK.forward, ...cellK.backward]) time(fn.name, () => fn.call(args), 200);
const gemm = cellK.utilities.gemmNN;
const a = alloc(B * U),
  b = alloc(U * 4 * U),
  c = alloc(B * 4 * U);
time(
  "gemm_nn B×64·64×256",
  () => gemm.call({ m: B, k: U, n: 4 * U, a, lda: 4 * U, b, ldb: 16 * U, bpanel: 32, c, ldc: 16 * U, acc: 0 }),
  50,
);
const packed = alloc(U * 4 * U);
cellK.utilities.packB.call({ src: b, k: U, n: 4 * U, ld: 4 * U, trans: 0, dst: packed });
time(
  "gemm_nn B×64·64×256, U packed",
  () => gemm.call({ m: B, k: U, n: 4 * U, a, lda: 4 * U, b: packed, ldb: 32, bpanel: 32 * U, c, ldc: 16 * U, acc: 0 }),
  50,
);
