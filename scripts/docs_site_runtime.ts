/**
 * What a vignette's `import ... from "tskeras"` loads while the site is rendered (scripts/docs_site.ts):
 * the package itself, except that plot_history() and plot_model() also hand each SVG they draw to the
 * site, which shows it under the block that drew it (as knitr shows a chunk's plots).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { plot_history as plotHistory, plot_model as plotModel } from "../src/index.js";

export * from "../src/index.js";

/** Starts the lines of this process's output that are markers for the renderer, not the vignette's output. */
const MARKER = process.env.TSKERAS_SITE_MARKER ?? "";

let figures = 0;

/** Writes `svg` as the next figure of this vignette and marks its place in the output. */
function figure(svg: string): void {
  const dir = process.env.TSKERAS_SITE_FIGURES;
  if (!dir || !MARKER) return;
  const name = `${process.env.TSKERAS_SITE_PREFIX ?? "figure"}-${++figures}.svg`;
  writeFileSync(join(dir, name), svg);
  process.stdout.write(`${MARKER} figure ${name}\n`);
}

/** Marks the start of block `index`'s output. */
export function beginBlock(index: number): void {
  if (MARKER) process.stdout.write(`${MARKER} block ${index}\n`);
}

export async function plot_history(...args: Parameters<typeof plotHistory>): ReturnType<typeof plotHistory> {
  const svg = await plotHistory(...args);
  figure(svg);
  return svg;
}

export async function plot_model(...args: Parameters<typeof plotModel>): ReturnType<typeof plotModel> {
  const svg = await plotModel(...args);
  figure(svg);
  return svg;
}
