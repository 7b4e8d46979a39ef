/**
 * The training step's hand-written head (engine/training/head.ts: a linear Dense on a rank-2 input and
 * the mean squared error as one gradient node): it runs where it may (counted by `headPaths`), gives the
 * tape's numbers bit for bit (losses and every weight after a fit; the tape path is the same model
 * compiled with a metric, which leaves the head to the tape), and falls back to the tape elsewhere.
 */
import { expect } from "chai";
import {
  compile,
  fit,
  get_weights,
  initializer_constant,
  keras_model_sequential,
  loss_binary_crossentropy,
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
import { headPaths } from "../../src/engine/training/head.js";
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

interface Case {
  layers: () => ((m: any) => any)[];
  units?: number;
  /** Whether to report the untrained model's predictions (to check that some reach the loss's clipping). */
  predictFirst?: boolean;
  /** The input's shape without the batch axis when not [T, F]. */
  inputShape?: number[];
  /** The targets' shape when not [N, units]. */
  yShape?: number[];
  loss?: string | object;
  fitArgs?: Record<string, unknown>;
}

/** Fits a seeded model; returns its losses, weights and how the head's gradient was taken. */
async function train(c: Case, metrics?: string[]) {
  set_random_seed(11);
  const units = c.units ?? 1;
  let model: Model = c
    .layers()
    .reduce((m, layer) => layer(m), keras_model_sequential({ input_shape: c.inputShape ?? [T, F] }));
  model = compile(model, { optimizer: "adam", loss: c.loss ?? "mse", ...(metrics ? { metrics } : {}) });
  const inputShape = c.inputShape ?? [T, F];
  const x = nest(values(N * inputShape.reduce((a, b) => a * b, 1), 3), [N, ...inputShape]);
  const yShape = c.yShape ?? [N, units];
  const y = nest(
    values(
      yShape.reduce((a, b) => a * b, 1),
      5,
    ).map((v) => (c.loss === "mse" || c.loss === undefined || c.loss === "mae" ? v : v > 0 ? 1 : 0)),
    yShape,
  );
  const initial = c.predictFirst ? ((await predict(model, x, { verbose: 0 })) as number[][]).flat() : [];
  const before = { ...headPaths };
  const fitted = await fit(model, x, y, { epochs: 2, batch_size: 8, verbose: 0, shuffle: false, ...c.fitArgs });
  return {
    losses: fitted.history.metrics.loss as number[],
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
          predictFirst: true,
          units: 3,
          loss: "binary_crossentropy",
        },
      ],
      [
        "Masking -> LSTM -> Dense(1) (the LSTM consumes the mask)",
        { layers: () => [layer_masking({ mask_value: 0.5 }), layer_lstm({ units: 4 }), layer_dense({ units: 1 })] },
      ],
    ];
    for (const [name, c] of SAME_BITS) {
      it(`${name}: runs by hand and gives the tape's losses and weights bit for bit`, async () => {
        const tape = await train(c, ["mae"]);
        const hand = await train(c);
        expect(tape).to.include({ handWritten: 0, tape: 0 });
        expect(hand).to.include({ handWritten: STEPS, tape: 0 });
        expect(hand.losses).to.deep.equal(tape.losses);
        expect(hand.weights).to.deep.equal(tape.weights);
        if (c.predictFirst) {
          const clipped = hand.initial.filter((q) => q >= Math.fround(1 - 1e-7)).length;
          expect(clipped).to.be.within(1, hand.initial.length - 1);
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
    ];
    for (const [name, head] of SAMPLE_WEIGHTED)
      it(`sample weights leave ${name} to the tape`, async () => {
        const c: Case = { ...head, fitArgs: { sample_weight: values(N, 9).map((v) => v + 1.5) } };
        const viaBody = await train(c);
        const tape = await train(c, ["mae"]);
        expect(viaBody).to.include({ handWritten: 0, tape: STEPS });
        expect(viaBody.losses).to.deep.equal(tape.losses);
        expect(viaBody.weights).to.deep.equal(tape.weights);
      });

    it("an output mask leaves the head to the tape (Masking -> Dense: the mask reaches the loss)", async () => {
      const c: Case = {
        layers: () => [layer_masking({ mask_value: 0.5 }), layer_dense({ units: 1 })],
        inputShape: [F],
      };
      const viaBody = await train(c);
      const tape = await train(c, ["mae"]);
      expect(viaBody).to.include({ handWritten: 0, tape: STEPS });
      expect(viaBody.losses).to.deep.equal(tape.losses);
      expect(viaBody.weights).to.deep.equal(tape.weights);
    });

    const FALLBACKS: [string, Case, string[]?][] = [
      ["another loss (mae)", { layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 1 })], loss: "mae" }],
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
        "a metric (it reads the outputs)",
        { layers: () => [layer_lstm({ units: 4 }), layer_dense({ units: 1 })] },
        ["mae"],
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
    for (const [name, c, metrics] of FALLBACKS) {
      it(`falls back to the tape with ${name}`, async () => {
        const out = await train(c, metrics);
        expect(out).to.include({ handWritten: 0, tape: 0 });
      });
    }
  });
}
