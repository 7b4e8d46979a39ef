/**
 * Keras 3's serialized form of a model (`keras.saving.serialize_keras_object`): what a `.keras` file's
 * config.json and `model_to_json()` hold, both ways.
 *
 * Every object is `{ module, class_name, config, registered_name }` (layers add `build_config`, the
 * model its `compile_config`); dtypes are `DTypePolicy` objects; a functional model's nodes are
 * `{ args, kwargs }` with `__keras_tensor__` references. It is built from, and read back through,
 * this package's Keras config (config.ts / layer_config.ts), so each layer family's config is written
 * once. Lambda layers and custom cells are written as Keras writes references to user code (by
 * name); reading them back needs `custom_objects` — nothing read from a file is ever run as code.
 */
import { KerasError, describeValue } from "../errors.js";
import { familyOf, isLayer, newId, withLayer, type Layer } from "../model/layer.js";
import type { FunctionalModel, Model, SequentialModel } from "../model/model.js";
import type { GraphNode, SymbolicTensor } from "../model/symbolic.js";
import type { Tensor } from "../backend/tf.js";
import type { Shape } from "../model/types.js";
import { buildPlan } from "../engine/plan.js";
import { ACTIVATION_NAMES } from "../ops/activations.js";
import { layer_lambda } from "../layers/core/lambda.js";
import { isCellLayer } from "../layers/recurrent/cell.js";
import { getFamily } from "../model/registry.js";
import { MODEL_CLASS_NAMES, fromConfig, tensorRefs } from "./config.js";
import { isCustomLayerFunction, type CustomLayerFunction } from "../layers/core/custom.js";
import {
  asRecord,
  dropInertKeys,
  dtypeName,
  layerToConfig,
  toJson,
  type ConfigRecord,
  type Json,
} from "./layer_config.js";

/** What `custom_objects` may hold: functions (Lambda functions, activations, losses, metrics) and cells. */
export type CustomObjects = Readonly<Record<string, unknown>>;

const FLOAT_MARK = "\u0000tskeras-float:";

/**
 * A number Keras requires to be a Python float (an optimizer's learning rate): JSON has one number
 * type, so an integral value is marked here and written with ".0" by `kerasJson`.
 */
export const kerasFloat = (x: number): Json => (Number.isInteger(x) ? `${FLOAT_MARK}${x}` : x);

/** The JSON text of a Keras 3 config, `kerasFloat` values written as floats ("1.0"). */
export function kerasJson(value: Json): string {
  return JSON.stringify(value).replace(/"\\u0000tskeras-float:(-?\d+)"/g, "$1.0");
}

const dtypePolicy = (name: string): ConfigRecord => ({
  module: "keras",
  class_name: "DTypePolicy",
  config: { name },
  registered_name: null,
});

/** Keras 3 activation names (keras.activations): an activation outside this list cannot be saved. */
const KERAS3_ACTIVATIONS = new Set([
  ...["celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish"],
  ...["hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu"],
  ...["sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus", "sparse_sigmoid"],
  ...["sparsemax", "squareplus", "swish", "tanh", "tanh_shrink", "threshold"],
]);

/** Keys of a layer config holding an activation by name. */
const ACTIVATION_KEYS = ["activation", "recurrent_activation"];

/** Keys of nested objects by suffix, and their Keras module. */
const OBJECT_MODULES: readonly [RegExp, string, string][] = [
  [/_initializer$/, "keras.initializers", "initializer"],
  [/_regularizer$/, "keras.regularizers", "regularizer"],
  [/_constraint$/, "keras.constraints", "constraint"],
];

/** The keys of a TypeScript-function layer's config that only this package writes (common.ts functionConfig). */
const FUNCTION_MARKERS = ["function_type", "function_source", "serializable", "note", "function_name"];

/** Keras 2 arguments Keras 3 has no use for: dropped when they hold the value Keras 3 assumes. */
const KERAS2_ONLY: Readonly<Record<string, unknown>> = { time_major: false };

/**
 * Config keys a Keras 3 class does not take (its `__init__` refuses them) though this package's config
 * has them: Embedding's Keras 2 `input_length` (the input layer carries the shape), SpatialDropout1D /
 * 2D / 3D's `trainable` (they have no weights).
 */
