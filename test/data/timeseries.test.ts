/**
 * timeseries_dataset_from_array (Keras 3) and timeseries_generator (Keras 2's TimeseriesGenerator, kept in
 * Keras 3 as keras.src.legacy) against Keras 3.15.1's batches, and both as x of fit / evaluate / predict.
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import {
  KerasError,
  compile,
  evaluate,
  fit,
  get_weights,
  keras_model_sequential,
  layer_dense,
  layer_simple_rnn,
  predict,
  set_random_seed,
  test_on_batch,
  timeseries_dataset_from_array,
  timeseries_generator,
  type TimeseriesBatches,
} from "../../src/index.js";
import { adaptData, disposeSet } from "../../src/engine/training/data.js";
import { windowPlanOf } from "../../src/data/timeseries.js";
import { tf } from "../../src/backend/tf.js";
import { expectArray, keras } from "./helpers.js";

/** The fixture's series: 20 rows of 2 features (0, 1), (2, 3), ...; targets 0, 10, 20, ... */
const series = Array.from({ length: 20 }, (_, i) => [2 * i, 2 * i + 1]);
const targets = Array.from({ length: 20 }, (_, i) => 10 * i);

function batchesOf(ds: TimeseriesBatches) {
  return [...ds];
}

describe("timeseries_dataset_from_array", () => {
  for (const c of keras.timeseries_dataset) {
    it(`gives Keras's batches for ${JSON.stringify(c.args)}`, () => {
      const { no_targets, short_targets, ...args } = c.args;
      const t = no_targets ? null : short_targets ? targets.slice(0, short_targets) : targets;
      const ds = timeseries_dataset_from_array(series, t, args);
      const got = batchesOf(ds);
      expect(got.length).to.equal(c.batches.length);
      expect(ds.length).to.equal(c.batches.length);
      got.forEach((b, i) => {
        expectArray(b.x, c.batches[i].x);
        if (no_targets) expect(b.y).to.equal(null);
        else expectArray(b.y!, c.batches[i].y);
      });
    });
  }

  describe("shuffle", () => {
    const s = keras.timeseries_dataset_shuffled;
    const data = Array.from({ length: s.rows }, (_, i) => [i]);
    const ds = timeseries_dataset_from_array(data, null, s.args);
    const firstOf = (pass: ReturnType<typeof batchesOf>) =>
      pass.flatMap((b) => Array.from({ length: b.x.shape[0] }, (_, i) => b.x.data[i * 3]));

    it("permutes the windows as Keras does (numpy's RandomState(seed))", () => {
      expect(Array.from(windowPlanOf(ds).first)).to.deep.equal(s.numpy_order);
    });

    it("then shuffles within a buffer of 8 batches at every pass, like tf.data: same windows, each moved less than the buffer", () => {
      const passes = [firstOf(batchesOf(ds)), firstOf(batchesOf(ds))];
      for (const [k, pass] of passes.entries()) {
        expect(
          [...pass].sort((a, b) => a - b),
          `pass ${k}`,
        ).to.deep.equal([...s.keras_passes[k]].sort((a: number, b: number) => a - b));
        pass.forEach((w, i) => expect(s.numpy_order.indexOf(w)).to.be.below(i + 8 * s.args.batch_size));
        expect(pass).to.not.deep.equal(s.numpy_order);
      }
      // Keras's own passes obey the same bound (the fixture is what tf.data did).
      for (const pass of s.keras_passes)
        pass.forEach((w: number, i: number) => expect(s.numpy_order.indexOf(w)).to.be.below(i + 8 * s.args.batch_size));
      // A seeded dataset replays the same passes; each window holds its rows.
      expect(firstOf(batchesOf(ds))).to.deep.equal(passes[0]);
      for (const b of batchesOf(ds))
        for (let i = 0; i < b.x.shape[0]; i++) {
          const first = b.x.data[i * 3];
          expect([b.x.data[i * 3 + 1], b.x.data[i * 3 + 2]]).to.deep.equal([first + 1, first + 2]);
        }
    });

    it("without a seed draws one from set_random_seed's stream", () => {
      const order = () =>
        Array.from(windowPlanOf(timeseries_dataset_from_array(data, null, { ...s.args, seed: null })).first);
      set_random_seed(3);
      const a = order();
      set_random_seed(3);
      expect(order()).to.deep.equal(a);
      set_random_seed(4);
      expect(order()).to.not.deep.equal(a);
    });
  });

  it("rejects impossible windows and bad indices with a KerasError naming the argument", () => {
    const fn = /^timeseries_dataset_from_array\(\): /;
    expect(() => timeseries_dataset_from_array(series, targets, {} as any)).to.throw(
      KerasError,
      /`sequence_length` is required/,
    );
    expect(() => timeseries_dataset_from_array(series, targets, { sequence_length: 30 })).to.throw(
      KerasError,
      /no window fits: a window spans 30 rows/,
    );
    expect(() => timeseries_dataset_from_array(series, targets, { sequence_length: 2, start_index: 20 })).to.throw(
      KerasError,
      /`start_index` \(20\) must be below the length of `data` \(20\)/,
    );
    expect(() =>
      timeseries_dataset_from_array(series, targets, { sequence_length: 2, start_index: 5, end_index: 5 }),
    ).to.throw(KerasError, /`end_index` \(5\) must be above `start_index` \(5\)/);
    expect(() => timeseries_dataset_from_array(series, targets, { sequence_length: 2, sampling_rate: 20 })).to.throw(
      KerasError,
      /`sampling_rate` \(20\) must be below/,
    );
    expect(() =>
      timeseries_dataset_from_array(series, targets.slice(0, 8), { sequence_length: 2, start_index: 4 }),
    ).to.throw(KerasError, /the window starting at row 8 has no target/);
    expect(() => timeseries_dataset_from_array([[1], [2, 3]], null, { sequence_length: 1 })).to.throw(
      KerasError,
      /`data` must be a rectangular nested array of numbers/,
    );
    expect(() => timeseries_dataset_from_array(series, targets, { sequence_length: 2, seq_stride: 2 } as any)).to.throw(
      KerasError,
      fn,
    );
  });
});

