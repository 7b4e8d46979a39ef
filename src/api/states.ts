/**
 * `reset_states(model | layer, states)`: zeroes the recurrent state of stateful layers, or sets it to
 * given values (DESIGN principle 8: the one mutable thing). The state belongs to the layer value
 * (engine/layer_state.ts), so a layer taken from a model with get_layer() reaches the model's state.
 */
import { tf, type Tensor } from "../backend/tf.js";
import { KerasError, asKerasError, describeValue } from "../errors.js";
import { isModel } from "../model/guards.js";
import { builtInputShapesOf, familyOf, isLayer, type Layer } from "../model/layer.js";
import type { Model } from "../model/model.js";
import type { Shape } from "../model/types.js";
import { formatShape } from "../model/shape.js";
import { isStatefulLayer } from "../model/stateful.js";
import { buildPlan } from "../engine/plan.js";
import { existingStateCell, stateCellOf } from "../engine/layer_state.js";
import { toTensorData } from "../backend/convert.js";
import { refuseArgumentsPast } from "../args.js";

/** The given states as tensors checked against the layer's state shapes (batch axis checked when known). */
function stateTensors(
  fn: string,
  layer: Layer,
  states: unknown,
  inputShapes: readonly Shape[] | null,
): { tensors: Tensor[]; owned: Tensor[] } {
  const family = familyOf(layer);
  const shapes = inputShapes ? family.stateShapes!(layer.config, inputShapes) : null;
  const isList =
    Array.isArray(states) &&
    states.length > 0 &&
    states.every((s) => s instanceof tf.Tensor || (Array.isArray(s) && Array.isArray(s[0])));
  const list = isList ? (states as unknown[]) : [states];
  const owned: Tensor[] = [];
  try {
    const tensors = list.map((s, i) => {
      const r = toTensorData(fn, s, `\`states\` (layer "${layer.name}", state ${i + 1})`);
      if (r.owned) owned.push(r.tensor);
      return r.tensor;
    });
    if (shapes) {
      const problem =
        tensors.length !== shapes.length
          ? `layer "${layer.name}" has ${shapes.length} state${shapes.length === 1 ? "" : "s"} (${shapes.map(formatShape).join(", ")}), got ${tensors.length}`
          : tensors
              .map((t, i) =>
                t.rank !== shapes[i].length || shapes[i].some((d, j) => d !== null && d !== t.shape[j])
                  ? `layer "${layer.name}": state ${i + 1} must have shape ${formatShape(shapes[i])}, got ${formatShape(t.shape)}`
                  : "",
              )
              .find((m) => m);
      if (problem) throw new KerasError(fn, `\`states\`: ${problem}`, "shape");
    }
    return { tensors, owned };
  } catch (e) {
    owned.forEach((t) => t.dispose());
    throw e;
  }
}

/**
 * `reset_states(model, states)`: one stateful layer takes its list of states; several take a list
 * with one entry per stateful layer, in model order, each that layer's list of states (or null: zeros).
 * Every entry is checked before any state changes.
 */
function setModelStates(fn: string, model: Model, stateful: readonly number[], states: unknown): void {
  const layers = stateful.map((i) => model.layers[i]);
  const names = layers.map((l) => `"${l.name}"`).join(", ");
  if (layers.length === 0)
    throw new KerasError(
      fn,
      `model "${model.name}" has no stateful layers: only recurrent layers created with stateful = TRUE have states to set`,
    );
  const entries: unknown[] = layers.length === 1 ? [states] : Array.isArray(states) ? states : [];
  if (layers.length > 1 && entries.length !== layers.length) {
    throw new KerasError(
      fn,
      `model "${model.name}" has ${layers.length} stateful layers (${names}): \`states\` must be a list of ${layers.length} entries, one per stateful layer in model order, each a list of that layer's states (or NULL for zeros), got ${Array.isArray(states) ? `a list of ${states.length}` : describeValue(states)}`,
      "shape",
    );
  }
  const plan = buildPlan(model);
  const converted: { tensors: Tensor[]; owned: Tensor[] }[] = [];
  try {
    entries.forEach((entry, k) => {
      if (entry !== null && entry !== undefined)
        converted[k] = stateTensors(fn, layers[k], entry, plan.layerInputShapes[stateful[k]]);
    });
    layers.forEach((l, k) => stateCellOf(l).reset(converted[k]?.tensors ?? null));
  } finally {
    converted.forEach((c) => c?.owned.forEach((t) => t.dispose()));
  }
}

/**
 * `reset_states(object, states = NULL)`: `object` is a model (every stateful layer) or a stateful
 * layer (used eagerly, or taken from a model with get_layer()). `states` for a model with one stateful
 * layer is that layer's list of states (`list(h)`, LSTM `list(h, c)`); with several, a list with one
 * such list per stateful layer in model order (NULL entries zero that layer). Returns `object`.
 *
 * @example
 * reset_states(model); // every stateful layer starts again from zeros
 */
export function reset_states<T extends Model | Layer>(object: T, states?: unknown): T {
  refuseArgumentsPast("reset_states", ["object", "states"], arguments);
  return resetStates("reset_states", object, states);
}

/**
 * `reset_state(object, states = NULL)`: keras3's name of `reset_states`.
 *
 * @example
 * reset_state(get_layer(model, { name: "lstm" }));
 */
export function reset_state<T extends Model | Layer>(object: T, states?: unknown): T {
  refuseArgumentsPast("reset_state", ["object", "states"], arguments);
  return resetStates("reset_state", object, states);
}

function resetStates<T extends Model | Layer>(fn: string, object: T, states: unknown): T {
  if (isModel(object)) {
    const stateful = object.layers.map((l, i) => (isStatefulLayer(l) ? i : -1)).filter((i) => i >= 0);
    if (states === undefined || states === null) {
      for (const i of stateful) existingStateCell(object.layers[i])?.reset();
      return object;
    }
    try {
      setModelStates(fn, object, stateful, states);
    } catch (e) {
      throw asKerasError(fn, e);
    }
    return object;
  }
  if (isLayer(object)) {
    if (!isStatefulLayer(object)) {
      throw new KerasError(
        fn,
        `layer "${object.name}" is not stateful: only recurrent layers created with stateful = TRUE have states to reset`,
      );
    }
    const cell = existingStateCell(object);
    if (states === undefined || states === null) {
      cell?.reset();
      return object;
    }
    if (!cell) {
      throw new KerasError(
        fn,
        `layer "${object.name}" has not been run yet: call it on data (or use it in a model that has run) before setting its states`,
        "state",
      );
    }
    const { tensors, owned } = stateTensors(fn, object, states, builtInputShapesOf(object));
    try {
      cell.reset(tensors);
    } finally {
      owned.forEach((t) => t.dispose());
    }
    return object;
  }
  throw new KerasError(fn, `\`object\` must be a model or a stateful layer, got ${describeValue(object)}`);
}
