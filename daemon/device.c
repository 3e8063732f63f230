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
    /* a fatal (sticky) error poisoned the device: nothing more runs on it; its name */
    _Atomic(const char *) lost[TD_MAX_DEVICES];
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
        /* no driver, no GPU: skip loading the plugin and the CUDA libraries it links
         * (hundreds of MB) on CPU-only nodes; --cuda-plugin loads it regardless */
        if (!dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {
            snprintf(g.why, sizeof g.why, "no NVIDIA driver on this machine (%s)", dlerror());
            return NULL;
        }
    }
    /* never unloaded: the C++ runtime it brings keeps allocations for the process's life */
    g.dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
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
    if (c->fake > 0) {
        td_device_host_kernels(!c->fake_staged);
        td_device_host_half_kernels(c->fake_half);
    }
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
    td__device_staging_fini();
    for (int i = 0; i < g.n; i++) {
        td_dalloc_free(g.alloc[i]);
        g.alloc[i] = NULL;
        atomic_store(&g.lost[i], NULL); /* a later init starts with working devices */
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
    if (td_device_usable(d, st))
        return NULL;
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
    name = name ? name : "unknown error";
    if (b && b->is_fatal(code)) {
        const char *none = NULL;
        if (atomic_compare_exchange_strong(&g.lost[d - 1], &none, name))
            td_log(TD_LOG_ERROR, "cuda:%d: fatal error '%s' (%s) in the session that caused it; the device serves "
                   "nothing more until tensord restarts, the other devices and the CPU go on", d - 1, name, what);
    }
    return td_status_set(st, TD_CODE_INTERNAL, "CUDA error: %s (%s, cuda:%d)", name, what, d - 1);
}

enum td_code td_device_usable(uint8_t d, struct td_status *st)
{
    if (!td_device_backend(d))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "CUDA error: invalid device ordinal");
    const char *lost = atomic_load(&g.lost[d - 1]);
    if (lost)
        return td_status_set(st, TD_CODE_INTERNAL,
                             "CUDA error: cuda:%d is unusable after a fatal error in an earlier operation (%s); "
                             "restart tensord to recover it", d - 1, lost);
    return TD_CODE_OK;
}

/* ---- a session's streams and events */

static enum td_code bad_device(struct td_status *st)
{
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "CUDA error: invalid device ordinal");
}

static td_stream_t default_stream(struct td_device_streams *ss, uint8_t d, struct td_status *st)
{
    if (!ss->s[d - 1]) {
        int e = g.b->stream_new(d - 1, &ss->s[d - 1]);
        if (e) {
            ss->s[d - 1] = NULL;
            td_device_error(d, e, "stream", st);
            return NULL;
        }
    }
    return ss->s[d - 1];
}

static struct td_session_stream *find_stream(struct td_device_streams *ss, int64_t id)
{
    for (int i = 0; i < ss->n_streams; i++)
        if (ss->streams[i].id == id)
            return &ss->streams[i];
    return NULL;
}

static struct td_session_event *find_event(struct td_device_streams *ss, int64_t id)
{
    for (int i = 0; i < ss->n_events; i++)
        if (ss->events[i].id == id)
            return &ss->events[i];
    return NULL;
}

/* Stream id of device d (0: its default stream), with *probe its query event slot. */
static td_stream_t stream_of_id(struct td_device_streams *ss, uint8_t d, int64_t id, td_event_t **probe,
                                struct td_status *st)
{
    if (id == 0) {
        if (probe)
            *probe = &ss->probe[d - 1];
        return default_stream(ss, d, st);
    }
    struct td_session_stream *x = find_stream(ss, id);
    if (!x) {
        td_status_set(st, TD_CODE_NOT_FOUND, "stream %lld does not exist in this session (destroyed, or never created)",
                      (long long)id);
        return NULL;
    }
    if (x->device != d) {
        td_status_set(st, TD_CODE_INVALID_ARGUMENT, "stream %lld is on cuda:%d, not cuda:%d", (long long)id,
                      x->device - 1, d - 1);
        return NULL;
    }
    if (probe)
        *probe = &x->probe;
    return x->s;
}

td_stream_t td_device_stream(struct td_device_streams *ss, uint8_t d, struct td_status *st)
{
    if (td_device_usable(d, st))
        return NULL;
    return stream_of_id(ss, d, ss->current[d - 1], NULL, st);
}

/* Synchronizes, retires (the allocator's pool and record_stream marks) and frees s. */
static void stream_end(uint8_t d, td_stream_t s, td_event_t probe)
{
    g.b->stream_sync(d - 1, s);
    td_dalloc_stream_retire(g.alloc[d - 1], s);
    if (probe)
        g.b->event_free(d - 1, probe);
    g.b->stream_free(d - 1, s);
}

