/**
 * A training step's head with a hand-written gradient: a linear Dense layer on a rank-2 input producing
 * the model's only output, and the mean squared error over it (W1 / W2: a recurrent layer, then Dense).
 *
 * tfjs's tape would record the head's seven kernels, copy their saved inputs (Identity) and replay their
 * gradient functions one by one (with their reshapes, casts and multiplications by ones). As one custom
 * gradient node the head runs the same forward kernels, and the backward runs the tape's arithmetic
 * without its exact no-ops (× 1, ÷ 1, reshapes, casts of float32): the same values in the same order, so
 * the same bits.
 */
import { tf, type Tensor } from "../../backend/tf.js";
import { familyOf } from "../../model/layer.js";
import { getFamily } from "../../model/registry.js";
import { ACTIVATIONS } from "../../ops/activations.js";
import type { Plan } from "../plan.js";
import type { Runtime } from "../runtime.js";
import type { TrainingSetup } from "./setup.js";

/** How many training steps ran the hand-written head, and how many fell back to the tape for it. */
export const headPaths = { handWritten: 0, tape: 0 };

export interface HeadPlan {
  /** The model without its head: its one output is the head's input. */
  readonly body: Plan;
  readonly layerIndex: number;
  readonly useBias: boolean;
}

/**
 * The head of `rt`'s model when a step may use the hand-written gradient, else null: one output, made by
 * the last layer call, a Dense layer with a linear activation and no regularizer on a rank-2 input, the
 * built-in mean squared error with weight 1, and no metric (metrics read the outputs).
 */
export function headPlanOf(rt: Runtime, setup: TrainingSetup, metricCount: number): HeadPlan | null {
  const { plan } = rt;
  const last = plan.nodes[plan.nodes.length - 1];
  if (!last || plan.outputs.length !== 1 || metricCount > 0) return null;
  const out = plan.outputs[0];
  if (out.node !== plan.nodes.length - 1 || out.output !== 0) return null;
  const loss = setup.losses[0];
  if (!loss || loss.class_name !== "MeanSquaredError" || setup.lossWeights[0] !== 1) return null;
  const layer = rt.layers[last.layerIndex];
  if (familyOf(layer) !== getFamily("Dense")) return null;
  const c = layer.config as Record<string, any>;
  if (c.activation?.fn !== ACTIVATIONS.linear) return null;
  if (c.activity_regularizer || c.kernel_regularizer || c.bias_regularizer) return null;
  if (last.inputs.length !== 1 || last.mask || last.initialState.length || last.constants.length) return null;
  if (last.inputShapes[0].length !== 2) return null;
  return {
    body: { ...plan, nodes: plan.nodes.slice(0, -1), outputs: last.inputs, outputShapes: last.inputShapes },
    layerIndex: last.layerIndex,
    useBias: Boolean(c.use_bias),
  };
}

/**
 * The mean squared error of `h · kernel (+ bias)` against `yTrue` (a scalar: the sum of the per-sample
 * losses over their count, as the step's `outputLoss` without weights), with its gradient by hand.
 * Runs inside the step's gradient tape.
 */
export function denseMseLoss(h: Tensor, kernel: Tensor, bias: Tensor | null, yTrue: Tensor): Tensor {
  const loss = tf.customGrad((...args: unknown[]) => {
    const [x, k, b] = args as Tensor[];
    const save = args[args.length - 1] as (tensors: Tensor[]) => void;
    const y0 = tf.matMul(x as tf.Tensor2D, k as tf.Tensor2D);
    const yPred = bias ? tf.add(y0, b) : y0;
    const diff = tf.sub(yPred, yTrue);
    const perSample = tf.mean(tf.square(diff), -1);
    const count = Math.max(perSample.size, 1);
    // the step's forward ends in a scope that disposes h; the kernel is a variable
    save([x, diff]);
    return {
      value: tf.div(tf.sum(perSample), count),
      gradFunc: (dy: Tensor, [input, savedDiff]: Tensor[]) => {
        // the tape's chain: ÷ count (RealDiv), × ones (Sum), × ones ÷ units (Mean), × 2·diff (Square),
        // then Sub and Add pass it on; Add's bias gradient sums over the batch, MatMul's are two products
        let g = tf.div(dy, count);
        const units = diff.shape[diff.rank - 1];
        if (units !== 1) g = tf.div(g, units);
        const dPred = tf.mul(g, tf.mul(savedDiff, 2));
        const grads = [
          tf.matMul(dPred as tf.Tensor2D, k as tf.Tensor2D, false, true),
          tf.matMul(input as tf.Tensor2D, dPred as tf.Tensor2D, true, false),
        ];
        if (bias) grads.push(tf.reshape(tf.sum(dPred, [0]), b.shape));
        return grads;
      },
    };
  });
  headPaths.handWritten++;
  return bias ? loss(h, kernel, bias) : loss(h, kernel);
}
