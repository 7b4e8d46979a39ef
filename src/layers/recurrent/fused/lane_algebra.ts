/**
 * A cell's step math as a step function's unit loop runs it, for every instruction set that runs it:
 * WebAssembly lanes (wasm.ts: f32x4 and f32) and native AVX2 (native_steps.ts). `Instructions` is one
 * instruction set's expressions; `LaneAlgebra` writes the cells' phases (cells/*.ts) in it, one bound
 * value per result; `ACTIVATIONS` gives every activation the fused path implements, with its derivative
 * expressed through its output — written here once, so that every instruction set computes the same
 * operations in the same order (the same bits).
 */
import type { GradAlgebra } from "./cells/algebra.js";

/** One instruction set's expressions over values of type V (an address is a value too). */
export interface Instructions<V> {
  load(addr: V): V;
  /** The statement storing `v` at `addr`. */
  store(addr: V, v: V): V;
  constant(x: number): V;
  add(a: V, b: V): V;
  sub(a: V, b: V): V;
  mul(a: V, b: V): V;
  div(a: V, b: V): V;
  /** WebAssembly's min / max: NaN if either is, −0 < +0. */
  min(a: V, b: V): V;
  max(a: V, b: V): V;
  /** Lane-wise a > b, a < b, both (conditions for `where`). */
  gt(a: V, b: V): V;
  lt(a: V, b: V): V;
  both(c1: V, c2: V): V;
  /** Lane-wise cond ? a : b. */
  where(cond: V, a: V, b: V): V;
}

/** The activations the fused kernels implement (by Keras name). */
export const FUSED_ACTIVATIONS = ["tanh", "sigmoid", "hard_sigmoid", "hard_sigmoid_keras2", "relu", "linear"] as const;
export type FusedActivation = (typeof FUSED_ACTIVATIONS)[number];

export const isFusedActivation = (name: string): name is FusedActivation =>
  (FUSED_ACTIVATIONS as readonly string[]).includes(name);

/**
 * A cell's step math in one instruction set: every result is bound to a name (`statements` collects the
 * bindings in order; `bind` makes one), so a value may be used any number of times, and one that is
 * computed twice (1 − z in a GRU's gradients, say) is computed once. `act` is the cell's activation,
 * `ract` its recurrent activation.
 */
export class LaneAlgebra<V> implements GradAlgebra<V> {
  readonly statements: V[] = [];
  readonly one: V;
  /** Values by expression: names are bound once, so the same expression is the same value. */
  private readonly computed = new Map<string, V>();

  constructor(
    readonly ops: Instructions<V>,
    /** The statement binding `e` to a new name, and the name. */
    private readonly bindNew: (e: V) => readonly [statement: V, value: V],
    private readonly activation: FusedActivation,
    private readonly recurrentActivation: FusedActivation,
  ) {
    this.one = ops.constant(1);
  }

  /** The value of `e`, bound to a name (a new one unless the same expression was computed before). */
  private bind(e: V, reuse = true): V {
    const key = String(e);
    let v = reuse ? this.computed.get(key) : undefined;
    if (v === undefined) {
      const [statement, value] = this.bindNew(e);
      this.statements.push(statement);
      v = value;
      if (reuse) this.computed.set(key, v);
    }
    return v;
  }

  /** The value at `addr` now (never merged with another load: memory changes). */
  load(addr: V): V {
    return this.bind(this.ops.load(addr), false);
  }
  /** Stores `v` at `addr`. */
  store(addr: V, v: V): void {
    this.statements.push(this.ops.store(addr, v));
  }
  constant(x: number): V {
    return this.ops.constant(x);
  }
  add(a: V, b: V): V {
    return this.bind(this.ops.add(a, b));
  }
  sub(a: V, b: V): V {
    return this.bind(this.ops.sub(a, b));
  }
  mul(a: V, b: V): V {
    return this.bind(this.ops.mul(a, b));
  }
  div(a: V, b: V): V {
    return this.bind(this.ops.div(a, b));
  }
  min(a: V, b: V): V {
    return this.bind(this.ops.min(a, b));
  }
  max(a: V, b: V): V {
    return this.bind(this.ops.max(a, b));
  }
  gt(a: V, b: V): V {
    return this.ops.gt(a, b);
  }
  lt(a: V, b: V): V {
    return this.ops.lt(a, b);
  }
  both(c1: V, c2: V): V {
    return this.ops.both(c1, c2);
  }
  where(cond: V, a: V, b: V): V {
    return this.bind(this.ops.where(cond, a, b));
  }
  act(x: V): V {
    return ACTIVATIONS[this.activation].value(this, x);
  }
  ract(x: V): V {
    return ACTIVATIONS[this.recurrentActivation].value(this, x);
  }
  dact(y: V): V {
    return ACTIVATIONS[this.activation].derivative(this, y);
  }
  dract(y: V): V {
    return ACTIVATIONS[this.recurrentActivation].derivative(this, y);
  }
}

