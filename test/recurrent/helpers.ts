/** Shared helpers of the recurrent tests. */
import { expect } from "chai";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { familyOf, type Layer } from "../../src/model/layer.js";
import type { ForwardResult } from "../../src/model/types.js";
import { fusedKernelCalls } from "../../src/layers/recurrent/fused/index.js";

export const flat = (x: unknown): number[] => {
  if (x instanceof tf.Tensor) return Array.from(x.dataSync());
  if (ArrayBuffer.isView(x)) return Array.from(x as unknown as ArrayLike<number>);
  if (Array.isArray(x))
    return (x as unknown[]).flat(Infinity).map((v) => (typeof v === "boolean" ? Number(v) : (v as number)));
  return [x as number];
};

/** Element-wise |a - e| <= atol + rtol * |e|, with the first offending index in the message. */
export function expectClose(actual: unknown, expected: unknown, atol = 1e-5, rtol = 1e-4, what = "value"): void {
  const a = flat(actual);
  const e = flat(expected);
  expect(a.length, `${what}: length`).to.equal(e.length);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]))) {
      expect.fail(`${what}[${i}] = ${a[i]}, expected ${e[i]} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

export interface RunArgs {
  x: Tensor;
  weights: Tensor[];
  mask?: Tensor | null;
  initialState?: Tensor[];
  constants?: Tensor[];
  state?: Tensor[];
  training?: boolean;
}

/** The layer's family forward on explicit tensors (what the runtime calls), for gradients. */
export function forwardOf(layer: Layer, a: RunArgs): ForwardResult {
  return familyOf(layer).forward(layer.config, {
    inputs: [a.x],
    weights: a.weights,
    masks: [a.mask ?? null],
    training: a.training ?? false,
    initialState: a.initialState,
    constants: a.constants,
    state: a.state,
  });
}

export const t2 = (rows: number[][]) => tf.tensor2d(rows);
export const t3 = (v: number[][][]) => tf.tensor3d(v);

import { getRuntime } from "../../src/engine/runtime.js";
import type { Model } from "../../src/model/model.js";

/** Runs a model the way predict does (one batch): outputs kept, stateful layers' states committed. */
export function runModel(model: Model, inputs: Tensor | Tensor[], training = false): Tensor[] {
  const xs = Array.isArray(inputs) ? inputs : [inputs];
  const rt = getRuntime(
    model,
    xs.map((x) => x.shape),
  );
  const r = tf.tidy(() => {
    const res = rt.run(xs, { training });
    return {
      outputs: res.outputs,
      stateUpdates: res.stateUpdates.map((u) => ({ layerIndex: u.layerIndex, states: u.states })),
    };
  });
  rt.commit({ stateUpdates: r.stateUpdates, weightUpdates: [] });
  return r.outputs;
}

export type RecurrentPath = "fused kernels" | "step-wise loop";

/**
 * Asserts which path ran during `run`: the fused kernels (forward, and backward when `backward`) at
 * least once, each backward on the saved tensors its forward kept in the arena, or never on the
 * step-wise loop.
 */
export function expectPath<T>(path: RecurrentPath, run: () => T, backward = false): T {
  const before = fusedKernelCalls();
  const result = run();
  const after = fusedKernelCalls();
  const counts = { forward: after.forward - before.forward, backward: after.backward - before.backward };
  if (path === "fused kernels") {
    expect(counts.forward, "fused forward kernel calls").to.be.above(0);
    if (backward) expect(counts.backward, "fused backward kernel calls").to.be.above(0);
    // every backward read its forward's saved tensors where the forward kept them
    expect(after.savedKept - before.savedKept, "backward calls on kept saved tensors").to.equal(counts.backward);
  } else expect(counts, "fused kernel calls on the step-wise loop").to.deep.equal({ forward: 0, backward: 0 });
  return result;
}

/** Mocha hooks: every test of the enclosing describe runs on `path` (asserted after each test). */
export function eachTestOnPath(path: RecurrentPath): void {
  let before = 0;
  beforeEach(() => {
    before = fusedKernelCalls().forward;
  });
  afterEach(function () {
    if (this.currentTest?.state !== "passed") return;
    const ran = fusedKernelCalls().forward - before;
    if (path === "fused kernels") expect(ran, `${this.currentTest.title}: fused forward kernel calls`).to.be.above(0);
    else expect(ran, `${this.currentTest.title}: fused kernel calls on the step-wise loop`).to.equal(0);
  });
}
