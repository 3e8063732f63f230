/*
 * session.c — a session's state and the executor of its op records.
 *
 * td_session_exec walks a batch record by record: parse and bound-check the header,
 * resolve handles, re-run the meta layer (the daemon never trusts the client), then
 * execute: stream controls here, views by aliasing storage, everything else through
 * the CPU kernel table (exec_kernel in exec.c).
 *
 * Failures are data, not session state: a record that fails gives its outputs (or the
 * destination it writes) a shared td_failure instead of valid data, and a record that
 * reads such a tensor passes the same failure on without running.  So one bad op
 * costs exactly the tensors that depend on it; every failure is listed in the reply of
 * the message it happened in, and the client raises it at its next sync.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/rng.h"
#include "device.h"
#include "exec.h"
#include "graph.h"
#include "handles.h"
#include "metrics.h"
#include "session.h"
#include "share.h"

/* A failed READ answers zeros in place of its bytes, up to this (clients read <= 1 MiB). */
#define READ_PAD_LIMIT (16 << 20)

struct td_session {
    uint64_t id;
    char peer[128];
    struct td_handles handles;
    struct td_rng rng;     /* the CPU's generator (torch's default_generator) */
    struct td_rng dev_rng; /* the devices' (torch's CUDA generators): device ops draw here, so
                            * they never move the CPU's stream, as in torch */
    uint8_t default_float; /* enum td_dtype: set_default_dtype of the client */
    uint8_t device;        /* where ops without tensor inputs create (SET_DEVICE) */
    unsigned kopts;        /* TD_KOPT_* (DEVICE_CTRL TD_DC_SET_OPTIONS) */
    struct td_device_streams streams; /* its stream on each device, made on first use */
    struct td_device_accounts dacct;  /* what its device storages cost it, per device */
    int num_threads;       /* set_num_threads of the client (0: the whole pool) */
    uint64_t records_seen;
    const atomic_bool *cancel; /* raised by the transport when the session ends */
    struct td_alloc_account *acct; /* pays for what its records allocate (quota, uid pool) */
    struct td_session *reg_next; /* the registry of live sessions (fork grants read it) */
    struct td_prof_entry { uint64_t count, ns; } *prof; /* PROFILE's per-op counters (made by mode 1) */
    bool profiling;
    struct td_graphs graphs; /* graph.h */
    bool in_graph;           /* running a graph's body: its reserved handles may be named */
};

/* Live sessions, for td_session_foreign_get.  A session leaves it before its table is
 * freed, and readers hold reg_mu while they read: no table is freed under a reader. */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct td_session *reg_head;

enum td_code td_session_foreign_get(uint64_t id, uint64_t handle, struct td_storage **out, struct td_status *st)
{
    *out = NULL;
    pthread_mutex_lock(&reg_mu);
    struct td_session *s = reg_head;
    while (s && s->id != id)
        s = s->reg_next;
    bool failed = false;
    if (s)
        *out = td_handles_get_foreign(&s->handles, handle, &failed);
    pthread_mutex_unlock(&reg_mu);
    if (*out)
        return TD_CODE_OK;
    if (!s)
        return td_status_set(st, TD_CODE_NOT_FOUND,
                             "tensord: cannot open a tensor inherited through fork: the parent process's "
                             "session has ended (the parent exited or disconnected)");
    if (failed)
        return td_status_set(st, TD_CODE_FAILED_PRECONDITION,
                             "tensord: the tensor inherited through fork holds no data in the parent process "
                             "(the op that made it failed there)");
    return td_status_set(st, TD_CODE_NOT_FOUND,
                         "tensord: cannot use a tensor inherited through fork: the parent process has freed it "
                         "(keep a reference to it in the parent while children use it)");
}

static atomic_uint_fast64_t st_sessions, st_sessions_total, st_tensors, st_ops, st_errors, st_bad;
/* A batch's own counts of executed records and of tensors made less released, added to
 * the shared counters when it ends: a locked add per record cost more than the bookkeeping
 * around it. */
static _Thread_local struct {
    uint64_t ops;
    int64_t tensors;
} batch;

void td_reply_init(struct td_reply *r) { memset(r, 0, sizeof *r); }

void td_reply_fini(struct td_reply *r)
{
    free(r->payload);
    free(r->errors);
    td_reply_init(r);
}

/* Appends n bytes (p NULL: zeros). */
static bool reply_append(struct td_reply *r, const void *p, size_t n)
{
    if (n == 0)
        return true;
    if (r->payload_len + n > r->payload_cap) {
        size_t cap = r->payload_cap ? r->payload_cap : 4096;
        while (cap < r->payload_len + n)
            cap *= 2;
        uint8_t *np = realloc(r->payload, cap);
        if (!np)
            return false;
        r->payload = np;
        r->payload_cap = cap;
    }
    if (p)
        memcpy(r->payload + r->payload_len, p, n);
    else
        memset(r->payload + r->payload_len, 0, n);
    r->payload_len += n;
    return true;
}

static void reply_add_error(struct td_reply *r, uint64_t record, const struct td_failure *f)
{
    if (!r->errors)
        r->errors = malloc(TD_REPLY_MAX_ERRORS * sizeof *r->errors);
    if (!r->errors || r->n_errors == TD_REPLY_MAX_ERRORS) {
        r->errors_dropped++;
        return;
    }
    struct td_record_error *e = &r->errors[r->n_errors++];
    e->record = record;
    e->origin = f->origin;
    e->code = f->code;
    e->op = f->op;
    memcpy(e->msg, f->msg, sizeof e->msg);
}

struct td_session *td_session_new(uint64_t id, const char *peer)
{
    struct td_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->id = id;
    s->acct = td_alloc_account_new(id, TD_ALLOC_UID_NONE);
    if (!s->acct) {
        free(s);
        return NULL;
    }
    snprintf(s->peer, sizeof s->peer, "%s", peer ? peer : "?");
    td_handles_init(&s->handles);
    td_rng_seed(&s->rng, 67280421310721ull); /* fixed default seed, like torch's */
    td_rng_seed(&s->dev_rng, 67280421310721ull);
    s->default_float = TD_DTYPE_FLOAT32;
    s->dacct.session = id;
    s->kopts = TD_KOPT_DEFAULT;
    atomic_fetch_add(&st_sessions_total, 1);
    pthread_mutex_lock(&reg_mu);
    s->reg_next = reg_head;
    reg_head = s;
    pthread_mutex_unlock(&reg_mu);
    return s;
}

