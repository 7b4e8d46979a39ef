/**
 * The R-habit hint (issue 11): R keras changes a model in place, so `fit(model, x, y)`, `compile(model, ...)`,
 * `set_weights(model, w)`, `freeze_weights(model)` and `pop_layer(model)` work there with their result
 * ignored. Here they return new values, and the same lines train nothing. This module notices the common cases
 * by object identity and prints one hint per process (to stderr; `TSKERAS_HINTS=0` silences it).
 *
 * A hint needs proof that a result was thrown away, never a guess from call order alone, so that keeping a
 * result for later (`const runs = [await fit(m, ...), await fit(m, ...)]`) or evaluating the untrained model
 * beside the trained one stays silent:
 * - a fit() / train_on_batch() result counts as used once its `model` is read (destructuring reads it); a
 *   value derived by set_weights / freeze_weights / unfreeze_weights / pop_layer / compile once it reaches a
 *   verb that calls noteModelUse / checkModelUse, or is compiled further;
 * - when the original value then reaches fit / evaluate / predict (for a derived value: fit or
 *   train_on_batch, directly or compiled) while the result is unused, that is a suspicion. It becomes the hint
 *   as soon as the result has been garbage-collected (nothing can use it any more), or at process exit if it
 *   was still never used.
 * Only WeakMaps, WeakSets and WeakRefs hold values here, and only a compiled model keeps its uncompiled input
 * reachable (a chain of fits or set_weights keeps nothing alive).
 */
import { inspect } from "node:util";
import type { Model } from "../model/model.js";

/** The record of one fit() / train_on_batch() call, kept per input model (the latest). */
interface TrainingRecord {
  readonly fn: string;
  modelRead: boolean;
  /** The returned `{ model, ... }` record. */
  result?: WeakRef<object>;
}

interface Suspicion {
  /** The verb whose result was dropped. */
  readonly dropped: string;
  /** The verb that then received the original value. */
  readonly usedBy: string;
  readonly unused: () => boolean;
  readonly collected: () => boolean;
}

const lastTraining = new WeakMap<Model, TrainingRecord>();
/** input → the values derived from it by set_weights / freeze_weights / unfreeze_weights / pop_layer / compile. */
const derivedFrom = new WeakMap<Model, { fn: string; result: WeakRef<Model> }[]>();
/** compiled model → the model compile() was given (reachable only as long as the compiled one is). */
const compiledFromInput = new WeakMap<Model, Model>();
const used = new WeakSet<Model>();
const suspected = new WeakSet<object>();
let pending: Suspicion[] = [];
let shown = false;
let exitHookInstalled = false;

function hintsEnabled(): boolean {
  const v = process.env.TSKERAS_HINTS?.trim().toLowerCase();
  return !(v === "0" || v === "false" || v === "no" || v === "off");
}

/** The hint's text for a dropped `dropped` result seen by `usedBy`. */
export function hintText(dropped: string, usedBy: string): string {
  const trains = dropped === "fit" || dropped === "train_on_batch";
  const lines = trains
    ? [
        `tskeras hint: ${usedBy}() got a model value that was already given to ${dropped}(), and the trained model ${dropped}() returned was never used.`,
        `Models are values: ${dropped}() returns the trained model and leaves its argument untrained (R's ${dropped}() changes the model in place).`,
        "Keep the result:",
        `  const { model: trained } = await ${dropped}(model, x, y);`,
        "or, in a loop,",
        `  model = (await ${dropped}(model, x, y)).model;`,
      ]
    : [
        `tskeras hint: ${usedBy}() got a model value whose ${dropped}() result was never used.`,
        `Models are values: ${dropped}() returns a new model and leaves its argument as it was (R's ${dropped}() changes the model in place).`,
        "Keep the result:",
        `  model = ${dropped}(model, ...);`,
        "  const { model: trained } = await fit(model, x, y);",
      ];
  lines.push("(This hint is shown once; TSKERAS_HINTS=0 turns it off.)");
  return lines.join("\n");
}

