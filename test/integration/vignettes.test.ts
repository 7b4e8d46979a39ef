/**
 * Every ```ts block of vignettes/*.md and of README.md runs: the blocks of one document are concatenated
 * into one module (imports from "tskeras" point at src/) and executed with tsx in a child process.
 * A block opened with ```ts-no-run (code that needs a GPU, say) is shown but not run: only a fence whose
 * language is exactly ts counts (a language tag, not an info string after "ts", so that every markdown
 * parser agrees).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { documentTmpdir, tsBlocks, vignetteModule } from "../../scripts/vignette_code.js";

const root = resolve(import.meta.dirname, "../..");
const dir = join(root, "vignettes");
const documents = [
  ...readdirSync(dir)
    .filter((f) => f.endsWith(".md"))
    .map((f) => join(dir, f)),
  join(root, "README.md"),
];

describe("the code in vignettes and the README runs", function () {
  this.timeout(300_000);
  for (const path of documents) {
    const file = path.slice(root.length + 1);
    it(file, () => {
      const code = vignetteModule(tsBlocks(readFileSync(path, "utf8")), join(root, "src", "index.ts"));
      expect(code.trim().length).to.be.greaterThan(0);
      // inside the project, so that the vignette's own imports (fp-ts, ...) resolve from node_modules
      const cache = join(root, "node_modules", ".cache");
      mkdirSync(cache, { recursive: true });
      const tmp = mkdtempSync(join(cache, "tskeras-vignette-"));
      const script = join(tmp, file.replace(/\//g, "_").replace(/\.md$/, ".mts"));
      writeFileSync(script, code);
      // the document's own temporary files (os.tmpdir() in the child) go into a folder removed with it
      const ownTmp = documentTmpdir(tmp);
      const r = spawnSync(process.execPath, ["--import", "tsx", script], {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, KERAS_BACKEND: "wasm", TMPDIR: ownTmp },
      });
      rmSync(tmp, { recursive: true, force: true });
      expect(r.status, `${file} failed:\n${r.stdout}\n${r.stderr}`).to.equal(0);
      // the documents show the right way to use model values: none may trigger the R-habit hint
      expect(r.stderr, `${file} dropped a result`).to.not.include("tskeras hint:");
    });
  }
});
