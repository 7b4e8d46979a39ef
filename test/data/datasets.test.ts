/**
 * The dataset loaders, served small generated files (scripts/data_utils_fixtures.py, same structure as
 * Keras's) by a local HTTP server — never the internet — through a temporary Keras cache. The expected
 * samples are what Keras 3.15.1's own loaders return for the same files (keras.json).
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import {
  KerasError,
  dataset_boston_housing,
  dataset_fashion_mnist,
  dataset_imdb,
  dataset_imdb_word_index,
  dataset_mnist,
  dataset_reuters,
  dataset_reuters_word_index,
} from "../../src/index.js";
import { getFile, kerasHome, overrideHashesForTests } from "../../src/data/download.js";
import { FIXTURES, expectArray, keras } from "./helpers.js";

const DATA = join(FIXTURES, "datasets");
const FASHION = [
  "train-labels-idx1-ubyte.gz",
  "train-images-idx3-ubyte.gz",
  "t10k-labels-idx1-ubyte.gz",
  "t10k-images-idx3-ubyte.gz",
];
const fileOf = (name: string) => join(DATA, FASHION.includes(name) ? "fashion-mnist" : "", name);
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

// eslint-disable-next-line no-control-regex -- ANSI colour codes are what is being removed
const ANSI_COLOUR = /\x1b\[[0-9;]*m/g;

type Behaviour = "ok" | "corrupt" | "truncated" | "missing";

describe("datasets (from a local server)", function () {
  this.timeout(30_000);
  let server: Server;
  let requests: string[] = [];
  const behaviour = new Map<string, Behaviour>();
  const extraFiles = new Map<string, Uint8Array>();
  let home: string;
  let restoreHashes: () => void;
  const saved = { origin: process.env.TSKERAS_DATASETS_ORIGIN, home: process.env.KERAS_HOME };

  before(async () => {
    server = createServer((req, res) => {
      const name = decodeURIComponent((req.url ?? "/").slice(1));
      requests.push(name);
      const extra = extraFiles.get(name);
      if (!extra && (!existsSync(fileOf(name)) || behaviour.get(name) === "missing")) {
        res.writeHead(404, "Not Found").end();
        return;
      }
      const body = Buffer.from(extra ?? readFileSync(fileOf(name)));
      const how = behaviour.get(name) ?? "ok";
      if (how === "corrupt") body[body.length >> 1] ^= 0xff;
      res.writeHead(200, { "content-length": String(body.length) });
      if (how === "truncated") {
        res.write(body.subarray(0, body.length >> 1), () => res.destroy());
        return;
      }
      res.end(body);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const { port } = server.address() as { port: number };
    process.env.TSKERAS_DATASETS_ORIGIN = `http://127.0.0.1:${port}/`;
    const hashes: Record<string, string> = {};
    for (const name of ["mnist.npz", "imdb.npz", "reuters.npz", "boston_housing.npz"])
      hashes[name] = sha256(readFileSync(fileOf(name)));
    for (const name of ["imdb_word_index.json", "reuters_word_index.json"])
      hashes[name] = md5(readFileSync(fileOf(name)));
    restoreHashes = overrideHashesForTests(hashes);
  });

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "tskeras-keras-home-"));
    process.env.KERAS_HOME = home;
    requests = [];
    behaviour.clear();
    extraFiles.clear();
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  after(async () => {
    restoreHashes();
    for (const [k, v] of [
      ["TSKERAS_DATASETS_ORIGIN", saved.origin],
      ["KERAS_HOME", saved.home],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    await new Promise((ok) => server.close(ok));
  });

  const cached = (...parts: string[]) => join(home, "datasets", ...parts);
  /** The cache folder holds exactly these files (no temporary debris). */
  const cacheHolds = (names: string[]) =>
    expect(existsSync(cached()) ? readdirSync(cached()).sort() : []).to.deep.equal([...names].sort());

  function expectDataset(got: any, want: any, { tol = 0 } = {}) {
    for (const part of ["train", "test"]) {
      if (Array.isArray(want[part].x)) expect(got[part].x).to.deep.equal(want[part].x);
      else expectArray(got[part].x, want[part].x, { tol });
      expectArray(got[part].y, want[part].y, { tol });
    }
  }

  describe("give Keras's samples, in Keras's order", () => {
    for (const c of keras.datasets.imdb)
      it(`dataset_imdb(${JSON.stringify(c.args)})`, async () => expectDataset(await dataset_imdb(c.args), c.out));
    for (const c of keras.datasets.reuters)
      it(`dataset_reuters(${JSON.stringify(c.args)})`, async () => expectDataset(await dataset_reuters(c.args), c.out));
    for (const c of keras.datasets.boston_housing)
      it(`dataset_boston_housing(${JSON.stringify(c.args)})`, async () =>
        expectDataset(await dataset_boston_housing(c.args), c.out));
    it("dataset_mnist()", async () => expectDataset(await dataset_mnist(), keras.datasets.mnist));
    it("dataset_fashion_mnist() (four gzip idx files under datasets/fashion-mnist)", async () => {
      expectDataset(await dataset_fashion_mnist(), keras.datasets.fashion_mnist);
      expect(readdirSync(cached("fashion-mnist")).sort()).to.deep.equal([...FASHION].sort());
    });
    it("dataset_imdb_word_index() and dataset_reuters_word_index()", async () => {
      const index = await dataset_imdb_word_index();
      expect({ ...index }).to.deep.equal(keras.datasets.imdb_word_index);
      expect(index["__proto__"]).to.equal(5);
      expect(Object.isFrozen(index)).to.equal(true);
      expect({ ...(await dataset_reuters_word_index()) }).to.deep.equal(keras.datasets.imdb_word_index);
    });
    it("the imdb fixture is pickled as numpy 1.x did (numpy.core names, protocol 3), reuters' as numpy 2 does", async () => {
      const { unzipSync } = await import("fflate");
      const text = (file: string, entry: string) =>
        Buffer.from(unzipSync(new Uint8Array(readFileSync(fileOf(file))))[entry]).toString("latin1");
      expect(text("imdb.npz", "x_train.npy")).to.include("cnumpy.core.multiarray\n_reconstruct\n");
      expect(text("reuters.npz", "x.npy")).to.include("numpy._core.multiarray");
    });
  });

  describe("the cache (shared with Python Keras)", () => {
    it("downloads once into $KERAS_HOME/datasets and then reuses the file", async () => {
      await dataset_mnist();
      expect(requests).to.deep.equal(["mnist.npz"]);
      expect(readFileSync(cached("mnist.npz"))).to.deep.equal(readFileSync(fileOf("mnist.npz")));
      await dataset_mnist();
      expect(requests).to.deep.equal(["mnist.npz"]);
      cacheHolds(["mnist.npz"]);
    });

    it("uses a file that Python Keras put there, without downloading", async () => {
      mkdirSync(cached(), { recursive: true });
      copyFileSync(fileOf("boston_housing.npz"), cached("boston_housing.npz"));
      expectDataset(await dataset_boston_housing(), keras.datasets.boston_housing[0].out, {});
      expect(requests).to.deep.equal([]);
    });

    it("replaces a cached file whose hash is wrong, as Keras does", async () => {
      mkdirSync(cached(), { recursive: true });
      writeFileSync(cached("imdb.npz"), "half a file");
      expectDataset(await dataset_imdb(), keras.datasets.imdb[0].out);
      expect(requests).to.deep.equal(["imdb.npz"]);
      expect(readFileSync(cached("imdb.npz"))).to.deep.equal(readFileSync(fileOf("imdb.npz")));
    });

    it("`path` names the file in the cache", async () => {
      await dataset_mnist({ path: "my_mnist.npz" });
      cacheHolds(["my_mnist.npz"]);
      await expectError(
        dataset_mnist({ path: "../mnist.npz" }),
        /^dataset_mnist\(\): `path` must be a file name in Keras's cache folder/,
      );
    });

    it("lives in $KERAS_HOME, else ~/.keras", () => {
      const savedHome = process.env.HOME;
      try {
        delete process.env.KERAS_HOME;
        process.env.HOME = home;
        expect(kerasHome()).to.equal(join(home, ".keras"));
      } finally {
        process.env.HOME = savedHome;
        process.env.KERAS_HOME = home;
      }
      expect(kerasHome()).to.equal(home);
    });
  });

  async function expectError(p: Promise<unknown>, message: RegExp): Promise<KerasError> {
    try {
      await p;
    } catch (e) {
      expect(e).to.be.instanceOf(KerasError);
      expect((e as Error).message).to.match(message);
      return e as KerasError;
    }
    throw new Error(`expected a KerasError matching ${message}`);
  }

  describe("failed downloads leave the cache as it was", () => {
    it("a corrupt download: the hash does not match", async () => {
      behaviour.set("imdb.npz", "corrupt");
      const e = await expectError(
        dataset_imdb(),
        /^dataset_imdb\(\): incomplete or corrupted download of http:\/\/127\.0\.0\.1:\d+\/imdb\.npz: its sha256 hash is [0-9a-f]{64}, not [0-9a-f]{64}; nothing was written to the cache/,
      );
      expect(e.kind).to.equal("io");
      cacheHolds([]);
    });

    it("a download cut short (Content-Length not reached)", async () => {
      behaviour.set("reuters.npz", "truncated");
      const e = await expectError(
        dataset_reuters(),
        /^dataset_reuters\(\): the download of .*reuters\.npz (broke off|ended) after \d+ of \d+ bytes.*nothing was written to the cache/,
      );
      expect(e.kind).to.equal("io");
      cacheHolds([]);
      behaviour.clear();
      expectDataset(await dataset_reuters(), keras.datasets.reuters[0].out);
    });

    it("a corrupt file without a listed hash (fashion-mnist) is checked as gzip idx before it is cached", async () => {
      behaviour.set("t10k-images-idx3-ubyte.gz", "corrupt");
      await expectError(
        dataset_fashion_mnist(),
        /^dataset_fashion_mnist\(\): t10k-images-idx3-ubyte\.gz is not a readable gzip file/,
      );
      expect(readdirSync(cached("fashion-mnist")).sort()).to.deep.equal(FASHION.slice(0, 3).sort());
    });

    it("a missing file (HTTP 404)", async () => {
      behaviour.set("mnist.npz", "missing");
      await expectError(
        dataset_mnist(),
        /^dataset_mnist\(\): URL fetch failure on http:\/\/127\.0\.0\.1:\d+\/mnist\.npz: 404 -- Not Found/,
      );
      cacheHolds([]);
    });

    it("an unreachable server", async () => {
      process.env.TSKERAS_DATASETS_ORIGIN = "http://127.0.0.1:1/";
      try {
        await expectError(
          dataset_mnist(),
          /^dataset_mnist\(\): URL fetch failure on http:\/\/127\.0\.0\.1:1\/mnist\.npz/,
        );
      } finally {
        process.env.TSKERAS_DATASETS_ORIGIN = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
      }
    });
  });

  describe("reading .npz files safely", () => {
    /** An .npz whose x_train is an object array whose pickle calls os.system: Keras's restricted unpickler refuses it. */
    function evilNpz(): Uint8Array {
      const header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }";
      const padded = header + " ".repeat(64 - ((10 + header.length + 1) % 64)) + "\n";
      const npyHeader = new Uint8Array([0x93, ...Buffer.from("NUMPY"), 1, 0, padded.length & 0xff, padded.length >> 8]);
      // PROTO 2; GLOBAL os.system; SHORT_BINUNICODE "echo pwned"; TUPLE1; REDUCE; STOP
      const pickle = Buffer.concat([
        Buffer.from([0x80, 0x02]),
        Buffer.from("cos\nsystem\n", "latin1"),
        Buffer.from([0x8c, 10]),
        Buffer.from("echo pwned"),
        Buffer.from([0x85, 0x52, 0x2e]),
      ]);
      const npy = Buffer.concat([npyHeader, Buffer.from(padded, "latin1"), pickle]);
      return zipSync({ "x_train.npy": npy, "y_train.npy": npy, "x_test.npy": npy, "y_test.npy": npy });
    }

    it("refuses a pickle that names anything but numpy's array parts (never runs code from a file)", async () => {
      const evil = evilNpz();
      extraFiles.set("imdb.npz", evil);
      const restore = overrideHashesForTests({ "imdb.npz": sha256(evil) });
      try {
        await expectError(
          dataset_imdb(),
          /^dataset_imdb\(\): imdb\.npz: (x_train|y_train|x_test|y_test)\.npy refers to `os\.system`, which a dataset file never needs: refusing to read it/,
        );
      } finally {
        restore();
      }
    });

    it("reports a file that is not a zip, or an array cut short", async () => {
      const notZip = new TextEncoder().encode("not a zip at all");
      const cut = readFileSync(fileOf("boston_housing.npz"));
      const { unzipSync } = await import("fflate");
      const entries = unzipSync(new Uint8Array(cut));
      entries["x.npy"] = entries["x.npy"].subarray(0, entries["x.npy"].length - 8);
      const short = zipSync(entries);
      for (const [bytes, message] of [
        [notZip, /^dataset_boston_housing\(\): boston_housing\.npz is not a readable \.npz \(zip\) file/],
        [
          short,
          /^dataset_boston_housing\(\): boston_housing\.npz: x\.npy holds 2176 bytes of data, not the 2184 its shape \(21, 13\) needs/,
        ],
      ] as const) {
        extraFiles.set("boston_housing.npz", bytes);
        const restore = overrideHashesForTests({ "boston_housing.npz": sha256(bytes) });
        try {
          await expectError(dataset_boston_housing(), message);
        } finally {
          restore();
          rmSync(cached(), { recursive: true, force: true });
        }
      }
    });
  });

  it("shows Keras's download message and progress bar on a terminal", async () => {
    let out = "";
    let clock = 0;
    const bytes = await getFile(
      "dataset_mnist",
      { fname: "mnist.npz", source: "mnist.npz", hash: null },
      { verbose: 1, io: { write: (s) => void (out += s), now: () => (clock += 0.01) } },
    );
    const size = readFileSync(fileOf("mnist.npz")).length;
    expect(bytes.length).to.equal(size);
    expect(out).to.match(/^Downloading data from http:\/\/127\.0\.0\.1:\d+\/mnist\.npz\n/);
    const last = out.split("\r").pop()!.replace(ANSI_COLOUR, "");
    expect(last).to.match(new RegExp(`^${size}/${size} ━{20} \\d+s \\d+(us|ms)/step\\n$`));
  });

  it("rejects bad arguments before downloading anything", async () => {
    await expectError(
      dataset_imdb({ num_word: 10 } as any),
      /^dataset_imdb\(\): unknown argument `num_word`; did you mean `num_words`\?/,
    );
    await expectError(dataset_reuters({ test_split: 1 }), /`test_split` must be a number in \[0, 1\)/);
    await expectError(dataset_boston_housing({ seed: -1 }), /`seed` must be an integer in \[0, 2\^32\)/);
    await expectError(
      dataset_fashion_mnist({ path: "x" } as any),
      /^dataset_fashion_mnist\(\): unknown argument `path`/,
    );
    await expectError(dataset_imdb({ maxlen: 1 }), /no sequence was kept; increase `maxlen`/);
    expect(requests).to.deep.equal(["imdb.npz"]);
  });
});
