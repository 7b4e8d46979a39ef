/**
 * The fused recurrent sequence driver: a whole GRU / LSTM / SimpleRNN sequence in one forward kernel
 * call and one backward kernel call, with a hand-written back-propagation through time.
 *
 * From a layer call to the kernel:
 *  1. `layer_gru()` & co. are recurrent layer families (rnn_layer.ts); their forward, `recurrentForward`,
 *     asks `fusedPlan()` (plan.ts) whether this call can take the fused path. The plan looks at the cell
 *     (`RecurrentCell.fused`: which fused cell, activations, bias layout, dropout — set by gru.ts, lstm.ts,
 *     simple_rnn.ts), `use_cudnn`, training, the backend and whether its internals and WebAssembly SIMD
 *     are there. `rnn_fused_status()` reports the same plan.
 *  2. On the fused path `fusedRnn()` (here) checks shapes and runs the tfjs kernel `TskFusedRnn`; under a
 *     gradient tape it saves what the backward pass needs, and the tape's gradient runs `TskFusedRnnGrad`.
 *     Both kernels are registered for the wasm and cpu backends.
 *  3. The kernels (`forward`, `backward` below) are this driver. It does everything that is the same for
 *     every cell: the input projection X·W of all timesteps in one product, the time loop (go_backwards:
 *     reversed), the per-step product h·U, masks (a masked step keeps the states; the output repeats the
 *     previous one or is zero with zero_output_for_mask), the outputs, the saved tensors, the
 *     back-propagation-through-time skeleton (carried state and output gradients), and at the end the
 *     weight and bias gradients as a few products over all timesteps.
 *  4. Each cell module (cells/gru_reset_after.ts, gru_reset_before.ts, lstm.ts, simple_rnn.ts) holds that
 *     cell's step: its math, written once over an algebra that is tensors on the step-wise path and
 *     WebAssembly here, its bias layout, what it saves, and its phases (which buffers a step reads and
 *     writes). step_kernels.ts turns the phases into WebAssembly step functions (one call per timestep does
 *     a step's whole gate arithmetic, 4 units per instruction) that run in the same memory as the products
 *     (mem.ts: the wasm backend's heap, or an arena for the cpu backend).
 *
 * Adding a cell: a module in cells/ (its math over `CellAlgebra` / `GradAlgebra`, used by its layer's
 * step-wise cell too; its `FusedCell` description and phases), an entry in cells/index.ts, and
 * `RecurrentCell.fused` on its layer's cell. Tests compare the fused path with the step-wise loop and an
 * independent reference, and assert which path ran through `fusedKernelCalls()`.
 *
 * Semantics (KERAS_FACTS "The recurrent loop"): processing order reversed when go_backwards (mask too);
 * at a masked step every state keeps its value and the output repeats the previous output (zeros before
 * any) or is zero with zero_output_for_mask; outputs are in processing order.
 */
import { tf, type Tensor } from "../../../backend/tf.js";
import { KerasError } from "../../../errors.js";
import { FUSED_CELLS, type BiasLayout, type FusedCell, type FusedCellId } from "./cells/index.js";
import { cpuMem, wasmMem, type Buf, type CpuBackend, type Mem, type Out, type WasmBackend } from "./mem.js";
import type { FusedActivation } from "./wasm.js";

type TensorInfo = tf.TensorInfo;

export const FORWARD_KERNEL = "TskFusedRnn";
export const BACKWARD_KERNEL = "TskFusedRnnGrad";

/** Backends the fused kernels are registered for. */
export const FUSED_BACKENDS = ["wasm", "cpu"] as const;

interface FusedAttrs {
  cell: FusedCellId;
  biasLayout: BiasLayout;
  goBackwards: boolean;
  returnSequences: boolean;
  zeroOutputForMask: boolean;
  activation: FusedActivation;
  recurrentActivation: FusedActivation;
  /** Forward only: also output the tensors the backward kernel needs. */
  save: boolean;
  /** Backward only: the bias's shape ([] when there is none). */
  biasShape: number[];
}

type KernelInputs = Readonly<Record<string, TensorInfo | undefined>>;

// ---------------------------------------------------------------------------------------------
// Invocation counts (tests assert which path ran)

const calls = { forward: 0, backward: 0 };

