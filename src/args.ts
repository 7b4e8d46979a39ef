/**
 * Argument decoding at the door (DESIGN principle 2): every public function describes its arguments
 * with io-ts codecs; `decodeArgs` checks them all at once, rejects unknown names with a suggestion,
 * fills defaults and throws one KerasError listing every problem.
 */
import * as t from "io-ts";
import { isLeft } from "fp-ts/lib/Either.js";
import { KerasError, describeValue } from "./errors.js";

/** A codec with a human description used in error messages ("a positive integer"). */
export function described<A, O = A, I = unknown>(codec: t.Type<A, O, I>, expected: string): t.Type<A, O, I> {
  return new t.Type<A, O, I>(expected, codec.is, codec.validate, codec.encode);
}

/**
 * Declares what a normalising codec accepts from users — its io-ts input type — when that differs from
 * what it decodes to (a shape given as `3` decodes to `[3]`, an activation name to the activation): the
 * option types derived from the codecs (`ArgsOf`) show users that input type.
 */
export const accepting =
  <I>() =>
  <A, O>(codec: t.Type<A, O, unknown>): t.Type<A, O, I> =>
    // Narrowing the input type only: `validate` takes any value.
    codec as unknown as t.Type<A, O, I>;

const isIntegral = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && Math.floor(v) === v;

/**
 * The largest integer an integer argument may be: R's integers are int32 (R keras hands `units = 1e12`
 * to Keras as `as.integer(1e12)`, which is NA), and tfjs indexes tensors with int32.
 */
export const MAX_INT = 2 ** 31 - 1;
/** The most elements one tensor may hold (what int32 indexing reaches); larger shapes are refused before allocating. */
export const MAX_TENSOR_SIZE = MAX_INT;

/** An int32 integer of at least `min`; above the int32 range the failure says why. */
function integer(min: number, expected: string): t.Type<number, number, unknown> {
  return described(
    new t.Type<number, number, unknown>(
      "Integer",
      (u): u is number => isIntegral(u) && u >= min && u >= -MAX_INT - 1 && u <= MAX_INT,
      (u, c) => {
        if (!isIntegral(u) || u < min) return t.failure(u, c);
        if (u > MAX_INT || u < -MAX_INT - 1)
          return t.failure(
            u,
            c,
            `must be ${expected} ${u > MAX_INT ? `of at most ${MAX_INT}` : `of at least ${-MAX_INT - 1}`} (R's integers are 32-bit), got ${u}`,
          );
        return t.success(u);
      },
      t.identity,
    ),
    expected,
  );
}

export const PositiveInt = integer(1, "a positive integer");
export const NonNegativeInt = integer(0, "a non-negative integer");
export const Int = integer(-MAX_INT - 1, "an integer");
/** A positive integer of at most `max` (`unit` says what it counts, e.g. "pixels"). */
export const PositiveIntAtMost = (max: number, unit?: string) =>
  described(
    t.refinement(PositiveInt, (n) => n <= max),
    `a positive integer of at most ${max}${unit ? ` (${unit})` : ""}`,
  );
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
export const FilePath = described(
  t.refinement(t.string, (s) => s.length > 0),
  "a file path (a non-empty string)",
);
/** Any function: its callers check what it returns when they call it (errors.ts `callUser`). */
export type AnyFunction = (...args: never[]) => unknown;
export const Fn = described(
  new t.Type<AnyFunction>(
    "Function",
    (u): u is AnyFunction => typeof u === "function",
    (u, c) => (typeof u === "function" ? t.success(u as AnyFunction) : t.failure(u, c)),
    t.identity,
  ),
  "a function",
);
/** A codec as io-ts's combinators (t.union, t.array) take it: any input (what `accepting` narrowed, widened back). */
export const mixed = <A, O, I>(codec: t.Type<A, O, I>): t.Type<A, O, unknown> => codec as t.Type<A, O, unknown>;

/**
 * A function argument with its signature declared for the types (`FnOf<(x: Tensor) => Tensor>()`): at run
 * time any function passes, and what it returns is checked where it is called.
 */
