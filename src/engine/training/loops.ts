/**
 * The training, evaluation and prediction loops on a model's runtime (runtime.ts has the lifecycle).
 * fit never changes its argument: it trains a runtime of its own (with its own copy of the recurrent
 * state), reads the weights and optimizer slots back into a NEW model value, and caches the runtime
 * under that value. evaluate and predict pin the argument's cached runtime while they run.
 */
import { fedInputShapes } from "../host.js";
import { tf, type Tensor } from "../../backend/tf.js";
import { KerasError } from "../../errors.js";
import { withLayer, type Layer } from "../../model/layer.js";
import { sealNamed } from "../../model/weights.js";
import { OptimizerRuntime, type OptimizerStateValue } from "../../ops/optimizers.js";
import { withModel, type CompiledState, type Model } from "../../model/model.js";
import { isStatefulLayer } from "../../model/stateful.js";
import { formatShape } from "../../model/shape.js";
import {
  fitsData,
  keepRuntime,
  modelRuntime,
  pinModelRuntime,
  takeRuntime,
  unpinRuntime,
  type Runtime,
} from "../runtime.js";
import { makeHistory, type History } from "../../report/history.js";
import { defaultProgressIO, type ProgressIO } from "../../report/progress.js";
import { toNestedArray } from "../../backend/convert.js";
import {
  WindowSchedule,
  disposeBatch,
  disposeSet,
  inputShapesOf,
  passBatches,
  permutation,
  slicesFromData,
  slicesToData,
  takeBatch,
  type ArraySet,
  type SliceData,
} from "./data.js";
import { setupOf, type TrainingSetup } from "./setup.js";
import { globalRandomState, restoreGlobalRandomState } from "../../ops/random.js";
import {
  EpochAccumulator,
  optimizedVariables,
  optimizerFor,
  predictStep,
  stepContext,
  testStep,
  trainStep,
  type StepContext,
} from "./step.js";
import {
  CallbackList,
  PROGBAR_CLASS,
  hooksOf,
  isCallback,
  progbarHooks,
  type CallbackContext,
  type CallbackHooks,
  type Logs,
  type RunParams,
  type TrainingPoint,
} from "./callbacks.js";
import type { NestedNumbers } from "../../model/dual.js";

/** Logs handed to callbacks and returned are values too. */
const NO_LOGS: Logs = Object.freeze({});

/** The batch size every batch must have (a model input with a fixed batch axis), or null. */
function fixedBatchSize(rt: Runtime): number | null {
  return rt.plan.inputShapes[0][0] ?? null;
}

function firstStatefulLayer(rt: Runtime): Layer | undefined {
  return rt.layers.find((l) => isStatefulLayer(l));
}

/**
 * The batch size to use, with the errors R users hit with stateful models: a sample count that is not a
 * multiple of the fixed batch size, another batch_size, or shuffling.
 */
export function checkBatching(
  fn: string,
  rt: Runtime,
  n: number,
  batchSize: number | undefined,
  shuffle: boolean | undefined,
  what = "samples",
): number {
  const fixed = fixedBatchSize(rt);
  const stateful = firstStatefulLayer(rt);
  const owner = stateful ? `stateful layer "${stateful.name}"` : "the model's input";
  if (stateful && shuffle === true) {
    throw new KerasError(
      fn,
      `\`shuffle = TRUE\` with ${owner}: batch k+1 must continue the sequences of batch k, so give \`shuffle: false\` (and order the samples so that sample i of each batch continues sample i of the previous one)`,
      "state",
    );
  }
  if (fixed === null) return batchSize ?? 32;
  if (batchSize !== undefined && batchSize !== fixed) {
    throw new KerasError(
      fn,
      `\`batch_size\` is ${batchSize} but ${owner} has a fixed batch size of ${fixed}; give \`batch_size: ${fixed}\` (or leave it out)`,
      "shape",
    );
  }
  if (n % fixed !== 0) {
    const lower = Math.floor(n / fixed) * fixed;
    throw new KerasError(
      fn,
      `${n} ${what} is not a multiple of the batch size ${fixed} fixed by ${owner}: every batch must have exactly ${fixed} samples. Use ${lower > 0 ? `${lower} or ` : ""}${lower + fixed} ${what} (drop or pad samples)${what === "samples" ? "" : ", or change validation_split"}.`,
      "shape",
    );
  }
  return fixed;
}

