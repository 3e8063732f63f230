/*
 * session.c — a session's state and the executor of its op records.
 *
 * td_session_exec walks a batch record by record: parse and bound-check the header,
 * resolve handles, re-run the meta layer (the daemon never trusts the client), then
 * execute: stream controls here, views by aliasing storage, everything else through
 * the CPU kernel table (exec_kernel in exec.c).  The first failure becomes the sticky
 * error; later records are skipped (releases still run) until a sync reports it.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/rng.h"
#include "exec.h"
#include "handles.h"
#include "session.h"

struct td_session {
    uint64_t id;
    char peer[128];
    struct td_handles handles;
    struct td_rng rng;
    uint8_t default_float; /* enum td_dtype: set_default_dtype of the client */
    int num_threads;       /* set_num_threads of the client (0: the whole pool) */
    uint64_t records_seen;
    struct td_status err;    /* sticky */
    uint64_t err_record;
};

static atomic_uint_fast64_t st_sessions, st_sessions_total, st_tensors, st_ops, st_errors, st_bad;

void td_reply_init(struct td_reply *r) { memset(r, 0, sizeof *r); }

void td_reply_fini(struct td_reply *r)
{
    free(r->payload);
    td_reply_init(r);
}

static bool reply_append(struct td_reply *r, const void *p, size_t n)
{
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
    memcpy(r->payload + r->payload_len, p, n);
    r->payload_len += n;
    return true;
}

struct td_session *td_session_new(uint64_t id, const char *peer)
{
    struct td_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->id = id;
    snprintf(s->peer, sizeof s->peer, "%s", peer ? peer : "?");
    td_handles_init(&s->handles);
    td_rng_seed(&s->rng, 67280421310721ull); /* fixed default seed, like torch's */
    s->default_float = TD_DTYPE_FLOAT32;
    atomic_fetch_add(&st_sessions_total, 1);
    return s;
}

void td_session_free(struct td_session *s)
{
    if (!s)
        return;
    atomic_fetch_sub(&st_tensors, s->handles.count);
    td_handles_fini(&s->handles);
    free(s);
}

uint64_t td_session_id(const struct td_session *s) { return s->id; }

void td_stats_count_bad_message(void) { atomic_fetch_add(&st_bad, 1); }
void td_stats_session_opened(void) { atomic_fetch_add(&st_sessions, 1); }
void td_stats_session_closed(void) { atomic_fetch_sub(&st_sessions, 1); }

void td_stats_get(struct td_stats *o)
{
    memset(o, 0, sizeof *o);
    o->sessions = atomic_load(&st_sessions);
    o->sessions_total = atomic_load(&st_sessions_total);
    o->tensors = atomic_load(&st_tensors);
    o->ops_executed = atomic_load(&st_ops);
    o->errors = atomic_load(&st_errors);
    o->bad_messages = atomic_load(&st_bad);
    o->bytes_cached = td_alloc_cached_bytes();
    td_alloc_counters(&o->bytes_in_use, &o->bytes_peak, &o->storages);
}

/* ---- one record ---- */

static void do_release(struct td_session *s, const uint64_t *ids, int n)
{
    for (int i = 0; i < n; i++)
        if (td_handles_del(&s->handles, ids[i]))
            atomic_fetch_sub(&st_tensors, 1);
}

static enum td_code do_ctrl(struct td_session *s, const struct td_op_args *a, struct td_tensor *t,
                            const uint8_t *payload, size_t payload_len, int sync, struct td_reply *reply,
                            struct td_status *st)
{
    if (a->op == TD_OP_MANUAL_SEED) {
        td_rng_seed(&s->rng, (uint64_t)a->attrs[0]);
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_SET_DEFAULT_DTYPE) {
        s->default_float = (uint8_t)a->attrs[0];
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_SET_NUM_THREADS) {
        s->num_threads = (int)a->attrs[0];
        td_parallel_set_limit(s->num_threads);
        return TD_CODE_OK;
    }
    char *base = t->storage->data + t->m.offset * (int64_t)td_dtype_size(t->m.dtype) + a->attrs[0];
    size_t len = (size_t)a->attrs[1];
    if (a->op == TD_OP_UPLOAD) {
        int64_t poff = a->attrs[2];
        if (poff < 0 || (size_t)poff > payload_len || len > payload_len - (size_t)poff)
            return td_status_set(st, TD_CODE_OUT_OF_RANGE, "upload: payload range [%lld, +%zu) outside %zu bytes",
                                 (long long)poff, len, payload_len);
        if (len) /* payload may be NULL when empty */
            memcpy(base, payload + poff, len);
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
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "handle table: out of memory");
    }
    atomic_fetch_add(&st_tensors, 1);
    return TD_CODE_OK;
}

