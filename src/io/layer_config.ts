/**
 * The Keras config of one layer, `{ class_name, config: { name, trainable, dtype, ...family config } }`,
 * both ways. Kept apart from the model configs (config.ts) because nested layers need it too: the
 * wrappers (Bidirectional's `layer` / `backward_layer`, TimeDistributed's `layer`) and the recurrent
 * layers' cells serialise and rebuild their inner layers with these same two functions.
 */
import { KerasError, describeValue, within } from "../errors.js";
import { closestName } from "../args.js";
import { createLayer, familyOf, isLayer, type Layer } from "../model/layer.js";
import { familyNames, getFamily } from "../model/registry.js";
import type { Shape } from "../model/types.js";
import { serializeConfigValue } from "../layers/common.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type ConfigRecord = { [key: string]: Json };

export interface LayerConfig {
  class_name: string;
  config: ConfigRecord;
}

export const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** Plain JSON data: typed arrays become arrays, undefined becomes null, functions their name. */
export function toJson(v: unknown): Json {
  if (v === undefined || v === null) return null;
  if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "function") return String(v.name || "function");
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return v.map(toJson);
  return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, toJson(x)]));
}

/**
 * The Keras config of one layer; `batchInputShape` is written as `batch_input_shape` (the first layer
 * of a sequential model, or a nested layer that declares its input shape).
 */
export function layerToConfig(layer: Layer, batchInputShape: Shape | null = layer.batchInputShape): LayerConfig {
  const family = familyOf(layer);
  const own = family.toConfig
    ? family.toConfig(layer.config)
    : (serializeConfigValue(layer.config) as Record<string, unknown>);
  const config: Record<string, unknown> = { name: layer.name, trainable: layer.trainable, dtype: layer.inputDtype };
  if (batchInputShape) config.batch_input_shape = [...batchInputShape];
  Object.assign(config, own);
  return { class_name: layer.className, config: toJson(config) as ConfigRecord };
}

/** Keras bookkeeping keys this package has no use for, dropped when they hold their inert value. */
const INERT_KEYS: Readonly<Record<string, unknown>> = {
  ragged: false,
  sparse: false,
  synchronized: false,
  rms_scaling: false,
  lora_rank: null,
  lora_alpha: null,
  autocast: true,
  quantization_config: null,
  optional: false,
  renorm: false,
  renorm_clipping: null,
  renorm_momentum: 0.99,
  // What Keras's automatic config of a user class without get_config() holds besides its arguments.
  activity_regularizer: null,
};

/** Deletes from a Keras layer config the bookkeeping keys that hold their inert value. */
export function dropInertKeys(config: Record<string, unknown>): void {
  for (const [k, inert] of Object.entries(INERT_KEYS)) if (k in config && config[k] === inert) delete config[k];
}

/** Keras 3 writes dtype policies as objects: `{ class_name: "DTypePolicy", config: { name: "float32" } }`. */
export function dtypeName(d: unknown): unknown {
  const r = asRecord(d);
  return r ? (asRecord(r.config)?.name ?? d) : d;
}

/**
 * Rebuilds a layer value from `{ class_name, config }` (fresh weights from its initializers). The
 * family's `fromConfig` turns the Keras form back into arguments; nested layers (wrappers, cells)
 * are rebuilt by it with this same function, so an error names every enclosing layer.
 */
export function layerFromConfig(fn: string, json: unknown): Layer {
  // A layer value stands for itself (a reader that had to build one, e.g. from `custom_objects`).
  if (isLayer(json)) return json;
  const r = asRecord(json);
  if (!r || typeof r.class_name !== "string" || !asRecord(r.config)) {
    throw new KerasError(fn, `a layer config must be { class_name, config }, got ${describeValue(json)}`, "io");
  }
  const family = getFamily(r.class_name);
  if (!family || r.class_name === "InputLayer") {
    const hint = closestName(
      r.class_name,
      familyNames().filter((n) => n !== "InputLayer"),
    );
    throw new KerasError(fn, `unknown layer class "${r.class_name}"${hint ? `; did you mean "${hint}"?` : ""}`, "io");
  }
  const { name, trainable, dtype, batch_input_shape, batch_shape, input_shape, ...rest } = asRecord(r.config)!;
  dropInertKeys(rest);
  const shape = (batch_input_shape ?? batch_shape) as (number | null)[] | undefined;
  try {
    const own = family.fromConfig ? family.fromConfig(rest, fn) : rest;
    return createLayer(
      family,
      {
        ...own,
        name,
        trainable,
        dtype: dtype === undefined || dtype === null ? undefined : dtypeName(dtype),
        batch_input_shape: shape ?? undefined,
        input_shape: shape ? undefined : (input_shape ?? undefined),
      },
      true,
    );
  } catch (e) {
    if (e instanceof KerasError) throw within(fn, `layer "${String(name ?? r.class_name)}" (${r.class_name})`, e);
    throw e;
  }
}

/**
 * The nested layer under `key` of a family config being read back (`fromConfig`): `{ class_name,
 * config }` rebuilt to a layer value; a list of them to a list; a layer value or null kept as given.
 */
export function nestedLayerFromConfig(
  fn: string,
  config: Record<string, unknown>,
  key: string,
): Record<string, unknown> {
  const v = config[key];
  if (v === undefined || v === null || typeof v === "function") return config;
  const rebuilt = Array.isArray(v) ? v.map((x) => layerFromConfig(fn, x)) : layerFromConfig(fn, v);
  return { ...config, [key]: rebuilt };
}
