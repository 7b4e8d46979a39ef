/** `layer_rnn(object, cell, ...)`: the generic recurrent layer over any cell or list of cells (seed 004 `RNN`). */
import { CellArg } from "./cell.js";
import { serializeConfigValue } from "../common.js";
import type { Layer } from "../../model/layer.js";
import { defineRecurrentLayer } from "./rnn_layer.js";
import { cellFromArg, serializeCell } from "./stacked.js";

export interface RNNConfig {
  cell: Layer | Layer[];
}

export const layer_rnn = defineRecurrentLayer<RNNConfig>({
  className: "RNN",
  fn: "layer_rnn",
  props: { cell: CellArg },
  defaults: {},
  required: ["cell"],
  cellOf: (c) => cellFromArg("layer_rnn", c.cell),
  toConfig: (c) => {
    const { cell, ...rest } = c;
    const cells = Array.isArray(cell) ? cell : [cell];
    return {
      ...(serializeConfigValue(rest) as Record<string, unknown>),
      cell: cells.length === 1 ? serializeCell(cells[0]) : { class_name: "StackedRNNCells", config: { cells: cells.map(serializeCell) } },
    };
  },
});
