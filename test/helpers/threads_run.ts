/**
 * One run for test/fused/threads.test.ts, in a child process (TSKERAS_NUM_THREADS set by the parent):
 * (and TSKERAS_RELAXED_SIMD for test/fused/relaxed_simd.test.ts): forward and backward of the fused kernels for a GRU (masked, go_backwards), an LSTM and a SimpleRNN on
 * a batch of 40 rows (3 chunks: 16, 16, 8), on the backend given; prints (JSON) every output and
 * gradient, how many jobs ran on worker threads and whether the products used relaxed SIMD.
 */
import { tf } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { fusedRnn, type FusedCellId } from "../../src/layers/recurrent/fused/index.js";
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
for (const [cell, G, biasShape] of [
  ["gru_reset_after", 3, [2, 3 * u]],
  ["lstm", 4, [4 * u]],
  ["simple_rnn", 1, [u]],
] as [FusedCellId, number, number[]][]) {
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
      mask: cell === "gru_reset_after" ? mask : null,
      goBackwards: cell === "gru_reset_after",
      returnSequences: true,
    });
    return tf.sum(tf.mul(r.output, w));
  };
  const { value, grads } = tf.valueAndGrads(f)([x, W, U, b, h0]);
  out[cell] = [...value.dataSync(), ...grads.flatMap((g) => Array.from(g.dataSync()))];
}
console.log(JSON.stringify({ out, threadedJobs: threadedJobs(), relaxedSimd: relaxedSimd() }));
