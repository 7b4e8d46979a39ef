/**
 * The cell abstraction of the recurrent family (DESIGN principle 6): a cell is its state sizes, its
 * output size, its weight specs, and — once per call — a prepared form with an input projection for
 * all timesteps and a per-step function. The one loop (loop.ts) drives any cell; built-in cells,
 * stacks and user-defined cells all implement `RecurrentCell`.
 *
 * Cells are also layer values (`layer_gru_cell()` …): their family runs one step, and `cellOf(layer)`
 * gives the computational cell behind the value.
 */
import * as t from "io-ts";
import { tf, type Tensor } from "../../backend/tf.js";
import { KerasError } from "../../errors.js";
import { Bool, Int, Nullable, PositiveInt, Rate, described, type ConfigOf, type Props } from "../../args.js";
import { defineLayer, isLayer, type Layer, type LayerFunctionOf } from "../../model/layer.js";
import { getFamily } from "../../model/registry.js";
import { formatShape } from "../../model/shape.js";
import type { CallShapes, Shape, WeightSpec } from "../../model/types.js";
import { resolveActivation, type Activation } from "../../ops/activations.js";
import { initializerSpec, type InitializerSpec } from "../../ops/initializers.js";
import { Rng, drawSeed } from "../../ops/random.js";
import { ActivationArg, ConstraintArg, InitializerArg, RegularizerArg } from "../common.js";
import type { FusedCellSpec } from "./fused/plan.js";

export interface StepContext {
  readonly training: boolean;
  /** Call-time `constants` (Keras RNN's `constants`), the same at every step. */
  readonly constants: readonly Tensor[];
}

export interface StepResult {
  readonly output: Tensor;
  readonly states: readonly Tensor[];
}

/** A cell ready for one call: weights split into gate blocks and dropout masks drawn (once per sequence). */
export interface PreparedCell {
  /**
   * Input projection of `x` of shape (..., batch, input_dim) — all timesteps at once, time-major, or one
   * step — to the blocks the step function consumes, each (..., batch, k).
   */
  project(x: Tensor): Tensor[];
  /** One timestep: the projected inputs at t (each (batch, k)) and the states at t-1. */
  step(projected: readonly Tensor[], states: readonly Tensor[], ctx: StepContext): StepResult;
}

export interface PrepareSetup {
  readonly batch: number;
  readonly inputDim: number;
  /** A step's whole shape (batch axis included), for cells that take steps of any rank. */
  readonly stepShape?: Shape;
  readonly training: boolean;
}

export interface RecurrentCell {
  /** One (batch, size) state per entry; the first is the output fed back (Keras convention). */
  readonly stateSizes: readonly number[];
  readonly outputSize: number;
  /** The weights for steps of `inputDim` features; `stepShape` is a step's whole shape (batch axis included). */
  weightSpecs(inputDim: number, stepShape?: Shape): WeightSpec[];
  prepare(weights: readonly Tensor[], setup: PrepareSetup): PreparedCell;
  /** TRUE when its step reads call-time `constants` (custom cells; Keras's built-in cells take none). */
  readonly takesConstants?: boolean;
  /**
   * TRUE when a step may have any rank of 2 or more, (batch, ...): Keras's RNN hands a cell the input's
   * timesteps whatever their shape (custom cells); the built-in cells take (batch, features).
   */
  readonly anyStepRank?: boolean;
  /** The cell's own initial states for `batch` rows (Keras's `cell.get_initial_state`); zeros when absent. */
  initialStates?(batch: number): Tensor[];
  /** Built-in cells: what the fused kernels need to run this cell (fused/plan.ts decides whether they do). */
  readonly fused?: FusedCellSpec;
}

// ---------------------------------------------------------------------------------------------
// Cell values: layer values whose family (in the one registry) has `recurrent.role` "cell".

const built = new WeakMap<object, RecurrentCell>();

/** The RecurrentCell of a config, memoised per (frozen) config object. */
export function memoCell(config: object, build: () => RecurrentCell): RecurrentCell {
  let cell = built.get(config);
  if (!cell) built.set(config, (cell = build()));
  return cell;
}

export function isCellLayer(x: unknown): x is Layer {
  return isLayer(x) && getFamily(x.className)?.recurrent?.role === "cell";
}

