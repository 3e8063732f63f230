/*
 * tensor.c — the TensorBase C type: a handle plus inline metadata, its attributes, and
 * the operator slots that must be fast (+ - * / @, unary -, comparisons, in-place
 * + - * /).  Everything else is defined by the Python subclass (tensord/_tensor.py).
 */

#include "ext.h"

PyObject *td_ext_wrap(const struct td_t *t)
{
    PyTypeObject *cls = td_ext_tensor_cls ? td_ext_tensor_cls : &TensorBase_Type;
    TensorObject *o = (TensorObject *)cls->tp_alloc(cls, 0);
    if (!o) {
        struct td_t tmp = *t;
        if (td_ext_client)
            td_release(td_ext_client, &tmp);
        return NULL;
    }
    o->t = *t;
    o->epoch = td_ext_epoch;
    o->known = NULL;
    o->known_version = 0;
    return (PyObject *)o;
}

static void tensor_dealloc(TensorObject *self)
{
    /* a handle of another session (the parent's, after fork) is not ours to release */
    if (td_ext_client && self->t.handle && self->epoch == td_ext_epoch)
        td_release(td_ext_client, &self->t);
    else
        td_ag_forget(&self->t); /* another session's (or a closed one's): nothing to send */
    Py_CLEAR(self->known);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *tensor_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    PyErr_SetString(PyExc_TypeError, "tensors are created by tensord functions (tensord.tensor, zeros, ...)");
    return NULL;
}

/* ---- binary operators ---- */

/* Records op on (a, b) where either may be a Python scalar; NotImplemented otherwise. */
static PyObject *binary(PyObject *a, PyObject *b, enum td_op op, unsigned flags)
{
    const struct td_t *in[2];
    int64_t attrs[2] = {0, 0};
    int n_in;
    bool ta = td_ext_is_tensor(a), tb = td_ext_is_tensor(b);
    if (ta && tb) {
        in[0] = &((TensorObject *)a)->t;
        in[1] = &((TensorObject *)b)->t;
        n_in = 2;
    } else if (ta && !td_ext_scalar(b, attrs)) {
        in[0] = &((TensorObject *)a)->t;
        n_in = 1;
    } else if (tb && !td_ext_scalar(a, attrs)) {
        in[0] = &((TensorObject *)b)->t;
        n_in = 1;
        flags |= TD_RF_SCALAR_LHS;
    } else if (td_ext_binary_fallback && (PyComplex_Check(a) || PyComplex_Check(b))) {
        /* a complex scalar has no wire form: the Python side makes it a 0-d tensor */
        return PyObject_CallFunction(td_ext_binary_fallback, "iOOI", (int)op, a, b, flags);
    } else {
        Py_RETURN_NOTIMPLEMENTED;
    }
    /* the tensors first: in a forked child, "not connected" would hide the real cause */
    if ((ta && td_ext_check(a)) || (tb && td_ext_check(b)))
        return NULL;
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_t out;
    struct td_status st = TD_STATUS_INIT;
    if (td_op(c, op, flags, in, n_in, attrs, 2, &out, &st))
        return td_ext_raise(&st);
    if (flags & TD_RF_INPLACE) {
        Py_INCREF(a);
        return a;
    }
    return td_ext_wrap(&out);
}

static PyObject *nb_add(PyObject *a, PyObject *b) { return binary(a, b, TD_OP_ADD, 0); }
static PyObject *nb_sub(PyObject *a, PyObject *b) { return binary(a, b, TD_OP_SUB, 0); }
static PyObject *nb_mul(PyObject *a, PyObject *b) { return binary(a, b, TD_OP_MUL, 0); }
static PyObject *nb_div(PyObject *a, PyObject *b) { return binary(a, b, TD_OP_DIV, 0); }
static PyObject *nb_iadd(PyObject *a, PyObject *b) { return binary(a, b, TD_OP_ADD, TD_RF_INPLACE); }
static PyObject *nb_isub(PyObject *a, PyObject *b) { return binary(a, b, TD_OP_SUB, TD_RF_INPLACE); }
static PyObject *nb_imul(PyObject *a, PyObject *b) { return binary(a, b, TD_OP_MUL, TD_RF_INPLACE); }
static PyObject *nb_idiv(PyObject *a, PyObject *b) { return binary(a, b, TD_OP_DIV, TD_RF_INPLACE); }

static PyObject *nb_matmul(PyObject *a, PyObject *b)
{
    if (!td_ext_is_tensor(a) || !td_ext_is_tensor(b))
        Py_RETURN_NOTIMPLEMENTED;
    if (td_ext_check(a) || td_ext_check(b))
        return NULL;
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_t out;
    struct td_status st = TD_STATUS_INIT;
    if (td_matmul(c, &((TensorObject *)a)->t, &((TensorObject *)b)->t, &out, &st))
        return td_ext_raise(&st);
    return td_ext_wrap(&out);
}