void td_session_free(struct td_session *s)
{
    if (!s)
        return;
    td_share_session_ended(s->id); /* first: no grant can lead here once it returns */
    pthread_mutex_lock(&reg_mu);
    for (struct td_session **pp = &reg_head; *pp; pp = &(*pp)->reg_next)
        if (*pp == s) {
            *pp = s->reg_next;
            break;
        }
    pthread_mutex_unlock(&reg_mu);
    atomic_fetch_sub(&st_tensors, s->handles.count);
    td_device_streams_free(&s->streams); /* queued work done before its memory is reused */
    td_handles_fini(&s->handles);
    while (s->graphs.head) /* their constants went with the handle table */
        td_graph_delete(td_graphs_take(&s->graphs, s->graphs.head->id));
    td_alloc_account_free(s->acct);
    td_device_accounts_free(&s->dacct);
    free(s->prof);
    free(s);
}

uint64_t td_session_id(const struct td_session *s) { return s->id; }

struct td_alloc_account *td_session_account(struct td_session *s) { return s->acct; }

void td_session_set_cancel(struct td_session *s, const atomic_bool *cancel) { s->cancel = cancel; }

void td_stats_count_bad_message(void) { atomic_fetch_add(&st_bad, 1); }
void td_stats_session_opened(void) { atomic_fetch_add(&st_sessions, 1); }
void td_stats_session_closed(void) { atomic_fetch_sub(&st_sessions, 1); }

void td_stats_get(struct td_stats *o)
{
    memset(o, 0, sizeof *o);
    td_share_count(); /* drops lingering tokens whose time is up, so the counts below are live */
    o->sessions = atomic_load(&st_sessions);
    o->sessions_total = atomic_load(&st_sessions_total);
    o->tensors = atomic_load(&st_tensors);
    o->ops_executed = atomic_load(&st_ops);
    o->errors = atomic_load(&st_errors);
    o->bad_messages = atomic_load(&st_bad);
    struct td_alloc_stats a;
    td_alloc_stats(&a);
    o->storages = a.storages;
    o->bytes_in_use = a.in_use;
    o->bytes_peak = a.peak;
    o->bytes_cached = a.cached;
    o->bytes_reserved = a.reserved;
    o->bytes_reserved_peak = a.reserved_peak;
    o->bytes_free = a.free_bytes;
    o->bytes_largest_free = a.largest_free;
    o->arenas = a.arenas;
    o->arena_bytes = a.arena_bytes;
    o->allocs = a.allocs;
    o->alloc_cache_hits = a.cache_hits;
    o->alloc_releases = a.releases;
    o->alloc_ooms = a.ooms;
    o->alloc_pressure_releases = a.pressure_releases;
    o->fragmentation = a.fragmentation;
    struct td_alloc_usage u[TD_STATS_MAX_SESSIONS];
    int n = td_alloc_usage(u, TD_STATS_MAX_SESSIONS);
    for (int i = 0; i < n; i++)
        o->session_memory[i] = (struct td_session_memory){.session = u[i].session, .uid = u[i].uid,
                                                          .bytes_in_use = u[i].in_use,
                                                          .bytes_peak = u[i].peak, .limit = u[i].limit};
    o->n_session_memory = (uint32_t)n;
    pthread_mutex_lock(&reg_mu); /* device usage of the live sessions among them */
    for (struct td_session *s = reg_head; s; s = s->reg_next)
        for (int i = 0; i < n; i++)
            if (o->session_memory[i].session == s->id)
                for (int d = 1; d <= TD_MAX_DEVICES; d++) {
                    uint64_t in_use, peak, limit;
                    td_device_account_usage(&s->dacct, (uint8_t)d, &in_use, &peak, &limit);
                    o->session_memory[i].gpu_bytes_in_use += in_use;
                }
    pthread_mutex_unlock(&reg_mu);
}

/* ---- one record ---- */

static void do_release(struct td_session *s, const uint64_t *ids, int n)
{
    for (int i = 0; i < n; i++)
        if ((!(ids[i] & TD_GRAPH_RESERVED) || s->in_graph) && td_handles_del(&s->handles, ids[i]))
            batch.tensors--;
}

/* SET_DEVICE, DEVICE_QUERY (answers TD_DEVICE_QUERY_BYTES in a sync), DEVICE_CTRL. */
static enum td_code do_device(struct td_session *s, const struct td_op_args *a, int sync, struct td_reply *reply,
                              struct td_status *st)
{
    uint8_t d = (uint8_t)a->attrs[0];
    if (a->op == TD_OP_SET_DEVICE) {
        if (d && !td_device_backend(d))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "CUDA error: invalid device ordinal");
        s->device = d;
        return TD_CODE_OK;
    }
    int64_t what = a->attrs[1];
    if (a->op == TD_OP_DEVICE_CTRL && what == TD_DC_SET_OPTIONS) {
        int64_t v = a->n_attr > 2 ? a->attrs[2] : 0;
        if (v < 0 || (v & ~(int64_t)TD_KOPT_ALL))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "device_ctrl: unknown options %#llx", (long long)v);
        s->kopts = (unsigned)v;
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_DEVICE_CTRL) {
        if (!td_device_backend(d))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "CUDA error: invalid device ordinal");
        if (what == TD_DC_EMPTY_CACHE) {
            td_device_empty_cache(d);
        } else if (what == TD_DC_RESET_PEAK) {
            td_device_reset_peak(d);
            td_device_account_reset_peak(&s->dacct, d);
        } else if (what == TD_DC_SYNCHRONIZE) {
            return td_device_streams_sync(&s->streams, d, st);
        } else if (what == TD_DC_SET_LIMIT) {
            int64_t v = a->n_attr > 2 ? a->attrs[2] : 0;
            if (v < 0)
                return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "device memory limit %lld < 0", (long long)v);
            return td_device_account_set_limit(&s->dacct, d, (uint64_t)v, st);
        } else {
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "device_ctrl: unknown action %lld", (long long)what);
        }
        return TD_CODE_OK;
    }
    union {
        uint8_t bytes[TD_DEVICE_QUERY_BYTES];
        int64_t words[TD_DEVICE_QUERY_BYTES / 8];
        struct td_device_props props;
    } q;
    memset(&q, 0, sizeof q);
    if (what == TD_DQ_COUNT) {
        q.words[0] = td_device_count();
        snprintf((char *)&q.words[1], sizeof q - 8, "%s", td_devices_why());
    } else if (what == TD_DQ_DESCRIBE) {
        snprintf((char *)q.bytes, sizeof q, "%s", td_devices_describe());
    } else if (!td_device_backend(d)) {
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "CUDA error: invalid device ordinal");
    } else if (what == TD_DQ_PROPS) {
        td_device_props(d, &q.props);
    } else if (what == TD_DQ_MEMORY) {
        struct td_device_usage u;
        uint64_t fr = 0, total = 0;
        td_device_usage(d, &u);
        td_device_backend(d)->mem_get_info(d - 1, &fr, &total);
        const int64_t v[10] = {(int64_t)u.allocated, (int64_t)u.reserved, (int64_t)u.peak_allocated,
                               (int64_t)u.peak_reserved, (int64_t)u.allocs, (int64_t)u.frees,
                               (int64_t)u.cache_hits, (int64_t)u.ooms, (int64_t)fr, (int64_t)total};
        memcpy(q.words, v, sizeof v);
        memcpy(&q.words[10], &u.fragmentation, sizeof u.fragmentation);
        uint64_t mine[3];
        td_device_account_usage(&s->dacct, d, &mine[0], &mine[1], &mine[2]);
        memcpy(&q.words[11], mine, sizeof mine);
    } else {
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "device_query: unknown query %lld", (long long)what);
    }
    if (sync && !reply_append(reply, q.bytes, sizeof q))
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "device_query: out of memory");
    return TD_CODE_OK;
}

