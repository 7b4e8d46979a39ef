/** What a user sees when printing values in Node (console.log / the REPL use util.inspect). */
import { expect } from "chai";
import { inspect } from "node:util";
import { pipe } from "fp-ts/lib/function.js";
import { keras_model_sequential, layer_dense, layer_input, summary } from "../../src/index.js";

describe("printing values", () => {
  it("a model prints as its summary table (R's print(model))", () => {
    const m = pipe(keras_model_sequential({ input_shape: [3] }), layer_dense({ units: 2 }));
    const printed = inspect(m);
    expect(printed).to.equal(summary(m, { print: false }));
    expect(printed).to.include(" dense (Dense)               (None, 2)                 8         ");
  });

  it("a model extended by a verb still prints as a summary", () => {
    const m = pipe(keras_model_sequential({ input_shape: [3] }), layer_dense({ units: 2 }), layer_dense({ units: 1 }));
    expect(inspect(m)).to.include("Total params: 11");
  });

  it("a symbolic tensor prints like a KerasTensor, naming its layer", () => {
    const x = layer_input({ shape: [4], name: "features" });
    expect(inspect(x)).to.equal('<KerasTensor shape=(None, 4), dtype=float32, from layer "features">');
    const y = layer_dense(x, { units: 2, name: "proj" });
    expect(inspect(y)).to.equal('<KerasTensor shape=(None, 2), dtype=float32, from layer "proj">');
  });

  it("a layer prints its class and name", () => {
    expect(inspect(layer_dense({ units: 3, name: "head" }))).to.equal('<Dense layer "head">');
  });
});
