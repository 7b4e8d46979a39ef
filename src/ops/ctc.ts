/**
 * CTC (Connectionist Temporal Classification) as Keras 3 computes it with its TensorFlow backend:
 * `keras.losses.CTC` (→ `tf.nn.ctc_loss`'s dense forward-backward) and `keras.ops.ctc_decode`
 * (→ `tf.nn.ctc_greedy_decoder` / `tf.nn.ctc_beam_search_decoder`).
 *
 * Keras 3's conventions, kept here: `y_pred` holds logits of shape (batch, time, classes) — the loss
 * and the beam search take a log-softmax over classes themselves — and class 0 is the blank
 * (`mask_index = 0`). `y_true` holds labels 1..classes-1 padded with 0; a sample's label length is its
 * number of non-zero entries, its logit length the whole time axis.
 *
 * tfjs has no CTC kernel. The loss runs on the host in float64 (one read-back of y_true and y_pred per
 * batch) and its gradient is written explicitly: d loss / d logits = softmax(logits) - the posterior
 * probability of each class at each step, the textbook result for a log-softmax under CTC.
 */
import * as t from "io-ts";
import { tf, type Tensor } from "../backend/tf.js";
import { ArgumentError, KerasError } from "../errors.js";
import { Bool, NonNegativeInt, OneOf, PositiveInt, decodeArgs, described, refuseArgumentsPast } from "../args.js";
import { release, toNestedArray, toTensorData } from "../backend/convert.js";

/** TF's finite "log 0" for the start and end states (log(1e-307) as float32), so an impossible label costs ~707. */
const LOG_ZERO = Math.fround(Math.log(1e-307));

const logAdd = (a: number, b: number): number => {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
};

/** Log-softmax of one row of `x` (classes `c`) starting at `offset`, in float64. */
function logSoftmaxRow(x: ArrayLike<number>, offset: number, c: number, out: Float64Array): void {
  let max = -Infinity;
  for (let k = 0; k < c; k++) max = Math.max(max, x[offset + k]);
  let sum = 0;
  for (let k = 0; k < c; k++) sum += Math.exp(x[offset + k] - max);
  const norm = max + Math.log(sum);
  for (let k = 0; k < c; k++) out[k] = x[offset + k] - norm;
}

/** Shapes of a CTC problem: batch, time, classes, padded label length. */
export interface CtcDims {
  readonly batch: number;
  readonly time: number;
  readonly classes: number;
  readonly maxLabel: number;
}

/**
 * Per-sample CTC loss and its gradient w.r.t. the logits, in TF's state layout: label states 0..L
 * (0 = before the first label, i = label i emitted) and blank states L+1+i (a blank after label i),
 * for L the padded label length. Start in state 0; end in label state n or blank state n (n = the
 * sample's label length); two equal labels in a row need a blank between them.
 */
