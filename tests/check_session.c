/*
 * check_session.c — the record codec and executor (daemon/session.c, exec.c) driven
 * directly, without RPC: record framing, malformed and hostile records, unknown
 * handles, failures that mark only what depends on them (releases still run),
 * cancellation, uploads/reads, views writing through to their base, dtype plumbing, and
 * allocation failure injection with no leaks; the bool rule (storage holds 0 or 1) and
 * the zeroing rule (EMPTY never shows freed data).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../daemon/alloc.h"
#include "../daemon/device.h"
#include "../daemon/device_host.h"
#include "../daemon/session.h"
#include "../kernels/meta.h"

/* A little record writer. */
struct batch {
    uint64_t w[4096];
    size_t n; /* words */
    uint8_t payload[1 << 16];
    size_t np;
};

static void rec(struct batch *b, unsigned op, unsigned flags, int n_out, const uint64_t *outs, int n_in,
                const uint64_t *ins, int n_attr, const int64_t *attrs)
{
    struct td_rec_hdr h = {(uint16_t)(1 + n_out + n_in + n_attr), (uint16_t)op, (uint8_t)n_out, (uint8_t)n_in,
                           (uint8_t)n_attr, (uint8_t)flags};
    memcpy(&b->w[b->n++], &h, 8);
    for (int i = 0; i < n_out; i++)
        b->w[b->n++] = outs[i];
    for (int i = 0; i < n_in; i++)
        b->w[b->n++] = ins[i];
    for (int i = 0; i < n_attr; i++)
        b->w[b->n++] = (uint64_t)attrs[i];
}

static void upload_f32(struct batch *b, uint64_t h, const float *v, int n)
{
    int64_t attrs[3] = {0, (int64_t)sizeof(float) * n, (int64_t)b->np};
    memcpy(b->payload + b->np, v, sizeof(float) * n);
    b->np += sizeof(float) * n;
    rec(b, TD_OP_UPLOAD, 0, 0, NULL, 1, &h, 3, attrs);
}

static void empty_f32(struct batch *b, uint64_t h, int64_t n0, int64_t n1)
{
    int64_t attrs[4] = {TD_DTYPE_FLOAT32, 2, n0, n1};
    rec(b, TD_OP_EMPTY, 0, 1, &h, 0, NULL, 4, attrs);
}

/* The first failure of a message (a record's or the message's own), or OK. */
static enum td_code first_code(const struct td_reply *r)
{
    return r->n_errors ? r->errors[0].code : r->code;
}

static void run(struct td_session *s, struct batch *b, struct td_reply *r)
{
    td_reply_init(r);
    td_session_exec(s, (const uint8_t *)b->w, b->n * 8, b->payload, b->np, 1, r);
    b->n = b->np = 0;
}

START_TEST(test_add_and_read)
{
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    float x[6] = {1, 2, 3, 4, 5, 6};
    empty_f32(&b, 1, 2, 3);
    upload_f32(&b, 1, x, 6);
    uint64_t in[2] = {1, 1}, out = 2;
    int64_t scal[2] = {0, 0};
    rec(&b, TD_OP_ADD, 0, 1, &out, 2, in, 2, scal);
    int64_t rd[2] = {0, 24};
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, &out, 2, rd);
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_OK);
    ck_assert_uint_eq(r.payload_len, 24);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(((float *)r.payload)[i], 2 * x[i]);
    td_reply_fini(&r);
    td_session_free(s);
}
END_TEST

/* PROFILE: nothing before it starts; then each op's count (failures counted too) and a
 * time, answered once and zeroed; a bad mode is refused; the counters die with the session. */
