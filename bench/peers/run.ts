/**
 * `npm run bench`: tskeras against the systems a user would pick instead, on the workloads of
 * bench/peers/workloads.md. Every system runs in its own process (node_peer.mjs, python_peer.py), one
 * process per system and mode, in rounds whose order alternates; the report gives medians over the
 * rounds and the ratios. Writes bench/RESULTS.md (with bench/ANALYSIS.md appended) and bench/results.json.
 *
 * Environment:
 *   BENCH_ROUNDS   rounds (default 3; tfjs-layers on cpu, 10-100x slower, runs one round)
 *   BENCH_QUICK=1  short timings (harness development; numbers not for comparison)
 *   BENCH_SYSTEMS  a comma list to run (default all): tskeras-wasm, tskeras-cpu, tfjs-layers-wasm,
 *                  tfjs-layers-cpu, keras-jax, keras-tensorflow, torch-1, torch-2
 *   BENCH_MODES    a comma list (default all): train, stream-predict, stream-predict_on_batch, launch, sweep
 *   BENCH_PYTHON   the interpreter of the Python peers (default .venv-keras/bin/python); a peer whose
 *                  modules it lacks (keras + jax, keras + tensorflow, torch) is skipped with a note
 *   BENCH_REPORT_ONLY=1  re-render RESULTS.md from results.json (e.g. after editing ANALYSIS.md)
 *   BENCH_MERGE=1  add this run's values to those in results.json (e.g. a slow system run on its own)
 *
 * tskeras is imported from dist/ when it is built and newer than src/ (launch times then count no
 * TypeScript loader), else from src/ through tsx.
 */
