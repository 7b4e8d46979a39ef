import { expect } from "chai";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import {
  fusedKernelCalls,
  fusedRnn,
  type FusedActivation,
  type FusedCellId,
} from "../../src/layers/recurrent/fused/index.js";
import { referenceRnn, type RefArgs } from "./reference.js";
import { forgetForwardLayouts, MAX_PADDED_LAYOUTS } from "../../src/layers/recurrent/fused/driver.js";
import { FUSED_CELLS } from "../../src/layers/recurrent/fused/cells/index.js";
import { allFunctionsFor, kernelsFor, newMemory } from "../../src/layers/recurrent/fused/step_kernels.js";
import { GEMM_FUNCTIONS, gemmFunction, TN_K_BLOCK } from "../../src/layers/recurrent/fused/gemm.js";
import { moduleBytes } from "../../src/layers/recurrent/fused/wasm.js";
import { setNativeSteps } from "../../src/layers/recurrent/fused/native_steps.js";
import { arenaBytes, keptBuffers } from "../../src/layers/recurrent/fused/mem.js";

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

/** Where padding goes: at the end, at the start, or the end for even rows and the start for odd ones. */
type PadAt = "end" | "start" | "both";

/** Padding: row b keeps lengths[b mod lengths.length] steps, its first ones or its last ones (`at`). */
function paddedMask(B: number, T: number, lengths: readonly number[], at: PadAt = "end"): Tensor {
  const m: number[] = [];
  for (let b = 0; b < B; b++) {
    const L = lengths[b % lengths.length];
    const start = at === "start" || (at === "both" && b % 2 === 1);
    for (let t = 0; t < T; t++) m.push((start ? t >= T - L : t < L) ? 1 : 0);
  }
  return tf.tensor2d(m, [B, T], "bool");
}

type FusedKind = "gru" | "lstm" | "simple_rnn";

interface Case {
  kind: FusedKind;
  resetAfter: boolean;
  mask: boolean;
  goBackwards: boolean;
  returnSequences: boolean;
  zeroOutputForMask: boolean;
  initial: boolean;
  bias: boolean;
  activation: FusedActivation;
  recurrentActivation: FusedActivation;
  B: number;
  T: number;
  F: number;
  u: number;
  /** With `mask`: padding of these lengths (cycled over the rows) instead of an arbitrary mask. */
  lengths?: readonly number[];
  /** Where the padding is (default "end"). */
  padAt?: PadAt;
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
  const mask = !c.mask ? null : c.lengths ? paddedMask(c.B, c.T, c.lengths, c.padAt) : arbitraryMask(c.B, c.T);
  return { x, kernel, recurrentKernel, bias, initialState, mask };
}

type Setup = ReturnType<typeof setup>;

/** Every tensor a setup made (to dispose). */
const setupTensors = (s: Setup): Tensor[] => [
  s.x,
  s.kernel,
  s.recurrentKernel,
  ...(s.bias ? [s.bias] : []),
  ...s.initialState,
  ...(s.mask ? [s.mask] : []),
];

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

const cellId = (c: { kind: FusedKind; resetAfter: boolean }): FusedCellId =>
  c.kind === "gru" ? (c.resetAfter ? "gru_reset_after" : "gru_reset_before") : c.kind;

