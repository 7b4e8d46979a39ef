import { expect } from "chai";
import {
  use_backend,
  keras_model_sequential,
  layer_dense,
  compile,
  fit,
  evaluate,
  predict,
  optimizer_sgd,
} from "../../src/index.js";
import { tf } from "../../src/backend/tf.js";
import { Bool } from "../../src/args.js";
import { defineLayer } from "../../src/model/layer.js";
import { expectClose, expectKerasError } from "./helpers.js";

/** A test-only stateful layer: output = state + x, and the output becomes the state (a running sum over calls). */
const layer_running_sum = defineLayer({
  className: "RunningSumForTrainingTests",
  fn: "layer_running_sum",
  props: { stateful: Bool },
  defaults: { stateful: true },
  outputShape: (_c, [s]) => [s],
  stateShapes: (_c, [s]) => [s],
  forward: (_c, { inputs: [x], state }) => {
    const y = state ? tf.add(state[0], x) : x;
    return { outputs: [y], newState: [y] };
  },
});

/** running sum -> dense identity (kernel 1, bias 0, learning rate 0 so the weights stay put). */
function statefulModel() {
  let m = keras_model_sequential({ input_shape: [1], batch_size: 2 });
  m = layer_running_sum(m, { name: "running" });
  m = layer_dense(m, { units: 1, weights: [[[1]], [0]] });
  return compile(m, { optimizer: optimizer_sgd({ learning_rate: 0 }), loss: "mse" });
}

describe("training: stateful models", () => {
  before(async () => {
    await use_backend("wasm");
  });

  it("predict carries the state across batches in order and across calls", async () => {
    const model = statefulModel();
    // batch 1: [1, 2]; batch 2 adds [10, 20] to it: [11, 22]
    expectClose(await predict(model, [[1], [2], [10], [20]], { verbose: 0 }), [[1], [2], [11], [22]]);
    // the next call continues: [11 + 100, 22 + 200]
    expectClose(await predict(model, [[100], [200]], { verbose: 0 }), [[111], [222]]);
  });

  it("fit carries the state across batches and hands it to the trained model", async () => {
    const model = statefulModel();
    // targets equal the running sums, so the loss is 0 only if the state is carried in order
    const { model: trained, history } = await fit(model, [[1], [2], [10], [20]], [[1], [2], [11], [22]], {
      batch_size: 2,
      verbose: 0,
    });
    expect(history.metrics.loss[0]).to.be.closeTo(0, 1e-9);
    // the trained value continues from the state after fit: [11 + 5, 22 + 5]
    expectClose(await predict(trained, [[5], [5]], { verbose: 0 }), [[16], [27]]);
    // evaluate starts from that state ([16, 27] + [1, 2] = [17, 29]) and updates it: predict on zeros shows it
    const ev = await evaluate(trained, [[1], [2]], [[17], [29]], { verbose: 0 });
    expect(ev.loss).to.be.closeTo(0, 1e-9);
    expectClose(await predict(trained, [[0], [0]], { verbose: 0 }), [[17], [29]]);
  });

  it("refuses a sample count that is not a multiple of the batch size, another batch_size, and shuffle = TRUE", async () => {
    const model = statefulModel();
    await expectKerasError(
      () => fit(model, [[1], [2], [3]], [[1], [2], [3]], { verbose: 0 }),
      /fit\(\)/,
      /3 samples is not a multiple of the batch size 2/,
      /"running"/,
      /Use 2 or 4 samples/,
    );
    await expectKerasError(() => predict(model, [[1], [2], [3]], { verbose: 0 }), /predict\(\)/, /not a multiple/);
    await expectKerasError(
      () => fit(model, [[1], [2]], [[1], [2]], { batch_size: 4, verbose: 0 }),
      /batch_size/,
      /fixed batch size of 2/,
    );
    await expectKerasError(
      () => fit(model, [[1], [2]], [[1], [2]], { shuffle: true, verbose: 0 }),
      /shuffle/,
      /"running"/,
      /shuffle: false/,
    );
    await expectKerasError(
      () => fit(model, [[1], [2], [3], [4]], [[1], [2], [3], [4]], { validation_split: 0.25, verbose: 0 }),
      /not a multiple/,
    );
  });
});
