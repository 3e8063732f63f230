/*
 * client.c — libtensord's session: handle assignment, local validation through the
 * meta layer, op recording into batches, flushing, the run-ahead window, sync and data
 * transfer.
 *
 * Records accumulate in `rec` (and upload bytes in `payload`) until a sync point or a
 * threshold (records, bytes); then one ClientMsg carries them (conn.c).  A release is
 * appended to the stream at once, right after the ops that used the handle (adjacent
 * releases share one record), so the daemon's memory follows the program's live set.
 *
 * Every message is answered once the daemon has run it.  The answers say how far the
 * daemon has got (`executed`) and which records failed.  The client never runs more
 * than `depth` records ahead of the daemon: past that, recording waits for answers, like
 * a GPU launch queue.  Failures go to failures.c and are raised by the recording
 * thread's next sync.
 *
 * The client also keeps a small table of "known" storages (td_known_register): a
 * storage whose contents the caller knows, with a version that every record writing
 * the storage bumps.  Only writing records pay for it (one hash probe), and only while
 * the table is not empty.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../kernels/device.h"
#include "../kernels/overlap.h"
#include "autocast.h"
#include "conn.h"
#include "failures.h"
#include "fork.h"
#include "graph.h"
#include "tensord.h"
#include "../autograd/tape.h"

#define FLUSH_RECORD_BYTES (256 * 1024)
#define CHUNK_BYTES (1 << 20)         /* one UPLOAD/READ record moves at most this */
#define MSG_PAYLOAD_BYTES (4 << 20)   /* flush (or sync) once a message carries this */
#define MAX_RELEASES 255              /* handles per RELEASE record (n_in is 8 bits) */
#define RELEASE_SEND_BYTES (1u << 20) /* releases of storages this large are sent at once */
#define DEFAULT_DEPTH 2048            /* records the client may run ahead of the daemon */
#define MAX_DEPTH (1 << 16)
#define KNOWN_SLOTS (1u << 16)        /* known-storage table: open addressing, power of two */
#define KNOWN_MAX (KNOWN_SLOTS / 2)   /* beyond this many entries the table starts over */
#define PIN_MIN_SLOTS 64u             /* retained-handle table: open addressing, grows */

struct buf {
    uint8_t *p;
    size_t len, cap;
};

/* A graph the session holds (td_graph_end, td_graph_load): what its runs take and give. */
struct graph_info {
    uint64_t id;
    struct td__graph_file f; /* what td_graph_save writes: metas, storages of the outputs, the body */
    struct td_t *consts;     /* its constants, referenced (their data stays for td_graph_constants) */
    struct td_t *held;       /* a held capture's outputs, referenced, written by each replay */
    struct graph_info *next;
};

/* A graph capture under way (td_graph_begin). */
struct capture {
    bool on, oom;
    uint16_t ctrl_op;   /* a control record recorded during it (0: none) */
    uint64_t mark;      /* handles up to this existed before it */
    size_t from;        /* where its records start in rec */
    struct buf body;    /* its records sent so far */
    uint64_t *deferred; /* releases of pre-capture handles, held back until it ends */
    size_t n_def, cap_def;
    struct td_t *read;  /* the pre-capture tensors it read (handle, meta, storage id) */
    size_t n_read, cap_read;
    struct td_t *made;  /* the tensors it made, for a held capture */
    size_t n_made, cap_made;
};

/* A handle td_retain'ed: the releases it takes before its release record is sent. */
struct pin_slot {
    uint64_t handle; /* 0: free */
    uint64_t extra;
};

#define WRITE_SLOTS (1u << 16)         /* write counts: open addressing, power of two */
#define WRITE_MAX (WRITE_SLOTS / 4 * 3)

/* How many records wrote storage `storage` (0: free slot): torch's version counter, which
 * a tensor shares with its views. */
struct write_slot {
    uint64_t storage;
    uint64_t writes;
};

/* A known storage: its id (0: free slot) and its current version. */
struct known_slot {
    uint64_t storage;
    uint64_t version;
};

struct td_client {
    pthread_mutex_t lock;
    struct td_conn *conn;
    char target[512];
    uint64_t next_handle;
    struct buf rec, payload;
    size_t release_at;     /* offset of the open RELEASE record at the end of rec, or SIZE_MAX */
    uint64_t rec_index;    /* index of the next record (the daemon counts the same way) */
    uint64_t unsent;       /* records in rec */
    uint64_t executed;     /* records the daemon has run, from its latest answer */
    uint64_t depth, flush_records;
    struct td_failures *failures;
    enum td_dtype default_float;
    uint8_t device; /* td_client_set_device: where ops without tensor inputs create */
    unsigned fork_gen; /* td__fork_generation() at connect: another value = inherited by fork */
    struct known_slot *known; /* KNOWN_SLOTS slots once the first storage is registered */
    uint32_t known_n;
    uint64_t known_next;      /* next version: never reused, so a stale version never matches */
    uint64_t known_floor;     /* known_next when the table last started over */
    struct write_slot *writes; /* WRITE_SLOTS slots once a record first writes a tensor */
    uint32_t writes_n;
    struct pin_slot *pins;    /* retained handles (td_retain); pin_cap slots, a power of two */
    uint32_t pin_n, pin_cap;
    /* storages exported by td_storage_map (id and count of live exports), under their own
     * lock so that an unmap from a destructor never waits for the client's lock */
    pthread_mutex_t export_lock;
    struct exported { uint64_t storage, count; } *exports;
    size_t n_exports, cap_exports;
    atomic_size_t n_exports_live; /* n_exports, read without the lock on every op */
    /* releases of numpy arena blocks whose free could not take the lock (td_block_free),
     * under export_lock; sent by the next call that holds the lock */
    uint64_t *pend_rel;
    size_t n_pend, cap_pend;
    struct capture cap;
    struct graph_info *graphs;
    uint64_t next_graph;
};

/* A client inherited through fork() belongs to the parent's session (fork.h). */
#define FORK_CHECK(c, st)                                                                       \
    if ((c)->fork_gen != td__fork_generation())                                                 \
        return td_status_set(st, TD_CODE_FAILED_PRECONDITION, "tensord: this client belongs to " \
                             "the parent process's session (inherited through fork); connect "  \
                             "a new client in the child")

static bool buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64 * 1024;
    while (cap < b->len + extra)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return false;
    b->p = p;
    b->cap = cap;
    return true;
}

static void resolve_target(const char *address, char *out, size_t len)
{
    const char *env = getenv("TENSORD_ADDRESS");
    if (address && *address)
        snprintf(out, len, "%s", address);
    else if (env && *env)
        snprintf(out, len, "%s", env);
    else
        td_default_address(out, len);
}

/* $TENSORD_QUEUE_DEPTH, else the default; always within [1, MAX_DEPTH]. */
static uint64_t depth_from_env(void)
{
    const char *e = getenv("TENSORD_QUEUE_DEPTH");
    long long v = e && *e ? atoll(e) : DEFAULT_DEPTH;
    return v < 1 ? 1 : v > MAX_DEPTH ? MAX_DEPTH : (uint64_t)v;
}

/* The window: records recorded but not known to be executed, at most depth plus one
 * unsent batch; the location ring must cover all of them. */
static size_t window_of(uint64_t depth)
{
    return (size_t)(depth + depth / 2 + 64);
}

static bool set_depth(td_client_t *c, uint64_t depth)
{
    if (c->failures && !td__failures_set_window(c->failures, window_of(depth)))
        return false;
    c->depth = depth;
    /* two messages in flight: the daemon runs one while the client fills the next;
     * more, smaller messages cost more than they overlap (~40 us each over gRPC) */
    c->flush_records = depth / 2 ? depth / 2 : 1;
    return true;
}

td_client_t *td_client_connect(const char *address, int timeout_ms, struct td_status *st)
{
    td_client_t *c = calloc(1, sizeof *c);
    if (!c) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    set_depth(c, depth_from_env());
    c->failures = td__failures_new(window_of(c->depth));
    if (!c->failures) {
        free(c);
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    resolve_target(address, c->target, sizeof c->target);
    char desc[64];
    snprintf(desc, sizeof desc, "libtensord pid %d", (int)getpid());
    td__fork_init();
    td__fork_hold();
    c->conn = td__conn_open(c->target, desc, timeout_ms > 0 ? timeout_ms : 5000, st);
    td__fork_release();
    if (!c->conn) {
        td__failures_free(c->failures);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->export_lock, NULL);
    c->fork_gen = td__fork_generation();
    td__fork_track(&c->lock, c->target);
    c->next_handle = 1;
    c->release_at = SIZE_MAX;
    c->default_float = TD_DTYPE_FLOAT32;
    /* graph ids start at a random point: an id kept from another client (a forked parent's,
     * a pickled one, a lost session's) is never one of this client's graphs */
    if (getentropy(&c->next_graph, sizeof c->next_graph))
        c->next_graph = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32;
    c->next_graph &= ~(uint64_t)0xFFFFFFFF;
    return c;
}

uint64_t td_client_session(const td_client_t *c) { return td__conn_session_id(c->conn); }
bool td_client_lost(const td_client_t *c) { return td__conn_gone(c->conn); }

td_client_t *td_client_reconnect(const td_client_t *c, const char *address, int timeout_ms, struct td_status *st)
{
    td_client_t *n = td_client_connect(address ? address : td__conn_target(c->conn), timeout_ms, st);
    if (!n)
        return NULL;
    /* the session's settings, recorded in the new session as the old one had them */
    set_depth(n, c->depth);
    if ((c->default_float != n->default_float && td_client_set_default_float(n, c->default_float, st)) ||
        td_client_set_device(n, c->device, st)) {
        td_client_free(n);
        return NULL;
    }
    return n;
}
const char *td_client_transport(const td_client_t *c) { return td__conn_transport(c->conn); }

enum td_code td_client_stats(const char *address, struct td_stats *out, struct td_status *st)
{
    char target[512];
    resolve_target(address, target, sizeof target);
    td__fork_init();
    td__fork_hold();
    enum td_code code = td__conn_stats(target, out, st);
    td__fork_release();
    return code;
}

enum td_code td_client_set_queue_depth(td_client_t *c, uint64_t records, struct td_status *st)
{
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    bool ok = set_depth(c, records < 1 ? 1 : records > MAX_DEPTH ? MAX_DEPTH : records);
    pthread_mutex_unlock(&c->lock);
    return ok ? TD_CODE_OK : td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
}

uint64_t td_client_queue_depth(td_client_t *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t d = c->depth;
    pthread_mutex_unlock(&c->lock);
    return d;
}

/* ---- recording ---- */

static struct td_rec_hdr *rec_begin(td_client_t *c, unsigned op, unsigned flags, int n_out, int n_in, int n_attr)
{
    size_t words = 1 + (size_t)n_out + n_in + n_attr;
    if (!buf_reserve(&c->rec, words * 8))
        return NULL;
    struct td_rec_hdr *h = (struct td_rec_hdr *)(c->rec.p + c->rec.len);
    h->words = (uint16_t)words;
    h->op = (uint16_t)op;
    h->n_out = (uint8_t)n_out;
    h->n_in = (uint8_t)n_in;
    h->n_attr = (uint8_t)n_attr;
    h->flags = (uint8_t)flags;
    c->rec.len += words * 8;
    c->release_at = SIZE_MAX;
    if (c->cap.on && !c->cap.ctrl_op && op != TD_OP_RELEASE && op != TD_OP_GRAPH_FREE && /* (not the graph's) */
        td_op_table[op].family == TD_FAM_CTRL)
        c->cap.ctrl_op = (uint16_t)op;
    td__failures_note(c->failures, c->rec_index++);
    c->unsent++;
    return h;
}

/* Appends a handle to the open RELEASE record, or opens one.  false on OOM (the
 * handle then lives until the session ends, which frees it). */
static bool push_u64(uint64_t **a, size_t *n, size_t *cap, uint64_t v)
{
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        uint64_t *p = realloc(*a, nc * sizeof *p);
        if (!p)
            return false;
        *a = p, *cap = nc;
    }
    (*a)[(*n)++] = v;
    return true;
}

