/**
 * Parts shared by the wrapper families (Bidirectional, TimeDistributed): the `layer` argument codec,
 * running a wrapped layer's family on tensors, the wrapped layer's weight specs, the R-style dual
 * function that lets a wrapper adopt its inner layer's input shape, and the Keras config of a nested layer
 * both ways.
 */
import { Guarded } from "../../args.js";
import { dualLayerFunction, familyOf, isLayer, withLayer, type Layer } from "../../model/layer.js";
import type { ForwardContext, ForwardResult, Shape, WeightSpec } from "../../model/types.js";
import { layerToConfig, nestedLayerFromConfig, type LayerConfig } from "../../io/layer_config.js";

/** A layer value (made by a `layer_*()` function called without data). */
export const LayerArg = Guarded("Layer", isLayer, "a layer value (e.g. layer_lstm({ units: 8 }))");

/** A wrapped layer's weight specs for `inputShapes`, non-trainable when the wrapped layer is frozen. */
export function innerWeightSpecs(layer: Layer, inputShapes: readonly Shape[]): readonly WeightSpec[] {
  const family = familyOf(layer);
  const specs = family.weights ? family.weights(layer.config, inputShapes) : [];
  return layer.trainable ? specs : specs.map((s) => ({ ...s, trainable: false }));
}

/**
 * Runs `layer`'s family forward function with its config (optionally changed) on `ctx` (which carries
 * the wrapper's `trainable`): the wrapped layer is frozen when the wrapper or the layer itself is.
 */
export function innerForward(
  layer: Layer,
  ctx: ForwardContext,
  configChanges: Record<string, unknown> = {},
): ForwardResult {
  const config = Object.keys(configChanges).length ? { ...layer.config, ...configChanges } : layer.config;
  return familyOf(layer).forward(config, { ...ctx, trainable: ctx.trainable !== false && layer.trainable });
}

/** The mask a wrapped layer gives its output: its own, or its family's policy applied to its input mask. */
export function innerOutputMask(layer: Layer, result: ForwardResult, inputMask: ForwardContext["masks"][number]) {
  if (result.masks) return result.masks[0] ?? null;
  return familyOf(layer).mask === "drop" ? null : inputMask;
}

/** Keras's `{ class_name, config }` of a nested layer (what `get_config()` shows for the wrapped layer). */
export const nestedLayerConfig = (layer: Layer): LayerConfig => layerToConfig(layer);

/** A wrapper family's `fromConfig`: the nested layers under `keys` rebuilt from their Keras configs. */
export const nestedLayersFromConfig =
  (...keys: string[]) =>
  (config: Record<string, unknown>, fn: string): Record<string, unknown> =>
    keys.reduce((c, k) => nestedLayerFromConfig(fn, c, k), config);

/**
 * The R-style dual function of a wrapper: like `defineLayer`'s (nothing or a record of arguments → a
 * layer value; a model, symbolic tensor or data first → the wrapper applied to it). With
 * `adoptInputShape`, a wrapper with no input shape of its own takes the one its inner layer declares
 * (`bidirectional({ layer: layer_lstm({ units: 4, input_shape: [10, 8] }) })`): both see the same input.
 */
export function wrapperFunction(
  fn: string,
  makeLayer: (args?: Record<string, unknown>) => Layer,
  adoptInputShape: boolean,
) {
  return dualLayerFunction(fn, (args) => {
    const made = makeLayer(args);
    return adoptInputShape ? adoptInnerInputShape(made) : made;
  });
}

function adoptInnerInputShape(wrapper: Layer): Layer {
  const inner = wrapper.config.layer as Layer;
  if (wrapper.batchInputShape || !inner.batchInputShape) return wrapper;
  return withLayer(wrapper, { batchInputShape: inner.batchInputShape, inputDtype: inner.inputDtype });
}
