// A Node-API module for the node shim: makes OpenSSL draw fresh entropy in a VM restored from a snapshot.
//
// OpenSSL's generators (the primary DRBG and each thread's public and private ones) keep their state in the
// process's memory, so every copy restored from one snapshot would produce the same crypto.randomBytes,
// randomUUID and keys. OpenSSL reseeds on its own only after a fork (a new pid), every 2^16 draws or after minutes;
// a restored VM is none of those. reseed(bytes) reseeds the primary DRBG with prediction resistance (fresh
// entropy from the kernel, the caller's bytes as additional input); every thread's DRBG sees the primary's reseed
// counter change and reseeds from it at its next draw.
//
// Built without headers or libraries (-nostdlib): the few Node-API and OpenSSL 3 functions it calls are declared
// here from their documented signatures and resolved, when node loads the module, against the libnode and
// libcrypto.so.3 already in the process (Debian's node links both), so the module needs nothing of its own.

#include <stddef.h>

typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status; // napi_ok is 0
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);

napi_status napi_create_function(napi_env env, const char *name, size_t length, napi_callback cb, void *data, napi_value *result);
napi_status napi_set_named_property(napi_env env, napi_value object, const char *name, napi_value value);
napi_status napi_get_cb_info(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, napi_value *this_arg, void **data);
napi_status napi_get_buffer_info(napi_env env, napi_value value, void **data, size_t *length);
napi_status napi_throw_error(napi_env env, const char *code, const char *message);
napi_status napi_get_undefined(napi_env env, napi_value *result);

typedef struct evp_rand_ctx_st EVP_RAND_CTX;
typedef struct ossl_lib_ctx_st OSSL_LIB_CTX;
EVP_RAND_CTX *RAND_get0_primary(OSSL_LIB_CTX *ctx);
int EVP_RAND_reseed(EVP_RAND_CTX *ctx, int prediction_resistance, const unsigned char *entropy, size_t entropy_length,
                    const unsigned char *additional, size_t additional_length);

// reseed(buffer): the buffer's bytes are additional input; throws when OpenSSL refuses.
static napi_value reseed(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    void *bytes = NULL;
    size_t length = 0;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc != 1 ||
        napi_get_buffer_info(env, argv[0], &bytes, &length) != 0) {
        napi_throw_error(env, NULL, "reseed(buffer): one Buffer of additional input expected");
        return NULL;
    }
    EVP_RAND_CTX *primary = RAND_get0_primary(NULL);
    if (primary == NULL || EVP_RAND_reseed(primary, 1, NULL, 0, bytes, length) != 1) {
        napi_throw_error(env, NULL, "OpenSSL refused to reseed its primary generator (RAND_get0_primary, EVP_RAND_reseed)");
        return NULL;
    }
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    return undefined;
}

// The entry point node looks for in a Node-API module.
napi_value napi_register_module_v1(napi_env env, napi_value exports)
{
    napi_value function;
    if (napi_create_function(env, "reseed", 6, reseed, NULL, &function) != 0 ||
        napi_set_named_property(env, exports, "reseed", function) != 0)
        return NULL;
    return exports;
}
