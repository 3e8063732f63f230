/*
 * fastcall.c — C entry points for the hottest spellings of the arithmetic ops:
 * torch.add(a, b), a.add(b), torch.add(a, b, alpha=2), a.add_(b), and the same for
 * sub, mul and div, so they cost what the operator slot (a + b) costs.
 *
 * A FastBinary wraps the Python function that owns the op's full semantics.  It records
 * the op itself only in the common case: a tensor and a tensor or a Python int/float,
 * alpha an int (or a float with a floating input), other keywords absent or None.
 * Anything else, and every error, goes to the wrapped function, so torch's messages
 * and the rare cases are written once, in Python.  With Py_TPFLAGS_METHOD_DESCRIPTOR a
 * FastBinary stored in a class is a method: a.add(b) calls it with a prepended, no
 * bound-method object in between.
 */
#include <stddef.h>

#include "ext.h"

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    int op;
    unsigned flags;     /* TD_RF_INPLACE for the in-place variants */
    int takes_alpha;
    PyObject *fallback; /* the Python function: the full semantics */
} FastBinary;

static PyObject *fb_fallback(FastBinary *f, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return PyObject_Vectorcall(f->fallback, args, nargsf, kwnames);
}

/* alpha as scalar words when the fast path may take it; false: leave it to Python. */
static bool alpha_words(PyObject *alpha, PyObject *a, int64_t *w)
{
    if (PyLong_CheckExact(alpha)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(alpha, &overflow);
        if (overflow || (v == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return false;
        }
        td_scalar_i64(w, v);
        return true;
    }
    /* a float alpha needs a floating result (torch's rule): only the plain case here */
    if (PyFloat_CheckExact(alpha) && td_dtype_is_float(((TensorObject *)a)->t.m.dtype)) {
        td_scalar_f64(w, PyFloat_AS_DOUBLE(alpha));
        return true;
    }
    return false;
}

/* Parses keywords: alpha (when taken), anything else only as None.  false: fall back. */
static bool parse_kw(FastBinary *f, PyObject *const *kwvals, PyObject *kwnames, PyObject **alpha)
{
    Py_ssize_t n = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i);
        if (f->takes_alpha && PyUnicode_CompareWithASCIIString(name, "alpha") == 0)
            *alpha = kwvals[i];
        else if (kwvals[i] != Py_None)
            return false;
    }
    return true;
}

static PyObject *fb_call(FastBinary *f, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *alpha = NULL;
    if (nargs != 2 || !td_ext_is_tensor(args[0]) || !parse_kw(f, args + nargs, kwnames, &alpha))
        return fb_fallback(f, args, nargsf, kwnames);
    PyObject *a = args[0], *b = args[1];
    const struct td_t *in[2] = {&((TensorObject *)a)->t, NULL};
    int64_t attrs[4] = {0, 0, 0, 0};
    int n_in = 1, n_attr = 2;
    if (td_ext_is_tensor(b)) {
        in[1] = &((TensorObject *)b)->t;
        n_in = 2;
    } else if (PyBool_Check(b) || !(PyLong_CheckExact(b) || PyFloat_CheckExact(b)) || td_ext_scalar(b, attrs)) {
        return fb_fallback(f, args, nargsf, kwnames); /* bools, numpy and complex scalars */
    }
    bool unit_alpha = !alpha || (PyLong_CheckExact(alpha) && PyLong_AsLong(alpha) == 1 && !PyErr_Occurred());
    PyErr_Clear();
    if (!unit_alpha) {
        if (!alpha_words(alpha, a, attrs + 2))
            return fb_fallback(f, args, nargsf, kwnames);
        n_attr = 4;
    }
    if (td_ext_check(a) || (n_in == 2 && td_ext_check(b))) {
        PyErr_Clear();
        return fb_fallback(f, args, nargsf, kwnames); /* raises the same, from Python */
    }
    td_client_t *c = td_ext_get_client();
    struct td_t out;
    struct td_status st = TD_STATUS_INIT;
    if (!c || td_op(c, (enum td_op)f->op, f->flags, in, n_in, attrs, n_attr, &out, &st)) {
        PyErr_Clear(); /* nothing was recorded: Python raises torch's error */
        return fb_fallback(f, args, nargsf, kwnames);
    }
    if (f->flags & TD_RF_INPLACE)
        return Py_NewRef(a);
    return td_ext_wrap(&out);
}

static PyObject *fb_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (!obj)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static void fb_dealloc(FastBinary *f)
{
    Py_XDECREF(f->fallback);
    PyObject_Free(f);
}

/* __name__, __qualname__, __doc__, __module__, __wrapped__: the wrapped function's. */
static PyObject *fb_getattro(PyObject *self, PyObject *name)
{
    FastBinary *f = (FastBinary *)self;
    if (PyUnicode_Check(name) && PyUnicode_GET_LENGTH(name) > 4 &&
        PyUnicode_READ_CHAR(name, 0) == '_' && PyUnicode_READ_CHAR(name, 1) == '_') {
        if (PyUnicode_CompareWithASCIIString(name, "__wrapped__") == 0)
            return Py_NewRef(f->fallback);
        static const char *const own[] = {"__name__", "__qualname__", "__doc__", "__module__", NULL};
        for (int i = 0; own[i]; i++)
            if (PyUnicode_CompareWithASCIIString(name, own[i]) == 0)
                return PyObject_GetAttr(f->fallback, name);
    }
    return PyObject_GenericGetAttr(self, name);
}

static PyObject *fb_repr(FastBinary *f) { return PyObject_Repr(f->fallback); }

PyTypeObject FastBinary_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tensord._C.FastBinary",
    .tp_basicsize = sizeof(FastBinary),
    .tp_dealloc = (destructor)fb_dealloc,
    .tp_vectorcall_offset = offsetof(FastBinary, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_repr = (reprfunc)fb_repr,
    .tp_getattro = fb_getattro,
    .tp_descr_get = fb_descr_get,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = "a binary op's C fast path in front of its Python function",
};

PyObject *td_ext_fast_binary(PyObject *self, PyObject *args)
{
    int op, takes_alpha;
    unsigned flags;
    PyObject *fallback;
    if (!PyArg_ParseTuple(args, "iIpO", &op, &flags, &takes_alpha, &fallback))
        return NULL;
    if (op <= 0 || op >= TD_OP_COUNT || td_op_table[op].family != TD_FAM_BINARY || !PyCallable_Check(fallback)) {
        PyErr_SetString(PyExc_ValueError, "fast_binary(op, flags, takes_alpha, fallback): a binary op and a callable");
        return NULL;
    }
    FastBinary *f = PyObject_New(FastBinary, &FastBinary_Type);
    if (!f)
        return NULL;
    f->vectorcall = (vectorcallfunc)fb_call;
    f->op = op;
    f->flags = flags & TD_RF_INPLACE;
    f->takes_alpha = takes_alpha;
    f->fallback = Py_NewRef(fallback);
    return (PyObject *)f;
}
