/**
 * The prebuilt WebAssembly modules (src/ops/prebuilt_wasm.ts) are their builders' bytes: after a change
 * to a builder, `npx tsx scripts/prebuilt_wasm.ts` writes them again.
 */
import { expect } from "chai";
import { prebuiltWasm } from "../../src/ops/prebuilt_wasm.js";
import { PREBUILT_WASM_BUILDERS } from "../helpers/prebuilt_wasm_builders.js";

describe("prebuilt WebAssembly modules", () => {
  for (const [name, build] of Object.entries(PREBUILT_WASM_BUILDERS))
    it(`${name}: the builder's bytes (else run scripts/prebuilt_wasm.ts)`, () => {
      expect(
        Buffer.from(prebuiltWasm(name as keyof typeof PREBUILT_WASM_BUILDERS)).equals(Buffer.from(build())),
      ).to.equal(true);
    });
});
