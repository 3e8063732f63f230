/*
 * check_graph.c — graphs in the daemon (daemon/graph.c, session.c), driven with crafted
 * records: a graph defined and run against the same ops sent one by one; its constants
 * held by reference (in-place updates seen, the client's handle released); records
 * nothing needs dropped and temporaries freed (the handle count returns); every hostile
 * body refused with a clear error and nothing held; runs with wrong counts, sizes or an
 * unknown graph refused; reserved handles closed to clients; a failing record inside a
 * run fails only what depends on it.  Then libtensord's capture against a real daemon
 * (td_graph_*): a capture run again on new inputs, and the captures it refuses.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_client.h"

#include "../daemon/graph.h"
#include "../daemon/session.h"
#include "../kernels/meta.h"
#include "../kernels/op.h"
#include "../kernels/op_attrs.h"
#include "../proto/td_record.h"

struct batch {
    uint64_t w[4096];
    size_t n;
    uint8_t payload[1 << 16];
    size_t np;
};

static void rec_into(uint64_t *w, size_t *n, unsigned op, unsigned flags, int n_out, const uint64_t *outs, int n_in,
                     const uint64_t *ins, int n_attr, const int64_t *attrs)
{
    struct td_rec_hdr h = {(uint16_t)(1 + n_out + n_in + n_attr), (uint16_t)op, (uint8_t)n_out, (uint8_t)n_in,
                           (uint8_t)n_attr, (uint8_t)flags};
    memcpy(&w[(*n)++], &h, 8);
    for (int i = 0; i < n_out; i++)
        w[(*n)++] = outs[i];
    for (int i = 0; i < n_in; i++)
        w[(*n)++] = ins[i];
    for (int i = 0; i < n_attr; i++)
        w[(*n)++] = (uint64_t)attrs[i];
}

static void rec(struct batch *b, unsigned op, unsigned flags, int n_out, const uint64_t *outs, int n_in,
                const uint64_t *ins, int n_attr, const int64_t *attrs)
{
    rec_into(b->w, &b->n, op, flags, n_out, outs, n_in, ins, n_attr, attrs);
}

static void upload_f32(struct batch *b, uint64_t h, const float *v, int n)
{
    int64_t attrs[3] = {0, (int64_t)sizeof(float) * n, (int64_t)b->np};
    memcpy(b->payload + b->np, v, sizeof(float) * n);
    b->np += sizeof(float) * n;
    rec(b, TD_OP_UPLOAD, 0, 0, NULL, 1, &h, 3, attrs);
}

static void tensor_f32(struct batch *b, uint64_t h, const float *v, int n)
{
    int64_t attrs[3] = {TD_DTYPE_FLOAT32, 1, n};
    rec(b, TD_OP_EMPTY, 0, 1, &h, 0, NULL, 3, attrs);
    upload_f32(b, h, v, n);
}

static void binary(uint64_t *w, size_t *n, unsigned op, uint64_t out, uint64_t x, uint64_t y)
{
    uint64_t in[2] = {x, y};
    int64_t scal[2] = {0, 0};
    rec_into(w, n, op, 0, 1, &out, 2, in, 2, scal);
}

/* A contiguous 1-d layout. */
static struct td_meta meta_1d(enum td_dtype dt, int64_t n)
{
    struct td_meta m;
    memset(&m, 0, sizeof m);
    m.dtype = (uint8_t)dt, m.ndim = 1, m.sizes[0] = n, m.strides[0] = 1;
    return m;
}

/* GRAPH_DEFINE: the inputs' layouts in_m and the body (words) in the payload; named: the
 * inputs (for the reader: the record names only the constants), then the constants. */
static void define_m(struct batch *b, uint64_t id, const struct td_meta *in_m, int n_inputs, int n_outputs,
                     int n_consts, const uint64_t *named, int n_named, const uint64_t *body, size_t words)
{
    size_t start = b->np;
    for (int i = 0; i < n_inputs; i++) {
        td_meta_wire_put(&in_m[i], b->payload + b->np);
        b->np += td_meta_wire_size(&in_m[i]);
    }
    memcpy(b->payload + b->np, body, words * 8);
    b->np += words * 8;
    int64_t attrs[TD_N_GRAPH_DEFINE] = {(int64_t)id, n_inputs, n_outputs, n_consts, (int64_t)start,
                                        (int64_t)(b->np - start)};
    rec(b, TD_OP_GRAPH_DEFINE, 0, 0, NULL, n_named - n_inputs, named + n_inputs, TD_N_GRAPH_DEFINE, attrs);
}

/* define_m with every input float32[4]. */
static void define(struct batch *b, uint64_t id, int n_inputs, int n_outputs, int n_consts, const uint64_t *named,
                   int n_named, const uint64_t *body, size_t words)
{
    struct td_meta in_m[4] = {meta_1d(TD_DTYPE_FLOAT32, 4), meta_1d(TD_DTYPE_FLOAT32, 4),
                              meta_1d(TD_DTYPE_FLOAT32, 4), meta_1d(TD_DTYPE_FLOAT32, 4)};
    define_m(b, id, in_m, n_inputs, n_outputs, n_consts, named, n_named, body, words);
}