/* STREAM_CTRL and EVENT_CTRL (their queries answer 8 bytes in a sync), RECORD_STREAM. */
static enum td_code do_streams(struct td_session *s, const struct td_op_args *a, struct td_tensor *t, int sync,
                               struct td_reply *reply, struct td_status *st)
{
    if (a->op == TD_OP_RECORD_STREAM)
        return td_device_record_stream(&s->streams, t->storage, a->attrs[TD_A_RECORD_STREAM_STREAM], st);
    uint8_t d = (uint8_t)a->attrs[TD_A_STREAM_CTRL_DEVICE];
    int64_t what = a->attrs[TD_A_STREAM_CTRL_WHAT], id = a->attrs[TD_A_STREAM_CTRL_ID];
    int64_t other = a->attrs[TD_A_STREAM_CTRL_OTHER];
    uint8_t answer[8];
    bool answers;
    if (a->op == TD_OP_STREAM_CTRL) {
        int64_t done;
        answers = what == TD_SC_QUERY;
        if (td_device_stream_ctrl(&s->streams, d, what, id, other, &done, st))
            return st->code;
        memcpy(answer, &done, 8);
    } else {
        answers = what == TD_EC_QUERY || what == TD_EC_ELAPSED;
        if (td_device_event_ctrl(&s->streams, d, what, id, other, answer, st))
            return st->code;
    }
    if (answers && sync && !reply_append(reply, answer, sizeof answer))
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "stream_ctrl: out of memory");
    return TD_CODE_OK;
}

/* Whether a STREAM_CTRL or EVENT_CTRL record answers a word in a sync (fail_record pads it). */
static bool stream_answers(const struct td_rec_hdr *h, const int64_t *attrs)
{
    if ((h->op != TD_OP_STREAM_CTRL && h->op != TD_OP_EVENT_CTRL) || h->n_attr < TD_N_STREAM_CTRL)
        return false;
    int64_t what = attrs[TD_A_STREAM_CTRL_WHAT];
    return h->op == TD_OP_STREAM_CTRL ? what == TD_SC_QUERY : what == TD_EC_QUERY || what == TD_EC_ELAPSED;
}

/* READ and UPLOAD of a device tensor's bytes: through the session's current stream,
 * waited for.  A READ first waits for every stream of the session on the device, so
 * what it answers includes the work of all of them (the rule of every sync point). */
static enum td_code device_bytes(struct td_session *s, const struct td_op_args *a, struct td_tensor *t, char *base,
                                 const uint8_t *payload, size_t payload_len, int sync, struct td_reply *reply,
                                 struct td_status *st)
{
    uint8_t d = t->storage->device;
    size_t len = (size_t)a->attrs[TD_A_READ_LENGTH];
    td_stream_t stream = td_device_stream(&s->streams, d, st);
    if (!stream)
        return st->code;
    if (a->op == TD_OP_UPLOAD) {
        int64_t poff = a->attrs[TD_A_UPLOAD_PAYLOAD];
        if (poff < 0 || (size_t)poff > payload_len || len > payload_len - (size_t)poff)
            return td_status_set(st, TD_CODE_OUT_OF_RANGE, "upload: payload range [%lld, +%zu) outside %zu bytes",
                                 (long long)poff, len, payload_len);
        if (!len)
            return TD_CODE_OK;
        char *tmp = malloc(len); /* bools normalized on the host first (td__exec_upload) */
        if (!tmp)
            return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "upload: out of memory for %zu bytes", len);
        td__exec_upload((enum td_dtype)t->m.dtype, tmp, payload + poff, len);
        enum td_code c = td_device_copy(d, base, tmp, len, TD_COPY_H2D, stream, st);
        free(tmp);
        return c;
    }
    if (!sync)
        return TD_CODE_OK;
    if (td_device_streams_sync(&s->streams, d, st))
        return st->code;
    if (!reply_append(reply, NULL, len))
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "read: out of memory for %zu bytes", len);
    if (td_device_copy(d, reply->payload + reply->payload_len - len, base, len, TD_COPY_D2H, stream, st))
        reply->payload_len -= len; /* fail_record answers the zeros */
    return st->code;
}

/* The generator an op draws from: the devices' for an op placed on a device (or the state
 * transfers that name it), the CPU's otherwise. */
static struct td_rng *generator_of(struct td_session *s, const struct td_op_args *a, const struct td_place *p)
{
    _Static_assert(TD_A_GET_RNG_STATE_GENERATOR == TD_A_SET_RNG_STATE_GENERATOR, "one word for both records");
    bool state = a->op == TD_OP_GET_RNG_STATE || a->op == TD_OP_SET_RNG_STATE;
    if (state)
        return a->n_attr > TD_A_GET_RNG_STATE_GENERATOR && a->attrs[TD_A_GET_RNG_STATE_GENERATOR] == 1 ? &s->dev_rng
                                                                                                         : &s->rng;
    return p->device != TD_DEVICE_CPU ? &s->dev_rng : &s->rng;
}

