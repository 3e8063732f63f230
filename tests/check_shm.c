/*
 * check_shm.c — the shared-memory transport end to end: a real tensord (TENSORD_BIN) on a
 * private unix socket, its side socket, and libtensord's rings (client_c/shm.c), plus a
 * hostile client that breaks the rings' indices, writes malformed frames and says bad
 * hellos.  What must hold: the bad session ends with an error naming what it did, the
 * daemon and every other session go on, and nothing leaks (the daemon's clean exit under
 * LSan, its descriptor count).
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "../client_c/conn.h"
#include "../client_c/tensord.h"
#include "../kernels/dtype.h"
#include "../kernels/op.h"
#include "../proto/td_record.h"
#include "../proto/td_ring.h"
#include "../proto/td_stats.h"

#include "check_daemon.h"

static struct td_conn *open_conn(void)
{
    struct td_status st = TD_STATUS_INIT;
    struct td_conn *c = td__conn_open(target, "check_shm", 20000, &st);
    ck_assert_msg(c != NULL, "td__conn_open: %s", st.msg);
    return c;
}

static struct td_stats get_stats(void)
{
    struct td_stats s;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_msg(td__conn_stats(target, &s, &st) == TD_CODE_OK, "stats: %s", st.msg);
    return s;
}

static void wait_sessions(uint64_t want)
{
    double t0 = now_s();
    while (get_stats().sessions != want) {
        ck_assert_msg(now_s() - t0 < 10, "sessions did not drop to %llu", (unsigned long long)want);
        usleep(20000);
    }
}

/* One message and its answer. */
static enum td_code exchange(struct td_conn *c, const void *rec, size_t n, const void *payload, size_t plen,
                             struct td_conn_reply *rep, struct td_status *st)
{
    uint64_t seq;
    enum td_code rc = td__conn_send(c, rec, n, payload, plen, true, &seq, st);
    while (!rc) {
        bool got;
        if ((rc = td__conn_recv(c, true, rep, &got, st)) != TD_CODE_OK || rep->seq == seq)
            break;
        td__conn_reply_fini(rep);
    }
    return rc;
}

static uint64_t *rec_put(uint64_t *w, enum td_op op, int n_out, int n_in, const uint64_t *handles, int n_attr,
                         const int64_t *attrs)
{
    struct td_rec_hdr h = {.words = (uint16_t)(1 + n_out + n_in + n_attr), .op = (uint16_t)op,
                           .n_out = (uint8_t)n_out, .n_in = (uint8_t)n_in, .n_attr = (uint8_t)n_attr};
    memcpy(w, &h, sizeof h);
    memcpy(w + 1, handles, (size_t)(n_out + n_in) * 8);
    if (n_attr)
        memcpy(w + 1 + n_out + n_in, attrs, (size_t)n_attr * 8);
    return w + h.words;
}

/* UPLOAD len bytes into a fresh tensor and READ them back in one message: with len
 * larger than both rings, the message and its answer stream through in pieces. */
static void roundtrip(struct td_conn *c, size_t len)
{
    uint8_t *data = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 12));
    uint64_t rec[256], *w = rec, h = 7;
    const size_t chunk = 1 << 20;
    w = rec_put(w, TD_OP_EMPTY, 1, 0, &h, 3, (int64_t[]){TD_DTYPE_UINT8, 1, (int64_t)len});
    for (size_t off = 0; off < len; off += chunk) {
        int64_t n = (int64_t)(len - off < chunk ? len - off : chunk);
        w = rec_put(w, TD_OP_UPLOAD, 0, 1, &h, 3, (int64_t[]){(int64_t)off, n, (int64_t)off});
    }
    for (size_t off = 0; off < len; off += chunk) {
        int64_t n = (int64_t)(len - off < chunk ? len - off : chunk);
        w = rec_put(w, TD_OP_READ, 0, 1, &h, 2, (int64_t[]){(int64_t)off, n});
    }
    w = rec_put(w, TD_OP_RELEASE, 0, 1, &h, 0, NULL);
    struct td_conn_reply rep;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_msg(exchange(c, rec, (size_t)(w - rec) * 8, data, len, &rep, &st) == TD_CODE_OK, "%s", st.msg);
    ck_assert_msg(rep.code == TD_CODE_OK && rep.n_errors == 0, "%s", rep.n_errors ? rep.errors[0].msg : rep.message);
    ck_assert_uint_eq(rep.payload_len, len);
    ck_assert_msg(memcmp(rep.payload, data, len) == 0, "READ bytes differ from the UPLOAD");
    td__conn_reply_fini(&rep);
    free(data);
}

