/**
 * Legacy HDF5 (.h5) files against real Keras 3.15.1 (issue 8), both ways, one Python call (legacy_h5.py):
 * - every .h5 file written here (every layer, cell and wrapper; sequential and functional; stateful;
 *   masked; compiled with optimizer state) loads in Keras and predicts the same numbers;
 * - h5py sees Keras's own layout: Keras saving the loaded model again gives the same groups, datasets,
 *   shapes, dtypes and attributes (the JSON attributes compared parsed), values bit for bit;
 * - weights-only files written here load in Keras (model.load_weights, by order and by name);
 * - files written by Keras (model.save and the legacy weights layout; > 64 KB of layer names chunked)
 *   load here and predict Keras's numbers;
 * - training resumed from a one-epoch .h5 file — here or in Keras — matches two epochs without stopping;
 * - the committed Keras 2 fixtures' expectations (scripts/keras2_h5_fixtures.py) are reproduced.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect } from "chai";
import * as k from "../../../src/index.js";
import { use_backend } from "../../../src/backend/index.js";
import type { Model } from "../../../src/model/model.js";
import { isTrainingSetup } from "../../../src/engine/training/setup.js";
import { KERAS_PYTHON, kerasEnv, requireKeras, runKeras } from "../../helpers/keras.js";
import { fileCases } from "../../io/cases.js";
import { expectClose } from "../../training/helpers.js";
import { withPatternWeights } from "../../core/helpers.js";
import {
  RESUME_OPTIMIZERS,
  expectResumedHere,
  expectResumedInKeras,
  inputDtypes,
  predictOn,
  resumeCasesHere,
  resumeData,
} from "./file_round_trips.js";
import { temporaryFolders } from "../../helpers/temporary_folders.js";

const root = resolve(import.meta.dirname, "../../..");
// the shared helpers first (runKeras runs one script)
const script = ["file_scripts_common.py", "legacy_h5.py"]
  .map((f) => readFileSync(join(import.meta.dirname, f), "utf8"))
  .join("\n");

const OPTIMIZERS = Object.fromEntries(
  ["adam", "sgd", "rmsprop", "nadam", "schedule"].map((n) => [n, RESUME_OPTIMIZERS[n]]),
);
const WEIGHTS_CASES = ["recurrent", "functional", "bidirectional", "cudnn", "rnn_cells"];

describe("legacy HDF5 (.h5) files against real Keras 3.15.1", function () {
  const tmp = temporaryFolders();
  this.timeout(900_000);
  const dir = tmp("tskeras-legacy-keras-");
  const ours = new Map<string, unknown>();
  let twoEpochs: Awaited<ReturnType<typeof resumeCasesHere>>["twoEpochs"];
  let answer: any;

  before(async function () {
    requireKeras(this);
    await use_backend("wasm");
    const sent: unknown[] = [];
    const send = async (name: string, model: Model, inputs: unknown[]) => {
      const file = join(dir, `${name}.h5`);
      await k.save_model(model, file);
      ours.set(name, await predictOn(model, inputs));
      const entry: Record<string, unknown> = { name, file, inputs: { values: inputs, dtypes: inputDtypes(model) } };
      if (WEIGHTS_CASES.includes(name)) {
        entry.weights = join(dir, `${name}_weights.h5`);
        await k.save_model_weights_hdf5(model, entry.weights as string);
      }
      sent.push(entry);
    };
    for (const c of fileCases().filter((x) => x.keras && x.legacyH5InKeras !== false))
      await send(c.name, c.model, c.inputs);
    // more than 64 KB of layer names: layer_names0, layer_names1 (fixed-length strings), as Keras splits them
    const long = withPatternWeights(
      k.keras_model_sequential({
        input_shape: [2],
        layers: Array.from({ length: 70 }, (_, i) =>
          k.layer_dense({ units: 2, name: `dense_${i}_${"x".repeat(1000)}` }),
        ),
      }),
    );
    await send("long_names", long, [
      [
        [0.5, -1],
        [1, 2],
      ],
    ]);
    const resumed = await resumeCasesHere(OPTIMIZERS, async (name, once) => {
      await send(`compiled_${name}`, once, [resumeData.x]);
      return join(dir, `compiled_${name}.h5`);
    });
    twoEpochs = resumed.twoEpochs;
    answer = runKeras(script, { dir, ours: sent, resume_ours: resumed.resumeOurs, resume_data: resumeData });
  });

  it("Keras loads every .h5 file written here and predicts the same numbers (1e-5)", () => {
    expect(Object.keys(answer.ours).sort()).to.deep.equal([...ours.keys()].sort());
    for (const [name, want] of ours) expectClose(answer.ours[name].predictions, want, 1e-5, name);
  });

  it("h5py sees Keras's layout: Keras saving the loaded model again gives the same file, values bit-exact", () => {
    // Nadam's u_product is an unnamed variable: Keras names it "nadam/variable" when fit builds the
    // optimizer (what this package writes), "variable_<n>" when it is built outside fit (as legacy_h5.py must)
    const nadamVariable = (tree: unknown) =>
      JSON.parse(
        JSON.stringify(tree)
          .replace(/optimizer_weights\/variable_\d+/g, "optimizer_weights/nadam/variable")
          .replace(/'variable_\d+'/g, "'nadam/variable'"),
      );
    for (const name of ours.keys()) {
      const a = answer.ours[name];
      expect(a.ours, `${name}: groups, datasets, shapes, dtypes, attributes`).to.deep.equal(nadamVariable(a.keras));
      expect(a.differing, `${name}: datasets whose values differ`).to.deep.equal([]);
      if (name === "compiled_nadam")
        expect(Object.keys(a.keras)).to.satisfy((ks: string[]) =>
          ks.some((x) => /optimizer_weights\/variable_\d+/.test(x)),
        );
      // the JSON attributes: the same model class and layer classes; the same training settings
      const [mine, theirs] = a.model_config;
      expect(mine.class_name, name).to.equal(theirs.class_name);
      const classes = (c: any) => c.config.layers.map((l: any) => [l.class_name, l.config.name]);
      expect(classes(mine), name).to.deep.equal(classes(theirs));
      if (a.training_config[1]) {
        const [t1, t2] = a.training_config;
        expect(t1.optimizer_config.class_name).to.equal(t2.optimizer_config.class_name);
        expect(t1.loss).to.deep.equal(t2.loss);
      }
    }
    // the trees hold what they should: the cuDNN GRU as a Keras GRU cell, the optimizer's variables
    expect(answer.ours.cudnn.ours["model_weights/cu_dnngru/cudnn/cu_dnngru/gru_cell/bias"].shape).to.deep.equal([2, 9]);
    expect(answer.ours.compiled_adam.ours["optimizer_weights/adam/iteration"]).to.include({ dtype: "int64" });
    expect(answer.ours.compiled_nadam.ours).to.have.property("optimizer_weights/nadam/variable");
    expect(Object.keys(answer.ours.long_names.ours.model_weights.attrs).sort()).to.deep.equal([
      "backend",
      "keras_version",
      "layer_names0",
      "layer_names1",
    ]);
  });

  it("Keras reads the weights-only files written here, by order and by name", () => {
    for (const name of WEIGHTS_CASES) {
      const got = answer.weights_ours[name];
      expectClose(got.by_order, ours.get(name), 1e-5, `${name} by order`);
      expectClose(got.by_name, ours.get(name), 1e-5, `${name} by name`);
    }
  });

  it("training resumed in Keras from a one-epoch .h5 file written here = two epochs here", () => {
    expectResumedInKeras(answer.resume_ours, twoEpochs);
  });

  it(".h5 files written by Keras load here: bit-exact weights, Keras's predictions (1e-5); its weights-only files too", async () => {
    expect(answer.keras.map((c: any) => c.name)).to.include.members([
      "functional",
      "stateful",
      "long_names",
      "compiled",
    ]);
    for (const c of answer.keras) {
      const model = await k.load_model(c.file);
      expect(k.get_weights(model), `${c.name}: weights, bit-exact`).to.deep.equal(c.weights);
      expectClose(await predictOn(model, c.inputs.values), c.predictions, 1e-5, c.name);
      const fresh = await k.load_model(c.file, { compile: false });
      const byOrder = await k.load_model_weights_hdf5(fresh, c.weights_file);
      expect(k.get_weights(byOrder), `${c.name}: weights file`).to.deep.equal(c.weights);
      const byName = await k.load_model_weights_hdf5(fresh, c.weights_file, { by_name: true });
      expect(k.get_weights(byName), `${c.name}: weights file by name`).to.deep.equal(c.weights);
    }
  });

  it("a compiled Keras .h5 model comes back compiled, with its optimizer state", async () => {
    const c = answer.keras.find((x: any) => x.name === "compiled");
    const setup = (await k.load_model(c.file)).compiled;
    expect(isTrainingSetup(setup)).to.equal(true);
    if (!isTrainingSetup(setup)) return;
    expect(setup.optimizer.class_name).to.equal("Adam");
    expect(setup.optimizerState?.iterations).to.equal(c.iterations);
    expect(Object.keys(setup.optimizerState?.slots ?? {})).to.have.length(5);
  });

  it("training resumed here from a one-epoch Keras .h5 file = two epochs in Keras", async () => {
    await expectResumedHere(answer.resume_keras);
  });

  it("the committed Keras 2 fixtures' expectations are what Keras 3 gives now", () => {
    const out = tmp("tskeras-keras2-fixtures-");
    const r = spawnSync(KERAS_PYTHON, [join(root, "scripts/keras2_h5_fixtures.py"), out], {
      encoding: "utf8",
      env: kerasEnv(),
      timeout: 240_000,
    });
    if (r.status !== 0) throw new Error(`fixture script failed:\n${r.stderr}`);
    const fresh = JSON.parse(readFileSync(join(out, "expected.json"), "utf8"));
    expect(fresh).to.deep.equal(JSON.parse(readFileSync(join(root, "test/fixtures/keras2_h5/expected.json"), "utf8")));
  });
});
