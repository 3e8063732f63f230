/*
 * device.c — backend loading, device storage, streams and transfers; see device.h.
 *
 * One backend serves every device: the CUDA plugin or the host stand-in.  The plugin
 * is looked for where the build and `make install` put it, next to the daemon; a
 * plugin that fails to load (no CUDA libraries on this machine) or finds no GPU is
 * logged with the reason and the daemon goes on serving the CPU.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "device_alloc.h"
#include "device_host.h"
#include "log.h"

static struct {
    const struct td_device_backend *b;
    void *dl; /* the plugin's handle; NULL for the stand-in */
    int n;
    char why[512];
    char describe[256];
    struct td_device_props props[TD_MAX_DEVICES];
    struct td_dalloc *alloc[TD_MAX_DEVICES];
} g = {.why = "the daemon has not looked for devices"};

static bool exe_dir(char *dir, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", dir, len - 1);
    if (n <= 0)
        return false;
    dir[n] = 0;
    char *slash = strrchr(dir, '/');
    if (!slash)
        return false;
    *slash = 0;
    return true;
}

/* dlopen of the plugin: the first of the usual places that exists, or path. */
static const struct td_device_backend *load_plugin(const char *path)
{
    char dir[PATH_MAX - 64], cand[PATH_MAX];
    const char *tried = path;
    if (!path) {
        static const char *const rel[] = {"libtensord_cuda.so", "../libtensord_cuda.so", "../lib/tensord/libtensord_cuda.so"};
        if (!exe_dir(dir, sizeof dir)) {
            snprintf(g.why, sizeof g.why, "cannot find the daemon's own directory to look for libtensord_cuda.so");
            return NULL;
        }
        for (size_t i = 0; i < sizeof rel / sizeof rel[0] && !path; i++) {
            snprintf(cand, sizeof cand, "%s/%s", dir, rel[i]);
            if (access(cand, R_OK) == 0)
                path = cand;
        }
        if (!path) {
            snprintf(g.why, sizeof g.why, "tensord was built without CUDA: no libtensord_cuda.so beside %.300s", dir);
            return NULL;
        }
        tried = path;
    }
    g.dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!g.dl) {
        snprintf(g.why, sizeof g.why, "cannot load the CUDA plugin: %s", dlerror());
        return NULL;
    }
    td_device_entry_fn entry;
    *(void **)&entry = dlsym(g.dl, TD_DEVICE_ENTRY);
    const struct td_device_backend *b = entry ? entry() : NULL;
    if (!b || b->abi != TD_DEVICE_ABI) {
        snprintf(g.why, sizeof g.why, "%.300s is not a tensord device plugin of ABI %d", tried, TD_DEVICE_ABI);
        dlclose(g.dl);
        g.dl = NULL;
        return NULL;
    }
    return b;
}

void td_devices_init(const struct td_devices_config *c)
{
    const struct td_device_backend *b =
        c->fake > 0 ? td_device_host_backend(c->fake, c->fake_memory ? c->fake_memory : (UINT64_C(1) << 30), true)
                    : load_plugin(c->plugin);
    if (c->fake > 0)
        td_device_host_kernels(!c->fake_staged);
    if (!b) {
        td_log(TD_LOG_INFO, "no GPU: %s; serving the CPU", g.why);
        return;
    }
    char why[sizeof g.why] = "";
    int n = b->init(why, sizeof why);
    if (n > TD_MAX_DEVICES)
        n = TD_MAX_DEVICES;
    if (n <= 0) {
        snprintf(g.why, sizeof g.why, "%s", why[0] ? why : "the CUDA runtime found no device");
        td_log(TD_LOG_INFO, "no GPU: %s; serving the CPU", g.why);
        if (g.dl)
            dlclose(g.dl);
        g.dl = NULL;
        return;
    }
    b->describe(g.describe, sizeof g.describe);
    for (int i = 0; i < n; i++) {
        if (b->get_props(i, &g.props[i]) != 0)
            snprintf(g.props[i].name, sizeof g.props[i].name, "%s device %d", b->kind, i);
        struct td_status st = TD_STATUS_INIT;
        g.alloc[i] = td_dalloc_new(b, i, b->vmm_granularity && b->vmm_granularity(i) > 0, &st);
        if (!g.alloc[i]) {
            td_log(TD_LOG_ERROR, "cuda:%d: no allocator: %s", i, st.msg);
            n = i;
            break;
        }
        td_log(TD_LOG_INFO, "cuda:%d: %s, %llu MiB", i, g.props[i].name,
               (unsigned long long)(g.props[i].total_memory >> 20));
    }
    g.b = b;
    g.n = n;
    g.why[0] = 0;
    td_log(TD_LOG_INFO, "%d GPU%s through %s", n, n == 1 ? "" : "s", g.describe);
}

