/*
 * exec.h — runs one non-view op through the CPU kernel table: allocates outputs,
 * casts inputs to the compute dtype, computes float16/bfloat16 in float32, writes
 * in-place results back through the target view.  Internal to the daemon.
 */
#ifndef TD_EXEC_H
#define TD_EXEC_H

#include "../kernels/device.h"
#include "../kernels/kernel.h"
#include "handles.h"

/* Where an op runs: the CPU, or a device with the backend serving it and the
 * session's stream on it. */
struct td_place {
    uint8_t device; /* kernels/device.h numbering */
    td_stream_t stream;
    const struct td_device_backend *b;
    unsigned options; /* TD_KOPT_* of the session */
};

/* in: resolved inputs; out_m: metas from td_meta_infer; res: filled with the new
 * tensors (one storage reference each) for inf->n_out outputs, untouched for in-place.
 * p: where the op runs (td_meta_op_device); src: where copy_'s source lives (only read
 * when that differs, for transfers between devices).  An op the device has no kernel
 * for runs on the CPU with its operands staged through host memory. */
enum td_code td__exec_kernel(const struct td_op_args *a, const struct td_infer *inf, struct td_tensor *const *in,
                             const struct td_meta *out_m, struct td_tensor *res, struct td_rng *rng,
                             const struct td_place *p, const struct td_place *src, struct td_status *st);

/* UPLOAD's copy of len payload bytes into tensor bytes at dst (dtype dt): a plain copy,
 * except that bool tensors get each byte normalized to 0 or 1 (nonzero is true, as
 * numpy's astype(bool) reads it), so bool storage never holds another value and kernels
 * may load it as _Bool.  len may be 0 (then src may be NULL). */
void td__exec_upload(enum td_dtype dt, char *dst, const uint8_t *src, size_t len);

#endif
