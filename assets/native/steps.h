/*
 * What the native step functions share (src/layers/recurrent/fused/native_steps.ts generates one C file
 * per cell and activations that includes this): the vector instructions they are written in (AVX-512 or
 * AVX2), WebAssembly's float semantics there, the bounds check, and the Node-API entry that calls a step
 * function.
 *
 * A step function is `int f(uint8_t* memory, uint64_t length, const int32_t* args)`: its arguments are
 * the WebAssembly step function's i32 parameters in order (byte offsets into the memory, strides in
 * bytes); it returns nonzero, having touched nothing, when an argument would reach outside the memory.
 */
#include "node_api.h"
#include <immintrin.h>
#include <stdio.h>

/*
 * The instruction set, chosen by the generated file (STEP_LANES): AVX-512 (16 lanes) or AVX2 (8 lanes).
 * The generated code is written in the macros below, the same text for both. VEC: a vector of floats;
 * COND: a per-lane condition (GT, LT, BOTH; for WHERE); TAIL: the lanes of the last, partial group.
 */
#if STEP_LANES == 16
#define ISA "avx512f"
typedef __m512 VEC;
typedef __mmask16 COND;
typedef __mmask16 TAIL;
#define GROUP 64
#define K(bits) _mm512_castsi512_ps(_mm512_set1_epi32((int32_t)(bits)))
#define LD(p) _mm512_loadu_ps((const void*)(p))
#define ST(p, v) _mm512_storeu_ps((void*)(p), v)
#define LDT(p) _mm512_maskz_loadu_ps(tail, (const void*)(p))
#define STT(p, v) _mm512_mask_storeu_ps((void*)(p), tail, v)
#define ADD _mm512_add_ps
#define SUB _mm512_sub_ps
#define MUL _mm512_mul_ps
#define DIV _mm512_div_ps
#define MIN _mm512_min_ps
#define MAX _mm512_max_ps
#define GT(a, b) _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ)
#define LT(a, b) _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ)
#define UNORD(a, b) _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q)
#define BOTH(a, b) ((COND)((a) & (b)))
#define WHERE(c, a, b) _mm512_mask_blend_ps(c, b, a)
#define KEEP(masked) ((COND) - (masked))
#define OR_BITS(a, b) _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)))
#define AND_BITS(a, b) _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)))
#define TAIL_LANES(n) ((TAIL)((1u << (n)) - 1))
#else
#define ISA "avx2,fma"
typedef __m256 VEC;
typedef __m256 COND;
typedef __m256i TAIL;
#define GROUP 32
#define K(bits) _mm256_castsi256_ps(_mm256_set1_epi32((int32_t)(bits)))
#define LD(p) _mm256_loadu_ps((const float*)(p))
#define ST(p, v) _mm256_storeu_ps((float*)(p), v)
#define LDT(p) _mm256_maskload_ps((const float*)(p), tail)
#define STT(p, v) _mm256_maskstore_ps((float*)(p), tail, v)
#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps
#define MUL _mm256_mul_ps
#define DIV _mm256_div_ps
#define MIN _mm256_min_ps
#define MAX _mm256_max_ps
#define GT(a, b) _mm256_cmp_ps(a, b, _CMP_GT_OQ)
#define LT(a, b) _mm256_cmp_ps(a, b, _CMP_LT_OQ)
#define UNORD(a, b) _mm256_cmp_ps(a, b, _CMP_UNORD_Q)
#define BOTH _mm256_and_ps
/* a condition is all ones or all zeros per lane: blendv's sign-bit test is WebAssembly's bitselect */
#define WHERE(c, a, b) _mm256_blendv_ps(b, a, c)
#define KEEP(masked) _mm256_castsi256_ps(_mm256_set1_epi32(-(masked)))
#define OR_BITS _mm256_or_ps
#define AND_BITS _mm256_and_ps
#define TAIL_LANES(n) _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#endif

#define STEP_FN __attribute__((target(ISA)))
#define LANE_FN __attribute__((target(ISA), always_inline)) static inline

/*
 * WebAssembly's f32x4.min / max: NaN when either operand is NaN, and −0 < +0. x86's min / max return
 * their second operand in both cases, so each is taken both ways: for ±0 the OR (min) / AND (max) of the
 * two picks the right zero; an unordered pair gets a NaN (a + b). With a constant that is neither zero
 * nor NaN, the generated code calls MIN / MAX with the other operand second instead (native_steps.ts).
 */
LANE_FN VEC wasm_min(VEC a, VEC b) { return WHERE(UNORD(a, b), ADD(a, b), OR_BITS(MIN(a, b), MIN(b, a))); }
LANE_FN VEC wasm_max(VEC a, VEC b) { return WHERE(UNORD(a, b), ADD(a, b), AND_BITS(MAX(a, b), MAX(b, a))); }

/* Whether this CPU has the instruction set the file was generated for. */
static int steps_supported(void) {
  __builtin_cpu_init();
#if STEP_LANES == 16
  return __builtin_cpu_supports("avx512f") != 0;
#else
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
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
  char message[160];
  if (!ok)
    snprintf(message, sizeof message, "native step function %s(): expects a Uint8Array and %d integers", e->name,
             e->params);
  else if (e->fn((uint8_t*)data, length, args))
    snprintf(message, sizeof message, "native step function %s(): an argument reaches outside the memory", e->name);
  else
    return NULL;
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value supported(napi_env env, napi_callback_info info) {
  napi_value result;
  napi_get_boolean(env, steps_supported(), &result);
  return result;
}

/* The addon's exports: each step function by name, and supported(). */
static napi_value register_steps(napi_env env, napi_value exports, const struct step_entry* entries, int n) {
  napi_value f;
  for (int i = 0; i < n; i++) {
    napi_create_function(env, entries[i].name, (size_t)-1, call_step, (void*)&entries[i], &f);
    napi_set_named_property(env, exports, entries[i].name, f);
  }
  napi_create_function(env, "supported", (size_t)-1, supported, NULL, &f);
  napi_set_named_property(env, exports, "supported", f);
  return exports;
}
