/**
 * The one RNN layer factory: every recurrent layer (layer_simple_rnn, layer_gru, layer_lstm, layer_rnn,
 * the cuDNN layers) is a cell plus these RNN arguments, shapes, state shapes and forward function.
 * The wrappers rely on the config keys go_backwards, return_sequences, return_state, stateful and
 * zero_output_for_mask: a copy of the config with one of them changed runs through the same forward.
 */
import * as t from "io-ts";
import type { Tensor } from "../../backend/tf.js";
import { KerasError } from "../../errors.js";
import { Bool, NullIsDefault, described, type ConfigOf, type Props } from "../../args.js";
import { defineLayer, type LayerArgs } from "../../model/layer.js";
import type { RecurrentLayerFunction } from "../../model/dual.js";
import { getFamily } from "../../model/registry.js";
import { formatShape } from "../../model/shape.js";
import type { CallShapes, ForwardContext, ForwardResult, Shape } from "../../model/types.js";
import { RegularizerArg, activityLoss, serializeConfigValue } from "../common.js";
import { checkConstants, checkStateShapes, initialStatesOf, memoCell, type RecurrentCell } from "./cell.js";
import { runLoop } from "./loop.js";
import { fusedPlan, fusedRnn, type FusedPlan, type UseCudnn } from "./fused/index.js";

const FalseOnly = (what: string) =>
  described(
    t.refinement(t.boolean, (b) => b === false),
    `FALSE (${what})`,
  );

/** The arguments of every recurrent layer (R keras's RNN arguments; NULL means the default, as in R). */
export const RNN_PROPS = {
  /** Return the output of every timestep (batch, timesteps, units) rather than the last (batch, units). */
  return_sequences: NullIsDefault(Bool),
  /** Return the final states after the output: the layer then returns a list. */
  return_state: NullIsDefault(Bool),
  /** Process the input sequence backwards (and return the reversed sequence). */
  go_backwards: NullIsDefault(Bool),
  /** Carry the final states of each batch over as the initial states of the next (see reset_states()). */
  stateful: NullIsDefault(Bool),
  /** Unroll the loop (accepted for R keras compatibility; the numbers are the same). */
  unroll: NullIsDefault(Bool),
  /** Time-major inputs are not supported: inputs are (batch, timesteps, features). */
  time_major: NullIsDefault(FalseOnly("time-major inputs are not supported; inputs are (batch, timesteps, features)")),
  /** With a mask, output zeros at masked timesteps (rather than repeating the last output). */
  zero_output_for_mask: NullIsDefault(Bool),
  /** Regularizer applied to the output of the layer. */
  activity_regularizer: RegularizerArg,
};
export type RnnArgName = keyof typeof RNN_PROPS;
export type RnnArgs = ConfigOf<typeof RNN_PROPS>;
type RnnProps = typeof RNN_PROPS;

export const RNN_DEFAULTS: RnnArgs = {
  return_sequences: false,
  return_state: false,
  go_backwards: false,
  stateful: false,
  unroll: false,
  time_major: false,
  zero_output_for_mask: false,
  activity_regularizer: null,
};

/** Output shapes: the output (sequence or last step), then the final states with return_state. */
export function recurrentOutputShapes(
  fn: string,
  cell: RecurrentCell,
  c: RnnArgs,
  inputShapes: readonly Shape[],
  call: CallShapes,
): Shape[] {
  const [input] = inputShapes;
  checkInputRank(fn, cell, input);
  if (input.slice(2).some((d) => d === null))
    throw new KerasError(
      fn,
      `the shape of a timestep (the axes after the time axis) must be known, got input shape ${formatShape(input)}`,
      "shape",
    );
  const [batch, steps] = input;
  checkStateShapes(fn, cell, batch, call.initialState);
  checkConstants(fn, cell, call.constants);
  const output: Shape = c.return_sequences ? [batch, steps, cell.outputSize] : [batch, cell.outputSize];
  return c.return_state ? [output, ...cell.stateSizes.map((s) => [batch, s] as Shape)] : [output];
}

