/**
 * GatherV2 (tf.gather, Embedding's lookups) on wasm and cpu is this package's kernel (src/backend/
 * gather.ts: tfjs 4.22's take 40–70 ns per value), with the expected values indexed by hand here:
 * any axis, batch_dims, int32 and bool data, out-of-range indices refused, other dtypes through tfjs's
 * kernel. (Its speed is measured by bench/w4_padding.mjs, not here.)
 */
import { expect } from "chai";
import { tf } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { registeredGatherKernel } from "../../src/backend/gather.js";

describe("GatherV2 (Embedding lookups) on cpu and wasm", () => {
  after(async () => {
    await use_backend("wasm");
  });

  for (const backend of ["cpu", "wasm"] as const)
    it(`${backend}: axis 0, 1 and -1, batch_dims 1, int32 and bool data, indices of any shape`, async () => {
      await use_backend(backend);
      // x[i][j][k] = 100 i + 10 j + k, shape (2, 3, 4)
      const vals = (i: number, j: number, k: number) => 100 * i + 10 * j + k;
      const x = tf.tensor3d(
        Array.from({ length: 24 }, (_, n) => vals(Math.floor(n / 12), Math.floor(n / 4) % 3, n % 4)),
        [2, 3, 4],
      );
      const g0 = tf.gather(x, tf.tensor2d([1, 0, 1, 1], [2, 2], "int32"));
      expect(g0.shape).to.deep.equal([2, 2, 3, 4]);
      const rows = [1, 0, 1, 1].flatMap((i) => Array.from({ length: 12 }, (_, n) => vals(i, Math.floor(n / 4), n % 4)));
      expect(Array.from(g0.dataSync())).to.deep.equal(rows);
      const g1 = tf.gather(x, tf.tensor1d([2, 2, 0], "int32"), 1);
      expect(g1.shape).to.deep.equal([2, 3, 4]);
      expect(Array.from(g1.dataSync())).to.deep.equal(
        [0, 1].flatMap((i) => [2, 2, 0].flatMap((j) => [0, 1, 2, 3].map((k) => vals(i, j, k)))),
      );
      const g2 = tf.gather(x, tf.tensor1d([3, 0], "int32"), -1);
      expect(g2.shape).to.deep.equal([2, 3, 2]);
      expect(Array.from(g2.dataSync())).to.deep.equal(
        [0, 1].flatMap((i) => [0, 1, 2].flatMap((j) => [3, 0].map((k) => vals(i, j, k)))),
      );
      // batch_dims 1: row i of x takes its own indices
      const gb = tf.gather(x, tf.tensor2d([2, 0, 1, 1], [2, 2], "int32"), 1, 1);
      expect(gb.shape).to.deep.equal([2, 2, 4]);
      expect(Array.from(gb.dataSync())).to.deep.equal(
        [
          [0, 2],
          [0, 0],
          [1, 1],
          [1, 1],
        ].flatMap(([i, j]) => [0, 1, 2, 3].map((k) => vals(i, j, k))),
      );
      const xi = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], "int32");
      const gi = tf.gather(xi, tf.tensor1d([2, 0], "int32"));
      expect(gi.dtype).to.equal("int32");
      expect(Array.from(gi.dataSync())).to.deep.equal([5, 6, 1, 2]);
      const xb = tf.tensor1d([true, false, true], "bool");
      const gbool = tf.gather(xb, tf.tensor1d([1, 2, 1], "int32"));
      expect(gbool.dtype).to.equal("bool");
      expect(Array.from(gbool.dataSync())).to.deep.equal([0, 1, 0]);
      expect(() => tf.gather(x, tf.tensor1d([0, 2], "int32")), "index past the axis").to.throw(
        "GatherV2: the index value 2 is not in [0, 1]",
      );
      expect(() => tf.gather(x, tf.tensor1d([-1], "int32"))).to.throw("GatherV2: the index value -1 is not in [0, 1]");
      if (backend === "cpu")
        // other dtypes go to tfjs's kernel, as before
        expect(() => tf.gather(tf.complex([1, 2], [3, 4]), tf.tensor1d([1], "int32"))).to.throw(
          "gatherV2 does not support complex64 tensors in the CPU backend",
        );
      tf.dispose([x, g0, g1, g2, gb, xi, gi, xb, gbool]);
    });

  it("the registered kernels are this package's", async () => {
    for (const backend of ["cpu", "wasm"] as const) {
      await use_backend(backend);
      const ours = registeredGatherKernel(backend);
      expect(ours, backend).to.be.a("function");
      expect(tf.getKernel("GatherV2", backend)?.kernelFunc, backend).to.equal(ours);
    }
  });
});
