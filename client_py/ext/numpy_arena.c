/*
 * numpy_arena.c — numpy's data-memory handler (NEP 49) that places large array data in
 * tensord storage, so that from_numpy(a) shares memory with a both ways as in PyTorch
 * (docs/design/shared_memory.md, "numpy's own arrays").
 *
 * An allocation of at least `min_bytes` becomes a uint8 tensor (td_block_new), its size
 * rounded up to a size class (8 per power of two) when it may be cached; a table maps its
 * address to the tensor.  Everything else, and any failure, goes to the handler that was installed before
 * (numpy's default, with its small-block cache).  from_numpy finds the table block under
 * an array (arena_view) and opens a typed view of the same storage through a one-shot
 * sharing token; only then is the block's storage exported (ops on it sync), so ops of a
 * program holding many arrays do not scan them all.
 *
 * Freed blocks are cached here, by size class, up to `cache_max` bytes (LRU out, and any
 * idle for CACHE_IDLE_S), so an allocate/free loop of large arrays makes no daemon round
 * trip in the steady state.  Only a block nothing else can reach is cached: the block's
 * tensor handle never leaves this file, and arena_view is the one way to its storage (a
 * from_numpy view, and through it numpy() arrays, sharing tokens, other processes).  So
 * arena_view marks the block `aliased`, and an aliased block is released when numpy frees
 * it, as before: its storage lives while any alias does, and the daemon frees it after the
 * last (no client-side reference counting across processes).  A reused block is zeroed for
 * calloc.  The cache gives its blocks back when an allocation fails, when the session hits
 * out of memory (td_ext_raise), at tensord.cpu.empty_cache(), when its client goes
 * (disconnect, reconnect), and a forked child forgets it (those storages are the parent's).
 *
 * Blocks outlive their client: when the client goes (disconnect, reconnect) or in a
 * forked child, the pages under each live block are replaced by a private copy at the same
 * address (privatize), so the array keeps its bytes and the daemon may reuse the storage;
 * those "orphan" blocks are never handed to libc and their pages go at exit.
 *
 * One mutex (tbl_lock) guards the table and the cache: numpy allocates from any thread,
 * with or without the GIL.  It is never held across a call that takes the client's lock
 * (an autograd hook can allocate while its thread holds that lock).
 */
#define NPY_NO_DEPRECATED_API NPY_1_22_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL td_ext_numpy_api
#include "ext.h"

#include <numpy/arrayobject.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct block {
    void *p;   /* NULL: free slot; the table is linear-probing, deletions re-home */
    size_t size;          /* the size class: what the storage holds */
    struct td_t t;        /* handle 0: orphan (client gone or inherited through fork) */
    td_client_t *client;  /* td_ext_client when allocated */
    unsigned epoch;       /* td_ext_epoch then */
    unsigned aliased : 1; /* arena_view opened a view of it: never cached */
    unsigned exported : 1;
};

/* A freed block kept for reuse, on its class's list and on the LRU list. */
struct cached {
    struct block b;
    struct cached *next, *prev;   /* its class, newest first */
    struct cached *older, *newer; /* all of them */
    time_t when;                  /* freed, CLOCK_MONOTONIC_COARSE seconds */
};

#define CLASSES (64 * 8)
#define CACHE_IDLE_S 10

static pthread_mutex_t tbl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct block *tbl;
static size_t tbl_cap, tbl_n; /* tbl_cap: a power of two */
static size_t min_bytes = 64 * 1024;
static int installed;
static PyDataMem_Handler *prev;     /* the handler before ours: small blocks and fallbacks */
static PyObject *prev_capsule;
static unsigned usable_epoch = ~0u; /* td_ext_epoch for which `usable` was worked out */
static int usable;

static size_t cache_max = 32u << 20; /* numpy_arena_install; 0: no cache */
static struct cached *cls_list[CLASSES], *newest, *oldest;
static size_t cache_n, cache_bytes;
static size_t n_hits, n_misses, n_released; /* allocations from the cache / the daemon; blocks given back */

