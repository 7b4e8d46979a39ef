/**
 * A training step's head with a hand-written gradient: a Dense layer on a rank-2 input producing the
 * model's only output, with the mean squared or mean absolute error after a linear Dense, the binary
 * crossentropy after a sigmoid Dense, or the categorical or sparse categorical crossentropy after a
 * softmax Dense (W1 / W2: a recurrent layer, then Dense; a recurrent classifier).
 *
 * tfjs's tape would record the head's kernels (seven for MSE, fifteen for the binary crossentropy),
 * copy their saved inputs (Identity) and replay their gradient functions one by one (with their
 * reshapes, casts and multiplications by ones). As one custom gradient node the head runs the same
 * forward kernels, and the backward runs the tape's arithmetic without its exact no-ops (× 1, ÷ 1,
 * reshapes, casts of float32): the same values in the same order, so the same bits.
 */
import { tf, type Tensor } from "../../backend/tf.js";
import { familyOf } from "../../model/layer.js";
import { getFamily } from "../../model/registry.js";
import { ACTIVATIONS, type ActivationName } from "../../ops/activations.js";
import { modelInputRef, type Plan } from "../plan.js";
import type { Runtime } from "../runtime.js";
import type { TrainingSetup } from "./setup.js";
import { EPSILON, sparseToOneHot, type LossSpec } from "../../ops/losses.js";

/** How many training steps ran the hand-written head, and how many fell back to the tape for it. */
export const headPaths = { handWritten: 0, tape: 0 };

/** Whether training steps may take the hand-written head (tests turn it off to fit through the tape alone). */
export const handWrittenHead = { enabled: true };

export type HeadLossName = "mse" | "mae" | "sigmoid_bce" | "softmax_cce" | "softmax_scce";

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
 * after its activation, with weight 1.
 */
export function headPlanOf(rt: Runtime, setup: TrainingSetup): HeadPlan | null {
  const { plan } = rt;
  const last = plan.nodes[plan.nodes.length - 1];
  if (!handWrittenHead.enabled || !last || plan.outputs.length !== 1) return null;
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
  if (!loss) return null;
  const config = loss.config as Record<string, unknown>;
  const names = Object.keys(HEAD_LOSSES) as HeadLossName[];
  const found = names.find((name) => {
    const l = HEAD_LOSSES[name];
    return (
      l.className === loss.class_name &&
      ACTIVATIONS[l.activation] === activation &&
      Object.entries(l.config).every(([k, v]) => config[k] === v)
    );
  });
  return found ?? null;
}

/** Whether a batch's targets `yTrue` are ones the hand-written `loss` takes, for the head's input `h` and `kernel`. */
export function headTakesTargets(loss: HeadLossName, yTrue: Tensor, h: Tensor, kernel: Tensor): boolean {
  return HEAD_LOSSES[loss].takes(yTrue, h.shape[0], (kernel as tf.Tensor2D).shape[1]);
}

/** The head's output activation and loss, with the per-sample loss and its gradient with respect to z = h · kernel (+ bias). */
interface HeadLoss {
  /** The compiled loss it stands for (Keras class name, the config values it needs) and the Dense activation before it. */
  readonly className: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly activation: ActivationName;
  /** Whether targets `yTrue` for `rows` samples of `units` outputs are of the shape and type it takes. */
  takes(yTrue: Tensor, rows: number, units: number): boolean;
  /** The head's output (the Dense activation of z), the per-sample losses and what the gradient reads. */
  forward(z: Tensor, yTrue: Tensor): { output: Tensor; perSample: Tensor; saved: Tensor[] };
  /** d loss / d z from `g`, the gradient of each per-sample loss (a scalar: all are the same). */
  backward(g: Tensor, saved: Tensor[], yTrue: Tensor): Tensor;
}

type ElementwiseLoss = Pick<HeadLoss, "className" | "config" | "activation"> & {
  /** The head's output, the per-element losses and what the gradient reads. */
  forward(z: Tensor, yTrue: Tensor): { output: Tensor; elementwise: Tensor; saved: Tensor[] };
  /** d loss / d z from `g`, the gradient of each per-element loss (a scalar). */
  backward(g: Tensor, saved: Tensor[], yTrue: Tensor): Tensor;
};

