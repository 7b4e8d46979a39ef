/**
 * Keras config JSON (snake_case keys) of layers and models, and back:
 * - a layer: `{ class_name, config: { name, trainable, dtype, ...family config } }`;
 * - a sequential model: `{ name, layers: [...] }`, the first layer carrying `batch_input_shape`;
 * - a functional model (Keras 2 style): `{ name, layers: [{ class_name, config, name, inbound_nodes }],
 *   input_layers, output_layers }`, an inbound node being a list of `[layer_name, node_index, tensor_index, kwargs]`.
 * Weights are not part of a config (as in Keras).
 */
import { KerasError, describeValue } from "../errors.js";
import { closestName } from "../args.js";
import { createLayer, familyOf, isLayer, type CallOptions, type Layer } from "../model/layer.js";
import { familyNames, getFamily } from "../model/registry.js";
import type { FunctionalModel, Model, SequentialModel } from "../model/model.js";
import { keras_model_sequential } from "../model/sequential.js";
import { keras_model } from "../model/functional.js";
import { layer_input, type GraphNode, type SymbolicTensor } from "../model/symbolic.js";
import type { Shape } from "../model/types.js";
import { serializeConfigValue } from "../layers/common.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type ConfigRecord = { [key: string]: Json };

export interface LayerConfig {
  class_name: string;
  config: ConfigRecord;
}

/** A layer inside a functional model config. */
export interface GraphLayerConfig extends LayerConfig {
  name: string;
  inbound_nodes: Json[];
}

export interface SequentialConfig {
  name: string;
  layers: LayerConfig[];
}

export interface FunctionalConfig {
  name: string;
  layers: GraphLayerConfig[];
  input_layers: [string, number, number][];
  output_layers: [string, number, number][];
}

const asRecord = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

// ---------------------------------------------------------------------------------------------
// To config

/** The Keras config of one layer; `batchInputShape` is written as `batch_input_shape` (first layer). */
export function layerToConfig(layer: Layer, batchInputShape: Shape | null = layer.batchInputShape): LayerConfig {
  const family = familyOf(layer);
  const own = family.toConfig ? family.toConfig(layer.config) : (serializeConfigValue(layer.config) as Record<string, unknown>);
  const config: Record<string, unknown> = { name: layer.name, trainable: layer.trainable, dtype: layer.inputDtype };
  if (batchInputShape) config.batch_input_shape = [...batchInputShape];
  Object.assign(config, own);
  return { class_name: layer.className, config: toJson(config) as ConfigRecord };
}

/** Plain JSON data: typed arrays become arrays, undefined becomes null, functions are refused. */
function toJson(v: unknown): Json {
  if (v === undefined || v === null) return null;
  if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "function") return String(v.name || "function");
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return v.map(toJson);
  return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, toJson(x)]));
}

function sequentialToConfig(model: SequentialModel): SequentialConfig {
  return {
    name: model.name,
    layers: model.layers.map((l, i) => layerToConfig(l, i === 0 ? model.inputShape ?? l.batchInputShape : l.batchInputShape)),
  };
}

function functionalToConfig(model: FunctionalModel): FunctionalConfig {
  const nameOf = new Map(model.layers.map((l) => [l.id, l.name]));
  const nodeIndex = new Map<GraphNode, number>();
  const calls = new Map<number, number>();
  for (const node of model.nodes) {
    const k = calls.get(node.layer.id) ?? 0;
    calls.set(node.layer.id, k + 1);
    nodeIndex.set(node, k);
  }
  const ref = (t: SymbolicTensor): [string, number, number] => [nameOf.get(t.node.layer.id)!, nodeIndex.get(t.node)!, t.index];
  const callKwargs = (node: GraphNode): ConfigRecord => {
    const kwargs: ConfigRecord = {};
    if (node.training !== undefined) kwargs.training = node.training;
    if (node.mask) kwargs.mask = ref(node.mask);
    if (node.initialState.length) kwargs.initial_state = node.initialState.map(ref);
    if (node.constants.length) kwargs.constants = node.constants.map(ref);
    return kwargs;
  };
  const layers = model.layers.map((layer): GraphLayerConfig => {
    if (layer.className === "InputLayer") {
      const c = layer.config;
      return {
        class_name: "InputLayer",
        config: toJson({ batch_input_shape: c.batch_shape, dtype: c.dtype, sparse: false, ragged: false, name: layer.name }) as ConfigRecord,
        name: layer.name,
        inbound_nodes: [],
      };
    }
    const nodes = model.nodes.filter((n) => n.layer.id === layer.id);
    const inbound = nodes.map((n) => {
      const kwargs = callKwargs(n);
      return n.inputs.map((t) => [...ref(t), kwargs]) as Json;
    });
    return { ...layerToConfig(layer, null), name: layer.name, inbound_nodes: inbound };
  });
  return {
    name: model.name,
    layers,
    input_layers: model.inputs.map(ref),
    output_layers: model.outputs.map(ref),
  };
}

