/** layer_rnn over stacked and custom cells (with constants), cuDNN layers, summary() counts, wasm vs cpu. */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { KerasError } from "../../src/errors.js";
import { from_config, set_weights } from "../../src/index.js";
import { keras_model_sequential } from "../../src/model/sequential.js";
import { keras_model } from "../../src/model/functional.js";
import { layer_input } from "../../src/model/symbolic.js";
import { summary } from "../../src/report/summary.js";
import { get_weights } from "../../src/api/weights.js";
import {
  convert_cudnn_weights,
  layer_cudnn_gru,
  layer_cudnn_lstm,
  layer_from_cudnn,
  layer_gru,
  layer_gru_cell,
  layer_lstm,
  layer_rnn,
  layer_simple_rnn,
  layer_simple_rnn_cell,
  layer_stacked_rnn_cells,
  layer_to_cudnn,
  rnn_cell_custom,
  rnn_cell_gru,
  rnn_cell_lstm,
  rnn_cell_simple,
} from "../../src/layers/recurrent/index.js";
import { bidirectional } from "../../src/layers/wrappers/index.js";
import { expectClose, flat, forwardOf, runModel } from "./helpers.js";

const seq = (...v: number[]) => tf.tensor3d([v.map((x) => [x])]);
const fixture = JSON.parse(readFileSync("test/fixtures/recurrent_torch.json", "utf8")).cases as any[];
const fixtureCase = (name: string) => fixture.find((c) => c.name === name);

/** h = 0.5 h + x + c with c a call-time constant: the seed-004 MinimalRNNCell with constants. */
const constantCell = () =>
  rnn_cell_custom({
    class_name: "MinimalRNNCell",
    state_size: 1,
    build: (inputDim) => [
      { name: "kernel", shape: [inputDim, 1], initializer: "ones" },
      { name: "recurrent_kernel", shape: [1, 1], initializer: "ones" },
    ],
    call: (x, [h], [kernel, recurrent], { constants }) => {
      const out = tf.add(tf.add(tf.matMul(x, kernel), tf.mul(tf.matMul(h, recurrent), 0.5)), constants[0]);
      return [out, [out]];
    },
  });

