/**
 * Through the layers, the fused sequence kernels and the step-wise loop (the reference path) give the
 * same outputs and gradients (w.r.t. the inputs and every weight) to 1e-5, for every built-in cell,
 * both GRU variants, masks with holes, go_backwards, initial states, stateful carry, the cuDNN layers
 * and bidirectional — each run asserting which path it took (the fused kernels' call counts); and
 * use_cudnn / rnn_fused_status control and report the path, on every backend.
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import { tf, type Tensor } from "../../src/backend/tf.js";
import {
  bidirectional,
  get_weights,
  keras_model,
  keras_model_sequential,
  layer_cudnn_gru,
  layer_cudnn_lstm,
  layer_dense,
  layer_gru,
  layer_input,
  layer_lstm,
  layer_masking,
  layer_rnn,
  layer_simple_rnn,
  rnn_cell_gru,
  rnn_fused_status,
  set_weights,
  use_backend,
  type Model,
  type SequentialModel,
} from "../../src/index.js";
import { getRuntime } from "../../src/engine/runtime.js";
import { fusedKernelCalls, fusedPlan, setFusedKernelsEnabled } from "../../src/layers/recurrent/fused/index.js";
import { expectPath } from "./helpers.js";
import { missingWasmInternals } from "../../src/layers/recurrent/fused/mem.js";
import { recurrentCellOf } from "../../src/layers/recurrent/rnn_layer.js";

/** Deterministic values in [-0.5, 0.5) (not constant: constant weights would hide a swapped gate). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5);
}

function nested(shape: number[], flat: number[]): any {
  if (shape.length === 1) return flat.slice(0, shape[0]);
  const stride = flat.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) => nested(shape.slice(1), flat.slice(i * stride, (i + 1) * stride)));
}

/** The model with every weight replaced by deterministic random values. */
function withRandomWeights(model: Model, seed: number): Model {
  const ws = get_weights(model).map((w: any, i: number) => {
    const shape: number[] = [];
    for (let c = w; Array.isArray(c); c = c[0]) shape.push(c.length);
    const n = shape.reduce((a, b) => a * b, 1);
    return nested(shape, values(n, seed + i));
  });
  return set_weights(model, ws);
}

interface RunOut {
  outputs: number[][];
  grads: Record<string, number[]>;
}

/** Outputs of `calls` consecutive runs and the gradients of the last run's weighted output sum. */
function runAndDifferentiate(model: Model, inputs: number[][][][], calls = 1): RunOut {
  const rt = getRuntime(model);
  const outputs: number[][] = [];
  let grads: Record<string, number[]> = {};
  for (let k = 0; k < calls; k++) {
    const xs = inputs.map((x) => tf.variable(tf.tensor(x)));
    const { value, grads: g } = tf.variableGrads(() => {
      const result = rt.run(xs, { training: false });
      outputs.push(...result.outputs.map((o) => Array.from(o.dataSync())));
      const kept = {
        stateUpdates: result.stateUpdates.map((u) => ({ ...u, states: u.states.map((s) => tf.keep(s.clone())) })),
        weightUpdates: [],
      };
      rt.commit(kept);
      return result.outputs
        .map((o, i) => tf.sum(tf.mul(o, tf.tensor(values(o.size, 99 + i), o.shape))))
        .reduce((a, b) => tf.add(a, b)) as tf.Scalar;
    });
    value.dispose();
    grads = Object.fromEntries(
      Object.entries(g).map(([, t], i) => [`${i}:${t.shape.join("x")}`, Array.from(t.dataSync())]),
    );
    Object.values(g).forEach((t) => t.dispose());
    xs.forEach((x) => x.dispose());
  }
  return { outputs, grads };
}

function expectClose(a: number[], b: number[], what: string): void {
  expect(a.length, what).to.equal(b.length);
  const scale = Math.max(1, ...b.map(Math.abs));
  a.forEach((v, i) => expect(Math.abs(v - b[i]), `${what}[${i}]: ${v} vs ${b[i]}`).to.be.lessThan(1e-5 * scale));
}

