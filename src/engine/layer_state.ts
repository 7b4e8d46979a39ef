/**
 * The recurrent state of stateful layers: the one mutable thing (DESIGN principle 8). As in Keras, the
 * state belongs to the layer: one StateCell per layer value, shared by every model value that holds that
 * layer value (a model and compile(model) share it; fit's result gets new layer values and new cells).
 *
 * A cell keeps the state on the device while at least one runtime uses it (`attach`/`detach`, counted);
 * when the last one lets go, the state is read back into host arrays and its tensors are disposed, so
 * evicting runtimes never loses it and device memory never waits for garbage collection.
 */
import { tf, type Tensor } from "../backend/tf.js";
import type { Layer } from "../model/layer.js";

export interface HostState {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

export class StateCell {
  /** The state on the device (only while used by a runtime), else null. */
  private device: Tensor[] | null = null;
  /** The state in host memory while no runtime uses it; null with `device` null means zeros. */
  private host: HostState[] | null = null;
  private users = 0;

  attach(): this {
    this.users++;
    return this;
  }

  detach(): void {
    if (--this.users > 0 || !this.device) return;
    this.host = this.device.map((t) => ({ shape: [...t.shape], values: Float32Array.from(t.dataSync()) }));
    this.disposeDevice();
  }

  /** The current state on the device (uploaded, or zeros of `shapes`). Only for an attached runtime. */
  current(shapes: () => readonly (readonly number[])[]): Tensor[] {
    if (!this.device) {
      const host = this.host;
      this.device = host
        ? host.map((h) => tf.keep(tf.tensor(h.values, [...h.shape], "float32")))
        : shapes().map((s) => tf.keep(tf.zeros([...s])));
      this.host = null;
    }
    return this.device;
  }

  /** Takes `next` (kept tensors) as the new state; old tensors not in `next` are disposed. */
  replace(next: readonly Tensor[]): void {
    const old = this.device;
    this.device = [...next];
    this.host = null;
    if (old) for (const t of old) if (!next.includes(t)) t.dispose();
  }

  /** Zeroes the state, or sets it to copies of `values`. */
  reset(values?: readonly Tensor[] | null): void {
    this.disposeDevice();
    this.host = null;
    if (!values) return;
    if (this.users > 0) this.device = values.map((t) => tf.keep(t.clone()));
    else this.host = values.map((t) => ({ shape: [...t.shape], values: Float32Array.from(t.dataSync()) }));
  }

  /** A copy of the state in host memory (null: zeros, not yet made). */
  read(): HostState[] | null {
    if (this.device) return this.device.map((t) => ({ shape: [...t.shape], values: Float32Array.from(t.dataSync()) }));
    return this.host && this.host.map((h) => ({ shape: h.shape, values: h.values.slice() }));
  }

  /** A new cell holding a copy of this state, attached once (a training run's own, which must not change this one). */
  attachedCopy(): StateCell {
    const c = new StateCell().attach();
    c.device = this.device ? this.device.map((t) => tf.keep(t.clone())) : null;
    c.host = this.device ? null : this.host;
    return c;
  }

  private disposeDevice(): void {
    if (this.device) for (const t of this.device) t.dispose();
    this.device = null;
  }
}

// Host-side bookkeeping only: a cell of a layer value nobody holds is garbage like the value (a cell
// keeps no device tensors unless a runtime, itself holding the layer, is attached).
const cells = new WeakMap<Layer, StateCell>();

/** The state cell of a stateful layer value, created (zeros) on first use. */
export function stateCellOf(layer: Layer): StateCell {
  let c = cells.get(layer);
  if (!c) cells.set(layer, (c = new StateCell()));
  return c;
}

/** The cell of `layer` if it has run (or had its state set). */
export function existingStateCell(layer: Layer): StateCell | undefined {
  return cells.get(layer);
}

/** Makes `cell` the state of the new layer value `layer` (fit hands its final state to the trained value). */
export function adoptStateCell(layer: Layer, cell: StateCell): void {
  cells.set(layer, cell);
}
