/**
 * Whether and how a recurrent layer call runs on the fused kernels: `fusedPlan()` is the one place that
 * decides. The layers' forward (rnn_layer.ts) runs what it says, and `rnn_fused_status()` reports it.
 *
 * `use_cudnn` (GRU / LSTM; Keras's switch for its fused cuDNN kernel) is read as the request for the fused
 * path: FALSE = the step-wise loop; "auto" = fused when it applies; TRUE = fused, or an error naming why
 * not when the reason is the layer's configuration or the call (a backend without fused kernels, such as
 * tensorflow, runs the step-wise loop of its native ops instead, and says so). At construction, TRUE
 * also requires Keras's cuDNN conditions (KERAS_FACTS), as Keras 3 does.
 */
import * as t from "io-ts";
import { tf } from "../../../backend/tf.js";
import { KerasError } from "../../../errors.js";
import { described } from "../../../args.js";
import { ACTIVATIONS, type Activation } from "../../../ops/activations.js";
import type { BiasLayout, FusedCellId } from "./cells/index.js";
import { missingEngineInternals } from "./driver.js";
import { memoryProblem } from "./mem.js";
import { FUSED_ACTIVATIONS, isFusedActivation, type FusedActivation } from "./lane_algebra.js";

// ---------------------------------------------------------------------------------------------
// use_cudnn

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

/** A layer's `validate`: use_cudnn = TRUE needs a cuDNN-compatible configuration. */
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

// ---------------------------------------------------------------------------------------------
// The plan

/** What a built-in cell tells the plan (RecurrentCell.fused; set by gru.ts, lstm.ts, simple_rnn.ts). */
export interface FusedCellSpec {
  readonly cell: FusedCellId;
  readonly activation: Activation;
  /** null for SimpleRNN (it has none). */
  readonly recurrentActivation: Activation | null;
  readonly biasLayout: BiasLayout;
  readonly dropout: number;
  readonly recurrentDropout: number;
}

/** How the fused kernels run a call (the arguments of `fusedRnn()` that come from the layer). */
export interface FusedRun {
  readonly cell: FusedCellId;
  readonly activation: FusedActivation;
  readonly recurrentActivation: FusedActivation;
  readonly biasLayout: BiasLayout;
}

export type FusedPlan =
  | { readonly path: "fused"; readonly reason: null; readonly run: FusedRun; readonly error: null }
  | {
      readonly path: "step-wise";
      /** Why not fused. */
      readonly reason: string;
      /** What the call raises instead of running (use_cudnn = TRUE refused), or null. */
      readonly error: string | null;
    };

let fusedKernelsEnabled = true;
/** Test hook: turn the fused path off (everything takes the step-wise loop) or back on. */
export function setFusedKernelsEnabled(enabled: boolean): void {
  fusedKernelsEnabled = enabled;
}
/** Whether the test hook above has the fused path on. */
export const fusedKernelsOn = (): boolean => fusedKernelsEnabled;

// Compare functions, not only names: a user's own function called "tanh" must take the loop.
export const isBuiltin = (a: Activation): boolean => ACTIVATIONS[a.name] === a.fn;

/** The name of a built-in activation the fused kernels implement, else null. */
const fusedActivationOf = (a: Activation): FusedActivation | null =>
  isBuiltin(a) && isFusedActivation(a.name) ? a.name : null;

const unfused = (arg: string, a: Activation): string =>
  `${arg} ${isBuiltin(a) ? `"${a.name}"` : "(a function of your own)"} has no fused implementation (fused: ${FUSED_ACTIVATIONS.join(", ")})`;

export interface PlanInput {
  /** The layer's cell (`RecurrentCell.fused`; undefined for custom and stacked cells). */
  readonly cell: { readonly fused?: FusedCellSpec };
  readonly useCudnn: UseCudnn;
  readonly training: boolean;
  /** The backend the call runs on (default: the current one). */
  readonly backend?: string;
  /**
   * FALSE: decide from the configuration and the call only, as the one-step predict path does (it runs
   * the cells' math itself, so whether this machine can run the kernels does not matter). Default TRUE.
   */
  readonly environment?: boolean;
}

/** Why the fused kernels cannot run on `backend` here, or null. */
function environmentProblem(backend: string): string | null {
  if (backend === "tensorflow")
    return "the tensorflow backend has no fused recurrent kernel here: the step-wise loop runs on TensorFlow's native ops";
  const engine = missingEngineInternals();
  return (
    memoryProblem(backend, backend === tf.getBackend() ? tf.backend() : tf.findBackend(backend)) ??
    (engine.length ? `the tfjs engine lacks what the fused kernels use (${engine.join(", ")})` : null)
  );
}

/** Whether and how a call runs on the fused kernels, and why not. */
export function fusedPlan(o: PlanInput): FusedPlan {
  const stepWise = (reason: string, refusesUseCudnn = false): FusedPlan => ({
    path: "step-wise",
    reason,
    error:
      refusesUseCudnn && o.useCudnn === true
        ? `use_cudnn = TRUE, but the fused kernel cannot run this call: ${reason}. Use use_cudnn = "auto" (the default) or FALSE`
        : null,
  });
  if (o.useCudnn === false) return stepWise("use_cudnn = FALSE");
  if (!fusedKernelsEnabled) return stepWise("the fused kernels are switched off");

  // the environment: no configuration makes these fused
  const environment = o.environment === false ? null : environmentProblem(o.backend ?? tf.getBackend());
  if (environment) return stepWise(environment);

  // the configuration and the call
  const spec = o.cell.fused;
  if (!spec) return stepWise("the cell is not a built-in GRU, LSTM or SimpleRNN cell", true);
  const activation = fusedActivationOf(spec.activation);
  if (!activation) return stepWise(unfused("activation", spec.activation), true);
  // SimpleRNN has no recurrent activation: its kernels ignore this one
  const recurrentActivation = spec.recurrentActivation ? fusedActivationOf(spec.recurrentActivation) : "sigmoid";
  if (!recurrentActivation) return stepWise(unfused("recurrent_activation", spec.recurrentActivation!), true);
  if (o.training && (spec.dropout > 0 || spec.recurrentDropout > 0))
    return stepWise("dropout / recurrent_dropout apply while training", true);
  return {
    path: "fused",
    reason: null,
    run: { cell: spec.cell, activation, recurrentActivation, biasLayout: spec.biasLayout },
    error: null,
  };
}
