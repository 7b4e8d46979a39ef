/**
 * The fused recurrent sequence kernels: one forward and one backward kernel per call, for GRU
 * (reset_after TRUE and FALSE), LSTM and SimpleRNN, registered for the "wasm" and "cpu" backends.
 *
 * Forward (TskFusedRnn): XP = X·W for all timesteps in one gemm; then per step one gemm h·U
 * (two for GRU reset_after = FALSE) and one JavaScript pass of gate arithmetic over typed arrays.
 * When a gradient tape is recording it also returns what the backward pass needs: the state before
 * every step, the gate activations and one auxiliary value per unit.
 *
 * Backward (TskFusedRnnGrad): back-propagation through time from the saved gates: per step one JS
 * pass and one gemm dRec·Uᵀ (two for reset_after = FALSE); at the end dU, dW and the bias gradients by
 * one gemm over all timesteps (LSTM, SimpleRNN; GRU: two or three), with a ones column for the biases.
 * The input gradient dX = dXP·Wᵀ is left to the caller (needed only when X needs it).
 *
 * On wasm with the default activations (tanh, recurrent sigmoid) and units a multiple of 4, a step's
 * whole gate arithmetic is one call into a small WebAssembly SIMD module working in place on the
 * backend's heap (simd.ts; two calls around the second gemm for GRU reset_before), forward and
 * backward, masked or not. Otherwise on
 * wasm the gate squashing is vectorised through the backend's SIMD sigmoid (tanh(x) = 2σ(2x) − 1)
 * and, from 64 rows × steps up, biases are folded into the gemms and pre-activations summed by the
 * backend's SIMD add; elsewhere (cpu, hard sigmoids, relu, linear) one JS pass per step does it all.
 *
 * Semantics (KERAS_FACTS "The recurrent loop"): processing order reversed when go_backwards (mask
 * too); at a masked step every state keeps its value and the output repeats the previous output
 * (zeros before any) or is zero when zero_output_for_mask; outputs are in processing order.
 */
import { tf } from "../../../backend/tf.js";
import { cpuMem, wasmMem, type Buf, type Mem } from "./mem.js";
import type { SimdKernels } from "./simd.js";

type TensorInfo = tf.TensorInfo;

export const FORWARD_KERNEL = "TskFusedRnn";
export const BACKWARD_KERNEL = "TskFusedRnnGrad";

export type FusedKind = "gru" | "lstm" | "simple_rnn";

/** Activations the fused kernels implement (value and derivative from the value). */
export const FUSED_ACTIVATIONS = ["tanh", "sigmoid", "hard_sigmoid", "hard_sigmoid_keras2", "relu", "linear"] as const;
export type FusedActivation = (typeof FUSED_ACTIVATIONS)[number];

export interface FusedAttrs {
  kind: FusedKind;
  resetAfter: boolean;
  goBackwards: boolean;
  returnSequences: boolean;
  zeroOutputForMask: boolean;
  activation: FusedActivation;
  recurrentActivation: FusedActivation;
  /** Forward only: also output the tensors the backward kernel needs. */
  save: boolean;
  /** Backward only: shape of the bias ([] when there is none). */
  biasShape: number[];
}

export const gatesOf = (kind: FusedKind): number => (kind === "gru" ? 3 : kind === "lstm" ? 4 : 1);

type Fn = (x: number) => number;

/**
 * tanh as a rational function (the float32 approximation used by Eigen / XLA: odd degree-13 numerator
 * over even degree-6 denominator, input clamped to ±7.905). Absolute error < 3e-7 against Math.tanh,
 * i.e. at float32 resolution, and about 6× faster than Math.tanh in V8 (which dominates the gate pass).
 */
export function fastTanh(x: number): number {
  if (x > 7.90531110763549805) x = 7.90531110763549805;
  else if (x < -7.90531110763549805) x = -7.90531110763549805;
  const x2 = x * x;
  let p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13;
  p = x2 * p + -8.60467152213735e-11;
  p = x2 * p + 5.12229709037114e-8;
  p = x2 * p + 1.48572235717979e-5;
  p = x2 * p + 6.37261928875436e-4;
  p = x2 * p + 4.89352455891786e-3;
  p = x * p;
  let q = x2 * 1.19825839466702e-6 + 1.18534705686654e-4;
  q = x2 * q + 2.268434632439e-3;
  q = x2 * q + 4.89352518554385e-3;
  return p / q;
}

const ACT: Record<FusedActivation, Fn> = {
  tanh: fastTanh,
  // sigmoid(x) = (1 + tanh(x/2)) / 2
  sigmoid: (x) => 0.5 + 0.5 * fastTanh(0.5 * x),
  hard_sigmoid: (x) => (x <= -3 ? 0 : x >= 3 ? 1 : x / 6 + 0.5),
  hard_sigmoid_keras2: (x) => (x <= -2.5 ? 0 : x >= 2.5 ? 1 : 0.2 * x + 0.5),
  relu: (x) => (x > 0 ? x : 0),
  linear: (x) => x,
};

/** Derivatives as functions of the activation's OUTPUT y. */
const DACT: Record<FusedActivation, Fn> = {
  tanh: (y) => 1 - y * y,
  sigmoid: (y) => y * (1 - y),
  hard_sigmoid: (y) => (y > 0 && y < 1 ? 1 / 6 : 0),
  hard_sigmoid_keras2: (y) => (y > 0 && y < 1 ? 0.2 : 0),
  relu: (y) => (y > 0 ? 1 : 0),
  linear: () => 1,
};

/** Width of the saved gate block per unit and whether an auxiliary (T,B,u) tensor is saved. */
const savedWidth = (kind: FusedKind): number => (kind === "gru" ? 3 : kind === "lstm" ? 5 : 1);
const hasAux = (kind: FusedKind): boolean => kind !== "simple_rnn";

function memFor(backend: any, name: string): Mem {
  return name === "wasm" ? wasmMem(backend) : cpuMem(backend);
}

function copyOf(buf: Buf): Float32Array {
  return Float32Array.from(buf.view());
}

/** Splits the bias into the input-side part (added to XP) and the recurrent-side part (added to h·U). */
function splitBias(
  bias: Float32Array | null,
  kind: FusedKind,
  resetAfter: boolean,
  Gu: number,
): { bi: Float32Array; br: Float32Array | null } {
  const bi = new Float32Array(Gu);
  let br: Float32Array | null = null;
  if (bias) {
    bi.set(bias.subarray(0, Gu));
    if (kind === "gru" && resetAfter) br = Float32Array.from(bias.subarray(Gu, 2 * Gu));
    // CuDNNLSTM layout (8u): input bias then recurrent bias, both simply added
    else if (bias.length === 2 * Gu) for (let g = 0; g < Gu; g++) bi[g] += bias[Gu + g];
  }
  if (!br && kind === "gru" && resetAfter) br = new Float32Array(Gu);
  return { bi, br };
}

