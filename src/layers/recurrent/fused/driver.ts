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
 *     every cell: it cuts the batch into chunks of 16 rows (each runs a whole sequence on its own, on
 *     the calling thread or a worker: threads.ts) and lays out, per chunk, the calls of one compiled
 *     module: the input projection X·W of all its timesteps in one product, then the cell's sequence
 *     function (the time loop, go_backwards reversed: the per-step product h·U, the step functions,
 *     masks — a masked step keeps the states; the output repeats the previous one or is zero with
 *     zero_output_for_mask —, the outputs and the saved tensors), and backward the
 *     back-propagation-through-time skeleton (carried state and output gradients), the chunk's weight and
 *     bias gradients as a few products over all its steps, and dX when the layer below needs it. A mask
 *     that is padding (each row's live steps first, or each row's live steps last) is not applied step by
 *     step: the rows are ordered by length and each step runs only its live rows ("Padding" below).
 *  4. Each cell module (cells/gru_reset_after.ts, gru_reset_before.ts, lstm.ts, simple_rnn.ts) holds that
 *     cell's step: its math, written once over an algebra that is tensors on the step-wise path and
 *     WebAssembly here, its bias layout, what it saves, and its phases (which buffers a step reads and
 *     writes). step_kernels.ts turns the phases into WebAssembly step functions (a step's whole gate
 *     arithmetic, 4 units per instruction) and sequence functions around them, in one module with the
 *     products (gemm.ts), run in one memory shared by the threads (mem.ts: an arena the kernel's inputs are
 *     copied into and its outputs out of, for the wasm and the cpu backend alike).
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
import { FUSED_CELLS, foldBias, type BiasLayout, type FusedCell, type FusedCellId } from "./cells/index.js";
import { memFor, mirroredInputs, mirroredMasks, type Buf, type Mem, type Out, type RowOrder } from "./mem.js";
import { DELTA, orderedArgs, stepDelta, type CellKernels, type StepKernel } from "./step_kernels.js";
import type { ChunkCall } from "./threads.js";
import type { FusedActivation } from "./lane_algebra.js";

type TensorInfo = tf.TensorInfo;

export const FORWARD_KERNEL = "TskFusedRnn";
export const BACKWARD_KERNEL = "TskFusedRnnGrad";
/** Copies a buffer the backward kept in the arena (dXP) out into a tensor of the backend. */
const KEPT_VALUES_KERNEL = "TskFusedKeptValues";

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
  /** Backward only: output dX = dXP·Wᵀ (B,T,F) instead of dXP (kernel W is then an input). */
  inputGrad: boolean;
  /** Backward only: the bias's shape ([] when there is none). */
  biasShape: number[];
}

type KernelInputs = Readonly<Record<string, TensorInfo | undefined>>;

// ---------------------------------------------------------------------------------------------
// Invocation counts (tests assert which path ran)

const calls = {
  forward: 0,
  backward: 0,
  inputGrad: 0,
  savedKept: 0,
  paddingSkipped: 0,
  layoutsReused: 0,
  packedForward: 0,
  widerChunks: 0,
  dxpKept: 0,
  dxpCopied: 0,
};

/**
 * How often the fused forward and backward kernels have run in this process (inputGrad: backward with
 * dX; savedKept: backward that found the forward's saved tensors kept in the arena, not copied), how
 * many (row, step) pairs of padding they skipped, forward and backward together, how many forward
 * calls reused the calls of an earlier one (`forwardLayouts`), how many forward calls read U
 * packed into panels (`packsRecurrentKernel`), how many cut the batch into chunks of more than 16 rows
 * (widerChunks: `inferenceChunkRows`), how many backward calls kept dXP in the arena (dxpKept)
 * and how many times a gradient function then asked for its values (dxpCopied), how many kernel
 * inputs were read where the previous kernel call left them in the arena instead of copied in
 * (inputsInArena: a stacked layer's sequence, a Bidirectional wrapper's input in its second direction),
 * and how many masks were the previous kernel call's (masksReused: a Bidirectional wrapper's second
 * direction).
 */
export function fusedKernelCalls(): {
  readonly forward: number;
  readonly backward: number;
  readonly inputGrad: number;
  readonly savedKept: number;
  readonly paddingSkipped: number;
  readonly layoutsReused: number;
  readonly packedForward: number;
  readonly widerChunks: number;
  readonly dxpKept: number;
  readonly dxpCopied: number;
  readonly inputsInArena: number;
  readonly masksReused: number;
} {
  return { ...calls, inputsInArena: mirroredInputs(), masksReused: mirroredMasks() };
}

// ---------------------------------------------------------------------------------------------
// Forward

/**
 * The forward's calls per group by cell module and the numbers they are made of (`layoutKey` in
 * `forward`): a one-step stream would otherwise build the same calls (closures, records, argument
 * lists) on every call, and a batch over padding a few per chunk and run of lengths (≈ 2,000 per
 * direction for W4's 1,024 rows, ≈ 0.6 ms). At most MAX_LAYOUTS per module, of them at most
 * MAX_PADDED_LAYOUTS over padding; the oldest goes first.
 */
let forwardLayouts = new WeakMap<CellKernels, ForwardLayout[]>();
interface ForwardLayout {
  readonly key: readonly number[];
  readonly calls: ChunkCall[][];
  /** Over padding: the key holds every row's length. */
  readonly padded: boolean;
}
/** Forgets every forward's calls (a test that counts reuses starts from none, whatever ran before it). */
export function forgetForwardLayouts(): void {
  forwardLayouts = new WeakMap();
}
const sameNumbers = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((v, i) => v === b[i]);
const MAX_LAYOUTS = 64;
/** Each holds ≈ 0.27 MB of calls at batch 1,024 (W4, one direction). */
export const MAX_PADDED_LAYOUTS = 8;

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
  foldBias(cell, layout, given && given.view(), u, bi.view(), br.view());
  return { bi, br };
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

/** The columns of n columns packed into panels of 8 (gemm.ts `pack_b`: the last one zero-padded). */
const panels = (n: number) => Math.ceil(n / 8) * 8;