START_TEST(test_profile_counts_ops)
{
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    int64_t start = 1, stop = 0, bad = 3;
    rec(&b, TD_OP_PROFILE, 0, 0, NULL, 0, NULL, 1, &start);
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_OK);
    ck_assert_uint_eq(r.payload_len, 0);
    td_reply_fini(&r);
    float x[6] = {1, 2, 3, 4, 5, 6};
    empty_f32(&b, 1, 2, 3);
    upload_f32(&b, 1, x, 6);
    uint64_t in[2] = {1, 1}, out[3] = {2, 3, 4}, missing[2] = {1, 99};
    int64_t scal[2] = {0, 0};
    rec(&b, TD_OP_ADD, 0, 1, &out[0], 2, in, 2, scal);
    rec(&b, TD_OP_ADD, 0, 1, &out[1], 2, in, 2, scal);
    rec(&b, TD_OP_MUL, 0, 1, &out[2], 2, missing, 2, scal); /* fails: unknown handle */
    rec(&b, TD_OP_PROFILE, 0, 0, NULL, 0, NULL, 1, &stop);
    run(s, &b, &r);
    ck_assert_uint_eq(r.payload_len % 24, 0);
    uint64_t got[TD_OP_COUNT] = {0};
    for (size_t i = 0; i < r.payload_len / 24; i++) {
        const uint64_t *t = (const uint64_t *)r.payload + 3 * i;
        ck_assert_uint_lt(t[0], TD_OP_COUNT);
        got[t[0]] = t[1];
    }
    ck_assert_uint_eq(got[TD_OP_ADD], 2);
    ck_assert_uint_eq(got[TD_OP_MUL], 1);
    ck_assert_uint_eq(got[TD_OP_EMPTY], 1);
    ck_assert_uint_eq(got[TD_OP_UPLOAD], 1);
    ck_assert_uint_eq(got[TD_OP_PROFILE], 0); /* itself: not counted */
    td_reply_fini(&r);
    rec(&b, TD_OP_ADD, 0, 1, &out[2], 2, in, 2, scal); /* stopped: not counted */
    rec(&b, TD_OP_PROFILE, 0, 0, NULL, 0, NULL, 1, &stop);
    run(s, &b, &r);
    ck_assert_uint_eq(r.payload_len, 0);
    td_reply_fini(&r);
    rec(&b, TD_OP_PROFILE, 0, 0, NULL, 0, NULL, 1, &bad);
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_INVALID_ARGUMENT);
    td_reply_fini(&r);
    rec(&b, TD_OP_PROFILE, 0, 0, NULL, 0, NULL, 1, &start); /* left on: freed with the session */
    run(s, &b, &r);
    td_reply_fini(&r);
    td_session_free(s);
}
END_TEST

/* A fatal device fault fails the op that hit it, in its own session, and takes the
 * device out of service for everyone; the CPU and other devices go on, nothing leaks. */
START_TEST(test_device_fault_is_attributed)
{
    td_devices_init(&(struct td_devices_config){.fake = 2, .fake_memory = 64 << 20});
    ck_assert_int_eq(td_device_count(), 2);
    struct td_session *a = td_session_new(1, "a"), *b2 = td_session_new(2, "b");
    struct batch b = {.n = 0};
    struct td_reply r;
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t dev1 = 1, dev2 = 2, cpu = 0, rd[2] = {0, 24};
    rec(&b, TD_OP_SET_DEVICE, 0, 0, NULL, 0, NULL, 1, &dev1);
    empty_f32(&b, 1, 2, 3);
    upload_f32(&b, 1, x, 6);
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, (uint64_t[]){1}, 2, rd);
    run(a, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_OK);
    ck_assert_float_eq(((float *)r.payload)[5], 6);
    td_reply_fini(&r);

    td_device_host_inject_fault(); /* the next copy faults */
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, (uint64_t[]){1}, 2, rd);
    run(a, &b, &r);
    ck_assert_uint_eq(r.n_errors, 1);
    ck_assert_str_eq(r.errors[0].msg, "CUDA error: an illegal memory access was encountered (copy, cuda:0)");
    td_reply_fini(&r);

    /* another session: cuda:0 is refused with the reason, cuda:1 and the CPU work */
    rec(&b, TD_OP_SET_DEVICE, 0, 0, NULL, 0, NULL, 1, &dev1);
    empty_f32(&b, 10, 2, 3);
    rec(&b, TD_OP_SET_DEVICE, 0, 0, NULL, 0, NULL, 1, &dev2);
    empty_f32(&b, 11, 2, 3);
    upload_f32(&b, 11, x, 6);
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, (uint64_t[]){11}, 2, rd);
    rec(&b, TD_OP_SET_DEVICE, 0, 0, NULL, 0, NULL, 1, &cpu);
    empty_f32(&b, 12, 2, 3);
    upload_f32(&b, 12, x, 6);
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, (uint64_t[]){12}, 2, rd);
    run(b2, &b, &r);
    ck_assert_uint_eq(r.n_errors, 1);
    ck_assert_ptr_nonnull(strstr(r.errors[0].msg, "cuda:0 is unusable after a fatal error in an earlier operation "
                                                  "(an illegal memory access was encountered)"));
    ck_assert_uint_eq(r.payload_len, 48);
    ck_assert_float_eq(((float *)r.payload)[5], 6);  /* cuda:1 */
    ck_assert_float_eq(((float *)r.payload)[11], 6); /* the CPU */
    td_reply_fini(&r);
    td_session_free(a);
    td_session_free(b2);
    td_devices_fini();
}
END_TEST

