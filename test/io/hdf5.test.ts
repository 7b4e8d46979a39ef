/**
 * The HDF5 access module (h5wasm): groups, datasets and attributes both ways; Keras's chunked
 * string-list attributes; and the guards — foreign, truncated and trapping reads are KerasErrors,
 * HDF5's diagnostics never reach stderr, and a trap does not poison later files.
 */
import { expect } from "chai";
import { HDF5_OBJECT_HEADER_LIMIT, hasHdf5Signature, readHdf5, writeHdf5 } from "../../src/io/hdf5.js";
import { KerasError } from "../../src/errors.js";
import { expectKerasError } from "../training/helpers.js";

const sample = () =>
  writeHdf5("test", (w) => {
    w.group("layers/gru/cell/vars", { name: "gru_cell/ü" });
    w.dataset("layers/gru/cell/vars/0", Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    w.dataset("optimizer/vars/0", BigInt64Array.of(7n), []);
    w.dataset("optimizer/vars/1", Float32Array.of(0.001), []);
  });

describe("HDF5 access (h5wasm)", function () {
  this.timeout(60_000);

  it("writes and reads groups, datasets (any rank, scalars, int64) and string attributes", async () => {
    const bytes = await sample();
    expect(hasHdf5Signature(bytes)).to.equal(true);
    const r = await readHdf5("test", "the file", bytes, (f) => ({
      root: f.keys(""),
      vars: f.keys("layers/gru/cell/vars"),
      name: f.attribute("layers/gru/cell/vars", "name"),
      info: f.dataset("layers/gru/cell/vars/0"),
      data: Array.from(f.read("layers/gru/cell/vars/0") as Float32Array),
      iterations: f.read("optimizer/vars/0"),
      lr: f.dataset("optimizer/vars/1"),
      missing: [f.has("nope"), f.attribute("layers", "name")],
    }));
    expect(r.root).to.deep.equal(["layers", "optimizer"]);
    expect(r.vars).to.deep.equal(["0"]);
    expect(r.name).to.equal("gru_cell/ü");
    expect(r.info).to.deep.equal({ shape: [2, 3], dtype: "float32" });
    expect(r.data).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(r.iterations).to.deep.equal(BigInt64Array.of(7n));
    expect(r.lr).to.deep.equal({ shape: [], dtype: "float32" });
    expect(r.missing).to.deep.equal([false, undefined]);
  });

  it("splits a string list over 64512 bytes in chunks as Keras does (numpy.array_split), and reads them back", async () => {
    // 3000 names of up to 56 bytes (NumPy pads to the longest) = 168000 bytes: 3 chunks of 1000 x 56 = 56000
    const names = Array.from({ length: 3000 }, (_, i) => `layer/ü${String(i).padStart(4, "0")}_` + "x".repeat(i % 44));
    const itemSize = Math.max(...names.map((s) => new TextEncoder().encode(s).length));
    expect(itemSize).to.equal(56);
    const bytes = await writeHdf5("test", (w) => {
      w.group("model_weights");
      w.chunkedStrings("model_weights", "layer_names", names);
      w.chunkedStrings("model_weights", "weight_names", []);
      w.chunkedStrings("model_weights", "few", ["a", "bé"]);
    });
    const r = await readHdf5("test", "the file", bytes, (f) => ({
      attrs: f.attributeNames("model_weights").sort(),
      chunk: f.attribute("model_weights", "layer_names1") as string[],
      names: f.chunkedStrings("model_weights", "layer_names"),
      empty: f.chunkedStrings("model_weights", "weight_names"),
      few: f.chunkedStrings("model_weights", "few"),
    }));
    expect(r.attrs).to.deep.equal(["few", "layer_names0", "layer_names1", "layer_names2", "weight_names"]);
    expect(r.chunk).to.deep.equal(names.slice(1000, 2000));
    expect(r.names).to.deep.equal(names);
    expect(r.empty).to.deep.equal([]);
    expect(r.few).to.deep.equal(["a", "bé"]);
    expect(HDF5_OBJECT_HEADER_LIMIT).to.equal(64512);
  });

  it("refuses a single string longer than the header limit, as Keras does", async () => {
    await expectKerasError(
      () => writeHdf5("save_model", (w) => w.chunkedStrings("", "names", ["x".repeat(70_000)])),
      /^save_model\(\): the following attributes cannot be saved to HDF5 because they are larger than 64512 bytes/,
    );
  });

  it("foreign and truncated bytes are KerasErrors naming the file, and HDF5 prints nothing", async () => {
    const bytes = await sample();
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      await expectKerasError(
        () => readHdf5("load_model_weights", '"w.weights.h5"', new TextEncoder().encode("hello"), (f) => f.keys("")),
        /^load_model_weights\(\): "w\.weights\.h5" is not an HDF5 file \(no HDF5 signature\)$/,
      );
      await expectKerasError(
        () => readHdf5("load_model_weights", '"w.weights.h5"', bytes.slice(0, 1500), (f) => f.keys("")),
        /^load_model_weights\(\): "w\.weights\.h5" is not a readable HDF5 file: cannot open it: truncated file/,
      );
      await expectKerasError(
        () => readHdf5("test", "the file", bytes, (f) => f.read("layers/gru")),
        /"layers\/gru" is not a dataset/,
      );
    } finally {
      process.stderr.write = write;
    }
    expect(written.join("")).to.equal("");
  });

  it("a wasm trap is a KerasError, and the next file gets a fresh library instance", async () => {
    const bytes = await sample();
    const trap = new Error("Aborted(out of bounds)");
    trap.name = "RuntimeError";
    const err = await expectKerasError(
      () =>
        readHdf5("load_model", "the file", bytes, () => {
          throw trap;
        }),
      /^load_model\(\): the file is damaged: the HDF5 library stopped on it \(Aborted\(out of bounds\)\)$/,
    );
    expect(err).to.be.instanceOf(KerasError);
    const again = await readHdf5("test", "the file", bytes, (f) => f.attribute("layers/gru/cell/vars", "name"));
    expect(again).to.equal("gru_cell/ü");
  });

  it("KerasErrors raised by a reader pass through unchanged", async () => {
    const bytes = await sample();
    await expectKerasError(
      () =>
        readHdf5("load_model", "the file", bytes, () => {
          throw new KerasError("load_model", 'layer "x" expects 3 weights', "io");
        }),
      /^load_model\(\): layer "x" expects 3 weights$/,
    );
  });
});
