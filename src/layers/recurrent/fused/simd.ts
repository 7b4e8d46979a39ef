/**
 * WebAssembly SIMD gate kernels for the fused recurrent path on the wasm backend.
 *
 * A small wasm module, encoded here byte by byte (no assembler, no build step), that imports the wasm
 * backend's own memory and works in place on its heap: the same buffers the backend's XNNPACK gemms
 * read and write, so no copies. One call per timestep does a whole step's gate arithmetic, four units
 * at a time (f32x4): forward, the squashing (tanh and sigmoid, see below), the state update and the
 * saved gates; backward, the gate derivatives and the carried state gradients.
 *
 * Only the default activations (activation tanh, recurrent_activation sigmoid) and unit counts that
 * are a multiple of 4 use it (all cells, GRU reset_before too, masked or not, forward and backward);
 * everything else keeps the JavaScript path in kernels.ts, as does any
 * runtime without wasm SIMD (`WebAssembly.validate` on this module decides).
 *
 * tanh is the same rational function as `fastTanh` in kernels.ts (Eigen / XLA's float32 tanh:
 * odd degree-13 over even degree-6, input clamped to ±7.905), evaluated in float32: error a few float32
 * ulps; sigmoid(x) = 0.5 + 0.5·tanh(x/2).
 *
 * Conventions of every exported function: all arguments are i32; pointers are byte offsets in the
 * heap; `u4` = 4·units (bytes per unit row); `mask` 0 means no mask. Every other pointer must be valid:
 * callers pass scratch space for gates they do not keep, and zeros (stride 0) for an absent dy — the
 * inner loops are branch-free (a branch inside them cost V8's code about 2×).
 */

// ---------------------------------------------------------------------------------------------
// A tiny wasm encoder: expressions are byte arrays in stack-machine order.

type Code = number[];

function uleb(n: number): Code {
  const out: Code = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(n: number): Code {
  const out: Code = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const f32bytes = (x: number): Code => Array.from(new Uint8Array(new Float32Array([x]).buffer));
const vec = (...parts: Code[]): Code => {
  const out: Code = [];
  for (const p of parts) for (const b of p) out.push(b);
  return out;
};
const section = (id: number, body: Code): Code => [id, ...uleb(body.length), ...body];
const list = (items: Code[]): Code => vec(uleb(items.length), ...items);
const name = (s: string): Code => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];

const I32 = 0x7f,
  V128 = 0x7b;
const simd = (op: number): Code => [0xfd, ...uleb(op)];

// scalar i32
const get = (i: number): Code => [0x20, ...uleb(i)];
const set = (i: number, e: Code): Code => [...e, 0x21, ...uleb(i)];
const i32 = (n: number): Code => [0x41, ...sleb(n)];
const add = (a: Code, b: Code): Code => [...a, ...b, 0x6a];
const mul = (a: Code, b: Code): Code => [...a, ...b, 0x6c];
const geU = (a: Code, b: Code): Code => [...a, ...b, 0x4f];
const eqz = (a: Code): Code => [...a, 0x45];
const select = (a: Code, b: Code, cond: Code): Code => [...a, ...b, ...cond, 0x1b];
const load8u = (addr: Code): Code => [...addr, 0x2d, 0, 0];
const inc = (i: number, by: Code): Code => set(i, add(get(i), by));
/** for (;;) { if (cond) break; body } */
const loopWhileNot = (stop: Code, body: Code): Code => [
  0x02,
  0x40,
  0x03,
  0x40,
  ...stop,
  0x0d,
  1,
  ...body,
  0x0c,
  0,
  0x0b,
  0x0b,
];

// f32x4
const vload = (addr: Code): Code => [...addr, ...simd(0x00), 2, 0];
const vstore = (addr: Code, v: Code): Code => [...addr, ...v, ...simd(0x0b), 2, 0];
const splat = (x: number): Code => [0xfd, 0x0c, ...f32bytes(x), ...f32bytes(x), ...f32bytes(x), ...f32bytes(x)];
const fadd = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe4)];
const fsub = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe5)];
const fmul = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe6)];
const fdiv = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe7)];
const fmin = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe8)];
const fmax = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe9)];

const TANH_CLAMP = 7.90531110763549805;
const TANH_P = [
  -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-8, 1.48572235717979e-5,
  6.37261928875436e-4, 4.89352455891786e-3,
];
const TANH_Q = [1.19825839466702e-6, 1.18534705686654e-4, 2.268434632439e-3, 4.89352518554385e-3];

/** dst = tanh(src) (v128 locals; `x2`, `p` scratch; dst may equal src). */
function tanhTo(dst: number, src: number, x2: number, p: number): Code {
  const xx = get(dst);
  const horner = (cs: number[]): Code => {
    let e = splat(cs[0]);
    for (let k = 1; k < cs.length; k++) e = fadd(fmul(e, get(x2)), splat(cs[k]));
    return e;
  };
  return vec(
    set(dst, fmin(fmax(get(src), splat(-TANH_CLAMP)), splat(TANH_CLAMP))),
    set(x2, fmul(xx, xx)),
    set(p, fmul(horner(TANH_P), xx)),
    set(dst, fdiv(get(p), horner(TANH_Q))),
  );
}

/** dst = sigmoid(src) = 0.5 + 0.5·tanh(src/2). */
function sigmoidTo(dst: number, src: number, x2: number, p: number): Code {
  return vec(
    set(dst, fmul(get(src), splat(0.5))),
    tanhTo(dst, dst, x2, p),
    set(dst, fadd(fmul(get(dst), splat(0.5)), splat(0.5))),
  );
}

interface Fn {
  name: string;
  params: number;
  i32Locals: number;
  v128Locals: number;
  body: Code;
}

