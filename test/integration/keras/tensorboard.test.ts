/**
 * callback_tensorboard() against Keras 3.15.1's TensorBoard callback (issue 11): the same model, initial
 * weights, data and optimizer train here and in Keras, each writing event files; TensorBoard's own
 * EventAccumulator (and TensorFlow's CRC-checking TFRecord reader) then reads both folders, and the
 * `keras` graph summary goes through the graph plugin's keras_model_to_graph_def as in TensorBoard's
 * Graphs tab. Expected tags, steps, values and graphs are Keras's. One Python call (tensorboard.py).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import {
  callback_tensorboard,
  compile,
  evaluate,
  fit,
  get_weights,
  keras_model,
  keras_model_sequential,
  layer_concatenate,
  layer_conv_1d,
  layer_dense,
  layer_flatten,
  layer_input,
  optimizer_sgd,
  set_weights,
  type TensorBoardArgs,
} from "../../../src/index.js";
import type { Model } from "../../../src/model/model.js";
import { KERAS_PYTHON, kerasEnv, requireKeras, runKeras } from "../../helpers/keras.js";

const SCRIPT = readFileSync(join(import.meta.dirname, "tensorboard.py"), "utf8");

interface Event {
  run: string;
  tag: string;
  step: number;
  plugin: string;
  /** A scalar, histogram rows, or an image summary's [width, height, ...decoded images]. */
  value: number | number[][] | unknown[] | null;
}
interface Folder {
  files: Record<string, string[]>;
  records: Record<string, number>;
  events: Event[];
  graph: { name: string; inputs: string[]; class: string }[] | null;
}
interface Answer {
  keras: Folder;
  ours: Folder;
  keras_evaluate: Folder | null;
  ours_evaluate: Folder | null;
}

type Kind = "sequential" | "functional" | "conv";
interface Case {
  name: string;
  kind: Kind;
  args: TensorBoardArgs;
  evaluate?: boolean;
}
const CASES: Case[] = [
  { name: "epoch", kind: "sequential", args: { histogram_freq: 1, write_images: true }, evaluate: true },
  { name: "batch", kind: "sequential", args: { update_freq: "batch", write_steps_per_second: true } },
  { name: "every2", kind: "sequential", args: { update_freq: 2 } },
  { name: "functional", kind: "functional", args: { histogram_freq: 2 } },
  { name: "conv", kind: "conv", args: { histogram_freq: 1, write_images: true } },
];

function build(kind: Kind): Model {
  if (kind === "conv") {
    let m: Model = keras_model_sequential({ input_shape: [6, 2], name: "conv_seq" });
    m = layer_conv_1d(m, { filters: 2, kernel_size: 3, name: "conv" });
    m = layer_flatten(m, { name: "flat" });
    return layer_dense(m, { units: 1, name: "out" });
  }
  if (kind === "sequential") {
    let m: Model = keras_model_sequential({ input_shape: [3], name: "seq" });
    m = layer_dense(m, { units: 2, activation: "relu", name: "hidden" });
    return layer_dense(m, { units: 1, name: "out" });
  }
  const a = layer_input({ shape: [3], name: "in_a" });
  const b = layer_input({ shape: [2], name: "in_b" });
  const h = layer_dense(a, { units: 2, activation: "relu", name: "hidden" });
  const c = layer_concatenate([h, b], { name: "concat" });
  return keras_model({ inputs: [a, b], outputs: layer_dense(c, { units: 1, name: "out" }), name: "func" });
}

/** Fixed initial weights (a smooth pattern, both signs) in get_weights order. */
function patternWeights(model: Model): number[][] {
  let k = 0;
  return get_weights(model).map((w: any) => {
    const flat = (w as any[]).flat(Infinity) as number[];
    return flat.map(() => Math.sin(1.3 * ++k) * 0.8);
  });
}

function reshapeLike(flat: number[], like: unknown): unknown {
  let i = 0;
  const walk = (v: unknown): unknown => (Array.isArray(v) ? v.map(walk) : flat[i++]);
  return walk(like);
}

const xa = Array.from({ length: 10 }, (_, i) => [i / 10, ((i * 7) % 10) / 10, ((i * 3) % 10) / 10]);
const xb = Array.from({ length: 10 }, (_, i) => [Math.cos(i), ((i * 5) % 10) / 10]);
const xc = Array.from({ length: 10 }, (_, i) =>
  Array.from({ length: 6 }, (_, t) => [Math.sin(i + t), Math.cos(i * t)]),
);
const y = xa.map((r, i) => [r[0] - r[1] + 0.5 * r[2] + 0.2 * xb[i][0]]);

const key = (e: Event) => `${e.run} ${e.tag} @${e.step}`;
const keysOf = (events: Event[], keep: (e: Event) => boolean = () => true) => events.filter(keep).map(key).sort();
const find = (events: Event[], run: string, tag: string, step: number) =>
  events.find((e) => e.run === run && e.tag === tag && e.step === step);

