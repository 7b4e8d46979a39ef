/**
 * numpy's `.npz` (a zip of `.npy` files, read with fflate) and `.npy` files. Object arrays (imdb's and
 * reuters' lists of word indices) are stored pickled: they are read by pickleparser, a JavaScript pickle
 * reader that runs no code from the file, with Keras's own allowlist (`npz_utils.RestrictedUnpickler`):
 * numpy's `ndarray`, `dtype` and `_reconstruct` only; any other name in the file is refused.
 */
import { KerasError } from "../errors.js";
import { size, type TypedArray } from "./arrays.js";

/** One array of a `.npy`: numbers in a typed array, or the elements of an object array. */
export type NpyArray =
  | { readonly kind: "numeric"; readonly data: TypedArray; readonly shape: readonly number[] }
  | { readonly kind: "object"; readonly data: readonly unknown[]; readonly shape: readonly number[] };

const NUMERIC: Record<string, [number, (b: ArrayBuffer) => TypedArray | BigInt64Array | BigUint64Array]> = {
  b1: [1, (b) => new Uint8Array(b)],
  u1: [1, (b) => new Uint8Array(b)],
  i1: [1, (b) => new Int8Array(b)],
  u2: [2, (b) => new Uint16Array(b)],
  i2: [2, (b) => new Int16Array(b)],
  u4: [4, (b) => new Uint32Array(b)],
  i4: [4, (b) => new Int32Array(b)],
  u8: [8, (b) => new BigUint64Array(b)],
  i8: [8, (b) => new BigInt64Array(b)],
  f4: [4, (b) => new Float32Array(b)],
  f8: [8, (b) => new Float64Array(b)],
};

/** int64 values as Int32Array when they all fit (labels, word indices), else Float64Array (exact to 2^53). */
function fromInt64(fail: (m: string) => never, v: BigInt64Array | BigUint64Array): Int32Array | Float64Array {
  let fits = true;
  for (const x of v) {
    if (x < -(2n ** 31n) || x >= 2n ** 31n) fits = false;
    if (x < -(2n ** 53n) || x > 2n ** 53n)
      fail("holds 64-bit integers beyond 2^53, which JavaScript numbers cannot hold");
  }
  return fits ? Int32Array.from(v, Number) : Float64Array.from(v, Number);
}

/** The header dict of a `.npy`: `{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }`. */
function parseHeader(fail: (m: string) => never, text: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail(`has a malformed header ${text}`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => (/^\d+L?$/.test(s) ? parseInt(s, 10) : fail(`has a malformed shape (${shapeText})`)));
  return { descr, fortran: fortran === "True", shape };
}

