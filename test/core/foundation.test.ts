/**
 * Issue 2 "Done when": dispatch in all four modes, shared and eager weights, immutability, argument
 * errors, summary text and parameter counts, K2/K3 input forms, inspection verbs, no tensor leaks.
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import { tf } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { KerasError } from "../../src/errors.js";
import { keras_model_sequential } from "../../src/model/sequential.js";
import { keras_model } from "../../src/model/functional.js";
import { layer_input, isSymbolic } from "../../src/model/symbolic.js";
import { isLayer } from "../../src/model/layer.js";
import { isModel } from "../../src/model/guards.js";
import type { Model, SequentialModel } from "../../src/model/model.js";
import {
  count_params,
  freeze_weights,
  get_layer,
  get_weights,
  pop_layer,
  set_weights,
  unfreeze_weights,
} from "../../src/api/weights.js";
import { summaryText } from "../../src/report/summary.js";
import * as L from "../../src/layers/core/index.js";
import { expectClose, flat } from "./helpers.js";

const summaryOf = (m: Model) => summaryText(m, { print: false });
/** Everything a user can observe about a model, to check that a verb left it unchanged. */
const snapshot = (m: Model) =>
  JSON.stringify({
    summary: summaryOf(m),
    weights: get_weights(m),
    names: m.layers.map((l) => [l.name, l.trainable]),
    frozen: Object.isFrozen(m),
  });

