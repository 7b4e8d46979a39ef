/**
 * A compiled model's `compile_config` in Keras 3's form (optimizer, loss, metrics, loss_weights,
 * weighted_metrics), both ways. Built-in losses and metrics given by name are written by name, as
 * Keras writes them; the others as Keras objects. User functions are written by name and need
 * `custom_objects` to be read back.
 */
import { KerasError, describeValue } from "../errors.js";
import { snakeCase } from "../model/layer.js";
import type { Model } from "../model/model.js";
import type { CompileArgs, TrainingSetup } from "../engine/training/setup.js";
import * as losses from "../ops/losses.js";
import * as metrics from "../ops/metrics.js";
import * as schedules from "../ops/schedules.js";
import {
  optimizer_adadelta,
  optimizer_adagrad,
  optimizer_adam,
  optimizer_adamax,
  optimizer_adamw,
  optimizer_nadam,
  optimizer_rmsprop,
  optimizer_sgd,
  type OptimizerSpec,
} from "../ops/optimizers.js";
import { isSchedule } from "../ops/schedules.js";
import { asRecord, toJson, type ConfigRecord, type Json } from "./layer_config.js";
import { functionName, kerasFloat, named, type CustomObjects } from "./keras3_config.js";

const OPTIMIZERS: Readonly<Record<string, (args?: Record<string, unknown>) => OptimizerSpec>> = {
  SGD: optimizer_sgd,
  RMSprop: optimizer_rmsprop,
  Adam: optimizer_adam,
  AdamW: optimizer_adamw,
  Adagrad: optimizer_adagrad,
  Adadelta: optimizer_adadelta,
  Adamax: optimizer_adamax,
  Nadam: optimizer_nadam,
};

/** Keras optimizer options this package does not have, and the value that means "off". */
const OPTIMIZER_OPTIONS_OFF: Readonly<Record<string, unknown>> = {
  use_ema: false,
  ema_momentum: undefined,
  ema_overwrite_frequency: null,
  loss_scale_factor: null,
  gradient_accumulation_steps: null,
  is_legacy_optimizer: false,
  jit_compile: undefined,
  decay: 0,
};

const kerasObject = (module: string, class_name: string, config: Json): ConfigRecord => ({
  module,
  class_name,
  config,
  registered_name: null,
});

// ---------------------------------------------------------------------------------------------
// To Keras 3

function optimizerToKeras3(spec: OptimizerSpec, currentLearningRate: number | null): ConfigRecord {
  const { learning_rate, ...rest } = spec.config;
  const lr = isSchedule(learning_rate)
    ? kerasObject("keras.optimizers.schedules", learning_rate.class_name, toJson(learning_rate.config))
    : kerasFloat(currentLearningRate ?? learning_rate);
  const config = {
    ...(toJson(rest) as ConfigRecord),
    learning_rate: lr,
    use_ema: false,
    ema_momentum: 0.99,
    ema_overwrite_frequency: null,
    loss_scale_factor: null,
    gradient_accumulation_steps: null,
  } as ConfigRecord;
  return kerasObject("keras.optimizers", spec.class_name, config);
}

/** A loss or metric as Keras writes it: its name when it was given by name, else a Keras object. */
function lossOrMetricToKeras3(
  spec: { name: string; class_name: string; config: Readonly<Record<string, unknown>> },
  module: string,
  byName: (name: string) => { config: Readonly<Record<string, unknown>> } | undefined,
): Json {
  if (spec.class_name === "Custom" || spec.class_name === "auto") return spec.name;
  const named = typeof spec.config.name === "string" ? byName(spec.config.name) : undefined;
  if (named && JSON.stringify(named.config) === JSON.stringify(spec.config)) return spec.config.name as string;
  const config = toJson(spec.config) as ConfigRecord;
  if (module === "keras.losses") config.reduction = "sum_over_batch_size";
  return kerasObject(module, spec.class_name, config);
}

const attempt = <T>(f: () => T): T | undefined => {
  try {
    return f();
  } catch {
    return undefined;
  }
};

/** Keras 3's `compile_config` of a compiled model. */
export function compileToKeras3(setup: TrainingSetup): ConfigRecord {
  const single = setup.outputNames.length === 1;
  const loss = (l: (typeof setup.losses)[number]) =>
    l ? lossOrMetricToKeras3(l, "keras.losses", (n) => attempt(() => losses.resolveLoss("compile", n))) : null;
  const metricList = (list: (typeof setup.metrics)[number]) =>
    list.map((m) =>
      lossOrMetricToKeras3(m, "keras.metrics", (n) => attempt(() => metrics.resolveMetric("compile", n))),
    );
  const perOutput = (lists: typeof setup.metrics): Json => {
    if (lists.every((l) => l.length === 0)) return null;
    if (single) return metricList(lists[0]);
    return Object.fromEntries(setup.outputNames.map((n, i) => [n, metricList(lists[i])]));
  };
  return {
    optimizer: optimizerToKeras3(setup.optimizer, setup.optimizerState?.learning_rate ?? null),
    loss: single ? loss(setup.losses[0]) : setup.losses.map(loss),
    loss_weights: setup.lossWeights.every((w) => w === 1) ? null : [...setup.lossWeights],
    metrics: perOutput(setup.metrics),
    weighted_metrics: perOutput(setup.weightedMetrics),
    run_eagerly: false,
    steps_per_execution: 1,
    jit_compile: false,
  };
}

// ---------------------------------------------------------------------------------------------
// From Keras 3

/** Arguments of a Keras object's config for this package's function: options that are "off" dropped. */
function argumentsOf(config: Record<string, unknown>, drop: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) if (!drop.includes(k) && v !== null) out[k] = v;
  return out;
}

