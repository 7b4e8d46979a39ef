/** pad_sequences, to_categorical and normalize against Keras 3.15.1's outputs (test/fixtures/data_utils/keras.json). */
import { expect } from "chai";
import { KerasError, normalize, pad_sequences, to_categorical } from "../../src/index.js";
import { tf } from "../../src/backend/tf.js";
import { expectArray, keras } from "./helpers.js";

describe("pad_sequences", () => {
  for (const c of keras.pad_sequences) {
    it(`matches keras.utils.pad_sequences(${JSON.stringify(c.sequences)}, ${JSON.stringify(c.args)})`, () => {
      expectArray(pad_sequences(c.sequences, c.args), c.out);
    });
  }

  it("takes typed arrays, { data, shape } rows and tensors as sequences", () => {
    const want = pad_sequences([[1, 2], [3]]);
    expectArray(pad_sequences([Int32Array.of(1, 2), Float32Array.of(3)]), {
      ...want,
      data: [...want.data],
      dtype: "int32",
    });
    const rows = pad_sequences({ data: Float64Array.of(1, 2, 3, 4, 5, 6), shape: [2, 3] }, { maxlen: 2 });
    expect([...rows.data]).to.deep.equal([2, 3, 5, 6]);
    const t = tf.tensor2d([[1, 2, 3]]);
    expect([...pad_sequences(t, { maxlen: 4 }).data]).to.deep.equal([0, 1, 2, 3]);
    expect(t.isDisposed).to.equal(false);
    t.dispose();
  });

  it("returns float dtypes and keeps NaN padding for them", () => {
    const x = pad_sequences([[1]], { maxlen: 2, dtype: "float64", value: NaN });
    expect(x.data).to.be.instanceOf(Float64Array);
    expect(Number.isNaN(x.data[0])).to.equal(true);
    expect(x.data[1]).to.equal(1);
  });

  it("rejects bad input with a KerasError naming the function and the argument", () => {
    expect(() => pad_sequences([[1], "ab"] as any)).to.throw(
      KerasError,
      /^pad_sequences\(\): `sequences` must be a list of sequences/,
    );
    expect(() => pad_sequences([[1, [2]]] as any)).to.throw(
      KerasError,
      /pad_sequences\(\): `sequences\[\[1\]\]` must be a rectangular nested array of numbers: it is not rectangular: element \[2\] is an array where a number belongs/,
    );
    expect(() => pad_sequences([[[1, 2], [3]]])).to.throw(
      KerasError,
      /`sequences\[\[1\]\]` must be a rectangular nested array of numbers: .* \(shape \[2, 2\]\)/,
    );
    expect(() => pad_sequences([[[1, 2]], [[1, 2, 3]]])).to.throw(
      KerasError,
      /pad_sequences\(\): the samples of `sequences\[\[2\]\]` have shape \(3,\), those of the first non-empty sequence \(2,\)/,
    );
    expect(() => pad_sequences([[1]], { padding: "middle" } as any)).to.throw(
      KerasError,
      /`padding` must be one of "pre", "post"/,
    );
    expect(() => pad_sequences([[1]], { maxlen: -1 })).to.throw(KerasError, /`maxlen` must be/);
    expect(() => pad_sequences([[1]], { dtype: "string" } as any)).to.throw(KerasError, /`dtype` must be one of/);
    expect(() => pad_sequences([[1]], { value: NaN })).to.throw(
      KerasError,
      /`value` NaN cannot be stored in dtype "int32"/,
    );
    expect(() => pad_sequences([[1]], { max_len: 3 } as any)).to.throw(KerasError, /did you mean `maxlen`/);
  });
});

describe("to_categorical", () => {
  for (const c of keras.to_categorical) {
    it(`matches keras.utils.to_categorical(${JSON.stringify(c.y)}, ${JSON.stringify(c.args)}) (float32 here: R's default dtype)`, () => {
      const got = to_categorical(c.y, c.args);
      expect(got.data).to.be.instanceOf(Float32Array);
      expectArray(got, c.out, { dtype: false });
    });
  }

  it("takes a { data, shape } label vector (as dataset_mnist() gives) and a dtype", () => {
    const got = to_categorical({ data: Uint8Array.of(2, 0), shape: [2] }, { dtype: "int32" });
    expect(got.data).to.be.instanceOf(Int32Array);
    expect([...got.data]).to.deep.equal([0, 0, 1, 1, 0, 0]);
    expect(got.shape).to.deep.equal([2, 3]);
  });

  it("rejects labels that are not class indices, instead of wrapping them as numpy would", () => {
    expect(() => to_categorical([0, -1])).to.throw(
      KerasError,
      /^to_categorical\(\): `y` must hold class indices \(integers from 0\), got -1 at position 1/,
    );
    expect(() => to_categorical([0.5])).to.throw(KerasError, /got 0.5 at position 0/);
    expect(() => to_categorical([0, 3], { num_classes: 3 })).to.throw(KerasError, /`y` holds class 3, outside 0..2/);
    expect(() => to_categorical([])).to.throw(KerasError, /`y` is empty: give `num_classes`/);
    expect(to_categorical([], { num_classes: 2 }).shape).to.deep.equal([0, 2]);
  });
});

describe("normalize", () => {
  for (const c of keras.normalize) {
    it(`matches Keras for ${JSON.stringify(c.args)} on shape [${c.out.shape}]`, () => {
      const args = { ...c.args, ...(c.args.order === "Inf" ? { order: Infinity } : {}) };
      expectArray(normalize(c.x, args), c.out, { tol: 1e-15 });
    });
  }

  it("returns float32 for float32 input, float64 for JS numbers", () => {
    expect(normalize(Float32Array.of(3, 4)).data).to.be.instanceOf(Float32Array);
    expect(normalize([3, 4]).data).to.be.instanceOf(Float64Array);
    expect([...normalize(Float32Array.of(3, 4)).data]).to.deep.equal([Math.fround(0.6), Math.fround(0.8)]);
  });

  it("rejects a bad axis or order with a KerasError", () => {
    expect(() => normalize([[1, 2]], { axis: 2 })).to.throw(
      KerasError,
      /^normalize\(\): `axis` 2 is out of range for `x` of rank 2/,
    );
    expect(() => normalize([[1, 2]], { order: 0 })).to.throw(KerasError, /`order` must be a positive number/);
    expect(() => normalize(3)).to.throw(KerasError, /`x` must have at least one axis/);
    expect(() => normalize([[1, 2], [3]])).to.throw(KerasError, /`x` must be a rectangular nested array of numbers/);
  });
});