static struct td_ring_hdr *ring_of(struct td_conn *c)
{
    size_t bytes;
    struct td_ring_hdr *h = td__conn_shm_map(c, &bytes);
    ck_assert_msg(h != NULL, "the session is not on the rings");
    ck_assert(td_ring_geometry_ok(h, bytes));
    return h;
}

/* After a hostile act: this session is over with an error that says so, and the daemon
 * still serves others. */
static void expect_ended(struct td_conn *c, const char *why, uint64_t others)
{
    struct td_conn_reply rep;
    struct td_status st = TD_STATUS_INIT;
    enum td_code rc = exchange(c, NULL, 0, NULL, 0, &rep, &st);
    ck_assert_msg(rc != TD_CODE_OK, "the session went on");
    ck_assert_msg(strstr(st.msg, why), "error '%s' does not say '%s'", st.msg, why);
    td__conn_close(c);
    wait_sessions(others);
    struct td_conn *d = open_conn();
    roundtrip(d, 4096);
    td__conn_close(d);
    ck_assert_uint_ge(get_stats().bad_messages, 1);
}

/* The daemon's open descriptors, as "fd->target" lines into buf; returns the count. */
static int daemon_fds(char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)daemon_pid);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    size_t used = 0;
    buf[0] = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char link[400], target[200];
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t t = readlink(link, target, sizeof target - 1);
        target[t > 0 ? t : 0] = 0;
        if (used < len)
            used += (size_t)snprintf(buf + used, len - used, "%s->%s ", e->d_name, target);
        n++;
    }
    closedir(d);
    return n;
}

START_TEST(test_local_client_uses_rings)
{
    struct td_conn *c = open_conn();
    ck_assert_str_eq(td__conn_transport(c), "shm");
    roundtrip(c, 1000);
    roundtrip(c, 9 << 20); /* 9 MiB: bigger than the submission (2 MiB) and completion (1 MiB) rings */
    td__conn_close(c);
    wait_sessions(0);
    struct td_stats s = get_stats();
    ck_assert_uint_eq(s.bytes_in_use, 0);
}
END_TEST

START_TEST(test_grpc_when_asked)
{
    setenv("TENSORD_TRANSPORT", "grpc", 1);
    struct td_conn *c = open_conn();
    ck_assert_str_eq(td__conn_transport(c), "grpc");
    roundtrip(c, 3 << 20);
    td__conn_close(c);
    unsetenv("TENSORD_TRANSPORT");
}
END_TEST

START_TEST(test_bad_tail_ends_session)
{
    struct td_conn *c = open_conn(), *other = open_conn();
    struct td_ring_hdr *h = ring_of(c);
    atomic_store(&h->sq.tail, atomic_load(&h->sq.head) + h->sq_size + 4096); /* more than the ring holds */
    atomic_fetch_add(&h->sq.data_seq, 1);
    syscall(SYS_futex, &h->sq.data_seq, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0);
    roundtrip(other, 2 << 20); /* others go on meanwhile */
    expect_ended(c, "submission ring's tail is out of range", 1);
    td__conn_close(other);
}
END_TEST

START_TEST(test_bad_head_ends_session)
{
    struct td_conn *c = open_conn();
    struct td_ring_hdr *h = ring_of(c);
    atomic_store(&h->cq.head, (uint64_t)1 << 62); /* consumed more than was ever written */
    expect_ended(c, "completion ring's head is out of range", 0);
}
END_TEST

