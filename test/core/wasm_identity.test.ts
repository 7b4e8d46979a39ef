/**
 * On wasm, Identity (tf.clone, the tensors a gradient tape saves) shares the data instead of copying it
 * (src/backend/wasm_kernels.ts): the values stay the clone's own whatever happens to the original.
 */
import { expect } from "chai";
import { tf } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";

describe("Identity on wasm shares the data", () => {
  before(async () => {
    await use_backend("wasm");
  });

  it("a clone is the same data, outlives its original, and the data is freed with the last of them", () => {
    const buffers = () => (tf.memory() as { numDataBuffers: number }).numDataBuffers;
    const before = buffers();
    const x = tf.tensor([1.5, -2, 3], [3]);
    const y = tf.clone(x);
    expect(buffers() - before, "one buffer for both").to.equal(1);
    x.dispose();
    expect(Array.from(y.dataSync())).to.deep.equal([1.5, -2, 3]);
    expect(buffers() - before, "kept by the clone").to.equal(1);
    y.dispose();
    expect(buffers()).to.equal(before);
    // strings too
    const s = tf.tensor(["a", "bc"]);
    const t = tf.clone(s);
    s.dispose();
    expect(t.arraySync()).to.deep.equal(["a", "bc"]);
    t.dispose();
  });

  it("gradients through saved (cloned) tensors are unchanged: d/dx sum(exp(x)·x) = exp(x)·(1 + x)", () => {
    const x = tf.tensor([0.5, -1, 2]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.exp(v), v)))(x);
    const want = [0.5, -1, 2].map((v) => Math.exp(v) * (1 + v));
    Array.from(g.dataSync()).forEach((v, i) => expect(v).to.be.closeTo(want[i], 1e-5));
    tf.dispose([x, g]);
  });
});