const NOT_TAKEN_BY_KERAS3: Readonly<Record<string, readonly string[]>> = {
  Embedding: ["input_length"],
  SpatialDropout1D: ["trainable"],
  SpatialDropout2D: ["trainable"],
  SpatialDropout3D: ["trainable"],
};

/** The fixed arguments of the cuDNN layers, written out when they are saved as Keras 3 GRU / LSTM. */
const CUDNN_AS_KERAS3: Readonly<Record<string, Record<string, Json>>> = {
  CuDNNGRU: { activation: "tanh", recurrent_activation: "sigmoid", use_bias: true, reset_after: true, dropout: 0 },
  CuDNNLSTM: { activation: "tanh", recurrent_activation: "sigmoid", use_bias: true, dropout: 0 },
};

// ---------------------------------------------------------------------------------------------
// To Keras 3

/**
 * One layer's Keras 3 object from its Keras config (`{ class_name, config }`, this package's form);
 * `where` names the layer for errors ("layer \"gru\""), `buildShape` is its `build_config`.
 */
function layerObject(fn: string, json: unknown, buildShape?: Json): ConfigRecord {
  const r = asRecord(json) as { class_name: string; config: ConfigRecord };
  const where = `layer "${String(r.config.name)}" (${r.class_name})`;
  if (String(r.config.name).includes("/"))
    console.warn(
      `${fn}(): layer name "${String(r.config.name)}" contains "/", which Keras 3 refuses: the file reads back here, not in Python Keras`,
    );
  let className = r.class_name;
  let module: string | null = "keras.layers";
  let registeredName: string | null = null;
  const config: ConfigRecord = { ...r.config };
  for (const k of ["batch_input_shape", "input_shape", "batch_size"]) delete config[k];
  for (const [k, assumed] of Object.entries(KERAS2_ONLY)) {
    if (!(k in config)) continue;
    if (config[k] !== assumed)
      throw new KerasError(fn, `${where}: \`${k} = ${JSON.stringify(config[k])}\` has no Keras 3 equivalent`, "io");
    delete config[k];
  }
  for (const k of NOT_TAKEN_BY_KERAS3[className] ?? []) delete config[k];
  if (CUDNN_AS_KERAS3[className]) {
    Object.assign(config, CUDNN_AS_KERAS3[className], { recurrent_dropout: 0, unroll: false });
    className = className === "CuDNNGRU" ? "GRU" : "LSTM";
  }
  if (className === "Lambda") {
    const name = config.function_name;
    config.function = {
      module: null,
      class_name: "function",
      config: typeof name === "string" && name ? name : String(config.name),
      registered_name: "function",
    };
    if (config.output_shape === null) delete config.output_shape;
  }
  if (className === "CustomRNNCell") {
    // Written as Keras writes a user's cell class: found again by that class name.
    className = String(config.class_name);
    delete config.class_name;
    module = null;
    registeredName = className;
  } else if (!getFamily(className)) {
    // A new_layer_class() layer: as Keras writes a user's layer class.
    module = null;
    registeredName = className;
  }
  for (const k of FUNCTION_MARKERS) delete config[k];
  config.dtype = dtypePolicy(String(config.dtype ?? "float32"));
  for (const [key, value] of Object.entries(config)) {
    if (value === null) continue;
    if (ACTIVATION_KEYS.includes(key) && typeof value === "string") {
      if (ACTIVATION_NAMES.includes(value) && !KERAS3_ACTIVATIONS.has(value))
        throw new KerasError(
          fn,
          `${where}: activation "${value}" has no Keras 3 equivalent, so a Keras 3 file cannot hold it`,
          "io",
        );
      continue;
    }
    const kind = OBJECT_MODULES.find(([re]) => re.test(key));
    if (kind) {
      const spec = asRecord(value);
      if (spec?.class_name === "Custom")
        throw new KerasError(
          fn,
          `${where}: \`${key}\` is a TypeScript function; a file can hold only built-in ${kind[2]}s`,
          "io",
        );
      if (spec)
        config[key] = {
          module: kind[1],
          class_name: spec.class_name,
          config: spec.config,
          registered_name: null,
        } as Json;
      continue;
    }
    if (key === "layer" && MODEL_CLASS_NAMES.includes(String(asRecord(value)?.class_name)))
      // A wrapped model (time_distributed over a model): Keras nests the model's own object.
      config[key] = modelToKeras3(fn, fromConfig(fn, value) as Model);
    else if (key === "layer" || key === "backward_layer" || key === "cell") config[key] = layerObject(fn, value);
    else if (key === "cells" && Array.isArray(value)) config[key] = value.map((c) => layerObject(fn, c));
  }
  const out: ConfigRecord = { module, class_name: className, config, registered_name: registeredName };
  if (buildShape !== undefined) out.build_config = { input_shape: buildShape };
  return out;
}

