/**
 * The kinds of bad input issue 9 found (part 4), one case each: every one is now a KerasError that names
 * the public function and the argument. test/fuzz covers the classes at large; these pin the findings.
 */
import { expect } from "chai";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import * as api from "../src/index.js";
import { tf } from "../src/backend/tf.js";
import { KerasError } from "../src/errors.js";
import { expectKerasError } from "./training/helpers.js";
import { temporaryFolders } from "./helpers/temporary_folders.js";

const x4 = [
  [0.1, 0.2, 0.3, 0.4],
  [0.5, 0.6, 0.7, 0.8],
  [0.9, 1.0, 1.1, 1.2],
];
const seq = (n: number, t: number, f: number) =>
  Array.from({ length: n }, (_, i) =>
    Array.from({ length: t }, (_, j) => Array.from({ length: f }, (_, k) => i + j + k)),
  );
const denseModel = () =>
  api.compile(api.layer_dense(api.keras_model_sequential({ input_shape: [4] }), { units: 1 }), {
    optimizer: "sgd",
    loss: "mse",
  });
const classifier = () =>
  api.compile(api.layer_dense(api.keras_model_sequential({ input_shape: [4] }), { units: 3, activation: "softmax" }), {
    optimizer: "sgd",
    loss: "sparse_categorical_crossentropy",
  });

/** `f` throws (or rejects with) a KerasError of `fn` whose message matches every pattern. */
async function refuses(fn: string, f: () => unknown, ...patterns: RegExp[]): Promise<KerasError> {
  const e = await expectKerasError(f, ...patterns);
  expect(e.fn).to.equal(fn);
  return e;
}

