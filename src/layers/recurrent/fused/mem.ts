/**
 * Memory and matrix-multiply access for the fused recurrent kernels, per backend.
 *
 * A fused kernel runs a whole sequence inside ONE tfjs kernel call: the gate arithmetic loops over
 * typed arrays in JavaScript, and the per-step matrix products go straight to the backend's own
 * matmul, never through the tfjs engine (no per-step dispatch):
 *  - wasm: the backend's exported `_BatchMatMul` (XNNPACK, SIMD), called on buffers in the wasm heap.
 *    Scratch buffers are registered with the wasm backend's tensor table under fresh ids so that
 *    XNNPACK can read and write them; XNNPACK caches the packed right-hand operand per tensor id,
 *    so a recurrent kernel that stays the same tensor is packed once and reused across steps and calls.
 *    The per-step gate arithmetic can run in the same heap through simd.ts's WebAssembly SIMD module,
 *    instantiated on the backend's own WebAssembly.Memory (`Mem.simd`, addressed by `Mem.ptr`).
 *  - cpu: a blocked JavaScript matmul on Float32Arrays (tfjs's cpu backend is itself plain JS).
 *
 * Views into the wasm heap become invalid when the heap grows (any malloc, including XNNPACK
 * creating an operator), so code takes `buf.view()` afresh after every gemm.
 */
import type { tf } from "../../../backend/tf.js";
import { simdKernelsFor, type SimdKernels, type WasmMemory } from "./simd.js";

type TensorInfo = tf.TensorInfo;

export interface Buf {
  /** Number of float32 elements. */
  readonly n: number;
  /** A Float32Array over the buffer's current memory (re-take after any gemm). */
  view(): Float32Array;
}

export interface Mem {
  /** A float32 tensor input, read in place. */
  input(t: TensorInfo): Buf;
  /** A copy of any-dtype tensor data as 0/1 bytes (masks). */
  readMask(t: TensorInfo): Uint8Array;
  /** A new float32 output tensor (contents undefined until written). */
  output(shape: readonly number[]): { buf: Buf; info: TensorInfo };
  /** A scratch buffer freed by `done()` (contents undefined). */
  temp(n: number): Buf;
  /** `n` elements of `buf` starting at element `offset`, usable as a gemm operand. */
  sub(buf: Buf, offset: number, n: number): Buf;
  /** out(m×n) = a(m×k) · b(k×n), all row-major; `out` is overwritten. */
  gemm(a: Buf, m: number, k: number, b: Buf, n: number, out: Buf): void;
  /**
   * out = sigmoid(inp), element-wise, vectorised (XNNPACK) — only where the backend has one (wasm).
   * Used for tanh too, as tanh(x) = 2·sigmoid(2x) − 1: the wasm backend's own tanh is scalar.
   */
  sigmoid?: (inp: Buf, out: Buf) => void;
  /** out(m×n) = a(m×k)·b(k×n) + bias(n), vectorised (wasm only). */
  gemmBias?: (a: Buf, m: number, k: number, b: Buf, n: number, bias: Buf, out: Buf) => void;
  /** out = a + b, both (rows × cols), vectorised (wasm only). */
  add?: (a: Buf, b: Buf, rows: number, cols: number, out: Buf) => void;
  /** The WebAssembly SIMD gate kernels working on this memory (wasm with SIMD only; see simd.ts). */
  simd?: SimdKernels | null;
  /** Byte offset of a buffer in the wasm heap (wasm only; for the SIMD kernels). */
  ptr?: (buf: Buf) => number;
  /** A Uint8Array over the wasm heap (re-take after any gemm; wasm only). */
  bytes?: () => Uint8Array;
  /** Frees scratch buffers and unregisters temporary ids. */
  done(): void;
}

// ---------------------------------------------------------------------------------------------
// cpu

class ArrayBuf implements Buf {
  constructor(readonly data: Float32Array) {}
  get n(): number {
    return this.data.length;
  }
  view(): Float32Array {
    return this.data;
  }
}

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

export function cpuMem(backend: any): Mem {
  return {
    input(t) {
      const vals = backend.data.get(t.dataId).values;
      return new ArrayBuf(vals instanceof Float32Array ? vals : Float32Array.from(vals as ArrayLike<number>));
    },
    readMask(t) {
      const vals = backend.data.get(t.dataId).values as ArrayLike<number>;
      const m = new Uint8Array(vals.length);
      for (let i = 0; i < vals.length; i++) m[i] = vals[i] ? 1 : 0;
      return m;
    },
    output(shape) {
      let size = 1;
      for (const d of shape) size *= d;
      const data = new Float32Array(size);
      return { buf: new ArrayBuf(data), info: backend.makeTensorInfo([...shape], "float32", data) };
    },
    temp(n) {
      return new ArrayBuf(new Float32Array(n));
    },
    sub(buf, offset, n) {
      return new ArrayBuf(buf.view().subarray(offset, offset + n));
    },
    gemm(a, m, k, b, n, out) {
      gemmJs(a.view(), m, k, b.view(), n, out.view());
    },
    done() {},
  };
}

// ---------------------------------------------------------------------------------------------
// wasm

