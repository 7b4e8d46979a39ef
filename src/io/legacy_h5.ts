/**
 * The legacy Keras HDF5 format (Keras 2 / tf.keras `.h5`, which Keras 3 still writes and reads with
 * `model.save("x.h5")`), both ways:
 * - a whole model: root attributes `keras_version`, `backend`, `model_config` (JSON) and, when compiled,
 *   `training_config`; the weights in group `model_weights`; the optimizer's variables in group
 *   `optimizer_weights` (attribute `weight_names`, one dataset per variable at its name);
 * - weights only (save_model_weights_hdf5, tf.keras's `save_weights("x.h5")`): the `model_weights`
 *   layout at the root.
 * The weights layout: attribute `layer_names` (every layer of `model.layers`), one group per layer with
 * attribute `weight_names` (Keras 3 variable paths such as `sequential/gru/gru_cell/kernel`; tf.keras
 * wrote `gru/gru_cell/kernel:0`) and each weight a dataset at its name inside the layer's group, in
 * Keras's legacy order (trainable weights, then non-trainable ones); an empty group
 * `top_level_model_weights`. Loading matches layers by order (layers with weights, in model order) or,
 * with `by_name`, by layer name — as Keras's `load_weights_from_hdf5_group(_by_name)`.
 * Files written here are what Keras 3.15.1 writes (h5py sees the same tree, attributes and dtypes).
 */
import { KerasError } from "../errors.js";
import { isLayer, weightSpecsOf, weightValuesOf, withLayer, type Layer } from "../model/layer.js";
import { isModelLayer } from "../layers/wrappers/nested_model.js";
import { withModel, type Model } from "../model/model.js";
import type { Shape, WeightValue } from "../model/types.js";
import { weightsFromRaw } from "../model/weights.js";
import { isTrainingSetup } from "../engine/training/setup.js";
import type { H5Array, H5Reader, H5Writer } from "./hdf5.js";
import { kerasObjectTree, type KerasObject } from "./weight_paths.js";
import { asFloat32, builtPlan, cudnnLayout, trainableWeights, withOptimizerState } from "./keras_weights.js";
import { optimizerVars, type TrainableWeight } from "./optimizer_vars.js";
import { kerasJson, modelToKeras3 } from "./keras3_config.js";
import { compileToKeras3 } from "./keras_compile.js";
import { asRecord, type ConfigRecord, type Json } from "./layer_config.js";
import { lossFullName } from "../ops/losses.js";

/** The group of a whole-model file holding the weights. */
export const MODEL_WEIGHTS = "model_weights";
const OPTIMIZER_WEIGHTS = "optimizer_weights";
const TOP_LEVEL = "top_level_model_weights";

// ---------------------------------------------------------------------------------------------
// Where each weight goes

/** One weight of a layer in the legacy layout. */
interface LegacyWeight {
  /** Keras's variable path: the dataset's name inside the layer group and its `weight_names` entry. */
  readonly name: string;
  /** Index in the layer's weight list. */
  readonly index: number;
  readonly trainable: boolean;
}

/** The weights of one Keras object (a layer, cell, wrapped layer) of a layer, stored together. */
interface ObjectWeights {
  readonly weights: readonly LegacyWeight[];
  readonly cudnn: KerasObject["cudnn"];
}

/**
 * The weights of `layer` grouped by the Keras object holding them, named by their Keras 3 variable
 * path: `prefix` (a sequential model's name and "/", as Keras 3 builds a sequential model's layers in
 * its name scope) then the object names down the tree and the weight name.
 */
function objectWeights(layer: Layer, shapes: readonly Shape[], prefix: string, fn: string): ObjectWeights[] {
  const values = weightValuesOf(layer, shapes, fn);
  const out: ObjectWeights[] = [];
  const walk = (object: KerasObject, at: string) => {
    const path = `${at}${object.name}/`;
    out.push({
      cudnn: object.cudnn,
      weights: object.weights.map((index, k) => ({
        name: `${path}${object.weightNames[k]}`,
        index,
        trainable: values[index].trainable,
      })),
    });
    for (const child of object.children) walk(child.object, path);
  };
  walk(kerasObjectTree(layer, shapes), prefix);
  return out;
}

/** Keras's legacy weight order: trainable weights, then non-trainable ones (`_legacy_weights`). */
const legacyOrder = (weights: readonly LegacyWeight[]): LegacyWeight[] => [
  ...weights.filter((w) => w.trainable),
  ...weights.filter((w) => !w.trainable),
];

