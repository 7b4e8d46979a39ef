/**
 * How to call each export validly: the positional arguments of a working call, which of them is the
 * record of named arguments (its codecs are learnt from decodeArgs, see cases.ts), which positional
 * arguments take data or objects (and under which R name errors must report them), and what to do
 * with the result so that a lazily checked value is really used (a spec compiled, a layer run).
 * An export without an entry here still gets the generic cases of cases.ts.
 */
import { join } from "node:path";
import { zipSync } from "fflate";
import * as api from "../../src/index.js";
import type { Fixtures } from "./fixtures.js";
import { JUNK, dataValues } from "./values.js";

/** What bad values a positional argument gets (see values.ts). */
export type PositionalKind =
  | "model"
  | "model or layer"
  | "layer"
  | "cell"
  | "history"
  | "data"
  | "integer tokens"
  | "samples"
  | "labels"
  | "indices"
  | "weights"
  | "states"
  | "config"
  | "function"
  | "name"
  | "dtype"
  | "path"
  | "sequences"
  | "class indices"
  | "texts"
  | "tokenizer"
  | "bytes"
  | "json"
  | "seed"
  | "a positive integer"
  | "a non-negative number"
  | "a string";

export interface Positional {
  readonly index: number;
  /** The argument's name as errors must give it (R's name). */
  readonly name: string;
  readonly kind: PositionalKind;
}

export interface Call {
  /** The positional arguments of a valid call (a fresh array per call). */
  readonly args: unknown[];
  /** Index in `args` of the record of named arguments, when the function takes one. */
  readonly options?: number;
  readonly positional?: readonly Positional[];
  /** Makes the result do its work (errors from here count as the call's). */
  readonly use?: (result: any) => unknown;
  /** How the export is called with `args` (default: `f(...args)`). */
  readonly invoke?: (f: any, args: unknown[]) => unknown;
  /** Other public functions a KerasError may name: the verb that runs a spec (fit for a callback). */
  readonly alsoFn?: readonly string[];
  /** Named arguments that legitimately take any value (no junk is bad for them). */
  readonly anyValue?: readonly string[];
  /** TRUE when `use` trains (so regularizers and constraints run). */
  readonly trains?: boolean;
  /** Told apart in reports when an export has several calls ("computed", "compiled"). */
  readonly label?: string;
  /** Cases that do not apply (e.g. a number where regularizer_l1 also takes its factor positionally). */
  readonly skip?: RegExp;
  /** Further bad calls: a change to the valid options, and what the error must name. */
  readonly extra?: readonly Extra[];
}

export interface Extra {
  readonly label: string;
  /** Replaces named arguments of the valid call (a function: made when the case runs). */
  readonly options?: Record<string, unknown> | ((fx: Fixtures) => Record<string, unknown>);
  /** Replaces positional arguments (by index) of the valid call. */
  readonly args?: { readonly [index: number]: ((fx: Fixtures) => unknown) | undefined };
  /** Names one of which the error must give in backticks. */
  readonly names: readonly string[];
  readonly risky?: boolean;
}

export type Signature = (fx: Fixtures) => Call | Call[];

const T = (fx: Fixtures) => fx.tf;
const boom = () => {
  throw new Error("boom");
};
const dispose = (r: any) => {
  const list = Array.isArray(r) ? r.flat(Infinity) : [r];
  for (const t of list) if (t && typeof t.dispose === "function") t.dispose();
};

/** (2, 4, 4, 2) images and (2, 2, 3, 3, 2) volumes, for the 2-D and 3-D layers. */
const image = (fx: Fixtures) => [fx.seq(4, 4, 2), fx.seq(4, 4, 2, 1)];
const volume = (fx: Fixtures) => [
  [fx.seq(3, 3, 2), fx.seq(3, 3, 2, 1)],
  [fx.seq(3, 3, 2, 2), fx.seq(3, 3, 2, 3)],
];

/** Layer functions: the layer's required arguments and the data to apply it to. */
const LAYERS: Record<
  string,
  {
    args: (fx: Fixtures) => Record<string, unknown>;
    input: (fx: Fixtures) => unknown;
    kind?: PositionalKind;
    /** Sizes within int32 whose tensors would not fit (refused when the layer is composed). */
    tooBig?: Record<string, unknown>;
    /** Further bad calls when applied to data. */
    extra?: (fx: Fixtures) => Extra[];
  }
