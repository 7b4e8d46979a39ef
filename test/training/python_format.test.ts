/**
 * The checkpoint path formatter against Python's own str.format: test/fixtures/python_format.json holds
 * 1000+ templates with Python's results (scripts/python_format_fixtures.py, plain Python); when a
 * python3 is on the PATH the fixture is regenerated and must be the committed one.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pythonFormat, type PyNumber } from "../../src/engine/training/python_format.js";
import { KerasError } from "../../src/errors.js";

const root = resolve(import.meta.dirname, "../..");
const fixture = join(root, "test/fixtures/python_format.json");

interface Case {
  template: string;
  ints: Record<string, number>;
  floats: Record<string, string>;
  ok?: string;
  error?: string;
}

const pyFloat = (s: string) => (s === "inf" ? Infinity : s === "-inf" ? -Infinity : s === "nan" ? NaN : Number(s));

describe("pythonFormat: Python's str.format for checkpoint paths", () => {
  const cases: Case[] = JSON.parse(readFileSync(fixture, "utf8"));

  it("gives Python's result for every template of the fixture, and refuses what Python refuses", () => {
    expect(cases.length).to.be.greaterThan(1000);
    const wrong: string[] = [];
    for (const c of cases) {
      const values: Record<string, PyNumber> = {};
      for (const [k, v] of Object.entries(c.ints)) values[k] = { int: v };
      for (const [k, v] of Object.entries(c.floats)) values[k] = { float: pyFloat(v) };
      try {
        const got = pythonFormat("callback_model_checkpoint", c.template, values);
        if (c.ok === undefined || got !== c.ok)
          wrong.push(
            `${c.template} ${JSON.stringify(c.floats)}${JSON.stringify(c.ints)}: got ${got}, Python ${c.ok ?? c.error}`,
          );
      } catch (e) {
        if (!(e instanceof KerasError)) throw e;
        if (c.error === undefined)
          wrong.push(`${c.template} ${JSON.stringify(c.floats)}: ${e.message}, Python ${c.ok}`);
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it("errors name the function, the template and the fields there are", () => {
    expect(() =>
      pythonFormat("callback_model_checkpoint", "m-{val_acc:.2f}.keras", { epoch: { int: 1 }, loss: { float: 1 } }),
    )
      .to.throw(KerasError)
      .with.property(
        "message",
        'callback_model_checkpoint(): cannot fill in the placeholders of `filepath` "m-{val_acc:.2f}.keras": there is no value for {val_acc} (fields available: epoch, loss)',
      );
  });

  it("the committed fixture is what this machine's Python gives (when there is a python3)", function () {
    const r = spawnSync("python3", [join(root, "scripts/python_format_fixtures.py")], { encoding: "utf8" });
    if (r.error || r.status !== 0) {
      console.log("      (skipped: no python3 on the PATH; the committed fixture is used as is)");
      return this.skip();
    }
    expect(JSON.parse(r.stdout)).to.deep.equal(cases);
  });
});
