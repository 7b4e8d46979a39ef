/**
 * The fused kernels' own matrix product, generated in WebAssembly SIMD like the step functions
 * (step_kernels.ts) and in the same module, so a whole sequence (products and gate arithmetic of every
 * step) is one call into one module, on any memory the kernels work in, in any thread.
 *
 *   gemm_nn(m, k, n, a, lda, b, ldb, bpanel, c, ldc, acc): C (m×n) [+]= A·B, A row-major (m×k)
 *   gemm_tn(...same...):                                    C (m×n) [+]= Aᵀ·B, A stored (k×m)
 *
 * Byte strides: lda between rows of the stored A, ldc between rows of C, ldb between the k rows of B
 * and bpanel between B's panels of 8 columns. B is read 8 columns at a time, never past a panel's 8th:
 * either row-major with n a multiple of 8 (ldb = 4n, bpanel = 32), or packed by `pack_b` into
 * zero-padded panels (ldb = 32, bpanel = 32k), which also transposes. acc ≠ 0 adds to C.
 *
 * The micro-kernel keeps a tile of MR rows × 8 columns of C in 2·MR f32x4 registers while it runs
 * along k: per k, two loads of B, MR splatted loads of A, 2·MR multiply-adds (fused where relaxed SIMD
 * is on: wasm.ts `relaxedSimd()`). x86-64 has 16 vector registers: MR = 4 leaves room for B, A and
 * addresses; 5 or 6 rows ran at half the speed (V8 spills).
 * Rows left over (m mod MR) take a 1-row tile; columns past n in the last panel are not stored.
 * A function may run k in blocks (`gemmFunction`'s kBlock: gemm_tn): a block's tile starts from the sums
 * the block before stored in C, so every element is the same chain of multiply-adds as in one pass.
 */
import {
  VECTOR,
  add,
  defineFunction,
  geU,
  get,
  i32,
  ifElse,
  inc,
  select,
  and,
  loopUntil,
  mul,
  set,
  sub,
  vec,
  type Code,
  uleb,
  importedFunction,
  type WasmFunction,
} from "./wasm.js";

/** Rows of the micro-kernel's tile. */
const MR = 4;

const memarg = (align: number, offset: number): Code => [align, ...uleb(offset)];
const vload = (addr: Code, offset = 0): Code => [...addr, 0xfd, 0x00, ...memarg(4, offset)];
const vstore = (addr: Code, v: Code, offset = 0): Code => [...addr, ...v, 0xfd, 0x0b, ...memarg(4, offset)];
const splatLoad = (addr: Code, offset = 0): Code => [...addr, 0xfd, 0x09, ...memarg(2, offset)];
const fload = (addr: Code, offset = 0): Code => [...addr, 0x2a, ...memarg(2, offset)];
const fstore = (addr: Code, v: Code, offset = 0): Code => [...addr, ...v, 0x38, ...memarg(2, offset)];
const lane = (v: Code, l: number): Code => [...v, 0xfd, 0x1f, l];
const fadd = (a: Code, b: Code): Code => [...a, ...b, 0x92];
const ltS = (a: Code, b: Code): Code => [...a, ...b, 0x48];
const shrU = (a: Code, b: Code): Code => [...a, ...b, 0x76];
const or = (a: Code, b: Code): Code => [...a, ...b, 0x72];
const ZERO = VECTOR.constant(0);

export const GEMM_PARAMS = ["m", "k", "n", "a", "lda", "b", "ldb", "bpanel", "c", "ldc", "acc"] as const;
export const PACK_PARAMS = ["src", "k", "n", "ld", "trans", "dst"] as const;

/**
 * The order the tiles are visited in (each C element's sum over k is the same either way: same bits).
 * "rows": every panel of B for one block of MR rows of A, then the next rows: B is read m/MR times
 * from wherever it lies, A's rows stay near. "panels": every block of rows for one panel of B (k × 8),
 * then the next panel: a panel is read from the cache m/MR times in a row, A is read once per panel.
 */
export type TileOrder = "rows" | "panels";

