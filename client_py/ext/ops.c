/*
 * ops.c — the _C.ops entry points: one callable per op of proto/ops.def, parsing its
 * arguments by the schema of proto/ops.args (td_op_schemas, generated) with keywords,
 * defaults and kind conversions in C, then recording it through td_op_values.
 *
 *   ops.<name>(inputs..., attrs..., *, inplace=False, out=None, check=False)
 *
 * Inputs are positional tensors (an operand may be a Python scalar instead; a scalar
 * first operand sets TD_RF_SCALAR_LHS), attributes follow positionally or by name.
 * Returns the op's result: its one output, a tuple of several, None for none; with
 * inplace=True the first input; with out= the out tensor(s), or None (nothing recorded)
 * when out= is not of the result's exact sizes and dtype (the caller resizes).  With
 * check=True it records nothing and returns None, or raises the error recording would
 * (the meta layer's: a value check made first defers to the op's own argument errors).
 *
 * The same parser serves the fast paths (fast.c) in "try" mode (no fname): anything it
 * would not take exactly as the Python function does makes it give up, recording nothing.
 */
#include <stddef.h>

#include "ext.h"

#define MAX_ARGS 16

/* A parse in progress: the argument objects by schema index, then the converted values. */
struct parse {
    const struct td_op_schema *s;
    const char *fname;
    bool try_mode;       /* fast path: fail silently on anything not plain */
    PyObject *obj[MAX_ARGS];
    PyObject *const *rest; /* TD_ARG_TENSORS: the positional tail */
    Py_ssize_t n_rest;
    PyObject *out, *inplace, *check;
    const struct td_t *in[TD_MAX_INPUTS];
    int n_in;
    unsigned flags;
    struct td_argval val[MAX_ARGS];
};

static int fail(struct parse *p, PyObject *exc, const char *fmt, ...)
{
    if (p->try_mode)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    PyErr_FormatV(exc, fmt, ap);
    va_end(ap);
    return -1;
}

static int type_fail(struct parse *p, int i, const char *want, PyObject *o)
{
    return fail(p, PyExc_TypeError, "%s(): argument '%s' (position %d) must be %s, not %s", p->fname,
                p->s->args[i].name, i + 1, want, Py_TYPE(o)->tp_name);
}

static bool user_facing(const struct td_arg *a) { return a->kind != TD_ARG_SLOT && a->kind != TD_ARG_LEN; }

static int place_positional(struct parse *p, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t k = 0;
    for (int i = 0; i < p->s->n_args && k < nargs; i++) {
        const struct td_arg *a = &p->s->args[i];
        if (a->kind == TD_ARG_TENSORS) {
            p->rest = args + k;
            p->n_rest = nargs - k;
            return 0;
        }
        if (user_facing(a))
            p->obj[i] = args[k++];
    }
    if (k < nargs)
        return fail(p, PyExc_TypeError, "%s() takes %zd positional arguments but %zd were given", p->fname, k, nargs);
    return 0;
}

static int place_keywords(struct parse *p, PyObject *const *kwvals, PyObject *kwnames)
{
    Py_ssize_t n = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t j = 0; j < n; j++) {
        const char *name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(kwnames, j));
        if (!name)
            return -1;
        if (!strcmp(name, "out")) {
            p->out = kwvals[j];
            continue;
        }
        if (!strcmp(name, "inplace")) {
            p->inplace = kwvals[j];
            continue;
        }
        if (!strcmp(name, "check")) {
            p->check = kwvals[j];
            continue;
        }
        int i = 0;
        while (i < p->s->n_args && (!user_facing(&p->s->args[i]) || p->s->args[i].kind == TD_ARG_TENSORS ||
                                    strcmp(p->s->args[i].name, name)))
            i++;
        if (i == p->s->n_args)
            return fail(p, PyExc_TypeError, "%s() got an unexpected keyword argument '%s'", p->fname, name);
        if (p->obj[i])
            return fail(p, PyExc_TypeError, "%s() got multiple values for argument '%s'", p->fname, name);
        p->obj[i] = kwvals[j];
    }
    return 0;
}

/* A tensor of this client; in try mode any problem just fails. */
static int tensor_of(struct parse *p, int i, PyObject *o, const struct td_t **t)
{
    if (!td_ext_is_tensor(o))
        return type_fail(p, i, "Tensor", o);
    if (td_ext_check(o)) {
        if (p->try_mode)
            PyErr_Clear();
        return -1;
    }
    *t = &((TensorObject *)o)->t;
    return 0;
}

