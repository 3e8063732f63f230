/*
 * client.c — libtensord's session: handle assignment, local validation through the
 * meta layer, op recording into batches, flushing, sync and data transfer.
 *
 * Records accumulate in `rec` (and upload bytes in `payload`) until a sync point or a
 * size threshold; then one ClientMsg carries them (conn.c).  Releases are queued and
 * packed up to 255 per record, always after the ops that used the handles.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../daemon/address.h"
#include "../daemon/session.h"
#include "conn.h"
#include "tensord.h"

#define FLUSH_RECORD_BYTES (256 * 1024)
#define CHUNK_BYTES (1 << 20)         /* one UPLOAD/READ record moves at most this */
#define MSG_PAYLOAD_BYTES (4 << 20)   /* flush (or sync) once a message carries this */
#define MAX_RELEASES 255

struct buf {
    uint8_t *p;
    size_t len, cap;
};

struct td_client {
    pthread_mutex_t lock;
    struct td_conn *conn;
    char target[512];
    uint64_t next_handle;
    struct buf rec, payload;
    uint64_t releases[MAX_RELEASES];
    int n_releases;
    enum td_dtype default_float;
};

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

td_client_t *td_client_connect(const char *address, int timeout_ms, struct td_status *st)
{
    td_client_t *c = calloc(1, sizeof *c);
    if (!c) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    resolve_target(address, c->target, sizeof c->target);
    char desc[64];
    snprintf(desc, sizeof desc, "libtensord pid %d", (int)getpid());
    c->conn = td__conn_open(c->target, desc, timeout_ms > 0 ? timeout_ms : 5000, st);
    if (!c->conn) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->next_handle = 1;
    c->default_float = TD_DTYPE_FLOAT32;
    return c;
}

uint64_t td_client_session(const td_client_t *c) { return td__conn_session_id(c->conn); }

enum td_code td_client_stats(const char *address, struct td_stats *out, struct td_status *st)
{
    char target[512];
    resolve_target(address, target, sizeof target);
    return td__conn_stats(target, out, st);
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
    return h;
}

static void pack_releases(td_client_t *c)
{
    if (!c->n_releases)
        return;
    struct td_rec_hdr *h = rec_begin(c, TD_OP_RELEASE, 0, 0, c->n_releases, 0);
    if (h) /* on OOM the handles leak until the session ends, which frees them */
        memcpy(h + 1, c->releases, sizeof(uint64_t) * c->n_releases);
    c->n_releases = 0;
}

static enum td_code send_locked(td_client_t *c, bool sync, struct td_conn_reply *reply, struct td_status *st)
{
    pack_releases(c);
    if (!sync && !c->rec.len)
        return TD_CODE_OK;
    enum td_code code = td__conn_send(c->conn, c->rec.p, c->rec.len, c->payload.p, c->payload.len, sync, reply, st);
    c->rec.len = 0;
    c->payload.len = 0;
    return code;
}

static enum td_code maybe_flush(td_client_t *c, struct td_status *st)
{
    if (c->rec.len < FLUSH_RECORD_BYTES && c->payload.len < MSG_PAYLOAD_BYTES)
        return TD_CODE_OK;
    return send_locked(c, false, NULL, st);
}

/* Sync with the daemon; READ bytes (if any) land in reply->payload. */
static enum td_code sync_locked(td_client_t *c, struct td_conn_reply *reply, struct td_status *st)
{
    memset(reply, 0, sizeof *reply);
    if (send_locked(c, true, reply, st))
        return st ? st->code : TD_CODE_UNAVAILABLE;
    if (reply->code) {
        td_status_set(st, reply->code, "%s", reply->message);
        free(reply->payload);
        reply->payload = NULL;
        return reply->code;
    }
    return TD_CODE_OK;
}

enum td_code td_sync(td_client_t *c, struct td_status *st)
{
    struct td_conn_reply r;
    pthread_mutex_lock(&c->lock);
    enum td_code code = sync_locked(c, &r, st);
    pthread_mutex_unlock(&c->lock);
    free(r.payload);
    return code;
}

void td_release(td_client_t *c, struct td_t *t)
{
    if (!c || !t || !t->handle)
        return;
    pthread_mutex_lock(&c->lock);
    c->releases[c->n_releases++] = t->handle;
    if (c->n_releases == MAX_RELEASES)
        pack_releases(c);
    t->handle = 0;
    pthread_mutex_unlock(&c->lock);
}

