/** The one error class of the package: every user mistake surfaces as a KerasError. */
export type KerasErrorKind = "value" | "shape" | "type" | "io" | "state" | "runtime";

export class KerasError extends Error {
  readonly kind: KerasErrorKind;
  /** The public function that raised it, e.g. "layer_gru". */
  readonly fn: string;
  constructor(fn: string, message: string, kind: KerasErrorKind = "value") {
    super(`${fn}(): ${message}`);
    this.name = "KerasError";
    this.kind = kind;
    this.fn = fn;
  }
}

export function fail(fn: string, message: string, kind: KerasErrorKind = "value"): never {
  throw new KerasError(fn, message, kind);
}

/** Short, readable rendering of a user-supplied value for error messages. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  if (typeof v === "function") return `a function${v.name ? ` (${v.name})` : ""}`;
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) {
    const inner = v.slice(0, 6).map(describeValue).join(", ");
    return `[${inner}${v.length > 6 ? ", ..." : ""}]`;
  }
  if (typeof v === "object") {
    const ctor = (v as object).constructor?.name;
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
