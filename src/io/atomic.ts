/** Atomic file writes: a temporary file in the same folder, then a rename, so a reader never sees half a file. */
import { rename, rm, writeFile } from "node:fs/promises";
import { KerasError } from "../errors.js";

/** Writes `text` to `file` atomically; on failure the old file is untouched and no temporary file is left. */
export async function writeFileAtomic(fn: string, file: string, text: string | Uint8Array): Promise<void> {
  await writeFilesAtomic(fn, [{ file, data: text }]);
}

let writes = 0;

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
  // pid and a per-process counter: concurrent writes of one file never share a temporary file.
  const tmps = files.map(({ file }) => `${file}.${process.pid}.${++writes}.tmp`);
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