/**
 * Whether a forward call reads U packed into panels of 8 columns (packed once per call, on the calling
 * thread): contiguous panels make the per-step product h·U about 7% faster (bench/lstm_kernels.ts), which
 * pays for packing U once the call has this many (row, step) pairs; a one-step stream reads U as it is.
 */
const packsRecurrentKernel = (B: number, T: number): boolean => B * T >= 1024;

/** Rows per chunk: the batch is cut into chunks of this many rows, whatever the number of threads (threads.ts). */
const CHUNK_ROWS = 16;

/**
 * Rows per chunk of a forward call that saves nothing (inference): no backward reads its chunks and a
 * row's numbers do not depend on its chunk, so larger chunks — fewer calls per step from the sequence
 * functions into the native products and step functions — as long as every thread keeps four or more
 * chunks to share and one chunk's X·W (per group) stays under 8 MB.
 */
function inferenceChunkRows(B: number, T: number, Gu: number, threads: number): number {
  const balanced = Math.floor(B / (4 * threads * CHUNK_ROWS));
  const fits = Math.floor((8 << 20) / (T * Gu * 4 * CHUNK_ROWS));
  return CHUNK_ROWS * Math.max(1, Math.min(4, balanced, fits));
}

/** The batch's chunks: [r0, r1) row ranges of `rows` rows, each running a whole sequence on its own. */
const chunksOf = (B: number, rows: number): [number, number][] =>
  Array.from({ length: Math.ceil(B / rows) }, (_, i) => [i * rows, Math.min(B, (i + 1) * rows)]);

/** How many groups a batch of B rows is dealt to (`grouped`): one per thread, at most one per chunk. */
const groupsFor = (B: number, threads: number, rows: number): number => Math.min(threads, Math.ceil(B / rows));

/**
 * The chunks dealt to n groups (`groupsFor`; chunk i to group i mod n): a group's chunks run one after
 * the other, so one scratch buffer per group serves them all (X·W of a chunk's steps, its dr), whatever
 * the batch. Which group a chunk is in changes no number.
 */
function grouped<C>(chunks: readonly C[], n: number): { chunk: C; index: number; group: number }[][] {
  const out = Array.from({ length: n }, () => [] as { chunk: C; index: number; group: number }[]);
  chunks.forEach((chunk, index) => out[index % n].push({ chunk, index, group: index % n }));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Padding: rows ordered by length, the padding skipped

/**
 * A mask that is padding (every row 1…1 0…0, as Embedding's mask_zero gives for sequences padded at the
 * end, or every row 0…0 1…1, padded at the start as pad_sequences() does by default): the kernels order
 * the rows by length, longest first (`order`, applied when the inputs are copied into the arena and
 * undone on the outputs), so that at every step a chunk's live rows are its first ones, and run only
 * those (`ChunkSteps`). A padding step of a row leaves everything as a masked step would: the states keep
 * their values, outputs are filled in afterwards, and its gradients are those of a masked step (the
 * backward kernel prepares and fills them around the calls).
 */
interface Padding {
  /** Row i of the arena is the batch's row order[i] (null: the batch's own order). */
  readonly order: RowOrder;
  /** The live steps of the arena's row i. */
  readonly lengths: Int32Array;
  /** Whether the padding is at the end of input time (else at its start). */
  readonly atEnd: boolean;
}

/** The mask (B × T bytes) as padding, or null when it is not (a hole, or rows padded at different ends). */
function paddingOf(mask: Uint8Array, B: number, T: number): Padding | null {
  const lengths = new Int32Array(B);
  let atEnd: boolean | null = null;
  for (let b = 0; b < B; b++) {
    const row = mask.subarray(b * T, (b + 1) * T);
    const first = row[0];
    const change = row.indexOf(1 - first);
    if (change < 0) lengths[b] = first ? T : 0;
    else if (row.indexOf(first, change) >= 0 || atEnd === !first) return null;
    else {
      atEnd = !!first;
      lengths[b] = first ? change : T - change;
    }
  }
  const order = Int32Array.from({ length: B }, (_, i) => i).sort((p, q) => lengths[q] - lengths[p] || p - q);
  const identity = order.every((b, i) => b === i);
  return {
    order: identity ? null : order,
    lengths: identity ? lengths : order.map((b) => lengths[b]),
    atEnd: atEnd ?? true,
  };
}

/** A mask's bytes, as padding (null: it is not) and in the arena's row order. */
interface MaskLayout {
  readonly bytes: Uint8Array;
  readonly padding: Padding | null;
  readonly ordered: Uint8Array;
}

/**
 * The layouts of the masks read, by their bytes: a Bidirectional wrapper's second direction gets the
 * first one's bytes (`Mem.readMask`), so its mask is read, and its rows ordered, once.
 */
const maskLayouts = new WeakMap<Uint8Array, MaskLayout>();

/** Mask tensor t (B × T) as bytes, padding and ordered bytes. */
function maskLayoutOf(mem: Mem, t: TensorInfo, B: number, T: number): MaskLayout {
  const bytes = mem.readMask(t);
  let layout = maskLayouts.get(bytes);
  if (!layout) {
    const padding = paddingOf(bytes, B, T);
    layout = { bytes, padding, ordered: orderedMask(bytes, T, padding?.order ?? null) };
    maskLayouts.set(bytes, layout);
  }
  return layout;
}

/** The (row, step) pairs the kernels run: every row's live steps. */
const liveRowSteps = (B: number, T: number, padding: Padding | null): number =>
  padding ? padding.lengths.reduce((n, L) => n + L, 0) : B * T;

/** Whether a row's padding steps come after its live ones in processing order (go_backwards reverses it). */
const padsAfter = (p: Padding, a: FusedAttrs): boolean => p.atEnd !== a.goBackwards;

/** The mask's rows in the arena's order. */
function orderedMask(mask: Uint8Array, T: number, order: RowOrder): Uint8Array {
  if (!order) return mask;
  const out = new Uint8Array(mask.length);
  order.forEach((b, i) => out.set(mask.subarray(b * T, (b + 1) * T), i * T));
  return out;
}

/**
 * A chunk of rows [r0, r1) and the rows live at each processing step (always its first `live[s]`; all of
 * them without padding). Its per-step buffers hold only the live rows, step after step: step s
 * begins `before[s]` rows into the chunk's part (before[T] rows in all).
 */
interface ChunkSteps {
  readonly r0: number;
  readonly r1: number;
  readonly live: Int32Array;
  readonly before: Int32Array;
  /** The live rows (b, t) in x's layout, as blocks [first row after the chunk's first, rows]. */
  readonly xBlocks: readonly (readonly [number, number])[];
  /** The chunk's first row in the saved tensors (`chunkMajor`): the live rows of the chunks before it. */
  readonly savedFrom: number;
}

/** The batch's chunks of `rows` rows; with padding (lengths in the arena's order) each step's live rows only. */
function chunkSteps(B: number, T: number, padding: Padding | null, a: FusedAttrs, rows: number): ChunkSteps[] {
  const lengths = padding?.lengths ?? null;
  const after = padding ? padsAfter(padding, a) : true;
  let savedFrom = 0;
  return chunksOf(B, rows).map(([r0, r1]) => {
    const live = new Int32Array(T),
      before = new Int32Array(T + 1);
    for (let s = 0; s < T; s++) {
      // a row is live at processing step s when it has at least `need` live steps
      const need = after ? s + 1 : T - s;
      const n = lengths ? countLive(lengths, r0, r1, need) : r1 - r0;
      live[s] = n;
      before[s + 1] = before[s] + n;
    }
    // row b's live steps in input time: its first or its last ones
    const xBlocks: [number, number][] = [];
    for (let b = r0; b < r1; b++) {
      const n = lengths ? lengths[b] : T,
        first = (b - r0) * T + (padding?.atEnd === false ? T - n : 0),
        last = xBlocks[xBlocks.length - 1];
      if (n === 0) continue;
      if (last && last[0] + last[1] === first) last[1] += n;
      else xBlocks.push([first, n]);
    }
    savedFrom += before[T];
    return { r0, r1, live, before, xBlocks, savedFrom: savedFrom - before[T] };
  });
}

/** How many of the rows [r0, r1) (longest first) have at least `need` live steps. */
function countLive(lengths: Int32Array, r0: number, r1: number, need: number): number {
  let n = 0;
  while (r0 + n < r1 && lengths[r0 + n] >= need) n++;
  return n;
}

/**
 * A call's steps (`steps` of them from s0, in direction dir) cut into runs with the same live rows:
 * [first step, steps, live rows]; runs without a live row are left out.
 */
function runsOf(c: ChunkSteps, s0: number, steps: number, dir: 1 | -1): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let k = 0; k < steps;) {
    const s = s0 + dir * k,
      n = c.live[s];
    let m = 1;
    while (k + m < steps && c.live[s + dir * m] === n) m++;
    if (n > 0) out.push([s, m, n]);
    k += m;
  }
  return out;
}

