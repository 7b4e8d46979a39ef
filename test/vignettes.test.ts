/**
 * Every ```ts block of vignettes/*.md runs: the blocks of one vignette are concatenated into one
 * module (imports from "tskeras" point at src/) and executed with tsx in a child process.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const dir = join(root, "vignettes");
const vignettes = readdirSync(dir).filter((f) => f.endsWith(".md"));

/** The code of the ```ts blocks, import statements (single- or multi-line) hoisted, so blocks may import as they go. */
export function vignetteModule(markdown: string): string {
  const blocks = [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  const imports: string[] = [];
  const body: string[] = [];
  for (const block of blocks) {
    let pending: string[] | null = null;
    for (const line of block.split("\n")) {
      if (pending === null && /^import\s/.test(line)) pending = [];
      if (pending === null) {
        body.push(line);
        continue;
      }
      pending.push(line);
      if (/from\s+["'][^"']+["'];?\s*$/.test(line) || /^import\s+["'][^"']+["'];?\s*$/.test(line)) {
        imports.push(pending.join("\n"));
        pending = null;
      }
    }
  }
  const src = join(root, "src", "index.ts");
  const resolved = [...new Set(imports)].map((l) => l.replace(/from\s+["']tskeras["']/, `from ${JSON.stringify(src)}`));
  return resolved.join("\n") + "\n" + body.join("\n");
}

describe("vignettes run", function () {
  this.timeout(300_000);
  for (const file of vignettes) {
    it(`vignettes/${file}`, () => {
      const code = vignetteModule(readFileSync(join(dir, file), "utf8"));
      expect(code.trim().length).to.be.greaterThan(0);
      // inside the project, so that the vignette's own imports (fp-ts, ...) resolve from node_modules
      const cache = join(root, "node_modules", ".cache");
      mkdirSync(cache, { recursive: true });
      const tmp = mkdtempSync(join(cache, "tskeras-vignette-"));
      const path = join(tmp, file.replace(/\.md$/, ".mts"));
      writeFileSync(path, code);
      const r = spawnSync(process.execPath, ["--import", "tsx", path], { cwd: root, encoding: "utf8", env: { ...process.env, KERAS_BACKEND: "wasm" } });
      rmSync(tmp, { recursive: true, force: true });
      expect(r.status, `${file} failed:\n${r.stdout}\n${r.stderr}`).to.equal(0);
    });
  }
});