/* Python bool/int/float (numpy scalars through .item(); not in try mode) -> words. */
static int scalar_of(struct parse *p, int i, PyObject *o, int64_t *w)
{
    if (p->try_mode) {
        if (PyLong_CheckExact(o) || PyFloat_CheckExact(o))
            return td_ext_scalar(o, w);
        return -1;
    }
    if (!td_ext_scalar(o, w))
        return 0;
    PyObject *item = PyObject_HasAttrString(o, "item") && !td_ext_is_tensor(o)
                         ? PyObject_CallMethod(o, "item", NULL) : NULL;
    if (item) {
        int r = td_ext_scalar(item, w);
        Py_DECREF(item);
        if (!r)
            return 0;
    }
    PyErr_Clear();
    return type_fail(p, i, "Number", o);
}

static int convert_inputs(struct parse *p)
{
    bool lhs_scalar = false;
    int n_scalars = 0;
    for (int i = 0; i < p->s->n_inputs; i++) {
        const struct td_arg *a = &p->s->args[i];
        PyObject *o = p->obj[i];
        if (a->kind == TD_ARG_TENSORS) {
            for (Py_ssize_t k = 0; k < p->n_rest; k++)
                if (p->n_in >= TD_MAX_INPUTS || tensor_of(p, i, p->rest[k], &p->in[p->n_in++]))
                    return p->n_in >= TD_MAX_INPUTS ? fail(p, PyExc_ValueError, "too many inputs") : -1;
            continue;
        }
        if (!o)
            return fail(p, PyExc_TypeError, "%s() missing required argument '%s'", p->fname, a->name);
        if (a->kind == TD_ARG_OPERAND && !td_ext_is_tensor(o)) {
            /* the operand slot is the first attribute of an op with operands */
            if (n_scalars)
                return fail(p, PyExc_TypeError, "%s(): at most one operand may be a scalar", p->fname);
            if (scalar_of(p, i, o, p->val[0].w))
                return -1;
            lhs_scalar = i == 0;
            if (lhs_scalar)
                p->flags |= TD_RF_SCALAR_LHS;
            n_scalars++;
            continue;
        }
        if (tensor_of(p, i, o, &p->in[p->n_in++]))
            return -1;
    }
    return 0;
}

/* A dim list or int -> mask over ndim dims (None or []: every dim), torch's errors. */
static int dims_of(struct parse *p, int i, PyObject *o, int ndim, int64_t *mask)
{
    int n = ndim > 0 ? ndim : 1;
    uint64_t m = 0;
    if (o == Py_None) {
        *mask = ndim ? (int64_t)((1ull << ndim) - 1) : 1;
        return 0;
    }
    bool one = PyLong_Check(o) || (!p->try_mode && PyIndex_Check(o));
    PyObject *seq = one ? NULL : PySequence_Fast(o, "");
    if (!seq && !one) {
        PyErr_Clear();
        return type_fail(p, i, "tuple of ints", o);
    }
    Py_ssize_t len = seq ? PySequence_Fast_GET_SIZE(seq) : 1;
    for (Py_ssize_t k = 0; k < len; k++) {
        PyObject *item = seq ? PySequence_Fast_GET_ITEM(seq, k) : o;
        long long d = LLONG_MIN;
        if (PyLong_CheckExact(item) || (!p->try_mode && !PyBool_Check(item) && PyIndex_Check(item))) {
            PyObject *ix = PyNumber_Index(item);
            d = ix ? PyLong_AsLongLong(ix) : LLONG_MIN;
            Py_XDECREF(ix);
        }
        if (d == LLONG_MIN || (d == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            Py_XDECREF(seq);
            return type_fail(p, i, "tuple of ints", item);
        }
        if (d < -n || d >= n) {
            Py_XDECREF(seq);
            return fail(p, PyExc_IndexError, "Dimension out of range (expected to be in range of [%d, %d], but got %lld)",
                        -n, n - 1, d);
        }
        d = d < 0 ? d + n : d;
        if (m >> d & 1) {
            Py_XDECREF(seq);
            return fail(p, PyExc_RuntimeError, "dim %lld appears multiple times in the list of dims", d);
        }
        m |= 1ull << d;
    }
    Py_XDECREF(seq);
    *mask = len ? (int64_t)m : ndim ? (int64_t)((1ull << ndim) - 1) : 1;
    return 0;
}

/* ints: a sequence of int-likes (torch.Size, tuple, list); the values live in store. */
static int ints_of(struct parse *p, int i, PyObject *o, int64_t *store, int cap, struct td_argval *v)
{
    PyObject *seq = PySequence_Fast(o, "");
    if (!seq) {
        PyErr_Clear();
        return type_fail(p, i, "tuple of ints", o);
    }
    Py_ssize_t len = PySequence_Fast_GET_SIZE(seq);
    if (len > cap) {
        Py_DECREF(seq);
        return fail(p, PyExc_ValueError, "%s(): argument '%s' has too many elements", p->fname, p->s->args[i].name);
    }
    for (Py_ssize_t k = 0; k < len; k++) {
        store[k] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, k));
        if (store[k] == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            Py_DECREF(seq);
            return type_fail(p, i, "tuple of ints", PySequence_Fast_GET_ITEM(seq, k));
        }
    }
    Py_DECREF(seq);
    v->list = store;
    v->n = (int)len;
    return 0;
}

