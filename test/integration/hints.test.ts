/**
 * The R-habit hint in a real process: R's `fit(model, x, y); evaluate(model, x, y)` prints the hint once on
 * stderr — at exit when nothing proved it earlier — and TSKERAS_HINTS=0 silences it.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

const script = `
import { keras_model_sequential, layer_dense, compile, fit, evaluate } from ${JSON.stringify(join(root, "src", "index.ts"))};
const x = [[0, 1], [1, 0], [1, 1], [0, 0]];
const y = [[1], [1], [2], [0]];
const model = compile(layer_dense(keras_model_sequential({ input_shape: [2] }), { units: 1 }), { optimizer: "sgd", loss: "mse" });
await fit(model, x, y, { verbose: 0 });
console.log("loss", (await evaluate(model, x, y, { verbose: 0 })).loss);
console.log("done");
`;

function run(env: Record<string, string>): { stdout: string; stderr: string; status: number | null } {
  const cache = join(root, "node_modules", ".cache");
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, "tskeras-hint-"));
  const file = join(dir, "habit.mts");
  writeFileSync(file, script);
  try {
    return spawnSync(process.execPath, ["--import", "tsx", file], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, KERAS_BACKEND: "cpu", ...env },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the R-habit hint in a process", function () {
  this.timeout(120_000);

  it("fit(model); evaluate(model) with the result dropped: one hint (at exit, as nothing proved it earlier)", () => {
    const r = run({});
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.include("done");
    expect(r.stderr.split("tskeras hint:").length - 1).to.equal(1);
    expect(r.stderr).to.include("evaluate() got a model value that was already given to fit()");
    expect(r.stderr).to.include("model = (await fit(model, x, y)).model;");
  });

  it("TSKERAS_HINTS=0 silences it", () => {
    const r = run({ TSKERAS_HINTS: "0" });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.not.include("tskeras hint:");
  });
});
