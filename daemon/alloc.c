/*
 * alloc.c — the CPU caching allocator over memfd arenas; see alloc.h and docs/design/memory.md.
 *
 * Shape of it:
 *   pool (one per uid) ──> free blocks in size bins, one bin array per kind of arena
 *   arena (one memfd, mapped once) ──> blocks in address order, live or free
 *   storage ──> its block, and the account that pays for it
 * Kinds: SMALL arenas (4 MiB) carve requests up to 1 MiB, LARGE arenas (64 MiB) requests
 * up to 32 MiB, and a bigger request gets an OWN arena of its rounded size.  Small and
 * large requests never share an arena, so long-lived small tensors cannot pin down the
 * middle of a large segment (the fragmentation PyTorch's two pools avoid too).  A free
 * block is found by best fit (smallest that fits, then lowest address), the rest of it
 * split off as a free block, and a freed block merges with free neighbours at once, so
 * an arena never holds two adjacent free blocks.  OWN arenas are never split; a cached
 * one serves a request within 1/8 of its size.
 *
 * Why cache at all: a fresh multi-megabyte block costs a page fault and a page clear per
 * page at first touch, more than the kernel that fills it (a 16M-element add spent most
 * of its time there); training loops allocate the same shapes every step.  Free blocks
 * keep their pages until they have been idle for the idle time (default 10 s), then the
 * housekeeping thread punches their whole pages out of the memfd (fallocate PUNCH_HOLE:
 * the arena keeps its size, so a client's mapping never SIGBUSes, the pages read zeros)
 * and closes arenas that are wholly free.  Under the daemon's limit every free block is
 * released before a request is refused.
 *
 * Everything the allocator knows lives in this file's heap structs, never in arena memory:
 * a client of the arena's uid can write any byte of it.
 *
 * What a block may hold when handed out: bytes a freed storage of the same uid pool left
 * (pages never touched, or punched, read zeros).  Not cleared here: a memset per
 * allocation would cost as much as the kernel writing the output (docs/performance.md).
 * Every producer writes its whole output before a client can read it, except EMPTY, which
 * zeroes its block (kernels/cpu/create.c) unless it is a uint8 block for a numpy conversion
 * (TD_RF_UNINIT: the client copies the array over it).  Across uids nothing is ever shared: an arena
 * belongs to one pool for life and its pages go back to the kernel when it closes.  Clients
 * of one uid can map and read all of that uid's arenas anyway, so clearing between their
 * sessions would protect nothing.
 *
 * ASan builds keep the cache and poison free blocks, so a use after free is still reported.
 */
#include "alloc.h"
#include "device.h"
#include "../kernels/kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mempressure.h"

#if defined(__SANITIZE_ADDRESS__)
#define TD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TD_ASAN 1
#endif
#endif
#ifdef TD_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)
#define SMALL_MAX MIB          /* requests up to this come from SMALL arenas */
#define SMALL_ARENA (4 * MIB)
#define LARGE_MAX (32 * MIB)   /* up to this from LARGE arenas; beyond: an OWN arena */
#define LARGE_ARENA (64 * MIB)
#define HUGE_ALIGN (2 * MIB)   /* blocks from 2 MiB on: aligned for transparent huge pages */
#define PAGE ((uint64_t)4096)
#define NBINS 208

enum kind { SMALL, LARGE, OWN, NKINDS };

struct td__block {
    struct arena *arena;
    uint64_t off, size;
    struct td__block *prev, *next;   /* address order in the arena */
    struct td__block *fprev, *fnext; /* its bin, while free */
    uint64_t free_since;             /* ns, while free */
    bool free;
};

struct arena {
    uint32_t id;
    int fd;
    enum kind kind;
    char *base;
    uint64_t size;
    struct pool *pool;
    struct td__block *first;
    uint64_t *touched;         /* a bit per page that may hold memory (handed out, not punched since) */
    struct arena *prev, *next; /* all arenas */
};

struct pool {
    uint32_t uid;
    struct td__block *bins[NKINDS][NBINS];
    struct pool *next;
};

