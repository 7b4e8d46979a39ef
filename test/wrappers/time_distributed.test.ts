/**
 * time_distributed(): the inner layer at every timestep, with masks (passed per timestep, and on to the
 * next layer), a stateful inner layer, shapes, parameter counts and errors. Expected numbers are
 * derived by hand in the comments (linear activations keep the arithmetic exact).
 */
import { expect } from "chai";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import {
  KerasError,
  count_params,
  get_weights,
  keras_model_sequential,
  layer_dense,
  layer_input,
  layer_lstm,
  layer_masking,
  layer_simple_rnn,
  layer_time_distributed,
  reset_states,
  summary,
  time_distributed,
} from "../../src/index.js";
import { eagerMaskOf } from "../../src/engine/eager.js";
import { BACKENDS, expectClose } from "./helpers.js";

const dense2 = () =>
  layer_dense({
    units: 2,
    weights: [
      [
        [1, 2],
        [3, 4],
      ],
      [0.5, -1],
    ],
  });
// x (2, 3, 2); y[b, t] = x[b, t] · [[1, 2], [3, 4]] + [0.5, -1]:
//   [1, 0] -> [1.5, 1];  [0, 1] -> [3.5, 3];  [1, 1] -> [4.5, 5]
//   [2, -1] -> [2 - 3 + 0.5, 4 - 4 - 1] = [-0.5, -1];  [0, 0] -> [0.5, -1];  [-1, 3] -> [-1 + 9 + 0.5, -2 + 12 - 1] = [8.5, 9]
const X = [
  [
    [1, 0],
    [0, 1],
    [1, 1],
  ],
  [
    [2, -1],
    [0, 0],
    [-1, 3],
  ],
];
const Y = [
  [
    [1.5, 1],
    [3.5, 3],
    [4.5, 5],
  ],
  [
    [-0.5, -1],
    [0.5, -1],
    [8.5, 9],
  ],
];

/** SimpleRNN(1) with linear activation: h' = w x + u h + b. */
const linearRnn = (w: number, u: number, args: Record<string, unknown> = {}) =>
  layer_simple_rnn({ units: 1, activation: null, weights: [[[w]], [[u]], [0]], ...args });