/** The computational cell behind a cell layer value. */
export function cellOf(layer: Layer): RecurrentCell {
  const recurrent = getFamily(layer.className)?.recurrent;
  if (recurrent?.role !== "cell")
    throw new KerasError("layer_rnn", `layer "${layer.name}" (${layer.className}) is not an RNN cell`);
  return recurrent.cell(layer.config);
}

/** A cell argument: one cell value or a non-empty list of them (a stack). */
export const CellArg = described(
  new t.Type<Layer | Layer[], unknown, unknown>(
    "Cell",
    (u): u is Layer | Layer[] => isCellLayer(u) || (Array.isArray(u) && u.length > 0 && u.every(isCellLayer)),
    (u, c) =>
      isCellLayer(u) || (Array.isArray(u) && u.length > 0 && u.every(isCellLayer))
        ? t.success(u as Layer | Layer[])
        : t.failure(u, c),
    (u) => u,
  ),
  "an RNN cell (layer_gru_cell(), rnn_cell_lstm(), rnn_cell_custom(), ...) or a list of cells",
);

/** Output shapes of a cell called on one step: [output, ...new states]. */
export function cellStepShapes(fn: string, cell: RecurrentCell, input: Shape, call: CallShapes): Shape[] {
  if (input.length !== 2 && !(cell.anyStepRank && input.length > 2)) {
    throw new KerasError(
      fn,
      `a cell takes one timestep: expected an input of shape (batch, features), got shape ${formatShape(input)}`,
      "shape",
    );
  }
  checkStateShapes(fn, cell, input[0], call.initialState);
  checkConstants(fn, cell, call.constants);
  return [[input[0], cell.outputSize], ...cell.stateSizes.map((s) => [input[0], s] as Shape)];
}

/** Keras refuses constants for a cell whose call has no `constants` argument (its built-in cells). */
export function checkConstants(fn: string, cell: RecurrentCell, given: readonly Shape[]): void {
  if (given.length && !cell.takesConstants)
    throw new KerasError(
      fn,
      "`constants`: this cell does not take constants (only rnn_cell_custom() cells receive them in their `call`)",
    );
}

export function checkStateShapes(fn: string, cell: RecurrentCell, batch: number | null, given: readonly Shape[]): void {
  if (given.length === 0) return;
  if (given.length !== cell.stateSizes.length) {
    throw new KerasError(
      fn,
      `\`initial_state\` must be a list of ${cell.stateSizes.length} state tensor${cell.stateSizes.length === 1 ? "" : "s"} of shape${cell.stateSizes.length === 1 ? "" : "s"} ${cell.stateSizes.map((s) => formatShape([batch, s])).join(", ")}, got ${given.length}`,
      "shape",
    );
  }
  given.forEach((s, i) => {
    const want = cell.stateSizes[i];
    if (s.length !== 2 || (s[1] !== null && s[1] !== want) || (batch !== null && s[0] !== null && s[0] !== batch)) {
      throw new KerasError(
        fn,
        `\`initial_state\` ${i + 1} must have shape ${formatShape([batch, want])}, got ${formatShape(s)}`,
        "shape",
      );
    }
  });
}

export function zeroStates(cell: RecurrentCell, batch: number): Tensor[] {
  return cell.stateSizes.map((s) => tf.zeros([batch, s]));
}

/** The states a sequence starts from when none are given: the cell's own, else zeros. */
export function initialStatesOf(cell: RecurrentCell, batch: number): Tensor[] {
  return cell.initialStates ? cell.initialStates(batch) : zeroStates(cell, batch);
}

/** Runs one step of `cell` (the family forward of cell values and `cell_call`). */
export function runCellStep(
  cell: RecurrentCell,
  x: Tensor,
  weights: readonly Tensor[],
  states: readonly Tensor[] | undefined,
  ctx: StepContext,
): Tensor[] {
  const batch = x.shape[0];
  const inputDim = x.shape[x.rank - 1];
  const prepared = cell.prepare(weights, {
    batch,
    inputDim,
    stepShape: [null, ...x.shape.slice(1)],
    training: ctx.training,
  });
  const r = prepared.step(prepared.project(x), states && states.length ? states : initialStatesOf(cell, batch), ctx);
  return [r.output, ...r.states];
}

/**
 * Declares a cell family: registers its builder and returns the dual R-style function making cell
 * values (`layer_gru_cell({ units: 4 })`). Applied to data, a cell value runs one step.
 */