import { spawn, spawnSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..", "..");
const QUICK = process.env.BENCH_QUICK === "1";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PYTHON = process.env.BENCH_PYTHON ?? join(ROOT, ".venv-keras/bin/python");

const NODE_SYSTEMS: readonly string[] = ["tskeras-wasm", "tskeras-cpu", "tfjs-layers-wasm", "tfjs-layers-cpu"];
const PY_SYSTEMS: readonly string[] = ["keras-jax", "keras-tensorflow", "torch-1", "torch-2"];
const ALL_MODES = ["train", "stream-predict", "stream-predict_on_batch", "launch", "sweep"] as const;
const WORKLOADS = ["W1", "W2", "W3", "W4"] as const;
const SWEEP = [50, 100, 200, 400];
/**
 * Multiply-adds ×2 of the recurrent layers per sample (bench/ANALYSIS.md): training (forward, backward,
 * weight gradients; the input gradient only where a layer below needs it) and prediction. W4 counts all
 * 80 steps of both directions (the masked systems run them; PyTorch's packed sequences skip the padding).
 */
const MFLOP: Record<string, { train: number; predict: number }> = {
  W1: { train: 4.3, predict: 1.54 },
  W2: { train: 5.73, predict: 2.05 },
  W3: { train: 93.4, predict: 31.9 },
  W4: { train: 21.0, predict: 7.86 },
};
/**
 * GFLOP/s of one core of this package's native AVX-512 product at the recurrent shapes (`npx tsx
 * bench/gemm.ts`: 172–230 at 16 × 64 × 192 to 1024 × 64 × 192; AVX2 + FMA: 107–128; the WebAssembly
 * SIMD product: 58–62). The core's multiply-adds alone, in registers, reach 273 (bench/ANALYSIS.md).
 */
const GEMM_GFLOPS_PER_CORE = 230;
/** Systems measured in each mode (the slow ones only where the issue compares them). */
const MODE_SYSTEMS: Record<string, readonly string[]> = {
  train: [...NODE_SYSTEMS, ...PY_SYSTEMS],
  "stream-predict": ["tskeras-wasm", "tskeras-cpu", "tfjs-layers-wasm", ...PY_SYSTEMS],
  "stream-predict_on_batch": ["tskeras-wasm", "tskeras-cpu", "keras-jax", "keras-tensorflow"],
  launch: ["tskeras-wasm", "tfjs-layers-wasm", ...PY_SYSTEMS],
  sweep: ["tskeras-wasm", "keras-jax", "keras-tensorflow", "torch-1", "torch-2"],
};
const SLOW = new Set(["tfjs-layers-cpu"]);

type Values = Record<string, number[]>;
interface Results {
  meta: Record<string, unknown>;
  /** system → measurement key → one value per round */
  values: Record<string, Values>;
  versions: Record<string, unknown>;
  notes: string[];
}

// ---------------------------------------------------------------------------------------------
// Running the peers

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** dist/index.js when it is built from the current sources, else src/index.ts (run under tsx). */
function tskerasEntry(): { path: string; tsx: boolean } {
  const dist = join(ROOT, "dist/index.js");
  if (existsSync(dist) && statSync(dist).mtimeMs >= newestMtime(join(ROOT, "src"))) return { path: dist, tsx: false };
  return { path: join(ROOT, "src/index.ts"), tsx: true };
}

/** Why a Python peer cannot run here (null: it can). */
function pythonProblem(system: string): string | null {
  const modules = system.startsWith("torch") ? "torch" : `keras, ${system.split("-")[1]}`;
  if (!existsSync(PYTHON)) return `no interpreter at ${PYTHON} (set BENCH_PYTHON)`;
  const r = spawnSync(PYTHON, ["-c", `import ${modules}`], { stdio: "ignore", timeout: 120000 });
  return r.status === 0 ? null : `${PYTHON} cannot import ${modules}`;
}

interface PeerRun {
  lines: Record<string, unknown>[];
  /** seconds from spawn to "@@FITDONE" (launch mode) */
  fitDone?: number;
}

function runPeer(system: string, mode: string, entry: { path: string; tsx: boolean }): Promise<PeerRun> {
  const quick = QUICK ? ["quick"] : [];
  const python = PY_SYSTEMS.includes(system);
  const tskeras = system.startsWith("tskeras");
  const [cmd, args] = python
    ? [PYTHON, [join(HERE, "python_peer.py"), system, mode, ...quick]]
    : [
        process.execPath,
        [...(tskeras && entry.tsx ? ["--import", "tsx"] : []), join(HERE, "node_peer.mjs"), system, mode, ...quick],
      ];
  const env = {
    ...process.env,
    BENCH_TSKERAS: entry.path,
    TF_CPP_MIN_LOG_LEVEL: "3",
    ...(system.startsWith("keras-") ? { KERAS_BACKEND: system.split("-")[1] } : {}),
  };
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const run: PeerRun = { lines: [] };
    let out = "",
      err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      let i;
      while ((i = out.indexOf("\n")) >= 0) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        if (line.startsWith("@@FITDONE")) run.fitDone = (performance.now() - t0) / 1000;
        else if (line.startsWith("@@ ")) run.lines.push(JSON.parse(line.slice(3)));
      }
    });
    child.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), 40 * 60 * 1000);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(run);
      else reject(new Error(`${system} ${mode} exited with ${code}: ${err.trim().split("\n").slice(-3).join(" | ")}`));
    });
  });
}

function record(r: Results, system: string, mode: string, run: PeerRun): void {
  const v = (r.values[system] ??= {});
  const add = (k: string, x: unknown) => {
    if (typeof x === "number" && Number.isFinite(x)) (v[k] ??= []).push(x);
  };
  for (const line of run.lines) {
    if (line.versions) r.versions[system] = line.versions;
    if (typeof line.workload === "string") {
      add(`${line.workload}.train`, line.train);
      add(`${line.workload}.predict`, line.predict);
      if (line.note) r.notes.push(`- ${system}: ${line.note as string}`);
      if (line.error) r.notes.push(`- ${system}, ${line.workload}: not measured (${line.error as string})`);
    }
    if (typeof line.stream === "string") {
      add(`stream.${line.stream}.cold`, line.cold_ms);
      add(`stream.${line.stream}.warm`, line.warm_ms);
    }
    if (typeof line.sweep === "number") add(`sweep.${line.sweep}`, line.train);
    if (line.peak_rss_mib !== undefined) add(`rss.${mode}`, line.peak_rss_mib);
  }
  if (run.fitDone !== undefined) add("launch", run.fitDone);
}

