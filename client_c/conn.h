/*
 * conn.h — libtensord's transport: one gRPC channel and one Session stream to the
 * daemon, and for a local daemon the shared-memory rings that then carry the session's
 * messages (shm.h) (internal; the public API is tensord.h).  The only file that knows
 * gRPC on the client side.  Not thread-safe: the caller (client.c) serializes calls.
 */
#ifndef TD_CONN_H
#define TD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kernels/status.h"

struct td_conn;

/* One failed record as the daemon reported it. */
struct td_conn_error {
    uint64_t record, origin;
    enum td_code code;
    uint16_t op;
    char msg[512];
};

/* One answer of the daemon; errors and payload are malloc'd (td__conn_reply_fini). */
struct td_conn_reply {
    uint64_t seq;            /* of the message answered */
    enum td_code code;       /* message-level error */
    char message[512];
    uint64_t executed;       /* records of the session executed so far */
    struct td_conn_error *errors;
    int n_errors;
    uint32_t errors_dropped;
    uint8_t *payload;        /* READ bytes (sync messages only) */
    size_t payload_len;
};

void td__conn_reply_fini(struct td_conn_reply *r);

/* Connects to target ("unix:/path", "unix-abstract:name" or "host:port"), opens the
 * Session stream and attaches.  Waits at most timeout_ms for the daemon to answer.
 * UNAVAILABLE when nothing answers.  NULL on failure with st filled. */
struct td_conn *td__conn_open(const char *target, const char *client_desc, int timeout_ms,
                              struct td_status *st);

/* "shm" when the session's messages travel through the shared-memory rings, else "grpc". */
const char *td__conn_transport(const struct td_conn *c);

/* This process's mapping of CPU storage arena `arena` (shm.h): UNAVAILABLE on gRPC or
 * when the daemon does not share it with us. */
void td__conn_keep_arenas(struct td_conn *c);
enum td_code td__conn_map_arena(struct td_conn *c, uint64_t arena, uint8_t **base, size_t *size,
                                struct td_status *st);

/* Test hook (tests/check_rpc.c plays a hostile client with it): the rings' mapping
 * and its size, NULL on gRPC. */
void *td__conn_shm_map(const struct td_conn *c, size_t *bytes);
/* Test hook: the session's side-socket secret (16 bytes). */
const uint8_t *td__conn_shm_secret(const struct td_conn *c);

/* Session id the daemon assigned. */
uint64_t td__conn_session_id(const struct td_conn *c);
/* The stream broke because the daemon went away (crash, restart, network), as opposed
 * to the daemon ending the session (an administrator's kill, a protocol error). */
bool td__conn_gone(const struct td_conn *c);
/* The stream is over (lost, or ended by the daemon): sends fail from now on. */
bool td__conn_dead(const struct td_conn *c);
const char *td__conn_target(const struct td_conn *c);

/* Sends one message (records and upload payload are copied into it) without waiting
 * for its answer; *seq (may be NULL) gets its sequence number.  Every message is
 * answered, in order: collect the answers with td__conn_recv.  Transport failure
 * (daemon gone) returns UNAVAILABLE and the connection is dead from then on. */
enum td_code td__conn_send(struct td_conn *c, const uint8_t *records, size_t n, const uint8_t *payload,
                           size_t payload_len, bool sync, uint64_t *seq, struct td_status *st);

/* Answers sent but not yet received. */
unsigned td__conn_pending(const struct td_conn *c);

/* The next answer, in order.  With `block` waits for it; otherwise *got says whether
 * one was ready.  A dead stream returns UNAVAILABLE (or the daemon's status). */
enum td_code td__conn_recv(struct td_conn *c, bool block, struct td_conn_reply *reply, bool *got,
                           struct td_status *st);

/* Ends the session cleanly (detach, half-close, wait for the status) and frees. NULL ok. */
void td__conn_close(struct td_conn *c);

/* Unary Stats call on a fresh channel to target. */
struct td_stats;
enum td_code td__conn_stats(const char *target, struct td_stats *out, struct td_status *st);

#endif
