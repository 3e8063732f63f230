/*
 * check_alloc.c — the CPU caching allocator (daemon/alloc.c) driven directly: synthetic
 * allocation traces checked block by block (blocks tile every arena, live blocks never
 * overlap, a pattern written into each live storage survives every other step, counters
 * match), the fragmentation figure and peaks after known traces, idle release and
 * empty_cache (reserved bytes fall, live data survives, a second mapping never SIGBUSes),
 * quotas and the daemon limit, td_alloc_arena_fd (uid checks, seals, a second mapping shows
 * the same bytes), ASan poisoning of cached blocks, failure injection, and memory
 * pressure (daemon/mempressure.c over a fake /proc and cgroup tree; cached memory going
 * back at once under it).
 * Each test runs in its own forked process, so each starts with an empty allocator.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../daemon/alloc.h"
#include "../daemon/mempressure.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#define MIB (1ull << 20)
#define SEC 1000000000ull

static void verify(void)
{
    char why[256] = "";
    ck_assert_msg(td__alloc_verify(why, sizeof why), "allocator invariant: %s", why);
}

static struct td_alloc_stats stats(void)
{
    struct td_alloc_stats s;
    td_alloc_stats(&s);
    return s;
}

static struct td_storage *must_new(int64_t n)
{
    struct td_status st = TD_STATUS_INIT;
    struct td_storage *s = td_storage_new(n, &st);
    ck_assert_msg(s != NULL, "allocating %lld: %s", (long long)n, st.msg);
    return s;
}

/* A per-storage byte pattern: a storage whose bytes change was overlapped by another. */
static uint8_t tag(const struct td_storage *s) { return (uint8_t)(((uintptr_t)s >> 4) * 131u + 7u); }

static void fill(struct td_storage *s) { memset(s->data, tag(s), (size_t)s->nbytes); }

/* (one assertion per storage: each passing ck_assert writes to Check's pipe) */
static void check_filled(const struct td_storage *s)
{
    int64_t bad = -1;
    for (int64_t i = 0; i < s->nbytes && bad < 0; i += 61)
        if ((uint8_t)s->data[i] != tag(s))
            bad = i;
    if (s->nbytes && bad < 0 && (uint8_t)s->data[s->nbytes - 1] != tag(s))
        bad = s->nbytes - 1;
    ck_assert_msg(bad < 0, "byte %lld of a live storage changed", (long long)bad);
}

/* xorshift: the traces are reproducible */
static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A size from a training-like mix: many small tensors, some large, a few huge. */
static int64_t trace_size(uint64_t *x)
{
    uint64_t r = rnd(x) % 100;
    if (r < 60)
        return (int64_t)(rnd(x) % 4096);
    if (r < 85)
        return (int64_t)(rnd(x) % (1 << 20));
    if (r < 98)
        return (int64_t)(MIB + rnd(x) % (24 * MIB));
    return (int64_t)(40 * MIB + rnd(x) % (40 * MIB));
}

#define LIVE_MAX 96

/* Random allocate/free steps; after every step the allocator's invariants hold, live
 * storages are aligned and disjoint, and every live storage still holds its pattern. */
