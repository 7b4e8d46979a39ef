/**
 * Converting user-supplied weight values (nested arrays, typed arrays, tensors) to WeightValues, and the
 * sealed form in which a value holds numbers: typed arrays cannot be frozen, so a sealed weight keeps its
 * array private and `values` hands out a copy (writing into what you read changes nothing).
 */
import { tf } from "../backend/tf.js";
import { KerasError, describeValue } from "../errors.js";
import { isPlainRecord } from "../args.js";
import { hostData, toNestedArray } from "../backend/convert.js";
import type { NestedNumbers } from "./dual.js";
import type { WeightSpec, WeightValue } from "./types.js";
import { product } from "./shape.js";

/** A frozen array of numbers: `values` reads a copy; `shape` is null for a flat array given without one. */
export class SealedArray {
  readonly #data: Float32Array;
  declare readonly values: Float32Array;
  constructor(
    readonly shape: readonly number[] | null,
    data: Float32Array,
  ) {
    this.#data = data;
    // An own enumerable accessor, so that spreading or serializing the record still sees the numbers.
    Object.defineProperty(this, "values", { enumerable: true, get: () => this.#data.slice() });
    if (shape) Object.freeze(shape);
    if (new.target === SealedArray) Object.freeze(this);
  }

  /** The private array itself, for code that only reads it (uploads, conversions). Never write into it. */
  static dataOf(x: { readonly values: Float32Array }): Float32Array {
    return x instanceof SealedArray ? x.#data : x.values;
  }
}

/** A sealed array with a name (an optimizer slot: `{ name, shape, values }`). */
class SealedNamedArray extends SealedArray {
  constructor(
    readonly name: string,
    shape: readonly number[],
    data: Float32Array,
  ) {
    super([...shape], data);
    if (new.target === SealedNamedArray) Object.freeze(this);
  }
  declare readonly shape: readonly number[];
}

/** A sealed weight value (the form every model and layer value holds). `data` is taken, not copied. */
class SealedWeight extends SealedNamedArray implements WeightValue {
  constructor(
    name: string,
    shape: readonly number[],
    data: Float32Array,
    readonly trainable: boolean,
  ) {
    super(name, shape, data);
    Object.freeze(this);
  }
}

/** A sealed `{ name, shape, values }` record holding a copy of `values`. */
export function sealNamed(name: string, shape: readonly number[], values: ArrayLike<number>) {
  return new SealedNamedArray(name, shape, Float32Array.from(values));
}

export function sealWeight(
  name: string,
  shape: readonly number[],
  data: Float32Array,
  trainable: boolean,
): WeightValue {
  return new SealedWeight(name, shape, data, trainable);
}

/** `w` as a sealed weight: itself when sealed already (with `trainable` changed if asked), else a sealed copy. */
export function sealed(w: WeightValue, trainable = w.trainable): WeightValue {
  if (w instanceof SealedWeight && w.trainable === trainable) return w;
  const data = w instanceof SealedWeight ? SealedArray.dataOf(w) : Float32Array.from(w.values);
  return new SealedWeight(w.name, w.shape, data, trainable);
}

/** A weight's numbers without copying them, for code that only reads (never write into the result). */
export const weightData = (w: WeightValue): Float32Array => SealedArray.dataOf(w);

/** Raw `weights` given to a layer, copied so that later writes to the caller's arrays or tensors change nothing. */
export function sealRawWeights(raw: readonly unknown[]): readonly unknown[] {
  if (sealedLists.has(raw)) return raw;
  const list = Object.freeze(raw.map(sealRaw));
  sealedLists.add(list);
  return list;
}
const sealedLists = new WeakSet<object>();

function sealRaw(raw: unknown): unknown {
  if (raw instanceof SealedArray) return raw;
  if (raw instanceof tf.Tensor)
    return raw.isDisposed || raw.dtype === "string"
      ? raw
      : new SealedArray([...raw.shape], Float32Array.from(raw.dataSync() as ArrayLike<number>));
  if (ArrayBuffer.isView(raw))
    return raw instanceof DataView || raw instanceof BigInt64Array || raw instanceof BigUint64Array
      ? raw
      : new SealedArray(null, Float32Array.from(raw as unknown as ArrayLike<number>));
  if (Array.isArray(raw)) return Object.freeze(raw.map(sealRaw));
  if (raw && typeof raw === "object" && "values" in raw && "shape" in raw) {
    const r = raw as { shape: unknown; values: unknown };
    if (Array.isArray(r.shape) && r.shape.every((d) => typeof d === "number") && isNumberList(r.values))
      return new SealedArray([...r.shape], Float32Array.from(r.values));
  }
  return raw;
}

const isNumberList = (v: unknown): v is ArrayLike<number> =>
  (Array.isArray(v) && v.every((x) => typeof x === "number")) ||
  (ArrayBuffer.isView(v) &&
    !(v instanceof DataView) &&
    !(v instanceof BigInt64Array) &&
    !(v instanceof BigUint64Array));

/**
 * `raw` as float32 values of `shape`: a tensor, nested arrays, a flat typed array or a `{ shape, values }`
 * record (a weight value, sealed or not). Else the problem (text completing "... must ").
 */
export function toFloat32(raw: unknown, shape: readonly number[]): Float32Array | string {
  const n = product(shape);
  const want = `[${shape.join(", ")}]`;
  let got: { values: ArrayLike<number>; shape: readonly number[] } | string;
  if (raw instanceof SealedArray) {
    const data = SealedArray.dataOf(raw);
    if (raw.shape === null)
      return data.length === n
        ? Float32Array.from(data)
        : `have shape ${want}, got a flat array of ${data.length} values`;
    got = { values: data, shape: raw.shape };
  } else if (raw instanceof tf.Tensor) {
    got =
      raw.isDisposed || raw.dtype === "string"
        ? `be numeric, got a ${raw.isDisposed ? "disposed" : "string"} tensor`
        : { values: raw.dataSync() as Float32Array, shape: raw.shape };
  } else if (isPlainRecord(raw) && "values" in raw && "shape" in raw) {
    const values = hostData(raw.values);
    got = typeof values === "string" ? values : { values: values.values, shape: raw.shape as number[] };
  } else got = hostData(raw);
  if (typeof got === "string") return `be ${got}`;
  // A flat typed array holds the weight in row-major order.
  const flat = ArrayBuffer.isView(raw) && got.values.length === n;
  const same = got.shape.length === shape.length && got.shape.every((d, i) => d === shape[i]);
  if (!flat && !same) return `have shape ${want}, got [${got.shape.join(", ")}]`;
  // A `{ shape, values }` record whose values do not fill its shape.
  if (got.values.length !== n) return `have shape ${want} (${n} values), got ${got.values.length} values`;
  return Float32Array.from(got.values);
}

/** TRUE for one weight's values in a form `toFloat32` reads (whatever their shape). */
export function isWeightData(raw: unknown): boolean {
  if (raw instanceof SealedArray) return true;
  if (raw instanceof tf.Tensor) return !raw.isDisposed && raw.dtype !== "string";
  if (isPlainRecord(raw) && "values" in raw && "shape" in raw) return typeof hostData(raw.values) !== "string";
  return typeof hostData(raw) !== "string";
}

/**
 * Checks a list of raw weights against specs (count and shapes) and converts them. `arg` names the
 * argument that gave them (null for weights read from a file).
 */
export function weightsFromRaw(
  fn: string,
  owner: string,
  specs: readonly WeightSpec[],
  raw: readonly unknown[],
  trainable = true,
  arg: string | null = "`weights`",
): WeightValue[] {
  const prefix = arg ? `${arg}: ` : "";
  if (!Array.isArray(raw))
    throw new KerasError(fn, `${prefix}${owner} needs a list of arrays, got ${describeValue(raw)}`);
  if (raw.length !== specs.length) {
    throw new KerasError(
      fn,
      `${prefix}${owner} has ${specs.length} weight${specs.length === 1 ? "" : "s"} (${specs.map((s) => `${s.name} [${s.shape.join(", ")}]`).join(", ") || "none"}), got ${raw.length}`,
    );
  }
  return specs.map((spec, i) => {
    const values = toFloat32(raw[i], spec.shape);
    if (typeof values === "string")
      throw new KerasError(fn, `${prefix}weight ${i + 1} of ${owner} (${spec.name}) must ${values}`, "shape");
    return sealWeight(spec.name, spec.shape, values, spec.trainable && trainable);
  });
}

/** A weight value as a nested JS array (R's get_weights returns arrays). */
export function toNested(w: WeightValue): NestedNumbers {
  return toNestedArray(weightData(w), w.shape);
}
