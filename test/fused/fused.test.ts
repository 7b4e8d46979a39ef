import { expect } from "chai";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { fusedRnn, fusedRnnUnsupported, gemmJs, type FusedKind } from "../../src/layers/recurrent/fused/index.js";
import { referenceRnn, type RefArgs } from "./reference.js";
import {
  SIMD_MODULE_BYTES,
  setFusedSimd,
  simdKernelsFor,
  simdSupported,
} from "../../src/layers/recurrent/fused/simd.js";

/** Deterministic uniform(-scale, scale) values. */
function rand(seed: number, n: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

const T_ = (seed: number, shape: number[], scale = 1) =>
  tf.tensor(
    rand(
      seed,
      shape.reduce((a, b) => a * b, 1),
      scale,
    ),
    shape,
    "float32",
  );

/** An arbitrary mask: holes in the middle, masked leading steps, one row fully masked, one full. */
function arbitraryMask(B: number, T: number): Tensor {
  const m: number[] = [];
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const keep =
        b === 0 ? true : b === 1 ? t !== 2 && t !== 3 : b === 2 ? t >= 2 : b === 3 ? false : (b * 7 + t * 3) % 4 !== 0;
      m.push(keep ? 1 : 0);
    }
  return tf.tensor2d(m, [B, T], "bool");
}

interface Case {
  kind: FusedKind;
  resetAfter: boolean;
  mask: boolean;
  goBackwards: boolean;
  returnSequences: boolean;
  zeroOutputForMask: boolean;
  initial: boolean;
  bias: boolean;
  activation: string;
  recurrentActivation: string;
  B: number;
  T: number;
  F: number;
  u: number;
}

function setup(c: Case, seed = 1) {
  const G = c.kind === "gru" ? 3 : c.kind === "lstm" ? 4 : 1;
  const x = T_(seed, [c.B, c.T, c.F]);
  const kernel = T_(seed + 1, [c.F, G * c.u], 0.6);
  // scaled so the recurrence is not chaotic (float32 rounding differences must not blow up)
  const recurrentKernel = T_(seed + 2, [c.u, G * c.u], Math.min(0.6, 1.5 / Math.sqrt(c.u)));
  const bias = !c.bias
    ? null
    : c.kind === "gru" && c.resetAfter
      ? T_(seed + 3, [2, G * c.u], 0.3)
      : T_(seed + 3, [G * c.u], 0.3);
  const initialState = c.initial
    ? c.kind === "lstm"
      ? [T_(seed + 4, [c.B, c.u], 0.8), T_(seed + 5, [c.B, c.u], 0.8)]
      : [T_(seed + 4, [c.B, c.u], 0.8)]
    : [];
  const mask = c.mask ? arbitraryMask(c.B, c.T) : null;
  return { x, kernel, recurrentKernel, bias, initialState, mask };
}

type Setup = ReturnType<typeof setup>;

function refArgs(c: Case, s: Setup): RefArgs {
  return {
    ...c,
    x: s.x,
    kernel: s.kernel,
    recurrentKernel: s.recurrentKernel,
    bias: s.bias,
    initialState: s.initialState,
    mask: s.mask,
  };
}

const fusedArgs = (c: Case, s: Setup) => ({
  kind: c.kind,
  inputs: s.x,
  kernel: s.kernel,
  recurrentKernel: s.recurrentKernel,
  bias: s.bias,
  initialState: s.initialState,
  mask: s.mask,
  goBackwards: c.goBackwards,
  returnSequences: c.returnSequences,
  zeroOutputForMask: c.zeroOutputForMask,
  resetAfter: c.resetAfter,
  activation: c.activation,
  recurrentActivation: c.recurrentActivation,
});

/** Outputs and the gradients of a random projection of (output, states) w.r.t. every input. */
function run(c: Case, s: Setup, which: "fused" | "ref") {
  const diffables: Tensor[] = [s.x, s.kernel, s.recurrentKernel, ...(s.bias ? [s.bias] : []), ...s.initialState];
  const go = (...xs: Tensor[]) => {
    let k = 0;
    const x = xs[k++],
      kernel = xs[k++],
      recurrentKernel = xs[k++];
    const bias = s.bias ? xs[k++] : null;
    const initialState = xs.slice(k);
    const ss = { ...s, x, kernel, recurrentKernel, bias, initialState };
    return which === "fused" ? fusedRnn(fusedArgs(c, ss)) : referenceRnn(refArgs(c, ss));
  };
  const fwd = tf.tidy(() => {
    const r = go(...diffables);
    return [r.output, ...r.states];
  });
  const loss = (...xs: Tensor[]) => {
    const r = go(...xs);
    let l = tf.sum(tf.mul(r.output, T_(99, r.output.shape, 1)));
    r.states.forEach((st, i) => (l = tf.add(l, tf.sum(tf.mul(st, T_(100 + i, st.shape, 1))))));
    return l as tf.Scalar;
  };
  const grads = tf.tidy(() => tf.grads(loss)(diffables));
  return { fwd, grads };
}

function maxDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).to.deep.equal(b.shape);
  const x = a.dataSync(),
    y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i])));
  return m;
}

function compare(c: Case, seed = 1, tol = 1e-5) {
  const s = setup(c, seed);
  const f = run(c, s, "fused");
  const r = run(c, s, "ref");
  const names = ["output", ...(c.kind === "lstm" ? ["h", "c"] : ["h"])];
  f.fwd.forEach((t, i) => expect(maxDiff(t, r.fwd[i]), `forward ${names[i]}`).to.be.below(tol));
  const gnames = [
    "x",
    "kernel",
    "recurrent_kernel",
    ...(s.bias ? ["bias"] : []),
    ...s.initialState.map((_, i) => `initial_state[${i}]`),
  ];
  f.grads.forEach((t, i) => expect(maxDiff(t, r.grads[i]), `gradient w.r.t. ${gnames[i]}`).to.be.below(tol));
  // the test is not vacuous: gradients are not all zero
  for (const gr of r.grads)
    expect(Math.max(...Array.from(gr.dataSync()).map(Math.abs)), "reference gradient is nonzero").to.be.above(1e-3);
  tf.dispose([
    ...f.fwd,
    ...f.grads,
    ...r.fwd,
    ...r.grads,
    s.x,
    s.kernel,
    s.recurrentKernel,
    ...(s.bias ? [s.bias] : []),
    ...s.initialState,
    ...(s.mask ? [s.mask] : []),
  ]);
}

const base: Case = {
  kind: "gru",
  resetAfter: true,
  mask: false,
  goBackwards: false,
  returnSequences: true,
  zeroOutputForMask: false,
  initial: true,
  bias: true,
  activation: "tanh",
  recurrentActivation: "sigmoid",
  B: 5,
  T: 6,
  F: 4,
  u: 5,
};

const VARIANTS: { name: string; c: Partial<Case> }[] = [
  { name: "GRU reset_after", c: { kind: "gru", resetAfter: true } },
  { name: "GRU reset_before", c: { kind: "gru", resetAfter: false } },
  { name: "LSTM", c: { kind: "lstm" } },
  { name: "SimpleRNN", c: { kind: "simple_rnn" } },
];