/** The Keras config of a model (`{ name, layers, ... }`) or of a layer (`{ class_name, config }`). */
export function toConfig(object: Model | Layer): SequentialConfig | FunctionalConfig | LayerConfig {
  if (isLayer(object)) return layerToConfig(object);
  return object.type === "sequential" ? sequentialToConfig(object) : functionalToConfig(object);
}

// ---------------------------------------------------------------------------------------------
// From config

/** Keras bookkeeping keys this package has no use for, dropped when they hold their inert value. */
const INERT_KEYS: Readonly<Record<string, unknown>> = { ragged: false, sparse: false, synchronized: false, rms_scaling: false, lora_rank: null, lora_alpha: null, autocast: true };

/** Keras 3 writes dtype policies as objects: `{ class_name: "DTypePolicy", config: { name: "float32" } }`. */
function dtypeName(d: unknown): unknown {
  const r = asRecord(d);
  return r ? asRecord(r.config)?.name ?? d : d;
}

/** Rebuilds a layer value from `{ class_name, config }` (fresh weights from its initializers). */
export function layerFromConfig(fn: string, json: unknown): Layer {
  const r = asRecord(json);
  if (!r || typeof r.class_name !== "string" || !asRecord(r.config)) {
    throw new KerasError(fn, `a layer config must be { class_name, config }, got ${describeValue(json)}`, "io");
  }
  const family = getFamily(r.class_name);
  if (!family || r.class_name === "InputLayer") {
    const hint = closestName(r.class_name, familyNames().filter((n) => n !== "InputLayer"));
    throw new KerasError(fn, `unknown layer class "${r.class_name}"${hint ? `; did you mean "${hint}"?` : ""}`, "io");
  }
  const { name, trainable, dtype, batch_input_shape, batch_shape, input_shape, ...rest } = asRecord(r.config)!;
  for (const [k, inert] of Object.entries(INERT_KEYS)) if (k in rest && rest[k] === inert) delete rest[k];
  const own = family.fromConfig ? family.fromConfig(rest) : rest;
  const shape = (batch_input_shape ?? batch_shape) as (number | null)[] | undefined;
  const args: Record<string, unknown> = {
    ...own,
    name,
    trainable,
    dtype: dtype === undefined || dtype === null ? undefined : dtypeName(dtype),
    batch_input_shape: shape ?? undefined,
    input_shape: shape ? undefined : (input_shape ?? undefined),
  };
  try {
    return createLayer(family, args);
  } catch (e) {
    if (e instanceof KerasError) throw new KerasError(fn, `layer "${String(name ?? r.class_name)}" (${r.class_name}): ${e.message}`, e.kind);
    throw e;
  }
}

function sequentialFromConfig(fn: string, c: Record<string, unknown>): SequentialModel {
  const list = c.layers as unknown[];
  let inputBatchShape: (number | null)[] | undefined;
  let inputDtype: string | undefined;
  let rest = list;
  const first = asRecord(list[0]);
  // Keras >= 2.4 and Keras 3 write an explicit InputLayer first.
  if (first && first.class_name === "InputLayer") {
    const ic = asRecord(first.config) ?? {};
    inputBatchShape = (ic.batch_input_shape ?? ic.batch_shape) as (number | null)[];
    inputDtype = dtypeName(ic.dtype) as string | undefined;
    rest = list.slice(1);
  }
  const layers = rest.map((l) => layerFromConfig(fn, l));
  return keras_model_sequential({ name: typeof c.name === "string" ? c.name : undefined, input_batch_shape: inputBatchShape, input_dtype: inputDtype as any, layers });
}

type Triple = [string, number, number];
const isTriple = (v: unknown): v is Triple => Array.isArray(v) && v.length >= 3 && typeof v[0] === "string" && typeof v[1] === "number" && typeof v[2] === "number";