START_TEST(test_view_writes_through)
{
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    float x[6] = {0};
    empty_f32(&b, 1, 2, 3);
    upload_f32(&b, 1, x, 6);
    int64_t tr[2] = {0, 1}, sel[2] = {0, 2}, fill[2] = {TD_SCALAR_FLOAT, 0};
    double v = 7.5;
    memcpy(&fill[1], &v, 8);
    uint64_t one = 1, two = 2, three = 3;
    rec(&b, TD_OP_TRANSPOSE, 0, 1, &two, 1, &one, 2, tr); /* (3,2) view */
    rec(&b, TD_OP_SELECT, 0, 1, &three, 1, &two, 2, sel); /* row 2 of the transpose = column 2 */
    rec(&b, TD_OP_FILL_, 0, 0, NULL, 1, &three, 2, fill);
    int64_t rd[2] = {0, 24};
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, &one, 2, rd);
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_OK);
    const float *y = (const float *)r.payload;
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(y[i], i % 3 == 2 ? 7.5f : 0.0f);
    td_reply_fini(&r);
    td_session_free(s);
}
END_TEST

START_TEST(test_failure_marks_only_dependents)
{
    uint64_t base_bytes, peak, base_storages;
    td_alloc_counters(&base_bytes, &peak, &base_storages);
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    float x[4] = {1, 2, 3, 4};
    empty_f32(&b, 1, 2, 2);                   /* record 0 */
    upload_f32(&b, 1, x, 4);                  /* 1 */
    uint64_t in[2] = {1, 99}, out = 2;        /* 99 does not exist */
    int64_t scal[2] = {0, 0};
    rec(&b, TD_OP_MUL, 0, 1, &out, 2, in, 2, scal); /* 2: fails, marks 2 */
    uint64_t in2[2] = {1, 1}, out3 = 3;
    rec(&b, TD_OP_ADD, 0, 1, &out3, 2, in2, 2, scal); /* 3: independent, runs */
    uint64_t in4[2] = {2, 1}, out4 = 4;
    rec(&b, TD_OP_ADD, 0, 1, &out4, 2, in4, 2, scal); /* 4: reads 2, inherits */
    int64_t rd[2] = {0, 16};
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, &out4, 2, rd);  /* 5: fails, answers zeros */
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, &out3, 2, rd);  /* 6: fine */
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_int_eq(r.code, TD_CODE_OK);
    ck_assert_int_eq(r.n_errors, 3);
    ck_assert_uint_eq(r.executed, 7);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(r.errors[i].code, TD_CODE_NOT_FOUND);
        ck_assert_uint_eq(r.errors[i].origin, 2);
        ck_assert_int_eq(r.errors[i].op, TD_OP_MUL);
        ck_assert_ptr_nonnull(strstr(r.errors[i].msg, "unknown tensor handle 99"));
    }
    ck_assert_uint_eq(r.errors[0].record, 2);
    ck_assert_uint_eq(r.errors[1].record, 4);
    ck_assert_uint_eq(r.errors[2].record, 5);
    ck_assert_uint_eq(r.payload_len, 32);
    const float *y = (const float *)r.payload;
    for (int i = 0; i < 4; i++) {
        ck_assert_float_eq(y[i], 0.0f);         /* the failed READ */
        ck_assert_float_eq(y[4 + i], 2 * x[i]); /* the independent result */
    }
    td_reply_fini(&r);
    /* an in-place op that fails marks its destination; the session goes on */
    uint64_t in5[2] = {3, 2};
    rec(&b, TD_OP_ADD, TD_RF_INPLACE, 0, NULL, 2, in5, 2, scal);
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, &out3, 2, rd);
    run(s, &b, &r);
    ck_assert_int_eq(r.n_errors, 2);
    ck_assert_uint_eq(r.errors[1].origin, 2);
    td_reply_fini(&r);
    uint64_t rel[4] = {1, 2, 3, 4};
    rec(&b, TD_OP_RELEASE, 0, 0, NULL, 4, rel, 0, NULL);
    empty_f32(&b, 5, 1, 1);
    run(s, &b, &r);
    ck_assert_int_eq(r.n_errors, 0);
    td_reply_fini(&r);
    uint64_t bytes, storages;
    td_alloc_counters(&bytes, &peak, &storages);
    ck_assert_uint_eq(storages, base_storages + 1);
    td_session_free(s);
    td_alloc_counters(&bytes, &peak, &storages);
    ck_assert_uint_eq(bytes, base_bytes);
}
END_TEST

/* The executor makes torch's overlap checks itself (kernels/overlap.h), whatever the
 * client did: a[1:].add_(a[:-1]) fails with torch's message and leaves a as it was; the
 * overlaps torch allows (the tensor itself, views too hard to compare) run, the latter
 * out of place. */
