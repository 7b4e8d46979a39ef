/**
 * The one-step inference path of predict() and predict_on_batch() (issue 13's streaming case: a stateful
 * recurrent model called on one small batch, one step at a time). When the model is a chain of recurrent
 * layers the fused kernels cover, followed by Dense layers, and the call is small, the chain runs here
 * without tfjs: no tfjs op, no tensor for x or the outputs. The weights and the recurrent states are read
 * where the backend keeps them (host_memory.ts views, on wasm and cpu) on every call. The one thing kept
 * from call to call is a recurrent layer's weights copied into the SIMD products' memory with its folded
 * bias, reused while its variables hold the same data: the same dataIds (an assign, as in set_weights
 * during a fit or the optimizer's tensor update, gives a new one) and no in-place write since
 * (host_memory.ts `inPlaceWrites`: the optimizer's in-place update). A fit, set_weights or reset_states
 * between two calls is seen. The new states are written back into the state tensors
 * (or replace them when anything else shares their data). x is read straight from the nested arrays; the
 * result is the nested arrays predict returns. The working buffers are made once per runtime and batch
 * size and reused (a call fills every one before reading it): the first ~1,000 calls of a process then
 * allocate too little to trigger a garbage collection.
 *
 * The cell's step math is the fused cells' own phase bodies (fused/cells/), compiled to JavaScript; the
 * recurrent products run in one_step_simd.ts where they can. Anything this path does not cover returns
 * null and takes the general path (loops.ts), which also raises every error.
 */
import { tf, type Tensor } from "../../backend/tf.js";
import { hostMemory, inPlaceWrites, type HostMemory } from "../../backend/host_memory.js";
import { toNestedArray } from "../../backend/convert.js";
import type { NestedNumbers } from "../../model/dual.js";
import type { Model } from "../../model/model.js";
import type { Layer } from "../../model/layer.js";
import type { Shape } from "../../model/types.js";
import type { Activation } from "../../ops/activations.js";
import { pinModelRuntime, unpinRuntime, type Lease, type Runtime } from "../runtime.js";
import { recurrentCellOf } from "../../layers/recurrent/rnn_layer.js";
import { fusedKernelsOn, fusedPlan, isBuiltin } from "../../layers/recurrent/fused/plan.js";
import { FUSED_CELLS, foldBias, type BiasLayout, type FusedCell } from "../../layers/recurrent/fused/cells/index.js";
import type { GradAlgebra } from "../../layers/recurrent/fused/cells/algebra.js";
import type { PhaseIO, StepBuffer } from "../../layers/recurrent/fused/cells/types.js";
import { simdProducts, type RecurrentProducts } from "./one_step_simd.js";

/**
 * The most multiply-adds per call this path takes (batch × steps × the chain's products): it is meant for
 * small calls, single-threaded, with Dense in scalar JavaScript. Where it stops paying off against the
 * fused kernels (threads, tiled products) was not measured; GRU(64) on 16 features → Dense(1) is 15,424.
 */
export const ONE_STEP_MAX_MULTIPLY_ADDS = 1 << 16;

/**
 * The activations this path runs, as JavaScript expressions of their input (`f`) and, for the
 * GradAlgebra a phase body is written against, of their output (`dFromOutput`; forward phases do not use it).
 */
const SCALAR_ACTIVATIONS: Readonly<Record<string, { f: (x: string) => string; dFromOutput: (y: string) => string }>> = {
  linear: { f: (x) => x, dFromOutput: () => "1" },
  relu: { f: (x) => `(${x} > 0 ? ${x} : 0)`, dFromOutput: (y) => `(${y} > 0 ? 1 : 0)` },
  sigmoid: { f: (x) => `1 / (1 + Math.exp(-${x}))`, dFromOutput: (y) => `${y} * (1 - ${y})` },
  tanh: { f: (x) => `Math.tanh(${x})`, dFromOutput: (y) => `1 - ${y} * ${y}` },
};
type ScalarActivationName = keyof typeof SCALAR_ACTIVATIONS;

