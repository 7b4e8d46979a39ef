/**
 * An inference call's input copy and outputs stay in the fused kernels' arena for the next kernel call
 * (mem.ts `Mem.mirror`): a stacked recurrent layer reads the sequence below where that layer's call
 * left it, a Bidirectional wrapper's second direction reads the (length-ordered) input the first copied
 * in. The predictions are the same to the bit as with every input copied in (`setArenaMirrors(false)`),
 * each run asserting how many inputs were read from the arena (`fusedKernelCalls().inputsInArena`), and
 * nothing is left behind: tensors and the arena's size stay flat over many calls.
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import { tf } from "../../src/backend/tf.js";
import {
  bidirectional,
  keras_model,
  keras_model_sequential,
  layer_concatenate,
  layer_dense,
  layer_embedding,
  layer_gru,
  layer_input,
  layer_lstm,
  layer_masking,
  predict,
  use_backend,
  type Model,
} from "../../src/index.js";
import { fusedKernelCalls, fusedRnn } from "../../src/layers/recurrent/fused/index.js";
import { forgetForwardLayouts } from "../../src/layers/recurrent/fused/driver.js";
import { arenaBytes, setArenaMirrors } from "../../src/layers/recurrent/fused/mem.js";

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296) * 2 - 1;
  });
}

/** B sequences of T steps × F features; with `padded`, row b keeps its first (or last) 3 + (5b mod (T − 3)) steps, the rest zeros. */
function sequences(B: number, T: number, F: number, seed: number, padded?: "end" | "start"): number[][][] {
  const v = values(B * T * F, seed);
  return Array.from({ length: B }, (_, b) => {
    const L = 3 + ((5 * b) % (T - 3));
    return Array.from({ length: T }, (_, t) => {
      const live = !padded || (padded === "end" ? t < L : t >= T - L);
      return Array.from({ length: F }, (_, f) => (live ? v[(b * T + t) * F + f] : 0));
    });
  });
}

/** Tokens 1..49, right- or left-padded with 0 (row lengths 3 … T, or `length(b)`). */
function tokens(
  B: number,
  T: number,
  seed: number,
  padded: "end" | "start",
  length = (b: number) => 3 + ((5 * b) % (T - 2)),
): number[][] {
  const v = values(B * T, seed);
  return Array.from({ length: B }, (_, b) => {
    const L = length(b);
    return Array.from({ length: T }, (_, t) =>
      (padded === "end" ? t < L : t >= T - L) ? 1 + Math.floor(((v[b * T + t] + 1) / 2) * 49) : 0,
    );
  });
}

/** predict() with mirrors on and off: the predictions and how many inputs each read from the arena. */
async function bothWays(model: Model, x: unknown, batch_size: number) {
  const run = async (on: boolean) => {
    setArenaMirrors(on);
    try {
      const before = fusedKernelCalls();
      const y = await predict(model, x, { batch_size, verbose: 0 });
      const after = fusedKernelCalls();
      return {
        y,
        fromArena: after.inputsInArena - before.inputsInArena,
        masksReused: after.masksReused - before.masksReused,
        forward: after.forward - before.forward,
      };
    } finally {
      setArenaMirrors(true);
    }
  };
  const copied = await run(false);
  const mirrored = await run(true);
  expect(copied.fromArena, "mirrors off: every input copied in").to.equal(0);
  expect(copied.masksReused, "mirrors off: every mask read").to.equal(0);
  expect(mirrored.forward, "the fused forward ran").to.equal(copied.forward).and.above(0);
  expect(JSON.stringify(mirrored.y).includes("NaN"), "finite").to.equal(false);
  // nested arrays of float32 values: deep equality is equality of the bits
  expect(mirrored.y, "same bits with mirrors as without").to.deep.equal(copied.y);
  return mirrored;
}

const B = 40,
  T = 26;

