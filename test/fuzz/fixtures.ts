/**
 * The valid values the fuzz cases start from: small models, data, a history, cells and layers, a
 * tokenizer, saved model files. Built once per process (the child process builds its own).
 *
 * Everything the cases write goes to the sandbox, a temporary folder (the process works inside it while
 * the cases run, so even a relative path lands there): the files saved for the loaders, a Keras cache
 * holding small dataset files, and whatever the cases write. Datasets never touch the network: their
 * files are in the cache, and the download origin is a local port nobody listens on, so a case that
 * would download fails at once.
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as api from "../../src/index.js";
import { tf } from "../../src/backend/tf.js";
import { overrideHashesForTests } from "../../src/data/download.js";

const DATASETS = resolve(import.meta.dirname, "../fixtures/data_utils/datasets");
/** Where a case that tries to download ends: a local port nobody listens on (refused at once). */
const UNREACHABLE_ORIGIN = "http://127.0.0.1:9/";

let sandboxDir: string | undefined;
const outside = { home: process.env.KERAS_HOME, origin: process.env.TSKERAS_DATASETS_ORIGIN, cwd: process.cwd() };
let restoreHashes: (() => void) | undefined;

/**
 * This process's sandbox (created on first use; inside `FUZZ_SANDBOX` when the parent gives one to its
 * child, so that the parent removes it even when the child is killed). Sets KERAS_HOME and the datasets'
 * origin for the process.
 */
export function sandbox(): string {
  if (sandboxDir) return sandboxDir;
  const parent = process.env.FUZZ_SANDBOX;
  sandboxDir = parent ? mkdtempSync(join(parent, "child-")) : mkdtempSync(join(tmpdir(), "tskeras-fuzz-"));
  const cache = join(sandboxDir, "keras_home", "datasets");
  mkdirSync(join(cache, "fashion-mnist"), { recursive: true });
  const hashes: Record<string, string> = {};
  for (const name of readdirSync(DATASETS)) {
    if (name === "fashion-mnist") continue;
    copyFileSync(join(DATASETS, name), join(cache, name));
    const bytes = readFileSync(join(DATASETS, name));
    hashes[name] = createHash(name.endsWith(".json") ? "md5" : "sha256")
      .update(bytes)
      .digest("hex");
  }
  for (const name of readdirSync(join(DATASETS, "fashion-mnist")))
    copyFileSync(join(DATASETS, "fashion-mnist", name), join(cache, "fashion-mnist", name));
  restoreHashes = overrideHashesForTests(hashes);
  process.env.KERAS_HOME = join(sandboxDir, "keras_home");
  process.env.TSKERAS_DATASETS_ORIGIN = UNREACHABLE_ORIGIN;
  mkdirSync(join(sandboxDir, "work"));
  return sandboxDir;
}

/** Runs the cases inside the sandbox's work folder (relative paths land there). */
export function enterSandbox(): void {
  process.chdir(join(sandbox(), "work"));
}

/** Back to where the process was, its environment restored and the sandbox removed. */
export function leaveSandbox(): void {
  process.chdir(outside.cwd);
  restoreHashes?.();
  for (const [k, v] of [
    ["KERAS_HOME", outside.home],
    ["TSKERAS_DATASETS_ORIGIN", outside.origin],
  ] as const)
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  if (sandboxDir) rmSync(sandboxDir, { recursive: true, force: true });
  sandboxDir = undefined;
  made = undefined; // its files were in the sandbox
}

/** Files below `dir` (relative paths), for the check that the cases leave no temporary files. */
export function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => statSync(join(dir, f)).isFile());
}

const seq = (n: number, t: number, f: number, phase = 0) =>
  Array.from({ length: n }, (_, i) =>
    Array.from({ length: t }, (_, j) => Array.from({ length: f }, (_, k) => Math.sin(1.3 * i + 0.7 * j + k + phase))),
  );
const mat = (n: number, f: number, phase = 0) =>
  Array.from({ length: n }, (_, i) => Array.from({ length: f }, (_, k) => Math.cos(0.9 * i + 0.4 * k + phase)));

let made: Promise<Fixtures> | undefined;

/** The fixtures of this process (built once). */
export function makeFixtures(): Promise<Fixtures> {
  made ??= buildFixtures();
  return made;
}

