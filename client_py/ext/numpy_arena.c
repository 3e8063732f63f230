/*
 * numpy_arena.c — numpy's data-memory handler (NEP 49), so that from_numpy(a) shares
 * memory with a both ways as in PyTorch (docs/design/shared_memory.md, "numpy's own arrays").
 *
 * An allocation of at least `min_bytes` is ordinary private memory from libc, laid out so
 * that the array's data starts on a page and owns every page it touches (malloc/calloc of
 * whole pages plus one, the data aligned inside); a table maps its address to its extent.
 * No daemon round trip, and fork() is plain copy-on-write for it.  Everything smaller,
 * and any failure, goes to the handler that was installed before (numpy's default).
 *
 * Only when from_numpy/as_tensor first needs to alias such an array (arena_view) is it
 * *converted*: a daemon storage block (td_block_new) receives a copy of its pages, and the
 * block's pages are mapped over the array's own address range (mremap of the arena
 * mapping with old size 0 makes a second shared mapping of the same pages, MREMAP_FIXED
 * puts it at the array's address), so the array's pointer is unchanged and from then on
 * the array and every tensor on the block share memory.  Later from_numpy calls find the
 * block in the table (no copy).  The array's own pages are kept aside meanwhile (bounded).
 * When numpy frees a converted array, they (or fresh private pages) go back at its range
 * before libc gets it back, and the block is released (its storage lives on daemon-side
 * while any alias does); so libc never reuses memory that a tensor can still reach.
 *
 * A converted array becomes private memory again, with its bytes (privatize), in a forked
 * child (as fork's copy-on-write would give it; the child may convert it again into its own
 * session) and when its client goes (disconnect, reconnect).
 *
 * One mutex (tbl_lock) guards the table: numpy allocates from any thread, with or without
 * the GIL.  It is never held across a call that takes the client's lock (an autograd hook
 * can allocate while its thread holds that lock).  A conversion runs with the GIL held
 * except for its round trip, during which the entry is marked `converting`.
 */
#define NPY_NO_DEPRECATED_API NPY_1_22_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL td_ext_numpy_api
#include "ext.h"

#include <errno.h>
#include <numpy/arrayobject.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* The daemon storage under a converted array. */
struct conv {
    struct td_t t;       /* the uint8 block */
    td_client_t *client; /* td_ext_client when converted */
    unsigned epoch;      /* td_ext_epoch then */
    size_t delta;        /* where the array's first byte is in the storage */
    size_t nbytes;       /* the storage's size */
    void *spare;         /* the array's own pages, moved aside to come back at free; or NULL */
};

struct block {
    void *p;         /* the array's data, page-aligned; NULL: free slot (linear probing, deletions re-home) */
    void *raw;       /* what libc gave: free(raw) */
    size_t len;      /* whole pages from p, nobody else's */
    struct conv *cv; /* NULL: private memory */
    int converting;  /* arena_view is making cv (its round trip) */
};

static pthread_mutex_t tbl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct block *tbl;
static size_t tbl_cap, tbl_n; /* tbl_cap: a power of two */
static size_t tbl_bytes;      /* sum of len */
static size_t min_bytes = 64 * 1024;
static size_t page = 4096;
static int installed;
static PyDataMem_Handler *prev; /* the handler before ours: small blocks and fallbacks */
static PyObject *prev_capsule;
static unsigned usable_epoch = ~0u; /* td_ext_epoch for which `usable` was worked out */
static int usable;
static size_t n_conv, conv_bytes;                               /* live conversions */
static size_t spare_bytes;                                      /* their spare pages */
static size_t n_conversions, n_reuses, n_released, n_fallbacks; /* counts since install */

#define HUGE_ADVISE_BYTES ((size_t)4 << 20) /* numpy's default handler advises huge pages from here */
/* A converted array keeps its own (faulted-in) pages aside, so that libc gets them back
 * at free instead of fresh ones that fault in again (1 MiB: ~350 us on a VM); bounded,
 * and lazily freeable by the kernel (MADV_FREE) meanwhile. */
