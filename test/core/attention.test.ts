/**
 * The attention layers' shapes, validation and configs (fast; numbers against Keras are in
 * test/integration/keras/layers_issue12.test.ts).
 */
import { expect } from "chai";
import * as k from "../../src/index.js";
import { tf } from "../../src/backend/tf.js";
import { KerasError } from "../../src/errors.js";
import type { SymbolicTensor } from "../../src/model/symbolic.js";
import type { Layer } from "../../src/model/layer.js";
import { flat } from "./helpers.js";
import { model_from_json, model_to_json } from "../../src/api/io.js";

const throwsKeras = (f: () => unknown, fn: string, text: RegExp) => {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(KerasError);
    expect((e as KerasError).message).to.contain(fn);
    expect((e as KerasError).message).to.match(text);
    return;
  }
  expect.fail(`expected a KerasError of ${fn}`);
};

describe("attention layers: shapes, validation, configs", () => {
  const q = () => k.layer_input({ shape: [4, 6] });
  const v = () => k.layer_input({ shape: [7, 6] });

  it("infer output shapes at composition (and the scores' with return_attention_scores)", () => {
    expect(k.layer_attention([q(), v()]).shape).to.deep.equal([null, 4, 6]);
    expect(k.layer_additive_attention([q(), v(), v()]).shape).to.deep.equal([null, 4, 6]);
    const [out, scores] = k.layer_attention([q(), v()], { return_attention_scores: true });
    expect(out.shape).to.deep.equal([null, 4, 6]);
    expect(scores.shape).to.deep.equal([null, 4, 7]);
    const mha = k.layer_multi_head_attention([q(), v()], { num_heads: 3, key_dim: 2, output_shape: [2, 5] });
    expect(mha.shape).to.deep.equal([null, 4, 2, 5]);
    const [, s] = k.layer_multi_head_attention([q(), v()], { num_heads: 3, key_dim: 2, return_attention_scores: true });
    expect(s.shape).to.deep.equal([null, 3, 4, 7]);
  });

  it("count Keras's weights (MultiHeadAttention: 4 projections of kernel and bias)", () => {
    const x = q();
    const model = k.keras_model({
      inputs: x,
      outputs: k.layer_multi_head_attention([x, x], { num_heads: 2, key_dim: 3 }),
    });
    // query, key, value: 6*2*3 + 2*3 each; output: 2*3*6 + 6 (Keras 3.15.1 reports 168)
    expect(k.count_params(model)).to.equal(3 * (36 + 6) + 36 + 6);
    const scaled = k.keras_model({
      inputs: x,
      outputs: k.layer_attention([x, x], { use_scale: true, score_mode: "concat" }),
    });
    expect(k.count_params(scaled)).to.equal(2);
    expect(k.count_params(k.keras_model({ inputs: x, outputs: k.layer_additive_attention([x, x]) }))).to.equal(6);
  });

  it("refuse bad arguments and misfit inputs with a KerasError naming the function", () => {
    throwsKeras(() => k.layer_attention({ score_mode: "sum" as any }), "layer_attention", /score_mode/);
    throwsKeras(() => k.layer_attention({ dropout: 1.5 }), "layer_attention", /dropout/);
    throwsKeras(
      () => k.layer_multi_head_attention({ num_heads: 0, key_dim: 2 }),
      "layer_multi_head_attention",
      /num_heads/,
    );
    throwsKeras(() => (k.layer_multi_head_attention as any)({ num_heads: 2 }), "layer_multi_head_attention", /key_dim/);
    throwsKeras(() => k.layer_attention([q()] as SymbolicTensor[]), "layer_attention", /2 or 3 tensors/);
    throwsKeras(
      () => k.layer_attention([q(), k.layer_input({ shape: [7, 5] })]),
      "layer_attention",
      /same number of features/,
    );
    throwsKeras(
      () => k.layer_attention([q(), v(), k.layer_input({ shape: [8, 6] })]),
      "layer_attention",
      /same number of timesteps/,
    );
    throwsKeras(() => k.layer_attention([k.layer_input({ shape: [6] }), v()]), "layer_attention", /sequence/);
    throwsKeras(
      () => k.layer_multi_head_attention([q(), v()], { num_heads: 2, key_dim: 2, attention_axes: [2] }),
      "layer_multi_head_attention",
      /attention_axes/,
    );
  });

  it("run eagerly on data, hand-derived dot-product attention", () => {
    const query = tf.tensor3d([
      [
        [1, 0],
        [0, 1],
      ],
    ]);
    const value = tf.tensor3d([
      [
        [1, 0],
        [0, 1],
        [1, 1],
      ],
    ]);
    // hand-derived: scores q·v = [[1,0,1],[0,1,1]], softmax rows weigh the values
    const out = k.layer_attention([query, value]) as tf.Tensor;
    const e = Math.E;
    const row0 = [(2 * e) / (2 * e + 1), (1 + e) / (2 * e + 1)];
    expect(Array.from(out.dataSync())[0]).to.be.closeTo(row0[0], 1e-6);
    expect(Array.from(out.dataSync())[1]).to.be.closeTo(row0[1], 1e-6);
    tf.dispose([query, value, out]);
  });

  it("output mask = query mask, through a functional model (masked steps are zeros)", async () => {
    const qi = k.layer_input({ shape: [3], dtype: "int32" });
    const emb = k.layer_embedding(qi, { input_dim: 5, output_dim: 2, mask_zero: true });
    const att = k.layer_attention([emb, emb]);
    const model = k.keras_model({ inputs: qi, outputs: att });
    const values = flat(await k.predict(model, [[1, 2, 0]], { verbose: 0 }));
    expect(values.slice(4)).to.deep.equal([0, 0]);
    expect(values.slice(0, 4).every((x) => x !== 0)).to.equal(true);
  });

  it("config round trips keep every argument, call arguments included", () => {
    const x = q();
    const y = v();
    const a = k.layer_attention([x, y], {
      use_scale: true,
      score_mode: "concat",
      dropout: 0.2,
      seed: 3,
      use_causal_mask: true,
    });
    const b = k.layer_additive_attention([x, y], { use_scale: false });
    const c = k.layer_multi_head_attention([x, y], {
      num_heads: 2,
      key_dim: 3,
      value_dim: 4,
      output_shape: 5,
      use_bias: false,
      dropout: 0.1,
      return_attention_scores: true,
    }) as SymbolicTensor[];
    const model = k.keras_model({ inputs: [x, y], outputs: [a, b, ...c] });
    const back = model_from_json(model_to_json(model));
    const own = (m: { layers: readonly Layer[] }) =>
      m.layers.filter((l) => l.className !== "InputLayer").map((l) => l.config);
    expect(own(back)).to.deep.equal(own(model));
    const layer = model.layers.find((l) => l.className === "MultiHeadAttention")!;
    const fromConfig = k.from_config(k.get_config(layer));
    expect((fromConfig as typeof layer).config).to.deep.equal(layer.config);
  });
});