START_TEST(test_overlap_refused)
{
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[4] = {TD_DTYPE_FLOAT32, 1, 6, 0}, hi[4] = {0, 1, 6, 1}, lo[4] = {0, 0, 5, 1},
            ev[4] = {0, 2, 6, 2}, od[4] = {0, 0, 4, 2}, scal[2] = {0, 0}, rd[2] = {0, 24};
    rec(&b, TD_OP_EMPTY, 0, 1, (uint64_t[]){1}, 0, NULL, 3, shape);
    upload_f32(&b, 1, x, 6);
    rec(&b, TD_OP_SLICE, 0, 1, (uint64_t[]){2}, 1, (uint64_t[]){1}, 4, hi); /* a[1:] */
    rec(&b, TD_OP_SLICE, 0, 1, (uint64_t[]){3}, 1, (uint64_t[]){1}, 4, lo); /* a[:-1] */
    rec(&b, TD_OP_ADD, TD_RF_INPLACE, 0, NULL, 2, (uint64_t[]){2, 3}, 2, scal);
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, (uint64_t[]){1}, 2, rd);
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_int_eq(r.n_errors, 1);
    ck_assert_int_eq(r.errors[0].code, TD_CODE_INVALID_ARGUMENT);
    ck_assert_uint_eq(r.errors[0].record, 4);
    ck_assert_str_eq(r.errors[0].msg, "unsupported operation: some elements of the input tensor and the written-to "
                                      "tensor refer to a single memory location. Please clone() the tensor before "
                                      "performing the operation.");
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(((const float *)r.payload)[i], x[i]);
    td_reply_fini(&r);
    /* a.mul_(a); then a[2::2].add_(a[:-2:2]): not dense, allowed, read before written */
    rec(&b, TD_OP_MUL, TD_RF_INPLACE, 0, NULL, 2, (uint64_t[]){1, 1}, 2, scal);
    rec(&b, TD_OP_SLICE, 0, 1, (uint64_t[]){4}, 1, (uint64_t[]){1}, 4, ev);
    rec(&b, TD_OP_SLICE, 0, 1, (uint64_t[]){5}, 1, (uint64_t[]){1}, 4, od);
    rec(&b, TD_OP_ADD, TD_RF_INPLACE, 0, NULL, 2, (uint64_t[]){4, 5}, 2, scal);
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, (uint64_t[]){1}, 2, rd);
    run(s, &b, &r);
    ck_assert_int_eq(r.n_errors, 0);
    const float want[6] = {1, 4, 10, 16, 34, 36}; /* a[4] = 25 + 9, the old a[2] */
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(((const float *)r.payload)[i], want[i]);
    td_reply_fini(&r);
    td_session_free(s);
}
END_TEST

/* An out= record (TD_RF_OUT) naming fewer inputs than the op has outputs is refused;
 * marking its "destinations" must not index before its inputs (found by the fuzzer). */
START_TEST(test_out_record_without_destinations)
{
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    uint64_t in = 77;
    int64_t attrs[2] = {0, 0};
    rec(&b, TD_OP_MAX_DIM, TD_RF_OUT, 0, NULL, 1, &in, 2, attrs); /* 2 outputs, 1 input */
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_int_eq(r.n_errors, 1);
    ck_assert_int_eq(r.errors[0].code, TD_CODE_INVALID_ARGUMENT);
    td_reply_fini(&r);
    td_session_free(s);
}
END_TEST

START_TEST(test_cancel_stops_between_records)
{
    struct td_session *s = td_session_new(1, "test");
    atomic_bool cancel;
    atomic_init(&cancel, true);
    td_session_set_cancel(s, &cancel);
    struct batch b = {.n = 0};
    empty_f32(&b, 1, 2, 2);
    empty_f32(&b, 2, 2, 2);
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_uint_eq(r.executed, 0); /* nothing ran once the session was cancelled */
    td_reply_fini(&r);
    atomic_store(&cancel, false);
    empty_f32(&b, 1, 2, 2);
    run(s, &b, &r);
    ck_assert_uint_eq(r.executed, 1);
    td_reply_fini(&r);
    td_session_free(s);
    uint64_t bytes, peak, storages;
    td_alloc_counters(&bytes, &peak, &storages);
    ck_assert_uint_eq(storages, 0);
}
END_TEST

