/*
 * overlap.h — PyTorch's memory-overlap rules for ops that write a tensor: which
 * destinations (in-place self, out=, copy_'s) are refused because an element of them
 * shares memory with another element of them, or with an operand other than element for
 * element.  Pure functions on metas, shared by libtensord (the error at the call) and
 * the daemon (which checks every record again, and knows storages the client cannot
 * tell apart, such as two tokens opened on one storage).
 *
 * The classification is torch's (ATen MemoryOverlap), deliberately coarse: only
 * non-overlapping-and-dense views are compared; anything else is "too hard" and
 * allowed (the executor then computes out of place where its kernel could not write
 * through).  Which op makes which check is torch's too (td_meta_check_overlap).
 */
#ifndef TD_OVERLAP_H
#define TD_OVERLAP_H

#include "meta.h"

/* Whether elements of one view share memory (torch's MemOverlap). */
enum td_mem_overlap {
    TD_MEM_OVERLAP_NO,       /* non-overlapping and dense */
    TD_MEM_OVERLAP_YES,      /* a dim of size > 1 has stride 0 (an expand) */
    TD_MEM_OVERLAP_TOO_HARD, /* anything else: not decided, allowed */
};

/* How two views of one storage meet (torch's MemOverlapStatus). */
enum td_overlap {
    TD_OVERLAP_NO,       /* disjoint bytes, or an empty view */
    TD_OVERLAP_FULL,     /* the same bytes with the same strides: element for element */
    TD_OVERLAP_PARTIAL,  /* other intersecting byte ranges */
    TD_OVERLAP_TOO_HARD, /* either view is not non-overlapping and dense */
};

/* What one check refuses (td_meta_assert_overlap, and the per-op rules). */
enum td_overlap_check {
    TD_OVERLAP_CHECK_NONE,
    TD_OVERLAP_CHECK_PARTIAL, /* torch's assert_no_partial_overlap */
    TD_OVERLAP_CHECK_ANY,     /* torch's assert_no_overlap: FULL is refused too */
};

/* Who an operand of a record is, as its caller tells them apart: the tensor (a handle,
 * or the daemon's handle-table entry) and its storage.  Equal values mean the same. */
struct td_operand_id {
    uint64_t tensor, storage;
};

/* Every element at its own memory location, and those locations without gaps (in
 * some order of the dims). */
bool td_meta_non_overlapping_and_dense(const struct td_meta *m);
/* m's dims of size > 1 by increasing stride: their strides in st, sizes in sz; the count */
int td_meta_dims_by_stride(const struct td_meta *m, int64_t *st, int64_t *sz);
enum td_mem_overlap td_meta_internal_overlap(const struct td_meta *m);
/* a and b view one storage (the caller knows); a, b are distinct tensors. */
enum td_overlap td_meta_overlap(const struct td_meta *a, const struct td_meta *b);

/* One of torch's assertions on destination dst: src NULL asserts no internal overlap
 * (the check is ignored); else, with same_tensor / same_storage saying how src relates
 * to dst, `check` on their overlap.  INVALID_ARGUMENT (RuntimeError) with torch's
 * message when refused. */
enum td_code td_meta_assert_overlap(const struct td_meta *dst, const struct td_meta *src, bool same_tensor,
                                    bool same_storage, enum td_overlap_check check, struct td_status *st);

/* Whether record a writes a destination whose overlaps torch checks (in-place, out=,
 * copy_); false means td_meta_check_overlap has nothing to do, so callers may skip
 * building ids. */
bool td_meta_overlap_checked(const struct td_op_args *a);
/* Torch's checks before op a (already inferred: metas bounds-checked) writes its
 * destinations: ids[i] identifies a->in[i].  INVALID_ARGUMENT with torch's message. */
enum td_code td_meta_check_overlap(const struct td_op_args *a, const struct td_operand_id *ids,
                                   struct td_status *st);

#endif
