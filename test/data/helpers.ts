/** Keras 3.15.1's outputs for the data utilities (scripts/data_utils_fixtures.py) and how to compare with them. */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export const FIXTURES = resolve(import.meta.dirname, "../fixtures/data_utils");

/** A numpy array as the fixture script writes it. */
export interface KerasArray {
  shape: readonly number[];
  data: readonly number[];
  dtype: string;
}

export const keras = JSON.parse(readFileSync(resolve(FIXTURES, "keras.json"), "utf8"));

const TYPED: Record<string, string> = {
  int32: "Int32Array",
  int64: "Int32Array",
  uint8: "Uint8Array",
  float32: "Float32Array",
  float64: "Float64Array",
};

/** `got` ({ data, shape }) equals Keras's array: shape, values (to `tol`, relative) and the typed array for its dtype. */
export function expectArray(
  got: { data: ArrayLike<number>; shape: readonly number[] },
  want: KerasArray,
  { tol = 0, dtype = true }: { tol?: number; dtype?: boolean } = {},
): void {
  expect([...got.shape]).to.deep.equal(want.shape);
  if (dtype && TYPED[want.dtype]) expect(got.data.constructor.name).to.equal(TYPED[want.dtype]);
  expect(got.data.length).to.equal(want.data.length);
  for (let i = 0; i < want.data.length; i++) {
    const [g, w] = [got.data[i], want.data[i]];
    if (tol === 0) expect(g, `value ${i}`).to.equal(w);
    else expect(Math.abs(g - w), `value ${i}: ${g} vs ${w}`).to.be.at.most(tol * Math.max(1, Math.abs(w)));
  }
}
