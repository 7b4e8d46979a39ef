/**
 * Modified Gram–Schmidt on the columns of a float64 matrix, in WebAssembly: the orthogonal initializer's
 * QR (initializers.ts). The first weight drawn in a process (a recurrent layer's recurrent kernel) runs
 * this before V8 has optimized any JavaScript: in JavaScript it cost ~8 ms more than warm there (GRU(64):
 * 0.8 million multiply-adds); WebAssembly runs at full speed from its first call. The arithmetic is
 * JavaScript's float64 in the same order (no fused multiply-add), so the values are the same bits.
 */
import {
  add,
  geU,
  get,
  i32,
  inc,
  loopUntil,
  moduleBytes,
  mul,
  select,
  set,
  vec,
  type Code,
} from "../layers/recurrent/fused/wasm.js";
import { WA } from "../layers/recurrent/fused/step_kernels.js";

const F64 = 0x7c;
const I32 = 0x7f;
const f64Load = (addr: Code): Code => [...addr, 0x2b, 3, 0];
const f64Store = (addr: Code, v: Code): Code => [...addr, ...v, 0x39, 3, 0];
const f64 =
  (op: number) =>
  (a: Code, b: Code): Code => [...a, ...b, op];
const [fAdd, fSub, fMul, fDiv, fEq, fNe] = [0xa0, 0xa1, 0xa2, 0xa3, 0x61, 0x62].map(f64);
const fSqrt = (a: Code): Code => [...a, 0x9f];
const fConst = (x: number): Code => [0x44, ...new Uint8Array(new Float64Array([x]).buffer)];
const iAnd = (a: Code, b: Code): Code => [...a, ...b, 0x71];

/** gram_schmidt(m, n): the n columns of m float64 each at address 0, column-major, orthonormalized in place. */
function gramSchmidtModule(): object {
  // parameters m, n; i32 locals; f64 locals
  const [m, n, m8, j, k, i, cj, ck, dot, norm] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const eachRow = (body: Code): Code => vec(set(i, i32(0)), loopUntil(geU(get(i), get(m8)), vec(body, inc(i, i32(8)))));
  const at = (column: number) => add(get(column), get(i));
  const body = vec(
    set(m8, mul(get(m), i32(8))),
    set(j, i32(0)),
    loopUntil(
      geU(get(j), get(n)),
      vec(
        set(cj, mul(get(j), get(m8))),
        set(k, i32(0)),
        loopUntil(
          geU(get(k), get(j)),
          vec(
            set(ck, mul(get(k), get(m8))),
            set(dot, fConst(0)),
            eachRow(set(dot, fAdd(get(dot), fMul(f64Load(at(ck)), f64Load(at(cj)))))),
            eachRow(f64Store(at(cj), fSub(f64Load(at(cj)), fMul(get(dot), f64Load(at(ck)))))),
            inc(k, i32(1)),
          ),
        ),
        set(norm, fConst(0)),
        eachRow(set(norm, fAdd(get(norm), fMul(f64Load(at(cj)), f64Load(at(cj)))))),
        // JavaScript's `Math.sqrt(norm) || 1`: 1 for 0 and NaN
        set(norm, fSqrt(get(norm))),
        set(norm, select(get(norm), fConst(1), iAnd(fEq(get(norm), get(norm)), fNe(get(norm), fConst(0))))),
        eachRow(f64Store(at(cj), fDiv(f64Load(at(cj)), get(norm)))),
        inc(j, i32(1)),
      ),
    ),
  );
  const fn = { name: "gram_schmidt", params: ["m", "n"], locals: [I32, I32, I32, I32, I32, I32, F64, F64], body };
  return new WA!.Module(moduleBytes([fn]));
}

let compiled: object | undefined;

/** Orthonormalizes the n columns (m values each, column-major) of `a` in place, as modified Gram–Schmidt. */
export function gramSchmidt(a: Float64Array, m: number, n: number): void {
  compiled ??= gramSchmidtModule();
  const memory = new WA!.Memory({ initial: Math.max(1, Math.ceil(a.byteLength / 65536)) });
  const { exports } = new WA!.Instance(compiled, { env: { memory } });
  new Float64Array(memory.buffer, 0, a.length).set(a);
  (exports.gram_schmidt as (m: number, n: number) => void)(m, n);
  a.set(new Float64Array(memory.buffer, 0, a.length));
}
