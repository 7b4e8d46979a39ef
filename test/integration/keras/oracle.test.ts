/** The Keras oracle itself: the interpreter answers with Keras 3.15.1 and runs a script end to end. */
import { expect } from "chai";
import { requireKeras, runKeras } from "../../helpers/keras.js";

describe("Keras oracle (KERAS_PYTHON)", function () {
  before(function () {
    requireKeras(this);
  });

  it("is Keras 3.15.1 and computes a dense layer's output", function () {
    const out = runKeras<{ version: string; y: number[][] }>(
      `
import sys, json, numpy as np, keras
inp = json.load(open(sys.argv[1]))
layer = keras.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")
y = layer(np.array(inp["x"], dtype="float32"))
json.dump({"version": keras.__version__, "y": np.asarray(y).tolist()}, open(sys.argv[2], "w"))
`,
      { x: [[1, 2, 3]] },
    );
    expect(out.version).to.equal("3.15.1");
    // hand-derived: all-ones kernel sums the inputs
    expect(out.y).to.deep.equal([[6, 6]]);
  });
});
