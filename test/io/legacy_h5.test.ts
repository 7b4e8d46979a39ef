/**
 * The legacy HDF5 format (.h5) here: round trips of every layer family, cell and wrapper; the layout
 * (model_weights, layer_names / weight_names, chunked attributes, optimizer_weights); weights-only
 * files by order and by name with skip_mismatch; compiled models resuming exactly; Keras 2 files
 * (hand-written with h5py in tf.keras 2.15's layout by scripts/keras2_h5_fixtures.py, expected numbers
 * from Keras 3 running equivalent models); argument validation. Against real Keras:
 * test/integration/keras/legacy_h5.test.ts.
 */
import { expect } from "chai";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pipe } from "fp-ts/lib/function.js";
import * as k from "../../src/index.js";
import { use_backend } from "../../src/backend/index.js";
import type { Model } from "../../src/model/model.js";
import { isTrainingSetup } from "../../src/engine/training/setup.js";
import { readHdf5 } from "../../src/io/hdf5.js";
import { expectClose, expectKerasError } from "../training/helpers.js";
import { withPatternWeights } from "../core/helpers.js";
import { fileCases, halve, minimalCell } from "./cases.js";
import { temporaryFolders } from "../helpers/temporary_folders.js";

const quiet = { verbose: 0 as const };
const fixtures = resolve(import.meta.dirname, "../fixtures/keras2_h5");

async function predictOn(model: Model, inputs: unknown[]): Promise<unknown> {
  return k.predict(model, inputs.length === 1 ? inputs[0] : inputs, {
    ...quiet,
    batch_size: (inputs[0] as unknown[]).length,
  });
}

/** What h5py would list: every group and dataset path, and the attributes of each. */
async function tree(file: string): Promise<Record<string, string[]>> {
  return readHdf5("test", file, new Uint8Array(readFileSync(file)), (f) => {
    const out: Record<string, string[]> = { "/": f.attributeNames("").sort() };
    const walk = (path: string) => {
      for (const key of f.keys(path)) {
        const p = path ? `${path}/${key}` : key;
        out[p] = f.attributeNames(p).sort();
        if (f.isGroup(p)) walk(p);
      }
    };
    walk("");
    return out;
  });
}

