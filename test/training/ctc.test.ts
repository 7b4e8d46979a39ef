/**
 * CTC without Keras: the loss on cases counted by hand (every alignment listed), its explicit gradient
 * against central finite differences (float64, on the host computation itself and through tfjs), a
 * training step, k_ctc_decode on hand-decoded inputs (Graves's beam search example), and the errors.
 * (test/integration/keras/losses_metrics_optimizers.test.ts compares all of it with Keras's numbers.)
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import { tf, type Tensor } from "../../src/backend/tf.js";
import * as k from "../../src/index.js";
import { ctcLossAndGradient } from "../../src/ops/ctc.js";
import { releaseRuntime } from "../../src/engine/runtime.js";
import { expectClose, expectKerasError } from "./helpers.js";

/** Logits whose softmax is `p` (rows of probabilities). */
const logitsOf = (p: number[][][]) => p.map((seq) => seq.map((row) => row.map(Math.log)));

describe("training: CTC loss (hand-counted alignments, finite differences)", () => {
  before(async () => {
    await k.use_backend("wasm");
  });

  it("equals -log of the summed probability of every alignment", () => {
    // two classes (0 = blank), uniform steps: each alignment of T steps has probability 2^-T
    const uniform = (t: number) => Array.from({ length: t }, () => [0, 0]);
    // "1" in 2 steps: 1 1, 1 _, _ 1
    expectClose(k.loss_ctc([[1]], [uniform(2)]), [-Math.log(3 / 4)]);
    // "1 1" in 3 steps: only 1 _ 1
    expectClose(k.loss_ctc([[1, 1]], [uniform(3)]), [Math.log(8)]);
    // the empty label (all padding) in 2 steps: _ _
    expectClose(k.loss_ctc([[0, 0]], [uniform(2)]), [Math.log(4)]);
    // "1 2" in 3 steps, probabilities per step: 1 2 2, 1 1 2, 1 2 _, 1 _ 2, _ 1 2
    const p = [
      [0.1, 0.6, 0.3],
      [0.3, 0.3, 0.4],
      [0.2, 0.2, 0.6],
    ];
    const paths = [
      [1, 2, 2],
      [1, 1, 2],
      [1, 2, 0],
      [1, 0, 2],
      [0, 1, 2],
    ];
    const total = paths.reduce((s, path) => s + path.reduce((q, c, t) => q * p[t][c], 1), 0);
    expectClose(k.loss_ctc([[1, 2]], logitsOf([p])), [-Math.log(total)]);
  });

  it("a label that needs more steps than there are costs about 707 (TF's finite log 0), not Infinity", () => {
    // "1 1 1" needs 1 _ 1 _ 1: five steps, three given
    const [loss] = k.loss_ctc(
      [[1, 1, 1]],
      [
        [
          [0, 0],
          [0, 0],
          [0, 0],
        ],
      ],
    ) as number[];
    expect(loss).to.be.greaterThan(700).and.lessThan(720);
  });

  it("its gradient w.r.t. the logits matches central finite differences (host, float64)", () => {
    const rng = (i: number) => Math.sin(12.9898 * i + 78.233) * 2;
    const dims = { batch: 3, time: 5, classes: 4, maxLabel: 3 };
    const labels = [2, 2, 1, 3, 0, 0, 1, 1, 1]; // a repeat; a short label; an impossible one
    const logits = Array.from({ length: 3 * 5 * 4 }, (_, i) => rng(i));
    const weights = [1, -0.5, 0.25];
    const objective = (x: number[]) =>
      Array.from(ctcLossAndGradient(labels, x, dims).loss).reduce((s, v, b) => s + weights[b] * v, 0);
    const { gradient } = ctcLossAndGradient(labels, logits, dims);
    const h = 1e-5;
    logits.forEach((_, i) => {
      const up = [...logits];
      const down = [...logits];
      up[i] += h;
      down[i] -= h;
      const numeric = (objective(up) - objective(down)) / (2 * h);
      const analytic = gradient[i] * weights[Math.floor(i / 20)];
      expect(analytic, `d/d logit ${i}`).to.be.closeTo(numeric, 1e-6);
    });
  });

  it("tfjs differentiates loss_ctc() through its explicit gradient (float32 finite differences agree)", () => {
    const spec = k.loss_ctc();
    const yTrue = tf.tensor2d([
      [1, 2, 2],
      [3, 0, 0],
    ]);
    const base = Array.from({ length: 2 * 6 * 4 }, (_, i) => Math.cos(3.1 * i));
    const yPred = tf.tensor3d(base, [2, 6, 4]);
    const g = tf.grad((p: Tensor) => tf.sum(tf.mul(spec.perSample(yTrue, p), tf.tensor1d([1, 2]))))(yPred);
    const analytic = g.dataSync();
    const h = 1e-2;
    const objective = (x: number[]) => {
      const v = k.loss_ctc(yTrue, tf.tensor3d(x, [2, 6, 4])) as number[];
      return v[0] + 2 * v[1];
    };
    for (const i of [0, 5, 17, 30, 47]) {
      const up = [...base];
      const down = [...base];
      up[i] += h;
      down[i] -= h;
      expect(analytic[i], `d/d y_pred[${i}]`).to.be.closeTo((objective(up) - objective(down)) / (2 * h), 2e-3);
    }
    // y_true gets no gradient
    const gTrue = tf.grad((t: Tensor) => tf.sum(spec.perSample(t, yPred)))(yTrue);
    expect(Array.from(gTrue.dataSync()).every((v) => v === 0)).to.equal(true);
    tf.dispose([yTrue, yPred, g, gTrue]);
  });

  it("trains a model in fit() and leaks no tensors over further calls", async () => {
    const model = pipe(
      k.keras_model_sequential({ input_shape: [6, 3] }),
      k.layer_dense({ units: 4 }),
      k.compile({ optimizer: k.optimizer_adam({ learning_rate: 0.05 }), loss: k.loss_ctc() }),
    );
    const x = Array.from({ length: 4 }, (_, i) =>
      Array.from({ length: 6 }, (_, t) => [0, 1, 2].map((f) => Math.sin(i + t + 2 * f))),
    );
    const y = [
      [1, 2],
      [3, 0],
      [2, 2],
      [1, 3],
    ];
    const { model: trained, history } = await k.fit(model, x, y, { epochs: 20, batch_size: 4, verbose: 0 });
    const losses = history.metrics.loss;
    expect(losses[losses.length - 1]).to.be.lessThan(losses[0]);
    const logs = await k.evaluate(trained, x, y, { verbose: 0 });
    expect(logs.loss).to.be.closeTo(
      (k.loss_ctc(y, await k.predict(trained, x, { verbose: 0 })) as number[]).reduce((a, b) => a + b) / 4,
      1e-5,
    );
    // the trained model's runtime (weights, optimizer slots) now exists; nothing more may stay behind
    let current = trained;
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      current = (await k.fit(current, x, y, { epochs: 2, batch_size: 2, verbose: 0 })).model;
      await k.evaluate(current, x, y, { verbose: 0 });
      k.k_ctc_decode(await k.predict(current, x, { verbose: 0 }), [6, 6, 6, 6], { strategy: "beam_search" });
    }
    expect(tf.memory().numTensors).to.equal(before);
    releaseRuntime(current);
  });

  it("errors name loss_ctc and what is wrong with the data", async () => {
    const logits = [[[0, 0, 0]]];
    await expectKerasError(() => k.loss_ctc([1], logits), /loss_ctc\(\)/, /\(batch, max_length\)/);
    await expectKerasError(() => k.loss_ctc([[1]], [[0, 0]]), /loss_ctc\(\)/, /\(batch, time, classes\)/);
    await expectKerasError(() => k.loss_ctc([[1], [2]], logits), /`y_true` has 2 samples but `y_pred` 1/);
    await expectKerasError(() => k.loss_ctc([[3]], logits), /`y_true` holds 3 at \[0, 0\]/, /1\.\.2/);
    await expectKerasError(() => k.loss_ctc([[-1]], logits), /`y_true` holds -1 at \[0, 0\]/);
    await expectKerasError(() => k.loss_ctc({ reduction: "sum" } as any), /loss_ctc\(\)/, /reduction/);
  });
});