const namePrefix = (model: Model) => (model.type === "sequential" ? `${model.name}/` : "");

/** The Keras 3 variable path of each trainable weight (what the optimizer's slot names are made of). */
function trainablePaths(fn: string, model: Model): Map<string, string> {
  const plan = builtPlan(fn, model);
  const paths = new Map<string, string>();
  model.layers.forEach((layer, layerIndex) => {
    const shapes = plan.layerInputShapes[layerIndex];
    if (!shapes) return;
    for (const o of objectWeights(layer, shapes, namePrefix(model), fn))
      for (const w of o.weights) paths.set(`${layerIndex}/${w.index}`, w.name);
  });
  return paths;
}

/**
 * The legacy layout is not written or read for a model that runs another model as a layer
 * (time_distributed over a model): the `.keras` format holds it.
 */
function refuseWrappedModels(fn: string, model: Model): void {
  const wrapper = model.layers.find((l) => isLayer(l.config.layer) && isModelLayer(l.config.layer));
  if (wrapper)
    throw new KerasError(
      fn,
      `layer "${wrapper.name}" wraps a model, which the legacy HDF5 format does not hold here: save the model as a .keras file`,
      "io",
    );
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Keras's `save_weights_to_hdf5_group`: the model's weights in the legacy layout under `root`. */
export function writeLegacyWeights(file: H5Writer, root: string, fn: string, model: Model, kerasVersion: string): void {
  refuseWrappedModels(fn, model);
  const plan = builtPlan(fn, model);
  const at = (name: string) => (root ? `${root}/${name}` : name);
  file.group(root);
  file.chunkedStrings(
    root,
    "layer_names",
    model.layers.map((l) => l.name),
  );
  file.stringAttribute(root, "backend", "tensorflow", true);
  file.stringAttribute(root, "keras_version", kerasVersion, true);
  model.layers.forEach((layer, i) => {
    const group = at(layer.name);
    file.group(group);
    const shapes = plan.layerInputShapes[i];
    const values = shapes ? weightValuesOf(layer, shapes, fn) : [];
    const stored: { name: string; shape: readonly number[]; values: Float32Array; trainable: boolean }[] = [];
    for (const o of shapes ? objectWeights(layer, shapes, namePrefix(model), fn) : []) {
      const own = o.weights.map((w) => values[w.index]);
      const data = o.cudnn ? cudnnLayout(own, o.cudnn, true) : own;
      o.weights.forEach((w, k) => stored.push({ ...data[k], name: w.name, trainable: w.trainable }));
    }
    const ordered = [...stored.filter((w) => w.trainable), ...stored.filter((w) => !w.trainable)];
    file.chunkedStrings(
      group,
      "weight_names",
      ordered.map((w) => w.name),
    );
    for (const w of ordered) file.dataset(`${group}/${w.name}`, w.values, w.shape);
  });
  file.group(at(TOP_LEVEL));
  file.chunkedStrings(at(TOP_LEVEL), "weight_names", []);
}

/**
 * The `model_config` attribute: the model's Keras 3 config as Keras writes it in a legacy file (its
 * layers without `module`, `registered_name` and `build_config`; nested objects in full).
 */
export function legacyModelConfig(fn: string, model: Model): ConfigRecord {
  const full = modelToKeras3(fn, model);
  const config = { ...(full.config as ConfigRecord) };
  config.layers = (config.layers as ConfigRecord[]).map((l) => {
    const { module: _m, registered_name: _r, build_config: _b, ...rest } = l;
    return rest;
  });
  return { class_name: full.class_name, config };
}

/**
 * The `training_config` attribute: Keras 3's compile config with the optimizer as `optimizer_config`.
 * One difference from Keras 3.15.1's own files, on purpose: a loss given by an alias ("mse") is written
 * by its full name ("mean_squared_error"), since Keras's legacy loader cannot read the alias back
 * ("Could not deserialize 'keras.metrics.mse'"), not even from its own files.
 */
function legacyTrainingConfig(model: Model): ConfigRecord | null {
  if (!isTrainingSetup(model.compiled)) return null;
  const { optimizer, loss, ...rest } = compileToKeras3(model.compiled);
  const o = optimizer as ConfigRecord;
  const fullName = (l: Json): Json => (typeof l === "string" ? (lossFullName(l) ?? l) : l);
  return {
    ...rest,
    loss: Array.isArray(loss) ? loss.map(fullName) : fullName(loss),
    optimizer_config: { class_name: o.class_name, config: o.config },
  };
}

/** Keras's `save_model_to_hdf5`: a whole model (and with `includeOptimizer` its compile settings and state). */
export function writeLegacyModel(
  file: H5Writer,
  fn: string,
  model: Model,
  includeOptimizer: boolean,
  kerasVersion: string,
): void {
  file.stringAttribute("", "keras_version", kerasVersion);
  file.stringAttribute("", "backend", "tensorflow");
  file.stringAttribute("", "model_config", kerasJson(legacyModelConfig(fn, model)), true);
  const training = includeOptimizer ? legacyTrainingConfig(model) : null;
  if (training) file.stringAttribute("", "training_config", kerasJson(training), true);
  writeLegacyWeights(file, MODEL_WEIGHTS, fn, model, kerasVersion);
  const setup = model.compiled;
  if (!includeOptimizer || !isTrainingSetup(setup)) return;
  const optimizerName = String(setup.optimizer.config.name ?? "");
  const paths = trainablePaths(fn, model);
  const plan = builtPlan(fn, model);
  const vars = optimizerVars(setup.optimizer, setup.optimizerState, trainableWeights(fn, model, plan));
  const slotPath = (w: TrainableWeight) => paths.get(`${w.layerIndex}/${w.weightIndex}`)!.replaceAll("/", "_");
  const names = vars.map((v) => `${optimizerName}/${v.weight ? `${slotPath(v.weight)}_${v.label}` : v.label}`);
  file.group(OPTIMIZER_WEIGHTS);
  file.chunkedStrings(OPTIMIZER_WEIGHTS, "weight_names", names);
  vars.forEach((v, i) => file.dataset(`${OPTIMIZER_WEIGHTS}/${names[i]}`, v.data, v.shape));
}

// ---------------------------------------------------------------------------------------------
// Reading

/** The group holding the legacy weights layout: the root of a weights file, or a model file's `model_weights`. */
export function legacyWeightsRoot(file: H5Reader, fn: string, what: string): string {
  const rootNames = file.attributeNames("");
  if (rootNames.includes("layer_names") || rootNames.includes("layer_names0")) return "";
  if (file.isGroup(MODEL_WEIGHTS)) return MODEL_WEIGHTS;
  if (file.isGroup("layers") || file.isGroup("vars"))
    throw new KerasError(
      fn,
      `${what} holds Keras 3 weights (the .weights.h5 layout), not the legacy layout: name it "<name>.weights.h5" and use load_model_weights()`,
      "io",
    );
  throw new KerasError(
    fn,
    `${what} has no Keras weights: no \`layer_names\` attribute and no \`${MODEL_WEIGHTS}\` group`,
    "io",
  );
}

const join = (root: string, name: string) => (root ? `${root}/${name}` : name);

/** The arrays of a layer group in `weight_names` order. */
function groupWeights(
  file: H5Reader,
  group: string,
): { name: string; shape: readonly number[]; values: Float32Array }[] {
  return file.chunkedStrings(group, "weight_names").map((name) => {
    const path = `${group}/${name}`;
    return { name, shape: file.dataset(path).shape, values: asFloat32(file.read(path)) };
  });
}

export interface LegacyLoadOptions {
  readonly byName: boolean;
  readonly skipMismatch: boolean;
}

export interface LegacyLoaded {
  readonly model: Model;
  /** What skip_mismatch skipped, with why (each a warning, as in Keras). */
  readonly skipped: readonly string[];
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);
const shapeText = (s: readonly number[]) => `(${s.join(", ")}${s.length === 1 ? "," : ""})`;

/**
 * The layer with the file's arrays (legacy order) as its weights. A cuDNN layer's object takes either
 * layout: its own (a Keras 2 CuDNNGRU / CuDNNLSTM) or Keras 3's GRU / LSTM (converted). With
 * `skipMismatch`, a weight of another shape keeps its value, reported in `skipped`.
 */
function layerWithWeights(
  fn: string,
  layer: Layer,
  shapes: readonly Shape[],
  prefix: string,
  arrays: readonly { shape: readonly number[]; values: Float32Array }[],
  where: string,
  skipMismatch: boolean,
  skipped: string[],
): Layer {
  const specs = weightSpecsOf(layer, shapes);
  const current = weightValuesOf(layer, shapes, fn);
  const objects = objectWeights(layer, shapes, prefix, fn);
  const order = legacyOrder(objects.flatMap((o) => o.weights));
  const raw: { shape: readonly number[]; values: Float32Array }[] = current.map((w) => ({
    shape: w.shape,
    values: w.values,
  }));
  const byIndex = new Map(order.map((w, k) => [w.index, arrays[k]]));
  for (const o of objects) {
    let own = o.weights.map((w) => byIndex.get(w.index)!);
    if (o.cudnn && !own.every((a, k) => sameShape(a.shape, specs[o.weights[k].index].shape))) {
      try {
        own = cudnnLayout(own, o.cudnn, false);
      } catch {
        // shapes that fit neither layout: reported below
      }
    }
    o.weights.forEach((w, k) => {
      const spec = specs[w.index];
      if (sameShape(own[k].shape, spec.shape)) raw[w.index] = own[k];
      else {
        const message = `${where}: weight ${w.name} expects shape ${shapeText(spec.shape)}, the file holds ${shapeText(own[k].shape)}`;
        if (!skipMismatch)
          throw new KerasError(fn, `shape mismatch in ${message} (skip_mismatch = TRUE keeps the model's own)`, "io");
        skipped.push(message);
      }
    });
  }
  const values: WeightValue[] = weightsFromRaw(fn, where, specs, raw);
  return withLayer(layer, { weightValues: values });
}

/**
 * The model with the weights of the legacy layout under `root` (Keras's `load_weights_from_hdf5_group`,
 * or `..._by_name` with `byName`).
 */
export function readLegacyWeights(
  file: H5Reader,
  root: string,
  fn: string,
  what: string,
  model: Model,
  options: LegacyLoadOptions,
): LegacyLoaded {
  refuseWrappedModels(fn, model);
  const plan = builtPlan(fn, model);
  const prefix = namePrefix(model);
  const skipped: string[] = [];
  const layers = [...model.layers];
  const withWeights = model.layers
    .map((l, i) => ({ layer: l, index: i, shapes: plan.layerInputShapes[i] }))
    .filter((x) => x.shapes && weightSpecsOf(x.layer, x.shapes).length > 0);
  const fileLayers = file.chunkedStrings(root, "layer_names");
  const load = (k: number, name: string, target: (typeof withWeights)[number]) => {
    const arrays = groupWeights(file, join(root, name));
    const count = weightSpecsOf(target.layer, target.shapes!).length;
    const where = `layer #${k} (named "${target.layer.name}"${target.layer.name === name ? "" : ` in the model, "${name}" in ${what}`})`;
    if (arrays.length !== count) {
      const message = `weight count mismatch for ${where}: the layer expects ${count} weight(s), ${what} holds ${arrays.length}`;
      if (options.byName && options.skipMismatch) return void skipped.push(message);
      throw new KerasError(fn, message, "io");
    }
    layers[target.index] = layerWithWeights(
      fn,
      target.layer,
      target.shapes!,
      prefix,
      arrays,
      where,
      options.skipMismatch,
      skipped,
    );
  };
  if (options.byName) {
    fileLayers.forEach((name, k) => {
      for (const target of withWeights.filter((x) => x.layer.name === name)) load(k, name, target);
    });
  } else {
    const saved = fileLayers.filter((name) => file.chunkedStrings(join(root, name), "weight_names").length > 0);
    if (saved.length !== withWeights.length)
      throw new KerasError(
        fn,
        `layer count mismatch: the model has ${withWeights.length} layers with weights, ${what} holds weights of ${saved.length} layers (${saved.map((n) => `"${n}"`).join(", ") || "none"})${saved.length ? "; by_name = TRUE matches them by name" : ""}`,
        "io",
      );
    saved.forEach((name, k) => load(k, name, withWeights[k]));
  }
  const top = join(root, TOP_LEVEL);
  if (file.isGroup(top) && file.chunkedStrings(top, "weight_names").length > 0) {
    const message = `${what} holds top-level model weights, which models here do not have`;
    if (!(options.byName && options.skipMismatch)) throw new KerasError(fn, message, "io");
    skipped.push(message);
  }
  return { model: withModel(model, { layers: Object.freeze(layers) }), skipped };
}

/** The optimizer variables of a whole-model file, in `optimizer.variables` order, as state for the compiled model. */
export function readLegacyOptimizerState(file: H5Reader, fn: string, model: Model): Model {
  if (!isTrainingSetup(model.compiled) || !file.isGroup(OPTIMIZER_WEIGHTS)) return model;
  const vars = file.chunkedStrings(OPTIMIZER_WEIGHTS, "weight_names").map((name) => {
    const path = `${OPTIMIZER_WEIGHTS}/${name}`;
    return { shape: file.dataset(path).shape, read: (): H5Array => file.read(path) };
  });
  return withOptimizerState(fn, model, vars);
}

/** A root attribute holding JSON (model_config, training_config), parsed; undefined when absent. */
export function jsonAttribute(file: H5Reader, fn: string, what: string, name: string): unknown {
  const v = file.attribute("", name);
  if (v === undefined) return undefined;
  const text = typeof v === "string" ? v : Array.isArray(v) && typeof v[0] === "string" ? v[0] : null;
  if (text === null) throw new KerasError(fn, `the \`${name}\` attribute of ${what} is not a JSON string`, "io");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new KerasError(fn, `the \`${name}\` attribute of ${what} is not valid JSON: ${(e as Error).message}`, "io");
  }
}

