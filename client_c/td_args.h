/*
 * td_args.h — the argument schema of the ops (proto/ops.args) as libtensord sees it:
 * the table td_op_schemas[] (generated into td_ops.c) and td_op_values, which packs an
 * op's attribute words from one value per schema attribute.  The typed builders of
 * td_ops.h and the Python extension's _C.ops entry points both go through it, so the
 * word layout of every op is written down once, in ops.args.
 */
#ifndef TD_ARGS_H
#define TD_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "../kernels/meta.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_client td_client_t;
struct td_t;

enum td_arg_kind {
    TD_ARG_TENSOR,   /* an input */
    TD_ARG_OPERAND,  /* an input, or a scalar in the operand slot */
    TD_ARG_TENSORS,  /* the remaining inputs */
    TD_ARG_SLOT,     /* 2 words: the scalar operand (first attribute of ops with operands) */
    TD_ARG_SCALAR,   /* 2 words: TD_SCALAR_* kind and bits */
    TD_ARG_INT,
    TD_ARG_BOOL,
    TD_ARG_F64,      /* a double's bits */
    TD_ARG_DTYPE,    /* enum td_dtype, -1 for None */
    TD_ARG_DIMS,     /* a dim mask over the first input's dims */
    TD_ARG_ENUM,     /* the index of one of `choices` ("a/b/c") */
    TD_ARG_LEN,      /* the element count of the INTS attribute `of` */
    TD_ARG_INTS,     /* a list of int64 */
};

enum td_arg_default { TD_DEF_REQUIRED, TD_DEF_VALUE, TD_DEF_NONE };

struct td_arg {
    const char *name;
    const char *choices; /* TD_ARG_ENUM: the names, '/'-separated */
    int64_t def[2];      /* TD_DEF_VALUE: the default's words */
    uint8_t kind;        /* enum td_arg_kind */
    uint8_t deflt;       /* enum td_arg_default */
    int8_t of;           /* TD_ARG_LEN: the index among the attributes of the list it counts */
};

/* args[0..n_inputs) are the inputs, the rest the attributes in wire order. */
struct td_op_schema {
    const struct td_arg *args;
    uint8_t n_args, n_inputs;
};
extern const struct td_op_schema td_op_schemas[TD_OP_COUNT];

/* A scalar argument of a builder; kind TD_SCALAR_ABSENT leaves an optional one out. */
struct td_scalar {
    int64_t kind, bits;
};
#define TD_SCALAR_ABSENT (-1)
/* An optional int attribute left out. */
#define TD_INT_ABSENT INT64_MIN

struct td_scalar td_scalar_of_f64(double v);
struct td_scalar td_scalar_of_i64(int64_t v);
struct td_scalar td_scalar_of_bool(bool v);
int64_t td_f64_bits(double v);

/* One attribute's value: w for one- and two-word kinds, list/n for TD_ARG_INTS;
 * absent: an optional attribute left out (TD_DEF_NONE scalar/int at the record's end).
 * A TD_ARG_LEN value is ignored: the count of its list is written. */
struct td_argval {
    int64_t w[2];
    const int64_t *list;
    int n;
    bool absent;
};

/* Packs op's attribute words from vals (one per schema attribute, in order) into
 * w[0..cap); returns the word count, or -1 with st set. */
int td_op_pack(enum td_op op, const struct td_argval *vals, int n_vals, int64_t *w, int cap,
               struct td_status *st);
/* Fills vals with the defaults of op's attributes (required ones zero, optional ones
 * absent); returns their count (at most cap). */
int td_op_default_values(enum td_op op, struct td_argval *vals, int cap);
/* The value of op's attribute `name` in vals (as td_op_default_values lays them out), or
 * NULL when op has no such attribute. */
struct td_argval *td_op_value(enum td_op op, struct td_argval *vals, const char *name);
/* td_op_pack, then td_op (tensord.h) with these inputs and flags. */
enum td_code td_op_values(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in, int n_in,
                          const struct td_argval *vals, int n_vals, struct td_t *out, struct td_status *st);

/* op on n operands, its attributes at their defaults, record flags TD_RF_*: t[i] a tensor,
 * or NULL for the scalar s[i] in the operand slot (of ops with one; the left one when
 * i == 0). */
enum td_code td_op_apply(td_client_t *c, enum td_op op, unsigned flags, int n, const struct td_t *const *t,
                         const struct td_scalar *s, struct td_t *out, struct td_status *st);

#ifdef __cplusplus
}
#endif

#endif