START_TEST(test_malformed_frame_ends_session)
{
    struct td_conn *c = open_conn();
    struct td_ring_hdr *h = ring_of(c);
    struct td_ring sq = {.ctl = &h->sq, .data = (uint8_t *)h + h->sq_off, .size = h->sq_size,
                         .pos = atomic_load(&h->sq.tail)};
    struct td_ring_msg m = {.flags = TD_RING_SYNC, .seq = 1, .records_len = (uint64_t)1 << 40};
    ck_assert_int_eq(td_ring_put(&sq, &m, sizeof m), (int64_t)sizeof m);
    td_ring_publish(&sq);
    wait_sessions(0); /* the daemon ends it without waiting for the client */
    td__conn_close(c);
    struct td_conn *d = open_conn();
    roundtrip(d, 4096);
    td__conn_close(d);
    ck_assert_uint_ge(get_stats().bad_messages, 1);
}
END_TEST

START_TEST(test_garbage_records_keep_session)
{
    /* well-framed garbage is the executor's business: errors, and the session goes on */
    struct td_conn *c = open_conn();
    uint64_t junk[64];
    for (int i = 0; i < 64; i++)
        junk[i] = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
    struct td_conn_reply rep;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(exchange(c, junk, sizeof junk, NULL, 0, &rep, &st), TD_CODE_OK);
    ck_assert_msg(rep.code != TD_CODE_OK || rep.n_errors > 0, "garbage records were accepted");
    td__conn_reply_fini(&rep);
    roundtrip(c, 4096);
    td__conn_close(c);
}
END_TEST

/* ---- the side socket's handshake, as a hostile peer says it */

static int side_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    ck_assert_uint_lt(strlen(sock_path) + 5, sizeof sa.sun_path);
    memcpy(sa.sun_path, sock_path, strlen(sock_path));
    memcpy(sa.sun_path + strlen(sock_path), ".shm", 5);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* Sends bytes (with fd_pass >= 0, that descriptor too) and returns the answer's code;
 * a ring fd in the answer is a failure unless want_ring. */
static int32_t side_say(const void *hello, size_t len, int fd_pass, char *msg, size_t msg_len)
{
    int fd = side_connect();
    struct iovec iov = {.iov_base = (void *)hello, .iov_len = len};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd_pass >= 0) {
        m.msg_control = ctl.buf;
        m.msg_controllen = sizeof ctl.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd_pass, sizeof fd_pass);
    }
    if (len)
        ck_assert_int_eq(sendmsg(fd, &m, 0), (ssize_t)len);
    struct td_shm_welcome w;
    memset(&w, 0, sizeof w);
    struct msghdr r = {.msg_iov = &(struct iovec){.iov_base = &w, .iov_len = sizeof w}, .msg_iovlen = 1,
                       .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t n = recvmsg(fd, &r, 0);
    close(fd);
    ck_assert_int_eq(n, (ssize_t)sizeof w);
    ck_assert_msg(r.msg_controllen == 0 || w.code == 0, "a refusal carried a descriptor");
    snprintf(msg, msg_len, "%s", w.message);
    return w.code;
}

