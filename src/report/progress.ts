/**
 * Keras 3's progress bar (`keras.utils.Progbar`), text for text:
 *   verbose 1 (TTY, redrawn in place): `32/32 ━━━━━━━━━━━━━━━━━━━━ 1s 31ms/step - loss: 0.0313 - mae: 0.0520`
 *   verbose 2 (one line per epoch):     `32/32 - 1s - 31ms/step - loss: 0.0313 - mae: 0.0520`
 * The clock and the writer are injectable so the text can be tested.
 */

export interface ProgressIO {
  /** Writes text as is (no newline added). */
  readonly write: (text: string) => void;
  /** Seconds, monotonic. */
  readonly now: () => number;
}

export const defaultProgressIO: ProgressIO = {
  write: (text) => void process.stdout.write(text),
  now: () => performance.now() / 1000,
};

const BAR_WIDTH = 20;
const BOLD = "\x1b[1m";
const RESET = "\x1b[0m";
const GREEN = "\x1b[32m";
const DIM = "\x1b[37m";

/** Python's `%.4e` (two-digit exponent): 1.2340e-04. */
function exponential4(v: number): string {
  const [mantissa, exp] = v.toExponential(4).split("e");
  const sign = exp.startsWith("-") ? "-" : "+";
  const digits = exp.replace(/^[+-]/, "");
  return `${mantissa}e${sign}${digits.padStart(2, "0")}`;
}

/** A log value as Keras prints it: `%.4f`, or `%.4e` when |v| < 1e-3 (and not 0 exactly printed as 0.0000e+00). */
export function formatLogValue(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  return Math.abs(v) > 1e-3 ? v.toFixed(4) : exponential4(v);
}

/** Keras's `_format_time`: ` 1s/step`, ` 31ms/step`, ` 250us/step`. */
export function formatTimePerUnit(seconds: number, unit = "step"): string {
  if (seconds >= 1 || seconds === 0) return ` ${Math.round(seconds)}s/${unit}`;
  if (seconds >= 1e-3) return ` ${Math.round(seconds * 1000)}ms/${unit}`;
  return ` ${Math.round(seconds * 1e6)}us/${unit}`;
}

function formatEta(eta: number): string {
  if (eta > 3600)
    return `${Math.floor(eta / 3600)}:${String(Math.floor((eta % 3600) / 60)).padStart(2, "0")}:${String(Math.floor(eta % 60)).padStart(2, "0")}`;
  if (eta > 60) return `${Math.floor(eta / 60)}:${String(Math.floor(eta % 60)).padStart(2, "0")}`;
  return `${Math.floor(eta)}s`;
}

const metricsText = (values: readonly [string, number][]) =>
  values.map(([k, v]) => ` - ${k}: ${formatLogValue(v)}`).join("");

export class Progbar {
  private readonly start: number;
  private timeAfterFirstStep: number | null = null;
  private lastUpdate = 0;
  private prevWidth = 0;
  private seenSoFar = 0;

  constructor(
    readonly target: number,
    readonly verbose: 1 | 2,
    private readonly io: ProgressIO = defaultProgressIO,
    /** Minimum seconds between redraws in verbose 1. */
    private readonly interval = 0.05,
    /** TRUE to redraw in place (a terminal); FALSE prints each update on a new line. */
    private readonly dynamic = true,
  ) {
    this.start = io.now();
  }

  /** Keras's `_estimate_step_duration`: the first step (compilation, warm-up) is left out once possible. */
  private timePerUnit(current: number, now: number): number {
    if (!current) return 0;
    if (this.timeAfterFirstStep !== null && current > 1) return (now - this.timeAfterFirstStep) / (current - 1);
    if (current >= 1) this.timeAfterFirstStep = now;
    return (now - this.start) / current;
  }

  update(current: number, values: readonly [string, number][], finalize = false): void {
    const now = this.io.now();
    const timePerUnit = this.timePerUnit(current, now);
    if (current > this.seenSoFar) this.seenSoFar = current;
    const digits = String(this.target).length;
    const count = `${String(current).padStart(digits)}/${this.target}`;
    if (this.verbose === 2) {
      if (finalize)
        this.io.write(
          `${count} - ${Math.round(now - this.start)}s -${formatTimePerUnit(timePerUnit)}${metricsText(values)}\n`,
        );
      return;
    }
    if (now - this.lastUpdate < this.interval && !finalize) return;
    this.lastUpdate = now;
    const done = Math.floor((BAR_WIDTH * current) / this.target);
    const bar =
      `${BOLD}${count}${RESET} ` +
      (done > 0 ? `${GREEN}${"━".repeat(done)}${RESET}` : "") +
      `${DIM}${"━".repeat(BAR_WIDTH - done)}${RESET}`;
    const time = finalize ? `${Math.round(now - this.start)}s` : formatEta(timePerUnit * (this.target - current));
    const info = ` ${BOLD}${time}${RESET}${formatTimePerUnit(timePerUnit)}${metricsText(values)}`;
    const width = visibleLength(bar) + visibleLength(info);
    let message = this.dynamic ? "\r" : "\n";
    message += bar + info;
    if (this.prevWidth > width) message += " ".repeat(this.prevWidth - width);
    if (finalize) message += "\n";
    this.prevWidth = width;
    this.io.write(message);
  }
}

/** Length of `s` as displayed (ANSI colour codes removed). */
export function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex -- ANSI escape sequences are what is being removed
  return s.replace(/\x1b\[[0-9;]*m/g, "").length;
}

/** TRUE under a test runner (mocha): "auto" verbosity is then silent. */
export function underTestRunner(): boolean {
  const g = globalThis as Record<string, unknown>;
  return (
    (typeof g.describe === "function" && typeof g.it === "function") ||
    process.argv.some((a) => /(^|[\\/])_?mocha(\.js)?$/.test(a))
  );
}

/** Keras's verbose = "auto": 1 on a terminal, 2 otherwise, 0 under the test runner. */
export function resolveVerbose(v: 0 | 1 | 2 | "auto"): 0 | 1 | 2 {
  if (v !== "auto") return v;
  if (underTestRunner()) return 0;
  return process.stdout.isTTY ? 1 : 2;
}
