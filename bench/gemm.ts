/**
 * The fused kernels' own matrix product (src/layers/recurrent/fused/gemm.ts) against the wasm backend's
 * (XNNPACK through tf.matMul, so one tfjs dispatch per product is included) at the recurrent layers'
 * shapes, and the native products (fused/native.ts: AVX-512 or AVX2 + FMA, where this machine builds them) on packed B.
 * CPU time of this process, GFLOP/s. `npx tsx bench/gemm.ts`
 */
import { tf } from "../src/backend/tf.js";
import { use_backend } from "../src/backend/index.js";
import { kernelsFor, newMemory } from "../src/layers/recurrent/fused/step_kernels.js";
import { nativeProductsStatus, setNativeProducts } from "../src/layers/recurrent/fused/native.js";
import { cpuMs, scratchAllocator } from "./wasm_scratch.js";

const memory = newMemory(2048);
const k = kernelsFor(memory);
if (typeof k === "string") throw new Error(k);
setNativeProducts(false);
const { gemmNN, packB } = k.utilities;
setNativeProducts(true);
const native = nativeProductsStatus();
const nativeNN = native.isa ? k.utilities.gemmNN : null;
const alloc = scratchAllocator();

await use_backend("wasm");
const shapes: [number, number, number, number, string][] = [
  [16, 64, 192, 40000, "per-step h·U, one chunk of GRU(64)"],
  [32, 64, 192, 20000, "per-step h·U, batch 32"],
  [16, 192, 64, 40000, "per-step dr·Uᵀ, one chunk"],
  [800, 16, 192, 500, "X·W of a chunk's 50 steps"],
  [1024, 64, 192, 300, "large"],
];
console.log(
  "| m × k × n | what | ours, B row-major | ours, B packed | native, B packed | tf.matMul (XNNPACK) |\n|---|---|---:|---:|---:|---:|",
);
for (const [m, kk, n, reps, what] of shapes) {
  const A = alloc(m * kk),
    B = alloc(kk * n),
    P = alloc(Math.ceil(n / 8) * 8 * kk),
    C = alloc(m * n);
  const f = new Float32Array(memory.buffer);
  for (let i = 0; i < m * kk; i++) f[A / 4 + i] = Math.sin(i);
  for (let i = 0; i < kk * n; i++) f[B / 4 + i] = Math.cos(i);
  packB.call({ src: B, k: kk, n, ld: n, trans: 0, dst: P });
  const rate = (run: () => void) => {
    for (let i = 0; i < 20; i++) run();
    const t0 = cpuMs();
    for (let i = 0; i < reps; i++) run();
    return (2 * m * kk * n * reps) / (cpuMs() - t0) / 1e6;
  };
  const g =
    (b: number, ldb: number, bpanel: number, product = gemmNN) =>
    () =>
      product.call({ m, k: kk, n, a: A, lda: kk * 4, b, ldb, bpanel, c: C, ldc: n * 4, acc: 0 });
  const nativeRate = nativeNN ? rate(g(P, 32, 32 * kk, nativeNN)).toFixed(1) : "–";
  const a = tf.tensor2d(f.slice(A / 4, A / 4 + m * kk), [m, kk]),
    b = tf.tensor2d(f.slice(B / 4, B / 4 + kk * n), [kk, n]);
  const x = rate(() => tf.matMul(a, b).dispose());
  tf.dispose([a, b]);
  console.log(
    `| ${m} × ${kk} × ${n} | ${what} | ${rate(g(B, n * 4, 32)).toFixed(1)} | ${rate(g(P, 32, 32 * kk)).toFixed(1)} | ${nativeRate} | ${x.toFixed(1)} |`,
  );
}
console.log(`native products: ${native.detail}`);
