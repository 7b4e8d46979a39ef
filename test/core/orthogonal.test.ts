/**
 * The orthogonal initializer's QR runs in WebAssembly (ops/gram_schmidt.ts). Its values must be those of
 * modified Gram–Schmidt in JavaScript float64 on the same normal draws, bit for bit (the reference below
 * is the textbook loop), and orthonormal.
 */
import { expect } from "chai";
import { initialize } from "../../src/ops/initializers.js";
import { Rng } from "../../src/ops/random.js";

/** Keras's orthogonal by modified Gram–Schmidt, in plain JavaScript. */
function reference(shape: number[], gain: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const cols = shape[shape.length - 1];
  const [m, n] = [Math.max(rows, cols), Math.min(rows, cols)];
  const a = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a[j * m + i] = rng.normal();
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < m; i++) dot += a[k * m + i] * a[j * m + i];
      for (let i = 0; i < m; i++) a[j * m + i] -= dot * a[k * m + i];
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += a[j * m + i] * a[j * m + i];
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < m; i++) a[j * m + i] /= norm;
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[r * cols + c] = gain * (rows >= cols ? a[c * m + r] : a[r * m + c]);
  return out;
}

describe("initializer_orthogonal's values", () => {
  for (const [shape, gain, seed] of [
    [[64, 192], 1, 1],
    [[192, 64], 1, 2],
    [[5, 5], 2, 3],
    [[1, 7], 1, 4],
    [[3, 2, 6], 0.5, 5],
    [[300, 257], 1, 6],
  ] as [number[], number, number][]) {
    it(`(${shape.join(", ")}), gain ${gain}: modified Gram–Schmidt's bits, orthonormal rows or columns`, () => {
      const w = initialize({ class_name: "Orthogonal", config: { gain, seed } }, shape);
      const ref = reference(shape, gain, seed);
      expect(w.length).to.equal(ref.length);
      const differing = w.findIndex((v, i) => !Object.is(v, ref[i]));
      expect(differing, `first differing value at ${differing}`).to.equal(-1);
      const rows = w.length / shape[shape.length - 1];
      const cols = shape[shape.length - 1];
      // the shorter side's vectors are orthonormal (times gain²)
      const [count, len, at] =
        rows >= cols
          ? [cols, rows, (v: number, i: number) => w[i * cols + v]]
          : [rows, cols, (v: number, i: number) => w[v * cols + i]];
      for (let p = 0; p < count; p++)
        for (let q = p; q < Math.min(count, p + 3); q++) {
          let dot = 0;
          for (let i = 0; i < len; i++) dot += at(p, i) * at(q, i);
          expect(dot).to.be.closeTo(p === q ? gain * gain : 0, 1e-5);
        }
    });
  }
});
