/**
 * The `trainingConfig` of a tfjs model.json both ways: loss, metrics and optimizer (class and
 * hyperparameters; not its state), as tfjs-layers writes them (`getTrainingConfig()`) and reads them
 * back (`loadTrainingConfig()`: names are camel-cased, then looked up in its loss, metric and
 * optimizer registries). What tfjs-layers cannot compile is refused on save.
 */
import { KerasError, describeValue } from "../errors.js";
import { snakeCase } from "../model/layer.js";
import { withModel, type CompiledState, type Model } from "../model/model.js";
import { makeSetup, outputNamesOf, setupOf } from "../engine/training/setup.js";
import { resolveLoss, type LossSpec } from "../ops/losses.js";
import { resolveMetric, type MetricSpec } from "../ops/metrics.js";
import {
  optimizer_adadelta,
  optimizer_adagrad,
  optimizer_adam,
  optimizer_adamax,
  optimizer_rmsprop,
  optimizer_sgd,
  type OptimizerSpec,
} from "../ops/optimizers.js";
import { asRecord, type ConfigRecord, type Json } from "./layer_config.js";

/** Loss class → [the name tfjs-layers knows, our name for it]. */
const LOSSES: Readonly<Record<string, readonly [string, string]>> = {
  MeanSquaredError: ["mean_squared_error", "mean_squared_error"],
  MeanAbsoluteError: ["mean_absolute_error", "mean_absolute_error"],
  MeanAbsolutePercentageError: ["mean_absolute_percentage_error", "mean_absolute_percentage_error"],
  MeanSquaredLogarithmicError: ["mean_squared_logarithmic_error", "mean_squared_logarithmic_error"],
  BinaryCrossentropy: ["binary_crossentropy", "binary_crossentropy"],
  CategoricalCrossentropy: ["categorical_crossentropy", "categorical_crossentropy"],
  SparseCategoricalCrossentropy: ["sparse_categorical_crossentropy", "sparse_categorical_crossentropy"],
  Hinge: ["hinge", "hinge"],
  SquaredHinge: ["squared_hinge", "squared_hinge"],
  CategoricalHinge: ["categorical_hinge", "categorical_hinge"],
  LogCosh: ["logcosh", "log_cosh"],
  KLDivergence: ["kullback_leibler_divergence", "kl_divergence"],
  Poisson: ["poisson", "poisson"],
  CosineSimilarity: ["cosine_proximity", "cosine_similarity"],
};

/** Metric class → [the name tfjs-layers knows, our name for it]; "accuracy"/"crossentropy" resolve the same way in both. */
const METRICS: Readonly<Record<string, readonly [string, string]>> = {
  MeanSquaredError: ["mse", "mse"],
  MeanAbsoluteError: ["mae", "mae"],
  MeanAbsolutePercentageError: ["mape", "mape"],
  BinaryAccuracy: ["binary_accuracy", "binary_accuracy"],
  CategoricalAccuracy: ["categorical_accuracy", "categorical_accuracy"],
  CategoricalCrossentropy: ["categorical_crossentropy", "categorical_crossentropy"],
  SparseCategoricalCrossentropy: ["sparse_categorical_crossentropy", "sparse_categorical_crossentropy"],
  Precision: ["precision", "precision"],
};
const AUTO_METRICS = ["accuracy", "acc", "crossentropy", "ce"];

/** A config without its `name`, for comparing an argument value with the defaults. */
const settings = (config: Readonly<Record<string, unknown>>) => {
  const { name: _name, ...rest } = config;
  return JSON.stringify(rest);
};

