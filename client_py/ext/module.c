/*
 * module.c — tensord._C module functions: connection, the generic op entry, data
 * transfer and the exception mapping.  Interface documented in API.md beside this file.
 */
#include <pthread.h>
#include <string.h>

#include "../../kernels/device.h"
#include "ext.h"

td_client_t *td_ext_client;
unsigned td_ext_epoch, td_ext_process_epoch;
PyTypeObject *td_ext_tensor_cls;
PyObject *td_ext_size_cls;
PyObject *td_ext_dtypes;
PyObject *td_ext_binary_fallback;
static PyObject *cuda_oom_cls; /* torch.cuda.OutOfMemoryError (set_cuda_oom_error) */

PyObject *td_ext_raise(const struct td_status *st)
{
    PyObject *exc;
    if (st->code == TD_CODE_ABORTED && PyErr_Occurred())
        return NULL; /* a Python callback (a saved-tensor hook) raised: its exception stands */
    static const char oom[] = "CUDA out of memory.";
    if (st->code == TD_CODE_RESOURCE_EXHAUSTED && cuda_oom_cls && !strncmp(st->msg, oom, sizeof oom - 1)) {
        PyErr_SetString(cuda_oom_cls, st->msg);
        return NULL;
    }
    switch (st->code) {
    case TD_CODE_OUT_OF_RANGE: exc = PyExc_IndexError; break;
    case TD_CODE_FAILED_PRECONDITION: exc = PyExc_TypeError; break;
    case TD_CODE_UNIMPLEMENTED: exc = PyExc_NotImplementedError; break;
    case TD_CODE_UNAVAILABLE: exc = PyExc_ConnectionError; break;
    default: exc = PyExc_RuntimeError; break;
    }
    PyErr_SetString(exc, st->msg[0] ? st->msg : td_code_name(st->code));
    return NULL;
}

int td_ext_tensor_stale(TensorObject *o)
{
    int r = td_ext_open_inherited(o);
    if (r)
        return r > 0 ? 0 : -1;
    if (o->epoch < td_ext_process_epoch)
        PyErr_SetString(PyExc_RuntimeError,
                        "tensord: this tensor belongs to the parent process's session (it was inherited "
                        "through fork, but the parent made no fork grant: it forked before connecting, or "
                        "from an older session) and cannot be used in the child; create it in the child, "
                        "or pass it through tensord.multiprocessing");
    else
        PyErr_SetString(PyExc_RuntimeError,
                        "tensord: this tensor belongs to a session that was closed (disconnect, or reconnect "
                        "after the daemon went away); its data is gone");
    return -1;
}

/* Runs in the child inside fork(), one thread: the parent's client is abandoned, never
 * freed or called (its session and stream are the parent's); the next connect() makes
 * the child's own.  Tensors inherited from the parent keep their older epoch. */
static void after_fork_child(void)
{
    td_ext_client = NULL;
    td_ext_process_epoch = ++td_ext_epoch;
}

/* tensord._daemon's automatic reconnect (tensord.set_auto_reconnect), or NULL. */
static PyObject *reconnect_hook;

td_client_t *td_ext_get_client(void)
{
    static bool in_hook; /* the hook's own calls must not re-enter it (the GIL is held) */
    td_ext_note_location();
    if (td_ext_client && reconnect_hook && !in_hook && td_client_lost(td_ext_client)) {
        /* the daemon went away before this call: a new session first (the call that
         * found the loss already raised ConnectionError) */
        in_hook = true;
        PyObject *r = PyObject_CallNoArgs(reconnect_hook);
        in_hook = false;
        if (!r)
            return NULL;
        Py_DECREF(r);
    }
    if (!td_ext_client)
        PyErr_SetString(PyExc_ConnectionError, "tensord: not connected to a daemon");
    return td_ext_client;
}

int td_ext_scalar(PyObject *o, int64_t *w)
{
    if (PyBool_Check(o)) {
        w[0] = TD_SCALAR_BOOL;
        w[1] = o == Py_True;
        return 0;
    }
    if (PyLong_Check(o)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow) {
            /* beyond int64: PyTorch fails too; use the float value */
            td_scalar_f64(w, PyLong_AsDouble(o));
            return 0;
        }
        td_scalar_i64(w, v);
        return 0;
    }
    if (PyFloat_Check(o)) {
        td_scalar_f64(w, PyFloat_AS_DOUBLE(o));
        return 0;
    }
    return -1;
}

