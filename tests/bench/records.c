/* records.c — the executor's cost per small op, without a client: batches of
 * `c = a + b` on 1000-element float32 tensors (each dropping the previous c), run through
 * td_session_exec directly.  Prints ns per ADD + RELEASE pair, min and median of reps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../daemon/alloc.h"
#include "../../daemon/session.h"
#include "../../kernels/meta.h"

static uint64_t w[1 << 16];
static size_t nw;

static void rec(unsigned op, int n_out, const uint64_t *outs, int n_in, const uint64_t *ins, int n_attr,
                const int64_t *attrs)
{
    struct td_rec_hdr h = {
        (uint16_t)(1 + n_out + n_in + n_attr), (uint16_t)op, (uint8_t)n_out, (uint8_t)n_in, (uint8_t)n_attr, 0};
    memcpy(&w[nw++], &h, 8);
    for (int i = 0; i < n_out; i++)
        w[nw++] = outs[i];
    for (int i = 0; i < n_in; i++)
        w[nw++] = ins[i];
    for (int i = 0; i < n_attr; i++)
        w[nw++] = (uint64_t)attrs[i];
}

static void run(struct td_session *s)
{
    struct td_reply r;
    td_reply_init(&r);
    td_session_exec(s, (const uint8_t *)w, nw * 8, NULL, 0, 0, &r);
    if (r.n_errors)
        fprintf(stderr, "record failed: %s\n", r.errors[0].msg), exit(1);
    td_reply_fini(&r);
    nw = 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    int per_batch = 2000, batches = argc > 1 ? atoi(argv[1]) : 200, reps = 9;
    struct td_session *s = td_session_new(1, "bench");
    int64_t e[3] = {TD_DTYPE_FLOAT32, 1, 1000};
    uint64_t a = 1, b = 2, c = 3;
    rec(TD_OP_EMPTY, 1, &a, 0, NULL, 3, e);
    rec(TD_OP_EMPTY, 1, &b, 0, NULL, 3, e);
    rec(TD_OP_EMPTY, 1, &c, 0, NULL, 3, e);
    run(s);
    double t[16];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int i = 0; i < batches; i++) {
            for (int j = 0; j < per_batch; j++) {
                uint64_t in[2] = {a, b}, out = c + 1;
                int64_t scal[2] = {0, 0};
                rec(TD_OP_ADD, 1, &out, 2, in, 2, scal);
                rec(TD_OP_RELEASE, 0, NULL, 1, &c, 0, NULL);
                c = out;
            }
            run(s);
        }
        t[r] = (now() - t0) / ((double)batches * per_batch) * 1e9;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp);
    printf("add+release: min %.0f ns, median %.0f ns per op\n", t[0], t[reps / 2]);
    td_session_free(s);
    return 0;
}
