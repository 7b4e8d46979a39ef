/**
 * Keras initializers, computed on typed arrays (PERF_NOTES: tfjs's orthogonal is very slow on cpu).
 * A spec is plain data `{ class_name, config }` (Keras config JSON); `initialize` draws values.
 */
import { Rng } from "./random.js";
import { DRAW_KINDS } from "./random_draws.js";
import { orthonormalScaled } from "./gram_schmidt.js";
import {
  Int,
  Nullable,
  Num,
  NonNegativeNum,
  OneOf,
  PositiveNum,
  checkArgs,
  isPlainRecord,
  type ArgsOf,
  type Props,
} from "../args.js";
import { ArgumentError, callUser, describeValue } from "../errors.js";
import { tf } from "../backend/tf.js";

export interface InitializerSpec {
  readonly class_name: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** A user function `(shape) => values`, for custom initializers. */
  readonly fn?: (shape: number[]) => ArrayLike<number>;
}

const INITIALIZER_CLASS_BY_NAME = {
  zeros: "Zeros",
  ones: "Ones",
  constant: "Constant",
  random_normal: "RandomNormal",
  random_uniform: "RandomUniform",
  truncated_normal: "TruncatedNormal",
  variance_scaling: "VarianceScaling",
  glorot_uniform: "GlorotUniform",
  glorot_normal: "GlorotNormal",
  he_uniform: "HeUniform",
  he_normal: "HeNormal",
  lecun_uniform: "LecunUniform",
  lecun_normal: "LecunNormal",
  orthogonal: "Orthogonal",
  identity: "Identity",
  // Keras's short aliases (Embedding's default "uniform" is RandomUniform(-0.05, 0.05)).
  uniform: "RandomUniform",
  normal: "RandomNormal",
};
const SNAKE_TO_CLASS: Readonly<Record<string, string>> = INITIALIZER_CLASS_BY_NAME;
/** The Keras initializers by (snake_case) name. */
export type InitializerName = keyof typeof INITIALIZER_CLASS_BY_NAME;
/**
 * What an initializer argument takes: a name, an initializer_*() value, a Keras `{ class_name, config }`
 * record, or a function of the weight's shape returning its values (row-major).
 */
export type InitializerInput =
  | InitializerName
  | InitializerSpec
  | { readonly class_name: string; readonly config?: Readonly<Record<string, unknown>> }
  | ((shape: number[]) => ArrayLike<number>);
export const INITIALIZER_NAMES = Object.freeze(Object.keys(SNAKE_TO_CLASS));

const SEED = { seed: Nullable(Int) };
/**
 * Each class's arguments (Keras config keys = R argument names) and defaults: what initializer_*()
 * decodes and what a `{ class_name, config }` record is checked against.
 */
const CLASSES = {
  Zeros: { props: {}, defaults: {} },
  Ones: { props: {}, defaults: {} },
  Constant: { props: { value: Num }, defaults: { value: 0 } },
  RandomNormal: {
    props: { mean: Num, stddev: NonNegativeNum, ...SEED },
    defaults: { mean: 0, stddev: 0.05, seed: null },
  },
  RandomUniform: {
    props: { minval: Num, maxval: Num, ...SEED },
    defaults: { minval: -0.05, maxval: 0.05, seed: null },
  },
  TruncatedNormal: {
    props: { mean: Num, stddev: NonNegativeNum, ...SEED },
    defaults: { mean: 0, stddev: 0.05, seed: null },
  },
  VarianceScaling: {
    props: {
      scale: PositiveNum,
      mode: OneOf("fan_in", "fan_out", "fan_avg"),
      distribution: OneOf("truncated_normal", "untruncated_normal", "uniform", "normal"),
      ...SEED,
    },
    defaults: { scale: 1, mode: "fan_in", distribution: "truncated_normal", seed: null },
  },
  GlorotUniform: { props: SEED, defaults: { seed: null } },
  GlorotNormal: { props: SEED, defaults: { seed: null } },
  HeUniform: { props: SEED, defaults: { seed: null } },
  HeNormal: { props: SEED, defaults: { seed: null } },
  LecunUniform: { props: SEED, defaults: { seed: null } },
  LecunNormal: { props: SEED, defaults: { seed: null } },
  Orthogonal: { props: { gain: Num, ...SEED }, defaults: { gain: 1, seed: null } },
  Identity: { props: { gain: Num }, defaults: { gain: 1 } },
} satisfies Readonly<Record<string, { props: Props; defaults: Record<string, unknown> }>>;
export const INITIALIZER_CLASSES: Readonly<Record<string, { props: Props; defaults: Record<string, unknown> }>> =
  CLASSES;
