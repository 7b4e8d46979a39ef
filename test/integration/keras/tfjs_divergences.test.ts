/**
 * Where save_model_tfjs() refuses (or documents) a difference with tfjs-layers 4.22, Keras is on our
 * side: the same models with the same weights predict our numbers in Keras 3.
 */
import { expect } from "chai";
import * as k from "../../../src/index.js";
import type { Model } from "../../../src/model/model.js";
import { requireKeras, runKeras } from "../../helpers/keras.js";
import { nested, withPatternWeights } from "../../core/helpers.js";
import { expectSame, oursPredict, tokens } from "../../io/tfjs_helpers.js";

const SCRIPT = `
import sys, json, numpy as np, keras
from keras import layers as L
cases = json.load(open(sys.argv[1]))
def build(name):
    if name == "bn_axis1":
        return keras.Sequential([keras.Input((3, 8)), L.BatchNormalization(axis=1)])
    if name == "average_pooling_mask":
        return keras.Sequential([keras.Input((5,)), L.Embedding(10, 3, mask_zero=True), L.GlobalAveragePooling1D()])
    if name == "recurrent_after_mask":
        return keras.Sequential([keras.Input((5,)), L.Embedding(10, 2, mask_zero=True), L.LSTM(2),
                                 L.RepeatVector(5), L.SimpleRNN(2, return_sequences=True)])
    if name == "add_masks":
        x = keras.Input((5,))
        e = L.Embedding(10, 3, mask_zero=True)(x)
        return keras.Model(x, L.SimpleRNN(2)(L.Add()([e, e])))
    if name == "bidirectional_sequences_mask":
        return keras.Sequential([keras.Input((5,)), L.Embedding(10, 3, mask_zero=True),
                                 L.Bidirectional(L.SimpleRNN(2, return_sequences=True))])
out = {}
for c in cases:
    m = build(c["name"])
    m.set_weights([np.array(w, dtype="float32") for w in c["weights"]])
    out[c["name"]] = np.asarray(m(np.array(c["x"], dtype="float32"), training=False)).ravel().tolist()
json.dump(out, open(sys.argv[2], "w"))
`;

describe("tfjs-layers divergences: Keras computes what we compute", function () {
  this.timeout(180000);
  before(function () {
    requireKeras(this);
  });

  // (channels_first Conv1D has hand-derived numbers in test/core/layers.test.ts; TensorFlow's CPU cannot run it.)
  it("non-last batch normalization, masked average pooling, masks after merges and stale masks", async () => {
    await k.backend_ready();
    const seq = (shape: number[], layers: unknown[]) =>
      withPatternWeights(k.keras_model_sequential({ input_shape: shape, layers: layers as any }));
    const e = k.layer_input({ shape: [5] });
    const emb = k.layer_embedding(e, { input_dim: 10, output_dim: 3, mask_zero: true });
    const cases: Record<string, [Model, unknown]> = {
      bn_axis1: [seq([3, 8], [k.layer_batch_normalization({ axis: 1 })]), nested([2, 3, 8])],
      average_pooling_mask: [
        seq(
          [5],
          [k.layer_embedding({ input_dim: 10, output_dim: 3, mask_zero: true }), k.layer_global_average_pooling_1d()],
        ),
        tokens(5),
      ],
      recurrent_after_mask: [
        seq(
          [5],
          [
            k.layer_embedding({ input_dim: 10, output_dim: 2, mask_zero: true }),
            k.layer_lstm({ units: 2 }),
            k.layer_repeat_vector({ n: 5 }),
            k.layer_simple_rnn({ units: 2, return_sequences: true }),
          ],
        ),
        tokens(5),
      ],
      add_masks: [
        withPatternWeights(
          k.keras_model({ inputs: e, outputs: k.layer_simple_rnn(k.layer_add([emb, emb]), { units: 2 }) }),
        ),
        tokens(5),
      ],
      bidirectional_sequences_mask: [
        seq(
          [5],
          [
            k.layer_embedding({ input_dim: 10, output_dim: 3, mask_zero: true }),
            k.bidirectional({ layer: k.layer_simple_rnn({ units: 2, return_sequences: true }) }),
          ],
        ),
        tokens(5),
      ],
    };
    const input = Object.entries(cases).map(([name, [model, x]]) => ({ name, weights: k.get_weights(model), x }));
    const keras = runKeras<Record<string, number[]>>(SCRIPT, input);
    for (const [name, [model, x]] of Object.entries(cases)) {
      const [ours] = await oursPredict(model, [x]);
      expectSame([ours], [keras[name]], 1e-5, name);
    }
    // Keras, as we, gives zeros at masked steps of a bidirectional layer returning sequences (tfjs-layers does not).
    const [bidi] = await oursPredict(cases.bidirectional_sequences_mask[0], [tokens(5)]);
    expect(bidi.slice(-4)).to.deep.equal([0, 0, 0, 0]);
  });
});
