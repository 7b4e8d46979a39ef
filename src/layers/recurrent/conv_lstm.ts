/**
 * layer_conv_lstm_1d / layer_conv_lstm_2d / layer_conv_lstm_3d: the LSTM with convolutions in place of
 * matrix products (cell in conv_lstm_cell.ts), over inputs (batch, time, ...spatial, channels)
 * (channels_last) or (batch, time, channels, ...spatial) (channels_first).
 *
 * The three families differ only in the number of spatial axes. The RNN part (masks, go_backwards,
 * return_sequences/return_state, initial_state, stateful state, activity regularization) is the shared
 * recurrent forward of rnn_layer.ts run on flattened images; this module converts layouts and shapes.
 *
 * Defaults follow Keras 3: recurrent_activation "sigmoid" (Keras 2.15 / R keras <= 2.6 used the Keras 2
 * hard sigmoid, `clip(0.2 x + 0.5, 0, 1)`: pass recurrent_activation = "hard_sigmoid_keras2" for those
 * numbers), padding "valid", data_format "channels_last", unit_forget_bias TRUE.
 */
import { tf, type Tensor } from "../../backend/tf.js";
import { Bool, IntTuple, Nullable, OneOf, PositiveInt } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer, type LayerArgs } from "../../model/layer.js";
import type { RecurrentLayerFunction } from "../../model/dual.js";
import { formatShape, product, shapesCompatible } from "../../model/shape.js";
import type { CallShapes, ForwardContext, ForwardResult, Shape } from "../../model/types.js";
import { DataFormatArg, windowOutputLength, type DataFormat } from "../core/axes.js";
import { CELL_DEFAULTS, GATED_CELL_PROPS } from "./cell.js";
import { RNN_DEFAULTS, RNN_PROPS, recurrentForward, type RnnArgs } from "./rnn_layer.js";
import {
  convLstmCell,
  convLstmWeightSpecs,
  type ConvLSTMCellConfig,
  type ConvLSTMGeometry,
  type ConvRank,
} from "./conv_lstm_cell.js";

export interface ConvLSTMConfig extends ConvLSTMCellConfig, RnnArgs {
  data_format: DataFormat;
}

const SPATIAL_NAMES: Record<ConvRank, string[]> = {
  1: ["rows"],
  2: ["rows", "cols"],
  3: ["conv_dim1", "conv_dim2", "conv_dim3"],
};

/** Axis permutation moving axis `from` to position `to` (the others keep their order). */
function moveAxisPerm(rank: number, from: number, to: number): number[] {
  const rest = [...Array(rank).keys()].filter((a) => a !== from);
  return [...rest.slice(0, to), from, ...rest.slice(to)];
}

/**
 * Layout conversions. `leading` is the number of axes before the image: 2 for sequences (batch, time),
 * 1 for states and last outputs (batch). Shapes are converted with the same permutations as tensors.
 */
function layout(format: DataFormat, rank: ConvRank) {
  const permute = <T>(xs: readonly T[], perm: number[]) => perm.map((a) => xs[a]);
  const toLast = (n: number, leading: number) => moveAxisPerm(n, leading, n - 1);
  const fromLast = (n: number, leading: number) => moveAxisPerm(n, n - 1, leading);
  const identity = format === "channels_last";
  return {
    shapeToChannelsLast: (s: Shape, leading: number): Shape =>
      identity ? s : permute(s, toLast(leading + rank + 1, leading)),
    shapeFromChannelsLast: (s: Shape, leading: number): Shape =>
      identity ? s : permute(s, fromLast(leading + rank + 1, leading)),
    toChannelsLast: (x: Tensor, leading: number): Tensor => (identity ? x : tf.transpose(x, toLast(x.rank, leading))),
    fromChannelsLast: (x: Tensor, leading: number): Tensor =>
      identity ? x : tf.transpose(x, fromLast(x.rank, leading)),
  };
}

function describeInput(rank: ConvRank, format: DataFormat): string {
  const spatial = SPATIAL_NAMES[rank];
  const axes = format === "channels_last" ? [...spatial, "channels"] : ["channels", ...spatial];
  return `(batch, time, ${axes.join(", ")})`;
}

