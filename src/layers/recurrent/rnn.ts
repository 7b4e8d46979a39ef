/** `layer_rnn(object, cell, ...)`: the generic recurrent layer over any cell or list of cells (Keras `RNN`). */
import { CellArg } from "./cell.js";
import { serializeConfigValue } from "../common.js";
import { defineRecurrentLayer } from "./rnn_layer.js";
import { cellArgConfig, cellFromArg } from "./stacked.js";
import { nestedLayerFromConfig } from "../../io/layer_config.js";

/**
 * `layer_rnn(object, cell, ...)`: the recurrent layer over any cell or list of cells (a stack).
 *
 * @example
 * const cells = [layer_gru_cell({ units: 8 }), layer_gru_cell({ units: 4 })];
 * const model = pipe(keras_model_sequential({ input_shape: [10, 3] }), layer_rnn({ cell: cells }));
 */
export const layer_rnn = defineRecurrentLayer({
  className: "RNN",
  fn: "layer_rnn",
  props: {
    /** An RNN cell (layer_gru_cell(), rnn_cell_lstm(), rnn_cell_custom(), ...) or a list of cells (stacked). */
    cell: CellArg,
  },
  defaults: {},
  required: ["cell"],
  cellOf: (c) => cellFromArg("layer_rnn", c.cell),
  toConfig: (c) => {
    const { cell, ...rest } = c;
    return { ...(serializeConfigValue(rest) as Record<string, unknown>), cell: cellArgConfig(cell) };
  },
  fromConfig: (c, fn) => nestedLayerFromConfig(fn, c, "cell"),
});