/** A scalar activation as a function (Dense's). */
const scalarFunction = (name: ScalarActivationName): ((x: number) => number) =>
  new Function("x", `return ${SCALAR_ACTIVATIONS[name].f("x")};`) as (x: number) => number;

/** One row's step buffers (block k of a buffer at k·u) and the next states the forward phase writes. */
interface RowBuffers {
  readonly buffers: Record<StepBuffer, Float64Array>;
  readonly next: Record<"h" | "c", Float64Array>;
}

/** A forward phase of a cell compiled to a JavaScript loop over the units of one row. */
type RowPhase = (buffers: RowBuffers["buffers"], next: RowBuffers["next"], u: number) => void;

const compiledPhases = new Map<string, RowPhase[]>();

/**
 * The cell's forward phases with these activations as JavaScript functions: each phase body (the fused
 * cells' own, fused/cells/) runs once on expressions, and its statements become the body of the unit loop.
 * The sources come from the cell definitions and the table above only.
 */
function rowPhases(cell: FusedCell, act: ScalarActivationName, ract: ScalarActivationName): RowPhase[] {
  const key = `${cell.id} ${act} ${ract}`;
  let phases = compiledPhases.get(key);
  if (phases) return phases;
  phases = cell.forward.map((phase) => {
    const lines: string[] = [];
    let locals = 0;
    const local = (expr: string) => {
      const name = `v${locals++}`;
      lines.push(`const ${name} = ${expr};`);
      return name;
    };
    const at = (buffer: StepBuffer, block: number) => `b.${buffer}[${block} * u + j]`;
    const A: GradAlgebra<string> = {
      add: (a, b) => local(`${a} + ${b}`),
      sub: (a, b) => local(`${a} - ${b}`),
      mul: (a, b) => local(`${a} * ${b}`),
      act: (x) => local(SCALAR_ACTIVATIONS[act].f(x)),
      ract: (x) => local(SCALAR_ACTIVATIONS[ract].f(x)),
      one: "1",
      dact: (y) => local(SCALAR_ACTIVATIONS[act].dFromOutput(y)),
      dract: (y) => local(SCALAR_ACTIVATIONS[ract].dFromOutput(y)),
    };
    const io: PhaseIO<string> = {
      load: (buffer, block) => local(at(buffer, block)),
      store: (buffer, block, v) => {
        // the folded bias is kept from call to call (runRecurrent)
        if (buffer === "bi" || buffer === "br")
          throw new Error(`one_step: forward phase ${phase.name} of ${cell.id} writes the bias`);
        lines.push(`${at(buffer, block)} = ${v};`);
      },
      state: (buffer, block, v) => void lines.push(`next.${buffer}[${block} * u + j] = ${v};`),
      g: "0",
      directStateGrad: () => {
        throw new Error(`one_step: forward phase ${phase.name} of ${cell.id} has a state gradient`);
      },
    };
    phase.body(io, A);
    return new Function("b", "next", "u", `for (let j = 0; j < u; j++) {\n${lines.join("\n")}\n}`) as RowPhase;
  });
  compiledPhases.set(key, phases);
  return phases;
}

/** A recurrent layer of the chain, with its step buffers for one batch row (reused from call to call). */
interface RecurrentLink {
  readonly kind: "recurrent";
  readonly layerIndex: number;
  readonly cell: FusedCell;
  readonly biasLayout: BiasLayout;
  readonly phases: readonly RowPhase[];
  readonly units: number;
  readonly inputDim: number;
  readonly returnSequences: boolean;
  readonly stateful: boolean;
  readonly row: RowBuffers;
  readonly products: RecurrentProducts;
  /** The data the products' weights and the row's folded bias were last made from. */
  readonly copiedFrom: CopiedFrom;
}

/** The dataIds of a layer's variables, and `inPlaceWrites()`, when its weights were copied. */
interface CopiedFrom {
  readonly dataIds: object[];
  writes: number;
}

