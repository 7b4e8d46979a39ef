/**
 * User-defined cells in TypeScript (Keras's MinimalRNNCell example in keras/src/layers/rnn/rnn.py): the cell's weights (`build`), state_size (a
 * number, or a list for several states; the first is the output fed back), output_size and a step
 * function `(inputs, states, weights, { training, constants }) => [output, new_states]`. The result is
 * a cell value usable in layer_rnn, in stacks and (through layer_rnn) in bidirectional.
 */
import * as t from "io-ts";
import { tf, type Tensor } from "../../backend/tf.js";
import { formatShape } from "../../model/shape.js";
import { ArgumentError, callUser, describeValue } from "../../errors.js";
import type { Layer, LayerArgs } from "../../model/layer.js";
import { FnOf, Nullable, PositiveInt, Str, described, type ConfigOf, refuseArgumentsPast } from "../../args.js";
import { resolveInitializer } from "../../ops/initializers.js";
import type { Shape, WeightSpec } from "../../model/types.js";
import { defineCell, type RecurrentCell } from "./cell.js";
import { functionConfig, refuseFunctionConfig } from "../common.js";

export interface CustomWeightSpec {
  name: string;
  shape: number[];
  /** An initializer name, initializer_*() value or function; default "glorot_uniform". */
  initializer?: unknown;
  trainable?: boolean;
}

export type CustomStep = (
  inputs: Tensor,
  states: Tensor[],
  weights: Tensor[],
  context: { training: boolean; constants: Tensor[] },
) => [Tensor, Tensor[] | Tensor];

// Keras's RNN fails on a cell without states ([]: "list index out of range").
const StateSize = described(
  t.union([PositiveInt, t.refinement(t.array(PositiveInt), (sizes) => sizes.length > 0)]),
  "a positive integer or a non-empty list of them",
);

const CUSTOM_PROPS = {
  /** The class name the cell is saved under (Keras's custom_objects name). */
  class_name: Str,
  /** The size of each state: an integer, or one per state. */
  state_size: StateSize,
  /** The size of the output (NULL: the first state's size). */
  output_size: Nullable(PositiveInt),
  /**
   * `(input_dim, input_shape) => [{ name, shape, initializer }]`: the cell's weights, as Keras's `build()`
   * adds them; `input_shape` is a timestep's shape, batch axis included ((batch, features), or (batch, ...)
   * for an input of more than 3 axes).
   */
  build: FnOf<(input_dim: number, input_shape: Shape) => CustomWeightSpec[]>(),
  /** `(inputs, states, weights, { training, constants }) => [output, new_states]`: one step. */
  call: FnOf<CustomStep>(),
  /**
   * `(batch_size) => states`: the states a sequence starts from when no `initial_state` is given (Keras's
   * `cell.get_initial_state()`); NULL: zeros.
   */
  get_initial_state: Nullable(FnOf<(batch_size: number) => Tensor | Tensor[]>()),
};
export type CustomCellConfig = ConfigOf<typeof CUSTOM_PROPS>;

