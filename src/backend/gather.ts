/**
 * GatherV2 (tf.gather, hence Embedding's lookups) for the wasm and cpu backends, replacing tfjs 4.22's
 * own: both take 40–70 ns per value gathered (an Embedding(1000, 32) lookup of 1024 × 80 tokens: 114 ms
 * on wasm, 188 ms on cpu; 6 and 11 ms here, measured with bench/w4_padding.mjs's model).
 */
import { tf } from "./tf.js";
import type { KernelArgs } from "./wasm_kernels.js";
import type { CpuBackendApi, TensorInfo, WasmBackendApi } from "./internals.js";

type KernelFunc = (args: KernelArgs) => TensorInfo | TensorInfo[];

/** The output tensor of the backend, and how to copy `n` values of x from its value `src` to the output's value `dst`. */
type NewOutput = (
  shape: number[],
  x: TensorInfo,
  n: number,
) => { info: TensorInfo; copy: (dst: number, src: number, n: number) => void };

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
  const perBatch = ids.length / batchSize;
  const { info: result, copy } = newOutput(info.outputShape, x, batchSize * outerSize * perBatch * sliceSize);
  for (let b = 0, dst = 0; b < batchSize; b++)
    for (let o = 0; o < outerSize; o++) {
      const from = (b * outerSize + o) * dimSize;
      for (let i = 0; i < perBatch; i++, dst += sliceSize)
        copy(dst, (from + ids[b * perBatch + i]) * sliceSize, sliceSize);
    }
  return result;
}

type TypedArrayOf = new (n: number) => Float32Array;

/**
 * wasm: the output in the backend's memory, each slice copied there from x's memory by one native
 * copyWithin (an Embedding(1000, 32) lookup of 1024 × 80 tokens: ≈ half the time of a JavaScript loop
 * over x's values read out).
 */
const wasmOutput =
  (backend: unknown): NewOutput =>
  (shape, x) => {
    const heap = backend as WasmBackendApi;
    const info = heap.makeOutput(shape, x.dtype);
    const to = heap.dataIdMap.get(info.dataId)!.memoryOffset;
    const from = heap.dataIdMap.get(x.dataId)!.memoryOffset;
    const size = tf.util.bytesPerElement(x.dtype as tf.DataType);
    const bytes = heap.wasm.HEAPU8;
    return {
      info,
      copy: (dst, src, n) => bytes.copyWithin(to + dst * size, from + src * size, from + (src + n) * size),
    };
  };

/** cpu: the backend keeps the array it is given; x's values are its own array (readSync does not copy). */
const cpuOutput =
  (backend: unknown): NewOutput =>
  (shape, x, n) => {
    const cpu = backend as CpuBackendApi;
    const xs = cpu.readSync(x.dataId);
    const values = new (xs.constructor as TypedArrayOf)(n);
    return {
      info: cpu.makeTensorInfo(shape, x.dtype, values),
      // a loop: most slices are short (an embedding row), where subarray + set costs more
      copy: (dst, src, k) => {
        for (let j = 0; j < k; j++) values[dst + j] = xs[src + j];
      },
    };
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
