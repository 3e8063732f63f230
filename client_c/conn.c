/*
 * conn.c — libtensord's gRPC transport (gRPC C core 1.51 + protobuf-c); see conn.h.
 *
 * No thread of its own: every batch is started on the connection's own pluck
 * completion queue and plucked by the caller, so nothing completes behind its back.
 * Sends are plucked at once.  Answers (one per message, in order) are read through
 * one RECV_MESSAGE kept armed between calls: td__conn_recv polls it or waits for it.
 * One connection = one channel + one Session stream.
 *
 * Deadlines: the Session stream itself has none (it lives as long as the session);
 * only the attach wait is bounded (timeout_ms), and detach at close is bounded so a
 * hung daemon cannot hang the client's exit.  Stats has a 5 s deadline.
 *
 * Failure model: once a batch fails, the stream is dead (the daemon died or dropped
 * us): the status is collected for the message, every later call answers UNAVAILABLE
 * "lost connection to tensord at TARGET", and close just frees.
 */
#include "conn.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../proto/td_stats.h"
#include "../proto/td_client_auth.h"
#include "../proto/td_grpc_pb.h"
#include "../proto/td_record.h"
#include "../proto/td_ring.h"
#include "shm.h"
#include "tensord.pb-c.h"

#define SESSION_METHOD "/tensord.v1.Tensord/Session"
#define STATS_METHOD "/tensord.v1.Tensord/Stats"
#define MAX_MESSAGE (256 << 20) /* same as the daemon's TD_RPC_MAX_MESSAGE */
#define CLOSE_TIMEOUT_MS 10000
#define STATS_TIMEOUT_MS 5000

struct td_conn {
    grpc_channel *ch;
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata_array initial_md;
    uint64_t session_id, seq;
    unsigned pending;          /* messages sent whose answer was not received yet */
    bool recv_armed;           /* a RECV_MESSAGE batch is in flight (tag: &recv_tag) */
    int recv_tag;
    grpc_byte_buffer *recv_bb; /* where it lands */
    bool dead;        /* the stream failed or ended: only close is left */
    bool gone;        /* dead because the daemon went away (not because it ended the session) */
    bool status_done; /* RECV_STATUS_ON_CLIENT completed */
    char target[256];
    /* the shared-memory transport, when the daemon offered one and it opened: then
     * every message after attach travels there (shm.h) */
    struct td_shm *shm;
    char shm_address[160];
    uint8_t shm_secret[16];
};

/* ---- helpers shared by the stream and Stats */

static gpr_timespec deadline_in(int ms)
{
    if (ms < 0)
        return gpr_inf_future(GPR_CLOCK_REALTIME);
    return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static grpc_channel *channel_new(const char *target)
{
    grpc_arg args[3] = {
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = MAX_MESSAGE},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, .value.integer = MAX_MESSAGE},
        /* never share a connection with another channel: after fork() the shared one
         * would be the parent's socket (see fork.c) */
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, .value.integer = 1},
    };
    grpc_channel_args ch_args = {.num_args = 3, .args = args};
    grpc_channel_credentials *cc = td_client_creds(target); /* TLS for TCP with $TENSORD_TLS_CA */
    grpc_channel *ch = grpc_channel_create(target, cc, &ch_args);
    grpc_channel_credentials_release(cc);
    return ch;
}

/* Destroys channel and queue (all tags must have been plucked). */
static void channel_free(grpc_channel *ch, grpc_completion_queue *cq)
{
    grpc_channel_destroy(ch);
    grpc_completion_queue_shutdown(cq);
    for (;;) {
        grpc_event ev = grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
    }
    grpc_completion_queue_destroy(cq);
}

/* Unpacks and destroys bb; NULL when it is not a message of desc. */
static ProtobufCMessage *unpack_msg(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *bb)
{
    size_t n;
    ProtobufCMessage *m = td_unpack_msg(desc, bb, &n);
    grpc_byte_buffer_destroy(bb);
    return m;
}

