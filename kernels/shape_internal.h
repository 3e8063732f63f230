/* shape_internal.h — helpers shared by shape.c and shape_view.c (not public). */
#ifndef TD_SHAPE_INTERNAL_H
#define TD_SHAPE_INTERNAL_H

#include "meta.h"

const char *td__sizes_str(const int64_t *sizes, int ndim, char *buf, int len);
enum td_code td__need_attrs(const struct td_op_args *a, uint32_t n, struct td_status *st);
enum td_code td__need_inputs(const struct td_op_args *a, int lo, int hi, struct td_status *st);
enum td_code td__check_scalar(const int64_t *w, struct td_status *st);
enum td_code td__broadcast(int64_t *sizes, int *ndim, const struct td_meta *b, struct td_status *st);
enum td_dtype td__result_type(const struct td_meta *const *in, int n_in, const int64_t *scalar,
                              enum td_dtype default_float);

enum td_code td__infer_reduce(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                              struct td_status *st);
enum td_code td__infer_matmul(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                              struct td_status *st);
enum td_code td__infer_view(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                            struct td_status *st);
enum td_code td__infer_cat(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                           struct td_status *st);

#endif
