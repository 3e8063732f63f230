/*
 * check_rpc.c — the gRPC transport end to end: a real tensord process (TENSORD_BIN,
 * normally build/asan/tensord) on a private unix socket, driven through client_c/conn.c
 * and, for bytes a well-behaved client would never send, raw gRPC core calls.
 *
 * Every test forks (Check's default) and starts its own daemon in the fixture, so a
 * wedged daemon fails one test only.  Tests that fork a client child do so before the
 * test process first touches gRPC (gRPC does not survive fork in the child).
 * Not tested here: op semantics (check_session and the pytest suites do that).
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "../client_c/conn.h"
#include "../daemon/session.h"
#include "../kernels/dtype.h"
#include "../kernels/op.h"
#include "../proto/td_record.h"
#include "tensord.pb-c.h"

#include "check_daemon.h"

/* ---- helpers */

static struct td_conn *open_conn(void)
{
    struct td_status st = TD_STATUS_INIT;
    struct td_conn *c = td__conn_open(target, "check_rpc", 20000, &st);
    ck_assert_msg(c != NULL, "td__conn_open: %s: %s", td_code_name(st.code), st.msg);
    return c;
}

static struct td_stats get_stats(void)
{
    struct td_stats s;
    struct td_status st = TD_STATUS_INIT;
    memset(&s, 0xff, sizeof s);
    ck_assert_msg(td__conn_stats(target, &s, &st) == TD_CODE_OK, "stats: %s", st.msg);
    return s;
}

/* Polls Stats until `sessions` equals want; fails after 10 s. */
static void wait_sessions(uint64_t want)
{
    double t0 = now_s();
    struct td_stats s;
    while ((s = get_stats()).sessions != want) {
        ck_assert_msg(now_s() - t0 < 10, "sessions stayed %llu, want %llu", (unsigned long long)s.sessions,
                      (unsigned long long)want);
        usleep(20000);
    }
}

/* Sends one message; with rep, waits for its answer (earlier answers are dropped).
 * A record failure counts as the answer's code, as it would for a client. */
static enum td_code send_msg(struct td_conn *c, const void *rec, size_t n, const void *payload, size_t plen,
                             bool sync, struct td_conn_reply *rep, struct td_status *st)
{
    uint64_t seq;
    enum td_code rc = td__conn_send(c, rec, n, payload, plen, sync, &seq, st);
    if (rc || !rep)
        return rc;
    for (;;) {
        bool got;
        if ((rc = td__conn_recv(c, true, rep, &got, st)) != TD_CODE_OK)
            return rc;
        if (rep->seq == seq)
            break;
        td__conn_reply_fini(rep);
    }
    if (!rep->code && rep->n_errors) {
        rep->code = rep->errors[0].code;
        snprintf(rep->message, sizeof rep->message, "%s", rep->errors[0].msg);
    }
    return TD_CODE_OK;
}

/* Packs records into buf; returns the next free word. */
static uint64_t *rec_put(uint64_t *w, enum td_op op, int n_out, int n_in, const uint64_t *handles, int n_attr,
                         const int64_t *attrs)
{
    struct td_rec_hdr h = {.words = (uint16_t)(1 + n_out + n_in + n_attr),
                           .op = (uint16_t)op,
                           .n_out = (uint8_t)n_out,
                           .n_in = (uint8_t)n_in,
                           .n_attr = (uint8_t)n_attr};
    memcpy(w, &h, sizeof h);
    if (n_out + n_in)
        memcpy(w + 1, handles, (size_t)(n_out + n_in) * 8);
    if (n_attr)
        memcpy(w + 1 + n_out + n_in, attrs, (size_t)n_attr * 8);
    return w + h.words;
}

/* EMPTY uint8 tensor `handle` of len bytes, UPLOAD payload into it, READ it back, RELEASE.
 * Checks the answer echoes the payload. */