export function defineCell<
  P extends Props,
  R extends keyof P & string = never,
  C extends Record<string, any> = ConfigOf<P>,
>(spec: {
  className: string;
  fn: string;
  props: P;
  defaults: Readonly<Partial<NoInfer<C>>>;
  required?: readonly R[];
  validate?: (config: NoInfer<C>) => NoInfer<C>;
  build: (config: NoInfer<C>) => RecurrentCell;
  toConfig?: (config: NoInfer<C>) => Record<string, unknown>;
  fromConfig?: (config: Record<string, unknown>, fn: string) => Record<string, unknown>;
}): LayerFunctionOf<P, R, "many"> {
  const cell = (c: C) => memoCell(c, () => spec.build(c));
  // A cell applied to data runs one step: it returns the output and the new states (a list).
  return defineLayer<P, R, C, "many">({
    className: spec.className,
    fn: spec.fn,
    props: spec.props,
    defaults: spec.defaults,
    required: spec.required,
    validate: spec.validate,
    takesStates: true,
    outputShape: (c, [input], call) => cellStepShapes(spec.fn, cell(c), input, call),
    weights: (c, [input]) => cell(c).weightSpecs(input[input.length - 1] as number, input),
    forward: (c, ctx) => ({
      outputs: runCellStep(cell(c), ctx.inputs[0], ctx.weights, ctx.initialState, {
        training: ctx.training,
        constants: ctx.constants ?? [],
      }),
    }),
    mask: "drop",
    toConfig: spec.toConfig,
    fromConfig: spec.fromConfig,
    recurrent: { role: "cell", cell },
  });
}

// ---------------------------------------------------------------------------------------------
// Arguments shared by the built-in cells (and so by layer_simple_rnn / layer_gru / layer_lstm).

export const Implementation = described(t.union([t.literal(1), t.literal(2)]), "1 or 2");

/** The arguments of every built-in cell (and so of layer_simple_rnn / layer_gru / layer_lstm). */
export const CELL_PROPS = {
  /** Dimensionality of the output space (and of each state). */
  units: PositiveInt,
  /** The activation of the candidate state and output (default "tanh"; NULL: linear). */
  activation: ActivationArg,
  /** Whether the layer uses bias vectors. */
  use_bias: Bool,
  /** Initializer of the `kernel` weights matrix (the inputs' transformation). */
  kernel_initializer: InitializerArg,
  /** Initializer of the `recurrent_kernel` weights matrix (the states' transformation). */
  recurrent_initializer: InitializerArg,
  /** Initializer of the bias vector. */
  bias_initializer: InitializerArg,
  /** Regularizer applied to the `kernel` weights matrix. */
  kernel_regularizer: RegularizerArg,
  /** Regularizer applied to the `recurrent_kernel` weights matrix. */
  recurrent_regularizer: RegularizerArg,
  /** Regularizer applied to the bias vector. */
  bias_regularizer: RegularizerArg,
  /** Constraint applied to the `kernel` weights matrix. */
  kernel_constraint: ConstraintArg,
  /** Constraint applied to the `recurrent_kernel` weights matrix. */
  recurrent_constraint: ConstraintArg,
  /** Constraint applied to the bias vector. */
  bias_constraint: ConstraintArg,
  /** Fraction of the units to drop for the linear transformation of the inputs, in [0, 1). */
  dropout: Rate,
  /** Fraction of the units to drop for the linear transformation of the recurrent state, in [0, 1). */
  recurrent_dropout: Rate,
  /** The seed of the dropout masks (NULL: the global stream of set_random_seed()). */
  seed: Nullable(Int),
};
/** The gated cells' (GRU, LSTM) arguments: those of every cell plus the gates' activation and `implementation`. */
export const GATED_CELL_PROPS = {
  ...CELL_PROPS,
  /** The activation of the gates (default "sigmoid"; R keras <= 2.6: "hard_sigmoid"). */
  recurrent_activation: ActivationArg,
  /** 1: one dropout mask per gate; 2 (default): one mask shared by the gates. The numbers are the same otherwise. */
  implementation: Implementation,
};
export type CellArgs = ConfigOf<typeof GATED_CELL_PROPS>;

export const activation = (name: string): Activation => resolveActivation(name)!;

