/*
 * meta.c — tensord._C's window on the C meta layer for the pure-Python package:
 * promote_types, can_cast, result_type, wrap_dim, broadcasting, contiguous strides and
 * torch's memory-overlap checks (kernels/overlap.h) for ops the package composes.
 * Each function is a thin parse-and-convert around kernels/ (dtype.h, meta.h), so the
 * Python package holds no second copy of PyTorch's promotion lattice, dim wrapping or
 * broadcasting rules.  It records no op and needs no daemon.  Documented in API.md.
 */
#include "../../kernels/overlap.h"
#include "ext.h"

/* The session's default float as Python last set it (set_default_float): result_type
 * gives it to Python floats, and its complex counterpart to Python complex numbers. */
enum td_dtype td_ext_default_float = TD_DTYPE_FLOAT32;

/* ---- dtype objects <-> enum td_dtype ---- */

static PyObject *dtype_object(enum td_dtype d)
{
    if (!td_ext_dtypes) {
        PyErr_SetString(PyExc_RuntimeError, "tensord._C: set_classes() was not called");
        return NULL;
    }
    return Py_NewRef(PyTuple_GET_ITEM(td_ext_dtypes, d));
}

/* The enum value of a dtype object, or -1 (no exception set) for anything else. */
static int dtype_index(PyObject *o)
{
    for (int i = 0; td_ext_dtypes && i < TD_DTYPE_COUNT; i++)
        if (PyTuple_GET_ITEM(td_ext_dtypes, i) == o)
            return i;
    return -1;
}

/* Two dtype arguments (positional or by keyword names kw[0], kw[1]); -1 with torch's
 * TypeError naming the first one that is not a dtype. */
static int parse_two_dtypes(PyObject *args, PyObject *kwargs, const char *fname, char **kw, int *d)
{
    PyObject *o[2];
    char fmt[64];
    snprintf(fmt, sizeof fmt, "OO:%s", fname);
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, fmt, kw, &o[0], &o[1]))
        return -1;
    for (int i = 0; i < 2; i++) {
        d[i] = dtype_index(o[i]);
        if (d[i] < 0) {
            PyErr_Format(PyExc_TypeError, "%s(): argument '%s' (position %d) must be torch.dtype, not %s", fname,
                         kw[i], i + 1, Py_TYPE(o[i])->tp_name);
            return -1;
        }
    }
    return 0;
}

static PyObject *m_promote_types(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"type1", "type2", NULL};
    int d[2];
    if (parse_two_dtypes(args, kwargs, "promote_types", kw, d))
        return NULL;
    return dtype_object(td_promote_types((enum td_dtype)d[0], (enum td_dtype)d[1]));
}

static PyObject *m_can_cast(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"from", "to", NULL};
    int d[2];
    if (parse_two_dtypes(args, kwargs, "can_cast", kw, d))
        return NULL;
    return PyBool_FromLong(td_can_cast((enum td_dtype)d[0], (enum td_dtype)d[1]));
}

/* ---- result_type ---- */

/* numpy.generic (numpy's scalar types) and numpy.integer, looked up on first need;
 * NULL when numpy is absent (then no object is a numpy scalar). */
static PyObject *np_generic, *np_integer;

static void numpy_types(void)
{
    static int tried;
    if (tried)
        return;
    tried = 1;
    PyObject *np = PyImport_ImportModule("numpy");
    if (np) {
        np_generic = PyObject_GetAttrString(np, "generic");
        np_integer = PyObject_GetAttrString(np, "integer");
        Py_DECREF(np);
    }
    PyErr_Clear();
}

static bool is_instance(PyObject *o, PyObject *cls)
{
    int r = cls ? PyObject_IsInstance(o, cls) : 0;
    if (r < 0)
        PyErr_Clear();
    return r > 0;
}

/* The dtype a Python number contributes, as torch 1.13's argument parser reads it:
 * bool, int (numpy integers too), complex; every other numpy scalar (even numpy.bool_ and
 * numpy.complex64) is read as a float.  -1 (no exception set): not a number. */
