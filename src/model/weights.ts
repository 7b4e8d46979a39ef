/** Converting user-supplied weight values (nested arrays, typed arrays, tensors) to WeightValues. */
import { tf } from "../backend/tf.js";
import { KerasError, describeValue } from "../errors.js";
import type { WeightSpec, WeightValue } from "./types.js";
import { product } from "./shape.js";

function nestedShape(a: unknown): number[] {
  const shape: number[] = [];
  let cur = a;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

/** Flattens `raw` to float32 and checks it against `shape`. Returns undefined when impossible. */
export function toFloat32(raw: unknown, shape: readonly number[]): Float32Array | undefined {
  const n = product(shape);
  if (raw instanceof tf.Tensor) {
    if (
      raw.size !== n ||
      raw.shape.length !== shape.length ||
      !raw.shape.every((d: number, i: number) => d === shape[i])
    )
      return undefined;
    return Float32Array.from(raw.dataSync() as Float32Array);
  }
  if (ArrayBuffer.isView(raw)) {
    const v = raw as unknown as ArrayLike<number>;
    return v.length === n ? Float32Array.from(v) : undefined;
  }
  if (typeof raw === "number") return shape.length === 0 ? Float32Array.of(raw) : undefined;
  if (raw && typeof raw === "object" && !Array.isArray(raw) && "values" in raw && "shape" in raw) {
    const r = raw as { shape: number[]; values: ArrayLike<number> };
    if (r.shape.length !== shape.length || !r.shape.every((d, i) => d === shape[i]) || r.values.length !== n)
      return undefined;
    return Float32Array.from(r.values);
  }
  if (!Array.isArray(raw)) return undefined;
  const s = nestedShape(raw);
  if (s.length !== shape.length || !s.every((d, i) => d === shape[i])) return undefined;
  const flat = (raw as unknown[]).flat(Infinity) as unknown[];
  if (flat.length !== n || !flat.every((x) => typeof x === "number")) return undefined;
  return Float32Array.from(flat as number[]);
}

export function describeShapeOf(raw: unknown): string {
  if (raw instanceof tf.Tensor) return `[${raw.shape.join(", ")}]`;
  if (Array.isArray(raw)) return `[${nestedShape(raw).join(", ")}]`;
  if (ArrayBuffer.isView(raw)) return `a flat array of ${(raw as unknown as ArrayLike<number>).length} values`;
  if (raw && typeof raw === "object" && Array.isArray((raw as { shape?: unknown }).shape))
    return `[${(raw as { shape: number[] }).shape.join(", ")}]`;
  return describeValue(raw);
}

/** Checks a list of raw weights against specs (count and shapes) and converts them. */
export function weightsFromRaw(
  fn: string,
  owner: string,
  specs: readonly WeightSpec[],
  raw: readonly unknown[],
  trainable = true,
): WeightValue[] {
  if (!Array.isArray(raw))
    throw new KerasError(fn, `weights for ${owner} must be a list of arrays, got ${describeValue(raw)}`);
  if (raw.length !== specs.length) {
    throw new KerasError(
      fn,
      `${owner} has ${specs.length} weight${specs.length === 1 ? "" : "s"} (${specs.map((s) => `${s.name} [${s.shape.join(", ")}]`).join(", ") || "none"}), got ${raw.length}`,
    );
  }
  return specs.map((spec, i) => {
    const values = toFloat32(raw[i], spec.shape);
    if (!values) {
      throw new KerasError(
        fn,
        `weight ${i + 1} of ${owner} (${spec.name}) must have shape [${spec.shape.join(", ")}], got ${describeShapeOf(raw[i])}`,
        "shape",
      );
    }
    return Object.freeze({
      name: spec.name,
      shape: Object.freeze([...spec.shape]),
      values,
      trainable: spec.trainable && trainable,
    });
  });
}

/** A weight value as a nested JS array (R's get_weights returns arrays). */
export function toNested(w: WeightValue): any {
  const build = (offset: number, dim: number): any => {
    if (dim === w.shape.length) return w.values[offset];
    const stride = product(w.shape.slice(dim + 1));
    return Array.from({ length: w.shape[dim] }, (_, i) => build(offset + i * stride, dim + 1));
  };
  return build(0, 0);
}