// ---------------------------------------------------------------------------------------------
// Keras 2 configs

const RECURRENT_CLASSES = new Set(["GRU", "GRUCell", "LSTM", "LSTMCell", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]);

/**
 * A Keras 2 (tf.keras) config in the form this package reads, with Keras 2's meanings: "hard_sigmoid"
 * is the Keras 2 formula (`hard_sigmoid_keras2`); a GRU without `reset_after` is Keras <= 2.2's
 * reset_after = FALSE, a recurrent layer without `recurrent_activation` uses Keras 2.2's hard
 * sigmoid; a one-element `axis` list is the axis (as Keras 3's legacy loader reads it).
 */
export function fromKeras2Config(config: unknown): unknown {
  const visit = (v: unknown, key: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => visit(x, key));
    if ((key === "activation" || key === "recurrent_activation") && v === "hard_sigmoid") return "hard_sigmoid_keras2";
    const r = asRecord(v);
    if (!r) return v;
    const out: Record<string, unknown> = Object.fromEntries(Object.entries(r).map(([k, x]) => [k, visit(x, k)]));
    const c = asRecord(out.config);
    if (typeof out.class_name === "string" && c) {
      const fixed: Record<string, unknown> = { ...c };
      if (RECURRENT_CLASSES.has(out.class_name)) {
        if (fixed.recurrent_activation === undefined) fixed.recurrent_activation = "hard_sigmoid_keras2";
        if (out.class_name.startsWith("GRU") && fixed.reset_after === undefined) fixed.reset_after = false;
      }
      if (Array.isArray(fixed.axis) && fixed.axis.length === 1 && typeof fixed.axis[0] === "number")
        fixed.axis = fixed.axis[0];
      out.config = fixed;
    }
    return out;
  };
  return visit(config, "");
}

