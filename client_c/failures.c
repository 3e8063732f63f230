/*
 * failures.c — deferred errors of libtensord; see failures.h.
 *
 * Three small tables:
 *   - a ring of (location, thread) per record index, large enough for every record the
 *     daemon may still report (the client never runs further ahead than its window);
 *   - the locations of original failures, so a later record that inherits one (it read
 *     the failed tensor, perhaps long after) can still say where the failure came from;
 *   - the pending failures, the first per thread, raised by that thread's next sync.
 * All three are bounded: what falls out is the oldest, and only costs a location.
 */
#include "failures.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/op.h"
#include "tensord.h"

#define ORIGINS 64 /* remembered original failures */
#define PENDING 32 /* threads with an unraised failure */

struct slot {
    uint64_t index;  /* record index + 1 (0: empty) */
    uint64_t where;  /* td_location_set value */
    pthread_t thread;
};

struct origin {
    uint64_t record; /* + 1 */
    uint64_t where;
};

struct pending {
    bool used;
    pthread_t thread;
    struct td_conn_error e;
    uint64_t origin_where, use_where;
};

struct td_failures {
    struct slot *ring;
    size_t ring_mask;
    struct origin origins[ORIGINS];
    unsigned next_origin;
    struct pending pending[PENDING];
    unsigned next_pending; /* round-robin victim when all are used */
};

static _Thread_local uint64_t my_where;
static td_location_format_fn format_fn;

void td_location_set(uint64_t where) { my_where = where; }

void td_location_set_format(td_location_format_fn fn) { format_fn = fn; }

bool td__failures_set_window(struct td_failures *f, size_t window)
{
    size_t n = 64;
    while (n < 2 * window)
        n *= 2;
    if (f->ring && n == f->ring_mask + 1)
        return true;
    struct slot *ring = calloc(n, sizeof *ring); /* in-flight locations are forgotten */
    if (!ring)
        return false;
    free(f->ring);
    f->ring = ring;
    f->ring_mask = n - 1;
    return true;
}

struct td_failures *td__failures_new(size_t window)
{
    struct td_failures *f = calloc(1, sizeof *f);
    if (f && !td__failures_set_window(f, window)) {
        free(f);
        return NULL;
    }
    return f;
}

void td__failures_free(struct td_failures *f)
{
    if (!f)
        return;
    free(f->ring);
    free(f);
}

void td__failures_note(struct td_failures *f, uint64_t index)
{
    struct slot *s = &f->ring[index & f->ring_mask];
    s->index = index + 1;
    s->where = my_where;
    s->thread = pthread_self();
}

static const struct slot *slot_of(const struct td_failures *f, uint64_t index)
{
    const struct slot *s = &f->ring[index & f->ring_mask];
    return s->index == index + 1 ? s : NULL;
}

static uint64_t origin_where(const struct td_failures *f, uint64_t record)
{
    for (int i = 0; i < ORIGINS; i++)
        if (f->origins[i].record == record + 1)
            return f->origins[i].where;
    return 0;
}

void td__failures_report(struct td_failures *f, const struct td_conn_error *e)
{
    const struct slot *s = slot_of(f, e->record);
    uint64_t where = s ? s->where : 0;
    if (e->record == e->origin) {
        f->origins[f->next_origin++ % ORIGINS] = (struct origin){.record = e->record + 1, .where = where};
    }
    pthread_t thread = s ? s->thread : pthread_self();
    struct pending *free_slot = NULL;
    for (int i = 0; i < PENDING; i++) {
        if (f->pending[i].used && pthread_equal(f->pending[i].thread, thread))
            return; /* that thread raises its first failure; later ones are consequences */
        if (!f->pending[i].used && !free_slot)
            free_slot = &f->pending[i];
    }
    if (!free_slot) /* every slot is a thread's unraised failure: drop the oldest */
        free_slot = &f->pending[f->next_pending++ % PENDING];
    *free_slot = (struct pending){.used = true, .thread = thread, .e = *e, .use_where = where,
                                  .origin_where = e->record == e->origin ? where : origin_where(f, e->origin)};
}

/* " at file:line" (or nothing when the location is unknown). */
static void where_text(uint64_t where, char *buf, size_t len)
{
    buf[0] = 0;
    if (!where || !format_fn)
        return;
    char loc[200];
    loc[0] = 0;
    format_fn(where, loc, sizeof loc);
    if (loc[0])
        snprintf(buf, len, " at %s", loc);
}

enum td_code td__failures_take(struct td_failures *f, struct td_status *st)
{
    pthread_t self = pthread_self();
    for (int i = 0; i < PENDING; i++) {
        struct pending *p = &f->pending[i];
        if (!p->used || !pthread_equal(p->thread, self))
            continue;
        p->used = false;
        char from[220], use[220];
        where_text(p->origin_where, from, sizeof from);
        where_text(p->use_where, use, sizeof use);
        const char *op = p->e.op ? td_op_name(p->e.op) : "record";
        if (p->e.record == p->e.origin)
            return td_status_set(st, p->e.code, "%s\n  [tensord: %s failed%s]", p->e.msg, op, from);
        return td_status_set(st, p->e.code, "%s\n  [tensord: %s failed%s; its result was used%s]", p->e.msg, op,
                             from, use);
    }
    return TD_CODE_OK;
}
