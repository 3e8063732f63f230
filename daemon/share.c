/*
 * share.c — the capability-token registry; see share.h.
 *
 * Tokens are few (one per pickled tensor in flight, one grant per forking session), so
 * a chained hash under one mutex is enough; the token's own random bits pick the bucket.
 * Expired pinned tokens are dropped lazily, by whichever registry call comes next.
 */
#include "share.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "session.h"

#define BUCKETS 1024

/* RESERVED: no storage yet (SHARE_RESERVE); FAILED: its owner's tensor failed, msg says
 * why; ENDED: its owner ended before filling it (kept while it lingers, so that a late
 * OPEN says so) */
enum kind { STORAGE, GRANT, RESERVED, FAILED, ENDED };

struct entry {
    struct entry *next;
    struct td_token tok;
    enum kind kind;
    unsigned mode;
    uint64_t owner;
    struct td_storage *storage; /* STORAGE: one reference */
    int64_t expires_ns;         /* lingering after its owner ended; 0: owner alive */
    char *msg;                  /* FAILED: the failure's message and code */
    enum td_code code;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* broadcast when a reserved token is filled, failed or dropped (OPENs wait on it) */
static pthread_cond_t settled = PTHREAD_COND_INITIALIZER;
static struct entry *buckets[BUCKETS];
static uint64_t n_entries, n_lingering;
static int64_t linger_ns = 30LL * 1000000000LL;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct entry **bucket_of(struct td_token t) { return &buckets[t.w[0] % BUCKETS]; }

/* Unlinks *pp (caller holds mu); the storage reference goes to *drop (released unlocked). */
static void unlink_entry(struct entry **pp, struct td_storage **drop)
{
    struct entry *e = *pp;
    *pp = e->next;
    *drop = e->storage;
    if (e->expires_ns)
        n_lingering--;
    if (e->kind == RESERVED)
        pthread_cond_broadcast(&settled);
    n_entries--;
    free(e->msg);
    free(e);
}

/* Drops lingering tokens whose time is up (caller holds mu; refs are dropped right away:
 * td_storage_unref takes no lock of ours). */
static void sweep_locked(void)
{
    if (!n_lingering)
        return;
    int64_t now = now_ns();
    for (int b = 0; b < BUCKETS; b++)
        for (struct entry **pp = &buckets[b]; *pp;) {
            if ((*pp)->expires_ns && (*pp)->expires_ns <= now) {
                struct td_storage *s;
                unlink_entry(pp, &s);
                td_storage_unref(s);
            } else {
                pp = &(*pp)->next;
            }
        }
}

static struct entry **find_locked(struct td_token t)
{
    struct entry **pp = bucket_of(t);
    while (*pp && memcmp(&(*pp)->tok, &t, sizeof t))
        pp = &(*pp)->next;
    return pp;
}

static enum td_code new_token(struct td_token *t, struct td_status *st)
{
    for (;;) {
        ssize_t n = getrandom(t, sizeof *t, 0);
        if (n == (ssize_t)sizeof *t)
            break;
        if (n < 0 && errno != EINTR)
            return td_status_set(st, TD_CODE_INTERNAL, "share: getrandom failed: %s", strerror(errno));
    }
    return TD_CODE_OK;
}

static enum td_code insert(uint64_t owner, enum kind kind, struct td_storage *s, unsigned mode, struct td_token *out,
                           struct td_status *st)
{
    struct entry *e = calloc(1, sizeof *e);
    if (!e)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "share: out of memory");
    e->kind = kind;
    e->mode = mode;
    e->owner = owner;
    e->storage = s;
    if (s)
        td_storage_ref(s); /* before the token is visible */
    pthread_mutex_lock(&mu);
    sweep_locked();
    do { /* a collision of 128 random bits will not happen; a zero token is never issued */
        if (new_token(&e->tok, st)) {
            pthread_mutex_unlock(&mu);
            td_storage_unref(s);
            free(e);
            return st->code;
        }
    } while ((!e->tok.w[0] && !e->tok.w[1]) || *find_locked(e->tok));
    struct entry **b = bucket_of(e->tok);
    e->next = *b;
    *b = e;
    n_entries++;
    *out = e->tok;
    pthread_mutex_unlock(&mu);
    return TD_CODE_OK;
}

enum td_code td_share_add(uint64_t owner, struct td_storage *s, unsigned mode, struct td_token *out,
                          struct td_status *st)
{
    if (!s)
        return td_status_set(st, TD_CODE_FAILED_PRECONDITION, "share: the tensor holds no data");
    return insert(owner, STORAGE, s, mode & (TD_SHARE_ONE_SHOT | TD_SHARE_PINNED), out, st);
}

enum td_code td_share_add_reserved(uint64_t owner, unsigned mode, struct td_token *out, struct td_status *st)
{
    return insert(owner, RESERVED, NULL, mode & (TD_SHARE_ONE_SHOT | TD_SHARE_PINNED), out, st);
}

