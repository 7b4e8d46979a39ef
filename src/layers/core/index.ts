// Public exports of the core layers.
import "../../engine/apply.js"; // installs how layer values are applied
export { layer_dense } from "./dense.js";
export {
  layer_activation,
  layer_activation_relu,
  layer_activation_leaky_relu,
  layer_activation_elu,
  layer_activation_parametric_relu,
  layer_activation_softmax,
  layer_identity,
} from "./activation.js";
export {
  layer_dropout,
  layer_spatial_dropout_1d,
  layer_spatial_dropout_2d,
  layer_spatial_dropout_3d,
  layer_gaussian_noise,
  layer_gaussian_dropout,
  layer_alpha_dropout,
} from "./noise.js";
export { layer_activity_regularization } from "./activity_regularization.js";
export { layer_embedding } from "./embedding.js";
export { layer_masking } from "./masking.js";
export {
  layer_flatten,
  layer_reshape,
  layer_permute,
  layer_repeat_vector,
  layer_zero_padding_1d,
  layer_zero_padding_2d,
  layer_zero_padding_3d,
  layer_cropping_1d,
  layer_cropping_2d,
  layer_cropping_3d,
  layer_upsampling_1d,
  layer_upsampling_2d,
  layer_upsampling_3d,
} from "./reshaping.js";
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
export {
  layer_batch_normalization,
  layer_layer_normalization,
  layer_group_normalization,
  layer_unit_normalization,
  layer_rms_normalization,
} from "./normalization.js";
export {
  layer_conv_1d,
  layer_conv_2d,
  layer_conv_3d,
  layer_conv_1d_transpose,
  layer_conv_2d_transpose,
  layer_conv_3d_transpose,
  layer_depthwise_conv_1d,
  layer_depthwise_conv_2d,
  layer_separable_conv_1d,
  layer_separable_conv_2d,
} from "./conv.js";
export {
  layer_max_pooling_1d,
  layer_average_pooling_1d,
  layer_global_max_pooling_1d,
  layer_global_average_pooling_1d,
  layer_max_pooling_2d,
  layer_max_pooling_3d,
  layer_average_pooling_2d,
  layer_average_pooling_3d,
  layer_global_max_pooling_2d,
  layer_global_max_pooling_3d,
  layer_global_average_pooling_2d,
  layer_global_average_pooling_3d,
} from "./pooling.js";