describe("layer_rnn, stacked and custom cells", () => {
  before(async () => {
    await use_backend("wasm");
  });

  it("stacked cells: the second cell reads the first one's output; states in cell order", () => {
    // cell 1: h1 = 0.5 h1 + x -> 1, 2.5; cell 2: h2 = 2 h1 (U = 0) -> 2, 5
    const c1 = rnn_cell_simple({ units: 1, activation: "linear" });
    const c2 = rnn_cell_simple({ units: 1, activation: "linear" });
    const weights = [[[1]], [[0.5]], [0], [[2]], [[0]], [0]];
    const [out, s1, s2] = layer_rnn({ cell: [c1, c2], return_sequences: true, return_state: true, weights })(
      seq(1, 2),
    ) as Tensor[];
    expectClose(out, [2, 5], 1e-6);
    expectClose(s1, [2.5], 1e-6);
    expectClose(s2, [5], 1e-6);
    const stacked = layer_stacked_rnn_cells({
      cells: [
        layer_simple_rnn_cell({ units: 1, activation: "linear" }),
        layer_simple_rnn_cell({ units: 1, activation: "linear" }),
      ],
    });
    expectClose(layer_rnn({ cell: stacked, return_sequences: true, weights })(seq(1, 2)), [2, 5], 1e-6);
  });

  it("a stack of GRU and LSTM cells equals a GRU layer followed by an LSTM layer with the same weights", () => {
    const x = tf.randomNormal([2, 5, 3], 0, 1, "float32", 11);
    const gru = layer_gru({ units: 4, return_sequences: true });
    const mid = gru(x) as Tensor;
    const lstm = layer_lstm({ units: 2 });
    const expected = lstm(mid);
    const stack = layer_rnn({
      cell: [layer_gru_cell({ units: 4 }), rnn_cell_lstm({ units: 2 })],
      weights: [...get_weights(gru), ...get_weights(lstm)],
    });
    expectClose(stack(x), expected, 1e-5);
  });

  it("a custom cell receives constants at every step, eagerly and in a functional model", () => {
    // c = 1, x = 1, 2: h = 0 + 1 + 1 = 2, then 1 + 2 + 1 = 4
    const layer = layer_rnn({ cell: constantCell(), return_sequences: true });
    expectClose(layer(seq(1, 2), { constants: [tf.tensor2d([[1]])] }), [2, 4], 1e-6);
    const x = layer_input({ shape: [2, 1] });
    const c = layer_input({ shape: [1] });
    const model = keras_model({ inputs: [x, c], outputs: layer_rnn({ cell: constantCell() })(x, { constants: [c] }) });
    // c = -1: h = 0 + 1 - 1 = 0, then 0 + 2 - 1 = 1
    expectClose(runModel(model, [seq(1, 2), tf.tensor2d([[-1]])])[0], [1], 1e-6);
  });

  it("custom cells with several states, in a stack with a built-in cell, and go_backwards", () => {
    // counter cell: states [sum, count]; output = sum. x = 1, 2, 3
    const counter = rnn_cell_custom({
      state_size: [1, 1],
      call: (x, [sum, count]) => {
        const s = tf.add(sum, x);
        return [s, [s, tf.add(count, 1)]];
      },
    });
    const [out, sum, count] = layer_rnn({ cell: counter, return_state: true, return_sequences: true })(
      seq(1, 2, 3),
    ) as Tensor[];
    expectClose(out, [1, 3, 6]);
    expectClose(sum, [6]);
    expectClose(count, [3]);
    expectClose(layer_rnn({ cell: counter, go_backwards: true, return_sequences: true })(seq(1, 2, 3)), [3, 5, 6]);
    // stacked after a linear SimpleRNN cell h = 0.5 h + x (1, 2.5, 4.25): sums 1, 3.5, 7.75
    const stack = layer_rnn({
      cell: [rnn_cell_simple({ units: 1, activation: "linear" }), counter],
      return_sequences: true,
      weights: [[[1]], [[0.5]], [0]],
    });
    expectClose(stack(seq(1, 2, 3)), [1, 3.5, 7.75], 1e-6);
  });

  it("a custom cell in bidirectional: the backward copy runs with go_backwards and is flipped back", () => {
    // running sums of 1, 2, 3: forward 1, 3, 6; backward (3, 2, 1) 3, 5, 6, back in input order 6, 5, 3
    const counter = rnn_cell_custom({
      state_size: 1,
      call: (x, [sum]) => {
        const s = tf.add(sum, x);
        return [s, [s]];
      },
    });
    const out = bidirectional(seq(1, 2, 3), { layer: layer_rnn({ cell: counter, return_sequences: true }) });
    expectClose(out, [1, 6, 3, 5, 6, 3]);
  });

  it("a custom cell returning wrong shapes is a KerasError naming the layer function", () => {
    const bad = rnn_cell_custom({ state_size: 2, call: (x, [h]) => [x, [h]] });
    expect(() => layer_rnn({ cell: bad })(tf.ones([1, 2, 3]))).to.throw(
      KerasError,
      /layer_rnn\(\).*output of shape \(1, 3\); expected \(1, 2\)/,
    );
    expect(() => layer_rnn({ cell: 3 } as any)).to.throw(KerasError, /layer_rnn\(\).*`cell` must be an RNN cell/);
  });
});

