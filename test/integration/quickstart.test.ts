/**
 * The README's quick start as a new user runs it: the package packed with `npm pack`, installed into a
 * fresh `npm init -y` project set to ES modules, and the README's first example run verbatim with tsx.
 */
import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/** The README's first ```ts block and the first ```sh block after it (the new-project commands). */
function quickstart(): { code: string; commands: string[] } {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const code = /```ts\n([\s\S]*?)```/.exec(readme)![1];
  const after = readme.slice(readme.indexOf(code) + code.length);
  const sh = /```sh\n([\s\S]*?)```/.exec(after)![1];
  const commands = sh
    .split("\n")
    .map((l) => l.replace(/#.*$/, "").trim())
    .filter((l) => l.length > 0);
  return { code, commands };
}

describe("the README quick start in a fresh npm project", function () {
  this.timeout(600_000);

  it("packs, installs into a new project and runs the first example verbatim", () => {
    const work = mkdtempSync(join(tmpdir(), "tskeras-quickstart-"));
    // npm and the packages it installs (core-js's postinstall writes "core-js-banners") keep their
    // temporary files in `work`, removed at the end.
    const env = { ...process.env, TMPDIR: join(work, "tmp") };
    mkdirSync(env.TMPDIR);
    try {
      execFileSync(npm, ["pack", "--pack-destination", work], { cwd: root, stdio: "ignore", env });
      const tarball = join(
        work,
        readdirSync(work).find((f) => f.endsWith(".tgz"))!,
      );
      const project = join(work, "project");
      execFileSync("mkdir", [project]);
      const { code, commands } = quickstart();
      expect(commands[0]).to.equal("npm init -y && npm pkg set type=module");
      expect(commands[1]).to.match(/^npm install tskeras fp-ts tsx/);
      expect(commands[2]).to.equal("npx tsx quickstart.ts");
      const run = (line: string) => {
        const r = spawnSync("sh", ["-c", line], { cwd: project, encoding: "utf8", env });
        expect(r.status, `${line}\n${r.stdout}\n${r.stderr}`).to.equal(0);
        return r.stdout;
      };
      run(commands[0]);
      // the published name replaced by the packed package; everything else as written
      run(`npm install ${tarball} fp-ts tsx --no-audit --no-fund --prefer-offline`);
      writeFileSync(join(project, "quickstart.ts"), code);
      const out = run(commands[2]);
      expect(out).to.include('Model: "sequential"');
      expect(out).to.include("Total params: 15,809");
      expect(out).to.match(/Epoch 10\/10/);
      // the installed package builds its native products and a GRU's step functions from its own assets/native
      const status = run(
        `TSKERAS_CACHE_DIR=${join(work, "cache")} node --input-type=module -e '${[
          'const k = await import("tskeras");',
          "await k.backend_ready();",
          "const gru = k.layer_gru(k.keras_model_sequential({ input_shape: [2, 2] }), { units: 1 });",
          "const row = k.rnn_fused_status(gru)[0];",
          'console.log(row.products + "; " + row.steps);',
        ].join(" ")}'`,
      ).trim();
      const canBuild =
        process.platform === "linux" &&
        process.arch === "x64" &&
        spawnSync(process.env.CC || "cc", ["--version"]).status === 0 &&
        /\bavx2\b/.test(readFileSync("/proc/cpuinfo", "utf8"));
      if (canBuild) {
        const avx512 = /^flags\s*:.*\bavx512f\b/m.test(readFileSync("/proc/cpuinfo", "utf8"));
        expect(status).to.equal(avx512 ? "native (AVX-512); native (AVX-512)" : "native (AVX2 + FMA); native (AVX2)");
        expect(readdirSync(join(work, "cache")).sort()).to.have.length(2);
      } else expect(status).to.match(/^WebAssembly SIMD: .*; WebAssembly SIMD: /);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
