/**
 * The public verbs: what src/index.ts exports is the public API (CONTRIBUTING.md "The public verbs"), and
 * every function there has an R keras name in snake_case; internals are camelCase and stay unexported.
 */
import { expect } from "chai";
import * as api from "../src/index.js";

describe("the public API (src/index.ts)", () => {
  it("every exported value is a function with a snake_case R name, besides the KerasError class", () => {
    const names = Object.keys(api).filter((n) => n !== "KerasError");
    expect(names.length).to.be.greaterThan(200);
    expect(names.filter((n) => !/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(n))).to.deep.equal([]);
    expect(names.filter((n) => typeof (api as Record<string, unknown>)[n] !== "function")).to.deep.equal([]);
  });
});
