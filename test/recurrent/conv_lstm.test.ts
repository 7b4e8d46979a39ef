/**
 * layer_conv_lstm_1d/2d/3d: a hand-derived tiny case, PyTorch references (scripts/torch_wrapper_fixtures.py:
 * torch convolutions with the Keras equations, TF "same" padding written out) in both data formats with
 * strides, dilation, go_backwards and masks, stateful carry, wasm/cpu agreement, shapes, parameter
 * counts and errors.
 */
import { expect } from "chai";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import {
  KerasError,
  bidirectional,
  count_params,
  get_weights,
  keras_model_sequential,
  layer_conv_lstm_1d,
  layer_conv_lstm_2d,
  layer_conv_lstm_3d,
  layer_input,
  reset_states,
  summary,
} from "../../src/index.js";
import { familyOf, type Layer } from "../../src/model/layer.js";
import { BACKENDS, expectClose, fixture } from "../wrappers/helpers.js";

/** The fixtures' arguments are built at run time: a layer function taking any record (the codecs check it). */
const loosely = (f: unknown) => f as (args: Record<string, unknown>) => Layer;
const FAMILIES: Record<number, (args: Record<string, unknown>) => Layer> = {
  1: loosely(layer_conv_lstm_1d),
  2: loosely(layer_conv_lstm_2d),
  3: loosely(layer_conv_lstm_3d),
};
const cases = fixture().conv_lstm as Record<string, any>;
const disposeAll = (y: unknown) => (Array.isArray(y) ? y : [y]).forEach((t) => (t as Tensor).dispose());

/** The layer arguments of a fixture case. */
function argsOf(c: any, format: string, extra: Record<string, unknown> = {}) {
  const { filters, kernel_size, strides, padding, dilation_rate, go_backwards } = c.config;
  return {
    filters,
    kernel_size,
    strides,
    padding,
    dilation_rate,
    go_backwards: go_backwards ?? false,
    data_format: format,
    weights: c.weights,
    ...extra,
  };
}

/** Timesteps [from, to) of a nested (batch, time, ...) array. */
const timeSlice = (x: any[], from: number, to: number) => x.map((sample: any[]) => sample.slice(from, to));

