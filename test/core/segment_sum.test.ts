/**
 * UnsortedSegmentSum (the Embedding gradient) on cpu is this package's kernel (tfjs-backend-cpu's loops
 * over every segment for every input row: an Embedding(1000) gradient was 86% of a training step), with
 * the numbers summed by hand here, on cpu and wasm alike. (Its speed is measured by bench/, not here:
 * tfjs-backend-cpu's kernel visits every segment for every row, seconds for a vocabulary of 10^6.)
 */
import { expect } from "chai";
import { tf } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { cpuUnsortedSegmentSum } from "../../src/backend/wasm_kernels.js";

describe("UnsortedSegmentSum (Embedding gradient) on cpu and wasm", () => {
  after(async () => {
    await use_backend("wasm");
  });

  for (const backend of ["cpu", "wasm"] as const)
    it(`${backend}: rows summed per id, ids out of range dropped, int32 data`, async () => {
      await use_backend(backend);
      const x = tf.tensor2d([1, 2, 10, 20, 100, 200, 1000, 2000], [4, 2]);
      const out = tf.unsortedSegmentSum(x, tf.tensor1d([2, 0, 2, 7], "int32"), 3);
      expect(out.shape).to.deep.equal([3, 2]);
      expect(Array.from(out.dataSync())).to.deep.equal([10, 20, 0, 0, 101, 202]);
      const xi = tf.tensor1d([5, 6, 7], "int32");
      const outI = tf.unsortedSegmentSum(xi, tf.tensor1d([1, 1, 0], "int32"), 2);
      expect(outI.dtype).to.equal("int32");
      expect(Array.from(outI.dataSync())).to.deep.equal([7, 11]);
      tf.dispose([x, out, xi, outI]);
    });

  it("cpu: a vocabulary of 10^6 costs the rows, not the vocabulary (the embedding gradient path)", async () => {
    await use_backend("cpu");
    const vocab = 1_000_000;
    const emb = tf.variable(tf.zeros([vocab, 4]));
    const ids = tf.tensor2d([[3, 999_999, 3, 0]], [1, 4], "int32");
    expect(tf.getKernel("UnsortedSegmentSum", "cpu")?.kernelFunc, "the registered kernel").to.equal(
      cpuUnsortedSegmentSum,
    );
    const g = tf.grad((e: tf.Tensor) => tf.sum(tf.gather(e, ids)))(emb);
    const row = (i: number) => Array.from(g.slice([i, 0], [1, 4]).dataSync());
    expect(row(3)).to.deep.equal([2, 2, 2, 2]);
    expect(row(999_999)).to.deep.equal([1, 1, 1, 1]);
    expect(row(1)).to.deep.equal([0, 0, 0, 0]);
    tf.dispose([emb, ids, g]);
  });
});
