/** Model values: sequential and functional, frozen plain data. */
import type { Layer } from "./layer.js";
import type { Shape } from "./types.js";
import type { SymbolicTensor, GraphNode } from "./symbolic.js";
import { inspect } from "node:util";
import { MODEL_BRAND } from "./guards.js";

/**
 * What compile() stores on a model (owned by the training engine; opaque to the spec tier).
 * `optimizerState` holds the optimizer's slot values after fit, as plain arrays.
 */
export interface CompiledState {
  readonly [key: string]: unknown;
}

interface ModelCommon {
  readonly [MODEL_BRAND]: true;
  readonly name: string;
  /** Layers in order (functional: topological, InputLayers included), names unique in the model. */
  readonly layers: readonly Layer[];
  /** Set by compile(); null before. */
  readonly compiled: CompiledState | null;
}

export interface SequentialModel extends ModelCommon {
  readonly type: "sequential";
  /** Batch input shape when known (from the model's or the first layer's input arguments). */
  readonly inputShape: Shape | null;
  readonly inputDtype: string;
  /** Output shape of each layer when the input shape is known. */
  readonly shapes: readonly (readonly Shape[])[] | null;
}

export interface FunctionalModel extends ModelCommon {
  readonly type: "functional";
  readonly inputs: readonly SymbolicTensor[];
  readonly outputs: readonly SymbolicTensor[];
  /** Graph nodes in topological order (InputLayer nodes first). */
  readonly nodes: readonly GraphNode[];
}

export type Model = SequentialModel | FunctionalModel;

/**
 * How a model prints in Node (console.log, the REPL): its summary table, as R's print(model), once
 * report/summary.ts has installed it (the summary needs the plan tier above this one).
 */
let modelPrinter: (model: Model) => string = (m) => `<${m.type} model "${m.name}" with ${m.layers.length} layers>`;

/** Installs how models print (report/summary.ts does, when it is loaded). */
export function installModelPrinter(print: (model: Model) => string): void {
  modelPrinter = print;
}

const printModel = {
  [inspect.custom](this: Model) {
    return modelPrinter(this);
  },
};

export function freezeModel<M extends Model>(m: Omit<M, typeof MODEL_BRAND>): M {
  return Object.freeze({ [MODEL_BRAND]: true, ...m, [inspect.custom]: printModel[inspect.custom] }) as unknown as M;
}

/** A copy of `model` with some fields replaced. */
export function withModel<M extends Model>(model: M, changes: Partial<Omit<M, typeof MODEL_BRAND | "type">>): M {
  return Object.freeze({ ...model, ...changes }) as unknown as M;
}

/** Unique names within a model: auto names get _1, _2 ...; explicit duplicates are an error (caller). */
export function uniqueName(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 1; ; i++) if (!taken.has(`${base}_${i}`)) return `${base}_${i}`;
}