> = {
  layer_dense: { args: () => ({ units: 2 }), input: (fx) => fx.x4, tooBig: { units: 2 ** 30 } },
  layer_activation: { args: () => ({ activation: "relu" }), input: (fx) => fx.x4 },
  layer_activity_regularization: { args: () => ({ l1: 0.01 }), input: (fx) => fx.x4 },
  layer_add: { args: () => ({}), input: (fx) => fx.pair },
  layer_subtract: { args: () => ({}), input: (fx) => fx.pair },
  layer_multiply: { args: () => ({}), input: (fx) => fx.pair },
  layer_average: { args: () => ({}), input: (fx) => fx.pair },
  layer_maximum: { args: () => ({}), input: (fx) => fx.pair },
  layer_minimum: { args: () => ({}), input: (fx) => fx.pair },
  layer_concatenate: { args: () => ({}), input: (fx) => fx.pair },
  layer_dot: { args: () => ({ axes: 1 }), input: (fx) => fx.pair },
  layer_average_pooling_1d: { args: () => ({}), input: (fx) => fx.seq(2, 4, 2) },
  layer_max_pooling_1d: { args: () => ({}), input: (fx) => fx.seq(2, 4, 2) },
  layer_global_average_pooling_1d: { args: () => ({}), input: (fx) => fx.x3 },
  layer_global_max_pooling_1d: { args: () => ({}), input: (fx) => fx.x3 },
  layer_batch_normalization: { args: () => ({}), input: (fx) => fx.x4 },
  layer_layer_normalization: { args: () => ({}), input: (fx) => fx.x4 },
  layer_conv_1d: { args: () => ({ filters: 2, kernel_size: 2 }), input: (fx) => fx.x3, tooBig: { filters: 2 ** 30 } },
  layer_conv_2d: { args: () => ({ filters: 2, kernel_size: 2 }), input: image, tooBig: { filters: 2 ** 30 } },
  layer_conv_3d: { args: () => ({ filters: 2, kernel_size: 2 }), input: volume, tooBig: { filters: 2 ** 30 } },
  layer_conv_1d_transpose: { args: () => ({ filters: 2, kernel_size: 2 }), input: (fx) => fx.x3 },
  layer_conv_2d_transpose: { args: () => ({ filters: 2, kernel_size: 2 }), input: image },
  layer_conv_3d_transpose: { args: () => ({ filters: 2, kernel_size: 2 }), input: volume },
  layer_depthwise_conv_1d: { args: () => ({ kernel_size: 2 }), input: (fx) => fx.x3 },
  layer_depthwise_conv_2d: { args: () => ({ kernel_size: 2 }), input: image },
  layer_separable_conv_1d: { args: () => ({ filters: 2, kernel_size: 2 }), input: (fx) => fx.x3 },
  layer_separable_conv_2d: { args: () => ({ filters: 2, kernel_size: 2 }), input: image },
  layer_max_pooling_2d: { args: () => ({}), input: image },
  layer_max_pooling_3d: { args: () => ({ pool_size: 1 }), input: volume },
  layer_average_pooling_2d: { args: () => ({}), input: image },
  layer_average_pooling_3d: { args: () => ({ pool_size: 1 }), input: volume },
  layer_global_max_pooling_2d: { args: () => ({}), input: image },
  layer_global_max_pooling_3d: { args: () => ({}), input: volume },
  layer_global_average_pooling_2d: { args: () => ({}), input: image },
  layer_global_average_pooling_3d: { args: () => ({}), input: volume },
  layer_zero_padding_1d: { args: () => ({}), input: (fx) => fx.x3 },
  layer_zero_padding_2d: { args: () => ({}), input: image },
  layer_zero_padding_3d: { args: () => ({}), input: volume },
  layer_cropping_1d: { args: () => ({}), input: (fx) => fx.x3 },
  layer_cropping_2d: { args: () => ({}), input: image },
  layer_cropping_3d: { args: () => ({ cropping: 0 }), input: volume },
  layer_upsampling_1d: { args: () => ({}), input: (fx) => fx.x3 },
  layer_upsampling_2d: { args: () => ({}), input: image },
  layer_upsampling_3d: { args: () => ({}), input: volume },
  layer_spatial_dropout_2d: { args: () => ({ rate: 0.5 }), input: image },
  layer_spatial_dropout_3d: { args: () => ({ rate: 0.5 }), input: volume },
  layer_dropout: { args: () => ({ rate: 0.5 }), input: (fx) => fx.x4 },
  layer_spatial_dropout_1d: { args: () => ({ rate: 0.5 }), input: (fx) => fx.x3 },
  layer_gaussian_noise: { args: () => ({ stddev: 0.1 }), input: (fx) => fx.x4 },
  layer_embedding: {
    args: () => ({ input_dim: 5, output_dim: 2 }),
    kind: "indices",
    tooBig: { input_dim: 2 ** 30, output_dim: 8 },
    input: () => [
      [0, 1, 2],
      [3, 4, 0],
    ],
  },
  layer_flatten: { args: () => ({}), input: (fx) => fx.x3 },
  layer_reshape: { args: () => ({ target_shape: [6] }), input: (fx) => fx.x3 },
  layer_permute: { args: () => ({ dims: [2, 1] }), input: (fx) => fx.x3 },
  layer_repeat_vector: { args: () => ({ n: 2 }), input: (fx) => fx.x4, tooBig: { n: 2 ** 30 } },
  layer_masking: { args: () => ({}), input: (fx) => fx.x3 },
  layer_text_vectorization: {
    args: () => ({ vocabulary: ["a", "b"], output_sequence_length: 3 }),
    kind: "texts",
    input: () => ["a b", "c"],
    tooBig: { max_tokens: 2 ** 31 },
  },
  layer_string_lookup: { args: () => ({ vocabulary: ["a", "b"] }), kind: "texts", input: () => [["a"], ["c"]] },
  layer_integer_lookup: { args: () => ({ vocabulary: [1, 2] }), kind: "integer tokens", input: () => [[1], [3]] },
  layer_lambda: {
    args: (fx) => ({ f: (x: any) => T(fx).mul(x, 2) }),
    input: (fx) => fx.x4,
    extra: (fx) => [
      { label: "`f` returning junk", options: { f: () => "a" }, names: ["f"] },
      { label: "`f` throwing", options: { f: boom }, names: ["f"] },
      { label: "`f` returning junk, `output_shape` given", options: { f: () => "a", output_shape: [4] }, names: ["f"] },
      { label: "`f` throwing, `output_shape` given", options: { f: boom, output_shape: [4] }, names: ["f"] },
      {
        label: "`f` returning another shape than `output_shape`",
        options: { f: () => T(fx).ones([7]), output_shape: [4] },
        names: ["f", "output_shape"],
      },
      { label: "`output_shape` returning junk", options: { output_shape: () => "a" }, names: ["output_shape"] },
      { label: "`output_shape` throwing", options: { output_shape: boom }, names: ["output_shape"] },
      { label: "`mask` returning junk", options: { mask: () => "a" }, names: ["mask"] },
    ],
  },
  layer_gru: { args: () => ({ units: 2 }), input: (fx) => fx.x3, tooBig: { units: 2 ** 28 } },
  layer_lstm: { args: () => ({ units: 2 }), input: (fx) => fx.x3 },
  layer_simple_rnn: { args: () => ({ units: 2 }), input: (fx) => fx.x3 },
  layer_cudnn_gru: { args: () => ({ units: 2 }), input: (fx) => fx.x3 },
  layer_cudnn_lstm: { args: () => ({ units: 2 }), input: (fx) => fx.x3 },
  layer_rnn: { args: () => ({ cell: api.rnn_cell_gru({ units: 2 }) }), input: (fx) => fx.x3 },
  layer_gru_cell: { args: () => ({ units: 2 }), input: (fx) => fx.mat(2, 2) },
  rnn_cell_gru: { args: () => ({ units: 2 }), input: (fx) => fx.mat(2, 2) },
  layer_lstm_cell: { args: () => ({ units: 2 }), input: (fx) => fx.mat(2, 2) },
  rnn_cell_lstm: { args: () => ({ units: 2 }), input: (fx) => fx.mat(2, 2) },
  layer_simple_rnn_cell: { args: () => ({ units: 2 }), input: (fx) => fx.mat(2, 2) },
  rnn_cell_simple: { args: () => ({ units: 2 }), input: (fx) => fx.mat(2, 2) },
  layer_stacked_rnn_cells: {
    args: () => ({ cells: [api.rnn_cell_gru({ units: 2 }), api.rnn_cell_simple({ units: 2 })] }),
    input: (fx) => fx.mat(2, 2),
  },
  rnn_cells_stack: {
    args: () => ({ cells: [api.rnn_cell_gru({ units: 2 }), api.rnn_cell_simple({ units: 2 })] }),
    input: (fx) => fx.mat(2, 2),
  },
  layer_conv_lstm_1d: {
    args: () => ({ filters: 2, kernel_size: 2 }),
    input: (fx) => [fx.seq(3, 3, 2), fx.seq(3, 3, 2, 1)],
  },
  layer_conv_lstm_2d: {
    args: () => ({ filters: 2, kernel_size: 2 }),
    input: (fx) => [[fx.seq(3, 3, 2), fx.seq(3, 3, 2, 1)]],
  },
  layer_conv_lstm_3d: {
    args: () => ({ filters: 1, kernel_size: 2 }),
    input: (fx) => [[[fx.seq(2, 2, 1), fx.seq(2, 2, 1, 1)]]],
  },
  bidirectional: { args: () => ({ layer: api.layer_gru({ units: 2 }) }), input: (fx) => fx.x3 },
  layer_bidirectional: { args: () => ({ layer: api.layer_gru({ units: 2 }) }), input: (fx) => fx.x3 },
  time_distributed: { args: () => ({ layer: api.layer_dense({ units: 2 }) }), input: (fx) => fx.x3 },
  layer_time_distributed: { args: () => ({ layer: api.layer_dense({ units: 2 }) }), input: (fx) => fx.x3 },
};

const MULTI_INPUT = /^layer_(add|subtract|multiply|average|maximum|minimum|concatenate|dot)$/;
const CELL = /_cells?$|^rnn_cell/;
const shapeOf = (x: unknown): number[] => (Array.isArray(x) ? [x.length, ...shapeOf(x[0])] : []);

/** A model whose layer uses `spec` (initializers, regularizers, constraints), trained one step. */
async function trainWith(fx: Fixtures, layerArgs: Record<string, unknown>) {
  const model = api.compile(
    api.layer_dense(api.keras_model_sequential({ input_shape: [4] }), { units: 2, ...layerArgs }),
    { optimizer: "sgd", loss: "mse" },
  );
  return api.train_on_batch(model, fx.x4, fx.mat(4, 2));
}