for (const backend of BACKENDS) {
  describe(`layer_conv_lstm on ${backend}`, () => {
    before(async () => {
      await use_backend(backend);
    });

    it("a hand-derived ConvLSTM1D case (kernel 2, valid input conv, 'same' recurrent conv)", () => {
      // Linear activations; filters 1, one channel; kernel taps per gate (i, f, c, o):
      //   W_i = [1, 0], W_f = [0, 1], W_c = [1, 1], W_o = [0.5, 0]; U_c = [1, 1], other U = 0; b = [0, 0, 0, 1].
      // Input conv (valid): z[p] = w0 x[p] + w1 x[p+1]; recurrent conv ("same", k = 2, TF pads after):
      //   r[p] = u0 h[p] + u1 h[p+1], h[2] = 0.
      // t = 1, x = [1, 2, 3], h = c = 0: i = [1, 2], f = [2, 3], c~ = [3, 5], o = [1.5, 2]
      //   c1 = f*0 + i*c~ = [3, 10], h1 = o*c1 = [4.5, 20].
      // t = 2, x = [0, 1, -1]: i = [0, 1], f = [1, -1], c~ = [0 + 1, 1 - 1] + [4.5 + 20, 20 + 0] = [25.5, 20], o = [1, 1.5]
      //   c2 = f*c1 + i*c~ = [3 + 0, -10 + 20] = [3, 10], h2 = o*c2 = [3, 15].
      const gate = (i: number, f: number, c: number, o: number) => [i, f, c, o];
      const kernel = [[gate(1, 0, 1, 0.5)], [gate(0, 1, 1, 0)]]; // (2, 1, 4): tap, channel, gate
      const recurrent = [[gate(0, 0, 1, 0)], [gate(0, 0, 1, 0)]];
      const bias = gate(0, 0, 0, 1);
      const common = {
        filters: 1,
        kernel_size: 2,
        activation: null,
        recurrent_activation: null,
        return_sequences: true,
        return_state: true,
        weights: [kernel, recurrent, bias],
      };
      const last = layer_conv_lstm_1d(common)([
        [
          [[1], [2], [3]],
          [[0], [1], [-1]],
        ],
      ]) as Tensor[];
      expectClose(
        last[0],
        [
          [
            [[4.5], [20]],
            [[3], [15]],
          ],
        ],
        1e-6,
        "sequence",
      );
      expectClose(last[1], [[[3], [15]]], 1e-6, "h");
      expectClose(last[2], [[[3], [10]]], 1e-6, "c");
      // channels_first: (batch, time, channels, rows).
      const first = layer_conv_lstm_1d({ ...common, data_format: "channels_first" })([
        [[[1, 2, 3]], [[0, 1, -1]]],
      ]) as Tensor[];
      expectClose(first[0], [[[[4.5, 20]], [[3, 15]]]], 1e-6, "sequence (channels_first)");
      expectClose(first[2], [[[3, 10]]], 1e-6, "c (channels_first)");
      [...last, ...first].forEach((t) => t.dispose());
    });

    for (const [name, c] of Object.entries(cases)) {
      for (const format of ["channels_last", "channels_first"]) {
        it(`${c.rank}D ${name.replace(/^\dd_/, "").replace(/_/g, " ")}, ${format}: sequence and final states against PyTorch`, () => {
          const ref = c[format];
          const layer = FAMILIES[c.rank](argsOf(c, format, { return_sequences: true, return_state: true }));
          const y = layer(ref.x, c.mask ? { mask: c.mask } : undefined) as Tensor[];
          expectClose(y[0], ref.sequences, 1e-5, "sequence (processing order)");
          expectClose(y[1], ref.h, 1e-5, "h");
          expectClose(y[2], ref.c, 1e-5, "c");
          disposeAll(y);
        });
      }
    }

    it("return_sequences FALSE returns the last h", () => {
      const c = cases["3d_valid_strides"];
      const y = FAMILIES[3](argsOf(c, "channels_last"))(c.channels_last.x) as Tensor;
      expectClose(y, c.channels_last.h, 1e-5);
      y.dispose();
    });

    it("stateful: the second call continues the first (the sequence split in two)", () => {
      const c = cases["2d_same_dilated"];
      const ref = c.channels_first;
      const batch = ref.x.length;
      const inputShape = [null, ...[ref.x[0][0].length, ref.x[0][0][0].length, ref.x[0][0][0][0].length]];
      const layer = FAMILIES[2](
        argsOf(c, "channels_first", {
          return_sequences: true,
          stateful: true,
          batch_input_shape: [batch, ...inputShape],
        }),
      );
      const y1 = layer(timeSlice(ref.x, 0, 2)) as Tensor;
      const y2 = layer(timeSlice(ref.x, 2, 3)) as Tensor;
      expectClose(y1, timeSlice(ref.sequences, 0, 2), 1e-5, "call 1");
      expectClose(y2, timeSlice(ref.sequences, 2, 3), 1e-5, "call 2");
      reset_states(layer);
      const y3 = layer(timeSlice(ref.x, 0, 2)) as Tensor;
      expectClose(y3, timeSlice(ref.sequences, 0, 2), 1e-5, "after reset");
      [y1, y2, y3].forEach((t) => t.dispose());
    });

    it("bidirectional over a ConvLSTM2D: param count doubles, merge concat on the channel axis", () => {
      const c = cases["2d_same_dilated"];
      const ref = c.channels_last;
      const layer = bidirectional({
        layer: FAMILIES[2](argsOf(c, "channels_last", { weights: undefined, return_sequences: true })),
        weights: [...c.weights, ...c.weights],
      });
      const y = layer(ref.x) as Tensor;
      // Forward half = the reference sequence; backward half = the go_backwards reference flipped back
      // to input time order; the channel axis doubles.
      expect(y.shape).to.deep.equal([2, 3, 5, 4, 4]);
      const forwardHalf = tf.slice(y, [0, 0, 0, 0, 0], [2, 3, 5, 4, 2]);
      const backwardHalf = tf.slice(y, [0, 0, 0, 0, 2], [2, 3, 5, 4, 2]);
      expectClose(forwardHalf, ref.sequences, 1e-5, "forward half");
      expectClose(backwardHalf, ref.backward_sequences, 1e-5, "backward half");
      // per direction, kernel (3, 2) on 2 channels, 2 filters: 3·2·2·8 + 3·2·2·8 + 8 = 200
      expect(count_params(layer)).to.equal(2 * 200);
      [y, forwardHalf, backwardHalf].forEach((t) => t.dispose());
    });

    it("leaks no tensors", () => {
      const c = cases["2d_valid_strides"];
      const layer = FAMILIES[2](argsOf(c, "channels_first", { return_state: true }));
      disposeAll(layer(c.channels_first.x));
      const before = tf.memory().numTensors;
      disposeAll(layer(c.channels_first.x));
      expect(tf.memory().numTensors).to.equal(before);
    });
  });
}