static PyObject *m_connect(PyObject *self, PyObject *args)
{
    const char *addr = NULL;
    int timeout_ms = 5000;
    if (!PyArg_ParseTuple(args, "|zi", &addr, &timeout_ms))
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    td_client_t *c;
    Py_BEGIN_ALLOW_THREADS
    c = td_client_connect(addr, timeout_ms, &st);
    Py_END_ALLOW_THREADS
    if (!c)
        return td_ext_raise(&st);
    td_client_t *old = td_ext_client;
    td_ext_client = c;
    td_ext_epoch++;
    if (old) {
        td_ext_numpy_arena_orphan(old);
        Py_BEGIN_ALLOW_THREADS
        td_client_free(old);
        Py_END_ALLOW_THREADS
    }
    return PyLong_FromUnsignedLongLong(td_client_session(c));
}

/* reconnect(address=None, timeout_ms=5000): a new session (on address, else where the
 * current client connected) carrying the session's settings; the old session's tensors
 * become stale (their epoch is older). */
static PyObject *m_reconnect(PyObject *self, PyObject *args)
{
    const char *addr = NULL;
    int timeout_ms = 5000;
    if (!PyArg_ParseTuple(args, "|zi", &addr, &timeout_ms))
        return NULL;
    td_client_t *old = td_ext_client;
    if (!old)
        return m_connect(self, args);
    struct td_status st = TD_STATUS_INIT;
    td_client_t *c;
    Py_BEGIN_ALLOW_THREADS
    c = td_client_reconnect(old, addr, timeout_ms, &st);
    Py_END_ALLOW_THREADS
    if (!c)
        return td_ext_raise(&st);
    td_ext_client = c;
    td_ext_epoch++;
    td_ext_numpy_arena_orphan(old);
    Py_BEGIN_ALLOW_THREADS
    td_client_free(old);
    Py_END_ALLOW_THREADS
    return PyLong_FromUnsignedLongLong(td_client_session(c));
}

static PyObject *m_lost(PyObject *self, PyObject *noargs)
{
    return PyBool_FromLong(td_ext_client && td_client_lost(td_ext_client));
}

static PyObject *m_set_reconnect_hook(PyObject *self, PyObject *fn)
{
    if (fn != Py_None && !PyCallable_Check(fn))
        return PyErr_Format(PyExc_TypeError, "set_reconnect_hook wants a callable or None");
    Py_XDECREF(reconnect_hook);
    reconnect_hook = fn == Py_None ? NULL : Py_NewRef(fn);
    Py_RETURN_NONE;
}

static PyObject *m_disconnect(PyObject *self, PyObject *noargs)
{
    td_client_t *c = td_ext_client;
    td_ext_client = NULL;
    td_ext_epoch++;
    if (c) {
        td_ext_numpy_arena_orphan(c);
        Py_BEGIN_ALLOW_THREADS
        td_client_free(c);
        Py_END_ALLOW_THREADS
    }
    Py_RETURN_NONE;
}

static PyObject *m_connected(PyObject *self, PyObject *noargs) { return PyBool_FromLong(td_ext_client != NULL); }

static PyObject *m_session(PyObject *self, PyObject *noargs)
{
    if (!td_ext_client)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(td_client_session(td_ext_client));
}

static PyObject *m_transport(PyObject *self, PyObject *noargs)
{
    if (!td_ext_client)
        Py_RETURN_NONE;
    return PyUnicode_FromString(td_client_transport(td_ext_client));
}

static PyObject *m_default_address(PyObject *self, PyObject *noargs)
{
    char buf[512];
    return PyUnicode_FromString(td_default_address(buf, sizeof buf));
}

static PyObject *m_stats(PyObject *self, PyObject *args)
{
    const char *addr = NULL;
    if (!PyArg_ParseTuple(args, "|z", &addr))
        return NULL;
    struct td_stats s;
    struct td_status st = TD_STATUS_INIT;
    enum td_code code;
    Py_BEGIN_ALLOW_THREADS
    code = td_client_stats(addr, &s, &st);
    Py_END_ALLOW_THREADS
    if (code)
        return td_ext_raise(&st);
    PyObject *sessions = PyList_New(0);
    for (uint32_t i = 0; sessions && i < s.n_session_memory; i++) {
        const struct td_session_memory *u = &s.session_memory[i];
        PyObject *row = Py_BuildValue("{sKsIsKsKsK}", "session", (unsigned long long)u->session, "uid",
                                      (unsigned int)u->uid, "bytes_in_use", (unsigned long long)u->bytes_in_use,
                                      "bytes_peak", (unsigned long long)u->bytes_peak, "limit",
                                      (unsigned long long)u->limit);
        if (!row || PyList_Append(sessions, row) < 0) {
            Py_XDECREF(row);
            Py_CLEAR(sessions);
            break;
        }
        Py_DECREF(row);
    }
    if (!sessions)
        return NULL;
    return Py_BuildValue(
        "{sKsKsKsKsKsKsKsKsKsKsKsKsKsKsKsKsKsKsKsKsKsdsN}", "bytes_cached", (unsigned long long)s.bytes_cached,
        "sessions", (unsigned long long)s.sessions, "sessions_total", (unsigned long long)s.sessions_total,
        "tensors", (unsigned long long)s.tensors, "storages", (unsigned long long)s.storages, "bytes_in_use",
        (unsigned long long)s.bytes_in_use, "bytes_peak", (unsigned long long)s.bytes_peak, "ops_executed",
        (unsigned long long)s.ops_executed, "errors", (unsigned long long)s.errors, "bad_messages",
        (unsigned long long)s.bad_messages, "bytes_reserved", (unsigned long long)s.bytes_reserved,
        "bytes_reserved_peak", (unsigned long long)s.bytes_reserved_peak, "bytes_free",
        (unsigned long long)s.bytes_free, "bytes_largest_free", (unsigned long long)s.bytes_largest_free,
        "arenas", (unsigned long long)s.arenas, "arena_bytes", (unsigned long long)s.arena_bytes, "allocs",
        (unsigned long long)s.allocs, "alloc_cache_hits", (unsigned long long)s.alloc_cache_hits,
        "alloc_releases", (unsigned long long)s.alloc_releases, "alloc_ooms", (unsigned long long)s.alloc_ooms,
        "alloc_pressure_releases", (unsigned long long)s.alloc_pressure_releases,
        "fragmentation", s.fragmentation, "session_memory", sessions);
}

