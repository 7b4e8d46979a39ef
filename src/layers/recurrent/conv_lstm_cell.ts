/**
 * The ConvLSTM cell (KERAS_FACTS "Cells", ConvLSTM), as a RecurrentCell of the one loop (loop.ts).
 *
 *   z = conv(x_t, W, layer strides/padding/dilation) + b + conv(h_{t-1}, U, stride 1, padding "same")
 *   i, f, o = rec_act(z_i, z_f, z_o),  c_t = f * c_{t-1} + i * act(z_c),  h_t = o * act(c_t)
 *
 * Gate order i, f, c, o along the last (channel) axis; kernel kernel_size + (in_channels, 4*filters),
 * recurrent kernel kernel_size + (filters, 4*filters), bias (4*filters). All computation is channels_last.
 *
 * The loop works on (batch, size) tensors; this cell flattens its images to match: an input step is
 * (batch, prod(input spatial) * channels), a state (batch, prod(output spatial) * filters). Reshapes
 * are free, and the loop's masking, go_backwards and state handling apply unchanged. The input
 * convolution runs once for all timesteps (`project`), only the recurrent one per step. Dropout (Keras 3):
 * one input mask and one recurrent mask per sequence, shared by the four gates.
 */
import { tf } from "../../backend/tf.js";
import type { WeightSpec } from "../../model/types.js";
import { product } from "../../model/shape.js";
import { dropoutMasks, type CellArgs, type RecurrentCell } from "./cell.js";
import { forgetBiasInitializer } from "./lstm.js";
import { convChannelsLast, type ConvPadding } from "../../ops/convolution.js";

export type ConvRank = 1 | 2 | 3;

/** The recurrent cell arguments (CellArgs) with filters and convolution geometry in place of units. */
export type ConvLSTMCellConfig = Omit<CellArgs, "units" | "implementation"> & {
  filters: number;
  kernel_size: number[];
  strides: number[];
  padding: ConvPadding;
  dilation_rate: number[];
  unit_forget_bias: boolean;
};

/** The spatial sizes of one call, channels_last: input (...spatial, channels), state (...outputSpatial, filters). */
export interface ConvLSTMGeometry {
  readonly inputSpatial: readonly number[];
  readonly channels: number;
  readonly outputSpatial: readonly number[];
}

export function convLstmWeightSpecs(c: ConvLSTMCellConfig, channels: number): WeightSpec[] {
  const f = c.filters;
  const specs: WeightSpec[] = [
    {
      name: "kernel",
      shape: [...c.kernel_size, channels, 4 * f],
      initializer: c.kernel_initializer,
      trainable: true,
      regularizer: c.kernel_regularizer,
      constraint: c.kernel_constraint,
    },
    {
      name: "recurrent_kernel",
      shape: [...c.kernel_size, f, 4 * f],
      initializer: c.recurrent_initializer,
      trainable: true,
      regularizer: c.recurrent_regularizer,
      constraint: c.recurrent_constraint,
    },
  ];
  if (c.use_bias) {
    const initializer = c.unit_forget_bias ? forgetBiasInitializer(c.bias_initializer, f, 4, 1) : c.bias_initializer;
    specs.push({
      name: "bias",
      shape: [4 * f],
      initializer,
      trainable: true,
      regularizer: c.bias_regularizer,
      constraint: c.bias_constraint,
    });
  }
  return specs;
}

export function convLstmCell(c: ConvLSTMCellConfig, g: ConvLSTMGeometry): RecurrentCell {
  const f = c.filters;
  const stateSize = product(g.outputSpatial) * f;
  const inputImage = [...g.inputSpatial, g.channels];
  const stateImage = [...g.outputSpatial, f];
  const gatesImage = [...g.outputSpatial, 4 * f];
  const ones = c.kernel_size.map(() => 1);
  return {
    stateSizes: [stateSize, stateSize],
    outputSize: stateSize,
    weightSpecs: (channels) => convLstmWeightSpecs(c, channels),
    prepare: ([kernel, recurrentKernel, bias], { batch, inputDim, training }) => {
      const inputMask = dropoutMasks(c.dropout, training, 1, batch, inputDim, c.seed)?.[0];
      const recurrentMask = dropoutMasks(c.recurrent_dropout, training, 1, batch, stateSize, c.seed)?.[0];
      const act = c.activation.fn;
      const recAct = c.recurrent_activation.fn;
      return {
        // x: (..., batch, inputDim), all timesteps at once → one block (..., batch, prod(out spatial) * 4f).
        project: (x) => {
          const leading = x.shape.slice(0, -1);
          const images = tf.reshape(inputMask ? tf.mul(x, inputMask) : x, [-1, ...inputImage]);
          const z = convChannelsLast(images, kernel, c.strides, c.padding, c.dilation_rate);
          return [tf.reshape(c.use_bias ? tf.add(z, bias) : z, [...leading, product(gatesImage)])];
        },
        step: ([projected], [h, cPrev]) => {
          const hImage = tf.reshape(recurrentMask ? tf.mul(h, recurrentMask) : h, [batch, ...stateImage]);
          const z = tf.add(
            tf.reshape(projected, [batch, ...gatesImage]),
            convChannelsLast(hImage, recurrentKernel, ones, "same", ones),
          );
          const [zi, zf, zc, zo] = tf.split(z, 4, -1);
          const cNext = tf.add(
            tf.mul(recAct(zf), tf.reshape(cPrev, [batch, ...stateImage])),
            tf.mul(recAct(zi), act(zc)),
          );
          const hNext = tf.mul(recAct(zo), act(cNext));
          const hFlat = tf.reshape(hNext, [batch, stateSize]);
          return { output: hFlat, states: [hFlat, tf.reshape(cNext, [batch, stateSize])] };
        },
      };
    },
  };
}
