/**
 * Eager execution: a layer applied to concrete data (`layer_dense(x, { units: 2 })` or `dense(x)`). A call
 * is a one-layer plan run by the layer value's runtime, cached like a model's (runtime.ts): the device
 * copies of its weights are bounded and freed by that cache, and a stateful layer's state lives in its
 * state cell. Training-mode calls update non-trainable weights (batch normalization's moving statistics),
 * as in Keras: those new values are kept in host memory for the layer value (what get_weights() reports and
 * what its next runtime is built from).
 */
import { hostTensor } from "./host.js";
import { tf, type Tensor } from "../backend/tf.js";
import { KerasError, asKerasError } from "../errors.js";
import { toTensorData } from "../backend/convert.js";
import {
  familyOf,
  inferOutputShapes,
  weightSpecsOf,
  weightValuesOf,
  type CallOptions,
  type Layer,
} from "../model/layer.js";
import type { Shape, WeightValue } from "../model/types.js";
import { checkMaskShape } from "../model/shape.js";
import { layerCallPlan } from "./plan.js";
import { Runtime, keptUpdates, pinRuntime, unpinRuntime, type RunUpdates } from "./runtime.js";

/** Masks computed by eager layers, attached to their outputs (Keras's `_keras_mask`); freed with the output. */
const eagerMasks = new WeakMap<Tensor, Tensor>();

/** Non-trainable weights updated by training-mode eager calls, per layer value (host memory). */
const updatedWeights = new WeakMap<Layer, readonly WeightValue[]>();

/** The mask an eager layer attached to `x`, if any. */
export function eagerMaskOf(x: Tensor): Tensor | undefined {
  return eagerMasks.get(x);
}

/** A list of tensors given as tf.Tensors or nested arrays; a single tensor/array is a list of one. */
function isTensorList(v: unknown, minNestedRank: number): v is unknown[] {
  const rank = (e: unknown) => {
    let r = 0;
    for (let c = e; Array.isArray(c); c = c[0]) r++;
    return r;
  };
  return Array.isArray(v) && v.length > 0 && v.every((e) => e instanceof tf.Tensor || rank(e) >= minNestedRank);
}

function toTensorList(
  fn: string,
  v: unknown,
  what: string,
  minNestedRank: number,
): { tensors: Tensor[]; owned: Tensor[] } {
  // Array.from: a hole in a sparse list is an undefined entry, refused like any non-data.
  const list = isTensorList(v, minNestedRank) ? Array.from(v) : [v];
  const owned: Tensor[] = [];
  const tensors = list.map((e, i) => {
    const r = toTensorData(fn, e, list.length > 1 ? `${what}[[${i + 1}]]` : what);
    if (r.owned) owned.push(r.tensor);
    return r.tensor;
  });
  return { tensors, owned };
}

/** TRUE when two weight lists have the same shapes (a cached runtime serves calls its weights fit). */
const sameShapes = (a: readonly { shape: readonly number[] }[], b: readonly { shape: readonly number[] }[]) =>
  a.length === b.length && a.every((w, i) => w.shape.join() === b[i].shape.join());

/**
 * Who runs an eager call for the user, for errors: the public function (the layer's own, or one that
 * runs it, like cell_call) and the names it gives the input and the initial states.
 */
export interface EagerCaller {
  readonly fn: string;
  readonly object?: string;
  readonly initial_state?: string;
}

/** Runs `layer` on concrete data; errors are `caller`'s (by default the layer's function's). */
export function callEager(
  layer: Layer,
  x: unknown,
  options: CallOptions = {},
  caller: EagerCaller = { fn: familyOf(layer).fn },
): Tensor | Tensor[] {
  try {
    // Text layers read raw data on the host: there is nothing to mask.
    if (familyOf(layer).host) {
      if (options.mask !== undefined && options.mask !== null)
        throw new KerasError(caller.fn, "`mask` is for tensors: a text layer reads raw data");
      return hostTensor(layer, x, caller.fn, `\`${caller.object ?? "object"}\``);
    }
    return runEager(caller, layer, x, options);
  } catch (e) {
    throw asKerasError(caller.fn, e, `layer "${layer.name}"`);
  }
}

