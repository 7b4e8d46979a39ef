/**
 * `plot_model(model)`: R keras3's `plot(model)` / Keras's `keras.utils.plot_model`. The diagram is
 * Keras's own: model_to_dot's graph (one box per layer, an HTML-table label with the name and class,
 * optional activation, shapes, dtype and trainable cells; edges from the layers producing a layer's input
 * tensors; graph attributes rankdir, concentrate, dpi, splines) laid out and drawn by Graphviz's dot,
 * which Keras uses too, here compiled to WebAssembly (@hpcc-js/wasm-graphviz, imported lazily). Text is
 * set in DejaVu Sans, whose metrics Graphviz knows and which the PNG renderer bundles, so the boxes fit
 * their text in both files.
 */
import { KerasError, describeValue } from "../errors.js";
import { Bool, Nullable, OneOf, PositiveIntAtMost, Str, decodeArgs, refuseArgumentsPast } from "../args.js";
import { isModel } from "../model/guards.js";
import { familyOf, isLayer, weightSpecsOf, type Layer } from "../model/layer.js";
import type { Model } from "../model/model.js";
import type { Shape } from "../model/types.js";
import { formatShapes } from "../model/shape.js";
import { writeFileAtomic } from "../io/atomic.js";
import { svgToPng } from "./plot.js";

const FN = "plot_model";
const FONT = "DejaVu Sans";

const RankDir = OneOf("TB", "LR", "BT", "RL");
const Splines = OneOf("ortho", "curved", "polyline", "spline", "line");

const PLOT_MODEL_PROPS = {
  to_file: Nullable(Str),
  show_shapes: Bool,
  show_dtype: Bool,
  show_layer_names: Bool,
  rankdir: RankDir,
  expand_nested: Bool,
  // Graphviz writes sizes in points as 32-bit integers: a larger dpi overflows them (the SVG was garbage).
  dpi: PositiveIntAtMost(10_000),
  show_layer_activations: Bool,
  show_trainable: Bool,
  splines: Splines,
};

export interface PlotModelArgs {
  /** Where to write the diagram: a `.svg` or `.png` file (PNG needs @resvg/resvg-js); null: no file. */
  to_file?: string | null;
  /** Show each layer's input and output shapes. */
  show_shapes?: boolean;
  /** Show each layer's output dtype. */
  show_dtype?: boolean;
  /** Show layer names beside the class names (default TRUE); FALSE shows class names only. */
  show_layer_names?: boolean;
  /** "TB" (top to bottom, default), "LR" (left to right), "BT" or "RL". */
  rankdir?: "TB" | "LR" | "BT" | "RL";
  /** Draw wrappers (bidirectional, time_distributed) as dashed boxes around their inner layers. */
  expand_nested?: boolean;
  /** Resolution (dots per inch): the SVG's and PNG's size scale with it (default 200, as Keras). */
  dpi?: number;
  /** Show the activation of layers that have one. */
  show_layer_activations?: boolean;
  /** Mark layers with weights as trainable or non-trainable. */
  show_trainable?: boolean;
  /** How edges are drawn: "ortho" (right angles, default), "curved", "polyline", "spline" or "line". */
  splines?: "ortho" | "curved" | "polyline" | "spline" | "line";
}

type Options = Required<Omit<PlotModelArgs, "to_file">>;

/** One box: a layer at the top level or inside an expanded wrapper. */
interface DotNode {
  id: string;
  label: string;
}
/** A dashed box around an expanded wrapper: the wrapper's own box, then its inner layers' boxes. */
interface DotCluster {
  id: string;
  nodes: DotNode[];
}
/**
 * An edge between two boxes: a tensor from one layer to another, or (`nested`) a wrapper to its inner
 * layer. `ltail` clips it where it leaves an expanded wrapper's dashed border.
 */
interface DotEdge {
  from: string;
  to: string;
  ltail?: string;
  nested?: boolean;
}
/** The diagram before layout: what Keras's model_to_dot builds. */
export interface ModelDiagram {
  nodes: DotNode[];
  clusters: DotCluster[];
  /** Without repeats (Keras's add_edge). */
  edges: DotEdge[];
}

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const quoteId = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

/** Layer values nested in a layer's config: a wrapper's inner layers. */
function innerLayers(layer: Layer): Layer[] {
  return Object.values(layer.config).flatMap((v) => (isLayer(v) ? [v] : Array.isArray(v) ? v.filter(isLayer) : []));
}

/** What a label shows about one layer (shapes null when unknown). */
interface LayerFacts {
  layer: Layer;
  inputShapes: readonly Shape[] | null;
  outputShapes: readonly Shape[] | null;
  dtype: string;
}

