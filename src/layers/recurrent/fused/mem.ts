/**
 * The memory the fused kernels work in, per backend, and its matrix product.
 *
 * A fused kernel runs a whole sequence inside ONE tfjs kernel call: the step functions (step_kernels.ts)
 * and the matrix products work on buffers of one WebAssembly memory, never through the tfjs engine:
 *  - wasm: the backend's own heap. Inputs and outputs are the backend's tensors, read and written in place;
 *    scratch buffers come from its malloc. Products are the backend's exported `_BatchMatMul` (XNNPACK,
 *    SIMD) on buffers registered in its tensor table under fresh ids; XNNPACK caches the packed right
 *    operand per id, so a recurrent kernel that stays the same tensor is packed once.
 *  - cpu: an arena of our own (a WebAssembly.Memory) that inputs are copied into and outputs out of;
 *    products are a blocked JavaScript matmul on views of it (tfjs's cpu backend is itself plain JS).
 *
 * Views into a memory become invalid when it grows (any allocation, including XNNPACK creating an
 * operator), so code takes `buf.view()` afresh after every allocation or product.
 */
import type { tf } from "../../../backend/tf.js";
import { kernelsFor, newMemory, wasmSimdProblem, type MemoryKernels, type WasmMemory } from "./step_kernels.js";

type TensorInfo = tf.TensorInfo;

/** `n` float32 values at byte `offset` of the memory. */
export interface Buf {
  readonly offset: number;
  readonly n: number;
  /** A Float32Array over the buffer's current memory (re-take after any allocation or product). */
  view(): Float32Array;
}

/** An output tensor being written. */
export interface Out {
  readonly buf: Buf;
  readonly shape: readonly number[];
}

export interface Mem {
  /** The step functions bound to this memory. */
  readonly kernels: MemoryKernels;
  /** A float32 tensor input. */
  input(t: TensorInfo): Buf;
  /** A copy of any-dtype tensor data as 0/1 bytes (masks). */
  readMask(t: TensorInfo): Uint8Array;
  /** A new float32 output (contents undefined until written). */
  output(shape: readonly number[]): Out;
  /** A scratch buffer, freed by `done()` (contents undefined). */
  temp(n: number): Buf;
  /** `n` elements of `buf` from element `offset`, usable as a product operand. */
  sub(buf: Buf, offset: number, n: number): Buf;
  /** out(m×n) = a(m×k)·b(k×n), all row-major; `out` is overwritten. */
  gemm(a: Buf, m: number, k: number, b: Buf, n: number, out: Buf): void;
  /** A Uint8Array over the memory (re-take after any allocation or product). */
  bytes(): Uint8Array;
  /** The finished output as a tensor of the backend. */
  result(out: Out): TensorInfo;
  /** Frees scratch buffers and temporary ids. */
  done(): void;
}

