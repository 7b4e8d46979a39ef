/**
 * `npm run docs:site`: renders vignettes/*.md into a static site, docs/site/ (index.html and one page per
 * vignette), as knitr renders R Markdown: the ```ts blocks of a vignette run in order in one Node process
 * and each block's printed output (stdout and stderr, as they interleave) and plots (every SVG that
 * plot_history() or plot_model() draws, saved under figures/) appear under the block.
 *
 * Usage: tsx scripts/docs_site.ts [--vignettes DIR] [--out DIR]   (defaults: vignettes, docs/site)
 * A block that fails stops the build with its output (exit status 1). The typedoc API reference
 * (`npm run docs:api`) goes to api/ of the same folder; the index links it.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Lexer, Marked, type Token, type Tokens } from "marked";
import { documentTmpdir, tsCodeTokens, vignetteModule } from "./vignette_code.js";

const root = resolve(import.meta.dirname, "..");
const runtime = join(root, "scripts", "docs_site_runtime.ts");
/** Starts the lines of a rendered vignette's output that mark a block's start or a figure (see the runtime). */
const MARKER = "\u001ftskeras-site";

/** What one block printed and drew, in order: text, and figures (file names under figures/). */
type BlockResult = ({ text: string } | { figure: string })[];

export interface Vignette {
  /** file name without .md: the page is NAME.html, its figures figures/NAME-k.svg */
  name: string;
  title: string;
  /** the first paragraph, for the index */
  summary: string;
}

const escapeHtml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Output as a terminal would show it: colour codes dropped, a carriage return overwriting its line. */
function terminalText(raw: string): string {
  return (
    raw
      // eslint-disable-next-line no-control-regex -- terminal colour codes start with ESC
      .replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "")
      .split("\n")
      .map((line) => line.split("\r").at(-1)!)
      .join("\n")
      .replace(/^\n+|\s+$/g, "")
  );
}

/**
 * Runs the blocks of one vignette in one process; returns each block's output and figures. Throws with the
 * failing block's output when the process fails.
 */
