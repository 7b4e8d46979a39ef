/**
 * The R-habit hint (issue 11): R keras changes a model in place, so `fit(model, x, y)`, `compile(model, ...)`,
 * `set_weights(model, w)`, `freeze_weights(model)` and `pop_layer(model)` work there with their result
 * ignored. Here they return new values, and the same lines train nothing. This module notices the common cases
 * by object identity and prints one hint per process (to stderr; `TSKERAS_HINTS=0` silences it).
 *
 * A hint needs evidence that a result was thrown away, so that keeping a result for later
 * (`const runs = [await fit(m, ...), await fit(m, ...)]`) or evaluating the untrained model beside the trained
 * one stays silent:
 * - a fit() / train_on_batch() result counts as used once its `model` is read (destructuring reads it); a
 *   value derived by set_weights / freeze_weights / unfreeze_weights / pop_layer / compile once it reaches a
 *   verb that calls noteModelUse / checkModelUse, or is compiled further;
 * - when the original value then reaches fit / evaluate / predict (for a derived value: fit or
 *   train_on_batch, directly or compiled) while the result is unused, that is a suspicion. It becomes the hint
 *   when the result has been garbage-collected (nothing can use it any more; in a small script that seldom
 *   happens before exit), at process exit if it was still never used, or — for
 *   the two shapes of R's in-place habit — when the original reaches a verb once more while the result is
 *   still unread: after evaluate / predict of the original following its fit (`fit(m, x, y); evaluate(m, ...);
 *   fit(m, x, y)`), and after a second fit of the original with the same data and arguments
 *   (`for (...) fit(m, x, y, { epochs: 1 })`). Code that keeps a result uses the trained model next, not the
 *   original again (`const r = await fit(m, ...); await evaluate(m, ...); await evaluate(r.model, ...)`).
 * Only WeakMaps hold values here, and only a compiled model keeps its uncompiled input reachable (a chain of
 * fits or set_weights keeps nothing alive). Whether a value was collected is asked of a WeakRef to a token
 * that lives as long as the value (`lifeOf`), never of a WeakRef to the value: a WeakRef keeps its target
 * alive to the end of the current job, and a training loop that never waits for I/O is one job — every
 * trained model of the loop would stay in memory until it ends.
 */
import { inspect } from "node:util";
import type { Model } from "../model/model.js";

/** An object or function as a call saw it: a number for its identity, holding nothing (`see`). */
class Identity {
  constructor(readonly id: number) {}
}
const identities = new WeakMap<object, number>();
let lastIdentity = 0;
const isObject = (v: unknown): v is object => v !== null && (typeof v === "object" || typeof v === "function");
/** A value as a call saw it: primitives as they are, objects (data, callbacks) by identity. */
type Seen = unknown;
const see = (v: unknown): Seen => {
  if (!isObject(v)) return v;
  let id = identities.get(v);
  if (id === undefined) identities.set(v, (id = ++lastIdentity));
  return new Identity(id);
};
const sameAs = (seen: Seen, v: unknown): boolean =>
  seen instanceof Identity ? isObject(v) && identities.get(v) === seen.id : Object.is(seen, v);

/** A token held only by `value` (through this WeakMap): it lives exactly as long as `value` does. */
const lifeTokens = new WeakMap<object, object>();
/** A WeakRef that empties when `value` has been collected, without keeping `value` alive meanwhile. */
function lifeOf(value: object): WeakRef<object> {
  let token = lifeTokens.get(value);
  if (!token) lifeTokens.set(value, (token = {}));
  return new WeakRef(token);
}

/** The data and arguments of a training call; arrays in the arguments (callbacks) element by element. */
export interface TrainingCall {
  readonly x: unknown;
  readonly y: unknown;
  readonly args: unknown;
}
interface SeenCall {
  readonly x: Seen;
  readonly y: Seen;
  readonly args: ReadonlyMap<string, Seen | Seen[]>;
}

function seeCall(call: TrainingCall): SeenCall {
  const args = new Map<string, Seen | Seen[]>();
  if (call.args !== null && typeof call.args === "object")
    for (const [k, v] of Object.entries(call.args))
      if (v !== undefined) args.set(k, Array.isArray(v) ? v.map(see) : see(v));
  return { x: see(call.x), y: see(call.y), args };
}

function sameCall(seen: SeenCall, call: TrainingCall): boolean {
  if (!sameAs(seen.x, call.x) || !sameAs(seen.y, call.y)) return false;
  const entries = Object.entries((call.args ?? {}) as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length !== seen.args.size) return false;
  return entries.every(([k, v]) => {
    const s = seen.args.get(k);
    if (!Array.isArray(v)) return !Array.isArray(s) && sameAs(s, v);
    return Array.isArray(s) && s.length === v.length && v.every((e, i) => sameAs(s[i], e));
  });
}

/** The record of one fit() / train_on_batch() call, kept per input model (the latest). */
interface TrainingRecord {
  readonly fn: string;
  readonly call: SeenCall;
  modelRead: boolean;
  /** Empties when the returned `{ model, ... }` record has been collected (`lifeOf`). */
  resultLife?: WeakRef<object>;
}

