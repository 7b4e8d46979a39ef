/**
 * Where Keras keeps each weight of a layer: the object tree Keras saves (a layer, its cell, a
 * wrapper's inner layers, a stack's cells), built from this package's layer values. Both Keras
 * weight layouts derive from it:
 * - Keras 3 (`.keras`, `.weights.h5`): one `vars` group per object at the object's attribute path,
 *   `layers/<snake_case class, _1, _2 ...>/cell/vars/0`, named by a `name` attribute (`kerasVarsGroups`);
 * - legacy HDF5 (Keras 2 `.h5`): a group per layer listing `weight_names` such as
 *   `bidirectional/forward_gru/gru_cell/kernel:0`, made of the object names and weight names here.
 *
 * The weights of a layer value are one list (get_weights order); each object holds a slice of it, in
 * Keras's order: an object's own variables, then its children's, depth first.
 */
import { familyOf, snakeCase, weightSpecsOf, type Layer } from "../model/layer.js";
import type { Model } from "../model/model.js";
import type { Shape } from "../model/types.js";
import { cellOf } from "../layers/recurrent/cell.js";
import { buildPlan } from "../engine/plan.js";

/** Recurrent layers whose weights Keras keeps in a cell object, with that cell's class and name. */
const LAYER_CELLS: Readonly<Record<string, readonly [cellClass: string, cellName: string]>> = {
  SimpleRNN: ["SimpleRNNCell", "simple_rnn_cell"],
  GRU: ["GRUCell", "gru_cell"],
  LSTM: ["LSTMCell", "lstm_cell"],
  ConvLSTM1D: ["ConvLSTMCell", "conv_lstm_cell"],
  ConvLSTM2D: ["ConvLSTMCell", "conv_lstm_cell"],
  ConvLSTM3D: ["ConvLSTMCell", "conv_lstm_cell"],
  // Keras 3 has no cuDNN layers: these are saved as the GRU / LSTM with equivalent weights.
  CuDNNGRU: ["GRUCell", "gru_cell"],
  CuDNNLSTM: ["LSTMCell", "lstm_cell"],
};

/** The Keras 3 class a layer is saved as (the cuDNN layers become GRU / LSTM). */
export function kerasClassOf(layer: Layer): string {
  if (layer.className === "CuDNNGRU") return "GRU";
  if (layer.className === "CuDNNLSTM") return "LSTM";
  if (layer.className === "CustomRNNCell") return String(layer.config.class_name ?? "CustomRNNCell");
  return layer.className;
}

/** One object Keras saves: its class, its name and its own slice of the layer's weights. */
export interface KerasObject {
  readonly className: string;
  /** The object's name (a layer's or cell's name). */
  readonly name: string;
  /** Indices, in the top layer's weight list, of this object's own variables (Keras's `vars/0, 1, ...`). */
  readonly weights: readonly number[];
  /** The weight names (WeightSpec names: "kernel", "recurrent_kernel", ...) of `weights`. */
  readonly weightNames: readonly string[];
  /** Child objects under their Keras attribute paths ("cell", "forward_layer", "cells/gru_cell_1"). */
  readonly children: readonly { readonly attribute: string; readonly object: KerasObject }[];
  /**
   * TRUE for a sublayer Keras names itself (MultiHeadAttention's softmax and dropout): the name is made
   * unique per model, as a fresh Keras session loading the model names them ("softmax", "softmax_1").
   */
  readonly autoName?: boolean;
  /** Set on the cell of a cuDNN layer: its weights are in that layout here, in GRU / LSTM layout in Keras. */
  readonly cudnn: "CuDNNGRU" | "CuDNNLSTM" | null;
}

/** Keras's naming of the members of a list attribute: snake_case class names, made unique with _1, _2 ... */
export function uniqueSnakeNames(classNames: readonly string[]): string[] {
  const used = new Map<string, number>();
  return classNames.map((c) => {
    const base = snakeCase(c);
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    return n === undefined ? base : `${base}_${n + 1}`;
  });
}