/**
 * A recurrent layer's input is (batch, timesteps, features); a cell taking steps of any rank (a custom
 * cell) also takes (batch, timesteps, ...), as Keras's RNN does.
 */
function checkInputRank(fn: string, cell: RecurrentCell, input: Shape): void {
  if (input.length === 3 || (cell.anyStepRank && input.length > 3)) return;
  throw new KerasError(
    fn,
    cell.anyStepRank
      ? `expected an input of shape (batch, timesteps, ...) with at least 3 axes, got shape ${formatShape(input)}`
      : `expected a 3-D input of shape (batch, timesteps, features), got shape ${formatShape(input)}`,
    "shape",
  );
}

/** A timestep's shape: the input's without its time axis. */
const stepShapeOf = (input: Shape): Shape => [input[0], ...input.slice(2)];

/** The cell of a recurrent layer value (GRU, LSTM, RNN, ...), or undefined for other layers. */
export function recurrentCellOf(layer: { className: string; config: Record<string, any> }): RecurrentCell | undefined {
  const recurrent = getFamily(layer.className)?.recurrent;
  return recurrent?.role === "layer" ? recurrent.cell(layer.config) : undefined;
}

/** The plan of a recurrent layer's calls on the current backend (fused or step-wise, and why), or undefined for other layers. */
export function recurrentPlan(
  layer: { className: string; config: Record<string, any> },
  training: boolean,
): FusedPlan | undefined {
  const cell = recurrentCellOf(layer);
  return cell && fusedPlan({ cell, useCudnn: layer.config.use_cudnn ?? "auto", training });
}

/** Forward of every recurrent layer: initial state, the loop (or a fused kernel), outputs and masks. */
export function recurrentForward(
  fn: string,
  cell: RecurrentCell,
  c: RnnArgs & { use_cudnn?: UseCudnn },
  ctx: ForwardContext,
): ForwardResult {
  const x = ctx.inputs[0];
  checkInputRank(fn, cell, x.shape);
  const batch = x.shape[0];
  const inputDim = x.shape[x.rank - 1];
  // Call-time initial_state wins over the carried state of a stateful layer (as Keras).
  const initialStates: Tensor[] = ctx.initialState?.length
    ? [...ctx.initialState]
    : ctx.state?.length
      ? [...ctx.state]
      : initialStatesOf(cell, batch);
  initialStates.forEach((s, i) => {
    if (s.rank !== 2 || s.shape[0] !== batch || s.shape[1] !== cell.stateSizes[i]) {
      throw new KerasError(
        fn,
        `initial state ${i + 1} must have shape ${formatShape([batch, cell.stateSizes[i]])}, got ${formatShape(s.shape)}`,
        "shape",
      );
    }
  });
  const mask = ctx.masks[0] ?? null;
  const plan = fusedPlan({ cell, useCudnn: c.use_cudnn ?? "auto", training: ctx.training });
  if (plan.error) throw new KerasError(fn, plan.error, "runtime");
  const { output, states } =
    plan.path === "fused"
      ? fusedRnn({
          cell: plan.run.cell,
          activation: plan.run.activation,
          recurrentActivation: plan.run.recurrentActivation,
          biasLayout: plan.run.biasLayout,
          fn,
          inputs: x,
          kernel: ctx.weights[0],
          recurrentKernel: ctx.weights[1],
          bias: plan.run.biasLayout === "none" ? null : ctx.weights[2],
          initialState: initialStates,
          mask,
          goBackwards: c.go_backwards,
          returnSequences: c.return_sequences,
          zeroOutputForMask: c.zero_output_for_mask,
        })
      : runLoop(
          cell,
          cell.prepare(ctx.weights, { batch, inputDim, stepShape: stepShapeOf(x.shape), training: ctx.training }),
          x,
          {
            fn,
            goBackwards: c.go_backwards,
            returnSequences: c.return_sequences,
            zeroOutputForMask: c.zero_output_for_mask,
            mask,
            initialStates,
            training: ctx.training,
            constants: ctx.constants ?? [],
          },
        );
  const outputMask = c.return_sequences ? mask : null;
  return {
    outputs: c.return_state ? [output, ...states] : [output],
    masks: c.return_state ? [outputMask, ...states.map(() => null)] : [outputMask],
    // Clones (no copy): the holder of the carried state disposes it on the next call, never the outputs.
    newState: c.stateful ? states.map((s) => s.clone()) : undefined,
    losses: activityLoss(c.activity_regularizer, output, batch),
  };
}

