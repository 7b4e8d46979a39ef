/**
 * Runtime tier: the only owner of device tensors (DESIGN principles 1, 4 and 8).
 *
 * A Runtime is a plan made runnable: tf.Variables uploaded from a value's host weights, the state cells of
 * its stateful layers, and what the training engine attaches (the optimizer's slots). The same Runtime
 * serves fit, evaluate, predict and eager layer calls (an eager call is a one-layer plan).
 *
 * Device memory lifecycle — one cache, keyed by the model or layer value a runtime was built for:
 *  1. evaluate / predict / an eager call `pin` the value's runtime (built from the value's host arrays on a
 *     miss), run, and `unpin` it. A pinned runtime is never disposed (async loops await between batches).
 *  2. fit / train_on_batch `take` the value's runtime out of the cache when no call has it pinned, or build a
 *     fresh one, and train that private copy: concurrent fits of one value and a predict() from a callback
 *     never see each other's variables. The trained weights (and optimizer slots) are read back into the
 *     NEW value, and the runtime is `keep`-ed under that value. A failed fit disposes it.
 *  3. After every unpin and keep, least-recently-used runtimes nobody has pinned are disposed until the
 *     cache holds at most RUNTIME_CACHE_LIMITS.maxEntries runtimes and maxBytes bytes (the most recently
 *     used one always stays, however large). Evicting loses nothing: weights and optimizer slots already
 *     live in the values' host arrays, and stateful layers' recurrent state is written back to host
 *     memory by its StateCell (layer_state.ts) when the last runtime using it goes.
 *  4. `releaseRuntime(value)` and `releaseAllRuntimes()` free device memory at once; a runtime built on
 *     another backend than the current one is rebuilt on next use.
 * No garbage-collection hook (FinalizationRegistry, WeakRef) is involved: device memory is bounded and
 * freed at these points only.
 */
import { tf, type Tensor } from "../backend/tf.js";
import { familyOf, weightSpecsOf, weightValuesOf, type Layer } from "../model/layer.js";
import type { Model } from "../model/model.js";
import type { Shape, WeightSpec, WeightValue } from "../model/types.js";
import { sealWeight, weightData } from "../model/weights.js";
import { buildPlan, type Plan, type Ref } from "./plan.js";
import { isStatefulLayer } from "../model/stateful.js";
import { KerasError } from "../errors.js";
import { adoptStateCell, stateCellOf, type StateCell } from "./layer_state.js";

export interface RunResult {
  /** The plan's outputs, owned by the caller (never a tensor the runtime or the caller's inputs hold). */
  readonly outputs: Tensor[];
  readonly outputMasks: (Tensor | null)[];
  /** Activity-regularization and other layer losses. */
  readonly losses: Tensor[];
  readonly stateUpdates: { layerIndex: number; states: Tensor[] }[];
  readonly weightUpdates: { layerIndex: number; index: number; value: Tensor }[];
}

export type RunUpdates = Pick<RunResult, "stateUpdates" | "weightUpdates">;

export interface RunOptions {
  readonly training: boolean;
  /** Masks of the plan's inputs (an eager call's); model inputs otherwise carry none. */
  readonly inputMasks?: readonly (Tensor | null)[];
}

/** What a runtime is built from: the layers, the plan, and where each layer's host weights come from. */
export interface RuntimeSource {
  readonly layers: readonly Layer[];
  readonly plan: Plan;
  readonly weights: (layer: Layer, inputShapes: readonly Shape[]) => readonly WeightValue[];
}

export class Runtime {
  readonly plan: Plan;
  readonly specs: readonly (readonly WeightSpec[])[];
  readonly variables: tf.Variable[][];
  /** Other device state that lives and dies with this runtime (e.g. the training engine's optimizer slots). */
  readonly attachments = new Map<string, { dispose(): void }>();
  /** Device bytes held by `attachments`, as last measured by whoever attached them (for the cache bound). */
  attachmentBytes = 0;
  /** The tfjs backend the variables were created on. */
  readonly backend: string;
  private boundLayers: readonly Layer[];
  /** State cell per stateful layer (by layer index): the layer values' own, or this runtime's own copies. */
  private cells: (StateCell | null)[];
  private ownStates = false;
  private disposed = false;