/** Whether `variables` hold the data their values were copied from (`from`), with `writes` in-place writes now. */
function sameData(from: CopiedFrom, variables: readonly Tensor[], writes: number): boolean {
  if (from.writes !== writes || from.dataIds.length !== variables.length) return false;
  for (let w = 0; w < variables.length; w++) if (from.dataIds[w] !== variables[w].dataId) return false;
  return true;
}

function noteCopied(from: CopiedFrom, variables: readonly Tensor[], writes: number): void {
  from.dataIds.length = variables.length;
  for (let w = 0; w < variables.length; w++) from.dataIds[w] = variables[w].dataId;
  from.writes = writes;
}

interface DenseLink {
  readonly kind: "dense";
  readonly layerIndex: number;
  readonly act: (x: number) => number;
  readonly useBias: boolean;
  readonly inputDim: number;
  readonly units: number;
}

type Link = RecurrentLink | DenseLink;

interface Chain {
  readonly links: readonly Link[];
  /** The model input's shape (batch axis possibly null) and the output's, from the plan. */
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly multiplyAddsPerSample: number;
  /** Buffers for a call on `n` rows, reused from call to call (nothing in them outlives a call). */
  scratch: Scratch | null;
}

/**
 * A call's working memory: x, each link's states (h [, c]) and output (link k's at k; a Dense link's
 * row of products after the links'), the lists of weight views and state tensors, and per recurrent link
 * whether its weights are `unchanged` since its last copy and still `held` in its products' memory.
 */
interface Scratch {
  readonly n: number;
  readonly input: Float64Array;
  readonly states: Float64Array[][];
  readonly outputs: Float64Array[];
  readonly weights: Float32Array[][];
  readonly stateTensors: Tensor[][];
  readonly unchanged: boolean[];
  readonly held: boolean[];
}

function scratchFor(chain: Chain, n: number): Scratch {
  if (chain.scratch?.n === n) return chain.scratch;
  const [, T, F] = chain.inputShape as [number | null, number, number];
  const { links } = chain;
  return (chain.scratch = {
    n,
    input: new Float64Array(n * T * F),
    states: links.map((l) =>
      l.kind === "recurrent" ? Array.from({ length: l.cell.states }, () => new Float64Array(n * l.units)) : [],
    ),
    outputs: [],
    weights: links.map(() => []),
    stateTensors: links.map(() => []),
    unchanged: links.map(() => false),
    held: links.map(() => false),
  });
}

/** list[k] when it has `size` values, else a new array of that size in its place. */
const sized = (list: Float64Array[], k: number, size: number): Float64Array =>
  list[k]?.length === size ? list[k] : (list[k] = new Float64Array(size));

function rowBuffers(cell: FusedCell, u: number): RowBuffers {
  const blocks = Math.max(cell.gates, cell.savedGates);
  const names: StepBuffer[] = ["xp", "bi", "br", "rec", "h", "c", "gates", "aux", "rh", "rech"];
  return {
    buffers: Object.fromEntries(names.map((n) => [n, new Float64Array(blocks * u)])) as RowBuffers["buffers"],
    next: { h: new Float64Array(u), c: new Float64Array(u) },
  };
}

let enabled = true;
/** Test hook: turn this path off (every predict takes the general path) or back on. */
export function setOneStepEnabled(on: boolean): void {
  enabled = on;
}

let calls = 0;
/** How often predict / predict_on_batch took this path in this process. */
export function oneStepPredictCalls(): number {
  return calls;
}

const chains = new WeakMap<Runtime, Chain | null>();