for (const backend of ["wasm", "cpu"] as const) {
  describe(`fused recurrent kernels vs the step-wise reference (${backend})`, function () {
    this.timeout(60000);
    before(async () => {
      await use_backend(backend);
    });

    for (const v of VARIANTS) {
      describe(v.name, () => {
        for (const mask of [false, true])
          for (const goBackwards of [false, true])
            for (const returnSequences of [true, false])
              for (const zeroOutputForMask of mask ? [false, true] : [false]) {
                const c: Case = { ...base, ...v.c, mask, goBackwards, returnSequences, zeroOutputForMask };
                const name = `mask=${mask} go_backwards=${goBackwards} return_sequences=${returnSequences}${mask ? ` zero_output_for_mask=${zeroOutputForMask}` : ""}`;
                it(`outputs, states and all gradients agree to 1e-5: ${name}`, () => compare(c, 11));
              }
        it("no initial state and no bias", () =>
          compare({ ...base, ...v.c, initial: false, bias: false, mask: true }, 5));
        // batch × time ≥ 64 takes the fully vectorised wasm path (biases folded into the gemms)
        it("larger shapes (batch 9, 23 steps, 37 units)", () =>
          compare({ ...base, ...v.c, mask: true, B: 9, T: 23, F: 7, u: 37 }, 3));
        it("larger shapes, go_backwards, last output only, zero_output_for_mask", () =>
          compare(
            {
              ...base,
              ...v.c,
              mask: true,
              goBackwards: true,
              returnSequences: false,
              zeroOutputForMask: true,
              B: 8,
              T: 12,
              F: 3,
              u: 6,
            },
            8,
          ));
        it("larger shapes, activation sigmoid, no bias, no initial state", () =>
          compare(
            {
              ...base,
              ...v.c,
              mask: false,
              activation: "sigmoid",
              bias: false,
              initial: false,
              B: 16,
              T: 5,
              F: 3,
              u: 6,
            },
            9,
          ));
        // units a multiple of 4 take the WebAssembly SIMD gate kernels on wasm (simd.ts)
        for (const [mask, goBackwards, returnSequences] of [
          [false, false, true],
          [false, true, false],
          [true, false, true],
          [true, true, false],
        ])
          it(`units a multiple of 4 (SIMD gate kernels): mask=${mask} go_backwards=${goBackwards} return_sequences=${returnSequences}`, () =>
            compare({ ...base, ...v.c, mask, goBackwards, returnSequences, B: 7, T: 13, F: 5, u: 8 }, 31));
        it("units a multiple of 4, no initial state, no bias, larger batch", () =>
          compare({ ...base, ...v.c, initial: false, bias: false, B: 33, T: 9, F: 3, u: 12 }, 32));
        // masked sequences through the SIMD kernels, backward included (the _m kernels): holes, leading
        // masked steps, a fully masked row (arbitraryMask), both directions, both output modes
        for (const goBackwards of [false, true])
          for (const returnSequences of [true, false])
            for (const zeroOutputForMask of [false, true])
              it(`units a multiple of 4, masked (SIMD backward): go_backwards=${goBackwards} return_sequences=${returnSequences} zero_output_for_mask=${zeroOutputForMask}`, () =>
                compare(
                  {
                    ...base,
                    ...v.c,
                    mask: true,
                    goBackwards,
                    returnSequences,
                    zeroOutputForMask,
                    B: 9,
                    T: 11,
                    F: 3,
                    u: 12,
                  },
                  33,
                ));
        it("units a multiple of 4, masked, no initial state, no bias, larger batch", () =>
          compare(
            {
              ...base,
              ...v.c,
              mask: true,
              initial: false,
              bias: false,
              zeroOutputForMask: true,
              B: 34,
              T: 8,
              F: 5,
              u: 16,
            },
            34,
          ));
      });
    }

    describe("activations", () => {
      for (const [act, ract] of [
        ["tanh", "hard_sigmoid"],
        ["tanh", "hard_sigmoid_keras2"],
        ["relu", "sigmoid"],
        ["linear", "sigmoid"],
        ["sigmoid", "tanh"],
      ])
        for (const v of VARIANTS)
          it(`${v.name}: activation=${act} recurrent_activation=${ract}`, () =>
            compare({ ...base, ...v.c, mask: true, activation: act, recurrentActivation: ract }, 21));
    });

    it("GRU with the CuDNNGRU bias layout (6u) equals the (2, 3u) layout", () => {
      const c = { ...base };
      const s = setup(c, 4);
      const a = fusedRnn(fusedArgs(c, s));
      const b = fusedRnn({ ...fusedArgs(c, s), bias: tf.reshape(s.bias!, [-1]) });
      expect(maxDiff(a.output, b.output)).to.equal(0);
    });

    it("LSTM with the CuDNNLSTM bias layout (8u) acts as the sum of its halves, each getting the bias gradient", () => {
      const c: Case = { ...base, kind: "lstm", mask: true, B: 8, T: 9 };
      const s = setup(c, 12);
      const b2 = T_(77, [4 * c.u], 0.3);
      const b8 = tf.concat([s.bias!, b2]);
      const fused = tf.grads(
        (k: Tensor) =>
          tf.sum(tf.mul(fusedRnn({ ...fusedArgs(c, s), bias: k }).output, T_(5, [c.B, c.T, c.u]))) as tf.Scalar,
      )([b8])[0];
      const sum = tf.add(s.bias!, b2);
      const ref = tf.grads(
        (k: Tensor) =>
          tf.sum(tf.mul(referenceRnn({ ...refArgs(c, s), bias: k }).output, T_(5, [c.B, c.T, c.u]))) as tf.Scalar,
      )([sum])[0];
      expect(maxDiff(tf.slice(fused, [0], [4 * c.u]), ref)).to.be.below(1e-5);
      expect(maxDiff(tf.slice(fused, [4 * c.u], [4 * c.u]), ref)).to.be.below(1e-5);
      expect(
        maxDiff(
          fusedRnn({ ...fusedArgs(c, s), bias: b8 }).output,
          referenceRnn({ ...refArgs(c, s), bias: sum }).output,
        ),
      ).to.be.below(1e-5);
    });

    it("leaks no tensors: inference, gradients, tf.variableGrads", () => {
      const c: Case = { ...base, kind: "lstm", mask: true };
      const s = setup(c, 2);
      const W = tf.variable(s.kernel),
        U = tf.variable(s.recurrentKernel),
        bv = tf.variable(s.bias!);
      const step = () => {
        tf.tidy(() => {
          fusedRnn({ ...fusedArgs(c, s), kernel: W, recurrentKernel: U, bias: bv });
        });
        const { value, grads } = tf.variableGrads(() => {
          const r = fusedRnn({ ...fusedArgs(c, s), kernel: W, recurrentKernel: U, bias: bv });
          return tf.sum(tf.square(r.output)) as tf.Scalar;
        });
        expect(Object.keys(grads).sort()).to.have.length(3);
        tf.dispose([value, ...Object.values(grads)]);
      };
      step();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) step();
      expect(tf.memory().numTensors).to.equal(before);
    });

    it("streaming one step at a time carries the state like one whole-sequence call", () => {
      for (const kind of ["gru", "lstm", "simple_rnn"] as const) {
        const c: Case = { ...base, kind, B: 1, T: 8, initial: false };
        const s = setup(c, 6);
        const whole = fusedRnn(fusedArgs(c, s));
        let states: Tensor[] = [];
        const outs: Tensor[] = [];
        for (let t = 0; t < c.T; t++) {
          const xt = tf.slice(s.x, [0, t, 0], [1, 1, c.F]);
          const r = fusedRnn({
            ...fusedArgs({ ...c, T: 1 }, s),
            inputs: xt,
            initialState: states,
            returnSequences: false,
          });
          outs.push(r.output);
          states = r.states;
        }
        expect(maxDiff(tf.stack(outs, 1), whole.output)).to.be.below(1e-6);
        states.forEach((st, i) => expect(maxDiff(st, whole.states[i])).to.be.below(1e-6));
      }
    });
  });
}

