/** `summary(model)`: the Keras 2 (tf.keras 2.9+) summary table, returned as text and printed. */
import { installModelPrinter, type Model } from "../model/model.js";
import { familyOf, weightSpecsOf, type Layer } from "../model/layer.js";
import type { Shape } from "../model/types.js";
import { formatShape } from "../model/shape.js";
import { buildPlan, type Plan } from "../engine/plan.js";
import { ArgumentError, KerasError, describeValue } from "../errors.js";
import { Bool, PositiveInt, decodeArgs, refuseArgumentsPast } from "../args.js";
import { isModel } from "../model/guards.js";
import { noteModelUse } from "../api/hints.js";

const thousands = (n: number) => n.toLocaleString("en-US");
/** V8's longest string (2^29 - 24 characters). */
const MAX_STRING_LENGTH = 2 ** 29 - 24;

/** Keras print_row: fixed column stops, cells cut to fit, continuation lines for long cells. */
function row(fields: string[], positions: number[]): string[] {
  const left = [...fields];
  const lines: string[] = [];
  while (left.some((s) => s.length > 0) || lines.length === 0) {
    let line = "";
    for (let col = 0; col < left.length; col++) {
      const start = col > 0 ? positions[col - 1] : 0;
      const space = col !== positions.length - 1 ? 2 : 0;
      let cutoff = positions[col] - start - space;
      let fit = left[col].slice(0, cutoff);
      const breaks = ["),", "},", "],", "',"]
        .map((b) => (fit.indexOf(b) >= 0 ? fit.indexOf(b) + b.length : -1))
        .filter((c) => c >= 0);
      // Keras breaks after the first ")," / "'," ... even when the whole cell would fit.
      if (breaks.length) {
        cutoff = Math.min(...breaks);
        fit = fit.slice(0, cutoff);
      }
      if (col === 0) line += " ";
      line += fit + " ".repeat(space);
      left[col] = left[col].slice(fit.length);
      line += " ".repeat(Math.max(0, positions[col] - line.length));
    }
    lines.push(line);
    if (!left.some((s) => s.length > 0)) break;
  }
  return lines;
}

function outputShapeText(shapes: readonly Shape[]): string {
  return shapes.length === 1 ? formatShape(shapes[0]) : `[${shapes.map(formatShape).join(", ")}]`;
}

function tryPlan(model: Model): Plan | null {
  try {
    return buildPlan(model);
  } catch (e) {
    if (e instanceof KerasError || e instanceof ArgumentError) return null;
    throw e;
  }
}

export interface SummaryOptions {
  /** Total width (Keras default 65 for sequential, 98 for functional models). */
  line_length?: number;
  /** Print to the console (default TRUE); the text is returned either way. */
  print?: boolean;
}

/** Parameter counts of every layer: [trainable, non-trainable]. */
function paramCounts(layer: Layer, inputShapes: readonly Shape[] | null): [number, number] | null {
  if (!inputShapes) return familyOf(layer).weights ? null : [0, 0];
  let trainable = 0;
  let frozen = 0;
  for (const s of weightSpecsOf(layer, inputShapes)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (s.trainable && layer.trainable) trainable += n;
    else frozen += n;
  }
  return [trainable, frozen];
}

