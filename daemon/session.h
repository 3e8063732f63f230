/*
 * session.h — one client's session: its handle table (failed tensors included), generator, and
 * the executor that runs its op records in order.
 *
 * Threading: a session is driven by exactly one thread at a time (the transport gives
 * each session its own worker); different sessions run concurrently and share only
 * refcounted storages and the allocator, which are thread-safe.
 */
#ifndef TD_SESSION_H
#define TD_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kernels/status.h"
#include "../proto/td_stats.h"

struct td_session;
struct td_alloc_account;

/* One record that failed in a message (the ServerMsg's RecordError). */
struct td_record_error {
    uint64_t record, origin; /* this record; the record that failed first */
    enum td_code code;
    uint16_t op;             /* the op of the first failure */
    char msg[512];
};

#define TD_REPLY_MAX_ERRORS 64

/* What one client message produced.  payload and errors are malloc'd, owned by the reply. */
struct td_reply {
    enum td_code code;       /* message-level error (none yet: kept for the transport) */
    char message[512];
    uint64_t executed;       /* records of the session executed so far */
    struct td_record_error *errors;
    int n_errors;
    uint32_t errors_dropped; /* failures beyond TD_REPLY_MAX_ERRORS */
    uint8_t *payload;        /* READ results in record order */
    size_t payload_len, payload_cap;
};

void td_reply_init(struct td_reply *r);
void td_reply_fini(struct td_reply *r);

/* New empty session; peer is a free-text description for logs (copied). NULL on OOM. */
struct td_session *td_session_new(uint64_t id, const char *peer);

/*
 * Optional: a flag the transport raises when the session ends (client gone, detach,
 * shutdown).  td_session_exec then stops between records, and long kernels stop
 * between blocks (td_parallel_for), so abandoned work ends within one block.  The flag
 * is borrowed and must outlive the session's last td_session_exec.
 */
void td_session_set_cancel(struct td_session *s, const atomic_bool *cancel);

/*
 * Executes the records of one client message in order.  records/payload are borrowed
 * for the call.  Malformed bytes never crash.  A record that fails marks only its
 * outputs (an in-place op: its destination) as failed; a record that reads a failed
 * tensor fails with the original error; every other record runs.  Each failure is
 * listed in reply->errors.  READ bytes land in reply->payload when `sync` is set
 * (zeros stand in for a failed READ), and are discarded otherwise.
 */
void td_session_exec(struct td_session *s, const uint8_t *records, size_t n_records_bytes,
                     const uint8_t *payload, size_t payload_len, int sync, struct td_reply *reply);

/* Frees every handle the session holds (storages shared elsewhere survive). NULL ok. */
void td_session_free(struct td_session *s);

uint64_t td_session_id(const struct td_session *s);

/* The session's allocation account (alloc.h): the transport sets its uid once the client
 * is identified (td_alloc_account_set_uid), before the session allocates anything. */
struct td_alloc_account *td_session_account(struct td_session *s);
struct td_storage;
/* From any thread: a new reference to the storage of handle `handle` of live session
 * `id` (fork grants, share.c).  NOT_FOUND naming the cause when the session ended or
 * freed the handle. */
enum td_code td_session_foreign_get(uint64_t id, uint64_t handle, struct td_storage **out, struct td_status *st);

/* The daemon-wide counters (struct td_stats, proto/td_stats.h), updated atomically by
 * sessions and the allocator. */
void td_stats_get(struct td_stats *out);
void td_stats_count_bad_message(void);
void td_stats_session_opened(void);
void td_stats_session_closed(void);

#endif
