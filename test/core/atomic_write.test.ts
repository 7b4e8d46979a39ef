/** Saved files are written atomically: a failed write leaves the old content and no temporary file. */
import { expect } from "chai";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../src/io/atomic.js";
import { KerasError } from "../../src/index.js";
import { temporaryFolders } from "../helpers/temporary_folders.js";

describe("writeFileAtomic", () => {
  const tmp = temporaryFolders("tskeras-atomic-");
  it("replaces a file's content in one step", async () => {
    const dir = tmp();
    const file = join(dir, "log.csv");
    writeFileSync(file, "old");
    await writeFileAtomic("callback_csv_logger", file, "new");
    expect(readFileSync(file, "utf8")).to.equal("new");
    expect(readdirSync(dir)).to.deep.equal(["log.csv"]);
  });

  it("on failure throws a KerasError of kind io, keeps the target and leaves no temporary file", async () => {
    const dir = tmp();
    const target = join(dir, "plot.svg");
    mkdirSync(target); // a non-empty directory: the temporary file is written, the rename fails
    writeFileSync(join(target, "keep.txt"), "kept");
    let err: unknown;
    try {
      await writeFileAtomic("plot_history", target, "<svg/>");
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(KerasError);
    expect((err as KerasError).kind).to.equal("io");
    expect((err as Error).message).to.match(/^plot_history\(\): cannot write ".*plot\.svg": /);
    expect(readdirSync(dir)).to.deep.equal(["plot.svg"]);
    expect(readFileSync(join(target, "keep.txt"), "utf8")).to.equal("kept");
  });
});
