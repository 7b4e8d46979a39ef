/*
 * The fused kernels' matrix products in x86-64 AVX2 + FMA, loaded into Node as an addon when this machine
 * can build and run it (src/layers/recurrent/fused/native.ts compiles this file with the system's C
 * compiler on first use). The WebAssembly modules import these in place of their own gemm_nn / gemm_tn
 * (src/layers/recurrent/fused/gemm.ts documents the parameters); the results are the same bits:
 *
 *   C(i, j) = [C(i, j) +] s,  s = fma(A(i, k-1), B(k-1, j), ... fma(A(i, 0), B(0, j), 0))
 *
 * one fused multiply-add per k in order, from zero, C added after — the chain gemm.ts's tiles compute
 * with relaxed SIMD's fused multiply-add (the caller uses this file only when those are on). The tile
 * shape (8 rows × 32 columns with AVX-512, 6 × 16 with AVX2, 4 × 8 there) and the vector width do not
 * enter any element's chain. AVX-512 where the CPU has it (on this project's machine its 512-bit
 * multiply-adds run at twice the AVX2 rate: bench/ANALYSIS.md), else AVX2.
 *
 * The Node-API declarations are written out in node_api.h (the API is a stable C ABI), so building needs
 * a C compiler and nothing else: no Node headers, no node-gyp.
 */
#include "node_api.h"

/* 16: AVX-512 products; 8: AVX2 (chosen by `supported`; tests set either: `useLanes`) */
static int lanes = 8;

#if defined(__x86_64__)
#include <immintrin.h>

#define MR 6

/*
 * One tile: rows i .. i+R-1 of C, columns j .. j+8·P-1 (P = 1 or 2 panels of B), its sums along all of k,
 * stored (only the columns below n). Inlined with R and P constant; the accumulators are separate
 * variables, not an array, so that they stay in registers (an array of them spilled to the stack).
 */
