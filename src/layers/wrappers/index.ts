// Public exports of the wrappers area: Bidirectional and TimeDistributed.
import "../../engine/apply.js"; // installs how layer values are applied
export { time_distributed, layer_time_distributed } from "./time_distributed.js";
export { bidirectional, layer_bidirectional, type MergeMode } from "./bidirectional.js";