/**
 * A sequence-function variable for a chunk: its value at the call's first step and its change per step
 * (for a call within one run of the chunk's live rows).
 */
type Var = (c: ChunkSteps) => readonly [value: number, perStep: number];
const fixed =
  (v: number): Var =>
  () => [v, 0];
/** A buffer with one row per batch row (`perRow` bytes apart), and `perStep` bytes between steps. */
const rows =
  (v: number, perRow: number, perStep = 0): Var =>
  (c) => [v + c.r0 * perRow, perStep];
/** A scratch buffer of one chunk's live rows of every step (`ChunkSteps`), from step `s0` on, stepping by `dir`. */
const chunkScratch =
  (base: number, width: number, s0: number, dir: 1 | -1): Var =>
  (c) => [base + c.before[s0] * width, dir * c.live[s0] * width];
/**
 * A saved tensor (`savedRows` × width) laid out chunk by chunk: a chunk holds its live rows of every step
 * together, step after step, from row `savedFrom` on, so that every chunk's rows of all steps are one
 * matrix for the weight-gradient products. `s0`: the call's first step; `dir`: +1 or −1.
 */
const chunkMajor =
  (base: number, width: number, s0: number, dir: 1 | -1): Var =>
  (c) => [base + (c.savedFrom + c.before[s0]) * width, dir * c.live[s0] * width];

/** The rows of the saved tensors: every chunk's live rows of every step (at least one: no empty tensor). */
const savedRows = (B: number, T: number, padding: Padding | null): number => Math.max(1, liveRowSteps(B, T, padding));

/** A call of one of the module's functions. */
const callOf = (kernel: StepKernel, args: Readonly<Record<string, number>>): ChunkCall => ({
  kernel,
  args: orderedArgs(kernel.fn, args),
});

/**
 * A call of a sequence function for the first `live` rows of a chunk and `steps` steps (arguments in
 * parameter order), its variables from `moving` (those that depend on the call's first step) or `vars`.
 */
function seqCall(
  kernel: StepKernel,
  moving: Readonly<Record<string, Var>>,
  vars: Readonly<Record<string, Var>>,
  c: ChunkSteps,
  live: number,
  steps: number,
) {
  const args = kernel.fn.params.map((p) => {
    if (p === "steps") return steps;
    if (p === "B") return live;
    const delta = p.endsWith(DELTA);
    const name = delta ? p.slice(0, -DELTA.length) : p;
    const v = moving[name] ?? vars[name];
    if (p === stepDelta("B")) return 0;
    if (!v) throw new Error(`fused kernel ${kernel.name}(): no value for parameter \`${p}\``);
    return v(c)[delta ? 1 : 0];
  });
  return { kernel, args };
}

/**
 * Inputs: x (B,T,F), kernel (F,G·u), recurrentKernel (u,G·u), h0, [c0], [bias], [mask].
 * Outputs: y ((B,T,u) or (B,u)), h_T, [c_T]; when saving also the state before every step, the saved
 * gates and [aux], each (live rows of all steps, width) laid out chunk by chunk (`chunkMajor`; T·B rows
 * without padding).
 *
 * Every chunk of rows runs: XP = X·W for all its steps in one product, then the cell's sequence function
 * (step_kernels.ts `seq_fwd`): per step h·U, the step functions, the outputs.
 */
