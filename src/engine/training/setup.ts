/**
 * What compile() stores on a model (`model.compiled`): the optimizer, one loss per output with its
 * weight, the metrics per output, and — after training — the optimizer state as plain data.
 */
import { KerasError, describeValue } from "../../errors.js";
import { isPlainRecord } from "../../args.js";
import type { Model } from "../../model/model.js";
import { isLoss, resolveLoss, type LossSpec } from "../../ops/losses.js";
import { isMetric, resolveMetric, type MetricSpec } from "../../ops/metrics.js";
import { resolveOptimizer, type OptimizerSpec, type OptimizerStateValue } from "../../ops/optimizers.js";
import { wasCompiled } from "../../api/hints.js";

export interface TrainingSetup {
  readonly kind: "tskeras.training";
  readonly optimizer: OptimizerSpec;
  /** Output names, in model output order (Keras names multi-output logs `<output>_loss`, `<output>_<metric>`). */
  readonly outputNames: readonly string[];
  /** One loss per output; null where the output has no loss (it is then not trained against). */
  readonly losses: readonly (LossSpec | null)[];
  readonly lossWeights: readonly number[];
  readonly metrics: readonly (readonly MetricSpec[])[];
  readonly weightedMetrics: readonly (readonly MetricSpec[])[];
  /** The optimizer's state after training (iterations, learning rate, slots), or null. */
  readonly optimizerState: OptimizerStateValue | null;
}

export function isTrainingSetup(x: unknown): x is TrainingSetup {
  return x !== null && typeof x === "object" && (x as { kind?: unknown }).kind === "tskeras.training";
}

/** The model's compiled setup, or a KerasError telling to compile first. */
export function setupOf(fn: string, model: Model): TrainingSetup {
  if (!isTrainingSetup(model.compiled)) {
    const why = wasCompiled(model)
      ? ` (this value was given to compile(), which returns a new, compiled model and leaves its argument as it was: const compiled = compile(model, { ... }), then ${fn}(compiled, ...); R's compile() changes the model in place)`
      : ': compile(model, { optimizer: "adam", loss: "mse" })';
    throw new KerasError(fn, `model "${model.name}" must be compiled first${why}`, "state");
  }
  return model.compiled;
}

/** Names of the model's outputs (the layers producing them). */
export function outputNamesOf(model: Model): string[] {
  if (model.type === "functional") return model.outputs.map((o) => o.node.layer.name);
  return model.layers.length ? [model.layers[model.layers.length - 1].name] : [];
}

/** Names of the model's inputs (functional: the input layers). */
export function inputNamesOf(model: Model): string[] {
  if (model.type === "functional") return model.inputs.map((i) => i.node.layer.name);
  return ["input"];
}

const isRecord = (v: unknown): v is Record<string, unknown> => isPlainRecord(v) && !isLoss(v) && !isMetric(v);

/**
 * Spreads a per-output argument over the outputs: one value for all, a list in output order, or a record
 * keyed by output name (missing names get `missing`).
 */
function perOutput<T>(
  fn: string,
  arg: string,
  v: unknown,
  names: readonly string[],
  one: (x: unknown) => T,
  missing: T,
  listIsOne = false,
): T[] {
  if (v === undefined || v === null) return names.map(() => missing);
  if (isRecord(v)) {
    const unknown = Object.keys(v).filter((k) => !names.includes(k));
    if (unknown.length)
      throw new KerasError(
        fn,
        `\`${arg}\` names output${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")} the model does not have (outputs: ${names.map((n) => `"${n}"`).join(", ")})`,
      );
    return names.map((n) => (v[n] === undefined ? missing : one(v[n])));
  }
  if (Array.isArray(v) && !listIsOne) {
    if (v.length !== names.length)
      throw new KerasError(
        fn,
        `\`${arg}\` has ${v.length} entries but the model has ${names.length} output${names.length === 1 ? "" : "s"} (${names.map((n) => `"${n}"`).join(", ")})`,
      );
    return v.map(one);
  }
  return names.map(() => one(v));
}

/** Metrics: a list applied to every output, or a record by output name of lists. */
function metricsPerOutput(fn: string, arg: string, v: unknown, names: readonly string[]): MetricSpec[][] {
  const list = (x: unknown): MetricSpec[] =>
    (Array.isArray(x) ? x : [x]).map((m) => resolveMetric(fn, m, `\`${arg}\``));
  if (v === undefined || v === null) return names.map(() => []);
  if (isRecord(v)) return perOutput(fn, arg, v, names, list, []);
  if (!Array.isArray(v) && typeof v !== "string" && typeof v !== "function" && !isMetric(v) && !isLoss(v)) {
    throw new KerasError(
      fn,
      `\`${arg}\` must be a list of metrics (names, metric_*() values or functions), got ${describeValue(v)}`,
    );
  }
  return names.map(() => list(v));
}

export interface CompileArgs {
  optimizer?: unknown;
  loss?: unknown;
  metrics?: unknown;
  loss_weights?: unknown;
  weighted_metrics?: unknown;
}

export function makeSetup(fn: string, model: Model, a: CompileArgs): TrainingSetup {
  const outputNames = outputNamesOf(model);
  if (outputNames.length === 0) throw new KerasError(fn, `model "${model.name}" has no layers to compile`);
  const losses = perOutput(fn, "loss", a.loss, outputNames, (x) => resolveLoss(fn, x), null as LossSpec | null);
  if (a.loss !== undefined && a.loss !== null && losses.every((l) => l === null))
    throw new KerasError(fn, "`loss` gives no loss for any output");
  const lossWeights = perOutput(
    fn,
    "loss_weights",
    a.loss_weights,
    outputNames,
    (x) => {
      if (typeof x !== "number" || !Number.isFinite(x))
        throw new KerasError(fn, `\`loss_weights\` must be numbers, got ${describeValue(x)}`);
      return x;
    },
    1,
  );
  return Object.freeze({
    kind: "tskeras.training" as const,
    optimizer: resolveOptimizer(fn, a.optimizer ?? "rmsprop"),
    outputNames: Object.freeze(outputNames),
    losses: Object.freeze(losses),
    lossWeights: Object.freeze(lossWeights),
    metrics: Object.freeze(metricsPerOutput(fn, "metrics", a.metrics, outputNames).map((m) => Object.freeze(m))),
    weightedMetrics: Object.freeze(
      metricsPerOutput(fn, "weighted_metrics", a.weighted_metrics, outputNames).map((m) => Object.freeze(m)),
    ),
    optimizerState: null,
  });
}
