/**
 * Direct access to a float32 tensor's values in the memory of the wasm and cpu backends (the wasm
 * backend's heap at the tensor's offset; the cpu backend's own Float32Array), for code that updates
 * tensors in place (the optimizer's one-pass update). tfjs does not publish these internals:
 * `hostMemory()` checks them and answers null when they are not there.
 */
import { tf, type Tensor } from "./tf.js";
import type { CpuBackendApi as CpuInternals, WasmBackendApi as WasmInternals } from "./internals.js";

/** The current backend's float32 tensor data, readable and writable where it lives. */
export interface HostMemory {
  /**
   * The values of a float32 tensor (a view: writes change the tensor), or null when its data is not
   * plain float32 memory. A wasm view is invalid after the next tfjs allocation: take it, use it, drop it.
   * Write through it only into data no copy is kept of (a recurrent state); a variable's next value is
   * written through `rewritable`, which `inPlaceWrites` counts.
   */
  values(t: { dataId: object; size: number }): Float32Array | null;
  /** How many tensors share the data of `t` (a tf.clone or reshape shares it). */
  refCount(t: { dataId: object }): number;
  /**
   * The values of float32 `t` to overwrite with its next value, and the tensor that then holds them:
   * `t` itself on cpu; on wasm a new tensor holding a copy, because XNNPACK keeps its packed copy of a
   * product's weights under the tensor's id (tfjs-backend-wasm 4.22), so data a product has read must not
   * change in place. It may allocate: take other views after it. Null when `t` is not plain float32 memory.
   */
  rewritable(t: Tensor): { values: Float32Array; tensor: Tensor } | null;
}

const fn = (o: unknown, k: string) => typeof (o as Record<string, unknown> | null)?.[k] === "function";

let rewrites = 0;
/**
 * How many times `rewritable` has been called in this process. A tensor's data changes only by an assign
 * (a new dataId) or in place through `rewritable`, so values copied from a tensor are still its values
 * while its dataId and this count are the same (one_step.ts keeps the weights it copied on that basis).
 */
export const inPlaceWrites = (): number => rewrites;

/** The wasm or cpu backend's memory, or null on any other backend or when the internals are not there. */
export function hostMemory(): HostMemory | null {
  const name = tf.getBackend();
  const backend = tf.backend() as unknown;
  if (name === "wasm") {
    const b = backend as Partial<WasmInternals>;
    if (!(b.wasm?.HEAPU8 instanceof Uint8Array) || !fn(b.dataIdMap, "get") || !fn(b, "refCount")) return null;
    const w = b as WasmInternals;
    const values = (t: { dataId: object; size: number }) => {
      const d = w.dataIdMap.get(t.dataId);
      if (!d || d.dtype !== "float32" || d.memoryOffset === null) return null;
      return new Float32Array(w.wasm.HEAPU8.buffer, d.memoryOffset, t.size);
    };
    return {
      values,
      refCount: (t) => w.refCount(t.dataId),
      rewritable(t) {
        if (!values(t)) return null;
        rewrites++;
        const tensor = tf.engine().makeTensorFromTensorInfo(w.makeOutput([...t.shape], "float32"));
        const fresh = values(tensor)!;
        fresh.set(values(t)!);
        return { values: fresh, tensor };
      },
    };
  }
  if (name === "cpu") {
    const b = backend as Partial<CpuInternals>;
    if (!fn(b.data, "get") || !fn(b, "refCount")) return null;
    const c = b as CpuInternals;
    const values = (t: { dataId: object; size: number }) => {
      const v = c.data.get(t.dataId)?.values;
      return v instanceof Float32Array && v.length === t.size ? v : null;
    };
    return {
      values,
      refCount: (t) => c.refCount(t.dataId),
      rewritable: (t) => {
        const v = values(t);
        if (!v) return null;
        rewrites++;
        return { values: v, tensor: t };
      },
    };
  }
  return null;
}
