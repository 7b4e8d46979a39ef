/** plot_history() writes a PNG (rendered by resvg with the bundled DejaVu fonts) when the file ends in .png. */
import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { plot_history } from "../../src/index.js";
import { makeHistory } from "../../src/report/history.js";
import { temporaryFolders } from "../helpers/temporary_folders.js";

describe("plot_history: PNG output", function () {
  const tmp = temporaryFolders("tskeras-png-");
  this.timeout(60_000);
  const history = makeHistory({ epochs: 3, steps: 1, verbose: 0 }, [0, 1, 2], {
    loss: [1, 0.5, 0.25],
    val_loss: [1.2, 0.7, 0.4],
  });

  it("writes a PNG twice the size of the SVG, and nothing else", async function () {
    try {
      await import("@resvg/resvg-js");
    } catch {
      console.log("    (skipped: the optional package @resvg/resvg-js is not installed on this platform)");
      this.skip();
    }
    const dir = tmp();
    const file = join(dir, "history.png");
    const svg = await plot_history(history, { file });
    const png = readFileSync(file);
    // PNG signature, then the IHDR chunk: width and height as big-endian 32-bit integers at bytes 16 and 20
    expect([...png.subarray(0, 8)]).to.deep.equal([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const [svgWidth, svgHeight] = [/width="(\d+)"/, /height="(\d+)"/].map((re) => Number(svg.match(re)![1]));
    expect(png.readUInt32BE(16)).to.equal(2 * svgWidth);
    expect(png.readUInt32BE(20)).to.equal(2 * svgHeight);
    expect(readdirSync(dir)).to.deep.equal(["history.png"]);
  });

  it("refuses other formats with a KerasError", async () => {
    let err: unknown;
    try {
      await plot_history(history, { file: "history.pdf" });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.equal('plot_history(): `file` must end in .svg or .png, got "history.pdf"');
  });
});
