/**
 * bidirectional(): every merge mode with return_sequences TRUE/FALSE, return_state, initial_state
 * (numeric and symbolic), masks, stateful + reset, GRU and SimpleRNN inner layers — against PyTorch
 * (torch.nn.LSTM/GRU/RNN with bidirectional = TRUE, and a Keras-equation loop for masks), from the
 * committed fixture of scripts/torch_wrapper_fixtures.py. Shapes, parameter counts and errors by hand.
 */
import { expect } from "chai";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import type { SymbolicTensor } from "../../src/model/symbolic.js";
import {
  KerasError,
  bidirectional,
  count_params,
  keras_model,
  keras_model_sequential,
  layer_bidirectional,
  layer_dense,
  layer_gru,
  layer_input,
  layer_lstm,
  layer_simple_rnn,
  reset_states,
  summary,
} from "../../src/index.js";
import { getRuntime } from "../../src/engine/runtime.js";
import { eagerMaskOf } from "../../src/engine/eager.js";
import type { Model } from "../../src/model/model.js";
import { BACKENDS, expectClose, fixture } from "./helpers.js";

const fx = fixture();
const lstmCase = fx.bidirectional_lstm;
const MODES = ["concat", "sum", "ave", "mul", null] as const;

/** Runs a model's plan on `inputs` (no training), keeping the outputs and committing stateful state. */
function runModel(model: Model, inputs: Tensor[]): Tensor[] {
  const rt = getRuntime(
    model,
    inputs.map((t) => t.shape),
  );
  const r = tf.tidy(() => {
    const res = rt.run(inputs, { training: false });
    return {
      outputs: res.outputs,
      stateUpdates: res.stateUpdates.map((u) => ({ ...u, states: u.states.map((s) => tf.keep(s)) })),
    };
  });
  rt.commit({ stateUpdates: r.stateUpdates, weightUpdates: [] });
  return r.outputs;
}

const disposeAll = (y: unknown) => (Array.isArray(y) ? y : [y]).forEach((t) => (t as Tensor).dispose());

