/**
 * One batch of training, evaluation or prediction on a model's runtime, and the epoch accumulator that
 * turns the batches' sums into Keras's running logs (`loss`, per-output losses, metrics).
 *
 * Each train/test step returns ONE small 1-D tensor of sums (loss, per-output losses, every metric's
 * sums) so a batch costs one read-back.
 */
import { tf, type Tensor } from "../../backend/tf.js";
import { ArgumentError, KerasError } from "../../errors.js";
import { disposeUpdates, keptUpdates, type Runtime, type RunResult, type RunUpdates } from "../runtime.js";
import { releaseAbandonedTape } from "../../backend/internals.js";
import { regularizationPenalty } from "../../ops/regularizers.js";
import { EPSILON } from "../../ops/losses.js";
import { metricForShapes, resolveAutoMetric, type MetricSpec } from "../../ops/metrics.js";
import { OptimizerRuntime, slotKey, type OptimizedVariable } from "../../ops/optimizers.js";
import type { TrainingSetup } from "./setup.js";
import type { Batch } from "./data.js";
import { denseHeadLoss, headPaths, headPlanOf, headTakesTargets, type HeadPlan } from "./head.js";

/** A metric with its log name and whether it takes sample weights. */
interface BoundMetric {
  readonly output: number;
  readonly logName: string;
  readonly spec: MetricSpec;
  readonly weighted: boolean;
}

/** Everything a step needs, built once per fit/evaluate call. */
export interface StepContext {
  readonly rt: Runtime;
  readonly setup: TrainingSetup;
  readonly metrics: readonly BoundMetric[];
  /** Log names of the per-output losses (multi-output models only). */
  readonly outputLossNames: readonly string[];
  /** The head whose gradient a training step writes by hand (head.ts), or null: the tape does it all. */
  readonly head: HeadPlan | null;
}

const OPTIMIZER_KEY = "tskeras.optimizer";

/** The optimizer state living with the runtime: reused while the compiled optimizer is the same. */
export function optimizerFor(rt: Runtime, setup: TrainingSetup): OptimizerRuntime {
  const have = rt.attachments.get(OPTIMIZER_KEY);
  if (have instanceof OptimizerRuntime && have.spec === setup.optimizer) return have;
  have?.dispose();
  const opt = new OptimizerRuntime(setup.optimizer, setup.optimizerState);
  rt.attachments.set(OPTIMIZER_KEY, opt);
  return opt;
}

/**
 * Binds the compiled metrics to log names, resolving "accuracy"/"crossentropy" from the shapes of the
 * targets and outputs as Keras does.
 */
export function stepContext(
  rt: Runtime,
  setup: TrainingSetup,
  targetShapes: readonly (readonly number[])[] | null,
): StepContext {
  const multi = setup.outputNames.length > 1;
  const prefix = (k: number) => (multi ? `${setup.outputNames[k]}_` : "");
  const metrics: BoundMetric[] = [];
  const taken = new Set(["loss"]);
  const outputLossNames = multi ? setup.outputNames.map((n) => `${n}_loss`) : [];
  outputLossNames.forEach((n) => taken.add(n));
  if (targetShapes) {
    const bind = (k: number, m: MetricSpec, weighted: boolean) => {
      const outputShape = rt.plan.outputShapes[k];
      const yPredShape = outputShape.map((d) => d ?? 1);
      const spec = metricForShapes(
        resolveAutoMetric(m, targetShapes[k], yPredShape, setup.losses[k]),
        targetShapes[k],
        outputShape,
      );
      let logName = prefix(k) + spec.name;
      if (taken.has(logName)) logName = prefix(k) + (weighted ? "weighted_" : "") + spec.name;
      if (taken.has(logName))
        throw new ArgumentError(`\`metrics\`: two metrics are named "${logName}"; give one a different \`name\``);
      taken.add(logName);
      metrics.push({ output: k, logName, spec, weighted });
    };
    setup.metrics.forEach((list, k) => list.forEach((m) => bind(k, m, false)));
    setup.weightedMetrics.forEach((list, k) => list.forEach((m) => bind(k, m, true)));
  }
  return { rt, setup, metrics, outputLossNames, head: headPlanOf(rt, setup) };
}

