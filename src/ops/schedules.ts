/**
 * Learning-rate schedules (Keras 3 `keras.optimizers.schedules`): plain frozen values that map the
 * optimizer's step count (0 on the first update) to a learning rate.
 */
import * as t from "io-ts";
import { KerasError } from "../errors.js";
import {
  Bool,
  NonNegativeInt,
  NonNegativeNum,
  PositiveInt,
  PositiveNum,
  Str,
  decodeArgs,
  described,
  Nullable,
  refuseArgumentsPast,
} from "../args.js";

export const SCHEDULE_BRAND = Symbol.for("tskeras.lr_schedule");

export interface LearningRateSchedule {
  readonly [SCHEDULE_BRAND]: true;
  /** Keras class name, e.g. "ExponentialDecay". */
  readonly class_name: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** The learning rate at optimizer step `step` (0-based). */
  readonly at: (step: number) => number;
}

export function isSchedule(x: unknown): x is LearningRateSchedule {
  return x !== null && typeof x === "object" && (x as any)[SCHEDULE_BRAND] === true;
}

function makeSchedule(
  class_name: string,
  config: Record<string, unknown>,
  at: (step: number) => number,
): LearningRateSchedule {
  return Object.freeze({ [SCHEDULE_BRAND]: true as const, class_name, config: Object.freeze(config), at });
}

const Name = Str;

/**
 * `initial_learning_rate * decay_rate ^ (step / decay_steps)` (floor of the exponent when `staircase`).
 *
 * @example
 * optimizer_adam({ learning_rate: learning_rate_schedule_exponential_decay({ initial_learning_rate: 0.01, decay_steps: 100, decay_rate: 0.9 }) });
 */
export function learning_rate_schedule_exponential_decay(args: {
  initial_learning_rate: number;
  decay_steps: number;
  decay_rate: number;
  staircase?: boolean;
  name?: string;
}): LearningRateSchedule {
  refuseArgumentsPast("learning_rate_schedule_exponential_decay", ["args"], arguments);
  const a = decodeArgs(
    "learning_rate_schedule_exponential_decay",
    {
      initial_learning_rate: PositiveNum,
      decay_steps: PositiveInt,
      decay_rate: PositiveNum,
      staircase: Bool,
      name: Name,
    },
    args,
    { staircase: false, name: "ExponentialDecay" },
    ["initial_learning_rate", "decay_steps", "decay_rate"],
  );
  return makeSchedule("ExponentialDecay", a, (step) => {
    const p = step / a.decay_steps;
    return a.initial_learning_rate * Math.pow(a.decay_rate, a.staircase ? Math.floor(p) : p);
  });
}

/**
 * `initial_learning_rate / (1 + decay_rate * step / decay_steps)` (floor of the ratio when `staircase`).
 *
 * @example
 * optimizer_sgd({ learning_rate: learning_rate_schedule_inverse_time_decay({ initial_learning_rate: 0.1, decay_steps: 10, decay_rate: 0.5 }) });
 */
export function learning_rate_schedule_inverse_time_decay(args: {
  initial_learning_rate: number;
  decay_steps: number;
  decay_rate: number;
  staircase?: boolean;
  name?: string;
}): LearningRateSchedule {
  refuseArgumentsPast("learning_rate_schedule_inverse_time_decay", ["args"], arguments);
  const a = decodeArgs(
    "learning_rate_schedule_inverse_time_decay",
    {
      initial_learning_rate: PositiveNum,
      decay_steps: PositiveInt,
      decay_rate: NonNegativeNum,
      staircase: Bool,
      name: Name,
    },
    args,
    { staircase: false, name: "InverseTimeDecay" },
    ["initial_learning_rate", "decay_steps", "decay_rate"],
  );
  return makeSchedule("InverseTimeDecay", a, (step) => {
    const p = step / a.decay_steps;
    return a.initial_learning_rate / (1 + a.decay_rate * (a.staircase ? Math.floor(p) : p));
  });
}

/**
 * `values[i]` for `boundaries[i-1] < step <= boundaries[i]` (values has one more element than boundaries).
 *
 * @example
 * optimizer_sgd({ learning_rate: learning_rate_schedule_piecewise_constant_decay({ boundaries: [100, 200], values: [0.1, 0.01, 0.001] }) });
 */
export function learning_rate_schedule_piecewise_constant_decay(args: {
  boundaries: number[];
  values: number[];
  name?: string;
}): LearningRateSchedule {
  const fn = "learning_rate_schedule_piecewise_constant_decay";
  refuseArgumentsPast(fn, ["args"], arguments);
  const a = decodeArgs(
    fn,
    {
      boundaries: described(t.array(NonNegativeInt), "a vector of non-negative integers"),
      values: described(t.array(PositiveNum), "a vector of positive numbers"),
      name: Name,
    },
    args,
    { name: "PiecewiseConstant" },
    ["boundaries", "values"],
  );
  if (a.values.length !== a.boundaries.length + 1) {
    throw new KerasError(
      fn,
      `\`values\` must have one more element than \`boundaries\` (${a.boundaries.length + 1}), got ${a.values.length}`,
    );
  }
  if (a.boundaries.some((b: number, i: number) => i > 0 && b <= a.boundaries[i - 1]))
    throw new KerasError(fn, "`boundaries` must be increasing");
  return makeSchedule("PiecewiseConstantDecay", a, (step) => {
    const i = a.boundaries.findIndex((b: number) => step <= b);
    return a.values[i < 0 ? a.values.length - 1 : i];
  });
}

/**
 * Cosine decay (with optional linear warmup), Keras 3 form: after `warmup_steps`, over `decay_steps`,
 * `lr * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)` where lr is `warmup_target` when given.
 *
 * @example
 * optimizer_adam({ learning_rate: learning_rate_schedule_cosine_decay({ initial_learning_rate: 0.01, decay_steps: 1000 }) });
 */
