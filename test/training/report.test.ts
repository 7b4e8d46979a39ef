import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  use_backend,
  keras_model_sequential,
  layer_dense,
  compile,
  fit,
  optimizer_sgd,
  print_history,
  as_data_frame,
  plot_history,
} from "../../src/index.js";
import { Progbar, formatLogValue, resolveVerbose } from "../../src/report/progress.js";
import { makeHistory } from "../../src/report/history.js";
import { expectKerasError } from "./helpers.js";
import { temporaryFolders } from "../helpers/temporary_folders.js";

/** A fake clock and a string sink for the progress bar. */
function fakeIO(times: number[]) {
  const out: string[] = [];
  let i = 0;
  return { io: { write: (s: string) => void out.push(s), now: () => times[Math.min(i++, times.length - 1)] }, out };
}
// eslint-disable-next-line no-control-regex -- ANSI escape sequences are what is being removed
const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

describe("training: progress bar, history, plot", function () {
  const tmp = temporaryFolders("tskeras-plot-");
  this.timeout(60000);
  before(async () => {
    await use_backend("wasm");
  });

  it("formats values as Keras: %.4f, or %.4e below 1e-3", () => {
    expect(formatLogValue(0.03134)).to.equal("0.0313");
    expect(formatLogValue(12.5)).to.equal("12.5000");
    expect(formatLogValue(0.00052)).to.equal("5.2000e-04");
    expect(formatLogValue(-0.00052)).to.equal("-5.2000e-04");
    expect(formatLogValue(0)).to.equal("0.0000e+00");
  });

  it("verbose 2: one line `32/32 - 1s - 31ms/step - loss: ... - val_loss: ...`", () => {
    // start 0; steps end at 0.1, then 1.1 (first step excluded from the per-step time): (1.1 - 0.1) / 31 steps... use 2 steps
    const { io, out } = fakeIO([0, 0.5, 1.0, 1.031]);
    const bar = new Progbar(2, 2, io);
    bar.update(1, [["loss", 0.5]]); // t = 0.5: first step
    bar.update(2, [["loss", 0.25]], true); // t = 1.0: (1.0 - 0.5) / 1 = 500ms/step, elapsed 1s
    expect(out).to.deep.equal(["2/2 - 1s - 500ms/step - loss: 0.2500\n"]);
    const p = fakeIO([0, 0.01, 0.042]);
    const bar32 = new Progbar(32, 2, p.io);
    bar32.update(1, []);
    bar32.update(
      32,
      [
        ["loss", 0.0313],
        ["mae", 0.052],
        ["val_loss", 0.0004],
      ],
      true,
    );
    // (0.042 - 0.01) / 31 = 1.03ms/step; elapsed 0.042 -> 0s
    expect(p.out).to.deep.equal(["32/32 - 0s - 1ms/step - loss: 0.0313 - mae: 0.0520 - val_loss: 4.0000e-04\n"]);
  });

  it("verbose 1: a 20-wide bar, green done part, ETA while running, time at the end", () => {
    const { io, out } = fakeIO([0, 1, 2, 4]);
    const bar = new Progbar(4, 1, io, 0);
    bar.update(1, [["loss", 1]]); // t = 1: 1 s/step, ETA 3s
    bar.update(2, [["loss", 0.5]]); // t = 2: (2 - 1) / 1 = 1s/step, ETA 2s
    bar.update(4, [["loss", 0.25]], true); // t = 4: (4 - 1) / 3 = 1s/step, elapsed 4s
    expect(strip(out[0])).to.equal("\r1/4 " + "━".repeat(20) + " 3s 1s/step - loss: 1.0000");
    expect(out[0]).to.include("\x1b[32m" + "━".repeat(5) + "\x1b[0m"); // 5 of 20 done, in green
    expect(strip(out[1])).to.equal("\r2/4 " + "━".repeat(20) + " 2s 1s/step - loss: 0.5000");
    expect(strip(out[2])).to.equal("\r4/4 " + "━".repeat(20) + " 4s 1s/step - loss: 0.2500\n");
  });

  it("fit with verbose 2 prints `Epoch i/n` and one Keras line per epoch", async () => {
    const model = compile(layer_dense(keras_model_sequential({ input_shape: [1] }), { units: 1 }), {
      optimizer: optimizer_sgd({ learning_rate: 0 }),
      loss: "mse",
      metrics: ["mae"],
    });
    const written: string[] = [];
    const original = process.stdout.write;
    (process.stdout as any).write = (s: string) => (written.push(String(s)), true);
    try {
      await fit(model, [[1], [2], [3]], [[0], [0], [0]], {
        epochs: 2,
        batch_size: 2,
        verbose: 2,
        validation_data: [[[1]], [[0]]],
      });
    } finally {
      (process.stdout as any).write = original;
    }
    const lines = written.join("").split("\n").filter(Boolean);
    expect(lines).to.have.length(4);
    expect(lines[0]).to.equal("Epoch 1/2");
    expect(lines[2]).to.equal("Epoch 2/2");
    // values as Keras prints them: %.4f, or %.4e below 1e-3 (the random weights decide which)
    const v = String.raw`\d+\.\d{4}(e[-+]\d{2})?`;
    const line = new RegExp(
      String.raw`^2\/2 - \d+s - \d+(s|ms|us)\/step - loss: ${v} - mae: ${v} - val_loss: ${v} - val_mae: ${v}$`,
    );
    expect(lines[1]).to.match(line);
    expect(lines[3]).to.match(line);
  });

  it('"auto" verbosity is silent under the test runner', () => {
    expect(resolveVerbose("auto")).to.equal(0);
    expect(resolveVerbose(2)).to.equal(2);
  });

  it('history values print with 4 significant digits, as R\'s prettyNum(format = "fg", digits = 4)', () => {
    // R: prettyNum(c(0.0419612, 0.98781, 12.3456, 1234.567, 2e-5), format = "fg", digits = 4)
    //    -> "0.04196" "0.9878" "12.35" "1235" "0.00002"
    const h = makeHistory({ epochs: 1, steps: 1, verbose: 0 }, [0], {
      loss: [0.0419612],
      acc: [0.98781],
      mse: [12.3456],
      sse: [1234.567],
      tiny: [2e-5],
    });
    expect(String(h).split("\n").slice(1)).to.deep.equal([
      "loss: 0.04196",
      " acc: 0.9878",
      " mse: 12.35",
      " sse: 1235",
      "tiny: 0.00002",
    ]);
  });

  it("history prints R's way and reshapes to long rows", () => {
    const h = makeHistory({ epochs: 2, steps: 1, verbose: 0 }, [0, 1], {
      loss: [1, 0.123456789],
      mae: [0.9, 0.5],
      val_loss: [1.5, 0.25],
    });
    expect(String(h)).to.equal("Final epoch (plot to see history):\n    loss: 0.1235\n     mae: 0.5\nval_loss: 0.25");
    expect(Object.isFrozen(h) && Object.isFrozen(h.metrics) && Object.isFrozen(h.metrics.loss)).to.equal(true);
    const rows = as_data_frame(h);
    expect(rows).to.have.length(6);
    expect(rows[0]).to.deep.equal({ epoch: 1, value: 1, metric: "loss", data: "training" });
    expect(rows[5]).to.deep.equal({ epoch: 2, value: 0.25, metric: "loss", data: "validation" });
    const logged: string[] = [];
    const orig = console.log;
    console.log = (s: string) => void logged.push(s);
    try {
      print_history(h);
    } finally {
      console.log = orig;
    }
    expect(logged).to.deep.equal([String(h)]);
  });

  it("plot_history writes an SVG with one panel per metric", async () => {
    const h = makeHistory({ epochs: 3, steps: 1, verbose: 0 }, [0, 1, 2], {
      loss: [1, 0.5, 0.25],
      mae: [0.9, 0.5, 0.3],
      auc: [0.5, 0.7, 0.9],
      val_loss: [1.1, 0.6, 0.4],
      val_mae: [1, 0.6, 0.5],
    });
    const dir = tmp();
    const file = join(dir, "history.svg");
    const svg = await plot_history(h, { file });
    expect(readFileSync(file, "utf8")).to.equal(svg);
    expect(readdirSync(dir)).to.deep.equal(["history.svg"]);
    expect(svg.startsWith("<svg")).to.equal(true);
    const panels = svg.match(/class="mark-group role-scope concat_\d+_group"/g) ?? [];
    expect(panels).to.have.length(3); // loss, mae, auc
    for (const name of ["loss", "mae", "auc", "training", "validation"]) expect(svg).to.include(`>${name}<`);
    await expectKerasError(() => plot_history({} as any), /plot_history\(\)/, /history/);
    await expectKerasError(() => plot_history(h, { file: join(dir, "x.pdf") }), /\.svg/);
  });
});
