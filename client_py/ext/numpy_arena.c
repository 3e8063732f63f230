/*
 * numpy_arena.c — numpy's data-memory handler (NEP 49) that places large array data in
 * tensord storage, so that from_numpy(a) shares memory with a both ways as in PyTorch
 * (docs/design/shared_memory.md, "numpy's own arrays").
 *
 * An allocation of at least `min_bytes` becomes a uint8 tensor of that many bytes mapped
 * into this process and exported (td_block_new: ops on it sync before returning); a table
 * maps its address to the tensor.  Everything else, and any failure, goes to the handler
 * that was installed before (numpy's default, with its small-block cache).  from_numpy
 * finds the table block under an array (arena_view) and opens a typed view of the same
 * storage through a one-shot sharing token.
 *
 * Blocks outlive their client: when the client goes (disconnect, reconnect) or in a
 * forked child, the pages under each block are replaced by a private copy at the same
 * address (privatize), so the array keeps its bytes and the daemon may reuse the storage;
 * those "orphan" blocks are never handed to libc and their pages go at exit.
 */
#define NPY_NO_DEPRECATED_API NPY_1_22_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL td_ext_numpy_api
#include "ext.h"

#include <numpy/arrayobject.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct block {
    void *p;   /* NULL: free slot; the table is linear-probing, deletions re-home */
    size_t size;
    struct td_t t;        /* handle 0: orphan (client gone or inherited through fork) */
    td_client_t *client;  /* td_ext_client when allocated */
    unsigned epoch;       /* td_ext_epoch then */
};

static pthread_mutex_t tbl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct block *tbl;
static size_t tbl_cap, tbl_n; /* tbl_cap: a power of two */
static size_t min_bytes = 64 * 1024;
static int installed;
static PyDataMem_Handler *prev;     /* the handler before ours: small blocks and fallbacks */
static PyObject *prev_capsule;
static unsigned usable_epoch = ~0u; /* td_ext_epoch for which `usable` was worked out */
static int usable;

static size_t slot_of(void *p) { return ((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 7 & (tbl_cap - 1); }

static struct block *find_locked(void *p)
{
    if (!tbl_n)
        return NULL;
    for (size_t i = slot_of(p);; i = (i + 1) & (tbl_cap - 1)) {
        if (tbl[i].p == p)
            return &tbl[i];
        if (!tbl[i].p)
            return NULL;
    }
}

static void remove_locked(struct block *b)
{
    size_t i = (size_t)(b - tbl), mask = tbl_cap - 1;
    tbl[i].p = NULL;
    tbl_n--;
    for (size_t j = (i + 1) & mask; tbl[j].p; j = (j + 1) & mask) {
        size_t home = slot_of(tbl[j].p);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            tbl[i] = tbl[j];
            tbl[j].p = NULL;
            i = j;
        }
    }
}

static int insert_locked(const struct block *b)
{
    if (tbl_n + 1 > tbl_cap / 2) {
        size_t cap = tbl_cap ? tbl_cap * 2 : 256;
        /* calloc of libc, never numpy's: this is the allocator */
        struct block *nt = calloc(cap, sizeof *nt), *old = tbl;
        if (!nt)
            return -1;
        size_t oldcap = tbl_cap;
        tbl = nt;
        tbl_cap = cap;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].p) {
                size_t j = slot_of(old[i].p);
                while (tbl[j].p)
                    j = (j + 1) & (cap - 1);
                tbl[j] = old[i];
            }
        free(old);
    }
    size_t j = slot_of(b->p);
    while (tbl[j].p)
        j = (j + 1) & (tbl_cap - 1);
    tbl[j] = *b;
    tbl_n++;
    return 0;
}

/* The pages under [p, p + size) become private anonymous memory with the same bytes. */
static void privatize(void *p, size_t size)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)(pg - 1), e = ((uintptr_t)p + size + pg - 1) & ~(uintptr_t)(pg - 1);
    size_t len = e - a;
    void *tmp = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (tmp == MAP_FAILED)
        return; /* stays shared: the best that can be done */
    memcpy(tmp, (void *)a, len);
    if (mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)a) == MAP_FAILED)
        munmap(tmp, len);
}

