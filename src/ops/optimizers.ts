/**
 * Optimizers with Keras 3's update rules and defaults (tfjs's differ: e.g. Adam epsilon 1e-8 there,
 * 1e-7 here). `optimizer_*()` returns a frozen spec; `OptimizerRuntime` holds its slot variables on
 * the device and applies one update to a model's variables.
 */
import { tf, type Tensor } from "../backend/tf.js";
import { KerasError, describeValue } from "../errors.js";
import {
  Bool,
  Nullable,
  NonNegativeNum,
  Num,
  PositiveNum,
  Rate,
  Str,
  decodeArgs,
  described,
  type Props,
  refusingUnused,
} from "../args.js";
import * as t from "io-ts";
import { isSchedule, type LearningRateSchedule } from "./schedules.js";
import { applyConstraint, type ConstraintSpec } from "./constraints.js";
import { hostMemory, type HostMemory } from "../backend/host_memory.js";
import { adamSimd } from "./adam_wasm.js";

export const OPTIMIZER_BRAND = Symbol.for("tskeras.optimizer");

export interface OptimizerSpec {
  readonly [OPTIMIZER_BRAND]: true;
  /** Keras class name, e.g. "Adam". */
  readonly class_name: string;
  /** Decoded arguments (R names), learning_rate a number or a schedule. */
  readonly config: Readonly<Record<string, any>>;
}

export function isOptimizer(x: unknown): x is OptimizerSpec {
  return x !== null && typeof x === "object" && (x as any)[OPTIMIZER_BRAND] === true;
}

/** Per-step scalars handed to an update rule (computed on the host in float64). */
interface StepInfo {
  /** 1-based step number of this update (Keras's `iterations + 1`). */
  readonly step: number;
  readonly lr: number;
  readonly c: Readonly<Record<string, any>>;
  /** Optimizer-wide host values (Nadam's running product of momentum factors). */
  readonly globals: Readonly<Record<string, number>>;
}

export interface SlotSpec {
  readonly name: string;
  readonly init: number;
  readonly shape?: readonly number[];
  /** Keras keeps this slot as an integer variable (saved as int32). */
  readonly integer?: boolean;
}

interface UpdateRule {
  readonly className: string;
  readonly fn: string;
  readonly props: Props;
  readonly defaults: Record<string, unknown>;
  /**
   * Slot names and their initial value (a constant) for a variable of shape `shape`; a slot's own shape
   * when it differs from the variable's (Adafactor's factored row and column averages).
   */
  readonly slots: (c: Record<string, any>, shape: readonly number[]) => readonly SlotSpec[];
  /** New variable value and new slot values. Runs inside tf.tidy. */
  readonly update: (
    g: Tensor,
    v: Tensor,
    slots: readonly Tensor[],
    s: StepInfo,
  ) => { variable: Tensor; slots: Tensor[] };
  /**
   * The same update element by element on the backend's own float32 memory, in place (`v`, `slots`),
   * with the tensor rule's arithmetic: every operation of `update` rounded to float32 (Math.fround) in
   * its order, scalars rounded as tfjs rounds them. Rules without it always take `update`.
   */
  readonly updateInPlace?: (g: Float32Array, v: Float32Array, slots: readonly Float32Array[], s: StepInfo) => void;
  /** Optimizer-wide host state advanced once per step, before the variable updates. */
  readonly advanceGlobals?: (
    globals: Record<string, number>,
    step: number,
    c: Record<string, any>,
  ) => Record<string, number>;
  readonly initialGlobals?: Record<string, number>;
  readonly validate?: (c: Record<string, any>) => void;
}

const LearningRate = described(
  new t.Type<number | LearningRateSchedule, unknown, unknown>(
    "LearningRate",
    (u): u is number | LearningRateSchedule => (typeof u === "number" && u >= 0 && Number.isFinite(u)) || isSchedule(u),
    (u, c) =>
      (typeof u === "number" && u >= 0 && Number.isFinite(u)) || isSchedule(u)
        ? t.success(u as number | LearningRateSchedule)
        : t.failure(u, c),
    t.identity,
  ),
  "a non-negative number or a learning_rate_schedule_*() value",
);

const Beta = Rate;
const NullablePositive = Nullable(PositiveNum);
const NonPositiveNum = described(
  t.refinement(t.number, (n) => Number.isFinite(n) && n <= 0),
  "a number <= 0",
);

/** Arguments every Keras 3 optimizer takes. */
const COMMON_PROPS: Props = {
  learning_rate: LearningRate,
  weight_decay: Nullable(NonNegativeNum),
  clipnorm: NullablePositive,
  clipvalue: NullablePositive,
  global_clipnorm: NullablePositive,
  name: Str,
};
const COMMON_DEFAULTS = { weight_decay: null, clipnorm: null, clipvalue: null, global_clipnorm: null };

const { add, sub, mul, div, sqrt, square } = tf;
const f32 = Math.fround;
/** Root mean square of a whole tensor. */
const rms = (x: Tensor) => sqrt(tf.mean(square(x)));
/** Adam's moving averages of g and g² (Adam, AdamW, Nadam, Lamb): m += (g - m)(1 - beta_1), v likewise. */
const moments = (g: Tensor, m: Tensor, v: Tensor, c: Readonly<Record<string, any>>) => [
  add(m, mul(sub(g, m), 1 - c.beta_1)),
  add(v, mul(sub(square(g), v), 1 - c.beta_2)),
];

