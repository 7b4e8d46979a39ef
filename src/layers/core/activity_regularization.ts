/** layer_activity_regularization: passes its input through and adds `(l1 * sum|x| + l2 * sum x²) / batch` to the loss. */
import { NonNegativeNum } from "../../args.js";
import { defineLayer } from "../../model/layer.js";
import type { Shape } from "../../model/types.js";
import { regularizer_l1_l2 } from "../../ops/regularizers.js";
import { activityLoss } from "../common.js";

/**
 * `layer_activity_regularization(object, l1 = 0, l2 = 0)`.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4] }), layer_dense({ units: 4 }), layer_activity_regularization({ l1: 0.01 }));
 */
export const layer_activity_regularization = defineLayer({
  className: "ActivityRegularization",
  fn: "layer_activity_regularization",
  props: {
    /** L1 factor of the penalty on the layer's input. */
    l1: NonNegativeNum,
    /** L2 factor of the penalty on the layer's input. */
    l2: NonNegativeNum,
  },
  defaults: { l1: 0, l2: 0 },
  outputShape: (_c, [input]) => [input as Shape],
  forward: (c, { inputs: [x] }) => ({
    outputs: [x],
    losses: c.l1 || c.l2 ? activityLoss(regularizer_l1_l2(c.l1, c.l2), x, x.shape[0]) : [],
  }),
});