/* Blocks of a client that is no longer this process's (all of them when c is NULL). */
static void orphan_locked(td_client_t *c, int all)
{
    for (size_t i = 0; i < tbl_cap; i++) {
        struct block *b = &tbl[i];
        if (b->p && b->t.handle && (all || b->client == c)) {
            privatize(b->p, b->size);
            b->t.handle = 0;
            b->client = NULL;
        }
    }
}

/* Can blocks come from the daemon now?  Worked out once per client (epoch). */
static td_client_t *usable_client(void)
{
    td_client_t *c = td_ext_client;
    if (!c)
        return NULL;
    if (usable_epoch != td_ext_epoch) {
        usable_epoch = td_ext_epoch;
        usable = strcmp(td_client_transport(c), "shm") == 0;
    }
    return usable ? c : NULL;
}

static void *block_alloc(size_t size)
{
    if (size < min_bytes || size == 0)
        return NULL;
    td_client_t *c = usable_client();
    if (!c)
        return NULL;
    struct block b = {.size = size, .client = c, .epoch = td_ext_epoch};
    struct td_status st = TD_STATUS_INIT;
    enum td_code code = td_block_new(c, size, &b.t, &b.p, &st);
    if (code) {
        if (code != TD_CODE_UNAVAILABLE) /* busy is momentary; anything else is not */
            usable = 0;
        return NULL;
    }
    pthread_mutex_lock(&tbl_lock);
    int bad = insert_locked(&b);
    pthread_mutex_unlock(&tbl_lock);
    if (bad) {
        td_block_free(c, &b.t);
        return NULL;
    }
    return b.p;
}

/* Ends a block taken out of the table. */
static void block_end(struct block *b)
{
    if (b->t.handle && b->client == td_ext_client && b->epoch == td_ext_epoch)
        td_block_free(b->client, &b->t);
}

static void *h_malloc(void *ctx, size_t size)
{
    void *p = block_alloc(size);
    return p ? p : prev->allocator.malloc(prev->allocator.ctx, size);
}

static void *h_calloc(void *ctx, size_t n, size_t elsize)
{
    if (elsize && n > SIZE_MAX / elsize)
        return NULL;
    void *p = block_alloc(n * elsize); /* EMPTY storage is zeroed */
    return p ? p : prev->allocator.calloc(prev->allocator.ctx, n, elsize);
}

static void h_free(void *ctx, void *p, size_t size)
{
    if (!p)
        return;
    pthread_mutex_lock(&tbl_lock);
    struct block *f = find_locked(p), b;
    if (f) {
        b = *f;
        remove_locked(f);
    }
    pthread_mutex_unlock(&tbl_lock);
    if (f)
        block_end(&b); /* an orphan's pages are never libc's: they stay until exit */
    else
        prev->allocator.free(prev->allocator.ctx, p, size);
}

static void *h_realloc(void *ctx, void *p, size_t size)
{
    pthread_mutex_lock(&tbl_lock);
    struct block *f = p ? find_locked(p) : NULL;
    size_t old = f ? f->size : 0;
    pthread_mutex_unlock(&tbl_lock);
    if (!f)
        return prev->allocator.realloc(prev->allocator.ctx, p, size);
    void *q = h_malloc(ctx, size ? size : 1);
    if (!q)
        return NULL;
    memcpy(q, p, old < size ? old : size);
    h_free(ctx, p, old);
    return q;
}

static PyDataMem_Handler handler = {
    "tensord_arena",
    1,
    {NULL, h_malloc, h_calloc, h_realloc, h_free},
};

static void atfork_prepare(void) { pthread_mutex_lock(&tbl_lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&tbl_lock); }
/* The child's blocks are the parent's storages: give the child its own copy (as fork's
 * copy-on-write would for malloc'd memory) and never release them from here. */
static void atfork_child(void)
{
    orphan_locked(NULL, 1);
    pthread_mutex_unlock(&tbl_lock);
}

/* numpy_arena_install(min_bytes): from now on allocations of at least min_bytes in this
 * thread's context (and new contexts copied from it) may go to the daemon. */