function moduleBytes(fns: Fn[]): Uint8Array {
  const sigs: string[] = [];
  const typeOf = (f: Fn): number => {
    const k = String(f.params);
    let i = sigs.indexOf(k);
    if (i < 0) i = sigs.push(k) - 1;
    return i;
  };
  const typeIdx = fns.map(typeOf);
  const types = section(
    1,
    list(sigs.map((k) => vec([0x60], list(Array.from({ length: Number(k) }, () => [I32])), [0]))),
  );
  const imports = section(2, list([vec(name("env"), name("memory"), [0x02, 0x00], uleb(1))]));
  const funcs = section(3, list(typeIdx.map((t) => uleb(t))));
  const exports = section(7, list(fns.map((f, i) => vec(name(f.name), [0x00], uleb(i)))));
  const code = section(
    10,
    list(
      fns.map((f) => {
        const locals = list([vec(uleb(f.i32Locals), [I32]), vec(uleb(f.v128Locals), [V128])]);
        const body = vec(locals, f.body, [0x0b]);
        return vec(uleb(body.length), body);
      }),
    ),
  );
  return new Uint8Array(vec([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], types, imports, funcs, exports, code));
}

// ---------------------------------------------------------------------------------------------
// The kernels. Local numbering: parameters first, then i32 locals, then v128 locals.

/** Builds a function body from named parameters / locals. */
function fn(
  fname: string,
  params: string[],
  i32s: string[],
  v128s: string[],
  body: (L: Record<string, number>) => Code,
): Fn {
  const L: Record<string, number> = {};
  [...params, ...i32s, ...v128s].forEach((n, i) => (L[n] = i));
  return { name: fname, params: params.length, i32Locals: i32s.length, v128Locals: v128s.length, body: body(L) };
}

/** Row loop over b < B with the unit loop j (bytes, step 16) < u4 inside; `rowEnd` advances row pointers. */
function rows(L: Record<string, number>, perRow: Code, inner: Code, rowEnd: Code): Code {
  return vec(
    set(L.b, i32(0)),
    loopWhileNot(
      geU(get(L.b), get(L.B)),
      vec(
        perRow,
        set(L.j, i32(0)),
        loopWhileNot(geU(get(L.j), get(L.u4)), vec(inner, inc(L.j, i32(16)))),
        rowEnd,
        inc(L.b, i32(1)),
      ),
    ),
  );
}

/**
 * keep = all-ones lanes when row b is masked out (mask given and its byte at mask + b·mstride is 0),
 * else zeros; used by v128.bitselect, so the inner loops have no branches (a branch inside a SIMD loop
 * costs V8's code about 2× here).
 */
const keepOf = (L: Record<string, number>): Code =>
  set(L.keep, [
    ...i32(0),
    ...eqz(select(i32(1), load8u(add(get(L.mask), mul(get(L.b), get(L.mstride)))), eqz(get(L.mask)))),
    0x6b,
    ...simd(0x11),
  ]); // i32x4.splat(0 − masked)
/** keep ? old : nu */
const keepOr = (L: Record<string, number>, old: Code, nu: Code): Code => [...old, ...nu, ...get(L.keep), ...simd(0x52)];

const at = (p: number, L: Record<string, number>, k = 0): Code =>
  k === 0 ? add(get(p), get(L.j)) : add(add(get(p), get(L.j)), mul(get(L.u4), i32(k)));

/**
 * gru_fwd(B, u4, xp, rec, bi, br, h, gates, aux, mask, mstride): GRU reset_after step. xp = this
 * step's X·W (B × 3u), rec = h·U (B × 3u), bi / br the input / recurrent biases (3u; biases are added
 * here rather than in the gemms: XNNPACK would build a new operator for every new bias buffer);
 * h (B × u) updated in place on live rows;
 * gates (B × 3u: z, r, hh) and aux (B × u: the recurrent h-gate pre-activation) written.
 */
const gruFwd = fn(
  "gru_fwd",
  ["B", "u4", "xp", "rec", "bi", "br", "h", "gates", "aux", "mask", "mstride"],
  ["b", "j"],
  ["z", "r", "hh", "rc", "x2", "p", "hv", "keep"],
  (L) =>
    rows(
      L,
      keepOf(L),
      vec(
        set(L.z, fadd(fadd(vload(at(L.xp, L)), vload(at(L.bi, L))), fadd(vload(at(L.rec, L)), vload(at(L.br, L))))),
        sigmoidTo(L.z, L.z, L.x2, L.p),
        set(
          L.r,
          fadd(fadd(vload(at(L.xp, L, 1)), vload(at(L.bi, L, 1))), fadd(vload(at(L.rec, L, 1)), vload(at(L.br, L, 1)))),
        ),
        sigmoidTo(L.r, L.r, L.x2, L.p),
        set(L.rc, fadd(vload(at(L.rec, L, 2)), vload(at(L.br, L, 2)))),
        set(L.hh, fadd(fadd(vload(at(L.xp, L, 2)), vload(at(L.bi, L, 2))), fmul(get(L.r), get(L.rc)))),
        tanhTo(L.hh, L.hh, L.x2, L.p),
        vstore(at(L.gates, L), get(L.z)),
        vstore(at(L.gates, L, 1), get(L.r)),
        vstore(at(L.gates, L, 2), get(L.hh)),
        vstore(at(L.aux, L), get(L.rc)),
        set(L.hv, vload(at(L.h, L))),
        vstore(at(L.h, L), keepOr(L, get(L.hv), fadd(get(L.hh), fmul(get(L.z), fsub(get(L.hv), get(L.hh)))))),
      ),
      vec(
        inc(L.xp, mul(get(L.u4), i32(3))),
        inc(L.rec, mul(get(L.u4), i32(3))),
        inc(L.h, get(L.u4)),
        inc(L.gates, mul(get(L.u4), i32(3))),
        inc(L.aux, get(L.u4)),
      ),
    ),
);

/**
 * lstm_fwd(B, u4, xp, rec, bi, h, c, gates, aux, mask, mstride): LSTM step (gates i, f, c, o); bi (4u) the bias.
 * h, c (B × u) updated on live rows; gates (B × 5u: i, f, g, o, tanh(c')) and aux (c before) written.
 */