  constructor(source: RuntimeSource) {
    const { layers, plan } = source;
    this.plan = plan;
    this.boundLayers = layers;
    this.backend = tf.getBackend();
    this.specs = layers.map((l, i) => (plan.layerInputShapes[i] ? weightSpecsOf(l, plan.layerInputShapes[i]!) : []));
    const variables: tf.Variable[][] = [];
    try {
      layers.forEach((l, i) => {
        const shapes = plan.layerInputShapes[i];
        const vars: tf.Variable[] = [];
        variables.push(vars);
        if (!shapes) return;
        // Inside tidy: the initial tensor would otherwise stay registered next to the variable.
        for (const w of source.weights(l, shapes))
          vars.push(tf.tidy(() => tf.variable(tf.tensor(weightData(w), [...w.shape], "float32"), w.trainable)));
      });
    } catch (e) {
      for (const v of variables.flat()) v.dispose();
      throw e;
    }
    this.variables = variables;
    this.cells = layers.map((l) => (isStatefulLayer(l) ? stateCellOf(l).attach() : null));
  }

  /** The layer values this runtime runs (after fit: the trained value's). */
  get layers(): readonly Layer[] {
    return this.boundLayers;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Device bytes of the variables and attachments (recurrent state is small and not counted). */
  get bytes(): number {
    let n = this.attachmentBytes;
    for (const vs of this.variables) for (const v of vs) n += v.size * 4;
    return n;
  }

  /** The trainable variables, in model order. */
  trainableVariables(): tf.Variable[] {
    return this.variables.flat().filter((v) => v.trainable);
  }

  /** Current state of a stateful layer, created as zeros of its state shapes on first use (replace it with `commit`). */
  stateOf(layerIndex: number, plan: Plan): Tensor[] | undefined {
    const cell = this.cells[layerIndex];
    if (!cell) return undefined;
    const layer = this.boundLayers[layerIndex];
    return cell.current(() =>
      familyOf(layer).stateShapes!(layer.config, plan.layerInputShapes[layerIndex]!).map((sh) => {
        if (sh.some((d) => d === null))
          throw new KerasError("reset_states", `layer "${layer.name}" has no fixed batch size`, "state");
        return sh as number[];
      }),
    );
  }

  /**
   * Runs `plan` (default: the runtime's own; an eager call passes its call's). Call inside tf.tidy / a
   * gradient function; apply the updates with `commit(keptUpdates(result))`.
   */
  run(inputs: readonly Tensor[], options: RunOptions, plan: Plan = this.plan): RunResult {
    const values: Tensor[][] = [];
    const masks: (Tensor | null)[][] = [];
    const get = (r: Ref): Tensor => (r.node < 0 ? inputs[-r.node - 1] : values[r.node][r.output]);
    const getMask = (r: Ref): Tensor | null =>
      r.node < 0 ? (options.inputMasks?.[-r.node - 1] ?? null) : masks[r.node][r.output];
    const losses: Tensor[] = [];
    const stateUpdates: RunResult["stateUpdates"] = [];
    const weightUpdates: RunResult["weightUpdates"] = [];
    // Tensors the caller or this runtime holds: inputs, states, and variables (ours; checked by class,
    // which spares a set of every weight on each call).
    const held = new Set<Tensor>(inputs);
    const isHeld = (t: Tensor): boolean => held.has(t) || t instanceof tf.Variable;
    for (const node of plan.nodes) {
      const layer = this.boundLayers[node.layerIndex];
      const family = familyOf(layer);
      const inputMasks = node.mask ? [get(node.mask)] : node.inputs.map(getMask);
      const training = node.training ?? options.training;
      const state = this.stateOf(node.layerIndex, plan);
      state?.forEach((s) => held.add(s));
      const result = family.forward(layer.config, {
        inputs: node.inputs.map(get),
        weights: this.variables[node.layerIndex],
        masks: inputMasks,
        training,
        trainable: layer.trainable,
        initialState: node.initialState.length ? node.initialState.map(get) : undefined,
        constants: node.constants.length ? node.constants.map(get) : undefined,
        state,
      });
      values.push([...result.outputs]);
      masks.push(outputMasks(family.mask, result.masks, inputMasks, result.outputs.length));
      if (result.losses) losses.push(...result.losses);
      if (result.newState) {
        const states = result.newState.map((s) => (inputs.includes(s) ? tf.clone(s) : s));
        states.forEach((s) => held.add(s));
        stateUpdates.push({ layerIndex: node.layerIndex, states });
      }
      if (result.weightUpdates && training)
        for (const u of result.weightUpdates) weightUpdates.push({ layerIndex: node.layerIndex, ...u });
    }
    return {
      // Each output is the caller's to dispose: one the runtime or the caller already holds, or that is
      // another output too (a state returned as the sequence output), is a copy.
      outputs: plan.outputs.map((r) => {
        const t = get(r);
        const own = isHeld(t) ? tf.clone(t) : t;
        held.add(t);
        return own;
      }),
      outputMasks: plan.outputs.map(getMask),
      losses,
      stateUpdates,
      weightUpdates,
    };
  }

  /** Applies a run's state and non-trainable weight updates (kept beyond the tidy: see `keptUpdates`). */
  commit(updates: RunUpdates): void {
    for (const u of updates.weightUpdates) {
      this.variables[u.layerIndex][u.index].assign(u.value);
      u.value.dispose();
    }
    for (const u of updates.stateUpdates) this.cells[u.layerIndex]!.replace(u.states);
  }

  /** Gives this runtime its own copies of the recurrent states: training must not change the value's. */
  ownStateCopies(): void {
    if (this.ownStates) return;
    this.cells = this.cells.map((c) => {
      if (!c) return null;
      const own = c.attachedCopy();
      c.detach();
      return own;
    });
    this.ownStates = true;
  }

  /** Binds this runtime to the trained value's layers (same order): its own states become theirs. */
  rebind(layers: readonly Layer[]): void {
    this.boundLayers = layers;
    if (this.ownStates) this.cells.forEach((c, i) => c && adoptStateCell(layers[i], c));
    this.ownStates = false;
  }

  /** Reads the variables back into plain weight values (a new model value's weights). */
  readWeights(): WeightValue[][] {
    return this.variables.map((vars, i) =>
      vars.map((v, j) =>
        sealWeight(this.specs[i][j].name, v.shape, Float32Array.from(v.dataSync() as Float32Array), v.trainable),
      ),
    );
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const vs of this.variables) for (const v of vs) v.dispose();
    for (const c of this.cells) c?.detach();
    for (const a of this.attachments.values()) a.dispose();
    this.attachments.clear();
  }
}