describe("layer_conv_lstm: wasm and cpu agree to 1e-5", () => {
  /** Deterministic pseudo-random values in [-0.5, 0.5). */
  const values = (n: number, seed: number) =>
    Array.from({ length: n }, (_, i) => ((Math.sin(seed * 7919 + i * 104729) * 43758.5453) % 1) / 2);
  for (const rank of [1, 2, 3] as const) {
    it(`ConvLSTM${rank}D, larger random case, both data formats`, async () => {
      const spatial = [[9], [6, 5], [4, 4, 3]][rank - 1];
      const k = Array(rank).fill(3);
      const [channels, filters, batch, time] = [3, 4, 2, 4];
      const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const weights = [
        tf.tensor(values(size([...k, channels, 4 * filters]), 1), [...k, channels, 4 * filters]),
        tf.tensor(values(size([...k, filters, 4 * filters]), 2), [...k, filters, 4 * filters]),
        tf.tensor(values(4 * filters, 3)),
      ];
      const x = values(batch * time * size(spatial) * channels, 4);
      const results: number[][] = [];
      for (const backend of BACKENDS) {
        await use_backend(backend);
        for (const format of ["channels_last", "channels_first"]) {
          const shape =
            format === "channels_last" ? [batch, time, ...spatial, channels] : [batch, time, channels, ...spatial];
          const xt = tf.tensor(x, shape);
          const y = FAMILIES[rank]({
            filters,
            kernel_size: k,
            padding: "same",
            data_format: format,
            return_sequences: true,
            weights: weights.map((w) => w.arraySync()),
          })(xt) as Tensor;
          results.push(Array.from(y.dataSync()));
          [xt, y].forEach((t) => t.dispose());
        }
      }
      weights.forEach((w) => w.dispose());
      expectClose(results[2], results[0], 1e-5, "channels_last: cpu vs wasm");
      expectClose(results[3], results[1], 1e-5, "channels_first: cpu vs wasm");
    });
  }
});