const lossData = (fx: Fixtures, name: string): [unknown, unknown] => {
  if (/sparse/.test(name)) return [[0, 2, 1], fx.tf.softmax(fx.tf.tensor(fx.mat(3, 3))).arraySync()];
  if (/(binary|hinge|auc|precision|recall|accuracy|crossentropy|kl_div|poisson)/.test(name))
    return [
      [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
      fx.tf.softmax(fx.tf.tensor(fx.mat(3, 3))).arraySync(),
    ];
  return [fx.mat(3, 3), fx.mat(3, 3, 1)];
};

/** The targets a loss or metric of this name wants: regression, sparse labels or one-hot classes. */
const targetKind = (name: string) =>
  /sparse/.test(name) ? "sparse" : /(categorical|top_k|kl_div|poisson)/.test(name) ? "onehot" : "regression";

/** Compile-time specs (losses, metrics, optimizers) go through compile and one training step. */
const compileWith = (
  fx: Fixtures,
  args: Record<string, unknown>,
  kind = "regression",
  step: (m: api.Model, x: unknown, y: unknown) => Promise<unknown> = api.train_on_batch,
) => {
  if (kind === "regression")
    return step(api.compile(fx.gruModel, { optimizer: "sgd", loss: "mse", ...args }), fx.x3, fx.y1);
  const loss = kind === "sparse" ? "sparse_categorical_crossentropy" : "categorical_crossentropy";
  const y = kind === "sparse" ? fx.labels : fx.onehot;
  return step(api.compile(fx.classifier, { optimizer: "sgd", loss, ...args }), fx.x4, y);
};

const fitWith = (fx: Fixtures, callbacks: unknown[]) =>
  api.fit(fx.gruModel, fx.x3, fx.y1, { epochs: 2, verbose: 0, validation_split: 0.25, callbacks });

const REQUIRED_SCHEDULE: Record<string, Record<string, unknown>> = {
  learning_rate_schedule_polynomial_decay: { initial_learning_rate: 0.1, decay_steps: 10 },
  learning_rate_schedule_cosine_decay_restarts: { initial_learning_rate: 0.1, first_decay_steps: 10 },
  learning_rate_schedule_cosine_decay: { initial_learning_rate: 0.1, decay_steps: 10 },
  learning_rate_schedule_exponential_decay: { initial_learning_rate: 0.1, decay_steps: 10, decay_rate: 0.9 },
  learning_rate_schedule_inverse_time_decay: { initial_learning_rate: 0.1, decay_steps: 10, decay_rate: 0.5 },
  learning_rate_schedule_piecewise_constant_decay: { boundaries: [2], values: [0.1, 0.01] },
};

/** regularizer_l1 / _l2: the factor by R's name `l` or positionally (where Keras takes None as the default). */
const regularizerFactor = (fx: Fixtures): Call[] => [
  {
    args: [{ l: 0.01 }],
    options: 0,
    use: (spec) => trainWith(fx, { kernel_regularizer: spec }),
    skip: /as a number$/,
  },
  { args: [0.01], positional: [{ index: 0, name: "l", kind: "a non-negative number" }], skip: /= null$/ },
];

const MODEL = { index: 0, name: "object", kind: "model" } as const;

/** Windows of 3 rows over 10 rows of 2 features, with one target each (for fx.gruModel). */
const windows = (fx: Fixtures, args: Record<string, unknown> = {}) =>
  api.timeseries_dataset_from_array(fx.mat(10, 2), fx.mat(10, 1), { sequence_length: 3, batch_size: 4, ...args });

/** fit / evaluate given a timeseries dataset as `x`: what the dataset fixes itself cannot be given too. */
const withDataset = (fx: Fixtures, options: Record<string, unknown>, verb: "fit" | "evaluate"): Call => ({
  label: "a timeseries dataset",
  args: [fx.gruModel, windows(fx), undefined, { ...options }],
  options: 3,
  positional: [],
  extra: [
    { label: "`y` given with a dataset", args: { 2: (f) => f.y1 }, names: ["y"] },
    { label: "`batch_size` given with a dataset", options: { batch_size: 2 }, names: ["batch_size"] },
    {
      label: "`sample_weight` with a dataset",
      options: { sample_weight: [1, 1, 1, 1, 1, 1, 1, 1] },
      names: ["sample_weight"],
    },
    { label: "a dataset for a model of two inputs", args: { 0: (f) => f.twoInputs }, names: [] },
    {
      label: "windows of another shape than the model's input",
      args: { 1: (f) => api.timeseries_dataset_from_array(f.mat(10, 3), f.mat(10, 1), { sequence_length: 3 }) },
      names: [],
    },
    {
      label: "class labels out of range in the dataset's targets",
      args: {
        0: (f) => f.seqClassifier,
        1: (f) =>
          api.timeseries_dataset_from_array(f.mat(10, 2), [0, 1, 2, 5, 1, 0, 2, 1, 0, 1], { sequence_length: 3 }),
      },
      names: ["targets"],
    },
    {
      label: "tokens out of range in the dataset's series",
      args: {
        0: (f) => f.embedModel,
        1: () =>
          api.timeseries_dataset_from_array([0, 1, 2, 3, 9, 1, 2], [0, 1, 2, 3, 4, 5, 6], { sequence_length: 3 }),
      },
      names: ["x"],
    },
    ...(verb === "fit"
      ? [
          {
            label: "`validation_split` with a dataset",
            options: { validation_split: 0.2 },
            names: ["validation_split"],
          },
          {
            label: "`class_weight` with a dataset",
            options: { class_weight: { 0: 1 } },
            names: ["class_weight", "sample_weight"],
          },
          {
            label: "validation data made without targets",
            options: {
              validation_data: api.timeseries_dataset_from_array(fx.mat(10, 2), null, { sequence_length: 3 }),
            },
            names: ["validation_data"],
          },
        ]
      : []),
  ],
});

/** fit / evaluate / train_on_batch / test_on_batch: (object, x, y, options) on sequences, then on class labels. */
const withTargets = (fx: Fixtures, options: Record<string, unknown>): Call[] => [
  {
    args: [fx.gruModel, fx.x3, fx.y1, { ...options }],
    options: 3,
    positional: [MODEL, { index: 1, name: "x", kind: "samples" }, { index: 2, name: "y", kind: "samples" }],
  },
  {
    label: "classifier",
    args: [fx.classifier, fx.x4, fx.labels, { ...options }],
    options: 3,
    positional: [{ index: 2, name: "y", kind: "labels" }],
  },
];
const MODEL_OR_LAYER = { index: 0, name: "object", kind: "model or layer" } as const;

/** A model whose input shape is unknown (it cannot be saved: its weights do not exist yet). */
const unbuilt = () => api.layer_dense(api.keras_model_sequential(), { units: 1 });

/** Files a loader must refuse with a KerasError (they name the file, not an argument). */
const loadExtras = (): Extra[] => [
  { label: "a file that does not exist", args: { 0: (f) => join(f.out, "missing") }, names: [] },
  { label: "a file that is not a model", args: { 0: (f) => f.saved.notAModel }, names: [] },
  { label: "a folder", args: { 0: (f) => join(f.out) }, names: [] },
  {
    label: "a truncated file",
    args: { 0: (f) => f.saved.truncated },
    names: [],
  },
];

/** Bytes that are not a .keras archive, or a damaged one. */
const bytesExtras = (): Extra[] => [
  { label: "random bytes", args: { 0: () => Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 255) }, names: [] },
  { label: "truncated bytes", args: { 0: (f) => f.bytes.slice(0, f.bytes.length >> 1) }, names: [] },
  { label: "no bytes", args: { 0: () => new Uint8Array(0) }, names: [] },
  { label: "a zip without a model", args: { 0: () => zipSync({ "a.txt": new Uint8Array([1]) }) }, names: [] },
];

/** JSON texts that are not a model (model_from_json). */
const JSON_CONTENT = [
  "{nope",
  "null",
  "1",
  '"x"',
  "[]",
  "{}",
  '{"class_name": "Bogus", "config": {}}',
  '{"class_name": "Sequential", "config": {"layers": "x"}}',
  '{"class_name": "Sequential", "config": {"layers": [null]}}',
  '{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": -1}}]}}',
  '{"class_name": "Sequential", "config": {"layers": [{"class_name": "constructor", "config": {}}]}}',
  '{"class_name": "Functional", "config": {"layers": [], "input_layers": [["x", 0, 0]], "output_layers": []}}',
];

/** Bad sample weights for `update_state()` (the valid ones are `valid`, one per sample). */
const sampleWeightExtras = (valid: number[]): Extra[] => [
  { label: "`sample_weight` of another length", options: { sample_weight: [...valid, 1] }, names: ["sample_weight"] },
  ...dataValues(valid)
    .filter((b) => !JUNK.some((j) => j.label === b.label))
    .map((b) => ({
      label: `\`sample_weight\` = ${b.label}`,
      options: (fx: Fixtures) => ({ sample_weight: b.make(fx) }),
      names: ["sample_weight"],
    })),
];

