/** Brands and type guards of the value kinds, kept apart to avoid import cycles. */
export const MODEL_BRAND = Symbol.for("tskeras.model");
export const SYMBOLIC_BRAND = Symbol.for("tskeras.symbolic");

export function isModel(x: unknown): x is import("./model.js").Model {
  return x !== null && typeof x === "object" && (x as any)[MODEL_BRAND] === true;
}

export function isSymbolic(x: unknown): x is import("./symbolic.js").SymbolicTensor {
  return x !== null && typeof x === "object" && (x as any)[SYMBOLIC_BRAND] === true;
}
