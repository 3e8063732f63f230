/*
 * autograd.c — the Python face of libtensord's autograd (autograd/ in C): Tensor's
 * requires_grad, grad, grad_fn, is_leaf, retain_grad, register_hook; the grad_fn Node
 * type; and the module functions backward, grad, set_grad_enabled, custom_apply that
 * tensord.autograd builds on.  Hooks and custom backwards are Python callables called
 * back from the C engine.
 */
#include "ext.h"

/* ---- Node: a grad_fn ---- */

typedef struct {
    PyObject_HEAD
    struct td_ag_node *n;
    unsigned epoch; /* the client the node's tensors belong to (td_ext_epoch) */
} NodeObject;

static PyTypeObject Node_Type;

/* node's name as torch's Python class of it is named (its repr and type(grad_fn).__name__):
 * name() keeps the C++ namespace, the class drops it */
static const char *node_class_name(const struct td_ag_node *n)
{
    const char *name = td_ag_node_name(n), *ns = "torch::autograd::";
    return strncmp(name, ns, strlen(ns)) ? name : name + strlen(ns);
}

/* The Python class of a node: torch gives every kind of node a class of its own
 * (type(y.grad_fn).__name__ == "AddBackward0"; a custom Function's is
 * torch.autograd.function.<Name>Backward), so scripts that print or compare
 * type(grad_fn) see the same here.  One subclass of Node per name, made on first use. */
static PyTypeObject *node_class(const struct td_ag_node *n)
{
    static PyObject *classes; /* (name, custom) -> class */
    bool custom = td_ag_node_is_custom(n);
    const char *name = node_class_name(n);
    if (!classes && !(classes = PyDict_New()))
        return NULL;
    PyObject *key = Py_BuildValue("(sO)", name, custom ? Py_True : Py_False);
    if (!key)
        return NULL;
    PyObject *cls = PyDict_GetItemWithError(classes, key);
    if (!cls && !PyErr_Occurred()) {
        /* no __dict__ or weakref slot: instances keep NodeObject's layout */
        cls = PyObject_CallFunction((PyObject *)&PyType_Type, "s(O){s:(),s:s}", name, (PyObject *)&Node_Type,
                                    "__slots__", "__module__", custom ? "tensord.autograd.function" : "builtins");
        if (cls && PyDict_SetItem(classes, key, cls) < 0)
            Py_CLEAR(cls);
        Py_XDECREF(cls); /* the dict holds it */
    }
    Py_DECREF(key);
    return (PyTypeObject *)cls;
}

static PyObject *node_wrap(struct td_ag_node *n) /* steals the reference */
{
    if (!n)
        Py_RETURN_NONE;
    PyTypeObject *cls = node_class(n);
    NodeObject *o = cls ? (NodeObject *)cls->tp_alloc(cls, 0) : NULL;
    if (!o) {
        td_ag_node_unref(n);
        return NULL;
    }
    o->n = n;
    o->epoch = td_ext_epoch;
    return (PyObject *)o;
}

static void node_dealloc(NodeObject *o)
{
    if (o->epoch == td_ext_epoch && td_ext_client)
        td_ag_node_unref(o->n);
    else
        td_ag_node_forget(o->n);
    Py_TYPE(o)->tp_free(o);
}

static PyObject *node_name(NodeObject *o, PyObject *noargs) { return PyUnicode_FromString(td_ag_node_name(o->n)); }

static PyObject *node_repr(NodeObject *o)
{
    /* object's default repr, as torch's: a custom Function's class has a module */
    if (td_ag_node_is_custom(o->n))
        return PyUnicode_FromFormat("<tensord.autograd.function.%s object at %p>", node_class_name(o->n),
                                    (void *)o->n);
    return PyUnicode_FromFormat("<%s object at %p>", node_class_name(o->n), (void *)o->n);
}

static PyObject *node_next_functions(NodeObject *o, void *c)
{
    int n = td_ag_node_n_next(o->n);
    PyObject *t = PyTuple_New(n);
    for (int i = 0; t && i < n; i++) {
        uint32_t nr = 0;
        PyObject *fn = node_wrap(td_ag_node_next(o->n, i, &nr));
        PyObject *pair = fn ? Py_BuildValue("(NI)", fn, (unsigned)nr) : NULL;
        if (!pair) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, pair);
    }
    return t;
}

static Py_hash_t node_hash(NodeObject *o) { return _Py_HashPointer(o->n); }

