/**
 * Training history: a frozen value like R's `keras_training_history` (`params`, `metrics`), printed
 * R's way and reshaped to long rows for plotting.
 */
import { inspect } from "node:util";
import { KerasError, describeValue } from "../errors.js";
import { refuseArgumentsPast } from "../args.js";

export const HISTORY_BRAND = Symbol.for("tskeras.history");

export interface HistoryParams {
  readonly epochs: number;
  readonly steps: number;
  readonly verbose: number;
}

export interface History {
  readonly [HISTORY_BRAND]: true;
  readonly params: HistoryParams;
  /** 0-based indices of the epochs run (Keras's `history.epoch`). */
  readonly epoch: readonly number[];
  /** One value per epoch run, by log name (`loss`, `mae`, `val_loss`, ...). */
  readonly metrics: Readonly<Record<string, readonly number[]>>;
  /** R's print(history). */
  toString(): string;
}

export interface HistoryRow {
  /** 1-based epoch, as in R. */
  readonly epoch: number;
  readonly value: number;
  readonly metric: string;
  readonly data: "training" | "validation";
}

export function isHistory(x: unknown): x is History {
  return x !== null && typeof x === "object" && (x as any)[HISTORY_BRAND] === true;
}

/**
 * R keras's history print: `prettyNum(value, format = "fg", digits = 4)`, i.e. 4 significant digits in
 * fixed notation without trailing zeros (0.04196, 0.9878, 12.35, 1235).
 */
function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "Inf" : "-Inf";
  if (v === 0) return "0";
  const magnitude = Math.floor(Math.log10(Math.abs(v)));
  const decimals = Math.max(0, 3 - magnitude);
  const rounded = Number(v.toPrecision(4));
  const s = rounded.toFixed(Math.min(decimals, 100));
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

function formatHistory(metrics: Readonly<Record<string, readonly number[]>>): string {
  const names = Object.keys(metrics).filter((k) => metrics[k].length > 0);
  if (names.length === 0) return "Final epoch (plot to see history):\n(no epochs were run)";
  const width = Math.max(...names.map((n) => n.length));
  const lines = names.map((n) => `${n.padStart(width)}: ${formatNumber(metrics[n][metrics[n].length - 1])}`);
  return ["Final epoch (plot to see history):", ...lines].join("\n");
}

export function makeHistory(
  params: HistoryParams,
  epochs: readonly number[],
  metrics: Record<string, number[]>,
): History {
  const frozenMetrics = Object.freeze(
    Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, Object.freeze([...v])])),
  );
  const h = {
    [HISTORY_BRAND]: true as const,
    params: Object.freeze({ ...params }),
    epoch: Object.freeze([...epochs]),
    metrics: frozenMetrics,
    toString: () => formatHistory(frozenMetrics),
  };
  Object.defineProperty(h, inspect.custom, { value: () => formatHistory(frozenMetrics) });
  return Object.freeze(h);
}

function checkHistory(fn: string, x: unknown): asserts x is History {
  if (!isHistory(x)) throw new KerasError(fn, `\`x\` must be the history returned by fit(), got ${describeValue(x)}`);
}

/**
 * R's print(history): prints and returns the text.
 *
 * @example
 * console.log(print_history(history));
 */
export function print_history(history: History): string {
  refuseArgumentsPast("print_history", ["history"], arguments);
  checkHistory("print_history", history);
  const text = history.toString();
  console.log(text);
  return text;
}

/**
 * R's as.data.frame(history): long rows {epoch, value, metric, data}, training metrics then validation.
 *
 * @example
 * const rows = as_data_frame(history); // [{ epoch: 1, metric: "loss", value: ..., data: "training" }, ...]
 */
export function as_data_frame(history: History): HistoryRow[] {
  refuseArgumentsPast("as_data_frame", ["history"], arguments);
  checkHistory("as_data_frame", history);
  const rows: HistoryRow[] = [];
  const names = Object.keys(history.metrics);
  const ordered = [...names.filter((n) => !n.startsWith("val_")), ...names.filter((n) => n.startsWith("val_"))];
  for (const name of ordered) {
    const validation = name.startsWith("val_");
    const metric = validation ? name.slice(4) : name;
    history.metrics[name].forEach((value, i) =>
      rows.push(
        Object.freeze({ epoch: history.epoch[i] + 1, value, metric, data: validation ? "validation" : "training" }),
      ),
    );
  }
  return rows;
}
