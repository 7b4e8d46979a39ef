/**
 * The one recurrent loop (KERAS_FACTS "The recurrent loop"): input projection for all timesteps in one
 * go, then only the step function per timestep, with masking, go_backwards and return_sequences.
 * Every step runs in its own tf.tidy, so a step's intermediates are released as the loop goes.
 */
import { tf, type Tensor } from "../../backend/tf.js";
import { ArgumentError, KerasError, describeValue } from "../../errors.js";
import { formatShape } from "../../model/shape.js";
import type { PreparedCell, RecurrentCell } from "./cell.js";

export interface LoopOptions {
  /** Public function name for errors raised by user-defined cells. */
  readonly fn: string;
  readonly goBackwards: boolean;
  readonly returnSequences: boolean;
  readonly zeroOutputForMask: boolean;
  /** (batch, time), TRUE = keep; null = no masking. */
  readonly mask: Tensor | null;
  readonly initialStates: readonly Tensor[];
  readonly training: boolean;
  readonly constants: readonly Tensor[];
}

export interface LoopResult {
  /** (batch, time, output) with return_sequences (processing order), else (batch, output). */
  readonly output: Tensor;
  readonly states: Tensor[];
}

/** Runs `prepared` over x (batch, time, ...features). Call inside a tidy (or a gradient function). */
export function runLoop(cell: RecurrentCell, prepared: PreparedCell, x: Tensor, o: LoopOptions): LoopResult {
  const [batch, steps] = x.shape;
  if (steps === 0) throw new KerasError(o.fn, "the input sequence has no timesteps", "shape");
  let timeMajor = tf.transpose(x, [1, 0, ...x.shape.slice(2).map((_, i) => i + 2)]);
  if (o.goBackwards) timeMajor = tf.reverse(timeMajor, 0);
  const projected = prepared.project(timeMajor).map((block) => unstackTime(block, steps));
  let stepMasks: Tensor[] | null = null;
  if (o.mask) {
    // Rearranged as float32: the wasm Reverse/Transpose kernels assume 4-byte elements (a bool
    // tensor there corrupts memory); each step casts its own slice back to bool for tf.where.
    let m = tf.transpose(tf.cast(o.mask, "float32"), [1, 0]);
    if (o.goBackwards) m = tf.reverse(m, 0);
    stepMasks = unstackTime(tf.expandDims(m, 2), steps); // each (batch, 1): broadcasts over units
  }

  const kept = new Set<Tensor>(o.initialStates);
  const outputs: Tensor[] = [];
  let states = [...o.initialStates];
  let prevOutput: Tensor | null = stepMasks ? tf.zeros([batch, cell.outputSize]) : null;
  let last: Tensor | null = null;
  const ctx = { training: o.training, constants: o.constants };

  for (let t = 0; t < steps; t++) {
    const inputsAtT = projected.map((block) => block[t]);
    const maskAtT = stepMasks ? stepMasks[t] : null;
    const [output, ...newStates] = tf.tidy(() => {
      const r = prepared.step(inputsAtT, states, ctx);
      checkStepResult(cell, batch, r.output, r.states);
      if (!maskAtT) return [r.output, ...r.states];
      const keep = tf.cast(maskAtT, "bool");
      // Masked step: every state keeps its value; the output repeats the previous one (or zeros).
      const out = tf.where(keep, r.output, o.zeroOutputForMask ? tf.zerosLike(r.output) : prevOutput!);
      return [out, ...r.states.map((s, i) => tf.where(keep, s, states[i]))];
    });
    // A step may return its input as the output or a state (an identity cell): that one is kept.
    for (const b of inputsAtT) if (b !== output && !newStates.includes(b)) b.dispose();
    if (maskAtT) maskAtT.dispose();
    // Release the previous step's tensors unless they are still needed (the sequence output, or given by the caller).
    const retained = new Set<Tensor>([output, ...newStates, ...outputs]);
    for (const old of [...states, ...(prevOutput ? [prevOutput] : []), ...(last ? [last] : [])]) {
      if (!retained.has(old) && !kept.has(old) && !old.isDisposed) old.dispose();
    }
    states = newStates;
    if (stepMasks) prevOutput = output;
    if (o.returnSequences) outputs.push(output);
    last = output;
  }
  const output = o.returnSequences ? tf.stack(outputs, 1) : last!;
  return { output, states };
}

/**
 * The timesteps of a time-major tensor. One timestep is reshaped, not unstacked: tfjs's Unpack gradient
 * fails when Unpack has a single output (it stacks the lone gradient tensor as if it were a list).
 */
function unstackTime(x: Tensor, steps: number): Tensor[] {
  return steps === 1 ? [tf.reshape(x, x.shape.slice(1))] : tf.unstack(x, 0);
}

/** A cell's step must return its declared output and state shapes (a custom cell's `call` may not). */
function checkStepResult(cell: RecurrentCell, batch: number, output: Tensor, states: readonly Tensor[]): void {
  const what = "`cell`: its step function (a custom cell's `call`)";
  const bad = (part: string, got: unknown, size: number) => {
    throw new ArgumentError(
      `${what} returned ${part} ${got instanceof tf.Tensor ? `of shape ${formatShape(got.shape)}` : describeValue(got)}; expected ${formatShape([batch, size])}`,
    );
  };
  if (
    !(output instanceof tf.Tensor) ||
    output.rank !== 2 ||
    output.shape[0] !== batch ||
    output.shape[1] !== cell.outputSize
  )
    bad("an output", output, cell.outputSize);
  if (states.length !== cell.stateSizes.length)
    throw new ArgumentError(`${what} returned ${states.length} states; its state_size lists ${cell.stateSizes.length}`);
  states.forEach((s, i) => {
    if (!(s instanceof tf.Tensor) || s.rank !== 2 || s.shape[0] !== batch || s.shape[1] !== cell.stateSizes[i])
      bad(`state ${i + 1}`, s, cell.stateSizes[i]);
  });
}
