/*
 * rpc.c — the daemon's gRPC server (gRPC C core 1.51 + protobuf-c); see rpc.h.
 *
 * Shape of the code:
 *   - One completion queue, driven by the thread in td_rpc_run / td_rpc_free.  Every
 *     pending operation has a `struct tag` naming what completed and for whom.
 *   - A Session stream is a `struct scall`.  Its state is protected by scall.mu and it
 *     is refcounted: one reference per pending gRPC batch (close, recv, send, status)
 *     plus one for its worker thread.  Whoever drops the last reference frees it, so
 *     nothing is freed while gRPC may still write into it.
 *   - The worker thread owns the td_session: it pops received ClientMsgs from the
 *     scall's FIFO, executes them and queues ServerMsgs to send.  Only one SEND_MESSAGE
 *     is in flight per call; the next one starts when the previous completes.
 *   - RECV_MESSAGE is re-armed after each message unless the FIFO holds more than
 *     TD_RPC_QUEUE_LIMIT bytes; then the worker re-arms it once it drains below.
 *   - RECV_CLOSE_ON_SERVER is started with the call and completes when the call ends
 *     (our status sent, client cancelled, connection lost): that is how a session
 *     whose client died is noticed even while we are not reading.
 *
 * End of a session (half-close, detach, protocol error, cancellation): `ending` is set,
 * the worker finishes the message it is executing, drops the queued ones, frees the
 * session; then the status is sent once every queued reply is out (unless the call is
 * already dead).  Never trusted: the bytes, their order, the attach.  A bad message
 * gets a ServerMsg with the error, then that error as the call's status.
 *
 * Shared memory (shm.h): for each unix address a side socket listens beside it; the
 * answer to attach names it and carries a per-session secret.  A client that proves the
 * secret there gets the session's rings (`ring`), and from then on the worker takes the
 * session's messages from the submission ring (spinning briefly, then sleeping on its
 * futex) and writes the answers into the completion ring; the gRPC stream still marks
 * the session's life (its end, or the client's death, ends the session as before).
 * Whatever is queued from the stream runs first, so order holds across the switch.
 * The rings are never trusted: indices are checked, frames copied out before they are
 * parsed, sizes bounded; a broken ring ends the session with an error status.
 *
 * Unix sockets are bound (or inherited from systemd) and accepted by listen.c, which
 * identifies each connection's peer (SO_PEERCRED) and hands it to gRPC; a call's peer
 * "fd:N" leads back to those credentials (struct td_peer), logged with the session.
 * TCP addresses are gRPC's own, with TLS (tls-cert/tls-key) and a bearer token every
 * call must carry ("authorization: Bearer ..."); a call without it is answered
 * UNAUTHENTICATED before anything else happens.
 */
#include "device.h"
#include "rpc.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../proto/td_grpc_pb.h" /* td_pack_msg */
#include "../proto/td_record.h"
#include "../proto/td_ring.h"
#include "alloc.h"
#include "client_msg.h"
#include "listen.h"
#include "log.h"
#include "session.h"
#include "share.h"
#include "shm.h"
#include "tensord.pb-c.h"

#ifndef TD_VERSION
#define TD_VERSION "unknown"
#endif

#define SESSION_METHOD "/tensord.v1.Tensord/Session"

/* The unary methods: request in, reply out, one batch each. */
enum unary { U_STATS, U_LIST_SESSIONS, U_KILL_SESSION, U_LIST_TOKENS, U_REVOKE_TOKEN, N_UNARY };
static const char *const unary_methods[N_UNARY] = {
    [U_STATS] = "/tensord.v1.Tensord/Stats",
    [U_LIST_SESSIONS] = "/tensord.v1.Tensord/ListSessions",
    [U_KILL_SESSION] = "/tensord.v1.Tensord/KillSession",
    [U_LIST_TOKENS] = "/tensord.v1.Tensord/ListTokens",
    [U_REVOKE_TOKEN] = "/tensord.v1.Tensord/RevokeToken",
};
#define MAX_SIDE_SOCKETS 16
#define RING_SPIN_NS 50000 /* a worker spins this long for the next message before sleeping */
#define RING_WAIT_MS 100   /* and sleeps at most this long between looks at `cancel` */

enum tag_kind {
    TAG_SESSION_NEW, /* a Session call arrived (request_registered_call) */
    TAG_UNARY_NEW,   /* a unary call (Stats, ListSessions, KillSession) arrived with its request */
    TAG_UNARY_DONE,  /* its reply batch completed */
    TAG_RECV,        /* RECV_MESSAGE on a Session call */
    TAG_SEND,        /* SEND_MESSAGE on a Session call */
    TAG_CLOSE,       /* SEND_INITIAL_METADATA + RECV_CLOSE_ON_SERVER */
    TAG_STATUS,      /* SEND_STATUS_FROM_SERVER */
    TAG_SHUTDOWN,    /* grpc_server_shutdown_and_notify */
};

struct tag {
    enum tag_kind kind;
    void *owner;
};

/* A session worker, kept so the loop can join it once it has finished. */
struct worker {
    struct worker *next;
    pthread_t tid;
    bool done; /* under td_rpc.mu */
};

struct msg_node {
    struct msg_node *next;
    Tensord__V1__ClientMsg *msg;
    size_t bytes; /* wire size, for backpressure */
};

struct send_node {
    struct send_node *next;
    grpc_byte_buffer *bb;
};

struct td_rpc {
    grpc_server *srv;
    grpc_completion_queue *cq;
    void *m_session, *m_unary[N_UNARY];
    char *tls_cert, *tls_key; /* PEM, for TCP listeners */
    char *token;              /* bearer token TCP callers must send */
    bool insecure_tcp;        /* plain TCP allowed on loopback */
    int socket_mode;          /* -1: the umask's */
    gid_t admin_gid;     /* members may use admin calls */
    bool has_admin_gid;
    uint64_t started_ms; /* CLOCK_MONOTONIC at td_rpc_new */
    struct tag t_shutdown;
    bool started, shutting_down, shutdown_done;
    atomic_int live_calls; /* accepted calls not yet freed (Session and Stats) */
    atomic_uint_fast64_t next_id;
    pthread_mutex_t mu; /* guards workers */
    struct worker *workers;
    struct td_shm_listener *side[MAX_SIDE_SOCKETS];
    int n_side;
    struct td_listen *lis;               /* the unix listeners (listen.h) */
    grpc_server_credentials *fd_creds;   /* for the connections lis accepts */
    atomic_uint_fast64_t heartbeat;      /* counts loop turns: the watchdog's proof of life */
    /* every accepted Session call, for the side socket's handshakes; lock order:
     * reg_mu before an scall's mu (never the other way) */
    pthread_mutex_t reg_mu;
    struct scall *live;
};

/* One Session stream.  Fields below `mu` are guarded by it. */
struct scall {
    struct td_rpc *rpc;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array request_md;
    struct tag t_new, t_recv, t_send, t_close, t_status;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* the worker waits here for messages or the end */
    int refs;
    grpc_byte_buffer *recv_bb, *send_bb;
    grpc_slice status_details;
    int close_cancelled;
    struct msg_node *q_head, *q_tail;
    size_t q_bytes;
    struct send_node *s_head, *s_tail;
    bool recv_busy, recv_paused, recv_stop, send_busy;
    bool attached, ending, dead, worker_done, status_started;
    atomic_bool cancel; /* raised with `ending`: the worker abandons queued and running work */
    const char *reason; /* why the session ended: "detach", "cancelled", "error", "shutdown" */
    bool reason_soft;   /* reason guessed from a half-close; the close op may correct it */
    grpc_status_code status_code;
    char status_msg[320];

    struct td_session *session;
    uint64_t id;
    char peer[320];
    struct td_peer cred; /* the unix peer's uid, gid, pid (known=false for TCP) */
    atomic_uint_fast64_t ops_executed; /* records executed (the worker's last reply) */
    uint64_t attached_ms;              /* CLOCK_MONOTONIC at attach */
    char client[104];                  /* Attach.client */
    char cmdline[256];                 /* the peer's /proc/PID/cmdline */
    uint32_t attach_pid;               /* Attach.pid: the client's claim */
    struct worker *worker;
    uint8_t secret[16];        /* proves the side socket's peer is this session's client */
    bool offered;              /* the secret was sent (the rings may be asked for) */
    struct td_shm_ring *ring;  /* set by the handshake, freed by the worker at its end */
    struct scall *reg_next;    /* under rpc.reg_mu */
    bool registered;
};

/* One unary call: request in, reply out, one batch. */
struct stats_call {
    struct td_rpc *rpc;
    enum unary method;
    grpc_status_code code;
    grpc_slice details;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array request_md;
    grpc_byte_buffer *request, *reply;
    int cancelled;
    struct tag t_new, t_done;
};

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* The admin group by name; unknown: only root and the daemon's user are admins. */
static bool set_admin_group(struct td_rpc *r, const char *name)
{
    struct group gr, *res = NULL;
    char buf[4096];
    r->has_admin_gid = getgrnam_r(name, &gr, buf, sizeof buf, &res) == 0 && res;
    if (r->has_admin_gid)
        r->admin_gid = gr.gr_gid;
    return r->has_admin_gid;
}

void td_rpc_set_socket_mode(struct td_rpc *r, int mode) { r->socket_mode = mode; }

