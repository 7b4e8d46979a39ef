/**
 * time_distributed / layer_time_distributed: applies a layer to every timestep of a (batch, time, ...)
 * input (KERAS_FACTS "The recurrent loop"). The weights are the inner layer's, shared by all timesteps.
 *
 * Two paths with the same numbers: a stateless inner layer runs once on the input reshaped to
 * (batch * time, ...) with the mask reshaped alike, so step t of sample b sees `mask[b, t]` (Keras 2's
 * implementation); a stateful inner layer runs step by step, its state carried from one timestep to the
 * next and from call to call (Keras 3's loop does the same).
 */
import { tf, type Tensor } from "../../backend/tf.js";
import { KerasError } from "../../errors.js";
import {
  builtWeightsOf,
  defineLayer,
  familyOf,
  inferOutputShapes,
  withLayer,
  type Layer,
  type LayerArgs,
} from "../../model/layer.js";
import { formatShape } from "../../model/shape.js";
import { isModel } from "../../model/guards.js";
import type { Model } from "../../model/model.js";
import type { Applied, LayerInput } from "../../model/dual.js";
import { isPlainRecord } from "../../args.js";
import { modelAsLayer, nestedModelFromConfig } from "./nested_model.js";
import type { ForwardContext, ForwardResult, LayerFamily, Shape } from "../../model/types.js";
import {
  LayerArg,
  innerForward,
  innerOutputMask,
  innerWeightSpecs,
  nestedLayerConfig,
  nestedLayersFromConfig,
  wrapperFunction,
  type WrapperFunction,
} from "./common.js";

const FN = "time_distributed";

export interface TimeDistributedConfig {
  /** The layer applied at each timestep. */
  layer: Layer;
  /** Derived from the inner layer: TRUE when it is a stateful recurrent layer. */
  stateful: boolean;
}

/** The shape one timestep has: the input without its time axis. */
function stepShape(input: Shape): Shape {
  if (input.length < 3) {
    throw new KerasError(
      FN,
      `expected an input with at least 3 axes (batch, time, ...features), got shape ${formatShape(input)}`,
      "shape",
    );
  }
  return [input[0], ...input.slice(2)];
}

/** (batch, time, ...rest) → (batch * time, ...rest). */
const mergeBatchAndTime = (x: Tensor) => tf.reshape(x, [x.shape[0] * x.shape[1]!, ...x.shape.slice(2)]);
/** (batch * time, ...rest) → (batch, time, ...rest). */
const splitBatchAndTime = (x: Tensor, batch: number, time: number) => tf.reshape(x, [batch, time, ...x.shape.slice(1)]);

/**
 * Keras 2's TimeDistributed.compute_mask: the inner layer's output mask with the time axis restored;
 * when the inner layer gives none, the input mask reduced to (batch, time).
 */
function outputMask(innerMask: Tensor | null, inputMask: Tensor | null, batch: number, time: number): Tensor | null {
  if (innerMask) return splitBatchAndTime(innerMask, batch, time);
  if (!inputMask) return null;
  return inputMask.rank > 2
    ? tf.any(
        tf.cast(inputMask, "bool"),
        [...Array(inputMask.rank - 2).keys()].map((a) => a + 2),
      )
    : inputMask;
}

function forwardReshaped(layer: Layer, ctx: ForwardContext): ForwardResult {
  const x = ctx.inputs[0];
  const [batch, time] = x.shape;
  const mask = ctx.masks[0] ?? null;
  const stepMask = mask ? mergeBatchAndTime(mask) : null;
  const r = innerForward(layer, {
    inputs: [mergeBatchAndTime(x)],
    weights: ctx.weights,
    masks: [stepMask],
    training: ctx.training,
    trainable: ctx.trainable,
  });
  return {
    outputs: [splitBatchAndTime(r.outputs[0], batch, time)],
    masks: [outputMask(innerOutputMask(layer, r, stepMask), mask, batch, time)],
    losses: r.losses,
    weightUpdates: r.weightUpdates,
  };
}

function forwardStepwise(layer: Layer, ctx: ForwardContext): ForwardResult {
  const x = ctx.inputs[0];
  const [batch, time] = x.shape;
  const mask = ctx.masks[0] ?? null;
  const steps = tf.unstack(x, 1);
  // Sliced as float32 (wasm's slicing kernels assume 4-byte elements), each step's mask cast back to bool.
  const stepMasks = mask
    ? tf.unstack(tf.cast(mask, "float32"), 1).map((m) => tf.cast(m, "bool"))
    : steps.map(() => null);
  let state = ctx.state;
  const outputs: Tensor[] = [];
  const innerMasks: (Tensor | null)[] = [];
  const losses: Tensor[] = [];
  let last: ForwardResult | undefined;
  steps.forEach((step, t) => {
    last = innerForward(layer, {
      inputs: [step],
      weights: ctx.weights,
      masks: [stepMasks[t]],
      training: ctx.training,
      trainable: ctx.trainable,
      state,
    });
    if (last.newState) state = last.newState;
    outputs.push(last.outputs[0]);
    innerMasks.push(innerOutputMask(layer, last, stepMasks[t]));
    if (last.losses) losses.push(...last.losses);
  });
  const innerMask = innerMasks.every((m) => m !== null) ? mergeBatchAndTime(tf.stack(innerMasks as Tensor[], 1)) : null;
  return {
    outputs: [tf.stack(outputs, 1)],
    masks: [outputMask(innerMask, mask, batch, time)],
    newState: state,
    losses,
    weightUpdates: last?.weightUpdates,
  };
}