/* Hostile framing: every cut of a valid batch and every corrupted header word. */
START_TEST(test_malformed_records)
{
    td_alloc_set_limit(1 << 24); /* corrupted sizes must not make real 4 GiB tensors */
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    empty_f32(&b, 1, 2, 2);
    uint64_t in[2] = {1, 1}, out = 2;
    int64_t scal[2] = {0, 0};
    rec(&b, TD_OP_ADD, 0, 1, &out, 2, in, 2, scal);
    uint64_t copy[64];
    size_t n = b.n;
    memcpy(copy, b.w, n * 8);
    for (size_t cut = 0; cut < n * 8; cut++) {
        struct td_reply r;
        td_reply_init(&r);
        td_session_exec(s, (const uint8_t *)copy, cut, NULL, 0, 1, &r);
        td_reply_fini(&r);
        uint64_t rel[2] = {1, 2};
        b.n = 0;
        rec(&b, TD_OP_RELEASE, 0, 0, NULL, 2, rel, 0, NULL);
        run(s, &b, &r);
        td_reply_fini(&r);
    }
    srand(7);
    for (int iter = 0; iter < 2000; iter++) {
        uint64_t w[64];
        memcpy(w, copy, n * 8);
        w[rand() % n] ^= (uint64_t)rand() << (rand() % 40);
        struct td_reply r;
        td_reply_init(&r);
        td_session_exec(s, (const uint8_t *)w, n * 8, NULL, 0, 1, &r);
        td_reply_fini(&r);
        uint64_t rel[2] = {1, 2};
        b.n = 0;
        rec(&b, TD_OP_RELEASE, 0, 0, NULL, 2, rel, 0, NULL);
        run(s, &b, &r);
        td_reply_fini(&r);
    }
    td_session_free(s);
    uint64_t bytes, peak, storages;
    td_alloc_counters(&bytes, &peak, &storages);
    ck_assert_uint_eq(storages, 0);
}
END_TEST

START_TEST(test_upload_bounds)
{
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    empty_f32(&b, 1, 2, 2);
    int64_t attrs[3] = {8, 16, 0}; /* 8 + 16 > 16 bytes */
    uint64_t h = 1;
    rec(&b, TD_OP_UPLOAD, 0, 0, NULL, 1, &h, 3, attrs);
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_OUT_OF_RANGE);
    td_reply_fini(&r);
    int64_t attrs2[3] = {0, 16, 0}; /* payload too short */
    rec(&b, TD_OP_UPLOAD, 0, 0, NULL, 1, &h, 3, attrs2);
    b.np = 4;
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_OUT_OF_RANGE);
    td_reply_fini(&r);
    td_session_free(s);
}
END_TEST

START_TEST(test_dtype_plumbing)
{
    /* int32 tensor + float16 tensor -> float16, computed in float32 */
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    int64_t e1[3] = {TD_DTYPE_INT32, 1, 3}, e2[3] = {TD_DTYPE_FLOAT16, 1, 3};
    uint64_t h1 = 1, h2 = 2;
    rec(&b, TD_OP_EMPTY, 0, 1, &h1, 0, NULL, 3, e1);
    rec(&b, TD_OP_EMPTY, 0, 1, &h2, 0, NULL, 3, e2);
    int32_t xi[3] = {1, -2, 3};
    uint16_t xh[3] = {td_float_to_half(0.5f), td_float_to_half(0.25f), td_float_to_half(-1.0f)};
    int64_t u1[3] = {0, 12, 0}, u2[3] = {0, 6, 12};
    memcpy(b.payload, xi, 12);
    memcpy(b.payload + 12, xh, 6);
    b.np = 18;
    rec(&b, TD_OP_UPLOAD, 0, 0, NULL, 1, &h1, 3, u1);
    rec(&b, TD_OP_UPLOAD, 0, 0, NULL, 1, &h2, 3, u2);
    uint64_t in[2] = {1, 2}, out = 3;
    int64_t scal[2] = {0, 0};
    rec(&b, TD_OP_ADD, 0, 1, &out, 2, in, 2, scal);
    int64_t rd[2] = {0, 6};
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, &out, 2, rd);
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_OK);
    const uint16_t *y = (const uint16_t *)r.payload;
    ck_assert_float_eq(td_half_to_float(y[0]), 1.5f);
    ck_assert_float_eq(td_half_to_float(y[1]), -1.75f);
    ck_assert_float_eq(td_half_to_float(y[2]), 2.0f);
    td_reply_fini(&r);
    td_session_free(s);
}
END_TEST

/* SQLite-style: fail the n-th allocation for growing n until the batch succeeds;
 * every failure must be a clean status and leave no storage behind. */
START_TEST(test_alloc_failures)
{
    for (int n = 0;; n++) {
        struct td_session *s = td_session_new(1, "test");
        struct batch b = {.n = 0};
        int64_t e[4] = {TD_DTYPE_INT16, 2, 3, 5};
        uint64_t h1 = 1, h2 = 2, h3 = 3;
        rec(&b, TD_OP_EMPTY, 0, 1, &h1, 0, NULL, 4, e);
        int64_t f[6] = {TD_DTYPE_FLOAT64, 2, 3, 5, TD_SCALAR_INT, 2};
        rec(&b, TD_OP_FULL, 0, 1, &h2, 0, NULL, 6, f);
        uint64_t in[2] = {1, 2};
        int64_t scal[2] = {0, 0};
        rec(&b, TD_OP_MUL, 0, 1, &h3, 2, in, 2, scal);
        td_alloc_fail_after(n);
        struct td_reply r;
        run(s, &b, &r);
        td_alloc_fail_after(-1);
        enum td_code code = first_code(&r);
        ck_assert(code == TD_CODE_OK || code == TD_CODE_RESOURCE_EXHAUSTED);
        td_reply_fini(&r);
        td_session_free(s);
        uint64_t bytes, peak, storages;
        td_alloc_counters(&bytes, &peak, &storages);
        ck_assert_uint_eq(storages, 0);
        ck_assert_uint_eq(bytes, 0);
        if (code == TD_CODE_OK)
            break;
        ck_assert_int_lt(n, 50);
    }
}
END_TEST

