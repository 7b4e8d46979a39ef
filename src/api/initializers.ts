/** `initializer_*()` constructors (R names), returning plain initializer specs; arguments validated. */
import { INITIALIZER_CLASSES, initializerSpec, type InitializerSpec } from "../ops/initializers.js";
import { decodeArgs } from "../args.js";

/** An initializer constructor: decodes its arguments with its class's codecs (ops/initializers.ts). */
function initializer<A extends Record<string, unknown>>(name: string) {
  const { props, defaults } = INITIALIZER_CLASSES[initializerSpec(name).class_name];
  return (args: A = {} as A): InitializerSpec =>
    initializerSpec(name, decodeArgs(`initializer_${name}`, props, args, defaults));
}

type Seed = { seed?: number | null };
export const initializer_zeros = initializer<Record<string, never>>("zeros");
export const initializer_ones = initializer<Record<string, never>>("ones");
export const initializer_constant = initializer<{ value?: number }>("constant");
export const initializer_random_normal = initializer<{ mean?: number; stddev?: number } & Seed>("random_normal");
export const initializer_random_uniform = initializer<{ minval?: number; maxval?: number } & Seed>("random_uniform");
export const initializer_truncated_normal = initializer<{ mean?: number; stddev?: number } & Seed>("truncated_normal");
export const initializer_variance_scaling = initializer<
  {
    scale?: number;
    mode?: "fan_in" | "fan_out" | "fan_avg";
    distribution?: "truncated_normal" | "untruncated_normal" | "uniform";
  } & Seed
>("variance_scaling");
export const initializer_glorot_uniform = initializer<Seed>("glorot_uniform");
export const initializer_glorot_normal = initializer<Seed>("glorot_normal");
export const initializer_he_uniform = initializer<Seed>("he_uniform");
export const initializer_he_normal = initializer<Seed>("he_normal");
export const initializer_lecun_uniform = initializer<Seed>("lecun_uniform");
export const initializer_lecun_normal = initializer<Seed>("lecun_normal");
export const initializer_orthogonal = initializer<{ gain?: number } & Seed>("orthogonal");
export const initializer_identity = initializer<{ gain?: number }>("identity");