describe("cuDNN layers", () => {
  before(async () => {
    await use_backend("wasm");
  });

  it("layer_cudnn_gru with the (6u) bias gives torch's GRU numbers; warns once", () => {
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (m: string) => warnings.push(m);
    try {
      const c = fixtureCase("gru");
      const [k, rk, b] = c.weights;
      const layer = layer_cudnn_gru({ units: 3, return_sequences: true, weights: [k, rk, b.flat()] });
      layer_cudnn_gru({ units: 3 });
      expectClose(layer(tf.tensor(c.x)), c.outputs, 1e-5, 1e-4);
    } finally {
      console.warn = warn;
    }
    expect(warnings.filter((w) => w.includes("layer_cudnn_gru"))).to.have.length.at.most(1);
    expect(layer_cudnn_gru({ units: 2 }).config.reset_after).to.equal(undefined);
  });

  it("layer_cudnn_lstm with an (8u) bias (input part + recurrent part) gives torch's LSTM numbers", () => {
    const c = fixtureCase("lstm");
    const [k, rk, b] = c.weights as [number[][], number[][], number[]];
    const split = [...b.map((v) => v * 0.25), ...b.map((v) => v * 0.75)];
    expectClose(
      layer_cudnn_lstm({ units: 3, return_sequences: true, weights: [k, rk, split] })(tf.tensor(c.x)),
      c.outputs,
      1e-5,
      1e-4,
    );
    expectClose(convert_cudnn_weights([k, rk, split], "CuDNNLSTM")[2], b, 1e-6);
    expectClose(convert_cudnn_weights([k, rk, b], "LSTM")[2], [...b, ...new Array(12).fill(0)], 1e-6);
  });

  it("weights convert between cuDNN and standard layers (layer_from_cudnn / layer_to_cudnn)", () => {
    const c = fixtureCase("gru");
    const [k, rk, b] = c.weights;
    const converted = convert_cudnn_weights([k, rk, b.flat()], "CuDNNGRU");
    expectClose(converted[2], b, 1e-6);
    expect((converted[2] as number[][]).map((r) => r.length)).to.deep.equal([9, 9]);
    expectClose(convert_cudnn_weights([k, rk, b], "GRU")[2], b.flat(), 1e-6);
    expect(() => convert_cudnn_weights([k, rk, [0, 0, 0, 0, 0, 0, 0, 0, 0]], "GRU")).to.throw(
      KerasError,
      /reset_after = FALSE/,
    );
    const cudnn = layer_cudnn_gru({ units: 3, return_sequences: true, weights: [k, rk, b.flat()] });
    cudnn(tf.tensor(c.x));
    const gru = layer_from_cudnn(cudnn);
    expect(gru.className).to.equal("GRU");
    expectClose(gru(tf.tensor(c.x)), c.outputs, 1e-5, 1e-4);
    const back = layer_to_cudnn(gru);
    expect(back.className).to.equal("CuDNNGRU");
    expectClose(back(tf.tensor(c.x)), c.outputs, 1e-5, 1e-4);
    expect(() => layer_to_cudnn(layer_gru({ units: 2, reset_after: false }))).to.throw(KerasError, /reset_after TRUE/);
  });

  it("layer_from_cudnn / layer_to_cudnn keep go_backwards (a CuDNNGRU config can carry it)", () => {
    // torch fixture "gru_go_backwards": the sequence processed in reverse, outputs in processing order
    const c = fixtureCase("gru_go_backwards");
    const [k, rk, b] = c.weights;
    const cudnn = from_config({
      class_name: "CuDNNGRU",
      config: { name: "cu_dnngru", units: 3, return_sequences: true, go_backwards: true },
    }) as any;
    cudnn(tf.tensor(c.x)).dispose(); // builds it, so its weights can be set
    const withWeights = set_weights(cudnn, [k, rk, b.flat()] as any) as any;
    expectClose(withWeights(tf.tensor(c.x)), c.outputs, 1e-5, 1e-4);
    const gru = layer_from_cudnn(withWeights);
    expect(gru.config.go_backwards).to.equal(true);
    expectClose(gru(tf.tensor(c.x)), c.outputs, 1e-5, 1e-4);
    const back = layer_to_cudnn(gru);
    expect(back.config.go_backwards).to.equal(true);
    expectClose(back(tf.tensor(c.x)), c.outputs, 1e-5, 1e-4);
  });

  it("the cuDNN layers take R keras 2's arguments only", () => {
    // @ts-expect-error: not an argument of layer_cudnn_gru (the test of the run-time check)
    expect(() => layer_cudnn_gru({ units: 2, go_backwards: true })).to.throw(
      KerasError,
      /layer_cudnn_gru\(\).*unknown argument `go_backwards`/,
    );
    // @ts-expect-error: not an argument of layer_cudnn_lstm (the test of the run-time check)
    expect(() => layer_cudnn_lstm({ units: 2, dropout: 0.1 })).to.throw(KerasError, /unknown argument `dropout`/);
    expect(
      layer_cudnn_lstm({ units: 2, unit_forget_bias: false, stateful: true, batch_input_shape: [2, 3, 4] }).config
        .stateful,
    ).to.equal(true);
  });
});

