/**
 * The cell API of R keras (TensorFlow 1 style) on cell values: `state_size`, `output_size`, `get_initial_state`,
 * `zero_state` and one step, `cell_call(cell, inputs, states, { training })` → [output, new_states].
 */
import { tf, type Tensor } from "../../backend/tf.js";
import * as t from "io-ts";
import { KerasError, asKerasError, describeValue, within } from "../../errors.js";
import {
  Bool,
  FloatDType,
  MAX_TENSOR_SIZE,
  PositiveInt,
  decodeArgs,
  described,
  type ArgsOf,
  refuseArgumentsPast,
  refuseUnusedArguments,
} from "../../args.js";
import { callEager } from "../../engine/eager.js";
import { isSymbolicInput } from "../../model/symbolic.js";
import { formatShape } from "../../model/shape.js";
import { toTensorData } from "../../backend/convert.js";
import type { Layer } from "../../model/layer.js";
import type { CallOptions, TensorData } from "../../model/dual.js";
import type { SymbolicTensor } from "../../model/symbolic.js";
import { cellOf, isCellLayer } from "./cell.js";

function checkCell(fn: string, cell: unknown): asserts cell is Layer {
  if (!isCellLayer(cell))
    throw new KerasError(
      fn,
      `\`cell\` must be an RNN cell (layer_gru_cell(), rnn_cell_lstm(), rnn_cells_stack(), rnn_cell_custom(), ...), got ${describeValue(cell)}`,
    );
}

const STATE_PROPS = { batch_size: PositiveInt, dtype: FloatDType };

/**
 * The initial states of `batch` rows for `cell` (zeros, or `own`: the cell's get_initial_state), refusing
 * sizes no tensor can hold before allocating.
 */
function zeroStates(fn: string, cell: Layer, batch: number, own = false): Tensor[] {
  const recurrent = cellOf(cell);
  const sizes = recurrent.stateSizes;
  const largest = Math.max(...sizes);
  if (batch * largest > MAX_TENSOR_SIZE)
    throw new KerasError(
      fn,
      `\`batch_size\` = ${batch} makes a state of ${batch} x ${largest} = ${batch * largest} values, more than a tensor can hold (${MAX_TENSOR_SIZE})`,
    );
  if (own && recurrent.initialStates) {
    const initial = recurrent.initialStates;
    try {
      return initial(batch);
    } catch (e) {
      throw asKerasError(fn, e, `cell "${cell.name}"`);
    }
  }
  return sizes.map((s) => tf.zeros([batch, s]));
}

/**
 * The size of the cell's state: a number for one state, a list for several (LSTM: [units, units]; stacks: every cell's, flat).
 *
 * @example
 * state_size(rnn_cell_lstm({ units: 5 })); // [5, 5]
 */
export function state_size(cell: Layer): number | number[] {
  refuseArgumentsPast("state_size", ["cell"], arguments);
  checkCell("state_size", cell);
  const s = cellOf(cell).stateSizes;
  return s.length === 1 ? s[0] : [...s];
}

/**
 * The size of the cell's output.
 *
 * @example
 * output_size(rnn_cell_lstm({ units: 5 })); // 5
 */
export function output_size(cell: Layer): number {
  refuseArgumentsPast("output_size", ["cell"], arguments);
  checkCell("output_size", cell);
  return cellOf(cell).outputSize;
}

const INITIAL_STATE_PROPS = {
  /** The number of rows of each state. */
  batch_size: PositiveInt,
  /** Keras 2's form: inputs whose first axis gives the batch size. */
  inputs: described(t.unknown, "data (a tensor or nested arrays) whose first axis is the batch"),
  /** The states' dtype: float32 (NULL: the default). */
  dtype: FloatDType,
};

/**
 * The states a sequence starts from, one (batch_size, size) tensor per state (a list even for one state,
 * as cell_call takes them): zeros, or what a custom cell's own `get_initial_state` gives. The batch size is
 * `batch_size` (Keras 3) or the first axis of `inputs` (Keras 2).
 *
 * @example
 * const [h, c] = get_initial_state(layer_lstm_cell({ units: 4 }), { batch_size: 2 }); // two 2 x 4 zero matrices
 */
export function get_initial_state(cell: Layer, args: ArgsOf<typeof INITIAL_STATE_PROPS>): Tensor[] {
  const fn = "get_initial_state";
  refuseArgumentsPast(fn, ["cell", "args"], arguments);
  checkCell(fn, cell);
  const a = decodeArgs(fn, INITIAL_STATE_PROPS, args, {});
  let batch: number | undefined = a.batch_size;
  if (a.inputs !== undefined && a.inputs !== null) {
    if (isSymbolicInput(a.inputs))
      throw new KerasError(fn, "`inputs` must be data (a tensor or nested arrays), not a symbolic tensor");
    const c = toTensorData(fn, a.inputs, "`inputs`");
    const rows = c.tensor.rank === 0 ? undefined : c.tensor.shape[0];
    if (c.owned) c.tensor.dispose();
    if (rows === undefined) throw new KerasError(fn, "`inputs` must have a batch axis, got a scalar", "shape");
    if (batch !== undefined && batch !== rows)
      throw new KerasError(fn, `\`batch_size\` (${batch}) differs from the batch size of \`inputs\` (${rows})`);
    batch = rows;
  }
  if (batch === undefined) throw new KerasError(fn, "`batch_size` (or `inputs`) is required");
  return zeroStates(fn, cell, batch, true);
}