/** How often the fused forward and backward kernels have run in this process. */
export function fusedKernelCalls(): { readonly forward: number; readonly backward: number } {
  return { ...calls };
}

// ---------------------------------------------------------------------------------------------
// Forward

const copyInto = (buf: Buf, values: ArrayLike<number>, offset = 0) => buf.view().set(values, offset);

/** The input bias (every gate block, recurrent biases folded in where the cell allows) and the recurrent bias. */
function biasBuffers(
  mem: Mem,
  cell: FusedCell,
  layout: BiasLayout,
  bias: TensorInfo | undefined,
  u: number,
): { bi: Buf; br: Buf } {
  const Gu = cell.gates * u;
  const bi = mem.temp(Gu),
    br = mem.temp(Gu);
  const given = bias && layout !== "none" ? mem.input(bias) : null;
  const biv = bi.view(),
    brv = br.view();
  biv.fill(0);
  brv.fill(0);
  if (given) {
    const b = given.view();
    biv.set(b.subarray(0, Gu));
    if (layout === "input+recurrent")
      for (let k = 0; k < cell.gates; k++) {
        const rec = b.subarray(Gu + k * u, Gu + (k + 1) * u);
        if (cell.separateRecurrentBias.includes(k)) brv.set(rec, k * u);
        else for (let j = 0; j < u; j++) biv[k * u + j] += rec[j];
      }
  }
  return { bi, br };
}

/** Copies columns [c0, c0+w) of a (rows × cols) matrix into `out` (rows × w). */
function copyCols(src: Float32Array, rows: number, cols: number, c0: number, w: number, out: Float32Array): void {
  for (let i = 0; i < rows; i++) out.set(src.subarray(i * cols + c0, i * cols + c0 + w), i * w);
}

/** out (w × rows) = the transpose of columns [c0, c0+w) of src (rows × cols). */
function transposeCols(src: Float32Array, rows: number, cols: number, c0: number, w: number, out: Float32Array): void {
  for (let i = 0; i < rows; i++) {
    const so = i * cols + c0;
    for (let j = 0; j < w; j++) out[j * rows + i] = src[so + j];
  }
}

/** The mask as bytes in the memory (byte b·T + t); its offset. */
function maskInMemory(mem: Mem, mask: Uint8Array): number {
  const buf = mem.temp(Math.ceil(mask.length / 4));
  mem.bytes().set(mask, buf.offset);
  return buf.offset;
}

/** A call's cell and sizes: batch B, steps T, features F, units u, gate columns Gu and Grec, saved gates S, bytes per unit row u4. */
function sizesOf(inputs: KernelInputs, a: FusedAttrs) {
  const cell = FUSED_CELLS[a.cell];
  const [B, T, F] = inputs.x!.shape;
  const u = inputs.recurrentKernel!.shape[0];
  return { cell, B, T, F, u, Gu: cell.gates * u, Grec: cell.recurrentGates * u, S: cell.savedGates, u4: 4 * u };
}

/** `dst` (T·B × F) = the rows of X (B, T, F) time-major (row s·B + b holds x[b, t]), t = s or, reversed, T − 1 − s. */
function timeMajor(mem: Mem, X: Buf, dst: Buf, B: number, T: number, F: number, reversed: boolean): void {
  for (let s = 0; s < T; s++)
    mem.kernels.utilities.copyRows.call({
      src: X.offset + (reversed ? T - 1 - s : s) * F * 4,
      srcstride: T * F * 4,
      dst: dst.offset + s * B * F * 4,
      dststride: F * 4,
      nbytes: F * 4,
      n: B,
    });
}

/**
 * Inputs: x (B,T,F), kernel (F,G·u), recurrentKernel (u,G·u), h0, [c0], [bias], [mask].
 * Outputs: y ((B,T,u) or (B,u)), h_T, [c_T]; when saving also the state before every step (T,B,u), the
 * saved gates (T,B,S·u) and [aux (T,B,u)].
 */