/** An initializer's Keras class name. */
export type InitializerClass = keyof typeof CLASSES;
/** The arguments of the initializer of class `K`, derived from its codecs. */
export type InitializerArgs<K extends InitializerClass> = ArgsOf<(typeof CLASSES)[K]["props"]>;

const classOf = (name: string): string | undefined =>
  Object.hasOwn(SNAKE_TO_CLASS, name)
    ? SNAKE_TO_CLASS[name]
    : Object.hasOwn(INITIALIZER_CLASSES, name)
      ? name
      : undefined;

/** A spec from a class name or snake_case name plus config overrides (trusted: already decoded). */
export function initializerSpec(name: string, config: Record<string, unknown> = {}): InitializerSpec {
  const cls = classOf(name);
  if (!cls) throw new Error(`internal: unknown initializer ${name}`);
  return Object.freeze({
    class_name: cls,
    config: Object.freeze({ ...INITIALIZER_CLASSES[cls].defaults, ...config }),
  });
}

/** A user initializer, checked when it draws: it must return `prod(shape)` numbers. */
function customInitializer(f: (shape: number[]) => unknown, arg: string): InitializerSpec {
  const what = `\`${arg}\` (a function of the shape)`;
  const fn = (shape: number[]): ArrayLike<number> => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = callUser(what, () => f([...shape]));
    const values = v instanceof tf.Tensor ? v.dataSync() : v;
    const numeric =
      (Array.isArray(values) && values.every((x) => typeof x === "number")) ||
      (ArrayBuffer.isView(values) && !(values instanceof BigInt64Array || values instanceof BigUint64Array));
    if (!numeric || (values as ArrayLike<number>).length !== n)
      throw new ArgumentError(
        `${what} must return ${n} numbers for shape [${shape.join(", ")}], got ${describeValue(values)}`,
      );
    return values as ArrayLike<number>;
  };
  const spec = Object.freeze({ class_name: "Custom", config: Object.freeze({ name: f.name || "custom" }), fn });
  customSpecs.add(spec);
  return spec;
}

/** The custom specs made here (a `{ class_name: "Custom", fn }` record from elsewhere is not one). */
const customSpecs = new WeakSet<object>();

/**
 * Resolves what a user gave as initializer argument `arg` (a snake or class name, an initializer_*()
 * value, a Keras `{ class_name, config }` record, or a function): the spec, a problem (text completing
 * "`arg` ..."), or undefined when it is not an initializer at all.
 */
export function resolveInitializer(v: unknown, arg = "initializer"): InitializerSpec | string | undefined {
  if (typeof v === "string") {
    const cls = classOf(v);
    return cls ? initializerSpec(cls) : undefined;
  }
  if (typeof v === "function") return customInitializer(v as (shape: number[]) => unknown, arg);
  if (!isPlainRecord(v) || typeof v.class_name !== "string") return undefined;
  if (customSpecs.has(v)) return v as unknown as InitializerSpec;
  const cls = classOf(v.class_name);
  if (!cls)
    return `names an unknown initializer class ${JSON.stringify(v.class_name)} (known: ${Object.keys(INITIALIZER_CLASSES).join(", ")})`;
  const r = checkArgs(INITIALIZER_CLASSES[cls].props, withoutDefaultFanAxes(cls, v.config), {});
  if (r.problems) return `is not a valid ${cls} initializer: ${r.problems.join("; ")}`;
  return initializerSpec(cls, r.value);
}

/** The variance-scaling classes (their fans come from the weight's shape). */
const VARIANCE_SCALING = new Set([
  "VarianceScaling",
  "GlorotUniform",
  "GlorotNormal",
  "HeUniform",
  "HeNormal",
  "LecunUniform",
  "LecunNormal",
]);

/**
 * A config record without Keras 3.15's `input_axes` / `output_axes` of the variance-scaling classes when
 * they hold their default (null: the fans of Keras's compute_fans, the only ones computed here); another
 * value stays and is refused as an unknown argument.
 */
function withoutDefaultFanAxes(cls: string, config: unknown): unknown {
  if (!VARIANCE_SCALING.has(cls) || !isPlainRecord(config)) return config ?? {};
  return Object.fromEntries(
    Object.entries(config).filter(([k, x]) => !((k === "input_axes" || k === "output_axes") && x === null)),
  );
}

