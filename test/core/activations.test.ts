/** activation_softmax / activation_log_softmax along any axis (tfjs's kernels take only the last one). */
import { expect } from "chai";
import { tf } from "../../src/backend/tf.js";
import { KerasError, activation_log_softmax, activation_softmax, use_backend } from "../../src/index.js";
import { expectClose, flat } from "./helpers.js";

describe("activation_softmax / activation_log_softmax: any axis", () => {
  before(async () => {
    await use_backend("wasm");
  });

  // x[i, j, k] with x[1, j, k] = x[0, j, k] + ln 3 and x[i, 1, k] = x[i, 0, k] + ln 2 (k free): along axis 0
  // every pair is (1/4, 3/4), along axis 1 (1/3, 2/3); along the last axis exp(0, ln 5) -> (1/6, 5/6).
  const l2 = Math.log(2);
  const l3 = Math.log(3);
  const l5 = Math.log(5);
  const x = [
    [
      [0, l5],
      [l2, l2 + l5],
    ],
    [
      [l3, l3 + l5],
      [l3 + l2, l3 + l2 + l5],
    ],
  ];
  const along = (axis: number) => {
    const p = [
      [1 / 4, 3 / 4],
      [1 / 3, 2 / 3],
      [1 / 6, 5 / 6],
    ][axis];
    return [0, 1].flatMap((i) => [0, 1].flatMap((j) => [0, 1].map((k) => p[[i, j, k][axis]])));
  };

  for (const [axis, resolved] of [
    [0, 0],
    [1, 1],
    [-2, 1],
    [-3, 0],
    [2, 2],
    [-1, 2],
  ]) {
    it(`axis ${axis} of a rank-3 input`, () => {
      const before = tf.memory().numTensors;
      const s = activation_softmax(x, { axis });
      const ls = activation_log_softmax(x, { axis });
      expect(s.shape).to.deep.equal([2, 2, 2]);
      expectClose(flat(s), along(resolved), 1e-6);
      expectClose(flat(ls), along(resolved).map(Math.log), 1e-6);
      tf.dispose([s, ls]);
      expect(tf.memory().numTensors, "tensors leaked").to.equal(before);
    });
  }

  it("an axis outside the input's rank is a KerasError naming the function and the argument", () => {
    for (const f of [activation_softmax, activation_log_softmax])
      for (const axis of [3, -4])
        expect(() => f(x, { axis }))
          .to.throw(KerasError)
          .with.property("message")
          .that.matches(new RegExp(`^${f.name}\\(\\): \`axis\` = ${axis} is out of range`));
  });
});