function optimizerToTfjs(o: OptimizerSpec, problems: string[]): ConfigRecord | null {
  const c = o.config;
  if (typeof c.learning_rate !== "number") problems.push("a learning-rate schedule");
  for (const k of ["weight_decay", "clipnorm", "clipvalue", "global_clipnorm"])
    if (c[k] !== null && c[k] !== undefined) problems.push(`the optimizer's \`${k}\``);
  const learningRate = c.learning_rate as number;
  switch (o.class_name) {
    case "SGD":
      return c.momentum > 0
        ? { class_name: "Momentum", config: { learningRate, momentum: c.momentum, useNesterov: c.nesterov } }
        : { class_name: "SGD", config: { learningRate } };
    case "RMSprop":
      return {
        class_name: "RMSProp",
        config: { learningRate, decay: c.rho, momentum: c.momentum, epsilon: c.epsilon, centered: c.centered },
      };
    case "Adam":
      if (c.amsgrad) problems.push("amsgrad = TRUE");
      return { class_name: "Adam", config: { learningRate, beta1: c.beta_1, beta2: c.beta_2, epsilon: c.epsilon } };
    case "Adagrad":
      return { class_name: "Adagrad", config: { learningRate, initialAccumulatorValue: c.initial_accumulator_value } };
    case "Adadelta":
      return { class_name: "Adadelta", config: { learningRate, rho: c.rho, epsilon: c.epsilon } };
    case "Adamax":
      return {
        class_name: "Adamax",
        config: { learningRate, beta1: c.beta_1, beta2: c.beta_2, epsilon: c.epsilon, decay: 0 },
      };
  }
  problems.push(`the optimizer ${o.class_name} (tfjs-layers has SGD, RMSprop, Adam, Adagrad, Adadelta, Adamax)`);
  return null;
}

function lossToTfjs(fn: string, l: LossSpec | null, problems: string[]): string | null {
  const names = l && LOSSES[l.class_name];
  if (!l || !names) {
    problems.push(l ? `the loss "${l.name}"` : "an output without a loss");
    return null;
  }
  if (settings(l.config) !== settings(resolveLoss(fn, names[1]).config))
    problems.push(`the loss "${l.name}" with non-default arguments`);
  return names[0];
}

function metricToTfjs(fn: string, m: MetricSpec, problems: string[]): string | null {
  if (m.class_name === "auto" && AUTO_METRICS.includes(m.name)) return m.name;
  const names = METRICS[m.class_name];
  if (!names) {
    problems.push(`the metric "${m.name}"`);
    return null;
  }
  if (settings(m.config) !== settings(resolveMetric(fn, names[1]).config))
    problems.push(`the metric "${m.name}" with non-default arguments`);
  return names[0];
}

/**
 * The `trainingConfig` of a compiled model, as tfjs-layers writes it. Throws a KerasError listing what
 * tfjs-layers could not compile (so the model would not load there).
 */
export function trainingConfigOf(fn: string, model: Model): ConfigRecord {
  const setup = setupOf(fn, model);
  const problems: string[] = [];
  const optimizer = optimizerToTfjs(setup.optimizer, problems);
  const losses = setup.losses.map((l) => lossToTfjs(fn, l, problems));
  const metrics = setup.metrics.map((list) => list.map((m) => metricToTfjs(fn, m, problems)));
  if (setup.lossWeights.some((w) => w !== 1)) problems.push("loss_weights (tfjs-layers cannot load them)");
  if (setup.weightedMetrics.some((list) => list.length))
    problems.push("weighted_metrics (tfjs-layers cannot load them)");
  if (problems.length)
    throw new KerasError(
      fn,
      `tfjs-layers could not compile this model from its file: ${problems.join(", ")}; pass include_optimizer = FALSE to save it without its compile settings`,
    );
  const names = setup.outputNames;
  const sameMetrics = metrics.every((m) => JSON.stringify(m) === JSON.stringify(metrics[0]));
  return {
    loss: (losses.length === 1 ? losses[0] : losses) as Json,
    metrics: (sameMetrics ? metrics[0] : Object.fromEntries(names.map((n, i) => [n, metrics[i]]))) as Json,
    optimizer_config: optimizer as Json,
  };
}

