#ifndef SKIFF_CSKIFFTLS_H
#define SKIFF_CSKIFFTLS_H

#include <stddef.h>
#include <stdint.h>

/// Creates a self-signed server certificate (ECDSA P-256, SHA-256) valid for `days` days,
/// able to serve as its own trust anchor (CA:TRUE, pathlen 0), so that hosts can pin it,
/// with subject CN `common_name` and the subjectAltName list `alt_names`
/// ("DNS:localhost,IP:127.0.0.1"). On success returns 1 and sets `*cert_pem` and `*key_pem`
/// (PKCS#8) to NUL-terminated strings that the caller frees with skiff_tls_free.
/// On failure returns 0 and writes a message into `error` (up to `error_size` bytes).
int skiff_tls_make_self_signed(const char *common_name, const char *alt_names, int days,
                               char **cert_pem, char **key_pem, char *error, size_t error_size);

/// SHA-256 of the DER encoding of the first certificate in `pem` into `out` (32 bytes).
/// Returns 1 on success, 0 when `pem` holds no certificate.
int skiff_tls_certificate_fingerprint(const char *pem, uint8_t *out);

/// 1 when the DER certificate is self-issued (subject = issuer) and has CA:TRUE.
int skiff_tls_is_self_signed_ca(const uint8_t *der, size_t length);

void skiff_tls_free(char *pointer);

#endif