struct td_alloc_account {
    uint64_t session, limit, in_use, peak;
    uint32_t uid;
    int holds;      /* the creator's and one per live storage */
    bool allocated; /* the pool can no longer change */
    struct td_alloc_account *prev, *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pool *pools;
static struct arena *arenas;
static uint32_t next_arena_id = 1;
static struct td_alloc_account daemon_acct = {.uid = TD_ALLOC_UID_NONE, .holds = 1};
static struct td_alloc_account *accounts; /* live session accounts */
static _Thread_local struct td_alloc_account *bound;

/*
 * Small storages of the bound account, dropped on this thread and not yet given back: the
 * next request of the same rounded size takes one without the lock (a small op's output
 * is freed and re-made every step: the lock, best fit, splitting and merging were a
 * fifth of its daemon time).  A parked storage stays live in every count (its account's
 * in_use and hold, in_use, storages), as if still held, so quotas, limits and peaks stay
 * exact; the allocations it served are added to the counters when it is given back.
 * Given back when the thread binds another account or none (td_session_exec does at the
 * end of every batch), when it frees its account, and before anything on this thread
 * takes the lock (a request the park cannot serve, stats, idle release, empty_cache): so
 * outside a batch nothing is parked, and only a reader on another thread, mid-batch,
 * sees a parked block as in use.  A storage is parked only by the thread bound to its
 * own account, so a block never changes session this way.
 */
#define PARK_MAX 8
#define PARK_MAX_BYTES (64 * KIB)
static _Thread_local struct {
    int n;
    uint64_t allocs; /* served from here, not yet counted */
    struct td_storage *s[PARK_MAX];
} parked;
static void unpark(void);
static void unpark_locked(void);

/* Counters, under lock.  Reserved bytes are backed_pages * PAGE. */
static struct {
    uint64_t in_use, peak, arena_bytes, backed_pages, reserved_peak, free_bytes;
    uint64_t n_arenas, storages, allocs, hits, releases, ooms, pressure_releases;
} c;
static uint64_t limit_bytes, session_limit, idle_ns = 10ull * 1000000000ull;
static double pressure_fraction = 0.05; /* cached memory goes back at once below this room */
static atomic_int_fast64_t fail_countdown = -1;

/* ---- sizes */

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

static enum kind kind_of(uint64_t n) { return n <= SMALL_MAX ? SMALL : n <= LARGE_MAX ? LARGE : OWN; }

/* Rounded block size: 64 B steps to 4 KiB, 512 B to 1 MiB, 64 KiB to 32 MiB, then 2 MiB:
 * under 12.5% waste from 512 B on, and near-equal shapes share blocks. */
static uint64_t round_size(uint64_t n)
{
    if (n <= 4 * KIB)
        return n ? align_up(n, 64) : 64;
    if (n <= SMALL_MAX)
        return align_up(n, 512);
    if (n <= LARGE_MAX)
        return align_up(n, 64 * KIB);
    return align_up(n, HUGE_ALIGN);
}

static uint64_t align_of(uint64_t size) { return size >= HUGE_ALIGN ? HUGE_ALIGN : 64; }

/* Bins: 64 B steps below 4 KiB, then four per power of two; a higher bin holds only
 * larger blocks than any lower one. */
static int bin_of(uint64_t size)
{
    if (size < 4 * KIB)
        return (int)(size / 64);
    int lg = 63 - __builtin_clzll(size);
    int b = 64 + (lg - 12) * 4 + (int)((size >> (lg - 2)) & 3);
    return b < NBINS ? b : NBINS - 1;
}

/* Bytes of whole pages inside a block: what punching it gives back. */
static uint64_t interior(const struct td__block *b)
{
    uint64_t lo = align_up(b->off, PAGE), hi = (b->off + b->size) & ~(PAGE - 1);
    return hi > lo ? hi - lo : 0;
}

uint64_t td_alloc_now_ns(void)
{
    /* Every free stamps its block: the coarse clock (a tick of a few ms against idle times of
     * seconds) is a plain memory read, the fine one a tenth of a small op's daemon time. */
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* ---- page bitmaps: which pages of an arena may hold memory */

/* Sets or clears bits [lo, hi); returns how many changed. */
static uint64_t bits_update(uint64_t *map, uint64_t lo, uint64_t hi, bool set)
{
    uint64_t changed = 0;
    while (lo < hi) {
        uint64_t bit = lo % 64, n = hi - lo < 64 - bit ? hi - lo : 64 - bit;
        uint64_t mask = (n == 64 ? ~0ull : (1ull << n) - 1) << bit, old = map[lo / 64];
        map[lo / 64] = set ? old | mask : old & ~mask;
        changed += (uint64_t)__builtin_popcountll(old ^ map[lo / 64]);
        lo += n;
    }
    return changed;
}

static bool bits_any(const uint64_t *map, uint64_t lo, uint64_t hi)
{
    while (lo < hi) {
        uint64_t bit = lo % 64, n = hi - lo < 64 - bit ? hi - lo : 64 - bit;
        if (map[lo / 64] & ((n == 64 ? ~0ull : (1ull << n) - 1) << bit))
            return true;
        lo += n;
    }
    return false;
}

/* ---- free bins */

static void bin_insert(struct td__block *b)
{
    struct td__block **head = &b->arena->pool->bins[b->arena->kind][bin_of(b->size)];
    b->fprev = NULL;
    b->fnext = *head;
    if (*head)
        (*head)->fprev = b;
    *head = b;
    c.free_bytes += b->size;
}

static void bin_remove(struct td__block *b)
{
    if (b->fprev)
        b->fprev->fnext = b->fnext;
    else
        b->arena->pool->bins[b->arena->kind][bin_of(b->size)] = b->fnext;
    if (b->fnext)
        b->fnext->fprev = b->fprev;
    c.free_bytes -= b->size;
}

/* Best fit in one pool and kind: the smallest free block that holds size at the block's
 * alignment, lowest address among equals.  OWN blocks also must not exceed size by 1/8. */
static struct td__block *best_fit(struct pool *p, enum kind k, uint64_t size)
{
    uint64_t align = align_of(size);
    struct td__block *best = NULL;
    for (int i = bin_of(size); i < NBINS && !best; i++)
        for (struct td__block *b = p->bins[k][i]; b; b = b->fnext) {
            if (align_up(b->off, align) + size > b->off + b->size)
                continue;
            if (k == OWN && b->size - size > size / 8)
                continue;
            if (!best || b->size < best->size ||
                (b->size == best->size && (b->arena->id < best->arena->id ||
                                           (b->arena == best->arena && b->off < best->off))))
                best = b;
        }
    return best;
}

/* A free block [off, off+size) cut from b's range, linked before or after b. */
static void split_off(struct td__block *b, struct td__block *n, uint64_t off, uint64_t size, bool before)
{
    *n = (struct td__block){.arena = b->arena, .off = off, .size = size, .free = true,
                            .free_since = b->free_since};
    if (before) {
        n->prev = b->prev;
        n->next = b;
        if (b->prev)
            b->prev->next = n;
        else
            b->arena->first = n;
        b->prev = n;
    } else {
        n->next = b->next;
        n->prev = b;
        if (b->next)
            b->next->prev = n;
        b->next = n;
    }
    bin_insert(n);
}

/* Takes size bytes out of free block b: the aligned start, remainders split off as free
 * blocks (spare[0..1] are their records; unused ones are freed). */
static void carve(struct td__block *b, uint64_t size, struct td__block *spare[2])
{
    bin_remove(b);
    uint64_t start = align_up(b->off, align_of(size)), end = b->off + b->size;
    if (b->arena->kind != OWN && start > b->off) {
        split_off(b, spare[0], b->off, start - b->off, true);
        spare[0] = NULL;
    }
    if (b->arena->kind != OWN && start + size < end) {
        split_off(b, spare[1], start + size, end - start - size, false);
        spare[1] = NULL;
    }
    b->off = start;
    b->size = b->arena->kind == OWN ? end - start : size;
    b->free = false;
    /* the block's pages hold memory from its first touch on (an upper bound until then) */
    c.backed_pages += bits_update(b->arena->touched, b->off / PAGE, align_up(b->off + b->size, PAGE) / PAGE, true);
    free(spare[0]);
    free(spare[1]);
}

/* ---- arenas */

static struct pool *pool_get(uint32_t uid)
{
    for (struct pool *p = pools; p; p = p->next)
        if (p->uid == uid)
            return p;
    struct pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->uid = uid;
    p->next = pools;
    pools = p;
    return p;
}

/* Maps fd at an address aligned for huge pages: reserve more address space than needed,
 * map the memfd over its aligned part, give the rest back. */
static char *map_aligned(int fd, uint64_t size)
{
    size_t span = (size_t)(size + HUGE_ALIGN);
    char *r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED)
        return NULL;
    char *p = (char *)align_up((uint64_t)(uintptr_t)r, HUGE_ALIGN);
    if (mmap(p, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
        munmap(r, span);
        return NULL;
    }
    if (p > r)
        munmap(r, (size_t)(p - r));
    if (r + span > p + size)
        munmap(p + size, (size_t)(r + span - (p + size)));
    return p;
}

/*
 * A new arena of `size` bytes for pool p, its whole range one free block.  Never-touched
 * pages hold no memory: its page bitmap starts clear (reserved bytes count touched pages).
 * Sealed: it can never shrink (a client's mapping would SIGBUS), nor grow (its size is
 * what td_alloc_arena_fd says), nor be sealed further by a client.
 */
static struct arena *arena_new(struct pool *p, enum kind k, uint64_t size)
{
    struct arena *a = calloc(1, sizeof *a);
    struct td__block *b = calloc(1, sizeof *b);
    uint64_t *touched = calloc((size_t)(size / PAGE + 63) / 64, sizeof *touched);
    int fd = memfd_create("tensord-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (!a || !b || !touched || fd < 0)
        goto out_fail;
    if (ftruncate(fd, (off_t)size) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        goto out_fail;
    a->base = map_aligned(fd, size);
    if (!a->base)
        goto out_fail;
#ifdef MADV_HUGEPAGE
    /* advice only (shmem needs shmem_enabled=advise); docs/design/memory.md */
    if (k != SMALL)
        madvise(a->base, (size_t)size, MADV_HUGEPAGE);
#endif
    a->id = next_arena_id++;
    a->fd = fd;
    a->kind = k;
    a->size = size;
    a->pool = p;
    a->first = b;
    a->touched = touched;
    a->next = arenas;
    if (arenas)
        arenas->prev = a;
    arenas = a;
    c.n_arenas++;
    c.arena_bytes += size;
    *b = (struct td__block){.arena = a, .off = 0, .size = size, .free = true};
    POISON(a->base, size);
    bin_insert(b);
    return a;

out_fail:
    if (fd >= 0)
        close(fd);
    free(touched);
    free(b);
    free(a);
    return NULL;
}

/* Closes a wholly free arena: its pages go back even where clients still map it. */
static void arena_close(struct arena *a)
{
    struct td__block *b = a->first;
    bin_remove(b);
    fallocate(a->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)a->size);
    UNPOISON(a->base, a->size); /* the next mapping here must start clean */
    munmap(a->base, (size_t)a->size);
    close(a->fd);
    if (a->prev)
        a->prev->next = a->next;
    else
        arenas = a->next;
    if (a->next)
        a->next->prev = a->prev;
    c.n_arenas--;
    c.arena_bytes -= a->size;
    c.backed_pages -= bits_update(a->touched, 0, a->size / PAGE, false);
    c.releases++;
    free(a->touched);
    free(b);
    free(a);
}

static void punch(struct td__block *b)
{
    uint64_t lo = align_up(b->off, PAGE), n = interior(b);
    fallocate(b->arena->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)lo, (off_t)n);
    c.backed_pages -= bits_update(b->arena->touched, lo / PAGE, (lo + n) / PAGE, false);
    c.releases++;
}

/* Whether a free block has whole pages that may hold memory. */
static bool punchable(const struct td__block *b)
{
    uint64_t lo = align_up(b->off, PAGE), n = interior(b);
    return n && bits_any(b->arena->touched, lo / PAGE, (lo + n) / PAGE);
}

/* Releases free blocks idle since before `before` (UINT64_MAX: all), closing arenas
 * left wholly free and released. */
static void release_locked(uint64_t before)
{
    for (struct arena *a = arenas, *next; a; a = next) {
        next = a->next;
        for (struct td__block *b = a->first; b; b = b->next)
            if (b->free && b->free_since <= before && punchable(b))
                punch(b);
        if (a->first->free && !a->first->next && !punchable(a->first))
            arena_close(a);
    }
}

void td_alloc_release_idle(uint64_t now_ns)
{
    pthread_mutex_lock(&lock);
    unpark_locked();
    if (now_ns >= idle_ns)
        release_locked(now_ns - idle_ns);
    pthread_mutex_unlock(&lock);
}

/* Under memory pressure (the machine's or the cgroup's room below pressure_fraction of its
 * total) every cached block goes back now, not after the idle time.  Logged when pressure
 * starts and ends, counted per release. */
void td_alloc_relieve_pressure(const char *proc_root, const char *cgroup_root)
{
    static bool was_under;
    pthread_mutex_lock(&lock);
    double f = pressure_fraction;
    bool cached = c.backed_pages * PAGE > c.in_use; /* nothing to give: no files to read */
    pthread_mutex_unlock(&lock);
    struct td_mem_room r;
    if (f <= 0 || !cached || !td_mem_room(proc_root, cgroup_root, &r))
        return;
    bool under = (double)r.avail < f * (double)r.total;
    if (under != was_under)
        td_log(under ? TD_LOG_WARN : TD_LOG_INFO, "memory pressure %s: %llu MiB of %llu MiB left (%s)%s",
               under ? "began" : "ended", (unsigned long long)(r.avail >> 20), (unsigned long long)(r.total >> 20),
               r.cgroup ? "cgroup limit" : "machine", under ? ": cached memory goes back at once" : "");
    was_under = under;
    if (!under)
        return;
    pthread_mutex_lock(&lock);
    unpark_locked();
    uint64_t before = c.backed_pages;
    release_locked(UINT64_MAX);
    if (c.backed_pages != before)
        c.pressure_releases++;
    pthread_mutex_unlock(&lock);
}

void td_alloc_set_pressure_fraction(double f)
{
    pthread_mutex_lock(&lock);
    pressure_fraction = f;
    pthread_mutex_unlock(&lock);
}

void td_alloc_empty_cache(void)
{
    pthread_mutex_lock(&lock);
    unpark_locked();
    release_locked(UINT64_MAX);
    pthread_mutex_unlock(&lock);
}

/* ---- limits */

static uint64_t physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    return pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : UINT64_MAX;
}

void td_alloc_set_limit(uint64_t bytes)
{
    bytes = bytes ? bytes : physical_memory();
    pthread_mutex_lock(&lock);
    limit_bytes = bytes;
    pthread_mutex_unlock(&lock);
    td_scratch_set_limit(bytes);
}

void td_alloc_set_session_limit(uint64_t bytes)
{
    pthread_mutex_lock(&lock);
    session_limit = bytes;
    pthread_mutex_unlock(&lock);
}

void td_alloc_set_idle_ns(uint64_t ns)
{
    pthread_mutex_lock(&lock);
    idle_ns = ns;
    pthread_mutex_unlock(&lock);
}
void td_alloc_fail_after(int64_t n) { atomic_store(&fail_countdown, n); }

static bool injected_failure(void)
{
    int64_t n = atomic_load(&fail_countdown);
    while (n >= 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1))
            return n == 0;
    }
    return false;
}

