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
 * shape (6 rows × 16 columns here, 4 × 8 there) does not enter any element's chain.
 *
 * The Node-API declarations are written out in node_api.h (the API is a stable C ABI), so building needs
 * a C compiler and nothing else: no Node headers, no node-gyp.
 */
#include "node_api.h"

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

static int supported(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
static int supported(void) { return 0; }
static void gemm(uint8_t* mem, int transA, int m, int k, int n, uint32_t a, int lda, uint32_t b, int ldb, int bpanel,
                 uint32_t c, int ldc, int acc) {}
#endif

/*
 * Whether every byte the product reads or writes lies in the memory's `length` bytes (WebAssembly's own
 * products trap there; a native one would read or write past the memory). v: the 12 integers of `Gemm`.
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

/* gemm(memory: Uint8Array, transA, m, k, n, a, lda, b, ldb, bpanel, c, ldc, acc): byte offsets into memory */
static napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  int32_t v[12];
  void* data = NULL;
  int type;
  size_t length, offset;
  napi_value buffer;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc != 13 ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, &buffer, &offset) != 0 || data == NULL) {
    napi_throw_error(env, NULL, "gemm(): expects a Uint8Array and 12 integers");
    return NULL;
  }
  for (int q = 0; q < 12; q++)
    if (napi_get_value_int32(env, argv[q + 1], &v[q]) != 0) {
      napi_throw_error(env, NULL, "gemm(): expects a Uint8Array and 12 integers");
      return NULL;
    }
  if (!within(length, v)) {
    napi_throw_error(env, NULL, "gemm(): the product reaches outside the memory");
    return NULL;
  }
  gemm((uint8_t*)data, v[0], v[1], v[2], v[3], (uint32_t)v[4], v[5], (uint32_t)v[6], v[7], v[8], (uint32_t)v[9],
       v[10], v[11]);
  return NULL;
}

static napi_value Supported(napi_env env, napi_callback_info info) {
  napi_value result;
  napi_get_boolean(env, supported(), &result);
  return result;
}

napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "gemm", (size_t)-1, Gemm, NULL, &f);
  napi_set_named_property(env, exports, "gemm", f);
  napi_create_function(env, "supported", (size_t)-1, Supported, NULL, &f);
  napi_set_named_property(env, exports, "supported", f);
  return exports;
}
