/** Weights and inspection verbs: get/set_weights, count_params, get_layer, pop_layer, freeze/unfreeze. */
import * as t from "io-ts";
import { ArgumentError, KerasError, describeValue } from "../errors.js";
import { Int, decodeArgs, described, refuseArgumentsPast } from "../args.js";
import { isModel } from "../model/guards.js";
import {
  builtInputShapesOf,
  builtWeightsOf,
  countParams,
  familyOf,
  isLayer,
  weightSpecsOf,
  weightValuesOf,
  withLayer,
  type Layer,
} from "../model/layer.js";
import { withModel, type Model, type SequentialModel } from "../model/model.js";
import { keras_model_sequential, appendLayer } from "../model/sequential.js";
import { buildPlan } from "../engine/plan.js";
import { eagerWeights } from "../engine/eager.js";
import { toNested, weightsFromRaw } from "../model/weights.js";
import type { WeightValue } from "../model/types.js";
import { noteDerived, noteModelUse } from "./hints.js";
import type { NestedNumbers } from "../model/dual.js";

function modelLayerWeights(fn: string, model: Model): { layer: Layer; values: readonly WeightValue[]; shapes: any }[] {
  let plan;
  try {
    plan = buildPlan(model);
  } catch (e) {
    if (e instanceof KerasError || e instanceof ArgumentError)
      throw new KerasError(
        fn,
        `model "${model.name}" is not built yet (its input shape is unknown): give input_shape, or fit/predict it first`,
        "shape",
      );
    throw e;
  }
  return model.layers.map((layer, i) => {
    const shapes = plan.layerInputShapes[i];
    return { layer, shapes, values: shapes ? weightValuesOf(layer, shapes, fn) : [] };
  });
}

/**
 * `get_weights(model | layer)`: the weights as nested arrays, in Keras order.
 *
 * @example
 * const [kernel, bias] = get_weights(get_layer(model, { name: "dense" }));
 */
export function get_weights(object: Model | Layer): NestedNumbers[] {
  const fn = "get_weights";
  refuseArgumentsPast(fn, ["object"], arguments);
  if (isModel(object)) {
    noteModelUse(object);
    return modelLayerWeights(fn, object).flatMap((l) => l.values.map(toNested));
  }
  if (isLayer(object)) {
    // A layer taken from a model is built for the model's input shapes (its weights drawn on demand).
    const values = object.knownInputShapes
      ? weightValuesOf(object, object.knownInputShapes, fn)
      : (builtWeightsOf(object) ?? []);
    // Training-mode eager calls update a layer's non-trainable weights (batch normalization's moving
    // statistics), as in Keras: report those.
    const current = eagerWeights(object);
    return (current && current.length === values.length ? current : values).map(toNested);
  }
  throw new KerasError(fn, `\`object\` must be a model or a layer, got ${describeValue(object)}`);
}

/**
 * `set_weights(model | layer, weights)`: a new value holding `weights` (nested arrays, typed arrays or tensors).
 *
 * @example
 * const fixed = set_weights(model, get_weights(other));
 */
export function set_weights<T extends Model | Layer>(object: T, weights: readonly unknown[]): T {
  const fn = "set_weights";
  refuseArgumentsPast(fn, ["object", "weights"], arguments);
  if (!Array.isArray(weights))
    throw new KerasError(fn, `\`weights\` must be a list of arrays, got ${describeValue(weights)}`);
  if (isModel(object)) {
    const layers = modelLayerWeights(fn, object);
    const total = layers.reduce((n, l) => n + l.values.length, 0);
    if (weights.length !== total)
      throw new KerasError(fn, `\`weights\`: model "${object.name}" has ${total} weight arrays, got ${weights.length}`);
    let k = 0;
    const newLayers = layers.map(({ layer, shapes }) => {
      if (!shapes) return layer;
      const specs = weightSpecsOf(layer, shapes);
      const vals = weightsFromRaw(fn, `layer "${layer.name}"`, specs, weights.slice(k, k + specs.length));
      k += specs.length;
      return specs.length ? withLayer(layer, { weightValues: vals }) : layer;
    });
    const result = withModel(object as Model, { layers: Object.freeze(newLayers) });
    noteDerived(fn, object, result);
    return result as T;
  }
  if (isLayer(object)) {
    const shapes = builtInputShapesOf(object);
    if (!shapes)
      throw new KerasError(
        fn,
        `layer "${object.name}" is not built yet: its input shape is unknown (give input_shape, or call it on data first)`,
        "shape",
      );
    const vals = weightsFromRaw(fn, `layer "${object.name}"`, weightSpecsOf(object, shapes), weights);
    return withLayer(object, { weightValues: vals }) as T;
  }
  throw new KerasError(fn, `\`object\` must be a model or a layer, got ${describeValue(object)}`);
}

