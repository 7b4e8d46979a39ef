/**
 * A layer value taken out of a model (get_layer) right after composition, its weights never drawn:
 * count_params / get_weights / set_weights build it for the input shapes the model gives it. The
 * recorded shapes are not an input-shape argument: configs and the first-layer input shape of a
 * model the value joins later are unchanged. Parameter counts by hand (KERAS_FACTS "Cells").
 */
import { expect } from "chai";
import { use_backend } from "../../src/backend/index.js";
import { keras_model_sequential } from "../../src/model/sequential.js";
import { keras_model } from "../../src/model/functional.js";
import { layer_input } from "../../src/model/symbolic.js";
import { count_params, get_layer, get_weights, set_weights } from "../../src/api/weights.js";
import { get_config } from "../../src/api/config.js";
import { layer_dense } from "../../src/layers/core/index.js";
import { layer_gru } from "../../src/layers/recurrent/index.js";

describe("a layer taken from a model knows the model's input shapes", () => {
  before(async () => {
    await use_backend("wasm");
  });

  const sequential = () =>
    keras_model_sequential({
      input_shape: [6, 5],
      layers: [layer_gru({ units: 2, return_sequences: true }), layer_dense({ units: 3 })],
    });

  it("count_params of a sequential model's layers, right after composition", () => {
    const m = sequential();
    // GRU(2), reset_after, on 5 features: kernel 5·6 + recurrent 2·6 + bias 2·6 = 54
    expect(count_params(get_layer(m, { index: 1 }))).to.equal(54);
    // Dense(3) on 2 features: 2·3 + 3 = 9
    expect(count_params(get_layer(m, { index: 2 }))).to.equal(9);
    expect(count_params(m)).to.equal(63);
  });

  it("count_params of a functional model's layers (the shapes of their first call)", () => {
    const x = layer_input({ shape: [4] });
    const a = layer_dense({ units: 3, name: "a" });
    const m = keras_model({ inputs: x, outputs: layer_dense(a(x), { units: 1 }) });
    expect(count_params(get_layer(m, { name: "a" }))).to.equal(15); // 4·3 + 3
    expect(count_params(get_layer(m, { index: 3 }))).to.equal(4); // 3·1 + 1
    expect(() => count_params(a)).to.throw(/not built yet/); // the value given to the graph is unchanged
  });

  it("get_weights / set_weights of a layer taken from a model that never ran", () => {
    const m = sequential();
    const dense = get_layer(m, { index: 2 });
    const w = get_weights(dense) as (number[][] | number[])[];
    expect(
      w.map((a: number[][] | number[]) => [a.length, Array.isArray(a[0]) ? (a[0] as number[]).length : null]),
    ).to.deep.equal([
      [2, 3],
      [3, null],
    ]);
    // the same numbers the model holds for it
    expect(get_weights(m).slice(3)).to.deep.equal(w);
    const set = set_weights(dense, [
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [7, 8, 9],
    ]);
    expect(get_weights(set)).to.deep.equal([
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [7, 8, 9],
    ]);
  });

  it("the recorded shapes change neither configs nor the input shape of a model the layer joins", () => {
    const m = sequential();
    const c = get_config(m) as any;
    expect(c.layers[0].config.batch_input_shape).to.deep.equal([null, 6, 5]);
    expect(c.layers[1].config).to.not.have.property("batch_input_shape");
    const gru = get_layer(m, { index: 1 });
    expect((get_config(gru) as any).config).to.not.have.property("batch_input_shape");
    // appended first to a model without an input shape, it does not give that model one
    const other = keras_model_sequential({ layers: [get_layer(m, { index: 2 })] });
    expect(other.inputShape).to.equal(null);
    expect(() => count_params(get_layer(other, { index: 1 }))).to.throw(/not built yet/);
    // and a model with another input shape takes it: GRU(2) on 7 features = 7·6 + 2·6 + 2·6 = 66
    const wider = keras_model_sequential({ input_shape: [3, 7], layers: [gru] });
    expect(count_params(wider)).to.equal(66);
    expect(count_params(get_layer(wider, { index: 1 }))).to.equal(66);
  });
});