static PyObject *m_set_classes(PyObject *self, PyObject *args)
{
    PyObject *tcls, *scls, *dtypes;
    if (!PyArg_ParseTuple(args, "OOO!", &tcls, &scls, &PyTuple_Type, &dtypes))
        return NULL;
    if (!PyType_Check(tcls) || !PyType_IsSubtype((PyTypeObject *)tcls, &TensorBase_Type)) {
        PyErr_SetString(PyExc_TypeError, "set_classes: tensor class must subclass TensorBase");
        return NULL;
    }
    if (PyTuple_GET_SIZE(dtypes) != TD_DTYPE_COUNT) {
        PyErr_Format(PyExc_TypeError, "set_classes: expected %d dtypes", TD_DTYPE_COUNT);
        return NULL;
    }
    Py_INCREF(tcls);
    Py_INCREF(scls);
    Py_INCREF(dtypes);
    Py_XSETREF(td_ext_tensor_cls, (PyTypeObject *)tcls);
    Py_XSETREF(td_ext_size_cls, scls);
    Py_XSETREF(td_ext_dtypes, dtypes);
    /* the package's own frames are skipped when locating the user's line */
    PyObject *mod = PyObject_GetAttrString(tcls, "__module__"), *pkg = NULL, *path = NULL;
    if (mod && PyUnicode_Check(mod)) {
        PyObject *dot = PyUnicode_FromString(".");
        PyObject *parts = dot ? PyUnicode_Split(mod, dot, 1) : NULL;
        if (parts && PyList_GET_SIZE(parts) > 0)
            pkg = PyImport_Import(PyList_GET_ITEM(parts, 0));
        Py_XDECREF(parts);
        Py_XDECREF(dot);
    }
    if (pkg)
        path = PyObject_GetAttrString(pkg, "__path__");
    PyErr_Clear();
    int rc = td_ext_location_init(path && PyList_Check(path) && PyList_GET_SIZE(path) ? PyList_GET_ITEM(path, 0) : NULL);
    Py_XDECREF(path);
    Py_XDECREF(pkg);
    Py_XDECREF(mod);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *m_scalar(PyObject *self, PyObject *o)
{
    int64_t w[2];
    if (td_ext_scalar(o, w)) {
        PyErr_Format(PyExc_TypeError, "expected a Python bool, int or float, got %s", Py_TYPE(o)->tp_name);
        return NULL;
    }
    return Py_BuildValue("(LL)", (long long)w[0], (long long)w[1]);
}

/* The arguments of op() and check(): op number, inputs, attributes, flags. */
struct op_call {
    long op, flags;
    PyObject *ins, *ats; /* PySequence_Fast, released by op_call_fini */
    const struct td_t *in[TD_MAX_INPUTS];
    int64_t attrs[256];
    int n_in, n_attr;
};

static void op_call_fini(struct op_call *a)
{
    Py_XDECREF(a->ins);
    Py_XDECREF(a->ats);
}

/* Parses (opnum, inputs, attrs, flags=0); -1 with an exception set (call op_call_fini). */
static int op_call_parse(PyObject *const *args, Py_ssize_t nargs, struct op_call *a)
{
    a->ins = a->ats = NULL;
    if (nargs < 3 || nargs > 4) {
        PyErr_SetString(PyExc_TypeError, "op(opnum, inputs, attrs, flags=0)");
        return -1;
    }
    a->op = PyLong_AsLong(args[0]);
    a->flags = nargs == 4 ? PyLong_AsLong(args[3]) : 0;
    if (PyErr_Occurred())
        return -1;
    if (a->op < 0 || a->op >= TD_OP_COUNT) {
        PyErr_Format(PyExc_ValueError, "unknown op %ld", a->op);
        return -1;
    }
    a->ins = PySequence_Fast(args[1], "inputs must be a sequence of tensors");
    if (!a->ins)
        return -1;
    a->ats = PySequence_Fast(args[2], "attrs must be a sequence of ints");
    if (!a->ats)
        return -1;
    Py_ssize_t n_in = PySequence_Fast_GET_SIZE(a->ins), n_attr = PySequence_Fast_GET_SIZE(a->ats);
    if (n_in > TD_MAX_INPUTS || n_attr > 255) {
        PyErr_SetString(PyExc_ValueError, "too many inputs or attributes");
        return -1;
    }
    for (Py_ssize_t i = 0; i < n_in; i++) {
        PyObject *o = PySequence_Fast_GET_ITEM(a->ins, i);
        if (!td_ext_is_tensor(o)) {
            PyErr_Format(PyExc_TypeError, "expected Tensor as element %zd in argument, but got %s", i,
                         Py_TYPE(o)->tp_name);
            return -1;
        }
        if (td_ext_check(o))
            return -1;
        a->in[i] = &((TensorObject *)o)->t;
    }
    for (Py_ssize_t i = 0; i < n_attr; i++) {
        a->attrs[i] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(a->ats, i));
        if (a->attrs[i] == -1 && PyErr_Occurred())
            return -1;
    }
    a->n_in = (int)n_in;
    a->n_attr = (int)n_attr;
    return 0;
}

