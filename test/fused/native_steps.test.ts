/**
 * The fused kernels' native step functions (fused/native_steps.ts: AVX2 C generated from the cells'
 * phases, built per cell and activations where the native products run). They give the WebAssembly step
 * functions' bits: every step function of every cell, each activation as activation and as recurrent
 * activation, run alone on the same memory (unit counts with a tail, masked rows, NaN, ±0, ±Inf,
 * subnormals), and whole fits and predictions compared with `setNativeSteps(false)`, each asserting
 * which step functions ran.
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  keras_model_sequential,
  layer_gru,
  layer_lstm,
  layer_simple_rnn,
  predict,
  rnn_fused_status,
  use_backend,
} from "../../src/index.js";
import { FUSED_CELLS } from "../../src/layers/recurrent/fused/cells/index.js";
import { FUSED_ACTIVATIONS } from "../../src/layers/recurrent/fused/lane_algebra.js";
import { nativeProductsStatus } from "../../src/layers/recurrent/fused/native.js";
import {
  nativeStepCalls,
  nativeStepsFor,
  nativeStepsStatus,
  setNativeStepLanes,
  setNativeSteps,
  type StepLanes,
} from "../../src/layers/recurrent/fused/native_steps.js";
import {
  rowBlocks,
  stepLayouts,
  strideParam,
  type PhaseLayout,
} from "../../src/layers/recurrent/fused/phase_layout.js";
import {
  kernelsFor,
  newMemory,
  type MemoryKernels,
  type StepKernel,
} from "../../src/layers/recurrent/fused/step_kernels.js";
import { expectSameFitsAndPredictions, NATIVE_MODEL_CASES } from "../helpers/native_models.js";

const missing = nativeProductsStatus().isa ? null : nativeProductsStatus().detail;
/** The vector widths this machine runs: AVX2's 8 lanes, and AVX-512's 16 where the CPU has it (the default there). */
const widths: StepLanes[] = /^flags\s*:.*\bavx512f\b/m.test(readFileSync("/proc/cpuinfo", "utf8")) ? [8, 16] : [8];

/** Runs `f` with the native step functions on or off (modules compiled meanwhile take that setting). */
async function withSteps<T>(on: boolean, f: () => Promise<T> | T): Promise<{ result: T; stepCalls: number }> {
  setNativeSteps(on);
  try {
    const before = nativeStepCalls();
    const result = await f();
    return { result, stepCalls: nativeStepCalls() - before };
  } finally {
    setNativeSteps(true);
  }
}

/** The step functions of `cell` for these activations, by name, native or WebAssembly. */
function stepKernels(k: MemoryKernels, cell: (typeof FUSED_CELLS)["lstm"], act: string, ract: string, native: boolean) {
  setNativeSteps(native);
  try {
    const c = k.cell(cell, act as never, ract as never);
    const byName = new Map<string, StepKernel>();
    for (const s of [...c.forward, ...c.backward, ...c.backwardMasked]) byName.set(s.name, s);
    return { byName, native: c.compiled.steps !== null };
  } finally {
    setNativeSteps(true);
  }
}

/**
 * A value of block `block`, unit `j` of row `r` of a buffer: ±0 in whole unit columns (so that sums of
 * them are ±0 too), NaN, ±Inf and a subnormal in a few places, values in [0, 1] and around it (the hard
 * sigmoid's slope region and its edges), the rest spread over [−4, 4].
 */
function valueAt(buffer: number, r: number, block: number, j: number): number {
  if (j === 0) return -0;
  if (j === 1) return 0;
  if (j === 2 && r === 1 && buffer % 2 === 0) return NaN;
  if (j === 3 && r === 2) return buffer % 2 ? Infinity : -Infinity;
  if (j === 4 && r === 0) return 1e-40;
  if (j === 5) return [0, 1, 0.5, -1][(r + block) % 4];
  const s = Math.sin(1 + 7.3 * buffer + 3.1 * r + 1.7 * block + 0.37 * j);
  return j % 3 === 0 ? Math.abs(s) : s * 4;
}

