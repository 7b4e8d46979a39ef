/**
 * One Node peer of `npm run bench` (bench/peers/run.ts starts it, one process per system and mode).
 *
 * usage: node [--import tsx] bench/peers/node_peer.mjs SYSTEM MODE [quick]
 *   SYSTEM: tskeras-wasm | tskeras-cpu (the public API: keras_model_sequential |> layer_* |> compile |>
 *           fit / predict) | tfjs-layers-wasm | tfjs-layers-cpu (tf.layers models, fit / predict)
 *   MODE:   train | stream-predict | stream-predict_on_batch | launch | sweep
 * tskeras comes from BENCH_TSKERAS (a module path: dist/index.js, or src/index.ts under tsx).
 *
 * Prints result lines "@@ {json}"; in launch mode "@@FITDONE" right after the first fit. Plain
 * JavaScript, so that launch times count no TypeScript loader when tskeras comes from dist.
 */
const [SYSTEM, MODE, QUICK_ARG] = process.argv.slice(2);
const QUICK = QUICK_ARG === "quick";
const BUDGET = QUICK ? 1000 : 4000;
const [LIB, BACKEND] = [SYSTEM.slice(0, SYSTEM.lastIndexOf("-")), SYSTEM.slice(SYSTEM.lastIndexOf("-") + 1)];
const TSKERAS = LIB === "tskeras";
// tfjs-layers on cpu is 10-100x slower: fewer and smaller batches (noted in the results)
const SLOW = !TSKERAS && BACKEND === "cpu";

const WORKLOADS = {
  W1: { kind: "gru", B: 32, T: 50, F: 16, U: 64, layers: 1 },
  W2: { kind: "lstm", B: 32, T: 50, F: 16, U: 64, layers: 1 },
  W3: { kind: "gru", B: 64, T: 100, F: 32, U: 128, layers: 2 },
  W4: { kind: "embed_bilstm", B: 32, T: 80, F: null, U: 64, layers: 1 },
};
// tf.layers takes seconds per W3 batch on wasm (minutes on cpu): fewer batches per timed epoch
const BATCHES_PER_EPOCH = TSKERAS ? 8 : SLOW ? 1 : 2;
const PREDICT_N = SLOW ? 128 : 1024;

const emit = (o) => console.log("@@ " + JSON.stringify(o));
const peakRssMiB = () => process.resourceUsage().maxRSS / 1024;

let tf, api;
if (TSKERAS) {
  api = await import(process.env.BENCH_TSKERAS ?? "../../src/index.ts");
  await api.use_backend(BACKEND);
  tf = api.tf ?? (await import("@tensorflow/tfjs"));
} else {
  tf = await import("@tensorflow/tfjs");
  if (BACKEND === "wasm") await import("@tensorflow/tfjs-backend-wasm");
  await tf.setBackend(BACKEND);
  await tf.ready();
  tf.env().set("PROD", true);
}

// deterministic data (a small LCG), the same shapes as the Python peers
let seed = 12345;
const uniform = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
const lengths = (n, T) => Array.from({ length: n }, (_, i) => 20 + ((i * 7) % (T - 19)));
function data(w, n) {
  if (w.kind === "embed_bilstm") {
    const L = lengths(n, w.T);
    const x = Array.from({ length: n }, (_, i) =>
      Array.from({ length: w.T }, (_, t) => (t < L[i] ? 1 + Math.floor(((uniform() + 1) / 2) * 998) : 0)),
    );
    const y = Array.from({ length: n }, () => [uniform() > 0 ? 1 : 0]);
    return { x: tf.tensor2d(x, [n, w.T], "float32"), y: tf.tensor2d(y, [n, 1]) };
  }
  const xs = new Float32Array(n * w.T * w.F).map(uniform);
  const ys = new Float32Array(n).map(uniform);
  return { x: tf.tensor3d(xs, [n, w.T, w.F]), y: tf.tensor2d(ys, [n, 1]) };
}