/* ---- accounts */

struct td_alloc_account *td_alloc_account_new(uint64_t session, uint32_t uid)
{
    struct td_alloc_account *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->session = session;
    a->uid = uid;
    a->holds = 1;
    pthread_mutex_lock(&lock);
    a->limit = session_limit;
    a->next = accounts;
    if (accounts)
        accounts->prev = a;
    accounts = a;
    pthread_mutex_unlock(&lock);
    return a;
}

/* Under lock: one hold fewer; the last one unlinks and frees it. */
static void account_drop(struct td_alloc_account *a)
{
    if (--a->holds > 0 || a == &daemon_acct)
        return;
    if (a->prev)
        a->prev->next = a->next;
    else
        accounts = a->next;
    if (a->next)
        a->next->prev = a->prev;
    free(a);
}

void td_alloc_account_free(struct td_alloc_account *a)
{
    if (!a)
        return;
    if (bound == a)
        bound = NULL;
    pthread_mutex_lock(&lock);
    unpark_locked();
    account_drop(a);
    pthread_mutex_unlock(&lock);
}

bool td_alloc_account_set_uid(struct td_alloc_account *a, uint32_t uid)
{
    pthread_mutex_lock(&lock);
    bool ok = !a->allocated;
    if (ok)
        a->uid = uid;
    pthread_mutex_unlock(&lock);
    return ok;
}