describe("callback_tensorboard() against Keras 3's TensorBoard callback", function () {
  this.timeout(600_000);
  let root: string;
  const answers = new Map<string, Answer>();

  before(async function () {
    requireKeras(this);
    const probe = spawnSync(KERAS_PYTHON, ["-c", "import tensorboard"], { env: kerasEnv() });
    if (probe.status !== 0) {
      console.log("      (skipped: tensorboard is not installed in the Keras environment; .ci/run installs it)");
      this.skip();
    }
    root = mkdtempSync(join(tmpdir(), "tskeras-tb-"));
    const inputs = [];
    for (const c of CASES) {
      let model = build(c.kind);
      const flat = patternWeights(model);
      const weights = get_weights(model).map((w: unknown, i: number) => reshapeLike(flat[i], w));
      model = set_weights(model, weights);
      model = compile(model, { optimizer: optimizer_sgd({ learning_rate: 0.1 }), loss: "mse", metrics: ["mae"] });
      const x = c.kind === "functional" ? [xa, xb] : c.kind === "conv" ? xc : xa;
      const dir = join(root, "ours", c.name);
      const { model: trained } = await fit(model, x, y, {
        batch_size: 4,
        epochs: 3,
        validation_split: 0.2,
        shuffle: false,
        verbose: 0,
        callbacks: [callback_tensorboard(dir, c.args)],
      });
      const evaluateDir = c.evaluate ? join(root, "ours", `${c.name}-evaluate`) : undefined;
      if (evaluateDir)
        await evaluate(trained, x, y, { batch_size: 4, verbose: 0, callbacks: [callback_tensorboard(evaluateDir)] });
      inputs.push({
        kind: c.kind,
        args: c.args,
        weights,
        x,
        y,
        ours_dir: dir,
        keras_dir: join(root, "keras", c.name),
        evaluate_dir: evaluateDir,
        evaluate_keras_dir: evaluateDir && join(root, "keras", `${c.name}-evaluate`),
      });
    }
    const out = runKeras<Answer[]>(SCRIPT, inputs, { timeoutMs: 540_000 });
    CASES.forEach((c, i) => answers.set(c.name, out[i]));
  });

  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("writes one TensorFlow-named event file per run folder, which TensorFlow's reader and TensorBoard read", function () {
    for (const c of CASES) {
      const { ours, keras } = answers.get(c.name)!;
      expect(Object.keys(ours.files).sort(), c.name).to.deep.equal(Object.keys(keras.files).sort());
      for (const [run, files] of Object.entries(ours.files)) {
        expect(files, `${c.name}/${run}`).to.have.length(1);
        expect(files[0]).to.match(new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\..+\\.${process.pid}\\.\\d+\\.v2$`));
        expect(ours.records[run], `${c.name}/${run} records`).to.be.greaterThan(1);
      }
    }
  });

  it("writes Keras's scalar tags at Keras's steps: epoch_* per epoch in train/ and validation/, the learning rate, evaluation_*_vs_iterations", function () {
    for (const name of ["epoch", "batch", "functional", "conv"]) {
      const { ours, keras } = answers.get(name)!;
      expect(keysOf(ours.events), name).to.deep.equal(keysOf(keras.events));
    }
    const { ours } = answers.get("epoch")!;
    for (const step of [0, 1, 2]) {
      for (const tag of ["epoch_loss", "epoch_mae", "epoch_learning_rate"])
        expect(find(ours.events, "train", tag, step), `${tag} @${step}`).to.not.equal(undefined);
      for (const tag of ["epoch_loss", "epoch_mae"])
        expect(find(ours.events, "validation", tag, step), `${tag} @${step}`).to.not.equal(undefined);
      // Two training batches per epoch: the optimizer has made 2, 4, 6 steps when validation runs.
      expect(
        find(ours.events, "validation", "evaluation_loss_vs_iterations", 2 * (step + 1)),
        `evaluation @${step}`,
      ).to.not.equal(undefined);
    }
  });

  it("writes batch_* every update_freq batches at the global batch number, like Keras", function () {
    const batch = answers.get("batch")!;
    const batchTags = (e: Event) => e.tag.startsWith("batch_");
    expect(keysOf(batch.ours.events, batchTags)).to.deep.equal(keysOf(batch.keras.events, batchTags));
    expect(keysOf(batch.ours.events, batchTags)).to.include("train batch_loss @6");
    expect(keysOf(batch.ours.events, batchTags)).to.include("train batch_steps_per_second @1");
    const every2 = answers.get("every2")!;
    expect(keysOf(every2.ours.events, batchTags)).to.deep.equal(keysOf(every2.keras.events, batchTags));
    expect(keysOf(every2.ours.events, (e) => e.tag === "batch_loss")).to.deep.equal([
      "train batch_loss @2",
      "train batch_loss @4",
      "train batch_loss @6",
    ]);
    // The documented difference: Keras's record_if also drops evaluation summaries whose global test
    // batch is odd; every epoch's validation summaries are written here.
    const missingInKeras = keysOf(every2.ours.events).filter((k) => !keysOf(every2.keras.events).includes(k));
    expect(missingInKeras).to.deep.equal([
      "validation evaluation_loss_vs_iterations @2",
      "validation evaluation_loss_vs_iterations @6",
      "validation evaluation_mae_vs_iterations @2",
      "validation evaluation_mae_vs_iterations @6",
    ]);
  });

  it("the scalar values are Keras's (same weights, data and optimizer)", function () {
    let compared = 0;
    for (const c of CASES) {
      const { ours, keras } = answers.get(c.name)!;
      for (const e of keras.events) {
        if (e.plugin !== "scalars" || e.tag.includes("steps_per_second")) continue;
        const mine = find(ours.events, e.run, e.tag, e.step);
        expect(mine, `${c.name}: ${key(e)}`).to.not.equal(undefined);
        expect(mine!.value as number, `${c.name}: ${key(e)}`).to.be.closeTo(e.value as number, 1e-5);
        compared++;
      }
    }
    expect(compared).to.be.greaterThan(90);
  });

  it("weight histograms have Keras's tags, steps, bucket edges and counts", function () {
    for (const name of ["epoch", "functional", "conv"]) {
      const { ours, keras } = answers.get(name)!;
      const hist = (e: Event) => e.plugin === "histograms";
      expect(keysOf(ours.events, hist), name).to.deep.equal(keysOf(keras.events, hist));
      expect(keysOf(ours.events, hist).length).to.be.greaterThan(0);
      for (const e of keras.events.filter(hist)) {
        const mine = find(ours.events, e.run, e.tag, e.step)!.value as number[][];
        const want = e.value as number[][];
        expect(mine).to.have.length(30);
        mine.forEach((row, i) => {
          expect(row[0], `${key(e)} bucket ${i}`).to.be.closeTo(want[i][0], 1e-5);
          expect(row[1], `${key(e)} bucket ${i}`).to.be.closeTo(want[i][1], 1e-5);
          expect(row[2], `${key(e)} bucket ${i}`).to.equal(want[i][2]);
        });
      }
    }
  });

  it("write_images writes Keras's weight images: same tags, sizes and pixels (dense and convolution kernels)", function () {
    const images = (e: Event) => e.plugin === "images";
    for (const name of ["epoch", "conv"]) {
      const { ours, keras } = answers.get(name)!;
      expect(keysOf(ours.events, images), name).to.deep.equal(keysOf(keras.events, images));
      for (const e of keras.events.filter(images)) {
        const [width, height, ...pixels] = find(ours.events, e.run, e.tag, e.step)!.value as unknown[];
        const [kWidth, kHeight, ...kPixels] = e.value as unknown[];
        expect([width, height], key(e)).to.deep.equal([kWidth, kHeight]);
        expect(pixels, key(e)).to.have.length(kPixels.length);
        // Pixels are float weights x 255.5, truncated: weights equal to 1e-5 may land one level apart.
        const flat = (v: unknown) => (v as number[][][]).flat(2);
        pixels.forEach((img, i) =>
          flat(img).forEach((p, j) => expect(p, key(e)).to.be.closeTo(flat(kPixels[i])[j], 1)),
        );
      }
    }
    // Kernels and the first bias at every epoch; the output bias is a scalar, which Keras does not draw.
    expect(keysOf(answers.get("epoch")!.ours.events, images)).to.have.length(9);
    // The convolution kernel (3, 2, 2): one 3 x 2 image per output channel.
    const conv = find(answers.get("conv")!.ours.events, "train", "conv_seq/conv/kernel/image", 0)!.value as unknown[];
    expect(conv.slice(0, 2)).to.deep.equal(["2", "3"]);
    expect(conv).to.have.length(4);
  });

  it("TensorBoard draws the same layer graph from the `keras` summary as from Keras's (sequential and functional)", function () {
    for (const name of ["epoch", "functional"]) {
      const { ours, keras } = answers.get(name)!;
      expect(ours.graph, name).to.deep.equal(keras.graph);
    }
    expect(answers.get("functional")!.ours.graph).to.deep.include({
      name: "func/concat",
      inputs: ["func/hidden", "func/in_b"],
      class: "Concatenate",
    });
  });

  it("evaluate() writes the graph to train/ and evaluation_*_vs_iterations at the optimizer's step count to validation/", function () {
    const { ours_evaluate, keras_evaluate } = answers.get("epoch")!;
    expect(keysOf(ours_evaluate!.events)).to.deep.equal(keysOf(keras_evaluate!.events));
    expect(keysOf(ours_evaluate!.events)).to.deep.equal([
      "train keras @0",
      "validation evaluation_loss_vs_iterations @6",
      "validation evaluation_mae_vs_iterations @6",
    ]);
    for (const e of keras_evaluate!.events.filter((e) => e.plugin === "scalars"))
      expect(find(ours_evaluate!.events, e.run, e.tag, e.step)!.value as number).to.be.closeTo(e.value as number, 1e-5);
  });
});
