/**
 * A model's weights (and its optimizer's state) in Keras 3's HDF5 layout — the `model.weights.h5` of
 * a `.keras` file and the `.weights.h5` of save_model_weights() — both ways. Where each weight goes is
 * weight_paths.ts's; how optimizer state is laid out is optimizer_vars.ts's.
 */
import { writeTextVariables } from "./text_assets.js";
import { ArgumentError, KerasError } from "../errors.js";
import { weightValuesOf, weightSpecsOf, withLayer, type Layer } from "../model/layer.js";
import { withModel, type CompiledState, type Model } from "../model/model.js";
import type { Shape, WeightValue } from "../model/types.js";
import { weightsFromRaw, toFloat32 } from "../model/weights.js";
import { buildPlan, type Plan } from "../engine/plan.js";
import { isTrainingSetup, type TrainingSetup } from "../engine/training/setup.js";
import { convert_cudnn_weights } from "../layers/recurrent/cudnn.js";
import { kerasVarsGroups, type VarsGroup } from "./weight_paths.js";
import { optimizerStateFromVars, optimizerVars, type TrainableWeight } from "./optimizer_vars.js";
import type { H5Array, H5Reader, H5Writer } from "./hdf5.js";

/** The model's plan, or a KerasError of `fn` saying the model is not built. */
export function builtPlan(fn: string, model: Model): Plan {
  try {
    return buildPlan(model);
  } catch (e) {
    if (e instanceof KerasError || e instanceof ArgumentError)
      throw new KerasError(
        fn,
        `model "${model.name}" is not built yet (its input shape is unknown), so its weights are not known: give input_shape`,
        "shape",
      );
    throw e;
  }
}

const layerShapes = (plan: Plan, i: number): readonly Shape[] | null => plan.layerInputShapes[i] ?? null;

/** The model's trainable weights in Keras's `trainable_variables` order (what optimizer slots follow). */
export function trainableWeights(fn: string, model: Model, plan: Plan): TrainableWeight[] {
  const out: TrainableWeight[] = [];
  model.layers.forEach((layer, layerIndex) => {
    const shapes = layerShapes(plan, layerIndex);
    if (!shapes) return;
    weightValuesOf(layer, shapes, fn).forEach((w, weightIndex) => {
      if (w.trainable) out.push({ layerIndex, weightIndex, shape: w.shape });
    });
  });
  return out;
}

/** A cuDNN layer's weights in the Keras 3 GRU / LSTM layout (`toKeras`), or back. */
export function cudnnLayout(
  raw: readonly { shape: readonly number[]; values: ArrayLike<number> }[],
  kind: "CuDNNGRU" | "CuDNNLSTM",
  toKeras: boolean,
): { shape: readonly number[]; values: Float32Array }[] {
  const from = toKeras ? kind : kind === "CuDNNGRU" ? "GRU" : "LSTM";
  const converted = convert_cudnn_weights(
    raw.map((w) => ({ shape: [...w.shape], values: w.values })),
    from,
  );
  const units = raw[1].shape[0];
  const gates = kind === "CuDNNGRU" ? 3 : 4;
  const biasShape = toKeras ? (kind === "CuDNNGRU" ? [2, 3 * units] : [4 * units]) : [2 * gates * units];
  const shapes = [raw[0].shape, raw[1].shape, biasShape];
  return converted.map((w, i) => ({ shape: shapes[i], values: toFloat32(w, shapes[i]) as Float32Array }));
}

/**
 * Writes the model's weights in Keras 3's layout, and with `optimizer` its compiled optimizer's
 * state under `optimizer/vars`.
 */
export function writeKerasWeights(file: H5Writer, fn: string, model: Model, optimizer: boolean): void {
  const plan = builtPlan(fn, model);
  const values = model.layers.map((l, i) => {
    const shapes = layerShapes(plan, i);
    return shapes ? weightValuesOf(l, shapes, fn) : [];
  });
  for (const g of kerasVarsGroups(model, plan.layerInputShapes)) {
    file.group(g.path, { name: g.name });
    const own = g.weights.map((i) => values[g.layerIndex!][i]);
    const stored = g.cudnn ? cudnnLayout(own, g.cudnn, true) : own;
    stored.forEach((w, k) => file.dataset(`${g.path}/${k}`, w.values, w.shape));
  }
  writeTextVariables(file, model);
  const setup = model.compiled;
  if (optimizer && isTrainingSetup(setup)) {
    file.group("optimizer/vars", { name: String(setup.optimizer.config.name ?? "") });
    optimizerVars(setup.optimizer, setup.optimizerState, trainableWeights(fn, model, plan)).forEach((v, i) =>
      file.dataset(`optimizer/vars/${i}`, v.data, v.shape),
    );
  }
}