describe("summary() parameter counts of the recurrent layers", () => {
  const countOf = (layer: any, features = 64) => {
    const text = summary(layer(keras_model_sequential({ input_shape: [10, features] })), { print: false });
    return text.match(/Total params: ([\d,]+)/)![1];
  };
  it("Keras's counts", () => {
    expect(countOf(layer_lstm({ units: 128 }))).to.equal("98,816"); // 4 (64·128 + 128·128 + 128)
    expect(countOf(layer_gru({ units: 256 }))).to.equal("247,296"); // 3 (64·256 + 256·256 + 2·256)
    expect(countOf(layer_simple_rnn({ units: 128 }))).to.equal("24,704"); // 64·128 + 128·128 + 128
    expect(countOf(layer_gru({ units: 256, reset_after: false }))).to.equal("246,528"); // 3 (64·256 + 256·256 + 256)
    expect(countOf(layer_cudnn_gru({ units: 256 }))).to.equal("247,296"); // 3 (64·256 + 256·256) + 6·256
    expect(countOf(layer_cudnn_lstm({ units: 128 }))).to.equal("99,328"); // 4 (64·128 + 128·128) + 8·128
    // GRU(4) on 3: 3 (3·4 + 4·4 + 2·4) = 108; LSTM(2) on 4: 4 (4·2 + 2·2 + 2) = 56
    expect(countOf(layer_rnn({ cell: [rnn_cell_gru({ units: 4 }), rnn_cell_lstm({ units: 2 })] }), 3)).to.equal("164");
    expect(countOf(layer_gru({ units: 3, use_bias: false }), 2)).to.equal("45"); // 3 (2·3 + 3·3)
  });
});

describe("wasm and cpu agree to 1e-5 (outputs and gradients)", () => {
  after(async () => {
    await use_backend("wasm");
  });

  const cases: [string, () => any, number][] = [
    ["simple_rnn", () => layer_simple_rnn({ units: 3, return_sequences: true }), 1],
    ["gru", () => layer_gru({ units: 3, return_sequences: true, return_state: true }), 1],
    ["gru reset_after FALSE, go_backwards", () => layer_gru({ units: 3, reset_after: false, go_backwards: true }), 1],
    ["lstm masked", () => layer_lstm({ units: 3, return_sequences: true }), 1],
  ];
  for (const [name, make] of cases) {
    it(name, async () => {
      const run = async (backend: "wasm" | "cpu") => {
        await use_backend(backend);
        const layer = make();
        const specs = layer(tf.zeros([1, 2, 4])) && get_weights(layer);
        const weights = specs.map((w: any, i: number) =>
          tf.tensor(
            flat(w).map((_, j) => Math.sin(1 + 7 * i + 3.1 * j)),
            tf.tensor(w).shape,
          ),
        );
        const x = tf.tensor3d(
          Array.from({ length: 2 }, (_, b) =>
            Array.from({ length: 5 }, (_, t) => Array.from({ length: 4 }, (_, f) => Math.cos(b + 2 * t + 0.7 * f))),
          ),
        );
        const mask = name.includes("masked")
          ? tf.tensor2d(
              [
                [1, 1, 0, 1, 0],
                [0, 1, 1, 1, 1],
              ],
              undefined,
              "bool",
            )
          : null;
        const f = (xv: Tensor, ...w: Tensor[]) =>
          forwardOf(layer, { x: xv, weights: w, mask }).outputs.reduce(
            (s: Tensor, o: Tensor) => tf.add(s, tf.sum(tf.sin(o))),
            tf.scalar(0),
          );
        const outputs = forwardOf(layer, { x, weights, mask }).outputs.map((o: Tensor) => flat(o));
        const grads = tf
          .grads(f)([x, ...weights])
          .map((g) => flat(g));
        return { outputs, grads };
      };
      const wasm = await run("wasm");
      const cpu = await run("cpu");
      wasm.outputs.forEach((o, i) => expectClose(o, cpu.outputs[i], 1e-5, 0, `output ${i}`));
      wasm.grads.forEach((g, i) => expectClose(g, cpu.grads[i], 1e-5, 1e-5, `gradient ${i}`));
    });
  }
});