enum td_code td_device_stream_ctrl(struct td_device_streams *ss, uint8_t d, int64_t what, int64_t id, int64_t other,
                                   int64_t *answer, struct td_status *st)
{
    *answer = 0;
    if (!td_device_backend(d))
        return bad_device(st);
    if (what == TD_SC_CREATE) {
        if (id <= 0)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "stream: new stream ids are positive (0 is the default stream)");
        if (find_stream(ss, id))
            return td_status_set(st, TD_CODE_ALREADY_EXISTS, "stream %lld exists already", (long long)id);
        if (ss->n_streams == TD_SESSION_MAX_STREAMS)
            return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED,
                                 "stream: a session may hold %d streams; destroy some first", TD_SESSION_MAX_STREAMS);
        if (!ss->streams && !(ss->streams = calloc(TD_SESSION_MAX_STREAMS, sizeof *ss->streams)))
            return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "stream: out of memory");
        td_stream_t s = NULL;
        int e = g.b->stream_new(d - 1, &s);
        if (e)
            return td_device_error(d, e, "stream", st);
        ss->streams[ss->n_streams++] = (struct td_session_stream){.id = id, .device = d, .s = s};
        return TD_CODE_OK;
    }
    if (what == TD_SC_DESTROY) {
        if (id == 0)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "stream: the default stream cannot be destroyed");
        if (!stream_of_id(ss, d, id, NULL, st)) /* unknown, or on another device */
            return st->code;
        struct td_session_stream *x = find_stream(ss, id);
        if (ss->current[d - 1] == id)
            ss->current[d - 1] = 0; /* as after its context manager */
        stream_end(d, x->s, x->probe);
        *x = ss->streams[--ss->n_streams];
        return TD_CODE_OK;
    }
    td_event_t *probe = NULL;
    td_stream_t s = stream_of_id(ss, d, id, &probe, st);
    if (!s)
        return st->code;
    int e = 0;
    if (what == TD_SC_SET_CURRENT) {
        ss->current[d - 1] = id;
    } else if (what == TD_SC_WAIT_EVENT) {
        struct td_session_event *ev = find_event(ss, other);
        if (!ev)
            return td_status_set(st, TD_CODE_NOT_FOUND, "event %lld does not exist in this session", (long long)other);
        if (!ev->device)
            return TD_CODE_OK; /* never recorded: nothing to wait for (CUDA's rule) */
        if (ev->device == d)
            e = g.b->stream_wait_event(d - 1, s, ev->e);
        else /* another device's event: the host waits for it, which orders s after it too */
            e = g.b->event_sync(ev->device - 1, ev->e);
        if (e)
            return td_device_error(ev->device == d ? d : ev->device, e, "stream wait event", st);
    } else if (what == TD_SC_QUERY) {
        if (!*probe && (e = g.b->event_new(d - 1, probe, 0)) != 0) {
            *probe = NULL;
            return td_device_error(d, e, "stream query", st);
        }
        if (!(e = g.b->event_record(d - 1, *probe, s)))
            e = g.b->event_query(d - 1, *probe);
        if (e != 0 && e != 1)
            return td_device_error(d, e, "stream query", st);
        *answer = e == 0;
    } else if (what == TD_SC_SYNCHRONIZE) {
        if ((e = g.b->stream_sync(d - 1, s)) != 0)
            return td_device_error(d, e, "stream synchronize", st);
    } else {
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "stream_ctrl: unknown action %lld", (long long)what);
    }
    return TD_CODE_OK;
}

static struct td_session_event *recorded_event(struct td_device_streams *ss, int64_t id, struct td_status *st)
{
    struct td_session_event *ev = find_event(ss, id);
    if (!ev)
        td_status_set(st, TD_CODE_NOT_FOUND, "event %lld does not exist in this session (destroyed, or never created)",
                      (long long)id);
    return ev;
}

