/** Functional models: `keras_model({ inputs, outputs, name })` over a graph of symbolic tensors. */
import * as t from "io-ts";
import { KerasError, describeValue } from "../errors.js";
import {
  Bool,
  NullIsDefault,
  Str,
  accepting,
  decodeArgs,
  described,
  type ArgsOf,
  refuseArgumentsPast,
} from "../args.js";
import { isSymbolic, type GraphNode, type SymbolicTensor } from "./symbolic.js";
import { withLayer, type Layer } from "./layer.js";
import { freezeModel, uniqueName, type FunctionalModel } from "./model.js";
import type { Shape } from "./types.js";

function asTensorList(fn: string, arg: string, v: unknown): SymbolicTensor[] {
  const list = Array.isArray(v)
    ? v
    : v !== null && typeof v === "object" && !isSymbolic(v)
      ? Object.values(v as object)
      : [v];
  if (list.length === 0 || !list.every(isSymbolic)) {
    throw new KerasError(
      fn,
      `\`${arg}\` must be a symbolic tensor or a list of them (from layer_input() and layers applied to it), got ${describeValue(v)}`,
    );
  }
  return list as SymbolicTensor[];
}

/** Nodes reachable from `outputs`, inputs before their consumers. */
function topologicalNodes(outputs: readonly SymbolicTensor[]): GraphNode[] {
  const order: GraphNode[] = [];
  const state = new Map<GraphNode, "visiting" | "done">();
  const visit = (node: GraphNode) => {
    const s = state.get(node);
    if (s === "done") return;
    if (s === "visiting") throw new KerasError("keras_model", "the graph has a cycle");
    state.set(node, "visiting");
    for (const t of [...node.inputs, ...node.initialState, ...node.constants, ...(node.mask ? [node.mask] : [])])
      visit(t.node);
    state.set(node, "done");
    order.push(node);
  };
  for (const o of outputs) visit(o.node);
  return order;
}

const Tensors = described(t.unknown, "a symbolic tensor or a list of them");
const MODEL_PROPS = {
  /** The model's inputs: symbolic tensors from layer_input() (one, a list, or a named list). */
  inputs: accepting<SymbolicTensor | readonly SymbolicTensor[] | Readonly<Record<string, SymbolicTensor>>>()(Tensors),
  /** The model's outputs: symbolic tensors computed from the inputs (one, a list, or a named list). */
  outputs: accepting<SymbolicTensor | readonly SymbolicTensor[] | Readonly<Record<string, SymbolicTensor>>>()(Tensors),
  /** The model's name ("functional" by default). */
  name: NullIsDefault(Str),
  /** FALSE: none of the layers is trained. */
  trainable: NullIsDefault(Bool),
};

/**
 * `keras_model({ inputs, outputs, name })`: the functional model from `inputs` to `outputs`.
 *
 * @example
 * const input = layer_input({ shape: [4] });
 * const model = keras_model({ inputs: input, outputs: layer_dense(input, { units: 1 }) });
 */
export function keras_model(args: ArgsOf<typeof MODEL_PROPS, "inputs" | "outputs">): FunctionalModel {
  const fn = "keras_model";
  refuseArgumentsPast(fn, ["args"], arguments);
  const a = decodeArgs(fn, MODEL_PROPS, args, {}, ["inputs", "outputs"]);
  const inputs = asTensorList(fn, "inputs", a.inputs);
  const outputs = asTensorList(fn, "outputs", a.outputs);
  for (const i of inputs) {
    if (i.node.layer.className !== "InputLayer")
      throw new KerasError(fn, "every element of `inputs` must come from layer_input()");
  }
  const nodes = topologicalNodes(outputs);
  const inputNodes = new Set(inputs.map((i) => i.node));
  for (const node of nodes) {
    if (node.layer.className === "InputLayer" && !inputNodes.has(node)) {
      throw new KerasError(fn, `the outputs depend on input "${node.layer.name}", which is not listed in \`inputs\``);
    }
  }
  // Layers ordered as Keras orders a functional model's layers: by depth (distance from the outputs,
  // deepest first, so inputs lead), ties in order of discovery.
  const depth = new Map<GraphNode, number>();
  for (const o of outputs) depth.set(o.node, 0);
  for (const node of [...nodes].reverse()) {
    const d = depth.get(node) ?? 0;
    for (const t of [...node.inputs, ...node.initialState, ...node.constants, ...(node.mask ? [node.mask] : [])]) {
      depth.set(t.node, Math.max(depth.get(t.node) ?? 0, d + 1));
    }
  }
  const seen = new Map<number, { layer: Layer; depth: number; order: number }>();
  for (const node of nodes) {
    const prev = seen.get(node.layer.id);
    if (prev && prev.layer !== node.layer && prev.layer.weightValues !== node.layer.weightValues) {
      throw new KerasError(fn, `layer "${node.layer.name}" appears with two different sets of weights`);
    }
    const d = depth.get(node) ?? 0;
    if (!prev) seen.set(node.layer.id, { layer: node.layer, depth: d, order: seen.size });
    else prev.depth = Math.max(prev.depth, d);
  }
  const ordered = [...seen.values()].sort((a, b) => b.depth - a.depth || a.order - b.order).map((e) => e.layer);
  const taken = new Set<string>();
  for (const l of ordered) {
    if (!l.autoName) {
      if (taken.has(l.name))
        throw new KerasError(fn, `the name "${l.name}" is used by two layers; layer names must be unique in a model`);
      taken.add(l.name);
    }
  }
  // Each layer value records the input shapes of its first call (what the plan builds it for).
  const firstInputs = new Map<number, Shape[]>();
  for (const node of nodes)
    if (!firstInputs.has(node.layer.id) && node.layer.className !== "InputLayer")
      firstInputs.set(
        node.layer.id,
        node.inputs.map((t) => t.shape),
      );
  const layers = ordered.map((l) => {
    const known = firstInputs.get(l.id) ?? null;
    if (!l.autoName) return known ? withLayer(l, { knownInputShapes: known }) : l;
    const base = l.className === "InputLayer" ? "input_layer" : l.name;
    const name = uniqueName(base, taken);
    taken.add(name);
    return withLayer(l, { name, knownInputShapes: known });
  });
  return freezeModel<FunctionalModel>({
    type: "functional",
    name: a.name ?? "functional",
    layers: Object.freeze(a.trainable === false ? layers.map((l) => withLayer(l, { trainable: false })) : layers),
    compiled: null,
    inputs: Object.freeze([...inputs]),
    outputs: Object.freeze([...outputs]),
    nodes: Object.freeze(nodes),
  });
}
