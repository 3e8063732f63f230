/*
 * graph.c — _C's graph functions over libtensord's td_graph_* (tensord.jit builds on them;
 * docs/design/graphs.md).
 *
 *   graph_begin()                   start capturing this process's records
 *   graph_end(inputs, outputs) -> id   store the capture as a graph in the daemon
 *   graph_end_held() -> (id, n)     the same, its outputs what the program still holds
 *   graph_replay(id)                run it again, the new values written into those tensors
 *   graph_abort()                   stop capturing, keep nothing
 *   graph_capturing() -> bool
 *   graph_mark() -> int             handles up to it existed before the capture
 *   graph_run(id, inputs) -> [Tensor]  one GRAPH_RUN record
 *   graph_free(id)
 *   graph_save(id) -> bytes; graph_constants(id) -> [Tensor]; graph_load(bytes, constants) -> id
 */
#include "ext.h"

#define MAX_GRAPH_TENSORS 255

/* inputs (a sequence of at most 255 tensors) into ts/ptrs (256 entries each) */
static Py_ssize_t graph_tensors(PyObject *seq, struct td_t *ts, const struct td_t **ptrs, const char *what)
{
    PyObject *fast = PySequence_Fast(seq, "expected a sequence of tensors");
    if (!fast)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (n > MAX_GRAPH_TENSORS) {
        PyErr_Format(PyExc_ValueError, "%s: a graph takes at most %d tensors here, not %zd", what,
                     MAX_GRAPH_TENSORS, n);
        n = -1;
    } else if (td_ext_tensors_from(fast, n, ts, ptrs, what)) {
        n = -1;
    }
    Py_DECREF(fast);
    return n;
}

/* A graph id argument, and the client (NULL with an exception set). */
static td_client_t *id_and_client(PyObject *arg, unsigned long long *id)
{
    *id = PyLong_AsUnsignedLongLong(arg);
    return PyErr_Occurred() ? NULL : td_ext_get_client();
}

static PyObject *m_graph_begin(PyObject *self, PyObject *noargs)
{
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    if (td_graph_begin(c, &st))
        return td_ext_raise(&st);
    Py_RETURN_NONE;
}

static PyObject *m_graph_end(PyObject *self, PyObject *args)
{
    PyObject *ins, *outs;
    if (!PyArg_ParseTuple(args, "OO", &ins, &outs))
        return NULL;
    struct td_t ti[MAX_GRAPH_TENSORS + 1], to[MAX_GRAPH_TENSORS + 1];
    const struct td_t *pi[MAX_GRAPH_TENSORS + 1], *po[MAX_GRAPH_TENSORS + 1];
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    Py_ssize_t ni = graph_tensors(ins, ti, pi, "graph_end"), no = ni < 0 ? -1 : graph_tensors(outs, to, po, "graph_end");
    if (ni < 0 || no < 0) {
        td_graph_abort(c);
        return NULL;
    }
    uint64_t id = 0;
    struct td_status st = TD_STATUS_INIT;
    if (td_graph_end(c, (int)ni, pi, (int)no, po, &id, &st))
        return td_ext_raise(&st);
    return PyLong_FromUnsignedLongLong(id);
}

static PyObject *m_graph_end_held(PyObject *self, PyObject *noargs)
{
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    uint64_t id = 0;
    int n = 0;
    struct td_status st = TD_STATUS_INIT;
    if (td_graph_end_held(c, &id, &n, &st))
        return td_ext_raise(&st);
    return Py_BuildValue("(Ki)", (unsigned long long)id, n);
}

static PyObject *m_graph_replay(PyObject *self, PyObject *arg)
{
    unsigned long long id;
    td_client_t *c = id_and_client(arg, &id);
    if (!c)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    enum td_code code;
    Py_BEGIN_ALLOW_THREADS
    code = td_graph_replay(c, id, &st);
    Py_END_ALLOW_THREADS
    if (code)
        return td_ext_raise(&st);
    Py_RETURN_NONE;
}

static PyObject *m_graph_abort(PyObject *self, PyObject *noargs)
{
    td_graph_abort(td_ext_client);
    Py_RETURN_NONE;
}

static PyObject *m_graph_capturing(PyObject *self, PyObject *noargs)
{
    return PyBool_FromLong(td_graph_capturing(td_ext_client));
}

static PyObject *m_graph_mark(PyObject *self, PyObject *noargs)
{
    return PyLong_FromUnsignedLongLong(td_graph_mark(td_ext_client));
}

static PyObject *m_graph_run(PyObject *self, PyObject *args)
{
    unsigned long long id;
    int n_out;
    PyObject *ins;
    if (!PyArg_ParseTuple(args, "KOi", &id, &ins, &n_out))
        return NULL;
    if (n_out < 0 || n_out > MAX_GRAPH_TENSORS)
        return PyErr_Format(PyExc_ValueError, "graph_run: %d outputs", n_out);
    struct td_t ti[MAX_GRAPH_TENSORS + 1], to[MAX_GRAPH_TENSORS + 1];
    const struct td_t *pi[MAX_GRAPH_TENSORS + 1];
    Py_ssize_t ni = graph_tensors(ins, ti, pi, "graph_run");
    td_client_t *c = ni < 0 ? NULL : td_ext_get_client();
    if (!c)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    if (td_graph_run(c, id, (int)ni, pi, n_out, to, &st))
        return td_ext_raise(&st);
    PyObject *out = PyList_New(n_out);
    for (int j = 0; j < n_out; j++) {
        PyObject *t = out ? td_ext_wrap(&to[j]) : NULL;
        if (!t) { /* the handles still owned: released so nothing leaks */
            for (int k = out ? j : 0; k < n_out; k++)
                td_release(c, &to[k]);
            Py_XDECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, j, t);
    }
    return out;
}

