/**
 * Every ```ts block of vignettes/*.md and of README.md runs: the blocks of one document are concatenated
 * into one module (imports from "tskeras" point at src/) and executed with tsx in a child process.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const dir = join(root, "vignettes");
const documents = [
  ...readdirSync(dir)
    .filter((f) => f.endsWith(".md"))
    .map((f) => join(dir, f)),
  join(root, "README.md"),
];

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

describe("the code in vignettes and the README runs", function () {
  this.timeout(300_000);
  for (const path of documents) {
    const file = path.slice(root.length + 1);
    it(file, () => {
      const code = vignetteModule(readFileSync(path, "utf8"));
      expect(code.trim().length).to.be.greaterThan(0);
      // inside the project, so that the vignette's own imports (fp-ts, ...) resolve from node_modules
      const cache = join(root, "node_modules", ".cache");
      mkdirSync(cache, { recursive: true });
      const tmp = mkdtempSync(join(cache, "tskeras-vignette-"));
      const script = join(tmp, file.replace(/\//g, "_").replace(/\.md$/, ".mts"));
      writeFileSync(script, code);
      // Its temporary folder is `tmp`: what the code writes to tmpdir() (the README's forecaster.keras) goes too.
      const r = spawnSync(process.execPath, ["--import", "tsx", script], {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, KERAS_BACKEND: "wasm", TMPDIR: tmp },
      });
      rmSync(tmp, { recursive: true, force: true });
      expect(r.status, `${file} failed:\n${r.stdout}\n${r.stderr}`).to.equal(0);
    });
  }
});
