/** Helpers of the wrapper and ConvLSTM tests: fixtures, closeness, backends. */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tf } from "../../src/backend/tf.js";

export const root = resolve(import.meta.dirname, "../..");
export const FIXTURE = join(root, "test/fixtures/wrappers_torch.json");
export const TORCH_PYTHON = "/usr/bin/python3";

/** The committed PyTorch reference numbers (scripts/torch_wrapper_fixtures.py). */
export const fixture = (): any => JSON.parse(readFileSync(FIXTURE, "utf8"));

/** TRUE when the interpreter that generates the fixture has torch. */
export function torchAvailable(): boolean {
  const r = spawnSync(TORCH_PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  return r.status === 0;
}

export const flat = (x: unknown): number[] => {
  if (x instanceof tf.Tensor) return Array.from(x.dataSync());
  if (Array.isArray(x))
    return (x as unknown[]).flat(Infinity).map((v) => (typeof v === "boolean" ? Number(v) : (v as number)));
  return [x as number];
};

export const nestedShape = (x: unknown): number[] => {
  const s: number[] = [];
  for (let c = x; Array.isArray(c); c = c[0]) s.push(c.length);
  return s;
};

/** Same shape (when `expected` is a nested array) and |a - e| <= atol elementwise. */
export function expectClose(actual: unknown, expected: unknown, atol = 1e-5, what = "value"): void {
  if (actual instanceof tf.Tensor && Array.isArray(expected))
    expect(actual.shape, `${what}: shape`).to.deep.equal(nestedShape(expected));
  const a = flat(actual);
  const e = flat(expected);
  expect(a.length, `${what}: size`).to.equal(e.length);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - e[i]) <= atol)) expect.fail(`${what}[${i}] = ${a[i]}, expected ${e[i]} (atol ${atol})`);
  }
}

export const BACKENDS = ["wasm", "cpu"] as const;
