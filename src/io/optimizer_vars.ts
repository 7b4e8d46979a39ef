/**
 * The optimizer state in Keras's weights files (`optimizer/vars/0, 1, ...`), both ways.
 *
 * Keras saves its optimizer's variables in creation order: `iterations` (int64), `learning_rate`
 * (float32; absent when it is a schedule), then the slot variables of the model's trainable weights
 * (in `model.trainable_variables` order) — grouped as each optimizer's `build()` creates them: Adam
 * makes momentum and velocity per weight (interleaved), then, with amsgrad, every velocity_hat;
 * RMSprop makes all velocities, then all momentums, then all average gradients; Adafactor makes r, c and
 * velocity per weight (r and c scalars for weights of rank < 2) — and last any optimizer-wide variable
 * (Nadam's u_product). This package keeps the same state as plain data (`OptimizerStateValue`), its
 * slots keyed by `slotKey()`; which slots a weight has, their shapes and initial values come from the
 * optimizer's update rule (`slotSpecs()`).
 */
import { KerasError } from "../errors.js";
import { slotKey, slotSpecs, type OptimizerSpec, type OptimizerStateValue } from "../ops/optimizers.js";
import { isSchedule } from "../ops/schedules.js";
import type { H5Array } from "./hdf5.js";

interface SlotLayout {
  /** Slot names (this package's) in Keras's creation groups; a weight without such a slot skips it. */
  readonly groups: readonly (readonly string[])[];
  /** Optimizer-wide variables after the slots, by their `globals` name. */
  readonly globals?: readonly string[];
}

const LAYOUTS: Readonly<Record<string, (c: Readonly<Record<string, any>>) => SlotLayout>> = {
  SGD: (c) => ({ groups: c.momentum > 0 ? [["momentum"]] : [] }),
  RMSprop: (c) => ({
    groups: [["velocity"], ...(c.momentum > 0 ? [["momentum"]] : []), ...(c.centered ? [["average_gradient"]] : [])],
  }),
  Adam: (c) => ({ groups: [["momentum", "velocity"], ...(c.amsgrad ? [["velocity_hat"]] : [])] }),
  AdamW: (c) => ({ groups: [["momentum", "velocity"], ...(c.amsgrad ? [["velocity_hat"]] : [])] }),
  Adagrad: () => ({ groups: [["accumulator"]] }),
  Adadelta: () => ({ groups: [["accumulated_grad", "accumulated_delta_var"]] }),
  Adamax: () => ({ groups: [["m", "u"]] }),
  Nadam: () => ({ groups: [["momentum", "velocity"]], globals: ["u_product"] }),
  Lion: () => ({ groups: [["momentum"]] }),
  Lamb: () => ({ groups: [["momentum", "velocity"]] }),
  Ftrl: () => ({ groups: [["accumulator", "linear"]] }),
  Adafactor: () => ({ groups: [["r", "c", "velocity"]] }),
};

/** The slots of `w` in Keras's order: [index in the rule's slot list, name, shape, initial value]. */
function* keras3Slots(spec: OptimizerSpec, layout: SlotLayout, weights: readonly TrainableWeight[]) {
  for (const group of layout.groups)
    for (const w of weights) {
      const specs = slotSpecs(spec, w.shape);
      for (const name of group) {
        const index = specs.findIndex((s) => s.name === name);
        if (index >= 0) yield { w, index, ...specs[index], shape: specs[index].shape ?? w.shape };
      }
    }
}

/** A trainable weight of the model, in Keras's `trainable_variables` order. */
export interface TrainableWeight {
  readonly layerIndex: number;
  readonly weightIndex: number;
  readonly shape: readonly number[];
}

/** One optimizer variable as Keras stores it. */
export interface OptimizerVar {
  readonly data: H5Array;
  readonly shape: readonly number[];
  /**
   * Keras's name for it: "iteration", "learning_rate", a slot's name ("momentum") for the slot of
   * `weight` (Keras names that `<weight path with _>_<slot>`), or an optimizer-wide variable's.
   */
  readonly label: string;
  /** The weight a slot variable belongs to; null for the others. */
  readonly weight: TrainableWeight | null;
}

/** Keras's names of the optimizer-wide variables (Nadam's u_product is an unnamed `backend.Variable`). */
const GLOBAL_NAMES: Readonly<Record<string, string>> = { u_product: "variable" };

