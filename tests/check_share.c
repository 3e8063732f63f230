/*
 * check_share.c — capability tokens between sessions (daemon/share.c and the SHARE,
 * OPEN, REVOKE, FORK_GRANT records of daemon/session.c), driven without RPC: open in
 * another session, one-shot and multi-use tokens, revocation by the owner only, tokens
 * dying with their owner, pinned tokens lingering then expiring, views checked against
 * the storage, fork grants resolving the owner's handles (freed, ended), and a grant
 * read racing the owner's table writes; reserved tokens (SHARE_RESERVE, SHARE_INTO): an
 * OPEN waits for the fill, gets the fill's failure, or learns that the producer ended.
 * Every storage is gone at the end (counters).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../daemon/alloc.h"
#include "../daemon/session.h"
#include "../daemon/share.h"
#include "../kernels/meta.h"

struct batch {
    uint64_t w[4096];
    size_t n;
    uint8_t payload[4096];
    size_t np;
};

static void rec(struct batch *b, unsigned op, int n_out, const uint64_t *outs, int n_in, const uint64_t *ins,
                int n_attr, const int64_t *attrs)
{
    struct td_rec_hdr h = {(uint16_t)(1 + n_out + n_in + n_attr), (uint16_t)op, (uint8_t)n_out, (uint8_t)n_in,
                           (uint8_t)n_attr, 0};
    memcpy(&b->w[b->n++], &h, 8);
    for (int i = 0; i < n_out; i++)
        b->w[b->n++] = outs[i];
    for (int i = 0; i < n_in; i++)
        b->w[b->n++] = ins[i];
    for (int i = 0; i < n_attr; i++)
        b->w[b->n++] = (uint64_t)attrs[i];
}

static enum td_code run(struct td_session *s, struct batch *b, struct td_reply *r)
{
    td_reply_init(r);
    td_session_exec(s, (const uint8_t *)b->w, b->n * 8, b->payload, b->np, 1, r);
    b->n = b->np = 0;
    return r->n_errors ? r->errors[0].code : r->code;
}

/* A float32 tensor of n values v, v+1, ... on handle h. */
static void make(struct td_session *s, uint64_t h, int n, float v)
{
    struct batch b = {.n = 0};
    int64_t e[3] = {TD_DTYPE_FLOAT32, 1, n};
    rec(&b, TD_OP_EMPTY, 1, &h, 0, NULL, 3, e);
    for (int i = 0; i < n; i++) {
        float x = v + (float)i;
        memcpy(b.payload + b.np, &x, 4);
        b.np += 4;
    }
    int64_t up[3] = {0, 4 * n, 0};
    rec(&b, TD_OP_UPLOAD, 0, NULL, 1, &h, 3, up);
    struct td_reply r;
    ck_assert_int_eq(run(s, &b, &r), TD_CODE_OK);
    td_reply_fini(&r);
}

/* SHARE (or FORK_GRANT with h 0): the token, or code on failure. */
static enum td_code share(struct td_session *s, uint64_t h, int64_t mode, struct td_token *tok)
{
    struct batch b = {.n = 0};
    if (h)
        rec(&b, TD_OP_SHARE, 0, NULL, 1, &h, 1, &mode);
    else
        rec(&b, TD_OP_FORK_GRANT, 0, NULL, 0, NULL, 0, NULL);
    struct td_reply r;
    enum td_code c = run(s, &b, &r);
    ck_assert_uint_eq(r.payload_len, 16);
    memcpy(tok, r.payload, 16);
    td_reply_fini(&r);
    return c;
}

/* OPEN tok (+ handle) as a float32 view of n elements at offset off on a storage of
 * nbytes, into out; then READ it (when it opened) into vals. */
static enum td_code open_read(struct td_session *s, struct td_token tok, uint64_t handle, uint64_t out, int n,
                              int64_t off, int64_t nbytes, float *vals, char *msg)
{
    struct batch b = {.n = 0};
    int64_t a[10] = {(int64_t)tok.w[0], (int64_t)tok.w[1], (int64_t)handle, TD_DTYPE_FLOAT32, nbytes, 1, off, n, 1};
    rec(&b, TD_OP_OPEN, 1, &out, 0, NULL, 9, a);
    struct td_reply r;
    enum td_code c = run(s, &b, &r);
    if (msg)
        snprintf(msg, 512, "%s", r.n_errors ? r.errors[0].msg : "");
    td_reply_fini(&r);
    if (c)
        return c;
    int64_t rd[2] = {0, 4 * n};
    rec(&b, TD_OP_READ, 0, NULL, 1, &out, 2, rd);
    c = run(s, &b, &r);
    if (!c)
        memcpy(vals, r.payload, 4 * (size_t)n);
    else if (msg) /* an OPEN whose failure is raised where the tensor is used (reserved tokens) */
        snprintf(msg, 512, "%s", r.n_errors ? r.errors[0].msg : "");
    td_reply_fini(&r);
    return c;
}