function forward(mem: Mem, inputs: KernelInputs, a: FusedAttrs): TensorInfo[] {
  const { cell, B, T, F, u, Gu, Grec, S, u4 } = sizesOf(inputs, a);
  const steps = mem.kernels.cell(cell, a.activation, a.recurrentActivation).forward;

  // Input projection of every timestep in one product, on X reordered time-major so that each step
  // reads one contiguous (B × G·u) block of XP (rows t·B + b).
  const XP = mem.temp(B * T * Gu);
  let Xtm = mem.input(inputs.x!);
  if (T > 1 && B > 1) {
    const X = Xtm;
    Xtm = mem.temp(B * T * F);
    timeMajor(mem, X, Xtm, B, T, F, false);
  }
  mem.gemm(Xtm, B * T, F, mem.input(inputs.kernel!), Gu, XP);
  const { bi, br } = biasBuffers(mem, cell, a.biasLayout, inputs.bias, u);

  const Y = mem.output(a.returnSequences ? [B, T, u] : [B, u]);
  const hT = mem.output([B, u]);
  const cT = cell.states === 2 ? mem.output([B, u]) : null;
  const Hprev = a.save ? mem.output([T, B, u]) : null;
  const Gates = a.save ? mem.output([T, B, S * u]) : null;
  const Aux = a.save && cell.savesAux ? mem.output([T, B, u]) : null;
  // gates / aux of one step when they are not kept (inference): the step functions always write them
  const gatesScratch = Gates ? null : mem.temp(B * S * u),
    auxScratch = Aux ? null : mem.temp(B * u);

  const h = mem.temp(B * u);
  copyInto(h, mem.input(inputs.h0!).view());
  const c = cell.states === 2 ? mem.temp(B * u) : null;
  if (c) copyInto(c, mem.input(inputs.c0!).view());
  const mask = inputs.mask ? mem.readMask(inputs.mask) : null;
  const maskOffset = mask ? maskInMemory(mem, mask) : 0;

  // The per-step product's operand: U, or with the reset product U's z and r columns, and U_h apart.
  let Urec = mem.input(inputs.recurrentKernel!);
  let Uh: Buf | null = null;
  if (cell.resetProduct) {
    const U = Urec;
    Urec = mem.temp(u * Grec);
    Uh = mem.temp(u * u);
    copyCols(U.view(), u, Gu, 0, Grec, Urec.view());
    copyCols(U.view(), u, Gu, Grec, u, Uh.view());
  }
  const rec = mem.temp(B * Grec);
  const rh = cell.resetProduct ? mem.temp(B * u) : null,
    rech = cell.resetProduct ? mem.temp(B * u) : null;

  const ycur = new Float32Array(B * u);
  for (let s = 0; s < T; s++) {
    const t = a.goBackwards ? T - 1 - s : s;
    mem.gemm(h, B, u, Urec, Grec, rec);
    if (Hprev) copyInto(Hprev.buf, h.view(), s * B * u);
    const args = {
      B,
      u4,
      xp: XP.offset + t * B * Gu * 4,
      bi: bi.offset,
      br: br.offset,
      rec: rec.offset,
      h: h.offset,
      c: c?.offset,
      gates: Gates ? Gates.buf.offset + s * B * S * u4 : gatesScratch!.offset,
      aux: Aux ? Aux.buf.offset + s * B * u4 : auxScratch!.offset,
      rh: rh?.offset,
      rech: rech?.offset,
      mask: mask ? maskOffset + t : 0,
      mstride: T,
    };
    steps[0].call(args);
    if (cell.resetProduct) {
      mem.gemm(rh!, B, u, Uh!, u, rech!);
      steps[1].call(args);
    }

    // this step's output
    const hv = h.view();
    if (!mask) ycur.set(hv);
    else
      for (let b = 0; b < B; b++) {
        const ho = b * u;
        if (mask[b * T + t]) ycur.set(hv.subarray(ho, ho + u), ho);
        else if (a.zeroOutputForMask) ycur.fill(0, ho, ho + u);
      }
    if (a.returnSequences) {
      const yv = Y.buf.view();
      for (let b = 0; b < B; b++) yv.set(ycur.subarray(b * u, b * u + u), (b * T + s) * u);
    }
  }
  if (!a.returnSequences) copyInto(Y.buf, ycur);
  copyInto(hT.buf, h.view());
  if (cT) copyInto(cT.buf, c!.view());

  const outs: Out[] = [Y, hT, ...(cT ? [cT] : []), ...(a.save ? [Hprev!, Gates!, ...(Aux ? [Aux] : [])] : [])];
  return outs.map((o) => mem.result(o));
}