describe("fused recurrent helpers", () => {
  it("gemmJs matches a naive triple loop (row blocks and remainder)", () => {
    const m = 9,
      k = 5,
      n = 7;
    const a = rand(1, m * k),
      b = rand(2, k * n),
      out = new Float32Array(m * n);
    gemmJs(a, m, k, b, n, out);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
        expect(out[i * n + j]).to.be.closeTo(s, 1e-5);
      }
  });

  it("fusedRnnUnsupported names the reason", () => {
    expect(
      fusedRnnUnsupported({ kind: "gru", activation: "tanh", recurrentActivation: "sigmoid", backend: "wasm" }),
    ).to.equal(null);
    expect(fusedRnnUnsupported({ kind: "gru", activation: "softplus", backend: "cpu" })).to.match(/softplus/);
    expect(fusedRnnUnsupported({ kind: "gru", backend: "tensorflow" })).to.match(/wasm and cpu/);
    expect(fusedRnnUnsupported({ kind: "conv_lstm", backend: "cpu" })).to.match(/conv_lstm/);
  });
});

describe("fused kernels on wasm when the heap grows inside the kernel", () => {
  it("gives the same numbers as the cpu kernels (views into wasm memory are re-taken after every malloc)", async function () {
    this.timeout(60000);
    await use_backend("wasm");
    const heap = ((tf.backend() as any).wasm.HEAPU8 as Uint8Array).length;
    // x takes half the current heap; the kernel's scratch (time-major copy of x, projections) cannot fit
    const Bt = 64,
      F = 4,
      u = 2;
    const T = Math.ceil((0.5 * heap) / (4 * Bt * F));
    const xs = rand(7, Bt * T * F),
      ks = rand(8, F * 3 * u, 0.5),
      rs = rand(9, u * 3 * u, 0.5);
    const runOn = async (backend: "wasm" | "cpu") => {
      await use_backend(backend);
      const x = tf.tensor(xs, [Bt, T, F]),
        k = tf.tensor(ks, [F, 3 * u]),
        r = tf.tensor(rs, [u, 3 * u]);
      const out = fusedRnn({ kind: "gru", inputs: x, kernel: k, recurrentKernel: r, bias: null });
      const v = [out.output.dataSync().slice(), out.states[0].dataSync().slice()];
      tf.dispose([x, k, r, out.output, ...out.states]);
      return v;
    };
    const w = await runOn("wasm");
    expect(((tf.backend() as any).wasm.HEAPU8 as Uint8Array).length, "the heap grew").to.be.above(heap);
    const c = await runOn("cpu");
    for (let i = 0; i < 2; i++) for (let j = 0; j < w[i].length; j++) expect(w[i][j]).to.be.closeTo(c[i][j], 1e-5);
  });
});