const RULES: Record<string, UpdateRule> = {
  sgd: {
    className: "SGD",
    fn: "optimizer_sgd",
    props: { momentum: NonNegativeNum, nesterov: Bool },
    defaults: { learning_rate: 0.01, momentum: 0, nesterov: false },
    slots: (c) => (c.momentum > 0 ? [{ name: "momentum", init: 0 }] : []),
    update: (g, v, [m], { lr, c }) => {
      if (!(c.momentum > 0)) return { variable: sub(v, mul(lr, g)), slots: [] };
      const m1 = sub(mul(c.momentum, m), mul(lr, g));
      const step = c.nesterov ? sub(mul(c.momentum, m1), mul(lr, g)) : m1;
      return { variable: add(v, step), slots: [m1] };
    },
    updateInPlace: (g, v, [m], { lr, c }) => {
      const rate = f32(lr);
      if (!(c.momentum > 0)) {
        for (let i = 0; i < v.length; i++) v[i] = f32(v[i] - f32(rate * g[i]));
        return;
      }
      const momentum = f32(c.momentum);
      for (let i = 0; i < v.length; i++) {
        const scaled = f32(rate * g[i]);
        const m1 = f32(f32(momentum * m[i]) - scaled);
        m[i] = m1;
        v[i] = f32(v[i] + (c.nesterov ? f32(f32(momentum * m1) - scaled) : m1));
      }
    },
    validate: (c) => {
      if (c.momentum > 1)
        throw new KerasError("optimizer_sgd", `\`momentum\` must be between 0 and 1, got ${c.momentum}`);
    },
  },
  rmsprop: {
    className: "RMSprop",
    fn: "optimizer_rmsprop",
    props: { rho: Beta, momentum: NonNegativeNum, epsilon: PositiveNum, centered: Bool },
    defaults: { learning_rate: 0.001, rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false },
    slots: (c) => [
      { name: "velocity", init: 0 },
      ...(c.momentum > 0 ? [{ name: "momentum", init: 0 }] : []),
      ...(c.centered ? [{ name: "average_gradient", init: 0 }] : []),
    ],
    update: (g, v, slots, { lr, c }) => {
      const velocity = add(mul(c.rho, slots[0]), mul(1 - c.rho, square(g)));
      const out: Tensor[] = [velocity];
      let denominator: Tensor;
      let avg: Tensor | undefined;
      if (c.centered) {
        avg = add(mul(c.rho, slots[slots.length - 1]), mul(1 - c.rho, g));
        denominator = add(sub(velocity, square(avg)), c.epsilon);
      } else denominator = add(velocity, c.epsilon);
      const increment = div(mul(lr, g), sqrt(denominator));
      let variable: Tensor;
      if (c.momentum > 0) {
        const mom = add(mul(c.momentum, slots[1]), increment);
        out.push(mom);
        variable = sub(v, mom);
      } else variable = sub(v, increment);
      if (avg) out.push(avg);
      return { variable, slots: out };
    },
    updateInPlace: (g, v, slots, { lr, c }) => {
      const [rho, rest, epsilon, rate, momentum] = [c.rho, 1 - c.rho, c.epsilon, lr, c.momentum].map(f32);
      const velocity = slots[0];
      const mom = c.momentum > 0 ? slots[1] : null;
      const avg = c.centered ? slots[slots.length - 1] : null;
      for (let i = 0; i < v.length; i++) {
        const gi = g[i];
        const vel = f32(f32(rho * velocity[i]) + f32(rest * f32(gi * gi)));
        velocity[i] = vel;
        let denominator: number;
        if (avg) {
          const a = f32(f32(rho * avg[i]) + f32(rest * gi));
          avg[i] = a;
          denominator = f32(f32(vel - f32(a * a)) + epsilon);
        } else denominator = f32(vel + epsilon);
        const increment = f32(f32(rate * gi) / f32(Math.sqrt(denominator)));
        if (mom) {
          const m1 = f32(f32(momentum * mom[i]) + increment);
          mom[i] = m1;
          v[i] = f32(v[i] - m1);
        } else v[i] = f32(v[i] - increment);
      }
    },
  },
  adam: {
    className: "Adam",
    fn: "optimizer_adam",
    props: { beta_1: Beta, beta_2: Beta, epsilon: PositiveNum, amsgrad: Bool },
    defaults: { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false },
    slots: (c) => [
      { name: "momentum", init: 0 },
      { name: "velocity", init: 0 },
      ...(c.amsgrad ? [{ name: "velocity_hat", init: 0 }] : []),
    ],
    update: (g, v, slots, s) => adamUpdate(g, v, slots, s),
    updateInPlace: adamInPlace,
  },
  adamw: {
    className: "AdamW",
    fn: "optimizer_adamw",
    props: { beta_1: Beta, beta_2: Beta, epsilon: PositiveNum, amsgrad: Bool },
    defaults: { learning_rate: 0.001, weight_decay: 0.004, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false },
    slots: (c) => [
      { name: "momentum", init: 0 },
      { name: "velocity", init: 0 },
      ...(c.amsgrad ? [{ name: "velocity_hat", init: 0 }] : []),
    ],
    update: (g, v, slots, s) => adamUpdate(g, v, slots, s),
    updateInPlace: adamInPlace,
    validate: (c) => {
      if (c.weight_decay === null)
        throw new KerasError("optimizer_adamw", "`weight_decay` must be a number for AdamW, got null");
    },
  },
  adagrad: {
    className: "Adagrad",
    fn: "optimizer_adagrad",
    props: { initial_accumulator_value: NonNegativeNum, epsilon: PositiveNum },
    defaults: { learning_rate: 0.001, initial_accumulator_value: 0.1, epsilon: 1e-7 },
    slots: (c) => [{ name: "accumulator", init: c.initial_accumulator_value }],
    update: (g, v, [acc], { lr, c }) => {
      const a = add(acc, square(g));
      return { variable: sub(v, div(mul(lr, g), sqrt(add(a, c.epsilon)))), slots: [a] };
    },
  },
  adadelta: {
    className: "Adadelta",
    fn: "optimizer_adadelta",
    props: { rho: Beta, epsilon: PositiveNum },
    defaults: { learning_rate: 0.001, rho: 0.95, epsilon: 1e-7 },
    slots: () => [
      { name: "accumulated_grad", init: 0 },
      { name: "accumulated_delta_var", init: 0 },
    ],
    update: (g, v, [accGrad, accDelta], { lr, c }) => {
      const rms = (x: Tensor) => sqrt(add(x, c.epsilon));
      const ag = add(mul(c.rho, accGrad), mul(1 - c.rho, square(g)));
      const delta = div(mul(tf.neg(rms(accDelta)), g), rms(ag));
      const ad = add(mul(c.rho, accDelta), mul(1 - c.rho, square(delta)));
      return { variable: add(v, mul(lr, delta)), slots: [ag, ad] };
    },
  },
  adamax: {
    className: "Adamax",
    fn: "optimizer_adamax",
    props: { beta_1: Beta, beta_2: Beta, epsilon: PositiveNum },
    defaults: { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 },
    slots: () => [
      { name: "m", init: 0 },
      { name: "u", init: 0 },
    ],
    update: (g, v, [m, u], { lr, c, step }) => {
      const m1 = add(m, mul(sub(g, m), 1 - c.beta_1));
      const u1 = tf.maximum(mul(c.beta_2, u), tf.abs(g));
      const scale = lr / (1 - Math.pow(c.beta_1, step));
      return { variable: sub(v, div(mul(scale, m1), add(u1, c.epsilon))), slots: [m1, u1] };
    },
  },
  nadam: {
    className: "Nadam",
    fn: "optimizer_nadam",
    props: { beta_1: Beta, beta_2: Beta, epsilon: PositiveNum },
    defaults: { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 },
    slots: () => [
      { name: "momentum", init: 0 },
      { name: "velocity", init: 0 },
    ],
    initialGlobals: { u_product: 1 },
    advanceGlobals: (gl, step, c) => ({ u_product: gl.u_product * c.beta_1 * (1 - 0.5 * Math.pow(0.96, step)) }),
    update: (g, v, [m, vel], { lr, c, step, globals }) => {
      const uT = c.beta_1 * (1 - 0.5 * Math.pow(0.96, step));
      const uT1 = c.beta_1 * (1 - 0.5 * Math.pow(0.96, step + 1));
      const uProduct = globals.u_product;
      const uProduct1 = uProduct * uT1;
      const [m1, v1] = moments(g, m, vel, c);
      const mHat = add(mul(uT1 / (1 - uProduct1), m1), mul((1 - uT) / (1 - uProduct), g));
      const vHat = div(v1, 1 - Math.pow(c.beta_2, step));
      return { variable: sub(v, div(mul(lr, mHat), add(sqrt(vHat), c.epsilon))), slots: [m1, v1] };
    },
  },
  lion: {
    className: "Lion",
    fn: "optimizer_lion",
    props: { beta_1: PositiveNum, beta_2: Beta },
    defaults: { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.99 },
    slots: () => [{ name: "momentum", init: 0 }],
    // v -= lr * sign(beta_1 m + (1 - beta_1) g); then m = beta_2 m + (1 - beta_2) g. Keras takes 1 - beta in
    // float32: the same constants keep the sign of a near-zero step the same.
    update: (g, v, [m], { lr, c }) => {
      const complement = (beta: number) => Math.fround(1 - Math.fround(beta));
      return {
        variable: sub(v, mul(lr, tf.sign(add(mul(m, c.beta_1), mul(g, complement(c.beta_1)))))),
        slots: [add(mul(m, c.beta_2), mul(g, complement(c.beta_2)))],
      };
    },
    validate: (c) => {
      if (c.beta_1 > 1)
        throw new KerasError(
          "optimizer_lion",
          `\`beta_1\` must be in (0, 1] (otherwise Lion degenerates to sign SGD), got ${c.beta_1}`,
        );
    },
  },
  lamb: {
    className: "Lamb",
    fn: "optimizer_lamb",
    props: { beta_1: Beta, beta_2: Beta, epsilon: PositiveNum },
    defaults: { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 },
    slots: () => [
      { name: "momentum", init: 0 },
      { name: "velocity", init: 0 },
    ],
    // Adam's bias-corrected step, scaled per weight by the trust ratio ||v|| / ||step|| (1 when either is 0).
    update: (g, v, [m, vel], { lr, c, step }) => {
      const [m1, v1] = moments(g, m, vel, c);
      const mHat = div(m1, 1 - Math.pow(c.beta_1, step));
      const update = div(mHat, add(sqrt(div(v1, 1 - Math.pow(c.beta_2, step))), c.epsilon));
      const wNorm = sqrt(tf.sum(square(v)));
      const uNorm = sqrt(tf.sum(square(update)));
      const one = tf.scalar(1);
      const ratio = tf.where(tf.greater(wNorm, 0), tf.where(tf.greater(uNorm, 0), div(wNorm, uNorm), one), one);
      return { variable: sub(v, mul(mul(ratio, lr), update)), slots: [m1, v1] };
    },
  },
  ftrl: {
    className: "Ftrl",
    fn: "optimizer_ftrl",
    props: {
      learning_rate_power: NonPositiveNum,
      initial_accumulator_value: NonNegativeNum,
      l1_regularization_strength: NonNegativeNum,
      l2_regularization_strength: NonNegativeNum,
      l2_shrinkage_regularization_strength: NonNegativeNum,
      beta: Num,
    },
    defaults: {
      learning_rate: 0.001,
      learning_rate_power: -0.5,
      initial_accumulator_value: 0.1,
      l1_regularization_strength: 0,
      l2_regularization_strength: 0,
      l2_shrinkage_regularization_strength: 0,
      beta: 0,
    },
    slots: (c) => [
      { name: "accumulator", init: c.initial_accumulator_value },
      { name: "linear", init: 0 },
    ],
    // Keras 3 (follow-the-regularized-leader, McMahan et al. 2013).
    update: (g, v, [accum, linear], { lr, c }) => {
      const power = -c.learning_rate_power;
      const l2 = c.l2_regularization_strength + c.beta / (2 * lr);
      const gradToUse = add(g, mul(2 * c.l2_shrinkage_regularization_strength, v));
      const newAccum = add(accum, square(g));
      const sigma = div(sub(tf.pow(newAccum, power), tf.pow(accum, power)), lr);
      const linear1 = add(linear, sub(gradToUse, mul(sigma, v)));
      const quadratic = add(div(tf.pow(newAccum, power), lr), 2 * l2);
      const l1 = c.l1_regularization_strength;
      const clipped = tf.clipByValue(linear1, -l1, l1);
      return { variable: div(sub(clipped, linear1), quadratic), slots: [newAccum, linear1] };
    },
  },
  adafactor: {
    className: "Adafactor",
    fn: "optimizer_adafactor",
    props: {
      beta_2_decay: Num,
      epsilon_1: PositiveNum,
      epsilon_2: PositiveNum,
      clip_threshold: PositiveNum,
      relative_step: Bool,
    },
    defaults: {
      learning_rate: 0.001,
      beta_2_decay: -0.8,
      epsilon_1: 1e-30,
      epsilon_2: 1e-3,
      clip_threshold: 1,
      relative_step: true,
    },
    // Weights of rank >= 2 keep row (r) and column (c) averages of the squared gradient and rebuild the
    // second moment from them; the others keep it whole, and r and c are unused scalars (Keras saves them).
    slots: (_c, shape) => [
      shape.length >= 2
        ? { name: "r", init: 0, shape: shape.slice(0, -1) }
        : { name: "r", init: 0, shape: [], integer: true },
      shape.length >= 2
        ? { name: "c", init: 0, shape: [...shape.slice(0, -2), shape[shape.length - 1]] }
        : { name: "c", init: 0, shape: [], integer: true },
      { name: "velocity", init: 0 },
    ],
    // Keras 3: rho = min(lr, 1 / sqrt(t)) (`relative_step` changes nothing more there), alpha = max(eps_2,
    // rms(v)) * rho, beta_2 = 1 - t^beta_2_decay, update clipped to rms <= clip_threshold.
    update: (g, v, slots, { lr, c, step }) => {
      const rho = Math.min(lr, 1 / Math.sqrt(step));
      const alpha = mul(tf.maximum(rms(v), c.epsilon_2), rho);
      const squared = add(square(g), c.epsilon_1);
      const beta2 = 1 - Math.pow(step, c.beta_2_decay);
      const decay = (old: Tensor, fresh: Tensor) => add(mul(beta2, old), mul(1 - beta2, fresh));
      let out: Tensor[];
      if (v.rank >= 2) {
        const r = decay(slots[0], tf.mean(squared, -1));
        const col = decay(slots[1], tf.mean(squared, -2));
        const velocity = mul(tf.expandDims(div(r, tf.mean(r, -1, true)), -1), tf.expandDims(col, -2));
        out = [r, col, velocity];
      } else out = [slots[0], slots[1], decay(slots[2], squared)];
      const u = div(g, sqrt(out[out.length - 1]));
      const uHat = div(u, tf.maximum(div(rms(u), c.clip_threshold), 1));
      return { variable: sub(v, mul(alpha, uHat)), slots: out };
    },
  },
};