void td_alloc_account_set_limit(struct td_alloc_account *a, uint64_t bytes)
{
    pthread_mutex_lock(&lock);
    a->limit = bytes;
    pthread_mutex_unlock(&lock);
}

uint64_t td_alloc_account_in_use(const struct td_alloc_account *a)
{
    pthread_mutex_lock(&lock);
    unpark_locked();
    uint64_t n = a->in_use;
    pthread_mutex_unlock(&lock);
    return n;
}

void td_alloc_bind(struct td_alloc_account *a)
{
    if (a != bound)
        unpark();
    bound = a;
}

int td_alloc_arena_fd(uint32_t arena, uint32_t uid, uint64_t *size)
{
    int fd = -1;
    if (uid == TD_ALLOC_UID_NONE)
        return -1;
    pthread_mutex_lock(&lock);
    for (struct arena *a = arenas; a; a = a->next)
        if (a->id == arena) {
            if (a->pool->uid == uid) {
                fd = fcntl(a->fd, F_DUPFD_CLOEXEC, 0);
                if (size)
                    *size = a->size;
            }
            break;
        }
    pthread_mutex_unlock(&lock);
    return fd;
}

/* ---- storages */

static void human(char *buf, size_t n, uint64_t bytes)
{
    if (bytes >= (1ull << 30))
        snprintf(buf, n, "%.2f GiB", (double)bytes / (double)(1ull << 30));
    else
        snprintf(buf, n, "%.2f MiB", (double)bytes / (double)MIB);
}

