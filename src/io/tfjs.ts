/**
 * The TensorFlow.js layers format: a folder with `model.json` (`modelTopology`, `format:
 * "layers-model"`, `weightsManifest`) and `weights.bin` (the weights as little-endian float32, in
 * manifest order) — what tfjs-layers' `model.save("file://...")` writes and `tf.loadLayersModel()`
 * reads. The topology and what tfjs-layers can run are in tfjs_topology.ts; the training config in
 * tfjs_training.ts.
 */
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { ArgumentError, KerasError, describeValue } from "../errors.js";
import { weightSpecsOf, weightValuesOf, withLayer } from "../model/layer.js";
import { withModel, type Model } from "../model/model.js";
import { weightsFromRaw } from "../model/weights.js";
import { product } from "../model/shape.js";
import { buildPlan, type Plan } from "../engine/plan.js";
import { asRecord, type ConfigRecord, type Json } from "./layer_config.js";
import { writeFilesAtomic } from "./atomic.js";
import { fromTfjsTopology, tfjsRefusals, tfjsWeightNames, toTfjsTopology } from "./tfjs_topology.js";
import { compileFromTrainingConfig, trainingConfigOf } from "./tfjs_training.js";

export const MODEL_JSON = "model.json";
export const WEIGHTS_BIN = "weights.bin";

/** One entry of a weights manifest. */
interface WeightEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: "float32";
}

function planOf(fn: string, model: Model, unknownShape: string): Plan {
  try {
    return buildPlan(model);
  } catch (e) {
    if (e instanceof KerasError || e instanceof ArgumentError) throw new KerasError(fn, unknownShape, "shape");
    throw e;
  }
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Little-endian float32 bytes of `values`, one after the other. */
function float32Bytes(values: readonly Float32Array[]): Uint8Array {
  const out = new Float32Array(values.reduce((n, v) => n + v.length, 0));
  let offset = 0;
  for (const v of values) {
    out.set(v, offset);
    offset += v.length;
  }
  const bytes = new Uint8Array(out.buffer);
  if (!LITTLE_ENDIAN) for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  return bytes;
}

export interface SaveTfjsOptions {
  /** FALSE: refuse to replace an existing model.json or weights.bin. */
  readonly overwrite: boolean;
  /** Write the compile settings as `trainingConfig` (when the model is compiled). */
  readonly includeOptimizer: boolean;
}

/** The model.json content and weight bytes of `model` (no files touched). */
export function tfjsArtifacts(
  fn: string,
  model: Model,
  includeOptimizer: boolean,
): { modelJson: ConfigRecord; weights: Uint8Array } {
  const plan = planOf(
    fn,
    model,
    `model "${model.name}" is not built yet (its input shape is unknown): give input_shape, or fit/predict it first`,
  );
  const refusals = tfjsRefusals(model, plan);
  if (refusals.length)
    throw new KerasError(
      fn,
      `TensorFlow.js (tfjs-layers 4.22) cannot run model "${model.name}" with the numbers it computes here:\n  - ${refusals.join("\n  - ")}`,
    );
  const entries: WeightEntry[] = [];
  const values: Float32Array[] = [];
  model.layers.forEach((layer, i) => {
    const shapes = plan.layerInputShapes[i];
    if (!shapes) return;
    const names = tfjsWeightNames(fn, layer, shapes);
    weightValuesOf(layer, shapes, fn).forEach((w, k) => {
      entries.push({ name: names[k], shape: [...w.shape], dtype: "float32" });
      values.push(w.values);
    });
  });
  const trainingConfig = includeOptimizer && model.compiled ? trainingConfigOf(fn, model) : undefined;
  const modelJson: ConfigRecord = {
    modelTopology: toTfjsTopology(model),
    format: "layers-model",
    generatedBy: "tskeras",
    convertedBy: null,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: entries as unknown as Json }],
    ...(trainingConfig ? { trainingConfig } : {}),
  };
  return { modelJson, weights: float32Bytes(values) };
}

const exists = (p: string) =>
  stat(p).then(
    (s) => s,
    () => null,
  );

/**
 * Writes `model` to the folder `path` as model.json + weights.bin (the folder is created if needed).
 * Refuses, listing every reason, a model tfjs-layers 4.22 cannot run with our numbers.
 */
