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

/** `initial_learning_rate * decay_rate ^ (step / decay_steps)` (floor of the exponent when `staircase`). */
export function learning_rate_schedule_exponential_decay(args: {
  initial_learning_rate: number;
  decay_steps: number;
  decay_rate: number;
  staircase?: boolean;
  name?: string;
}): LearningRateSchedule {
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

/** `initial_learning_rate / (1 + decay_rate * step / decay_steps)` (floor of the ratio when `staircase`). */
export function learning_rate_schedule_inverse_time_decay(args: {
  initial_learning_rate: number;
  decay_steps: number;
  decay_rate: number;
  staircase?: boolean;
  name?: string;
}): LearningRateSchedule {
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

/** `values[i]` for `boundaries[i-1] < step <= boundaries[i]` (values has one more element than boundaries). */
export function learning_rate_schedule_piecewise_constant_decay(args: {
  boundaries: number[];
  values: number[];
  name?: string;
}): LearningRateSchedule {
  const fn = "learning_rate_schedule_piecewise_constant_decay";
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
 */
export function learning_rate_schedule_cosine_decay(args: {
  initial_learning_rate: number;
  decay_steps: number;
  alpha?: number;
  name?: string;
  warmup_target?: number | null;
  warmup_steps?: number;
}): LearningRateSchedule {
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
