/**
 * `layer_cudnn_gru` / `layer_cudnn_lstm` (R keras 2, deprecated there): the cuDNN-compatible GRU / LSTM
 * (tanh, sigmoid, GRU reset_after) with the CuDNN weight layouts — GRU bias (6u) and LSTM bias (8u),
 * input bias then recurrent bias — and conversion of weights to and from layer_gru / layer_lstm.
 */
import { KerasError, describeValue } from "../../errors.js";
import { Bool, PositiveInt, isPlainRecord, refuseArgumentsPast } from "../../args.js";
import { tf } from "../../backend/tf.js";
import { builtInputShapesOf, builtWeightsOf, isLayer, withLayer, type Layer } from "../../model/layer.js";
import { toFloat32 } from "../../model/weights.js";
import type { WeightValue } from "../../model/types.js";
import { CELL_DEFAULTS, CELL_PROPS, activation, type CellArgs } from "./cell.js";
import { defineRecurrentLayer, type RnnArgs } from "./rnn_layer.js";
import type { ArgsOfLayer } from "../../model/dual.js";
import { gruCell, layer_gru } from "./gru.js";
import { lstmCell, layer_lstm } from "./lstm.js";

const { activation: _a, use_bias: _b, dropout: _d, recurrent_dropout: _rd, seed: _s, ...CUDNN_CELL_PROPS } = CELL_PROPS;

/** The fixed part of the cuDNN configuration. */
const CUDNN_FIXED = {
  activation: activation("tanh"),
  recurrent_activation: activation("sigmoid"),
  use_bias: true,
  dropout: 0,
  recurrent_dropout: 0,
  seed: null,
  implementation: 2 as const,
};

const warned = new Set<string>();
function deprecationWarning(fn: string, replacement: string): void {
  if (warned.has(fn)) return;
  warned.add(fn);
  console.warn(
    `${fn}() is deprecated (as in R keras >= 2.x): use ${replacement}() instead, which gives the same numbers with its default cuDNN-compatible arguments.`,
  );
}

type CudnnConfig = CellArgs & RnnArgs & { unit_forget_bias?: boolean };

const cudnnRnnArgs = ["return_sequences", "return_state", "stateful", "activity_regularizer"] as const;
/** Keras 2's CuDNNGRU / CuDNNLSTM configs also hold these (not arguments of the R functions). */
const cudnnConfigRnnArgs = ["go_backwards", "time_major"] as const;

const gruFamily = defineRecurrentLayer<typeof CUDNN_CELL_PROPS, "units", CudnnConfig, (typeof cudnnRnnArgs)[number]>({
  className: "CuDNNGRU",
  fn: "layer_cudnn_gru",
  props: CUDNN_CELL_PROPS,
  defaults: { ...CELL_DEFAULTS, ...CUDNN_FIXED },
  required: ["units"],
  rnnArgs: cudnnRnnArgs,
  configRnnArgs: cudnnConfigRnnArgs,
  cellOf: (c) => gruCell({ ...c, ...CUDNN_FIXED, reset_after: true }, "cudnn"),
});

const CUDNN_LSTM_PROPS = {
  ...CUDNN_CELL_PROPS,
  /** Add 1 to the forget gate's bias at initialization. */
  unit_forget_bias: Bool,
};
const lstmFamily = defineRecurrentLayer<typeof CUDNN_LSTM_PROPS, "units", CudnnConfig, (typeof cudnnRnnArgs)[number]>({
  className: "CuDNNLSTM",
  fn: "layer_cudnn_lstm",
  props: CUDNN_LSTM_PROPS,
  defaults: { ...CELL_DEFAULTS, ...CUDNN_FIXED, unit_forget_bias: true },
  required: ["units"],
  rnnArgs: cudnnRnnArgs,
  configRnnArgs: cudnnConfigRnnArgs,
  cellOf: (c) => lstmCell({ ...c, ...CUDNN_FIXED, unit_forget_bias: c.unit_forget_bias ?? true }, "cudnn"),
});

/** `family` under the public name `fn`, printing a one-time deprecation warning pointing to `replacement`. */
function deprecated<F extends (...args: never[]) => unknown>(fn: string, replacement: string, family: F): F {
  const call = (...args: unknown[]) => {
    deprecationWarning(fn, replacement);
    return (family as unknown as (...args: unknown[]) => unknown)(...args);
  };
  Object.defineProperty(call, "name", { value: fn });
  // The same arguments are handed on: the family's own (overloaded) type is the public one.
  return call as unknown as F;
}

