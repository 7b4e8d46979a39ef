/**
 * The `modelTopology` of a TensorFlow.js layers model (model.json) both ways, what tfjs-layers 4.22
 * can run, and the names it gives weights. tfjs-layers reads Keras 2 configs (the form io/config.ts
 * writes: `batch_input_shape`, `inbound_nodes` of `[layer, node, tensor, kwargs]`) after turning
 * every snake_case key and string value into camelCase; the facts below come from its sources
 * (node_modules/@tensorflow/tfjs-layers/dist) and are checked against it by test/io/tfjs_*.test.ts.
 */
import { KerasError, describeValue } from "../errors.js";
import { familyOf, snakeCase, weightSpecsOf, type Layer } from "../model/layer.js";
import { isModel } from "../model/guards.js";
import type { Model } from "../model/model.js";
import type { Shape } from "../model/types.js";
import { getFamily } from "../model/registry.js";
import { buildPlan, type Plan, type Ref } from "../engine/plan.js";
import { ACTIVATIONS, type Activation } from "../ops/activations.js";
import { recurrentCellOf } from "../layers/recurrent/rnn_layer.js";
import { cellOf } from "../layers/recurrent/cell.js";
import { fromConfig, toConfig, type ConfigRecord, type Json, type LayerConfig } from "./config.js";
import { asRecord, layerToConfig } from "./layer_config.js";

// ---------------------------------------------------------------------------------------------
// Value vocabularies

/** Our activation → the name tfjs-layers reads with the same formula. */
const ACTIVATION_TO_TFJS: Readonly<Record<string, string>> = {
  linear: "linear",
  relu: "relu",
  relu6: "relu6",
  elu: "elu",
  selu: "selu",
  sigmoid: "sigmoid",
  tanh: "tanh",
  softmax: "softmax",
  log_softmax: "log_softmax",
  softplus: "softplus",
  softsign: "softsign",
  swish: "swish",
  silu: "swish",
  mish: "mish",
  gelu: "gelu",
  // tfjs's hard_sigmoid is clip(0.2 x + 0.5, 0, 1), the Keras 2 formula.
  hard_sigmoid_keras2: "hard_sigmoid",
};
const ACTIVATION_FROM_TFJS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(ACTIVATION_TO_TFJS).map(([ours, theirs]) => [theirs, ours])),
  swish: "swish",
};
const ACTIVATION_WHY_NOT: Readonly<Record<string, string>> = {
  hard_sigmoid:
    'tfjs-layers computes "hard_sigmoid" as clip(0.2 x + 0.5, 0, 1) (Keras 2), not clip(x / 6 + 1/2, 0, 1) (Keras 3); "hard_sigmoid_keras2" is the formula it has',
  gelu_approximate:
    'tfjs-layers registers its tanh-approximate gelu as "gelu_new" and cannot read that name from a file',
};

/** Initializer classes whose tfjs-layers name differs. */
const INITIALIZER_TO_TFJS: Readonly<Record<string, string>> = {
  LecunNormal: "LeCunNormal",
  LecunUniform: "LeCunUniform",
};
const INITIALIZER_FROM_TFJS = Object.fromEntries(Object.entries(INITIALIZER_TO_TFJS).map(([a, b]) => [b, a]));

/** tfjs-layers' valid tensor names (common.ts isValidTensorName); a layer's name prefixes its weights'. */
const TENSOR_NAME = /^[A-Za-z0-9][-A-Za-z0-9._/]*$/;

const isActivation = (v: unknown): v is Activation =>
  v !== null && typeof v === "object" && typeof (v as Activation).fn === "function" && !("class_name" in v);
const isSpec = (v: unknown): v is { class_name: string; config: Record<string, unknown>; fn?: unknown } =>
  v !== null && typeof v === "object" && typeof (v as { class_name?: unknown }).class_name === "string";

// ---------------------------------------------------------------------------------------------
// What tfjs-layers 4.22 can run