/**
 * tanh as a rational function (Eigen / XLA's float32 tanh): odd degree-13 numerator over even degree-6
 * denominator, input clamped to ±7.905. Error a few float32 ulps against Math.tanh.
 */
const TANH_CLAMP = 7.90531110763549805;
const TANH_P = [
  -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-8, 1.48572235717979e-5,
  6.37261928875436e-4, 4.89352455891786e-3,
];
const TANH_Q = [1.19825839466702e-6, 1.18534705686654e-4, 2.268434632439e-3, 4.89352518554385e-3];

interface ActivationCode {
  value<V>(A: LaneAlgebra<V>, x: V): V;
  /** The derivative, from the activation's output y. */
  derivative<V>(A: LaneAlgebra<V>, y: V): V;
}

// Separate multiply and add even where relaxed SIMD has a fused one: with fused multiply-adds here the
// seeded examples/addition_rnn.ts learned less well on every seed tried (78–94% of sums right against
// 97–98%); the products (gemm.ts) use them without that effect.
const horner = <V>(A: LaneAlgebra<V>, coefficients: readonly number[], x: V): V =>
  coefficients.slice(1).reduce((e, c) => A.add(A.mul(e, x), A.constant(c)), A.constant(coefficients[0]));

const tanh = <V>(A: LaneAlgebra<V>, x: V): V => {
  const c = A.min(A.max(x, A.constant(-TANH_CLAMP)), A.constant(TANH_CLAMP));
  const c2 = A.mul(c, c);
  return A.div(A.mul(horner(A, TANH_P, c2), c), horner(A, TANH_Q, c2));
};

/** The value between 0 and 1 (exclusive) where a hard sigmoid has slope `slope`, else 0. */
const slopeInside = <V>(A: LaneAlgebra<V>, y: V, slope: number): V =>
  A.where(A.both(A.gt(y, A.constant(0)), A.lt(y, A.constant(1))), A.constant(slope), A.constant(0));

const ACTIVATIONS: Record<FusedActivation, ActivationCode> = {
  tanh: { value: tanh, derivative: (A, y) => A.sub(A.one, A.mul(y, y)) },
  // sigmoid(x) = 0.5 + 0.5·tanh(x/2)
  sigmoid: {
    value: (A, x) => A.add(A.mul(tanh(A, A.mul(x, A.constant(0.5))), A.constant(0.5)), A.constant(0.5)),
    derivative: (A, y) => A.mul(y, A.sub(A.one, y)),
  },
  hard_sigmoid: {
    value: (A, x) => A.min(A.max(A.add(A.div(x, A.constant(6)), A.constant(0.5)), A.constant(0)), A.one),
    derivative: (A, y) => slopeInside(A, y, 1 / 6),
  },
  hard_sigmoid_keras2: {
    value: (A, x) => A.min(A.max(A.add(A.mul(x, A.constant(0.2)), A.constant(0.5)), A.constant(0)), A.one),
    derivative: (A, y) => slopeInside(A, y, 0.2),
  },
  relu: {
    value: (A, x) => A.max(x, A.constant(0)),
    derivative: (A, y) => A.where(A.gt(y, A.constant(0)), A.one, A.constant(0)),
  },
  linear: { value: (_A, x) => x, derivative: (A) => A.one },
};
