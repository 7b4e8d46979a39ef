/**
 * The training step's hand-written head (engine/training/head.ts: a Dense on a rank-2 input and its loss
 * as one gradient node): it runs where it may (counted by `headPaths`), gives the tape's numbers bit for
 * bit (the logs and every weight after a fit; the tape path is the same fit with `handWrittenHead`
 * off), and falls back to the tape elsewhere.
 */
import { expect } from "chai";
import {
  compile,
  fit,
  get_weights,
  initializer_constant,
  initializer_random_normal,
  keras_model_sequential,
  loss_binary_crossentropy,
  loss_categorical_crossentropy,
  loss_sparse_categorical_crossentropy,
  predict,
  layer_dense,
  layer_gru,
  layer_lstm,
  regularizer_l2,
  set_random_seed,
  use_backend,
  type Model,
} from "../../src/index.js";
import { layer_masking } from "../../src/layers/core/index.js";
import { handWrittenHead, headPaths } from "../../src/engine/training/head.js";
import { releaseAllRuntimes } from "../../src/engine/runtime.js";

const [N, T, F] = [16, 5, 3];

/** Deterministic values in [-1, 1) (a linear congruential sequence). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

const nest = (flat: number[], shape: number[]): any =>
  shape.length === 1
    ? flat.slice(0, shape[0])
    : Array.from({ length: shape[0] }, (_, i) => {
        const size = shape.slice(1).reduce((a, b) => a * b, 1);
        return nest(flat.slice(i * size, (i + 1) * size), shape.slice(1));
      });

/** What the targets are made of: real values, 0 / 1, one-hot rows, rows of probabilities, or class indices. */
type Targets = "values" | "binary" | "one_hot" | "probabilities" | "labels";

/** Targets of `shape` for `classes` outputs from the values `v` in [-1, 1). */
function targets(kind: Targets, v: number[], shape: number[], classes: number): any {
  const classOf = (x: number) => Math.min(Math.floor(((x + 1) / 2) * classes), classes - 1);
  if (kind === "values") return nest(v, shape);
  if (kind === "binary")
    return nest(
      v.map((x) => (x > 0 ? 1 : 0)),
      shape,
    );
  if (kind === "labels") return nest(v.map(classOf), shape);
  const rows = v.length / classes;
  return Array.from({ length: rows }, (_, i) => {
    const row = v.slice(i * classes, (i + 1) * classes);
    if (kind === "one_hot") return row.map((_, k) => (k === classOf(row[0]) ? 1 : 0));
    const e = row.map((x) => Math.exp(2 * x));
    const total = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / total);
  });
}

interface Case {
  layers: () => ((m: any) => any)[];
  units?: number;
  /** The targets (default: values for mse and mae, else 0 / 1). */
  y?: Targets;
  metrics?: string[];
  /**
   * Whether to report the untrained model's predictions, to check that some reach the loss's clipping
   * bounds ("high": 1 - 1e-7; "both": also 1e-7).
   */
  predictFirst?: "high" | "both";
  /** The input's shape without the batch axis when not [T, F]. */
  inputShape?: number[];
  /** The targets' shape when not [N, units]. */
  yShape?: number[];
  loss?: string | object;
  fitArgs?: Record<string, unknown>;
}

/** Fits a seeded model (through the tape alone with `tape`); returns its logs, weights and how the head's gradient was taken. */
async function train(c: Case, tape = false) {
  const { metrics } = c;
  set_random_seed(11);
  const units = c.units ?? 1;
  let model: Model = c
    .layers()
    .reduce((m, layer) => layer(m), keras_model_sequential({ input_shape: c.inputShape ?? [T, F] }));
  model = compile(model, { optimizer: "adam", loss: c.loss ?? "mse", ...(metrics ? { metrics } : {}) });
  const inputShape = c.inputShape ?? [T, F];
  const x = nest(values(N * inputShape.reduce((a, b) => a * b, 1), 3), [N, ...inputShape]);
  const yShape = c.yShape ?? [N, units];
  const kind = c.y ?? (c.loss === "mse" || c.loss === undefined || c.loss === "mae" ? "values" : "binary");
  const y = targets(
    kind,
    values(
      yShape.reduce((a, b) => a * b, 1),
      5,
    ),
    yShape,
    units,
  );
  const initial = c.predictFirst ? ((await predict(model, x, { verbose: 0 })) as number[][]).flat() : [];
  const before = { ...headPaths };
  handWrittenHead.enabled = !tape;
  const fitted = await fit(model, x, y, {
    epochs: 2,
    batch_size: 8,
    verbose: 0,
    shuffle: false,
    ...c.fitArgs,
  }).finally(() => (handWrittenHead.enabled = true));
  return {
    logs: fitted.history.metrics,
    weights: (get_weights(fitted.model) as any[]).map((w) => JSON.stringify(w)),
    initial,
    initialWeights: (get_weights(model) as any[]).map((w) => JSON.stringify(w)),
    handWritten: headPaths.handWritten - before.handWritten,
    tape: headPaths.tape - before.tape,
  };
}

