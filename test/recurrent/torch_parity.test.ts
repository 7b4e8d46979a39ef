/**
 * Outputs, final states and gradients (inputs and every weight) against PyTorch, from the committed
 * fixture written by scripts/torch_recurrent_fixtures.py (random weights: gate order and layout pinned;
 * right-padded masks through torch's packed sequences, masks with holes and go_backwards through torch
 * run one step at a time with the Keras mask rule).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { layer_gru, layer_lstm, layer_simple_rnn } from "../../src/layers/recurrent/index.js";
import { setFusedKernelsEnabled } from "../../src/layers/recurrent/fused/index.js";
import type { Layer } from "../../src/model/layer.js";
import { expectClose, flat, forwardOf, expectPath } from "./helpers.js";

const FIXTURE = "test/fixtures/recurrent_torch.json";
const SCRIPT = "scripts/torch_recurrent_fixtures.py";

interface Case {
  name: string;
  kind: "simple_rnn" | "gru" | "lstm";
  units: number;
  go_backwards: boolean;
  zero_output_for_mask?: boolean;
  weights: number[][][];
  x: number[][][];
  outputs: number[][][];
  states: number[][][];
  g_outputs: number[][][];
  g_states: number[][][];
  grad_x: number[][][];
  grad_weights: unknown[];
  initial_state?: number[][][];
  mask?: boolean[][];
}

const doc = JSON.parse(readFileSync(FIXTURE, "utf8")) as { cases: Case[] };

/** The fixtures' arguments are built at run time: a layer function taking any record (the codecs check it). */
const loosely = (f: unknown) => f as (args: Record<string, unknown>) => Layer;
const makeLayer: Record<string, (args: Record<string, unknown>) => Layer> = {
  simple_rnn: loosely(layer_simple_rnn),
  gru: loosely(layer_gru),
  lstm: loosely(layer_lstm),
};

function torchAvailable(): boolean {
  return spawnSync("/usr/bin/python3", ["-c", "import torch"], { stdio: "ignore" }).status === 0;
}

describe("recurrent layers vs PyTorch (fixture)", () => {
  before(async () => {
    await use_backend("wasm");
  });
  after(() => setFusedKernelsEnabled(true));

  // Both the fused kernels (the default) and the step-wise loop are checked against torch.
  for (const path of ["fused kernels", "step-wise loop"] as const)
    for (const c of doc.cases) {
      it(`${c.name} (${path}): outputs, final states and gradients match torch`, () => {
        setFusedKernelsEnabled(path === "fused kernels");
        const layer = makeLayer[c.kind]({
          units: c.units,
          return_sequences: true,
          return_state: true,
          go_backwards: c.go_backwards,
          zero_output_for_mask: c.zero_output_for_mask ?? false,
        });
        const before = tf.memory().numTensors;
        const x = tf.tensor(c.x);
        const weights = c.weights.map((w) => tf.tensor(w as any));
        const mask = c.mask
          ? tf.tensor2d(
              c.mask.map((r) => r.map(Number)),
              undefined,
              "bool",
            )
          : null;
        const initialState = c.initial_state?.map((s) => tf.tensor2d(s));
        const gOut = tf.tensor(c.g_outputs);
        const gStates = c.g_states.map((g) => tf.tensor2d(g));
        const outputsSeen: Tensor[][] = [];
        const loss = (xv: Tensor, ...w: Tensor[]) => {
          const r = forwardOf(layer, { x: xv, weights: w, mask, initialState });
          outputsSeen.push(r.outputs.map((o) => tf.keep(o.clone())));
          const [seq, ...states] = r.outputs;
          return states.reduce((acc, s, i) => tf.add(acc, tf.sum(tf.mul(s, gStates[i]))), tf.sum(tf.mul(seq, gOut)));
        };
        const grads = expectPath(path, () => tf.grads(loss)([x, ...weights]), true);
        const [seq, ...states] = outputsSeen[0];
        expectClose(seq, c.outputs, 1e-5, 1e-4, "outputs");
        expect(states.length).to.equal(c.states.length);
        states.forEach((s, i) => expectClose(s, c.states[i], 1e-5, 1e-4, `state ${i + 1}`));
        expectClose(grads[0], c.grad_x, 1e-5, 1e-4, "grad x");
        c.grad_weights.forEach((g, i) =>
          expectClose(grads[i + 1], g, 1e-5, 1e-4, `grad ${["kernel", "recurrent_kernel", "bias"][i]}`),
        );
        tf.dispose([
          x,
          ...weights,
          ...(mask ? [mask] : []),
          ...(initialState ?? []),
          gOut,
          ...gStates,
          ...grads,
          ...outputsSeen.flat(),
        ]);
        expect(tf.memory().numTensors).to.equal(before);
      });
    }

  it("the fixture is reproducible from its script (runs only where torch is installed)", function () {
    if (!torchAvailable()) {
      console.log("      (skipped: /usr/bin/python3 has no torch; the committed fixture is used as is)");
      this.skip();
    }
    this.timeout(120000);
    const dir = mkdtempSync(join(tmpdir(), "tskeras-torch-"));
    try {
      const out = join(dir, "fixture.json");
      const r = spawnSync("/usr/bin/python3", [SCRIPT, out], { encoding: "utf8" });
      expect(r.status, r.stderr).to.equal(0);
      const fresh = JSON.parse(readFileSync(out, "utf8")) as { cases: Case[] };
      expect(fresh.cases.map((c) => c.name)).to.deep.equal(doc.cases.map((c) => c.name));
      fresh.cases.forEach((c, i) => {
        const keys = Object.keys(c) as (keyof Case)[];
        expect(keys).to.have.members(Object.keys(doc.cases[i]));
        for (const k of keys)
          if (typeof c[k] !== "string") expectClose(flat(c[k]), flat(doc.cases[i][k]), 1e-7, 1e-6, `${c.name}.${k}`);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