/** The chain `rt` runs, or null when its plan is not recurrent layers then Dense layers this path covers. */
function chainOf(rt: Runtime): Chain | null {
  const { plan } = rt;
  if (plan.inputShapes.length !== 1 || plan.outputs.length !== 1) return null;
  const inputShape = plan.inputShapes[0];
  if (inputShape.length !== 3 || inputShape.slice(1).some((d) => d === null)) return null;
  const links: Link[] = [];
  let perSample = 0;
  for (let i = 0; i < plan.nodes.length; i++) {
    const node = plan.nodes[i];
    const [input] = node.inputShapes;
    const from = node.inputs[0];
    if (node.inputs.length !== 1 || from.node !== i - 1 || from.output !== 0) return null;
    if (node.initialState.length || node.constants.length || node.mask || node.training === true) return null;
    if (links.some((l) => l.layerIndex === node.layerIndex)) return null;
    const layer: Layer = rt.layers[node.layerIndex];
    const c = layer.config;
    // the general path runs an activity regularizer (and raises its errors) even where it adds no loss
    if (c.activity_regularizer) return null;
    const recurrentCell = recurrentCellOf(layer);
    if (recurrentCell) {
      const useCudnn = c.use_cudnn ?? "auto";
      const fused = fusedPlan({ cell: recurrentCell, useCudnn, training: false, environment: false });
      if (fused.path !== "fused" || links.some((l) => l.kind === "dense")) return null;
      if (c.return_state || c.go_backwards || input.length !== 3) return null;
      const { activation: act, recurrentActivation: ract } = fused.run;
      if (!Object.hasOwn(SCALAR_ACTIVATIONS, act) || !Object.hasOwn(SCALAR_ACTIVATIONS, ract)) return null;
      const cell = FUSED_CELLS[fused.run.cell];
      const units = recurrentCell.outputSize; // layer_rnn's config has the cell's
      const inputDim = input[2] as number;
      const steps = input[1] as number;
      const Gu = cell.gates * units;
      perSample += steps * (inputDim * Gu + units * Gu);
      links.push({
        kind: "recurrent",
        layerIndex: node.layerIndex,
        cell,
        biasLayout: fused.run.biasLayout,
        phases: rowPhases(cell, act, ract),
        units,
        inputDim,
        returnSequences: c.return_sequences === true,
        stateful: c.stateful === true,
        row: rowBuffers(cell, units),
        products: simdProducts(cell, inputDim, units) ?? scalarProducts(cell, inputDim, units),
        copiedFrom: { dataIds: [], writes: -1 },
      });
    } else if (layer.className === "Dense" && links.length > 0) {
      const activation = c.activation as Activation;
      if (!isBuiltin(activation) || !Object.hasOwn(SCALAR_ACTIVATIONS, activation.name)) return null;
      const inputDim = input[input.length - 1] as number;
      const rows = input.slice(1, -1).reduce<number>((n, d) => n * (d as number), 1);
      perSample += rows * inputDim * (c.units as number);
      links.push({
        kind: "dense",
        layerIndex: node.layerIndex,
        act: scalarFunction(activation.name),
        useBias: c.use_bias === true,
        inputDim,
        units: c.units as number,
      });
    } else return null;
  }
  const last = plan.outputs[0];
  if (links.length === 0 || last.node !== plan.nodes.length - 1 || last.output !== 0) return null;
  return { links, inputShape, outputShape: plan.outputShapes[0], multiplyAddsPerSample: perSample, scratch: null };
}

const isNumbers = (v: unknown): v is ArrayLike<number> =>
  Array.isArray(v) || v instanceof Float32Array || v instanceof Float64Array;

/**
 * Reads x into `values` (n·T·F) when it is n nested arrays of numbers of exactly the shape (T, F) (the
 * innermost arrays may be Float32Array / Float64Array); false when it is not.
 */
function readInput(x: unknown[], T: number, F: number, values: Float64Array): boolean {
  let o = 0;
  for (let b = 0; b < x.length; b++) {
    const sample: unknown = x[b];
    if (!Array.isArray(sample) || sample.length !== T) return false;
    for (let t = 0; t < T; t++) {
      const step: unknown = sample[t];
      if (!isNumbers(step) || step.length !== F) return false;
      for (let i = 0; i < F; i++) {
        const v = step[i];
        if (typeof v !== "number") return false;
        values[o++] = Math.fround(v); // the general path reads x as float32
      }
    }
  }
  return true;
}

/**
 * out[0, colsUsed) = x[xOffset, xOffset + inDim) · W[:, colOffset, colOffset + colsUsed), W (inDim, cols)
 * row-major; eight rows of W per pass over out (a third of the time of one row per pass).
 */
