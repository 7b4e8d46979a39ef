/**
 * The arrays of the data utilities. They take nested arrays of numbers, typed arrays, `{ data, shape }`
 * records and tf.Tensors; they return `{ data, shape }` records with a typed array of the requested
 * dtype (row-major) — the form `fit`, `evaluate` and `predict` accept, cheap for large data such as
 * `dataset_mnist()`'s 47 million pixels. Ragged lists of sequences stay `number[][]`.
 */
import { tf } from "../backend/tf.js";
import { KerasError, describeValue } from "../errors.js";
import { MAX_TENSOR_SIZE, OneOf } from "../args.js";
import { isDataRecord, nestedNumbers } from "../backend/convert.js";

export type TypedArray =
  Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** An array value: `data` holds the values in row-major order, `shape` its dimensions (numpy's / R's `dim`). */
export interface ArrayValue<T extends TypedArray = TypedArray> {
  readonly data: T;
  readonly shape: readonly number[];
}

/** Any array the data utilities accept. */
export type ArrayInput = ArrayValue | TypedArray | tf.Tensor | number | readonly unknown[];

export const ARRAY_TYPES = {
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
} as const;
export type ArrayDType = keyof typeof ARRAY_TYPES;
export const ArrayDTypeArg = OneOf(...(Object.keys(ARRAY_TYPES) as ArrayDType[]));

/** Values read from user data: flat row-major values and the shape. */
export interface HostArray {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * A new typed array for `n` values of a result: more than a tensor holds is refused (the result could not
 * be trained on, and its memory might not exist); `cause` names what made it that big.
 */
export function allocate<T extends TypedArray>(fn: string, Type: new (n: number) => T, n: number, cause: string): T {
  if (n > MAX_TENSOR_SIZE)
    throw new KerasError(
      fn,
      `the result would hold ${n} values, more than a tensor can (${MAX_TENSOR_SIZE}): ${cause}`,
      "shape",
    );
  return new Type(n);
}

/** A new `{ data, shape }` record (frozen; the typed array is the caller's own copy). */
export function arrayValue<T extends TypedArray>(data: T, shape: readonly number[]): ArrayValue<T> {
  return Object.freeze({ data, shape: Object.freeze([...shape]) });
}

/** Reads one rectangular array of numbers. A tf.Tensor is read, never disposed. */
export function readArray(fn: string, what: string, x: unknown): HostArray {
  if (x instanceof tf.Tensor) {
    if (x.isDisposed) throw new KerasError(fn, `${what} is a disposed tensor`);
    if (x.dtype === "string" || x.dtype === "complex64")
      throw new KerasError(fn, `${what} must hold numbers, got a ${x.dtype} tensor`);
    return { data: x.dataSync() as ArrayLike<number>, shape: x.shape };
  }
  if (isDataRecord(x)) {
    const { data, shape } = x as { data: unknown; shape: unknown };
    if (!(ArrayBuffer.isView(data) && !(data instanceof DataView)) && !Array.isArray(data))
      throw new KerasError(
        fn,
        `${what}: \`data\` must be a typed array or an array of numbers, got ${describeValue(data)}`,
      );
    if (data instanceof BigInt64Array || data instanceof BigUint64Array)
      throw new KerasError(fn, `${what}: \`data\` must hold numbers, got a ${data.constructor.name}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new KerasError(
        fn,
        `${what}: \`shape\` must be a vector of non-negative integers, got ${describeValue(shape)}`,
      );
    const values = data as ArrayLike<unknown>;
    if (values.length !== size(shape))
      throw new KerasError(
        fn,
        `${what}: \`data\` has ${values.length} values but \`shape\` [${shape.join(", ")}] needs ${size(shape)}`,
        "shape",
      );
    if (Array.isArray(values) && !values.every((v) => typeof v === "number"))
      throw new KerasError(fn, `${what}: \`data\` must hold numbers`);
    return { data: values as ArrayLike<number>, shape };
  }
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) {
    if (x instanceof BigInt64Array || x instanceof BigUint64Array)
      throw new KerasError(fn, `${what} must hold numbers, got a ${x.constructor.name}`);
    return { data: x as unknown as ArrayLike<number>, shape: [(x as unknown as ArrayLike<number>).length] };
  }
  if (typeof x === "number") return { data: [x], shape: [] };
  if (Array.isArray(x) && isNumberList(x)) return { data: x, shape: [x.length] };
  if (Array.isArray(x)) {
    // The conversion of the training verbs, keeping float64 (the data utilities compute on the host).
    const r = nestedNumbers(x, Float64Array);
    if (typeof r === "string")
      throw new KerasError(fn, `${what} must be a rectangular nested array of numbers: ${r}`, "shape");
    return { data: r.values, shape: r.shape };
  }
  throw new KerasError(
    fn,
    `${what} must be an array: a nested array of numbers, a typed array, { data, shape } or a tf.Tensor; got ${describeValue(x)}`,
  );
}

/** A vector of numbers without holes (a hole would read as undefined). */
function isNumberList(x: readonly unknown[]): x is number[] {
  for (let i = 0; i < x.length; i++) if (typeof x[i] !== "number") return false;
  return true;
}

/** Float64 when the values came as float64 (JS numbers or a Float64Array), else float32 (tfjs computes in float32). */
export const floatTypeFor = (data: ArrayLike<number>): typeof Float32Array | typeof Float64Array =>
  Array.isArray(data) || data instanceof Float64Array ? Float64Array : Float32Array;

/**
 * A list of sequences (argument `name`): each a vector of numbers or of equally shaped samples; a
 * rectangular array's rows also count.
 */
export function readSequences(fn: string, name: string, x: unknown): HostArray[] {
  const what = `\`${name}\``;
  if (Array.isArray(x)) {
    // Array.from: a hole in a sparse list is an undefined entry, refused like any non-sequence.
    return Array.from(x, (s: unknown, i) => {
      if (!Array.isArray(s) && !(ArrayBuffer.isView(s) && !(s instanceof DataView)))
        throw new KerasError(
          fn,
          `${what} must be a list of sequences (arrays); element ${i + 1} is ${describeValue(s)}`,
        );
      return readArray(fn, `\`${name}[[${i + 1}]]\``, s);
    });
  }
  const all = readArray(fn, what, x);
  if (all.shape.length < 2)
    throw new KerasError(
      fn,
      `${what} must be a list of sequences or a matrix of them, got shape [${all.shape.join(", ")}]`,
    );
  const per = size(all.shape.slice(1));
  const rowShape = all.shape.slice(1);
  return Array.from({ length: all.shape[0] }, (_, i) => ({
    data: Array.prototype.slice.call(all.data, i * per, (i + 1) * per) as number[],
    shape: rowShape,
  }));
}

/** `[2, 3]` → "(2, 3)", numpy's way of writing a shape. */
export const formatDims = (shape: readonly number[]): string => `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;
