/**
 * callback_tensorboard() without TensorFlow: argument checks, the TFRecord framing against a record
 * TensorFlow wrote, TensorBoard's histogram bucketing on hand-derived cases, and that a run killed
 * mid-training keeps every finished epoch. Tags, steps and values against Keras itself are in
 * test/integration/keras/tensorboard.test.ts.
 */
import { expect } from "chai";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  callback_lambda,
  callback_tensorboard,
  compile,
  fit,
  keras_model_sequential,
  layer_dense,
  optimizer_sgd,
  predict,
  use_backend,
} from "../../src/index.js";
import { histogramBuckets, loadCrc, tfRecord } from "../../src/io/tfevents.js";
import { encodePng } from "../../src/io/png.js";
import { weightImage } from "../../src/engine/training/tensorboard.js";
import { inflateSync } from "node:zlib";
import { expectKerasError } from "./helpers.js";
import { temporaryFolders } from "../helpers/temporary_folders.js";

/**
 * The first record of an event file TensorFlow 2.21 wrote (Keras's TensorBoard callback): the
 * `brain.Event:2` version event, framed with its length, masked CRC32C of the length, and masked
 * CRC32C of the data.
 */
const TF_RECORD_HEX =
  "3e00000000000000d9d240e7" +
  "09000040df4fc3da411a0d627261696e2e4576656e743a3252240a2274656e736f72666c6f772e636f72652e7574696c2e6576656e74735f777269746572" +
  "ce7cbc04";

/** The payloads of a TFRecord file, checking that the lengths add up. */
function records(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    const n = view.getUint32(at, true);
    out.push(bytes.subarray(at + 12, at + 12 + n));
    at += 12 + n + 4;
  }
  expect(at).to.equal(bytes.length);
  return out;
}
const contains = (payload: Uint8Array, text: string) => Buffer.from(payload).includes(Buffer.from(text));