static void roundtrip(struct td_conn *c, uint64_t handle, const uint8_t *data, size_t len)
{
    uint64_t rec[32];
    uint64_t *w = rec;
    w = rec_put(w, TD_OP_EMPTY, 1, 0, &handle, 3, (int64_t[]){TD_DTYPE_UINT8, 1, (int64_t)len});
    w = rec_put(w, TD_OP_UPLOAD, 0, 1, &handle, 3, (int64_t[]){0, (int64_t)len, 0});
    w = rec_put(w, TD_OP_READ, 0, 1, &handle, 2, (int64_t[]){0, (int64_t)len});
    w = rec_put(w, TD_OP_RELEASE, 0, 1, &handle, 0, NULL);

    struct td_conn_reply rep;
    struct td_status st = TD_STATUS_INIT;
    enum td_code rc = send_msg(c, (const uint8_t *)rec, (size_t)(w - rec) * 8, data, len, true, &rep, &st);
    ck_assert_msg(rc == TD_CODE_OK, "send: %s", st.msg);
    ck_assert_msg(rep.code == TD_CODE_OK, "reply: %s %s", td_code_name(rep.code), rep.message);
    ck_assert_uint_eq(rep.payload_len, len);
    ck_assert_msg(memcmp(rep.payload, data, len) == 0, "READ bytes differ from UPLOAD bytes");
    td__conn_reply_fini(&rep);
}

static void send_ok(struct td_conn *c, const void *rec, size_t n, bool sync)
{
    struct td_conn_reply rep;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_msg(send_msg(c, rec, n, NULL, 0, sync, &rep, &st) == TD_CODE_OK, "send: %s", st.msg);
    ck_assert_msg(rep.code == TD_CODE_OK, "reply: %s", rep.message);
    ck_assert_uint_eq(rep.payload_len, 0);
    td__conn_reply_fini(&rep);
}

/* ---- attach, messages, sync */

START_TEST(test_attach_and_sync)
{
    struct td_conn *c = open_conn();
    ck_assert_uint_ge(td__conn_session_id(c), 1);

    send_ok(c, NULL, 0, false); /* empty */
    send_ok(c, NULL, 0, true);  /* empty sync: an OK answer */
    uint64_t rec[4];
    uint64_t *w = rec_put(rec, TD_OP_MANUAL_SEED, 0, 0, NULL, 1, (int64_t[]){42});
    send_ok(c, rec, (size_t)(w - rec) * 8, false);
    send_ok(c, rec, (size_t)(w - rec) * 8, true);

    uint8_t data[100];
    for (int i = 0; i < 100; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    roundtrip(c, 1, data, sizeof data);
    td__conn_close(c);
    wait_sessions(0);
}
END_TEST

/* Handle numbers are per session: B naming A's live handle 7 gets "unknown", and A's
 * tensor is untouched. */
START_TEST(test_other_sessions_handles_unknown)
{
    struct td_conn *a = open_conn(), *b = open_conn();
    uint64_t h = 7, rec[16], *w = rec;
    uint8_t data[16];
    for (int i = 0; i < 16; i++)
        data[i] = (uint8_t)(100 + i);
    w = rec_put(w, TD_OP_EMPTY, 1, 0, &h, 3, (int64_t[]){TD_DTYPE_UINT8, 1, 16});
    w = rec_put(w, TD_OP_UPLOAD, 0, 1, &h, 3, (int64_t[]){0, 16, 0});
    struct td_conn_reply rep;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(send_msg(a, rec, (size_t)(w - rec) * 8, data, 16, true, &rep, &st), TD_CODE_OK);
    ck_assert_int_eq(rep.code, TD_CODE_OK);
    td__conn_reply_fini(&rep);

    w = rec_put(rec, TD_OP_READ, 0, 1, &h, 2, (int64_t[]){0, 16}); /* B reads "7" */
    ck_assert_int_eq(send_msg(b, rec, (size_t)(w - rec) * 8, NULL, 0, true, &rep, &st), TD_CODE_OK);
    ck_assert_int_eq(rep.code, TD_CODE_NOT_FOUND);
    ck_assert_msg(strstr(rep.message, "unknown tensor handle 7"), "%s", rep.message);
    td__conn_reply_fini(&rep);
    w = rec_put(rec, TD_OP_RELEASE, 0, 1, &h, 0, NULL); /* and cannot release it */
    send_ok(b, rec, (size_t)(w - rec) * 8, true);

    w = rec_put(rec, TD_OP_READ, 0, 1, &h, 2, (int64_t[]){0, 16}); /* A's is intact */
    ck_assert_int_eq(send_msg(a, rec, (size_t)(w - rec) * 8, NULL, 0, true, &rep, &st), TD_CODE_OK);
    ck_assert_int_eq(rep.code, TD_CODE_OK);
    ck_assert_uint_eq(rep.payload_len, 16);
    ck_assert(memcmp(rep.payload, data, 16) == 0);
    td__conn_reply_fini(&rep);
    td__conn_close(a);
    td__conn_close(b);
    wait_sessions(0);
}
END_TEST

/* Records the daemon rejects become the reply's error, and the stream goes on. */
START_TEST(test_bad_records_keep_session)
{
    struct td_conn *c = open_conn();
    uint8_t junk[13] = {0xff, 0xff, 0xff};
    struct td_conn_reply rep;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(send_msg(c, junk, sizeof junk, NULL, 0, true, &rep, &st), TD_CODE_OK);
    ck_assert_int_ne(rep.code, TD_CODE_OK);
    ck_assert_msg(rep.message[0], "an error reply names the problem");
    td__conn_reply_fini(&rep);
    send_ok(c, NULL, 0, true); /* the error was cleared by the sync */
    td__conn_close(c);
}
END_TEST

/* Above gRPC's default 4 MiB limit, in both directions. */
START_TEST(test_big_message)
{
    struct td_conn *c = open_conn();
    size_t len = 9 << 20;
    uint8_t *data = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 2654435761u >> 24);
    roundtrip(c, 7, data, len);
    free(data);
    td__conn_close(c);
}
END_TEST

