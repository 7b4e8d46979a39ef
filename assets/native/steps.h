/*
 * What the native step functions share (src/layers/recurrent/fused/native_steps.ts generates one C file
 * per cell and activations that includes this): WebAssembly's float semantics in AVX2, the unit loop's
 * loads and stores, the bounds check, and the Node-API entry that calls a step function.
 *
 * A step function is `int f(uint8_t* memory, uint64_t length, const int32_t* args)`: its arguments are
 * the WebAssembly step function's i32 parameters in order (byte offsets into the memory, strides in
 * bytes); it returns nonzero, having touched nothing, when an argument would reach outside the memory.
 */
#include "node_api.h"
#include <immintrin.h>

#define STEP_FN __attribute__((target("avx2,fma")))
#define LANE_FN __attribute__((target("avx2,fma"), always_inline)) static inline

/* A float32 constant by its bits (the value WebAssembly's f32 constant holds). */
#define K(bits) _mm256_castsi256_ps(_mm256_set1_epi32((int32_t)(bits)))

/* The unit loop's loads and stores: 8 units, or the `tail` lanes of the last group (masked). */
#define LD8(p) _mm256_loadu_ps((const float*)(p))
#define ST8(p, v) _mm256_storeu_ps((float*)(p), v)
#define LDT(p) _mm256_maskload_ps((const float*)(p), tail)
#define STT(p, v) _mm256_maskstore_ps((float*)(p), tail, v)

/* The first n of 8 lanes. */
LANE_FN __m256i tail_lanes(int32_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/*
 * WebAssembly's f32x4.min / max: NaN when either operand is NaN, and −0 < +0. x86's minps / maxps return
 * their second operand in both cases, so each is taken both ways: for ±0 the OR (min) / AND (max) of the
 * two picks the right zero; an unordered pair gets a NaN (a + b). With a constant that is neither zero
 * nor NaN, the generated code calls minps / maxps with the other operand second instead (native_steps.ts).
 */
LANE_FN __m256 wasm_min(__m256 a, __m256 b) {
  const __m256 r = _mm256_or_ps(_mm256_min_ps(a, b), _mm256_min_ps(b, a));
  return _mm256_blendv_ps(r, _mm256_add_ps(a, b), _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
}
LANE_FN __m256 wasm_max(__m256 a, __m256 b) {
  const __m256 r = _mm256_and_ps(_mm256_max_ps(a, b), _mm256_max_ps(b, a));
  return _mm256_blendv_ps(r, _mm256_add_ps(a, b), _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
}

/*
 * Whether B rows of `width` bytes, starting at byte `base` and `stride` bytes apart, lie in the memory's
 * `length` bytes (WebAssembly's step functions trap outside; a native one would read or write there).
 */
static inline int rows_within(uint64_t length, uint32_t base, int32_t B, int32_t stride, int64_t width) {
  const int64_t last = (int64_t)(B - 1) * stride;
  const int64_t lo = (int64_t)base + (last < 0 ? last : 0), hi = (int64_t)base + (last > 0 ? last : 0) + width;
  return width >= 0 && lo >= 0 && hi <= (int64_t)length;
}

typedef int (*step_function)(uint8_t*, uint64_t, const int32_t*);
struct step_entry {
  const char* name;
  step_function fn;
  int params;
};
#define MAX_STEP_PARAMS 48

/* A step function from JavaScript: f(memory: Uint8Array, ...its i32 parameters). */
static napi_value call_step(napi_env env, napi_callback_info info) {
  size_t argc = MAX_STEP_PARAMS + 1;
  napi_value argv[MAX_STEP_PARAMS + 1];
  int32_t args[MAX_STEP_PARAMS];
  void* entry = NULL;
  void* data = NULL;
  int type;
  size_t length, offset;
  napi_value buffer;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &entry) != 0) return NULL;
  const struct step_entry* e = (const struct step_entry*)entry;
  int ok = argc == (size_t)e->params + 1 &&
           napi_get_typedarray_info(env, argv[0], &type, &length, &data, &buffer, &offset) == 0 && data != NULL;
  for (int q = 0; ok && q < e->params; q++) ok = napi_get_value_int32(env, argv[q + 1], &args[q]) == 0;
  if (!ok)
    napi_throw_error(env, NULL, "native step function: expects a Uint8Array and its integer parameters");
  else if (e->fn((uint8_t*)data, length, args))
    napi_throw_error(env, NULL, "native step function: an argument reaches outside the memory");
  return NULL;
}

static napi_value register_steps(napi_env env, napi_value exports, const struct step_entry* entries, int n) {
  for (int i = 0; i < n; i++) {
    napi_value f;
    napi_create_function(env, entries[i].name, (size_t)-1, call_step, (void*)&entries[i], &f);
    napi_set_named_property(env, exports, entries[i].name, f);
  }
  return exports;
}
