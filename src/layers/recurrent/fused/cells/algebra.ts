/**
 * The arithmetic a recurrent cell's step is written in, once, for every path that runs it: tensors
 * (the step-wise loop: gru.ts, lstm.ts, simple_rnn.ts) and the fused kernels' WebAssembly (../wasm.ts,
 * vector and scalar). `act` is the cell's activation, `ract` its recurrent activation.
 */
import { tf, type Tensor } from "../../../../backend/tf.js";
import type { ActivationFn } from "../../../../ops/activations.js";

export interface CellAlgebra<V> {
  add(a: V, b: V): V;
  sub(a: V, b: V): V;
  mul(a: V, b: V): V;
  act(x: V): V;
  ract(x: V): V;
}

/** What a backward step needs besides: the constant 1 and the activations' derivatives from their outputs. */
export interface GradAlgebra<V> extends CellAlgebra<V> {
  readonly one: V;
  dact(y: V): V;
  dract(y: V): V;
}

/**
 * A step's inputs are asked for where the step first needs them: the fused kernels then load (and sum)
 * each just before its use, which keeps few values in registers through the step (an LSTM step that
 * loads all its inputs first is ~10% slower); the tensor path just hands its tensors over.
 */
export type Input<V> = () => V;
/** Gate k's input (gate order of the cell), asked for where the step needs it. */
export type GateInput<V> = (gate: number) => V;

/** Tensor arithmetic with the layer's activation functions (built-in or the user's own). */
export function tensorAlgebra(act: ActivationFn, ract: ActivationFn = act): CellAlgebra<Tensor> {
  return {
    add: (a, b) => tf.add(a, b),
    sub: (a, b) => tf.sub(a, b),
    mul: (a, b) => tf.mul(a, b),
    act,
    ract,
  };
}
