/** Brands and type guards of the value kinds, kept apart to avoid import cycles. */
export const MODEL_BRAND = Symbol.for("tskeras.model");
export const SYMBOLIC_BRAND = Symbol.for("tskeras.symbolic");

export function isModel(x: unknown): x is import("./model.js").Model {
  return x !== null && typeof x === "object" && (x as any)[MODEL_BRAND] === true;
}

export function isSymbolic(x: unknown): x is import("./symbolic.js").SymbolicTensor {
  return x !== null && typeof x === "object" && (x as any)[SYMBOLIC_BRAND] === true;
}

/** A symbolic tensor or a non-empty list of them (multi-input layers). */
export function isSymbolicInput(
  x: unknown,
): x is import("./symbolic.js").SymbolicTensor | import("./symbolic.js").SymbolicTensor[] {
  // Array.from: `every` skips the holes of a sparse array, which would pass as a list of tensors.
  return isSymbolic(x) || (Array.isArray(x) && x.length > 0 && Array.from(x).every(isSymbolic));
}
