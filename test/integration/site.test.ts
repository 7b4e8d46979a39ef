/**
 * `npm run docs:site` (scripts/docs_site.ts): the vignettes rendered with each block's output and plots
 * under it, and the pages opened in headless Chromium (Debian's `chromium`; skipped with a message when
 * it is not installed), which must show them without console errors.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { renderSite, type Vignette } from "../../scripts/docs_site.js";
import { tsBlocks } from "../../scripts/vignette_code.js";

const root = resolve(import.meta.dirname, "../..");
const fixtures = join(root, "test", "fixtures", "site");

/** The blocks of code and of output of a page, in order, as [kind, text] with the HTML entities decoded. */
function pieces(html: string): [string, string][] {
  const decode = (s: string) =>
    s
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, "&");
  return [
    ...html.matchAll(
      /<pre(?: class="(output)")?><code(?: class="language-(\w+)")?>([\s\S]*?)<\/code><\/pre>|<img src="([^"]+)"/g,
    ),
  ].map((m) => (m[4] ? ["figure", m[4]] : [m[1] ?? m[2], decode(m[3])]));
}

describe("the documentation site", function () {
  this.timeout(900_000);
  let work: string;
  let site: string;
  let fixtureSite: string;
  let vignettes: Vignette[];

  before(() => {
    work = mkdtempSync(join(tmpdir(), "tskeras-site-"));
    site = join(work, "site");
    fixtureSite = join(work, "fixture-site");
    vignettes = renderSite(join(root, "vignettes"), site);
    renderSite(fixtures, fixtureSite);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("has a page for every vignette, listed on the index with the API reference", () => {
    const files = readdirSync(join(root, "vignettes")).filter((f) => f.endsWith(".md"));
    expect(vignettes.map((v) => `${v.name}.md`)).to.have.members(files);
    const index = readFileSync(join(site, "index.html"), "utf8");
    expect(index).to.include('href="api/index.html"');
    for (const v of vignettes) {
      expect(index).to.include(`href="${v.name}.html"`);
      const page = readFileSync(join(site, `${v.name}.html`), "utf8");
      // every ```ts block of the vignette is shown
      const code = pieces(page).filter(([kind]) => kind === "ts");
      expect(code.map(([, text]) => text)).to.deep.equal(
        tsBlocks(readFileSync(join(root, "vignettes", `${v.name}.md`), "utf8")),
      );
    }
  });

  it("shows each block's output and plots under the block, in the order they were printed", () => {
    const page = readFileSync(join(fixtureSite, "plots.html"), "utf8");
    const got = pieces(page).map(([kind, text]) => [
      kind,
      kind === "ts" || kind === "sh" ? text.trimEnd().split("\n").at(-1) : text,
    ]);
    expect(got).to.deep.equal([
      ["ts", 'console.log("first block: <built>");'],
      ["output", "first block: <built>"],
      ["ts", "const x = [[1, 2, 3], [4, 5, 6]];"], // prints nothing: no output block
      ["sh", 'echo "a shell block is shown, not run"'],
      ["ts", 'console.log("after both plots");'],
      ["figure", "figures/plots-1.svg"], // plot_model
      ["output", "second block: to stderr"], // stderr in its place among stdout
      ["figure", "figures/plots-2.svg"], // plot_history
      ["output", "after both plots"],
    ]);
    const diagram = readFileSync(join(fixtureSite, "figures", "plots-1.svg"), "utf8");
    expect(diagram)
      .to.match(/<svg[\s>]/)
      .and.to.include("dense_1"); // the layer graph
    expect(readFileSync(join(fixtureSite, "figures", "plots-2.svg"), "utf8"))
      .to.match(/<svg[\s>]/)
      .and.to.include("loss");
    expect(page).to.include('<a href="second.html">'); // links between vignettes point at pages
    expect(readFileSync(join(fixtureSite, "second.html"), "utf8")).to.include(
      '<pre class="output"><code>42</code></pre>',
    );
  });

  it("stops with the failing block's number and output", () => {
    const dir = join(work, "failing");
    mkdirSync(dir);
    writeFileSync(
      join(dir, "broken.md"),
      '# Broken\n\n```ts\nconsole.log("fine");\n```\n\n```ts\nconsole.log("before");\nthrow new Error("this block fails");\n```\n',
    );
    expect(() => renderSite(dir, join(work, "failing-site"))).to.throw(
      /broken\.md: block 2 of 2 .*failed[\s\S]*before[\s\S]*this block fails/,
    );
  });

  describe("in headless Chromium", function () {
    const chromium = [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find(
      (p): p is string => !!p && existsSync(p),
    );
    before(function () {
      if (!chromium) {
        console.log("    (skipped: no chromium; install Debian's `chromium` or set CHROMIUM to a Chromium binary)");
        this.skip();
      }
    });

    /** Opens `file` and returns the problems the browser reported, and what the page shows. */
    async function open(file: string) {
      const puppeteer = await import("puppeteer-core");
      const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ["--no-sandbox"] });
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on("console", (m) => {
          if (m.type() === "error" || m.type() === "warn") problems.push(`console.${m.type()}: ${m.text()}`);
        });
        page.on("pageerror", (e) => problems.push(`page error: ${String(e)}`));
        page.on("requestfailed", (r) => problems.push(`failed to load ${r.url()}: ${r.failure()?.errorText}`));
        const response = await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
        expect(response?.ok() ?? true).to.equal(true);
        // a string, evaluated in the page (this file is compiled without the DOM's types)
        const shown = (await page.evaluate(`({
          title: document.querySelector("h1")?.textContent ?? "",
          links: document.querySelectorAll("main a").length,
          outputs: document.querySelectorAll("pre.output").length,
          images: [...document.images].map((i) => ({ src: i.src, width: i.naturalWidth })),
        })`)) as { title: string; links: number; outputs: number; images: { src: string; width: number }[] };
        return { problems, shown };
      } finally {
        await browser.close();
      }
    }

    it("reports console errors, page errors and missing images (the check below can fail)", async () => {
      const bad = join(work, "bad.html");
      writeFileSync(
        bad,
        '<!DOCTYPE html><title>bad</title><h1>bad</h1><img src="missing.svg"><script>console.error("oops"); null.x;</script>',
      );
      const { problems } = await open(bad);
      expect(problems.join("\n"))
        .to.include("console.error: oops")
        .and.to.include("page error")
        .and.to.include("missing.svg");
    });

    it("renders the index without console errors", async () => {
      const { problems, shown } = await open(join(site, "index.html"));
      expect(problems).to.deep.equal([]);
      expect(shown.title).to.equal("tskeras documentation");
      expect(shown.links).to.be.at.least(vignettes.length + 1);
    });

    it("renders a vignette without console errors", async () => {
      const v = vignettes[0];
      const { problems, shown } = await open(join(site, `${v.name}.html`));
      expect(problems).to.deep.equal([]);
      expect(shown.title).to.equal(v.title);
    });

    it("renders a page with plots, every image loaded", async () => {
      const { problems, shown } = await open(join(fixtureSite, "plots.html"));
      expect(problems).to.deep.equal([]);
      expect(shown.outputs).to.equal(3);
      expect(shown.images).to.have.length(2);
      for (const image of shown.images) expect(image.width, image.src).to.be.greaterThan(0);
    });
  });
});
