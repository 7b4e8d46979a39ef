/**
 * The one-step path's vector × matrix products in WebAssembly SIMD (f32x4), in a memory of its own: the
 * recurrent layers' x·W, h·U and (r·h)·U_h (one_step.ts). One small function, compiled on first use (no
 * step functions, no threads: the fused kernels' module would cost its generation on the first call).
 * A layer's weights are copied in when its call has other values than its previous one (one_step.ts
 * decides) or another layer's weights were copied in since.
 */
import {
  I32,
  SCALAR,
  V128,
  VECTOR,
  add,
  and,
  geU,
  get,
  i32,
  inc,
  loopUntil,
  memoryZero,
  moduleBytes,
  mul,
  ifElse,
  set,
  splat,
  vec,
  type Code,
} from "../../layers/recurrent/fused/wasm.js";
import { foldBias, type BiasLayout, type FusedCell } from "../../layers/recurrent/fused/cells/index.js";
import { WA, type WasmMemory } from "../../layers/recurrent/fused/step_kernels.js";
import { prebuiltWasm } from "../../ops/prebuilt_wasm.js";

/**
 * The module's bytes. matvec(x, w, stride, width, out, n) (byte addresses and sizes): out[0, width) =
 * Σ_i x[i]·w[i·stride .. + width) over i < n; width a multiple of 16 bytes. Four rows of w per pass over out.
 */
export function matvecModuleBytes(): Uint8Array {
  const [x, w, stride, width, out, n, i, k, row, x0, x1, x2, x3] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const xAt = (d: number) => splat(SCALAR.load(add(get(x), mul(add(get(i), i32(d)), i32(4)))));
  const wAt = (d: number) => VECTOR.load(add(add(get(row), mul(get(stride), i32(d))), get(k)));
  const outK = add(get(out), get(k));
  const body = vec(
    memoryZero(get(out), get(width)),
    set(i, i32(0)),
    loopUntil(
      geU(add(get(i), i32(3)), get(n)),
      vec(
        set(x0, xAt(0)),
        set(x1, xAt(1)),
        set(x2, xAt(2)),
        set(x3, xAt(3)),
        set(row, add(get(w), mul(get(i), get(stride)))),
        set(k, i32(0)),
        loopUntil(
          geU(get(k), get(width)),
          vec(
            VECTOR.store(
              outK,
              VECTOR.add(
                VECTOR.load(outK),
                VECTOR.add(
                  VECTOR.add(VECTOR.mul(get(x0), wAt(0)), VECTOR.mul(get(x1), wAt(1))),
                  VECTOR.add(VECTOR.mul(get(x2), wAt(2)), VECTOR.mul(get(x3), wAt(3))),
                ),
              ),
            ),
            inc(k, i32(16)),
          ),
        ),
        inc(i, i32(4)),
      ),
    ),
    loopUntil(
      geU(get(i), get(n)),
      vec(
        set(x0, xAt(0)),
        set(row, add(get(w), mul(get(i), get(stride)))),
        set(k, i32(0)),
        loopUntil(
          geU(get(k), get(width)),
          vec(VECTOR.store(outK, VECTOR.add(VECTOR.load(outK), VECTOR.mul(get(x0), wAt(0)))), inc(k, i32(16))),
        ),
        inc(i, i32(1)),
      ),
    ),
  );
  const fn = {
    name: "matvec",
    params: ["x", "w", "stride", "width", "out", "n"],
    locals: [I32, I32, I32, V128, V128, V128, V128],
    body,
  };
  return moduleBytes([fn, foldBiasFunction()]);
}

/**
 * fold_bias(bias, Gu, u, twoRows, separate, bi, br) (byte addresses; `separate` a bit per gate): cells/
 * types.ts `foldBias` in float64 on float32 `bias`, the same arithmetic (so the same bits): bi = the input
 * bias, plus the recurrent bias (bias[Gu..2·Gu)) of the gates not in `separate` when there are two rows;
 * br = the recurrent bias of the `separate` gates, zero elsewhere. In WebAssembly because the JavaScript
 * loops ran unoptimized for the first few hundred calls of a process (≈ 5 µs a call there).
 */