/**
 * Declares a recurrent layer family from its cell: `cellOf(config)` gives the cell; `rnnArgs` limits
 * which RNN arguments the R signature accepts (the cuDNN layers take fewer) and `configRnnArgs` lists
 * those a Keras config of the layer also holds (accepted by from_config only); all are in the config.
 * get_config() writes the accepted arguments only (unless `toConfig` says otherwise).
 */
export function defineRecurrentLayer<
  P extends Props,
  R extends keyof P & string = never,
  C extends Record<string, any> = ConfigOf<P>,
  N extends RnnArgName = RnnArgName,
>(spec: {
  className: string;
  fn: string;
  props: P;
  defaults: Readonly<Partial<NoInfer<C>>>;
  required?: readonly R[];
  validate?: (config: NoInfer<C> & RnnArgs) => NoInfer<C> & RnnArgs;
  cellOf: (config: NoInfer<C> & RnnArgs) => RecurrentCell;
  rnnArgs?: readonly N[];
  configRnnArgs?: readonly RnnArgName[];
  toConfig?: (config: NoInfer<C> & RnnArgs) => Record<string, unknown>;
  fromConfig?: (config: Record<string, unknown>, fn: string) => Record<string, unknown>;
}): RecurrentLayerFunction<LayerArgs<Omit<Pick<RnnProps, N>, keyof P> & P, R>> {
  type Config = C & RnnArgs;
  const pickRnnProps = (names: readonly RnnArgName[]): Props => Object.fromEntries(names.map((k) => [k, RNN_PROPS[k]]));
  const rnnProps = spec.rnnArgs ? pickRnnProps(spec.rnnArgs) : RNN_PROPS;
  const configProps = spec.configRnnArgs ? pickRnnProps(spec.configRnnArgs) : undefined;
  const accepted = Object.keys({ ...spec.props, ...rnnProps, ...configProps });
  const cell = (c: Config) => memoCell(c, () => spec.cellOf(c));
  const layerFunction = defineLayer<Props, string, Config>({
    className: spec.className,
    fn: spec.fn,
    props: { ...spec.props, ...rnnProps },
    configProps,
    defaults: { ...RNN_DEFAULTS, ...spec.defaults } as Partial<Config>,
    required: spec.required,
    validate: spec.validate,
    inputDimShape: (d) => [null, d],
    takesStates: true,
    outputShape: (c, inputShapes, call) => recurrentOutputShapes(spec.fn, cell(c), c, inputShapes, call),
    weights: (c, [input]) => cell(c).weightSpecs(input[input.length - 1] as number, stepShapeOf(input)),
    forward: (c, ctx) => recurrentForward(spec.fn, cell(c), c, ctx),
    mask: "drop",
    stateShapes: (c, [input]) => cell(c).stateSizes.map((s) => [input[0], s] as Shape),
    toConfig:
      spec.toConfig ??
      ((c) =>
        serializeConfigValue(Object.fromEntries(accepted.filter((k) => k in c).map((k) => [k, c[k]]))) as Record<
          string,
          unknown
        >),
    fromConfig: spec.fromConfig,
    recurrent: { role: "layer", cell },
  });
  // What it returns depends on `return_state` (one tensor, or the output and the final states).
  return layerFunction as unknown as RecurrentLayerFunction<LayerArgs<Omit<Pick<RnnProps, N>, keyof P> & P, R>>;
}
