import { expect } from "chai";
import { readFileSync } from "node:fs";
import { tf, type Tensor } from "../../src/backend/tf.js";
import { use_backend } from "../../src/backend/index.js";
import { fusedRnn } from "../../src/layers/recurrent/fused/index.js";

/** PyTorch 1.13 float64 results (scripts/torch_fused_fixtures.py), weights in Keras layout. */
const fx = JSON.parse(readFileSync(new URL("./fixtures/torch_rnn.json", import.meta.url), "utf8"));

function maxAbs(a: Tensor, b: number[]): number {
  const x = a.dataSync();
  expect(x.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - b[i]));
  return m;
}

for (const backend of ["wasm", "cpu"] as const) {
  describe(`fused kernels vs PyTorch torch.nn.GRU / LSTM (${backend})`, () => {
    before(async () => {
      await use_backend(backend);
    });
    for (const c of fx.cases) {
      it(`${c.kind} go_backwards=${c.go_backwards}: outputs, final states and gradients`, () => {
        const { B, T, F, U } = fx;
        const G = c.kind === "gru" ? 3 : 4;
        const x = tf.tensor(c.x, [B, T, F]);
        const kernel = tf.tensor(c.kernel, [F, G * U]);
        const rk = tf.tensor(c.recurrent_kernel, [U, G * U]);
        const bias = c.kind === "gru" ? tf.tensor(c.bias, [2, G * U]) : tf.tensor(c.bias, [G * U]);
        const init = c.kind === "gru" ? [tf.tensor(c.h0, [B, U])] : [tf.tensor(c.h0, [B, U]), tf.tensor(c.c0, [B, U])];
        const args = {
          cell: c.kind === "gru" ? ("gru_reset_after" as const) : ("lstm" as const),
          kernel,
          recurrentKernel: rk,
          bias,
          goBackwards: c.go_backwards,
          returnSequences: true,
        };
        const r = fusedRnn({ ...args, inputs: x, initialState: init });
        expect(maxAbs(r.output, c.output), "output").to.be.below(1e-5);
        r.states.forEach((s, i) => expect(maxAbs(s, c.states[i]), `state ${i}`).to.be.below(1e-5));
        const diff = [x, kernel, rk, bias, ...init];
        const grads = tf.grads((xx: Tensor, k: Tensor, u: Tensor, b: Tensor, ...st: Tensor[]) => {
          const o = fusedRnn({ ...args, kernel: k, recurrentKernel: u, bias: b, inputs: xx, initialState: st });
          let l = tf.sum(tf.mul(o.output, tf.tensor(c.r_y, [B, T, U])));
          o.states.forEach((s, i) => (l = tf.add(l, tf.sum(tf.mul(s, tf.tensor(c.r_s[i], [B, U]))))));
          return l as tf.Scalar;
        })(diff);
        const want = [
          c.d_x,
          c.d_kernel,
          c.d_recurrent_kernel,
          c.d_bias,
          c.d_h0,
          ...(c.kind === "lstm" ? [c.d_c0] : []),
        ];
        const names = ["x", "kernel", "recurrent_kernel", "bias", "h0", "c0"];
        grads.forEach((g, i) => expect(maxAbs(g, want[i]), `d ${names[i]}`).to.be.below(1e-5));
        tf.dispose([x, kernel, rk, bias, ...init, r.output, ...r.states, ...grads]);
      });
    }
  });
}