/* op(opnum, inputs, attrs, flags=0) -> tuple of the new outputs (empty for in-place and
 * out=).  With TD_RF_OUT the inputs end with the out= tensors; None (nothing recorded)
 * when they are not shaped and typed like the result: the caller then computes out of
 * place and casts or resizes into them. */
static PyObject *m_op(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    td_client_t *c;
    struct op_call a;
    PyObject *res = NULL;
    if (op_call_parse(args, nargs, &a) || !(c = td_ext_get_client()))
        goto out;
    struct td_t out[TD_MAX_OUTPUTS];
    struct td_status st = TD_STATUS_INIT;
    if (td_op(c, (enum td_op)a.op, (unsigned)a.flags, a.in, a.n_in, a.attrs, a.n_attr, out, &st)) {
        if ((a.flags & TD_RF_OUT) && st.code == TD_CODE_ABORTED) {
            res = Py_NewRef(Py_None); /* out= of another shape or dtype: the caller falls back */
            goto out;
        }
        td_ext_raise(&st);
        goto out;
    }
    int n_out = (a.flags & (TD_RF_INPLACE | TD_RF_OUT)) ? 0 : td_op_table[a.op].n_out;
    res = PyTuple_New(n_out);
    for (int j = 0; res && j < n_out; j++) {
        PyObject *t = td_ext_wrap(&out[j]);
        if (!t) {
            Py_CLEAR(res);
            break;
        }
        PyTuple_SET_ITEM(res, j, t);
    }
out:
    op_call_fini(&a);
    return res;
}

/* check(opnum, inputs, attrs, flags=0): the meta layer's verdict on op() with these
 * arguments, recording nothing.  A check of values made before an op calls it so that
 * the op's own argument errors come first, as in torch. */
static PyObject *m_check(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    struct op_call a;
    PyObject *res = NULL;
    if (op_call_parse(args, nargs, &a))
        goto out;
    const struct td_meta *metas[TD_MAX_INPUTS];
    for (int i = 0; i < a.n_in; i++)
        metas[i] = &a.in[i]->m;
    struct td_op_args oa = {
        .op = (uint16_t)a.op, .flags = (uint8_t)a.flags, .n_in = (uint16_t)a.n_in, .in = metas,
        .attrs = a.attrs, .n_attr = (uint32_t)a.n_attr, .default_float = TD_DTYPE_FLOAT32,
    };
    struct td_meta om[TD_MAX_OUTPUTS];
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    if (td_meta_infer(&oa, om, &inf, &st))
        td_ext_raise(&st);
    else
        res = Py_NewRef(Py_None);
out:
    op_call_fini(&a);
    return res;
}

