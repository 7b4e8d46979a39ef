/** The one error class of the package: every user mistake surfaces as a KerasError. */
export type KerasErrorKind = "value" | "shape" | "type" | "io" | "state" | "runtime";

export class KerasError extends Error {
  readonly kind: KerasErrorKind;
  /** The public function that raised it, e.g. "layer_gru". */
  readonly fn: string;
  /** The message without its "fn(): " prefix. */
  readonly detail: string;
  constructor(fn: string, message: string, kind: KerasErrorKind = "value", options?: { cause?: unknown }) {
    super(`${fn}(): ${message}`, options);
    this.name = "KerasError";
    this.kind = kind;
    this.fn = fn;
    this.detail = message;
  }
}

/**
 * A problem with something the user gave as an argument, found while running it (a custom activation,
 * initializer, regularizer or constraint that throws or returns junk, a callback that throws). The
 * message names the argument; the public function that ran it rethrows it as its own KerasError
 * (`asKerasError`), with the user's error as `cause`.
 */
export class ArgumentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ArgumentError";
  }
}

/**
 * `e` as public function `fn`'s KerasError when it is an ArgumentError (other errors unchanged);
 * `context` (e.g. `layer "dense"`) leads the message.
 */
export function asKerasError(fn: string, e: unknown, context?: string): unknown {
  if (e instanceof ArgumentError)
    return new KerasError(fn, context ? `${context}: ${e.message}` : e.message, "value", { cause: e.cause ?? e });
  return e;
}

/** A KerasError of `fn` with `context` put before the message of `e` (its "fn(): " prefix dropped when it is `fn`'s). */
export function within(fn: string, context: string, e: KerasError): KerasError {
  return new KerasError(fn, `${context}: ${e.fn === fn ? e.detail : e.message}`, e.kind, { cause: e.cause });
}

/** Runs a user function given as argument `what`, turning a throw into an ArgumentError naming it. */
export function callUser<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof KerasError || e instanceof ArgumentError) throw e;
    throw new ArgumentError(`${what} failed: ${(e as Error)?.message ?? describeValue(e)}`, { cause: e });
  }
}

export function fail(fn: string, message: string, kind: KerasErrorKind = "value"): never {
  throw new KerasError(fn, message, kind);
}

/** Short, readable rendering of a user-supplied value for error messages (cycles and depth bounded). */
export function describeValue(v: unknown, depth = 0): string {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  if (typeof v === "function") return `a function${v.name ? ` (${v.name})` : ""}`;
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "bigint") return `${v}n (a BigInt)`;
  if (typeof v === "symbol") return `a symbol (${v.description ?? ""})`;
  if (Array.isArray(v)) {
    if (depth >= 3) return "[...]";
    const inner = v
      .slice(0, 6)
      .map((x) => describeValue(x, depth + 1))
      .join(", ");
    return `[${inner}${v.length > 6 ? ", ..." : ""}]`;
  }
  if (typeof v === "object") {
    const ctor = Object.getPrototypeOf(v) === null ? undefined : (v as object).constructor?.name;
    if (ctor && ctor !== "Object") return `a ${ctor}`;
    try {
      const s = JSON.stringify(v);
      return s.length > 80 ? s.slice(0, 77) + "..." : s;
    } catch {
      return "an object";
    }
  }
  return String(v);
}
