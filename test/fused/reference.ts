/**
 * A plainly written step-wise recurrent loop built from tf ops, straight from the KERAS_FACTS
 * equations ("Cells" and "The recurrent loop"). Gradients come from tfjs autodiff. It shares no
 * code with the fused kernels; the fused path is tested against it.
 */
import { tf, type Tensor } from "../../src/backend/tf.js";

export interface RefArgs {
  kind: "gru" | "lstm" | "simple_rnn";
  x: Tensor;
  kernel: Tensor;
  recurrentKernel: Tensor;
  bias: Tensor | null;
  initialState: Tensor[];
  mask: Tensor | null;
  goBackwards: boolean;
  returnSequences: boolean;
  zeroOutputForMask: boolean;
  resetAfter: boolean;
  activation: string;
  recurrentActivation: string;
}

const ACT: Record<string, (x: Tensor) => Tensor> = {
  tanh: (x) => tf.tanh(x),
  sigmoid: (x) => tf.sigmoid(x),
  hard_sigmoid: (x) => tf.clipByValue(tf.add(tf.div(x, 6), 0.5), 0, 1),
  hard_sigmoid_keras2: (x) => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1),
  relu: (x) => tf.relu(x),
  linear: (x) => x,
};

/** Columns [k*u, (k+1)*u) of a 2-D matrix, or elements of a 1-D vector. */
const block = (w: Tensor, k: number, u: number): Tensor =>
  w.rank === 2 ? tf.slice(w, [0, k * u], [w.shape[0], u]) : tf.slice(w, [k * u], [u]);

export function referenceRnn(a: RefArgs): { output: Tensor; states: Tensor[] } {
  const [B, T, F] = a.x.shape;
  const u = a.recurrentKernel.shape[0];
  const act = ACT[a.activation],
    ract = ACT[a.recurrentActivation];
  const G = a.kind === "gru" ? 3 : a.kind === "lstm" ? 4 : 1;
  const W = a.kernel,
    U = a.recurrentKernel;
  let bIn: Tensor = tf.zeros([G * u]);
  let bRec: Tensor = tf.zeros([G * u]);
  if (a.bias) {
    const flat = tf.reshape(a.bias, [-1]);
    if (a.kind === "gru" && a.resetAfter) {
      bIn = tf.slice(flat, [0], [G * u]);
      bRec = tf.slice(flat, [G * u], [G * u]);
    } else bIn = flat;
  }
  let h = a.initialState[0] ?? tf.zeros([B, u]);
  let c = a.kind === "lstm" ? (a.initialState[1] ?? tf.zeros([B, u])) : null;
  let prevOut: Tensor = tf.zeros([B, u]);
  const outs: Tensor[] = [];
  for (let s = 0; s < T; s++) {
    const t = a.goBackwards ? T - 1 - s : s;
    const xt = tf.reshape(tf.slice(a.x, [0, t, 0], [B, 1, F]), [B, F]);
    const xw = (k: number) => tf.add(tf.matMul(xt, block(W, k, u)), block(bIn, k, u));
    const hu = (k: number, hh: Tensor) => tf.add(tf.matMul(hh, block(U, k, u)), block(bRec, k, u));
    let hNew: Tensor;
    let cNew: Tensor | null = null;
    if (a.kind === "gru") {
      const z = ract(tf.add(xw(0), hu(0, h)));
      const r = ract(tf.add(xw(1), hu(1, h)));
      const hh = a.resetAfter
        ? act(tf.add(xw(2), tf.mul(r, hu(2, h))))
        : act(tf.add(xw(2), tf.matMul(tf.mul(r, h), block(U, 2, u))));
      hNew = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), hh));
    } else if (a.kind === "lstm") {
      const i = ract(tf.add(xw(0), hu(0, h)));
      const f = ract(tf.add(xw(1), hu(1, h)));
      const g = act(tf.add(xw(2), hu(2, h)));
      const o = ract(tf.add(xw(3), hu(3, h)));
      cNew = tf.add(tf.mul(f, c!), tf.mul(i, g));
      hNew = tf.mul(o, act(cNew));
    } else {
      hNew = act(tf.add(xw(0), hu(0, h)));
    }
    let out = hNew;
    if (a.mask) {
      const m = tf.reshape(tf.slice(tf.cast(a.mask, "float32"), [0, t], [B, 1]), [B, 1]);
      const keep = (nw: Tensor, old: Tensor) => tf.add(tf.mul(m, nw), tf.mul(tf.sub(1, m), old));
      h = keep(hNew, h);
      if (c) c = keep(cNew!, c);
      out = keep(hNew, a.zeroOutputForMask ? tf.zerosLike(hNew) : prevOut);
    } else {
      h = hNew;
      if (c) c = cNew;
    }
    prevOut = out;
    outs.push(out);
  }
  const output = a.returnSequences ? tf.stack(outs, 1) : outs[outs.length - 1];
  return { output, states: c ? [h, c] : [h] };
}