/* Many unsynced messages then one sync: exercises the daemon's queue and backpressure. */
START_TEST(test_stream_many)
{
    struct td_conn *c = open_conn();
    size_t len = 1 << 20;
    uint8_t *data = calloc(1, len);
    uint64_t h = 3, rec[16], *w = rec;
    w = rec_put(w, TD_OP_EMPTY, 1, 0, &h, 3, (int64_t[]){TD_DTYPE_UINT8, 1, (int64_t)len});
    send_ok(c, rec, (size_t)(w - rec) * 8, false);
    w = rec_put(rec, TD_OP_UPLOAD, 0, 1, &h, 3, (int64_t[]){0, (int64_t)len, 0});
    struct td_status st = TD_STATUS_INIT;
    for (int i = 0; i < 96; i++) {
        data[0] = (uint8_t)i;
        ck_assert_int_eq(send_msg(c, (uint8_t *)rec, (size_t)(w - rec) * 8, data, len, false, NULL, &st),
                         TD_CODE_OK);
    }
    w = rec_put(rec, TD_OP_READ, 0, 1, &h, 2, (int64_t[]){0, 1});
    struct td_conn_reply rep;
    ck_assert_int_eq(send_msg(c, (uint8_t *)rec, (size_t)(w - rec) * 8, NULL, 0, true, &rep, &st), TD_CODE_OK);
    ck_assert_msg(rep.code == TD_CODE_OK, "%s", rep.message);
    ck_assert_uint_eq(rep.payload_len, 1);
    ck_assert_uint_eq(rep.payload[0], 95); /* executed in order */
    td__conn_reply_fini(&rep);
    free(data);
    td__conn_close(c);
}
END_TEST

/* ---- Stats and several connections */

START_TEST(test_stats_counts_sessions)
{
    struct td_stats s0 = get_stats();
    ck_assert_uint_eq(s0.sessions, 0);
    struct td_conn *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = open_conn();
    ck_assert_uint_ne(td__conn_session_id(c[0]), td__conn_session_id(c[1]));
    struct td_stats s1 = get_stats();
    ck_assert_uint_eq(s1.sessions, 3);
    ck_assert_uint_eq(s1.sessions_total, s0.sessions_total + 3);
    td__conn_close(c[1]);
    wait_sessions(2);
    td__conn_close(c[0]);
    td__conn_close(c[2]);
    wait_sessions(0);
    ck_assert_uint_eq(get_stats().sessions_total, s0.sessions_total + 3);
}
END_TEST

static void *conn_thread(void *arg)
{
    uintptr_t k = (uintptr_t)arg;
    struct td_conn *c = open_conn();
    uint8_t data[256];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 256; i++)
            data[i] = (uint8_t)(k * 31 + (uintptr_t)round + (uintptr_t)i);
        roundtrip(c, 100 + (uint64_t)round, data, sizeof data);
    }
    td__conn_close(c);
    return NULL;
}

