/**
 * Fused recurrent sequence path (issue 5; DESIGN principle 6): a whole GRU / LSTM / SimpleRNN
 * sequence in one forward kernel call and one backward kernel call, with a hand-written
 * back-propagation through time. The step-wise cell loop stays the reference; tests compare both.
 *
 * Use `fusedRnnUnsupported()` to decide, `fusedRnn()` to run. Works under tf.grads /
 * tf.variableGrads (gradients w.r.t. inputs, kernel, recurrent kernel, bias and initial states).
 */
import { tf, type Tensor } from "../../../backend/tf.js";
import { KerasError } from "../../../errors.js";
import {
  BACKWARD_KERNEL,
  FORWARD_KERNEL,
  FUSED_ACTIVATIONS,
  gatesOf,
  registerFusedKernels,
  type FusedActivation,
  type FusedAttrs,
  type FusedKind,
} from "./kernels.js";

export { FUSED_ACTIVATIONS, registerFusedKernels, FORWARD_KERNEL, BACKWARD_KERNEL };
export { gemmJs } from "./mem.js";
export { setFusedSimd, simdSupported } from "./simd.js";
export type { FusedActivation, FusedKind };

/** Backends the fused kernels are registered for. */
export const FUSED_BACKENDS = ["wasm", "cpu"] as const;

export interface FusedRnnArgs {
  readonly kind: FusedKind;
  /** (batch, time, features), input time order. */
  readonly inputs: Tensor;
  /** (features, G·units), Keras layout and gate order (GRU z,r,h; LSTM i,f,c,o). */
  readonly kernel: Tensor;
  /** (units, G·units). */
  readonly recurrentKernel: Tensor;
  /** GRU reset_after: (2, 3u) (or (6u), CuDNNGRU); GRU reset_before: (3u); LSTM (4u) (or (8u), CuDNNLSTM: input + recurrent bias); SimpleRNN (u); or null. */
  readonly bias: Tensor | null;
  /** [h] or, for LSTM, [h, c]; each (batch, units). Empty / omitted: zeros. */
  readonly initialState?: readonly Tensor[];
  /** (batch, time), bool or 0/1, TRUE = keep; arbitrary patterns allowed. */
  readonly mask?: Tensor | null;
  readonly goBackwards?: boolean;
  readonly returnSequences?: boolean;
  readonly zeroOutputForMask?: boolean;
  /** GRU only; default TRUE. */
  readonly resetAfter?: boolean;
  readonly activation?: string;
  readonly recurrentActivation?: string;
}

export interface FusedRnnResult {
  /** (batch, time, units) in processing order when returnSequences, else (batch, units). */
  readonly output: Tensor;
  /** Final states: [h] or [h, c]. */
  readonly states: Tensor[];
}

const FN = "fused_rnn";

/**
 * NULL when the fused path can run these settings on the current backend, otherwise the reason
 * (for a `verbose` note when falling back to the step-wise loop).
 */
export function fusedRnnUnsupported(o: {
  readonly kind: string;
  readonly activation?: string | null;
  readonly recurrentActivation?: string | null;
  readonly backend?: string;
}): string | null {
  const backend = o.backend ?? tf.getBackend();
  if (!(FUSED_BACKENDS as readonly string[]).includes(backend))
    return `the fused recurrent kernels exist for the wasm and cpu backends, not "${backend}"`;
  if (o.kind !== "gru" && o.kind !== "lstm" && o.kind !== "simple_rnn") return `no fused kernel for cell "${o.kind}"`;
  const acts = FUSED_ACTIVATIONS as readonly string[];
  const act = o.activation ?? "tanh";
  if (!acts.includes(act)) return `activation "${act}" has no fused implementation (fused: ${acts.join(", ")})`;
  const ract = o.recurrentActivation ?? "sigmoid";
  if (o.kind !== "simple_rnn" && !acts.includes(ract))
    return `recurrent_activation "${ract}" has no fused implementation (fused: ${acts.join(", ")})`;
  return null;
}

function check(cond: boolean, msg: string): void {
  if (!cond) throw new KerasError(FN, msg, "shape");
}

