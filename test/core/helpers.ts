/** Shared test helpers for the core tests: deterministic data, closeness checks, weight filling. */
import { expect } from "chai";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { buildPlan } from "../../src/engine/plan.js";
import { weightSpecsOf } from "../../src/model/layer.js";
import type { Model } from "../../src/model/model.js";
import { set_weights } from "../../src/api/weights.js";

/** A deterministic pattern of `n` values in [-1, 1] (no RNG, so every backend sees the same numbers). */
export function pattern(n: number, phase = 0): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + 0.9 * phase + 0.3));
}

/** Nested array of `shape` filled with `pattern`. */
export function nested(shape: readonly number[], phase = 0): any {
  const flat = pattern(
    shape.reduce((a, b) => a * b, 1),
    phase,
  );
  const build = (offset: number, dim: number): any => {
    if (dim === shape.length) return flat[offset];
    const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: shape[dim] }, (_, i) => build(offset + i * stride, dim + 1));
  };
  return build(0, 0);
}

/** The model with every weight replaced by a deterministic pattern (variances kept positive). */
export function withPatternWeights<M extends Model>(model: M): M {
  const plan = buildPlan(model);
  const weights: unknown[] = [];
  model.layers.forEach((layer, i) => {
    const shapes = plan.layerInputShapes[i];
    if (!shapes) return;
    weightSpecsOf(layer, shapes).forEach((spec, k) => {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const v = pattern(n, i * 7 + k).map((x) => (spec.name === "moving_variance" ? 1 + 0.5 * x : 0.5 * x));
      weights.push({ shape: spec.shape, values: Float32Array.from(v) });
    });
  });
  return set_weights(model, weights);
}

/** Element-wise closeness: |a - b| <= tol * max(1, |b|). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = "values"): void {
  expect(actual.length, `${what}: length`).to.equal(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const ok = Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i]));
    if (!ok) expect.fail(`${what}[${i}]: expected ${expected[i]}, got ${actual[i]} (tol ${tol})`);
  }
}

/** Reads a tensor (or nested array) to a flat number array. */
export function flat(x: Tensor | unknown): number[] {
  if (x instanceof tf.Tensor) return Array.from(x.dataSync());
  return (x as unknown[]).flat(Infinity) as number[];
}

/** Runs `f`, disposing everything it creates, and checks that no tensor leaked. */
export function expectNoLeak<T>(f: () => T): T {
  const before = tf.memory().numTensors;
  const r = f();
  expect(tf.memory().numTensors, "tensors leaked").to.equal(before);
  return r;
}
