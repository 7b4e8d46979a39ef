/**
 * bidirectional / layer_bidirectional: a recurrent layer run forwards and backwards over the same input,
 * the two outputs merged (KERAS_FACTS "The recurrent loop", Bidirectional).
 *
 * The wrapper holds two layer values: `layer`, a fresh copy of the given layer named "forward_<name>",
 * and `backward_layer`, the given one or a copy of the forward layer's config with the opposite
 * `go_backwards`, named "backward_<name>". It is generic over recurrent families: any family whose
 * config has `return_sequences` and `go_backwards` (built-in layers and layer_rnn with custom cells) runs
 * through its own forward function, with `zero_output_for_mask = return_sequences` added to its config.
 *
 * Weights: the forward layer's, then the backward layer's (Keras order). Stateful state: the forward
 * layer's states, then the backward layer's; `initial_state` is split the same way, half and half.
 */
import { tf, type Tensor } from "../../backend/tf.js";
import { Nullable, OneOf } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer, familyOf, inferOutputShapes, makeLayer, type Layer, type LayerArgs } from "../../model/layer.js";
import { formatShape } from "../../model/shape.js";
import type { CallShapes, ForwardContext, ForwardResult, LayerFamily, Shape } from "../../model/types.js";
import type { Applied, LayerInput } from "../../model/dual.js";
import {
  LayerArg,
  innerForward,
  innerWeightSpecs,
  nestedLayerConfig,
  nestedLayersFromConfig,
  wrapperFunction,
  type WrapperFunction,
} from "./common.js";

const FN = "bidirectional";

export type MergeMode = "concat" | "sum" | "ave" | "mul" | null;

export interface BidirectionalConfig {
  /** The forward layer ("forward_<name>"). */
  layer: Layer;
  /** The backward layer ("backward_<name>"): given, or the forward config with go_backwards flipped. */
  backward_layer: Layer;
  merge_mode: MergeMode;
  /** Derived from the forward layer (and equal in the backward one). */
  return_sequences: boolean;
  return_state: boolean;
  stateful: boolean;
}

/** The attributes both directions must agree on (Keras's Bidirectional._verify_layer_config). */
const COMMON_ATTRIBUTES = ["stateful", "return_sequences", "return_state"] as const;

function checkRecurrent(arg: string, layer: Layer): void {
  const c = layer.config;
  if (typeof c.return_sequences !== "boolean" || typeof c.go_backwards !== "boolean") {
    throw new KerasError(
      FN,
      `\`${arg}\` must be a recurrent layer (layer_lstm(), layer_gru(), layer_simple_rnn(), layer_rnn(), layer_conv_lstm_2d(), ...), got a ${layer.className} layer`,
    );
  }
}

const withoutPrefix = (name: string, prefix: string) => (name.startsWith(prefix) ? name.slice(prefix.length) : name);

/** A fresh layer value (no weights carried over) from `layer`'s config with `changes`, renamed. */
function recreate(layer: Layer, name: string, changes: Record<string, unknown> = {}): Layer {
  return makeLayer(layer.className, {
    name,
    config: { ...layer.config, ...changes },
    trainable: layer.trainable,
    batchInputShape: layer.batchInputShape,
    inputDtype: layer.inputDtype,
  });
}

function validate(c: { layer: Layer; backward_layer: Layer | null; merge_mode: MergeMode }): BidirectionalConfig {
  checkRecurrent("layer", c.layer);
  const forward = recreate(c.layer, `forward_${withoutPrefix(c.layer.name, "forward_")}`);
  let backward: Layer;
  if (c.backward_layer) {
    checkRecurrent("backward_layer", c.backward_layer);
    backward = c.backward_layer;
    if (backward.config.go_backwards === forward.config.go_backwards) {
      throw new KerasError(
        FN,
        `\`layer\` and \`backward_layer\` must have different \`go_backwards\` values, both have go_backwards = ${forward.config.go_backwards ? "TRUE" : "FALSE"}`,
      );
    }
    for (const a of COMMON_ATTRIBUTES) {
      if ((forward.config[a] ?? false) !== (backward.config[a] ?? false)) {
        throw new KerasError(
          FN,
          `\`layer\` and \`backward_layer\` must have the same \`${a}\`: the forward layer has ${forward.config[a] ? "TRUE" : "FALSE"}, the backward layer ${backward.config[a] ? "TRUE" : "FALSE"}`,
        );
      }
    }
  } else {
    backward = recreate(c.layer, `backward_${withoutPrefix(c.layer.name, "backward_")}`, {
      go_backwards: !c.layer.config.go_backwards,
    });
  }
  const stateful = forward.config.stateful === true;
  if (stateful && (!familyOf(forward).stateShapes || !familyOf(backward).stateShapes)) {
    throw new KerasError(FN, `the ${forward.className} layer cannot be stateful inside bidirectional()`);
  }
  return {
    layer: forward,
    backward_layer: backward,
    merge_mode: c.merge_mode,
    return_sequences: forward.config.return_sequences,
    return_state: forward.config.return_state === true,
    stateful,
  };
}