static void graph_run(struct batch *b, uint64_t id, int n_out, const uint64_t *outs, int n_in, const uint64_t *ins)
{
    int64_t a = (int64_t)id;
    rec(b, TD_OP_GRAPH_RUN, 0, n_out, outs, n_in, ins, 1, &a);
}

static void read_f32(struct batch *b, uint64_t h, int n)
{
    int64_t rd[2] = {0, (int64_t)sizeof(float) * n};
    rec(b, TD_OP_READ, 0, 0, NULL, 1, &h, 2, rd);
}

static enum td_code first_code(const struct td_reply *r) { return r->n_errors ? r->errors[0].code : r->code; }

static void run(struct td_session *s, struct batch *b, struct td_reply *r)
{
    td_reply_init(r);
    td_session_exec(s, (const uint8_t *)b->w, b->n * 8, b->payload, b->np, 1, r);
    b->n = b->np = 0;
}

static uint64_t tensors_now(void)
{
    struct td_stats st;
    td_stats_get(&st);
    return st.tensors;
}

/* body: (x + w) * x, with a dead x * x, for local handles 1 = x (input), 2 = y (output),
 * 3 = w (constant); temporaries 4 (live) and 5 (dead) */
static size_t sample_body(uint64_t *w)
{
    size_t n = 0;
    binary(w, &n, TD_OP_ADD, 4, 1, 3);
    binary(w, &n, TD_OP_MUL, 5, 1, 1);
    binary(w, &n, TD_OP_MUL, 2, 4, 1);
    return n;
}

START_TEST(test_graph_matches_eager_and_sees_constant_updates)
{
    uint64_t base = tensors_now();
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    float x[4] = {1, 2, 3, 4}, w[4] = {10, 20, 30, 40}, x2[4] = {-1, 0.5f, 2, 8};
    tensor_f32(&b, 1, x, 4);
    tensor_f32(&b, 2, w, 4);
    tensor_f32(&b, 3, x2, 4);
    uint64_t body[64];
    size_t nb = sample_body(body);
    uint64_t named[2] = {1, 2}; /* input x, constant w */
    define(&b, 7, 1, 1, 1, named, 2, body, nb);
    uint64_t rel = 2; /* the client lets go of w: the graph holds it */
    rec(&b, TD_OP_RELEASE, 0, 0, NULL, 1, &rel, 0, NULL);
    uint64_t out = 10;
    graph_run(&b, 7, 1, &out, 1, (uint64_t[]){3});
    read_f32(&b, 10, 4);
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_OK);
    ck_assert_uint_eq(r.payload_len, 16);
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(((float *)r.payload)[i], (x2[i] + w[i]) * x2[i]);
    td_reply_fini(&r);
    /* a graph writing its constant in place (client handle 1, x, held as graph 8's
     * constant): later runs of graph 7, whose input x is, read the new values */
    int64_t two[2] = {TD_SCALAR_FLOAT, 0};
    double d = 2.0;
    memcpy(&two[1], &d, 8);
    uint64_t upd[16];
    size_t nu = 0;
    rec_into(upd, &nu, TD_OP_MUL, TD_RF_INPLACE, 0, NULL, 1, (uint64_t[]){2}, 2, two); /* const 2 *= 2 */
    binary(upd, &nu, TD_OP_ADD, 1, 2, 2);                                                /* out 1 = const + const */
    define(&b, 8, 0, 1, 1, (uint64_t[]){1}, 1, upd, nu);
    graph_run(&b, 8, 1, (uint64_t[]){11}, 0, NULL);
    read_f32(&b, 1, 4);
    read_f32(&b, 11, 4);
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_OK);
    ck_assert_uint_eq(r.payload_len, 32);
    for (int i = 0; i < 4; i++) {
        ck_assert_float_eq(((float *)r.payload)[i], 2 * x[i]); /* x itself, written in place */
        ck_assert_float_eq(((float *)r.payload)[4 + i], 4 * x[i]);
    }
    td_reply_fini(&r);
    /* graph 7 again: its input now reads the doubled x */
    graph_run(&b, 7, 1, (uint64_t[]){12}, 1, (uint64_t[]){1});
    read_f32(&b, 12, 4);
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_OK);
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(((float *)r.payload)[i], (2 * x[i] + w[i]) * 2 * x[i]);
    td_reply_fini(&r);
    /* freeing the graphs lets their constants go: only the client's handles remain */
    int64_t g7 = 7, g8 = 8;
    rec(&b, TD_OP_GRAPH_FREE, 0, 0, NULL, 0, NULL, 1, &g7);
    rec(&b, TD_OP_GRAPH_FREE, 0, 0, NULL, 0, NULL, 1, &g8);
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_OK);
    td_reply_fini(&r);
    ck_assert_uint_eq(tensors_now(), base + 5); /* x, x2, outputs 10, 11, 12 */
    rec(&b, TD_OP_GRAPH_FREE, 0, 0, NULL, 0, NULL, 1, &g7); /* twice: not found */
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_NOT_FOUND);
    td_reply_fini(&r);
    td_session_free(s);
    ck_assert_uint_eq(tensors_now(), base);
}
END_TEST