/** Keras 3 `apply_mask` for "sum_over_batch_size": valid entries weigh total/valid so the mean is over them. */
function maskWeight(mask: Tensor): Tensor {
  const m = tf.cast(mask, "float32");
  return tf.mul(m, tf.div(m.size, tf.add(tf.sum(m), EPSILON)));
}

function expandTo(w: Tensor, rank: number): Tensor {
  let b = w;
  while (b.rank < rank) b = tf.expandDims(b, -1);
  return b;
}

/** Sample weights times the output mask (either may be absent), shaped to broadcast against `like`. */
function combinedWeight(sw: Tensor | null, mask: Tensor | null, like: Tensor, scaleMask: boolean): Tensor | null {
  const m = mask && mask.rank <= like.rank ? (scaleMask ? maskWeight(mask) : tf.cast(mask, "float32")) : null;
  if (!sw && !m) return null;
  if (sw && m) return tf.mul(expandTo(sw, m.rank), m);
  return sw ?? m;
}

/**
 * Weighted Keras loss of one output: sum(per-sample loss × weight) / number of weighted values (a loss
 * of the whole batch, as dice's, times a weight per sample averages the weights, as in Keras).
 */
function outputLoss(
  ctx: StepContext,
  k: number,
  yTrue: Tensor,
  yPred: Tensor,
  sw: Tensor | null,
  mask: Tensor | null,
): Tensor {
  const loss = ctx.setup.losses[k]!;
  let per: Tensor;
  try {
    per = loss.perSample(yTrue, yPred);
  } catch (e) {
    if (e instanceof ArgumentError || e instanceof KerasError) throw e;
    throw new ArgumentError(
      `the ${loss.name} loss cannot compare \`y\`${ctx.setup.outputNames.length > 1 ? ` for "${ctx.setup.outputNames[k]}"` : ""} of shape [${yTrue.shape.join(", ")}] with the model's output of shape [${yPred.shape.join(", ")}] (${(e as Error).message})`,
    );
  }
  const w = combinedWeight(sw, mask, per, true);
  const weighted = w ? tf.mul(per, expandTo(w, per.rank)) : per;
  return tf.div(tf.sum(weighted), Math.max(weighted.size, 1));
}

/** The regularization penalties of trainable weights plus the layers' own losses (activity regularization). */
function extraLosses(rt: Runtime, run: RunResult): Tensor[] {
  const out: Tensor[] = [...run.losses];
  rt.specs.forEach((specs, i) =>
    specs.forEach((spec, j) => {
      const v = rt.variables[i][j];
      if (spec.regularizer && v.trainable) out.push(regularizationPenalty(spec.regularizer, v));
    }),
  );
  return out;
}

/** Total loss (scalar) and the batch's sums vector. Inside tidy / gradient tape. */
function lossAndSums(ctx: StepContext, run: RunResult, batch: Batch): { total: Tensor; sums: Tensor } {
  const { setup } = ctx;
  const targets = batch.targets!;
  const perOutput = setup.losses.map((loss, k) => {
    if (!loss) return null;
    const value = outputLoss(ctx, k, targets[k], run.outputs[k], batch.sampleWeight, run.outputMasks[k]);
    // a weight of 1 (the default) changes no number: an op and its gradient saved
    return setup.lossWeights[k] === 1 ? value : tf.mul(value, setup.lossWeights[k]);
  });
  const parts = perOutput.filter((p): p is Tensor => p !== null);
  if (parts.length === 0) throw new ArgumentError("no output has a loss: give `loss` to compile()");
  parts.push(...extraLosses(ctx.rt, run));
  const total = parts.length === 1 ? parts[0] : tf.addN(parts);
  const metricSums = ctx.metrics.map((m) => {
    const w = combinedWeight(
      m.weighted ? batch.sampleWeight : null,
      run.outputMasks[m.output],
      run.outputs[m.output],
      false,
    );
    return m.spec.stats(targets[m.output], run.outputs[m.output], w);
  });
  const lossSums = ctx.outputLossNames.length ? perOutput.map((p) => p ?? tf.scalar(0)) : [];
  return { total, sums: sumsVector(total, lossSums, metricSums) };
}

