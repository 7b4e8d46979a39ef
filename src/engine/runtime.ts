/**
 * Runtime tier: the only owner of device tensors. A model value's weights are uploaded once into
 * tf.Variables cached per model value (a cache: the value itself holds plain arrays); stateful layers'
 * recurrent state lives here too (DESIGN principle 8).
 */
import { tf, type Tensor } from "../backend/tf.js";
import { familyOf, weightSpecsOf, weightValuesOf, type Layer } from "../model/layer.js";
import type { Model } from "../model/model.js";
import type { Shape, WeightSpec, WeightValue } from "../model/types.js";
import { buildPlan, type Plan, type Ref } from "./plan.js";
import { isStatefulLayer } from "../model/stateful.js";
import { KerasError } from "../errors.js";

export interface RunResult {
  readonly outputs: Tensor[];
  readonly outputMasks: (Tensor | null)[];
  /** Activity-regularization and other layer losses. */
  readonly losses: Tensor[];
  readonly stateUpdates: { layerIndex: number; states: Tensor[] }[];
  readonly weightUpdates: { layerIndex: number; index: number; value: Tensor }[];
}

export interface RunOptions {
  readonly training: boolean;
}

const finalizer = new FinalizationRegistry<() => void>((dispose) => dispose());

export class Runtime {
  readonly plan: Plan;
  readonly layers: readonly Layer[];
  readonly specs: readonly (readonly WeightSpec[])[];
  readonly variables: tf.Variable[][];
  /** Recurrent state of stateful layers, by layer index (null = zeros on next use). */
  readonly states: (Tensor[] | null)[];
  /** Other device state that lives and dies with this runtime (e.g. the training engine's optimizer slots). */
  readonly attachments = new Map<string, { dispose(): void }>();
  private disposed = false;