export function gemmFunction(transA: boolean, order: TileOrder = "rows", kBlock = 0, fname?: string): WasmFunction {
  return defineFunction(
    fname ?? (transA ? "gemm_tn" : "gemm_nn"),
    GEMM_PARAMS,
    [
      "i",
      "j",
      "p",
      "pa",
      "pb",
      "pc",
      "panel",
      "astep",
      "arow",
      "left",
      "k0",
      "kc",
      "ablk",
      "bblk",
      ...Array.from({ length: MR }, (_, r) => `lda${r}`),
    ],
    (L, valueLocal) => {
      const accs = Array.from({ length: MR }, () => [valueLocal(VECTOR), valueLocal(VECTOR)]);
      const b0 = valueLocal(VECTOR),
        b1 = valueLocal(VECTOR),
        av = valueLocal(VECTOR);
      // row r of the tile at step p: A(i + r, p)
      const aAt = (r: number): Code => {
        if (transA) return splatLoad(get(L.pa), 4 * r);
        return splatLoad(r === 0 ? get(L.pa) : add(get(L.pa), get(L[`lda${r}`])));
      };
      // the tile of C at rows i.., columns j.. (arow, panel and pc point at it): its sum over k, stored
      const tile = (rows: number): Code => {
        const cRow = (r: number): Code => (r === 0 ? get(L.pc) : add(get(L.pc), mul(get(L.ldc), i32(r))));
        const full = vec(
          ...Array.from({ length: rows }, (_, r) =>
            vec(
              ...[0, 1].map((h) =>
                ifElse(
                  get(L.acc),
                  vstore(cRow(r), VECTOR.add(vload(cRow(r), 16 * h), get(accs[r][h])), 16 * h),
                  vstore(cRow(r), get(accs[r][h]), 16 * h),
                ),
              ),
            ),
          ),
        );
        // the last panel: columns j + l with l < left
        const partial = vec(
          ...Array.from({ length: rows }, (_, r) =>
            vec(
              ...Array.from({ length: 8 }, (_, l) => {
                const v = lane(get(accs[r][l >> 2]), l & 3);
                return ifElse(
                  ltS(i32(l), get(L.left)),
                  ifElse(get(L.acc), fstore(cRow(r), fadd(fload(cRow(r), 4 * l), v), 4 * l), fstore(cRow(r), v, 4 * l)),
                  [],
                );
              }),
            ),
          ),
        );
        return vec(
          ifElse(
            get(L.k0),
            vec(...accs.slice(0, rows).flatMap(([x, y], r) => [set(x, vload(cRow(r))), set(y, vload(cRow(r), 16))])),
            vec(...accs.slice(0, rows).flatMap(([x, y]) => [set(x, ZERO), set(y, ZERO)])),
          ),
          set(L.pa, get(L.arow)),
          set(L.pb, get(L.panel)),
          set(L.p, i32(0)),
          loopUntil(
            geU(get(L.p), get(L.kc)),
            vec(
              set(b0, vload(get(L.pb))),
              set(b1, vload(get(L.pb), 16)),
              ...Array.from({ length: rows }, (_, r) =>
                vec(
                  set(av, aAt(r)),
                  set(accs[r][0], VECTOR.madd(get(av), get(b0), get(accs[r][0]))),
                  set(accs[r][1], VECTOR.madd(get(av), get(b1), get(accs[r][1]))),
                ),
              ),
              inc(L.pb, get(L.ldb)),
              inc(L.pa, get(L.astep)),
              inc(L.p, i32(1)),
            ),
          ),
          set(L.left, sub(get(L.n), get(L.j))),
          ifElse(ltS(get(L.left), i32(8)), partial, full),
        );
      };
      // where rows i.. of A and of C start, and panel j.. of B
      const atRows = vec(
        set(L.arow, transA ? add(get(L.ablk), mul(get(L.i), i32(4))) : add(get(L.ablk), mul(get(L.i), get(L.lda)))),
        set(L.pc, add(add(get(L.c), mul(get(L.i), get(L.ldc))), mul(get(L.j), i32(4)))),
      );
      const atPanel = set(L.panel, add(get(L.bblk), mul(shrU(get(L.j), i32(3)), get(L.bpanel))));
      const overRows = (body: (rows: number) => Code): Code =>
        vec(
          set(L.i, i32(0)),
          loopUntil(ltS(get(L.m), add(get(L.i), i32(MR))), vec(body(MR), inc(L.i, i32(MR)))),
          loopUntil(geU(get(L.i), get(L.m)), vec(body(1), inc(L.i, i32(1)))),
        );
      const overPanels = (body: Code): Code =>
        vec(set(L.j, i32(0)), loopUntil(geU(get(L.j), get(L.n)), vec(body, inc(L.j, i32(8)))));
      return vec(
        set(L.astep, transA ? get(L.lda) : i32(4)),
        ...Array.from({ length: MR }, (_, r) => set(L[`lda${r}`], mul(get(L.lda), i32(r)))),
        // k in blocks of kBlock steps (a block continues the sums the one before stored in C: same bits),
        // only where C holds nothing to add to and every panel is whole; else one block of k
        set(L.kc, kBlock ? select(get(L.k), i32(kBlock), or(get(L.acc), and(get(L.n), i32(7)))) : get(L.k)),
        set(L.k0, i32(0)),
        // k = 0 still runs once (C = 0 unless acc)
        loopUntil(
          geU(get(L.k0), select(get(L.k), i32(1), get(L.k))),
          vec(
            ifElse(ltS(sub(get(L.k), get(L.k0)), get(L.kc)), set(L.kc, sub(get(L.k), get(L.k0))), []),
            set(L.ablk, add(get(L.a), mul(get(L.k0), transA ? get(L.lda) : i32(4)))),
            set(L.bblk, add(get(L.b), mul(get(L.k0), get(L.ldb)))),
            order === "rows"
              ? overRows((rows) => overPanels(vec(atPanel, atRows, tile(rows))))
              : overPanels(
                  vec(
                    atPanel,
                    overRows((rows) => vec(atRows, tile(rows))),
                  ),
                ),
            inc(L.k0, select(get(L.kc), i32(1), get(L.kc))),
          ),
        ),
      );
    },
  );
}