/* PROFILE: answers (in a sync) and zeroes the per-op counters, then starts or stops them. */
static enum td_code do_profile(struct td_session *s, int mode, int sync, struct td_reply *reply,
                               struct td_status *st)
{
    if (s->prof) {
        for (unsigned op = 0; op < TD_OP_COUNT; op++) {
            if (!s->prof[op].count)
                continue;
            const uint64_t triple[3] = {op, s->prof[op].count, s->prof[op].ns};
            if (sync && !reply_append(reply, triple, sizeof triple))
                return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "profile: out of memory");
        }
        memset(s->prof, 0, sizeof *s->prof * TD_OP_COUNT);
    }
    if (mode == 1 && !s->prof && !(s->prof = calloc(TD_OP_COUNT, sizeof *s->prof)))
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "profile: out of memory");
    if (mode != 2)
        s->profiling = mode == 1;
    return TD_CODE_OK;
}

/* Stream controls: seeds, default dtype, UPLOAD and READ. */
static enum td_code do_ctrl(struct td_session *s, const struct td_op_args *a, struct td_tensor *t,
                            const uint8_t *payload, size_t payload_len, int sync, struct td_reply *reply,
                            struct td_status *st)
{
    if (a->op == TD_OP_MANUAL_SEED) { /* torch.manual_seed seeds every generator */
        uint64_t seed = (uint64_t)a->attrs[TD_A_MANUAL_SEED_SEED];
        if (a->n_attr <= TD_A_MANUAL_SEED_GENERATORS || a->attrs[TD_A_MANUAL_SEED_GENERATORS] == 0)
            td_rng_seed(&s->rng, seed);
        td_rng_seed(&s->dev_rng, seed);
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_SET_DEFAULT_DTYPE) {
        s->default_float = (uint8_t)a->attrs[TD_A_SET_DEFAULT_DTYPE_DTYPE];
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_SET_NUM_THREADS) {
        s->num_threads = (int)a->attrs[TD_A_SET_NUM_THREADS_N];
        td_parallel_set_limit(s->num_threads);
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_EMPTY_CACHE) {
        td_alloc_empty_cache(); /* in stream order: the releases before it are done */
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_PROFILE)
        return do_profile(s, (int)a->attrs[TD_A_PROFILE_MODE], sync, reply, st);
    if (a->op == TD_OP_SET_DEVICE || a->op == TD_OP_DEVICE_QUERY || a->op == TD_OP_DEVICE_CTRL)
        return do_device(s, a, sync, reply, st);
    if (a->op == TD_OP_STREAM_CTRL || a->op == TD_OP_EVENT_CTRL || a->op == TD_OP_RECORD_STREAM)
        return do_streams(s, a, t, sync, reply, st);
    if (a->op == TD_OP_LOCATE) {
        if (t->storage->device && sync && td_device_streams_sync(&s->streams, t->storage->device, st))
            return st->code;
        const uint64_t loc[3] = {t->storage->arena, t->storage->offset, (uint64_t)t->storage->nbytes};
        if (sync && !reply_append(reply, loc, sizeof loc))
            return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "locate: out of memory");
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_SHARE_INTO) {
        struct td_token tok = {{(uint64_t)a->attrs[TD_A_SHARE_INTO_TOKEN_LO],
                                (uint64_t)a->attrs[TD_A_SHARE_INTO_TOKEN_HI]}};
        return td_share_fill(s->id, tok, t->storage, st);
    }
    if (a->op == TD_OP_SHARE || a->op == TD_OP_FORK_GRANT || a->op == TD_OP_SHARE_RESERVE) {
        struct td_token tok;
        if (a->op == TD_OP_FORK_GRANT)
            s->handles.shared = true; /* before the grant exists: foreign readers need our writes locked */
        _Static_assert(TD_A_SHARE_MODE == TD_A_SHARE_RESERVE_MODE, "one mode word");
        unsigned mode = a->op == TD_OP_FORK_GRANT ? 0 : (unsigned)a->attrs[TD_A_SHARE_MODE];
        enum td_code c = a->op == TD_OP_SHARE           ? td_share_add(s->id, t->storage, mode, &tok, st)
                         : a->op == TD_OP_SHARE_RESERVE ? td_share_add_reserved(s->id, mode, &tok, st)
                                                        : td_share_grant(s->id, &tok, st);
        if (c)
            return st->code;
        if (sync && !reply_append(reply, &tok, sizeof tok)) {
            td_share_revoke(s->id, tok, NULL);
            return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "share: out of memory");
        }
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_REVOKE) {
        struct td_token tok = {{(uint64_t)a->attrs[TD_A_REVOKE_TOKEN_LO], (uint64_t)a->attrs[TD_A_REVOKE_TOKEN_HI]}};
        return td_share_revoke(s->id, tok, st);
    }
    /* UPLOAD's byte range is READ's words (kernels/op.c) */
    char *base = t->storage->data + t->m.offset * (int64_t)td_dtype_size(t->m.dtype) + a->attrs[TD_A_READ_OFFSET];
    size_t len = (size_t)a->attrs[TD_A_READ_LENGTH];
    if (t->storage->device)
        return device_bytes(s, a, t, base, payload, payload_len, sync, reply, st);
    if (a->op == TD_OP_UPLOAD) {
        int64_t poff = a->attrs[TD_A_UPLOAD_PAYLOAD];
        if (poff < 0 || (size_t)poff > payload_len || len > payload_len - (size_t)poff)
            return td_status_set(st, TD_CODE_OUT_OF_RANGE, "upload: payload range [%lld, +%zu) outside %zu bytes",
                                 (long long)poff, len, payload_len);
        if (len) /* payload may be NULL when empty */
            td__exec_upload((enum td_dtype)t->m.dtype, base, payload + poff, len);
        return TD_CODE_OK;
    }
    if (sync && !reply_append(reply, base, len))
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "read: out of memory for %zu bytes", len);
    return TD_CODE_OK;
}

static enum td_code add_output(struct td_session *s, uint64_t id, const struct td_tensor *t, struct td_status *st)
{
    if (!td_handles_put(&s->handles, id, t)) {
        td_storage_unref(t->storage);
        td_failure_unref(t->fail);
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "handle table: out of memory");
    }
    batch.tensors++;
    return TD_CODE_OK;
}

/* What one record needs while it runs: its parsed handles and, once known, its failure. */
struct rec_ctx {
    const struct td_rec_hdr *h;
    const uint64_t *outs, *ins;
    struct td_tensor *in[TD_MAX_INPUTS];
    bool outs_valid; /* the output handles may be bound (counts checked, ids fresh) */
    bool on_use;     /* the failure is the output's alone: not answered, raised where it is used */
};

/*
 * The record failed: bind its outputs (or mark its destination) with failure f, which
 * this takes over, and list it in the reply.  READ answers zeros so later READs of the
 * same message keep their offsets.
 */
