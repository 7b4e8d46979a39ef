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
import { relaxedSimd } from "./wasm.js";

/** The addon's one product: `gemm(memory, transA, ...GEMM_PARAMS)`, offsets and strides in bytes. */
type NativeGemm = (memory: Uint8Array, transA: number, ...params: number[]) => void;

interface Addon {
  gemm: NativeGemm;
  supported(): boolean;
  /** The products' vector width: 16 (AVX-512) or 8 (AVX2). */
  lanes(): number;
  /** Sets it (tests); false where the CPU lacks it. */
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
 * not be. Whether this machine may build native code at all is the caller's (`nativeProblem`).
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

/** Which products the fused kernels use, and why. */
export function nativeProductsStatus(): { native: boolean; detail: string } {
  if (useNativeProducts()) {
    const { addon, file } = decided as { addon: Addon; file: string };
    return { native: true, detail: `${addon.lanes() === 16 ? "AVX-512" : "AVX2 + FMA"} (${file})` };
  }
  return { native: false, detail: enabled ? (decided as string) : "turned off (setNativeProducts(false))" };
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
 * Native products run, per thread: this thread counts at 0, worker i at `nativeCounterSlot(i)` (threads.ts
 * hands the array to the workers); native step functions (native_steps.ts) at STEP_COUNT_OFFSET past
 * those. A cache line each: counting on every call must not make the threads share one (slots are
 * reused past 8 threads: still exact, Atomics.add).
 */
const COUNTER_STRIDE = 16;
const COUNTER_SLOTS = 8;
export const nativeProductCounter = new Int32Array(new SharedArrayBuffer(4 * COUNTER_STRIDE * COUNTER_SLOTS));
export const STEP_COUNT_OFFSET = 1;
export const nativeCounterSlot = (worker: number): number => ((worker + 1) % COUNTER_SLOTS) * COUNTER_STRIDE;
/** How many native products this process has run, worker threads included (tests assert that the path ran). */
export function nativeProductCalls(): number {
  let n = 0;
  for (let i = 0; i < nativeProductCounter.length; i += COUNTER_STRIDE) n += Atomics.load(nativeProductCounter, i);
  return n;
}

/** The "native" namespace of a module's imports: gemm_nn / gemm_tn with GEMM_PARAMS, as gemm.ts's functions. */
export interface ProductImports {
  readonly gemm_nn: (...params: number[]) => void;
  readonly gemm_tn: (...params: number[]) => void;
}

/**
 * `(memory, addon, count) => ProductImports` for a module instantiated on `memory`, as source: the worker
 * threads (threads.ts) evaluate the same text. The addon reads the memory through a view, renewed when
 * the memory has grown (an unshared memory's buffer moves).
 */
export const PRODUCT_IMPORTS_SOURCE = `(memory, addon, count) => {
  let view = new Uint8Array(memory.buffer);
  const product = (transA) => (m, k, n, a, lda, b, ldb, bpanel, c, ldc, acc) => {
    if (view.byteLength !== memory.buffer.byteLength) view = new Uint8Array(memory.buffer);
    count();
    addon.gemm(view, transA, m, k, n, a, lda, b, ldb, bpanel, c, ldc, acc);
  };
  return { gemm_nn: product(0), gemm_tn: product(1) };
}`;

const productImports = new Function(`return ${PRODUCT_IMPORTS_SOURCE}`)() as (
  memory: { buffer: ArrayBuffer },
  addon: Addon,
  count: () => void,
) => ProductImports;

/** The import object's "native" namespace for this thread's modules on `memory` (empty without the addon). */
export function nativeImports(memory: { buffer: ArrayBuffer }): { native?: ProductImports } {
  const a = addon();
  return a ? { native: productImports(memory, a, () => Atomics.add(nativeProductCounter, 0, 1)) } : {};
}