static PyObject *node_richcompare(PyObject *a, PyObject *b, int op)
{
    if ((op != Py_EQ && op != Py_NE) || !PyObject_TypeCheck(b, &Node_Type))
        Py_RETURN_NOTIMPLEMENTED;
    bool same = ((NodeObject *)a)->n == ((NodeObject *)b)->n;
    return PyBool_FromLong(op == Py_EQ ? same : !same);
}

/* a tuple of tensors (None for handle 0) holding new references to g[0..n) */
static PyObject *grads_tuple(td_client_t *c, const struct td_t *g, int n)
{
    PyObject *t = PyTuple_New(n);
    for (int i = 0; t && i < n; i++) {
        PyObject *x = g[i].handle ? td_ext_wrap(&(struct td_t){0}) : Py_NewRef(Py_None);
        if (!x) {
            Py_CLEAR(t);
            break;
        }
        if (g[i].handle)
            ((TensorObject *)x)->t = td_retain(c, &g[i]);
        PyTuple_SET_ITEM(t, i, x);
    }
    return t;
}

/* a hook's result r (not None) replacing g[0..n), checked as torch checks a function
 * hook's result; -1 with a Python error set */
static int take_result(PyObject *fn, PyObject *r, td_client_t *c, struct td_t *g, int n)
{
    if (!PyTuple_Check(r)) {
        PyErr_Format(PyExc_TypeError, "expected tuple, but hook returned '%s'", Py_TYPE(r)->tp_name);
        return -1;
    }
    if (PyTuple_GET_SIZE(r) != n) {
        PyObject *name = PyObject_GetAttrString(fn, "__name__");
        if (!name) {
            PyErr_Clear();
            name = PyObject_Repr(fn);
        }
        PyErr_Format(PyExc_RuntimeError, "hook '%S' has returned an incorrect number of values (got %zd, but "
                     "expected %d)", name, PyTuple_GET_SIZE(r), n);
        Py_XDECREF(name);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        PyObject *x = PyTuple_GET_ITEM(r, i);
        if (x != Py_None && !td_ext_is_tensor(x)) {
            PyErr_Format(PyExc_TypeError, "expected Variable or None (got %s)", Py_TYPE(x)->tp_name);
            return -1;
        }
    }
    for (int i = 0; i < n; i++) {
        PyObject *x = PyTuple_GET_ITEM(r, i);
        if (g[i].handle)
            td_release(c, &g[i]);
        g[i] = x == Py_None ? (struct td_t){0} : td_retain(c, &((TensorObject *)x)->t);
    }
    return 0;
}

/* a node hook: fn(grad_inputs, grad_outputs) -> None or a tuple replacing grad_inputs */
static enum td_code call_node_hook(void *ctx, td_client_t *c, struct td_t *gin, int n_in, const struct td_t *gout,
                                   int n_out, struct td_status *st)
{
    PyObject *ins = grads_tuple(c, gin, n_in), *outs = ins ? grads_tuple(c, gout, n_out) : NULL, *r = NULL;
    if (outs && (r = PyObject_CallFunctionObjArgs((PyObject *)ctx, ins, outs, NULL)) && r != Py_None)
        take_result((PyObject *)ctx, r, c, gin, n_in);
    Py_XDECREF(ins);
    Py_XDECREF(outs);
    Py_XDECREF(r);
    if (PyErr_Occurred())
        return td_status_set(st, TD_CODE_ABORTED, "a hook raised"); /* the Python error stays set */
    return TD_CODE_OK;
}

/* a node pre-hook: fn(grad_outputs) -> None or a tuple replacing them */
static enum td_code call_node_prehook(void *ctx, td_client_t *c, struct td_t *gout, int n_out, struct td_status *st)
{
    PyObject *outs = grads_tuple(c, gout, n_out), *r = NULL;
    if (outs && (r = PyObject_CallOneArg((PyObject *)ctx, outs)) && r != Py_None)
        take_result((PyObject *)ctx, r, c, gout, n_out);
    Py_XDECREF(outs);
    Py_XDECREF(r);
    if (PyErr_Occurred())
        return td_status_set(st, TD_CODE_ABORTED, "a hook raised");
    return TD_CODE_OK;
}

static void decref_ctx(void *ctx);

