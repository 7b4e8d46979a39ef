// Public exports of the text preprocessing layers (issue 11): they run on the host, before the tensor graph.
import "../../engine/apply.js"; // installs how layer values are applied
export { layer_text_vectorization } from "./text_vectorization.js";
export { layer_string_lookup, layer_integer_lookup } from "./index_lookup.js";
export { adapt, get_vocabulary, set_vocabulary } from "./adapt.js";