/* The dead MUL is never run, and the temporaries are gone after each run. */
START_TEST(test_dead_records_dropped_and_temporaries_freed)
{
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    float x[4] = {1, 2, 3, 4};
    tensor_f32(&b, 1, x, 4);
    tensor_f32(&b, 2, x, 4);
    uint64_t body[64];
    size_t nb = sample_body(body);
    define(&b, 1, 1, 1, 1, (uint64_t[]){1, 2}, 2, body, nb);
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_OK);
    td_reply_fini(&r);
    uint64_t before = tensors_now();
    int64_t start = 1, stop = 0;
    rec(&b, TD_OP_PROFILE, 0, 0, NULL, 0, NULL, 1, &start);
    for (uint64_t k = 0; k < 3; k++)
        graph_run(&b, 1, 1, (uint64_t[]){100 + k}, 1, (uint64_t[]){1});
    rec(&b, TD_OP_PROFILE, 0, 0, NULL, 0, NULL, 1, &stop);
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_OK);
    uint64_t got[TD_OP_COUNT] = {0};
    for (size_t i = 0; i < r.payload_len / 24; i++) {
        const uint64_t *t = (const uint64_t *)r.payload + 3 * i;
        got[t[0]] = t[1];
    }
    ck_assert_uint_eq(got[TD_OP_ADD], 3);
    ck_assert_uint_eq(got[TD_OP_MUL], 3); /* the live one only */
    ck_assert_uint_eq(got[TD_OP_GRAPH_RUN], 0); /* its records are counted, not itself */
    td_reply_fini(&r);
    ck_assert_uint_eq(tensors_now(), before + 3); /* the three outputs, no temporaries */
    td_session_free(s);
}
END_TEST

/* A body the daemon must refuse, and the code it gets. */
static void refused(const uint64_t *body, size_t words, int n_in, int n_out, int n_consts, enum td_code want,
                    const char *needle)
{
    uint64_t base = tensors_now();
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    float x[4] = {1, 2, 3, 4};
    tensor_f32(&b, 1, x, 4);
    tensor_f32(&b, 2, x, 4);
    uint64_t named[2] = {1, 2};
    define(&b, 5, n_in, n_out, n_consts, named, n_in + n_consts, body, words);
    graph_run(&b, 5, n_out, (uint64_t[]){50, 51}, n_in, named); /* no such graph: the define failed */
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_uint_ge(r.n_errors, 2);
    ck_assert_int_eq(r.errors[0].code, want);
    ck_assert_msg(strstr(r.errors[0].msg, needle), "'%s' lacks '%s'", r.errors[0].msg, needle);
    ck_assert_int_eq(r.errors[1].code, TD_CODE_NOT_FOUND);
    td_reply_fini(&r);
    td_session_free(s);
    ck_assert_uint_eq(tensors_now(), base); /* nothing held */
}

START_TEST(test_hostile_bodies_refused)
{
    uint64_t w[64];
    size_t n = 0;
    binary(w, &n, TD_OP_ADD, 2, 1, 9); /* reads a temporary never made */
    refused(w, n, 1, 1, 0, TD_CODE_INVALID_ARGUMENT, "before it is made");
    n = 0;
    binary(w, &n, TD_OP_ADD, 1, 1, 1); /* writes the input */
    refused(w, n, 1, 1, 0, TD_CODE_INVALID_ARGUMENT, "is an input");
    n = 0;
    binary(w, &n, TD_OP_ADD, 3, 1, 1); /* never makes its output */
    refused(w, n, 1, 1, 0, TD_CODE_INVALID_ARGUMENT, "never made");
    n = 0;
    binary(w, &n, TD_OP_ADD, 2, 1, 1);
    binary(w, &n, TD_OP_ADD, 2, 1, 1); /* makes it twice */
    refused(w, n, 1, 1, 0, TD_CODE_INVALID_ARGUMENT, "made already");
    n = 0;
    int64_t rd[2] = {0, 16};
    rec_into(w, &n, TD_OP_READ, 0, 0, NULL, 1, (uint64_t[]){1}, 2, rd); /* a control record */
    binary(w, &n, TD_OP_ADD, 2, 1, 1);
    refused(w, n, 1, 1, 0, TD_CODE_INVALID_ARGUMENT, "cannot hold");
    n = 0;
    binary(w, &n, TD_OP_ADD, 2, 1, 1);
    rec_into(w, &n, TD_OP_RELEASE, 0, 0, NULL, 1, (uint64_t[]){1}, 0, NULL); /* releases its input */
    refused(w, n, 1, 1, 0, TD_CODE_INVALID_ARGUMENT, "not a live temporary");
    n = 0;
    binary(w, &n, TD_OP_ADD, 2, 1, UINT64_C(1) << 40); /* a local handle out of range */
    refused(w, n, 1, 1, 0, TD_CODE_INVALID_ARGUMENT, "local handle");
    n = 0;
    binary(w, &n, TD_OP_ADD, 2, 1, 1);
    struct td_rec_hdr h;
    memcpy(&h, w, sizeof h);
    h.words = 200; /* runs past the body */
    memcpy(w, &h, sizeof h);
    refused(w, n, 1, 1, 0, TD_CODE_INVALID_ARGUMENT, "malformed");
    n = 0;
    binary(w, &n, TD_OP_ADD, 2, 1, 1);
    memcpy(&h, w, sizeof h);
    h.op = TD_OP_COUNT + 3; /* an unknown op */
    memcpy(w, &h, sizeof h);
    refused(w, n, 1, 1, 0, TD_CODE_INVALID_ARGUMENT, "unknown op");
    refused(w, 3, 1, 1, 0, TD_CODE_INVALID_ARGUMENT, "malformed"); /* a body cut short */
}
END_TEST

