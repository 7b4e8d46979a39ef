/**
 * The files of save_model_tfjs() / load_model_tfjs(): arguments checked at the door, overwrite, atomic
 * writes, and hundreds of corrupted, truncated and foreign files that must each give a KerasError (or,
 * where the damage is only in the numbers, a model) — never another error, a crash or a hang.
 */
import { expect } from "chai";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipe } from "fp-ts/lib/function.js";
import * as k from "../../src/index.js";
import type { Model } from "../../src/model/model.js";
import { Rng } from "../../src/ops/random.js";
import { withPatternWeights } from "../core/helpers.js";
import { tmp, tokens } from "./tfjs_helpers.js";

const sample = (): Model => {
  const x = k.layer_input({ shape: [6] });
  const e = k.layer_embedding(x, { input_dim: 10, output_dim: 3, mask_zero: true });
  const b = k.bidirectional(e, { layer: k.layer_gru({ units: 2, reset_after: false, return_sequences: true }) });
  const l = k.layer_lstm(b, { units: 3 });
  const c = k.layer_conv_1d(e, { filters: 2, kernel_size: 2 });
  const y = k.layer_dense(k.layer_concatenate([l, k.layer_flatten(c)]), { units: 2, activation: "softmax" });
  return k.compile(withPatternWeights(k.keras_model({ inputs: x, outputs: y })), {
    optimizer: "adam",
    loss: "categorical_crossentropy",
    metrics: ["accuracy"],
  });
};

async function expectKerasError(p: Promise<unknown>, pattern?: RegExp): Promise<k.KerasError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, "a KerasError").to.be.instanceOf(k.KerasError);
  if (pattern) expect((err as Error).message).to.match(pattern);
  return err as k.KerasError;
}

