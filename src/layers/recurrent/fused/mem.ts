/**
 * The memory the fused kernels work in: one arena per process, a WebAssembly.Memory of our own (shared
 * with the worker threads, threads.ts, when there are any), whatever the backend. A kernel copies its
 * inputs in from the backend's tensors (the wasm backend's heap, the cpu backend's arrays), runs the
 * generated module there (step_kernels.ts: the products of gemm.ts, the step functions and whole
 * sequences), and copies its outputs out into new tensors of the backend. The copies are a few MB per
 * training batch (≈ 0.2 ms); in exchange every thread can work on the same buffers, and the cpu backend
 * runs the same SIMD code as wasm. What the forward saves for the backward is not copied: it stays in
 * the arena (`keep`) until tfjs releases its handle tensor. An inference call's input copy and outputs
 * also stay for the next kernel call (`mirror`): when that call's input is the same tensor data (the
 * sequence of a stacked layer below, the input of a Bidirectional wrapper's second direction), it reads
 * the arena's copy instead of copying the tensor in again. So do its mask's bytes (`mirrorMask`): the
 * driver works out their padding and row order once (driver.ts `maskLayoutOf`). Allocation is first fit
 * in the gaps between the buffers that stay.
 *
 * Every allocation has 64 bytes of slack after it: a product reads B 8 columns at a time and may read
 * (never write) up to 7 floats past the last row. Views become invalid when the memory grows (any
 * allocation): code takes `buf.view()` afresh after allocating.
 */
import { tf } from "../../../backend/tf.js";
import type { CpuBackendApi, WasmBackendApi } from "../../../backend/internals.js";
import { kernelsFor, newMemory, wasmSimdProblem, type MemoryKernels, type WasmMemory } from "./step_kernels.js";
import { ThreadPool, threadCount, threadsAvailable } from "./threads.js";

type TensorInfo = tf.TensorInfo;

/** `n` float32 values at byte `offset` of the arena. */
export interface Buf {
  readonly offset: number;
  readonly n: number;
  /** A Float32Array over the buffer's current memory (re-take after any allocation). */
  view(): Float32Array;
}

/** An output tensor being written. */
export interface Out {
  readonly buf: Buf;
  readonly shape: readonly number[];
}

export interface Mem {
  /** The module functions bound to the arena (this thread's instances). */
  readonly kernels: MemoryKernels;
  /** Runs chunks of work on this thread and the workers. */
  readonly pool: ThreadPool;
  /**
   * A float32 tensor input, copied into the arena; with `order`, its row i is the tensor's row order[i] (first
   * axis); with `live` (t is (batch, time, features)), only each row's live steps are copied, the rest of the
   * buffer is undefined.
   */
  input(t: TensorInfo, order?: RowOrder, live?: LiveSteps): Buf;
  /**
   * Any-dtype tensor data as 0/1 bytes (masks): a copy, or the previous kernel call's bytes of the same
   * tensor when that call remembered them (`mirrorMask`). Never written.
   */
  readMask(t: TensorInfo): Uint8Array;
  /** A new float32 output (contents undefined until written). */
  output(shape: readonly number[]): Out;
  /** A scratch buffer, freed by `done()` (contents undefined). */
  temp(n: number): Buf;
  /** A scratch buffer of zeros. */
  zeros(n: number): Buf;
  /** A Uint8Array over the memory (re-take after any allocation). */
  bytes(): Uint8Array;
  /** The finished output as a tensor of the backend; with `order`, the buffer's row i becomes the tensor's row order[i]. */
  result(out: Out, order?: RowOrder): TensorInfo;
  /**
   * The finished output kept where it is, for a later kernel call (the forward's saved tensors, for the
   * backward): the tensor returned is an empty handle, and `input()` of it is this buffer, not a copy.
   * The buffer stays allocated while tfjs holds the handle's data (its last clone disposed, the next call
   * reuses the space) and is never written again. A backend without `refCount` gets `result(out)`.
   */
  keep(out: Out): TensorInfo;
  /** Whether `t` is a handle of a kept buffer (`keep`). */
  keeps(t: TensorInfo): boolean;
  /**
   * Remembers that `buf` holds the values of tensor `t` (its row i the tensor's row order[i]), for the next
   * kernel call only: `input()` of `t` with the same order there reads `buf` instead of copying `t` in.
   * With `live`, `buf` holds those steps only, and only an `input()` with the same `live` object reads it.
   * Only for data nothing rewrites in place before the next call (an inference call's input and outputs);
   * buffers of fewer than MIRROR_MIN_FLOATS values are not remembered.
   */
  mirror(t: TensorInfo, buf: Buf, order: RowOrder, live?: LiveSteps): void;
  /** Remembers `mask` (from `readMask`) as tensor t's bytes for the next kernel call only, as `mirror` does. */
  mirrorMask(t: TensorInfo, mask: Uint8Array): void;
  /** Frees the call's buffers. */
  done(): void;
}

