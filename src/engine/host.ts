/**
 * Host layers (text preprocessing, see HostLayer) where raw data enters: an eager call, or the model
 * inputs they read. What they make becomes a tensor; the graph's node for them passes it on.
 */
import { tf, type Tensor } from "../backend/tf.js";
import { KerasError } from "../errors.js";
import { familyOf, type Layer } from "../model/layer.js";
import type { Model } from "../model/model.js";
import type { Shape } from "../model/types.js";
import type { Plan } from "./plan.js";

/** The layer's output for raw data `x` as a tensor (strings from an inverting string lookup). */
export function hostTensor(layer: Layer, x: unknown, fn: string, what: string): Tensor {
  const out = familyOf(layer).host!.encode(layer.config, x, fn, what);
  if (out.kind === "numbers") return tf.tensor(out.values, [...out.shape], "float32");
  return tf.tensor(
    out.values.map((v) => v ?? ""),
    [...out.shape],
    "string",
  );
}

/** The layers each model input feeds, as [input index, layer] (index -1: not a model input). */
export function fedLayers(model: Model): [number, Layer][] {
  if (model.type === "functional") {
    // The model's layer values are current (loaded weights and vocabularies); its nodes name them by id.
    const current = new Map(model.layers.map((l) => [l.id, l]));
    return model.nodes.flatMap((node) =>
      node.inputs.map(
        (t) =>
          [model.inputs.findIndex((i) => i.node === t.node), current.get(node.layer.id) ?? node.layer] as [
            number,
            Layer,
          ],
      ),
    );
  }
  return model.layers.length ? [[0, model.layers[0]]] : [];
}

/**
 * Per model input, the host layer reading its raw data (null: the input takes numbers). An input read
 * by a host layer feeds nothing else: the graph sees what that layer made of it.
 */
export function hostReaders(fn: string, model: Model, inputCount: number): (Layer | null)[] {
  const fed = fedLayers(model).filter(([k]) => k >= 0);
  const readers: (Layer | null)[] = Array(inputCount).fill(null);
  for (const [k, layer] of fed) if (familyOf(layer).host) readers[k] = layer;
  for (const [k, layer] of fed) {
    const reader = readers[k];
    if (reader && reader.id !== layer.id)
      throw new KerasError(
        fn,
        `model input ${k + 1} feeds the text layer "${reader.name}" and layer "${layer.name}": an input of raw data can feed only the one text layer that reads it`,
      );
  }
  return readers;
}

/**
 * The shapes of the data a plan's inputs take: an input read by a host layer takes what that layer
 * makes of the raw data (its output shape), the others their own shape.
 */
export function fedInputShapes(plan: Plan, layers: readonly Layer[]): readonly Shape[] {
  return plan.inputShapes.map((shape, k) => {
    const node = plan.nodes.find((n) => n.inputs[0]?.node === -k - 1 && familyOf(layers[n.layerIndex]).host);
    return node ? node.outputShapes[0] : shape;
  });
}
