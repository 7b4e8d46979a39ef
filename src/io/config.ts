/**
 * Keras config JSON (snake_case keys) of layers and models, and back:
 * - a layer: `{ class_name, config: { name, trainable, dtype, ...family config } }`;
 * - a sequential model: `{ name, layers: [...] }`, the first layer carrying `batch_input_shape`;
 * - a functional model (Keras 2 style): `{ name, layers: [{ class_name, config, name, inbound_nodes }],
 *   input_layers, output_layers }`, an inbound node being a list of `[layer_name, node_index, tensor_index, kwargs]`.
 * Weights are not part of a config (as in Keras).
 */
import { KerasError, describeValue } from "../errors.js";
import { familyOf, isLayer, type CallOptions, type Layer } from "../model/layer.js";
import type { FunctionalModel, Model, SequentialModel } from "../model/model.js";
import { keras_model_sequential } from "../model/sequential.js";
import { keras_model } from "../model/functional.js";
import { layer_input, type GraphNode, type SymbolicTensor } from "../model/symbolic.js";
import {
  asRecord,
  dtypeName,
  layerFromConfig,
  layerToConfig,
  toJson,
  type ConfigRecord,
  type Json,
  type LayerConfig,
} from "./layer_config.js";

export { layerFromConfig, layerToConfig, type ConfigRecord, type Json, type LayerConfig } from "./layer_config.js";

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

// ---------------------------------------------------------------------------------------------
// To config

function sequentialToConfig(model: SequentialModel): SequentialConfig {
  return {
    name: model.name,
    layers: model.layers.map((l, i) =>
      layerToConfig(l, i === 0 ? (model.inputShape ?? l.batchInputShape) : l.batchInputShape),
    ),
  };
}

/**
 * How a functional model's configs refer to a tensor: `[layer_name, node_index, tensor_index]`, the node
 * index counting the calls of that layer in graph order.
 */
export function tensorRefs(model: FunctionalModel): (t: SymbolicTensor) => [string, number, number] {
  const nameOf = new Map(model.layers.map((l) => [l.id, l.name]));
  const nodeIndex = new Map<GraphNode, number>();
  const calls = new Map<number, number>();
  for (const node of model.nodes) {
    const k = calls.get(node.layer.id) ?? 0;
    calls.set(node.layer.id, k + 1);
    nodeIndex.set(node, k);
  }
  return (t) => [nameOf.get(t.node.layer.id)!, nodeIndex.get(t.node)!, t.index];
}

function functionalToConfig(model: FunctionalModel): FunctionalConfig {
  const ref = tensorRefs(model);
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
        config: toJson({
          batch_input_shape: c.batch_shape,
          dtype: c.dtype,
          sparse: false,
          ragged: false,
          name: layer.name,
        }) as ConfigRecord,
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
  return keras_model_sequential({
    name: typeof c.name === "string" ? c.name : undefined,
    input_batch_shape: inputBatchShape,
    input_dtype: inputDtype as any,
    layers,
  });
}

type Triple = [string, number, number];
const isTriple = (v: unknown): v is Triple =>
  Array.isArray(v) && v.length >= 3 && typeof v[0] === "string" && typeof v[1] === "number" && typeof v[2] === "number";