/** Layers tfjs-layers has no class for (or none we can fill), with the reason given to the user. */
const NO_TFJS_LAYER: Readonly<Record<string, string>> = {
  Subtract: "tfjs-layers 4.22 has no Subtract layer",
  ActivityRegularization: "tfjs-layers 4.22 has no ActivityRegularization layer",
  Lambda: "its TypeScript function cannot be stored in a file",
  CustomRNNCell: "its TypeScript step function cannot be stored in a file",
  CuDNNGRU: "tfjs-layers has no cuDNN layers; convert it with layer_from_cudnn() first (same numbers)",
  CuDNNLSTM: "tfjs-layers has no cuDNN layers; convert it with layer_from_cudnn() first (same numbers)",
  ConvLSTM1D: "tfjs-layers 4.22 has ConvLSTM2D only",
  ConvLSTM3D: "tfjs-layers 4.22 has ConvLSTM2D only",
  TextVectorization:
    "tfjs-layers 4.22 has no TextVectorization layer (no string processing): save the model as .keras, or save the layers after it and vectorize the text before predict()",
  StringLookup: "tfjs-layers 4.22 has no StringLookup layer (no string lookups): save the model as .keras",
  IntegerLookup: "tfjs-layers 4.22 has no IntegerLookup layer: save the model as .keras",
};

/** Our layer classes tfjs-layers 4.22 has with the same computation (subject to the checks below). */
const TFJS_LAYERS = new Set([
  "InputLayer",
  "Dense",
  "Activation",
  "Dropout",
  "SpatialDropout1D",
  "GaussianNoise",
  "Embedding",
  "Masking",
  "Flatten",
  "Reshape",
  "Permute",
  "RepeatVector",
  "Concatenate",
  "Add",
  "Multiply",
  "Average",
  "Maximum",
  "Minimum",
  "Dot",
  "BatchNormalization",
  "LayerNormalization",
  "Conv1D",
  "MaxPooling1D",
  "AveragePooling1D",
  "GlobalMaxPooling1D",
  "GlobalAveragePooling1D",
  "SimpleRNN",
  "GRU",
  "LSTM",
  "RNN",
  "SimpleRNNCell",
  "GRUCell",
  "LSTMCell",
  "StackedRNNCells",
  "ConvLSTM2D",
  "Bidirectional",
  "TimeDistributed",
]);

