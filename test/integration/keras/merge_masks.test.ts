/**
 * The element-wise merge layers with masked inputs against real Keras 3.15.1, on wasm and cpu, one
 * Python call (merge_masks.py): two token inputs padded differently (one after, one before the tokens)
 * -> a mask_zero embedding each -> the merge -> a GRU, whose answer depends on the merged mask (Keras 3
 * ORs the masks), or a Dense per step, which shows the merged values at masked steps too (Maximum and
 * Minimum take the other input's value there, Multiply counts a masked step as 1). Same weights on both
 * sides give the same predictions, and the .keras file Keras saves loads here and predicts the same;
 * with both inputs masked and a GRU, one SGD step gives the same loss and weights (the gradients agree).
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as k from "../../../src/index.js";
import type { Model } from "../../../src/model/model.js";
import { requireKeras, runKeras } from "../../helpers/keras.js";
import { nested, withPatternWeights } from "../../core/helpers.js";
import { BACKENDS, expectClose } from "../../wrappers/helpers.js";

const SCRIPT = readFileSync(join(import.meta.dirname, "merge_masks.py"), "utf8");
const TOL = 1e-5;
const [TIME, VOCAB, DIM, UNITS] = [5, 7, 3, 4];

// Token 0 is padding. Rows: no overlap of kept steps (row 1), a step masked in both (row 3).
const AFTER = [
  [1, 2, 3, 4, 5],
  [2, 3, 4, 0, 0],
  [3, 0, 0, 0, 0],
  [4, 5, 6, 0, 0],
];
const BEFORE = [
  [0, 0, 6, 5, 4],
  [0, 0, 0, 6, 1],
  [0, 2, 3, 4, 5],
  [0, 0, 0, 0, 2],
];

const MERGES = {
  Add: k.layer_add,
  Subtract: k.layer_subtract,
  Multiply: k.layer_multiply,
  Average: k.layer_average,
  Maximum: k.layer_maximum,
  Minimum: k.layer_minimum,
} as const;

interface Spec {
  layer: keyof typeof MERGES;
  head: "gru" | "dense";
  /** Per input: does its embedding mask token 0. */
  mask_zero: boolean[];
}

function build(s: Spec): Model {
  const tokens = s.mask_zero.map(() => k.layer_input({ shape: [TIME], dtype: "int32" }));
  const embedded = tokens.map((t, i) =>
    k.layer_embedding(t, { input_dim: VOCAB, output_dim: DIM, mask_zero: s.mask_zero[i] }),
  );
  let merged = MERGES[s.layer](embedded);
  if (s.head === "gru") merged = k.layer_gru(merged, { units: UNITS });
  return k.keras_model({ inputs: tokens, outputs: k.layer_dense(merged, { units: 2 }) });
}

const SPECS: Spec[] = [
  ...(Object.keys(MERGES) as Spec["layer"][]).flatMap((layer): Spec[] => [
    { layer, head: "gru", mask_zero: [true, true] },
    { layer, head: "dense", mask_zero: [true, true] },
  ]),
  // One input without a mask: no merged mask, but Maximum / Minimum / Multiply still replace the
  // masked input's values.
  ...(["Maximum", "Minimum", "Multiply", "Add"] as const).flatMap((layer): Spec[] => [
    { layer, head: "gru", mask_zero: [true, false] },
    { layer, head: "dense", mask_zero: [false, true] },
  ]),
  { layer: "Maximum", head: "dense", mask_zero: [true, true, true] },
  { layer: "Multiply", head: "gru", mask_zero: [true, true, true] },
];

/** One SGD step for the GRU models whose inputs both carry masks. */
const trains = (s: Spec) => s.head === "gru" && s.mask_zero.every((m) => m);
const TARGET = nested([AFTER.length, 2], 4);

async function trainOneStep(model: Model, x: unknown, y: unknown) {
  const compiled = k.compile(model, { optimizer: k.optimizer_sgd({ learning_rate: 0.1 }), loss: "mse" });
  const { model: trained, history } = await k.fit(compiled, x, y, {
    epochs: 1,
    batch_size: AFTER.length,
    shuffle: false,
    verbose: 0,
  });
  return { weights: k.get_weights(trained), losses: history.metrics.loss };
}

const inputsOf = (s: Spec) => s.mask_zero.map((_, i) => [AFTER, BEFORE, AFTER.map((r) => [...r].reverse())][i]);
const nameOf = (s: Spec) =>
  `${s.layer} of ${s.mask_zero.length} inputs (masks: ${s.mask_zero.join(", ")}) -> ${s.head === "gru" ? "GRU" : "Dense per step"}`;

describe("merge layers combine masks as Keras 3 does (OR; no mask when an input has none)", function () {
  this.timeout(600_000);
  let keras: { cases: { output: unknown; file: string; train?: { weights: unknown[]; losses: number[] } }[] };
  const models = SPECS.map((s) => withPatternWeights(build(s)));
  const dir = mkdtempSync(join(tmpdir(), "tskeras-merge-masks-"));

  before(function () {
    requireKeras(this);
    keras = runKeras(SCRIPT, {
      dir,
      cases: SPECS.map((s, i) => ({
        ...s,
        time: TIME,
        vocab: VOCAB,
        dim: DIM,
        units: UNITS,
        weights: k.get_weights(models[i]),
        x: inputsOf(s),
        y: trains(s) ? TARGET : null,
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
      SPECS.forEach((s, i) => {
        it(`${nameOf(s)}: predictions`, async () => {
          const y = await k.predict(models[i], inputsOf(s), { verbose: 0 });
          expectClose(y, keras.cases[i].output, TOL, "prediction");
        });
        it(`${nameOf(s)}: the .keras file Keras wrote loads here and predicts Keras's numbers`, async () => {
          const loaded = await k.load_model(keras.cases[i].file);
          const y = await k.predict(loaded, inputsOf(s), { verbose: 0 });
          expectClose(y, keras.cases[i].output, TOL, "prediction of the loaded model");
        });
        if (trains(s))
          it(`${nameOf(s)}: one SGD step (loss, every weight)`, async () => {
            const here = await trainOneStep(models[i], inputsOf(s), TARGET);
            const there = keras.cases[i].train!;
            expect(here.weights.length, "number of weight arrays").to.equal(there.weights.length);
            there.weights.forEach((w, j) => expectClose(here.weights[j], w, TOL, `weight ${j} after the step`));
            expectClose(here.losses, there.losses, TOL, "loss");
          });
      });
    });
  }
});