static void release(struct td_session *s, uint64_t h)
{
    struct batch b = {.n = 0};
    rec(&b, TD_OP_RELEASE, 0, NULL, 1, &h, 0, NULL);
    struct td_reply r;
    run(s, &b, &r);
    td_reply_fini(&r);
}

static uint64_t storages(void)
{
    uint64_t in_use, peak, n;
    td_alloc_counters(&in_use, &peak, &n);
    return n;
}

START_TEST(test_open_one_shot_and_multi_use)
{
    uint64_t base = storages();
    struct td_session *a = td_session_new(101, "a"), *b = td_session_new(102, "b");
    make(a, 1, 8, 10);
    struct td_token t1, t2;
    ck_assert_int_eq(share(a, 1, TD_SHARE_ONE_SHOT, &t1), TD_CODE_OK);
    ck_assert(t1.w[0] || t1.w[1]);
    float v[8];
    char msg[512];
    ck_assert_int_eq(open_read(b, t1, 0, 7, 8, 0, 32, v, msg), TD_CODE_OK);
    ck_assert(v[0] == 10 && v[7] == 17);
    /* a view: elements 2..5 */
    ck_assert_int_eq(share(a, 1, 0, &t2), TD_CODE_OK);
    ck_assert_int_eq(open_read(b, t2, 0, 8, 4, 2, 32, v, msg), TD_CODE_OK);
    ck_assert(v[0] == 12 && v[3] == 15);
    ck_assert_int_eq(open_read(b, t2, 0, 9, 8, 0, 32, v, msg), TD_CODE_OK); /* multi-use: again */
    /* one-shot: gone once opened */
    ck_assert_int_eq(open_read(b, t1, 0, 10, 8, 0, 32, v, msg), TD_CODE_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(msg, "unknown shared-tensor token"));
    /* a guessed token */
    struct td_token g = {{t2.w[0] ^ 1, t2.w[1]}};
    ck_assert_int_eq(open_read(b, g, 0, 11, 8, 0, 32, v, msg), TD_CODE_NOT_FOUND);
    /* views outside the storage: a claimed size beyond the real one, an offset past it */
    ck_assert_int_eq(open_read(b, t2, 0, 12, 8, 0, 64, v, msg), TD_CODE_INVALID_ARGUMENT);
    ck_assert_int_eq(open_read(b, t2, 0, 13, 8, 4, 32, v, msg), TD_CODE_INVALID_ARGUMENT);
    /* only the owner revokes */
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(td_share_revoke(102, t2, &st), TD_CODE_NOT_FOUND);
    ck_assert_int_eq(td_share_revoke(101, t2, &st), TD_CODE_OK);
    ck_assert_int_eq(open_read(b, t2, 0, 14, 8, 0, 32, v, msg), TD_CODE_NOT_FOUND);
    /* the owner goes: b's handles keep the storage alive */
    release(a, 1);
    td_session_free(a);
    ck_assert_int_eq(open_read(b, g, 0, 15, 1, 0, 32, v, msg), TD_CODE_NOT_FOUND);
    int64_t rd[2] = {0, 32};
    struct batch bb = {.n = 0};
    uint64_t h7 = 7;
    rec(&bb, TD_OP_READ, 0, NULL, 1, &h7, 2, rd);
    struct td_reply r;
    ck_assert_int_eq(run(b, &bb, &r), TD_CODE_OK);
    ck_assert(((float *)r.payload)[1] == 11);
    td_reply_fini(&r);
    td_session_free(b);
    ck_assert_uint_eq(storages(), base);
    ck_assert_uint_eq(td_share_count(), 0);
}
END_TEST

START_TEST(test_tokens_die_with_owner_pinned_linger)
{
    uint64_t base = storages();
    td_share_set_linger(0.2);
    struct td_session *a = td_session_new(201, "a"), *b = td_session_new(202, "b");
    make(a, 1, 4, 1);
    struct td_token plain, pinned, pinned2;
    ck_assert_int_eq(share(a, 1, TD_SHARE_ONE_SHOT, &plain), TD_CODE_OK);
    ck_assert_int_eq(share(a, 1, TD_SHARE_ONE_SHOT | TD_SHARE_PINNED, &pinned), TD_CODE_OK);
    ck_assert_int_eq(share(a, 1, TD_SHARE_ONE_SHOT | TD_SHARE_PINNED, &pinned2), TD_CODE_OK);
    ck_assert_uint_eq(td_share_count(), 3);
    td_session_free(a); /* its handle goes; the pinned tokens hold the storage */
    ck_assert_uint_eq(td_share_count(), 2);
    ck_assert_uint_eq(storages(), base + 1);
    float v[4];
    char msg[512];
    ck_assert_int_eq(open_read(b, plain, 0, 5, 4, 0, 16, v, msg), TD_CODE_NOT_FOUND);
    ck_assert_int_eq(open_read(b, pinned, 0, 6, 4, 0, 16, v, msg), TD_CODE_OK);
    ck_assert(v[3] == 4);
    release(b, 6);
    struct timespec ts = {0, 300 * 1000000};
    nanosleep(&ts, NULL);
    ck_assert_uint_eq(td_share_count(), 0); /* pinned2 expired unopened */
    ck_assert_uint_eq(storages(), base);
    td_session_free(b);
    td_share_set_linger(30);
}
END_TEST