/** Calls f (one warm-up first) until `budget` ms have passed, at least `min` times; ms per call. */
async function timed(f, budget, min = 2) {
  await f();
  let n = 0;
  const t0 = performance.now();
  while (n < min || performance.now() - t0 < budget) {
    await f();
    n++;
  }
  return (performance.now() - t0) / n;
}

// ---------------------------------------------------------------------------------------------
// models

function tskerasModel(w, stateful = false) {
  const { pipe } = { pipe: (x, ...fs) => fs.reduce((acc, f) => f(acc), x) };
  if (w.kind === "embed_bilstm") {
    const m = pipe(
      api.keras_model_sequential({ input_shape: [w.T] }),
      api.layer_embedding({ input_dim: 1000, output_dim: 32, mask_zero: true }),
      api.bidirectional({ layer: api.layer_lstm({ units: w.U }) }),
      api.layer_dense({ units: 1, activation: "sigmoid" }),
    );
    return api.compile(m, { optimizer: "adam", loss: "binary_crossentropy" });
  }
  const rnn = w.kind === "gru" ? api.layer_gru : api.layer_lstm;
  const first = stateful
    ? api.keras_model_sequential({ batch_input_shape: [1, 1, w.F] })
    : api.keras_model_sequential({ input_shape: [w.T, w.F] });
  const stack = Array.from({ length: w.layers - 1 }, () => rnn({ units: w.U, return_sequences: true }));
  const m = pipe(first, ...stack, rnn({ units: w.U, stateful }), api.layer_dense({ units: 1 }));
  return api.compile(m, { optimizer: "adam", loss: "mse" });
}

function layersModel(w, stateful = false) {
  const m = tf.sequential();
  if (w.kind === "embed_bilstm") {
    m.add(tf.layers.embedding({ inputDim: 1000, outputDim: 32, maskZero: true, inputLength: w.T }));
    m.add(tf.layers.bidirectional({ layer: tf.layers.lstm({ units: w.U, recurrentActivation: "sigmoid" }) }));
    m.add(tf.layers.dense({ units: 1, activation: "sigmoid" }));
    m.compile({ optimizer: tf.train.adam(0.001, 0.9, 0.999, 1e-7), loss: "binaryCrossentropy" });
    return m;
  }
  // tfjs-layers' GRU has no reset_after = TRUE: it runs Keras 2's reset_before variant
  const rnn = w.kind === "gru" ? tf.layers.gru : tf.layers.lstm;
  const shape = stateful ? { batchInputShape: [1, 1, w.F] } : { inputShape: [w.T, w.F] };
  for (let i = 0; i < w.layers; i++)
    m.add(
      rnn({
        units: w.U,
        recurrentActivation: "sigmoid",
        returnSequences: i < w.layers - 1,
        stateful,
        ...(i === 0 ? shape : {}),
      }),
    );
  m.add(tf.layers.dense({ units: 1 }));
  m.compile({ optimizer: tf.train.adam(0.001, 0.9, 0.999, 1e-7), loss: "meanSquaredError" });
  return m;
}

async function train(w, budget) {
  const n = w.B * BATCHES_PER_EPOCH;
  const { x, y } = data(w, n);
  let model = TSKERAS ? tskerasModel(w) : layersModel(w);
  const epoch = TSKERAS
    ? async () =>
        (model = (await api.fit(model, x, y, { epochs: 1, batch_size: w.B, verbose: 0, shuffle: false })).model)
    : async () => void (await model.fit(x, y, { epochs: 1, batchSize: w.B, verbose: 0, shuffle: false }));
  const ms = await timed(epoch, budget, TSKERAS ? 2 : 1);
  tf.dispose([x, y]);
  return { model, rate: (n * 1000) / ms };
}