void td_devices_fini(void)
{
    for (int i = 0; i < g.n; i++) {
        td_dalloc_free(g.alloc[i]);
        g.alloc[i] = NULL;
    }
    if (g.dl)
        dlclose(g.dl);
    g.dl = NULL;
    g.b = NULL;
    g.n = 0;
}

int td_device_count(void) { return g.n; }
const char *td_devices_why(void) { return g.why; }
const char *td_devices_describe(void) { return g.describe; }

const struct td_device_backend *td_device_backend(uint8_t d)
{
    return d >= 1 && d <= g.n ? g.b : NULL;
}

bool td_device_props(uint8_t d, struct td_device_props *p)
{
    if (!td_device_backend(d))
        return false;
    *p = g.props[d - 1];
    return true;
}

/* ---- accounts */

static _Thread_local struct td_device_accounts *bound;
static uint64_t session_limit;

void td_device_set_session_limit(uint64_t bytes) { session_limit = bytes; }
void td_device_bind(struct td_device_accounts *acc) { bound = acc; }

void td_device_accounts_free(struct td_device_accounts *acc)
{
    for (int i = 0; i < TD_MAX_DEVICES; i++) {
        td_dalloc_account_free(acc->a[i]); /* lives on while its blocks do */
        acc->a[i] = NULL;
    }
}

/* The account of acc on d, made on first use; NULL when out of memory. */
static struct td_dalloc_account *account_of(struct td_device_accounts *acc, uint8_t d)
{
    struct td_dalloc_account **slot = &acc->a[d - 1];
    if (!*slot && (*slot = td_dalloc_account_new(acc->session)) && session_limit)
        td_dalloc_account_set_limit(*slot, session_limit);
    return *slot;
}

void td_device_account_usage(const struct td_device_accounts *acc, uint8_t d, uint64_t *in_use, uint64_t *peak,
                             uint64_t *limit)
{
    const struct td_dalloc_account *a = d >= 1 && d <= TD_MAX_DEVICES ? acc->a[d - 1] : NULL;
    *in_use = a ? td_dalloc_account_in_use(a) : 0;
    *peak = a ? td_dalloc_account_peak(a) : 0;
    *limit = a ? td_dalloc_account_limit(a) : session_limit;
}

enum td_code td_device_account_set_limit(struct td_device_accounts *acc, uint8_t d, uint64_t bytes,
                                         struct td_status *st)
{
    if (!td_device_backend(d))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "CUDA error: invalid device ordinal");
    struct td_dalloc_account *a = account_of(acc, d);
    if (!a)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory for a device account");
    td_dalloc_account_set_limit(a, bytes);
    return TD_CODE_OK;
}

void td_device_account_reset_peak(struct td_device_accounts *acc, uint8_t d)
{
    if (td_device_backend(d) && acc->a[d - 1])
        td_dalloc_account_reset_peak(acc->a[d - 1]);
}

/* ---- memory */

struct td_storage *td_device_storage_new(uint8_t d, int64_t nbytes, td_stream_t s, struct td_status *st)
{
    if (!td_device_backend(d)) {
        td_status_set(st, TD_CODE_INVALID_ARGUMENT, "CUDA error: invalid device ordinal");
        return NULL;
    }
    struct td_storage *t = malloc(sizeof *t);
    if (!t) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of host memory for a storage record");
        return NULL;
    }
    struct td_dblock *b = td_dalloc_malloc(g.alloc[d - 1], (uint64_t)(nbytes > 0 ? nbytes : 0), s,
                                           bound ? account_of(bound, d) : NULL, st);
    if (!b) {
        free(t);
        return NULL;
    }
    atomic_init(&t->refs, 1);
    t->nbytes = nbytes;
    t->data = td_dblock_ptr(b);
    t->arena = 0; /* never mapped by clients */
    t->offset = 0;
    t->acct = NULL;
    t->block = NULL;
    t->device = d;
    t->dblock = b;
    return t;
}

