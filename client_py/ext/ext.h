/*
 * ext.h — shared declarations of the tensord._C extension (module.c, tensor.c).
 * The extension is a thin skin over libtensord: the Tensor is a C type holding a
 * struct td_t inline; every op goes through td_op, so shape/dtype errors come from
 * the one C meta layer and surface as Python exceptions at the user's line.
 */
#ifndef TD_EXT_H
#define TD_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "tensord.h"

typedef struct {
    PyObject_HEAD
    struct td_t t;
    unsigned epoch; /* td_ext_epoch when made: the client (session) its handle belongs to */
    /* The tensor's values as the client uploaded them (a numpy array), valid while the
     * storage's known version is still known_version (td_known_version); NULL: unknown. */
    PyObject *known;
    uint64_t known_version;
} TensorObject;

extern PyTypeObject TensorBase_Type;
extern td_client_t *td_ext_client;     /* the global client; NULL until connect() */
/* Which client a handle belongs to: bumped by connect, disconnect and (in the child) by
 * fork, which abandons the parent's client without any call on it.  A tensor whose
 * epoch differs names a handle of another session; td_ext_process_epoch is this
 * process's first epoch, so an older one means "inherited from the parent process". */
extern unsigned td_ext_epoch, td_ext_process_epoch;
extern PyTypeObject *td_ext_tensor_cls; /* Python subclass to instantiate */
extern PyObject *td_ext_size_cls;
extern PyObject *td_ext_dtypes;         /* tuple indexed by enum td_dtype */
/* fn(opnum, a, b, flags) for operator slots whose scalar operand is a Python complex
 * (set_binary_fallback); NULL: such operands give NotImplemented */
extern PyObject *td_ext_binary_fallback;

/* location.c: tells libtensord the user's file:line for the records made next (the
 * innermost frame outside the tensord package); init once with the package dir. */
void td_ext_note_location(void);
int td_ext_location_init(PyObject *package_dir);

/* 0 when o's handle belongs to the current client; else -1 with a RuntimeError naming
 * the cause (a parent process's session, or a closed one).  One integer compare. */
int td_ext_tensor_stale(TensorObject *o);
static inline int td_ext_check(PyObject *o)
{
    return ((TensorObject *)o)->epoch == td_ext_epoch ? 0 : td_ext_tensor_stale((TensorObject *)o);
}

/* ops.c: records op from Python arguments parsed by its schema (proto/ops.args), flags
 * TD_RF_* added; fname NULL is the fast paths' try mode (NULL, maybe with an exception
 * to clear, whenever the arguments are not plain; nothing recorded). */
PyObject *td_ext_op_call(enum td_op op, const char *fname, unsigned flags, PyObject *const *args, size_t nargsf,
                         PyObject *kwnames);
/* ops.c: the module tensord._C.ops, one entry point per op */
PyObject *td_ext_ops_module(void);
/* fast.c: fast(opnum, fallback, inplace=False), a C entry point in front of a Python
 * function (torch.add, Tensor.sum, ...) */
extern PyTypeObject FastOp_Type;
PyObject *td_ext_fast(PyObject *self, PyObject *args);

/* meta.c: the meta layer's promotion, dim and shape rules as module functions (added to
 * the module at init), and the default float they give Python floats, kept by
 * set_default_float. */
extern PyMethodDef td_ext_meta_methods[];
extern enum td_dtype td_ext_default_float;

/* autograd.c: Tensor's autograd attributes and methods, the Node type and the module
 * functions (added at init) */
PyObject *td_ext_get_requires_grad(TensorObject *self, void *c);
int td_ext_set_requires_grad(TensorObject *self, PyObject *v, void *c);
PyObject *td_ext_get_is_leaf(TensorObject *self, void *c);
PyObject *td_ext_get_grad_fn(TensorObject *self, void *c);
PyObject *td_ext_get_grad(TensorObject *self, void *c);
int td_ext_set_grad(TensorObject *self, PyObject *v, void *c);
PyObject *td_ext_retain_grad(TensorObject *self, PyObject *noargs);
PyObject *td_ext_detach_(TensorObject *self, PyObject *noargs);
PyObject *td_ext_set_data(TensorObject *self, PyObject *src);
PyObject *td_ext_register_hook(TensorObject *self, PyObject *fn);
PyObject *td_ext_remove_hook(TensorObject *self, PyObject *id);
int td_ext_autograd_init(PyObject *m);

/* _C.storage_view (storage_view.c) and its type. */
extern PyTypeObject td_ext_StorageView_Type;
PyObject *td_ext_storage_view(PyObject *self, PyObject *o);
/* share.c: share/open/revoke/fork_prepare, and the child's first use of a tensor
 * inherited through fork: 1 rebound to the child's session, 0 not openable (no
 * exception), -1 error set. */
extern PyMethodDef td_ext_share_methods[];
/* The tensors of fast (a PySequence_Fast of n) into ts/ptrs (n + 1 entries each, the
 * caller's); -1 with TypeError naming `what` when one is not a tensor. */
int td_ext_tensors_from(PyObject *fast, Py_ssize_t n, struct td_t *ts, const struct td_t **ptrs, const char *what);
/* graph.c: graph capture and runs (td_graph_*) */
extern PyMethodDef td_ext_graph_methods[];
/* numpy_arena.c: numpy's allocator, its arrays converted into tensord storage by from_numpy */
extern PyMethodDef td_ext_numpy_arena_methods[];
void td_ext_numpy_arena_orphan(td_client_t *c);
int td_ext_open_inherited(TensorObject *o);

/* Raises the Python exception matching st->code; returns NULL. */
PyObject *td_ext_raise(const struct td_status *st);
/* The client or a ConnectionError; also notes the caller's location for the records
 * the call makes (td_ext_note_location). */
td_client_t *td_ext_get_client(void);
/* New Python tensor owning t (steals the handle). */
PyObject *td_ext_wrap(const struct td_t *t);
static inline int td_ext_is_tensor(PyObject *o) { return PyObject_TypeCheck(o, &TensorBase_Type); }
/* Python bool/int/float -> scalar words; 0 ok, -1 not a scalar (no exception set). */
int td_ext_scalar(PyObject *o, int64_t *w);

#endif
