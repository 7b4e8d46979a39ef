/**
 * One run for test/fused/threads.test.ts, in a child process (TSKERAS_NUM_THREADS set by the parent):
 * (and TSKERAS_RELAXED_SIMD for test/fused/relaxed_simd.test.ts): forward and backward of the fused kernels for a GRU (masked, go_backwards), an LSTM and a SimpleRNN on
 * a batch of 40 rows (3 chunks: 16, 16, 8), on the backend given; prints (JSON) every output and
 * gradient, how many jobs ran on worker threads and whether the products used relaxed SIMD.
 */
import { tf } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { fusedKernelCalls, fusedRnn, type FusedCellId } from "../../src/layers/recurrent/fused/index.js";
import { threadedJobs } from "../../src/layers/recurrent/fused/threads.js";
import { relaxedSimd } from "../../src/layers/recurrent/fused/wasm.js";

await use_backend(process.argv[2] as "wasm" | "cpu");
const B = 40,
  T = 7,
  F = 5,
  u = 12;
let seed = 7;
const rand = (shape: number[], scale = 0.5) =>
  tf.tensor(
    Array.from(
      { length: shape.reduce((a, b) => a * b, 1) },
      () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5) * 2 * scale,
    ),
    shape,
  );
const out: Record<string, number[]> = {};
// and an LSTM and a GRU with padding at the end or the start (lengths 0 to 7, out of order: the kernels
// order the rows by length and skip the padding; the run fails unless they skipped exactly the padding)
const paddedAt = (end: boolean) =>
  tf.tensor(
    Array.from({ length: B * T }, (_, i) => {
      const L = (Math.floor(i / T) * 5) % 8;
      return (end ? i % T < L : i % T >= T - L) ? 1 : 0;
    }),
    [B, T],
  );
const [paddedAtEnd, paddedAtStart] = [paddedAt(true), paddedAt(false)];
for (const [name, cell, G, biasShape, padding, goBackwards] of [
  ["gru_reset_after", "gru_reset_after", 3, [2, 3 * u], null, true],
  ["lstm", "lstm", 4, [4 * u], null, false],
  ["simple_rnn", "simple_rnn", 1, [u], null, false],
  ["lstm padded at the end", "lstm", 4, [4 * u], paddedAtEnd, false],
  ["gru padded at the end, go_backwards", "gru_reset_after", 3, [2, 3 * u], paddedAtEnd, true],
  ["lstm padded at the start, go_backwards", "lstm", 4, [4 * u], paddedAtStart, true],
] as [string, FusedCellId, number, number[], tf.Tensor | null, boolean][]) {
  const x = rand([B, T, F], 1),
    W = rand([F, G * u]),
    U = rand([u, G * u]),
    b = rand(biasShape, 0.1),
    h0 = rand([B, u]),
    w = rand([B, T, u], 1);
  const mask = tf.tensor(
    Array.from({ length: B * T }, (_, i) => ((i * 7) % 5 === 0 ? 0 : 1)),
    [B, T],
  );
  const f = (xx: tf.Tensor, WW: tf.Tensor, UU: tf.Tensor, bb: tf.Tensor, hh: tf.Tensor) => {
    const r = fusedRnn({
      cell,
      inputs: xx,
      kernel: WW,
      recurrentKernel: UU,
      bias: bb,
      initialState: cell === "lstm" ? [hh, hh] : [hh],
      mask: padding ?? (cell === "gru_reset_after" ? mask : null),
      goBackwards,
      returnSequences: true,
    });
    return tf.sum(tf.mul(r.output, w));
  };
  const skippedBefore = fusedKernelCalls().paddingSkipped;
  const { value, grads } = tf.valueAndGrads(f)([x, W, U, b, h0]);
  out[name] = [...value.dataSync(), ...grads.flatMap((g) => Array.from(g.dataSync()))];
  // forward and backward each skip rows × steps − Σ lengths = 40 · 7 − 140
  const skipped = fusedKernelCalls().paddingSkipped - skippedBefore;
  if (skipped !== (padding ? 2 * (B * T - 140) : 0)) throw new Error(`${name}: ${skipped} padding steps skipped`);
}
console.log(JSON.stringify({ out, threadedJobs: threadedJobs(), relaxedSimd: relaxedSimd() }));