void td_rpc_set_admin_group(struct td_rpc *r, const char *name)
{
    if (!set_admin_group(r, name))
        td_log(TD_LOG_WARN, "admin group '%s' does not exist: only root and uid %u may use admin calls", name,
               (unsigned)geteuid());
}

static char *read_file(const char *path, struct td_status *st, const char *what)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        td_status_set(st, TD_CODE_FAILED_PRECONDITION, "cannot read the %s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n;
    char *buf = malloc(cap);
    n = buf ? fread(buf, 1, cap - 1, f) : 0;
    fclose(f);
    if (!buf) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

enum td_code td_rpc_set_tcp_auth(struct td_rpc *r, const char *cert, const char *key, const char *token_file,
                                 bool insecure_tcp, struct td_status *st)
{
    r->insecure_tcp = insecure_tcp;
    if ((cert != NULL) != (key != NULL))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "tls-cert and tls-key go together: set both");
    if (cert && (!(r->tls_cert = read_file(cert, st, "TLS certificate")) ||
                 !(r->tls_key = read_file(key, st, "TLS key"))))
        return st->code;
    if (token_file) {
        if (!(r->token = read_file(token_file, st, "token file")))
            return st->code;
        r->token[strcspn(r->token, "\r\n")] = 0; /* the first line */
        if (strlen(r->token) < 16)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "the token in %s is shorter than 16 characters: use a long random one", token_file);
    }
    return TD_CODE_OK;
}

/* Whether md carries "authorization: Bearer <token>"; compared in constant time. */
static bool token_ok(const struct td_rpc *r, const grpc_metadata_array *md)
{
    if (!r->token)
        return false;
    size_t tlen = strlen(r->token);
    for (size_t i = 0; i < md->count; i++) {
        const grpc_slice *k = &md->metadata[i].key, *v = &md->metadata[i].value;
        if (GRPC_SLICE_LENGTH(*k) != 13 || memcmp(GRPC_SLICE_START_PTR(*k), "authorization", 13) != 0)
            continue;
        const uint8_t *p = GRPC_SLICE_START_PTR(*v);
        size_t n = GRPC_SLICE_LENGTH(*v);
        if (n != 7 + tlen || memcmp(p, "Bearer ", 7) != 0)
            return false;
        uint8_t d = 0;
        for (size_t j = 0; j < tlen; j++)
            d |= (uint8_t)(p[7 + j] ^ (uint8_t)r->token[j]);
        return d == 0;
    }
    return false;
}

/* A call may go on: unix peers (the socket's mode and group let them in), or TCP
 * callers with the token. */
static bool caller_allowed(const struct td_rpc *r, const struct td_peer *p, const grpc_metadata_array *md)
{
    return p->known || token_ok(r, md);
}

/* The peer's command line from /proc, arguments joined by spaces ("" when unreadable). */
static void read_cmdline(pid_t pid, char *out, size_t len)
{
    char path[64];
    out[0] = 0;
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    size_t n = fread(out, 1, len - 1, f);
    fclose(f);
    out[n] = 0;
    while (n > 0 && out[n - 1] == 0)
        n--;
    for (size_t i = 0; i < n; i++)
        if (out[i] == 0 || (unsigned char)out[i] < 0x20)
            out[i] = ' ';
    out[n] = 0;
}

/* ---- byte buffers <-> protobuf */

/* Unpacks a ClientMsg; NULL when the bytes are not one.  *n gets the wire size. */
/* bb's bytes in one slice (unref it); false when bb cannot be read. */
static bool bb_slice(grpc_byte_buffer *bb, grpc_slice *sl)
{
    grpc_byte_buffer_reader rd;
    if (!bb || !grpc_byte_buffer_reader_init(&rd, bb))
        return false;
    *sl = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    return true;
}

/* The decoders are client_msg.c's, which the fuzz target drives without gRPC. */
static Tensord__V1__ClientMsg *unpack_client_msg(grpc_byte_buffer *bb, size_t *n)
{
    grpc_slice sl;
    *n = 0;
    if (!bb_slice(bb, &sl))
        return NULL;
    *n = GRPC_SLICE_LENGTH(sl);
    Tensord__V1__ClientMsg *m = td_client_msg_decode(GRPC_SLICE_START_PTR(sl), *n);
    grpc_slice_unref(sl);
    return m;
}

static Tensord__V1__KillSessionRequest *unpack_kill(grpc_byte_buffer *bb)
{
    grpc_slice sl;
    if (!bb_slice(bb, &sl))
        return NULL;
    Tensord__V1__KillSessionRequest *q = td_kill_request_decode(GRPC_SLICE_START_PTR(sl), GRPC_SLICE_LENGTH(sl));
    grpc_slice_unref(sl);
    return q;
}

static Tensord__V1__RevokeTokenRequest *unpack_revoke(grpc_byte_buffer *bb)
{
    grpc_slice sl;
    if (!bb_slice(bb, &sl))
        return NULL;
    Tensord__V1__RevokeTokenRequest *q = td_revoke_request_decode(GRPC_SLICE_START_PTR(sl), GRPC_SLICE_LENGTH(sl));
    grpc_slice_unref(sl);
    return q;
}

/* ---- Session call: refcount, sends, status */

static void unregister(struct scall *c)
{
    struct td_rpc *r = c->rpc;
    if (!c->registered)
        return;
    pthread_mutex_lock(&r->reg_mu);
    for (struct scall **p = &r->live; *p; p = &(*p)->reg_next)
        if (*p == c) {
            *p = c->reg_next;
            break;
        }
    pthread_mutex_unlock(&r->reg_mu);
}

static void scall_free(struct scall *c)
{
    struct td_rpc *r = c->rpc;
    unregister(c);
    td_shm_ring_free(c->ring);
    if (c->call)
        grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->request_md);
    if (c->recv_bb)
        grpc_byte_buffer_destroy(c->recv_bb);
    while (c->s_head) {
        struct send_node *n = c->s_head;
        c->s_head = n->next;
        grpc_byte_buffer_destroy(n->bb);
        free(n);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    bool accepted = c->call != NULL;
    free(c);
    if (accepted)
        atomic_fetch_sub(&r->live_calls, 1);
}

/* Drops one reference; true when it was the last (the caller frees after unlocking). */
static bool put_locked(struct scall *c)
{
    return --c->refs == 0;
}

static void drop_sends_locked(struct scall *c)
{
    while (c->s_head) {
        struct send_node *n = c->s_head;
        c->s_head = n->next;
        grpc_byte_buffer_destroy(n->bb);
        free(n);
    }
    c->s_tail = NULL;
}

static void drop_queue_locked(struct scall *c)
{
    while (c->q_head) {
        struct msg_node *n = c->q_head;
        c->q_head = n->next;
        tensord__v1__client_msg__free_unpacked(n->msg, NULL);
        free(n);
    }
    c->q_tail = NULL;
    c->q_bytes = 0;
}

/* The call cannot carry anything more: stop starting ops, make sure it ends. */
static void mark_dead_locked(struct scall *c)
{
    if (c->dead)
        return;
    c->dead = true;
    drop_sends_locked(c);
    grpc_call_cancel(c->call, NULL); /* guarantees RECV_CLOSE_ON_SERVER completes */
}

/* Sends the final status once the session is over and every reply is out. */
static void maybe_finish_locked(struct scall *c)
{
    if (!c->ending || !c->worker_done || c->send_busy || c->s_head || c->status_started || c->dead)
        return;
    c->status_started = true;
    c->status_details = grpc_slice_from_copied_string(c->status_msg);
    grpc_op op = {.op = GRPC_OP_SEND_STATUS_FROM_SERVER};
    op.data.send_status_from_server.status = c->status_code;
    op.data.send_status_from_server.status_details = &c->status_details;
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_status, NULL) == GRPC_CALL_OK) {
        c->refs++;
    } else {
        grpc_slice_unref(c->status_details);
        mark_dead_locked(c);
    }
}

/* Starts the next queued send if none is in flight. */
static void pump_send_locked(struct scall *c)
{
    if (c->send_busy)
        return;
    if (c->dead) {
        drop_sends_locked(c);
        return;
    }
    struct send_node *n = c->s_head;
    if (!n) {
        maybe_finish_locked(c);
        return;
    }
    c->s_head = n->next;
    if (!c->s_head)
        c->s_tail = NULL;
    c->send_bb = n->bb;
    free(n);
    grpc_op op = {.op = GRPC_OP_SEND_MESSAGE};
    op.data.send_message.send_message = c->send_bb;
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_send, NULL) == GRPC_CALL_OK) {
        c->send_busy = true;
        c->refs++;
    } else {
        grpc_byte_buffer_destroy(c->send_bb);
        c->send_bb = NULL;
        mark_dead_locked(c);
    }
}

/* Queues a packed ServerMsg; takes ownership of bb. */
static void queue_bb_locked(struct scall *c, grpc_byte_buffer *bb)
{
    struct send_node *n = c->dead ? NULL : malloc(sizeof *n);
    if (!n) {
        grpc_byte_buffer_destroy(bb);
        if (!c->dead) {
            td_log(TD_LOG_ERROR, "session %llu: out of memory queueing a reply", (unsigned long long)c->id);
            mark_dead_locked(c);
        }
        return;
    }
    n->bb = bb;
    n->next = NULL;
    if (c->s_tail)
        c->s_tail->next = n;
    else
        c->s_head = n;
    c->s_tail = n;
    pump_send_locked(c);
}