/**
 * `count_params(model | layer)`.
 *
 * @example
 * count_params(keras_model_sequential({ input_shape: [3], layers: [layer_dense({ units: 2 })] })); // 8
 */
export function count_params(object: Model | Layer): number {
  const fn = "count_params";
  refuseArgumentsPast(fn, ["object"], arguments);
  if (isModel(object)) {
    const plan = (() => {
      try {
        return buildPlan(object);
      } catch {
        throw new KerasError(fn, `model "${object.name}" is not built yet (its input shape is unknown)`, "shape");
      }
    })();
    return object.layers.reduce(
      (n, l, i) => n + (plan.layerInputShapes[i] ? countParams(weightSpecsOf(l, plan.layerInputShapes[i]!)) : 0),
      0,
    );
  }
  if (isLayer(object)) {
    const shapes = builtInputShapesOf(object);
    if (!shapes) {
      if (!familyOf(object).weights) return 0;
      throw new KerasError(fn, `layer "${object.name}" is not built yet: its input shape is unknown`, "shape");
    }
    return countParams(weightSpecsOf(object, shapes));
  }
  throw new KerasError(fn, `\`object\` must be a model or a layer, got ${describeValue(object)}`);
}

function checkModel(fn: string, object: unknown): asserts object is Model {
  if (!isModel(object)) throw new KerasError(fn, `\`object\` must be a model, got ${describeValue(object)}`);
  noteModelUse(object);
}

/**
 * `get_layer(model, { name } | { index })`; index is 1-based as in R.
 *
 * @example
 * const lstm = get_layer(model, { name: "lstm" });
 */
export function get_layer(model: Model, args: { name?: string; index?: number }): Layer {
  const fn = "get_layer";
  refuseArgumentsPast(fn, ["model", "args"], arguments);
  checkModel(fn, model);
  const { name, index } = decodeArgs(
    fn,
    { name: described(t.string, "a layer name"), index: described(Int, "a 1-based index") },
    args,
    {},
  ) as { name?: string; index?: number };
  if ((name === undefined) === (index === undefined))
    throw new KerasError(fn, "give exactly one of `name` and `index`");
  if (name !== undefined) {
    const l = model.layers.find((x) => x.name === name);
    if (!l)
      throw new KerasError(
        fn,
        `no layer named "${name}" in model "${model.name}" (layers: ${model.layers.map((x) => x.name).join(", ")})`,
      );
    return l;
  }
  if (typeof index !== "number" || !Number.isInteger(index))
    throw new KerasError(fn, `\`index\` must be an integer, got ${describeValue(index)}`);
  if (index === 0) throw new KerasError(fn, "`index` is 1-based (as in R): the first layer is index 1, not 0");
  if (index < 1 || index > model.layers.length)
    throw new KerasError(fn, `\`index\` must be between 1 and ${model.layers.length}, got ${index}`);
  return model.layers[index - 1];
}

/**
 * `pop_layer(model)`: a new sequential model without its last layer.
 *
 * @example
 * const shorter = pop_layer(model); // without its last layer
 */
