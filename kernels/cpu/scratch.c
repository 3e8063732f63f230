/*
 * scratch.c — the cap on kernel scratch: temporary buffers a kernel mallocs beside its
 * outputs (im2col columns, ...).  Tensor storage is bounded by the daemon's memory cap
 * in its allocator, but a scratch size is the product of shapes and attributes a client
 * chose, and can be many times an output that fits: without this cap a crafted conv
 * would ask malloc for terabytes.  The allocator sets the cap with its own
 * (td_alloc_set_limit); 0 means none (kernel tests run without a daemon).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../kernel.h"

static _Atomic uint64_t scratch_limit;

void td_scratch_set_limit(uint64_t bytes) { atomic_store_explicit(&scratch_limit, bytes, memory_order_relaxed); }

void *td_scratch_alloc(struct td_kctx *k, uint64_t bytes)
{
    uint64_t lim = atomic_load_explicit(&scratch_limit, memory_order_relaxed);
    void *p = (lim && bytes > lim) || bytes > SIZE_MAX ? NULL : malloc((size_t)(bytes ? bytes : 1));
    if (!p && k && k->msg) /* the message of torch's CPU allocator */
        snprintf(k->msg, TD_KMSG_LEN, "DefaultCPUAllocator: can't allocate memory: you tried to allocate %llu bytes.",
                 (unsigned long long)bytes);
    return p;
}