static int parse_sizes(PyObject *seq, int64_t *sizes, int *ndim)
{
    PyObject *f = PySequence_Fast(seq, "sizes must be a sequence of ints");
    if (!f)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(f);
    if (n > TD_MAX_DIMS) {
        Py_DECREF(f);
        PyErr_Format(PyExc_RuntimeError, "tensors have at most %d dims", TD_MAX_DIMS);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        sizes[i] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(f, i));
        if (sizes[i] == -1 && PyErr_Occurred()) {
            Py_DECREF(f);
            return -1;
        }
    }
    *ndim = (int)n;
    Py_DECREF(f);
    return 0;
}

static PyObject *m_from_buffer(PyObject *self, PyObject *args)
{
    int dtype;
    PyObject *sizes_o;
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "iOy*", &dtype, &sizes_o, &buf))
        return NULL;
    PyObject *res = NULL;
    int64_t sizes[TD_MAX_DIMS];
    int ndim;
    td_client_t *c = td_ext_get_client();
    if (!c || parse_sizes(sizes_o, sizes, &ndim))
        goto out;
    if (dtype < 0 || dtype >= TD_DTYPE_COUNT) {
        PyErr_Format(PyExc_ValueError, "invalid dtype %d", dtype);
        goto out;
    }
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= sizes[i] >= 0 ? sizes[i] : 0;
    if (numel * (int64_t)td_dtype_size(dtype) != buf.len) {
        PyErr_Format(PyExc_ValueError, "from_buffer: %zd bytes for %lld elements of %s", buf.len,
                     (long long)numel, td_dtype_names[dtype]);
        goto out;
    }
    struct td_t t;
    struct td_status st = TD_STATUS_INIT;
    enum td_code code;
    Py_BEGIN_ALLOW_THREADS
    code = td_from_data(c, (enum td_dtype)dtype, ndim, sizes, buf.buf, &t, &st);
    Py_END_ALLOW_THREADS
    res = code ? td_ext_raise(&st) : td_ext_wrap(&t);
out:
    PyBuffer_Release(&buf);
    return res;
}

static PyObject *m_to_bytes(PyObject *self, PyObject *o)
{
    if (!td_ext_is_tensor(o)) {
        PyErr_SetString(PyExc_TypeError, "to_bytes expects a Tensor");
        return NULL;
    }
    td_client_t *c;
    if (td_ext_check(o) || !(c = td_ext_get_client()))
        return NULL;
    const struct td_t *t = &((TensorObject *)o)->t;
    Py_ssize_t n = (Py_ssize_t)(td_meta_numel(&t->m) * (int64_t)td_dtype_size(t->m.dtype));
    PyObject *b = PyBytes_FromStringAndSize(NULL, n);
    if (!b)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    enum td_code code;
    char *dst = PyBytes_AS_STRING(b);
    Py_BEGIN_ALLOW_THREADS
    code = td_download(c, t, dst, (size_t)n, &st);
    Py_END_ALLOW_THREADS
    if (code) {
        Py_DECREF(b);
        return td_ext_raise(&st);
    }
    return b;
}

static PyObject *m_set_default_float(PyObject *self, PyObject *arg)
{
    long dt = PyLong_AsLong(arg);
    if (dt == -1 && PyErr_Occurred())
        return NULL;
    if (td_dtype_valid(dt) && td_dtype_is_float((enum td_dtype)dt))
        td_ext_default_float = (enum td_dtype)dt; /* result_type follows it, connected or not */
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    if (td_client_set_default_float(c, (enum td_dtype)dt, &st))
        return td_ext_raise(&st);
    Py_RETURN_NONE;
}

static PyObject *m_set_device(PyObject *self, PyObject *arg)
{
    long d = PyLong_AsLong(arg);
    if (d == -1 && PyErr_Occurred())
        return NULL;
    if (d < 0 || d > TD_MAX_DEVICES)
        return PyErr_Format(PyExc_RuntimeError, "CUDA error: invalid device ordinal");
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    if (td_client_set_device(c, (uint8_t)d, &st))
        return td_ext_raise(&st);
    Py_RETURN_NONE;
}

/* device_query(device, what) -> bytes (kernels/device.h TD_DQ_*); device_ctrl(device, what). */
static PyObject *m_device_call(PyObject *args, bool query)
{
    int d, what;
    long long value = 0;
    if (!PyArg_ParseTuple(args, query ? "ii" : "ii|L", &d, &what, &value))
        return NULL;
    if (d < 0 || d > TD_MAX_DEVICES)
        return PyErr_Format(PyExc_RuntimeError, "CUDA error: invalid device ordinal");
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    uint8_t buf[TD_DEVICE_QUERY_BYTES];
    enum td_code code;
    Py_BEGIN_ALLOW_THREADS
    code = query ? td_device_query(c, (uint8_t)d, what, buf, &st) : td_device_ctrl(c, (uint8_t)d, what, value, &st);
    Py_END_ALLOW_THREADS
    if (code)
        return td_ext_raise(&st);
    if (query)
        return PyBytes_FromStringAndSize((const char *)buf, sizeof buf);
    Py_RETURN_NONE;
}