static int number_dtype(PyObject *o)
{
    if (PyBool_Check(o))
        return TD_DTYPE_BOOL;
    if (PyLong_Check(o))
        return TD_DTYPE_INT64;
    if (PyFloat_Check(o))
        return td_ext_default_float;
    if (PyComplex_Check(o))
        return td_dtype_to_complex(td_ext_default_float);
    numpy_types();
    if (!is_instance(o, np_generic))
        return -1;
    return is_instance(o, np_integer) ? TD_DTYPE_INT64 : td_ext_default_float;
}

static PyObject *m_result_type(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    struct td_result_type r;
    td_result_type_init(&r);
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyObject *o = args[i];
        if (td_ext_is_tensor(o)) {
            const struct td_meta *m = &((TensorObject *)o)->t.m;
            td_result_type_add(&r, (enum td_dtype)m->dtype, m->ndim ? TD_TIER_DIM : TD_TIER_ZERO_DIM);
            continue;
        }
        int d = number_dtype(o);
        if (d < 0)
            return PyErr_Format(PyExc_TypeError, "result_type(): argument must be Tensor or Number, not %s",
                                Py_TYPE(o)->tp_name);
        td_result_type_add(&r, (enum td_dtype)d, TD_TIER_NUMBER);
    }
    return dtype_object(td_result_type_get(&r, td_ext_default_float));
}

/* ---- dims and sizes ---- */

/* A Python int from an int-like (__index__): bool and 0-d integer tensors included. */
static int index_arg(PyObject *o, int64_t *v)
{
    PyObject *i = PyNumber_Index(o);
    if (!i)
        return -1;
    *v = PyLong_AsLongLong(i);
    Py_DECREF(i);
    return *v == -1 && PyErr_Occurred() ? -1 : 0;
}

static PyObject *m_wrap_dim(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t dim, ndim;
    if (nargs != 2)
        return PyErr_Format(PyExc_TypeError, "wrap_dim() takes 2 arguments (%zd given)", nargs);
    if (index_arg(args[0], &dim) || index_arg(args[1], &ndim))
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    if (td_meta_wrap_dim(&dim, (int)(ndim > INT_MAX ? INT_MAX : ndim), &st))
        return td_ext_raise(&st);
    return PyLong_FromLongLong(dim);
}

/* A shape given as a sequence of int-likes into sizes (TD_MAX_DIMS). */
static int sizes_arg(PyObject *seq, int64_t *sizes, int *ndim)
{
    PyObject *f = PySequence_Fast(seq, "expected a sequence of ints");
    if (!f)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(f);
    int rc = 0;
    if (n > TD_MAX_DIMS) {
        PyErr_Format(PyExc_RuntimeError, "tensors have at most %d dims, got %zd", TD_MAX_DIMS, n);
        rc = -1;
    }
    for (Py_ssize_t i = 0; !rc && i < n; i++)
        rc = index_arg(PySequence_Fast_GET_ITEM(f, i), &sizes[i]);
    Py_DECREF(f);
    *ndim = (int)n;
    return rc;
}

static PyObject *size_object(const int64_t *sizes, int ndim)
{
    PyObject *t = PyTuple_New(ndim);
    for (int i = 0; t && i < ndim; i++) {
        PyObject *v = PyLong_FromLongLong(sizes[i]);
        if (!v) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    if (!t || !td_ext_size_cls)
        return t;
    PyObject *s = PyObject_CallOneArg(td_ext_size_cls, t);
    Py_DECREF(t);
    return s;
}

static PyObject *m_broadcast_shapes(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t sizes[TD_MAX_DIMS], s[TD_MAX_DIMS];
    int nd = 0, s_nd;
    struct td_status st = TD_STATUS_INIT;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        if (PyLong_Check(args[i])) { /* an int is a 1-d shape */
            s_nd = 1;
            if (index_arg(args[i], &s[0]))
                return NULL;
        } else if (PyTuple_Check(args[i]) || PyList_Check(args[i])) {
            if (sizes_arg(args[i], s, &s_nd))
                return NULL;
        } else {
            /* torch raises RuntimeError(msg, shape): its text is the tuple's repr */
            return PyErr_Format(PyExc_RuntimeError, "('Input shapes should be of type ints, a tuple of ints, "
                                "or a list of ints, got ', %R)", args[i]);
        }
        if (td_meta_broadcast_shapes_add(sizes, &nd, s, s_nd, &st))
            return td_ext_raise(&st);
    }
    return size_object(sizes, nd);
}