/* The size class of n (>= 1): n rounded up to 1/8 of its power of two; *idx its list. */
static size_t class_of(size_t n, unsigned *idx)
{
    unsigned e = 63u - (unsigned)__builtin_clzll((unsigned long long)n);
    size_t step = e >= 3 ? (size_t)1 << (e - 3) : 1;
    size_t r = (n + step - 1) & ~(step - 1);
    if (r < n) /* wrapped: near SIZE_MAX */
        return 0;
    e = 63u - (unsigned)__builtin_clzll((unsigned long long)r);
    *idx = e * 8 + (unsigned)((r >> (e >= 3 ? e - 3 : 0)) & 7);
    return r;
}

static time_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts.tv_sec;
}

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

/* Takes e off both cache lists. */
static void cache_unlink_locked(struct cached *e)
{
    unsigned idx;
    class_of(e->b.size, &idx);
    if (e->prev)
        e->prev->next = e->next;
    else
        cls_list[idx] = e->next;
    if (e->next)
        e->next->prev = e->prev;
    if (e->newer)
        e->newer->older = e->older;
    else
        newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        oldest = e->newer;
    cache_n--;
    cache_bytes -= e->b.size;
}

/* Moves the oldest cached blocks onto *out (to be released outside the lock) until the
 * cache holds at most keep bytes and nothing idle for CACHE_IDLE_S; keep 0 empties it. */
static void cache_trim_locked(size_t keep, time_t now, struct cached **out)
{
    while (oldest && (cache_bytes > keep || now - oldest->when >= CACHE_IDLE_S)) {
        struct cached *e = oldest;
        cache_unlink_locked(e);
        e->next = *out;
        *out = e;
    }
}

/* Gives blocks taken out of the cache back to the daemon (a client that is gone, or the
 * parent's after fork, is not called: td_block_free checks the fork generation). */
static void release_list(struct cached *l)
{
    while (l) {
        struct cached *n = l->next;
        if (l->b.client == td_ext_client && l->b.epoch == td_ext_epoch)
            td_block_free(l->b.client, &l->b.t);
        __atomic_fetch_add(&n_released, 1, __ATOMIC_RELAXED);
        free(l);
        l = n;
    }
}