const fusedArgs = (c: Case, s: Setup) => ({
  cell: cellId(c),
  inputs: s.x,
  kernel: s.kernel,
  recurrentKernel: s.recurrentKernel,
  bias: s.bias,
  initialState: s.initialState,
  mask: s.mask,
  goBackwards: c.goBackwards,
  returnSequences: c.returnSequences,
  zeroOutputForMask: c.zeroOutputForMask,
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
  const calls = fusedKernelCalls();
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
  // the path under test ran: one fused forward and backward each (forward twice: inference, then taped)
  const now = fusedKernelCalls();
  const ran = which === "fused" ? 1 : 0;
  expect(now.forward - calls.forward, "fused forward calls").to.equal(2 * ran);
  expect(now.backward - calls.backward, "fused backward calls").to.equal(ran);
  expect(now.savedKept - calls.savedKept, "backward calls reading the saved tensors in the arena").to.equal(ran);
  // padding: each of the three kernel calls skipped every row's padding steps, and nothing else (padding at
  // both ends is no padding the kernels skip)
  let padding = 0;
  if (c.mask && c.lengths && c.padAt !== "both")
    for (let b = 0; b < c.B; b++) padding += c.T - c.lengths[b % c.lengths.length];
  expect(now.paddingSkipped - calls.paddingSkipped, "padding steps skipped").to.equal(3 * ran * padding);
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
  tf.dispose([...f.fwd, ...f.grads, ...r.fwd, ...r.grads, ...setupTensors(s)]);
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

    // padding at the end (as from mask_zero) or at the start (pad_sequences' default): the kernels order
    // the rows by length and skip the padding steps; rows of length 0, 1 and full length, lengths out of
    // order, 37 rows (chunks of 16, 16 and 5)
    for (const v of VARIANTS)
      describe(`${v.name}, padded mask (padding skipped)`, () => {
        for (const padAt of ["end", "start"] as const)
          for (const goBackwards of [false, true])
            for (const returnSequences of [true, false])
              for (const zeroOutputForMask of [false, true])
                for (const u of [8, 5])
                  it(`padding at the ${padAt}: go_backwards=${goBackwards} return_sequences=${returnSequences} zero_output_for_mask=${zeroOutputForMask} units=${u}`, () =>
                    compare(
                      {
                        ...base,
                        ...v.c,
                        mask: true,
                        lengths: [3, 11, 1, 7, 11, 0, 5, 2, 9, 4, 10, 6, 1, 8],
                        padAt,
                        goBackwards,
                        returnSequences,
                        zeroOutputForMask,
                        B: 37,
                        T: 11,
                        F: 3,
                        u,
                      },
                      41,
                    ));
        it("padding at the start of some rows and at the end of others: not padding, nothing skipped", () =>
          compare({ ...base, ...v.c, mask: true, lengths: [3, 5, 2, 6], padAt: "both", B: 20, T: 6, F: 3, u: 8 }, 44));
        it("every row full length: nothing skipped", () =>
          compare({ ...base, ...v.c, mask: true, lengths: [6], B: 20, T: 6, F: 3, u: 8 }, 42));
        it("no initial state, no bias, already ordered rows", () =>
          compare(
            { ...base, ...v.c, mask: true, initial: false, bias: false, lengths: [9, 9, 7, 4, 4, 1], B: 6, T: 9, u: 4 },
            43,
          ));
      });

    describe("activations", () => {
      for (const [act, ract] of [
        ["tanh", "hard_sigmoid"],
        ["tanh", "hard_sigmoid_keras2"],
        ["relu", "sigmoid"],
        ["linear", "sigmoid"],
        ["sigmoid", "tanh"],
      ] as const)
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
          tf.sum(
            tf.mul(
              fusedRnn({ ...fusedArgs(c, s), bias: k, biasLayout: "input+recurrent" }).output,
              T_(5, [c.B, c.T, c.u]),
            ),
          ) as tf.Scalar,
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
          fusedRnn({ ...fusedArgs(c, s), bias: b8, biasLayout: "input+recurrent" }).output,
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

    it("U packed for the per-step products (from 1,024 row-steps on) changes no number: 40 rows × 26 steps give the bits of their first 39 rows run unpacked", () => {
      for (const v of VARIANTS) {
        const c: Case = { ...base, ...v.c, B: 40, T: 26, u: 9, goBackwards: true };
        const s = setup(c, 8);
        const first39 = (t: Tensor) => tf.slice(t, 0, 39);
        const before = fusedKernelCalls().packedForward;
        const packed = fusedRnn(fusedArgs(c, s));
        expect(fusedKernelCalls().packedForward - before, `${v.name}: packed`).to.equal(1);
        const x39 = first39(s.x),
          states39 = s.initialState.map(first39);
        const plain = fusedRnn({ ...fusedArgs(c, s), inputs: x39, initialState: states39 });
        expect(fusedKernelCalls().packedForward - before, `${v.name}: 39 × 26 < 1,024 not packed`).to.equal(1);
        const rows = [packed.output, ...packed.states].map(first39);
        [plain.output, ...plain.states].forEach((t, i) =>
          expect(Array.from(rows[i].dataSync()), `${v.name}: output ${i}`).to.deep.equal(Array.from(t.dataSync())),
        );
        tf.dispose([packed.output, ...packed.states, plain.output, ...plain.states, x39, ...states39, ...rows]);
        tf.dispose([s.x, s.kernel, s.recurrentKernel, ...(s.bias ? [s.bias] : []), ...s.initialState]);
      }
    });

    it("an inference call cuts a large batch into chunks wider than 16 rows and changes no number: each 16-row slice alone gives its bits", () => {
      for (const v of VARIANTS)
        for (const padded of [false, true]) {
          // 512 rows leave each thread (at most 8) four chunks of 16 or more
          const c: Case = {
            ...base,
            ...v.c,
            B: 512,
            T: 5,
            u: 9,
            mask: padded,
            lengths: padded ? [5, 2, 4, 1, 3] : undefined,
          };
          const s = setup(c, 11);
          const before = fusedKernelCalls().widerChunks;
          const whole = fusedRnn(fusedArgs(c, s));
          expect(fusedKernelCalls().widerChunks - before, `${v.name}: wider chunks`).to.equal(1);
          const wholeRows = [whole.output, ...whole.states].map((t) => Array.from(t.dataSync()));
          for (let r0 = 0; r0 < c.B; r0 += 16) {
            const slice = (t: Tensor) => tf.slice(t, r0, 16);
            const parts = [s.x, ...s.initialState, ...(s.mask ? [s.mask] : [])].map(slice);
            const [x16, ...rest] = parts;
            const mask16 = s.mask ? rest.pop()! : null;
            const alone = fusedRnn({ ...fusedArgs({ ...c, B: 16 }, s), inputs: x16, initialState: rest, mask: mask16 });
            [alone.output, ...alone.states].forEach((t, i) => {
              const width = wholeRows[i].length / c.B;
              expect(
                Array.from(t.dataSync()),
                `${v.name}, padded ${padded}: rows ${r0}–${r0 + 15}, output ${i}`,
              ).to.deep.equal(wholeRows[i].slice(r0 * width, (r0 + 16) * width));
            });
            tf.dispose([...parts, alone.output, ...alone.states]);
          }
          expect(fusedKernelCalls().widerChunks - before, `${v.name}: 16 rows, chunks of 16`).to.equal(1);
          tf.dispose([whole.output, ...whole.states, ...setupTensors(s)]);
        }
    });

    it("a forward reuses an earlier forward's calls only when all their numbers are the same", () => {
      // each case twice in a row: the second call reuses the first one's calls; none from earlier tests
      // (the backends share the arena and the calls: F differs between them)
      forgetForwardLayouts();
      const shapes = { B: 2, T: 3, F: backend === "wasm" ? 3 : 2, u: 6, initial: true };
      const cases: [string, Partial<Case>][] = [
        ["forward", {}],
        // the same buffers (the same arena offsets) in the other direction
        ["go_backwards", { goBackwards: true }],
        ["last output only", { returnSequences: false }],
        ["another batch size", { B: 3 }],
        ["another number of steps", { T: 5 }],
        ["no bias", { bias: false }],
        ["forward again", {}],
      ];
      for (const kind of ["gru", "lstm", "simple_rnn"] as const)
        for (const [name, change] of cases) {
          const c: Case = { ...base, kind, ...shapes, ...change };
          const s = setup(c, 8);
          const expected = tf.tidy(() => referenceRnn(refArgs(c, s)).output);
          const before = fusedKernelCalls();
          const reusedBy = [0, 1].map(() => {
            const reused = fusedKernelCalls().layoutsReused;
            const out = tf.tidy(() => fusedRnn(fusedArgs(c, s)).output);
            expect(maxDiff(out, expected), `${kind}, ${name}`).to.be.below(1e-5);
            tf.dispose(out);
            return fusedKernelCalls().layoutsReused - reused;
          });
          const first = name === "forward again" ? 1 : 0;
          expect(reusedBy, `${kind}, ${name}: calls reused`).to.deep.equal([first, 1]);
          expect(fusedKernelCalls().forward - before.forward).to.equal(2);
          tf.dispose([expected, s.x, s.kernel, s.recurrentKernel, ...(s.bias ? [s.bias] : []), ...s.initialState]);
        }
    });

    it("a forward with other sizes in buffers at the same offsets does not reuse the calls (the sizes are in the key)", () => {
      // SimpleRNN, 2 units, one row, one step: x (F floats) and the kernel (2F) each round up to one 128-byte
      // block for F = 1, 2 (wasm) and F = 5, 6 (cpu; the backends share the arena), so every buffer is at
      // the same offset for both F
      for (const F of backend === "wasm" ? [1, 2] : [5, 6]) {
        const c: Case = { ...base, kind: "simple_rnn", B: 1, T: 1, F, u: 2 };
        const s = setup(c, 9);
        const reused = fusedKernelCalls().layoutsReused;
        const out = tf.tidy(() => fusedRnn(fusedArgs(c, s)).output);
        const expected = tf.tidy(() => referenceRnn(refArgs(c, s)).output);
        expect(maxDiff(out, expected), `F = ${F}`).to.be.below(1e-5);
        expect(fusedKernelCalls().layoutsReused, `F = ${F}: calls reused`).to.equal(reused);
        tf.dispose([out, expected, s.x, s.kernel, s.recurrentKernel, s.bias!, ...s.initialState]);
      }
    });

    it("a masked forward reuses an earlier forward's calls only for the same rows' lengths (padding), for any holes", () => {
      // every mask a new tensor, x new values: what is reused is the calls, keyed on the lengths in the arena's
      // (length) order and the mask's place in the arena, not on the tensors
      forgetForwardLayouts();
      const lengths = [7, 3, 5, 1, 6];
      const steps: [string, Partial<Case>, number][] = [
        ["padding at the end", { lengths }, 0],
        ["the same lengths again", { lengths }, 1],
        ["one row one step longer, same shapes", { lengths: [7, 4, 5, 1, 6] }, 0],
        ["one row one step shorter", { lengths: [7, 3, 5, 1, 5] }, 0],
        ["the first lengths in another row order", { lengths: [3, 7, 1, 6, 5] }, 1],
        ["go_backwards", { lengths, goBackwards: true }, 0],
        ["go_backwards again", { lengths, goBackwards: true }, 1],
        ["padding at the start", { lengths, padAt: "start" }, 0],
        ["padding at the start, go_backwards", { lengths, padAt: "start", goBackwards: true }, 0],
        ["padding at the start again", { lengths, padAt: "start" }, 1],
        ["holes (no padding)", {}, 0],
        ["other holes: padding at either end is no padding", { lengths, padAt: "both" }, 1],
      ];
      for (const kind of ["gru", "lstm"] as const)
        steps.forEach(([name, change, reused], i) => {
          const c: Case = { ...base, kind, B: 20, T: 7, mask: true, ...change };
          const s = setup(c, 20 + i);
          const before = fusedKernelCalls().layoutsReused;
          const out = tf.tidy(() => fusedRnn(fusedArgs(c, s)).output);
          const expected = tf.tidy(() => referenceRnn(refArgs(c, s)).output);
          expect(maxDiff(out, expected), `${kind}, ${name}`).to.be.below(1e-5);
          expect(fusedKernelCalls().layoutsReused - before, `${kind}, ${name}: calls reused`).to.equal(reused);
          tf.dispose([out, expected, s.x, s.kernel, s.recurrentKernel, s.bias!, ...s.initialState, s.mask!]);
        });
    });

    it(`at most ${MAX_PADDED_LAYOUTS} forwards' calls over padding are kept per cell, the oldest goes first; the others stay`, () => {
      forgetForwardLayouts();
      const c: Case = { ...base, kind: "simple_rnn", B: 4, T: 12, F: 2, u: 3 };
      const reusedBy = (change: Partial<Case>) => {
        const cc = { ...c, ...change };
        const s = setup(cc, 5);
        const before = fusedKernelCalls().layoutsReused;
        tf.dispose(tf.tidy(() => fusedRnn(fusedArgs(cc, s)).output));
        tf.dispose([s.x, s.kernel, s.recurrentKernel, s.bias!, ...s.initialState, ...(s.mask ? [s.mask] : [])]);
        return fusedKernelCalls().layoutsReused - before;
      };
      const padded = (L: number): Partial<Case> => ({ mask: true, lengths: [12, L] });
      expect(reusedBy({}), "no mask").to.equal(0);
      for (let L = 1; L <= MAX_PADDED_LAYOUTS + 1; L++) expect(reusedBy(padded(L)), `lengths 12, ${L}`).to.equal(0);
      expect(reusedBy(padded(MAX_PADDED_LAYOUTS + 1)), "the newest").to.equal(1);
      expect(reusedBy(padded(2)), "the oldest kept").to.equal(1);
      expect(reusedBy(padded(1)), "the first, gone").to.equal(0);
      expect(reusedBy({}), "no mask, kept").to.equal(1);
    });
  });
}

describe("fused kernels when their memory grows inside the kernel", () => {
  it("a sequence that grows the arena ends where its two halves, run one after the other, end (wasm, cpu)", async function () {
    this.timeout(60000);
    for (const backend of ["wasm", "cpu"] as const) {
      await use_backend(backend);
      const x0 = T_(1, [2, 3, 4]);
      fusedRnn({
        cell: "gru_reset_after",
        inputs: x0,
        kernel: T_(2, [4, 6]),
        recurrentKernel: T_(3, [2, 6]),
        bias: null,
      });
      const arena = arenaBytes();
      expect(arena, "the arena exists").to.be.above(0);
      // x alone is larger than the arena: it grows while the kernel copies its inputs and allocates
      const Bt = 64,
        F = 4,
        u = 2;
      const T = 2 * Math.ceil(arena / (4 * Bt * F));
      const x = T_(7, [Bt, T, F]),
        k = T_(8, [F, 3 * u], 0.5),
        r = T_(9, [u, 3 * u], 0.5);
      const whole = fusedRnn({ cell: "gru_reset_after", inputs: x, kernel: k, recurrentKernel: r, bias: null });
      expect(arenaBytes(), "the arena grew").to.be.above(arena);
      const half = (from: number, h0?: Tensor) =>
        fusedRnn({
          cell: "gru_reset_after",
          inputs: tf.slice(x, [0, from, 0], [Bt, T / 2, F]),
          kernel: k,
          recurrentKernel: r,
          bias: null,
          initialState: h0 ? [h0] : [],
        });
      const second = half(T / 2, half(0).states[0]);
      expect(Array.from(whole.states[0].dataSync())).to.deep.equal(Array.from(second.states[0].dataSync()));
      tf.dispose([x0, x, k, r]);
    }
  });
});

describe("WebAssembly step functions (step_kernels.ts)", () => {
  // these tests read and run the WebAssembly step functions themselves (native_steps.test.ts compares
  // the native ones with them)
  before(() => setNativeSteps(false));
  after(() => setNativeSteps(true));
  const WA = (globalThis as any).WebAssembly;
  const CELLS = Object.values(FUSED_CELLS);
  const fresh = () => {
    const memory = newMemory(16);
    const k = kernelsFor(memory);
    if (typeof k === "string") throw new Error(k);
    return { k, f: new Float32Array(memory.buffer) };
  };

  it("every cell's module validates; each export takes exactly the parameters declared once for it", () => {
    for (const cell of CELLS)
      for (const [act, ract] of [
        ["tanh", "sigmoid"],
        ["relu", "hard_sigmoid"],
        ["linear", "hard_sigmoid_keras2"],
      ] as const) {
        const { bytes, functions } = allFunctionsFor(cell, act, ract);
        expect(WA.validate(bytes), `${cell.id} ${act}/${ract}`).to.equal(true);
        const exports = new WA.Instance(new WA.Module(bytes), { env: { memory: new WA.Memory({ initial: 1 }) } })
          .exports;
        for (const f of functions) {
          expect(new Set(f.params).size, `${f.name}: parameter names are unique`).to.equal(f.params.length);
          expect(exports[f.name].length, `${f.name}: wasm arity`).to.equal(f.params.length);
        }
      }
    // the masked backward variants take the mask and the carried output gradient
    const names = allFunctionsFor(FUSED_CELLS.lstm, "tanh", "sigmoid").functions.map((f) => f.name);
    expect(names).to.deep.equal([
      ...["gemm_nn", "gemm_tn", "pack_b", "colsum_acc", "out_step"],
      ...["lstm_fwd", "lstm_bwd", "lstm_bwd_m", "lstm_seq_fwd", "lstm_seq_bwd", "lstm_seq_bwd_m"],
    ]);
  });

  it("a call without one of its parameters is refused (positionally it would read address 0)", () => {
    const { k } = fresh();
    const step = k.cell(FUSED_CELLS.simple_rnn, "tanh", "sigmoid").forward[0];
    const args = { B: 1, u4: 16, xp: 64, xpstride: 16, bi: 128, rec: 192, h: 256, gates: 320, mask: 0, mstride: 1 };
    expect(() => step.call(args)).to.not.throw();
    const { h: _h, ...withoutH } = args;
    expect(() => step.call(withoutH)).to.throw(/simple_rnn_fwd\(\): no value for parameter `h`/);
  });

  it("tanh and sigmoid (through the SimpleRNN and GRU steps), four units at a time and one at a time, are within 1e-6 of Math's", () => {
    const { k, f } = fresh();
    for (const u of [64, 3]) {
      // SimpleRNN: h = tanh(xp + bi + rec), bi = rec = 0; B rows of u units
      const B = (4096 / u) >> 0,
        n = B * u;
      for (let i = 0; i < n; i++) f[i] = -12 + (24 * i) / n;
      f.fill(0, n, 2 * n);
      const rnn = k.cell(FUSED_CELLS.simple_rnn, "tanh", "sigmoid").forward[0];
      rnn.call({
        B,
        u4: 4 * u,
        xp: 0,
        xpstride: 4 * u,
        bi: 4 * n,
        rec: 4 * n,
        h: 8 * n,
        gates: 12 * n,
        mask: 0,
        mstride: 0,
      });
      let err = 0;
      for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(f[2 * n + i] - Math.tanh(f[i])));
      expect(err, `tanh, ${u} units`).to.be.below(1e-6);
      // GRU with rec = 0: z and r = sigmoid(xp); rows of 3u
      const Bg = Math.floor(B / 4),
        m = 3 * Bg * u;
      for (let i = 0; i < m; i++) f[i] = -12 + (24 * i) / m;
      f.fill(0, m, 2 * m);
      f.fill(0, 2 * m, 2 * m + Bg * u);
      const gru = k.cell(FUSED_CELLS.gru_reset_after, "tanh", "sigmoid").forward[0];
      const z = (p: number) => 4 * p;
      gru.call({
        B: Bg,
        u4: 4 * u,
        xp: 0,
        xpstride: 12 * u,
        bi: z(m),
        br: z(m),
        rec: z(m),
        h: z(2 * m),
        gates: z(3 * m),
        aux: z(4 * m),
        mask: 0,
        mstride: 0,
      });
      err = 0;
      for (let b = 0; b < Bg; b++)
        for (let g = 0; g < 2 * u; g++) {
          const x = f[b * 3 * u + g];
          err = Math.max(err, Math.abs(f[3 * m + b * 3 * u + g] - 1 / (1 + Math.exp(-x))));
        }
      expect(err, `sigmoid, ${u} units`).to.be.below(1e-6);
    }
  });

  it("a forward step runs 8 units at a time as two interleaved groups, bit for bit as one group of 4 at a time", () => {
    // LSTM forward over 2 rows of u = 12 units (units 0-7: the interleaved pair loop, 8-11: the single group),
    // then each group of 4 units alone (u = 4: the single group only); every output must agree bit for bit
    const { k, f } = fresh();
    const step = k.cell(FUSED_CELLS.lstm, "tanh", "sigmoid").forward[0];
    const f32x4Div = [0xfd, 0xe7, 0x01];
    const body = step.fn.body;
    const divisions = body.filter((_, i) => f32x4Div.every((byte, d) => body[i + d] === byte)).length;
    // 5 activations per group of 4 units: twice in the pair loop, once in the single-group loop
    expect(divisions, "f32x4.div in lstm_fwd").to.equal(15);
    const B = 2,
      U = 12;
    const blocks = { xp: 4, bi: 4, rec: 4, c: 1, gates: 5, aux: 1, h: 1 } as const;
    const perRow = { xp: true, bi: false, rec: true, c: true, gates: true, aux: true, h: true } as const;
    type Buffer = keyof typeof blocks;
    const names = Object.keys(blocks) as Buffer[];
    const value = (name: Buffer, b: number, block: number, unit: number) =>
      Math.sin(1 + 3.1 * names.indexOf(name) + 1.7 * b + 0.9 * block + 0.37 * unit) * 3;
    /** Lays out units [from, from + u) at float offset 0, runs the step, returns its outputs by buffer. */
    const run = (from: number, u: number) => {
      f.fill(0);
      const offsets = {} as Record<Buffer, number>;
      let at = 0;
      for (const name of names) {
        offsets[name] = at;
        const rows = perRow[name] ? B : 1;
        for (let b = 0; b < rows; b++)
          for (let block = 0; block < blocks[name]; block++)
            for (let j = 0; j < u; j++) f[at + (b * blocks[name] + block) * u + j] = value(name, b, block, from + j);
        at += rows * blocks[name] * u;
      }
      step.call({ B, u4: 4 * u, xpstride: 16 * u, mask: 0, mstride: 0, ...mapValues(offsets, (o) => 4 * o) });
      return (name: Buffer, b: number, block: number, j: number) =>
        f[offsets[name] + (b * blocks[name] + block) * u + j];
    };
    const mapValues = <T>(r: Record<Buffer, T>, fn: (v: T) => number) =>
      Object.fromEntries(Object.entries(r).map(([key, v]) => [key, fn(v as T)])) as Record<Buffer, number>;
    const all = run(0, U);
    const whole: number[] = [];
    for (const name of ["gates", "c", "h"] as const)
      for (let b = 0; b < B; b++)
        for (let block = 0; block < blocks[name]; block++)
          for (let j = 0; j < U; j++) whole.push(all(name, b, block, j));
    const grouped: number[] = new Array(whole.length);
    for (let from = 0; from < U; from += 4) {
      const one = run(from, 4);
      let i = 0;
      for (const name of ["gates", "c", "h"] as const)
        for (let b = 0; b < B; b++)
          for (let block = 0; block < blocks[name]; block++)
            for (let j = 0; j < U; j++, i++) if (j >= from && j < from + 4) grouped[i] = one(name, b, block, j - from);
    }
    expect(new Float32Array(whole)).to.deep.equal(new Float32Array(grouped));
  });

  it("gemm_nn and gemm_tn match a naive triple loop (row tiles and leftover rows, partial panels, strides, accumulate)", () => {
    const { k, f } = fresh();
    const { gemmNN, gemmTN, packB } = k.utilities;
    for (const [m, kk, n] of [
      [9, 5, 7],
      [16, 64, 192],
      [4, 1, 8],
      [1, 3, 1],
      [7, 12, 20],
    ])
      for (const transA of [false, true])
        for (const packed of [false, true]) {
          // A stored with 2 floats of padding per row, B (k × n) with row stride n + 3, C with stride n + 1
          const lda = (transA ? m : kk) + 2,
            ldb = n + 3,
            ldc = n + 1;
          const A = 0,
            Bo = 2048,
            P = 16384,
            C = 32768;
          const a = rand(m * 7 + kk, 2048),
            b = rand(n * 3 + 1, 14336),
            c0 = rand(5, 4096);
          f.set(a, A);
          f.set(b, Bo);
          const aAt = (i: number, p: number) => (transA ? a[p * lda + i] : a[i * lda + p]);
          if (packed) packB.call({ src: 4 * Bo, k: kk, n, ld: ldb, trans: 0, dst: 4 * P });
          for (const acc of [0, 1]) {
            f.set(c0, C);
            (transA ? gemmTN : gemmNN).call({
              m,
              k: kk,
              n,
              a: 4 * A,
              lda: 4 * lda,
              b: packed ? 4 * P : 4 * Bo,
              ldb: packed ? 32 : 4 * ldb,
              bpanel: packed ? 32 * kk : 32,
              c: 4 * C,
              ldc: 4 * ldc,
              acc,
            });
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < n; j++) {
                let s = acc ? c0[i * ldc + j] : 0;
                for (let p = 0; p < kk; p++) s += aAt(i, p) * b[p * ldb + j];
                expect(
                  f[C + i * ldc + j],
                  `${m}×${kk}×${n} transA ${transA} packed ${packed} acc ${acc} [${i}, ${j}]`,
                ).to.be.closeTo(s, 1e-5);
              }
              // the padding between C's rows is left alone
              expect(f[C + i * ldc + n]).to.equal(c0[i * ldc + n]);
            }
          }
        }
  });

  it("gemm_tn runs k in blocks (W1/W2's dU and dW) and gives the bits of one pass over k", () => {
    // the kernels' gemm_tn is the blocked one, visiting panels first
    const tn = GEMM_FUNCTIONS().find((g) => g.name === "gemm_tn")!;
    expect(tn.body).to.deep.equal(gemmFunction(true, "panels", TN_K_BLOCK).body);
    expect(tn.body).to.not.deep.equal(gemmFunction(true, "panels", 0).body);
    const memory = newMemory(128);
    const k = kernelsFor(memory);
    if (typeof k === "string") throw new Error(k);
    const onePass = (
      new WA.Instance(new WA.Module(moduleBytes([gemmFunction(true, "rows", 0)])), { env: { memory } }).exports as {
        gemm_tn: (...args: number[]) => void;
      }
    ).gemm_tn;
    const f = new Float32Array(memory.buffer);
    const { gemmTN, packB } = k.utilities;
    for (const [m, kk, n] of [
      [64, 800, 256], // LSTM(64)'s dU of a chunk: 16 rows × 50 steps
      [16, 800, 192], // GRU(64)'s dW over 16 features
      [13, 2 * TN_K_BLOCK + 37, 24], // leftover rows, a short last block
      [6, 3 * TN_K_BLOCK, 20], // a partial panel: one pass
      [5, TN_K_BLOCK - 1, 8], // one block
    ])
      for (const packed of [false, true]) {
        const [A, Bo, P, C1, C2] = [0, 1, 2, 3, 4].map((i) => i * (1 << 18)); // floats
        const a = rand(m + kk, m * kk),
          b = rand(n + 7 * kk, kk * n),
          c0 = rand(3, m * n);
        f.set(a, A);
        f.set(b, Bo);
        if (packed) packB.call({ src: 4 * Bo, k: kk, n, ld: n, trans: 0, dst: 4 * P });
        for (const acc of [0, 1]) {
          const args = [m, kk, n, 4 * A, 4 * m, packed ? 4 * P : 4 * Bo, packed ? 32 : 4 * n, packed ? 32 * kk : 32];
          f.set(c0, C1);
          f.set(c0, C2);
          gemmTN.call0([...args, 4 * C1, 4 * n, acc]);
          onePass(...args, 4 * C2, 4 * n, acc);
          const what = `${m}×${kk}×${n} packed ${packed} acc ${acc}`;
          const bytes = (at: number) => Buffer.from(f.buffer, 4 * at, 4 * m * n);
          expect(bytes(C1).equals(bytes(C2)), `${what}: the same bits`).to.equal(true);
          for (const [i, j] of [
            [0, 0],
            [m - 1, n - 1],
            [m >> 1, n >> 1],
          ]) {
            let sum = acc ? c0[i * n + j] : 0;
            for (let p = 0; p < kk; p++) sum += a[p * m + i] * b[p * n + j];
            expect(f[C1 + i * n + j], `${what} [${i}, ${j}]`).to.be.closeTo(sum, 1e-3);
          }
        }
      }
  });

  it("pack_b lays B (or Bᵀ) out in zero-padded panels of 8 columns", () => {
    const { k, f } = fresh();
    const { packB } = k.utilities;
    for (const trans of [0, 1]) {
      const kk = 3,
        n = 11,
        ld = 13;
      for (let i = 0; i < 200; i++) f[i] = i + 1;
      f.fill(-1, 1024, 2048);
      packB.call({ src: 0, k: kk, n, ld, trans, dst: 4096 });
      for (let panel = 0; panel < 2; panel++)
        for (let p = 0; p < kk; p++)
          for (let l = 0; l < 8; l++) {
            const j = panel * 8 + l;
            const want = j >= n ? 0 : trans ? j * ld + p + 1 : p * ld + j + 1;
            expect(f[1024 + (panel * kk + p) * 8 + l], `trans ${trans} B(${p}, ${j})`).to.equal(want);
          }
    }
  });

  it("colsum_acc adds the sums of strided rows, any row width", () => {
    const { k, f } = fresh();
    for (const [rows, cols] of [
      [5, 8],
      [3, 7],
      [9, 1],
    ]) {
      const stride = cols + 2;
      for (let i = 0; i < rows * stride; i++) f[i] = i + 1;
      for (let c = 0; c < cols; c++) f[1024 + c] = 0.5;
      k.utilities.colsumAcc.call({ rows, src: 0, srcstride: 4 * stride, nbytes: 4 * cols, dst: 4096 });
      for (let c = 0; c < cols; c++) {
        let s = 0.5;
        for (let r = 0; r < rows; r++) s += r * stride + c + 1;
        expect(f[1024 + c], `${rows}×${cols} column ${c}`).to.equal(s);
      }
    }
  });
});

