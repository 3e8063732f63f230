/*
 * storage_view.c — _C.storage_view(t): a tensor's storage as a writable buffer in this
 * process's memory (libtensord's td_storage_map), for zero-copy numpy() and DLPack.
 *
 * The object holds the tensor (so the storage lives as long as any numpy array built on
 * the buffer) and one export of its storage (so ops on it sync before returning:
 * tensord.h); both end when the last array over it goes.  None when the storage cannot
 * be mapped here (remote daemon, gRPC transport): numpy() then copies.
 */
#include "ext.h"

typedef struct {
    PyObject_HEAD
    PyObject *tensor;
    td_client_t *client; /* the client that exported (the storage_id is its) */
    unsigned epoch;      /* td_ext_epoch then: a later client is another one */
    uint64_t storage_id;
    void *base;
    size_t nbytes;
    Py_ssize_t exports; /* buffers handed out */
} StorageViewObject;

static void sv_dealloc(StorageViewObject *self)
{
    /* the client may have been replaced (reconnect) or dropped; only unmap on the one
     * that exported, while it is still the process's client */
    if (self->client && self->client == td_ext_client && self->epoch == td_ext_epoch)
        td_storage_unmap(self->client, self->storage_id);
    Py_XDECREF(self->tensor);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int sv_getbuffer(StorageViewObject *self, Py_buffer *view, int flags)
{
    if (PyBuffer_FillInfo(view, (PyObject *)self, self->base, (Py_ssize_t)self->nbytes, 0, flags) < 0)
        return -1;
    self->exports++;
    return 0;
}

static void sv_releasebuffer(StorageViewObject *self, Py_buffer *view) { self->exports--; }

static PyBufferProcs sv_as_buffer = {
    .bf_getbuffer = (getbufferproc)sv_getbuffer,
    .bf_releasebuffer = (releasebufferproc)sv_releasebuffer,
};

static PyObject *sv_get_tensor(StorageViewObject *self, void *closure)
{
    Py_INCREF(self->tensor);
    return self->tensor;
}

static PyObject *sv_get_address(StorageViewObject *self, void *closure)
{
    return PyLong_FromVoidPtr(self->base);
}

static PyObject *sv_get_nbytes(StorageViewObject *self, void *closure) { return PyLong_FromSize_t(self->nbytes); }

static PyGetSetDef sv_getset[] = {
    {"tensor", (getter)sv_get_tensor, NULL, "the tensor whose storage this is", NULL},
    {"address", (getter)sv_get_address, NULL, "the storage's first byte in this process", NULL},
    {"nbytes", (getter)sv_get_nbytes, NULL, "the storage's size", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject td_ext_StorageView_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tensord._C.StorageView",
    .tp_basicsize = sizeof(StorageViewObject),
    .tp_dealloc = (destructor)sv_dealloc,
    .tp_as_buffer = &sv_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "a tensor's storage mapped into this process (from storage_view)",
    .tp_getset = sv_getset,
};

PyObject *td_ext_storage_view(PyObject *self, PyObject *o)
{
    if (!td_ext_is_tensor(o)) {
        PyErr_SetString(PyExc_TypeError, "storage_view expects a Tensor");
        return NULL;
    }
    td_client_t *c;
    if (td_ext_check(o) || !(c = td_ext_get_client()))
        return NULL;
    const struct td_t *t = &((TensorObject *)o)->t;
    struct td_status st = TD_STATUS_INIT;
    void *base = NULL;
    size_t nbytes = 0;
    enum td_code code;
    Py_BEGIN_ALLOW_THREADS
    code = td_storage_map(c, t, &base, &nbytes, &st);
    Py_END_ALLOW_THREADS
    if (code == TD_CODE_FAILED_PRECONDITION)
        Py_RETURN_NONE;
    if (code)
        return td_ext_raise(&st);
    StorageViewObject *sv = PyObject_New(StorageViewObject, &td_ext_StorageView_Type);
    if (!sv) {
        td_storage_unmap(c, t->storage_id);
        return NULL;
    }
    Py_INCREF(o);
    sv->tensor = o;
    sv->client = c;
    sv->epoch = td_ext_epoch;
    sv->storage_id = t->storage_id;
    sv->base = base;
    sv->nbytes = nbytes;
    sv->exports = 0;
    return (PyObject *)sv;
}