function product(
  x: Float64Array,
  xOffset: number,
  W: Float32Array,
  inDim: number,
  cols: number,
  colOffset: number,
  colsUsed: number,
  out: Float64Array,
): void {
  out.fill(0, 0, colsUsed);
  let i = 0;
  for (; i + 7 < inDim; i += 8) {
    const o = xOffset + i;
    const x0 = x[o],
      x1 = x[o + 1],
      x2 = x[o + 2],
      x3 = x[o + 3],
      x4 = x[o + 4],
      x5 = x[o + 5],
      x6 = x[o + 6],
      x7 = x[o + 7];
    const w0 = i * cols + colOffset,
      w1 = w0 + cols,
      w2 = w1 + cols,
      w3 = w2 + cols,
      w4 = w3 + cols,
      w5 = w4 + cols,
      w6 = w5 + cols,
      w7 = w6 + cols;
    for (let k = 0; k < colsUsed; k++)
      out[k] +=
        x0 * W[w0 + k] +
        x1 * W[w1 + k] +
        x2 * W[w2 + k] +
        x3 * W[w3 + k] +
        x4 * W[w4 + k] +
        x5 * W[w5 + k] +
        x6 * W[w6 + k] +
        x7 * W[w7 + k];
  }
  for (; i < inDim; i++) {
    const xi = x[xOffset + i];
    const w = i * cols + colOffset;
    for (let k = 0; k < colsUsed; k++) out[k] += xi * W[w + k];
  }
}

/** RecurrentProducts in JavaScript (where one_step_simd.ts cannot run them). */
function scalarProducts(cell: FusedCell, F: number, u: number): RecurrentProducts {
  const columns = cell.gates * u;
  const recurrentColumns = cell.recurrentGates * u;
  let [W, U]: Float32Array[] = [new Float32Array(0), new Float32Array(0)];
  return {
    holds: () => false, // it reads W and U where the backend keeps them
    load(w, r) {
      W = w;
      U = r;
    },
    foldBias: (layout, bias, bi, br) => foldBias(cell, layout, bias, u, bi, br),
    input: (x, offset, out) => product(x, offset, W, F, columns, 0, columns, out),
    recurrent: (h, out) => product(h, 0, U, u, columns, 0, recurrentColumns, out),
    reset: (rh, out) => product(rh, 0, U, u, columns, recurrentColumns, columns - recurrentColumns, out),
  };
}

/**
 * Runs one recurrent layer over (n, T, F) `x` from `states` (h [, c]; n·u each, updated in place) into `out`.
 * `unchanged`: W, U and the bias hold the values of the link's previous call (its folded bias is reused);
 * `held`: its products' memory still holds them too (W, U and the bias are then not given).
 */
function runRecurrent(
  link: RecurrentLink,
  x: Float64Array,
  n: number,
  T: number,
  W: Float32Array | undefined,
  U: Float32Array | undefined,
  bias: Float32Array | null,
  unchanged: boolean,
  held: boolean,
  states: Float64Array[],
  out: Float64Array,
): void {
  const { cell, phases, units: u, inputDim: F, products } = link;
  const { buffers: buf, next } = link.row;
  if (!held) products.load(W!, U!);
  if (!unchanged) products.foldBias(link.biasLayout, bias, buf.bi, buf.br);
  const hs = states[0];
  const cs = states[1];
  for (let b = 0; b < n; b++) {
    const h = hs.subarray(b * u, (b + 1) * u);
    const c = cell.states === 2 ? cs.subarray(b * u, (b + 1) * u) : null;
    for (let t = 0; t < T; t++) {
      buf.h.set(h);
      if (c) buf.c.set(c);
      products.input(x, (b * T + t) * F, buf.xp);
      products.recurrent(h, buf.rec);
      phases[0](buf, next, u);
      if (cell.resetProduct) {
        // GRU reset_before: the h gate's recurrent term (r·h)·U_h between the two phases
        products.reset(buf.rh, buf.rech);
        phases[1](buf, next, u);
      }
      h.set(next.h);
      if (c) c.set(next.c);
      if (link.returnSequences) out.set(h, (b * T + t) * u);
    }
    if (!link.returnSequences) out.set(h, b * u);
  }
}