/** Arguments for one step function over B rows of u units, each buffer laid out and filled in `f32`. */
function lay(layout: PhaseLayout, B: number, u: number, f32: Float32Array, masked: readonly number[]) {
  const u4 = 4 * u;
  const args: Record<string, number> = { B, u4 };
  let at = 256;
  layout.buffers.forEach((b, bi) => {
    const width = layout.shape.blocks.get(b as never) ?? 1;
    const blocks = rowBlocks(b, layout.cell);
    // a stride buffer gets a gap after each row (strides are not widths)
    const stride = blocks === "stride" ? (width + 1) * u4 : blocks * u4;
    if (blocks === "stride") args[strideParam(b)] = stride;
    args[b] = at;
    for (let r = 0; r < (blocks === 0 ? 1 : B); r++)
      for (let k = 0; k < width; k++)
        for (let j = 0; j < u; j++) f32[(at + r * stride + k * u4 + 4 * j) / 4] = valueAt(bi, r, k, j);
    at += (B - 1) * stride + width * u4 + 64;
  });
  if (layout.params.includes("mask")) {
    const bytes = new Uint8Array(f32.buffer);
    args.mask = at;
    args.mstride = 3;
    for (let r = 0; r < B; r++) bytes[at + 3 * r] = masked.includes(r) ? 0 : 1;
    at += 3 * B + 64;
  }
  return { args, end: at };
}

/** Whether two memories hold the same float32 words (NaN equal to NaN, whatever its payload). */
function differences(a: Uint32Array, b: Uint32Array): string[] {
  const out: string[] = [];
  const fa = new Float32Array(a.buffer, a.byteOffset, a.length),
    fb = new Float32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length && out.length < 5; i++)
    if (a[i] !== b[i] && !(Number.isNaN(fa[i]) && Number.isNaN(fb[i])))
      out.push(
        `byte ${4 * i}: WebAssembly ${fa[i]} (0x${a[i].toString(16)}), native ${fb[i]} (0x${b[i].toString(16)})`,
      );
  return out;
}

