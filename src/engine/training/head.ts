/**
 * A training step's head with a hand-written gradient: a Dense layer on a rank-2 input producing the
 * model's only output, with the mean squared error after a linear Dense or the binary crossentropy after
 * a sigmoid Dense (W1 / W2: a recurrent layer, then Dense).
 *
 * tfjs's tape would record the head's kernels (seven for MSE, fifteen for the crossentropy), copy their
 * saved inputs (Identity) and replay their gradient functions one by one (with their reshapes, casts and
 * multiplications by ones). As one custom gradient node the head runs the same forward kernels, and the
 * backward runs the tape's arithmetic without its exact no-ops (× 1, ÷ 1, reshapes, casts of float32):
 * the same values in the same order, so the same bits.
 */
import { tf, type Tensor } from "../../backend/tf.js";
import { familyOf } from "../../model/layer.js";
import { getFamily } from "../../model/registry.js";
import { ACTIVATIONS } from "../../ops/activations.js";
import { modelInputRef, type Plan } from "../plan.js";
import type { Runtime } from "../runtime.js";
import type { TrainingSetup } from "./setup.js";
import { EPSILON, type LossSpec } from "../../ops/losses.js";

/** How many training steps ran the hand-written head, and how many fell back to the tape for it. */
export const headPaths = { handWritten: 0, tape: 0 };

export type HeadLossName = "mse" | "sigmoid_bce";

export interface HeadPlan {
  /** The model without its head: its one output is the head's input. */
  readonly body: Plan;
  /** The head alone, on the body's output as its input (a batch the hand-written gradient does not take). */
  readonly head: Plan;
  readonly layerIndex: number;
  readonly useBias: boolean;
  readonly loss: HeadLossName;
}

/**
 * The head of `rt`'s model when a step may use the hand-written gradient, else null: one output, made by
 * the last layer call, a Dense layer without regularizers on a rank-2 input, a loss `headLossOf` knows
 * after its activation, with weight 1, and no metric (metrics read the outputs).
 */
export function headPlanOf(rt: Runtime, setup: TrainingSetup, metricCount: number): HeadPlan | null {
  const { plan } = rt;
  const last = plan.nodes[plan.nodes.length - 1];
  if (!last || plan.outputs.length !== 1 || metricCount > 0) return null;
  const out = plan.outputs[0];
  if (out.node !== plan.nodes.length - 1 || out.output !== 0) return null;
  const layer = rt.layers[last.layerIndex];
  if (familyOf(layer) !== getFamily("Dense")) return null;
  const c = layer.config as Record<string, any>;
  const loss = headLossOf(setup.losses[0], c.activation?.fn);
  if (!loss || setup.lossWeights[0] !== 1) return null;
  if (c.activity_regularizer || c.kernel_regularizer || c.bias_regularizer) return null;
  if (last.inputs.length !== 1 || last.mask || last.initialState.length || last.constants.length) return null;
  if (last.inputShapes[0].length !== 2) return null;
  return {
    body: { ...plan, nodes: plan.nodes.slice(0, -1), outputs: last.inputs, outputShapes: last.inputShapes },
    head: {
      ...plan,
      nodes: [{ ...last, inputs: [modelInputRef(0)] }],
      outputs: [{ node: 0, output: 0 }],
      inputShapes: last.inputShapes,
    },
    layerIndex: last.layerIndex,
    useBias: Boolean(c.use_bias),
    loss,
  };
}

/** The hand-written loss for a compiled loss after a Dense activation, or null. */
function headLossOf(loss: LossSpec | null | undefined, activation: unknown): HeadLossName | null {
  if (loss?.class_name === "MeanSquaredError" && activation === ACTIVATIONS.linear) return "mse";
  const c = loss?.config as Record<string, unknown> | undefined;
  if (
    loss?.class_name === "BinaryCrossentropy" &&
    activation === ACTIVATIONS.sigmoid &&
    c?.from_logits === false &&
    c.label_smoothing === 0 &&
    c.axis === -1
  )
    return "sigmoid_bce";
  return null;
}

/** The head's output activation and loss, with the per-sample loss and its gradient with respect to z = h · kernel (+ bias). */
interface HeadLoss {
  /** The per-element losses (their last axis is averaged per sample) and what the gradient reads. */
  forward(z: Tensor, yTrue: Tensor): { elementwise: Tensor; saved: Tensor[] };
  /** d loss / d z from `g`, the gradient of each per-element loss (a scalar: all are the same). */
  backward(g: Tensor, saved: Tensor[], yTrue: Tensor): Tensor;
}

