/**
 * Layer values: frozen, callable (as R's layer instances are functions) and dual (see `defineLayer`).
 * Calling a layer dispatches on its first argument: a sequential model (append), a symbolic tensor
 * (functional graph), or concrete data (eager run).
 */
import * as t from "io-ts";
import { inspect } from "node:util";
import { ArgumentError, KerasError, asKerasError, describeValue, within } from "../errors.js";
import {
  Bool,
  DType,
  MAX_TENSOR_SIZE,
  Nullable,
  PositiveInt,
  ShapeArg,
  decodeArgs,
  described,
  refuseUnusedArguments,
} from "../args.js";
import { initialize, initializerProblem } from "../ops/initializers.js";
import { constraintShapeProblem } from "../ops/constraints.js";
import { isActivation, resolveActivation } from "../ops/activations.js";
import { registerFamily } from "./registry.js";
import type { CallShapes, LayerFamily, Shape, WeightSpec, WeightValue } from "./types.js";
import { isWeightData, sealRawWeights, sealWeight, sealed, weightsFromRaw } from "./weights.js";
import { formatShape } from "./shape.js";
import { isModel } from "./guards.js";
import { callSymbolic, isSymbolicInput } from "./symbolic.js";
import { appendLayer } from "./sequential.js";
import { callEager } from "../engine/eager.js";

export const LAYER_BRAND = Symbol.for("tskeras.layer");

/** Per-call options of a layer applied to a tensor: `gru(x, { mask, initial_state, training, constants })`. */
export interface CallOptions {
  mask?: unknown;
  initial_state?: unknown;
  constants?: unknown;
  training?: boolean;
}

export interface LayerData {
  readonly [LAYER_BRAND]: true;
  /** Identity: a layer applied twice in one graph is the same id and shares its weights. */
  readonly id: number;
  readonly className: string;
  readonly name: string;
  /** TRUE when `name` was generated (it may be made unique when the layer joins a model). */
  readonly autoName: boolean;
  /** The family configuration (R argument names, decoded and defaulted). */
  readonly config: Readonly<Record<string, any>>;
  readonly trainable: boolean;
  /** Input shape from input_shape / batch_input_shape / batch_size / input_dim, batch axis included. */
  readonly batchInputShape: Shape | null;
  /**
   * Input shapes (batch axis included) the model holding this value gives it, recorded when it was
   * composed into the model: what count_params / get_weights / set_weights on the value taken out of
   * the model (get_layer) build it for. Not an input-shape argument: never written to a config and
   * never sets a model's input shape.
   */
  readonly knownInputShapes: readonly Shape[] | null;
  readonly inputDtype: string;
  /** Weights given by the user or set by training; null = drawn from the initializers on first need. */
  readonly weightValues: readonly WeightValue[] | null;
  /** Weights from the `weights` argument, checked once the input shape is known. */
  readonly weightsArg: readonly unknown[] | null;
  /** Identity token of the lazily drawn initial weights, shared by renamed copies. */
  readonly origin: object;
}

export type Layer = LayerData & ((x: any, options?: CallOptions) => any);

let nextId = 1;
export const newId = () => nextId++;