function foldBiasFunction() {
  const [bias, Gu, u, twoRows, separate, bi, br, j] = [0, 1, 2, 3, 4, 5, 6, 7];
  const inputBias = [...add(get(bias), mul(get(j), i32(4))), 0x2a, 2, 0, 0xbb]; // f32.load, f64.promote_f32
  const recurrentBias = [...add(get(bias), mul(add(get(Gu), get(j)), i32(4))), 0x2a, 2, 0, 0xbb];
  const store = (at: number, v: Code): Code => [...add(get(at), mul(get(j), i32(8))), ...v, 0x39, 3, 0];
  const zero: Code = [0x44, 0, 0, 0, 0, 0, 0, 0, 0];
  const gateIsSeparate = and([...get(separate), ...get(j), ...get(u), 0x6e, 0x76], i32(1)); // separate >> (j / u) & 1
  const body = loopUntil(
    geU(get(j), get(Gu)),
    vec(
      ifElse(
        get(twoRows),
        ifElse(
          gateIsSeparate,
          vec(store(bi, inputBias), store(br, recurrentBias)),
          vec(store(bi, [...inputBias, ...recurrentBias, 0xa0]), store(br, zero)),
        ),
        vec(store(bi, inputBias), store(br, zero)),
      ),
      inc(j, i32(1)),
    ),
  );
  return { name: "fold_bias", params: ["bias", "Gu", "u", "twoRows", "separate", "bi", "br"], locals: [I32], body };
}

/**
 * The products of one recurrent layer, made once per layer: `load` takes a call's weights (before the
 * call's first product), then one product per step and row.
 */
export interface RecurrentProducts {
  /** Whether the memory still holds the W and U of this layer's last `load` (no other layer's since). */
  holds(): boolean;
  /** This call's W (F, G·u) and U (u, G·u), copied in. */
  load(W: Float32Array, U: Float32Array): void;
  /** cells/types.ts `foldBias(cell, layout, bias, u, bi, br)` of this layer's cell (the same bits). */
  foldBias(layout: BiasLayout, bias: Float32Array | null, bi: Float64Array, br: Float64Array): void;
  /** out = x[offset, offset + F) · W (all G·u columns). */
  input(x: Float64Array, offset: number, out: Float64Array): void;
  /** out = h · U, the first `recurrentColumns` columns. */
  recurrent(h: Float64Array, out: Float64Array): void;
  /** out = rh · U's columns after the first `recurrentColumns` (GRU reset_before's (r·h)·U_h). */
  reset(rh: Float64Array, out: Float64Array): void;
}

let recurrentProducts = 0;
/** How many h·U products (one per step and row) of the one-step path ran here (in this process). */
export const simdProductCalls = (): number => recurrentProducts;

let weightCopies = 0;
/** How many times a layer's weights were copied into the memory (`load`). */
export const simdWeightCopies = (): number => weightCopies;

let module: object | null | undefined;
let memory: WasmMemory | undefined;
let matvec: ((x: number, w: number, stride: number, width: number, out: number, n: number) => void) | undefined;
let foldBiasIn: ((...addressesAndSizes: number[]) => void) | undefined;
/** The products whose layer's weights the memory holds (null: none, or a new memory). */
let resident: RecurrentProducts | null = null;

/** Floats, rounded up to whole 16-byte blocks. */
const blocks = (floats: number) => Math.ceil(floats / 4) * 4;

