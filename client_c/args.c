/* args.c — packs attribute words from schema values (td_args.h): the one place that
 * turns ops.args's kinds into record words, for the typed builders and for _C.ops. */
#include <string.h>

#include "tensord.h"

struct td_scalar td_scalar_of_f64(double v) { return (struct td_scalar){TD_SCALAR_FLOAT, td_f64_bits(v)}; }
struct td_scalar td_scalar_of_i64(int64_t v) { return (struct td_scalar){TD_SCALAR_INT, v}; }
struct td_scalar td_scalar_of_bool(bool v) { return (struct td_scalar){TD_SCALAR_BOOL, v}; }

int64_t td_f64_bits(double v)
{
    int64_t b;
    memcpy(&b, &v, 8);
    return b;
}

static int words_of(const struct td_arg *a, const struct td_argval *v, const struct td_argval *vals)
{
    if (v->absent)
        return 0;
    switch (a->kind) {
    case TD_ARG_SLOT:
    case TD_ARG_SCALAR:
        return 2;
    case TD_ARG_INTS:
        return v->n;
    default:
        return 1;
    }
}

int td_op_pack(enum td_op op, const struct td_argval *vals, int n_vals, int64_t *w, int cap,
               struct td_status *st)
{
    const struct td_op_schema *s = &td_op_schemas[op];
    const struct td_arg *attrs = s->args ? s->args + s->n_inputs : NULL;
    int n_attrs = s->args ? s->n_args - s->n_inputs : 0, n = 0;
    if (n_vals != n_attrs)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: expected %d attribute values, got %d",
                             td_op_name(op), n_attrs, n_vals), -1;
    for (int i = 0; i < n_attrs; i++) {
        const struct td_argval *v = &vals[i];
        int k = words_of(&attrs[i], v, vals);
        if (v->n < 0 || n + k > cap)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: too many attribute words", td_op_name(op)), -1;
        if (attrs[i].kind == TD_ARG_INTS)
            memcpy(w + n, v->list, sizeof(int64_t) * (size_t)k);
        else if (attrs[i].kind == TD_ARG_LEN)
            w[n] = vals[attrs[i].of].n;
        else
            memcpy(w + n, v->w, sizeof(int64_t) * (size_t)k);
        n += k;
    }
    return n;
}

int td_op_default_values(enum td_op op, struct td_argval *vals, int cap)
{
    const struct td_op_schema *s = &td_op_schemas[op];
    int n = s->args ? s->n_args - s->n_inputs : 0;
    for (int i = 0; i < n && i < cap; i++) {
        const struct td_arg *a = &s->args[s->n_inputs + i];
        vals[i] = (struct td_argval){.w = {a->def[0], a->def[1]}};
        vals[i].absent = a->deflt == TD_DEF_NONE && (a->kind == TD_ARG_SCALAR || a->kind == TD_ARG_INT);
        if (a->deflt == TD_DEF_NONE && a->kind == TD_ARG_DTYPE)
            vals[i].w[0] = -1;
    }
    return n < cap ? n : cap;
}

struct td_argval *td_op_value(enum td_op op, struct td_argval *vals, const char *name)
{
    const struct td_op_schema *s = &td_op_schemas[op];
    for (int i = s->n_inputs; s->args && i < s->n_args; i++)
        if (!strcmp(s->args[i].name, name))
            return &vals[i - s->n_inputs];
    return NULL;
}

enum td_code td_op_values(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in, int n_in,
                          const struct td_argval *vals, int n_vals, struct td_t *out, struct td_status *st)
{
    int64_t w[255];
    if ((unsigned)op >= TD_OP_COUNT)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "unknown op %d", (int)op);
    int n = td_op_pack(op, vals, n_vals, w, 255, st);
    if (n < 0)
        return st ? st->code : TD_CODE_INVALID_ARGUMENT;
    return td_op(c, op, flags, in, n_in, w, n, out, st);
}

enum td_code td_op_apply(td_client_t *c, enum td_op op, unsigned flags, int n, const struct td_t *const *t,
                         const struct td_scalar *s, struct td_t *out, struct td_status *st)
{
    struct td_argval v[16];
    int nv = td_op_default_values(op, v, 16);
    const struct td_t *in[TD_MAX_INPUTS];
    int n_in = 0;
    for (int i = 0; i < n && n_in < TD_MAX_INPUTS; i++) {
        if (t[i]) {
            in[n_in++] = t[i];
            continue;
        }
        struct td_argval *slot = td_op_value(op, v, "operand");
        if (!slot)
            return td_status_set(st, TD_CODE_FAILED_PRECONDITION, "%s: expected a tensor for operand %d",
                                 td_op_name(op), i);
        slot->w[0] = s[i].kind;
        slot->w[1] = s[i].bits;
        if (i == 0)
            flags |= TD_RF_SCALAR_LHS;
    }
    return td_op_values(c, op, flags, in, n_in, v, nv, out, st);
}
