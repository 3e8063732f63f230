/*
 * handles.h — a session's handle table: client-assigned 64-bit ids -> tensors.
 * Open addressing with linear probing and tombstone-free backward-shift deletion.
 * Not thread-safe (one session, one thread).  Handle 0 is never valid.
 */
#ifndef TD_HANDLES_H
#define TD_HANDLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kernels/meta.h"
#include "alloc.h"

struct td_tensor {
    struct td_meta m;
    struct td_storage *storage; /* one reference held */
};

struct td_handles {
    uint64_t *keys;
    struct td_tensor *vals;
    size_t cap, count; /* cap is a power of two */
};

void td_handles_init(struct td_handles *h);
/* Releases every tensor's storage reference and the table itself. */
void td_handles_fini(struct td_handles *h);
struct td_tensor *td_handles_get(struct td_handles *h, uint64_t id);
/* Inserts (takes over t's storage reference).  false on OOM. */
bool td_handles_put(struct td_handles *h, uint64_t id, const struct td_tensor *t);
/* Removes and unrefs; false if absent. */
bool td_handles_del(struct td_handles *h, uint64_t id);

#endif
