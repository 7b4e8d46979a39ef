/** Atomic file writes: a temporary file in the same folder, then a rename, so a reader never sees half a file. */
import { rename, rm, writeFile } from "node:fs/promises";
import { KerasError } from "../errors.js";

/** Writes `text` to `file` atomically; on failure the old file is untouched and no temporary file is left. */
export async function writeFileAtomic(fn: string, file: string, text: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new KerasError(fn, `cannot write ${JSON.stringify(file)}: ${(e as Error).message}`, "io");
  }
}