/** Checks the data's feature dimensions against the model's inputs (the batch axis is checked by checkBatching). */
function checkFeatureShapes(fn: string, rt: Runtime, inputs: readonly (readonly number[])[]): void {
  const want = fedInputShapes(rt.plan, rt.layers);
  if (inputs.length !== want.length)
    throw new KerasError(fn, `the model takes ${want.length} inputs, got ${inputs.length}`, "shape");
  inputs.forEach((shape, k) => {
    const w = want[k];
    if (shape.length !== w.length || w.some((d, i) => i > 0 && d !== null && d !== shape[i])) {
      throw new KerasError(
        fn,
        `x${inputs.length > 1 ? ` (input ${k + 1})` : ""} must have shape ${formatShape([null, ...w.slice(1)])}, got ${formatShape(shape)}`,
        "shape",
      );
    }
  });
}

/** Direction of a log name for callbacks in mode "auto": losses go down, the compiled metrics say. */
function directionOf(ctx: StepContext, name: string): "up" | "down" | undefined {
  const base = name.startsWith("val_") ? name.slice(4) : name;
  if (base === "loss" || ctx.outputLossNames.includes(base) || base === "learning_rate") return "down";
  const m = ctx.metrics.find((x) => x.logName === base || base.replace(/_\d+$/, "") === x.logName);
  if (m) return m.spec.direction;
  return /acc|auc|precision|recall/.test(base) ? "up" : undefined;
}

interface LoopContext extends CallbackContext {
  params: RunParams;
}

const onlyInFit = (what: string) => (): never => {
  throw new KerasError("callback", `${what} is available only while fit() runs`, "state");
};

/**
 * What callbacks may see and do. `training`: the runtime is fit's own, whose optimizer and weights they
 * may change; otherwise it is the model value's and stays as it is (the learning rate is read from the
 * compiled state, and a callback setting it changes only this call's copy).
 */
function makeLoopContext(
  model: Model,
  rt: Runtime,
  setup: TrainingSetup | null,
  step: StepContext | null,
  params: RunParams,
  io: ProgressIO,
  training: boolean,
): LoopContext {
  let readOnly: OptimizerRuntime | undefined;
  const optimizer = (fn: string): OptimizerRuntime => {
    if (!setup) throw new KerasError(fn, "the model is not compiled");
    if (training) return optimizerFor(rt, setup);
    const state = setup.optimizerState;
    return (readOnly ??= new OptimizerRuntime(setup.optimizer, state && { ...state, slots: {} }));
  };
  return {
    params,
    model,
    stopTraining: false,
    io,
    learningRate: (fn) => optimizer(fn).currentLearningRate(),
    setLearningRate: (fn, v) => optimizer(fn).setLearningRate(fn, v),
    getWeights: () => rt.variables.map((vs) => vs.map((v) => Float32Array.from(v.dataSync() as Float32Array))),
    setWeights: (w) => {
      if (!training) throw new KerasError("callback", "weights can be set only while training");
      tf.tidy(() => rt.variables.forEach((vs, i) => vs.forEach((v, j) => v.assign(tf.tensor(w[i][j], v.shape)))));
    },
    weightSpecs: () => rt.specs.map((specs) => specs.map((s) => ({ name: s.name, shape: s.shape }))),
    iterations: () => (setup ? optimizer("callback").iterations : 0),
    metricDirection: (name) => (step ? directionOf(step, name) : undefined),
    snapshotModel: () => (training && setup ? snapshotModel(model, rt, setup) : onlyInFit("a snapshot of the model")()),
    trainingPoint: onlyInFit("the training point"),
    resumeFrom: onlyInFit("resuming"),
  };
}

/** The callback list: the user's, then the progress bar (unless given) — Keras's order. */
function buildCallbacks(fn: string, entries: readonly unknown[], ctx: LoopContext, withProgbar: boolean): CallbackList {
  const hooks: CallbackHooks[] = entries.map((e, i) => hooksOf(fn, e, i, ctx));
  const hasProgbar = entries.some((e) => isCallback(e) && e.class_name === PROGBAR_CLASS);
  if (withProgbar && !hasProgbar) hooks.push(progbarHooks(ctx));
  return new CallbackList(hooks);
}