/** Targets of the output's own shape and float type: one value per output unit. */
const unitTargets = (yTrue: Tensor, rows: number, units: number) =>
  yTrue.dtype === "float32" && yTrue.rank === 2 && yTrue.shape[0] === rows && yTrue.shape[1] === units;

/**
 * A loss averaging its per-element losses over the last axis (Keras's mean losses): the tape's Mean
 * gradient is × ones ÷ units (÷ 1 is exact, so skipped).
 */
function meanOverUnits(loss: ElementwiseLoss): HeadLoss {
  return {
    ...loss,
    takes: unitTargets,
    forward: (z, yTrue) => {
      const { output, elementwise, saved } = loss.forward(z, yTrue);
      return { output, perSample: tf.mean(elementwise, -1), saved };
    },
    backward: (g, saved, yTrue) => {
      const units = yTrue.shape[yTrue.rank - 1];
      return loss.backward(units === 1 ? g : tf.div(g, units), saved, yTrue);
    },
  };
}

/**
 * Keras's categorical crossentropy of a softmax Dense's probabilities p against targets y (src/ops/losses.ts):
 * -sum(y log c) over the classes, c = clip(p / sum(p), ε, 1 - ε). The backward is the tape's: Neg and
 * Sum broadcast -g, Mul's × y, Log's ÷ c, ClipByValue's mask, RealDiv's two gradients (÷ s for p, and
 * -sum(gq p) / s² for s, which Sum's gradient broadcasts back to p; the two paths into p added: a + (-b)
 * is a - b exactly), then tfjs's Softmax gradient (gp p - sum(gp p) p).
 */
const softmaxCrossentropy: Pick<HeadLoss, "forward" | "backward"> = {
  forward: (z, y) => {
    const p = tf.softmax(z, -1);
    const s = tf.sum(p, -1, true);
    const q = tf.div(p, s);
    const c = tf.clipByValue(q, EPSILON, 1 - EPSILON);
    return { output: p, perSample: tf.neg(tf.sum(tf.mul(y, tf.log(c)), -1)), saved: [p, s, q, c] };
  },
  backward: (g, [p, s, q, c], y) => {
    const gc = tf.div(tf.mul(tf.neg(g), y), c);
    const inside = tf.logicalAnd(tf.greaterEqual(q, EPSILON), tf.lessEqual(q, 1 - EPSILON));
    const gq = tf.where(inside, gc, tf.zerosLike(gc));
    const minusGs = tf.div(tf.sum(tf.mul(gq, p), -1, true), tf.square(s));
    const gp = tf.sub(tf.div(gq, s), minusGs);
    const gpp = tf.mul(gp, p);
    return tf.sub(gpp, tf.mul(tf.sum(gpp, -1, true), p));
  },
};

const CROSSENTROPY = { from_logits: false, label_smoothing: 0, axis: -1 };

