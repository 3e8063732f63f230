/*
 * exec.h — runs one non-view op through the CPU kernel table: allocates outputs,
 * casts inputs to the compute dtype, computes float16/bfloat16 in float32, writes
 * in-place results back through the target view.  Internal to the daemon.
 */
#ifndef TD_EXEC_H
#define TD_EXEC_H

#include "../kernels/kernel.h"
#include "handles.h"

/* in: resolved inputs; out_m: metas from td_meta_infer; res: filled with the new
 * tensors (one storage reference each) for inf->n_out outputs, untouched for in-place. */
enum td_code td__exec_kernel(const struct td_op_args *a, const struct td_infer *inf, struct td_tensor *const *in,
                             const struct td_meta *out_m, struct td_tensor *res, struct td_rng *rng,
                             struct td_status *st);

#endif