static void queue_send_locked(struct scall *c, const Tensord__V1__ServerMsg *m)
{
    if (!c->dead)
        queue_bb_locked(c, td_pack_msg(&m->base));
}

static void queue_reply_locked(struct scall *c, uint64_t seq, int code, const char *message)
{
    Tensord__V1__ServerMsg m = TENSORD__V1__SERVER_MSG__INIT;
    m.seq = seq;
    m.session_id = c->id;
    m.code = code;
    m.message = (char *)message;
    queue_send_locked(c, &m);
}

/* Wakes the worker wherever it waits: on the condition, or on its ring's futex. */
static void wake_worker_locked(struct scall *c)
{
    pthread_cond_signal(&c->cv);
    if (c->ring)
        td_ring_kick(&c->ring->sq);
}

/* Ends the session: the worker drops queued messages and the status follows. */
static void end_locked(struct scall *c, const char *reason, grpc_status_code code, const char *msg)
{
    if (!c->ending) {
        c->ending = true;
        atomic_store(&c->cancel, true);
        c->reason = reason;
        c->status_code = code;
        snprintf(c->status_msg, sizeof c->status_msg, "%s", msg);
    }
    wake_worker_locked(c);
    maybe_finish_locked(c);
}

static void protocol_error_locked(struct scall *c, uint64_t seq, grpc_status_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void protocol_error_locked(struct scall *c, uint64_t seq, grpc_status_code code, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    td_stats_count_bad_message();
    td_log(TD_LOG_WARN, "session %llu (%s): bad message: %s", (unsigned long long)c->id, c->peer, msg);
    queue_reply_locked(c, seq, (int)code, msg);
    end_locked(c, "error", code, msg);
}

static void start_recv_locked(struct scall *c)
{
    if (c->recv_busy || c->dead)
        return;
    grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
    op.data.recv_message.recv_message = &c->recv_bb;
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_recv, NULL) == GRPC_CALL_OK) {
        c->recv_busy = true;
        c->refs++;
    } else {
        mark_dead_locked(c);
        end_locked(c, "error", GRPC_STATUS_INTERNAL, "cannot read the stream");
    }
}

/* ---- the session worker */

static void reply_to(struct scall *c, const Tensord__V1__ClientMsg *m, const struct td_reply *rep)
{
    Tensord__V1__ServerMsg out = TENSORD__V1__SERVER_MSG__INIT;
    Tensord__V1__RecordError errs[TD_REPLY_MAX_ERRORS], *errp[TD_REPLY_MAX_ERRORS];
    out.seq = m->seq;
    out.session_id = c->id;
    out.code = (int32_t)rep->code;
    out.message = (char *)rep->message;
    out.executed = rep->executed;
    out.payload.data = rep->payload;
    out.payload.len = rep->payload_len;
    for (int i = 0; i < rep->n_errors; i++) {
        const struct td_record_error *e = &rep->errors[i];
        tensord__v1__record_error__init(&errs[i]);
        errs[i].record = e->record;
        errs[i].origin = e->origin;
        errs[i].code = (int32_t)e->code;
        errs[i].op = e->op;
        errs[i].message = (char *)e->msg;
        errp[i] = &errs[i];
    }
    out.n_errors = (size_t)rep->n_errors;
    out.errors = errp;
    out.errors_dropped = rep->errors_dropped;
    char msg[200];
    size_t size = protobuf_c_message_get_packed_size(&out.base);
    if (size > TD_RPC_MAX_MESSAGE - 1024) {
        /* gRPC would refuse to send it and kill the stream: answer an error instead. */
        snprintf(msg, sizeof msg,
                 "answer of %zu bytes exceeds the %d MiB message limit; "
                 "read fewer bytes per sync",
                 size, TD_RPC_MAX_MESSAGE >> 20);
        out.code = TD_CODE_RESOURCE_EXHAUSTED;
        out.message = msg;
        out.payload.data = NULL;
        out.payload.len = 0;
    }
    grpc_byte_buffer *bb = td_pack_msg(&out.base); /* not under the lock: can be big */
    pthread_mutex_lock(&c->mu);
    queue_bb_locked(c, bb);
    pthread_mutex_unlock(&c->mu);
}

/* Executes one message and answers it (every message: the answers are the client's
 * run-ahead window and carry its failures); returns true when it asked to detach. */
static bool run_msg(struct scall *c, const Tensord__V1__ClientMsg *m)
{
    struct td_reply rep;
    td_reply_init(&rep);
    td_session_exec(c->session, m->records.data, m->records.len, m->payload.data, m->payload.len,
                    m->sync || m->detach, &rep);
    atomic_store(&c->ops_executed, rep.executed);
    if (!atomic_load(&c->cancel))
        reply_to(c, m, &rep);
    td_reply_fini(&rep);
    return m->detach;
}

/* ---- the rings */

/* The client broke its ring: the session ends with this error as its status. */
static void ring_error(struct scall *c, const char *what)
{
    pthread_mutex_lock(&c->mu);
    protocol_error_locked(c, 0, GRPC_STATUS_INVALID_ARGUMENT, "shared-memory transport: %s", what);
    pthread_mutex_unlock(&c->mu);
}

/* Between sleeps on a ring: go on waiting until the session ends. */
static bool session_goes_on(void *arg)
{
    return !atomic_load(&((struct scall *)arg)->cancel);
}

/* Copies exactly n bytes of a message out of the submission ring, waiting for the
 * client to write them.  false when the session ends or the ring is broken. */
static bool ring_read(struct scall *c, struct td_ring *sq, void *p, size_t n)
{
    int rc = td_ring_read_all(sq, p, n, RING_SPIN_NS, RING_WAIT_MS, session_goes_on, c);
    if (rc == TD_RING_BROKEN)
        ring_error(c, "the submission ring's tail is out of range");
    return rc == 0;
}

/* Writes n bytes of an answer, waiting for the client to make room. */
static bool ring_write(struct scall *c, struct td_ring *cq, const void *p, size_t n)
{
    int rc = td_ring_write_all(cq, p, n, RING_SPIN_NS, RING_WAIT_MS, session_goes_on, c);
    if (rc == TD_RING_BROKEN)
        ring_error(c, "the completion ring's head is out of range");
    return rc == 0;
}

static void ring_reply(struct scall *c, struct td_ring *cq, uint64_t seq, const struct td_reply *rep)
{
    struct td_ring_reply h = {
        .seq = seq,
        .executed = rep->executed,
        .code = (int32_t)rep->code,
        .n_errors = (uint32_t)rep->n_errors,
        .errors_dropped = rep->errors_dropped,
        .message_len = (uint32_t)strlen(rep->message),
        .payload_len = rep->payload_len,
    };
    bool ok = ring_write(c, cq, &h, sizeof h) && ring_write(c, cq, rep->message, h.message_len);
    for (int i = 0; ok && i < rep->n_errors; i++) {
        const struct td_record_error *e = &rep->errors[i];
        struct td_ring_error w = {.record = e->record, .origin = e->origin, .code = (int32_t)e->code, .op = e->op};
        snprintf(w.msg, sizeof w.msg, "%s", e->msg);
        ok = ring_write(c, cq, &w, sizeof w);
    }
    if (ok && ring_write(c, cq, rep->payload, rep->payload_len))
        td_ring_publish(cq);
}

/* Takes one message from the submission ring (data is readable), executes it and
 * answers it; true when it asked to detach. */
static bool run_ring_msg(struct scall *c, struct td_shm_ring *ring)
{
    struct td_ring_msg h;
    if (!ring_read(c, &ring->sq, &h, sizeof h))
        return false;
    if (!td_ring_msg_ok(&h, TD_RPC_MAX_MESSAGE)) {
        ring_error(c, "malformed message header");
        return false;
    }
    size_t n = (size_t)(h.records_len + h.payload_len);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        pthread_mutex_lock(&c->mu);
        end_locked(c, "error", GRPC_STATUS_RESOURCE_EXHAUSTED, "daemon out of memory");
        pthread_mutex_unlock(&c->mu);
        return false;
    }
    bool ok = ring_read(c, &ring->sq, buf, n);
    td_ring_consume_done(&ring->sq);
    if (ok) {
        struct td_reply rep;
        td_reply_init(&rep);
        bool sync = (h.flags & (TD_RING_SYNC | TD_RING_DETACH)) != 0;
        td_session_exec(c->session, buf, (size_t)h.records_len, buf + h.records_len, (size_t)h.payload_len, sync,
                        &rep);
        atomic_store(&c->ops_executed, rep.executed);
        if (!atomic_load(&c->cancel))
            ring_reply(c, &ring->cq, h.seq, &rep);
        td_reply_fini(&rep);
    }
    free(buf);
    return ok && (h.flags & TD_RING_DETACH);
}

