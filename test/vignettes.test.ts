/**
 * Every ```ts block of vignettes/*.md runs: the blocks of one vignette are concatenated into one
 * module (imports from "tskeras" point at src/) and executed with tsx in a child process.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const dir = join(root, "vignettes");
const vignettes = readdirSync(dir).filter((f) => f.endsWith(".md"));

/** The code of the ```ts blocks, imports hoisted (so blocks may import as they go). */
export function vignetteModule(markdown: string): string {
  const blocks = [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  const imports: string[] = [];
  const body: string[] = [];
  for (const block of blocks) {
    for (const line of block.split("\n")) (/^import\s/.test(line) ? imports : body).push(line);
  }
  const src = join(root, "src", "index.ts");
  return [...new Set(imports)].map((l) => l.replace(/from\s+["']tskeras["']/, `from ${JSON.stringify(src)}`)).join("\n") + "\n" + body.join("\n");
}

describe("vignettes run", function () {
  this.timeout(300_000);
  for (const file of vignettes) {
    it(`vignettes/${file}`, () => {
      const code = vignetteModule(readFileSync(join(dir, file), "utf8"));
      expect(code.trim().length).to.be.greaterThan(0);
      const tmp = mkdtempSync(join(tmpdir(), "tskeras-vignette-"));
      const path = join(tmp, file.replace(/\.md$/, ".ts"));
      writeFileSync(path, code);
      const r = spawnSync(process.execPath, ["--import", "tsx", path], { cwd: root, encoding: "utf8", env: { ...process.env, KERAS_BACKEND: "wasm" } });
      expect(r.status, `${file} failed:\n${r.stdout}\n${r.stderr}`).to.equal(0);
    });
  }
});
