/**
 * Worker threads for the fused kernels: a job is a list of chunks (a chunk is a few calls into one
 * compiled module, e.g. a whole sequence for 16 rows of the batch), run by the calling thread and the
 * workers together on one shared WebAssembly.Memory (the arena, mem.ts). Chunks write disjoint memory
 * (rows of the states, their own partial gradients), so the result does not depend on which thread ran
 * which chunk, nor on the number of threads.
 *
 * Synchronisation is once per job, through a small shared control block: the caller writes the job's
 * table into the arena, bumps the generation and wakes the workers (Atomics.notify); every thread
 * claims chunks with compare-and-swap on one word (generation · 2^16 + next chunk) until none is left;
 * the caller then sleeps until the done counter reaches the chunk count. Workers sleep in Atomics.wait
 * between jobs, are unref'd (they never keep the process alive) and start on the first job that has
 * more than one chunk. A worker gets each compiled module once, before the first job that uses it, as
 * a message it reads synchronously (receiveMessageOnPort) when it wakes.
 *
 * Threads: TSKERAS_NUM_THREADS (all threads, the caller included; 1 = none), default the machine's
 * available parallelism, at most 8.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import {
  NATIVE_IMPORTS_SOURCE,
  nativeCallCounter,
  nativeCounterSlot,
  nativeProductsFile,
  PRODUCT_COUNT_OFFSET,
  PRODUCT_FUNCTIONS,
  STEP_COUNT_OFFSET,
} from "./native.js";
import type { CompiledModule, StepKernel, WasmMemory } from "./step_kernels.js";

/** One call of a chunk: a function of the job's module and its arguments in parameter order. */
export interface ChunkCall {
  readonly kernel: StepKernel;
  readonly args: readonly number[];
}

// control block slots (Int32)
const GEN = 0,
  CLAIM = 1,
  DONE = 2,
  FAILED = 3,
  NCHUNKS = 4,
  MODULE = 5,
  TABLE = 6,
  CONTROL_INTS = 8;

