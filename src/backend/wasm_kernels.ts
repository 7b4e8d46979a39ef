/**
 * JavaScript kernels registered for the wasm backend where tfjs-backend-wasm 4.22 has none
 * (PERF_NOTES "Missing wasm kernels"). Each reads its inputs with readSync, computes on typed
 * arrays and hands the result back with makeOutput. They are found by training every layer of this
 * package one step on wasm (test/core/wasm_gradients.test.ts).
 */
import { tf } from "./tf.js";

type TensorInfo = { dataId: object; shape: number[]; dtype: string };
interface WasmBackendApi {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: string, memoryOffset?: number, values?: ArrayLike<number>): TensorInfo;
}
type KernelArgs = { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, any> };

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * UnsortedSegmentSum (the gradient of Gather, i.e. of Embedding): out[s, ...] = sum of x[i, ...]
 * over the positions i whose segment id is s; ids outside [0, numSegments) are dropped as in TF.
 */
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const wasm = backend as WasmBackendApi;
  const { x, segmentIds } = inputs;
  const numSegments = attrs!.numSegments as number;
  const xs = wasm.readSync(x.dataId);
  const ids = wasm.readSync(segmentIds.dataId);
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
  return wasm.makeOutput(outShape, dtype, undefined, dtype === "int32" ? Int32Array.from(out) : out);
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
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth, filterHeight, filterWidth } = info;
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

const FALLBACKS: readonly { kernelName: string; kernelFunc: (args: KernelArgs) => TensorInfo }[] = [
  { kernelName: "UnsortedSegmentSum", kernelFunc: unsortedSegmentSum },
  { kernelName: "Conv2DBackpropFilter", kernelFunc: conv2dBackpropFilter },
];

/** Registers the fallback kernels the wasm backend lacks (idempotent; never replaces a native kernel). */
export function registerWasmFallbackKernels(): void {
  for (const k of FALLBACKS) {
    if (tf.getKernel(k.kernelName, "wasm")) continue;
    tf.registerKernel({ kernelName: k.kernelName, backendName: "wasm", kernelFunc: k.kernelFunc as any });
  }
}

/** Names of the kernels this module provides for wasm (for backend_info and tests). */
export const WASM_FALLBACK_KERNELS: readonly string[] = FALLBACKS.map((k) => k.kernelName);
