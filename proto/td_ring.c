/*
 * td_ring.c — the shared-memory rings' byte-stream primitives; see td_ring.h.
 */
#include "td_ring.h"

#include <errno.h>
#include <sched.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* FUTEX_WAIT on a word of a shared mapping (so not FUTEX_PRIVATE_FLAG). */
static void futex_wait(_Atomic uint32_t *word, uint32_t seen, int timeout_ms)
{
    struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, seen, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

bool td_ring_geometry_ok(const struct td_ring_hdr *h, uint64_t map_bytes)
{
    if (h->magic != TD_RING_MAGIC || h->version != TD_RING_VERSION)
        return false;
    const uint64_t off[2] = {h->sq_off, h->cq_off}, size[2] = {h->sq_size, h->cq_size};
    for (int i = 0; i < 2; i++)
        if (size[i] < 4096 || (size[i] & (size[i] - 1)) || off[i] < TD_RING_HDR_BYTES || off[i] > map_bytes ||
            size[i] > map_bytes - off[i])
            return false;
    return true;
}

bool td_ring_msg_ok(const struct td_ring_msg *h, uint64_t max_bytes)
{
    return !(h->flags & ~(uint32_t)(TD_RING_SYNC | TD_RING_DETACH)) && h->records_len <= max_bytes &&
           h->payload_len <= max_bytes - h->records_len;
}

/* Bytes in flight as the producer sees them; UINT64_MAX when head is impossible. */
static uint64_t used_by_producer(const struct td_ring *r)
{
    uint64_t head = atomic_load_explicit(&r->ctl->head, memory_order_acquire);
    uint64_t used = r->pos - head;
    return used > r->size ? UINT64_MAX : used;
}

int64_t td_ring_put(struct td_ring *r, const void *p, size_t n)
{
    uint64_t used = used_by_producer(r);
    if (used == UINT64_MAX)
        return -1;
    uint64_t room = r->size - used;
    if (n > room)
        n = room;
    uint64_t at = r->pos & (r->size - 1), first = r->size - at < n ? r->size - at : n;
    memcpy(r->data + at, p, first);
    memcpy(r->data, (const uint8_t *)p + first, n - first);
    r->pos += n;
    return (int64_t)n;
}

void td_ring_publish(struct td_ring *r)
{
    atomic_store_explicit(&r->ctl->tail, r->pos, memory_order_seq_cst);
    if (atomic_load_explicit(&r->ctl->consumer_waiting, memory_order_seq_cst)) {
        atomic_fetch_add(&r->ctl->data_seq, 1);
        futex_wake(&r->ctl->data_seq);
    }
}

int64_t td_ring_readable(const struct td_ring *r)
{
    uint64_t tail = atomic_load_explicit(&r->ctl->tail, memory_order_acquire);
    uint64_t avail = tail - r->pos;
    return avail > r->size ? -1 : (int64_t)avail;
}

int64_t td_ring_get(struct td_ring *r, void *p, size_t n)
{
    int64_t avail = td_ring_readable(r);
    if (avail < 0)
        return -1;
    if ((uint64_t)avail < n)
        n = (size_t)avail;
    uint64_t at = r->pos & (r->size - 1), first = r->size - at < n ? r->size - at : n;
    memcpy(p, r->data + at, first);
    memcpy((uint8_t *)p + first, r->data, n - first);
    r->pos += n;
    return (int64_t)n;
}

void td_ring_consume_done(struct td_ring *r)
{
    atomic_store_explicit(&r->ctl->head, r->pos, memory_order_seq_cst);
    if (atomic_load_explicit(&r->ctl->producer_waiting, memory_order_seq_cst)) {
        atomic_fetch_add(&r->ctl->space_seq, 1);
        futex_wake(&r->ctl->space_seq);
    }
}

int td_ring_read_all(struct td_ring *r, void *p, size_t n, uint64_t spin_ns, int timeout_ms,
                     bool (*keep_waiting)(void *arg), void *arg)
{
    uint8_t *q = p;
    while (n) {
        int64_t got = td_ring_get(r, q, n);
        if (got < 0)
            return TD_RING_BROKEN;
        q += got;
        n -= (size_t)got;
        if (!n)
            break;
        td_ring_consume_done(r); /* the producer may be waiting for this room */
        while (!td_ring_wait_data(r, spin_ns, timeout_ms))
            if (!keep_waiting(arg))
                return TD_RING_GAVE_UP;
    }
    return 0;
}

int td_ring_write_all(struct td_ring *r, const void *p, size_t n, uint64_t spin_ns, int timeout_ms,
                      bool (*keep_waiting)(void *arg), void *arg)
{
    const uint8_t *q = p;
    while (n) {
        int64_t put = td_ring_put(r, q, n);
        if (put < 0)
            return TD_RING_BROKEN;
        q += put;
        n -= (size_t)put;
        if (!n)
            break;
        td_ring_publish(r); /* the consumer makes room by reading what is there */
        while (!td_ring_wait_space(r, spin_ns, timeout_ms))
            if (!keep_waiting(arg))
                return TD_RING_GAVE_UP;
    }
    return 0;
}

void td_ring_kick(struct td_ring *r)
{
    atomic_fetch_add(&r->ctl->data_seq, 1);
    futex_wake(&r->ctl->data_seq);
}

/* Shared waiting logic.  The spin yields the CPU after a few rounds: the scheduler
 * often puts both sides on one CPU (a producer wakes its consumer there), and a spin
 * that never yields would then only delay the side it waits for.  ready() is re-checked after announcing the waiter, so a wake
 * that races with going to sleep is never lost (the other side bumps the counter after
 * publishing and before reading the flag, both sequentially consistent). */
#define WAIT_UNTIL(ready, seq, waiting)                                                                              \
    do {                                                                                                             \
        if (ready)                                                                                                   \
            return true;                                                                                             \
        uint64_t until = now_ns() + spin_ns;                                                                         \
        for (int round = 0; now_ns() < until; round++) {                                                             \
            if (round < 16)                                                                                          \
                for (int i = 0; i < 32; i++)                                                                         \
                    cpu_relax();                                                                                     \
            else                                                                                                     \
                sched_yield();                                                                                       \
            if (ready)                                                                                               \
                return true;                                                                                         \
        }                                                                                                            \
        if (timeout_ms <= 0)                                                                                         \
            return false;                                                                                            \
        uint32_t seen = atomic_load_explicit(&(seq), memory_order_seq_cst);                                          \
        atomic_store_explicit(&(waiting), 1, memory_order_seq_cst);                                                  \
        bool now_ready = (ready);                                                                                    \
        if (!now_ready)                                                                                              \
            futex_wait(&(seq), seen, timeout_ms);                                                                    \
        atomic_store_explicit(&(waiting), 0, memory_order_relaxed);                                                  \
        return now_ready || (ready);                                                                                 \
    } while (0)

bool td_ring_wait_data(struct td_ring *r, uint64_t spin_ns, int timeout_ms)
{
    WAIT_UNTIL(td_ring_readable(r) != 0, r->ctl->data_seq, r->ctl->consumer_waiting);
}

bool td_ring_wait_space(struct td_ring *r, uint64_t spin_ns, int timeout_ms)
{
    WAIT_UNTIL(used_by_producer(r) != r->size, r->ctl->space_seq, r->ctl->producer_waiting);
}