/** The batch's sums as one vector: the total loss, the per-output losses, every metric's sums. */
function sumsVector(total: Tensor, lossSums: readonly Tensor[], metricSums: readonly Tensor[]): Tensor {
  const parts = [
    tf.reshape(total, [1]),
    ...lossSums.map((t) => tf.reshape(t, [1])),
    ...metricSums.map((t) => tf.reshape(tf.cast(t, "float32"), [-1])),
  ];
  return parts.length === 1 ? parts[0] : tf.concat(parts);
}

/**
 * `lossAndSums` of a training step through `head`: the model without its head runs on the tape, the
 * head and loss as one node with a hand-written gradient. Sample weights, an output mask, or targets of
 * another shape or type leave the head to the tape.
 */
function headLossAndSums(
  ctx: StepContext,
  head: HeadPlan,
  batch: Batch,
): { run: RunResult; total: Tensor; sums: Tensor } {
  const body = ctx.rt.run(batch.inputs, { training: true }, head.body);
  const [kernel, bias] = ctx.rt.variables[head.layerIndex];
  const h = body.outputs[0];
  const yTrue = batch.targets![0];
  const plain = !batch.sampleWeight && !body.outputMasks[0] && headTakesTargets(head.loss, yTrue, h, kernel);
  if (!plain) {
    headPaths.tape++;
    // the head as the runtime runs it (its activation, its output mask), on the tape
    const top = ctx.rt.run([h], { training: true, inputMasks: body.outputMasks }, head.head);
    const run: RunResult = {
      outputs: top.outputs,
      outputMasks: top.outputMasks,
      losses: [...body.losses, ...top.losses],
      stateUpdates: [...body.stateUpdates, ...top.stateUpdates],
      weightUpdates: [...body.weightUpdates, ...top.weightUpdates],
    };
    return { run, ...lossAndSums(ctx, run, batch) };
  }
  // the metrics of the tape's path without weights (none, and no output mask, in this batch)
  const metricsOf = (output: Tensor) => ctx.metrics.map((m) => m.spec.stats(yTrue, output, null));
  const { loss, metricSums } = denseHeadLoss(head.loss, h, kernel, head.useBias ? bias : null, yTrue, metricsOf);
  const parts = [loss, ...extraLosses(ctx.rt, body)];
  const total = parts.length === 1 ? parts[0] : tf.addN(parts);
  const sums = sumsVector(total, [], metricSums);
  tf.dispose(metricSums);
  return { run: body, total, sums };
}

/** The variables the optimizer updates, with their slot keys and constraints. */
export function optimizedVariables(rt: Runtime): OptimizedVariable[] {
  const out: OptimizedVariable[] = [];
  rt.variables.forEach((vars, i) =>
    vars.forEach((v, j) => {
      if (v.trainable)
        out.push({
          key: slotKey(i, j),
          variable: v,
          constraint: rt.specs[i][j].constraint ?? null,
        });
    }),
  );
  return out;
}