function runEager(caller: EagerCaller, layer: Layer, x: unknown, options: CallOptions): Tensor | Tensor[] {
  const fn = caller.fn;
  const family = familyOf(layer);
  const multi = family.inputs === "many";
  const object = `\`${caller.object ?? (multi ? "inputs" : "object")}\``;
  const inputsIn = multi
    ? toTensorList(fn, x, object, 1)
    : (() => {
        const r = toTensorData(fn, x, object);
        return { tensors: [r.tensor], owned: r.owned ? [r.tensor] : [] };
      })();
  const owned = [...inputsIn.owned];
  try {
    const inputs = inputsIn.tensors;
    if (inputs.some((t) => t.rank === 0))
      throw new KerasError(fn, `${object} must have a batch axis, got a scalar`, "shape");
    const problem = family.inputProblem?.(layer.config, inputs[0]);
    if (problem) throw new KerasError(fn, `${object} ${problem}`);
    const inputShapes: Shape[] = inputs.map((t) => t.shape);
    // States are (batch, units) matrices: a list of them is an array of tensors or of 2-D arrays.
    const initial =
      options.initial_state != null
        ? toTensorList(fn, options.initial_state, `\`${caller.initial_state ?? "initial_state"}\``, 2)
        : undefined;
    const constants = options.constants != null ? toTensorList(fn, options.constants, "`constants`", 2) : undefined;
    if (initial) owned.push(...initial.owned);
    if (constants) owned.push(...constants.owned);
    const call = {
      initialState: initial?.tensors.map((t) => t.shape) ?? [],
      constants: constants?.tensors.map((t) => t.shape) ?? [],
    };
    const outputShapes = inferOutputShapes(layer, inputShapes, call, fn);
    let mask: Tensor | null = null;
    if (options.mask !== undefined && options.mask !== null) {
      const m = toTensorData(fn, options.mask, "`mask`");
      if (m.owned) owned.push(m.tensor);
      checkMaskShape(fn, m.tensor.shape, inputs[0].shape, family.takesStates === true);
      mask = m.tensor;
    } else mask = eagerMasks.get(inputs[0]) ?? null;
    const masks = multi ? inputs.map((t) => eagerMasks.get(t) ?? null) : [mask];

    const plan = layerCallPlan(inputShapes, call, outputShapes);
    const lease = pinRuntime(
      layer,
      (rt) => sameShapes(rt.specs[0], weightSpecsOf(layer, inputShapes)),
      () =>
        new Runtime({
          layers: [layer],
          plan,
          weights: (l, shapes) => updatedWeights.get(l) ?? weightValuesOf(l, shapes, fn),
        }),
    );
    try {
      const rt = lease.runtime;
      const training = options.training ?? false;
      let updates: RunUpdates | undefined;
      // tf.tidy keeps what it returns (its typing just does not allow the nulls of absent masks).
      const result = (tf.tidy as <T>(f: () => T) => T)(() => {
        const run = rt.run(
          [...inputs, ...(initial?.tensors ?? []), ...(constants?.tensors ?? [])],
          { training, inputMasks: masks.map((m) => (m ? tf.cast(m, "bool") : null)) },
          plan,
        );
        updates = keptUpdates(run);
        return { outputs: run.outputs, masks: run.outputMasks.map((m) => (m ? tf.cast(m, "bool") : null)) };
      });
      rt.commit(updates!);
      if (updates!.weightUpdates.length) updatedWeights.set(layer, rt.readWeights()[0]);
      result.outputs.forEach((o, i) => {
        const m = result.masks[i];
        if (!m) return;
        eagerMasks.set(o, m);
        // The caller owns the output: disposing it (or the tidy it was made in) disposes its mask too.
        const disposeOutput = o.dispose.bind(o);
        Object.defineProperty(o, "dispose", {
          value: () => {
            disposeOutput();
            if (!m.isDisposed) m.dispose();
          },
        });
      });
      return result.outputs.length === 1 ? result.outputs[0] : result.outputs;
    } finally {
      unpinRuntime(lease);
    }
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** The weights an eagerly used layer holds now, when training-mode calls have updated them. */
export function eagerWeights(layer: Layer): readonly WeightValue[] | undefined {
  return updatedWeights.get(layer);
}
