/**
 * Eager execution: a layer applied to concrete data (`layer_dense(x, { units: 2 })` or `dense(x)`).
 * The layer keeps the weights it built (and, when stateful, its state) for later calls: they are
 * cached per layer value, like a model's runtime.
 */
import { tf, type Tensor } from "../backend/tf.js";
import { KerasError, asKerasError } from "../errors.js";
import { toTensorData } from "./training/convert.js";
import { familyOf, inferOutputShapes, weightValuesOf, type CallOptions, type Layer } from "../model/layer.js";
import type { Shape } from "../model/types.js";
import { checkMaskShape } from "../model/shape.js";
import { isStatefulLayer } from "../model/stateful.js";

interface EagerCache {
  variables: tf.Variable[];
  state: Tensor[] | null;
}
const caches = new WeakMap<Layer, EagerCache>();
const finalizer = new FinalizationRegistry<Tensor[]>((ts) => ts.forEach((t) => t.dispose()));

/** Masks computed by eager layers, attached to their outputs (Keras's `_keras_mask`). */
const eagerMasks = new WeakMap<Tensor, Tensor>();
const maskFinalizer = new FinalizationRegistry<Tensor>((m) => m.dispose());

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
    inferOutputShapes(
      layer,
      inputShapes,
      {
        initialState: initial?.tensors.map((t) => t.shape) ?? [],
        constants: constants?.tensors.map((t) => t.shape) ?? [],
      },
      fn,
    );
    let mask: Tensor | null = null;
    if (options.mask !== undefined && options.mask !== null) {
      const m = toTensorData(fn, options.mask, "`mask`");
      if (m.owned) owned.push(m.tensor);
      checkMaskShape(fn, m.tensor.shape, inputs[0].shape, family.takesStates === true);
      mask = m.tensor;
    } else mask = eagerMasks.get(inputs[0]) ?? null;
    const masks = multi ? inputs.map((t) => eagerMasks.get(t) ?? null) : [mask];

    let cache = caches.get(layer);
    if (!cache) {
      const variables = weightValuesOf(
        layer,
        inputShapes.map((s) => [null, ...s.slice(1)]),
        fn,
      ).map((w) => tf.tidy(() => tf.variable(tf.tensor(w.values, [...w.shape], "float32"), w.trainable)));
      cache = { variables, state: null };
      caches.set(layer, cache);
      finalizer.register(layer, variables);
    }
    const c = cache;
    let state: Tensor[] | undefined;
    if (isStatefulLayer(layer)) {
      if (!c.state)
        c.state = familyOf(layer).stateShapes!(layer.config, inputShapes).map((s) => tf.keep(tf.zeros(s as number[])));
      state = c.state;
    }
    const result = (tf.tidy as any)(() => {
      const r = family.forward(layer.config, {
        inputs,
        weights: c.variables,
        masks: masks.map((m) => (m ? tf.cast(m, "bool") : null)),
        training: options.training ?? false,
        trainable: layer.trainable,
        initialState: initial?.tensors,
        constants: constants?.tensors,
        state,
      });
      const outMasks = r.masks ?? (family.mask === "drop" ? r.outputs.map(() => null) : r.outputs.map(() => masks[0]));
      // An identity layer (dropout at inference, ...) returns its input: hand out a copy, since the
      // caller owns (and may dispose) the output, and converted inputs are disposed below.
      const outputs = r.outputs.map((o) => (inputs.includes(o) ? tf.clone(o) : o));
      const weightUpdates = options.training ? (r.weightUpdates ?? []) : [];
      return {
        outputs,
        masks: outMasks.map((m) => (m ? tf.cast(m, "bool") : null)),
        newState: r.newState ? [...r.newState] : undefined,
        weightUpdates,
      };
    }) as unknown as {
      outputs: Tensor[];
      masks: (Tensor | null)[];
      newState?: Tensor[];
      weightUpdates: { index: number; value: Tensor }[];
    };
    // Non-trainable weight updates of a training call (batch norm's moving statistics) go to the
    // layer's cached variables, as a model's runtime applies them to its own.
    for (const u of result.weightUpdates) {
      c.variables[u.index].assign(u.value);
      u.value.dispose();
    }
    if (result.newState) {
      const old = c.state;
      c.state = result.newState;
      if (old) old.forEach((t) => t.dispose());
    }
    result.outputs.forEach((o, i) => {
      const m = result.masks[i];
      if (m) {
        eagerMasks.set(o, m);
        maskFinalizer.register(o, m, o);
        // Disposing the output disposes its mask too (else masks pile up until GC runs the finalizer).
        const disposeOutput = o.dispose.bind(o);
        Object.defineProperty(o, "dispose", {
          value: () => {
            disposeOutput();
            if (!m.isDisposed) m.dispose();
            maskFinalizer.unregister(o);
          },
        });
      }
    });
    return result.outputs.length === 1 ? result.outputs[0] : result.outputs;
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** Zeroes or sets the state of an eagerly used stateful layer. */
export function resetEagerState(layer: Layer, values?: readonly Tensor[]): boolean {
  const c = caches.get(layer);
  if (!c) return false;
  if (c.state) c.state.forEach((t) => t.dispose());
  c.state = values ? values.map((t) => tf.keep(t.clone())) : null;
  return true;
}

/** The weights an eagerly used layer holds now (read back from its variables). */
export function eagerWeights(layer: Layer): Float32Array[] | undefined {
  const c = caches.get(layer);
  return c?.variables.map((v) => Float32Array.from(v.dataSync() as Float32Array));
}
