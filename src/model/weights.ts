/** Converting user-supplied weight values (nested arrays, typed arrays, tensors) to WeightValues. */
import { tf } from "../backend/tf.js";
import { KerasError, describeValue } from "../errors.js";
import { isPlainRecord } from "../args.js";
import { hostData } from "../engine/training/convert.js";
import type { WeightSpec, WeightValue } from "./types.js";
import { product } from "./shape.js";

/**
 * `raw` as float32 values of `shape`: a tensor, nested arrays, a flat typed array or a `{ shape, values }`
 * record (a weight value). Else the problem (text completing "... must be ").
 */
export function toFloat32(raw: unknown, shape: readonly number[]): Float32Array | string {
  const n = product(shape);
  const want = `[${shape.join(", ")}]`;
  let got: { values: ArrayLike<number>; shape: readonly number[] } | string;
  if (raw instanceof tf.Tensor) {
    got =
      raw.isDisposed || raw.dtype === "string"
        ? `numeric, got a ${raw.isDisposed ? "disposed" : "string"} tensor`
        : { values: raw.dataSync() as Float32Array, shape: raw.shape };
  } else if (isPlainRecord(raw) && "values" in raw && "shape" in raw) {
    const values = hostData(raw.values);
    got = typeof values === "string" ? values : { values: values.values, shape: raw.shape as number[] };
  } else got = hostData(raw);
  if (typeof got === "string") return got;
  // A flat typed array holds the weight in row-major order.
  const flat = ArrayBuffer.isView(raw) && got.values.length === n;
  const same = got.shape.length === shape.length && got.shape.every((d, i) => d === shape[i]);
  if (!flat && !same) return `of shape ${want}, got shape [${got.shape.join(", ")}]`;
  return Float32Array.from(got.values);
}

/** TRUE for one weight's values in a form `toFloat32` reads (whatever their shape). */
export function isWeightData(raw: unknown): boolean {
  if (raw instanceof tf.Tensor) return !raw.isDisposed && raw.dtype !== "string";
  if (isPlainRecord(raw) && "values" in raw && "shape" in raw) return typeof hostData(raw.values) !== "string";
  return typeof hostData(raw) !== "string";
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
    throw new KerasError(fn, `\`weights\` for ${owner} must be a list of arrays, got ${describeValue(raw)}`);
  if (raw.length !== specs.length) {
    throw new KerasError(
      fn,
      `\`weights\`: ${owner} has ${specs.length} weight${specs.length === 1 ? "" : "s"} (${specs.map((s) => `${s.name} [${s.shape.join(", ")}]`).join(", ") || "none"}), got ${raw.length}`,
    );
  }
  return specs.map((spec, i) => {
    const values = toFloat32(raw[i], spec.shape);
    if (typeof values === "string")
      throw new KerasError(
        fn,
        `\`weights\`: weight ${i + 1} of ${owner} (${spec.name}, shape [${spec.shape.join(", ")}]) must be ${values}`,
        "shape",
      );
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
