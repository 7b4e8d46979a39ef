/** `initializer_*()` constructors (R names), returning plain initializer specs. */
import { initializerSpec, type InitializerSpec } from "../ops/initializers.js";

type Seed = { seed?: number | null };
export const initializer_zeros = (): InitializerSpec => initializerSpec("zeros");
export const initializer_ones = (): InitializerSpec => initializerSpec("ones");
export const initializer_constant = (args: { value?: number } = {}): InitializerSpec => initializerSpec("constant", { value: args.value ?? 0 });
export const initializer_random_normal = (args: { mean?: number; stddev?: number } & Seed = {}) => initializerSpec("random_normal", args);
export const initializer_random_uniform = (args: { minval?: number; maxval?: number } & Seed = {}) => initializerSpec("random_uniform", args);
export const initializer_truncated_normal = (args: { mean?: number; stddev?: number } & Seed = {}) => initializerSpec("truncated_normal", args);
export const initializer_variance_scaling = (args: { scale?: number; mode?: "fan_in" | "fan_out" | "fan_avg"; distribution?: "truncated_normal" | "untruncated_normal" | "uniform" } & Seed = {}) =>
  initializerSpec("variance_scaling", args);
export const initializer_glorot_uniform = (args: Seed = {}) => initializerSpec("glorot_uniform", args);
export const initializer_glorot_normal = (args: Seed = {}) => initializerSpec("glorot_normal", args);
export const initializer_he_uniform = (args: Seed = {}) => initializerSpec("he_uniform", args);
export const initializer_he_normal = (args: Seed = {}) => initializerSpec("he_normal", args);
export const initializer_lecun_uniform = (args: Seed = {}) => initializerSpec("lecun_uniform", args);
export const initializer_lecun_normal = (args: Seed = {}) => initializerSpec("lecun_normal", args);
export const initializer_orthogonal = (args: { gain?: number } & Seed = {}) => initializerSpec("orthogonal", args);
export const initializer_identity = (args: { gain?: number } = {}) => initializerSpec("identity", args);