function outputMasks(
  policy: "propagate" | "drop" | undefined,
  given: readonly (Tensor | null)[] | undefined,
  inputMasks: readonly (Tensor | null)[],
  n: number,
): (Tensor | null)[] {
  if (given) return [...given];
  if (policy === "drop") return Array(n).fill(null);
  return Array(n).fill(inputMasks[0] ?? null);
}

/** A run's updates kept beyond the tidy it ran in, for `Runtime.commit`. */
/** Kept updates that will not be committed (the step failed). */
export function disposeUpdates(updates: RunUpdates): void {
  for (const u of updates.weightUpdates) u.value.dispose();
  for (const u of updates.stateUpdates) tf.dispose(u.states);
}

export function keptUpdates(run: RunResult): RunUpdates {
  return {
    stateUpdates: run.stateUpdates.map((u) => ({ layerIndex: u.layerIndex, states: u.states.map((s) => tf.keep(s)) })),
    weightUpdates: run.weightUpdates.map((u) => ({ ...u, value: tf.keep(u.value) })),
  };
}

/** A new runtime for `model` (owned by the caller until it is kept in the cache or disposed). */
export function modelRuntime(model: Model, dataShapes?: readonly Shape[]): Runtime {
  return new Runtime({
    layers: model.layers,
    plan: buildPlan(model, dataShapes),
    weights: (layer, shapes) => weightValuesOf(layer, shapes),
  });
}

/** TRUE when `rt`'s plan takes data of these shapes (a sequential model without input shape is built from data). */
export const fitsData =
  (dataShapes?: readonly Shape[]) =>
  (rt: Runtime): boolean =>
    !dataShapes ||
    rt.plan.inputShapes.every(
      (s, k) =>
        !dataShapes[k] ||
        (s.length === dataShapes[k].length && s.every((d, i) => i === 0 || d === null || d === dataShapes[k][i])),
    );

// ---------------------------------------------------------------------------------------------
// The cache (see the lifecycle at the top of this file).

/** The cache's bounds; the most recently used runtime is kept even when it alone exceeds them. */
export const RUNTIME_CACHE_LIMITS = { maxEntries: 16, maxBytes: 256 * 1024 * 1024 };

interface Entry {
  readonly runtime: Runtime;
  pins: number;
  /**
   * The runtime's bytes when it was cached: they do not change there (training attaches its optimizer
   * to a runtime it took out of the cache, and keeps it again when done).
   */
  readonly bytes: number;
}

/** Map order is use order: the least recently used entry comes first. */
const cache = new Map<object, Entry>();
/** The last key in `cache` (the most recently used), and the sum of the entries' bytes. */
let newest: object | undefined;
let cachedBytes = 0;

