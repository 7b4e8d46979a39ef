/**
 * Custom cells (rnn_cell_custom) with their own `get_initial_state`, and layer_rnn over inputs of more
 * than 3 axes (Keras's RNN hands a cell each timestep whatever its shape). Expected numbers are derived
 * by hand in the comments; test/integration/keras/custom_layers.test.ts compares with Keras.
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import { tf, type Tensor } from "../../src/backend/tf.js";
import {
  KerasError,
  get_initial_state,
  keras_model_sequential,
  layer_gru,
  layer_gru_cell,
  layer_input,
  layer_rnn,
  rnn_cell_custom,
} from "../../src/index.js";
import { expectClose } from "../wrappers/helpers.js";

/** h' = h + sum(x over the step's axes): a running total, starting at `start`. */
const totalCell = (start: number | null) =>
  rnn_cell_custom({
    state_size: 1,
    call: (x, [h]) => {
      const y = tf.add(h, tf.reshape(tf.sum(tf.reshape(x, [x.shape[0], -1]), 1), [-1, 1]));
      return [y, [y]];
    },
    get_initial_state: start === null ? null : (batch) => tf.fill([batch, 1], start),
  });

describe("custom cells: get_initial_state and steps of any rank", () => {
  it("starts from the cell's own initial states, unless initial_state is given", () => {
    // x = [[1, 2, 3]] (one feature): totals from 10: 11, 13, 16; from 0 (no get_initial_state): 1, 3, 6.
    const x = [[[1], [2], [3]]];
    const own = layer_rnn(x, { cell: totalCell(10), return_sequences: true }) as Tensor;
    expectClose(own, [[[11], [13], [16]]], 1e-6);
    const zeros = layer_rnn(x, { cell: totalCell(null), return_sequences: true }) as Tensor;
    expectClose(zeros, [[[1], [3], [6]]], 1e-6);
    const given = layer_rnn({ cell: totalCell(10), return_sequences: true })(x, { initial_state: [[[-1]]] }) as Tensor;
    expectClose(given, [[[0], [2], [5]]], 1e-6);
    const states = get_initial_state(totalCell(10), { batch_size: 2 });
    expectClose(states[0], [[10], [10]], 0);
    tf.dispose([own, zeros, given, ...states]);
  });

  it("a stack starts each cell from its own initial states", () => {
    // Two running totals: the first from 10 (11, 13), the second sums the first's outputs from 0 (11, 24).
    const y = layer_rnn([[[1], [2]]], { cell: [totalCell(10), totalCell(null)], return_state: true }) as Tensor[];
    expectClose(y[0], [[24]], 1e-6);
    expectClose(y[1], [[13]], 1e-6);
    expectClose(y[2], [[24]], 1e-6);
    tf.dispose(y);
  });

  it("runs a custom cell over (batch, time, h, w) steps; build sees the step's shape", () => {
    // Steps of 2 x 2: sums 1+2+3+4 = 10 and 0 + 0 + 1 + 1 = 2; totals from 0: 10, 12.
    const seen: unknown[] = [];
    const cell = rnn_cell_custom({
      state_size: 1,
      build: (input_dim, input_shape) => {
        seen.push([input_dim, input_shape]);
        return [];
      },
      call: (x, [h]) => {
        const y = tf.add(h, tf.reshape(tf.sum(tf.reshape(x, [x.shape[0], -1]), 1), [-1, 1]));
        return [y, [y]];
      },
    });
    const model = pipe(keras_model_sequential({ input_shape: [2, 2, 2] }), layer_rnn({ cell, return_sequences: true }));
    expect(layer_rnn(layer_input({ shape: [2, 2, 2] }), { cell, return_sequences: true }).shape).to.deep.equal([
      null,
      2,
      1,
    ]);
    expect(seen[0]).to.deep.equal([2, [null, 2, 2]]);
    const x = tf.tensor([
      [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [0, 0],
          [1, 1],
        ],
      ],
    ]);
    const y = model.layers[0](x) as Tensor;
    expectClose(y, [[[10], [12]]], 1e-6);
    tf.dispose([x, y]);
  });

  it("refuses inputs of more than 3 axes for the built-in cells, and bad initial states of a custom cell", () => {
    expect(() => pipe(keras_model_sequential({ input_shape: [4, 2, 3] }), layer_gru({ units: 2 }))).to.throw(
      KerasError,
      /expected a 3-D input of shape \(batch, timesteps, features\), got shape \(None, 4, 2, 3\)/,
    );
    expect(() =>
      pipe(keras_model_sequential({ input_shape: [4, 2, 3] }), layer_rnn({ cell: layer_gru_cell({ units: 2 }) })),
    ).to.throw(KerasError, /expected a 3-D input/);
    expect(() =>
      pipe(keras_model_sequential({ input_shape: [4, 2, null] }), layer_rnn({ cell: totalCell(0) })),
    ).to.throw(KerasError, /the shape of a timestep \(the axes after the time axis\) must be known/);
    const wrong = rnn_cell_custom({
      state_size: 2,
      call: (x, states) => [x, states],
      get_initial_state: (batch) => tf.zeros([batch, 3]),
    });
    expect(() => get_initial_state(wrong, { batch_size: 2 })).to.throw(
      KerasError,
      /get_initial_state\(\): cell "custom_rnn_cell": `get_initial_state` \(a function of the batch size\) must return a tensor of shape \(2, 2\), got \["\(2, 3\)"\]/,
    );
    expect(() => layer_rnn([[[1, 2]]], { cell: wrong })).to.throw(
      KerasError,
      /`get_initial_state` \(a function of the batch size\) must return/,
    );
  });
});