describe("bad input is a KerasError naming the function and the argument (issue 9)", function () {
  const tmp = temporaryFolders("tskeras-bad-");
  this.timeout(60_000);
  before(() => api.backend_ready());

  describe("records of named arguments", () => {
    it("a key named like an Object.prototype member is an unknown argument", async () => {
      for (const key of ["constructor", "toString", "valueOf", "hasOwnProperty"])
        await refuses(
          "layer_dense",
          () => api.layer_dense({ units: 2, [key]: 1 } as any),
          new RegExp(`unknown argument \`${key}\``),
        );
      await refuses(
        "fit",
        () => api.fit(denseModel(), x4, [[1], [2], [3]], JSON.parse('{"__proto__": 1}')),
        /unknown argument `__proto__`/,
      );
      await refuses(
        "layer_dense",
        // @ts-expect-error: not an activation name (the test of the run-time check)
        () => api.layer_dense({ units: 2, activation: "constructor" }),
        /`activation` must be/,
      );
      await refuses(
        "compile",
        () => api.compile(denseModel(), { optimizer: "constructor", loss: "mse" }),
        /`optimizer` "constructor" is not known/,
      );
    });

    it("a Map, a Date or a class instance is not a record of arguments", async () => {
      await refuses(
        "layer_dense",
        () => api.layer_dense(new Map([["units", 2]]) as any),
        /arguments must be a record of named arguments, got a Map/,
      );
      await refuses("callback_lambda", () => api.callback_lambda(new Map() as any), /got a Map/);
      await refuses(
        "fit",
        () => api.fit(denseModel(), x4, [[1], [2], [3]], { class_weight: new Date() as any, verbose: 0 }),
        /`class_weight` must be/,
      );
    });

    it("cyclic values are described, not followed", async () => {
      const cyclic: any[] = [1];
      cyclic.push(cyclic);
      await refuses(
        "layer_dense",
        () => api.layer_dense({ units: cyclic as any }),
        /`units` must be a positive integer, got \[1, \[1, \[1, \[\.\.\.\]\]\]\]/,
      );
      await refuses(
        "layer_dense",
        () => api.layer_dense(cyclic, { units: 2 }),
        /`object` must be a rectangular nested array of numbers/,
      );
      const deep: any[] = [];
      deep.push(deep);
      await refuses(
        "predict",
        () => api.predict(denseModel(), deep, { verbose: 0 }),
        /`x` must be a rectangular nested array of numbers: it nests deeper than 32 levels \(or contains itself\)/,
      );
    });
  });

  describe("absurd sizes are refused before anything is allocated", () => {
    it("integers are int32 (R's integers)", async () => {
      await refuses(
        "layer_dense",
        () => api.layer_dense({ units: 1e12 }),
        /`units` must be a positive integer of at most 2147483647 \(R's integers are 32-bit\), got 1000000000000/,
      );
      await refuses("zero_state", () => api.zero_state(api.rnn_cell_gru({ units: 2 }), 1e12), /`batch_size`/);
      await refuses("summary", () => api.summary(denseModel(), { line_length: 1e12 }), /`line_length`/);
      await refuses("metric_auc", () => api.metric_auc({ num_thresholds: 1e12 }), /`num_thresholds`/);
    });

    it("shapes and weights over 2^31 - 1 elements are refused when the layer is composed", async () => {
      await refuses(
        "layer_repeat_vector",
        () => api.layer_repeat_vector(api.keras_model_sequential({ input_shape: [4] }), { n: 2 ** 30 }),
        /its output shape \(None, 1073741824, 4\) holds 4294967296 values, more than a tensor can \(2147483647\)/,
      );
      await refuses(
        "layer_dense",
        () => api.layer_dense(api.keras_model_sequential({ input_shape: [4] }), { units: 2 ** 30 }),
        /weight "kernel" would have shape \(4, 1073741824\): 4294967296 values/,
      );
      await refuses(
        "keras_model_sequential",
        () => api.keras_model_sequential({ input_shape: [65536, 65536] }),
        /`input_shape` is a shape of 4294967296 values per sample/,
      );
      await refuses(
        "zero_state",
        () => api.zero_state(api.rnn_cell_gru({ units: 4 }), 2 ** 30),
        /`batch_size` = 1073741824 makes a state of 1073741824 x 4/,
      );
    });

    it("summary, AUC and plots have the limits of what holds their result", async () => {
      await refuses(
        "summary",
        () => api.summary(denseModel(), { line_length: 2 ** 28, print: false }),
        /`line_length` = 268435456 makes a table of more than 536870888 characters/,
      );
      await refuses(
        "metric_auc",
        () => api.metric_auc({ num_thresholds: 2 ** 25 }),
        /`num_thresholds` must be an integer in \[2, 16777216\]/,
      );
      await refuses(
        "metric_auc",
        () => api.metric_auc(new Array(256).fill(1), new Array(256).fill(0.5), { num_thresholds: 2 ** 24 }),
        /`num_thresholds` = 16777216 compared with 256 predictions/,
      );
      const { history } = await api.fit(denseModel(), x4, [[1], [2], [3]], { epochs: 2, verbose: 0 });
      await refuses("plot_history", () => api.plot_history(history, { width: 1e12 }), /`width`/);
      await refuses(
        "plot_history",
        () => api.plot_history(history, { width: 20000 }),
        /`width` must be a positive integer of at most 16384/,
      );
      const dir = tmp();
      await refuses(
        "plot_history",
        () => api.plot_history(history, { width: 16384, height: 16384, file: join(dir, "h.png") }),
        /the PNG would be \d+ x \d+ pixels, more than 67108864/,
      );
      await refuses(
        "plot_history",
        () => api.plot_history(history, { file: "" }),
        /`file` must be a file path \(a non-empty string\)/,
      );
      expect(readdirSync(dir)).to.deep.equal([]);
    });
  });

  describe("data", () => {
    it("BigInt arrays, string tensors, strings and nulls inside arrays, ragged and sparse arrays", async () => {
      await refuses(
        "layer_dense",
        // @ts-expect-error: BigInt data is not data (the test of the run-time check)
        () => api.layer_dense(BigInt64Array.of(1n, 2n), { units: 2 }),
        /`object` must hold numbers, got a BigInt64Array/,
      );
      await refuses(
        "activation_relu",
        () => api.activation_relu(tf.tensor(["a", "b"])),
        /`x` must be a numeric tensor, got a string tensor/,
      );
      await refuses(
        "predict",
        () => api.predict(denseModel(), [[1, 2, "a", 4]], { verbose: 0 }),
        /`x` must be a rectangular nested array of numbers: element \[1\]\[3\] is "a", not a number/,
      );
      await refuses(
        "fit",
        () => api.fit(denseModel(), x4, [[1], [null], [3]], { verbose: 0 }),
        /`y` must be a rectangular nested array of numbers: element \[2\]\[1\] is null, not a number/,
      );
      await refuses(
        "layer_dense",
        () => api.layer_dense([[1, 2], [3]], { units: 2 }),
        /`object` must be a rectangular nested array of numbers: it is not rectangular: element \[2\] is an array of 1/,
      );
      const holey = [[1, 2, 3]];
      delete holey[0][1];
      await refuses(
        "layer_dense",
        () => api.layer_dense(holey, { units: 2 }),
        /element \[1\]\[2\] is missing \(a sparse array\)/,
      );
    });

    it("sparse labels outside the classes are refused (they trained with loss 0)", async () => {
      await refuses(
        "fit",
        () => api.fit(classifier(), x4, [[0], [3], [1]], { verbose: 0 }),
        /`y` holds 3 at \[2, 1\], not an index in 0\.\.2 \(the output's number of classes = 3\)/,
      );
      await refuses("evaluate", () => api.evaluate(classifier(), x4, [[0], [-1], [1]], { verbose: 0 }), /`y` holds -1/);
      await refuses(
        "loss_sparse_categorical_crossentropy",
        () =>
          api.loss_sparse_categorical_crossentropy(
            [0, 5],
            [
              [0.5, 0.5],
              [0.5, 0.5],
            ],
          ),
        /`y_true` holds 5/,
      );
      // ignore_class labels are allowed
      const ignoring = api.compile(classifier(), {
        optimizer: "sgd",
        loss: api.loss_sparse_categorical_crossentropy({ ignore_class: -1 }),
      });
      await api.fit(ignoring, x4, [[0], [-1], [1]], { verbose: 0 });
    });

    it("embedding indices outside input_dim are refused, eagerly and in training", async () => {
      await refuses(
        "layer_embedding",
        () => api.layer_embedding([[0, 5]], { input_dim: 5, output_dim: 2 }),
        /`object` holds 5 at \[1, 2\], not an index in 0\.\.4 \(`input_dim` = 5\)/,
      );
      const model = api.compile(
        api.layer_dense(
          api.layer_flatten(
            api.layer_embedding(api.keras_model_sequential({ input_shape: [2] }), { input_dim: 5, output_dim: 2 }),
          ),
          { units: 1 },
        ),
        { optimizer: "sgd", loss: "mse" },
      );
      await refuses(
        "fit",
        () =>
          api.fit(
            model,
            [
              [0, 1],
              [7, 2],
            ],
            [[1], [2]],
            { verbose: 0 },
          ),
        /`x` holds 7 at \[2, 1\], not an index in 0\.\.4 \(`input_dim` = 5\) \(fed to layer "embedding"\)/,
      );
    });

    it("zero samples are refused (the history was NaN)", async () => {
      await refuses("fit", () => api.fit(denseModel(), [], [], { verbose: 0 }), /`x` has no samples/);
      await refuses(
        "evaluate",
        () =>
          api.evaluate(
            denseModel(),
            { data: new Float32Array(0), shape: [0, 4] },
            { data: new Float32Array(0), shape: [0, 1] },
            { verbose: 0 },
          ),
        /`x` has no samples/,
      );
    });

    it("a bad validation_data is reported as validation_data", async () => {
      await refuses(
        "fit",
        () => api.fit(denseModel(), x4, [[1], [2], [3]], { validation_data: [[[1, "a", 3, 4]], [[1]]], verbose: 0 }),
        /`validation_data\[\[1\]\]` must be a rectangular nested array of numbers/,
      );
    });

    it("set_weights with strings says what is wrong", async () => {
      const w = api.get_weights(denseModel());
      await refuses(
        "set_weights",
        () => api.set_weights(denseModel(), [[["a"], ["b"], ["c"], ["d"]], w[1]]),
        /`weights`: weight 1 of layer "dense" \(kernel\) must be a rectangular nested array of numbers: element \[1\]\[1\] is "a", not a number/,
      );
    });
  });

  describe("user functions and specs", () => {
    it("junk from an activation, initializer, regularizer or constraint names the argument", async () => {
      await refuses(
        "layer_dense",
        // @ts-expect-error: an activation returns a tensor (the test of the run-time check)
        () => api.layer_dense(x4, { units: 2, activation: () => "a" }),
        /layer "dense": `activation` \(a function\) must return a numeric tensor, got "a"/,
      );
      await refuses(
        "layer_dense",
        () => api.layer_dense(x4, { units: 2, kernel_initializer: () => [1] }),
        /`kernel_initializer` \(a function of the shape\) must return 8 numbers for shape \[4, 2\], got \[1\]/,
      );
      const boom = new Error("boom");
      const e = await refuses(
        "layer_dense",
        () =>
          api.layer_dense(x4, {
            units: 2,
            activation: () => {
              throw boom;
            },
          }),
        /`activation` \(a function\) failed: boom/,
      );
      expect(e.cause).to.equal(boom);
      const train = (args: Record<string, unknown>) =>
        api.train_on_batch(
          api.compile(api.layer_dense(api.keras_model_sequential({ input_shape: [4] }), { units: 1, ...args }), {
            optimizer: "sgd",
            loss: "mse",
          }),
          x4,
          [[1], [2], [3]],
        );
      await refuses(
        "train_on_batch",
        () => train({ kernel_regularizer: () => "a" }),
        /`kernel_regularizer` \(a function of the weights\) must return a numeric tensor, got "a"/,
      );
      await refuses(
        "train_on_batch",
        () => train({ kernel_constraint: () => tf.ones([7]) }),
        /`kernel_constraint` \(a function of the weights\) must return a tensor of the weights' shape \[4, 1\], got shape \[7\]/,
      );
    });

    it("layer_lambda's functions and custom losses and metrics are checked too (found by the fuzz)", async () => {
      await refuses(
        "layer_lambda",
        () => api.layer_lambda(x4, { f: () => tf.ones([7]), output_shape: [4] }),
        /`f` returned shape \(7,\) where `output_shape` gives \(3, 4\)/,
      );
      await refuses(
        "layer_lambda",
        () => api.layer_lambda(x4, { f: (t: any) => t, output_shape: () => "a" as any }),
        /`output_shape` \(a function of the input shape\) must return a shape/,
      );
      await refuses(
        "layer_lambda",
        () => api.layer_lambda(x4, { f: (t: any) => t, mask: () => "a" as any }),
        /`mask` \(a function\) must return a tensor or null, got "a"/,
      );
      await refuses(
        "fit",
        () =>
          api.fit(api.compile(denseModel(), { optimizer: "sgd", loss: () => "a" }), x4, [[1], [2], [3]], {
            verbose: 0,
          }),
        /`loss` \(a function\) must return a numeric tensor, got "a"/,
      );
      await refuses(
        "evaluate",
        () =>
          api.evaluate(
            api.compile(denseModel(), { optimizer: "sgd", loss: "mse", metrics: [() => "a"] }),
            x4,
            [[1], [2], [3]],
            { verbose: 0 },
          ),
        /`metrics` \(a function\) must return a numeric tensor, got "a"/,
      );
    });

    it("initializer names are own names; the orthogonal initializer needs a matrix", async () => {
      await refuses(
        "layer_dense",
        // @ts-expect-error: not an initializer name (the test of the run-time check)
        () => api.layer_dense({ units: 2, kernel_initializer: "constructor" }),
        /`kernel_initializer` must be an initializer name/,
      );
      await refuses(
        "layer_dense",
        () => api.layer_dense(x4, { units: 2, bias_initializer: "orthogonal" }),
        /`bias_initializer`: the Orthogonal initializer needs a weight of rank 2 or more, got shape \[2\]/,
      );
    });

    it("{ class_name, config } records are checked like their functions", async () => {
      await refuses(
        "layer_dense",
        () => api.layer_dense({ units: 2, kernel_regularizer: { class_name: "Bogus", config: {} } as any }),
        /`kernel_regularizer` names an unknown regularizer class "Bogus"/,
      );
      await refuses(
        "layer_dense",
        () => api.layer_dense({ units: 2, kernel_regularizer: { class_name: "L1", config: { l1: -1 } } as any }),
        /`kernel_regularizer` is not a valid L1 regularizer: `l1` must be a non-negative number, got -1/,
      );
      await refuses(
        "layer_dense",
        () => api.layer_dense({ units: 2, kernel_initializer: { class_name: "Constant", config: { value: "abc" } } }),
        /`kernel_initializer` is not a valid Constant initializer: `value` must be a finite number, got "abc"/,
      );
      await refuses(
        "layer_dense",
        () =>
          api.layer_dense({
            units: 2,
            kernel_initializer: { class_name: "VarianceScaling", config: { mode: "bogus" } },
          }),
        /`mode` must be one of "fan_in", "fan_out", "fan_avg", got "bogus"/,
      );
      await refuses(
        "layer_dense",
        () => api.layer_dense({ units: 2, kernel_constraint: { class_name: "Bogus", config: {} } as any }),
        /`kernel_constraint` names an unknown constraint class "Bogus"/,
      );
    });

    it("Keras 3.15's input_axes / output_axes of the variance-scaling initializers: null is their default, others are not computed here", async () => {
      const glorot = (axes: unknown) =>
        api.layer_dense({
          units: 2,
          kernel_initializer: { class_name: "GlorotUniform", config: { seed: 1, input_axes: axes, output_axes: null } },
        });
      expect(glorot(null).config.kernel_initializer).to.deep.equal({
        class_name: "GlorotUniform",
        config: { seed: 1 },
      });
      await refuses("layer_dense", () => glorot([0]), /`kernel_initializer` .*unknown argument `input_axes`/);
    });
  });

  describe("arguments accepted silently before", () => {
    it("constants for a built-in recurrent layer, and states for a layer that is not recurrent", async () => {
      await refuses(
        "layer_gru",
        () => api.layer_gru({ units: 2 })(seq(2, 3, 2), { constants: [[[1], [2]]] }),
        /`constants`: this cell does not take constants/,
      );
      await refuses(
        "layer_dense",
        () => api.layer_dense({ units: 2 })(x4, { initial_state: [[1, 2]] }),
        /calling layer "dense": `initial_state` is for recurrent layers/,
      );
    });

    it('trainable = "yes", a metric dtype "float33"', async () => {
      await refuses(
        "layer_dense",
        () => api.layer_dense({ units: 2, trainable: "yes" as any }),
        /`trainable` must be TRUE or FALSE/,
      );
      const a = api.layer_input({ shape: [2] });
      await refuses(
        "keras_model",
        () => api.keras_model({ inputs: a, outputs: api.layer_dense(a, { units: 1 }), trainable: "yes" as any }),
        /`trainable` must be TRUE or FALSE/,
      );
      await refuses(
        "metric_binary_accuracy",
        () => api.metric_binary_accuracy({ dtype: "float33" }),
        /`dtype` must be one of "float32" or null, got "float33"/,
      );
    });

    it("an argument past the last one a layer, loss or metric function takes (JavaScript dropped it)", async () => {
      await refuses(
        "layer_dense",
        () => (api.layer_dense as any)(x4, { units: 2 }, { units: 3 }),
        /^layer_dense\(\): unused argument 3, \{"units":3\}: call it as layer_dense\(args\) or layer_dense\(object, args\)/,
      );
      await refuses(
        "bidirectional",
        () => (api.bidirectional as any)(seq(2, 3, 2), { layer: api.layer_gru({ units: 2 }) }, 1),
        /unused argument 3, 1: call it as bidirectional\(args\) or bidirectional\(object, args\)/,
      );
      await refuses(
        "loss_mean_squared_error",
        () => (api.loss_mean_squared_error as any)([[1]], [[2]], {}, { reduction: "sum" }),
        /unused argument 4, \{"reduction":"sum"\}/,
      );
      await refuses(
        "metric_auc",
        () => (api.metric_auc as any)([1, 0], [0.5, 0.5], undefined, 2),
        /unused argument 4, 2: call it as metric_auc\(args\) or metric_auc\(y_true, y_pred, args\)/,
      );
      // Trailing undefineds are absent arguments.
      expect((api.layer_dense as any)({ units: 2 }, undefined).name).to.match(/^dense/);
    });

    it("an argument past the last one of any other export (callbacks, optimizers, fit, files, metric methods, ...)", async () => {
      const A = api as any;
      await refuses(
        "callback_early_stopping",
        () => A.callback_early_stopping({ patience: 2 }, { patience: 3 }),
        /^callback_early_stopping\(\): unused argument 2, \{"patience":3\}: call it as callback_early_stopping\(args\)$/,
      );
      await refuses(
        "callback_csv_logger",
        () => A.callback_csv_logger("log.csv", {}, 1),
        /^callback_csv_logger\(\): unused argument 3, 1: call it as callback_csv_logger\(filename, args\) or callback_csv_logger\(args\)$/,
      );
      await refuses(
        "optimizer_adam",
        () => A.optimizer_adam({ learning_rate: 0.1 }, 0.2),
        /^optimizer_adam\(\): unused argument 2, 0\.2: call it as optimizer_adam\(args\)$/,
      );
      await refuses(
        "initializer_glorot_uniform",
        () => A.initializer_glorot_uniform({ seed: 1 }, { seed: 2 }),
        /^initializer_glorot_uniform\(\): unused argument 2, \{"seed":2\}: call it as initializer_glorot_uniform\(args\)$/,
      );
      await refuses(
        "regularizer_l1_l2",
        () => A.regularizer_l1_l2({ l1: 0.1 }, 0.2),
        /^regularizer_l1_l2\(\): unused argument 2, 0\.2: call it as regularizer_l1_l2\(l1, l2\) or regularizer_l1_l2\(args\)$/,
      );
      await refuses(
        "regularizer_l1_l2",
        () => A.regularizer_l1_l2(0.1, 0.2, 0.3),
        /^regularizer_l1_l2\(\): unused argument 3, 0\.3: call it as regularizer_l1_l2\(l1, l2\)$/,
      );
      await refuses(
        "keras_model_sequential",
        () => A.keras_model_sequential({ input_shape: 2 }, [api.layer_dense({ units: 1 })]),
        /^keras_model_sequential\(\): unused argument 2, \[a function \(dense\)\]: call it as keras_model_sequential\(args\)$/,
      );
      const model = denseModel();
      await refuses(
        "compile",
        () => A.compile(model, { loss: "mse" }, { optimizer: "adam" }),
        /^compile\(\): unused argument 3, \{"optimizer":"adam"\}: call it as compile\(model, args\) or compile\(args\)$/,
      );
      await refuses(
        "fit",
        () => A.fit(model, x4, [[1], [2], [3]], { epochs: 1, verbose: 0 }, { batch_size: 2 }),
        /^fit\(\): unused argument 5, \{"batch_size":2\}: call it as fit\(model, x, y, args\)$/,
      );
      const dir = tmp();
      const file = join(dir, "m.keras");
      await refuses(
        "save_model",
        () => A.save_model(model, file, {}, "extra"),
        /^save_model\(\): unused argument 4, "extra": call it as save_model\(model, filepath, args\)$/,
      );
      expect(readdirSync(dir)).to.deep.equal([]);
      await refuses(
        "metric_mean",
        () => A.metric_mean().update_state([1, 2], {}, 3),
        /^metric_mean\(\): update_state\(\): unused argument 3, 3: call it as update_state\(values, args\)$/,
      );
      await refuses(
        "metric_auc",
        () => A.metric_auc().result(1),
        /^metric_auc\(\): result\(\): unused argument 1, 1: call it as result\(\)$/,
      );
      await refuses(
        "activation_relu",
        () => A.activation_relu([[1]], { alpha: 1 }),
        /^activation_relu\(\): unused argument 2, \{"alpha":1\}: call it as activation_relu\(x\)$/,
      );
      // Trailing undefineds are absent arguments; an async function rejects (it does not throw).
      expect(A.optimizer_sgd({}, undefined).class_name).to.equal("SGD");
      expect(A.regularizer_l1_l2({ l1: 0.1 }, undefined).config).to.deep.equal({ l1: 0.1, l2: 0.01 });
      const pending = A.predict(model, x4, { verbose: 0 }, 1);
      expect(pending).to.be.instanceOf(Promise);
      await refuses(
        "predict",
        () => pending,
        /^predict\(\): unused argument 4, 1: call it as predict\(model, x, args\)$/,
      );
    });

    it("a custom cell without states (it failed when run: `expected (1, undefined)`; Keras fails too)", async () => {
      await refuses(
        "rnn_cell_custom",
        () => api.rnn_cell_custom({ state_size: [], call: (x: unknown, s: unknown) => [x, s] } as any),
        /`state_size` must be a positive integer or a non-empty list of them, got \[\]/,
      );
    });

    it("a mask of the wrong shape (it reached the fused kernels as fused_rnn())", async () => {
      await refuses(
        "layer_gru",
        () => api.layer_gru({ units: 2 })(seq(2, 3, 2), { mask: [[1, 1]] }),
        /`mask` must have shape \(2, 3\) for an input of shape \(2, 3, 2\), got \(1, 2\)/,
      );
    });
  });

  describe("errors name the public function that was called", () => {
    it("evaluate, train_on_batch and test_on_batch name themselves, not fit", async () => {
      const model = api.compile(api.layer_dense(api.keras_model_sequential({ input_shape: [4] }), { units: 3 }), {
        optimizer: "sgd",
        loss: "mse",
      });
      for (const [fn, f] of [
        [
          "evaluate",
          () =>
            api.evaluate(
              model,
              x4,
              [
                [1, 2],
                [1, 2],
                [1, 2],
              ],
              { verbose: 0 },
            ),
        ],
        [
          "train_on_batch",
          () =>
            api.train_on_batch(model, x4, [
              [1, 2],
              [1, 2],
              [1, 2],
            ]),
        ],
        [
          "test_on_batch",
          () =>
            api.test_on_batch(model, x4, [
              [1, 2],
              [1, 2],
              [1, 2],
            ]),
        ],
      ] as const)
        await refuses(
          fn,
          f,
          /the mse loss cannot compare `y` of shape \[3, 2\] with the model's output of shape \[3, 3\]/,
        );
    });

    it("cell_call names itself and its arguments", async () => {
      const cell = api.rnn_cell_lstm({ units: 2 });
      await refuses(
        "cell_call",
        () => api.cell_call(cell, [[1, 2]], [[[1, 2, 3]]]),
        /`states` must be a list of 2 states/,
      );
      await refuses(
        "cell_call",
        () => api.cell_call(cell, [[1, 2]], [[[1, 2, 3]], [[1, 2]]]),
        /`states\[\[1\]\]` must be a \(batch, 2\) matrix, got shape \(1, 3\)/,
      );
      await refuses("cell_call", () => api.cell_call(cell, [1, 2]), /`inputs` must be a \(batch, features\) matrix/);
    });

    it("from_config names itself and `config` whichever function rebuilds the model", async () => {
      const config = {
        name: "m",
        layers: [
          { class_name: "InputLayer", config: { batch_shape: [null, -3] } },
          { class_name: "Dense", config: { units: 2 } },
        ],
      };
      await refuses(
        "from_config",
        () => api.from_config(config),
        /^from_config\(\): `config`: keras_model_sequential\(\): `input_batch_shape` must be a shape/,
      );
    });
  });

  describe("found by the fuzz in the files, data utilities, datasets and TensorBoard", () => {
    const dir = tmp();

    it("the file functions take a plain record of named arguments (a Map or a Date was read as none)", async () => {
      const file = join(dir, "m.keras");
      await api.save_model(denseModel(), file);
      for (const [fn, call] of [
        ["save_model", () => api.save_model(denseModel(), file, new Map([["overwrite", true]]) as any)],
        ["load_model", () => api.load_model(file, new Date(0) as any)],
        ["serialize_model", () => api.serialize_model(denseModel(), new Map() as any)],
        ["save_model_tfjs", () => api.save_model_tfjs(denseModel(), join(dir, "tfjs"), new Map() as any)],
        ["load_model_tfjs", () => api.load_model_tfjs(join(dir, "tfjs"), new Date(0) as any)],
      ] as const)
        await refuses(fn, call, /arguments must be a record of named arguments, got a (Map|Date)/);
      expect(readdirSync(dir)).to.deep.equal(["m.keras"]);
    });

    it("records inside arguments are plain records of what they hold", async () => {
      const file = join(dir, "m.keras");
      await refuses(
        "load_model",
        () => api.load_model(file, { custom_objects: new Map([["f", () => 1]]) as any }),
        /`custom_objects` must be a record of custom objects by name/,
      );
      await refuses(
        "load_model",
        () => api.load_model(file, { custom_objects: { f: 1 } as any }),
        /`custom_objects` must be a record of custom objects by name \(functions, rnn_cell_custom\(\) cells\), got/,
      );
      await refuses(
        "callback_tensorboard",
        () => api.callback_tensorboard(join(dir, "logs"), { embeddings_metadata: new Map() as any }),
        /`embeddings_metadata` must be a file name or a record of file names by layer or null, got a Map/,
      );
    });

    it("holes in sparse lists are refused (they were read as NaN, or failed raw)", async () => {
      /** `list` with element `i` deleted (a hole). */
      const holed = (list: unknown[], i: number): any => {
        const copy = [...list];
        delete copy[i];
        return copy;
      };
      await refuses("normalize", () => api.normalize(holed([1, 2, 3], 1)), /`x` must be .*element \[2\] is missing/);
      await refuses(
        "pad_sequences",
        () => api.pad_sequences(holed([[1], [1, 2]], 0)),
        /`sequences` must be a list of sequences/,
      );
      await refuses(
        "pad_sequences",
        () => api.pad_sequences([holed([1, 2, 3], 1)]),
        /`sequences\[\[1\]\]` must be .*element \[2\] is missing/,
      );
      const tok = api.fit_text_tokenizer(api.text_tokenizer(), ["a b"]);
      await refuses("fit_text_tokenizer", () => api.fit_text_tokenizer(tok, holed(["x", "a"], 0)), /`texts` must be/);
      await refuses(
        "texts_to_sequences",
        () => api.texts_to_sequences(tok, holed(["a", "x", "b"], 1)),
        /`texts` must be/,
      );
    });

    it("results of the data utilities that no tensor could hold are refused before they are allocated", async () => {
      await refuses(
        "to_categorical",
        () => api.to_categorical([0, 1, 2], { num_classes: 2 ** 30 }),
        /the result would hold 3221225472 values, more than a tensor can \(2147483647\): give a smaller `num_classes`/,
      );
      await refuses("pad_sequences", () => api.pad_sequences([[1], [2], [3]], { maxlen: 2 ** 30 }), /`maxlen`/);
      const tok = api.fit_text_tokenizer(api.text_tokenizer({ num_words: 2 ** 30 }), ["a"]);
      await refuses("texts_to_matrix", () => api.texts_to_matrix(tok, ["a", "b", "c"]), /`num_words`/);
    });

    it("plot_model's dpi is at most 10000 (Graphviz's sizes overflowed: a 2147483647 pt wide SVG)", async () => {
      await refuses(
        "plot_model",
        () => api.plot_model(denseModel(), { dpi: 2 ** 31 - 1 }),
        /`dpi` must be a positive integer of at most 10000, got 2147483647/,
      );
    });

    it("a Sequential config whose layers are not a list (it made a model without layers)", async () => {
      await refuses(
        "model_from_json",
        () => api.model_from_json('{"class_name": "Sequential", "config": {"name": "m", "layers": "x"}}'),
        /`layers` must be a list of layers, got "x"/,
      );
    });

    it("a timeseries dataset's targets and series are checked like arrays (class labels, embedding tokens)", async () => {
      const labels = api.timeseries_dataset_from_array(seq(1, 8, 4)[0], [0, 1, 2, 5, 1, 0, 2, 1], {
        sequence_length: 1,
      });
      const windowClassifier = api.compile(
        api.layer_dense(api.layer_flatten(api.keras_model_sequential({ input_shape: [1, 4] })), {
          units: 3,
          activation: "softmax",
        }),
        { optimizer: "sgd", loss: "sparse_categorical_crossentropy" },
      );
      await refuses(
        "fit",
        () => api.fit(windowClassifier, labels, { verbose: 0 }),
        /`targets` holds 5 at \[4\], not an index in 0..2/,
      );
      const tokens = api.compile(
        api.layer_dense(
          api.layer_flatten(
            api.layer_embedding(api.keras_model_sequential({ input_shape: [3] }), { input_dim: 5, output_dim: 2 }),
          ),
          { units: 1 },
        ),
        { optimizer: "sgd", loss: "mse" },
      );
      const series = api.timeseries_dataset_from_array([0, 1, 2, 9, 1, 2], [0, 1, 2, 3, 4, 5], { sequence_length: 3 });
      await refuses("evaluate", () => api.evaluate(tokens, series, { verbose: 0 }), /`x` holds 9 at \[4\]/);
    });
  });

  describe("found by the fuzz in the losses, metrics and metric objects of issue 12", () => {
    const onehot = [
      [1, 0, 0],
      [0, 1, 0],
    ];
    const probs = [
      [0.8, 0.1, 0.1],
      [0.2, 0.7, 0.1],
    ];

    it("a metric object's update_state() and result() errors are its function's, naming the argument", async () => {
      await refuses(
        "metric_auc",
        () => api.metric_auc().update_state(onehot, probs, { sample_weight: [1, 2, 3] }),
        /^metric_auc\(\): update_state\(\): auc: cannot use `y_true` of shape \[2, 3\] and `y_pred` of shape \[2, 3\] with `sample_weight` of shape \[3\]/,
      );
      await refuses("metric_mean", () => api.metric_mean().update_state([1, "a"]), /update_state\(\): `values`/);
      await refuses("metric_f1_score", () => api.metric_f1_score().result(), /^metric_f1_score\(\): result\(\):/);
      await refuses(
        "metric_r2_score",
        () =>
          api
            .metric_r2_score()
            .update_state([[1], [2]], [[1], [2]])
            .update_state([[1, 2]], [[1, 2]]),
        /`y_true` of shape \[1, 2\] and `y_pred` of shape \[1, 2\] give 9 sums where the metric holds 5/,
      );
    });

    it("update_state() checks sparse labels as the computed form does (they were counted silently)", async () => {
      await refuses(
        "metric_sparse_categorical_crossentropy",
        () => api.metric_sparse_categorical_crossentropy().update_state([0, 3], probs),
        /`y_true` holds 3/,
      );
      await refuses(
        "metric_sparse_categorical_accuracy",
        () => api.metric_sparse_categorical_accuracy().update_state([0, NaN], probs),
        /`y_true`/,
      );
    });

    it("an axis y_pred does not have names `axis` (it was a shape error of y_true and y_pred)", async () => {
      for (const [fn, f] of [
        ["loss_binary_crossentropy", () => api.loss_binary_crossentropy(onehot, probs, { axis: 5 })],
        ["loss_dice", () => api.loss_dice(onehot, probs, { axis: [0, 2] })],
        ["metric_cosine_similarity", () => api.metric_cosine_similarity(onehot, probs, { axis: -3 })],
        [
          "metric_iou",
          () => api.metric_iou(onehot, probs, { num_classes: 3, target_class_ids: [0], sparse_y_true: false, axis: 2 }),
        ],
      ] as const)
        await refuses(fn, f, /`axis` = -?\d is not an axis of `y_(true|pred)` of shape \[2, 3\]/);
      const model = api.compile(api.layer_dense(api.keras_model_sequential({ input_shape: [4] }), { units: 3 }), {
        optimizer: "sgd",
        loss: api.loss_categorical_crossentropy({ axis: 2 }),
      });
      await refuses("train_on_batch", () => api.train_on_batch(model, x4, [...onehot, [0, 0, 1]]), /`axis` = 2/);
    });

    it("an axis named twice names `axis` (TensorFlow refuses it in Keras; it was reduced once)", async () => {
      await refuses(
        "loss_dice",
        () => api.loss_dice(onehot, probs, { axis: [1, 1] }),
        /`axis` = \[1, 1\] names an axis twice/,
      );
      await refuses(
        "loss_tversky",
        () => api.loss_tversky(onehot, probs, { axis: [-1, 1] }),
        /`axis` = \[-1, 1\] names an axis twice \(of `y_pred` of shape \[2, 3\]\)/,
      );
    });

    it("arguments that do not fit the data are named", async () => {
      await refuses(
        "loss_categorical_focal_crossentropy",
        () => api.loss_categorical_focal_crossentropy(onehot, probs, { alpha: [0.25, 0.25] }),
        /`alpha` has 2 weights but `y_pred` of shape \[2, 3\] has 3 classes/,
      );
      await refuses(
        "metric_precision_at_recall",
        () => api.metric_precision_at_recall(onehot, probs, { recall: 0.5, class_id: 5 }),
        /`class_id` = 5 is not a column of `y_pred` of shape \[2, 3\]/,
      );
      // Keras's IoU fails too: with sparse_y_true = FALSE, y_true's argmax is one id for the batch.
      await refuses(
        "metric_iou",
        () => api.metric_iou([0, 1, 2], [0, 1, 1], { num_classes: 3, target_class_ids: [0], sparse_y_true: false }),
        /`y_true` of shape \[3\] gives 1 class ids but `y_pred` of shape \[3\] 3/,
      );
      await refuses(
        "metric_iou",
        () => api.metric_iou({ num_classes: 3, target_class_ids: [3] }),
        /`target_class_ids` holds 3/,
      );
    });

    it("sizes: *-at-* thresholds are bounded as AUC's (2^25 was a raw RangeError), IoU's confusion matrix", async () => {
      await refuses(
        "metric_precision_at_recall",
        () => api.metric_precision_at_recall({ recall: 0.5, num_thresholds: 2 ** 25 }),
        /`num_thresholds` must be an integer in \[1, 16777216\]/,
      );
      await refuses(
        "metric_mean_iou",
        () => api.metric_mean_iou({ num_classes: 2 ** 16 }),
        /`num_classes` must be a positive integer of at most 46340/,
      );
    });

    it("CTC labels must be integers (1.5 was read as 1); its data errors are the running function's", async () => {
      const logits = [
        [
          [0, 1, 2],
          [1, 0, 0],
        ],
      ];
      await refuses("loss_ctc", () => api.loss_ctc([[1.5, 0]], logits), /`y_true` holds 1.5 at \[0, 0\]/);
      const model = api.compile(api.layer_dense(api.keras_model_sequential({ input_shape: [2, 2] }), { units: 3 }), {
        optimizer: "sgd",
        loss: api.loss_ctc(),
      });
      await refuses(
        "train_on_batch",
        () => api.train_on_batch(model, seq(1, 2, 2), [[3, 0]]),
        /`y_true` holds 3 at \[0, 0\]: labels must be integers in 1..2/,
      );
    });

    it("custom_metric()'s function is checked when it runs", async () => {
      const m = api.custom_metric("junk", (() => "a") as any);
      await refuses(
        "custom_metric",
        () => m.update_state(onehot, probs),
        /update_state\(\): `fn` of custom_metric\("junk"\) must return a numeric tensor, got "a"/,
      );
      const model = api.compile(api.layer_dense(api.keras_model_sequential({ input_shape: [4] }), { units: 3 }), {
        optimizer: "sgd",
        loss: "mse",
        metrics: [m],
      });
      await refuses(
        "test_on_batch",
        () => api.test_on_batch(model, x4, [...onehot, [0, 0, 1]]),
        /`fn` of custom_metric/,
      );
    });
  });

  it("a callback that throws inside fit is a KerasError with the hook and the epoch, the user's error as cause", async () => {
    const boom = new Error("boom");
    const e = await refuses(
      "fit",
      () =>
        api.fit(denseModel(), x4, [[1], [2], [3]], {
          epochs: 3,
          verbose: 0,
          callbacks: [
            {
              on_epoch_end: (epoch: number) => {
                if (epoch === 1) throw boom;
              },
            },
          ],
        }),
      /`callbacks\[\[1\]\]`: `on_epoch_end\(epoch = 1\)` failed: boom/,
    );
    expect(e.cause).to.equal(boom);
  });

  it("a ConvLSTM over a single timestep trains (tfjs's Unpack gradient failed on one output)", async () => {
    const model = api.compile(
      api.layer_dense(
        api.layer_flatten(
          api.layer_conv_lstm_1d(api.keras_model_sequential({ input_shape: [1, 3, 1] }), {
            filters: 1,
            kernel_size: 2,
          }),
        ),
        { units: 1 },
      ),
      { optimizer: "sgd", loss: "mse" },
    );
    const { logs } = await api.train_on_batch(model, tf.ones([2, 1, 3, 1]), [[1], [2]]);
    expect(Number.isFinite(logs.loss)).to.equal(true);
  });
});