export function ctcLossAndGradient(
  labels: ArrayLike<number>,
  logits: ArrayLike<number>,
  dims: CtcDims,
  logitLengths?: ArrayLike<number>,
): { loss: Float64Array; gradient: Float32Array } {
  const { batch: B, time: T, classes: C, maxLabel: L } = dims;
  const S = 2 * (L + 1);
  const blankState = (i: number) => L + 1 + i;
  const loss = new Float64Array(B);
  const gradient = new Float32Array(B * T * C);
  const logp = new Float64Array(T * C);
  const row = new Float64Array(C);
  const alpha = new Float64Array((T + 1) * S);
  const beta = new Float64Array((T + 1) * S);
  const lab = new Int32Array(L);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let i = 0; i < L; i++) {
      const raw = labels[b * L + i];
      if (!(Number.isInteger(raw) && raw >= 0 && raw < C))
        throw new ArgumentError(
          `\`y_true\` holds ${raw} at [${b}, ${i}]: labels must be integers in 1..${C - 1} (0 is the blank and pads), as \`y_pred\` has ${C} classes`,
        );
      if (raw !== 0) n++;
      lab[i] = raw;
    }
    const tb = logitLengths ? logitLengths[b] : T;
    for (let s = 0; s < tb; s++) {
      logSoftmaxRow(logits, (b * T + s) * C, C, row);
      logp.set(row, s * C);
    }
    const obs = (time: number, s: number): number => (s === 0 ? -Infinity : logp[time * C + (s <= L ? lab[s - 1] : 0)]);
    // Incoming transitions of each state (self loops included).
    const incoming: number[][] = Array.from({ length: S }, (_, s) => [s]);
    if (L >= 1) incoming[1].push(0);
    for (let i = 0; i <= L; i++) incoming[blankState(i)].push(i);
    for (let i = 1; i <= L; i++) incoming[i].push(blankState(i - 1));
    for (let i = 2; i <= L; i++) if (lab[i - 1] !== lab[i - 2]) incoming[i].push(i - 1);
    const outgoing: number[][] = Array.from({ length: S }, () => []);
    incoming.forEach((from, to) => from.forEach((f) => outgoing[f].push(to)));

    alpha.fill(LOG_ZERO, 0, S);
    alpha[0] = 0;
    for (let s = 0; s < tb; s++)
      for (let i = 0; i < S; i++) {
        let acc = -Infinity;
        for (const j of incoming[i]) acc = logAdd(acc, alpha[s * S + j]);
        alpha[(s + 1) * S + i] = acc + obs(s, i);
      }
    beta.fill(LOG_ZERO, tb * S, (tb + 1) * S);
    beta[tb * S + n] = 0;
    beta[tb * S + blankState(n)] = 0;
    for (let s = tb - 1; s >= 0; s--)
      for (let j = 0; j < S; j++) {
        let acc = -Infinity;
        for (const k of outgoing[j]) acc = logAdd(acc, beta[(s + 1) * S + k] + obs(s, k));
        beta[s * S + j] = acc;
      }
    loss[b] = -beta[0];

    // Gradient at step s: softmax - the posterior occupancy of each class (states normalised per step).
    const occupancy = new Float64Array(C);
    for (let s = 0; s < tb; s++) {
      let norm = -Infinity;
      for (let i = 0; i < S; i++) norm = logAdd(norm, alpha[(s + 1) * S + i] + beta[(s + 1) * S + i]);
      occupancy.fill(0);
      for (let i = 1; i < S; i++) {
        const cls = i <= L ? lab[i - 1] : 0;
        // A label state holding 0 (padding) counts for no class, as in TF's state-to-label map.
        if (i <= L && cls === 0) continue;
        occupancy[cls] += Math.exp(alpha[(s + 1) * S + i] + beta[(s + 1) * S + i] - norm);
      }
      for (let k = 0; k < C; k++) gradient[(b * T + s) * C + k] = Math.exp(logp[s * C + k]) - occupancy[k];
    }
  }
  return { loss, gradient };
}

/**
 * Keras 3's `ctc` loss: per-sample values of shape (batch), differentiable w.r.t. y_pred. Bad data is an
 * ArgumentError naming `y_true` / `y_pred` (the running function reports it as its own).
 */