/** Runs a whole recurrent sequence through the fused kernels. */
export function fusedRnn(o: FusedRnnArgs): FusedRnnResult {
  registerFusedKernels();
  const kind = o.kind;
  const activation = (o.activation ?? "tanh") as FusedActivation;
  const recurrentActivation = (o.recurrentActivation ?? "sigmoid") as FusedActivation;
  const why = fusedRnnUnsupported({ kind, activation, recurrentActivation });
  if (why) throw new KerasError(FN, why, "value");
  const resetAfter = kind === "gru" ? (o.resetAfter ?? true) : false;
  const x = o.inputs;
  check(x.rank === 3, `inputs must be (batch, time, features), got shape [${x.shape}]`);
  const [B, T, F] = x.shape;
  check(T >= 1, "inputs need at least one timestep");
  const u = o.recurrentKernel.shape[0];
  const Gu = gatesOf(kind) * u;
  check(
    o.kernel.rank === 2 && o.kernel.shape[0] === F && o.kernel.shape[1] === Gu,
    `kernel must be (${F}, ${Gu}), got [${o.kernel.shape}]`,
  );
  check(
    o.recurrentKernel.rank === 2 && o.recurrentKernel.shape[1] === Gu,
    `recurrent kernel must be (${u}, ${Gu}), got [${o.recurrentKernel.shape}]`,
  );
  const bias = o.bias ?? null;
  if (bias) {
    // GRU reset_after: input and recurrent bias (2, 3u) or (6u); LSTM also takes CuDNNLSTM's (8u)
    const ok =
      kind === "gru" && resetAfter
        ? bias.size === 2 * Gu
        : bias.size === Gu || (kind === "lstm" && bias.size === 2 * Gu);
    check(
      ok,
      `bias must have ${kind === "gru" && resetAfter ? 2 * Gu : Gu} values for ${kind}${kind === "gru" ? ` (reset_after ${resetAfter ? "TRUE" : "FALSE"})` : ""}, got shape [${bias.shape}]`,
    );
  }
  const nStates = kind === "lstm" ? 2 : 1;
  const init = o.initialState ?? [];
  check(init.length === 0 || init.length === nStates, `initial state must be ${nStates} tensor(s), got ${init.length}`);
  for (const s of init)
    check(
      s.rank === 2 && s.shape[0] === B && s.shape[1] === u,
      `each initial state must be (${B}, ${u}), got [${s.shape}]`,
    );
  const mask = o.mask ?? null;
  if (mask)
    check(
      mask.rank === 2 && mask.shape[0] === B && mask.shape[1] === T,
      `mask must be (${B}, ${T}), got [${mask.shape}]`,
    );

  const attrs: FusedAttrs = {
    kind,
    resetAfter,
    goBackwards: !!o.goBackwards,
    returnSequences: !!o.returnSequences,
    zeroOutputForMask: !!o.zeroOutputForMask,
    activation,
    recurrentActivation,
    save: false,
    biasShape: bias ? [...bias.shape] : [],
  };

  const engine = tf.engine() as any;
  const f32 = (t: Tensor): Tensor => (t.dtype === "float32" ? t : tf.cast(t, "float32"));
  const inputs: Record<string, Tensor> = {
    x: f32(x),
    kernel: o.kernel,
    recurrentKernel: o.recurrentKernel,
    h0: init[0] ?? tf.zeros([B, u]),
  };
  if (kind === "lstm") inputs.c0 = init[1] ?? tf.zeros([B, u]);
  if (bias) inputs.bias = bias;
  const kernelInputs: Record<string, Tensor> = mask ? { ...inputs, mask } : inputs;

  let outs: Tensor[];
  if (!engine.isTapeOn()) {
    outs = engine.runKernel(FORWARD_KERNEL, kernelInputs, attrs as unknown as tf.NamedAttrMap) as Tensor[];
  } else {
    outs = engine.runKernelFunc({
      inputs,
      forwardFunc: (_backend: unknown, save: (ts: Tensor[]) => void) => {
        const r = engine.runKernel(FORWARD_KERNEL, kernelInputs, { ...attrs, save: true }) as Tensor[];
        save([inputs.x, o.kernel, o.recurrentKernel, ...r.slice(nStates + 1), ...(mask ? [mask] : [])]);
        return r.slice(0, nStates + 1);
      },
      backwardsFunc: (dys: Tensor[], saved: Tensor[]) => {
        const [xs, W, U, hprev, gates] = saved;
        const aux = kind === "simple_rnn" ? undefined : saved[5];
        const m = mask ? saved[saved.length - 1] : undefined;
        const bIn: Record<string, Tensor> = { dy: dys[0], dhT: dys[1], x: xs, recurrentKernel: U, hprev, gates };
        if (kind === "lstm") bIn.dcT = dys[2];
        if (aux) bIn.aux = aux;
        if (m) bIn.mask = m;
        const g = engine.runKernel(BACKWARD_KERNEL, bIn, attrs as unknown as tf.NamedAttrMap) as Tensor[];
        const [dXP, dW, dU] = g;
        let k = 3;
        const dBias = bias ? g[k++] : undefined;
        const dh0 = g[k++];
        const dc0 = kind === "lstm" ? g[k] : undefined;
        const grads: Record<string, () => Tensor> = {
          x: () => tf.reshape(tf.matMul(tf.reshape(dXP, [B * T, Gu]), tf.transpose(W)), [B, T, F]),
          kernel: () => dW,
          recurrentKernel: () => dU,
          h0: () => dh0,
        };
        if (dBias) grads.bias = () => dBias;
        if (dc0) grads.c0 = () => dc0;
        return grads;
      },
    }) as Tensor[];
  }
  return { output: outs[0], states: outs.slice(1) };
}
