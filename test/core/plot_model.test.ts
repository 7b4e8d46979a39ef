/**
 * plot_model(): the SVG is well-formed XML, has one box per layer with its name, class and shapes, one
 * edge per (producer, consumer) pair of layers (expected edges written out by hand for each graph), and
 * follows rankdir; files are written atomically, PNG through resvg when it is installed. The labels and
 * edges against Keras's own model_to_dot are in test/integration/keras/plot_model.test.ts.
 */
import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  bidirectional,
  freeze_weights,
  keras_model_sequential,
  layer_dense,
  layer_lstm,
  plot_model,
  time_distributed,
} from "../../src/index.js";
import type { Model } from "../../src/model/model.js";
import { KerasError } from "../../src/errors.js";
import { functionalModel, sequentialModel } from "../helpers/plot_models.js";
import { temporaryFolders } from "../helpers/temporary_folders.js";

// ---------------------------------------------------------------------------------------------
// A tiny XML reader: enough to prove the SVG well-formed and to walk it.

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITY = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
function decode(s: string): string {
  const bad = s.replace(ENTITY, "").match(/[<&]/);
  if (bad) throw new Error(`unescaped ${bad[0]} in ${JSON.stringify(s.slice(0, 80))}`);
  return s.replace(ENTITY, (_, e: string) =>
    e === "amp"
      ? "&"
      : e === "lt"
        ? "<"
        : e === "gt"
          ? ">"
          : e === "quot"
            ? '"'
            : e === "apos"
              ? "'"
              : e[1] === "x"
                ? String.fromCodePoint(parseInt(e.slice(2), 16))
                : String.fromCodePoint(Number(e.slice(1))),
  );
}

/** Parses an XML document (prolog, doctype and comments skipped); throws on anything malformed. */
function parseXml(xml: string): XmlElement {
  const root: XmlElement = { name: "#document", attrs: {}, children: [], text: "" };
  const stack = [root];
  let at = 0;
  const skip = (re: RegExp) => {
    re.lastIndex = at;
    const m = re.exec(xml);
    if (!m || m.index !== at) return false;
    at += m[0].length;
    return true;
  };
  while (at < xml.length) {
    if (skip(/<\?[^]*?\?>/y) || skip(/<!--[^]*?-->/y) || skip(/<!DOCTYPE[^>]*>/y)) continue;
    if (xml[at] === "<") {
      const close = /<\/([A-Za-z_][\w:.-]*)\s*>/y;
      close.lastIndex = at;
      const c = close.exec(xml);
      if (c) {
        const open = stack.pop()!;
        if (open.name !== c[1]) throw new Error(`</${c[1]}> closes <${open.name}>`);
        at += c[0].length;
        continue;
      }
      const tag = /<([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*"[^"]*")*)\s*(\/?)>/y;
      tag.lastIndex = at;
      const m = tag.exec(xml);
      if (!m) throw new Error(`malformed tag at ${at}: ${JSON.stringify(xml.slice(at, at + 60))}`);
      const attrs: Record<string, string> = {};
      for (const a of m[2].matchAll(/([A-Za-z_][\w:.-]*)\s*=\s*"([^"]*)"/g)) {
        if (a[1] in attrs) throw new Error(`attribute ${a[1]} repeated`);
        attrs[a[1]] = decode(a[2]);
      }
      const el: XmlElement = { name: m[1], attrs, children: [], text: "" };
      stack[stack.length - 1].children.push(el);
      if (!m[3]) stack.push(el);
      at += m[0].length;
      continue;
    }
    const next = xml.indexOf("<", at);
    const text = xml.slice(at, next < 0 ? xml.length : next);
    stack[stack.length - 1].text += decode(text);
    at += text.length;
  }
  if (stack.length !== 1) throw new Error(`<${stack[stack.length - 1].name}> is never closed`);
  const elements = root.children;
  if (elements.length !== 1) throw new Error("an XML document has one root element");
  return elements[0];
}

const all = (el: XmlElement): XmlElement[] => [el, ...el.children.flatMap(all)];
const textOf = (el: XmlElement): string => el.text + el.children.map(textOf).join("");
const byClass = (svg: XmlElement, cls: string) => all(svg).filter((e) => e.name === "g" && e.attrs.class === cls);
const titleOf = (g: XmlElement) => textOf(g.children.find((c) => c.name === "title")!);

interface Drawing {
  /** Box title (the layer name, `wrapper/inner` inside an expanded wrapper) → the box's text. */
  boxes: Map<string, string>;
  /** Box title → its centre in SVG coordinates (from its outer polygon). */
  centres: Map<string, { x: number; y: number }>;
  edges: [string, string][];
  clusters: number;
}

