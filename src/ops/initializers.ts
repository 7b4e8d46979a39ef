/**
 * Keras initializers, computed on typed arrays (PERF_NOTES: tfjs's orthogonal is very slow on cpu).
 * A spec is plain data `{ class_name, config }` (Keras config JSON); `initialize` draws values.
 */
import { Rng } from "./random.js";

export interface InitializerSpec {
  readonly class_name: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** A user function `(shape) => values`, for custom initializers. */
  readonly fn?: (shape: number[]) => ArrayLike<number>;
}

const SNAKE_TO_CLASS: Record<string, string> = {
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
export const INITIALIZER_NAMES = Object.freeze(Object.keys(SNAKE_TO_CLASS));
const CLASS_NAMES = new Set(Object.values(SNAKE_TO_CLASS));

const DEFAULTS: Record<string, Record<string, unknown>> = {
  Zeros: {},
  Ones: {},
  Constant: { value: 0 },
  RandomNormal: { mean: 0, stddev: 0.05, seed: null },
  RandomUniform: { minval: -0.05, maxval: 0.05, seed: null },
  TruncatedNormal: { mean: 0, stddev: 0.05, seed: null },
  VarianceScaling: { scale: 1, mode: "fan_in", distribution: "truncated_normal", seed: null },
  GlorotUniform: { seed: null },
  GlorotNormal: { seed: null },
  HeUniform: { seed: null },
  HeNormal: { seed: null },
  LecunUniform: { seed: null },
  LecunNormal: { seed: null },
  Orthogonal: { gain: 1, seed: null },
  Identity: { gain: 1 },
};

/** Builds a spec from a class name or snake_case name plus config overrides. */
export function initializerSpec(name: string, config: Record<string, unknown> = {}): InitializerSpec {
  const cls = SNAKE_TO_CLASS[name] ?? name;
  if (!CLASS_NAMES.has(cls)) throw new Error(`unknown initializer ${name}`);
  return Object.freeze({ class_name: cls, config: Object.freeze({ ...DEFAULTS[cls], ...config }) });
}

/** Resolves a user value (snake name, class name, spec, `{class_name, config}` or function). */
export function resolveInitializer(v: unknown): InitializerSpec | undefined {
  if (typeof v === "string") {
    const cls = SNAKE_TO_CLASS[v] ?? (CLASS_NAMES.has(v) ? v : undefined);
    return cls ? initializerSpec(cls) : undefined;
  }
  if (typeof v === "function") {
    return Object.freeze({
      class_name: "Custom",
      config: Object.freeze({ name: v.name || "custom" }),
      fn: v as InitializerSpec["fn"],
    });
  }
  if (v && typeof v === "object" && typeof (v as InitializerSpec).class_name === "string") {
    const s = v as InitializerSpec;
    if (s.fn) return s;
    if (!CLASS_NAMES.has(s.class_name)) return undefined;
    return initializerSpec(s.class_name, (s.config ?? {}) as Record<string, unknown>);
  }
  return undefined;
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

function truncatedNormal(rng: Rng, n: number, mean: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let z: number;
    do z = rng.normal();
    while (Math.abs(z) > 2);
    out[i] = mean + std * z;
  }
  return out;
}

/** QR-based orthogonal matrix as Keras: QR of a normal (max, min) matrix, Q signed by diag(R). */
function orthogonal(shape: readonly number[], gain: number, rng: Rng): Float32Array {
  if (shape.length < 2) throw new Error("the orthogonal initializer needs a shape of rank >= 2");
  const rows = size(shape.slice(0, -1));
  const cols = shape[shape.length - 1];
  const m = Math.max(rows, cols);
  const n = Math.min(rows, cols);
  // a: m x n column-major in float64; modified Gram–Schmidt gives Q with R's diagonal positive,
  // which equals numpy's q * sign(diag(r)).
  const a = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a[j * m + i] = rng.normal();
  for (let j = 0; j < n; j++) {
    const cj = j * m;
    for (let k = 0; k < j; k++) {
      const ck = k * m;
      let dot = 0;
      for (let i = 0; i < m; i++) dot += a[ck + i] * a[cj + i];
      for (let i = 0; i < m; i++) a[cj + i] -= dot * a[ck + i];
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += a[cj + i] * a[cj + i];
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < m; i++) a[cj + i] /= norm;
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      // rows >= cols: Q is (rows x cols); else Q is (cols x rows) and we take its transpose.
      out[r * cols + c] = gain * (rows >= cols ? a[c * m + r] : a[r * m + c]);
    }
  return out;
}

/** Draws the initial values of a weight of `shape` (row-major float32). */
export function initialize(spec: InitializerSpec, shape: readonly number[]): Float32Array {
  const n = size(shape);
  const c = spec.config as Record<string, any>;
  if (spec.fn) {
    const v = spec.fn([...shape]);
    if (v.length !== n)
      throw new Error(`custom initializer returned ${v.length} values for shape [${shape.join(", ")}] (${n} expected)`);
    return Float32Array.from(v);
  }
  const rng = new Rng(c.seed ?? undefined);
  const [fanIn, fanOut] = computeFans(shape);
  const variance = (scale: number, mode: string, distribution: string) => {
    const fan = mode === "fan_in" ? fanIn : mode === "fan_out" ? fanOut : (fanIn + fanOut) / 2;
    const s = scale / Math.max(1, fan);
    if (distribution === "uniform") {
      const limit = Math.sqrt(3 * s);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = (rng.uniform() * 2 - 1) * limit;
      return out;
    }
    if (distribution === "untruncated_normal") {
      const std = Math.sqrt(s);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = std * rng.normal();
      return out;
    }
    // truncated_normal / normal: stddev corrected for truncation at 2 sigma (Keras constant)
    return truncatedNormal(rng, n, 0, Math.sqrt(s) / 0.87962566103423978);
  };
  switch (spec.class_name) {
    case "Zeros":
      return new Float32Array(n);
    case "Ones":
      return new Float32Array(n).fill(1);
    case "Constant":
      return new Float32Array(n).fill(Number(c.value));
    case "RandomNormal": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = c.mean + c.stddev * rng.normal();
      return out;
    }
    case "RandomUniform": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = c.minval + (c.maxval - c.minval) * rng.uniform();
      return out;
    }
    case "TruncatedNormal":
      return truncatedNormal(rng, n, c.mean, c.stddev);
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