START_TEST(test_absurd_sizes)
{
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    int64_t e[4] = {TD_DTYPE_FLOAT64, 2, INT64_C(1) << 20, INT64_C(1) << 19}; /* 4 TiB */
    uint64_t h = 1;
    rec(&b, TD_OP_EMPTY, 0, 1, &h, 0, NULL, 4, e);
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_int_eq(first_code(&r), TD_CODE_RESOURCE_EXHAUSTED);
    td_reply_fini(&r);
    td_session_free(s);
}
END_TEST

/* A freed block is cached and handed out again for a request of the same rounded size
 * (sanitizer builds too: free blocks are poisoned instead); cached blocks give way to a
 * live allocation under the daemon's limit.  tests/check_alloc.c tests the allocator itself. */
START_TEST(test_block_cache)
{
    struct td_status st = TD_STATUS_INIT;
    td_alloc_empty_cache();
    struct td_storage *a = td_storage_new(3 << 20, &st);
    ck_assert_ptr_nonnull(a);
    char *first = a->data;
    td_storage_unref(a);
    ck_assert_uint_ge(td_alloc_cached_bytes(), 3 << 20);
    struct td_storage *b = td_storage_new((3 << 20) - 100, &st); /* same rounded size */
    ck_assert_ptr_eq(b->data, first);
    ck_assert_uint_lt(td_alloc_cached_bytes(), 3 << 20);
    td_storage_unref(b);
    td_alloc_set_limit(4 << 20);
    struct td_storage *c = td_storage_new(2 << 20, &st);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_lt(td_alloc_cached_bytes(), 1 << 20);
    td_storage_unref(c);
    td_alloc_set_limit(0);
    td_alloc_empty_cache();
    ck_assert_uint_lt(td_alloc_cached_bytes(), 64 << 10);
}
END_TEST

/* Bool storage holds only 0 and 1: uploaded bytes are normalized (nonzero is true) and
 * EMPTY zeroes its block; ops then read valid _Bools (UBSan aborts on an invalid load). */
START_TEST(test_bool_storage_is_0_or_1)
{
    struct td_session *s = td_session_new(1, "test");
    struct batch b = {.n = 0};
    int64_t e[3] = {TD_DTYPE_BOOL, 1, 4};
    uint64_t h = 1, h2 = 2, h3 = 3;
    rec(&b, TD_OP_EMPTY, 0, 1, &h, 0, NULL, 3, e);
    rec(&b, TD_OP_EMPTY, 0, 1, &h2, 0, NULL, 3, e);
    const uint8_t bytes[4] = {0, 1, 2, 255};
    memcpy(b.payload, bytes, 4);
    b.np = 4;
    int64_t up[3] = {0, 4, 0}, rd[2] = {0, 4};
    rec(&b, TD_OP_UPLOAD, 0, 0, NULL, 1, &h, 3, up);
    rec(&b, TD_OP_EXP, 0, 1, &h3, 1, &h, 0, NULL);
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, &h, 2, rd);
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, &h2, 2, rd);
    struct td_reply r;
    run(s, &b, &r);
    ck_assert_int_eq(r.code, TD_CODE_OK);
    ck_assert_uint_eq(r.payload_len, 8);
    const uint8_t want[8] = {0, 1, 1, 1, 0, 0, 0, 0};
    ck_assert_mem_eq(r.payload, want, 8);
    td_reply_fini(&r);
    td_session_free(s);
}
END_TEST

/* A block one session freed, handed to another by EMPTY, reads as zeros: not the first
 * session's values, not the block cache's free-list link (release builds reuse the very
 * block; sanitizer builds get ASan's fill pattern unless EMPTY zeroes). */
