/** The builders of the modules in src/ops/prebuilt_wasm.ts, by name (scripts/prebuilt_wasm.ts and its test). */
import { drawsModuleBytes } from "../../src/ops/random_draws.js";
import { gramSchmidtModuleBytes } from "../../src/ops/gram_schmidt.js";
import { matvecModuleBytes } from "../../src/engine/training/one_step_simd.js";

export const PREBUILT_WASM_BUILDERS = {
  draws: drawsModuleBytes,
  gramSchmidt: gramSchmidtModuleBytes,
  matvec: matvecModuleBytes,
} as const;