/* register_hook(fn) / register_prehook(fn) -> a RemovableHandle (tensord.utils.hooks._NodeHookHandle) */
static PyObject *add_hook(NodeObject *o, PyObject *fn, bool pre)
{
    struct td_status st = TD_STATUS_INIT;
    PyObject *mod = PyImport_ImportModule("tensord.utils.hooks");
    if (!mod)
        return NULL;
    Py_INCREF(fn);
    int id = pre ? td_ag_node_prehook_add(o->n, call_node_prehook, fn, decref_ctx, &st)
                 : td_ag_node_hook_add(o->n, call_node_hook, fn, decref_ctx, &st);
    if (id < 0) {
        Py_DECREF(fn);
        Py_DECREF(mod);
        return td_ext_raise(&st);
    }
    PyObject *h = PyObject_CallMethod(mod, "_NodeHookHandle", "OiN", (PyObject *)o, id, PyBool_FromLong(pre));
    Py_DECREF(mod);
    return h;
}

static PyObject *node_register_hook(NodeObject *o, PyObject *fn) { return add_hook(o, fn, false); }
static PyObject *node_register_prehook(NodeObject *o, PyObject *fn) { return add_hook(o, fn, true); }

/* _remove_hook(id, pre) */
static PyObject *node_remove_hook(NodeObject *o, PyObject *args)
{
    int id, pre;
    if (!PyArg_ParseTuple(args, "ip", &id, &pre))
        return NULL;
    if (pre)
        td_ag_node_prehook_remove(o->n, id);
    else
        td_ag_node_hook_remove(o->n, id);
    Py_RETURN_NONE;
}