#define ACC(r) __m256 s##r##0 = _mm256_setzero_ps(), s##r##1 = _mm256_setzero_ps()
#define ROWPTR(r) const uint8_t* a##r = arow + (R > r ? r : 0) * across
#define STEP(r)                                                 \
  if (R > r) {                                                  \
    const __m256 x = _mm256_broadcast_ss((const float*)a##r);   \
    s##r##0 = _mm256_fmadd_ps(x, v0, s##r##0);                  \
    if (P == 2) s##r##1 = _mm256_fmadd_ps(x, v1, s##r##1);      \
    a##r += astep;                                              \
  }
#define STORE(r)                                  \
  if (R > r) {                                    \
    store(mem, c, ldc, n, acc, i + r, j, s##r##0, 0); \
    if (P == 2) store(mem, c, ldc, n, acc, i + r, j, s##r##1, 1); \
  }

/* C(row, j + 8h ..), the columns below n: the sums, or C plus the sums */
__attribute__((target("avx2,fma"), always_inline)) static inline void store(uint8_t* mem, uint32_t c, int ldc, int n,
                                                                          int acc, int row, int j, __m256 v, int h) {
  float* crow = (float*)(mem + c + (size_t)row * ldc) + j + 8 * h;
  const int left = n - j - 8 * h;
  if (left >= 8) {
    _mm256_storeu_ps(crow, acc ? _mm256_add_ps(_mm256_loadu_ps(crow), v) : v);
  } else {
    float lanes[8];
    _mm256_storeu_ps(lanes, v);
    for (int l = 0; l < left; l++) crow[l] = acc ? crow[l] + lanes[l] : lanes[l];
  }
}

__attribute__((target("avx2,fma"), always_inline)) static inline void tile(
    const int R, const int P, uint8_t* mem, int transA, int k, int n, uint32_t a, int lda, const uint8_t* panel0,
    int ldb, int bpanel, uint32_t c, int ldc, int acc, int i, int j) {
  ACC(0); ACC(1); ACC(2); ACC(3); ACC(4); ACC(5);
  /* A(i + r, p): row-major (i + r)·lda + 4p, or stored transposed at p·lda + 4(i + r) */
  const uint8_t* arow = mem + a + (transA ? (size_t)4 * i : (size_t)i * lda);
  const size_t astep = transA ? (size_t)lda : 4, across = transA ? 4 : (size_t)lda;
  ROWPTR(0); ROWPTR(1); ROWPTR(2); ROWPTR(3); ROWPTR(4); ROWPTR(5);
  const uint8_t* b0 = panel0;
  const uint8_t* b1 = panel0 + bpanel;
  for (int p = 0; p < k; p++) {
    const __m256 v0 = _mm256_loadu_ps((const float*)b0);
    const __m256 v1 = P == 2 ? _mm256_loadu_ps((const float*)b1) : v0;
    STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5)
    b0 += ldb;
    b1 += ldb;
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
}

#define TILE(R, P) tile(R, P, mem, transA, k, n, a, lda, panel, ldb, bpanel, c, ldc, acc, i, j)

__attribute__((target("avx2,fma"))) static void gemm(uint8_t* mem, int transA, int m, int k, int n, uint32_t a,
                                                     int lda, uint32_t b, int ldb, int bpanel, uint32_t c, int ldc,
                                                     int acc) {
  for (int j = 0; j < n; j += 16) {
    const uint8_t* panel = mem + b + (size_t)(j >> 3) * bpanel;
    const int two = j + 8 < n;
    for (int i = 0; i < m; i += MR) {
      switch ((m - i < MR ? m - i : MR) * 2 + two) {
        case 13: TILE(6, 2); break;
        case 12: TILE(6, 1); break;
        case 11: TILE(5, 2); break;
        case 10: TILE(5, 1); break;
        case 9: TILE(4, 2); break;
        case 8: TILE(4, 1); break;
        case 7: TILE(3, 2); break;
        case 6: TILE(3, 1); break;
        case 5: TILE(2, 2); break;
        case 4: TILE(2, 1); break;
        case 3: TILE(1, 2); break;
        default: TILE(1, 1); break;
      }
    }
  }
}


/*
 * AVX-512: one tile is rows i .. i+R-1 of C, columns j .. j+8·NP-1 (NP = 1 to 4 panels of B), in one or
 * two 16-column vectors per row; a vector over a single panel (the last of an odd count) has its upper
 * half zero, never read from B. Accumulators in separate variables, as above.
 */
#define MR16 8
#define ACC16(r) __m512 t##r##0 = _mm512_setzero_ps(), t##r##1 = _mm512_setzero_ps()
#define STEP16(r)                                              \
  if (R > r) {                                                 \
    const __m512 x = _mm512_set1_ps(*(const float*)a##r);      \
    t##r##0 = _mm512_fmadd_ps(x, w0, t##r##0);                 \
    if (NP > 2) t##r##1 = _mm512_fmadd_ps(x, w1, t##r##1);     \
    a##r += astep;                                             \
  }
#define STORE16(r)                                                   \
  if (R > r) {                                                       \
    store16(mem, c, ldc, n, acc, i + r, j, t##r##0);                 \
    if (NP > 2) store16(mem, c, ldc, n, acc, i + r, j + 16, t##r##1); \
  }

/* 16 columns of B's row at panel pointer p: panels p and p + bpanel, or p alone (upper half zero) */
__attribute__((target("avx512f"), always_inline)) static inline __m512 panels16(const uint8_t* p, int bpanel,
                                                                             int both) {
  const __m512 lo = _mm512_zextps256_ps512(_mm256_loadu_ps((const float*)p));
  if (!both) return lo;
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(lo),
                                             _mm256_castps_pd(_mm256_loadu_ps((const float*)(p + bpanel))), 1));
}

/* C(row, j ..), the columns below n: the sums, or C plus the sums */
__attribute__((target("avx512f"), always_inline)) static inline void store16(uint8_t* mem, uint32_t c, int ldc, int n,
                                                                           int acc, int row, int j, __m512 v) {
  float* crow = (float*)(mem + c + (size_t)row * ldc) + j;
  const int left = n - j;
  const __mmask16 lanes = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
  _mm512_mask_storeu_ps(crow, lanes, acc ? _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, crow), v) : v);
}

__attribute__((target("avx512f"), always_inline)) static inline void tile16(
    const int R, const int NP, uint8_t* mem, int transA, int k, int n, uint32_t a, int lda, const uint8_t* panel0,
    int ldb, int bpanel, uint32_t c, int ldc, int acc, int i, int j) {
  ACC16(0); ACC16(1); ACC16(2); ACC16(3); ACC16(4); ACC16(5); ACC16(6); ACC16(7);
  const uint8_t* arow = mem + a + (transA ? (size_t)4 * i : (size_t)i * lda);
  const size_t astep = transA ? (size_t)lda : 4, across = transA ? 4 : (size_t)lda;
  ROWPTR(0); ROWPTR(1); ROWPTR(2); ROWPTR(3); ROWPTR(4); ROWPTR(5); ROWPTR(6); ROWPTR(7);
  const uint8_t* b0 = panel0;
  const uint8_t* b1 = panel0 + 2 * (size_t)bpanel;
  for (int p = 0; p < k; p++) {
    const __m512 w0 = panels16(b0, bpanel, NP > 1);
    const __m512 w1 = NP > 2 ? panels16(b1, bpanel, NP > 3) : w0;
    STEP16(0) STEP16(1) STEP16(2) STEP16(3) STEP16(4) STEP16(5) STEP16(6) STEP16(7)
    b0 += ldb;
    b1 += ldb;
  }
  STORE16(0) STORE16(1) STORE16(2) STORE16(3) STORE16(4) STORE16(5) STORE16(6) STORE16(7)
}

#define TILE16(R, NP) tile16(R, NP, mem, transA, k, n, a, lda, panel, ldb, bpanel, c, ldc, acc, i, j)
#define ROWS16(NP)             \
  switch (rows) {              \
    case 8: TILE16(8, NP); break; \
    case 7: TILE16(7, NP); break; \
    case 6: TILE16(6, NP); break; \
    case 5: TILE16(5, NP); break; \
    case 4: TILE16(4, NP); break; \
    case 3: TILE16(3, NP); break; \
    case 2: TILE16(2, NP); break; \
    default: TILE16(1, NP); break; \
  }

__attribute__((target("avx512f"))) static void gemm16(uint8_t* mem, int transA, int m, int k, int n, uint32_t a,
                                                      int lda, uint32_t b, int ldb, int bpanel, uint32_t c, int ldc,
                                                      int acc) {
  for (int j = 0; j < n; j += 32) {
    const uint8_t* panel = mem + b + (size_t)(j >> 3) * bpanel;
    const int left = (n - j + 7) >> 3; /* panels from j on */
    const int np = left < 4 ? left : 4;
    for (int i = 0; i < m; i += MR16) {
      const int rows = m - i < MR16 ? m - i : MR16;
      switch (np) {
        case 4: ROWS16(4); break;
        case 3: ROWS16(3); break;
        case 2: ROWS16(2); break;
        default: ROWS16(1); break;
      }
    }
  }
}

static int widest(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") ? 16 : 8;
}
static int supported(void) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
  lanes = widest();
  return 1;
}
static int use_lanes(int n) {
  if (n != 8 && n != widest()) return 0;
  lanes = n;
  return 1;
}
#else
static int supported(void) { return 0; }
static int widest(void) { return 8; }
static int use_lanes(int n) { return 0; }
static void gemm(uint8_t* mem, int transA, int m, int k, int n, uint32_t a, int lda, uint32_t b, int ldb, int bpanel,
                 uint32_t c, int ldc, int acc) {}
#endif

/*
 * Whether every byte the product reads or writes lies in the memory's `length` bytes (WebAssembly's own
 * products trap there; a native one would read or write past the memory). v: transA, then the 11
 * integers of `Gemm`.
 */
static int within(size_t length, const int32_t* v) {
  const int64_t transA = v[0], m = v[1], k = v[2], n = v[3], lda = v[5], ldb = v[7], bpanel = v[8], ldc = v[10];
  const int64_t a = (uint32_t)v[4], b = (uint32_t)v[6], c = (uint32_t)v[9];
  if (m < 0 || k < 0 || n < 0 || lda < 0 || ldb < 0 || bpanel < 0 || ldc < 0) return 0;
  if (m == 0 || n == 0) return 1;
  const int64_t panels = (n + 7) / 8;
  const int64_t aEnd = k == 0 ? 0 : transA ? a + (k - 1) * lda + 4 * m : a + (m - 1) * lda + 4 * k;
  const int64_t bEnd = k == 0 ? 0 : b + (panels - 1) * bpanel + (k - 1) * ldb + 32;
  const int64_t cEnd = c + (m - 1) * ldc + 4 * n;
  return aEnd <= (int64_t)length && bEnd <= (int64_t)length && cEnd <= (int64_t)length;
}

/*
 * gemm_nn / gemm_tn(memory: Uint8Array, m, k, n, a, lda, b, ldb, bpanel, c, ldc, acc): byte offsets into
 * memory; the function's data is transA (0: gemm_nn, 1: gemm_tn)
 */
static napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  int32_t v[12];
  void* transA = NULL;
  void* data = NULL;
  int type;
  size_t length, offset;
  napi_value buffer;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &transA) != 0 || argc != 12 ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, &buffer, &offset) != 0 || data == NULL) {
    napi_throw_error(env, NULL, "gemm(): expects a Uint8Array and 11 integers");
    return NULL;
  }
  v[0] = transA != NULL;
  for (int q = 1; q < 12; q++)
    if (napi_get_value_int32(env, argv[q], &v[q]) != 0) {
      napi_throw_error(env, NULL, "gemm(): expects a Uint8Array and 11 integers");
      return NULL;
    }
  if (!within(length, v)) {
    napi_throw_error(env, NULL, "gemm(): the product reaches outside the memory");
    return NULL;
  }