static PyObject *m_install(PyObject *self, PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n < 0 && PyErr_Occurred())
        return NULL;
    min_bytes = n < 1 ? 1 : (size_t)n;
    if (installed)
        Py_RETURN_NONE;
    if (_import_array() < 0)
        return NULL;
    PyObject *cap = PyCapsule_New(&handler, "mem_handler", NULL);
    if (!cap)
        return NULL;
    PyObject *old = PyDataMem_SetHandler(cap);
    Py_DECREF(cap);
    if (!old)
        return NULL;
    prev = PyCapsule_GetPointer(old, "mem_handler");
    if (!prev) {
        Py_DECREF(PyDataMem_SetHandler(old));
        Py_DECREF(old);
        return NULL;
    }
    prev_capsule = old; /* kept: prev points into it */
    static int atfork_done;
    if (!atfork_done && pthread_atfork(atfork_prepare, atfork_parent, atfork_child) == 0)
        atfork_done = 1;
    installed = 1;
    Py_RETURN_NONE;
}

/* Client c is about to go (before td_client_free, while its session still holds the
 * storages): its blocks keep their bytes in private pages. */
void td_ext_numpy_arena_orphan(td_client_t *c)
{
    pthread_mutex_lock(&tbl_lock);
    orphan_locked(c, 0);
    pthread_mutex_unlock(&tbl_lock);
}

/* numpy_arena_stats() -> (blocks, bytes) in the table, orphans included. */
static PyObject *m_stats(PyObject *self, PyObject *noargs)
{
    size_t n = 0, bytes = 0;
    pthread_mutex_lock(&tbl_lock);
    for (size_t i = 0; i < tbl_cap; i++)
        if (tbl[i].p && tbl[i].t.handle)
            n++, bytes += tbl[i].size;
    pthread_mutex_unlock(&tbl_lock);
    return Py_BuildValue("nn", (Py_ssize_t)n, (Py_ssize_t)bytes);
}

/* arena_view(address, dtype, offset, sizes, strides) -> a tensor over the block that
 * starts at address (offset, sizes, strides in elements of dtype), or None when address
 * is no live block of this process's client. */
static PyObject *m_arena_view(PyObject *self, PyObject *args)
{
    PyObject *addr_o, *sz, *sd;
    int dt;
    long long off;
    if (!PyArg_ParseTuple(args, "OiLO!O!", &addr_o, &dt, &off, &PyTuple_Type, &sz, &PyTuple_Type, &sd))
        return NULL;
    void *p = PyLong_AsVoidPtr(addr_o);
    if (!p && PyErr_Occurred())
        return NULL;
    Py_ssize_t nd = PyTuple_GET_SIZE(sz);
    if (nd > TD_MAX_DIMS || PyTuple_GET_SIZE(sd) != nd)
        Py_RETURN_NONE;
    pthread_mutex_lock(&tbl_lock);
    struct block *f = find_locked(p), b = {0};
    if (f)
        b = *f;
    pthread_mutex_unlock(&tbl_lock);
    td_client_t *c = td_ext_client;
    if (!f || !b.t.handle || b.client != c || b.epoch != td_ext_epoch)
        Py_RETURN_NONE;
    struct td_meta m;
    memset(&m, 0, sizeof m);
    m.dtype = (uint8_t)dt;
    m.ndim = (uint8_t)nd;
    m.offset = off;
    m.storage_nbytes = (int64_t)b.size;
    for (Py_ssize_t i = 0; i < nd; i++) {
        m.sizes[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(sz, i));
        m.strides[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(sd, i));
    }
    if (PyErr_Occurred())
        return NULL;
    struct td_token_bytes tok;
    struct td_t out;
    struct td_status st = TD_STATUS_INIT;
    enum td_code code;
    Py_BEGIN_ALLOW_THREADS
    code = td_share(c, &b.t, 1 /* one-shot: dies when opened */, &tok, &st);
    if (!code)
        code = td_open(c, &tok, 0, &m, &out, &st);
    Py_END_ALLOW_THREADS
    if (code)
        return td_ext_raise(&st);
    /* the block's storage: ops on the view sync like ops on the block (it is exported) */
    out.storage_id = b.t.storage_id;
    return td_ext_wrap(&out);
}

PyMethodDef td_ext_numpy_arena_methods[] = {
    {"numpy_arena_install", m_install, METH_O,
     "numpy_arena_install(min_bytes): numpy allocations of at least min_bytes go to tensord storage"},
    {"numpy_arena_stats", m_stats, METH_NOARGS, "numpy_arena_stats() -> (blocks, bytes) held from the daemon"},
    {"arena_view", m_arena_view, METH_VARARGS,
     "arena_view(address, dtype, offset, sizes, strides) -> tensor over a numpy block, or None"},
    {NULL, NULL, 0, NULL},
};