  constructor(model: Model, plan: Plan) {
    this.plan = plan;
    this.layers = model.layers;
    this.specs = model.layers.map((l, i) =>
      plan.layerInputShapes[i] ? weightSpecsOf(l, plan.layerInputShapes[i]!) : [],
    );
    this.variables = model.layers.map((l, i) => {
      const shapes = plan.layerInputShapes[i];
      if (!shapes) return [];
      // Inside tidy: the initial tensor would otherwise stay registered next to the variable.
      return weightValuesOf(l, shapes).map((w) =>
        tf.tidy(() => tf.variable(tf.tensor(w.values, [...w.shape], "float32"), w.trainable)),
      );
    });
    this.states = model.layers.map(() => null);
    registerLiveRuntime(this);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The trainable variables, in model order. */
  trainableVariables(): tf.Variable[] {
    return this.variables.flat().filter((v) => v.trainable);
  }

  /** Current state of a stateful layer, created as zeros of its state shapes on first use. */
  stateOf(layerIndex: number): Tensor[] | undefined {
    const layer = this.layers[layerIndex];
    if (!isStatefulLayer(layer)) return undefined;
    let s = this.states[layerIndex];
    if (!s) {
      const shapes = familyOf(layer).stateShapes!(layer.config, this.plan.layerInputShapes[layerIndex]!);
      s = shapes.map((sh) => {
        if (sh.some((d) => d === null))
          throw new KerasError("reset_states", `layer "${layer.name}" has no fixed batch size`, "state");
        return tf.keep(tf.zeros(sh as number[]));
      });
      this.states[layerIndex] = s;
    }
    return s;
  }

  /** Runs the plan. Call inside tf.tidy / a gradient function; nothing here is kept. */
  run(inputs: readonly Tensor[], options: RunOptions): RunResult {
    const values: Tensor[][] = [];
    const masks: (Tensor | null)[][] = [];
    const get = (r: Ref): Tensor => (r.node < 0 ? inputs[-r.node - 1] : values[r.node][r.output]);
    const getMask = (r: Ref): Tensor | null => (r.node < 0 ? null : masks[r.node][r.output]);
    const losses: Tensor[] = [];
    const stateUpdates: RunResult["stateUpdates"] = [];
    const weightUpdates: RunResult["weightUpdates"] = [];
    for (const node of this.plan.nodes) {
      const layer = this.layers[node.layerIndex];
      const family = familyOf(layer);
      const inputMasks = node.mask ? [get(node.mask)] : node.inputs.map(getMask);
      const training = node.training ?? options.training;
      const result = family.forward(layer.config, {
        inputs: node.inputs.map(get),
        weights: this.variables[node.layerIndex],
        masks: inputMasks,
        training,
        trainable: layer.trainable,
        initialState: node.initialState.length ? node.initialState.map(get) : undefined,
        constants: node.constants.length ? node.constants.map(get) : undefined,
        state: this.stateOf(node.layerIndex),
      });
      values.push([...result.outputs]);
      masks.push(outputMasks(family.mask, result.masks, inputMasks, result.outputs.length));
      if (result.losses) losses.push(...result.losses);
      if (result.newState) stateUpdates.push({ layerIndex: node.layerIndex, states: [...result.newState] });
      if (result.weightUpdates && training)
        for (const u of result.weightUpdates) weightUpdates.push({ layerIndex: node.layerIndex, ...u });
    }
    return {
      outputs: this.plan.outputs.map(get),
      outputMasks: this.plan.outputs.map(getMask),
      losses,
      stateUpdates,
      weightUpdates,
    };
  }

  /** Applies a run's state and non-trainable weight updates (their tensors must be kept by the caller). */
  commit(result: Pick<RunResult, "stateUpdates" | "weightUpdates">): void {
    for (const u of result.weightUpdates) {
      this.variables[u.layerIndex][u.index].assign(u.value);
      u.value.dispose();
    }
    for (const u of result.stateUpdates) {
      const old = this.states[u.layerIndex];
      this.states[u.layerIndex] = u.states.map((s) => tf.keep(s));
      if (old) for (const t of old) if (!u.states.includes(t)) t.dispose();
    }
  }

  /** Zeroes (or sets) the state of stateful layers: all of them, or those in `layerIndices`. */
  resetStates(layerIndices?: readonly number[], values?: readonly (readonly Tensor[] | null)[]): void {
    const which = layerIndices ?? this.layers.map((_, i) => i).filter((i) => isStatefulLayer(this.layers[i]));
    which.forEach((i, k) => {
      const old = this.states[i];
      this.states[i] = null;
      if (old) for (const t of old) t.dispose();
      if (values && values[k]) this.states[i] = values[k].map((t) => tf.keep(t.clone()));
    });
  }

  /** Reads the variables back into plain weight values (a new model value's weights). */
  readWeights(): WeightValue[][] {
    return this.variables.map((vars, i) =>
      vars.map((v, j) =>
        Object.freeze({
          name: this.specs[i][j].name,
          shape: Object.freeze([...v.shape]),
          values: Float32Array.from(v.dataSync() as Float32Array),
          trainable: v.trainable,
        }),
      ),
    );
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    unregisterLiveRuntime(this);
    for (const vs of this.variables) for (const v of vs) v.dispose();
    for (const s of this.states) if (s) for (const t of s) t.dispose();
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

// ---------------------------------------------------------------------------------------------
// The cache of runtimes per model value.

const runtimes = new WeakMap<Model, Runtime>();

const shapesMatch = (plan: Plan, dataShapes?: readonly Shape[]) =>
  !dataShapes ||
  plan.inputShapes.every(
    (s, k) =>
      !dataShapes[k] ||
      (s.length === dataShapes[k].length && s.every((d, i) => i === 0 || d === null || d === dataShapes[k][i])),
  );

/** The runtime of `model`, building it (plan + variables) on first use. */
export function getRuntime(model: Model, dataShapes?: readonly Shape[]): Runtime {
  const cached = runtimes.get(model);
  if (cached && shapesMatch(cached.plan, dataShapes)) return cached;
  if (cached) releaseRuntime(model);
  const rt = new Runtime(model, buildPlan(model, dataShapes));
  runtimes.set(model, rt);
  finalizer.register(model, () => rt.dispose(), rt);
  return rt;
}

export function hasRuntime(model: Model): boolean {
  return runtimes.has(model);
}

/** Moves `from`'s runtime (trained variables, optimizer and recurrent state) to the new value `to`. */
export function transferRuntime(from: Model, to: Model): void {
  const rt = runtimes.get(from);
  if (!rt) return;
  runtimes.delete(from);
  finalizer.unregister(rt);
  runtimes.set(to, rt);
  finalizer.register(to, () => rt.dispose(), rt);
}

/** Frees `model`'s device tensors now (they are rebuilt from its weights on next use). */
export function releaseRuntime(model: Model): void {
  const rt = runtimes.get(model);
  if (!rt) return;
  runtimes.delete(model);
  finalizer.unregister(rt);
  rt.dispose();
}

// ---------------------------------------------------------------------------------------------
// Live runtimes by layer id: `reset_states(layer)` on a layer value taken from a model (get_layer)
// reaches the state held in that model's runtime.

const liveByLayer = new Map<number, Set<WeakRef<Runtime>>>();

function registerLiveRuntime(rt: Runtime): void {
  for (const layer of rt.layers) {
    let set = liveByLayer.get(layer.id);
    if (!set) liveByLayer.set(layer.id, (set = new Set()));
    set.add(new WeakRef(rt));
  }
}

function unregisterLiveRuntime(rt: Runtime): void {
  for (const layer of rt.layers) {
    const set = liveByLayer.get(layer.id);
    if (!set) continue;
    for (const ref of set) if (ref.deref() === rt || ref.deref() === undefined) set.delete(ref);
    if (set.size === 0) liveByLayer.delete(layer.id);
  }
}

/** The live runtimes holding layer `layerId`, with the layer's index in each. */
export function runtimesHoldingLayer(layerId: number): { runtime: Runtime; layerIndex: number }[] {
  const out: { runtime: Runtime; layerIndex: number }[] = [];
  for (const ref of liveByLayer.get(layerId) ?? []) {
    const rt = ref.deref();
    if (!rt || rt.isDisposed) continue;
    const layerIndex = rt.layers.findIndex((l) => l.id === layerId);
    if (layerIndex >= 0) out.push({ runtime: rt, layerIndex });
  }
  return out;
}