const lstmFwd = fn(
  "lstm_fwd",
  ["B", "u4", "xp", "rec", "bi", "h", "c", "gates", "aux", "mask", "mstride"],
  ["b", "j"],
  ["i", "f", "g", "o", "cp", "cn", "ac", "x2", "p", "keep", "hv"],
  (L) =>
    rows(
      L,
      keepOf(L),
      vec(
        set(L.i, fadd(fadd(vload(at(L.xp, L)), vload(at(L.bi, L))), vload(at(L.rec, L)))),
        sigmoidTo(L.i, L.i, L.x2, L.p),
        set(L.f, fadd(fadd(vload(at(L.xp, L, 1)), vload(at(L.bi, L, 1))), vload(at(L.rec, L, 1)))),
        sigmoidTo(L.f, L.f, L.x2, L.p),
        set(L.g, fadd(fadd(vload(at(L.xp, L, 2)), vload(at(L.bi, L, 2))), vload(at(L.rec, L, 2)))),
        tanhTo(L.g, L.g, L.x2, L.p),
        set(L.o, fadd(fadd(vload(at(L.xp, L, 3)), vload(at(L.bi, L, 3))), vload(at(L.rec, L, 3)))),
        sigmoidTo(L.o, L.o, L.x2, L.p),
        set(L.cp, vload(at(L.c, L))),
        set(L.cn, fadd(fmul(get(L.f), get(L.cp)), fmul(get(L.i), get(L.g)))),
        tanhTo(L.ac, L.cn, L.x2, L.p),
        vstore(at(L.gates, L), get(L.i)),
        vstore(at(L.gates, L, 1), get(L.f)),
        vstore(at(L.gates, L, 2), get(L.g)),
        vstore(at(L.gates, L, 3), get(L.o)),
        vstore(at(L.gates, L, 4), get(L.ac)),
        vstore(at(L.aux, L), get(L.cp)),
        vstore(at(L.c, L), keepOr(L, get(L.cp), get(L.cn))),
        set(L.hv, vload(at(L.h, L))),
        vstore(at(L.h, L), keepOr(L, get(L.hv), fmul(get(L.o), get(L.ac)))),
      ),
      vec(
        inc(L.xp, mul(get(L.u4), i32(4))),
        inc(L.rec, mul(get(L.u4), i32(4))),
        inc(L.h, get(L.u4)),
        inc(L.c, get(L.u4)),
        inc(L.gates, mul(get(L.u4), i32(5))),
        inc(L.aux, get(L.u4)),
      ),
    ),
);

/** rnn_fwd(B, u4, xp, rec, bi, h, gates, mask, mstride): SimpleRNN step, h = tanh(xp + bi + rec) on live rows; gates (B × u) = h. */
const rnnFwd = fn(
  "rnn_fwd",
  ["B", "u4", "xp", "rec", "bi", "h", "gates", "mask", "mstride"],
  ["b", "j"],
  ["hn", "x2", "p", "keep"],
  (L) =>
    rows(
      L,
      keepOf(L),
      vec(
        set(L.hn, fadd(fadd(vload(at(L.xp, L)), vload(at(L.bi, L))), vload(at(L.rec, L)))),
        tanhTo(L.hn, L.hn, L.x2, L.p),
        vstore(at(L.gates, L), get(L.hn)),
        vstore(at(L.h, L), keepOr(L, vload(at(L.h, L)), get(L.hn))),
      ),
      vec(inc(L.xp, get(L.u4)), inc(L.rec, get(L.u4)), inc(L.h, get(L.u4)), inc(L.gates, get(L.u4))),
    ),
);

/** g = [dh +] dhrec + dy [+ dyc, then dyc ← 0 (masked kernels: the output gradient carried from later masked steps)]. */
const gradIn = (L: Record<string, number>, withDh: boolean, masked = false): Code =>
  vec(
    set(L.g, vload(at(L.dhrec, L))),
    withDh ? set(L.g, fadd(get(L.g), vload(at(L.dh, L)))) : [],
    set(L.g, fadd(get(L.g), vload(at(L.dy, L)))),
    masked ? vec(set(L.g, fadd(get(L.g), vload(at(L.dyc, L)))), vstore(at(L.dyc, L), splat(0))) : [],
  );

/**
 * The masked backward kernels (suffix _m) take after their own parameters: mask, mstride (as the
 * forward kernels; mask is required), dyc (B × u, the output gradient carried back through masked
 * steps to the last live one, where it joins g), dy2 / dy2stride (what a masked step adds to dyc: dy,
 * or zeros with stride 0 under zero_output_for_mask), and — LSTM / SimpleRNN, whose unmasked kernels
 * carry no dh — dh (B × u: the gradient w.r.t. the state after this step that is not in dhrec; the
 * caller adds it to dh0 at the end). A masked row keeps its state: dh ← dh + dhrec (and dc is left as
 * is), dyc ← dyc + dy2, and its dxp / dr rows are zeros. A live row runs the unmasked arithmetic with
 * g = dh + dhrec + dy + dyc, then dyc ← 0 (and LSTM / SimpleRNN: dh ← 0). The branch is per row,
 * outside the unit loops.
 */
const MASK_PARAMS = ["mask", "mstride", "dyc", "dy2", "dy2stride"];

/** Row loop like `rows`, with a per-row branch between the unit loops `masked` and `live` (mask byte 0 = masked). */
function rowsMasked(L: Record<string, number>, masked: Code, live: Code, rowEnd: Code): Code {
  const units = (inner: Code): Code =>
    vec(set(L.j, i32(0)), loopWhileNot(geU(get(L.j), get(L.u4)), vec(inner, inc(L.j, i32(16)))));
  return vec(
    set(L.b, i32(0)),
    loopWhileNot(
      geU(get(L.b), get(L.B)),
      vec(
        eqz(load8u(add(get(L.mask), mul(get(L.b), get(L.mstride))))),
        [0x04, 0x40],
        units(masked),
        [0x05],
        units(live),
        [0x0b],
        rowEnd,
        inc(L.b, i32(1)),
      ),
    ),
  );
}