static int dtype_of(struct parse *p, int i, PyObject *o, int64_t *w)
{
    if (o == Py_None) {
        *w = -1;
        return 0;
    }
    for (int d = 0; d < TD_DTYPE_COUNT; d++)
        if (PyTuple_GET_ITEM(td_ext_dtypes, d) == o) {
            *w = d;
            return 0;
        }
    return type_fail(p, i, "torch.dtype", o);
}

static int enum_of(struct parse *p, int i, PyObject *o, int64_t *w)
{
    const char *choices = p->s->args[i].choices, *name = o == Py_None ? NULL : PyUnicode_AsUTF8(o);
    if (o == Py_None) {
        *w = 0;
        return 0;
    }
    if (!name) {
        PyErr_Clear();
        return type_fail(p, i, "str", o);
    }
    size_t len = strlen(name);
    for (int k = 0; *choices; k++) {
        const char *end = strchr(choices, '/');
        size_t n = end ? (size_t)(end - choices) : strlen(choices);
        if (n == len && !strncmp(choices, name, n)) {
            *w = k;
            return 0;
        }
        choices += n + (end != NULL);
    }
    return fail(p, PyExc_ValueError, "%s(): invalid %s '%s'", p->fname, p->s->args[i].name, name);
}

/* Try mode: which scalar attributes the fast path takes as Python would (alpha= of
 * add/sub: an int, or a float for a floating input; an optional scalar 1 is left out). */
static bool try_scalar_attr(struct parse *p, const struct td_arg *a, PyObject *o, struct td_argval *v)
{
    if (PyLong_CheckExact(o)) {
        int overflow;
        v->absent = a->deflt == TD_DEF_NONE && PyLong_AsLongAndOverflow(o, &overflow) == 1;
        return true;
    }
    return PyFloat_CheckExact(o) && p->n_in && td_dtype_is_float((enum td_dtype)p->in[0]->m.dtype);
}

/* One attribute's value from its object (or default). */
static int convert_attr(struct parse *p, int i, struct td_argval *v, int64_t *store, int cap)
{
    const struct td_arg *a = &p->s->args[i];
    PyObject *o = p->obj[i];
    if (a->kind == TD_ARG_LEN)
        return 0; /* td_op_pack writes the count of its list */
    if (!o || (o == Py_None && a->deflt == TD_DEF_NONE)) {
        if (a->deflt == TD_DEF_REQUIRED)
            return fail(p, PyExc_TypeError, "%s() missing required argument '%s'", p->fname, a->name);
        if (a->kind == TD_ARG_DIMS)
            return dims_of(p, i, Py_None, p->n_in ? p->in[0]->m.ndim : 0, v->w);
        v->w[0] = a->kind == TD_ARG_DTYPE && a->deflt == TD_DEF_NONE ? -1 : a->def[0];
        v->w[1] = a->def[1];
        v->absent = a->deflt == TD_DEF_NONE && (a->kind == TD_ARG_SCALAR || a->kind == TD_ARG_INT);
        return 0;
    }
    switch (a->kind) {
    case TD_ARG_SCALAR:
        if (p->try_mode && !try_scalar_attr(p, a, o, v))
            return -1;
        return v->absent ? 0 : scalar_of(p, i, o, v->w);
    case TD_ARG_BOOL: {
        if (p->try_mode && !PyBool_Check(o))
            return -1;
        int t = PyObject_IsTrue(o);
        v->w[0] = t;
        return t < 0 ? -1 : 0;
    }
    case TD_ARG_INT:
    case TD_ARG_F64: {
        if (p->try_mode && !PyLong_CheckExact(o) && !(a->kind == TD_ARG_F64 && PyFloat_CheckExact(o)))
            return -1;
        if (a->kind == TD_ARG_F64) {
            double d = PyFloat_AsDouble(o);
            v->w[0] = td_f64_bits(d);
            return d == -1.0 && PyErr_Occurred() ? (p->try_mode ? (PyErr_Clear(), -1) : -1) : 0;
        }
        PyObject *ix = PyNumber_Index(o);
        v->w[0] = ix ? PyLong_AsLongLong(ix) : -1;
        Py_XDECREF(ix);
        if (PyErr_Occurred())
            return p->try_mode ? (PyErr_Clear(), -1) : -1;
        return 0;
    }
    case TD_ARG_DTYPE:
        return dtype_of(p, i, o, v->w);
    case TD_ARG_DIMS:
        return dims_of(p, i, o, p->n_in ? p->in[0]->m.ndim : 0, v->w);
    case TD_ARG_ENUM:
        return enum_of(p, i, o, v->w);
    case TD_ARG_INTS:
        return ints_of(p, i, o, store, cap, v);
    default:
        return 0;
    }
}

