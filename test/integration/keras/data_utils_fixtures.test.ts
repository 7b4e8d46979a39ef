/**
 * The committed expectations of the data utilities (test/fixtures/data_utils/keras.json) are what Keras
 * 3.15.1 gives now: scripts/data_utils_fixtures.py regenerates the dataset files and Keras's outputs, and
 * the result must equal the committed JSON (and the regenerated files load to the same samples here).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { unzipSync } from "fflate";
import { KERAS_PYTHON, kerasEnv, requireKeras } from "../../helpers/keras.js";
import { readNpz } from "../../../src/data/npz.js";

const root = resolve(import.meta.dirname, "../../..");
const committed = join(root, "test/fixtures/data_utils");

describe("data utilities: committed Keras expectations are reproducible", function () {
  this.timeout(300_000);
  let dir: string;
  before(function () {
    requireKeras(this);
    dir = mkdtempSync(join(tmpdir(), "tskeras-data-fixtures-"));
    const r = spawnSync(KERAS_PYTHON, [join(root, "scripts/data_utils_fixtures.py"), dir], {
      encoding: "utf8",
      env: kerasEnv(),
      timeout: 240_000,
    });
    if (r.status !== 0) throw new Error(`fixture script failed:\n${r.stderr}`);
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it("keras.json is what Keras 3.15.1 returns", () => {
    const fresh = JSON.parse(readFileSync(join(dir, "keras.json"), "utf8"));
    expect(fresh.keras_version).to.equal("3.15.1");
    expect(fresh).to.deep.equal(JSON.parse(readFileSync(join(committed, "keras.json"), "utf8")));
  });

  it("the regenerated dataset files hold the same arrays as the committed ones", async () => {
    for (const name of ["imdb.npz", "reuters.npz", "mnist.npz", "boston_housing.npz"]) {
      const read = (base: string) => readNpz("test", name, new Uint8Array(readFileSync(join(base, "datasets", name))));
      expect(await read(dir), name).to.deep.equal(await read(committed));
      // the zip entries too, byte for byte (only the zip's own timestamps may differ)
      const entries = (base: string) => unzipSync(new Uint8Array(readFileSync(join(base, "datasets", name))));
      expect(entries(dir), name).to.deep.equal(entries(committed));
    }
    for (const name of ["fashion-mnist/t10k-images-idx3-ubyte.gz", "imdb_word_index.json"])
      expect(readFileSync(join(dir, "datasets", name)), name).to.deep.equal(
        readFileSync(join(committed, "datasets", name)),
      );
  });
});