/** A masked row's unit loop body: dh ← dh + dhrec, dyc ← dyc + dy2, zeros into the G gate blocks of dxp and the Gr (default G) of dr. */
const maskedRow = (L: Record<string, number>, G: number, Gr = G): Code =>
  vec(
    vstore(at(L.dh, L), fadd(vload(at(L.dh, L)), vload(at(L.dhrec, L)))),
    vstore(at(L.dyc, L), fadd(vload(at(L.dyc, L)), vload(at(L.dy2, L)))),
    ...Array.from({ length: G }, (_, k) => vstore(at(L.dxp, L, k), splat(0))),
    ...Array.from({ length: Gr }, (_, k) => vstore(at(L.dr, L, k), splat(0))),
  );
/** Row-end pointer advances of the masked kernels' extra buffers. */
const maskedRowEnd = (L: Record<string, number>, withDh: boolean): Code =>
  vec(inc(L.dyc, get(L.u4)), inc(L.dy2, get(L.dy2stride)), withDh ? inc(L.dh, get(L.u4)) : []);

/*
 * The backward kernels write the pre-activation gradients twice, both row-major: into dxp (rows of
 * the (B, T, G·u) output, stride dxpstride) and into dr (B × G·u, this step's rows of the all-steps
 * block used for dh_{t-1} = dr·Uᵀ and, at the end, dU = Hᵀ·dr). Nothing is stored transposed: a
 * column store (v128.store32_lane) per lane cost V8's code 8× the whole step.
 */

/**
 * gru_bwd(B, u4, dh, dhrec, dy, dystride, gates, hprev, aux, dxp, dxpstride, dr): GRU reset_after
 * backward step on all rows (no mask). g = dh + dhrec + dy; dh ← g·z; dxp gets (dz, dr, dhh) and dr
 * (dz, dr, dhh·r).
 */
const gruBwdFn = (masked: boolean): Fn =>
  fn(
    masked ? "gru_bwd_m" : "gru_bwd",
    [
      "B",
      "u4",
      "dh",
      "dhrec",
      "dy",
      "dystride",
      "gates",
      "hprev",
      "aux",
      "dxp",
      "dxpstride",
      "dr",
      ...(masked ? MASK_PARAMS : []),
    ],
    ["b", "j"],
    ["g", "z", "r", "hh", "dz", "dhh", "drr", "t"],
    (L) =>
      (masked
        ? (live: Code, end: Code) => rowsMasked(L, maskedRow(L, 3), live, vec(end, maskedRowEnd(L, false)))
        : (live: Code, end: Code) => rows(L, [], live, end))(
        vec(
          gradIn(L, true, masked),
          set(L.z, vload(at(L.gates, L))),
          set(L.r, vload(at(L.gates, L, 1))),
          set(L.hh, vload(at(L.gates, L, 2))),
          // dhh = g (1 − z)(1 − hh²); dz = g (h_prev − hh) z (1 − z); drr = dhh · rc · r (1 − r)
          set(L.t, fsub(splat(1), get(L.z))),
          set(L.dhh, fmul(fmul(get(L.g), get(L.t)), fsub(splat(1), fmul(get(L.hh), get(L.hh))))),
          set(L.dz, fmul(fmul(get(L.g), fsub(vload(at(L.hprev, L)), get(L.hh))), fmul(get(L.z), get(L.t)))),
          set(L.drr, fmul(fmul(get(L.dhh), vload(at(L.aux, L))), fmul(get(L.r), fsub(splat(1), get(L.r))))),
          vstore(at(L.dh, L), fmul(get(L.g), get(L.z))),
          vstore(at(L.dxp, L), get(L.dz)),
          vstore(at(L.dxp, L, 1), get(L.drr)),
          vstore(at(L.dxp, L, 2), get(L.dhh)),
          vstore(at(L.dr, L), get(L.dz)),
          vstore(at(L.dr, L, 1), get(L.drr)),
          vstore(at(L.dr, L, 2), fmul(get(L.dhh), get(L.r))),
        ),
        vec(
          inc(L.dh, get(L.u4)),
          inc(L.dhrec, get(L.u4)),
          inc(L.dy, get(L.dystride)),
          inc(L.gates, mul(get(L.u4), i32(3))),
          inc(L.hprev, get(L.u4)),
          inc(L.aux, get(L.u4)),
          inc(L.dxp, get(L.dxpstride)),
          inc(L.dr, mul(get(L.u4), i32(3))),
        ),
      ),
  );
const gruBwd = gruBwdFn(false),
  gruBwdM = gruBwdFn(true);

/**
 * lstm_bwd(B, u4, dhrec, dc, dy, dystride, gates, aux, dxp, dxpstride, dr): LSTM backward step (no
 * mask). g = dhrec + dy; dc ← dct·f; dxp rows and dr (B × 4u) get dI, dF, dC, dO.
 */
