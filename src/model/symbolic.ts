/** Symbolic tensors (functional API): `layer_input()` and layers applied to symbolic tensors. */
import { inspect } from "node:util";
import { KerasError, describeValue } from "../errors.js";
import { checkMaskShape, formatShape } from "./shape.js";
import {
  DType,
  NullIsDefault,
  PositiveInt,
  ShapeArg,
  Str,
  decodeArgs,
  Bool,
  type ArgsOf,
  refuseArgumentsPast,
} from "../args.js";
import { SYMBOLIC_BRAND, isSymbolic, isSymbolicInput } from "./guards.js";
import { familyOf, inferOutputShapes, makeLayer, type CallOptions, type Layer } from "./layer.js";
import { registerFamily } from "./registry.js";
import type { Shape } from "./types.js";
import { checkStatefulBatch } from "./stateful.js";

export interface GraphNode {
  readonly layer: Layer;
  readonly inputs: readonly SymbolicTensor[];
  readonly initialState: readonly SymbolicTensor[];
  readonly constants: readonly SymbolicTensor[];
  /** An explicit `mask` given at call time. */
  readonly mask: SymbolicTensor | null;
  readonly training: boolean | undefined;
  readonly outputShapes: readonly Shape[];
}

export interface SymbolicTensor {
  readonly [SYMBOLIC_BRAND]: true;
  readonly shape: Shape;
  readonly dtype: string;
  readonly node: GraphNode;
  /** Which output of the node this tensor is. */
  readonly index: number;
}

export { isSymbolic, isSymbolicInput };

function symbolic(node: GraphNode, index: number, dtype: string): SymbolicTensor {
  return Object.freeze({
    [SYMBOLIC_BRAND]: true as const,
    shape: node.outputShapes[index],
    dtype,
    node,
    index,
    [inspect.custom]: printSymbolic,
  });
}

/** Printed as Keras prints a KerasTensor, naming the layer that made it. */
function printSymbolic(this: SymbolicTensor): string {
  return `<KerasTensor shape=${formatShape(this.shape)}, dtype=${this.dtype}, from layer "${this.node.layer.name}">`;
}

const asSymbolicList = (fn: string, arg: string, v: unknown): SymbolicTensor[] => {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every(isSymbolic))
    throw new KerasError(
      fn,
      `\`${arg}\` must be symbolic tensors when the layer is applied to symbolic inputs, got ${describeValue(v)}`,
    );
  return list as SymbolicTensor[];
};

export function callSymbolic(
  layer: Layer,
  x: SymbolicTensor | SymbolicTensor[],
  options: CallOptions = {},
): SymbolicTensor | SymbolicTensor[] {
  const family = familyOf(layer);
  const inputs = Array.isArray(x) ? x : [x];
  const initialState = asSymbolicList(family.fn, "initial_state", options.initial_state);
  const constants = asSymbolicList(family.fn, "constants", options.constants);
  const mask =
    options.mask === undefined || options.mask === null ? null : asSymbolicList(family.fn, "mask", options.mask)[0];
  if (family.host && inputs[0].node.layer.className !== "InputLayer")
    throw new KerasError(
      family.fn,
      `layer "${layer.name}" reads raw data: apply it to a layer_input() (it runs before the tensor graph), not to the output of "${inputs[0].node.layer.name}"`,
    );
  const inputShapes = inputs.map((s) => s.shape);
  if (mask) checkMaskShape(family.fn, mask.shape, inputShapes[0], family.takesStates === true);
  let outputShapes: readonly Shape[];
  try {
    outputShapes = inferOutputShapes(layer, inputShapes, {
      initialState: initialState.map((s) => s.shape),
      constants: constants.map((s) => s.shape),
    });
  } catch (e) {
    if (e instanceof KerasError && e.kind === "shape") {
      const from = inputs.map((s) => `"${s.node.layer.name}"`).join(", ");
      throw new KerasError(e.fn, `cannot apply "${layer.name}" to the output of ${from}: ${e.detail}`, "shape");
    }
    throw e;
  }
  checkStatefulBatch(layer, inputShapes, family.fn);
  const node: GraphNode = Object.freeze({
    layer,
    inputs: Object.freeze([...inputs]),
    initialState: Object.freeze(initialState),
    constants: Object.freeze(constants),
    mask,
    training: options.training,
    outputShapes,
  });
  const outs = outputShapes.map((_, i) => symbolic(node, i, "float32"));
  return outs.length === 1 ? outs[0] : outs;
}

