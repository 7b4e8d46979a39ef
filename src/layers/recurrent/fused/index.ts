/**
 * The fused recurrent sequence path (DESIGN principle 6): a whole GRU / LSTM / SimpleRNN sequence in one
 * forward and one backward kernel call. driver.ts's header describes the path from a layer call to the
 * kernel; plan.ts decides when it is taken.
 */
export { fusedRnn, fusedKernelCalls, FUSED_BACKENDS, type FusedRnnArgs, type FusedRnnResult } from "./driver.js";
export {
  fusedPlan,
  setFusedKernelsEnabled,
  checkUseCudnn,
  cudnnViolations,
  USE_CUDNN_PROP,
  type FusedCellSpec,
  type FusedPlan,
  type UseCudnn,
} from "./plan.js";
export { FUSED_ACTIVATIONS, type FusedActivation } from "./lane_algebra.js";

export type { BiasLayout, FusedCellId } from "./cells/index.js";
