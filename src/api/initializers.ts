/** `initializer_*()` constructors (R names), returning plain initializer specs; arguments validated. */
import { initializerSpec, type InitializerSpec } from "../ops/initializers.js";
import { Int, Nullable, Num, NonNegativeNum, OneOf, PositiveNum, decodeArgs, type Props } from "../args.js";

const SEED = { seed: Nullable(Int) };

/** An initializer constructor: validates its arguments against `props`, fills Keras's defaults. */
function initializer<A extends Record<string, unknown>>(name: string, props: Props, defaults: Record<string, unknown>) {
  return (args: A = {} as A): InitializerSpec =>
    initializerSpec(name, decodeArgs(`initializer_${name}`, props, args, defaults));
}

type Seed = { seed?: number | null };
export const initializer_zeros = initializer<Record<string, never>>("zeros", {}, {});
export const initializer_ones = initializer<Record<string, never>>("ones", {}, {});
export const initializer_constant = initializer<{ value?: number }>("constant", { value: Num }, { value: 0 });
export const initializer_random_normal = initializer<{ mean?: number; stddev?: number } & Seed>(
  "random_normal",
  { mean: Num, stddev: NonNegativeNum, ...SEED },
  { mean: 0, stddev: 0.05, seed: null },
);
export const initializer_random_uniform = initializer<{ minval?: number; maxval?: number } & Seed>(
  "random_uniform",
  { minval: Num, maxval: Num, ...SEED },
  { minval: -0.05, maxval: 0.05, seed: null },
);
export const initializer_truncated_normal = initializer<{ mean?: number; stddev?: number } & Seed>(
  "truncated_normal",
  { mean: Num, stddev: NonNegativeNum, ...SEED },
  { mean: 0, stddev: 0.05, seed: null },
);
export const initializer_variance_scaling = initializer<
  {
    scale?: number;
    mode?: "fan_in" | "fan_out" | "fan_avg";
    distribution?: "truncated_normal" | "untruncated_normal" | "uniform";
  } & Seed
>(
  "variance_scaling",
  {
    scale: PositiveNum,
    mode: OneOf("fan_in", "fan_out", "fan_avg"),
    distribution: OneOf("truncated_normal", "untruncated_normal", "uniform", "normal"),
    ...SEED,
  },
  { scale: 1, mode: "fan_in", distribution: "truncated_normal", seed: null },
);
export const initializer_glorot_uniform = initializer<Seed>("glorot_uniform", SEED, { seed: null });
export const initializer_glorot_normal = initializer<Seed>("glorot_normal", SEED, { seed: null });
export const initializer_he_uniform = initializer<Seed>("he_uniform", SEED, { seed: null });
export const initializer_he_normal = initializer<Seed>("he_normal", SEED, { seed: null });
export const initializer_lecun_uniform = initializer<Seed>("lecun_uniform", SEED, { seed: null });
export const initializer_lecun_normal = initializer<Seed>("lecun_normal", SEED, { seed: null });
export const initializer_orthogonal = initializer<{ gain?: number } & Seed>(
  "orthogonal",
  { gain: Num, ...SEED },
  { gain: 1, seed: null },
);
export const initializer_identity = initializer<{ gain?: number }>("identity", { gain: Num }, { gain: 1 });