async function measure(): Promise<Results> {
  const wanted = process.env.BENCH_SYSTEMS?.split(",").map((s) => s.trim());
  const modes = process.env.BENCH_MODES?.split(",").map((s) => s.trim()) ?? [...ALL_MODES];
  const entry = tskerasEntry();
  const r: Results = {
    meta: {
      started: new Date().toISOString(),
      load0: readFileSync("/proc/loadavg", "utf8").trim(),
      rounds: ROUNDS,
      quick: QUICK,
      tskeras: entry.tsx ? "src/ under tsx" : "dist/",
      python: PYTHON,
    },
    values: {},
    versions: {},
    notes: [],
  };
  const systems = [...NODE_SYSTEMS, ...PY_SYSTEMS].filter((s) => !wanted || wanted.includes(s));
  const skipped = new Set<string>();
  for (const s of systems) {
    const why = PY_SYSTEMS.includes(s) ? pythonProblem(s) : null;
    if (why) {
      skipped.add(s);
      r.notes.push(`- ${s}: skipped (${why})`);
    }
  }
  for (let round = 0; round < ROUNDS; round++)
    for (const mode of modes) {
      const order = (MODE_SYSTEMS[mode] ?? []).filter((s) => systems.includes(s) && !skipped.has(s));
      if (round % 2) order.reverse();
      for (const s of order) {
        if (round > 0 && SLOW.has(s)) continue;
        const load = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
        ((r.meta.startLoads ??= {}) as Record<string, number[]>)[`${mode} ${s}`] ??= [];
        (r.meta.startLoads as Record<string, number[]>)[`${mode} ${s}`].push(load);
        process.stderr.write(`[bench] round ${round + 1}/${ROUNDS} ${mode} ${s} (load ${load})\n`);
        try {
          record(r, s, mode, await runPeer(s, mode, entry));
        } catch (e) {
          r.notes.push(`- round ${round + 1}, ${mode}, ${s}: failed (${(e as Error).message})`);
        }
      }
    }
  r.meta.load1 = readFileSync("/proc/loadavg", "utf8").trim();
  r.meta.finished = new Date().toISOString();
  return r;
}

// ---------------------------------------------------------------------------------------------
// The report

