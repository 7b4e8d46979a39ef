/** `pad_sequences`, `to_categorical` and `normalize`: R keras's names, Keras's semantics. */
import * as t from "io-ts";
import { KerasError } from "../errors.js";
import {
  Int,
  NonNegativeInt,
  Nullable,
  OneOf,
  PositiveInt,
  decodeArgs,
  described,
  refuseArgumentsPast,
} from "../args.js";
import {
  ARRAY_TYPES,
  allocate,
  ArrayDTypeArg,
  arrayValue,
  floatTypeFor,
  formatDims,
  readArray,
  readSequences,
  size,
  type ArrayDType,
  type ArrayInput,
  type ArrayValue,
  type TypedArray,
} from "./arrays.js";

const PAD_PROPS = {
  maxlen: Nullable(NonNegativeInt),
  dtype: ArrayDTypeArg,
  padding: OneOf("pre", "post"),
  truncating: OneOf("pre", "post"),
  value: described(t.number, "a number"),
};

export interface PadSequencesArgs {
  maxlen?: number | null;
  dtype?: ArrayDType;
  padding?: "pre" | "post";
  truncating?: "pre" | "post";
  value?: number;
}

/**
 * `pad_sequences(sequences, { maxlen = NULL, dtype = "int32", padding = "pre", truncating = "pre", value = 0 })`:
 * a list of sequences → a `(samples, maxlen, ...)` array. `maxlen` defaults to the longest sequence; shorter
 * ones are padded with `value` and longer ones cut, at the start ("pre") or the end ("post"). Sequences may
 * hold equally shaped samples (feature vectors) instead of numbers. Values are cast to `dtype` as numpy does
 * (an integer dtype truncates).
 *
 * @example
 * ```ts
 * pad_sequences([[1], [2, 3], [4, 5, 6]], { maxlen: 2 });
 * // { data: Int32Array [0, 1, 2, 3, 5, 6], shape: [3, 2] }
 * ```
 */
export function pad_sequences(sequences: readonly ArrayInput[] | ArrayInput, args: PadSequencesArgs = {}): ArrayValue {
  const fn = "pad_sequences";
  refuseArgumentsPast(fn, ["sequences", "args"], arguments);
  const a = decodeArgs(fn, PAD_PROPS, args, {
    maxlen: null as number | null,
    dtype: "int32" as ArrayDType,
    padding: "pre" as const,
    truncating: "pre" as const,
    value: 0,
  });
  const Type = ARRAY_TYPES[a.dtype as ArrayDType];
  if (!Number.isFinite(a.value) && !(Type === Float32Array || Type === Float64Array))
    throw new KerasError(fn, `\`value\` ${a.value} cannot be stored in dtype "${a.dtype}"; use a float dtype`);
  const seqs = readSequences(fn, "sequences", sequences);
  const first = seqs.find((s) => s.shape[0] > 0);
  const sampleShape = first ? first.shape.slice(1) : [];
  const per = size(sampleShape);
  const maxlen: number = a.maxlen ?? seqs.reduce((m, s) => Math.max(m, s.shape[0]), 0);
  const out = allocate<TypedArray>(fn, Type, seqs.length * maxlen * per, "give a smaller `maxlen`").fill(a.value);
  seqs.forEach((s, i) => {
    const len = s.shape[0];
    if (len === 0) return;
    if (s.shape.length - 1 !== sampleShape.length || s.shape.slice(1).some((d, k) => d !== sampleShape[k]))
      throw new KerasError(
        fn,
        `the samples of \`sequences[[${i + 1}]]\` have shape ${formatDims(s.shape.slice(1))}, those of the first non-empty sequence ${formatDims(sampleShape)}`,
        "shape",
      );
    const keep = Math.min(len, maxlen);
    const from = a.truncating === "pre" ? len - keep : 0;
    const to = a.padding === "pre" ? maxlen - keep : 0;
    const row = i * maxlen * per;
    for (let k = 0; k < keep * per; k++) out[row + to * per + k] = s.data[from * per + k];
  });
  return arrayValue(out, [seqs.length, maxlen, ...sampleShape]);
}

export interface ToCategoricalArgs {
  num_classes?: number | null;
  dtype?: ArrayDType;
}

