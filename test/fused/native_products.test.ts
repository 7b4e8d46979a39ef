/**
 * The fused kernels' native products (fused/native.ts, assets/native/products.c): built with this
 * machine's C compiler and used on Linux x86-64 with AVX2 + FMA. They give the WebAssembly products' bits
 * (the same chain of fused multiply-adds per element): products alone over many shapes and layouts, and
 * whole fits and predictions (GRU both variants, LSTM, SimpleRNN, masks, Bidirectional, stacked layers,
 * worker threads) compared with `setNativeProducts(false)`, each asserting which products ran.
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keras_model_sequential, layer_gru, rnn_fused_status, use_backend } from "../../src/index.js";
import { kernelsFor, newMemory, type MemoryKernels } from "../../src/layers/recurrent/fused/step_kernels.js";
import {
  decideNativeProducts,
  nativeProductCalls,
  nativeProductsStatus,
  setNativeProductLanes,
  setNativeProducts,
} from "../../src/layers/recurrent/fused/native.js";
import { expectSameFitsAndPredictions, NATIVE_MODEL_CASES } from "../helpers/native_models.js";

/** Why this machine cannot use the native products (then only the fallback is tested), or null. */
function unavailable(): string | null {
  if (process.platform !== "linux" || process.arch !== "x64") return `${process.platform}/${process.arch}`;
  if (spawnSync(process.env.CC || "cc", ["--version"]).status !== 0) return "no C compiler";
  const flags = readFileSync("/proc/cpuinfo", "utf8");
  if (!/\bavx2\b/.test(flags) || !/\bfma\b/.test(flags)) return "no AVX2 + FMA";
  return null;
}
const missing = unavailable();
/** The products' vector widths on this machine: AVX2's 8 lanes, and AVX-512's 16 where the CPU has it (its default). */
const widths: (8 | 16)[] = /^flags\s*:.*\bavx512f\b/m.test(readFileSync("/proc/cpuinfo", "utf8")) ? [8, 16] : [8];

function values(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296) * 2 - 1;
  });
}

/** Runs `f` with the native products on or off (modules compiled meanwhile take that setting). */
async function withNative<T>(on: boolean, f: () => Promise<T> | T): Promise<{ result: T; nativeCalls: number }> {
  setNativeProducts(on);
  try {
    const before = nativeProductCalls();
    const result = await f();
    return { result, nativeCalls: nativeProductCalls() - before };
  } finally {
    setNativeProducts(true);
  }
}