/** The input's geometry (channels_last) and the output image shape, checking rank and sizes. */
function geometryOf(
  fn: string,
  rank: ConvRank,
  c: ConvLSTMConfig,
  input: Shape,
): { spatial: (number | null)[]; channels: number; outputSpatial: (number | null)[] } {
  if (input.length !== rank + 3) {
    throw new KerasError(
      fn,
      `expected a ${rank + 3}-D input of shape ${describeInput(rank, c.data_format)}, got shape ${formatShape(input)}`,
      "shape",
    );
  }
  const last = layout(c.data_format, rank).shapeToChannelsLast(input, 2);
  const spatial = [...last.slice(2, -1)];
  const channels = last[last.length - 1];
  if (channels === null)
    throw new KerasError(fn, `the number of input channels must be known, got shape ${formatShape(input)}`, "shape");
  const outputSpatial = spatial.map((d, i) =>
    windowOutputLength(d, c.kernel_size[i], c.strides[i], c.padding, c.dilation_rate[i]),
  );
  if (outputSpatial.some((d) => d !== null && d <= 0)) {
    throw new KerasError(
      fn,
      `the input ${formatShape(input)} is too small for kernel_size ${formatShape(c.kernel_size)} with padding "valid"${c.dilation_rate.some((d) => d > 1) ? ` and dilation_rate ${formatShape(c.dilation_rate)}` : ""}`,
      "shape",
    );
  }
  return { spatial, channels, outputSpatial };
}

function defineConvLstm(rank: ConvRank) {
  const className = `ConvLSTM${rank}D`;
  const fn = `layer_conv_lstm_${rank}d`;
  const { units: _u, implementation: _i, ...cellDefaults } = CELL_DEFAULTS;

  /** (batch, ...image) in the data format, for states and the last output. */
  const imageShape = (c: ConvLSTMConfig, batch: number | null, outputSpatial: readonly (number | null)[]): Shape =>
    layout(c.data_format, rank).shapeFromChannelsLast([batch, ...outputSpatial, c.filters], 1);

  function outputShape(c: ConvLSTMConfig, [input]: readonly Shape[], call: CallShapes): Shape[] {
    const { outputSpatial } = geometryOf(fn, rank, c, input);
    const [batch, time] = input;
    const state = imageShape(c, batch, outputSpatial);
    if (
      call.initialState.length &&
      (call.initialState.length !== 2 || call.initialState.some((s) => !shapesCompatible(s, state)))
    ) {
      throw new KerasError(
        fn,
        `\`initial_state\` must be a list of 2 state tensors [h, c], each of shape ${formatShape(state)}, got ${call.initialState.map(formatShape).join(", ") || "none"}`,
        "shape",
      );
    }
    const output: Shape = c.return_sequences ? [batch, time, ...state.slice(1)] : state;
    return c.return_state ? [output, state, state] : [output];
  }

  function forward(c: ConvLSTMConfig, ctx: ForwardContext): ForwardResult {
    const convert = layout(c.data_format, rank);
    const x = convert.toChannelsLast(ctx.inputs[0], 2);
    const [batch, time, ...image] = x.shape;
    const geometry: ConvLSTMGeometry = {
      inputSpatial: image.slice(0, -1),
      channels: image[image.length - 1],
      outputSpatial: image
        .slice(0, -1)
        .map((d, i) => windowOutputLength(d, c.kernel_size[i], c.strides[i], c.padding, c.dilation_rate[i])!),
    };
    const flatState = (s: Tensor) => tf.reshape(convert.toChannelsLast(s, 1), [batch, -1]);
    const toImage = (s: Tensor) =>
      convert.fromChannelsLast(tf.reshape(s, [batch, ...geometry.outputSpatial, c.filters]), 1);
    const r = recurrentForward(fn, convLstmCell(c, geometry), c, {
      ...ctx,
      inputs: [tf.reshape(x, [batch, time, product(image)])],
      initialState: ctx.initialState?.map(flatState),
      state: ctx.state?.map(flatState),
    });
    const [output, ...states] = r.outputs;
    const outputImage = c.return_sequences
      ? convert.fromChannelsLast(tf.reshape(output, [batch, time, ...geometry.outputSpatial, c.filters]), 2)
      : toImage(output);
    return { ...r, outputs: [outputImage, ...states.map(toImage)], newState: r.newState?.map(toImage) };
  }

  const props = convLstmProps(rank);
  const layerFunction = defineLayer<typeof props, "filters" | "kernel_size", ConvLSTMConfig>({
    className,
    fn,
    props,
    defaults: {
      ...cellDefaults,
      ...RNN_DEFAULTS,
      strides: Array(rank).fill(1),
      padding: "valid",
      data_format: "channels_last",
      dilation_rate: Array(rank).fill(1),
      unit_forget_bias: true,
    } as Partial<ConvLSTMConfig>,
    required: ["filters", "kernel_size"],
    validate: (c) => {
      if (c.strides.some((s) => s > 1) && c.dilation_rate.some((d) => d > 1)) {
        throw new KerasError(
          fn,
          `strides > 1 cannot be combined with dilation_rate > 1, got strides ${formatShape(c.strides)} and dilation_rate ${formatShape(c.dilation_rate)}`,
        );
      }
      return { ...c, data_format: c.data_format ?? "channels_last" };
    },
    outputShape,
    weights: (c, [input]) => convLstmWeightSpecs(c, geometryOf(fn, rank, c, input).channels),
    forward,
    mask: "drop",
    stateShapes: (c, [input]) => {
      const state = imageShape(c, input[0], geometryOf(fn, rank, c, input).outputSpatial);
      return [state, state];
    },
  });
  // What it returns depends on `return_state` (one tensor, or the output and the final states).
  return layerFunction as unknown as RecurrentLayerFunction<LayerArgs<typeof props, "filters" | "kernel_size">>;
}