/** Layers Keras calls with their input tensors as separate arguments (`mha(query, value, key)`), not a list. */
const POSITIONAL_INPUTS = new Set(["MultiHeadAttention"]);
/** The keyword names of those separate input tensors, in argument order. */
const INPUT_KEYWORDS = ["query", "value", "key"];

/** A Keras 3 `__keras_tensor__` reference. */
const kerasTensor = (t: SymbolicTensor, ref: (t: SymbolicTensor) => [string, number, number]): ConfigRecord => ({
  class_name: "__keras_tensor__",
  config: { shape: [...t.shape], dtype: t.dtype, keras_history: ref(t) },
});

/** `build_config.input_shape`: one shape, or the list of a multi-input layer's shapes. */
const buildShapeOf = (shapes: readonly Shape[] | null | undefined): Json | undefined =>
  shapes ? (shapes.length === 1 ? [...shapes[0]] : shapes.map((s) => [...s])) : undefined;

function sequentialObject(fn: string, model: SequentialModel): ConfigRecord {
  let shapes: readonly (readonly Shape[] | null)[] = [];
  if (model.inputShape) shapes = buildPlan(model).layerInputShapes;
  const layers: Json[] = [];
  if (model.inputShape)
    layers.push({
      module: "keras.layers",
      class_name: "InputLayer",
      config: {
        batch_shape: [...model.inputShape],
        dtype: model.inputDtype,
        sparse: false,
        ragged: false,
        name: "input_layer",
        optional: false,
      },
      registered_name: null,
    });
  model.layers.forEach((l, i) => layers.push(layerObject(fn, layerToConfig(l, null), buildShapeOf(shapes[i]))));
  const config: ConfigRecord = { name: model.name, trainable: true, dtype: dtypePolicy("float32"), layers };
  const out: ConfigRecord = { module: "keras", class_name: "Sequential", config, registered_name: null };
  if (model.inputShape) {
    config.build_input_shape = [...model.inputShape];
    out.build_config = { input_shape: [...model.inputShape] };
  }
  return out;
}

function functionalObject(fn: string, model: FunctionalModel): ConfigRecord {
  const ref = tensorRefs(model);
  const tensor = (t: SymbolicTensor) => kerasTensor(t, ref);
  const shapes = buildPlan(model).layerInputShapes;
  const layers = model.layers.map((layer, i): Json => {
    if (layer.className === "InputLayer") {
      const c = layer.config;
      return {
        module: "keras.layers",
        class_name: "InputLayer",
        config: {
          batch_shape: toJson(c.batch_shape),
          dtype: String(c.dtype ?? "float32"),
          sparse: false,
          ragged: false,
          name: layer.name,
          optional: false,
        },
        registered_name: null,
        name: layer.name,
        inbound_nodes: [],
      };
    }
    const nodes = model.nodes.filter((n: GraphNode) => n.layer.id === layer.id);
    const family = familyOf(layer);
    const object = layerObject(fn, layerToConfig(layer, null), buildShapeOf(shapes[i]));
    // Keras builds these from their shapes by argument name (`build(query_shape, value_shape, key_shape)`).
    if (POSITIONAL_INPUTS.has(layer.className) && shapes[i])
      object.build_config = {
        shapes_dict: Object.fromEntries(shapes[i]!.map((s, j) => [`${INPUT_KEYWORDS[j]}_shape`, [...s]])),
      };
    const callKwargs: ConfigRecord = {};
    for (const k of family.callArgs ?? []) {
      const config = object.config as ConfigRecord;
      if (config[k]) callKwargs[k] = config[k];
      delete config[k];
    }
    const inbound = nodes.map((n): Json => {
      const kwargs: ConfigRecord = { ...callKwargs };
      if (n.training !== undefined) kwargs.training = n.training;
      if (n.mask) kwargs.mask = tensor(n.mask);
      if (n.initialState.length) kwargs.initial_state = n.initialState.map(tensor);
      if (n.constants.length) kwargs.constants = n.constants.map(tensor);
      if (POSITIONAL_INPUTS.has(layer.className)) return { args: n.inputs.map(tensor), kwargs };
      const args = family.inputs === "many" ? n.inputs.map(tensor) : tensor(n.inputs[0]);
      return { args: [args], kwargs };
    });
    return { ...object, name: layer.name, inbound_nodes: inbound };
  });
  // Keras writes a single input or output as one reference, several as a list.
  const endpoints = (list: readonly SymbolicTensor[]): Json => (list.length === 1 ? ref(list[0]) : list.map(ref));
  return {
    module: "keras.src.models.functional",
    class_name: "Functional",
    config: {
      name: model.name,
      trainable: true,
      layers,
      input_layers: endpoints(model.inputs),
      output_layers: endpoints(model.outputs),
    },
    registered_name: "Functional",
    build_config: { input_shape: null },
  };
}

