/** Atomic file writes: a temporary file in the same folder, then a rename, so a reader never sees half a file. */
import { readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { KerasError } from "../errors.js";

/** Temporary files of `file` are `<file>.<pid>.<time>.tmp`. */
const temporaryName = (file: string, pid: number) => `${file}.${pid}.${Date.now()}.tmp`;

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
  await removeStaleTemporaries(file);
  const tmp = temporaryName(file, process.pid);
  try {
    await writeFile(tmp, text);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new KerasError(fn, `cannot write ${JSON.stringify(file)}: ${(e as Error).message}`, "io");
  }
}
