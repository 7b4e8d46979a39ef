/**
 * JavaScript kernels for the wasm backend: fallbacks where tfjs-backend-wasm 4.22 has no kernel
 * (PERF_NOTES "Missing wasm kernels"; found by training every layer of this package one step on wasm,
 * test/core/wasm_gradients.test.ts), and replacements for native kernels that are wrong or slow.
 * Each reads its inputs with readSync, computes on typed arrays and hands the result back with makeOutput.
 * The cpu backend gets the same UnsortedSegmentSum: tfjs-backend-cpu's loops over every segment (the
 * whole vocabulary of an Embedding's gradient) for every input row.
 */
import { tf } from "./tf.js";
import { conv3dBackpropFilter, conv3dBackpropInput } from "./wasm_kernels_conv3d.js";

import type { CpuBackendApi, TensorInfo, WasmBackendApi } from "./internals.js";

export type { TensorInfo, WasmBackendApi } from "./internals.js";
export type KernelArgs = { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, any> };

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * UnsortedSegmentSum (the gradient of Gather, i.e. of Embedding): out[s, ...] = sum of x[i, ...]
 * over the positions i whose segment id is s; ids outside [0, numSegments) are dropped as in TF.
 */
function unsortedSegmentSum(
  { inputs, backend, attrs }: KernelArgs,
  output: (shape: number[], dtype: string, values: ArrayLike<number>) => TensorInfo,
): TensorInfo {
  const { x, segmentIds } = inputs;
  const numSegments = attrs!.numSegments as number;
  const { readSync } = backend as WasmBackendApi;
  const xs = readSync.call(backend, x.dataId);
  const ids = readSync.call(backend, segmentIds.dataId);
  const inner = size(x.shape.slice(segmentIds.shape.length));
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = new Float32Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += xs[src + j];
  }
  const dtype = x.dtype === "int32" ? "int32" : "float32";
  return output(outShape, dtype, dtype === "int32" ? Int32Array.from(out) : out);
}

/**
 * Conv2DBackpropFilter (the kernel gradient of Conv2D, hence of Conv1D):
 * dW[r, c, i, o] = sum over batch and output positions of x[b, yR*sH + r - top, yC*sW + c - left, i] * dy[b, yR, yC, o].
 * Dilations are 1 here, as in tfjs's own gradient of conv2d.
 */
function conv2dBackpropFilter({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const wasm = backend as WasmBackendApi;
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs!;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  const xv = wasm.readSync(x.dataId);
  const dyv = wasm.readSync(dy.dataId);
  const last = info.dataFormat === "channelsLast";
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    strideHeight,
    strideWidth,
    filterHeight,
    filterWidth,
  } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Element offsets of (b, row, col, channel) in NHWC or NCHW layout.
  const xAt = last
    ? (b: number, r: number, c: number, ch: number) => ((b * inHeight + r) * inWidth + c) * inChannels + ch
    : (b: number, r: number, c: number, ch: number) => ((b * inChannels + ch) * inHeight + r) * inWidth + c;
  const dyAt = last
    ? (b: number, r: number, c: number, ch: number) => ((b * outHeight + r) * outWidth + c) * outChannels + ch
    : (b: number, r: number, c: number, ch: number) => ((b * outChannels + ch) * outHeight + r) * outWidth + c;
  const dw = new Float32Array(filterHeight * filterWidth * inChannels * outChannels);
  for (let wr = 0; wr < filterHeight; wr++) {
    const yrMin = Math.max(0, Math.ceil((top - wr) / strideHeight));
    const yrMax = Math.min(outHeight, (inHeight + top - wr) / strideHeight);
    for (let wc = 0; wc < filterWidth; wc++) {
      const ycMin = Math.max(0, Math.ceil((left - wc) / strideWidth));
      const ycMax = Math.min(outWidth, (inWidth + left - wc) / strideWidth);
      const base = (wr * filterWidth + wc) * inChannels * outChannels;
      for (let b = 0; b < batchSize; b++) {
        for (let yr = yrMin; yr < yrMax; yr++) {
          const xr = wr + yr * strideHeight - top;
          for (let yc = ycMin; yc < ycMax; yc++) {
            const xc = wc + yc * strideWidth - left;
            for (let i = 0; i < inChannels; i++) {
              const xval = xv[xAt(b, xr, xc, i)];
              if (xval === 0) continue;
              const row = base + i * outChannels;
              for (let o = 0; o < outChannels; o++) dw[row + o] += xval * dyv[dyAt(b, yr, yc, o)];
            }
          }
        }
      }
    }
  }
  return wasm.makeOutput([filterHeight, filterWidth, inChannels, outChannels], "float32", undefined, dw);
}

