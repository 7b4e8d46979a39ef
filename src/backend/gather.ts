/**
 * GatherV2 (tf.gather, hence Embedding's lookups) for the wasm and cpu backends, replacing tfjs 4.22's
 * own: both take 40–70 ns per value gathered (an Embedding(1000, 32) lookup of 1024 × 80 tokens: 114 ms
 * on wasm, 188 ms on cpu; 6 and 11 ms here, measured with bench/w4_padding.mjs's model).
 */
import { tf } from "./tf.js";
import type { KernelArgs } from "./wasm_kernels.js";
import type { CpuBackendApi, TensorInfo, WasmBackendApi } from "./internals.js";

type KernelFunc = (args: KernelArgs) => TensorInfo | TensorInfo[];

/**
 * A new tensor of the backend and its values, to be written; `copy`, where the backend has one, copies
 * `n` values from x's value `src` to the output's value `dst` in the backend's memory.
 */
type NewOutput = (
  shape: number[],
  dtype: string,
  like: ArrayLike<number>,
  n: number,
  x: TensorInfo,
) => { info: TensorInfo; values: Float32Array; copy?: (dst: number, src: number, n: number) => void };

/**
 * GatherV2 copying whole slices. Indices outside the axis are refused with the native kernels' message;
 * other dtypes (complex64, string) go to the native kernel.
 */
function gatherV2(args: KernelArgs, native: KernelFunc | undefined, newOutput: NewOutput): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { readSync } = backend as WasmBackendApi;
  const { x, indices } = inputs;
  if (!["float32", "int32", "bool"].includes(x.dtype)) return native!(args) as TensorInfo;
  const axis = tf.util.parseAxisParam(attrs!.axis, x.shape)[0];
  const ids = readSync.call(backend, indices.dataId);
  const dimSize = x.shape[axis];
  for (let i = 0; i < ids.length; i++)
    if (!(ids[i] >= 0 && ids[i] <= dimSize - 1))
      throw new Error(`GatherV2: the index value ${ids[i]} is not in [0, ${dimSize - 1}]`);
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
    x as tf.TensorInfo as tf.Tensor,
    indices as tf.TensorInfo as tf.Tensor,
    axis,
    attrs!.batchDims,
  );
  const { batchSize, outerSize, sliceSize } = info;
  const xs = readSync.call(backend, x.dataId);
  const perBatch = ids.length / batchSize;
  const {
    info: result,
    values: out,
    copy,
  } = newOutput(info.outputShape, x.dtype, xs, batchSize * outerSize * perBatch * sliceSize, x);
  for (let b = 0, dst = 0; b < batchSize; b++)
    for (let o = 0; o < outerSize; o++) {
      const from = (b * outerSize + o) * dimSize;
      for (let i = 0; i < perBatch; i++, dst += sliceSize) {
        const src = (from + ids[b * perBatch + i]) * sliceSize;
        if (copy) copy(dst, src, sliceSize);
        // a loop: most slices are short (an embedding row), where subarray + set costs more
        else for (let j = 0; j < sliceSize; j++) out[dst + j] = xs[src + j];
      }
    }
  return result;
}

type TypedArrayOf = new (...a: [n: number] | [b: ArrayBufferLike, offset: number, n: number]) => Float32Array;

/**
 * wasm: the output written in place in the backend's memory; 4-byte values slice by slice with
 * copyWithin from x's memory (one native copy per slice: an Embedding(1000, 32) lookup of 1024 × 80
 * tokens ≈ half the time of the loop).
 */
const wasmOutput =
  (backend: unknown): NewOutput =>
  (shape, dtype, like, n, x) => {
    const heap = backend as WasmBackendApi;
    const info = heap.makeOutput(shape, dtype);
    const offset = heap.dataIdMap.get(info.dataId)!.memoryOffset;
    const from = heap.dataIdMap.get(x.dataId)?.memoryOffset;
    const bytes = heap.wasm.HEAPU8;
    const copy =
      (like as Float32Array).BYTES_PER_ELEMENT === 4 && typeof from === "number"
        ? (dst: number, src: number, k: number) =>
            bytes.copyWithin(offset + dst * 4, from + src * 4, from + (src + k) * 4)
        : undefined;
    return { info, values: new (like.constructor as TypedArrayOf)(bytes.buffer, offset, n), copy };
  };

/** cpu: the backend keeps the array it is given. */
const cpuOutput =
  (backend: unknown): NewOutput =>
  (shape, dtype, like, n) => {
    const values = new (like.constructor as TypedArrayOf)(n);
    return { info: (backend as CpuBackendApi).makeTensorInfo(shape, dtype, values), values };
  };

/** The native kernels, per backend (dtypes other than float32, int32 and bool go there). */
const native = new Map<string, KernelFunc | undefined>();

/** This package's GatherV2 for `backendName`. */
export function gatherKernel(backendName: "wasm" | "cpu"): KernelFunc {
  return (args) =>
    gatherV2(args, native.get(backendName), (backendName === "wasm" ? wasmOutput : cpuOutput)(args.backend));
}

const registered = new Map<string, KernelFunc>();

/** Replaces the GatherV2 kernel of `backendName` (idempotent). */
export function registerGatherKernel(backendName: "wasm" | "cpu"): void {
  if (registered.has(backendName) || !tf.findBackend(backendName)) return;
  const kernelFunc = gatherKernel(backendName);
  registered.set(backendName, kernelFunc);
  native.set(backendName, tf.getKernel("GatherV2", backendName)?.kernelFunc as KernelFunc | undefined);
  if (native.get(backendName)) tf.unregisterKernel("GatherV2", backendName);
  tf.registerKernel({ kernelName: "GatherV2", backendName, kernelFunc: kernelFunc as tf.KernelFunc });
}

/** The kernel registered by `registerGatherKernel` (tests check that it is the registered one). */
export const registeredGatherKernel = (backendName: string): KernelFunc | undefined => registered.get(backendName);