describe("foundation", function () {
  before(async () => {
    await use_backend("wasm");
  });

  describe("dispatch on the first argument", () => {
    const cases: { name: string; make: (object?: any) => any; shape: number[]; data: any; out: number[] }[] = [
      {
        name: "layer_dense",
        make: (o?: any) => (o === undefined ? L.layer_dense({ units: 3 }) : L.layer_dense(o, { units: 3 })),
        shape: [4],
        data: [[1, 2, 3, 4]],
        out: [1, 3],
      },
      {
        name: "layer_dropout",
        make: (o?: any) => (o === undefined ? L.layer_dropout({ rate: 0.5 }) : L.layer_dropout(o, { rate: 0.5 })),
        shape: [4],
        data: [[1, 2, 3, 4]],
        out: [1, 4],
      },
      {
        name: "layer_conv_1d",
        make: (o?: any) =>
          o === undefined
            ? L.layer_conv_1d({ filters: 2, kernel_size: 2 })
            : L.layer_conv_1d(o, { filters: 2, kernel_size: 2 }),
        shape: [3, 1],
        data: [[[1], [2], [3]]],
        out: [1, 2, 2],
      },
      {
        name: "layer_embedding",
        make: (o?: any) =>
          o === undefined
            ? L.layer_embedding({ input_dim: 5, output_dim: 2 })
            : L.layer_embedding(o, { input_dim: 5, output_dim: 2 }),
        shape: [3],
        data: [[1, 2, 4]],
        out: [1, 3, 2],
      },
    ];
    for (const c of cases) {
      it(`${c.name}: none → layer, model → model, symbolic → symbolic, data → tf.Tensor`, () => {
        const layer = c.make();
        expect(isLayer(layer)).to.equal(true);
        expect(typeof layer).to.equal("function");
        expect(Object.isFrozen(layer)).to.equal(true);

        const model = keras_model_sequential({ input_shape: c.shape });
        const appended = c.make(model);
        expect(isModel(appended)).to.equal(true);
        expect(appended.layers.length).to.equal(1);
        expect(model.layers.length).to.equal(0);
        expect(pipe(model, c.make() as (m: unknown) => SequentialModel).layers.length).to.equal(1);

        const sym = c.make(layer_input({ shape: c.shape }));
        expect(isSymbolic(sym)).to.equal(true);
        expect(sym.shape).to.deep.equal([null, ...c.out.slice(1)]);

        for (const data of [c.data, tf.tensor(c.data)]) {
          const y = c.make(data);
          expect(y).to.be.instanceOf(tf.Tensor);
          expect(y.shape).to.deep.equal(c.out);
          y.dispose();
          if (data instanceof tf.Tensor) data.dispose();
        }
        const viaValue = pipe(tf.tensor(c.data), layer as (x: tf.Tensor) => tf.Tensor);
        expect(viaValue.shape).to.deep.equal(c.out);
        viaValue.dispose();
      });
    }
    it("merge layers take a list in every mode", () => {
      const a = layer_input({ shape: [2] });
      const b = layer_input({ shape: [2] });
      expect(L.layer_add([a, b]).shape).to.deep.equal([null, 2]);
      const y = L.layer_concatenate([[[1, 2]], [[3, 4]]], { axis: -1 }) as tf.Tensor;
      expect(flat(y)).to.deep.equal([1, 2, 3, 4]);
      y.dispose();
      expect(() => L.layer_add(keras_model_sequential({ input_shape: [2] }))).to.throw(KerasError, /layer_add\(\)/);
    });
  });

  describe("weights are shared and kept", () => {
    it("a layer applied twice in a functional model shares its weights", () => {
      const input = layer_input({ shape: [3] });
      const dense = L.layer_dense({ units: 2 });
      const model = keras_model({
        inputs: input,
        outputs: [dense(input), dense(L.layer_activation(input, { activation: "relu" }))],
      });
      expect(model.layers.filter((l) => l.className === "Dense").length).to.equal(1);
      expect(count_params(model)).to.equal(8); // one kernel 3×2 + bias 2
      expect(get_weights(model).length).to.equal(2);
      expect(summaryOf(model)).to.match(/Total params: 8\n/);
    });
    it("an eager layer keeps the weights it built across calls", () => {
      const dense = L.layer_dense({ units: 2 });
      // x = identity rows: y = rows of the kernel (+ zero bias)
      const y1 = flat(
        dense([
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ]),
      );
      const y2 = flat(
        dense([
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ]),
      );
      expect(y2).to.deep.equal(y1);
      const [kernel, bias] = get_weights(dense);
      expectClose(y1, (kernel as number[][]).flat(), 1e-6);
      expect(bias).to.deep.equal([0, 0]);
      expect(Math.max(...y1.map(Math.abs))).to.be.greaterThan(0);
    });
    it("set_weights on a layer gives a new layer; the original keeps its numbers", () => {
      const dense = L.layer_dense({ units: 1, input_shape: [2] });
      const before = get_weights(dense);
      const updated = set_weights(dense, [[[2], [3]], [1]]);
      expect(flat(updated([[1, 1]]))).to.deep.equal([6]); // 2 + 3 + 1
      expect(get_weights(dense)).to.deep.equal(before);
    });
  });

  describe("immutability", () => {
    const base = () =>
      keras_model_sequential({ input_shape: [4], layers: [L.layer_dense({ units: 3 }), L.layer_dense({ units: 2 })] });
    it("values are frozen", () => {
      const m = base();
      expect(Object.isFrozen(m)).to.equal(true);
      expect(Object.isFrozen(m.layers)).to.equal(true);
      expect(Object.isFrozen(m.layers[0])).to.equal(true);
      expect(Object.isFrozen(m.layers[0].config)).to.equal(true);
      expect(Object.isFrozen(layer_input({ shape: [2] }))).to.equal(true);
      expect(() => {
        (m as any).name = "x";
      }).to.throw(TypeError);
    });
    it("every verb leaves its argument unchanged", () => {
      const m = base();
      const s = snapshot(m);
      const verbs: [string, () => unknown][] = [
        ["append", () => L.layer_dense(m, { units: 5 })],
        ["pipe append", () => pipe(m, L.layer_dropout({ rate: 0.1 }))],
        [
          "set_weights",
          () =>
            set_weights(
              m,
              get_weights(m).map((w: any) =>
                JSON.parse(JSON.stringify(w, (_k, v) => (typeof v === "number" ? v + 1 : v))),
              ),
            ),
        ],
        ["freeze_weights", () => freeze_weights(m, { from: 1, to: 1 })],
        ["unfreeze_weights", () => unfreeze_weights(freeze_weights(m))],
        ["pop_layer", () => pop_layer(m)],
        ["get_layer", () => get_layer(m, { index: 2 })],
      ];
      for (const [name, verb] of verbs) {
        const out = verb();
        expect(out, name).to.not.equal(m);
        expect(snapshot(m), `${name} changed its argument`).to.equal(s);
      }
    });
  });

  describe("argument errors", () => {
    const message = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).to.be.instanceOf(KerasError);
        return (e as Error).message;
      }
      return expect.fail("expected a KerasError");
    };
    it("an unknown name suggests the closest one", () => {
      expect(message(() => L.layer_dense({ units: 4, unit: 4 } as any))).to.equal(
        "layer_dense(): unknown argument `unit`; did you mean `units`?",
      );
      expect(message(() => L.layer_dense({ unit: 4 } as any)))
        .to.match(/unknown argument `unit`; did you mean `units`\?/)
        .and.to.match(/`units` is required/);
      expect(message(() => L.layer_conv_1d({ filters: 2, kernel_siz: 3 } as any))).to.match(
        /did you mean `kernel_size`/,
      );
    });
    it("integers as R coerces them: 4.0 accepted, 4.5 rejected", () => {
      expect(L.layer_dense({ units: 4.0 }).config.units).to.equal(4);
      expect(message(() => L.layer_dense({ units: 4.5 }))).to.equal(
        "layer_dense(): `units` must be a positive integer, got 4.5",
      );
      expect(message(() => L.layer_dense({ units: 0 }))).to.match(/positive integer, got 0/);
      expect(message(() => L.layer_repeat_vector({ n: -1 }))).to.match(/`n` must be a positive integer/);
    });
    it("wrong types, missing required arguments, every problem at once", () => {
      expect(message(() => L.layer_dense({ units: 2, use_bias: "yes" } as any))).to.match(
        /`use_bias` must be TRUE or FALSE.*got "yes"/,
      );
      // @ts-expect-error: a misspelled activation (the test of the run-time message)
      expect(message(() => L.layer_dense({ units: 2, activation: "relux" }))).to.match(
        /`activation` must be an activation name/,
      );
      // @ts-expect-error: `rate` is required (the test of the run-time message)
      expect(message(() => L.layer_dropout({}))).to.match(/`rate` is required/);
      expect(message(() => L.layer_dropout({ rate: 1.5 }))).to.match(/`rate` must be a number in \[0, 1\)/);
      const all = message(() => L.layer_dense({ unit: 2, use_bias: 1, kernel_initializer: "nope" } as any));
      expect(all)
        .to.match(/unknown argument `unit`/)
        .and.to.match(/`use_bias`/)
        .and.to.match(/`kernel_initializer`/)
        .and.to.match(/`units` is required/);
      expect(message(() => L.layer_conv_1d({ filters: 2, kernel_size: 3, padding: "full" } as any))).to.match(
        /`padding` must be one of "valid", "same", "causal"/,
      );
    });
    it("null is an unknown dimension; other non-integers are rejected", () => {
      const m = keras_model_sequential({
        input_shape: [null, 3],
        layers: [L.layer_conv_1d({ filters: 2, kernel_size: 2 })],
      });
      expect(m.shapes![0][0]).to.deep.equal([null, null, 2]);
      expect(message(() => keras_model_sequential({ input_shape: ["a", 3] as any }))).to.match(
        /`input_shape` must be a shape/,
      );
      expect(message(() => L.layer_dense({ units: 2, input_shape: [2.5] }))).to.match(/`input_shape` must be a shape/);
    });
    it("shape misfits are raised at composition, naming both layers and shapes", () => {
      const m = keras_model_sequential({ input_shape: [3], layers: [L.layer_dense({ units: 4 })] });
      const msg = message(() => L.layer_conv_1d(m, { filters: 2, kernel_size: 2 }));
      expect(msg)
        .to.match(/"conv1d"/)
        .and.to.match(/"dense"/)
        .and.to.match(/\(None, 4\)/)
        .and.to.match(/rank 3/);
      const a = layer_input({ shape: [3], name: "left" });
      const b = layer_input({ shape: [4], name: "right" });
      const fmsg = message(() => L.layer_add([a, b]));
      expect(fmsg)
        .to.match(/"left", "right"/)
        .and.to.match(/\(None, 3\) and \(None, 4\)/);
    });
    it("get_layer: 1-based index, 0 is an error, names listed when missing", () => {
      const m = keras_model_sequential({
        input_shape: [3],
        layers: [L.layer_dense({ units: 4, name: "first" }), L.layer_dense({ units: 1 })],
      });
      expect(get_layer(m, { index: 1 }).name).to.equal("first");
      expect(get_layer(m, { name: "dense" }).config.units).to.equal(1);
      expect(message(() => get_layer(m, { index: 0 }))).to.match(/1-based/);
      expect(message(() => get_layer(m, { index: 3 }))).to.match(/between 1 and 2/);
      expect(message(() => get_layer(m, { name: "nope" }))).to.match(/layers: first, dense/);
    });
  });

  describe("summary()", () => {
    // Keras 2 columns: sequential width 65, stops at 45% / 85% / 100% = 29, 55, 65 — a cell keeps 2
    // spaces before the next stop and the first cell starts with a space; a blank row follows each layer.
    const seqRow = (a: string, b: string, c: string) => (" " + a).padEnd(29) + b.padEnd(26) + c.padEnd(10);
    it("sequential: the Keras table and parameter counts", () => {
      const model = keras_model_sequential({
        input_shape: [128],
        layers: [
          L.layer_dense({ units: 10, activation: "relu" }),
          L.layer_dropout({ rate: 0.5 }),
          L.layer_dense({ units: 1 }),
        ],
      });
      const blank = " ".repeat(65);
      // Dense(10) on 128: 128·10 + 10 = 1,290; Dense(1) on 10: 11
      const expected = [
        'Model: "sequential"',
        "_".repeat(65),
        seqRow("Layer (type)", "Output Shape", "Param #"),
        "=".repeat(65),
        seqRow("dense (Dense)", "(None, 10)", "1290"),
        blank,
        seqRow("dropout (Dropout)", "(None, 10)", "0"),
        blank,
        seqRow("dense_1 (Dense)", "(None, 1)", "11"),
        blank,
        "=".repeat(65),
        "Total params: 1,301",
        "Trainable params: 1,301",
        "Non-trainable params: 0",
        "_".repeat(65),
      ].join("\n");
      expect(summaryOf(model)).to.equal(expected);
      expect(count_params(model)).to.equal(1301);
    });
    it('functional: Connected to, InputLayer shapes in a list, Keras line breaks after "\',"', () => {
      // width 98, stops at 33% / 55% / 67% = 32, 53, 65, 98
      const row = (a: string, b: string, c: string, d: string) =>
        (" " + a).padEnd(32) + b.padEnd(21) + c.padEnd(12) + d.padEnd(33);
      const a = layer_input({ shape: [3], name: "a" });
      const b = layer_input({ shape: [2], name: "b" });
      const out = L.layer_dense(L.layer_concatenate([a, b]), { units: 2, name: "out" });
      const model = keras_model({ inputs: [a, b], outputs: out, name: "fn" });
      const blank = " ".repeat(98);
      const expected = [
        'Model: "fn"',
        "_".repeat(98),
        row("Layer (type)", "Output Shape", "Param #", "Connected to"),
        "=".repeat(98),
        row("a (InputLayer)", "[(None, 3)]", "0", "[]"),
        blank,
        row("b (InputLayer)", "[(None, 2)]", "0", "[]"),
        blank,
        row("concatenate (Concatenate)", "(None, 5)", "0", "['a[0][0]',"),
        " ".repeat(65) + " 'b[0][0]']".padEnd(33),
        blank,
        row("out (Dense)", "(None, 2)", "12", "['concatenate[0][0]']"), // 5·2 + 2
        blank,
        "=".repeat(98),
        "Total params: 12",
        "Trainable params: 12",
        "Non-trainable params: 0",
        "_".repeat(98),
      ].join("\n");
      expect(summaryOf(model)).to.equal(expected);
    });
    it("freeze/unfreeze move counts between trainable and non-trainable; batch norm's moving stats are non-trainable", () => {
      const model = keras_model_sequential({
        input_shape: [128],
        layers: [L.layer_dense({ units: 10 }), L.layer_batch_normalization(), L.layer_dense({ units: 1 })],
      });
      // 1,290 + BN 4·10 (20 trainable, 20 moving) + 11
      expect(summaryOf(model)).to.match(/Total params: 1,341\nTrainable params: 1,321\nNon-trainable params: 20\n/);
      const frozen = freeze_weights(model, { to: 2 });
      expect(summaryOf(frozen)).to.match(/Total params: 1,341\nTrainable params: 11\nNon-trainable params: 1,330\n/);
      expect(summaryOf(unfreeze_weights(frozen, { which: ["dense"] }))).to.match(
        /Trainable params: 1,301\nNon-trainable params: 40\n/,
      );
      expect(summaryOf(unfreeze_weights(frozen))).to.equal(summaryOf(model));
    });
  });

  describe("K2 and K3 input-shape forms give the same model", () => {
    const same = (models: SequentialModel[]) => {
      const [first, ...rest] = models;
      for (const m of rest) {
        expect(m.inputShape).to.deep.equal(first.inputShape);
        expect(summaryOf(m)).to.equal(summaryOf(first));
      }
      expect(count_params(first)).to.equal(1290);
    };
    it("unknown batch size", () => {
      same([
        keras_model_sequential({ input_shape: [128], layers: [L.layer_dense({ units: 10 })] }),
        keras_model_sequential({ input_batch_shape: [null, 128], layers: [L.layer_dense({ units: 10 })] }),
        pipe(keras_model_sequential(), L.layer_dense({ units: 10, input_shape: [128] })),
        pipe(keras_model_sequential(), L.layer_dense({ units: 10, batch_input_shape: [null, 128] })),
        pipe(keras_model_sequential(), L.layer_dense({ units: 10, input_dim: 128 })),
        L.layer_dense(keras_model_sequential(), { units: 10, input_dim: 128 }),
      ]);
    });
    it("fixed batch size", () => {
      const models = [
        keras_model_sequential({ input_shape: [128], batch_size: 32, layers: [L.layer_dense({ units: 10 })] }),
        keras_model_sequential({ input_batch_shape: [32, 128], layers: [L.layer_dense({ units: 10 })] }),
        pipe(keras_model_sequential(), L.layer_dense({ units: 10, input_shape: [128], batch_size: 32 })),
        pipe(keras_model_sequential(), L.layer_dense({ units: 10, batch_input_shape: [32, 128] })),
      ];
      same(models);
      expect(models[0].inputShape).to.deep.equal([32, 128]);
      expect(summaryOf(models[0])).to.match(/\(32, 10\)/);
    });
  });

  describe("inspection verbs", () => {
    it("count_params, pop_layer", () => {
      const m = keras_model_sequential({
        input_shape: [8, 3],
        layers: [
          L.layer_conv_1d({ filters: 4, kernel_size: 3 }),
          L.layer_global_max_pooling_1d(),
          L.layer_dense({ units: 2 }),
        ],
      });
      // conv: 3·3·4 + 4 = 40; dense: 4·2 + 2 = 10
      expect(count_params(m)).to.equal(50);
      const popped = pop_layer(m);
      expect(popped.layers.map((l) => l.name)).to.deep.equal(["conv1d", "global_max_pooling1d"]);
      expect(count_params(popped)).to.equal(40);
      expect(() => pop_layer(pop_layer(pop_layer(popped)))).to.throw(KerasError, /no layers to pop/);
    });
  });

  it("numTensors stays flat over repeated eager calls (arrays and tensors, masks included)", () => {
    const layers = [
      L.layer_dense({ units: 3 }),
      L.layer_conv_1d({ filters: 2, kernel_size: 2 }),
      L.layer_embedding({ input_dim: 4, output_dim: 2, mask_zero: true }),
    ];
    const inputs = [[[1, 2]], [[[1], [2], [3]]], [[0, 1, 3]]];
    const callAll = () => layers.forEach((l, i) => (l as any)(inputs[i]).dispose());
    callAll();
    const before = tf.memory().numTensors;
    for (let k = 0; k < 5; k++) callAll();
    expect(tf.memory().numTensors).to.equal(before);
  });
});