const ELEMENTWISE_MERGES = new Set(["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]);
const RECURRENT_LAYERS = new Set(["SimpleRNN", "GRU", "LSTM", "RNN", "ConvLSTM2D", "Bidirectional"]);

/** The cells of an RNN layer or a StackedRNNCells cell, in order (a single cell for the others). */
function cellsOf(cell: Layer | readonly Layer[]): readonly Layer[] {
  const list = Array.isArray(cell) ? cell : [cell as Layer];
  return list.length === 1 && list[0].className === "StackedRNNCells" ? (list[0].config.cells as Layer[]) : list;
}
const isStacked = (layer: Layer) => layer.className === "RNN" && cellsOf(layer.config.cell).length > 1;

/** Why the values of a layer's own arguments cannot be written for tfjs-layers. */
function argumentRefusals(config: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const [key, v] of Object.entries(config)) {
    if (isActivation(v)) {
      if (ACTIVATIONS[v.name] !== v.fn) out.push(`\`${key}\` is a TypeScript function, which cannot be stored`);
      else if (!(v.name in ACTIVATION_TO_TFJS))
        out.push(
          `\`${key}\` "${v.name}": ${ACTIVATION_WHY_NOT[v.name] ?? `tfjs-layers 4.22 has no "${v.name}" activation`}`,
        );
    } else if (isSpec(v) && /_(initializer|regularizer|constraint)$/.test(key)) {
      if (v.class_name === "Custom" || v.fn) out.push(`\`${key}\` is a TypeScript function, which cannot be stored`);
      else if (v.class_name === "VarianceScaling" && v.config.distribution === "untruncated_normal")
        out.push(`\`${key}\`: tfjs-layers 4.22 has no "untruncated_normal" variance scaling`);
    }
  }
  return out;
}

/** Why tfjs-layers cannot run `layer` as configured (its nested layers included); empty when it can. */
function layerRefusals(layer: Layer): string[] {
  if (NO_TFJS_LAYER[layer.className]) return [NO_TFJS_LAYER[layer.className]];
  if (!TFJS_LAYERS.has(layer.className)) return [`tfjs-layers 4.22 has no ${layer.className} layer`];
  const c = layer.config;
  const out = argumentRefusals(c);
  const nested = (what: string, inner: Layer) =>
    layerRefusals(inner).map((r) => `${what} "${inner.name}" (${inner.className}): ${r}`);
  switch (layer.className) {
    case "GRU":
    case "GRUCell":
      if (c.reset_after)
        out.push("reset_after = TRUE: tfjs-layers 4.22 implements only reset_after = FALSE (the Keras 2 GRU)");
      break;
    case "Conv1D":
      if (c.padding === "causal") out.push('padding = "causal": tfjs-layers 4.22 does not implement it');
      if (c.data_format !== "channels_last")
        out.push('data_format = "channels_first": tfjs-layers 4.22 computes it differently (it drops the setting)');
      break;
    case "ConvLSTM2D":
      if (c.data_format !== "channels_last")
        out.push(
          'data_format = "channels_first": tfjs-layers 4.22 needs channels-first convolutions, which tfjs\'s wasm backend does not have',
        );
      break;
    case "MaxPooling1D":
    case "AveragePooling1D":
      if (c.data_format !== "channels_last") out.push('tfjs-layers 4.22 pools data_format = "channels_last" only');
      break;
    case "GlobalMaxPooling1D":
    case "GlobalAveragePooling1D":
      if (c.data_format !== "channels_last") out.push('tfjs-layers 4.22 pools data_format = "channels_last" only');
      if (c.keepdims) out.push("keepdims = TRUE: tfjs-layers 4.22 has no keepdims");
      break;
    case "RNN": {
      const cells = cellsOf(c.cell);
      cells.forEach((cell) => out.push(...nested("cell", cell)));
      if (cells.length > 1 && c.return_state)
        out.push("return_state = TRUE with stacked cells: tfjs-layers 4.22 returns the cells' states in reverse order");
      break;
    }
    case "StackedRNNCells":
      (c.cells as Layer[]).forEach((cell) => out.push(...nested("cell", cell)));
      break;
    case "TimeDistributed":
      out.push(...nested("wrapped layer", c.layer));
      break;
    case "Bidirectional": {
      out.push(...nested("wrapped layer", c.layer));
      if (c.layer.className === "RNN")
        out.push("tfjs-layers 4.22 cannot copy a generic RNN layer (layer_rnn()) into a bidirectional wrapper");
      const comparable = (l: Layer) => {
        const { name: _name, go_backwards: _goBackwards, ...rest } = layerToConfig(l, null).config;
        return JSON.stringify(rest);
      };
      if (comparable(c.layer) !== comparable(c.backward_layer))
        out.push(
          "its backward_layer is configured differently from its layer: tfjs-layers 4.22 always runs a copy of the forward layer backwards",
        );
      if (!TENSOR_NAME.test(innerBaseName(c.layer)))
        out.push(`the wrapped layer's name "${innerBaseName(c.layer)}" is not a valid tfjs-layers name`);
      break;
    }
  }
  return out;
}

/**
 * The name a bidirectional wrapper's layer has in the tfjs file: tfjs-layers prefixes it with "forward_"
 * and "backward_" itself, we keep the prefixed names.
 */
const unprefixedName = (forwardName: string) =>
  forwardName.startsWith("forward_") ? forwardName.slice("forward_".length) : forwardName;
const innerBaseName = (forward: Layer) => unprefixedName(forward.name);

// ---------------------------------------------------------------------------------------------
// Masks: where tfjs-layers' handling differs from ours

/** A mask carried by a tensor, identified by the node that made it (null: no mask). */
type MaskTag = string | null;

/** The masks our layers give their outputs, statically (who makes a mask, who passes or drops it). */
function outputMaskTags(layer: Layer, node: number, inputs: readonly MaskTag[], outputs: number): MaskTag[] {
  const own = `node ${node}`;
  const c = layer.config;
  const all = (tag: MaskTag) => Array.from({ length: outputs }, () => tag);
  switch (layer.className) {
    case "Embedding":
      return all(c.mask_zero ? own : (inputs[0] ?? null));
    case "Masking":
      return all(own);
    case "TimeDistributed":
      return all(["Embedding", "Masking"].includes((c.layer as Layer).className) ? own : (inputs[0] ?? null));
    case "Bidirectional": {
      const sequence = c.return_sequences ? (inputs[0] ?? null) : null;
      const merged = c.merge_mode === null ? 2 : 1;
      return Array.from({ length: outputs }, (_, i) => (i < merged ? sequence : null));
    }
  }
  if (recurrentCellOf(layer) || layer.className.startsWith("ConvLSTM"))
    return Array.from({ length: outputs }, (_, i) => (i === 0 && c.return_sequences ? (inputs[0] ?? null) : null));
  if (familyOf(layer).inputs === "many" && layer.className !== "Dot") {
    const present = inputs.filter((m) => m !== null);
    if (present.length === 0) return all(null);
    return all(present.length === inputs.length && present.every((m) => m === present[0]) ? present[0] : own);
  }
  return all(familyOf(layer).mask === "drop" ? null : (inputs[0] ?? null));
}

interface NodeIssue {
  readonly layer: Layer;
  readonly reason: string;
}

/**
 * Per-call differences: call arguments a tfjs model file cannot hold, and masks tfjs-layers 4.22
 * handles differently (its elementwise merges compute broken masks, its GlobalAveragePooling1D and
 * ConvLSTM2D do not use them, and its executor hands a recurrent layer without a mask the mask of the
 * layer that ran before it).
 */
function graphIssues(model: Model, plan: Plan): NodeIssue[] {
  const issues: NodeIssue[] = [];
  const key = (r: Ref) => `${r.node}:${r.output}`;
  const tags = new Map<string, MaskTag>();
  const tagOf = (r: Ref) => tags.get(key(r)) ?? null;
  const ancestors: Set<number>[] = [];
  const incoming: MaskTag[][] = [];
  plan.nodes.forEach((node, i) => {
    const layer = model.layers[node.layerIndex];
    const refs = [...node.inputs, ...node.initialState, ...node.constants, ...(node.mask ? [node.mask] : [])];
    ancestors[i] = new Set(refs.filter((r) => r.node >= 0).flatMap((r) => [r.node, ...ancestors[r.node]]));
    const masks = node.inputs.map(tagOf);
    incoming[i] = masks;
    const issue = (reason: string) => issues.push({ layer, reason });
    if (node.mask) issue("it is called with an explicit `mask`, which a tfjs-layers model file cannot express");
    if (node.constants.length) issue("it is called with `constants`, which tfjs-layers 4.22 does not support");
    if (node.training === true) issue("it is called with training = TRUE, which tfjs-layers ignores at predict time");
    const rank = node.inputShapes[0]?.length ?? 0;
    if (layer.className === "BatchNormalization" && (layer.config.axis + rank) % rank !== rank - 1)
      issue("it normalizes another axis than the last, which tfjs-layers 4.22 computes wrongly");
    if (layer.className === "Dot" && node.inputShapes.some((s) => s.length > 3))
      issue("tfjs-layers 4.22's Dot takes inputs of rank 3 at most");
    if (layer.config.stateful === true && node.outputShapes.length > 1)
      issue(
        "it is stateful with several outputs: tfjs-layers 4.22 runs a layer once per output it fetches, advancing the state each time",
      );
    if (node.initialState.length && isStacked(layer))
      issue("initial_state with stacked cells: tfjs-layers 4.22 takes the cells' states in reverse order");
    if (masks.some((m) => m !== null)) {
      const cls = layer.className;
      if (ELEMENTWISE_MERGES.has(cls))
        issue(`it receives a mask, and tfjs-layers 4.22 computes ${cls}'s output mask wrongly`);
      if (cls === "Concatenate" && !masks.every((m) => m !== null && m === masks[0]))
        issue(
          "its inputs carry different masks (or only some carry one), which tfjs-layers 4.22 combines differently (all instead of any)",
        );
      if (cls === "GlobalAveragePooling1D")
        issue("it receives a mask, which tfjs-layers 4.22 ignores (it would average the masked timesteps too)");
      if (cls === "ConvLSTM2D") issue("it receives a mask, which tfjs-layers 4.22 cannot apply to 5-D inputs");
      if (cls === "TimeDistributed" && RECURRENT_LAYERS.has((layer.config.layer as Layer).className))
        issue("it receives a mask, which tfjs-layers 4.22 would hand to the wrapped recurrent layer per timestep");
    }
    if (
      layer.className === "TimeDistributed" &&
      ["Embedding", "Masking"].includes((layer.config.layer as Layer).className)
    )
      issue("tfjs-layers 4.22's TimeDistributed does not pass on the mask its wrapped layer makes");
    const outs = outputMaskTags(layer, i, masks, node.outputShapes.length);
    outs.forEach((t, k) => tags.set(key({ node: i, output: k }), t));
  });
  // tfjs-layers' executor keeps the last `mask` it passed in one shared kwargs object (executor.ts
  // execute()), so a recurrent layer that gets no mask of its own receives the mask of an earlier call.
  plan.nodes.forEach((node, i) => {
    const layer = model.layers[node.layerIndex];
    const readsMask =
      RECURRENT_LAYERS.has(layer.className) ||
      (layer.className === "TimeDistributed" && RECURRENT_LAYERS.has((layer.config.layer as Layer).className));
    if (!readsMask || incoming[i][0] !== null) return;
    const before = plan.nodes.findIndex((_, j) => j !== i && incoming[j][0] !== null && !ancestors[j].has(i));
    if (before >= 0)
      issues.push({
        layer,
        reason: `it receives no mask, but tfjs-layers 4.22 would hand it the mask of layer "${model.layers[plan.nodes[before].layerIndex].name}" (its executor keeps the last mask it passed)`,
      });
  });
  return issues;
}

/**
 * Every reason tfjs-layers 4.22 cannot serve `model` with our numbers, one line per layer and reason
 * (`layer "gru" (GRU): ...`); empty when it can.
 */
export function tfjsRefusals(model: Model, plan: Plan = buildPlan(model)): string[] {
  const lines = new Set<string>();
  const add = (layer: Layer, reason: string) => lines.add(`layer "${layer.name}" (${layer.className}): ${reason}`);
  for (const layer of model.layers) {
    if (!TENSOR_NAME.test(layer.name))
      add(
        layer,
        "its name is not a valid tfjs-layers name (letters, digits, and - . _ / after a letter or digit first)",
      );
    for (const r of layerRefusals(layer)) add(layer, r);
  }
  for (const { layer, reason } of graphIssues(model, plan)) add(layer, reason);
  return [...lines];
}

// ---------------------------------------------------------------------------------------------
// Weight names

/**
 * The names tfjs-layers gives a layer's weights, in our weight order: `<layer>/<weight>`, with the
 * scopes its builds open — Bidirectional `forward_<inner>/` and `backward_<inner>/`, stacked cells
 * `RNNCell_<i>/`; TimeDistributed and single cells open none (topology.ts apply(), wrappers.ts,
 * recurrent.ts StackedRNNCells.build()).
 */
export function tfjsWeightNames(fn: string, layer: Layer, inputShapes: readonly Shape[]): string[] {
  const names = scopedWeightNames(layer, `${layer.name}/`, inputShapes[0]);
  if (names.length !== weightSpecsOf(layer, inputShapes).length)
    throw new KerasError(fn, `internal: the tfjs names of layer "${layer.name}" do not match its weights`);
  return names;
}

function scopedWeightNames(layer: Layer, scope: string, input: Shape | undefined): string[] {
  const c = layer.config;
  switch (layer.className) {
    case "Bidirectional": {
      const base = innerBaseName(c.layer);
      return [
        ...scopedWeightNames(c.layer, `${scope}forward_${base}/`, input),
        ...scopedWeightNames(c.backward_layer, `${scope}backward_${base}/`, input),
      ];
    }
    case "TimeDistributed":
      return scopedWeightNames(c.layer, scope, input && [input[0], ...input.slice(2)]);
    case "RNN": {
      const cells = cellsOf(c.cell);
      if (cells.length === 1) break;
      let dim = input?.[input.length - 1] as number;
      return cells.flatMap((cell, i) => {
        const specs = cellOf(cell).weightSpecs(dim);
        dim = cellOf(cell).outputSize;
        return specs.map((s) => `${scope}RNNCell_${i}/${s.name}`);
      });
    }
  }
  const family = familyOf(layer);
  return (family.weights && input ? family.weights(c, [input]) : []).map((s) => `${scope}${s.name}`);
}

// ---------------------------------------------------------------------------------------------
// Topology: ours → tfjs

/** Keras 3 keys tfjs-layers has no use for. */
const KERAS3_ONLY = ["use_cudnn", "time_major", "zero_output_for_mask"];

function mapConfigValues(config: Record<string, Json>, toTfjs: boolean): void {
  for (const [key, v] of Object.entries(config)) {
    if ((key === "activation" || key === "recurrent_activation") && typeof v === "string") {
      config[key] = toTfjs ? (ACTIVATION_TO_TFJS[v] ?? v) : (ACTIVATION_FROM_TFJS[snakeCase(v)] ?? snakeCase(v));
    } else if (key.endsWith("_initializer") && asRecord(v) && typeof (v as ConfigRecord).class_name === "string") {
      const spec = v as ConfigRecord;
      const names = toTfjs ? INITIALIZER_TO_TFJS : INITIALIZER_FROM_TFJS;
      config[key] = { ...spec, class_name: names[spec.class_name as string] ?? spec.class_name };
    } else if (toTfjs && key.endsWith("_regularizer") && asRecord(v)) {
      // tfjs-layers has the L1L2 class only.
      const r = asRecord((v as ConfigRecord).config) ?? {};
      config[key] = { class_name: "L1L2", config: { l1: (r.l1 as number) ?? 0, l2: (r.l2 as number) ?? 0 } };
    }
  }
}

function layerConfigToTfjs(lc: LayerConfig): LayerConfig {
  const c: Record<string, Json> = { ...lc.config };
  for (const k of KERAS3_ONLY) delete c[k];
  // A layer's dtype is its weights' dtype in tfjs-layers (an int32 Embedding would get int32 embeddings).
  if (lc.class_name !== "InputLayer" && "dtype" in c) c.dtype = "float32";
  mapConfigValues(c, true);
  switch (lc.class_name) {
    case "Bidirectional": {
      const inner = layerConfigToTfjs(c.layer as unknown as LayerConfig);
      inner.config.name = unprefixedName(String(inner.config.name));
      c.layer = inner as unknown as Json;
      delete c.backward_layer;
      break;
    }
    case "TimeDistributed":
      c.layer = layerConfigToTfjs(c.layer as unknown as LayerConfig) as unknown as Json;
      break;
    case "RNN":
      c.cell = layerConfigToTfjs(c.cell as unknown as LayerConfig) as unknown as Json;
      break;
    case "StackedRNNCells":
      c.cells = (c.cells as unknown as LayerConfig[]).map(layerConfigToTfjs) as unknown as Json;
      break;
    case "MaxPooling1D":
    case "AveragePooling1D":
    case "GlobalMaxPooling1D":
    case "GlobalAveragePooling1D":
      delete c.data_format;
      delete c.keepdims;
      break;
  }
  return { class_name: lc.class_name, config: c };
}

type Triple = [string, number, number];

/** A functional model's inbound node in tfjs form: initial states as further inputs (as Keras 2 wrote them). */
function nodeToTfjs(node: Json): Json {
  const entries = node as [string, number, number, ConfigRecord][];
  const kwargs = entries[0]?.[3] ?? {};
  const states = (kwargs.initial_state ?? []) as Triple[];
  return [...entries.map(([l, n, t]) => [l, n, t, {}] as Json), ...states.map(([l, n, t]) => [l, n, t, {}] as Json)];
}

/** The `modelTopology` of `model` for tfjs-layers (call tfjsRefusals() first). */
export function toTfjsTopology(model: Model): ConfigRecord {
  const config = toConfig(model) as unknown as { name: string; layers: ConfigRecord[] } & ConfigRecord;
  const layers = config.layers.map((l) => {
    const converted = layerConfigToTfjs(l as unknown as LayerConfig) as unknown as ConfigRecord;
    if (!("inbound_nodes" in l)) return converted;
    return { ...converted, name: l.name, inbound_nodes: (l.inbound_nodes as Json[]).map(nodeToTfjs) };
  });
  return {
    class_name: model.type === "sequential" ? "Sequential" : "Model",
    config: { ...config, layers } as ConfigRecord,
    keras_version: "tskeras",
    backend: "tensor_flow.js",
  };
}

// ---------------------------------------------------------------------------------------------
// Topology: tfjs → ours

const unwrapSingle = (v: unknown) => (Array.isArray(v) && v.length === 1 ? v[0] : v);

function layerConfigFromTfjs(fn: string, json: unknown): unknown {
  const lc = asRecord(json);
  const inner = lc && asRecord(lc.config);
  if (!lc || typeof lc.class_name !== "string" || !inner) return json; // layerFromConfig reports it
  const c: Record<string, Json> = { ...(inner as Record<string, Json>) };
  mapConfigValues(c, false);
  // tfjs-layers writes null where its constructors take "unset".
  if (c.implementation === null) delete c.implementation;
  if (c.unit_forget_bias === null) c.unit_forget_bias = false;
  if (lc.class_name === "SpatialDropout1D" && c.noise_shape === null) delete c.noise_shape;
  // Its cells inherit Layer's activity_regularizer (always null there).
  if (lc.class_name.endsWith("Cell") && c.activity_regularizer === null) delete c.activity_regularizer;
  switch (lc.class_name) {
    case "RNN": {
      // tfjs-layers' RNN config repeats its cell's arguments at the top level.
      const rnn = getFamily("RNN")!;
      const keep = new Set([...Object.keys(rnn.props), "name", "trainable", "dtype", "batch_input_shape", "cell"]);
      for (const k of Object.keys(c)) if (!keep.has(k)) delete c[k];
      c.cell = layerConfigFromTfjs(fn, c.cell) as Json;
      break;
    }
    case "StackedRNNCells":
      if (Array.isArray(c.cells)) c.cells = c.cells.map((x) => layerConfigFromTfjs(fn, x)) as Json;
      break;
    case "Bidirectional":
    case "TimeDistributed":
      c.layer = layerConfigFromTfjs(fn, c.layer) as Json;
      break;
    case "MaxPooling1D":
    case "AveragePooling1D":
      c.pool_size = unwrapSingle(c.pool_size) as Json;
      c.strides = unwrapSingle(c.strides) as Json;
      break;
  }
  const out: ConfigRecord = { ...(lc as ConfigRecord), config: c };
  return out;
}

/** A Keras 2 inbound node with initial states as further inputs → ours (initial_state in the kwargs). */
function nodeFromTfjs(className: string, node: unknown): unknown {
  if (!Array.isArray(node) || node.length < 2 || !RECURRENT_LAYERS.has(className)) return node;
  const [first, ...states] = node as unknown[][];
  if (!Array.isArray(first) || !states.every(Array.isArray)) return node;
  const kwargs = { ...(asRecord(first[3]) ?? {}), initial_state: states.map((s) => s.slice(0, 3)) };
  return [[...first.slice(0, 3), kwargs]];
}

/**
 * Rebuilds a model from a tfjs `modelTopology` (written by tfjs-layers `model.save()`, by
 * tensorflowjs_converter from a Keras 2 .h5, or by save_model_tfjs()). Weights are drawn afresh.
 */
export function fromTfjsTopology(fn: string, topology: unknown): Model {
  let top = asRecord(topology);
  if (top && asRecord(top.model_config)) top = asRecord(top.model_config);
  if (!top || typeof top.class_name !== "string")
    throw new KerasError(
      fn,
      `\`modelTopology\` must be a model config { class_name, config }, got ${describeValue(topology)}`,
      "io",
    );
  if (!["Sequential", "Model", "Functional"].includes(top.class_name))
    throw new KerasError(
      fn,
      `\`modelTopology\` holds a "${top.class_name}", not a model (Sequential, Model or Functional)`,
      "io",
    );
  // Keras < 2.2.3 wrote a Sequential config as the bare list of layers.
  const config = Array.isArray(top.config) ? { layers: top.config } : asRecord(top.config);
  if (!config || !Array.isArray(config.layers))
    throw new KerasError(fn, "`modelTopology.config` must hold a list of `layers`", "io");
  const layers = config.layers.map((l) => {
    const converted = layerConfigFromTfjs(fn, l);
    const r = asRecord(converted);
    if (!r || !Array.isArray(r.inbound_nodes) || typeof r.class_name !== "string") return converted;
    return { ...r, inbound_nodes: r.inbound_nodes.map((n) => nodeFromTfjs(r.class_name as string, n)) };
  });
  const model = fromConfig(fn, { class_name: top.class_name, config: { ...config, layers } });
  if (!isModel(model)) throw new KerasError(fn, "`modelTopology` does not describe a model", "io");
  return model;
}