describe("callback_tensorboard", function () {
  this.timeout(60000);
  const dir = temporaryFolders("tskeras-tb-unit-")();
  before(async () => {
    await use_backend("wasm");
  });

  it("frames records exactly as TensorFlow does (length, masked CRC32C of length and data)", async () => {
    const want = Uint8Array.from(Buffer.from(TF_RECORD_HEX, "hex"));
    const payload = want.subarray(12, want.length - 4);
    const crc = await loadCrc("test", "crc32c");
    expect(Buffer.from(tfRecord(crc, payload)).toString("hex")).to.equal(TF_RECORD_HEX);
  });

  it("buckets histograms as TensorBoard does (hand-derived cases)", () => {
    // [0, 1, 2, 3] in 3 buckets of width 1: the maximum falls into the last bucket.
    expect(Array.from(histogramBuckets([0, 1, 2, 3], 3))).to.deep.equal([0, 1, 1, 1, 2, 1, 2, 3, 2]);
    // A single distinct value: zero-width buckets at it, every count in the last one.
    expect(Array.from(histogramBuckets([5, 5], 2))).to.deep.equal([5, 5, 0, 5, 5, 2]);
    expect(Array.from(histogramBuckets([], 2))).to.deep.equal([0, 0, 0, 0, 0, 0]);
    expect(histogramBuckets([1, 2]).length).to.equal(30 * 3);
  });

  it("lays weights out as images as Keras does (hand-derived: squeeze, transpose to wide, one image per output channel)", () => {
    const v = Float32Array.from([1, 2, 3, 4, 5, 6]);
    // A (3, 2) kernel is transposed to (2, 3): one image 2 high, 3 wide.
    const k = weightImage(v, [3, 2])!;
    expect(k.shape).to.deep.equal([1, 2, 3, 1]);
    expect(Array.from(k.data)).to.deep.equal([1, 3, 5, 2, 4, 6]);
    expect(weightImage(v, [2, 3])!.shape).to.deep.equal([1, 2, 3, 1]);
    // A bias is one column; a (1, 6) kernel squeezes to one too.
    expect(weightImage(v, [6])!.shape).to.deep.equal([1, 6, 1, 1]);
    expect(weightImage(v, [1, 6])!.shape).to.deep.equal([1, 6, 1, 1]);
    // A (kernel 3, in 1, out 2) convolution kernel squeezes to a (3, 2) matrix, drawn like a dense kernel.
    expect(weightImage(v, [3, 1, 2])!.shape).to.deep.equal([1, 2, 3, 1]);
    // A (kernel 2, in 3, out 2) kernel: one 2 x 3 image per output channel.
    const c = weightImage(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), [2, 3, 2])!;
    expect(c.shape).to.deep.equal([2, 2, 3, 1]);
    // image o holds w[i, j, o]: w is [[[0, 1], [2, 3], [4, 5]], [[6, 7], [8, 9], [10, 11]]].
    expect(Array.from(c.data)).to.deep.equal([0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11]);
    // A scalar has no image; nor has a 4-D kernel whose last axis is not 1, 3 or 4 channels.
    expect(weightImage(Float32Array.of(1), [1])).to.equal(null);
    expect(weightImage(new Float32Array(2 * 2 * 2 * 2), [2, 2, 2, 2])).to.equal(null);
  });

  it("encodes PNG: signature, IHDR, rows with filter byte 0, chunk CRC-32s", async () => {
    const pixels = Uint8Array.of(0, 10, 20, 30, 40, 50);
    const png = Buffer.from(await encodePng("test", 3, 2, 1, pixels));
    expect(png.subarray(0, 8).toString("hex")).to.equal("89504e470d0a1a0a");
    expect(png.subarray(12, 16).toString("latin1")).to.equal("IHDR");
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).to.deep.equal([3, 2, 8, 0]);
    const idatLength = png.readUInt32BE(33);
    expect(png.subarray(37, 41).toString("latin1")).to.equal("IDAT");
    expect(Array.from(inflateSync(png.subarray(41, 41 + idatLength)))).to.deep.equal([0, 0, 10, 20, 0, 30, 40, 50]);
    // Every PNG ends with the same IEND chunk, CRC included.
    expect(png.subarray(png.length - 12).toString("hex")).to.equal("0000000049454e44ae426082");
  });

  it("accepts R's call forms and Keras's argument values", () => {
    expect(callback_tensorboard().config).to.include({ log_dir: "logs", update_freq: "epoch", write_graph: true });
    expect(callback_tensorboard("runs/a", { update_freq: 5 }).config).to.include({ log_dir: "runs/a", update_freq: 5 });
    expect(callback_tensorboard({ log_dir: "runs/b", update_freq: "batch" }).config).to.include({
      log_dir: "runs/b",
      update_freq: "batch",
    });
    for (const profile_batch of [0, [0, 0] as [number, number], "0", "0,0"])
      expect(callback_tensorboard("x", { profile_batch }).class_name).to.equal("TensorBoard");
  });

  it("rejects bad arguments and refuses what it cannot do, naming the function and the argument", async () => {
    await expectKerasError(
      () => callback_tensorboard("x", { update_frq: 1 } as any),
      /callback_tensorboard/,
      /update_freq/,
    );
    await expectKerasError(
      () => callback_tensorboard("x", { update_freq: 0 }),
      /callback_tensorboard/,
      /`update_freq`/,
    );
    await expectKerasError(() => callback_tensorboard("x", { update_freq: "often" as any }), /`update_freq`/);
    await expectKerasError(() => callback_tensorboard("x", { histogram_freq: -1 }), /`histogram_freq`/);
    await expectKerasError(() => callback_tensorboard(""), /callback_tensorboard/, /`log_dir`/);
    await expectKerasError(() => callback_tensorboard(3 as any), /`log_dir`/);
    await expectKerasError(() => callback_tensorboard("a", { log_dir: "b" }), /`log_dir`/, /not both/);
    await expectKerasError(
      () => callback_tensorboard("x", { profile_batch: 5 }),
      /`profile_batch` must be 0/,
      /profiler/,
    );
    await expectKerasError(() => callback_tensorboard("x", { profile_batch: "10,20" }), /`profile_batch` must be 0/);
    await expectKerasError(() => callback_tensorboard("x", { profile_batch: [3, 1] }), /start <= stop/);
    await expectKerasError(() => callback_tensorboard("x", { embeddings_freq: 1 }), /`embeddings_freq` must be 0/);
  });

  it("keeps every finished epoch on disk when training dies mid-run", async () => {
    const logDir = join(dir, "killed");
    let model = keras_model_sequential({ input_shape: [2] });
    model = layer_dense(model, { units: 1 });
    model = compile(model, { optimizer: optimizer_sgd({ learning_rate: 0.1 }), loss: "mse" });
    const die = callback_lambda({
      on_epoch_begin: (epoch: number) => {
        if (epoch === 2) throw new Error("killed");
      },
    });
    let error: unknown;
    try {
      await fit(
        model,
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        [[1], [2], [3]],
        {
          epochs: 5,
          batch_size: 2,
          verbose: 0,
          validation_split: 0.34,
          callbacks: [callback_tensorboard(logDir, { update_freq: "batch" }), die],
        },
      );
    } catch (e) {
      error = e;
    }
    expect((error as Error)?.message).to.equal("fit(): `callbacks[[2]]`: `on_epoch_begin(epoch = 2)` failed: killed");
    expect(((error as Error).cause as Error).message).to.equal("killed");
    const runRecords = (run: string) => {
      const files = readdirSync(join(logDir, run));
      expect(files).to.have.length(1);
      return records(readFileSync(join(logDir, run, files[0])));
    };
    const train = runRecords("train");
    expect(contains(train[0], "brain.Event:2")).to.equal(true);
    expect(train.filter((r) => contains(r, "epoch_loss"))).to.have.length(2);
    expect(train.filter((r) => contains(r, "epoch_learning_rate"))).to.have.length(2);
    expect(train.filter((r) => contains(r, "batch_loss"))).to.have.length(2);
    expect(runRecords("validation").filter((r) => contains(r, "epoch_loss"))).to.have.length(2);
  });

  it("predict() writes the model graph like Keras's set_model; an unwritable log_dir is a KerasError from fit", async () => {
    let model = keras_model_sequential({ input_shape: [2] });
    model = layer_dense(model, { units: 1 });
    const logDir = join(dir, "predict");
    await predict(model, [[1, 2]], { verbose: 0, callbacks: [callback_tensorboard(logDir)] });
    expect(readdirSync(logDir)).to.deep.equal(["train"]);
    const [file] = readdirSync(join(logDir, "train"));
    const recs = records(readFileSync(join(logDir, "train", file)));
    expect(recs).to.have.length(2);
    expect(contains(recs[1], "graph_keras_model")).to.equal(true);

    const blocked = join(dir, "not-a-directory");
    writeFileSync(blocked, "");
    const compiled = compile(model, { optimizer: "sgd", loss: "mse" });
    await expectKerasError(
      () => fit(compiled, [[1, 2]], [[1]], { verbose: 0, callbacks: [callback_tensorboard(blocked)] }),
      /callback_tensorboard/,
      /cannot create the log directory/,
    );
  });
});
