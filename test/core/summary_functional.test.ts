/**
 * Functional summary() details that follow Keras 2.9+'s print_summary: layers ordered by depth
 * (inputs first), a shared layer listed once with every call in "Connected to", and "multiple" as the
 * output shape of a layer called on inputs of different shapes.
 */
import { expect } from "chai";
import { keras_model, layer_concatenate, layer_dense, layer_input, summary } from "../../src/index.js";

describe("summary() of functional models", () => {
  it("lists a shared layer once, connected to each of its calls, inputs first", () => {
    const left = layer_input({ shape: [8], name: "left" });
    const right = layer_input({ shape: [8], name: "right" });
    const shared = layer_dense({ units: 4, name: "shared" });
    const out = layer_dense(layer_concatenate([shared(left), shared(right)]), { units: 1 });
    const text = summary(keras_model({ inputs: [left, right], outputs: out }), { print: false });
    const rows = text.split("\n").filter((l) => /^ \S/.test(l) && !l.startsWith(" Layer (type)"));
    // Columns end at 32, 53, 65, 98 (floor(98 * [.33, .55, .67, 1])); a cell breaks after "',".
    expect(rows).to.deep.equal([
      " left (InputLayer)              [(None, 8)]          0           []                               ",
      " right (InputLayer)             [(None, 8)]          0           []                               ",
      " shared (Dense)                 (None, 4)            36          ['left[0][0]',                   ",
      " concatenate (Concatenate)      (None, 8)            0           ['shared[0][0]',                 ",
      " dense (Dense)                  (None, 1)            9           ['concatenate[0][0]']            ",
    ]);
    expect(text).to.include(
      "\n                                                                  'right[0][0]']                  \n",
    );
    // 8*4+4 (shared, counted once) + 8*1+1
    expect(text).to.include("Total params: 45\nTrainable params: 45\nNon-trainable params: 0\n");
  });

  it('shows "multiple" for a layer called on inputs of different shapes', () => {
    const a = layer_input({ shape: [2, 3] });
    const b = layer_input({ shape: [5, 3] });
    const shared = layer_dense({ units: 2, name: "proj" });
    const m = keras_model({ inputs: [a, b], outputs: [shared(a), shared(b)] });
    const row = summary(m, { print: false })
      .split("\n")
      .find((l) => l.startsWith(" proj (Dense)"))!;
    expect(row.slice(32, 53).trim()).to.equal("multiple");
    expect(row.slice(53, 65).trim()).to.equal("8");
  });
});