function functionalFromConfig(fn: string, c: Record<string, unknown>): FunctionalModel {
  const specs = c.layers as Record<string, unknown>[];
  /** Output tensors by layer name, then by node index. */
  const produced = new Map<string, SymbolicTensor[][]>();
  const tensorAt = ([layerName, node, index]: Triple): SymbolicTensor | undefined =>
    produced.get(layerName)?.[node]?.[index];
  const built = new Map<string, Layer>();
  const pending = specs.map((s) => {
    const r = asRecord(s);
    if (!r || typeof r.class_name !== "string")
      throw new KerasError(fn, `every entry of \`layers\` must be a layer config, got ${describeValue(s)}`, "io");
    const name = (r.name ?? asRecord(r.config)?.name) as string;
    const nodes = Array.isArray(r.inbound_nodes) ? (r.inbound_nodes as unknown[]) : [];
    return { spec: r, name, nodes, done: 0 };
  });
  for (const p of pending) {
    if (p.spec.class_name !== "InputLayer") continue;
    const ic = asRecord(p.spec.config) ?? {};
    const batchShape = (ic.batch_input_shape ?? ic.batch_shape) as (number | null)[];
    produced.set(p.name, [
      [layer_input({ batch_shape: batchShape, dtype: (dtypeName(ic.dtype) as any) ?? undefined, name: p.name })],
    ]);
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
        const extra = (v: unknown) =>
          isTriple(v)
            ? tensorAt(v)
            : Array.isArray(v)
              ? v.map((x) => (isTriple(x) ? tensorAt(x) : undefined))
              : undefined;
        const mask = kwargs.mask !== undefined ? extra(kwargs.mask) : undefined;
        const initialState = kwargs.initial_state !== undefined ? extra(kwargs.initial_state) : undefined;
        const constants = kwargs.constants !== undefined ? extra(kwargs.constants) : undefined;
        const missing = (v: unknown) => v === undefined || (Array.isArray(v) && v.some((x) => x === undefined));
        if (
          inputs.some((t) => t === undefined) ||
          (kwargs.mask !== undefined && missing(mask)) ||
          (kwargs.initial_state !== undefined && missing(initialState)) ||
          (kwargs.constants !== undefined && missing(constants))
        )
          break;
        let layer = built.get(p.name);
        if (!layer)
          built.set(
            p.name,
            (layer = layerFromConfig(
              fn,
              isLayer(p.spec.layer) ? p.spec.layer : { class_name: p.spec.class_name, config: p.spec.config },
            )),
          );
        // Every tensor the node refers to has been produced (checked above).
        const options: CallOptions = {};
        if (mask !== undefined) options.mask = mask as SymbolicTensor;
        if (initialState !== undefined) options.initial_state = initialState as SymbolicTensor[];
        if (constants !== undefined) options.constants = constants as SymbolicTensor[];
        if (typeof kwargs.training === "boolean") options.training = kwargs.training;
        const many = familyOf(layer).inputs === "many";
        const out = layer(
          (many || inputs.length > 1 ? inputs : inputs[0]) as SymbolicTensor | SymbolicTensor[],
          Object.keys(options).length ? options : undefined,
        );
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
  if (stuck)
    throw new KerasError(
      fn,
      `node ${stuck.done} of layer "${stuck.name}" refers to tensors that no layer produces`,
      "io",
    );
  const endpoints = (key: string) => {
    const v = c[key];
    if (!Array.isArray(v) || !v.every(isTriple))
      throw new KerasError(
        fn,
        `\`${key}\` must be a list of [layer_name, node_index, tensor_index], got ${describeValue(v)}`,
        "io",
      );
    return (v as Triple[]).map((t) => {
      const s = tensorAt(t);
      if (!s) throw new KerasError(fn, `\`${key}\` refers to ${JSON.stringify(t)}, which no layer produces`, "io");
      return s;
    });
  };
  return keras_model({
    inputs: endpoints("input_layers"),
    outputs: endpoints("output_layers"),
    name: typeof c.name === "string" ? c.name : undefined,
  });
}

/** One Keras 2 inbound node: a list of `[layer_name, node_index, tensor_index, kwargs]`. */
function keras2Node(fn: string, layerName: string, node: unknown): { ref: Triple; kwargs: Record<string, unknown> }[] {
  if (!Array.isArray(node) || !node.every(isTriple)) {
    throw new KerasError(
      fn,
      `layer "${layerName}": an inbound node must be a list of [layer_name, node_index, tensor_index, kwargs], got ${describeValue(node)}`,
      "io",
    );
  }
  return node.map((e) => ({ ref: [e[0], e[1], e[2]] as Triple, kwargs: asRecord((e as unknown[])[3]) ?? {} }));
}

/** The class names a Keras config gives a model (a top-level one, or one nested in a wrapper). */
export const MODEL_CLASS_NAMES: readonly string[] = ["Sequential", "Functional", "Model"];

/** Rebuilds a model or a layer from its Keras config. */
export function fromConfig(fn: string, config: unknown): Model | Layer {
  const c = asRecord(config);
  if (!c) throw new KerasError(fn, `\`config\` must be a Keras config (a record), got ${describeValue(config)}`, "io");
  if (typeof c.class_name === "string" && asRecord(c.config)) {
    if (MODEL_CLASS_NAMES.includes(c.class_name)) return fromConfig(fn, c.config);
    return layerFromConfig(fn, c);
  }
  if (!Array.isArray(c.layers))
    throw new KerasError(
      fn,
      "`config` must be a model config ({ name, layers, ... }) or a layer config ({ class_name, config })",
      "io",
    );
  return "input_layers" in c ? functionalFromConfig(fn, c) : sequentialFromConfig(fn, c);
}