static PyObject *m_broadcast_sizes(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t sizes[TD_MAX_DIMS], s[TD_MAX_DIMS];
    int nd = 0, s_nd;
    struct td_status st = TD_STATUS_INIT;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        if (sizes_arg(args[i], s, &s_nd))
            return NULL;
        if (td_meta_broadcast(sizes, &nd, s, s_nd, &st))
            return td_ext_raise(&st);
    }
    return size_object(sizes, nd);
}

static PyObject *m_contiguous_strides(PyObject *self, PyObject *arg)
{
    int64_t sizes[TD_MAX_DIMS];
    int nd;
    struct td_meta m;
    struct td_status st = TD_STATUS_INIT;
    if (sizes_arg(arg, sizes, &nd))
        return NULL;
    if (td_meta_contiguous(&m, TD_DTYPE_UINT8, nd, sizes, &st))
        return td_ext_raise(&st);
    PyObject *t = PyTuple_New(nd);
    for (int i = 0; t && i < nd; i++) {
        PyObject *v = PyLong_FromLongLong(m.strides[i]);
        if (!v) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

/* ---- memory overlap (kernels/overlap.h), for ops composed in Python whose records alone
 * would not show torch's check (an out= filled by a copy_, a source scaled first) ---- */

static const struct td_t *tensor_arg(PyObject *o, const char *fname)
{
    if (td_ext_is_tensor(o))
        return &((TensorObject *)o)->t;
    PyErr_Format(PyExc_TypeError, "%s: expected a Tensor, got %s", fname, Py_TYPE(o)->tp_name);
    return NULL;
}

static PyObject *m_internal_overlap(PyObject *self, PyObject *arg)
{
    const struct td_t *t = tensor_arg(arg, "internal_overlap");
    return t ? PyLong_FromLong(td_meta_internal_overlap(&t->m)) : NULL;
}

static PyObject *m_overlap(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2)
        return PyErr_Format(PyExc_TypeError, "overlap() takes 2 tensors (%zd given)", nargs);
    const struct td_t *a = tensor_arg(args[0], "overlap"), *b = a ? tensor_arg(args[1], "overlap") : NULL;
    if (!b)
        return NULL;
    enum td_overlap o = a->handle == b->handle        ? TD_OVERLAP_FULL
                        : a->storage_id != b->storage_id ? TD_OVERLAP_NO
                                                         : td_meta_overlap(&a->m, &b->m);
    return PyLong_FromLong(o);
}

static PyObject *m_assert_overlap(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"dst", "src", "full", NULL};
    PyObject *d, *s = Py_None;
    int full = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|Op:assert_overlap", kw, &d, &s, &full))
        return NULL;
    const struct td_t *dst = tensor_arg(d, "assert_overlap"), *src = NULL;
    if (!dst || (s != Py_None && !(src = tensor_arg(s, "assert_overlap"))))
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    if (td_meta_assert_overlap(&dst->m, src ? &src->m : NULL, src && src->handle == dst->handle,
                               src && src->storage_id == dst->storage_id,
                               full ? TD_OVERLAP_CHECK_ANY : TD_OVERLAP_CHECK_PARTIAL, &st))
        return td_ext_raise(&st);
    Py_RETURN_NONE;
}

/* Appends the tensors of o (one tensor, or a sequence of them) to metas/ids; -1 on error. */
static int add_operands(PyObject *o, const struct td_meta **metas, struct td_operand_id *ids, int *n)
{
    PyObject *seq = td_ext_is_tensor(o) ? NULL : PySequence_Fast(o, "check_overlap: expected tensors");
    if (!seq && !td_ext_is_tensor(o))
        return -1;
    Py_ssize_t k = seq ? PySequence_Fast_GET_SIZE(seq) : 1;
    for (Py_ssize_t j = 0; j < k; j++) {
        const struct td_t *t = tensor_arg(seq ? PySequence_Fast_GET_ITEM(seq, j) : o, "check_overlap");
        if (!t || *n >= TD_MAX_INPUTS) {
            if (t)
                PyErr_SetString(PyExc_ValueError, "check_overlap: too many tensors");
            Py_XDECREF(seq);
            return -1;
        }
        metas[*n] = &t->m;
        ids[(*n)++] = (struct td_operand_id){t->handle, t->storage_id};
    }
    Py_XDECREF(seq);
    return 0;
}