/** `initial_state` (or stateful state) split into the forward layer's part and the backward layer's. */
function splitHalf<T>(states: readonly T[] | undefined): [T[] | undefined, T[] | undefined] {
  if (!states || states.length === 0) return [undefined, undefined];
  if (states.length % 2 !== 0) {
    throw new KerasError(
      FN,
      `\`initial_state\` must list the forward layer's states then the backward layer's (an even number of tensors), got ${states.length}`,
      "shape",
    );
  }
  const half = states.length / 2;
  return [states.slice(0, half), states.slice(half)];
}

function mergedShapes(mode: MergeMode, y: Shape, yRev: Shape): Shape[] {
  if (mode === null) return [y, yRev];
  const last = y.length - 1;
  if (mode === "concat") {
    const a = y[last];
    const b = yRev[last];
    return [[...y.slice(0, last), a === null || b === null ? null : a + b]];
  }
  if (y[last] !== null && yRev[last] !== null && y[last] !== yRev[last]) {
    throw new KerasError(
      FN,
      `merge_mode "${mode}" needs outputs of the same shape, got ${formatShape(y)} (forward) and ${formatShape(yRev)} (backward)`,
      "shape",
    );
  }
  return [y];
}

function merge(mode: MergeMode, y: Tensor, yRev: Tensor): Tensor[] {
  switch (mode) {
    case "concat":
      return [tf.concat([y, yRev], -1)];
    case "sum":
      return [tf.add(y, yRev)];
    case "ave":
      return [tf.div(tf.add(y, yRev), 2)];
    case "mul":
      return [tf.mul(y, yRev)];
    case null:
      return [y, yRev];
  }
}

function outputShape(c: BidirectionalConfig, [input]: readonly Shape[], call: CallShapes): Shape[] {
  const [forwardState, backwardState] = splitHalf(call.initialState);
  const forward = inferOutputShapes(
    c.layer,
    [input],
    { initialState: forwardState ?? [], constants: call.constants },
    FN,
  );
  const backward = inferOutputShapes(
    c.backward_layer,
    [input],
    { initialState: backwardState ?? [], constants: call.constants },
    FN,
  );
  const states = c.return_state ? [...forward.slice(1), ...backward.slice(1)] : [];
  return [...mergedShapes(c.merge_mode, forward[0], backward[0]), ...states];
}

function stateCount(layer: Layer, input: Shape): number {
  return familyOf(layer).stateShapes!(layer.config, [input]).length;
}

function forward(c: BidirectionalConfig, ctx: ForwardContext): ForwardResult {
  const x = ctx.inputs[0];
  const input: Shape = x.shape;
  const forwardWeightCount = innerWeightSpecs(c.layer, [[null, ...input.slice(1)]]).length;
  const [forwardInitial, backwardInitial] = splitHalf(ctx.initialState);
  const forwardStateCount = ctx.state ? stateCount(c.layer, input) : 0;
  const direction = (
    layer: Layer,
    weights: readonly Tensor[],
    initialState: Tensor[] | undefined,
    state: readonly Tensor[] | undefined,
  ) =>
    innerForward(
      layer,
      {
        inputs: [x],
        weights,
        masks: [ctx.masks[0] ?? null],
        training: ctx.training,
        trainable: ctx.trainable,
        initialState,
        constants: ctx.constants,
        state,
      },
      { zero_output_for_mask: c.return_sequences },
    );
  const forwardState = ctx.state?.slice(0, forwardStateCount);
  const backwardState = ctx.state?.slice(forwardStateCount);
  const f = direction(c.layer, ctx.weights.slice(0, forwardWeightCount), forwardInitial, forwardState);
  const b = direction(c.backward_layer, ctx.weights.slice(forwardWeightCount), backwardInitial, backwardState);
  // The backward layer returns its sequence in processing order: flip it back to input time order.
  const yRev = c.return_sequences ? tf.reverse(b.outputs[0], 1) : b.outputs[0];
  const merged = merge(c.merge_mode, f.outputs[0], yRev);
  const states = c.return_state ? [...f.outputs.slice(1), ...b.outputs.slice(1)] : [];
  const outMask = c.return_sequences ? (ctx.masks[0] ?? null) : null;
  return {
    outputs: [...merged, ...states],
    masks: [...merged.map(() => outMask), ...states.map(() => null)],
    newState: ctx.state ? [...(f.newState ?? forwardState!), ...(b.newState ?? backwardState!)] : undefined,
    losses: [...(f.losses ?? []), ...(b.losses ?? [])],
  };
}

