/** Shared helpers of the training tests. */
import { expect } from "chai";
import { KerasError } from "../../src/errors.js";

/** Asserts that `f` rejects/throws a KerasError whose message matches every pattern. */
export async function expectKerasError(f: () => unknown, ...patterns: RegExp[]): Promise<KerasError> {
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  expect(err, "expected a KerasError").to.be.instanceOf(KerasError);
  for (const p of patterns) expect((err as Error).message).to.match(p);
  return err as KerasError;
}

/** Element-wise closeness of (nested) number arrays. */
export function expectClose(actual: unknown, expected: unknown, tol = 1e-5, path = "value"): void {
  if (typeof expected === "number") {
    expect(typeof actual, path).to.equal("number");
    expect(actual as number, path).to.be.closeTo(expected, tol * Math.max(1, Math.abs(expected)));
    return;
  }
  expect(Array.isArray(actual), `${path} is an array`).to.equal(true);
  const a = actual as unknown[];
  const e = expected as unknown[];
  expect(a.length, `${path} length`).to.equal(e.length);
  e.forEach((x, i) => expectClose(a[i], x, tol, `${path}[${i}]`));
}