void td_device_storage_free(struct td_storage *s)
{
    td_dalloc_release(g.alloc[s->device - 1], s->dblock);
    free(s);
}

bool td_device_usage(uint8_t d, struct td_device_usage *u)
{
    if (!td_device_backend(d))
        return false;
    struct td_dalloc_stats x;
    td_dalloc_stats(g.alloc[d - 1], &x);
    *u = (struct td_device_usage){.allocated = x.allocated,
                                  .reserved = x.reserved,
                                  .peak_allocated = x.allocated_peak,
                                  .peak_reserved = x.reserved_peak,
                                  .allocs = x.allocs,
                                  .frees = x.frees,
                                  .cache_hits = x.cache_hits,
                                  .ooms = x.ooms,
                                  .fragmentation = x.fragmentation};
    return true;
}

void td_device_empty_cache(uint8_t d)
{
    if (td_device_backend(d))
        td_dalloc_empty_cache(g.alloc[d - 1]);
}

void td_device_reset_peak(uint8_t d)
{
    if (td_device_backend(d))
        td_dalloc_reset_peak(g.alloc[d - 1]);
}

/* ---- errors, transfers, streams */

enum td_code td_device_error(uint8_t d, int code, const char *what, struct td_status *st)
{
    const struct td_device_backend *b = td_device_backend(d);
    const char *name = b ? b->error_string(code) : "no such device";
    return td_status_set(st, TD_CODE_INTERNAL, "CUDA error: %s (%s, cuda:%d)", name ? name : "unknown error", what,
                         d - 1);
}

enum td_code td_device_copy(uint8_t d, void *dst, const void *src, uint64_t n, enum td_copy_kind kind, td_stream_t s,
                            struct td_status *st)
{
    const struct td_device_backend *b = td_device_backend(d);
    if (!b)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "CUDA error: invalid device ordinal");
    if (!n)
        return TD_CODE_OK;
    int e = b->memcpy_async(d - 1, dst, src, n, kind, s);
    /* the host side is pageable daemon memory the caller reuses at once: wait */
    if (!e && kind != TD_COPY_D2D)
        e = b->stream_sync(d - 1, s);
    return e ? td_device_error(d, e, "copy", st) : TD_CODE_OK;
}

td_stream_t td_device_stream(struct td_device_streams *ss, uint8_t d, struct td_status *st)
{
    const struct td_device_backend *b = td_device_backend(d);
    if (!b) {
        td_status_set(st, TD_CODE_INVALID_ARGUMENT, "CUDA error: invalid device ordinal");
        return NULL;
    }
    if (!ss->s[d - 1]) {
        int e = b->stream_new(d - 1, &ss->s[d - 1]);
        if (e) {
            ss->s[d - 1] = NULL;
            td_device_error(d, e, "stream", st);
            return NULL;
        }
    }
    return ss->s[d - 1];
}

enum td_code td_device_streams_sync(struct td_device_streams *ss, struct td_status *st)
{
    enum td_code first = TD_CODE_OK;
    for (int i = 0; i < g.n; i++)
        if (ss->s[i]) {
            int e = g.b->stream_sync(i, ss->s[i]);
            if (e && !first)
                first = td_device_error((uint8_t)(i + 1), e, "synchronize", st);
        }
    return first;
}

void td_device_streams_free(struct td_device_streams *ss)
{
    for (int i = 0; i < g.n; i++)
        if (ss->s[i]) {
            g.b->stream_sync(i, ss->s[i]);
            td_dalloc_stream_retire(g.alloc[i], ss->s[i]); /* its cached blocks go to the shared pool */
            g.b->stream_free(i, ss->s[i]);
            ss->s[i] = NULL;
        }
}
