/**
 * Damaged and foreign files (the cases; run by test/io/damaged_files.test.ts and
 * test/integration/damaged_files.test.ts): hundreds of mutated and truncated `.keras`, `.weights.h5`, legacy `.h5`
 * (whole models and weights) and JSON files
 * are read; each one either loads or is refused with a KerasError — never another error, a wasm abort
 * or a dead process — and the library still reads a good file afterwards.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipe } from "fp-ts/lib/function.js";
import * as k from "../../src/index.js";
import { use_backend } from "../../src/backend/index.js";
import type { Model } from "../../src/model/model.js";
import { withPatternWeights } from "../core/helpers.js";
import { temporaryFolders } from "../helpers/temporary_folders.js";

/** mulberry32: a small seeded generator, so every run feeds the same files. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` damaged copies of `bytes`: flipped bytes, zeroed or random runs, truncations, inserted garbage. */
function mutants(bytes: Uint8Array, n: number, seed: number): Uint8Array[] {
  const rand = generator(seed);
  const int = (m: number) => Math.floor(rand() * m);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const b = Uint8Array.from(bytes);
    switch (i % 5) {
      case 0: // a few flipped bytes anywhere
        for (let j = 1 + int(8); j > 0; j--) b[int(b.length)] ^= 1 + int(255);
        out.push(b);
        break;
      case 1: // truncated
        out.push(b.slice(0, int(b.length)));
        break;
      case 2: {
        // a run of zeros or random bytes
        const at = int(b.length);
        const len = 1 + int(256);
        for (let j = at; j < Math.min(b.length, at + len); j++) b[j] = i % 2 ? 0 : int(256);
        out.push(b);
        break;
      }
      case 3: {
        // garbage inserted in the middle
        const at = int(b.length);
        const junk = Uint8Array.from({ length: 1 + int(64) }, () => int(256));
        out.push(Uint8Array.from([...b.subarray(0, at), ...junk, ...b.subarray(at)]));
        break;
      }
      default: // the header area hit hard
        for (let j = 0; j < 16; j++) b[int(Math.min(b.length, 2048))] = int(256);
        out.push(b);
    }
  }
  return out;
}

type Outcome = "loaded" | "KerasError";

async function outcome(f: () => Promise<unknown> | unknown): Promise<Outcome> {
  try {
    await f();
    return "loaded";
  } catch (e) {
    if (e instanceof k.KerasError) return "KerasError";
    throw new Error(`a raw ${(e as Error)?.name ?? typeof e} escaped: ${(e as Error)?.message ?? String(e)}`, {
      cause: e,
    });
  }
}

function tally(outcomes: Outcome[]): Record<Outcome, number> {
  return {
    loaded: outcomes.filter((o) => o === "loaded").length,
    KerasError: outcomes.filter((o) => o === "KerasError").length,
  };
}

/**
 * The suite, with `scale` times the full counts (at least 10 files per case): the unit suite runs a
 * sample, the integration suite the full 1,700 files.
 */