/**
 * The object tree of `layer` built for `inputShapes`, its weights numbered from `offset` in the
 * top layer's weight list.
 */
export function kerasObjectTree(layer: Layer, inputShapes: readonly Shape[], offset = 0): KerasObject {
  const specs = familyOf(layer).weights ? weightSpecsOf(layer, inputShapes) : [];
  const all = specs.map((_, i) => offset + i);
  const names = specs.map((s) => s.name);
  const leaf = (className: string, name: string, cudnn: KerasObject["cudnn"] = null): KerasObject => ({
    className,
    name,
    weights: all,
    weightNames: names,
    children: [],
    cudnn,
  });
  const node = (children: KerasObject["children"]): KerasObject => ({
    className: kerasClassOf(layer),
    name: layer.name,
    weights: [],
    weightNames: [],
    children,
    cudnn: null,
  });
  const c = layer.config;
  const cell = LAYER_CELLS[layer.className];
  if (cell) {
    const cudnn = layer.className === "CuDNNGRU" || layer.className === "CuDNNLSTM" ? layer.className : null;
    return node([{ attribute: "cell", object: leaf(cell[0], cell[1], cudnn) }]);
  }
  const input = inputShapes[0];
  switch (layer.className) {
    case "RNN": {
      const cells = c.cell as Layer | Layer[];
      const stackOf = Array.isArray(cells) && cells.length > 1 ? cells : null;
      const inner = stackOf
        ? stackTree("stacked_rnn_cells", stackOf, input, offset)
        : kerasObjectTree(Array.isArray(cells) ? cells[0] : cells, [cellInput(input)], offset);
      return node([{ attribute: "cell", object: inner }]);
    }
    case "StackedRNNCells":
      return stackTree(layer.name, c.cells as Layer[], input, offset);
    case "Bidirectional": {
      const forward = kerasObjectTree(c.layer as Layer, inputShapes, offset);
      const backward = kerasObjectTree(c.backward_layer as Layer, inputShapes, offset + countOf(forward));
      return node([
        { attribute: "forward_layer", object: forward },
        { attribute: "backward_layer", object: backward },
      ]);
    }
    case "TextVectorization":
      // Keras keeps the vocabulary in an inner StringLookup (text_assets.ts writes its state).
      return node([{ attribute: "_lookup_layer", object: leaf("StringLookup", "string_lookup") }]);
    case "TimeDistributed": {
      const inner = c.layer as Layer;
      const step: Shape = [input[0], ...input.slice(2)];
      return node([{ attribute: "layer", object: kerasObjectTree(inner, [step], offset) }]);
    }
    case "Sequential":
    case "Functional": {
      // A model a wrapper runs (nested_model.ts): Keras keeps its layers under `layers/`, as a model's.
      const model = c.model as Model;
      const shapes = buildPlan(model).layerInputShapes;
      let at = offset;
      const children = kerasLayerPaths(model).map(({ layerIndex, path }) => {
        const layerShapes = shapes[layerIndex];
        const object = layerShapes
          ? kerasObjectTree(model.layers[layerIndex], layerShapes, at)
          : emptyObject(model.layers[layerIndex]);
        at += countOf(object);
        return { attribute: path, object };
      });
      return node(children);
    }
    case "MultiHeadAttention": {
      // Keras's EinsumDense sublayers hold the weights; its softmax and dropout sublayers none.
      const perDense = c.use_bias ? 2 : 1;
      const sublayer = (name: string, i: number): KerasObject => ({
        ...leaf("EinsumDense", name),
        weights: all.slice(i * perDense, (i + 1) * perDense),
        weightNames: names.slice(i * perDense, (i + 1) * perDense),
      });
      const empty = (className: string, name: string): KerasObject => ({
        ...leaf(className, name),
        weights: [],
        weightNames: [],
        autoName: true,
      });
      return node([
        { attribute: "query_dense", object: sublayer("query", 0) },
        { attribute: "key_dense", object: sublayer("key", 1) },
        { attribute: "value_dense", object: sublayer("value", 2) },
        { attribute: "output_dense", object: sublayer("attention_output", 3) },
        { attribute: "_softmax", object: empty("Softmax", "softmax") },
        { attribute: "_dropout_layer", object: empty("Dropout", "dropout") },
      ]);
    }
    default:
      return { ...leaf(kerasClassOf(layer), layer.name) };
  }
}

