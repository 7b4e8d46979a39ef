/**
 * Native matrix products for the fused kernels: assets/native/products.c (AVX-512 where the CPU has it,
 * else AVX2 + FMA; the same bits as gemm.ts's WebAssembly products with relaxed SIMD's fused
 * multiply-add), built with this machine's C compiler on first use into a per-user cache and loaded as a
 * Node addon. WebAssembly's 128-bit SIMD runs the products at ≈ 60 GFLOP/s per core here, AVX2 + FMA at
 * 107–128, AVX-512 at 170–230 (bench/gemm.ts; bench/ANALYSIS.md, rounds 6 and 7).
 *
 * The WebAssembly modules import gemm_nn / gemm_tn from "native" instead of defining them (gemm.ts
 * `GEMM_FUNCTIONS`); everything else — the sequence functions, the threads, the arena — is unchanged.
 * Used when all hold: Linux on x86-64, relaxed SIMD on (wasm.ts `relaxedSimd()`: the same chain of fused
 * multiply-adds), a C compiler (`$CC`, else `cc`), the CPU has AVX2 and FMA, and TSKERAS_NATIVE is not "0".
 * Otherwise the WebAssembly products run, as before; `nativeProductsStatus()` says which and why.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GEMM_PARAMS } from "./gemm.js";
import { relaxedSimd } from "./wasm.js";

/** A native function as an addon exports it: the memory, then the WebAssembly function's i32 parameters. */
export type NativeFunction = (memory: Uint8Array, ...params: number[]) => void;

/** products.c: gemm_nn / gemm_tn (`PRODUCT_FUNCTIONS`), and the vector width. */
interface Addon extends Record<string, unknown> {
  supported(): boolean;
  /** The products' vector width: 16 (AVX-512) or 8 (AVX2). */
  lanes(): number;
  /** The CPU's widest of those. */
  widest(): number;
  /** Sets the width (tests); false where the CPU lacks it. */
  useLanes(n: number): boolean;
}

/** assets/native: the C sources and the headers they share. */
const NATIVE_DIR = fileURLToPath(new URL("../../../../assets/native/", import.meta.url));
const PRODUCTS_SOURCE = join(NATIVE_DIR, "products.c");
const FLAGS = ["-O3", "-ffp-contract=off", "-shared", "-fPIC", "-w"];

/** The addon (and the file it was loaded from), or why the WebAssembly products run instead. */
let decided: { addon: Addon; file: string } | string | undefined;
let enabled = true;

const uid = process.getuid?.() ?? -1;

function cacheDir(env: NodeJS.ProcessEnv): string {
  if (env.TSKERAS_CACHE_DIR) return env.TSKERAS_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "tskeras");
  const home = homedir();
  return home ? join(home, ".cache", "tskeras") : join(tmpdir(), `tskeras-${uid}`);
}

/**
 * Builds the addon `name` from C `source` into the cache unless it is there (named by a digest of the
 * source, the headers it may include, the compiler and its flags; a temporary file renamed into place:
 * no debris, no half file). A file there that this user does not own is not loaded (someone else could
 * have put it there); one that does not load (`fresh`) is built again.
 */