function compareFusedWithLoop(build: () => Model, inputs: number[][][][], calls = 1): void {
  const fusedModel = withRandomWeights(build(), 7);
  const loopModel = set_weights(build(), get_weights(fusedModel));
  setFusedKernelsEnabled(true);
  const fused = expectPath("fused kernels", () => runAndDifferentiate(fusedModel, inputs, calls), true);
  setFusedKernelsEnabled(false);
  try {
    const loop = expectPath("step-wise loop", () => runAndDifferentiate(loopModel, inputs, calls));
    fused.outputs.forEach((o, i) => expectClose(o, loop.outputs[i], `output ${i}`));
    expect(Object.keys(fused.grads)).to.deep.equal(Object.keys(loop.grads));
    expect(Object.keys(fused.grads).length).to.be.greaterThan(2);
    for (const k of Object.keys(fused.grads)) {
      expectClose(fused.grads[k], loop.grads[k], `gradient ${k}`);
      expect(
        fused.grads[k].some((v) => v !== 0),
        `gradient ${k} is not all zero`,
      ).to.equal(true);
    }
  } finally {
    setFusedKernelsEnabled(true);
  }
}

// batch 3, 5 timesteps, 2 features; rows 1 and 2 have masked (all-zero) steps, row 2 a hole in the middle
const x = nested([3, 5, 2], values(30, 1)).map((row: number[][], b: number) =>
  row.map((step, t) => ((b === 1 && t >= 3) || (b === 2 && (t === 0 || t === 2)) ? [0, 0] : step)),
);
const seq =
  (layer: (m: SequentialModel) => SequentialModel, inputShape: (number | null)[] = [5, 2], batch?: number) =>
  () =>
    pipe(
      keras_model_sequential({ input_shape: inputShape, batch_size: batch }),
      layer_masking({ mask_value: 0 }),
      layer,
      layer_dense({ units: 1 }),
    );

/** 20 rows of 7 steps, padded (all-zero steps) at the end or at the start to lengths 0–7. */
const lengths = Array.from({ length: 20 }, (_, b) => (b * 3) % 8);
const padded = (atEnd: boolean) =>
  nested([20, 7, 2], values(280, 3)).map((row: number[][], b: number) =>
    row.map((step, t) => ((atEnd ? t < lengths[b] : t >= 7 - lengths[b]) ? step : [0, 0])),
  );

/** 40 rows of 26 steps (1,040 row-steps: the forward packs U), with masked steps (holes) in some rows. */
const long = nested([40, 26, 2], values(2080, 4)).map((row: number[][], b: number) =>
  row.map((step, t) => ((b * 5 + t) % 11 === 0 ? [0, 0] : step)),
);

