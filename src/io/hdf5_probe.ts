/**
 * A watchdog for the HDF5 library on damaged files. Some damage makes HDF5 itself loop forever (a
 * corrupted global heap behind a variable-length string attribute: h5py hangs on it too), and a loop
 * inside WebAssembly cannot be interrupted on the thread that runs it. So before a file is read, a
 * worker thread with its own h5wasm instance walks it — every group, attribute value and dataset header,
 * what the readers touch — and the read goes ahead only when the walk finishes in time; a worker that
 * does not answer is terminated and the file refused. The worker is started on the first file, kept for
 * the next ones, and never keeps the process alive.
 */
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";

/**
 * The worker's code: an eval worker, valid as a CommonJS script and as an ES module (which of the two
 * depends on the parent's flags), importing h5wasm by URL, with HDF5's printing muted.
 */
const WORKER_SOURCE = `
(async () => {
const { parentPort } = await import("node:worker_threads");
const { readFileSync } = await import("node:fs");
console.error = () => {};
console.warn = () => {};
let loaded = null;
let generation = 0;
parentPort.on("message", async ({ id, url, bytes }) => {
  const name = "/probe-" + id + ".h5";
  let h5 = null;
  try {
    h5 = await (loaded ??= import(url + "?probe=" + ++generation).then(async (m) => (await m.ready, m)));
    let tid = null;
    try {
      tid = Number(readFileSync("/proc/thread-self/stat", "utf8").split(" ")[0]);
    } catch {}
    parentPort.postMessage({ id, started: true, tid });
    h5.FS.writeFile(name, bytes);
    const file = new h5.File(name, "r");
    try {
      const seen = new Set();
      const walk = (obj, depth) => {
        if (!obj || depth > 64) return;
        for (const a of Object.keys(obj.attrs ?? {})) void obj.attrs[a].json_value;
        if (obj instanceof h5.Dataset) return void obj.metadata;
        if (!(obj instanceof h5.Group) && obj !== file) return;
        for (const key of obj.keys()) {
          const path = (obj.path === "/" ? "" : obj.path) + "/" + key;
          if (seen.has(path) || seen.size > 100000) continue;
          seen.add(path);
          walk(obj.get(key), depth + 1);
        }
      };
      walk(file, 0);
    } finally {
      try { file.close(); } catch {}
    }
  } catch {
    loaded = null; // a trap may have left the instance broken: the next file gets a fresh one
  } finally {
    try { h5?.FS.unlink(name); } catch {}
  }
  parentPort.postMessage({ id, started: false });
});
})();
`;

let worker: Worker | null = null;
let requests = 0;
/** What to do when the worker starts walking a file, and when it is through. */
const pending = new Map<number, { started: (tid: number | null) => void; done: () => void }>();

function probeWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
  w.unref();
  w.on("message", ({ id, started, tid }: { id: number; started: boolean; tid?: number | null }) => {
    const p = pending.get(id);
    if (started) return p?.started(tid ?? null);
    p?.done();
    pending.delete(id);
  });
  // A worker that fails cannot judge the file: its waiting probe lets the reader try.
  const gone = () => {
    if (worker === w) worker = null;
    for (const [id, p] of pending) {
      pending.delete(id);
      p.done();
    }
  };
  w.on("error", gone);
  w.on("exit", gone);
  worker = w;
  return w;
}

/**
 * Seconds of the worker thread's CPU time the walk of a file of `n` bytes may take once the library is
 * loaded (generous: the walk reads no dataset values, and takes milliseconds on intact files). CPU time
 * of that thread, not time on the clock: a busy machine, or this thread's own work meanwhile, does not
 * make a good file look damaged. Where a thread's CPU time cannot be read (no /proc), the clock is used,
 * with WALL_FACTOR times the limit.
 */
export const probeLimit = (n: number): number => 1 + n / 10e6;
const WALL_FACTOR = 10;

/** A thread's CPU seconds (Linux /proc), or null where they cannot be read. */
function threadCpuSeconds(tid: number): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    // the fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
/** Linux's USER_HZ, the unit of /proc's CPU times (100 on every mainstream platform). */
const CLOCK_TICKS = 100;

/** How often the CPU time is looked at while a walk runs. */
const TICK_MS = 100;

/** Seconds the worker may take to start and load the library. */
const START_LIMIT = 120;

/** Probes run one at a time: a worker terminated for one file holds no other. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Whether the HDF5 library gets through `bytes` (h5wasm's module at `url`) in time: false when the
 * walk hung (the worker is then terminated; the next probe starts a fresh one). A worker that cannot
 * start cannot judge: the file then counts as readable.
 */
export function hdf5Finishes(url: string, bytes: Uint8Array): Promise<boolean> {
  const run = queue.then(() => probeOnce(url, bytes));
  queue = run.catch(() => undefined);
  return run;
}

async function probeOnce(url: string, bytes: Uint8Array): Promise<boolean> {
  const w = probeWorker();
  const id = ++requests;
  const seconds = probeLimit(bytes.length);
  const answered = new Promise<boolean>((resolve) => {
    const giveUp = () => {
      clearTimeout(timer);
      clearInterval(ticker);
      pending.delete(id);
      if (worker === w) worker = null;
      void w.terminate();
      resolve(false);
    };
    const timer = setTimeout(giveUp, START_LIMIT * 1000);
    let ticker: ReturnType<typeof setInterval> | undefined;
    pending.set(id, {
      started: (tid) => {
        const from = tid === null ? null : threadCpuSeconds(tid);
        const wallFrom = performance.now();
        ticker = setInterval(() => {
          const now = from === null ? null : threadCpuSeconds(tid!);
          const used = now === null ? (performance.now() - wallFrom) / 1000 / WALL_FACTOR : now - from!;
          if (used > seconds) giveUp();
        }, TICK_MS);
      },
      done: () => {
        clearTimeout(timer);
        clearInterval(ticker);
        resolve(true);
      },
    });
  });
  // A ref while waiting, so that the process waits for the answer.
  w.ref();
  w.postMessage({ id, url, bytes });
  try {
    return await answered;
  } finally {
    if (pending.size === 0) w.unref();
  }
}
