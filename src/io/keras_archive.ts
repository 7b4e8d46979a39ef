/**
 * The `.keras` zip (Keras 3's native format): `metadata.json`, `config.json` and `model.weights.h5`,
 * stored uncompressed as Keras writes them. Through fflate (imported lazily). Reading checks what a
 * damaged or foreign file could make go wrong — the zip signature, entries' sizes against the archive
 * (no allocation on a lie), their CRC-32, JSON syntax — and says which.
 */
import * as zlib from "node:zlib";
import { KerasError } from "../errors.js";

export const CONFIG_ENTRY = "config.json";
export const METADATA_ENTRY = "metadata.json";
export const WEIGHTS_ENTRY = "model.weights.h5";

/** Local-file or empty-archive signature of a zip. */
export function hasZipSignature(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5);
}

/** Packs the entries in order, stored (Keras writes its archives without compression). */
export async function packArchive(entries: readonly [name: string, data: Uint8Array][]): Promise<Uint8Array> {
  const { zipSync } = await import("fflate");
  return zipSync(Object.fromEntries(entries.map(([name, data]) => [name, [data, { level: 0 }]])));
}

/** CRC-32 of `data` (node:zlib's where Node has it, else from fflate's gzip trailer). */
async function crc32(data: Uint8Array): Promise<number> {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  if (native) return native(data) >>> 0;
  const { gzipSync } = await import("fflate");
  const gz = gzipSync(data, { level: 0 });
  const at = gz.length - 8;
  return (gz[at] | (gz[at + 1] << 8) | (gz[at + 2] << 16) | (gz[at + 3] << 24)) >>> 0;
}

/** The central directory's CRC-32 per entry name (fflate does not check it). */
function centralCrcs(bytes: Uint8Array): Map<string, number> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, number>();
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--)
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  if (end < 0) return out;
  let at = view.getUint32(end + 16, true);
  const count = view.getUint16(end + 10, true);
  const decoder = new TextDecoder();
  for (let k = 0; k < count && at + 46 <= bytes.length && view.getUint32(at, true) === 0x02014b50; k++) {
    const crc = view.getUint32(at + 16, true);
    const nameLength = view.getUint16(at + 28, true);
    const extra = view.getUint16(at + 30, true);
    const comment = view.getUint16(at + 32, true);
    out.set(decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength)), crc);
    at += 46 + nameLength + extra + comment;
  }
  return out;
}

/**
 * The entries of a zip archive that `wanted` accepts, checked. `what` names the file in errors.
 */
export async function unpackArchive(
  fn: string,
  what: string,
  bytes: Uint8Array,
  wanted: (name: string) => boolean,
): Promise<Map<string, Uint8Array>> {
  if (!hasZipSignature(bytes)) throw new KerasError(fn, `${what} is not a zip archive (no zip signature)`, "io");
  const { unzipSync } = await import("fflate");
  const problems: string[] = [];
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (file) => {
        if (!wanted(file.name)) return false;
        if (file.compression !== 0 && file.compression !== 8) {
          problems.push(`entry "${file.name}" uses compression method ${file.compression}, which is not supported`);
          return false;
        }
        const limit = file.compression === 0 ? file.size : Math.max(1 << 20, file.size * 1032);
        if (file.size > bytes.length || file.originalSize > limit) {
          problems.push(`entry "${file.name}" claims more bytes than the archive can hold`);
          return false;
        }
        return true;
      },
    });
  } catch (e) {
    throw new KerasError(fn, `${what} is not a readable zip archive: ${(e as Error).message}`, "io");
  }
  if (problems.length) throw new KerasError(fn, `${what} is damaged: ${problems.join("; ")}`, "io");
  const crcs = centralCrcs(bytes);
  const out = new Map<string, Uint8Array>();
  for (const [name, data] of Object.entries(entries)) {
    const expected = crcs.get(name);
    if (expected === undefined || expected !== (await crc32(data)))
      throw new KerasError(fn, `${what} is damaged: entry "${name}" fails its CRC-32 check`, "io");
    out.set(name, data);
  }
  return out;
}

/** JSON text of an archive entry, parsed; `what` names it in errors. */
export function parseJsonEntry(fn: string, what: string, data: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    throw new KerasError(fn, `${what} is not UTF-8 text`, "io");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new KerasError(fn, `${what} is not valid JSON: ${(e as Error).message}`, "io");
  }
}