/** Why `spec` cannot draw a weight of `shape` (Keras's build-time checks), or null. */
export function initializerProblem(spec: InitializerSpec, shape: readonly number[]): string | null {
  if (spec.class_name === "Orthogonal" && shape.length < 2)
    return `the Orthogonal initializer needs a weight of rank 2 or more, got shape [${shape.join(", ")}]`;
  if (spec.class_name === "Identity" && shape.length !== 2)
    return `the Identity initializer needs a 2-D weight, got shape [${shape.join(", ")}]`;
  return null;
}

/** Keras `compute_fans`. */
export function computeFans(shape: readonly number[]): [number, number] {
  if (shape.length < 1) return [1, 1];
  if (shape.length === 1) return [shape[0], shape[0]];
  if (shape.length === 2) return [shape[0], shape[1]];
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [shape[shape.length - 2] * receptive, shape[shape.length - 1] * receptive];
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** QR-based orthogonal matrix as Keras: QR of a normal (max, min) matrix, Q signed by diag(R). */
function orthogonal(shape: readonly number[], gain: number, rng: Rng): Float32Array {
  if (shape.length < 2) throw new Error("the orthogonal initializer needs a shape of rank >= 2");
  const rows = size(shape.slice(0, -1));
  const cols = shape[shape.length - 1];
  const m = Math.max(rows, cols);
  const n = Math.min(rows, cols);
  // a: m x n column-major in float64; modified Gram–Schmidt gives Q with R's diagonal positive,
  // which equals numpy's q * sign(diag(r)).
  // Q is (rows x cols) when rows >= cols; else Q is (cols x rows) and the weight is its transpose.
  return orthonormalScaled(rng.normalColumns(m, n), m, n, gain, rows >= cols);
}

/** Draws the initial values of a weight of `shape` (row-major float32). */
export function initialize(spec: InitializerSpec, shape: readonly number[]): Float32Array {
  const n = size(shape);
  const c = spec.config as Record<string, any>;
  if (spec.fn) return Float32Array.from(spec.fn([...shape]));
  const rng = new Rng(c.seed ?? undefined);
  const [fanIn, fanOut] = computeFans(shape);
  const variance = (scale: number, mode: string, distribution: string) => {
    const fan = mode === "fan_in" ? fanIn : mode === "fan_out" ? fanOut : (fanIn + fanOut) / 2;
    const s = scale / Math.max(1, fan);
    if (distribution === "uniform") return rng.floats(DRAW_KINDS.symmetricUniform, n, 0, Math.sqrt(3 * s));
    if (distribution === "untruncated_normal") return rng.floats(DRAW_KINDS.scaledNormal, n, 0, Math.sqrt(s));
    // truncated_normal / normal: stddev corrected for truncation at 2 sigma (Keras constant)
    return rng.floats(DRAW_KINDS.truncatedNormal, n, 0, Math.sqrt(s) / 0.87962566103423978);
  };
  switch (spec.class_name) {
    case "Zeros":
      return new Float32Array(n);
    case "Ones":
      return new Float32Array(n).fill(1);
    case "Constant":
      return new Float32Array(n).fill(Number(c.value));
    case "RandomNormal":
      return rng.floats(DRAW_KINDS.normal, n, c.mean, c.stddev);
    case "RandomUniform":
      return rng.floats(DRAW_KINDS.uniform, n, c.minval, c.maxval - c.minval);
    case "TruncatedNormal":
      return rng.floats(DRAW_KINDS.truncatedNormal, n, c.mean, c.stddev);
    case "VarianceScaling":
      return variance(c.scale, c.mode, c.distribution);
    case "GlorotUniform":
      return variance(1, "fan_avg", "uniform");
    case "GlorotNormal":
      return variance(1, "fan_avg", "truncated_normal");
    case "HeUniform":
      return variance(2, "fan_in", "uniform");
    case "HeNormal":
      return variance(2, "fan_in", "truncated_normal");
    case "LecunUniform":
      return variance(1, "fan_in", "uniform");
    case "LecunNormal":
      return variance(1, "fan_in", "truncated_normal");
    case "Orthogonal":
      return orthogonal(shape, c.gain ?? 1, rng);
    case "Identity": {
      if (shape.length !== 2) throw new Error("the identity initializer needs a 2-D shape");
      const out = new Float32Array(n);
      for (let i = 0; i < Math.min(shape[0], shape[1]); i++) out[i * shape[1] + i] = c.gain ?? 1;
      return out;
    }
    default:
      throw new Error(`unknown initializer ${spec.class_name}`);
  }
}