/** Adam / AdamW (Keras 3): alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t); v -= alpha * m / (sqrt(v) + eps). */
function adamUpdate(g: Tensor, v: Tensor, slots: readonly Tensor[], { lr, c, step }: StepInfo) {
  const alpha = (lr * Math.sqrt(1 - Math.pow(c.beta_2, step))) / (1 - Math.pow(c.beta_1, step));
  const [m, v1] = moments(g, slots[0], slots[1], c);
  let vel = v1;
  const out = [m, vel];
  if (c.amsgrad) {
    vel = tf.maximum(slots[2], vel);
    out.push(vel);
  }
  return { variable: sub(v, div(mul(alpha, m), add(sqrt(vel), c.epsilon))), slots: out };
}

/** adamUpdate on float32 memory in place (each value read once: ~20% faster than reading m[i] twice). */
function adamInPlace(g: Float32Array, v: Float32Array, slots: readonly Float32Array[], { lr, c, step }: StepInfo) {
  const alpha = f32((lr * Math.sqrt(1 - Math.pow(c.beta_2, step))) / (1 - Math.pow(c.beta_1, step)));
  const [rest1, rest2, epsilon] = [1 - c.beta_1, 1 - c.beta_2, c.epsilon].map(f32);
  const [m, vel] = slots;
  const velHat = slots.length > 2 ? slots[2] : null;
  const done = velHat === null ? adamSimd(g, v, m, vel, alpha, rest1, rest2, epsilon) : 0;
  if (done) updatePaths.simd++;
  for (let i = done; i < v.length; i++) {
    const gi = g[i];
    const mi = m[i];
    const vi = vel[i];
    const m1 = f32(mi + f32(f32(gi - mi) * rest1));
    let v1 = f32(vi + f32(f32(f32(gi * gi) - vi) * rest2));
    m[i] = m1;
    vel[i] = v1;
    if (velHat !== null) velHat[i] = v1 = Math.max(velHat[i], v1);
    v[i] = f32(v[i] - f32(f32(alpha * m1) / f32(f32(Math.sqrt(v1)) + epsilon)));
  }
}