/* The owner's reserved token tok (caller holds mu), or NULL. */
static struct entry *reserved_locked(uint64_t owner, struct td_token tok)
{
    struct entry *e = *find_locked(tok);
    return e && e->kind == RESERVED && e->owner == owner ? e : NULL;
}

enum td_code td_share_fill(uint64_t owner, struct td_token tok, struct td_storage *s, struct td_status *st)
{
    if (!s)
        return td_status_set(st, TD_CODE_FAILED_PRECONDITION, "share: the tensor holds no data");
    td_storage_ref(s);
    pthread_mutex_lock(&mu);
    struct entry *e = reserved_locked(owner, tok);
    if (e) {
        e->storage = s;
        e->kind = STORAGE;
        pthread_cond_broadcast(&settled);
    }
    pthread_mutex_unlock(&mu);
    if (e)
        return TD_CODE_OK;
    td_storage_unref(s);
    return td_status_set(st, TD_CODE_NOT_FOUND, "share_into: not a token this session reserved and has not filled");
}

void td_share_fill_failed(uint64_t owner, struct td_token tok, enum td_code code, const char *msg)
{
    char *m = strdup(msg ? msg : "unknown error");
    pthread_mutex_lock(&mu);
    struct entry *e = reserved_locked(owner, tok);
    if (e) {
        e->kind = FAILED;
        e->code = code ? code : TD_CODE_INTERNAL;
        e->msg = m;
        m = NULL;
        pthread_cond_broadcast(&settled);
    }
    pthread_mutex_unlock(&mu);
    free(m);
}

enum td_code td_share_grant(uint64_t owner, struct td_token *out, struct td_status *st)
{
    pthread_mutex_lock(&mu);
    for (int b = 0; b < BUCKETS; b++)
        for (struct entry *e = buckets[b]; e; e = e->next)
            if (e->kind == GRANT && e->owner == owner) {
                *out = e->tok;
                pthread_mutex_unlock(&mu);
                return TD_CODE_OK;
            }
    pthread_mutex_unlock(&mu);
    return insert(owner, GRANT, NULL, 0, out, st);
}

static enum td_code check_view(const struct td_meta *m, const struct td_storage *s, struct td_status *st)
{
    if (m->device != s->device) { /* a device pointer must never be taken for host memory */
        char a[16], b[16];
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "open: the shared storage is on %s, the view says %s",
                             td_device_str(s->device, a, sizeof a), td_device_str(m->device, b, sizeof b));
    }
    if (m->storage_nbytes > s->nbytes || !td_meta_check_bounds(m))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "open: the view (storage offset %lld, %d dims) lies outside the shared storage "
                             "of %lld bytes", (long long)m->offset, m->ndim, (long long)s->nbytes);
    return TD_CODE_OK;
}

/* Waits (holding mu) while tok is a reserved token of another session; false when the
 * opener's session ends first. */
static bool wait_settled_locked(uint64_t opener, struct td_token tok, const atomic_bool *cancel, bool *waited)
{
    for (struct entry *e; (e = *find_locked(tok)) && e->kind == RESERVED && e->owner != opener;) {
        if (cancel && atomic_load(cancel))
            return false;
        *waited = true;
        /* short slices: the opener's cancel flag is not signalled through this cond */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&settled, &mu, &ts);
    }
    return true;
}

enum td_code td_share_open(uint64_t opener, struct td_token tok, uint64_t handle, const struct td_meta *m,
                           const atomic_bool *cancel, struct td_storage **out, bool *on_use, struct td_status *st)
{
    *out = NULL;
    *on_use = false;
    bool waited = false;
    pthread_mutex_lock(&mu);
    sweep_locked();
    if (!handle && !wait_settled_locked(opener, tok, cancel, &waited)) {
        pthread_mutex_unlock(&mu);
        return td_status_set(st, TD_CODE_CANCELLED, "open: the session ended while waiting for a shared tensor");
    }
    struct entry **pp = find_locked(tok);
    struct entry *e = *pp;
    if (handle && e && e->kind != GRANT)
        e = NULL; /* a grant was named: nothing else answers to a handle */
    if (e && e->kind == RESERVED) { /* the opener's own reservation: its fill comes later in its own order */
        pthread_mutex_unlock(&mu);
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "tensord: this process reserved that shared-tensor token and has not filled it");
    }
    if (e && e->kind == FAILED) {
        struct td_storage *drop;
        enum td_code code = e->code; /* the failure's own kind (an IndexError stays one) */
        *on_use = true;
        td_status_set(st, code, "%s", e->msg ? e->msg : "tensord: the shared tensor failed where it was made");
        unlink_entry(pp, &drop);
        pthread_mutex_unlock(&mu);
        return code;
    }
    if ((e && e->kind == ENDED) || (!e && waited)) {
        struct td_storage *drop;
        *on_use = true;
        if (e)
            unlink_entry(pp, &drop);
        pthread_mutex_unlock(&mu);
        return td_status_set(st, TD_CODE_DATA_LOSS,
                             "tensord: the process that was sharing this tensor ended before it was made");
    }
    if (!e || (e->kind == GRANT) != (handle != 0)) {
        pthread_mutex_unlock(&mu);
        if (handle)
            return td_status_set(st, TD_CODE_NOT_FOUND,
                                 "tensord: cannot open a tensor inherited through fork: the parent process's "
                                 "session has ended (the parent exited or disconnected)");
        return td_status_set(st, TD_CODE_NOT_FOUND,
                             "tensord: unknown shared-tensor token (never issued, already opened, revoked, or "
                             "its owner process ended)");
    }
    if (e->kind == GRANT) {
        uint64_t owner = e->owner;
        /* still under mu: the owner cannot end (td_share_session_ended waits for mu)
         * while its table is read */
        enum td_code c = td_session_foreign_get(owner, handle, out, st);
        pthread_mutex_unlock(&mu);
        if (c)
            return c;
    } else {
        struct td_storage *s = e->storage, *drop;
        if (check_view(m, s, st)) {
            pthread_mutex_unlock(&mu);
            return st->code;
        }
        if (e->mode & TD_SHARE_ONE_SHOT)
            unlink_entry(pp, &drop); /* its reference becomes the opener's */
        else
            td_storage_ref(s);
        pthread_mutex_unlock(&mu);
        *out = s;
        return TD_CODE_OK;
    }
    if (check_view(m, *out, st)) {
        td_storage_unref(*out);
        *out = NULL;
        return st->code;
    }
    return TD_CODE_OK;
}

