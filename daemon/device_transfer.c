/*
 * device_transfer.c — copies between the daemon's memory and a device (td_device_copy,
 * device.h), with pinned staging for host-to-device copies.
 *
 * A host-to-device copy from pageable memory must finish before its caller reuses the
 * source (a CPU storage the next op may write, a message payload about to be freed), so
 * done plainly it waits for the device.  Copies up to STAGE_MAX bytes instead go through
 * a pinned staging buffer: the bytes are copied into it on the host (fast), the DMA from
 * it is queued on the stream, and the call returns at once — the transfer overlaps with
 * whatever the client does next.  A buffer goes back to its device's free list when the
 * event recorded after its copy has completed (checked before each new staging); at
 * most STAGE_BUDGET bytes per device are in flight, beyond which the oldest is waited
 * for.  Larger copies and device-to-host copies (the caller reads the bytes) wait.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"

#define STAGE_MAX (UINT64_C(8) << 20)     /* larger copies wait instead */
#define STAGE_MIN_BUF (UINT64_C(64) << 10) /* buffers come in powers of two from here */
#define STAGE_BUDGET (UINT64_C(128) << 20) /* pinned bytes per device, free and in flight */

struct stage {
    void *buf;
    uint64_t size;
    td_event_t done; /* recorded after the copy out of buf */
    struct stage *next;
};

static struct pool {
    pthread_mutex_t mu;
    struct stage *free_list, *flight_head, *flight_tail; /* in flight: oldest first */
    uint64_t bytes;                                      /* pinned, free and in flight */
} pools[TD_MAX_DEVICES] = {[0 ... TD_MAX_DEVICES - 1] = {.mu = PTHREAD_MUTEX_INITIALIZER}};

static uint64_t round_buf(uint64_t n)
{
    uint64_t b = STAGE_MIN_BUF;
    while (b < n)
        b <<= 1;
    return b;
}

static void stage_destroy(const struct td_device_backend *b, int dev, struct stage *x)
{
    if (x->done)
        b->event_free(dev, x->done);
    b->host_free(x->buf);
    free(x);
}

/* Moves completed copies' buffers to the free list; with wait, the oldest in flight is
 * waited for first.  Pool locked. */
static void reap(const struct td_device_backend *b, int dev, bool wait)
{
    struct pool *p = &pools[dev];
    while (p->flight_head) {
        struct stage *x = p->flight_head;
        if (wait) {
            b->event_sync(dev, x->done);
            wait = false;
        } else if (b->event_query(dev, x->done) != 0) {
            break; /* pending (or failed: the stream reports it) */
        }
        p->flight_head = x->next;
        if (!p->flight_head)
            p->flight_tail = NULL;
        x->next = p->free_list;
        p->free_list = x;
    }
}

/* A free buffer of at least n bytes (pool locked), or NULL when pinned memory is refused. */
static struct stage *take(const struct td_device_backend *b, int dev, uint64_t n)
{
    struct pool *p = &pools[dev];
    uint64_t want = round_buf(n);
    for (int tries = 0; tries < 2; tries++) {
        reap(b, dev, false);
        for (struct stage **pp = &p->free_list; *pp; pp = &(*pp)->next)
            if ((*pp)->size >= want && (*pp)->size <= 4 * want) {
                struct stage *x = *pp;
                *pp = x->next;
                return x;
            }
        /* room for a new one: drop free buffers of other sizes, then wait for the oldest */
        while (p->bytes + want > STAGE_BUDGET && p->free_list) {
            struct stage *x = p->free_list;
            p->free_list = x->next;
            p->bytes -= x->size;
            stage_destroy(b, dev, x);
        }
        while (p->bytes + want > STAGE_BUDGET && p->flight_head)
            reap(b, dev, true), tries = 0;
        if (p->bytes + want <= STAGE_BUDGET)
            break;
    }
    struct stage *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    if (b->host_alloc(want, &x->buf) != 0) {
        free(x);
        return NULL;
    }
    if (b->event_new(dev, &x->done, 0) != 0) {
        b->host_free(x->buf);
        free(x);
        return NULL;
    }
    x->size = want;
    p->bytes += want;
    return x;
}

/* Queues dst <- src (n bytes of host memory the caller may reuse at once) through a
 * staging buffer.  1: no buffer (the caller copies plainly); 0 or an error code. */
static int staged_h2d(const struct td_device_backend *b, int dev, void *dst, const void *src, uint64_t n,
                      td_stream_t s)
{
    struct pool *p = &pools[dev];
    pthread_mutex_lock(&p->mu);
    struct stage *x = take(b, dev, n);
    if (!x) {
        pthread_mutex_unlock(&p->mu);
        return 1;
    }
    memcpy(x->buf, src, n);
    int e = b->memcpy_async(dev, dst, x->buf, n, TD_COPY_H2D, s);
    if (!e)
        e = b->event_record(dev, x->done, s);
    if (e) { /* the buffer may still be read by a queued copy: wait before reusing it */
        b->stream_sync(dev, s);
    }
    x->next = NULL;
    if (p->flight_tail)
        p->flight_tail->next = x;
    else
        p->flight_head = x;
    p->flight_tail = x;
    pthread_mutex_unlock(&p->mu);
    return e;
}

enum td_code td_device_copy(uint8_t d, void *dst, const void *src, uint64_t n, enum td_copy_kind kind, td_stream_t s,
                            struct td_status *st)
{
    const struct td_device_backend *b = td_device_backend(d);
    if (!b)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "CUDA error: invalid device ordinal");
    if (!n)
        return TD_CODE_OK;
    int e = 1;
    if (kind == TD_COPY_H2D && n <= STAGE_MAX && b->host_alloc)
        e = staged_h2d(b, d - 1, dst, src, n, s);
    if (e == 1) {
        e = b->memcpy_async(d - 1, dst, src, n, kind, s);
        /* the host side is pageable daemon memory the caller reuses (or reads) at once: wait */
        if (!e && kind != TD_COPY_D2D)
            e = b->stream_sync(d - 1, s);
    }
    return e ? td_device_error(d, e, "copy", st) : TD_CODE_OK;
}

void td__device_staging_fini(void)
{
    for (int dev = 0; dev < TD_MAX_DEVICES; dev++) {
        struct pool *p = &pools[dev];
        const struct td_device_backend *b = td_device_backend((uint8_t)(dev + 1));
        pthread_mutex_lock(&p->mu);
        while (b && p->flight_head)
            reap(b, dev, true);
        while (b && p->free_list) {
            struct stage *x = p->free_list;
            p->free_list = x->next;
            stage_destroy(b, dev, x);
        }
        p->bytes = 0;
        pthread_mutex_unlock(&p->mu);
    }
}