function layoutOf(spec: OptimizerSpec): SlotLayout {
  const layout = LAYOUTS[spec.class_name];
  if (!layout) throw new KerasError("save_model", `no Keras layout is known for optimizer ${spec.class_name}`, "io");
  return layout(spec.config);
}

const hasLearningRateVariable = (spec: OptimizerSpec) => !isSchedule(spec.config.learning_rate);

/** The number of variables an optimizer that has not been built yet (never trained) saves. */
export const unbuiltVarCount = (spec: OptimizerSpec): number => (hasLearningRateVariable(spec) ? 2 : 1);

/** Keras's optimizer variables for `state` (null: not trained yet, saved as Keras saves an unbuilt optimizer). */
export function optimizerVars(
  spec: OptimizerSpec,
  state: OptimizerStateValue | null,
  weights: readonly TrainableWeight[],
): OptimizerVar[] {
  const layout = layoutOf(spec);
  const lr = state?.learning_rate ?? (typeof spec.config.learning_rate === "number" ? spec.config.learning_rate : null);
  const out: OptimizerVar[] = [
    { data: BigInt64Array.of(BigInt(state?.iterations ?? 0)), shape: [], label: "iteration", weight: null },
  ];
  if (hasLearningRateVariable(spec))
    out.push({ data: Float32Array.of(lr ?? 0), shape: [], label: "learning_rate", weight: null });
  if (!state) return out;
  for (const { w, index, name, shape, init, integer } of keras3Slots(spec, layout, weights)) {
    const slot = state.slots[slotKey(w.layerIndex, w.weightIndex)]?.[index];
    const n = shape.reduce((a, b) => a * b, 1);
    const data = slot && slot.name === name && slot.values.length === n ? slot.values : new Float32Array(n).fill(init);
    out.push({ data: integer ? Int32Array.from(data) : data, shape, label: name, weight: w });
  }
  for (const g of layout.globals ?? [])
    out.push({ data: Float32Array.of(state.globals[g] ?? 1), shape: [], label: GLOBAL_NAMES[g] ?? g, weight: null });
  return out;
}

/**
 * The optimizer state from Keras's variables; null when they are those of an unbuilt optimizer (a
 * model compiled but not trained). Throws `mismatch` (a message) when the count does not fit the model.
 */
export function optimizerStateFromVars(
  spec: OptimizerSpec,
  vars: readonly { shape: readonly number[]; read: () => H5Array }[],
  weights: readonly TrainableWeight[],
): OptimizerStateValue | { mismatch: string } | null {
  const layout = layoutOf(spec);
  const slots = [...keras3Slots(spec, layout, weights)];
  const lrVars = hasLearningRateVariable(spec) ? 1 : 0;
  const expected = 1 + lrVars + slots.length + (layout.globals?.length ?? 0);
  if (vars.length === unbuiltVarCount(spec) && expected !== vars.length) return null;
  if (vars.length !== expected)
    return {
      mismatch: `the file holds ${vars.length} optimizer variables, a ${spec.class_name} optimizer of this model has ${expected}`,
    };
  const scalar = (i: number) => Number(vars[i].read()[0]);
  const state: Record<string, { name: string; shape: readonly number[]; values: Float32Array }[]> = {};
  let at = 1 + lrVars;
  for (const { w, index, name, shape } of slots) {
    const list = (state[slotKey(w.layerIndex, w.weightIndex)] ??= []);
    const v = vars[at++];
    if (v.shape.length !== shape.length || v.shape.some((d, i) => d !== shape[i]))
      return {
        mismatch: `optimizer variable ${at - 1} (${name}) has shape [${v.shape.join(", ")}], the slot of the weight it belongs to [${shape.join(", ")}]`,
      };
    list[index] = { name, shape: [...shape], values: Float32Array.from(v.read() as Float32Array) };
  }
  const globals: Record<string, number> = {};
  for (const g of layout.globals ?? []) globals[g] = scalar(at++);
  return Object.freeze({
    class_name: spec.class_name,
    iterations: scalar(0),
    learning_rate: lrVars ? scalar(1) : null,
    globals: Object.freeze(globals),
    slots: Object.freeze(state),
  });
}