static int convert_out(struct parse *p)
{
    if (!p->out || p->out == Py_None)
        return 0;
    if (p->try_mode)
        return -1; /* out= resizing and casting are the Python function's */
    PyObject *seq = td_ext_is_tensor(p->out) ? NULL : PySequence_Fast(p->out, "out= must be a Tensor or a tuple");
    if (!seq && !td_ext_is_tensor(p->out))
        return -1;
    Py_ssize_t n = seq ? PySequence_Fast_GET_SIZE(seq) : 1;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *o = seq ? PySequence_Fast_GET_ITEM(seq, k) : p->out;
        if (p->n_in >= TD_MAX_INPUTS || tensor_of(p, 0, o, &p->in[p->n_in++])) {
            Py_XDECREF(seq);
            return -1;
        }
    }
    Py_XDECREF(seq);
    p->flags |= TD_RF_OUT;
    return 0;
}

/* Parses and converts everything; store holds the ints lists. */
static int parse_all(struct parse *p, PyObject *const *args, size_t nargsf, PyObject *kwnames, int64_t *store)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (place_positional(p, args, nargs) || place_keywords(p, args + nargs, kwnames) || convert_inputs(p))
        return -1;
    if (p->inplace && p->inplace != Py_False) {
        int t = PyObject_IsTrue(p->inplace);
        if (t < 0)
            return -1;
        p->flags |= t ? TD_RF_INPLACE : 0;
    }
    int used = 0;
    for (int i = p->s->n_inputs; i < p->s->n_args; i++) {
        struct td_argval *v = &p->val[i - p->s->n_inputs];
        if (p->s->args[i].kind == TD_ARG_SLOT)
            continue; /* filled by convert_inputs */
        if (convert_attr(p, i, v, store + used, 255 - used))
            return -1;
        used += p->s->args[i].kind == TD_ARG_INTS ? v->n : 0;
    }
    return convert_out(p);
}

/* The op's Python result (see the file comment); self: the first input object. */
static PyObject *result(struct parse *p, enum td_op op, PyObject *self, const struct td_t *out)
{
    if (p->flags & TD_RF_INPLACE)
        return Py_NewRef(self);
    if (p->flags & TD_RF_OUT)
        return Py_NewRef(p->out);
    int n_out = td_op_table[op].n_out;
    if (n_out == 0)
        Py_RETURN_NONE;
    if (n_out == 1)
        return td_ext_wrap(&out[0]);
    PyObject *res = PyTuple_New(n_out);
    for (int j = 0; res && j < n_out; j++) {
        PyObject *t = td_ext_wrap(&out[j]);
        if (!t) {
            for (int k = j + 1; k < n_out; k++) {
                struct td_t tmp = out[k];
                td_release(td_ext_client, &tmp);
            }
            Py_CLEAR(res);
            break;
        }
        PyTuple_SET_ITEM(res, j, t);
    }
    return res;
}

/* check=True: the meta layer's verdict on these arguments, recording nothing. */
static PyObject *check_only(struct parse *p, enum td_op op)
{
    int64_t w[255];
    struct td_status st = TD_STATUS_INIT;
    int n = td_op_pack(op, p->val, p->s->n_args - p->s->n_inputs, w, 255, &st);
    if (n < 0)
        return td_ext_raise(&st);
    const struct td_meta *metas[TD_MAX_INPUTS];
    for (int i = 0; i < p->n_in; i++)
        metas[i] = &p->in[i]->m;
    struct td_op_args oa = {
        .op = (uint16_t)op, .flags = (uint8_t)p->flags, .n_in = (uint16_t)p->n_in, .in = metas,
        .attrs = w, .n_attr = (uint32_t)n, .default_float = TD_DTYPE_FLOAT32,
    };
    struct td_meta om[TD_MAX_OUTPUTS];
    struct td_infer inf;
    if (td_meta_infer(&oa, om, &inf, &st))
        return td_ext_raise(&st);
    Py_RETURN_NONE;
}