#define SPARE_ONE_MAX ((size_t)16 << 20)
#define SPARE_MAX ((size_t)64 << 20)
/* Each converted array splits its mapping in up to 4 (vm.max_map_count is 65530 by default,
 * and libc needs mappings too): past this many, from_numpy copies. */
#define CONVERTED_MAX 8192

static size_t slot_of(void *p)
{
    return ((uintptr_t)p >> 12) * 0x9E3779B97F4A7C15ull >> 7 & (tbl_cap - 1);
}

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
    tbl_bytes -= b->len;
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
    tbl_bytes += b->len;
    return 0;
}

/* The pages of [p, p + len) (page-aligned) become private anonymous memory with the same
 * bytes: spare's pages when given, else fresh ones; -1 (still shared) when memory is short. */
static int privatize(void *p, size_t len, void *spare)
{
    void *tmp = spare ? spare : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (tmp == MAP_FAILED)
        return -1;
    if (!spare && len >= HUGE_ADVISE_BYTES / 2)
        madvise(tmp, len, MADV_HUGEPAGE); /* a fault per 2 MiB: halves a forked child's copy of 64 MiB */
    memcpy(tmp, p, len);
    if (mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, p) == MAP_FAILED) {
        if (!spare)
            munmap(tmp, len);
        return -1;
    }
    return 0;
}

/* Converted arrays of client c (all when `all`) become private memory with their bytes;
 * their blocks are not released (the session's end, or the parent, owns them). */
static void unconvert_locked(td_client_t *c, int all)
{
    for (size_t i = 0; i < tbl_cap; i++) {
        struct block *b = &tbl[i];
        if (all)
            b->converting = 0; /* a forked child: the thread converting is the parent's */
        if (b->p && b->cv && (all || b->cv->client == c)) {
            /* a forked child's spare is the parent's pages, copy-on-write: fresh ones copy faster */
            if (privatize(b->p, b->len, all ? NULL : b->cv->spare))
                continue; /* stays shared: the best that can be done */
            if (b->cv->spare) {
                if (all)
                    munmap(b->cv->spare, b->len);
                spare_bytes -= b->len;
            }
            free(b->cv);
            b->cv = NULL;
            n_conv--;
            conv_bytes -= b->len;
        }
    }
}

/* Can arrays be converted now?  Worked out once per client (epoch). */
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

/* Private memory of whole pages for size bytes (zeroed when zero), in the table; NULL
 * when below the threshold or out of memory (the caller falls back to numpy's handler). */
static void *big_alloc(size_t size, int zero)
{
    if (size < min_bytes || size > SIZE_MAX - 2 * page)
        return NULL;
    struct block b = {.len = (size + page - 1) & ~(page - 1)};
    /* libc's memory a page larger, the data aligned inside (libc's pointers are aligned to
     * max_align_t already): plain malloc/calloc keep glibc's dynamic mmap threshold working
     * (posix_memalign's extra request defeats it: a 1 MiB array would be mmapped and
     * faulted in every time), and calloc keeps fresh mmapped memory lazily zero */
    size_t n = b.len + page - _Alignof(max_align_t);
    b.raw = zero ? calloc(1, n) : malloc(n);
    b.p = b.raw ? (void *)(((uintptr_t)b.raw + page - 1) & ~(uintptr_t)(page - 1)) : NULL;
    if (!b.p)
        return NULL;
    if (b.len >= HUGE_ADVISE_BYTES)
        madvise(b.p, b.len, MADV_HUGEPAGE); /* as numpy's own handler does; advice only */
    pthread_mutex_lock(&tbl_lock);
    int bad = insert_locked(&b);
    pthread_mutex_unlock(&tbl_lock);
    if (bad) {
        free(b.raw);
        return NULL;
    }
    return b.p;
}