const lstmBwdFn = (masked: boolean): Fn =>
  fn(
    masked ? "lstm_bwd_m" : "lstm_bwd",
    [
      "B",
      "u4",
      "dhrec",
      "dc",
      "dy",
      "dystride",
      "gates",
      "aux",
      "dxp",
      "dxpstride",
      "dr",
      ...(masked ? [...MASK_PARAMS, "dh"] : []),
    ],
    ["b", "j"],
    ["g", "i", "f", "cc", "o", "ac", "dct", "d"],
    (L) =>
      (masked
        ? (live: Code, end: Code) => rowsMasked(L, maskedRow(L, 4), live, vec(end, maskedRowEnd(L, true)))
        : (live: Code, end: Code) => rows(L, [], live, end))(
        vec(
          gradIn(L, masked, masked),
          masked ? vstore(at(L.dh, L), splat(0)) : [],
          set(L.i, vload(at(L.gates, L))),
          set(L.f, vload(at(L.gates, L, 1))),
          set(L.cc, vload(at(L.gates, L, 2))),
          set(L.o, vload(at(L.gates, L, 3))),
          set(L.ac, vload(at(L.gates, L, 4))),
          // dct = dc + g·o·(1 − ac²)
          set(
            L.dct,
            fadd(vload(at(L.dc, L)), fmul(fmul(get(L.g), get(L.o)), fsub(splat(1), fmul(get(L.ac), get(L.ac))))),
          ),
          vstore(at(L.dc, L), fmul(get(L.dct), get(L.f))),
          // dI = dct·cc·i(1 − i)
          set(L.d, fmul(fmul(get(L.dct), get(L.cc)), fmul(get(L.i), fsub(splat(1), get(L.i))))),
          vstore(at(L.dxp, L), get(L.d)),
          vstore(at(L.dr, L), get(L.d)),
          // dF = dct·c_prev·f(1 − f)
          set(L.d, fmul(fmul(get(L.dct), vload(at(L.aux, L))), fmul(get(L.f), fsub(splat(1), get(L.f))))),
          vstore(at(L.dxp, L, 1), get(L.d)),
          vstore(at(L.dr, L, 1), get(L.d)),
          // dC = dct·i·(1 − cc²)
          set(L.d, fmul(fmul(get(L.dct), get(L.i)), fsub(splat(1), fmul(get(L.cc), get(L.cc))))),
          vstore(at(L.dxp, L, 2), get(L.d)),
          vstore(at(L.dr, L, 2), get(L.d)),
          // dO = g·ac·o(1 − o)
          set(L.d, fmul(fmul(get(L.g), get(L.ac)), fmul(get(L.o), fsub(splat(1), get(L.o))))),
          vstore(at(L.dxp, L, 3), get(L.d)),
          vstore(at(L.dr, L, 3), get(L.d)),
        ),
        vec(
          inc(L.dhrec, get(L.u4)),
          inc(L.dc, get(L.u4)),
          inc(L.dy, get(L.dystride)),
          inc(L.gates, mul(get(L.u4), i32(5))),
          inc(L.aux, get(L.u4)),
          inc(L.dxp, get(L.dxpstride)),
          inc(L.dr, mul(get(L.u4), i32(4))),
        ),
      ),
  );
const lstmBwd = lstmBwdFn(false),
  lstmBwdM = lstmBwdFn(true);

/** rnn_bwd(B, u4, dhrec, dy, dystride, gates, dxp, dxpstride, dr): SimpleRNN backward step (no mask). */
const rnnBwdFn = (masked: boolean): Fn =>
  fn(
    masked ? "rnn_bwd_m" : "rnn_bwd",
    [
      "B",
      "u4",
      "dhrec",
      "dy",
      "dystride",
      "gates",
      "dxp",
      "dxpstride",
      "dr",
      ...(masked ? [...MASK_PARAMS, "dh"] : []),
    ],
    ["b", "j"],
    ["g", "hn", "d"],
    (L) =>
      (masked
        ? (live: Code, end: Code) => rowsMasked(L, maskedRow(L, 1), live, vec(end, maskedRowEnd(L, true)))
        : (live: Code, end: Code) => rows(L, [], live, end))(
        vec(
          gradIn(L, masked, masked),
          masked ? vstore(at(L.dh, L), splat(0)) : [],
          set(L.hn, vload(at(L.gates, L))),
          set(L.d, fmul(get(L.g), fsub(splat(1), fmul(get(L.hn), get(L.hn))))),
          vstore(at(L.dxp, L), get(L.d)),
          vstore(at(L.dr, L), get(L.d)),
        ),
        vec(
          inc(L.dhrec, get(L.u4)),
          inc(L.dy, get(L.dystride)),
          inc(L.gates, get(L.u4)),
          inc(L.dxp, get(L.dxpstride)),
          inc(L.dr, get(L.u4)),
        ),
      ),
  );
const rnnBwd = rnnBwdFn(false),
  rnnBwdM = rnnBwdFn(true);

// GRU reset_after = FALSE (reset_before): hh = tanh(x·W_h + b_h + (r*h)·U_h), so each step is two
// kernel calls around the gemm (r*h)·U_h (forward) or dhh·U_hᵀ (backward).

/**
 * gru_rb_fwd1(B, u4, xp, rec, bi, h, gates, rh): rec = h·[U_z U_r] (B × 2u); writes z, r into gates
 * (B × 3u) and rh = r*h (B × u), the left operand of the gemm rh·U_h.
 */
const gruRbFwd1 = fn(
  "gru_rb_fwd1",
  ["B", "u4", "xp", "rec", "bi", "h", "gates", "rh"],
  ["b", "j"],
  ["z", "r", "x2", "p"],
  (L) =>
    rows(
      L,
      [],
      vec(
        set(L.z, fadd(fadd(vload(at(L.xp, L)), vload(at(L.bi, L))), vload(at(L.rec, L)))),
        sigmoidTo(L.z, L.z, L.x2, L.p),
        set(L.r, fadd(fadd(vload(at(L.xp, L, 1)), vload(at(L.bi, L, 1))), vload(at(L.rec, L, 1)))),
        sigmoidTo(L.r, L.r, L.x2, L.p),
        vstore(at(L.gates, L), get(L.z)),
        vstore(at(L.gates, L, 1), get(L.r)),
        vstore(at(L.rh, L), fmul(get(L.r), vload(at(L.h, L)))),
      ),
      vec(
        inc(L.xp, mul(get(L.u4), i32(3))),
        inc(L.rec, mul(get(L.u4), i32(2))),
        inc(L.h, get(L.u4)),
        inc(L.gates, mul(get(L.u4), i32(3))),
        inc(L.rh, get(L.u4)),
      ),
    ),
);

/**
 * gru_rb_fwd2(B, u4, xp, bi, rech, h, gates, aux, rh, mask, mstride): rech = rh·U_h (B × u);
 * hh = tanh(xp_h + b_h + rech) into gates; aux = rh (for dU_h); h updated on live rows with z from gates.
 */