for (const backend of ["wasm", "cpu"] as const) {
  describe(`${backend}: kernel inputs read where the previous kernel call left them`, function () {
    this.timeout(60000);
    before(async () => {
      await use_backend(backend);
    });

    it("stacked GRU: the second layer reads the first one's sequence in the arena, one batch and several", async () => {
      const model = pipe(
        keras_model_sequential({ input_shape: [T, 5] }),
        layer_gru({ units: 12, return_sequences: true }),
        layer_gru({ units: 8, go_backwards: true }),
        layer_dense({ units: 2 }),
      );
      const x = sequences(B, T, 5, 3);
      expect((await bothWays(model, x, B)).fromArena).to.equal(1);
      // two batches of 20 rows: one per batch
      expect((await bothWays(model, x, 20)).fromArena).to.equal(2);
    });

    for (const padded of ["end", "start"] as const)
      it(`stacked LSTM over padding at the ${padded}: the sequence stays in the arena in its length order`, async () => {
        const model = pipe(
          keras_model_sequential({ input_shape: [T, 4] }),
          layer_masking({ mask_value: 0 }),
          layer_lstm({ units: 8, return_sequences: true }),
          layer_lstm({ units: 8, return_sequences: true }),
          layer_lstm({ units: 4 }),
        );
        expect((await bothWays(model, sequences(B, T, 4, 5, padded), B)).fromArena).to.equal(2);
      });

    for (const padded of ["end", "start"] as const)
      it(`Bidirectional over Embedding(mask_zero), padding at the ${padded}: the second direction reads the first one's ordered copy`, async () => {
        const model = pipe(
          keras_model_sequential({ input_shape: [T] }),
          layer_embedding({ input_dim: 50, output_dim: 6, mask_zero: true }),
          bidirectional({ layer: layer_lstm({ units: 8 }) }),
          layer_dense({ units: 1, activation: "sigmoid" }),
        );
        const { fromArena, masksReused } = await bothWays(model, tokens(B, T, 7, padded), B);
        expect(fromArena, "x").to.equal(1);
        expect(masksReused, "the mask").to.equal(1);
      });

    for (const padded of ["end", "start"] as const)
      it(`Bidirectional over Embedding(mask_zero), padding at the ${padded}: a batch's calls are reused for the same lengths only, same bits`, async () => {
        const model = pipe(
          keras_model_sequential({ input_shape: [T] }),
          layer_embedding({ input_dim: 50, output_dim: 6, mask_zero: true }),
          bidirectional({ layer: layer_lstm({ units: 8 }) }),
          layer_dense({ units: 1, activation: "sigmoid" }),
        );
        // two batches of the same shape, every third row one step shorter in the second (calls for shorter rows
        // miss steps; for longer ones they would run masked steps, which change nothing)
        const batches = [
          (b: number) => 3 + ((5 * b) % (T - 3)),
          (b: number) => 3 + ((5 * b) % (T - 3)) - +(b % 3 === 0),
        ];
        const xs = batches.map((length, i) => tokens(B, T, 17 + i, padded, length));
        const run = async (x: number[][]) => {
          const before = fusedKernelCalls().layoutsReused;
          const y = await predict(model, x, { batch_size: B, verbose: 0 });
          return { y, reused: fusedKernelCalls().layoutsReused - before };
        };
        // each batch with no calls known (as every masked call was before); then the second batch's are known
        const fresh: Awaited<ReturnType<typeof run>>[] = [];
        for (const x of xs) {
          forgetForwardLayouts();
          fresh.push(await run(x));
        }
        const again = [await run(xs[0]), await run(xs[1]), await run(xs[0])];
        // both directions (go_backwards in the second) built afresh, then reused; the same bits either way
        again.forEach((r, i) => expect(r.y, `call ${i}`).to.deep.equal(fresh[i % 2].y));
        expect(fresh.map((r) => r.reused)).to.deep.equal([0, 0]);
        expect(again.map((r) => r.reused)).to.deep.equal([0, 2, 2]);
      });

    it("an input copied over padding holds its rows' live steps only: the same x under longer rows is copied again", () => {
      // (40 × 26 × 5 values: enough to be mirrored, mem.ts MIRROR_MIN_FLOATS)
      const x = tf.tensor3d(sequences(B, T, 5, 21));
      const kernel = tf.tensor2d(values(5 * 16, 22), [5, 16]),
        recurrentKernel = tf.tensor2d(values(4 * 16, 23), [4, 16]).mul(0.5);
      // the same row order (by length) in both masks, every row one step longer in the second
      const padding = (extra: number) =>
        tf.tensor2d(
          Array.from({ length: B }, (_, b) =>
            Array.from({ length: T }, (_, t) => +(t < 3 + ((5 * b) % (T - 4)) + extra)),
          ),
          [B, T],
          "bool",
        );
      const [shorter, longer] = [padding(0), padding(1)];
      const run = (mask: tf.Tensor) => {
        const before = fusedKernelCalls().inputsInArena;
        const y = fusedRnn({ cell: "lstm", inputs: x, kernel, recurrentKernel, bias: null, mask }).output;
        const values = Array.from(y.dataSync());
        tf.dispose(y);
        return { values, fromArena: fusedKernelCalls().inputsInArena - before };
      };
      const runs = [run(shorter), run(longer), run(longer)];
      // last: a copy of the longer rows before them would leave its steps where the shorter rows' copy goes
      setArenaMirrors(false);
      const copied = run(longer);
      setArenaMirrors(true);
      // the second call copies x again; the third reads the second's copy (the same mask: the same live steps)
      expect(runs.map((r) => r.fromArena)).to.deep.equal([0, 0, 1]);
      expect(runs[1].values, "x copied again").to.deep.equal(copied.values);
      expect(runs[2].values, "x read in the arena").to.deep.equal(copied.values);
      tf.dispose([x, kernel, recurrentKernel, shorter, longer]);
    });

    it("a sequence read by two layers: both read it in the arena", async () => {
      const input = layer_input({ shape: [T, 3] });
      const seq = layer_gru(input, { units: 8, return_sequences: true });
      const output = layer_concatenate([layer_gru(seq, { units: 4 }), layer_lstm(seq, { units: 4 })]);
      const model = keras_model({ inputs: input, outputs: output });
      expect((await bothWays(model, sequences(B, T, 3, 11), B)).fromArena).to.equal(2);
    });

    it("nothing is left behind: tensors and the arena's size stay flat over 200 predictions", async () => {
      const model = pipe(
        keras_model_sequential({ input_shape: [T] }),
        layer_embedding({ input_dim: 50, output_dim: 6, mask_zero: true }),
        bidirectional({ layer: layer_gru({ units: 8, return_sequences: true }) }),
        layer_gru({ units: 8, return_sequences: true }),
        layer_gru({ units: 4 }),
      );
      const x = tokens(B, T, 13, "end");
      const first = await predict(model, x, { batch_size: B, verbose: 0 });
      const tensors = tf.memory().numTensors,
        bytes = arenaBytes(),
        calls = fusedKernelCalls();
      for (let i = 0; i < 200; i++)
        expect(await predict(model, x, { batch_size: B, verbose: 0 }), `call ${i}`).to.deep.equal(first);
      expect(fusedKernelCalls().inputsInArena - calls.inputsInArena, "from the arena").to.equal(400);
      expect(fusedKernelCalls().masksReused - calls.masksReused, "masks read once").to.equal(600);
      expect(fusedKernelCalls().layoutsReused - calls.layoutsReused, "calls reused").to.equal(800);
      expect(tf.memory().numTensors, "tensors").to.equal(tensors);
      expect(arenaBytes(), "arena bytes").to.equal(bytes);
    });
  });
}
