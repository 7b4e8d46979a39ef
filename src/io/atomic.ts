/** Atomic file writes: a temporary file in the same folder, then a rename, so a reader never sees half a file. */
import { readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { KerasError } from "../errors.js";

let writes = 0;

/** Temporary files of `file` are `<file>.<pid>.<counter>.tmp`. */
const temporaryName = (file: string, pid: number) => `${file}.${pid}.${++writes}.tmp`;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temporary files of `file` that writers killed mid-write left behind (their process is
 * gone), so they do not pile up.
 */
async function removeStaleTemporaries(file: string): Promise<void> {
  const prefix = `${basename(file)}.`;
  const pattern = /^(\d+)\.\d+\.tmp$/;
  const names = await readdir(dirname(file)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = pattern.exec(name.slice(prefix.length));
    if (m && Number(m[1]) !== process.pid && !isRunning(Number(m[1])))
      await rm(join(dirname(file), name), { force: true }).catch(() => undefined);
  }
}

/** Writes `text` to `file` atomically; on failure the old file is untouched and no temporary file is left. */
export async function writeFileAtomic(fn: string, file: string, text: string | Uint8Array): Promise<void> {
  await writeFilesAtomic(fn, [{ file, data: text }]);
}

/**
 * Writes several files that belong together (model.json and its weights.bin): every temporary file is
 * written before the first rename, so an error while writing leaves all old files untouched, and no
 * temporary file is left behind. Only a failing rename after a successful one (the target turned into
 * a folder meanwhile) leaves the files renamed so far replaced.
 */
export async function writeFilesAtomic(
  fn: string,
  files: readonly { readonly file: string; readonly data: string | Uint8Array }[],
): Promise<void> {
  for (const { file } of files) await removeStaleTemporaries(file);
  // pid and a per-process counter: concurrent writes of one file never share a temporary file.
  const tmps = files.map(({ file }) => temporaryName(file, process.pid));
  let current = files[0]?.file;
  try {
    for (let i = 0; i < files.length; i++) {
      current = files[i].file;
      await writeFile(tmps[i], files[i].data);
    }
    for (let i = 0; i < files.length; i++) {
      current = files[i].file;
      await rename(tmps[i], files[i].file);
    }
  } catch (e) {
    await Promise.all(tmps.map((tmp) => rm(tmp, { force: true }).catch(() => undefined)));
    throw new KerasError(fn, `cannot write ${JSON.stringify(current)}: ${(e as Error).message}`, "io");
  }
}