START_TEST(test_fork_grant)
{
    uint64_t base = storages();
    struct td_session *a = td_session_new(301, "parent"), *b = td_session_new(302, "child");
    make(a, 5, 6, 100);
    make(a, 6, 2, 0);
    struct td_token g, g2;
    ck_assert_int_eq(share(a, 0, 0, &g), TD_CODE_OK);
    ck_assert_int_eq(share(a, 0, 0, &g2), TD_CODE_OK);
    ck_assert(!memcmp(&g, &g2, sizeof g)); /* one grant per session */
    float v[6];
    char msg[512];
    ck_assert_int_eq(open_read(b, g, 5, 1, 6, 0, 24, v, msg), TD_CODE_OK);
    ck_assert(v[5] == 105);
    ck_assert_int_eq(open_read(b, g, 5, 2, 3, 3, 24, v, msg), TD_CODE_OK);
    ck_assert(v[0] == 103);
    /* a grant opens handles only (handle 0 wants a storage token), and vice versa */
    ck_assert_int_eq(open_read(b, g, 0, 3, 6, 0, 24, v, msg), TD_CODE_NOT_FOUND);
    release(a, 6);
    ck_assert_int_eq(open_read(b, g, 6, 4, 2, 0, 8, v, msg), TD_CODE_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(msg, "parent process has freed it"));
    ck_assert_int_eq(open_read(b, g, 5, 7, 6, 0, 48, v, msg), TD_CODE_INVALID_ARGUMENT);
    td_session_free(a);
    ck_assert_int_eq(open_read(b, g, 5, 8, 6, 0, 24, v, msg), TD_CODE_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(msg, "session has ended"));
    td_session_free(b); /* the last holder of handle 5's storage */
    ck_assert_uint_eq(storages(), base);
}
END_TEST

/* The owner inserts and deletes handles (its table grows and shifts) while another
 * session opens one of them through the grant, over and over. */
struct race {
    struct td_session *owner;
    struct td_token grant;
    volatile int stop;
};

static void *opener(void *p)
{
    struct race *rc = p;
    struct td_session *b = td_session_new(402, "opener");
    float v[4];
    for (uint64_t i = 0; !rc->stop; i++) {
        ck_assert_int_eq(open_read(b, rc->grant, 1, 1000 + i, 4, 0, 16, v, NULL), TD_CODE_OK);
        ck_assert(v[2] == 3);
        release(b, 1000 + i);
    }
    td_session_free(b);
    return NULL;
}

START_TEST(test_grant_reads_race_owner_writes)
{
    uint64_t base = storages();
    struct race rc = {.owner = td_session_new(401, "owner")};
    make(rc.owner, 1, 4, 1);
    ck_assert_int_eq(share(rc.owner, 0, 0, &rc.grant), TD_CODE_OK);
    pthread_t th;
    pthread_create(&th, NULL, opener, &rc);
    for (int round = 0; round < 20; round++) {
        for (uint64_t h = 2; h < 300; h++)
            make(rc.owner, h, 1, 0);
        for (uint64_t h = 2; h < 300; h++)
            release(rc.owner, h);
    }
    rc.stop = 1;
    pthread_join(th, NULL);
    td_session_free(rc.owner);
    ck_assert_uint_eq(storages(), base);
}
END_TEST

/* SHARE_RESERVE x n: n reserved tokens. */
static void reserve(struct td_session *s, int64_t mode, int n, struct td_token *toks)
{
    struct batch b = {.n = 0};
    for (int i = 0; i < n; i++)
        rec(&b, TD_OP_SHARE_RESERVE, 0, NULL, 0, NULL, 1, &mode);
    struct td_reply r;
    ck_assert_int_eq(run(s, &b, &r), TD_CODE_OK);
    ck_assert_uint_eq(r.payload_len, 16 * (size_t)n);
    memcpy(toks, r.payload, 16 * (size_t)n);
    td_reply_fini(&r);
}