/** The model's Keras 3 serialized form (without `compile_config`). */
export function modelToKeras3(fn: string, model: Model): ConfigRecord {
  return model.type === "sequential" ? sequentialObject(fn, model) : functionalObject(fn, model);
}

// ---------------------------------------------------------------------------------------------
// From Keras 3

const isKerasTensor = (v: unknown): boolean => asRecord(v)?.class_name === "__keras_tensor__";

/** `[layer, node, index]` of a `__keras_tensor__` (or of a Keras 2 reference, kept as is). */
function historyOf(v: unknown): Json {
  const r = asRecord(v);
  if (r && r.class_name === "__keras_tensor__") return (asRecord(r.config)?.keras_history ?? null) as Json;
  return v as Json;
}

/**
 * A config value read from Keras 3 in this package's Keras config form: `module`, `registered_name`,
 * `build_config` and `shared_object_id` dropped, dtype policies as names, nested layers as
 * `{ class_name, config }` — or, for Lambda layers and custom cells, as layer values made with
 * `custom_objects`.
 */
function fromKeras3Value(fn: string, v: unknown, key: string, custom: CustomObjects): unknown {
  if (Array.isArray(v)) return v.map((x) => fromKeras3Value(fn, x, key, custom));
  const activation = ACTIVATION_KEYS.includes(key) ? functionName(v) : null;
  if (activation !== null) {
    const f = custom[activation];
    return ACTIVATION_NAMES.includes(activation) || typeof f !== "function"
      ? activation
      : named(activation, f as (...args: any[]) => unknown);
  }
  const r = asRecord(v);
  if (!r) return v;
  if (key === "dtype" || r.class_name === "DTypePolicy") return dtypeName(r);
  if (typeof r.class_name === "string" && asRecord(r.config) !== undefined) {
    if (key === "layer" || key === "backward_layer" || key === "cell" || key === "cells")
      return layerFromKeras3(fn, r, custom);
    return { class_name: r.class_name, config: fromKeras3Value(fn, r.config, "", custom) };
  }
  return Object.fromEntries(Object.entries(r).map(([k, x]) => [k, fromKeras3Value(fn, x, k, custom)]));
}

/** The name of a function reference: a name, or Keras's `{ class_name: "function", config: name }`; else null. */
export function functionName(v: unknown): string | null {
  if (typeof v === "string") return v;
  const r = asRecord(v);
  return r && r.class_name === "function" && typeof r.config === "string" ? r.config : null;
}

/** `f` under the name a file gives it (the name a model's logs and configs then use). */
export function named(name: string, f: (...args: any[]) => unknown): (...args: any[]) => unknown {
  const g = (...args: any[]) => f(...args);
  Object.defineProperty(g, "name", { value: name });
  return g;
}