export const FnOf = <F extends AnyFunction>() => Fn as unknown as t.Type<F, F, unknown>;
/** A codec accepting the values `is` recognizes, as they are (a model, a layer, raw bytes). */
export const Guarded = <A>(name: string, is: (u: unknown) => u is A, expected: string) =>
  described(
    new t.Type<A, A, unknown>(name, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity),
    expected,
  );
/** `codec` or null, where null is a value of its own (`seed = NULL`: unseeded; `activation = NULL`: linear). */
export const Nullable = <A, O, I>(c: t.Type<A, O, I>): t.Type<A | null, O | null, InputOf<typeof c> | null> =>
  described(t.union([c as t.Type<A, O, unknown>, t.null]), `${c.name} or null`) as unknown as t.Type<
    A | null,
    O | null,
    InputOf<typeof c> | null
  >;

/**
 * An argument whose R default is NULL: null means "not given", as in R (`batch_size = NULL`,
 * `name = NULL`), so the default applies — the rule of checkArgs for every codec made with this.
 */
export class NullIsDefaultType<A, O, I> extends t.Type<A, O, I | null> {
  constructor(readonly codec: t.Type<A, O, I>) {
    super(`${codec.name} or null`, codec.is, codec.validate as t.Validate<I | null, A>, codec.encode);
  }
}
export const NullIsDefault = <A, O, I>(codec: t.Type<A, O, I>): NullIsDefaultType<A, O, InputOf<typeof codec>> =>
  new NullIsDefaultType(codec as t.Type<A, O, InputOf<typeof codec>>);
export const OneOf = <L extends string>(...values: L[]) =>
  described(
    t.keyof(Object.fromEntries(values.map((v) => [v, null])) as Record<L, null>),
    `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`,
  ) as t.Type<L, L, unknown>;
/**
 * An integer or a vector of `n` integers (R's `kernel_size = 3` or `c(3, 3)`), normalised to an array;
 * each a positive integer unless `element` says otherwise.
 */
export const IntTuple = (n: number, what = "a positive integer", element: t.Type<number> = PositiveInt) =>
  accepting<number | readonly number[]>()(
    described(
      new t.Type<number[], number[], unknown>(
        "IntTuple",
        (u): u is number[] => Array.isArray(u),
        (u, c) => {
          const ok = (x: unknown) => element.is(x);
          if (ok(u)) return t.success(Array(n).fill(u as number));
          if (Array.isArray(u) && u.length === n && u.every(ok)) return t.success(u as number[]);
          return t.failure(u, c);
        },
        t.identity,
      ),
      `${what} or a vector of ${n} of them`,
    ),
  );

/** One dimension of a shape: a positive integer or null (unknown). */
export const Dim = described(t.union([PositiveInt, t.null]), "a positive integer or null");
/** A shape without the batch axis, e.g. `[50, 16]` or `[null, 16]`; a bare integer means `[n]`. */
export const ShapeArg = accepting<number | readonly (number | null)[]>()(
  described(
    new t.Type<(number | null)[], (number | null)[], unknown>(
      "Shape",
      (u): u is (number | null)[] => Array.isArray(u),
      (u, c) => {
        if (PositiveInt.is(u)) return t.success([u]);
        if (Array.isArray(u) && u.every((d) => d === null || PositiveInt.is(d))) {
          const known = (u as (number | null)[]).reduce<number>((n, d) => n * (d ?? 1), 1);
          if (known > MAX_TENSOR_SIZE)
            return t.failure(
              u,
              c,
              `is a shape of ${known} values per sample, more than a tensor can hold (${MAX_TENSOR_SIZE})`,
            );
          return t.success(u as (number | null)[]);
        }
        return t.failure(u, c);
      },
      t.identity,
    ),
    "a shape: a vector of positive integers or null",
  ),
);
export const DType = OneOf("float32", "int32", "bool", "float64", "float16", "int64", "string");
/** The dtype of a computation: float32, the only float type of the backends (null: the default). */
export const FloatDType = Nullable(OneOf("float32"));

/** A function's codecs by argument name (R's names). */
export type Props = Readonly<Record<string, t.Any>>;

/**
 * What users pass for codec `C`: its declared input type (see `accepting`), else the type it decodes to
 * (io-ts codecs leave their input type `unknown`).
 */