static void fail_record(struct td_session *s, struct rec_ctx *r, uint64_t index, struct td_failure *f, int sync,
                        struct td_reply *reply)
{
    const struct td_rec_hdr *h = r->h;
    if (!r->on_use)
        reply_add_error(reply, index, f);
    atomic_fetch_add(&st_errors, 1);
    if (h->op == TD_OP_LOCATE && sync)
        reply_append(reply, NULL, 3 * sizeof(uint64_t));
    if (h->op == TD_OP_READ && sync && h->n_in == 1 && h->n_attr >= TD_N_READ) {
        int64_t len = ((const int64_t *)(r->ins + h->n_in))[TD_A_READ_LENGTH];
        if (len > 0 && len <= READ_PAD_LIMIT)
            reply_append(reply, NULL, (size_t)len);
    }
    if (h->op == TD_OP_DEVICE_QUERY && sync)
        reply_append(reply, NULL, TD_DEVICE_QUERY_BYTES);
    if (sync && stream_answers(h, (const int64_t *)(r->ins + h->n_in)))
        reply_append(reply, NULL, 8);
    if ((h->op == TD_OP_SHARE || h->op == TD_OP_FORK_GRANT || h->op == TD_OP_SHARE_RESERVE) && sync)
        reply_append(reply, NULL, sizeof(struct td_token)); /* the zero token: never issued */
    if (h->op == TD_OP_SHARE_INTO && h->n_attr >= TD_N_SHARE_INTO) { /* whoever waits for it learns why */
        const int64_t *at = (const int64_t *)(r->ins + h->n_in);
        struct td_token tok = {{(uint64_t)at[TD_A_SHARE_INTO_TOKEN_LO], (uint64_t)at[TD_A_SHARE_INTO_TOKEN_HI]}};
        td_share_fill_failed(s->id, tok, f ? f->code : TD_CODE_INTERNAL, f ? f->msg : NULL);
    }
    int first, end = td_op_written_inputs(h->op, h->flags, h->n_in, &first);
    for (int i = first; i < end; i++)
        if (r->in[i] && r->in[i]->fail != f) {
            td_failure_unref(r->in[i]->fail);
            r->in[i]->fail = td_failure_ref(f);
        }
    if (r->outs_valid)
        for (int i = 0; i < h->n_out; i++) {
            struct td_tensor t = {.storage = NULL, .fail = td_failure_ref(f)};
            memset(&t.m, 0, sizeof t.m);
            add_output(s, r->outs[i], &t, NULL);
        }
    td_failure_unref(f);
}

static struct td_failure *failure_new(uint16_t op, uint64_t index, const struct td_status *st)
{
    struct td_failure *f = malloc(sizeof *f);
    if (!f)
        return NULL;
    f->refs = 1;
    f->op = op;
    f->code = st->code;
    f->origin = index;
    snprintf(f->msg, sizeof f->msg, "%s", st->msg);
    return f;
}

/* Checks counts and resolves handles.  NULL failure pointer out: all inputs valid. */
static enum td_code bind_record(struct td_session *s, struct rec_ctx *r, struct td_failure **inherited,
                                struct td_status *st)
{
    const struct td_rec_hdr *h = r->h;
    const struct td_op_info *info = &td_op_table[h->op];
    /* out= destinations (TD_RF_OUT) trail the operands; the meta layer checks them */
    int want_in = info->n_in, n_dst = (h->flags & TD_RF_OUT) ? info->n_out : 0, n_ops = h->n_in - n_dst;
    *inherited = NULL;
    if (h->op != TD_OP_GRAPH_RUN && /* its counts are its graph's (run_graph) */
        ((want_in >= 0 && n_ops != want_in && !(info->family == TD_FAM_BINARY && n_ops == 1)) ||
         h->n_out != ((h->flags & (TD_RF_INPLACE | TD_RF_OUT)) ? 0 : info->n_out)))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: record has %u inputs and %u outputs", info->name,
                             h->n_in, h->n_out);
    /* a replay (GRAPH_RUN in place) writes into outputs that exist; anything else makes new ones */
    bool rebind = h->op == TD_OP_GRAPH_RUN && (h->flags & TD_RF_INPLACE);
    for (int i = 0; i < h->n_out; i++)
        if (!r->outs[i] || (td_handles_get(&s->handles, r->outs[i]) != NULL) != rebind)
            return td_status_set(st, rebind ? TD_CODE_NOT_FOUND : TD_CODE_ALREADY_EXISTS,
                                 rebind ? "%s: output handle %llu is zero or unknown"
                                        : "%s: output handle %llu is zero or already in use",
                                 info->name, (unsigned long long)r->outs[i]);
        else if ((r->outs[i] & TD_GRAPH_RESERVED) && !s->in_graph)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: output handle %llu has the top bit set "
                                 "(reserved for the daemon's graphs)", info->name, (unsigned long long)r->outs[i]);
    for (int i = 0; i < h->n_out; i++)
        for (int j = 0; j < i; j++)
            if (r->outs[i] == r->outs[j])
                return td_status_set(st, TD_CODE_ALREADY_EXISTS, "%s: output handle %llu named twice", info->name,
                                     (unsigned long long)r->outs[i]);
    r->outs_valid = !rebind; /* a failed replay leaves its outputs as they were */
    for (int i = 0; i < h->n_in; i++) {
        r->in[i] = td_handles_get(&s->handles, r->ins[i]);
        if (!r->in[i])
            return td_status_set(st, TD_CODE_NOT_FOUND, "%s: unknown tensor handle %llu", info->name,
                                 (unsigned long long)r->ins[i]);
        if (r->in[i]->fail && !*inherited)
            *inherited = r->in[i]->fail;
    }
    return TD_CODE_OK;
}

static enum td_code place_at(struct td_session *s, uint8_t d, struct td_place *p, struct td_status *st)
{
    p->device = d;
    p->options = s->kopts;
    if (d == TD_DEVICE_CPU)
        return TD_CODE_OK;
    if (!(p->b = td_device_backend(d)))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "CUDA error: invalid device ordinal");
    return (p->stream = td_device_stream(&s->streams, d, st)) ? TD_CODE_OK : st->code;
}

/* Where the op runs, and where copy_'s source lives. */
static enum td_code place_of(struct td_session *s, const struct td_op_args *a, uint8_t d, struct td_place *p,
                             struct td_place *src, struct td_status *st)
{
    if (place_at(s, d, p, st))
        return st->code;
    if (a->op == TD_OP_COPY_ && a->n_in == 2 && a->in[1]->device != d)
        return place_at(s, a->in[1]->device, src, st);
    return TD_CODE_OK;
}


/* ---- graphs (graph.h) ---- */

