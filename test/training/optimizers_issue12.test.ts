/**
 * lion, lamb, ftrl and adafactor and the schedules polynomial_decay and cosine_decay_restarts without
 * Keras: each update written out from the published Keras 3 formula on plain numbers and compared with
 * the optimizer's steps; the schedules at steps worked out by hand; the slots each keeps; the errors.
 * (losses_metrics_optimizers.test.ts compares them with Keras's own numbers.)
 */
import { expect } from "chai";
import { tf } from "../../src/backend/tf.js";
import * as k from "../../src/index.js";
import { OptimizerRuntime, type OptimizerSpec } from "../../src/ops/optimizers.js";
import { expectClose, expectKerasError } from "./helpers.js";

const W0 = [1.0, -0.5, 0.25, 2.0];
const GRADS = [
  [0.5, 0.1, -0.3, 0.05],
  [-0.2, 0.3, -0.1, 0.4],
  [0.1, -0.25, 0.2, -0.05],
];

/** The optimizer's steps on one variable of shape `shape` (values W0); the values after each step and the slots. */
function steps(spec: OptimizerSpec, shape: number[] = [4], grads = GRADS, w0 = W0) {
  const v = tf.tidy(() => tf.variable(tf.tensor(w0, shape)));
  const opt = new OptimizerRuntime(spec);
  const out: number[][] = [];
  for (const g of grads) {
    const gt = tf.tensor(g, shape);
    opt.apply([{ target: { key: "0/0", variable: v }, grad: gt }]);
    gt.dispose();
    out.push(Array.from(v.dataSync()));
  }
  const slots = opt.snapshot().slots["0/0"];
  opt.dispose();
  v.dispose();
  return { values: out, slots };
}

/** A rule written on whole arrays: (w, g, state, t) -> new w, over the gradients. */
function reference(rule: (w: number[], g: number[], s: Record<string, any>, t: number) => number[]) {
  let w = [...W0];
  const s: Record<string, any> = {};
  return GRADS.map((g, i) => (w = rule(w, g, s, i + 1)));
}
const norm = (x: number[]) => Math.sqrt(x.reduce((a, v) => a + v * v, 0));
const rms = (x: number[]) => norm(x) / Math.sqrt(x.length);