/* A cached block of exactly class size for client c, off the cache; NULL when none. */
static int cache_take_locked(size_t size, unsigned idx, td_client_t *c, struct block *out)
{
    struct cached *e = cls_list[idx];
    if (!e)
        return 0;
    cache_unlink_locked(e);
    *out = e->b;
    free(e);
    return out->size == size && out->client == c && out->epoch == td_ext_epoch;
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

/* A block of at least size bytes (*zeroed: whether it is known to hold zeros), or NULL. */
static void *block_alloc(size_t size, int *zeroed)
{
    unsigned idx;
    if (size < min_bytes || size == 0)
        return NULL;
    size_t cls = class_of(size, &idx);
    td_client_t *c = usable_client();
    if (!c || !cls)
        return NULL;
    int cacheable = cls <= cache_max / 4;
    if (cacheable)
        size = cls; /* else never cached: no rounding */
    struct block b = {0};
    struct cached *gone = NULL;
    pthread_mutex_lock(&tbl_lock);
    int hit = cacheable && cache_take_locked(size, idx, c, &b) && !td_client_lost(c);
    if (hit && insert_locked(&b) == 0) {
        n_hits++;
        pthread_mutex_unlock(&tbl_lock);
        *zeroed = 0;
        return b.p;
    }
    if (b.p) { /* stale, or no room in the table: give it back */
        struct cached *e = malloc(sizeof *e);
        if (e) {
            e->b = b;
            e->next = NULL;
            gone = e;
        }
    }
    n_misses++;
    pthread_mutex_unlock(&tbl_lock);
    release_list(gone);

    b = (struct block){.size = size, .client = c, .epoch = td_ext_epoch};
    struct td_status st = TD_STATUS_INIT;
    enum td_code code = td_block_new(c, size, &b.t, &b.p, &st);
    if (code && code != TD_CODE_UNAVAILABLE) {
        /* maybe the session's quota, filled by cached blocks: give them back, try again */
        pthread_mutex_lock(&tbl_lock);
        cache_trim_locked(0, now_s(), &gone);
        pthread_mutex_unlock(&tbl_lock);
        if (gone) {
            release_list(gone);
            st = (struct td_status)TD_STATUS_INIT;
            code = td_block_new(c, size, &b.t, &b.p, &st);
        }
    }
    if (code) {
        /* busy is momentary, and so is out of memory; anything else is not */
        if (code != TD_CODE_UNAVAILABLE && code != TD_CODE_RESOURCE_EXHAUSTED)
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
    *zeroed = 1; /* EMPTY storage is zeroed */
    return b.p;
}

/* Ends a block taken out of the table: into the cache when nothing else can reach its
 * storage, else back to the daemon. */
static void block_end(struct block *b)
{
    if (!b->t.handle || b->client != td_ext_client || b->epoch != td_ext_epoch)
        return; /* an orphan's pages are never libc's: they stay until exit */
    struct cached *e = NULL, *gone = NULL;
    if (!b->aliased && b->size <= cache_max / 4 && (e = malloc(sizeof *e))) {
        time_t now = now_s();
        e->b = *b;
        e->when = now;
        pthread_mutex_lock(&tbl_lock);
        unsigned idx;
        class_of(b->size, &idx);
        e->prev = NULL;
        e->next = cls_list[idx];
        if (e->next)
            e->next->prev = e;
        cls_list[idx] = e;
        e->newer = NULL;
        e->older = newest;
        if (newest)
            newest->newer = e;
        else
            oldest = e;
        newest = e;
        cache_n++;
        cache_bytes += b->size;
        cache_trim_locked(cache_max, now, &gone);
        pthread_mutex_unlock(&tbl_lock);
        release_list(gone);
        return;
    }
    td_block_free(b->client, &b->t);
    __atomic_fetch_add(&n_released, 1, __ATOMIC_RELAXED);
}

/* Gives cached blocks back to the daemon until at most keep bytes stay (0: empty_cache,
 * out of memory, the client going). */
void td_ext_numpy_arena_trim_to(size_t keep)
{
    struct cached *gone = NULL;
    pthread_mutex_lock(&tbl_lock);
    cache_trim_locked(keep, now_s(), &gone);
    pthread_mutex_unlock(&tbl_lock);
    release_list(gone);
}

static void *h_malloc(void *ctx, size_t size)
{
    int zeroed;
    void *p = block_alloc(size, &zeroed);
    return p ? p : prev->allocator.malloc(prev->allocator.ctx, size);
}

static void *h_calloc(void *ctx, size_t n, size_t elsize)
{
    if (elsize && n > SIZE_MAX / elsize)
        return NULL;
    int zeroed;
    void *p = block_alloc(n * elsize, &zeroed);
    if (p && !zeroed)
        memset(p, 0, n * elsize); /* a reused block */
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
        block_end(&b);
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
    if (size <= old && size > old / 2)
        return p; /* its class has room; a block half empty moves to a smaller one */
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
 * copy-on-write would for malloc'd memory) and never release them from here.  Cached
 * blocks are the parent's to reuse: the child forgets them. */
static void atfork_child(void)
{
    orphan_locked(NULL, 1);
    for (struct cached *e = newest, *o; e; e = o) {
        o = e->older;
        free(e);
    }
    memset(cls_list, 0, sizeof cls_list);
    newest = oldest = NULL;
    cache_n = cache_bytes = 0;
    pthread_mutex_unlock(&tbl_lock);
}

/* numpy_arena_install(min_bytes, cache_bytes): from now on allocations of at least
 * min_bytes in this thread's context (and new contexts copied from it) may go to the
 * daemon, and up to cache_bytes of freed blocks are kept for reuse. */
static PyObject *m_install(PyObject *self, PyObject *args)
{
    Py_ssize_t n, cache;
    if (!PyArg_ParseTuple(args, "nn", &n, &cache))
        return NULL;
    min_bytes = n < 1 ? 1 : (size_t)n;
    pthread_mutex_lock(&tbl_lock);
    cache_max = cache < 0 ? 0 : (size_t)cache;
    pthread_mutex_unlock(&tbl_lock);
    td_ext_numpy_arena_trim_to(cache_max);
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
    td_ext_numpy_arena_trim_to(0); /* the session's end releases their storages */
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

/* numpy_arena_cache_stats() -> dict: the cache of freed blocks and where allocations came from. */
static PyObject *m_cache_stats(PyObject *self, PyObject *noargs)
{
    pthread_mutex_lock(&tbl_lock);
    size_t v[6] = {cache_n, cache_bytes, cache_max, n_hits, n_misses,
                   __atomic_load_n(&n_released, __ATOMIC_RELAXED)};
    pthread_mutex_unlock(&tbl_lock);
    return Py_BuildValue("{snsnsnsnsnsn}", "blocks", (Py_ssize_t)v[0], "bytes", (Py_ssize_t)v[1], "limit",
                         (Py_ssize_t)v[2], "hits", (Py_ssize_t)v[3], "daemon_allocs", (Py_ssize_t)v[4],
                         "released", (Py_ssize_t)v[5]);
}

/* numpy_arena_empty_cache(): cached blocks back to the daemon (tensord.cpu.empty_cache). */
static PyObject *m_empty_cache(PyObject *self, PyObject *noargs)
{
    Py_BEGIN_ALLOW_THREADS
    td_ext_numpy_arena_trim_to(0);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
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
    td_client_t *c = td_ext_client;
    pthread_mutex_lock(&tbl_lock);
    struct block *f = find_locked(p), b = {0};
    if (f) {
        b = *f;
        if (b.t.handle && b.client == c && b.epoch == td_ext_epoch)
            f->aliased = 1; /* from now on its storage may be reached from elsewhere: never cached */
    }
    pthread_mutex_unlock(&tbl_lock);
    if (!f || !b.t.handle || b.client != c || b.epoch != td_ext_epoch)
        Py_RETURN_NONE;
    if (!b.exported) {
        /* ops on the view must sync like ops on any storage numpy can see (a thread
         * racing us here exports too; the second export is undone) */
        if (!td_block_export(c, &b.t))
            return PyErr_NoMemory();
        int again = 0;
        pthread_mutex_lock(&tbl_lock);
        f = find_locked(p);
        if (f && f->client == c && f->t.handle == b.t.handle && !f->exported)
            f->exported = 1;
        else
            again = 1;
        pthread_mutex_unlock(&tbl_lock);
        if (again)
            td_storage_unmap(c, b.t.storage_id);
    }
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
    /* the block's storage: ops on the view sync (it is exported) */
    out.storage_id = b.t.storage_id;
    return td_ext_wrap(&out);
}

PyMethodDef td_ext_numpy_arena_methods[] = {
    {"numpy_arena_install", m_install, METH_VARARGS,
     "numpy_arena_install(min_bytes, cache_bytes): numpy allocations of at least min_bytes go to tensord "
     "storage; up to cache_bytes of freed blocks are kept for reuse"},
    {"numpy_arena_cache_stats", m_cache_stats, METH_NOARGS,
     "numpy_arena_cache_stats() -> dict: blocks, bytes, limit, hits, daemon_allocs, released"},
    {"numpy_arena_empty_cache", m_empty_cache, METH_NOARGS,
     "numpy_arena_empty_cache(): freed blocks kept for reuse go back to the daemon"},
    {"numpy_arena_stats", m_stats, METH_NOARGS, "numpy_arena_stats() -> (blocks, bytes) held from the daemon"},
    {"arena_view", m_arena_view, METH_VARARGS,
     "arena_view(address, dtype, offset, sizes, strides) -> tensor over a numpy block, or None"},
    {NULL, NULL, 0, NULL},
};
