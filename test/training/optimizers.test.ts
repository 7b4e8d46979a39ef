import { expect } from "chai";
import { use_backend } from "../../src/index.js";
import { tf } from "../../src/backend/tf.js";
import {
  optimizer_sgd,
  optimizer_rmsprop,
  optimizer_adam,
  optimizer_adamw,
  optimizer_adagrad,
  optimizer_adadelta,
  optimizer_adamax,
  optimizer_nadam,
  learning_rate_schedule_exponential_decay,
  learning_rate_schedule_inverse_time_decay,
  learning_rate_schedule_piecewise_constant_decay,
  learning_rate_schedule_cosine_decay,
  type OptimizerSpec,
} from "../../src/api/training.js";
import { OptimizerRuntime, type OptimizerStateValue } from "../../src/ops/optimizers.js";
import {
  bidirectional,
  compile,
  constraint_nonneg,
  fit,
  get_weights,
  keras_model_sequential,
  layer_dense,
  layer_gru_cell,
  layer_lstm_cell,
  layer_rnn,
  layer_simple_rnn,
  layer_stacked_rnn_cells,
} from "../../src/index.js";
import type { Model } from "../../src/model/model.js";
import { nested, withPatternWeights } from "../core/helpers.js";
import { expectClose, expectKerasError } from "./helpers.js";

const W0 = [1.0, -0.5];
const GRADS = [
  [0.5, 0.1],
  [-0.2, 0.3],
];

/** Applies the optimizer to W0 with the two gradients; returns the weights after each step. */
function twoSteps(spec: OptimizerSpec, grads = GRADS, w0 = W0, constraint: any = null): number[][] {
  const v = tf.tidy(() => tf.variable(tf.tensor1d(w0)));
  const opt = new OptimizerRuntime(spec);
  const out: number[][] = [];
  for (const g of grads) {
    const gt = tf.tensor1d(g);
    opt.apply([{ target: { key: "w", variable: v, constraint }, grad: gt }]);
    gt.dispose();
    out.push(Array.from(v.dataSync()));
  }
  opt.dispose();
  v.dispose();
  return out;
}

/** Runs a scalar update rule (written from the published Keras 3 formulas) on each component. */
function reference(
  rule: (w: number, g: number, state: Record<string, number>, t: number) => number,
  grads = GRADS,
  w0 = W0,
): number[][] {
  const states = w0.map(() => ({}) as Record<string, number>);
  const w = [...w0];
  return grads.map((g, step) => {
    w.forEach((wi, i) => (w[i] = rule(wi, g[i], states[i], step + 1)));
    return [...w];
  });
}