START_TEST(test_bad_runs_refused)
{
    uint64_t base = tensors_now();
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    float x[4] = {1, 2, 3, 4};
    tensor_f32(&b, 1, x, 4);
    tensor_f32(&b, 2, x, 4);
    int64_t sz[4] = {TD_DTYPE_FLOAT32, 2, 2, 2};
    rec(&b, TD_OP_EMPTY, 0, 1, (uint64_t[]){3}, 0, NULL, 4, sz); /* 2x2: the wrong sizes */
    uint64_t body[64];
    size_t nb = sample_body(body);
    define(&b, 1, 1, 1, 1, (uint64_t[]){1, 2}, 2, body, nb);
    define(&b, 1, 1, 1, 1, (uint64_t[]){1, 2}, 2, body, nb); /* defined already */
    graph_run(&b, 1, 1, (uint64_t[]){10}, 1, (uint64_t[]){3});    /* sizes */
    graph_run(&b, 1, 2, (uint64_t[]){11, 12}, 1, (uint64_t[]){1}); /* counts */
    graph_run(&b, 9, 1, (uint64_t[]){13}, 1, (uint64_t[]){1});     /* unknown graph */
    graph_run(&b, 1, 1, (uint64_t[]){2}, 1, (uint64_t[]){1});      /* output handle in use */
    uint64_t reserved = TD_GRAPH_RESERVED | 5;
    binary(b.w, &b.n, TD_OP_ADD, reserved, 1, 1); /* a client naming a reserved handle */
    rec(&b, TD_OP_RELEASE, 0, 0, NULL, 1, (uint64_t[]){TD_GRAPH_CONST_ID(1, 3)}, 0, NULL); /* ignored */
    graph_run(&b, 1, 1, (uint64_t[]){14}, 1, (uint64_t[]){1});     /* fine: the constant still held */
    uint64_t two_consts[8];
    size_t n2 = 0;
    binary(two_consts, &n2, TD_OP_ADD, 2, 3, 4); /* out = const + const */
    define(&b, 2, 1, 1, 2, (uint64_t[]){1, 2}, 2, two_consts, n2); /* 1 of its 2 constants given */
    graph_run(&b, 2, 1, (uint64_t[]){15}, 1, (uint64_t[]){1});
    read_f32(&b, 14, 4);
    read_f32(&b, 10, 4); /* the failed run's output: the error again */
    struct td_reply r;
    run(s, &b, &r);
    enum td_code want[] = {TD_CODE_ALREADY_EXISTS, TD_CODE_INVALID_ARGUMENT, TD_CODE_INVALID_ARGUMENT,
                           TD_CODE_NOT_FOUND, TD_CODE_ALREADY_EXISTS, TD_CODE_INVALID_ARGUMENT,
                           TD_CODE_FAILED_PRECONDITION, TD_CODE_INVALID_ARGUMENT};
    ck_assert_uint_eq(r.n_errors, 8);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(r.errors[i].code, want[i]);
    ck_assert_ptr_nonnull(strstr(r.errors[1].msg, "captured for float32[4]"));
    ck_assert_ptr_nonnull(strstr(r.errors[5].msg, "reserved"));
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(((float *)r.payload)[i], (x[i] + x[i]) * x[i]);
    td_reply_fini(&r);
    td_session_free(s);
    ck_assert_uint_eq(tensors_now(), base);
}
END_TEST

/* A record that fails inside a run (an index out of bounds, known only from the data)
 * fails the outputs that depend on it; the others are made; nothing stays behind. */
