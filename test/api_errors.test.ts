/**
 * Bad input never surfaces as a raw error: every exported function, given an unknown argument (alone or
 * after a model), throws a KerasError — or, for the few functions that take no options, ignores it —
 * and no call throws anything but a KerasError.
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import * as api from "../src/index.js";

/** Functions without an options record: an extra argument is simply unused. */
const TAKE_NO_OPTIONS = new Set([
  "backend_info",
  "backend_ready",
  "callback_terminate_on_nan",
  "constraint_nonneg",
  "count_params",
  "get_config",
  "get_weights",
  "pop_layer",
]);

async function outcome(call: () => unknown): Promise<"ok" | "KerasError" | string> {
  try {
    const r = call();
    if (r instanceof Promise) await r;
    return "ok";
  } catch (e) {
    return e instanceof api.KerasError ? "KerasError" : `raw ${(e as Error)?.name}: ${(e as Error)?.message}`;
  }
}

describe("every public function rejects bad arguments with a KerasError", function () {
  this.timeout(60_000);
  const model = pipe(
    api.keras_model_sequential({ input_shape: [3, 2] }),
    api.layer_gru({ units: 2 }),
    api.layer_dense({ units: 1 }),
    api.compile({ optimizer: "sgd", loss: "mse" }),
  );
  const functions = Object.entries(api).filter(([name, f]) => typeof f === "function" && /^[a-z]/.test(name));

  it("covers the whole public API", () => expect(functions.length).to.be.greaterThan(150));

  for (const [name, f] of functions) {
    it(name, async () => {
      const warn = console.warn;
      const log = console.log;
      console.warn = console.log = () => undefined; // deprecation notes, summaries
      try {
        const alone = await outcome(() => (f as any)({ bogus_argument: 1 }));
        const afterModel = await outcome(() => (f as any)(model, { bogus_argument: 1 }));
        for (const o of [alone, afterModel]) expect(o, name).to.be.oneOf(["ok", "KerasError"]);
        if (!TAKE_NO_OPTIONS.has(name)) expect([alone, afterModel], name).to.include("KerasError");
      } finally {
        console.warn = warn;
        console.log = log;
      }
    });
  }

  it("names the function and suggests the closest argument", () => {
    expect(() => api.layer_gru({ unit: 4 } as any)).to.throw(
      api.KerasError,
      /^layer_gru\(\): .*unknown argument `unit`; did you mean `units`\?/s,
    );
    expect(() => api.layer_gru({ units: 2 })([[[1, 2]]], { trainig: true } as any)).to.throw(
      api.KerasError,
      'layer_gru(): calling layer "gru": unknown argument `trainig`; did you mean `training`?',
    );
    expect(() => api.initializer_orthogonal({ gian: 2 } as any)).to.throw(
      /initializer_orthogonal\(\): unknown argument `gian`; did you mean `gain`\?/,
    );
    expect(() => api.freeze_weights(model, { form: 1 } as any)).to.throw(
      /freeze_weights\(\): unknown argument `form`; did you mean `from`\?/,
    );
    expect(() => api.summary({} as any)).to.throw(/summary\(\): `model` must be a model/);
    expect(() => api.activation_relu("x" as any)).to.throw(
      /activation_relu\(\): `x` must be a tf.Tensor, a nested array of numbers, a typed array or \{ data, shape \}, got "x"/,
    );
  });
});