START_TEST(test_trace_invariants)
{
    uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)_i;
    struct td_storage *live[LIVE_MAX] = {NULL};
    for (int step = 0; step < 1200; step++) {
        int k = (int)(rnd(&x) % LIVE_MAX);
        if (live[k]) {
            check_filled(live[k]);
            td_storage_unref(live[k]);
            live[k] = NULL;
        } else {
            live[k] = must_new(trace_size(&x));
            bool aligned = (uintptr_t)live[k]->data % 64 == 0 &&
                           (live[k]->nbytes < (int64_t)(2 * MIB) || (uintptr_t)live[k]->data % (2 * MIB) == 0);
            if (!aligned || !live[k]->arena)
                ck_abort_msg("storage of %lld bytes at %p in arena %u", (long long)live[k]->nbytes,
                             (void *)live[k]->data, live[k]->arena);
            fill(live[k]);
        }
        if (step % 25 == 0) {
            verify();
            int overlaps = 0;
            for (int i = 0; i < LIVE_MAX; i++)
                for (int j = 0; j < i && live[i]; j++)
                    if (live[j] && live[j]->arena == live[i]->arena) {
                        const struct td_storage *a = live[i], *b = live[j];
                        overlaps += !(a->offset + (uint64_t)a->nbytes <= b->offset ||
                                      b->offset + (uint64_t)b->nbytes <= a->offset);
                    }
            ck_assert_msg(overlaps == 0, "%d pairs of live storages overlap", overlaps);
        }
        if (step % 300 == 299) /* idle release in the middle of a trace keeps live data */
            td_alloc_release_idle(td_alloc_now_ns() + 3600 * SEC);
    }
    struct td_alloc_stats s = stats();
    ck_assert_uint_ge(s.reserved_peak, s.peak);
    ck_assert_uint_ge(s.reserved, s.in_use);
    for (int i = 0; i < LIVE_MAX; i++)
        if (live[i]) {
            check_filled(live[i]);
            td_storage_unref(live[i]);
        }
    verify();
    s = stats();
    ck_assert_uint_eq(s.in_use, 0);
    ck_assert_uint_eq(s.storages, 0);
    ck_assert_uint_eq(s.free_bytes, s.arena_bytes); /* every byte of every arena is free again */
    td_alloc_empty_cache();
    s = stats();
    ck_assert_uint_eq(s.arenas, 0);
    ck_assert_uint_eq(s.reserved, 0);
    verify();
}
END_TEST

/* Holes left between live blocks: the figure is 1 - largest free block / free bytes. */
START_TEST(test_fragmentation_figure)
{
    struct td_storage *s[8];
    for (int i = 0; i < 8; i++)
        s[i] = must_new(64 << 10); /* one 4 MiB small arena, carved in order */
    for (int i = 1; i < 8; i++)
        ck_assert_uint_eq(s[i]->offset, s[i - 1]->offset + (64 << 10));
    struct td_alloc_stats a = stats();
    ck_assert_uint_eq(a.arenas, 1);
    ck_assert_uint_eq(a.free_bytes, 4 * MIB - 8 * (64 << 10));
    ck_assert_double_eq_tol(a.fragmentation, 0.0, 1e-12); /* one free run */
    for (int i = 0; i < 8; i += 2)
        td_storage_unref(s[i]);
    a = stats();
    ck_assert_uint_eq(a.free_bytes, 4 * MIB - 4 * (64 << 10));
    ck_assert_uint_eq(a.largest_free, 4 * MIB - 8 * (64 << 10));
    ck_assert_double_eq_tol(a.fragmentation, 1.0 - 3584.0 / 3840.0, 1e-12);
    /* best fit: a request that fits a hole takes a hole, not the tail */
    struct td_storage *h = must_new(60 << 10);
    ck_assert_uint_lt(h->offset, 8 * (64 << 10));
    td_storage_unref(h);
    /* freeing the rest coalesces everything back into one block */
    for (int i = 1; i < 8; i += 2)
        td_storage_unref(s[i]);
    a = stats();
    ck_assert_uint_eq(a.largest_free, 4 * MIB);
    ck_assert_double_eq_tol(a.fragmentation, 0.0, 1e-12);
    verify();
}
END_TEST

/* Reserved memory follows touched pages: a reused block costs nothing new. */
START_TEST(test_peaks)
{
    struct td_storage *a = must_new(8 * MIB), *b = must_new(8 * MIB), *c = must_new(8 * MIB);
    struct td_alloc_stats s = stats();
    ck_assert_uint_eq(s.arenas, 1); /* one 64 MiB large arena */
    ck_assert_uint_eq(s.in_use, 24 * MIB);
    ck_assert_uint_eq(s.reserved, 24 * MIB);
    td_storage_unref(a);
    td_storage_unref(b);
    td_storage_unref(c);
    s = stats();
    ck_assert_uint_eq(s.in_use, 0);
    ck_assert_uint_eq(s.cached, 24 * MIB);
    struct td_storage *d = must_new(16 * MIB); /* from the cached range */
    s = stats();
    ck_assert_uint_eq(s.reserved, 24 * MIB);
    ck_assert_uint_eq(s.peak, 24 * MIB);
    ck_assert_uint_eq(s.reserved_peak, 24 * MIB);
    ck_assert_uint_ge(s.cache_hits, 1);
    td_storage_unref(d);
    verify();
}
END_TEST

