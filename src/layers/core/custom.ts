/**
 * new_layer_class(): user-defined layers, R keras3's `Layer()` / `new_layer_class()` as values. A
 * definition declares the layer's arguments (with defaults), its weights (`build` returns them, made
 * with `add_weight`), `call`, and optionally `compute_output_shape`, `compute_mask` and `get_config`;
 * the result is a dual layer function like the built-in ones.
 *
 * A user class is not in the registry of built-in families (two definitions may share a class name,
 * as two Python sessions may): each layer value carries its family in its config (`OWN_FAMILY`), so
 * the value is complete in itself. Files name the class; reading one back needs the layer function in
 * `custom_objects` (keras3_config.ts).
 */
import * as t from "io-ts";
import { tf, type Tensor } from "../../backend/tf.js";
import {
  Bool,
  FnOf,
  Num,
  Nullable,
  NullIsDefault,
  PositiveInt,
  RecordOf,
  Str,
  accepting,
  decodeArgs,
  described,
  isPlainRecord,
  type ArgsOf,
  type Props,
  refuseArgumentsPast,
} from "../../args.js";
import { ArgumentError, KerasError, asKerasError, callUser, describeValue } from "../../errors.js";
import { COMMON_PROPS, createLayer } from "../../model/layer.js";
import { dualLayerFunction, type LayerFunction } from "../../model/dual.js";
import { OWN_FAMILY, getFamily } from "../../model/registry.js";
import { formatShape, shapesCompatible } from "../../model/shape.js";
import type { ForwardContext, ForwardResult, LayerFamily, Shape, WeightSpec } from "../../model/types.js";
import { initializerSpec, type InitializerSpec } from "../../ops/initializers.js";
import type { RegularizerSpec } from "../../ops/regularizers.js";
import type { ConstraintSpec } from "../../ops/constraints.js";
import { ConstraintArg, InitializerArg, RegularizerArg } from "../common.js";

// ---------------------------------------------------------------------------------------------
// add_weight

const WEIGHT_DECLARATION = Symbol.for("tskeras.weight_declaration");

/** A weight a custom layer's `build` declares (what `add_weight` returns). */
export interface WeightDeclaration {
  readonly [WEIGHT_DECLARATION]: true;
  /** Keras's variable name; null: the key `build` returns it under. */
  readonly name: string | null;
  readonly shape: readonly number[];
  readonly initializer: InitializerSpec;
  readonly regularizer: RegularizerSpec | null;
  readonly constraint: ConstraintSpec | null;
  readonly trainable: boolean;
}

const WeightShape = accepting<number | readonly number[]>()(
  described(
    new t.Type<number[], number[], unknown>(
      "WeightShape",
      (u): u is number[] => Array.isArray(u) && u.every((d) => PositiveInt.is(d)),
      (u, c) => {
        if (PositiveInt.is(u)) return t.success([u]);
        return Array.isArray(u) && u.every((d) => PositiveInt.is(d)) ? t.success([...u]) : t.failure(u, c);
      },
      t.identity,
    ),
    "a shape of positive integers (a vector; [] for a scalar)",
  ),
);

const ADD_WEIGHT_PROPS = {
  /** The weight's shape (every dimension known). */
  shape: WeightShape,
  /** Initializer of the weight (Keras's default for a float weight: glorot_uniform). */
  initializer: InitializerArg,
  /** Regularizer whose penalty on the weight is added to the loss. */
  regularizer: RegularizerArg,
  /** Constraint applied to the weight after each optimizer update. */
  constraint: ConstraintArg,
  /** FALSE: the optimizer leaves the weight alone. */
  trainable: Bool,
  /** The variable's name in files (default: the key `build` returns the weight under). */
  name: NullIsDefault(Str),
};