enum td_code td_share_revoke(uint64_t owner, struct td_token tok, struct td_status *st)
{
    struct td_storage *drop = NULL;
    pthread_mutex_lock(&mu);
    sweep_locked();
    struct entry **pp = find_locked(tok);
    if (!*pp || (*pp)->owner != owner) {
        pthread_mutex_unlock(&mu);
        return td_status_set(st, TD_CODE_NOT_FOUND, "revoke: not a live token of this session");
    }
    unlink_entry(pp, &drop);
    pthread_mutex_unlock(&mu);
    td_storage_unref(drop);
    return TD_CODE_OK;
}

uint64_t td_share_list(struct td_share_info *out, uint64_t max)
{
    uint64_t n = 0;
    pthread_mutex_lock(&mu);
    sweep_locked();
    int64_t now = now_ns();
    for (int b = 0; b < BUCKETS; b++)
        for (struct entry *e = buckets[b]; e; e = e->next, n++)
            if (n < max)
                out[n] = (struct td_share_info){
                    .tok = e->tok,
                    .owner = e->owner,
                    .grant = e->kind == GRANT,
                    .mode = e->mode,
                    .bytes = e->storage ? (uint64_t)e->storage->nbytes : 0,
                    .linger_s = e->expires_ns ? (double)(e->expires_ns - now) / 1e9 : -1.0,
                };
    pthread_mutex_unlock(&mu);
    return n;
}

bool td_share_owner(struct td_token tok, uint64_t *owner)
{
    pthread_mutex_lock(&mu);
    sweep_locked();
    struct entry **pp = find_locked(tok);
    bool found = *pp != NULL;
    if (found)
        *owner = (*pp)->owner;
    pthread_mutex_unlock(&mu);
    return found;
}

void td_share_session_ended(uint64_t owner)
{
    pthread_mutex_lock(&mu);
    int64_t until = now_ns() + linger_ns;
    for (int b = 0; b < BUCKETS; b++)
        for (struct entry **pp = &buckets[b]; *pp;) {
            struct entry *e = *pp;
            if (e->owner != owner || e->expires_ns) {
                pp = &e->next;
            } else if (e->kind != GRANT && (e->mode & TD_SHARE_PINNED) && linger_ns > 0) {
                if (e->kind == RESERVED) {
                    e->kind = ENDED;
                    pthread_cond_broadcast(&settled);
                }
                e->expires_ns = until;
                n_lingering++;
                pp = &e->next;
            } else {
                struct td_storage *s;
                unlink_entry(pp, &s);
                td_storage_unref(s);
            }
        }
    pthread_mutex_unlock(&mu);
}

void td_share_set_linger(double seconds)
{
    pthread_mutex_lock(&mu);
    linger_ns = seconds > 0 ? (int64_t)(seconds * 1e9) : 0;
    pthread_mutex_unlock(&mu);
}

uint64_t td_share_count(void)
{
    pthread_mutex_lock(&mu);
    sweep_locked();
    uint64_t n = n_entries;
    pthread_mutex_unlock(&mu);
    return n;
}

void td_share_clear(void)
{
    pthread_mutex_lock(&mu);
    for (int b = 0; b < BUCKETS; b++)
        while (buckets[b]) {
            struct td_storage *s;
            unlink_entry(&buckets[b], &s);
            td_storage_unref(s);
        }
    pthread_mutex_unlock(&mu);
}
