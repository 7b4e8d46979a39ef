/**
 * The committed PyTorch fixture is what scripts/torch_wrapper_fixtures.py computes: regenerated and
 * compared when /usr/bin/python3 has torch, skipped otherwise.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { FIXTURE, TORCH_PYTHON, expectClose, root, torchAvailable } from "./helpers.js";

describe("wrapper fixtures (scripts/torch_wrapper_fixtures.py)", function () {
  this.timeout(120_000);

  it("regenerates test/fixtures/wrappers_torch.json to the committed numbers", function () {
    if (!torchAvailable()) {
      console.log(`      (skipped: ${TORCH_PYTHON} has no torch; the committed fixture is used as is)`);
      this.skip();
    }
    const dir = mkdtempSync(join(tmpdir(), "tskeras-wrappers-"));
    try {
      const out = join(dir, "fixture.json");
      const r = spawnSync(TORCH_PYTHON, [join(root, "scripts/torch_wrapper_fixtures.py"), out], {
        encoding: "utf8",
        cwd: root,
      });
      expect(r.status, r.stderr).to.equal(0);
      const fresh = JSON.parse(readFileSync(out, "utf8"));
      const committed = JSON.parse(readFileSync(FIXTURE, "utf8"));
      expect(Object.keys(fresh)).to.deep.equal(Object.keys(committed));
      for (const key of ["bidirectional_lstm", "bidirectional_gru", "bidirectional_simple_rnn", "conv_lstm"]) {
        expectClose(
          JSON.stringify(fresh[key])
            .match(/-?\d+(\.\d+)?(e-?\d+)?/g)!
            .map(Number),
          JSON.stringify(committed[key])
            .match(/-?\d+(\.\d+)?(e-?\d+)?/g)!
            .map(Number),
          1e-9,
          key,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