static PyMethodDef node_methods[] = {
    {"name", (PyCFunction)node_name, METH_NOARGS, "the node's name, as torch's"},
    {"register_hook", (PyCFunction)node_register_hook, METH_O,
     "hook(grad_inputs, grad_outputs) -> None or new grad_inputs, run after the node's backward"},
    {"register_prehook", (PyCFunction)node_register_prehook, METH_O,
     "hook(grad_outputs) -> None or new grad_outputs, run before the node's backward"},
    {"_remove_hook", (PyCFunction)node_remove_hook, METH_VARARGS, "removes a hook: (id, pre)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef node_getset[] = {
    {"next_functions", (getter)node_next_functions, NULL, "(node, output index) per input", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject Node_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tensord._C.Node",
    .tp_basicsize = sizeof(NodeObject),
    .tp_dealloc = (destructor)node_dealloc,
    .tp_repr = (reprfunc)node_repr,
    .tp_hash = (hashfunc)node_hash,
    .tp_richcompare = node_richcompare,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, /* the per-name classes derive from it */
    .tp_doc = "A node of the autograd graph (a tensor's grad_fn).",
    .tp_methods = node_methods,
    .tp_getset = node_getset,
};

/* ---- Tensor attributes ---- */

static td_client_t *client_of(TensorObject *self)
{
    if (td_ext_check((PyObject *)self))
        return NULL;
    return td_ext_get_client();
}

PyObject *td_ext_get_requires_grad(TensorObject *self, void *c) { return PyBool_FromLong(td_requires_grad(&self->t)); }

int td_ext_set_requires_grad(TensorObject *self, PyObject *v, void *c)
{
    if (!v) {
        PyErr_SetString(PyExc_TypeError, "cannot delete requires_grad");
        return -1;
    }
    int on = PyObject_IsTrue(v);
    td_client_t *cl = on < 0 ? NULL : client_of(self);
    if (!cl)
        return -1;
    struct td_status st = TD_STATUS_INIT;
    if (td_requires_grad_(cl, &self->t, on, &st)) {
        td_ext_raise(&st);
        return -1;
    }
    return 0;
}

PyObject *td_ext_get_is_leaf(TensorObject *self, void *c) { return PyBool_FromLong(td_is_leaf(&self->t)); }
PyObject *td_ext_get_grad_fn(TensorObject *self, void *c) { return node_wrap(td_grad_fn(&self->t)); }

PyObject *td_ext_get_grad(TensorObject *self, void *c)
{
    struct td_t g;
    bool have = self->t.ag && td_ext_client && td_grad_get(td_ext_client, &self->t, &g);
    /* torch warns only when there is nothing to give (backward(inputs=) fills a non-leaf's) */
    if (!have && !td_is_leaf(&self->t) && !td_retains_grad(&self->t) &&
        PyErr_WarnEx(PyExc_UserWarning, "The .grad attribute of a Tensor that is not a leaf Tensor is being "
                     "accessed. Its .grad attribute won't be populated during autograd.backward(). If you indeed "
                     "want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf "
                     "Tensor. If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
                     "instead. See github.com/pytorch/pytorch/pull/30531 for more informations.", 1) < 0)
        return NULL;
    if (!have)
        Py_RETURN_NONE;
    return td_ext_wrap(&g);
}

int td_ext_set_grad(TensorObject *self, PyObject *v, void *c)
{
    if (v && v != Py_None && !td_ext_is_tensor(v)) {
        PyErr_SetString(PyExc_TypeError, "assigned grad expected to be a Tensor or None");
        return -1;
    }
    td_client_t *cl = client_of(self);
    if (!cl)
        return -1;
    struct td_status st = TD_STATUS_INIT;
    if (td_grad_set(cl, &self->t, v && v != Py_None ? &((TensorObject *)v)->t : NULL, &st)) {
        td_ext_raise(&st);
        return -1;
    }
    return 0;
}

PyObject *td_ext_retain_grad(TensorObject *self, PyObject *noargs)
{
    td_client_t *cl = client_of(self);
    struct td_status st = TD_STATUS_INIT;
    if (!cl)
        return NULL;
    if (td_retain_grad(cl, &self->t, &st))
        return td_ext_raise(&st);
    Py_RETURN_NONE;
}

PyObject *td_ext_detach_(TensorObject *self, PyObject *noargs)
{
    td_detach_(&self->t);
    Py_INCREF(self);
    return (PyObject *)self;
}

/* t._set_data(src): Tensor.data = src (the setter's checks are in Python) */
PyObject *td_ext_set_data(TensorObject *self, PyObject *src)
{
    if (!td_ext_is_tensor(src)) {
        PyErr_Format(PyExc_TypeError, "Variable data has to be a tensor, but got %s", Py_TYPE(src)->tp_name);
        return NULL;
    }
    if (td_ext_check((PyObject *)self) || td_ext_check(src))
        return NULL;
    td_client_t *cl = client_of(self);
    if (!cl)
        return NULL;
    td_set_data(cl, &self->t, &((TensorObject *)src)->t);
    Py_CLEAR(self->known); /* the cached upload described the old storage */
    self->known_version = 0;
    Py_RETURN_NONE;
}

/* a hook: fn(grad) -> None or a replacement; called from the engine with the GIL held
 * by the thread that called backward */
static enum td_code call_hook(void *ctx, td_client_t *c, struct td_t *grad, struct td_status *st)
{
    PyObject *g = td_ext_wrap(&(struct td_t){0});
    if (!g)
        return td_status_set(st, TD_CODE_INTERNAL, "out of memory calling a hook");
    ((TensorObject *)g)->t = td_retain(c, grad);
    PyObject *r = PyObject_CallOneArg((PyObject *)ctx, g);
    Py_DECREF(g);
    if (!r)
        return td_status_set(st, TD_CODE_ABORTED, "a hook raised"); /* the Python error stays set */
    if (r != Py_None && td_ext_is_tensor(r)) {
        td_release(c, grad);
        *grad = td_retain(c, &((TensorObject *)r)->t);
    }
    Py_DECREF(r);
    return TD_CODE_OK;
}

static void decref_ctx(void *ctx)
{
    PyGILState_STATE s = PyGILState_Ensure();
    Py_DECREF((PyObject *)ctx);
    PyGILState_Release(s);
}

PyObject *td_ext_register_hook(TensorObject *self, PyObject *fn)
{
    td_client_t *cl = client_of(self);
    if (!cl)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    Py_INCREF(fn);
    int id = td_ag_hook_add(cl, &self->t, call_hook, fn, decref_ctx, &st);
    if (id < 0) {
        Py_DECREF(fn);
        return td_ext_raise(&st);
    }
    return PyLong_FromLong(id);
}

PyObject *td_ext_remove_hook(TensorObject *self, PyObject *id)
{
    long i = PyLong_AsLong(id);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    td_ag_hook_remove(&self->t, (int)i);
    Py_RETURN_NONE;
}

/* ---- saved-tensor hooks: Python's pack and unpack behind td_ag_saved_hooks_push ---- */

struct saved_pair {
    PyObject *pack, *unpack;
};

/* pack(tensor) -> any object; the tensor is a detached alias (no cycle through the node) */
static enum td_code call_pack(void *ctx, td_client_t *c, const struct td_t *t, void **packed, struct td_status *st)
{
    struct saved_pair *sp = ctx;
    PyGILState_STATE gs = PyGILState_Ensure();
    struct td_t alias = td_retain(c, t);
    td_detach_(&alias);
    PyObject *x = td_ext_wrap(&alias);
    PyObject *r = x ? PyObject_CallOneArg(sp->pack, x) : NULL;
    Py_XDECREF(x);
    enum td_code code = TD_CODE_OK;
    if (!r)
        code = td_status_set(st, TD_CODE_ABORTED, "a saved tensor's pack hook raised"); /* the error stays set */
    *packed = r;
    PyGILState_Release(gs);
    return code;
}

/* unpack(packed) -> the tensor backward uses */
static enum td_code call_unpack(void *ctx, td_client_t *c, void *packed, struct td_t *out, struct td_status *st)
{
    struct saved_pair *sp = ctx;
    PyGILState_STATE gs = PyGILState_Ensure();
    PyObject *r = PyObject_CallOneArg(sp->unpack, (PyObject *)packed);
    enum td_code code = TD_CODE_OK;
    if (!r) {
        code = td_status_set(st, TD_CODE_ABORTED, "a saved tensor's unpack hook raised");
    } else if (!td_ext_is_tensor(r)) {
        PyErr_Format(PyExc_TypeError, "Output of saved tensor unpack_hook expected to be a Tensor but got result of "
                     "type %s", Py_TYPE(r)->tp_name);
        code = td_status_set(st, TD_CODE_ABORTED, "a saved tensor's unpack hook returned no tensor");
    } else {
        *out = td_retain(c, &((TensorObject *)r)->t);
        td_detach_(out);
    }
    Py_XDECREF(r);
    PyGILState_Release(gs);
    return code;
}

static void drop_packed(void *ctx, void *packed)
{
    PyGILState_STATE gs = PyGILState_Ensure();
    Py_XDECREF((PyObject *)packed);
    PyGILState_Release(gs);
}

static void free_pair(void *ctx)
{
    struct saved_pair *sp = ctx;
    PyGILState_STATE gs = PyGILState_Ensure();
    Py_DECREF(sp->pack);
    Py_DECREF(sp->unpack);
    PyGILState_Release(gs);
    free(sp);
}

/* _saved_hooks_push(pack, unpack) / _saved_hooks_pop(): this thread's innermost pair */
static PyObject *m_saved_hooks_push(PyObject *self, PyObject *args)
{
    PyObject *pack, *unpack;
    if (!PyArg_ParseTuple(args, "OO", &pack, &unpack))
        return NULL;
    if (!PyCallable_Check(pack) || !PyCallable_Check(unpack)) {
        PyErr_SetString(PyExc_TypeError, "saved_tensors_hooks: pack_hook and unpack_hook must be callable");
        return NULL;
    }
    struct saved_pair *sp = malloc(sizeof *sp);
    if (!sp)
        return PyErr_NoMemory();
    Py_INCREF(pack);
    Py_INCREF(unpack);
    *sp = (struct saved_pair){pack, unpack};
    struct td_status st = TD_STATUS_INIT;
    if (td_ag_saved_hooks_push(call_pack, call_unpack, drop_packed, sp, free_pair, &st)) {
        free_pair(sp);
        return td_ext_raise(&st);
    }
    Py_RETURN_NONE;
}

static PyObject *m_saved_hooks_pop(PyObject *self, PyObject *noargs)
{
    td_ag_saved_hooks_pop();
    Py_RETURN_NONE;
}

/* ---- module functions ---- */

/* a sequence of tensors (None allowed where none_ok) into t[0..n); -1 on error */
static Py_ssize_t tensors_of(PyObject *seq, const struct td_t **t, Py_ssize_t cap, bool none_ok, const char *what)
{
    PyObject *f = PySequence_Fast(seq, what);
    if (!f)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(f);
    if (n > cap) {
        Py_DECREF(f);
        PyErr_Format(PyExc_ValueError, "%s: at most %zd tensors", what, cap);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PySequence_Fast_GET_ITEM(f, i);
        if (o == Py_None && none_ok) {
            t[i] = NULL;
        } else if (td_ext_is_tensor(o) && !td_ext_check(o)) {
            t[i] = &((TensorObject *)o)->t;
        } else {
            Py_DECREF(f);
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "%s: expected a sequence of Tensors, got %s", what,
                             Py_TYPE(o)->tp_name);
            return -1;
        }
    }
    Py_DECREF(f); /* the items stay alive: the caller holds the sequence */
    return n;
}

#define MAX_ROOTS 1024

static PyObject *raise_pass(struct td_status *st)
{
    if (st->code == TD_CODE_ABORTED && PyErr_Occurred())
        return NULL; /* a hook or custom backward raised: its exception goes up */
    return td_ext_raise(st);
}

/* backward(tensors, grad_tensors, inputs, retain_graph, create_graph) */
static PyObject *m_backward(PyObject *self, PyObject *args)
{
    PyObject *ts, *gs, *ins;
    int retain, create;
    if (!PyArg_ParseTuple(args, "OOOpp", &ts, &gs, &ins, &retain, &create))
        return NULL;
    static const struct td_t *t[MAX_ROOTS], *g[MAX_ROOTS], *in[MAX_ROOTS];
    Py_ssize_t n = tensors_of(ts, t, MAX_ROOTS, false, "backward"), ng, ni;
    if (n < 0 || (ng = tensors_of(gs, g, MAX_ROOTS, true, "backward")) < 0 ||
        (ni = tensors_of(ins, in, MAX_ROOTS, false, "backward")) < 0)
        return NULL;
    if (ng != n)
        return PyErr_Format(PyExc_RuntimeError, "grad_tensors has %zd elements, tensors %zd", ng, n);
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    unsigned flags = (retain ? TD_AG_RETAIN_GRAPH : 0) | (create ? TD_AG_CREATE_GRAPH : 0);
    if (td_backward(c, (int)n, t, g, (int)ni, in, flags, &st))
        return raise_pass(&st);
    Py_RETURN_NONE;
}

/* grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused) -> tuple */
static PyObject *m_grad(PyObject *self, PyObject *args)
{
    PyObject *os, *is, *gs;
    int retain, create, unused;
    if (!PyArg_ParseTuple(args, "OOOppp", &os, &is, &gs, &retain, &create, &unused))
        return NULL;
    static const struct td_t *o[MAX_ROOTS], *g[MAX_ROOTS], *in[MAX_ROOTS];
    static struct td_t res[MAX_ROOTS];
    Py_ssize_t n = tensors_of(os, o, MAX_ROOTS, false, "grad"), ng, ni;
    if (n < 0 || (ng = tensors_of(gs, g, MAX_ROOTS, true, "grad")) < 0 ||
        (ni = tensors_of(is, in, MAX_ROOTS, false, "grad")) < 0)
        return NULL;
    if (ng != n)
        return PyErr_Format(PyExc_RuntimeError, "grad_outputs has %zd elements, outputs %zd", ng, n);
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    struct td_status st = TD_STATUS_INIT;
    unsigned flags = (retain ? TD_AG_RETAIN_GRAPH : 0) | (create ? TD_AG_CREATE_GRAPH : 0) |
                     (unused ? TD_AG_ALLOW_UNUSED : 0);
    if (td_grad(c, (int)n, o, g, (int)ni, in, res, flags, &st))
        return raise_pass(&st);
    PyObject *out = PyTuple_New(ni);
    for (Py_ssize_t i = 0; i < ni; i++) {
        PyObject *x = !out ? NULL : res[i].handle ? td_ext_wrap(&res[i]) : Py_NewRef(Py_None);
        if (!x) {
            for (Py_ssize_t j = i + 1; j < ni; j++)
                td_release(c, &res[j]);
            Py_XDECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, i, x);
    }
    return out;
}

static PyObject *m_set_grad_enabled(PyObject *self, PyObject *on)
{
    int v = PyObject_IsTrue(on);
    if (v < 0)
        return NULL;
    bool was = td_grad_enabled();
    td_grad_set_enabled(v);
    return PyBool_FromLong(was);
}

static PyObject *m_is_grad_enabled(PyObject *self, PyObject *noargs) { return PyBool_FromLong(td_grad_enabled()); }

/* autocast_set(kind, enabled, dtype_index) -> None; autocast_get(kind) -> (enabled, dtype_index):
 * this thread's autocast state for the CPU (0) or the GPUs (1) */
static PyObject *m_autocast_set(PyObject *self, PyObject *args)
{
    int kind, on, dtype;
    if (!PyArg_ParseTuple(args, "ipi", &kind, &on, &dtype))
        return NULL;
    if (kind < 0 || kind > 1 || dtype < 0 || dtype >= TD_DTYPE_COUNT) {
        PyErr_SetString(PyExc_ValueError, "autocast_set(kind 0 or 1, enabled, dtype index)");
        return NULL;
    }
    td_autocast_set(kind, on, (enum td_dtype)dtype);
    Py_RETURN_NONE;
}

static PyObject *m_autocast_get(PyObject *self, PyObject *arg)
{
    long kind = PyLong_AsLong(arg);
    if (kind == -1 && PyErr_Occurred())
        return NULL;
    return Py_BuildValue("(Oi)", td_autocast_enabled((int)kind) ? Py_True : Py_False,
                         (int)td_autocast_dtype((int)kind));
}

static PyObject *m_set_anomaly(PyObject *self, PyObject *on)
{
    int v = PyObject_IsTrue(on);
    if (v < 0)
        return NULL;
    bool was = td_ag_anomaly();
    td_ag_set_anomaly(v);
    return PyBool_FromLong(was);
}

/* a custom function's backward: ctx is fn(*grads) -> a tuple of gradients (or None) per input */
struct custom_ctx {
    PyObject *fn;
    char name[128];
};

static enum td_code call_custom(void *ctx, td_client_t *c, const struct td_t *grad_out, int n_out,
                                struct td_t *grad_in, int n_in, struct td_status *st)
{
    struct custom_ctx *cc = ctx;
    PyObject *args = PyTuple_New(n_out);
    for (int k = 0; args && k < n_out; k++) {
        PyObject *g = grad_out[k].handle ? td_ext_wrap(&(struct td_t){0}) : Py_NewRef(Py_None);
        if (!g) {
            Py_CLEAR(args);
            break;
        }
        if (grad_out[k].handle)
            ((TensorObject *)g)->t = td_retain(c, &grad_out[k]);
        PyTuple_SET_ITEM(args, k, g);
    }
    PyObject *r = args ? PyObject_Call(cc->fn, args, NULL) : NULL;
    Py_XDECREF(args);
    if (!r)
        return td_status_set(st, TD_CODE_ABORTED, "a custom backward raised");
    PyObject *f = PySequence_Fast(r, "backward must return a tuple");
    Py_DECREF(r);
    if (!f)
        return td_status_set(st, TD_CODE_ABORTED, "bad backward result");
    enum td_code code = TD_CODE_OK;
    if (PySequence_Fast_GET_SIZE(f) < n_in) {
        PyErr_Format(PyExc_RuntimeError, "function %s returned an incorrect number of gradients (expected %d, "
                     "got %zd)", cc->name, n_in, PySequence_Fast_GET_SIZE(f));
        code = td_status_set(st, TD_CODE_ABORTED, "bad backward result");
    }
    for (int i = 0; !code && i < n_in; i++) {
        PyObject *g = PySequence_Fast_GET_ITEM(f, i);
        if (td_ext_is_tensor(g))
            grad_in[i] = td_retain(c, &((TensorObject *)g)->t);
    }
    Py_DECREF(f);
    return code;
}

static void free_custom(void *ctx)
{
    struct custom_ctx *cc = ctx;
    PyGILState_STATE s = PyGILState_Ensure();
    Py_DECREF(cc->fn);
    PyGILState_Release(s);
    PyMem_RawFree(cc);
}

/* custom_apply(backward_fn, name, inputs, outputs): outputs become the node's */
static PyObject *m_custom_apply(PyObject *self, PyObject *args)
{
    PyObject *fn, *ins, *outs;
    const char *name;
    if (!PyArg_ParseTuple(args, "OsOO", &fn, &name, &ins, &outs))
        return NULL;
    static const struct td_t *in[MAX_ROOTS], *out_p[MAX_ROOTS];
    Py_ssize_t ni = tensors_of(ins, in, MAX_ROOTS, false, "Function"), no;
    if (ni < 0 || (no = tensors_of(outs, out_p, 255, false, "Function")) < 0)
        return NULL;
    td_client_t *c = td_ext_get_client();
    struct custom_ctx *cc = c ? PyMem_RawMalloc(sizeof *cc) : NULL;
    if (!cc)
        return c ? PyErr_NoMemory() : NULL;
    Py_INCREF(fn);
    cc->fn = fn;
    snprintf(cc->name, sizeof cc->name, "%s", name);
    struct td_t o[255];
    for (Py_ssize_t k = 0; k < no; k++)
        o[k] = *out_p[k];
    struct td_ag_custom spec = {call_custom, cc, free_custom, cc->name};
    struct td_status st = TD_STATUS_INIT;
    if (td_ag_custom_apply(c, &spec, in, (int)ni, o, (int)no, &st)) {
        free_custom(cc);
        return td_ext_raise(&st);
    }
    for (Py_ssize_t k = 0; k < no; k++) /* the outputs' new autograd state */
        ((struct td_t *)out_p[k])->ag = o[k].ag;
    Py_RETURN_NONE;
}

/* _make_subclass(cls, t, requires_grad=False, alias=False): an instance of cls (a Tensor
 * subclass) holding another reference to t's handle, so the same storage, with autograd
 * state of its own: a leaf (nn.Parameter, as torch's Tensor._make_subclass); alias=True
 * keeps t's autograd state shared instead (Tensor.as_subclass: the same tensor as cls) */
static PyObject *m_make_subclass(PyObject *self, PyObject *args)
{
    PyObject *cls, *src;
    int rg = 0, alias = 0;
    if (!PyArg_ParseTuple(args, "OO|pp", &cls, &src, &rg, &alias))
        return NULL;
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &TensorBase_Type)) {
        PyErr_SetString(PyExc_TypeError, "_make_subclass(): cls must be a subclass of Tensor");
        return NULL;
    }
    if (!td_ext_is_tensor(src)) {
        PyErr_Format(PyExc_TypeError, "_make_subclass(): argument 'data' must be Tensor, not %s",
                     Py_TYPE(src)->tp_name);
        return NULL;
    }
    if (td_ext_check(src))
        return NULL;
    td_client_t *c = td_ext_get_client();
    if (!c)
        return NULL;
    TensorObject *o = (TensorObject *)((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, 0);
    if (!o)
        return NULL;
    o->t = td_retain(c, &((TensorObject *)src)->t);
    if (!alias)
        td_detach_(&o->t); /* the retained reference shared src's autograd state */
    o->epoch = td_ext_epoch;
    o->known = NULL;
    o->known_version = 0;
    struct td_status st = TD_STATUS_INIT;
    if (rg && td_requires_grad_(c, &o->t, true, &st)) {
        Py_DECREF(o);
        return td_ext_raise(&st);
    }
    return (PyObject *)o;
}