static PyObject *m_graph_free(PyObject *self, PyObject *arg)
{
    unsigned long long id = PyLong_AsUnsignedLongLong(arg);
    if (PyErr_Occurred())
        return NULL;
    td_client_t *c = td_ext_client;
    if (!c) /* the session went: so did its graphs */
        Py_RETURN_NONE;
    struct td_status st = TD_STATUS_INIT;
    if (td_graph_free(c, id, &st) && st.code != TD_CODE_NOT_FOUND)
        return td_ext_raise(&st);
    Py_RETURN_NONE;
}

static PyObject *m_graph_save(PyObject *self, PyObject *arg)
{
    unsigned long long id;
    td_client_t *c = id_and_client(arg, &id);
    if (!c)
        return NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    struct td_status st = TD_STATUS_INIT;
    if (td_graph_save(c, id, &bytes, &len, &st))
        return td_ext_raise(&st);
    PyObject *out = PyBytes_FromStringAndSize((const char *)bytes, (Py_ssize_t)len);
    free(bytes);
    return out;
}

static PyObject *m_graph_constants(PyObject *self, PyObject *arg)
{
    unsigned long long id;
    td_client_t *c = id_and_client(arg, &id);
    if (!c)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    int n = 0;
    if (td_graph_constants(c, id, 0, NULL, &n, &st))
        return td_ext_raise(&st);
    struct td_t *ts = PyMem_Calloc((size_t)n + 1, sizeof *ts);
    if (!ts)
        return PyErr_NoMemory();
    PyObject *out = NULL;
    int got = 0;
    if (td_graph_constants(c, id, n, ts, &got, &st)) {
        td_ext_raise(&st);
    } else if ((out = PyList_New(n))) {
        for (int k = 0; k < n; k++) {
            PyObject *t = out ? td_ext_wrap(&ts[k]) : NULL; /* takes the reference */
            if (!t) {
                Py_CLEAR(out);
                td_release(c, &ts[k]);
                continue;
            }
            PyList_SET_ITEM(out, k, t);
        }
    }
    PyMem_Free(ts);
    return out;
}

static PyObject *m_graph_load(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    PyObject *consts;
    if (!PyArg_ParseTuple(args, "y*O", &buf, &consts))
        return NULL;
    PyObject *fast = PySequence_Fast(consts, "graph_load: expected a sequence of tensors");
    td_client_t *c = fast ? td_ext_get_client() : NULL;
    Py_ssize_t n = fast ? PySequence_Fast_GET_SIZE(fast) : 0;
    struct td_t *ts = c ? PyMem_Calloc((size_t)n + 1, sizeof *ts) : NULL;
    const struct td_t **ptrs = c ? PyMem_Calloc((size_t)n + 1, sizeof *ptrs) : NULL;
    PyObject *out = NULL;
    if (c && (!ts || !ptrs))
        PyErr_NoMemory();
    else if (c && !td_ext_tensors_from(fast, n, ts, ptrs, "graph_load")) {
        uint64_t id = 0;
        struct td_status st = TD_STATUS_INIT;
        out = td_graph_load(c, buf.buf, (size_t)buf.len, (int)n, ptrs, &id, &st) ? td_ext_raise(&st)
                                                                                   : PyLong_FromUnsignedLongLong(id);
    }
    PyMem_Free(ts);
    PyMem_Free(ptrs);
    Py_XDECREF(fast);
    PyBuffer_Release(&buf);
    return out;
}

PyMethodDef td_ext_graph_methods[] = {
    {"graph_save", m_graph_save, METH_O, "graph_save(id) -> bytes: the graph without its constants' data"},
    {"graph_constants", m_graph_constants, METH_O, "graph_constants(id) -> [Tensor]: its constants, in order"},
    {"graph_load", m_graph_load, METH_VARARGS, "graph_load(bytes, constants) -> id: a saved graph defined again"},
    {"graph_begin", m_graph_begin, METH_NOARGS, "graph_begin(): capture this process's op records (td_graph_begin)"},
    {"graph_end", m_graph_end, METH_VARARGS, "graph_end(inputs, outputs) -> id: the capture as a daemon graph"},
    {"graph_end_held", m_graph_end_held, METH_NOARGS,
     "graph_end_held() -> (id, n): the capture as a graph whose outputs are the n tensors it made that are still held"},
    {"graph_replay", m_graph_replay, METH_O, "graph_replay(id): run a held capture again, writing into its outputs"},
    {"graph_abort", m_graph_abort, METH_NOARGS, "graph_abort(): stop capturing, keep nothing"},
    {"graph_capturing", m_graph_capturing, METH_NOARGS, "graph_capturing() -> bool"},
    {"graph_mark", m_graph_mark, METH_NOARGS, "graph_mark() -> int: handles up to it existed before the capture"},
    {"graph_run", m_graph_run, METH_VARARGS, "graph_run(id, inputs, n_out) -> [Tensor]: one GRAPH_RUN record"},
    {"graph_free", m_graph_free, METH_O, "graph_free(id): drop a graph"},
    {NULL, NULL, 0, NULL},
};