// ---------------------------------------------------------------------------------------------
// Backward

/**
 * Inputs: dy, dhT, [dcT], x, recurrentKernel, hprev, gates, [aux], [mask].
 * Outputs: dXP (B,T,G·u) — the gradient of the input projection X·W + b, in input time order —,
 * dW (F,G·u), dU (u,G·u), [dBias (biasShape)], dh0 (B,u), [dc0 (B,u)].
 *
 * Per step (last to first): the cell's backward step functions write the step's pre-activation gradients
 * row-major into dXP (the output) and into dRec, the (T·B × G·u) block of all steps (rows s·B + b); then
 * one product dh_{t-1} = dRec_s·Uᵀ, added in by the previous step's function. With the reset product,
 * the h gate's gradient goes to dHH, and a second product drh = dhh·U_hᵀ sits between the two phases.
 */
function backward(mem: Mem, inputs: KernelInputs, a: FusedAttrs): TensorInfo[] {
  const { cell, B, T, F, u, Gu, Grec, S, u4 } = sizesOf(inputs, a);
  const TB = T * B;
  const k = mem.kernels.cell(cell, a.activation, a.recurrentActivation);
  const { transpose, copyRows, colsum } = mem.kernels.utilities;

  const dXP = mem.output([B, T, Gu]);
  const dW = mem.output([F, Gu]);
  const dU = mem.output([u, Gu]);
  const dBias = a.biasShape.length ? mem.output(a.biasShape) : null;
  const dh0 = mem.output([B, u]);
  const dc0 = cell.states === 2 ? mem.output([B, u]) : null;

  const dY = mem.input(inputs.dy!);
  const Hprev = mem.input(inputs.hprev!);
  const Gates = mem.input(inputs.gates!);
  const Aux = inputs.aux ? mem.input(inputs.aux) : null;
  const X = mem.input(inputs.x!);
  const U = mem.input(inputs.recurrentKernel!);

  // Uᵀ (its z and r columns with the reset product), U_hᵀ
  const UT = mem.temp(Grec * u);
  transposeCols(U.view(), u, Gu, 0, Grec, UT.view());
  const UhT = cell.resetProduct ? mem.temp(u * u) : null;
  if (UhT) transposeCols(U.view(), u, Gu, Grec, u, UhT.view());
  const dRec = mem.temp(TB * Grec);
  const dHH = cell.resetProduct ? mem.temp(TB * u) : null,
    drh = cell.resetProduct ? mem.temp(B * u) : null;
  // dhRec starts as dhT (the step functions add it to the step's incoming gradient); dh carries the rest
  const dhRec = mem.temp(B * u);
  copyInto(dhRec, mem.input(inputs.dhT!).view());
  const dh = mem.temp(B * u);
  dh.view().fill(0);
  const dc = cell.states === 2 ? mem.temp(B * u) : null;
  if (dc) copyInto(dc, mem.input(inputs.dcT!).view());
  const zeros = mem.temp(u);
  zeros.view().fill(0);
  const mask = inputs.mask ? mem.readMask(inputs.mask) : null;
  const dyc = mask ? mem.temp(B * u) : null;
  if (dyc) dyc.view().fill(0);
  const maskOffset = mask ? maskInMemory(mem, mask) : 0;

  const steps = mask ? k.backwardMasked : k.backward;
  for (let s = T - 1; s >= 0; s--) {
    const t = a.goBackwards ? T - 1 - s : s;
    const withDy = a.returnSequences || s === T - 1;
    const dy = !withDy ? zeros.offset : a.returnSequences ? dY.offset + s * u4 : dY.offset,
      dystride = !withDy ? 0 : a.returnSequences ? T * u4 : u4;
    const args = {
      B,
      u4,
      dh: dh.offset,
      dhrec: dhRec.offset,
      dy,
      dystride,
      gates: Gates.offset + s * B * S * u4,
      hprev: Hprev.offset + s * B * u4,
      aux: Aux ? Aux.offset + s * B * u4 : undefined,
      dxp: dXP.buf.offset + t * Gu * 4,
      dxpstride: T * Gu * 4,
      dr: dRec.offset + s * B * Grec * 4,
      dc: dc?.offset,
      dhh: dHH ? dHH.offset + s * B * u4 : undefined,
      drh: drh?.offset,
      mask: maskOffset + t,
      mstride: T,
      dyc: dyc?.offset,
      // what a masked step adds to the carried output gradient: its dy, or nothing under zero_output_for_mask
      dy2: a.zeroOutputForMask ? zeros.offset : dy,
      dy2stride: a.zeroOutputForMask ? 0 : dystride,
    };
    steps[0].call(args);
    if (cell.resetProduct) {
      mem.gemm(mem.sub(dHH!, s * B * u, B * u), B, u, UhT!, u, drh!);
      steps[1].call(args);
    }
    // dh_{t-1} (recurrent part) = dRec_s·Uᵀ
    mem.gemm(mem.sub(dRec, s * B * Grec, B * Grec), B, Grec, UT, u, dhRec);
  }
  {
    const d0 = dh0.buf.view(),
      r = dhRec.view(),
      d = dh.view();
    for (let q = 0; q < B * u; q++) d0[q] = r[q] + d[q];
  }
  if (dc0) copyInto(dc0.buf, dc!.view());

  // Weight and bias gradients, oriented so that the packed right operand is the thin one (XNNPACK packs a
  // wide one slowly), exactly u or F wide: dRecT = dRecᵀ (G·u × T·B, columns s·B + b); dUᵀ = dRecT·H with
  // H = h_{t-1} of every step as saved (T·B × u, same row order); with the reset product the h gate's
  // dU_hᵀ = dHHᵀ·(r·h) (saved as aux). dWᵀ: when dXP equals dRec, dRecT·Xp with Xp = x in processing
  // order; otherwise dXPᵀ·X with X in its natural (b, t) row order, as dXP's rows.
  // Bias gradients: column sums of dXP (input bias) and dRec (recurrent bias).
  const dRecT = mem.temp(Grec * TB);
  transpose.call({ src: dRec.offset, rows: TB, cols: Grec, dst: dRecT.offset });
  const outU = mem.temp(Gu * u);
  mem.gemm(dRecT, Grec, TB, Hprev, u, mem.sub(outU, 0, Grec * u));
  if (cell.resetProduct) {
    const dHHT = mem.temp(u * TB);
    transpose.call({ src: dHH!.offset, rows: TB, cols: u, dst: dHHT.offset });
    mem.gemm(dHHT, u, TB, Aux!, u, mem.sub(outU, Grec * u, u * u));
  }
  transpose.call({ src: outU.offset, rows: Gu, cols: u, dst: dU.buf.offset });
  const outX = mem.temp(Gu * F);
  if (cell.recurrentGradIsInputGrad) {
    const Xp = mem.temp(TB * F);
    timeMajor(mem, X, Xp, B, T, F, a.goBackwards);
    mem.gemm(dRecT, Gu, TB, Xp, F, outX);
  } else {
    const dXPT = mem.temp(Gu * TB);
    transpose.call({ src: dXP.buf.offset, rows: TB, cols: Gu, dst: dXPT.offset });
    mem.gemm(dXPT, Gu, TB, X, F, outX);
  }
  transpose.call({ src: outX.offset, rows: Gu, cols: F, dst: dW.buf.offset });
  if (dBias) {
    const db = dBias.buf.offset;
    colsum.call({ src: dXP.buf.offset, rows: TB, rowbytes: Gu * 4, dst: db });
    if (a.biasLayout === "input+recurrent") {
      if (cell.recurrentGradIsInputGrad)
        copyRows.call({ src: db, srcstride: 0, dst: db + Gu * 4, dststride: 0, nbytes: Gu * 4, n: 1 });
      else colsum.call({ src: dRec.offset, rows: TB, rowbytes: Grec * 4, dst: db + Gu * 4 });
    }
  }

  const outs: Out[] = [dXP, dW, dU, ...(dBias ? [dBias] : []), dh0, ...(dc0 ? [dc0] : [])];
  return outs.map((o) => mem.result(o));
}