/** Runs the test loop over `set`, firing on_test_* hooks; returns the logs. */
async function testLoop(
  step: StepContext,
  set: ArraySet,
  batchSize: number,
  callbacks: CallbackList,
  prefix = "",
): Promise<Logs> {
  const acc = new EpochAccumulator(step);
  const slices = passBatches(set, batchSize);
  await callbacks.fire("on_test_begin", NO_LOGS);
  for (let b = 0; b < slices.length; b++) {
    await callbacks.fire("on_test_batch_begin", b, NO_LOGS);
    const batch = takeBatch(set, slices[b].start, slices[b].size, slices[b].order);
    let sums: Tensor;
    try {
      sums = testStep(step, batch);
    } finally {
      disposeBatch(batch);
    }
    const values = await sums.data();
    sums.dispose();
    acc.add(values, batch.size);
    await callbacks.fire("on_test_batch_end", b, Object.freeze(acc.logs()));
  }
  const logs = Object.freeze(acc.logs());
  await callbacks.fire("on_test_end", logs);
  return prefix ? Object.freeze(Object.fromEntries(Object.entries(logs).map(([k, v]) => [prefix + k, v]))) : logs;
}

/** Batch starts and sizes of epochs, continuing across epochs when steps_per_epoch cuts a pass short. */
class BatchSchedule {
  private order: Int32Array | null = null;
  private pos = 0;
  constructor(
    private readonly n: number,
    private readonly batchSize: number,
    private readonly shuffle: boolean,
  ) {}

  /** Where the schedule is, as plain data (a training backup). */
  state(): unknown {
    return { order: this.order ? Array.from(this.order) : null, pos: this.pos };
  }

  restore(state: unknown): void {
    const s = state as { order: number[] | null; pos: number };
    this.order = s.order ? Int32Array.from(s.order) : null;
    this.pos = s.pos;
  }

  epoch(steps: number | undefined): { start: number; size: number; order: Int32Array | null }[] {
    const out: { start: number; size: number; order: Int32Array | null }[] = [];
    const count = steps ?? Math.ceil(this.n / this.batchSize);
    if (steps === undefined) this.pos = this.n;
    for (let i = 0; i < count; i++) {
      if (this.pos >= this.n) {
        this.pos = 0;
        this.order = this.shuffle ? permutation(this.n) : null;
      }
      const size = Math.min(this.batchSize, this.n - this.pos);
      out.push({ start: this.pos, size, order: this.order });
      this.pos += size;
    }
    return out;
  }
}

export interface FitOptions {
  readonly batchSize?: number;
  readonly epochs: number;
  readonly verbose: 0 | 1 | 2;
  readonly callbacks: readonly unknown[];
  readonly shuffle?: boolean;
  readonly initialEpoch: number;
  readonly stepsPerEpoch?: number;
  readonly validation: ArraySet | null;
  readonly validationBatchSize?: number;
  /** Validate after epoch e (1-based) when this says so. */
  readonly validateAt: (epoch: number) => boolean;
  readonly io?: ProgressIO;
}

/** The optimizer state with its slot arrays sealed (like weights, nobody can write into them), and their bytes. */
function sealedOptimizerState(state: OptimizerStateValue): { state: OptimizerStateValue; bytes: number } {
  let bytes = 0;
  const slots = Object.fromEntries(
    Object.entries(state.slots).map(([key, list]) => [
      key,
      Object.freeze(
        list.map((slot) => {
          bytes += slot.values.length * 4;
          return sealNamed(slot.name, slot.shape, slot.values);
        }),
      ),
    ]),
  );
  return { state: Object.freeze({ ...state, slots: Object.freeze(slots) }), bytes };
}

/**
 * The model as training has it now (weights and optimizer state read back), for a checkpoint taken
 * mid-fit: the runtime keeps training undisturbed and stays fit's own.
 */
function snapshotModel(model: Model, rt: Runtime, setup: TrainingSetup): Model {
  const weights = rt.readWeights();
  const layers = model.layers.map((l, i) => (rt.variables[i].length ? withLayer(l, { weightValues: weights[i] }) : l));
  const { state: optimizerState } = sealedOptimizerState(optimizerFor(rt, setup).snapshot());
  return withModel(model, {
    layers: Object.freeze(layers),
    compiled: Object.freeze({ ...setup, optimizerState }) as unknown as CompiledState,
  });
}

/**
 * The trained model value: weights read back from the runtime, optimizer state snapshotted; the runtime
 * is then bound to it. Stateful layers get new layer values too, which adopt the run's final state.
 */