describe("fused backward: the input gradient dX = dXP·Wᵀ", () => {
  for (const backend of ["wasm", "cpu"] as const)
    it(`${backend}: computed in the backward kernel when x comes from the tape (a layer below), equal to tf.matMul's`, async () => {
      await use_backend(backend);
      // without a mask, and with padding (dX's padding rows are zero: the kernel skips them)
      for (const [cell, G, lengths] of [
        ["gru_reset_after", 3, null],
        ["lstm", 4, null],
        ["lstm", 4, [2, 6, 0, 5, 1]],
        ["gru_reset_after", 3, [4, 1, 6, 0]],
      ] as const) {
        const [B, T, F, u] = [19, 6, 5, 7];
        const xv = tf.variable(T_(1, [B, T, F], 1));
        // the LSTM's padding at the end, the GRU's at the start
        const mask = lengths ? paddedMask(B, T, lengths, cell === "lstm" ? "end" : "start") : null;
        const args = {
          cell,
          kernel: T_(2, [F, G * u], 0.5),
          recurrentKernel: T_(3, [u, G * u], 0.5),
          bias: null,
          mask,
        };
        const w = T_(4, [B, T, u]);
        const loss = (x: Tensor) =>
          tf.sum(tf.mul(fusedRnn({ ...args, inputs: x, returnSequences: true }).output, w)) as tf.Scalar;
        const before = fusedKernelCalls();
        // x = 2·v is an operation on the tape: the kernel computes dX
        const inKernel = tf.variableGrads(() => loss(tf.mul(xv, 2)), [xv]);
        const mid = fusedKernelCalls();
        expect(mid.inputGrad - before.inputGrad, `${cell}: the kernel computed dX`).to.equal(1);
        // x fed in directly: tf.grad's x is no tape output, so dX comes from tf.matMul in the gradient function
        const viaMatMul = tf.grad(loss)(tf.mul(xv, 2));
        expect(fusedKernelCalls().inputGrad - mid.inputGrad, `${cell}: tf.matMul path`).to.equal(0);
        const a = inKernel.grads[xv.name].dataSync(),
          b = viaMatMul.dataSync();
        // d/dv = 2·dX
        a.forEach((v, i) => expect(v, `${cell} [${i}]`).to.be.closeTo(2 * b[i], 1e-5));
        expect(a.some((v) => v !== 0)).to.equal(true);
        tf.dispose([xv, args.kernel, args.recurrentKernel, w, inKernel.value, inKernel.grads[xv.name], viaMatMul]);
        if (mask) mask.dispose();
      }
    });
});

