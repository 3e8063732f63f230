/*
 * cat.c — CAT: joins its inputs along its dim attribute (already normalized by the meta
 * layer), each copied into its slice of the output (kernels/cat_slices.h).  Inputs share
 * the output's dtype in practice; a different one is converted by td__copy anyway.  The
 * copies run one after another, each parallel inside when large.
 */
#include "../cat_slices.h"
#include "iter.h"

static enum td_code copy_slice(struct td_kctx *k, struct td_kt *dst, struct td_kt *src)
{
    (void)k;
    return td__copy(dst, src);
}

enum td_code td_cpu_cat(struct td_kctx *k) { return td_cat_slices(k, copy_slice); }