PyObject *td_ext_op_call(enum td_op op, const char *fname, unsigned flags, PyObject *const *args, size_t nargsf,
                         PyObject *kwnames)
{
    bool try_mode = fname == NULL;
    struct parse p = {.s = &td_op_schemas[op], .fname = fname, .try_mode = try_mode, .flags = flags};
    int64_t store[255];
    if (p.s->n_args > MAX_ARGS) {
        PyErr_SetString(PyExc_SystemError, "schema too long");
        return NULL;
    }
    if (parse_all(&p, args, nargsf, kwnames, store))
        return NULL;
    if (p.check && !try_mode) {
        int t = PyObject_IsTrue(p.check);
        if (t)
            return t < 0 ? NULL : check_only(&p, op);
    }
    td_client_t *c = td_ext_get_client();
    if (!c) {
        if (try_mode)
            PyErr_Clear();
        return NULL;
    }
    struct td_t out[TD_MAX_OUTPUTS];
    struct td_status st = TD_STATUS_INIT;
    if (td_op_values(c, op, p.flags, p.in, p.n_in, p.val, p.s->n_args - p.s->n_inputs, out, &st)) {
        if (try_mode)
            return NULL;
        if ((p.flags & TD_RF_OUT) && st.code == TD_CODE_ABORTED)
            Py_RETURN_NONE; /* out= of another shape or dtype: the caller falls back */
        return td_ext_raise(&st);
    }
    return result(&p, op, PyVectorcall_NARGS(nargsf) ? args[0] : NULL, out);
}

/* ---- the entry objects ---- */

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    int op;
} OpEntry;

static PyObject *entry_call(OpEntry *e, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return td_ext_op_call((enum td_op)e->op, td_op_name((enum td_op)e->op), 0, args, nargsf, kwnames);
}

static PyObject *entry_repr(OpEntry *e) { return PyUnicode_FromFormat("<op %s>", td_op_name((enum td_op)e->op)); }

/* The schema as a tuple of (name, kind, required) for introspection and tests. */
static PyObject *entry_schema(OpEntry *e, void *closure)
{
    static const char *const kinds[] = {"tensor", "operand", "tensors", "slot", "scalar", "int", "bool",
                                        "f64", "dtype", "dims", "enum", "len", "ints"};
    const struct td_op_schema *s = &td_op_schemas[e->op];
    PyObject *t = PyTuple_New(s->n_args);
    for (int i = 0; t && i < s->n_args; i++) {
        PyObject *row = Py_BuildValue("(ssO)", s->args[i].name, kinds[s->args[i].kind],
                                      s->args[i].deflt == TD_DEF_REQUIRED ? Py_True : Py_False);
        if (!row)
            Py_CLEAR(t);
        else
            PyTuple_SET_ITEM(t, i, row);
    }
    return t;
}

static PyObject *entry_op(OpEntry *e, void *closure) { return PyLong_FromLong(e->op); }

static PyGetSetDef entry_getset[] = {
    {"schema", (getter)entry_schema, NULL, "the arguments: (name, kind, required) each", NULL},
    {"op", (getter)entry_op, NULL, "the op number", NULL},
    {NULL},
};

static PyTypeObject OpEntry_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tensord._C.OpEntry",
    .tp_basicsize = sizeof(OpEntry),
    .tp_dealloc = (destructor)PyObject_Free,
    .tp_vectorcall_offset = offsetof(OpEntry, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_repr = (reprfunc)entry_repr,
    .tp_getset = entry_getset,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "records one op; arguments by proto/ops.args",
};

/* The module tensord._C.ops: an OpEntry per op with a schema. */
PyObject *td_ext_ops_module(void)
{
    static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "tensord._C.ops", "one entry point per op", -1, NULL};
    if (PyType_Ready(&OpEntry_Type))
        return NULL;
    PyObject *m = PyModule_Create(&def);
    for (int op = 1; m && op < TD_OP_COUNT; op++) {
        /* handles and transfers belong to the client library itself */
        if (op == TD_OP_RELEASE || op == TD_OP_UPLOAD || op == TD_OP_READ)
            continue;
        OpEntry *e = PyObject_New(OpEntry, &OpEntry_Type);
        if (!e || PyModule_AddObject(m, td_op_name((enum td_op)op), (PyObject *)e)) {
            Py_XDECREF(e);
            Py_CLEAR(m);
            break;
        }
        e->vectorcall = (vectorcallfunc)entry_call;
        e->op = op;
    }
    return m;
}