/**
 * `to_categorical(y, { num_classes = NULL, dtype = "float32" })`: class indices (integers from 0) → one-hot
 * rows, the class axis last. `num_classes` defaults to `max(y) + 1`; a trailing axis of size 1 is dropped
 * first, as Keras does.
 *
 * @example
 * ```ts
 * to_categorical([0, 2, 1], { num_classes: 3 });
 * // { data: Float32Array [1, 0, 0, 0, 0, 1, 0, 1, 0], shape: [3, 3] }
 * ```
 */
export function to_categorical(y: ArrayInput, args: ToCategoricalArgs = {}): ArrayValue {
  const fn = "to_categorical";
  refuseArgumentsPast(fn, ["y", "args"], arguments);
  const a = decodeArgs(fn, { num_classes: Nullable(PositiveInt), dtype: ArrayDTypeArg }, args, {
    num_classes: null as number | null,
    dtype: "float32" as ArrayDType,
  });
  const { data, shape } = readArray(fn, "`y`", y);
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const v = data[i];
    if (!Number.isInteger(v) || v < 0)
      throw new KerasError(fn, `\`y\` must hold class indices (integers from 0), got ${v} at position ${i}`);
  }
  let max = -1;
  for (let i = 0; i < n; i++) max = Math.max(max, data[i]);
  if (a.num_classes === null && n === 0) throw new KerasError(fn, "`y` is empty: give `num_classes`");
  const classes: number = a.num_classes ?? max + 1;
  if (max >= classes)
    throw new KerasError(
      fn,
      `\`y\` holds class ${max}, outside 0..${classes - 1} for \`num_classes\` = ${classes} (class indices start at 0)`,
    );
  const labelShape = shape.length > 1 && shape[shape.length - 1] === 1 ? shape.slice(0, -1) : shape;
  const out = allocate<TypedArray>(fn, ARRAY_TYPES[a.dtype as ArrayDType], n * classes, "give a smaller `num_classes`");
  for (let i = 0; i < n; i++) out[i * classes + data[i]] = 1;
  return arrayValue(out, [...labelShape, classes]);
}

const Order = described(
  t.refinement(t.number, (n) => n > 0),
  "a positive number (Inf for the maximum norm)",
);

export interface NormalizeArgs {
  axis?: number;
  order?: number;
}

/**
 * `normalize(x, { axis = -1, order = 2 })`: `x` divided by its `order`-norm along `axis` (a zero norm
 * leaves the values as they are). The result is float64 when `x` holds JS numbers or a Float64Array, else
 * float32.
 *
 * @example
 * ```ts
 * normalize([[3, 4], [0, 0]]); // { data: Float64Array [0.6, 0.8, 0, 0], shape: [2, 2] }
 * ```
 */
export function normalize(x: ArrayInput, args: NormalizeArgs = {}): ArrayValue {
  const fn = "normalize";
  refuseArgumentsPast(fn, ["x", "args"], arguments);
  const a = decodeArgs(fn, { axis: Int, order: Order }, args, { axis: -1, order: 2 });
  const { data, shape } = readArray(fn, "`x`", x);
  if (shape.length === 0) throw new KerasError(fn, "`x` must have at least one axis, got a scalar");
  const dims = shape;
  if (a.axis < -dims.length || a.axis >= dims.length)
    throw new KerasError(fn, `\`axis\` ${a.axis} is out of range for \`x\` of rank ${dims.length}`);
  const axis = a.axis < 0 ? a.axis + dims.length : a.axis;
  const outer = size(dims.slice(0, axis));
  const len = dims[axis];
  const inner = size(dims.slice(axis + 1));
  const out = new (floatTypeFor(data))(data.length);
  const p: number = a.order;
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const at = (k: number) => (o * len + k) * inner + i;
      let norm = 0;
      for (let k = 0; k < len; k++) {
        const v = Math.abs(data[at(k)]);
        norm = p === Infinity ? Math.max(norm, v) : p === 1 ? norm + v : p === 2 ? norm + v * v : norm + v ** p;
      }
      if (p === 2) norm = Math.sqrt(norm);
      else if (p !== 1 && p !== Infinity) norm = norm ** (1 / p);
      if (norm === 0) norm = 1;
      for (let k = 0; k < len; k++) out[at(k)] = data[at(k)] / norm;
    }
  return arrayValue(out, dims);
}