class MemoryBuf implements Buf {
  private v: Float32Array;
  constructor(
    private readonly memory: WasmMemory,
    readonly offset: number,
    readonly n: number,
  ) {
    this.v = new Float32Array(memory.buffer, offset, n);
  }
  view(): Float32Array {
    const buffer = this.memory.buffer;
    // a shared memory's buffer object changes when it grows, the old one keeps its length
    if (this.v.buffer !== buffer) this.v = new Float32Array(buffer, this.offset, this.n);
    return this.v;
  }
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A permutation of a batch's rows: position i holds row order[i]; null: the identity. */
export type RowOrder = Int32Array | null;

/**
 * The steps a kernel reads of each row of a (batch, time, features) input over padding (driver.ts
 * `Padding`): row i of the arena's copy has lengths[i] live steps, its first ones (atEnd) or its last ones.
 */
export interface LiveSteps {
  readonly lengths: Int32Array;
  readonly atEnd: boolean;
}

/** `to` gets each row's live steps of `from` ((batch, time, features)), row i of `to` from row order[i] of `from`. */
function copyLiveSteps(from: ArrayLike<number>, to: Float32Array, order: RowOrder, live: LiveSteps, T: number): void {
  const { lengths, atEnd } = live;
  const w = to.length / lengths.length,
    F = w / T;
  const src = from instanceof Float32Array ? from : Float32Array.from(from);
  for (let i = 0; i < lengths.length; i++) {
    const skip = atEnd ? 0 : (T - lengths[i]) * F,
      at = (order ? order[i] : i) * w + skip;
    to.set(src.subarray(at, at + lengths[i] * F), i * w + skip);
  }
}

/** `to` (same length as `from`) gets the rows of `from` moved by `order`: row i ↔ row order[i] (`gather`: to[i] = from[order[i]], else to[order[i]] = from[i]). */
function permuteRows(from: ArrayLike<number>, to: Float32Array, order: Int32Array, gather: boolean): void {
  const w = to.length / order.length;
  const src = from instanceof Float32Array ? from : Float32Array.from(from);
  for (let i = 0; i < order.length; i++) {
    const [f, t] = gather ? [order[i], i] : [i, order[i]];
    to.set(src.subarray(f * w, (f + 1) * w), t * w);
  }
}

// ---------------------------------------------------------------------------------------------
// The arena

const PAGE = 65536;
/** Where allocation starts: offset 0 stays unused (a step function reads mask 0 as "no mask"). */
const ARENA_START = 64;
/** Bytes after every allocation that a product may read. */
const SLACK = 64;

interface Arena {
  readonly memory: WasmMemory;
  readonly kernels: MemoryKernels;
  readonly pool: ThreadPool;
  /** The call's free space: [start, end) ranges between the buffers that stay, the last one unbounded. */
  gaps: [number, number][];
  /** The kept buffers (`Mem.keep`) by their handle's data id. */
  readonly kept: Map<object, Kept>;
  /** The previous call's mirrors (`Mem.mirror`) that this call's inputs use, by their tensor's data id. */
  mirrors: Map<object, Mirror>;
  /** This call's mirrors, for the next call. */
  fresh: Map<object, Mirror>;
  /** The previous call's mask bytes (`Mem.mirrorMask`) when this call's inputs include their tensor. */
  mask: MaskMirror | null;
  /** This call's mask bytes, for the next call. */
  freshMask: MaskMirror | null;
}

/** A mask tensor's 0/1 bytes (`Mem.readMask`) by the tensor's data id. */
interface MaskMirror {
  readonly id: object;
  readonly bytes: Uint8Array;
}

/**
 * An arena buffer holding a tensor's values (`Mem.mirror`): its row i is the tensor's row order[i]; with
 * `live`, only those steps.
 */
interface Mirror {
  readonly buf: MemoryBuf;
  readonly end: number;
  readonly order: RowOrder;
  readonly live: LiveSteps | null;
}

/**
 * Buffers smaller than this are not mirrored: copying them costs less, and a one-step stream (whose
 * carried state is the previous call's output) keeps the same arena layout on every call.
 */
const MIRROR_MIN_FLOATS = 4096;

let mirrorsOn = true;
/**
 * Turns `Mem.mirror` and `Mem.mirrorMask` on or off (off: every input is copied in and every mask read, the
 * previous call's mirrors too; tests and benchmarks compare the two).
 */
export function setArenaMirrors(on: boolean): void {
  mirrorsOn = on;
}

let inputsFromMirrors = 0;
/** How many kernel inputs were read from the previous call's buffers instead of copied in (`Mem.mirror`). */
export function mirroredInputs(): number {
  return inputsFromMirrors;
}

let masksFromMirrors = 0;
/** How many masks were the previous call's bytes instead of read from their tensor (`Mem.mirrorMask`). */
export function mirroredMasks(): number {
  return masksFromMirrors;
}

const sameOrder = (p: RowOrder, q: RowOrder): boolean =>
  p === q || (p !== null && q !== null && p.length === q.length && p.every((v, i) => v === q[i]));

/** A buffer kept in the arena across kernel calls while `held()` (tfjs still holds its handle's data). */
interface Kept {
  readonly buf: MemoryBuf;
  readonly end: number;
  readonly held: () => boolean;
}

let arena: Arena | string | undefined;

/** Where the next allocation may start after `n` floats at `offset`. */
const endOf = (offset: number, n: number): number => (offset + n * 4 + SLACK + 63) & ~63;

/** `n` floats in the first gap they fit in (the memory grows when that is the last one). */
function alloc(a: Arena, n: number): MemoryBuf {
  const gap = a.gaps.find(([start, end]) => endOf(start, n) <= end)!;
  const offset = gap[0];
  gap[0] = endOf(offset, n);
  const short = gap[0] - a.memory.buffer.byteLength;
  if (short > 0) a.memory.grow(Math.ceil(short / PAGE));
  return new MemoryBuf(a.memory, offset, n);
}

/** The free space around the buffers that stay: kept buffers still held (the others are released here) and mirrors. */
function gapsOf(a: Arena): [number, number][] {
  for (const [id, k] of a.kept) if (!k.held()) a.kept.delete(id);
  const taken = [...a.kept.values(), ...a.mirrors.values()]
    .map((b): [number, number] => [b.buf.offset, b.end])
    .sort((p, q) => p[0] - q[0]);
  const gaps: [number, number][] = [];
  let start = ARENA_START;
  for (const [offset, end] of taken) {
    if (offset > start) gaps.push([start, offset]);
    start = Math.max(start, end);
  }
  gaps.push([start, Infinity]);
  return gaps;
}

/** The arena, or why the fused kernels cannot run in this runtime. */
function theArena(): Arena | string {
  if (arena === undefined) {
    const simd = wasmSimdProblem();
    if (simd) return (arena = simd);
    const shared = threadsAvailable();
    const memory = newMemory(16, shared);
    const kernels = kernelsFor(memory, shared);
    if (typeof kernels === "string") return (arena = kernels);
    const a: Arena = {
      memory,
      kernels,
      pool: new ThreadPool(memory, shared ? threadCount() : 1, (bytes) => alloc(a, Math.ceil(bytes / 4)).offset),
      gaps: [[ARENA_START, Infinity]],
      kept: new Map(),
      mirrors: new Map(),
      fresh: new Map(),
      mask: null,
      freshMask: null,
    };
    arena = a;
  }
  return arena;
}

// ---------------------------------------------------------------------------------------------
// The backends' tensors

/** How a kernel reads a float32 tensor's values and makes a float32 tensor (`write` fills its values), per backend. */
interface TensorIO {
  values(t: TensorInfo): ArrayLike<number>;
  readSync(t: TensorInfo): ArrayLike<number>;
  make(shape: number[], write: (values: Float32Array) => void): TensorInfo;
  /** Whether the backend still holds a tensor's data (null: the backend cannot tell). */
  holds: ((dataId: object) => boolean) | null;
}

/** Whether `backend` is still the engine's backend `name` and holds the data (refCount > 0); null without refCount. */
function holdsOf(name: string, backend: { refCount?: (dataId: object) => number }): TensorIO["holds"] {
  if (typeof backend.refCount !== "function") return null;
  const refCount = backend.refCount.bind(backend);
  return (dataId) => tf.findBackend(name) === backend && refCount(dataId) > 0;
}

function wasmIO(backend: WasmBackendApi): TensorIO {
  const at = (t: TensorInfo) =>
    new Float32Array(backend.wasm.HEAPU8.buffer, backend.dataIdMap.get(t.dataId)!.memoryOffset, sizeOf(t.shape));
  return {
    values: at,
    readSync: (t) => backend.readSync(t.dataId),
    make(shape, write) {
      const info = backend.makeOutput(shape, "float32");
      write(at(info));
      return info;
    },
    holds: holdsOf("wasm", backend),
  };
}

function cpuIO(backend: CpuBackendApi): TensorIO {
  return {
    values: (t) => backend.data.get(t.dataId)!.values as ArrayLike<number>,
    readSync: (t) => backend.readSync(t.dataId),
    make(shape, write) {
      const values = new Float32Array(sizeOf(shape));
      write(values);
      return backend.makeTensorInfo(shape, "float32", values);
    },
    holds: holdsOf("cpu", backend),
  };
}

/**
 * The arena for one kernel call on `backend` ("wasm" or "cpu"; fusedPlan() checked both) with these
 * inputs: the previous call's mirrors of them stay for this call, the others are released.
 */
export function memFor(backendName: string, backend: unknown, inputs: readonly TensorInfo[]): Mem {
  const a = theArena();
  if (typeof a === "string") throw new Error(`fused kernels: ${a}`);
  const io = backendName === "wasm" ? wasmIO(backend as WasmBackendApi) : cpuIO(backend as CpuBackendApi);
  const used = new Set(inputs.map((t) => t.dataId));
  for (const id of a.mirrors.keys()) if (!used.has(id)) a.mirrors.delete(id);
  if (a.mask && !used.has(a.mask.id)) a.mask = null;
  a.fresh = new Map();
  a.freshMask = null;
  a.gaps = gapsOf(a);
  const result = (out: Out, order?: RowOrder) =>
    io.make([...out.shape], (values) =>
      order ? permuteRows(out.buf.view(), values, order, false) : values.set(out.buf.view()),
    );
  return {
    kernels: a.kernels,
    pool: a.pool,
    input(t, order, live) {
      const kept = a.kept.get(t.dataId);
      if (kept && !order) return kept.buf;
      const mirror = mirrorsOn ? a.mirrors.get(t.dataId) : undefined;
      // a copy of the live steps only serves a call that reads the same ones (the same lengths' object)
      const sameSteps = !mirror?.live || mirror.live === live;
      if (mirror && sameSteps && mirror.buf.n === sizeOf(t.shape) && sameOrder(mirror.order, order ?? null)) {
        inputsFromMirrors++;
        return mirror.buf;
      }
      const buf = alloc(a, kept ? kept.buf.n : sizeOf(t.shape));
      const values = kept ? kept.buf.view() : io.values(t);
      if (live) copyLiveSteps(values, buf.view(), order ?? null, live, t.shape[1]);
      else if (order) permuteRows(values, buf.view(), order, true);
      else buf.view().set(values);
      return buf;
    },
    readMask(t) {
      if (mirrorsOn && a.mask?.id === t.dataId) {
        masksFromMirrors++;
        return a.mask.bytes;
      }
      const vals = io.readSync(t);
      const m = new Uint8Array(vals.length);
      for (let i = 0; i < vals.length; i++) m[i] = vals[i] ? 1 : 0;
      return m;
    },
    output: (shape) => ({ buf: alloc(a, sizeOf(shape)), shape }),
    temp: (n) => alloc(a, n),
    zeros(n) {
      const buf = alloc(a, n);
      buf.view().fill(0);
      return buf;
    },
    bytes: () => new Uint8Array(a.memory.buffer),
    result,
    keep(out) {
      const holds = io.holds;
      if (!holds) return result(out);
      const handle = io.make([0], () => {});
      const buf = out.buf as MemoryBuf;
      a.kept.set(handle.dataId, { buf, end: endOf(buf.offset, buf.n), held: () => holds(handle.dataId) });
      return handle;
    },
    keeps: (t) => a.kept.has(t.dataId),
    mirror(t, buf, order, live) {
      const b = buf as MemoryBuf;
      if (!mirrorsOn || b.n < MIRROR_MIN_FLOATS) return;
      a.fresh.set(t.dataId, { buf: b, end: endOf(b.offset, b.n), order, live: live ?? null });
    },
    mirrorMask(t, bytes) {
      if (mirrorsOn) a.freshMask = { id: t.dataId, bytes };
    },
    done() {
      a.mirrors = a.fresh;
      a.fresh = new Map();
      a.mask = a.freshMask;
      a.freshMask = null;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// What the kernels need

/**
 * What the fused kernels need of the wasm backend that is missing (empty when all is there). tfjs does
 * not publish these internals; fusedPlan() checks them before taking the fused path.
 */
export function missingWasmInternals(backend: unknown): string[] {
  const b = backend as Partial<Record<string, unknown>> | null;
  const w = (b?.wasm ?? null) as Partial<Record<string, unknown>> | null;
  const fn = (o: Partial<Record<string, unknown>> | null, k: string) => typeof o?.[k] === "function";
  const dataIdMap = (b?.dataIdMap ?? null) as Partial<Record<string, unknown>> | null;
  const checks: [string, boolean][] = [
    ["wasm", w !== null],
    ["wasm.HEAPU8", w?.HEAPU8 instanceof Uint8Array],
    ["dataIdMap.get", fn(dataIdMap, "get")],
    ["makeOutput", fn(b, "makeOutput")],
    ["readSync", fn(b, "readSync")],
  ];
  return checks.filter(([, ok]) => !ok).map(([name]) => name);
}

/** What the fused kernels need of the cpu backend that is missing. */
export function missingCpuInternals(backend: unknown): string[] {
  const b = backend as Partial<Record<string, unknown>> | null;
  const data = (b?.data ?? null) as Partial<Record<string, unknown>> | null;
  const checks: [string, boolean][] = [
    ["data.get", typeof data?.get === "function"],
    ["makeTensorInfo", typeof b?.makeTensorInfo === "function"],
    ["readSync", typeof b?.readSync === "function"],
  ];
  return checks.filter(([, ok]) => !ok).map(([name]) => name);
}

/**
 * NULL when the fused kernels can run on this backend (by name and instance), else why not: the backend
 * has none, lacks an internal the kernels use, or the runtime cannot run the kernels' WebAssembly.
 */
export function memoryProblem(backendName: string, backend: unknown): string | null {
  if (backendName !== "wasm" && backendName !== "cpu")
    return `the fused recurrent kernels exist for the wasm and cpu backends, not "${backendName}"`;
  const missing = backendName === "wasm" ? missingWasmInternals(backend) : missingCpuInternals(backend);
  if (missing.length) return `the ${backendName} backend lacks what the fused kernels use (${missing.join(", ")})`;
  const a = theArena();
  return typeof a === "string" ? a : null;
}

/** How many buffers the arena keeps for later kernel calls (`Mem.keep`), as of the last call; for tests. */
export function keptBuffers(): number {
  return typeof arena === "object" ? arena.kept.size : 0;
}

/** The arena's current size in bytes (0 before its first use), for tests. */
export function arenaBytes(): number {
  return typeof arena === "object" ? arena.memory.buffer.byteLength : 0;
}
