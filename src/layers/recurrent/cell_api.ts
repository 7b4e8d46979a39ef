/**
 * The cell API of seed 002 on cell values: `state_size`, `output_size`, `get_initial_state`,
 * `zero_state` and one step, `cell_call(cell, inputs, states, { training })` → [output, new_states].
 */
import { tf, type Tensor } from "../../backend/tf.js";
import * as t from "io-ts";
import { KerasError, describeValue, within } from "../../errors.js";
import { Bool, FloatDType, MAX_TENSOR_SIZE, PositiveInt, decodeArgs, described } from "../../args.js";
import { callEager } from "../../engine/eager.js";
import { isSymbolicInput } from "../../model/symbolic.js";
import { formatShape } from "../../model/shape.js";
import { toTensorData } from "../../backend/convert.js";
import type { Layer } from "../../model/layer.js";
import { cellOf, isCellLayer } from "./cell.js";

function checkCell(fn: string, cell: unknown): asserts cell is Layer {
  if (!isCellLayer(cell))
    throw new KerasError(
      fn,
      `\`cell\` must be an RNN cell (layer_gru_cell(), rnn_cell_lstm(), rnn_cells_stack(), rnn_cell_custom(), ...), got ${describeValue(cell)}`,
    );
}

const STATE_PROPS = { batch_size: PositiveInt, dtype: FloatDType };

/** Zero states of `batch` rows for `cell`, refusing sizes no tensor can hold before allocating. */
function zeroStates(fn: string, cell: Layer, batch: number): Tensor[] {
  const sizes = cellOf(cell).stateSizes;
  const largest = Math.max(...sizes);
  if (batch * largest > MAX_TENSOR_SIZE)
    throw new KerasError(
      fn,
      `\`batch_size\` = ${batch} makes a state of ${batch} x ${largest} = ${batch * largest} values, more than a tensor can hold (${MAX_TENSOR_SIZE})`,
    );
  return sizes.map((s) => tf.zeros([batch, s]));
}

/** The size of the cell's state: a number for one state, a list for several (LSTM: [units, units]; stacks: every cell's, flat). */
export function state_size(cell: Layer): number | number[] {
  checkCell("state_size", cell);
  const s = cellOf(cell).stateSizes;
  return s.length === 1 ? s[0] : [...s];
}

/** The size of the cell's output. */
export function output_size(cell: Layer): number {
  checkCell("output_size", cell);
  return cellOf(cell).outputSize;
}

/** Zero-filled states, one (batch_size, size) tensor per state (a list even for one state, as cell_call takes them). */
export function get_initial_state(cell: Layer, args: { batch_size: number; dtype?: string }): Tensor[] {
  const fn = "get_initial_state";
  checkCell(fn, cell);
  const a = decodeArgs(fn, STATE_PROPS, args, {}, ["batch_size"]);
  return zeroStates(fn, cell, a.batch_size);
}

/** seed 002 `zero_state(batch_size, dtype)`: one tensor for one state, else a list of them. */
export function zero_state(cell: Layer, batch_size: number, dtype: string = "float32"): Tensor | Tensor[] {
  const fn = "zero_state";
  checkCell(fn, cell);
  const a = decodeArgs(fn, STATE_PROPS, { batch_size, dtype }, {}, ["batch_size"]);
  const states = zeroStates(fn, cell, a.batch_size);
  return states.length === 1 ? states[0] : states;
}

/**
 * One step of `cell`: inputs (batch, features), states (a tensor or list; zeros when omitted) →
 * `[output, new_states]`. The cell keeps the weights it builds on first use, like any eager layer.
 */
export function cell_call(
  cell: Layer,
  inputs: unknown,
  states?: unknown,
  options: { training?: boolean; constants?: unknown } = {},
): [Tensor, Tensor[]] {
  const fn = "cell_call";
  checkCell(fn, cell);
  const o = decodeArgs(fn, CELL_CALL_PROPS, options, {});
  if (isSymbolicInput(inputs)) {
    const out = cell(inputs, { initial_state: states ?? undefined, training: o.training, constants: o.constants });
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

const CELL_CALL_PROPS = { training: Bool, constants: described(t.unknown, "a list of constant tensors") };