describe("training: k_ctc_decode (hand-decoded)", () => {
  before(async () => {
    await k.use_backend("wasm");
  });

  const logits = [
    [
      [0, 2, 0],
      [0, 2, 0],
      [3, 0, 0],
      [0, 2, 0],
      [0, 0, 2],
    ],
  ];

  it("greedy: best class per step, repeats merged, blanks (class 0) dropped, -sum of the maxima", () => {
    // best classes 1 1 0 1 2 -> 1 (1 merged) _ 1 2
    const [decoded, scores] = k.k_ctc_decode(logits, [5]);
    expect(decoded).to.deep.equal([[[1, 1, 2, -1, -1]]]);
    expectClose(scores, [[-11]]);
    expect(k.k_ctc_decode(logits, [5], { merge_repeated: false })[0]).to.deep.equal([[[1, 1, 1, 2, -1]]]);
    // only the first 2 steps
    expect(k.k_ctc_decode(logits, [2])[0]).to.deep.equal([[[1, -1, -1, -1, -1]]]);
    // the last class as the blank: class 0 is a label then
    expect(k.k_ctc_decode(logits, [5], { mask_index: null })[0]).to.deep.equal([[[1, 0, 1, -1, -1]]]);
  });

  it("beam search sums alignments: Graves's example where best path decoding fails", () => {
    // P(a) = .3, .4 and P(blank) = .7, .6: best path is "_ _" (0.42) but "a" has 0.3*.4 + .3*.6 + .7*.4 = 0.58
    const p = [
      [
        [0.3, 0.7],
        [0.4, 0.6],
      ],
    ];
    const [greedy] = k.k_ctc_decode(logitsOf(p), [2], { mask_index: 1 });
    expect(greedy).to.deep.equal([[[-1, -1]]]);
    const [decoded, scores] = k.k_ctc_decode(logitsOf(p), [2], {
      strategy: "beam_search",
      mask_index: 1,
      top_paths: 2,
    });
    expect(decoded).to.deep.equal([[[0, -1]], [[-1, -1]]]);
    expectClose(scores, [[Math.log(0.58), Math.log(0.42)]], 1e-6);
    // with the blank first (Keras's default mask_index = 0) the same problem mirrored
    const mirrored = p.map((seq) => seq.map(([a, blank]) => [blank, a]));
    const [again, againScores] = k.k_ctc_decode(logitsOf(mirrored), [2], { strategy: "beam_search", top_paths: 2 });
    expect(again).to.deep.equal([[[1, -1]], [[-1, -1]]]);
    expectClose(againScores, scores, 1e-6);
  });

  it("validates its arguments at the door; returns plain arrays and leaks nothing", async () => {
    const before = tf.memory().numTensors;
    const input = tf.tensor3d(logits);
    const lengths = tf.tensor1d([5], "int32");
    const [decoded] = k.k_ctc_decode(input, lengths);
    expect(decoded).to.deep.equal([[[1, 1, 2, -1, -1]]]);
    expect(input.isDisposed || lengths.isDisposed).to.equal(false);
    tf.dispose([input, lengths]);
    expect(tf.memory().numTensors).to.equal(before);
    await expectKerasError(
      () => k.k_ctc_decode(logits, [5], { strategy: "beam" as any }),
      /k_ctc_decode\(\)/,
      /strategy/,
    );
    await expectKerasError(() => k.k_ctc_decode(logits, [5], { beam_widht: 3 } as any), /did you mean `beam_width`/);
    await expectKerasError(() => k.k_ctc_decode(logits, [5, 5]), /vector of 1 lengths/);
    await expectKerasError(() => k.k_ctc_decode(logits, [6]), /0\.\.5/);
    await expectKerasError(() => k.k_ctc_decode(logits, [5], { mask_index: 3 }), /mask_index/, /3/);
    await expectKerasError(() => k.k_ctc_decode([[1, 2]], [1]), /\(batch, time, classes\)/);
    await expectKerasError(
      () => k.k_ctc_decode(logits, [5], { strategy: "beam_search", beam_width: 2, top_paths: 3 }),
      /top_paths/,
      /beam_width/,
    );
    // a 0-step sequence has one prefix (the empty one): two paths cannot be found, as in Keras
    await expectKerasError(() => k.k_ctc_decode(logits, [0], { strategy: "beam_search", top_paths: 2 }), /top_paths/);
  });
});