/**
 * `add_weight({ shape, initializer = "glorot_uniform", regularizer = NULL, constraint = NULL,
 * trainable = TRUE, name = NULL })`: declares one weight of a custom layer, in its `build`.
 *
 * @example
 * const build = (input_shape: Shape, { config }: { config: { units: number } }) => ({
 *   kernel: add_weight({ shape: [input_shape.at(-1)!, config.units], regularizer: regularizer_l2(0.01) }),
 *   bias: add_weight({ shape: [config.units], initializer: "zeros" }),
 * });
 */
export function add_weight(args: ArgsOf<typeof ADD_WEIGHT_PROPS, "shape">): WeightDeclaration {
  refuseArgumentsPast("add_weight", ["args"], arguments);
  const a = decodeArgs(
    "add_weight",
    ADD_WEIGHT_PROPS,
    args,
    {
      initializer: initializerSpec("glorot_uniform"),
      regularizer: null,
      constraint: null,
      trainable: true,
      name: null,
    },
    ["shape"],
  );
  return Object.freeze({
    [WEIGHT_DECLARATION]: true as const,
    name: a.name,
    shape: Object.freeze([...a.shape]),
    initializer: a.initializer,
    regularizer: a.regularizer,
    constraint: a.constraint,
    trainable: a.trainable,
  });
}

const isWeightDeclaration = (v: unknown): v is WeightDeclaration =>
  v !== null && typeof v === "object" && (v as WeightDeclaration)[WEIGHT_DECLARATION] === true;

// ---------------------------------------------------------------------------------------------
// The definition

/** What a custom layer's `call` receives besides its inputs. */
export interface CustomCallContext<A> {
  /** The weights `build` declared, by their keys (variables while training: gradients flow through them). */
  readonly weights: Readonly<Record<string, Tensor>>;
  /** The layer's arguments. */
  readonly config: Readonly<A>;
  /** The input's mask (e.g. (batch, time) from an embedding with mask_zero = TRUE), or null. */
  readonly mask: Tensor | null;
  readonly training: boolean;
  /** Adds a scalar tensor to the model's loss (Keras's `self$add_loss()`). */
  readonly add_loss: (loss: Tensor) => void;
}

/** A custom layer's definition (see `new_layer_class`). */
export interface LayerClassDefinition<A extends Record<string, unknown>> {
  /** The class name files use (a Python identifier: Keras finds the class by it). */
  classname: string;
  /** The layer's own arguments and their defaults (JSON values: they are written to configs and files). */
  arguments?: A;
  /** Arguments the layer function must be given (their defaults above are only for the type). */
  required?: readonly (keyof A & string)[];
  /** The weights for an input shape (batch axis included, null when unknown): a record of add_weight() values. */
  build?: (
    input_shape: Shape,
    context: { readonly config: Readonly<A>; readonly add_weight: typeof add_weight },
  ) => Record<string, WeightDeclaration> | void;
  /** The forward computation: the output tensor of `inputs`. */
  call: (inputs: Tensor, context: CustomCallContext<A>) => Tensor;
  /** The output shape (batch axis included) of an input shape; NULL: found by running `call`. */
  compute_output_shape?: (input_shape: Shape, config: Readonly<A>) => readonly (number | null)[];
  /** The output mask from the inputs and their mask (giving one makes the layer support masking). */
  compute_mask?: (inputs: Tensor, mask: Tensor | null, config: Readonly<A>) => Tensor | null;
  /** TRUE: the input mask is passed on unchanged when there is no compute_mask (Keras's supports_masking). */
  supports_masking?: boolean;
  /** The config written to files (default: the arguments); the layer function must take it back. */
  get_config?: (config: Readonly<A>) => Record<string, unknown>;
}

/** JSON data: what a custom layer's arguments may hold (configs and files carry them). */
const isJson = (v: unknown, depth = 0): boolean => {
  if (depth > 32) return false;
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => isJson(x, depth + 1));
  return isPlainRecord(v) && Object.values(v).every((x) => isJson(x, depth + 1));
};
const JsonValue = described(
  new t.Type<unknown>(
    "Json",
    (u): u is unknown => isJson(u),
    (u, c) => (isJson(u) ? t.success(u) : t.failure(u, c)),
    t.identity,
  ),
  "JSON data (numbers, strings, booleans, null, and lists or records of them)",
);