START_TEST(test_failure_inside_a_run)
{
    uint64_t base = tensors_now();
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    float x[4] = {1, 2, 3, 4};
    tensor_f32(&b, 1, x, 4);
    int64_t ia[3] = {TD_DTYPE_INT64, 1, 2};
    rec(&b, TD_OP_EMPTY, 0, 1, (uint64_t[]){2}, 0, NULL, 3, ia);
    int64_t idx[2] = {0, 9};
    memcpy(b.payload + b.np, idx, 16);
    rec(&b, TD_OP_UPLOAD, 0, 0, NULL, 1, (uint64_t[]){2}, 3, (int64_t[]){0, 16, (int64_t)b.np});
    b.np += 16;
    /* out 3 = x[idx] (fails at run time), out 4 = x + x */
    uint64_t w[64];
    size_t n = 0;
    int64_t dim0 = 0;
    rec_into(w, &n, TD_OP_GATHER, 0, 1, (uint64_t[]){3}, 2, (uint64_t[]){1, 2}, 1, &dim0);
    binary(w, &n, TD_OP_ADD, 4, 1, 1);
    struct td_meta in_m[2] = {meta_1d(TD_DTYPE_FLOAT32, 4), meta_1d(TD_DTYPE_INT64, 2)};
    define_m(&b, 1, in_m, 2, 2, 0, (uint64_t[]){1, 2}, 2, w, n);
    graph_run(&b, 1, 2, (uint64_t[]){10, 11}, 2, (uint64_t[]){1, 2});
    read_f32(&b, 11, 4);
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_uint_eq(r.n_errors, 1);
    ck_assert_int_eq(r.errors[0].code, TD_CODE_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(r.errors[0].msg, "out of bounds"));
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(((float *)r.payload)[i], 2 * x[i]);
    td_reply_fini(&r);
    read_f32(&b, 10, 2);
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_INVALID_ARGUMENT);
    td_reply_fini(&r);
    td_session_free(s);
    ck_assert_uint_eq(tensors_now(), base);
}
END_TEST


/* ---- libtensord's capture, against a real daemon ---- */

static struct td_t vec4(const float *v)
{
    struct td_t t;
    int64_t sizes[1] = {4};
    OK(td_from_data(c, TD_DTYPE_FLOAT32, 1, sizes, v, &t, st));
    return t;
}

static struct td_t bin(enum td_op op, const struct td_t *a, const struct td_t *b)
{
    struct td_t o;
    OK(td_binary(c, op, a, b, &o, st));
    return o;
}

static void expect4(const struct td_t *t, const float *want)
{
    float got[4];
    OK(td_download(c, t, got, sizeof got, st));
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(got[i], want[i]);
}

START_TEST(test_client_capture_and_run)
{
    float xv[4] = {1, 2, 3, 4}, wv[4] = {10, 20, 30, 40}, x2v[4] = {-1, 0.5f, 2, 8}, want[4];
    struct td_t x = vec4(xv), w = vec4(wv), x2 = vec4(x2v);
    OK(td_graph_begin(c, st));
    ck_assert(td_graph_capturing(c));
    struct td_t t = bin(TD_OP_ADD, &x, &w), dead = bin(TD_OP_MUL, &x, &x), y = bin(TD_OP_MUL, &t, &x);
    td_release(c, &t);
    td_release(c, &dead);
    td_release(c, &w); /* a constant the program drops during the capture: the graph holds it */
    const struct td_t *ins[1] = {&x}, *outs[1] = {&y};
    uint64_t id = 0;
    OK(td_graph_end(c, 1, ins, 1, outs, &id, st));
    ck_assert(!td_graph_capturing(c) && id != 0);
    for (int i = 0; i < 4; i++)
        want[i] = (xv[i] + wv[i]) * xv[i];
    expect4(&y, want); /* the capture ran as it was recorded */
    const struct td_t *ins2[1] = {&x2};
    struct td_t y2;
    OK(td_graph_run(c, id, 1, ins2, 1, &y2, st));
    for (int i = 0; i < 4; i++)
        want[i] = (x2v[i] + wv[i]) * x2v[i];
    expect4(&y2, want);
    /* the wrong sizes, the wrong count, then a freed graph */
    struct td_t small;
    int64_t two[1] = {2};
    OK(td_from_data(c, TD_DTYPE_FLOAT32, 1, two, xv, &small, st));
    const struct td_t *bad[1] = {&small};
    struct td_t o[2];
    struct td_status s1 = TD_STATUS_INIT;
    ck_assert_int_eq(td_graph_run(c, id, 1, bad, 1, o, &s1), TD_CODE_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(s1.msg, "captured for float32[4]"));
    td_status_clear(&s1);
    ck_assert_int_eq(td_graph_run(c, id, 1, ins2, 2, o, &s1), TD_CODE_INVALID_ARGUMENT);
    OK(td_graph_free(c, id, st));
    td_status_clear(&s1);
    ck_assert_int_eq(td_graph_run(c, id, 1, ins2, 1, o, &s1), TD_CODE_NOT_FOUND);
    OK(td_sync(c, st));
    td_release(c, &x);
    td_release(c, &x2);
    td_release(c, &y);
    td_release(c, &y2);
    td_release(c, &small);
}
END_TEST

