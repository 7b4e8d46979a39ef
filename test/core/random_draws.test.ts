/**
 * The initializers' draws run in WebAssembly (ops/random_draws.ts). Their values must be those of the
 * scalar loops over Rng.uniform() / Rng.normal() bit for bit, and the generator must move on exactly as
 * those loops move it (its next draws and its spare normal the same).
 */
import { expect } from "chai";
import { Rng } from "../../src/ops/random.js";
import { DRAW_KINDS, wasmDrawRuns } from "../../src/ops/random_draws.js";

const firstDifference = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length !== b.length ? -2 : Array.prototype.findIndex.call(a, (v: number, i: number) => !Object.is(v, b[i]));

describe("the initializers' draws in WebAssembly", () => {
  const cases: [keyof typeof DRAW_KINDS, number, number][] = [
    ["scaledNormal", 0, 0.125],
    ["normal", -0.5, 2.5],
    ["truncatedNormal", 0.25, 0.0441],
    ["uniform", -3, 7.5],
    ["symmetricUniform", 0, 0.2165],
  ];
  for (const [kind, a, b] of cases)
    for (const [seed, n, pending] of [
      [1, 12288, false],
      [7, 1, true],
      [4294967295, 3073, true],
      [0, 0, true],
    ] as [number, number, boolean][])
      it(`${kind}: seed ${seed}, ${n} values${pending ? ", a spare normal pending" : ""}: the scalar loop's bits`, () => {
        const [fast, slow] = [new Rng(seed), new Rng(seed)];
        if (pending) expect(fast.normal()).to.equal(slow.normal()); // leaves the sine's value as the spare
        const runs = wasmDrawRuns();
        const got = fast.floats(DRAW_KINDS[kind], n, a, b);
        expect(wasmDrawRuns(), "ran in WebAssembly").to.equal(runs + 1);
        const want = slow.floatsInJavaScript(DRAW_KINDS[kind], n, a, b);
        expect(firstDifference(got, want), "first differing value").to.equal(-1);
        // the generators go on alike: the spare normal, then the uniform stream
        expect(fast.state()).to.deep.equal(slow.state());
        expect([fast.normal(), fast.normal(), fast.uniform()]).to.deep.equal([
          slow.normal(),
          slow.normal(),
          slow.uniform(),
        ]);
      });

  it("normalColumns: normal() draws row by row, stored column-major, the same bits and state", () => {
    for (const [m, n] of [
      [192, 64],
      [400, 400], // over 1 MB: an instance of its own, not kept
      [7, 1],
      [5, 3],
    ]) {
      const [fast, slow] = [new Rng(m * n), new Rng(m * n)];
      const runs = wasmDrawRuns();
      const got = fast.normalColumns(m, n);
      expect(wasmDrawRuns(), "ran in WebAssembly").to.equal(runs + 1);
      const want = new Float64Array(m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) want[j * m + i] = slow.normal();
      expect(firstDifference(got, want), `first differing value (${m} × ${n})`).to.equal(-1);
      expect(fast.state()).to.deep.equal(slow.state());
    }
  });
});
