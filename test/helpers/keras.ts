/**
 * Real Keras 3 as the test oracle. The interpreter comes from `KERAS_PYTHON` (default: the project's
 * `.venv-keras`, which `.ci/run` installs); suites that need it skip with a message when it is absent.
 * Run every case of a suite in one Python call: importing TensorFlow costs seconds.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

/** The interpreter that has keras 3 (+ h5py), from KERAS_PYTHON or the project's venv. */
export const KERAS_PYTHON = process.env.KERAS_PYTHON || join(root, ".venv-keras", "bin", "python");

let available: string | null | undefined;

/** Why Keras cannot be used here (a message for the skip), or null when it can. */
export function kerasUnavailable(): string | null {
  if (available !== undefined) return available;
  if (!existsSync(KERAS_PYTHON)) {
    available = `no Keras interpreter at ${KERAS_PYTHON} (set KERAS_PYTHON, or run .ci/run to install .venv-keras)`;
    return available;
  }
  const r = spawnSync(KERAS_PYTHON, ["-c", "import keras, h5py; print(keras.__version__)"], {
    encoding: "utf8",
    env: kerasEnv(),
  });
  available =
    r.status === 0 ? null : `${KERAS_PYTHON} cannot import keras and h5py: ${r.stderr.trim().split("\n").pop()}`;
  return available;
}

/**
 * In a mocha `before` / `it`: skips the suite or test with the reason when Keras is absent.
 * `this` is mocha's context.
 */
export function requireKeras(ctx: Mocha.Context): void {
  const why = kerasUnavailable();
  if (why) {
    console.log(`      (skipped: ${why})`);
    ctx.skip();
  }
}

export function kerasEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KERAS_BACKEND: process.env.KERAS_ORACLE_BACKEND ?? "tensorflow",
    TF_CPP_MIN_LOG_LEVEL: "3",
    TF_ENABLE_ONEDNN_OPTS: "0",
    PYTHONHASHSEED: "0",
    ...extra,
  };
}

/**
 * Runs a Python script with the Keras interpreter. The script reads the JSON `input` from the file named
 * by `sys.argv[1]` and writes its JSON answer to the file named by `sys.argv[2]`; the parsed answer is
 * returned. Throws with Python's stderr when the script fails.
 */
export function runKeras<T = any>(
  script: string,
  input: unknown = null,
  options: { timeoutMs?: number; cwd?: string } = {},
): T {
  const dir = mkdtempSync(join(tmpdir(), "tskeras-keras-"));
  try {
    const scriptPath = join(dir, "script.py");
    const inPath = join(dir, "in.json");
    const outPath = join(dir, "out.json");
    writeFileSync(scriptPath, script);
    writeFileSync(inPath, JSON.stringify(input));
    const r = spawnSync(KERAS_PYTHON, [scriptPath, inPath, outPath], {
      encoding: "utf8",
      env: kerasEnv(),
      cwd: options.cwd ?? dir,
      timeout: options.timeoutMs ?? 900_000, // a guard against hangs: one suite's call takes minutes on a loaded machine
      maxBuffer: 64 * 2 ** 20,
    });
    if (r.status !== 0) throw new Error(`Keras script failed (status ${r.status}):\n${r.stderr}\n${r.stdout}`);
    return JSON.parse(readFileSync(outPath, "utf8")) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
