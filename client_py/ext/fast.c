/*
 * fast.c — C entry points for the hot spellings: torch.add(a, b), a.add(b),
 * torch.add(a, b, alpha=2), a.add_(b), torch.matmul, a.sum(dim=1), torch.exp(a) ...
 * cost what the operator slot (a + b) costs.
 *
 * A FastOp wraps the Python function that owns the op's full semantics.  It parses the
 * call with the op's schema (ops.c, in try mode) and records the op itself when every
 * argument is plain: tensors, exact Python ints and floats, dims as ints, dtypes, bools.
 * Anything else, out=, and every error go to the wrapped function, so torch's
 * messages and the rare cases are written once, in Python.  This works because the
 * op's schema names its arguments as torch does.  With Py_TPFLAGS_METHOD_DESCRIPTOR a
 * FastOp stored in a class is a method: a.add(b) calls it with a prepended, no bound
 * method object in between.
 */
#include <stddef.h>

#include "ext.h"

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    int op;
    unsigned flags;     /* TD_RF_INPLACE for the in-place variants */
    PyObject *fallback; /* the Python function: the full semantics */
} FastOp;

static PyObject *fast_call(FastOp *f, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    PyObject *r = td_ext_op_call((enum td_op)f->op, NULL, f->flags, args, nargsf, kwnames);
    if (r)
        return r;
    PyErr_Clear(); /* nothing was recorded: the Python function decides, and raises torch's error */
    return PyObject_Vectorcall(f->fallback, args, nargsf, kwnames);
}

static PyObject *fast_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (!obj)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static void fast_dealloc(FastOp *f)
{
    Py_XDECREF(f->fallback);
    PyObject_Free(f);
}

/* __name__, __qualname__, __doc__, __module__, __wrapped__: the wrapped function's. */
static PyObject *fast_getattro(PyObject *self, PyObject *name)
{
    FastOp *f = (FastOp *)self;
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

static PyObject *fast_repr(FastOp *f) { return PyObject_Repr(f->fallback); }

PyTypeObject FastOp_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tensord._C.FastOp",
    .tp_basicsize = sizeof(FastOp),
    .tp_dealloc = (destructor)fast_dealloc,
    .tp_vectorcall_offset = offsetof(FastOp, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_repr = (reprfunc)fast_repr,
    .tp_getattro = fast_getattro,
    .tp_descr_get = fast_descr_get,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = "an op's C fast path in front of its Python function",
};

/* fast(opnum, fallback, inplace=False) */
PyObject *td_ext_fast(PyObject *self, PyObject *args)
{
    int op, inplace = 0;
    PyObject *fallback;
    if (!PyArg_ParseTuple(args, "iO|p", &op, &fallback, &inplace))
        return NULL;
    if (op <= 0 || op >= TD_OP_COUNT || !td_op_schemas[op].args || !PyCallable_Check(fallback) ||
        (inplace && !(td_op_table[op].flags & TD_F_INPLACE_OK))) {
        PyErr_SetString(PyExc_ValueError, "fast(op, fallback, inplace=False): an op with a schema and a callable");
        return NULL;
    }
    FastOp *f = PyObject_New(FastOp, &FastOp_Type);
    if (!f)
        return NULL;
    f->vectorcall = (vectorcallfunc)fast_call;
    f->op = op;
    f->flags = inplace ? TD_RF_INPLACE : 0;
    f->fallback = Py_NewRef(fallback);
    return (PyObject *)f;
}