const gruRbFwd2 = fn(
  "gru_rb_fwd2",
  ["B", "u4", "xp", "bi", "rech", "h", "gates", "aux", "rh", "mask", "mstride"],
  ["b", "j"],
  ["z", "hh", "x2", "p", "hv", "keep"],
  (L) =>
    rows(
      L,
      keepOf(L),
      vec(
        set(L.hh, fadd(fadd(vload(at(L.xp, L, 2)), vload(at(L.bi, L, 2))), vload(at(L.rech, L)))),
        tanhTo(L.hh, L.hh, L.x2, L.p),
        vstore(at(L.gates, L, 2), get(L.hh)),
        vstore(at(L.aux, L), vload(at(L.rh, L))),
        set(L.z, vload(at(L.gates, L))),
        set(L.hv, vload(at(L.h, L))),
        vstore(at(L.h, L), keepOr(L, get(L.hv), fadd(get(L.hh), fmul(get(L.z), fsub(get(L.hv), get(L.hh)))))),
      ),
      vec(
        inc(L.xp, mul(get(L.u4), i32(3))),
        inc(L.rech, get(L.u4)),
        inc(L.h, get(L.u4)),
        inc(L.gates, mul(get(L.u4), i32(3))),
        inc(L.aux, get(L.u4)),
        inc(L.rh, get(L.u4)),
      ),
    ),
);

/**
 * gru_rb_bwd1(B, u4, dh, dhrec, dy, dystride, gates, hprev, dxp, dxpstride, dr, dhh) [+ mask params:
 * gru_rb_bwd1_m]: g = dh + dhrec + dy; dh ← g·z; dxp gets dz and dhh (the r block is left to
 * gru_rb_bwd2), dr (B × 2u: dz, dr) gets dz, dhh (B × u) gets dhh. Masked rows: zeros in dxp, dr, dhh.
 */
const gruRbBwd1Fn = (masked: boolean): Fn =>
  fn(
    masked ? "gru_rb_bwd1_m" : "gru_rb_bwd1",
    [
      "B",
      "u4",
      "dh",
      "dhrec",
      "dy",
      "dystride",
      "gates",
      "hprev",
      "dxp",
      "dxpstride",
      "dr",
      "dhhp",
      ...(masked ? MASK_PARAMS : []),
    ],
    ["b", "j"],
    ["g", "z", "hh", "dz", "dhh", "t"],
    (L) => {
      const live = vec(
        gradIn(L, true, masked),
        set(L.z, vload(at(L.gates, L))),
        set(L.hh, vload(at(L.gates, L, 2))),
        set(L.t, fsub(splat(1), get(L.z))),
        set(L.dhh, fmul(fmul(get(L.g), get(L.t)), fsub(splat(1), fmul(get(L.hh), get(L.hh))))),
        set(L.dz, fmul(fmul(get(L.g), fsub(vload(at(L.hprev, L)), get(L.hh))), fmul(get(L.z), get(L.t)))),
        vstore(at(L.dh, L), fmul(get(L.g), get(L.z))),
        vstore(at(L.dxp, L), get(L.dz)),
        vstore(at(L.dxp, L, 2), get(L.dhh)),
        vstore(at(L.dr, L), get(L.dz)),
        vstore(at(L.dhhp, L), get(L.dhh)),
      );
      const end = vec(
        inc(L.dh, get(L.u4)),
        inc(L.dhrec, get(L.u4)),
        inc(L.dy, get(L.dystride)),
        inc(L.gates, mul(get(L.u4), i32(3))),
        inc(L.hprev, get(L.u4)),
        inc(L.dxp, get(L.dxpstride)),
        inc(L.dr, mul(get(L.u4), i32(2))),
        inc(L.dhhp, get(L.u4)),
      );
      return masked
        ? rowsMasked(
            L,
            vec(maskedRow(L, 3, 2), vstore(at(L.dhhp, L), splat(0))),
            live,
            vec(end, maskedRowEnd(L, false)),
          )
        : rows(L, [], live, end);
    },
  );
const gruRbBwd1 = gruRbBwd1Fn(false),
  gruRbBwd1M = gruRbBwd1Fn(true);

/**
 * gru_rb_bwd2(B, u4, dh, drh, gates, hprev, dxp, dxpstride, dr): drh = dhh·U_hᵀ (B × u), the gradient
 * w.r.t. r*h_{t-1}: drr = drh·h_{t-1}·r(1 − r) into dxp's and dr's r blocks; dh += drh·r. No mask:
 * a masked row's dhh is zero, so is its drh.
 */
const gruRbBwd2 = fn(
  "gru_rb_bwd2",
  ["B", "u4", "dh", "drh", "gates", "hprev", "dxp", "dxpstride", "dr"],
  ["b", "j"],
  ["q", "r", "d"],
  (L) =>
    rows(
      L,
      [],
      vec(
        set(L.q, vload(at(L.drh, L))),
        set(L.r, vload(at(L.gates, L, 1))),
        set(L.d, fmul(fmul(get(L.q), vload(at(L.hprev, L))), fmul(get(L.r), fsub(splat(1), get(L.r))))),
        vstore(at(L.dxp, L, 1), get(L.d)),
        vstore(at(L.dr, L, 1), get(L.d)),
        vstore(at(L.dh, L), fadd(vload(at(L.dh, L)), fmul(get(L.q), get(L.r)))),
      ),
      vec(
        inc(L.dh, get(L.u4)),
        inc(L.drh, get(L.u4)),
        inc(L.gates, mul(get(L.u4), i32(3))),
        inc(L.hprev, get(L.u4)),
        inc(L.dxp, get(L.dxpstride)),
        inc(L.dr, mul(get(L.u4), i32(2))),
      ),
    ),
);

/** i8x16.shuffle of two f32x4 by 32-bit lanes (0–3 from a, 4–7 from b). */
const shuffle32 = (a: Code, b: Code, lanes: number[]): Code => [
  ...a,
  ...b,
  ...simd(0x0d),
  ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]),
];
const f32load = (addr: Code): Code => [...addr, 0x2a, 2, 0];
const f32store = (addr: Code, v: Code): Code => [...addr, ...v, 0x38, 2, 0];

