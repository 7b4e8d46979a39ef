/**
 * Stacked cells (`layer_stacked_rnn_cells` / `rnn_cells_stack`, or a list of cells given to
 * layer_rnn): one cell whose step runs the cells in turn, each feeding its output to the next. The
 * states are the cells' states in order; the weights are the cells' weights in order.
 */
import * as t from "io-ts";
import { KerasError } from "../../errors.js";
import { described } from "../../args.js";
import type { Layer } from "../../model/layer.js";
import { layerToConfig, nestedLayerFromConfig, type LayerConfig } from "../../io/layer_config.js";
import { cellOf, defineCell, initialStatesOf, isCellLayer, type PreparedCell, type RecurrentCell } from "./cell.js";

export function stackCells(cells: readonly RecurrentCell[]): RecurrentCell {
  if (cells.length === 1) return cells[0];
  const inputDims = (inputDim: number) => cells.map((_, i) => (i === 0 ? inputDim : cells[i - 1].outputSize));
  const stateCounts = cells.map((c) => c.stateSizes.length);
  return {
    stateSizes: cells.flatMap((c) => c.stateSizes),
    outputSize: cells[cells.length - 1].outputSize,
    takesConstants: cells.some((c) => c.takesConstants),
    // Only the first cell sees the sequence's steps; the others see the previous cell's outputs.
    anyStepRank: cells[0].anyStepRank,
    initialStates: cells.some((c) => c.initialStates)
      ? (batch) => cells.flatMap((c) => initialStatesOf(c, batch))
      : undefined,
    weightSpecs: (inputDim, stepShape) => {
      const dims = inputDims(inputDim);
      return cells.flatMap((c, i) => c.weightSpecs(dims[i], i === 0 ? stepShape : undefined));
    },
    prepare: (weights, setup) => {
      const dims = inputDims(setup.inputDim);
      let offset = 0;
      const prepared: PreparedCell[] = cells.map((c, i) => {
        const n = c.weightSpecs(dims[i], i === 0 ? setup.stepShape : undefined).length;
        const p = c.prepare(weights.slice(offset, offset + n), { ...setup, inputDim: dims[i] });
        offset += n;
        return p;
      });
      return {
        // Only the first cell sees the sequence; the others project their input step by step.
        project: (x) => prepared[0].project(x),
        step: (projected, states, ctx) => {
          const newStates = [];
          let s = 0;
          let output = prepared[0].step(projected, states.slice(0, stateCounts[0]), ctx);
          newStates.push(...output.states);
          s += stateCounts[0];
          for (let i = 1; i < prepared.length; i++) {
            output = prepared[i].step(prepared[i].project(output.output), states.slice(s, s + stateCounts[i]), ctx);
            newStates.push(...output.states);
            s += stateCounts[i];
          }
          return { output: output.output, states: newStates };
        },
      };
    },
  };
}

export const CellList = described(
  new t.Type<Layer[], unknown, unknown>(
    "Cells",
    (u): u is Layer[] => Array.isArray(u) && u.length > 0 && u.every(isCellLayer),
    (u, c) => (Array.isArray(u) && u.length > 0 && u.every(isCellLayer) ? t.success(u as Layer[]) : t.failure(u, c)),
    (u) => u,
  ),
  "a non-empty list of RNN cells",
);

/**
 * `layer_stacked_rnn_cells(cells)` (R keras 2 name): a stack of cells that behaves as one cell.
 *
 * @example
 * const cell = layer_stacked_rnn_cells({ cells: [layer_lstm_cell({ units: 8 }), layer_lstm_cell({ units: 4 })] });
 * const model = pipe(keras_model_sequential({ input_shape: [10, 3] }), layer_rnn({ cell }));
 */
export const layer_stacked_rnn_cells = defineCell({
  className: "StackedRNNCells",
  fn: "layer_stacked_rnn_cells",
  props: {
    /** The cells, first (closest to the input) first. */
    cells: CellList,
  },
  defaults: {},
  required: ["cells"],
  build: (c) => stackCells(c.cells.map(cellOf)),
  toConfig: (c) => ({ cells: c.cells.map((cell) => layerToConfig(cell)) }),
  fromConfig: (c, fn) => nestedLayerFromConfig(fn, c, "cells"),
});
/**
 * `rnn_cells_stack(cells)` (keras3 name).
 *
 * @example
 * const cell = rnn_cells_stack({ cells: [rnn_cell_gru({ units: 8 }), rnn_cell_lstm({ units: 4 })] });
 */
export const rnn_cells_stack = layer_stacked_rnn_cells;

/** The cell of a `cell` argument: one cell value, or a list (stacked). */
export function cellFromArg(fn: string, cell: Layer | readonly Layer[]): RecurrentCell {
  const list = Array.isArray(cell) ? cell : [cell];
  if (list.length === 0 || !list.every(isCellLayer))
    throw new KerasError(fn, "`cell` must be an RNN cell or a non-empty list of cells");
  return stackCells(list.map(cellOf));
}

/**
 * Keras get_config() form of a `cell` argument: one cell's `{ class_name, config }`; a list of cells is
 * written as the StackedRNNCells cell Keras makes of it (rebuilt as such by from_config, same numbers).
 */
export function cellArgConfig(cell: Layer | readonly Layer[]): LayerConfig {
  if (!Array.isArray(cell)) return layerToConfig(cell as Layer);
  return cell.length === 1 ? layerToConfig(cell[0]) : layerToConfig(layer_stacked_rnn_cells({ cells: [...cell] }));
}
