/*
 * check_streams.c — a session's CUDA streams and events through libtensord, against a
 * real daemon serving two host stand-in GPUs (--fake-gpus 2): results across streams
 * ordered with events, allocations following the current stream (the device
 * allocator's per-stream pools, seen in its counters), queries, synchronization,
 * elapsed time, record_stream, and hostile use (unknown ids, double destroy, the cap,
 * wrong devices).  Every test ends with the daemon's clean exit, so streams, events and
 * blocks left at session end must not leak (LSan).
 */
#include <check.h>
#include <string.h>

#include "check_client.h"

/* a daemon serving two host stand-in GPUs */
static void fake_gpus_setup(void)
{
    daemon_extra_args[0] = "--fake-gpus";
    daemon_extra_args[1] = "2";
    client_setup();
}


/* call fails with code and a message containing want (call's own code, or the sync's). */
#define FAILS(call, want_code, want)                                                                                   \
    do {                                                                                                               \
        struct td_status st_ = TD_STATUS_INIT;                                                                         \
        struct td_status *st = &st_;                                                                                   \
        enum td_code code_ = (call);                                                                                   \
        if (!code_)                                                                                                    \
            code_ = td_sync(c, st);                                                                                    \
        ck_assert_msg(code_ == (want_code), "%s: code %s (%s), want %s", #call, td_code_name(code_), st_.msg,          \
                      td_code_name(want_code));                                                                        \
        ck_assert_msg(strstr(st_.msg, want), "%s: message '%s' lacks '%s'", #call, st_.msg, want);                     \
    } while (0)

static struct td_t full(double v, int64_t n)
{
    struct td_t t;
    OK(td_full(c, TD_DTYPE_FLOAT32, 1, &n, v, &t, st));
    return t;
}

static int64_t memory_word(uint8_t device, int i)
{
    int64_t w[TD_DEVICE_QUERY_BYTES / 8];
    OK(td_device_query(c, device, TD_DQ_MEMORY, w, st));
    return w[i];
}

START_TEST(test_ordered_across_streams)
{
    int64_t s1, s2, ev, t0, t1;
    OK(td_client_set_device(c, 1, st));
    OK(td_stream_new(c, 1, &s1, st));
    OK(td_stream_new(c, 1, &s2, st));
    ck_assert_int_ne(s1, s2);
    OK(td_event_new(c, TD_EVENT_TIMING, &ev, st));
    OK(td_event_new(c, TD_EVENT_TIMING, &t0, st));
    OK(td_event_new(c, TD_EVENT_TIMING, &t1, st));
    OK(td_event_record(c, t0, 1, 0, st));
    /* produce on s1, consume on s2 after waiting for s1's event */
    OK(td_stream_set(c, 1, s1, st));
    struct td_t a = full(2.0, 1000), b = full(3.0, 1000), p, q;
    OK(td_binary(c, TD_OP_MUL, &a, &b, &p, st));
    OK(td_event_record(c, ev, 1, s1, st));
    OK(td_stream_set(c, 1, s2, st));
    OK(td_stream_wait_event(c, 1, s2, ev, st));
    OK(td_binary(c, TD_OP_ADD, &p, &a, &q, st));
    OK(td_event_record(c, t1, 1, s2, st));
    OK(td_stream_set(c, 1, 0, st));
    float got[1000];
    OK(td_download(c, &q, got, sizeof got, st)); /* waits for every stream of cuda:0 */
    for (int i = 0; i < 1000; i++)
        ck_assert_msg(got[i] == 8.0f, "element %d: %g", i, got[i]);
    bool done = false;
    OK(td_event_query(c, ev, &done, st));
    ck_assert(done);
    OK(td_stream_query(c, 1, s2, &done, st));
    ck_assert(done);
    OK(td_stream_query(c, 1, 0, &done, st));
    ck_assert(done);
    OK(td_stream_synchronize(c, 1, s1, st));
    OK(td_event_synchronize(c, t1, st));
    double ms = -1;
    OK(td_event_elapsed(c, t0, t1, &ms, st));
    ck_assert_msg(ms >= 0, "elapsed %g ms", ms);
    OK(td_device_ctrl(c, 1, TD_DC_SYNCHRONIZE, 0, st));
    td_release(c, &a), td_release(c, &b), td_release(c, &p), td_release(c, &q);
    OK(td_stream_free(c, 1, s1, st));
    OK(td_event_free(c, ev, st));
    OK(td_sync(c, st));
    /* s2, t0, t1 are left for the session's end to free */
}
END_TEST

/* Allocations follow the current stream: a block released on the default stream is
 * reused there at once, and never by another stream (the allocator's per-stream pools). */
START_TEST(test_allocations_follow_the_current_stream)
{
    enum { RESERVED = 1, CACHE_HITS = 6 };
    int64_t s1;
    OK(td_client_set_device(c, 1, st));
    struct td_t a = full(1.0, 1 << 16);
    td_release(c, &a);
    OK(td_sync(c, st));
    int64_t hits = memory_word(1, CACHE_HITS), reserved = memory_word(1, RESERVED);
    struct td_t b = full(1.0, 1 << 16); /* default stream: takes the cached block */
    OK(td_sync(c, st));
    ck_assert_int_eq(memory_word(1, CACHE_HITS), hits + 1);
    ck_assert_int_eq(memory_word(1, RESERVED), reserved);
    td_release(c, &b);
    OK(td_stream_new(c, 1, &s1, st));
    OK(td_stream_set(c, 1, s1, st));
    struct td_t x = full(1.0, 1 << 16); /* s1: a pool of its own, new memory */
    OK(td_sync(c, st));
    ck_assert_int_eq(memory_word(1, CACHE_HITS), hits + 1);
    ck_assert_int_gt(memory_word(1, RESERVED), reserved);
    /* record_stream on the default stream, then destroy s1 with x still live: x stays
     * valid, and releasing it later records nothing on the freed stream */
    OK(td_record_stream(c, &x, 0, st));
    OK(td_stream_set(c, 1, 0, st));
    struct td_t y = full(2.0, 1 << 16), z;
    OK(td_record_stream(c, &y, s1, st));
    OK(td_stream_free(c, 1, s1, st));
    OK(td_binary(c, TD_OP_ADD, &x, &y, &z, st));
    static float got[1 << 16];
    OK(td_download(c, &z, got, sizeof got, st));
    for (int i = 0; i < 1 << 16; i++)
        ck_assert_msg(got[i] == 3.0f, "element %d: %g", i, got[i]);
    td_release(c, &x), td_release(c, &y), td_release(c, &z);
    OK(td_sync(c, st));
    OK(td_device_ctrl(c, 1, TD_DC_EMPTY_CACHE, 0, st));
    ck_assert_int_eq(memory_word(1, 0), 0); /* nothing allocated any more */
}
END_TEST

START_TEST(test_hostile_use)
{
    int64_t s1, s2, ev, ev2, ids[TD_SESSION_MAX_STREAMS];
    OK(td_stream_new(c, 1, &s1, st));
    OK(td_stream_new(c, 2, &s2, st));
    FAILS(td_stream_set(c, 1, 999999, st), TD_CODE_NOT_FOUND, "stream 999999 does not exist");
    FAILS(td_stream_set(c, 1, s2, st), TD_CODE_INVALID_ARGUMENT, "is on cuda:1, not cuda:0");
    FAILS(td_stream_free(c, 1, 0, st), TD_CODE_INVALID_ARGUMENT, "default stream cannot be destroyed");
    FAILS(td_stream_synchronize(c, 5, 0, st), TD_CODE_INVALID_ARGUMENT, "invalid device ordinal");
    FAILS(td_stream_synchronize(c, 0, 0, st), TD_CODE_INVALID_ARGUMENT, "invalid device ordinal");
    OK(td_stream_free(c, 1, s1, st));
    FAILS(td_stream_free(c, 1, s1, st), TD_CODE_NOT_FOUND, "does not exist");
    bool done;
    FAILS(td_stream_query(c, 1, s1, &done, st), TD_CODE_NOT_FOUND, "does not exist");
    OK(td_event_new(c, 0, &ev, st));
    OK(td_event_new(c, TD_EVENT_TIMING, &ev2, st));
    OK(td_event_query(c, ev, &done, st)); /* never recorded: complete */
    ck_assert(done);
    double ms;
    FAILS(td_event_elapsed(c, ev, ev2, &ms, st), TD_CODE_INVALID_ARGUMENT, "enable_timing=True");
    FAILS(td_event_elapsed(c, ev2, ev2, &ms, st), TD_CODE_INVALID_ARGUMENT, "must be recorded");
    OK(td_event_record(c, ev, 2, s2, st));
    FAILS(td_event_record(c, ev, 1, 0, st), TD_CODE_INVALID_ARGUMENT, "does not match recording stream's device");
    OK(td_stream_wait_event(c, 1, 0, ev, st)); /* another device's event: waited for by the host */
    OK(td_event_free(c, ev, st));
    FAILS(td_event_free(c, ev, st), TD_CODE_NOT_FOUND, "does not exist");
    FAILS(td_event_synchronize(c, 123456789, st), TD_CODE_NOT_FOUND, "does not exist");
    FAILS(td_stream_wait_event(c, 2, s2, ev, st), TD_CODE_NOT_FOUND, "event");
    /* the cap: s2 is one of them */
    for (int i = 0; i < TD_SESSION_MAX_STREAMS - 1; i++)
        OK(td_stream_new(c, 1 + i % 2, &ids[i], st));
    FAILS(td_stream_new(c, 1, &ids[TD_SESSION_MAX_STREAMS - 1], st), TD_CODE_RESOURCE_EXHAUSTED, "64 streams");
    OK(td_stream_free(c, 1, ids[0], st));
    OK(td_stream_new(c, 1, &ids[0], st));
    /* a CPU tensor has no device memory to record */
    int64_t n = 4;
    struct td_t t;
    OK(td_client_set_device(c, 0, st));
    OK(td_full(c, TD_DTYPE_FLOAT32, 1, &n, 1.0, &t, st));
    FAILS(td_record_stream(c, &t, 0, st), TD_CODE_UNIMPLEMENTED, "'CPU' backend");
    td_release(c, &t);
    /* the session still works, and ends with 64 streams and an event live */
    OK(td_client_set_device(c, 2, st));
    struct td_t d = full(5.0, 4);
    FAILS(td_record_stream(c, &d, ids[0], st), TD_CODE_INVALID_ARGUMENT, "not cuda:1");
    float got[4];
    OK(td_download(c, &d, got, sizeof got, st));
    ck_assert(got[0] == 5.0f);
}
END_TEST

static Suite *streams_suite(void)
{
    Suite *s = suite_create("streams");
    TCase *tc = tcase_create("streams");
    tcase_add_checked_fixture(tc, fake_gpus_setup, client_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_ordered_across_streams);
    tcase_add_test(tc, test_allocations_follow_the_current_stream);
    tcase_add_test(tc, test_hostile_use);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(streams_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