const median = (v: number[] | undefined): number | null => {
  if (!v?.length) return null;
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (v: number | null, digits = 0): string =>
  v === null ? "–" : v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(v >= 10 ? Math.max(digits, 1) : 2);
const ratio = (a: number | null, b: number | null): string => (a && b ? `${(a / b).toFixed(2)}×` : "–");

function report(r: Results): string {
  const med = (s: string, k: string) => median(r.values[s]?.[k]);
  const present = [...NODE_SYSTEMS, ...PY_SYSTEMS].filter((s) => r.values[s]);
  const L: string[] = [];
  const table = (head: string[], rows: string[][]) => {
    L.push(`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i ? "---:" : "---")).join("|")}|`);
    for (const row of rows) L.push(`| ${row.join(" | ")} |`);
    L.push("");
  };
  const load = (s: unknown) =>
    String(s ?? "")
      .split(" ")
      .slice(0, 3)
      .join(" ");
  L.push("# Benchmark results (`npm run bench`)", "");
  L.push(`- Date: ${r.meta.started} to ${r.meta.finished}`);
  L.push(
    `- Machine: ${cpus().length} cores, CPU "${cpus()[0]?.model ?? "unknown"}", ${Math.round(totalmem() / 2 ** 30)} GiB RAM; Node ${process.version}`,
  );
  L.push(`- Load average (1/5/15 min) at start: ${load(r.meta.load0)}; at end: ${load(r.meta.load1)}`);
  for (const m of (r.meta.merged as Record<string, unknown>[] | undefined) ?? [])
    L.push(
      `- Merged run ${m.started} to ${m.finished}: load average at start ${load(m.load0)}, at end ${load(m.load1)}`,
    );
  const startLoads = Object.entries((r.meta.startLoads as Record<string, number[]> | undefined) ?? {}).filter(([k]) =>
    k.startsWith("train "),
  );
  if (startLoads.length)
    L.push(
      `- Load average (1 min) as each training process started, by round: ${startLoads.map(([k, v]) => `${k.slice(6)} ${v.join(" / ")}`).join("; ")}`,
    );
  L.push(
    `- ${r.meta.rounds} round(s), medians${r.meta.quick ? "; QUICK timings (harness check, not for comparison)" : ""}; tskeras from ${r.meta.tskeras}; Python: ${r.meta.python}`,
  );
  L.push(`- Command: \`npm run build && BENCH_PYTHON=.venv-peers/bin/python npm run bench\` (bench/README.md)`);
  const vers = Object.entries(r.versions).map(([s, v]) => `${s} ${JSON.stringify(v)}`);
  if (vers.length) L.push(`- Versions: ${vers.join("; ")}`);
  L.push("", "Workloads (bench/README.md): W1 GRU(64)→Dense(1), batch 32 × 50 steps × 16 features, Adam, MSE;");
  L.push("W2 the same with LSTM(64); W3 2 × GRU(128), batch 64 × 100 steps × 32 features; W4 Embedding(1000, 32,");
  L.push("mask_zero) → Bidirectional(LSTM(64)) → Dense(1, sigmoid), right-padded lengths 20–80, batch 32, binary");
  L.push("crossentropy. Training through fit() (PyTorch: its usual loop); predict() at batch 1024.", "");

  L.push("## Training, samples/s", "");
  table(
    ["workload", ...present],
    WORKLOADS.map((w) => [w, ...present.map((s) => fmt(med(s, `${w}.train`)))]),
  );
  L.push("## Predict at batch 1024, samples/s", "");
  table(
    ["workload", ...present],
    WORKLOADS.map((w) => [w, ...present.map((s) => fmt(med(s, `${w}.predict`)))]),
  );
  L.push("## Ratios (tskeras ÷ peer; ≥ 1 is faster)", "");
  const peers = ["keras-jax", "keras-tensorflow", "torch-1", "torch-2", "tfjs-layers-wasm"].filter((s) =>
    present.includes(s),
  );
  const rows: string[][] = [];
  for (const w of WORKLOADS)
    for (const what of ["train", "predict"] as const) {
      const ours = med("tskeras-wasm", `${w}.${what}`);
      const best = Math.max(...peers.filter((p) => p !== "tfjs-layers-wasm").map((p) => med(p, `${w}.${what}`) ?? 0));
      rows.push([
        `${w} ${what}`,
        ...peers.map((p) => ratio(ours, med(p, `${w}.${what}`))),
        ratio(ours, best || null),
        ratio(med("tskeras-cpu", `${w}.${what}`), med("tfjs-layers-cpu", `${w}.${what}`)),
      ]);
    }
  table(["tskeras-wasm vs", ...peers, "best Python peer", "tskeras-cpu vs tfjs-layers-cpu"], rows);

  L.push("## Arithmetic reached", "");
  L.push(
    `GFLOP/s = samples/s × MFLOP per sample / 1000; the limit is ${cpus().length} cores × ${GEMM_GFLOPS_PER_CORE} GFLOP/s (this package's native AVX-512 product at these shapes, one core; AVX2 + FMA reaches ≈ 125, its WebAssembly SIMD product ≈ 60).`,
    "",
  );
  const limit = cpus().length * GEMM_GFLOPS_PER_CORE;
  const arith = ["tskeras-wasm", "keras-jax", "torch-2"].filter((s) => present.includes(s));
  table(
    ["workload", "MFLOP / sample", ...arith.map((s) => `${s} GFLOP/s (share of limit)`)],
    WORKLOADS.flatMap((w) =>
      (["train", "predict"] as const).map((what) => [
        `${w} ${what}`,
        String(MFLOP[w][what]),
        ...arith.map((s) => {
          const v = med(s, `${w}.${what}`);
          if (v === null) return "–";
          const g = (v * MFLOP[w][what]) / 1000;
          return `${g.toFixed(1)} (${Math.round((100 * g) / limit)}%)`;
        }),
      ]),
    ),
  );

  L.push("## Streaming: stateful GRU(64) → Dense(1), batch_input_shape (1, 1, 16), ms per one-step call", "");
  L.push(
    "Cold: the mean over the first 1,000 calls of a fresh process; warm: over the next 3,000 (or 4 s, at least 100).",
  );
  L.push("PyTorch: the module called on a (1, 1, 16) tensor with h carried, result to a list.", "");
  const streamSystems = present.filter(
    (s) => r.values[s]?.["stream.predict.cold"] || r.values[s]?.["stream.predict_on_batch.cold"],
  );
  const ms = (v: number | null) => (v === null ? "–" : v.toFixed(3));
  table(
    ["system", "predict() cold", "predict() warm", "predict_on_batch() cold", "predict_on_batch() warm"],
    streamSystems.map((s) => [
      s,
      ...["predict", "predict_on_batch"].flatMap((c) => [
        ms(med(s, `stream.${c}.cold`)),
        ms(med(s, `stream.${c}.warm`)),
      ]),
    ]),
  );

  L.push("## Launch to first fit done, and memory", "");
  L.push("Launch: seconds from starting the process to the end of its first fit (W1, one epoch of 10 batches),");
  L.push("imports included. Peak RSS: of that process, and of the process that ran W1–W4 (train mode).", "");
  table(
    ["system", "launch → first fit done, s", "peak RSS after first fit, MiB", "peak RSS of W1–W4, MiB"],
    present.map((s) => [s, fmt(med(s, "launch"), 2), fmt(med(s, "rss.launch")), fmt(med(s, "rss.train"))]),
  );

  L.push("## Sequence length: W1 with longer sequences, training samples/s", "");
  const sweepSystems = present.filter((s) => r.values[s]?.[`sweep.${SWEEP[0]}`]);
  table(
    ["steps", ...sweepSystems, "tskeras-wasm ÷ keras-tensorflow"],
    SWEEP.map((T) => [
      String(T),
      ...sweepSystems.map((s) => fmt(med(s, `sweep.${T}`))),
      ratio(med("tskeras-wasm", `sweep.${T}`), med("keras-tensorflow", `sweep.${T}`)),
    ]),
  );
  if (r.notes.length) L.push("## Notes from this run", "", ...new Set(r.notes), "");
  const analysis = join(HERE, "..", "ANALYSIS.md");
  if (existsSync(analysis)) L.push(readFileSync(analysis, "utf8"));
  return L.join("\n") + "\n";
}

const resultsFile = join(HERE, "..", "results.json");
const previous = (): Results => JSON.parse(readFileSync(resultsFile, "utf8"));
function merged(old: Results, now: Results): Results {
  for (const [system, values] of Object.entries(now.values))
    for (const [k, v] of Object.entries(values)) ((old.values[system] ??= {})[k] ??= []).push(...v);
  Object.assign(old.versions, now.versions);
  old.notes.push(...now.notes);
  old.meta.merged = [...((old.meta.merged as unknown[]) ?? []), now.meta];
  return old;
}
const r: Results =
  process.env.BENCH_REPORT_ONLY === "1"
    ? previous()
    : process.env.BENCH_MERGE === "1"
      ? merged(previous(), await measure())
      : await measure();
if (process.env.BENCH_REPORT_ONLY !== "1") writeFileSync(resultsFile, JSON.stringify(r, null, 1) + "\n");
writeFileSync(join(HERE, "..", "RESULTS.md"), report(r));
process.stderr.write("[bench] wrote bench/RESULTS.md and bench/results.json\n");