describe("layer_conv_lstm: gradients run on wasm and agree with cpu", () => {
  // tfjs-backend-wasm 4.22's Conv3DBackpropInputV2 is wrong; selecting wasm registers the replacement
  // in src/backend/wasm_kernels_conv3d.ts.
  before(async () => {
    await use_backend("wasm");
  });

  it("conv3d's input gradient on wasm matches central finite differences (strides 2, 1, 1; both paddings)", async () => {
    await use_backend("wasm");
    const xv = Array.from({ length: 4 * 3 * 3 * 2 }, (_, j) => Math.cos(j * 0.7));
    const wv = Array.from({ length: 2 * 2 * 2 * 2 * 3 }, (_, j) => Math.sin(j * 1.3) / 2);
    const w = tf.tensor(wv, [2, 2, 2, 2, 3]);
    for (const pad of ["same", "valid"] as const) {
      const f = (x: Tensor) => tf.sum(tf.square(tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, [2, 1, 1], pad)));
      const loss = (v: number[]) => tf.tidy(() => f(tf.tensor(v, [1, 4, 3, 3, 2])).dataSync()[0]);
      const x = tf.tensor(xv, [1, 4, 3, 3, 2]);
      const g = tf.grad(f)(x);
      const analytic = Array.from(g.dataSync());
      const eps = 1e-2; // the loss is quadratic in x: central differences are exact up to float32 rounding
      for (const i of [0, 1, 7, 20, 35, 71]) {
        const up = [...xv];
        const down = [...xv];
        up[i] += eps;
        down[i] -= eps;
        expectClose(analytic[i], (loss(up) - loss(down)) / (2 * eps), 2e-3, `${pad}: dL/dx[${i}]`);
      }
      [x, g].forEach((t) => t.dispose());
    }
    w.dispose();
  });

  for (const [rank, shape, dilation_rate] of [
    [1, [2, 3, 6, 2], 1],
    [2, [2, 3, 5, 4, 2], 1],
    [3, [1, 2, 4, 3, 3, 2], 1],
    [3, [1, 2, 4, 3, 3, 2], 2],
  ] as const) {
    it(`ConvLSTM${rank}D${dilation_rate > 1 ? `, dilation ${dilation_rate}` : ""}: gradients w.r.t. the input and every weight`, async () => {
      const layer = FAMILIES[rank]({
        filters: 2,
        kernel_size: 2,
        dilation_rate,
        padding: "same",
        kernel_initializer: "random_uniform",
        recurrent_initializer: "random_uniform",
      });
      const specs = familyOf(layer).weights!(layer.config, [[null, ...shape.slice(1)]]);
      const raw = [
        ...specs.map((w, i) =>
          Array.from({ length: w.shape.reduce((a, b) => a * b, 1) }, (_, j) => Math.sin(i * 31 + j * 1.7) / 2),
        ),
        Array.from({ length: shape.reduce((a: number, b: number) => a * b, 1) }, (_, j) => Math.cos(j * 0.7)),
      ];
      const grads: number[][][] = [];
      for (const backend of BACKENDS) {
        await use_backend(backend);
        const tensors = [
          ...specs.map((w, i) => tf.tensor(raw[i], [...w.shape])),
          tf.tensor(raw[specs.length], [...shape]),
        ];
        const f = (k: Tensor, r: Tensor, b: Tensor, x: Tensor) =>
          tf.sum(
            tf.square(
              familyOf(layer).forward(layer.config, { inputs: [x], weights: [k, r, b], masks: [null], training: true })
                .outputs[0],
            ),
          );
        const gs = tf.grads(f as any)(tensors);
        grads.push(gs.map((g) => Array.from(g.dataSync())));
        [...tensors, ...gs].forEach((t) => t.dispose());
      }
      grads[0].forEach((g, i) => expectClose(grads[1][i], g, 1e-5, `gradient ${i + 1}`));
      expect(grads[0][3].some((v) => v !== 0)).to.equal(true);
    });
  }
});