const STEPS = 4; // 2 epochs of 2 batches

for (const backend of ["wasm", "cpu"] as const) {
  describe(`training: the head's hand-written gradient on ${backend}`, function () {
    this.timeout(60_000);
    before(async () => {
      await use_backend(backend);
    });
    after(async () => {
      releaseAllRuntimes();
      await use_backend("cpu");
    });

    const SAME_BITS: [string, Case][] = [
      ["LSTM -> Dense(1)", { layers: () => [layer_lstm({ units: 6 }), layer_dense({ units: 1 })] }],
      ["GRU -> Dense(3)", { layers: () => [layer_gru({ units: 4 }), layer_dense({ units: 3 })], units: 3 }],
      [
        "LSTM -> Dense(2) without bias",
        { layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 2, use_bias: false })], units: 2 },
      ],
      [
        "a regularized LSTM -> Dense(1) (the penalty is added to the head's loss)",
        {
          layers: () => [layer_lstm({ units: 4, kernel_regularizer: regularizer_l2(0.01) }), layer_dense({ units: 1 })],
        },
      ],
      [
        "Dense(2) on the input (no layer before the head)",
        { layers: () => [layer_dense({ units: 2 })], units: 2, inputShape: [F] },
      ],
      [
        "LSTM -> sigmoid Dense(1), binary crossentropy",
        {
          layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 1, activation: "sigmoid" })],
          loss: "binary_crossentropy",
        },
      ],
      [
        "GRU -> sigmoid Dense(3), binary crossentropy (some outputs at the clipping bound 1 - 1e-7)",
        {
          layers: () => [
            layer_gru({ units: 4 }),
            layer_dense({
              units: 3,
              activation: "sigmoid",
              kernel_initializer: "ones",
              bias_initializer: initializer_constant({ value: 16 }),
            }),
          ],
          predictFirst: "high",
          units: 3,
          loss: "binary_crossentropy",
        },
      ],
      [
        "LSTM -> Dense(2), mean absolute error",
        { layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 2 })], units: 2, loss: "mae" },
      ],
      [
        "Dense(2) on the input, mean absolute error, some outputs equal to their targets (|x|'s gradient at 0)",
        {
          layers: () => [layer_dense({ units: 2, kernel_initializer: "zeros" })],
          units: 2,
          inputShape: [F],
          loss: "mae",
          y: "binary",
        },
      ],
      [
        "GRU -> softmax Dense(4), categorical crossentropy (one-hot targets)",
        {
          layers: () => [layer_gru({ units: 4 }), layer_dense({ units: 4, activation: "softmax" })],
          units: 4,
          loss: "categorical_crossentropy",
          y: "one_hot",
        },
      ],
      [
        "LSTM -> softmax Dense(3), categorical crossentropy (probability targets)",
        {
          layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 3, activation: "softmax" })],
          units: 3,
          loss: "categorical_crossentropy",
          y: "probabilities",
        },
      ],
      [
        "GRU -> softmax Dense(5), categorical crossentropy (some probabilities beyond both clipping bounds)",
        {
          layers: () => [
            layer_gru({ units: 4 }),
            layer_dense({
              units: 5,
              activation: "softmax",
              kernel_initializer: initializer_random_normal({ stddev: 300, seed: 2 }),
            }),
          ],
          predictFirst: "both",
          units: 5,
          loss: "categorical_crossentropy",
          y: "one_hot",
        },
      ],
      [
        "GRU -> softmax Dense(3), sparse categorical crossentropy (class indices of shape (batch))",
        {
          layers: () => [layer_gru({ units: 4 }), layer_dense({ units: 3, activation: "softmax" })],
          units: 3,
          yShape: [N],
          loss: "sparse_categorical_crossentropy",
          y: "labels",
        },
      ],
      [
        "LSTM -> softmax Dense(4) without bias, sparse categorical crossentropy (class indices of shape (batch, 1))",
        {
          layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 4, activation: "softmax", use_bias: false })],
          units: 4,
          yShape: [N, 1],
          loss: "sparse_categorical_crossentropy",
          y: "labels",
        },
      ],
      [
        "LSTM -> Dense(2), mean squared error, metrics mae and mse (computed in the head's node)",
        { layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 2 })], units: 2, metrics: ["mae", "mse"] },
      ],
      [
        "LSTM -> sigmoid Dense(2), binary crossentropy, metric accuracy",
        {
          layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 2, activation: "sigmoid" })],
          units: 2,
          loss: "binary_crossentropy",
          metrics: ["accuracy"],
        },
      ],
      [
        "GRU -> softmax Dense(4), categorical crossentropy, metrics accuracy and auc",
        {
          layers: () => [layer_gru({ units: 4 }), layer_dense({ units: 4, activation: "softmax" })],
          units: 4,
          loss: "categorical_crossentropy",
          y: "one_hot",
          metrics: ["accuracy", "auc"],
        },
      ],
      [
        "GRU -> softmax Dense(3), sparse categorical crossentropy, metrics accuracy and sparse_top_k_categorical_accuracy",
        {
          layers: () => [layer_gru({ units: 4 }), layer_dense({ units: 3, activation: "softmax" })],
          units: 3,
          yShape: [N],
          loss: "sparse_categorical_crossentropy",
          y: "labels",
          metrics: ["accuracy", "sparse_top_k_categorical_accuracy"],
        },
      ],
      [
        "Masking -> LSTM -> Dense(1) (the LSTM consumes the mask)",
        { layers: () => [layer_masking({ mask_value: 0.5 }), layer_lstm({ units: 4 }), layer_dense({ units: 1 })] },
      ],
    ];
    for (const [name, c] of SAME_BITS) {
      it(`${name}: runs by hand and gives the tape's logs and weights bit for bit`, async () => {
        const tape = await train(c, true);
        const hand = await train(c);
        expect(tape).to.include({ handWritten: 0, tape: 0 });
        expect(hand).to.include({ handWritten: STEPS, tape: 0 });
        expect(Object.keys(hand.logs)).to.have.length((c.metrics?.length ?? 0) + 1);
        expect(hand.logs).to.deep.equal(tape.logs);
        expect(hand.weights).to.deep.equal(tape.weights);
        if (c.predictFirst) {
          const high = hand.initial.filter((q) => q >= Math.fround(1 - 1e-7)).length;
          const low = hand.initial.filter((q) => q < Math.fround(1e-7)).length;
          expect(high).to.be.within(1, hand.initial.length - 1);
          if (c.predictFirst === "both") expect(low).to.be.within(1, hand.initial.length - 1);
        }
        // and training moved the weights
        expect(hand.weights).not.to.deep.equal(hand.initialWeights);
      });
    }

    const SAMPLE_WEIGHTED: [string, Case][] = [
      [
        "a linear head (after the model without its head ran once)",
        { layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 1 })] },
      ],
      [
        "a sigmoid head with its activation (binary crossentropy)",
        {
          layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 1, activation: "sigmoid" })],
          loss: "binary_crossentropy",
        },
      ],
      [
        "a softmax head with its activation (categorical crossentropy)",
        {
          layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 3, activation: "softmax" })],
          units: 3,
          loss: "categorical_crossentropy",
          y: "one_hot",
        },
      ],
    ];
    for (const [name, head] of SAMPLE_WEIGHTED)
      it(`sample weights leave ${name} to the tape`, async () => {
        const c: Case = { ...head, fitArgs: { sample_weight: values(N, 9).map((v) => v + 1.5) } };
        const viaBody = await train(c);
        const tape = await train(c, true);
        expect(viaBody).to.include({ handWritten: 0, tape: STEPS });
        expect(viaBody.logs).to.deep.equal(tape.logs);
        expect(viaBody.weights).to.deep.equal(tape.weights);
      });

    it("class weights leave a softmax head with sparse categorical crossentropy to the tape", async () => {
      const c: Case = {
        layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 3, activation: "softmax" })],
        units: 3,
        yShape: [N],
        loss: "sparse_categorical_crossentropy",
        y: "labels",
        fitArgs: { class_weight: { 0: 0.5, 1: 2, 2: 1 } },
      };
      const viaBody = await train(c);
      const tape = await train(c, true);
      expect(viaBody).to.include({ handWritten: 0, tape: STEPS });
      expect(viaBody.logs).to.deep.equal(tape.logs);
      expect(viaBody.weights).to.deep.equal(tape.weights);
    });

    it("an output mask leaves the head to the tape (Masking -> Dense: the mask reaches the loss)", async () => {
      const c: Case = {
        layers: () => [layer_masking({ mask_value: 0.5 }), layer_dense({ units: 1 })],
        inputShape: [F],
      };
      const viaBody = await train(c);
      const tape = await train(c, true);
      expect(viaBody).to.include({ handWritten: 0, tape: STEPS });
      expect(viaBody.logs).to.deep.equal(tape.logs);
      expect(viaBody.weights).to.deep.equal(tape.weights);
    });

    const FALLBACKS: [string, Case][] = [
      ["another loss (huber)", { layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 1 })], loss: "huber" }],
      [
        "mean absolute error after a sigmoid Dense",
        { layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 1, activation: "sigmoid" })], loss: "mae" },
      ],
      [
        "categorical crossentropy after a linear Dense",
        {
          layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 3 })],
          units: 3,
          loss: "categorical_crossentropy",
          y: "one_hot",
        },
      ],
      [
        "categorical crossentropy with label smoothing",
        {
          layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 3, activation: "softmax" })],
          units: 3,
          loss: loss_categorical_crossentropy({ label_smoothing: 0.1 }),
          y: "one_hot",
        },
      ],
      [
        "categorical crossentropy from logits",
        {
          layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 3, activation: "softmax" })],
          units: 3,
          loss: loss_categorical_crossentropy({ from_logits: true }),
          y: "one_hot",
        },
      ],
      [
        "sparse categorical crossentropy with an ignored class",
        {
          layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 3, activation: "softmax" })],
          units: 3,
          yShape: [N],
          loss: loss_sparse_categorical_crossentropy({ ignore_class: 0 }),
          y: "labels",
        },
      ],
      [
        "binary crossentropy after a linear Dense",
        { layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 1 })], loss: "binary_crossentropy" },
      ],
      [
        "binary crossentropy with label smoothing",
        {
          layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 1, activation: "sigmoid" })],
          loss: loss_binary_crossentropy({ label_smoothing: 0.1 }),
        },
      ],
      [
        "binary crossentropy from logits",
        {
          layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 1, activation: "sigmoid" })],
          loss: loss_binary_crossentropy({ from_logits: true }),
        },
      ],
      [
        "mean squared error after a sigmoid Dense",
        { layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 1, activation: "sigmoid" })] },
      ],
      [
        "a Dense with an activation",
        { layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 1, activation: "tanh" })] },
      ],
      [
        "a Dense with a kernel regularizer",
        {
          layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 1, kernel_regularizer: regularizer_l2(0.1) })],
        },
      ],
      [
        "a Dense with an activity regularizer",
        {
          layers: () => [
            layer_lstm({ units: 4 }),
            layer_dense({ units: 1, activity_regularizer: regularizer_l2(0.1) }),
          ],
        },
      ],
      ["a head that is not Dense", { layers: () => [layer_lstm({ units: 1 })] }],
      [
        "a Dense on a sequence (rank 3)",
        {
          layers: () => [layer_lstm({ units: 4, return_sequences: true }), layer_dense({ units: 1 })],
          yShape: [N, T, 1],
        },
      ],
    ];
    for (const [name, c] of FALLBACKS) {
      it(`falls back to the tape with ${name}`, async () => {
        const out = await train(c);
        expect(out).to.include({ handWritten: 0, tape: 0 });
      });
    }
  });
}