export const OPTIMIZER_NAMES = Object.keys(RULES);

/** The optimizer_*() of a Keras class name ("Adam" → optimizer_adam), for reading Keras's configs. */
export function optimizerFunctionOf(
  className: string,
): ((args?: Record<string, unknown>) => OptimizerSpec) | undefined {
  const key = Object.keys(RULES).find((k) => RULES[k].className === className);
  return key ? (args) => makeOptimizer(key, args) : undefined;
}

/** The slots the optimizer keeps for a weight of shape `shape`, in its update rule's order. */
export const slotSpecs = (spec: OptimizerSpec, shape: readonly number[]): readonly SlotSpec[] =>
  ruleOf(spec).slots(spec.config, shape);

function ruleOf(spec: OptimizerSpec): UpdateRule {
  const r = Object.values(RULES).find((x) => x.className === spec.class_name);
  if (!r) throw new KerasError("compile", `unknown optimizer class ${spec.class_name}`);
  return r;
}

/** The public `optimizer_<key>(args)`. */
const optimizerFunction = (key: string) =>
  refusingUnused(RULES[key].fn, ["args"], (args?: OptArgs) => makeOptimizer(key, args));

function makeOptimizer(key: string, args: unknown): OptimizerSpec {
  const rule = RULES[key];
  const c = decodeArgs(rule.fn, { ...COMMON_PROPS, ...rule.props }, args, {
    ...COMMON_DEFAULTS,
    name: rule.className.toLowerCase(),
    ...rule.defaults,
  });
  const clips = ["clipnorm", "clipvalue", "global_clipnorm"].filter((k) => c[k] !== null);
  if (clips.length > 1)
    throw new KerasError(
      rule.fn,
      `give only one of \`clipnorm\`, \`clipvalue\` and \`global_clipnorm\`, got ${clips.map((k) => `\`${k}\``).join(" and ")}`,
    );
  rule.validate?.(c);
  return Object.freeze({ [OPTIMIZER_BRAND]: true as const, class_name: rule.className, config: Object.freeze(c) });
}

type OptArgs = Record<string, unknown>;
/**
 * SGD: `v -= lr * g`; with momentum `m = momentum * m - lr * g; v += m` (nesterov: `v += momentum * m - lr * g`).
 *
 * @example
 * compile(model, { optimizer: optimizer_sgd({ learning_rate: 0.01, momentum: 0.9 }), loss: "mse" });
 */
export const optimizer_sgd = optimizerFunction("sgd");
/**
 * RMSprop (rho 0.9, epsilon 1e-7 inside the square root, optional momentum and centering).
 *
 * @example
 * compile(model, { optimizer: optimizer_rmsprop(), loss: "mse" });
 */
export const optimizer_rmsprop = optimizerFunction("rmsprop");
/**
 * Adam (Keras 3 form, epsilon 1e-7, optional amsgrad).
 *
 * @example
 * compile(model, { optimizer: optimizer_adam({ learning_rate: 1e-3 }), loss: "mse" });
 */
export const optimizer_adam = optimizerFunction("adam");
/**
 * AdamW: Adam with decoupled weight decay (`v -= v * weight_decay * lr` before the update; default 0.004).
 *
 * @example
 * compile(model, { optimizer: optimizer_adamw({ weight_decay: 0.004 }), loss: "mse" });
 */
export const optimizer_adamw = optimizerFunction("adamw");
/**
 * Adagrad (initial accumulator 0.1).
 *
 * @example
 * compile(model, { optimizer: optimizer_adagrad(), loss: "mse" });
 */
export const optimizer_adagrad = optimizerFunction("adagrad");
/**
 * Adadelta (rho 0.95, learning_rate 0.001 as in Keras 3).
 *
 * @example
 * compile(model, { optimizer: optimizer_adadelta(), loss: "mse" });
 */
export const optimizer_adadelta = optimizerFunction("adadelta");
/**
 * Adamax (infinity-norm Adam).
 *
 * @example
 * compile(model, { optimizer: optimizer_adamax(), loss: "mse" });
 */
export const optimizer_adamax = optimizerFunction("adamax");
/**
 * Nadam (Keras 3's momentum-schedule form with decay 0.96).
 *
 * @example
 * compile(model, { optimizer: optimizer_nadam(), loss: "mse" });
 */
export const optimizer_nadam = optimizerFunction("nadam");
/**
 * Lion (Keras 3; Chen et al. 2023): steps of size `learning_rate` in the sign of an interpolated
 * momentum. Defaults: learning_rate = 0.001, beta_1 = 0.9, beta_2 = 0.99. Use a learning rate 3-10 times
 * smaller than Adam's.
 *
 * @example
 * compile(model, { optimizer: optimizer_lion({ learning_rate: 1e-4 }), loss: "mse" });
 */
export const optimizer_lion = optimizerFunction("lion");
/**
 * LAMB (Keras 3; You et al. 2019): Adam's step rescaled per weight by the trust ratio ||w|| / ||step||.
 * Defaults: learning_rate = 0.001, beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7.
 *
 * @example
 * compile(model, { optimizer: optimizer_lamb({ learning_rate: 0.01 }), loss: "mse" });
 */
export const optimizer_lamb = optimizerFunction("lamb");
/**
 * FTRL-proximal (Keras 3). Defaults: learning_rate = 0.001, learning_rate_power = -0.5,
 * initial_accumulator_value = 0.1, l1_regularization_strength = 0, l2_regularization_strength = 0,
 * l2_shrinkage_regularization_strength = 0, beta = 0.
 *
 * @example
 * compile(model, { optimizer: optimizer_ftrl({ learning_rate: 0.1, l1_regularization_strength: 0.01 }), loss: "mse" });
 */
export const optimizer_ftrl = optimizerFunction("ftrl");
/**
 * Adafactor (Keras 3; Shazeer & Stern 2018): factored second moments for weights of rank >= 2, step
 * size min(learning_rate, 1 / sqrt(t)) relative to the weights' RMS. Defaults: learning_rate = 0.001,
 * beta_2_decay = -0.8, epsilon_1 = 1e-30, epsilon_2 = 1e-3, clip_threshold = 1, relative_step = TRUE.
 *
 * @example
 * compile(model, { optimizer: optimizer_adafactor({ learning_rate: 0.01 }), loss: "mse" });
 */
export const optimizer_adafactor = optimizerFunction("adafactor");

/** An optimizer by name ("adam", "sgd", ...) or an optimizer_*() value; undefined when not one. */
export function resolveOptimizer(fn: string, v: unknown): OptimizerSpec {
  if (isOptimizer(v)) return v;
  if (typeof v === "string") {
    const key = v.toLowerCase();
    if (Object.hasOwn(RULES, key)) return makeOptimizer(key, {});
    throw new KerasError(
      fn,
      `\`optimizer\` "${v}" is not known; use one of ${OPTIMIZER_NAMES.map((n) => `"${n}"`).join(", ")} or an optimizer_*() value`,
    );
  }
  throw new KerasError(
    fn,
    `\`optimizer\` must be an optimizer name (${OPTIMIZER_NAMES.join(", ")}) or an optimizer_*() value, got ${describeValue(v)}`,
  );
}

