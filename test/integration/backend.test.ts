/**
 * The backend fallback chain, exercised for real in child processes: tfjs-node-gpu → tfjs-node →
 * wasm → cpu, KERAS_BACKEND, use_backend(), and a node binding that is installed but fails to load
 * (what a machine without libtensorflow sees).
 *
 * Stand-ins for the native bindings are written into a temporary folder, never into node_modules (a killed
 * run would leave them there): the child process gets a module-resolution hook that resolves the binding's
 * name to the stand-in.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { backend_info, backend_ready, use_backend, KerasError } from "../../src/index.js";
import { tf } from "../../src/backend/tf.js";

const root = resolve(import.meta.dirname, "../..");

/** Runs `code` in a child process with `k` the package; `hook`: a module that registers a resolution hook. */
function probe(
  env: Record<string, string>,
  code = "console.log(JSON.stringify(await k.backend_ready()))",
  hook?: string,
) {
  const script = `const k = await import(${JSON.stringify(join(root, "src", "index.ts"))}); ${code}`;
  const imports = ["--import", "tsx", ...(hook ? ["--import", pathToFileURL(hook).href] : [])];
  const r = spawnSync(process.execPath, [...imports, "--input-type=module", "-e", script], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, KERAS_BACKEND: "", ...env },
  });
  return r;
}