/** One training step: forward, loss, gradients, optimizer update, state commit. Returns the sums (dispose). */
export function trainStep(
  ctx: StepContext,
  optimizer: OptimizerRuntime,
  targets: readonly OptimizedVariable[],
  batch: Batch,
): Tensor {
  const { rt } = ctx;
  let sums: Tensor | undefined;
  let updates: RunUpdates | undefined;
  const forward = () => {
    let run: RunResult;
    let r: { total: Tensor; sums: Tensor };
    if (ctx.head && targets.length > 0) {
      ({ run, ...r } = headLossAndSums(ctx, ctx.head, batch));
    } else {
      run = rt.run(batch.inputs, { training: true });
      r = lossAndSums(ctx, run, batch);
    }
    sums = tf.keep(r.sums);
    updates = keptUpdates(run);
    return r.total as tf.Scalar;
  };
  try {
    if (targets.length === 0) {
      tf.tidy(forward);
    } else {
      const { value, grads } = tf.variableGrads(
        forward,
        targets.map((t) => t.variable),
      );
      value.dispose();
      const pairs = targets
        .filter((t) => grads[t.variable.name])
        .map((t) => ({ target: t, grad: grads[t.variable.name] }));
      try {
        optimizer.apply(pairs);
      } finally {
        for (const g of Object.values(grads)) g.dispose();
      }
    }
  } catch (e) {
    // a loss, metric or constraint that threw: nothing of this step is kept
    releaseAbandonedTape(tf.engine());
    tf.dispose(sums);
    if (updates) disposeUpdates(updates);
    throw e;
  }
  rt.commit(updates!);
  return sums!;
}

/** One evaluation step (inference mode). Returns the sums (dispose). */
export function testStep(ctx: StepContext, batch: Batch): Tensor {
  let updates: RunUpdates | undefined;
  const sums = tf.tidy(() => {
    const run = ctx.rt.run(batch.inputs, { training: false });
    updates = keptUpdates(run);
    return lossAndSums(ctx, run, batch).sums;
  });
  ctx.rt.commit(updates!);
  return sums;
}

/** One prediction step: the outputs (dispose them). */
export function predictStep(rt: Runtime, inputs: readonly Tensor[]): Tensor[] {
  let updates: RunUpdates | undefined;
  const outputs = tf.tidy(() => {
    const run = rt.run(inputs, { training: false });
    updates = keptUpdates(run);
    return run.outputs;
  });
  rt.commit(updates!);
  return outputs;
}

/** Running Keras logs over the batches of an epoch (loss weighted by batch size, metrics by their sums). */
export class EpochAccumulator {
  private lossSum = 0;
  private outputLossSums: number[];
  private samples = 0;
  private metricSums: Float64Array[];

  constructor(private readonly ctx: StepContext) {
    this.outputLossSums = ctx.outputLossNames.map(() => 0);
    this.metricSums = ctx.metrics.map((m) => new Float64Array(m.spec.size));
  }

  add(sums: ArrayLike<number>, batchSize: number): void {
    let o = 0;
    this.lossSum += sums[o++] * batchSize;
    this.outputLossSums.forEach((_, k) => (this.outputLossSums[k] += sums[o++] * batchSize));
    this.samples += batchSize;
    for (const acc of this.metricSums) for (let i = 0; i < acc.length; i++) acc[i] += sums[o++];
  }

  /** The running sums as plain data (a training backup taken mid-epoch). */
  state(): { loss: number; outputs: number[]; samples: number; metrics: number[][] } {
    return {
      loss: this.lossSum,
      outputs: [...this.outputLossSums],
      samples: this.samples,
      metrics: this.metricSums.map((m) => Array.from(m)),
    };
  }

  /** Continues from `state()`'s sums. */
  restore(state: { loss: number; outputs: number[]; samples: number; metrics: number[][] }): void {
    this.lossSum = state.loss;
    this.outputLossSums = [...state.outputs];
    this.samples = state.samples;
    this.metricSums = state.metrics.map((m) => Float64Array.from(m));
  }

  /** The current logs, `prefix` added to every name ("val_" for validation). */
  logs(prefix = ""): Record<string, number> {
    const out: Record<string, number> = {};
    const mean = (s: number) => (this.samples ? s / this.samples : NaN);
    out[`${prefix}loss`] = mean(this.lossSum);
    this.ctx.outputLossNames.forEach((n, k) => (out[prefix + n] = mean(this.outputLossSums[k])));
    this.ctx.metrics.forEach((m, k) => {
      const value = m.spec.value(this.metricSums[k]);
      // A metric of one value per class or threshold logs `<name>_<i>` for each.
      if (Array.isArray(value)) value.forEach((v, i) => (out[`${prefix}${m.logName}_${i}`] = v));
      else out[prefix + m.logName] = value;
    });
    return out;
  }
}