const HEAD_LOSSES: Record<HeadLossName, HeadLoss> = {
  // linear Dense, (z - y)²: the tape's Square gradient × 2·diff, then Sub passes it on
  mse: meanOverUnits({
    className: "MeanSquaredError",
    config: {},
    activation: "linear",
    forward: (z, yTrue) => {
      const diff = tf.sub(z, yTrue);
      return { output: z, elementwise: tf.square(diff), saved: [diff] };
    },
    backward: (g, [diff]) => tf.mul(g, tf.mul(diff, 2)),
  }),
  // linear Dense, |z - y|: the tape's Abs gradient × step(diff, -1) (tfjs's: -1 at 0), then Sub passes it on
  mae: meanOverUnits({
    className: "MeanAbsoluteError",
    config: {},
    activation: "linear",
    forward: (z, yTrue) => {
      const diff = tf.sub(z, yTrue);
      return { output: z, elementwise: tf.abs(diff), saved: [diff] };
    },
    backward: (g, [diff]) => tf.mul(g, tf.step(diff, -1)),
  }),
  // sigmoid Dense, Keras's clipped binary crossentropy -(y log c + (1 - y) log(1 - c)), c = clip(q, ε, 1 - ε):
  // the tape's Neg, Mul, Log and Sub gradients, the two paths into c added, ClipByValue's mask, Sigmoid's q(1 - q)
  sigmoid_bce: meanOverUnits({
    className: "BinaryCrossentropy",
    config: CROSSENTROPY,
    activation: "sigmoid",
    forward: (z, y) => {
      const q = tf.sigmoid(z);
      const c = tf.clipByValue(q, EPSILON, 1 - EPSILON);
      const oneMinusC = tf.sub(1, c);
      const elementwise = tf.neg(tf.add(tf.mul(y, tf.log(c)), tf.mul(tf.sub(1, y), tf.log(oneMinusC))));
      return { output: q, elementwise, saved: [q, c, oneMinusC] };
    },
    backward: (g, [q, c, oneMinusC], y) => {
      const gNeg = tf.neg(g);
      const viaOneMinusC = tf.neg(tf.div(tf.mul(gNeg, tf.sub(1, y)), oneMinusC));
      const gc = tf.add(viaOneMinusC, tf.div(tf.mul(gNeg, y), c));
      const inside = tf.logicalAnd(tf.greaterEqual(q, EPSILON), tf.lessEqual(q, 1 - EPSILON));
      const gq = tf.where(inside, gc, tf.zerosLike(gc));
      return tf.mul(gq, tf.mul(q, tf.sub(1, q)));
    },
  }),
  // softmax Dense, one-hot or probability targets
  softmax_cce: {
    className: "CategoricalCrossentropy",
    config: CROSSENTROPY,
    activation: "softmax",
    takes: unitTargets,
    ...softmaxCrossentropy,
  },
  // softmax Dense, class indices of shape (batch) or (batch, 1): their one-hot rows (the tape's, as float32)
  // are the targets, saved for the backward
  softmax_scce: {
    className: "SparseCategoricalCrossentropy",
    config: { from_logits: false, ignore_class: null },
    activation: "softmax",
    takes: (yTrue, rows) =>
      (yTrue.dtype === "float32" || yTrue.dtype === "int32") &&
      yTrue.shape[0] === rows &&
      (yTrue.rank === 1 || (yTrue.rank === 2 && yTrue.shape[1] === 1)),
    forward: (z, labels) => {
      const y = tf.cast(sparseToOneHot(labels, z.shape[z.rank - 1], z.rank), "float32");
      const { output, perSample, saved } = softmaxCrossentropy.forward(z, y);
      return { output, perSample, saved: [...saved, y] };
    },
    backward: (g, saved) => softmaxCrossentropy.backward(g, saved.slice(0, -1), saved[saved.length - 1]),
  },
};

/**
 * The head's loss: `loss` of Dense(h) = h · kernel (+ bias) against `yTrue`, a scalar (the sum of the
 * per-sample losses over their count, as the step's `outputLoss` without weights), with its gradient by
 * hand; and `metricsOf` the head's output (the metrics' sums; the caller disposes them). Runs inside
 * the step's gradient tape.
 */
export function denseHeadLoss(
  name: HeadLossName,
  h: Tensor,
  kernel: Tensor,
  bias: Tensor | null,
  yTrue: Tensor,
  metricsOf: (output: Tensor) => Tensor[],
): { loss: Tensor; metricSums: Tensor[] } {
  const headLoss = HEAD_LOSSES[name];
  let metricSums: Tensor[] = [];
  const loss = tf.customGrad((...args: unknown[]) => {
    const [x, k, b] = args as Tensor[];
    const save = args[args.length - 1] as (tensors: Tensor[]) => void;
    const y0 = tf.matMul(x as tf.Tensor2D, k as tf.Tensor2D);
    const z = bias ? tf.add(y0, b) : y0;
    const { output, perSample, saved } = headLoss.forward(z, yTrue);
    // the output exists only in this node (the tape neither records nor copies what the metrics read)
    metricSums = metricsOf(output).map((t) => tf.keep(t));
    const count = Math.max(perSample.size, 1);
    // the step's forward ends in a scope that disposes h; the kernel is a variable
    save([x, ...saved]);
    return {
      value: tf.div(tf.sum(perSample), count),
      gradFunc: (dy: Tensor, [input, ...lossSaved]: Tensor[]) => {
        // the tape's chain down to the per-sample losses: ÷ count (RealDiv), × ones (Sum; × 1 is exact);
        // below z, Add's bias gradient sums over the batch and MatMul's are two products
        const dz = headLoss.backward(tf.div(dy, count), lossSaved, yTrue);
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
  return { loss: bias ? loss(h, kernel, bias) : loss(h, kernel), metricSums };
}
