/*
 * session.h — one client's session: its handle table, generator and sticky error, and
 * the executor that runs its op records in order.
 *
 * Threading: a session is driven by exactly one thread at a time (the transport gives
 * each session its own worker); different sessions run concurrently and share only
 * refcounted storages and the allocator, which are thread-safe.
 */
#ifndef TD_SESSION_H
#define TD_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "../kernels/status.h"

struct td_session;

/* What one client message produced.  payload is malloc'd, owned by the reply. */
struct td_reply {
    enum td_code code;       /* first error since the last sync, or OK */
    char message[512];
    uint64_t failed_record;  /* index in the session's record stream */
    uint8_t *payload;        /* READ results in record order */
    size_t payload_len, payload_cap;
};

void td_reply_init(struct td_reply *r);
void td_reply_fini(struct td_reply *r);

/* New empty session; peer is a free-text description for logs (copied). NULL on OOM. */
struct td_session *td_session_new(uint64_t id, const char *peer);

/*
 * Executes the records of one client message in order.  records/payload are borrowed
 * for the call.  Malformed bytes never crash: they make the session's sticky error.
 * When `sync` is set the sticky error (if any) and READ bytes are moved into *reply and
 * the error is cleared; otherwise READ bytes are discarded and errors stay sticky.
 * Releases are executed even while an error is sticky, so nothing leaks.
 */
void td_session_exec(struct td_session *s, const uint8_t *records, size_t n_records_bytes,
                     const uint8_t *payload, size_t payload_len, int sync, struct td_reply *reply);

/* Frees every handle the session holds (storages shared elsewhere survive). NULL ok. */
void td_session_free(struct td_session *s);

uint64_t td_session_id(const struct td_session *s);

/* Daemon-wide counters, updated atomically by sessions and the allocator. */
struct td_stats {
    uint64_t sessions, sessions_total, tensors, storages;
    uint64_t bytes_in_use, bytes_peak, ops_executed, errors, bad_messages;
    uint64_t bytes_cached; /* idle blocks kept by the allocator for reuse */
};
void td_stats_get(struct td_stats *out);
void td_stats_count_bad_message(void);
void td_stats_session_opened(void);
void td_stats_session_closed(void);

#endif