static void *worker_main(void *arg)
{
    struct scall *c = arg;
    struct td_rpc *r = c->rpc;

    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->q_head && !c->ending && !c->ring)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->ending)
            break;
        if (!c->q_head) { /* the rings: messages from the stream (none expected) go first */
            struct td_shm_ring *ring = c->ring;
            pthread_mutex_unlock(&c->mu);
            bool detach = td_ring_wait_data(&ring->sq, RING_SPIN_NS, RING_WAIT_MS) && run_ring_msg(c, ring);
            pthread_mutex_lock(&c->mu);
            if (detach)
                end_locked(c, "detach", GRPC_STATUS_OK, "");
            continue;
        }
        struct msg_node *n = c->q_head;
        c->q_head = n->next;
        if (!c->q_head)
            c->q_tail = NULL;
        c->q_bytes -= n->bytes;
        if (c->recv_paused && c->q_bytes <= TD_RPC_QUEUE_LIMIT) {
            c->recv_paused = false;
            td_log(TD_LOG_DEBUG, "session %llu: reading resumed", (unsigned long long)c->id);
            start_recv_locked(c);
        }
        pthread_mutex_unlock(&c->mu);

        bool detach = run_msg(c, n->msg);
        tensord__v1__client_msg__free_unpacked(n->msg, NULL);
        free(n);

        pthread_mutex_lock(&c->mu);
        if (detach)
            end_locked(c, "detach", GRPC_STATUS_OK, "");
    }
    drop_queue_locked(c);
    pthread_mutex_unlock(&c->mu);

    /* The session is touched by this thread only, so no lock around it. */
    td_session_free(c->session);
    c->session = NULL;
    td_stats_session_closed();
    /* closing the side socket tells a client on the rings that the session is over */
    pthread_mutex_lock(&c->mu);
    struct td_shm_ring *ring = c->ring;
    c->ring = NULL;
    pthread_mutex_unlock(&c->mu);
    td_shm_ring_free(ring);
    pthread_mutex_lock(&c->mu);
    const char *reason = c->reason;
    pthread_mutex_unlock(&c->mu);
    td_log(TD_LOG_INFO, "session %llu closed (%s): %s", (unsigned long long)c->id, c->peer, reason);

    pthread_mutex_lock(&c->mu);
    struct worker *w = c->worker;
    c->worker_done = true;
    maybe_finish_locked(c);
    bool last = put_locked(c);
    pthread_mutex_unlock(&c->mu);
    if (last)
        scall_free(c);

    pthread_mutex_lock(&r->mu);
    w->done = true;
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* Joins finished workers (all of them when `all`: at shutdown, when none can block). */
static void reap_workers(struct td_rpc *r, bool all)
{
    struct worker *dead = NULL;
    pthread_mutex_lock(&r->mu);
    for (struct worker **p = &r->workers; *p;) {
        struct worker *w = *p;
        if (w->done || all) {
            *p = w->next;
            w->next = dead;
            dead = w;
        } else {
            p = &w->next;
        }
    }
    pthread_mutex_unlock(&r->mu);
    while (dead) {
        struct worker *w = dead;
        dead = w->next;
        pthread_join(w->tid, NULL);
        free(w);
    }
}

/* ---- the Session protocol */

static bool start_worker_locked(struct scall *c)
{
    struct td_rpc *r = c->rpc;
    struct worker *w = calloc(1, sizeof *w);
    if (!w)
        return false;
    c->worker = w;
    c->worker_done = false;
    c->refs++;
    pthread_mutex_lock(&r->mu);
    if (pthread_create(&w->tid, NULL, worker_main, c) != 0) {
        pthread_mutex_unlock(&r->mu);
        c->worker = NULL;
        c->worker_done = true;
        c->refs--;
        free(w);
        return false;
    }
    w->next = r->workers;
    r->workers = w;
    pthread_mutex_unlock(&r->mu);
    return true;
}

/* The first message, checked: create the session and its worker. */
static void attach_locked(struct scall *c, const Tensord__V1__ClientMsg *m)
{
    const Tensord__V1__Attach *a = m->attach; /* checked by td_client_msg_check */
    size_t len = strlen(c->peer);
    snprintf(c->peer + len, sizeof c->peer - len, " \"%.100s\" pid %u", a->client ? a->client : "", a->pid);
    snprintf(c->client, sizeof c->client, "%s", a->client ? a->client : "");
    c->attach_pid = a->pid;
    c->attached_ms = now_ms();
    c->session = td_session_new(c->id, c->peer);
    if (c->session)
        td_session_set_cancel(c->session, &c->cancel);
    if (!c->session || !start_worker_locked(c)) {
        td_session_free(c->session);
        c->session = NULL;
        td_log(TD_LOG_ERROR, "session %llu (%s): cannot create session", (unsigned long long)c->id, c->peer);
        queue_reply_locked(c, m->seq, GRPC_STATUS_RESOURCE_EXHAUSTED, "daemon cannot create a session");
        end_locked(c, "error", GRPC_STATUS_RESOURCE_EXHAUSTED, "daemon cannot create a session");
        return;
    }
    td_stats_session_opened();
    c->attached = true;
    td_log(TD_LOG_INFO, "session %llu opened (%s)", (unsigned long long)c->id, c->peer);

    Tensord__V1__ServerMsg out = TENSORD__V1__SERVER_MSG__INIT;
    out.seq = m->seq;
    out.session_id = c->id;
    out.wire_version = TD_WIRE_VERSION;
    out.daemon_version = TD_VERSION;
    if (c->rpc->n_side > 0 && getrandom(c->secret, sizeof c->secret, 0) == (ssize_t)sizeof c->secret) {
        out.shm_address = (char *)td_shm_address(c->rpc->side[0]);
        out.shm_secret.data = c->secret;
        out.shm_secret.len = sizeof c->secret;
        c->offered = true;
    }
    queue_send_locked(c, &out);
}

static void enqueue_locked(struct scall *c, Tensord__V1__ClientMsg *m, size_t bytes)
{
    struct msg_node *n = malloc(sizeof *n);
    if (!n) {
        uint64_t seq = m->seq;
        tensord__v1__client_msg__free_unpacked(m, NULL);
        td_log(TD_LOG_ERROR, "session %llu: out of memory queueing a message", (unsigned long long)c->id);
        queue_reply_locked(c, seq, GRPC_STATUS_RESOURCE_EXHAUSTED, "daemon out of memory");
        end_locked(c, "error", GRPC_STATUS_RESOURCE_EXHAUSTED, "daemon out of memory");
        return;
    }
    n->msg = m;
    n->bytes = bytes;
    n->next = NULL;
    if (c->q_tail)
        c->q_tail->next = n;
    else
        c->q_head = n;
    c->q_tail = n;
    c->q_bytes += bytes;
    wake_worker_locked(c);
}

/* Takes ownership of m (NULL: the bytes did not parse). */
static void handle_msg_locked(struct scall *c, Tensord__V1__ClientMsg *m, size_t bytes)
{
    if (c->ending)
        goto out_free;
    if (!m) {
        protocol_error_locked(c, 0, GRPC_STATUS_INVALID_ARGUMENT,
                              "malformed ClientMsg (%zu bytes are not a tensord.v1.ClientMsg)", bytes);
        return;
    }
    struct td_client_msg_use use;
    struct td_status st = TD_STATUS_INIT;
    if (td_client_msg_check(m, c->attached, &use, &st)) {
        protocol_error_locked(c, m->seq, (grpc_status_code)st.code, "%s", st.msg);
        goto out_free;
    }
    if (use.attach) {
        attach_locked(c, m);
        if (!c->attached)
            goto out_free;
    }
    bool work = use.work;
    if (use.last)
        c->recv_stop = true; /* the stream's last message: read no further */
    if (work)
        enqueue_locked(c, m, bytes);
    else
        tensord__v1__client_msg__free_unpacked(m, NULL);
    if (c->recv_stop || c->ending)
        return;
    if (c->q_bytes > TD_RPC_QUEUE_LIMIT) {
        c->recv_paused = true; /* the worker re-arms once it drains */
        td_log(TD_LOG_DEBUG, "session %llu: %zu bytes queued, reading paused", (unsigned long long)c->id, c->q_bytes);
    } else
        start_recv_locked(c);
    return;

out_free:
    tensord__v1__client_msg__free_unpacked(m, NULL);
}

static void on_recv(struct scall *c, bool ok)
{
    pthread_mutex_lock(&c->mu);
    c->recv_busy = false;
    grpc_byte_buffer *bb = c->recv_bb;
    c->recv_bb = NULL;
    if (!c->ending && (!ok || !bb)) {
        /* NULL with ok: the client half-closed; !ok: the call failed. */
        if (ok) {
            end_locked(c, "detach", GRPC_STATUS_OK, "");
            c->reason_soft = true; /* a lost connection can look like this too */
        } else
            end_locked(c, "cancelled", GRPC_STATUS_CANCELLED, "call failed");
    }
    if (c->ending || !bb) {
        if (bb)
            grpc_byte_buffer_destroy(bb);
        bool last = put_locked(c);
        pthread_mutex_unlock(&c->mu);
        if (last)
            scall_free(c);
        return;
    }
    pthread_mutex_unlock(&c->mu);

    size_t n; /* unpacking can be slow for big messages: not under the lock */
    Tensord__V1__ClientMsg *m = unpack_client_msg(bb, &n);
    grpc_byte_buffer_destroy(bb);

    pthread_mutex_lock(&c->mu);
    handle_msg_locked(c, m, n);
    bool last = put_locked(c);
    pthread_mutex_unlock(&c->mu);
    if (last)
        scall_free(c);
}

