/**
 * The layers of issue 12 (attention, activation layers, noise, normalization) against real Keras
 * 3.15.1, on wasm and cpu, one Python call (layers_issue12.py): the same model built on both sides
 * with the same weights gives the same predictions (attention: with the query and value masks of a
 * mask_zero embedding, causal masks, returned scores) and, after one SGD step on the mse loss, the
 * same loss and weights — so the gradients w.r.t. every weight (embeddings included: they reach them
 * through the attention) agree too; the .keras file Keras saves of each model loads here and predicts
 * the same numbers.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import * as k from "../../../src/index.js";
import type { Model } from "../../../src/model/model.js";
import type { SymbolicTensor } from "../../../src/model/symbolic.js";
import { requireKeras, runKeras } from "../../helpers/keras.js";
import { nested, withPatternWeights } from "../../core/helpers.js";
import { BACKENDS, expectClose } from "../../wrappers/helpers.js";

const SCRIPT = readFileSync(join(import.meta.dirname, "layers_issue12.py"), "utf8");
const TOL = 1e-5;

interface Case {
  name: string;
  /** Sent to Python. */
  spec: Record<string, unknown>;
  model: () => Model;
  x: unknown[];
  y?: unknown;
}

/** Token ids in 1..vocab-1 with `pad` trailing zeros in odd rows (the masked steps). */
function tokens(batch: number, time: number, vocab: number, pad: number): number[][] {
  return Array.from({ length: batch }, (_, b) =>
    Array.from({ length: time }, (_, t) => (b % 2 === 1 && t >= time - pad ? 0 : 1 + ((b * 5 + t * 3) % (vocab - 1)))),
  );
}

interface AttentionSpec {
  layer: "Attention" | "AdditiveAttention" | "MultiHeadAttention";
  args: Record<string, unknown>;
  call?: Record<string, unknown>;
  mask?: boolean;
  key_dim?: number;
  train?: boolean;
  /** Padding steps of the query tokens (odd rows); the value tokens have 2. */
  queryPad?: number;
}

const LAYERS = {
  Attention: k.layer_attention,
  AdditiveAttention: k.layer_additive_attention,
  MultiHeadAttention: k.layer_multi_head_attention,
} as const;

function attentionCase(name: string, s: AttentionSpec): Case {
  const [tq, tv, vocab, dim, batch] = [3, 5, 7, 4, 4];
  const mask = s.mask ?? true;
  const call = s.call ?? {};
  const spec = {
    kind: "attention",
    tq,
    tv,
    vocab,
    dim,
    mask,
    key_dim: s.key_dim ?? 0,
    layer: s.layer,
    args: s.args,
    call,
  };
  const model = () => {
    const qi = k.layer_input({ shape: [tq], dtype: "int32" });
    const vi = k.layer_input({ shape: [tv], dtype: "int32" });
    const emb = k.layer_embedding({ input_dim: vocab, output_dim: dim, mask_zero: mask });
    const list: SymbolicTensor[] = [emb(qi), emb(vi)];
    if (s.key_dim) list.push(k.layer_embedding(vi, { input_dim: vocab, output_dim: s.key_dim, mask_zero: mask }));
    const out: SymbolicTensor = (LAYERS[s.layer] as any)(list, { ...s.args, ...call });
    if (call.return_attention_scores) return k.keras_model({ inputs: [qi, vi], outputs: out });
    return k.keras_model({ inputs: [qi, vi], outputs: k.layer_dense(out, { units: 2 }) });
  };
  return {
    name,
    spec: { ...spec, train: s.train ?? true },
    model,
    x: [tokens(batch, tq, vocab, s.queryPad ?? 1), tokens(batch, tv, vocab, 2)],
    y: s.train === false ? undefined : nested([batch, tq, 2], 3),
  };
}