// ---------------------------------------------------------------------------------------------
// The device side

/**
 * The key of one model weight's optimizer slots: `"<layerIndex>/<weightIndex>"`, where layerIndex is the
 * layer's index in `model.layers` and weightIndex the weight's index in that layer's weight list in
 * `get_weights` order (a wrapper's list includes its sublayers' weights; non-trainable weights count).
 * Names cannot be keys: Bidirectional's forward and backward weights, and the cells of a stack, share
 * their names, and Keras gives every weight its own slots.
 */
export function slotKey(layerIndex: number, weightIndex: number): string {
  return `${layerIndex}/${weightIndex}`;
}

/**
 * Plain-data optimizer state, stored on the trained model value as `model.compiled.optimizerState`
 * (the .keras / .h5 savers read and write it).
 */
export interface OptimizerStateValue {
  readonly class_name: string;
  readonly iterations: number;
  /** Current learning rate when it is a number (callbacks may have changed it). */
  readonly learning_rate: number | null;
  readonly globals: Readonly<Record<string, number>>;
  /**
   * Slot values (Adam's momentum and velocity, ...) in the rule's slot order, keyed by `slotKey()`:
   * `"<layerIndex>/<weightIndex>"` (index in `model.layers` / index in that layer's `get_weights` list).
   * Only trainable weights that have been updated have an entry.
   */
  readonly slots: Readonly<
    Record<
      string,
      readonly { readonly name: string; readonly shape: readonly number[]; readonly values: Float32Array }[]
    >
  >;
}

