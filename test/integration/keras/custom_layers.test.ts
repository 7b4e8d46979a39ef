/**
 * new_layer_class() layers against real Keras 3.15.1 given the same classes in Python (custom_layers.py),
 * on wasm and cpu: a dense-like layer with a regularized kernel and a non-trainable weight declared first
 * (weight order, forward, gradients w.r.t. the input and each trainable weight, Adam steps whose loss
 * holds the regularization penalty), a mask-consuming layer after an embedding with mask_zero (forward
 * and SGD steps), .keras files both ways with custom_objects, and layer_rnn over a custom cell with its own
 * get_initial_state on inputs of 3, 4 and 5 axes (output, gradients, Adam steps), and time_distributed over
 * a sequential and a functional model (predictions, Adam steps; .keras files and JSON both ways). One Python
 * call answers every case.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import { tf, type Tensor } from "../../../src/backend/tf.js";
import {
  get_weights,
  keras_model,
  keras_model_sequential,
  layer_dense,
  layer_embedding,
  layer_add,
  layer_input,
  layer_rnn,
  rnn_cell_custom,
  load_model,
  model_from_json,
  model_to_json,
  predict,
  set_weights,
  save_model,
  time_distributed,
  use_backend,
} from "../../../src/index.js";
import type { Model } from "../../../src/model/model.js";
import { familyOf, weightSpecsOf } from "../../../src/model/layer.js";
import { requireKeras, runKeras } from "../../helpers/keras.js";
import { expectSameTraining, trainHere, trainingCase, type OptimizerCase } from "../../helpers/keras_training.js";
import { layer_masked_mean, layer_scaled_dense } from "../../helpers/custom_layers.js";
import { nested, withPatternWeights } from "../../core/helpers.js";
import { BACKENDS, expectClose } from "../../wrappers/helpers.js";

const SCRIPT = readFileSync(join(import.meta.dirname, "custom_layers.py"), "utf8");
const TOL = 1e-5;
const CUSTOM = { ScaledDense: layer_scaled_dense, MaskedMean: layer_masked_mean };

const denseModel = () =>
  pipe(
    keras_model_sequential({ input_shape: [3] }),
    layer_scaled_dense({ units: 2, scale: 0.5 }),
    layer_dense({ units: 1 }),
  );
function maskedModel(): Model {
  const tokens = layer_input({ shape: [5], dtype: "int32" });
  const h = layer_embedding(tokens, { input_dim: 6, output_dim: 3, mask_zero: true });
  return keras_model({ inputs: tokens, outputs: layer_dense(layer_masked_mean(h), { units: 1 }) });
}

const denseX = nested([4, 3], 1);
const TOKENS = [
  [1, 2, 0, 0, 0],
  [3, 4, 5, 1, 0],
  [2, 0, 0, 0, 0],
  [5, 5, 4, 3, 2],
];
const ADAM: OptimizerCase = { class_name: "Adam", learning_rate: 0.05 };
const SGD: OptimizerCase = { class_name: "SGD", learning_rate: 0.5 };
/** FlatCell of custom_layers.py: h' = tanh(flatten(x) . kernel + h . recurrent_kernel), starting at 0.5. */
const flatCell = () =>
  rnn_cell_custom({
    class_name: "FlatCell",
    state_size: 3,
    build: (_d, shape) => [
      { name: "kernel", shape: [shape.slice(1).reduce<number>((n, d) => n * (d as number), 1), 3] },
      { name: "recurrent_kernel", shape: [3, 3] },
    ],
    call: (x, [h], [kernel, recurrentKernel]) => {
      const flat = tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D;
      const y = tf.tanh(
        tf.add(tf.matMul(flat, kernel as tf.Tensor2D), tf.matMul(h as tf.Tensor2D, recurrentKernel as tf.Tensor2D)),
      );
      return [y, [y]];
    },
    get_initial_state: (batch) => [tf.fill([batch, 3], 0.5)],
  });
const CELL_SHAPES: { input_shape: number[]; return_sequences: boolean }[] = [
  { input_shape: [4, 2, 3], return_sequences: true },
  { input_shape: [3, 2, 2, 2], return_sequences: false },
  { input_shape: [5, 3], return_sequences: true },
];
const cellModel = (c: (typeof CELL_SHAPES)[number]) =>
  pipe(
    keras_model_sequential({ input_shape: c.input_shape }),
    layer_rnn({ cell: flatCell(), return_sequences: c.return_sequences }),
  );
const cellCases = CELL_SHAPES.map((c, i) => {
  const x = nested([2, ...c.input_shape], 5 + i);
  const out = c.return_sequences ? [2, c.input_shape[0], 3] : [2, 3];
  return {
    ...c,
    weights: get_weights(withPatternWeights(cellModel(c))),
    x,
    probe: nested(out, 6 + i),
    train: trainingCase(cellModel(c), ADAM, 2, x, nested(out, 7 + i)),
  };
});

