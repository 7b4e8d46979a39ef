/**
 * Keras 3 files against real Keras 3.15.1 (issue 8), both ways, one Python call (keras_files.py):
 * - every file written here (every layer, cell and wrapper; sequential and functional; stateful with
 *   its batch size; masked; compiled with optimizer state) loads in Keras and predicts the same numbers;
 * - h5py sees Keras's own layout: Keras saving the loaded model again gives the same groups, datasets,
 *   shapes, dtypes and attributes, and the same values bit for bit;
 * - files written by Keras (sequential, functional, stateful, masked, bidirectional, compiled) load here
 *   and predict Keras's numbers; its .weights.h5 files load into the model of its to_json();
 * - training resumed from a one-epoch file — here or in Keras — matches two epochs without stopping.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import * as k from "../../../src/index.js";
import { use_backend } from "../../../src/backend/index.js";
import { isTrainingSetup } from "../../../src/engine/training/setup.js";
import { requireKeras, runKeras } from "../../helpers/keras.js";
import { fileCases, halve, type FileCase } from "../../io/cases.js";
import { withPatternWeights } from "../../core/helpers.js";
import { expectClose } from "../../training/helpers.js";
import {
  RESUME_OPTIMIZERS as OPTIMIZERS,
  expectResumedHere,
  expectResumedInKeras,
  inputDtypes,
  predictOn,
  resumeCasesHere,
  resumeData,
  resumeFitArgs as fitArgs,
} from "./file_round_trips.js";
import { temporaryFolders } from "../../helpers/temporary_folders.js";

// the shared helpers first (runKeras runs one script)
const script = ["file_scripts_common.py", "keras_files.py"]
  .map((f) => readFileSync(join(import.meta.dirname, f), "utf8"))
  .join("\n");

describe("Keras 3 files against real Keras 3.15.1", function () {
  this.timeout(900_000);
  const dir = temporaryFolders("tskeras-keras-files-")();
  let cases: FileCase[];
  const ours = new Map<string, unknown>();
  let twoEpochs: Awaited<ReturnType<typeof resumeCasesHere>>["twoEpochs"];
  let answer: any;

  before(async function () {
    requireKeras(this);
    await use_backend("wasm");
    cases = fileCases().filter((c) => c.keras);
    const sent: unknown[] = [];
    for (const c of cases) {
      const file = join(dir, `${c.name}.keras`);
      await k.save_model(c.model, file);
      ours.set(c.name, await predictOn(c.model, c.inputs));
      sent.push({ name: c.name, file, inputs: { values: c.inputs, dtypes: inputDtypes(c.model) } });
    }
    // a Lambda layer: Keras finds its function by name in custom_objects
    const lambda = withPatternWeights(
      pipe(
        k.keras_model_sequential({ input_shape: [3], name: "lambda" }),
        k.layer_dense({ units: 2 }),
        k.layer_lambda({ f: halve }),
        k.layer_dense({ units: 1 }),
      ),
    );
    const lambdaInputs = [
      [
        [0.5, -1, 2],
        [1, 0.25, -0.5],
      ],
    ];
    await k.save_model(lambda, join(dir, "lambda.keras"));
    ours.set("lambda", await predictOn(lambda, lambdaInputs));
    sent.push({
      name: "lambda",
      file: join(dir, "lambda.keras"),
      inputs: { values: lambdaInputs, dtypes: ["float32"] },
    });
    const unicode = fileCases().find((c) => c.name === "unicode_name")!;
    await k.save_model(unicode.model, join(dir, "unicode_name.keras"));
    sent.push({
      name: "unicode_name",
      file: join(dir, "unicode_name.keras"),
      inputs: { values: unicode.inputs, dtypes: ["float32"] },
      predict: false,
    });
    const resumed = await resumeCasesHere(OPTIMIZERS, async (name, once) => {
      const file = join(dir, `resume_${name}.keras`);
      await k.save_model(once, file);
      // the compiled, trained file is also checked for Keras's layout (optimizer/vars)
      sent.push({ name: `compiled_${name}`, file, inputs: { values: [resumeData.x], dtypes: ["float32"] } });
      ours.set(`compiled_${name}`, await predictOn(once, [resumeData.x]));
      return file;
    });
    twoEpochs = resumed.twoEpochs;
    // a frozen layer has no optimizer slots (Keras's trainable_variables leave it out)
    const frozen = (
      await k.fit(
        k.freeze_weights(
          pipe(
            k.keras_model_sequential({ input_shape: [4, 3] }),
            k.layer_gru({ units: 3 }),
            k.layer_dense({ units: 1 }),
            k.compile({ optimizer: "adam", loss: "mse" }),
          ),
          { to: 1 },
        ),
        resumeData.x,
        resumeData.y,
        fitArgs,
      )
    ).model;
    await k.save_model(frozen, join(dir, "compiled_frozen.keras"));
    ours.set("compiled_frozen", await predictOn(frozen, [resumeData.x]));
    sent.push({
      name: "compiled_frozen",
      file: join(dir, "compiled_frozen.keras"),
      inputs: { values: [resumeData.x], dtypes: ["float32"] },
    });
    answer = runKeras(script, { dir, ours: sent, resume_ours: resumed.resumeOurs, resume_data: resumeData });
  });

  it("Keras loads every file written here and predicts the same numbers (1e-5)", () => {
    expect(Object.keys(answer.ours).sort()).to.deep.equal([...ours.keys(), "unicode_name"].sort());
    expect(answer.ours.unicode_name.layer_names).to.deep.equal(["ausgabe_ü"]);
    for (const [name, want] of ours) expectClose(answer.ours[name].predictions, want, 1e-5, name);
  });

  it("h5py sees Keras's layout: Keras saving the loaded model again gives the same file tree, values bit-exact", () => {
    for (const name of [...ours.keys(), "unicode_name"]) {
      const a = answer.ours[name];
      expect(a.ours, `${name}: groups, datasets, shapes, dtypes, attributes`).to.deep.equal(a.keras);
      expect(a.differing, `${name}: datasets whose values differ`).to.deep.equal([]);
    }
    // the trees hold what they should: the cuDNN GRU as a Keras GRU cell, optimizer variables
    expect(answer.ours.cudnn.ours["layers/gru/cell/vars/2"]).to.include({ kind: "dataset", dtype: "float32" });
    expect(answer.ours.cudnn.ours["layers/gru/cell/vars/2"].shape).to.deep.equal([2, 9]);
    expect(answer.ours.compiled_adam.ours["optimizer/vars/0"]).to.include({ dtype: "int64" });
    const optimizerVars = (name: string) =>
      Object.keys(answer.ours[name].ours).filter((p) => /^optimizer\/vars\/\d+$/.test(p));
    expect(optimizerVars("compiled_frozen")).to.have.length(2 + 2 * 2);
    expect(optimizerVars("compiled_adam")).to.have.length(2 + 3 * 5);
  });

  it("the configs written here are Keras 3's: modules, registered names, dtype policies, build configs", () => {
    const config = answer.ours.recurrent.config;
    expect(config).to.include({ module: "keras", class_name: "Sequential", registered_name: null });
    const gru = config.config.layers[1];
    expect(gru).to.include({ module: "keras.layers", class_name: "GRU", registered_name: null });
    expect(gru.build_config).to.deep.equal({ input_shape: [null, 4, 3] });
    expect(gru.config.dtype).to.deep.equal({
      module: "keras",
      class_name: "DTypePolicy",
      config: { name: "float32" },
      registered_name: null,
    });
    expect(gru.config.kernel_initializer).to.include({ module: "keras.initializers", class_name: "GlorotUniform" });
  });

  it("training resumed in Keras from a one-epoch file written here = two epochs here", () => {
    expectResumedInKeras(answer.resume_ours, twoEpochs);
  });

  it("files written by Keras load here and predict Keras's numbers (1e-5)", async () => {
    const names = answer.keras.map((c: any) => c.name);
    expect(names).to.include.members([
      "sequential",
      "functional",
      "stateful",
      "masked_embedding",
      "masking",
      "masked_functional",
      "bidirectional",
      "bidirectional_none",
      "compiled",
    ]);
    for (const c of answer.keras) {
      const model = await k.load_model(c.keras_file);
      expect(k.get_weights(model), `${c.name}: weights, bit-exact`).to.deep.equal(c.weights);
      expectClose(await predictOn(model, c.inputs.values), c.predictions, 1e-5, c.name);
    }
  });

  it("Keras's .weights.h5 files load, bit-exact, into the model of its to_json()", async () => {
    for (const c of answer.keras) {
      const full = await k.load_model(c.keras_file);
      const model = await k.load_model_weights(k.model_from_json(c.json), c.weights_file);
      expect(k.get_weights(model), c.name).to.deep.equal(k.get_weights(full));
      expectClose(await predictOn(model, c.inputs.values), c.predictions, 1e-5, `${c.name} (weights file)`);
    }
  });

  it("a compiled Keras model comes back compiled: optimizer, loss, metrics and optimizer state", async () => {
    const c = answer.keras.find((x: any) => x.name === "compiled");
    const model = await k.load_model(c.keras_file);
    const setup = model.compiled;
    expect(isTrainingSetup(setup)).to.equal(true);
    if (!isTrainingSetup(setup)) return;
    expect(setup.optimizer.class_name).to.equal("Adam");
    expect(setup.optimizer.config.learning_rate).to.be.closeTo(0.01, 1e-9);
    expect(setup.losses[0]?.class_name).to.equal("MeanSquaredError");
    expect(setup.metrics[0].map((m) => m.name)).to.deep.equal(["mae", "root_mean_squared_error"]);
    expect(setup.optimizerState?.iterations).to.equal(c.iterations);
    expect(Object.keys(setup.optimizerState?.slots ?? {})).to.have.length(5);
    const uncompiled = await k.load_model(c.keras_file, { compile: false });
    expect(uncompiled.compiled).to.equal(null);
  });

  it("training resumed here from a one-epoch Keras file = two epochs in Keras", async () => {
    await expectResumedHere(answer.resume_keras);
  });
});
