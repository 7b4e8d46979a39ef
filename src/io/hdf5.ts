/**
 * HDF5 access for the Keras file formats, through h5wasm (imported lazily, on the first file).
 *
 * A file is handled whole in memory: `readHdf5` opens bytes, runs a synchronous reader over them and
 * closes; `writeHdf5` runs a synchronous writer and returns the file's bytes. Both are guarded so a
 * damaged or foreign file is a KerasError that says what is wrong, never a wasm abort or HDF5's own
 * diagnostics on stderr:
 * - the HDF5 signature is checked before the library sees the bytes;
 * - HDF5's error stack (which it prints) is captured and its innermost message becomes the error;
 *   any diagnostic during a call counts as a failure, since h5wasm reports many failures only there;
 * - a dataset is read only when the bytes it claims fit in the file (no huge allocation on a lie);
 * - a wasm trap (abort, out-of-bounds access) discards the library instance: the next call gets a
 *   fresh one, so one bad file cannot poison later ones;
 * - a file on which the library would loop forever is refused before it is read (hdf5_probe.ts).
 *
 * Paths are "/"-separated from the root ("layers/gru/vars/0"). Names containing "/" cannot exist in
 * HDF5 (it is the path separator), which is why Keras's own layouts never put a layer name in a path.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join as joinPath } from "node:path";
import { pathToFileURL } from "node:url";
import { KerasError } from "../errors.js";
import { hdf5Finishes, probeLimit } from "./hdf5_probe.js";

/** Typed arrays a dataset holds (what h5wasm returns for the numeric types Keras writes). */
export type H5Array = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface H5DatasetInfo {
  readonly shape: readonly number[];
  /** NumPy-style type: "float32", "float64", "int64", "int32", ... or the h5wasm code when unusual. */
  readonly dtype: string;
}

/** A reader over an open file (valid only inside the `readHdf5` callback). */
export interface H5Reader {
  /** Whether an object exists at `path`. */
  has(path: string): boolean;
  isGroup(path: string): boolean;
  isDataset(path: string): boolean;
  /** The names of a group's members, in the file's order. */
  keys(path: string): string[];
  /** The names of an object's attributes. */
  attributeNames(path: string): string[];
  /** An attribute's value (strings, numbers, or arrays of them); undefined when absent. */
  attribute(path: string, name: string): unknown;
  /**
   * A string-list attribute that Keras may have split in chunks (`name`, or `name0`, `name1`, ...
   * when the list exceeds HDF5's 64 KB object-header limit), as Keras's
   * `load_attributes_from_hdf5_group` reads it; [] when absent.
   */
  chunkedStrings(path: string, name: string): string[];
  dataset(path: string): H5DatasetInfo;
  /** A dataset's values, row-major. */
  read(path: string): H5Array;
}

/** A writer over a new file (valid only inside the `writeHdf5` callback). */
export interface H5Writer {
  /** Creates the group at `path` (and its parents) if missing; sets the given string attributes. */
  group(path: string, attributes?: Readonly<Record<string, string>>): void;
  /** Writes a contiguous, uncompressed dataset (h5py's default, what Keras writes). */
  dataset(path: string, data: H5Array, shape: readonly number[]): void;
  /**
   * A scalar variable-length string attribute: UTF-8 (what h5py writes for a Python str), or with
   * `bytes` marked ASCII holding UTF-8 bytes (what h5py writes for Python bytes).
   */
  stringAttribute(path: string, name: string, value: string, bytes?: boolean): void;
  /**
   * A list of strings as Keras's `save_attributes_to_hdf5_group` writes its lists of Python bytes:
   * variable-length strings marked ASCII (UTF-8 bytes); when they would exceed
   * HDF5_OBJECT_HEADER_LIMIT, split in chunks `name0`, `name1`, ... of fixed-length byte strings
   * (NumPy `S<n>`, what `np.array_split` gives); an empty list is an empty float64 attribute, as h5py
   * writes `[]`.
   */
  chunkedStrings(path: string, name: string, values: readonly string[]): void;
}