/** The codec of a custom argument, from its default's kind. */
const codecOfDefault = (v: unknown): t.Mixed =>
  typeof v === "number" ? Num : typeof v === "boolean" ? Bool : typeof v === "string" ? Str : JsonValue;

const CLASSNAME = described(
  t.refinement(t.string, (s) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s)),
  "a class name (letters, digits and underscores, not starting with a digit)",
);
/** Classes a user class may not shadow: the files of both would mean the same name. */
const MODEL_CLASSES = ["Sequential", "Functional", "Model", "InputLayer"];

const DEFINITION_PROPS = {
  classname: CLASSNAME,
  arguments: RecordOf(JsonValue, "a record of the layer's arguments and their defaults (JSON values)"),
  required: described(t.array(t.string), "a list of argument names"),
  build: Nullable(FnOf<(...a: never[]) => unknown>()),
  call: FnOf<(...a: never[]) => unknown>(),
  compute_output_shape: Nullable(FnOf<(...a: never[]) => unknown>()),
  compute_mask: Nullable(FnOf<(...a: never[]) => unknown>()),
  supports_masking: Nullable(Bool),
  get_config: Nullable(FnOf<(...a: never[]) => unknown>()),
};

type Definition = LayerClassDefinition<Record<string, unknown>>;
type Config = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// The family

/** The weights `build` declares for `input`, trainable ones first (Keras's order of weights and files). */
function declaredWeights(def: Definition, c: Config, input: Shape): { key: string; spec: WeightSpec }[] {
  if (!def.build) return [];
  const what = "`build` (a function of the input shape)";
  const r = callUser(what, () => def.build!(input, { config: c, add_weight }));
  if (r === undefined || r === null) return [];
  if (!isPlainRecord(r) || !Object.values(r).every(isWeightDeclaration))
    throw new ArgumentError(`${what} must return a record of add_weight() values, got ${describeValue(r)}`);
  const list = Object.entries(r).map(([key, w]) => ({
    key,
    spec: {
      name: w.name ?? key,
      shape: w.shape,
      initializer: w.initializer,
      trainable: w.trainable,
      regularizer: w.regularizer,
      constraint: w.constraint,
    },
  }));
  return [...list.filter((w) => w.spec.trainable), ...list.filter((w) => !w.spec.trainable)];
}

/** The keys of the declared weights, per config and input shape (`build` is pure: asked once). */
const keysMemo = new WeakMap<object, Map<string, readonly string[]>>();
function weightKeys(def: Definition, c: Config, input: Shape): readonly string[] {
  const key = JSON.stringify(input.slice(1));
  let byShape = keysMemo.get(c);
  if (!byShape) keysMemo.set(c, (byShape = new Map()));
  let keys = byShape.get(key);
  if (!keys) byShape.set(key, (keys = declaredWeights(def, c, input).map((w) => w.key)));
  return keys;
}

/** `call` on `x` with `weights` (in declaration order): the output and the losses it added. */
function runCall(def: Definition, c: Config, ctx: Omit<ForwardContext, "inputs"> & { x: Tensor }) {
  const keys = weightKeys(def, c, [null, ...ctx.x.shape.slice(1)]);
  const losses: Tensor[] = [];
  const add_loss = (loss: Tensor) => {
    if (!(loss instanceof tf.Tensor) || loss.size !== 1)
      throw new ArgumentError(`\`add_loss\` takes a scalar tensor, got ${describeValue(loss)}`);
    losses.push(tf.reshape(loss, []));
  };
  const weights = Object.freeze(Object.fromEntries(keys.map((k, i) => [k, ctx.weights[i]])));
  const y = callUser("`call`", () =>
    def.call(ctx.x, { weights, config: c, mask: ctx.masks[0] ?? null, training: ctx.training, add_loss }),
  );
  if (!(y instanceof tf.Tensor) || y.dtype === "string" || y.dtype === "complex64")
    throw new ArgumentError(`\`call\` must return a numeric tensor, got ${describeValue(y)}`);
  return { y, losses };
}