for (const backend of BACKENDS) {
  describe(`time_distributed on ${backend}`, () => {
    before(async () => {
      await use_backend(backend);
    });

    it("applies a dense layer to every timestep with the inner layer's weights", () => {
      const y = time_distributed(X, { layer: dense2() }) as Tensor;
      expectClose(y, Y, 1e-6);
      y.dispose();
    });

    it("the weights argument of the wrapper replaces the inner layer's", () => {
      const td = layer_time_distributed({
        layer: layer_dense({ units: 2 }),
        weights: [
          [
            [1, 2],
            [3, 4],
          ],
          [0.5, -1],
        ],
      });
      const y = td(X) as Tensor;
      expectClose(y, Y, 1e-6);
      y.dispose();
    });

    it("passes the mask on: the output carries the input mask", () => {
      const mask = [
        [true, false, true],
        [false, true, true],
      ];
      const y = time_distributed(X, { layer: dense2() });
      const ym = time_distributed({ layer: dense2() })(X, { mask }) as Tensor;
      expectClose(ym, Y, 1e-6); // a dense layer ignores the mask
      const outMask = eagerMaskOf(ym)!;
      expect(outMask.shape).to.deep.equal([2, 3]);
      expect(Array.from(outMask.dataSync())).to.deep.equal([1, 0, 1, 0, 1, 1]);
      [y, ym, outMask].forEach((t) => t.dispose());
    });

    it("a mask from layer_masking flows through time_distributed(dense) to a recurrent layer", () => {
      // x = [1, 0, 2] (one feature), mask_value 0 -> mask [T, F, T]. Dense(1) with kernel 2, bias 1: [3, 1, 5].
      // SimpleRNN(1), linear, w = 1, u = 0.5: h = 3; t = 2 masked, h stays 3; h = 5 + 0.5 * 3 = 6.5.
      // (Without the mask: 3 -> 1 + 1.5 = 2.5 -> 5 + 1.25 = 6.25.)
      const x = [[[1], [0], [2]]];
      const masked = layer_masking({ mask_value: 0 })(x) as Tensor;
      const td = time_distributed(masked, { layer: layer_dense({ units: 1, weights: [[[2]], [1]] }) }) as Tensor;
      expectClose(td, [[[3], [1], [5]]], 1e-6);
      const h = linearRnn(1, 0.5)(td) as Tensor;
      expectClose(h, [[6.5]], 1e-6);
      [masked, td, h].forEach((t) => t.dispose());
    });

    it("a (batch, time, inner time) mask reaches an inner recurrent layer step by step", () => {
      // SimpleRNN(1), linear, w = u = 1 (a running sum of the unmasked inputs) at each outer timestep:
      //   t = 1: x = [1, 2, 3], mask [T, F, T] -> 1 + 3 = 4;  t = 2: x = [4, 5, 6], mask [F, T, T] -> 5 + 6 = 11.
      const x = [
        [
          [[1], [2], [3]],
          [[4], [5], [6]],
        ],
      ];
      const mask = [
        [
          [true, false, true],
          [false, true, true],
        ],
      ];
      const y = time_distributed({ layer: linearRnn(1, 1) })(x, { mask }) as Tensor;
      expectClose(y, [[[4], [11]]], 1e-6);
      // The inner layer returns no mask, so the output mask is the input mask reduced to (batch, time).
      const outMask = eagerMaskOf(y)!;
      expect(Array.from(outMask.dataSync())).to.deep.equal([1, 1]);
      [y, outMask].forEach((t) => t.dispose());
    });

    it("a stateful inner layer carries its state from timestep to timestep and call to call", () => {
      // Running sum: t = 1: [1, 2] -> 3; t = 2 starts at 3: 3 + 3 + 4 = 10. Next call starts at 10: 13, 20.
      const td = time_distributed({ layer: linearRnn(1, 1, { stateful: true }), batch_input_shape: [1, 2, 2, 1] });
      const x = [
        [
          [[1], [2]],
          [[3], [4]],
        ],
      ];
      const y1 = td(x) as Tensor;
      expectClose(y1, [[[3], [10]]], 1e-6);
      const y2 = td(x) as Tensor;
      expectClose(y2, [[[13], [20]]], 1e-6);
      reset_states(td);
      const y3 = td(x) as Tensor;
      expectClose(y3, [[[3], [10]]], 1e-6);
      [y1, y2, y3].forEach((t) => t.dispose());
      // With a (batch, time, inner time) mask: t = 1: [1, 2], mask [T, F] -> 1; t = 2: [3, 4], mask [F, T] -> 1 + 4 = 5.
      const tdMasked = time_distributed({
        layer: linearRnn(1, 1, { stateful: true }),
        batch_input_shape: [1, 2, 2, 1],
      });
      const ym = tdMasked(x, {
        mask: [
          [
            [true, false],
            [false, true],
          ],
        ],
      }) as Tensor;
      expectClose(ym, [[[1], [5]]], 1e-6);
      ym.dispose();
    });

    it("leaks no tensors", () => {
      const td = time_distributed({ layer: dense2() });
      (td(X) as Tensor).dispose();
      const before = tf.memory().numTensors;
      (td(X) as Tensor).dispose();
      expect(tf.memory().numTensors).to.equal(before);
    });
  });
}

describe("time_distributed: shapes, parameter counts and errors", () => {
  it("summary shows the (batch, time, ...inner output) shape and the inner layer's parameter count", () => {
    // Dense(8) on 16 features: 16 * 8 + 8 = 136.
    const model = keras_model_sequential({
      input_shape: [10, 16],
      layers: [time_distributed({ layer: layer_dense({ units: 8 }) })],
    });
    const text = summary(model, { print: false, line_length: 80 });
    expect(text).to.match(/time_distributed \(TimeDistributed\)\s+\(None, 10, 8\)\s+136/);
    expect(count_params(model)).to.equal(136);
    expect(
      (get_weights(model) as number[][][]).map((w) => [w.length, Array.isArray(w[0]) ? w[0].length : null]),
    ).to.deep.equal([
      [16, 8],
      [8, null],
    ]);
  });

  it("wraps a recurrent layer over 4-D inputs", () => {
    const x = layer_input({ shape: [5, 7, 3] });
    const y = time_distributed(x, { layer: layer_lstm({ units: 4 }) });
    expect(y.shape).to.deep.equal([null, 5, 4]);
  });

  it("errors name the function and the argument", () => {
    const err = (f: () => unknown, re: RegExp) => expect(f).to.throw(KerasError, re);
    // @ts-expect-error: not a layer (the test of the run-time check)
    err(() => time_distributed({ layer: 3 }), /time_distributed\(\): `layer` must be a layer value/);
    // @ts-expect-error: `layer` is required (the test of the run-time message)
    err(() => time_distributed({}), /`layer` is required/);
    err(
      () => time_distributed(layer_input({ shape: [4] }), { layer: layer_dense({ units: 2 }) }),
      /at least 3 axes .* got shape \(None, 4\)/,
    );
    err(
      () =>
        time_distributed(layer_input({ shape: [4, 3, 2] }), { layer: layer_lstm({ units: 2, return_state: true }) }),
      /must return one tensor/,
    );
  });
});
