#include "CSkiffTLS.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

static void set_error(char *error, size_t size, const char *what) {
    if (error == NULL || size == 0) return;
    unsigned long code = ERR_get_error();
    char detail[256] = "";
    if (code != 0) ERR_error_string_n(code, detail, sizeof detail);
    snprintf(error, size, "%s%s%s", what, code ? ": " : "", detail);
    ERR_clear_error();
}

static int add_extension(X509 *cert, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) return 0;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static char *bio_to_string(BIO *bio) {
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);
    if (length <= 0) return NULL;
    char *out = malloc((size_t)length + 1);
    if (out == NULL) return NULL;
    memcpy(out, data, (size_t)length);
    out[length] = 0;
    return out;
}

int skiff_tls_make_self_signed(const char *common_name, const char *alt_names, int days,
                               char **cert_pem, char **key_pem, char *error, size_t error_size) {
    int ok = 0;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    BIGNUM *serial = BN_new();
    BIO *cert_bio = BIO_new(BIO_s_mem());
    BIO *key_bio = BIO_new(BIO_s_mem());
    *cert_pem = NULL;
    *key_pem = NULL;
    if (key == NULL || cert == NULL || serial == NULL || cert_bio == NULL || key_bio == NULL) {
        set_error(error, error_size, "allocation or key generation failed");
        goto done;
    }
    if (!X509_set_version(cert, 2) || !BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
        BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) == NULL ||
        X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400L) == NULL || !X509_set_pubkey(cert, key)) {
        set_error(error, error_size, "certificate fields");
        goto done;
    }
    X509_NAME *name = X509_get_subject_name(cert);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)common_name, -1, -1, 0) ||
        !X509_set_issuer_name(cert, name)) {
        set_error(error, error_size, "certificate name");
        goto done;
    }
    /* CA:TRUE and keyCertSign let the certificate be its own trust anchor, which is how hosts
       pin it (TLS libraries accept only CA certificates as anchors). */
    if (!add_extension(cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        !add_extension(cert, NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign") ||
        !add_extension(cert, NID_ext_key_usage, "serverAuth") ||
        !add_extension(cert, NID_subject_key_identifier, "hash") ||
        (alt_names != NULL && alt_names[0] != 0 && !add_extension(cert, NID_subject_alt_name, alt_names))) {
        set_error(error, error_size, "certificate extensions");
        goto done;
    }
    if (X509_sign(cert, key, EVP_sha256()) == 0) {
        set_error(error, error_size, "signing the certificate");
        goto done;
    }
    if (!PEM_write_bio_X509(cert_bio, cert) || !PEM_write_bio_PrivateKey(key_bio, key, NULL, NULL, 0, NULL, NULL)) {
        set_error(error, error_size, "PEM encoding");
        goto done;
    }
    *cert_pem = bio_to_string(cert_bio);
    *key_pem = bio_to_string(key_bio);
    ok = *cert_pem != NULL && *key_pem != NULL;
    if (!ok) set_error(error, error_size, "out of memory");
done:
    if (!ok) {
        free(*cert_pem);
        free(*key_pem);
        *cert_pem = NULL;
        *key_pem = NULL;
    }
    BIO_free(cert_bio);
    BIO_free(key_bio);
    BN_free(serial);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok;
}

int skiff_tls_certificate_fingerprint(const char *pem, uint8_t *out) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL) return 0;
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (cert == NULL) {
        ERR_clear_error();
        return 0;
    }
    unsigned int length = 0;
    int ok = X509_digest(cert, EVP_sha256(), out, &length) == 1 && length == 32;
    X509_free(cert);
    return ok;
}

int skiff_tls_is_self_signed_ca(const uint8_t *der, size_t length) {
    const unsigned char *cursor = der;
    X509 *cert = d2i_X509(NULL, &cursor, (long)length);
    if (cert == NULL) {
        ERR_clear_error();
        return 0;
    }
    int ok = X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0 && X509_check_ca(cert) > 0;
    X509_free(cert);
    return ok;
}

void skiff_tls_free(char *pointer) { free(pointer); }