export function summaryText(model: Model, options: SummaryOptions = {}): string {
  const plan = tryPlan(model);
  const sequentialLike = model.type === "sequential";
  const width = options.line_length ?? (sequentialLike ? 65 : 98);
  const positions = (sequentialLike ? [0.45, 0.85, 1] : [0.33, 0.55, 0.67, 1]).map((p) => Math.floor(width * p));
  const header = sequentialLike
    ? ["Layer (type)", "Output Shape", "Param #"]
    : ["Layer (type)", "Output Shape", "Param #", "Connected to"];
  const out: string[] = [`Model: "${model.name}"`, "_".repeat(width), ...row(header, positions), "=".repeat(width)];
  let trainable = 0;
  let frozen = 0;
  let unbuilt = false;
  const rows: string[][] = [];
  if (model.type === "sequential") {
    model.layers.forEach((layer, i) => {
      const counts = paramCounts(layer, plan ? plan.layerInputShapes[i] : null);
      if (counts) [trainable, frozen] = [trainable + counts[0], frozen + counts[1]];
      else unbuilt = true;
      const shape = plan ? outputShapeText(plan.nodes[i].outputShapes) : "?";
      rows.push([`${layer.name} (${layer.className})`, shape, counts ? String(counts[0] + counts[1]) : "0 (unbuilt)"]);
    });
  } else {
    const layerIndex = new Map(model.layers.map((l, i) => [l.id, i]));
    const nodeNames = new Map<unknown, string>();
    const callCount = new Map<number, number>();
    for (const node of model.nodes) {
      const k = callCount.get(node.layer.id) ?? 0;
      callCount.set(node.layer.id, k + 1);
      nodeNames.set(node, `${model.layers[layerIndex.get(node.layer.id)!].name}[${k}]`);
    }
    // One row per layer (a shared layer once), connected to the inputs of each of its calls.
    model.layers.forEach((layer, li) => {
      const calls = model.nodes.filter((n) => n.layer.id === layer.id);
      const connected = calls.flatMap((node) =>
        [...node.inputs, ...node.initialState, ...node.constants].map((t) => `'${nodeNames.get(t.node)}[${t.index}]'`),
      );
      const inputShapes = plan ? plan.layerInputShapes[li] : null;
      const counts = paramCounts(layer, layer.className === "InputLayer" ? [] : inputShapes) ?? [0, 0];
      [trainable, frozen] = [trainable + counts[0], frozen + counts[1]];
      const shapes = calls[0]?.outputShapes ?? [];
      // Keras shows a shared layer's output shape when every call has the same one, else "multiple".
      const same = calls.every((c) => outputShapeText(c.outputShapes) === outputShapeText(shapes));
      const shape =
        layer.className === "InputLayer" ? `[${formatShape(shapes[0])}]` : same ? outputShapeText(shapes) : "multiple";
      rows.push([
        `${layer.name} (${layer.className})`,
        shape,
        String(counts[0] + counts[1]),
        `[${connected.join(", ")}]`,
      ]);
    });
  }
  for (const r of rows) out.push(...row(r, positions), " ".repeat(width));
  out.push("=".repeat(width));
  if (unbuilt) {
    out.push("Total params: 0 (unbuilt)", "Trainable params: 0 (unbuilt)", "Non-trainable params: 0 (unbuilt)");
  } else {
    out.push(
      `Total params: ${thousands(trainable + frozen)}`,
      `Trainable params: ${thousands(trainable)}`,
      `Non-trainable params: ${thousands(frozen)}`,
    );
  }
  out.push("_".repeat(width));
  return out.join("\n");
}

/**
 * Prints the Keras summary table of `model` and returns it as text.
 *
 * @example
 * console.log(summary(model));
 */
export function summary(model: Model, options: SummaryOptions = {}): string {
  const fn = "summary";
  refuseArgumentsPast(fn, ["model", "options"], arguments);
  if (!isModel(model)) throw new KerasError(fn, `\`model\` must be a model, got ${describeValue(model)}`);
  noteModelUse(model);
  const o = decodeArgs(fn, { line_length: PositiveInt, print: Bool }, options, { print: true });
  // Every line is padded to line_length: at least the header, footer and two lines per layer.
  const lines = 10 + 2 * model.layers.length;
  if (o.line_length !== undefined && o.line_length * lines > MAX_STRING_LENGTH)
    throw new KerasError(
      fn,
      `\`line_length\` = ${o.line_length} makes a table of more than ${MAX_STRING_LENGTH} characters, the longest string JavaScript holds`,
    );
  const text = summaryText(model, o);
  if (o.print) console.log(text);
  return text;
}

installModelPrinter((model) => summaryText(model));
