/**
 * Next-frame prediction with convolutional LSTMs (R keras's conv_lstm.R, Keras's conv_lstm example), on
 * generated movies of a square that moves and bounces off the walls.
 *
 * layer_conv_lstm_2d is an LSTM whose gates are convolutions: its state is an image, so it can remember
 * where the square was and which way it moves. Two of them with batch normalization read the frames;
 * the output layer gives each pixel the probability that it is lit in the NEXT frame. Keras's example
 * ends with a 3-D convolution; a dense layer with one unit applied at every frame (time_distributed) is
 * a 1x1 convolution over the filters and does the same job here.
 * Run: npx tsx examples/conv_lstm_next_frame.ts  (in your own project, import from "tskeras")
 */
import { pipe } from "fp-ts/lib/function.js";
import {
  keras_model_sequential,
  layer_conv_lstm_2d,
  layer_batch_normalization,
  time_distributed,
  layer_dense,
  compile,
  optimizer_adam,
  fit,
  predict,
  summary,
  set_random_seed,
} from "../src/index.js";

set_random_seed(5); // the same weights and shuffling on every run

const size = 8; // frames of 8 x 8 pixels
const frames = 6; // per movie: the model sees frames 1..5 and predicts frames 2..6
const square = 2; // a 2 x 2 square
const filters = 4;
const N = 160; // training movies; 30 more are held out

// --- Movies (a seeded generator: the same movies every run) ----------------------------------------
let state = 9;
const random = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const step = () => (random() < 0.5 ? -1 : 1);

/** One movie: frames x size x size x 1 (channels last), 1 where the square is. */
function movie(): number[][][][] {
  let [row, col] = [Math.floor(random() * (size - square)), Math.floor(random() * (size - square))];
  let [dRow, dCol] = [step(), step()]; // one pixel per frame, diagonally
  return Array.from({ length: frames }, () => {
    const frame = Array.from({ length: size }, (_, r) =>
      Array.from({ length: size }, (_, c) => [r >= row && r < row + square && c >= col && c < col + square ? 1 : 0]),
    );
    if (row + dRow < 0 || row + dRow > size - square) dRow = -dRow; // bounce off the walls
    if (col + dCol < 0 || col + dCol > size - square) dCol = -dCol;
    [row, col] = [row + dRow, col + dCol];
    return frame;
  });
}
const movies = Array.from({ length: N + 30 }, movie);
const x = movies.map((m) => m.slice(0, -1)); // frames 1..5
const y = movies.map((m) => m.slice(1)); // frames 2..6: the frame after each input frame

// --- The model -------------------------------------------------------------------------------------
const model = pipe(
  keras_model_sequential({ input_shape: [null, size, size, 1] }), // any number of frames
  layer_conv_lstm_2d({ filters, kernel_size: [3, 3], padding: "same", return_sequences: true }),
  layer_batch_normalization(),
  layer_conv_lstm_2d({ filters, kernel_size: [3, 3], padding: "same", return_sequences: true }),
  layer_batch_normalization(),
  time_distributed({ layer: layer_dense({ units: 1, activation: "sigmoid" }) }),
  compile({ loss: "binary_crossentropy", optimizer: optimizer_adam({ learning_rate: 0.01 }) }),
);
summary(model);

const { model: trained, history } = await fit(model, x.slice(0, N), y.slice(0, N), {
  batch_size: 2,
  epochs: 8,
  verbose: 0,
});
console.log(`training loss: ${history.metrics.loss.map((l) => l.toFixed(3)).join(" ")}`);

// --- How good are its predictions? -----------------------------------------------------------------
// Where does it put the square in the last frame of the 30 held-out movies? Take as many of its
// brightest pixels as the true frame has lit ones and count how many of them are lit in truth; compare
// with the lazy guess "the last frame looks like the one before".
const held = movies.slice(N);
const predicted: number[][][][][] = await predict(trained, x.slice(N), { verbose: 0 });
const pixels = (frame: number[][][]) => frame.flat(2);
function hits(guess: number[][][], truth: number[][][]) {
  const lit = pixels(truth);
  const brightest = pixels(guess)
    .map((v, i) => [v, i])
    .sort((a, b) => b[0] - a[0])
    .slice(0, lit.filter((v) => v === 1).length);
  return brightest.filter(([, i]) => lit[i] === 1).length / brightest.length;
}
const mean = (v: number[]) => v.reduce((s, u) => s + u, 0) / v.length;
const last = frames - 1;
const modelHits = mean(held.map((m, i) => hits(predicted[i][last - 1], m[last])));
const lazyHits = mean(held.map((m) => hits(m[last - 1], m[last])));
console.log(
  `lit pixels of the last frame found: model ${(modelHits * 100).toFixed(0)}%, "same as before" ${(lazyHits * 100).toFixed(0)}%\n`,
);

// One held-out movie: frame 5 (the last one the model sees), the true frame 6 and its prediction.
const show = (frame: number[][][]) =>
  frame.map((row) => row.map(([v]) => (v > 0.5 ? "#" : v > 0.2 ? "+" : ".")).join(""));
const [seen, truth, guess] = [show(held[0][last - 1]), show(held[0][last]), show(predicted[0][last - 1])];
console.log(["frame 5", "frame 6", "predicted"].map((h) => h.padEnd(size + 2)).join(""));
seen.forEach((row, r) => console.log(`${row}  ${truth[r]}  ${guess[r]}`));
