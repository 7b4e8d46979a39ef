/**
 * fit() of a small classification or regression model, for the training step's hand-written head
 * (src/engine/training/head.ts): GRU(32) over [20, 8] → Dense(10) with the loss's activation, Adam,
 * batch 32, 16 batches per fit() call. Prints CPU ms per batch (best of ROUNDS (7) × FITS (8) calls,
 * after 3 s of calls for the JIT) and the tfjs kernels dispatched per batch (`engine.runKernel` calls,
 * by kernel name with COUNTS=1). METRICS=a,b compiles the model with those metrics; BODY=none leaves the
 * GRU out (Dense on 8 features: the step's serial cost around the head alone).
 * `TSKERAS_NUM_THREADS=1 npx tsx bench/head_fit.mjs [wasm|cpu] [cce|scce|mae|mse|bce]`; tskeras comes
 * from BENCH_TSKERAS (default ../src/index.ts), so another worktree's source can be timed alike.
 */
const source = process.env.BENCH_TSKERAS ?? "../src/index.ts";
const api = await import(source);
const { tf } = await import(source.replace(/index\.ts$/, "backend/tf.ts"));

const backend = process.argv[2] ?? "wasm";
const loss = process.argv[3] ?? "cce";
const [B, T, F, U, C, NB] = [32, 20, 8, 32, 10, 16];
const FITS = Number(process.env.FITS ?? 8);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const HEADS = {
  cce: { activation: "softmax", loss: "categorical_crossentropy" },
  scce: { activation: "softmax", loss: "sparse_categorical_crossentropy" },
  mae: { activation: "linear", loss: "mae" },
  mse: { activation: "linear", loss: "mse" },
  bce: { activation: "sigmoid", loss: "binary_crossentropy" },
};
const head = HEADS[loss];
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

await api.use_backend(backend);
const body = process.env.BODY !== "none";
let model = api.keras_model_sequential({ input_shape: body ? [T, F] : [F] });
if (body) model = api.layer_gru(model, { units: U });
model = api.layer_dense(model, { units: C, activation: head.activation });
const metrics = process.env.METRICS ? process.env.METRICS.split(",") : [];
model = api.compile(model, { optimizer: "adam", loss: head.loss, metrics });
const xs = tf.randomNormal(body ? [B * NB, T, F] : [B * NB, F]);
const labels = tf.randomUniform([B * NB], 0, C, "int32");
const ys =
  loss === "scce"
    ? labels
    : loss === "cce"
      ? tf.oneHot(labels, C).toFloat()
      : loss === "bce"
        ? tf.randomUniform([B * NB, C]).round()
        : tf.randomNormal([B * NB, C]);
const fitOnce = async () =>
  (model = (await api.fit(model, xs, ys, { epochs: 1, batch_size: B, verbose: 0, shuffle: false })).model);
for (let i = 0; i < 5; i++) await fitOnce(); // the runtime, the optimizer's slots

const engine = tf.engine();
const { runKernel } = engine;
const counts = new Map();
engine.runKernel = function (name, ...rest) {
  counts.set(name, (counts.get(name) ?? 0) + 1);
  return runKernel.call(this, name, ...rest);
};
await fitOnce();
delete engine.runKernel; // the prototype's again
const perBatch = [...counts.values()].reduce((a, b) => a + b, 0) / NB;

// the JIT: the first thousands of batches are slower
for (const t0 = performance.now(); performance.now() - t0 < 3000;) await fitOnce();

const ms = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = cpuMs();
  for (let i = 0; i < FITS; i++) await fitOnce();
  ms.push((cpuMs() - t0) / NB / FITS);
}
console.log(
  `${backend} ${body ? "" : "no body, "}${loss}${metrics.length ? ` + ${metrics.join(", ")}` : ""}: ${Math.min(...ms).toFixed(3)} ms/batch CPU (best of ${ROUNDS}: ${ms.map((m) => m.toFixed(3)).join(" ")}); ` +
    `${perBatch.toFixed(1)} kernels/batch (fit() call included)`,
);
if (process.env.COUNTS)
  console.log(
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${(n / NB).toFixed(2)}`)
      .join(", "),
  );
tf.dispose([xs, labels, ys]);