export function describeDamagedFiles(scale: number): void {
  const n = (full: number) => Math.max(10, Math.round(full * scale));
  const [zip, inZip, weights, legacy, legacyWeights, jsonText, jsonParts] = [300, 300, 300, 300, 200, 100, 200].map(n);
  describe(`damaged files give a KerasError, never a crash (${scale === 1 ? "all" : "a sample of"} the cases)`, function () {
    const tmp = temporaryFolders("tskeras-corrupt-");
    this.timeout(600_000);
    let model: Model;
    let keras: Uint8Array;
    const dir = tmp();
    const warn = console.warn;

    before(async () => {
      await use_backend("wasm");
      model = withPatternWeights(
        pipe(
          k.keras_model_sequential({ input_shape: [4, 3], name: "victim" }),
          k.layer_gru({ units: 3, return_sequences: true }),
          k.bidirectional({ layer: k.layer_lstm({ units: 2 }) }),
          k.layer_dense({ units: 1 }),
          k.compile({ optimizer: "adam", loss: "mse", metrics: ["mae"] }),
        ),
      );
      const x = Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, t) => [i, t, i - t].map(Math.sin)));
      model = (await k.fit(model, x, [[0], [1], [0], [1]], { epochs: 1, verbose: 0 })).model;
      keras = await k.serialize_model(model);
      console.warn = () => undefined; // optimizer-state mismatches are warnings, as in Keras
    });
    after(() => {
      console.warn = warn;
    });

    it(`${zip} damaged .keras files (the zip damaged)`, async () => {
      const outcomes: Outcome[] = [];
      for (const b of mutants(keras, zip, 1)) outcomes.push(await outcome(() => k.unserialize_model(b)));
      const t = tally(outcomes);
      expect(t.loaded + t.KerasError).to.equal(zip);
      // the zip's CRC-32 catches damage inside entries: nearly all are refused
      expect(t.KerasError).to.be.greaterThan(Math.floor(zip * 0.83));
    });

    it(`${inZip} .keras files whose weights file is damaged inside a valid zip`, async () => {
      const { unzipSync } = await import("fflate");
      const entries = unzipSync(keras);
      const { zipSync } = await import("fflate");
      const outcomes: Outcome[] = [];
      for (const w of mutants(entries["model.weights.h5"], inZip, 2)) {
        const bytes = zipSync({ ...entries, "model.weights.h5": [w, { level: 0 }] });
        outcomes.push(await outcome(() => k.load_model(bytes)));
      }
      const t = tally(outcomes);
      expect(t.loaded + t.KerasError).to.equal(inZip);
      expect(t.KerasError).to.be.greaterThan(Math.floor(inZip / 3));
    });

    it(`${weights} damaged .weights.h5 files`, async () => {
      const good = join(dir, "good.weights.h5");
      await k.save_model_weights(model, good);
      const { readFileSync } = await import("node:fs");
      const bytes = new Uint8Array(readFileSync(good));
      const outcomes: Outcome[] = [];
      const file = join(dir, "bad.weights.h5");
      for (const b of mutants(bytes, weights, 3)) {
        writeFileSync(file, b);
        outcomes.push(await outcome(() => k.load_model_weights(model, file)));
      }
      const t = tally(outcomes);
      expect(t.loaded + t.KerasError).to.equal(weights);
      expect(t.KerasError).to.be.greaterThan(Math.floor(weights / 3));
    });

    it(`${legacy} damaged legacy .h5 model files (compiled, with optimizer state)`, async () => {
      const good = join(dir, "good.h5");
      await k.save_model(model, good);
      const { readFileSync } = await import("node:fs");
      const bytes = new Uint8Array(readFileSync(good));
      const outcomes: Outcome[] = [];
      const file = join(dir, "bad.h5");
      for (const b of mutants(bytes, legacy, 6)) {
        writeFileSync(file, b);
        outcomes.push(await outcome(() => k.load_model(file)));
      }
      const t = tally(outcomes);
      expect(t.loaded + t.KerasError).to.equal(legacy);
      expect(t.KerasError).to.be.greaterThan(Math.floor(legacy / 3));
    });

    it(`${legacyWeights} damaged legacy weights files (load_model_weights_hdf5, by order and by name)`, async () => {
      const good = join(dir, "good_weights.h5");
      await k.save_model_weights_hdf5(model, good);
      const { readFileSync } = await import("node:fs");
      const bytes = new Uint8Array(readFileSync(good));
      const outcomes: Outcome[] = [];
      const file = join(dir, "bad_weights.h5");
      for (const [i, b] of mutants(bytes, legacyWeights, 7).entries()) {
        writeFileSync(file, b);
        outcomes.push(await outcome(() => k.load_model_weights_hdf5(model, file, { by_name: i % 2 === 1 })));
      }
      const t = tally(outcomes);
      expect(t.loaded + t.KerasError).to.equal(legacyWeights);
      expect(t.KerasError).to.be.greaterThan(Math.floor(legacyWeights * 0.3));
    });

    it(`${jsonText + jsonParts} damaged JSON configs: broken text, and valid JSON with wrong parts`, async () => {
      const json = k.model_to_json(model);
      const rand = generator(4);
      const int = (m: number) => Math.floor(rand() * m);
      const texts: string[] = [];
      for (const b of mutants(new TextEncoder().encode(json), jsonText, 5)) texts.push(new TextDecoder().decode(b));
      const replacements = [null, 0, -1, 1.5, "", "x", [], {}, [null], { class_name: "Nope" }, true];
      for (let i = 0; i < jsonParts; i++) {
        // one node of the parsed config replaced or deleted
        const config = JSON.parse(json);
        const nodes: [Record<string, unknown> | unknown[], string | number][] = [];
        const walk = (v: unknown) => {
          if (v && typeof v === "object")
            for (const [key, x] of Object.entries(v)) {
              nodes.push([v as Record<string, unknown>, Array.isArray(v) ? Number(key) : key]);
              walk(x);
            }
        };
        walk(config);
        const [parent, key] = nodes[int(nodes.length)];
        if (i % 4 === 0 && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key as string];
        else (parent as Record<string | number, unknown>)[key] = replacements[int(replacements.length)];
        texts.push(JSON.stringify(config));
      }
      const outcomes: Outcome[] = [];
      for (const text of texts) outcomes.push(await outcome(() => k.model_from_json(text)));
      const t = tally(outcomes);
      expect(t.loaded + t.KerasError).to.equal(jsonText + jsonParts);
      expect(t.KerasError).to.be.greaterThan(Math.floor((jsonText + jsonParts) / 3));
    });

    it("foreign files are named as such", async () => {
      const text = new TextEncoder().encode("just some text, not a model");
      await outcome(() => k.unserialize_model(text));
      writeFileSync(join(dir, "text.weights.h5"), text);
      try {
        await k.load_model_weights(model, join(dir, "text.weights.h5"));
        expect.fail("loaded");
      } catch (e) {
        expect((e as Error).message).to.match(/is not an HDF5 file \(no HDF5 signature\)/);
      }
      try {
        await k.unserialize_model(text);
        expect.fail("loaded");
      } catch (e) {
        expect((e as Error).message).to.match(/is not a Keras model file/);
      }
    });

    it("the library still reads a good file after all that", async () => {
      const back = await k.unserialize_model(keras);
      expect(k.get_weights(back)).to.deep.equal(k.get_weights(model));
      const legacy = await k.load_model(join(dir, "good.h5"));
      expect(k.get_weights(legacy)).to.deep.equal(k.get_weights(model));
    });
  });
}