#if defined(__x86_64__)
  if (lanes == 16) {
    gemm16((uint8_t*)data, v[0], v[1], v[2], v[3], (uint32_t)v[4], v[5], (uint32_t)v[6], v[7], v[8], (uint32_t)v[9],
           v[10], v[11]);
    return NULL;
  }
#endif
  gemm((uint8_t*)data, v[0], v[1], v[2], v[3], (uint32_t)v[4], v[5], (uint32_t)v[6], v[7], v[8], (uint32_t)v[9],
       v[10], v[11]);
  return NULL;
}

static napi_value Supported(napi_env env, napi_callback_info info) {
  napi_value result;
  napi_get_boolean(env, supported(), &result);
  return result;
}

/* useLanes(16 | 8): the products' vector width from now on (tests); false where the CPU lacks it */
static napi_value UseLanes(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t n = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc != 1 ||
      napi_get_value_int32(env, argv[0], &n) != 0)
    n = 0;
  napi_get_boolean(env, use_lanes(n), &result);
  return result;
}

/* lanes(): the products' vector width (16: AVX-512, 8: AVX2); widest(): the CPU's widest of those */
static napi_value Lanes(napi_env env, napi_callback_info info) {
  napi_value result;
  napi_create_int32(env, lanes, &result);
  return result;
}
static napi_value Widest(napi_env env, napi_callback_info info) {
  napi_value result;
  napi_create_int32(env, widest(), &result);
  return result;
}

napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "gemm_nn", (size_t)-1, Gemm, NULL, &f);
  napi_set_named_property(env, exports, "gemm_nn", f);
  napi_create_function(env, "gemm_tn", (size_t)-1, Gemm, (void*)1, &f);
  napi_set_named_property(env, exports, "gemm_tn", f);
  napi_create_function(env, "supported", (size_t)-1, Supported, NULL, &f);
  napi_set_named_property(env, exports, "supported", f);
  napi_create_function(env, "useLanes", (size_t)-1, UseLanes, NULL, &f);
  napi_set_named_property(env, exports, "useLanes", f);
  napi_create_function(env, "lanes", (size_t)-1, Lanes, NULL, &f);
  napi_set_named_property(env, exports, "lanes", f);
  napi_create_function(env, "widest", (size_t)-1, Widest, NULL, &f);
  napi_set_named_property(env, exports, "widest", f);
  return exports;
}