describe("training: lion, lamb, ftrl, adafactor follow Keras 3's update rules", () => {
  before(async () => {
    await k.use_backend("wasm");
  });

  it("lion: w -= lr * sign(beta_1 m + (1 - beta_1) g); m = beta_2 m + (1 - beta_2) g", () => {
    const expected = reference((w, g, s) => {
      const m: number[] = s.m ?? [0, 0, 0, 0];
      const next = w.map((x, i) => x - 0.1 * Math.sign(0.9 * m[i] + 0.1 * g[i]));
      s.m = m.map((x, i) => 0.99 * x + 0.01 * g[i]);
      return next;
    });
    const { values, slots } = steps(k.optimizer_lion({ learning_rate: 0.1 }));
    expectClose(values, expected, 1e-6);
    expect(slots.map((s) => s.name)).to.deep.equal(["momentum"]);
  });

  it("lion takes every step, however small its momentum (tfjs wasm's Sign zeroed |x| < 1e-7)", () => {
    const tiny = [[1e-9, -3e-8, 5e-8, -1e-10]];
    const { values } = steps(k.optimizer_lion({ learning_rate: 0.5 }), [4], tiny);
    expectClose(values[0], [0.5, 0, -0.25, 2.5], 1e-6);
  });

  it("lamb: Adam's bias-corrected step times the trust ratio ||w|| / ||step||", () => {
    const [b1, b2, eps, lr] = [0.9, 0.999, 1e-7, 0.01];
    const expected = reference((w, g, s, t) => {
      s.m = (s.m ?? [0, 0, 0, 0]).map((m: number, i: number) => m + (g[i] - m) * (1 - b1));
      s.v = (s.v ?? [0, 0, 0, 0]).map((v: number, i: number) => v + (g[i] * g[i] - v) * (1 - b2));
      const update = s.m.map(
        (m: number, i: number) => m / (1 - b1 ** t) / (Math.sqrt(s.v[i] / (1 - b2 ** t)) + eps),
      ) as number[];
      const ratio = norm(w) / norm(update);
      return w.map((x, i) => x - ratio * lr * update[i]);
    });
    expectClose(steps(k.optimizer_lamb({ learning_rate: lr })).values, expected, 1e-5);
  });

  it("ftrl: the follow-the-regularized-leader closed form, with l1, l2, shrinkage and beta", () => {
    const [lr, power, l1, l2, shrink, beta] = [0.2, -0.5, 0.05, 0.02, 0.03, 0.1];
    const expected = reference((w, g, s) => {
      const acc: number[] = s.acc ?? [0.1, 0.1, 0.1, 0.1];
      const lin: number[] = s.lin ?? [0, 0, 0, 0];
      const l2all = l2 + beta / (2 * lr);
      const newAcc = acc.map((a, i) => a + g[i] * g[i]);
      s.lin = lin.map((z, i) => z + g[i] + 2 * shrink * w[i] - ((newAcc[i] ** -power - acc[i] ** -power) / lr) * w[i]);
      s.acc = newAcc;
      return s.lin.map((z: number, i: number) => {
        const quadratic = newAcc[i] ** -power / lr + 2 * l2all;
        return (Math.max(-l1, Math.min(l1, z)) - z) / quadratic;
      });
    });
    const spec = k.optimizer_ftrl({
      learning_rate: lr,
      l1_regularization_strength: l1,
      l2_regularization_strength: l2,
      l2_shrinkage_regularization_strength: shrink,
      beta,
    });
    const { values, slots } = steps(spec);
    expectClose(values, expected, 1e-5);
    expect(slots.map((s) => s.name)).to.deep.equal(["accumulator", "linear"]);
  });

  it("adafactor on a vector: rho = min(lr, 1/sqrt(t)), alpha = max(eps_2, rms(w)) * rho, clipped update", () => {
    const expected = reference((w, g, s, t) => {
      const beta2 = 1 - t ** -0.8;
      s.v = (s.v ?? [0, 0, 0, 0]).map((v: number, i: number) => beta2 * v + (1 - beta2) * (g[i] * g[i] + 1e-30));
      const u = g.map((x, i) => x / Math.sqrt(s.v[i]));
      const uHat = u.map((x) => x / Math.max(1, rms(u) / 1));
      const alpha = Math.max(1e-3, rms(w)) * Math.min(0.3, 1 / Math.sqrt(t));
      return w.map((x, i) => x - alpha * uHat[i]);
    });
    const { values, slots } = steps(k.optimizer_adafactor({ learning_rate: 0.3 }));
    expectClose(values, expected, 1e-5);
    // Keras keeps unused scalar r and c for a vector
    expect(slots.map((s) => [s.name, s.shape])).to.deep.equal([
      ["r", []],
      ["c", []],
      ["velocity", [4]],
    ]);
  });

  it("adafactor on a matrix: the second moment from row and column averages of g^2", () => {
    const g = [[0.5, 0.1, -0.3, 0.05]];
    const { values, slots } = steps(k.optimizer_adafactor({ learning_rate: 0.3 }), [2, 2], g);
    // t = 1: beta_2 = 0, so r = row means of g^2, c = column means, v = (r / mean(r)) outer c
    const sq = g[0].map((x) => x * x + 1e-30);
    const r = [(sq[0] + sq[1]) / 2, (sq[2] + sq[3]) / 2];
    const c = [(sq[0] + sq[2]) / 2, (sq[1] + sq[3]) / 2];
    const rMean = (r[0] + r[1]) / 2;
    const v = [(r[0] / rMean) * c[0], (r[0] / rMean) * c[1], (r[1] / rMean) * c[0], (r[1] / rMean) * c[1]];
    const u = g[0].map((x, i) => x / Math.sqrt(v[i]));
    const uHat = u.map((x) => x / Math.max(1, rms(u)));
    const alpha = Math.max(1e-3, rms(W0)) * 0.3;
    expectClose(
      values[0],
      W0.map((w, i) => w - alpha * uHat[i]),
      1e-5,
    );
    expect(slots.map((s) => [s.name, s.shape])).to.deep.equal([
      ["r", [2]],
      ["c", [2]],
      ["velocity", [2, 2]],
    ]);
    expectClose(Array.from(slots[0].values), r, 1e-6);
    expectClose(Array.from(slots[1].values), c, 1e-6);
  });

  it("the options every optimizer takes: weight decay and gradient clipping apply before the rule", () => {
    // weight decay: w *= 1 - wd * lr first, then Lion's step
    const decayed = steps(k.optimizer_lion({ learning_rate: 0.1, weight_decay: 0.5 }), [4], [GRADS[0]]).values[0];
    expectClose(
      decayed,
      W0.map((w, i) => w * (1 - 0.05) - 0.1 * Math.sign(GRADS[0][i])),
      1e-6,
    );
    // clipvalue bounds each gradient component before Ftrl sees it
    const clipped = steps(k.optimizer_ftrl({ learning_rate: 0.2, clipvalue: 0.1 }), [4], [GRADS[0]]).values[0];
    const unclippedGrads = [GRADS[0].map((x) => Math.max(-0.1, Math.min(0.1, x)))];
    expectClose(clipped, steps(k.optimizer_ftrl({ learning_rate: 0.2 }), [4], unclippedGrads).values[0], 1e-6);
  });

  it("defaults and errors as Keras", async () => {
    expect(k.optimizer_lion().config).to.include({ learning_rate: 0.001, beta_1: 0.9, beta_2: 0.99 });
    expect(k.optimizer_lamb().config).to.include({ learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 });
    expect(k.optimizer_ftrl().config).to.include({
      learning_rate: 0.001,
      learning_rate_power: -0.5,
      initial_accumulator_value: 0.1,
      l1_regularization_strength: 0,
      beta: 0,
    });
    expect(k.optimizer_adafactor().config).to.include({
      beta_2_decay: -0.8,
      epsilon_1: 1e-30,
      epsilon_2: 1e-3,
      clip_threshold: 1,
      relative_step: true,
    });
    expect(
      k.compile(k.keras_model_sequential({ input_shape: [1], layers: [k.layer_dense({ units: 1 })] }), {
        optimizer: "lion",
        loss: "mse",
      }).compiled,
    ).to.have.nested.property("optimizer.class_name", "Lion");
    await expectKerasError(() => k.optimizer_lion({ beta_1: 1.5 }), /optimizer_lion\(\)/, /beta_1/, /sign SGD/);
    await expectKerasError(() => k.optimizer_ftrl({ learning_rate_power: 0.5 }), /learning_rate_power/, /<= 0/);
    await expectKerasError(() => k.optimizer_ftrl({ l1_regularization_strength: -1 }), /l1_regularization_strength/);
    await expectKerasError(() => k.optimizer_adafactor({ epsilon: 1e-3 }), /did you mean `epsilon_1`/);
    await expectKerasError(() => k.optimizer_lamb({ clipnorm: 1, clipvalue: 1 }), /only one of/);
  });
});