const CASES: Case[] = [
  attentionCase("layer_attention (dot), query and value masks", { layer: "Attention", args: {} }),
  attentionCase("layer_attention (dot, use_scale, causal), a fully masked query row", {
    layer: "Attention",
    args: { use_scale: true },
    call: { use_causal_mask: true },
    queryPad: 3,
  }),
  attentionCase("layer_attention (concat, use_scale) with a key", {
    layer: "Attention",
    args: { use_scale: true, score_mode: "concat" },
    key_dim: 4,
  }),
  attentionCase("layer_attention: returned scores, no masks", {
    layer: "Attention",
    args: {},
    mask: false,
    call: { return_attention_scores: true, use_causal_mask: true },
    train: false,
  }),
  attentionCase("layer_additive_attention, masks", { layer: "AdditiveAttention", args: {} }),
  attentionCase("layer_additive_attention (no scale, causal) with a key", {
    layer: "AdditiveAttention",
    args: { use_scale: false },
    call: { use_causal_mask: true },
    key_dim: 4,
  }),
  attentionCase("layer_multi_head_attention, masks", {
    layer: "MultiHeadAttention",
    args: { num_heads: 2, key_dim: 3 },
  }),
  attentionCase(
    "layer_multi_head_attention (value_dim, output_shape, no bias, causal), a key, a fully masked query row",
    {
      layer: "MultiHeadAttention",
      args: { num_heads: 2, key_dim: 3, value_dim: 2, output_shape: 5, use_bias: false },
      call: { use_causal_mask: true },
      key_dim: 3,
      queryPad: 3,
    },
  ),
  attentionCase("layer_multi_head_attention: returned scores with masks (Keras's own softmax)", {
    layer: "MultiHeadAttention",
    args: { num_heads: 2, key_dim: 3 },
    call: { return_attention_scores: true },
    queryPad: 3,
    train: false,
  }),
  attentionCase("layer_multi_head_attention: dropout (inference), a fully masked query row", {
    layer: "MultiHeadAttention",
    args: { num_heads: 3, key_dim: 2, dropout: 0.5 },
    queryPad: 3,
    train: false,
  }),
];

/** Input (3, 4) -> the layer -> Dense(2), trained on the mse loss. */
function singleCase(name: string, layer: string, args: Record<string, unknown>, make: () => unknown): Case {
  const model = () =>
    k.keras_model_sequential({ input_shape: [3, 4], layers: [make() as any, k.layer_dense({ units: 2 })] });
  return {
    name,
    spec: { kind: "single", layer, args, input_shape: [3, 4], dense: true, train: true },
    model,
    x: [nested([4, 3, 4], 5).map((b: number[][]) => b.map((r) => r.map((v) => 2 * v)))],
    y: nested([4, 3, 2], 6),
  };
}

CASES.push(
  singleCase("layer_activation_relu()", "ReLU", {}, () => k.layer_activation_relu()),
  singleCase(
    "layer_activation_relu(max_value, negative_slope, threshold)",
    "ReLU",
    { max_value: 1.2, negative_slope: 0.1, threshold: 0.3 },
    () => k.layer_activation_relu({ max_value: 1.2, negative_slope: 0.1, threshold: 0.3 }),
  ),
  singleCase("layer_activation_leaky_relu()", "LeakyReLU", {}, () => k.layer_activation_leaky_relu()),
  singleCase("layer_activation_elu(alpha = 0.5)", "ELU", { alpha: 0.5 }, () => k.layer_activation_elu({ alpha: 0.5 })),
  singleCase("layer_activation_parametric_relu(shared_axes = 1)", "PReLU", { shared_axes: [1] }, () =>
    k.layer_activation_parametric_relu({ shared_axes: 1 }),
  ),
  singleCase("layer_activation_softmax(axis = 1)", "Softmax", { axis: 1 }, () =>
    k.layer_activation_softmax({ axis: 1 }),
  ),
  singleCase("layer_identity()", "Identity", {}, () => k.layer_identity()),
  singleCase("layer_group_normalization(groups = 2)", "GroupNormalization", { groups: 2 }, () =>
    k.layer_group_normalization({ groups: 2 }),
  ),
  singleCase(
    "layer_group_normalization(groups = -1, axis = 1, no center)",
    "GroupNormalization",
    { groups: -1, axis: 1, center: false },
    () => k.layer_group_normalization({ groups: -1, axis: 1, center: false }),
  ),
  singleCase("layer_unit_normalization(axis = c(1, 2))", "UnitNormalization", { axis: [1, 2] }, () =>
    k.layer_unit_normalization({ axis: [1, 2] }),
  ),
  singleCase("layer_rms_normalization()", "RMSNormalization", {}, () => k.layer_rms_normalization()),
  singleCase(
    "layer_rms_normalization(axis = c(1, 2), epsilon = 0.1)",
    "RMSNormalization",
    { axis: [1, 2], epsilon: 0.1 },
    () => k.layer_rms_normalization({ axis: [1, 2], epsilon: 0.1 }),
  ),
  // Random while training (no two libraries draw alike): Keras's inference numbers only.
  {
    ...singleCase("layer_gaussian_dropout (inference)", "GaussianDropout", { rate: 0.3 }, () =>
      k.layer_gaussian_dropout({ rate: 0.3 }),
    ),
    y: undefined,
  },
  {
    ...singleCase("layer_alpha_dropout (inference)", "AlphaDropout", { rate: 0.3 }, () =>
      k.layer_alpha_dropout({ rate: 0.3 }),
    ),
    y: undefined,
  },
);

