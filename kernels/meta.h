/*
 * meta.h — tensor metadata and shape/dtype inference ("meta"), shared by the daemon
 * (which re-validates every record) and libtensord (which raises errors at the call
 * site before recording).  Pure functions, no allocation, no dependencies.
 *
 * A tensor is a view (dtype, sizes, strides in elements, offset in elements) on a
 * storage of storage_nbytes bytes.  Every view this layer produces lies inside its
 * storage: td_meta_check_bounds is the single place that proves it.
 */
#ifndef TD_META_H
#define TD_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/td_record.h"
#include "checked.h"
#include "dtype.h"
#include "op.h"
#include "status.h"

#define TD_MAX_NUMEL (INT64_C(1) << 40) /* absurd-size guard: 1 Ti elements */
#define TD_MAX_INPUTS 255
#define TD_MAX_OUTPUTS 3 /* most outputs one op creates (linalg.svd: U, S, Vh) */
/* Device numbers in metas, storages and records: 0 is the CPU, 1 + i is cuda:i. */
#define TD_DEVICE_CPU 0
#define TD_MAX_DEVICES 16 /* cuda:0 .. cuda:15 */
#define TD_MAX_THREADS 4096 /* largest intra-op thread count (daemon --threads, set_num_threads) */

struct td_meta {
    uint8_t dtype; /* enum td_dtype */
    uint8_t ndim;
    uint8_t device; /* 0: the CPU; 1 + i: cuda:i (kernels/device.h) */
    int64_t offset;         /* elements */
    int64_t storage_nbytes; /* size of the storage this views */
    int64_t sizes[TD_MAX_DIMS];
    int64_t strides[TD_MAX_DIMS];
};

/* One op application, as the record (or the client call) describes it. */
struct td_op_args {
    uint16_t op;
    uint8_t flags;  /* TD_RF_* */
    uint16_t n_in;
    const struct td_meta *const *in;
    const int64_t *attrs;
    uint32_t n_attr;
    enum td_dtype default_float; /* the session's default float dtype */
    uint8_t device;              /* where an op without tensor inputs creates its outputs */
};

/* What inference produces besides the output metas. */
struct td_infer {
    uint8_t n_out;
    uint8_t compute_dtype; /* inputs are cast to this before the kernel runs */
    bool out_is_view;      /* outputs share input 0's storage */
    uint8_t device;        /* where the op runs (td_meta_op_device) */
    /* a float16/bfloat16 common dtype: an input of another dtype is rounded to
       round_dtype before it is widened to compute_dtype, as torch casts operands */
    bool round_inputs;
    uint8_t round_dtype;
};

/* Fills out[0..n_out) (out holds TD_MAX_OUTPUTS metas) and *inf, or returns an error with a PyTorch-like message.
 * INVALID_ARGUMENT: shape/dtype mismatch (RuntimeError); OUT_OF_RANGE: a dim or index
 * out of range (IndexError); FAILED_PRECONDITION: wrong argument kind (TypeError).
 * With TD_RF_OUT the trailing td_meta_n_dst(a) inputs are destinations, not operands:
 * out[] describes the result computed from the others, and ABORTED (no message
 * needed by the caller) says a destination's sizes or dtype differ from it, so the
 * client computes out of place and lets out= cast or resize instead. */
enum td_code td_meta_infer(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                           struct td_status *st);

/* Destination inputs a TD_RF_OUT record carries after its operands (0 without the flag). */
int td_meta_n_dst(const struct td_op_args *a);

/* Contiguous meta of the given sizes on a fresh storage. */
enum td_code td_meta_contiguous(struct td_meta *m, enum td_dtype dt, int ndim,
                                const int64_t *sizes, struct td_status *st);

/* Number of elements; INT64_MAX when the product overflows (unchecked metas). */
int64_t td_meta_numel(const struct td_meta *m);
bool td_meta_is_contiguous(const struct td_meta *m);
/* Every reachable element lies in [0, storage_nbytes), and every size, stride and offset
 * is small enough (TD_MAX_NUMEL) that kernels may multiply them by an item size, and the
 * sizes together (size-0 dims counted as 1), without overflow.  Empty views get the same
 * size/stride/offset limits: no element is touched, but iterators still do arithmetic
 * with their strides.  Overflow anywhere means false. */
bool td_meta_check_bounds(const struct td_meta *m);
/* Normalize dim (may be negative) against ndim; OUT_OF_RANGE like PyTorch. */
enum td_code td_meta_wrap_dim(int64_t *dim, int ndim, struct td_status *st);
/* Broadcasts sizes b (b_ndim dims) into (sizes, *ndim), right-aligned, the way a binary
 * op broadcasts its operands (torch.broadcast_tensors too).  sizes holds TD_MAX_DIMS;
 * b_ndim <= TD_MAX_DIMS.  INVALID_ARGUMENT: "The size of tensor a (3) must match the size
 * of tensor b (4) at non-singleton dimension 1"; sizes is unchanged then. */
enum td_code td_meta_broadcast(int64_t *sizes, int *ndim, const int64_t *b, int b_ndim, struct td_status *st);
/* One shape of torch.broadcast_shapes(*shapes): folds s into (sizes, *ndim), which start
 * empty (*ndim = 0); sizes holds TD_MAX_DIMS.  Unlike td_meta_broadcast, s is unchecked
 * user input: INVALID_ARGUMENT with torch.broadcast_shapes' messages for a negative size
 * or a mismatch (checked from the last dim, as torch does), or for more than TD_MAX_DIMS. */
enum td_code td_meta_broadcast_shapes_add(int64_t *sizes, int *ndim, const int64_t *s, int s_ndim,
                                          struct td_status *st);
/* "[2, 3]" into buf. */
const char *td_meta_shape_str(const struct td_meta *m, char *buf, int len);
/* A tensor's layout as bytes (shape_wire.c: graph definitions, saved graphs):
 * td_meta_wire_size bytes written by td_meta_wire_put; td_meta_wire_take reads one from
 * p (n bytes left) and returns the bytes used, 0 when malformed (m gets offset 0 and the
 * storage_nbytes its strides reach). */
size_t td_meta_wire_size(const struct td_meta *m);
void td_meta_wire_put(const struct td_meta *m, uint8_t *out);
size_t td_meta_wire_take(const uint8_t *p, size_t n, struct td_meta *m);
/* Same dtype, device, sizes and strides (of the dims longer than 1; offsets aside). */
bool td_meta_same_layout(const struct td_meta *x, const struct td_meta *y);
/* "float32[2, 3] (strides [3, 1]) on cpu" into buf. */
const char *td_meta_describe(const struct td_meta *m, char *buf, int len);
/* True when input i of an INDEX-family op (GATHER, SCATTER, INDEX, INDEX_PUT) is an index
 * tensor, which kernels read as the int64 it is (no cast to the compute dtype). */
bool td_meta_input_is_index(enum td_op op, int i);

/* The device an op runs on and creates its outputs on: its tensor inputs' common
 * device, a->device when it has none.  Like PyTorch, 0-dim CPU tensors join another
 * device's element-wise ops as scalars do, and copy_ moves between devices (the
 * destination's device).  INVALID_ARGUMENT: "Expected all tensors to be on the same
 * device, but found at least two devices, cuda:0 and cpu!" */
enum td_code td_meta_op_device(const struct td_op_args *a, uint8_t *device, struct td_status *st);
/* "cpu", "cuda:0" */
const char *td_device_str(uint8_t device, char *buf, int len);

/* Dtype a scalar attribute contributes to promotion. */
enum td_dtype td_scalar_dtype(int64_t kind, enum td_dtype default_float);

#endif
