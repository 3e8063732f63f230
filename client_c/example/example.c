/*
 * example.c — libtensord from C: connect, build tensors, compute, read back.
 * Usage: example_c [ADDRESS]   (default: $TENSORD_ADDRESS or the default socket)
 * Prints the results and exits 0 when they match a host-side computation.
 */
#include <math.h>
#include <stdio.h>

#include "tensord.h"

static int fail(const char *what, const struct td_status *st)
{
    fprintf(stderr, "example: %s: %s (%s)\n", what, st->msg, td_code_name(st->code));
    return 1;
}

int main(int argc, char **argv)
{
    struct td_status st = TD_STATUS_INIT;
    td_client_t *c = td_client_connect(argc > 1 ? argv[1] : NULL, 5000, &st);
    if (!c)
        return fail("connect", &st);

    /* a (2x3) @ b (3x2) + 1, then the sum of all elements */
    float ha[6] = {1, 2, 3, 4, 5, 6}, hb[6] = {0.5f, -1, 2, 0, 1, 3};
    int64_t sa[2] = {2, 3}, sb[2] = {3, 2};
    struct td_t a, b, p, q, s;
    if (td_from_data(c, TD_DTYPE_FLOAT32, 2, sa, ha, &a, &st) || td_from_data(c, TD_DTYPE_FLOAT32, 2, sb, hb, &b, &st) ||
        td_matmul(c, &a, &b, &p, &st) || td_binary_scalar(c, TD_OP_ADD, &p, 1.0, &q, &st) ||
        td_reduce(c, TD_OP_SUM, &q, NULL, 0, 0, &s, &st))
        return fail("record", &st);

    /* a shape error is reported by the call that made it, before anything is sent */
    struct td_t bad;
    struct td_status err = TD_STATUS_INIT;
    if (td_binary(c, TD_OP_ADD, &a, &b, &bad, &err) == TD_CODE_OK)
        return fail("expected a broadcast error", &err);
    printf("expected error: %s\n", err.msg);

    float hq[4], hs;
    if (td_download(c, &q, hq, sizeof hq, &st) || td_download(c, &s, &hs, sizeof hs, &st))
        return fail("download", &st);
    float want[4], total = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            float acc = 1;
            for (int k = 0; k < 3; k++)
                acc += ha[i * 3 + k] * hb[k * 2 + j];
            want[i * 2 + j] = acc;
            total += acc;
        }
    printf("a @ b + 1 = [[%g, %g], [%g, %g]], sum = %g\n", hq[0], hq[1], hq[2], hq[3], hs);
    int bad_values = fabsf(hs - total) > 1e-4f;
    for (int i = 0; i < 4; i++)
        bad_values |= fabsf(hq[i] - want[i]) > 1e-4f;

    struct td_t *all[] = {&a, &b, &p, &q, &s};
    for (int i = 0; i < 5; i++)
        td_release(c, all[i]);
    if (td_sync(c, &st))
        return fail("sync", &st);
    td_client_free(c);
    if (bad_values) {
        fprintf(stderr, "example: results differ from the host computation\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
