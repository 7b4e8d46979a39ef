/**
 * The 2-D / 3-D convolution, pooling, padding, cropping, upsampling and spatial dropout layers (issue 12)
 * without Keras: output shapes at composition, the errors of bad arguments and inputs, the numbers Keras
 * cannot give (TensorFlow's CPU kernels refuse dilated transposed convolutions; Keras's channels_first
 * SeparableConv1D errs) against their definitions, the spatial dropout masks, and no leaked tensors.
 * Keras's numbers for everything else: test/integration/keras/conv_layers.test.ts.
 */
import { expect } from "chai";
import * as k from "../../src/index.js";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { KerasError } from "../../src/errors.js";
import { convChannelsLast, convTransposeChannelsLast } from "../../src/ops/convolution.js";
import type { Layer } from "../../src/model/layer.js";
import { BACKENDS, expectClose } from "../wrappers/helpers.js";
import { nested, pattern } from "./helpers.js";

const shapeAfter = (inputShape: number[], layer: Layer) =>
  k.keras_model_sequential({ input_shape: inputShape, layers: [layer] }).shapes![0][0];

const refusal = (inputShape: number[], layer: () => Layer) => () =>
  k.keras_model_sequential({ input_shape: inputShape, layers: [layer()] });

describe("2-D / 3-D convolution, pooling and reshaping layers", () => {
  after(async () => {
    await k.use_backend("wasm");
  });

  it("infer their output shapes at composition (channels_last and channels_first)", () => {
    const cases: [number[], Layer, (number | null)[]][] = [
      [[28, 28, 1], k.layer_conv_2d({ filters: 8, kernel_size: 3 }), [null, 26, 26, 8]],
      [[28, 28, 1], k.layer_conv_2d({ filters: 8, kernel_size: 3, strides: 2, padding: "same" }), [null, 14, 14, 8]],
      [
        [3, 10, 9],
        k.layer_conv_2d({ filters: 4, kernel_size: [3, 2], dilation_rate: 2, data_format: "channels_first" }),
        [null, 4, 6, 7],
      ],
      [[8, 9, 10, 2], k.layer_conv_3d({ filters: 3, kernel_size: [1, 2, 3], strides: [1, 2, 3] }), [null, 8, 4, 3, 3]],
      [[10, 3], k.layer_conv_1d_transpose({ filters: 2, kernel_size: 3, strides: 2 }), [null, 21, 2]],
      [[10, 3], k.layer_conv_1d_transpose({ filters: 2, kernel_size: 3, strides: 2, padding: "same" }), [null, 20, 2]],
      [
        [7, 7, 8],
        k.layer_conv_2d_transpose({ filters: 4, kernel_size: 3, strides: 2, output_padding: 1 }),
        [null, 16, 16, 4],
      ],
      [
        [2, 4, 4],
        k.layer_conv_2d_transpose({ filters: 4, kernel_size: 2, strides: 3, data_format: "channels_first" }),
        [null, 4, 12, 12],
      ],
      [[4, 4, 4, 2], k.layer_conv_3d_transpose({ filters: 1, kernel_size: 2, strides: 2 }), [null, 8, 8, 8, 1]],
      [[20, 3], k.layer_depthwise_conv_1d({ kernel_size: 3, depth_multiplier: 2 }), [null, 18, 6]],
      [[16, 16, 3], k.layer_depthwise_conv_2d({ kernel_size: 3, strides: 2, padding: "same" }), [null, 8, 8, 3]],
      [[20, 3], k.layer_separable_conv_1d({ filters: 4, kernel_size: 3 }), [null, 18, 4]],
      [
        [3, 16, 16],
        k.layer_separable_conv_2d({ filters: 8, kernel_size: 3, data_format: "channels_first" }),
        [null, 8, 14, 14],
      ],
      [[8, 9, 3], k.layer_max_pooling_2d(), [null, 4, 4, 3]],
      [[8, 9, 3], k.layer_average_pooling_2d({ pool_size: 3, strides: 2, padding: "same" }), [null, 4, 5, 3]],
      [[4, 8, 8, 3], k.layer_max_pooling_3d(), [null, 2, 4, 4, 3]],
      [[3, 4, 8, 8], k.layer_average_pooling_3d({ data_format: "channels_first" }), [null, 3, 2, 4, 4]],
      [[8, 9, 3], k.layer_global_max_pooling_2d(), [null, 3]],
      [
        [3, 8, 9],
        k.layer_global_average_pooling_2d({ keepdims: true, data_format: "channels_first" }),
        [null, 3, 1, 1],
      ],
      [[4, 8, 8, 3], k.layer_global_average_pooling_3d({ keepdims: true }), [null, 1, 1, 1, 3]],
      [[10, 3], k.layer_zero_padding_1d(), [null, 12, 3]],
      [
        [8, 8, 3],
        k.layer_zero_padding_2d({
          padding: [
            [1, 0],
            [2, 2],
          ],
        }),
        [null, 9, 12, 3],
      ],
      [[4, 8, 8, 1], k.layer_zero_padding_3d({ padding: 2 }), [null, 8, 12, 12, 1]],
      [[10, 3], k.layer_cropping_1d({ cropping: [2, 1] }), [null, 7, 3]],
      [[3, 8, 8], k.layer_cropping_2d({ cropping: [1, 2], data_format: "channels_first" }), [null, 3, 6, 4]],
      [[4, 8, 8, 1], k.layer_cropping_3d(), [null, 2, 6, 6, 1]],
      [[10, 3], k.layer_upsampling_1d({ size: 3 }), [null, 30, 3]],
      [[8, 8, 3], k.layer_upsampling_2d({ size: [2, 3], interpolation: "bilinear" }), [null, 16, 24, 3]],
      [[4, 8, 8, 1], k.layer_upsampling_3d(), [null, 8, 16, 16, 1]],
      [[8, 8, 4], k.layer_spatial_dropout_2d({ rate: 0.2 }), [null, 8, 8, 4]],
    ];
    for (const [input, layer, want] of cases) expect(shapeAfter(input, layer), layer.name).to.deep.equal(want);
  });

  it("count the parameters Keras counts", () => {
    const params = (input: number[], layer: Layer) =>
      k.count_params(k.keras_model_sequential({ input_shape: input, layers: [layer] }));
    expect(params([28, 28, 4], k.layer_conv_2d({ filters: 8, kernel_size: 3, groups: 2 }))).to.equal(3 * 3 * 2 * 8 + 8);
    expect(params([7, 7, 8], k.layer_conv_2d_transpose({ filters: 4, kernel_size: 3 }))).to.equal(3 * 3 * 4 * 8 + 4);
    expect(params([16, 16, 3], k.layer_depthwise_conv_2d({ kernel_size: 3, depth_multiplier: 2 }))).to.equal(
      3 * 3 * 3 * 2 + 6,
    );
    expect(params([16, 16, 3], k.layer_separable_conv_2d({ filters: 8, kernel_size: 3 }))).to.equal(
      3 * 3 * 3 + 3 * 8 + 8,
    );
    expect(params([4, 4, 4, 2], k.layer_conv_3d({ filters: 3, kernel_size: 2, use_bias: false }))).to.equal(
      2 * 2 * 2 * 2 * 3,
    );
  });

  it("refuse bad arguments and inputs with a KerasError naming the function and the argument", () => {
    const checks: [() => unknown, RegExp][] = [
      [
        () => k.layer_conv_2d({ filters: 2, kernel_size: 3, strides: 2, dilation_rate: 2 }),
        /layer_conv_2d\(\).*`strides` > 1 cannot be combined with `dilation_rate` > 1/,
      ],
      [
        () => k.layer_conv_3d({ filters: 3, kernel_size: 2, groups: 2 }),
        /layer_conv_3d\(\).*`filters` \(3\) must be divisible by `groups` \(2\)/,
      ],
      [
        refusal([5, 5, 3], () => k.layer_conv_2d({ filters: 4, kernel_size: 2, groups: 2 })),
        /input channels \(3\) must be divisible by `groups`/,
      ],
      [
        refusal([5, 3], () => k.layer_conv_2d({ filters: 4, kernel_size: 2 })),
        /layer_conv_2d\(\).*expected an image input \(batch, rows, cols, channels\)/,
      ],
      [
        refusal([2, 2, 3], () => k.layer_conv_2d({ filters: 4, kernel_size: 3 })),
        /layer_conv_2d\(\).*too small for kernel_size \[3, 3\]/,
      ],
      [
        refusal([5, 5, 5, 3], () => k.layer_max_pooling_3d({ pool_size: 6 })),
        /layer_max_pooling_3d\(\).*too small for pool_size/,
      ],
      [
        () => k.layer_conv_2d({ filters: 2, kernel_size: [3, 3, 3] }),
        /layer_conv_2d\(\).*`kernel_size` must be a positive integer or a vector of 2 of them/,
      ],
      [
        () => k.layer_conv_2d_transpose({ filters: 2, kernel_size: 3, strides: 2, output_padding: 2 }),
        /layer_conv_2d_transpose\(\).*`output_padding` must be less than `strides`/,
      ],
      [
        () => k.layer_conv_2d_transpose({ filters: 2, kernel_size: 3, output_padding: -1 }),
        /`output_padding` must be a non-negative integer or a vector of 2/,
      ],
      [
        () => k.layer_conv_3d_transpose({ filters: 2, kernel_size: 3, padding: "causal" as never }),
        /`padding` must be one of "valid", "same"/,
      ],
      [
        () => k.layer_depthwise_conv_2d({ kernel_size: 3, depth_multiplier: 0 }),
        /`depth_multiplier` must be a positive integer/,
      ],
      [
        () => k.layer_separable_conv_2d({ filters: 2, kernel_size: 3, pointwise_initialiser: "ones" } as never),
        /unknown argument `pointwise_initialiser`; did you mean `pointwise_initializer`\?/,
      ],
      [
        () => k.layer_zero_padding_2d({ padding: [1, 2, 3] }),
        /layer_zero_padding_2d\(\).*`padding` must be a non-negative integer, a vector of 2 of them/,
      ],
      [
        () => k.layer_zero_padding_1d({ padding: -1 }),
        /`padding` must be a non-negative integer or a vector of 2 of them/,
      ],
      [
        refusal([4, 4, 2], () => k.layer_cropping_2d({ cropping: [2, 0] })),
        /layer_cropping_2d\(\).*`cropping` \[\[2,2\],\[0,0\]\] leaves nothing/,
      ],
      [
        () => k.layer_upsampling_2d({ interpolation: "bicubic" }),
        /layer_upsampling_2d\(\).*`interpolation` must be one of "nearest", "bilinear"/,
      ],
      [() => k.layer_upsampling_3d({ interpolation: "bilinear" }), /unknown argument `interpolation`/],
      [() => k.layer_cropping_1d({ data_format: "channels_first" }), /unknown argument `data_format`/],
      [() => k.layer_spatial_dropout_2d({ rate: 1 }), /`rate` must be a number in \[0, 1\)/],
      [
        refusal([4, 4], () => k.layer_spatial_dropout_3d({ rate: 0.5 })),
        /layer_spatial_dropout_3d\(\).*expected a volume input/,
      ],
      [() => k.layer_global_max_pooling_3d(nested([2, 3, 4, 2]) as number[][]), /layer_global_max_pooling_3d\(\)/],
    ];
    for (const [f, pattern] of checks) {
      expect(f, String(pattern)).to.throw(KerasError, pattern);
    }
  });

  it("1-D pooling reads the window tuples Keras 3 writes (pool_size = [3]) and keeps its integer form", () => {
    const layer = k.from_config({
      class_name: "AveragePooling1D",
      config: { pool_size: [3], strides: [2], padding: "same", data_format: "channels_last" },
    }) as Layer;
    expect([layer.config.pool_size, layer.config.strides]).to.deep.equal([3, 2]);
    expect(() => k.layer_max_pooling_1d({ pool_size: [3, 2] as never })).to.throw(
      KerasError,
      /`pool_size` must be a positive integer \(or a vector of 1\)/,
    );
  });

  it("wasm's replaced kernels (MaxPoolGrad, Conv3DBackpropFilterV2) give cpu's gradients where the native ones did not", async () => {
    const gradients = () =>
      tf.tidy(() => {
        const x = tf.tensor(pattern(6 * 4 * 4 * 2, 1), [6, 4, 4, 2]) as tf.Tensor4D;
        const probe = tf.tensor(pattern(6 * 4 * 4 * 2, 2), [6, 4, 4, 2]);
        // overlapping 2 x 2 windows (stride 1): the native wasm MaxPoolGrad misroutes them
        const pool = tf.grad((v: Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, 2, 1, "same"), probe)))(x);
        const v = tf.tensor(pattern(2 * 4 * 4 * 4 * 2, 3), [2, 4, 4, 4, 2]) as tf.Tensor5D;
        const w = tf.tensor(pattern(2 * 2 * 2 * 2 * 3, 4), [2, 2, 2, 2, 3]) as tf.Tensor5D;
        // strides 2: the native wasm Conv3DBackpropFilterV2 leaves entries 0
        const filter = tf.grad((kernel: Tensor) => tf.sum(tf.square(tf.conv3d(v, kernel as tf.Tensor5D, 2, "valid"))))(
          w,
        );
        return [pool.arraySync(), filter.arraySync()];
      });
    await k.use_backend("cpu");
    const want = gradients();
    await k.use_backend("wasm");
    const got = gradients();
    expectClose(got[0], want[0] as number[], 1e-5, "max pooling gradient");
    expectClose(got[1], want[1] as number[], 1e-4, "conv3d kernel gradient");
  });

  for (const backend of BACKENDS) {
    describe(`on ${backend}`, () => {
      before(async () => {
        await k.use_backend(backend);
      });

      it("dilated transposed convolutions are the input gradients of the dilated convolutions (1-D to 3-D)", () => {
        // TensorFlow's CPU kernels refuse these, so Keras cannot give numbers; by definition the transposed
        // convolution of y with Keras's kernel (...window, filters, in) is d/dx sum(conv(x, kernel) · y).
        const cases: [number[], number[], "valid" | "same", number[]][] = [
          [[2, 9, 2], [3, 2, 3], "valid", [2]],
          [[2, 9, 2], [3, 2, 3], "same", [3]],
          [[1, 7, 6, 2], [2, 3, 2, 3], "same", [2, 2]],
          [[1, 8, 7, 1], [3, 2, 1, 2], "valid", [3, 2]],
          [[1, 5, 6, 5, 2], [2, 2, 2, 2, 1], "same", [2, 1, 2]],
        ];
        for (const [xShape, kShape, padding, dilation] of cases) {
          const ones = dilation.map(() => 1);
          tf.tidy(() => {
            const x = tf.tensor(
              pattern(
                xShape.reduce((a, b) => a * b),
                1,
              ),
              xShape,
            );
            const kernel = tf.tensor(
              pattern(
                kShape.reduce((a, b) => a * b),
                2,
              ),
              kShape,
            );
            const y = convChannelsLast(x, kernel, ones, padding, dilation);
            const probe = tf.tensor(pattern(y.size, 3), y.shape);
            const want = tf.grad((input: Tensor) =>
              tf.sum(tf.mul(convChannelsLast(input, kernel, ones, padding, dilation), probe)),
            )(x);
            const got = convTransposeChannelsLast(probe, kernel, ones, padding, null, dilation);
            expectClose(got, want.arraySync() as number[], 1e-5, `${padding}, dilation ${dilation}`);
          });
        }
      });

      it("layer_separable_conv_1d with channels_first: the definition (where Keras 3.15.1 errs)", async () => {
        const [channels, steps, filters] = [7, 3, 2];
        const model = k.keras_model_sequential({
          input_shape: [channels, steps],
          layers: [
            k.layer_separable_conv_1d({
              filters,
              kernel_size: 2,
              strides: 2,
              padding: "same",
              data_format: "channels_first",
            }),
          ],
        });
        const dw = pattern(2 * channels, 1); // (2, 7, 1)
        const pw = pattern(channels * filters, 2); // (1, 7, 2)
        const bias = [0.25, -0.5];
        const weighted = k.set_weights(model, [
          { shape: [2, channels, 1], values: Float32Array.from(dw) },
          { shape: [1, channels, filters], values: Float32Array.from(pw) },
          { shape: [filters], values: Float32Array.from(bias) },
        ]);
        const x = nested([2, channels, steps], 5) as number[][][];
        // "same" with stride 2 over 3 steps: outputs at steps 0 and 2, one zero after the end.
        const at = (b: number, c: number, t: number) => (t < steps ? x[b][c][t] : 0);
        const want = x.map((_, b) =>
          Array.from({ length: filters }, (_, f) =>
            [0, 1].map((o) => {
              let sum = bias[f];
              for (let c = 0; c < channels; c++) {
                const depthwise = at(b, c, 2 * o) * dw[c] + at(b, c, 2 * o + 1) * dw[channels + c];
                sum += depthwise * pw[c * filters + f];
              }
              return sum;
            }),
          ),
        );
        expectClose(await k.predict(weighted, x, { verbose: 0 }), want, 1e-5, "output");
      });

      it("spatial dropout drops whole channels while training and nothing at inference (both data formats)", () => {
        const x = tf.add(tf.abs(tf.tensor(nested([4, 3, 5, 6], 1))), 0.5);
        for (const [layer, channelAxis] of [
          [k.layer_spatial_dropout_2d({ rate: 0.5, seed: 7 }), 3],
          [k.layer_spatial_dropout_2d({ rate: 0.5, seed: 7, data_format: "channels_first" }), 1],
        ] as const) {
          const y = layer(x, { training: true }) as Tensor;
          const ratio = tf.div(y, x).arraySync() as number[][][][];
          const values = new Set<number>();
          // each (sample, channel): one factor, 0 or 1 / (1 - rate)
          for (let b = 0; b < 4; b++)
            for (let ch = 0; ch < [3, 5, 6][channelAxis - 1]; ch++) {
              const factors = new Set<number>();
              for (let i = 0; i < 3; i++)
                for (let j = 0; j < 5; j++)
                  for (let m = 0; m < 6; m++)
                    if ([i, j, m][channelAxis - 1] === ch) factors.add(Math.round(ratio[b][i][j][m] * 1e4) / 1e4);
              expect(factors.size, `sample ${b}, channel ${ch}`).to.equal(1);
              values.add([...factors][0]);
            }
          expect([...values].sort()).to.deep.equal([0, 2]);
          expectClose(layer(x) as Tensor, x.arraySync() as number[], 0, "inference");
          tf.dispose(y);
        }
        const v = tf.tensor(nested([2, 2, 3, 2, 4], 2));
        const y3 = k.layer_spatial_dropout_3d(v, { rate: 0.5, seed: 3 }) as Tensor;
        expectClose(y3, v.arraySync() as number[], 0, "inference (3-D)");
        tf.dispose([x, v, y3]);
      });

      it("leave no tensors behind: an eager call keeps its output only", () => {
        const x = tf.tensor(nested([2, 6, 6, 2]));
        const layers = [
          k.layer_conv_2d({ filters: 4, kernel_size: 3, groups: 2 }),
          k.layer_conv_2d_transpose({ filters: 2, kernel_size: 2, strides: 2 }),
          k.layer_depthwise_conv_2d({ kernel_size: 3, strides: 2 }),
          k.layer_separable_conv_2d({ filters: 2, kernel_size: 3 }),
          k.layer_upsampling_2d({ interpolation: "bilinear" }),
          k.layer_upsampling_2d(),
          k.layer_average_pooling_2d({ padding: "same" }),
          k.layer_zero_padding_2d(),
          k.layer_cropping_2d({ cropping: 1 }),
        ];
        // (the first call draws the layer's weights, which it keeps)
        for (const layer of layers) {
          tf.dispose(layer(x) as Tensor);
          const before = tf.memory().numTensors;
          const y = layer(x) as Tensor;
          expect(tf.memory().numTensors, layer.name).to.equal(before + 1);
          y.dispose();
        }
        const v = tf.tensor(nested([1, 4, 4, 4, 2]));
        for (const layer of [
          k.layer_max_pooling_3d({ padding: "same" }),
          k.layer_conv_3d_transpose({ filters: 1, kernel_size: 2 }),
        ]) {
          tf.dispose(layer(v) as Tensor);
          const before = tf.memory().numTensors;
          const y = layer(v) as Tensor;
          expect(tf.memory().numTensors, layer.name).to.equal(before + 1);
          y.dispose();
        }
        tf.dispose([x, v]);
      });
    });
  }
});