describe("training: learning-rate schedules polynomial_decay and cosine_decay_restarts", () => {
  it("polynomial decay: (initial - end) (1 - t / T)^power + end, constant after T or cycling", () => {
    const linear = k.learning_rate_schedule_polynomial_decay({ initial_learning_rate: 0.1, decay_steps: 10 });
    expectClose([0, 5, 10, 20].map(linear.at), [0.1, (0.1 - 1e-4) * 0.5 + 1e-4, 1e-4, 1e-4], 1e-9);
    const cycling = k.learning_rate_schedule_polynomial_decay({
      initial_learning_rate: 1,
      decay_steps: 4,
      end_learning_rate: 0,
      power: 2,
      cycle: true,
    });
    // step 6: decay steps grow to 8, (1 - 6/8)^2 = 1/16; step 4 ends the first cycle at 0
    expectClose([0, 2, 4, 6].map(cycling.at), [1, 0.25, 0, 1 / 16], 1e-9);
    expect(linear.class_name).to.equal("PolynomialDecay");
    expect(linear.config).to.include({ end_learning_rate: 0.0001, power: 1, cycle: false, name: "PolynomialDecay" });
  });

  it("cosine decay with restarts: periods T, t_mul T, t_mul^2 T, ..., peaks scaled by m_mul", () => {
    const s = k.learning_rate_schedule_cosine_decay_restarts({
      initial_learning_rate: 1,
      first_decay_steps: 4,
      t_mul: 2,
      m_mul: 0.5,
      alpha: 0.1,
    });
    const at = (fraction: number, peak: number) => (1 - 0.1) * 0.5 * peak * (1 + Math.cos(Math.PI * fraction)) + 0.1;
    // period 1: steps 0-3 (of 4); period 2: steps 4-11 (of 8), peak 0.5; period 3 starts at 12, peak 0.25
    expectClose([0, 2, 4, 8, 12].map(s.at), [at(0, 1), at(0.5, 1), at(0, 0.5), at(0.5, 0.5), at(0, 0.25)], 1e-9);
    const even = k.learning_rate_schedule_cosine_decay_restarts({
      initial_learning_rate: 2,
      first_decay_steps: 3,
      t_mul: 1,
    });
    expectClose([0, 3, 6, 7].map(even.at), [2, 2, 2, 1 + Math.cos(Math.PI / 3)], 1e-9);
    expect(even.config).to.include({ m_mul: 1, alpha: 0, name: "SGDRDecay" });
  });

  it("arguments are validated at the door", async () => {
    await expectKerasError(
      () => k.learning_rate_schedule_polynomial_decay({ initial_learning_rate: 0.1 } as any),
      /learning_rate_schedule_polynomial_decay\(\)/,
      /`decay_steps` is required/,
    );
    await expectKerasError(
      () => k.learning_rate_schedule_cosine_decay_restarts({ initial_learning_rate: 0.1, first_decay_steps: 0 }),
      /first_decay_steps/,
      /positive integer/,
    );
    await expectKerasError(
      () =>
        k.learning_rate_schedule_cosine_decay_restarts({
          initial_learning_rate: 0.1,
          first_decay_steps: 2,
          t_mull: 2,
        } as any),
      /did you mean `t_mul`/,
    );
  });
});