/** The output shape `compute_output_shape` gives, checked. */
function declaredOutputShape(def: Definition, c: Config, input: Shape): Shape {
  const what = "`compute_output_shape` (a function of the input shape)";
  const shape = callUser(what, () => def.compute_output_shape!(input, c));
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => d === null || PositiveInt.is(d)))
    throw new ArgumentError(
      `${what} must return a shape (batch axis included) of positive integers or null, got ${describeValue(shape)}`,
    );
  return Object.freeze([...shape]);
}

/**
 * The output shape found by running `call` on zeros (zero weights of the declared shapes), twice with
 * different sizes for the unknown input dims: an output dim that changes with them is unknown.
 */
function probedOutputShape(def: Definition, c: Config, input: Shape): Shape {
  const run = (fill: number) =>
    tf.tidy(() => {
      const x = tf.zeros(input.map((d) => d ?? fill));
      const weights = declaredWeights(def, c, input).map((w) => tf.zeros([...w.spec.shape]));
      return runCall(def, c, { x, weights, masks: [null], training: false }).y.shape;
    });
  const [a, b] = [run(2), run(3)];
  if (a.length !== b.length)
    throw new ArgumentError("`call` returns outputs of different ranks for different input sizes");
  return a.map((d, i) => (d === b[i] ? d : null));
}

function customFamily(def: Definition, codecs: Props, defaults: Config): LayerFamily<Config> {
  const fn = def.classname;
  const keras = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw asKerasError(fn, e);
    }
  };
  const family: LayerFamily<Config> = {
    className: def.classname,
    fn,
    props: codecs,
    defaults,
    required: def.required ?? [],
    // The value carries its family (see the module comment); a symbol key stays out of every config.
    validate: (c) => ({ ...c, [OWN_FAMILY]: family }),
    outputShape: (c, [input]) =>
      keras(() => [def.compute_output_shape ? declaredOutputShape(def, c, input) : probedOutputShape(def, c, input)]),
    weights: (c, [input]) => keras(() => declaredWeights(def, c, input).map((w) => w.spec)),
    forward: (c, ctx): ForwardResult => {
      const x = ctx.inputs[0];
      const { y, losses } = runCall(def, c, { ...ctx, x });
      if (def.compute_output_shape) {
        const declared = declaredOutputShape(def, c, x.shape);
        if (!shapesCompatible(y.shape, declared))
          throw new ArgumentError(
            `\`call\` returned shape ${formatShape(y.shape)} where \`compute_output_shape\` gives ${formatShape(declared)}`,
          );
      }
      const mask = ctx.masks[0] ?? null;
      let outMask: Tensor | null = null;
      if (def.compute_mask) {
        const m = callUser("`compute_mask`", () => def.compute_mask!(x, mask, c));
        if (m !== null && (!(m instanceof tf.Tensor) || m.dtype === "string"))
          throw new ArgumentError(`\`compute_mask\` must return a tensor or null, got ${describeValue(m)}`);
        outMask = m;
      } else if (def.supports_masking) outMask = mask;
      return { outputs: [y], masks: [outMask], losses };
    },
    mask: "drop",
    toConfig: (c) => {
      const config = def.get_config
        ? callUser("`get_config`", () => def.get_config!(c))
        : Object.fromEntries(Object.keys(codecs).map((k) => [k, c[k]]));
      if (!isPlainRecord(config) || !isJson(config))
        throw new KerasError(fn, `\`get_config\` must return a record of JSON values, got ${describeValue(config)}`);
      return config;
    },
  };
  return family;
}

// ---------------------------------------------------------------------------------------------
// new_layer_class

const LAYER_CLASS = Symbol.for("tskeras.layer_class");