START_TEST(test_handshake_refusals)
{
    struct td_conn *c = open_conn();
    char before[4096], after[4096];
    int fds_before = daemon_fds(before, sizeof before);
    char msg[200];
    struct td_shm_hello h = {.magic = TD_SHM_HELLO_MAGIC, .version = TD_RING_VERSION,
                             .session_id = td__conn_session_id(c)};
    memset(h.secret, 0x5a, sizeof h.secret);
    ck_assert_int_eq(side_say(&h, sizeof h, -1, msg, sizeof msg), TD_CODE_PERMISSION_DENIED);
    ck_assert_msg(strstr(msg, "wrong secret"), "%s", msg);

    h.session_id = 987654321;
    ck_assert_int_eq(side_say(&h, sizeof h, -1, msg, sizeof msg), TD_CODE_NOT_FOUND);

    ck_assert_int_eq(side_say("hello", 5, -1, msg, sizeof msg), TD_CODE_INVALID_ARGUMENT);
    ck_assert_msg(strstr(msg, "malformed hello"), "%s", msg);

    /* a descriptor pushed at the daemon is dropped by the kernel, never kept */
    h.session_id = td__conn_session_id(c);
    int pushed = open("/dev/null", O_RDONLY);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(side_say(&h, sizeof h, pushed, msg, sizeof msg), TD_CODE_PERMISSION_DENIED);
    close(pushed);

    /* silence: refused after the handshake timeout, the thread free again */
    ck_assert_int_eq(side_say(NULL, 0, -1, msg, sizeof msg), TD_CODE_INVALID_ARGUMENT);
    int fds_after; /* the daemon closes a refused connection just after answering it */
    for (int i = 0; (fds_after = daemon_fds(after, sizeof after)) != fds_before && i < 100; i++)
        usleep(10000);
    ck_assert_msg(fds_after == fds_before, "descriptors before: %s\nafter: %s", before, after);

    roundtrip(c, 4096); /* the real client is untouched */
    td__conn_close(c);
}
END_TEST

/* LOCATE of a fresh tensor holding len bytes of a pattern: its arena and offset. */
static void locate(struct td_conn *c, uint64_t h, const uint8_t *data, size_t len, uint64_t loc[3])
{
    uint64_t rec[32], *w = rec;
    w = rec_put(w, TD_OP_EMPTY, 1, 0, &h, 3, (int64_t[]){TD_DTYPE_UINT8, 1, (int64_t)len});
    w = rec_put(w, TD_OP_UPLOAD, 0, 1, &h, 3, (int64_t[]){0, (int64_t)len, 0});
    w = rec_put(w, TD_OP_LOCATE, 0, 1, &h, 0, NULL);
    struct td_conn_reply rep;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_msg(exchange(c, rec, (size_t)(w - rec) * 8, data, len, &rep, &st) == TD_CODE_OK, "%s", st.msg);
    ck_assert_msg(rep.n_errors == 0, "%s", rep.n_errors ? rep.errors[0].msg : "");
    ck_assert_uint_eq(rep.payload_len, 24);
    memcpy(loc, rep.payload, 24);
    td__conn_reply_fini(&rep);
}