START_TEST(test_client_captures_refused)
{
    float xv[4] = {1, 2, 3, 4}, got[4];
    struct td_t x = vec4(xv);
    const struct td_t *ins[1] = {&x};
    uint64_t id = 0;
    struct td_status s1 = TD_STATUS_INIT;
    /* reading data */
    OK(td_graph_begin(c, st));
    struct td_t y = bin(TD_OP_ADD, &x, &x);
    OK(td_download(c, &y, got, sizeof got, st));
    const struct td_t *outs[1] = {&y};
    ck_assert_int_eq(td_graph_end(c, 1, ins, 1, outs, &id, &s1), TD_CODE_FAILED_PRECONDITION);
    ck_assert_ptr_nonnull(strstr(s1.msg, "reads tensor data"));
    td_release(c, &y);
    /* keeping a tensor it made besides the output */
    OK(td_graph_begin(c, st));
    struct td_t kept = bin(TD_OP_MUL, &x, &x), z = bin(TD_OP_ADD, &kept, &x);
    const struct td_t *outz[1] = {&z};
    td_status_clear(&s1);
    ck_assert_int_eq(td_graph_end(c, 1, ins, 1, outz, &id, &s1), TD_CODE_FAILED_PRECONDITION);
    ck_assert_ptr_nonnull(strstr(s1.msg, "keeps 1 tensor"));
    /* an output that existed before, two captures at once, an end without a begin */
    OK(td_graph_begin(c, st));
    struct td_status s2 = TD_STATUS_INIT;
    ck_assert_int_eq(td_graph_begin(c, &s2), TD_CODE_FAILED_PRECONDITION);
    td_status_clear(&s1);
    ck_assert_int_eq(td_graph_end(c, 1, ins, 1, ins, &id, &s1), TD_CODE_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(s1.msg, "existed before"));
    td_status_clear(&s1);
    ck_assert_int_eq(td_graph_end(c, 1, ins, 1, ins, &id, &s1), TD_CODE_FAILED_PRECONDITION);
    td_graph_abort(c); /* nothing under way: a no-op */
    float want[4] = {2, 6, 12, 20};
    expect4(&z, want); /* everything ran eagerly all along */
    OK(td_sync(c, st));
    td_release(c, &kept);
    td_release(c, &z);
    td_release(c, &x);
}
END_TEST

/* A held capture (torch.cuda.graph's): its outputs are what the program keeps; a replay
 * rebinds them, reading new data copied into the constant. */
START_TEST(test_client_held_capture_and_replay)
{
    float xv[4] = {1, 2, 3, 4}, nv[4] = {10, 20, 30, 40};
    struct td_t x = vec4(xv), fresh = vec4(nv);
    OK(td_graph_begin(c, st));
    struct td_t t = bin(TD_OP_ADD, &x, &x), y = bin(TD_OP_MUL, &t, &x);
    td_release(c, &t);
    uint64_t id = 0;
    int n_out = -1;
    OK(td_graph_end_held(c, &id, &n_out, st));
    ck_assert_int_eq(n_out, 1);
    float want[4];
    for (int i = 0; i < 4; i++)
        want[i] = 2 * xv[i] * xv[i];
    expect4(&y, want);
    const struct td_t *cp[2] = {&x, &fresh};
    OK(td_op(c, TD_OP_COPY_, 0, cp, 2, NULL, 0, NULL, st));
    OK(td_graph_replay(c, id, st));
    for (int i = 0; i < 4; i++)
        want[i] = 2 * nv[i] * nv[i];
    expect4(&y, want);
    td_release(c, &y); /* the graph still holds it: a replay rebinds it all the same */
    OK(td_graph_replay(c, id, st));
    OK(td_sync(c, st));
    /* a graph with inputs is run, not replayed */
    OK(td_graph_begin(c, st));
    struct td_t z = bin(TD_OP_ADD, &x, &x);
    const struct td_t *ins[1] = {&x}, *outs[1] = {&z};
    uint64_t id2 = 0;
    OK(td_graph_end(c, 1, ins, 1, outs, &id2, st));
    struct td_status s1 = TD_STATUS_INIT;
    ck_assert_int_eq(td_graph_replay(c, id2, &s1), TD_CODE_FAILED_PRECONDITION);
    OK(td_graph_free(c, id, st));
    OK(td_graph_free(c, id2, st));
    OK(td_sync(c, st));
    td_release(c, &z);
    td_release(c, &x);
    td_release(c, &fresh);
}
END_TEST

/* A replay: GRAPH_RUN in place, naming no outputs, writes the held ones (GRAPH_CONSTS with
 * held) through their storage; before they are all given it is refused. */
START_TEST(test_replay_writes_held_outputs)
{
    uint64_t base = tensors_now();
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    float x[4] = {1, 2, 3, 4}, zero[4] = {0, 0, 0, 0};
    tensor_f32(&b, 1, x, 4);    /* a constant */
    tensor_f32(&b, 2, zero, 4); /* the program's output tensor */
    int64_t sl[4] = {0, 0, 2, 1};
    rec(&b, TD_OP_SLICE, 0, 1, (uint64_t[]){3}, 1, (uint64_t[]){2}, 4, sl); /* a view of it */
    uint64_t body[8];
    size_t nb = 0;
    binary(body, &nb, TD_OP_ADD, 1, 2, 2); /* out (local 1) = const (local 2) * 2 */
    define(&b, 4, 0, 1, 1, (uint64_t[]){1}, 1, body, nb);
    rec(&b, TD_OP_GRAPH_RUN, TD_RF_INPLACE, 0, NULL, 0, NULL, 1, (int64_t[]){4}); /* no held outputs yet */
    rec(&b, TD_OP_GRAPH_CONSTS, 0, 0, NULL, 1, (uint64_t[]){2}, 2, (int64_t[]){4, 1});
    rec(&b, TD_OP_GRAPH_CONSTS, 0, 0, NULL, 1, (uint64_t[]){2}, 2, (int64_t[]){4, 1}); /* one too many */
    rec(&b, TD_OP_GRAPH_RUN, TD_RF_INPLACE, 0, NULL, 0, NULL, 1, (int64_t[]){4});
    read_f32(&b, 3, 2);
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_uint_eq(r.n_errors, 2);
    ck_assert_int_eq(r.errors[0].code, TD_CODE_FAILED_PRECONDITION);
    ck_assert_int_eq(r.errors[1].code, TD_CODE_INVALID_ARGUMENT);
    ck_assert_float_eq(((float *)r.payload)[0], 2 * x[0]); /* through the view taken before */
    ck_assert_float_eq(((float *)r.payload)[1], 2 * x[1]);
    td_reply_fini(&r);
    td_session_free(s);
    ck_assert_uint_eq(tensors_now(), base);
}
END_TEST