interface WasmModule {
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
  _Sigmoid(xId: number, outId: number): void;
  _Add(
    aId: number,
    aShape: number,
    aRank: number,
    bId: number,
    bShape: number,
    bRank: number,
    dtype: number,
    outId: number,
  ): void;
  __FusedMatMul(
    aId: number,
    aShape: number,
    aRank: number,
    bId: number,
    bShape: number,
    bRank: number,
    ta: number,
    tb: number,
    act: number,
    biasId: number,
    preluId: number,
    alpha: number,
    outId: number,
  ): void;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  /** emscripten's exports, among them the module's WebAssembly.Memory */
  asm?: { memory?: WasmMemory };
}

class HeapBuf implements Buf {
  private v: Float32Array;
  constructor(
    private readonly wasm: WasmModule,
    /** byte offset in the heap */
    readonly offset: number,
    readonly n: number,
    /** id in the backend's tensor table (0 = not registered yet) */
    public id: number,
  ) {
    this.v = new Float32Array(wasm.HEAPU8.buffer, offset, n);
  }
  view(): Float32Array {
    const buffer = this.wasm.HEAPU8.buffer;
    if (this.v.buffer !== buffer) this.v = new Float32Array(buffer, this.offset, this.n);
    return this.v;
  }
}

/** Per backend instance: a persistent 6-int buffer for the two rank-3 shapes gemm passes. */
const shapeBuffers = new WeakMap<object, number>();

export function wasmMem(backend: any): Mem {
  const wasm = backend.wasm as WasmModule;
  let shapePtr = shapeBuffers.get(backend);
  if (shapePtr === undefined) {
    shapePtr = wasm._malloc(24);
    shapeBuffers.set(backend, shapePtr);
  }
  const mallocs: number[] = [];
  const ids: number[] = [];
  const register = (buf: HeapBuf): number => {
    if (!buf.id) {
      buf.id = backend.dataIdNextNumber++;
      wasm.tfjs.registerTensor(buf.id, buf.n, buf.offset);
      ids.push(buf.id);
    }
    return buf.id;
  };
  const sp = shapePtr;
  /** Writes the shapes [1, m, k] and [1, k, n] of a batched matmul at `sp` (read by the backend). */
  const writeMatMulShapes = (m: number, k: number, n: number) => {
    wasm.HEAP32.set([1, m, k, 1, k, n], sp >> 2);
  };
  return {
    simd: simdKernelsFor(wasm.asm?.memory),
    ptr: (buf) => (buf as HeapBuf).offset,
    bytes: () => wasm.HEAPU8,
    input(t) {
      const d = backend.dataIdMap.get(t.dataId);
      return new HeapBuf(wasm, d.memoryOffset, sizeOf(t.shape), d.id);
    },
    readMask(t) {
      const vals = backend.readSync(t.dataId) as ArrayLike<number>;
      const m = new Uint8Array(vals.length);
      for (let i = 0; i < vals.length; i++) m[i] = vals[i] ? 1 : 0;
      return m;
    },
    output(shape) {
      const info = backend.makeOutput([...shape], "float32") as TensorInfo;
      const d = backend.dataIdMap.get(info.dataId);
      return { buf: new HeapBuf(wasm, d.memoryOffset, sizeOf(shape), d.id), info };
    },
    temp(n) {
      const p = wasm._malloc(Math.max(4, n * 4)) >>> 0;
      mallocs.push(p);
      return new HeapBuf(wasm, p, n, 0);
    },
    sub(buf, offset, n) {
      const h = buf as HeapBuf;
      if (offset === 0 && n === h.n) return h;
      return new HeapBuf(wasm, h.offset + offset * 4, n, 0);
    },
    gemm(a, m, k, b, n, out) {
      const aId = register(a as HeapBuf),
        bId = register(b as HeapBuf),
        outId = register(out as HeapBuf);
      writeMatMulShapes(m, k, n);
      wasm._BatchMatMul(aId, sp, 3, bId, sp + 12, 3, 0, 0, outId);
    },
    sigmoid(inp, out) {
      wasm._Sigmoid(register(inp as HeapBuf), register(out as HeapBuf));
    },
    gemmBias(a, m, k, b, n, bias, out) {
      const aId = register(a as HeapBuf),
        bId = register(b as HeapBuf),
        biasId = register(bias as HeapBuf),
        outId = register(out as HeapBuf);
      writeMatMulShapes(m, k, n);
      wasm.__FusedMatMul(aId, sp, 3, bId, sp + 12, 3, 0, 0, 0 /* linear */, biasId, 0, 0, outId);
    },
    add(x, y, rows, cols, out) {
      const xId = register(x as HeapBuf),
        yId = register(y as HeapBuf),
        outId = register(out as HeapBuf);
      const s = wasm.HEAP32,
        q = sp >> 2;
      s[q] = rows;
      s[q + 1] = cols;
      s[q + 3] = rows;
      s[q + 4] = cols;
      wasm._Add(xId, sp, 2, yId, sp + 12, 2, 0 /* float32 */, outId);
    },
    done() {
      for (const id of ids) wasm.tfjs.disposeData(id);
      for (const p of mallocs) wasm._free(p);
      ids.length = 0;
      mallocs.length = 0;
    },
  };
}

function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}