/**
 * `zero_state(batch_size, dtype)` (TensorFlow 1 cells): one tensor for one state, else a list of them.
 *
 * @example
 * const h = zero_state(rnn_cell_gru({ units: 4 }), 2); // a 2 x 4 zero matrix
 */
export function zero_state(cell: Layer, batch_size: number, dtype: string = "float32"): Tensor | Tensor[] {
  const fn = "zero_state";
  refuseArgumentsPast(fn, ["cell", "batch_size", "dtype"], arguments);
  checkCell(fn, cell);
  const a = decodeArgs(fn, STATE_PROPS, { batch_size, dtype }, {}, ["batch_size"]);
  const states = zeroStates(fn, cell, a.batch_size);
  return states.length === 1 ? states[0] : states;
}

const CELL_CALL_PROPS = {
  /** Run in training mode (dropout). */
  training: Bool,
  /** Constant inputs handed to a custom cell's step. */
  constants: described(t.unknown, "a list of constant tensors"),
};
type CellCallOptions = ArgsOf<typeof CELL_CALL_PROPS>;

/**
 * One step of `cell`: inputs (batch, features), states (a tensor or list; zeros when omitted) →
 * `[output, new_states]`. The cell keeps the weights it builds on first use, like any eager layer.
 *
 * @example
 * const [output, states] = cell_call(layer_gru_cell({ units: 3 }), [[1, 2]], [[[0, 0, 0]]]); // one step
 */
export function cell_call(
  cell: Layer,
  inputs: SymbolicTensor,
  states?: SymbolicTensor | readonly SymbolicTensor[] | null,
  options?: CellCallOptions,
): [SymbolicTensor, SymbolicTensor[]];
export function cell_call(
  cell: Layer,
  inputs: TensorData,
  states?: TensorData | readonly TensorData[] | null,
  options?: CellCallOptions,
): [Tensor, Tensor[]];
export function cell_call(
  cell: Layer,
  inputs: unknown,
  states?: unknown,
  options: CellCallOptions = {},
  ...unused: unknown[]
): [Tensor, Tensor[]] | [SymbolicTensor, SymbolicTensor[]] {
  const fn = "cell_call";
  refuseUnusedArguments(fn, 5, unused, "cell_call(cell, inputs, states, args)");
  checkCell(fn, cell);
  const o = decodeArgs(fn, CELL_CALL_PROPS, options, {});
  if (isSymbolicInput(inputs)) {
    // A cell returns its output and its new states.
    const out = cell(inputs, {
      initial_state: (states ?? undefined) as CallOptions["initial_state"],
      training: o.training,
      constants: o.constants as CallOptions["constants"],
    }) as SymbolicTensor[];
    return [out[0], out.slice(1)];
  }
  const owned: Tensor[] = [];
  const convert = (x: unknown, what: string, columns?: number): Tensor => {
    const c = toTensorData(fn, x, what);
    if (c.owned) owned.push(c.tensor);
    if (c.tensor.rank !== 2 || (columns !== undefined && c.tensor.shape[1] !== columns))
      throw new KerasError(
        fn,
        `${what} must be a (batch, ${columns ?? "features"}) matrix, got shape ${formatShape(c.tensor.shape)}`,
        "shape",
      );
    return c.tensor;
  };
  try {
    const x = convert(inputs, "`inputs`");
    const sizes = cellOf(cell).stateSizes;
    let initial: Tensor[] | undefined;
    if (states !== undefined && states !== null) {
      const list =
        Array.isArray(states) && states.every((s) => s instanceof tf.Tensor || Array.isArray(s?.[0]))
          ? states
          : [states];
      if (list.length !== sizes.length)
        throw new KerasError(
          fn,
          `\`states\` must be a list of ${sizes.length} state${sizes.length === 1 ? "" : "s"} (state_size ${sizes.join(", ")}), got ${list.length}`,
          "shape",
        );
      initial = list.map((s, i) => convert(s, `\`states[[${i + 1}]]\``, sizes[i]));
      const rows = initial.find((s) => s.shape[0] !== x.shape[0]);
      if (rows)
        throw new KerasError(
          fn,
          `\`states\` must have the batch size of \`inputs\` (${x.shape[0]}), got ${rows.shape[0]}`,
          "shape",
        );
    }
    const out = callEager(
      cell,
      x,
      { initial_state: initial, training: o.training, constants: o.constants },
      { fn, object: "inputs", initial_state: "states" },
    ) as Tensor[];
    return [out[0], out.slice(1)];
  } catch (e) {
    // The cell's own checks (its input size) name its function: they are cell_call's here.
    if (e instanceof KerasError && e.fn !== fn) throw within(fn, `\`cell\` "${cell.name}"`, e);
    throw e;
  } finally {
    owned.forEach((t) => t.dispose());
  }
}