/** One variable the optimizer updates: its own slots' key (`slotKey()` in training) and constraint. */
export interface OptimizedVariable {
  readonly key: string;
  readonly variable: tf.Variable;
  readonly constraint?: ConstraintSpec | null;
}

/** How many variable updates took each path since the process started (tests read the differences); simd: Adam in place in WebAssembly SIMD. */
export const updatePaths = { inPlace: 0, tensor: 0, simd: 0 };

export class OptimizerRuntime {
  readonly spec: OptimizerSpec;
  private readonly rule: UpdateRule;
  iterations: number;
  private learningRate: number | null;
  private globals: Record<string, number>;
  private readonly slots = new Map<string, { names: string[]; vars: tf.Variable[] }>();
  /** Tensor data this optimizer made (the dataIds of its own results): only these are updated in place. */
  private readonly owned = new WeakSet<object>();

  constructor(spec: OptimizerSpec, initial?: OptimizerStateValue | null) {
    this.spec = spec;
    this.rule = ruleOf(spec);
    const usable = initial && initial.class_name === spec.class_name ? initial : null;
    this.iterations = usable?.iterations ?? 0;
    const lr = spec.config.learning_rate;
    this.learningRate = isSchedule(lr) ? null : (usable?.learning_rate ?? lr);
    this.globals = { ...(this.rule.initialGlobals ?? {}), ...(usable?.globals ?? {}) };
    if (usable) {
      for (const [key, list] of Object.entries(usable.slots)) {
        this.slots.set(key, {
          names: list.map((s) => s.name),
          vars: list.map((s) => tf.tidy(() => tf.variable(tf.tensor(s.values, [...s.shape]), false))),
        });
      }
    }
  }