describe("save_model_tfjs() / load_model_tfjs(): arguments and files", function () {
  this.timeout(60000);
  before(() => k.backend_ready());

  it("checks arguments at the door, listing every problem", async () => {
    const model = sample();
    await expectKerasError(
      k.save_model_tfjs(model, 42 as any, { overwirte: true, include_optimizer: "yes" } as any),
      /^save_model_tfjs\(\): invalid arguments:\n {2}- unknown argument `overwirte`; did you mean `overwrite`\?\n {2}- `include_optimizer` must be TRUE or FALSE \(a boolean\), got "yes"\n {2}- `filepath` must be a path \(a non-empty string\), got 42$/,
    );
    await expectKerasError(k.save_model_tfjs(model, ""), /`filepath` must be a path \(a non-empty string\), got ""/);
    await expectKerasError(
      k.save_model_tfjs({} as any, tmp()),
      /^save_model_tfjs\(\): `model` must be a model, got \{\}$/,
    );
    await expectKerasError(k.save_model_tfjs(model, tmp(), "yes" as any), /arguments must be a record/);
    await expectKerasError(k.load_model_tfjs(tmp(), { compile: 1 } as any), /`compile` must be TRUE or FALSE/);
    await expectKerasError(k.load_model_tfjs(undefined as any), /`filepath` is required/);
    const unbuilt = pipe(k.keras_model_sequential(), k.layer_dense({ units: 2 }));
    await expectKerasError(k.save_model_tfjs(unbuilt, join(tmp(), "m")), /is not built yet/);
  });

  it("overwrite = FALSE (the default) refuses an existing model with R's message; TRUE replaces it", async () => {
    const dir = join(tmp(), "nested", "model");
    const model = sample();
    await k.save_model_tfjs(model, dir);
    const before = readFileSync(join(dir, "weights.bin"));
    const err = await expectKerasError(k.save_model_tfjs(model, dir));
    expect(err.message).to.equal(
      `save_model_tfjs(): File '${join(dir, "model.json")}' already exists (pass overwrite = TRUE to force save).`,
    );
    expect(readFileSync(join(dir, "weights.bin")).equals(before)).to.equal(true);
    const zeros = k.set_weights(
      model,
      k
        .get_weights(model)
        .map((w: unknown) => JSON.parse(JSON.stringify(w), (_k, v) => (typeof v === "number" ? 0 : v))),
    );
    await k.save_model_tfjs(zeros, dir, { overwrite: true });
    expect(readFileSync(join(dir, "weights.bin")).every((b) => b === 0)).to.equal(true);
    expect(readdirSync(dir).sort()).to.deep.equal(["model.json", "weights.bin"]);
  });

  it("writes atomically: a failed write keeps the old files and leaves no temporary file", async () => {
    const dir = join(tmp(), "model");
    await k.save_model_tfjs(sample(), dir);
    const oldJson = readFileSync(join(dir, "model.json"), "utf8");
    rmSync(join(dir, "weights.bin"));
    mkdirSync(join(dir, "weights.bin")); // a non-empty folder: its temporary file is written, the rename fails
    writeFileSync(join(dir, "weights.bin", "keep"), "kept");
    const err = await expectKerasError(
      k.save_model_tfjs(sample(), dir, { overwrite: true }),
      /cannot write ".*weights\.bin"/,
    );
    expect(err.kind).to.equal("io");
    expect(readFileSync(join(dir, "model.json"), "utf8")).to.equal(oldJson);
    expect(readdirSync(dir).sort()).to.deep.equal(["model.json", "weights.bin"]);
    expect(readFileSync(join(dir, "weights.bin", "keep"), "utf8")).to.equal("kept");
  });

  it("refuses a file where the folder should be; loads from the folder or from the model.json path", async () => {
    const file = join(tmp(), "file");
    writeFileSync(file, "x");
    await expectKerasError(k.save_model_tfjs(sample(), file), /is a file; `filepath` names the folder/);
    const dir = join(tmp(), "m");
    await k.save_model_tfjs(sample(), dir);
    const a = await k.load_model_tfjs(dir);
    const b = await k.load_model_tfjs(join(dir, "model.json"));
    expect(JSON.stringify(k.get_weights(a))).to.equal(JSON.stringify(k.get_weights(b)));
    expect(JSON.stringify(k.get_weights(a))).to.equal(JSON.stringify(k.get_weights(sample())));
    expect(a).not.to.equal(b);
    await expectKerasError(k.load_model_tfjs(join(dir, "missing")), /does not exist/);
    await expectKerasError(k.load_model_tfjs(tmp()), /has no model\.json/);
  });

  it("reads Keras 2 cell-scoped weight names (gru/gru_cell/kernel) as tfjs-layers does", async () => {
    const model = withPatternWeights(
      pipe(
        k.keras_model_sequential({ input_shape: [4, 3] }),
        k.layer_gru({ units: 2, reset_after: false, return_sequences: true }),
        k.bidirectional({ layer: k.layer_lstm({ units: 2 }) }),
      ),
    );
    const dir = join(tmp(), "m");
    await k.save_model_tfjs(model, dir);
    const json = JSON.parse(readFileSync(join(dir, "model.json"), "utf8"));
    const names = json.weightsManifest[0].weights.map((w: { name: string }) => w.name);
    expect(names).to.deep.equal([
      "gru/kernel",
      "gru/recurrent_kernel",
      "gru/bias",
      "bidirectional/forward_lstm/kernel",
      "bidirectional/forward_lstm/recurrent_kernel",
      "bidirectional/forward_lstm/bias",
      "bidirectional/backward_lstm/kernel",
      "bidirectional/backward_lstm/recurrent_kernel",
      "bidirectional/backward_lstm/bias",
    ]);
    for (const w of json.weightsManifest[0].weights)
      w.name = w.name.replace(/^gru\//, "gru/gru_cell/").replace(/(ward_lstm)\//, "$1/lstm_cell/");
    writeFileSync(join(dir, "model.json"), JSON.stringify(json));
    const loaded = await k.load_model_tfjs(dir);
    expect(JSON.stringify(k.get_weights(loaded))).to.equal(JSON.stringify(k.get_weights(model)));
  });

  it("says what is wrong with foreign and damaged files", async () => {
    const dir = join(tmp(), "m");
    await k.save_model_tfjs(sample(), dir);
    const json = JSON.parse(readFileSync(join(dir, "model.json"), "utf8"));
    const bin = readFileSync(join(dir, "weights.bin"));
    const cases: [string, (j: any) => void, RegExp][] = [
      ["graph model", (j) => (j.format = "graph-model"), /is a "graph-model" model; only TensorFlow\.js layers models/],
      ["no topology", (j) => delete j.modelTopology, /has no `modelTopology`/],
      [
        "a layer, not a model",
        (j) => (j.modelTopology = j.modelTopology.config.layers[1]),
        /holds a "Embedding", not a model/,
      ],
      ["escaping path", (j) => (j.weightsManifest[0].paths = ["../weights.bin"]), /leaves the folder of model\.json/],
      ["url path", (j) => (j.weightsManifest[0].paths = ["https://example.com/w.bin"]), /a path must be a file name/],
      [
        "float16",
        (j) => (j.weightsManifest[0].weights[0].dtype = "float16"),
        /has dtype "float16"; weights must be float32/,
      ],
      ["quantized", (j) => (j.weightsManifest[0].weights[0].quantization = { dtype: "uint8" }), /is quantized/],
      [
        "unknown layer",
        (j) => (j.modelTopology.config.layers[2].class_name = "LocallyConnected2D"),
        /unknown layer class "LocallyConnected2D"/,
      ],
      [
        "renamed weight",
        (j) => (j.weightsManifest[0].weights[0].name = "nope/embeddings"),
        /no weight "embedding\/embeddings".*\n.*weight "nope\/embeddings" belongs to no layer/,
      ],
      [
        "wrong shape",
        (j) => (j.weightsManifest[0].weights[0].shape = [5, 6]),
        /weight "embedding\/embeddings" has shape \[5, 6\], layer "embedding" needs \[10, 3\]/,
      ],
      [
        "bad optimizer",
        (j) => (j.trainingConfig.optimizer_config.class_name = "Lion"),
        /cannot compile the model from its `trainingConfig` \(.*"Lion".*\); pass compile = FALSE/,
      ],
    ];
    for (const [what, mutate, pattern] of cases) {
      const d = join(tmp(), "case");
      mkdirSync(d);
      const j = structuredClone(json);
      mutate(j);
      writeFileSync(join(d, "model.json"), JSON.stringify(j));
      writeFileSync(join(d, "weights.bin"), bin);
      const err = await expectKerasError(k.load_model_tfjs(d));
      expect(err.message, what).to.match(pattern);
      expect(err.kind, what).to.equal("io");
    }
    const d = join(tmp(), "short");
    mkdirSync(d);
    writeFileSync(join(d, "model.json"), JSON.stringify(json));
    writeFileSync(join(d, "weights.bin"), bin.subarray(0, bin.length - 4));
    await expectKerasError(
      k.load_model_tfjs(d),
      new RegExp(
        `the weights manifest describes ${bin.length} bytes, but the weights file holds ${bin.length - 4} \\(truncated\\?\\)`,
      ),
    );
    writeFileSync(join(d, "model.json"), "{ not json");
    await expectKerasError(k.load_model_tfjs(d), /is not valid JSON/);
  });

  it("survives 250 mutated or truncated model.json files and 250 damaged weights.bin files", async function () {
    this.timeout(300000);
    const dir = join(tmp(), "m");
    await k.save_model_tfjs(sample(), dir);
    const text = readFileSync(join(dir, "model.json"), "utf8");
    const json = JSON.parse(text);
    const bin = readFileSync(join(dir, "weights.bin"));
    const rng = new Rng(20261130);
    const int = (n: number) => Math.floor(rng.uniform() * n);
    const junk = [null, -1, 0, 1e9, 2.5, "", "x", "hard_sigmoid", [], [null], {}, { class_name: "Dense" }, true, false];
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, path: (string | number)[]) => {
      paths.push(path);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
      else if (v && typeof v === "object") for (const [key, x] of Object.entries(v)) walk(x, [...path, key]);
    };
    walk(json, []);

    const jsonVariants: string[] = [];
    for (let i = 0; i < 60; i++) jsonVariants.push(text.slice(0, int(text.length)));
    for (let i = 0; i < 50; i++) {
      const chars = text.split("");
      for (let n = 0; n < 1 + int(3); n++) chars[int(chars.length)] = String.fromCharCode(32 + int(95));
      jsonVariants.push(chars.join(""));
    }
    for (let i = 0; i < 140; i++) {
      const j = structuredClone(json);
      const path = paths[1 + int(paths.length - 1)];
      const parent = path.slice(0, -1).reduce((o: any, p) => o[p], j);
      const key = path[path.length - 1];
      if (int(4) === 0 && !Array.isArray(parent)) delete parent[key];
      else parent[key] = structuredClone(junk[int(junk.length)]);
      jsonVariants.push(JSON.stringify(j));
    }
    const binVariants: Uint8Array[] = [];
    for (let i = 0; i < 100; i++) binVariants.push(bin.subarray(0, int(bin.length)));
    for (let i = 0; i < 50; i++) binVariants.push(Buffer.concat([bin, Buffer.alloc(1 + int(16), 7)]));
    for (let i = 0; i < 100; i++) {
      const b = Buffer.from(bin);
      for (let n = 0; n < 1 + int(8); n++) b[int(b.length)] = int(256);
      binVariants.push(b);
    }

    const outcomes = { loaded: 0, refused: 0 };
    // One folder, its two files rewritten for each attempt.
    const d = tmp();
    const attempt = async (jsonText: string, weights: Uint8Array) => {
      writeFileSync(join(d, "model.json"), jsonText);
      writeFileSync(join(d, "weights.bin"), weights);
      let model: Model | null = null;
      try {
        model = await k.load_model_tfjs(d);
      } catch (e) {
        if (!(e instanceof k.KerasError))
          throw new Error(`not a KerasError, for model.json ${jsonText.slice(0, 200)}`, { cause: e });
        expect(e.fn, e.message).to.equal("load_model_tfjs");
        outcomes.refused++;
      }
      if (model) {
        outcomes.loaded++;
        // A model that loads runs (bit flips only change its numbers).
        await k.predict(model, tokens(6), { verbose: 0 }).catch((e: unknown) => {
          if (!(e instanceof k.KerasError)) throw e;
        });
      }
    };
    for (const v of jsonVariants) await attempt(v, bin);
    for (const v of binVariants) await attempt(text, v);
    expect(jsonVariants.length + binVariants.length).to.equal(500);
    expect(outcomes.refused).to.be.greaterThan(300);
    expect(outcomes.loaded).to.be.greaterThan(50);
    expect(statSync(dir).isDirectory()).to.equal(true);
  });
});
