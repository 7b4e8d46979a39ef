/**
 * tskeras: R keras's layer_* API in TypeScript. The public API: everything exported here (R names), and
 * nothing else; re-exports only. CONTRIBUTING.md ("The public verbs") says where each group is defined.
 */
import "./engine/apply.js"; // installs how layer values are applied
export { KerasError } from "./errors.js";
export { backend_ready, backend_info, use_backend, type BackendInfo, type BackendName } from "./backend/index.js";
export { keras_model_sequential } from "./model/sequential.js";
export { keras_model } from "./model/functional.js";
export { layer_input, keras_input, type SymbolicTensor } from "./model/symbolic.js";
export type { Layer, LayerArgs } from "./model/layer.js";
export type {
  Applied,
  ArgsOfLayer,
  CallOptions,
  LayerFunction,
  LayerFunctionWith,
  LayerInput,
  MaskData,
  NestedNumbers,
  Outputs,
  RecurrentLayerFunction,
  SymbolicInput,
  TensorData,
  TensorInput,
} from "./model/dual.js";
export type { ActivationName, ActivationInput } from "./ops/activations.js";
export type { InitializerName, InitializerInput } from "./ops/initializers.js";
export type { RegularizerInput } from "./ops/regularizers.js";
export type { ConstraintInput } from "./ops/constraints.js";
export type { Model, SequentialModel, FunctionalModel } from "./model/model.js";
export type { History } from "./report/history.js";
export type { Shape } from "./model/types.js";
export { summary } from "./report/summary.js";
export { plot_model, type PlotModelArgs } from "./report/plot_model.js";
export {
  get_weights,
  set_weights,
  count_params,
  get_layer,
  pop_layer,
  freeze_weights,
  unfreeze_weights,
} from "./api/weights.js";
export { regularizer_l1, regularizer_l2, regularizer_l1_l2 } from "./ops/regularizers.js";
export {
  constraint_maxnorm,
  constraint_nonneg,
  constraint_unitnorm,
  constraint_minmaxnorm,
} from "./ops/constraints.js";
export * from "./api/initializers.js";
export * from "./api/activations.js";
export * from "./layers/core/index.js";
export * from "./layers/recurrent/index.js";
export * from "./layers/wrappers/index.js";
export * from "./layers/preprocessing/index.js";
export * from "./layers/attention/index.js";
export * from "./api/training.js";
export * from "./api/states.js";
export * from "./api/config.js";
export * from "./api/io.js";
export * from "./api/recurrent.js";
export * from "./api/tfjs.js";
export * from "./data/index.js";
export { set_random_seed } from "./ops/random.js";