START_TEST(test_concurrent_connections)
{
    enum { N = 6 };
    pthread_t t[N];
    for (uintptr_t i = 0; i < N; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, conn_thread, (void *)i), 0);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    wait_sessions(0);
    ck_assert_uint_ge(get_stats().sessions_total, N);
}
END_TEST

/* ---- a client that vanishes: _exit (loop 0) or SIGKILL (loop 1) */

START_TEST(test_client_vanishes)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t child = fork(); /* before this process touches gRPC */
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        close(fds[0]);
        struct td_status st = TD_STATUS_INIT;
        struct td_conn *c = td__conn_open(target, "vanishing child", 20000, &st);
        uint64_t id = c ? td__conn_session_id(c) : 0;
        if (write(fds[1], &id, sizeof id) != sizeof id)
            _exit(2);
        if (_i == 0)
            _exit(0); /* no detach, no close: the kernel drops the socket */
        for (;;)
            pause();
    }
    close(fds[1]);
    uint64_t id = 0;
    ck_assert_int_eq(read(fds[0], &id, sizeof id), sizeof id);
    close(fds[0]);
    ck_assert_uint_ge(id, 1);
    if (_i == 1) {
        ck_assert_uint_eq(get_stats().sessions, 1);
        kill(child, SIGKILL);
    }
    waitpid(child, NULL, 0);
    wait_sessions(0);
    ck_assert_uint_ge(get_stats().sessions_total, 1);

    struct td_conn *c = open_conn(); /* and the daemon still serves */
    send_ok(c, NULL, 0, true);
    td__conn_close(c);
}
END_TEST

/* ---- garbage on the wire, through raw gRPC core calls */

struct raw_result {
    int n_replies;
    int reply_codes[4];
    grpc_status_code status;
    char details[256];
};

/* Opens a Session stream, sends each message (bytes as given) waiting for one answer
 * after each (until the stream ends), then half-closes and reads the status. */