export const CELL_DEFAULTS: Partial<CellArgs> = {
  activation: activation("tanh"),
  recurrent_activation: activation("sigmoid"),
  use_bias: true,
  kernel_initializer: initializerSpec("glorot_uniform"),
  recurrent_initializer: initializerSpec("orthogonal"),
  bias_initializer: initializerSpec("zeros"),
  kernel_regularizer: null,
  recurrent_regularizer: null,
  bias_regularizer: null,
  kernel_constraint: null,
  recurrent_constraint: null,
  bias_constraint: null,
  dropout: 0,
  recurrent_dropout: 0,
  seed: null,
  implementation: 2,
};

/** The kernel, recurrent_kernel and bias specs of a built-in cell with `gates` gate blocks. */
export function gatedWeightSpecs(
  c: CellArgs,
  inputDim: number,
  gates: number,
  bias: { shape: number[]; initializer?: InitializerSpec } | null,
): WeightSpec[] {
  const u = c.units;
  const specs: WeightSpec[] = [
    {
      name: "kernel",
      shape: [inputDim, gates * u],
      initializer: c.kernel_initializer,
      trainable: true,
      regularizer: c.kernel_regularizer,
      constraint: c.kernel_constraint,
    },
    {
      name: "recurrent_kernel",
      shape: [u, gates * u],
      initializer: c.recurrent_initializer,
      trainable: true,
      regularizer: c.recurrent_regularizer,
      constraint: c.recurrent_constraint,
    },
  ];
  if (c.use_bias && bias) {
    specs.push({
      name: "bias",
      shape: bias.shape,
      initializer: bias.initializer ?? c.bias_initializer,
      trainable: true,
      regularizer: c.bias_regularizer,
      constraint: c.bias_constraint,
    });
  }
  return specs;
}

/** Splits a (rows, gates*u) matrix into `gates` (rows, u) blocks — once per call, never per step. */
export function gateBlocks(w: Tensor, gates: number): Tensor[] {
  return tf.split(w, gates, w.rank - 1);
}

/** x · w over the last axis of x (any rank >= 2). */
export function project(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  const inDim = x.shape[x.rank - 1];
  const y =
    x.rank === 2
      ? tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D)
      : tf.reshape(tf.matMul(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, w as tf.Tensor2D), [
          ...x.shape.slice(0, -1),
          w.shape[1] as number,
        ]);
  return bias ? tf.add(y, bias) : y;
}

// ---------------------------------------------------------------------------------------------
// Dropout masks: drawn once per sequence (per call), only in training (KERAS_FACTS).

const seedStreams = new Map<number, Rng>();

/**
 * Successive draws of a seeded layer differ but are reproducible from the start of the process; an
 * unseeded layer draws from the global stream (set_random_seed).
 */
function nextSeed(seed: number | null): number {
  if (seed === null) return drawSeed();
  let rng = seedStreams.get(seed);
  if (!rng) seedStreams.set(seed, (rng = new Rng(seed)));
  return Math.floor(rng.uniform() * 2 ** 31);
}

/** `count` inverted-dropout masks of shape (batch, size) with values 0 or 1/(1-rate); null when inactive. */
export function dropoutMasks(
  rate: number,
  training: boolean,
  count: number,
  batch: number,
  size: number,
  seed: number | null,
): Tensor[] | null {
  if (!training || rate <= 0) return null;
  return Array.from({ length: count }, () =>
    tf.tidy(() =>
      tf.div(
        tf.cast(tf.greaterEqual(tf.randomUniform([batch, size], 0, 1, "float32", nextSeed(seed)), rate), "float32"),
        1 - rate,
      ),
    ),
  );
}

/** Masks per gate: implementation 1 draws one per gate, implementation 2 one shared by all gates. */
export function gateDropoutMasks(
  rate: number,
  c: CellArgs,
  training: boolean,
  gates: number,
  batch: number,
  size: number,
): (Tensor | null)[] {
  const masks = dropoutMasks(rate, training, c.implementation === 1 ? gates : 1, batch, size, c.seed);
  return Array.from({ length: gates }, (_, g) => (masks ? masks[c.implementation === 1 ? g : 0] : null));
}

export const applyMask = (x: Tensor, mask: Tensor | null): Tensor => (mask ? tf.mul(x, mask) : x);