/** Keras's make_layer_label: an HTML-like table, black title row, then a row of white cells. */
function layerLabel(f: LayerFacts, o: Options): string {
  const { layer } = f;
  const className = layer.className;
  const name = escapeHtml(layer.name);
  let colspan = Number(o.show_dtype) + Number(o.show_trainable) + (o.show_shapes ? 2 : 0);
  colspan = Math.max(1, colspan);
  let table = '<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">';
  const title = o.show_layer_names ? `<b>${name}</b> (${className})` : `<b>${className}</b>`;
  table += `<tr><td colspan="${colspan}" bgcolor="black"><font point-size="16" color="white">${title}</font></td></tr>`;
  const activation = (layer.config as { activation?: { name?: unknown } }).activation;
  if (o.show_layer_activations && activation && typeof activation.name === "string")
    table +=
      `<tr><td bgcolor="white" colspan="${colspan}"><font point-size="14">` +
      `Activation: <b>${escapeHtml(activation.name)}</b></font></td></tr>`;
  const cols: string[] = [];
  const cell = (text: string) => `<td bgcolor="white"><font point-size="14">${text}</font></td>`;
  if (o.show_shapes) {
    const shapes = (s: readonly Shape[] | null) => (s ? formatShapes(s) : "?");
    if (className !== "InputLayer") cols.push(cell(`Input shape: <b>${shapes(f.inputShapes)}</b>`));
    cols.push(cell(`Output shape: <b>${shapes(f.outputShapes)}</b>`));
  }
  if (o.show_dtype) cols.push(cell(`Output dtype: <b>${f.dtype}</b>`));
  if (o.show_trainable && hasWeights(f)) {
    cols.push(
      layer.trainable
        ? '<td bgcolor="forestgreen"><font point-size="14" color="white"><b>Trainable</b></font></td>'
        : '<td bgcolor="firebrick"><font point-size="14" color="white"><b>Non-trainable</b></font></td>',
    );
  }
  if (cols.length) table += `<tr>${cols.join("")}</tr>`;
  return table + "</table>>";
}

function hasWeights(f: LayerFacts): boolean {
  if (!familyOf(f.layer).weights) return false;
  if (!f.inputShapes) return true;
  return weightSpecsOf(f.layer, f.inputShapes).length > 0;
}

/** Each top-level layer's facts, in model.layers order. */
function layerFacts(model: Model): LayerFacts[] {
  if (model.type === "sequential") {
    let input: Shape | null = model.inputShape ?? model.layers[0]?.batchInputShape ?? null;
    return model.layers.map((layer, i) => {
      const out = model.shapes?.[i] ?? null;
      const facts = { layer, inputShapes: input ? [input] : null, outputShapes: out, dtype: "float32" };
      input = out?.[0] ?? null;
      return facts;
    });
  }
  return model.layers.map((layer) => {
    const node = model.nodes.find((n) => n.layer.id === layer.id);
    if (layer.className === "InputLayer")
      return { layer, inputShapes: null, outputShapes: node?.outputShapes ?? null, dtype: String(layer.config.dtype) };
    return {
      layer,
      inputShapes: node ? node.inputs.map((t) => t.shape) : null,
      outputShapes: node?.outputShapes ?? null,
      dtype: "float32",
    };
  });
}

/**
 * The diagram of `model` (Keras's model_to_dot). With `expand_nested`, a wrapper is a dashed cluster
 * holding its own box and, linked to it by thin lines, its inner layers' boxes; edges come into the
 * wrapper's box and leave from the cluster's border.
 */
export function modelDiagram(model: Model, o: Options): ModelDiagram {
  const nodes: DotNode[] = [];
  const clusters: DotCluster[] = [];
  const edges: DotEdge[] = [];
  /** Where a layer's incoming and outgoing edges attach. */
  const ends = new Map<number, { in: string; out: string; cluster?: string }>();
  for (const f of layerFacts(model)) {
    const box = { id: f.layer.name, label: layerLabel(f, o) };
    const inner = o.expand_nested ? innerLayers(f.layer) : [];
    if (!inner.length) {
      nodes.push(box);
      ends.set(f.layer.id, { in: box.id, out: box.id });
      continue;
    }
    const innerOptions = { ...o, show_shapes: false, show_dtype: false };
    const innerBoxes = inner.map((layer) => ({
      id: `${f.layer.name}/${layer.name}`,
      label: layerLabel({ layer, inputShapes: null, outputShapes: null, dtype: f.dtype }, innerOptions),
    }));
    const cluster = { id: `cluster_${f.layer.name}`, nodes: [box, ...innerBoxes] };
    clusters.push(cluster);
    for (const b of innerBoxes) edges.push({ from: box.id, to: b.id, nested: true });
    ends.set(f.layer.id, { in: box.id, out: innerBoxes[0].id, cluster: cluster.id });
  }
  const seen = new Set<string>();
  const connect = (from: Layer, to: Layer) => {
    const a = ends.get(from.id)!;
    const b = ends.get(to.id)!;
    const key = JSON.stringify([a.out, b.in]);
    if (seen.has(key)) return;
    seen.add(key);
    edges.push({ from: a.out, to: b.in, ltail: a.cluster });
  };
  if (model.type === "sequential") {
    for (let i = 0; i + 1 < model.layers.length; i++) connect(model.layers[i], model.layers[i + 1]);
  } else {
    // Every Keras tensor a call takes counts, initial states, constants and masks too (Keras's Node.input_tensors).
    for (const node of model.nodes) {
      const inputs = [...node.inputs, ...node.initialState, ...node.constants, ...(node.mask ? [node.mask] : [])];
      for (const t of inputs) connect(t.node.layer, node.layer);
    }
  }
  return { nodes, clusters, edges };
}