export function ctcPerSample(yTrue: Tensor, yPred: Tensor): Tensor {
  const shapes = `(shapes [${yTrue.shape.join(", ")}] and [${yPred.shape.join(", ")}])`;
  if (yTrue.rank !== 2)
    throw new ArgumentError(
      `\`y_true\` must be labels of shape (batch, max_length), got shape [${yTrue.shape.join(", ")}]`,
    );
  if (yPred.rank !== 3)
    throw new ArgumentError(
      `\`y_pred\` must be logits of shape (batch, time, classes), got shape [${yPred.shape.join(", ")}]`,
    );
  if (yTrue.shape[0] !== yPred.shape[0])
    throw new ArgumentError(`\`y_true\` has ${yTrue.shape[0]} samples but \`y_pred\` ${yPred.shape[0]} ${shapes}`);
  const [batch, time, classes] = yPred.shape;
  const dims: CtcDims = { batch, time, classes, maxLabel: yTrue.shape[1] as number };
  const op = tf.customGrad(((labels: Tensor, logits: Tensor) => {
    const { loss, gradient } = ctcLossAndGradient(labels.dataSync(), logits.dataSync(), dims);
    return {
      value: tf.tensor1d(Float32Array.from(loss)),
      gradFunc: (dy: Tensor) => [
        tf.zerosLike(labels),
        tf.mul(tf.tensor3d(gradient, [batch, time, classes]), tf.reshape(dy, [batch, 1, 1])),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as unknown as (a: Tensor, b: Tensor) => Tensor)(yTrue, yPred);
}

// ---------------------------------------------------------------------------------------------
// Decoding

const f32 = Math.fround;

/** TF's greedy decoder: the best class per step (first on ties), blanks dropped, repeats merged when asked. */
function greedyDecode(
  x: ArrayLike<number>,
  offset: number,
  steps: number,
  classes: number,
  blank: number,
  mergeRepeated: boolean,
): { path: number[]; score: number } {
  const path: number[] = [];
  let score = 0;
  let prev = -1;
  for (let s = 0; s < steps; s++) {
    const base = offset + s * classes;
    let best = 0;
    for (let k = 1; k < classes; k++) if (x[base + k] > x[base + best]) best = k;
    score = f32(score - x[base + best]);
    if (best !== blank && !(mergeRepeated && best === prev)) path.push(best);
    prev = best;
  }
  return { path, score };
}

/** log(exp(a) + exp(b)) in float32 arithmetic, as TF's LogSumExp<float>. */
const logAddF32 = (a: number, b: number): number => {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b
    ? f32(a + f32(Math.log1p(f32(Math.exp(f32(b - a))))))
    : f32(b + f32(Math.log1p(f32(Math.exp(f32(a - b))))));
};

interface BeamProbability {
  total: number;
  blank: number;
  label: number;
}
const zeroProbability = (): BeamProbability => ({ total: -Infinity, blank: -Infinity, label: -Infinity });

class BeamEntry {
  readonly children = new Map<number, BeamEntry>();
  oldp = zeroProbability();
  newp = zeroProbability();
  constructor(
    readonly parent: BeamEntry | null,
    readonly label: number,
  ) {}
  get active(): boolean {
    return this.newp.total !== -Infinity;
  }
  child(label: number): BeamEntry {
    let c = this.children.get(label);
    if (!c) this.children.set(label, (c = new BeamEntry(this, label)));
    return c;
  }
  /** The label sequence of this prefix (from the root). */
  labels(): number[] {
    return this.parent ? [...this.parent.labels(), this.label] : [];
  }
}

/** The best `n` entries, highest total first (ties keep their order). */
const topEntries = (entries: readonly BeamEntry[], n: number) =>
  [...entries].sort((a, b) => b.newp.total - a.newp.total).slice(0, n);

/**
 * TF's CTCBeamSearchDecoder (default scorer, no label selection) for one sample whose blank is the last
 * class: `width` prefixes kept per step, each with the log-probabilities of ending in a blank or in its
 * last label. Returns the top `topPaths` label sequences and their log-probabilities.
 */
function beamSearch(
  fn: string,
  x: ArrayLike<number>,
  offset: number,
  steps: number,
  classes: number,
  width: number,
  topPaths: number,
): { paths: number[][]; scores: number[] } {
  const blank = classes - 1;
  const root = new BeamEntry(null, -1);
  root.newp = { total: 0, blank: 0, label: -Infinity };
  let leaves: BeamEntry[] = [root];
  const bottom = () => leaves.reduce((lo, e) => (e.newp.total < lo.newp.total ? e : lo));
  for (let s = 0; s < steps; s++) {
    const base = offset + s * classes;
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, x[base + k]);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum = f32(sum + f32(Math.exp(f32(x[base + k] - max))));
    const normOffset = f32(max + f32(Math.log(sum)));
    const branches = topEntries(leaves, leaves.length);
    leaves = [];
    for (const b of branches) b.oldp = { ...b.newp };
    for (const b of branches) {
      if (b.parent) {
        if (b.parent.active) {
          const previous = b.label === b.parent.label ? b.parent.oldp.blank : b.parent.oldp.total;
          b.newp.label = logAddF32(b.newp.label, previous);
        }
        b.newp.label = f32(b.newp.label + f32(x[base + b.label] - normOffset));
      }
      b.newp.blank = f32(f32(b.oldp.total + x[base + blank]) - normOffset);
      b.newp.total = logAddF32(b.newp.blank, b.newp.label);
      leaves.push(b);
    }
    const isCandidate = (p: BeamProbability) =>
      p.total > -Infinity && (leaves.length < width || p.total > bottom().newp.total);
    for (const b of branches) {
      if (!isCandidate(b.oldp)) continue;
      for (let label = 0; label < classes - 1; label++) {
        const c = b.child(label);
        if (c.active) continue;
        const previous = label === b.label ? b.oldp.blank : b.oldp.total;
        const p = f32(f32(x[base + label] - normOffset) + previous);
        c.newp = { total: p, blank: -Infinity, label: p };
        if (isCandidate(c.newp)) {
          if (leaves.length === width) {
            const out = bottom();
            out.newp = zeroProbability();
            leaves.splice(leaves.indexOf(out), 1);
          }
          leaves.push(c);
        } else {
          c.oldp = zeroProbability();
          c.newp = zeroProbability();
        }
      }
    }
  }
  if (topPaths > leaves.length)
    throw new KerasError(
      fn,
      `\`top_paths\` (${topPaths}) is more than the ${leaves.length} prefixes the beam search found for a sequence of ${steps} steps; ask for fewer paths`,
    );
  const best = topEntries(leaves, topPaths);
  return { paths: best.map((e) => e.labels()), scores: best.map((e) => e.newp.total) };
}

const CTC_DECODE_PROPS = {
  strategy: OneOf("greedy", "beam_search"),
  beam_width: PositiveInt,
  top_paths: PositiveInt,
  merge_repeated: Bool,
  mask_index: described(t.union([NonNegativeInt, t.null]), "a non-negative integer (the blank class) or null"),
};

export interface CtcDecodeArgs {
  strategy?: "greedy" | "beam_search";
  beam_width?: number;
  top_paths?: number;
  merge_repeated?: boolean;
  mask_index?: number | null;
}

/**
 * `k_ctc_decode(inputs, sequence_lengths, { strategy = "greedy", beam_width = 100, top_paths = 1,
 * merge_repeated = TRUE, mask_index = 0 })` → `[decoded, scores]`, as Keras 3's `ops.ctc_decode`.
 *
 * `inputs`: logits of shape (batch, time, classes); `sequence_lengths`: the steps to decode per sample.
 * `decoded` has shape (paths, batch, time): the label sequences padded with -1 (one path for
 * "greedy", `top_paths` for "beam_search"). `scores` has shape (batch, paths): for "greedy" the
 * negated sum of each step's largest input, for "beam_search" the log-probability of each sequence.
 * `mask_index` is the blank class (null: the last class). As in Keras, the beam search always merges
 * repeats through the blank rule and ignores `merge_repeated`.
 *
 * @example
 * const logits = [[[0, 2, 0], [0, 2, 0], [3, 0, 0], [0, 0, 2]]]; // class 0 is the blank
 * const [decoded, scores] = k_ctc_decode(logits, [4]);
 * // decoded: [[[1, 2, -1, -1]]], scores: [[-9]]
 */
export function k_ctc_decode(
  inputs: unknown,
  sequence_lengths: unknown,
  args: CtcDecodeArgs = {},
): [number[][][], number[][]] {
  const fn = "k_ctc_decode";
  refuseArgumentsPast(fn, ["inputs", "sequence_lengths", "args"], arguments);
  const a = decodeArgs(fn, CTC_DECODE_PROPS, args, {
    strategy: "greedy" as "greedy" | "beam_search",
    beam_width: 100,
    top_paths: 1,
    merge_repeated: true,
    mask_index: 0 as number | null,
  });
  const x = toTensorData(fn, inputs, "`inputs`");
  let lengths;
  try {
    lengths = toTensorData(fn, sequence_lengths, "`sequence_lengths`");
    const [batch, time, classes] = x.tensor.shape;
    if (x.tensor.rank !== 3 || batch === 0 || time === 0 || classes === 0)
      throw new KerasError(
        fn,
        `\`inputs\` must be logits of shape (batch, time, classes) with none of them 0, got shape [${x.tensor.shape.join(", ")}]`,
        "shape",
      );
    const steps = Array.from(lengths.tensor.dataSync());
    if (lengths.tensor.rank !== 1 || steps.length !== batch)
      throw new KerasError(
        fn,
        `\`sequence_lengths\` must be a vector of ${batch} lengths (one per sample), got shape [${lengths.tensor.shape.join(", ")}]`,
        "shape",
      );
    const bad = steps.findIndex((n) => !Number.isInteger(n) || n < 0 || n > time);
    if (bad >= 0)
      throw new KerasError(
        fn,
        `\`sequence_lengths\` must be integers in 0..${time} (the time axis), got ${steps[bad]} for sample ${bad}`,
      );
    const blank = a.mask_index ?? classes - 1;
    if (blank >= classes)
      throw new KerasError(fn, `\`mask_index\` (${blank}) must be below the number of classes (${classes})`);
    const beam = a.strategy === "beam_search";
    if (beam && a.top_paths > a.beam_width)
      throw new KerasError(fn, `\`top_paths\` (${a.top_paths}) must not exceed \`beam_width\` (${a.beam_width})`);
    const data = x.tensor.dataSync();
    // The beam search wants the blank last: its column moves there, and labels above it come back up by one.
    const order = Array.from({ length: classes }, (_, k) => k).filter((k) => k !== blank);
    order.push(blank);
    const moved =
      beam && blank !== classes - 1
        ? Float32Array.from({ length: data.length }, (_, i) => data[i - (i % classes) + order[i % classes]])
        : data;
    const paths = beam ? a.top_paths : 1;
    const decoded = new Int32Array(paths * batch * time).fill(-1);
    const scores = new Float32Array(batch * paths);
    for (let b = 0; b < batch; b++) {
      const found = beam
        ? beamSearch(fn, moved, b * time * classes, steps[b], classes, a.beam_width, paths)
        : (({ path, score }) => ({ paths: [path], scores: [score] }))(
            greedyDecode(data, b * time * classes, steps[b], classes, blank, a.merge_repeated),
          );
      found.paths.forEach((p, k) =>
        p.forEach((label, i) => {
          decoded[(k * batch + b) * time + i] = beam && label >= blank ? label + 1 : label;
        }),
      );
      found.scores.forEach((s, k) => (scores[b * paths + k] = s));
    }
    return [
      toNestedArray(decoded, [paths, batch, time]) as number[][][],
      toNestedArray(scores, [batch, paths]) as number[][],
    ];
  } finally {
    release([x, lengths]);
  }
}