describe("legacy HDF5 (.h5) files here", function () {
  const tmp = temporaryFolders();
  this.timeout(300_000);
  const dir = tmp("tskeras-legacy-");
  const warn = console.warn;
  let warnings: string[] = [];
  before(async () => {
    await use_backend("wasm");
  });
  beforeEach(() => {
    warnings = [];
    console.warn = (...a: unknown[]) => void warnings.push(a.join(" "));
  });
  afterEach(() => {
    console.warn = warn;
  });

  it("every case: save_model(.h5) / load_model give bit-exact weights and the same predictions", async () => {
    for (const c of fileCases()) {
      const file = join(dir, `${c.name}.h5`);
      await k.save_model(c.model, file);
      const back = await k.load_model(file, { custom_objects: { halve, MinimalRNNCell: minimalCell() } });
      if (c.name !== "cudnn") expect(k.get_weights(back), c.name).to.deep.equal(k.get_weights(c.model));
      else expect(back.layers.map((l) => l.className)).to.deep.equal(["GRU", "Bidirectional", "LSTM"]);
      expectClose(await predictOn(back, c.inputs), await predictOn(c.model, c.inputs), 1e-6, c.name);
      expect(back.name).to.equal(c.model.name);
    }
  });

  it("the layout is Keras's: model_weights, layer_names, weight_names as Keras 3 variable paths", async () => {
    const c = fileCases().find((x) => x.name === "bidirectional")!;
    const file = join(dir, "layout.h5");
    await k.save_model(c.model, file);
    const t = await tree(file);
    expect(t["/"]).to.deep.equal(["backend", "keras_version", "model_config"]);
    expect(t["model_weights"]).to.deep.equal(["backend", "keras_version", "layer_names"]);
    expect(t["model_weights/bidirectional"]).to.deep.equal(["weight_names"]);
    expect(t).to.have.property("model_weights/bidirectional/bidirectional/bidirectional/forward_lstm/lstm_cell/kernel");
    expect(t).to.have.property("model_weights/top_level_model_weights");
    const names = await readHdf5("test", file, new Uint8Array(readFileSync(file)), (f) => ({
      layers: f.chunkedStrings("model_weights", "layer_names"),
      weights: f.chunkedStrings("model_weights/bidirectional", "weight_names"),
      version: f.attribute("", "keras_version"),
    }));
    expect(names.layers).to.deep.equal(c.model.layers.map((l) => l.name));
    expect(names.weights).to.deep.equal(
      ["forward", "backward"].flatMap((d) =>
        ["kernel", "recurrent_kernel", "bias"].map((w) => `bidirectional/bidirectional/${d}_lstm/lstm_cell/${w}`),
      ),
    );
    expect(names.version).to.equal("3.15.1");
  });

  it("more than 64 KB of layer names are split into layer_names0, layer_names1 ... and read back", async () => {
    const long = (i: number) => `dense_${i}_${"x".repeat(1000)}`;
    const model = withPatternWeights(
      k.keras_model_sequential({
        input_shape: [2],
        name: "long",
        layers: Array.from({ length: 70 }, (_, i) => k.layer_dense({ units: 2, name: long(i) })),
      }),
    );
    const file = join(dir, "long.h5");
    await k.save_model(model, file);
    const t = await tree(file);
    expect(t["model_weights"]).to.deep.equal(["backend", "keras_version", "layer_names0", "layer_names1"]);
    const back = await k.load_model(file);
    expect(back.layers.map((l) => l.name)).to.deep.equal(model.layers.map((l) => l.name));
    expect(k.get_weights(back)).to.deep.equal(k.get_weights(model));
  });

  it("save_model_weights_hdf5 / load_model_weights_hdf5: by order, by name, skip_mismatch", async () => {
    const build = (units: number, order: "ab" | "ba" = "ab") => {
      const a = k.layer_dense({ units: 3, name: "a" });
      const b = k.layer_gru({ units, name: "b" });
      const layers =
        order === "ab"
          ? [k.layer_reshape({ target_shape: [2, 2] }), b, k.layer_dropout({ rate: 0.1 }), a]
          : [k.layer_reshape({ target_shape: [2, 2] }), b, a];
      return k.keras_model_sequential({ input_shape: [4], layers });
    };
    const model = withPatternWeights(build(2));
    const file = join(dir, "weights.h5");
    await k.save_model_weights_hdf5(model, file);
    const t = await tree(file);
    expect(t["/"]).to.deep.equal(["backend", "keras_version", "layer_names"]);
    const fresh = build(2);
    const loaded = await k.load_model_weights_hdf5(fresh, file);
    expect(k.get_weights(loaded)).to.deep.equal(k.get_weights(model));
    expect(k.get_weights(fresh)).to.not.deep.equal(k.get_weights(model));
    // load_model_weights() reads the legacy layout from a ".h5" path too, and a whole-model file's weights
    await k.save_model(model, join(dir, "whole.h5"));
    expect(k.get_weights(await k.load_model_weights(fresh, join(dir, "whole.h5")))).to.deep.equal(k.get_weights(model));
    // by name: a model with the layers in another order (and no dropout) gets each layer's own weights
    const byName = await k.load_model_weights_hdf5(build(2, "ba"), file, { by_name: true });
    expect(k.get_weights(byName)).to.deep.equal(k.get_weights(model));
    // another GRU size: by order fails with Keras's shape mismatch; skip_mismatch keeps the model's own
    const other = build(3);
    await expectKerasError(
      () => k.load_model_weights_hdf5(other, file),
      /^load_model_weights_hdf5\(\): shape mismatch in layer #0 \(named "b"\): weight sequential(_\d+)?\/b\/gru_cell\/kernel expects shape \(2, 9\), the file holds \(2, 6\)/,
    );
    const skipped = await k.load_model_weights_hdf5(other, file, { skip_mismatch: true });
    // per weight, as Keras: the GRU's 3 and the dense kernel (its input is now 3 wide) keep theirs, the bias loads
    expect(k.get_weights(skipped).slice(0, 4)).to.deep.equal(k.get_weights(other).slice(0, 4));
    expect(k.get_weights(skipped)[4]).to.deep.equal(k.get_weights(model)[4]);
    expect(
      warnings.filter((w) => /skipped: layer #\d \(named "[ab]"\): weight .* expects shape/.test(w)),
    ).to.have.length(4);
    // a layer count that does not fit
    const small = k.keras_model_sequential({ input_shape: [4], layers: [k.layer_dense({ units: 3, name: "a" })] });
    await expectKerasError(
      () => k.load_model_weights_hdf5(small, file),
      /layer count mismatch: the model has 1 layers with weights, "[^"]+" holds weights of 2 layers \("b", "a"\); by_name = TRUE matches them by name/,
    );
    await expectKerasError(
      () => k.load_model_weights(model, join(dir, "x.weights.h5"), { by_name: true }),
      /`by_name` applies to legacy "\.h5" \/ "\.hdf5" weights only/,
    );
    // a Keras 3 weights file under a .h5 name is recognised
    await k.save_model_weights(model, join(dir, "k3.weights.h5"));
    writeFileSync(join(dir, "k3.h5"), readFileSync(join(dir, "k3.weights.h5")));
    await expectKerasError(
      () => k.load_model_weights_hdf5(model, join(dir, "k3.h5")),
      /holds Keras 3 weights \(the \.weights\.h5 layout\)/,
    );
  });

  it("a compiled model keeps optimizer, loss, metrics and optimizer state: one epoch, save, one more = two epochs", async () => {
    const x = Array.from({ length: 8 }, (_, i) =>
      Array.from({ length: 4 }, (_, t) => [0, 1, 2].map((f) => Math.sin(i + 2 * t + 3 * f))),
    );
    const y = Array.from({ length: 8 }, (_, i) => [Math.cos(i)]);
    const fitArgs = { epochs: 1, batch_size: 4, shuffle: false, ...quiet };
    for (const optimizer of [
      k.optimizer_adam({ learning_rate: 0.01, amsgrad: true }),
      k.optimizer_rmsprop({ learning_rate: 0.01, centered: true, momentum: 0.5 }),
      k.optimizer_nadam(),
    ]) {
      const model = withPatternWeights(
        pipe(
          k.keras_model_sequential({ input_shape: [4, 3] }),
          k.layer_gru({ units: 3 }),
          k.layer_dense({ units: 1 }),
          k.compile({ optimizer, loss: "mse", metrics: ["mae"] }),
        ),
      );
      const once = (await k.fit(model, x, y, fitArgs)).model;
      const twice = await k.fit(model, x, y, { ...fitArgs, epochs: 2 });
      const file = join(dir, `resume_${optimizer.class_name}.h5`);
      await k.save_model_hdf5(once, file);
      const back = await k.load_model_hdf5(file);
      const setup = back.compiled;
      expect(isTrainingSetup(setup) && setup.optimizerState?.iterations).to.equal(2);
      const resumed = await k.fit(back, x, y, fitArgs);
      expect(k.get_weights(resumed.model), optimizer.class_name).to.deep.equal(k.get_weights(twice.model));
      expect(resumed.history.metrics.loss[0]).to.equal(twice.history.metrics.loss[1]);
      expect((await k.load_model(file, { compile: false })).compiled).to.equal(null);
      // without the optimizer: no training_config, no optimizer_weights
      await k.save_model_hdf5(once, join(dir, "no_opt.h5"), { include_optimizer: false });
      const t = await tree(join(dir, "no_opt.h5"));
      expect(t["/"]).to.deep.equal(["backend", "keras_version", "model_config"]);
      expect(t).to.not.have.property("optimizer_weights");
      expect((await k.load_model(join(dir, "no_opt.h5"))).compiled).to.equal(null);
    }
  });

  it("Keras 2 files (tf.keras 2.15's layout) load and predict Keras's numbers: Keras 2 hard_sigmoid, cuDNN layers, reset_after", async () => {
    const expected = JSON.parse(readFileSync(join(fixtures, "expected.json"), "utf8"));
    expect(Object.keys(expected.files).sort()).to.deep.equal(
      readdirSync(fixtures)
        .filter((f) => f.endsWith(".h5"))
        .map((f) => f.replace(/\.h5$/, ""))
        .sort(),
    );
    for (const [name, c] of Object.entries<any>(expected.files)) {
      const model = await k.load_model(join(fixtures, c.file));
      expectClose(await predictOn(model, [c.input]), c.predictions, 1e-5, name);
    }
    const seq = await k.load_model_hdf5(join(fixtures, "keras2_sequential.h5"));
    const gru = k.get_config(seq.layers[0]) as any;
    expect(gru.config.recurrent_activation).to.equal("hard_sigmoid_keras2");
    expect(gru.config.reset_after).to.equal(false);
    const setup = seq.compiled;
    expect(isTrainingSetup(setup)).to.equal(true);
    if (isTrainingSetup(setup)) {
      expect(setup.optimizer.class_name).to.equal("Adam");
      expect(setup.optimizer.config.learning_rate).to.be.closeTo(0.002, 1e-9);
      expect(setup.metrics[0].map((m) => m.name)).to.deep.equal(["mean_absolute_error"]);
      // tf.keras's optimizer variables do not fit Keras 3's: skipped with a warning, as Keras 3 does
      expect(setup.optimizerState).to.equal(null);
    }
    expect(
      warnings.some((w) => /skipping the optimizer state: the file holds 17 optimizer variables/.test(w)),
    ).to.equal(true);
    const cudnn = await k.load_model(join(fixtures, "keras2_cudnn.h5"));
    expect(cudnn.layers.map((l) => l.className)).to.deep.equal(["CuDNNGRU", "Bidirectional", "Dense"]);
  });

  it("overwrite: save_model refuses an existing file (keras3), save_model_hdf5 replaces it (R keras 2's default)", async () => {
    const c = fileCases()[0];
    const file = join(dir, "exists.h5");
    await k.save_model_hdf5(c.model, file);
    await k.save_model_hdf5(c.model, file);
    await expectKerasError(
      () => k.save_model(c.model, file),
      /File '.*exists\.h5' already exists \(pass overwrite = TRUE to force save\)\./,
    );
    await expectKerasError(() => k.save_model_hdf5(c.model, file, { overwrite: false }), /already exists/);
    await k.save_model(c.model, file, { overwrite: true });
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).to.deep.equal([]);
  });

  it("arguments are validated at the door; paths name the format", async () => {
    const c = fileCases()[0];
    await expectKerasError(
      () => k.save_model_hdf5({} as Model, 3 as unknown as string, { overwrite: "yes" } as any),
      /^save_model_hdf5\(\): invalid arguments:/,
      /`model`/,
      /`filepath`/,
      /`overwrite`/,
    );
    await expectKerasError(
      () => k.save_model_hdf5(c.model, join(dir, "m.weights.h5")),
      /ends in "\.weights\.h5", Keras 3's weights format/,
    );
    await expectKerasError(() => k.save_model_hdf5(c.model, join(dir, "m.keras")), /must end in "\.h5" or "\.hdf5"/);
    await expectKerasError(
      () => k.save_model_weights_hdf5(c.model, join(dir, "m.txt")),
      /^save_model_weights_hdf5\(\): `filepath` must end in "\.h5"/,
    );
    await expectKerasError(() => k.load_model_hdf5(join(dir, "missing.h5")), /^load_model_hdf5\(\): cannot read/);
    await expectKerasError(() => k.load_model_hdf5(join(dir, "m.h5"), { compile: 1 } as any), /`compile`/);
    await expectKerasError(
      () => k.load_model_weights_hdf5(c.model, join(dir, "w.h5"), { reshape: true }),
      /`reshape = TRUE` .* is not supported/,
    );
    await expectKerasError(
      () => k.load_model_weights_hdf5(c.model, join(dir, "w.h5"), { by_nam: true } as any),
      /by_nam.*did you mean `by_name`/,
    );
    await k.save_model(c.model, join(dir, "m.keras"));
    await expectKerasError(
      () => k.load_model_hdf5(join(dir, "m.keras")),
      /is a Keras 3 \.keras file, not a legacy HDF5 one: use load_model\(\)/,
    );
    await k.save_model_weights_hdf5(c.model, join(dir, "only_weights.h5"));
    await expectKerasError(
      () => k.load_model(join(dir, "only_weights.h5")),
      /has no model config .*load_model_weights_hdf5\(\)/,
    );
  });
});