/** Dense on the rows of `x` into `out`; `row` holds one row's products (units values). */
function runDense(
  link: DenseLink,
  x: Float64Array,
  K: Float32Array,
  bias: Float32Array | null,
  out: Float64Array,
  row: Float64Array,
): void {
  const { inputDim, units } = link;
  const rows = x.length / inputDim;
  for (let r = 0; r < rows; r++) {
    product(x, r * inputDim, K, inputDim, units, 0, units, row);
    for (let k = 0; k < units; k++) out[r * units + k] = link.act(row[k] + (bias ? bias[k] : 0));
  }
}

/**
 * Whether `model` has one input, of this rank and these step dimensions (or a sequential model's input
 * shape comes from the data): only then is `shape` what the general path pins the runtime for. Any other
 * shape would build a runtime for it (and evict the cached one) on every call.
 */
function takesOneInputOf(model: Model, shape: readonly number[]): boolean {
  const input = model.type === "sequential" ? model.inputShape : model.inputs.length === 1 ? model.inputs[0].shape : [];
  if (input === null) return true;
  if (input.length !== shape.length) return false;
  for (let i = 1; i < shape.length; i++) if (input[i] !== shape[i]) return false;
  return true;
}

/** hostMemory() of the current backend (made once per backend: it reads the backend's memory on each use). */
let memoryOfBackend: { backend: unknown; memory: HostMemory | null } | undefined;
function currentHostMemory(): HostMemory | null {
  const backend = tf.backend();
  if (memoryOfBackend?.backend !== backend) memoryOfBackend = { backend, memory: hostMemory() };
  return memoryOfBackend.memory;
}

/**
 * predict(model, x) on this path, or null for the general one. `batchSize` is predict's batch_size
 * (undefined: the default); `beforeRun` runs once the call is known to take this path, before it runs.
 */