// ---------------------------------------------------------------------------------------------
// Registration

function run(
  backend: unknown,
  backendName: string,
  kernel: (mem: Mem, inputs: KernelInputs, a: FusedAttrs) => TensorInfo[],
  inputs: KernelInputs,
  a: FusedAttrs,
): TensorInfo[] {
  const mem = backendName === "wasm" ? wasmMem(backend as WasmBackend) : cpuMem(backend as CpuBackend);
  try {
    return kernel(mem, inputs, a);
  } finally {
    mem.done();
  }
}

let registered = false;

/** Registers both kernels for the "wasm" and "cpu" backends (idempotent). */
function registerFusedKernels(): void {
  if (registered) return;
  registered = true;
  for (const backendName of FUSED_BACKENDS) {
    tf.registerKernel({
      kernelName: FORWARD_KERNEL,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        calls.forward++;
        return run(backend, backendName, forward, inputs, attrs as unknown as FusedAttrs);
      },
    });
    tf.registerKernel({
      kernelName: BACKWARD_KERNEL,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        calls.backward++;
        return run(backend, backendName, backward, inputs, attrs as unknown as FusedAttrs);
      },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The entry point

export interface FusedRnnArgs {
  readonly cell: FusedCellId;
  /** (batch, time, features), input time order. */
  readonly inputs: Tensor;
  /** (features, G·units), Keras layout and gate order (GRU z, r, h; LSTM i, f, c, o). */
  readonly kernel: Tensor;
  /** (units, G·units). */
  readonly recurrentKernel: Tensor;
  readonly bias: Tensor | null;
  /** Default: the layout of the cell's Keras layer ("none" without a bias). */
  readonly biasLayout?: BiasLayout;
  /** [h] or, for LSTM, [h, c]; each (batch, units). Empty / omitted: zeros. */
  readonly initialState?: readonly Tensor[];
  /** (batch, time), bool or 0/1, TRUE = keep; arbitrary patterns allowed. */
  readonly mask?: Tensor | null;
  readonly goBackwards?: boolean;
  readonly returnSequences?: boolean;
  readonly zeroOutputForMask?: boolean;
  /** Default "tanh". */
  readonly activation?: FusedActivation;
  /** Default "sigmoid"; SimpleRNN has none. */
  readonly recurrentActivation?: FusedActivation;
  /** The public function named in errors (default: the cell's layer function). */
  readonly fn?: string;
}

export interface FusedRnnResult {
  /** (batch, time, units) in processing order when returnSequences, else (batch, units). */
  readonly output: Tensor;
  /** Final states: [h] or [h, c]. */
  readonly states: Tensor[];
}

/** The engine members used to run the kernels with a custom gradient. */
interface Engine {
  isTapeOn(): boolean;
  runKernel(name: string, inputs: Record<string, Tensor>, attrs: object): Tensor[];
  runKernelFunc(config: {
    inputs: Record<string, Tensor>;
    forwardFunc: (backend: unknown, save: (ts: Tensor[]) => void) => Tensor[];
    backwardsFunc: (dys: Tensor[], saved: Tensor[]) => Record<string, () => Tensor>;
  }): Tensor[];
}

/** The engine members `fusedRnn` uses that are missing (tfjs does not publish them). */
export function missingEngineInternals(engine: unknown = tf.engine()): string[] {
  const e = engine as Partial<Record<keyof Engine, unknown>> | null;
  return (["isTapeOn", "runKernel", "runKernelFunc"] as const)
    .filter((k) => typeof e?.[k] !== "function")
    .map((k) => `engine.${k}`);
}

/** Runs a whole recurrent sequence through the fused kernels (the caller has checked `fusedPlan()`). */
export function fusedRnn(o: FusedRnnArgs): FusedRnnResult {
  registerFusedKernels();
  const cell = FUSED_CELLS[o.cell];
  const fn = o.fn ?? cell.layerFn;
  const check = (cond: boolean, msg: string) => {
    if (!cond) throw new KerasError(fn, msg, "shape");
  };
  const x = o.inputs;
  check(x.rank === 3, `inputs must be (batch, time, features), got shape [${x.shape}]`);
  const [B, T, F] = x.shape;
  check(T >= 1, "the input sequence has no timesteps");
  const u = o.recurrentKernel.shape[0];
  const Gu = cell.gates * u;
  check(
    o.kernel.rank === 2 && o.kernel.shape[0] === F && o.kernel.shape[1] === Gu,
    `kernel must be (${F}, ${Gu}), got [${o.kernel.shape}]`,
  );
  check(
    o.recurrentKernel.rank === 2 && o.recurrentKernel.shape[1] === Gu,
    `recurrent kernel must be (${u}, ${Gu}), got [${o.recurrentKernel.shape}]`,
  );
  const bias = o.bias ?? null;
  const biasLayout: BiasLayout = !bias ? "none" : (o.biasLayout ?? cell.kerasBiasLayout);
  check(
    cell.biasLayouts.includes(biasLayout),
    `bias layout "${biasLayout}" is not one of ${cell.biasLayouts.map((l) => `"${l}"`).join(", ")}`,
  );
  if (bias) {
    const size = biasLayout === "input+recurrent" ? 2 * Gu : Gu;
    check(bias.size === size, `bias must have ${size} values, got shape [${bias.shape}]`);
  }
  const init = o.initialState ?? [];
  check(
    init.length === 0 || init.length === cell.states,
    `initial state must be ${cell.states} tensor(s), got ${init.length}`,
  );
  for (const s of init)
    check(
      s.rank === 2 && s.shape[0] === B && s.shape[1] === u,
      `each initial state must be (${B}, ${u}), got [${s.shape}]`,
    );
  const mask = o.mask ?? null;
  if (mask)
    check(
      mask.rank === 2 && mask.shape[0] === B && mask.shape[1] === T,
      `mask must be (${B}, ${T}), got [${mask.shape}]`,
    );

  const attrs: FusedAttrs = {
    cell: o.cell,
    biasLayout,
    goBackwards: !!o.goBackwards,
    returnSequences: !!o.returnSequences,
    zeroOutputForMask: !!o.zeroOutputForMask,
    activation: o.activation ?? "tanh",
    recurrentActivation: o.recurrentActivation ?? "sigmoid",
    save: false,
    biasShape: bias ? [...bias.shape] : [],
  };

  const engine = tf.engine() as unknown as Engine;
  const inputs: Record<string, Tensor> = {
    x: x.dtype === "float32" ? x : tf.cast(x, "float32"),
    kernel: o.kernel,
    recurrentKernel: o.recurrentKernel,
    h0: init[0] ?? tf.zeros([B, u]),
  };
  if (cell.states === 2) inputs.c0 = init[1] ?? tf.zeros([B, u]);
  if (bias) inputs.bias = bias;
  const kernelInputs: Record<string, Tensor> = mask ? { ...inputs, mask } : inputs;
  const nOut = 1 + cell.states;

  const outs = !engine.isTapeOn()
    ? engine.runKernel(FORWARD_KERNEL, kernelInputs, attrs)
    : engine.runKernelFunc({
        inputs,
        forwardFunc: (_backend, save) => {
          const r = engine.runKernel(FORWARD_KERNEL, kernelInputs, { ...attrs, save: true });
          save([inputs.x, o.kernel, o.recurrentKernel, ...r.slice(nOut), ...(mask ? [mask] : [])]);
          return r.slice(0, nOut);
        },
        backwardsFunc: (dys, saved) => {
          const [xs, W, U, hprev, gates] = saved;
          const bIn: Record<string, Tensor> = { dy: dys[0], dhT: dys[1], x: xs, recurrentKernel: U, hprev, gates };
          if (cell.states === 2) bIn.dcT = dys[2];
          if (cell.savesAux) bIn.aux = saved[5];
          if (mask) bIn.mask = saved[saved.length - 1];
          const g = engine.runKernel(BACKWARD_KERNEL, bIn, attrs);
          const [dXP, dW, dU] = g;
          let i = 3;
          const dBias = bias ? g[i++] : undefined;
          const dh0 = g[i++];
          const dc0 = cell.states === 2 ? g[i] : undefined;
          const grads: Record<string, () => Tensor> = {
            x: () => tf.reshape(tf.matMul(tf.reshape(dXP, [B * T, Gu]), tf.transpose(W)), [B, T, F]),
            kernel: () => dW,
            recurrentKernel: () => dU,
            h0: () => dh0,
          };
          if (dBias) grads.bias = () => dBias;
          if (dc0) grads.c0 = () => dc0;
          return grads;
        },
      });
  return { output: outs[0], states: outs.slice(1, nOut) };
}
