/**
 * A model as the layer a wrapper runs (`time_distributed({ layer: model })`, as Keras's TimeDistributed
 * takes a Sequential or functional model): a layer value whose family runs the model's plan on the
 * weights it is handed — every layer's weights in the model's get_weights() order. The family is not
 * registered: the value carries it (OWN_FAMILY), as a user class does.
 */
import { KerasError } from "../../errors.js";
import { familyOf, inferOutputShapes, makeLayer, weightValuesOf, type Layer } from "../../model/layer.js";
import type { Model } from "../../model/model.js";
import { OWN_FAMILY } from "../../model/registry.js";
import { formatShape, shapesCompatible } from "../../model/shape.js";
import type { ForwardContext, ForwardResult, LayerFamily, Shape, WeightSpec } from "../../model/types.js";
import type { Tensor } from "../../backend/tf.js";
import { buildPlan, type Plan } from "../../engine/plan.js";
import { innerWeightSpecs } from "./common.js";
import { asRecord } from "../../io/layer_config.js";
import { MODEL_CLASS_NAMES, fromConfig, toConfig } from "../../io/config.js";
import { isModel } from "../../model/guards.js";

/** TRUE for a layer value made by `modelAsLayer` (a model a wrapper runs). */
export const isModelLayer = (layer: Layer): boolean => isModel(layer.config.model);

/** The weight specs of each layer of `plan`'s model, in model order (empty for layers never called). */
function layerSpecs(model: Model, plan: Plan): readonly (readonly WeightSpec[])[] {
  return model.layers.map((layer, i) => {
    const shapes = plan.layerInputShapes[i];
    return shapes ? innerWeightSpecs(layer, shapes) : [];
  });
}

/** Runs the model's plan on `ctx` (its one input), each layer given its slice of `ctx.weights`. */
function runModel(model: Model, plan: Plan, specs: readonly (readonly WeightSpec[])[], ctx: ForwardContext) {
  const offsets = specs.map((_, i) => specs.slice(0, i).reduce((n, s) => n + s.length, 0));
  const values: Tensor[][] = [];
  const masks: (Tensor | null)[][] = [];
  const losses: Tensor[] = [];
  const weightUpdates: { index: number; value: Tensor }[] = [];
  const get = (r: { node: number; output: number }) => (r.node < 0 ? ctx.inputs[0] : values[r.node][r.output]);
  const getMask = (r: { node: number; output: number }) =>
    r.node < 0 ? (ctx.masks[0] ?? null) : masks[r.node][r.output];
  for (const node of plan.nodes) {
    const layer = model.layers[node.layerIndex];
    const family = familyOf(layer);
    const inputMasks = node.mask ? [get(node.mask)] : node.inputs.map(getMask);
    const offset = offsets[node.layerIndex];
    const r = family.forward(layer.config, {
      inputs: node.inputs.map(get),
      weights: ctx.weights.slice(offset, offset + specs[node.layerIndex].length),
      masks: inputMasks,
      training: node.training ?? ctx.training,
      trainable: ctx.trainable !== false && layer.trainable,
      initialState: node.initialState.length ? node.initialState.map(get) : undefined,
      constants: node.constants.length ? node.constants.map(get) : undefined,
    });
    values.push([...r.outputs]);
    masks.push(r.masks ? [...r.masks] : r.outputs.map(() => (family.mask === "drop" ? null : (inputMasks[0] ?? null))));
    if (r.losses) losses.push(...r.losses);
    for (const u of r.weightUpdates ?? []) weightUpdates.push({ index: offset + u.index, value: u.value });
  }
  return { outputs: plan.outputs.map(get), masks: plan.outputs.map(getMask), losses, weightUpdates };
}

/**
 * `model` as a layer value for wrapper `fn`: one input and one output, no stateful layers. It holds the
 * model's current weights.
 */
export function modelAsLayer(fn: string, model: Model): Layer {
  const plan = (() => {
    try {
      return buildPlan(model);
    } catch (e) {
      throw new KerasError(fn, `\`layer\`: model "${model.name}" has no input shape: give it one`, "shape", {
        cause: e,
      });
    }
  })();
  if (plan.inputShapes.length !== 1 || plan.outputShapes.length !== 1)
    throw new KerasError(
      fn,
      `\`layer\`: model "${model.name}" must have one input and one output, it has ${plan.inputShapes.length} and ${plan.outputShapes.length}`,
    );
  const stateful = model.layers.find((l) => l.config.stateful === true);
  if (stateful)
    throw new KerasError(
      fn,
      `\`layer\`: model "${model.name}" holds stateful layer "${stateful.name}", which a wrapper cannot carry`,
    );
  const specs = layerSpecs(model, plan);
  const family: LayerFamily<Record<string, never>> = {
    className: model.type === "sequential" ? "Sequential" : "Functional",
    fn,
    props: {},
    defaults: {},
    outputShape: (_c, [input]: readonly Shape[]) => {
      if (!shapesCompatible(input, plan.inputShapes[0]))
        throw new KerasError(
          fn,
          `model "${model.name}" takes inputs of shape ${formatShape(plan.inputShapes[0])}, got ${formatShape(input)}`,
          "shape",
        );
      // The model's layers composed on this input (its batch size), as when the model was built.
      let shape: Shape = input;
      if (model.type === "sequential")
        for (const layer of model.layers) shape = inferOutputShapes(layer, [shape], undefined, fn)[0];
      else shape = [input[0], ...plan.outputShapes[0].slice(1)];
      return [shape];
    },
    weights: () => specs.flat(),
    forward: (_c, ctx): ForwardResult => runModel(model, plan, specs, ctx),
    mask: "drop",
    // The model's own config: layerToConfig makes it Keras's nested `{ class_name: "Sequential", config }`.
    toConfig: () => toConfig(model) as unknown as Record<string, unknown>,
  };
  const weights = model.layers.flatMap((layer, i) => {
    const shapes = plan.layerInputShapes[i];
    return shapes ? weightValuesOf(layer, shapes, fn) : [];
  });
  return makeLayer(family.className, {
    name: model.name,
    config: { [OWN_FAMILY]: family, model },
    weightValues: weights,
  });
}

/**
 * A wrapper's nested `layer` read back from a config: a model (a model value, or Keras's nested
 * `{ class_name: "Sequential" | "Functional", config }`) as the layer `modelAsLayer` makes; anything
 * else undefined (an ordinary nested layer).
 */
export function nestedModelFromConfig(fn: string, value: unknown): Layer | undefined {
  if (isModel(value)) return modelAsLayer(fn, value);
  const r = asRecord(value);
  if (!r || typeof r.class_name !== "string" || !MODEL_CLASS_NAMES.includes(r.class_name)) return undefined;
  const model = fromConfig(fn, r);
  if (!isModel(model)) throw new KerasError(fn, "`layer`: the nested model config describes a layer", "io");
  return modelAsLayer(fn, model);
}