/**
 * Unpack (tf.unstack) copying the input once: the native kernel copies the whole input once per
 * output slice, O(T x size) when a recurrent loop splits a projected sequence into its T timesteps
 * (GRU(64) predict on wasm: 393 -> 2,209 samples/s with this kernel).
 */
function unpack({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const wasm = backend as WasmBackendApi;
  const x = inputs.value;
  const rank = x.shape.length;
  const axis = attrs!.axis < 0 ? attrs!.axis + rank : attrs!.axis;
  const data = wasm.readSync(x.dataId) as Float32Array;
  const n = x.shape[axis];
  const outer = size(x.shape.slice(0, axis));
  const inner = size(x.shape.slice(axis + 1));
  const outShape = x.shape.filter((_, i) => i !== axis);
  const Ctor = data.constructor as new (n: number) => Float32Array;
  return Array.from({ length: n }, (_, i) => {
    const out = new Ctor(outer * inner);
    for (let o = 0; o < outer; o++) out.set(data.subarray((o * n + i) * inner, (o * n + i + 1) * inner), o * inner);
    return wasm.makeOutput(outShape, x.dtype, undefined, out);
  });
}

/**
 * Sign: the native kernel gives 0 for |x| below about 1e-7 (tfjs-backend-wasm 4.22), which drops Lion's
 * steps for small momenta and reads a value within 1e-7 of a mask value as masked.
 */
function sign({ inputs, backend }: KernelArgs): TensorInfo {
  const wasm = backend as WasmBackendApi;
  const x = inputs.x;
  const v = wasm.readSync(x.dataId);
  const out = new (v.constructor as new (n: number) => Float32Array)(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] > 0 ? 1 : v[i] < 0 ? -1 : v[i] === 0 ? 0 : NaN;
  return wasm.makeOutput(x.shape, x.dtype, undefined, out);
}

/**
 * MaxPoolGrad (the input gradient of 2-D max pooling, NHWC): each output's gradient goes to the first
 * maximum of its window, in row-major order, as TF's. The native wasm kernel of tfjs-backend-wasm 4.22
 * is wrong for overlapping windows of even size (a 2 x 2 window with stride 1, "valid" or "same").
 */
function maxPoolGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const wasm = backend as WasmBackendApi;
  const { dy, input } = inputs;
  const { filterSize, strides, pad, dimRoundingMode } = attrs!;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const xv = wasm.readSync(input.dataId);
  const dyv = wasm.readSync(dy.dataId);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const dx = new Float32Array(xv.length);
  const xAt = (b: number, r: number, c: number) => ((b * inHeight + r) * inWidth + c) * inChannels;
  let k = 0;
  for (let b = 0; b < batchSize; b++)
    for (let yr = 0; yr < outHeight; yr++)
      for (let yc = 0; yc < outWidth; yc++)
        for (let ch = 0; ch < inChannels; ch++, k++) {
          let best = -1;
          let max = -Infinity;
          for (let fr = 0; fr < filterHeight; fr++) {
            const r = yr * strideHeight + fr - top;
            if (r < 0 || r >= inHeight) continue;
            for (let fc = 0; fc < filterWidth; fc++) {
              const c = yc * strideWidth + fc - left;
              if (c < 0 || c >= inWidth) continue;
              const at = xAt(b, r, c) + ch;
              if (xv[at] > max || best < 0) [max, best] = [xv[at], at];
            }
          }
          if (best >= 0) dx[best] += dyv[k];
        }
  return wasm.makeOutput([...input.shape], "float32", undefined, dx);
}

type KernelFunc = (args: KernelArgs) => TensorInfo | TensorInfo[];

/** Kernels wasm lacks. */
const FALLBACKS: readonly { kernelName: string; kernelFunc: KernelFunc }[] = [
  {
    kernelName: "UnsortedSegmentSum",
    kernelFunc: (args) =>
      unsortedSegmentSum(args, (shape, dtype, values) =>
        (args.backend as WasmBackendApi).makeOutput(shape, dtype, undefined, values),
      ),
  },
  { kernelName: "Conv2DBackpropFilter", kernelFunc: conv2dBackpropFilter },
];