/** Losses and metrics that need more than lossData()'s (y_true, y_pred) without arguments. */
interface YFunction {
  /** Arguments without a default, given in every call. */
  readonly required?: Record<string, unknown>;
  /** (y_true, y_pred): 3 samples, or `samples` of them. */
  readonly data?: (fx: Fixtures) => [unknown, unknown];
  readonly samples?: number;
  /** What bad y_true values get (default: "labels" for a sparse function, else "data"). */
  readonly trueKind?: PositionalKind;
  /** Compiles `spec` into a model and evaluates a batch (default: compileWith for targetKind(name)). */
  readonly compiled?: (fx: Fixtures, spec: unknown) => Promise<unknown>;
  /** Arguments of the compiled spec, beyond `required` (the model's output is not what `data` is). */
  readonly compiledArgs?: Record<string, unknown>;
  /** Further bad calls of the computed form (and of update_state for a metric). */
  readonly extra?: (fx: Fixtures) => Extra[];
}

/** Class ids of 4 samples for the IoU metrics (sparse y_true and y_pred). */
const CLASS_IDS: [number[], number[]] = [
  [0, 2, 1, 1],
  [0, 1, 1, 2],
];
const iouExtras = (): Extra[] => [
  {
    label: "class scores where ids are expected (`sparse_y_true` = FALSE with ids)",
    options: { sparse_y_true: false },
    names: ["y_true"],
  },
  {
    label: "an axis the class scores do not have",
    options: { sparse_y_pred: false, axis: 2 },
    args: { 1: (f) => f.mat(4, 3) },
    names: ["axis"],
  },
  { label: "a confusion matrix too big for a tensor", options: { num_classes: 2 ** 16 }, names: ["num_classes"] },
];
const atConstraintExtras = (): Extra[] => [
  { label: "a `class_id` beyond y_pred's columns", options: { class_id: 5 }, names: ["class_id"] },
  {
    label: "more thresholds than float32 tells apart",
    options: { num_thresholds: 2 ** 25 },
    names: ["num_thresholds"],
  },
  {
    label: "thresholds x predictions too many for a tensor",
    options: { num_thresholds: 2 ** 24 },
    args: { 0: () => new Array(256).fill(1), 1: () => new Array(256).fill(0.5) },
    names: ["num_thresholds"],
    risky: true,
  },
];

const Y_FUNCTIONS: Record<string, YFunction> = {
  metric_auc: { extra: () => atConstraintExtras().filter((e) => !/class_id/.test(e.label)) },
  metric_precision_at_recall: { required: { recall: 0.5 }, extra: atConstraintExtras },
  metric_recall_at_precision: { required: { precision: 0.5 }, extra: atConstraintExtras },
  metric_iou: {
    required: { num_classes: 3, target_class_ids: [0, 2] },
    data: () => CLASS_IDS,
    samples: 4,
    // Keras leaves class ids outside 0..num_classes-1 out of the confusion matrix.
    trueKind: "data",
    compiled: (fx, spec) => compileWith(fx, { metrics: [spec] }, "sparse", api.test_on_batch),
    compiledArgs: { sparse_y_pred: false },
    extra: () => [
      ...iouExtras(),
      { label: "a target class beyond num_classes", options: { target_class_ids: [3] }, names: ["target_class_ids"] },
    ],
  },
  metric_mean_iou: {
    required: { num_classes: 3 },
    data: () => CLASS_IDS,
    samples: 4,
    trueKind: "data",
    compiled: (fx, spec) => compileWith(fx, { metrics: [spec] }, "sparse", api.test_on_batch),
    compiledArgs: { sparse_y_pred: false },
    extra: iouExtras,
  },
  loss_ctc: {
    // Labels 1..2 padded with 0 (0 is the blank); logits of 4 steps over 3 classes.
    data: (fx) => [
      [
        [1, 2],
        [2, 0],
        [1, 1],
      ],
      fx.seq(3, 4, 3),
    ],
    trueKind: "labels",
    compiled: (fx, spec) =>
      api.test_on_batch(
        api.compile(api.layer_dense(api.keras_model_sequential({ input_shape: [3, 2] }), { units: 3 }), {
          optimizer: "sgd",
          loss: spec,
        }),
        fx.x3,
        [
          [1, 2],
          [2, 0],
          [1, 1],
          [2, 2],
        ],
      ),
    extra: (fx) => [
      { label: "y_pred of rank 2", args: { 1: (f) => f.mat(3, 3) }, names: ["y_pred"] },
      { label: "y_true of rank 1", args: { 0: () => [1, 2, 1] }, names: ["y_true"] },
      { label: "fewer samples in y_true than in y_pred", args: { 0: () => [[1, 2]] }, names: ["y_true", "y_pred"] },
      {
        label: "a fractional label",
        args: {
          0: () => [
            [1.5, 0],
            [2, 0],
            [1, 1],
          ],
        },
        names: ["y_true"],
      },
      { label: "y_pred of 2 classes for label 2", args: { 1: () => fx.seq(3, 4, 2) }, names: ["y_true"] },
    ],
  },
  loss_categorical_focal_crossentropy: {
    extra: () => [
      { label: "an `alpha` per class of another length", options: { alpha: [0.25, 0.25] }, names: ["alpha"] },
    ],
  },
};

/** Metrics whose size comes from the first batch: a later batch must have as many columns. */
const SIZED_BY_DATA = ["metric_f1_score", "metric_fbeta_score", "metric_r2_score"];

/**
 * A loss or metric: computed on (y_true, y_pred), compiled into a model, and for a metric its object's
 * update_state() (after a first valid batch), result() and reset_state().
 */
function yFunctionCalls(fx: Fixtures, name: string): Call[] {
  const y = Y_FUNCTIONS[name] ?? {};
  const [t, p] = y.data ? y.data(fx) : lossData(fx, name);
  const required = y.required ?? {};
  const f = (api as Record<string, any>)[name];
  const extra = [
    ...(y.extra?.(fx) ?? []),
    ...("axis" in f(required).config && !y.data
      ? [{ label: "an axis y_pred does not have", options: { axis: 5 }, names: ["axis"] }]
      : []),
    ...(y.data
      ? []
      : [{ label: "y_pred of another shape", args: { 1: (g: Fixtures) => g.mat(2, 2) }, names: ["y_true", "y_pred"] }]),
  ];
  const positional = [
    { index: 0, name: "y_true", kind: y.trueKind ?? (/sparse/.test(name) ? "labels" : "data") },
    { index: 1, name: "y_pred", kind: "data" },
  ] as const;
  const weights = Array.from({ length: y.samples ?? 3 }, (_, i) => [1, 0.5, 2, 1][i % 4]);
  return [
    { label: "computed", args: [t, p, { ...required }], options: 2, positional, extra },
    {
      label: "compiled",
      args: [{ ...required, ...y.compiledArgs }],
      options: 0,
      use: (spec) =>
        y.compiled
          ? y.compiled(fx, spec)
          : compileWith(
              fx,
              name.startsWith("loss_") ? { loss: spec } : { metrics: [spec] },
              targetKind(name),
              api.test_on_batch,
            ),
      alsoFn: ["test_on_batch"],
    },
    ...(name.startsWith("metric_")
      ? [
          {
            label: "update_state",
            args: [t, p, { sample_weight: weights }],
            options: 2,
            invoke: (g: any, [yt, yp, options]: unknown[]) =>
              g({ ...required })
                .update_state(t, p)
                .update_state(yt, yp, options),
            use: (m: api.MetricSpec) => [m.result(), m.reset_state().update_state(t, p).result()],
            positional,
            extra: [
              // Its options are update_state()'s: the function's own arguments are the computed call's.
              ...extra.filter((e) => !e.options),
              ...sampleWeightExtras(weights),
              ...(SIZED_BY_DATA.includes(name)
                ? [
                    {
                      label: "a batch of more columns than the first",
                      args: { 0: (g: Fixtures) => g.mat(3, 4), 1: (g: Fixtures) => g.mat(3, 4, 1) },
                      names: ["y_true", "y_pred"],
                    },
                  ]
                : []),
            ],
          },
        ]
      : []),
  ];
}

