/**
 * The R-habit hint (issue 11): dropping the result of fit / train_on_batch / compile / set_weights /
 * freeze_weights and then using the original value prints one hint (stderr, once per process); keeping results
 * for later, comparing copies and evaluating the untrained model beside the trained one print nothing.
 */
import { expect } from "chai";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  use_backend,
  keras_model_sequential,
  layer_dense,
  compile,
  fit,
  evaluate,
  predict,
  train_on_batch,
  get_weights,
  set_weights,
  freeze_weights,
  pop_layer,
  summary,
} from "../../src/index.js";
import { resetHintsForTests, settleHintsAtExitForTests } from "../../src/api/hints.js";
import type { Model, SequentialModel } from "../../src/model/model.js";
import { expectKerasError } from "./helpers.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const x = [
  [0, 1],
  [1, 0],
  [1, 1],
  [0, 0],
];
const y = [[1], [1], [2], [0]];
const quiet = { epochs: 1, batch_size: 4, verbose: 0 as const };

const net = (): Model => layer_dense(keras_model_sequential({ input_shape: [2] }), { units: 1 });
const compiledNet = (): Model => compile(net(), { optimizer: "sgd", loss: "mse" });

/** Runs `body`, returning what it wrote to stderr, with the one-time state reset before and after. */
async function stderrOf(body: () => Promise<void>, { atExit = false } = {}): Promise<string> {
  resetHintsForTests();
  const chunks: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    await body();
    if (atExit) settleHintsAtExitForTests();
  } finally {
    process.stderr.write = write;
    resetHintsForTests();
  }
  return chunks.join("");
}

const hints = (text: string): number => text.split("tskeras hint:").length - 1;

/** Lets the garbage collector take what the test dropped (the hint's proof that a result is gone). */
async function collect(): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  gc();
}

