/* Probe (bench/probes/lstm_step_native.ts): the LSTM forward step (tanh / sigmoid, no mask) in AVX2, the
   same operations as the WebAssembly step function lstm_fwd (wasm.ts's rational tanh, its constants copied
   here, sigmoid = 0.5·tanh(x/2) + 0.5, separate multiply and add). Not used by the package. */
#include <stdint.h>
#include <stddef.h>
#include <immintrin.h>
typedef struct napi_env__* napi_env; typedef struct napi_value__* napi_value; typedef struct napi_callback_info__* napi_callback_info;
typedef napi_value (*napi_callback)(napi_env, napi_callback_info);
int napi_get_cb_info(napi_env, napi_callback_info, size_t*, napi_value*, napi_value*, void**);
int napi_get_typedarray_info(napi_env, napi_value, int*, size_t*, void**, napi_value*, size_t*);
int napi_get_value_int32(napi_env, napi_value, int32_t*);
int napi_create_function(napi_env, const char*, size_t, napi_callback, void*, napi_value*);
int napi_set_named_property(napi_env, napi_value, const char*, napi_value);

#define S(x) _mm256_set1_ps((float)(x))
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 tanh8(__m256 x) {
  const __m256 c = _mm256_min_ps(_mm256_max_ps(x, S(-7.90531110763549805)), S(7.90531110763549805));
  const __m256 c2 = _mm256_mul_ps(c, c);
  __m256 p = S(-2.76076847742355e-16);
  p = _mm256_add_ps(_mm256_mul_ps(p, c2), S(2.00018790482477e-13));
  p = _mm256_add_ps(_mm256_mul_ps(p, c2), S(-8.60467152213735e-11));
  p = _mm256_add_ps(_mm256_mul_ps(p, c2), S(5.12229709037114e-8));
  p = _mm256_add_ps(_mm256_mul_ps(p, c2), S(1.48572235717979e-5));
  p = _mm256_add_ps(_mm256_mul_ps(p, c2), S(6.37261928875436e-4));
  p = _mm256_add_ps(_mm256_mul_ps(p, c2), S(4.89352455891786e-3));
  __m256 q = S(1.19825839466702e-6);
  q = _mm256_add_ps(_mm256_mul_ps(q, c2), S(1.18534705686654e-4));
  q = _mm256_add_ps(_mm256_mul_ps(q, c2), S(2.268434632439e-3));
  q = _mm256_add_ps(_mm256_mul_ps(q, c2), S(4.89352518554385e-3));
  return _mm256_div_ps(_mm256_mul_ps(p, c), q);
}
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 sig8(__m256 x) {
  return _mm256_add_ps(_mm256_mul_ps(tanh8(_mm256_mul_ps(x, S(0.5))), S(0.5)), S(0.5));
}
#define L(p) _mm256_loadu_ps((const float*)(p))
#define ST(p, v) _mm256_storeu_ps((float*)(p), v)
__attribute__((target("avx2,fma"))) static void step(uint8_t* m, int B, int u4, uint32_t xp, int xpstride, uint32_t bi, uint32_t rec, uint32_t c, uint32_t gates, uint32_t aux, uint32_t h) {
  for (int b = 0; b < B; b++) {
    const uint8_t *X = m + xp + (size_t)b * xpstride, *R = m + rec + (size_t)b * 4 * u4, *BI = m + bi;
    uint8_t *C = m + c + (size_t)b * u4, *G = m + gates + (size_t)b * 5 * u4, *A = m + aux + (size_t)b * u4, *H = m + h + (size_t)b * u4;
    for (int j = 0; j < u4; j += 32) {
#define PRE(k) _mm256_add_ps(_mm256_add_ps(L(X + k * u4 + j), L(BI + k * u4 + j)), L(R + k * u4 + j))
      const __m256 i = sig8(PRE(0)), f = sig8(PRE(1)), g = tanh8(PRE(2)), o = sig8(PRE(3));
      const __m256 cp = L(C + j);
      const __m256 cn = _mm256_add_ps(_mm256_mul_ps(f, cp), _mm256_mul_ps(i, g));
      const __m256 ac = tanh8(cn);
      ST(G + j, i); ST(G + u4 + j, f); ST(G + 2 * u4 + j, g); ST(G + 3 * u4 + j, o); ST(G + 4 * u4 + j, ac);
      ST(A + j, cp); ST(C + j, cn); ST(H + j, _mm256_mul_ps(o, ac));
    }
  }
}
static napi_value Step(napi_env env, napi_callback_info info) {
  size_t argc = 13; napi_value argv[13]; int32_t v[12]; void* data; int t; size_t len, off; napi_value ab;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_typedarray_info(env, argv[0], &t, &len, &data, &ab, &off);
  for (int q = 0; q < 12; q++) napi_get_value_int32(env, argv[q + 1], &v[q]);
  for (int r = 0; r < v[11]; r++) step((uint8_t*)data, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
  return NULL;
}
napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  napi_value f; napi_create_function(env, "step", (size_t)-1, Step, NULL, &f); napi_set_named_property(env, exports, "step", f); return exports;
}
