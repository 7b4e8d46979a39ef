/** set_random_seed() restarts one stream that every unseeded random draw takes its seed from (see also test/integration/random_seed.test.ts). */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import { tf } from "../../src/backend/tf.js";
import {
  KerasError,
  get_weights,
  initializer_glorot_uniform,
  keras_model_sequential,
  layer_dense,
  layer_dropout,
  layer_gaussian_noise,
  set_random_seed,
} from "../../src/index.js";
import { NumpyRandomState, permutation } from "../../src/ops/random.js";

function draws() {
  const weights = get_weights(pipe(keras_model_sequential({ input_shape: [3] }), layer_dense({ units: 2 })));
  const ones = [[1, 1, 1, 1, 1, 1]];
  const dropout = layer_dropout({ rate: 0.5 })(ones, { training: true }) as unknown as tf.Tensor;
  const noise = layer_gaussian_noise({ stddev: 1 })(ones, { training: true }) as unknown as tf.Tensor;
  const out = { weights, dropout: dropout.arraySync(), noise: noise.arraySync(), order: Array.from(permutation(8)) };
  dropout.dispose();
  noise.dispose();
  return out;
}

describe("set_random_seed (in process)", () => {
  it("the same seed replays initializers, dropout, noise and shuffling; another seed does not", () => {
    set_random_seed(5);
    const a = draws();
    set_random_seed(5);
    const b = draws();
    set_random_seed(6);
    const c = draws();
    for (const k of Object.keys(a) as (keyof typeof a)[]) {
      expect(b[k], k).to.deep.equal(a[k]);
      expect(c[k], k).to.not.deep.equal(a[k]);
    }
  });

  it("an initializer's own seed is kept", () => {
    const dense = (seed?: number) =>
      get_weights(
        pipe(
          keras_model_sequential({ input_shape: [3] }),
          layer_dense({ units: 2, kernel_initializer: initializer_glorot_uniform({ seed: seed ?? null }) }),
        ),
      );
    set_random_seed(1);
    const seeded = dense(9);
    const unseeded = dense();
    set_random_seed(2);
    expect(dense(9)).to.deep.equal(seeded);
    expect(dense()).to.not.deep.equal(unseeded);
  });

  it("takes an integer in [0, 2^32)", () => {
    expect(() => set_random_seed(-1)).to.throw(
      KerasError,
      /^set_random_seed\(\): `seed` must be an integer in \[0, 2\^32\), got -1/,
    );
    expect(() => set_random_seed(1.5)).to.throw(KerasError, /`seed` must be an integer/);
    expect(() => (set_random_seed as any)()).to.throw(KerasError, /`seed` is required/);
  });
});

describe("NumpyRandomState", () => {
  it("draws numpy's RandomState(113) numbers and shuffles (values printed by numpy 2.4)", () => {
    const r = new NumpyRandomState(113);
    // np.random.RandomState(113).randint(0, 2**32, size=3, dtype=np.uint32)
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32()]).to.deep.equal([3659249829, 529109724, 317413538]);
    // a = np.arange(10); np.random.RandomState(113).shuffle(a)
    expect(Array.from(new NumpyRandomState(113).shuffle(Int32Array.from({ length: 10 }, (_, i) => i)))).to.deep.equal([
      9, 3, 6, 1, 0, 7, 4, 8, 2, 5,
    ]);
  });
});