for (const backend of ["wasm", "cpu"] as const) {
  describe(`fused kernels vs step-wise loop through the layers (${backend})`, () => {
    before(async () => {
      await use_backend(backend);
    });

    for (const go_backwards of [false, true]) {
      it(`GRU reset_after = TRUE, masked, return_sequences${go_backwards ? ", go_backwards" : ""}`, () =>
        compareFusedWithLoop(seq(layer_gru({ units: 3, return_sequences: true, go_backwards })), [x]));
    }
    it("GRU reset_after = FALSE with the Keras 2 hard sigmoid, masked", () =>
      compareFusedWithLoop(
        seq(layer_gru({ units: 3, reset_after: false, recurrent_activation: "hard_sigmoid_keras2" })),
        [x],
      ));
    it("LSTM, masked, go_backwards, zero_output_for_mask", () =>
      compareFusedWithLoop(
        seq(layer_lstm({ units: 4, go_backwards: true, return_sequences: true, zero_output_for_mask: true })),
        [x],
      ));
    it("SimpleRNN with relu, masked", () =>
      compareFusedWithLoop(seq(layer_simple_rnn({ units: 3, activation: "relu" })), [x]));
    it("layer_rnn over a built-in GRU cell", () =>
      compareFusedWithLoop(seq(layer_rnn({ cell: rnn_cell_gru({ units: 3 }) })), [x]));
    it("cuDNN GRU and LSTM layers (bias layouts 6u and 8u)", () => {
      compareFusedWithLoop(seq(layer_cudnn_gru({ units: 3, return_sequences: true })), [x]);
      compareFusedWithLoop(seq(layer_cudnn_lstm({ units: 3 })), [x]);
    });
    it("bidirectional LSTM, masked, concat", () =>
      compareFusedWithLoop(seq(bidirectional({ layer: layer_lstm({ units: 3, return_sequences: true }) })), [x]));
    for (const atEnd of [true, false])
      it(`bidirectional LSTM and GRU over padding at the ${atEnd ? "end" : "start"} of the rows: the kernels skip it`, () => {
        const padding = lengths.reduce((n, L) => n + 7 - L, 0);
        for (const layer of [
          layer_lstm({ units: 4, return_sequences: true }),
          layer_gru({ units: 4, return_sequences: true }),
        ]) {
          const before = fusedKernelCalls().paddingSkipped;
          compareFusedWithLoop(seq(bidirectional({ layer }), [7, 2]), [padded(atEnd)]);
          // both directions, the forward kernel and the backward kernel each
          expect(fusedKernelCalls().paddingSkipped - before, "padding steps skipped").to.equal(4 * padding);
        }
      });
    it("from 1,024 row-steps the forward reads U packed into panels: GRU (reset_after = FALSE: U_h apart), LSTM (a partial panel)", () => {
      for (const layer of [
        layer_gru({ units: 6, reset_after: false, return_sequences: true }),
        layer_lstm({ units: 5, go_backwards: true }),
      ]) {
        const before = fusedKernelCalls().packedForward;
        compareFusedWithLoop(seq(layer, [26, 2]), [long]);
        expect(fusedKernelCalls().packedForward - before, "forward calls with U packed").to.equal(1);
      }
    });
    it("LSTM with a symbolic initial state (gradients reach the state inputs)", () => {
      const build = () => {
        const seqIn = layer_input({ shape: [5, 2] });
        const h0 = layer_input({ shape: [3] });
        const c0 = layer_input({ shape: [3] });
        const out = layer_lstm({ units: 3, return_sequences: true })(seqIn, { initial_state: [h0, c0] });
        return keras_model({ inputs: [seqIn, h0, c0], outputs: layer_dense(out, { units: 1 }) });
      };
      compareFusedWithLoop(build, [x, nested([3, 3], values(9, 5)), nested([3, 3], values(9, 6))]);
    });
    it("stateful GRU: the second call continues from the carried state", () =>
      compareFusedWithLoop(seq(layer_gru({ units: 3, stateful: true, return_sequences: true }), [5, 2], 3), [x], 2));
  });
}

