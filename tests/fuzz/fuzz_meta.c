/*
 * fuzz_meta.c — libFuzzer target over the meta layer alone (kernels/shape*.c:
 * td_meta_infer), which the daemon runs on every record and libtensord on every call.
 * The bytes describe one op application: the op, its flags, input metas (each a valid
 * view on its storage, as every live tensor is) and attributes.  Invariants checked:
 *   - a successful inference names at most TD_MAX_OUTPUTS outputs, and each is a meta
 *     td_meta_check_bounds accepts on a valid device (a view: within its input's storage);
 *   - a failure returns the code it stored, with a message (ABORTED, out='s "compute out
 *     of place" answer, needs none);
 *   - no sanitizer report (overflow, out-of-bounds read of attrs or inputs), no crash.
 *
 * Input layout (make_corpus.py --meta writes seeds):
 *   u16 op (modulo TD_OP_COUNT + 1: one number past the table too), u8 flags (3 bits),
 *   u8 n_in (modulo MAX_IN + 1), u8 default float (0..3: float32/64/16, bfloat16), u8 device;
 *   per input: u8 dtype, u8 ndim (modulo 7), u8 device, u8 offset, u8 slack bytes,
 *     then ndim sizes and ndim strides, one byte each (0xff: a large value, 2^20);
 *     a zero stride byte with a nonzero size means "contiguous" for that dim;
 *   attrs: the rest, each a tag byte: < 0x80 the value tag - 32 (-32..95), else the next
 *     8 bytes little endian.  At most 255 attrs (a record's n_attr is a byte).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/meta.h"

#define MAX_IN 6
#define MAX_NDIM 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reader {
    const uint8_t *p;
    size_t n;
};

static uint8_t byte(struct reader *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

static int64_t dim_value(uint8_t b) { return b == 0xff ? INT64_C(1) << 20 : b & 7; }

/* A valid view: sizes and strides from the bytes, the storage just large enough plus slack. */
static bool read_meta(struct reader *r, struct td_meta *m)
{
    memset(m, 0, sizeof *m);
    m->dtype = (uint8_t)(byte(r) % TD_DTYPE_COUNT);
    m->ndim = (uint8_t)(byte(r) % (MAX_NDIM + 1));
    m->device = (uint8_t)(byte(r) % 3);
    m->offset = byte(r) & 15;
    int64_t slack = byte(r);
    for (int i = 0; i < m->ndim; i++)
        m->sizes[i] = dim_value(byte(r));
    int64_t contiguous = 1, last = m->offset, t;
    bool empty = false;
    for (int i = m->ndim - 1; i >= 0; i--) {
        uint8_t b = byte(r);
        m->strides[i] = b ? dim_value(b) : contiguous;
        if (m->sizes[i] > 1 && __builtin_mul_overflow(contiguous, m->sizes[i], &contiguous))
            return false;
        empty |= m->sizes[i] == 0;
        if (m->sizes[i] > 0 && (__builtin_mul_overflow(m->sizes[i] - 1, m->strides[i], &t) ||
                                __builtin_add_overflow(last, t, &last)))
            return false;
    }
    if (__builtin_mul_overflow(empty ? m->offset : last + 1, (int64_t)td_dtype_size(m->dtype), &t) ||
        __builtin_add_overflow(t, slack, &m->storage_nbytes))
        return false;
    return td_meta_check_bounds(m) && m->storage_nbytes <= (INT64_C(1) << 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum td_dtype floats[4] = {TD_DTYPE_FLOAT32, TD_DTYPE_FLOAT64, TD_DTYPE_FLOAT16, TD_DTYPE_BFLOAT16};
    struct reader r = {data, size};
    struct td_meta in[MAX_IN];
    const struct td_meta *inp[MAX_IN];
    int64_t attrs[255];
    uint16_t op = (uint16_t)(byte(&r) | byte(&r) << 8);
    struct td_op_args a = {
        .op = (uint16_t)(op % (TD_OP_COUNT + 1)),
        .flags = byte(&r) & 7,
        .n_in = byte(&r) % (MAX_IN + 1),
        .in = inp,
        .attrs = attrs,
        .default_float = floats[byte(&r) & 3],
        .device = (uint8_t)(byte(&r) % 3),
    };
    for (int i = 0; i < a.n_in; i++) {
        if (!read_meta(&r, &in[i]))
            return 0;
        inp[i] = &in[i];
    }
    while (r.n && a.n_attr < 255) {
        uint8_t t = byte(&r);
        int64_t v = (int64_t)t - 32;
        if (t & 0x80) {
            uint64_t u = 0;
            for (int k = 0; k < 8; k++)
                u |= (uint64_t)byte(&r) << (8 * k);
            memcpy(&v, &u, sizeof v);
        }
        attrs[a.n_attr++] = v;
    }
    /* exactly n_attr words, as a record carries: ASan sees any read past them */
    int64_t *exact = malloc(a.n_attr ? a.n_attr * sizeof *exact : 1);
    const struct td_meta **exact_in = malloc(a.n_in ? a.n_in * sizeof *exact_in : 1);
    if (!exact || !exact_in)
        abort();
    memcpy(exact, attrs, a.n_attr * sizeof *exact);
    memcpy(exact_in, inp, a.n_in * sizeof *exact_in);
    a.attrs = exact;
    a.in = exact_in;

    struct td_meta out[TD_MAX_OUTPUTS];
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    enum td_code code = td_meta_infer(&a, out, &inf, &st);
    if (code != st.code)
        abort();
    if (code == TD_CODE_OK) {
        if (inf.n_out > TD_MAX_OUTPUTS || !td_dtype_valid(inf.compute_dtype))
            abort();
        for (int i = 0; i < inf.n_out; i++) {
            if (!td_meta_check_bounds(&out[i]) || out[i].device >= TD_MAX_DEVICES)
                abort();
        }
        if (inf.out_is_view && inf.n_out && (a.n_in < 1 || out[0].storage_nbytes != in[0].storage_nbytes))
            abort(); /* a view lies in input 0's storage */
    } else if (code != TD_CODE_ABORTED && !st.msg[0]) {
        abort();
    }
    free(exact);
    free(exact_in);
    return 0;
}