/** The worker's code (CommonJS, evaluated): wait, take modules, claim and run chunks, count them done. */
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { memory, control, port, nativeFile, nativeCounter, counterSlot } = workerData;
const ctl = new Int32Array(control);
const modules = new Map();
const importsOf = ${NATIVE_IMPORTS_SOURCE};
const counting = (offset) => () => Atomics.add(nativeCounter, counterSlot + offset, 1);
let native;
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${GEN}, seen);
  seen = Atomics.load(ctl, ${GEN});
  for (let m; (m = receiveMessageOnPort(port)); ) {
    const { id, module, names, usesNative, steps } = m.message;
    const imports = { env: { memory } };
    if (usesNative)
      imports.native = native ??= importsOf(memory, require(nativeFile), ${JSON.stringify(PRODUCT_FUNCTIONS)}, counting(${PRODUCT_COUNT_OFFSET}));
    if (steps) imports.steps = importsOf(memory, require(steps.file), steps.functions, counting(${STEP_COUNT_OFFSET}));
    const exports = new WebAssembly.Instance(module, imports).exports;
    modules.set(id, names.map((n) => exports[n]));
  }
  for (;;) {
    const w = Atomics.load(ctl, ${CLAIM});
    if (w >>> 16 !== (seen & 0xffff)) break;
    const c = w & 0xffff;
    if (c >= Atomics.load(ctl, ${NCHUNKS})) break;
    if (Atomics.compareExchange(ctl, ${CLAIM}, w, w + 1) !== w) continue;
    try {
      const fns = modules.get(Atomics.load(ctl, ${MODULE}));
      const heap = new Int32Array(memory.buffer);
      let p = heap[(Atomics.load(ctl, ${TABLE}) >> 2) + c] >> 2;
      for (let n = heap[p++]; n > 0; n--) {
        const f = fns[heap[p++]], k = heap[p++];
        f(...heap.subarray(p, p + k));
        p += k;
      }
    } catch (e) {
      Atomics.store(ctl, ${FAILED}, 1);
    }
    if (Atomics.add(ctl, ${DONE}, 1) + 1 === Atomics.load(ctl, ${NCHUNKS})) Atomics.notify(ctl, ${DONE});
  }
}
`;

type WorkerThreads = typeof import("node:worker_threads");

/** Threads the fused kernels use (the caller included). */
export function threadCount(): number {
  const env = Number(process.env.TSKERAS_NUM_THREADS);
  const n = Number.isInteger(env) && env >= 1 ? env : availableParallelism();
  return Math.max(1, Math.min(8, n));
}

/** Whether this runtime can share a WebAssembly.Memory with worker threads. */
export function threadsAvailable(): boolean {
  return typeof SharedArrayBuffer === "function" && typeof Atomics === "object" && threadCount() > 1;
}

interface Worker {
  readonly port: { postMessage(m: unknown): void };
  readonly sent: Set<number>;
  alive: boolean;
}

let jobsOnWorkers = 0;
/** How many jobs this process has run with worker threads (tests assert that the threads ran). */
export function threadedJobs(): number {
  return jobsOnWorkers;
}

const failures: string[] = [];
/**
 * Why worker threads of this process died (a dead worker's chunks run on the calling thread, so nothing
 * else shows it; tests assert that none did).
 */
export function workerThreadFailures(): readonly string[] {
  return failures;
}

export class ThreadPool {
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_INTS * 4));
  private workers: Worker[] | null = null;
  private gen = 0;
  private readonly moduleIds = new Map<CompiledModule, number>();

  constructor(
    private readonly memory: WasmMemory,
    /** Threads that run jobs, the caller included. */
    readonly threads: number,
    /** `n` bytes of the shared memory for a job's table, valid until the job ends. */
    private readonly scratch: (bytes: number) => number,
  ) {}

  private start(): Worker[] {
    const wt = createRequire(import.meta.url)("node:worker_threads") as WorkerThreads;
    return Array.from({ length: this.threads - 1 }, (_, i) => {
      const { port1, port2 } = new wt.MessageChannel();
      const w = new wt.Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          memory: this.memory,
          control: this.control.buffer,
          port: port2,
          nativeFile: nativeProductsFile(),
          nativeCounter: nativeCallCounter,
          counterSlot: nativeCounterSlot(i),
        },
        transferList: [port2],
      });
      const worker: Worker = { port: port1, sent: new Set(), alive: true };
      w.on("error", (e: Error) => {
        worker.alive = false;
        failures.push(e.message);
      });
      w.on("exit", () => (worker.alive = false));
      w.unref();
      port1.unref?.();
      return worker;
    });
  }

  /** Runs every chunk (each call list in order), on this thread and the workers; returns when all are done. */
  run(compiled: CompiledModule, chunks: readonly (readonly ChunkCall[])[]): void {
    if (this.threads <= 1 || chunks.length <= 1) {
      for (const calls of chunks) for (const c of calls) c.kernel.call0(c.args);
      return;
    }
    const workers = (this.workers ??= this.start());
    jobsOnWorkers++;
    let id = this.moduleIds.get(compiled);
    if (id === undefined) this.moduleIds.set(compiled, (id = this.moduleIds.size));
    for (const w of workers)
      if (!w.sent.has(id)) {
        w.port.postMessage({
          id,
          module: compiled.module,
          names: compiled.functions.map((f) => f.name),
          usesNative: compiled.native,
          steps: compiled.steps,
        });
        w.sent.add(id);
      }

    // the table: chunk c's call list at the byte offset in slot c
    const sizes = chunks.map((calls) => 1 + calls.reduce((n, c) => n + 2 + c.args.length, 0));
    const table = this.scratch(4 * (chunks.length + sizes.reduce((a, b) => a + b, 0)));
    const heap = new Int32Array(this.memory.buffer);
    let p = (table >> 2) + chunks.length;
    chunks.forEach((calls, c) => {
      heap[(table >> 2) + c] = p << 2;
      heap[p++] = calls.length;
      for (const call of calls) {
        heap[p++] = compiled.functions.indexOf(call.kernel.fn);
        heap[p++] = call.args.length;
        heap.set(call.args, p);
        p += call.args.length;
      }
    });

    const ctl = this.control;
    const n = chunks.length;
    this.gen = (this.gen + 1) & 0x7fffffff;
    const g16 = this.gen & 0xffff;
    Atomics.store(ctl, NCHUNKS, n);
    Atomics.store(ctl, MODULE, id);
    Atomics.store(ctl, TABLE, table);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, FAILED, 0);
    Atomics.store(ctl, CLAIM, g16 << 16);
    Atomics.store(ctl, GEN, this.gen);
    Atomics.notify(ctl, GEN);

    // this thread claims chunks like a worker
    let failure: unknown = null;
    for (;;) {
      const w = Atomics.load(ctl, CLAIM);
      const c = w & 0xffff;
      if (c >= n) break;
      if (Atomics.compareExchange(ctl, CLAIM, w, w + 1) !== w) continue;
      try {
        for (const call of chunks[c]) call.kernel.call0(call.args);
      } catch (e) {
        failure ??= e;
      }
      Atomics.add(ctl, DONE, 1);
    }
    for (let done = Atomics.load(ctl, DONE); done < n; done = Atomics.load(ctl, DONE)) {
      if (Atomics.wait(ctl, DONE, done, 2000) === "timed-out" && workers.some((w) => !w.alive))
        throw new Error("fused kernels: a worker thread died");
    }
    if (failure) throw failure;
    if (Atomics.load(ctl, FAILED)) throw new Error("fused kernels: a chunk failed in a worker thread");
  }
}
