/**
 * Argument decoding at the door (DESIGN principle 2): every public function describes its arguments
 * with io-ts codecs; `decodeArgs` checks them all at once, rejects unknown names with a suggestion,
 * fills defaults and throws one KerasError listing every problem.
 */
import * as t from "io-ts";
import { isLeft } from "fp-ts/lib/Either.js";
import { KerasError, describeValue } from "./errors.js";

/** A codec with a human description used in error messages ("a positive integer"). */
export function described<A, O = A>(codec: t.Type<A, O, unknown>, expected: string): t.Type<A, O, unknown> {
  return new t.Type<A, O, unknown>(expected, codec.is, codec.validate, codec.encode);
}

const isIntegral = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && Math.floor(v) === v;

export const PositiveInt = described(
  t.refinement(t.number, (n) => isIntegral(n) && n > 0),
  "a positive integer",
);
export const NonNegativeInt = described(
  t.refinement(t.number, (n) => isIntegral(n) && n >= 0),
  "a non-negative integer",
);
export const Int = described(t.refinement(t.number, isIntegral), "an integer");
export const Num = described(t.refinement(t.number, Number.isFinite), "a finite number");
export const PositiveNum = described(
  t.refinement(t.number, (n) => Number.isFinite(n) && n > 0),
  "a positive number",
);
export const NonNegativeNum = described(
  t.refinement(t.number, (n) => Number.isFinite(n) && n >= 0),
  "a non-negative number",
);
export const Rate = described(
  t.refinement(t.number, (n) => n >= 0 && n < 1),
  "a number in [0, 1)",
);
export const Bool = described(t.boolean, "TRUE or FALSE (a boolean)");
export const Str = described(t.string, "a string");
export const Fn = described(
  new t.Type<(...a: any[]) => any>(
    "Function",
    (u): u is (...a: any[]) => any => typeof u === "function",
    (u, c) => (typeof u === "function" ? t.success(u as (...a: any[]) => any) : t.failure(u, c)),
    t.identity,
  ),
  "a function",
);
/** A codec accepting the values `is` recognizes, as they are (a model, a layer, raw bytes). */
export const Guarded = <A>(name: string, is: (u: unknown) => u is A, expected: string) =>
  described(
    new t.Type<A, A, unknown>(name, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity),
    expected,
  );
export const Nullable = <A, O>(c: t.Type<A, O, unknown>) => described(t.union([c, t.null]), `${c.name} or null`);
export const OneOf = <L extends string>(...values: L[]) =>
  described(
    t.keyof(Object.fromEntries(values.map((v) => [v, null])) as Record<L, null>),
    `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`,
  ) as t.Type<L, L, unknown>;
/** An integer or a vector of `n` integers (R's `kernel_size = 3` or `c(3, 3)`), normalised to an array. */
export const IntTuple = (n: number, what = "a positive integer") =>
  described(
    new t.Type<number[], number[], unknown>(
      "IntTuple",
      (u): u is number[] => Array.isArray(u),
      (u, c) => {
        const ok = (x: unknown) => isIntegral(x) && (x as number) > 0;
        if (ok(u)) return t.success(Array(n).fill(u as number));
        if (Array.isArray(u) && u.length === n && u.every(ok)) return t.success(u as number[]);
        return t.failure(u, c);
      },
      t.identity,
    ),
    n === 1 ? what : `${what} or a vector of ${n} of them`,
  );

/** One dimension of a shape: a positive integer or null (unknown). */
export const Dim = described(t.union([PositiveInt, t.null]), "a positive integer or null");
/** A shape without the batch axis, e.g. `[50, 16]` or `[null, 16]`; a bare integer means `[n]`. */
export const ShapeArg = described(
  new t.Type<(number | null)[], (number | null)[], unknown>(
    "Shape",
    (u): u is (number | null)[] => Array.isArray(u),
    (u, c) => {
      if (isIntegral(u) && (u as number) > 0) return t.success([u as number]);
      if (Array.isArray(u) && u.every((d) => d === null || (isIntegral(d) && d > 0)))
        return t.success(u as (number | null)[]);
      return t.failure(u, c);
    },
    t.identity,
  ),
  "a shape: a vector of positive integers or null",
);
export const DType = OneOf("float32", "int32", "bool", "float64", "float16", "int64", "string");

export type Props = Record<string, t.Mixed>;

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return dp[a.length][b.length];
}

/** The closest known name to `name`, if it is close enough to be a plausible typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = levenshtein(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * Decodes `args` against `props`. Values equal to `undefined` count as absent. Returns the decoded
 * values merged over `defaults`. Throws one KerasError listing every problem.
 */
export function decodeArgs<D extends Record<string, unknown>>(
  fn: string,
  props: Props,
  args: unknown,
  defaults: D,
  required: readonly string[] = [],
): D & Record<string, any> {
  if (args === undefined || args === null) args = {};
  if (typeof args !== "object" || Array.isArray(args)) {
    throw new KerasError(fn, `arguments must be a record of named arguments, got ${describeValue(args)}`);
  }
  const problems: string[] = [];
  const invalid = new Set<string>();
  const out: Record<string, unknown> = { ...defaults };
  const known = Object.keys(props);
  for (const [key, value] of Object.entries(args as Record<string, unknown>)) {
    const codec = props[key];
    if (!codec) {
      const hint = closestName(key, known);
      problems.push(`unknown argument \`${key}\`${hint ? `; did you mean \`${hint}\`?` : ""}`);
      continue;
    }
    if (value === undefined) continue;
    const r = codec.decode(value);
    if (isLeft(r)) {
      invalid.add(key);
      problems.push(`\`${key}\` must be ${codec.name}, got ${describeValue(value)}`);
    } else out[key] = r.right;
  }
  for (const key of required) {
    if (out[key] === undefined && !invalid.has(key))
      problems.push(`\`${key}\` is required (${props[key]?.name ?? "a value"})`);
  }
  if (problems.length === 1) throw new KerasError(fn, problems[0]);
  if (problems.length > 1) throw new KerasError(fn, `invalid arguments:\n  - ${problems.join("\n  - ")}`);
  return out as D & Record<string, any>;
}