START_TEST(test_arena_mapped_both_ways)
{
    struct td_conn *c = open_conn();
    uint8_t data[5000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    uint64_t loc[3];
    locate(c, 5, data, sizeof data, loc);
    ck_assert_uint_ne(loc[0], 0);
    ck_assert_uint_eq(loc[2], sizeof data);
    uint8_t *base;
    size_t size;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_msg(td__conn_map_arena(c, loc[0], &base, &size, &st) == TD_CODE_OK, "%s", st.msg);
    ck_assert_uint_le(loc[1] + loc[2], size);
    ck_assert_msg(memcmp(base + loc[1], data, sizeof data) == 0, "the mapping shows other bytes");
    memset(base + loc[1] + 100, 0xab, 10); /* written here, read back by the daemon */
    uint64_t h = 5, rec[8], *w = rec;
    w = rec_put(w, TD_OP_READ, 0, 1, &h, 2, (int64_t[]){100, 10});
    struct td_conn_reply rep;
    ck_assert_int_eq(exchange(c, rec, (size_t)(w - rec) * 8, NULL, 0, &rep, &st), TD_CODE_OK);
    ck_assert_uint_eq(rep.payload_len, 10);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(rep.payload[i], 0xab);
    td__conn_reply_fini(&rep);
    td__conn_close(c);
}
END_TEST

START_TEST(test_arena_refusals)
{
    struct td_conn *c = open_conn();
    uint8_t data[64] = {1, 2, 3};
    uint64_t loc[3];
    locate(c, 9, data, sizeof data, loc);
    char msg[200];
    struct td_shm_hello h = {.magic = TD_SHM_HELLO_MAGIC, .version = TD_RING_VERSION, .kind = TD_SHM_ARENA,
                             .session_id = td__conn_session_id(c), .arena = loc[0] + 1000};
    memset(h.secret, 0x11, sizeof h.secret);
    ck_assert_int_eq(side_say(&h, sizeof h, -1, msg, sizeof msg), TD_CODE_PERMISSION_DENIED);
    /* the right secret is only in the client: ask through it for an arena that is not there */
    uint8_t *base;
    size_t size;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(td__conn_map_arena(c, loc[0] + 1000, &base, &size, &st), TD_CODE_NOT_FOUND);
    ck_assert_msg(strstr(st.msg, "no arena"), "%s", st.msg);
    h.kind = 7;
    ck_assert_int_eq(side_say(&h, sizeof h, -1, msg, sizeof msg), TD_CODE_INVALID_ARGUMENT);
    /* another uid may not map this session's arenas, even holding its id and secret */
    if (geteuid() == 0) {
        char side[200];
        snprintf(side, sizeof side, "%s.shm", sock_path);
        ck_assert_int_eq(chmod(dir_path, 0755), 0);
        ck_assert_int_eq(chmod(side, 0777), 0);
        h.kind = TD_SHM_ARENA;
        h.arena = loc[0];
        memcpy(h.secret, td__conn_shm_secret(c), sizeof h.secret);
        int p[2];
        ck_assert_int_eq(pipe(p), 0);
        pid_t pid = fork();
        if (pid == 0) { /* no Check asserts here: report the code through the pipe */
            int32_t code = -1;
            struct sockaddr_un sa = {.sun_family = AF_UNIX};
            memcpy(sa.sun_path, side, strlen(side) + 1);
            int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
            struct td_shm_welcome w;
            if (setgid(65534) == 0 && setuid(65534) == 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
                send(fd, &h, sizeof h, 0) == (ssize_t)sizeof h && recv(fd, &w, sizeof w, 0) == (ssize_t)sizeof w)
                code = w.code;
            (void)!write(p[1], &code, sizeof code);
            _exit(0);
        }
        int32_t code = -2;
        ck_assert_int_eq(read(p[0], &code, sizeof code), (ssize_t)sizeof code);
        waitpid(pid, NULL, 0);
        ck_assert_int_eq(code, TD_CODE_FAILED_PRECONDITION);
    }
    td__conn_close(c);
}
END_TEST

START_TEST(test_daemon_killed_while_waiting)
{
    struct td_conn *c = open_conn();
    struct td_ring_hdr *h = ring_of(c);
    kill(daemon_pid, SIGKILL);
    ck_assert_int_ne(daemon_wait(30), -1);
    uint64_t tail = atomic_load(&h->sq.tail); /* the mapping outlives the daemon: no SIGBUS */
    (void)tail;
    struct td_conn_reply rep;
    struct td_status st = TD_STATUS_INIT;
    double t0 = now_s();
    ck_assert_int_eq(exchange(c, NULL, 0, NULL, 0, &rep, &st), TD_CODE_UNAVAILABLE);
    ck_assert_msg(strstr(st.msg, "lost connection"), "%s", st.msg);
    ck_assert_double_lt(now_s() - t0, 5.0);
    td__conn_close(c);
}
END_TEST

/* The daemon restarted on the same socket (what a supervisor does), as daemon_start. */
static void daemon_restart_same_address(void)
{
    unlink(sock_path);
    char side[160];
    snprintf(side, sizeof side, "%s.shm", sock_path);
    unlink(side);
    const char *bin = getenv("TENSORD_BIN");
    daemon_pid = fork();
    ck_assert_int_ge(daemon_pid, 0);
    if (daemon_pid == 0) {
        const char *argv[] = {bin, "--listen", target, "--log-level", "warn", "--threads", "1", NULL};
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    struct stat sb;
    double t0 = now_s();
    while (stat(side, &sb) != 0) {
        ck_assert_msg(now_s() - t0 < 30, "tensord did not bind %s", side);
        usleep(10000);
    }
}

/* td_client_reconnect after the daemon was SIGKILLed and restarted on the same socket:
 * the old client is lost (UNAVAILABLE, td_client_lost), reconnecting with no daemon fails
 * and can be retried, then the new session computes, on the rings again, with the old
 * client's default float dtype; the old client frees at once. */
START_TEST(test_reconnect_after_restart)
{
    struct td_status st = TD_STATUS_INIT;
    td_client_t *c = td_client_connect(target, 20000, &st);
    ck_assert_msg(c, "%s", st.msg);
    ck_assert_int_eq(td_client_set_default_float(c, TD_DTYPE_FLOAT64, &st), TD_CODE_OK);
    struct td_t t;
    int64_t n4[1] = {4};
    ck_assert_int_eq(td_full(c, TD_DTYPE_FLOAT32, 1, n4, 1.0, &t, &st), TD_CODE_OK);
    ck_assert_int_eq(td_sync(c, &st), TD_CODE_OK);
    ck_assert(!td_client_lost(c));
    kill(daemon_pid, SIGKILL);
    ck_assert_int_ne(daemon_wait(30), -1);
    ck_assert_int_eq(td_sync(c, &st), TD_CODE_UNAVAILABLE);
    ck_assert(td_client_lost(c));
    td_status_clear(&st);
    ck_assert_ptr_null(td_client_reconnect(c, NULL, 300, &st)); /* nobody there yet */
    ck_assert_int_eq(st.code, TD_CODE_UNAVAILABLE);
    td_status_clear(&st);

    daemon_restart_same_address();
    td_client_t *n = td_client_reconnect(c, NULL, 20000, &st);
    ck_assert_msg(n, "%s", st.msg);
    ck_assert(!td_client_lost(n));
    ck_assert_str_eq(td_client_transport(n), "shm");
    double t0 = now_s();
    td_client_free(c);
    ck_assert_double_lt(now_s() - t0, 5.0);
    /* int64 / 2 gives the default float: float64 carried over */
    int64_t src[4] = {1, 2, 3, 5};
    struct td_t a, q;
    ck_assert_int_eq(td_from_data(n, TD_DTYPE_INT64, 1, n4, src, &a, &st), TD_CODE_OK);
    ck_assert_int_eq(td_binary_scalar(n, TD_OP_DIV, &a, 2.0, &q, &st), TD_CODE_OK);
    ck_assert_int_eq(q.m.dtype, TD_DTYPE_FLOAT64);
    double got[4];
    ck_assert_int_eq(td_download(n, &q, got, sizeof got, &st), TD_CODE_OK);
    ck_assert(got[0] == 0.5 && got[1] == 1.0 && got[2] == 1.5 && got[3] == 2.5);
    td_release(n, &a);
    td_release(n, &q);
    td_client_free(n);
}
END_TEST

static Suite *shm_suite(void)
{
    Suite *s = suite_create("shm");
    TCase *t = tcase_create("rings");
    tcase_add_checked_fixture(t, daemon_start, daemon_stop);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_local_client_uses_rings);
    tcase_add_test(t, test_grpc_when_asked);
    tcase_add_test(t, test_garbage_records_keep_session);
    tcase_add_test(t, test_daemon_killed_while_waiting);
    tcase_add_test(t, test_reconnect_after_restart);
    tcase_add_test(t, test_arena_mapped_both_ways);
    suite_add_tcase(s, t);
    TCase *h = tcase_create("hostile");
    tcase_add_checked_fixture(h, daemon_start, daemon_stop);
    tcase_set_timeout(h, 60);
    tcase_add_test(h, test_bad_tail_ends_session);
    tcase_add_test(h, test_bad_head_ends_session);
    tcase_add_test(h, test_malformed_frame_ends_session);
    tcase_add_test(h, test_handshake_refusals);
    tcase_add_test(h, test_arena_refusals);
    suite_add_tcase(s, h);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(shm_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