class MemoryBuf implements Buf {
  private v: Float32Array;
  constructor(
    private readonly buffer: () => ArrayBuffer,
    readonly offset: number,
    readonly n: number,
    /** id in the wasm backend's tensor table (0 = not registered yet) */
    public id = 0,
  ) {
    this.v = new Float32Array(buffer(), offset, n);
  }
  view(): Float32Array {
    const buffer = this.buffer();
    if (this.v.buffer !== buffer) this.v = new Float32Array(buffer, this.offset, this.n);
    return this.v;
  }
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

const kernelsOrThrow = (memory: WasmMemory): MemoryKernels => {
  const k = kernelsFor(memory);
  // fusedPlan() checked this before choosing the fused path
  if (typeof k === "string") throw new Error(`fused kernels: ${k}`);
  return k;
};

/**
 * out(m×n) = a(m×k)·b(k×n) on typed arrays: 4×4 blocks of `out` accumulated in registers (float64),
 * ~2× faster in V8 than a row-axpy loop; leftover rows use the axpy loop, leftover columns dots.
 */
export function gemmJs(a: Float32Array, m: number, k: number, b: Float32Array, n: number, out: Float32Array): void {
  const m4 = m - (m % 4),
    n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    const a0 = i * k,
      a1 = a0 + k,
      a2 = a1 + k,
      a3 = a2 + k;
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let p = 0, bo = j; p < k; p++, bo += n) {
        const b0 = b[bo],
          b1 = b[bo + 1],
          b2 = b[bo + 2],
          b3 = b[bo + 3];
        let v = a[a0 + p];
        c00 += v * b0;
        c01 += v * b1;
        c02 += v * b2;
        c03 += v * b3;
        v = a[a1 + p];
        c10 += v * b0;
        c11 += v * b1;
        c12 += v * b2;
        c13 += v * b3;
        v = a[a2 + p];
        c20 += v * b0;
        c21 += v * b1;
        c22 += v * b2;
        c23 += v * b3;
        v = a[a3 + p];
        c30 += v * b0;
        c31 += v * b1;
        c32 += v * b2;
        c33 += v * b3;
      }
      let o = i * n + j;
      out[o] = c00;
      out[o + 1] = c01;
      out[o + 2] = c02;
      out[o + 3] = c03;
      o += n;
      out[o] = c10;
      out[o + 1] = c11;
      out[o + 2] = c12;
      out[o + 3] = c13;
      o += n;
      out[o] = c20;
      out[o + 1] = c21;
      out[o + 2] = c22;
      out[o + 3] = c23;
      o += n;
      out[o] = c30;
      out[o + 1] = c31;
      out[o + 2] = c32;
      out[o + 3] = c33;
    }
    for (let r = i; r < i + 4; r++)
      for (let j = n4; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += a[r * k + p] * b[p * n + j];
        out[r * n + j] = acc;
      }
  }
  for (let i = m4; i < m; i++) {
    const o = i * n,
      ao = i * k;
    out.fill(0, o, o + n);
    for (let p = 0; p < k; p++) {
      const v = a[ao + p];
      if (v === 0) continue;
      const bo = p * n;
      for (let j = 0; j < n; j++) out[o + j] += v * b[bo + j];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// cpu

/** The cpu backend's internals used here. */
export interface CpuBackend {
  data: { get(dataId: object): { values: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): TensorInfo;
}

/** One arena for the process (kernels run one at a time): a WebAssembly.Memory and a bump allocator. */
let arena: { memory: WasmMemory; top: number } | undefined;

const PAGE = 65536;
/** Where allocation starts: offset 0 stays unused (a step function reads mask 0 as "no mask"). */
const ARENA_START = 16;
/** A WebAssembly.Memory cannot shrink: an arena grown past this is dropped after the call (the GC frees it). */
const ARENA_KEEP_BYTES = 64 << 20;

const theArena = () => (arena ??= { memory: newMemory(16), top: ARENA_START });

export function cpuMem(backend: CpuBackend): Mem {
  const a = theArena();
  const buffer = () => a.memory.buffer;
  const alloc = (n: number): MemoryBuf => {
    const offset = a.top;
    a.top = (offset + Math.max(4, n * 4) + 15) & ~15;
    const short = a.top - a.memory.buffer.byteLength;
    if (short > 0) a.memory.grow(Math.ceil(short / PAGE));
    return new MemoryBuf(buffer, offset, n);
  };
  const valuesOf = (t: TensorInfo) => backend.data.get(t.dataId)!.values as ArrayLike<number>;
  return {
    kernels: kernelsOrThrow(a.memory),
    input(t) {
      const values = valuesOf(t);
      const buf = alloc(values.length);
      buf.view().set(values);
      return buf;
    },
    readMask(t) {
      const vals = valuesOf(t);
      const m = new Uint8Array(vals.length);
      for (let i = 0; i < vals.length; i++) m[i] = vals[i] ? 1 : 0;
      return m;
    },
    output: (shape) => ({ buf: alloc(sizeOf(shape)), shape }),
    temp: alloc,
    sub: (buf, offset, n) => new MemoryBuf(buffer, buf.offset + offset * 4, n),
    gemm(x, m, k, y, n, out) {
      gemmJs(x.view(), m, k, y.view(), n, out.view());
    },
    bytes: () => new Uint8Array(a.memory.buffer),
    result: (out) => backend.makeTensorInfo([...out.shape], "float32", out.buf.view().slice()),
    done() {
      a.top = ARENA_START;
      if (a.memory.buffer.byteLength > ARENA_KEEP_BYTES) arena = undefined;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// wasm

/** The emscripten module of tfjs's wasm backend: the members used here. */
export interface WasmModule {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  _malloc(n: number): number;
  _free(p: number): void;
  _BatchMatMul(
    aId: number,
    aShape: number,
    aRank: number,
    bId: number,
    bShape: number,
    bRank: number,
    ta: number,
    tb: number,
    outId: number,
  ): void;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  /** emscripten's exports, among them the module's WebAssembly.Memory */
  asm?: { memory?: WasmMemory };
}

/** The wasm backend's internals used here. */
export interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: "float32"): TensorInfo;
  readSync(dataId: object): ArrayLike<number>;
}

/**
 * What `wasmMem` needs of the wasm backend that is missing (empty when all is there). tfjs does not
 * publish these internals; fusedPlan() checks them before taking the fused path.
 */
export function missingWasmInternals(backend: unknown): string[] {
  const b = backend as Partial<Record<string, unknown>> | null;
  const w = (b?.wasm ?? null) as Partial<Record<string, unknown>> | null;
  const fn = (o: Partial<Record<string, unknown>> | null, k: string) => typeof o?.[k] === "function";
  const tfjs = (w?.tfjs ?? null) as Partial<Record<string, unknown>> | null;
  const asm = (w?.asm ?? null) as Partial<Record<string, unknown>> | null;
  const dataIdMap = (b?.dataIdMap ?? null) as Partial<Record<string, unknown>> | null;
  const checks: [string, boolean][] = [
    ["wasm", w !== null],
    ["wasm._malloc", fn(w, "_malloc")],
    ["wasm._free", fn(w, "_free")],
    ["wasm._BatchMatMul", fn(w, "_BatchMatMul")],
    ["wasm.HEAPU8", w?.HEAPU8 instanceof Uint8Array],
    ["wasm.HEAP32", w?.HEAP32 instanceof Int32Array],
    ["wasm.tfjs.registerTensor", fn(tfjs, "registerTensor")],
    ["wasm.tfjs.disposeData", fn(tfjs, "disposeData")],
    [
      "wasm.asm.memory",
      (asm?.memory as { buffer?: unknown } | undefined)?.buffer === (w?.HEAPU8 as Uint8Array | undefined)?.buffer,
    ],
    ["dataIdMap.get", fn(dataIdMap, "get")],
    ["dataIdNextNumber", typeof b?.dataIdNextNumber === "number"],
    ["makeOutput", fn(b, "makeOutput")],
    ["readSync", fn(b, "readSync")],
  ];
  return checks.filter(([, ok]) => !ok).map(([name]) => name);
}

/** What `cpuMem` needs of the cpu backend that is missing. */
export function missingCpuInternals(backend: unknown): string[] {
  const b = backend as Partial<Record<string, unknown>> | null;
  const data = (b?.data ?? null) as Partial<Record<string, unknown>> | null;
  const checks: [string, boolean][] = [
    ["data.get", typeof data?.get === "function"],
    ["makeTensorInfo", typeof b?.makeTensorInfo === "function"],
  ];
  return checks.filter(([, ok]) => !ok).map(([name]) => name);
}

/** Per backend instance: a persistent 6-int buffer for the two rank-3 shapes gemm passes. */
const shapeBuffers = new WeakMap<object, number>();

export function wasmMem(backend: WasmBackend): Mem {
  const wasm = backend.wasm;
  let shapePtr = shapeBuffers.get(backend);
  if (shapePtr === undefined) {
    shapePtr = wasm._malloc(24);
    shapeBuffers.set(backend, shapePtr);
  }
  const sp = shapePtr;
  const buffer = () => wasm.HEAPU8.buffer as ArrayBuffer;
  const mallocs: number[] = [];
  const ids: number[] = [];
  const outputs = new Map<Buf, TensorInfo>();
  const register = (buf: Buf): number => {
    const b = buf as MemoryBuf;
    if (!b.id) {
      b.id = backend.dataIdNextNumber++;
      wasm.tfjs.registerTensor(b.id, b.n, b.offset);
      ids.push(b.id);
    }
    return b.id;
  };
  const tensorBuf = (info: TensorInfo): MemoryBuf => {
    const d = backend.dataIdMap.get(info.dataId)!;
    return new MemoryBuf(buffer, d.memoryOffset, sizeOf(info.shape), d.id);
  };
  return {
    kernels: kernelsOrThrow(wasm.asm!.memory!),
    input: tensorBuf,
    readMask(t) {
      const vals = backend.readSync(t.dataId);
      const m = new Uint8Array(vals.length);
      for (let i = 0; i < vals.length; i++) m[i] = vals[i] ? 1 : 0;
      return m;
    },
    output(shape) {
      const info = backend.makeOutput([...shape], "float32");
      const buf = tensorBuf(info);
      outputs.set(buf, info);
      return { buf, shape };
    },
    temp(n) {
      const p = wasm._malloc(Math.max(4, n * 4)) >>> 0;
      mallocs.push(p);
      return new MemoryBuf(buffer, p, n);
    },
    sub(buf, offset, n) {
      if (offset === 0 && n === buf.n) return buf;
      return new MemoryBuf(buffer, buf.offset + offset * 4, n);
    },
    gemm(a, m, k, b, n, out) {
      const aId = register(a),
        bId = register(b),
        outId = register(out);
      // the shapes [1, m, k] and [1, k, n] of a batched product, read by the backend
      wasm.HEAP32.set([1, m, k, 1, k, n], sp >> 2);
      wasm._BatchMatMul(aId, sp, 3, bId, sp + 12, 3, 0, 0, outId);
    },
    bytes: () => wasm.HEAPU8,
    result: (out) => outputs.get(out.buf)!,
    done() {
      for (const id of ids) wasm.tfjs.disposeData(id);
      for (const p of mallocs) wasm._free(p);
      ids.length = 0;
      mallocs.length = 0;
    },
  };
}

/**
 * NULL when the fused kernels can run on this backend (by name and instance), else why not: the backend
 * has none, lacks an internal the kernels use, or the step functions cannot run in its memory.
 */
export function memoryProblem(backendName: string, backend: unknown): string | null {
  if (backendName !== "wasm" && backendName !== "cpu")
    return `the fused recurrent kernels exist for the wasm and cpu backends, not "${backendName}"`;
  const missing = backendName === "wasm" ? missingWasmInternals(backend) : missingCpuInternals(backend);
  if (missing.length) return `the ${backendName} backend lacks what the fused kernels use (${missing.join(", ")})`;
  const simd = wasmSimdProblem();
  if (simd) return simd;
  const k = kernelsFor(backendName === "wasm" ? (backend as WasmBackend).wasm.asm!.memory! : theArena().memory);
  return typeof k === "string" ? k : null;
}
