/**
 * Keras's `get_file` for the datasets: files live in Keras's cache (`$KERAS_HOME/datasets`, else
 * `~/.keras/datasets`, else `/tmp/.keras/datasets`), shared with Python Keras. A cached file is used when
 * its hash matches; otherwise it is downloaded (a progress bar on a terminal), checked against the hash
 * Keras lists, and only then written to the cache (a temporary file renamed into place), so a failed,
 * cut-short or corrupt download never takes the cache's place.
 *
 * `TSKERAS_DATASETS_ORIGIN` replaces Keras's download folder URL (a mirror, or a local server in tests).
 */
import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { KerasError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { Progbar, defaultProgressIO, resolveVerbose, type ProgressIO } from "../report/progress.js";

export const KERAS_DATASETS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/";

/** A file Keras downloads: its name in the cache, its name under the origin folder, its hash if Keras lists one. */
export interface RemoteFile {
  /** File name in the cache folder (R's `path` argument). */
  readonly fname: string;
  /** File name under the download folder. */
  readonly source: string;
  /** sha256 (64 hex digits) or md5 (32), as Keras lists it; null where Keras checks none. */
  readonly hash: string | null;
  /** Sub-folder of the cache (Keras's `cache_subdir`). */
  readonly subdir?: string;
  /** Checks the content where no hash is listed (throws a KerasError). */
  readonly validate?: (bytes: Uint8Array) => void | Promise<void>;
}

export interface DownloadOptions {
  readonly verbose?: 0 | 1 | 2;
  readonly io?: ProgressIO;
}

/** Hashes used instead of Keras's, by source file name: only tests set them (see `overrideHashesForTests`). */
const hashOverrides = new Map<string, string>();

/** Test hook: serve generated files in place of Keras's. Returns a function that restores Keras's hashes. */
export function overrideHashesForTests(hashes: Record<string, string>): () => void {
  for (const [k, v] of Object.entries(hashes)) hashOverrides.set(k, v);
  return () => Object.keys(hashes).forEach((k) => hashOverrides.delete(k));
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Keras's home folder: `$KERAS_HOME`, else `~/.keras` (or `/tmp/.keras` when the home folder is read-only). */
export function kerasHome(): string {
  if (process.env.KERAS_HOME) return process.env.KERAS_HOME;
  return join(writable(homedir()) ? homedir() : "/tmp", ".keras");
}

const hashOf = (bytes: Uint8Array, expected: string) =>
  createHash(expected.length === 64 ? "sha256" : "md5")
    .update(bytes)
    .digest("hex");

const algorithmOf = (hash: string) => (hash.length === 64 ? "sha256" : "md5");

/** The file's bytes, from the cache or downloaded into it. */
export async function getFile(fn: string, file: RemoteFile, options: DownloadOptions = {}): Promise<Uint8Array> {
  if (/[\\/]/.test(file.fname) || file.fname === "" || file.fname === "." || file.fname === "..")
    throw new KerasError(fn, `\`path\` must be a file name in Keras's cache folder, got ${JSON.stringify(file.fname)}`);
  const verbose = options.verbose ?? resolveVerbose("auto");
  const io = options.io ?? defaultProgressIO;
  const hash = hashOverrides.get(file.source) ?? file.hash;
  let base = kerasHome();
  if (existsSync(base) && !writable(base)) base = join("/tmp", ".keras");
  const dir = join(base, "datasets", ...(file.subdir ? [file.subdir] : []));
  const target = join(dir, file.fname);
  if (existsSync(target)) {
    const cached = new Uint8Array(await readFile(target));
    if (!hash || hashOf(cached, hash) === hash) return cached;
    if (verbose > 0)
      io.write(
        `A local file was found, but it seems to be incomplete or outdated because the ${algorithmOf(hash)} file hash does not match the original value of ${hash} so we will re-download the data.\n`,
      );
  }
  const url = (process.env.TSKERAS_DATASETS_ORIGIN || KERAS_DATASETS_ORIGIN).replace(/\/?$/, "/") + file.source;
  const bytes = await download(fn, url, verbose, io);
  if (hash) {
    const got = hashOf(bytes, hash);
    if (got !== hash)
      throw new KerasError(
        fn,
        `incomplete or corrupted download of ${url}: its ${algorithmOf(hash)} hash is ${got}, not ${hash}; nothing was written to the cache`,
        "io",
      );
  } else await file.validate?.(bytes);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new KerasError(fn, `cannot create the cache folder ${dir}: ${(e as Error).message}`, "io");
  }
  await writeFileAtomic(fn, target, bytes);
  return bytes;
}

async function download(fn: string, url: string, verbose: 0 | 1 | 2, io: ProgressIO): Promise<Uint8Array> {
  if (verbose > 0) io.write(`Downloading data from ${url}\n`);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    const cause = (e as { cause?: Error }).cause;
    throw new KerasError(fn, `URL fetch failure on ${url}: ${cause?.message ?? (e as Error).message}`, "io");
  }
  if (!response.ok || !response.body)
    throw new KerasError(fn, `URL fetch failure on ${url}: ${response.status} -- ${response.statusText}`, "io");
  const total = Number(response.headers.get("content-length")) || null;
  const bar = verbose === 1 && total ? new Progbar(total, 1, io) : null;
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(chunk);
      received += chunk.length;
      bar?.update(Math.min(received, total!), []);
    }
  } catch (e) {
    const cause = (e as { cause?: Error }).cause;
    throw new KerasError(
      fn,
      `the download of ${url} broke off after ${received}${total ? ` of ${total}` : ""} bytes (${cause?.message ?? (e as Error).message}); nothing was written to the cache`,
      "io",
    );
  }
  if (total !== null && received !== total)
    throw new KerasError(
      fn,
      `the download of ${url} ended after ${received} of ${total} bytes; nothing was written to the cache`,
      "io",
    );
  bar?.update(received, [], true);
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}
