/*
 * share.c — tensors shared with other processes through the daemon's capability tokens
 * (docs/design/sharing.md): share/open/revoke for pickled tensors, and the fork grant
 * through which a forked child keeps using the tensors it inherited.
 *
 * Fork: before fork() the parent asks for its session's grant (fork_prepare, from
 * os.register_at_fork's before hook) and notes the epoch it belongs to.  In the child a
 * tensor of that epoch is stale (the handle is the parent's); on its first use
 * td_ext_tensor_stale calls td_ext_open_inherited, which opens a handle of the child's
 * own session on the same storage and rebinds the tensor to it.
 */
#include "ext.h"

static struct td_token_bytes grant;
static unsigned grant_epoch;
static int have_grant;

static PyObject *meta_tuple(const struct td_meta *m)
{
    PyObject *sz = PyTuple_New(m->ndim), *sd = PyTuple_New(m->ndim);
    if (!sz || !sd) {
        Py_XDECREF(sz);
        Py_XDECREF(sd);
        return NULL;
    }
    for (int i = 0; i < m->ndim; i++) {
        PyTuple_SET_ITEM(sz, i, PyLong_FromLongLong(m->sizes[i]));
        PyTuple_SET_ITEM(sd, i, PyLong_FromLongLong(m->strides[i]));
    }
    return Py_BuildValue("(iLLNNi)", (int)m->dtype, (long long)m->storage_nbytes, (long long)m->offset, sz, sd,
                         (int)m->device);
}

static int meta_from_tuple(PyObject *o, struct td_meta *m)
{
    int dt, device = 0; /* the device: a sixth element (descriptions of CPU tensors may omit it) */
    long long nbytes, off;
    PyObject *sz, *sd;
    if (!PyArg_ParseTuple(o, "iLLO!O!|i", &dt, &nbytes, &off, &PyTuple_Type, &sz, &PyTuple_Type, &sd, &device))
        return -1;
    Py_ssize_t nd = PyTuple_GET_SIZE(sz);
    if (nd > TD_MAX_DIMS || PyTuple_GET_SIZE(sd) != nd || device < 0 || device > TD_MAX_DEVICES) {
        PyErr_SetString(PyExc_ValueError, "open: bad tensor description");
        return -1;
    }
    memset(m, 0, sizeof *m);
    m->dtype = (uint8_t)dt;
    m->ndim = (uint8_t)nd;
    m->device = (uint8_t)device;
    m->storage_nbytes = nbytes;
    m->offset = off;
    for (Py_ssize_t i = 0; i < nd; i++) {
        m->sizes[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(sz, i));
        m->strides[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(sd, i));
    }
    return PyErr_Occurred() ? -1 : 0;
}

static int token_from(PyObject *o, struct td_token_bytes *tok)
{
    char *p;
    Py_ssize_t n;
    if (PyBytes_AsStringAndSize(o, &p, &n) < 0)
        return -1;
    if (n != (Py_ssize_t)sizeof tok->b) {
        PyErr_SetString(PyExc_ValueError, "tensord: a token is 16 bytes");
        return -1;
    }
    memcpy(tok->b, p, sizeof tok->b);
    return 0;
}

/* share(t, mode) -> (token, description): syncs. */
static PyObject *m_share(PyObject *self, PyObject *args)
{
    PyObject *t;
    unsigned mode;
    if (!PyArg_ParseTuple(args, "O!I", &TensorBase_Type, &t, &mode) || td_ext_check(t))
        return NULL;
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_token_bytes tok;
    struct td_status st = TD_STATUS_INIT;
    enum td_code code;
    struct td_t tt = ((TensorObject *)t)->t;
    Py_BEGIN_ALLOW_THREADS
    code = td_share(c, &tt, mode, &tok, &st);
    Py_END_ALLOW_THREADS
    if (code)
        return td_ext_raise(&st);
    return Py_BuildValue("(y#N)", (const char *)tok.b, (Py_ssize_t)sizeof tok.b, meta_tuple(&tt.m));
}

int td_ext_tensors_from(PyObject *fast, Py_ssize_t n, struct td_t *ts, const struct td_t **ptrs, const char *what)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PySequence_Fast_GET_ITEM(fast, i);
        if (!td_ext_is_tensor(t)) {
            PyErr_Format(PyExc_TypeError, "%s: expected tensors", what);
            return -1;
        }
        if (td_ext_check(t))
            return -1;
        ts[i] = ((TensorObject *)t)->t;
        ptrs[i] = &ts[i];
    }
    return 0;
}