/** The custom-object key and description of a Keras 3 layer object that needs one, or null. */
function customNeed(r: Record<string, unknown>): { keys: string[]; what: string } | null {
  const c = asRecord(r.config) ?? {};
  const name = String(c.name ?? r.class_name);
  if (r.class_name === "Lambda") {
    const f = asRecord(c.function);
    const fnName = f && f.class_name === "function" && typeof f.config === "string" ? f.config : null;
    return {
      keys: fnName ? [name, fnName] : [name],
      what: `the function of Lambda layer "${name}"${fnName ? ` (function "${fnName}")` : ""}`,
    };
  }
  return null;
}

/**
 * TextVectorization's `standardize` / `split` functions, which Keras writes as function references
 * (`{ class_name: "function", config: "package>name" }`): the argument and the custom-object keys that
 * may give each (the registered name, or the name alone).
 */
function textFunctionRefs(r: Record<string, unknown>): { argument: string; keys: string[] }[] {
  const c = asRecord(r.config) ?? {};
  if (r.class_name !== "TextVectorization") return [];
  return ["standardize", "split"].flatMap((argument) => {
    const ref = asRecord(c[argument]) ? functionName(c[argument]) : null;
    return ref === null ? [] : [{ argument, keys: [...new Set([ref, ref.split(">").pop()!])] }];
  });
}

/** A layer (in config form, or a layer value) from a Keras 3 layer object. */
function layerFromKeras3(fn: string, r: Record<string, unknown>, custom: CustomObjects): unknown {
  const c = asRecord(r.config) ?? {};
  const className = String(r.class_name);
  const name = typeof c.name === "string" ? c.name : undefined;
  const refs = textFunctionRefs(r);
  if (refs.length) {
    const config = fromKeras3Value(fn, c, "", custom) as Record<string, unknown>;
    for (const { argument, keys } of refs)
      config[argument] = keys.map((k) => custom[k]).find((x) => typeof x === "function");
    return { class_name: className, config };
  }
  if (className === "Lambda") {
    const need = customNeed(r)!;
    // layer_lambda refuses a missing function and checks what a given one returns when it runs.
    const f = need.keys.map((k) => custom[k]).find((x) => typeof x === "function") as (x: Tensor) => Tensor;
    const outputShape = Array.isArray(c.output_shape) ? c.output_shape : null;
    const args = asRecord(c.arguments) ?? null;
    return layer_lambda({ f, output_shape: outputShape, arguments: args, name, trainable: c.trainable as boolean });
  }
  // A wrapped model: read as a model (the wrapper's fromConfig runs it as a layer).
  if (MODEL_CLASS_NAMES.includes(className)) return modelFromKeras3(fn, r, custom);
  const userClass = isKnownClass(className) ? undefined : customClass(r, custom);
  if (userClass) {
    // Keras's default from_config: the class called with its config.
    const { dtype, ...args } = c;
    dropInertKeys(args);
    const make = userClass as (args: Record<string, unknown>) => Layer;
    return make({ ...args, dtype: dtype === undefined ? undefined : dtypeName(dtype) });
  }
  if (!isKnownClass(className) && isCellLayer(custom[className])) {
    const cell = custom[className] as Layer;
    return withLayer(cell, { id: newId(), name: name ?? cell.name, autoName: name === undefined });
  }
  return { class_name: className, config: fromKeras3Value(fn, c, "", custom) };
}

const isKnownClass = (className: string): boolean => getFamily(className) !== undefined;

/** The new_layer_class() function `custom_objects` gives for a Keras 3 layer object, by registered or class name. */
function customClass(r: Record<string, unknown>, custom: CustomObjects): CustomLayerFunction<any> | undefined {
  return [r.registered_name, r.class_name]
    .filter((k): k is string => typeof k === "string")
    .map((k) => custom[k])
    .find(isCustomLayerFunction);
}

/**
 * Names every custom object the Keras 3 config needs that `custom_objects` lacks (Lambda functions,
 * custom cell classes, activations by unknown names), so one error lists them all.
 */
