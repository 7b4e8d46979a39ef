/**
 * Keras 3 files written and read here: every case model survives save_model -> load_model (and the
 * other savers) with its config, bit-exact weights and the same predictions; compiled models keep
 * their optimizer state so training resumes exactly; bad calls and unsafe situations are KerasErrors.
 * (Files against real Keras: test/integration/keras/keras_files.test.ts.)
 */
import { expect } from "chai";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipe } from "fp-ts/lib/function.js";
import * as k from "../../src/index.js";
import { use_backend } from "../../src/backend/index.js";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { familyNames, getFamily } from "../../src/model/registry.js";
import type { Model } from "../../src/model/model.js";
import type { Layer } from "../../src/model/layer.js";
import { readHdf5 } from "../../src/io/hdf5.js";
import { expectKerasError } from "../training/helpers.js";
import { fileCases, halve, minimalCell, type FileCase } from "./cases.js";
import { withPatternWeights } from "../core/helpers.js";
import { temporaryFolders } from "../helpers/temporary_folders.js";

const quiet = { verbose: 0 as const };

async function predictions(c: { model: Model; inputs: unknown[] }): Promise<unknown> {
  return k.predict(c.model, c.inputs.length === 1 ? c.inputs[0] : c.inputs, quiet);
}

/** Every class a model uses, nested layers (wrappers, cells) included. */
function classesOf(model: Model): Set<string> {
  const out = new Set<string>();
  const visit = (l: Layer) => {
    out.add(l.className);
    for (const key of ["layer", "backward_layer", "cell", "cells"]) {
      const v = l.config[key];
      for (const inner of Array.isArray(v) ? v : v ? [v] : []) if (typeof inner === "function") visit(inner as Layer);
    }
  };
  model.layers.forEach(visit);
  return out;
}

const customObjects = () => ({ halve, MinimalRNNCell: minimalCell() });