/* Executes one validated-length record.  Errors go to st. */
static void exec_record(struct td_session *s, const struct td_rec_hdr *h, const uint8_t *payload,
                        size_t payload_len, int sync, struct td_reply *reply, struct td_status *st)
{
    const uint64_t *handles = (const uint64_t *)(h + 1);
    const uint64_t *outs = handles, *ins = handles + h->n_out;
    if (h->op == TD_OP_RELEASE) {
        do_release(s, ins, h->n_in);
        return;
    }
    if (st->code)
        return; /* sticky: skip everything but releases */
    if (h->op >= TD_OP_COUNT) {
        td_status_set(st, TD_CODE_UNIMPLEMENTED, "unknown op %u", h->op);
        return;
    }
    const struct td_op_info *info = &td_op_table[h->op];
    /* out= destinations (TD_RF_OUT) trail the operands; the meta layer checks them */
    int want_in = info->n_in, n_dst = (h->flags & TD_RF_OUT) ? info->n_out : 0, n_ops = h->n_in - n_dst;
    if ((want_in >= 0 && n_ops != want_in && !(info->family == TD_FAM_BINARY && n_ops == 1)) ||
        h->n_out != ((h->flags & (TD_RF_INPLACE | TD_RF_OUT)) ? 0 : info->n_out)) {
        td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: record has %u inputs and %u outputs", info->name,
                      h->n_in, h->n_out);
        return;
    }
    struct td_tensor *in[TD_MAX_INPUTS];
    const struct td_meta *in_m[TD_MAX_INPUTS];
    for (int i = 0; i < h->n_in; i++) {
        in[i] = td_handles_get(&s->handles, ins[i]);
        if (!in[i]) {
            td_status_set(st, TD_CODE_NOT_FOUND, "%s: unknown tensor handle %llu", info->name,
                          (unsigned long long)ins[i]);
            return;
        }
        in_m[i] = &in[i]->m;
    }
    for (int i = 0; i < h->n_out; i++)
        if (!outs[i] || td_handles_get(&s->handles, outs[i])) {
            td_status_set(st, TD_CODE_ALREADY_EXISTS, "%s: output handle %llu is zero or already in use",
                          info->name, (unsigned long long)outs[i]);
            return;
        }
    struct td_op_args a = {
        .op = h->op, .flags = h->flags, .n_in = h->n_in, .in = in_m,
        .attrs = (const int64_t *)(ins + h->n_in), .n_attr = h->n_attr,
        .default_float = (enum td_dtype)s->default_float,
    };
    struct td_meta out_m[TD_MAX_OUTPUTS];
    struct td_infer inf;
    if (td_meta_infer(&a, out_m, &inf, st))
        return;
    if (info->family == TD_FAM_CTRL) {
        do_ctrl(s, &a, h->n_in ? in[0] : NULL, payload, payload_len, sync, reply, st);
        return;
    }
    struct td_tensor res[TD_MAX_OUTPUTS] = {{.storage = NULL}};
    if (inf.out_is_view) {
        res[0].m = out_m[0];
        res[0].storage = in[0]->storage;
        if (!td_meta_check_bounds(&res[0].m)) {
            td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: view lies outside its storage", info->name);
            return;
        }
        td_storage_ref(in[0]->storage);
    } else if (td__exec_kernel(&a, &inf, in, out_m, res, &s->rng, st)) {
        return;
    }
    for (int i = 0; i < h->n_out; i++)
        if (add_output(s, outs[i], &res[i], st))
            for (int j = i + 1; j < h->n_out; j++)
                td_storage_unref(res[j].storage);
}

void td_session_exec(struct td_session *s, const uint8_t *rec, size_t n, const uint8_t *payload,
                     size_t payload_len, int sync, struct td_reply *reply)
{
    size_t pos = 0;
    td_parallel_set_limit(s->num_threads); /* this thread runs the session's kernels now */
    while (pos < n) {
        uint64_t index = s->records_seen++;
        struct td_rec_hdr h;
        struct td_status st = TD_STATUS_INIT;
        bool had_error = s->err.code != TD_CODE_OK;
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
                if (had_error)
                    st = s->err;
                exec_record(s, (const struct td_rec_hdr *)buf, payload, payload_len, sync, reply, &st);
                if (!had_error && !st.code)
                    atomic_fetch_add(&st_ops, 1);
            }
        }
        if (!had_error && st.code) {
            s->err = st;
            s->err_record = index;
            atomic_fetch_add(&st_errors, 1);
        }
    }
    if (sync) {
        reply->code = s->err.code;
        if (s->err.code) {
            snprintf(reply->message, sizeof reply->message, "%s", s->err.msg);
            reply->failed_record = s->err_record;
            reply->payload_len = 0; /* reads after an error are not meaningful */
        }
        td_status_clear(&s->err);
    }
}