function forward(mem: Mem, inputs: KernelInputs, a: FusedAttrs): TensorInfo[] {
  const { cell, B, T, F, u, Gu, Grec, S, u4 } = sizesOf(inputs, a);
  const k = mem.kernels.cell(cell, a.activation, a.recurrentActivation);

  const mask = inputs.mask ? maskLayoutOf(mem, inputs.mask, B, T) : null;
  const padding = mask?.padding ?? null;
  const order = padding?.order ?? null;
  // the saved tensors first: they stay in the arena until the backward (`keep`), the rest is freed
  const N = savedRows(B, T, padding);
  const Hprev = a.save ? mem.output([N, u]) : null;
  const Gates = a.save ? mem.output([N, S * u]) : null;
  const Aux = a.save && cell.savesAux ? mem.output([N, u]) : null;
  // over padding only the live steps of x: the products read no other
  const X = mem.input(inputs.x!, order, padding ?? undefined),
    W = mem.input(inputs.kernel!),
    U = mem.input(inputs.recurrentKernel!);
  const { bi, br } = biasBuffers(mem, cell, a.biasLayout, inputs.bias, u);
  // U's first Grec columns and, with the reset product, U_h (the rest), each read by the per-step products
  const packed = packsRecurrentKernel(B, T)
    ? packedRecurrentKernel(mem, k, U.offset, u, Gu, Grec, cell.resetProduct)
    : null;
  if (packed) calls.packedForward++;
  const Y = mem.output(a.returnSequences ? [B, T, u] : [B, u]);
  const hT = mem.output([B, u]);
  const cT = cell.states === 2 ? mem.output([B, u]) : null;
  // the states are updated in place: they end as h_T, c_T
  copyInto(hT.buf, mem.input(inputs.h0!, order).view());
  if (cT) copyInto(cT.buf, mem.input(inputs.c0!, order).view());
  const maskOffset = mask ? maskInMemory(mem, mask.ordered) : 0;
  const ycur = mem.zeros(B * u);
  calls.paddingSkipped += B * T - liveRowSteps(B, T, padding);
  // per group: X·W of every step of its current chunk, rows (b, t) as x's
  const chunkRows = a.save ? CHUNK_ROWS : inferenceChunkRows(B, T, Gu, mem.pool.threads);
  if (chunkRows > CHUNK_ROWS) calls.widerChunks++;
  const XP = Array.from(
    { length: groupsFor(B, mem.pool.threads, chunkRows) },
    () => mem.temp(chunkRows * T * Gu).offset,
  );

  const rec = mem.temp(B * Grec).offset,
    rh = mem.temp(B * u).offset,
    rech = mem.temp(B * u).offset;
  const gatesScratch = Gates ? 0 : mem.temp(B * S * u).offset;
  const auxScratch = Aux ? 0 : mem.temp(B * u).offset;
  // every number the calls are made of (no offset is 0: an absent buffer is 0); over padding, the chunks'
  // live rows at each step and their blocks of x follow from the rows' lengths (in the arena's order)
  const layoutKey = [B, T, F, u, mem.pool.threads, +a.goBackwards, +a.returnSequences, +a.zeroOutputForMask]
    .concat([X.offset, W.offset, U.offset, packed?.urec ?? 0, packed?.uh ?? 0, bi.offset, br.offset])
    .concat([Y.buf.offset, hT.buf.offset, cT?.buf.offset ?? 0, ycur.offset, maskOffset])
    .concat([Hprev?.buf.offset ?? 0, Gates?.buf.offset ?? 0, Aux?.buf.offset ?? 0, rec, rh, rech])
    .concat([gatesScratch, auxScratch], XP, padding ? [+padding.atEnd, ...padding.lengths] : []);
  const known = forwardLayouts.get(k) ?? [];
  const reused = known.find((l) => sameNumbers(l.key, layoutKey))?.calls;
  if (reused) calls.layoutsReused++;
  mem.pool.run(k.compiled, reused ?? forwardLayout());
  if (padding) fillPaddingOutputs(padding, T, u, a, Y.buf, ycur);
  if (!a.returnSequences) copyInto(Y.buf, ycur.view());

  const outs: [Out, RowOrder][] = [[Y, order], [hT, order], ...(cT ? [[cT, order] as [Out, RowOrder]] : [])];
  const results = outs.map(([o, rowOrder]) => mem.result(o, rowOrder));
  // inference: x's copy and the outputs stay for the next call (a stacked layer above, the other direction)
  if (!a.save) {
    mem.mirror(inputs.x!, X, order, padding ?? undefined);
    results.forEach((r, i) => mem.mirror(r, outs[i][0].buf, order));
    if (mask) mem.mirrorMask(inputs.mask!, mask.bytes);
  }
  // the saved tensors stay in the arena, in its row order: the backward kernel orders its rows the same way
  const saved = a.save ? [Hprev!, Gates!, ...(Aux ? [Aux] : [])] : [];
  return [...results, ...saved.map((o) => mem.keep(o))];

  /** The calls built afresh, and kept for reuse. */
  function forwardLayout(): ChunkCall[][] {
    const layout = groupCalls();
    const padded = padding !== null;
    const oldest =
      padded && known.filter((l) => l.padded).length >= MAX_PADDED_LAYOUTS
        ? known.findIndex((l) => l.padded)
        : known.length >= MAX_LAYOUTS
          ? 0
          : -1;
    if (oldest >= 0) known.splice(oldest, 1);
    known.push({ key: layoutKey, calls: layout, padded });
    forwardLayouts.set(k, known);
    return layout;
  }
  /** Every group's calls: X·W of each chunk's steps, then its sequence function over its runs of live rows. */
  function groupCalls(): ChunkCall[][] {
    const dt = a.goBackwards ? -1 : 1;
    /** Input time of processing step s. */
    const timeOf = (s: number) => (a.goBackwards ? T - 1 - s : s);
    const vars: Record<string, Var> = {
      u4: fixed(u4),
      u: fixed(u),
      grec: fixed(Grec),
      ...(packed
        ? { urec: fixed(packed.urec), uld: fixed(32), upanel: fixed(32 * u), uh: fixed(packed.uh) }
        : // both read with U's row stride
          { urec: fixed(U.offset), uld: fixed(Gu * 4), upanel: fixed(32), uh: fixed(U.offset + Grec * 4) }),
      xpstride: fixed(T * Gu * 4),
      rec: rows(rec, Grec * 4),
      bi: fixed(bi.offset),
      br: fixed(br.offset),
      h: rows(hT.buf.offset, u4),
      c: cT ? rows(cT.buf.offset, u4) : fixed(0),
      rh: rows(rh, u4),
      rech: rows(rech, u4),
      mstride: fixed(T),
      save: fixed(Hprev ? 1 : 0),
      ycur: rows(ycur.offset, u4),
      ystride: fixed(a.returnSequences ? T * u4 : u4),
      zero: fixed(a.zeroOutputForMask ? 1 : 0),
    };
    /** The variables that move with the step, for a call from processing step s0 on. */
    const from = (s0: number, group: number): Record<string, Var> => ({
      xp: () => [XP[group] + timeOf(s0) * Gu * 4, dt * Gu * 4],
      mask: mask ? rows(maskOffset + timeOf(s0), T, dt) : fixed(0),
      gates: Gates ? chunkMajor(Gates.buf.offset, S * u4, s0, 1) : rows(gatesScratch, S * u4),
      aux: Aux ? chunkMajor(Aux.buf.offset, u4, s0, 1) : rows(auxScratch, u4),
      hprev: Hprev ? chunkMajor(Hprev.buf.offset, u4, s0, 1) : fixed(0),
      y: a.returnSequences ? rows(Y.buf.offset + s0 * u4, T * u4, u4) : rows(ycur.offset, u4),
    });
    const { gemmNN } = k.utilities;
    const groups = grouped(chunkSteps(B, T, padding, a, chunkRows), XP.length);
    return groups.map((members) =>
      members.flatMap(({ chunk, group }) => [
        ...chunk.xBlocks.map(([first, m]) =>
          callOf(gemmNN, {
            m,
            k: F,
            n: Gu,
            a: X.offset + (chunk.r0 * T + first) * F * 4,
            lda: F * 4,
            b: W.offset,
            ldb: Gu * 4,
            bpanel: 32,
            c: XP[group] + first * Gu * 4,
            ldc: Gu * 4,
            acc: 0,
          }),
        ),
        ...runsOf(chunk, 0, T, 1).map(([s0, steps, live]) =>
          seqCall(k.seqForward, from(s0, group), vars, chunk, live, steps),
        ),
      ]),
    );
  }
}

