/**
 * Bad values by the kind of argument they are given to. A named argument's kind comes from its codec's
 * description ("a positive integer", `one of "a", "b"`, "... or null"); a positional argument's kind
 * is declared in signatures.ts. Every value here is wrong for its kind, so a call that accepts it has
 * let a bad value through. `risky` values may allocate without bound: their cases run in a child
 * process with a timeout.
 */
import type { Fixtures } from "./fixtures.js";

export interface Bad {
  readonly label: string;
  readonly make: (fx: Fixtures) => unknown;
  readonly risky?: boolean;
  /** Only bad once training runs it (a regularizer or constraint function returning junk). */
  readonly whenTrained?: boolean;
}

const bad = (label: string, make: (fx: Fixtures) => unknown, risky = false): Bad => ({ label, make, risky });
const value = (v: unknown, label = String(v)): Bad => bad(label, () => v);
const risky = (v: unknown, label = String(v)): Bad => bad(label, () => v, true);

class Junk {
  a = 1;
}

/** Wrong for every kind of argument (but those that take anything). */
export const JUNK: readonly Bad[] = [
  bad("a symbol", () => Symbol("junk")),
  bad("a BigInt", () => 10n),
  bad("a Map", () => new Map([["a", 1]])),
  bad("a Set", () => new Set([1])),
  bad("a Date", () => new Date(0)),
  bad("a RegExp", () => /x/),
  bad("a class instance", () => new Junk()),
  bad("a cyclic record", () => {
    const o: Record<string, unknown> = { a: 1 };
    o.self = o;
    return o;
  }),
  bad("a cyclic array", () => {
    const a: unknown[] = [1];
    a.push(a);
    return a;
  }),
  bad("a WeakMap", () => new WeakMap()),
];

/** Option names that shadow Object.prototype members (and `__proto__` as JSON.parse makes it). */
export const PROTOTYPE_KEYS = [
  "constructor",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "isPrototypeOf",
  "__defineGetter__",
  "__proto__",
];

const NUMBER_JUNK = [value("1", '"1"'), value(true), value(null), value([1], "[1]"), value(NaN), value(Infinity)];
/** Integers beyond int32 (R's integers): refused before anything is allocated. */
const HUGE_INTS = [risky(2 ** 31, "2^31"), risky(1e12), risky(2 ** 53, "2^53"), risky(1e300)];

const KINDS: Record<string, readonly Bad[]> = {
  "a positive integer": [value(0), value(-1), value(1.5), ...NUMBER_JUNK, ...HUGE_INTS],
  "a non-negative integer": [value(-1), value(0.5), ...NUMBER_JUNK, ...HUGE_INTS],
  "an integer": [value(1.5), ...NUMBER_JUNK, risky(2 ** 31, "2^31"), risky(-(2 ** 31) - 1, "-2^31-1")],
  "a finite number": [...NUMBER_JUNK, value(-Infinity)],
  "a positive number": [value(0), value(-1), ...NUMBER_JUNK],
  "a non-negative number": [value(-1), value(-1e-9), ...NUMBER_JUNK],
  "a number in [0, 1)": [value(1), value(-0.1), value(1.5), ...NUMBER_JUNK],
  "TRUE or FALSE (a boolean)": [
    value("yes", '"yes"'),
    value("TRUE", '"TRUE"'),
    value(1),
    value(0),
    value(null),
    value([true], "[true]"),
  ],
  "a string": [value(1), value(null), value(["a"], '["a"]'), value({}, "{}"), value(true)],
  "an integer in [0, 2^32)": [value(-1), value(1.5), value(2 ** 32, "2^32"), ...NUMBER_JUNK],
  seed: [value(-1), value(1.5), value(2 ** 32, "2^32"), ...NUMBER_JUNK],
  "a file path (a non-empty string)": [value("", '""'), value(1), value(null), value(["a.csv"], '["a.csv"]')],
  "a function": [value(1), value("f", '"f"'), value({}, "{}"), value(null), value([() => 1], "[a function]")],
  "a record of named arguments": [
    value([1], "[1]"),
    value("x", '"x"'),
    value(1),
    bad("a Map", () => new Map([["a", 1]])),
    bad("a Date", () => new Date(0)),
    bad("a class instance", () => new Junk()),
  ],
  // Call options of a layer value: no baseline uses them, so none of these fits any layer.
  "a mask tensor": [
    value([[1, 1, 1, 1, 1, 1, 1]], "a (1, 7) mask (another shape)"),
    value("a", '"a"'),
    bad("a BigInt64Array", () => BigInt64Array.of(1n)),
    value([["a"]], '[["a"]]'),
  ],
  "a list of state tensors": [
    value([[[1, 2, 3]]], "a state of shape (1, 3)"),
    value("a", '"a"'),
    value([["a"]], '[["a"]]'),
  ],
  "a list of constant tensors": [value([[[1]]], "a (1, 1) constant"), value("a", '"a"')],
  "a positive integer or a non-empty list of them": [
    value(0),
    value([], "[]"),
    value([0], "[0]"),
    value([1.5], "[1.5]"),
    value("1", '"1"'),
  ],
  "null, an integer or a vector of integers": [
    value(1.5),
    value("1", '"1"'),
    value([1.5], "[1.5]"),
    value([1, 1], "[1, 1]"),
  ],
  "a vector of class indices": [value([-1], "[-1]"), value([1.5], "[1.5]"), value("0", '"0"'), value([null], "[null]")],
  "a shape: a vector of positive integers or null": [
    value([0], "[0]"),
    value([-1], "[-1]"),
    value([1.5], "[1.5]"),
    value(["2"], '["2"]'),
    value("3", '"3"'),
    value({}, "{}"),
    risky([2 ** 31], "[2^31]"),
    risky([1e12], "[1e12]"),
  ],
};