START_TEST(test_empty_shows_no_other_session)
{
    struct td_session *a = td_session_new(1, "a"), *c = td_session_new(2, "b");
    struct batch b = {.n = 0};
    const int64_t n = 1 << 18; /* 1 MiB of float32: a cached block size */
    double v = 42.0;
    int64_t bits;
    memcpy(&bits, &v, sizeof bits);
    int64_t full[5] = {TD_DTYPE_FLOAT32, 1, n, TD_SCALAR_FLOAT, bits};
    uint64_t h = 1;
    rec(&b, TD_OP_FULL, 0, 1, &h, 0, NULL, 5, full);
    rec(&b, TD_OP_RELEASE, 0, 0, NULL, 1, &h, 0, NULL);
    struct td_reply r;
    run(a, &b, &r);
    ck_assert_int_eq(r.code, TD_CODE_OK);
    td_reply_fini(&r);
    /* TD_RF_UNINIT leaves only uint8 blocks as they are (numpy conversions): a float32
     * EMPTY with it is zeroed all the same */
    int64_t e[3] = {TD_DTYPE_FLOAT32, 1, n}, rd[2] = {0, 4096};
    h = 7;
    rec(&b, TD_OP_EMPTY, _i ? TD_RF_UNINIT : 0, 1, &h, 0, NULL, 3, e);
    rec(&b, TD_OP_READ, 0, 0, NULL, 1, &h, 2, rd);
    run(c, &b, &r);
    ck_assert_int_eq(r.code, TD_CODE_OK);
    ck_assert_uint_eq(r.payload_len, 4096);
    for (int i = 0; i < 4096; i++)
        ck_assert_msg(r.payload[i] == 0, "byte %d of a fresh EMPTY is %u", i, r.payload[i]);
    td_reply_fini(&r);
    td_session_free(a);
    td_session_free(c);
    td_alloc_empty_cache();
}
END_TEST

/* The batch of test_native_half_path: float16/bfloat16 (dt) operands through binary ops
 * (tensor, scalar, in place, out=), a reduction, a comparison, matmul, argmax, a unary op,
 * softmax, and one half + float32 op (whose result is float32: never native); every
 * result read back. */
static void half_batch(struct batch *b, int dt, bool on_device)
{
    const float xv[6] = {0.5f, -1.25f, 3, 1e-3f, -7, 100}, yv[6] = {0.25f, -1.25f, 2, 4, 0.1f, -100};
    const float mv[6] = {1, 2, 3, 4, 5, 6}, fv[6] = {1.5f, 2, -3, 0.125f, 9, 1e4f};
    uint16_t xh[6], yh[6], mh[6];
    for (int i = 0; i < 6; i++) {
        xh[i] = dt == TD_DTYPE_FLOAT16 ? td_float_to_half(xv[i]) : td_float_to_bf16(xv[i]);
        yh[i] = dt == TD_DTYPE_FLOAT16 ? td_float_to_half(yv[i]) : td_float_to_bf16(yv[i]);
        mh[i] = dt == TD_DTYPE_FLOAT16 ? td_float_to_half(mv[i]) : td_float_to_bf16(mv[i]);
    }
    int64_t dev = 1, e23[4] = {dt, 2, 2, 3}, e32[4] = {dt, 2, 3, 2}, ef[4] = {TD_DTYPE_FLOAT32, 2, 2, 3};
    if (on_device)
        rec(b, TD_OP_SET_DEVICE, 0, 0, NULL, 0, NULL, 1, &dev);
    rec(b, TD_OP_EMPTY, 0, 1, (uint64_t[]){1}, 0, NULL, 4, e23);
    rec(b, TD_OP_EMPTY, 0, 1, (uint64_t[]){2}, 0, NULL, 4, e23);
    rec(b, TD_OP_EMPTY, 0, 1, (uint64_t[]){3}, 0, NULL, 4, e32);
    rec(b, TD_OP_EMPTY, 0, 1, (uint64_t[]){4}, 0, NULL, 4, ef);
    rec(b, TD_OP_EMPTY, 0, 1, (uint64_t[]){12}, 0, NULL, 4, e23);
    const void *src[4] = {xh, yh, mh, fv};
    const int64_t len[4] = {12, 12, 12, 24};
    for (uint64_t h = 1; h <= 4; h++) {
        int64_t up[3] = {0, len[h - 1], (int64_t)b->np};
        memcpy(b->payload + b->np, src[h - 1], (size_t)len[h - 1]);
        b->np += (size_t)len[h - 1];
        rec(b, TD_OP_UPLOAD, 0, 0, NULL, 1, &h, 3, up);
    }
    double two5 = 2.5;
    int64_t none[2] = {0, 0}, sc[2] = {TD_SCALAR_FLOAT, 0}, red[4] = {2, 0, -1, 0}, sm[2] = {1, -1};
    memcpy(&sc[1], &two5, 8);
    rec(b, TD_OP_ADD, 0, 1, (uint64_t[]){10}, 2, (uint64_t[]){1, 2}, 2, none);
    rec(b, TD_OP_ADD, 0, 1, (uint64_t[]){11}, 1, (uint64_t[]){1}, 2, sc);
    rec(b, TD_OP_MUL, TD_RF_INPLACE, 0, NULL, 2, (uint64_t[]){10, 2}, 2, none);
    rec(b, TD_OP_SUB, TD_RF_OUT, 0, NULL, 3, (uint64_t[]){1, 2, 12}, 2, none);
    rec(b, TD_OP_SUM, 0, 1, (uint64_t[]){13}, 1, (uint64_t[]){1}, 4, red);
    rec(b, TD_OP_EQ, 0, 1, (uint64_t[]){14}, 2, (uint64_t[]){1, 2}, 2, none);
    rec(b, TD_OP_MATMUL, 0, 1, (uint64_t[]){15}, 2, (uint64_t[]){1, 3}, 0, NULL);
    rec(b, TD_OP_ARGMAX, 0, 1, (uint64_t[]){16}, 1, (uint64_t[]){1}, 4, red);
    rec(b, TD_OP_EXP, 0, 1, (uint64_t[]){17}, 1, (uint64_t[]){1}, 0, NULL);
    rec(b, TD_OP_SOFTMAX, 0, 1, (uint64_t[]){18}, 1, (uint64_t[]){1}, 2, sm);
    rec(b, TD_OP_ADD, 0, 1, (uint64_t[]){19}, 2, (uint64_t[]){1, 4}, 2, none);
    const uint64_t outs[10] = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
    const int64_t bytes[10] = {12, 12, 12, 4, 6, 8, 16, 12, 12, 24};
    for (int i = 0; i < 10; i++) {
        int64_t rd[2] = {0, bytes[i]};
        rec(b, TD_OP_READ, 0, 0, NULL, 1, &outs[i], 2, rd);
    }
}