static PyObject *m_check_overlap(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"op", "inputs", "out", "inplace", "mode", NULL};
    int op, inplace = 0;
    long long mode = 0;
    PyObject *inputs, *out = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "iO|OpL:check_overlap", kw, &op, &inputs, &out, &inplace, &mode))
        return NULL;
    if (op <= 0 || op >= TD_OP_COUNT)
        return PyErr_Format(PyExc_ValueError, "check_overlap: unknown op %d", op);
    const struct td_meta *metas[TD_MAX_INPUTS];
    struct td_operand_id ids[TD_MAX_INPUTS];
    int n = 0;
    if (add_operands(inputs, metas, ids, &n))
        return NULL;
    int n_ops = n;
    if (out != Py_None && add_operands(out, metas, ids, &n))
        return NULL;
    /* the checks look at the first destination only (a multi-output op's values): a
     * composed op with fewer outputs than the row it is checked like repeats it */
    if (out != Py_None && (n == n_ops || n - n_ops > td_op_table[op].n_out))
        return PyErr_Format(PyExc_ValueError, "check_overlap: %s has %d outputs", td_op_name((enum td_op)op),
                            td_op_table[op].n_out);
    while (out != Py_None && n - n_ops < td_op_table[op].n_out && n < TD_MAX_INPUTS) {
        metas[n] = metas[n_ops];
        ids[n] = ids[n_ops];
        n++;
    }
    int64_t attrs[2] = {0, mode}; /* INDEX / INDEX_PUT: dim, mode */
    struct td_op_args a = {
        .op = (uint16_t)op, .flags = out != Py_None ? TD_RF_OUT : inplace ? TD_RF_INPLACE : 0,
        .n_in = (uint16_t)n, .in = metas, .attrs = attrs, .n_attr = 2,
    };
    struct td_status st = TD_STATUS_INIT;
    if (td_meta_check_overlap(&a, ids, &st))
        return td_ext_raise(&st);
    Py_RETURN_NONE;
}

#define FASTCALL(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL
#define KWARGS(f) (PyCFunction)(void (*)(void))(f), METH_VARARGS | METH_KEYWORDS

PyMethodDef td_ext_meta_methods[] = {
    {"promote_types", KWARGS(m_promote_types), "promote_types(type1, type2) -> dtype (torch.promote_types)"},
    {"can_cast", KWARGS(m_can_cast), "can_cast(from, to) -> bool (torch.can_cast)"},
    {"result_type", FASTCALL(m_result_type), "result_type(*tensors_or_numbers) -> dtype (torch.result_type)"},
    {"wrap_dim", FASTCALL(m_wrap_dim), "wrap_dim(dim, ndim) -> dim in [0, ndim) or PyTorch's IndexError"},
    {"broadcast_shapes", FASTCALL(m_broadcast_shapes), "broadcast_shapes(*shapes) -> Size (torch.broadcast_shapes)"},
    {"broadcast_sizes", FASTCALL(m_broadcast_sizes),
     "broadcast_sizes(*shapes) -> Size, broadcast as binary ops broadcast their operands"},
    {"contiguous_strides", m_contiguous_strides, METH_O, "contiguous_strides(sizes) -> tuple of strides"},
    {"internal_overlap", m_internal_overlap, METH_O,
     "internal_overlap(t) -> 0 no, 1 yes (an expanded dim), 2 too hard to tell (torch's has_internal_overlap)"},
    {"overlap", FASTCALL(m_overlap),
     "overlap(a, b) -> 0 none, 1 full, 2 partial, 3 too hard to tell (torch's get_overlap_status)"},
    {"assert_overlap", KWARGS(m_assert_overlap),
     "assert_overlap(dst, src=None, full=False): torch's assert_no_internal_overlap(dst) (src None), "
     "assert_no_partial_overlap(dst, src), or with full assert_no_overlap; RuntimeError when refused"},
    {"check_overlap", KWARGS(m_check_overlap),
     "check_overlap(op, inputs, out=None, inplace=False, mode=0): torch's overlap checks of op writing out= "
     "(or, inplace, inputs[0]; else copy_'s inputs[0]), RuntimeError when refused"},
    {NULL, NULL, 0, NULL},
};
