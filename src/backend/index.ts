/**
 * Backend selection (DESIGN principle 7): best first — tfjs-node-gpu (CUDA), tfjs-node, wasm, cpu.
 * The node packages are optional peers, loaded with `await import()` inside try/catch; what was
 * tried and why it was not used is kept for `backend_info()`.
 */
import { tf } from "./tf.js";
import { KerasError, describeValue } from "../errors.js";
import { registerCpuReplacementKernels, registerWasmFallbackKernels } from "./wasm_kernels.js";
import { registerGatherKernel } from "./gather.js";
import { refuseArgumentsPast } from "../args.js";

export type BackendName = "tensorflow" | "wasm" | "cpu";

export interface BackendInfo {
  /** tfjs backend name in use: "tensorflow" (tfjs-node / tfjs-node-gpu), "wasm" or "cpu". */
  readonly backend: string;
  /** The npm package that provides it. */
  readonly package: string;
  readonly version: string;
  /** TRUE when the CUDA build (tfjs-node-gpu) is in use. */
  readonly gpu: boolean;
  /** Why each better backend was not used, best first. */
  readonly not_used: readonly string[];
  /** How it was chosen: "auto", "KERAS_BACKEND", or "use_backend". */
  readonly chosen_by: string;
}

let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

const VERSION = tf.version_core;

async function tryNodeBinding(pkg: "@tensorflow/tfjs-node-gpu" | "@tensorflow/tfjs-node"): Promise<string | undefined> {
  try {
    await import(pkg);
  } catch (e) {
    const code = (e as { code?: string }).code;
    return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND"
      ? `${pkg}: not installed`
      : `${pkg}: failed to load (${(e as Error).message.split("\n")[0]})`;
  }
  if (!tf.findBackend("tensorflow")) return `${pkg}: loaded but registered no "tensorflow" backend`;
  return undefined;
}

async function tryWasm(): Promise<string | undefined> {
  try {
    await import("@tensorflow/tfjs-backend-wasm");
    return undefined;
  } catch (e) {
    return `@tensorflow/tfjs-backend-wasm: failed to load (${(e as Error).message.split("\n")[0]})`;
  }
}

async function activate(name: BackendName): Promise<boolean> {
  try {
    const ok = await tf.setBackend(name);
    if (ok) await tf.ready();
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  }
}

/** Backend info is a value: frozen, with its list. */
const frozenInfo = (info: BackendInfo): BackendInfo =>
  Object.freeze({ ...info, not_used: Object.freeze([...info.not_used]) });

async function select(wanted: BackendName | undefined, chosenBy: string): Promise<BackendInfo> {
  const notUsed: string[] = [];
  const order: BackendName[] = wanted ? [wanted] : ["tensorflow", "wasm", "cpu"];
  for (const name of order) {
    if (name === "tensorflow") {
      for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const) {
        const why = await tryNodeBinding(pkg);
        if (why) {
          notUsed.push(why);
          continue;
        }
        if (await activate("tensorflow")) {
          return frozenInfo({
            backend: "tensorflow",
            package: pkg,
            version: VERSION,
            gpu: pkg.endsWith("gpu"),
            not_used: notUsed,
            chosen_by: chosenBy,
          });
        }
        notUsed.push(`${pkg}: the "tensorflow" backend failed to initialise`);
      }
    } else if (name === "wasm") {
      const why = await tryWasm();
      if (why) notUsed.push(why);
      else if (await activate("wasm")) {
        registerWasmFallbackKernels();
        registerGatherKernel("wasm");
        return frozenInfo({
          backend: "wasm",
          package: "@tensorflow/tfjs-backend-wasm",
          version: VERSION,
          gpu: false,
          not_used: notUsed,
          chosen_by: chosenBy,
        });
      } else notUsed.push("@tensorflow/tfjs-backend-wasm: the wasm backend failed to initialise");
    } else if (await activate("cpu")) {
      registerCpuReplacementKernels();
      registerGatherKernel("cpu");
      return frozenInfo({
        backend: "cpu",
        package: "@tensorflow/tfjs (cpu)",
        version: VERSION,
        gpu: false,
        not_used: notUsed,
        chosen_by: chosenBy,
      });
    }
  }
  throw new KerasError(
    chosenBy === "auto" ? "backend_ready" : chosenBy,
    `backend "${wanted}" is not available: ${notUsed.join("; ")}`,
    "runtime",
  );
}

function envChoice(): BackendName | undefined {
  const raw = process.env.KERAS_BACKEND?.trim().toLowerCase();
  if (!raw) return undefined;
  if (raw === "tensorflow" || raw === "wasm" || raw === "cpu") return raw;
  throw new KerasError(
    "backend_ready",
    `KERAS_BACKEND must be "tensorflow", "wasm" or "cpu", got ${JSON.stringify(raw)}`,
  );
}

/**
 * Selects the backend on first use (KERAS_BACKEND, else best available) and reports it.
 *
 * @example
 * const info = await backend_ready(); // { backend: "wasm", ... }
 */
export function backend_ready(): Promise<BackendInfo> {
  refuseArgumentsPast("backend_ready", [], arguments);
  if (current) return Promise.resolve(current);
  if (!pending) {
    const wanted = envChoice();
    pending = select(wanted, wanted ? "KERAS_BACKEND" : "auto").then(
      (info) => (current = info),
      (e) => {
        pending = undefined;
        throw e;
      },
    );
  }
  return pending;
}

/**
 * Whether a backend is selected (backend_ready() would resolve at once): a streaming predict() then does
 * not await it.
 */
export const backendSelected = (): boolean => current !== undefined;

/**
 * Switches backend explicitly: "tensorflow" (tfjs-node-gpu, else tfjs-node), "wasm" or "cpu".
 *
 * @example
 * await use_backend("cpu");
 */
export async function use_backend(name: BackendName): Promise<BackendInfo> {
  refuseArgumentsPast("use_backend", ["name"], arguments);
  if (name !== "tensorflow" && name !== "wasm" && name !== "cpu") {
    throw new KerasError("use_backend", `\`name\` must be "tensorflow", "wasm" or "cpu", got ${describeValue(name)}`);
  }
  if (pending) await pending.catch(() => undefined);
  current = await select(name, "use_backend");
  pending = Promise.resolve(current);
  return current;
}

/**
 * The backend in use. Before `backend_ready()`/`use_backend()` has run (only eager, synchronous layer
 * calls get there), tfjs's built-in cpu backend is what computes, and this says so.
 *
 * @example
 * console.log(backend_info().backend); // "wasm"
 */
export function backend_info(): BackendInfo {
  refuseArgumentsPast("backend_info", [], arguments);
  if (current) return current;
  return frozenInfo({
    backend: tf.getBackend() ?? "cpu",
    package: "@tensorflow/tfjs (cpu)",
    version: VERSION,
    gpu: false,
    not_used: ["not selected yet: await backend_ready() (fit/predict/evaluate do) to pick the best backend"],
    chosen_by: "default",
  });
}