describe("WebAssembly SIMD gate kernels (simd.ts)", () => {
  const WA = (globalThis as any).WebAssembly;
  const fresh = () => {
    const memory = new WA.Memory({ initial: 16 });
    return { k: simdKernelsFor(memory)!, f: new Float32Array(memory.buffer) };
  };

  it("the module validates (Node 20 has wasm SIMD) and binds to a memory", () => {
    expect(WA.validate(SIMD_MODULE_BYTES)).to.equal(true);
    expect(simdSupported()).to.equal(true);
    expect(fresh().k).to.not.equal(null);
  });

  it("tanh and sigmoid (through the SimpleRNN and GRU steps) are within 1e-6 of Math's", () => {
    const { k, f } = fresh();
    const n = 4096,
      u = 64,
      B = n / u;
    // SimpleRNN: h = tanh(xp + rec), rec = 0
    for (let i = 0; i < n; i++) f[i] = -12 + (24 * i) / n;
    f.fill(0, n, 2 * n);
    k.rnn_fwd(B, u * 4, 0, n * 4, n * 4, 2 * n * 4, 3 * n * 4, 0, 0); // bi = rec = zeros
    let err = 0;
    for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(f[2 * n + i] - Math.tanh(f[i])));
    expect(err).to.be.below(1e-6);
    // GRU with rec = 0: gates z, r = sigmoid(xp); the input rows are (B/4) × 3u
    const Bg = B / 4,
      xp = 0,
      rec = 4 * n,
      h = 8 * n,
      gates = 12 * n,
      aux = 16 * n;
    for (let i = 0; i < 3 * Bg * u; i++) f[xp / 4 + i] = -12 + (24 * i) / (3 * Bg * u);
    f.fill(0, rec / 4, rec / 4 + 3 * Bg * u);
    f.fill(0, h / 4, h / 4 + Bg * u);
    k.gru_fwd(Bg, u * 4, xp, rec, rec, rec, h, gates, aux, 0, 0); // biases = rec = zeros
    err = 0;
    for (let b = 0; b < Bg; b++)
      for (let g = 0; g < 2 * u; g++) {
        const x = f[xp / 4 + b * 3 * u + g];
        err = Math.max(err, Math.abs(f[gates / 4 + b * 3 * u + g] - 1 / (1 + Math.exp(-x))));
      }
    expect(err).to.be.below(1e-6);
  });

  it("transpose matches a naive transpose (4×4 blocks, column panels, leftover rows)", () => {
    const { k, f } = fresh();
    for (const [rows, cols] of [
      [11, 8],
      [91, 36],
      [3, 4],
      [64, 20],
    ]) {
      for (let i = 0; i < rows * cols; i++) f[i] = i + 0.5;
      k.transpose(0, rows, cols, 65536);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) expect(f[16384 + c * rows + r]).to.equal(r * cols + c + 0.5);
    }
  });

  it("switched off, the wasm kernels fall back to the JavaScript gate passes with the same results", async function () {
    this.timeout(60000);
    await use_backend("wasm");
    for (const [kind, resetAfter, mask] of [
      ["gru", true, false],
      ["gru", false, false],
      ["lstm", true, false],
      ["simple_rnn", true, false],
      ["gru", true, true],
      ["gru", false, true],
      ["lstm", true, true],
      ["simple_rnn", true, true],
    ] as const) {
      const c: Case = { ...base, kind, resetAfter, mask, B: 6, T: 7, u: 8 };
      const s = setup(c, 41);
      const on = run(c, s, "fused");
      const was = setFusedSimd(false);
      let off;
      try {
        off = run(c, s, "fused");
      } finally {
        setFusedSimd(was);
      }
      on.fwd.forEach((t, i) => expect(maxDiff(t, off.fwd[i])).to.be.below(1e-5));
      on.grads.forEach((t, i) => expect(maxDiff(t, off.grads[i])).to.be.below(1e-5));
      tf.dispose([
        ...on.fwd,
        ...on.grads,
        ...off.fwd,
        ...off.grads,
        s.x,
        s.kernel,
        s.recurrentKernel,
        ...(s.bias ? [s.bias] : []),
        ...s.initialState,
        ...(s.mask ? [s.mask] : []),
      ]);
    }
  });
});