async function trainOneStep(model: Model, x: unknown, y: unknown) {
  const compiled = k.compile(model, { optimizer: k.optimizer_sgd({ learning_rate: 0.1 }), loss: "mse" });
  const { model: trained, history } = await k.fit(compiled, x, y, {
    epochs: 1,
    batch_size: (y as unknown[]).length,
    shuffle: false,
    verbose: 0,
  });
  return { weights: k.get_weights(trained), losses: history.metrics.loss };
}

describe("issue 12 layers match Keras 3 (forward with masks, one SGD step)", function () {
  this.timeout(600_000);
  let keras: { cases: { output: unknown; file: string; train?: { weights: unknown[]; losses: number[] } }[] };
  const models = CASES.map((c) => withPatternWeights(c.model()));
  const dir = mkdtempSync(join(tmpdir(), "tskeras-issue12-"));

  before(function () {
    requireKeras(this);
    keras = runKeras(SCRIPT, {
      dir,
      cases: CASES.map((c, i) => ({
        ...c.spec,
        train: c.y !== undefined,
        weights: k.get_weights(models[i]),
        x: c.x,
        y: c.y,
      })),
    });
  });
  after(async () => {
    await k.use_backend("wasm");
    rmSync(dir, { recursive: true, force: true });
  });

  for (const backend of BACKENDS) {
    describe(`on ${backend}`, () => {
      before(async () => {
        await k.use_backend(backend);
      });
      CASES.forEach((c, i) => {
        it(`${c.name}: predictions`, async () => {
          const y = await k.predict(models[i], c.x.length === 1 ? c.x[0] : c.x, { verbose: 0 });
          expectClose(y, keras.cases[i].output, TOL, "prediction");
        });
        it(`${c.name}: the .keras file Keras wrote loads here and predicts Keras's numbers`, async () => {
          const loaded = await k.load_model(keras.cases[i].file);
          const y = await k.predict(loaded, c.x.length === 1 ? c.x[0] : c.x, { verbose: 0 });
          expectClose(y, keras.cases[i].output, TOL, "prediction of the loaded model");
        });
        if (c.y !== undefined)
          it(`${c.name}: one SGD step (loss, every weight)`, async () => {
            const here = await trainOneStep(models[i], c.x.length === 1 ? c.x[0] : c.x, c.y);
            const there = keras.cases[i].train!;
            expect(here.weights.length, "number of weight arrays").to.equal(there.weights.length);
            there.weights.forEach((w, j) => expectClose(here.weights[j], w, TOL, `weight ${j} after the step`));
            expectClose(here.losses, there.losses, TOL, "loss");
          });
      });
    });
  }
});