/**
 * transpose(src, rows, cols, dst): dst (cols × rows) = srcᵀ, src (rows × cols) row-major; cols a
 * multiple of 4. 4×4 blocks by shuffles; the last rows % 4 rows one element at a time.
 */
const transpose = fn(
  "transpose",
  ["src", "rows", "cols", "dst"],
  ["r", "c", "rs4", "cs4", "p", "q", "rows4", "c0", "cend"],
  ["a", "b", "cc", "d", "t0", "t1", "t2", "t3"],
  (L) => {
    // p = src + (r·cols + c)·4; q = dst + (c·rows + r)·4
    const srcRow = (i: number): Code => vload(add(get(L.p), mul(get(L.cs4), i32(i))));
    const dstRow = (i: number, v: Code): Code => vstore(add(get(L.q), mul(get(L.rs4), i32(i))), v);
    return vec(
      set(L.rs4, mul(get(L.rows), i32(4))),
      set(L.cs4, mul(get(L.cols), i32(4))),
      set(L.rows4, [...get(L.rows), ...i32(-4), 0x71]), // rows & ~3
      // column panels of 16 (one cache line of a source row), rows 4 at a time, 4×4 blocks across the panel:
      // the source is read line by line and every destination row is written sequentially
      set(L.c0, i32(0)),
      loopWhileNot(
        geU(get(L.c0), get(L.cols)),
        vec(
          set(L.cend, add(get(L.c0), i32(16))),
          set(L.cend, select(get(L.cend), get(L.cols), [...get(L.cend), ...get(L.cols), 0x4d])), // min (le_u)
          set(L.r, i32(0)),
          loopWhileNot(
            geU(get(L.r), get(L.rows4)),
            vec(
              set(L.c, get(L.c0)),
              loopWhileNot(
                geU(get(L.c), get(L.cend)),
                vec(
                  set(L.p, add(get(L.src), mul(add(mul(get(L.r), get(L.cols)), get(L.c)), i32(4)))),
                  set(L.q, add(get(L.dst), mul(add(mul(get(L.c), get(L.rows)), get(L.r)), i32(4)))),
                  set(L.a, srcRow(0)),
                  set(L.b, srcRow(1)),
                  set(L.cc, srcRow(2)),
                  set(L.d, srcRow(3)),
                  set(L.t0, shuffle32(get(L.a), get(L.b), [0, 4, 1, 5])),
                  set(L.t1, shuffle32(get(L.a), get(L.b), [2, 6, 3, 7])),
                  set(L.t2, shuffle32(get(L.cc), get(L.d), [0, 4, 1, 5])),
                  set(L.t3, shuffle32(get(L.cc), get(L.d), [2, 6, 3, 7])),
                  dstRow(0, shuffle32(get(L.t0), get(L.t2), [0, 1, 4, 5])),
                  dstRow(1, shuffle32(get(L.t0), get(L.t2), [2, 3, 6, 7])),
                  dstRow(2, shuffle32(get(L.t1), get(L.t3), [0, 1, 4, 5])),
                  dstRow(3, shuffle32(get(L.t1), get(L.t3), [2, 3, 6, 7])),
                  inc(L.c, i32(4)),
                ),
              ),
              inc(L.r, i32(4)),
            ),
          ),
          inc(L.c0, i32(16)),
        ),
      ),
      set(L.r, get(L.rows4)),
      // leftover rows
      loopWhileNot(
        geU(get(L.r), get(L.rows)),
        vec(
          set(L.c, i32(0)),
          loopWhileNot(
            geU(get(L.c), get(L.cols)),
            vec(
              f32store(
                add(get(L.dst), mul(add(mul(get(L.c), get(L.rows)), get(L.r)), i32(4))),
                f32load(add(get(L.src), mul(add(mul(get(L.r), get(L.cols)), get(L.c)), i32(4)))),
              ),
              inc(L.c, i32(1)),
            ),
          ),
          inc(L.r, i32(1)),
        ),
      ),
    );
  },
);

/**
 * copy_rows(src, srcstride, dst, dststride, nbytes, n): n rows of nbytes each, from src (row stride
 * srcstride bytes, 0 repeats one row) to dst (stride dststride), by memory.copy (bulk memory).
 */
const copyRows = fn("copy_rows", ["src", "ss", "dst", "ds", "nb", "n"], ["r"], [], (L) =>
  vec(
    set(L.r, i32(0)),
    loopWhileNot(
      geU(get(L.r), get(L.n)),
      vec(
        [...get(L.dst), ...get(L.src), ...get(L.nb), 0xfc, 0x0a, 0x00, 0x00],
        inc(L.src, get(L.ss)),
        inc(L.dst, get(L.ds)),
        inc(L.r, i32(1)),
      ),
    ),
  ),
);

/** colsum(src, rows, rowbytes, dst): dst (rowbytes/4 floats) = the sum of src's rows; rowbytes a multiple of 16. */
const colsum = fn("colsum", ["src", "rows", "rb", "dst"], ["r", "j"], [], (L) =>
  vec(
    set(L.j, i32(0)),
    loopWhileNot(geU(get(L.j), get(L.rb)), vec(vstore(add(get(L.dst), get(L.j)), splat(0)), inc(L.j, i32(16)))),
    set(L.r, i32(0)),
    loopWhileNot(
      geU(get(L.r), get(L.rows)),
      vec(
        set(L.j, i32(0)),
        loopWhileNot(
          geU(get(L.j), get(L.rb)),
          vec(
            vstore(add(get(L.dst), get(L.j)), fadd(vload(add(get(L.dst), get(L.j))), vload(add(get(L.src), get(L.j))))),
            inc(L.j, i32(16)),
          ),
        ),
        inc(L.src, get(L.rb)),
        inc(L.r, i32(1)),
      ),
    ),
  ),
);