/*
 * share_many(tensors, mode) -> [(token, description)]: one round trip for all.
 * share_into(tensors, tokens) -> [description]: fills reserved tokens, no round trip.
 */
static PyObject *share_tensors(PyObject *seq, unsigned mode, PyObject *tokens)
{
    const char *what = tokens ? "share_into" : "share_many";
    PyObject *fast = PySequence_Fast(seq, tokens ? "share_into: expected a sequence of tensors"
                                                 : "share_many: expected a sequence of tensors");
    if (!fast)
        return NULL;
    PyObject *tfast = tokens ? PySequence_Fast(tokens, "share_into: expected a sequence of tokens") : NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    struct td_t *ts = PyMem_Calloc((size_t)n + 1, sizeof *ts);
    const struct td_t **ptrs = PyMem_Calloc((size_t)n + 1, sizeof *ptrs);
    struct td_token_bytes *toks = PyMem_Calloc((size_t)n + 1, sizeof *toks);
    PyObject *out = NULL;
    td_client_t *c = NULL;
    if (tokens && !tfast)
        goto done;
    if (!ts || !ptrs || !toks) {
        PyErr_NoMemory();
        goto done;
    }
    if (tfast && PySequence_Fast_GET_SIZE(tfast) != n) {
        PyErr_SetString(PyExc_ValueError, "share_into: as many tokens as tensors");
        goto done;
    }
    for (Py_ssize_t i = 0; tfast && i < n; i++)
        if (token_from(PySequence_Fast_GET_ITEM(tfast, i), &toks[i]))
            goto done;
    if (td_ext_tensors_from(fast, n, ts, ptrs, what) || !(c = td_ext_get_client()))
        goto done;
    struct td_status st = TD_STATUS_INIT;
    enum td_code code;
    Py_BEGIN_ALLOW_THREADS
    code = tokens ? td_share_into(c, (int)n, ptrs, toks, &st) : td_share_many(c, (int)n, ptrs, mode, toks, &st);
    Py_END_ALLOW_THREADS
    if (code) {
        td_ext_raise(&st);
        goto done;
    }
    if (!(out = PyList_New(n)))
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = tokens ? meta_tuple(&ts[i].m)
                                : Py_BuildValue("(y#N)", (const char *)toks[i].b, (Py_ssize_t)sizeof toks[i].b,
                                                meta_tuple(&ts[i].m));
        if (!item) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, i, item);
    }
done:
    PyMem_Free(ts);
    PyMem_Free(ptrs);
    PyMem_Free(toks);
    Py_DECREF(fast);
    Py_XDECREF(tfast);
    return out;
}

static PyObject *m_share_many(PyObject *self, PyObject *args)
{
    PyObject *seq;
    unsigned mode;
    if (!PyArg_ParseTuple(args, "OI", &seq, &mode))
        return NULL;
    return share_tensors(seq, mode, NULL);
}

static PyObject *m_share_into(PyObject *self, PyObject *args)
{
    PyObject *seq, *tokens;
    if (!PyArg_ParseTuple(args, "OO", &seq, &tokens))
        return NULL;
    return share_tensors(seq, 0, tokens);
}

/* share_reserve(n, mode) -> [token]: n reserved tokens in one round trip. */
static PyObject *m_share_reserve(PyObject *self, PyObject *args)
{
    int n;
    unsigned mode;
    if (!PyArg_ParseTuple(args, "iI", &n, &mode))
        return NULL;
    if (n < 0 || n > 65536) {
        PyErr_SetString(PyExc_ValueError, "share_reserve: 0 to 65536 tokens");
        return NULL;
    }
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_token_bytes *toks = PyMem_Calloc((size_t)n + 1, sizeof *toks);
    if (!toks)
        return PyErr_NoMemory();
    struct td_status st = TD_STATUS_INIT;
    enum td_code code;
    Py_BEGIN_ALLOW_THREADS
    code = td_share_reserve(c, n, mode, toks, &st);
    Py_END_ALLOW_THREADS
    PyObject *out = code ? td_ext_raise(&st) : PyList_New(n);
    for (int i = 0; out && i < n; i++) {
        PyObject *b = PyBytes_FromStringAndSize((const char *)toks[i].b, sizeof toks[i].b);
        if (!b) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, i, b);
    }
    PyMem_Free(toks);
    return out;
}