static PyObject *m_device_query(PyObject *self, PyObject *args) { return m_device_call(args, true); }

/* profile(mode) -> [(op, count, ns), ...]: td_profile. */
static PyObject *m_profile(PyObject *self, PyObject *arg)
{
    long mode = PyLong_AsLong(arg);
    if (mode == -1 && PyErr_Occurred())
        return NULL;
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    uint64_t *t = NULL;
    size_t n = 0;
    enum td_code code;
    Py_BEGIN_ALLOW_THREADS
    code = td_profile(c, (int)mode, &t, &n, &st);
    Py_END_ALLOW_THREADS
    if (code)
        return td_ext_raise(&st);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *item = Py_BuildValue("(KKK)", (unsigned long long)t[3 * i], (unsigned long long)t[3 * i + 1],
                                       (unsigned long long)t[3 * i + 2]);
        if (!item) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    free(t);
    return list;
}
static PyObject *m_device_ctrl(PyObject *self, PyObject *args) { return m_device_call(args, false); }

/* stream_ctrl(what, device, id, other) and event_ctrl(...): TD_SC_* / TD_EC_* through
 * libtensord's td_stream_* / td_event_*.  Creation answers the new id, queries a bool,
 * elapsed time a float; the rest None. */
static PyObject *m_stream_call(PyObject *args, bool event)
{
    int what, d;
    long long id, other;
    if (!PyArg_ParseTuple(args, "iiLL", &what, &d, &id, &other))
        return NULL;
    if (d < 0 || d > TD_MAX_DEVICES)
        return PyErr_Format(PyExc_RuntimeError, "CUDA error: invalid device ordinal");
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    enum td_code code = TD_CODE_OK;
    int64_t out_id = 0;
    bool done = false;
    double ms = 0;
    Py_BEGIN_ALLOW_THREADS
    if (!event) {
        switch (what) {
        case TD_SC_CREATE: code = td_stream_new(c, (uint8_t)d, &out_id, &st); break;
        case TD_SC_DESTROY: code = td_stream_free(c, (uint8_t)d, id, &st); break;
        case TD_SC_SET_CURRENT: code = td_stream_set(c, (uint8_t)d, id, &st); break;
        case TD_SC_WAIT_EVENT: code = td_stream_wait_event(c, (uint8_t)d, id, other, &st); break;
        case TD_SC_QUERY: code = td_stream_query(c, (uint8_t)d, id, &done, &st); break;
        case TD_SC_SYNCHRONIZE: code = td_stream_synchronize(c, (uint8_t)d, id, &st); break;
        default: code = td_status_set(&st, TD_CODE_INVALID_ARGUMENT, "stream_ctrl: unknown action %d", what);
        }
    } else {
        switch (what) {
        case TD_EC_CREATE: code = td_event_new(c, (unsigned)other, &out_id, &st); break;
        case TD_EC_DESTROY: code = td_event_free(c, id, &st); break;
        case TD_EC_RECORD: code = td_event_record(c, id, (uint8_t)d, other, &st); break;
        case TD_EC_QUERY: code = td_event_query(c, id, &done, &st); break;
        case TD_EC_SYNCHRONIZE: code = td_event_synchronize(c, id, &st); break;
        case TD_EC_ELAPSED: code = td_event_elapsed(c, id, other, &ms, &st); break;
        default: code = td_status_set(&st, TD_CODE_INVALID_ARGUMENT, "event_ctrl: unknown action %d", what);
        }
    }
    Py_END_ALLOW_THREADS
    if (code)
        return td_ext_raise(&st);
    if (what == (event ? TD_EC_CREATE : TD_SC_CREATE))
        return PyLong_FromLongLong(out_id);
    if (what == (event ? TD_EC_QUERY : TD_SC_QUERY))
        return PyBool_FromLong(done);
    if (event && what == TD_EC_ELAPSED)
        return PyFloat_FromDouble(ms);
    Py_RETURN_NONE;
}

static PyObject *m_stream_ctrl(PyObject *self, PyObject *args) { return m_stream_call(args, false); }
static PyObject *m_event_ctrl(PyObject *self, PyObject *args) { return m_stream_call(args, true); }

/* record_stream(tensor, stream id): Tensor.record_stream. */
static PyObject *m_record_stream(PyObject *self, PyObject *args)
{
    PyObject *o;
    long long id;
    if (!PyArg_ParseTuple(args, "OL", &o, &id))
        return NULL;
    if (!td_ext_is_tensor(o)) {
        PyErr_SetString(PyExc_TypeError, "record_stream expects a Tensor");
        return NULL;
    }
    td_client_t *c;
    if (td_ext_check(o) || !(c = td_ext_get_client()))
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    if (td_record_stream(c, &((TensorObject *)o)->t, id, &st))
        return td_ext_raise(&st);
    Py_RETURN_NONE;
}

