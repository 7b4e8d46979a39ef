import * as t from "io-ts";
import { decodeArgs, described, refuseArgumentsPast } from "../args.js";
import { DRAW_KINDS, drawFloats, drawNormalColumns, type DrawKind } from "./random_draws.js";

/** An Rng's state as plain data (JSON-safe). */
export interface RngState {
  readonly s: readonly number[];
  readonly spare: number | null;
}

/**
 * A small seeded PRNG (xoshiro128**) with normal draws, used for initializers on typed arrays. Without a
 * seed it takes one from the global stream (`drawSeed`).
 */
export class Rng {
  private s: Uint32Array;
  private spare: number | undefined;
  constructor(seed?: number | null) {
    let x = (seed ?? drawSeed()) >>> 0;
    const next = () => {
      // splitmix32 to spread the seed
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s = new Uint32Array([next(), next(), next(), next()]);
  }
  /** The generator's state as plain numbers (what `fromState` resumes from). */
  state(): RngState {
    return { s: Array.from(this.s), spare: this.spare ?? null };
  }
  /** A generator continuing from `state`. */
  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    rng.s = Uint32Array.from(state.s);
    rng.spare = state.spare ?? undefined;
    return rng;
  }
  /** Uniform in [0, 1). */
  uniform(): number {
    const s = this.s;
    const result = Math.imul(((Math.imul(s[1], 5) << 7) | (Math.imul(s[1], 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ((s[3] << 11) | (s[3] >>> 21)) >>> 0;
    return result / 4294967296;
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /**
   * n float32 values of `kind` (random_draws.ts DRAW_KINDS: b·z, a + b·z, a + b·z truncated at |z| ≤ 2,
   * a + b·u, (u·2 − 1)·b, from normal() draws z or uniform() draws u), the generator moving on as those
   * draws would move it: in WebAssembly where it runs, else `floatsInJavaScript` (the same bits).
   */
  floats(kind: DrawKind, n: number, a: number, b: number): Float32Array {
    const state = { s: this.s, spare: this.spare };
    const out = drawFloats(state, kind, n, a, b);
    this.spare = state.spare;
    return out ?? this.floatsInJavaScript(kind, n, a, b);
  }
  /** `floats` as scalar JavaScript on uniform() / normal(). */
  floatsInJavaScript(kind: DrawKind, n: number, a: number, b: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (kind === DRAW_KINDS.scaledNormal) out[i] = b * this.normal();
      else if (kind === DRAW_KINDS.normal) out[i] = a + b * this.normal();
      else if (kind === DRAW_KINDS.truncatedNormal) {
        let z: number;
        do z = this.normal();
        while (Math.abs(z) > 2);
        out[i] = a + b * z;
      } else if (kind === DRAW_KINDS.uniform) out[i] = a + b * this.uniform();
      else out[i] = (this.uniform() * 2 - 1) * b;
    }
    return out;
  }
  /** m·n normal() draws, drawn row by row and stored column-major (m values per column), as `floats` runs. */
  normalColumns(m: number, n: number): Float64Array {
    const state = { s: this.s, spare: this.spare };
    const out = drawNormalColumns(state, m, n);
    this.spare = state.spare;
    if (out) return out;
    const a = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a[j * m + i] = this.normal();
    return a;
  }
}

// ---------------------------------------------------------------------------------------------
// The global seed: set_random_seed() starts one seeded stream; every unseeded random draw of the
// package (initializers, dropout and noise masks, fit's shuffling, datasets' shuffles) takes its seed
// from it, so a script that calls set_random_seed() prints the same numbers on every run.

let globalStream: Rng | null = null;

/** The state of set_random_seed()'s stream (null when it was never called: draws are then not reproducible). */
export function globalRandomState(): RngState | null {
  return globalStream ? globalStream.state() : null;
}

/** Continues set_random_seed()'s stream from a saved state (a training backup); null leaves it as it is. */
export function restoreGlobalRandomState(state: RngState | null): void {
  if (state) globalStream = Rng.fromState(state);
}

/** A seed for one unseeded random draw: the next number of set_random_seed()'s stream, else a fresh random one. */
export function drawSeed(): number {
  return globalStream ? Math.floor(globalStream.uniform() * 2 ** 32) : Math.floor(Math.random() * 2 ** 32);
}

const Seed = described(
  t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32),
  "an integer in [0, 2^32)",
);

/**
 * `set_random_seed(seed)`: makes every later random draw reproducible — weight initializers, dropout and
 * noise masks, fit's shuffling, the shuffles of `timeseries_dataset_from_array()` /
 * `timeseries_generator()` without a seed of their own. Layers and initializers given their own `seed`
 * keep it. Calling it again with the same seed restarts the same sequence.
 *
 * @example
 * ```ts
 * set_random_seed(42);
 * const model = pipe(keras_model_sequential({ input_shape: [4] }), layer_dense({ units: 1 }));
 * // get_weights(model) is the same on every run
 * ```
 */
export function set_random_seed(seed: number): void {
  refuseArgumentsPast("set_random_seed", ["seed"], arguments);
  const a = decodeArgs("set_random_seed", { seed: Seed }, { seed }, {}, ["seed"]);
  globalStream = new Rng(a.seed);
}

/** A random permutation of 0..n-1 (Fisher–Yates); without `rng`, seeded from the global stream. */
export function permutation(n: number, rng: Rng = new Rng()): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

// ---------------------------------------------------------------------------------------------

/**
 * numpy's legacy `np.random.RandomState(seed)` (Mersenne Twister MT19937, seeded by `init_genrand`) with
 * its `shuffle`: Keras's dataset loaders shuffle with it, and matching it gives the same sample order.
 */
export class NumpyRandomState {
  private readonly mt = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) mt[i] = (Math.imul(1812433253, mt[i - 1] ^ (mt[i - 1] >>> 30)) + i) >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < 624; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7fffffff);
      mt[i] = mt[(i + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  /** `genrand_int32`: the next 32 random bits. */
  nextUint32(): number {
    if (this.index >= 624) this.twist();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** numpy's `random_interval(max)`: uniform in 0..max by masking and rejection (max < 2^32). */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do value = (this.nextUint32() & mask) >>> 0;
    while (value > max);
    return value;
  }

  /** `RandomState.shuffle` of a 1-D array, in place (Fisher–Yates from the end, as numpy does). */
  shuffle<T extends { length: number; [i: number]: any }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.interval(i);
      const v = a[i];
      a[i] = a[j];
      a[j] = v;
    }
    return a;
  }
}