const HEAD_LOSSES: Record<HeadLossName, HeadLoss> = {
  // linear Dense, (z - y)²: the tape's Square gradient × 2·diff, then Sub passes it on
  mse: {
    forward: (z, yTrue) => {
      const diff = tf.sub(z, yTrue);
      return { elementwise: tf.square(diff), saved: [diff] };
    },
    backward: (g, [diff]) => tf.mul(g, tf.mul(diff, 2)),
  },
  // sigmoid Dense, Keras's clipped binary crossentropy -(y log c + (1 - y) log(1 - c)), c = clip(q, ε, 1 - ε):
  // the tape's Neg, Mul, Log and Sub gradients, the two paths into c added, ClipByValue's mask, Sigmoid's q(1 - q)
  sigmoid_bce: {
    forward: (z, y) => {
      const q = tf.sigmoid(z);
      const c = tf.clipByValue(q, EPSILON, 1 - EPSILON);
      const oneMinusC = tf.sub(1, c);
      const elementwise = tf.neg(tf.add(tf.mul(y, tf.log(c)), tf.mul(tf.sub(1, y), tf.log(oneMinusC))));
      return { elementwise, saved: [q, c, oneMinusC] };
    },
    backward: (g, [q, c, oneMinusC], y) => {
      const gNeg = tf.neg(g);
      const viaOneMinusC = tf.neg(tf.div(tf.mul(gNeg, tf.sub(1, y)), oneMinusC));
      const gc = tf.add(viaOneMinusC, tf.div(tf.mul(gNeg, y), c));
      const inside = tf.logicalAnd(tf.greaterEqual(q, EPSILON), tf.lessEqual(q, 1 - EPSILON));
      const gq = tf.where(inside, gc, tf.zerosLike(gc));
      return tf.mul(gq, tf.mul(q, tf.sub(1, q)));
    },
  },
};

/**
 * The head's loss: `loss` of Dense(h) = h · kernel (+ bias) against `yTrue`, a scalar (the sum of the
 * per-sample losses over their count, as the step's `outputLoss` without weights), with its gradient by
 * hand. Runs inside the step's gradient tape.
 */
export function denseHeadLoss(
  name: HeadLossName,
  h: Tensor,
  kernel: Tensor,
  bias: Tensor | null,
  yTrue: Tensor,
): Tensor {
  const headLoss = HEAD_LOSSES[name];
  const loss = tf.customGrad((...args: unknown[]) => {
    const [x, k, b] = args as Tensor[];
    const save = args[args.length - 1] as (tensors: Tensor[]) => void;
    const y0 = tf.matMul(x as tf.Tensor2D, k as tf.Tensor2D);
    const z = bias ? tf.add(y0, b) : y0;
    const { elementwise, saved } = headLoss.forward(z, yTrue);
    const perSample = tf.mean(elementwise, -1);
    const count = Math.max(perSample.size, 1);
    const units = z.shape[z.rank - 1];
    // the step's forward ends in a scope that disposes h; the kernel is a variable
    save([x, ...saved]);
    return {
      value: tf.div(tf.sum(perSample), count),
      gradFunc: (dy: Tensor, [input, ...lossSaved]: Tensor[]) => {
        // the tape's chain down to the per-element losses: ÷ count (RealDiv), × ones (Sum), × ones
        // ÷ units (Mean; ÷ 1 and × 1 are exact); below z, Add's bias gradient sums over the batch and
        // MatMul's are two products
        let g = tf.div(dy, count);
        if (units !== 1) g = tf.div(g, units);
        const dz = headLoss.backward(g, lossSaved, yTrue);
        const grads = [
          tf.matMul(dz as tf.Tensor2D, k as tf.Tensor2D, false, true),
          tf.matMul(input as tf.Tensor2D, dz as tf.Tensor2D, true, false),
        ];
        if (bias) grads.push(tf.reshape(tf.sum(dz, [0]), b.shape));
        return grads;
      },
    };
  });
  headPaths.handWritten++;
  return bias ? loss(h, kernel, bias) : loss(h, kernel);
}
