export { layer_dense } from "./dense.js";
export { layer_activation } from "./activation.js";