describe("fused kernels: native products", function () {
  this.timeout(60000);

  before(async function () {
    await use_backend("wasm");
    if (missing) {
      console.log(`      (native products not available here: ${missing}; only the fallback is tested)`);
    }
  });

  it("are in use on Linux x86-64 with a C compiler and AVX2 + FMA (AVX-512 where the CPU has it)", function () {
    if (missing) this.skip();
    const status = nativeProductsStatus();
    const isa = widths.includes(16) ? "AVX-512" : "AVX2 + FMA";
    expect(status.isa, status.detail).to.equal(isa);
    expect(status.detail, "the addon's file").to.match(/products-[0-9a-f]{16}\.node$/);
    const model = pipe(keras_model_sequential({ input_shape: [3, 2] }), layer_gru({ units: 2 }));
    expect(rnn_fused_status(model)[0].products, "what rnn_fused_status() tells the user").to.equal(`native (${isa})`);
  });

  it("rnn_fused_status() says when the WebAssembly products run instead, and why", () => {
    const model = pipe(keras_model_sequential({ input_shape: [3, 2] }), layer_gru({ units: 2 }));
    setNativeProducts(false);
    try {
      expect(rnn_fused_status(model)[0].products).to.equal("WebAssembly SIMD: turned off (setNativeProducts(false))");
    } finally {
      setNativeProducts(true);
    }
  });

  it("give the WebAssembly products' bits: row-major and packed B, Aᵀ, accumulate, partial panels, k = 0, AVX2 and AVX-512", async function () {
    if (missing) this.skip();
    const memory = newMemory(64, true);
    const kernels = kernelsFor(memory, true) as MemoryKernels;
    const f32 = new Float32Array(memory.buffer);
    const shapes = [
      [16, 64, 256],
      [7, 5, 13],
      [13, 33, 20],
      [1, 0, 8],
      [6, 16, 24],
      [40, 130, 9],
      [0, 4, 8],
      [5, 1, 1],
      [9, 7, 33],
      [17, 12, 56],
    ];
    let compared = 0;
    for (const lanes of widths)
      for (const [m, k, n] of shapes)
        for (const transA of [false, true])
          for (const packed of [false, true])
            for (const acc of [0, 1]) {
              if (!packed && n % 8) continue;
              const A = 1024,
                B = A + 4 * m * k + 64,
                C = B + 4 * Math.ceil(n / 8) * 8 * k + 64;
              expect(setNativeProductLanes(lanes), `${lanes} lanes`).to.equal(true);
              const run = (on: boolean) =>
                withNative(on, () => {
                  f32.set(values(m * k, m + 3 * k), A / 4);
                  f32.set(values(Math.ceil(n / 8) * 8 * k, n + k), B / 4);
                  f32.set(values(m * n, 11), C / 4);
                  const args = { m, k, n, a: A, lda: transA ? 4 * m : 4 * k, b: B, c: C, ldc: 4 * n, acc };
                  const layout = packed ? { ldb: 32, bpanel: 32 * k } : { ldb: 4 * n, bpanel: 32 };
                  (transA ? kernels.utilities.gemmTN : kernels.utilities.gemmNN).call({ ...args, ...layout });
                  return Array.from(f32.subarray(C / 4, C / 4 + m * n));
                });
              const wasm = await run(false);
              const native = await run(true);
              expect(wasm.nativeCalls, "off: no native product").to.equal(0);
              expect(native.nativeCalls, "on: the native product ran").to.equal(1);
              const what = `${lanes} lanes: ${m}×${k}×${n} transA ${transA} packed ${packed} acc ${acc}`;
              expect(native.result, what).to.deep.equal(wasm.result);
              compared++;
            }
    expect(compared).to.equal(60 * widths.length);
    setNativeProductLanes(widths[widths.length - 1]);
  });

  it("refuse a product that reaches outside the memory (an error, not a crash)", async function () {
    if (missing) this.skip();
    const memory = newMemory(1, true);
    const kernels = kernelsFor(memory, true) as MemoryKernels;
    const past = { m: 4, k: 8, n: 8, a: 0, lda: 32, b: 1024, ldb: 32, bpanel: 256, c: 65536 - 64, ldc: 32, acc: 0 };
    await withNative(true, () => {
      expect(() => kernels.utilities.gemmNN.call(past)).to.throw(/outside the memory/);
      expect(() => kernels.utilities.gemmNN.call({ ...past, c: 2048 })).not.to.throw();
    });
  });

  describe("whole models: fits and predictions equal with the native products on and off", () => {
    for (const [name, build, data] of NATIVE_MODEL_CASES)
      it(name, async function () {
        if (missing) this.skip();
        await expectSameFitsAndPredictions(build, data, withNative, "product");
      });
  });

  describe("deciding and building (decideNativeProducts)", () => {
    let cache: string;
    beforeEach(() => {
      cache = mkdtempSync(join(tmpdir(), "tskeras-native-"));
    });
    afterEach(() => rmSync(cache, { recursive: true, force: true }));

    it("TSKERAS_NATIVE=0 turns them off", () => {
      const d = decideNativeProducts({ TSKERAS_NATIVE: "0", TSKERAS_CACHE_DIR: cache });
      expect(d)
        .to.be.a("string")
        .and.match(/TSKERAS_NATIVE=0/);
      expect(readdirSync(cache)).to.deep.equal([]);
    });

    it("a compiler that fails gives the WebAssembly products and a reason, and leaves no file behind", function () {
      if (process.platform !== "linux" || process.arch !== "x64") this.skip();
      const d = decideNativeProducts({ CC: join(cache, "no-such-compiler"), TSKERAS_CACHE_DIR: cache });
      expect(d)
        .to.be.a("string")
        .and.match(/could not build/);
      expect(readdirSync(cache)).to.deep.equal([]);
    });

    it("builds the addon once into the cache and loads it from there afterwards", function () {
      if (missing) this.skip();
      const first = decideNativeProducts({ TSKERAS_CACHE_DIR: cache });
      expect(first, String(first)).to.be.an("object");
      const files = readdirSync(cache);
      expect(files).to.have.length(1);
      expect(files[0]).to.match(/^products-[0-9a-f]{16}\.node$/);
      const built = statSync(join(cache, files[0])).mtimeMs;
      const second = decideNativeProducts({ TSKERAS_CACHE_DIR: cache });
      expect(second).to.be.an("object");
      expect(existsSync(join(cache, files[0]))).to.equal(true);
      expect(statSync(join(cache, files[0])).mtimeMs, "not rebuilt").to.equal(built);
      expect(readdirSync(cache)).to.deep.equal(files);
    });

    it("builds it again when the cached file does not load (a damaged cache)", function () {
      if (missing) this.skip();
      expect(decideNativeProducts({ TSKERAS_CACHE_DIR: cache })).to.be.an("object");
      const [file] = readdirSync(cache);
      // the same name in another cache (the loaded file itself must not be overwritten: it is mapped)
      const damaged = join(cache, "damaged");
      mkdirSync(damaged);
      writeFileSync(join(damaged, file), "not a shared object");
      const again = decideNativeProducts({ TSKERAS_CACHE_DIR: damaged });
      expect(again, String(again)).to.be.an("object");
      expect(readFileSync(join(damaged, file)).subarray(1, 4).toString(), "an ELF file again").to.equal("ELF");
      expect(readdirSync(damaged)).to.deep.equal([file]);
    });
  });
});