describe("use_cudnn and rnn_fused_status choose and report the path", () => {
  before(async () => {
    await use_backend("wasm");
  });

  it("reports the fused path, and the reason for each step-wise layer", () => {
    const model = pipe(
      keras_model_sequential({ input_shape: [5, 2] }),
      layer_gru({ units: 3, return_sequences: true }),
      layer_lstm({ units: 3, return_sequences: true, use_cudnn: false }),
      bidirectional({ layer: layer_simple_rnn({ units: 2, dropout: 0.5 }) }),
    );
    const rows = rnn_fused_status(model);
    // which products and step functions the fused rows use depends on the machine
    // (test/fused/native_products.test.ts, native_steps.test.ts)
    expect(rows.map((r) => typeof r.products)).to.deep.equal(["string", "object", "string", "string"]);
    expect(rows.map((r) => typeof r.steps)).to.deep.equal(["string", "object", "string", "string"]);
    expect(rows.map(({ products: _, steps: __, ...row }) => row)).to.deep.equal([
      { layer: "gru", class_name: "GRU", path: "fused", reason: null },
      { layer: "lstm", class_name: "LSTM", path: "step-wise", reason: "use_cudnn = FALSE" },
      { layer: "bidirectional/forward", class_name: "SimpleRNN", path: "fused", reason: null },
      { layer: "bidirectional/backward", class_name: "SimpleRNN", path: "fused", reason: null },
    ]);
    const training = rnn_fused_status(model, { training: true });
    expect(training[2]).to.deep.equal({
      layer: "bidirectional/forward",
      class_name: "SimpleRNN",
      path: "step-wise",
      reason: "dropout / recurrent_dropout apply while training",
      products: null,
      steps: null,
    });
  });

  it("a user's own activation function takes the loop even when it is named like a built-in", () => {
    const tanh = (t: Tensor) => tf.tanh(t);
    const model = pipe(keras_model_sequential({ input_shape: [5, 2] }), layer_gru({ units: 2, activation: tanh }));
    expect(rnn_fused_status(model)[0]).to.deep.include({
      path: "step-wise",
      reason:
        "activation (a function of your own) has no fused implementation (fused: tanh, sigmoid, hard_sigmoid, hard_sigmoid_keras2, relu, linear)",
    });
  });

  it("reports the path each layer's calls actually take (the fused kernels run exactly when it says fused)", () => {
    const tanh = (t: Tensor) => tf.tanh(t);
    const layers: [string, () => (m: SequentialModel) => SequentialModel][] = [
      ["GRU", () => layer_gru({ units: 3 })],
      ["GRU reset_after = FALSE, 5 units", () => layer_gru({ units: 5, reset_after: false })],
      ["GRU, use_cudnn = FALSE", () => layer_gru({ units: 3, use_cudnn: false })],
      ["LSTM, hard_sigmoid", () => layer_lstm({ units: 4, recurrent_activation: "hard_sigmoid" })],
      ["LSTM, own activation", () => layer_lstm({ units: 2, activation: tanh })],
      ["SimpleRNN, dropout", () => layer_simple_rnn({ units: 2, dropout: 0.3 })],
      ["SimpleRNN, softplus", () => layer_simple_rnn({ units: 2, activation: "softplus" })],
      ["RNN over a stack", () => layer_rnn({ cell: [rnn_cell_gru({ units: 2 }), rnn_cell_gru({ units: 2 })] })],
    ];
    const input = tf.tensor(x);
    try {
      for (const [what, layer] of layers)
        for (const training of [false, true]) {
          const model = pipe(keras_model_sequential({ input_shape: [5, 2] }), layer());
          const [row] = rnn_fused_status(model, { training });
          expectPath(row.path === "fused" ? "fused kernels" : "step-wise loop", () =>
            tf.dispose(tf.tidy(() => getRuntime(model).run([input], { training }).outputs)),
          );
          expect(row.reason === null, `${what}, training ${training}: ${row.reason}`).to.equal(row.path === "fused");
        }
    } finally {
      input.dispose();
    }
  });

  it("use_cudnn = TRUE refuses to fall back silently", async () => {
    const model = pipe(
      keras_model_sequential({ input_shape: [5, 2] }),
      layer_gru({ units: 2, use_cudnn: true, dropout: 0.2 }),
    );
    const rt = getRuntime(model);
    const input = tf.tensor(x);
    try {
      expect(() => tf.tidy(() => rt.run([input], { training: true }).outputs[0])).to.throw(
        /layer_gru\(\): use_cudnn = TRUE, but the fused kernel cannot run this call: dropout \/ recurrent_dropout apply while training/,
      );
      const out = tf.tidy(() => rt.run([input], { training: false }).outputs[0]);
      expect(out.shape).to.deep.equal([3, 2]);
      out.dispose();
    } finally {
      input.dispose();
    }
  });
});

