/**
 * `npm run bench:kernels`: tskeras's fused recurrent kernels vs tfjs-layers (same process, same backend) and
 * PyTorch (1 thread, /usr/bin/python3 when `import torch` works). Writes bench/KERNELS.md (raw numbers in bench/kernels.json).
 *
 * Options (env): BENCH_BACKENDS=wasm,cpu  BENCH_QUICK=1 (shorter timings)  BENCH_NO_TORCH=1
 *
 * tskeras is measured through the public API (keras_model_sequential |> layer_gru |> layer_dense |>
 * compile |> fit/predict) when it is available and uses the fused path, and always as "fused
 * direct": the fused functions driven by a minimal training step written here (tf.variableGrads +
 * the Keras Adam update), which is what the public API runs per batch minus its own bookkeeping.
 */
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { writeFileSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tf, type Tensor } from "../src/backend/tf.js";
import { use_backend } from "../src/backend/index.js";
import { fusedRnn } from "../src/layers/recurrent/fused/index.js";

const QUICK = process.env.BENCH_QUICK === "1";
const BACKENDS = (process.env.BENCH_BACKENDS ?? "wasm,cpu").split(",") as ("wasm" | "cpu")[];
const HERE = fileURLToPath(new URL(".", import.meta.url));

const B = 32,
  T = 50,
  F = 16,
  U = 64;

// ---------------------------------------------------------------------------------------------
// kernel call counting (every tfjs kernel, including the ones inside the fused kernels' wrappers)

let kernelCalls = 0;
{
  const engine = tf.engine() as any;
  const orig = engine.runKernelFunc.bind(engine);
  engine.runKernelFunc = (p: unknown) => {
    kernelCalls++;
    return orig(p);
  };
}

type Job = () => void | Promise<void>;

async function countCalls(f: Job): Promise<number> {
  const k0 = kernelCalls;
  await f();
  return kernelCalls - k0;
}

/** Repeats f until `budgetMs` has passed (at least `min` times, after one warm-up); ms per call. */
async function timeIt(f: Job, budgetMs: number, min = 2, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await f();
  let n = 0;
  const t0 = performance.now();
  while (n < min || performance.now() - t0 < budgetMs) {
    await f();
    n++;
  }
  return (performance.now() - t0) / n;
}

const budget = (ms: number) => (QUICK ? ms / 3 : ms);

function rand(shape: number[], scale = 1): Tensor {
  return tf.randomUniform(shape, -scale, scale, "float32");
}

/** Right-padded sequences: sample i keeps its first 20..50 steps, the rest is zeros. */
function padded(batch: number): Tensor {
  return tf.tidy(() => {
    const lens = Array.from({ length: batch }, (_, i) => 20 + ((i * 7) % 31));
    const m = tf.tensor2d(
      lens.flatMap((l) => Array.from({ length: T }, (_, t) => (t < l ? 1 : 0))),
      [batch, T],
    );
    return tf.mul(rand([batch, T, F]), tf.expandDims(m, 2));
  });
}

// ---------------------------------------------------------------------------------------------
// The fused path driven directly: variables + forward function + Keras Adam.

type CaseName = "gru" | "lstm" | "stacked_gru" | "bidir_masked_gru";

interface FusedNet {
  vars: tf.Variable[];
  forward: (x: Tensor) => Tensor;
}

function glorot(fanIn: number, fanOut: number): tf.Variable {
  return tf.variable(rand([fanIn, fanOut], Math.sqrt(6 / (fanIn + fanOut))));
}

function rnnVars(kind: "gru" | "lstm", fin: number, resetAfter = true) {
  const G = kind === "gru" ? 3 : 4;
  return {
    kernel: glorot(fin, G * U),
    recurrentKernel: glorot(U, G * U),
    bias: tf.variable(kind === "gru" && resetAfter ? tf.zeros([2, G * U]) : tf.zeros([G * U])),
  };
}