function functionalFromConfig(fn: string, c: Record<string, unknown>): FunctionalModel {
  const specs = c.layers as Record<string, unknown>[];
  /** Output tensors by layer name, then by node index. */
  const produced = new Map<string, SymbolicTensor[][]>();
  const tensorAt = ([layerName, node, index]: Triple): SymbolicTensor | undefined => produced.get(layerName)?.[node]?.[index];
  const built = new Map<string, Layer>();
  const pending = specs.map((s) => {
    const r = asRecord(s);
    if (!r || typeof r.class_name !== "string") throw new KerasError(fn, `every entry of \`layers\` must be a layer config, got ${describeValue(s)}`, "io");
    const name = (r.name ?? asRecord(r.config)?.name) as string;
    const nodes = Array.isArray(r.inbound_nodes) ? (r.inbound_nodes as unknown[]) : [];
    return { spec: r, name, nodes, done: 0 };
  });
  for (const p of pending) {
    if (p.spec.class_name !== "InputLayer") continue;
    const ic = asRecord(p.spec.config) ?? {};
    const batchShape = (ic.batch_input_shape ?? ic.batch_shape) as (number | null)[];
    produced.set(p.name, [[layer_input({ batch_shape: batchShape, dtype: (dtypeName(ic.dtype) as any) ?? undefined, name: p.name })]]);
  }
  // Nodes may depend on nodes of layers listed later (shared layers): process until nothing moves.
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const p of pending) {
      if (p.spec.class_name === "InputLayer") continue;
      while (p.done < p.nodes.length) {
        const entries = keras2Node(fn, p.name, p.nodes[p.done]);
        const inputs = entries.map((e) => tensorAt(e.ref));
        const kwargs = entries[0]?.kwargs ?? {};
        const extra = (v: unknown) => (isTriple(v) ? tensorAt(v) : Array.isArray(v) ? v.map((x) => (isTriple(x) ? tensorAt(x) : undefined)) : undefined);
        const mask = kwargs.mask !== undefined ? extra(kwargs.mask) : undefined;
        const initialState = kwargs.initial_state !== undefined ? extra(kwargs.initial_state) : undefined;
        const constants = kwargs.constants !== undefined ? extra(kwargs.constants) : undefined;
        const missing = (v: unknown) => v === undefined || (Array.isArray(v) && v.some((x) => x === undefined));
        if (inputs.some((t) => t === undefined) || (kwargs.mask !== undefined && missing(mask)) || (kwargs.initial_state !== undefined && missing(initialState)) || (kwargs.constants !== undefined && missing(constants))) break;
        let layer = built.get(p.name);
        if (!layer) built.set(p.name, (layer = layerFromConfig(fn, { class_name: p.spec.class_name, config: p.spec.config })));
        const options: CallOptions = {};
        if (mask !== undefined) options.mask = mask;
        if (initialState !== undefined) options.initial_state = initialState;
        if (constants !== undefined) options.constants = constants;
        if (typeof kwargs.training === "boolean") options.training = kwargs.training;
        const many = familyOf(layer).inputs === "many";
        const out = layer(many || inputs.length > 1 ? inputs : inputs[0], Object.keys(options).length ? options : undefined);
        const outs = (Array.isArray(out) ? out : [out]) as SymbolicTensor[];
        const list = produced.get(p.name) ?? [];
        list.push(outs);
        produced.set(p.name, list);
        p.done++;
        progressed = true;
      }
    }
  }
  const stuck = pending.find((p) => p.spec.class_name !== "InputLayer" && p.done < p.nodes.length);
  if (stuck) throw new KerasError(fn, `node ${stuck.done} of layer "${stuck.name}" refers to tensors that no layer produces`, "io");
  const endpoints = (key: string) => {
    const v = c[key];
    if (!Array.isArray(v) || !v.every(isTriple)) throw new KerasError(fn, `\`${key}\` must be a list of [layer_name, node_index, tensor_index], got ${describeValue(v)}`, "io");
    return (v as Triple[]).map((t) => {
      const s = tensorAt(t);
      if (!s) throw new KerasError(fn, `\`${key}\` refers to ${JSON.stringify(t)}, which no layer produces`, "io");
      return s;
    });
  };
  return keras_model({ inputs: endpoints("input_layers"), outputs: endpoints("output_layers"), name: typeof c.name === "string" ? c.name : undefined });
}

/** One Keras 2 inbound node: a list of `[layer_name, node_index, tensor_index, kwargs]`. */
function keras2Node(fn: string, layerName: string, node: unknown): { ref: Triple; kwargs: Record<string, unknown> }[] {
  if (!Array.isArray(node) || !node.every(isTriple)) {
    throw new KerasError(fn, `layer "${layerName}": an inbound node must be a list of [layer_name, node_index, tensor_index, kwargs], got ${describeValue(node)}`, "io");
  }
  return node.map((e) => ({ ref: [e[0], e[1], e[2]] as Triple, kwargs: asRecord((e as unknown[])[3]) ?? {} }));
}

/** Rebuilds a model or a layer from its Keras config. */
export function fromConfig(fn: string, config: unknown): Model | Layer {
  const c = asRecord(config);
  if (!c) throw new KerasError(fn, `\`config\` must be a Keras config (a record), got ${describeValue(config)}`, "io");
  if (typeof c.class_name === "string" && asRecord(c.config)) {
    if (["Sequential", "Functional", "Model"].includes(c.class_name)) return fromConfig(fn, c.config);
    return layerFromConfig(fn, c);
  }
  if (!Array.isArray(c.layers)) throw new KerasError(fn, "`config` must be a model config ({ name, layers, ... }) or a layer config ({ class_name, config })", "io");
  return "input_layers" in c ? functionalFromConfig(fn, c) : sequentialFromConfig(fn, c);
}