async function buildFixtures() {
  await api.backend_ready();
  const files = join(sandbox(), "fixtures");
  mkdirSync(files);
  const quiet = { verbose: 0 as const };
  /** Sequences (4 samples, 3 steps, 2 features) → one number. */
  const gruModel = api.compile(
    api.layer_dense(api.layer_gru(api.keras_model_sequential({ input_shape: [3, 2] }), { units: 2 }), { units: 1 }),
    { optimizer: "sgd", loss: "mse", metrics: ["mae"] },
  );
  /** Vectors (4 features) → 3 classes (softmax), sparse labels. */
  const classifier = api.compile(
    api.layer_dense(api.keras_model_sequential({ input_shape: [4] }), { units: 3, activation: "softmax" }),
    { optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"] },
  );
  /** Sequences (3 steps, 2 features) → 3 classes, sparse labels. */
  const seqClassifier = api.compile(
    api.layer_dense(api.layer_gru(api.keras_model_sequential({ input_shape: [3, 2] }), { units: 2 }), {
      units: 3,
      activation: "softmax",
    }),
    { optimizer: "sgd", loss: "sparse_categorical_crossentropy" },
  );
  /** Windows of 3 tokens (in 0..4) → one number. */
  const embedModel = api.compile(
    api.layer_dense(
      api.layer_flatten(
        api.layer_embedding(api.keras_model_sequential({ input_shape: [3] }), { input_dim: 5, output_dim: 2 }),
      ),
      { units: 1 },
    ),
    { optimizer: "sgd", loss: "mse" },
  );
  /** Two inputs (named "a", "b") → one output. */
  const a = api.layer_input({ shape: [2], name: "a" });
  const b = api.layer_input({ shape: [2], name: "b" });
  const twoInputs = api.compile(
    api.keras_model({ inputs: [a, b], outputs: api.layer_dense(api.layer_add([a, b]), { units: 1 }) }),
    { optimizer: "sgd", loss: "mse" },
  );
  const statefulModel = api.keras_model_sequential({ batch_input_shape: [2, 3, 2] });
  const stateful = api.layer_gru(statefulModel, { units: 2, stateful: true });
  const x3 = seq(4, 3, 2);
  const y1 = mat(4, 1);
  const x4 = mat(4, 4);
  const labels = [[0], [1], [2], [1]];
  const onehot = labels.map(([c]) => [0, 1, 2].map((k) => (k === c ? 1 : 0)));
  const { history } = await api.fit(gruModel, x3, y1, { epochs: 2, ...quiet, validation_split: 0.25 });
  // A stateful layer used eagerly holds states reset_states can set.
  const eagerStateful = api.layer_gru({ units: 2, stateful: true });
  eagerStateful(seq(2, 3, 2));
  // Saved for the loaders (the cases that save write elsewhere, with overwrite = TRUE).
  const saved = {
    keras: join(files, "m.keras"),
    weights: join(files, "m.weights.h5"),
    config: join(files, "m.json"),
    tfjs: join(files, "tfjs"),
    notAModel: join(files, "not_a_model.keras"),
    truncated: join(files, "truncated.keras"),
  };
  await api.save_model(gruModel, saved.keras);
  await api.save_model_weights(gruModel, saved.weights);
  await api.save_model_config(gruModel, saved.config);
  await api.save_model_tfjs(classifier, saved.tfjs);
  writeFileSync(saved.notAModel, "not a model");
  const archive = readFileSync(saved.keras);
  writeFileSync(saved.truncated, archive.subarray(0, archive.length >> 1));
  const bytes = await api.serialize_model(gruModel);
  const tokenizer = api.fit_text_tokenizer(api.text_tokenizer({ num_words: 5, oov_token: "?" }), [
    "the cat sat",
    "the dog sat on the cat",
  ]);
  return {
    gruModel,
    classifier,
    seqClassifier,
    embedModel,
    twoInputs,
    statefulModel: stateful,
    eagerStateful,
    history,
    /** (4, 3, 2) sequences, (4, 1) targets, (4, 4) vectors, (4, 1) class labels in 0..2. */
    x3,
    y1,
    x4,
    labels,
    onehot,
    pair: [mat(4, 2), mat(4, 2, 1)],
    seq,
    mat,
    tf,
    api,
    quiet,
    saved,
    bytes,
    tokenizer,
    /** A folder for the files the cases write. */
    out: join(sandbox(), "work"),
  };
}

export type Fixtures = Awaited<ReturnType<typeof buildFixtures>>;