/** Our optimizer from a tfjs (camelCase keys) or Keras (snake_case keys) optimizer config. */
function optimizerFromTfjs(fn: string, v: unknown): OptimizerSpec {
  const r = asRecord(v);
  const raw = asRecord(r?.config) ?? {};
  const c = Object.fromEntries(Object.entries(raw).map(([k, x]) => [snakeCase(k), x])) as Record<string, any>;
  const pick = (...keys: string[]) => keys.map((k) => c[k]).find((x) => x !== undefined && x !== null);
  const common = { learning_rate: pick("learning_rate", "lr") };
  switch (typeof r?.class_name === "string" ? r.class_name.toLowerCase() : undefined) {
    case "sgd":
      return optimizer_sgd({ ...common, momentum: pick("momentum"), nesterov: pick("nesterov", "use_nesterov") });
    case "momentum":
      return optimizer_sgd({ ...common, momentum: pick("momentum"), nesterov: pick("use_nesterov", "nesterov") });
    case "rmsprop":
      return optimizer_rmsprop({
        ...common,
        rho: pick("rho", "decay"),
        momentum: pick("momentum"),
        epsilon: pick("epsilon"),
        centered: pick("centered"),
      });
    case "adam":
      return optimizer_adam({
        ...common,
        beta_1: pick("beta_1", "beta1"),
        beta_2: pick("beta_2", "beta2"),
        epsilon: pick("epsilon"),
      });
    case "adagrad":
      return optimizer_adagrad({ ...common, initial_accumulator_value: pick("initial_accumulator_value") });
    case "adadelta":
      return optimizer_adadelta({ ...common, rho: pick("rho"), epsilon: pick("epsilon") });
    case "adamax":
      return optimizer_adamax({
        ...common,
        beta_1: pick("beta_1", "beta1"),
        beta_2: pick("beta_2", "beta2"),
        epsilon: pick("epsilon"),
      });
  }
  throw new KerasError(fn, `\`trainingConfig\` has an unknown optimizer ${describeValue(r?.class_name ?? v)}`, "io");
}

const lossFromTfjs = (fn: string, v: unknown): LossSpec => {
  if (typeof v !== "string") throw new KerasError(fn, `\`trainingConfig\` has a loss ${describeValue(v)}`, "io");
  const name = snakeCase(v);
  return resolveLoss(fn, name === "cosine_proximity" ? "cosine_similarity" : name);
};
const metricFromTfjs = (fn: string, v: unknown): MetricSpec => {
  if (typeof v !== "string") throw new KerasError(fn, `\`trainingConfig\` has a metric ${describeValue(v)}`, "io");
  return resolveMetric(fn, AUTO_METRICS.includes(v) ? v : snakeCase(v));
};

/**
 * `model` compiled from a model.json `trainingConfig` (written by tfjs-layers, tensorflowjs_converter or
 * save_model_tfjs()). An unknown loss, metric or optimizer is a KerasError suggesting compile = FALSE.
 */
export function compileFromTrainingConfig(fn: string, model: Model, trainingConfig: unknown): Model {
  try {
    const tc = asRecord(trainingConfig);
    if (!tc) throw new KerasError(fn, `\`trainingConfig\` must be a record, got ${describeValue(trainingConfig)}`);
    for (const k of ["loss_weights", "weighted_metrics", "sample_weight_mode"])
      if (tc[k] !== undefined && tc[k] !== null)
        throw new KerasError(fn, `\`trainingConfig\` has \`${k}\`, which is not read`);
    const names = outputNamesOf(model);
    const perOutput = <T>(v: unknown, one: (x: unknown) => T): T | T[] | Record<string, T> => {
      if (Array.isArray(v)) return v.map(one);
      const r = asRecord(v);
      if (r) return Object.fromEntries(Object.entries(r).map(([k, x]) => [k, one(x)]));
      return one(v);
    };
    const loss = perOutput(tc.loss, (x) => lossFromTfjs(fn, x));
    const metricList = (x: unknown) => (Array.isArray(x) ? x : [x]).map((m) => metricFromTfjs(fn, m));
    const metrics =
      tc.metrics === undefined || tc.metrics === null
        ? undefined
        : Array.isArray(tc.metrics)
          ? metricList(tc.metrics)
          : Object.fromEntries(Object.entries(asRecord(tc.metrics) ?? {}).map(([k, x]) => [k, metricList(x)]));
    const optimizer = optimizerFromTfjs(fn, tc.optimizer_config);
    const setup = makeSetup(fn, model, {
      optimizer,
      loss: names.length === 1 && Array.isArray(loss) ? loss[0] : loss,
      metrics,
    });
    return withModel(model, { compiled: setup as unknown as CompiledState });
  } catch (e) {
    if (!(e instanceof KerasError)) throw e;
    const message = e.message.startsWith(`${e.fn}(): `) ? e.message.slice(e.fn.length + 4) : e.message;
    throw new KerasError(
      fn,
      `cannot compile the model from its \`trainingConfig\` (${message}); pass compile = FALSE to load it uncompiled`,
      "io",
    );
  }
}