function show(s: Suspicion): void {
  if (shown || !hintsEnabled()) return;
  shown = true;
  console.warn(hintText(s.dropped, s.usedBy));
}

/** Shows the first pending suspicion whose result is gone (or, at exit, still unused); drops settled ones. */
function settle(atExit: boolean): void {
  const still: Suspicion[] = [];
  for (const s of pending) {
    if (!s.unused()) continue;
    if (atExit || s.collected()) show(s);
    else still.push(s);
  }
  pending = shown ? [] : still;
}

/** Records a suspicion about `record` (a fit or a derivation), once. */
function suspect(record: object, s: Suspicion): void {
  if (shown || !hintsEnabled() || suspected.has(record)) return;
  suspected.add(record);
  pending.push(s);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => settle(true));
  }
}

/** A model value reached a verb: a derived value that does is not dropped. */
export function noteModelUse(model: Model): void {
  used.add(model);
}

/** `fn(input)` returned `result` (set_weights, freeze_weights, unfreeze_weights, pop_layer, compile). */
export function noteDerived(fn: string, input: Model, result: Model): void {
  if (result === input) return;
  used.add(input);
  if (fn === "compile") compiledFromInput.set(result, input);
  derivedFrom.set(input, [...(derivedFrom.get(input) ?? []), { fn, result: new WeakRef(result) }]);
}

/** Whether `model` was given to compile() (whose result, compiled, is another value). */
export function wasCompiled(model: Model): boolean {
  return (derivedFrom.get(model) ?? []).some((d) => d.fn === "compile");
}

/**
 * fit / evaluate / predict / *_on_batch received `model`: notes the use and records a suspicion when `model`
 * was given to fit or train_on_batch whose trained model is still unread, or, for training, when `model` (or a
 * value it was compiled from) was given to set_weights, freeze_weights, unfreeze_weights, pop_layer or compile
 * whose result is still unused.
 */
export function checkModelUse(fn: string, model: Model): void {
  noteModelUse(model);
  const fitted = lastTraining.get(model);
  if (fitted && !fitted.modelRead)
    suspect(fitted, {
      dropped: fitted.fn,
      usedBy: fn,
      unused: () => !fitted.modelRead,
      collected: () => fitted.result?.deref() === undefined,
    });
  // Only training counts for derived values: evaluating or predicting the original beside an inspected
  // copy (`pop_layer(m).layers`, then predict(m)) is how one shows that values do not change.
  const training = fn === "fit" || fn === "train_on_batch";
  for (let m: Model | undefined = training ? model : undefined; m; m = compiledFromInput.get(m)) {
    for (const d of derivedFrom.get(m) ?? []) {
      const unused = () => {
        const r = d.result.deref();
        return r === undefined || !used.has(r);
      };
      if (unused()) suspect(d, { dropped: d.fn, usedBy: fn, unused, collected: () => d.result.deref() === undefined });
    }
  }
  settle(false);
}

/**
 * The result of `fn(input, ...)` (fit, train_on_batch), a `{ model, ... }` record whose `model` getter records
 * the read; printing it shows the values.
 */
export function watchTrainingResult<R extends { model: Model }>(fn: string, input: Model, result: R): R {
  const { model, ...rest } = result;
  const record: TrainingRecord = { fn, modelRead: false };
  const read = () => {
    record.modelRead = true;
    return model;
  };
  const watched = Object.freeze(
    Object.defineProperties(
      {},
      {
        model: { enumerable: true, get: read },
        ...Object.fromEntries(Object.entries(rest).map(([k, value]) => [k, { enumerable: true, value }])),
        [inspect.custom]: { value: () => ({ model: read(), ...rest }) },
      },
    ),
  ) as R;
  record.result = new WeakRef(watched);
  lastTraining.set(input, record);
  return watched;
}

/** Test support: forget the one-time state (the maps are keyed by values and need no reset). */
export function resetHintsForTests(): void {
  shown = false;
  pending = [];
}

/** Test support: settle as the exit handler does. */
export function settleHintsAtExitForTests(): void {
  settle(true);
}