/**
 * Identity (tf.clone, and every tensor a gradient tape saves) shares the data, as on cpu and as the
 * wasm backend's own Reshape does: tensor data is never written after it is made. The native kernel
 * copies it (a fused GRU(64) training batch copied its 2 MB of saved activations: 4% of the batch).
 */
function identity({ inputs, backend }: KernelArgs): TensorInfo {
  const x = inputs.x;
  (backend as WasmBackendApi).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** The native Slice kernel, kept for the slices `slice` hands back to it. */
let nativeSlice: KernelFunc | undefined;

/**
 * Slice of one contiguous range (fit's batches: rows of the whole data set) copies that range. The native
 * kernel reads all of the input first (readSync copies it): a batch cost a copy of the whole data set.
 * Other slices (and strings) go to the native kernel.
 */
function slice(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x;
  const [begin, shape] = tf.slice_util.parseSliceParams(x as tf.TensorInfo, args.attrs!.begin, args.attrs!.size);
  if (x.dtype === "string" || !tf.slice_util.isSliceContinous(x.shape, begin, shape)) return nativeSlice!(args);
  const backend = args.backend as WasmBackendApi;
  const out = backend.makeOutput(shape, x.dtype);
  const bytes = tf.util.bytesPerElement(x.dtype as tf.DataType);
  const from =
    backend.dataIdMap.get(x.dataId)!.memoryOffset +
    bytes * tf.slice_util.computeFlatOffset(begin, tf.util.computeStrides(x.shape));
  // the heap view after makeOutput (which may grow the memory)
  backend.wasm.HEAPU8.copyWithin(backend.dataIdMap.get(out.dataId)!.memoryOffset, from, from + bytes * size(shape));
  return out;
}

/**
 * Native wasm kernels replaced: Unpack, Identity and Slice for speed, Conv3DBackpropInputV2,
 * Conv3DBackpropFilterV2, MaxPoolGrad and Sign because their numbers are wrong.
 */
const REPLACEMENTS: readonly { kernelName: string; kernelFunc: KernelFunc }[] = [
  { kernelName: "Unpack", kernelFunc: unpack },
  { kernelName: "Identity", kernelFunc: identity },
  { kernelName: "Slice", kernelFunc: slice },
  { kernelName: "Conv3DBackpropInputV2", kernelFunc: conv3dBackpropInput },
  { kernelName: "Conv3DBackpropFilterV2", kernelFunc: conv3dBackpropFilter },
  { kernelName: "MaxPoolGrad", kernelFunc: maxPoolGrad },
  { kernelName: "Sign", kernelFunc: sign },
];

let replaced = false;

/** Registers the fallback and replacement kernels for wasm (idempotent). */
export function registerWasmFallbackKernels(): void {
  for (const k of FALLBACKS) {
    if (tf.getKernel(k.kernelName, "wasm")) continue;
    tf.registerKernel({ kernelName: k.kernelName, backendName: "wasm", kernelFunc: k.kernelFunc as any });
  }
  if (replaced || !tf.findBackend("wasm")) return;
  replaced = true;
  nativeSlice = tf.getKernel("Slice", "wasm")?.kernelFunc as KernelFunc | undefined;
  for (const k of REPLACEMENTS) {
    if (k.kernelFunc === slice && !nativeSlice) continue;
    if (tf.getKernel(k.kernelName, "wasm")) tf.unregisterKernel(k.kernelName, "wasm");
    tf.registerKernel({ kernelName: k.kernelName, backendName: "wasm", kernelFunc: k.kernelFunc as any });
  }
}

let cpuReplaced = false;

/** Replaces the cpu backend's UnsortedSegmentSum (idempotent). */
export function registerCpuReplacementKernels(): void {
  if (cpuReplaced) return;
  cpuReplaced = true;
  if (tf.getKernel("UnsortedSegmentSum", "cpu")) tf.unregisterKernel("UnsortedSegmentSum", "cpu");
  tf.registerKernel({ kernelName: "UnsortedSegmentSum", backendName: "cpu", kernelFunc: cpuUnsortedSegmentSum as any });
}

/** The cpu backend's UnsortedSegmentSum once replaced (tests check that it is the registered one). */
export function cpuUnsortedSegmentSum(args: KernelArgs) {
  return unsortedSegmentSum(args, (shape, dtype, values) =>
    (args.backend as CpuBackendApi).makeTensorInfo(shape, dtype, values),
  );
}