/** Whether the file was written by Keras 1 / 2 (tf.keras), from its `keras_version` attribute. */
export function isKeras2File(file: H5Reader, root = ""): boolean {
  const v = file.attribute(root, "keras_version");
  const version = typeof v === "string" ? v : "1";
  return !/^3\./.test(version);
}

/**
 * Keras's `compile_config` from a legacy `training_config` (Keras 3's, or tf.keras's: an optimizer
 * class "Custom>Adam", a learning rate `lr`, metrics as MeanMetricWrapper objects).
 */
export function compileConfigFromLegacy(trainingConfig: unknown): unknown {
  const tc = asRecord(trainingConfig);
  if (!tc) return trainingConfig;
  const oc = asRecord(tc.optimizer_config);
  let optimizer: unknown = tc.optimizer_config;
  if (oc && typeof oc.class_name === "string") {
    const config = { ...(asRecord(oc.config) ?? {}) };
    if ("lr" in config && !("learning_rate" in config)) config.learning_rate = config.lr;
    delete config.lr;
    optimizer = { class_name: oc.class_name.replace(/^Custom>/, ""), config };
  }
  const metric = (m: unknown): unknown => {
    if (Array.isArray(m)) return m.map(metric);
    const r = asRecord(m);
    const c = r && asRecord(r.config);
    if (r && r.class_name === "MeanMetricWrapper" && c) return typeof c.fn === "string" ? c.fn : c.name;
    return m;
  };
  return {
    optimizer,
    loss: tc.loss,
    loss_weights: tc.loss_weights,
    metrics: metric(tc.metrics),
    weighted_metrics: metric(tc.weighted_metrics),
  };
}
