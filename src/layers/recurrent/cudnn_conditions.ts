/**
 * The cuDNN conditions (KERAS_FACTS): the configurations for which Keras would use its fused cuDNN
 * kernel. `use_cudnn = TRUE` with a configuration outside them is an error, as in Keras 3.
 */
import * as t from "io-ts";
import { KerasError } from "../../errors.js";
import { described } from "../../args.js";

export type UseCudnn = "auto" | boolean;
export const USE_CUDNN_PROP = described(t.union([t.literal("auto"), t.boolean]), '"auto", TRUE or FALSE');

interface CudnnRelevant {
  activation: { name: string };
  recurrent_activation: { name: string };
  recurrent_dropout: number;
  unroll: boolean;
  use_bias: boolean;
  reset_after?: boolean;
  use_cudnn: UseCudnn;
}

/** The cuDNN conditions that `c` breaks (empty when the configuration is cuDNN-compatible). */
export function cudnnViolations(c: CudnnRelevant, kind: "gru" | "lstm"): string[] {
  const out: string[] = [];
  if (c.activation.name !== "tanh") out.push(`activation must be "tanh" (is "${c.activation.name}")`);
  if (c.recurrent_activation.name !== "sigmoid")
    out.push(`recurrent_activation must be "sigmoid" (is "${c.recurrent_activation.name}")`);
  if (c.recurrent_dropout !== 0) out.push("recurrent_dropout must be 0");
  if (c.unroll) out.push("unroll must be FALSE");
  if (!c.use_bias) out.push("use_bias must be TRUE");
  if (kind === "gru" && !c.reset_after) out.push("reset_after must be TRUE");
  return out;
}

export function checkUseCudnn<C extends CudnnRelevant>(fn: string, c: C, kind: "gru" | "lstm"): C {
  if (c.use_cudnn !== true) return c;
  const v = cudnnViolations(c, kind);
  if (v.length)
    throw new KerasError(
      fn,
      `use_cudnn = TRUE, but this configuration cannot use the cuDNN kernel: ${v.join("; ")}. Use use_cudnn = "auto" (the default) or FALSE`,
    );
  return c;
}