static bool release_locked(td_client_t *c, uint64_t handle)
{
    if (c->cap.on && handle <= c->cap.mark) /* a graph being captured may hold it */
        return push_u64(&c->cap.deferred, &c->cap.n_def, &c->cap.cap_def, handle);
    if (c->release_at != SIZE_MAX) {
        struct td_rec_hdr *h = (struct td_rec_hdr *)(c->rec.p + c->release_at);
        if (h->n_in < MAX_RELEASES && buf_reserve(&c->rec, 8)) {
            h = (struct td_rec_hdr *)(c->rec.p + c->release_at); /* the buffer may have moved */
            memcpy(c->rec.p + c->rec.len, &handle, 8);
            c->rec.len += 8;
            h->n_in++;
            h->words++;
            return true;
        }
    }
    size_t at = c->rec.len;
    struct td_rec_hdr *h = rec_begin(c, TD_OP_RELEASE, 0, 0, 1, 0);
    if (!h)
        return false;
    memcpy(h + 1, &handle, 8);
    c->release_at = at;
    return true;
}

/* Takes in one answer: progress and failures. */
static void absorb(td_client_t *c, const struct td_conn_reply *r)
{
    if (r->executed > c->executed)
        c->executed = r->executed;
    for (int i = 0; i < r->n_errors; i++)
        td__failures_report(c->failures, &r->errors[i]);
}

/* Reads the answers that are already there, without waiting. */
static enum td_code drain_ready(td_client_t *c, struct td_status *st)
{
    for (;;) {
        struct td_conn_reply r;
        bool got;
        if (td__conn_recv(c->conn, false, &r, &got, st))
            return st ? st->code : TD_CODE_UNAVAILABLE;
        if (!got)
            return TD_CODE_OK;
        absorb(c, &r);
        td__conn_reply_fini(&r);
    }
}

/* Sends what is recorded; *seq gets the message's number. */
static void capture_take(td_client_t *c)
{
    size_t n = c->rec.len - c->cap.from;
    if (buf_reserve(&c->cap.body, n)) {
        memcpy(c->cap.body.p + c->cap.body.len, c->rec.p + c->cap.from, n);
        c->cap.body.len += n;
    } else {
        c->cap.oom = true;
    }
    c->cap.from = c->rec.len;
}

static enum td_code send_locked(td_client_t *c, bool sync, uint64_t *seq, struct td_status *st)
{
    if (c->cap.on) {
        capture_take(c);
        c->cap.from = 0;
    }
    enum td_code code = td__conn_send(c->conn, c->rec.p, c->rec.len, c->payload.p, c->payload.len, sync, seq, st);
    c->rec.len = 0;
    c->payload.len = 0;
    c->unsent = 0;
    c->release_at = SIZE_MAX;
    return code;
}

/* Past a threshold: send, then keep within the window (wait for answers if needed). */
/* Sends what is recorded without waiting for its answers (records someone else may be
 * waiting for: a filled share token, a large release). */
static enum td_code send_now_locked(td_client_t *c, struct td_status *st)
{
    if (send_locked(c, false, NULL, st) || drain_ready(c, st))
        return st ? st->code : TD_CODE_UNAVAILABLE;
    return TD_CODE_OK;
}

static enum td_code maybe_flush(td_client_t *c, struct td_status *st)
{
    if (c->unsent < c->flush_records && c->rec.len < FLUSH_RECORD_BYTES && c->payload.len < MSG_PAYLOAD_BYTES)
        return TD_CODE_OK;
    if (send_locked(c, false, NULL, st) || drain_ready(c, st))
        return st ? st->code : TD_CODE_UNAVAILABLE;
    while (c->rec_index - c->executed > c->depth && td__conn_pending(c->conn)) {
        struct td_conn_reply r;
        bool got;
        if (td__conn_recv(c->conn, true, &r, &got, st))
            return st ? st->code : TD_CODE_UNAVAILABLE;
        absorb(c, &r);
        td__conn_reply_fini(&r);
    }
    return TD_CODE_OK;
}

/*
 * Sync with the daemon: send everything, read every answer up to this message's.
 * READ bytes (if any) land in *payload (malloc'd, may be NULL).  Then the calling
 * thread's first deferred failure, if any, is returned.
 */
static enum td_code sync_locked2(td_client_t *c, uint8_t **payload, size_t *payload_len, bool take_failures,
                                 struct td_status *st);

static enum td_code sync_locked(td_client_t *c, uint8_t **payload, size_t *payload_len, struct td_status *st)
{
    return sync_locked2(c, payload, payload_len, true, st);
}

static enum td_code sync_locked2(td_client_t *c, uint8_t **payload, size_t *payload_len, bool take_failures,
                                 struct td_status *st)
{
    uint64_t seq;
    if (payload)
        *payload = NULL, *payload_len = 0;
    if (send_locked(c, true, &seq, st))
        return st ? st->code : TD_CODE_UNAVAILABLE;
    for (;;) {
        struct td_conn_reply r;
        bool got;
        if (td__conn_recv(c->conn, true, &r, &got, st))
            return st ? st->code : TD_CODE_UNAVAILABLE;
        absorb(c, &r);
        if (r.seq != seq) {
            td__conn_reply_fini(&r);
            continue;
        }
        enum td_code code = r.code ? td_status_set(st, r.code, "%s", r.message) : TD_CODE_OK;
        if (!code && payload) {
            *payload = r.payload, *payload_len = r.payload_len;
            r.payload = NULL;
        }
        td__conn_reply_fini(&r);
        if (!code && take_failures)
            code = td__failures_take(c->failures, st);
        if (code && payload) {
            free(*payload);
            *payload = NULL;
        }
        return code;
    }
}

