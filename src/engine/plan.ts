/**
 * Plan tier (DESIGN principle 4): a model compiled to a topologically ordered list of layer calls with
 * references between them and the input shape of every layer. Pure: no tfjs here.
 */
import { ArgumentError } from "../errors.js";
import type { Model } from "../model/model.js";
import type { Shape } from "../model/types.js";
import type { GraphNode } from "../model/symbolic.js";
import { inferOutputShapes } from "../model/layer.js";

/** A tensor in the plan: output `output` of node `node`; node < 0 means model input -node-1. */
export interface Ref {
  readonly node: number;
  readonly output: number;
}

export interface PlanNode {
  /** Index into model.layers. */
  readonly layerIndex: number;
  readonly inputs: readonly Ref[];
  readonly initialState: readonly Ref[];
  readonly constants: readonly Ref[];
  readonly mask: Ref | null;
  readonly training: boolean | undefined;
  readonly inputShapes: readonly Shape[];
  readonly outputShapes: readonly Shape[];
}

export interface Plan {
  readonly nodes: readonly PlanNode[];
  readonly outputs: readonly Ref[];
  readonly inputShapes: readonly Shape[];
  readonly outputShapes: readonly Shape[];
  /** Input shapes of each layer (first call), by layer index; null for layers never called. */
  readonly layerInputShapes: readonly (readonly Shape[] | null)[];
}

export const modelInputRef = (k: number): Ref => ({ node: -k - 1, output: 0 });

function sequentialPlan(model: Model & { type: "sequential" }, dataShapes?: readonly Shape[]): Plan {
  let input: Shape | null = model.inputShape;
  if (!input) {
    if (!dataShapes || dataShapes.length === 0) {
      throw new ArgumentError(
        `model "${model.name}" has no input shape yet: give input_shape to keras_model_sequential() or the first layer, or call it on data`,
      );
    }
    input = [null, ...dataShapes[0].slice(1)];
  }
  if (model.layers.length === 0) throw new ArgumentError(`model "${model.name}" has no layers`);
  const nodes: PlanNode[] = [];
  const layerInputShapes: Shape[][] = [];
  let cur: Shape = input;
  model.layers.forEach((layer, i) => {
    const out = inferOutputShapes(layer, [cur]);
    nodes.push({
      layerIndex: i,
      inputs: [i === 0 ? modelInputRef(0) : { node: i - 1, output: 0 }],
      initialState: [],
      constants: [],
      mask: null,
      training: undefined,
      inputShapes: [cur],
      outputShapes: out,
    });
    layerInputShapes.push([cur]);
    cur = out[0];
  });
  return {
    nodes,
    outputs: [{ node: nodes.length - 1, output: 0 }],
    inputShapes: [input],
    outputShapes: [cur],
    layerInputShapes,
  };
}

function functionalPlan(model: Model & { type: "functional" }): Plan {
  const layerIndex = new Map<number, number>();
  model.layers.forEach((l, i) => layerIndex.set(l.id, i));
  const refOf = new Map<GraphNode, number>();
  model.inputs.forEach((t, k) => refOf.set(t.node, -k - 1));
  const nodes: PlanNode[] = [];
  const layerInputShapes: (Shape[] | null)[] = model.layers.map(() => null);
  const ref = (t: { node: GraphNode; index: number }): Ref => {
    const n = refOf.get(t.node);
    if (n === undefined) throw new Error("internal: node used before it is computed");
    return { node: n, output: t.index };
  };
  for (const node of model.nodes) {
    if (node.layer.className === "InputLayer") continue;
    const li = layerIndex.get(node.layer.id)!;
    const inputShapes = node.inputs.map((t) => t.shape);
    if (!layerInputShapes[li]) layerInputShapes[li] = inputShapes;
    nodes.push({
      layerIndex: li,
      inputs: node.inputs.map(ref),
      initialState: node.initialState.map(ref),
      constants: node.constants.map(ref),
      mask: node.mask ? ref(node.mask) : null,
      training: node.training,
      inputShapes,
      outputShapes: node.outputShapes,
    });
    refOf.set(node, nodes.length - 1);
  }
  return {
    nodes,
    outputs: model.outputs.map(ref),
    inputShapes: model.inputs.map((t) => t.shape),
    outputShapes: model.outputs.map((t) => t.shape),
    layerInputShapes,
  };
}

/** Compiles `model` to a plan; `dataShapes` builds a sequential model that has no input shape yet. */
export function buildPlan(model: Model, dataShapes?: readonly Shape[]): Plan {
  return model.type === "sequential" ? sequentialPlan(model, dataShapes) : functionalPlan(model);
}

/**
 * The plan of one eager layer call: model inputs are the call's inputs, then its initial states, then its
 * constants; the outputs are all of the layer's. Stateful layers need the batch axis, so it is kept.
 */
export function layerCallPlan(
  inputShapes: readonly Shape[],
  call: { readonly initialState: readonly Shape[]; readonly constants: readonly Shape[] },
  outputShapes: readonly Shape[],
): Plan {
  const refs = (from: number, n: number) => Array.from({ length: n }, (_, k) => modelInputRef(from + k));
  const nInputs = inputShapes.length;
  const nStates = call.initialState.length;
  return {
    nodes: [
      {
        layerIndex: 0,
        inputs: refs(0, nInputs),
        initialState: refs(nInputs, nStates),
        constants: refs(nInputs + nStates, call.constants.length),
        mask: null,
        training: undefined,
        inputShapes,
        outputShapes,
      },
    ],
    outputs: outputShapes.map((_, k) => ({ node: 0, output: k })),
    inputShapes: [...inputShapes, ...call.initialState, ...call.constants],
    outputShapes,
    layerInputShapes: [inputShapes],
  };
}