/** Copies columns [c0, c0+w) of a (rows × cols) matrix into `out` (rows × w). */
function copyCols(src: Float32Array, rows: number, cols: number, c0: number, w: number, out: Float32Array): void {
  for (let i = 0; i < rows; i++) out.set(src.subarray(i * cols + c0, i * cols + c0 + w), i * w);
}

/** out (cols × rows) = transpose of columns [c0, c0+w) of src (rows × cols); out is (w × rows). */
function transposeCols(src: Float32Array, rows: number, cols: number, c0: number, w: number, out: Float32Array): void {
  for (let i = 0; i < rows; i++) {
    const so = i * cols + c0;
    for (let j = 0; j < w; j++) out[j * rows + i] = src[so + j];
  }
}

// ---------------------------------------------------------------------------------------------
// Forward

export function rnnForward(
  backend: any,
  backendName: string,
  inputs: Record<string, TensorInfo | undefined>,
  a: FusedAttrs,
): TensorInfo[] {
  const mem = memFor(backend, backendName);
  try {
    return forwardImpl(mem, inputs, a);
  } finally {
    mem.done();
  }
}

function forwardImpl(mem: Mem, inputs: Record<string, TensorInfo | undefined>, a: FusedAttrs): TensorInfo[] {
  const x = inputs.x!,
    kernel = inputs.kernel!,
    rk = inputs.recurrentKernel!;
  const [B, T, F] = x.shape;
  const u = rk.shape[0];
  const kind = a.kind;
  const G = gatesOf(kind);
  const Gu = G * u;
  const resetBefore = kind === "gru" && !a.resetAfter;
  const act = ACT[a.activation],
    ract = ACT[a.recurrentActivation];
  const { bi, br } = splitBias(inputs.bias ? copyOf(mem.input(inputs.bias)) : null, kind, a.resetAfter, Gu);
  const mask = inputs.mask ? mem.readMask(inputs.mask) : null;
  const zeroOut = a.zeroOutputForMask;

  // Input projection of every timestep: one gemm, on X reordered time-major so that each step
  // reads one contiguous (B × G·u) block of XP (rows t*B+b).
  const XP = mem.temp(B * T * Gu);
  let Xtm = mem.input(x);
  if (T > 1 && B > 1) {
    const xin = Xtm;
    Xtm = mem.temp(B * T * F);
    if (mem.simd && mem.ptr)
      for (let t = 0; t < T; t++)
        mem.simd.copy_rows(mem.ptr(xin) + t * F * 4, T * F * 4, mem.ptr(Xtm) + t * B * F * 4, F * 4, F * 4, B);
    else {
      const src = xin.view(),
        dst = Xtm.view(); // views taken after the malloc (the heap may have moved)
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++) dst.set(src.subarray((b * T + t) * F, (b * T + t + 1) * F), (t * B + b) * F);
    }
  }
  // WebAssembly SIMD gate kernels (simd.ts): default activations, units a multiple of 4, wasm + SIMD.
  const simdK =
    mem.simd &&
    mem.ptr &&
    u % 4 === 0 &&
    a.activation === "tanh" &&
    (kind === "simple_rnn" || a.recurrentActivation === "sigmoid")
      ? mem.simd
      : null;
  // Otherwise, fully vectorised pre-activations (wasm, sigmoid recurrent activation, enough rows to pay off):
  // biases folded into the gemms, pre = XP_t + h·U by the backend's SIMD add, and the columns of
  // a tanh gate (LSTM's c, all of SimpleRNN's) pre-scaled by 2 in W, U and b for the sigmoid trick.
  const vectorisable = (f: FusedActivation) => f === "sigmoid" || f === "tanh";
  const vec =
    !simdK &&
    !!mem.sigmoid &&
    !resetBefore &&
    vectorisable(a.activation) &&
    (kind === "simple_rnn" || vectorisable(a.recurrentActivation));
  const fullVec =
    vec && !!mem.gemmBias && !!mem.add && (kind === "simple_rnn" || a.recurrentActivation === "sigmoid") && B * T >= 64;
  const aScale = a.activation === "tanh" ? 2 : 1;
  let Wx: Buf = mem.input(kernel),
    Ux: Buf = mem.input(rk),
    biX: Buf | null = null,
    biR: Buf | null = null;
  if (fullVec) {
    const colScale = new Float32Array(Gu).fill(1);
    if (kind === "simple_rnn") colScale.fill(aScale);
    if (kind === "lstm") colScale.fill(aScale, 2 * u, 3 * u);
    const scaled = colScale.some((v) => v !== 1);
    const scaleInto = (src: Buf, rows: number): Buf => {
      const out = mem.temp(rows * Gu);
      const sv = src.view(),
        ov = out.view();
      for (let i = 0; i < rows; i++) for (let g = 0; g < Gu; g++) ov[i * Gu + g] = colScale[g] * sv[i * Gu + g];
      return out;
    };
    if (scaled) {
      Wx = scaleInto(mem.input(kernel), F);
      Ux = scaleInto(mem.input(rk), u);
    }
    biX = mem.temp(Gu);
    const bv = biX.view();
    for (let g = 0; g < Gu; g++) bv[g] = colScale[g] * bi[g];
    if (br) {
      biR = mem.temp(Gu);
      biR.view().set(br);
    }
    mem.gemmBias!(Xtm, B * T, F, Wx, Gu, biX, XP);
  } else {
    mem.gemm(Xtm, B * T, F, mem.input(kernel), Gu, XP);
    if (simdK) {
      // the SIMD kernels add the biases themselves
      biX = mem.temp(Gu);
      biX.view().set(bi);
      biR = mem.temp(Gu);
      biR.view().set(br ?? new Float32Array(Gu));
    }
  }

  const Y = mem.output(a.returnSequences ? [B, T, u] : [B, u]);
  const hT = mem.output([B, u]);
  const cT = kind === "lstm" ? mem.output([B, u]) : null;
  const S = savedWidth(kind);
  const Hprev = a.save ? mem.output([T, B, u]) : null;
  const Gates = a.save ? mem.output([T, B, S * u]) : null;
  const Aux = a.save && hasAux(kind) ? mem.output([T, B, u]) : null;

  const hcur = mem.temp(B * u);
  hcur.view().set(mem.input(inputs.h0!).view());
  const c = kind === "lstm" ? copyOf(mem.input(inputs.c0!)) : null;
  const ycur = new Float32Array(B * u);
  // SIMD path: the LSTM cell state and the mask live in the heap too
  const cHeap = simdK && c ? mem.temp(B * u) : null;
  if (cHeap) cHeap.view().set(c!);
  // gates / aux of one step when they are not kept (inference): the SIMD kernels always write them
  const scratchG = simdK && !Gates ? mem.temp(B * S * u) : null,
    scratchA = simdK && !Aux ? mem.temp(B * u) : null;
  let maskPtr = 0;
  if (simdK && mask) {
    const mb = mem.temp(Math.ceil((B * T) / 4));
    maskPtr = mem.ptr!(mb);
    mem.bytes!().set(mask, maskPtr);
  }

  // Recurrent operands: U itself, or for reset_before U split into [U_z U_r] and U_h.
  const Grec = resetBefore ? 2 * u : Gu;
  let Urec: Buf = mem.input(rk);
  let Uh: Buf | null = null,
    rh: Buf | null = null,
    rech: Buf | null = null;
  if (resetBefore) {
    Urec = mem.temp(u * 2 * u);
    copyCols(mem.input(rk).view(), u, Gu, 0, 2 * u, Urec.view());
    Uh = mem.temp(u * u);
    copyCols(mem.input(rk).view(), u, Gu, 2 * u, u, Uh.view());
    rh = mem.temp(B * u);
    rech = mem.temp(B * u);
  }
  const rec = mem.temp(B * Grec);

  // Vectorised gate activations (wasm): pre-activations are gathered into P / Q, squashed by the
  // backend's SIMD sigmoid (tanh(x) = 2·sigmoid(2x) − 1), and read back. Elsewhere one JS pass.
  const vecStep = vec ? vectorStep() : null;

  function vectorStep(): (s: number, t: number) => void {
    const sig = mem.sigmoid!;
    // a gate value v from its squashed s: sigmoid → s, tanh → 2s − 1 (pre-activation scaled by 2)
    const [ra, rb] = a.recurrentActivation === "tanh" ? [2, 1] : [1, 0];
    const [aa, ab] = a.activation === "tanh" ? [2, 1] : [1, 0];
    const W1 = kind === "gru" && !fullVec ? 2 * u : Gu; // width of the first squashed block
    const P = mem.temp(B * W1),
      SP = mem.temp(B * W1);
    const Q = kind === "simple_rnn" ? null : mem.temp(B * u),
      SQ = Q ? mem.temp(B * u) : null;
    // per-column pre-activation scale of the first block
    const colScale = new Float32Array(W1);
    for (let g = 0; g < W1; g++)
      colScale[g] = kind === "simple_rnn" ? aa : kind === "lstm" && g >= 2 * u && g < 3 * u ? aa : ra;
    // with fullVec the biases are already inside XP and rec
    const bi0 = fullVec ? new Float32Array(Gu) : bi;
    const brr = fullVec || !br ? new Float32Array(Gu) : br;
    return (s, t) => {
      if (fullVec) mem.add!(mem.sub(XP, t * B * Gu, B * Gu), rec, B, Gu, P);
      else {
        const xp = XP.view(),
          rv = rec.view(),
          pv = P.view();
        for (let b = 0; b < B; b++) {
          const xo = (t * B + b) * Gu,
            ro = b * Gu,
            po = b * W1;
          for (let g = 0; g < W1; g++) pv[po + g] = colScale[g] * (xp[xo + g] + bi0[g] + rv[ro + g] + brr[g]);
        }
      }
      sig(P, SP);
      const xp = XP.view(),
        rv = rec.view(),
        sp = SP.view(),
        h = hcur.view();
      const gs = Gates ? Gates.buf.view() : null,
        ax = Aux ? Aux.buf.view() : null;
      if (kind === "simple_rnn") {
        for (let b = 0; b < B; b++) {
          if (mask && !mask[b * T + t]) continue;
          const ho = b * u,
            go = (s * B + b) * u;
          for (let j = 0; j < u; j++) {
            const hn = aa * sp[ho + j] - ab;
            if (gs) gs[go + j] = hn;
            h[ho + j] = hn;
          }
        }
        return;
      }
      const qv = Q!.view();
      if (kind === "gru") {
        for (let b = 0; b < B; b++) {
          const xo = (t * B + b) * Gu,
            ro = b * Gu,
            po = b * W1,
            ho = b * u,
            ao = (s * B + b) * u;
          for (let j = 0; j < u; j++) {
            const r = ra * sp[po + u + j] - rb;
            const rc = rv[ro + 2 * u + j] + brr[2 * u + j];
            qv[ho + j] = aa * (xp[xo + 2 * u + j] + bi0[2 * u + j] + r * rc);
            if (ax) ax[ao + j] = rc;
          }
        }
        sig(Q!, SQ!);
        const sp2 = SP.view(),
          sq = SQ!.view(),
          h2 = hcur.view();
        const gs2 = Gates ? Gates.buf.view() : null;
        for (let b = 0; b < B; b++) {
          if (mask && !mask[b * T + t]) continue;
          const po = b * W1,
            ho = b * u,
            go = (s * B + b) * 3 * u;
          for (let j = 0; j < u; j++) {
            const z = ra * sp2[po + j] - rb;
            const hh = aa * sq[ho + j] - ab;
            if (gs2) {
              gs2[go + j] = z;
              gs2[go + u + j] = ra * sp2[po + u + j] - rb;
              gs2[go + 2 * u + j] = hh;
            }
            h2[ho + j] = z * h2[ho + j] + (1 - z) * hh;
          }
        }
        return;
      }
      // LSTM: c' = f*c + i*g into Q (scaled for the activation), then h = o * act(c').
      const cc = c!;
      for (let b = 0; b < B; b++) {
        const po = b * Gu,
          ho = b * u;
        for (let j = 0; j < u; j++) {
          const i = ra * sp[po + j] - rb,
            f = ra * sp[po + u + j] - rb,
            g = aa * sp[po + 2 * u + j] - ab;
          qv[ho + j] = aa * (f * cc[ho + j] + i * g);
        }
      }
      sig(Q!, SQ!);
      const sp2 = SP.view(),
        sq = SQ!.view(),
        qv2 = Q!.view(),
        h2 = hcur.view();
      const gs2 = Gates ? Gates.buf.view() : null,
        ax2 = Aux ? Aux.buf.view() : null;
      for (let b = 0; b < B; b++) {
        if (mask && !mask[b * T + t]) continue;
        const po = b * Gu,
          ho = b * u,
          go = (s * B + b) * 5 * u,
          ao = (s * B + b) * u;
        for (let j = 0; j < u; j++) {
          const o = ra * sp2[po + 3 * u + j] - rb;
          const ac = aa * sq[ho + j] - ab;
          if (gs2) {
            gs2[go + j] = ra * sp2[po + j] - rb;
            gs2[go + u + j] = ra * sp2[po + u + j] - rb;
            gs2[go + 2 * u + j] = aa * sp2[po + 2 * u + j] - ab;
            gs2[go + 3 * u + j] = o;
            gs2[go + 4 * u + j] = ac;
            ax2![ao + j] = cc[ho + j];
          }
          cc[ho + j] = qv2[ho + j] / aa;
          h2[ho + j] = o * ac;
        }
      }
    };
  }

  const P = mem.ptr ?? (() => 0);
  const u4 = u * 4;
  for (let s = 0; s < T; s++) {
    const t = a.goBackwards ? T - 1 - s : s;
    if (simdK || !fullVec) mem.gemm(hcur, B, u, Urec, Grec, rec);
    else if (biR) mem.gemmBias!(hcur, B, u, Ux, Gu, biR, rec);
    else mem.gemm(hcur, B, u, Ux, Gu, rec);
    const xp = XP.view(),
      h = hcur.view(),
      rv = rec.view();
    const hp = Hprev ? Hprev.buf.view() : null;
    const gs = Gates ? Gates.buf.view() : null;
    const ax = Aux ? Aux.buf.view() : null;
    if (hp) hp.set(h, s * B * u);

    if (simdK) {
      const xpP = P(XP) + t * B * Gu * 4,
        recP = P(rec),
        hP = P(hcur),
        mP = maskPtr ? maskPtr + t : 0;
      const gP = Gates ? P(Gates.buf) + s * B * S * u4 : P(scratchG!),
        aP = Aux ? P(Aux.buf) + s * B * u4 : scratchA ? P(scratchA) : 0;
      if (resetBefore) {
        // z, r and r*h; the gemm (r*h)·U_h; then hh and the state update
        simdK.gru_rb_fwd1(B, u4, xpP, recP, P(biX!), hP, gP, P(rh!));
        mem.gemm(rh!, B, u, Uh!, u, rech!);
        simdK.gru_rb_fwd2(B, u4, xpP, P(biX!), P(rech!), hP, gP, aP, P(rh!), mP, T);
      } else if (kind === "gru") simdK.gru_fwd(B, u4, xpP, recP, P(biX!), P(biR!), hP, gP, aP, mP, T);
      else if (kind === "lstm") simdK.lstm_fwd(B, u4, xpP, recP, P(biX!), hP, P(cHeap!), gP, aP, mP, T);
      else simdK.rnn_fwd(B, u4, xpP, recP, P(biX!), hP, gP, mP, T);
    } else if (vecStep) vecStep(s, t);
    else if (kind === "gru" && !resetBefore) {
      const brr = br!;
      for (let b = 0; b < B; b++) {
        if (mask && !mask[b * T + t]) continue;
        const xo = (t * B + b) * Gu,
          ro = b * Gu,
          ho = b * u,
          go = (s * B + b) * 3 * u,
          ao = (s * B + b) * u;
        for (let j = 0; j < u; j++) {
          const z = ract(xp[xo + j] + bi[j] + rv[ro + j] + brr[j]);
          const r = ract(xp[xo + u + j] + bi[u + j] + rv[ro + u + j] + brr[u + j]);
          const rc = rv[ro + 2 * u + j] + brr[2 * u + j];
          const hh = act(xp[xo + 2 * u + j] + bi[2 * u + j] + r * rc);
          if (gs) {
            gs[go + j] = z;
            gs[go + u + j] = r;
            gs[go + 2 * u + j] = hh;
            ax![ao + j] = rc;
          }
          h[ho + j] = z * h[ho + j] + (1 - z) * hh;
        }
      }
    } else if (kind === "gru") {
      // reset_before: z, r from h·[U_z U_r]; then hh from (r*h)·U_h.
      const rhv = rh!.view();
      for (let b = 0; b < B; b++) {
        const ho = b * u;
        if (mask && !mask[b * T + t]) {
          rhv.fill(0, ho, ho + u);
          continue;
        }
        const xo = (t * B + b) * Gu,
          ro = b * Grec,
          go = (s * B + b) * 3 * u;
        for (let j = 0; j < u; j++) {
          const z = ract(xp[xo + j] + bi[j] + rv[ro + j]);
          const r = ract(xp[xo + u + j] + bi[u + j] + rv[ro + u + j]);
          if (gs) {
            gs[go + j] = z;
            gs[go + u + j] = r;
          }
          rv[ro + j] = z; // keep z for the second pass
          rhv[ho + j] = r * h[ho + j];
        }
      }
      mem.gemm(rh!, B, u, Uh!, u, rech!);
      const xp2 = XP.view(),
        h2 = hcur.view(),
        rv2 = rec.view(),
        rcv = rech!.view(),
        rhv2 = rh!.view();
      const gs2 = Gates ? Gates.buf.view() : null,
        ax2 = Aux ? Aux.buf.view() : null;
      for (let b = 0; b < B; b++) {
        if (mask && !mask[b * T + t]) {
          // r*h of a masked row feeds dU's gemm in the backward pass (times a zero gradient): keep it finite
          if (ax2) ax2.fill(0, (s * B + b) * u, (s * B + b + 1) * u);
          continue;
        }
        const xo = (t * B + b) * Gu,
          ro = b * Grec,
          ho = b * u,
          go = (s * B + b) * 3 * u,
          ao = (s * B + b) * u;
        for (let j = 0; j < u; j++) {
          const z = rv2[ro + j];
          const hh = act(xp2[xo + 2 * u + j] + bi[2 * u + j] + rcv[ho + j]);
          if (gs2) {
            gs2[go + 2 * u + j] = hh;
            ax2![ao + j] = rhv2[ho + j];
          }
          h2[ho + j] = z * h2[ho + j] + (1 - z) * hh;
        }
      }
    } else if (kind === "lstm") {
      const cc = c!;
      for (let b = 0; b < B; b++) {
        if (mask && !mask[b * T + t]) continue;
        const xo = (t * B + b) * Gu,
          ro = b * Gu,
          ho = b * u,
          go = (s * B + b) * 5 * u,
          ao = (s * B + b) * u;
        for (let j = 0; j < u; j++) {
          const i = ract(xp[xo + j] + bi[j] + rv[ro + j]);
          const f = ract(xp[xo + u + j] + bi[u + j] + rv[ro + u + j]);
          const g = act(xp[xo + 2 * u + j] + bi[2 * u + j] + rv[ro + 2 * u + j]);
          const o = ract(xp[xo + 3 * u + j] + bi[3 * u + j] + rv[ro + 3 * u + j]);
          const cp = cc[ho + j];
          const cn = f * cp + i * g;
          const ac = act(cn);
          if (gs) {
            gs[go + j] = i;
            gs[go + u + j] = f;
            gs[go + 2 * u + j] = g;
            gs[go + 3 * u + j] = o;
            gs[go + 4 * u + j] = ac;
            ax![ao + j] = cp;
          }
          cc[ho + j] = cn;
          h[ho + j] = o * ac;
        }
      }
    } else {
      for (let b = 0; b < B; b++) {
        if (mask && !mask[b * T + t]) continue;
        const xo = (t * B + b) * Gu,
          ro = b * Gu,
          ho = b * u,
          go = (s * B + b) * u;
        for (let j = 0; j < u; j++) {
          const hn = act(xp[xo + j] + bi[j] + rv[ro + j]);
          if (gs) gs[go + j] = hn;
          h[ho + j] = hn;
        }
      }
    }

    // Outputs of this step.
    const hv = hcur.view();
    if (!mask) ycur.set(hv);
    else
      for (let b = 0; b < B; b++) {
        const ho = b * u;
        if (mask[b * T + t]) for (let j = 0; j < u; j++) ycur[ho + j] = hv[ho + j];
        else if (zeroOut) ycur.fill(0, ho, ho + u);
      }
    if (a.returnSequences) {
      const yv = Y.buf.view();
      for (let b = 0; b < B; b++) yv.set(ycur.subarray(b * u, b * u + u), (b * T + s) * u);
    }
  }
  if (!a.returnSequences) Y.buf.view().set(ycur);
  hT.buf.view().set(hcur.view());
  if (cT) cT.buf.view().set(cHeap ? cHeap.view() : c!);

  const out: TensorInfo[] = [Y.info, hT.info];
  if (cT) out.push(cT.info);
  if (a.save) {
    out.push(Hprev!.info, Gates!.info);
    if (Aux) out.push(Aux.info);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Backward

/**
 * Inputs: dy, dhT, [dcT], x, recurrentKernel, hprev, gates, [aux], [mask].
 * Outputs: dXP (B,T,G·u) — the gradient of the input projection X·W + b in input time order —,
 * dW (F,G·u), dU (u,G·u), [dBias (biasShape)], dh0 (B,u), [dc0 (B,u)].
 */
export function rnnBackward(
  backend: any,
  backendName: string,
  inputs: Record<string, TensorInfo | undefined>,
  a: FusedAttrs,
): TensorInfo[] {
  const mem = memFor(backend, backendName);
  try {
    return backwardImpl(mem, inputs, a);
  } finally {
    mem.done();
  }
}

function backwardImpl(mem: Mem, inputs: Record<string, TensorInfo | undefined>, a: FusedAttrs): TensorInfo[] {
  const x = inputs.x!,
    rk = inputs.recurrentKernel!;
  const [B, T, F] = x.shape;
  const u = rk.shape[0];
  const kind = a.kind;
  const G = gatesOf(kind);
  const Gu = G * u;
  const TB = T * B;
  const resetBefore = kind === "gru" && !a.resetAfter;
  const dact = DACT[a.activation],
    dract = DACT[a.recurrentActivation];
  const mask = inputs.mask ? mem.readMask(inputs.mask) : null;
  const zeroOut = a.zeroOutputForMask;
  const S = savedWidth(kind);

  const dXP = mem.output([B, T, Gu]);
  const dW = mem.output([F, Gu]);
  const dU = mem.output([u, Gu]);
  const hasBias = a.biasShape.length > 0;
  const dBias = hasBias ? mem.output(a.biasShape) : null;
  const dh0 = mem.output([B, u]);
  const dc0 = kind === "lstm" ? mem.output([B, u]) : null;

  const dY = mem.input(inputs.dy!);
  const dh = copyOf(mem.input(inputs.dhT!));
  const dc = kind === "lstm" ? copyOf(mem.input(inputs.dcT!)) : null;
  const dyCarry = mask ? new Float32Array(B * u) : null;
  const Hprev = mem.input(inputs.hprev!);
  const Gates = mem.input(inputs.gates!);
  const Aux = inputs.aux ? mem.input(inputs.aux) : null;

  // WebAssembly SIMD gate kernels (simd.ts): default activations, units a multiple of 4.
  if (
    mem.simd &&
    mem.ptr &&
    mem.bytes &&
    u % 4 === 0 &&
    a.activation === "tanh" &&
    (kind === "simple_rnn" || a.recurrentActivation === "sigmoid")
  ) {
    backwardSimd(mem, mem.simd, x, rk, a, { dY, dh, dc, Hprev, Gates, Aux, mask }, { dXP, dW, dU, dBias, dh0, dc0 });
    const out: TensorInfo[] = [dXP.info, dW.info, dU.info];
    if (dBias) out.push(dBias.info);
    out.push(dh0.info);
    if (dc0) out.push(dc0.info);
    return out;
  }

  // Transposed recurrent operands for dh_prev = dRec·Uᵀ.
  const Grec = resetBefore ? 2 * u : Gu;
  const UT = mem.temp(Grec * u);
  transposeCols(mem.input(rk).view(), u, Gu, 0, Grec, UT.view());
  let UhT: Buf | null = null,
    dhhB: Buf | null = null,
    dRH: Buf | null = null;
  if (resetBefore) {
    UhT = mem.temp(u * u);
    transposeCols(mem.input(rk).view(), u, Gu, 2 * u, u, UhT.view());
    dRH = mem.temp(B * u);
  }
  // Per step: dRec (gradient w.r.t. h·U + recurrent bias) of this step's rows, the left operand of
  // the step's dh gemm. All steps: dRecT (G·u × T·B) and dXPT, their transposes (column s*B+b),
  // written block by block (contiguous in b) and used once at the end for dU, dW and the biases.
  const drec = mem.temp(B * Grec);
  if (resetBefore) dhhB = mem.temp(B * u);
  const dRecT = mem.temp(Gu * TB);
  const shared = kind !== "gru"; // LSTM / SimpleRNN: the gradient w.r.t. XP equals the one w.r.t. h·U
  const dXPT = shared ? dRecT : mem.temp(Gu * TB);
  const dhRec = mem.temp(B * u);
  const rs = a.returnSequences;

  for (let s = T - 1; s >= 0; s--) {
    const t = a.goBackwards ? T - 1 - s : s;
    const dy = dY.view(),
      hp = Hprev.view(),
      gs = Gates.view(),
      ax = Aux ? Aux.view() : null;
    const dxp = dXP.buf.view(),
      dr = drec.view();
    const hpo0 = s * B * u;
    const dhhv = dhhB ? dhhB.view() : null;

    // Pass 1: per row, gradient w.r.t. this step's new state; masked rows pass it through.
    for (let b = 0; b < B; b++) {
      const ho = b * u,
        xo = (b * T + t) * Gu,
        ro = b * Grec;
      const dyo = rs ? (b * T + s) * u : b * u;
      const withDy = rs || s === T - 1;
      const live = !mask || mask[b * T + t] === 1;
      if (!live) {
        // state kept: dh (and dc) flow to the previous step unchanged; output repeats y_{t-1} or is zero.
        if (dyCarry) {
          if (zeroOut) dyCarry.fill(0, ho, ho + u);
          else if (withDy) for (let j = 0; j < u; j++) dyCarry[ho + j] += dy[dyo + j];
        }
        dxp.fill(0, xo, xo + Gu);
        dr.fill(0, ro, ro + Grec);
        continue;
      }
      // total gradient w.r.t. h after this step
      for (let j = 0; j < u; j++) {
        let g = dh[ho + j];
        if (withDy) g += dy[dyo + j];
        if (dyCarry) {
          g += dyCarry[ho + j];
          dyCarry[ho + j] = 0;
        }
        dh[ho + j] = g;
      }
      const go = (s * B + b) * S * u,
        ao = (s * B + b) * u,
        hpo = hpo0 + ho;
      if (kind === "gru") {
        for (let j = 0; j < u; j++) {
          const g = dh[ho + j];
          const z = gs[go + j],
            hh = gs[go + 2 * u + j],
            hprev = hp[hpo + j];
          const dhh = g * (1 - z) * dact(hh);
          const dz = g * (hprev - hh) * dract(z);
          dxp[xo + j] = dz;
          dxp[xo + 2 * u + j] = dhh;
          dh[ho + j] = g * z; // direct path h_{t-1} → h_t
          if (!resetBefore) {
            const r = gs[go + u + j],
              rc = ax![ao + j];
            const drr = dhh * rc * dract(r);
            dxp[xo + u + j] = drr;
            dr[ro + j] = dz;
            dr[ro + u + j] = drr;
            dr[ro + 2 * u + j] = dhh * r;
          } else {
            dr[ro + j] = dz;
            dhhv![ho + j] = dhh;
          }
        }
      } else if (kind === "lstm") {
        const dcv = dc!;
        for (let j = 0; j < u; j++) {
          const g = dh[ho + j];
          const i = gs[go + j],
            f = gs[go + u + j],
            cc = gs[go + 2 * u + j],
            o = gs[go + 3 * u + j],
            ac = gs[go + 4 * u + j];
          const dct = dcv[ho + j] + g * o * dact(ac);
          const dO = g * ac * dract(o);
          const dI = dct * cc * dract(i);
          const dF = dct * ax![ao + j] * dract(f);
          const dC = dct * i * dact(cc);
          dcv[ho + j] = dct * f;
          dxp[xo + j] = dI;
          dxp[xo + u + j] = dF;
          dxp[xo + 2 * u + j] = dC;
          dxp[xo + 3 * u + j] = dO;
          dr[ro + j] = dI;
          dr[ro + u + j] = dF;
          dr[ro + 2 * u + j] = dC;
          dr[ro + 3 * u + j] = dO;
          dh[ho + j] = 0;
        }
      } else {
        for (let j = 0; j < u; j++) {
          const d = dh[ho + j] * dact(gs[go + j]);
          dxp[xo + j] = d;
          dr[ro + j] = d;
          dh[ho + j] = 0;
        }
      }
    }

    if (resetBefore) {
      // dRH = dhh·U_hᵀ; then dr = dRH*h_{t-1}*r' and h_{t-1} gets dRH*r.
      const dhv = dhhB!.view();
      if (mask) for (let b = 0; b < B; b++) if (!mask[b * T + t]) dhv.fill(0, b * u, b * u + u);
      mem.gemm(dhhB!, B, u, UhT!, u, dRH!);
      const drh = dRH!.view(),
        gs2 = Gates.view(),
        hp2 = Hprev.view(),
        dxp2 = dXP.buf.view(),
        dr2 = drec.view();
      for (let b = 0; b < B; b++) {
        if (mask && !mask[b * T + t]) continue;
        const ho = b * u,
          xo = (b * T + t) * Gu,
          ro = b * Grec,
          go = (s * B + b) * 3 * u,
          hpo = hpo0 + ho;
        for (let j = 0; j < u; j++) {
          const r = gs2[go + u + j],
            q = drh[ho + j];
          const drr = q * hp2[hpo + j] * dract(r);
          dxp2[xo + u + j] = drr;
          dr2[ro + u + j] = drr;
          dh[ho + j] += q * r;
        }
      }
    }

    // this step's columns of dRecT / dXPT (masked rows are zeros already)
    {
      const dr4 = drec.view(),
        drt = dRecT.view(),
        dxt = dXPT.view(),
        dxp4 = dXP.buf.view();
      const col = s * B;
      for (let g = 0; g < Grec; g++) {
        const o = g * TB + col;
        for (let b = 0; b < B; b++) drt[o + b] = dr4[b * Grec + g];
      }
      if (resetBefore) {
        const dh4 = dhhB!.view();
        for (let j = 0; j < u; j++) {
          const o = (2 * u + j) * TB + col;
          for (let b = 0; b < B; b++) drt[o + b] = dh4[b * u + j];
        }
      }
      if (!shared)
        for (let g = 0; g < Gu; g++) {
          const o = g * TB + col;
          for (let b = 0; b < B; b++) dxt[o + b] = dxp4[(b * T + t) * Gu + g];
        }
    }

    // dh_{t-1} += dRec·Uᵀ
    mem.gemm(drec, B, Grec, UT, u, dhRec);
    const dhr = dhRec.view();
    for (let k = 0; k < B * u; k++) dh[k] += dhr[k];
  }

  dh0.buf.view().set(dh);
  if (dc0) dc0.buf.view().set(dc!);

  // Weight and bias gradients, one gemm per distinct left factor over all timesteps, oriented so that
  // the packed right operand is the thin one: dUᵀ = dRecT·A, dWᵀ = dXPT·Xp, with A = h_{t-1} (for GRU
  // reset_before's h gate r*h_{t-1}), Xp = x in processing order, and a ones column for the bias.
  const hasBr = kind === "gru" && a.resetAfter;
  const KA = shared ? u + F + 1 : u + (hasBr ? 1 : 0); // columns of the operand for dRecT
  const A = mem.temp(TB * KA);
  const outA = mem.temp(Gu * KA);
  const XpB = shared ? null : mem.temp(TB * (F + 1));
  const outX = shared ? null : mem.temp(Gu * (F + 1));
  const RH = resetBefore ? mem.temp(TB * u) : null;
  const outH = resetBefore ? mem.temp(u * u) : null;
  {
    const av = A.view(),
      hp = Hprev.view(),
      xv = mem.input(x).view(),
      xpb = XpB ? XpB.view() : null;
    for (let s = 0; s < T; s++) {
      const t = a.goBackwards ? T - 1 - s : s;
      for (let b = 0; b < B; b++) {
        const r = s * B + b,
          ao = r * KA,
          xo = (b * T + t) * F;
        for (let j = 0; j < u; j++) av[ao + j] = hp[r * u + j];
        if (shared) {
          for (let f = 0; f < F; f++) av[ao + u + f] = xv[xo + f];
          av[ao + u + F] = 1;
        } else {
          if (hasBr) av[ao + u] = 1;
          const po = r * (F + 1);
          for (let f = 0; f < F; f++) xpb![po + f] = xv[xo + f];
          xpb![po + F] = 1;
        }
      }
    }
    if (RH) RH.view().set(Aux!.view());
  }
  mem.gemm(mem.sub(dRecT, 0, Grec * TB), Grec, TB, A, KA, mem.sub(outA, 0, Grec * KA));
  if (resetBefore) mem.gemm(mem.sub(dRecT, 2 * u * TB, u * TB), u, TB, RH!, u, outH!);
  if (!shared) mem.gemm(dXPT, Gu, TB, XpB!, F + 1, outX!);
  {
    const oa = outA.view(),
      du = dU.buf.view(),
      dw = dW.buf.view(),
      db = dBias ? dBias.buf.view() : null;
    for (let g = 0; g < Grec; g++) for (let i = 0; i < u; i++) du[i * Gu + g] = oa[g * KA + i];
    if (resetBefore) {
      const oh = outH!.view();
      for (let j = 0; j < u; j++) for (let i = 0; i < u; i++) du[i * Gu + 2 * u + j] = oh[j * u + i];
    }
    if (shared) {
      for (let g = 0; g < Gu; g++) for (let f = 0; f < F; f++) dw[f * Gu + g] = oa[g * KA + u + f];
      if (db) for (let g = 0; g < Gu; g++) db[g] = db[db.length > Gu ? Gu + g : g] = oa[g * KA + u + F];
    } else {
      const ox = outX!.view();
      for (let g = 0; g < Gu; g++) for (let f = 0; f < F; f++) dw[f * Gu + g] = ox[g * (F + 1) + f];
      if (db) {
        for (let g = 0; g < Gu; g++) db[g] = ox[g * (F + 1) + F];
        if (hasBr) for (let g = 0; g < Gu; g++) db[Gu + g] = oa[g * KA + u];
      }
    }
  }

  const out: TensorInfo[] = [dXP.info, dW.info, dU.info];
  if (dBias) out.push(dBias.info);
  out.push(dh0.info);
  if (dc0) out.push(dc0.info);
  return out;
}

type Out = { buf: Buf; info: TensorInfo };

/**
 * Backward pass with the WebAssembly SIMD gate kernels (GRU, LSTM, SimpleRNN; masked or not).
 * Per step: one kernel call writes this step's pre-activation gradients row-major into dXP (the output)
 * and into dRec, the (T·B × G·u) block of all steps (rows s*B+b), then one gemm dh_{t-1} = dRec_s·Uᵀ.
 * With a mask the _m kernels carry the state gradient through masked rows and the output gradient back
 * to the last live step (dyc). GRU reset_before: dRec has the z and r blocks only, the h gate's dhh
 * goes to dHH; per step gru_rb_bwd1, the gemm drh = dhh·U_hᵀ, gru_rb_bwd2 (r's gradient), the dRec gemm.
 * At the end one or two gemms for the weight and bias gradients (below).
 */
function backwardSimd(
  mem: Mem,
  k: SimdKernels,
  x: TensorInfo,
  rk: TensorInfo,
  a: FusedAttrs,
  i: {
    dY: Buf;
    dh: Float32Array;
    dc: Float32Array | null;
    Hprev: Buf;
    Gates: Buf;
    Aux: Buf | null;
    mask: Uint8Array | null;
  },
  o: { dXP: Out; dW: Out; dU: Out; dBias: Out | null; dh0: Out; dc0: Out | null },
): void {
  const [B, T, F] = x.shape;
  const u = rk.shape[0];
  const kind = a.kind;
  const Gu = gatesOf(kind) * u,
    TB = T * B,
    S = savedWidth(kind),
    u4 = u * 4;
  const P = mem.ptr!;
  // GRU reset_before: dRec holds the z and r blocks only (the h gate's recurrent gradient is dhh·[r*h],
  // kept apart in dHH) and a second gemm per step gives drh = dhh·U_hᵀ
  const resetBefore = kind === "gru" && !a.resetAfter;
  const Grec = resetBefore ? 2 * u : Gu;
  const UT = mem.temp(Grec * u);
  transposeCols(mem.input(rk).view(), u, Gu, 0, Grec, UT.view());
  const dRec = mem.temp(TB * Grec);
  let UhT: Buf | null = null,
    dHH: Buf | null = null,
    dRH: Buf | null = null;
  if (resetBefore) {
    UhT = mem.temp(u * u);
    transposeCols(mem.input(rk).view(), u, Gu, 2 * u, u, UhT.view());
    dHH = mem.temp(TB * u);
    dRH = mem.temp(B * u);
  }
  // dhRec starts as dhT (the kernels add it to the step's incoming gradient); GRU carries g·z in dhB
  const dhRec = mem.temp(B * u);
  dhRec.view().set(i.dh);
  const dcB = i.dc ? mem.temp(B * u) : null;
  if (dcB) dcB.view().set(i.dc!);
  const zeros = mem.temp(u);
  zeros.view().fill(0);
  // With a mask (the _m kernels): the carried output gradient dyc, and for LSTM / SimpleRNN a carried
  // state gradient in dhB too (masked steps pass the state's gradient through unchanged).
  const mask = i.mask;
  let maskP = 0,
    dycP = 0;
  let dhB = kind === "gru" ? mem.temp(B * u) : null;
  if (mask) {
    if (!dhB) dhB = mem.temp(B * u);
    const dyc = mem.temp(B * u);
    dyc.view().fill(0);
    dycP = P(dyc);
    const mb = mem.temp(Math.ceil((B * T) / 4));
    maskP = P(mb);
    mem.bytes!().set(mask, maskP);
  }
  if (dhB) dhB.view().fill(0);
  const rs = a.returnSequences,
    zeroOut = a.zeroOutputForMask;
  const dyP = P(i.dY),
    gP = P(i.Gates),
    hpP = P(i.Hprev),
    axP = i.Aux ? P(i.Aux) : 0,
    dxpP = P(o.dXP.buf),
    drP = P(dRec);
  for (let s = T - 1; s >= 0; s--) {
    const t = a.goBackwards ? T - 1 - s : s;
    const dyS = rs ? dyP + s * u4 : s === T - 1 ? dyP : P(zeros),
      dyStride = rs ? T * u4 : s === T - 1 ? u4 : 0;
    const dxpS = dxpP + t * Gu * 4,
      dxpStride = T * Gu * 4,
      drS = drP + s * B * Grec * 4;
    if (resetBefore) {
      const gS = gP + s * B * S * u4,
        hpS = hpP + s * B * u4,
        dhhS = P(dHH!) + s * B * u4;
      if (mask)
        k.gru_rb_bwd1_m(
          B,
          u4,
          P(dhB!),
          P(dhRec),
          dyS,
          dyStride,
          gS,
          hpS,
          dxpS,
          dxpStride,
          drS,
          dhhS,
          maskP + t,
          T,
          dycP,
          zeroOut ? P(zeros) : dyS,
          zeroOut ? 0 : dyStride,
        );
      else k.gru_rb_bwd1(B, u4, P(dhB!), P(dhRec), dyS, dyStride, gS, hpS, dxpS, dxpStride, drS, dhhS);
      mem.gemm(mem.sub(dHH!, s * B * u, B * u), B, u, UhT!, u, dRH!);
      k.gru_rb_bwd2(B, u4, P(dhB!), P(dRH!), gS, hpS, dxpS, dxpStride, drS);
    } else if (mask) {
      // what a masked step adds to the carried output gradient: its dy, or nothing under zero_output_for_mask
      const dy2 = zeroOut ? P(zeros) : dyS,
        dy2Stride = zeroOut ? 0 : dyStride,
        mP = maskP + t;
      if (kind === "gru")
        k.gru_bwd_m(
          B,
          u4,
          P(dhB!),
          P(dhRec),
          dyS,
          dyStride,
          gP + s * B * S * u4,
          hpP + s * B * u4,
          axP + s * B * u4,
          dxpS,
          dxpStride,
          drS,
          mP,
          T,
          dycP,
          dy2,
          dy2Stride,
        );
      else if (kind === "lstm")
        k.lstm_bwd_m(
          B,
          u4,
          P(dhRec),
          P(dcB!),
          dyS,
          dyStride,
          gP + s * B * S * u4,
          axP + s * B * u4,
          dxpS,
          dxpStride,
          drS,
          mP,
          T,
          dycP,
          dy2,
          dy2Stride,
          P(dhB!),
        );
      else
        k.rnn_bwd_m(
          B,
          u4,
          P(dhRec),
          dyS,
          dyStride,
          gP + s * B * S * u4,
          dxpS,
          dxpStride,
          drS,
          mP,
          T,
          dycP,
          dy2,
          dy2Stride,
          P(dhB!),
        );
    } else if (kind === "gru")
      k.gru_bwd(
        B,
        u4,
        P(dhB!),
        P(dhRec),
        dyS,
        dyStride,
        gP + s * B * S * u4,
        hpP + s * B * u4,
        axP + s * B * u4,
        dxpS,
        dxpStride,
        drS,
      );
    else if (kind === "lstm")
      k.lstm_bwd(B, u4, P(dhRec), P(dcB!), dyS, dyStride, gP + s * B * S * u4, axP + s * B * u4, dxpS, dxpStride, drS);
    else k.rnn_bwd(B, u4, P(dhRec), dyS, dyStride, gP + s * B * S * u4, dxpS, dxpStride, drS);
    // dh_{t-1} (recurrent part) = dRec_s·Uᵀ, added in by the next step's kernel
    mem.gemm(mem.sub(dRec, s * B * Grec, B * Grec), B, Grec, UT, u, dhRec);
  }
  const dh0 = o.dh0.buf.view();
  dh0.set(dhRec.view());
  if (dhB) {
    const v = dhB.view();
    for (let q = 0; q < B * u; q++) dh0[q] += v[q];
  }
  if (dcB) o.dc0!.buf.view().set(dcB.view());

  // Weight and bias gradients, oriented as in backwardImpl (the packed right operand is the thin one;
  // XNNPACK packs a wide one slowly), with right operands exactly u or F wide (XNNPACK's 8-column
  // panels waste little; a ones column for the biases would cost a whole panel): dRecT = dRecᵀ
  // (G·u × T·B, columns s*B+b) by the SIMD transpose; dUᵀ = dRecT·H with H = h_{t-1} of every step as
  // saved (T·B × u, same row order). dWᵀ: LSTM / SimpleRNN, whose dXP equals dRec, dRecT·Xp with
  // Xp = x in processing order; GRU dXPᵀ·X with X in its natural (b, t) row order, as dXP's rows.
  // Bias gradients: column sums of dRec (recurrent) and dXP (input).
  const shared = kind !== "gru";
  const dRecT = mem.temp(Grec * TB);
  k.transpose(drP, TB, Grec, P(dRecT));
  const outU = mem.temp(Gu * u);
  mem.gemm(dRecT, Grec, TB, i.Hprev, u, mem.sub(outU, 0, Grec * u));
  if (resetBefore) {
    // dU_hᵀ = dHHᵀ·RH, RH = r*h_{t-1} of every step (saved as aux)
    const dHHT = mem.temp(u * TB);
    k.transpose(P(dHH!), TB, u, P(dHHT));
    mem.gemm(dHHT, u, TB, i.Aux!, u, mem.sub(outU, 2 * u * u, u * u));
  }
  k.transpose(P(outU), Gu, u, P(o.dU.buf));
  const xP = P(mem.input(x));
  const Xp = mem.temp(TB * F),
    outX = mem.temp(Gu * F);
  if (shared) {
    for (let s = 0; s < T; s++) {
      const t = a.goBackwards ? T - 1 - s : s;
      k.copy_rows(xP + t * F * 4, T * F * 4, P(Xp) + s * B * F * 4, F * 4, F * 4, B);
    }
    mem.gemm(dRecT, Gu, TB, Xp, F, outX);
  } else {
    const dXPT = mem.temp(Gu * TB);
    k.transpose(dxpP, TB, Gu, P(dXPT));
    mem.gemm(dXPT, Gu, TB, mem.input(x), F, outX);
  }
  const ox = outX.view(),
    dw = o.dW.buf.view();
  for (let g = 0; g < Gu; g++) for (let f = 0; f < F; f++) dw[f * Gu + g] = ox[g * F + f];
  if (o.dBias) {
    const dbP = P(o.dBias.buf);
    k.colsum(dxpP, TB, Gu * 4, dbP); // input bias (LSTM / SimpleRNN: the only one)
    if (kind === "gru" && !resetBefore)
      k.colsum(drP, TB, Gu * 4, dbP + Gu * 4); // GRU reset_after: the recurrent bias
    else if (o.dBias.buf.n > Gu) k.copy_rows(dbP, 0, dbP + Gu * 4, 0, Gu * 4, 1); // CuDNNLSTM's (8u): both halves
  }
}

// ---------------------------------------------------------------------------------------------
// Registration

let registered = false;

/** Registers both kernels for the "wasm" and "cpu" backends (idempotent). */
export function registerFusedKernels(): void {
  if (registered) return;
  registered = true;
  for (const backendName of ["wasm", "cpu"]) {
    tf.registerKernel({
      kernelName: FORWARD_KERNEL,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) =>
        rnnForward(backend, backendName, inputs as Record<string, TensorInfo>, attrs as unknown as FusedAttrs),
    });
    tf.registerKernel({
      kernelName: BACKWARD_KERNEL,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) =>
        rnnBackward(backend, backendName, inputs as Record<string, TensorInfo>, attrs as unknown as FusedAttrs),
    });
  }
}