static enum td_code share_into(struct td_session *s, uint64_t h, struct td_token tok)
{
    struct batch b = {.n = 0};
    int64_t a[2] = {(int64_t)tok.w[0], (int64_t)tok.w[1]};
    rec(&b, TD_OP_SHARE_INTO, 0, NULL, 1, &h, 2, a);
    struct td_reply r;
    enum td_code c = run(s, &b, &r);
    ck_assert_uint_eq(r.payload_len, 0); /* no answer: the producer never waits */
    td_reply_fini(&r);
    return c;
}

struct waiter {
    struct td_session *s;
    struct td_token tok;
    uint64_t out;
    enum td_code code;
    float v[4];
    char msg[512];
};

static void *wait_open(void *p)
{
    struct waiter *w = p;
    w->code = open_read(w->s, w->tok, 0, w->out, 4, 0, 16, w->v, w->msg);
    return NULL;
}

START_TEST(test_reserved_tokens)
{
    uint64_t base = storages();
    td_share_set_linger(0.2);
    struct td_session *a = td_session_new(501, "producer"), *b = td_session_new(502, "opener");
    struct td_token t[5];
    reserve(a, TD_SHARE_ONE_SHOT | TD_SHARE_PINNED, 4, t);
    reserve(a, TD_SHARE_ONE_SHOT, 1, t + 4);
    ck_assert_uint_eq(td_share_count(), 5);
    /* an OPEN before the fill waits for it */
    struct waiter w = {.s = b, .tok = t[0], .out = 10};
    pthread_t th;
    pthread_create(&th, NULL, wait_open, &w);
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);
    make(a, 1, 4, 5);
    ck_assert_int_eq(share_into(a, 1, t[0]), TD_CODE_OK);
    pthread_join(th, NULL);
    ck_assert_int_eq(w.code, TD_CODE_OK);
    ck_assert(w.v[0] == 5 && w.v[3] == 8);
    /* filled once; only by the session that reserved it; never opened by it before */
    ck_assert_int_eq(share_into(a, 1, t[0]), TD_CODE_NOT_FOUND);
    ck_assert_int_eq(share_into(b, 10, t[1]), TD_CODE_NOT_FOUND);
    float v[4];
    char msg[512];
    ck_assert_int_eq(open_read(a, t[1], 0, 2, 4, 0, 16, v, msg), TD_CODE_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "reserved that shared-tensor token"));
    /* a fill whose tensor failed: the opener gets that failure */
    ck_assert_int_ne(share_into(a, 77, t[1]), TD_CODE_OK); /* handle 77 does not exist */
    struct batch ob = {.n = 0};
    int64_t oa[9] = {(int64_t)t[1].w[0], (int64_t)t[1].w[1], 0, TD_DTYPE_FLOAT32, 16, 1, 0, 4, 1};
    uint64_t h11 = 11;
    rec(&ob, TD_OP_OPEN, 1, &h11, 0, NULL, 9, oa);
    struct td_reply r;
    ck_assert_int_eq(run(b, &ob, &r), TD_CODE_OK); /* not answered: the tensor holds it... */
    td_reply_fini(&r);
    int64_t rd[2] = {0, 16};
    rec(&ob, TD_OP_READ, 0, NULL, 1, &h11, 2, rd);
    ck_assert_int_ne(run(b, &ob, &r), TD_CODE_OK); /* ...and its use raises it */
    ck_assert_ptr_nonnull(strstr(r.errors[0].msg, "77"));
    td_reply_fini(&r);
    /* the producer ends with t[2] (pinned) awaited and t[3], t[4] unfilled */
    struct waiter w2 = {.s = b, .tok = t[2], .out = 12};
    pthread_create(&th, NULL, wait_open, &w2);
    nanosleep(&ts, NULL);
    release(a, 1);
    td_session_free(a);
    pthread_join(th, NULL);
    ck_assert_int_eq(w2.code, TD_CODE_DATA_LOSS);
    ck_assert_int_eq(open_read(b, t[3], 0, 13, 4, 0, 16, v, msg), TD_CODE_DATA_LOSS); /* told while it lingers */
    ck_assert_int_eq(open_read(b, t[4], 0, 14, 4, 0, 16, v, msg), TD_CODE_NOT_FOUND);  /* not pinned: gone */
    release(b, 10);
    struct timespec linger = {0, 300 * 1000000};
    nanosleep(&linger, NULL);
    ck_assert_uint_eq(td_share_count(), 0);
    ck_assert_uint_eq(storages(), base);
    td_session_free(b);
    td_share_set_linger(30);
}
END_TEST

static Suite *share_suite(void)
{
    Suite *s = suite_create("share");
    TCase *tc = tcase_create("tokens");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_open_one_shot_and_multi_use);
    tcase_add_test(tc, test_tokens_die_with_owner_pinned_linger);
    tcase_add_test(tc, test_fork_grant);
    tcase_add_test(tc, test_grant_reads_race_owner_writes);
    tcase_add_test(tc, test_reserved_tokens);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(share_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    td_share_clear();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