/* Under lock: a free block of `size` for kind k in pool p, making an arena if needed;
 * under the daemon's limit or when the system refuses, free blocks are released first. */
static struct td__block *take_block(struct pool *p, enum kind k, uint64_t size)
{
    struct td__block *spare[2] = {malloc(sizeof **spare), malloc(sizeof **spare)};
    if (!spare[0] || !spare[1])
        goto out_fail;
    if (c.backed_pages * PAGE + size > limit_bytes)
        release_locked(UINT64_MAX); /* cached blocks give way to live ones */
    if (c.in_use + size > limit_bytes)
        goto out_fail;
    struct td__block *b = best_fit(p, k, size);
    if (b) {
        c.hits++;
    } else {
        uint64_t asize = k == SMALL ? SMALL_ARENA : k == LARGE ? LARGE_ARENA : size;
        struct arena *a = arena_new(p, k, asize);
        if (!a) {
            release_locked(UINT64_MAX);
            a = arena_new(p, k, asize);
        }
        if (!a)
            goto out_fail;
        b = best_fit(p, k, size);
    }
    carve(b, size, spare);
    return b;

out_fail:
    free(spare[0]);
    free(spare[1]);
    return NULL;
}

struct td_storage *td_storage_new(int64_t nbytes, struct td_status *st)
{
    struct td_alloc_account *acct = bound ? bound : &daemon_acct;
    uint64_t size = round_size(nbytes > 0 ? (uint64_t)nbytes : 0);
    if (parked.n && nbytes >= 0 && atomic_load_explicit(&fail_countdown, memory_order_relaxed) < 0)
        for (int i = parked.n - 1; i >= 0; i--)
            if (parked.s[i]->block->size == size) { /* already live and paid for: reuse it as is */
                struct td_storage *s = parked.s[i];
                parked.s[i] = parked.s[--parked.n];
                parked.allocs++;
                atomic_init(&s->refs, 1);
                s->nbytes = nbytes;
                UNPOISON(s->data, size);
                return s;
            }
    struct td_storage *s = malloc(sizeof *s);
    char quota[160] = "";
    pthread_mutex_lock(&lock);
    unpark_locked();
    if (!limit_bytes)
        limit_bytes = physical_memory();
    struct td__block *b = NULL;
    if (!s || nbytes < 0 || injected_failure()) {
        /* refused as the system would */
    } else if (acct->limit && acct->in_use + size > acct->limit) {
        char lim[32], held[32];
        human(lim, sizeof lim, acct->limit);
        human(held, sizeof held, acct->in_use);
        snprintf(quota, sizeof quota, " This session's memory quota is %s (--session-memory-limit), of which "
                 "%s is in use.", lim, held);
    } else {
        struct pool *p = pool_get(acct->uid);
        b = p ? take_block(p, kind_of(size), size) : NULL;
    }
    if (!b) {
        c.ooms++;
        pthread_mutex_unlock(&lock);
        free(s);
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED,
                      "DefaultCPUAllocator: can't allocate memory: you tried to allocate %lld bytes.%s",
                      (long long)nbytes, quota);
        return NULL;
    }
    acct->allocated = true;
    acct->in_use += b->size;
    acct->peak = acct->in_use > acct->peak ? acct->in_use : acct->peak;
    acct->holds++;
    c.in_use += b->size;
    c.peak = c.in_use > c.peak ? c.in_use : c.peak;
    uint64_t reserved = c.backed_pages * PAGE;
    c.reserved_peak = reserved > c.reserved_peak ? reserved : c.reserved_peak;
    c.storages++;
    c.allocs++;
    pthread_mutex_unlock(&lock);

    atomic_init(&s->refs, 1);
    s->nbytes = nbytes;
    s->device = 0;
    s->dblock = NULL;
    s->block = b;
    s->acct = acct;
    s->arena = b->arena->id;
    s->offset = b->off;
    s->data = b->arena->base + b->off;
    UNPOISON(s->data, align_up(size, 64));
    return s;
}