function fusedNet(name: CaseName, resetAfter = true): FusedNet {
  const dense = { w: glorot(name === "bidir_masked_gru" ? 2 * U : U, 1), b: tf.variable(tf.zeros([1])) };
  const head = (h: Tensor) => tf.add(tf.matMul(h, dense.w), dense.b);
  const rnn = (
    kind: "gru" | "lstm",
    v: ReturnType<typeof rnnVars>,
    x: Tensor,
    extra: Partial<Parameters<typeof fusedRnn>[0]> = {},
  ) =>
    fusedRnn({
      cell: kind === "lstm" ? "lstm" : resetAfter ? "gru_reset_after" : "gru_reset_before",
      inputs: x,
      kernel: v.kernel,
      recurrentKernel: v.recurrentKernel,
      bias: v.bias,
      ...extra,
    }).output;
  if (name === "gru" || name === "lstm") {
    const v = rnnVars(name, F, resetAfter);
    return { vars: [v.kernel, v.recurrentKernel, v.bias, dense.w, dense.b], forward: (x) => head(rnn(name, v, x)) };
  }
  if (name === "stacked_gru") {
    const v1 = rnnVars("gru", F),
      v2 = rnnVars("gru", U);
    return {
      vars: [v1.kernel, v1.recurrentKernel, v1.bias, v2.kernel, v2.recurrentKernel, v2.bias, dense.w, dense.b],
      forward: (x) => head(rnn("gru", v2, rnn("gru", v1, x, { returnSequences: true }))),
    };
  }
  const vf = rnnVars("gru", F),
    vb = rnnVars("gru", F);
  return {
    vars: [vf.kernel, vf.recurrentKernel, vf.bias, vb.kernel, vb.recurrentKernel, vb.bias, dense.w, dense.b],
    forward: (x) => {
      const mask = tf.any(tf.notEqual(x, 0), -1); // layer_masking(mask_value = 0)
      const f = rnn("gru", vf, x, { mask });
      const b = rnn("gru", vb, x, { mask, goBackwards: true });
      return head(tf.concat([f, b], 1));
    },
  };
}

