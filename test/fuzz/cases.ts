/**
 * The fuzz cases: for each export, its valid calls (signatures.ts) are run once while decodeArgs is
 * observed, which gives the codec of every named argument; each case then breaks one thing in a valid
 * call — a named argument (bad values for its codec's kind, values.ts), the record itself (a Map, an
 * array, keys named like Object.prototype members), a positional argument (bad data, wrong objects) —
 * and must get a KerasError naming the export and the argument. Exports without a signature get
 * generic cases (junk in every position) that must never raise a raw error or crash.
 */
import * as api from "../../src/index.js";
import { KerasError } from "../../src/errors.js";
import { observeDecoding, type Props } from "../../src/args.js";
import type { Fixtures } from "./fixtures.js";
import { SIGNATURES, type Call } from "./signatures.js";
import { Random } from "./random.js";
import { JUNK, NOT_RECORDS, PROTOTYPE_KEYS, positionalValues, valuesFor, withKey, type Bad } from "./values.js";

/** What a call did. */
export type Outcome =
  | { readonly kind: "ok" }
  | { readonly kind: "keras"; readonly fn: string; readonly message: string }
  | { readonly kind: "raw"; readonly message: string }
  /** Only from the child process: it died or ran past its time. */
  | { readonly kind: "crash"; readonly message: string };

export interface Case {
  /** `export#n`: stable for a seed, what FUZZ_CASE takes. */
  readonly id: string;
  readonly exportName: string;
  readonly description: string;
  readonly risky: boolean;
  /** Public functions the KerasError may name. */
  readonly fns: readonly string[];
  /** The error message must contain one of these in backticks (none: any KerasError naming a function). */
  readonly names: readonly string[];
  /** FALSE for the generic cases: accepting the value is not a failure, only raw errors and crashes are. */
  readonly mustFail: boolean;
  readonly run: () => Promise<Outcome>;
}

export const EXPORTS = Object.keys(api)
  .filter((name) => typeof (api as Record<string, unknown>)[name] === "function" && name !== "KerasError")
  .sort();

/** Exports that are the same function under another name (rnn_cell_gru = layer_gru_cell). */
function aliasesOf(name: string): string[] {
  const f = (api as Record<string, unknown>)[name];
  return EXPORTS.filter((n) => (api as Record<string, unknown>)[n] === f);
}

const quietly = async <T>(f: () => T | Promise<T>): Promise<T> => {
  const { log, warn, error } = console;
  const emit = process.emitWarning;
  console.log = console.warn = console.error = () => undefined;
  process.emitWarning = () => undefined;
  try {
    return await f();
  } finally {
    Object.assign(console, { log, warn, error });
    process.emitWarning = emit;
  }
};

export async function outcomeOf(f: () => unknown): Promise<Outcome> {
  try {
    await quietly(f);
    return { kind: "ok" };
  } catch (e) {
    if (e instanceof KerasError) return { kind: "keras", fn: e.fn, message: e.message };
    const err = e as Error;
    return { kind: "raw", message: `${err?.name ?? typeof e}: ${err?.message ?? String(e)}` };
  }
}

/** Why `outcome` fails `c`, or null when it is what the case wants. */
export function verdict(c: Case, outcome: Outcome): string | null {
  switch (outcome.kind) {
    case "crash":
      return `crash: ${outcome.message}`;
    case "raw":
      return `raw error: ${outcome.message}`;
    case "ok":
      return c.mustFail ? "accepted silently" : null;
    case "keras": {
      if (!c.fns.includes(outcome.fn))
        return `KerasError names ${outcome.fn}(), not ${c.fns.join(" / ")}(): ${outcome.message}`;
      if (c.names.length && !c.names.some((n) => namesArgument(outcome.message, n)))
        return `KerasError does not name ${c.names.map((n) => `\`${n}\``).join(" or ")}: ${outcome.message}`;
      return null;
    }
  }
}

/** The message names argument `name` in backticks, alone or with an R index (`x[[2]]`, `validation_data$y`). */
function namesArgument(message: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`\`${escaped}(\\[\\[\\d+\\]\\]|\\$\\w+)*\``).test(message);
}

interface Discovered {
  readonly call: Call;
  /** Codecs of the record of named arguments, as decodeArgs saw them (null: not decoded by decodeArgs). */
  readonly props: Props | null;
  readonly baseline: Outcome;
}

/** Runs each valid call once, observing which codecs decode its record of named arguments. */
async function discover(name: string, fx: Fixtures): Promise<Discovered[]> {
  const sig = SIGNATURES[name];
  if (!sig) return [];
  const calls = [sig(fx)].flat();
  const out: Discovered[] = [];
  for (const call of calls) {
    const options = call.options !== undefined ? call.args[call.options] : undefined;
    let props: Props | null = null;
    const stop = observeDecoding((_fn, p, args) => {
      if (args === options && props === null) props = p;
    });
    let baseline: Outcome;
    try {
      baseline = await outcomeOf(() => run(name, call, call.args));
    } finally {
      stop();
    }
    out.push({ call, props, baseline });
  }
  return out;
}

