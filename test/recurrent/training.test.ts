/**
 * Recurrent layers inside the training engine: weight regularization penalties are part of the loss
 * (as Keras reports it) and constraints are applied after each update.
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import {
  compile,
  constraint_nonneg,
  evaluate,
  fit,
  get_weights,
  keras_model_sequential,
  layer_gru,
  layer_lstm,
  optimizer_sgd,
  regularizer_l1,
  regularizer_l2,
  set_weights,
  use_backend,
} from "../../src/index.js";

describe("recurrent layers in training", () => {
  before(async () => {
    await use_backend("wasm");
  });

  it("evaluate() includes the kernel and recurrent-kernel penalties of a GRU in the loss", async () => {
    // GRU(1) on 1 feature, reset_after = TRUE: kernel (1, 3), recurrent kernel (1, 3), bias (2, 3).
    // With zero inputs, zero initial state and zero bias: z = r = sigmoid(0) = 0.5, hh = tanh(0) = 0,
    // h = z * 0 + (1 - z) * 0 = 0, so the output is 0 and the mse against y = 0 is 0.
    // Loss = mse + l2 penalty + l1 penalty = 0 + 0.5 * (1 + 4 + 9) + 0.1 * (|1| + |-1| + |2|) = 7 + 0.4 = 7.4.
    let model = pipe(
      keras_model_sequential({ input_shape: [3, 1] }),
      layer_gru({
        units: 1,
        kernel_regularizer: regularizer_l2({ l: 0.5 }),
        recurrent_regularizer: regularizer_l1(0.1),
      }),
      compile({ optimizer: "sgd", loss: "mse" }),
    );
    model = set_weights(model, [
      [[1, 2, 3]],
      [[1, -1, 2]],
      [
        [0, 0, 0],
        [0, 0, 0],
      ],
    ]);
    const x = [
      [[0], [0], [0]],
      [[0], [0], [0]],
    ];
    const y = [[0], [0]];
    const scores = await evaluate(model, x, y, { verbose: 0 });
    expect(scores.loss).to.be.closeTo(7.4, 1e-5);
  });

  it("applies an LSTM's kernel constraint after every update", async () => {
    // A learning rate of 1e-9 moves no weight by more than ~1e-8, so after one step the non-negative
    // constraint alone decides: negative kernel entries become 0, the others stay.
    let model = pipe(
      keras_model_sequential({ input_shape: [2, 1] }),
      layer_lstm({ units: 1, kernel_constraint: constraint_nonneg() }),
      compile({ optimizer: optimizer_sgd({ learning_rate: 1e-9 }), loss: "mse" }),
    );
    const kernel = [[-0.5, 0.25, -1, 0.75]];
    model = set_weights(model, [kernel, [[0.1, 0.2, 0.3, 0.4]], [0, 1, 0, 0]]);
    const { model: trained } = await fit(model, [[[1], [2]]], [[0.5]], { epochs: 1, batch_size: 1, verbose: 0 });
    const after = (get_weights(trained)[0] as number[][])[0];
    [0, 0.25, 0, 0.75].forEach((v, i) => expect(after[i]).to.be.closeTo(v, 1e-6));
    expect(get_weights(model)[0]).to.deep.equal(kernel); // the argument model is unchanged
  });

  it("rejects bad regularizer and constraint arguments with a KerasError", () => {
    expect(() => regularizer_l2({ l: -1 })).to.throw(/regularizer_l2\(\): `l` must be a non-negative number, got -1/);
    expect(() => regularizer_l1({ k: 1 } as any)).to.throw(/unknown argument `k`/);
  });
});
