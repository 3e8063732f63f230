/*
 * conn.h — libtensord's transport: one gRPC channel and one Session stream to the
 * daemon (internal; the public API is tensord.h).  The only file that knows gRPC on the
 * client side.  Not thread-safe: the caller (client.c) serializes calls.
 */
#ifndef TD_CONN_H
#define TD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kernels/status.h"

struct td_conn;

/* What a sync answer carries; payload is malloc'd, caller frees. */
struct td_conn_reply {
    enum td_code code;
    char message[512];
    uint64_t failed_record;
    uint8_t *payload;
    size_t payload_len;
};

/* Connects to target ("unix:/path", "unix-abstract:name" or "host:port"), opens the
 * Session stream and attaches.  Waits at most timeout_ms for the daemon to answer.
 * UNAVAILABLE when nothing answers.  NULL on failure with st filled. */
struct td_conn *td__conn_open(const char *target, const char *client_desc, int timeout_ms,
                              struct td_status *st);

/* Session id the daemon assigned. */
uint64_t td__conn_session_id(const struct td_conn *c);

/* Sends one message (records and upload payload are copied into it).  With sync, waits
 * for the answer and fills *reply.  Transport failure (daemon gone) returns UNAVAILABLE
 * and the connection is dead from then on. */
enum td_code td__conn_send(struct td_conn *c, const uint8_t *records, size_t n, const uint8_t *payload,
                           size_t payload_len, bool sync, struct td_conn_reply *reply,
                           struct td_status *st);

/* Ends the session cleanly (detach, half-close, wait for the status) and frees. NULL ok. */
void td__conn_close(struct td_conn *c);

/* Unary Stats call on a fresh channel to target. */
struct td_stats;
enum td_code td__conn_stats(const char *target, struct td_stats *out, struct td_status *st);

#endif