async function run(name: string, call: Call, args: unknown[]): Promise<unknown> {
  const f = (api as Record<string, any>)[name];
  const result = await (call.invoke ? call.invoke(f, args) : f(...args));
  if (call.use) await call.use(result);
  return result;
}

/** Past every export's last parameter (fit's four are the most): where "an argument past the last" goes. */
const PAST_THE_LAST = 8;

/**
 * "An argument past the last" for every call of `name` (run for every export, not sampled): its valid
 * calls, then absent arguments up to past every parameter, then a record of named arguments; and the
 * same with every argument absent (for an export nobody described too). Each must be refused as an
 * unused argument, naming the export. (Right after a first record, the second argument of a dual
 * function is its data, refused as such: the sampled cases cover that.)
 */
export function pastTheLastCases(name: string, fx: Fixtures): Omit<Case, "id">[] {
  const f = (api as Record<string, any>)[name];
  const calls = (SIGNATURES[name] ? [SIGNATURES[name](fx)].flat() : []).filter((c) => !c.invoke);
  const out: Omit<Case, "id">[] = calls.map((call) => {
    const gap = Math.max(0, PAST_THE_LAST - call.args.length);
    return {
      exportName: name,
      description: `${call.label ? `${call.label}: ` : ""}an argument past the last`,
      risky: false,
      fns: [...aliasesOf(name), ...(call.alsoFn ?? [])],
      names: [],
      mustFail: true,
      run: () => outcomeOf(() => run(name, call, [...call.args, ...Array(gap).fill(undefined), { units: 1 }])),
    };
  });
  out.push({
    exportName: name,
    description: "absent arguments, then one past the last",
    risky: false,
    fns: aliasesOf(name),
    names: [],
    mustFail: true,
    run: () => outcomeOf(() => f(...Array(PAST_THE_LAST).fill(undefined), { units: 1 })),
  });
  return out;
}

/** Every case of one export, before sampling. */
function casesOf(name: string, discovered: readonly Discovered[], fx: Fixtures, rng: Random): Omit<Case, "id">[] {
  const fns = [...new Set([...aliasesOf(name)])];
  const out: Omit<Case, "id">[] = [];
  if (discovered.length === 0) return genericCases(name, fx);
  for (const { call, props } of discovered) {
    const prefix = call.label ? `${call.label}: ` : "";
    const callFns = [...fns, ...(call.alsoFn ?? [])];
    const add = (description: string, args: () => unknown[], names: readonly string[], risky = false) => {
      if (call.skip?.test(description)) return;
      out.push({
        exportName: name,
        description: prefix + description,
        risky,
        fns: callFns,
        names,
        mustFail: true,
        run: () => outcomeOf(() => run(name, call, args())),
      });
    };
    const withArg = (index: number, v: unknown) => {
      const a = [...call.args];
      a[index] = v;
      return a;
    };
    if (call.options !== undefined) {
      const k = call.options;
      const base = call.args[k] as Record<string, unknown>;
      if (props) {
        for (const [key, codec] of Object.entries(props as Props)) {
          const anything = call.anyValue?.includes(key);
          const values: readonly Bad[] = [...(valuesFor(codec.name, fx) ?? []), ...(anything ? [] : JUNK)].filter(
            (b) => call.trains || !b.whenTrained,
          );
          for (const b of values)
            add(`\`${key}\` = ${b.label}`, () => withArg(k, { ...base, [key]: b.make(fx) }), [key], b.risky);
        }
        // Two bad arguments at once: the one error names one of them (decoding lists both).
        const plain = (key: string) =>
          (valuesFor((props as Props)[key].name, fx) ?? []).filter((v) => !v.risky && (call.trains || !v.whenTrained));
        const keys = Object.keys(props as Props).filter((key) => plain(key).length);
        for (let i = 0; i < Math.min(3, keys.length); i++) {
          const [a, b] = rng.sample(keys, 2);
          if (!b) break;
          const [va, vb] = [rng.pick(plain(a)), rng.pick(plain(b))];
          add(
            `\`${a}\` = ${va.label} and \`${b}\` = ${vb.label}`,
            () => withArg(k, { ...base, [a]: va.make(fx), [b]: vb.make(fx) }),
            [a, b],
          );
        }
      }
      for (const key of PROTOTYPE_KEYS)
        add(`an argument named \`${key}\``, () => withArg(k, withKey(base, key, 1)), [key]);
      add("a misspelt argument", () => withArg(k, { ...base, zz_not_an_argument: 1 }), ["zz_not_an_argument"]);
      for (const b of NOT_RECORDS) add(`named arguments as ${b.label}`, () => withArg(k, b.make(fx)), []);
    }
    // A record of named arguments past the last argument: right after the record when the call ends with
    // it, else after `undefined`s (absent arguments) past every parameter.
    if (!call.invoke) {
      const gap = call.options === call.args.length - 1 ? 0 : Math.max(0, PAST_THE_LAST - call.args.length);
      add("an argument past the last", () => [...call.args, ...Array(gap).fill(undefined), { units: 1 }], []);
    }
    for (const p of call.positional ?? []) {
      for (const b of positionalValues(p.kind, call.args[p.index], fx))
        add(`\`${p.name}\` = ${b.label}`, () => withArg(p.index, b.make(fx)), [p.name], b.risky);
    }
    for (const e of call.extra ?? []) {
      add(
        e.label,
        () => {
          const a = [...call.args];
          if (e.options && call.options !== undefined)
            a[call.options] = {
              ...(a[call.options] as Record<string, unknown>),
              ...(typeof e.options === "function" ? e.options(fx) : e.options),
            };
          for (const [i, make] of Object.entries(e.args ?? {})) if (make) a[Number(i)] = make(fx);
          return a;
        },
        e.names,
        e.risky,
      );
    }
  }
  return out;
}