export const BidirectionalFamily: LayerFamily<BidirectionalConfig> = {
  className: "Bidirectional",
  fn: FN,
  props: {},
  defaults: { merge_mode: "concat", backward_layer: null as unknown as Layer },
  validate: validate as unknown as (c: BidirectionalConfig) => BidirectionalConfig,
  inputDimShape: (d) => [null, d],
  takesStates: true,
  outputShape,
  weights: (c, [input]) => [...innerWeightSpecs(c.layer, [input]), ...innerWeightSpecs(c.backward_layer, [input])],
  stateShapes: (c, [input]) => [
    ...familyOf(c.layer).stateShapes!(c.layer.config, [input]),
    ...familyOf(c.backward_layer).stateShapes!(c.backward_layer.config, [input]),
  ],
  forward,
  // Keras 3's form; a Keras 2 config (no backward_layer) derives the backward layer again.
  toConfig: (c) => ({
    merge_mode: c.merge_mode,
    layer: nestedLayerConfig(c.layer),
    backward_layer: nestedLayerConfig(c.backward_layer),
  }),
  fromConfig: nestedLayersFromConfig("layer", "backward_layer"),
};

const BIDIRECTIONAL_PROPS = {
  /** The recurrent layer run forwards (and, unless `backward_layer` is given, backwards). */
  layer: LayerArg,
  /** How the two outputs combine: "concat" (forward first), "sum", "ave", "mul", or NULL (both, as a list). */
  merge_mode: Nullable(OneOf("concat", "sum", "ave", "mul")),
  /** The recurrent layer run backwards (NULL: a copy of `layer` with go_backwards flipped). */
  backward_layer: Nullable(LayerArg),
};
type BidirectionalArgs = LayerArgs<typeof BIDIRECTIONAL_PROPS, "layer">;

const makeBidirectional = defineLayer<typeof BIDIRECTIONAL_PROPS, "layer", BidirectionalConfig>({
  ...BidirectionalFamily,
  props: BIDIRECTIONAL_PROPS,
  required: ["layer"],
});

/** bidirectional's type: a wrapper function, whose layer returns a list when merge_mode is NULL. */
export interface BidirectionalFunction extends WrapperFunction<BidirectionalArgs> {
  (layer: Layer, args: Omit<BidirectionalArgs, "layer"> & { merge_mode: null }): Layer<"many">;
  <X extends LayerInput>(object: X, args: BidirectionalArgs & { merge_mode: null }): Applied<X, "many">;
  (args: BidirectionalArgs & { merge_mode: null }): Layer<"many">;
}

/**
 * `bidirectional(object, { layer, merge_mode = "concat", backward_layer = NULL, weights = NULL })`:
 * `layer` run over the input in both directions. merge_mode "concat" (forward first), "sum", "ave",
 * "mul", or null (both outputs returned as a list). With the layer's return_state, the output is
 * followed by the forward layer's final states, then the backward layer's. R's call shape
 * `bidirectional(layer, { merge_mode })` gives the wrapper as a layer value, for `pipe`.
 *
 * @example
 * const model = pipe(
 *   keras_model_sequential({ input_shape: [20, 8] }),
 *   bidirectional(layer_lstm({ units: 16 })),
 *   layer_dense({ units: 1, activation: "sigmoid" }),
 * );
 */
export const bidirectional = wrapperFunction<BidirectionalFunction>(
  FN,
  (args) => makeBidirectional(args as BidirectionalArgs),
  true,
);

/**
 * R keras 3's name for `bidirectional`.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [5, 3] }), layer_bidirectional(layer_lstm({ units: 4 })));
 */
export const layer_bidirectional = bidirectional;