static uint32_t first_const(const struct td_graph *g) { return g->n_inputs + g->n_outputs + 1; }

/* Holds in[0..n) as the graph's next constants, under its reserved handle ids. */
static enum td_code hold_consts(struct td_session *s, struct td_graph *g, struct td_tensor *const *in, int n,
                                struct td_status *st)
{
    if ((uint64_t)g->n_bound + (uint64_t)n > g->n_consts)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph %llu: %llu constants given, %u declared",
                             (unsigned long long)g->id, (unsigned long long)g->n_bound + (unsigned)n, g->n_consts);
    for (int i = 0; i < n; i++) {
        struct td_tensor t = {.m = in[i]->m, .storage = in[i]->storage, .fail = NULL};
        td_storage_ref(t.storage);
        if (add_output(s, TD_GRAPH_CONST_ID(g->serial, first_const(g) + g->n_bound), &t, st))
            return st->code;
        g->n_bound++;
    }
    return TD_CODE_OK;
}

static void drop_graph(struct td_session *s, struct td_graph *g)
{
    for (uint32_t k = 0; k < g->n_bound; k++)
        do_release(s, (uint64_t[]){TD_GRAPH_CONST_ID(g->serial, first_const(g) + k)}, 1);
    td_graph_delete(g);
}

/* GRAPH_CONSTS with held: ids (existing handles of the session) are outputs a replay writes. */
static enum td_code hold_outputs(struct td_graph *g, const uint64_t *ids, int n, struct td_status *st)
{
    if ((uint64_t)g->n_held + (uint64_t)n > g->n_outputs)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph %llu: %llu held outputs given, %u declared",
                             (unsigned long long)g->id, (unsigned long long)g->n_held + (unsigned)n, g->n_outputs);
    uint64_t *p = realloc(g->held, ((size_t)g->n_held + (size_t)n) * sizeof *p);
    if (!p && n)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph %llu: out of memory", (unsigned long long)g->id);
    g->held = p;
    for (int i = 0; i < n; i++) {
        if (ids[i] & TD_GRAPH_RESERVED)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph %llu: held output %llu is a reserved handle",
                                 (unsigned long long)g->id, (unsigned long long)ids[i]);
        g->held[g->n_held++] = ids[i];
    }
    return TD_CODE_OK;
}

/* GRAPH_DEFINE, GRAPH_CONSTS and GRAPH_FREE; the record's inputs are valid. */
static enum td_code do_graph(struct td_session *s, const struct td_op_args *a, struct td_tensor *const *in,
                             const uint64_t *ids, const uint8_t *payload, size_t payload_len, struct td_status *st)
{
    uint64_t id = (uint64_t)a->attrs[0]; /* every graph record's first word */
    if (a->op == TD_OP_GRAPH_FREE || a->op == TD_OP_GRAPH_CONSTS) {
        struct td_graph *g = a->op == TD_OP_GRAPH_FREE ? td_graphs_take(&s->graphs, id)
                                                       : td_graphs_find(&s->graphs, id);
        if (!g)
            return td_status_set(st, TD_CODE_NOT_FOUND, "graph %llu: no such graph in this session",
                                 (unsigned long long)id);
        if (a->op == TD_OP_GRAPH_FREE) {
            s->in_graph = true; /* its constants' reserved ids */
            drop_graph(s, g);
            s->in_graph = false;
            return TD_CODE_OK;
        }
        if (a->n_attr > TD_A_GRAPH_CONSTS_HELD && a->attrs[TD_A_GRAPH_CONSTS_HELD])
            return hold_outputs(g, ids, a->n_in, st);
        return hold_consts(s, g, in, a->n_in, st);
    }
    int64_t ni = a->attrs[TD_A_GRAPH_DEFINE_N_INPUTS], no = a->attrs[TD_A_GRAPH_DEFINE_N_OUTPUTS],
            nc = a->attrs[TD_A_GRAPH_DEFINE_N_CONSTS], off = a->attrs[TD_A_GRAPH_DEFINE_PAYLOAD],
            len = a->attrs[TD_A_GRAPH_DEFINE_LENGTH];
    /* the payload range: each input's layout (td_meta_wire_take), then the body */
    if (td_graphs_find(&s->graphs, id))
        return td_status_set(st, TD_CODE_ALREADY_EXISTS, "graph %llu is defined already", (unsigned long long)id);
    if (off < 0 || len < 0 || (uint64_t)off > payload_len || (uint64_t)len > payload_len - (uint64_t)off)
        return td_status_set(st, TD_CODE_OUT_OF_RANGE, "graph_define: body range [%lld, +%lld) outside %zu bytes",
                             (long long)off, (long long)len, payload_len);
    struct td_graph *g = calloc(1, sizeof *g);
    if (!g || !(g->in_m = malloc(((size_t)ni + 1) * sizeof *g->in_m))) {
        free(g);
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph_define: out of memory");
    }
    g->id = id;
    g->n_inputs = (uint32_t)ni, g->n_outputs = (uint32_t)no, g->n_consts = (uint32_t)nc;
    const uint8_t *p = payload ? payload + off : NULL; /* (a message without payload: len is 0) */
    size_t left = (size_t)len;
    for (int64_t i = 0; i < ni; i++) {
        size_t used = td_meta_wire_take(p, left, &g->in_m[i]);
        if (!used) {
            td_graph_delete(g);
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph_define: input %lld's layout is malformed",
                                 (long long)i);
        }
        p += used, left -= used;
    }
    if (td_graph_build(g, p, left, st) || td_graphs_add(&s->graphs, g, st)) {
        td_graph_delete(g);
        return st->code;
    }
    s->in_graph = true;
    if (hold_consts(s, g, in, a->n_in, st))
        drop_graph(s, td_graphs_take(&s->graphs, id));
    s->in_graph = false;
    return st->code;
}