function missingCustomObjects(config: unknown, custom: CustomObjects): string[] {
  const missing: string[] = [];
  const visit = (v: unknown, key: string) => {
    if (Array.isArray(v)) return v.forEach((x) => visit(x, key));
    const activation = ACTIVATION_KEYS.includes(key) ? functionName(v) : null;
    if (activation !== null) {
      if (!ACTIVATION_NAMES.includes(activation) && typeof custom[activation] !== "function")
        missing.push(`"${activation}" (an activation function)`);
      return;
    }
    const r = asRecord(v);
    if (!r) return;
    if (typeof r.class_name === "string" && asRecord(r.config)) {
      const name = String(asRecord(r.config)?.name ?? r.class_name);
      const needs = [
        customNeed(r),
        ...textFunctionRefs(r).map(({ argument, keys }) => ({
          keys,
          what: `the \`${argument}\` function of TextVectorization layer "${name}"`,
        })),
      ];
      for (const need of needs)
        if (need && !need.keys.some((k) => typeof custom[k] === "function"))
          missing.push(`${need.keys.map((k) => `"${k}"`).join(" or ")} (${need.what})`);
      const isLayerObject = r.module === "keras.layers" || r.module === null || r.module === undefined;
      const layerish = asRecord(r.config)?.name !== undefined && isLayerObject && key !== "dtype";
      const special = ["Functional", "Sequential"].includes(r.class_name) || isOperationNode(r);
      if (layerish && !isKnownClass(r.class_name) && !special) {
        if (!isCellLayer(custom[r.class_name]) && !customClass(r, custom))
          missing.push(
            `"${r.class_name}" (a layer class this package does not have; give its new_layer_class() layer function, or an rnn_cell_custom() cell)`,
          );
        return;
      }
    }
    for (const [k, x] of Object.entries(r)) visit(x, k);
  };
  visit(config, "");
  return [...new Set(missing)];
}

/**
 * Keras 3 operations recorded as graph nodes (e.g. the `NotEqual` of an Embedding's mask). A legacy
 * .h5 config drops their `module`: there an operation is an unknown class whose config is its name only.
 */
const isOperationNode = (r: Record<string, unknown>) =>
  (typeof r.module === "string" && r.module.startsWith("keras.src.ops.")) ||
  (r.module === undefined &&
    !isKnownClass(String(r.class_name)) &&
    Object.keys(asRecord(r.config) ?? {}).every((k) => k === "name"));

/**
 * The Keras 3 layer object `r` with the call arguments its nodes' kwargs give (`use_causal_mask`) in
 * its config: layer arguments here, so every call of one layer must give the same.
 */
