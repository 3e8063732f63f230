/*
 * views_ctrl.c — the rows that are not computed by a CPU kernel.
 *
 * VIEW family (VIEW AS_STRIDED PERMUTE TRANSPOSE EXPAND SQUEEZE UNSQUEEZE SLICE
 * SELECT DIAGONAL UNFOLD): the executor builds the output meta (td_meta_infer) and aliases the input's
 * storage, so there is nothing to compute and the kernel only says OK.
 * CTRL family (NONE RELEASE UPLOAD READ MANUAL_SEED): stream controls the session
 * executes itself; reaching a kernel means a dispatch bug, hence INTERNAL.
 * They exist so the kernel table has an entry for every row of proto/ops.def.
 */
#include "../kernel.h"

#define VIEW_KERNEL(name) \
    enum td_code td_cpu_##name(struct td_kctx *k) { (void)k; return TD_CODE_OK; }
#define CTRL_KERNEL(name) \
    enum td_code td_cpu_##name(struct td_kctx *k) { (void)k; return TD_CODE_INTERNAL; }

VIEW_KERNEL(view)
VIEW_KERNEL(as_strided)
VIEW_KERNEL(permute)
VIEW_KERNEL(transpose)
VIEW_KERNEL(expand)
VIEW_KERNEL(squeeze)
VIEW_KERNEL(unsqueeze)
VIEW_KERNEL(slice)
VIEW_KERNEL(select)
VIEW_KERNEL(diagonal)
VIEW_KERNEL(unfold)

CTRL_KERNEL(none)
CTRL_KERNEL(release)
CTRL_KERNEL(upload)
CTRL_KERNEL(read)
CTRL_KERNEL(manual_seed)
CTRL_KERNEL(set_num_threads)
CTRL_KERNEL(empty_cache)
CTRL_KERNEL(locate)
CTRL_KERNEL(share)
CTRL_KERNEL(fork_grant)
CTRL_KERNEL(open)
CTRL_KERNEL(revoke)
CTRL_KERNEL(share_reserve)
CTRL_KERNEL(share_into)
CTRL_KERNEL(set_device)
CTRL_KERNEL(device_query)
CTRL_KERNEL(device_ctrl)
CTRL_KERNEL(stream_ctrl)
CTRL_KERNEL(event_ctrl)
CTRL_KERNEL(record_stream)
CTRL_KERNEL(profile)
CTRL_KERNEL(graph_define)
CTRL_KERNEL(graph_consts)
CTRL_KERNEL(graph_run)
CTRL_KERNEL(graph_free)

/* complex dtypes: dtype-changing views (kernels/shape_complex.c) */
VIEW_KERNEL(view_as_real)
VIEW_KERNEL(view_as_complex)