/**
 * `layer_cudnn_gru(object, units, ...)`: CuDNNGRU numbers (= layer_gru with reset_after TRUE) on any backend.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 4] }), layer_cudnn_gru({ units: 8 }));
 */
export const layer_cudnn_gru = deprecated("layer_cudnn_gru", "layer_gru", gruFamily);

/**
 * `layer_cudnn_lstm(object, units, ...)`: CuDNNLSTM numbers (= layer_lstm) on any backend.
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [10, 4] }), layer_cudnn_lstm({ units: 8 }));
 */
export const layer_cudnn_lstm = deprecated("layer_cudnn_lstm", "layer_lstm", lstmFamily);

// ---------------------------------------------------------------------------------------------
// Weight conversion (Keras 2's _convert_rnn_weights): [kernel, recurrent_kernel, bias].

type Kind = "CuDNNGRU" | "CuDNNLSTM" | "GRU" | "LSTM";

function biasOf(fn: string, weights: readonly unknown[], shape: number[]): Float32Array {
  const b = toFloat32(weights[2], shape);
  if (typeof b === "string") throw new KerasError(fn, `\`weights[[3]]\` (the bias) must ${b}`, "shape");
  return b;
}

/** The rows of a weight given as nested arrays, a tensor or a `{ shape, values }` record. */
const rowsOf = (w: unknown): unknown =>
  Array.isArray(w)
    ? w.length
    : w instanceof tf.Tensor || isPlainRecord(w)
      ? (w.shape as unknown[] | undefined)?.[0]
      : undefined;

/** The units of [kernel, recurrent_kernel, bias]: the recurrent kernel's rows. */
function unitsOf(fn: string, weights: unknown): number {
  if (!Array.isArray(weights) || weights.length !== 3)
    throw new KerasError(
      fn,
      `\`weights\` must be a list of 3 arrays (kernel, recurrent_kernel, bias), got ${describeValue(weights)}`,
    );
  const rows = rowsOf(weights[1]);
  if (!PositiveInt.is(rows))
    throw new KerasError(fn, "`weights[[2]]` (recurrent_kernel) must be a (units, gates * units) matrix");
  return rows;
}

/**
 * `convert_cudnn_weights(weights, from)`: the weights of a `from` layer ("CuDNNGRU", "CuDNNLSTM",
 * "GRU" with reset_after TRUE, or "LSTM") in the layout of its counterpart. GRU: the (6u) bias becomes
 * (2, 3u) and back; LSTM: the (8u) bias is summed to (4u), and a (4u) bias becomes [bias, zeros(4u)].
 *
 * @example
 * const keras = convert_cudnn_weights(get_weights(cudnn_layer), "CuDNNGRU");
 */
export function convert_cudnn_weights(weights: readonly unknown[], from: Kind): unknown[] {
  const fn = "convert_cudnn_weights";
  refuseArgumentsPast(fn, ["weights", "from"], arguments);
  if (!["CuDNNGRU", "CuDNNLSTM", "GRU", "LSTM"].includes(from))
    throw new KerasError(fn, `\`from\` must be "CuDNNGRU", "CuDNNLSTM", "GRU" or "LSTM", got ${describeValue(from)}`);
  const u = unitsOf(fn, weights);
  const [kernel, recurrent] = weights;
  const gates = from.endsWith("GRU") ? 3 : 4;
  const rows = PositiveInt.is(rowsOf(kernel)) ? (rowsOf(kernel) as number) : 0;
  for (const [k, w, shape] of [
    [1, kernel, [rows, gates * u]],
    [2, recurrent, [u, gates * u]],
  ] as const) {
    const ok = toFloat32(w, shape);
    if (typeof ok === "string")
      throw new KerasError(fn, `\`weights[[${k}]]\` (${k === 1 ? "kernel" : "recurrent_kernel"}) must ${ok}`, "shape");
  }
  const mat = (values: Float32Array, rows: number, cols: number) =>
    Array.from({ length: rows }, (_, r) => Array.from(values.subarray(r * cols, (r + 1) * cols)));
  switch (from) {
    case "CuDNNGRU":
      return [kernel, recurrent, mat(biasOf(fn, weights, [6 * u]), 2, 3 * u)];
    case "GRU":
      if (typeof toFloat32(weights[2], [3 * u]) !== "string")
        throw new KerasError(
          fn,
          "a GRU with reset_after = FALSE has no cuDNN equivalent (CuDNNGRU is the reset_after = TRUE variant)",
        );
      return [kernel, recurrent, Array.from(biasOf(fn, weights, [2, 3 * u]))];
    case "CuDNNLSTM": {
      const b = biasOf(fn, weights, [8 * u]);
      return [kernel, recurrent, Array.from({ length: 4 * u }, (_, i) => b[i] + b[4 * u + i])];
    }
    case "LSTM":
      return [kernel, recurrent, [...biasOf(fn, weights, [4 * u]), ...new Array(4 * u).fill(0)]];
  }
}