interface Suspicion {
  /** The verb whose result was dropped. */
  readonly dropped: string;
  /** The verb that then received the original value. */
  readonly usedBy: string;
  readonly unused: () => boolean;
  readonly collected: () => boolean;
  /** Shown when the original reaches a verb again while the result is unused (see the header). */
  readonly onNextUse: boolean;
  /** The original value's count of verb calls (`uses`), and what it was when this was raised. */
  readonly originalUses: { n: number };
  readonly usesAtRaise: number;
}

/** A value derived by set_weights / freeze_weights / unfreeze_weights / pop_layer / compile. */
interface Derivation {
  readonly fn: string;
  /** Whether the derived value reached a verb, or was compiled further. */
  used: boolean;
  /** Empties when the derived value has been collected (`lifeOf`). */
  readonly life: WeakRef<object>;
}

const lastTraining = new WeakMap<Model, TrainingRecord>();
/** input → the values derived from it (their records; the latest few). */
const derivedFrom = new WeakMap<Model, Derivation[]>();
/** derived value → its record. */
const derivationOf = new WeakMap<Model, Derivation>();
/** compiled model → the model compile() was given (reachable only as long as the compiled one is). */
const compiledFromInput = new WeakMap<Model, Model>();
const suspected = new WeakSet<object>();
let pending: Suspicion[] = [];
/** How many fit / evaluate / predict / *_on_batch calls each model value has reached. */
const uses = new WeakMap<Model, { n: number }>();
let shown = false;
let exitHookInstalled = false;

/** Derivations kept per input: the latest (a loop of set_weights on one value keeps a bounded list). */
const MAX_DERIVATIONS = 16;

function usesOf(model: Model): { n: number } {
  let u = uses.get(model);
  if (!u) uses.set(model, (u = { n: 0 }));
  return u;
}

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

/** Shows the first pending suspicion that is proven (see the header); drops the ones whose result got used. */
function settle(atExit: boolean): void {
  if (pending.length === 0) return; // (every predict() of a stream passes here)
  const still: Suspicion[] = [];
  for (const s of pending) {
    if (!s.unused()) continue;
    if (atExit || s.collected() || (s.onNextUse && s.originalUses.n > s.usesAtRaise)) show(s);
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
  const d = derivationOf.get(model);
  if (d) d.used = true;
}

/** `fn(input)` returned `result` (set_weights, freeze_weights, unfreeze_weights, pop_layer, compile). */
export function noteDerived(fn: string, input: Model, result: Model): void {
  if (result === input) return;
  noteModelUse(input);
  if (fn === "compile") compiledFromInput.set(result, input);
  const d: Derivation = { fn, used: false, life: lifeOf(result) };
  derivationOf.set(result, d);
  derivedFrom.set(input, [...(derivedFrom.get(input) ?? []).slice(1 - MAX_DERIVATIONS), d]);
}

/** Whether `model` was given to compile() (whose result, compiled, is another value). */
export function wasCompiled(model: Model): boolean {
  return (derivedFrom.get(model) ?? []).some((d) => d.fn === "compile");
}

/**
 * fit / evaluate / predict / *_on_batch received `model` (and for fit / train_on_batch, `call`): notes the use,
 * settles earlier suspicions, and records a suspicion when `model` was given to fit or train_on_batch whose
 * trained model is still unread, or, for training, when `model` (or a value it was compiled from) was given
 * to set_weights, freeze_weights, unfreeze_weights, pop_layer or compile whose result is still unused.
 */
export function checkModelUse(fn: string, model: Model, call?: TrainingCall): void {
  noteModelUse(model);
  const originalUses = usesOf(model);
  originalUses.n++;
  settle(false);
  const training = call !== undefined;
  const raised = () => ({ originalUses, usesAtRaise: originalUses.n });
  const fitted = lastTraining.get(model);
  if (fitted && !fitted.modelRead)
    suspect(fitted, {
      dropped: fitted.fn,
      usedBy: fn,
      unused: () => !fitted.modelRead,
      collected: () => fitted.resultLife?.deref() === undefined,
      onNextUse: !training || sameCall(fitted.call, call),
      ...raised(),
    });
  // Only training counts for derived values: evaluating or predicting the original beside an inspected
  // copy (`pop_layer(m).layers`, then predict(m)) is how one shows that values do not change.
  for (let m: Model | undefined = training ? model : undefined; m; m = compiledFromInput.get(m)) {
    for (const d of derivedFrom.get(m) ?? []) {
      const unused = () => !d.used;
      if (unused())
        suspect(d, {
          dropped: d.fn,
          usedBy: fn,
          unused,
          collected: () => d.life.deref() === undefined,
          onNextUse: false,
          ...raised(),
        });
    }
  }
  settle(false);
}

/**
 * The result of `fn(input, ...)` (fit, train_on_batch), a `{ model, ... }` record whose `model` getter records
 * the read; printing it shows the values.
 */
export function watchTrainingResult<R extends { model: Model }>(
  fn: string,
  input: Model,
  call: TrainingCall,
  result: R,
): R {
  const { model, ...rest } = result;
  const record: TrainingRecord = { fn, call: seeCall(call), modelRead: false };
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
  record.resultLife = lifeOf(watched);
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