/** Parses one `.npy` file (`where` names it in errors). */
export async function parseNpy(fn: string, where: string, bytes: Uint8Array): Promise<NpyArray> {
  const fail = (m: string): never => {
    throw new KerasError(fn, `${where} ${m}`, "io");
  };
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) fail("is not a .npy array");
  const major = bytes[6];
  if (major < 1 || major > 3) fail(`has an unknown .npy version ${major}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerStart = major === 1 ? 10 : 12;
  if (bytes.length < headerStart) fail("is cut short");
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = headerStart + headerLength;
  if (bytes.length < dataStart) fail("is cut short in its header");
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(headerStart, dataStart));
  const { descr, fortran, shape } = parseHeader(fail, header);
  const count = size(shape);
  const body = bytes.subarray(dataStart);
  if (descr === "|O") return { kind: "object", data: await unpickleObjectArray(fail, body, count), shape };
  const order = descr[0];
  const code = descr.slice(1);
  const spec = NUMERIC[code];
  if (!spec || (order === ">" && spec[0] > 1)) fail(`holds dtype ${descr}, which is not supported`);
  if (fortran && shape.length > 1) fail("is in Fortran order, which is not supported");
  const [itemSize, make] = spec;
  if (body.length !== count * itemSize)
    fail(`holds ${body.length} bytes of data, not the ${count * itemSize} its shape (${shape.join(", ")}) needs`);
  // A copy: typed arrays need an aligned buffer of their own.
  const values = make(body.slice().buffer);
  const data = values instanceof BigInt64Array || values instanceof BigUint64Array ? fromInt64(fail, values) : values;
  return { kind: "numeric", data, shape };
}

const PICKLE_ALLOWLIST = new Set([
  "numpy.ndarray",
  "numpy.dtype",
  "numpy.core.multiarray._reconstruct",
  "numpy._core.multiarray._reconstruct",
]);

/** What the allowed numpy names build while unpickling: records of their arguments and state. */
interface Pickled {
  readonly name: string;
  readonly args: unknown[];
  state?: unknown;
  __setstate__(state: unknown): void;
}

function pickled(name: string): (...args: unknown[]) => Pickled {
  return (...args) => ({
    name,
    args,
    __setstate__(state: unknown) {
      this.state = state;
    },
  });
}

const isPickled = (v: unknown, name: string): v is Pickled =>
  v !== null && typeof v === "object" && (v as Pickled).name === name;

/** An unpickled element: a list of numbers, or a numeric ndarray, as a plain array of numbers. */
function elementValues(fail: (m: string) => never, v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (typeof x === "bigint" ? Number(x) : x));
  if (isPickled(v, "_reconstruct")) {
    const [, shape, dtype, , raw] = (v.state ?? []) as unknown[];
    const descr = isPickled(dtype, "dtype") ? String(dtype.args[0]) : "";
    const order = isPickled(dtype, "dtype") && Array.isArray(dtype.state) ? String(dtype.state[1]) : "<";
    const spec = NUMERIC[descr];
    if (!spec || !(raw instanceof Uint8Array) || order === ">") fail("holds an array element that cannot be read");
    const count = size(shape as number[]);
    if (raw.length !== count * spec[0]) fail("holds an array element whose data does not match its shape");
    const values = spec[1](raw.slice().buffer);
    return Array.from(values as ArrayLike<number | bigint>, Number);
  }
  return v;
}

/** The elements of a pickled numpy object array (`count` of them). */
async function unpickleObjectArray(fail: (m: string) => never, body: Uint8Array, count: number): Promise<unknown[]> {
  const mod = (await import("pickleparser")) as unknown as {
    Parser?: PickleParserClass;
    default?: { Parser: PickleParserClass };
  };
  const Parser = (mod.Parser ?? mod.default?.Parser) as PickleParserClass;
  const parser = new Parser({
    nameResolver: {
      resolve: (module: string, name: string) => {
        const qualified = `${module}.${name}`;
        if (!PICKLE_ALLOWLIST.has(qualified))
          fail(
            `refers to \`${qualified}\`, which a dataset file never needs: refusing to read it (corrupt or malicious file)`,
          );
        return pickled(name);
      },
    },
    unpicklingTypeOfDictionary: "Map",
    unpicklingTypeOfSet: "array",
  });
  let root: unknown;
  try {
    root = parser.parse(body);
  } catch (e) {
    if (e instanceof KerasError) throw e;
    fail(`holds a pickled object array that cannot be read: ${(e as Error).message}`);
  }
  if (!isPickled(root, "_reconstruct") || !Array.isArray(root.state)) fail("holds a pickle that is not a numpy array");
  const [, , dtype, , elements] = root.state as unknown[];
  if (!isPickled(dtype, "dtype") || dtype.args[0] !== "O8" || !Array.isArray(elements) || elements.length !== count)
    fail(`holds a pickled array that is not an object array of ${count} elements`);
  return elements.map((e) => elementValues(fail, e));
}

type PickleParserClass = new (options: {
  nameResolver: { resolve: (module: string, name: string) => unknown };
  unpicklingTypeOfDictionary: "Map";
  unpicklingTypeOfSet: "array";
}) => { parse(buffer: Uint8Array): unknown };

/** Reads every `.npy` of an `.npz` (keys without the `.npy`). */
export async function readNpz(fn: string, file: string, bytes: Uint8Array): Promise<Record<string, NpyArray>> {
  const { unzipSync } = await import("fflate");
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new KerasError(fn, `${file} is not a readable .npz (zip) file: ${(e as Error).message}`, "io");
  }
  const out: Record<string, NpyArray> = {};
  for (const [name, data] of Object.entries(entries))
    if (name.endsWith(".npy")) out[name.slice(0, -4)] = await parseNpy(fn, `${file}: ${name}`, data);
  return out;
}