/* open(token, description) -> Tensor (recorded; an unknown token fails at the next sync) */
static PyObject *m_open(PyObject *self, PyObject *args)
{
    PyObject *tok_o, *desc;
    struct td_token_bytes tok;
    struct td_meta m;
    if (!PyArg_ParseTuple(args, "OO!", &tok_o, &PyTuple_Type, &desc) || token_from(tok_o, &tok) ||
        meta_from_tuple(desc, &m))
        return NULL;
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_t out;
    struct td_status st = TD_STATUS_INIT;
    if (td_open(c, &tok, 0, &m, &out, &st))
        return td_ext_raise(&st);
    return td_ext_wrap(&out);
}

static PyObject *m_revoke(PyObject *self, PyObject *tok_o)
{
    struct td_token_bytes tok;
    if (token_from(tok_o, &tok))
        return NULL;
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    if (td_revoke(c, &tok, &st))
        return td_ext_raise(&st);
    Py_RETURN_NONE;
}

/* fork_prepare(): called right before fork(); returns whether a grant is ready. */
static PyObject *m_fork_prepare(PyObject *self, PyObject *noargs)
{
    have_grant = 0;
    td_client_t *c = td_ext_client;
    if (!c)
        Py_RETURN_FALSE;
    struct td_status st = TD_STATUS_INIT;
    enum td_code code;
    Py_BEGIN_ALLOW_THREADS
    code = td_client_fork_prepare(c, &grant, &st);
    Py_END_ALLOW_THREADS
    if (code)
        return td_ext_raise(&st);
    grant_epoch = td_ext_epoch;
    have_grant = 1;
    Py_RETURN_TRUE;
}

int td_ext_open_inherited(TensorObject *o)
{
    if (!have_grant || o->epoch != grant_epoch || o->epoch >= td_ext_process_epoch || !o->t.handle)
        return 0;
    /* the child's own session: connect now if this is its first call */
    PyObject *mod = PyImport_ImportModule("tensord._daemon");
    PyObject *r = mod ? PyObject_CallMethod(mod, "ensure", NULL) : NULL;
    Py_XDECREF(mod);
    if (!r)
        return -1;
    Py_DECREF(r);
    td_client_t *c = td_ext_client;
    if (!c)
        return 0;
    struct td_t out;
    struct td_status st = TD_STATUS_INIT;
    if (td_open(c, &grant, o->t.handle, &o->t.m, &out, &st)) {
        td_ext_raise(&st);
        return -1;
    }
    /* autograd state: the graph and .grad are the parent's (their handles mean nothing
     * here); a leaf keeps requires_grad */
    bool rg = o->t.ag && td_requires_grad(&o->t) && td_is_leaf(&o->t);
    if (o->t.ag)
        td_ag_forget(&o->t);
    /* views opened one by one stay one storage for the known-values cache: the parent's
     * storage id, marked so it never meets one of this session's handles */
    uint64_t sid = o->t.storage_id | (UINT64_C(1) << 63);
    o->t.handle = out.handle;
    o->t.storage_id = sid;
    o->epoch = td_ext_epoch;
    Py_CLEAR(o->known);
    if (rg && td_requires_grad_(c, &o->t, true, &st)) {
        td_ext_raise(&st);
        return -1;
    }
    return 1;
}

PyMethodDef td_ext_share_methods[] = {
    {"share", m_share, METH_VARARGS, "share(t, mode) -> (token, description): a capability token for t's storage"},
    {"share_many", m_share_many, METH_VARARGS, "share_many(tensors, mode) -> [(token, description)] in one round trip"},
    {"share_reserve", m_share_reserve, METH_VARARGS,
     "share_reserve(n, mode) -> [token]: reserved tokens, one round trip"},
    {"share_into", m_share_into, METH_VARARGS,
     "share_into(tensors, tokens) -> [description]: fills reserved tokens, sent without waiting"},
    {"open", m_open, METH_VARARGS, "open(token, description) -> Tensor on the token's storage"},
    {"revoke", m_revoke, METH_O, "revoke(token): drop one of this session's tokens"},
    {"fork_prepare", m_fork_prepare, METH_NOARGS, "before fork(): the session's fork grant; True when ready"},
    {NULL, NULL, 0, NULL},
};
