/**
 * The raw data of the text layers: nested arrays of strings, or of integers (tensors and typed arrays
 * too), read on the host into a flat list of tokens and a shape; and what the layers make of them.
 */
import { tf } from "../../backend/tf.js";
import { KerasError, describeValue } from "../../errors.js";
import { nestedNumbers } from "../../backend/convert.js";
import type { Token } from "./lookup.js";

/** Raw data read on the host: the tokens in row-major order and their shape. */
export interface HostTokens {
  readonly tokens: Token[];
  readonly shape: number[];
}

/** Nested arrays of strings (rectangular) as tokens and shape; else the problem (completing "`x` must be ..."). */
function nestedStrings(x: unknown): HostTokens | string {
  const shape: number[] = [];
  for (let cur = x; Array.isArray(cur); cur = cur[0]) {
    if (shape.length > 32) return "strings nested at most 32 levels deep";
    shape.push(cur.length);
  }
  if (shape.length === 0)
    return `strings: an array of strings (one per sample) or an array of one-string arrays, got ${describeValue(x)}`;
  const tokens: string[] = [];
  const walk = (a: unknown, depth: number, at: string): string | null => {
    if (depth === shape.length) {
      if (typeof a !== "string") return `strings, but element ${at} is ${describeValue(a)}`;
      tokens.push(a);
      return null;
    }
    if (!Array.isArray(a) || a.length !== shape[depth])
      return `a rectangular array of strings, but element ${at || "[1]"} is ${Array.isArray(a) ? `an array of ${a.length}` : describeValue(a)} where the first elements give ${shape[depth]} (shape [${shape.join(", ")}])`;
    for (let i = 0; i < a.length; i++) {
      const problem = walk(a[i], depth + 1, `${at}[${i + 1}]`);
      if (problem) return problem;
    }
    return null;
  };
  return walk(x, 0, "") ?? { tokens, shape };
}

/** Integers on the host: a tensor, a typed array or nested arrays; else the problem. */
function hostIntegers(x: unknown): HostTokens | string {
  let values: ArrayLike<number>;
  let shape: number[];
  if (x instanceof tf.Tensor) {
    if (x.isDisposed) return "a tensor that is not disposed";
    if (x.dtype === "string") return `integers, got a string tensor`;
    values = x.dataSync() as ArrayLike<number>;
    shape = [...x.shape];
  } else if (ArrayBuffer.isView(x) && !(x instanceof DataView)) {
    values = Array.from(x as unknown as ArrayLike<number | bigint>, Number);
    shape = [values.length];
  } else {
    const r = nestedNumbers(x, Float64Array);
    if (typeof r === "string") return `integers (a tensor or nested arrays of integers): ${r}`;
    ({ values, shape } = r);
  }
  const tokens = Array.from(values);
  const bad = tokens.findIndex((v) => !Number.isSafeInteger(v));
  if (bad >= 0) return `integers, but value ${bad + 1} is ${tokens[bad]}`;
  return { tokens, shape };
}

/** The raw data of argument `what` of `fn` as tokens of `kind`; a KerasError for anything else. */
export function readHostTokens(fn: string, what: string, x: unknown, kind: "string" | "integer"): HostTokens {
  const r = kind === "string" ? nestedStrings(x) : hostIntegers(x);
  if (typeof r === "string") throw new KerasError(fn, `${what} must be ${r}`);
  if (r.shape.length === 0) throw new KerasError(fn, `${what} must have a samples axis, got a scalar`, "shape");
  return r;
}

/** What a host layer makes of raw data: numbers for the tensor graph, or (inverting a string lookup) strings. */
export type HostOutput =
  | { readonly kind: "numbers"; readonly values: Float32Array; readonly shape: readonly number[] }
  | { readonly kind: "strings"; readonly values: readonly (string | null)[]; readonly shape: readonly number[] };

/** Flat values in row-major order as nested arrays of `shape`. */
export function nestValues<T>(values: readonly T[], shape: readonly number[]): unknown {
  if (shape.length === 0) return values[0];
  let k = 0;
  const build = (depth: number): unknown[] =>
    Array.from({ length: shape[depth] }, () => (depth === shape.length - 1 ? values[k++] : build(depth + 1)));
  return build(0);
}