void td_storage_ref(struct td_storage *s) { atomic_fetch_add(&s->refs, 1); }

/* Under lock: storage s's block goes back to its pool and its account is credited (the
 * caller frees s). */
static void block_free_locked(struct td_storage *s)
{
    struct td__block *b = s->block;
    s->acct->in_use -= b->size;
    account_drop(s->acct);
    c.in_use -= b->size;
    c.storages--;
    b->free = true;
    b->free_since = td_alloc_now_ns();
    /* merge with free neighbours: no two free blocks are ever adjacent */
    struct td__block *n = b->next, *p = b->prev;
    if (p && p->free) {
        bin_remove(p);
        b->off = p->off;
        b->size += p->size;
        b->prev = p->prev;
        if (p->prev)
            p->prev->next = b;
        else
            b->arena->first = b;
        free(p);
    }
    if (n && n->free) {
        bin_remove(n);
        b->size += n->size;
        b->next = n->next;
        if (n->next)
            n->next->prev = b;
        free(n);
    }
    bin_insert(b);
}

/* Under lock: the parked storages of this thread go back (see struct parked). */
static void unpark_locked(void)
{
    for (int i = 0; i < parked.n; i++) {
        block_free_locked(parked.s[i]);
        free(parked.s[i]);
    }
    parked.n = 0;
    c.allocs += parked.allocs;
    c.hits += parked.allocs;
    parked.allocs = 0;
}