static PyObject *nb_neg(PyObject *a)
{
    if (td_ext_check(a))
        return NULL;
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_t out;
    struct td_status st = TD_STATUS_INIT;
    if (td_unary(c, TD_OP_NEG, &((TensorObject *)a)->t, &out, &st))
        return td_ext_raise(&st);
    return td_ext_wrap(&out);
}

static PyObject *richcompare(PyObject *a, PyObject *b, int cmp)
{
    static const enum td_op ops[] = {
        [Py_LT] = TD_OP_LT, [Py_LE] = TD_OP_LE, [Py_EQ] = TD_OP_EQ,
        [Py_NE] = TD_OP_NE, [Py_GT] = TD_OP_GT, [Py_GE] = TD_OP_GE,
    };
    return binary(a, b, ops[cmp], 0);
}

static Py_hash_t tensor_hash(PyObject *self) { return _Py_HashPointer(self); }

static PyNumberMethods number_methods = {
    .nb_add = nb_add, .nb_subtract = nb_sub, .nb_multiply = nb_mul, .nb_true_divide = nb_div,
    .nb_inplace_add = nb_iadd, .nb_inplace_subtract = nb_isub, .nb_inplace_multiply = nb_imul,
    .nb_inplace_true_divide = nb_idiv, .nb_matrix_multiply = nb_matmul, .nb_negative = nb_neg,
};

/* ---- attributes ---- */

static PyObject *int_tuple(const int64_t *v, int n)
{
    PyObject *t = PyTuple_New(n);
    for (int i = 0; t && i < n; i++) {
        PyObject *x = PyLong_FromLongLong(v[i]);
        if (!x) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, x);
    }
    return t;
}

static PyObject *get_shape(TensorObject *self, void *closure)
{
    PyObject *t = int_tuple(self->t.m.sizes, self->t.m.ndim);
    if (!t || !td_ext_size_cls)
        return t;
    PyObject *s = PyObject_CallOneArg(td_ext_size_cls, t);
    Py_DECREF(t);
    return s;
}

static PyObject *get_dtype(TensorObject *self, void *closure)
{
    if (!td_ext_dtypes)
        return PyLong_FromLong(self->t.m.dtype);
    PyObject *d = PyTuple_GET_ITEM(td_ext_dtypes, self->t.m.dtype);
    Py_INCREF(d);
    return d;
}

static PyObject *get_handle(TensorObject *self, void *c) { return PyLong_FromUnsignedLongLong(self->t.handle); }
static PyObject *get_dtype_index(TensorObject *self, void *c) { return PyLong_FromLong(self->t.m.dtype); }
static PyObject *get_ndim(TensorObject *self, void *c) { return PyLong_FromLong(self->t.m.ndim); }
static PyObject *get_strides(TensorObject *self, void *c) { return int_tuple(self->t.m.strides, self->t.m.ndim); }
static PyObject *get_offset(TensorObject *self, void *c) { return PyLong_FromLongLong(self->t.m.offset); }
static PyObject *get_nbytes(TensorObject *self, void *c) { return PyLong_FromLongLong(self->t.m.storage_nbytes); }
static PyObject *get_storage_key(TensorObject *self, void *c) { return PyLong_FromUnsignedLongLong(self->t.storage_id); }
static PyObject *get_device_index(TensorObject *self, void *c) { return PyLong_FromLong(self->t.m.device); }

static PyObject *get_retains_grad(TensorObject *self, void *c) { return PyBool_FromLong(td_retains_grad(&self->t)); }
static PyObject *get_output_nr(TensorObject *self, void *c) { return PyLong_FromUnsignedLong(td_output_nr(&self->t)); }
/* torch's version counter: the writes recorded to the tensor's storage (td_version) */
static PyObject *get_version(TensorObject *self, void *c)
{
    return PyLong_FromUnsignedLongLong(td_ext_client ? td_version(td_ext_client, &self->t) : 0);
}