/** U (u × Gu at `offset`) packed for the forward's per-step products: its first Grec columns, and U_h (the rest) with the reset product. */
function packedRecurrentKernel(
  mem: Mem,
  k: CellKernels,
  offset: number,
  u: number,
  Gu: number,
  Grec: number,
  resetProduct: boolean,
): { urec: number; uh: number } {
  const { packB } = k.utilities;
  const urec = mem.temp(panels(Grec) * u).offset;
  packB.call({ src: offset, k: u, n: Grec, ld: Gu, trans: 0, dst: urec });
  const uh = resetProduct ? mem.temp(panels(u) * u).offset : 0;
  if (resetProduct) packB.call({ src: offset + Grec * 4, k: u, n: u, ld: Gu, trans: 0, dst: uh });
  return { urec, uh };
}

/**
 * The outputs of the padding steps the forward kernel skipped, as masked steps give them: after a row's
 * last live step its output repeats (zeros with zero_output_for_mask); before its first one it is zero.
 */
function fillPaddingOutputs(padding: Padding, T: number, u: number, a: FusedAttrs, Y: Buf, ycur: Buf): void {
  const yc = ycur.view(),
    y = Y.view();
  const { lengths } = padding;
  const after = padsAfter(padding, a);
  const repeats = after && !a.zeroOutputForMask;
  lengths.forEach((L, i) => {
    if (L === T) return;
    const last = yc.subarray(i * u, (i + 1) * u);
    if (a.returnSequences) {
      const [lo, hi] = after ? [L, T] : [0, T - L];
      if (repeats) for (let s = lo; s < hi; s++) y.set(last, (i * T + s) * u);
      else y.fill(0, (i * T + lo) * u, (i * T + hi) * u);
    } else if (after && a.zeroOutputForMask) last.fill(0);
  });
}

// ---------------------------------------------------------------------------------------------
// Backward

/**
 * Inputs: dy, dhT, [dcT], x, recurrentKernel, hprev, gates, [aux], [mask] (the saved ones chunk by chunk),
 * [kernel (with `inputGrad`)].
 * Outputs: [dXP (B,T,G·u) — the gradient of the input projection X·W + b, in input time order — unless
 * `inputGrad`; kept in the arena (a handle: `Mem.keep`) unless the rows are reordered], dW (F,G·u),
 * dU (u,G·u), [dBias (biasShape)], dh0 (B,u), [dc0 (B,u)], [dX = dXP·Wᵀ (B,T,F) when `inputGrad`, with
 * kernel W among the inputs].
 *
 * Every chunk of rows runs the cell's backward sequence function (step_kernels.ts `seq_bwd`): per step,
 * last to first, the backward step functions write the step's pre-activation gradients into dXP (the
 * output) and dr (kept for every step, chunk by chunk), and dh = dr·Uᵀ goes to the previous step. Then
 * the chunk's own weight and bias gradients, each one product or column sum over all its steps; those
 * partial sums are added up in chunk order, so the numbers do not depend on the threads.
 */