/* Ends a block taken out of the table: a converted one gets private pages back at its
 * range and its storage block released, then libc gets the memory. */
static void block_end(struct block *b)
{
    if (b->cv) {
        struct conv *cv = b->cv;
        if (cv->spare && mremap(cv->spare, b->len, b->len, MREMAP_MAYMOVE | MREMAP_FIXED, b->p) == MAP_FAILED) {
            munmap(cv->spare, b->len);
            cv->spare = NULL;
        }
        if (!cv->spare &&
            mmap(b->p, b->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
            b->raw = NULL; /* still the storage's pages: never libc's (kept until exit) */
        if (cv->client == td_ext_client && cv->epoch == td_ext_epoch)
            td_block_free(cv->client, &cv->t);
        __atomic_fetch_add(&n_released, 1, __ATOMIC_RELAXED);
        free(cv);
    }
    free(b->raw);
}

static void *h_malloc(void *ctx, size_t size)
{
    void *p = big_alloc(size, 0);
    return p ? p : prev->allocator.malloc(prev->allocator.ctx, size);
}

static void *h_calloc(void *ctx, size_t n, size_t elsize)
{
    if (elsize && n > SIZE_MAX / elsize)
        return NULL;
    void *p = big_alloc(n * elsize, 1);
    return p ? p : prev->allocator.calloc(prev->allocator.ctx, n, elsize);
}

/* Takes p's entry out of the table into *out; 0 when p is not ours. */
static int take(void *p, struct block *out)
{
    pthread_mutex_lock(&tbl_lock);
    struct block *f = find_locked(p);
    if (f) {
        *out = *f;
        if (f->cv) {
            n_conv--;
            conv_bytes -= f->len;
            if (f->cv->spare)
                spare_bytes -= f->len;
        }
        remove_locked(f);
    }
    pthread_mutex_unlock(&tbl_lock);
    return f != NULL;
}

static void h_free(void *ctx, void *p, size_t size)
{
    struct block b;
    if (!p)
        return;
    if (take(p, &b))
        block_end(&b);
    else
        prev->allocator.free(prev->allocator.ctx, p, size);
}

static void *h_realloc(void *ctx, void *p, size_t size)
{
    pthread_mutex_lock(&tbl_lock);
    struct block *f = p ? find_locked(p) : NULL;
    size_t old = f ? f->len : 0;
    pthread_mutex_unlock(&tbl_lock);
    if (!f)
        return prev->allocator.realloc(prev->allocator.ctx, p, size);
    if (size <= old && size > old / 2)
        return p; /* its pages have room (converted or not); a block half empty moves */
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

static void atfork_prepare(void)
{
    pthread_mutex_lock(&tbl_lock);
}
static void atfork_parent(void)
{
    pthread_mutex_unlock(&tbl_lock);
}
/* A converted array's pages are the parent's storage: the child gets its own copy, as
 * fork's copy-on-write gives every other array (docs/design/shared_memory.md says why
 * not shared), and may convert it again into its own session. */
static void atfork_child(void)
{
    unconvert_locked(NULL, 1);
    pthread_mutex_unlock(&tbl_lock);
}

/* numpy_arena_install(min_bytes): from now on numpy allocations of at least min_bytes in
 * this thread's context (and new contexts copied from it) are ours. */
static PyObject *m_install(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "n", &n))
        return NULL;
    long pg = sysconf(_SC_PAGESIZE);
    pthread_mutex_lock(&tbl_lock);
    min_bytes = n < 1 ? 1 : (size_t)n;
    if (pg > 0 && !tbl_n)
        page = (size_t)pg;
    pthread_mutex_unlock(&tbl_lock);
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
 * storages): its converted arrays keep their bytes in private pages. */
void td_ext_numpy_arena_orphan(td_client_t *c)
{
    pthread_mutex_lock(&tbl_lock);
    unconvert_locked(c, 0);
    pthread_mutex_unlock(&tbl_lock);
}

/* numpy_arena_stats() -> (blocks, bytes) of converted arrays: held from the daemon. */
static PyObject *m_stats(PyObject *self, PyObject *noargs)
{
    pthread_mutex_lock(&tbl_lock);
    size_t n = n_conv, bytes = conv_bytes;
    pthread_mutex_unlock(&tbl_lock);
    return Py_BuildValue("nn", (Py_ssize_t)n, (Py_ssize_t)bytes);
}

/* numpy_arena_counts() -> dict: arrays/bytes ours now, converted/converted_bytes now,
 * and since install: conversions, reuses (from_numpy of a converted array), released
 * (converted arrays freed), fallbacks (conversions that could not be made: a copy). */
static PyObject *m_counts(PyObject *self, PyObject *noargs)
{
    pthread_mutex_lock(&tbl_lock);
    size_t v[8] = {tbl_n,
                   tbl_bytes,
                   n_conv,
                   conv_bytes,
                   n_conversions,
                   n_reuses,
                   __atomic_load_n(&n_released, __ATOMIC_RELAXED),
                   n_fallbacks};
    pthread_mutex_unlock(&tbl_lock);
    return Py_BuildValue("{snsnsnsnsnsnsnsn}", "arrays", (Py_ssize_t)v[0], "bytes", (Py_ssize_t)v[1], "converted",
                         (Py_ssize_t)v[2], "converted_bytes", (Py_ssize_t)v[3], "conversions", (Py_ssize_t)v[4],
                         "reuses", (Py_ssize_t)v[5], "released", (Py_ssize_t)v[6], "fallbacks", (Py_ssize_t)v[7]);
}

static void nap(void)
{
    struct timespec ts = {0, 100 * 1000};
    nanosleep(&ts, NULL);
}

/* A storage block for a conversion of len bytes: td_block_new never waits for the
 * client's lock, so a lock another thread holds for a moment is tried again for up to
 * ~5 ms (the caller holds no lock; its own thread holding the client's lock, as in an
 * autograd hook, just costs that wait and a copy). */
static enum td_code new_block(td_client_t *c, size_t nbytes, struct td_t *t, void **base)
{
    enum td_code code;
    for (int i = 0;; i++) {
        struct td_status st = TD_STATUS_INIT;
        code = td_block_new(c, nbytes, t, base, &st);
        if (code != TD_CODE_UNAVAILABLE || td_client_lost(c) || i == 50)
            return code;
        nap();
    }
}

/* Converts the table entry at p (marked converting by the caller, its extent len) for
 * client c: 0 and *out, or -1 (the entry stays private, unmarked).  Called with the GIL,
 * which it drops for the round trip only, so that Python code of other threads cannot
 * write the array between the copy and the remap. */
static int convert(void *p, size_t len, td_client_t *c, unsigned epoch, struct conv *out)
{
    struct conv *cv = malloc(sizeof *cv);
    void *base = NULL;
    enum td_code code = TD_CODE_RESOURCE_EXHAUSTED;
    if (cv) {
        *cv = (struct conv){.client = c, .epoch = epoch, .nbytes = len + page};
        Py_BEGIN_ALLOW_THREADS code = new_block(c, cv->nbytes, &cv->t, &base);
        Py_END_ALLOW_THREADS
            /* busy and out of memory are momentary; anything else says blocks cannot be made
             * for this client: no more round trips for it */
            if (code && code != TD_CODE_UNAVAILABLE && code != TD_CODE_RESOURCE_EXHAUSTED) usable = 0;
    }
    int ok = !code;
    if (ok && !td_block_export(c, &cv->t)) /* ops on it sync from now on, as on any storage numpy sees */
        ok = 0;
    uint8_t *src = NULL;
    if (ok) {
        src = (uint8_t *)(((uintptr_t)base + page - 1) & ~(uintptr_t)(page - 1));
        cv->delta = (size_t)(src - (uint8_t *)base);
        memcpy(src, p, len);
    }
    pthread_mutex_lock(&tbl_lock);
    struct block *f = find_locked(p);
    if (ok && (!f || !f->converting || td_ext_client != c || td_ext_epoch != epoch))
        ok = 0; /* the client changed meanwhile: its storage is not ours to map */
    if (ok && len <= SPARE_ONE_MAX && spare_bytes + len <= SPARE_MAX) {
        /* p's pages aside (p stays mapped, empty, until the next call fills it) */
        cv->spare = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL); /* NULL: read by newer kernels */
        if (cv->spare == MAP_FAILED)
            cv->spare = NULL;
    }
    /* MREMAP_FIXED unmaps what is at p only once it can map: on failure p is as it was */
    if (ok && mremap(src, 0, len, MREMAP_MAYMOVE | MREMAP_FIXED, p) == MAP_FAILED) {
        ok = 0;
        if (cv->spare && mremap(cv->spare, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, p) == MAP_FAILED) {
            memcpy(p, src, len); /* p's bytes are in the block too */
            munmap(cv->spare, len);
        }
        cv->spare = NULL;
    }
    if (ok && cv->spare) {
        madvise(cv->spare, len, MADV_FREE); /* the kernel may take them meanwhile: their bytes are stale */
        spare_bytes += len;
    }
    if (ok) {
        *out = *cv;
        f->cv = cv;
        n_conv++;
        conv_bytes += len;
        n_conversions++;
    } else {
        n_fallbacks++;
    }
    if (f)
        f->converting = 0;
    pthread_mutex_unlock(&tbl_lock);
    if (!ok) {
        if (!code)
            td_block_free(c, &cv->t); /* unexports too */
        free(cv);
    }
    return ok ? 0 : -1;
}

