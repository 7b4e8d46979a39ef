/**
 * plot_model()'s diagram against Keras 3.15.1's own keras.utils.model_to_dot (run with a recording
 * stand-in for pydot, see plot_model.py): the same boxes with the same HTML labels (name, class,
 * activation, shapes, dtype, trainable) and the same edges, for a sequential model and a functional
 * model with two inputs, a shared layer, a merge and two outputs. One Python call answers every case.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { freeze_weights, type PlotModelArgs } from "../../../src/index.js";
import type { Model } from "../../../src/model/model.js";
import { diagramDot, modelDiagram } from "../../../src/report/plot_model.js";
import { requireKeras, runKeras } from "../../helpers/keras.js";
import { functionalModel, sequentialModel } from "../../helpers/plot_models.js";

const SCRIPT = readFileSync(join(import.meta.dirname, "plot_model.py"), "utf8");

type Kind = "sequential" | "functional";
const build = (kind: Kind): Model => (kind === "sequential" ? sequentialModel() : functionalModel());

const DEFAULTS: Required<Omit<PlotModelArgs, "to_file">> = {
  show_shapes: false,
  show_dtype: false,
  show_layer_names: true,
  rankdir: "TB",
  expand_nested: false,
  dpi: 200,
  show_layer_activations: false,
  show_trainable: false,
  splines: "ortho",
};
const ALL_ON = { show_shapes: true, show_dtype: true, show_layer_activations: true, show_trainable: true };

interface Case {
  kind: Kind;
  options: Partial<typeof DEFAULTS>;
  frozen?: string[];
}
const CASES: Case[] = [
  { kind: "sequential", options: {} },
  { kind: "sequential", options: { ...ALL_ON, rankdir: "LR", dpi: 96 }, frozen: ["second"] },
  { kind: "sequential", options: { show_layer_names: false, show_shapes: true } },
  { kind: "functional", options: {} },
  { kind: "functional", options: { ...ALL_ON, splines: "curved" }, frozen: ["shared"] },
];

interface Answer {
  nodes: { name: string; label: string }[];
  edges: [string, string][];
  graph: Record<string, string>;
}

describe("plot_model() against Keras 3's model_to_dot", function () {
  this.timeout(300_000);
  let answers: Answer[];
  before(function () {
    requireKeras(this);
    answers = runKeras<Answer[]>(SCRIPT, CASES);
  });

  it("has Keras's boxes with Keras's labels, and Keras's edges", function () {
    CASES.forEach((c, i) => {
      let model = build(c.kind);
      for (const name of c.frozen ?? []) model = freeze_weights(model, { from: name, to: name });
      const o = { ...DEFAULTS, ...c.options };
      const ours = modelDiagram(model, o);
      const keras = answers[i];
      const what = `${c.kind} ${JSON.stringify(c.options)}`;
      expect(
        ours.nodes.map((n) => ({ name: n.id, label: n.label })),
        what,
      ).to.deep.equal(keras.nodes);
      expect(
        ours.edges.map((e) => [e.from, e.to]),
        what,
      ).to.deep.equal(keras.edges);
      // The graph attributes Keras sets.
      const dot = diagramDot(ours, o);
      for (const [k, v] of Object.entries(keras.graph))
        expect(dot, `${what}: ${k}`).to.include(`${k}=${v === "True" ? "true" : v}`);
    });
  });
});