/** The input of one step of a recurrent layer over `input` (batch, time, features...). */
const cellInput = (input: Shape): Shape => [input[0], ...input.slice(2)];

function stackTree(name: string, cells: readonly Layer[], input: Shape, offset: number): KerasObject {
  const names = uniqueSnakeNames(cells.map(kerasClassOf));
  const children: { attribute: string; object: KerasObject }[] = [];
  let step: Shape = cellInput(input);
  let at = offset;
  cells.forEach((cell, i) => {
    const object = kerasObjectTree(cell, [step], at);
    children.push({ attribute: `cells/${names[i]}`, object });
    at += countOf(object);
    step = [step[0], cellOf(cell).outputSize];
  });
  return { className: "StackedRNNCells", name, weights: [], weightNames: [], children, cudnn: null };
}

/** The object of a layer never called (it has no weights). */
const emptyObject = (layer: Layer): KerasObject => ({
  className: layer.className,
  name: layer.name,
  weights: [],
  weightNames: [],
  children: [],
  cudnn: null,
});

/** The number of weights of an object and its children. */
export function countOf(object: KerasObject): number {
  return object.weights.length + object.children.reduce((n, ch) => n + countOf(ch.object), 0);
}

/** A Keras 3 `vars` group: where one object's variables go, and which of its layer's weights they are. */
export interface VarsGroup {
  /** e.g. "layers/gru/cell/vars" ("vars" for the model itself). */
  readonly path: string;
  /** The group's `name` attribute: the object's name. */
  readonly name: string;
  /** Index of the layer in `model.layers`; null for the model's own group. */
  readonly layerIndex: number | null;
  /** Indices in that layer's weight list, for `vars/0`, `vars/1`, ... */
  readonly weights: readonly number[];
  readonly cudnn: KerasObject["cudnn"];
}

/**
 * The layers Keras saves under `layers/` and their Keras 3 paths: a sequential model's layers (its
 * input layer is not one of them), a functional model's layers including its input layers, in
 * model order.
 */
export function kerasLayerPaths(model: Model): { layerIndex: number; path: string }[] {
  const indices = model.layers.map((_, i) => i);
  const names = uniqueSnakeNames(indices.map((i) => kerasClassOf(model.layers[i])));
  return indices.map((layerIndex, k) => ({ layerIndex, path: `layers/${names[k]}` }));
}

/**
 * Every `vars` group of the model's Keras 3 weights file, the model's own first (Keras writes one
 * for every object, with or without variables). `layerInputShapes` are the plan's.
 */
export function kerasVarsGroups(model: Model, layerInputShapes: readonly (readonly Shape[] | null)[]): VarsGroup[] {
  const groups: VarsGroup[] = [{ path: "vars", name: model.name, layerIndex: null, weights: [], cudnn: null }];
  const autoNames = new Map<string, number>();
  const unique = (name: string) => {
    const n = autoNames.get(name) ?? 0;
    autoNames.set(name, n + 1);
    return n === 0 ? name : `${name}_${n}`;
  };
  for (const { layerIndex, path } of kerasLayerPaths(model)) {
    const layer = model.layers[layerIndex];
    const shapes = layerInputShapes[layerIndex];
    const tree: KerasObject = shapes ? kerasObjectTree(layer, shapes) : emptyObject(layer);
    const walk = (object: KerasObject, at: string) => {
      const name = object.autoName ? unique(object.name) : object.name;
      groups.push({ path: `${at}/vars`, name, layerIndex, weights: object.weights, cudnn: object.cudnn });
      for (const ch of object.children) walk(ch.object, `${at}/${ch.attribute}`);
    };
    walk(tree, path);
  }
  return groups;
}