/**
 * The products of a layer of `cell` with F inputs and u units: G·u = `columns` gate columns, the first
 * `recurrentColumns` (the cell's recurrent gates) in h·U; null when WebAssembly SIMD cannot run them here
 * (no WebAssembly, or u not a multiple of 4: the column blocks must be whole vectors). Every layer uses the
 * same memory from address 0: `load` copies the layer's weights in, so layers run one after the other.
 */
export function simdProducts(cell: FusedCell, F: number, u: number): RecurrentProducts | null {
  if (u % 4 !== 0 || !WA) return null;
  if (module === undefined) {
    try {
      module = new WA!.Module(prebuiltWasm("matvec"));
    } catch {
      module = null; // no SIMD in this runtime
    }
  }
  if (!module) return null;
  const columns = cell.gates * u;
  const recurrentColumns = cell.recurrentGates * u;
  const separate = cell.separateRecurrentBias.reduce((mask, k) => mask | (1 << k), 0);
  // layout (floats): x, h (also r·h), W, U, the outputs, the bias (two rows); then bi, br in float64
  const [xAt, hAt] = [0, blocks(F)];
  const wAt = hAt + blocks(u);
  const uAt = wAt + F * columns;
  const outAt = uAt + u * columns;
  const biasAt = outAt + columns;
  const biAt = Math.ceil((biasAt + 2 * columns) / 2); // in float64s
  const brAt = biAt + columns;
  const bytes = (brAt + columns) * 8;
  let f32 = new Float32Array(0);
  let f64 = new Float64Array(0);
  // the products' results as views (made when the memory is), copied out by the builtin set: a loop
  // here ran unoptimized for the first few hundred calls of a process
  let [allColumns, recurrentPart, resetPart] = [f32, f32, f32];
  const products: RecurrentProducts = {
    holds: () => resident === products,
    load(W, U) {
      if (!memory || memory.buffer.byteLength < bytes) {
        memory = new WA!.Memory({ initial: Math.ceil(bytes / 65536) });
        const { exports } = new WA!.Instance(module!, { env: { memory } });
        matvec = exports.matvec as typeof matvec;
        foldBiasIn = exports.fold_bias as typeof foldBiasIn;
        resident = null;
      }
      if (f32.buffer !== memory.buffer) {
        f32 = new Float32Array(memory.buffer, 0, biasAt + 2 * columns);
        f64 = new Float64Array(memory.buffer, 0, brAt + columns);
        allColumns = f32.subarray(outAt, outAt + columns);
        recurrentPart = f32.subarray(outAt, outAt + recurrentColumns);
        resetPart = f32.subarray(outAt, outAt + columns - recurrentColumns);
      }
      f32.set(W, wAt);
      f32.set(U, uAt);
      resident = products;
      weightCopies++;
    },
    foldBias(layout, bias, bi, br) {
      if (!bias || layout === "none") return foldBias(cell, layout, null, u, bi, br);
      f32.set(bias, biasAt);
      foldBiasIn!(biasAt * 4, columns, u, layout === "input+recurrent" ? 1 : 0, separate, biAt * 8, brAt * 8);
      bi.set(f64.subarray(biAt, biAt + columns));
      br.set(f64.subarray(brAt, brAt + columns));
    },
    input(x, offset, out) {
      for (let i = 0; i < F; i++) f32[xAt + i] = x[offset + i];
      matvec!(xAt * 4, wAt * 4, columns * 4, columns * 4, outAt * 4, F);
      out.set(allColumns);
    },
    recurrent(h, out) {
      recurrentProducts++;
      f32.set(h, hAt);
      matvec!(hAt * 4, uAt * 4, columns * 4, recurrentColumns * 4, outAt * 4, u);
      out.set(recurrentPart);
    },
    reset(rh, out) {
      for (let i = 0; i < u; i++) f32[hAt + i] = rh[i];
      matvec!(hAt * 4, (uAt + recurrentColumns) * 4, columns * 4, (columns - recurrentColumns) * 4, outAt * 4, u);
      out.set(resetPart);
    },
  };
  return products;
}
