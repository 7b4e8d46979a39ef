/** The fused cells by id. */
import { GRU_RESET_AFTER } from "./gru_reset_after.js";
import { GRU_RESET_BEFORE } from "./gru_reset_before.js";
import { LSTM } from "./lstm.js";
import { SIMPLE_RNN } from "./simple_rnn.js";
import type { FusedCell, FusedCellId } from "./types.js";

export const FUSED_CELLS: Readonly<Record<FusedCellId, FusedCell>> = {
  gru_reset_after: GRU_RESET_AFTER,
  gru_reset_before: GRU_RESET_BEFORE,
  lstm: LSTM,
  simple_rnn: SIMPLE_RNN,
};

export { foldBias, type BiasLayout, type FusedCell, type FusedCellId } from "./types.js";
