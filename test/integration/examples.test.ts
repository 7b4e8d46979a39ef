/** Every script in examples/ runs to completion on the default backend, as `npx tsx examples/NAME.ts`. */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const examples = readdirSync(join(root, "examples")).filter((f) => f.endsWith(".ts"));

describe("examples run", function () {
  this.timeout(300_000);
  it("there are examples", () => expect(examples).to.include("train_gru.ts"));
  for (const file of examples) {
    it(`examples/${file}`, () => {
      const r = spawnSync(process.execPath, ["--import", "tsx", join("examples", file)], {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, KERAS_BACKEND: "" },
      });
      expect(r.status, `${file} failed:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`).to.equal(0);
      // By chance a digit is right 1 time in 9: an untrained or attention-less guess stays far below 60%.
      if (file === "seq2seq_attention.ts") {
        const right = Number(/unseen strings: ([\d.]+)%/.exec(r.stdout)?.[1]);
        expect(right, r.stdout.slice(-500)).to.be.greaterThan(60);
      }
    });
  }
});