/* A completion of a Session call other than RECV_MESSAGE. */
static void on_call_op(struct scall *c, enum tag_kind kind, bool ok)
{
    pthread_mutex_lock(&c->mu);
    switch (kind) {
    case TAG_SEND:
        grpc_byte_buffer_destroy(c->send_bb);
        c->send_bb = NULL;
        c->send_busy = false;
        if (!ok) {
            mark_dead_locked(c);
            end_locked(c, "cancelled", GRPC_STATUS_CANCELLED, "send failed");
        }
        pump_send_locked(c);
        break;
    case TAG_STATUS:
        grpc_slice_unref(c->status_details);
        break;
    case TAG_CLOSE:
        /* Completes when the call is over; cancelled: client gone or connection lost. */
        if (!ok || c->close_cancelled) {
            mark_dead_locked(c);
            const char *why = c->rpc->shutting_down ? "shutdown" : "cancelled";
            if (c->reason_soft)
                c->reason = why;
            end_locked(c, why, GRPC_STATUS_CANCELLED, "cancelled");
        }
        break;
    default:
        break;
    }
    bool last = put_locked(c);
    pthread_mutex_unlock(&c->mu);
    if (last)
        scall_free(c);
}

/* ---- the side socket's handshake (its thread; shm.h) */

static bool secret_equal(const uint8_t *a, const uint8_t *b)
{
    uint8_t d = 0; /* no early exit: the time taken says nothing about the secret */
    for (int i = 0; i < 16; i++)
        d |= (uint8_t)(a[i] ^ b[i]);
    return d == 0;
}

/*
 * The accepted Session call with this id, returned with its mu held, or NULL.  A call
 * whose last reference is gone is being freed (scall_free waits for reg_mu to unlink
 * it) and does not count; one with references cannot be freed while we hold its mu.
 */
static struct scall *find_locked(struct td_rpc *r, uint64_t id)
{
    struct scall *found = NULL;
    pthread_mutex_lock(&r->reg_mu);
    for (struct scall *c = r->live; c; c = c->reg_next)
        if (c->id == id) {
            pthread_mutex_lock(&c->mu);
            if (c->refs > 0)
                found = c;
            else
                pthread_mutex_unlock(&c->mu);
            break;
        }
    pthread_mutex_unlock(&r->reg_mu);
    return found;
}

static enum td_code bind_ring(void *ctx, const struct td_shm_hello *h, struct td_shm_ring *ring, char *msg,
                              size_t msg_len)
{
    enum td_code code = TD_CODE_NOT_FOUND;
    snprintf(msg, msg_len, "no session %llu", (unsigned long long)h->session_id);
    struct scall *c = find_locked(ctx, h->session_id);
    if (c) {
        if (!c->attached || !c->offered || c->ending || c->worker_done || c->refs == 0) {
            code = TD_CODE_FAILED_PRECONDITION;
            snprintf(msg, msg_len, "session %llu is not open", (unsigned long long)c->id);
        } else if (!secret_equal(c->secret, h->secret)) {
            code = TD_CODE_PERMISSION_DENIED;
            snprintf(msg, msg_len, "wrong secret for session %llu", (unsigned long long)c->id);
        } else if (c->cred.known && c->cred.uid != ring->uid) {
            /* the stream's own peer is known (our unix listener): the rings go to its user only */
            code = TD_CODE_PERMISSION_DENIED;
            snprintf(msg, msg_len, "session %llu belongs to uid %u", (unsigned long long)c->id, (unsigned)c->cred.uid);
        } else if (c->ring) {
            code = TD_CODE_ALREADY_EXISTS;
            snprintf(msg, msg_len, "session %llu already has its rings", (unsigned long long)c->id);
        } else {
            c->ring = ring;
            code = TD_CODE_OK;
            /* its storage now comes from its uid's arenas, which its client may map
             * (before its first record: the client asks right after attaching) */
            td_alloc_account_set_uid(td_session_account(c->session), (uint32_t)ring->uid);
            wake_worker_locked(c);
            td_log(TD_LOG_INFO, "session %llu on shared memory (uid %u pid %d)", (unsigned long long)c->id,
                   (unsigned)ring->uid, (int)ring->pid);
        }
        pthread_mutex_unlock(&c->mu);
    }
    return code;
}

static int arena_fd(void *ctx, const struct td_shm_hello *h, uid_t uid, uint64_t *size, enum td_code *code,
                    char *msg, size_t msg_len)
{
    int fd = -1;
    *code = TD_CODE_NOT_FOUND;
    snprintf(msg, msg_len, "no session %llu", (unsigned long long)h->session_id);
    struct scall *c = find_locked(ctx, h->session_id);
    if (c) {
        if (!c->offered || !secret_equal(c->secret, h->secret)) {
            *code = TD_CODE_PERMISSION_DENIED;
            snprintf(msg, msg_len, "wrong secret for session %llu", (unsigned long long)c->id);
        } else if (!c->ring || c->ending || c->ring->uid != uid) {
            *code = TD_CODE_FAILED_PRECONDITION;
            snprintf(msg, msg_len, "session %llu is not on shared memory as uid %u", (unsigned long long)c->id,
                     (unsigned)uid);
        } else if ((fd = td_alloc_arena_fd((uint32_t)h->arena, (uint32_t)uid, size)) < 0) {
            *code = TD_CODE_NOT_FOUND;
            snprintf(msg, msg_len, "no arena %llu in uid %u's pool", (unsigned long long)h->arena, (unsigned)uid);
        }
        pthread_mutex_unlock(&c->mu);
    }
    return fd;
}

/* ---- accepting calls */

static void arm_session(struct td_rpc *r)
{
    struct scall *c = calloc(1, sizeof *c);
    if (!c) {
        td_log(TD_LOG_ERROR, "out of memory: cannot accept Session calls");
        return;
    }
    atomic_init(&c->cancel, false);
    c->rpc = r;
    c->t_new = (struct tag){TAG_SESSION_NEW, c};
    c->t_recv = (struct tag){TAG_RECV, c};
    c->t_send = (struct tag){TAG_SEND, c};
    c->t_close = (struct tag){TAG_CLOSE, c};
    c->t_status = (struct tag){TAG_STATUS, c};
    c->worker_done = true; /* no worker until attach */
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    grpc_metadata_array_init(&c->request_md);
    grpc_call_error e = grpc_server_request_registered_call(r->srv, r->m_session, &c->call, &c->deadline,
                                                            &c->request_md, NULL, r->cq, r->cq, &c->t_new);
    if (e != GRPC_CALL_OK) {
        td_log(TD_LOG_ERROR, "cannot request Session calls (grpc error %d)", (int)e);
        scall_free(c);
    }
}

static void on_session_new(struct td_rpc *r, struct scall *c, bool ok)
{
    if (!ok) { /* server shutting down: no call came */
        scall_free(c);
        return;
    }
    atomic_fetch_add(&r->live_calls, 1);
    if (!r->shutting_down)
        arm_session(r);
    c->id = atomic_fetch_add(&r->next_id, 1);
    pthread_mutex_lock(&r->reg_mu);
    c->reg_next = r->live;
    r->live = c;
    c->registered = true;
    pthread_mutex_unlock(&r->reg_mu);

    char *peer = grpc_call_get_peer(c->call);
    c->cred = td_listen_peer(r->lis, peer);
    if (c->cred.known)
        read_cmdline(c->cred.pid, c->cmdline, sizeof c->cmdline);
    if (c->cred.known)
        snprintf(c->peer, sizeof c->peer, "uid %u gid %u pid %d", (unsigned)c->cred.uid, (unsigned)c->cred.gid,
                 (int)c->cred.pid);
    else
        snprintf(c->peer, sizeof c->peer, "%.200s", peer ? peer : "?");
    gpr_free(peer);

    grpc_op ops[2] = {{.op = GRPC_OP_SEND_INITIAL_METADATA}, {.op = GRPC_OP_RECV_CLOSE_ON_SERVER}};
    ops[1].data.recv_close_on_server.cancelled = &c->close_cancelled;
    pthread_mutex_lock(&c->mu);
    if (grpc_call_start_batch(c->call, ops, 2, &c->t_close, NULL) != GRPC_CALL_OK) {
        pthread_mutex_unlock(&c->mu);
        td_log(TD_LOG_ERROR, "cannot start a Session call from %s", c->peer);
        grpc_call_cancel(c->call, NULL);
        scall_free(c);
        return;
    }
    c->refs = 1;
    if (!caller_allowed(r, &c->cred, &c->request_md)) {
        td_stats_count_bad_message();
        td_log(TD_LOG_WARN, "session %llu (%s): refused: missing or wrong bearer token", (unsigned long long)c->id,
               c->peer);
        end_locked(c, "unauthenticated", GRPC_STATUS_UNAUTHENTICATED, "missing or wrong bearer token");
        pthread_mutex_unlock(&c->mu);
        return;
    }
    start_recv_locked(c);
    if (r->shutting_down)
        mark_dead_locked(c);
    pthread_mutex_unlock(&c->mu);
}

static void arm_unary(struct td_rpc *r, enum unary method)
{
    struct stats_call *s = calloc(1, sizeof *s);
    if (!s) {
        td_log(TD_LOG_ERROR, "out of memory: cannot accept %s calls", unary_methods[method]);
        return;
    }
    s->rpc = r;
    s->method = method;
    s->t_new = (struct tag){TAG_UNARY_NEW, s};
    s->t_done = (struct tag){TAG_UNARY_DONE, s};
    grpc_metadata_array_init(&s->request_md);
    grpc_call_error e = grpc_server_request_registered_call(r->srv, r->m_unary[method], &s->call, &s->deadline,
                                                            &s->request_md, &s->request, r->cq, r->cq, &s->t_new);
    if (e != GRPC_CALL_OK) {
        td_log(TD_LOG_ERROR, "cannot request %s calls (grpc error %d)", unary_methods[method], (int)e);
        grpc_metadata_array_destroy(&s->request_md);
        free(s);
    }
}