function trainedModel(model: Model, rt: Runtime, setup: TrainingSetup): Model {
  const weights = rt.readWeights();
  const layers = model.layers.map((l, i) =>
    rt.variables[i].length ? withLayer(l, { weightValues: weights[i] }) : isStatefulLayer(l) ? withLayer(l, {}) : l,
  );
  const { state: optimizerState, bytes } = sealedOptimizerState(optimizerFor(rt, setup).snapshot());
  rt.attachmentBytes = bytes;
  const trained = withModel(model, {
    layers: Object.freeze(layers),
    compiled: Object.freeze({ ...setup, optimizerState }) as unknown as CompiledState,
  });
  rt.rebind(trained.layers);
  return trained;
}

/** fit's own runtime for `model`: its cached one when no call is using it (taken out), else a new one. */
function trainingRuntime(model: Model, dataShapes: readonly (readonly number[])[]): Runtime {
  const rt = takeRuntime(model, fitsData(dataShapes)) ?? modelRuntime(model, dataShapes);
  rt.ownStateCopies();
  return rt;
}

export async function fitLoop(
  fn: string,
  model: Model,
  train: ArraySet,
  o: FitOptions,
): Promise<{ model: Model; history: History }> {
  const setup = setupOf(fn, model);
  if (!train.targets) throw new KerasError(fn, "`y` is required to train");
  const rt = trainingRuntime(model, inputShapesOf(train));
  let kept = false;
  try {
    checkFeatureShapes(fn, rt, inputShapesOf(train));
    const batchSize = checkBatching(fn, rt, train.n, o.batchSize, o.shuffle);
    const shuffle = o.shuffle ?? !firstStatefulLayer(rt);
    const valBatch = o.validation
      ? checkBatching(
          fn,
          rt,
          o.validation.n,
          o.validationBatchSize ?? o.validation.windows?.batchSize ?? o.batchSize,
          undefined,
          "validation samples",
        )
      : batchSize;
    if (o.validation) checkFeatureShapes(fn, rt, inputShapesOf(o.validation));
    const step = stepContext(
      rt,
      setup,
      train.targets.map((t) => t.shape),
    );
    const optimizer = optimizerFor(rt, setup);
    const targets = optimizedVariables(rt);
    const schedule = train.windows
      ? new WindowSchedule(train.windows, shuffle)
      : new BatchSchedule(train.n, batchSize, shuffle);
    const steps = o.stepsPerEpoch ?? Math.ceil(train.n / batchSize);
    const params: RunParams = { epochs: o.epochs, steps, verbose: o.verbose };
    const ctx = makeLoopContext(model, rt, setup, step, params, o.io ?? defaultProgressIO, true);
    const callbacks = buildCallbacks(fn, o.callbacks, ctx, o.verbose > 0);
    const batchBeginHooks = callbacks.has("on_train_batch_begin");
    const batchEndHooks = callbacks.has("on_train_batch_end");
    const metrics: Record<string, number[]> = {};
    const epochsRun: number[] = [];
    let lastLogs: Logs = NO_LOGS;
    // Where training is, for a backup: the epoch, the batches done in it, the epoch's batches and the
    // schedule's state once they were drawn, the running sums.
    let at = { epoch: o.initialEpoch, batch: 0 };
    let batches: ReturnType<typeof schedule.epoch> = [];
    let scheduleState: unknown = schedule.state();
    let acc = new EpochAccumulator(step);
    let resume: TrainingPoint | null = null;
    ctx.trainingPoint = () => ({
      epoch: at.epoch,
      batch: at.batch,
      batches: at.batch > 0 ? slicesToData(batches) : null,
      schedule: at.batch > 0 ? scheduleState : schedule.state(),
      random: globalRandomState(),
      accumulator: at.batch > 0 ? acc.state() : null,
    });
    // Only a callback's on_train_begin may resume (a backup it found): weights, optimizer state, the point.
    ctx.resumeFrom = (weights, optimizerState, point) => {
      ctx.setWeights(weights);
      optimizer.load(optimizerState);
      resume = point;
    };
    await callbacks.fire("on_train_begin", NO_LOGS);
    ctx.resumeFrom = onlyInFit("resuming (in on_train_begin)");
    const point = resume as TrainingPoint | null;
    if (point) {
      schedule.restore(point.schedule);
      restoreGlobalRandomState(point.random);
    }
    const firstEpoch = Math.max(o.initialEpoch, point?.epoch ?? 0);
    for (let epoch = firstEpoch; epoch < o.epochs && !ctx.stopTraining; epoch++) {
      ctx.params = params;
      const resumed = point && epoch === point.epoch && point.batch > 0 && point.batches ? point : null;
      at = { epoch, batch: 0 };
      await callbacks.fire("on_epoch_begin", epoch, NO_LOGS);
      acc = new EpochAccumulator(step);
      batches = resumed ? slicesFromData(resumed.batches as SliceData[]) : schedule.epoch(o.stepsPerEpoch);
      scheduleState = schedule.state();
      if (resumed?.accumulator) acc.restore(resumed.accumulator as Parameters<typeof acc.restore>[0]);
      for (let b = resumed ? resumed.batch : 0; b < batches.length; b++) {
        if (batchBeginHooks) await callbacks.fire("on_train_batch_begin", b, NO_LOGS);
        const batch = takeBatch(train, batches[b].start, batches[b].size, batches[b].order);
        let sums: Tensor;
        try {
          sums = trainStep(step, optimizer, targets, batch);
        } finally {
          disposeBatch(batch);
        }
        const values = await sums.data();
        sums.dispose();
        acc.add(values, batch.size);
        at = { epoch, batch: b + 1 };
        if (batchEndHooks) await callbacks.fire("on_train_batch_end", b, Object.freeze(acc.logs()));
        if (ctx.stopTraining) break;
      }
      at = { epoch: epoch + 1, batch: 0 };
      const epochLogs: Logs = acc.logs();
      if (o.validation && o.validateAt(epoch + 1)) {
        ctx.params = { ...params, steps: Math.ceil(o.validation.n / valBatch) };
        Object.assign(epochLogs, await testLoop(step, o.validation, valBatch, callbacks, "val_"));
        ctx.params = params;
      }
      const logs = Object.freeze(Object.assign(epochLogs, callbacks.extraEpochLogs(epoch)));
      await callbacks.fire("on_epoch_end", epoch, logs);
      epochsRun.push(epoch);
      for (const [k, v] of Object.entries(logs)) {
        if (!metrics[k]) metrics[k] = epochsRun.slice(0, -1).map(() => NaN);
        metrics[k].push(v);
      }
      for (const k of Object.keys(metrics)) if (metrics[k].length < epochsRun.length) metrics[k].push(NaN);
      lastLogs = logs;
    }
    await callbacks.fire("on_train_end", lastLogs);
    const trained = trainedModel(model, rt, setup);
    keepRuntime(trained, rt);
    kept = true;
    return Object.freeze({
      model: trained,
      history: makeHistory({ epochs: o.epochs, steps, verbose: o.verbose }, epochsRun, metrics),
    });
  } finally {
    // The argument model keeps its own weights: a failed run's partly trained runtime is dropped.
    if (!kept) rt.dispose();
  }
}

