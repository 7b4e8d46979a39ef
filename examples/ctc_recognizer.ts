/**
 * A CTC recogniser: a bidirectional GRU reads a strip of noisy "glyph" frames and emits one score per
 * frame for each glyph and the blank; loss_ctc() trains it without ever saying which frame holds which
 * glyph, and k_ctc_decode() reads the label string back. Prints the loss and the share of strings
 * read exactly right (greedy decoding) as training goes, then a few strings with beam search.
 *
 * Data: strings of 2-4 glyphs out of 5 (repeats allowed, e.g. "3 3 1"); each glyph is drawn over 2-3
 * frames as its one-hot pattern plus noise, with 0-2 empty frames around glyphs (at least one between
 * two equal ones, or they would read as one), then empty frames to 16. Runs in well under a minute.
 * In your own project, import from "tskeras" instead of "../src/index.js".
 */
import { pipe } from "fp-ts/lib/function.js";
import {
  backend_ready,
  bidirectional,
  compile,
  evaluate,
  fit,
  k_ctc_decode,
  keras_model_sequential,
  layer_dense,
  layer_gru,
  loss_ctc,
  optimizer_adam,
  predict,
  set_random_seed,
  type Model,
} from "../src/index.js";

const GLYPHS = 5; // labels 1..5; class 0 is CTC's blank (Keras's mask_index = 0)
const FRAMES = 16;
const MAX_LABEL = 4;

/** Deterministic pseudo-random numbers, so every run trains on the same data. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function makeData(n: number, seed: number) {
  const rand = lcg(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const noise = () => (rand() - 0.5) * 0.8;
  const x: number[][][] = [];
  const y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const label = Array.from({ length: int(2, MAX_LABEL) }, () => int(1, GLYPHS));
    const frames: number[][] = [];
    const empty = () => frames.push(Array.from({ length: GLYPHS }, noise));
    for (let e = int(0, 1); e > 0; e--) empty();
    label.forEach((glyph, j) => {
      if (j > 0) for (let e = label[j - 1] === glyph ? int(1, 2) : int(0, 1); e > 0; e--) empty();
      for (let f = int(2, 3); f > 0; f--)
        frames.push(Array.from({ length: GLYPHS }, (_, c) => (c === glyph - 1 ? 1 : 0) + noise()));
    });
    while (frames.length < FRAMES) empty();
    x.push(frames.slice(0, FRAMES));
    y.push([...label, ...Array(MAX_LABEL - label.length).fill(0)]); // 0 pads the label
  }
  return { x, y };
}

/** The decoded strings of a batch: label sequences without the -1 padding. */
async function read(model: Model, x: number[][][], strategy: "greedy" | "beam_search" = "greedy") {
  const logits = await predict(model, x, { verbose: 0 });
  const [decoded] = k_ctc_decode(logits, Array(x.length).fill(FRAMES), { strategy, beam_width: 10 });
  return (decoded[0] as number[][]).map((row) => row.filter((c) => c >= 0));
}
const text = (labels: number[]) => labels.filter((c) => c > 0).join(" ");

set_random_seed(7);
const info = await backend_ready();
console.log(`Backend: ${info.backend}\n`);

const train = makeData(768, 1);
const test = makeData(128, 2);
let model: Model = pipe(
  keras_model_sequential({ input_shape: [FRAMES, GLYPHS] }),
  bidirectional({ layer: layer_gru({ units: 24, return_sequences: true }) }),
  layer_dense({ units: GLYPHS + 1 }), // logits: the blank and the five glyphs
  compile({ optimizer: optimizer_adam({ learning_rate: 0.01 }), loss: loss_ctc() }),
);

const started = Date.now();
let accuracy = 0;
for (let round = 1; round <= 6; round++) {
  ({ model } = await fit(model, train.x, train.y, { epochs: 2, batch_size: 32, verbose: 0 }));
  const { loss } = await evaluate(model, test.x, test.y, { verbose: 0 });
  const got = await read(model, test.x);
  accuracy = got.filter((g, i) => text(g) === text(test.y[i])).length / test.x.length;
  console.log(
    `epoch ${String(2 * round).padStart(2)}: test CTC loss ${loss.toFixed(3)}, strings read exactly (greedy): ${(100 * accuracy).toFixed(1)}%`,
  );
}

const beam = await read(model, test.x.slice(0, 5), "beam_search");
console.log("\nA few test strings (truth -> beam search):");
beam.forEach((got, i) => console.log(`  ${text(test.y[i]).padEnd(8)} -> ${text(got)}`));
console.log(
  `\nTrained in ${((Date.now() - started) / 1000).toFixed(1)} s; final exact-read rate ${(100 * accuracy).toFixed(1)}%`,
);