export const SIGNATURES: Record<string, Signature> = {
  ...Object.fromEntries(
    Object.entries(LAYERS).map(([name, l]) => [
      name,
      (fx: Fixtures): Call[] => [
        {
          label: "applied to data",
          args: [l.input(fx), l.args(fx)],
          options: 1,
          positional: [{ index: 0, name: MULTI_INPUT.test(name) ? "inputs" : "object", kind: l.kind ?? "data" }],
          use: dispose,
          extra: [
            ...(l.tooBig ? [{ label: "sizes too big for a tensor", options: l.tooBig, names: [], risky: true }] : []),
            ...(l.extra?.(fx) ?? []),
          ],
          // A cyclic record is a valid record of lambda arguments.
          skip: name === "layer_lambda" ? /`arguments` = a cyclic record/ : undefined,
        },
        ...(MULTI_INPUT.test(name)
          ? []
          : [
              {
                label: "a layer value called with options",
                args: [l.input(fx), { training: false }, l.args(fx)],
                options: 1,
                invoke: (f: any, [x, options, args]: unknown[]) => f(args)(x, options),
                positional: [],
                use: dispose,
              },
            ]),
        ...(MULTI_INPUT.test(name) || CELL.test(name)
          ? []
          : [
              {
                label: "added to a model and trained",
                args: [api.keras_model_sequential({ input_shape: shapeOf(l.input(fx)).slice(1) }), l.args(fx)],
                options: 1,
                trains: true,
                use: async (model: api.SequentialModel) => {
                  // A dense layer on top: a model whose output is its input cannot be trained (issue 9, 3.).
                  const m = api.layer_dense(model, { units: 1 });
                  const x = l.input(fx);
                  const y = await api.predict(m, x, { verbose: 0 });
                  return api.train_on_batch(api.compile(m, { optimizer: "sgd", loss: "mse" }), x, y);
                },
                alsoFn: ["predict", "train_on_batch"],
                skip: name === "layer_lambda" ? /`arguments` = a cyclic record/ : undefined,
              },
            ]),
      ],
    ]),
  ),
  rnn_cell_custom: (fx) => ({
    args: [
      {
        state_size: 2,
        build: (d: number) => [{ name: "kernel", shape: [d, 2] }],
        call: (x: any, [h]: any[], [k]: any[]) => {
          const y = fx.tf.tanh(fx.tf.add(fx.tf.matMul(x, k), h));
          return [y, [y]];
        },
      },
    ],
    options: 0,
    use: (cell) => dispose(api.layer_rnn(fx.x3, { cell })),
    alsoFn: ["layer_rnn"],
    extra: [
      { label: "`call` returning junk", options: { call: () => "a" }, names: ["call"] },
      { label: "`call` throwing", options: { call: boom }, names: ["call"] },
      {
        label: "`call` returning the wrong shapes",
        options: { call: (_x: any, s: any) => [fx.tf.ones([1, 1]), s] },
        names: ["call"],
      },
      { label: "`build` returning junk", options: { build: () => "a" }, names: ["build"] },
      { label: "`build` throwing", options: { build: boom }, names: ["build"] },
      {
        label: "`build` with a junk initializer",
        options: { build: (d: number) => [{ name: "k", shape: [d, 2], initializer: "bogus" }] },
        names: ["initializer"],
      },
    ],
  }),

  ...Object.fromEntries(
    Object.keys(api)
      .filter((n) => n.startsWith("activation_"))
      .map((name) => [
        name,
        (fx: Fixtures): Call => ({
          args: [
            fx.x4,
            ...(["activation_softmax", "activation_log_softmax", "activation_gelu"].includes(name) ? [{}] : []),
          ],
          options: ["activation_softmax", "activation_log_softmax", "activation_gelu"].includes(name) ? 1 : undefined,
          positional: [{ index: 0, name: "x", kind: "data" }],
          use: dispose,
        }),
      ]),
  ),
  ...Object.fromEntries(
    Object.keys(api)
      .filter((n) => n.startsWith("initializer_"))
      .map((name) => [
        name,
        (fx: Fixtures): Call => ({
          args: [{}],
          options: 0,
          use: (spec) => dispose(api.layer_dense(fx.x4, { units: 4, kernel_initializer: spec })),
        }),
      ]),
  ),
  regularizer_l1: (fx) => regularizerFactor(fx),
  regularizer_l2: (fx) => regularizerFactor(fx),
  regularizer_l1_l2: (fx) => ({
    args: [{ l1: 0.01, l2: 0.01 }],
    options: 0,
    skip: /as a number$/,
    use: (spec) => trainWith(fx, { kernel_regularizer: spec }),
  }),
  constraint_maxnorm: (fx) => ({ args: [{}], options: 0, use: (spec) => trainWith(fx, { kernel_constraint: spec }) }),
  constraint_unitnorm: (fx) => ({ args: [{}], options: 0, use: (spec) => trainWith(fx, { kernel_constraint: spec }) }),
  constraint_minmaxnorm: (fx) => ({
    args: [{}],
    options: 0,
    use: (spec) => trainWith(fx, { kernel_constraint: spec }),
  }),
  constraint_nonneg: (fx) => ({ args: [], use: (spec) => trainWith(fx, { kernel_constraint: spec }) }),

  ...Object.fromEntries(
    Object.keys(api)
      .filter((n) => n.startsWith("loss_") || n.startsWith("metric_"))
      .map((name) => [name, (fx: Fixtures) => yFunctionCalls(fx, name)]),
  ),
  ...Object.fromEntries(
    ["metric_mean", "metric_sum"].map((name) => [
      name,
      (): Call[] => [
        { label: "made", args: [{}], options: 0, use: (m) => m.update_state([1, 2, 3]).result() },
        {
          label: "update_state",
          args: [[1, 2, 3], { sample_weight: [1, 0.5, 2] }],
          options: 1,
          invoke: (f, [values, options]) => f().update_state([4]).update_state(values, options),
          use: (m) => m.result(),
          positional: [{ index: 0, name: "values", kind: "data" }],
          extra: sampleWeightExtras([1, 0.5, 2]),
        },
      ],
    ]),
  ),
  custom_metric: (fx) => {
    const [t, p] = lossData(fx, "custom_metric");
    return {
      args: ["max_error", (yt: any, yp: any) => fx.tf.max(fx.tf.abs(fx.tf.sub(yp, yt)), -1)],
      positional: [
        { index: 0, name: "name", kind: "a string" },
        { index: 1, name: "fn", kind: "function" },
      ],
      use: async (m) => {
        m.update_state(t, p).result();
        await compileWith(fx, { metrics: [m] }, "regression", api.test_on_batch);
      },
      alsoFn: ["test_on_batch"],
      extra: [
        { label: "`fn` returning junk", args: { 1: () => () => "a" }, names: ["fn"] },
        { label: "`fn` throwing", args: { 1: () => boom }, names: ["fn"] },
        { label: "`fn` returning a string tensor", args: { 1: (f) => () => f.tf.tensor(["a"]) }, names: ["fn"] },
      ],
    };
  },
  k_ctc_decode: (fx) => {
    const decode = (options: Record<string, unknown>, extra: Extra[]): Call => ({
      label: String(options.strategy ?? "greedy"),
      args: [fx.seq(2, 4, 3), [4, 3], options],
      options: 2,
      positional: [
        { index: 0, name: "inputs", kind: "data" },
        { index: 1, name: "sequence_lengths", kind: "data" },
      ],
      extra: [
        { label: "inputs of rank 2", args: { 0: (f) => f.mat(2, 3) }, names: ["inputs"] },
        { label: "inputs without steps", args: { 0: () => ({ data: [], shape: [2, 0, 3] }) }, names: ["inputs"] },
        { label: "a length beyond the time axis", args: { 1: () => [5, 3] }, names: ["sequence_lengths"] },
        { label: "a fractional length", args: { 1: () => [2.5, 3] }, names: ["sequence_lengths"] },
        { label: "a negative length", args: { 1: () => [-1, 3] }, names: ["sequence_lengths"] },
        { label: "one length for two samples", args: { 1: () => [4] }, names: ["sequence_lengths"] },
        { label: "lengths as a matrix", args: { 1: () => [[4], [3]] }, names: ["sequence_lengths"] },
        { label: "a blank beyond the classes", options: { mask_index: 3 }, names: ["mask_index"] },
        ...extra,
      ],
    });
    return [
      decode({}, []),
      decode({ strategy: "beam_search", beam_width: 4, top_paths: 2 }, [
        { label: "more paths than the beam", options: { top_paths: 5 }, names: ["top_paths"] },
        { label: "more paths than prefixes found", args: { 1: () => [0, 0] }, names: ["top_paths"] },
      ]),
    ];
  },
  ...Object.fromEntries(
    Object.keys(api)
      .filter((n) => n.startsWith("optimizer_"))
      .map((name) => [
        name,
        (fx: Fixtures): Call => ({
          args: [{}],
          options: 0,
          use: (spec) => compileWith(fx, { optimizer: spec }),
          alsoFn: ["train_on_batch"],
        }),
      ]),
  ),
  ...Object.fromEntries(
    Object.entries(REQUIRED_SCHEDULE).map(([name, required]) => [
      name,
      (fx: Fixtures): Call => ({
        args: [{ ...required }],
        options: 0,
        use: (s) => compileWith(fx, { optimizer: api.optimizer_sgd({ learning_rate: s }) }),
        alsoFn: ["train_on_batch"],
      }),
    ]),
  ),

  callback_early_stopping: (fx) => ({ args: [{}], options: 0, use: (cb) => fitWith(fx, [cb]), alsoFn: ["fit"] }),
  callback_reduce_lr_on_plateau: (fx) => ({
    args: [{}],
    options: 0,
    use: (cb) => fitWith(fx, [cb]),
    alsoFn: ["fit"],
  }),
  callback_progbar_logger: (fx) => ({ args: [{}], options: 0, use: (cb) => fitWith(fx, [cb]), alsoFn: ["fit"] }),
  callback_terminate_on_nan: (fx) => ({ args: [], use: (cb) => fitWith(fx, [cb]) }),
  callback_learning_rate_scheduler: (fx) => ({
    args: [(_epoch: number, lr: number) => lr, {}],
    options: 1,
    positional: [{ index: 0, name: "schedule", kind: "function" }],
    use: (cb) => fitWith(fx, [cb]),
    alsoFn: ["fit"],
  }),
  callback_lambda: (fx) => ({
    args: [{ on_epoch_end: () => undefined }],
    options: 0,
    use: (cb) => fitWith(fx, [cb]),
    alsoFn: ["fit"],
  }),
  callback_csv_logger: (fx) => ({
    args: [join(fx.out, "log.csv"), {}],
    options: 1,
    positional: [{ index: 0, name: "filename", kind: "path" }],
    use: (cb) => fitWith(fx, [cb]),
    alsoFn: ["fit"],
  }),

  compile: (fx) => ({
    args: [fx.gruModel, { optimizer: "sgd", loss: "mse" }],
    options: 1,
    positional: [MODEL],
    use: (m) => api.test_on_batch(m, fx.x3, fx.y1),
    alsoFn: ["test_on_batch"],
    extra: [
      { label: "a loss function returning junk", options: { loss: () => "a" }, names: ["loss"] },
      { label: "a loss function throwing", options: { loss: boom }, names: ["loss"] },
      { label: "a metric function returning junk", options: { metrics: [() => "a"] }, names: ["metrics"] },
    ],
  }),
  fit: (fx) => [...withTargets(fx, { epochs: 1, verbose: 0 }), withDataset(fx, { epochs: 1, verbose: 0 }, "fit")],
  evaluate: (fx) => [...withTargets(fx, { verbose: 0 }), withDataset(fx, { verbose: 0 }, "evaluate")],
  predict: (fx) => [
    {
      args: [fx.gruModel, fx.x3, { verbose: 0 }],
      options: 2,
      positional: [MODEL, { index: 1, name: "x", kind: "data" }],
    },
    {
      label: "a timeseries dataset",
      args: [fx.gruModel, windows(fx), { verbose: 0 }],
      options: 2,
      extra: [{ label: "`batch_size` given with a dataset", options: { batch_size: 2 }, names: ["batch_size"] }],
    },
  ],
  train_on_batch: (fx) =>
    withTargets(fx, {}).map((c, i) =>
      i
        ? c
        : { ...c, extra: [{ label: "a timeseries dataset", args: { 1: (f: Fixtures) => windows(f) }, names: ["x"] }] },
    ),
  test_on_batch: (fx) =>
    withTargets(fx, {}).map((c, i) =>
      i
        ? c
        : { ...c, extra: [{ label: "a timeseries dataset", args: { 1: (f: Fixtures) => windows(f) }, names: ["x"] }] },
    ),
  predict_on_batch: (fx) => ({
    args: [fx.gruModel, fx.x3],
    positional: [MODEL, { index: 1, name: "x", kind: "data" }],
    extra: [{ label: "a timeseries dataset", args: { 1: (f) => windows(f) }, names: ["x"] }],
  }),

  print_history: (fx) => ({ args: [fx.history], positional: [{ index: 0, name: "x", kind: "history" }] }),
  as_data_frame: (fx) => ({ args: [fx.history], positional: [{ index: 0, name: "x", kind: "history" }] }),
  plot_history: (fx) => ({
    args: [fx.history, {}],
    options: 1,
    positional: [{ index: 0, name: "x", kind: "history" }],
    extra: [
      { label: "a panel wider than canvases", options: { width: 20000 }, names: ["width"] },
      {
        label: "a PNG of too many pixels",
        options: { width: 16384, height: 16384, file: join(fx.out, "big.png") },
        names: ["width", "height"],
        risky: true,
      },
    ],
  }),
  summary: (fx) => ({
    args: [fx.gruModel, { print: false }],
    options: 1,
    positional: [{ ...MODEL, name: "model" }],
    extra: [
      {
        label: "a line longer than strings get",
        options: { line_length: 2 ** 28 },
        names: ["line_length"],
        risky: true,
      },
    ],
  }),

  get_weights: (fx) => ({ args: [fx.gruModel], positional: [MODEL_OR_LAYER] }),
  set_weights: (fx) => ({
    args: [fx.gruModel, api.get_weights(fx.gruModel)],
    positional: [MODEL_OR_LAYER, { index: 1, name: "weights", kind: "weights" }],
  }),
  count_params: (fx) => ({ args: [fx.gruModel], positional: [MODEL_OR_LAYER] }),
  get_layer: (fx) => ({ args: [fx.gruModel, { index: 1 }], options: 1, positional: [MODEL] }),
  pop_layer: (fx) => ({ args: [fx.gruModel], positional: [MODEL] }),
  freeze_weights: (fx) => ({ args: [fx.gruModel, { from: 1 }], options: 1, positional: [MODEL] }),
  unfreeze_weights: (fx) => ({ args: [fx.gruModel, { from: 1 }], options: 1, positional: [MODEL] }),
  get_config: (fx) => ({ args: [fx.gruModel], positional: [MODEL_OR_LAYER] }),
  from_config: (fx) => ({
    args: [JSON.parse(JSON.stringify(api.get_config(fx.gruModel)))],
    positional: [{ index: 0, name: "config", kind: "config" }],
  }),
  rnn_fused_status: (fx) => ({ args: [fx.gruModel, {}], options: 1, positional: [{ ...MODEL, name: "model" }] }),
  reset_states: (fx) => [
    { args: [fx.statefulModel], positional: [MODEL_OR_LAYER] },
    {
      label: "with states",
      args: [fx.statefulModel, [fx.mat(2, 2)]],
      positional: [{ index: 1, name: "states", kind: "states" }],
    },
  ],

  keras_model_sequential: () => ({
    args: [{ input_shape: [3, 2] }],
    options: 0,
    extra: [
      { label: "an input too big for a tensor", options: { input_shape: [65536, 65536] }, names: ["input_shape"] },
    ],
  }),
  keras_model: () => {
    const a = api.layer_input({ shape: [2] });
    return { args: [{ inputs: a, outputs: api.layer_dense(a, { units: 1 }) }], options: 0 };
  },
  layer_input: () => ({
    args: [{ shape: [2] }],
    options: 0,
    extra: [{ label: "an input too big for a tensor", options: { shape: [65536, 65536] }, names: ["shape"] }],
  }),
  keras_input: () => ({ args: [{ shape: [2] }], options: 0 }),

  state_size: () => ({
    args: [api.rnn_cell_lstm({ units: 2 })],
    positional: [{ index: 0, name: "cell", kind: "cell" }],
  }),
  output_size: () => ({
    args: [api.rnn_cell_lstm({ units: 2 })],
    positional: [{ index: 0, name: "cell", kind: "cell" }],
  }),
  get_initial_state: () => ({
    args: [api.rnn_cell_lstm({ units: 2 }), { batch_size: 2 }],
    options: 1,
    extra: [
      { label: "states too big for a tensor", options: { batch_size: 2 ** 30 }, names: ["batch_size"], risky: true },
    ],
    positional: [{ index: 0, name: "cell", kind: "cell" }],
    use: dispose,
  }),
  zero_state: () => ({
    args: [api.rnn_cell_lstm({ units: 2 }), 2, "float32"],
    extra: [{ label: "states too big for a tensor", args: { 1: () => 2 ** 30 }, names: ["batch_size"], risky: true }],
    positional: [
      { index: 0, name: "cell", kind: "cell" },
      { index: 1, name: "batch_size", kind: "a positive integer" },
      { index: 2, name: "dtype", kind: "dtype" },
    ],
    use: dispose,
  }),
  cell_call: (fx) => ({
    args: [api.rnn_cell_lstm({ units: 2 }), fx.mat(2, 2), undefined, {}],
    options: 3,
    positional: [
      { index: 0, name: "cell", kind: "cell" },
      { index: 1, name: "inputs", kind: "data" },
      { index: 2, name: "states", kind: "states" },
    ],
    use: dispose,
  }),
  convert_cudnn_weights: (fx) => {
    return {
      args: [api.get_weights(api.get_layer(fx.gruModel, { index: 1 })), "GRU"],
      positional: [
        { index: 0, name: "weights", kind: "weights" },
        { index: 1, name: "from", kind: "name" },
      ],
    };
  },
  adapt: () => ({
    args: [api.layer_text_vectorization(), ["the cat", "a dog"], { steps: null }],
    options: 2,
    positional: [
      { index: 0, name: "object", kind: "layer" },
      { index: 1, name: "data", kind: "texts" },
    ],
  }),
  get_vocabulary: () => ({
    args: [api.layer_string_lookup({ vocabulary: ["a"] }), {}],
    options: 1,
    positional: [{ index: 0, name: "object", kind: "layer" }],
  }),
  set_vocabulary: () => ({
    args: [api.layer_string_lookup(), ["a", "b"], {}],
    options: 2,
    positional: [
      { index: 0, name: "object", kind: "layer" },
      { index: 1, name: "vocabulary", kind: "texts" },
    ],
  }),
  layer_from_cudnn: () => ({
    args: [api.layer_cudnn_gru({ units: 2 })],
    positional: [{ index: 0, name: "layer", kind: "layer" }],
  }),
  layer_to_cudnn: () => ({
    args: [api.layer_gru({ units: 2 })],
    positional: [{ index: 0, name: "layer", kind: "layer" }],
  }),

  // Files: everything is written under fx.out (the sandbox); savers overwrite their own file.
  ...Object.fromEntries(
    (
      [
        ["save_model", "s.keras", (f: Fixtures) => f.saved.keras],
        ["save_model_weights", "s.weights.h5", (f: Fixtures) => f.saved.weights],
        ["save_model_config", "s.json", (f: Fixtures) => f.saved.config],
        ["save_model_tfjs", "s_tfjs", (f: Fixtures) => f.saved.tfjs],
      ] as const
    ).map(([name, file, existing]) => [
      name,
      (fx: Fixtures): Call => ({
        // tfjs-layers has no GRU with reset_after = TRUE: the tfjs format gets the classifier.
        args: [name === "save_model_tfjs" ? fx.classifier : fx.gruModel, join(fx.out, file), { overwrite: true }],
        options: 2,
        positional: [
          { index: 0, name: "model", kind: "model" },
          { index: 1, name: "filepath", kind: "path" },
        ],
        extra: [
          // model_to_json() writes an unbuilt model; save_model_tfjs() makes the folder it writes into.
          ...(name === "save_model_config"
            ? []
            : [{ label: "an unbuilt model", args: { 0: () => unbuilt() }, names: [] }]),
          ...(name === "save_model_tfjs"
            ? []
            : [
                {
                  label: "a file in a folder that does not exist",
                  args: { 1: (f: Fixtures) => join(f.out, "no", "such", file) },
                  names: [],
                },
              ]),
          {
            label: "an existing file without overwrite",
            options: { overwrite: false },
            args: { 1: existing },
            names: [],
          },
          ...(name === "save_model_tfjs"
            ? [{ label: "a path that is a file", args: { 1: (f: Fixtures) => f.saved.notAModel }, names: [] }]
            : [{ label: "a path that is a folder", args: { 1: (f: Fixtures) => f.saved.tfjs }, names: [] }]),
          ...(name === "save_model" || name === "save_model_weights"
            ? [
                {
                  label: "a path with another extension",
                  args: { 1: (f: Fixtures) => join(f.out, "m.txt") },
                  names: ["filepath"],
                },
              ]
            : []),
        ],
      }),
    ]),
  ),
  load_model: (fx) => [
    {
      args: [fx.saved.keras, {}],
      options: 1,
      positional: [{ index: 0, name: "model", kind: "path" }],
      extra: loadExtras(),
    },
    {
      label: "from bytes",
      args: [fx.bytes, { compile: false }],
      options: 1,
      extra: bytesExtras(),
    },
  ],
  unserialize_model: (fx) => ({
    args: [fx.bytes, {}],
    options: 1,
    positional: [{ index: 0, name: "model", kind: "bytes" }],
    extra: bytesExtras(),
  }),
  serialize_model: (fx) => ({
    args: [fx.gruModel, {}],
    options: 1,
    positional: [{ index: 0, name: "model", kind: "model" }],
    extra: [{ label: "an unbuilt model", args: { 0: () => unbuilt() }, names: [] }],
  }),
  load_model_weights: (fx) => ({
    args: [fx.gruModel, fx.saved.weights, {}],
    options: 2,
    positional: [
      { index: 0, name: "model", kind: "model" },
      { index: 1, name: "filepath", kind: "path" },
    ],
    extra: [
      ...loadExtras().map((e) => ({ ...e, args: { 1: e.args?.[0] } })),
      { label: "a model of other shapes", args: { 0: (f) => f.classifier }, names: [] },
      { label: "an unbuilt model", args: { 0: () => unbuilt() }, names: [] },
    ],
  }),
  load_model_config: (fx) => ({
    args: [fx.saved.config, {}],
    options: 1,
    positional: [{ index: 0, name: "filepath", kind: "path" }],
    extra: loadExtras(),
  }),
  load_model_tfjs: (fx) => ({
    args: [fx.saved.tfjs, {}],
    options: 1,
    positional: [{ index: 0, name: "filepath", kind: "path" }],
    extra: loadExtras(),
  }),
  model_to_json: (fx) => ({ args: [fx.gruModel], positional: [{ index: 0, name: "model", kind: "model" }] }),
  model_from_json: (fx) => ({
    args: [api.model_to_json(fx.gruModel), {}],
    options: 1,
    positional: [{ index: 0, name: "json", kind: "json" }],
    extra: JSON_CONTENT.map((text) => ({ label: `json ${text}`, args: { 0: () => text }, names: [] })),
  }),

  plot_model: (fx) => [
    {
      args: [fx.gruModel, {}],
      options: 1,
      positional: [{ index: 0, name: "model", kind: "model" }],
      extra: [
        { label: "a file of another kind", options: { to_file: join(fx.out, "m.pdf") }, names: ["to_file"] },
        {
          label: "a file in a folder that does not exist",
          options: { to_file: join(fx.out, "no", "m.svg") },
          names: [],
        },
        {
          label: "a model without layers",
          args: { 0: () => api.keras_model_sequential({ input_shape: [2] }) },
          names: [],
        },
      ],
    },
  ],
  callback_tensorboard: (fx) => ({
    args: [join(fx.out, "tb"), { histogram_freq: 1, write_images: true, update_freq: "batch" }],
    options: 1,
    positional: [{ index: 0, name: "log_dir", kind: "path" }],
    use: (cb) => fitWith(fx, [cb]),
    alsoFn: ["fit"],
    extra: [
      { label: "profiling", options: { profile_batch: [1, 2] }, names: ["profile_batch"] },
      { label: "embeddings", options: { embeddings_freq: 1 }, names: ["embeddings_freq"] },
      { label: "log_dir given twice", options: { log_dir: join(fx.out, "tb2") }, names: ["log_dir"] },
      { label: "a log_dir that is a file", args: { 0: (f) => f.saved.notAModel }, names: [] },
    ],
  }),

  // Data utilities.
  pad_sequences: () => ({
    args: [[[1], [2, 3], [4, 5, 6]], { maxlen: 2 }],
    options: 1,
    positional: [{ index: 0, name: "sequences", kind: "sequences" }],
    extra: [
      { label: "samples of different shapes", args: { 0: () => [[[1, 2]], [[3]]] }, names: [] },
      { label: "an integer dtype with value NaN", options: { value: NaN }, names: ["value"] },
      { label: "value Infinity in int32", options: { value: Infinity }, names: ["value"] },
      { label: "a result too big for a tensor", options: { maxlen: 2 ** 30 }, names: ["maxlen"], risky: true },
    ],
  }),
  to_categorical: () => ({
    args: [[0, 2, 1], { num_classes: 3 }],
    options: 1,
    positional: [{ index: 0, name: "y", kind: "class indices" }],
    extra: [
      { label: "a class beyond num_classes", args: { 0: () => [0, 3] }, names: [] },
      {
        label: "too many values for a tensor",
        options: { num_classes: 2 ** 30 },
        args: { 0: () => [0, 1, 2] },
        names: ["num_classes"],
        risky: true,
      },
    ],
  }),
  normalize: (fx) => ({
    args: [fx.mat(3, 2), { axis: -1, order: 2 }],
    options: 1,
    positional: [{ index: 0, name: "x", kind: "data" }],
    extra: [{ label: "an axis x does not have", options: { axis: 2 }, names: ["axis"] }],
  }),
  timeseries_dataset_from_array: (fx) => ({
    args: [fx.mat(10, 2), fx.mat(10, 1), { sequence_length: 3, batch_size: 4 }],
    options: 2,
    positional: [
      { index: 0, name: "data", kind: "data" },
      { index: 1, name: "targets", kind: "data" },
    ],
    use: (ds) => api.fit(fx.gruModel, ds, { epochs: 1, verbose: 0 }),
    alsoFn: ["fit"],
    extra: [
      { label: "windows longer than the data", options: { sequence_length: 11 }, names: [] },
      { label: "start_index past the data", options: { start_index: 10 }, names: ["start_index"] },
      { label: "end_index before start_index", options: { start_index: 5, end_index: 4 }, names: ["end_index"] },
    ],
  }),
  timeseries_generator: (fx) => ({
    args: [fx.mat(10, 2), fx.mat(10, 1), { length: 3, batch_size: 4 }],
    options: 2,
    positional: [
      { index: 0, name: "data", kind: "data" },
      { index: 1, name: "targets", kind: "data" },
    ],
    use: (gen) => api.fit(fx.gruModel, gen, { epochs: 1, verbose: 0 }),
    alsoFn: ["fit"],
    extra: [
      { label: "targets of another length", args: { 1: (f) => f.mat(9, 1) }, names: ["targets"] },
      { label: "end_index past the data", options: { end_index: 10 }, names: ["end_index"] },
      { label: "no row left for a sample", options: { start_index: 8 }, names: [] },
    ],
  }),
  text_tokenizer: () => ({
    args: [{ num_words: 10 }],
    options: 0,
    use: (tok) => api.texts_to_matrix(api.fit_text_tokenizer(tok, ["a b", "b c"]), ["a c"], { mode: "tfidf" }),
    extra: [{ label: "an empty split", options: { split: "" }, names: ["split"] }],
  }),
  fit_text_tokenizer: (fx) => ({
    args: [fx.tokenizer, ["the cat", "a dog"]],
    positional: [
      { index: 0, name: "tokenizer", kind: "tokenizer" },
      { index: 1, name: "texts", kind: "texts" },
    ],
  }),
  texts_to_sequences: (fx) => ({
    args: [fx.tokenizer, ["the cat", "a dog"]],
    positional: [
      { index: 0, name: "tokenizer", kind: "tokenizer" },
      { index: 1, name: "texts", kind: "texts" },
    ],
    extra: [{ label: "an unfitted tokenizer", args: { 0: () => api.text_tokenizer() }, names: [] }],
  }),
  texts_to_matrix: (fx) => ({
    args: [fx.tokenizer, ["the cat", "a dog"], { mode: "count" }],
    options: 2,
    positional: [
      { index: 0, name: "tokenizer", kind: "tokenizer" },
      { index: 1, name: "texts", kind: "texts" },
    ],
    extra: [
      { label: "an unfitted tokenizer", args: { 0: () => api.text_tokenizer() }, names: [] },
      {
        label: "a matrix too big for a tensor",
        args: {
          0: () => api.fit_text_tokenizer(api.text_tokenizer({ num_words: 2 ** 30 }), ["a"]),
          1: () => ["a", "b", "c"],
        },
        names: ["num_words"],
        risky: true,
      },
    ],
  }),
  sequences_to_matrix: (fx) => ({
    args: [fx.tokenizer, [[1, 2], [3]], { mode: "binary" }],
    options: 2,
    positional: [
      { index: 0, name: "tokenizer", kind: "tokenizer" },
      { index: 1, name: "sequences", kind: "sequences" },
    ],
    extra: [
      { label: "a negative index", args: { 1: () => [[1, -2]] }, names: ["sequences"] },
      { label: "a fractional index", args: { 1: () => [[1.5]] }, names: ["sequences"] },
      { label: "sequences of vectors", args: { 1: () => [[[1, 2]]] }, names: ["sequences"] },
      { label: "an unfitted tokenizer without num_words", args: { 0: () => api.text_tokenizer() }, names: [] },
    ],
  }),
  ...Object.fromEntries(
    [
      "dataset_mnist",
      "dataset_fashion_mnist",
      "dataset_imdb",
      "dataset_imdb_word_index",
      "dataset_reuters",
      "dataset_reuters_word_index",
      "dataset_boston_housing",
    ].map((name) => [
      name,
      (): Call => ({
        args: [{}],
        options: 0,
        extra: ["dataset_fashion_mnist"].includes(name)
          ? []
          : [
              { label: "a path with a folder", options: { path: "../x.npz" }, names: ["path"] },
              { label: "a path that is a folder", options: { path: ".." }, names: ["path"] },
              // Keras's reuters loader returns empty arrays then; its imdb loader refuses.
              ...(name === "dataset_imdb"
                ? [{ label: "a maxlen that keeps nothing", options: { maxlen: 1 }, names: ["maxlen"] }]
                : []),
            ],
      }),
    ]),
  ),
  set_random_seed: () => ({ args: [42], positional: [{ index: 0, name: "seed", kind: "seed" }] }),

  backend_info: () => ({ args: [] }),
  backend_ready: () => ({ args: [] }),
  use_backend: () => ({
    args: [api.backend_info().backend],
    positional: [{ index: 0, name: "name", kind: "name" }],
  }),
};