/** The models time_distributed wraps (custom_layers.py's inner_model). */
function innerModel(kind: "sequential" | "functional"): Model {
  if (kind === "sequential")
    return pipe(
      keras_model_sequential({ input_shape: [3] }),
      layer_dense({ units: 4, activation: "relu" }),
      layer_dense({ units: 2 }),
    );
  const x = layer_input({ shape: [3] });
  const h = layer_dense(x, { units: 4, activation: "tanh" });
  return keras_model({ inputs: x, outputs: layer_add([layer_dense(h, { units: 2 }), layer_dense(x, { units: 2 })]) });
}
const KINDS = ["sequential", "functional"] as const;
const timeDistributedModel = (kind: (typeof KINDS)[number]) =>
  pipe(keras_model_sequential({ input_shape: [5, 3] }), time_distributed({ layer: innerModel(kind) }));
const timeDistributedCases = KINDS.map((kind, i) => ({
  kind,
  weights: get_weights(withPatternWeights(timeDistributedModel(kind))),
  x: nested([2, 5, 3], 8 + i),
  train: trainingCase(timeDistributedModel(kind), ADAM, 2, nested([2, 5, 3], 8 + i), nested([2, 5, 2], 9 + i)),
  ours_file: "",
  ours_json: model_to_json(timeDistributedModel(kind)),
  theirs_file: "",
}));

const timeDistributedDense = () =>
  pipe(
    keras_model_sequential({ input_shape: [4, 3] }),
    time_distributed({ layer: layer_scaled_dense({ units: 2, scale: 0.5 }) }),
  );

