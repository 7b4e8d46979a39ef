/**
 * Parts shared by the wrapper families (Bidirectional, TimeDistributed): the `layer` argument codec,
 * running a wrapped layer's family on tensors, the wrapped layer's weight specs, the R-style dual
 * function that lets a wrapper adopt its inner layer's input shape, and the Keras config of a nested layer
 * both ways.
 */
import { Guarded, isPlainRecord, refuseUnusedArguments } from "../../args.js";
import { KerasError, describeValue } from "../../errors.js";
import { familyOf, isLayer, withLayer, type Layer } from "../../model/layer.js";
import { dualLayerFunction, type Applied, type LayerInput, type Outputs } from "../../model/dual.js";
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
 * A wrapper's dual function. R's call shape, the inner layer first (`bidirectional(layer_lstm({ units: 4 }))`),
 * gives the wrapper as a layer value, ready for `pipe`; otherwise as any layer function: a record of
 * arguments (with `layer`) gives the layer value, and a model, symbolic tensor or data first the wrapper
 * applied to it.
 */
export interface WrapperFunction<A extends { layer: Layer }> {
  <O extends Outputs>(layer: Layer<O>, args?: Omit<A, "layer"> | null): Layer<O>;
  <X extends LayerInput, O extends Outputs>(object: X, args: Omit<A, "layer"> & { layer: Layer<O> }): Applied<X, O>;
  <O extends Outputs>(args: Omit<A, "layer"> & { layer: Layer<O> }): Layer<O>;
}

/**
 * The R-style dual function of a wrapper (see `WrapperFunction`). With `adoptInputShape`, a wrapper with
 * no input shape of its own takes the one its inner layer declares
 * (`bidirectional({ layer: layer_lstm({ units: 4, input_shape: [10, 8] }) })`): both see the same input.
 */
export function wrapperFunction<F>(fn: string, makeLayer: (args: unknown) => Layer, adoptInputShape: boolean): F {
  const make = (args: unknown) => {
    const made = makeLayer(args);
    return adoptInputShape ? adoptInnerInputShape(made) : made;
  };
  const dual = dualLayerFunction<(...a: unknown[]) => unknown>(fn, make);
  const wrapper = (a?: unknown, b?: unknown, ...unused: unknown[]): unknown => {
    if (!isLayer(a)) return dual(a, b, ...unused);
    refuseUnusedArguments(fn, 3, unused, `${fn}(args), ${fn}(object, args) or ${fn}(layer, args)`);
    // R's call shape: the inner layer first, then the wrapper's other arguments (NULL: none).
    if (b !== undefined && b !== null && !isPlainRecord(b))
      throw new KerasError(fn, `arguments must be a record of named arguments, got ${describeValue(b)}`);
    const rest = b ?? {};
    if (Object.hasOwn(rest, "layer") && rest.layer !== undefined)
      throw new KerasError(fn, "`layer` is given twice (as the first argument and by name)");
    return make({ ...rest, layer: a });
  };
  Object.defineProperty(wrapper, "name", { value: fn });
  // The public type is F's overloads; the one implementation dispatches at run time.
  return wrapper as F;
}

function adoptInnerInputShape(wrapper: Layer): Layer {
  const inner = wrapper.config.layer as Layer;
  if (wrapper.batchInputShape || !inner.batchInputShape) return wrapper;
  return withLayer(wrapper, { batchInputShape: inner.batchInputShape, inputDtype: inner.inputDtype });
}