static void unpark(void)
{
    if (!parked.n && !parked.allocs)
        return;
    pthread_mutex_lock(&lock);
    unpark_locked();
    pthread_mutex_unlock(&lock);
}

void td_storage_unref(struct td_storage *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    if (s->device) {
        td_device_storage_free(s);
        return;
    }
    struct td__block *b = s->block;
    POISON(s->data, b->size);
    if (s->acct == bound && b->size <= PARK_MAX_BYTES && parked.n < PARK_MAX) {
        parked.s[parked.n++] = s;
        return;
    }
    pthread_mutex_lock(&lock);
    block_free_locked(s);
    pthread_mutex_unlock(&lock);
    free(s);
}

/* ---- statistics */

void td_alloc_stats(struct td_alloc_stats *o)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_lock(&lock);
    unpark_locked();
    o->in_use = c.in_use;
    o->peak = c.peak;
    o->reserved = c.backed_pages * PAGE;
    o->reserved_peak = c.reserved_peak;
    o->cached = o->reserved > c.in_use ? o->reserved - c.in_use : 0;
    o->free_bytes = c.free_bytes;
    o->arenas = c.n_arenas;
    o->arena_bytes = c.arena_bytes;
    o->storages = c.storages;
    o->allocs = c.allocs;
    o->cache_hits = c.hits;
    o->releases = c.releases;
    o->ooms = c.ooms;
    o->pressure_releases = c.pressure_releases;
    for (struct pool *p = pools; p; p = p->next)
        for (int k = 0; k < NKINDS; k++)
            for (int i = NBINS - 1; i >= 0; i--) {
                if (!p->bins[k][i])
                    continue;
                for (struct td__block *b = p->bins[k][i]; b; b = b->fnext)
                    o->largest_free = b->size > o->largest_free ? b->size : o->largest_free;
                break; /* lower bins hold only smaller blocks */
            }
    pthread_mutex_unlock(&lock);
    o->fragmentation = o->free_bytes ? 1.0 - (double)o->largest_free / (double)o->free_bytes : 0.0;
}

int td_alloc_usage(struct td_alloc_usage *out, int max)
{
    int n = 0;
    pthread_mutex_lock(&lock);
    unpark_locked();
    for (struct td_alloc_account *a = accounts; a && n < max; a = a->next)
        out[n++] = (struct td_alloc_usage){.session = a->session, .in_use = a->in_use, .peak = a->peak,
                                           .limit = a->limit, .uid = a->uid};
    pthread_mutex_unlock(&lock);
    return n;
}

void td_alloc_counters(uint64_t *in_use, uint64_t *peak, uint64_t *storages)
{
    pthread_mutex_lock(&lock);
    unpark_locked();
    *in_use = c.in_use;
    *peak = c.peak;
    *storages = c.storages;
    pthread_mutex_unlock(&lock);
}