describe("timeseries_generator", () => {
  for (const c of keras.timeseries_generator) {
    it(`gives Keras 2's TimeseriesGenerator batches for ${JSON.stringify(c.args)}`, () => {
      const gen = timeseries_generator(series, targets, c.args);
      expect(gen.length).to.equal(c.length);
      const got = batchesOf(gen);
      expect(got.length).to.equal(c.batches.length);
      got.forEach((b, i) => {
        expectArray(b.x, c.batches[i].x, { dtype: false });
        expectArray(b.y!, c.batches[i].y, { dtype: false });
      });
    });
  }

  it("shuffle = TRUE draws every batch's rows at random, with their own targets", () => {
    const gen = timeseries_generator(series, targets, { length: 3, batch_size: 5, shuffle: true });
    const got = batchesOf(gen);
    expect(got.length).to.equal(gen.length);
    const rows = got.flatMap((b) => {
      expect(b.x.shape).to.deep.equal([5, 3, 2]);
      return Array.from({ length: 5 }, (_, i) => {
        const row = b.y!.data[i] / 10;
        expect(Array.from(b.x.data.subarray(i * 6, i * 6 + 6))).to.deep.equal(
          [row - 3, row - 2, row - 1].flatMap((r) => [2 * r, 2 * r + 1]),
        );
        return row;
      });
    });
    rows.forEach((r) => expect(r).to.be.within(3, 19));
    expect(new Set(rows).size).to.be.greaterThan(5);
  });

  it("rejects bad lengths and indices with a KerasError", () => {
    expect(() => timeseries_generator(series, targets.slice(1), { length: 3 })).to.throw(
      KerasError,
      /^timeseries_generator\(\): `data` and `targets` must have the same length/,
    );
    expect(() => timeseries_generator(series, targets, { length: 3, start_index: 15, end_index: 17 })).to.throw(
      KerasError,
      /`start_index` \+ `length` \(18\) is past `end_index` \(17\)/,
    );
    expect(() => timeseries_generator(series, targets, { length: 3, end_index: 20 })).to.throw(
      KerasError,
      /`end_index` \(20\) must be below/,
    );
    expect(() => timeseries_generator(series, null as any, { length: 3 })).to.throw(
      KerasError,
      /`targets` is required/,
    );
  });
});