/* A graph saved as bytes and loaded again (in place of its constants: the tensors
 * td_graph_constants gives); damaged bytes and wrong constants refused. */
START_TEST(test_client_save_and_load)
{
    float xv[4] = {1, 2, 3, 4}, wv[4] = {10, 20, 30, 40}, want[4];
    struct td_t x = vec4(xv), w = vec4(wv);
    OK(td_graph_begin(c, st));
    struct td_t t = bin(TD_OP_ADD, &x, &w), y = bin(TD_OP_MUL, &t, &x);
    td_release(c, &t);
    td_release(c, &w); /* the graph holds it */
    const struct td_t *ins[1] = {&x}, *outs[1] = {&y};
    uint64_t id = 0;
    OK(td_graph_end(c, 1, ins, 1, outs, &id, st));
    uint8_t *bytes = NULL;
    size_t len = 0;
    OK(td_graph_save(c, id, &bytes, &len, st));
    struct td_t consts[2];
    int n = 0;
    OK(td_graph_constants(c, id, 2, consts, &n, st));
    ck_assert_int_eq(n, 1);
    expect4(&consts[0], wv);
    OK(td_graph_free(c, id, st));
    const struct td_t *cp[1] = {&consts[0]};
    uint64_t id2 = 0;
    OK(td_graph_load(c, bytes, len, 1, cp, &id2, st));
    struct td_t y2;
    const struct td_t *ins2[1] = {&x};
    OK(td_graph_run(c, id2, 1, ins2, 1, &y2, st));
    for (int i = 0; i < 4; i++)
        want[i] = (xv[i] + wv[i]) * xv[i];
    expect4(&y2, want);
    /* refused: a cut, a bad header, an index out of range, the wrong constants */
    struct td_status s1 = TD_STATUS_INIT;
    uint64_t bad_id;
    ck_assert_int_eq(td_graph_load(c, bytes, len - 3, 1, cp, &bad_id, &s1), TD_CODE_INVALID_ARGUMENT);
    uint8_t *copy = malloc(len);
    memcpy(copy, bytes, len);
    copy[0] = 'X';
    td_status_clear(&s1);
    ck_assert_int_eq(td_graph_load(c, copy, len, 1, cp, &bad_id, &s1), TD_CODE_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(s1.msg, "TDGRAPH1"));
    memcpy(copy, bytes, len);
    copy[8 + 12] = 200; /* n_cw = 200 > n_consts */
    td_status_clear(&s1);
    ck_assert_int_eq(td_graph_load(c, copy, len, 1, cp, &bad_id, &s1), TD_CODE_INVALID_ARGUMENT);
    for (size_t k = 0; k < len; k++) { /* every single damaged byte: refused or a valid graph, never a crash */
        memcpy(copy, bytes, len);
        copy[k] ^= 0x5a;
        uint64_t any;
        struct td_status s2 = TD_STATUS_INIT;
        if (!td_graph_load(c, copy, len, 1, cp, &any, &s2))
            td_graph_free(c, any, &s2);
    }
    free(copy);
    struct td_t x2 = vec4(xv);
    int64_t two[1] = {2};
    struct td_t small;
    OK(td_from_data(c, TD_DTYPE_FLOAT32, 1, two, xv, &small, st));
    const struct td_t *wrong[1] = {&small};
    td_status_clear(&s1);
    ck_assert_int_eq(td_graph_load(c, bytes, len, 1, wrong, &bad_id, &s1), TD_CODE_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(s1.msg, "saved with float32[4]"));
    td_status_clear(&s1);
    ck_assert_int_eq(td_graph_load(c, bytes, len, 0, NULL, &bad_id, &s1), TD_CODE_INVALID_ARGUMENT);
    td_sync(c, &s1); /* (the damaged graphs the daemon refused answer here) */
    /* a strided input: the loaded graph's placeholder has the saved strides */
    int64_t two_by_two[2] = {2, 2};
    struct td_t m22, mt, d;
    OK(td_from_data(c, TD_DTYPE_FLOAT32, 2, two_by_two, xv, &m22, st));
    const struct td_t *m22p[1] = {&m22};
    struct td_transpose_args tra = {0, 1};
    OK(td_rec_transpose(c, 0, m22p, 1, &tra, &mt, st));
    OK(td_graph_begin(c, st));
    d = bin(TD_OP_ADD, &mt, &mt);
    const struct td_t *tin[1] = {&mt}, *tout[1] = {&d};
    uint64_t tid = 0, tid2 = 0;
    OK(td_graph_end(c, 1, tin, 1, tout, &tid, st));
    uint8_t *tb = NULL;
    size_t tlen = 0;
    OK(td_graph_save(c, tid, &tb, &tlen, st));
    OK(td_graph_load(c, tb, tlen, 0, NULL, &tid2, st));
    struct td_t d2;
    OK(td_graph_run(c, tid2, 1, tin, 1, &d2, st));
    float dv[4];
    OK(td_download(c, &d2, dv, sizeof dv, st));
    ck_assert_float_eq(dv[1], 2 * xv[2]); /* d = 2 * m22.T, row-major */
    ck_assert_float_eq(dv[2], 2 * xv[1]);
    const struct td_t *contiguous[1] = {&m22}; /* the same sizes, other strides: refused */
    td_status_clear(&s1);
    ck_assert_int_eq(td_graph_run(c, tid2, 1, contiguous, 1, &d2, &s1), TD_CODE_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(s1.msg, "strides [1, 2]"));
    free(tb);
    td_release(c, &d);
    td_release(c, &mt);
    td_release(c, &m22);
    free(bytes);
    OK(td_graph_free(c, id2, st));
    td_release(c, &consts[0]);
    td_release(c, &small);
    td_release(c, &x2);
    td_release(c, &y);
    td_release(c, &y2);
    td_release(c, &x);
}
END_TEST