/** Caches `runtime` under `key` (absent) as the most recently used entry. */
function cacheEntry(key: object, runtime: Runtime, pins: number): void {
  const bytes = runtime.bytes;
  cache.set(key, { runtime, pins, bytes });
  newest = key;
  cachedBytes += bytes;
}

/** Takes `key`'s entry out of the cache. */
function uncache(key: object, e: Entry): void {
  cache.delete(key);
  cachedBytes -= e.bytes;
  if (newest === key) newest = undefined;
}

/** A runtime lent to one call: give it back with `unpin`. */
export interface Lease {
  readonly runtime: Runtime;
  readonly key: object;
  /** FALSE when built for this call only (the cached one is in use with another plan). */
  readonly cached: boolean;
}

const usable = (e: Entry, fits: (rt: Runtime) => boolean): boolean =>
  e.runtime.backend === tf.getBackend() && fits(e.runtime);

/** `key`'s runtime for one call: the cached one if it `fits`, else a new one from `build`. */
export function pinRuntime(key: object, fits: (rt: Runtime) => boolean, build: () => Runtime): Lease {
  const e = cache.get(key);
  if (e && usable(e, fits)) {
    if (key !== newest) {
      cache.delete(key);
      cache.set(key, e);
      newest = key;
    }
    e.pins++;
    return { runtime: e.runtime, key, cached: true };
  }
  if (e && e.pins > 0) return { runtime: build(), key, cached: false };
  if (e) {
    uncache(key, e);
    e.runtime.dispose();
  }
  const runtime = build();
  cacheEntry(key, runtime, 1);
  return { runtime, key, cached: true };
}

/** The model value's cached runtime, pinned for one call (evaluate, predict). */
export function pinModelRuntime(model: Model, dataShapes?: readonly Shape[]): Lease {
  return pinRuntime(model, fitsData(dataShapes), () => modelRuntime(model, dataShapes));
}

/**
 * The model value's cached runtime, for inspection and tests: not pinned, so valid only until the next
 * call that may evict (run it right away, inside one tf.tidy).
 */
export function getRuntime(model: Model, dataShapes?: readonly Shape[]): Runtime {
  const lease = pinModelRuntime(model, dataShapes);
  unpinRuntime(lease);
  return lease.runtime;
}

/** Gives a lease back; the cache then shrinks to its bounds. */
export function unpinRuntime(lease: Lease): void {
  const e = cache.get(lease.key);
  if (lease.cached && e && e.runtime === lease.runtime) e.pins--;
  else lease.runtime.dispose(); // built for the call, or released from the cache while pinned
  evict();
}

/** Takes `key`'s runtime out of the cache for the caller to own (and train), when no call has it pinned. */
export function takeRuntime(key: object, fits: (rt: Runtime) => boolean): Runtime | undefined {
  const e = cache.get(key);
  if (!e || e.pins > 0 || !usable(e, fits)) return undefined;
  uncache(key, e);
  return e.runtime;
}

/** Caches a runtime the caller owns under the value whose weights it holds. */
export function keepRuntime(key: object, runtime: Runtime): void {
  releaseRuntime(key);
  cacheEntry(key, runtime, 0);
  evict();
}

function evict(): void {
  const { maxEntries, maxBytes } = RUNTIME_CACHE_LIMITS;
  if (cache.size <= maxEntries && cachedBytes <= maxBytes) return;
  let last: object | undefined;
  for (const key of cache.keys()) last = key;
  for (const [key, e] of cache) {
    if (cache.size <= maxEntries && cachedBytes <= maxBytes) return;
    if (e.pins > 0 || key === last) continue;
    uncache(key, e);
    e.runtime.dispose();
  }
}

/** Frees `key`'s device tensors now (a call holding them frees them when it ends); rebuilt on next use. */
export function releaseRuntime(key: object): void {
  const e = cache.get(key);
  if (!e) return;
  uncache(key, e);
  if (e.pins === 0) e.runtime.dispose();
}

/** Frees every cached runtime nobody is using. */
export function releaseAllRuntimes(): void {
  for (const [key, e] of cache) if (e.pins === 0) releaseRuntime(key);
}

/** What the cache holds now (for tests and diagnostics). */
export function runtimeCacheStats(): { entries: number; bytes: number } {
  let bytes = 0;
  for (const e of cache.values()) bytes += e.runtime.bytes;
  return { entries: cache.size, bytes };
}