enum td_code td_device_event_ctrl(struct td_device_streams *ss, uint8_t d, int64_t what, int64_t id, int64_t other,
                                  void *answer, struct td_status *st)
{
    memset(answer, 0, 8);
    if (what == TD_EC_CREATE) {
        if (!g.n)
            return bad_device(st);
        if (id <= 0)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "event: ids are positive");
        if (find_event(ss, id))
            return td_status_set(st, TD_CODE_ALREADY_EXISTS, "event %lld exists already", (long long)id);
        if (ss->n_events == TD_SESSION_MAX_EVENTS)
            return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED,
                                 "event: a session may hold %d events; destroy some first", TD_SESSION_MAX_EVENTS);
        if (ss->n_events == ss->cap_events) {
            int cap = ss->cap_events ? 2 * ss->cap_events : 16;
            struct td_session_event *n = realloc(ss->events, (size_t)cap * sizeof *n);
            if (!n)
                return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "event: out of memory");
            ss->events = n;
            ss->cap_events = cap;
        }
        ss->events[ss->n_events++] = (struct td_session_event){.id = id, .timing = (other & TD_EVENT_TIMING) != 0};
        return TD_CODE_OK;
    }
    struct td_session_event *ev = recorded_event(ss, id, st);
    if (!ev)
        return st->code;
    int e = 0;
    if (what == TD_EC_DESTROY) {
        if (ev->e)
            g.b->event_free(ev->device - 1, ev->e); /* CUDA lets pending work finish after this */
        *ev = ss->events[--ss->n_events];
        return TD_CODE_OK;
    }
    if (what == TD_EC_RECORD) {
        if (!td_device_backend(d))
            return bad_device(st);
        if (ev->device && ev->device != d)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Event device index %d does not match recording stream's device index %d.",
                                 ev->device - 1, d - 1);
        td_stream_t s = stream_of_id(ss, d, other, NULL, st);
        if (!s)
            return st->code;
        if (!ev->e) {
            if ((e = g.b->event_new(d - 1, &ev->e, ev->timing)) != 0) {
                ev->e = NULL;
                return td_device_error(d, e, "event", st);
            }
            ev->device = d;
        }
        e = g.b->event_record(d - 1, ev->e, s);
        return e ? td_device_error(d, e, "event record", st) : TD_CODE_OK;
    }
    if (what == TD_EC_QUERY) {
        int64_t done = 1; /* never recorded: complete, as in CUDA */
        if (ev->e) {
            e = g.b->event_query(ev->device - 1, ev->e);
            if (e != 0 && e != 1)
                return td_device_error(ev->device, e, "event query", st);
            done = e == 0;
        }
        memcpy(answer, &done, 8);
        return TD_CODE_OK;
    }
    if (what == TD_EC_SYNCHRONIZE) {
        if (ev->e && (e = g.b->event_sync(ev->device - 1, ev->e)) != 0)
            return td_device_error(ev->device, e, "event synchronize", st);
        return TD_CODE_OK;
    }
    if (what == TD_EC_ELAPSED) {
        struct td_session_event *end = recorded_event(ss, other, st);
        if (!end)
            return st->code;
        if (!ev->timing || !end->timing)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Both events must be created with argument 'enable_timing=True'.");
        if (!ev->e || !end->e)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Both events must be recorded before calculating elapsed time.");
        if (ev->device != end->device)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Both events must be recorded on the same device (cuda:%d, cuda:%d).",
                                 ev->device - 1, end->device - 1);
        float ms = 0;
        /* both completed first: the measure is between the two points, not "not ready" */
        if ((e = g.b->event_sync(ev->device - 1, ev->e)) || (e = g.b->event_sync(end->device - 1, end->e)) ||
            (e = g.b->event_elapsed_ms(ev->device - 1, ev->e, end->e, &ms)))
            return td_device_error(ev->device, e, "elapsed time", st);
        double v = ms;
        memcpy(answer, &v, 8);
        return TD_CODE_OK;
    }
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "event_ctrl: unknown action %lld", (long long)what);
}

enum td_code td_device_record_stream(struct td_device_streams *ss, struct td_storage *t, int64_t id,
                                     struct td_status *st)
{
    uint8_t d = t->device;
    if (!td_device_backend(d) || !t->dblock)
        return bad_device(st);
    td_stream_t s = stream_of_id(ss, d, id, NULL, st);
    if (!s)
        return st->code;
    if (!td_dalloc_record_stream(g.alloc[d - 1], t->dblock, s))
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "record_stream: out of memory");
    return TD_CODE_OK;
}

enum td_code td_device_streams_sync(struct td_device_streams *ss, uint8_t d, struct td_status *st)
{
    enum td_code first = TD_CODE_OK;
    for (int i = 0; i < g.n; i++) {
        if (d && i != d - 1)
            continue;
        int e = ss->s[i] ? g.b->stream_sync(i, ss->s[i]) : 0;
        if (e && !first)
            first = td_device_error((uint8_t)(i + 1), e, "synchronize", st);
        for (int j = 0; j < ss->n_streams; j++)
            if (ss->streams[j].device == i + 1 && (e = g.b->stream_sync(i, ss->streams[j].s)) != 0 && !first)
                first = td_device_error((uint8_t)(i + 1), e, "synchronize", st);
    }
    return first;
}

void td_device_streams_free(struct td_device_streams *ss)
{
    for (int i = 0; i < ss->n_events; i++)
        if (ss->events[i].e)
            g.b->event_free(ss->events[i].device - 1, ss->events[i].e);
    free(ss->events);
    for (int i = 0; i < ss->n_streams; i++)
        stream_end(ss->streams[i].device, ss->streams[i].s, ss->streams[i].probe);
    free(ss->streams);
    for (int i = 0; i < g.n; i++)
        if (ss->s[i])
            stream_end((uint8_t)(i + 1), ss->s[i], ss->probe[i]);
    memset(ss, 0, sizeof *ss);
}
