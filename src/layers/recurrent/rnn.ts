/** `layer_rnn(object, cell, ...)`: the generic recurrent layer over any cell or list of cells (seed 004 `RNN`). */
import { CellArg } from "./cell.js";
import { serializeConfigValue } from "../common.js";
import type { Layer } from "../../model/layer.js";
import { defineRecurrentLayer } from "./rnn_layer.js";
import { cellArgConfig, cellFromArg } from "./stacked.js";
import { nestedLayerFromConfig } from "../../io/layer_config.js";

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
    return { ...(serializeConfigValue(rest) as Record<string, unknown>), cell: cellArgConfig(cell) };
  },
  fromConfig: (c, fn) => nestedLayerFromConfig(fn, c, "cell"),
});