/* Runs a bound record whose inputs are all valid.  Errors go to st. */
static enum td_code run_record(struct td_session *s, struct rec_ctx *r, const uint8_t *payload, size_t payload_len,
                               int sync, struct td_reply *reply, struct td_status *st)
{
    const struct td_rec_hdr *h = r->h;
    const struct td_op_info *info = &td_op_table[h->op];
    const struct td_meta *in_m[TD_MAX_INPUTS];
    for (int i = 0; i < h->n_in; i++)
        in_m[i] = &r->in[i]->m;
    struct td_op_args a = {
        .op = h->op, .flags = h->flags, .n_in = h->n_in, .in = in_m,
        .attrs = (const int64_t *)(r->ins + h->n_in), .n_attr = h->n_attr,
        .default_float = (enum td_dtype)s->default_float, .device = s->device,
    };
    struct td_meta out_m[TD_MAX_OUTPUTS];
    struct td_infer inf;
    if (td_meta_infer(&a, out_m, &inf, st))
        return st->code;
    struct td_place place = {.device = TD_DEVICE_CPU}, src = place;
    struct td_tensor res[TD_MAX_OUTPUTS];
    for (int j = 0; j < TD_MAX_OUTPUTS; j++)
        res[j].storage = NULL, res[j].fail = NULL;
    if (h->op == TD_OP_OPEN) { /* a handle on another session's storage (share.c) */
        struct td_token tok = {{(uint64_t)a.attrs[TD_A_OPEN_TOKEN_LO], (uint64_t)a.attrs[TD_A_OPEN_TOKEN_HI]}};
        res[0].m = out_m[0];
        if (td_share_open(s->id, tok, (uint64_t)a.attrs[TD_A_OPEN_HANDLE], &res[0].m, s->cancel, &res[0].storage,
                          &r->on_use, st))
            return st->code;
        return add_output(s, r->outs[0], &res[0], st);
    }
    if (h->op == TD_OP_GRAPH_DEFINE || h->op == TD_OP_GRAPH_CONSTS || h->op == TD_OP_GRAPH_FREE)
        return do_graph(s, &a, r->in, r->ins, payload, payload_len, st);
    if (info->family == TD_FAM_CTRL)
        return do_ctrl(s, &a, h->n_in ? r->in[0] : NULL, payload, payload_len, sync, reply, st);
    if (inf.out_is_view) {
        res[0].m = out_m[0];
        res[0].storage = r->in[0]->storage;
        if (!td_meta_check_bounds(&res[0].m))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: view lies outside its storage", info->name);
        td_storage_ref(r->in[0]->storage);
    } else if (place_of(s, &a, inf.device, &place, &src, st) ||
               td__exec_kernel(&a, &inf, r->in, out_m, res, generator_of(s, &a, &place), &place, &src, st)) {
        return st->code;
    }
    for (int i = 0; i < h->n_out; i++)
        if (add_output(s, r->outs[i], &res[i], st)) {
            for (int j = i + 1; j < h->n_out; j++)
                td_storage_unref(res[j].storage);
            r->outs_valid = false; /* some are bound already: the error says why */
            return st->code;
        }
    return TD_CODE_OK;
}

static void profile_add(struct td_session *s, unsigned op, uint64_t t0, uint64_t t1)
{
    s->prof[op].count++;
    s->prof[op].ns += td_metrics_stamp_ns(t0, t1);
}

static enum td_code run_graph(struct td_session *s, struct rec_ctx *r, uint64_t index, struct td_reply *reply,
                              uint64_t *clock, struct td_status *st);
static bool cancelled(const struct td_session *s);

/* Executes one record of validated length; a failure is recorded, never sticky. */
static void exec_record(struct td_session *s, const struct td_rec_hdr *h, uint64_t index, const uint8_t *payload,
                        size_t payload_len, int sync, struct td_reply *reply, uint64_t *clock)
{
    const uint64_t *handles = (const uint64_t *)(h + 1);
    struct rec_ctx r; /* no initializer: in[] has room for 255 inputs (see exec.c) */
    r.h = h;
    r.outs = handles;
    r.ins = handles + h->n_out;
    r.outs_valid = false;
    r.on_use = false;
    memset(r.in, 0, (size_t)h->n_in * sizeof r.in[0]);
    if (h->op == TD_OP_RELEASE) {
        do_release(s, r.ins, h->n_in);
        return;
    }
    struct td_status st;
    td_status_clear(&st);
    struct td_failure *inherited = NULL;
    uint64_t t0 = *clock; /* the previous record's end: reading the clock is a tenth of a small op */
    if (h->op >= TD_OP_COUNT)
        td_status_set(&st, TD_CODE_UNIMPLEMENTED, "unknown op %u", h->op);
    else if (!bind_record(s, &r, &inherited, &st) && !inherited &&
             !(h->op == TD_OP_GRAPH_RUN ? run_graph(s, &r, index, reply, clock, &st)
                                        : run_record(s, &r, payload, payload_len, sync, reply, &st))) {
        batch.ops++;
        *clock = td_metrics_op(h->op, t0, TD_CODE_OK);
        if (s->profiling && h->op != TD_OP_PROFILE && h->op != TD_OP_GRAPH_RUN) /* its records count */
            profile_add(s, h->op, t0, *clock);
        return;
    }
    if (!inherited) { /* a consequence of an earlier failure is not counted twice */
        *clock = td_metrics_op(h->op, t0, st.code);
        if (s->profiling && h->op < TD_OP_COUNT)
            profile_add(s, h->op, t0, *clock);
    }
    struct td_failure *f = inherited ? td_failure_ref(inherited) : failure_new(h->op, index, &st);
    if (!f) { /* out of memory for the failure itself: report it without marking */
        struct td_failure tmp = {.refs = 2, .op = h->op, .code = st.code, .origin = index};
        snprintf(tmp.msg, sizeof tmp.msg, "%s", st.msg);
        reply_add_error(reply, index, &tmp);
        return;
    }
    fail_record(s, &r, index, f, sync, reply);
}

static bool cancelled(const struct td_session *s)
{
    return s->cancel && atomic_load_explicit(s->cancel, memory_order_relaxed);
}


/*
 * GRAPH_RUN, bound (outputs fresh, inputs valid): the graph's body with its local handles
 * mapped to the session's, each record run as if sent, its failures reported under this
 * record's index.  Temporaries left by a failure are released at the end, and an output
 * no record could make gets the run's failure.
 */
