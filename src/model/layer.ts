/**
 * Layer values: frozen, callable (as R's layer instances are functions) and dual (see `defineLayer`).
 * This module is the data of a layer and its family; applying one — to a sequential model (append), a
 * symbolic tensor (functional graph) or concrete data (eager run) — needs the tiers above it and is
 * installed by engine/apply.ts (`installLayerApplication`).
 */
import * as t from "io-ts";
import { inspect } from "node:util";
import { ArgumentError, KerasError, asKerasError, within } from "../errors.js";
import {
  Bool,
  DType,
  MAX_TENSOR_SIZE,
  Nullable,
  NullIsDefault,
  PositiveInt,
  ShapeArg,
  decodeArgs,
  described,
  type ArgsOf,
  type ConfigOf,
  type Props,
} from "../args.js";
import { initialize, initializerProblem } from "../ops/initializers.js";
import { constraintShapeProblem } from "../ops/constraints.js";
import { isActivation, resolveActivation } from "../ops/activations.js";
import type { CallShapes, LayerFamily, Shape, WeightSpec, WeightValue } from "./types.js";
import { isWeightData, sealRawWeights, sealWeight, sealed, weightsFromRaw } from "./weights.js";
import { formatShape } from "./shape.js";
import { OWN_FAMILY, getFamily, registerFamily } from "./registry.js";
import {
  dualLayerFunction,
  type ApplyLayer,
  type CallOptions,
  type LayerFunction,
  type LayerFunctionWith,
  type Outputs,
} from "./dual.js";

export const LAYER_BRAND = Symbol.for("tskeras.layer");

export type { CallOptions };

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

/**
 * A layer value: its data, and applicable to a sequential model, symbolic tensors or data (see
 * `Applied`). `O`: whether it returns one tensor or a list (cells; `return_state = TRUE`); a layer whose
 * kind is not known statically (`get_layer()`) may return either.
 */
export interface Layer<O extends Outputs = Outputs> extends LayerData, ApplyLayer<O> {}

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

/** Arguments every layer accepts (R keras's standard layer arguments; NULL means not given, as in R). */
export const COMMON_PROPS = {
  /** The input shape without the batch axis, on the first layer of a model (`[timesteps, features]`). */
  input_shape: NullIsDefault(ShapeArg),
  /** The input shape with the batch axis (`[32, 10, 8]`): a stateful layer needs its batch size. */
  batch_input_shape: NullIsDefault(ShapeArg),
  /** The batch size, together with `input_shape`. */
  batch_size: NullIsDefault(PositiveInt),
  /** The number of input features (the last axis), instead of `input_shape`. */
  input_dim: NullIsDefault(PositiveInt),
  /** The input data type (float32 by default). */
  dtype: NullIsDefault(DType),
  /** The layer's name, unique in a model (generated when not given). */
  name: NullIsDefault(described(t.string, "a string")),
  /** FALSE: the layer's weights are not trained (see freeze_weights()). */
  trainable: NullIsDefault(Bool),
  /** Initial weights, in get_weights() order. */
  weights: Nullable(
    described(
      t.refinement(t.array(t.unknown), (list) => list.every(isWeightData)),
      "a list of arrays (tensors, nested arrays of numbers or typed arrays)",
    ),
  ),
};
const COMMON_KEYS = Object.keys(COMMON_PROPS);
type CommonProps = typeof COMMON_PROPS;

/**
 * The arguments of a layer function whose own codecs are `P` (required: `R`): the standard layer
 * arguments, then the family's own (which win when both name one, as Embedding's `input_dim`).
 */
export type LayerArgs<P extends Props, R extends keyof P = never> = ArgsOf<Omit<CommonProps, keyof P> & P, R>;

/** The dual function of a layer family with codecs `P`, required arguments `R` and outputs `O`. */
export type LayerFunctionOf<P extends Props, R extends keyof P = never, O extends Outputs = "one"> = [R] extends [never]
  ? LayerFunction<LayerArgs<P, R>, O>
  : LayerFunctionWith<LayerArgs<P, R>, O>;

/**
 * What a family module declares: its LayerFamily with the codecs `P` typed, required arguments `R`
 * among them, and config `C` (by default what the codecs decode to).
 */
export type FamilySpec<P extends Props, R extends keyof P, C> = Omit<
  LayerFamily<C & Record<string, any>>,
  "props" | "required"
> & {
  readonly props: P;
  readonly required?: readonly R[];
};

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

/** How a layer value is applied to what it is called on (installed by engine/apply.ts). */
export type LayerApplication = (layer: Layer, x: unknown, options?: CallOptions) => unknown;
let application: LayerApplication | null = null;

/** Installs how layer values are applied: engine/apply.ts does, when it is loaded. */
export function installLayerApplication(apply: LayerApplication): void {
  application = apply;
}

/** A copy of a layer config; a user class's family (OWN_FAMILY) is kept, out of sight of printing and spreading. */
function ownConfig(config: Readonly<Record<PropertyKey, any>>): Record<string, any> {
  const copy = { ...config };
  const family = config[OWN_FAMILY];
  if (family) Object.defineProperty(copy, OWN_FAMILY, { value: family, enumerable: false });
  return copy;
}

/** Builds a frozen, callable layer value. */
export function makeLayer(className: string, init: LayerInit): Layer {
  const call = function (x: unknown, options?: CallOptions) {
    if (!application) throw new Error("internal: layer application is not installed (import engine/apply.ts)");
    return application(layer, x, options);
  };
  const name = init.name ?? snakeCase(className);
  const props: LayerData = {
    [LAYER_BRAND]: true,
    id: init.id ?? newId(),
    className,
    name,
    autoName: init.autoName ?? init.name === undefined,
    config: Object.freeze(ownConfig(init.config)),
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

export function familyOf(layer: { className: string; config?: Readonly<Record<PropertyKey, any>> }): LayerFamily<any> {
  const f = (layer.config?.[OWN_FAMILY] as LayerFamily<any> | undefined) ?? getFamily(layer.className);
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
 * The function's argument type is derived from the family's codecs (`LayerArgs`).
 */
export function defineLayer<
  P extends Props,
  R extends keyof P & string = never,
  C extends Record<string, any> = ConfigOf<P>,
  O extends Outputs = "one",
>(family: FamilySpec<P, R, NoInfer<C>>): LayerFunctionOf<P, R, O> {
  registerFamily(family as LayerFamily<C>);
  return dualLayerFunction(
    family.fn,
    (args) => createLayer(family as LayerFamily<C>, args),
    family.inputs === "many" ? "inputs" : "object",
  );
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