static void stats_free(struct stats_call *s)
{
    struct td_rpc *r = s->rpc;
    bool accepted = s->call != NULL;
    if (s->call)
        grpc_call_unref(s->call);
    if (s->request)
        grpc_byte_buffer_destroy(s->request);
    if (s->reply)
        grpc_byte_buffer_destroy(s->reply);
    if (accepted)
        grpc_slice_unref(s->details);
    grpc_metadata_array_destroy(&s->request_md);
    free(s);
    if (accepted)
        atomic_fetch_sub(&r->live_calls, 1);
}

/* StatsRequest is empty: its bytes are not even parsed, so no request can be bad. */
static grpc_byte_buffer *answer_stats(struct td_rpc *r)
{
    struct td_stats st;
    td_stats_get(&st);
    Tensord__V1__StatsReply m = TENSORD__V1__STATS_REPLY__INIT;
    m.version = TD_VERSION;
    m.sessions = st.sessions;
    m.sessions_total = st.sessions_total;
    m.tensors = st.tensors;
    m.storages = st.storages;
    m.bytes_in_use = st.bytes_in_use;
    m.bytes_peak = st.bytes_peak;
    m.ops_executed = st.ops_executed;
    m.errors = st.errors;
    m.bad_messages = st.bad_messages;
    m.bytes_cached = st.bytes_cached;
    m.bytes_reserved = st.bytes_reserved;
    m.bytes_reserved_peak = st.bytes_reserved_peak;
    m.bytes_free = st.bytes_free;
    m.bytes_largest_free = st.bytes_largest_free;
    m.arenas = st.arenas;
    m.arena_bytes = st.arena_bytes;
    m.allocs = st.allocs;
    m.alloc_cache_hits = st.alloc_cache_hits;
    m.alloc_releases = st.alloc_releases;
    m.alloc_ooms = st.alloc_ooms;
    m.alloc_pressure_releases = st.alloc_pressure_releases;
    m.fragmentation = st.fragmentation;
    Tensord__V1__SessionMemory sm[TD_STATS_MAX_SESSIONS], *smp[TD_STATS_MAX_SESSIONS];
    for (uint32_t i = 0; i < st.n_session_memory; i++) {
        const struct td_session_memory *u = &st.session_memory[i];
        tensord__v1__session_memory__init(&sm[i]);
        sm[i].session = u->session;
        sm[i].uid = u->uid;
        sm[i].bytes_in_use = u->bytes_in_use;
        sm[i].bytes_peak = u->bytes_peak;
        sm[i].limit = u->limit;
        smp[i] = &sm[i];
    }
    m.n_session_memory = st.n_session_memory;
    m.session_memory = smp;
    m.uptime_ms = now_ms() - r->started_ms;
    m.pid = (uint32_t)getpid();
    Tensord__V1__DeviceMemory dm[1 + TD_MAX_DEVICES], *devs[1 + TD_MAX_DEVICES];
    char names[TD_MAX_DEVICES][16];
    tensord__v1__device_memory__init(&dm[0]);
    dm[0].name = "cpu";
    dm[0].allocated = st.bytes_in_use;
    dm[0].reserved = st.bytes_reserved;
    dm[0].peak = st.bytes_peak;
    dm[0].fragmentation = st.fragmentation;
    devs[0] = &dm[0];
    int n_dev = td_device_count();
    for (int i = 0; i < n_dev; i++) {
        struct td_device_usage u;
        tensord__v1__device_memory__init(&dm[1 + i]);
        dm[1 + i].name = (char *)td_device_str((uint8_t)(1 + i), names[i], sizeof names[i]);
        if (td_device_usage((uint8_t)(1 + i), &u)) {
            dm[1 + i].allocated = u.allocated;
            dm[1 + i].reserved = u.reserved;
            dm[1 + i].peak = u.peak_allocated;
            dm[1 + i].fragmentation = u.fragmentation;
        }
        devs[1 + i] = &dm[1 + i];
    }
    m.n_devices = (size_t)(1 + n_dev);
    m.devices = devs;
    char gpus[800];
    if (n_dev)
        snprintf(gpus, sizeof gpus, "%d GPU%s through %s", n_dev, n_dev == 1 ? "" : "s", td_devices_describe());
    else
        snprintf(gpus, sizeof gpus, "no GPU: %s", td_devices_why());
    m.gpus = gpus;
    return td_pack_msg(&m.base);
}

/* Root, the daemon's own user and members of the admin group. */
static bool is_admin(const struct td_rpc *r, const struct td_peer *p)
{
    if (!p->known)
        return false;
    if (p->uid == 0 || p->uid == geteuid())
        return true;
    if (!r->has_admin_gid)
        return false;
    if (p->gid == r->admin_gid)
        return true;
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwuid_r(p->uid, &pw, buf, sizeof buf, &res) != 0 || !res)
        return false;
    gid_t groups[256];
    int n = 256;
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
        return false;
    for (int i = 0; i < n; i++)
        if (groups[i] == r->admin_gid)
            return true;
    return false;
}

/* Whom this caller may see and kill: everyone (admin) or its own uid's sessions. */
static bool may_touch(const struct td_rpc *r, const struct td_peer *caller, bool admin, const struct scall *c)
{
    (void)r;
    return admin || (caller->known && c->cred.known && c->cred.uid == caller->uid);
}

static grpc_byte_buffer *answer_list(struct td_rpc *r, const struct td_peer *caller, bool admin)
{
    Tensord__V1__ListSessionsReply m = TENSORD__V1__LIST_SESSIONS_REPLY__INIT;
    size_t cap = 0;
    struct td_stats *st = malloc(sizeof *st); /* the allocator's per-session accounts */
    if (st)
        td_stats_get(st);
    pthread_mutex_lock(&r->reg_mu);
    for (struct scall *c = r->live; c; c = c->reg_next)
        cap++;
    Tensord__V1__SessionInfo *info = calloc(cap ? cap : 1, sizeof *info);
    Tensord__V1__SessionInfo **ptrs = calloc(cap ? cap : 1, sizeof *ptrs);
    uint64_t now = now_ms();
    size_t n = 0;
    for (struct scall *c = r->live; info && ptrs && c; c = c->reg_next) {
        pthread_mutex_lock(&c->mu);
        if (c->attached && !c->ending && may_touch(r, caller, admin, c)) {
            Tensord__V1__SessionInfo *i = &info[n];
            tensord__v1__session_info__init(i);
            i->id = c->id;
            i->pid = c->cred.known ? (uint32_t)c->cred.pid : c->attach_pid;
            i->uid = c->cred.known ? (uint32_t)c->cred.uid : UINT32_MAX;
            i->gid = c->cred.known ? (uint32_t)c->cred.gid : UINT32_MAX;
            i->peer = strdup(c->peer);
            i->client = strdup(c->client);
            i->cmdline = strdup(c->cmdline);
            i->transport = c->ring ? "shm" : "grpc";
            i->ops_executed = atomic_load(&c->ops_executed);
            for (uint32_t k = 0; st && k < st->n_session_memory; k++)
                if (st->session_memory[k].session == c->id) {
                    i->bytes_in_use = st->session_memory[k].bytes_in_use;
                    i->gpu_bytes_in_use = st->session_memory[k].gpu_bytes_in_use;
                }
            i->age_ms = now - c->attached_ms;
            ptrs[n++] = i;
        }
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&r->reg_mu);
    free(st);
    m.n_sessions = n;
    m.sessions = ptrs;
    grpc_byte_buffer *bb = td_pack_msg(&m.base);
    for (size_t k = 0; k < n; k++) {
        free(info[k].peer);
        free(info[k].client);
        free(info[k].cmdline);
    }
    free(info);
    free(ptrs);
    return bb;
}

static grpc_status_code kill_session(struct td_rpc *r, uint64_t id, const struct td_peer *caller, bool admin,
                                     char *msg, size_t len)
{
    grpc_status_code code = GRPC_STATUS_NOT_FOUND;
    snprintf(msg, len, "no session %llu", (unsigned long long)id);
    struct scall *c = find_locked(r, id);
    if (c) {
        if (!c->attached || c->ending) {
            /* already ending: nothing to do, and not an error */
            code = GRPC_STATUS_OK;
            msg[0] = 0;
        } else if (!may_touch(r, caller, admin, c)) {
            code = GRPC_STATUS_PERMISSION_DENIED; /* says no more than NOT_FOUND would about others */
            snprintf(msg, len, "session %llu belongs to another user", (unsigned long long)id);
        } else {
            char why[160];
            snprintf(why, sizeof why, "session killed by an administrator (uid %u)", (unsigned)caller->uid);
            td_log(TD_LOG_WARN, "session %llu (%s): killed by uid %u", (unsigned long long)c->id, c->peer,
                   (unsigned)caller->uid);
            end_locked(c, "killed", GRPC_STATUS_ABORTED, why);
            code = GRPC_STATUS_OK;
            msg[0] = 0;
        }
        pthread_mutex_unlock(&c->mu);
    }
    return code;
}

