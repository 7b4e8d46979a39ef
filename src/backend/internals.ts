/**
 * The members of tfjs's wasm and cpu backends that this package uses and tfjs does not publish (4.22):
 * where a tensor's data lies (the wasm heap at an offset, the cpu backend's arrays), making output tensors,
 * reference counts. The replacement kernels (wasm_kernels.ts, gather.ts), the optimizer's one-pass update
 * (host_memory.ts) and the fused recurrent kernels' arena (layers/recurrent/fused/mem.ts) use these;
 * `missingWasmInternals()` / `missingCpuInternals()` (mem.ts) and `hostMemory()` check them at run time.
 */
import type { tf } from "./tf.js";

/** A kernel's view of a tensor (tfjs's own TensorInfo, with any dtype name). */
export type TensorInfo = { dataId: object; shape: number[]; dtype: string };

/** The wasm backend (tfjs-backend-wasm). */
export interface WasmBackendApi {
  /** asm.memory: the heap's WebAssembly.Memory (the build without threads exports it). */
  wasm: { HEAPU8: Uint8Array; asm?: { memory?: unknown } };
  /** memoryOffset: the data's byte offset in HEAPU8 (null for strings). */
  dataIdMap: { get(dataId: object): { memoryOffset: number; dtype: string } | undefined };
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: string, memoryOffset?: number, values?: ArrayLike<number>): tf.TensorInfo;
  refCount(dataId: object): number;
  incRef(dataId: object): void;
}

/** The cpu backend (tfjs-backend-cpu). */
export interface CpuBackendApi {
  data: { get(dataId: object): { values?: unknown; dtype: string } | undefined };
  readSync(dataId: object): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: string, values: ArrayLike<number>): tf.TensorInfo;
  refCount(dataId: object): number;
  incRef(dataId: object): void;
}

/** tfjs's engine state around a gradient (tfjs-core engine.ts: `gradients`, `startTape`). */
interface EngineTapeState {
  gradientDepth: number;
  /** The operations recorded for the gradient, with the tensors each kept for its backward. */
  activeTape: { saved: tf.Tensor[] }[] | null;
}

/**
 * After a gradient whose forward or backward threw (a user's loss or metric, bad data): tfjs disposes
 * the tensors its recorded operations saved for the backward only when the gradient completes, so they
 * would stay allocated for good. Releases them, as a completed gradient does (not inside an outer gradient).
 */
export function releaseAbandonedTape(engine: object): void {
  const state = (engine as { state?: Partial<EngineTapeState> }).state;
  if (!state || state.gradientDepth !== 0 || !Array.isArray(state.activeTape)) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null;
}