/**
 * An export nobody described: junk in each of its first positions must not raise a raw error or crash.
 * (No strings: an unknown function may take a file path.)
 */
export function genericCases(name: string, fx: Fixtures): Omit<Case, "id">[] {
  const f = (api as Record<string, any>)[name];
  const arity = Math.max(f.length, 1) + 1;
  const fillers: unknown[] = [fx.gruModel, fx.x3, fx.y1, {}];
  const junk = [...JUNK, ...NOT_RECORDS].filter((b) => typeof b.make(fx) !== "string");
  const out: Omit<Case, "id">[] = [];
  for (let i = 0; i < arity; i++) {
    for (const b of junk) {
      out.push({
        exportName: name,
        description: `generic: argument ${i + 1} = ${b.label}`,
        risky: false,
        fns: aliasesOf(name),
        names: [],
        mustFail: false,
        run: () => outcomeOf(() => f(...fillers.slice(0, i), b.make(fx))),
      });
    }
    for (const key of PROTOTYPE_KEYS) {
      out.push({
        exportName: name,
        description: `generic: argument ${i + 1} = a record with a key \`${key}\``,
        risky: false,
        fns: aliasesOf(name),
        names: [],
        mustFail: false,
        run: () => outcomeOf(() => f(...fillers.slice(0, i), withKey({}, key, 1))),
      });
    }
  }
  return out;
}

export interface Plan {
  readonly seed: number;
  readonly cases: readonly Case[];
  /** Baseline calls that failed (a signature out of date, or a bug in a valid call). */
  readonly baselineFailures: readonly string[];
  /** Exports with no signature (only generic cases), and calls whose record decodeArgs never saw. */
  readonly undescribed: readonly string[];
  readonly undecoded: readonly string[];
}

/**
 * The cases of `exports` (default all) for `seed`: every case when there are at most `target` of
 * them, else a seeded sample of `target` that keeps at least `perExport` cases of each export. Each
 * export draws from its own seeded sequence, so a case id (`export#index`) names the same case in a
 * plan of fewer exports (the child process plans only the exports of its cases).
 */
export async function planCases(
  fx: Fixtures,
  seed: number,
  target: number,
  exports: readonly string[] = EXPORTS,
  perExport = 12,
): Promise<Plan> {
  const baselineFailures: string[] = [];
  const undescribed: string[] = [];
  const undecoded: string[] = [];
  const byExport = new Map<string, Omit<Case, "id">[]>();
  for (const name of exports) {
    const discovered = await discover(name, fx);
    if (discovered.length === 0) undescribed.push(name);
    for (const d of discovered) {
      if (d.baseline.kind !== "ok")
        baselineFailures.push(`${name}${d.call.label ? ` (${d.call.label})` : ""}: ${JSON.stringify(d.baseline)}`);
      if (d.call.options !== undefined && d.props === null) undecoded.push(name);
    }
    byExport.set(name, casesOf(name, discovered, fx, new Random(seed, name)));
  }
  const rng = new Random(seed, "sample");
  const total = [...byExport.values()].reduce((n, l) => n + l.length, 0);
  const cases: Case[] = [];
  for (const [name, list] of byExport) {
    const keep = total <= target ? list.length : Math.max(perExport, Math.round((list.length * target) / total));
    const chosen = new Set(rng.sample([...list.keys()], keep));
    list.forEach((c, i) => {
      if (chosen.has(i)) cases.push({ ...c, id: `${name}#${i}` });
    });
  }
  return { seed, cases, baselineFailures, undescribed, undecoded };
}