describe("new_layer_class() against Keras 3", function () {
  this.timeout(300_000);
  let keras: any;
  let dir: string;
  const cases = {
    dense: {
      ...trainingCase(denseModel(), ADAM, 3, denseX, nested([4, 1], 2)),
      probe: nested([4, 2], 3),
      train: trainingCase(denseModel(), ADAM, 3, denseX, nested([4, 1], 2)),
    },
    cells: cellCases,
    time_distributed: timeDistributedCases,
    masked: {
      weights: get_weights(withPatternWeights(maskedModel())),
      x: TOKENS,
      train: trainingCase(maskedModel(), SGD, 3, TOKENS, nested([4, 1], 4)),
    },
    files: { ours: "", ours_td: "", theirs: "", x: denseX, x_td: nested([2, 4, 3], 11), tokens: TOKENS },
  };

  before(async function () {
    requireKeras(this);
    dir = mkdtempSync(join(tmpdir(), "tskeras-custom-"));
    cases.files.ours = join(dir, "ours.keras");
    cases.files.theirs = join(dir, "theirs.keras");
    cases.files.ours_td = join(dir, "ours_td.keras");
    await save_model(withPatternWeights(denseModel()), cases.files.ours);
    await save_model(withPatternWeights(timeDistributedDense()), cases.files.ours_td);
    for (const [i, c] of timeDistributedCases.entries()) {
      c.ours_file = join(dir, `ours_td_${c.kind}.keras`);
      c.theirs_file = join(dir, `theirs_td_${c.kind}.keras`);
      await save_model(withPatternWeights(timeDistributedModel(KINDS[i])), c.ours_file);
    }
    keras = runKeras(SCRIPT, cases);
  });

  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await use_backend("wasm");
  });

  it("lists the weights as Keras does: trainable first, in declaration order", () => {
    const layer = denseModel().layers[0];
    const names = weightSpecsOf(layer, [[null, 3]]).map((s) => s.name);
    expect([...names, "kernel", "bias"]).to.deep.equal(keras.dense.weight_names);
  });

  for (const backend of BACKENDS) {
    describe(`on ${backend}`, () => {
      before(async () => {
        await use_backend(backend);
      });

      it("dense-like layer: output and gradients w.r.t. the input and each trainable weight", () => {
        const model = withPatternWeights(denseModel());
        const layer = model.layers[0];
        const weights = get_weights(model)
          .slice(0, 3)
          .map((w) => tf.tensor(w));
        const x = tf.tensor(denseX);
        const probe = tf.tensor(cases.dense.probe);
        const run = (input: Tensor, kernel: Tensor, bias: Tensor) =>
          familyOf(layer).forward(layer.config, {
            inputs: [input],
            weights: [kernel, bias, weights[2]],
            masks: [null],
            training: false,
          }).outputs[0];
        const y = run(x, weights[0], weights[1]);
        expectClose(y, keras.dense.layer_output, TOL, "output");
        const grads = tf.grads((input: Tensor, kernel: Tensor, bias: Tensor) =>
          tf.sum(tf.mul(run(input, kernel, bias), probe)),
        )([x, weights[0], weights[1]]);
        ["d/dx", "d/d kernel", "d/d bias"].forEach((what, k) =>
          expectClose(grads[k], keras.dense.gradients[k], TOL, what),
        );
        tf.dispose([y, x, probe, ...weights, ...grads]);
      });

      it("dense-like layer in a model: predictions, and Adam steps with the kernel's L2 penalty in the loss", async () => {
        const y = (await predict(withPatternWeights(denseModel()), denseX, { verbose: 0 })) as any;
        expectClose(y, keras.dense.output, TOL, "predictions");
        expectSameTraining(await trainHere(denseModel(), cases.dense.train), keras.dense.train);
      });

      it("mask-consuming layer after an embedding with mask_zero: predictions and SGD steps", async () => {
        const y = (await predict(withPatternWeights(maskedModel()), TOKENS, { verbose: 0 })) as any;
        expectClose(y, keras.masked.output, TOL, "predictions");
        expectSameTraining(await trainHere(maskedModel(), cases.masked.train), keras.masked.train);
      });

      CELL_SHAPES.forEach((c, i) =>
        it(`layer_rnn over a custom cell with its own get_initial_state, input (batch, ${c.input_shape.join(", ")}): output, gradients, Adam steps`, async () => {
          const model = withPatternWeights(cellModel(c));
          const layer = model.layers[0];
          const weights = get_weights(model).map((w) => tf.tensor(w));
          const x = tf.tensor(cellCases[i].x);
          const probe = tf.tensor(cellCases[i].probe);
          const run = (input: Tensor, ...ws: Tensor[]) =>
            familyOf(layer).forward(layer.config, { inputs: [input], weights: ws, masks: [null], training: false })
              .outputs[0];
          const y = run(x, ...weights);
          expectClose(y, keras.cells[i].output, TOL, "output");
          const grads = tf.grads((input: Tensor, ...ws: Tensor[]) => tf.sum(tf.mul(run(input, ...ws), probe)))([
            x,
            ...weights,
          ]);
          ["d/dx", "d/d kernel", "d/d recurrent_kernel"].forEach((what, k) =>
            expectClose(grads[k], keras.cells[i].gradients[k], TOL, what),
          );
          tf.dispose([y, x, probe, ...weights, ...grads]);
          expectSameTraining(await trainHere(cellModel(c), cellCases[i].train), keras.cells[i].train);
        }),
      );

      KINDS.forEach((kind, i) =>
        it(`time_distributed over a ${kind} model: predictions and Adam steps`, async () => {
          const y = (await predict(withPatternWeights(timeDistributedModel(kind)), timeDistributedCases[i].x, {
            verbose: 0,
          })) as any;
          expectClose(y, keras.time_distributed[i].output, TOL, "predictions");
          expectSameTraining(
            await trainHere(timeDistributedModel(kind), timeDistributedCases[i].train),
            keras.time_distributed[i].train,
          );
        }),
      );

      KINDS.forEach((kind, i) =>
        it(`time_distributed over a ${kind} model: Keras's .keras file and JSON load here and predict as Keras`, async () => {
          const theirs = keras.time_distributed[i];
          const model = await load_model(timeDistributedCases[i].theirs_file);
          expect(model.layers[0].config.layer.className).to.equal(kind === "sequential" ? "Sequential" : "Functional");
          theirs.theirs_weights.forEach((w: any, k: number) => expectClose(get_weights(model)[k], w, 0, `weight ${k}`));
          const x = timeDistributedCases[i].x;
          expectClose((await predict(model, x, { verbose: 0 })) as any, theirs.theirs_output, TOL, "file predictions");
          const fromJson = set_weights(model_from_json(theirs.theirs_json), theirs.theirs_weights);
          expectClose(
            (await predict(fromJson, x, { verbose: 0 })) as any,
            theirs.theirs_output,
            TOL,
            "JSON predictions",
          );
        }),
      );

      it("a file Keras wrote with both classes loads with custom_objects and predicts as Keras", async () => {
        const model = await load_model(cases.files.theirs, { custom_objects: CUSTOM });
        keras.files.theirs_weights.forEach((w: any, i: number) =>
          expectClose(get_weights(model)[i], w, 0, `weight ${i}`),
        );
        const y = (await predict(model, TOKENS, { verbose: 0 })) as any;
        expectClose(y, keras.files.theirs_output, TOL, "predictions");
      });
    });
  }

  KINDS.forEach((kind, i) =>
    it(`Keras reads time_distributed over a ${kind} model from this package's .keras file and JSON, and predicts as here`, async () => {
      const c = keras.time_distributed[i];
      expect(c.ours_file_inner_class).to.equal(kind === "sequential" ? "Sequential" : "Functional");
      const y = (await predict(withPatternWeights(timeDistributedModel(kind)), timeDistributedCases[i].x, {
        verbose: 0,
      })) as any;
      expectClose(c.ours_file_output, y, TOL, "Keras's predictions of the file");
      expectClose(c.ours_json_output, y, TOL, "Keras's predictions of the JSON's model");
    }),
  );

  it("Keras reads this package's files given the Python class (alone and wrapped), and predicts as here", async () => {
    expect(keras.files.ours_weight_names).to.deep.equal(["kernel", "bias", "offset", "kernel", "bias"]);
    const y = (await predict(withPatternWeights(denseModel()), denseX, { verbose: 0 })) as any;
    expectClose(keras.files.ours_output, y, TOL, "Keras's predictions of the file");
    const yTd = (await predict(withPatternWeights(timeDistributedDense()), cases.files.x_td, { verbose: 0 })) as any;
    expectClose(keras.files.ours_td_output, yTd, TOL, "Keras's predictions of time_distributed(the class)");
  });
});