/**
 * pack_b(src, k, n, ld, trans, dst): B (k×n) into panels of 8 columns, zero-padded (dst holds
 * ceil(n/8)·8·k floats): B(p, j) = src[p·ld + j] (trans = 0) or src[j·ld + p] (trans = 1), ld in floats.
 */
const packB = defineFunction("pack_b", PACK_PARAMS, ["j0", "p", "l", "col", "q"], (L) => {
  const element = add(
    get(L.src),
    mul(
      ifElseI32(get(L.trans), add(mul(get(L.col), get(L.ld)), get(L.p)), add(mul(get(L.p), get(L.ld)), get(L.col))),
      i32(4),
    ),
  );
  // col < n ? B(p, col) : 0
  const value = [...ltS(get(L.col), get(L.n)), 0x04, 0x7d, ...fload(element), 0x05, 0x43, 0, 0, 0, 0, 0x0b];
  return vec(
    set(L.q, get(L.dst)),
    set(L.j0, i32(0)),
    loopUntil(
      geU(get(L.j0), get(L.n)),
      vec(
        set(L.p, i32(0)),
        loopUntil(
          geU(get(L.p), get(L.k)),
          vec(
            set(L.l, i32(0)),
            loopUntil(
              geU(get(L.l), i32(8)),
              vec(set(L.col, add(get(L.j0), get(L.l))), fstore(get(L.q), value), inc(L.q, i32(4)), inc(L.l, i32(1))),
            ),
            inc(L.p, i32(1)),
          ),
        ),
        inc(L.j0, i32(8)),
      ),
    ),
  );
});

/** if (cond) a else b, as an i32 value. */
function ifElseI32(cond: Code, a: Code, b: Code): Code {
  return [...cond, 0x04, 0x7f, ...a, 0x05, ...b, 0x0b];
}

/**
 * gemm_tn's block of k. Its products are the weight gradients, k = a chunk's rows × steps (800 for W1/W2):
 * one pass over k reads B (dR, dXP: 0.8 MB) from the level-2 cache for every 4 rows of A; blocks of 128
 * steps, panel by panel, keep the panel's strip of B and A's block in the level-1 cache. dU of LSTM(64)
 * (64 × 800 × 256) 640 → 520 µs (bench/gemm_order.ts).
 */
export const TN_K_BLOCK = 128;

const gemmFunctions: { wasm?: readonly WasmFunction[]; native?: readonly WasmFunction[] } = {};
/**
 * gemm_nn, gemm_tn and pack_b (generated on first use: after `relaxedSimd()` has been decided); with
 * `native`, gemm_nn and gemm_tn are imported from "native" (native.ts: the same bits, faster).
 */
export const GEMM_FUNCTIONS = (native = false): readonly WasmFunction[] =>
  native
    ? (gemmFunctions.native ??= [
        importedFunction("native", "gemm_nn", GEMM_PARAMS),
        importedFunction("native", "gemm_tn", GEMM_PARAMS),
        packB,
      ])
    : (gemmFunctions.wasm ??= [gemmFunction(false), gemmFunction(true, "panels", TN_K_BLOCK), packB]);