/* May the caller see or revoke the tokens of session `owner`? */
static bool may_touch_session(struct td_rpc *r, const struct td_peer *caller, bool admin, uint64_t owner)
{
    if (admin)
        return true;
    struct scall *c = find_locked(r, owner); /* an ended owner's lingering tokens: admins only */
    if (!c)
        return false;
    bool ok = may_touch(r, caller, admin, c);
    pthread_mutex_unlock(&c->mu);
    return ok;
}

static grpc_byte_buffer *answer_tokens(struct td_rpc *r, const struct td_peer *caller, bool admin)
{
    uint64_t n = td_share_list(NULL, 0), cap = n + 16; /* tokens made meanwhile are left out */
    struct td_share_info *info = malloc(cap * sizeof *info);
    Tensord__V1__TokenInfo *t = calloc(cap, sizeof *t);
    Tensord__V1__TokenInfo **tp = calloc(cap, sizeof *tp);
    Tensord__V1__ListTokensReply m = TENSORD__V1__LIST_TOKENS_REPLY__INIT;
    if (info && t && tp) {
        n = td_share_list(info, cap);
        for (uint64_t i = 0; i < n && i < cap; i++) {
            if (!may_touch_session(r, caller, admin, info[i].owner))
                continue;
            Tensord__V1__TokenInfo *x = &t[m.n_tokens];
            tensord__v1__token_info__init(x);
            x->token.data = (uint8_t *)info[i].tok.w;
            x->token.len = sizeof info[i].tok.w;
            x->owner = info[i].owner;
            x->grant = info[i].grant;
            x->one_shot = (info[i].mode & TD_SHARE_ONE_SHOT) != 0;
            x->pinned = (info[i].mode & TD_SHARE_PINNED) != 0;
            x->bytes = info[i].bytes;
            x->linger_s = info[i].linger_s;
            tp[m.n_tokens++] = x;
        }
    }
    m.tokens = tp;
    grpc_byte_buffer *bb = td_pack_msg(&m.base);
    free(info);
    free(t);
    free(tp);
    return bb;
}

static grpc_status_code revoke_token(struct td_rpc *r, const Tensord__V1__RevokeTokenRequest *q,
                                     const struct td_peer *caller, bool admin, char *msg, size_t len)
{
    struct td_token t;
    uint64_t owner;
    struct td_status bad = TD_STATUS_INIT;
    if (td_revoke_request_token(q, &t, &bad)) {
        snprintf(msg, len, "%.150s", bad.msg);
        return (grpc_status_code)bad.code;
    }
    /* unknown and not-yours look the same: a token's existence is not disclosed */
    if (!td_share_owner(t, &owner) || !may_touch_session(r, caller, admin, owner)) {
        snprintf(msg, len, "no such token");
        return GRPC_STATUS_NOT_FOUND;
    }
    struct td_status st = TD_STATUS_INIT;
    if (td_share_revoke(owner, t, &st)) { /* opened or expired meanwhile */
        snprintf(msg, len, "no such token");
        return GRPC_STATUS_NOT_FOUND;
    }
    td_log(TD_LOG_INFO, "token of session %llu revoked by uid %u", (unsigned long long)owner, (unsigned)caller->uid);
    return GRPC_STATUS_OK;
}

static void on_unary_new(struct td_rpc *r, struct stats_call *s, bool ok)
{
    if (!ok) {
        stats_free(s);
        return;
    }
    atomic_fetch_add(&r->live_calls, 1);
    if (!r->shutting_down)
        arm_unary(r, s->method);

    char msg[200] = "";
    s->code = GRPC_STATUS_OK;
    char *peer = grpc_call_get_peer(s->call);
    struct td_peer caller = td_listen_peer(r->lis, peer);
    gpr_free(peer);
    bool admin = is_admin(r, &caller);
    enum unary method = s->method;
    if (!caller_allowed(r, &caller, &s->request_md)) {
        td_log(TD_LOG_WARN, "%s call refused: missing or wrong bearer token", unary_methods[method]);
        s->code = GRPC_STATUS_UNAUTHENTICATED;
        snprintf(msg, sizeof msg, "missing or wrong bearer token");
        method = N_UNARY; /* answered below with the error */
    }
    switch (method) {
    case U_STATS:
        s->reply = answer_stats(r);
        break;
    case U_LIST_SESSIONS:
        if (!caller.known) {
            s->code = GRPC_STATUS_PERMISSION_DENIED;
            snprintf(msg, sizeof msg, "admin calls need a local (unix socket) caller");
        } else {
            s->reply = answer_list(r, &caller, admin);
        }
        break;
    case U_KILL_SESSION: {
        Tensord__V1__KillSessionRequest *q = unpack_kill(s->request);
        if (!q) {
            s->code = GRPC_STATUS_INVALID_ARGUMENT;
            snprintf(msg, sizeof msg, "malformed KillSessionRequest");
        } else if (!caller.known) {
            s->code = GRPC_STATUS_PERMISSION_DENIED;
            snprintf(msg, sizeof msg, "admin calls need a local (unix socket) caller");
        } else {
            s->code = kill_session(r, q->id, &caller, admin, msg, sizeof msg);
            if (s->code == GRPC_STATUS_OK) {
                Tensord__V1__KillSessionReply k = TENSORD__V1__KILL_SESSION_REPLY__INIT;
                s->reply = td_pack_msg(&k.base);
            }
        }
        if (q)
            tensord__v1__kill_session_request__free_unpacked(q, NULL);
        break;
    }
    case U_LIST_TOKENS:
        if (!caller.known) {
            s->code = GRPC_STATUS_PERMISSION_DENIED;
            snprintf(msg, sizeof msg, "admin calls need a local (unix socket) caller");
        } else {
            s->reply = answer_tokens(r, &caller, admin);
        }
        break;
    case U_REVOKE_TOKEN: {
        Tensord__V1__RevokeTokenRequest *q = unpack_revoke(s->request);
        if (!q) {
            s->code = GRPC_STATUS_INVALID_ARGUMENT;
            snprintf(msg, sizeof msg, "malformed RevokeTokenRequest");
        } else if (!caller.known) {
            s->code = GRPC_STATUS_PERMISSION_DENIED;
            snprintf(msg, sizeof msg, "admin calls need a local (unix socket) caller");
        } else {
            s->code = revoke_token(r, q, &caller, admin, msg, sizeof msg);
            if (s->code == GRPC_STATUS_OK) {
                Tensord__V1__RevokeTokenReply k = TENSORD__V1__REVOKE_TOKEN_REPLY__INIT;
                s->reply = td_pack_msg(&k.base);
            }
        }
        if (q)
            tensord__v1__revoke_token_request__free_unpacked(q, NULL);
        break;
    }
    default:
        break;
    }
    s->details = grpc_slice_from_copied_string(msg);

    grpc_op ops[4] = {
        {.op = GRPC_OP_SEND_INITIAL_METADATA},
        {.op = GRPC_OP_SEND_MESSAGE},
        {.op = GRPC_OP_SEND_STATUS_FROM_SERVER},
        {.op = GRPC_OP_RECV_CLOSE_ON_SERVER},
    };
    ops[1].data.send_message.send_message = s->reply;
    ops[2].data.send_status_from_server.status = s->code;
    ops[2].data.send_status_from_server.status_details = &s->details;
    ops[3].data.recv_close_on_server.cancelled = &s->cancelled;
    grpc_op *start = s->reply ? ops : NULL;
    if (!s->reply) { /* an error: no message */
        ops[1] = ops[0];
        start = ops + 1;
    }
    if (grpc_call_start_batch(s->call, start, s->reply ? 4 : 3, &s->t_done, NULL) != GRPC_CALL_OK) {
        td_log(TD_LOG_ERROR, "cannot answer a %s call", unary_methods[s->method]);
        grpc_call_cancel(s->call, NULL);
        stats_free(s);
    }
}

/* ---- the loop */

static void handle_event(struct td_rpc *r, grpc_event ev)
{
    struct tag *t = ev.tag;
    bool ok = ev.success != 0;
    switch (t->kind) {
    case TAG_SESSION_NEW:
        on_session_new(r, t->owner, ok);
        break;
    case TAG_UNARY_NEW:
        on_unary_new(r, t->owner, ok);
        break;
    case TAG_UNARY_DONE:
        stats_free(t->owner);
        break;
    case TAG_RECV:
        on_recv(t->owner, ok);
        break;
    case TAG_SEND:
    case TAG_CLOSE:
    case TAG_STATUS:
        on_call_op(t->owner, t->kind, ok);
        break;
    case TAG_SHUTDOWN:
        r->shutdown_done = true;
        break;
    }
}

/* Waits up to ms for one completion and handles it; false once the queue is shut down. */
static bool poll_once(struct td_rpc *r, int ms)
{
    gpr_timespec until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_next(r->cq, until, NULL);
    atomic_fetch_add(&r->heartbeat, 1);
    if (ev.type == GRPC_OP_COMPLETE)
        handle_event(r, ev);
    reap_workers(r, false);
    return ev.type != GRPC_QUEUE_SHUTDOWN;
}

/* gRPC's own log lines, in our format (its errors are operator warnings to us). */
static void grpc_log_to_td(gpr_log_func_args *a)
{
    enum td_log_level level = a->severity == GPR_LOG_SEVERITY_ERROR ? TD_LOG_WARN : TD_LOG_DEBUG;
    td_log(level, "grpc: %s (%s:%d)", a->message, a->file, a->line);
}