describe("backend selection", function () {
  this.timeout(120_000);

  it("picks the best available backend and says why better ones were not used", () => {
    const r = probe({});
    expect(r.status, r.stderr).to.equal(0);
    const info = JSON.parse(r.stdout.trim().split("\n").pop()!);
    const nodeInstalled = existsSync(join(root, "node_modules/@tensorflow/tfjs-node"));
    if (!nodeInstalled) {
      expect(info.backend).to.equal("wasm");
      expect(info.not_used).to.deep.equal([
        "@tensorflow/tfjs-node-gpu: not installed",
        "@tensorflow/tfjs-node: not installed",
      ]);
    } else {
      expect(info.backend).to.equal("tensorflow");
    }
    expect(info.version).to.equal(tf.version_core);
    expect(info.chosen_by).to.equal("auto");
  });

  it("prints no tfjs 'running in Node.js' banner", () => {
    const r = probe({ KERAS_BACKEND: "cpu" }, "await k.backend_ready(); k.layer_dense([[1, 2]], { units: 1 });");
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout + r.stderr).to.not.match(/looks like you are running TensorFlow\.js in Node/);
  });

  it("KERAS_BACKEND=cpu forces the cpu backend", () => {
    const r = probe({ KERAS_BACKEND: "cpu" });
    expect(r.status, r.stderr).to.equal(0);
    const info = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(info).to.include({ backend: "cpu", chosen_by: "KERAS_BACKEND" });
  });

  it("KERAS_BACKEND with an unknown name is a KerasError", () => {
    const r = probe(
      { KERAS_BACKEND: "theano" },
      "try { await k.backend_ready(); } catch (e) { console.log(e.name + ': ' + e.message); }",
    );
    expect(r.stdout).to.match(
      /KerasError: backend_ready\(\): KERAS_BACKEND must be "tensorflow", "wasm" or "cpu", got "theano"/,
    );
  });

  it("KERAS_BACKEND=tensorflow without the node bindings says what is missing", function () {
    if (existsSync(join(root, "node_modules/@tensorflow/tfjs-node"))) this.skip();
    const r = probe(
      { KERAS_BACKEND: "tensorflow" },
      "try { await k.backend_ready(); } catch (e) { console.log(e.message); }",
    );
    expect(r.stdout).to.match(
      /backend "tensorflow" is not available: @tensorflow\/tfjs-node-gpu: not installed; @tensorflow\/tfjs-node: not installed/,
    );
  });

  /**
   * Runs `run(hook)` with a stand-in for the package `pkg` whose entry is `code` (CommonJS), in a
   * temporary folder that is removed afterwards; `hook` makes a child process resolve `pkg` to it.
   * Returns FALSE (nothing run) when the real package is installed.
   */
  function withStub(pkg: string, code: string, run: (hook: string) => void): boolean {
    if (existsSync(join(root, "node_modules", pkg))) return false; // the real package: nothing to simulate
    const dir = mkdtempSync(join(tmpdir(), "tskeras-backend-"));
    try {
      const entry = join(dir, "stub", "index.cjs");
      mkdirSync(join(dir, "stub"));
      writeFileSync(entry, code);
      const resolveHook = join(dir, "resolve.mjs");
      writeFileSync(
        resolveHook,
        `export async function resolve(specifier, context, next) {\n` +
          `  if (specifier === ${JSON.stringify(pkg)}) return { url: ${JSON.stringify(pathToFileURL(entry).href)}, shortCircuit: true };\n` +
          `  return next(specifier, context);\n}\n`,
      );
      const hook = join(dir, "register.mjs");
      writeFileSync(
        hook,
        `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(resolveHook).href)});\n`,
      );
      run(hook);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return true;
  }

  it("an installed node binding that fails to load falls back to wasm and reports the failure", function () {
    const ran = withStub(
      "@tensorflow/tfjs-node",
      'throw new Error("libtensorflow.so.2: cannot open shared object file: No such file or directory");\n',
      (hook) => {
        const r = probe({}, undefined, hook);
        expect(r.status, r.stderr).to.equal(0);
        const info = JSON.parse(r.stdout.trim().split("\n").pop()!);
        expect(info.backend).to.equal("wasm");
        expect(info.not_used[1]).to.equal(
          "@tensorflow/tfjs-node: failed to load (libtensorflow.so.2: cannot open shared object file: No such file or directory)",
        );
      },
    );
    if (!ran) this.skip(); // a real tfjs-node is installed: nothing to simulate
  });

  /** A stand-in for a native binding that, like the real one, registers a "tensorflow" backend. */
  function withStubBinding(pkg: string, run: (hook: string) => void): boolean {
    // The real bindings register their backend on the tfjs they require(); a cpu backend stands in.
    const project = JSON.stringify(join(root, "package.json"));
    return withStub(
      pkg,
      `const req = require("node:module").createRequire(${project});\n` +
        'const tf = req("@tensorflow/tfjs");\nconst { MathBackendCPU } = req("@tensorflow/tfjs-backend-cpu");\n' +
        'tf.registerBackend("tensorflow", () => new MathBackendCPU(), 3);\n',
      run,
    );
  }

  it("a working tfjs-node-gpu is chosen first and reported as CUDA", function () {
    const ran = withStubBinding("@tensorflow/tfjs-node-gpu", (hook) => {
      const r = probe({}, undefined, hook);
      expect(r.status, r.stderr).to.equal(0);
      const info = JSON.parse(r.stdout.trim().split("\n").pop()!);
      expect(info).to.deep.include({
        backend: "tensorflow",
        package: "@tensorflow/tfjs-node-gpu",
        gpu: true,
        chosen_by: "auto",
      });
      expect(info.not_used).to.deep.equal([]);
    });
    if (!ran) this.skip();
  });

  it("without tfjs-node-gpu, a working tfjs-node comes next", function () {
    if (existsSync(join(root, "node_modules/@tensorflow/tfjs-node-gpu"))) this.skip();
    const ran = withStubBinding("@tensorflow/tfjs-node", (hook) => {
      const r = probe({}, undefined, hook);
      expect(r.status, r.stderr).to.equal(0);
      const info = JSON.parse(r.stdout.trim().split("\n").pop()!);
      expect(info).to.deep.include({ backend: "tensorflow", package: "@tensorflow/tfjs-node", gpu: false });
      expect(info.not_used).to.deep.equal(["@tensorflow/tfjs-node-gpu: not installed"]);
    });
    if (!ran) this.skip();
  });

  it("use_backend switches in process and backend_info reports it", async () => {
    await backend_ready();
    const cpu = await use_backend("cpu");
    expect(cpu.backend).to.equal("cpu");
    expect(tf.getBackend()).to.equal("cpu");
    expect(backend_info()).to.include({ backend: "cpu", chosen_by: "use_backend" });
    const wasm = await use_backend("wasm");
    expect(wasm.backend).to.equal("wasm");
    expect(tf.getBackend()).to.equal("wasm");
  });

  it("use_backend rejects unknown names with a KerasError", async () => {
    let err: unknown;
    try {
      await use_backend("gpu" as any);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(KerasError);
    expect((err as Error).message).to.equal('use_backend(): `name` must be "tensorflow", "wasm" or "cpu", got "gpu"');
  });
});