describe("layer_conv_lstm: shapes, parameter counts and errors", () => {
  it("Keras parameter counts and output shapes in summary()", () => {
    // 1D: filters 5, kernel 3, 2 channels: 3*2*20 + 3*5*20 + 20 = 120 + 300 + 20 = 440; rows 20 - 2 = 18.
    const m1 = keras_model_sequential({
      input_shape: [6, 20, 2],
      layers: [layer_conv_lstm_1d({ filters: 5, kernel_size: 3 })],
    });
    expect(summary(m1, { print: false, line_length: 80 })).to.match(
      /conv_lstm1d \(ConvLSTM1D\)\s+\(None, 18, 5\)\s+440/,
    );
    // 2D: filters 4, kernel 3x3, 3 channels: 9*3*16 + 9*4*16 + 16 = 432 + 576 + 16 = 1,024; 16 - 2 = 14.
    const m2 = keras_model_sequential({
      input_shape: [10, 16, 16, 3],
      layers: [layer_conv_lstm_2d({ filters: 4, kernel_size: 3, return_sequences: true })],
    });
    const t2 = summary(m2, { print: false, line_length: 80 });
    expect(t2).to.match(/conv_lstm2d \(ConvLSTM2D\)\s+\(None, 10, 14, 14, 4\)\s+1024/);
    expect(t2).to.contain("Total params: 1,024");
    // 3D, channels_first: filters 2, kernel 2x2x2, 1 channel: 8*1*8 + 8*2*8 + 8 = 64 + 128 + 8 = 200; 6 - 1 = 5.
    const m3 = keras_model_sequential({
      input_shape: [4, 1, 6, 6, 6],
      layers: [layer_conv_lstm_3d({ filters: 2, kernel_size: 2, data_format: "channels_first" })],
    });
    expect(summary(m3, { print: false, line_length: 80 })).to.match(
      /conv_lstm3d \(ConvLSTM3D\)\s+\(None, 2, 5, 5, 5\)\s+200/,
    );
    expect(count_params(m3)).to.equal(200);
  });

  it("output shapes with strides, dilation, 'same' padding and return_state", () => {
    const x = layer_input({ shape: [null, 11, 8, 2] });
    // rows: valid, kernel 3, stride 2: floor((11 - 3) / 2) + 1 = 5; cols: kernel 3 -> 8 - 2 = 6.
    expect(layer_conv_lstm_2d(x, { filters: 3, kernel_size: 3, strides: [2, 1] }).shape).to.deep.equal([null, 5, 6, 3]);
    // same padding, stride 2: ceil(11 / 2) = 6, ceil(8 / 2) = 4.
    expect(layer_conv_lstm_2d(x, { filters: 3, kernel_size: 3, strides: 2, padding: "same" }).shape).to.deep.equal([
      null,
      6,
      4,
      3,
    ]);
    // valid with dilation 2: effective kernel 5: 11 - 4 = 7, 8 - 4 = 4.
    const ys = layer_conv_lstm_2d(x, {
      filters: 3,
      kernel_size: 3,
      dilation_rate: 2,
      return_sequences: true,
      return_state: true,
    });
    expect(ys.map((t: { shape: unknown }) => t.shape)).to.deep.equal([
      [null, null, 7, 4, 3],
      [null, 7, 4, 3],
      [null, 7, 4, 3],
    ]);
  });

  it("unit_forget_bias initialises the forget-gate bias to ones (gate order i, f, c, o)", () => {
    const layer = layer_conv_lstm_1d({ filters: 2, kernel_size: 1 });
    (layer([[[[1]]]]) as Tensor).dispose();
    const [, , bias] = get_weights(layer);
    expect(bias).to.deep.equal([0, 0, 1, 1, 0, 0, 0, 0]);
    expect(count_params(layer)).to.equal(1 * 8 + 2 * 8 + 8);
  });

  it("errors name the function and the argument", () => {
    const err = (f: () => unknown, re: RegExp) => expect(f).to.throw(KerasError, re);
    // @ts-expect-error: `filters` is required (the test of the run-time message)
    err(() => layer_conv_lstm_2d({ kernel_size: 3 }), /layer_conv_lstm_2d\(\): `filters` is required/);
    err(
      () => layer_conv_lstm_2d({ filters: 2, kernel_size: [3, 3, 3] }),
      /`kernel_size` must be a positive integer or a vector of 2 of them/,
    );
    err(
      // @ts-expect-error: not a padding of ConvLSTM (the test of the run-time check)
      () => layer_conv_lstm_2d({ filters: 2, kernel_size: 3, padding: "causal" }),
      /`padding` must be one of "valid", "same"/,
    );
    err(
      () => layer_conv_lstm_2d({ filters: 2, kernel_size: 3, strides: 2, dilation_rate: 2 }),
      /strides > 1 cannot be combined with dilation_rate > 1/,
    );
    err(
      () => layer_conv_lstm_2d(layer_input({ shape: [5, 8, 3] }), { filters: 2, kernel_size: 3 }),
      /expected a 5-D input of shape \(batch, time, rows, cols, channels\), got shape \(None, 5, 8, 3\)/,
    );
    err(
      () => layer_conv_lstm_1d(layer_input({ shape: [5, 2, 3] }), { filters: 2, kernel_size: 3 }),
      /too small for kernel_size/,
    );
  });
});
