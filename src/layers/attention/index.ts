// Public exports of the attention layers (issue 12).
import "../../engine/apply.js"; // installs how layer values are applied
export { layer_attention, layer_additive_attention } from "./attention.js";
export { layer_multi_head_attention } from "./multi_head_attention.js";
export type { AttentionLayerFunction, AttentionLayerFunctionWith } from "./common.js";
