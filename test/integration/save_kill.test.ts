/**
 * A process killed while it saves (SIGKILL, no chance to clean up) leaves the previous file whole,
 * and the temporary file it leaves is removed by the next save: a child process saves a model over
 * and over and is killed the moment its temporary file appears (mid-write).
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as k from "../../src/index.js";
import { use_backend } from "../../src/backend/index.js";
import type { Model } from "../../src/model/model.js";
import { temporaryFolders } from "../helpers/temporary_folders.js";

const root = resolve(import.meta.dirname, "../..");

/** The same model in the child and here: weights from a fixed pattern. */
const modelSource = `
export function bigModel(k) {
  const m = k.keras_model_sequential({ input_shape: [400], layers: [k.layer_dense({ units: 800 }), k.layer_dense({ units: 400 })] });
  let n = 0;
  const fill = (w) => JSON.parse(JSON.stringify(w), (_, v) => (typeof v === "number" ? Math.sin(n++) : v));
  return k.set_weights(m, k.get_weights(m).map(fill));
}
`;

describe("a save killed mid-way", function () {
  this.timeout(300_000);
  const tmp = temporaryFolders("tskeras-kill-");

  it("leaves the previous file whole, and no temporary files after the next save", async () => {
    await use_backend("wasm");
    const dir = tmp();
    const file = join(dir, "model.keras");
    writeFileSync(join(dir, "model.mjs"), modelSource);
    const child = join(dir, "child.mts");
    writeFileSync(
      child,
      `import * as k from ${JSON.stringify(join(root, "src", "index.ts"))};
import { bigModel } from ${JSON.stringify(join(dir, "model.mjs"))};
const model = bigModel(k);
await k.save_model(model, ${JSON.stringify(file)}, { overwrite: true });
process.stdout.write("saved\\n");
for (;;) await k.save_model(model, ${JSON.stringify(file)}, { overwrite: true });
`,
    );
    const { bigModel } = (await import(join(dir, "model.mjs"))) as { bigModel: (api: typeof k) => Model };
    const expected = k.get_weights(bigModel(k));
    let leftTemporaries = 0;
    for (let run = 0; run < 3 && (run === 0 || leftTemporaries === 0); run++) {
      const proc = spawn(process.execPath, ["--import", "tsx", child], {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
      });
      await new Promise<void>((done, fail) => {
        proc.stdout.on("data", (d: Buffer) => {
          if (String(d).includes("saved")) done();
        });
        proc.on("exit", (code) => fail(new Error(`the child exited (${code}) before saving`)));
      });
      // kill the writer the moment its temporary file appears: mid-write
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && !readdirSync(dir).some((f) => f.endsWith(".tmp")))
        await new Promise((r) => setImmediate(r));
      const exited = new Promise((r) => proc.on("exit", r));
      proc.kill("SIGKILL");
      await exited;
      leftTemporaries += readdirSync(dir).filter((f) => f.endsWith(".tmp")).length;
      const loaded = await k.load_model(file);
      expect(k.get_weights(loaded), `after kill ${run + 1}`).to.deep.equal(expected);
    }
    expect(leftTemporaries, "a writer killed mid-write leaves its temporary file").to.be.greaterThan(0);
    await k.save_model(bigModel(k), file, { overwrite: true });
    expect(readdirSync(dir).sort()).to.deep.equal(["child.mts", "model.keras", "model.mjs"]);
  });
});
