/** Sequential models: `keras_model_sequential()` and appending layers (pipe-style). */
import * as t from "io-ts";
import { KerasError, describeValue } from "../errors.js";
import {
  Bool,
  DType,
  NullIsDefault,
  PositiveInt,
  ShapeArg,
  Str,
  accepting,
  decodeArgs,
  described,
  type ArgsOf,
  refuseArgumentsPast,
} from "../args.js";
import { familyOf, inferOutputShapes, isLayer, withLayer, type Layer } from "./layer.js";
import { freezeModel, uniqueName, withModel, type SequentialModel } from "./model.js";
import { formatShape, formatShapes, shapesEqual } from "./shape.js";
import type { Shape } from "./types.js";
import { checkStatefulBatch } from "./stateful.js";

/** keras_model_sequential()'s arguments (NULL means not given, as in R). */
const SEQUENTIAL_PROPS = {
  /** The input shape without the batch axis (Keras 3's form; Keras 2 gives it to the first layer). */
  input_shape: NullIsDefault(ShapeArg),
  /** The batch size, together with `input_shape` (stateful models need it). */
  batch_size: NullIsDefault(PositiveInt),
  /** The input shape with the batch axis. */
  input_batch_shape: NullIsDefault(ShapeArg),
  /** R keras 2's name of `input_batch_shape`. */
  batch_input_shape: NullIsDefault(ShapeArg),
  /** The input data type (float32 by default). */
  input_dtype: NullIsDefault(DType),
  /** The input data type (an alias of `input_dtype`). */
  dtype: NullIsDefault(DType),
  /** The model's name ("sequential" by default). */
  name: NullIsDefault(Str),
  /** FALSE: none of the layers is trained. */
  trainable: NullIsDefault(Bool),
  /** Layers to add in order. */
  layers: NullIsDefault(accepting<readonly Layer[]>()(described(t.array(t.unknown), "a list of layers"))),
};

/**
 * `keras_model_sequential({ input_shape, batch_size, input_batch_shape, input_dtype, name, layers })`.
 * The K2 form (input arguments on the first layer) gives the same model.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 4] }), layer_lstm({ units: 8 }), layer_dense({ units: 1 }));
 */
export function keras_model_sequential(args: ArgsOf<typeof SEQUENTIAL_PROPS> = {}): SequentialModel {
  const fn = "keras_model_sequential";
  refuseArgumentsPast(fn, ["args"], arguments);
  const a = decodeArgs(fn, SEQUENTIAL_PROPS, args, {});
  const batchShapeArg = a.input_batch_shape ?? a.batch_input_shape;
  if (batchShapeArg && a.input_shape)
    throw new KerasError(fn, "give either `input_shape` (with `batch_size`) or `input_batch_shape`, not both");
  const inputShape: Shape | null = batchShapeArg
    ? Object.freeze([...batchShapeArg])
    : a.input_shape
      ? Object.freeze([a.batch_size ?? null, ...a.input_shape])
      : null;
  let model = freezeModel<SequentialModel>({
    type: "sequential",
    name: a.name ?? "sequential",
    layers: Object.freeze([]),
    compiled: null,
    inputShape,
    inputDtype: a.input_dtype ?? a.dtype ?? "float32",
    shapes: inputShape ? Object.freeze([]) : null,
  });
  for (const [i, l] of (a.layers ?? []).entries()) {
    if (!isLayer(l)) throw new KerasError(fn, `\`layers[[${i + 1}]]\` must be a layer, got ${describeValue(l)}`);
    model = appendLayer(model, l);
  }
  if (a.trainable === false)
    model = withModel(model, { layers: Object.freeze(model.layers.map((l) => withLayer(l, { trainable: false }))) });
  return model;
}

/** The output shape of a sequential model so far (the input shape when it has no layers). */
export function sequentialOutputShape(model: SequentialModel): Shape | null {
  if (!model.shapes) return null;
  return model.shapes.length ? model.shapes[model.shapes.length - 1][0] : model.inputShape;
}

/** `model |> layer`: a new model with `layer` appended (the argument model is unchanged). */
export function appendLayer(model: SequentialModel | import("./model.js").Model, layer: Layer): SequentialModel {
  const family = familyOf(layer);
  if (model.type !== "sequential") {
    throw new KerasError(
      family.fn,
      `layers can be appended to sequential models only; "${model.name}" is a functional model — apply the layer to its output tensor instead`,
    );
  }
  if (model.layers.some((l) => l.id === layer.id)) {
    throw new KerasError(
      family.fn,
      `layer "${layer.name}" is already in model "${model.name}"; a layer can appear once in a sequential model`,
    );
  }
  const taken = new Set(model.layers.map((l) => l.name));
  if (!layer.autoName && taken.has(layer.name)) {
    throw new KerasError(
      family.fn,
      `the name "${layer.name}" is already used in model "${model.name}"; layer names must be unique`,
    );
  }
  const named = layer.autoName ? withLayer(layer, { name: uniqueName(layer.name, taken) }) : layer;
  let inputShape = model.inputShape;
  let inputDtype = model.inputDtype;
  const first = model.layers.length === 0;
  if (family.host && !first)
    throw new KerasError(
      family.fn,
      `layer "${named.name}" reads raw data: it can only be the first layer of a model (it runs before the tensor graph)`,
    );
  // A text layer's implied input shape (one string per sample) gives way to the model's own.
  if (first && named.batchInputShape && !(family.host && inputShape)) {
    if (inputShape && !shapesEqual(inputShape, named.batchInputShape)) {
      throw new KerasError(
        family.fn,
        `layer "${named.name}" declares input shape ${formatShape(named.batchInputShape)} but model "${model.name}" has input shape ${formatShape(inputShape)}`,
        "shape",
      );
    }
    inputShape = named.batchInputShape;
    inputDtype = named.inputDtype;
  }
  if (family.host) inputDtype = family.host.inputDtype(named.config);
  const prevShape = first ? inputShape : model.shapes ? sequentialOutputShape(model) : null;
  let shapes = model.shapes;
  if (prevShape) {
    let out: readonly Shape[];
    try {
      out = inferOutputShapes(named, [prevShape]);
    } catch (e) {
      if (e instanceof KerasError && e.kind === "shape") {
        const after = first ? "the model input" : `"${model.layers[model.layers.length - 1].name}"`;
        throw new KerasError(
          e.fn,
          `cannot add "${named.name}" after ${after} with output shape ${formatShape(prevShape)}: ${e.detail}`,
          "shape",
        );
      }
      throw e;
    }
    if (out.length !== 1) {
      throw new KerasError(
        family.fn,
        `layer "${named.name}" returns ${out.length} tensors ${formatShapes(out)}; a sequential model needs single-output layers (for return_state = TRUE use the functional API: layer_input() and keras_model())`,
        "shape",
      );
    }
    checkStatefulBatch(named, [prevShape], family.fn);
    shapes = Object.freeze([...(model.shapes ?? []), Object.freeze(out)]);
  } else if (isStatefulNoShape(named)) {
    checkStatefulBatch(named, [[null]], family.fn);
  }
  // The layer value in the model records the input shape the model gives it (none while unknown).
  const placed =
    prevShape || named.knownInputShapes
      ? withLayer(named, { knownInputShapes: prevShape ? [prevShape] : null })
      : named;
  return withModel(model, {
    layers: Object.freeze([...model.layers, placed]),
    inputShape,
    inputDtype,
    shapes: prevShape ? shapes : null,
    compiled: null,
  });
}

function isStatefulNoShape(layer: Layer): boolean {
  return layer.config.stateful === true && familyOf(layer).stateShapes !== undefined;
}