export async function saveTfjsModel(fn: string, model: Model, path: string, options: SaveTfjsOptions): Promise<void> {
  const { modelJson, weights } = tfjsArtifacts(fn, model, options.includeOptimizer);
  const folder = await exists(path);
  if (folder && !folder.isDirectory())
    throw new KerasError(
      fn,
      `"${path}" is a file; \`filepath\` names the folder that will hold ${MODEL_JSON} and ${WEIGHTS_BIN}`,
      "io",
    );
  const jsonFile = join(path, MODEL_JSON);
  const binFile = join(path, WEIGHTS_BIN);
  if (!options.overwrite) {
    for (const f of [jsonFile, binFile])
      if (await exists(f))
        throw new KerasError(fn, `File '${f}' already exists (pass overwrite = TRUE to force save).`, "io");
  }
  if (!folder) {
    try {
      await mkdir(path, { recursive: true });
    } catch (e) {
      throw new KerasError(fn, `cannot create the folder "${path}": ${(e as Error).message}`, "io");
    }
  }
  try {
    await writeFilesAtomic(fn, [
      { file: binFile, data: weights },
      { file: jsonFile, data: JSON.stringify(modelJson) },
    ]);
  } catch (e) {
    if (!folder) await rm(path, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Loading

const BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4 };

/** The manifest's weight entries, checked; `paths` resolved against the folder of model.json. */
function readManifest(
  fn: string,
  manifest: unknown,
  folder: string,
): { files: string[]; entries: (WeightEntry & { bytes: number; group?: string; int: boolean })[] } {
  const bad = (what: string): never => {
    throw new KerasError(fn, `${MODEL_JSON}: \`weightsManifest\` ${what}`, "io");
  };
  if (!Array.isArray(manifest)) bad(`must be a list of weight groups, got ${describeValue(manifest)}`);
  const files: string[] = [];
  const entries: (WeightEntry & { bytes: number; group?: string; int: boolean })[] = [];
  (manifest as unknown[]).forEach((g, gi) => {
    const group = asRecord(g);
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights))
      bad(`group ${gi + 1} must be { paths, weights }, got ${describeValue(g)}`);
    for (const p of group!.paths as unknown[]) {
      if (typeof p !== "string" || p === "" || /^[a-z][a-z0-9+.-]*:\/\//i.test(p) || isAbsolute(p))
        bad(`group ${gi + 1}: a path must be a file name relative to ${MODEL_JSON}, got ${describeValue(p)}`);
      const file = resolve(folder, p as string);
      const rel = relative(folder, file);
      if (rel === "" || rel.startsWith("..") || isAbsolute(rel))
        bad(`group ${gi + 1}: path ${JSON.stringify(p)} leaves the folder of ${MODEL_JSON}`);
      files.push(file);
    }
    for (const w of group!.weights as unknown[]) {
      const e = asRecord(w);
      const name = e?.name;
      const shape = e?.shape;
      if (
        !e ||
        typeof name !== "string" ||
        !Array.isArray(shape) ||
        !shape.every((d) => Number.isInteger(d) && (d as number) >= 0 && (d as number) < 2 ** 31)
      )
        bad(`has an entry that is not { name, shape, dtype }: ${describeValue(w)}`);
      if (e!.quantization !== undefined && e!.quantization !== null)
        bad(
          `entry "${String(name)}" is quantized, which load_model_tfjs() does not read; convert the model without quantization`,
        );
      const dtype = e!.dtype ?? "float32";
      if (typeof dtype !== "string" || !(dtype in BYTES))
        bad(`entry "${String(name)}" has dtype ${describeValue(dtype)}; weights must be float32 (or int32)`);
      const count = product(shape as number[]);
      if (count > 2 ** 31) bad(`entry "${String(name)}" has an impossible shape [${(shape as number[]).join(", ")}]`);
      entries.push({
        name: name as string,
        shape: shape as number[],
        dtype: "float32",
        bytes: count * BYTES[dtype as string],
        group: typeof e!.group === "string" ? e!.group : undefined,
        int: dtype === "int32",
      });
    }
  });
  return { files, entries };
}

async function readWeightData(fn: string, files: readonly string[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    try {
      parts.push(await readFile(f));
    } catch (e) {
      throw new KerasError(fn, `cannot read the weights file "${f}": ${(e as Error).message}`, "io");
    }
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Where model.json is: `path` itself, or `path/model.json` when `path` is a folder. */
async function modelJsonPath(fn: string, path: string): Promise<string> {
  const s = await exists(path);
  if (!s) throw new KerasError(fn, `"${path}" does not exist`, "io");
  if (!s.isDirectory()) return path;
  const file = join(path, MODEL_JSON);
  if (!(await exists(file))) throw new KerasError(fn, `the folder "${path}" has no ${MODEL_JSON}`, "io");
  return file;
}

/** tfjs-layers' fallback for Keras 2 names: "gru/gru_cell/kernel" also matches "gru/kernel" (container.ts loadWeights). */
const withoutCellScope = (name: string) => {
  const parts = name.split("/");
  return parts.length > 2 ? [...parts.slice(0, -2), parts[parts.length - 1]].join("/") : name;
};

export interface LoadTfjsOptions {
  /** Compile the model with the file's `trainingConfig`, when it has one. */
  readonly compile: boolean;
}

/** Reads a tfjs layers model (a folder holding model.json, or the model.json path) as a new model value. */
export async function loadTfjsModel(fn: string, path: string, options: LoadTfjsOptions): Promise<Model> {
  const jsonFile = await modelJsonPath(fn, path);
  let text: string;
  try {
    text = await readFile(jsonFile, "utf8");
  } catch (e) {
    throw new KerasError(fn, `cannot read "${jsonFile}": ${(e as Error).message}`, "io");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new KerasError(fn, `"${jsonFile}" is not valid JSON (${(e as Error).message})`, "io");
  }
  const json = asRecord(parsed);
  if (!json) throw new KerasError(fn, `"${jsonFile}" must hold a JSON object, got ${describeValue(parsed)}`, "io");
  if (json.format !== undefined && json.format !== "layers-model")
    throw new KerasError(
      fn,
      `"${jsonFile}" is a ${describeValue(json.format)} model; only TensorFlow.js layers models ("layers-model") have layers to rebuild`,
      "io",
    );
  if (json.modelTopology === undefined || json.modelTopology === null)
    throw new KerasError(fn, `"${jsonFile}" has no \`modelTopology\``, "io");
  const { files, entries } = readManifest(fn, json.weightsManifest ?? [], dirname(jsonFile));
  const data = await readWeightData(fn, files);
  const expected = entries.reduce((n, e) => n + e.bytes, 0);
  if (data.length !== expected)
    throw new KerasError(
      fn,
      `the weights manifest describes ${expected} bytes, but the weights file${files.length === 1 ? "" : "s"} hold${files.length === 1 ? "s" : ""} ${data.length}${data.length < expected ? " (truncated?)" : ""}`,
      "io",
    );

  let model: Model;
  try {
    model = fromTfjsTopology(fn, json.modelTopology);
  } catch (e) {
    if (e instanceof KerasError && e.fn === fn) throw e;
    // Errors of the model-building verbs (layer_input(), a layer applied to its inputs) name their own function.
    throw new KerasError(fn, `cannot rebuild the model from \`modelTopology\`: ${(e as Error).message}`, "io");
  }
  model = withWeights(fn, model, decodeWeights(fn, data, entries));
  if (options.compile && json.trainingConfig !== undefined && json.trainingConfig !== null)
    model = compileFromTrainingConfig(fn, model, json.trainingConfig);
  return model;
}

/** The model weights of the manifest by name (optimizer weights, group "optimizer", are skipped). */
function decodeWeights(
  fn: string,
  data: Uint8Array,
  entries: readonly (WeightEntry & { bytes: number; group?: string; int: boolean })[],
): Map<string, { shape: readonly number[]; values: Float32Array }> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Map<string, { shape: readonly number[]; values: Float32Array }>();
  let offset = 0;
  for (const e of entries) {
    if (e.group !== "optimizer") {
      if (out.has(e.name)) throw new KerasError(fn, `the weights manifest lists "${e.name}" twice`, "io");
      let values: Float32Array;
      if (!e.int && LITTLE_ENDIAN)
        values = new Float32Array(data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + e.bytes));
      else {
        values = new Float32Array(e.bytes / 4);
        for (let i = 0; i < values.length; i++)
          values[i] = e.int ? view.getInt32(offset + 4 * i, true) : view.getFloat32(offset + 4 * i, true);
      }
      out.set(e.name, { shape: e.shape, values });
    }
    offset += e.bytes;
  }
  return out;
}

/** `model` holding the named weights; every layer weight must be found, and every manifest weight used. */
function withWeights(
  fn: string,
  model: Model,
  weights: ReadonlyMap<string, { shape: readonly number[]; values: Float32Array }>,
): Model {
  const plan = planOf(
    fn,
    model,
    "`modelTopology` gives the model no input shape (`batch_input_shape` of its first layer)",
  );
  const byShortName = new Map<string, string>();
  for (const name of weights.keys())
    if (!weights.has(withoutCellScope(name))) byShortName.set(withoutCellScope(name), name);
  const used = new Set<string>();
  const problems: string[] = [];
  const layers = model.layers.map((layer, i) => {
    const shapes = plan.layerInputShapes[i];
    if (!shapes) return layer;
    const specs = weightSpecsOf(layer, shapes);
    if (specs.length === 0) return layer;
    const raw = tfjsWeightNames(fn, layer, shapes).map((name, k) => {
      const found = weights.has(name) ? name : byShortName.get(name);
      if (found === undefined) {
        problems.push(`no weight "${name}" (${specs[k].name} of layer "${layer.name}") in the weights manifest`);
        return null;
      }
      used.add(found);
      const w = weights.get(found)!;
      if (w.shape.length !== specs[k].shape.length || w.shape.some((d, j) => d !== specs[k].shape[j])) {
        problems.push(
          `weight "${found}" has shape [${w.shape.join(", ")}], layer "${layer.name}" needs [${specs[k].shape.join(", ")}]`,
        );
        return null;
      }
      return { shape: w.shape, values: w.values };
    });
    if (raw.some((r) => r === null)) return layer;
    return withLayer(layer, { weightValues: weightsFromRaw(fn, `layer "${layer.name}"`, specs, raw, true, null) });
  });
  for (const name of weights.keys())
    if (!used.has(name)) problems.push(`weight "${name}" belongs to no layer of the model`);
  if (problems.length) {
    const shown = problems.slice(0, 10);
    throw new KerasError(
      fn,
      `the weights do not fit the model:\n  - ${shown.join("\n  - ")}${problems.length > shown.length ? `\n  - ... and ${problems.length - shown.length} more` : ""}`,
      "io",
    );
  }
  return withModel(model, { layers: Object.freeze(layers) });
}
