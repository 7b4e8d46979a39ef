// Public exports of the recurrent family (R names).
import "../../engine/apply.js"; // installs how layer values are applied
export { layer_simple_rnn, layer_simple_rnn_cell, rnn_cell_simple } from "./simple_rnn.js";
export { layer_gru, layer_gru_cell, rnn_cell_gru } from "./gru.js";
export { layer_lstm, layer_lstm_cell, rnn_cell_lstm } from "./lstm.js";
export { layer_rnn } from "./rnn.js";
export { layer_stacked_rnn_cells, rnn_cells_stack } from "./stacked.js";
export { rnn_cell_custom, type CustomStep, type CustomWeightSpec } from "./custom_cell.js";
export { state_size, output_size, get_initial_state, zero_state, cell_call } from "./cell_api.js";
export { layer_cudnn_gru, layer_cudnn_lstm, convert_cudnn_weights, layer_from_cudnn, layer_to_cudnn } from "./cudnn.js";
export { layer_conv_lstm_1d, layer_conv_lstm_2d, layer_conv_lstm_3d } from "./conv_lstm.js";