static enum td_code op_locked(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in,
                              int n_in, const int64_t *attrs, int n_attr, struct td_t *out, struct td_status *st)
{
    const struct td_meta *metas[TD_MAX_INPUTS];
    if (n_in < 0 || n_in > TD_MAX_INPUTS || n_attr < 0 || n_attr > 255)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: too many inputs or attributes", td_op_name(op));
    for (int i = 0; i < n_in; i++)
        metas[i] = &in[i]->m;
    struct td_op_args a = {
        .op = (uint16_t)op, .flags = (uint8_t)flags, .n_in = (uint16_t)n_in, .in = metas,
        .attrs = attrs, .n_attr = (uint32_t)n_attr, .default_float = c->default_float,
    };
    struct td_meta om[TD_MAX_OUTPUTS];
    struct td_infer inf;
    if (td_meta_infer(&a, om, &inf, st))
        return st ? st->code : TD_CODE_INVALID_ARGUMENT;
    int n_out = (flags & (TD_RF_INPLACE | TD_RF_OUT)) ? 0 : inf.n_out;
    struct td_rec_hdr *h = rec_begin(c, op, flags, n_out, n_in, n_attr);
    if (!h)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory recording %s", td_op_name(op));
    uint64_t *w = (uint64_t *)(h + 1);
    for (int j = 0; j < n_out; j++) {
        out[j].handle = c->next_handle++;
        out[j].m = om[j];
        out[j].storage_id = inf.out_is_view ? in[0]->storage_id : out[j].handle;
        *w++ = out[j].handle;
    }
    for (int i = 0; i < n_in; i++)
        *w++ = in[i]->handle;
    memcpy(w, attrs, sizeof(int64_t) * n_attr);
    return maybe_flush(c, st);
}

enum td_code td_client_set_default_float(td_client_t *c, enum td_dtype dt, struct td_status *st)
{
    int64_t attr = dt;
    pthread_mutex_lock(&c->lock);
    enum td_code code = op_locked(c, TD_OP_SET_DEFAULT_DTYPE, 0, NULL, 0, &attr, 1, NULL, st);
    if (!code)
        c->default_float = dt;
    pthread_mutex_unlock(&c->lock);
    return code;
}

enum td_code td_op(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in, int n_in,
                   const int64_t *attrs, int n_attr, struct td_t *out, struct td_status *st)
{
    pthread_mutex_lock(&c->lock);
    enum td_code code = op_locked(c, op, flags, in, n_in, attrs, n_attr, out, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

void td_client_free(td_client_t *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    send_locked(c, false, NULL, NULL);
    td__conn_close(c->conn);
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_destroy(&c->lock);
    free(c->rec.p);
    free(c->payload.p);
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
        int64_t attrs[3] = {(int64_t)off, (int64_t)len, (int64_t)c->payload.len};
        const struct td_t *in[1] = {t};
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
    attrs[0] = dt;
    attrs[1] = ndim;
    memcpy(attrs + 2, sizes, sizeof(int64_t) * ndim);
    pthread_mutex_lock(&c->lock);
    enum td_code code = op_locked(c, TD_OP_EMPTY, 0, NULL, 0, attrs, 2 + ndim, out, st);
    if (!code)
        code = upload_locked(c, out, data, (size_t)out->m.storage_nbytes, st);
    pthread_mutex_unlock(&c->lock);
    return code;
}

static enum td_code download_locked(td_client_t *c, const struct td_t *t, uint8_t *data, size_t nbytes,
                                    struct td_status *st)
{
    const struct td_t *in[1] = {t};
    for (size_t off = 0; off < nbytes;) {
        size_t batch_end = off + MSG_PAYLOAD_BYTES < nbytes ? off + MSG_PAYLOAD_BYTES : nbytes;
        for (size_t o = off; o < batch_end; o += CHUNK_BYTES) {
            int64_t attrs[2] = {(int64_t)o, (int64_t)(batch_end - o < CHUNK_BYTES ? batch_end - o : CHUNK_BYTES)};
            if (op_locked(c, TD_OP_READ, 0, in, 1, attrs, 2, NULL, st))
                return st ? st->code : TD_CODE_INTERNAL;
        }
        struct td_conn_reply r;
        if (sync_locked(c, &r, st))
            return st ? st->code : TD_CODE_INTERNAL;
        if (r.payload_len != batch_end - off) {
            free(r.payload);
            return td_status_set(st, TD_CODE_INTERNAL, "download: expected %zu bytes, got %zu", batch_end - off,
                                 r.payload_len);
        }
        memcpy(data + off, r.payload, r.payload_len);
        free(r.payload);
        off = batch_end;
    }
    if (nbytes == 0) {
        struct td_conn_reply r;
        if (sync_locked(c, &r, st))
            return st ? st->code : TD_CODE_INTERNAL;
        free(r.payload);
    }
    return TD_CODE_OK;
}

enum td_code td_download(td_client_t *c, const struct td_t *t, void *data, size_t nbytes, struct td_status *st)
{
    size_t need = (size_t)td_meta_numel(&t->m) * td_dtype_size(t->m.dtype);
    if (nbytes < need)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "download: buffer of %zu bytes, tensor needs %zu", nbytes,
                             need);
    pthread_mutex_lock(&c->lock);
    enum td_code code;
    if (td_meta_is_contiguous(&t->m)) {
        code = download_locked(c, t, data, need, st);
    } else {
        struct td_t tmp;
        const struct td_t *in[1] = {t};
        code = op_locked(c, TD_OP_CLONE, 0, in, 1, NULL, 0, &tmp, st);
        if (!code) {
            code = download_locked(c, &tmp, data, need, st);
            c->releases[c->n_releases++] = tmp.handle;
            if (c->n_releases == MAX_RELEASES)
                pack_releases(c);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return code;
}