  /** The learning rate the next update uses. */
  currentLearningRate(): number {
    const lr = this.spec.config.learning_rate;
    return isSchedule(lr) ? lr.at(this.iterations) : this.learningRate!;
  }

  /** Sets the learning rate (callbacks); refused when it is a schedule, as in Keras. */
  setLearningRate(fn: string, value: number): void {
    if (isSchedule(this.spec.config.learning_rate)) {
      throw new KerasError(
        fn,
        "the optimizer's learning rate is a learning_rate_schedule_*(); it cannot also be set by a callback",
        "value",
      );
    }
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
      throw new KerasError(fn, `the learning rate must be a non-negative number, got ${describeValue(value)}`);
    this.learningRate = value;
  }

  private slotsFor(v: OptimizedVariable): tf.Variable[] {
    const wanted = this.rule.slots(this.spec.config, v.variable.shape);
    const shapeOf = (w: SlotSpec) => w.shape ?? v.variable.shape;
    const have = this.slots.get(v.key);
    const fits =
      have &&
      have.names.length === wanted.length &&
      have.vars.every(
        (s, i) =>
          have.names[i] === wanted[i].name &&
          s.shape.length === shapeOf(wanted[i]).length &&
          s.shape.every((d, j) => d === shapeOf(wanted[i])[j]),
      );
    if (fits) return have!.vars;
    if (have) have.vars.forEach((s) => s.dispose());
    const vars = wanted.map((w) => tf.tidy(() => tf.variable(tf.fill([...shapeOf(w)], w.init), false)));
    vars.forEach((s) => this.owned.add(s.dataId));
    this.slots.set(v.key, { names: wanted.map((w) => w.name), vars });
    return vars;
  }

  /**
   * One Keras optimizer step: clip, weight decay, update, constraints, iterations += 1. On the wasm and
   * cpu backends a rule with `updateInPlace` updates each variable and its slots in one pass over their
   * memory (a wasm variable's new value goes to new memory: HostMemory.rewritable) when nothing clips or
   * constrains, and when the optimizer made their data itself and nothing
   * else shares it (refCount 1): a variable still holding data it was made from (a model value's host
   * array on cpu, a saved optimizer state), or shared by a tf.clone, takes the tensor path, whose fresh
   * results the optimizer then owns.
   */
  apply(pairs: readonly { target: OptimizedVariable; grad: Tensor }[]): void {
    if (pairs.length === 0) return;
    const step = this.iterations + 1;
    const lr = this.currentLearningRate();
    const c = this.spec.config;
    if (this.rule.advanceGlobals) this.globals = this.rule.advanceGlobals(this.globals, step, c);
    const info: StepInfo = { step, lr, c, globals: this.globals };
    const slotLists = pairs.map((p) => this.slotsFor(p.target));
    const clips = c.clipnorm || c.global_clipnorm || c.clipvalue;
    const memory = this.rule.updateInPlace && !clips ? hostMemory() : null;
    const rest = pairs
      .map((_, i) => i)
      .filter((i) => !(memory && this.updatedInPlace(memory, pairs[i], slotLists[i], info)));
    if (rest.length)
      this.applyTensors(
        rest.map((i) => ({ ...pairs[i], slots: slotLists[i] })),
        info,
      );
    this.iterations = step;
  }