export const TimeDistributedFamily: LayerFamily<TimeDistributedConfig> = {
  className: "TimeDistributed",
  fn: FN,
  props: {},
  defaults: {},
  validate: (c: TimeDistributedConfig): TimeDistributedConfig => {
    const family = familyOf(c.layer);
    if (c.layer.className === "InputLayer" || family.inputs === "many") {
      throw new KerasError(FN, `\`layer\` must be a layer with one input, got a ${c.layer.className} layer`);
    }
    return { layer: c.layer, stateful: c.layer.config.stateful === true && family.stateShapes !== undefined };
  },
  outputShape: (c: TimeDistributedConfig, [input]: readonly Shape[]) => {
    const inner = inferOutputShapes(c.layer, [stepShape(input)], undefined, FN);
    if (inner.length !== 1) {
      throw new KerasError(
        FN,
        `the wrapped layer "${c.layer.name}" must return one tensor, it returns ${inner.length}`,
        "shape",
      );
    }
    return [[input[0], input[1], ...inner[0].slice(1)]];
  },
  weights: (c: TimeDistributedConfig, [input]: readonly Shape[]) =>
    innerWeightSpecs(c.layer, [[null, ...stepShape(input).slice(1)]]),
  stateShapes: (c: TimeDistributedConfig, [input]: readonly Shape[]) =>
    familyOf(c.layer).stateShapes!(c.layer.config, [stepShape(input)]),
  inputProblem: (c: TimeDistributedConfig, x) => familyOf(c.layer).inputProblem?.(c.layer.config, x) ?? null,
  forward: (c: TimeDistributedConfig, ctx: ForwardContext): ForwardResult =>
    ctx.state ? forwardStepwise(c.layer, ctx) : forwardReshaped(c.layer, ctx),
  toConfig: (c: TimeDistributedConfig) => ({ layer: nestedLayerConfig(c.layer) }),
  fromConfig: (config: Record<string, unknown>, fn: string) => {
    const model = nestedModelFromConfig(fn, config.layer);
    return model ? { ...config, layer: model } : nestedLayersFromConfig("layer")(config, fn);
  },
};

const TIME_DISTRIBUTED_PROPS = {
  /** The layer applied at each timestep (a layer value, e.g. layer_dense({ units: 8 })). */
  layer: LayerArg,
};
const makeTimeDistributed = defineLayer<typeof TIME_DISTRIBUTED_PROPS, "layer", TimeDistributedConfig>({
  ...TimeDistributedFamily,
  props: TIME_DISTRIBUTED_PROPS,
  required: ["layer"],
});

type TimeDistributedArgs = LayerArgs<typeof TIME_DISTRIBUTED_PROPS, "layer">;
/** time_distributed's dual function: the wrapped `layer` may also be a model (by name: a model first is `object`). */
type TimeDistributedFunction = WrapperFunction<TimeDistributedArgs> & {
  <X extends LayerInput>(object: X, args: Omit<TimeDistributedArgs, "layer"> & { layer: Model }): Applied<X, "one">;
  (args: Omit<TimeDistributedArgs, "layer"> & { layer: Model }): Layer<"one">;
};

/**
 * `time_distributed(object, { layer })`: `layer` applied to every timestep of `object`'s
 * (batch, time, ...) input. Output shape (batch, time, ...the layer's output); the weights (and the
 * parameter count) are the inner layer's, and weights the inner layer already holds are kept. `layer` may
 * be a sequential or functional model of one input and one output (given by name), run at every timestep
 * with its weights; it is saved with the model's config nested, as Keras saves it (`.keras` files and
 * configs; not legacy `.h5` or tfjs files).
 * R's call shape `time_distributed(layer)` gives the wrapper as a layer value, for `pipe`.
 *
 * @example
 * const model = pipe(
 *   keras_model_sequential({ input_shape: [10, 4] }),
 *   layer_lstm({ units: 8, return_sequences: true }),
 *   time_distributed(layer_dense({ units: 1 })),
 * );
 */
export const time_distributed = wrapperFunction<TimeDistributedFunction>(
  FN,
  (args) => {
    // A model (Keras: TimeDistributed(Sequential(...))) runs as a layer holding the model's weights.
    const given = isPlainRecord(args) && isModel(args.layer) ? { ...args, layer: modelAsLayer(FN, args.layer) } : args;
    const layer = makeTimeDistributed(given as LayerArgs<typeof TIME_DISTRIBUTED_PROPS, "layer">);
    if (layer.weightsArg) return layer;
    const inner = layer.config.layer as Layer;
    const held = builtWeightsOf(inner);
    if (held) return withLayer(layer, { weightsArg: held.map((w) => ({ shape: w.shape, values: w.values })) });
    return inner.weightsArg ? withLayer(layer, { weightsArg: inner.weightsArg }) : layer;
  },
  false,
);

/**
 * R keras's name for `time_distributed`.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [5, 3] }), layer_time_distributed(layer_dense({ units: 2 })));
 */
export const layer_time_distributed = time_distributed;
