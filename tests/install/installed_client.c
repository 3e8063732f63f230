/*
 * installed_client.c — a C program built against the installed libtensord alone:
 * `make check-install` stages `make install`, compiles this file with nothing but
 * `pkg-config --cflags --libs tensord` from the stage, and runs it against a daemon on
 * a private socket.  It proves that tensord.h is complete (everything it names is
 * declared by installed headers: struct td_stats, td_default_address, the op table) and
 * that libtensord links and runs without the source tree.
 *
 * Usage: installed_client ADDRESS.  Prints the results and the daemon's counters; exits
 * 0 when the results match the host computation and the counters are plausible.
 */
#include <stdio.h>

#include <tensord.h>

static int fail(const char *what, const struct td_status *st)
{
    fprintf(stderr, "installed_client: %s: %s (%s)\n", what, st->msg, td_code_name(st->code));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: installed_client ADDRESS\n");
        return 2;
    }
    char def[512];
    printf("default address: %s\n", td_default_address(def, sizeof def));

    struct td_status st = TD_STATUS_INIT;
    td_client_t *c = td_client_connect(argv[1], 10000, &st);
    if (!c)
        return fail("connect", &st);

    /* full(2x3, 1.5) * 2 + arange-free data, summed: every value is exact in float32 */
    int64_t sizes[2] = {2, 3};
    float host[6] = {1, 2, 3, 4, 5, 6};
    struct td_t a, b, x, y, s;
    if (td_full(c, TD_DTYPE_FLOAT32, 2, sizes, 1.5, &a, &st) || td_from_data(c, TD_DTYPE_FLOAT32, 2, sizes, host, &b, &st) ||
        td_binary_scalar(c, TD_OP_MUL, &a, 2.0, &x, &st) || td_binary(c, TD_OP_ADD, &x, &b, &y, &st) ||
        td_reduce(c, TD_OP_SUM, &y, NULL, 0, 0, &s, &st))
        return fail("record", &st);
    float hy[6], hs;
    if (td_download(c, &y, hy, sizeof hy, &st) || td_download(c, &s, &hs, sizeof hs, &st))
        return fail("download", &st);
    int bad = hs != 39.0f;
    for (int i = 0; i < 6; i++)
        bad |= hy[i] != 3.0f + host[i];
    printf("y = [%g %g %g; %g %g %g], sum = %g\n", hy[0], hy[1], hy[2], hy[3], hy[4], hy[5], hs);

    /* a typed record builder (td_ops.h): y.sum(dim=1, keepdim=True) -> [[15], [24]] */
    struct td_sum_args sa = {.dim = 1u << 1, .keepdim = 1, .dtype = -1};
    const struct td_t *yin[1] = {&y};
    struct td_t r;
    float hr[2];
    if (td_rec_sum(c, 0, yin, 1, &sa, &r, &st) || td_download(c, &r, hr, sizeof hr, &st))
        return fail("td_rec_sum", &st);
    bad |= r.m.ndim != 2 || r.m.sizes[0] != 2 || r.m.sizes[1] != 1 || hr[0] != 15.0f || hr[1] != 24.0f;
    printf("y.sum(1, keepdim) = [%g; %g]\n", hr[0], hr[1]);
    td_release(c, &r);

    /* the daemon's counters, over their own call, while this session still holds tensors */
    struct td_stats stats;
    if (td_client_stats(argv[1], &stats, &st))
        return fail("stats", &st);
    printf("stats: sessions %llu (total %llu), tensors %llu, bytes in use %llu (peak %llu), ops %llu\n",
           (unsigned long long)stats.sessions, (unsigned long long)stats.sessions_total,
           (unsigned long long)stats.tensors, (unsigned long long)stats.bytes_in_use,
           (unsigned long long)stats.bytes_peak, (unsigned long long)stats.ops_executed);
    bad |= stats.sessions < 1 || stats.tensors < 5 || stats.bytes_in_use < 5 * sizeof host / 6 ||
           stats.ops_executed < 5;

    struct td_t *all[] = {&a, &b, &x, &y, &s};
    for (int i = 0; i < 5; i++)
        td_release(c, all[i]);
    if (td_sync(c, &st))
        return fail("sync", &st);
    td_client_free(c);
    if (bad) {
        fprintf(stderr, "installed_client: results or counters are wrong\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