struct td_rpc *td_rpc_new(struct td_status *st)
{
    struct td_rpc *r = calloc(1, sizeof *r);
    if (!r) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    gpr_set_log_function(grpc_log_to_td);
    grpc_init();
    /* Keepalive pings let the daemon notice a TCP client whose host vanished without
     * closing the connection (a unix socket peer's death is seen at once), so its
     * session is freed; 0 pings-without-data keeps pinging idle streams. */
    grpc_arg args[] = {
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = TD_RPC_MAX_MESSAGE},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, .value.integer = TD_RPC_MAX_MESSAGE},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIME_MS, .value.integer = 60000},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIMEOUT_MS, .value.integer = 20000},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, .value.integer = 0},
    };
    grpc_channel_args ch_args = {.num_args = sizeof args / sizeof args[0], .args = args};
    r->srv = grpc_server_create(&ch_args, NULL);
    r->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(r->srv, r->cq, NULL);
    r->m_session = grpc_server_register_method(r->srv, SESSION_METHOD, NULL, GRPC_SRM_PAYLOAD_NONE, 0);
    for (int i = 0; i < N_UNARY; i++)
        r->m_unary[i] = grpc_server_register_method(r->srv, unary_methods[i], NULL,
                                                    GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    r->started_ms = now_ms();
    set_admin_group(r, "tensord");
    r->t_shutdown = (struct tag){TAG_SHUTDOWN, r};
    atomic_init(&r->live_calls, 0);
    atomic_init(&r->heartbeat, 0);
    r->socket_mode = -1;
    r->lis = td_listen_new();
    r->fd_creds = grpc_insecure_server_credentials_create();
    atomic_init(&r->next_id, 1);
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->reg_mu, NULL);
    return r;
}

/* 127.x.x.x, localhost or [::1], before ":PORT". */
static bool is_loopback(const char *host_port)
{
    return strncmp(host_port, "127.", 4) == 0 || strncmp(host_port, "localhost:", 10) == 0 ||
           strncmp(host_port, "[::1]:", 6) == 0;
}

static bool is_unix(const char *addr)
{
    return strncmp(addr, "unix:", 5) == 0 || strncmp(addr, "unix-abstract:", 14) == 0;
}

static void add_side(struct td_rpc *r, const char *addr)
{
    if (r->n_side == MAX_SIDE_SOCKETS || getenv("TENSORD_NO_SHM"))
        return;
    struct td_status sst = TD_STATUS_INIT;
    struct td_shm_listener *l = td_shm_listen(addr, &sst);
    if (l)
        r->side[r->n_side++] = l;
    else if (sst.code != TD_CODE_OK) /* gRPC still serves: say why local clients copy */
        td_log(TD_LOG_WARN, "no shared-memory transport on %s: %s", addr, sst.msg);
}

enum td_code td_rpc_listen(struct td_rpc *r, const char *addr, int *port, struct td_status *st)
{
    if (is_unix(addr)) {
        if (!r->lis || !td_listen_bind(r->lis, addr, st))
            return st->code ? st->code : td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        if (port)
            *port = 1;
        if (r->socket_mode >= 0 && strncmp(addr, "unix:", 5) == 0 && chmod(addr + 5, (mode_t)r->socket_mode) != 0)
            return td_status_set(st, TD_CODE_UNAVAILABLE, "cannot chmod %s: %s", addr + 5, strerror(errno));
        add_side(r, addr);
        return TD_CODE_OK;
    }
    char host_port[300];
    if (addr[0] == ':') /* ":PORT": loopback unless told otherwise */
        snprintf(host_port, sizeof host_port, "127.0.0.1%s", addr);
    else
        snprintf(host_port, sizeof host_port, "%s", addr);
    if (!r->token)
        return td_status_set(st, TD_CODE_FAILED_PRECONDITION,
                             "TCP address %s needs a bearer token: set token-file (and tls-cert, tls-key)", addr);
    grpc_server_credentials *cr;
    if (r->tls_cert) {
        grpc_ssl_pem_key_cert_pair pair = {.private_key = r->tls_key, .cert_chain = r->tls_cert};
        cr = grpc_ssl_server_credentials_create(NULL, &pair, 1, 0, NULL);
    } else if (r->insecure_tcp && is_loopback(host_port)) {
        td_log(TD_LOG_WARN, "%s: plain TCP without TLS (insecure-tcp): for tests only", host_port);
        cr = grpc_insecure_server_credentials_create();
    } else {
        return td_status_set(st, TD_CODE_FAILED_PRECONDITION,
                             "TCP address %s needs TLS: set tls-cert and tls-key (insecure-tcp = yes allows plain "
                             "TCP on loopback addresses only)",
                             addr);
    }
    int p = cr ? grpc_server_add_http2_port(r->srv, host_port, cr) : 0;
    if (cr)
        grpc_server_credentials_release(cr);
    if (port)
        *port = p;
    if (p == 0)
        return td_status_set(st, TD_CODE_UNAVAILABLE,
                             "cannot listen on %s (bad address or certificate, in use, or no permission)", addr);
    return TD_CODE_OK;
}

enum td_code td_rpc_listen_fd(struct td_rpc *r, int fd, const char **addr, struct td_status *st)
{
    if (!r->lis || !td_listen_adopt(r->lis, fd, st))
        return st->code ? st->code : td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
    *addr = td_listen_address(r->lis, td_listen_count(r->lis) - 1);
    return TD_CODE_OK;
}

enum td_code td_rpc_adopt_side(struct td_rpc *r, int fd, const char **addr, struct td_status *st)
{
    if (r->n_side == MAX_SIDE_SOCKETS)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "at most %d side sockets", MAX_SIDE_SOCKETS);
    struct td_shm_listener *l = td_shm_adopt(fd, st);
    if (!l)
        return st->code;
    r->side[r->n_side++] = l;
    *addr = td_shm_address(l);
    return TD_CODE_OK;
}

/* The accept thread's hand-off (listen.h). */
static void add_connection(void *ctx, int fd)
{
    struct td_rpc *r = ctx;
    grpc_server_add_channel_from_fd(r->srv, fd, r->fd_creds);
}

uint64_t td_rpc_heartbeat(struct td_rpc *r) { return atomic_load(&r->heartbeat); }

void td_rpc_gauges(struct td_rpc *r, struct td_rpc_gauges *g)
{
    memset(g, 0, sizeof *g);
    pthread_mutex_lock(&r->reg_mu);
    for (struct scall *c = r->live; c; c = c->reg_next) {
        pthread_mutex_lock(&c->mu);
        if (c->attached && !c->ending) {
            if (c->ring)
                g->sessions_shm++;
            else
                g->sessions_grpc++;
        }
        for (struct msg_node *n = c->q_head; n; n = n->next)
            g->queued_msgs++;
        g->queued_bytes += c->q_bytes;
        g->paused += c->recv_paused;
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&r->reg_mu);
}

enum td_code td_rpc_start(struct td_rpc *r, struct td_status *st)
{
    grpc_server_start(r->srv);
    r->started = true;
    /* inherited gRPC sockets without an inherited side socket get one beside them */
    for (int i = 0; r->n_side == 0 && i < td_listen_count(r->lis); i++)
        if (td_listen_inherited(r->lis, i))
            add_side(r, td_listen_address(r->lis, i));
    if (!td_listen_start(r->lis, add_connection, r, st))
        return st->code;
    for (int i = 0; i < r->n_side; i++)
        if (td_shm_start(r->side[i], bind_ring, arena_fd, r, st) != TD_CODE_OK)
            td_log(TD_LOG_WARN, "no shared-memory transport: %s", st->msg);
    arm_session(r);
    for (int i = 0; i < N_UNARY; i++)
        arm_unary(r, (enum unary)i);
    return TD_CODE_OK;
}

void td_rpc_run(struct td_rpc *r, const volatile sig_atomic_t *stop)
{
    while (!*stop && poll_once(r, 100))
        ;
}

void td_rpc_free(struct td_rpc *r)
{
    if (!r)
        return;
    td_listen_free(r->lis); /* no connection arrives past this */
    r->lis = NULL;
    for (int i = 0; i < r->n_side; i++) /* no handshake runs past this */
        td_shm_free(r->side[i]);
    r->n_side = 0;
    if (r->started) {
        r->shutting_down = true;
        grpc_server_shutdown_and_notify(r->srv, r->cq, &r->t_shutdown);
        grpc_server_cancel_all_calls(r->srv);
        /* Pending requests come back failed, calls cancelled; workers finish the
         * message they execute and free their sessions. */
        while (!r->shutdown_done || atomic_load(&r->live_calls) > 0)
            poll_once(r, 100);
    }
    grpc_server_destroy(r->srv);
    grpc_completion_queue_shutdown(r->cq);
    while (poll_once(r, 100))
        ;
    grpc_completion_queue_destroy(r->cq);
    grpc_server_credentials_release(r->fd_creds);
    reap_workers(r, true);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->reg_mu);
    free(r->tls_cert);
    if (r->tls_key) /* no copy of the key stays in freed memory */
        memset(r->tls_key, 0, strlen(r->tls_key));
    free(r->tls_key);
    free(r->token);
    free(r);
    grpc_shutdown();
}
