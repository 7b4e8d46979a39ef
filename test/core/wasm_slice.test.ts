/**
 * On wasm, a slice of one contiguous range (fit's batches) copies only that range (src/backend/wasm_kernels.ts):
 * the native kernel read the whole input first. Values as the cpu backend's slice; other slices go to the
 * native kernel.
 */
import { expect } from "chai";
import { tf } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";

type Case = {
  name: string;
  values: number[] | boolean[];
  shape: number[];
  dtype: tf.DataType;
  begin: number[];
  size: number[];
};

const ramp = (n: number) => Array.from({ length: n }, (_, i) => i * 0.5 - 3);
/** A slice of a [5, 4, 3] float tensor. */
const cube = (name: string, begin: number[], size: number[]): Case => ({
  name,
  values: ramp(60),
  shape: [5, 4, 3],
  dtype: "float32",
  begin,
  size,
});
const CASES: Case[] = [
  cube("rows of a 3-D float tensor", [1, 0, 0], [3, -1, -1]),
  cube("the last rows, size -1", [2, 0, 0], [-1, 4, 3]),
  cube("no rows", [5, 0, 0], [0, 4, 3]),
  { name: "int32 rows", values: ramp(12).map((v) => 2 * v), shape: [6, 2], dtype: "int32", begin: [3], size: [2] },
  { name: "bool rows", values: ramp(12).map((v) => v > 0), shape: [4, 3], dtype: "bool", begin: [1, 0], size: [2, 3] },
  cube("one row, part of it (contiguous)", [2, 1, 0], [1, 2, 3]),
  cube("columns (not contiguous)", [0, 1, 1], [5, 2, 2]),
];

async function sliced(backend: "cpu" | "wasm", c: Case) {
  await use_backend(backend);
  const x = tf.tensor(c.values, c.shape, c.dtype);
  const b = tf.backend() as { readSync(dataId: object): unknown };
  const read = b.readSync;
  let reads = 0;
  b.readSync = function (this: unknown, ...args: [object]) {
    reads++;
    return read.apply(this, args);
  };
  let y: tf.Tensor;
  try {
    y = tf.slice(x, c.begin, c.size);
  } finally {
    b.readSync = read;
  }
  const out = { shape: y.shape, dtype: y.dtype, values: Array.from(y.dataSync()), reads };
  tf.dispose([x, y]);
  return out;
}

describe("Slice on wasm copies only a contiguous range", () => {
  after(async () => {
    await use_backend("cpu");
  });
  for (const c of CASES) {
    it(`${c.name}: the cpu backend's values`, async () => {
      const want = await sliced("cpu", c);
      const got = await sliced("wasm", c);
      expect([got.shape, got.dtype, got.values]).to.deep.equal([want.shape, want.dtype, want.values]);
      const contiguous = tf.slice_util.isSliceContinous(c.shape, c.begin, got.shape);
      // the native kernel reads the whole input; the replacement reads none of it through readSync
      expect(got.reads, contiguous ? "replacement" : "native kernel").to.equal(contiguous ? 0 : 1);
    });
  }
});