export function pop_layer(model: SequentialModel): SequentialModel {
  const fn = "pop_layer";
  refuseArgumentsPast(fn, ["model"], arguments);
  checkModel(fn, model);
  if (model.type !== "sequential") throw new KerasError(fn, "pop_layer() applies to sequential models only");
  if (model.layers.length === 0) throw new KerasError(fn, `model "${model.name}" has no layers to pop`);
  const popped = withModel(model, {
    layers: Object.freeze(model.layers.slice(0, -1)),
    shapes: model.shapes ? Object.freeze(model.shapes.slice(0, -1)) : null,
    compiled: null,
  });
  noteDerived(fn, model, popped);
  return popped;
}

type LayerSelector = string | number;
interface FreezeArgs {
  from?: LayerSelector;
  to?: LayerSelector;
  which?: readonly (LayerSelector | boolean)[];
}

function selectLayers(fn: string, model: Model, args: FreezeArgs): Set<number> {
  const n = model.layers.length;
  const pos = (sel: LayerSelector, arg: string): number => {
    if (typeof sel === "string") {
      const i = model.layers.findIndex((l) => l.name === sel);
      if (i < 0) throw new KerasError(fn, `\`${arg}\`: no layer named "${sel}" in model "${model.name}"`);
      return i;
    }
    if (!Number.isInteger(sel) || sel === 0 || Math.abs(sel) > n)
      throw new KerasError(
        fn,
        `\`${arg}\` must be a layer name or a 1-based index in 1..${n}, got ${describeValue(sel)}`,
      );
    return sel > 0 ? sel - 1 : n + sel;
  };
  const out = new Set<number>();
  if (args.which !== undefined) {
    if (args.from !== undefined || args.to !== undefined)
      throw new KerasError(fn, "give `which`, or `from`/`to`, not both");
    if (args.which.every((w) => typeof w === "boolean")) {
      if (args.which.length !== n)
        throw new KerasError(fn, `a logical \`which\` needs ${n} values, got ${args.which.length}`);
      args.which.forEach((w, i) => w && out.add(i));
    } else args.which.forEach((w) => out.add(pos(w as LayerSelector, "which")));
    return out;
  }
  const a = args.from !== undefined ? pos(args.from, "from") : 0;
  const b = args.to !== undefined ? pos(args.to, "to") : n - 1;
  for (let i = a; i <= b; i++) out.add(i);
  return out;
}

const LayerSelector = described(t.union([t.string, Int]), "a layer name or a 1-based index");
const FREEZE_PROPS = {
  from: LayerSelector,
  to: LayerSelector,
  which: described(
    t.array(t.union([t.string, Int, t.boolean])),
    "a vector of layer names, 1-based indices or logicals",
  ),
};

function setTrainable(fn: string, model: Model, args: FreezeArgs, trainable: boolean): Model {
  checkModel(fn, model);
  const sel = selectLayers(fn, model, decodeArgs(fn, FREEZE_PROPS, args, {}) as FreezeArgs);
  const layers = model.layers.map((l, i) =>
    sel.has(i) && l.className !== "InputLayer" ? withLayer(l, { trainable }) : l,
  );
  const result = withModel(model, { layers: Object.freeze(layers), compiled: model.compiled });
  noteDerived(fn, model, result);
  return result;
}

/**
 * `freeze_weights(model, { from, to, which })`: a new model whose selected layers are not trainable.
 *
 * @example
 * const frozen = freeze_weights(model, { to: "lstm" }); // the layers up to "lstm" are not trained
 */
export function freeze_weights<M extends Model>(model: M, args: FreezeArgs = {}): M {
  refuseArgumentsPast("freeze_weights", ["model", "args"], arguments);
  return setTrainable("freeze_weights", model, args, false) as M;
}

/**
 * `unfreeze_weights(model, { from, to, which })`.
 *
 * @example
 * const trainable = unfreeze_weights(frozen);
 */
export function unfreeze_weights<M extends Model>(model: M, args: FreezeArgs = {}): M {
  refuseArgumentsPast("unfreeze_weights", ["model", "args"], arguments);
  return setTrainable("unfreeze_weights", model, args, true) as M;
}

export { keras_model_sequential, appendLayer };