/** Callables that return junk: bad as soon as they are used. */
const junkCallables = (fx: Fixtures): Bad[] => [
  bad("a function returning undefined", () => () => undefined),
  bad("a function returning a string", () => () => "a"),
  bad("a function that throws", () => () => {
    throw new Error("boom");
  }),
  bad("a function returning a plain array", () => () => [1, 2]),
  bad("a function returning a tensor of another shape", () => () => fx.tf.ones([7])),
];

/** Wrong for every spec argument (activation, initializer, ...): unknown and prototype names, junk records. */
const SPEC_JUNK: readonly Bad[] = [
  value("bogus", '"bogus"'),
  ...PROTOTYPE_KEYS.map((n) => value(n, JSON.stringify(n))),
  value(1),
  value({}, "{}"),
];

/** A Keras `{ class_name, config }` record. */
const config = (class_name: string, config: unknown) =>
  value({ class_name, config }, JSON.stringify({ class_name, config }));

const trained = (values: Bad[]): Bad[] => values.map((b) => ({ ...b, whenTrained: true }));

export function activationValues(fx: Fixtures): Bad[] {
  return [...SPEC_JUNK, value({ fn: 1 }, "{ fn: 1 }"), ...junkCallables(fx)];
}

export function initializerValues(): Bad[] {
  return [
    ...SPEC_JUNK,
    config("Bogus", {}),
    config("constructor", {}),
    config("Constant", { value: "abc" }),
    config("VarianceScaling", { mode: "bogus" }),
    config("VarianceScaling", { scale: -1 }),
    config("RandomNormal", { stddev: -1 }),
    config("RandomUniform", { minval: "a" }),
    config("Zeros", { bogus: 1 }),
    config("Zeros", "x"),
    config("Orthogonal", { gain: null }),
    bad("a function returning undefined", () => () => undefined),
    bad("a function returning too few values", () => () => [1]),
    bad(
      "a function returning strings",
      () => (shape: number[]) => new Array(shape.reduce((a, b) => a * b, 1)).fill("a"),
    ),
    bad("a function that throws", () => () => {
      throw new Error("boom");
    }),
    bad("a function returning a number", () => () => 1),
  ];
}

export function regularizerValues(fx: Fixtures): Bad[] {
  return [
    ...SPEC_JUNK,
    config("L1", { l1: -1 }),
    config("L2", { l2: "x" }),
    config("L1L2", { l1: NaN }),
    config("Bogus", {}),
    config("L1", "x"),
    ...trained(junkCallables(fx)),
  ];
}

export function constraintValues(fx: Fixtures): Bad[] {
  return [
    ...SPEC_JUNK,
    config("Bogus", {}),
    config("MaxNorm", { max_value: -1 }),
    config("MaxNorm", { max_value: "x" }),
    config("UnitNorm", { axis: 1.5 }),
    config("MinMaxNorm", { rate: "x" }),
    ...trained(junkCallables(fx)),
  ];
}