static PyObject *m_set_cuda_oom_error(PyObject *self, PyObject *cls)
{
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, (PyTypeObject *)PyExc_RuntimeError))
        return PyErr_Format(PyExc_TypeError, "set_cuda_oom_error wants a RuntimeError subclass");
    Py_INCREF(cls);
    Py_XSETREF(cuda_oom_cls, cls);
    Py_RETURN_NONE;
}

static PyObject *m_sync(PyObject *self, PyObject *noargs)
{
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    enum td_code code;
    Py_BEGIN_ALLOW_THREADS
    code = td_sync(c, &st);
    Py_END_ALLOW_THREADS
    if (code)
        return td_ext_raise(&st);
    Py_RETURN_NONE;
}

/* Exchanges what two tensor objects refer to (handle and metadata).  Python code uses it
 * to rebind a tensor in place: out= resizing, resize_, set_ and the in-place view ops
 * (squeeze_, t_, ...) build the new tensor, then swap it into the user's object. */
static PyObject *m_swap(PyObject *self, PyObject *args)
{
    PyObject *a, *b;
    if (!PyArg_ParseTuple(args, "OO", &a, &b))
        return NULL;
    if (!td_ext_is_tensor(a) || !td_ext_is_tensor(b)) {
        PyErr_SetString(PyExc_TypeError, "swap(): arguments must be tensors");
        return NULL;
    }
    struct td_t tmp = ((TensorObject *)a)->t;
    unsigned tmp_epoch = ((TensorObject *)a)->epoch;
    ((TensorObject *)a)->t = ((TensorObject *)b)->t;
    ((TensorObject *)a)->epoch = ((TensorObject *)b)->epoch;
    ((TensorObject *)b)->t = tmp;
    ((TensorObject *)b)->epoch = tmp_epoch;
    /* the known values described the old views: drop them rather than reason about it */
    Py_CLEAR(((TensorObject *)a)->known);
    Py_CLEAR(((TensorObject *)b)->known);
    Py_RETURN_NONE;
}

/* known_set(t, values): t's storage holds exactly `values` (what the caller uploaded);
 * kept on t until a record writes the storage (see td_known_register). */
static PyObject *m_known_set(PyObject *self, PyObject *args)
{
    PyObject *o, *values;
    if (!PyArg_ParseTuple(args, "OO", &o, &values))
        return NULL;
    if (!td_ext_is_tensor(o)) {
        PyErr_SetString(PyExc_TypeError, "known_set(): expected a Tensor");
        return NULL;
    }
    TensorObject *t = (TensorObject *)o;
    if (!td_ext_client)
        Py_RETURN_NONE;
    uint64_t v = td_known_register(td_ext_client, &t->t);
    Py_INCREF(values);
    Py_XSETREF(t->known, v ? values : NULL);
    if (!v)
        Py_DECREF(values);
    t->known_version = v;
    Py_RETURN_NONE;
}

/* known_get(t) -> the values given to known_set while the storage is unwritten, else None. */
static PyObject *m_known_get(PyObject *self, PyObject *o)
{
    if (!td_ext_is_tensor(o)) {
        PyErr_SetString(PyExc_TypeError, "known_get(): expected a Tensor");
        return NULL;
    }
    TensorObject *t = (TensorObject *)o;
    if (!t->known)
        Py_RETURN_NONE;
    if (!td_ext_client || td_known_version(td_ext_client, &t->t) != t->known_version) {
        Py_CLEAR(t->known);
        Py_RETURN_NONE;
    }
    Py_INCREF(t->known);
    return t->known;
}