describe("training: optimizers follow the Keras 3 update rules (two steps)", () => {
  before(async () => {
    await use_backend("wasm");
  });

  it("sgd: plain, momentum, nesterov (hand-computed)", () => {
    // plain lr 0.1: 1 - 0.05 = 0.95, then 0.95 + 0.02 = 0.97
    expectClose(
      twoSteps(optimizer_sgd({ learning_rate: 0.1 })).map((w) => w[0]),
      [0.95, 0.97],
    );
    // momentum 0.9: m1 = -0.05, w = 0.95; m2 = 0.9 * -0.05 + 0.02 = -0.025, w = 0.925
    expectClose(
      twoSteps(optimizer_sgd({ learning_rate: 0.1, momentum: 0.9 })).map((w) => w[0]),
      [0.95, 0.925],
    );
    // nesterov: w1 = 1 + 0.9 * -0.05 - 0.05 = 0.905; w2 = 0.905 + 0.9 * -0.025 + 0.02 = 0.9025
    expectClose(
      twoSteps(optimizer_sgd({ learning_rate: 0.1, momentum: 0.9, nesterov: true })).map((w) => w[0]),
      [0.905, 0.9025],
    );
  });

  it("sgd default learning rate is 0.01 (Keras), not tfjs's", () => {
    expectClose(twoSteps(optimizer_sgd(), [[1, 1]])[0], [0.99, -0.51]);
  });

  it("adam with epsilon 1e-7 (Keras 3 form)", () => {
    // step 1 by hand: m = 0.05, v = 0.00025, alpha = 0.1 * sqrt(0.001) / 0.1 = 0.0316228;
    // w = 1 - 0.0316228 * 0.05 / (0.0158114 + 1e-7) = 1 - 0.0999994 = 0.9000006
    expect(twoSteps(optimizer_adam({ learning_rate: 0.1 }))[0][0]).to.be.closeTo(0.9000006, 1e-6);
    const expected = reference((w, g, s, t) => {
      s.m = (s.m ?? 0) + (g - (s.m ?? 0)) * (1 - 0.9);
      s.v = (s.v ?? 0) + (g * g - (s.v ?? 0)) * (1 - 0.999);
      const alpha = (0.1 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
      return w - (alpha * s.m) / (Math.sqrt(s.v) + 1e-7);
    });
    expectClose(twoSteps(optimizer_adam({ learning_rate: 0.1 })), expected, 1e-5);
  });

  it("epsilon: Keras's 1e-7 (not tfjs's 1e-8) in adam and adamax, and inside the root in rmsprop / adagrad, seen with tiny gradients", () => {
    // With gradients of order 1e-6, sqrt(v) is of order epsilon, so epsilon changes the step by a
    // factor of ~3 (the gradients above, of order 0.1, hide it below 1e-6). The weights start at 0,
    // so the result is the update itself, compared to 1e-4 relative. Each expected value is the
    // Keras 3 formula written out here; the same formula with tfjs's 1e-8 (or with epsilon outside the
    // root for rmsprop/adagrad, the Keras 2 form) must differ by more than 20%, or the check would be blind.
    const tiny = [
      [1e-6, -2e-6],
      [3e-6, 1e-6],
    ];
    const zero = [0, 0];
    const rel = (a: number[][], e: number[][], what: string) =>
      e.flat().forEach((v, i) => expect(a.flat()[i], `${what}[${i}]`).to.be.closeTo(v, 1e-4 * Math.abs(v)));
    const far = (a: number[][], b: number[][]) =>
      a.flat().forEach((v, i) => expect(Math.abs(v - b.flat()[i])).to.be.greaterThan(0.2 * Math.abs(v)));

    const adam = (eps: number) =>
      reference(
        (w, g, s, t) => {
          s.m = (s.m ?? 0) + (g - (s.m ?? 0)) * 0.1;
          s.v = (s.v ?? 0) + (g * g - (s.v ?? 0)) * 0.001;
          const alpha = (0.1 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
          return w - (alpha * s.m) / (Math.sqrt(s.v) + eps);
        },
        tiny,
        zero,
      );
    // step 1 by hand, first weight: m = 1e-7, sqrt(v) = sqrt(1e-15) = 3.16228e-8, alpha = 0.0316228;
    // w = -0.0316228 * 1e-7 / (3.16228e-8 + 1e-7) = -0.0240253 (with 1e-8: -0.0759747)
    expect(twoSteps(optimizer_adam({ learning_rate: 0.1 }), tiny, zero)[0][0]).to.be.closeTo(-0.0240253, 1e-6);
    far(adam(1e-7), adam(1e-8));
    rel(twoSteps(optimizer_adam({ learning_rate: 0.1 }), tiny, zero), adam(1e-7), "adam");

    const rms = (eps: number, inside: boolean) =>
      reference(
        (w, g, s) => {
          s.v = 0.9 * (s.v ?? 0) + 0.1 * g * g;
          return w - (0.1 * g) / (inside ? Math.sqrt(s.v + eps) : Math.sqrt(s.v) + eps);
        },
        tiny,
        zero,
      );
    far(rms(1e-7, true), rms(1e-8, true));
    far(rms(1e-7, true), rms(1e-7, false));
    rel(twoSteps(optimizer_rmsprop({ learning_rate: 0.1 }), tiny, zero), rms(1e-7, true), "rmsprop");

    // adagrad's accumulator starts at 0.1 by default, which hides epsilon; start it at 0.
    const adagrad = (eps: number, inside: boolean) =>
      reference(
        (w, g, s) => {
          s.acc = (s.acc ?? 0) + g * g;
          return w - (0.1 * g) / (inside ? Math.sqrt(s.acc + eps) : Math.sqrt(s.acc) + eps);
        },
        tiny,
        zero,
      );
    far(adagrad(1e-7, true), adagrad(1e-8, true));
    far(adagrad(1e-7, true), adagrad(1e-7, false));
    rel(
      twoSteps(optimizer_adagrad({ learning_rate: 0.1, initial_accumulator_value: 0 }), tiny, zero),
      adagrad(1e-7, true),
      "adagrad",
    );

    // adamax divides by max|g| + epsilon (no root): gradients of order 1e-7 show epsilon.
    const tinier = tiny.map((g) => g.map((v) => v / 10));
    const adamax = (eps: number) =>
      reference(
        (w, g, s, t) => {
          s.m = (s.m ?? 0) + (g - (s.m ?? 0)) * 0.1;
          s.u = Math.max(0.999 * (s.u ?? 0), Math.abs(g));
          return w - (0.1 * s.m) / ((1 - 0.9 ** t) * (s.u + eps));
        },
        tinier,
        zero,
      );
    far(adamax(1e-7), adamax(1e-8));
    rel(twoSteps(optimizer_adamax({ learning_rate: 0.1 }), tinier, zero), adamax(1e-7), "adamax");
  });

  it("adam amsgrad keeps the running maximum of v", () => {
    const grads = [
      [1, 1],
      [0.01, 0.01],
    ];
    const expected = reference((w, g, s, t) => {
      s.m = (s.m ?? 0) + (g - (s.m ?? 0)) * 0.1;
      s.v = (s.v ?? 0) + (g * g - (s.v ?? 0)) * 0.001;
      s.vhat = Math.max(s.vhat ?? 0, s.v);
      const alpha = (0.01 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
      return w - (alpha * s.m) / (Math.sqrt(s.vhat) + 1e-7);
    }, grads);
    expectClose(twoSteps(optimizer_adam({ learning_rate: 0.01, amsgrad: true }), grads), expected, 1e-5);
  });

  it("adamw decays the weights by lr * weight_decay before the Adam step", () => {
    const expected = reference((w, g, s, t) => {
      const decayed = w - w * 0.004 * 0.1;
      s.m = (s.m ?? 0) + (g - (s.m ?? 0)) * 0.1;
      s.v = (s.v ?? 0) + (g * g - (s.v ?? 0)) * 0.001;
      const alpha = (0.1 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
      return decayed - (alpha * s.m) / (Math.sqrt(s.v) + 1e-7);
    });
    expectClose(twoSteps(optimizer_adamw({ learning_rate: 0.1 })), expected, 1e-5);
  });

  it("rmsprop: plain (rho 0.9, eps inside the root), momentum, centered", () => {
    // step 1 by hand: velocity = 0.1 * 0.25 = 0.025; w = 1 - 0.01 * 0.5 / sqrt(0.025 + 1e-7) = 1 - 0.0316227 = 0.9683773
    expect(twoSteps(optimizer_rmsprop({ learning_rate: 0.01 }))[0][0]).to.be.closeTo(0.9683773, 1e-6);
    const rms = (momentum: number, centered: boolean) =>
      reference((w, g, s) => {
        s.v = 0.9 * (s.v ?? 0) + 0.1 * g * g;
        let denom = s.v + 1e-7;
        if (centered) {
          s.a = 0.9 * (s.a ?? 0) + 0.1 * g;
          denom = s.v - s.a * s.a + 1e-7;
        }
        const inc = (0.01 * g) / Math.sqrt(denom);
        if (momentum > 0) {
          s.mom = momentum * (s.mom ?? 0) + inc;
          return w - s.mom;
        }
        return w - inc;
      });
    expectClose(twoSteps(optimizer_rmsprop({ learning_rate: 0.01 })), rms(0, false), 1e-5);
    expectClose(twoSteps(optimizer_rmsprop({ learning_rate: 0.01, momentum: 0.5 })), rms(0.5, false), 1e-5);
    expectClose(twoSteps(optimizer_rmsprop({ learning_rate: 0.01, centered: true })), rms(0, true), 1e-4);
  });

  it("adagrad (initial accumulator 0.1)", () => {
    // step 1 by hand: acc = 0.1 + 0.25 = 0.35; w = 1 - 0.1 * 0.5 / sqrt(0.35) = 1 - 0.0845154 = 0.9154846
    expect(twoSteps(optimizer_adagrad({ learning_rate: 0.1 }))[0][0]).to.be.closeTo(0.9154846, 1e-6);
    const expected = reference((w, g, s) => {
      s.acc = (s.acc ?? 0.1) + g * g;
      return w - (0.1 * g) / Math.sqrt(s.acc + 1e-7);
    });
    expectClose(twoSteps(optimizer_adagrad({ learning_rate: 0.1 })), expected, 1e-5);
  });

  it("adadelta (rho 0.95)", () => {
    const expected = reference((w, g, s) => {
      s.ag = 0.95 * (s.ag ?? 0) + 0.05 * g * g;
      const delta = (-Math.sqrt((s.ad ?? 0) + 1e-7) * g) / Math.sqrt(s.ag + 1e-7);
      s.ad = 0.95 * (s.ad ?? 0) + 0.05 * delta * delta;
      return w + 1.0 * delta;
    });
    expectClose(twoSteps(optimizer_adadelta({ learning_rate: 1 })), expected, 1e-4);
  });

  it("adamax", () => {
    const expected = reference((w, g, s, t) => {
      s.m = (s.m ?? 0) + (g - (s.m ?? 0)) * 0.1;
      s.u = Math.max(0.999 * (s.u ?? 0), Math.abs(g));
      return w - (0.1 * s.m) / ((1 - 0.9 ** t) * (s.u + 1e-7));
    });
    expectClose(twoSteps(optimizer_adamax({ learning_rate: 0.1 })), expected, 1e-5);
  });

  it("nadam (Keras 3's momentum schedule, decay 0.96)", () => {
    let uProduct = 1;
    const states: Record<string, number>[] = W0.map(() => ({}));
    const w = [...W0];
    const expected = GRADS.map((g, step) => {
      const t = step + 1;
      const uT = 0.9 * (1 - 0.5 * 0.96 ** t);
      const uT1 = 0.9 * (1 - 0.5 * 0.96 ** (t + 1));
      uProduct *= uT;
      const uProduct1 = uProduct * uT1;
      w.forEach((wi, i) => {
        const s = states[i];
        s.m = (s.m ?? 0) + (g[i] - (s.m ?? 0)) * 0.1;
        s.v = (s.v ?? 0) + (g[i] * g[i] - (s.v ?? 0)) * 0.001;
        const mHat = (uT1 * s.m) / (1 - uProduct1) + ((1 - uT) * g[i]) / (1 - uProduct);
        const vHat = s.v / (1 - 0.999 ** t);
        w[i] = wi - (0.1 * mHat) / (Math.sqrt(vHat) + 1e-7);
      });
      return [...w];
    });
    expectClose(twoSteps(optimizer_nadam({ learning_rate: 0.1 })), expected, 1e-5);
  });

  it("clipnorm, global_clipnorm and clipvalue", () => {
    // g = [3, 4], norm 5, clipnorm 1 -> [0.6, 0.8]; sgd lr 1 from [0, 0]
    expectClose(twoSteps(optimizer_sgd({ learning_rate: 1, clipnorm: 1 }), [[3, 4]], [0, 0])[0], [-0.6, -0.8]);
    expectClose(twoSteps(optimizer_sgd({ learning_rate: 1, global_clipnorm: 2.5 }), [[3, 4]], [0, 0])[0], [-1.5, -2]);
    expectClose(twoSteps(optimizer_sgd({ learning_rate: 1, clipvalue: 3.5 }), [[3, 4]], [0, 0])[0], [-3, -3.5]);
  });

  it("applies the weight's constraint after the update", () => {
    // 1 - 0.5 = 0.5 stays; -0.5 - 0.1 = -0.6 is clipped to 0 by non_neg
    expectClose(twoSteps(optimizer_sgd({ learning_rate: 1 }), [[0.5, 0.1]], W0, constraint_nonneg())[0], [0.5, 0]);
  });

  it("learning-rate schedules (formulas evaluated by hand)", () => {
    const exp = learning_rate_schedule_exponential_decay({
      initial_learning_rate: 0.1,
      decay_steps: 10,
      decay_rate: 0.5,
    });
    expect(exp.at(0)).to.be.closeTo(0.1, 1e-12);
    expect(exp.at(10)).to.be.closeTo(0.05, 1e-12);
    expect(exp.at(5)).to.be.closeTo(0.1 * Math.SQRT1_2, 1e-12);
    const stair = learning_rate_schedule_exponential_decay({
      initial_learning_rate: 0.1,
      decay_steps: 10,
      decay_rate: 0.5,
      staircase: true,
    });
    expect(stair.at(19)).to.be.closeTo(0.05, 1e-12);
    const inv = learning_rate_schedule_inverse_time_decay({
      initial_learning_rate: 0.1,
      decay_steps: 1,
      decay_rate: 0.5,
    });
    expect(inv.at(2)).to.be.closeTo(0.05, 1e-12); // 0.1 / (1 + 0.5 * 2)
    const pw = learning_rate_schedule_piecewise_constant_decay({ boundaries: [2, 5], values: [1, 0.5, 0.1] });
    expect([0, 2, 3, 5, 6].map(pw.at)).to.deep.equal([1, 1, 0.5, 0.5, 0.1]);
    const cos = learning_rate_schedule_cosine_decay({ initial_learning_rate: 1, decay_steps: 10, alpha: 0.1 });
    expect(cos.at(5)).to.be.closeTo(0.9 * 0.5 + 0.1, 1e-12); // cos(pi/2) = 0
    expect(cos.at(20)).to.be.closeTo(0.1, 1e-12);
    const warm = learning_rate_schedule_cosine_decay({
      initial_learning_rate: 0,
      decay_steps: 10,
      warmup_target: 1,
      warmup_steps: 4,
    });
    expect(warm.at(2)).to.be.closeTo(0.5, 1e-12);
    expect(warm.at(4)).to.be.closeTo(1, 1e-12);
  });

  it("a schedule drives the optimizer's step size from step 0", () => {
    const pw = learning_rate_schedule_piecewise_constant_decay({ boundaries: [0], values: [0.1, 0.01] });
    // step 0 uses 0.1, step 1 uses 0.01: 1 - 0.1 * 0.5 = 0.95, then 0.95 + 0.01 * 0.2 = 0.952
    expectClose(
      twoSteps(optimizer_sgd({ learning_rate: pw })).map((w) => w[0]),
      [0.95, 0.952],
    );
  });

  it("leaks no tensors, and validates arguments", async () => {
    const before = tf.memory().numTensors;
    twoSteps(optimizer_nadam());
    twoSteps(optimizer_rmsprop({ momentum: 0.5, centered: true }));
    expect(tf.memory().numTensors).to.equal(before);
    await expectKerasError(() => optimizer_adam({ beta_1: 1.5 }), /optimizer_adam\(\)/, /beta_1/);
    await expectKerasError(() => optimizer_sgd({ clipnorm: 1, clipvalue: 1 }), /only one of/);
    await expectKerasError(() => optimizer_adam({ learning_rte: 0.1 } as any), /learning_rate/);
  });
});

describe("training: every weight has its own optimizer slots, keyed by layer and weight index", () => {
  before(async () => {
    await use_backend("wasm");
  });

  const x = nested([3, 4, 2], 1);
  const y = nested([3, 1], 2);
  /** Trains `model` for one full batch; the weights per layer before and after, and the stored slots. */
  async function oneStep(model: Model, optimizer: OptimizerSpec) {
    const start = withPatternWeights(model);
    const compiled = compile(start, { optimizer, loss: "mse" });
    const { model: trained } = await fit(compiled, x, y, { epochs: 1, batch_size: 3, shuffle: false, verbose: 0 });
    const perLayer = (m: Model) => {
      const flat = get_weights(m).map((w) => (Array.isArray(w) ? (w.flat(Infinity) as number[]) : [w as number]));
      let k = 0;
      return m.layers.map((l) => get_weights(l).map(() => flat[k++]));
    };
    const state = (trained.compiled as any).optimizerState as OptimizerStateValue;
    return { w0: perLayer(start), w1: perLayer(trained), slots: state.slots };
  }

  it("bidirectional: forward and backward weights (same names) get separate momentum (step 1: m = w1 - w0)", async () => {
    const model = keras_model_sequential({
      input_shape: [4, 2],
      layers: [bidirectional({ layer: layer_simple_rnn({ units: 2 }) }), layer_dense({ units: 1 })],
    });
    const { w0, w1, slots } = await oneStep(model, optimizer_sgd({ learning_rate: 0.1, momentum: 0.9 }));
    // 3 weights per direction, then the dense kernel and bias; every one trainable.
    expect(Object.keys(slots).sort()).to.deep.equal(["0/0", "0/1", "0/2", "0/3", "0/4", "0/5", "1/0", "1/1"]);
    for (const [key, [momentum]] of Object.entries(slots)) {
      const [i, j] = key.split("/").map(Number);
      expect(momentum.name).to.equal("momentum");
      // SGD with momentum from zero: m1 = -lr * g and w1 = w0 + m1.
      expectClose(
        Array.from(momentum.values),
        w1[i][j].map((v, n) => v - w0[i][j][n]),
        1e-6,
      );
    }
  });

  it("stacked GRU + LSTM cells with Adam: each weight's slots have its own shape and drive its own update", async () => {
    const model = keras_model_sequential({
      input_shape: [4, 2],
      layers: [
        layer_rnn({
          cell: layer_stacked_rnn_cells({ cells: [layer_gru_cell({ units: 3 }), layer_lstm_cell({ units: 2 })] }),
        }),
        layer_dense({ units: 1 }),
      ],
    });
    const lr = 0.01;
    const { w0, w1, slots } = await oneStep(model, optimizer_adam({ learning_rate: lr }));
    expect(Object.keys(slots).sort()).to.deep.equal(["0/0", "0/1", "0/2", "0/3", "0/4", "0/5", "1/0", "1/1"]);
    for (const [key, [m, v]] of Object.entries(slots)) {
      const [i, j] = key.split("/").map(Number);
      expect(m.values.length, `${key} slot size`).to.equal(w0[i][j].length);
      // Adam's first step: alpha = lr * sqrt(1 - 0.999) / (1 - 0.9); w1 = w0 - alpha * m / (sqrt(v) + 1e-7).
      const alpha = (lr * Math.sqrt(0.001)) / 0.1;
      const expected = w0[i][j].map((w, n) => w - (alpha * m.values[n]) / (Math.sqrt(v.values[n]) + 1e-7));
      expectClose(w1[i][j], expected, 1e-6);
    }
  });

  it("restores slots keyed by layer and weight index", () => {
    const values = (a: number[]) => [{ name: "momentum", shape: [2], values: Float32Array.from(a) }];
    const opt = new OptimizerRuntime(optimizer_sgd({ learning_rate: 0.1, momentum: 0.5 }), {
      class_name: "SGD",
      iterations: 1,
      learning_rate: 0.1,
      globals: {},
      slots: { "0/0": values([0.4, -0.2]) },
    });
    const v = tf.tidy(() => tf.variable(tf.tensor1d([1, 1])));
    const g = tf.tensor1d([0, 0]);
    opt.apply([{ target: { key: "0/0", variable: v }, grad: g }]);
    // m = 0.5 * [0.4, -0.2] - 0.1 * 0 = [0.2, -0.1]
    expectClose(Array.from(v.dataSync()), [1.2, 0.9]);
    expect(Object.keys(opt.snapshot().slots)).to.deep.equal(["0/0"]);
    opt.dispose();
    tf.dispose([v, g]);
  });
});