/** The DOT text of a diagram with Keras's graph, node and edge attributes. */
export function diagramDot(d: ModelDiagram, o: Options): string {
  const node = (n: DotNode) => `  ${quoteId(n.id)} [label=${n.label}];`;
  const edge = (e: DotEdge) => {
    const attrs = e.nested ? ["penwidth=1", "style=dashed", "arrowhead=none"] : [];
    if (e.ltail) attrs.push(`ltail=${quoteId(e.ltail)}`);
    return `  ${quoteId(e.from)} -> ${quoteId(e.to)}${attrs.length ? ` [${attrs.join(", ")}]` : ""};`;
  };
  const lines = [
    "digraph G {",
    `  graph [rankdir=${o.rankdir}, concentrate=true, dpi=${o.dpi}, splines=${o.splines}, compound=true];`,
    `  node [shape=record, fontname="${FONT}", border=0, margin=0];`,
    "  edge [penwidth=2];",
    ...d.nodes.map(node),
    ...d.clusters.flatMap((c) => [
      `  subgraph ${quoteId(c.id)} {`,
      "    graph [style=dashed];",
      ...c.nodes.map((n) => `  ${node(n)}`),
      "  }",
    ]),
    ...d.edges.map(edge),
    "}",
  ];
  return lines.join("\n") + "\n";
}

type GraphvizModule = typeof import("@hpcc-js/wasm-graphviz");
let graphviz: Promise<Awaited<ReturnType<GraphvizModule["Graphviz"]["load"]>>> | undefined;

async function loadGraphviz() {
  graphviz ??= import("@hpcc-js/wasm-graphviz").then((m) => m.Graphviz.load());
  try {
    return await graphviz;
  } catch (e) {
    graphviz = undefined;
    throw new KerasError(
      FN,
      `drawing a model needs the package @hpcc-js/wasm-graphviz (npm install @hpcc-js/wasm-graphviz@1.29.2): ${(e as Error).message}`,
      "io",
    );
  }
}

/**
 * `plot_model(model, { to_file = NULL, show_shapes = FALSE, show_dtype = FALSE, show_layer_names = TRUE,
 * rankdir = "TB", expand_nested = FALSE, dpi = 200, show_layer_activations = FALSE, show_trainable = FALSE,
 * splines = "ortho" })` → the SVG text of the model's layer graph, as Keras's plot_model draws it (R's
 * `plot(model)`). With `to_file` (or a file name as the second argument) it is also written there,
 * atomically: `.svg`, or `.png` rendered by the optional @resvg/resvg-js. Works on sequential and
 * functional models (shared layers, several inputs and outputs); `expand_nested` draws wrappers around
 * their inner layers.
 *
 * @example
 * const svg = await plot_model(model, { show_shapes: true, to_file: "model.png" });
 * await plot_model(model, "model.svg"); // R: plot(model, to_file = "model.svg")
 */
export async function plot_model(model: Model, args?: PlotModelArgs | string): Promise<string> {
  refuseArgumentsPast("plot_model", ["model", "args"], arguments);
  if (!isModel(model))
    throw new KerasError(
      FN,
      `\`model\` must be a model (keras_model_sequential() or keras_model()), got ${describeValue(model)}`,
    );
  const a = decodeArgs(FN, PLOT_MODEL_PROPS, typeof args === "string" ? { to_file: args } : args, {
    to_file: null as string | null,
    show_shapes: false,
    show_dtype: false,
    show_layer_names: true,
    rankdir: "TB" as const,
    expand_nested: false,
    dpi: 200,
    show_layer_activations: false,
    show_trainable: false,
    splines: "ortho" as const,
  });
  const file = a.to_file;
  if (file !== null && !/\.(svg|png)$/i.test(file))
    throw new KerasError(FN, `\`to_file\` must end in .svg or .png, got ${JSON.stringify(file)}`, "io");
  if (model.layers.length === 0) throw new KerasError(FN, "the model has no layers to draw");
  const o: Options = { ...a };
  const dot = diagramDot(modelDiagram(model, o), o);
  const gv = await loadGraphviz();
  // Graphviz names only the fonts it knows a generic family for; give viewers without DejaVu Sans one.
  const svg = gv.dot(dot, "svg").replaceAll(`font-family="${FONT}"`, `font-family="${FONT},sans-serif"`);
  if (file !== null) {
    if (/\.png$/i.test(file)) {
      // The SVG's size is in points at `dpi`; one point per pixel gives Graphviz's own PNG size.
      const width = Number(/viewBox="[\d.-]+ [\d.-]+ ([\d.]+) /.exec(svg)?.[1] ?? 0);
      await writeFileAtomic(
        FN,
        file,
        await svgToPng(FN, svg, { mode: "width", value: Math.max(1, Math.round(width)) }),
      );
    } else await writeFileAtomic(FN, file, svg);
  }
  return svg;
}