export type InputOf<C> = C extends t.Type<infer A, unknown, infer I> ? (unknown extends I ? A : I) : never;

/** An object type spelled out, so editors show its fields rather than the types it is made of. */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

/**
 * The named arguments of a function, derived from its codecs `P` (the one source of truth): R's names,
 * each optional except those in `R`, typed as users give them. A doc comment on a key of `P` is what
 * editors show for that argument.
 */
export type ArgsOf<P extends Props, R extends keyof P = never> = Simplify<
  { -readonly [K in keyof P]?: InputOf<P[K]> } & Required<Pick<{ -readonly [K in keyof P]: InputOf<P[K]> }, R>>
>;

/** The decoded arguments of a function with codecs `P`: every key, as the codecs decode it. */
export type ConfigOf<P extends Props> = { -readonly [K in keyof P]: t.TypeOf<P[K]> };

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
 * A record of named arguments: a plain object (or one without a prototype). A Map, a Date, an array
 * or a class instance is not one: its entries would be silently ignored.
 */
export function isPlainRecord(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A record of `codec` values by name. Only a plain record is one (io-ts's own record codecs also take a
 * Map, a Set or a Date, whose entries are not own properties: they would read as an empty record).
 */
export const RecordOf = <A>(codec: t.Type<A, A, unknown>, expected: string) =>
  described(
    t.refinement(t.record(t.string, codec), (r): r is Record<string, A> => isPlainRecord(r)),
    expected,
  );

type Observer = (fn: string, props: Props, args: Record<string, unknown>) => void;
let observer: Observer | null = null;

/**
 * Calls `observe` with every record of arguments `decodeArgs` checks, until the returned function is
 * called: how the fuzz suite learns each public function's codecs (test/fuzz).
 */
export function observeDecoding(observe: Observer): () => void {
  observer = observe;
  return () => {
    if (observer === observe) observer = null;
  };
}

/** The name of the argument a codec is decoding (decodeArgs puts it first in the io-ts context). */
export function argumentName(c: t.Context): string {
  return c[0]?.key || "value";
}

/**
 * Checks `args` against `props` without throwing: the decoded values merged over `defaults`, or every
 * problem. Values equal to `undefined` count as absent.
 */
export function checkArgs<D extends Record<string, unknown>>(
  props: Props,
  args: unknown,
  defaults: D,
  required: readonly string[] = [],
): { value: D & Record<string, any>; problems: null } | { value: null; problems: string[] } {
  if (args === undefined || args === null) args = {};
  if (!isPlainRecord(args))
    return { value: null, problems: [`arguments must be a record of named arguments, got ${describeValue(args)}`] };
  const problems: string[] = [];
  let invalid: Set<string> | undefined;
  const out: Record<string, unknown> = { ...defaults };
  // indexed loops, no entries or iterators: predict() on one step passes here on every call
  const keys = Object.keys(args);
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k];
    const value = (args as Record<string, unknown>)[key];
    // Own names only: `constructor`, `toString`, `__proto__` are unknown arguments, not Object.prototype's.
    const codec = Object.hasOwn(props, key) ? props[key] : undefined;
    if (!codec) {
      const hint = closestName(key, Object.keys(props));
      problems.push(`unknown argument \`${key}\`${hint ? `; did you mean \`${hint}\`?` : ""}`);
      continue;
    }
    if (value === undefined || (value === null && codec instanceof NullIsDefaultType)) continue;
    const r = codec.validate(value, [{ key, type: codec, actual: value }]);
    if (isLeft(r)) {
      (invalid ??= new Set()).add(key);
      const why = r.left.find((e) => e.message)?.message;
      problems.push(why ? `\`${key}\` ${why}` : `\`${key}\` must be ${codec.name}, got ${describeValue(value)}`);
    } else out[key] = r.right;
  }
  for (let k = 0; k < required.length; k++) {
    const key = required[k];
    if (out[key] === undefined && !invalid?.has(key))
      problems.push(`\`${key}\` is required (${props[key]?.name ?? "a value"})`);
  }
  return problems.length ? { value: null, problems } : { value: out as D & Record<string, any>, problems: null };
}