function optimizerFromKeras3(v: unknown): OptimizerSpec {
  if (typeof v === "string") {
    const make = Object.entries(OPTIMIZERS).find(([k]) => k.toLowerCase() === v.toLowerCase())?.[1];
    if (!make) throw new Error(`optimizer "${v}" is not available here`);
    return make();
  }
  const r = asRecord(v);
  const make = r && typeof r.class_name === "string" ? OPTIMIZERS[r.class_name] : undefined;
  if (!r || !make)
    throw new Error(
      `optimizer ${describeValue(r?.class_name ?? v)} is not available here (${Object.keys(OPTIMIZERS).join(", ")} are)`,
    );
  const c = { ...(asRecord(r.config) ?? {}) };
  for (const [k, off] of Object.entries(OPTIMIZER_OPTIONS_OFF)) {
    if (!(k in c)) continue;
    if (off !== undefined && c[k] !== off && c[k] !== null)
      throw new Error(`optimizer option \`${k} = ${JSON.stringify(c[k])}\` is not supported here`);
    delete c[k];
  }
  const lr = asRecord(c.learning_rate);
  if (lr) c.learning_rate = scheduleFromKeras3(lr);
  return make(argumentsOf(c, []));
}

function scheduleFromKeras3(r: Record<string, unknown>): schedules.LearningRateSchedule {
  const make = (schedules as Record<string, unknown>)[`learning_rate_schedule_${snakeCase(String(r.class_name))}`];
  if (typeof make !== "function")
    throw new Error(`learning-rate schedule ${describeValue(r.class_name)} is not available here`);
  return make(argumentsOf(asRecord(r.config) ?? {}, []));
}

/** A loss or metric from Keras's form: a name (built-in or from `custom_objects`) or a Keras object. */
function lossOrMetricFromKeras3(v: unknown, kind: "loss" | "metric", custom: CustomObjects): unknown {
  // A function given by reference (keras.losses.mean_squared_error) is written by its name.
  const name = functionName(v);
  if (name !== null) v = name;
  if (typeof v === "string") {
    const known =
      kind === "loss"
        ? attempt(() => losses.resolveLoss("compile", v))
        : attempt(() => metrics.resolveMetric("compile", v));
    if (known) return known;
    const f = custom[v];
    // The saved name names the logs, whatever the given function is called.
    if (typeof f === "function") return named(v, f as (...args: any[]) => unknown);
    throw new Error(`${kind} "${v}" is neither built in nor in \`custom_objects\``);
  }
  const r = asRecord(v);
  if (!r || typeof r.class_name !== "string")
    throw new Error(`a ${kind} must be a name or a Keras object, got ${describeValue(v)}`);
  const fn = (kind === "loss" ? (losses as Record<string, unknown>) : (metrics as Record<string, unknown>))[
    `${kind}_${snakeCase(r.class_name)}`
  ];
  if (typeof fn !== "function") {
    const f = custom[r.class_name];
    if (typeof f === "function") return f;
    throw new Error(`${kind} ${r.class_name} is not available here`);
  }
  // Keras's defaults the functions share are dropped when "off" (null, or the one reduction supported).
  const config = asRecord(r.config) ?? {};
  const drop = kind === "loss" ? ["reduction", "dtype"] : [];
  if (kind === "loss" && config.reduction !== undefined && config.reduction !== "sum_over_batch_size")
    throw new Error(`loss reduction "${String(config.reduction)}" is not supported here`);
  return fn(argumentsOf(config, drop));
}

/**
 * compile() arguments from Keras's `compile_config`. A failure is a KerasError of `fn` saying that
 * the model can still be loaded with `compile = FALSE`.
 */
export function compileArgsFromKeras3(
  fn: string,
  model: Model,
  compileConfig: unknown,
  custom: CustomObjects,
): CompileArgs {
  try {
    const c = asRecord(compileConfig);
    if (!c) throw new Error(`it must be a record, got ${describeValue(compileConfig)}`);
    const outputNames =
      model.type === "functional" ? model.outputs.map((o) => o.node.layer.name) : [model.layers.at(-1)?.name ?? ""];
    const each = (v: unknown, f: (x: unknown) => unknown): unknown => {
      if (v === null || v === undefined) return undefined;
      if (Array.isArray(v)) return v.map((x) => (x === null ? null : f(x)));
      const r = asRecord(v);
      if (r && typeof r.class_name !== "string")
        return Object.fromEntries(Object.entries(r).map(([k, x]) => [k, x === null ? null : f(x)]));
      return f(v);
    };
    const metricLists = (v: unknown) => {
      if (v === null || v === undefined) return undefined;
      // Keras writes a list of lists (one per output) for multi-output models.
      if (Array.isArray(v) && v.some(Array.isArray))
        return Object.fromEntries(
          v.map((list, i) => [outputNames[i], each(list, (x) => lossOrMetricFromKeras3(x, "metric", custom))]),
        );
      return each(v, (x) => lossOrMetricFromKeras3(x, "metric", custom));
    };
    return {
      optimizer: optimizerFromKeras3(c.optimizer ?? "rmsprop"),
      loss: each(c.loss, (x) => lossOrMetricFromKeras3(x, "loss", custom)),
      loss_weights: c.loss_weights ?? undefined,
      metrics: metricLists(c.metrics),
      weighted_metrics: metricLists(c.weighted_metrics),
    };
  } catch (e) {
    const message = e instanceof KerasError ? e.message : (e as Error).message;
    throw new KerasError(
      fn,
      `cannot compile the model as the file says (${message}); load it with \`compile = FALSE\` and compile it yourself`,
      "io",
    );
  }
}