export function predictOneStep(
  model: Model,
  x: unknown,
  batchSize: number | undefined,
  beforeRun: () => void,
): NestedNumbers[] | null {
  if (!enabled || !fusedKernelsOn()) return null;
  // x's shape (from its first elements) before the runtime: the general path pins the runtime for that shape
  const shape: number[] = [];
  for (let v: unknown = x; isNumbers(v) && shape.length < 4; v = Array.isArray(v) ? v[0] : undefined)
    shape.push(v.length);
  if (shape.length !== 3 || !Array.isArray(x) || !takesOneInputOf(model, shape)) return null;
  let lease: Lease;
  try {
    lease = pinModelRuntime(model, [shape]);
  } catch {
    return null; // (a model built from x's shape that cannot take it) the general path checks x first and says why
  }
  try {
    const rt = lease.runtime;
    let chain = chains.get(rt);
    if (chain === undefined) chains.set(rt, (chain = chainOf(rt)));
    if (!chain) return null;
    // indexed, not destructured: array destructuring runs the iterator protocol until V8 optimizes this
    const fixed = chain.inputShape[0];
    const T = chain.inputShape[1] as number;
    const F = chain.inputShape[2] as number;
    const n = x.length;
    if (n === 0 || (fixed !== null && n !== fixed)) return null;
    if (batchSize !== undefined && (batchSize < n || (fixed !== null && batchSize !== fixed))) return null;
    if (n * chain.multiplyAddsPerSample > ONE_STEP_MAX_MULTIPLY_ADDS) return null;
    const scratch = scratchFor(chain, n);
    if (!readInput(x, T, F, scratch.input)) return null;
    // every allocation before the views: a wasm view is invalid after the next one
    const { links } = chain;
    const { stateTensors, weights, states, outputs } = scratch;
    for (let k = 0; k < links.length; k++) {
      const l = links[k];
      stateTensors[k] = l.kind === "recurrent" && l.stateful ? rt.stateOf(l.layerIndex, rt.plan)! : [];
    }
    const memory = currentHostMemory();
    if (!memory) return null;
    const writes = inPlaceWrites();
    const { unchanged, held } = scratch;
    for (let k = 0; k < links.length; k++) {
      const l = links[k];
      const variables = rt.variables[l.layerIndex];
      unchanged[k] = l.kind === "recurrent" && sameData(l.copiedFrom, variables, writes);
      held[k] = unchanged[k] && l.kind === "recurrent" && l.products.holds();
      // a recurrent layer's weights still in its products' memory are not read
      const views = weights[k];
      views.length = held[k] ? 0 : variables.length;
      for (let w = 0; w < views.length; w++) {
        const view = memory.values(variables[w]);
        if (!view) return null;
        views[w] = view;
      }
    }
    for (let k = 0; k < links.length; k++) {
      const l = links[k];
      if (l.kind !== "recurrent") continue;
      for (let s = 0; s < l.cell.states; s++) {
        const state = states[k][s];
        if (!l.stateful) {
          state.fill(0);
          continue;
        }
        const t = stateTensors[k][s];
        const view = t && t.size === state.length ? memory.values(t) : null;
        if (!view) return null;
        state.set(view);
      }
    }
    beforeRun();
    calls++;
    let values = scratch.input;
    for (let k = 0; k < links.length; k++) {
      const l = links[k];
      const w = weights[k];
      if (l.kind === "recurrent") {
        const out = sized(outputs, k, n * (l.returnSequences ? T : 1) * l.units);
        const bias = l.biasLayout === "none" || held[k] ? null : w[2];
        runRecurrent(l, values, n, T, w[0], w[1], bias, unchanged[k], held[k], states[k], out);
        if (!unchanged[k]) noteCopied(l.copiedFrom, rt.variables[l.layerIndex], writes);
        values = out;
      } else {
        const out = sized(outputs, k, (values.length / l.inputDim) * l.units);
        runDense(l, values, w[0], l.useBias ? w[1] : null, out, sized(outputs, links.length + k, l.units));
        values = out;
      }
    }
    writeStates(rt, chain, memory, stateTensors, states);
    return nestedFloat32(values, n, chain.outputShape);
  } finally {
    unpinRuntime(lease);
  }
}

/** `values` rounded to float32 as the nested arrays of shape (n, ...outputShape[1:]) that predict returns. */
function nestedFloat32(values: Float64Array, n: number, outputShape: Shape): NestedNumbers[] {
  if (outputShape.length === 2) {
    const units = outputShape[1] as number;
    const rows: number[][] = new Array(n);
    for (let b = 0; b < n; b++) {
      const row: number[] = new Array(units);
      for (let k = 0; k < units; k++) row[k] = Math.fround(values[b * units + k]);
      rows[b] = row;
    }
    return rows;
  }
  return toNestedArray(Float32Array.from(values), [n, ...(outputShape.slice(1) as number[])]);
}

/**
 * The new states into the state tensors where they live; a tensor that shares its data with another (a
 * clone a training run or an output holds) is replaced by a new one instead.
 */
function writeStates(
  rt: Runtime,
  chain: Chain,
  memory: HostMemory,
  tensors: Tensor[][],
  states: Float64Array[][],
): void {
  let replaced: { layerIndex: number; states: Tensor[] }[] | null = null;
  for (let k = 0; k < chain.links.length; k++) {
    const l = chain.links[k];
    if (l.kind !== "recurrent" || !l.stateful) continue;
    let shared = false;
    // views taken one at a time: a replacement below allocates
    for (let s = 0; s < tensors[k].length; s++)
      if (memory.refCount(tensors[k][s]) === 1) memory.values(tensors[k][s])!.set(states[k][s]);
      else shared = true;
    if (shared)
      (replaced ??= []).push({
        layerIndex: l.layerIndex,
        states: tensors[k].map((t, s) =>
          memory.refCount(t) !== 1 ? tf.tensor(Float32Array.from(states[k][s]), t.shape) : t,
        ),
      });
  }
  if (replaced) rt.commit({ stateUpdates: replaced, weightUpdates: [] });
}