/**
 * Refuses arguments past the last one a function takes (JavaScript drops them silently; R says "unused
 * argument"). `extra` are the arguments from the 1-based position `first` on; `usage` shows the calls
 * the function takes. Trailing `undefined`s count as absent.
 */
export function refuseUnusedArguments(fn: string, first: number, extra: readonly unknown[], usage: string): void {
  const i = extra.findIndex((v) => v !== undefined);
  if (i >= 0) throw new KerasError(fn, `unused argument ${first + i}, ${describeValue(extra[i])}: call it as ${usage}`);
}

/**
 * `f`, the public function `fn` of the parameters `params` (R's names, shown in the message), refusing
 * arguments past the last (see refuseUnusedArguments): how a family of functions of one shape refuses
 * them in its shared helper (an arrow function has no `arguments` for refuseArgumentsPast). The wrapper
 * keeps `f`'s name and length.
 */
export function refusingUnused<F extends (...args: any[]) => unknown>(fn: string, params: readonly string[], f: F): F {
  const refusing = function (this: unknown, ...args: unknown[]) {
    refuseArgumentsPast(fn, params, args);
    return f.apply(this, args);
  };
  Object.defineProperty(refusing, "name", { value: f.name || fn });
  Object.defineProperty(refusing, "length", { value: f.length });
  return refusing as F;
}

/**
 * Refuses the arguments of a call of public function `fn` past its parameters `params` (R's names, shown
 * in the message; see refuseUnusedArguments). `call` is the function's `arguments`: read there, the
 * refusal needs no rest parameter, which would let TypeScript accept the extra arguments.
 */
export function refuseArgumentsPast(fn: string, params: readonly string[], call: ArrayLike<unknown>): void {
  // nothing made unless there is an extra argument: every public call passes here
  for (let i = params.length; i < call.length; i++)
    if (call[i] !== undefined) {
      const extra = Array.prototype.slice.call(call, params.length);
      refuseUnusedArguments(fn, params.length + 1, extra, `${fn}(${params.join(", ")})`);
    }
}

/** Several problems as one message: the problem itself, or a list. */
export function problemList(problems: readonly string[]): string {
  return problems.length === 1 ? problems[0] : `invalid arguments:\n  - ${problems.join("\n  - ")}`;
}

/**
 * Decodes a call's positional arguments (`positional`: name → [codec, value]) together with its record of
 * named arguments `args`, so that one KerasError lists every problem. A positional argument may not be
 * given in the record as well.
 */
export function decodeCall<D extends Record<string, unknown>>(
  fn: string,
  positional: Readonly<Record<string, readonly [t.Mixed, unknown]>>,
  args: unknown,
  props: Props,
  defaults: D,
): D & Record<string, any> {
  const named = args === undefined || args === null ? {} : args;
  if (!isPlainRecord(named))
    throw new KerasError(fn, `arguments must be a record of named arguments, got ${describeValue(args)}`);
  if (observer) observer(fn, props, named);
  const twice = Object.keys(named).filter((k) => Object.hasOwn(positional, k) && named[k] !== undefined);
  if (twice.length) throw new KerasError(fn, `\`${twice[0]}\` is given twice (as an argument and by name)`);
  const codecs = Object.fromEntries(Object.entries(positional).map(([k, [c]]) => [k, c]));
  const given = Object.fromEntries(Object.entries(positional).map(([k, [, v]]) => [k, v]));
  const r = checkArgs({ ...codecs, ...props }, { ...named, ...given }, defaults, Object.keys(positional));
  if (r.problems) throw new KerasError(fn, problemList(r.problems));
  return r.value;
}

/**
 * Decodes `args` against `props` (see checkArgs) and returns the decoded values merged over
 * `defaults`. Throws one KerasError of `fn` listing every problem.
 */
export function decodeArgs<D extends Record<string, unknown>>(
  fn: string,
  props: Props,
  args: unknown,
  defaults: D,
  required: readonly string[] = [],
): D & Record<string, any> {
  if (observer && isPlainRecord(args)) observer(fn, props, args);
  const r = checkArgs(props, args, defaults, required);
  if (r.problems) throw new KerasError(fn, problemList(r.problems));
  return r.value;
}