describe("fused training: the forward's saved tensors stay in the arena until the backward", () => {
  for (const backend of ["wasm", "cpu"] as const) {
    it(`${backend}: a taped forward whose backward never runs leaks no tensor and no arena space over 300 calls`, async () => {
      await use_backend(backend);
      const c: Case = { ...base, kind: "lstm", B: 7, T: 9, u: 8 };
      const s = setup(c, 3);
      const v = tf.variable(tf.scalar(1));
      // the tape holds the forward's saved tensors; only v's gradient is asked for, so the fused backward never runs
      const step = () => {
        const { value, grads } = tf.variableGrads(
          () => tf.add(tf.sum(fusedRnn(fusedArgs(c, s)).output), tf.mul(v, 2)) as tf.Scalar,
          [v],
        );
        expect(grads[v.name].dataSync()[0]).to.equal(2);
        tf.dispose([value, ...Object.values(grads)]);
      };
      step();
      const calls = fusedKernelCalls(),
        tensors = tf.memory().numTensors,
        bytes = arenaBytes();
      for (let i = 0; i < 300; i++) {
        step();
        // the last forward's three saved tensors at most (h_prev, gates, aux): earlier ones were released
        expect(keptBuffers(), `kept after call ${i}`).to.be.at.most(3);
      }
      const now = fusedKernelCalls();
      expect(now.forward - calls.forward, "forward calls").to.equal(300);
      expect(now.backward - calls.backward, "backward calls").to.equal(0);
      expect(tf.memory().numTensors, "tensors").to.equal(tensors);
      expect(arenaBytes(), "arena bytes").to.equal(bytes);
      // the next call releases what the disposed tape held
      tf.dispose(fusedRnn(fusedArgs(c, s)).output);
      expect(keptBuffers()).to.equal(0);
      tf.dispose([v, s.x, s.kernel, s.recurrentKernel, s.bias!, ...s.initialState]);
    });

    it(`${backend}: with x fed in as data the backward keeps dXP in the arena, copied out only for an x gradient`, async () => {
      await use_backend(backend);
      const c: Case = { ...base, kind: "lstm", B: 5, T: 6, F: 3, u: 8 };
      const s = setup(c, 7);
      const w = T_(10, [c.B, c.T, c.u]);
      const loss = (x: Tensor, k: Tensor) =>
        tf.sum(tf.mul(fusedRnn({ ...fusedArgs(c, s), inputs: x, kernel: k }).output, w)) as tf.Scalar;
      const tensors = tf.memory().numTensors;
      const c0 = fusedKernelCalls();
      // the kernel's gradient only (what fit() asks of a first layer): dXP kept, never copied
      const dK = tf.grad((k: Tensor) => loss(s.x, k))(s.kernel);
      const c1 = fusedKernelCalls();
      expect([c1.backward - c0.backward, c1.dxpKept - c0.dxpKept, c1.dxpCopied - c0.dxpCopied]).to.deep.equal([
        1, 1, 0,
      ]);
      // x's gradient too: the gradient function copies the kept dXP out (dX = dXP·Wᵀ by tf.matMul)
      const [dX, dK2] = tf.grads((x: Tensor, k: Tensor) => loss(x, k))([s.x, s.kernel]);
      const c2 = fusedKernelCalls();
      expect([c2.backward - c1.backward, c2.dxpKept - c1.dxpKept, c2.dxpCopied - c1.dxpCopied]).to.deep.equal([
        1, 1, 1,
      ]);
      expect(maxDiff(dK, dK2)).to.equal(0);
      // against the step-wise reference
      const ref = tf.grad((x: Tensor) => tf.sum(tf.mul(referenceRnn(refArgs(c, { ...s, x })).output, w)) as tf.Scalar)(
        s.x,
      );
      expect(maxDiff(dX, ref)).to.be.below(1e-5);
      expect(Math.max(...Array.from(ref.dataSync()).map(Math.abs))).to.be.above(1e-3);
      tf.dispose([dK, dX, dK2, ref]);
      expect(tf.memory().numTensors, "tensors").to.equal(tensors);
      tf.dispose(fusedRnn(fusedArgs(c, s)).output);
      expect(keptBuffers(), "nothing kept once the tapes are gone").to.equal(0);
      tf.dispose([w, s.x, s.kernel, s.recurrentKernel, s.bias!, ...s.initialState]);
    });

    it(`${backend}: several forwards on one tape (a layer stack, one layer twice) keep apart: gradients as each alone, outputs as untaped`, async () => {
      await use_backend(backend);
      const c: Case = { ...base, kind: "gru", B: 6, T: 7, F: 5, u: 8 };
      const s = setup(c, 4);
      const s2 = setup({ ...c, F: c.u }, 5);
      const x2 = T_(8, [c.B, c.T, c.F]);
      const w1 = T_(6, [c.B, c.T, c.u]),
        w2 = T_(7, [c.B, c.T, c.u]);
      const layer1 = (x: Tensor, k: Tensor) => fusedRnn({ ...fusedArgs(c, s), inputs: x, kernel: k }).output;
      // the second layer runs on the first's output: its backward computes dX for the first's
      const stack = (x: Tensor, k: Tensor) =>
        fusedRnn({ ...fusedArgs(c, s2), inputs: layer1(x, k), goBackwards: true }).output;
      const lossOf = (x: Tensor, w: Tensor) => (k: Tensor) => tf.sum(tf.mul(stack(x, k), w)) as tf.Scalar;
      const g1 = tf.grad(lossOf(s.x, w1))(s.kernel),
        g2 = tf.grad(lossOf(x2, w2))(s.kernel);
      const before = fusedKernelCalls();
      const both = tf.grad((k: Tensor) => tf.add(lossOf(s.x, w1)(k), lossOf(x2, w2)(k)) as tf.Scalar)(s.kernel);
      const now = fusedKernelCalls();
      expect(now.savedKept - before.savedKept, "backward calls on kept tensors").to.equal(4);
      const sum = tf.add(g1, g2);
      expect(maxDiff(both, sum)).to.be.below(1e-6);
      expect(Math.max(...Array.from(sum.dataSync()).map(Math.abs))).to.be.above(1e-3);
      // a forward under a tape (predict inside tf.grad) gives the untaped numbers
      const untaped = stack(s.x, s.kernel);
      let taped: Tensor | null = null;
      const g = tf.grad((k: Tensor) => {
        const y = stack(s.x, k);
        taped = tf.keep(y.clone());
        return tf.sum(y) as tf.Scalar;
      })(s.kernel);
      expect(maxDiff(taped!, untaped)).to.equal(0);
      tf.dispose(fusedRnn(fusedArgs(c, s)).output);
      expect(keptBuffers(), "nothing kept once the tapes are gone").to.equal(0);
      tf.dispose([g1, g2, both, sum, untaped, taped!, g, x2, w1, w2, s.x, s.kernel, s.recurrentKernel, s.bias!]);
      tf.dispose([...s.initialState, s2.x, s2.kernel, s2.recurrentKernel, s2.bias!, ...s2.initialState]);
    });

    it(`${backend}: a backend that cannot tell when it drops a tensor's data gets the saved tensors copied out, same gradients`, async () => {
      await use_backend(backend);
      const c: Case = { ...base, kind: "lstm", mask: true, lengths: [7, 3, 5], B: 6, T: 7, u: 8 };
      const s = setup(c, 6);
      const w = T_(9, [c.B, c.T, c.u]);
      const grad = () =>
        tf.grad((k: Tensor) => tf.sum(tf.mul(fusedRnn({ ...fusedArgs(c, s), kernel: k }).output, w)) as tf.Scalar)(
          s.kernel,
        );
      const kept = grad();
      const b = tf.backend() as unknown as { refCount?: unknown };
      b.refCount = undefined; // an own property over the prototype's method, removed below
      const before = fusedKernelCalls();
      let copied: Tensor;
      try {
        copied = grad();
      } finally {
        delete b.refCount;
      }
      const now = fusedKernelCalls();
      expect(now.backward - before.backward).to.equal(1);
      expect(now.savedKept - before.savedKept, "no kept tensors without refCount").to.equal(0);
      expect(maxDiff(copied, kept)).to.equal(0);
      expect(typeof b.refCount).to.equal("function");
      tf.dispose([kept, copied, w, s.x, s.kernel, s.recurrentKernel, s.bias!, ...s.initialState, s.mask!]);
    });
  }
});
