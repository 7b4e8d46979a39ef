/**
 * R habits that just work (issue 11): NULL for a standard argument means "not given"; a wrapper called
 * R's way (the layer first) is a layer to append; callbacks take a record like every other function;
 * keras3's `reset_state`; `get_initial_state(cell, { inputs })`. Their types: test/types/public_api.types.ts.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipe } from "fp-ts/lib/function.js";
import {
  KerasError,
  bidirectional,
  callback_csv_logger,
  callback_learning_rate_scheduler,
  compile,
  fit,
  get_initial_state,
  keras_model,
  keras_model_sequential,
  layer_dense,
  layer_input,
  layer_lstm,
  layer_lstm_cell,
  layer_simple_rnn,
  predict,
  reset_state,
  set_weights,
  time_distributed,
  type Layer,
  type Model,
  type SequentialModel,
} from "../src/index.js";
import { tf } from "../src/backend/tf.js";

/** What a layer value holds apart from its identity and generated name. */
const layerData = (l: Layer) => ({
  className: l.className,
  config: l.config,
  trainable: l.trainable,
  batchInputShape: l.batchInputShape,
  inputDtype: l.inputDtype,
  autoName: l.autoName,
});

describe("R habits (issue 11)", () => {
  describe("NULL for a standard argument means not given", () => {
    it("layer arguments: input_shape, batch_input_shape, batch_size, input_dim, dtype, name, trainable", () => {
      const given = layer_dense({
        units: 2,
        input_shape: null,
        batch_input_shape: null,
        batch_size: null,
        input_dim: null,
        dtype: null,
        name: null,
        trainable: null,
      });
      expect(layerData(given)).to.deep.equal(layerData(layer_dense({ units: 2 })));
      expect(given.name).to.match(/^dense/);
      // Given together with a real input shape, NULL batch_size keeps the batch axis unknown.
      expect(layer_dense({ units: 2, input_shape: [3], batch_size: null }).batchInputShape).to.deep.equal([null, 3]);
    });

    it("recurrent arguments: unroll, return_sequences, return_state, go_backwards, stateful", () => {
      const lstm = layer_lstm({
        units: 2,
        unroll: null,
        return_sequences: null,
        return_state: null,
        go_backwards: null,
        stateful: null,
      });
      expect(layerData(lstm)).to.deep.equal(layerData(layer_lstm({ units: 2 })));
      expect(lstm.config).to.include({ unroll: false, return_sequences: false, stateful: false });
    });

    it("model arguments: keras_model_sequential, layer_input, keras_model", () => {
      const seq = keras_model_sequential({
        input_shape: [4],
        batch_size: null,
        input_batch_shape: null,
        batch_input_shape: null,
        input_dtype: null,
        dtype: null,
        name: null,
        trainable: null,
        layers: null,
      });
      expect(seq.inputShape).to.deep.equal([null, 4]);
      expect(seq.inputDtype).to.equal("float32");
      expect(seq.name).to.match(/^sequential/);
      const input = layer_input({ shape: [4], batch_size: null, batch_shape: null, dtype: null, name: null });
      expect(input.shape).to.deep.equal([null, 4]);
      const model = keras_model({ inputs: input, outputs: layer_dense(input, { units: 1 }), name: null });
      expect(model.name).to.match(/^functional/);
    });

    it("NULL where the argument is required is refused, naming it", () => {
      // @ts-expect-error: units is required (null is not a number of units)
      expect(() => layer_dense({ units: null })).to.throw(KerasError, /layer_dense\(\).*`units`/);
    });
  });

  describe("wrappers in R's call shape return the wrapper to append", () => {
    it("bidirectional(layer_lstm({ units: 4 })) and time_distributed(layer_dense(...)) in a pipe", () => {
      const model: SequentialModel = pipe(
        keras_model_sequential({ input_shape: [5, 3] }),
        bidirectional(layer_lstm({ units: 4, return_sequences: true })),
        time_distributed(layer_dense({ units: 2 })),
      );
      expect(model.layers.map((l) => l.className)).to.deep.equal(["Bidirectional", "TimeDistributed"]);
      expect(model.shapes?.map((s) => s[0])).to.deep.equal([
        [null, 5, 8],
        [null, 5, 2],
      ]);
      const summed = bidirectional(layer_lstm({ units: 4 }), { merge_mode: "sum" });
      expect(summed.config.merge_mode).to.equal("sum");
    });

    it("the layer given twice, or arguments that are not a record, are refused", () => {
      const lstm = layer_lstm({ units: 4 });
      // @ts-expect-error: `layer` is the first argument already
      expect(() => bidirectional(lstm, { layer: lstm })).to.throw(
        KerasError,
        /bidirectional\(\).*`layer` is given twice/,
      );
      // @ts-expect-error: the wrapper's arguments are a record
      expect(() => time_distributed(layer_dense({ units: 2 }), 3)).to.throw(KerasError, /time_distributed\(\).*record/);
    });
  });

  describe("callbacks take a record like every other function", () => {
    const model = (): Model =>
      compile(keras_model_sequential({ input_shape: [1], layers: [layer_dense({ units: 1, use_bias: false })] }), {
        optimizer: "sgd",
        loss: "mse",
      });
    const X = [[1], [2]];
    const Y = [[0], [0]];

    it("callback_csv_logger({ filename }) writes the same log as callback_csv_logger(filename)", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tskeras-r-habits-"));
      try {
        const m = set_weights(model(), [[[1]]]);
        const [a, b] = [join(dir, "a.csv"), join(dir, "b.csv")];
        await fit(m, X, Y, {
          epochs: 2,
          verbose: 0,
          callbacks: [callback_csv_logger({ filename: a, separator: ";" })],
        });
        await fit(m, X, Y, { epochs: 2, verbose: 0, callbacks: [callback_csv_logger(b, { separator: ";" })] });
        // Hand-derived: w = 1, loss = mean((w x)^2) = 2.5; the sgd step (lr 0.01) w -= 0.01 * 5 w gives w = 0.95.
        const rows = readFileSync(a, "utf8").trim().split("\n");
        expect(rows.slice(0, 2)).to.deep.equal(["epoch;loss", "0;2.5"]);
        expect(rows[2]).to.match(/^1;/);
        expect(Number(rows[2].slice(2))).to.be.closeTo(2.5 * 0.95 ** 2, 1e-6);
        expect(readFileSync(b, "utf8")).to.equal(readFileSync(a, "utf8"));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("callback_learning_rate_scheduler({ schedule }) sets the rate as the positional form does", async () => {
      const seen: number[][] = [[], []];
      const schedule = (k: number) => (epoch: number, lr: number) => (seen[k].push(lr), epoch === 0 ? 0.1 : 0);
      const m = set_weights(model(), [[[1]]]);
      const a = await fit(m, X, Y, {
        epochs: 2,
        verbose: 0,
        callbacks: [callback_learning_rate_scheduler({ schedule: schedule(0) })],
      });
      const b = await fit(m, X, Y, {
        epochs: 2,
        verbose: 0,
        callbacks: [callback_learning_rate_scheduler(schedule(1))],
      });
      // Epoch 0 at rate 0.1: w = 1 - 0.1 * 5 = 0.5; epoch 1 at rate 0 leaves it.
      expect(a.history.metrics.loss[1]).to.be.closeTo(2.5 * 0.25, 1e-6);
      expect(b.history.metrics.loss).to.deep.equal(a.history.metrics.loss);
      expect(seen[0][1]).to.be.closeTo(0.1, 1e-7);
      expect(seen[1]).to.deep.equal(seen[0]);
    });

    it("a missing, doubled or misspelt argument is a KerasError naming it", () => {
      // @ts-expect-error: filename is required
      expect(() => callback_csv_logger({ separator: ";" })).to.throw(
        KerasError,
        /callback_csv_logger\(\).*`filename` is required/,
      );
      // @ts-expect-error: filename given twice
      expect(() => callback_csv_logger("a.csv", { filename: "b.csv" })).to.throw(
        KerasError,
        /`filename` is given twice/,
      );
      // @ts-expect-error: `shedule` is misspelt
      expect(() => callback_learning_rate_scheduler({ shedule: () => 1 })).to.throw(
        KerasError,
        /did you mean `schedule`/,
      );
      // @ts-expect-error: schedule is a function
      expect(() => callback_learning_rate_scheduler(0.1)).to.throw(KerasError, /`schedule` must be a function/);
    });
  });

  it("reset_state (keras3's name) zeroes a stateful model's state", async () => {
    const m = keras_model_sequential({
      batch_input_shape: [1, 2, 1],
      layers: [layer_simple_rnn({ units: 1, stateful: true, activation: null, use_bias: false })],
    });
    // Hand-set weights: h_t = x_t + 0.5 h_{t-1}; over [1, 1] from h = 0: 1.5, then from 1.5: 2.25.
    const w = set_weights(m, [[[1]], [[0.5]]]);
    const x = [[[1], [1]]];
    const p = (model: Model) => predict(model, x, { verbose: 0 });
    expect(await p(w)).to.deep.equal([[1.5]]);
    // From h = 1.5: 1 + 0.75 = 1.75, then 1 + 0.875 = 1.875.
    expect(await p(w)).to.deep.equal([[1.875]]);
    expect(await p(reset_state(w))).to.deep.equal([[1.5]]);
    // Its errors name it.
    expect(() => reset_state(layer_dense({ units: 1 }))).to.throw(
      KerasError,
      /^reset_state\(\): layer "dense.*is not stateful/,
    );
  });

  describe("get_initial_state", () => {
    it("takes the batch size from `inputs`", () => {
      const states = get_initial_state(layer_lstm_cell({ units: 3 }), {
        inputs: [
          [1, 2],
          [3, 4],
        ],
      });
      expect(states.map((s) => s.shape)).to.deep.equal([
        [2, 3],
        [2, 3],
      ]);
      expect(states.every((s) => s.sum().arraySync() === 0)).to.equal(true);
      tf.dispose(states);
    });

    it("refuses an unknown argument, naming it", () => {
      const cell = layer_lstm_cell({ units: 3 });
      // @ts-expect-error: `batch` is not an argument of get_initial_state
      expect(() => get_initial_state(cell, { batch: 2 })).to.throw(
        KerasError,
        /get_initial_state\(\).*unknown argument `batch`/,
      );
    });
  });
});