describe("the fused path checks its environment", () => {
  const model = () =>
    pipe(
      keras_model_sequential({ input_shape: [5, 2] }),
      layer_gru({ units: 3, use_cudnn: true, dropout: 0.2, return_sequences: true }),
      layer_lstm({ units: 2 }),
    );
  const run = (m: Model, training: boolean) => {
    const input = tf.tensor(x);
    try {
      return tf.tidy(() => Array.from(getRuntime(m).run([input], { training }).outputs[0].dataSync()));
    } finally {
      input.dispose();
    }
  };

  it("the wasm backend's internals the kernels use are checked; a missing one means the step-wise loop, with the reason", async () => {
    await use_backend("wasm");
    expect(missingWasmInternals(tf.backend())).to.deep.equal([]);
    // stand-ins: nothing at all; everything but one member
    expect(missingWasmInternals({})).to.include.members(["wasm", "wasm.HEAPU8", "dataIdMap.get", "makeOutput"]);
    const real = tf.backend() as any;
    const standIn = { ...real, wasm: { ...real.wasm, HEAPU8: undefined }, dataIdMap: real.dataIdMap };
    standIn.readSync = real.readSync;
    standIn.makeOutput = real.makeOutput;
    expect(missingWasmInternals(standIn)).to.deep.equal(["wasm.HEAPU8"]);

    const m = model();
    const fused = expectPath("fused kernels", () => run(m, false));
    // the real backend without its tensor table (a later tfjs might rename it); the status only plans
    const dataIdMap = real.dataIdMap;
    real.dataIdMap = undefined;
    let status;
    try {
      status = rnn_fused_status(m)[0];
    } finally {
      real.dataIdMap = dataIdMap;
    }
    expect(status).to.deep.include({
      path: "step-wise",
      reason: "the wasm backend lacks what the fused kernels use (dataIdMap.get)",
    });
    // the loop (fused kernels switched off) gives the same numbers
    setFusedKernelsEnabled(false);
    try {
      const loop = expectPath("step-wise loop", () => run(m, false));
      loop.forEach((v, i) => expect(v).to.be.closeTo(fused[i], 1e-5));
    } finally {
      setFusedKernelsEnabled(true);
    }
    expect(rnn_fused_status(m)[0].path).to.equal("fused");
  });

  it("fusedPlan() with the backend named: tensorflow and others take the loop, and use_cudnn = TRUE is no error there", async () => {
    await use_backend("wasm");
    const cell = recurrentCellOf(layer_gru({ units: 2, use_cudnn: true, dropout: 0.5 }))!;
    const plan = (backend: string | undefined, training: boolean) =>
      fusedPlan({ cell, useCudnn: true, training, backend });
    expect(plan("tensorflow", true)).to.deep.equal({
      path: "step-wise",
      reason:
        "the tensorflow backend has no fused recurrent kernel here: the step-wise loop runs on TensorFlow's native ops",
      error: null,
    });
    expect(plan("webgl", false)).to.deep.include({
      path: "step-wise",
      reason: 'the fused recurrent kernels exist for the wasm and cpu backends, not "webgl"',
      error: null,
    });
    // on wasm and cpu the configuration decides, and use_cudnn = TRUE refuses what it cannot fuse
    for (const backend of [undefined, "wasm", "cpu"]) {
      expect(plan(backend, false)).to.deep.include({ path: "fused", reason: null, error: null });
      expect(plan(backend, true).error).to.match(
        /^use_cudnn = TRUE, but the fused kernel cannot run this call: dropout/,
      );
    }
  });

  it("use_cudnn = TRUE on the tensorflow backend runs the step-wise loop of its native ops and says so", async () => {
    // A stand-in "tensorflow" backend: the cpu backend's class with the cpu kernels (not the fused ones).
    await use_backend("cpu");
    const cpu = tf.backend();
    const kernels = tf.getKernelsForBackend("cpu").filter((k) => !k.kernelName.startsWith("TskFused"));
    tf.registerBackend("tensorflow", () => new (cpu.constructor as new () => tf.KernelBackend)());
    for (const k of kernels) tf.registerKernel({ ...k, backendName: "tensorflow" });
    try {
      await tf.setBackend("tensorflow");
      const m = model();
      expect(rnn_fused_status(m, { training: true })).to.deep.equal([
        {
          layer: "gru",
          class_name: "GRU",
          path: "step-wise",
          reason:
            "the tensorflow backend has no fused recurrent kernel here: the step-wise loop runs on TensorFlow's native ops",
          products: null,
          steps: null,
        },
        {
          layer: "lstm",
          class_name: "LSTM",
          path: "step-wise",
          reason:
            "the tensorflow backend has no fused recurrent kernel here: the step-wise loop runs on TensorFlow's native ops",
          products: null,
          steps: null,
        },
      ]);
      // no error, also where the wasm and cpu backends refuse (dropout while training)
      const out = expectPath("step-wise loop", () => run(m, true));
      expect(out).to.have.length(3 * 2);
      expectPath("step-wise loop", () => run(m, false));
    } finally {
      for (const k of kernels) tf.unregisterKernel(k.kernelName, "tensorflow");
      tf.removeBackend("tensorflow");
      await use_backend("wasm");
    }
  });
});