for (const backend of BACKENDS) {
  describe(`bidirectional on ${backend}: numbers against PyTorch`, () => {
    before(async () => {
      await use_backend(backend);
    });

    for (const mode of MODES) {
      for (const returnSequences of [true, false]) {
        it(`merge_mode ${mode === null ? "NULL" : `"${mode}"`}, return_sequences ${returnSequences ? "TRUE" : "FALSE"}`, () => {
          const layer = bidirectional({
            layer: layer_lstm({ units: lstmCase.units, return_sequences: returnSequences }),
            merge_mode: mode,
            weights: lstmCase.weights,
          });
          const y = layer(lstmCase.x) as Tensor | Tensor[];
          const expected = lstmCase.merges[mode ?? "null"][returnSequences ? "sequences" : "last"];
          if (mode === null) {
            expect(y).to.be.an("array").with.length(2);
            expectClose((y as Tensor[])[0], expected[0], 1e-5, "forward");
            expectClose((y as Tensor[])[1], expected[1], 1e-5, "backward (input time order)");
          } else expectClose(y, expected, 1e-5, String(mode));
          disposeAll(y);
        });
      }
    }

    it("return_state appends the forward states, then the backward states", () => {
      const layer = bidirectional({
        layer: layer_lstm({ units: lstmCase.units, return_sequences: true, return_state: true }),
        weights: lstmCase.weights,
      });
      const y = layer(lstmCase.x) as Tensor[];
      expect(y).to.have.length(5);
      expectClose(y[0], lstmCase.merges.concat.sequences, 1e-5, "output");
      lstmCase.states.forEach((s: number[][], i: number) =>
        expectClose(y[i + 1], s, 1e-5, ["h_f", "c_f", "h_b", "c_b"][i]),
      );
      disposeAll(y);
    });

    it("merge_mode NULL with return_state returns [forward, backward, ...states]", () => {
      const layer = bidirectional({
        layer: layer_lstm({ units: lstmCase.units, return_state: true }),
        merge_mode: null,
        weights: lstmCase.weights,
      });
      const y = layer(lstmCase.x) as Tensor[];
      expect(y).to.have.length(6);
      expectClose(y[0], lstmCase.merges.null.last[0], 1e-5, "forward");
      expectClose(y[1], lstmCase.merges.null.last[1], 1e-5, "backward");
      expectClose(y[5], lstmCase.states[3], 1e-5, "c_b");
      disposeAll(y);
    });

    it("initial_state is split half and half: [h_f, c_f] to the forward layer, [h_b, c_b] to the backward one", () => {
      const layer = bidirectional({
        layer: layer_lstm({ units: lstmCase.units, return_sequences: true, return_state: true }),
        weights: lstmCase.weights,
      });
      const y = layer(lstmCase.x, { initial_state: lstmCase.initial_state }) as Tensor[];
      expectClose(y[0], lstmCase.with_initial_state.sequences, 1e-5, "output");
      lstmCase.with_initial_state.states.forEach((s: number[][], i: number) =>
        expectClose(y[i + 1], s, 1e-5, `state ${i + 1}`),
      );
      disposeAll(y);
    });

    it("masks reach both directions; return_sequences gives zeros at masked steps", () => {
      const layer = bidirectional({
        layer: layer_lstm({ units: lstmCase.units, return_sequences: true, return_state: true }),
        weights: lstmCase.weights,
      });
      const y = layer(lstmCase.x, { mask: lstmCase.mask }) as Tensor[];
      expectClose(y[0], lstmCase.masked.sequences, 1e-5, "output");
      // Hand check of the zero-output rule: sample 1 is masked at t = 3, so both halves are zero there.
      expect(flatRow(y[0], 0, 2)).to.deep.equal(new Array(2 * lstmCase.units).fill(0));
      lstmCase.masked.states.forEach((s: number[][], i: number) => expectClose(y[i + 1], s, 1e-5, `state ${i + 1}`));
      disposeAll(y);
    });

    it("masks with return_sequences FALSE: each direction returns its last unmasked step", () => {
      const layer = bidirectional({ layer: layer_lstm({ units: lstmCase.units }), weights: lstmCase.weights });
      const y = layer(lstmCase.x, { mask: lstmCase.mask });
      expectClose(y, lstmCase.masked.last, 1e-5);
      disposeAll(y);
    });

    it("stateful: both halves carry their state to the next call; reset_states zeroes or sets it", () => {
      const layer = bidirectional({
        layer: layer_lstm({ units: lstmCase.units, return_sequences: true, stateful: true }),
        batch_input_shape: [lstmCase.batch, lstmCase.time, lstmCase.features],
        weights: lstmCase.weights,
      });
      const y1 = layer(lstmCase.x);
      expectClose(y1, lstmCase.merges.concat.sequences, 1e-5, "call 1");
      const y2 = layer(lstmCase.x2);
      expectClose(y2, lstmCase.stateful.call2, 1e-5, "call 2 continues call 1");
      reset_states(layer);
      const y3 = layer(lstmCase.x2);
      expectClose(y3, lstmCase.stateful.call2_after_reset, 1e-5, "after reset");
      // Given values: [h_f, c_f, h_b, c_b] = the final states of call 1.
      reset_states(layer, lstmCase.states);
      const y4 = layer(lstmCase.x2);
      expectClose(y4, lstmCase.stateful.call2, 1e-5, "after reset to call 1's states");
      [y1, y2, y3, y4].forEach(disposeAll);
    });

    it("stateful in a model: the runtime carries both halves' states; reset_states(model) zeroes them", () => {
      const model = keras_model_sequential({
        input_shape: [lstmCase.time, lstmCase.features],
        batch_size: lstmCase.batch,
        layers: [
          bidirectional({
            layer: layer_lstm({ units: lstmCase.units, return_sequences: true, stateful: true }),
            weights: lstmCase.weights,
          }),
        ],
      });
      const [x1, x2] = [tf.tensor(lstmCase.x), tf.tensor(lstmCase.x2)];
      const [y1] = runModel(model, [x1]);
      const [y2] = runModel(model, [x2]);
      expectClose(y2, lstmCase.stateful.call2, 1e-5, "call 2");
      reset_states(model);
      const [y3] = runModel(model, [x2]);
      expectClose(y3, lstmCase.stateful.call2_after_reset, 1e-5, "after reset");
      [x1, x2, y1, y2, y3].forEach((t) => t.dispose());
    });

    it("symbolic initial_state in a functional model", () => {
      const { batch, time, features, units } = lstmCase;
      const x = layer_input({ shape: [time, features] });
      const states = [0, 1, 2, 3].map(() => layer_input({ shape: [units] }));
      const withState = bidirectional({
        layer: layer_lstm({ units, return_sequences: true }),
        weights: lstmCase.weights,
      })(x, { initial_state: states }) as SymbolicTensor;
      expect(withState.shape).to.deep.equal([null, time, 2 * units]);
      const model = keras_model({ inputs: [x, ...states], outputs: withState });
      const inputs = [tf.tensor(lstmCase.x), ...lstmCase.initial_state.map((s: number[][]) => tf.tensor(s))];
      const [out] = runModel(model, inputs);
      expect(out.shape).to.deep.equal([batch, time, 2 * units]);
      expectClose(out, lstmCase.with_initial_state.sequences, 1e-5);
      [...inputs, out].forEach((t) => t.dispose());
    });

    it('a GRU (reset_after TRUE), merge_mode "sum", against torch.nn.GRU(bidirectional = TRUE)', () => {
      const g = fx.bidirectional_gru;
      const layer = bidirectional({
        layer: layer_gru({ units: g.units, return_sequences: true }),
        merge_mode: "sum",
        weights: g.weights,
      });
      const y = layer(g.x);
      expectClose(y, g.sum, 1e-5);
      disposeAll(y);
    });

    it('a SimpleRNN, merge_mode "ave", return_sequences FALSE, against torch.nn.RNN(bidirectional = TRUE)', () => {
      const s = fx.bidirectional_simple_rnn;
      const layer = layer_bidirectional({
        layer: layer_simple_rnn({ units: s.units }),
        merge_mode: "ave",
        weights: s.weights,
      });
      const y = layer(s.x);
      expectClose(y, s.ave, 1e-5);
      disposeAll(y);
    });

    it("leaks no tensors (a masked call keeps only the mask attached to its output)", () => {
      const layer = bidirectional({
        layer: layer_lstm({ units: lstmCase.units, return_sequences: true, return_state: true }),
        weights: lstmCase.weights,
      });
      disposeAll(layer(lstmCase.x));
      const before = tf.memory().numTensors;
      disposeAll(layer(lstmCase.x, { initial_state: lstmCase.initial_state }));
      const masked = layer(lstmCase.x, { mask: lstmCase.mask }) as Tensor[];
      const attached = eagerMaskOf(masked[0]);
      expect(attached, "the output mask").to.not.equal(undefined);
      disposeAll(masked);
      attached!.dispose();
      expect(tf.memory().numTensors).to.equal(before);
    });
  });
}

