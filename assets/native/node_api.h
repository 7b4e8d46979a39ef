/*
 * The few Node-API functions the native addons use (products.c, and the step functions that
 * src/layers/recurrent/fused/native_steps.ts generates), declared here: Node-API is a stable C ABI, so
 * building an addon needs a C compiler and nothing else (no Node headers, no node-gyp).
 */
#ifndef TSKERAS_NODE_API_H
#define TSKERAS_NODE_API_H
#include <stddef.h>
#include <stdint.h>

typedef struct napi_env__* napi_env;
typedef struct napi_value__* napi_value;
typedef struct napi_callback_info__* napi_callback_info;
typedef int napi_status; /* napi_ok = 0 */
typedef napi_value (*napi_callback)(napi_env, napi_callback_info);
napi_status napi_get_cb_info(napi_env, napi_callback_info, size_t*, napi_value*, napi_value*, void**);
napi_status napi_get_typedarray_info(napi_env, napi_value, int*, size_t*, void**, napi_value*, size_t*);
napi_status napi_get_value_int32(napi_env, napi_value, int32_t*);
napi_status napi_create_function(napi_env, const char*, size_t, napi_callback, void*, napi_value*);
napi_status napi_set_named_property(napi_env, napi_value, const char*, napi_value);
napi_status napi_get_boolean(napi_env, _Bool, napi_value*);
napi_status napi_throw_error(napi_env, const char*, const char*);
napi_status napi_create_int32(napi_env, int32_t, napi_value*);
#endif