enum td_code td_sync(td_client_t *c, struct td_status *st)
{
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    enum td_code code = sync_locked(c, NULL, NULL, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

/* ---- retained handles: a small table of extra references, probed only while not empty ---- */

static uint32_t pin_hash(uint64_t h, uint32_t cap)
{
    return (uint32_t)((h * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static struct pin_slot *pin_find(td_client_t *c, uint64_t h)
{
    uint32_t i = pin_hash(h, c->pin_cap);
    while (c->pins[i].handle && c->pins[i].handle != h)
        i = (i + 1) & (c->pin_cap - 1);
    return &c->pins[i];
}

static bool pin_grow(td_client_t *c)
{
    uint32_t old_cap = c->pin_cap, cap = old_cap ? old_cap * 2 : PIN_MIN_SLOTS;
    struct pin_slot *old = c->pins, *p = calloc(cap, sizeof *p);
    if (!p)
        return false;
    c->pins = p;
    c->pin_cap = cap;
    for (uint32_t i = 0; i < old_cap; i++)
        if (old[i].handle)
            *pin_find(c, old[i].handle) = old[i];
    free(old);
    return true;
}

/* Removes slot s, shifting back the entries its removal would cut off (linear probing). */
static void pin_remove(td_client_t *c, struct pin_slot *s)
{
    uint32_t i = (uint32_t)(s - c->pins), mask = c->pin_cap - 1;
    c->pins[i].handle = 0;
    c->pin_n--;
    for (uint32_t j = (i + 1) & mask; c->pins[j].handle; j = (j + 1) & mask) {
        uint32_t home = pin_hash(c->pins[j].handle, c->pin_cap);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            c->pins[i] = c->pins[j];
            c->pins[j].handle = 0;
            i = j;
        }
    }
}

/* One reference less: true when it was the last (the release record is due). */
static bool unpin_locked(td_client_t *c, uint64_t h)
{
    if (!c->pin_n)
        return true;
    struct pin_slot *s = pin_find(c, h);
    if (!s->handle)
        return true;
    if (--s->extra == 0)
        pin_remove(c, s);
    return false;
}

/* Sends the releases td_block_free queued while the lock was busy. */
static void drain_pending_locked(td_client_t *c)
{
    if (!__atomic_load_n(&c->n_pend, __ATOMIC_RELAXED))
        return;
    pthread_mutex_lock(&c->export_lock);
    for (size_t i = 0; i < c->n_pend; i++)
        if (unpin_locked(c, c->pend_rel[i]))
            release_locked(c, c->pend_rel[i]);
    __atomic_store_n(&c->n_pend, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&c->export_lock);
}

void td_release(td_client_t *c, struct td_t *t)
{
    if (!t)
        return;
    if (t->ag) {
        td__ag_meta_unref(t->ag);
        t->ag = NULL;
    }
    if (!c || !t->handle || c->fork_gen != td__fork_generation())
        return;
    pthread_mutex_lock(&c->lock);
    drain_pending_locked(c);
    if (unpin_locked(c, t->handle)) {
        release_locked(c, t->handle);
        /* a transport failure shows at the next call.  A large storage's release goes now:
         * a process that only drops what it receives may never flush otherwise, and the
         * daemon can reuse the block at once instead of faulting in fresh memory */
        if (t->m.storage_nbytes >= RELEASE_SEND_BYTES && !td__conn_dead(c->conn))
            send_now_locked(c, NULL);
        else /* (a dead stream: records pile up until the next call's flush reports it) */
            maybe_flush(c, NULL);
    }
    t->handle = 0;
    pthread_mutex_unlock(&c->lock);
}

/* one more reference to h; false when out of memory */
static bool pin_locked(td_client_t *c, uint64_t h)
{
    if (c->pin_n + 1 > c->pin_cap / 2 && !pin_grow(c))
        return false;
    struct pin_slot *s = pin_find(c, h);
    if (!s->handle) {
        s->handle = h;
        s->extra = 0;
        c->pin_n++;
    }
    s->extra++;
    return true;
}

static uint64_t known_register_locked(td_client_t *c, const struct td_t *t);
static uint64_t writes_locked(td_client_t *c, uint64_t s);

/* td_retain, and with version non-NULL td_known_register and the write count
 * (version[0], version[1]), under one lock */
static struct td_t retain(td_client_t *c, const struct td_t *t, uint64_t *version)
{
    struct td_t r = *t;
    if (r.ag)
        td__ag_meta_ref(r.ag);
    if (version)
        version[0] = version[1] = 0;
    if (!c || !t->handle)
        return r;
    pthread_mutex_lock(&c->lock);
    bool ok = pin_locked(c, t->handle);
    if (ok && version) {
        version[0] = known_register_locked(c, t);
        version[1] = writes_locked(c, t->storage_id);
    }
    pthread_mutex_unlock(&c->lock);
    if (!ok) { /* out of memory: a copy of the tensor instead, on its own handle */
        const struct td_t *in[1] = {t};
        if (td__op_plain(c, TD_OP_CLONE, 0, in, 1, NULL, 0, &r, NULL) != TD_CODE_OK)
            r.handle = 0;
    }
    return r;
}

struct td_t td_retain(td_client_t *c, const struct td_t *t) { return retain(c, t, NULL); }

struct td_t td__retain_known(td_client_t *c, const struct td_t *t, uint64_t *version)
{
    return retain(c, t, version);
}

/* How many references t's handle has (1 + its retains). */
uint64_t td__handle_refs(td_client_t *c, const struct td_t *t)
{
    pthread_mutex_lock(&c->lock);
    uint64_t n = 1;
    if (c->pin_n) {
        struct pin_slot *s = pin_find(c, t->handle);
        n += s->handle ? s->extra : 0;
    }
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* ---- known storages ---- */

/* The slot of storage id s, or the free slot where it would go (the table is never full). */
static struct known_slot *known_slot(td_client_t *c, uint64_t s)
{
    uint32_t i = (uint32_t)((s * 0x9E3779B97F4A7C15ull) >> 48) & (KNOWN_SLOTS - 1);
    while (c->known[i].storage && c->known[i].storage != s)
        i = (i + 1) & (KNOWN_SLOTS - 1);
    return &c->known[i];
}

static struct write_slot *write_slot(td_client_t *c, uint64_t s)
{
    uint32_t i = (uint32_t)((s * 0x9E3779B97F4A7C15ull) >> 48) & (WRITE_SLOTS - 1);
    while (c->writes[i].storage && c->writes[i].storage != s)
        i = (i + 1) & (WRITE_SLOTS - 1);
    return &c->writes[i];
}

/* A record writes storage s: its write count goes up, and a known storage gets a new
 * version.  The counts start over when the table fills (storage ids are never reused,
 * so dead storages pile up): a storage written before that reads low afterwards. */
static void wrote(td_client_t *c, uint64_t s)
{
    if (!s)
        return;
    if (c->known_n) {
        struct known_slot *k = known_slot(c, s);
        if (k->storage)
            k->version = c->known_next++;
    }
    if (!c->writes && !(c->writes = calloc(WRITE_SLOTS, sizeof *c->writes)))
        return;
    struct write_slot *w = write_slot(c, s);
    if (!w->storage) {
        if (c->writes_n >= WRITE_MAX) {
            memset(c->writes, 0, WRITE_SLOTS * sizeof *c->writes);
            c->writes_n = 0;
            w = write_slot(c, s);
        }
        w->storage = s;
        c->writes_n++;
    }
    w->writes++;
}

static uint64_t writes_locked(td_client_t *c, uint64_t s)
{
    if (!c->writes || !s)
        return 0;
    struct write_slot *w = write_slot(c, s);
    return w->storage ? w->writes : 0;
}

uint64_t td_version(td_client_t *c, const struct td_t *t)
{
    if (!c || !t)
        return 0;
    pthread_mutex_lock(&c->lock);
    uint64_t v = writes_locked(c, t->storage_id);
    pthread_mutex_unlock(&c->lock);
    return v;
}

static uint64_t known_register_locked(td_client_t *c, const struct td_t *t)
{
    uint64_t v = 0;
    if (!c->known)
        c->known = calloc(KNOWN_SLOTS, sizeof *c->known);
    if (c->known && t->storage_id) {
        if (c->known_n >= KNOWN_MAX) { /* storage ids are never reused, so old entries only pile up */
            memset(c->known, 0, KNOWN_SLOTS * sizeof *c->known);
            c->known_n = 0;
            c->known_floor = c->known_next;
        }
        if (!c->known_next)
            c->known_next = 1;
        struct known_slot *k = known_slot(c, t->storage_id);
        if (!k->storage) {
            k->storage = t->storage_id;
            k->version = c->known_next++;
            c->known_n++;
        }
        v = k->version; /* unchanged since it was last written, so still exact */
    }
    return v;
}

uint64_t td_known_register(td_client_t *c, const struct td_t *t)
{
    pthread_mutex_lock(&c->lock);
    uint64_t v = known_register_locked(c, t);
    pthread_mutex_unlock(&c->lock);
    return v;
}

uint64_t td_known_version(td_client_t *c, const struct td_t *t)
{
    uint64_t v = 0;
    pthread_mutex_lock(&c->lock);
    if (c->known_n && t->storage_id)
        v = known_slot(c, t->storage_id)->version;
    pthread_mutex_unlock(&c->lock);
    return v;
}

bool td__known_changed(td_client_t *c, const struct td_t *t, uint64_t version)
{
    pthread_mutex_lock(&c->lock);
    /* a version from before the table started over says nothing: the storage may have
     * been registered again since, under a new version, without being written */
    bool changed = version && version >= c->known_floor && c->known_n && t->storage_id &&
                   known_slot(c, t->storage_id)->version != version &&
                   known_slot(c, t->storage_id)->storage;
    pthread_mutex_unlock(&c->lock);
    return changed;
}

/* torch's overlap checks on a record's destinations, at the call as torch makes them
 * (kernels/overlap.h); tensors are told apart by handle, storages by storage id. */
static enum td_code check_overlap(const struct td_op_args *a, const struct td_t *const *in, struct td_status *st)
{
    struct td_operand_id ids[TD_MAX_INPUTS];
    for (int i = 0; i < a->n_in; i++) {
        ids[i].tensor = in[i]->handle;
        ids[i].storage = in[i]->storage_id;
    }
    return td_meta_check_overlap(a, ids, st);
}

/* Appends *t to a capture's log (made or read tensors); out of memory spoils the capture. */
static void capture_log(td_client_t *c, struct td_t **a, size_t *n, size_t *cap, const struct td_t *t)
{
    if (c->cap.oom)
        return;
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        struct td_t *q = realloc(*a, nc * sizeof *q);
        if (!q) {
            c->cap.oom = true;
            return;
        }
        *a = q, *cap = nc;
    }
    (*a)[(*n)++] = *t;
}

/* Validates and records one op, without flushing. */
static enum td_code record_locked(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in,
                                  int n_in, const int64_t *attrs, int n_attr, struct td_t *out, struct td_status *st)
{
    const struct td_meta *metas[TD_MAX_INPUTS];
    if (n_in < 0 || n_in > TD_MAX_INPUTS || n_attr < 0 || n_attr > 255)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: too many inputs or attributes", td_op_name(op));
    for (int i = 0; i < n_in; i++)
        metas[i] = &in[i]->m;
    struct td_op_args a = {
        .op = (uint16_t)op, .flags = (uint8_t)flags, .n_in = (uint16_t)n_in, .in = metas,
        .attrs = attrs, .n_attr = (uint32_t)n_attr, .default_float = c->default_float, .device = c->device,
    };
    struct td_meta om[TD_MAX_OUTPUTS];
    struct td_infer inf;
    enum td_code code = td_meta_infer(&a, om, &inf, st);
    if (code == TD_CODE_ABORTED && (flags & TD_RF_OUT)) {
        /* an out= the caller must resize or cast first: torch checks overlaps before that */
        struct td_status ov = TD_STATUS_INIT;
        if (check_overlap(&a, in, &ov)) {
            if (st)
                td_status_clear(st);
            return td_status_set(st, ov.code, "%s", ov.msg);
        }
    }
    if (code || (td_meta_overlap_checked(&a) && check_overlap(&a, in, st)))
        return st ? st->code : TD_CODE_INVALID_ARGUMENT;
    int n_out = (flags & (TD_RF_INPLACE | TD_RF_OUT)) ? 0 : inf.n_out;
    struct td_rec_hdr *h = rec_begin(c, op, flags, n_out, n_in, n_attr);
    if (!h)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory recording %s", td_op_name(op));
    int first_w, end_w = td_op_written_inputs(op, flags, n_in, &first_w);
    for (int i = first_w; i < end_w; i++)
        wrote(c, in[i]->storage_id);
    uint64_t *w = (uint64_t *)(h + 1);
    for (int i = 0; c->cap.on && i < n_in; i++)
        if (in[i]->handle <= c->cap.mark)
            capture_log(c, &c->cap.read, &c->cap.n_read, &c->cap.cap_read, in[i]);
    for (int j = 0; j < n_out; j++) {
        out[j].handle = c->next_handle++;
        out[j].m = om[j];
        out[j].storage_id = inf.out_is_view ? in[0]->storage_id : out[j].handle;
        out[j].ag = NULL;
        *w++ = out[j].handle;
        if (c->cap.on)
            capture_log(c, &c->cap.made, &c->cap.n_made, &c->cap.cap_made, &out[j]);
    }
    for (int i = 0; i < n_in; i++)
        *w++ = in[i]->handle;
    if (n_attr)
        memcpy(w, attrs, sizeof(int64_t) * n_attr);
    return TD_CODE_OK;
}

/* Does the record read or write an exported storage (td_storage_map)? */
static bool touches_export(td_client_t *c, const struct td_t *const *in, int n_in)
{
    bool hit = false;
    pthread_mutex_lock(&c->export_lock);
    for (int i = 0; i < n_in && !hit; i++)
        for (size_t j = 0; j < c->n_exports && !hit; j++)
            hit = c->exports[j].storage == in[i]->storage_id;
    pthread_mutex_unlock(&c->export_lock);
    return hit;
}

/* After a record on in[0..n_in): memory shared with numpy is done before the caller can
 * look at it (tensord.h); otherwise a flush past the thresholds. */
static enum td_code recorded_locked(td_client_t *c, const struct td_t *const *in, int n_in, struct td_status *st)
{
    if (atomic_load_explicit(&c->n_exports_live, memory_order_relaxed) && touches_export(c, in, n_in))
        return sync_locked(c, NULL, NULL, st);
    return maybe_flush(c, st);
}

static enum td_code op_locked(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in,
                              int n_in, const int64_t *attrs, int n_attr, struct td_t *out, struct td_status *st)
{
    if (record_locked(c, op, flags, in, n_in, attrs, n_attr, out, st))
        return st ? st->code : TD_CODE_INVALID_ARGUMENT;
    return recorded_locked(c, in, n_in, st);
}

static bool export_add(td_client_t *c, uint64_t storage)
{
    bool ok = true;
    pthread_mutex_lock(&c->export_lock);
    size_t j = 0;
    while (j < c->n_exports && c->exports[j].storage != storage)
        j++;
    if (j == c->n_exports) {
        if (c->n_exports == c->cap_exports) {
            size_t cap = c->cap_exports ? 2 * c->cap_exports : 8;
            struct exported *e = realloc(c->exports, cap * sizeof *e);
            ok = e != NULL;
            if (ok)
                c->exports = e, c->cap_exports = cap;
        }
        if (ok)
            c->exports[c->n_exports++] = (struct exported){storage, 0};
    }
    if (ok)
        c->exports[j].count++;
    atomic_store(&c->n_exports_live, c->n_exports);
    pthread_mutex_unlock(&c->export_lock);
    return ok;
}

void td_storage_unmap(td_client_t *c, uint64_t storage_id)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->export_lock);
    for (size_t j = 0; j < c->n_exports; j++)
        if (c->exports[j].storage == storage_id) {
            if (--c->exports[j].count == 0)
                c->exports[j] = c->exports[--c->n_exports];
            break;
        }
    atomic_store(&c->n_exports_live, c->n_exports);
    pthread_mutex_unlock(&c->export_lock);
}

/*
 * LOCATE t, sync (take_failures: as td_sync does; else earlier ops' deferred failures stay
 * queued for their own threads), map the arena, and mark the storage exported: *base is
 * the storage's first byte here, *nbytes its size.  FAILED_PRECONDITION when it cannot be
 * mapped in this process.
 */
static enum td_code map_locked(td_client_t *c, const struct td_t *t, bool take_failures, uint8_t **base,
                               size_t *nbytes, struct td_status *st)
{
    uint8_t *p = NULL;
    size_t len = 0;
    const struct td_t *in[1] = {t};
    enum td_code code = record_locked(c, TD_OP_LOCATE, 0, in, 1, NULL, 0, NULL, st);
    if (!code)
        code = sync_locked2(c, &p, &len, take_failures, st);
    uint64_t loc[3] = {0, 0, 0}; /* arena, offset, storage bytes */
    if (!code && len != sizeof loc)
        code = td_status_set(st, TD_CODE_INTERNAL, "locate: expected %zu bytes, got %zu", sizeof loc, len);
    if (!code)
        memcpy(loc, p, sizeof loc);
    free(p);
    uint8_t *abase = NULL;
    size_t asize = 0;
    if (!code && !loc[0])
        code = td_status_set(st, TD_CODE_FAILED_PRECONDITION, "the tensor's storage is in no shared arena");
    if (!code && td__conn_map_arena(c->conn, loc[0], &abase, &asize, st))
        code = st ? (st->code = TD_CODE_FAILED_PRECONDITION) : TD_CODE_FAILED_PRECONDITION;
    if (!code && (loc[1] > asize || loc[2] > asize - loc[1]))
        code = td_status_set(st, TD_CODE_INTERNAL, "storage [%llu, +%llu) lies outside its arena of %zu bytes",
                             (unsigned long long)loc[1], (unsigned long long)loc[2], asize);
    if (!code && !export_add(c, t->storage_id))
        code = td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
    if (!code) {
        *base = abase + loc[1];
        *nbytes = (size_t)loc[2];
    }
    return code;
}

enum td_code td_storage_map(td_client_t *c, const struct td_t *t, void **base, size_t *nbytes,
                            struct td_status *st)
{
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    uint8_t *b = NULL;
    enum td_code code = map_locked(c, t, true, &b, nbytes, st);
    if (!code)
        *base = b;
    pthread_mutex_unlock(&c->lock);
    return code;
}

/*
 * Blocks for numpy's data-memory handler (client_py/ext/numpy_arena.c): never wait for the
 * client's lock, since the allocator can run on a thread that already holds it (a Python
 * hook called back from the autograd engine); busy means "use libc".
 */
enum td_code td_block_new(td_client_t *c, size_t nbytes, struct td_t *out, void **base, struct td_status *st)
{
    FORK_CHECK(c, st);
    if (nbytes > INT64_MAX)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "block too large");
    int64_t sizes[1] = {(int64_t)nbytes}, attrs[3];
    const struct td_argval v[3] = {{.w = {TD_DTYPE_UINT8}}, {.w = {0}}, {.list = sizes, .n = 1}};
    if (td_op_pack(TD_OP_EMPTY, v, 3, attrs, 3, st) < 0)
        return st ? st->code : TD_CODE_INVALID_ARGUMENT;
    if (pthread_mutex_trylock(&c->lock))
        return td_status_set(st, TD_CODE_UNAVAILABLE, "client busy");
    drain_pending_locked(c);
    /* not zeroed: the caller copies its array over the block (TD_RF_UNINIT) */
    enum td_code code = record_locked(c, TD_OP_EMPTY, TD_RF_UNINIT, NULL, 0, attrs, 3, out, st);
    if (code) {
        pthread_mutex_unlock(&c->lock);
        return code;
    }
    /* an earlier op's deferred failure stays queued for its owner, not for the allocator */
    uint8_t *b = NULL;
    size_t got = 0;
    code = map_locked(c, out, false, &b, &got, st);
    if (!code && got < nbytes) {
        td_storage_unmap(c, out->storage_id);
        code = td_status_set(st, TD_CODE_FAILED_PRECONDITION, "the block is smaller than asked");
    }
    if (!code) {
        td__conn_keep_arenas(c->conn);
        /* exported only once something else can reach it (td_block_export): until then
         * no op touches it, and the ops of a program holding many arrays scan no list */
        td_storage_unmap(c, out->storage_id);
    }
    if (!code)
        *base = b;
    else {
        if (unpin_locked(c, out->handle))
            release_locked(c, out->handle);
        out->handle = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return code;
}

bool td_block_export(td_client_t *c, const struct td_t *t) { return c && export_add(c, t->storage_id); }

void td_block_free(td_client_t *c, struct td_t *t)
{
    if (!c || !t->handle || c->fork_gen != td__fork_generation())
        return;
    td_storage_unmap(c, t->storage_id);
    if (!pthread_mutex_trylock(&c->lock)) {
        drain_pending_locked(c);
        if (unpin_locked(c, t->handle)) {
            release_locked(c, t->handle);
            maybe_flush(c, NULL);
        }
        pthread_mutex_unlock(&c->lock);
    } else {
        pthread_mutex_lock(&c->export_lock);
        if (c->n_pend == c->cap_pend) {
            size_t cap = c->cap_pend ? 2 * c->cap_pend : 16;
            uint64_t *q = realloc(c->pend_rel, cap * sizeof *q);
            if (q)
                c->pend_rel = q, c->cap_pend = cap;
        }
        if (c->n_pend < c->cap_pend) /* else out of memory: the handle lives until the session ends */
            c->pend_rel[c->n_pend] = t->handle, __atomic_store_n(&c->n_pend, c->n_pend + 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&c->export_lock);
    }
    t->handle = 0;
}

enum td_code td_client_set_default_float(td_client_t *c, enum td_dtype dt, struct td_status *st)
{
    int64_t attr;
    const struct td_argval v[1] = {{.w = {dt}}};
    if (td_op_pack(TD_OP_SET_DEFAULT_DTYPE, v, 1, &attr, 1, st) < 0)
        return st ? st->code : TD_CODE_INVALID_ARGUMENT;
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    enum td_code code = op_locked(c, TD_OP_SET_DEFAULT_DTYPE, 0, NULL, 0, &attr, 1, NULL, st);
    if (!code)
        c->default_float = dt;
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_client_set_device(td_client_t *c, uint8_t device, struct td_status *st)
{
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    enum td_code code = TD_CODE_OK;
    if (device != c->device) {
        int64_t attr = device;
        code = op_locked(c, TD_OP_SET_DEVICE, 0, NULL, 0, &attr, 1, NULL, st);
        if (!code)
            c->device = device;
    }
    pthread_mutex_unlock(&c->lock);
    return code;
}

uint8_t td_client_device(td_client_t *c) { return c->device; }

/* A control record whose answer comes back in a sync: *p (malloc'd) and *len. */
static enum td_code ask(td_client_t *c, enum td_op op, const int64_t *attrs, int n_attr, uint8_t **p, size_t *len,
                        struct td_status *st)
{
    *p = NULL;
    *len = 0;
    pthread_mutex_lock(&c->lock);
    enum td_code code = record_locked(c, op, 0, NULL, 0, attrs, n_attr, NULL, st);
    if (!code)
        code = sync_locked(c, p, len, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_device_query(td_client_t *c, uint8_t device, int what, void *buf, struct td_status *st)
{
    FORK_CHECK(c, st);
    const int64_t attrs[2] = {device, what};
    uint8_t *p;
    size_t len;
    enum td_code code = ask(c, TD_OP_DEVICE_QUERY, attrs, 2, &p, &len, st);
    if (!code && len != TD_DEVICE_QUERY_BYTES)
        code = td_status_set(st, TD_CODE_INTERNAL, "device_query: expected %d bytes, got %zu", TD_DEVICE_QUERY_BYTES,
                             len);
    if (!code)
        memcpy(buf, p, TD_DEVICE_QUERY_BYTES);
    free(p);
    return code;
}

enum td_code td_profile(td_client_t *c, int mode, uint64_t **triples, size_t *n, struct td_status *st)
{
    FORK_CHECK(c, st);
    const int64_t attrs[1] = {mode};
    uint8_t *p;
    size_t len;
    *triples = NULL;
    *n = 0;
    enum td_code code = ask(c, TD_OP_PROFILE, attrs, 1, &p, &len, st);
    if (!code && len % (3 * sizeof(uint64_t)))
        code = td_status_set(st, TD_CODE_INTERNAL, "profile: %zu bytes is not a list of triples", len);
    if (code || !len) {
        free(p);
        return code;
    }
    *triples = (uint64_t *)p; /* sync_locked's buffer is malloc'd and aligned for it */
    *n = len / (3 * sizeof(uint64_t));
    return TD_CODE_OK;
}

enum td_code td_device_ctrl(td_client_t *c, uint8_t device, int what, int64_t value, struct td_status *st)
{
    FORK_CHECK(c, st);
    const int64_t attrs[3] = {device, what, value};
    pthread_mutex_lock(&c->lock);
    enum td_code code = record_locked(c, TD_OP_DEVICE_CTRL, 0, NULL, 0, attrs, 3, NULL, st);
    if (!code)
        code = sync_locked(c, NULL, NULL, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

/* ---- streams and events: STREAM_CTRL / EVENT_CTRL records (kernels/device.h TD_SC_*,
 * TD_EC_*).  Actions that answer, or whose failure the caller must see at once, end
 * with a sync; the others are queued like any op. */

static atomic_int_fast64_t next_stream_id = 1, next_event_id = 1;

static enum td_code stream_rec(td_client_t *c, enum td_op op, int64_t device, int64_t what, int64_t id, int64_t other,
                               bool sync, void *answer, struct td_status *st)
{
    FORK_CHECK(c, st);
    const int64_t attrs[4] = {device, what, id, other};
    uint8_t *p = NULL;
    size_t len = 0;
    pthread_mutex_lock(&c->lock);
    enum td_code code = sync ? record_locked(c, op, 0, NULL, 0, attrs, 4, NULL, st)
                             : op_locked(c, op, 0, NULL, 0, attrs, 4, NULL, st);
    if (!code && sync)
        code = sync_locked(c, answer ? &p : NULL, answer ? &len : NULL, st);
    pthread_mutex_unlock(&c->lock);
    if (!code && answer && len != 8)
        code = td_status_set(st, TD_CODE_INTERNAL, "%s: expected 8 bytes, got %zu", td_op_name(op), len);
    if (!code && answer)
        memcpy(answer, p, 8);
    free(p);
    return code;
}

enum td_code td_stream_new(td_client_t *c, uint8_t device, int64_t *id, struct td_status *st)
{
    *id = atomic_fetch_add(&next_stream_id, 1);
    return stream_rec(c, TD_OP_STREAM_CTRL, device, TD_SC_CREATE, *id, 0, true, NULL, st);
}

enum td_code td_stream_free(td_client_t *c, uint8_t device, int64_t id, struct td_status *st)
{
    return stream_rec(c, TD_OP_STREAM_CTRL, device, TD_SC_DESTROY, id, 0, false, NULL, st);
}

enum td_code td_stream_set(td_client_t *c, uint8_t device, int64_t id, struct td_status *st)
{
    return stream_rec(c, TD_OP_STREAM_CTRL, device, TD_SC_SET_CURRENT, id, 0, false, NULL, st);
}

enum td_code td_stream_wait_event(td_client_t *c, uint8_t device, int64_t id, int64_t event, struct td_status *st)
{
    return stream_rec(c, TD_OP_STREAM_CTRL, device, TD_SC_WAIT_EVENT, id, event, false, NULL, st);
}

enum td_code td_stream_synchronize(td_client_t *c, uint8_t device, int64_t id, struct td_status *st)
{
    return stream_rec(c, TD_OP_STREAM_CTRL, device, TD_SC_SYNCHRONIZE, id, 0, true, NULL, st);
}

enum td_code td_stream_query(td_client_t *c, uint8_t device, int64_t id, bool *done, struct td_status *st)
{
    int64_t w = 0;
    enum td_code code = stream_rec(c, TD_OP_STREAM_CTRL, device, TD_SC_QUERY, id, 0, true, &w, st);
    *done = w != 0;
    return code;
}

enum td_code td_event_new(td_client_t *c, unsigned flags, int64_t *id, struct td_status *st)
{
    *id = atomic_fetch_add(&next_event_id, 1);
    return stream_rec(c, TD_OP_EVENT_CTRL, 0, TD_EC_CREATE, *id, flags, false, NULL, st);
}

enum td_code td_event_free(td_client_t *c, int64_t id, struct td_status *st)
{
    return stream_rec(c, TD_OP_EVENT_CTRL, 0, TD_EC_DESTROY, id, 0, false, NULL, st);
}

enum td_code td_event_record(td_client_t *c, int64_t id, uint8_t device, int64_t stream, struct td_status *st)
{
    return stream_rec(c, TD_OP_EVENT_CTRL, device, TD_EC_RECORD, id, stream, false, NULL, st);
}

enum td_code td_event_query(td_client_t *c, int64_t id, bool *done, struct td_status *st)
{
    int64_t w = 0;
    enum td_code code = stream_rec(c, TD_OP_EVENT_CTRL, 0, TD_EC_QUERY, id, 0, true, &w, st);
    *done = w != 0;
    return code;
}

enum td_code td_event_synchronize(td_client_t *c, int64_t id, struct td_status *st)
{
    return stream_rec(c, TD_OP_EVENT_CTRL, 0, TD_EC_SYNCHRONIZE, id, 0, true, NULL, st);
}

enum td_code td_event_elapsed(td_client_t *c, int64_t start, int64_t end, double *ms, struct td_status *st)
{
    *ms = 0;
    return stream_rec(c, TD_OP_EVENT_CTRL, 0, TD_EC_ELAPSED, start, end, true, ms, st);
}

enum td_code td_record_stream(td_client_t *c, const struct td_t *t, int64_t stream, struct td_status *st)
{
    FORK_CHECK(c, st);
    const struct td_t *in[1] = {t};
    pthread_mutex_lock(&c->lock);
    enum td_code code = op_locked(c, TD_OP_RECORD_STREAM, 0, in, 1, &stream, 1, NULL, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td__op_plain(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in, int n_in,
                          const int64_t *attrs, int n_attr, struct td_t *out, struct td_status *st)
{
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    enum td_code code = op_locked(c, op, flags, in, n_in, attrs, n_attr, out, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_op(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in, int n_in,
                   const int64_t *attrs, int n_attr, struct td_t *out, struct td_status *st)
{
    if (td__amp_wants(op, flags, in, n_in))
        return td__amp_op(c, op, flags, in, n_in, attrs, n_attr, out, st);
    if (td__ag_wants(op, in, n_in))
        return td__ag_op(c, op, flags, in, n_in, attrs, n_attr, out, st);
    enum td_code code = td__op_plain(c, op, flags, in, n_in, attrs, n_attr, out, st);
    /* a view made in grad mode knows its base, whose history an in-place op on the view
     * rebases (autograd/tape.c) */
    if (!code && n_in && td_op_table[op].family == TD_FAM_VIEW && !(flags & TD_RF_INPLACE)) {
        if (td_grad_enabled())
            td__ag_track_view(c, op, in[0], out);
        else if (in[0]->ag)
            td__ag_mark_no_grad_view(c, in[0], out);
    }
    return code;
}


/* ---- graphs (td_graph_*; the planning is graph.c, the daemon's side daemon/graph.c) ---- */

static void graph_info_free(struct graph_info *g)
{
    if (!g)
        return;
    td__graph_file_fini(&g->f);
    free(g->consts);
    free(g->held);
    free(g);
}

/* The references a graph holds (its constants', a held capture's outputs'), let go. */
static void graph_info_release_locked(td_client_t *c, struct graph_info *g)
{
    for (uint32_t k = 0; g->consts && k < g->f.n_consts; k++)
        if (unpin_locked(c, g->consts[k].handle))
            release_locked(c, g->consts[k].handle);
    for (uint32_t j = 0; g->held && j < g->f.n_out; j++)
        if (unpin_locked(c, g->held[j].handle))
            release_locked(c, g->held[j].handle);
}

/* A run wrote the constants it writes: their version counters move. */
static void graph_wrote_consts(td_client_t *c, const struct graph_info *g)
{
    for (uint32_t w = 0; w < g->f.n_cw; w++)
        wrote(c, g->consts[g->f.cw[w]].storage_id);
}

static struct graph_info **graph_find(td_client_t *c, uint64_t id)
{
    struct graph_info **pp = &c->graphs;
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    return pp;
}

enum td_code td_graph_begin(td_client_t *c, struct td_status *st)
{
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    enum td_code code = TD_CODE_OK;
    if (c->cap.on) {
        code = td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph capture: a capture is under way already");
    } else {
        c->cap.on = true;
        c->cap.oom = false;
        c->cap.ctrl_op = 0;
        c->cap.mark = c->next_handle - 1;
        c->cap.from = c->rec.len;
        c->cap.body.len = c->cap.n_def = c->cap.n_read = c->cap.n_made = 0;
        c->release_at = SIZE_MAX; /* releases during it open a record of their own */
    }
    pthread_mutex_unlock(&c->lock);
    return code;
}

bool td_graph_capturing(td_client_t *c) { return c && c->cap.on; }
uint64_t td_graph_mark(td_client_t *c) { return c && c->cap.on ? c->cap.mark : 0; }

/* Ends a capture: the held-back releases go out (after anything recorded since). */
static void capture_stop_locked(td_client_t *c)
{
    c->cap.on = false;
    for (size_t i = 0; i < c->cap.n_def; i++)
        release_locked(c, c->cap.deferred[i]);
    c->cap.n_def = 0;
}

void td_graph_abort(td_client_t *c)
{
    if (!c || c->fork_gen != td__fork_generation())
        return;
    pthread_mutex_lock(&c->lock);
    if (c->cap.on)
        capture_stop_locked(c);
    pthread_mutex_unlock(&c->lock);
}

/* A pre-capture tensor the capture read, by handle (NULL: none). */
static const struct td_t *capture_read(const td_client_t *c, uint64_t handle)
{
    for (size_t i = 0; i < c->cap.n_read; i++)
        if (c->cap.read[i].handle == handle)
            return &c->cap.read[i];
    return NULL;
}

/* The output storages of a graph: out_src[j] input i whose storage output j shares, or
 * -1 - k: output k's (k <= j: its own when fresh); out_const[j] the constant it views. */
static void classify_outputs(struct td__graph_file *f, const struct td_t *const *in, const struct td_t *const *out,
                             const struct td_t *consts)
{
    for (uint32_t j = 0; j < f->n_out; j++) {
        uint64_t sid = out[j]->storage_id;
        f->out_src[j] = -1 - (int32_t)j;
        f->out_const[j] = -1;
        for (uint32_t i = 0; i < f->n_in && f->out_src[j] < 0; i++)
            if (in[i]->storage_id == sid)
                f->out_src[j] = (int32_t)i;
        for (uint32_t k = 0; k < f->n_consts && f->out_src[j] < 0 && f->out_const[j] < 0; k++)
            if (consts[k].storage_id == sid)
                f->out_const[j] = (int32_t)k;
        for (uint32_t k = 0; k < j && f->out_src[j] == -1 - (int32_t)j && f->out_const[j] < 0; k++)
            if (out[k]->storage_id == sid)
                f->out_src[j] = f->out_src[k] >= 0 ? f->out_src[k] : -1 - (int32_t)k;
    }
}

/* What a run needs to know of the graph, from the capture (taking the plan's body). */
static struct graph_info *graph_info_new(td_client_t *c, int n_in, const struct td_t *const *in, int n_out,
                                         const struct td_t *const *out, struct td__graph_plan *p)
{
    struct graph_info *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    struct td__graph_file *f = &g->f;
    f->n_in = (uint32_t)n_in, f->n_out = (uint32_t)n_out, f->n_consts = p->n_consts;
    size_t n_m = (size_t)n_in + (size_t)n_out + p->n_consts;
    f->m = malloc((n_m + 1) * sizeof *f->m);
    f->out_src = malloc(((size_t)n_out + 1) * sizeof *f->out_src);
    f->out_const = malloc(((size_t)n_out + 1) * sizeof *f->out_const);
    f->in_written = calloc((size_t)n_in + 1, 1);
    f->cw = malloc(((size_t)p->n_const_written + 1) * sizeof *f->cw);
    g->consts = calloc((size_t)p->n_consts + 1, sizeof *g->consts);
    if (!f->m || !f->out_src || !f->out_const || !f->in_written || !f->cw || !g->consts) {
        graph_info_free(g);
        return NULL;
    }
    for (uint32_t k = 0; k < p->n_consts; k++) {
        const struct td_t *t = capture_read(c, p->consts[k]);
        if (t) /* (always: the capture read it) */
            g->consts[k] = *t;
        g->consts[k].ag = NULL; /* the program's autograd state is not the graph's */
        f->m[n_in + n_out + k] = g->consts[k].m;
    }
    for (int i = 0; i < n_in; i++) {
        f->m[i] = in[i]->m;
        f->in_written[i] = p->in_written[i];
    }
    for (int j = 0; j < n_out; j++)
        f->m[n_in + j] = out[j]->m;
    for (uint32_t w = 0; w < p->n_const_written; w++)
        for (uint32_t k = 0; k < p->n_consts; k++)
            if (p->consts[k] == p->const_written[w])
                f->cw[f->n_cw++] = k;
    classify_outputs(f, in, out, g->consts);
    f->body = p->body, f->words = p->words; /* taken over */
    p->body = NULL;
    return g;
}

/* GRAPH_DEFINE (and GRAPH_CONSTS for constants past the first record's room, and for a held
 * capture's outputs); the payload carries the inputs' layouts in_m, then the body. */
static enum td_code define_locked(td_client_t *c, uint64_t id, int n_in, const struct td_meta *in_m, int n_out,
                                  const struct td__graph_plan *p, const uint64_t *body, size_t words,
                                  struct td_status *st)
{
    size_t bytes = words * 8;
    for (int i = 0; i < n_in; i++)
        bytes += td_meta_wire_size(&in_m[i]);
    if (c->payload.len + bytes > MSG_PAYLOAD_BYTES && send_now_locked(c, st))
        return st ? st->code : TD_CODE_UNAVAILABLE;
    if (!buf_reserve(&c->payload, bytes))
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph capture: out of memory");
    uint32_t first = p->n_consts < 255 ? p->n_consts : 255;
    struct td_rec_hdr *h = rec_begin(c, TD_OP_GRAPH_DEFINE, 0, 0, (int)first, TD_N_GRAPH_DEFINE);
    if (!h)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph capture: out of memory");
    uint64_t *w = (uint64_t *)(h + 1);
    for (uint32_t k = 0; k < first; k++)
        *w++ = p->consts[k];
    int64_t attrs[TD_N_GRAPH_DEFINE];
    attrs[TD_A_GRAPH_DEFINE_GRAPH] = (int64_t)id;
    attrs[TD_A_GRAPH_DEFINE_N_INPUTS] = n_in;
    attrs[TD_A_GRAPH_DEFINE_N_OUTPUTS] = n_out;
    attrs[TD_A_GRAPH_DEFINE_N_CONSTS] = p->n_consts;
    attrs[TD_A_GRAPH_DEFINE_PAYLOAD] = (int64_t)c->payload.len;
    attrs[TD_A_GRAPH_DEFINE_LENGTH] = (int64_t)bytes;
    memcpy(w, attrs, sizeof attrs);
    for (int i = 0; i < n_in; i++) {
        td_meta_wire_put(&in_m[i], c->payload.p + c->payload.len);
        c->payload.len += td_meta_wire_size(&in_m[i]);
    }
    memcpy(c->payload.p + c->payload.len, body, words * 8);
    c->payload.len += words * 8;
    for (int held = 0; held < 2; held++) { /* the constants, then a held capture's outputs */
        const uint64_t *hs = held ? p->held : p->consts + first;
        uint32_t n = held ? p->n_held : p->n_consts - first;
        for (uint32_t k = 0; k < n; k += 255) {
            uint32_t m = n - k < 255 ? n - k : 255;
            if (!(h = rec_begin(c, TD_OP_GRAPH_CONSTS, 0, 0, (int)m, TD_N_GRAPH_CONSTS)))
                return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph capture: out of memory");
            w = (uint64_t *)(h + 1);
            memcpy(w, hs + k, m * sizeof *w);
            w[m + TD_A_GRAPH_CONSTS_GRAPH] = id;
            w[m + TD_A_GRAPH_CONSTS_HELD] = held;
        }
    }
    return TD_CODE_OK;
}

/* td_graph_end; out NULL: td_graph_end_held (the outputs: what the program still holds) */
static enum td_code end_locked(td_client_t *c, int n_in, const struct td_t *const *in, int n_out,
                               const struct td_t *const *out, uint64_t *id, struct td_status *st)
{
    enum td_code code = TD_CODE_OK;
    const struct td_t **held = NULL;
    bool is_held = !out;
    struct td__graph_plan p = {0};
    struct graph_info *g = NULL;
    if (!c->cap.on) {
        code = td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph capture: no capture is under way");
        goto out;
    }
    capture_take(c);
    if (n_in < 0 || n_in > 255 || n_out < 0 || n_out > 255)
        code = td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph capture: %d inputs and %d outputs (at most 255 "
                             "each)", n_in, n_out);
    else if (c->cap.oom)
        code = td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph capture: out of memory keeping the records");
    else if (c->cap.ctrl_op == TD_OP_READ)
        code = td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph capture: the captured code reads tensor data "
                             "(item(), tolist(), numpy(), printing, a data-dependent shape), which a graph cannot "
                             "hold");
    else if (c->cap.ctrl_op == TD_OP_UPLOAD)
        code = td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph capture: the captured code makes a tensor from "
                             "Python or numpy data (tensor(), as_tensor(), from_numpy()), which a graph cannot hold");
    else if (c->cap.ctrl_op)
        code = td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph capture: the captured code ran %s (it waits "
                             "for data from the daemon or controls the session), which a graph cannot hold",
                             td_op_name(c->cap.ctrl_op));
    else if (c->cap.body.len > MSG_PAYLOAD_BYTES)
        code = td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph capture: %zu bytes of records (at most %d)",
                             c->cap.body.len, MSG_PAYLOAD_BYTES);
    if (code) {
        capture_stop_locked(c);
        goto out;
    }
    uint64_t ins[256], outs[256];
    for (int i = 0; i < n_in; i++)
        ins[i] = in[i]->handle;
    for (int j = 0; out && j < n_out; j++)
        outs[j] = out[j]->handle;
    c->cap.on = false; /* the plan may fail: the held-back releases go after the define */
    code = td__graph_plan(c->cap.body.p, c->cap.body.len, c->cap.mark, ins, n_in, out ? outs : NULL, n_out, &p, st);
    if (!code && !out) { /* the held tensors, as they were made */
        n_out = (int)p.n_held;
        if (!(held = malloc(((size_t)n_out + 1) * sizeof *held)))
            code = td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph capture: out of memory");
        for (int j = 0; !code && j < n_out; j++)
            for (size_t k = 0; k < c->cap.n_made; k++)
                if (c->cap.made[k].handle == p.held[j])
                    held[j] = &c->cap.made[k];
        out = held;
    }
    if (code || !(g = graph_info_new(c, n_in, in, n_out, out, &p)) ||
        (is_held && !(g->held = malloc(((size_t)n_out + 1) * sizeof *g->held)))) {
        if (!code)
            code = td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph capture: out of memory");
        capture_stop_locked(c);
        goto out;
    }
    g->id = ++c->next_graph;
    code = define_locked(c, g->id, n_in, g->f.m, n_out, &p, g->f.body, g->f.words, st);
    if (!code) /* the graph's references: its constants (a release held back is the graph's to
                * make now), a held capture's outputs (replays write them) */
        for (uint32_t k = 0; k < g->f.n_consts; k++) {
            size_t d = 0;
            while (d < c->cap.n_def && c->cap.deferred[d] != g->consts[k].handle)
                d++;
            if (d < c->cap.n_def)
                c->cap.deferred[d] = c->cap.deferred[--c->cap.n_def];
            else
                pin_locked(c, g->consts[k].handle);
        }
    capture_stop_locked(c);
    if (code)
        goto out;
    for (int j = 0; is_held && j < n_out; j++) {
        g->held[j] = *out[j];
        g->held[j].ag = NULL;
        pin_locked(c, g->held[j].handle);
    }
    g->next = c->graphs;
    c->graphs = g;
    g = NULL;
    *id = c->next_graph;
    code = maybe_flush(c, st);
out:
    free(held);
    graph_info_free(g);
    td__graph_plan_fini(&p);
    return code;
}

enum td_code td_graph_end(td_client_t *c, int n_in, const struct td_t *const *in, int n_out,
                          const struct td_t *const *out, uint64_t *id, struct td_status *st)
{
    FORK_CHECK(c, st);
    if (!out && n_out)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph capture: %d outputs and no tensors", n_out);
    static const struct td_t *const none[1] = {NULL};
    pthread_mutex_lock(&c->lock);
    enum td_code code = end_locked(c, n_in, in, n_out, out ? out : none, id, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_graph_end_held(td_client_t *c, uint64_t *id, int *n_out, struct td_status *st)
{
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    enum td_code code = end_locked(c, 0, NULL, 0, NULL, id, st);
    if (!code)
        *n_out = (int)c->graphs->f.n_out; /* the graph just added */
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_graph_save(td_client_t *c, uint64_t id, uint8_t **bytes, size_t *len, struct td_status *st)
{
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    struct graph_info *g = *graph_find(c, id);
    enum td_code code = !g       ? td_status_set(st, TD_CODE_NOT_FOUND, "graph %llu: no such graph", (unsigned long long)id)
                        : g->held ? td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph %llu is a held capture: its "
                                                  "outputs are this program's tensors", (unsigned long long)id)
                                  : td__graph_encode(&g->f, bytes, len, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_graph_constants(td_client_t *c, uint64_t id, int max, struct td_t *out, int *n, struct td_status *st)
{
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    struct graph_info *g = *graph_find(c, id);
    enum td_code code = TD_CODE_OK;
    if (!g) {
        code = td_status_set(st, TD_CODE_NOT_FOUND, "graph %llu: no such graph", (unsigned long long)id);
    } else {
        *n = (int)g->f.n_consts;
        for (int k = 0; k < *n && k < max; k++) {
            out[k] = g->consts[k];
            if (!pin_locked(c, out[k].handle))
                code = td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph %llu: out of memory",
                                     (unsigned long long)id);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_graph_load(td_client_t *c, const uint8_t *bytes, size_t len, int n_consts,
                           const struct td_t *const *consts, uint64_t *id, struct td_status *st)
{
    FORK_CHECK(c, st);
    struct graph_info *g = calloc(1, sizeof *g);
    if (!g)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph load: out of memory");
    enum td_code code = td__graph_decode(bytes, len, &g->f, st);
    if (!code && n_consts != (int)g->f.n_consts)
        code = td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph load: the graph has %u constants, not %d",
                             g->f.n_consts, n_consts);
    for (int k = 0; !code && k < n_consts; k++) {
        const struct td_meta *want = &g->f.m[g->f.n_in + g->f.n_out + k];
        if (!td_meta_same_layout(&consts[k]->m, want)) {
            char w[160], got[160];
            td_meta_describe(want, w, sizeof w);
            td_meta_describe(&consts[k]->m, got, sizeof got);
            code = td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph load: constant %d is %s, but the graph was "
                                 "saved with %s", k, got, w);
        }
    }
    if (!code && !(g->consts = calloc((size_t)n_consts + 1, sizeof *g->consts)))
        code = td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph load: out of memory");
    if (code) {
        graph_info_free(g);
        return code;
    }
    uint64_t *handles = malloc(((size_t)n_consts + 1) * sizeof *handles);
    pthread_mutex_lock(&c->lock);
    if (!handles)
        code = td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph load: out of memory");
    else if (c->cap.on)
        code = td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph load: a capture is under way");
    for (int k = 0; !code && k < n_consts; k++) {
        g->consts[k] = *consts[k];
        g->consts[k].ag = NULL;
        handles[k] = consts[k]->handle;
    }
    struct td__graph_plan plan = {.consts = handles, .n_consts = (uint32_t)n_consts};
    if (!code) {
        g->id = ++c->next_graph;
        code = define_locked(c, g->id, (int)g->f.n_in, g->f.m, (int)g->f.n_out, &plan, g->f.body, g->f.words, st);
    }
    if (!code) {
        for (int k = 0; k < n_consts; k++)
            pin_locked(c, g->consts[k].handle);
        g->next = c->graphs;
        c->graphs = g;
        *id = g->id;
        g = NULL;
        code = maybe_flush(c, st);
    }
    pthread_mutex_unlock(&c->lock);
    free(handles);
    graph_info_free(g);
    return code;
}

enum td_code td_graph_replay(td_client_t *c, uint64_t id, struct td_status *st)
{
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    enum td_code code = TD_CODE_OK;
    struct graph_info *g = *graph_find(c, id);
    struct td_rec_hdr *h = NULL;
    if (!g)
        code = td_status_set(st, TD_CODE_NOT_FOUND, "graph %llu: no such graph", (unsigned long long)id);
    else if (!g->held)
        code = td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph %llu has inputs: run it with td_graph_run",
                             (unsigned long long)id);
    else if (c->cap.on)
        code = td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph %llu: a graph cannot run inside a capture",
                             (unsigned long long)id);
    else if (!(h = rec_begin(c, TD_OP_GRAPH_RUN, TD_RF_INPLACE, 0, 0, TD_N_GRAPH_RUN))) /* the held outputs */
        code = td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph %llu: out of memory", (unsigned long long)id);
    if (!code) {
        *(uint64_t *)(h + 1) = id;
        for (uint32_t j = 0; j < g->f.n_out; j++)
            wrote(c, g->held[j].storage_id);
        graph_wrote_consts(c, g);
        code = maybe_flush(c, st);
    }
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_graph_run(td_client_t *c, uint64_t id, int n_in, const struct td_t *const *in, int n_out,
                          struct td_t *out, struct td_status *st)
{
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    enum td_code code = TD_CODE_OK;
    struct graph_info *g = *graph_find(c, id);
    if (!g) {
        code = td_status_set(st, TD_CODE_NOT_FOUND, "graph %llu: no such graph", (unsigned long long)id);
    } else if (c->cap.on) {
        code = td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph %llu: a graph cannot run inside a capture",
                             (unsigned long long)id);
    } else if (g->held) {
        code = td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph %llu is a held capture: replay it "
                             "(td_graph_replay)", (unsigned long long)id);
    } else if (n_in != (int)g->f.n_in || n_out != (int)g->f.n_out) {
        code = td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph %llu takes %u inputs and makes %u outputs, not %d "
                             "and %d", (unsigned long long)id, g->f.n_in, g->f.n_out, n_in, n_out);
    } else {
        for (int i = 0; i < n_in && !code; i++)
            if (!td_meta_same_layout(&in[i]->m, &g->f.m[i])) {
                char want[160], got[160];
                td_meta_describe(&g->f.m[i], want, sizeof want);
                td_meta_describe(&in[i]->m, got, sizeof got);
                code = td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph %llu: input %d is %s, but the graph was "
                                     "captured for %s", (unsigned long long)id, i, got, want);
            }
    }
    struct td_rec_hdr *h = code ? NULL : rec_begin(c, TD_OP_GRAPH_RUN, 0, n_out, n_in, TD_N_GRAPH_RUN);
    if (!code && !h)
        code = td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph %llu: out of memory", (unsigned long long)id);
    if (code) {
        pthread_mutex_unlock(&c->lock);
        return code;
    }
    uint64_t *w = (uint64_t *)(h + 1);
    for (int j = 0; j < n_out; j++) {
        out[j].handle = c->next_handle++;
        out[j].m = g->f.m[n_in + j];
        int src = g->f.out_src[j], k = g->f.out_const[j];
        out[j].storage_id = k >= 0 ? g->consts[k].storage_id : src >= 0 ? in[src]->storage_id : out[-1 - src].handle;
        out[j].ag = NULL;
        *w++ = out[j].handle;
    }
    for (int i = 0; i < n_in; i++) {
        *w++ = in[i]->handle;
        if (g->f.in_written[i])
            wrote(c, in[i]->storage_id);
    }
    *w = (int64_t)id;
    graph_wrote_consts(c, g);
    code = recorded_locked(c, in, n_in, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_graph_free(td_client_t *c, uint64_t id, struct td_status *st)
{
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    enum td_code code = TD_CODE_OK;
    struct graph_info **pp = graph_find(c, id), *g = *pp;
    struct td_rec_hdr *h = NULL;
    if (!g)
        code = td_status_set(st, TD_CODE_NOT_FOUND, "graph %llu: no such graph", (unsigned long long)id);
    else if (!(h = rec_begin(c, TD_OP_GRAPH_FREE, 0, 0, 0, TD_N_GRAPH_FREE)))
        code = td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph %llu: out of memory", (unsigned long long)id);
    if (!code) {
        *(uint64_t *)(h + 1) = id;
        *pp = g->next;
        graph_info_release_locked(c, g);
        graph_info_free(g);
        code = maybe_flush(c, st);
    }
    pthread_mutex_unlock(&c->lock);
    return code;
}

void td_client_free(td_client_t *c)
{
    if (!c)
        return;
    if (c->fork_gen == td__fork_generation()) {
        pthread_mutex_lock(&c->lock);
        if (c->rec.len || c->payload.len)
            send_locked(c, false, NULL, NULL);
        td__conn_close(c->conn);
        pthread_mutex_unlock(&c->lock);
        td__fork_untrack(&c->lock);
    } /* else inherited by fork: its gRPC objects are the parent's, abandoned unfreed */
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->export_lock);
    free(c->exports);
    free(c->pend_rel);
    td__failures_free(c->failures);
    free(c->known);
    free(c->writes);
    free(c->pins);
    free(c->rec.p);
    free(c->payload.p);
    free(c->cap.body.p);
    free(c->cap.deferred);
    free(c->cap.read);
    free(c->cap.made);
    while (c->graphs) {
        struct graph_info *g = c->graphs;
        c->graphs = g->next;
        graph_info_free(g);
    }
    free(c);
}

/* ---- data transfer ---- */

static enum td_code upload_locked(td_client_t *c, const struct td_t *t, const uint8_t *data, size_t nbytes,
                                  struct td_status *st)
{
    for (size_t off = 0; off < nbytes || off == 0; off += CHUNK_BYTES) {
        size_t len = nbytes - off < CHUNK_BYTES ? nbytes - off : CHUNK_BYTES;
        if (!buf_reserve(&c->payload, len))
            return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory for upload");
        const struct td_argval v[3] = {{.w = {(int64_t)off}}, {.w = {(int64_t)len}}, {.w = {(int64_t)c->payload.len}}};
        int64_t attrs[3];
        const struct td_t *in[1] = {t};
        if (td_op_pack(TD_OP_UPLOAD, v, 3, attrs, 3, st) < 0)
            return st ? st->code : TD_CODE_INVALID_ARGUMENT;
        memcpy(c->payload.p + c->payload.len, data + off, len);
        c->payload.len += len;
        if (op_locked(c, TD_OP_UPLOAD, 0, in, 1, attrs, 3, NULL, st))
            return st ? st->code : TD_CODE_INTERNAL;
        if (nbytes == 0)
            break;
    }
    return TD_CODE_OK;
}

enum td_code td_from_data(td_client_t *c, enum td_dtype dt, int ndim, const int64_t *sizes, const void *data,
                          struct td_t *out, struct td_status *st)
{
    int64_t attrs[2 + TD_MAX_DIMS];
    if (ndim < 0 || ndim > TD_MAX_DIMS)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "tensors have at most %d dims", TD_MAX_DIMS);
    const struct td_argval v[3] = {{.w = {dt}}, {.w = {0}}, {.list = sizes, .n = ndim}};
    int n = td_op_pack(TD_OP_EMPTY, v, 3, attrs, 2 + TD_MAX_DIMS, st);
    if (n < 0)
        return st ? st->code : TD_CODE_INVALID_ARGUMENT;
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    enum td_code code = op_locked(c, TD_OP_EMPTY, 0, NULL, 0, attrs, n, out, st);
    if (!code)
        code = upload_locked(c, out, data, (size_t)out->m.storage_nbytes, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

/* READs of one tensor's bytes, synced in messages of at most MSG_PAYLOAD_BYTES. */
static enum td_code download_locked(td_client_t *c, const struct td_t *t, uint8_t *data, size_t nbytes,
                                    struct td_status *st)
{
    const struct td_t *in[1] = {t};
    size_t off = 0;
    do {
        size_t batch_end = off + MSG_PAYLOAD_BYTES < nbytes ? off + MSG_PAYLOAD_BYTES : nbytes;
        for (size_t o = off; o < batch_end; o += CHUNK_BYTES) {
            size_t len = batch_end - o < CHUNK_BYTES ? batch_end - o : CHUNK_BYTES;
            const struct td_argval v[2] = {{.w = {(int64_t)o}}, {.w = {(int64_t)len}}};
            int64_t attrs[2];
            if (td_op_pack(TD_OP_READ, v, 2, attrs, 2, st) < 0)
                return st ? st->code : TD_CODE_INVALID_ARGUMENT;
            /* not flushed before the sync: a READ's bytes travel only in a sync answer */
            if (record_locked(c, TD_OP_READ, 0, in, 1, attrs, 2, NULL, st))
                return st ? st->code : TD_CODE_INTERNAL;
        }
        uint8_t *p;
        size_t len;
        if (sync_locked(c, &p, &len, st))
            return st ? st->code : TD_CODE_INTERNAL;
        if (len != batch_end - off) {
            free(p);
            return td_status_set(st, TD_CODE_INTERNAL, "download: expected %zu bytes, got %zu", batch_end - off, len);
        }
        if (len)
            memcpy(data + off, p, len);
        free(p);
        off = batch_end;
    } while (off < nbytes);
    return TD_CODE_OK;
}

enum td_code td_download(td_client_t *c, const struct td_t *t, void *data, size_t nbytes, struct td_status *st)
{
    size_t need = (size_t)td_meta_numel(&t->m) * td_dtype_size(t->m.dtype);
    if (nbytes < need)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "download: buffer of %zu bytes, tensor needs %zu", nbytes,
                             need);
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    enum td_code code;
    if (td_meta_is_contiguous(&t->m)) {
        code = download_locked(c, t, data, need, st);
    } else {
        struct td_t tmp;
        const struct td_t *in[1] = {t};
        code = record_locked(c, TD_OP_CLONE, 0, in, 1, NULL, 0, &tmp, st);
        if (!code) {
            code = download_locked(c, &tmp, data, need, st);
            release_locked(c, tmp.handle);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return code;
}

/* ---- sharing between sessions (daemon/share.c) ---- */

/* Records n token-answering records (SHARE of each ts[i], or one FORK_GRANT when ts is
 * NULL) and syncs once for their tokens.  take_failures false: the caller's deferred
 * failures stay for its next sync. */
/* n records of op (SHARE of ts[i], SHARE_RESERVE or FORK_GRANT), then a sync that
 * reads their n tokens. */
static enum td_code tokens_locked(td_client_t *c, enum td_op op, int n, const struct td_t *const *ts, int64_t mode,
                                  bool take_failures, struct td_token_bytes *tok, struct td_status *st)
{
    for (int i = 0; i < n; i++) {
        const struct td_t *in[1] = {ts ? ts[i] : NULL};
        if (record_locked(c, op, 0, in, ts ? 1 : 0, &mode, op == TD_OP_FORK_GRANT ? 0 : 1, NULL, st))
            return st ? st->code : TD_CODE_INTERNAL;
    }
    uint8_t *p;
    size_t len;
    if (sync_locked2(c, &p, &len, take_failures, st))
        return st ? st->code : TD_CODE_INTERNAL;
    enum td_code code = TD_CODE_OK;
    if (len != (size_t)n * sizeof tok->b)
        code = td_status_set(st, TD_CODE_INTERNAL, "%s: expected %d tokens, got %zu bytes", td_op_name(op), n, len);
    else if (n)
        memcpy(tok, p, len);
    free(p);
    for (int i = 0; i < n && !code; i++)
        if (!memcmp(tok[i].b, (uint8_t[16]){0}, 16)) /* the record failed: its error came back */
            code = td__failures_take(c->failures, st) ? st->code
                                                      : td_status_set(st, TD_CODE_INTERNAL, "%s failed",
                                                                      td_op_name(op));
    return code;
}

enum td_code td_share(td_client_t *c, const struct td_t *t, unsigned mode, struct td_token_bytes *tok,
                      struct td_status *st)
{
    return td_share_many(c, 1, &t, mode, tok, st);
}

enum td_code td_share_many(td_client_t *c, int n, const struct td_t *const *ts, unsigned mode,
                           struct td_token_bytes *toks, struct td_status *st)
{
    FORK_CHECK(c, st);
    if (n < 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "share: %d tensors", n);
    pthread_mutex_lock(&c->lock);
    enum td_code code = tokens_locked(c, TD_OP_SHARE, n, ts, (int64_t)mode, true, toks, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_share_reserve(td_client_t *c, int n, unsigned mode, struct td_token_bytes *toks,
                              struct td_status *st)
{
    FORK_CHECK(c, st);
    if (n < 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "share_reserve: %d tokens", n);
    pthread_mutex_lock(&c->lock);
    enum td_code code = tokens_locked(c, TD_OP_SHARE_RESERVE, n, NULL, (int64_t)mode, true, toks, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_share_into(td_client_t *c, int n, const struct td_t *const *ts,
                           const struct td_token_bytes *toks, struct td_status *st)
{
    FORK_CHECK(c, st);
    if (n < 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "share_into: %d tensors", n);
    pthread_mutex_lock(&c->lock);
    enum td_code code = TD_CODE_OK;
    for (int i = 0; i < n && !code; i++) {
        int64_t w[2];
        memcpy(w, toks[i].b, sizeof w);
        code = record_locked(c, TD_OP_SHARE_INTO, 0, &ts[i], 1, w, 2, NULL, st) ? (st ? st->code : TD_CODE_INTERNAL)
                                                                                : TD_CODE_OK;
    }
    if (!code) /* not at the next flush: someone may be waiting for these tokens already */
        code = send_now_locked(c, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_client_fork_prepare(td_client_t *c, struct td_token_bytes *grant, struct td_status *st)
{
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    enum td_code code = tokens_locked(c, TD_OP_FORK_GRANT, 1, NULL, 0, false, grant, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_open(td_client_t *c, const struct td_token_bytes *tok, uint64_t handle, const struct td_meta *m,
                     struct td_t *out, struct td_status *st)
{
    int64_t w[2];
    memcpy(w, tok->b, sizeof w);
    const struct td_argval v[9] = {
        {.w = {w[0]}}, {.w = {w[1]}}, {.w = {(int64_t)handle}}, {.w = {m->dtype}}, {.w = {m->storage_nbytes}},
        {.w = {0}}, {.w = {m->offset}}, {.list = m->sizes, .n = m->ndim}, {.list = m->strides, .n = m->ndim},
    };
    int64_t attrs[8 + 2 * TD_MAX_DIMS];
    int n = td_op_pack(TD_OP_OPEN, v, 9, attrs, 8 + 2 * TD_MAX_DIMS, st);
    if (n < 0)
        return st ? st->code : TD_CODE_INVALID_ARGUMENT;
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    /* the handle is made on m's device (OPEN creates like a factory; the daemon checks
     * that the storage is there) */
    uint8_t dev0 = c->device;
    int64_t dv = m->device, d0 = dev0;
    enum td_code code = TD_CODE_OK;
    if (m->device != dev0 && !(code = op_locked(c, TD_OP_SET_DEVICE, 0, NULL, 0, &dv, 1, NULL, st)))
        c->device = m->device;
    if (!code)
        code = op_locked(c, TD_OP_OPEN, 0, NULL, 0, attrs, n, out, st);
    if (c->device != dev0 && !op_locked(c, TD_OP_SET_DEVICE, 0, NULL, 0, &d0, 1, NULL, NULL))
        c->device = dev0;
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_revoke(td_client_t *c, const struct td_token_bytes *tok, struct td_status *st)
{
    int64_t w[2];
    memcpy(w, tok->b, sizeof w);
    FORK_CHECK(c, st);
    pthread_mutex_lock(&c->lock);
    enum td_code code = op_locked(c, TD_OP_REVOKE, 0, NULL, 0, w, 2, NULL, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}
