// Public exports of the core layers.
import "../../engine/apply.js"; // installs how layer values are applied
export { layer_dense } from "./dense.js";
export { layer_activation } from "./activation.js";
export { layer_dropout, layer_spatial_dropout_1d, layer_gaussian_noise } from "./noise.js";
export { layer_activity_regularization } from "./activity_regularization.js";
export { layer_embedding } from "./embedding.js";
export { layer_masking } from "./masking.js";
export { layer_flatten, layer_reshape, layer_permute, layer_repeat_vector } from "./reshaping.js";
export {
  layer_concatenate,
  layer_add,
  layer_subtract,
  layer_multiply,
  layer_average,
  layer_maximum,
  layer_minimum,
  layer_dot,
} from "./merge.js";
export { layer_lambda } from "./lambda.js";
export {
  new_layer_class,
  add_weight,
  type LayerClassDefinition,
  type CustomCallContext,
  type CustomLayerFunction,
  type WeightDeclaration,
} from "./custom.js";
export { layer_batch_normalization, layer_layer_normalization } from "./normalization.js";
export { layer_conv_1d } from "./conv.js";
export {
  layer_max_pooling_1d,
  layer_average_pooling_1d,
  layer_global_max_pooling_1d,
  layer_global_average_pooling_1d,
} from "./pooling.js";