describe("fit / evaluate / predict take the batches as x", function () {
  this.timeout(60_000);
  const model = () =>
    pipe(
      keras_model_sequential({ input_shape: [4, 2] }),
      layer_simple_rnn({ units: 3 }),
      layer_dense({ units: 1 }),
      compile({ optimizer: "sgd", loss: "mse" }),
    );
  const scaled = series.map((r) => r.map((v) => v / 40));
  const y = targets.map((v) => v / 200);
  /** The windows of the dataset as plain arrays, in order. */
  const windows = Array.from({ length: 17 }, (_, s) => scaled.slice(s, s + 4));
  const windowTargets = y.slice(0, 17).map((v) => [v]);

  it("the series goes on the device once; windows are gathered per batch", async () => {
    const ds = timeseries_dataset_from_array(scaled, y, { sequence_length: 4, batch_size: 5 });
    const set = adaptData("fit", model(), ds, undefined);
    try {
      expect(set.windows).to.equal(windowPlanOf(ds));
      expect(set.inputs[0].shape).to.deep.equal([20, 2]);
      expect(set.n).to.equal(17);
    } finally {
      disposeSet(set);
    }
  });

  it("training on a dataset equals training on its windows as arrays (same batches)", async () => {
    set_random_seed(11);
    const m = model();
    const ds = timeseries_dataset_from_array(scaled, y, { sequence_length: 4, batch_size: 5 });
    const a = await fit(m, ds, { epochs: 3, verbose: 0 });
    const b = await fit(m, windows, windowTargets, { epochs: 3, batch_size: 5, shuffle: false, verbose: 0 });
    expect(a.history.metrics.loss).to.deep.equal(b.history.metrics.loss);
    expect(get_weights(a.model)).to.deep.equal(get_weights(b.model));
    expect(await evaluate(a.model, ds, { verbose: 0 })).to.deep.equal(
      await evaluate(a.model, windows, windowTargets, { batch_size: 5, verbose: 0 }),
    );
    expect(await predict(a.model, ds, { verbose: 0 })).to.deep.equal(
      await predict(a.model, windows, { batch_size: 5, verbose: 0 }),
    );
    const val = await fit(m, ds, { epochs: 1, verbose: 0, validation_data: ds });
    expect(val.history.metrics.val_loss).to.have.length(1);
  });

  it("a generator trains like its batches; fit shuffles the order of its batches unless shuffle = FALSE", async () => {
    const m = model();
    const gen = timeseries_generator(scaled, y, { length: 4, batch_size: 5 });
    const rows = Array.from({ length: 16 }, (_, i) => i + 4);
    const x = rows.map((r) => scaled.slice(r - 4, r));
    const t = rows.map((r) => [y[r]]);
    const a = await fit(m, gen, { epochs: 2, shuffle: false, verbose: 0 });
    const b = await fit(m, x, t, { epochs: 2, batch_size: 5, shuffle: false, verbose: 0 });
    expect(get_weights(a.model)).to.deep.equal(get_weights(b.model));
    set_random_seed(1);
    const shuffled = await fit(m, gen, { epochs: 2, verbose: 0 });
    expect(get_weights(shuffled.model)).to.not.deep.equal(get_weights(a.model));
    expect(await predict(a.model, gen, { verbose: 0 })).to.deep.equal(
      await predict(a.model, x, { batch_size: 5, verbose: 0 }),
    );
  });

  it("leaves no tensor behind", async () => {
    const ds = timeseries_dataset_from_array(scaled, y, { sequence_length: 4, batch_size: 5, shuffle: true, seed: 1 });
    const gen = timeseries_generator(scaled, y, { length: 4, batch_size: 5, shuffle: true });
    const { model: trained } = await fit(model(), ds, { epochs: 1, verbose: 0 });
    await predict(trained, ds, { verbose: 0 }); // the runtime's variables exist from here on
    const before = tf.memory().numTensors;
    await evaluate(trained, ds, { verbose: 0 });
    await evaluate(trained, gen, { verbose: 0 });
    await predict(trained, gen, { verbose: 0 });
    expect([...ds, ...gen]).to.have.length(ds.length + gen.length); // iterating gathers on the host
    expect(tf.memory().numTensors).to.equal(before);
    await fit(trained, gen, { epochs: 1, verbose: 0, validation_data: ds }); // the runtime moves on to the new value
    expect(tf.memory().numTensors).to.equal(before);
  });

  it("rejects what a dataset fixes itself, with a KerasError", async () => {
    const m = model();
    const ds = timeseries_dataset_from_array(scaled, y, { sequence_length: 4, batch_size: 5 });
    for (const [call, msg] of [
      [
        () => fit(m, ds, windowTargets),
        /^fit\(\): `y` must not be given when `x` is made by timeseries_dataset_from_array\(\)/,
      ],
      [
        () => fit(m, ds, { batch_size: 4 }),
        /^fit\(\): `batch_size` cannot be used when `x` is made by timeseries_dataset_from_array\(\): its batches have batch_size 5/,
      ],
      [() => fit(m, ds, { validation_split: 0.2 }), /`validation_split` cannot be used .*give `validation_data`/],
      [() => fit(m, ds, { sample_weight: [1] }), /`sample_weight` and `class_weight` cannot be used/],
      [() => evaluate(m, ds, { batch_size: 2 }), /^evaluate\(\): `batch_size` cannot be used/],
      [() => test_on_batch(m, ds, windowTargets), /^test_on_batch\(\): `x` must be arrays \(one batch\)/],
      [
        () => fit(m, ds, { validation_data: timeseries_dataset_from_array(scaled, null, { sequence_length: 4 }) }),
        /^fit\(\): `validation_data` made without `targets` cannot be evaluated/,
      ],
      [
        () => fit(m, timeseries_dataset_from_array(scaled, null, { sequence_length: 4 }), { verbose: 0 }),
        /^fit\(\): `y` is required to train/,
      ],
    ] as const) {
      let err: unknown;
      try {
        await (call as () => Promise<unknown>)();
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(KerasError);
      expect((err as Error).message).to.match(msg as RegExp);
    }
  });
});