export async function evaluateLoop(
  fn: string,
  model: Model,
  set: ArraySet,
  o: { batchSize?: number; verbose: 0 | 1 | 2; callbacks: readonly unknown[]; io?: ProgressIO },
): Promise<Logs> {
  const setup = setupOf(fn, model);
  if (!set.targets) throw new KerasError(fn, "`y` is required to evaluate");
  const lease = pinModelRuntime(model, inputShapesOf(set));
  try {
    const rt = lease.runtime;
    checkFeatureShapes(fn, rt, inputShapesOf(set));
    const batchSize = checkBatching(fn, rt, set.n, o.batchSize, undefined);
    const step = stepContext(
      rt,
      setup,
      set.targets.map((t) => t.shape),
    );
    const ctx = makeLoopContext(
      model,
      rt,
      setup,
      step,
      { epochs: 1, steps: Math.ceil(set.n / batchSize), verbose: o.verbose },
      o.io ?? defaultProgressIO,
      false,
    );
    const callbacks = buildCallbacks(fn, o.callbacks, ctx, o.verbose > 0);
    return await testLoop(step, set, batchSize, callbacks);
  } finally {
    unpinRuntime(lease);
  }
}

let oneBatchPredictions = 0;

/** How often predict / predict_on_batch took the one-batch path (`predictOneBatch`) in this process. */
export function oneBatchPredictCalls(): number {
  return oneBatchPredictions;
}

/**
 * The whole set as one batch, with no callback or progress bar to fire: the model runs on the set's
 * tensors themselves (no batch is sliced out), and the outputs are read synchronously (every backend
 * here computes on the CPU). A streaming model's one-step call spends most of its time outside the
 * model otherwise; the numbers are the batch loop's.
 */