function customCell(c: CustomCellConfig): RecurrentCell {
  const stateSizes = Array.isArray(c.state_size) ? c.state_size : [c.state_size];
  const build = "`build` (a function of input_dim)";
  const weightSpecs = (inputDim: number, stepShape: Shape = [null, inputDim]): WeightSpec[] => {
    const specs = callUser(build, () => c.build(inputDim, stepShape));
    if (!Array.isArray(specs))
      throw new ArgumentError(
        `${build} must return a list of { name, shape, initializer }, got ${describeValue(specs)}`,
      );
    return specs.map((s, i) => {
      if (!s || typeof s.name !== "string" || !Array.isArray(s.shape) || !s.shape.every((d) => PositiveInt.is(d))) {
        throw new ArgumentError(
          `${build}: weight ${i + 1} must be { name: string, shape: positive integers, initializer? }, got ${describeValue(s)}`,
        );
      }
      const initializer = resolveInitializer(s.initializer ?? "glorot_uniform", "initializer");
      if (!initializer || typeof initializer === "string")
        throw new ArgumentError(
          `${build}: weight "${s.name}": ${typeof initializer === "string" ? `the \`initializer\` ${initializer}` : `unknown \`initializer\` ${describeValue(s.initializer)}`}`,
        );
      return { name: s.name, shape: [...s.shape], initializer, trainable: s.trainable ?? true };
    });
  };
  const initialStates = (batch: number): Tensor[] => {
    const what = "`get_initial_state` (a function of the batch size)";
    const r = callUser(what, () => c.get_initial_state!(batch));
    const list = Array.isArray(r) ? r : [r];
    const fits = (s: unknown, i: number) =>
      s instanceof tf.Tensor && s.rank === 2 && s.shape[0] === batch && s.shape[1] === stateSizes[i];
    if (list.length !== stateSizes.length || !list.every(fits))
      throw new ArgumentError(
        `${what} must return ${stateSizes.length === 1 ? "a tensor" : `a list of ${stateSizes.length} tensors`} of shape ${stateSizes.map((s) => formatShape([batch, s])).join(", ")}, got ${describeValue(list.map((s) => (s instanceof tf.Tensor ? formatShape(s.shape) : s)))}`,
      );
    return list;
  };
  return {
    stateSizes,
    outputSize: c.output_size ?? stateSizes[0],
    takesConstants: true,
    anyStepRank: true,
    initialStates: c.get_initial_state ? initialStates : undefined,
    weightSpecs,
    prepare: (weights) => ({
      // A custom cell projects nothing ahead: its step function receives the raw inputs at t.
      project: (x) => [x],
      step: ([x], states, ctx) => {
        const r = callUser("`call` (the step function)", () =>
          c.call(x, [...states], [...weights], { training: ctx.training, constants: [...ctx.constants] }),
        );
        if (!Array.isArray(r) || r.length !== 2)
          throw new ArgumentError(
            `the \`call\` function of cell "${c.class_name}" must return [output, new_states], got ${describeValue(r)}`,
          );
        const [output, newStates] = r;
        const list = Array.isArray(newStates) ? newStates : [newStates];
        return { output, states: list };
      },
    }),
  };
}

const customCellLayer = defineCell({
  className: "CustomRNNCell",
  fn: "rnn_cell_custom",
  props: CUSTOM_PROPS,
  defaults: { class_name: "CustomRNNCell", output_size: null, build: () => [], get_initial_state: null },
  required: ["state_size", "call"],
  build: customCell,
  toConfig: (c) => ({
    ...functionConfig(String(c.call), "rnn_cell_custom()"),
    class_name: c.class_name,
    state_size: c.state_size,
    output_size: c.output_size,
  }),
  fromConfig: (_config, fn) =>
    refuseFunctionConfig(
      fn,
      "a custom cell's TypeScript functions (`call`, `build`)",
      "rnn_cell_custom({ state_size, build, call })",
    ),
});

/**
 * `rnn_cell_custom({ state_size, output_size, build, call, class_name, name })`: a cell defined by
 * its step function. `build(input_dim)` lists the weights ({ name, shape, initializer }) as Keras's
 * `build()` adds them; `call`
 * receives the inputs at t (batch, input_dim), the states, the weight tensors in that order and
 * `{ training, constants }`, and returns `[output, new_states]`.
 *
 * @example
 * const cell = rnn_cell_custom({
 *   state_size: 4,
 *   build: (input_dim) => [{ name: "kernel", shape: [input_dim + 4, 4] }],
 *   call: (x, [h], [w]) => { const y = tf.tanh(tf.matMul(tf.concat([x, h], 1), w)); return [y, [y]]; },
 * });
 */
export function rnn_cell_custom(args: LayerArgs<typeof CUSTOM_PROPS, "state_size" | "call">): Layer<"many"> {
  refuseArgumentsPast("rnn_cell_custom", ["args"], arguments);
  return customCellLayer(args);
}