static PyObject *m_set_binary_fallback(PyObject *self, PyObject *fn)
{
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "set_binary_fallback(): expected a callable");
        return NULL;
    }
    Py_INCREF(fn);
    Py_XSETREF(td_ext_binary_fallback, fn);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"connect", m_connect, METH_VARARGS, "connect(address=None, timeout_ms=5000) -> session id"},
    {"disconnect", m_disconnect, METH_NOARGS, "flush and detach"},
    {"reconnect", m_reconnect, METH_VARARGS, "reconnect(address=None, timeout_ms=5000) -> session id (new session)"},
    {"lost", m_lost, METH_NOARGS, "whether the daemon went away under the current session"},
    {"set_reconnect_hook", m_set_reconnect_hook, METH_O, "callable run before a call when the daemon was lost"},
    {"connected", m_connected, METH_NOARGS, "whether a client is attached"},
    {"session", m_session, METH_NOARGS, "this process's session id, or None"},
    {"transport", m_transport, METH_NOARGS, "'shm' or 'grpc': how this process's session talks to tensord"},
    {"default_address", m_default_address, METH_NOARGS, "the default daemon address"},
    {"stats", m_stats, METH_VARARGS, "stats(address=None) -> dict of daemon counters"},
    {"set_classes", m_set_classes, METH_VARARGS, "set_classes(tensor_cls, size_cls, dtypes)"},
    {"scalar", m_scalar, METH_O, "scalar(v) -> (kind, bits)"},
    {"op", (PyCFunction)(void (*)(void))m_op, METH_FASTCALL, "op(opnum, inputs, attrs, flags=0) -> tuple"},
    {"fast", td_ext_fast, METH_VARARGS, "fast(opnum, fallback, inplace=False) -> a C fast path in front of fallback"},
    {"check", (PyCFunction)(void (*)(void))m_check, METH_FASTCALL,
     "check(opnum, inputs, attrs, flags=0): raise op()'s argument error, record nothing"},
    {"from_buffer", m_from_buffer, METH_VARARGS, "from_buffer(dtype, sizes, data) -> tensor"},
    {"to_bytes", m_to_bytes, METH_O, "to_bytes(t) -> bytes (row-major)"},
    {"storage_view", td_ext_storage_view, METH_O,
     "storage_view(t) -> t's storage as a writable buffer in this process (zero-copy), or None"},
    {"sync", m_sync, METH_NOARGS, "wait for all recorded ops"},
    {"swap", m_swap, METH_VARARGS, "swap(a, b): exchange the tensors two objects refer to"},
    {"known_set", m_known_set, METH_VARARGS, "known_set(t, values): t's storage holds values (until written)"},
    {"known_get", m_known_get, METH_O, "known_get(t) -> the known values of t, or None"},
    {"set_default_float", m_set_default_float, METH_O, "set_default_float(dtype index): session default"},
    {"set_cuda_oom_error", m_set_cuda_oom_error, METH_O,
     "set_cuda_oom_error(cls): device out-of-memory errors raise cls (torch.cuda.OutOfMemoryError)"},
    {"set_device", m_set_device, METH_O, "set_device(n): where ops without tensor inputs create (0: cpu, 1+i: cuda:i)"},
    {"device_query", m_device_query, METH_VARARGS, "device_query(device, what) -> bytes (TD_DQ_*)"},
    {"profile", m_profile, METH_O, "profile(mode) -> [(op, count, ns)]: the session's op profile (td_profile)"},
    {"device_ctrl", m_device_ctrl, METH_VARARGS, "device_ctrl(device, what, value=0): TD_DC_* action"},
    {"stream_ctrl", m_stream_ctrl, METH_VARARGS, "stream_ctrl(what, device, id, other): TD_SC_* action"},
    {"event_ctrl", m_event_ctrl, METH_VARARGS, "event_ctrl(what, device, id, other): TD_EC_* action"},
    {"record_stream", m_record_stream, METH_VARARGS, "record_stream(tensor, stream id): Tensor.record_stream"},
    {"set_binary_fallback", m_set_binary_fallback, METH_O,
     "set_binary_fallback(fn): fn(opnum, a, b, flags) handles operator slots with a complex scalar"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_C", "tensord C extension", -1, methods};

PyMODINIT_FUNC PyInit__C(void)
{
    if (PyType_Ready(&TensorBase_Type) < 0 || PyType_Ready(&FastOp_Type) < 0 ||
        PyType_Ready(&td_ext_StorageView_Type) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    Py_INCREF(&TensorBase_Type);
    if (PyModule_AddObject(m, "TensorBase", (PyObject *)&TensorBase_Type) < 0) {
        Py_DECREF(&TensorBase_Type);
        Py_DECREF(m);
        return NULL;
    }
    if (td_ext_autograd_init(m) < 0 || PyModule_AddFunctions(m, td_ext_meta_methods) < 0 ||
        PyModule_AddFunctions(m, td_ext_share_methods) < 0 || PyModule_AddFunctions(m, td_ext_graph_methods) < 0 ||
        PyModule_AddFunctions(m, td_ext_numpy_arena_methods) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "MAX_DIMS", TD_MAX_DIMS);
    Py_INCREF(&td_ext_StorageView_Type);
    if (PyModule_AddObject(m, "StorageView", (PyObject *)&td_ext_StorageView_Type) < 0) {
        Py_DECREF(&td_ext_StorageView_Type);
        Py_DECREF(m);
        return NULL;
    }
    PyObject *ops = td_ext_ops_module();
    if (!ops || PyModule_AddObject(m, "ops", ops) < 0) {
        Py_XDECREF(ops);
        Py_DECREF(m);
        return NULL;
    }
    pthread_atfork(NULL, NULL, after_fork_child);
    return m;
}
