/**
 * Issue 9 §1 at full length: 1,000 fits of a ~1M-parameter Adam model from one compiled value on the wasm
 * backend, with natural GC only. Before the bounded runtime cache each fit kept ~12 MB of device memory
 * and the wasm backend aborted after ~250 fits; now memory stops growing once the cache is full.
 */
import { expect } from "chai";
import { compile, fit, keras_model_sequential, layer_dense, use_backend } from "../../src/index.js";
import { tf } from "../../src/backend/tf.js";
import { RUNTIME_CACHE_LIMITS, releaseAllRuntimes, runtimeCacheStats } from "../../src/engine/runtime.js";

describe("device memory over 1,000 fits of a 1M-parameter Adam model (wasm)", function () {
  this.timeout(30 * 60 * 1000);
  before(async () => {
    await use_backend("wasm");
    expect((globalThis as { gc?: unknown }).gc, "must run without --expose-gc").to.equal(undefined);
  });
  after(() => releaseAllRuntimes());

  it("does not grow device memory and does not abort the backend", async () => {
    // 1000 -> 1000 dense: 1,001,000 weights (4 MB), Adam's two slots per weight (8 MB more).
    const model = compile(layer_dense(keras_model_sequential({ input_shape: [1000] }), { units: 1000 }), {
      optimizer: "adam",
      loss: "mse",
    });
    const x = tf.randomNormal([8, 1000], 0, 1, "float32", 1);
    const y = tf.randomNormal([8, 1000], 0, 1, "float32", 2);
    const warmUp = RUNTIME_CACHE_LIMITS.maxEntries + 2;
    let plateau: { numTensors: number; numBytes: number } | undefined;
    for (let i = 0; i < 1000; i++) {
      await fit(model, x, y, { verbose: 0, batch_size: 8 });
      if (i + 1 === warmUp) plateau = tf.memory();
    }
    const end = tf.memory();
    expect(end.numTensors).to.equal(plateau!.numTensors);
    expect(end.numBytes).to.equal(plateau!.numBytes);
    expect(runtimeCacheStats().bytes).to.be.at.most(RUNTIME_CACHE_LIMITS.maxBytes);
    tf.dispose([x, y]);
  });
});