function runBlocks(file: string, name: string, blocks: string[], figureDir: string): BlockResult[] {
  const code =
    `import { beginBlock as __beginBlock } from ${JSON.stringify(runtime)};\n` +
    vignetteModule(blocks, runtime, (i) => `__beginBlock(${i});`);
  // inside the project, so that the vignette's own imports (fp-ts, ...) resolve from node_modules
  const cache = join(root, "node_modules", ".cache");
  mkdirSync(cache, { recursive: true });
  const tmp = mkdtempSync(join(cache, "tskeras-site-"));
  try {
    const script = join(tmp, `${name}.mts`);
    writeFileSync(script, code);
    const log = join(tmp, "output.txt");
    const fd = openSync(log, "w");
    let status: number | null;
    try {
      // stdout and stderr into one file, so that they keep their order; the vignette runs in a scratch
      // folder, so files it writes land there
      const r = spawnSync(process.execPath, ["--import", "tsx", script], {
        cwd: tmp,
        stdio: ["ignore", fd, fd],
        env: {
          ...process.env,
          TSKERAS_SITE_MARKER: MARKER,
          TSKERAS_SITE_FIGURES: figureDir,
          TSKERAS_SITE_PREFIX: name,
          TMPDIR: documentTmpdir(tmp),
        },
      });
      status = r.status;
      if (r.error) throw r.error;
    } finally {
      closeSync(fd);
    }
    const results: BlockResult[] = blocks.map(() => []);
    let current: BlockResult | null = null;
    let preamble = "";
    // "MARKER block i" / "MARKER figure NAME" lines split the output; each marker ends its line
    const parts = readFileSync(log, "utf8").split(new RegExp(`${MARKER} (block|figure) (\\S+)\\n`));
    for (let i = 0; i < parts.length; i += 3) {
      if (current) current.push({ text: parts[i] });
      else preamble += parts[i];
      if (parts[i + 1] === "block") current = results[Number(parts[i + 2])];
      else if (parts[i + 1] === "figure") current?.push({ figure: parts[i + 2] });
    }
    const outputOf = (result: BlockResult) => result.map((p) => ("text" in p ? p.text : "")).join("");
    if (status !== 0) {
      // the block that began last is the one that failed; before the first block, the imports did
      const index = current ? results.indexOf(current) : -1;
      const where =
        index >= 0 ? `block ${index + 1} of ${blocks.length} (${blocks[index].split("\n")[0]} ...)` : "imports";
      throw new Error(
        `${file}: ${where} failed, exit status ${status}; its output:\n` +
          terminalText(index >= 0 ? outputOf(results[index]) : preamble),
      );
    }
    // text between two figures is one piece; empty pieces are dropped
    return results.map((result) =>
      result
        .map((p) => ("text" in p ? { text: terminalText(p.text) } : p))
        .filter((p) => !("text" in p) || p.text !== ""),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const STYLE = `
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #222; }
nav { font-size: 0.9rem; margin-bottom: 1.5rem; }
pre { background: #f6f8fa; padding: 0.75rem; overflow-x: auto; border-radius: 4px; }
pre.output { background: #fff; border-left: 3px solid #9ab; border-radius: 0; }
pre.output code::before { content: ""; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.9em; }
figure { margin: 0.5rem 0 1.5rem; }
figure img { max-width: 100%; }
table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; }
`;

function page(title: string, nav: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<nav>${nav}</nav>
<main>
${body}
</main>
</body>
</html>
`;
}

/** The text of the first token of `type` (and `depth`, for headings) in `tokens`. */
function firstText(tokens: Token[], type: string, depth?: number): string {
  const token = tokens.find((t) => t.type === type && (depth === undefined || (t as Tokens.Heading).depth === depth));
  return token ? (token as Tokens.Heading | Tokens.Paragraph).text : "";
}

/** Renders one vignette into `out`: NAME.html and its figures. */
function renderVignette(file: string, out: string): Vignette {
  const name = basename(file, ".md");
  const markdown = readFileSync(file, "utf8");
  const tokens = Lexer.lex(markdown);
  const code = tsCodeTokens(tokens);
  const results = runBlocks(
    file,
    name,
    code.map((token) => token.text),
    join(out, "figures"),
  );
  const resultOf = new Map(code.map((token, i) => [token, results[i]]));
  const marked = new Marked({
    renderer: {
      code(token) {
        const result = resultOf.get(token);
        if (!result) return false;
        let html = `<pre><code class="language-ts">${escapeHtml(token.text)}</code></pre>\n`;
        for (const piece of result)
          html +=
            "text" in piece
              ? `<pre class="output"><code>${escapeHtml(piece.text)}</code></pre>\n`
              : `<figure><img src="figures/${escapeHtml(piece.figure)}" alt="a plot drawn by the code above"></figure>\n`;
        return html;
      },
    },
  });
  marked.walkTokens(tokens, (token) => {
    // links between vignettes point at their pages
    if (token.type === "link" && /^[\w.-]+\.md(#.*)?$/.test(token.href))
      token.href = token.href.replace(/\.md(?=#|$)/, ".html");
  });
  const title = firstText(tokens, "heading", 1) || name;
  const body = marked.parser(tokens) as string;
  writeFileSync(join(out, `${name}.html`), page(title, `<a href="index.html">tskeras documentation</a>`, body));
  return { name, title, summary: firstText(tokens, "paragraph") };
}

function renderIndex(vignettes: Vignette[], out: string): void {
  const inline = new Marked();
  const items = vignettes
    .map(
      (v) =>
        `<li><a href="${escapeHtml(v.name)}.html">${inline.parseInline(v.title)}</a>` +
        (v.summary ? `<br>${inline.parseInline(v.summary)}` : "") +
        `</li>`,
    )
    .join("\n");
  const body = `<h1>tskeras documentation</h1>
<p>R keras's <code>layer_*</code> API in TypeScript, on TensorFlow.js. Each vignette below shows its code with
the output and plots it printed when this site was built.</p>
<h2>Vignettes</h2>
<ul>
${items}
</ul>
<h2>Reference</h2>
<p><a href="api/index.html">API reference</a> (every exported function, from the TypeScript sources;
built by <code>npm run docs:api</code>, which <code>npm run docs</code> runs after this site).</p>
`;
  writeFileSync(join(out, "index.html"), page("tskeras documentation", "", body));
}

/**
 * Renders every *.md of `vignetteDir` into `out`; returns the vignettes in index order: getting-started.md
 * first, then by file name.
 */
export function renderSite(vignetteDir: string, out: string): Vignette[] {
  const first = (f: string) => (f === "getting-started.md" ? 0 : 1);
  const files = readdirSync(vignetteDir)
    .filter((f) => f.endsWith(".md"))
    .sort((a, b) => first(a) - first(b) || a.localeCompare(b));
  mkdirSync(out, { recursive: true });
  // only what this renderer writes is replaced: api/ belongs to docs:api
  rmSync(join(out, "figures"), { recursive: true, force: true });
  for (const f of readdirSync(out)) if (f.endsWith(".html")) rmSync(join(out, f));
  mkdirSync(join(out, "figures"));
  const vignettes: Vignette[] = [];
  for (const file of files) {
    const started = Date.now();
    vignettes.push(renderVignette(join(vignetteDir, file), out));
    console.log(`rendered ${file} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  renderIndex(vignettes, out);
  return vignettes;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const { values } = parseArgs({
    options: { vignettes: { type: "string", default: "vignettes" }, out: { type: "string", default: "docs/site" } },
  });
  try {
    renderSite(resolve(values.vignettes!), resolve(values.out!));
    console.log(`site written to ${values.out}/index.html`);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
