/**
 * A stateful GRU for streaming: train on long series cut into consecutive windows (state carried from
 * batch to batch), then predict one timestep at a time, as data would arrive from a sensor.
 *
 * Task: predict the next value of a sum of two sines from the current value only; the GRU's state
 * must remember the phase. Run: npx tsx examples/stateful_streaming.ts  (in your project: "tskeras")
 */
import { pipe } from "fp-ts/lib/function.js";
import {
  backend_ready,
  keras_model_sequential,
  layer_gru,
  layer_dense,
  compile,
  fit,
  predict,
  reset_states,
  set_weights,
  get_weights,
} from "../src/index.js";

const series = (t: number) => 0.6 * Math.sin(0.21 * t) + 0.3 * Math.sin(0.05 * t + 1);
const window = 25;
const streams = 8; // the fixed batch size: 8 parallel series, each cut into consecutive windows

/** Batch k holds window k of every stream, so sample i of batch k+1 continues sample i of batch k. */
function windows(count: number) {
  const x: number[][][] = [];
  const y: number[][][] = [];
  for (let k = 0; k < count; k++) {
    for (let s = 0; s < streams; s++) {
      const start = s * 1000 + k * window;
      x.push(Array.from({ length: window }, (_, t) => [series(start + t)]));
      y.push(Array.from({ length: window }, (_, t) => [series(start + t + 1)]));
    }
  }
  return { x, y };
}

await backend_ready();
const training = pipe(
  keras_model_sequential({ batch_input_shape: [streams, window, 1] }),
  layer_gru({ units: 24, stateful: true, return_sequences: true }),
  layer_dense({ units: 1 }),
  compile({ optimizer: "adam", loss: "mse" }),
);
const data = windows(30);
let model = training;
for (let epoch = 1; epoch <= 8; epoch++) {
  reset_states(model); // each epoch starts the streams from the beginning
  const result = await fit(model, data.x, data.y, { epochs: 1, batch_size: streams, verbose: 0 }); // shuffle is off for stateful models
  model = result.model;
  console.log(`epoch ${epoch}: loss ${result.history.metrics.loss[0].toFixed(4)}`);
}

// Streaming: the same weights in a batch-1, one-step model; its state carries from call to call.
const streaming = set_weights(
  pipe(
    keras_model_sequential({ batch_input_shape: [1, 1, 1] }),
    layer_gru({ units: 24, stateful: true, return_sequences: true }),
    layer_dense({ units: 1 }),
  ),
  get_weights(model),
);
let last = 0;
const t0 = performance.now();
for (let t = 0; t < 300; t++) {
  const [[[next]]] = (await predict(streaming, [[[series(t)]]], { verbose: 0 })) as number[][][];
  if (t >= 290)
    console.log(
      `t = ${t}: observed ${series(t).toFixed(3)}, predicted next ${next.toFixed(3)}, actual next ${series(t + 1).toFixed(3)}`,
    );
  last = next;
}
console.log(`${((performance.now() - t0) / 300).toFixed(3)} ms per streamed step (last prediction ${last.toFixed(3)})`);
