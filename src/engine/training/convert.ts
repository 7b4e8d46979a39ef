/**
 * User data → tensors and tensors → nested JS arrays, for the training verbs and the computed form of
 * loss_* / metric_*. Accepted: tf.Tensor (never disposed or kept here), nested arrays of numbers,
 * `{ data, shape }` records, typed arrays (flat; reshaped by the caller when it knows the shape).
 */
import { tf, type Tensor } from "../../backend/tf.js";
import { KerasError, describeValue } from "../../errors.js";

/** A tensor made from user data; dispose it with `release` (tensors the user gave are left alone). */
export interface Converted {
  readonly tensor: Tensor;
  readonly owned: boolean;
}

export function isDataRecord(x: unknown): x is { data: ArrayLike<number>; shape: readonly number[] } {
  return (
    x !== null &&
    typeof x === "object" &&
    !Array.isArray(x) &&
    "data" in x &&
    "shape" in x &&
    Object.keys(x).length === 2
  );
}

/** True for anything `toTensorData` accepts as one array of data. */
export function isArrayData(x: unknown): boolean {
  return (
    x instanceof tf.Tensor || Array.isArray(x) || ArrayBuffer.isView(x) || isDataRecord(x) || typeof x === "number"
  );
}

function nestedShape(a: unknown): number[] {
  const shape: number[] = [];
  for (let cur = a; Array.isArray(cur); cur = cur[0]) shape.push(cur.length);
  return shape;
}

/**
 * One array of user data as a float32 tensor. `featureShape` (shape without the batch axis, all known)
 * lets a flat typed array stand for several samples.
 */
export function toTensorData(
  fn: string,
  x: unknown,
  what: string,
  featureShape?: readonly (number | null)[],
): Converted {
  if (x instanceof tf.Tensor) {
    if (x.isDisposed) throw new KerasError(fn, `${what} is a disposed tensor`);
    return { tensor: x, owned: false };
  }
  if (isDataRecord(x)) {
    const { data, shape } = x;
    if (!ArrayBuffer.isView(data) && !Array.isArray(data))
      throw new KerasError(
        fn,
        `${what}: \`data\` must be a typed array or an array of numbers, got ${describeValue(data)}`,
      );
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new KerasError(
        fn,
        `${what}: \`shape\` must be a vector of non-negative integers, got ${describeValue(shape)}`,
      );
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n)
      throw new KerasError(
        fn,
        `${what}: \`data\` has ${data.length} values but \`shape\` [${shape.join(", ")}] needs ${n}`,
        "shape",
      );
    return { tensor: tf.tensor(Float32Array.from(data), [...shape], "float32"), owned: true };
  }
  if (ArrayBuffer.isView(x)) {
    const data = Float32Array.from(x as unknown as ArrayLike<number>);
    const known = featureShape && featureShape.every((d) => d !== null) ? (featureShape as number[]) : undefined;
    if (!known) return { tensor: tf.tensor(data, [data.length], "float32"), owned: true };
    const per = known.reduce((a, b) => a * b, 1);
    if (data.length % per !== 0)
      throw new KerasError(
        fn,
        `${what} is a flat array of ${data.length} values, not a whole number of samples of shape [${known.join(", ")}]`,
        "shape",
      );
    return { tensor: tf.tensor(data, [data.length / per, ...known], "float32"), owned: true };
  }
  if (Array.isArray(x) || typeof x === "number") {
    const shape = nestedShape(x);
    const flat = Array.isArray(x) ? (x as unknown[]).flat(Infinity) : [x];
    const n = shape.reduce((a, b) => a * b, 1);
    if (flat.length !== n || !flat.every((v) => typeof v === "number" || typeof v === "boolean")) {
      throw new KerasError(
        fn,
        `${what} must be a rectangular nested array of numbers (shape [${shape.join(", ")}] from its first elements)`,
        "shape",
      );
    }
    return { tensor: tf.tensor(Float32Array.from(flat as number[]), shape, "float32"), owned: true };
  }
  throw new KerasError(
    fn,
    `${what} must be a tf.Tensor, a nested array of numbers, a typed array or { data, shape }, got ${describeValue(x)}`,
  );
}

export function release(items: readonly (Converted | undefined)[]): void {
  for (const c of items) if (c && c.owned) c.tensor.dispose();
}

/** A tensor's values as nested JS arrays (a number for a scalar). */
export function toNestedArray(values: ArrayLike<number>, shape: readonly number[]): any {
  if (shape.length === 0) return values[0];
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const build = (offset: number, dim: number): any =>
    dim === shape.length - 1
      ? Array.from({ length: shape[dim] }, (_, i) => values[offset + i])
      : Array.from({ length: shape[dim] }, (_, i) => build(offset + i * strides[dim], dim + 1));
  return build(0, 0);
}