const nested = (w: WeightValue) => ({ shape: w.shape, values: w.values });

/**
 * `layer_from_cudnn(layer)`: the layer_gru (reset_after TRUE) / layer_lstm equivalent of a cuDNN
 * layer, holding its weights converted when it has any.
 *
 * @example
 * const portable = layer_from_cudnn(layer_cudnn_gru({ units: 8 }));
 */
export function layer_from_cudnn(layer: Layer): Layer {
  const fn = "layer_from_cudnn";
  refuseArgumentsPast(fn, ["layer"], arguments);
  if (!isLayer(layer) || (layer.className !== "CuDNNGRU" && layer.className !== "CuDNNLSTM"))
    throw new KerasError(
      fn,
      `\`layer\` must be a layer_cudnn_gru() or layer_cudnn_lstm() layer, got ${describeValue(layer)}`,
    );
  const { unit_forget_bias, ...c } = layer.config;
  const args: Record<string, unknown> = { ...c, name: layer.autoName ? undefined : layer.name };
  for (const k of ["implementation", "time_major", "unroll", "zero_output_for_mask"]) delete args[k];
  if (layer.className === "CuDNNLSTM") args.unit_forget_bias = unit_forget_bias;
  else args.reset_after = true;
  const shape = builtInputShapesOf(layer)?.[0];
  if (shape) args.batch_input_shape = shape;
  // The arguments come from a cuDNN config, which holds only what layer_gru / layer_lstm take.
  const fresh: Layer =
    layer.className === "CuDNNGRU"
      ? layer_gru(args as ArgsOfLayer<typeof layer_gru>)
      : layer_lstm(args as ArgsOfLayer<typeof layer_lstm>);
  const w = builtWeightsOf(layer);
  return w ? withLayer(fresh, { weightsArg: convert_cudnn_weights(w.map(nested), layer.className) }) : fresh;
}

/**
 * `layer_to_cudnn(layer)`: the cuDNN layer equivalent to a cuDNN-compatible layer_gru / layer_lstm.
 *
 * @example
 * const fast = layer_to_cudnn(layer_gru({ units: 8, reset_after: true, recurrent_activation: "sigmoid" }));
 */
export function layer_to_cudnn(layer: Layer): Layer {
  const fn = "layer_to_cudnn";
  refuseArgumentsPast(fn, ["layer"], arguments);
  if (!isLayer(layer) || (layer.className !== "GRU" && layer.className !== "LSTM"))
    throw new KerasError(fn, `\`layer\` must be a layer_gru() or layer_lstm() layer, got ${describeValue(layer)}`);
  const c = layer.config;
  const bad: string[] = [];
  if (c.activation.name !== "tanh") bad.push('activation "tanh"');
  if (c.recurrent_activation.name !== "sigmoid") bad.push('recurrent_activation "sigmoid"');
  if (!c.use_bias) bad.push("use_bias TRUE");
  if (layer.className === "GRU" && !c.reset_after) bad.push("reset_after TRUE");
  if (bad.length) throw new KerasError(fn, `layer "${layer.name}" has no cuDNN equivalent: it needs ${bad.join(", ")}`);
  const args: Record<string, unknown> = {};
  for (const k of [
    "units",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
    "return_sequences",
    "return_state",
    "stateful",
  ])
    args[k] = c[k];
  if (layer.className === "LSTM") args.unit_forget_bias = c.unit_forget_bias;
  if (!layer.autoName) args.name = layer.name;
  const shape = builtInputShapesOf(layer)?.[0];
  if (shape) args.batch_input_shape = shape;
  // The arguments are the GRU / LSTM config's, restricted to what the cuDNN functions take.
  const made: Layer =
    layer.className === "GRU"
      ? gruFamily(args as ArgsOfLayer<typeof gruFamily>)
      : lstmFamily(args as ArgsOfLayer<typeof lstmFamily>);
  // R's layer_cudnn_*() takes no go_backwards, but Keras's CuDNN layers have it (their configs carry it).
  const fresh = c.go_backwards ? withLayer(made, { config: { ...made.config, go_backwards: true } }) : made;
  const w = builtWeightsOf(layer);
  return w ? withLayer(fresh, { weightsArg: convert_cudnn_weights(w.map(nested), layer.className) }) : fresh;
}