/* One-shot tokens reserved ahead for arena_view (td_share_reserve: one round trip per
 * TOKENS), so that opening a view of a block costs no round trip of its own. */
#define TOKENS 16
static struct td_token_bytes tokens[TOKENS];
static int n_tokens;
static unsigned tokens_epoch;

static enum td_code take_token(td_client_t *c, unsigned epoch, struct td_token_bytes *out, struct td_status *st)
{
    pthread_mutex_lock(&tbl_lock);
    if (tokens_epoch != epoch) /* another session's (or the parent's): they die with it */
        n_tokens = 0, tokens_epoch = epoch;
    int got = n_tokens > 0;
    if (got)
        *out = tokens[--n_tokens];
    pthread_mutex_unlock(&tbl_lock);
    if (got)
        return TD_CODE_OK;
    struct td_token_bytes fresh[TOKENS];
    enum td_code code;
    Py_BEGIN_ALLOW_THREADS code =
        td_share_reserve(c, TOKENS, 1 /* one-shot, not pinned: unused ones die with the session */, fresh, st);
    Py_END_ALLOW_THREADS if (code) return code;
    *out = fresh[TOKENS - 1];
    pthread_mutex_lock(&tbl_lock);
    for (int i = 0; i < TOKENS - 1 && tokens_epoch == epoch && n_tokens < TOKENS; i++)
        tokens[n_tokens++] = fresh[i];
    pthread_mutex_unlock(&tbl_lock);
    return TD_CODE_OK;
}