function built(env: NodeJS.ProcessEnv, fresh: boolean, name: string, source: string): string {
  const compiler = env.CC || "cc";
  const hash = createHash("sha256").update(source);
  for (const h of readdirSync(NATIVE_DIR)
    .filter((f) => f.endsWith(".h"))
    .sort())
    hash.update(h).update(readFileSync(join(NATIVE_DIR, h)));
  const digest = hash
    .update(JSON.stringify([compiler, FLAGS, process.platform, process.arch]))
    .digest("hex")
    .slice(0, 16);
  const dir = cacheDir(env);
  const file = join(dir, `${name}-${digest}.node`);
  if (existsSync(file)) {
    if (statSync(file).uid !== uid) throw new Error(`${file} belongs to another user`);
    if (!fresh) return file;
    rmSync(file);
  }
  mkdirSync(dir, { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  try {
    execFileSync(compiler, [...FLAGS, "-I", NATIVE_DIR, "-x", "c", "-", "-o", partial], {
      input: source,
      stdio: "pipe",
      timeout: 60_000,
    });
    renameSync(partial, file);
  } finally {
    rmSync(partial, { force: true });
  }
  return file;
}

/**
 * The addon `name` built from `source` (`what` names the source in messages), loaded; or why it could
 * not be. Whether native code should run at all is the caller's to decide (`decideNativeProducts`).
 */
export function loadAddon<T>(
  env: NodeJS.ProcessEnv,
  name: string,
  source: string,
  what: string,
): { addon: T; file: string } | string {
  let problem = "";
  for (const fresh of [false, true]) {
    let file: string;
    try {
      file = built(env, fresh, name, source);
    } catch (e) {
      const why = (e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message;
      return `could not build ${what} with ${env.CC || "cc"}: ${why.split("\n")[0]}`;
    }
    try {
      return { addon: createRequire(import.meta.url)(file) as T, file };
    } catch (e) {
      problem = `could not load ${file}: ${(e as Error).message}`;
    }
  }
  return problem;
}

/**
 * The addon, built into the cache if it is not there, and the file it was loaded from; or why the
 * WebAssembly products run instead (`env`: the process's environment, or a test's).
 */
export function decideNativeProducts(env: NodeJS.ProcessEnv): { addon: Addon; file: string } | string {
  if (env.TSKERAS_NATIVE === "0") return "turned off (TSKERAS_NATIVE=0)";
  if (process.platform !== "linux" || process.arch !== "x64")
    return `no native products for ${process.platform}/${process.arch} (Linux x86-64 only)`;
  if (!relaxedSimd()) return "relaxed SIMD is off: the WebAssembly products multiply and add separately";
  const loaded = loadAddon<Addon>(env, "products", readFileSync(PRODUCTS_SOURCE, "utf8"), PRODUCTS_SOURCE);
  if (typeof loaded === "string") return loaded;
  return loaded.addon.supported() ? loaded : "this CPU has no AVX2 and FMA";
}

/** The addon when this machine can run it (decided once per process), else null. */
function addon(): Addon | null {
  decided ??= decideNativeProducts(process.env);
  return typeof decided === "string" ? null : decided.addon;
}

/** Whether modules compiled now take the native products. */
export function useNativeProducts(): boolean {
  return enabled && addon() !== null;
}

/** A native path's state: its instruction set and file, or why it does not run (`isa` null). */
export interface NativeStatus {
  readonly isa: string | null;
  readonly detail: string;
}

/** Which products the fused kernels use, and why. */
export function nativeProductsStatus(): NativeStatus {
  if (useNativeProducts()) {
    const { addon, file } = decided as { addon: Addon; file: string };
    return { isa: addon.lanes() === 16 ? "AVX-512" : "AVX2 + FMA", detail: file };
  }
  return { isa: null, detail: enabled ? (decided as string) : "turned off (setNativeProducts(false))" };
}

/** The widest vector the native code can use on this CPU: 16 lanes (AVX-512) or 8 (AVX2; also without the addon). */
export function nativeWidestLanes(): 8 | 16 {
  return addon()?.widest() === 16 ? 16 : 8;
}

/**
 * The products' vector width from now on, every thread (tests compare both with the WebAssembly
 * products); false where the CPU lacks it or there are no native products.
 */
export function setNativeProductLanes(n: 8 | 16): boolean {
  return addon()?.useLanes(n) ?? false;
}

/** The addon's file, for the worker threads (null when it is not loaded). */
export function nativeProductsFile(): string | null {
  return addon() ? (decided as { file: string }).file : null;
}

/**
 * Off: modules compiled from now on define their own products (tests compare the two paths bit for bit;
 * a module already compiled keeps its products).
 */
export function setNativeProducts(on: boolean): void {
  enabled = on;
}

/**
 * Native calls run, per thread: this thread counts at slot 0, worker i at `nativeCounterSlot(i)`
 * (threads.ts hands the array to the workers); products at PRODUCT_COUNT_OFFSET past a slot, step
 * functions (native_steps.ts) at STEP_COUNT_OFFSET. A cache line per thread: counting on every call must
 * not make the threads share one (slots are reused past 8 threads: still exact, Atomics.add).
 */
const COUNTER_STRIDE = 16;
const COUNTER_SLOTS = 8;
export const nativeCallCounter = new Int32Array(new SharedArrayBuffer(4 * COUNTER_STRIDE * COUNTER_SLOTS));
export const PRODUCT_COUNT_OFFSET = 0;
export const STEP_COUNT_OFFSET = 1;
export const nativeCounterSlot = (worker: number): number => ((worker + 1) % COUNTER_SLOTS) * COUNTER_STRIDE;

/** How many native calls of one kind (its offset) this process has run, worker threads included. */
export function nativeCalls(offset: number): number {
  let n = 0;
  for (let i = offset; i < nativeCallCounter.length; i += COUNTER_STRIDE) n += Atomics.load(nativeCallCounter, i);
  return n;
}

/** How many native products this process has run, worker threads included (tests assert that the path ran). */
export const nativeProductCalls = (): number => nativeCalls(PRODUCT_COUNT_OFFSET);

/** The products' functions: name and number of i32 parameters (gemm.ts's GEMM_PARAMS). */
export const PRODUCT_FUNCTIONS: readonly (readonly [string, number])[] = [
  ["gemm_nn", GEMM_PARAMS.length],
  ["gemm_tn", GEMM_PARAMS.length],
];

/**
 * `(memory, addon, functions, count) => imports`: a module namespace of the addon's `functions` ([name,
 * parameters]) for a module instantiated on `memory`, as source — the worker threads (threads.ts) evaluate
 * the same text. Each import takes its function's parameters (the module checks the arity) and hands the
 * addon a view of the memory, renewed when the memory has grown (an unshared memory's buffer moves).
 */
export const NATIVE_IMPORTS_SOURCE = `(memory, addon, functions, count) => {
  let view = new Uint8Array(memory.buffer);
  const current = () => {
    if (view.byteLength !== memory.buffer.byteLength) view = new Uint8Array(memory.buffer);
    count();
    return view;
  };
  const imports = {};
  for (const [name, arity] of functions) {
    const args = Array.from({ length: arity }, (_, i) => "a" + i).join(", ");
    imports[name] = new Function("f", "current", "return (" + args + ") => f(current(), " + args + ")")(addon[name], current);
  }
  return imports;
}`;

const importsOf = new Function(`return ${NATIVE_IMPORTS_SOURCE}`)() as (
  memory: { buffer: ArrayBuffer },
  addon: object,
  functions: readonly (readonly [string, number])[],
  count: () => void,
) => Record<string, (...params: number[]) => void>;

/** This thread's imports of `functions` from `addon` for a module on `memory`, counted at `countOffset`. */
export function nativeImportsOf(
  memory: { buffer: ArrayBuffer },
  addon: object,
  functions: readonly (readonly [string, number])[],
  countOffset: number,
): Record<string, (...params: number[]) => void> {
  return importsOf(memory, addon, functions, () => Atomics.add(nativeCallCounter, countOffset, 1));
}

/** The import object's "native" namespace for this thread's modules on `memory` (empty without the addon). */
export function nativeImports(memory: { buffer: ArrayBuffer }): {
  native?: Record<string, (...params: number[]) => void>;
} {
  const a = addon();
  return a ? { native: nativeImportsOf(memory, a, PRODUCT_FUNCTIONS, PRODUCT_COUNT_OFFSET) } : {};
}
