#ifndef SKIFF_CLIBCRYPTO_SHIM_H
#define SKIFF_CLIBCRYPTO_SHIM_H

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

/* OSSL_PARAM arrays keep raw pointers to their strings, so they are built here, in C,
   where the literals live for the whole program. */

/// A new HMAC context keyed with `key`, digest named by `digest` ("SHA256", "SM3"). NULL on failure.
static inline EVP_MAC_CTX *skiff_hmac_new(const char *digest, const unsigned char *key, size_t keylen) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    if (ctx == NULL) return NULL;
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(ctx, key, keylen, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/// Restarts an HMAC context with the key it was created with. Returns 1 on success.
static inline int skiff_hmac_restart(EVP_MAC_CTX *ctx) {
    return EVP_MAC_init(ctx, NULL, 0, NULL);
}

/// HKDF (RFC 5869, extract and expand) with the named digest. Returns 1 on success.
static inline int skiff_hkdf(const char *digest,
                             const unsigned char *ikm, size_t ikmlen,
                             const unsigned char *salt, size_t saltlen,
                             const unsigned char *info, size_t infolen,
                             unsigned char *out, size_t outlen) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf == NULL) return 0;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (ctx == NULL) return 0;
    OSSL_PARAM params[5];
    int n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
    params[n] = OSSL_PARAM_construct_end();
    int rc = EVP_KDF_derive(ctx, out, outlen, params);
    EVP_KDF_CTX_free(ctx);
    return rc == 1 ? 1 : 0;
}

/// The version of the libcrypto loaded at run time (OPENSSL_VERSION_NUMBER is a macro).
static inline unsigned long skiff_openssl_version_num(void) {
    return OpenSSL_version_num();
}

#endif