/* A live 3 MiB storage (filled, returned) beside 106 MiB of freed ones, cached: 6 MiB in
 * the same large arena and 100 MiB in an arena of its own. */
static struct td_storage *cache_106_mib(void)
{
    struct td_storage *keep = must_new(3 * MIB), *drop = must_new(6 * MIB), *own = must_new(100 * MIB);
    fill(keep);
    fill(drop);
    memset(own->data, 1, (size_t)own->nbytes);
    td_storage_unref(drop);
    td_storage_unref(own);
    return keep;
}

/* Blocks idle past the idle time are punched out; wholly free arenas close; live blocks
 * beside them keep their bytes. */
START_TEST(test_idle_release)
{
    td_alloc_set_idle_ns(10 * SEC);
    struct td_storage *keep = cache_106_mib();
    struct td_alloc_stats s = stats();
    ck_assert_uint_eq(s.arenas, 2);
    ck_assert_uint_eq(s.cached, 106 * MIB);
    uint64_t now = td_alloc_now_ns();
    td_alloc_release_idle(now); /* nothing has been idle 10 s */
    ck_assert_uint_eq(stats().cached, 106 * MIB);
    td_alloc_release_idle(now + 11 * SEC);
    s = stats();
    ck_assert_uint_eq(s.arenas, 1); /* the OWN arena closed; keep's arena stays */
    ck_assert_uint_eq(s.reserved, 3 * MIB); /* only keep's pages */
    ck_assert_uint_le(s.cached, 1 * MIB);
    ck_assert_uint_ge(s.releases, 2);
    check_filled(keep);
    td_storage_unref(keep);
    td_alloc_release_idle(td_alloc_now_ns() + 11 * SEC);
    s = stats();
    ck_assert_uint_eq(s.arenas, 0);
    ck_assert_uint_eq(s.reserved, 0);
    verify();
}
END_TEST

/* ---- memory pressure: a fake /proc and /sys/fs/cgroup under a temporary directory */

static char fake_root[64];

static void put_file(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fake_root, rel);
    for (char *q = path + strlen(fake_root) + 1; (q = strchr(q, '/')); q++) {
        *q = 0;
        mkdir(path, 0700);
        *q = '/';
    }
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void fake_machine(unsigned long long total_kb, unsigned long long avail_kb)
{
    char buf[256];
    snprintf(buf, sizeof buf, "MemTotal:       %llu kB\nMemFree:          1000 kB\nMemAvailable:   %llu kB\n",
             total_kb, avail_kb);
    put_file("proc/meminfo", buf);
}

static struct td_mem_room room(void)
{
    char proc[128], cg[128];
    snprintf(proc, sizeof proc, "%s/proc", fake_root);
    snprintf(cg, sizeof cg, "%s/cg", fake_root);
    struct td_mem_room r = {0};
    ck_assert(td_mem_room(proc, cg, &r));
    return r;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(path);
}

static void fake_teardown(void) { nftw(fake_root, remove_one, 16, FTW_DEPTH | FTW_PHYS); }