// ---------------------------------------------------------------------------------------------
// InputLayer

registerFamily({
  className: "InputLayer",
  fn: "layer_input",
  props: {},
  defaults: {},
  outputShape: (config: Record<string, any>) => [config.batch_shape as Shape],
  forward: (_config, ctx) => ({ outputs: [ctx.inputs[0]] }),
  toConfig: (c) => ({ batch_shape: c.batch_shape, dtype: c.dtype, sparse: false, name: c.name }),
});

/** layer_input()'s arguments (NULL means not given, as in R). */
const INPUT_PROPS = {
  /** The input shape without the batch axis (`[timesteps, features]`; null for an unknown length). */
  shape: NullIsDefault(ShapeArg),
  /** The batch size (stateful layers need it). */
  batch_size: NullIsDefault(PositiveInt),
  /** The input shape with the batch axis. */
  batch_shape: NullIsDefault(ShapeArg),
  /** The input data type (float32 by default). */
  dtype: NullIsDefault(DType),
  /** The input layer's name. */
  name: NullIsDefault(Str),
  /** Sparse inputs are not supported (FALSE only). */
  sparse: NullIsDefault(Bool),
};

/** Makes an InputLayer with its batch shape (shared by layer_input and keras_model_sequential). */
export function makeInputLayer(batchShape: Shape, dtype: string, name?: string): Layer {
  return makeLayer("InputLayer", {
    name,
    config: { batch_shape: batchShape, dtype, name: name ?? null },
    batchInputShape: batchShape,
    inputDtype: dtype,
  });
}

/**
 * `layer_input({ shape, batch_size, batch_shape, dtype, name })` (alias `keras_input`): a symbolic
 * tensor, the start of a functional model.
 *
 * @example
 * const input = layer_input({ shape: [10, 4] });
 * const model = keras_model({ inputs: input, outputs: pipe(input, layer_lstm({ units: 8 }), layer_dense({ units: 1 })) });
 */
export function layer_input(args: ArgsOf<typeof INPUT_PROPS> = {}): SymbolicTensor {
  const fn = "layer_input";
  refuseArgumentsPast(fn, ["args"], arguments);
  const a = decodeArgs(fn, INPUT_PROPS, args, { dtype: "float32" });
  if (a.sparse) throw new KerasError(fn, "sparse inputs are not supported");
  let batchShape: Shape;
  if (a.batch_shape) {
    if (a.shape || a.batch_size !== undefined)
      throw new KerasError(fn, "give either `shape` (with `batch_size`) or `batch_shape`, not both");
    batchShape = Object.freeze([...a.batch_shape]);
  } else if (a.shape) batchShape = Object.freeze([a.batch_size ?? null, ...a.shape]);
  else throw new KerasError(fn, "`shape` (or `batch_shape`) is required, e.g. layer_input({ shape: [10, 4] })");
  const layer = makeInputLayer(batchShape, a.dtype, a.name);
  const node: GraphNode = Object.freeze({
    layer,
    inputs: [],
    initialState: [],
    constants: [],
    mask: null,
    training: undefined,
    outputShapes: [batchShape],
  });
  return Object.freeze({
    [SYMBOLIC_BRAND]: true as const,
    shape: batchShape,
    dtype: a.dtype,
    node,
    index: 0,
    [inspect.custom]: printSymbolic,
  });
}

/**
 * `keras_input()`: keras3's name of `layer_input()`.
 *
 * @example
 * const input = keras_input({ shape: [10, 4] });
 */
export const keras_input = layer_input;
