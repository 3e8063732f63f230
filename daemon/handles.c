/* handles.c — the per-session handle table; see handles.h. */
#include "handles.h"

#include <stdlib.h>

static size_t slot_of(uint64_t id, size_t cap)
{
    id ^= id >> 33; /* ids are sequential on the client: mix before masking */
    id *= 0xff51afd7ed558ccdull;
    id ^= id >> 33;
    return (size_t)id & (cap - 1);
}

struct td_failure *td_failure_ref(struct td_failure *f)
{
    if (f)
        f->refs++;
    return f;
}

void td_failure_unref(struct td_failure *f)
{
    if (f && --f->refs == 0)
        free(f);
}

static void reset(struct td_handles *h)
{
    h->keys = NULL;
    h->vals = NULL;
    h->cap = h->count = 0;
}

void td_handles_init(struct td_handles *h)
{
    reset(h);
    h->shared = false;
    pthread_mutex_init(&h->mu, NULL);
}

static void wlock(struct td_handles *h)
{
    if (h->shared)
        pthread_mutex_lock(&h->mu);
}

static void wunlock(struct td_handles *h)
{
    if (h->shared)
        pthread_mutex_unlock(&h->mu);
}

void td_handles_fini(struct td_handles *h)
{
    for (size_t i = 0; i < h->cap; i++)
        if (h->keys[i]) {
            td_storage_unref(h->vals[i].storage);
            td_failure_unref(h->vals[i].fail);
        }
    free(h->keys);
    free(h->vals);
    reset(h);
    pthread_mutex_destroy(&h->mu);
}

struct td_tensor *td_handles_get(struct td_handles *h, uint64_t id)
{
    if (!id || !h->cap)
        return NULL;
    for (size_t i = slot_of(id, h->cap);; i = (i + 1) & (h->cap - 1)) {
        if (h->keys[i] == id)
            return &h->vals[i];
        if (!h->keys[i])
            return NULL;
    }
}

static bool grow(struct td_handles *h)
{
    size_t ncap = h->cap ? h->cap * 2 : 64;
    uint64_t *keys = calloc(ncap, sizeof *keys);
    struct td_tensor *vals = malloc(ncap * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return false;
    }
    for (size_t i = 0; i < h->cap; i++) {
        if (!h->keys[i])
            continue;
        size_t j = slot_of(h->keys[i], ncap);
        while (keys[j])
            j = (j + 1) & (ncap - 1);
        keys[j] = h->keys[i];
        vals[j] = h->vals[i];
    }
    free(h->keys);
    free(h->vals);
    h->keys = keys;
    h->vals = vals;
    h->cap = ncap;
    return true;
}

bool td_handles_put(struct td_handles *h, uint64_t id, const struct td_tensor *t)
{
    wlock(h);
    if ((h->count + 1) * 4 > h->cap * 3 && !grow(h)) {
        wunlock(h);
        return false;
    }
    size_t i = slot_of(id, h->cap);
    while (h->keys[i])
        i = (i + 1) & (h->cap - 1);
    h->keys[i] = id;
    h->vals[i] = *t;
    h->count++;
    wunlock(h);
    return true;
}

bool td_handles_del(struct td_handles *h, uint64_t id)
{
    struct td_tensor *t = td_handles_get(h, id);
    if (!t)
        return false;
    wlock(h);
    size_t i = (size_t)(t - h->vals);
    struct td_storage *storage = t->storage;
    struct td_failure *fail = t->fail;
    h->keys[i] = 0;
    h->count--;
    /* backward-shift: pull later entries of the probe run into the hole */
    for (size_t j = (i + 1) & (h->cap - 1); h->keys[j]; j = (j + 1) & (h->cap - 1)) {
        size_t home = slot_of(h->keys[j], h->cap);
        bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            h->keys[i] = h->keys[j];
            h->vals[i] = h->vals[j];
            h->keys[j] = 0;
            i = j;
        }
    }
    wunlock(h);
    td_storage_unref(storage); /* after the entry is gone: a foreign reader refs under mu */
    td_failure_unref(fail);
    return true;
}

struct td_storage *td_handles_get_foreign(struct td_handles *h, uint64_t id, bool *failed)
{
    pthread_mutex_lock(&h->mu);
    struct td_tensor *t = td_handles_get(h, id);
    struct td_storage *s = t ? t->storage : NULL;
    *failed = t && !s;
    if (s)
        td_storage_ref(s);
    pthread_mutex_unlock(&h->mu);
    return s;
}