static void fake_setup(void)
{
    strcpy(fake_root, "/tmp/td-mempressure-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fake_root));
}

START_TEST(test_mem_room_machine_and_cgroups)
{
    fake_setup();
    char proc[128], cg[128];
    snprintf(proc, sizeof proc, "%s/proc", fake_root);
    snprintf(cg, sizeof cg, "%s/cg", fake_root);
    struct td_mem_room r;
    ck_assert(!td_mem_room(proc, cg, &r)); /* nothing readable */
    fake_machine(1000000, 400000);
    put_file("proc/self/cgroup", "0::/\n"); /* the root cgroup: no limit */
    r = room();
    ck_assert(!r.cgroup);
    ck_assert_uint_eq(r.total, 1000000ull * 1024);
    ck_assert_uint_eq(r.avail, 400000ull * 1024);
    /* a limit with more room than the machine has: the machine stays the tighter */
    put_file("proc/self/cgroup", "0::/svc/tensord\n");
    put_file("cg/svc/tensord/memory.max", "1000000\n");
    put_file("cg/svc/tensord/memory.current", "100000\n");
    ck_assert(!room().cgroup);
    /* a tighter limit: 800 bytes used of 1000; inactive file pages count as room */
    put_file("cg/svc/tensord/memory.max", "1000\n");
    put_file("cg/svc/tensord/memory.current", "900\n");
    put_file("cg/svc/tensord/memory.stat", "anon 700\nfile 200\ninactive_anon 0\ninactive_file 100\n");
    r = room();
    ck_assert(r.cgroup);
    ck_assert_uint_eq(r.total, 1000);
    ck_assert_uint_eq(r.avail, 200);
    /* an ancestor's limit binds when it is tighter; "max" means none */
    put_file("cg/svc/memory.max", "10000\n");
    put_file("cg/svc/memory.current", "9990\n");
    r = room();
    ck_assert_uint_eq(r.total, 10000);
    ck_assert_uint_eq(r.avail, 10);
    put_file("cg/svc/memory.max", "max\n");
    ck_assert_uint_eq(room().avail, 200);
    /* used beyond the limit reads as no room, not a wrapped number */
    put_file("cg/svc/tensord/memory.current", "5000\n");
    put_file("cg/svc/tensord/memory.stat", "inactive_file 0\n");
    ck_assert_uint_eq(room().avail, 0);
    fake_teardown();
}
END_TEST

START_TEST(test_pressure_releases_cached_memory)
{
    fake_setup();
    char proc[128], cg[128];
    snprintf(proc, sizeof proc, "%s/proc", fake_root);
    snprintf(cg, sizeof cg, "%s/cg", fake_root);
    put_file("proc/self/cgroup", "0::/\n");
    td_alloc_set_idle_ns(3600 * SEC);
    struct td_storage *keep = cache_106_mib();
    ck_assert_uint_eq(stats().cached, 106 * MIB);
    fake_machine(1000000, 500000); /* half the memory left: no pressure */
    td_alloc_relieve_pressure(proc, cg);
    ck_assert_uint_eq(stats().cached, 106 * MIB);
    ck_assert_uint_eq(stats().pressure_releases, 0);
    fake_machine(1000000, 30000); /* 3% left, under the default 5% */
    td_alloc_relieve_pressure(proc, cg);
    struct td_alloc_stats s = stats();
    ck_assert_uint_le(s.cached, 1 * MIB);
    ck_assert_uint_eq(s.reserved, 3 * MIB);
    ck_assert_uint_eq(s.pressure_releases, 1);
    check_filled(keep);
    td_alloc_relieve_pressure(proc, cg); /* nothing more to give: not counted again */
    ck_assert_uint_eq(stats().pressure_releases, 1);
    td_alloc_set_pressure_fraction(0); /* off: the cache stays whatever the room */
    struct td_storage *again = must_new(6 * MIB);
    fill(again);
    td_storage_unref(again);
    uint64_t cached = stats().cached;
    td_alloc_relieve_pressure(proc, cg);
    ck_assert_uint_eq(stats().cached, cached);
    td_storage_unref(keep);
    verify();
    fake_teardown();
}
END_TEST

/* A session over its quota fails alone, with a message naming the quota; freeing credits
 * the account that paid, whichever account is bound at the time. */
START_TEST(test_quota)
{
    struct td_alloc_account *a = td_alloc_account_new(1, TD_ALLOC_UID_NONE);
    struct td_alloc_account *b = td_alloc_account_new(2, TD_ALLOC_UID_NONE);
    td_alloc_account_set_limit(a, MIB);
    td_alloc_bind(a);
    struct td_storage *x = must_new(512 << 10);
    struct td_status st = TD_STATUS_INIT;
    ck_assert_ptr_null(td_storage_new(600 << 10, &st));
    ck_assert_int_eq(st.code, TD_CODE_RESOURCE_EXHAUSTED);
    ck_assert_ptr_nonnull(strstr(st.msg, "can't allocate memory"));
    ck_assert_ptr_nonnull(strstr(st.msg, "quota"));
    ck_assert_uint_eq(td_alloc_account_in_use(a), 512 << 10);
    td_alloc_bind(b);
    struct td_storage *y = must_new(4 * MIB); /* b has no quota */
    ck_assert_uint_eq(td_alloc_account_in_use(b), 4 * MIB);
    td_storage_unref(x); /* dropped while b is bound: a is credited */
    ck_assert_uint_eq(td_alloc_account_in_use(a), 0);
    ck_assert_uint_eq(td_alloc_account_in_use(b), 4 * MIB);
    struct td_alloc_usage u[4];
    ck_assert_int_eq(td_alloc_usage(u, 4), 2);
    ck_assert_uint_eq(u[0].session, 2);
    ck_assert_uint_eq(u[0].in_use, 4 * MIB);
    ck_assert_uint_eq(u[1].limit, MIB);
    ck_assert_uint_eq(u[1].peak, 512 << 10);
    /* a storage outlives its session's account hold and still credits it */
    td_alloc_account_free(b);
    ck_assert_int_eq(td_alloc_usage(u, 4), 2);
    td_storage_unref(y);
    ck_assert_int_eq(td_alloc_usage(u, 4), 1);
    ck_assert_uint_ge(stats().ooms, 1);
    td_alloc_bind(NULL);
    td_alloc_account_free(a);
    ck_assert_int_eq(td_alloc_usage(u, 4), 0);
}
END_TEST

/* The daemon limit: cached blocks give way to a live request, then requests are refused. */
START_TEST(test_global_limit)
{
    td_alloc_set_limit(16 * MIB);
    struct td_storage *a = must_new(10 * MIB);
    td_storage_unref(a);
    struct td_storage *b = must_new(12 * MIB); /* needs the cached bytes back */
    ck_assert_uint_le(stats().reserved, 16 * MIB);
    struct td_status st = TD_STATUS_INIT;
    ck_assert_ptr_null(td_storage_new(8 * MIB, &st));
    ck_assert_int_eq(st.code, TD_CODE_RESOURCE_EXHAUSTED);
    ck_assert_ptr_nonnull(strstr(st.msg, "DefaultCPUAllocator: can't allocate memory"));
    td_storage_unref(b);
    verify();
}
END_TEST

/* Arena fds go only to the arena's own uid; a second mapping shares the bytes both ways,
 * and survives the arena's closing without SIGBUS (the pages read zeros then). */
START_TEST(test_arena_fd)
{
    struct td_alloc_account *a = td_alloc_account_new(1, TD_ALLOC_UID_NONE);
    ck_assert(td_alloc_account_set_uid(a, 1000));
    td_alloc_bind(a);
    struct td_storage *s = must_new(3 * MIB);
    ck_assert(!td_alloc_account_set_uid(a, 1001)); /* it has allocated: the pool is fixed */
    uint64_t size = 0;
    int fd = td_alloc_arena_fd(s->arena, 1000, &size);
    ck_assert_int_ge(fd, 0);
    ck_assert_uint_eq(size, 64 * MIB);
    ck_assert_int_eq(td_alloc_arena_fd(s->arena, 1001, NULL), -1);
    ck_assert_int_eq(td_alloc_arena_fd(s->arena, TD_ALLOC_UID_NONE, NULL), -1);
    ck_assert_int_eq(td_alloc_arena_fd(s->arena + 1000, 1000, NULL), -1);
    ck_assert_int_eq(td_alloc_arena_fd(0, 1000, NULL), -1);
    /* seals: no shrinking, no growing, no further seals */
    ck_assert_int_eq(ftruncate(fd, 4096), -1);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_int_eq(ftruncate(fd, (off_t)(128 * MIB)), -1);
    ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
    char *m = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(m, MAP_FAILED);
    close(fd); /* ours: a duplicate */
    memcpy(s->data, "tensord", 8);
    ck_assert_str_eq(m + s->offset, "tensord");
    memcpy(m + s->offset + 100, "client", 7);
    ck_assert_str_eq(s->data + 100, "client");
    /* the unidentified pool is never exported */
    td_alloc_bind(NULL);
    struct td_storage *t = must_new(100);
    ck_assert_uint_ne(t->arena, s->arena);
    ck_assert_int_eq(td_alloc_arena_fd(t->arena, 1000, NULL), -1);
    ck_assert_int_eq(td_alloc_arena_fd(t->arena, TD_ALLOC_UID_NONE, NULL), -1);
    td_storage_unref(t);
    uint32_t id = s->arena;
    uint64_t off = s->offset;
    td_storage_unref(s);
    td_alloc_empty_cache();
    ck_assert_int_eq(td_alloc_arena_fd(id, 1000, NULL), -1); /* closed */
    ck_assert_uint_eq(stats().arenas, 0);
    ck_assert_int_eq(m[off], 0); /* still mapped here: punched pages read zeros */
    m[off] = 1;
    munmap(m, (size_t)size);
    td_alloc_account_free(a);
    /* a new arena never reuses an id */
    struct td_storage *u = must_new(3 * MIB);
    ck_assert_uint_gt(u->arena, id);
    td_storage_unref(u);
}
END_TEST

/* Pools are per uid: blocks freed by one uid never serve another. */
START_TEST(test_pools_per_uid)
{
    struct td_alloc_account *a = td_alloc_account_new(1, 1000), *b = td_alloc_account_new(2, 1001);
    td_alloc_bind(a);
    struct td_storage *x = must_new(1000);
    uint32_t arena = x->arena;
    td_storage_unref(x);
    td_alloc_bind(b);
    struct td_storage *y = must_new(1000);
    ck_assert_uint_ne(y->arena, arena);
    ck_assert_int_eq(td_alloc_arena_fd(y->arena, 1000, NULL), -1);
    int fd = td_alloc_arena_fd(y->arena, 1001, NULL);
    ck_assert_int_ge(fd, 0);
    close(fd);
    td_storage_unref(y);
    td_alloc_bind(a);
    struct td_storage *z = must_new(1000);
    ck_assert_uint_eq(z->arena, arena); /* its own cached block again */
    td_storage_unref(z);
    td_alloc_bind(NULL);
    td_alloc_account_free(a);
    td_alloc_account_free(b);
}
END_TEST

/* Cached blocks stay poisoned under ASan, so a use after free is still reported. */
START_TEST(test_poisoned_when_cached)
{
#if defined(__SANITIZE_ADDRESS__)
    struct td_storage *s = must_new(1 << 16);
    char *p = s->data;
    ck_assert_int_eq(__asan_address_is_poisoned(p), 0);
    td_storage_unref(s);
    ck_assert_int_ne(__asan_address_is_poisoned(p), 0);
    ck_assert_int_ne(__asan_address_is_poisoned(p + 4000), 0);
    s = must_new(1 << 16);
    ck_assert_ptr_eq(s->data, p);
    ck_assert_int_eq(__asan_address_is_poisoned(p + (1 << 16) - 1), 0);
    td_storage_unref(s);
    /* parked (alloc.c): poisoned too until reused */
    struct td_alloc_account *a = td_alloc_account_new(1, TD_ALLOC_UID_NONE);
    td_alloc_bind(a);
    s = must_new(4000);
    p = s->data;
    td_storage_unref(s);
    ck_assert_int_ne(__asan_address_is_poisoned(p), 0);
    s = must_new(4000);
    ck_assert_int_eq(__asan_address_is_poisoned(p + 3999), 0);
    td_storage_unref(s);
    td_alloc_bind(NULL);
    td_alloc_account_free(a);
#endif
}
END_TEST

/* Every injected failure leaves a clean status and nothing behind. */
START_TEST(test_fail_injection)
{
    for (int n = 0; n < 4; n++) {
        td_alloc_fail_after(n);
        struct td_storage *s[4] = {NULL};
        int got = 0;
        for (int i = 0; i < 4; i++) {
            struct td_status st = TD_STATUS_INIT;
            s[i] = td_storage_new((int64_t)(i + 1) << 19, &st);
            if (!s[i])
                ck_assert_int_eq(st.code, TD_CODE_RESOURCE_EXHAUSTED);
            got += s[i] != NULL;
        }
        ck_assert_int_eq(got, 3);
        for (int i = 0; i < 4; i++)
            td_storage_unref(s[i]);
        td_alloc_fail_after(-1);
        ck_assert_uint_eq(stats().in_use, 0);
        verify();
    }
    struct td_status st = TD_STATUS_INIT;
    ck_assert_ptr_null(td_storage_new(-1, &st));
    ck_assert_int_eq(st.code, TD_CODE_RESOURCE_EXHAUSTED);
    struct td_storage *z = must_new(0); /* a 0-byte storage still gets a block */
    ck_assert_ptr_nonnull(z->data);
    td_storage_unref(z);
}
END_TEST

/* Small storages dropped on the thread bound to their own account are parked for reuse
 * (alloc.c): every count is exact whenever this thread looks (stats, usage, quota),
 * a request of another size is not refused for parked bytes, injected failures still
 * fail, and unbinding or freeing the account gives everything back. */
START_TEST(test_parked_exact)
{
    struct td_alloc_account *a = td_alloc_account_new(1, TD_ALLOC_UID_NONE);
    td_alloc_account_set_limit(a, 8192);
    td_alloc_bind(a);
    struct td_alloc_stats s0 = stats();
    struct td_storage *x = must_new(4000), *y;
    for (int i = 0; i < 100; i++) { /* the small-op pattern: make the next, drop the last */
        y = must_new(4000);
        fill(y);
        td_storage_unref(x);
        x = y;
    }
    check_filled(x);
    ck_assert_uint_eq(td_alloc_account_in_use(a), 4032);
    struct td_alloc_stats s1 = stats();
    ck_assert_uint_eq(s1.allocs - s0.allocs, 101);
    ck_assert_uint_ge(s1.cache_hits - s0.cache_hits, 99);
    ck_assert_uint_eq(s1.in_use, 4032);
    ck_assert_uint_eq(s1.storages, 1);
    td_storage_unref(x);
    ck_assert_uint_eq(stats().in_use, 0);
    ck_assert_uint_eq(td_alloc_account_in_use(a), 0);
    struct td_alloc_usage u[2];
    ck_assert_int_eq(td_alloc_usage(u, 2), 1);
    ck_assert_uint_eq(u[0].in_use, 0);
    verify();
    /* parked bytes never count against the quota of a request of another size */
    x = must_new(4000);
    td_storage_unref(x);
    y = must_new(8000); /* 8192 rounded: the whole quota */
    td_storage_unref(y);
    /* an injected failure fails even where a parked block would serve */
    x = must_new(4000);
    td_storage_unref(x);
    td_alloc_fail_after(0);
    struct td_status st = TD_STATUS_INIT;
    ck_assert_ptr_null(td_storage_new(4000, &st));
    ck_assert_int_eq(st.code, TD_CODE_RESOURCE_EXHAUSTED);
    /* parked storages go back when the account is freed while bound */
    x = must_new(4000);
    td_storage_unref(x);
    td_alloc_account_free(a);
    ck_assert_int_eq(td_alloc_usage(u, 2), 0);
    td_alloc_bind(NULL);
    ck_assert_uint_eq(stats().storages, 0);
    verify();
    /* and when the thread unbinds: nothing stays parked for another account */
    struct td_alloc_account *b = td_alloc_account_new(2, TD_ALLOC_UID_NONE);
    td_alloc_bind(b);
    x = must_new(100);
    td_storage_unref(x);
    td_alloc_bind(NULL);
    ck_assert_int_eq(td_alloc_usage(u, 2), 1);
    ck_assert_uint_eq(u[0].in_use, 0);
    td_alloc_account_free(b);
    ck_assert_int_eq(td_alloc_usage(u, 2), 0);
    verify();
}
END_TEST

static Suite *alloc_suite(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("traces");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_trace_invariants, 0, 3);
    tcase_add_test(tc, test_fragmentation_figure);
    tcase_add_test(tc, test_peaks);
    suite_add_tcase(s, tc);
    tc = tcase_create("release");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_idle_release);
    tcase_add_test(tc, test_global_limit);
    tcase_add_test(tc, test_poisoned_when_cached);
    tcase_add_test(tc, test_fail_injection);
    tcase_add_test(tc, test_mem_room_machine_and_cgroups);
    tcase_add_test(tc, test_pressure_releases_cached_memory);
    suite_add_tcase(s, tc);
    tc = tcase_create("accounts");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_quota);
    tcase_add_test(tc, test_arena_fd);
    tcase_add_test(tc, test_pools_per_uid);
    tcase_add_test(tc, test_parked_exact);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(alloc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