/* An input layout that does not hold together, or counts out of range, refuse the define. */
START_TEST(test_malformed_input_layouts_refused)
{
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    uint64_t body[8];
    size_t nb = 0;
    binary(body, &nb, TD_OP_ADD, 2, 1, 1);
    struct td_meta bad[4] = {meta_1d(TD_DTYPE_FLOAT32, 4), meta_1d(TD_DTYPE_FLOAT32, -1), meta_1d(TD_DTYPE_FLOAT32, 4),
                             meta_1d(TD_DTYPE_FLOAT32, INT64_C(1) << 41)};
    bad[0].dtype = 200;  /* no such dtype */
    bad[2].strides[0] = -3;
    for (int i = 0; i < 4; i++)
        define_m(&b, 10 + (uint64_t)i, &bad[i], 1, 1, 0, (uint64_t[]){1}, 1, body, nb);
    /* counts whose sum overflows (fuzz_meta's finding): refused before they are added */
    int64_t huge[TD_N_GRAPH_DEFINE] = {20, 1, INT64_C(5931894195729837576), INT64_C(4702111234480385453), 0, 0};
    rec(&b, TD_OP_GRAPH_DEFINE, 0, 0, NULL, 0, NULL, TD_N_GRAPH_DEFINE, huge);
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_int_eq(r.n_errors, 5);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(r.errors[i].code, TD_CODE_INVALID_ARGUMENT);
        ck_assert_ptr_nonnull(strstr(r.errors[i].msg, "layout is malformed"));
    }
    ck_assert_int_eq(r.errors[4].code, TD_CODE_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(r.errors[4].msg, "graph_define: 1 inputs"));
    td_reply_fini(&r);
    /* a message with no payload at all: an empty graph (no inputs, outputs or body) */
    int64_t empty[TD_N_GRAPH_DEFINE] = {30, 0, 0, 0, 0, 0};
    rec(&b, TD_OP_GRAPH_DEFINE, 0, 0, NULL, 0, NULL, TD_N_GRAPH_DEFINE, empty);
    rec(&b, TD_OP_GRAPH_RUN, 0, 0, NULL, 0, NULL, 1, (int64_t[]){30});
    td_reply_init(&r);
    td_session_exec(s, (const uint8_t *)b.w, b.n * 8, NULL, 0, 1, &r);
    b.n = 0;
    ck_assert_int_eq(r.n_errors, 0);
    td_reply_fini(&r);
    td_session_free(s);
}
END_TEST

static Suite *graph_suite(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("graph");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_graph_matches_eager_and_sees_constant_updates);
    tcase_add_test(tc, test_dead_records_dropped_and_temporaries_freed);
    tcase_add_test(tc, test_hostile_bodies_refused);
    tcase_add_test(tc, test_bad_runs_refused);
    tcase_add_test(tc, test_failure_inside_a_run);
    tcase_add_test(tc, test_replay_writes_held_outputs);
    tcase_add_test(tc, test_malformed_input_layouts_refused);
    suite_add_tcase(s, tc);
    TCase *tcl = tcase_create("client");
    tcase_add_checked_fixture(tcl, client_setup, client_teardown);
    tcase_set_timeout(tcl, 60);
    tcase_add_test(tcl, test_client_capture_and_run);
    tcase_add_test(tcl, test_client_captures_refused);
    tcase_add_test(tcl, test_client_held_capture_and_replay);
    tcase_add_test(tcl, test_client_save_and_load);
    suite_add_tcase(s, tcl);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(graph_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
