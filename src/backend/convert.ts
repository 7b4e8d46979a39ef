/**
 * User data → tensors and tensors → nested JS arrays, for the training verbs and the computed form of
 * loss_* / metric_*. Accepted: tf.Tensor (never disposed or kept here), nested arrays of numbers,
 * `{ data, shape }` records, typed arrays (flat; reshaped by the caller when it knows the shape).
 */
import { tf, type Tensor } from "./tf.js";
import { KerasError, describeValue } from "../errors.js";
import { MAX_TENSOR_SIZE } from "../args.js";

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

/** Deepest nesting taken as data: beyond it (or on a cycle) an array is not data. */
const MAX_RANK = 32;

/** Typed arrays of numbers (BigInt arrays are not data for a float tensor). */
const isNumericView = (x: unknown): x is ArrayLike<number> =>
  ArrayBuffer.isView(x) && !(x instanceof DataView) && !(x instanceof BigInt64Array) && !(x instanceof BigUint64Array);

/** A level of nesting: an array, or a typed array of numbers (a row). */
const isNestedList = (x: unknown): x is ArrayLike<unknown> => Array.isArray(x) || isNumericView(x);

/**
 * Nested arrays of numbers (or booleans; rows may be typed arrays) as values of `Type` and their shape,
 * or a problem: not rectangular, a non-number, a hole, a cycle, more values than a tensor holds. The
 * shape is read from the first elements; every element is then checked against it.
 */
export function nestedNumbers<T extends Float32Array | Float64Array>(
  x: unknown,
  Type: { new (n: number): T },
): { values: T; shape: number[] } | string {
  const shape: number[] = [];
  const chain = new Set<unknown>();
  for (let cur = x; isNestedList(cur); cur = cur[0]) {
    if (chain.has(cur) || shape.length >= MAX_RANK)
      return `it nests deeper than ${MAX_RANK} levels (or contains itself)`;
    chain.add(cur);
    shape.push(cur.length);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_TENSOR_SIZE) return `it holds more values than a tensor can (${MAX_TENSOR_SIZE})`;
  const values = new Type(n);
  let k = 0;
  // The index of the element being read at each depth: only turned into text for a problem.
  const at: number[] = [];
  const where = (depth: number) =>
    at
      .slice(0, depth)
      .map((i) => `[${i + 1}]`)
      .join("");
  const walk = (a: unknown, depth: number): string | null => {
    if (depth === shape.length) {
      if (typeof a === "number") values[k++] = a;
      else if (typeof a === "boolean") values[k++] = a ? 1 : 0;
      else
        return isNestedList(a)
          ? `it is not rectangular: element ${where(depth)} is an array where a number belongs (shape [${shape.join(", ")}] from its first elements)`
          : `element ${where(depth)} is ${describeValue(a)}, not a number`;
      return null;
    }
    if (!isNestedList(a) || a.length !== shape[depth])
      return `it is not rectangular: element ${where(depth)} is ${isNestedList(a) ? `an array of ${a.length}` : describeValue(a)} where the first elements give an array of ${shape[depth]} (shape [${shape.join(", ")}])`;
    if (isNumericView(a) && depth === shape.length - 1) {
      values.set(a, k);
      k += a.length;
      return null;
    }
    for (let i = 0; i < a.length; i++) {
      at[depth] = i;
      if (!(i in a)) return `element ${where(depth + 1)} is missing (a sparse array)`;
      const problem = walk(a[i], depth + 1);
      if (problem) return problem;
    }
    return null;
  };
  const problem = walk(x, 0);
  return problem ?? { values, shape };
}

/**
 * Numbers on the host as float32 values and a shape: nested arrays (their shape), a number (a scalar)
 * or a numeric typed array (flat, one axis); else the problem (text completing "`x` must be ...: ").
 */
export function hostData(x: unknown): { values: Float32Array; shape: number[] } | string {
  if (ArrayBuffer.isView(x)) {
    if (!isNumericView(x)) return `a typed array of numbers, got a ${x.constructor.name}`;
    return { values: Float32Array.from(x), shape: [x.length] };
  }
  if (Array.isArray(x) || typeof x === "number" || typeof x === "boolean") {
    const r = nestedNumbers(x, Float32Array);
    return typeof r === "string" ? `a rectangular nested array of numbers: ${r}` : r;
  }
  return `a tensor, a nested array of numbers or a typed array, got ${describeValue(x)}`;
}

/**
 * One array of user data as a tensor (float32 unless a numeric tf.Tensor is given, which is used as
 * is). `featureShape` (shape without the batch axis, all known) lets a flat typed array stand for
 * several samples. Throws a KerasError of `fn` naming `what` for anything that is not numeric data.
 */
export function toTensorData(
  fn: string,
  x: unknown,
  what: string,
  featureShape?: readonly (number | null)[],
): Converted {
  if (x instanceof tf.Tensor) {
    if (x.isDisposed) throw new KerasError(fn, `${what} is a disposed tensor`);
    if (x.dtype === "string" || x.dtype === "complex64")
      throw new KerasError(fn, `${what} must be a numeric tensor, got a ${x.dtype} tensor`);
    return { tensor: x, owned: false };
  }
  if (isDataRecord(x)) {
    const { data, shape } = x;
    if (!isNumericView(data) && !(Array.isArray(data) && (data as unknown[]).every((v) => typeof v === "number")))
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
    if (!isNumericView(x))
      throw new KerasError(fn, `${what} must hold numbers, got a ${x.constructor.name} (convert it with Number())`);
    const data = Float32Array.from(x);
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
  if (Array.isArray(x) || typeof x === "number" || typeof x === "boolean") {
    const r = hostData(x);
    if (typeof r === "string") throw new KerasError(fn, `${what} must be ${r}`, "shape");
    return { tensor: tf.tensor(r.values, r.shape, "float32"), owned: true };
  }
  throw new KerasError(
    fn,
    `${what} must be a tf.Tensor, a nested array of numbers, a typed array or { data, shape }, got ${describeValue(x)}`,
  );
}

/**
 * Where `t`, read as integer indices (truncated, as tf.cast to int32 does), holds one outside 0..n-1
 * — embedding tokens, sparse class labels — or null. `limit` names what sets n.
 */
export function indexProblem(t: Tensor, n: number, limit: string, ignored: number | null = null): string | null {
  const values = t.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = Math.trunc(values[i]);
    if (!(v >= 0 && v < n) && v !== ignored) {
      const at = t.shape.map((_, d) => Math.floor(i / t.shape.slice(d + 1).reduce((a, b) => a * b, 1)) % t.shape[d]);
      return `holds ${values[i]} at [${at.map((k) => k + 1).join(", ")}], not an index in 0..${n - 1} (${limit} = ${n})`;
    }
  }
  return null;
}

/** Losses and metrics whose y_true holds class indices (Keras's Sparse* classes). */
export const isClassIndexed = (className: string | undefined): boolean => !!className?.startsWith("Sparse");

export function release(items: readonly (Converted | undefined)[]): void {
  for (const c of items) if (c && c.owned) c.tensor.dispose();
}

/** A tensor's values as nested JS arrays (a number for a scalar). */
export function toNestedArray(values: ArrayLike<number>, shape: readonly number[]): any {
  if (shape.length === 0) return values[0];
  let next = 0; // values are read in order
  const build = (dim: number): any[] => {
    const out: any[] = [];
    if (dim === shape.length - 1) for (let i = 0; i < shape[dim]; i++) out.push(values[next++]);
    else for (let i = 0; i < shape[dim]; i++) out.push(build(dim + 1));
    return out;
  };
  return build(0);
}