/** Row t of sample b of a (batch, time, features) tensor. */
function flatRow(y: Tensor, b: number, t: number): number[] {
  const [, time, f] = y.shape;
  const all = Array.from(y.dataSync());
  return all.slice((b * time + t) * f, (b * time + t + 1) * f).map((v) => (Object.is(v, -0) ? 0 : v));
}

describe("bidirectional: shapes, parameter counts and errors", () => {
  it("summary shows bidirectional (Bidirectional) with Keras's output shape and parameter count", () => {
    // LSTM(10) on 8 features: 4 * (8*10 + 10*10 + 10) = 760 per direction, 1,520 in all; concat: 20 features.
    const model = keras_model_sequential({
      input_shape: [5, 8],
      layers: [bidirectional({ layer: layer_lstm({ units: 10 }) }), layer_dense({ units: 1 })],
    });
    // (line_length 80 keeps the name on one line; at 65 Keras wraps it as "bidirectional (Bidirectiona" + "l)".)
    const text = summary(model, { print: false, line_length: 80 });
    expect(text).to.match(/bidirectional \(Bidirectional\)\s+\(None, 20\)\s+1520/);
    expect(text).to.contain("Total params: 1,541"); // + Dense(1) on 20: 21
    expect(count_params(model)).to.equal(1541);
  });

  it("output shapes for every merge mode, return_sequences and return_state", () => {
    const x = layer_input({ shape: [7, 3] });
    const shapeOf = (mode: (typeof MODES)[number], rs: boolean, rst = false) => {
      const y = bidirectional(x, {
        layer: layer_gru({ units: 4, return_sequences: rs, return_state: rst }),
        merge_mode: mode,
      });
      return Array.isArray(y) ? y.map((t) => t.shape) : y.shape;
    };
    expect(shapeOf("concat", true)).to.deep.equal([null, 7, 8]);
    expect(shapeOf("sum", true)).to.deep.equal([null, 7, 4]);
    expect(shapeOf("mul", false)).to.deep.equal([null, 4]);
    expect(shapeOf(null, true)).to.deep.equal([
      [null, 7, 4],
      [null, 7, 4],
    ]);
    expect(shapeOf("ave", false, true)).to.deep.equal([
      [null, 4],
      [null, 4],
      [null, 4],
    ]);
  });

  it("weights: the forward layer's, then the backward layer's; the backward layer copies the config with go_backwards flipped", () => {
    const layer = bidirectional({ layer: layer_lstm({ units: 2, name: "enc" }) });
    const forward = layer.config.layer;
    const backward = layer.config.backward_layer;
    expect([forward.name, backward.name]).to.deep.equal(["forward_enc", "backward_enc"]);
    expect([forward.config.go_backwards, backward.config.go_backwards]).to.deep.equal([false, true]);
    const model = keras_model_sequential({ input_shape: [3, 5], layers: [layer] });
    // LSTM(2) on 5 features: kernel (5, 8), recurrent (2, 8), bias (8), per direction.
    expect(count_params(model)).to.equal(2 * (5 * 8 + 2 * 8 + 8));
  });

  it("a given backward_layer (other units) is used as is; merge concat adds the units", () => {
    const layer = bidirectional({
      layer: layer_lstm({ units: 3, return_sequences: true }),
      backward_layer: layer_gru({ units: 2, return_sequences: true, go_backwards: true }),
    });
    const model = keras_model_sequential({ input_shape: [4, 5], layers: [layer] });
    // LSTM(3): 4 * (5*3 + 3*3 + 3) = 108; GRU(2, reset_after): 3 * (5*2 + 2*2) + 2 * 3*2 = 54.
    expect(count_params(model)).to.equal(108 + 54);
    expect(summary(model, { print: false })).to.match(/\(None, 4, 5\)\s+162/);
  });

  it("the wrapper takes its inner layer's input shape", () => {
    const model = keras_model_sequential({
      layers: [bidirectional({ layer: layer_simple_rnn({ units: 2, input_shape: [6, 3] }) })],
    });
    expect(model.inputShape).to.deep.equal([null, 6, 3]);
  });

  it("errors name the function and the argument", () => {
    const err = (f: () => unknown, re: RegExp) => expect(f).to.throw(KerasError, re);
    err(
      () => bidirectional({ layer: layer_dense({ units: 2 }) }),
      /bidirectional\(\): `layer` must be a recurrent layer .* got a Dense layer/,
    );
    // @ts-expect-error: not a layer (the test of the run-time check)
    err(() => bidirectional({ layer: "lstm" }), /`layer` must be a layer value/);
    // @ts-expect-error: `layer` is required (the test of the run-time message)
    err(() => bidirectional({}), /`layer` is required/);
    err(
      // @ts-expect-error: not a merge mode (the test of the run-time check)
      () => bidirectional({ layer: layer_lstm({ units: 2 }), merge_mode: "max" }),
      /`merge_mode` must be one of "concat", "sum", "ave", "mul" or null, got "max"/,
    );
    err(
      () => bidirectional({ layer: layer_lstm({ units: 2 }), backward_layer: layer_lstm({ units: 2 }) }),
      /different `go_backwards`/,
    );
    err(
      () =>
        bidirectional({
          layer: layer_lstm({ units: 2 }),
          backward_layer: layer_lstm({ units: 2, go_backwards: true, return_sequences: true }),
        }),
      /same `return_sequences`/,
    );
    err(
      () =>
        bidirectional({
          layer: layer_lstm({ units: 2 }),
          merge_mode: "sum",
          backward_layer: layer_lstm({ units: 3, go_backwards: true }),
        })(layer_input({ shape: [4, 2] })),
      /outputs of the same shape/,
    );
    err(() => bidirectional({ layer: layer_lstm({ units: 2 }) })(layer_input({ shape: [4] })), /expected a 3-D input/);
    err(
      () =>
        keras_model_sequential({
          input_shape: [4, 2],
          layers: [bidirectional({ layer: layer_lstm({ units: 2, stateful: true }) })],
        }),
      /batch_input_shape.*batch_size/,
    );
    err(
      () =>
        bidirectional({ layer: layer_lstm({ units: 2 }) })(tf.zeros([1, 3, 2]), { initial_state: [tf.zeros([1, 2])] }),
      /even number/,
    );
  });
});