/* float16/bfloat16 on a device with native half kernels (kernels/device.h half_kernel,
 * here the stand-in's): the ops whose operands share one half dtype run natively (no
 * casts) and give exactly the cast path's bytes, which are the CPU's. */
START_TEST(test_native_half_path)
{
    int dt = _i ? TD_DTYPE_BFLOAT16 : TD_DTYPE_FLOAT16;
    td_devices_init(&(struct td_devices_config){.fake = 1, .fake_memory = 64 << 20});
    struct batch b = {.n = 0};
    struct td_reply r[3];
    for (int pass = 0; pass < 3; pass++) { /* the CPU; the device casting; the device native */
        struct td_session *s = td_session_new(1 + pass, "half");
        td_device_host_half_kernels(pass == 2);
        uint64_t before = td_device_host_half_calls();
        half_batch(&b, dt, pass > 0);
        run(s, &b, &r[pass]);
        ck_assert_int_eq(first_code(&r[pass]), TD_CODE_OK);
        ck_assert_uint_eq(r[pass].payload_len, 118);
        /* every op but the half + float32 one, natively */
        ck_assert_uint_eq(td_device_host_half_calls() - before, pass == 2 ? 10 : 0);
        td_session_free(s);
    }
    td_device_host_half_kernels(false);
    ck_assert_mem_eq(r[1].payload, r[0].payload, 118);
    ck_assert_mem_eq(r[2].payload, r[0].payload, 118);
    /* and the values are right: x + y, first element, in the half dtype */
    uint16_t y0;
    memcpy(&y0, r[2].payload, 2);
    ck_assert_float_eq(dt == TD_DTYPE_FLOAT16 ? td_half_to_float(y0) : td_bf16_to_float(y0), 0.75f * 0.25f);
    for (int pass = 0; pass < 3; pass++)
        td_reply_fini(&r[pass]);
    td_devices_fini();
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("exec");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_add_and_read);
    tcase_add_test(tc, test_profile_counts_ops);
    tcase_add_test(tc, test_view_writes_through);
    tcase_add_test(tc, test_failure_marks_only_dependents);
    tcase_add_test(tc, test_cancel_stops_between_records);
    tcase_add_test(tc, test_out_record_without_destinations);
    tcase_add_test(tc, test_overlap_refused);
    tcase_add_test(tc, test_upload_bounds);
    tcase_add_test(tc, test_dtype_plumbing);
    tcase_add_test(tc, test_absurd_sizes);
    tcase_add_test(tc, test_block_cache);
    tcase_add_test(tc, test_bool_storage_is_0_or_1);
    tcase_add_loop_test(tc, test_empty_shows_no_other_session, 0, 2);
    tcase_add_test(tc, test_device_fault_is_attributed);
    tcase_add_loop_test(tc, test_native_half_path, 0, 2);
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("faults");
    tcase_set_timeout(tf, 120);
    tcase_add_test(tf, test_malformed_records);
    tcase_add_test(tf, test_alloc_failures);
    suite_add_tcase(s, tf);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(session_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