/** Keras's to_snake_case: "SimpleRNN" -> "simple_rnn", "GRU" -> "gru", "Conv1D" -> "conv1d", "ConvLSTM2D" -> "conv_lstm2d". */
export function snakeCase(name: string): string {
  const intermediate = name.replace(/(.)([A-Z][a-z]+)/g, "$1_$2");
  return intermediate.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

export function isLayer(x: unknown): x is Layer {
  return typeof x === "function" && (x as any)[LAYER_BRAND] === true;
}

/** Arguments every layer accepts (R keras's standard layer arguments). */
export const COMMON_PROPS = {
  input_shape: ShapeArg,
  batch_input_shape: ShapeArg,
  batch_size: PositiveInt,
  input_dim: PositiveInt,
  dtype: DType,
  name: described(t.string, "a string"),
  trainable: Bool,
  weights: Nullable(
    described(
      t.refinement(t.array(t.unknown), (list) => list.every(isWeightData)),
      "a list of arrays (tensors, nested arrays of numbers or typed arrays)",
    ),
  ),
};
const COMMON_KEYS = Object.keys(COMMON_PROPS);

function batchInputShapeFrom(fn: string, family: LayerFamily<any>, a: Record<string, any>): Shape | null {
  if (a.batch_input_shape) {
    if (a.input_shape)
      throw new KerasError(fn, "give either `input_shape` (with `batch_size`) or `batch_input_shape`, not both");
    return Object.freeze([...a.batch_input_shape]);
  }
  let inner: (number | null)[] | undefined = a.input_shape;
  if (!inner && a.input_dim !== undefined)
    inner = family.inputDimShape ? family.inputDimShape(a.input_dim) : [a.input_dim];
  if (!inner) return null;
  return Object.freeze([a.batch_size ?? null, ...inner]);
}

export interface LayerInit {
  id?: number;
  name?: string;
  autoName?: boolean;
  config: Record<string, any>;
  trainable?: boolean;
  batchInputShape?: Shape | null;
  knownInputShapes?: readonly Shape[] | null;
  inputDtype?: string;
  weightValues?: readonly WeightValue[] | null;
  weightsArg?: readonly unknown[] | null;
  origin?: object;
}

/** Builds a frozen, callable layer value. */
export function makeLayer(className: string, init: LayerInit): Layer {
  const call = function (x: unknown, options?: CallOptions) {
    return callLayer(layer, x, options);
  };
  const name = init.name ?? snakeCase(className);
  const props: LayerData = {
    [LAYER_BRAND]: true,
    id: init.id ?? newId(),
    className,
    name,
    autoName: init.autoName ?? init.name === undefined,
    config: Object.freeze({ ...init.config }),
    trainable: init.trainable ?? true,
    batchInputShape: init.batchInputShape ?? null,
    knownInputShapes: init.knownInputShapes
      ? Object.freeze(init.knownInputShapes.map((sh) => Object.freeze([...sh])))
      : null,
    inputDtype: init.inputDtype ?? "float32",
    weightValues: init.weightValues ? Object.freeze(init.weightValues.map((w) => sealed(w))) : null,
    weightsArg: init.weightsArg ? sealRawWeights(init.weightsArg) : null,
    origin: init.origin ?? Object.freeze({}),
  };
  for (const [k, v] of Object.entries(props)) Object.defineProperty(call, k, { value: v, enumerable: true });
  Object.defineProperty(call, LAYER_BRAND, { value: true });
  Object.defineProperty(call, inspect.custom, {
    value: () => `<${className} layer "${name}"${props.weightValues ? " (weights set)" : ""}>`,
  });
  const layer = Object.freeze(call) as unknown as Layer;
  return layer;
}

/** A copy of `layer` with some fields replaced (same identity unless `id` is given). */
export function withLayer(layer: Layer, changes: Partial<LayerInit>): Layer {
  return makeLayer(layer.className, {
    id: layer.id,
    name: layer.name,
    autoName: layer.autoName,
    config: layer.config,
    trainable: layer.trainable,
    batchInputShape: layer.batchInputShape,
    knownInputShapes: layer.knownInputShapes,
    inputDtype: layer.inputDtype,
    weightValues: layer.weightValues,
    weightsArg: layer.weightsArg,
    origin: layer.origin,
    ...changes,
  });
}

const CALL_OPTION_PROPS = {
  mask: described(t.unknown, "a mask tensor"),
  initial_state: described(t.unknown, "a list of state tensors"),
  constants: described(t.unknown, "a list of constant tensors"),
  training: Bool,
};

function checkCallOptions(layer: Layer, options: unknown): void {
  const family = familyOf(layer);
  const fn = family.fn;
  try {
    const o = decodeArgs(fn, CALL_OPTION_PROPS, options, {});
    const states = ["initial_state", "constants"].filter((k) => o[k] !== undefined && o[k] !== null);
    if (states.length && !family.takesStates)
      throw new KerasError(fn, `\`${states[0]}\` is for recurrent layers; ${fn}() does not take it`);
  } catch (e) {
    if (!(e instanceof KerasError)) throw e;
    throw within(fn, `calling layer "${layer.name}"`, e);
  }
}

function callLayer(layer: Layer, x: unknown, options?: CallOptions): unknown {
  if (options !== undefined) checkCallOptions(layer, options);
  if (isModel(x)) {
    if (options !== undefined)
      throw new KerasError(
        familyOf(layer).fn,
        "call options (mask, initial_state, ...) apply to tensors, not to a model",
      );
    return appendLayer(x, layer);
  }
  if (isSymbolicInput(x)) return callSymbolic(layer, x, options);
  return callEager(layer, x, options);
}

import { getFamily } from "./registry.js";
export function familyOf(layer: { className: string }): LayerFamily<any> {
  const f = getFamily(layer.className);
  if (!f) throw new KerasError("layer", `unknown layer class ${layer.className}`);
  return f;
}

/**
 * Decodes `args` for `family` and makes the layer value. `fromConfig`: the arguments come from a Keras
 * config, which may also hold the family's `configProps`.
 */
export function createLayer(family: LayerFamily<any>, args: unknown, fromConfig = false): Layer {
  const own = fromConfig ? { ...family.props, ...family.configProps } : family.props;
  const props = { ...COMMON_PROPS, ...own };
  const decoded = decodeArgs(family.fn, props, args, family.defaults as Record<string, unknown>, family.required ?? []);
  const config: Record<string, any> = {};
  const ownKeys = Object.keys(own);
  for (const [k, v] of Object.entries(decoded))
    if (!COMMON_KEYS.includes(k) || ownKeys.includes(k)) config[k] = isActivation(v) ? resolveActivation(v) : v; // a layer's own (defaults are shared)
  const validated = family.validate ? family.validate(config) : config;
  const shapeArgs = ownKeys.includes("input_dim") ? { ...decoded, input_dim: undefined } : decoded;
  const implied = family.impliedInputShape?.(validated as any);
  if (implied && !shapeArgs.input_shape && !shapeArgs.batch_input_shape && shapeArgs.input_dim === undefined)
    shapeArgs.input_shape = implied;
  return makeLayer(family.className, {
    name: decoded.name,
    config: validated,
    trainable: decoded.trainable ?? true,
    batchInputShape: batchInputShapeFrom(family.fn, family, shapeArgs),
    inputDtype: decoded.dtype ?? "float32",
    weightsArg: decoded.weights ?? null,
  });
}

/**
 * Declares a layer family and returns its dual R-style function:
 * `layer_x(args)` → a layer value; `layer_x(model | symbolic | tensor, args)` → the layer applied to it.
 */
export function defineLayer<C extends Record<string, any>>(family: LayerFamily<C>) {
  registerFamily(family);
  return dualLayerFunction(
    family.fn,
    (args) => createLayer(family, args),
    family.inputs === "many" ? "inputs" : "object",
  );
}

/** A record of named arguments, as opposed to what a layer can be applied to. */
function isArgumentRecord(a: unknown): boolean {
  return (
    a === undefined ||
    (a !== null && typeof a === "object" && !Array.isArray(a) && !isModel(a) && !isSymbolicInput(a) && !isTensorLike(a))
  );
}

/**
 * R's dual layer function around `make(args) => layer`: `f(args)` (or `f()`) is the layer value;
 * `f(object, args)` applies the new layer to `object` — a sequential model (append), a symbolic tensor
 * (functional graph) or data (eager).
 */
export function dualLayerFunction(
  fn: string,
  make: (args: Record<string, unknown> | undefined) => Layer,
  object = "object",
) {
  function layerFunction(args?: Record<string, unknown>): Layer;
  function layerFunction<T>(object: T, args?: Record<string, unknown>): any;
  function layerFunction(a?: unknown, b?: unknown, ...unused: unknown[]): unknown {
    refuseUnusedArguments(fn, 3, unused, `${fn}(args) or ${fn}(${object}, args)`);
    if (isArgumentRecord(a)) {
      if (b !== undefined)
        throw new KerasError(
          fn,
          `\`${object}\` must be a model, a symbolic tensor or data (a tensor or a nested array of numbers), or give a record of arguments alone; got ${describeValue(a)}`,
        );
      return make(a as Record<string, unknown> | undefined);
    }
    return make(b as Record<string, unknown> | undefined)(a);
  }
  Object.defineProperty(layerFunction, "name", { value: fn });
  return layerFunction;
}

function isTensorLike(x: unknown): boolean {
  return x !== null && typeof x === "object" && ("dataId" in (x as object) || ArrayBuffer.isView(x));
}

// ---------------------------------------------------------------------------------------------
// Weights

export function weightSpecsOf(layer: Layer, inputShapes: readonly Shape[]): readonly WeightSpec[] {
  const family = familyOf(layer);
  return family.weights ? family.weights(layer.config, inputShapes) : [];
}

const drawn = new WeakMap<object, { key: string; values: readonly WeightValue[] }>();
const shapesKey = (shapes: readonly Shape[]) => JSON.stringify(shapes.map((s) => s.slice(1)));

/**
 * The layer's weight values for the given input shapes: explicit ones if set, else the `weights`
 * argument, else drawn from the initializers once (memoised per layer identity, so every view of the
 * same layer sees the same numbers). Problems are KerasErrors of `fn`, or — building a model's
 * runtime for a verb, which names itself — ArgumentErrors.
 */
export function weightValuesOf(layer: Layer, inputShapes: readonly Shape[], fn?: string): readonly WeightValue[] {
  try {
    return layerWeightValues(layer, inputShapes, fn);
  } catch (e) {
    if (fn === undefined && e instanceof KerasError) throw new ArgumentError(e.detail, { cause: e.cause });
    throw e;
  }
}

function layerWeightValues(layer: Layer, inputShapes: readonly Shape[], fn = "build"): readonly WeightValue[] {
  const specs = weightSpecsOf(layer, inputShapes);
  const fitsSpecs = (ws: readonly WeightValue[]) =>
    ws.length === specs.length &&
    ws.every((v, i) => v.shape.length === specs[i].shape.length && v.shape.every((d, j) => d === specs[i].shape[j]));
  if (layer.weightValues) {
    const w = layer.weightValues;
    if (!fitsSpecs(w)) {
      throw new KerasError(
        fn,
        `layer "${layer.name}" holds weights for another input shape than ${inputShapes.map(formatShape).join(", ")}`,
        "shape",
      );
    }
    return w.map((v, i) => sealed(v, specs[i].trainable && layer.trainable));
  }
  const key = shapesKey(inputShapes);
  const memo = drawn.get(layer.origin);
  let values: readonly WeightValue[];
  // Input shapes that give the same weight shapes (another sequence length) reuse the drawn weights.
  if (memo && (memo.key === key || fitsSpecs(memo.values))) values = memo.values;
  else {
    if (memo) {
      throw new KerasError(
        fn,
        `layer "${layer.name}" was built for input shape ${memo.key} and cannot be applied to ${key}`,
        "shape",
      );
    }
    values = layer.weightsArg
      ? weightsFromRaw(familyOf(layer).fn, `layer "${layer.name}"`, specs, layer.weightsArg)
      : specs.map((s) => sealWeight(s.name, s.shape, drawWeight(fn, layer, s), s.trainable));
    drawn.set(layer.origin, { key, values });
  }
  return values.map((v, i) => sealed(v, specs[i].trainable && layer.trainable));
}

/** The initial values of one weight, with a user initializer's problems (or no memory) as `fn`'s KerasError. */
function drawWeight(fn: string, layer: Layer, spec: WeightSpec): Float32Array {
  try {
    return initialize(spec.initializer, spec.shape);
  } catch (e) {
    if (e instanceof RangeError)
      throw new KerasError(
        fn,
        `layer "${layer.name}": weight "${spec.name}" of shape ${formatShape(spec.shape)} could not be allocated (${e.message})`,
        "runtime",
      );
    throw asKerasError(fn, e, `layer "${layer.name}"`);
  }
}

/** The name of the argument of `layer` whose value is `value` (a spec it was given), if any. */
function argumentHolding(layer: Layer, value: unknown): string | undefined {
  return Object.keys(layer.config).find((k) => layer.config[k] === value);
}

const elements = (shape: readonly (number | null)[]) => shape.reduce<number>((n, d) => n * (d ?? 1), 1);

/**
 * What composing a layer checks beyond its family's shape rules, before anything is allocated: every
 * output and weight fits in a tensor (MAX_TENSOR_SIZE elements; the batch axis counts when known) and
 * every weight's initializer and constraint suit its shape.
 */
function checkBuild(fn: string, layer: Layer, inputShapes: readonly Shape[], outputs: readonly Shape[]): void {
  const fail = (message: string) => {
    throw new KerasError(fn, `layer "${layer.name}": ${message}`, "shape");
  };
  for (const shape of outputs)
    if (elements(shape) > MAX_TENSOR_SIZE)
      fail(
        `its output shape ${formatShape(shape)} holds ${elements(shape)} values, more than a tensor can (${MAX_TENSOR_SIZE})`,
      );
  if (inputShapes.some((s) => s.slice(1).some((d) => d === null))) return;
  for (const spec of weightSpecsOf(layer, inputShapes)) {
    const named = (v: unknown, what: string) => {
      const arg = argumentHolding(layer, v);
      return arg ? `\`${arg}\`` : `the ${what} of weight "${spec.name}"`;
    };
    if (elements(spec.shape) > MAX_TENSOR_SIZE)
      fail(
        `weight "${spec.name}" would have shape ${formatShape(spec.shape)}: ${elements(spec.shape)} values, more than a tensor can hold (${MAX_TENSOR_SIZE})`,
      );
    const initProblem = initializerProblem(spec.initializer, spec.shape);
    if (initProblem) fail(`${named(spec.initializer, "initializer")}: ${initProblem} (weight "${spec.name}")`);
    const constraintProblem = spec.constraint ? constraintShapeProblem(spec.constraint, spec.shape) : null;
    if (constraintProblem)
      fail(`${named(spec.constraint, "constraint")}: ${constraintProblem} (weight "${spec.name}")`);
  }
}

export function countParams(specs: readonly WeightSpec[]): number {
  return specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

export const NO_CALL_SHAPES: CallShapes = Object.freeze({ initialState: [], constants: [] });

/** Output shapes of `layer` on `inputShapes`, with the error naming the layer. */
export function inferOutputShapes(
  layer: Layer,
  inputShapes: readonly Shape[],
  call: CallShapes = NO_CALL_SHAPES,
  fn?: string,
): readonly Shape[] {
  const family = familyOf(layer);
  if (family.inputs !== "many" && inputShapes.length !== 1) {
    throw new KerasError(fn ?? family.fn, `layer "${layer.name}" takes one input, got ${inputShapes.length}`, "shape");
  }
  let outputs: readonly Shape[];
  try {
    outputs = family.outputShape(layer.config, inputShapes, call);
  } catch (e) {
    // Another function composing this layer (a wrapper, an eager caller) reports its problems as its own.
    if (fn && fn !== family.fn && e instanceof KerasError && e.fn === family.fn)
      throw within(fn, `layer "${layer.name}"`, e);
    throw e;
  }
  checkBuild(fn ?? family.fn, layer, inputShapes, outputs);
  return outputs;
}

/** Weights a layer holds without a model: explicit ones, or the ones drawn when it was first built. */
export function builtWeightsOf(layer: Layer): readonly WeightValue[] | null {
  if (layer.weightValues) return layer.weightValues;
  return drawn.get(layer.origin)?.values ?? null;
}

/**
 * Input shapes a standalone layer is built for: those of the model it was taken from, else those it
 * was built with (eager call), else its declared input shape.
 */
export function builtInputShapesOf(layer: Layer): Shape[] | null {
  if (layer.knownInputShapes) return [...layer.knownInputShapes];
  const memo = drawn.get(layer.origin);
  if (memo) return (JSON.parse(memo.key) as (number | null)[][]).map((s) => [null, ...s]);
  return layer.batchInputShape ? [layer.batchInputShape] : null;
}
