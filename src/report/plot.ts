/**
 * `plot_history(history, { file })`: R's plot(history) as an SVG drawn by vega-lite (imported lazily):
 * one panel per metric stacked vertically, training and validation as two series, epochs on x. A `.png`
 * file is rendered from the SVG by resvg (the optional dependency @resvg/resvg-js) with the bundled
 * DejaVu Sans fonts, so it looks the same on every machine.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../io/atomic.js";
import { KerasError } from "../errors.js";
import { FilePath, PositiveIntAtMost, decodeArgs, refuseArgumentsPast } from "../args.js";
import { as_data_frame, isHistory, type History } from "./history.js";
import { describeValue } from "../errors.js";

/** The widest canvas side browsers draw; a panel side beyond it is refused. */
const MAX_SIDE = 16384;
/**
 * The most pixels a PNG may have (2^26, 256 MiB of RGBA while resvg draws it, and seconds of work):
 * far beyond screen or print plots; resvg allocates any size asked and the process dies of it.
 */
const MAX_PNG_PIXELS = 2 ** 26;

const Pixels = PositiveIntAtMost(MAX_SIDE, "pixels");

const PLOT_PROPS = {
  file: FilePath,
  width: Pixels,
  height: Pixels,
};

/** The vega-lite specification of the history plot (exported for inspection and custom rendering). */
export function historyPlotSpec(
  history: History,
  args: { width?: number; height?: number } = {},
): Record<string, unknown> {
  const rows = as_data_frame(history);
  const metrics = [...new Set(rows.map((r) => r.metric))];
  const width = args.width ?? 480;
  const height = args.height ?? 160;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    background: "white",
    data: { values: rows.map((r) => ({ ...r })) },
    vconcat: metrics.map((metric) => ({
      title: metric,
      width,
      height,
      transform: [{ filter: { field: "metric", equal: metric } }],
      encoding: {
        x: { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1, format: "d" } },
        y: { field: "value", type: "quantitative", title: metric, scale: { zero: false } },
        color: { field: "data", type: "nominal", title: null, scale: { domain: ["training", "validation"] } },
      },
      layer: [{ mark: { type: "line" } }, { mark: { type: "point", filled: true } }],
    })),
    resolve: { scale: { color: "shared" } },
  };
}

/**
 * Renders the history plot as SVG text; with `file`, also writes it there (atomically: a temporary
 * file, then rename) and returns the SVG.
 *
 * @example
 * await plot_history(history, { file: "history.svg" });
 */
export async function plot_history(
  history: History,
  args: { file?: string; width?: number; height?: number } = {},
): Promise<string> {
  const fn = "plot_history";
  refuseArgumentsPast(fn, ["history", "args"], arguments);
  if (!isHistory(history))
    throw new KerasError(fn, `\`x\` must be the history returned by fit(), got ${describeValue(history)}`);
  const a = decodeArgs(fn, PLOT_PROPS, args, {});
  if (a.file && !/\.(svg|png)$/i.test(a.file))
    throw new KerasError(fn, `\`file\` must end in .svg or .png, got ${JSON.stringify(a.file)}`, "io");
  if (Object.values(history.metrics).every((v) => v.length === 0))
    throw new KerasError(fn, "the history has no epochs to plot");
  let vega: typeof import("vega");
  let vegaLite: typeof import("vega-lite");
  try {
    [vega, vegaLite] = await Promise.all([import("vega"), import("vega-lite")]);
  } catch (e) {
    throw new KerasError(
      fn,
      `plotting needs the packages vega and vega-lite (npm install vega vega-lite): ${(e as Error).message}`,
      "io",
    );
  }
  const spec = vegaLite.compile(historyPlotSpec(history, a) as any).spec;
  const view = new vega.View(vega.parse(spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  if (a.file) await writeFileAtomic(fn, a.file, /\.png$/i.test(a.file) ? await svgToPng(fn, svg) : svg);
  return svg;
}

const FONT_DIR = fileURLToPath(new URL("../../assets/fonts/", import.meta.url));

/**
 * PNG bytes of `svg`, by default at twice its size (crisp on high-density screens), text in the bundled
 * fonts. A PNG of more than MAX_PNG_PIXELS is refused before resvg allocates it.
 */
export async function svgToPng(
  fn: string,
  svg: string,
  fitTo: { mode: "zoom" | "width"; value: number } = { mode: "zoom", value: 2 },
): Promise<Uint8Array> {
  const [width, height] = [/<svg[^>]*?\swidth="([\d.]+)(?:pt|px)?"/, /<svg[^>]*?\sheight="([\d.]+)(?:pt|px)?"/].map(
    (re) => Number(svg.match(re)?.[1] ?? 0),
  );
  const scale = fitTo.mode === "zoom" ? fitTo.value : width > 0 ? fitTo.value / width : 1;
  const [w, h] = [Math.ceil(scale * width), Math.ceil(scale * height)];
  if (w * h > MAX_PNG_PIXELS)
    throw new KerasError(
      fn,
      `the PNG would be ${w} x ${h} pixels, more than ${MAX_PNG_PIXELS}: ${fn === "plot_history" ? "give a smaller `width` or `height` (per panel), or " : ""}write an .svg file`,
    );
  let Resvg: typeof import("@resvg/resvg-js").Resvg;
  try {
    ({ Resvg } = await import("@resvg/resvg-js"));
  } catch (e) {
    throw new KerasError(
      fn,
      `PNG output needs the optional package @resvg/resvg-js (npm install @resvg/resvg-js@2.6.2), or write an .svg file: ${(e as Error).message.split("\n")[0]}`,
      "io",
    );
  }
  const renderer = new Resvg(svg, {
    fitTo,
    background: "white",
    font: {
      loadSystemFonts: false,
      fontFiles: [join(FONT_DIR, "DejaVuSans.ttf"), join(FONT_DIR, "DejaVuSans-Bold.ttf")],
      defaultFontFamily: "DejaVu Sans",
      sansSerifFamily: "DejaVu Sans",
    },
  });
  return renderer.render().asPng();
}