describe("the R-habit hint", function () {
  before(async () => {
    await use_backend("cpu");
  });
  afterEach(() => {
    delete process.env.TSKERAS_HINTS;
  });

  it("R's fit(model, x, y) in a loop, the result dropped: one hint, showing the TypeScript form", async () => {
    const model = compiledNet();
    const err = await stderrOf(async () => {
      for (let i = 0; i < 3; i++) {
        await fit(model, x, y, quiet);
        await collect();
      }
    });
    expect(hints(err)).to.equal(1);
    expect(err).to.include("fit() got a model value that was already given to fit()");
    expect(err).to.include("const { model: trained } = await fit(model, x, y);");
    expect(err).to.include("model = (await fit(model, x, y)).model;");
    expect(err).to.include("TSKERAS_HINTS=0");
  });

  it("without garbage collection: fit; evaluate; fit of one value gives the hint at the second fit", async () => {
    const model = compiledNet();
    const err = await stderrOf(async () => {
      for (let round = 0; round < 3; round++) {
        await fit(model, x, y, quiet);
        await evaluate(model, x, y, { verbose: 0 });
      }
    });
    expect(hints(err)).to.equal(1);
    expect(err).to.include("evaluate() got a model value that was already given to fit()");
  });

  it("without garbage collection: the same fit of one value repeated gives the hint at the third call", async () => {
    const model = compiledNet();
    const err = await stderrOf(async () => {
      for (let round = 0; round < 3; round++) await fit(model, x, y, quiet);
    });
    expect(hints(err)).to.equal(1);
    expect(err).to.include("fit() got a model value that was already given to fit()");
  });

  it("history <- fit(model); evaluate(model): the untrained model evaluated, the trained one never read", async () => {
    const model = compiledNet();
    const err = await stderrOf(async () => {
      const { history } = await fit(model, x, y, quiet);
      expect(history).to.be.an("object");
      await collect();
      await evaluate(model, x, y, { verbose: 0 });
    });
    expect(hints(err)).to.equal(1);
    expect(err).to.include("evaluate() got a model value that was already given to fit()");
  });

  it("a result still held but never read: the hint comes at exit", async () => {
    const model = compiledNet();
    const kept: unknown[] = [];
    const err = await stderrOf(
      async () => {
        kept.push(await fit(model, x, y, quiet));
        await collect();
        await predict(model, x, { verbose: 0 });
      },
      { atExit: true },
    );
    expect(hints(err)).to.equal(1);
    expect(kept).to.have.length(1);
  });

  it("train_on_batch(model, x, y) repeated with the result dropped", async () => {
    const model = compiledNet();
    const err = await stderrOf(async () => {
      await train_on_batch(model, x, y);
      await collect();
      await train_on_batch(model, x, y);
    });
    expect(hints(err)).to.equal(1);
    expect(err).to.include("model = (await train_on_batch(model, x, y)).model;");
  });

  it("set_weights / freeze_weights results dropped, then the original fitted", async () => {
    for (const drop of [(m: Model) => set_weights(m, get_weights(m)), (m: Model) => freeze_weights(m, { to: 1 })]) {
      const model = compiledNet();
      const err = await stderrOf(async () => {
        drop(model);
        await collect();
        const { model: trained } = await fit(model, x, y, quiet);
        expect(trained).to.not.equal(model);
      });
      expect(hints(err)).to.equal(1);
      expect(err).to.match(/fit\(\) got a model value whose (set_weights|freeze_weights)\(\) result was never used/);
    }
  });

  it("freeze_weights dropped before compile: seen through the compiled value", async () => {
    const model = net();
    const err = await stderrOf(async () => {
      freeze_weights(model, { to: 1 });
      await collect();
      await fit(compile(model, { optimizer: "sgd", loss: "mse" }), x, y, quiet);
    });
    expect(hints(err)).to.equal(1);
    expect(err).to.include("freeze_weights() result was never used");
  });

  it("a compiled model compiled again with the result dropped, then fitted: the hint names compile()", async () => {
    const model = compiledNet();
    const err = await stderrOf(async () => {
      compile(model, { optimizer: "adam", loss: "mae" });
      await collect();
      await fit(model, x, y, quiet).then((r) => r.model);
    });
    expect(hints(err)).to.equal(1);
    expect(err).to.include("fit() got a model value whose compile() result was never used");
    expect(err).to.include("model = compile(model, ...);");
  });

  it("compile(model) dropped, then fit(model): the error says compile() returns a new model", async () => {
    const model = net();
    compile(model, { optimizer: "sgd", loss: "mse" });
    await expectKerasError(
      () => fit(model, x, y, quiet),
      /must be compiled first \(this value was given to compile\(\), which returns a new, compiled model/,
      /const compiled = compile\(model, \{ \.\.\. \}\), then fit\(compiled, \.\.\.\)/,
    );
    await expectKerasError(() => fit(net(), x, y, quiet), /must be compiled first: compile\(model, \{ optimizer/);
  });

  describe("legitimate patterns print nothing", () => {
    it("model = (await fit(model, ...)).model in a loop; evaluating the untrained model beside the trained one", async () => {
      let model = compiledNet();
      const untrained = model;
      const err = await stderrOf(
        async () => {
          for (let i = 0; i < 3; i++) {
            model = (await fit(model, x, y, quiet)).model;
            await collect();
          }
          const { model: trained } = await fit(untrained, x, y, quiet);
          await collect();
          await evaluate(untrained, x, y, { verbose: 0 });
          await evaluate(trained, x, y, { verbose: 0 });
        },
        { atExit: true },
      );
      expect(err).to.equal("");
    });

    it("one value fitted several times for comparison, the results kept and read later", async () => {
      const model = compiledNet();
      const err = await stderrOf(
        async () => {
          const runs = [];
          for (const batch_size of [1, 2, 4]) runs.push(await fit(model, x, y, { ...quiet, batch_size }));
          await collect();
          await evaluate(model, x, y, { verbose: 0 }); // the baseline
          for (const run of runs) await evaluate(run.model, x, y, { verbose: 0 });
        },
        { atExit: true },
      );
      expect(err).to.equal("");
    });

    it("without garbage collection: the untrained model evaluated between training and reading the result", async () => {
      const model = compiledNet();
      const err = await stderrOf(
        async () => {
          const runs = [];
          for (const batch_size of [1, 2, 4]) runs.push(await fit(model, x, y, { ...quiet, batch_size }));
          const r = await fit(model, x, y, { ...quiet, epochs: 2 });
          await evaluate(model, x, y, { verbose: 0 }); // the baseline
          await evaluate(r.model, x, y, { verbose: 0 });
          for (const run of runs) await predict(run.model, x, { verbose: 0 });
        },
        { atExit: true },
      );
      expect(err).to.equal("");
    });

    it("derived values kept: a frozen copy and the original both trained; set_weights result used", async () => {
      const base = compiledNet();
      const err = await stderrOf(
        async () => {
          const frozen = freeze_weights(base, { to: 1 });
          await collect();
          await fit(base, x, y, quiet).then((r) => r.model);
          await collect();
          await fit(frozen, x, y, quiet).then((r) => r.model);
          const zeroed = set_weights(base, get_weights(base));
          summary(zeroed, { print: false });
          await collect();
          await evaluate(base, x, y, { verbose: 0 });
          const c = compile(base, { optimizer: "adam", loss: "mse" });
          await collect();
          await evaluate(base, x, y, { verbose: 0 }); // compiled differently, compared with the original
          await evaluate(c, x, y, { verbose: 0 });
        },
        { atExit: true },
      );
      expect(err).to.equal("");
    });
    it("an immutability demo: derived values inspected by their fields, the original evaluated", async () => {
      const model = compiledNet();
      const err = await stderrOf(
        async () => {
          expect(pop_layer(model as SequentialModel).layers.length).to.equal(0);
          expect(freeze_weights(model).layers[0].trainable).to.equal(false);
          expect(set_weights(model, get_weights(model)).layers.length).to.equal(1);
          await collect();
          await evaluate(model, x, y, { verbose: 0 });
          await predict(model, x, { verbose: 0 });
        },
        { atExit: true },
      );
      expect(err).to.equal("");
    });
  });

  it("a call that fails on its arguments uses nothing", async () => {
    const model = compiledNet();
    const err = await stderrOf(
      async () => {
        pop_layer(model as SequentialModel);
        await collect();
        await expectKerasError(
          () => fit(model, x, y, { bogus_argument: 1 } as any),
          /unknown argument `bogus_argument`/,
        );
        await expectKerasError(() => evaluate(model, x, y, { bogus_argument: 1 } as any), /bogus_argument/);
      },
      { atExit: true },
    );
    expect(err).to.equal("");
  });

  it("keeps no model alive: the values of a chain of fits, set_weights and compiles are collected", async () => {
    let model = compiledNet();
    const first = new WeakRef(model);
    for (let i = 0; i < 3; i++) {
      model = (await fit(model, x, y, quiet)).model;
      model = compile(set_weights(model, get_weights(model)), { optimizer: "sgd", loss: "mse" });
    }
    await collect();
    expect(first.deref()).to.equal(undefined);
    expect(model.compiled).to.not.equal(null);
  });

  it("keeps no trained model alive in a loop that never waits for I/O (one job: WeakRefs would keep their targets to its end)", async () => {
    // 1,000 inputs × 250 units: each fit's trained model holds ≈ 3 MB of weights and Adam slots
    let model = compile(layer_dense(keras_model_sequential({ input_shape: [1000] }), { units: 250 }), {
      optimizer: "adam",
      loss: "mse",
    });
    const xs = [Array.from({ length: 1000 }, (_, i) => Math.sin(i))];
    const ys = [Array.from({ length: 250 }, (_, i) => Math.cos(i))];
    model = (await fit(model, xs, ys, quiet)).model;
    gc();
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 40; i++) model = (await fit(model, xs, ys, quiet)).model;
    set_weights(model, get_weights(model));
    gc(); // in the same job as the loop
    const grown = (process.memoryUsage().arrayBuffers - before) / 2 ** 20;
    expect(grown, "MiB of array buffers left after 40 fits (each ≈ 2.9 MiB)").to.be.below(30);
  });

  it("TSKERAS_HINTS=0 silences it", async () => {
    process.env.TSKERAS_HINTS = "0";
    const model = compiledNet();
    const err = await stderrOf(
      async () => {
        await fit(model, x, y, quiet);
        await collect();
        await fit(model, x, y, quiet);
      },
      { atExit: true },
    );
    expect(err).to.equal("");
  });

  it("printing a fit result shows its values and counts as reading it", async () => {
    const model = compiledNet();
    const r = await fit(model, x, y, quiet);
    const { inspect } = await import("node:util");
    expect(inspect(r, { depth: 0 })).to.not.include("[Getter]");
    expect(Object.keys(r)).to.deep.equal(["model", "history"]);
    expect(Object.isFrozen(r)).to.equal(true);
  });
});
