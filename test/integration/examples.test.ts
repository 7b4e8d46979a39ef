/**
 * Every script in examples/ runs to completion on the default backend, as `npx tsx examples/NAME.ts`, and
 * the examples of issue 11 print results that a model that learned nothing cannot reach (each bound is
 * explained beside it; the numbers they print are seeded, the bounds leave room for another backend).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const examples = readdirSync(join(root, "examples")).filter((f) => f.endsWith(".ts"));

/** The number in the first match of `pattern` (its first group) in `out`. */
function number(out: string, pattern: RegExp): number {
  const m = pattern.exec(out);
  expect(m, `no match for ${pattern} in:\n${out}`).to.not.equal(null);
  return Number(m![1]);
}

/** What each example must print. */
const expectations: Record<string, (out: string) => void> = {
  "seq2seq_attention.ts": (out) => {
    // by chance a digit is right 1 time in 9: an untrained or attention-less guess stays far below 60%
    expect(number(out, /unseen strings: ([\d.]+)%/)).to.be.greaterThan(60);
  },
  "quickstart.ts": (out) => {
    expect(out).to.include("Total params: 15,809"); // GRU 3·(64·(16+64) + 2·64) = 15,744, Dense 65
    expect(out).to.include("Epoch 10/10");
    expect(out).to.include("fit() returned a new model value: true");
    // training works: the last epoch's error is well under the first's
    const first = number(out, /training mse: epoch 1 ([\d.]+)/);
    const last = number(out, /training mse: epoch 1 [\d.]+, epoch 10 ([\d.]+)/);
    expect(last).to.be.below(first / 2);
  },
  "addition_rnn.ts": (out) => {
    // chance would get a 3-character answer right with probability (1/12)^3; seeded run: 97%
    expect(number(out, /Held-out sums entirely right: \d+ of \d+ \(([\d.]+)%\)/)).to.be.above(80);
    expect(number(out, /Held-out character accuracy: ([\d.]+)%/)).to.be.above(90);
  },
  "stateful_lstm.ts": (out) => {
    // one value alone cannot tell the rising from the falling wave: only the carried state beats
    // "the next value = this value" by far (seeded run: 0.0005 against 0.0138)
    const stateful = number(out, /Test mse, stateful LSTM: +([\d.]+)/);
    const stateless = number(out, /Test mse, stateless LSTM: +([\d.]+)/);
    const repeat = number(out, /Test mse, "the next value = this value": ([\d.]+)/);
    expect(stateful).to.be.below(repeat / 4);
    expect(stateful).to.be.below(stateless / 4);
  },
  "imdb_bidirectional_gru.ts": (out) => {
    // balanced labels: a model that learned nothing scores about 50%
    expect(number(out, /Test accuracy: ([\d.]+)%/)).to.be.above(90);
    expect(number(out, /P\(positive\) = ([\d.]+) for "the plot was good/)).to.be.above(0.5);
    expect(number(out, /P\(positive\) = ([\d.]+) for "the plot was not good/)).to.be.below(0.5);
  },
  "gru_forecaster.ts": (out) => {
    // parameters by hand: GRU 3·(16·(1+16) + 16) with one bias vector, + 3·16 with reset_after's second;
    // Dense 16 + 1
    expect(out).to.match(/TRUE +929 /);
    expect(out).to.match(/FALSE +881 /);
    // the series' variance is about 0.63 (sines of amplitude 1 and 0.5): what a constant forecast scores
    for (const variant of ["TRUE", "FALSE"])
      expect(number(out, new RegExp(`${variant} +\\d+ +[\\d.]+ +([\\d.]+)`))).to.be.below(0.05);
  },
  "conv_lstm_next_frame.ts": (out) => {
    // guessing the square where it just was finds a quarter of its pixels (seeded run: model 95%)
    const model = number(out, /lit pixels of the last frame found: model (\d+)%/);
    const lazy = number(out, /"same as before" (\d+)%/);
    expect(model).to.be.above(70);
    expect(model).to.be.above(lazy + 30);
  },
};

describe("examples run", function () {
  this.timeout(600_000); // each finishes in well under a minute alone; CI machines may be shared
  it("there are examples", () => expect(examples).to.include.members(["train_gru.ts", ...Object.keys(expectations)]));

  it("examples/quickstart.ts is the README's first example", () => {
    const readme = /```ts\n([\s\S]*?)```/.exec(readFileSync(join(root, "README.md"), "utf8"))![1];
    const script = readFileSync(join(root, "examples", "quickstart.ts"), "utf8")
      .replace(/^\/\*\*[\s\S]*?\*\/\n/, "")
      .replace('from "../src/index.js"', 'from "tskeras"');
    expect(script.startsWith(readme), `examples/quickstart.ts does not start with:\n${readme}`).to.equal(true);
  });

  for (const file of examples) {
    it(`examples/${file}`, () => {
      const r = spawnSync(process.execPath, ["--import", "tsx", join("examples", file)], {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, KERAS_BACKEND: "" },
      });
      expect(r.status, `${file} failed:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`).to.equal(0);
      expectations[file]?.(r.stdout);
    });
  }
});