describe("Keras 3 files: save_model / load_model here", function () {
  const tmp = temporaryFolders("tskeras-io-");
  const dir = tmp();
  this.timeout(120_000);
  let cases: FileCase[];
  before(async () => {
    await use_backend("wasm");
    cases = fileCases();
  });

  it("the cases use every layer family, cell and wrapper the package offers", () => {
    const used = new Set(cases.flatMap((c) => [...classesOf(c.model)]));
    // Text layers (raw strings in) have their file cases in test/layers/text.test.ts and test/integration/keras/text.test.ts.
    const offered = familyNames().filter((n) => getFamily(n)!.fn in k && !getFamily(n)!.host);
    expect(offered.filter((n) => !used.has(n))).to.deep.equal([]);
  });

  it("every case: same config, bit-exact weights and the same predictions after a round trip", async () => {
    for (const c of cases) {
      const file = join(dir, `${c.name}.keras`);
      await k.save_model(c.model, file);
      const back = await k.load_model(file, { custom_objects: customObjects() });
      if (c.name !== "cudnn") {
        expect(k.get_config(back), `${c.name}: config`).to.deep.equal(k.get_config(c.model));
        const [want, got] = [k.get_weights(c.model), k.get_weights(back)];
        expect(got, `${c.name}: weights`).to.deep.equal(want);
      }
      expect(await predictions({ ...c, model: back }), `${c.name}: predictions`).to.deep.equal(await predictions(c));
    }
  });

  it("cuDNN layers come back as the equivalent layer_gru / layer_lstm, with the same numbers", async () => {
    const c = cases.find((x) => x.name === "cudnn")!;
    await k.save_model(c.model, join(dir, "cudnn.keras"), { overwrite: true });
    const back = await k.load_model(join(dir, "cudnn.keras"));
    expect(back.layers.map((l) => l.className)).to.deep.equal(["GRU", "Bidirectional", "LSTM"]);
    const [want, got] = [await predictions(c), await predictions({ ...c, model: back })];
    expect((got as number[][]).flat()).to.have.length((want as number[][]).flat().length);
    (want as number[][]).flat().forEach((v, i) => expect((got as number[][]).flat()[i]).to.be.closeTo(v, 1e-6));
  });

  it("saving changes nothing: the model value is the same before and after", async () => {
    const c = cases.find((x) => x.name === "functional")!;
    const before = JSON.stringify([k.get_config(c.model), k.get_weights(c.model)]);
    await k.save_model(c.model, join(dir, "same.keras"));
    await k.serialize_model(c.model);
    expect(JSON.stringify([k.get_config(c.model), k.get_weights(c.model)])).to.equal(before);
    expect(Object.isFrozen(c.model)).to.equal(true);
  });

  it("serialize_model / unserialize_model: the .keras file as bytes", async () => {
    const c = cases.find((x) => x.name === "recurrent")!;
    const bytes = await k.serialize_model(c.model);
    expect(bytes).to.be.instanceOf(Uint8Array);
    expect([...bytes.subarray(0, 4)]).to.deep.equal([0x50, 0x4b, 3, 4]);
    const back = await k.unserialize_model(bytes);
    expect(k.get_weights(back)).to.deep.equal(k.get_weights(c.model));
    // load_model takes the bytes too, as keras3's does
    expect(k.get_weights(await k.load_model(bytes))).to.deep.equal(k.get_weights(c.model));
  });

  it("model_to_json / model_from_json and save_model_config / load_model_config: the architecture", async () => {
    const c = cases.find((x) => x.name === "bidirectional")!;
    const json = k.model_to_json(c.model);
    expect(JSON.parse(json)).to.include({ module: "keras", class_name: "Sequential" });
    expect(k.get_config(k.model_from_json(json))).to.deep.equal(k.get_config(c.model));
    const file = join(dir, "config.json");
    await k.save_model_config(c.model, file);
    expect(readFileSync(file, "utf8")).to.equal(json);
    expect(k.get_config(await k.load_model_config(file))).to.deep.equal(k.get_config(c.model));
  });

  it("save_model_weights / load_model_weights: weights by structure, skip_mismatch", async () => {
    const c = cases.find((x) => x.name === "rnn_cells")!;
    const file = join(dir, "w.weights.h5");
    await k.save_model_weights(c.model, file);
    const fresh = k.model_from_json(k.model_to_json(c.model));
    expect(k.get_weights(fresh)).to.not.deep.equal(k.get_weights(c.model));
    const loaded = await k.load_model_weights(fresh, file);
    expect(k.get_weights(loaded)).to.deep.equal(k.get_weights(c.model));
    expect(k.get_weights(fresh), "the argument is unchanged").to.not.deep.equal(k.get_weights(c.model));
    // weights of a .keras file load too
    await k.save_model(c.model, join(dir, "w.keras"));
    expect(k.get_weights(await k.load_model_weights(fresh, join(dir, "w.keras")))).to.deep.equal(
      k.get_weights(c.model),
    );
    // a model whose first layer has other shapes: refused, or skipped with a warning
    const other = pipe(
      k.keras_model_sequential({ input_shape: [4, 3] }),
      k.layer_rnn({ cell: k.layer_gru_cell({ units: 5 }), return_sequences: true }),
      k.layer_rnn({
        cell: [k.layer_simple_rnn_cell({ units: 2 }), k.layer_gru_cell({ units: 3 }), k.layer_lstm_cell({ units: 2 })],
        return_sequences: true,
      }),
      k.layer_rnn({
        cell: k.layer_stacked_rnn_cells({
          cells: [k.layer_lstm_cell({ units: 2 }), k.layer_gru_cell({ units: 2, reset_after: false })],
        }),
        go_backwards: true,
      }),
    );
    await expectKerasError(
      () => k.load_model_weights(other, file),
      /^load_model_weights\(\): weight 1 of layer "rnn" \(kernel\) must have shape \[3, 15\], got \[3, 9\]/,
    );
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (m: string) => warnings.push(m);
    let partial: Model;
    try {
      partial = await k.load_model_weights(other, file, { skip_mismatch: true });
    } finally {
      console.warn = warn;
    }
    // layer 1 has other shapes, and so layer 2 (its input); layer 3 loads
    expect(warnings).to.have.length(2);
    expect(warnings[0]).to.match(/skipped: weight 1 of layer "rnn" \(kernel\) must have shape \[3, 15\], got \[3, 9\]/);
    expect(warnings[1]).to.match(/skipped: weight 1 of layer "rnn_1" \(kernel\)/);
    expect(k.get_weights(partial).slice(12)).to.deep.equal(k.get_weights(c.model).slice(12));
    expect(k.get_weights(partial).slice(0, 12)).to.deep.equal(k.get_weights(other).slice(0, 12));
  });

  it("layer_lambda and rnn_cell_custom need custom_objects; the error lists every missing one", async () => {
    const c = cases.find((x) => x.name === "custom")!;
    const file = join(dir, "custom.keras");
    await k.save_model(c.model, file, { overwrite: true });
    await expectKerasError(
      () => k.load_model(file),
      /^load_model\(\): the model needs `custom_objects` for: "lambda" or "halve" \(the function of Lambda layer "lambda" \(function "halve"\)\), "MinimalRNNCell"/,
      /Nothing in a file is run as code/,
    );
    const back = await k.load_model(file, { custom_objects: { lambda: halve, MinimalRNNCell: minimalCell() } });
    expect(await predictions({ ...c, model: back })).to.deep.equal(await predictions(c));
  });

  it("user functions (activation, loss, metric) are written by name and need custom_objects", async () => {
    const shifted_relu = (x: Tensor) => tf.relu(tf.sub(x, 0.1));
    const my_loss = (yTrue: Tensor, yPred: Tensor) => tf.mean(tf.abs(tf.sub(yTrue, yPred)), -1);
    const my_metric = (yTrue: Tensor, yPred: Tensor) => tf.mean(tf.square(tf.sub(yTrue, yPred)), -1);
    const model = withPatternWeights(
      pipe(
        k.keras_model_sequential({ input_shape: [3] }),
        k.layer_dense({ units: 2, activation: shifted_relu }),
        k.compile({ optimizer: "sgd", loss: my_loss, metrics: [my_metric] }),
      ),
    );
    const json = JSON.parse(k.model_to_json(model));
    expect(json.config.layers[1].config.activation).to.equal("shifted_relu");
    expect(json.compile_config).to.include({ loss: "my_loss" });
    expect(json.compile_config.metrics).to.deep.equal(["my_metric"]);
    const file = join(dir, "functions.keras");
    await k.save_model(model, file);
    await expectKerasError(
      () => k.load_model(file),
      /needs `custom_objects` for: "shifted_relu" \(an activation function\)/,
    );
    await expectKerasError(
      () => k.load_model(file, { custom_objects: { shifted_relu } }),
      /cannot compile the model as the file says \(loss "my_loss" is neither built in nor in `custom_objects`\); load it with `compile = FALSE`/,
    );
    const uncompiled = await k.load_model(file, { custom_objects: { shifted_relu }, compile: false });
    expect(uncompiled.compiled).to.equal(null);
    const back = await k.load_model(file, { custom_objects: { shifted_relu, my_loss, my_metric } });
    const x = [
      [1, -2, 3],
      [0.5, 0.5, -1],
    ];
    expect(await k.predict(back, x, quiet)).to.deep.equal(await k.predict(model, x, quiet));
    const { history } = await k.fit(
      back,
      x,
      [
        [1, 0],
        [0, 1],
      ],
      { verbose: 0 },
    );
    expect(Object.keys(history.metrics)).to.deep.equal(["loss", "my_metric"]);
  });

  it("reads Keras's function references (keras.losses.mean_squared_error) and activation objects", () => {
    const model = pipe(
      k.keras_model_sequential({ input_shape: [3] }),
      k.layer_dense({ units: 2 }),
      k.compile({ loss: "mse" }),
    );
    const json = JSON.parse(k.model_to_json(model));
    const ref = (name: string) => ({
      module: "keras.losses",
      class_name: "function",
      config: name,
      registered_name: null,
    });
    json.compile_config.loss = ref("mean_absolute_error");
    json.compile_config.metrics = [ref("mean_squared_error")];
    json.config.layers[1].config.activation = {
      module: "builtins",
      class_name: "function",
      config: "tanh",
      registered_name: "function",
    };
    const back = k.model_from_json(JSON.stringify(json));
    expect((back.layers[0].config.activation as { name: string }).name).to.equal("tanh");
    const setup = back.compiled as any;
    expect(setup.losses[0].class_name).to.equal("MeanAbsoluteError");
    expect(setup.metrics[0][0].class_name).to.equal("MeanSquaredError");
  });

  it("a compiled model keeps optimizer, loss, metrics and state: training resumes exactly", async () => {
    const x = Array.from({ length: 8 }, (_, i) => [Math.sin(i), Math.cos(i), Math.sin(2 * i), Math.cos(3 * i)]);
    const y = Array.from({ length: 8 }, (_, i) => [Math.sin(i / 2)]);
    for (const optimizer of [
      k.optimizer_adam({ amsgrad: true }),
      k.optimizer_sgd({ momentum: 0.9, nesterov: true }),
      k.optimizer_rmsprop({ momentum: 0.5, centered: true }),
      k.optimizer_adagrad(),
      k.optimizer_adadelta({ learning_rate: 0.5 }),
      k.optimizer_adamax(),
      k.optimizer_nadam(),
      k.optimizer_adamw(),
    ]) {
      const model = pipe(
        k.keras_model_sequential({ input_shape: [4] }),
        k.layer_dense({ units: 3, activation: "tanh" }),
        k.layer_dense({ units: 1 }),
        k.compile({ optimizer, loss: "mse", metrics: ["mae", k.metric_root_mean_squared_error()] }),
      );
      const fitArgs = { epochs: 1, batch_size: 4, shuffle: false, verbose: 0 as const };
      const once = (await k.fit(model, x, y, fitArgs)).model;
      const twice = await k.fit(model, x, y, { ...fitArgs, epochs: 2 });
      const file = join(dir, `opt-${optimizer.class_name}.keras`);
      await k.save_model(once, file);
      const loaded = await k.load_model(file);
      const resumed = await k.fit(loaded, x, y, fitArgs);
      expect(k.get_weights(resumed.model), optimizer.class_name).to.deep.equal(k.get_weights(twice.model));
      for (const metric of ["loss", "mae", "root_mean_squared_error"])
        expect(resumed.history.metrics[metric][0], `${optimizer.class_name}: ${metric}`).to.equal(
          twice.history.metrics[metric][1],
        );
    }
  });

  it("overwrite = FALSE (the default) refuses an existing file with R's message; TRUE replaces it", async () => {
    const file = join(dir, "exists.keras");
    const c = cases[0];
    await k.save_model(c.model, file);
    const before = readFileSync(file);
    await expectKerasError(
      () => k.save_model(c.model, file),
      /^save_model\(\): File '.*exists\.keras' already exists \(pass overwrite = TRUE to force save\)\.$/,
    );
    expect(readFileSync(file)).to.deep.equal(before);
    await k.save_model(cases[1].model, file, { overwrite: true });
    expect(readFileSync(file)).to.not.deep.equal(before);
  });

  it("other extensions are refused clearly; a weights file is no model file", async () => {
    const c = cases[0];
    await expectKerasError(
      () => k.save_model(c.model, join(dir, "m.zip")),
      /`filepath` must end in "\.keras" \(the Keras 3 format\), "\.h5" \/ "\.hdf5"/,
    );
    await expectKerasError(
      () => k.save_model_weights(c.model, join(dir, "w.h5")),
      /`filepath` must end in "\.weights\.h5" \(Keras 3's weights format; save_model_weights_hdf5\(\) writes the legacy/,
    );
    await k.save_model_weights(c.model, join(dir, "x.weights.h5"));
    writeFileSync(join(dir, "x.keras"), readFileSync(join(dir, "x.weights.h5")));
    await expectKerasError(() => k.load_model(join(dir, "x.keras")), /has no model config .*holds weights only/);
  });

  it("arguments are validated at the door, all problems at once", async () => {
    await expectKerasError(
      () => k.save_model({} as Model, 3 as unknown as string, { overwrite: "yes" } as any),
      /^save_model\(\): invalid arguments:/,
      /`model` must be a model/,
      /`filepath` must be a file path/,
      /`overwrite` must be TRUE or FALSE/,
    );
    await expectKerasError(
      () => k.load_model("m.keras", { custom_object: {} } as any),
      /did you mean `custom_objects`\?/,
    );
    await expectKerasError(() => k.unserialize_model("bytes" as any), /`model` must be raw bytes/);
    await expectKerasError(
      () => k.load_model(join(dir, "missing.keras")),
      /^load_model\(\): cannot read ".*missing\.keras"/,
    );
    expect(() => k.model_from_json("{nope")).to.throw(k.KerasError, /`json` is not valid JSON/);
  });

  it("an unbuilt model cannot be saved (its weights are unknown), but its JSON can", async () => {
    const m = pipe(k.keras_model_sequential(), k.layer_dense({ units: 2 }));
    await expectKerasError(() => k.save_model(m, join(dir, "unbuilt.keras")), /is not built yet/);
    expect(k.get_config(k.model_from_json(k.model_to_json(m)))).to.deep.equal(k.get_config(m));
  });

  it("writes atomically: a failed save keeps the previous file and leaves no temporary file", async () => {
    const sub = tmp();
    const file = join(sub, "m.keras");
    await k.save_model(cases[0].model, file);
    const before = readFileSync(file);
    // a model that fails mid-save (a TypeScript initializer cannot be stored)
    const bad = pipe(
      k.keras_model_sequential({ input_shape: [2] }),
      k.layer_dense({ units: 1, kernel_initializer: (shape: number[]) => new Float32Array(shape[0] * shape[1]) }),
    );
    await expectKerasError(() => k.save_model(bad, file, { overwrite: true }), /a TypeScript function/);
    expect(readFileSync(file)).to.deep.equal(before);
    expect(readdirSync(sub)).to.deep.equal(["m.keras"]);
    // a temporary file left by a writer that was killed is removed by the next save
    writeFileSync(join(sub, "m.keras.999999.1.tmp"), "debris");
    await k.save_model(cases[0].model, file, { overwrite: true });
    expect(readdirSync(sub)).to.deep.equal(["m.keras"]);
    expect(existsSync(file)).to.equal(true);
  });

  it("names with / and unicode survive, in the config and as the weights file's name attributes", async () => {
    const c = cases.find((x) => x.name === "slash_name")!;
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (m: string) => warnings.push(m);
    let bytes: Uint8Array;
    try {
      bytes = await k.serialize_model(c.model);
    } finally {
      console.warn = warn;
    }
    expect(warnings).to.deep.equal([
      'serialize_model(): layer name "out/ü" contains "/", which Keras 3 refuses: the file reads back here, not in Python Keras',
    ]);
    const back = await k.unserialize_model(bytes);
    expect(back.layers.map((l) => l.name)).to.deep.equal(["out/ü"]);
    const { unzipSync } = await import("fflate");
    const weights = unzipSync(bytes)["model.weights.h5"];
    const names = await readHdf5("test", "weights", weights, (f) => [
      f.keys("layers"),
      f.attribute("layers/dense/vars", "name"),
    ]);
    expect(names).to.deep.equal([["dense"], "out/ü"]);
    const unicode = cases.find((x) => x.name === "unicode_name")!;
    expect((await k.unserialize_model(await k.serialize_model(unicode.model))).layers[0].name).to.equal("ausgabe_ü");
  });
});
