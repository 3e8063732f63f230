/*
 * handles.h — a session's handle table: client-assigned 64-bit ids -> tensors.
 * Open addressing with linear probing and tombstone-free backward-shift deletion.
 * Handle 0 is never valid.
 * Threading: the owning session's thread reads and writes; once the table is `shared`
 * (its session made a fork grant) other sessions may read one entry
 * (td_handles_get_foreign), so from then on the owner's writes take `mu` too.  The
 * owner's reads never lock: only the owner writes.
 */
#ifndef TD_HANDLES_H
#define TD_HANDLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include "../kernels/meta.h"
#include "alloc.h"

/* Why a tensor holds no valid data: the op that produced (or last wrote) it failed.
 * Shared by every tensor that inherited the failure; refcounted by the one session
 * thread that owns them (no atomics). */
struct td_failure {
    uint32_t refs;
    uint16_t op;     /* the op that failed first */
    enum td_code code;
    uint64_t origin; /* its record index in the session's stream */
    char msg[512];
};

struct td_failure *td_failure_ref(struct td_failure *f);
void td_failure_unref(struct td_failure *f); /* NULL ok */

struct td_tensor {
    struct td_meta m;
    struct td_storage *storage; /* one reference held; NULL for a failed output */
    struct td_failure *fail;    /* one reference held; NULL while the data is valid */
};

struct td_handles {
    uint64_t *keys;
    struct td_tensor *vals;
    size_t cap, count; /* cap is a power of two */
    bool shared;       /* foreign readers possible: writers lock mu (set by the owner) */
    pthread_mutex_t mu;
};

void td_handles_init(struct td_handles *h);
/* Releases every tensor's storage and failure references and the table itself. */
void td_handles_fini(struct td_handles *h);
struct td_tensor *td_handles_get(struct td_handles *h, uint64_t id);
/* Inserts (takes over t's storage reference).  false on OOM. */
bool td_handles_put(struct td_handles *h, uint64_t id, const struct td_tensor *t);
/* Removes and unrefs (storage and failure); false if absent. */
bool td_handles_del(struct td_handles *h, uint64_t id);
/* From another session's thread: a new reference to id's storage (NULL: absent, or a
 * failed tensor), and its meta in *m when not NULL.  Only while the owner cannot free
 * the table (session.c's registry lock). */
struct td_storage *td_handles_get_foreign(struct td_handles *h, uint64_t id, bool *failed);

#endif