/** Keras Adam (lr 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7). */
function kerasAdam(vars: tf.Variable[]) {
  const m = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  const s = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  let t = 0;
  return (grads: Tensor[]) => {
    t++;
    const lrT = (0.001 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
    tf.tidy(() => {
      vars.forEach((v, i) => {
        const g = grads[i];
        const mi = tf.add(tf.mul(m[i], 0.9), tf.mul(g, 0.1));
        const si = tf.add(tf.mul(s[i], 0.999), tf.mul(tf.square(g), 0.001));
        m[i].assign(mi);
        s[i].assign(si);
        v.assign(tf.sub(v, tf.mul(lrT, tf.div(mi, tf.add(tf.sqrt(si), 1e-7)))));
      });
    });
  };
}

function fusedTrainer(net: FusedNet) {
  const adam = kerasAdam(net.vars);
  return (x: Tensor, y: Tensor) => {
    const { value, grads } = tf.variableGrads(
      () => tf.losses.meanSquaredError(y, net.forward(x)) as tf.Scalar,
      net.vars,
    );
    adam(net.vars.map((v) => grads[v.name]));
    value.dispose();
    tf.dispose(Object.values(grads));
  };
}

// ---------------------------------------------------------------------------------------------
// tf.layers models of the same architectures

function layersNet(name: CaseName): tf.LayersModel {
  const m = tf.sequential();
  // tfjs-layers GRU has no reset_after = TRUE (it throws); it runs the reset_before variant
  const rec = { units: U, recurrentActivation: "sigmoid" } as const;
  if (name === "gru") m.add(tf.layers.gru({ ...rec, inputShape: [T, F] }));
  else if (name === "lstm") m.add(tf.layers.lstm({ units: U, recurrentActivation: "sigmoid", inputShape: [T, F] }));
  else if (name === "stacked_gru") {
    m.add(tf.layers.gru({ ...rec, returnSequences: true, inputShape: [T, F] }));
    m.add(tf.layers.gru(rec));
  } else {
    m.add(tf.layers.masking({ maskValue: 0, inputShape: [T, F] }));
    m.add(tf.layers.bidirectional({ layer: tf.layers.gru(rec) as any, mergeMode: "concat" }));
  }
  m.add(tf.layers.dense({ units: 1 }));
  m.compile({ optimizer: tf.train.adam(0.001, 0.9, 0.999, 1e-7), loss: "meanSquaredError" });
  return m;
}

// ---------------------------------------------------------------------------------------------
// tskeras public API (when the recurrent layers and fit/predict exist)

async function publicApi(): Promise<any | null> {
  try {
    const api: any = await import("../src/index.js");
    for (const f of ["keras_model_sequential", "layer_gru", "layer_dense", "compile", "fit", "predict"])
      if (typeof api[f] !== "function") return null;
    return api;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Results

interface Row {
  backend: string;
  case: string;
  system: string;
  train: number | null; // samples/s
  predict: number | null; // samples/s at batch 1024 (cpu tf.layers: 256)
  predict32?: number | null; // samples/s at batch 32
  callsTrain: number | null; // kernel calls per training batch
  callsPredict: number | null; // kernel calls per predict batch of 32
  peakMiB: number | null; // tf peak bytes of one training batch
  note?: string;
}

const rows: Row[] = [];
const extra: string[] = [];

async function peakOf(f: Job): Promise<number> {
  const engine = tf.engine() as any;
  const before = engine.state.numBytes;
  let max = before;
  const orig = engine.runKernelFunc;
  engine.runKernelFunc = function (this: any, p: unknown) {
    const r = orig.call(this, p);
    if (engine.state.numBytes > max) max = engine.state.numBytes;
    return r;
  };
  try {
    await f();
  } finally {
    engine.runKernelFunc = orig;
  }
  return (max - before) / 2 ** 20;
}

async function benchCase(backend: string, name: CaseName, api: any | null) {
  const x = name === "bidir_masked_gru" ? padded(B) : rand([B, T, F]);
  const y = rand([B, 1]);
  const xp = name === "bidir_masked_gru" ? padded(1024) : rand([1024, T, F]);
  const trainBudget = budget(2500);

  // fused direct (GRU also in tfjs-layers's variant, reset_after = FALSE)
  for (const resetAfter of name === "gru" ? [true, false] : [true]) {
    const net = fusedNet(name, resetAfter);
    const step = fusedTrainer(net);
    const ms = await timeIt(() => step(x, y), trainBudget, 3, 2);
    const calls = await countCalls(() => step(x, y));
    const peak = await peakOf(() => step(x, y));
    const pred = (xx: Tensor) => void tf.tidy(() => net.forward(xx).dataSync());
    const pms = await timeIt(() => pred(xp), budget(1500), 2);
    const p32 = await timeIt(() => pred(x), budget(1000), 2);
    const pcalls = await countCalls(() => pred(x));
    rows.push({
      backend,
      case: name,
      system: `tskeras fused (direct)${resetAfter ? "" : ", reset_after = FALSE"}`,
      train: (B * 1000) / ms,
      predict: (1024 * 1000) / pms,
      predict32: (B * 1000) / p32,
      callsTrain: calls,
      callsPredict: pcalls,
      peakMiB: peak,
    });
    tf.dispose(net.vars);
  }

  // tskeras public API
  if (api && (name === "gru" || name === "lstm" || name === "stacked_gru")) {
    try {
      const { pipe } = await import("fp-ts/lib/function.js");
      const rnn = name === "lstm" ? api.layer_lstm : api.layer_gru;
      let model =
        name === "stacked_gru"
          ? pipe(
              api.keras_model_sequential({ input_shape: [T, F] }),
              api.layer_gru({ units: U, return_sequences: true }),
              api.layer_gru({ units: U }),
              api.layer_dense({ units: 1 }),
            )
          : pipe(api.keras_model_sequential({ input_shape: [T, F] }), rnn({ units: U }), api.layer_dense({ units: 1 }));
      model = api.compile(model, { optimizer: "adam", loss: "mse" });
      const nb = QUICK ? 4 : 12;
      const xs = rand([B * nb, T, F]),
        ys = rand([B * nb, 1]);
      const fitOnce = async () =>
        (model = (await api.fit(model, xs, ys, { epochs: 1, batch_size: B, verbose: 0, shuffle: false })).model);
      // whole epochs of nb batches, repeated for the same time budget as the other rows (one epoch alone is noisy)
      const ms = (await timeIt(fitOnce, trainBudget, 2, 1)) / nb;
      await api.predict(model, xp, { batch_size: 1024, verbose: 0 });
      const t1 = performance.now();
      const p = await api.predict(model, xp, { batch_size: 1024, verbose: 0 });
      const pms = performance.now() - t1;
      tf.dispose(p);
      const x32 = tf.slice(xp, [0, 0, 0], [B, T, F]);
      await api.predict(model, x32, { batch_size: B, verbose: 0 });
      const t2 = performance.now();
      for (let i = 0; i < 5; i++) tf.dispose(await api.predict(model, x32, { batch_size: B, verbose: 0 }));
      const p32 = (performance.now() - t2) / 5;
      x32.dispose();
      rows.push({
        backend,
        case: name,
        system: "tskeras public API (fit/predict)",
        train: (B * 1000) / ms,
        predict: (1024 * 1000) / pms,
        predict32: (B * 1000) / p32,
        callsTrain: null,
        callsPredict: null,
        peakMiB: null,
      });
      tf.dispose([xs, ys]);
    } catch (e) {
      extra.push(`- tskeras public API, ${name} on ${backend}: not measured (${(e as Error).message.split("\n")[0]})`);
    }
  }

  // tf.layers
  {
    const m = layersNet(name);
    const slow = backend === "cpu";
    const step = async () => void (await m.trainOnBatch(x, y));
    const ms = await timeIt(step, slow ? budget(3000) : trainBudget, slow ? 1 : 3, 1);
    const calls = await countCalls(step);
    const peak = await peakOf(step);
    const xpp = slow ? tf.slice(xp, [0, 0, 0], [256, T, F]) : xp;
    const pred = (xx: Tensor) => void tf.tidy(() => (m.predict(xx, { batchSize: xx.shape[0] }) as Tensor).dataSync());
    const pms = await timeIt(() => pred(xpp), slow ? budget(2000) : budget(1500), 1, slow ? 0 : 1);
    const p32 = await timeIt(() => pred(x), slow ? budget(1500) : budget(1000), 1, 1);
    const pcalls = await countCalls(() => pred(x));
    rows.push({
      backend,
      case: name,
      system: "tf.layers 4.22",
      train: (B * 1000) / ms,
      predict: (xpp.shape[0] * 1000) / pms,
      predict32: (B * 1000) / p32,
      callsTrain: calls,
      callsPredict: pcalls,
      peakMiB: peak,
      note: slow ? "predict at batch 256" : undefined,
    });
    m.dispose();
    if (xpp !== xp) xpp.dispose();
  }
  tf.dispose([x, y, xp]);
}

// streaming: batch 1, one timestep per call, state carried
interface StreamRow {
  backend: string;
  system: string;
  msPerStep: number;
  calls: number;
}
const streamRows: StreamRow[] = [];

async function benchStreaming(backend: string) {
  const v = rnnVars("gru", F);
  const xs = rand([1, 1, F]);
  let h: Tensor = tf.keep(tf.zeros([1, U]));
  const step = () => {
    const r = fusedRnn({
      cell: "gru_reset_after",
      inputs: xs,
      kernel: v.kernel,
      recurrentKernel: v.recurrentKernel,
      bias: v.bias,
      initialState: [h],
    });
    h.dispose();
    h = r.states[0];
    r.output.dispose();
  };
  const ms =
    (await timeIt(
      () => {
        for (let i = 0; i < 100; i++) step();
      },
      budget(1500),
      2,
    )) / 100;
  const calls = await countCalls(step);
  streamRows.push({ backend, system: "tskeras fused (direct)", msPerStep: ms, calls });
  h.dispose();
  tf.dispose([v.kernel, v.recurrentKernel, v.bias, xs]);

  // The same through the public API: a stateful model (GRU + Dense) and a stateful eager layer.
  const api: any = await import("../src/index.js");
  const { pipe } = await import("fp-ts/lib/function.js");
  const model = pipe(
    api.keras_model_sequential({ batch_input_shape: [1, 1, F] }),
    api.layer_gru({ units: U, stateful: true }),
    api.layer_dense({ units: 1 }),
  );
  const xt = rand([1, 1, F]);
  const xNested = xt.arraySync();
  const apiSteps: [string, Job][] = [
    [
      "tskeras predict(stateful model, nested array) incl. Dense",
      async () => void (await api.predict(model, xNested, { verbose: 0 })),
    ],
    [
      "tskeras predict_on_batch(stateful model, tensor) incl. Dense",
      async () => void (await api.predict_on_batch(model, xt)),
    ],
  ];
  const gru = api.layer_gru({ units: U, stateful: true });
  apiSteps.push(["tskeras stateful layer called eagerly: gru(x)", () => (gru(xt) as Tensor).dispose()]);
  for (const [system, f] of apiSteps) {
    const msApi =
      (await timeIt(
        async () => {
          for (let i = 0; i < 50; i++) await f();
        },
        budget(1500),
        2,
      )) / 50;
    streamRows.push({ backend, system, msPerStep: msApi, calls: await countCalls(f) });
  }
  xt.dispose();

  const m = tf.sequential();
  m.add(tf.layers.gru({ units: U, recurrentActivation: "sigmoid", stateful: true, batchInputShape: [1, 1, F] }));
  const x1 = rand([1, 1, F]);
  const pstep = () => tf.tidy(() => void (m.predict(x1) as Tensor).dataSync());
  const ms2 =
    (await timeIt(
      () => {
        for (let i = 0; i < 20; i++) pstep();
      },
      budget(1500),
      1,
    )) / 20;
  const calls2 = await countCalls(pstep);
  streamRows.push({ backend, system: "tf.layers 4.22 (stateful, predict)", msPerStep: ms2, calls: calls2 });
  m.dispose();
  x1.dispose();
}

// long sequences: time and memory vs length
interface LongRow {
  backend: string;
  system: string;
  len: number;
  msTrain: number;
  msPredict: number;
  peakMiB: number;
}
const longRows: LongRow[] = [];

async function benchLong(backend: string) {
  const lens = [50, 100, 250, 500];
  for (const len of lens) {
    const x = rand([B, len, F]),
      y = rand([B, 1]);
    const v = rnnVars("gru", F);
    const dense = { w: glorot(U, 1), b: tf.variable(tf.zeros([1])) };
    const net: FusedNet = {
      vars: [v.kernel, v.recurrentKernel, v.bias, dense.w, dense.b],
      forward: (xx) =>
        tf.add(
          tf.matMul(
            fusedRnn({
              cell: "gru_reset_after",
              inputs: xx,
              kernel: v.kernel,
              recurrentKernel: v.recurrentKernel,
              bias: v.bias,
            }).output,
            dense.w,
          ),
          dense.b,
        ),
    };
    const step = fusedTrainer(net);
    const ms = await timeIt(() => step(x, y), budget(1200), 2);
    const peak = await peakOf(() => step(x, y));
    const pms = await timeIt(() => tf.tidy(() => net.forward(x)).dispose(), budget(600), 2);
    longRows.push({ backend, system: "tskeras fused (direct)", len, msTrain: ms, msPredict: pms, peakMiB: peak });
    tf.dispose([...net.vars, x, y]);
  }
  for (const len of backend === "cpu" ? [50, 100] : [50, 500]) {
    const x = rand([B, len, F]),
      y = rand([B, 1]);
    const m = tf.sequential();
    m.add(tf.layers.gru({ units: U, recurrentActivation: "sigmoid", inputShape: [len, F] }));
    m.add(tf.layers.dense({ units: 1 }));
    m.compile({ optimizer: tf.train.adam(0.001, 0.9, 0.999, 1e-7), loss: "meanSquaredError" });
    const step = async () => void (await m.trainOnBatch(x, y));
    const ms = await timeIt(step, budget(1500), 1, 1);
    const peak = await peakOf(step);
    const pms = await timeIt(() => tf.tidy(() => void (m.predict(x) as Tensor).dataSync()), budget(800), 1);
    longRows.push({ backend, system: "tf.layers 4.22", len, msTrain: ms, msPredict: pms, peakMiB: peak });
    m.dispose();
    tf.dispose([x, y]);
  }
}

// ---------------------------------------------------------------------------------------------
// PyTorch

function torchResults(): any | null {
  if (process.env.BENCH_NO_TORCH === "1") return null;
  try {
    execFileSync("/usr/bin/python3", ["-c", "import torch"], { stdio: "ignore" });
  } catch {
    return null;
  }
  try {
    const out = execFileSync("/usr/bin/python3", [HERE + "torch_bench.py", QUICK ? "quick" : "full"], {
      encoding: "utf8",
      timeout: 600000,
    });
    return JSON.parse(out.trim().split("\n").pop()!);
  } catch (e) {
    extra.push(`- PyTorch: failed (${(e as Error).message.split("\n")[0]})`);
    return null;
  }
}

// ---------------------------------------------------------------------------------------------

const f0 = (v: number | null | undefined) =>
  v == null ? "–" : v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(v >= 10 ? 1 : 2);

async function main() {
  if (process.argv.includes("--report-only")) {
    // re-render KERNELS.md from the last run's raw numbers
    const raw = JSON.parse(readFileSync(HERE + "kernels.json", "utf8"));
    rows.push(...raw.rows);
    streamRows.push(...raw.streamRows);
    longRows.push(...raw.longRows);
    extra.push(...raw.extra);
    BACKENDS.splice(0, BACKENDS.length, ...raw.backends);
    writeFileSync(HERE + "KERNELS.md", report({ ...raw.meta, started: new Date(raw.meta.started) }));
    return;
  }
  const started = new Date();
  const load0 = readFileSync("/proc/loadavg", "utf8").trim();
  const api = await publicApi();
  for (const backend of BACKENDS) {
    await use_backend(backend);
    for (const name of ["gru", "lstm", "stacked_gru", "bidir_masked_gru"] as CaseName[]) {
      process.stderr.write(`[bench] ${backend} ${name}\n`);
      await benchCase(backend, name, api);
    }
    process.stderr.write(`[bench] ${backend} streaming\n`);
    await benchStreaming(backend);
    process.stderr.write(`[bench] ${backend} long sequences\n`);
    await benchLong(backend);
  }
  const rssAfterTfjs = process.resourceUsage().maxRSS / 1024;
  process.stderr.write(`[bench] torch\n`);
  const torch = torchResults();
  const load1 = readFileSync("/proc/loadavg", "utf8").trim();
  const meta = { started, load0, load1, rssAfterTfjs, torch, api: !!api };
  writeFileSync(
    HERE + "kernels.json",
    JSON.stringify({ meta, rows, streamRows, longRows, extra, backends: BACKENDS }, null, 1),
  );
  writeFileSync(HERE + "KERNELS.md", report(meta));
  process.stderr.write(`[bench] wrote bench/KERNELS.md\n`);
}

function report(o: {
  started: Date;
  load0: string;
  load1: string;
  rssAfterTfjs: number;
  torch: any;
  api: boolean;
}): string {
  const L: string[] = [];
  const cpu = cpus()[0]?.model ?? "unknown";
  L.push("# Kernel benchmark (`npm run bench:kernels`)", "");
  L.push(`- Date: ${o.started.toISOString()}`);
  L.push(
    `- Machine: ${cpus().length} cores (nproc), CPU model "${cpu}", ${Math.round(require_os_totalmem() / 2 ** 30)} GiB RAM; Node ${process.version}; tfjs ${tf.version_core}`,
  );
  L.push(
    `- Load average (1/5/15 min) at start: ${o.load0.split(" ").slice(0, 3).join(" ")}; at end: ${o.load1.split(" ").slice(0, 3).join(" ")}`,
  );
  L.push(
    `- Backends: ${BACKENDS.join(", ")} (one process; tskeras and tf.layers on the same backend); PyTorch: ${o.torch ? `${o.torch.version}, 1 thread` : "not available"}`,
  );
  L.push(
    `- Peak RSS of the Node process (all tfjs cases): ${Math.round(o.rssAfterTfjs)} MiB${o.torch ? `; PyTorch process: ${Math.round(o.torch.maxrss_mib)} MiB` : ""}`,
  );
  L.push(
    `- Shapes: batch ${B} × ${T} steps × ${F} features, ${U} units, Dense(1), Adam (Keras defaults), MSE. Predict at batch 1024 unless noted.`,
  );
  L.push("");
  L.push("## Training and inference", "");
  L.push(
    "| backend | case | system | train samples/s | predict samples/s (batch 1024) | predict samples/s (batch 32) | kernel calls / train batch | kernel calls / predict batch | tf peak MiB / train batch |",
  );
  L.push("|---|---|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows)
    L.push(
      `| ${r.backend} | ${r.case} | ${r.system}${r.note ? ` (${r.note})` : ""} | ${f0(r.train)} | ${f0(r.predict)} | ${f0(r.predict32)} | ${f0(r.callsTrain)} | ${f0(r.callsPredict)} | ${r.peakMiB == null ? "–" : r.peakMiB.toFixed(1)} |`,
    );
  if (o.torch)
    for (const r of o.torch.cases)
      L.push(
        `| torch | ${r.case} | PyTorch ${o.torch.version} (1 thread) | ${f0(r.train)} | ${f0(r.predict)} | ${f0(r.predict32)} | – | – | – |`,
      );
  L.push("");
  L.push("## Ratios against the targets", "");
  L.push(
    "| backend | case | tskeras system | train vs tf.layers (target ≥ 10×) | train vs PyTorch (target ≥ 2×) | predict b1024 vs tf.layers (target ≥ 3×) | predict b32 vs tf.layers | predict b1024 vs PyTorch |",
  );
  L.push("|---|---|---|---:|---:|---:|---:|---:|");
  const q = (a: number | null | undefined, b: number | null | undefined) => (a && b ? `${(a / b).toFixed(1)}×` : "–");
  for (const backend of BACKENDS)
    for (const name of ["gru", "lstm", "stacked_gru", "bidir_masked_gru"]) {
      const tl = rows.find((r) => r.backend === backend && r.case === name && r.system.startsWith("tf.layers"));
      const pt = o.torch?.cases.find((r: any) => r.case === name);
      for (const ours of rows.filter(
        (r) => r.backend === backend && r.case === name && r.system.startsWith("tskeras"),
      )) {
        if (!tl) continue;
        L.push(
          `| ${backend} | ${name} | ${ours.system} | ${q(ours.train, tl.train)} | ${q(ours.train, pt?.train)} | ${q(ours.predict, tl.predict)} | ${q(ours.predict32, tl.predict32)} | ${q(ours.predict, pt?.predict)} |`,
        );
      }
    }
  L.push("");
  L.push("## Streaming: GRU(64), batch 1, one timestep per call, state carried (target ≤ 0.2 ms/step)", "");
  L.push("| backend | system | ms / step | kernel calls / step |", "|---|---|---:|---:|");
  for (const r of streamRows) L.push(`| ${r.backend} | ${r.system} | ${r.msPerStep.toFixed(3)} | ${r.calls} |`);
  if (o.torch) L.push(`| torch | PyTorch ${o.torch.version} GRU, h carried | ${o.torch.stream_ms.toFixed(3)} | – |`);
  L.push("");
  L.push("## Long sequences: GRU(64) → Dense(1), batch 32 (time and memory vs length)", "");
  L.push(
    "| backend | system | steps | ms / train batch | ms per step (train) | ms / predict batch | tf peak MiB / train batch |",
    "|---|---|---:|---:|---:|---:|---:|",
  );
  for (const r of longRows)
    L.push(
      `| ${r.backend} | ${r.system} | ${r.len} | ${r.msTrain.toFixed(1)} | ${(r.msTrain / r.len).toFixed(3)} | ${r.msPredict.toFixed(1)} | ${r.peakMiB.toFixed(1)} |`,
    );
  if (o.torch)
    for (const r of o.torch.long)
      L.push(
        `| torch | PyTorch ${o.torch.version} | ${r.len} | ${r.ms_train.toFixed(1)} | ${(r.ms_train / r.len).toFixed(3)} | ${r.ms_predict.toFixed(1)} | – |`,
      );
  if (extra.length) L.push("", "## Notes from this run", "", ...extra);
  L.push("");
  return L.join("\n") + "\n";
}

function require_os_totalmem(): number {
  // os.totalmem without another import line at the top
  return Number(readFileSync("/proc/meminfo", "utf8").match(/MemTotal:\s+(\d+)/)?.[1] ?? 0) * 1024;
}

await main();