/** "a positive integer or a vector of n of them" (kernel sizes, strides). */
function intTupleValues(description: string): Bad[] | undefined {
  const m = /^a positive integer or a vector of (\d+) of them$/.exec(description);
  if (!m) return undefined;
  const n = Number(m[1]);
  return [
    value(0),
    value(-1),
    value(1.5),
    value(Array(n + 1).fill(1), `a vector of ${n + 1}`),
    value(Array(n).fill(0), `a vector of ${n} zeros`),
    value(["1"], '["1"]'),
    value("1", '"1"'),
    risky(2 ** 31, "2^31"),
    risky(Array(n).fill(1e12), `a vector of ${n} x 1e12`),
  ];
}

/** `one of "a", "b"` → its values. */
function enumValues(description: string): string[] | undefined {
  const m = /^one of (.*)$/.exec(description);
  if (!m) return undefined;
  try {
    return JSON.parse(`[${m[1]}]`);
  } catch {
    return undefined;
  }
}

/**
 * Bad values for a codec described as `description`; undefined when the description is not one this
 * file knows (such arguments get the JUNK values only).
 */
export function valuesFor(description: string, fx: Fixtures): readonly Bad[] | undefined {
  if (KINDS[description]) return KINDS[description];
  const bounded = /^a positive integer of at most (\d+)/.exec(description);
  if (bounded) return [value(0), value(1.5), value(Number(bounded[1]) + 1), ...NUMBER_JUNK, ...HUGE_INTS];
  const range = /^an integer in \[(-?\d+), (\d+)\]/.exec(description);
  if (range)
    return [value(Number(range[1]) - 1), value(Number(range[2]) + 1), value(1.5), ...NUMBER_JUNK, ...HUGE_INTS];
  // "a number in [0, 1]", "a number in (0, 1]": each bound's wrong side (an open bound is itself wrong).
  const interval = /^a number in ([[(])(-?[\d.]+), (-?[\d.]+)\]$/.exec(description);
  if (interval) {
    const [low, high] = [Number(interval[2]), Number(interval[3])];
    return [value(interval[1] === "(" ? low : low - 0.5), value(high + 0.5), ...NUMBER_JUNK];
  }
  const tuple = intTupleValues(description);
  if (tuple) return tuple;
  const nullable = /^(.*) or null$/.exec(description);
  if (nullable) {
    const inner = valuesFor(nullable[1], fx);
    return inner?.filter((b) => b.make(fx) !== null);
  }
  const values = enumValues(description);
  if (values) {
    const wrong = [
      "bogus",
      "",
      "constructor",
      "toString",
      ...values.map((v) => v.toUpperCase()),
      ...values.map((v) => ` ${v}`),
    ];
    return [...wrong.filter((w) => !values.includes(w)).map((w) => value(w, JSON.stringify(w))), value(1), value(null)];
  }
  if (description.startsWith("an activation name")) return activationValues(fx);
  if (description.startsWith("an initializer name")) return initializerValues();
  if (description.startsWith("a regularizer")) return regularizerValues(fx);
  if (description.startsWith("a constraint")) return constraintValues(fx);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Positional arguments

/** A deep copy of nested arrays with the first number replaced. */
function replaceFirstLeaf(data: unknown, leaf: unknown): unknown {
  if (!Array.isArray(data)) return leaf;
  return data.map((x, i) => (i === 0 ? replaceFirstLeaf(x, leaf) : structuredClone(x)));
}

/** A deep copy with the last row one element short (a vector: its first element made a vector). */
function ragged(data: unknown): unknown {
  if (!Array.isArray(data)) return data;
  if (!Array.isArray(data[0])) return [[data[0]], ...data.slice(1)];
  const copy = structuredClone(data) as unknown[][];
  let row = copy as unknown[];
  while (Array.isArray(row[row.length - 1]) && Array.isArray((row[row.length - 1] as unknown[])[0]))
    row = row[row.length - 1] as unknown[];
  (row[row.length - 1] as unknown[]).pop();
  return copy;
}

/** Bad data, derived from the valid `data` of the call. */
export function dataValues(valid: unknown): Bad[] {
  return [
    bad("a BigInt64Array", () => BigInt64Array.of(1n, 2n, 3n, 4n)),
    bad("a string tensor", (fx) => fx.tf.tensor(["a", "b", "c", "d"])),
    bad("a disposed tensor", (fx) => {
      const t = fx.tf.tensor(valid as number[]);
      t.dispose();
      return t;
    }),
    bad("a string inside", () => replaceFirstLeaf(valid, "a")),
    bad("a numeric string inside", () => replaceFirstLeaf(valid, "1")),
    bad("null inside", () => replaceFirstLeaf(valid, null)),
    bad("undefined inside", () => replaceFirstLeaf(valid, undefined)),
    bad("an array where a number belongs", () => replaceFirstLeaf(valid, [1])),
    bad("a ragged array", () => ragged(valid)),
    bad("a sparse array", () => {
      const copy = structuredClone(valid) as unknown[];
      delete copy[0];
      return copy;
    }),
    bad("a { data, shape } record with too few values", () => ({ data: [1, 2], shape: [3] })),
    bad("a { data, shape } record of strings", () => ({ data: "abc", shape: [3] })),
    bad("a string", () => "x"),
    ...JUNK,
  ];
}

export function labelValues(valid: unknown, classes = 3): Bad[] {
  return [
    bad(`label ${classes} (out of range)`, () => replaceFirstLeaf(valid, classes)),
    bad("label -1", () => replaceFirstLeaf(valid, -1)),
    bad("label 99", () => replaceFirstLeaf(valid, 99)),
    bad("label NaN", () => replaceFirstLeaf(valid, NaN)),
    ...dataValues(valid),
  ];
}

/** Objects of the wrong kind: nothing, an empty record, junk, and `others`. */
const wrong = (...others: Bad[]): Bad[] => [
  value(null),
  value(undefined, "undefined"),
  value({}, "{}"),
  ...others,
  ...JUNK,
];

/** Bad values for a positional argument of `kind`, given its valid value. */
export function positionalValues(kind: string, valid: unknown, fx: Fixtures): readonly Bad[] {
  const api = fx.api;
  switch (kind) {
    case "data":
      return dataValues(valid);
    case "integer tokens": // int64 tokens are layer_integer_lookup's own (Keras's vocabulary_dtype "int64")
      return dataValues(valid).filter((b) => b.label !== "a BigInt64Array");
    case "samples":
      return [bad("no samples", () => []), ...dataValues(valid)];
    case "labels":
      return labelValues(valid);
    case "indices":
      return [
        bad("index 5 (input_dim 5)", () => replaceFirstLeaf(valid, 5)),
        bad("index -1", () => replaceFirstLeaf(valid, -1)),
        bad("index 1e9", () => replaceFirstLeaf(valid, 1e9)),
        ...dataValues(valid),
      ];
    case "model or layer":
      return wrong(bad("data", (f) => f.x4));
    case "model":
      return wrong(
        bad("a layer", () => api.layer_dense({ units: 1 })),
        bad("data", (f) => f.x4),
      );
    case "layer":
      return wrong(
        bad("a dense layer", () => api.layer_dense({ units: 1 })),
        bad("a model", (f) => f.gruModel),
      );
    case "cell":
      return wrong(
        bad("a dense layer", () => api.layer_dense({ units: 1 })),
        bad("a GRU layer", () => api.layer_gru({ units: 1 })),
      );
    case "history":
      return wrong(
        value([], "[]"),
        value({ metrics: {}, params: {} }, "a fake history"),
        bad("a model", (f) => f.gruModel),
      );
    case "weights": {
      const list = valid as unknown[];
      return [
        bad("one array short", () => list.slice(0, -1)),
        bad("one array too many", () => [...list, [1]]),
        bad("strings in the first array", () => [replaceFirstLeaf(list[0], "a"), ...list.slice(1)]),
        bad("null in the first array", () => [replaceFirstLeaf(list[0], null), ...list.slice(1)]),
        bad("a ragged first array", () => [ragged(list[0]), ...list.slice(1)]),
        bad("a BigInt64Array first", () => [BigInt64Array.of(1n), ...list.slice(1)]),
        value(null),
        value({}, "{}"),
        ...JUNK,
      ];
    }
    case "states":
      return [
        bad("a state of the wrong shape", () => [[[1, 2, 3]]]),
        bad("strings", () => [
          [
            ["a", "b"],
            ["c", "d"],
          ],
        ]),
        bad("null inside", () => [
          [
            [null, 1],
            [1, 1],
          ],
        ]),
        bad("a ragged state", () => [[[1, 2], [1]]]),
        bad("an empty list", () => []),
        value({}, "{}"),
        ...JUNK,
      ];
    case "config":
      return [
        value({}, "{}"),
        value(null),
        value("x", '"x"'),
        value({ class_name: "Bogus", config: {} }, "an unknown class"),
        value({ class_name: "constructor", config: {} }, "class constructor"),
        value({ class_name: "toString", config: {} }, "class toString"),
        value({ class_name: "Dense", config: { units: -1 } }, "Dense with units -1"),
        value({ class_name: "Dense", config: { units: 2, activation: "bogus" } }, "Dense with activation bogus"),
        value(
          { class_name: "Dense", config: { units: 2, kernel_initializer: { class_name: "Bogus", config: {} } } },
          "Dense with an unknown initializer",
        ),
        value({ class_name: "Dense", config: { units: 2, constructor: 1 } }, "Dense with a key constructor"),
        value({ name: "m", layers: "x" }, "layers a string"),
        value({ name: "m", layers: [null] }, "layers [null]"),
        value(
          {
            class_name: "Sequential",
            config: { name: "m", layers: [{ class_name: "Dense", config: { units: "a" } }] },
          },
          "a Sequential with a bad Dense",
        ),
        ...JUNK,
      ];
    case "function":
      return [value(1), value("f", '"f"'), value({}, "{}"), value(null), ...JUNK];
    case "name":
      return [
        value(""),
        value("bogus", '"bogus"'),
        value("constructor", '"constructor"'),
        value(1),
        value(null),
        value({}, "{}"),
        ...JUNK,
      ];
    case "dtype":
      return [
        value(""),
        value("bogus", '"bogus"'),
        value("float33", '"float33"'),
        value("constructor", '"constructor"'),
        value(1),
        value({}, "{}"),
        ...JUNK,
      ];
    case "path":
      return [value("", '""'), value(1), value(null), value({}, "{}"), ...JUNK];
    case "sequences": {
      const list = valid as unknown[];
      return [
        bad("a string inside", () => replaceFirstLeaf(valid, "a")),
        bad("null inside", () => replaceFirstLeaf(valid, null)),
        bad("undefined inside", () => replaceFirstLeaf(valid, undefined)),
        bad("a sparse list", () => {
          const copy = structuredClone(list);
          delete copy[0];
          return copy;
        }),
        bad("a sparse sequence", () => {
          const copy = structuredClone(list) as unknown[][];
          delete copy[copy.length - 1][0];
          return copy;
        }),
        bad("a string as a sequence", () => ["abc", ...list.slice(1)]),
        bad("a BigInt64Array as a sequence", () => [BigInt64Array.of(1n), ...list.slice(1)]),
        bad("a string tensor", (fx) => fx.tf.tensor([["a"]])),
        bad("a disposed tensor", (fx) => {
          const t = fx.tf.tensor([[1]]);
          t.dispose();
          return t;
        }),
        value("x", '"x"'),
        value(null),
        value({}, "{}"),
        ...JUNK,
      ];
    }
    case "class indices":
      return [
        bad("class -1", () => replaceFirstLeaf(valid, -1)),
        bad("class 1.5", () => replaceFirstLeaf(valid, 1.5)),
        bad("class NaN", () => replaceFirstLeaf(valid, NaN)),
        bad("class Infinity", () => replaceFirstLeaf(valid, Infinity)),
        ...dataValues(valid),
      ];
    case "texts":
      return [
        value(1),
        value(null),
        value([1], "[1]"),
        value(["a", 1], '["a", 1]'),
        value([["a", 1]], '[["a", 1]]'),
        bad("a sparse list", () => {
          const a = ["a", "b"];
          delete a[0];
          return a;
        }),
        value({}, "{}"),
        ...JUNK,
      ];
    case "tokenizer":
      return wrong(
        bad("a copy of a tokenizer", (fx) => ({ ...fx.tokenizer })),
        bad("a model", (fx) => fx.gruModel),
      );
    case "bytes":
      return [value("x", '"x"'), value(1), bad("a Float32Array", () => new Float32Array(4)), ...wrong()];
    case "json":
      return [value(1), value(null), value({}, "{}"), bad("a Uint8Array", () => new Uint8Array(2)), ...JUNK];
    default: {
      const known = KINDS[kind];
      if (!known) throw new Error(`fuzz: no bad values for positional kind ${kind}`);
      return [...known, ...JUNK];
    }
  }
}

/** A record of arguments with `key` set, `__proto__` included as an own key. */
export function withKey(record: Record<string, unknown>, key: string, v: unknown): Record<string, unknown> {
  if (key === "__proto__") return { ...JSON.parse(`{"__proto__": ${JSON.stringify(v) ?? "1"}}`), ...record };
  return { ...record, [key]: v };
}

/** Things that are not a record of named arguments. */
export const NOT_RECORDS: readonly Bad[] = [
  bad("a Map of the arguments", () => new Map([["units", 2]])),
  bad("an array", () => [1]),
  bad("a string", () => "x"),
  bad("a number", () => 3),
  bad("a Date", () => new Date(0)),
  bad("a class instance", () => new Junk()),
  bad("a symbol", () => Symbol("junk")),
];