static PyGetSetDef getset[] = {
    {"shape", (getter)get_shape, NULL, "the tensor's sizes", NULL},
    {"dtype", (getter)get_dtype, NULL, "element type", NULL},
    {"ndim", (getter)get_ndim, NULL, "number of dimensions", NULL},
    {"_handle", (getter)get_handle, NULL, NULL, NULL},
    {"_dtype_index", (getter)get_dtype_index, NULL, NULL, NULL},
    {"_strides", (getter)get_strides, NULL, NULL, NULL},
    {"_offset", (getter)get_offset, NULL, NULL, NULL},
    {"_storage_nbytes", (getter)get_nbytes, NULL, NULL, NULL},
    {"_storage_key", (getter)get_storage_key, NULL, NULL, NULL},
    {"_device_index", (getter)get_device_index, NULL, "0: the CPU; 1 + i: cuda:i", NULL},
    {"requires_grad", (getter)td_ext_get_requires_grad, (setter)td_ext_set_requires_grad, NULL, NULL},
    {"is_leaf", (getter)td_ext_get_is_leaf, NULL, NULL, NULL},
    {"retains_grad", (getter)get_retains_grad, NULL, "retain_grad() was called on this non-leaf", NULL},
    {"output_nr", (getter)get_output_nr, NULL, "which output of its grad_fn the tensor is", NULL},
    {"_version", (getter)get_version, NULL, "how many in-place writes its storage has had", NULL},
    {"grad_fn", (getter)td_ext_get_grad_fn, NULL, NULL, NULL},
    {"grad", (getter)td_ext_get_grad, (setter)td_ext_set_grad, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* dim argument normalized against ndim, IndexError like PyTorch */
static int wrap_dim_arg(TensorObject *self, PyObject *dim_o, int64_t *dim)
{
    *dim = PyLong_AsLongLong(dim_o);
    if (*dim == -1 && PyErr_Occurred())
        return -1;
    struct td_status st = TD_STATUS_INIT;
    if (td_meta_wrap_dim(dim, self->t.m.ndim, &st)) {
        td_ext_raise(&st);
        return -1;
    }
    return 0;
}

static PyObject *m_size(TensorObject *self, PyObject *args)
{
    PyObject *dim_o = Py_None;
    if (!PyArg_ParseTuple(args, "|O", &dim_o))
        return NULL;
    if (dim_o == Py_None)
        return get_shape(self, NULL);
    int64_t d;
    if (wrap_dim_arg(self, dim_o, &d))
        return NULL;
    return PyLong_FromLongLong(self->t.m.ndim ? self->t.m.sizes[d] : 1);
}

static PyObject *m_stride(TensorObject *self, PyObject *args)
{
    PyObject *dim_o = Py_None;
    if (!PyArg_ParseTuple(args, "|O", &dim_o))
        return NULL;
    if (dim_o == Py_None)
        return get_strides(self, NULL);
    int64_t d;
    if (wrap_dim_arg(self, dim_o, &d))
        return NULL;
    return PyLong_FromLongLong(self->t.m.ndim ? self->t.m.strides[d] : 1);
}

static PyObject *m_numel(TensorObject *self, PyObject *n) { return PyLong_FromLongLong(td_meta_numel(&self->t.m)); }
static PyObject *m_dim(TensorObject *self, PyObject *n) { return PyLong_FromLong(self->t.m.ndim); }
static PyObject *m_element_size(TensorObject *self, PyObject *n)
{
    return PyLong_FromLong((long)td_dtype_size(self->t.m.dtype));
}
static PyObject *m_is_contiguous(TensorObject *self, PyObject *n)
{
    return PyBool_FromLong(td_meta_is_contiguous(&self->t.m));
}
static PyObject *m_storage_offset(TensorObject *self, PyObject *n) { return get_offset(self, NULL); }

static PyMethodDef tensor_methods[] = {
    {"size", (PyCFunction)m_size, METH_VARARGS, "size(dim=None)"},
    {"stride", (PyCFunction)m_stride, METH_VARARGS, "stride(dim=None)"},
    {"numel", (PyCFunction)m_numel, METH_NOARGS, "number of elements"},
    {"dim", (PyCFunction)m_dim, METH_NOARGS, "number of dimensions"},
    {"element_size", (PyCFunction)m_element_size, METH_NOARGS, "bytes per element"},
    {"is_contiguous", (PyCFunction)m_is_contiguous, METH_NOARGS, "row-major contiguous?"},
    {"storage_offset", (PyCFunction)m_storage_offset, METH_NOARGS, "offset in elements"},
    {"retain_grad", (PyCFunction)td_ext_retain_grad, METH_NOARGS, "keep this non-leaf's gradient in .grad"},
    {"detach_", (PyCFunction)td_ext_detach_, METH_NOARGS, "drop the autograd history, in place"},
    {"_set_data", (PyCFunction)td_ext_set_data, METH_O, "Tensor.data = src: src's storage, own autograd state"},
    {"_register_hook", (PyCFunction)td_ext_register_hook, METH_O, "hook(grad) -> id"},
    {"_remove_hook", (PyCFunction)td_ext_remove_hook, METH_O, "remove a hook by id"},
    {NULL, NULL, 0, NULL},
};

PyTypeObject TensorBase_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tensord._C.TensorBase",
    .tp_basicsize = sizeof(TensorObject),
    .tp_dealloc = (destructor)tensor_dealloc,
    .tp_as_number = &number_methods,
    .tp_hash = tensor_hash,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "A tensor held by the tensord daemon (handle + metadata).",
    .tp_richcompare = richcompare,
    .tp_methods = tensor_methods,
    .tp_getset = getset,
    .tp_new = tensor_new,
};