/** A custom layer function (what new_layer_class returns; what `custom_objects` names a class with). */
export type CustomLayerFunction<A extends Record<string, unknown>> = LayerFunction<
  ArgsOf<typeof COMMON_PROPS> & { -readonly [K in keyof A]?: A[K] }
> & { readonly classname: string };

export function isCustomLayerFunction(f: unknown): f is CustomLayerFunction<Record<string, unknown>> {
  return typeof f === "function" && (f as unknown as Record<symbol, unknown>)[LAYER_CLASS] === true;
}

/**
 * `new_layer_class({ classname, arguments, build, call, compute_output_shape, compute_mask,
 * supports_masking, get_config })`: a custom layer, as R keras3's `Layer()` — but a value: `build`
 * returns the weights (made with `add_weight`) instead of assigning them, and `call` receives them by
 * name with the layer's arguments, the input mask and the training flag. Returns a dual layer function
 * (`layer_x(args)` a layer value, `layer_x(object, args)` the layer applied) taking the arguments and
 * the standard layer arguments (name, input_shape, trainable, weights, ...). Saved models name the
 * class; load them with `custom_objects = { [classname]: the function }`.
 *
 * @example
 * const layer_scaled_dense = new_layer_class({
 *   classname: "ScaledDense",
 *   arguments: { units: 4, scale: 1 },
 *   build: (input_shape, { config, add_weight }) => ({
 *     kernel: add_weight({ shape: [input_shape.at(-1)!, config.units] }),
 *   }),
 *   call: (x, { weights, config }) => tf.mul(tf.matMul(x, weights.kernel), config.scale),
 * });
 */
export function new_layer_class<A extends Record<string, unknown> = Record<string, never>>(
  definition: LayerClassDefinition<A>,
): CustomLayerFunction<A> {
  const fn = "new_layer_class";
  refuseArgumentsPast(fn, ["definition"], arguments);
  const d = decodeArgs(
    fn,
    DEFINITION_PROPS,
    definition,
    {
      arguments: {},
      required: [],
      build: null,
      compute_output_shape: null,
      compute_mask: null,
      supports_masking: null,
      get_config: null,
    },
    ["classname", "call"],
  );
  if (getFamily(d.classname) || MODEL_CLASSES.includes(d.classname))
    throw new KerasError(fn, `\`classname\` "${d.classname}" is a built-in class; choose another name`);
  const args = d.arguments as Config;
  const common = Object.keys(args).filter((k) => Object.hasOwn(COMMON_PROPS, k));
  if (common.length)
    throw new KerasError(
      fn,
      `\`arguments\` may not name the standard layer arguments (${common.map((k) => `\`${k}\``).join(", ")}): every layer takes them`,
    );
  const unknown = (d.required as string[]).filter((k) => !Object.hasOwn(args, k));
  if (unknown.length)
    throw new KerasError(fn, `\`required\` names ${unknown.map((k) => `\`${k}\``).join(", ")}, not in \`arguments\``);
  const codecs = Object.fromEntries(Object.entries(args).map(([k, v]) => [k, codecOfDefault(v)]));
  const defaults = Object.fromEntries(Object.entries(args).filter(([k]) => !(d.required as string[]).includes(k)));
  const def: Definition = {
    classname: d.classname,
    arguments: args,
    required: d.required,
    build: d.build ?? undefined,
    call: d.call,
    compute_output_shape: d.compute_output_shape ?? undefined,
    compute_mask: d.compute_mask ?? undefined,
    supports_masking: d.supports_masking ?? false,
    get_config: d.get_config ?? undefined,
  } as Definition;
  const family = customFamily(def, codecs, defaults);
  const layerFunction = dualLayerFunction<CustomLayerFunction<A>>(def.classname, (a) => createLayer(family, a));
  Object.defineProperty(layerFunction, LAYER_CLASS, { value: true });
  Object.defineProperty(layerFunction, "classname", { value: def.classname, enumerable: true });
  return Object.freeze(layerFunction);
}