uint64_t td_alloc_cached_bytes(void)
{
    struct td_alloc_stats s;
    td_alloc_stats(&s);
    return s.cached;
}

/* ---- housekeeping */

static pthread_t hk_thread;
static bool hk_running, hk_stop;
static pthread_mutex_t hk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hk_cond;

static void *housekeeping(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&hk_lock);
    while (!hk_stop) {
        pthread_mutex_lock(&lock);
        uint64_t period = idle_ns / 4;
        pthread_mutex_unlock(&lock);
        period = period > 1000000000ull ? 1000000000ull : period < 10000000ull ? 10000000ull : period;
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        uint64_t at = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec + period;
        t.tv_sec = (time_t)(at / 1000000000ull);
        t.tv_nsec = (long)(at % 1000000000ull);
        pthread_cond_timedwait(&hk_cond, &hk_lock, &t);
        if (!hk_stop) {
            pthread_mutex_unlock(&hk_lock);
            td_alloc_release_idle(td_alloc_now_ns());
            td_alloc_relieve_pressure("/proc", "/sys/fs/cgroup");
            pthread_mutex_lock(&hk_lock);
        }
    }
    pthread_mutex_unlock(&hk_lock);
    return NULL;
}

bool td_alloc_housekeeping_start(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&hk_cond, &ca);
    pthread_condattr_destroy(&ca);
    hk_stop = false;
    hk_running = pthread_create(&hk_thread, NULL, housekeeping, NULL) == 0;
    return hk_running;
}

void td_alloc_housekeeping_stop(void)
{
    if (!hk_running)
        return;
    pthread_mutex_lock(&hk_lock);
    hk_stop = true;
    pthread_cond_signal(&hk_cond);
    pthread_mutex_unlock(&hk_lock);
    pthread_join(hk_thread, NULL);
    pthread_cond_destroy(&hk_cond);
    hk_running = false;
}

/* ---- self-check (tests) */

static bool in_bin(const struct td__block *b)
{
    for (const struct td__block *f = b->arena->pool->bins[b->arena->kind][bin_of(b->size)]; f; f = f->fnext)
        if (f == b)
            return true;
    return false;
}

bool td__alloc_verify(char *why, size_t n)
{
    bool ok = false;
    uint64_t live = 0, freeb = 0, pages = 0, nfree = 0, nbinned = 0;
    pthread_mutex_lock(&lock);
    unpark_locked();
    for (struct arena *a = arenas; a; a = a->next) {
        uint64_t off = 0;
        for (struct td__block *b = a->first; b; b = b->next) {
            if (b->arena != a || b->off != off || !b->size || (b->next && b->next->prev != b)) {
                snprintf(why, n, "arena %u: block at %llu breaks the chain", a->id, (unsigned long long)b->off);
                goto out;
            }
            if (b->free && ((b->prev && b->prev->free) || !in_bin(b))) {
                snprintf(why, n, "arena %u: free block at %llu not merged or not binned", a->id,
                         (unsigned long long)b->off);
                goto out;
            }
            *(b->free ? &freeb : &live) += b->size;
            nfree += b->free;
            off += b->size;
        }
        if (off != a->size) {
            snprintf(why, n, "arena %u: blocks cover %llu of %llu bytes", a->id, (unsigned long long)off,
                     (unsigned long long)a->size);
            goto out;
        }
        for (uint64_t w = 0; w < (a->size / PAGE + 63) / 64; w++)
            pages += (uint64_t)__builtin_popcountll(a->touched[w]);
    }
    for (struct pool *p = pools; p; p = p->next)
        for (int k = 0; k < NKINDS; k++)
            for (int i = 0; i < NBINS; i++)
                for (struct td__block *b = p->bins[k][i]; b; b = b->fnext)
                    nbinned++;
    if (live != c.in_use || freeb != c.free_bytes || pages != c.backed_pages || nfree != nbinned) {
        snprintf(why, n, "counters: live %llu/%llu free %llu/%llu pages %llu/%llu binned %llu/%llu",
                 (unsigned long long)live, (unsigned long long)c.in_use, (unsigned long long)freeb,
                 (unsigned long long)c.free_bytes, (unsigned long long)pages, (unsigned long long)c.backed_pages,
                 (unsigned long long)nbinned, (unsigned long long)nfree);
        goto out;
    }
    ok = true;
out:
    pthread_mutex_unlock(&lock);
    return ok;
}