export function learning_rate_schedule_cosine_decay(args: {
  initial_learning_rate: number;
  decay_steps: number;
  alpha?: number;
  name?: string;
  warmup_target?: number | null;
  warmup_steps?: number;
}): LearningRateSchedule {
  refuseArgumentsPast("learning_rate_schedule_cosine_decay", ["args"], arguments);
  const a = decodeArgs(
    "learning_rate_schedule_cosine_decay",
    {
      initial_learning_rate: NonNegativeNum,
      decay_steps: PositiveInt,
      alpha: NonNegativeNum,
      name: Name,
      warmup_target: Nullable(NonNegativeNum),
      warmup_steps: NonNegativeInt,
    },
    args,
    { alpha: 0, name: "CosineDecay", warmup_target: null, warmup_steps: 0 },
    ["initial_learning_rate", "decay_steps"],
  );
  return makeSchedule("CosineDecay", a, (step) => {
    const target = a.warmup_target ?? a.initial_learning_rate;
    if (a.warmup_target !== null && step < a.warmup_steps) {
      return a.initial_learning_rate + ((a.warmup_target - a.initial_learning_rate) * step) / a.warmup_steps;
    }
    const s = Math.min(step - (a.warmup_target !== null ? a.warmup_steps : 0), a.decay_steps);
    const cosine = 0.5 * (1 + Math.cos((Math.PI * s) / a.decay_steps));
    return target * ((1 - a.alpha) * cosine + a.alpha);
  });
}

/**
 * Polynomial decay (Keras 3 `PolynomialDecay`): from `initial_learning_rate` to `end_learning_rate`
 * (default 1e-4) over `decay_steps` as `(initial - end) * (1 - step / decay_steps)^power + end`
 * (power 1: linear), then constant; with `cycle = TRUE` the decay restarts, `decay_steps` growing to the
 * next multiple of itself above the step.
 *
 * @example
 * optimizer_sgd({ learning_rate: learning_rate_schedule_polynomial_decay({
 *   initial_learning_rate: 0.1, decay_steps: 1000, end_learning_rate: 0.001, power: 0.5 }) });
 */
export function learning_rate_schedule_polynomial_decay(args: {
  initial_learning_rate: number;
  decay_steps: number;
  end_learning_rate?: number;
  power?: number;
  cycle?: boolean;
  name?: string;
}): LearningRateSchedule {
  refuseArgumentsPast("learning_rate_schedule_polynomial_decay", ["args"], arguments);
  const a = decodeArgs(
    "learning_rate_schedule_polynomial_decay",
    {
      initial_learning_rate: NonNegativeNum,
      decay_steps: PositiveInt,
      end_learning_rate: NonNegativeNum,
      power: NonNegativeNum,
      cycle: Bool,
      name: Name,
    },
    args,
    { end_learning_rate: 0.0001, power: 1, cycle: false, name: "PolynomialDecay" },
    ["initial_learning_rate", "decay_steps"],
  );
  return makeSchedule("PolynomialDecay", a, (step) => {
    let decaySteps = a.decay_steps;
    let s = step;
    if (a.cycle) decaySteps *= step === 0 ? 1 : Math.ceil(step / a.decay_steps);
    else s = Math.min(step, decaySteps);
    return (
      (a.initial_learning_rate - a.end_learning_rate) * Math.pow(1 - s / decaySteps, a.power) + a.end_learning_rate
    );
  });
}

/**
 * Cosine decay with warm restarts (Keras 3 `CosineDecayRestarts`, SGDR): a cosine from
 * `initial_learning_rate` down to `alpha` times it over `first_decay_steps`, then again over a period
 * `t_mul` (default 2) times longer from a peak `m_mul` (default 1) times the previous one.
 *
 * @example
 * optimizer_adam({ learning_rate: learning_rate_schedule_cosine_decay_restarts({
 *   initial_learning_rate: 0.01, first_decay_steps: 100 }) });
 */
export function learning_rate_schedule_cosine_decay_restarts(args: {
  initial_learning_rate: number;
  first_decay_steps: number;
  t_mul?: number;
  m_mul?: number;
  alpha?: number;
  name?: string;
}): LearningRateSchedule {
  refuseArgumentsPast("learning_rate_schedule_cosine_decay_restarts", ["args"], arguments);
  const a = decodeArgs(
    "learning_rate_schedule_cosine_decay_restarts",
    {
      initial_learning_rate: NonNegativeNum,
      first_decay_steps: PositiveInt,
      t_mul: PositiveNum,
      m_mul: NonNegativeNum,
      alpha: NonNegativeNum,
      name: Name,
    },
    args,
    { t_mul: 2, m_mul: 1, alpha: 0, name: "SGDRDecay" },
    ["initial_learning_rate", "first_decay_steps"],
  );
  return makeSchedule("CosineDecayRestarts", a, (step) => {
    let fraction = step / a.first_decay_steps;
    let restart: number;
    if (a.t_mul === 1) {
      restart = Math.floor(fraction);
      fraction -= restart;
    } else {
      // Periods grow geometrically: restart i begins after (1 - t_mul^i) / (1 - t_mul) first periods.
      restart = Math.floor(Math.log(1 - fraction * (1 - a.t_mul)) / Math.log(a.t_mul));
      const before = (1 - Math.pow(a.t_mul, restart)) / (1 - a.t_mul);
      fraction = (fraction - before) / Math.pow(a.t_mul, restart);
    }
    const cosine = 0.5 * Math.pow(a.m_mul, restart) * (1 + Math.cos(Math.PI * fraction));
    return a.initial_learning_rate * ((1 - a.alpha) * cosine + a.alpha);
  });
}
