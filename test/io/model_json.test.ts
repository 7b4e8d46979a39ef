/**
 * load_model() / save_model() with a TensorFlow.js `model.json` path: the tfjs layers format through the
 * one pair of verbs (the folder holding a model.json loads too); overwrite as save_model_tfjs().
 */
import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pipe } from "fp-ts/lib/function.js";
import * as k from "../../src/index.js";
import { use_backend } from "../../src/backend/index.js";
import { withPatternWeights } from "../core/helpers.js";
import { expectKerasError } from "../training/helpers.js";
import { temporaryFolders } from "../helpers/temporary_folders.js";

describe("load_model / save_model of a TensorFlow.js model.json", function () {
  const tmp = temporaryFolders();
  this.timeout(60_000);
  before(async () => {
    await use_backend("wasm");
  });

  it("save_model(m, 'dir/model.json') writes the tfjs format; load_model reads it (path or folder)", async () => {
    const dir = join(tmp("tskeras-modeljson-"), "web");
    const model = withPatternWeights(
      pipe(
        k.keras_model_sequential({ input_shape: [4, 3] }),
        k.layer_gru({ units: 3, reset_after: false }),
        k.layer_dense({ units: 2 }),
        k.compile({ optimizer: "adam", loss: "mse" }),
      ),
    );
    await k.save_model(model, join(dir, "model.json"));
    expect(existsSync(join(dir, "weights.bin"))).to.equal(true);
    expect(JSON.parse(readFileSync(join(dir, "model.json"), "utf8")).format).to.equal("layers-model");
    for (const path of [join(dir, "model.json"), dir]) {
      const back = await k.load_model(path);
      expect(k.get_weights(back), path).to.deep.equal(k.get_weights(model));
      expect(back.compiled, path).to.not.equal(null);
      expect((await k.load_model(path, { compile: false })).compiled).to.equal(null);
    }
    await expectKerasError(
      () => k.save_model(model, join(dir, "model.json")),
      /^save_model\(\): File '.*' already exists/,
    );
    await k.save_model(model, join(dir, "model.json"), { overwrite: true });
    // what tfjs-layers cannot run is refused, naming save_model
    const gru = pipe(k.keras_model_sequential({ input_shape: [4, 3] }), k.layer_gru({ units: 2 }));
    await expectKerasError(
      () => k.save_model(gru, join(dir, "other", "model.json")),
      /^save_model\(\): TensorFlow.js [\s\S]*reset_after = TRUE/,
    );
  });
});