/* _name_grad_fn(t, name): t's grad_fn (if any) takes torch's name for the composed
 * function that made t; the names are interned here for good (the node keeps a pointer) */
static PyObject *m_name_grad_fn(PyObject *self, PyObject *args)
{
    static PyObject *names; /* str -> the same str, kept alive */
    PyObject *t, *name;
    if (!PyArg_ParseTuple(args, "OU", &t, &name))
        return NULL;
    if (!td_ext_is_tensor(t)) {
        PyErr_SetString(PyExc_TypeError, "_name_grad_fn(): expected a Tensor");
        return NULL;
    }
    struct td_ag_node *n = td_grad_fn(&((TensorObject *)t)->t);
    if (!n)
        Py_RETURN_NONE;
    PyObject *kept = (names || (names = PyDict_New())) ? PyDict_SetDefault(names, name, name) : NULL;
    const char *s = kept ? PyUnicode_AsUTF8(kept) : NULL;
    if (s)
        td_ag_node_set_name(n, s);
    td_ag_node_unref(n);
    if (!s)
        return NULL;
    Py_RETURN_NONE;
}

PyMethodDef td_ext_autograd_methods[] = {
    {"_name_grad_fn", m_name_grad_fn, METH_VARARGS, "_name_grad_fn(t, name): torch's name for t's grad_fn"},
    {"_make_subclass", m_make_subclass, METH_VARARGS, "_make_subclass(cls, t, requires_grad=False, alias=False)"},
    {"_saved_hooks_push", m_saved_hooks_push, METH_VARARGS, "_saved_hooks_push(pack, unpack): saved-tensor hooks on"},
    {"_saved_hooks_pop", m_saved_hooks_pop, METH_NOARGS, "_saved_hooks_pop(): the innermost pair off"},
    {"backward", m_backward, METH_VARARGS, "backward(tensors, grads, inputs, retain_graph, create_graph)"},
    {"grad", m_grad, METH_VARARGS, "grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused)"},
    {"set_grad_enabled", m_set_grad_enabled, METH_O, "sets this thread's grad mode; returns the previous one"},
    {"is_grad_enabled", m_is_grad_enabled, METH_NOARGS, "this thread's grad mode"},
    {"autocast_set", m_autocast_set, METH_VARARGS, "autocast_set(kind, enabled, dtype_index)"},
    {"autocast_get", m_autocast_get, METH_O, "autocast_get(kind) -> (enabled, dtype_index)"},
    {"set_anomaly_enabled", m_set_anomaly, METH_O, "sets anomaly mode; returns the previous one"},
    {"custom_apply", m_custom_apply, METH_VARARGS, "custom_apply(backward, name, inputs, outputs)"},
    {NULL, NULL, 0, NULL},
};

int td_ext_autograd_init(PyObject *m)
{
    if (PyType_Ready(&Node_Type) < 0)
        return -1;
    Py_INCREF(&Node_Type);
    if (PyModule_AddObject(m, "Node", (PyObject *)&Node_Type) < 0)
        return -1;
    return PyModule_AddFunctions(m, td_ext_autograd_methods);
}