function convLstmProps(rank: ConvRank) {
  const { units: _units, implementation: _implementation, ...cellProps } = GATED_CELL_PROPS;
  return {
    /** The number of output channels (filters in the convolutions). */
    filters: PositiveInt,
    /** The size of the convolution window: an integer, or one per spatial axis. */
    kernel_size: IntTuple(rank),
    /** The strides of the input convolution. */
    strides: IntTuple(rank),
    /** "valid" (no padding) or "same" (output as large as the input / strides). */
    padding: OneOf("valid", "same"),
    /** "channels_last" (batch, time, ...spatial, channels) or "channels_first" (batch, time, channels, ...spatial). */
    data_format: Nullable(DataFormatArg),
    /** The dilation rate of the input convolution. */
    dilation_rate: IntTuple(rank),
    ...cellProps,
    /** Add 1 to the forget gate's bias at initialization. */
    unit_forget_bias: Bool,
    ...RNN_PROPS,
  };
}

/**
 * `layer_conv_lstm_1d(object, filters, kernel_size, ...)`: inputs (batch, time, rows, channels).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [5, 16, 1] }), layer_conv_lstm_1d({ filters: 4, kernel_size: 3 }));
 */
export const layer_conv_lstm_1d = defineConvLstm(1);
/**
 * `layer_conv_lstm_2d(object, filters, kernel_size, ...)`: inputs (batch, time, rows, cols, channels).
 *
 * @example
 * const model = pipe(
 *   keras_model_sequential({ input_shape: [5, 16, 16, 1] }),
 *   layer_conv_lstm_2d({ filters: 8, kernel_size: 3, padding: "same", return_sequences: true }),
 * );
 */
export const layer_conv_lstm_2d = defineConvLstm(2);
/**
 * `layer_conv_lstm_3d(object, filters, kernel_size, ...)`: inputs (batch, time, d1, d2, d3, channels).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [3, 6, 6, 6, 1] }), layer_conv_lstm_3d({ filters: 2, kernel_size: 3 }));
 */
export const layer_conv_lstm_3d = defineConvLstm(3);
