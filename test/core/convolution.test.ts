/**
 * convChannelsLast (src/ops/convolution.ts) with dilation, on wasm and cpu: output (tfjs's kernel), and
 * sum(y · r) with its gradients w.r.t. the input and the kernel (the space-to-batch form), against the
 * definition of a dilated cross-correlation written out in loops (TF "same" padding: (k - 1) · d zeros,
 * the odd one at the end).
 */
import { expect } from "chai";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { convChannelsLast, type ConvPadding } from "../../src/ops/convolution.js";
import { expectClose, pattern } from "./helpers.js";
import { BACKENDS } from "../wrappers/helpers.js";

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Row-major multi-indices of `shape`. */
function* indices(shape: readonly number[]): Generator<number[]> {
  const idx = shape.map(() => 0);
  for (let n = 0; n < size(shape); n++) {
    yield [...idx];
    for (let d = shape.length - 1; d >= 0 && ++idx[d] === shape[d]; d--) idx[d] = 0;
  }
}
const offset = (idx: readonly number[], shape: readonly number[]) => idx.reduce((acc, v, d) => acc * shape[d] + v, 0);

/**
 * y[b, o, f] = Σ_k Σ_c x[b, o + k·d − start, c] · w[k, c, f] (zero outside), and for L = Σ y · r:
 * dL/dx and dL/dw by the same sum.
 */
function reference(
  xShape: number[],
  x: number[],
  wShape: number[],
  w: number[],
  padding: ConvPadding,
  dilation: number[],
  r: (n: number) => number,
) {
  const [batch, ...rest] = xShape;
  const spatial = rest.slice(0, -1);
  const channels = rest[rest.length - 1];
  const window = wShape.slice(0, -2);
  const filters = wShape[wShape.length - 1];
  const reach = window.map((k, i) => (k - 1) * dilation[i]);
  const start = reach.map((p) => (padding === "same" ? Math.floor(p / 2) : 0));
  const outSpatial = spatial.map((s, i) => (padding === "same" ? s : s - reach[i]));
  const outShape = [batch, ...outSpatial, filters];
  const y = new Array(size(outShape)).fill(0);
  const dx = new Array(x.length).fill(0);
  const dw = new Array(w.length).fill(0);
  for (let b = 0; b < batch; b++)
    for (const o of indices(outSpatial))
      for (const k of indices(window)) {
        const at = o.map((v, i) => v + k[i] * dilation[i] - start[i]);
        if (at.some((v, i) => v < 0 || v >= spatial[i])) continue;
        for (let c = 0; c < channels; c++)
          for (let f = 0; f < filters; f++) {
            const yi = offset([b, ...o, f], outShape);
            const xi = offset([b, ...at, c], xShape);
            const wi = offset([...k, c, f], wShape);
            y[yi] += x[xi] * w[wi];
            dx[xi] += r(yi) * w[wi];
            dw[wi] += r(yi) * x[xi];
          }
      }
  return { outShape, y, dx, dw };
}

const CASES: { xShape: number[]; window: number[]; dilation: number[]; padding: ConvPadding }[] = [
  { xShape: [2, 7, 2], window: [2], dilation: [2], padding: "valid" },
  { xShape: [2, 7, 2], window: [3], dilation: [3], padding: "same" },
  { xShape: [1, 8, 1], window: [2], dilation: [4], padding: "same" },
  { xShape: [2, 6, 5, 2], window: [2, 2], dilation: [2, 3], padding: "valid" },
  { xShape: [1, 5, 4, 2], window: [3, 2], dilation: [2, 2], padding: "same" },
  { xShape: [1, 5, 4, 3, 2], window: [2, 2, 2], dilation: [2, 1, 2], padding: "same" },
  { xShape: [2, 5, 4, 5, 1], window: [2, 2, 2], dilation: [3, 2, 2], padding: "valid" },
];

for (const backend of BACKENDS) {
  describe(`dilated convolution on ${backend}: output and gradients`, () => {
    before(async () => {
      await use_backend(backend);
    });
    after(async () => {
      await use_backend("wasm");
    });

    for (const c of CASES) {
      const { xShape, window, dilation, padding } = c;
      it(`input ${JSON.stringify(xShape)}, kernel ${JSON.stringify(window)}, dilation ${JSON.stringify(dilation)}, ${padding}`, () => {
        const wShape = [...window, xShape[xShape.length - 1], 3];
        const x = pattern(size(xShape), 1);
        const w = pattern(size(wShape), 2);
        const r = (n: number) => Math.cos(0.37 * n);
        const ref = reference(xShape, x, wShape, w, padding, dilation, r);
        const before = tf.memory().numTensors;
        const xt = tf.tensor(x, xShape);
        const wt = tf.tensor(w, wShape);
        const rt = tf.tensor(
          Array.from({ length: size(ref.outShape) }, (_, n) => r(n)),
          ref.outShape,
        );
        const f = (a: Tensor, b: Tensor) =>
          convChannelsLast(
            a,
            b,
            window.map(() => 1),
            padding,
            dilation,
          );
        const y = tf.tidy(() => f(xt, wt));
        expect(y.shape).to.deep.equal(ref.outShape);
        expectClose(y.dataSync(), ref.y, 1e-5, "output");
        // Under a gradient tape the space-to-batch form runs (tfjs's kernel has no gradient): its value too.
        const { value, grads } = tf.valueAndGrads((a: Tensor, b: Tensor) => tf.sum(tf.mul(f(a, b), rt)))([xt, wt]);
        const [dx, dw] = grads;
        const objective = ref.y.reduce((acc, v, n) => acc + v * r(n), 0);
        expectClose(value.dataSync(), [objective], 1e-5, "sum(y · r) under the tape");
        expectClose(dx.dataSync(), ref.dx, 1e-5, "d/dx");
        expectClose(dw.dataSync(), ref.dw, 1e-5, "d/dkernel");
        tf.dispose([xt, wt, rt, y, value, dx, dw]);
        expect(tf.memory().numTensors, "tensors leaked").to.equal(before);
      });
    }
  });
}