static struct raw_result raw_session(const grpc_slice *msgs, int n)
{
    struct raw_result res = {.status = GRPC_STATUS_UNKNOWN};
    grpc_channel_credentials *cc = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(target, cc, NULL);
    grpc_channel_credentials_release(cc);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(20, GPR_TIMESPAN));
    grpc_call *call =
        grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                 grpc_slice_from_static_string("/tensord.v1.Tensord/Session"), NULL, deadline, NULL);
    grpc_metadata_array md, trailing;
    grpc_metadata_array_init(&md);
    grpc_metadata_array_init(&trailing);
    grpc_op op0[2] = {{.op = GRPC_OP_SEND_INITIAL_METADATA, .flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY},
                      {.op = GRPC_OP_RECV_INITIAL_METADATA}};
    op0[1].data.recv_initial_metadata.recv_initial_metadata = &md;
    ck_assert_int_eq(grpc_call_start_batch(call, op0, 2, op0, NULL), GRPC_CALL_OK);
    bool ended = false;
    for (int i = 0; i < n && !ended; i++) {
        grpc_slice s = grpc_slice_ref(msgs[i]);
        grpc_byte_buffer *sbb = grpc_raw_byte_buffer_create(&s, 1), *rbb = NULL;
        grpc_slice_unref(s);
        grpc_op ops[2] = {{.op = GRPC_OP_SEND_MESSAGE}, {.op = GRPC_OP_RECV_MESSAGE}};
        ops[0].data.send_message.send_message = sbb;
        ops[1].data.recv_message.recv_message = &rbb;
        ck_assert_int_eq(grpc_call_start_batch(call, ops, 2, ops, NULL), GRPC_CALL_OK);
        grpc_completion_queue_pluck(cq, ops, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        grpc_byte_buffer_destroy(sbb);
        if (!rbb) {
            ended = true;
            break;
        }
        grpc_byte_buffer_reader rd;
        grpc_byte_buffer_reader_init(&rd, rbb);
        grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
        grpc_byte_buffer_reader_destroy(&rd);
        grpc_byte_buffer_destroy(rbb);
        Tensord__V1__ServerMsg *m =
            tensord__v1__server_msg__unpack(NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
        grpc_slice_unref(all);
        ck_assert_msg(m != NULL, "the daemon's answer is a ServerMsg");
        if (res.n_replies < 4)
            res.reply_codes[res.n_replies++] = m->code;
        tensord__v1__server_msg__free_unpacked(m, NULL);
    }
    grpc_op op1[3] = {{.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT}, {.op = GRPC_OP_RECV_STATUS_ON_CLIENT}};
    grpc_slice details = grpc_empty_slice();
    op1[1].data.recv_status_on_client.trailing_metadata = &trailing;
    op1[1].data.recv_status_on_client.status = &res.status;
    op1[1].data.recv_status_on_client.status_details = &details;
    ck_assert_int_eq(grpc_call_start_batch(call, op1, 2, op1, NULL), GRPC_CALL_OK);
    grpc_completion_queue_pluck(cq, op1, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_completion_queue_pluck(cq, op0, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    snprintf(res.details, sizeof res.details, "%.*s", (int)GRPC_SLICE_LENGTH(details),
             (const char *)GRPC_SLICE_START_PTR(details));
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&md);
    grpc_metadata_array_destroy(&trailing);
    grpc_call_unref(call);
    grpc_channel_destroy(ch);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    return res;
}

static grpc_slice client_msg(uint64_t seq, int wire_version, bool sync)
{
    Tensord__V1__Attach a = TENSORD__V1__ATTACH__INIT;
    Tensord__V1__ClientMsg m = TENSORD__V1__CLIENT_MSG__INIT;
    m.seq = seq;
    m.sync = sync;
    if (wire_version >= 0) {
        a.wire_version = (uint32_t)wire_version;
        m.attach = &a;
    }
    grpc_slice s = grpc_slice_malloc(tensord__v1__client_msg__get_packed_size(&m));
    tensord__v1__client_msg__pack(&m, GRPC_SLICE_START_PTR(s));
    return s;
}

START_TEST(test_garbage)
{
    grpc_init();
    struct raw_result r;

    /* Not protobuf at all (field 0 / truncated varint). */
    grpc_slice junk = grpc_slice_from_static_string("\xff\xff\xff\xff\xff garbage, not protobuf");
    r = raw_session(&junk, 1);
    ck_assert_int_eq(r.status, GRPC_STATUS_INVALID_ARGUMENT);
    ck_assert_int_eq(r.n_replies, 1);
    ck_assert_int_eq(r.reply_codes[0], TD_CODE_INVALID_ARGUMENT);
    ck_assert_msg(strstr(r.details, "malformed"), "details: %s", r.details);

    /* A well-formed message without attach first. */
    grpc_slice no_attach = client_msg(1, -1, true);
    r = raw_session(&no_attach, 1);
    ck_assert_int_eq(r.status, GRPC_STATUS_INVALID_ARGUMENT);
    ck_assert_msg(strstr(r.details, "attach"), "details: %s", r.details);
    grpc_slice_unref(no_attach);

    /* An empty message is a ClientMsg with nothing set: also no attach. */
    grpc_slice empty = grpc_empty_slice();
    r = raw_session(&empty, 1);
    ck_assert_int_eq(r.status, GRPC_STATUS_INVALID_ARGUMENT);

    /* The wrong wire version. */
    grpc_slice old = client_msg(1, TD_WIRE_VERSION + 1000, false);
    r = raw_session(&old, 1);
    ck_assert_int_eq(r.status, GRPC_STATUS_FAILED_PRECONDITION);
    ck_assert_int_eq(r.reply_codes[0], TD_CODE_FAILED_PRECONDITION);
    grpc_slice_unref(old);

    /* A valid attach, then a second attach, then garbage after a valid attach. */
    grpc_slice two[2] = {client_msg(1, TD_WIRE_VERSION, false), client_msg(2, TD_WIRE_VERSION, false)};
    r = raw_session(two, 2);
    ck_assert_int_eq(r.status, GRPC_STATUS_INVALID_ARGUMENT);
    ck_assert_int_eq(r.n_replies, 2);
    ck_assert_int_eq(r.reply_codes[0], TD_CODE_OK);
    ck_assert_int_eq(r.reply_codes[1], TD_CODE_INVALID_ARGUMENT);
    two[1] = junk;
    r = raw_session(two, 2);
    ck_assert_int_eq(r.status, GRPC_STATUS_INVALID_ARGUMENT);
    grpc_slice_unref(two[0]);

    /* A clean half-close right after attach: status OK. */
    grpc_slice att = client_msg(1, TD_WIRE_VERSION, false);
    r = raw_session(&att, 1);
    ck_assert_int_eq(r.status, GRPC_STATUS_OK);
    grpc_slice_unref(att);
    /* A stream that ends without sending anything. */
    r = raw_session(NULL, 0);
    ck_assert_int_eq(r.status, GRPC_STATUS_OK);
    grpc_shutdown();

    wait_sessions(0);
    struct td_stats s = get_stats();
    ck_assert_uint_ge(s.bad_messages, 6);
    struct td_conn *c = open_conn(); /* still serving */
    send_ok(c, NULL, 0, true);
    td__conn_close(c);
}
END_TEST

/* ---- daemon going away */

START_TEST(test_sigterm_exits_zero)
{
    struct td_conn *c = open_conn(); /* a live session during shutdown */
    send_ok(c, NULL, 0, true);
    ck_assert_int_eq(kill(daemon_pid, SIGTERM), 0);
    int status = daemon_wait(30);
    ck_assert_msg(status != -1, "tensord did not exit within 30 s of SIGTERM");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait status 0x%x", status);

    struct td_conn_reply rep;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(send_msg(c, NULL, 0, NULL, 0, true, &rep, &st), TD_CODE_UNAVAILABLE);
    ck_assert_msg(strstr(st.msg, "lost connection to tensord at unix:"), "%s", st.msg);
    td_status_clear(&st);
    ck_assert_int_eq(send_msg(c, NULL, 0, NULL, 0, false, NULL, &st), TD_CODE_UNAVAILABLE);
    td__conn_close(c);
}
END_TEST

START_TEST(test_daemon_killed)
{
    struct td_conn *c = open_conn();
    kill(daemon_pid, SIGKILL);
    ck_assert_int_ne(daemon_wait(30), -1);
    struct td_conn_reply rep;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(send_msg(c, NULL, 0, NULL, 0, true, &rep, &st), TD_CODE_UNAVAILABLE);
    ck_assert_msg(strstr(st.msg, "lost connection"), "%s", st.msg);
    td__conn_close(c);
}
END_TEST

START_TEST(test_no_daemon)
{
    struct td_status st = TD_STATUS_INIT;
    double t0 = now_s();
    struct td_conn *c = td__conn_open("unix:/nonexistent/tensord.sock", "x", 300, &st);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(st.code, TD_CODE_UNAVAILABLE);
    ck_assert_msg(strstr(st.msg, "no tensord daemon answers at unix:/nonexistent"), "%s", st.msg);
    ck_assert_double_lt(now_s() - t0, 5.0);
    struct td_stats s;
    td_status_clear(&st);
    ck_assert_int_eq(td__conn_stats("unix:/nonexistent/tensord.sock", &s, &st), TD_CODE_UNAVAILABLE);
}
END_TEST

START_TEST(test_version_flag)
{
    char cmd[600], line[200] = "";
    snprintf(cmd, sizeof cmd, "'%s' --version", getenv("TENSORD_BIN"));
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, p));
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_msg(strncmp(line, "tensord ", 8) == 0, "got '%s'", line);
}
END_TEST

static Suite *rpc_suite(void)
{
    Suite *s = suite_create("rpc");
    TCase *tc = tcase_create("session");
    tcase_add_checked_fixture(tc, daemon_start, daemon_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_attach_and_sync);
    tcase_add_test(tc, test_bad_records_keep_session);
    tcase_add_test(tc, test_other_sessions_handles_unknown);
    tcase_add_test(tc, test_big_message);
    tcase_add_test(tc, test_stream_many);
    suite_add_tcase(s, tc);

    tc = tcase_create("stats");
    tcase_add_checked_fixture(tc, daemon_start, daemon_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_stats_counts_sessions);
    tcase_add_test(tc, test_concurrent_connections);
    tcase_add_loop_test(tc, test_client_vanishes, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("robustness");
    tcase_add_checked_fixture(tc, daemon_start, daemon_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_garbage);
    tcase_add_test(tc, test_sigterm_exits_zero);
    tcase_add_test(tc, test_daemon_killed);
    suite_add_tcase(s, tc);

    tc = tcase_create("cli");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_no_daemon);
    tcase_add_test(tc, test_version_flag);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rpc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