/* arena_view(address, dtype, itemsize, offset, sizes, strides) -> a tensor over the
 * array whose data starts at address (offset, sizes, strides in elements of dtype),
 * converting it at its first use; None when it cannot alias (the caller copies). */
static PyObject *m_arena_view(PyObject *self, PyObject *args)
{
    PyObject *addr_o, *sz, *sd;
    int dt;
    Py_ssize_t item;
    long long off;
    if (!PyArg_ParseTuple(args, "OinLO!O!", &addr_o, &dt, &item, &off, &PyTuple_Type, &sz, &PyTuple_Type, &sd))
        return NULL;
    void *p = PyLong_AsVoidPtr(addr_o);
    if (!p && PyErr_Occurred())
        return NULL;
    Py_ssize_t nd = PyTuple_GET_SIZE(sz);
    td_client_t *c = usable_client();
    if (nd > TD_MAX_DIMS || PyTuple_GET_SIZE(sd) != nd || item < 1 || !c)
        Py_RETURN_NONE;
    unsigned epoch = td_ext_epoch;
    struct conv cv;
    size_t len = 0;
    int have = 0;
    for (;;) {
        pthread_mutex_lock(&tbl_lock);
        struct block *f = find_locked(p);
        int wait = f && f->converting;
        if (f && !wait) {
            if (f->cv && f->cv->client == c && f->cv->epoch == epoch) {
                cv = *f->cv;
                have = 1;
                n_reuses++;
            } else if (!f->cv && n_conv < CONVERTED_MAX) {
                f->converting = 1;
                len = f->len;
            } else {
                n_fallbacks += !f->cv;
                f = NULL; /* at the cap; or another client's, still shared: cannot happen once orphaned */
            }
        }
        pthread_mutex_unlock(&tbl_lock);
        if (!f)
            Py_RETURN_NONE;
        if (!wait)
            break;
        Py_BEGIN_ALLOW_THREADS /* another thread's conversion of it, in its round trip */
        nap();
        Py_END_ALLOW_THREADS
    }
    if (!have && convert(p, len, c, epoch, &cv))
        Py_RETURN_NONE;
    if (cv.delta % (size_t)item)
        Py_RETURN_NONE; /* cannot be: storages are 64-byte aligned */
    struct td_meta m;
    memset(&m, 0, sizeof m);
    m.dtype = (uint8_t)dt;
    m.ndim = (uint8_t)nd;
    m.offset = off + (long long)(cv.delta / (size_t)item);
    m.storage_nbytes = (int64_t)cv.nbytes;
    for (Py_ssize_t i = 0; i < nd; i++) {
        m.sizes[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(sz, i));
        m.strides[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(sd, i));
    }
    if (PyErr_Occurred())
        return NULL;
    struct td_token_bytes tok;
    struct td_t out;
    struct td_status st = TD_STATUS_INIT;
    const struct td_t *tp = &cv.t;
    enum td_code code = take_token(c, epoch, &tok, &st);
    if (!code) {
        /* the fill runs before the OPEN (one session, in order): no waiting here */
        Py_BEGIN_ALLOW_THREADS code = td_share_into(c, 1, &tp, &tok, &st);
        if (!code)
            code = td_open(c, &tok, 0, &m, &out, &st);
        Py_END_ALLOW_THREADS
    }
    if (code)
        return td_ext_raise(&st);
    /* the block's storage: ops on the view sync (it is exported) */
    out.storage_id = cv.t.storage_id;
    return td_ext_wrap(&out);
}

PyMethodDef td_ext_numpy_arena_methods[] = {
    {"numpy_arena_install", m_install, METH_VARARGS,
     "numpy_arena_install(min_bytes): numpy allocations of at least min_bytes are page-aligned private memory "
     "that from_numpy can convert into tensord storage"},
    {"numpy_arena_counts", m_counts, METH_NOARGS,
     "numpy_arena_counts() -> dict: arrays, bytes, converted, converted_bytes, conversions, reuses, released, "
     "fallbacks"},
    {"numpy_arena_stats", m_stats, METH_NOARGS,
     "numpy_arena_stats() -> (blocks, bytes) of converted arrays, held from the daemon"},
    {"arena_view", m_arena_view, METH_VARARGS,
     "arena_view(address, dtype, itemsize, offset, sizes, strides) -> tensor over a numpy array's memory, or None"},
    {NULL, NULL, 0, NULL},
};