function predictOneBatch(rt: Runtime, set: ArraySet): NestedNumbers[] {
  oneBatchPredictions++;
  const outputs = predictStep(rt, set.inputs);
  try {
    const results = outputs.map((t) => {
      const values = t.dataSync();
      return toNestedArray(
        values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>),
        t.shape,
      );
    });
    return results.length === 1 ? results[0] : results;
  } finally {
    for (const t of outputs) t.dispose();
  }
}

/** Predicts `set` batch by batch; returns nested arrays (a list of them for several outputs). */
export async function predictLoop(
  fn: string,
  model: Model,
  set: ArraySet,
  o: { batchSize?: number; verbose: 0 | 1 | 2; callbacks: readonly unknown[]; io?: ProgressIO },
): Promise<NestedNumbers[]> {
  const lease = pinModelRuntime(model, inputShapesOf(set));
  try {
    const rt = lease.runtime;
    checkFeatureShapes(fn, rt, inputShapesOf(set));
    const batchSize = checkBatching(fn, rt, set.n, o.batchSize, undefined);
    const steps = Math.ceil(set.n / batchSize);
    const setup = model.compiled ? setupOf(fn, model) : null;
    if (steps === 1 && o.verbose === 0 && o.callbacks.length === 0 && !set.windows) return predictOneBatch(rt, set);
    const params = { epochs: 1, steps, verbose: o.verbose };
    const ctx = makeLoopContext(model, rt, setup, null, params, o.io ?? defaultProgressIO, false);
    const callbacks = buildCallbacks(fn, o.callbacks, ctx, o.verbose > 0);
    const chunks: Float32Array[][] = rt.plan.outputShapes.map(() => []);
    const shapes: number[][] = rt.plan.outputShapes.map(() => []);
    const slices = passBatches(set, batchSize);
    await callbacks.fire("on_predict_begin", NO_LOGS);
    for (let b = 0; b < steps; b++) {
      await callbacks.fire("on_predict_batch_begin", b, NO_LOGS);
      const batch = takeBatch(set, slices[b].start, slices[b].size, slices[b].order);
      let outputs: Tensor[];
      try {
        outputs = predictStep(rt, batch.inputs);
      } finally {
        disposeBatch(batch);
      }
      for (let k = 0; k < outputs.length; k++) {
        chunks[k].push((await outputs[k].data()) as Float32Array);
        shapes[k] = outputs[k].shape.slice(1);
        outputs[k].dispose();
      }
      await callbacks.fire("on_predict_batch_end", b, NO_LOGS);
    }
    await callbacks.fire("on_predict_end", NO_LOGS);
    const results = chunks.map((list, k) => {
      const total = list.reduce((n, c) => n + c.length, 0);
      const all = new Float32Array(total);
      let o2 = 0;
      for (const c of list) {
        all.set(c, o2);
        o2 += c.length;
      }
      return toNestedArray(all, [set.n, ...shapes[k]]);
    });
    return results.length === 1 ? results[0] : results;
  } finally {
    unpinRuntime(lease);
  }
}

/** One training step on one batch; returns the new model value and the batch's logs. */
export async function trainOnBatch(fn: string, model: Model, set: ArraySet): Promise<{ model: Model; logs: Logs }> {
  const setup = setupOf(fn, model);
  if (!set.targets) throw new KerasError(fn, "`y` is required to train");
  const rt = trainingRuntime(model, inputShapesOf(set));
  let kept = false;
  try {
    checkFeatureShapes(fn, rt, inputShapesOf(set));
    checkBatching(fn, rt, set.n, set.n, undefined);
    const step = stepContext(
      rt,
      setup,
      set.targets.map((t) => t.shape),
    );
    const batch = takeBatch(set, 0, set.n, null);
    let sums: Tensor;
    try {
      sums = trainStep(step, optimizerFor(rt, setup), optimizedVariables(rt), batch);
    } finally {
      disposeBatch(batch);
    }
    const values = await sums.data();
    sums.dispose();
    const acc = new EpochAccumulator(step);
    acc.add(values, set.n);
    const trained = trainedModel(model, rt, setup);
    keepRuntime(trained, rt);
    kept = true;
    return Object.freeze({ model: trained, logs: Object.freeze(acc.logs()) });
  } finally {
    if (!kept) rt.dispose();
  }
}

export { disposeSet };
