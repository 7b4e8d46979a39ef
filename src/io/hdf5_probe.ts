/**
 * A watchdog for the HDF5 library on damaged files. Some damage makes HDF5 itself loop forever (a
 * corrupted global heap behind a variable-length string attribute: h5py hangs on it too), and a loop
 * inside WebAssembly cannot be interrupted on the thread that runs it. So before a file is read, a
 * worker thread with its own h5wasm instance walks it — every group, attribute value and dataset header,
 * what the readers touch — and the read goes ahead only when the walk finishes in time; a worker that
 * does not answer is terminated and the file refused. The worker is started on the first file, kept for
 * the next ones, and never keeps the process alive.
 */
import { Worker } from "node:worker_threads";

/** The worker's code (a CommonJS eval worker: it imports h5wasm by URL, with HDF5's printing muted). */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
console.error = () => {};
console.warn = () => {};
let loaded = null;
let generation = 0;
parentPort.on("message", async ({ id, url, bytes }) => {
  const name = "/probe-" + id + ".h5";
  let h5 = null;
  try {
    h5 = await (loaded ??= import(url + "?probe=" + ++generation).then(async (m) => (await m.ready, m)));
    parentPort.postMessage({ id, started: true });
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
`;

let worker: Worker | null = null;
let requests = 0;
/** What to do when the worker starts walking a file, and when it is through. */
const pending = new Map<number, { started: () => void; done: () => void }>();

function probeWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER_SOURCE, { eval: true });
  w.unref();
  w.on("message", ({ id, started }: { id: number; started: boolean }) => {
    const p = pending.get(id);
    if (started) return p?.started();
    p?.done();
    pending.delete(id);
  });
  w.on("error", () => (worker = worker === w ? null : worker));
  w.on("exit", () => (worker = worker === w ? null : worker));
  worker = w;
  return w;
}

/**
 * Seconds the walk of a file of `n` bytes may take once the library is loaded (generous: the walk
 * reads no dataset values, and takes milliseconds on intact files).
 */
export const probeLimit = (n: number): number => 1 + n / 10e6;

/** Seconds the worker may take to start and load the library. */
const START_LIMIT = 120;

/**
 * Whether the HDF5 library gets through `bytes` (h5wasm's module at `url`) in time: false when the
 * walk hung (the worker is then terminated; the next probe starts a fresh one).
 */
export async function hdf5Finishes(url: string, bytes: Uint8Array): Promise<boolean> {
  const w = probeWorker();
  const id = ++requests;
  const seconds = probeLimit(bytes.length);
  const answered = new Promise<boolean>((resolve) => {
    const giveUp = (after: number) =>
      setTimeout(() => {
        pending.delete(id);
        if (worker === w) worker = null;
        void w.terminate();
        resolve(false);
      }, after * 1000);
    let timer = giveUp(START_LIMIT);
    pending.set(id, {
      started: () => {
        clearTimeout(timer);
        timer = giveUp(seconds);
      },
      done: () => {
        clearTimeout(timer);
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
