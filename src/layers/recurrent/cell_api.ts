/**
 * The cell API of seed 002 on cell values: `state_size`, `output_size`, `get_initial_state`,
 * `zero_state` and one step, `cell_call(cell, inputs, states, { training })` → [output, new_states].
 */
import { tf, type Tensor } from "../../backend/tf.js";
import { KerasError, describeValue } from "../../errors.js";
import type { Layer } from "../../model/layer.js";
import { cellOf, isCellLayer } from "./cell.js";

function checkCell(fn: string, cell: unknown): asserts cell is Layer {
  if (!isCellLayer(cell))
    throw new KerasError(
      fn,
      `\`cell\` must be an RNN cell (layer_gru_cell(), rnn_cell_lstm(), rnn_cells_stack(), rnn_cell_custom(), ...), got ${describeValue(cell)}`,
    );
}

function checkBatch(fn: string, batch: unknown): asserts batch is number {
  if (typeof batch !== "number" || !Number.isInteger(batch) || batch < 1)
    throw new KerasError(fn, `\`batch_size\` must be a positive integer, got ${describeValue(batch)}`);
}

function checkDtype(fn: string, dtype: unknown): void {
  if (dtype !== undefined && dtype !== null && dtype !== "float32")
    throw new KerasError(
      fn,
      `\`dtype\` must be "float32" (the only float type of the backends), got ${describeValue(dtype)}`,
    );
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
  if (!args || typeof args !== "object")
    throw new KerasError(fn, `expected { batch_size, dtype }, got ${describeValue(args)}`);
  checkBatch(fn, args.batch_size);
  checkDtype(fn, args.dtype);
  return cellOf(cell).stateSizes.map((s) => tf.zeros([args.batch_size, s]));
}

/** seed 002 `zero_state(batch_size, dtype)`: one tensor for one state, else a list of them. */
export function zero_state(cell: Layer, batch_size: number, dtype: string = "float32"): Tensor | Tensor[] {
  const fn = "zero_state";
  checkCell(fn, cell);
  checkBatch(fn, batch_size);
  checkDtype(fn, dtype);
  const states = cellOf(cell).stateSizes.map((s) => tf.zeros([batch_size, s]));
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
  if (options === null || typeof options !== "object")
    throw new KerasError(fn, `\`options\` must be { training, constants }, got ${describeValue(options)}`);
  const unknown = Object.keys(options).filter((k) => k !== "training" && k !== "constants");
  if (unknown.length) throw new KerasError(fn, `unknown option \`${unknown[0]}\` (expected training, constants)`);
  if (options.training !== undefined && typeof options.training !== "boolean")
    throw new KerasError(fn, `\`training\` must be TRUE or FALSE, got ${describeValue(options.training)}`);
  const out = cell(inputs, {
    initial_state: states ?? undefined,
    training: options.training,
    constants: options.constants,
  }) as Tensor[];
  return [out[0], out.slice(1)];
}