/** Keras's `HDF5_OBJECT_HEADER_LIMIT`: attributes larger than this are split in chunks. */
export const HDF5_OBJECT_HEADER_LIMIT = 64512;

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Whether `bytes` start with the HDF5 signature (at 0 or at a user-block offset 512, 1024, 2048, ...). */
export function hasHdf5Signature(bytes: Uint8Array): boolean {
  const at = (offset: number) => SIGNATURE.every((b, i) => bytes[offset + i] === b);
  if (at(0)) return true;
  for (let offset = 512; offset + SIGNATURE.length <= bytes.length; offset *= 2) if (at(offset)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// The library instance

type H5wasm = typeof import("h5wasm");

interface Instance {
  readonly h5: H5wasm;
  /** What HDF5 printed during the current guarded call. */
  readonly diagnostics: string[];
  /** Set while a guarded call runs: only then is the printer's output HDF5's. */
  capturing: boolean;
}

let current: Promise<Instance> | null = null;
let generation = 0;

/**
 * Loads a fresh h5wasm instance. h5wasm binds its stderr printer to `console.error` when the instance
 * is created, so it is created with our printer in place (restored right after): it keeps HDF5's
 * output during guarded calls and passes anything else on. A query string on the module URL gives a
 * new instance after a trap.
 */
async function loadInstance(): Promise<Instance> {
  const original = console.error;
  const inst = { diagnostics: [] as string[], capturing: false };
  console.error = function printer(...args: unknown[]) {
    if (inst.capturing) inst.diagnostics.push(args.map(String).join(" "));
    else original.apply(console, args);
  };
  try {
    const url = `${h5wasmUrl()}?tskeras=${++generation}`;
    const h5 = (await import(url)) as H5wasm;
    await h5.ready;
    return Object.assign(inst, { h5 });
  } finally {
    console.error = original;
  }
}

/** The URL of h5wasm's module (import.meta.resolve where the runtime has it, else a lookup from here). */
function h5wasmUrl(): string {
  const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (typeof resolve === "function") return resolve("h5wasm");
  for (const base of createRequire(import.meta.url).resolve.paths("h5wasm") ?? []) {
    const file = joinPath(base, "h5wasm", "dist", "esm", "hdf5_hl.js");
    if (existsSync(file)) return pathToFileURL(file).href;
  }
  throw new Error("the h5wasm package is not installed");
}

function instance(): Promise<Instance> {
  if (!current) {
    current = loadInstance();
    current.catch(() => (current = null));
  }
  return current;
}

function discard(inst: Instance): void {
  void current?.then((c) => {
    if (c === inst) current = null;
  });
}

let fileCounter = 0;

/** The innermost message of HDF5's printed error stack (the line after the deepest "#NNN:" entry). */
function innermostDiagnostic(lines: readonly string[]): string | null {
  const text = lines.join("\n");
  const entries = [...text.matchAll(/#\d+: .*? in ([A-Za-z0-9_]+)\(\): ([^\n]+)/g)];
  return entries.length ? entries[entries.length - 1][2].trim() : null;
}

/** Runs `body` against the instance, turning library failures into KerasErrors of `fn`. */
async function guarded<T>(
  fn: string,
  what: string,
  body: (inst: Instance, check: (step: string) => void) => T,
): Promise<T> {
  let inst: Instance;
  try {
    inst = await instance();
  } catch (e) {
    throw new KerasError(fn, `cannot load the HDF5 library (h5wasm): ${(e as Error).message}`, "io");
  }
  inst.diagnostics.length = 0;
  inst.capturing = true;
  const check = (step: string) => {
    if (inst.diagnostics.length === 0) return;
    const detail = innermostDiagnostic(inst.diagnostics);
    inst.diagnostics.length = 0;
    throw new HdfFailure(`${step}${detail ? `: ${detail}` : ""}`);
  };
  try {
    return body(inst, check);
  } catch (e) {
    if (e instanceof KerasError) throw e;
    // A wasm trap (WebAssembly.RuntimeError: abort, out-of-bounds access).
    if (e instanceof Error && e.name === "RuntimeError") {
      discard(inst);
      throw new KerasError(fn, `${what} is damaged: the HDF5 library stopped on it (${e.message})`, "io");
    }
    const detail = e instanceof HdfFailure ? e.message : innermostDiagnostic(inst.diagnostics) || String(e);
    throw new KerasError(fn, `${what} is not a readable HDF5 file: ${detail}`, "io");
  } finally {
    inst.capturing = false;
    inst.diagnostics.length = 0;
  }
}

class HdfFailure extends Error {}

const normalize = (path: string) => path.split("/").filter((s) => s.length > 0);
const join = (parts: readonly string[]) => "/" + parts.join("/");

function dtypeName(code: unknown): string {
  const names: Record<string, string> = {
    "<f": "float32",
    "<d": "float64",
    "<e": "float16",
    "<q": "int64",
    "<i": "int32",
    "<h": "int16",
    "<b": "int8",
    "<Q": "uint64",
    "<I": "uint32",
    "<H": "uint16",
    "<B": "uint8",
  };
  return typeof code === "string" ? (names[code] ?? code) : JSON.stringify(code);
}

/**
 * Opens `bytes` as an HDF5 file and runs `read` over it. `what` names the file in errors ("the
 * file \"m.keras\"'s model.weights.h5"). Errors thrown by `read` as KerasErrors pass through.
 */
export async function readHdf5<T>(
  fn: string,
  what: string,
  bytes: Uint8Array,
  read: (file: H5Reader) => T,
): Promise<T> {
  if (!hasHdf5Signature(bytes)) throw new KerasError(fn, `${what} is not an HDF5 file (no HDF5 signature)`, "io");
  if (!(await hdf5Finishes(h5wasmUrl(), bytes)))
    throw new KerasError(
      fn,
      `${what} is damaged: the HDF5 library did not get through it (it was stopped after ${Math.round(probeLimit(bytes.length))} s of computing)`,
      "io",
    );
  return guarded(fn, what, ({ h5 }, check) => {
    const name = `/tskeras-read-${process.pid}-${++fileCounter}.h5`;
    h5.FS!.writeFile(name, bytes);
    let file: InstanceType<H5wasm["File"]> | null = null;
    try {
      file = new h5.File(name, "r");
      check("cannot open it");
      if (!(Number(file.file_id) >= 0)) throw new HdfFailure("cannot open it");
      const root = file;
      const get = (path: string) => {
        const parts = normalize(path);
        if (parts.length === 0) return root;
        const obj = root.get(join(parts));
        check(`cannot read "${path}"`);
        return obj;
      };
      const dataset = (path: string) => {
        const obj = get(path);
        if (!(obj instanceof h5.Dataset)) throw new HdfFailure(`"${path}" is not a dataset`);
        return obj;
      };
      const reader: H5Reader = {
        has: (path) => get(path) !== null,
        isGroup: (path) => get(path) instanceof h5.Group,
        isDataset: (path) => get(path) instanceof h5.Dataset,
        keys: (path) => {
          const obj = get(path);
          if (!(obj instanceof h5.Group)) throw new HdfFailure(`"${path}" is not a group`);
          const keys = obj.keys();
          check(`cannot list "${path}"`);
          return keys;
        },
        attributeNames: (path) => {
          const obj = get(path);
          if (!obj || !("attrs" in obj)) return [];
          const names = Object.keys(obj.attrs);
          check(`cannot list the attributes of "${path}"`);
          return names;
        },
        attribute: (path, attr) => {
          const obj = get(path);
          if (!obj || !("attrs" in obj) || !Object.keys(obj.attrs).includes(attr)) return undefined;
          const a = obj.attrs[attr];
          const value = a.json_value;
          check(`cannot read attribute "${attr}" of "${path}"`);
          return isAsciiString(a.metadata) ? reDecodeUtf8(value, a.metadata.vlen === true) : value;
        },
        chunkedStrings: (path, attr) => {
          const names = reader.attributeNames(path);
          const strings = (v: unknown, at: string): string[] => {
            const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
            if (!list.every((s) => typeof s === "string" || typeof s === "number"))
              throw new HdfFailure(`attribute "${at}" of "${path}" is not a list of strings`);
            // An empty list is stored as an empty float array.
            return list.filter((s): s is string => typeof s === "string");
          };
          if (names.includes(attr)) return strings(reader.attribute(path, attr), attr);
          const out: string[] = [];
          for (let k = 0; names.includes(`${attr}${k}`); k++)
            out.push(...strings(reader.attribute(path, `${attr}${k}`), `${attr}${k}`));
          return out;
        },
        dataset: (path) => {
          const d = dataset(path);
          const meta = d.metadata;
          check(`cannot read dataset "${path}"`);
          return { shape: (meta.shape ?? []).map(Number), dtype: dtypeName(d.dtype) };
        },
        read: (path) => {
          const d = dataset(path);
          const meta = d.metadata;
          check(`cannot read dataset "${path}"`);
          const claimed = Number(meta.size) * Number(meta.total_size);
          if (!Number.isFinite(claimed) || claimed > bytes.length)
            throw new HdfFailure(`dataset "${path}" claims ${claimed} bytes, more than the file holds`);
          const value: unknown = d.value;
          check(`cannot read dataset "${path}"`);
          if (ArrayBuffer.isView(value)) return value as H5Array;
          // A scalar dataset comes back as a bare number.
          if (typeof value === "bigint") return BigInt64Array.of(value);
          if (typeof value === "number") {
            const dtype = dtypeName(d.dtype);
            return dtype === "float32"
              ? Float32Array.of(value)
              : dtype === "int32"
                ? Int32Array.of(value)
                : Float64Array.of(value);
          }
          throw new HdfFailure(`dataset "${path}" does not hold numbers`);
        },
      };
      return read(reader);
    } finally {
      try {
        file?.close();
      } catch {
        // closing a file the library could not open
      }
      h5.FS!.unlink(name);
    }
  });
}

/** Builds a new HDF5 file with `write` and returns its bytes. */
export async function writeHdf5(fn: string, write: (file: H5Writer) => void): Promise<Uint8Array> {
  return guarded(fn, "the HDF5 file being written", ({ h5 }, check) => {
    const name = `/tskeras-write-${process.pid}-${++fileCounter}.h5`;
    const file = new h5.File(name, "w");
    check("cannot create it");
    try {
      const groupAt = (parts: readonly string[]) => {
        let cur: InstanceType<H5wasm["Group"]> = file;
        for (const part of parts) {
          const next = cur.get(part) ?? cur.create_group(part);
          check(`cannot create group "${part}"`);
          if (!(next instanceof h5.Group)) throw new HdfFailure(`"${part}" exists and is not a group`);
          cur = next;
        }
        return cur;
      };
      const writer: H5Writer = {
        group: (path, attributes = {}) => {
          const g = groupAt(normalize(path));
          for (const [k, v] of Object.entries(attributes)) writer.stringAttribute(path, k, v);
          return void g;
        },
        dataset: (path, data, shape) => {
          const parts = normalize(path);
          const g = groupAt(parts.slice(0, -1));
          const d = g.create_dataset({ name: parts[parts.length - 1], data, shape: [...shape] });
          check(`cannot write dataset "${path}"`);
          if (!d) throw new HdfFailure(`cannot write dataset "${path}"`);
        },
        stringAttribute: (path, attr, value, bytes = false) => {
          if (bytes) groupOrDataset(path).create_attribute(attr, value, [], "A");
          else groupOrDataset(path).create_attribute(attr, value);
          check(`cannot write attribute "${attr}" of "${path}"`);
        },
        chunkedStrings: (path, attr, values) => {
          const target = groupOrDataset(path);
          if (values.length === 0) {
            target.create_attribute(attr, new Float64Array(0), [0]);
            check(`cannot write attribute "${attr}" of "${path}"`);
            return;
          }
          const encoder = new TextEncoder();
          const itemSize = Math.max(1, ...values.map((s) => encoder.encode(s).length));
          const tooLong = values.filter((s) => encoder.encode(s).length > HDF5_OBJECT_HEADER_LIMIT);
          if (tooLong.length)
            throw new KerasError(
              fn,
              `the following attributes cannot be saved to HDF5 because they are larger than ${HDF5_OBJECT_HEADER_LIMIT} bytes: ${tooLong.join(", ")}`,
              "io",
            );
          const chunks = splitLikeNumpy(values, itemSize);
          const put = (key: string, list: readonly string[], dtype: string) => {
            target.create_attribute(key, [...list], [list.length], dtype);
            check(`cannot write attribute "${key}" of "${path}"`);
          };
          if (chunks.length === 1) put(attr, values, "A");
          else chunks.forEach((c, k) => put(`${attr}${k}`, c, `A${itemSize}`));
        },
      };
      const groupOrDataset = (path: string) => {
        const parts = normalize(path);
        const obj = parts.length ? file.get(join(parts)) : file;
        if (obj instanceof h5.Group || obj instanceof h5.Dataset) return obj;
        return groupAt(parts);
      };
      write(writer);
      file.flush();
      check("cannot write it");
    } finally {
      file.close();
    }
    try {
      return h5.FS!.readFile(name);
    } finally {
      h5.FS!.unlink(name);
    }
  });
}

/** A string type marked ASCII: how h5py stores Python and NumPy byte strings (Keras's name lists). */
const isAsciiString = (meta: { type?: number; vlen?: boolean; cset?: number }) => meta.type === 3 && meta.cset === 0;

/** windows-1252 character -> byte, to undo h5wasm's decoding of ASCII-marked strings. */
let win1252: Map<string, number> | null = null;

/**
 * h5py stores Python byte strings (Keras writes UTF-8 names that way) as strings marked ASCII, which
 * h5wasm decodes byte by byte: fixed-length ones as windows-1252 (the WHATWG meaning of "ascii"),
 * variable-length ones as Latin-1; this re-reads the bytes as UTF-8 so non-ASCII names survive.
 */
function reDecodeUtf8(value: unknown, latin1: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => reDecodeUtf8(v, latin1));
  if (typeof value !== "string" || [...value].every((c) => c.charCodeAt(0) < 0x80)) return value;
  if (!win1252) {
    const chars = new TextDecoder("windows-1252").decode(Uint8Array.from({ length: 256 }, (_, i) => i));
    win1252 = new Map([...chars].map((c, i) => [c, i]));
  }
  const byteOf = (c: string) => (latin1 ? c.charCodeAt(0) : win1252!.get(c)) ?? 0x3f;
  const bytes = Uint8Array.from([...value].map((c) => (byteOf(c) > 0xff ? 0x3f : byteOf(c))));
  return new TextDecoder("utf-8").decode(bytes);
}

/**
 * NumPy's `array_split` into the fewest parts whose size (items x `itemSize` bytes) stays within the
 * object-header limit, as Keras's `save_attributes_to_hdf5_group`: the first `n % k` parts get one more.
 */
function splitLikeNumpy(values: readonly string[], itemSize: number): string[][] {
  for (let k = 1; ; k++) {
    const base = Math.floor(values.length / k);
    const extra = values.length % k;
    if ((base + (extra ? 1 : 0)) * itemSize <= HDF5_OBJECT_HEADER_LIMIT || k >= values.length) {
      const out: string[][] = [];
      let at = 0;
      for (let i = 0; i < k; i++) {
        const n = base + (i < extra ? 1 : 0);
        out.push(values.slice(at, at + n));
        at += n;
      }
      return out;
    }
  }
}