function backward(mem: Mem, inputs: KernelInputs, a: FusedAttrs): TensorInfo[] {
  const { cell, B, T, F, u, Gu, Grec, S, u4 } = sizesOf(inputs, a);
  const k = mem.kernels.cell(cell, a.activation, a.recurrentActivation);

  // with dX computed here nothing else needs dXP: it stays in the kernel
  const dXP = a.inputGrad ? { buf: mem.temp(B * T * Gu), shape: [B, T, Gu] } : mem.output([B, T, Gu]);
  const dW = mem.output([F, Gu]);
  const dU = mem.output([u, Gu]);
  const dBias = a.biasShape.length ? mem.output(a.biasShape) : null;
  const dh0 = mem.output([B, u]);
  const dc0 = cell.states === 2 ? mem.output([B, u]) : null;
  const dX = a.inputGrad ? mem.output([B, T, F]) : null;

  const mask = inputs.mask ? maskLayoutOf(mem, inputs.mask, B, T) : null;
  const padding = mask?.padding ?? null;
  const order = padding?.order ?? null;
  const dY = mem.input(inputs.dy!, order);
  // the forward's saved tensors: where it kept them in the arena (copied in only on a backend without refCount)
  if (mem.keeps(inputs.hprev!)) calls.savedKept++;
  const Hprev = mem.input(inputs.hprev!);
  const Gates = mem.input(inputs.gates!);
  const Aux = inputs.aux ? mem.input(inputs.aux) : null;
  const X = mem.input(inputs.x!, order);
  const U = mem.input(inputs.recurrentKernel!);

  // Uᵀ (U's first Grec columns) and U_hᵀ, packed for the per-step products
  const { packB, gemmNN, gemmTN, colsumAcc } = k.utilities;
  const UT = mem.temp(panels(u) * Grec);
  packB.call({ src: U.offset, k: Grec, n: u, ld: Gu, trans: 1, dst: UT.offset });
  const UhT = cell.resetProduct ? mem.temp(panels(u) * u) : null;
  if (UhT) packB.call({ src: U.offset + Grec * 4, k: u, n: u, ld: Gu, trans: 1, dst: UhT.offset });
  // Wᵀ for dX = dXP·Wᵀ
  const WT = dX ? mem.temp(panels(F) * Gu) : null;
  if (WT) packB.call({ src: mem.input(inputs.kernel!).offset, k: Gu, n: F, ld: Gu, trans: 1, dst: WT.offset });

  // dhrec starts as dhT (the step functions add it to the step's incoming gradient); dh carries the rest
  const dhRec = mem.temp(B * u);
  copyInto(dhRec, mem.input(inputs.dhT!, order).view());
  const dh = mem.zeros(B * u);
  if (dc0) copyInto(dc0.buf, mem.input(inputs.dcT!, order).view());
  const dyc = mem.zeros(B * u);
  const zeros = mem.zeros(u);
  const maskOffset = mask ? maskInMemory(mem, mask.ordered) : 0;
  const chunks = chunkSteps(B, T, padding, a, CHUNK_ROWS);
  if (Hprev.n !== savedRows(B, T, padding) * u)
    throw new Error("fused backward: the saved tensors are not this call's");
  calls.paddingSkipped += B * T - liveRowSteps(B, T, padding);
  if (padding) skipPaddingGradients(padding, T, u, a, { dXP: dXP.buf, dX: dX?.buf, dh, dhRec, dyc, dY });
  const groups = grouped(chunks, groupsFor(B, mem.pool.threads, CHUNK_ROWS));
  // per group: the gradients w.r.t. h·U (and the reset product's h gate) of every step of its current chunk
  const dRec = groups.map(() => mem.temp(CHUNK_ROWS * T * Grec).offset);
  const dHH = cell.resetProduct ? groups.map(() => mem.temp(CHUNK_ROWS * T * u).offset) : null;
  // every chunk's own weight and bias gradients: dU (u × G·u, U_h's columns included), dW, db, dbr
  const partSize = u * Gu + F * Gu + Gu + Grec;
  const parts = mem.zeros(chunks.length * partSize);
  const usebr = a.biasLayout === "input+recurrent" && !cell.recurrentGradIsInputGrad;

  const vars: Record<string, Var> = {
    u4: fixed(u4),
    u: fixed(u),
    grec: fixed(Grec),
    dh: rows(dh.offset, u4),
    dhrec: rows(dhRec.offset, u4),
    drh: rows(mem.temp(B * u).offset, u4),
    dc: dc0 ? rows(dc0.buf.offset, u4) : fixed(0),
    dyc: rows(dyc.offset, u4),
    dxpstride: fixed(T * Gu * 4),
    mstride: fixed(T),
    ut: fixed(UT.offset),
    utpanel: fixed(32 * Grec),
    uht: fixed(UhT?.offset ?? 0),
    uhtpanel: fixed(32 * u),
  };
  /** The variables that move with the step, for a call from step s0 (processing order) down. */
  const from = (s0: number, withDy: boolean, group: number): Record<string, Var> => {
    const t0 = a.goBackwards ? T - 1 - s0 : s0,
      dt = a.goBackwards ? 1 : -1;
    const dy: Var = !withDy
      ? fixed(zeros.offset)
      : a.returnSequences
        ? rows(dY.offset + s0 * u4, T * u4, -u4)
        : rows(dY.offset, u4);
    const dystride = !withDy ? 0 : a.returnSequences ? T * u4 : u4;
    return {
      gates: chunkMajor(Gates.offset, S * u4, s0, -1),
      hprev: chunkMajor(Hprev.offset, u4, s0, -1),
      aux: Aux ? chunkMajor(Aux.offset, u4, s0, -1) : fixed(0),
      dr: chunkScratch(dRec[group], Grec * 4, s0, -1),
      dhh: dHH ? chunkScratch(dHH[group], u4, s0, -1) : fixed(0),
      dxp: rows(dXP.buf.offset + t0 * Gu * 4, T * Gu * 4, dt * Gu * 4),
      mask: rows(maskOffset + t0, T, dt),
      dy,
      dystride: fixed(dystride),
      // what a masked step adds to the carried output gradient: its dy, or nothing under zero_output_for_mask
      dy2: a.zeroOutputForMask ? fixed(zeros.offset) : dy,
      dy2stride: fixed(a.zeroOutputForMask ? 0 : dystride),
    };
  };
  // without return_sequences only the last step has an output gradient: a call for it, then one for the rest
  const stepCalls: [s0: number, steps: number, withDy: boolean][] = a.returnSequences
    ? [[T - 1, T, true]]
    : [[T - 1, 1, true], ...(T > 1 ? [[T - 2, T - 1, false] as [number, number, boolean]] : [])];
  const seq = mask ? k.seqBackwardMasked : k.seqBackward;
  mem.pool.run(
    k.compiled,
    groups.map((members) =>
      members.flatMap(({ chunk, index: i, group }) => {
        const { r0, r1 } = chunk;
        // the chunk's rows: (b, t) of x and dXP, its live ones of the saved and scratch buffers
        const n = (r1 - r0) * T,
          nLive = chunk.before[T];
        const p = parts.offset + i * partSize * 4;
        const [du, dw, db, dbr] = [p, p + u * Gu * 4, p + (u + F) * Gu * 4, p + (u + F + 1) * Gu * 4];
        const weights = (m: number, k: number, a: number, lda: number, b: number, width: number, c: number, acc = 0) =>
          callOf(gemmTN, { m, k, n: width, a, lda, b, ldb: width * 4, bpanel: 32, c, ldc: Gu * 4, acc });
        const first = r0 * T; // the chunk's first row (b, t) in x and dXP
        return [
          ...stepCalls.flatMap(([s0, steps, withDy]) =>
            runsOf(chunk, s0, steps, -1).map(([s, m, live]) =>
              seqCall(seq, from(s, withDy, group), vars, chunk, live, m),
            ),
          ),
          // dU = Hprevᵀ·dRec (with the reset product: U_h's columns = (r·h)ᵀ·dHH), dW = Xᵀ·dXP
          weights(u, nLive, Hprev.offset + chunk.savedFrom * u4, u4, dRec[group], Grec, du),
          ...(dHH ? [weights(u, nLive, Aux!.offset + chunk.savedFrom * u4, u4, dHH[group], u, du + Grec * 4)] : []),
          // over the live rows of x and dXP only (dXP is zero on the others; so is dX, zeroed beforehand)
          ...chunk.xBlocks.flatMap(([at, m], block) => {
            const row = first + at;
            return [
              weights(F, m, X.offset + row * F * 4, F * 4, dXP.buf.offset + row * Gu * 4, Gu, dw, block > 0 ? 1 : 0),
              ...(dX
                ? [
                    callOf(gemmNN, {
                      m,
                      k: Gu,
                      n: F,
                      a: dXP.buf.offset + row * Gu * 4,
                      lda: Gu * 4,
                      b: WT!.offset,
                      ldb: 32,
                      bpanel: 32 * Gu,
                      c: dX.buf.offset + row * F * 4,
                      ldc: F * 4,
                      acc: 0,
                    }),
                  ]
                : []),
            ];
          }),
          callOf(colsumAcc, {
            rows: n,
            src: dXP.buf.offset + first * Gu * 4,
            srcstride: Gu * 4,
            nbytes: Gu * 4,
            dst: db,
          }),
          ...(usebr
            ? [
                callOf(colsumAcc, {
                  rows: nLive,
                  src: dRec[group],
                  srcstride: Grec * 4,
                  nbytes: Grec * 4,
                  dst: dbr,
                }),
              ]
            : []),
        ];
      }),
    ),
  );

  {
    const d0 = dh0.buf.view(),
      r = dhRec.view(),
      d = dh.view();
    for (let q = 0; q < B * u; q++) d0[q] = r[q] + d[q];
  }
  // the chunks' partial sums, in chunk order: the first chunk's copied, the others added one by one
  const sum = (into: Buf, from: number, at: number, n: number) => {
    into.view().set(parts.view().subarray(at, at + n), from);
    if (chunks.length > 1)
      colsumAcc.call({
        rows: chunks.length - 1,
        src: parts.offset + (partSize + at) * 4,
        srcstride: partSize * 4,
        nbytes: n * 4,
        dst: into.offset + from * 4,
      });
  };
  sum(dU.buf, 0, 0, u * Gu);
  sum(dW.buf, 0, u * Gu, F * Gu);
  if (dBias) {
    sum(dBias.buf, 0, (u + F) * Gu, Gu);
    if (a.biasLayout === "input+recurrent") {
      if (cell.recurrentGradIsInputGrad) dBias.buf.view().copyWithin(Gu, 0, Gu);
      else sum(dBias.buf, Gu, (u + F + 1) * Gu, Grec);
    }
  }

  // dXP is asked for only when the x gradient was not foreseen (`needsGradient`): kept, not copied out
  // (W2: 1.6 MB per batch), unless its rows need reordering
  const dxpOut = dX ? [] : [order ? mem.result(dXP, order) : mem.keep(dXP)];
  if (dxpOut.length && !order && mem.keeps(dxpOut[0])) calls.dxpKept++;
  const outs: [Out, RowOrder][] = [
    [dW, null],
    [dU, null],
    ...(dBias ? [[dBias, null] as [Out, RowOrder]] : []),
    [dh0, order],
    ...(dc0 ? [[dc0, order] as [Out, RowOrder]] : []),
    ...(dX ? [[dX, order] as [Out, RowOrder]] : []),
  ];
  return [...dxpOut, ...outs.map(([o, rowOrder]) => mem.result(o, rowOrder))];
}

