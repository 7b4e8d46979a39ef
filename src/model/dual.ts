/**
 * R's dual layer functions, typed like fp-ts's `dual`: what `layer_x(first, args)` returns follows from
 * its first argument — a layer value (no first argument: `layer_x(args)`), the sequential model with the
 * layer appended, a symbolic tensor (functional API) or a tensor (an eager run). A layer value is itself
 * applicable, with one generic signature so that `pipe(x, layer_x(args))` infers the same results.
 */
import type { Tensor } from "../backend/tf.js";
import { KerasError, describeValue } from "../errors.js";
import { refuseUnusedArguments } from "../args.js";
import { isModel, isSymbolicInput } from "./guards.js";
import type { Layer } from "./layer.js";
import type { SequentialModel } from "./model.js";
import type { SymbolicTensor } from "./symbolic.js";

/** Nested arrays of numbers, row-major as R's arrays print (`[[1, 2], [3, 4]]`). */
export type NestedNumbers = number | readonly NestedNumbers[];
export type TypedArray = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;
/** Concrete data: a tensor, nested arrays of numbers, a typed array, or `{ data, shape }`. */
export type TensorData =
  | Tensor
  | readonly NestedNumbers[]
  | TypedArray
  | { readonly data: ArrayLike<number>; readonly shape: readonly number[] };
/** A mask: a tensor, or nested arrays of booleans (or 0 / 1). */
export type NestedBooleans = boolean | number | readonly NestedBooleans[];
export type MaskData = Tensor | readonly NestedBooleans[];
/** Data a layer runs on eagerly: one array of data, or a list of them (merge layers). */
export type TensorInput = TensorData | readonly TensorData[];
/** Symbolic inputs: one symbolic tensor, or a list of them (merge layers). */
export type SymbolicInput = SymbolicTensor | readonly SymbolicTensor[];
/** Raw text for the text layers (layer_text_vectorization, layer_string_lookup): strings, nested as samples. */
export type NestedStrings = string | readonly NestedStrings[];
/** What a layer applies to: a sequential model (append), symbolic tensors or data (numbers, or raw text). */
export type LayerInput = SequentialModel | SymbolicInput | TensorInput | readonly NestedStrings[];

/** How many tensors a layer returns: one, or a list (cells; recurrent layers with return_state = TRUE). */
export type Outputs = "one" | "many";
type OneOrMany<O extends Outputs, T> = O extends "many" ? T[] : T;

/** What applying a layer to `X` gives: a model for a model, symbolic tensors for symbolic ones, else tensors. */
export type Applied<X, O extends Outputs> = X extends SequentialModel
  ? SequentialModel
  : X extends SymbolicInput
    ? OneOrMany<O, SymbolicTensor>
    : OneOrMany<O, Tensor>;

/** Per-call options of a layer applied to tensors: `gru(x, { mask, initial_state, training, constants })`. */
export interface CallOptions {
  /** A mask for the input (batch, timesteps): FALSE steps are skipped. */
  mask?: SymbolicTensor | MaskData | null;
  /** The recurrent layer's initial states (tensors of shape (batch, units)). */
  initial_state?: SymbolicTensor | TensorData | readonly (SymbolicTensor | TensorData)[] | null;
  /** Constant inputs handed to every step of a custom cell. */
  constants?: SymbolicTensor | TensorData | readonly (SymbolicTensor | TensorData)[] | null;
  /** Run in training mode (dropout, noise, batch statistics). */
  training?: boolean;
}

/** A layer applied to `x`: see `Applied`. The layer value itself is `Layer<O>`. */
export interface ApplyLayer<O extends Outputs> {
  <X extends LayerInput>(x: X, options?: CallOptions): Applied<X, O>;
}

/** A dual layer function whose arguments are all optional (`layer_flatten()`). */
export interface LayerFunction<A, O extends Outputs = "one"> {
  <X extends LayerInput>(object: X, args?: A): Applied<X, O>;
  (args?: A): Layer<O>;
}

/** A dual layer function with required arguments (`layer_dense({ units })`). */
export interface LayerFunctionWith<A, O extends Outputs = "one"> {
  <X extends LayerInput>(object: X, args: A): Applied<X, O>;
  (args: A): Layer<O>;
}

/**
 * A recurrent layer's dual function: with `return_state = TRUE` it returns the output and the final
 * states (a list), else the output alone.
 */
export interface RecurrentLayerFunction<A> {
  <X extends LayerInput>(object: X, args: A & { return_state: true }): Applied<X, "many">;
  <X extends LayerInput>(object: X, args: A & { return_state?: false | null }): Applied<X, "one">;
  <X extends LayerInput>(object: X, args: A): Applied<X, Outputs>;
  (args: A & { return_state: true }): Layer<"many">;
  (args: A & { return_state?: false | null }): Layer<"one">;
  (args: A): Layer;
}

/** The arguments of a dual layer function `F` (`ArgsOfLayer<typeof layer_gru>`). */
export type ArgsOfLayer<F> = F extends { (args: infer A): Layer<infer _O> } ? A : never;

/** A record of named arguments, as opposed to what a layer can be applied to. */
function isArgumentRecord(a: unknown): boolean {
  return (
    a === undefined ||
    (a !== null && typeof a === "object" && !Array.isArray(a) && !isModel(a) && !isSymbolicInput(a) && !isTensorLike(a))
  );
}

function isTensorLike(x: unknown): boolean {
  return x !== null && typeof x === "object" && ("dataId" in (x as object) || ArrayBuffer.isView(x));
}

/**
 * R's dual layer function around `make(args) => layer`: `f(args)` (or `f()`) is the layer value;
 * `f(object, args)` applies the new layer to `object` — a sequential model (append), a symbolic tensor
 * (functional graph) or data (eager). `F` is its public type (one of the interfaces above).
 */
export function dualLayerFunction<F>(fn: string, make: (args: unknown) => Layer, object = "object"): F {
  function layerFunction(a?: unknown, b?: unknown, ...unused: unknown[]): unknown {
    refuseUnusedArguments(fn, 3, unused, `${fn}(args) or ${fn}(${object}, args)`);
    if (isArgumentRecord(a)) {
      if (b !== undefined)
        throw new KerasError(
          fn,
          `\`${object}\` must be a model, a symbolic tensor or data (a tensor or a nested array of numbers), or give a record of arguments alone; got ${describeValue(a)}`,
        );
      return make(a);
    }
    return make(b)(a as LayerInput);
  }
  Object.defineProperty(layerFunction, "name", { value: fn });
  // The public type is the overloads of F; the one implementation dispatches at run time.
  return layerFunction as F;
}