/** The numbered datasets ("0", "1", ...) of a `vars` group, in order. */
function varsOf(file: H5Reader, path: string): string[] {
  if (!file.isGroup(path)) return [];
  const keys = file.keys(path).filter((k) => /^\d+$/.test(k));
  return keys.sort((a, b) => Number(a) - Number(b)).map((k) => `${path}/${k}`);
}

export const asFloat32 = (a: H5Array): Float32Array =>
  a instanceof Float32Array ? a : Float32Array.from(a instanceof BigInt64Array ? Array.from(a, Number) : a);

export interface LoadedWeights {
  readonly model: Model;
  /** Layers skipped with `skip_mismatch`, with why. */
  readonly skipped: readonly string[];
}

/**
 * The model with the weights of a Keras 3 weights file. Every layer must find its weights, in the
 * right number and shapes; with `skipMismatch`, a layer that does not keeps its own and is reported.
 */
export function readKerasWeights(
  file: H5Reader,
  fn: string,
  what: string,
  model: Model,
  skipMismatch: boolean,
): LoadedWeights {
  const plan = builtPlan(fn, model);
  const groups = kerasVarsGroups(model, plan.layerInputShapes);
  const byLayer = new Map<number, VarsGroup[]>();
  for (const g of groups)
    if (g.layerIndex !== null) byLayer.set(g.layerIndex, [...(byLayer.get(g.layerIndex) ?? []), g]);
  const skipped: string[] = [];
  const layers = model.layers.map((layer, i): Layer => {
    const shapes = layerShapes(plan, i);
    if (!shapes) return layer;
    const specs = weightSpecsOf(layer, shapes);
    if (specs.length === 0) return layer;
    try {
      const raw: { shape: readonly number[]; values: Float32Array }[] = new Array(specs.length);
      for (const g of byLayer.get(i) ?? []) {
        const paths = varsOf(file, g.path);
        if (paths.length !== g.weights.length) {
          const expected = g.weights.map((k) => `${specs[k].name} [${specs[k].shape.join(", ")}]`).join(", ");
          throw new KerasError(
            fn,
            `layer "${layer.name}" expects ${g.weights.length} weights at "${g.path}" (${expected}), ${what} has ${paths.length}`,
            "io",
          );
        }
        const read = paths.map((p) => {
          const info = file.dataset(p);
          return { shape: info.shape, values: asFloat32(file.read(p)) };
        });
        const own = g.cudnn ? cudnnLayout(read, g.cudnn, false) : read;
        g.weights.forEach((k, j) => (raw[k] = own[j]));
      }
      const values: WeightValue[] = weightsFromRaw(fn, `layer "${layer.name}"`, specs, raw, true, null);
      return withLayer(layer, { weightValues: values });
    } catch (e) {
      if (!(e instanceof KerasError) || !skipMismatch) throw e;
      skipped.push(e.message.replace(/^[a-z_]+\(\): /, ""));
      return layer;
    }
  });
  return { model: withModel(model, { layers: Object.freeze(layers) }), skipped };
}

/**
 * The optimizer state of a Keras 3 weights file for the model's compiled optimizer: null when the file
 * has none (or that of an optimizer never used); a mismatch is a warning, as in Keras.
 */
export function readOptimizerState(file: H5Reader, fn: string, model: Model): Model {
  if (!isTrainingSetup(model.compiled) || !file.isGroup("optimizer/vars")) return model;
  const vars = varsOf(file, "optimizer/vars").map((p) => ({ shape: file.dataset(p).shape, read: () => file.read(p) }));
  return withOptimizerState(fn, model, vars);
}

/**
 * The compiled model with the optimizer state of Keras's optimizer variables (in `optimizer.variables`
 * order, as both Keras file formats store them); a mismatch is a warning, as in Keras.
 */
export function withOptimizerState(
  fn: string,
  model: Model,
  vars: readonly { shape: readonly number[]; read: () => H5Array }[],
): Model {
  const setup = model.compiled;
  if (!isTrainingSetup(setup)) return model;
  const plan = builtPlan(fn, model);
  const state = optimizerStateFromVars(setup.optimizer, vars, trainableWeights(fn, model, plan));
  if (state === null) return model;
  if ("mismatch" in state) {
    console.warn(`${fn}(): skipping the optimizer state: ${state.mismatch}; the optimizer starts afresh`);
    return model;
  }
  // The compiled learning rate when the stored (float32) one is its rounding: training resumes exactly.
  const lr = setup.optimizer.config.learning_rate;
  const learningRate =
    typeof lr === "number" && state.learning_rate !== null && Math.fround(lr) === state.learning_rate
      ? lr
      : state.learning_rate;
  const optimizerState = Object.freeze({ ...state, learning_rate: learningRate });
  const compiled: TrainingSetup = Object.freeze({ ...setup, optimizerState });
  return withModel(model, { compiled: compiled as unknown as CompiledState });
}
