/**
 * Probe for the next round (bench/ANALYSIS.md, "What would come next"): the LSTM forward step function
 * (the WebAssembly lstm_fwd, tanh / sigmoid, no mask) against bench/probes/lstm_step_native.c, the same
 * operations in AVX2 written by hand — whether native step functions would give the same bits, and how
 * much faster they are. Not used by the package: a native step would be generated from the cells' phases.
 *   cc -O3 -ffp-contract=off -shared -fPIC -o /tmp/lstm_step.node bench/probes/lstm_step_native.c
 *   [B=1024] npx tsx bench/probes/lstm_step_native.ts
 */
import { createRequire } from "node:module";
import { FUSED_CELLS } from "../../src/layers/recurrent/fused/cells/index.js";
import { kernelsFor, newMemory, type MemoryKernels } from "../../src/layers/recurrent/fused/step_kernels.js";
const native = createRequire(import.meta.url)(process.env.PROBE_ADDON ?? "/tmp/lstm_step.node");
const B = Number(process.env.B ?? 1024),
  u = 64;
const mem = newMemory(2048);
const k = kernelsFor(mem) as MemoryKernels;
const fwd = k.cell(FUSED_CELLS.lstm, "tanh", "sigmoid").forward[0];
const f32 = new Float32Array(mem.buffer),
  u8 = new Uint8Array(mem.buffer);
let next = 64;
const alloc = (floats: number) => {
  const p = next;
  next += floats * 4 + 64;
  return p;
};
let s = 12345;
const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5) * 6;
const xp = alloc(B * 4 * u),
  bi = alloc(4 * u),
  rec = alloc(B * 4 * u);
for (const [p, n] of [
  [xp, B * 4 * u],
  [bi, 4 * u],
  [rec, B * 4 * u],
])
  for (let i = 0; i < n; i++) f32[p / 4 + i] = rnd();
const set = () => ({ c: alloc(B * u), gates: alloc(B * 5 * u), aux: alloc(B * u), h: alloc(B * u) });
const A = set(),
  N = set();
for (let i = 0; i < B * u; i++) f32[A.c / 4 + i] = f32[N.c / 4 + i] = rnd() / 2;
const args = (o: ReturnType<typeof set>) => ({
  B,
  u4: u * 4,
  xp,
  xpstride: 16 * u,
  bi,
  rec,
  c: o.c,
  gates: o.gates,
  aux: o.aux,
  h: o.h,
  mask: 0,
  mstride: 0,
});
fwd.call(args(A));
native.step(u8, B, u * 4, xp, 16 * u, bi, rec, N.c, N.gates, N.aux, N.h, 0, 1);
let diff = 0,
  total = 0;
for (const key of ["c", "gates", "aux", "h"] as const) {
  const n = key === "gates" ? B * 5 * u : B * u;
  for (let i = 0; i < n; i++) {
    total++;
    if (f32[A[key] / 4 + i] !== f32[N[key] / 4 + i] && !(isNaN(f32[A[key] / 4 + i]) && isNaN(f32[N[key] / 4 + i])))
      diff++;
  }
}
console.log(`bits: ${diff} of ${total} values differ`);
const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const REPS = 200;
for (let round = 0; round < 3; round++) {
  let t = cpu();
  for (let r = 0; r < REPS; r++) fwd.call(args(A));
  const w = (cpu() - t) / REPS;
  t = cpu();
  native.step(u8, B, u * 4, xp, 16 * u, bi, rec, N.c, N.gates, N.aux, N.h, 0, REPS);
  const n = (cpu() - t) / REPS;
  console.log(
    `B=${B}: wasm lstm_fwd ${(w * 1000).toFixed(1)} µs, native ${(n * 1000).toFixed(1)} µs (${(w / n).toFixed(2)}×)`,
  );
}