function readDrawing(svgText: string): Drawing {
  const svg = parseXml(svgText);
  expect(svg.name).to.equal("svg");
  const boxes = new Map<string, string>();
  const centres = new Map<string, { x: number; y: number }>();
  for (const g of byClass(svg, "node")) {
    const title = titleOf(g);
    boxes.set(
      title,
      all(g)
        .filter((e) => e.name === "text")
        .map(textOf)
        .join(""),
    );
    const points = g.children
      .find((c) => c.name === "polygon")!
      .attrs.points.trim()
      .split(/\s+/)
      .map((p) => p.split(",").map(Number));
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    centres.set(title, {
      x: (Math.min(...xs) + Math.max(...xs)) / 2,
      y: (Math.min(...ys) + Math.max(...ys)) / 2,
    });
  }
  const edges = byClass(svg, "edge").map((g) => titleOf(g).split("->") as [string, string]);
  return { boxes, centres, edges, clusters: byClass(svg, "cluster").length };
}

const sortEdges = (edges: [string, string][]) => edges.map((e) => e.join(" -> ")).sort();

// ---------------------------------------------------------------------------------------------

describe("plot_model", function () {
  this.timeout(60000);
  const dir = temporaryFolders("tskeras-plot-model-")();

  it("draws a sequential model: one box per layer with name, class and shapes; edges layer to layer", async () => {
    const d = readDrawing(await plot_model(sequentialModel(), { show_shapes: true }));
    // Keras draws no InputLayer box for a sequential model.
    expect([...d.boxes.keys()]).to.deep.equal(["first", "second", "third"]);
    expect(d.boxes.get("first")).to.equal("first (Dense)Input shape: (None, 3)Output shape: (None, 4)");
    expect(d.boxes.get("second")).to.equal("second (Dense)Input shape: (None, 4)Output shape: (None, 2)");
    expect(d.boxes.get("third")).to.equal("third (Dense)Input shape: (None, 2)Output shape: (None, 1)");
    expect(sortEdges(d.edges)).to.deep.equal(["first -> second", "second -> third"]);
  });

  it("draws a functional model with several inputs and outputs and a shared layer: one edge per producer and consumer", async () => {
    const d = readDrawing(await plot_model(functionalModel(), { show_shapes: true }));
    expect([...d.boxes.keys()].sort()).to.deep.equal(["hidden", "in_a", "in_b", "merged", "out_1", "out_2", "shared"]);
    expect(d.boxes.get("in_a")).to.equal("in_a (InputLayer)Output shape: (None, 3)");
    // A shared layer shows its first call's shapes (Keras's layer.input / layer.output).
    expect(d.boxes.get("shared")).to.equal("shared (Dense)Input shape: (None, 3)Output shape: (None, 2)");
    expect(d.boxes.get("merged")).to.equal(
      "merged (Concatenate)Input shape: [(None, 2), (None, 2), (None, 2)]Output shape: (None, 6)",
    );
    expect(sortEdges(d.edges)).to.deep.equal([
      "hidden -> merged",
      "in_a -> hidden",
      "in_a -> shared",
      "in_b -> shared",
      "merged -> out_1",
      "merged -> out_2",
      "shared -> merged",
    ]);
  });

  it("lays the graph out in the direction rankdir says", async () => {
    const centres = async (rankdir: "TB" | "LR" | "BT" | "RL") =>
      readDrawing(await plot_model(sequentialModel(), { rankdir })).centres;
    const tb = await centres("TB");
    expect(tb.get("first")!.y).to.be.below(tb.get("second")!.y);
    expect(tb.get("second")!.y).to.be.below(tb.get("third")!.y);
    expect(tb.get("first")!.x).to.be.closeTo(tb.get("third")!.x, 1);
    const lr = await centres("LR");
    expect(lr.get("first")!.x).to.be.below(lr.get("second")!.x);
    expect(lr.get("second")!.x).to.be.below(lr.get("third")!.x);
    expect(lr.get("first")!.y).to.be.closeTo(lr.get("third")!.y, 1);
    const bt = await centres("BT");
    expect(bt.get("first")!.y).to.be.above(bt.get("third")!.y);
    const rl = await centres("RL");
    expect(rl.get("first")!.x).to.be.above(rl.get("third")!.x);
  });

  it("shows class names only, dtypes, activations and trainability when asked", async () => {
    const frozen = freeze_weights(sequentialModel(), { from: "second", to: "second" });
    const d = readDrawing(
      await plot_model(frozen, {
        show_layer_names: false,
        show_dtype: true,
        show_layer_activations: true,
        show_trainable: true,
      }),
    );
    expect(d.boxes.get("first")).to.equal("DenseActivation: reluOutput dtype: float32Trainable");
    expect(d.boxes.get("second")).to.equal("DenseActivation: linearOutput dtype: float32Non-trainable");
  });

  it("expand_nested draws wrappers around their inner layers", async () => {
    let m: Model = keras_model_sequential({ input_shape: [5, 4], name: "rnn" });
    m = bidirectional(m, { layer: layer_lstm({ units: 3, return_sequences: true }) });
    m = time_distributed(m, { layer: layer_dense({ units: 2, name: "per_step" }) });
    m = layer_dense(m, { units: 1, name: "head" });
    const flat = readDrawing(await plot_model(m));
    expect(flat.clusters).to.equal(0);
    expect(sortEdges(flat.edges)).to.deep.equal(["bidirectional -> time_distributed", "time_distributed -> head"]);
    const nested = readDrawing(await plot_model(m, { expand_nested: true, show_shapes: true }));
    expect(nested.clusters).to.equal(2);
    expect([...nested.boxes.keys()].sort()).to.deep.equal([
      "bidirectional",
      "bidirectional/backward_lstm",
      "bidirectional/forward_lstm",
      "head",
      "time_distributed",
      "time_distributed/per_step",
    ]);
    expect(nested.boxes.get("bidirectional/forward_lstm")).to.equal("forward_lstm (LSTM)");
    expect(nested.boxes.get("bidirectional")).to.equal(
      "bidirectional (Bidirectional)Input shape: (None, 5, 4)Output shape: (None, 5, 6)",
    );
    // Tensors enter the wrapper's box and leave from its cluster (drawn from the first inner box, clipped).
    expect(sortEdges(nested.edges)).to.deep.equal([
      "bidirectional -> bidirectional/backward_lstm",
      "bidirectional -> bidirectional/forward_lstm",
      "bidirectional/forward_lstm -> time_distributed",
      "time_distributed -> time_distributed/per_step",
      "time_distributed/per_step -> head",
    ]);
  });

  it("writes the SVG to to_file atomically and returns it; a file name may be the second argument", async () => {
    const file = join(dir, "model.svg");
    const svg = await plot_model(functionalModel(), { to_file: file });
    expect(readFileSync(file, "utf8")).to.equal(svg);
    const again = await plot_model(sequentialModel(), join(dir, "seq.svg"));
    expect(readFileSync(join(dir, "seq.svg"), "utf8")).to.equal(again);
    expect(readdirSync(dir).sort()).to.deep.equal(["model.svg", "seq.svg"]);
  });

  it("renders a PNG of Graphviz's size at dpi when @resvg/resvg-js is installed", async function () {
    try {
      await import("@resvg/resvg-js");
    } catch {
      console.log("      (skipped: the optional @resvg/resvg-js is not installed)");
      this.skip();
    }
    const file = join(dir, "model.png");
    const svg = await plot_model(functionalModel(), { to_file: file, show_shapes: true, dpi: 96 });
    const png = readFileSync(file);
    expect(png.subarray(1, 4).toString("latin1")).to.equal("PNG");
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    const [, , w, h] = /viewBox="([^"]+)"/.exec(svg)![1].split(" ").map(Number);
    expect(width).to.equal(Math.round(w));
    expect(height).to.be.closeTo(h, 1);
    // At 96 dpi one point of the 72-dpi layout is 96/72 pixels.
    const [, , w72] = /viewBox="([^"]+)"/
      .exec(await plot_model(functionalModel(), { show_shapes: true, dpi: 72 }))![1]
      .split(" ")
      .map(Number);
    expect(width / w72).to.be.closeTo(96 / 72, 0.01);
  });

  it("rejects bad arguments with a KerasError naming plot_model and the argument; writes nothing", async () => {
    const fails = async (f: () => Promise<unknown>, ...patterns: RegExp[]) => {
      let err: unknown;
      try {
        await f();
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(KerasError);
      for (const p of [/plot_model/, ...patterns]) expect((err as Error).message).to.match(p);
    };
    const m = sequentialModel();
    await fails(() => plot_model({} as any), /`model` must be a model/);
    await fails(() => plot_model(m, { rankdir: "UP" as any }), /`rankdir`/, /"TB"/);
    await fails(() => plot_model(m, { show_shape: true } as any), /did you mean `show_shapes`/);
    await fails(() => plot_model(m, { dpi: 0 }), /`dpi`/);
    await fails(() => plot_model(m, { splines: "wavy" as any }), /`splines`/);
    await fails(() => plot_model(m, { to_file: join(dir, "model.pdf") }), /`to_file` must end in .svg or .png/);
    await fails(() => plot_model(m, { to_file: join(dir, "missing", "model.svg") }), /cannot write/);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).to.deep.equal([]);
  });
});