/**
 * Before the backward kernel's calls: the gradients of the padding steps it skips, as masked steps give
 * them. Their dXP and dX rows are zero. Where a row's padding comes after its live steps in processing
 * order, backward it comes first: there a masked step passes the state gradient on (dh ← dh + dhrec,
 * dhrec ← 0) and carries the output gradient back (dyc ← dyc + dy, nothing with zero_output_for_mask),
 * in the kernel's order. Padding before the live steps comes last backward, where it adds dhrec to dh,
 * as the kernel's end does anyway (dh0 = dhrec + dh).
 */
function skipPaddingGradients(
  padding: Padding,
  T: number,
  u: number,
  a: FusedAttrs,
  b: { dXP: Buf; dX: Buf | undefined; dh: Buf; dhRec: Buf; dyc: Buf; dY: Buf },
): void {
  const { lengths, atEnd } = padding;
  const Gu = b.dXP.n / (lengths.length * T),
    F = b.dX ? b.dX.n / (lengths.length * T) : 0;
  const dX = b.dX?.view(),
    dXP = b.dXP.view(),
    dh = b.dh.view(),
    dhRec = b.dhRec.view(),
    dyc = b.dyc.view(),
    dY = b.dY.view();
  lengths.forEach((L, i) => {
    if (L === T) return;
    // the padding's rows in input time
    const [t0, t1] = atEnd ? [L, T] : [0, T - L];
    dXP.fill(0, (i * T + t0) * Gu, (i * T + t1) * Gu);
    dX?.fill(0, (i * T + t0) * F, (i * T + t1) * F);
    if (!padsAfter(padding, a)) return;
    for (let q = i * u; q < (i + 1) * u; q++) {
      dh[q] += dhRec[q];
      dhRec[q] = 0;
    }
    if (a.zeroOutputForMask) return;
    const carried = dyc.subarray(i * u, (i + 1) * u);
    if (!a.returnSequences) carried.set(dY.subarray(i * u, (i + 1) * u));
    else
      for (let s = T - 1; s >= L; s--) {
        const dy = dY.subarray((i * T + s) * u, (i * T + s + 1) * u);
        for (let j = 0; j < u; j++) carried[j] += dy[j];
      }
  });
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
  const mem = memFor(
    backendName,
    backend,
    Object.values(inputs).filter((t) => t !== undefined),
  );
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
        if ((attrs as unknown as FusedAttrs).inputGrad) calls.inputGrad++;
        return run(backend, backendName, backward, inputs, attrs as unknown as FusedAttrs);
      },
    });
    tf.registerKernel({
      kernelName: KEPT_VALUES_KERNEL,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        calls.dxpCopied++;
        const { shape } = attrs as unknown as { shape: number[] };
        return run(
          backend,
          backendName,
          (mem) => [mem.result({ buf: mem.input(inputs.kept!), shape }, null)],
          inputs,
          attrs as unknown as FusedAttrs,
        );
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

/**
 * Whether a gradient w.r.t. x will likely be asked for: x is a trainable variable or the output of an
 * operation on the active gradient tape (a layer below, an Embedding). Then the backward kernel computes
 * dX = dXP·Wᵀ itself, on the threads with its own product; otherwise (data fed in) it is not computed,
 * and should it be asked for after all, tf.matMul computes it.
 */
function needsGradient(engine: Engine, x: Tensor): boolean {
  if (x instanceof tf.Variable) return x.trainable;
  const tape = (engine as unknown as { state?: { activeTape?: { outputs?: { id: number }[] }[] } }).state?.activeTape;
  return !tape || tape.some((node) => node.outputs?.some((o) => o.id === x.id));
}

/** Runs a whole recurrent sequence through the fused kernels (the caller has checked `fusedPlan()`). */
export function fusedRnn(o: FusedRnnArgs): FusedRnnResult {
  registerFusedKernels();
  const cell = FUSED_CELLS[o.cell];
  const fn = o.fn ?? cell.layerFn;
  // the message is made only when the check fails (this runs on every call of a stream)
  const check = (cond: boolean, msg: () => string) => {
    if (!cond) throw new KerasError(fn, msg(), "shape");
  };
  const x = o.inputs;
  check(x.rank === 3, () => `inputs must be (batch, time, features), got shape [${x.shape}]`);
  const [B, T, F] = x.shape;
  check(T >= 1, () => "the input sequence has no timesteps");
  const u = o.recurrentKernel.shape[0];
  const Gu = cell.gates * u;
  check(
    o.kernel.rank === 2 && o.kernel.shape[0] === F && o.kernel.shape[1] === Gu,
    () => `kernel must be (${F}, ${Gu}), got [${o.kernel.shape}]`,
  );
  check(
    o.recurrentKernel.rank === 2 && o.recurrentKernel.shape[1] === Gu,
    () => `recurrent kernel must be (${u}, ${Gu}), got [${o.recurrentKernel.shape}]`,
  );
  const bias = o.bias ?? null;
  const biasLayout: BiasLayout = !bias ? "none" : (o.biasLayout ?? cell.kerasBiasLayout);
  check(
    cell.biasLayouts.includes(biasLayout),
    () => `bias layout "${biasLayout}" is not one of ${cell.biasLayouts.map((l) => `"${l}"`).join(", ")}`,
  );
  if (bias) {
    const size = biasLayout === "input+recurrent" ? 2 * Gu : Gu;
    check(bias.size === size, () => `bias must have ${size} values, got shape [${bias.shape}]`);
  }
  const init = o.initialState ?? [];
  check(
    init.length === 0 || init.length === cell.states,
    () => `initial state must be ${cell.states} tensor(s), got ${init.length}`,
  );
  for (const s of init)
    check(
      s.rank === 2 && s.shape[0] === B && s.shape[1] === u,
      () => `each initial state must be (${B}, ${u}), got [${s.shape}]`,
    );
  const mask = o.mask ?? null;
  if (mask)
    check(
      mask.rank === 2 && mask.shape[0] === B && mask.shape[1] === T,
      () => `mask must be (${B}, ${T}), got [${mask.shape}]`,
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
    inputGrad: false,
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

  let inputGrad = false;
  const outs = !engine.isTapeOn()
    ? engine.runKernel(FORWARD_KERNEL, kernelInputs, attrs)
    : engine.runKernelFunc({
        inputs,
        forwardFunc: (_backend, save) => {
          const r = engine.runKernel(FORWARD_KERNEL, kernelInputs, { ...attrs, save: true });
          inputGrad = needsGradient(engine, inputs.x);
          save([inputs.x, o.kernel, o.recurrentKernel, ...r.slice(nOut), ...(mask ? [mask] : [])]);
          return r.slice(0, nOut);
        },
        backwardsFunc: (dys, saved) => {
          const [xs, W, U, hprev, gates] = saved;
          const bIn: Record<string, Tensor> = { dy: dys[0], dhT: dys[1], x: xs, recurrentKernel: U, hprev, gates };
          if (cell.states === 2) bIn.dcT = dys[2];
          if (cell.savesAux) bIn.aux = saved[5];
          if (mask) bIn.mask = saved[saved.length - 1];
          if (inputGrad) bIn.kernel = W;
          const g = engine.runKernel(BACKWARD_KERNEL, bIn, { ...attrs, inputGrad });
          // a kept handle (rank 1, no values) or the values
          const kept = inputGrad ? undefined : g[0];
          const dXP = () =>
            kept!.rank === 1 ? engine.runKernel(KEPT_VALUES_KERNEL, { kept: kept! }, { shape: [B, T, Gu] })[0] : kept!;
          let i = inputGrad ? 0 : 1;
          const dW = g[i++],
            dU = g[i++];
          const dBias = bias ? g[i++] : undefined;
          const dh0 = g[i++];
          const dc0 = cell.states === 2 ? g[i++] : undefined;
          const dX = inputGrad ? g[i] : undefined;
          const grads: Record<string, () => Tensor> = {
            x: () => dX ?? tf.reshape(tf.matMul(tf.reshape(dXP(), [B * T, Gu]), tf.transpose(W)), [B, T, F]),
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