  /** The tensor rule (any backend, clipping, constraints). */
  private applyTensors(
    items: readonly { target: OptimizedVariable; grad: Tensor; slots: tf.Variable[] }[],
    info: StepInfo,
  ) {
    const { c, lr } = info;
    tf.tidy(() => {
      const grads = clipGradients(
        items.map((p) => p.grad),
        c,
      );
      items.forEach(({ target, slots }, i) => {
        let value: Tensor = target.variable;
        if (c.weight_decay) value = sub(value, mul(value, c.weight_decay * lr));
        const r = this.rule.update(grads[i], value, slots, info);
        // A rule may hand a slot back unchanged (Adafactor's unused r, c): a variable is not assigned to itself.
        r.slots.forEach((s, k) => {
          if (s === slots[k]) return;
          slots[k].assign(s);
          this.owned.add(slots[k].dataId);
        });
        target.variable.assign(target.constraint ? applyConstraint(target.constraint, r.variable) : r.variable);
        this.owned.add(target.variable.dataId);
      });
    });
    updatePaths.tensor += items.length;
  }

  /** Applies the in-place rule to one variable when it may (see `apply`); false when it did not. */
  private updatedInPlace(
    memory: HostMemory,
    { target, grad }: { target: OptimizedVariable; grad: Tensor },
    slots: readonly tf.Variable[],
    info: StepInfo,
  ): boolean {
    const v = target.variable;
    if (target.constraint || v.dtype !== "float32" || grad.dtype !== "float32") return false;
    if (![v, ...slots].every((t) => this.owned.has(t.dataId) && memory.refCount(t) === 1)) return false;
    if (![grad, ...slots].every((t) => memory.values(t))) return false;
    const next = memory.rewritable(v);
    if (!next) return false;
    const { values } = next;
    const g = memory.values(grad)!;
    const slotValues = slots.map((s) => memory.values(s)!);
    const decay = info.c.weight_decay ? f32(info.c.weight_decay * info.lr) : 0;
    if (decay) for (let i = 0; i < values.length; i++) values[i] = f32(values[i] - f32(values[i] * decay));
    this.rule.updateInPlace!(g, values, slotValues, info);
    if (next.tensor !== v) {
      v.assign(next.tensor);
      next.tensor.dispose();
      this.owned.add(v.dataId);
    }
    updatePaths.inPlace++;
    return true;
  }

  /** Replaces the state with `state` (a training backup being resumed); null starts afresh. */
  load(state: OptimizerStateValue | null): void {
    this.dispose();
    const fresh = new OptimizerRuntime(this.spec, state);
    this.iterations = fresh.iterations;
    this.learningRate = fresh.learningRate;
    this.globals = fresh.globals;
    for (const [key, slots] of fresh.slots) this.slots.set(key, slots);
  }

  /** Reads the state back as plain data. */
  snapshot(): OptimizerStateValue {
    const slots: Record<string, { name: string; shape: number[]; values: Float32Array }[]> = {};
    for (const [key, s] of this.slots)
      slots[key] = s.vars.map((v, i) => ({
        name: s.names[i],
        shape: [...v.shape],
        values: Float32Array.from(v.dataSync() as Float32Array),
      }));
    return Object.freeze({
      class_name: this.spec.class_name,
      iterations: this.iterations,
      learning_rate: this.learningRate,
      globals: Object.freeze({ ...this.globals }),
      slots: Object.freeze(slots),
    });
  }

  dispose(): void {
    for (const s of this.slots.values()) s.vars.forEach((v) => v.dispose());
    this.slots.clear();
  }
}

/** Keras 3 `_clip_gradients`: per-tensor norm, global norm, or value clipping. Inside tf.tidy. */
function clipGradients(grads: Tensor[], c: Readonly<Record<string, any>>): Tensor[] {
  const norm = (g: Tensor) => sqrt(tf.sum(square(g)));
  if (c.clipnorm) return grads.map((g) => mul(g, div(c.clipnorm, tf.maximum(norm(g), c.clipnorm))));
  if (c.global_clipnorm) {
    const global = sqrt(tf.addN(grads.map((g) => tf.sum(square(g)))));
    const scale = div(c.global_clipnorm, tf.maximum(global, c.global_clipnorm));
    return grads.map((g) => mul(g, scale));
  }
  if (c.clipvalue) return grads.map((g) => tf.clipByValue(g, -c.clipvalue, c.clipvalue));
  return grads;
}