function withCallArgs(
  fn: string,
  r: Record<string, unknown>,
  callArgs: readonly string[],
  nodes: readonly unknown[],
): Record<string, unknown> {
  const given = nodes.map((node) => {
    const kwargs = asRecord(asRecord(node)?.kwargs) ?? {};
    return Object.fromEntries(callArgs.filter((k) => kwargs[k] !== undefined).map((k) => [k, kwargs[k]]));
  });
  const first = JSON.stringify(given[0] ?? {});
  if (given.some((g) => JSON.stringify(g) !== first))
    throw new KerasError(
      fn,
      `layer "${String(r.name)}" is called with different ${callArgs.map((k) => `\`${k}\``).join(" / ")} in its nodes; here they are arguments of the layer, one value per layer`,
      "io",
    );
  return { ...r, config: { ...(asRecord(r.config) ?? {}), ...given[0] } };
}

/** A Keras 3 functional config in this package's (Keras 2 node) form. */
function functionalFromKeras3(fn: string, c: Record<string, unknown>, custom: CustomObjects): Record<string, unknown> {
  const specs = Array.isArray(c.layers) ? (c.layers as unknown[]) : [];
  const operations = new Set(
    specs
      .map(asRecord)
      .filter((r): r is Record<string, unknown> => !!r && isOperationNode(r))
      .map((r) => String(r.name)),
  );
  const fromOperation = (v: unknown) => {
    const h = historyOf(v);
    return Array.isArray(h) && operations.has(String(h[0]));
  };
  const layers = specs.flatMap((s) => {
    const r = asRecord(s);
    if (!r) throw new KerasError(fn, `every entry of \`layers\` must be a layer, got ${describeValue(s)}`, "io");
    if (isOperationNode(r)) return [];
    const nodes = Array.isArray(r.inbound_nodes) ? r.inbound_nodes : [];
    const callArgs = getFamily(String(r.class_name))?.callArgs ?? [];
    const layerSpec = callArgs.length ? withCallArgs(fn, r, callArgs, nodes) : r;
    const inbound = nodes.map((node) => {
      const n = asRecord(node);
      // Keras 2 nodes are already lists of [layer, node, index, kwargs].
      if (!n) return node;
      const args = Array.isArray(n.args) ? n.args : [];
      const given = asRecord(n.kwargs) ?? {};
      const first = args[0];
      const tensors = POSITIONAL_INPUTS.has(String(r.class_name))
        ? [...args, ...INPUT_KEYWORDS.map((k) => given[k]).filter((v) => v !== undefined && v !== null)]
        : args.length === 1 && Array.isArray(first)
          ? first
          : args;
      if (tensors.length === 0 || !tensors.every(isKerasTensor))
        throw new KerasError(
          fn,
          `layer "${String(r.name)}" is called on something other than tensors; only layer graphs can be read`,
          "io",
        );
      if (tensors.some(fromOperation))
        throw new KerasError(
          fn,
          `layer "${String(r.name)}" takes the result of a Keras operation (${[...operations].join(", ")}), which this package cannot run`,
          "io",
        );
      const kwargs: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(given)) {
        if (v === null || v === undefined || INPUT_KEYWORDS.includes(k) || callArgs.includes(k)) continue;
        // The masks Keras records from an Embedding / Masking layer: this package propagates them itself.
        if (k === "mask" && fromOperation(v)) continue;
        kwargs[k] = Array.isArray(v) ? v.map(historyOf) : isKerasTensor(v) ? historyOf(v) : v;
      }
      return tensors.map((t) => [...(historyOf(t) as Json[]), kwargs]);
    });
    const converted = layerFromKeras3(fn, layerSpec, custom);
    const layer = isLayer(converted) ? converted : (converted as Record<string, unknown>);
    return [
      isLayer(layer)
        ? { class_name: layer.className, config: {}, layer, name: r.name, inbound_nodes: inbound }
        : { ...layer, name: r.name, inbound_nodes: inbound },
    ];
  });
  const endpoints = (v: unknown) => (Array.isArray(v) && typeof v[0] === "string" ? [v] : v);
  return { name: c.name, layers, input_layers: endpoints(c.input_layers), output_layers: endpoints(c.output_layers) };
}

/**
 * Rebuilds a model from its Keras 3 serialized form (or a Keras 2 `{ class_name, config }` model
 * config). Throws a KerasError listing every missing custom object at once.
 */
export function modelFromKeras3(fn: string, json: unknown, custom: CustomObjects = {}): Model {
  const r = asRecord(json);
  if (!r || typeof r.class_name !== "string" || !asRecord(r.config))
    throw new KerasError(
      fn,
      `the model config must be a Keras model object ({ class_name, config }), got ${describeValue(json)}`,
      "io",
    );
  if (!MODEL_CLASS_NAMES.includes(r.class_name))
    throw new KerasError(fn, `the config describes a "${r.class_name}", not a Sequential or Functional model`, "io");
  const missing = missingCustomObjects(r.config, custom);
  if (missing.length)
    throw new KerasError(
      fn,
      `the model needs \`custom_objects\` for: ${missing.join(", ")}. Nothing in a file is run as code: give them, e.g. custom_objects = { name: function }`,
      "io",
    );
  const c = asRecord(r.config)!;
  const isFunctional = r.class_name !== "Sequential";
  if (!isFunctional && c.layers !== undefined && !Array.isArray(c.layers))
    throw new KerasError(
      fn,
      `the Sequential config's \`layers\` must be a list of layers, got ${describeValue(c.layers)}`,
      "io",
    );
  const converted = isFunctional
    ? functionalFromKeras3(fn, c, custom)
    : {
        name: c.name,
        layers: (Array.isArray(c.layers) ? c.layers : []).map((l) => {
          const lr = asRecord(l);
          if (!lr) throw new KerasError(fn, `every entry of \`layers\` must be a layer, got ${describeValue(l)}`, "io");
          return lr.class_name === "InputLayer"
            ? { class_name: "InputLayer", config: fromKeras3Value(fn, lr.config, "", custom) }
            : layerFromKeras3(fn, lr, custom);
        }),
      };
  const model = fromConfig(fn, converted);
  if (isLayer(model)) throw new KerasError(fn, "the config describes a layer, not a model", "io");
  return model as Model;
}
