/**
 * Helpers of the TensorFlow.js format tests: plain tfjs-layers reading our files and writing its own,
 * the way its file and http handlers do, and predictions of both sides as flat numbers.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { tf } from "../../src/backend/tf.js";
import { predict } from "../../src/index.js";
import type { Model } from "../../src/model/model.js";
import { pattern } from "../core/helpers.js";
import { temporaryFolders } from "../helpers/temporary_folders.js";

/** Temporary folders of the tfjs format suites (removed after every test file). */
export const tmp = temporaryFolders("tskeras-tfjs-");

/**
 * `tf.loadLayersModel()` on a model.json, reading the weight files its manifest names relative to it
 * (what tfjs's http and file:// handlers do, through tf.io.getModelArtifactsForJSON).
 */
export async function loadInTfjs(modelJsonPath: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(modelJsonPath, "utf8"));
  const folder = dirname(modelJsonPath);
  return tf.loadLayersModel({
    load: () =>
      tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs = manifest.flatMap((g) => g.weights);
        const buffers = manifest.flatMap((g) =>
          g.paths.map((p) => new Uint8Array(readFileSync(join(folder, p))).buffer),
        );
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      }),
  });
}

/**
 * `model.save()` of tfjs-layers into `folder` as tfjs-node's file:// handler writes it: model.json
 * (getModelJSONForModelArtifacts) with one weight group in weights.bin.
 */
export async function saveFromTfjs(model: tf.LayersModel, folder: string, includeOptimizer = false): Promise<string> {
  mkdirSync(folder, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const modelJson = {
        modelTopology: a.modelTopology,
        format: a.format,
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy,
        weightsManifest: [{ paths: ["weights.bin"], weights: a.weightSpecs }],
        ...(a.trainingConfig ? { trainingConfig: a.trainingConfig } : {}),
      };
      writeFileSync(join(folder, "model.json"), JSON.stringify(modelJson));
      writeFileSync(join(folder, "weights.bin"), new Uint8Array(a.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
    { includeOptimizer },
  );
  return folder;
}

const flatten = (x: unknown): number[] => (Array.isArray(x) ? (x as unknown[]).flat(Infinity) : [x]) as number[];

/** Our predictions, one flat array per output. */
export async function oursPredict(model: Model, inputs: unknown[]): Promise<number[][]> {
  const out = await predict(model, inputs.length === 1 ? inputs[0] : inputs, { verbose: 0 });
  const outputs = model.type === "functional" && model.outputs.length > 1 ? (out as unknown[]) : [out];
  return outputs.map(flatten);
}

/** tfjs-layers' predictions on the same inputs, one flat array per output. */
export function tfjsPredict(model: tf.LayersModel, inputs: unknown[]): number[][] {
  const xs = inputs.map((x) => tf.tensor(x as number[]));
  const out = model.predict(xs.length === 1 ? xs[0] : xs);
  const list = Array.isArray(out) ? out : [out];
  const values = list.map((t) => Array.from(t.dataSync()));
  tf.dispose([...xs, ...list]);
  return values;
}

/** |a - e| <= tol * max(1, |e|) elementwise, per output. */
export function expectSame(actual: number[][], expected: number[][], tol: number, what: string): void {
  if (actual.length !== expected.length)
    throw new Error(`${what}: ${actual.length} outputs, expected ${expected.length}`);
  expected.forEach((e, o) => {
    const a = actual[o];
    if (a.length !== e.length) throw new Error(`${what}, output ${o}: ${a.length} values, expected ${e.length}`);
    e.forEach((v, i) => {
      if (!(Math.abs(a[i] - v) <= tol * Math.max(1, Math.abs(v))))
        throw new Error(`${what}, output ${o}[${i}]: expected ${v} (tfjs-layers), got ${a[i]} (tol ${tol})`);
    });
  });
}

/** Token sequences (batch 3, length `steps`) with right padding (0 = masked). */
export function tokens(steps: number, vocabulary = 10): number[][] {
  const lengths = [steps, Math.max(1, steps - 2), Math.max(1, Math.floor(steps / 2))];
  return lengths.map((n, b) =>
    Array.from({ length: steps }, (_, t) => (t < n ? 1 + ((b * 7 + t * 3) % (vocabulary - 1)) : 0)),
  );
}

/** A tfjs-layers model with every weight set to a deterministic pattern (variances kept positive). */
export function withPatternWeightsTfjs<M extends tf.LayersModel>(model: M): M {
  model.weights.forEach((w, i) => {
    const shape = w.shape as number[];
    const v = pattern(
      shape.reduce((a, b) => a * b, 1),
      i,
    ).map((x) => (/moving_variance/.test(w.originalName) ? 1 + 0.5 * x : 0.5 * x));
    w.write(tf.tensor(v, shape));
  });
  return model;
}
