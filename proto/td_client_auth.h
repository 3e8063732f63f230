/*
 * td_client_auth.h — how a client authenticates to a TCP listener, shared by libtensord
 * (client_c/conn.c) and tensordctl: TLS with the CA certificates of $TENSORD_TLS_CA (a
 * PEM file) and the bearer token of $TENSORD_TOKEN (or the first line of the file
 * $TENSORD_TOKEN_FILE) as "authorization: Bearer TOKEN" metadata on every call.
 * Unix-socket targets use neither: the daemon knows a local peer by SO_PEERCRED.
 */
#ifndef TD_CLIENT_AUTH_H
#define TD_CLIENT_AUTH_H

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline bool td_target_is_unix(const char *target)
{
    return strncmp(target, "unix:", 5) == 0 || strncmp(target, "unix-abstract:", 14) == 0;
}

/* A whole small file as a NUL-terminated string (caller frees); NULL when unreadable. */
static inline char *td_read_small_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = 0;
    return buf;
}

/* Channel credentials for target (the caller releases them). */
static inline grpc_channel_credentials *td_client_creds(const char *target)
{
    const char *ca = getenv("TENSORD_TLS_CA");
    if (td_target_is_unix(target) || !ca || !*ca)
        return grpc_insecure_credentials_create();
    char *pem = td_read_small_file(ca);
    /* an unreadable CA file still means TLS: the handshake then fails, never plain text */
    grpc_channel_credentials *cr = grpc_ssl_credentials_create(pem ? pem : "", NULL, NULL, NULL);
    free(pem);
    return cr;
}

/* "Bearer TOKEN" into value (len bytes) from $TENSORD_TOKEN or $TENSORD_TOKEN_FILE;
 * false when neither is set. */
static inline bool td_client_token(char *value, size_t len)
{
    const char *t = getenv("TENSORD_TOKEN"), *file = getenv("TENSORD_TOKEN_FILE");
    char *owned = NULL;
    if ((!t || !*t) && file && *file)
        t = owned = td_read_small_file(file);
    if (!t || !*t) {
        free(owned);
        return false;
    }
    size_t n = strcspn(t, "\r\n");
    snprintf(value, len, "Bearer %.*s", (int)n, t);
    free(owned);
    return true;
}

/* Fills md (one entry) with the token for a TCP target; returns the count (0 or 1).
 * value must outlive the call's SEND_INITIAL_METADATA. */
static inline size_t td_client_auth_md(const char *target, grpc_metadata *md, char *value, size_t len)
{
    if (td_target_is_unix(target) || !td_client_token(value, len))
        return 0;
    memset(md, 0, sizeof *md);
    md->key = grpc_slice_from_static_string("authorization");
    md->value = grpc_slice_from_static_string(value);
    return 1;
}

#endif