async function predict(model, w, budget) {
  const { x, y } = data(w, PREDICT_N);
  const f = TSKERAS
    ? async () => void (await api.predict(model, x, { batch_size: PREDICT_N, verbose: 0 }))
    : async () => tf.tidy(() => void model.predict(x, { batchSize: PREDICT_N }).dataSync());
  const ms = await timed(f, budget, 1);
  tf.dispose([x, y]);
  return (PREDICT_N * 1000) / ms;
}

// ---------------------------------------------------------------------------------------------
// modes

async function trainMode() {
  // BENCH_WORKLOADS: a comma list (profiling one workload)
  const only = process.env.BENCH_WORKLOADS?.split(",");
  for (const [name, w] of Object.entries(WORKLOADS)) {
    if (only && !only.includes(name)) continue;
    try {
      const t = await train(w, SLOW ? BUDGET / 4 : BUDGET);
      const p = await predict(t.model, w, BUDGET / 2);
      emit({ workload: name, train: t.rate, predict: p, ...(SLOW ? { note: `predict at batch ${PREDICT_N}` } : {}) });
      if (!TSKERAS) t.model.dispose();
    } catch (e) {
      // tfjs-layers on wasm cannot train an Embedding (no UnsortedSegmentSum kernel there)
      emit({ workload: name, error: e.message.split("\n")[0] });
    }
  }
  emit({ peak_rss_mib: peakRssMiB() });
}

async function streamMode(call) {
  const w = WORKLOADS.W1;
  const xs = Array.from({ length: w.F }, uniform);
  const coldN = 1000,
    warmN = QUICK ? 1000 : 3000;
  let step;
  if (TSKERAS) {
    const model = tskerasModel(w, true);
    const x = [[xs]];
    step = call === "predict" ? () => api.predict(model, x, { verbose: 0 }) : () => api.predict_on_batch(model, x);
  } else {
    const model = layersModel(w, true);
    const x = tf.tensor3d(xs, [1, 1, w.F]);
    step = () => tf.tidy(() => model.predict(x).arraySync());
  }
  let t0 = performance.now();
  for (let i = 0; i < coldN; i++) await step();
  const cold = (performance.now() - t0) / coldN;
  // warm: up to warmN calls, at least 100, stopping after the time budget
  let n = 0;
  t0 = performance.now();
  while (n < warmN && (n < 100 || performance.now() - t0 < BUDGET)) {
    await step();
    n++;
  }
  const warm = (performance.now() - t0) / n;
  emit({ stream: call, cold_ms: cold, warm_ms: warm, peak_rss_mib: peakRssMiB() });
}

async function launchMode() {
  const w = WORKLOADS.W1;
  const n = w.B * 10;
  const { x, y } = data(w, n);
  if (TSKERAS) await api.fit(tskerasModel(w), x, y, { epochs: 1, batch_size: w.B, verbose: 0 });
  else await layersModel(w).fit(x, y, { epochs: 1, batchSize: w.B, verbose: 0 });
  console.log("@@FITDONE");
  emit({ peak_rss_mib: peakRssMiB() });
}

async function sweepMode() {
  for (const T of [50, 100, 200, 400]) {
    const t = await train({ ...WORKLOADS.W1, T }, BUDGET / 2);
    emit({ sweep: T, train: t.rate });
  }
}

// which matrix products tskeras's fused kernels use (not in launch mode: it would build a model before the timed fit)
const products =
  TSKERAS && MODE !== "launch"
    ? api.rnn_fused_status(api.layer_gru(api.keras_model_sequential({ input_shape: [2, 2] }), { units: 1 }))[0].products
    : undefined;
emit({
  versions: {
    tfjs: tf.version?.tfjs ?? tf.version_core,
    node: process.version,
    tskeras: TSKERAS,
    ...(products ? { products } : {}),
  },
});
if (MODE === "train") await trainMode();
else if (MODE.startsWith("stream-")) await streamMode(MODE.slice("stream-".length));
else if (MODE === "launch") await launchMode();
else if (MODE === "sweep") await sweepMode();
else throw new Error(`unknown mode ${MODE}`);
process.exit(0);