static enum td_code run_graph(struct td_session *s, struct rec_ctx *r, uint64_t index, struct td_reply *reply,
                              uint64_t *clock, struct td_status *st)
{
    const struct td_rec_hdr *h = r->h;
    const int64_t *attrs = (const int64_t *)(r->ins + h->n_in);
    if (h->n_attr < TD_N_GRAPH_RUN)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph_run: record has %u attribute words, needs %d",
                             h->n_attr, TD_N_GRAPH_RUN);
    struct td_graph *g = td_graphs_find(&s->graphs, (uint64_t)attrs[TD_A_GRAPH_RUN_GRAPH]);
    if (!g)
        return td_status_set(st, TD_CODE_NOT_FOUND, "graph %llu: no such graph in this session",
                             (unsigned long long)attrs[TD_A_GRAPH_RUN_GRAPH]);
    if (g->n_bound != g->n_consts)
        return td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph %llu: %u of its %u constants given",
                             (unsigned long long)g->id, g->n_bound, g->n_consts);
    /* a replay naming no outputs writes the held ones (a held capture's, GRAPH_CONSTS held) */
    bool replay = h->flags & TD_RF_INPLACE, held = replay && h->n_out == 0 && g->n_outputs;
    if (held && g->n_held != g->n_outputs)
        return td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph %llu: %u of its %u held outputs given",
                             (unsigned long long)g->id, g->n_held, g->n_outputs);
    if (h->n_in != g->n_inputs || (h->n_out != g->n_outputs && !held))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph %llu takes %u inputs and makes %u outputs, "
                             "not %u and %u", (unsigned long long)g->id, g->n_inputs, g->n_outputs, h->n_in, h->n_out);
    const uint64_t *outs = held ? g->held : r->outs;
    for (uint32_t i = 0; i < g->n_inputs; i++)
        if (!td_meta_same_layout(&g->in_m[i], &r->in[i]->m)) {
            char want[160], got[160];
            td_meta_describe(&g->in_m[i], want, sizeof want);
            td_meta_describe(&r->in[i]->m, got, sizeof got);
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph %llu: input %u is %s, but the graph was "
                                 "captured for %s", (unsigned long long)g->id, i, got, want);
        }
    uint32_t first_temp = first_const(g) + g->n_consts;
    uint64_t buf[TD_REC_MAX_WORDS];
    /* a replay computes its outputs as temporaries, then copies them into the existing ones,
     * so their storage (which views and other graphs read) is the same */
    s->in_graph = true;
    for (size_t pos = 0; pos < g->words && !cancelled(s);) {
        const struct td_rec_hdr *rh = (const struct td_rec_hdr *)(g->body + pos);
        memcpy(buf, rh, (size_t)rh->words * 8);
        uint64_t *hs = buf + 1;
        for (int i = 0; i < rh->n_out + rh->n_in; i++) {
            uint64_t k = hs[i];
            hs[i] = k <= g->n_inputs                   ? r->ins[k - 1]
                    : k < first_const(g) && !replay    ? outs[k - g->n_inputs - 1]
                    : k < first_const(g)               ? TD_GRAPH_TEMP_ID(k)
                    : k < first_temp                   ? TD_GRAPH_CONST_ID(g->serial, k)
                                                       : TD_GRAPH_TEMP_ID(k);
        }
        pos += rh->words;
        exec_record(s, (const struct td_rec_hdr *)buf, index, NULL, 0, 0, reply, clock);
    }
    for (uint32_t j = 0; replay && j < g->n_outputs; j++) {
        uint64_t copy[4]; /* COPY_ of the new value into the output (its failure, if it failed) */
        struct td_rec_hdr ch = {.words = 3, .op = TD_OP_COPY_, .n_in = 2};
        memcpy(copy, &ch, sizeof ch);
        copy[1] = outs[j];
        copy[2] = TD_GRAPH_TEMP_ID(g->n_inputs + 1 + j);
        if (!cancelled(s))
            exec_record(s, (const struct td_rec_hdr *)copy, index, NULL, 0, 0, reply, clock);
        do_release(s, &copy[2], 1);
    }
    for (uint32_t k = first_temp; k <= g->n_local; k++) /* after a failure or a cancel */
        do_release(s, (uint64_t[]){TD_GRAPH_TEMP_ID(k)}, 1);
    s->in_graph = false;
    for (uint32_t j = 0; !replay && j < g->n_outputs; j++)
        if (!td_handles_get(&s->handles, r->outs[j])) {
            struct td_status why = TD_STATUS_INIT;
            td_status_set(&why, cancelled(s) ? TD_CODE_CANCELLED : TD_CODE_INTERNAL,
                          "graph %llu: output %u was not made", (unsigned long long)g->id, j);
            struct td_failure *f = failure_new(h->op, index, &why);
            struct td_tensor t = {.storage = NULL, .fail = f};
            memset(&t.m, 0, sizeof t.m);
            if (f)
                add_output(s, r->outs[j], &t, NULL);
        }
    return TD_CODE_OK;
}

void td_session_exec(struct td_session *s, const uint8_t *rec, size_t n, const uint8_t *payload,
                     size_t payload_len, int sync, struct td_reply *reply)
{
    size_t pos = 0;
    td_parallel_set_cancel(s->cancel);
    td_parallel_set_limit(s->num_threads); /* this thread runs the session's kernels now */
    td_alloc_bind(s->acct);
    td_device_bind(&s->dacct);
    uint64_t clock = td_metrics_stamp();
    while (pos < n && !cancelled(s)) {
        uint64_t index = s->records_seen++;
        struct td_rec_hdr h;
        struct td_status st;
        td_status_clear(&st);
        if (n - pos < sizeof h) {
            td_status_set(&st, TD_CODE_INVALID_ARGUMENT, "truncated record header (%zu bytes left)", n - pos);
            pos = n;
        } else {
            memcpy(&h, rec + pos, sizeof h);
            size_t words = (size_t)h.n_out + h.n_in + h.n_attr + 1;
            if (h.words < words || h.words > TD_REC_MAX_WORDS || (size_t)h.words * 8 > n - pos) {
                td_status_set(&st, TD_CODE_INVALID_ARGUMENT,
                              "malformed record: %u words declared, %zu needed, %zu bytes left", h.words, words,
                              n - pos);
                pos = n; /* cannot find the next record boundary */
            } else {
                /* records are copied out to guarantee 8-byte alignment of handles and attrs */
                uint64_t buf[TD_REC_MAX_WORDS];
                memcpy(buf, rec + pos, (size_t)h.words * 8);
                pos += (size_t)h.words * 8;
                exec_record(s, (const struct td_rec_hdr *)buf, index, payload, payload_len, sync, reply, &clock);
            }
        }
        if (st.code) { /* a malformed record names no tensors: nothing to mark */
            struct td_failure f = {.refs = 1, .op = TD_OP_NONE, .code = st.code, .origin = index};
            snprintf(f.msg, sizeof f.msg, "%s", st.msg);
            reply_add_error(reply, index, &f);
            atomic_fetch_add(&st_errors, 1);
        }
    }
    td_metrics_flush();
    atomic_fetch_add(&st_ops, batch.ops);
    atomic_fetch_add(&st_tensors, (uint64_t)batch.tensors); /* wraps back for a negative delta */
    batch.ops = 0;
    batch.tensors = 0;
    td_parallel_set_cancel(NULL);
    td_alloc_bind(NULL);
    td_device_bind(NULL);
    reply->executed = s->records_seen;
}