/** The module's bytes (exported for tests). */
export const SIMD_MODULE_BYTES: Uint8Array = moduleBytes([
  gruFwd,
  lstmFwd,
  rnnFwd,
  gruBwd,
  lstmBwd,
  rnnBwd,
  gruBwdM,
  lstmBwdM,
  rnnBwdM,
  gruRbFwd1,
  gruRbFwd2,
  gruRbBwd1,
  gruRbBwd1M,
  gruRbBwd2,
  transpose,
  copyRows,
  colsum,
]);

export interface SimdKernels {
  gru_fwd(
    B: number,
    u4: number,
    xp: number,
    rec: number,
    bi: number,
    br: number,
    h: number,
    gates: number,
    aux: number,
    mask: number,
    mstride: number,
  ): void;
  lstm_fwd(
    B: number,
    u4: number,
    xp: number,
    rec: number,
    bi: number,
    h: number,
    c: number,
    gates: number,
    aux: number,
    mask: number,
    mstride: number,
  ): void;
  rnn_fwd(
    B: number,
    u4: number,
    xp: number,
    rec: number,
    bi: number,
    h: number,
    gates: number,
    mask: number,
    mstride: number,
  ): void;
  gru_bwd(
    B: number,
    u4: number,
    dh: number,
    dhrec: number,
    dy: number,
    dystride: number,
    gates: number,
    hprev: number,
    aux: number,
    dxp: number,
    dxpstride: number,
    dr: number,
  ): void;
  lstm_bwd(
    B: number,
    u4: number,
    dhrec: number,
    dc: number,
    dy: number,
    dystride: number,
    gates: number,
    aux: number,
    dxp: number,
    dxpstride: number,
    dr: number,
  ): void;
  rnn_bwd(
    B: number,
    u4: number,
    dhrec: number,
    dy: number,
    dystride: number,
    gates: number,
    dxp: number,
    dxpstride: number,
    dr: number,
  ): void;
  gru_bwd_m(
    B: number,
    u4: number,
    dh: number,
    dhrec: number,
    dy: number,
    dystride: number,
    gates: number,
    hprev: number,
    aux: number,
    dxp: number,
    dxpstride: number,
    dr: number,
    mask: number,
    mstride: number,
    dyc: number,
    dy2: number,
    dy2stride: number,
  ): void;
  lstm_bwd_m(
    B: number,
    u4: number,
    dhrec: number,
    dc: number,
    dy: number,
    dystride: number,
    gates: number,
    aux: number,
    dxp: number,
    dxpstride: number,
    dr: number,
    mask: number,
    mstride: number,
    dyc: number,
    dy2: number,
    dy2stride: number,
    dh: number,
  ): void;
  rnn_bwd_m(
    B: number,
    u4: number,
    dhrec: number,
    dy: number,
    dystride: number,
    gates: number,
    dxp: number,
    dxpstride: number,
    dr: number,
    mask: number,
    mstride: number,
    dyc: number,
    dy2: number,
    dy2stride: number,
    dh: number,
  ): void;
  gru_rb_fwd1(B: number, u4: number, xp: number, rec: number, bi: number, h: number, gates: number, rh: number): void;
  gru_rb_fwd2(
    B: number,
    u4: number,
    xp: number,
    bi: number,
    rech: number,
    h: number,
    gates: number,
    aux: number,
    rh: number,
    mask: number,
    mstride: number,
  ): void;
  gru_rb_bwd1(
    B: number,
    u4: number,
    dh: number,
    dhrec: number,
    dy: number,
    dystride: number,
    gates: number,
    hprev: number,
    dxp: number,
    dxpstride: number,
    dr: number,
    dhh: number,
  ): void;
  gru_rb_bwd1_m(
    B: number,
    u4: number,
    dh: number,
    dhrec: number,
    dy: number,
    dystride: number,
    gates: number,
    hprev: number,
    dxp: number,
    dxpstride: number,
    dr: number,
    dhh: number,
    mask: number,
    mstride: number,
    dyc: number,
    dy2: number,
    dy2stride: number,
  ): void;
  gru_rb_bwd2(
    B: number,
    u4: number,
    dh: number,
    drh: number,
    gates: number,
    hprev: number,
    dxp: number,
    dxpstride: number,
    dr: number,
  ): void;
  transpose(src: number, rows: number, cols: number, dst: number): void;
  copy_rows(src: number, srcstride: number, dst: number, dststride: number, nbytes: number, n: number): void;
  colsum(src: number, rows: number, rowbytes: number, dst: number): void;
}

/** The few WebAssembly JS-API members used here (the project's TypeScript lib has no WebAssembly types). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
}
/** A WebAssembly.Memory. */
export type WasmMemory = { readonly buffer: ArrayBuffer };
const WA = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: object | null | undefined;
let enabled = true;
const instances = new WeakMap<object, SimdKernels | null>();

/** Turns the SIMD kernels off (FALSE) or back on (for tests and benchmarks); returns the previous setting. */
export function setFusedSimd(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** Whether this runtime validates the SIMD module (wasm SIMD support). */
export function simdSupported(): boolean {
  if (compiled === undefined) {
    try {
      compiled = WA && WA.validate(SIMD_MODULE_BYTES) ? new WA.Module(SIMD_MODULE_BYTES) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled !== null;
}

/** The kernels bound to a wasm backend's memory (a WebAssembly.Memory), or NULL (no SIMD, switched off, memory not reachable). */
export function simdKernelsFor(memory: WasmMemory | undefined): SimdKernels | null {
  if (
    !enabled ||
    !memory ||
    !WA ||
    !(memory instanceof (WA as unknown as { Memory: new () => object }).Memory) ||
    !simdSupported()
  )
    return null;
  let k = instances.get(memory);
  if (k === undefined) {
    try {
      k = new WA.Instance(compiled!, { env: { memory } }).exports as SimdKernels;
    } catch {
      k = null; // e.g. a shared memory (threaded wasm build): this module imports an unshared one
    }
    instances.set(memory, k);
  }
  return k;
}