/* Copies a status_details slice into buf. */
static void slice_to_str(grpc_slice s, char *buf, size_t len)
{
    size_t n = GRPC_SLICE_LENGTH(s);
    if (n >= len)
        n = len - 1;
    memcpy(buf, GRPC_SLICE_START_PTR(s), n);
    buf[n] = 0;
}

/* ---- the Session stream */

/* Starts ops and waits up to timeout_ms (< 0: forever); on timeout cancels the call
 * and waits for the batch to come back.  Returns the batch's success. */
static bool run_batch(struct td_conn *c, const grpc_op *ops, size_t n, int timeout_ms, bool *timed_out)
{
    void *tag = (void *)ops;
    *timed_out = false;
    if (grpc_call_start_batch(c->call, ops, n, tag, NULL) != GRPC_CALL_OK)
        return false;
    grpc_event ev = grpc_completion_queue_pluck(c->cq, tag, deadline_in(timeout_ms), NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) {
        *timed_out = true;
        grpc_call_cancel(c->call, NULL);
        ev = grpc_completion_queue_pluck(c->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    }
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

/* Collects the call's final status (cancelling first unless the daemon already ended
 * the stream, so this never blocks on a live stream).  details may be NULL. */
static grpc_status_code recv_status(struct td_conn *c, bool cancel, char *details, size_t len)
{
    grpc_status_code code = GRPC_STATUS_UNKNOWN;
    grpc_slice slice = grpc_empty_slice();
    grpc_metadata_array trailing;
    bool timed_out;

    if (details)
        details[0] = 0;
    if (c->status_done)
        return GRPC_STATUS_UNAVAILABLE;
    if (cancel)
        grpc_call_cancel(c->call, NULL);
    grpc_metadata_array_init(&trailing);
    grpc_op op = {.op = GRPC_OP_RECV_STATUS_ON_CLIENT};
    op.data.recv_status_on_client.trailing_metadata = &trailing;
    op.data.recv_status_on_client.status = &code;
    op.data.recv_status_on_client.status_details = &slice;
    if (run_batch(c, &op, 1, CLOSE_TIMEOUT_MS, &timed_out) && details)
        slice_to_str(slice, details, len);
    c->status_done = true;
    grpc_slice_unref(slice);
    grpc_metadata_array_destroy(&trailing);
    return code;
}

/* Reads and drops what the daemon sent on the stream since attach (on the rings it
 * sends only the error that ended the session): gRPC hands out the status only after
 * every message was read. */
static void drain_stream(struct td_conn *c)
{
    for (;;) {
        grpc_byte_buffer *bb = NULL;
        grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
        op.data.recv_message.recv_message = &bb;
        bool timed_out;
        bool ok = run_batch(c, &op, 1, CLOSE_TIMEOUT_MS, &timed_out);
        if (!bb)
            return;
        grpc_byte_buffer_destroy(bb);
        if (!ok)
            return;
    }
}

/* The stream broke: collect the status for the message, mark the conn dead. */
static enum td_code lost(struct td_conn *c, bool cancel, struct td_status *st)
{
    char details[200];
    if (c->shm && !cancel && !c->status_done && !c->dead)
        drain_stream(c);
    grpc_status_code code = recv_status(c, cancel, details, sizeof details);
    c->dead = true;
    if (code == GRPC_STATUS_OK || code == GRPC_STATUS_UNAVAILABLE || code == GRPC_STATUS_CANCELLED ||
        code == GRPC_STATUS_UNKNOWN || code == GRPC_STATUS_DEADLINE_EXCEEDED) {
        c->gone = true;
        return td_status_set(st, TD_CODE_UNAVAILABLE, "lost connection to tensord at %s%s%s%s", c->target,
                             details[0] ? " (" : "", details, details[0] ? ")" : "");
    }
    return td_status_set(st, (enum td_code)code, "tensord ended the session: %s", details);
}

/* Cancels a RECV_MESSAGE still in flight and collects it (before the call is freed). */
static void disarm_recv(struct td_conn *c)
{
    if (!c->recv_armed)
        return;
    grpc_call_cancel(c->call, NULL);
    grpc_completion_queue_pluck(c->cq, &c->recv_tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    c->recv_armed = false;
    if (c->recv_bb)
        grpc_byte_buffer_destroy(c->recv_bb);
    c->recv_bb = NULL;
}

static void conn_free(struct td_conn *c)
{
    td__shm_close(c->shm);
    if (!c->status_done)
        recv_status(c, true, NULL, 0);
    disarm_recv(c);
    grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->initial_md);
    channel_free(c->ch, c->cq);
    free(c);
    grpc_shutdown();
}

/* Sends attach and waits for the answer; fills session_id. */
static enum td_code attach(struct td_conn *c, const char *client_desc, int timeout_ms, struct td_status *st)
{
    Tensord__V1__Attach a = TENSORD__V1__ATTACH__INIT;
    a.wire_version = TD_WIRE_VERSION;
    a.client = (char *)(client_desc ? client_desc : "");
    a.pid = (uint32_t)getpid();
    Tensord__V1__ClientMsg m = TENSORD__V1__CLIENT_MSG__INIT;
    m.seq = ++c->seq;
    m.attach = &a;

    grpc_byte_buffer *sbb = td_pack_msg(&m.base), *rbb = NULL;
    grpc_op ops[4] = {
        {.op = GRPC_OP_SEND_INITIAL_METADATA, .flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY},
        {.op = GRPC_OP_SEND_MESSAGE},
        {.op = GRPC_OP_RECV_INITIAL_METADATA},
        {.op = GRPC_OP_RECV_MESSAGE},
    };
    grpc_metadata auth;
    char auth_value[600];
    ops[0].data.send_initial_metadata.count = td_client_auth_md(c->target, &auth, auth_value, sizeof auth_value);
    ops[0].data.send_initial_metadata.metadata = &auth;
    ops[1].data.send_message.send_message = sbb;
    ops[2].data.recv_initial_metadata.recv_initial_metadata = &c->initial_md;
    ops[3].data.recv_message.recv_message = &rbb;
    bool timed_out;
    bool ok = run_batch(c, ops, 4, timeout_ms, &timed_out);
    grpc_byte_buffer_destroy(sbb);

    if (timed_out || !ok || !rbb) {
        if (rbb)
            grpc_byte_buffer_destroy(rbb);
        char details[200];
        grpc_status_code code = recv_status(c, timed_out || !ok, details, sizeof details);
        c->dead = true;
        if (timed_out || code == GRPC_STATUS_UNAVAILABLE || code == GRPC_STATUS_CANCELLED || code == GRPC_STATUS_OK ||
            code == GRPC_STATUS_DEADLINE_EXCEEDED)
            return td_status_set(st, TD_CODE_UNAVAILABLE, "no tensord daemon answers at %s", c->target);
        return td_status_set(st, (enum td_code)code, "tensord refused the session: %s", details);
    }
    Tensord__V1__ServerMsg *r = (Tensord__V1__ServerMsg *)unpack_msg(&tensord__v1__server_msg__descriptor, rbb);
    enum td_code code = TD_CODE_OK;
    if (!r)
        code = td_status_set(st, TD_CODE_INTERNAL, "malformed attach answer from tensord at %s", c->target);
    else if (r->code != 0)
        code = td_status_set(st, (enum td_code)r->code, "tensord refused the session: %s", r->message);
    else
        c->session_id = r->session_id;
    if (!code && r->shm_address && r->shm_address[0] && r->shm_secret.len == sizeof c->shm_secret) {
        snprintf(c->shm_address, sizeof c->shm_address, "%s", r->shm_address);
        memcpy(c->shm_secret, r->shm_secret.data, sizeof c->shm_secret);
    }
    if (r)
        tensord__v1__server_msg__free_unpacked(r, NULL);
    if (code != TD_CODE_OK)
        c->dead = true;
    return code;
}

/* Moves the session onto the shared-memory rings when the daemon offered them and the
 * target is local (TENSORD_TRANSPORT=grpc keeps it on gRPC).  A refusal is not an
 * error: the session simply stays on gRPC. */
static void open_shm(struct td_conn *c)
{
    const char *want = getenv("TENSORD_TRANSPORT");
    if (!c->shm_address[0] || (want && strcmp(want, "grpc") == 0) || strncmp(c->target, "unix", 4) != 0)
        return;
    struct td_status st = TD_STATUS_INIT;
    /* The daemon's side socket is its gRPC socket's path + ".shm"; seen from another
     * mount namespace (a container's socket volume) the daemon's name for it is wrong,
     * so the one beside our own target goes first. */
    char beside[sizeof c->target + 8];
    snprintf(beside, sizeof beside, "%s.shm", c->target);
    size_t n = strlen(c->shm_address);
    if (strcmp(beside, c->shm_address) != 0 && n > 4 && strcmp(c->shm_address + n - 4, ".shm") == 0)
        c->shm = td__shm_open(beside, c->session_id, c->shm_secret, &st);
    if (!c->shm) {
        td_status_clear(&st);
        c->shm = td__shm_open(c->shm_address, c->session_id, c->shm_secret, &st);
    }
    if (!c->shm && getenv("TENSORD_DEBUG_TRANSPORT"))
        fprintf(stderr, "tensord: staying on gRPC: %s\n", st.msg);
}

struct td_conn *td__conn_open(const char *target, const char *client_desc, int timeout_ms, struct td_status *st)
{
    struct td_conn *c = calloc(1, sizeof *c);
    if (!c) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    grpc_init();
    snprintf(c->target, sizeof c->target, "%s", target);
    grpc_metadata_array_init(&c->initial_md);
    c->ch = channel_new(target);
    c->cq = grpc_completion_queue_create_for_pluck(NULL);
    c->call = grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq,
                                       grpc_slice_from_static_string(SESSION_METHOD), NULL,
                                       gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (attach(c, client_desc, timeout_ms, st) != TD_CODE_OK) {
        conn_free(c);
        return NULL;
    }
    open_shm(c);
    return c;
}

const char *td__conn_transport(const struct td_conn *c) { return c->shm ? "shm" : "grpc"; }

void td__conn_keep_arenas(struct td_conn *c)
{
    if (c->shm)
        td__shm_keep_arenas(c->shm);
}

enum td_code td__conn_map_arena(struct td_conn *c, uint64_t arena, uint8_t **base, size_t *size,
                                struct td_status *st)
{
    if (!c->shm || c->dead)
        return td_status_set(st, TD_CODE_UNAVAILABLE, "tensor memory is mapped only over the shared-memory transport");
    return td__shm_map_arena(c->shm, arena, base, size, st);
}

void *td__conn_shm_map(const struct td_conn *c, size_t *bytes) { return c->shm ? td__shm_map(c->shm, bytes) : NULL; }

const uint8_t *td__conn_shm_secret(const struct td_conn *c) { return c->shm_secret; }

bool td__conn_gone(const struct td_conn *c) { return c->gone; }
bool td__conn_dead(const struct td_conn *c) { return c->dead; }
const char *td__conn_target(const struct td_conn *c) { return c->target; }

uint64_t td__conn_session_id(const struct td_conn *c)
{
    return c->session_id;
}

void td__conn_reply_fini(struct td_conn_reply *r)
{
    free(r->errors);
    free(r->payload);
    memset(r, 0, sizeof *r);
}

unsigned td__conn_pending(const struct td_conn *c) { return c->pending; }

static void reply_fill(struct td_conn_reply *reply, Tensord__V1__ServerMsg *r)
{
    memset(reply, 0, sizeof *reply);
    reply->seq = r->seq;
    reply->code = (enum td_code)r->code;
    snprintf(reply->message, sizeof reply->message, "%s", r->message ? r->message : "");
    reply->executed = r->executed;
    reply->errors_dropped = r->errors_dropped;
    if (r->n_errors && (reply->errors = calloc(r->n_errors, sizeof *reply->errors)) != NULL) {
        for (size_t i = 0; i < r->n_errors; i++) {
            struct td_conn_error *e = &reply->errors[i];
            e->record = r->errors[i]->record;
            e->origin = r->errors[i]->origin;
            e->code = (enum td_code)r->errors[i]->code;
            e->op = (uint16_t)r->errors[i]->op;
            snprintf(e->msg, sizeof e->msg, "%s", r->errors[i]->message ? r->errors[i]->message : "");
        }
        reply->n_errors = (int)r->n_errors;
    } else if (r->n_errors) {
        reply->errors_dropped += (uint32_t)r->n_errors; /* out of memory: counted, not listed */
    }
    if (r->payload.len) {
        reply->payload = r->payload.data; /* steal the unpacked bytes: no second copy */
        reply->payload_len = r->payload.len;
        r->payload.data = NULL;
        r->payload.len = 0;
    }
}

enum td_code td__conn_send(struct td_conn *c, const uint8_t *records, size_t n, const uint8_t *payload,
                           size_t payload_len, bool sync, uint64_t *seq, struct td_status *st)
{
    if (c->dead)
        return td_status_set(st, TD_CODE_UNAVAILABLE, "lost connection to tensord at %s", c->target);

    if (c->shm) {
        /* a hang-up's cause is the stream's status: lost() reads it */
        if (td__shm_send(c->shm, c->seq + 1, records, n, payload, payload_len, sync ? TD_RING_SYNC : 0, NULL))
            return lost(c, false, st);
        c->seq++;
        c->pending++;
        if (seq)
            *seq = c->seq;
        return TD_CODE_OK;
    }
    Tensord__V1__ClientMsg m = TENSORD__V1__CLIENT_MSG__INIT;
    m.seq = c->seq + 1;
    m.records.data = (uint8_t *)records;
    m.records.len = records ? n : 0;
    m.payload.data = (uint8_t *)payload;
    m.payload.len = payload ? payload_len : 0;
    m.sync = sync;
    size_t size = protobuf_c_message_get_packed_size(&m.base);
    if (size > MAX_MESSAGE)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "message of %zu bytes exceeds the %d MiB limit of one batch",
                             size, MAX_MESSAGE >> 20);
    c->seq++;
    grpc_byte_buffer *sbb = td_pack_msg(&m.base);
    grpc_op op = {.op = GRPC_OP_SEND_MESSAGE};
    op.data.send_message.send_message = sbb;
    bool timed_out;
    bool ok = run_batch(c, &op, 1, -1, &timed_out);
    grpc_byte_buffer_destroy(sbb);
    if (!ok)
        return lost(c, true, st);
    c->pending++;
    if (seq)
        *seq = m.seq;
    return TD_CODE_OK;
}

/* Waits up to timeout_ms (0: poll, < 0: forever) for the next answer. */
static enum td_code recv_answer(struct td_conn *c, int timeout_ms, struct td_conn_reply *reply, bool *got,
                                struct td_status *st)
{
    *got = false;
    if (c->dead)
        return td_status_set(st, TD_CODE_UNAVAILABLE, "lost connection to tensord at %s", c->target);
    if (!c->pending)
        return TD_CODE_OK;
    if (c->shm) {
        if (td__shm_recv(c->shm, timeout_ms != 0, reply, got, NULL))
            return lost(c, false, st);
        if (*got)
            c->pending--;
        return TD_CODE_OK;
    }
    if (!c->recv_armed) {
        grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
        op.data.recv_message.recv_message = &c->recv_bb;
        if (grpc_call_start_batch(c->call, &op, 1, &c->recv_tag, NULL) != GRPC_CALL_OK)
            return lost(c, true, st);
        c->recv_armed = true;
    }
    gpr_timespec until = timeout_ms == 0 ? gpr_inf_past(GPR_CLOCK_REALTIME) : deadline_in(timeout_ms);
    grpc_event ev = grpc_completion_queue_pluck(c->cq, &c->recv_tag, until, NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) {
        if (timeout_ms == 0)
            return TD_CODE_OK;
        disarm_recv(c);
        return lost(c, true, st);
    }
    c->recv_armed = false;
    grpc_byte_buffer *bb = c->recv_bb;
    c->recv_bb = NULL;
    if (ev.type != GRPC_OP_COMPLETE || !ev.success) {
        if (bb)
            grpc_byte_buffer_destroy(bb);
        return lost(c, true, st);
    }
    if (!bb) /* the daemon ended the stream: its status says why */
        return lost(c, false, st);
    Tensord__V1__ServerMsg *r = (Tensord__V1__ServerMsg *)unpack_msg(&tensord__v1__server_msg__descriptor, bb);
    if (!r) {
        lost(c, true, NULL);
        return td_status_set(st, TD_CODE_INTERNAL, "malformed answer from tensord at %s", c->target);
    }
    reply_fill(reply, r);
    tensord__v1__server_msg__free_unpacked(r, NULL);
    c->pending--;
    *got = true;
    return TD_CODE_OK;
}

enum td_code td__conn_recv(struct td_conn *c, bool block, struct td_conn_reply *reply, bool *got,
                           struct td_status *st)
{
    return recv_answer(c, block ? -1 : 0, reply, got, st);
}

void td__conn_close(struct td_conn *c)
{
    if (!c)
        return;
    if (!c->dead) {
        Tensord__V1__ClientMsg m = TENSORD__V1__CLIENT_MSG__INIT;
        m.seq = ++c->seq;
        m.detach = true;
        bool shm_ok = c->shm && !td__shm_send(c->shm, m.seq, NULL, 0, NULL, 0, TD_RING_DETACH, NULL);
        grpc_byte_buffer *sbb = td_pack_msg(&m.base);
        grpc_op ops[2] = {{.op = GRPC_OP_SEND_MESSAGE}, {.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT}};
        ops[0].data.send_message.send_message = sbb;
        bool timed_out;
        /* on the rings the detach goes there, and the stream is half-closed only once
         * it is answered (a half-close seen first would abandon the work before it) */
        bool ok = c->shm ? shm_ok : run_batch(c, ops, 2, CLOSE_TIMEOUT_MS, &timed_out);
        grpc_byte_buffer_destroy(sbb);
        if (ok)
            c->pending++;
        /* the answers still owed, the detach's last: then the daemon has freed everything */
        while (ok && c->pending) {
            struct td_conn_reply r;
            bool got;
            ok = !recv_answer(c, CLOSE_TIMEOUT_MS, &r, &got, NULL) && got;
            if (got)
                td__conn_reply_fini(&r);
        }
        if (ok && c->shm)
            ok = run_batch(c, ops + 1, 1, CLOSE_TIMEOUT_MS, &timed_out);
        if (!c->dead)
            recv_status(c, !ok, NULL, 0);
    }
    conn_free(c);
}

/* ---- Stats */

static void stats_fill(struct td_stats *out, const Tensord__V1__StatsReply *r)
{
    out->sessions = r->sessions;
    out->sessions_total = r->sessions_total;
    out->tensors = r->tensors;
    out->storages = r->storages;
    out->bytes_in_use = r->bytes_in_use;
    out->bytes_peak = r->bytes_peak;
    out->ops_executed = r->ops_executed;
    out->errors = r->errors;
    out->bad_messages = r->bad_messages;
    out->bytes_cached = r->bytes_cached;
    out->bytes_reserved = r->bytes_reserved;
    out->bytes_reserved_peak = r->bytes_reserved_peak;
    out->bytes_free = r->bytes_free;
    out->bytes_largest_free = r->bytes_largest_free;
    out->arenas = r->arenas;
    out->arena_bytes = r->arena_bytes;
    out->allocs = r->allocs;
    out->alloc_cache_hits = r->alloc_cache_hits;
    out->alloc_releases = r->alloc_releases;
    out->alloc_ooms = r->alloc_ooms;
    out->alloc_pressure_releases = r->alloc_pressure_releases;
    out->fragmentation = r->fragmentation;
    out->n_session_memory = 0;
    for (size_t i = 0; i < r->n_session_memory && i < TD_STATS_MAX_SESSIONS; i++) {
        const Tensord__V1__SessionMemory *m = r->session_memory[i];
        out->session_memory[out->n_session_memory++] = (struct td_session_memory){
            .session = m->session, .uid = m->uid, .bytes_in_use = m->bytes_in_use,
            .bytes_peak = m->bytes_peak, .limit = m->limit};
    }
}

enum td_code td__conn_stats(const char *target, struct td_stats *out, struct td_status *st)
{
    grpc_init();
    grpc_channel *ch = channel_new(target);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_call *call =
        grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, grpc_slice_from_static_string(STATS_METHOD),
                                 NULL, deadline_in(STATS_TIMEOUT_MS), NULL);
    Tensord__V1__StatsRequest req = TENSORD__V1__STATS_REQUEST__INIT;
    grpc_byte_buffer *sbb = td_pack_msg(&req.base), *rbb = NULL;
    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_status_code code = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();

    grpc_op ops[6] = {
        {.op = GRPC_OP_SEND_INITIAL_METADATA, .flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY},
        {.op = GRPC_OP_SEND_MESSAGE},
        {.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT},
        {.op = GRPC_OP_RECV_INITIAL_METADATA},
        {.op = GRPC_OP_RECV_MESSAGE},
        {.op = GRPC_OP_RECV_STATUS_ON_CLIENT},
    };
    grpc_metadata auth;
    char auth_value[600];
    ops[0].data.send_initial_metadata.count = td_client_auth_md(target, &auth, auth_value, sizeof auth_value);
    ops[0].data.send_initial_metadata.metadata = &auth;
    ops[1].data.send_message.send_message = sbb;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].data.recv_message.recv_message = &rbb;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &code;
    ops[5].data.recv_status_on_client.status_details = &details;

    enum td_code rc = TD_CODE_OK;
    grpc_event ev = {.type = GRPC_QUEUE_TIMEOUT};
    if (grpc_call_start_batch(call, ops, 6, ops, NULL) == GRPC_CALL_OK)
        ev = grpc_completion_queue_pluck(cq, ops, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type != GRPC_OP_COMPLETE || !ev.success || code == GRPC_STATUS_DEADLINE_EXCEEDED ||
        code == GRPC_STATUS_UNAVAILABLE) {
        rc = td_status_set(st, TD_CODE_UNAVAILABLE, "no tensord daemon answers at %s", target);
    } else if (code != GRPC_STATUS_OK) {
        char msg[200];
        slice_to_str(details, msg, sizeof msg);
        rc = td_status_set(st, (enum td_code)code, "Stats call to %s failed: %s", target, msg);
    } else {
        Tensord__V1__StatsReply *r = NULL;
        if (rbb) {
            r = (Tensord__V1__StatsReply *)unpack_msg(&tensord__v1__stats_reply__descriptor, rbb);
            rbb = NULL;
        }
        if (r) {
            stats_fill(out, r);
            tensord__v1__stats_reply__free_unpacked(r, NULL);
        } else {
            rc = td_status_set(st, TD_CODE_INTERNAL, "malformed Stats answer from %s", target);
        }
    }
    if (rbb)
        grpc_byte_buffer_destroy(rbb);
    grpc_byte_buffer_destroy(sbb);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_call_unref(call);
    channel_free(ch, cq);
    grpc_shutdown();
    return rc;
}