describe("fused kernels: native step functions", function () {
  this.timeout(120000);

  before(async function () {
    await use_backend("wasm");
    if (missing)
      console.log(`      (native step functions not available here: ${missing}; only the fallback is tested)`);
  });

  it("are in use where the native products are; rnn_fused_status() says so", function () {
    if (missing) this.skip();
    const status = nativeStepsStatus(FUSED_CELLS.lstm, "tanh", "sigmoid");
    const isa = widths.includes(16) ? "AVX-512" : "AVX2";
    expect(status.isa, status.detail).to.equal(isa);
    const model = pipe(keras_model_sequential({ input_shape: [3, 2] }), layer_lstm({ units: 2 }));
    expect(rnn_fused_status(model)[0].steps, "what rnn_fused_status() tells the user").to.equal(`native (${isa})`);
  });

  it("rnn_fused_status() says when the WebAssembly step functions run instead, and why", () => {
    const model = pipe(keras_model_sequential({ input_shape: [3, 2] }), layer_gru({ units: 2 }));
    setNativeSteps(false);
    try {
      expect(rnn_fused_status(model)[0].steps).to.equal("WebAssembly SIMD: turned off (setNativeSteps(false))");
    } finally {
      setNativeSteps(true);
    }
  });

  describe("every step function gives the WebAssembly one's bits", () => {
    // each activation once as the activation and once as the recurrent activation, per cell
    const pairs = FUSED_ACTIVATIONS.map((act, i) => [act, FUSED_ACTIVATIONS[(i + 1) % FUSED_ACTIVATIONS.length]]);
    after(() => setNativeStepLanes(widths[widths.length - 1]));
    for (const lanes of widths)
      for (const cell of Object.values(FUSED_CELLS))
        for (const [act, ract] of pairs)
          it(`${lanes} lanes: ${cell.id}, ${act} / ${ract}`, function () {
            if (missing) this.skip();
            setNativeStepLanes(lanes);
            const memory = newMemory(32);
            const k = kernelsFor(memory) as MemoryKernels;
            const wasm = stepKernels(k, cell, act, ract, false);
            const native = stepKernels(k, cell, act, ract, true);
            expect([wasm.native, native.native], "which step functions each module imports").to.deep.equal([
              false,
              true,
            ]);
            const words = new Uint32Array(memory.buffer);
            const before = nativeStepCalls();
            let calls = 0;
            for (const layout of stepLayouts(cell))
              // 13 units: a group of 8 and a tail of 5 (WebAssembly: a pair of 4, then 1 at a time); 37 units:
              // a pair of groups of 16, and a tail
              for (const u of [13, 16, 3, 37])
                for (const masked of [[], [1, 4]]) {
                  words.fill(0);
                  const { args, end } = lay(layout, 6, u, new Float32Array(memory.buffer), masked);
                  if (!masked.length && "mask" in args && layout.masked) continue;
                  if (!masked.length && "mask" in args) args.mask = 0;
                  const start = words.slice(0, end / 4);
                  wasm.byName.get(layout.fname)!.call(args);
                  const expected = words.slice(0, end / 4);
                  words.set(start);
                  native.byName.get(layout.fname)!.call(args);
                  calls++;
                  const diff = differences(expected, words.slice(0, end / 4));
                  expect(diff, `${layout.fname}, ${u} units, rows ${masked} masked`).to.deep.equal([]);
                }
            expect(nativeStepCalls() - before, "each call ran natively").to.equal(calls);
          });
  });

  it("refuse a call that reaches outside the memory (an error, not a crash)", function () {
    if (missing) this.skip();
    const memory = newMemory(1);
    const k = kernelsFor(memory) as MemoryKernels;
    const step = stepKernels(k, FUSED_CELLS.lstm, "tanh", "sigmoid", true).byName.get("lstm_fwd")!;
    const args = {
      B: 2,
      u4: 32,
      xp: 0,
      xpstride: 128,
      bi: 0,
      rec: 0,
      c: 1024,
      gates: 2048,
      aux: 4096,
      h: 8192,
      mask: 0,
      mstride: 0,
    };
    expect(() => step.call(args)).not.to.throw();
    expect(() => step.call({ ...args, h: 65536 - 32 })).to.throw(/outside the memory/);
    expect(() => step.call({ ...args, mask: 65535, mstride: 1 })).to.throw(/outside the memory/);
    expect(() => step.call({ ...args, u4: 30 })).to.throw(/outside the memory/);
  });

  it("a cell whose file does not build runs its WebAssembly step functions, and rnn_fused_status() says why", async function () {
    if (missing) this.skip();
    const cache = mkdtempSync(join(tmpdir(), "tskeras-steps-"));
    const saved = { CC: process.env.CC, dir: process.env.TSKERAS_CACHE_DIR };
    process.env.CC = join(cache, "no-such-compiler");
    process.env.TSKERAS_CACHE_DIR = cache;
    try {
      // a cell and activations no other test builds (what failed stays failed for the process)
      expect(nativeStepsFor(FUSED_CELLS.simple_rnn, "hard_sigmoid_keras2", "sigmoid")).to.equal(null);
      const model = pipe(
        keras_model_sequential({ input_shape: [4, 2] }),
        layer_simple_rnn({ units: 3, activation: "hard_sigmoid_keras2" }),
      );
      expect(rnn_fused_status(model)[0].steps).to.match(/^WebAssembly SIMD: .*could not build/);
      const before = nativeStepCalls();
      const out = (await predict(
        model,
        [
          [
            [1, 2],
            [3, 4],
            [5, 6],
            [7, 8],
          ],
        ],
        { verbose: 0 },
      )) as number[][];
      expect(out[0]).to.have.length(3);
      expect(nativeStepCalls(), "no native step ran").to.equal(before);
      expect(readdirSync(cache), "no debris").to.deep.equal([]);
    } finally {
      if (saved.CC === undefined) delete process.env.CC;
      else process.env.CC = saved.CC;
      if (saved.dir === undefined) delete process.env.TSKERAS_CACHE_DIR;
      else process.env.TSKERAS_CACHE_DIR = saved.dir;
      rmSync(cache, { recursive: true, force: true });
    }
  });

  describe("whole models: fits and predictions equal with the native step functions on and off", () => {
    for (const [name, build, data] of NATIVE_MODEL_CASES)
      it(name, async function () {
        if (missing) this.skip();
        await expectSameFitsAndPredictions(
          build,
          data,
          (on, f) => withSteps(on, f).then((r) => ({ result: r.result, nativeCalls: r.stepCalls })),
          "step function",
        );
      });
  });
});
