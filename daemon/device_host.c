/*
 * device_host.c — the host stand-in device backend (device_host.h): device memory is
 * host memory, kernels are the CPU kernels, streams are counters of queued work.
 *
 * Invariants: a device's `used` is the sum of its live mem_alloc blocks and mapped
 * granules, never above its capacity; every granule of a reservation is mapped at most
 * once (a byte per granule says so), and a reservation is released only when none is
 * mapped, so allocator bugs that CUDA would punish show up here as errors.  A stream's
 * `done` never passes its `queued` nor, while a stream_wait_event is unmet, the work
 * queued before that wait.  One lock guards everything: the stand-in is for tests and
 * fake devices, not speed.
 */
#include "device_host.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../kernels/dtype.h"
#include "../kernels/meta.h"

#define GRANULE TD_HOST_VMM_GRANULE
#define MEM_ALIGN 256 /* what cudaMalloc guarantees */
#define MAX_WAITS 16
#define MAGIC_MEM 0x6d656d64u
#define MAGIC_STREAM 0x7374726du
#define MAGIC_EVENT 0x6576656eu

/* A stream: work counts.  Refcounted: events recorded on it hold a reference, so an
 * event outlives the stream it was recorded on (CUDA allows that). */
struct hstream {
    uint32_t magic;
    int dev, refs;
    bool held;
    uint64_t queued, done;
    int nwait; /* stream_wait_event edges not yet met */
    struct hwait {
        struct hstream *on;
        uint64_t count; /* met when on->done reaches it */
        uint64_t from;  /* work of ours queued before the wait */
    } wait[MAX_WAITS];
};

struct hevent {
    uint32_t magic;
    int dev;
    bool timing;
    struct hstream *s; /* NULL: never recorded (complete, as in CUDA) */
    uint64_t count;
    struct timespec t;
};

struct reservation {
    struct reservation *next;
    char *va;
    uint64_t bytes;
    uint8_t *mapped; /* one byte per granule */
};

struct hdev {
    uint64_t cap, used;
    struct hstream dflt; /* the NULL stream */
    struct reservation *res;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int ndev;
static bool have_vmm;
static struct hdev devs[TD_MAX_DEVICES];
static int fail_next;
static uint64_t live_allocs, nsyncs;
static uint64_t next_handle = 1;

static bool bad_dev(int dev)
{
    return dev < 0 || dev >= ndev;
}

/* ---- the stream model (under lock) */

static struct hstream *stream_of(int dev, td_stream_t s)
{
    struct hstream *h = s ? s : &devs[dev].dflt;
    return h->magic == MAGIC_STREAM && h->dev == dev ? h : NULL;
}

/* Work of s completed so far: all of it unless held or behind an unmet wait. */
static void stream_unref(struct hstream *s);

static uint64_t stream_done(struct hstream *s, int depth)
{
    if (s->held)
        return s->done;
    uint64_t target = s->queued;
    for (int i = 0; i < s->nwait; i++) {
        if (depth < 8 && stream_done(s->wait[i].on, depth + 1) >= s->wait[i].count) {
            struct hstream *on = s->wait[i].on;
            s->wait[i--] = s->wait[--s->nwait]; /* met for good: counts only grow */
            stream_unref(on);
            continue;
        }
        if (s->wait[i].from < target)
            target = s->wait[i].from;
    }
    if (target > s->done)
        s->done = target;
    return s->done;
}

/* The caller waited: s's work up to count is complete, and so is what it waited on. */
static void stream_finish(struct hstream *s, uint64_t count, int depth)
{
    for (int i = 0; i < s->nwait && depth < 8; i++)
        if (s->wait[i].from < count)
            stream_finish(s->wait[i].on, s->wait[i].count, depth + 1);
    if (s->done < count)
        s->done = count;
    stream_done(s, depth); /* drops the waits now met */
}

static void stream_unref(struct hstream *s)
{
    if (--s->refs == 0 && s != &devs[s->dev].dflt) {
        while (s->nwait > 0)
            stream_unref(s->wait[--s->nwait].on);
        s->magic = 0;
        free(s);
    }
}

/* ---- info */

static int h_init(char *why, size_t len)
{
    if (ndev == 0)
        snprintf(why, len, "host stand-in: no devices configured");
    return ndev;
}

static void h_describe(char *buf, size_t len)
{
    snprintf(buf, len, "host stand-in (%d devices, %llu MiB each)", ndev,
             (unsigned long long)(ndev ? devs[0].cap >> 20 : 0));
}

static const char *h_error_string(int code)
{
    switch (code) {
    case 0:
        return "no error";
    case TD_HOST_ERR_OOM:
        return "out of memory";
    case TD_HOST_ERR_INVALID:
        return "invalid argument";
    case TD_HOST_ERR_DEVICE:
        return "invalid device ordinal";
    case TD_HOST_ERR_HANDLE:
        return "invalid resource handle";
    case TD_HOST_ERR_NOT_READY:
        return "device not ready";
    case TD_HOST_ERR_FATAL:
        return "an illegal memory access was encountered";
    default:
        return "unknown error";
    }
}

static int h_is_fatal(int code)
{
    return code == TD_HOST_ERR_FATAL;
}

static int h_get_props(int dev, struct td_device_props *p)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "tensord host stand-in");
    p->total_memory = devs[dev].cap;
    p->major = 0;
    p->minor = 0;
    p->multi_processor_count = 1;
    p->warp_size = 1;
    return 0;
}

static int h_mem_get_info(int dev, uint64_t *free_bytes, uint64_t *total_bytes)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    pthread_mutex_lock(&lock);
    *free_bytes = devs[dev].cap - devs[dev].used;
    *total_bytes = devs[dev].cap;
    pthread_mutex_unlock(&lock);
    return 0;
}

/* ---- physical memory */

/* Under lock: room for bytes on dev (and no injected failure)? Charges it. */
static int charge(int dev, uint64_t bytes)
{
    if (fail_next > 0) {
        fail_next--;
        return TD_HOST_ERR_OOM;
    }
    if (bytes > devs[dev].cap - devs[dev].used)
        return TD_HOST_ERR_OOM;
    devs[dev].used += bytes;
    return 0;
}

/* A block is [header | bytes]: the header says which device paid for how much. */
struct memhdr {
    uint32_t magic;
    int dev;
    uint64_t bytes;
};
_Static_assert(sizeof(struct memhdr) <= MEM_ALIGN, "header fits the alignment step");

static int h_mem_alloc(int dev, uint64_t bytes, void **ptr)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    if (bytes > (1ull << 48))
        return TD_HOST_ERR_OOM;
    pthread_mutex_lock(&lock);
    int rc = charge(dev, bytes);
    pthread_mutex_unlock(&lock);
    if (rc)
        return rc;
    void *p;
    if (posix_memalign(&p, MEM_ALIGN, MEM_ALIGN + (bytes ? bytes : 1))) {
        pthread_mutex_lock(&lock);
        devs[dev].used -= bytes;
        pthread_mutex_unlock(&lock);
        return TD_HOST_ERR_OOM;
    }
    *(struct memhdr *)p = (struct memhdr){MAGIC_MEM, dev, bytes};
    *ptr = (char *)p + MEM_ALIGN;
    pthread_mutex_lock(&lock);
    live_allocs++;
    pthread_mutex_unlock(&lock);
    return 0;
}

static int h_mem_free(int dev, void *ptr)
{
    if (!ptr)
        return 0;
    struct memhdr *h = (struct memhdr *)((char *)ptr - MEM_ALIGN);
    if (bad_dev(dev) || h->magic != MAGIC_MEM || h->dev != dev)
        return TD_HOST_ERR_INVALID;
    h->magic = 0;
    pthread_mutex_lock(&lock);
    devs[dev].used -= h->bytes;
    live_allocs--;
    pthread_mutex_unlock(&lock);
    free(h);
    return 0;
}

/* ---- virtual memory */

static uint64_t h_vmm_granularity(int dev)
{
    return have_vmm && !bad_dev(dev) ? GRANULE : 0;
}

static int h_vmm_reserve(int dev, uint64_t bytes, void **va)
{
    if (bad_dev(dev) || !have_vmm)
        return TD_HOST_ERR_DEVICE;
    if (bytes == 0 || bytes % GRANULE || bytes > (1ull << 46))
        return TD_HOST_ERR_INVALID;
    struct reservation *r = calloc(1, sizeof *r);
    uint8_t *mapped = r ? calloc(bytes / GRANULE, 1) : NULL;
    /* over-reserve by a granule, then trim to a granule-aligned range */
    char *p = mapped ? mmap(NULL, bytes + GRANULE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
                     : MAP_FAILED;
    if (p == MAP_FAILED) {
        free(mapped);
        free(r);
        return TD_HOST_ERR_OOM;
    }
    char *a = (char *)(((uintptr_t)p + GRANULE - 1) & ~(uintptr_t)(GRANULE - 1));
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (a + bytes < p + bytes + GRANULE)
        munmap(a + bytes, (size_t)(p + bytes + GRANULE - (a + bytes)));
    *r = (struct reservation){.va = a, .bytes = bytes, .mapped = mapped};
    pthread_mutex_lock(&lock);
    r->next = devs[dev].res;
    devs[dev].res = r;
    pthread_mutex_unlock(&lock);
    *va = a;
    return 0;
}

/* Under lock: the reservation holding [va, va+bytes) on a granule boundary, or NULL. */
static struct reservation *find_res(int dev, void *va, uint64_t bytes)
{
    char *p = va;
    if (bytes == 0 || bytes % GRANULE || (uintptr_t)p % GRANULE)
        return NULL;
    for (struct reservation *r = devs[dev].res; r; r = r->next)
        if (p >= r->va && p < r->va + r->bytes)
            return bytes <= (uint64_t)(r->va + r->bytes - p) ? r : NULL;
    return NULL;
}

static int h_vmm_release(int dev, void *va, uint64_t bytes)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    pthread_mutex_lock(&lock);
    struct reservation **pp = &devs[dev].res;
    while (*pp && (*pp)->va != va)
        pp = &(*pp)->next;
    struct reservation *r = *pp;
    int rc = !r || r->bytes != bytes ? TD_HOST_ERR_INVALID : 0;
    for (uint64_t g = 0; !rc && g < bytes / GRANULE; g++)
        if (r->mapped[g])
            rc = TD_HOST_ERR_INVALID; /* unmap first, as CUDA requires */
    if (!rc)
        *pp = r->next;
    pthread_mutex_unlock(&lock);
    if (rc)
        return rc;
    munmap(r->va, r->bytes);
    free(r->mapped);
    free(r);
    return 0;
}

/* Under lock: are all granules of [va, va+bytes) in r in state `want`? */
static bool granules_are(struct reservation *r, void *va, uint64_t bytes, uint8_t want)
{
    uint64_t g0 = (uint64_t)((char *)va - r->va) / GRANULE;
    for (uint64_t g = g0; g < g0 + bytes / GRANULE; g++)
        if (r->mapped[g] != want)
            return false;
    return true;
}

static void set_granules(struct reservation *r, void *va, uint64_t bytes, uint8_t v)
{
    uint64_t g0 = (uint64_t)((char *)va - r->va) / GRANULE;
    memset(r->mapped + g0, v, bytes / GRANULE);
}

static int h_vmm_map(int dev, void *va, uint64_t bytes, uint64_t *handle)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    pthread_mutex_lock(&lock);
    struct reservation *r = find_res(dev, va, bytes);
    int rc = !r || !granules_are(r, va, bytes, 0) ? TD_HOST_ERR_INVALID : charge(dev, bytes);
    if (!rc) {
        if (mmap(va, bytes, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) ==
            MAP_FAILED) {
            devs[dev].used -= bytes;
            rc = TD_HOST_ERR_OOM;
        } else {
            set_granules(r, va, bytes, 1);
            *handle = next_handle++;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

static int h_vmm_unmap(int dev, void *va, uint64_t bytes, uint64_t handle)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    pthread_mutex_lock(&lock);
    struct reservation *r = find_res(dev, va, bytes);
    int rc = !r || !handle || !granules_are(r, va, bytes, 1) ? TD_HOST_ERR_INVALID : 0;
    if (!rc) {
        /* a fresh PROT_NONE mapping over the range gives its pages back at once */
        mmap(va, bytes, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        set_granules(r, va, bytes, 0);
        devs[dev].used -= bytes;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

/* ---- pinned host memory: plain aligned memory here */

static int h_host_alloc(uint64_t bytes, void **ptr)
{
    return posix_memalign(ptr, 64, bytes ? bytes : 1) ? TD_HOST_ERR_OOM : 0;
}

static int h_host_free(void *ptr)
{
    free(ptr);
    return 0;
}

/* ---- streams and events */

static int h_stream_new(int dev, td_stream_t *s)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    struct hstream *h = calloc(1, sizeof *h);
    if (!h)
        return TD_HOST_ERR_OOM;
    *h = (struct hstream){.magic = MAGIC_STREAM, .dev = dev, .refs = 1};
    *s = h;
    return 0;
}

static int h_stream_free(int dev, td_stream_t s)
{
    if (bad_dev(dev) || !s)
        return TD_HOST_ERR_INVALID;
    pthread_mutex_lock(&lock);
    struct hstream *h = stream_of(dev, s);
    if (h) {
        /* CUDA lets queued work finish after cudaStreamDestroy */
        h->held = false;
        stream_finish(h, h->queued, 0);
        stream_unref(h);
    }
    pthread_mutex_unlock(&lock);
    return h ? 0 : TD_HOST_ERR_HANDLE;
}

static int h_stream_sync(int dev, td_stream_t s)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    pthread_mutex_lock(&lock);
    struct hstream *h = stream_of(dev, s);
    if (h)
        stream_finish(h, h->queued, 0);
    nsyncs++;
    pthread_mutex_unlock(&lock);
    return h ? 0 : TD_HOST_ERR_HANDLE;
}

static int h_event_new(int dev, td_event_t *e, int timing)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    struct hevent *h = calloc(1, sizeof *h);
    if (!h)
        return TD_HOST_ERR_OOM;
    *h = (struct hevent){.magic = MAGIC_EVENT, .dev = dev, .timing = timing != 0};
    *e = h;
    return 0;
}

static struct hevent *event_of(int dev, td_event_t e)
{
    struct hevent *h = e;
    return h && h->magic == MAGIC_EVENT && h->dev == dev ? h : NULL;
}

static int h_event_free(int dev, td_event_t e)
{
    pthread_mutex_lock(&lock);
    struct hevent *h = bad_dev(dev) ? NULL : event_of(dev, e);
    if (h) {
        if (h->s)
            stream_unref(h->s);
        h->magic = 0;
        free(h);
    }
    pthread_mutex_unlock(&lock);
    return h ? 0 : TD_HOST_ERR_HANDLE;
}

static int h_event_record(int dev, td_event_t e, td_stream_t s)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    pthread_mutex_lock(&lock);
    struct hevent *h = event_of(dev, e);
    struct hstream *st = stream_of(dev, s);
    if (h && st) {
        st->refs++;
        if (h->s)
            stream_unref(h->s);
        h->s = st;
        h->count = st->queued;
        clock_gettime(CLOCK_MONOTONIC, &h->t);
    }
    pthread_mutex_unlock(&lock);
    return h && st ? 0 : TD_HOST_ERR_HANDLE;
}

static int h_event_query(int dev, td_event_t e)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    pthread_mutex_lock(&lock);
    struct hevent *h = event_of(dev, e);
    int rc = !h ? TD_HOST_ERR_HANDLE : h->s && stream_done(h->s, 0) < h->count ? 1 : 0;
    pthread_mutex_unlock(&lock);
    return rc;
}

static int h_event_sync(int dev, td_event_t e)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    pthread_mutex_lock(&lock);
    struct hevent *h = event_of(dev, e);
    if (h && h->s)
        stream_finish(h->s, h->count, 0);
    pthread_mutex_unlock(&lock);
    return h ? 0 : TD_HOST_ERR_HANDLE;
}

static int h_stream_wait_event(int dev, td_stream_t s, td_event_t e)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    pthread_mutex_lock(&lock);
    struct hstream *st = stream_of(dev, s);
    struct hevent *h = event_of(dev, e);
    int rc = !st || !h ? TD_HOST_ERR_HANDLE : 0;
    if (!rc && h->s && h->s != st && stream_done(h->s, 0) < h->count) {
        if (st->nwait == MAX_WAITS) {
            rc = TD_HOST_ERR_INVALID;
        } else {
            h->s->refs++; /* the wait keeps the stream it waits on */
            st->wait[st->nwait++] = (struct hwait){h->s, h->count, st->queued};
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

static int h_event_elapsed_ms(int dev, td_event_t start, td_event_t end, float *ms)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    pthread_mutex_lock(&lock);
    struct hevent *a = event_of(dev, start), *b = event_of(dev, end);
    int rc = !a || !b ? TD_HOST_ERR_HANDLE : 0;
    if (!rc && (!a->timing || !b->timing || !a->s || !b->s))
        rc = TD_HOST_ERR_INVALID;
    if (!rc && (stream_done(a->s, 0) < a->count || stream_done(b->s, 0) < b->count))
        rc = TD_HOST_ERR_NOT_READY;
    if (!rc)
        *ms = (float)((double)(b->t.tv_sec - a->t.tv_sec) * 1e3 + (double)(b->t.tv_nsec - a->t.tv_nsec) / 1e6);
    pthread_mutex_unlock(&lock);
    return rc;
}

/* ---- work: done at once, counted on the stream */

static int enqueue(int dev, td_stream_t s)
{
    if (bad_dev(dev))
        return TD_HOST_ERR_DEVICE;
    pthread_mutex_lock(&lock);
    struct hstream *st = stream_of(dev, s);
    if (st)
        st->queued++;
    pthread_mutex_unlock(&lock);
    return st ? 0 : TD_HOST_ERR_HANDLE;
}

static atomic_bool inject_fault;

void td_device_host_inject_fault(void) { atomic_store(&inject_fault, true); }

static int h_memcpy_async(int dev, void *dst, const void *src, uint64_t n, enum td_copy_kind kind, td_stream_t s)
{
    if (atomic_exchange(&inject_fault, false))
        return TD_HOST_ERR_FATAL;
    int rc = enqueue(dev, s);
    if (!rc && n)
        memmove(dst, src, n);
    return rc;
}

static int h_memset_async(int dev, void *dst, int value, uint64_t n, td_stream_t s)
{
    int rc = enqueue(dev, s);
    if (!rc && n)
        memset(dst, value, n);
    return rc;
}

static atomic_bool no_kernels; /* set at start-up, read by every op's kernel look-up */

void td_device_host_kernels(bool on) { no_kernels = !on; }

static td_kernel_fn h_kernel(unsigned op, unsigned dt)
{
    if (op >= TD_OP_COUNT || dt >= TD_DTYPE_COUNT || no_kernels)
        return NULL;
    td_kernel_fn f = td_dtype_is_complex((enum td_dtype)dt) ? td__cpu_complex_kernel(op) : NULL;
    return f ? f : td_cpu_kernels[op];
}

/* ---- native float16/bfloat16 kernels (a test hook, off by default): a device's
 * half_kernel reads and writes the 16-bit operands as they are and computes in float32;
 * here the same is done by converting into float32 scratch around the CPU kernel, so
 * the executor's native path runs, and is checked against the cast path, without a GPU. */

static atomic_bool half_kernels;
static atomic_ullong half_calls;

void td_device_host_half_kernels(bool on) { half_kernels = on; }
uint64_t td_device_host_half_calls(void) { return half_calls; }

static enum td_code host_convert(struct td_kt *dst, struct td_kt *src)
{
    struct td_kctx k = {.op = TD_OP_COPY_, .n_in = 2, .compute_dtype = dst->m.dtype};
    k.in[0] = dst;
    k.in[1] = src;
    return td_cpu_copy_(&k);
}

/* Float32 scratch shaped like t (its values when copy); NULL data on failure. */
static void f32_scratch(struct td_kt *t, struct td_kt *f, bool copy)
{
    struct td_status st;
    f->data = NULL;
    if (td_meta_contiguous(&f->m, TD_DTYPE_FLOAT32, t->m.ndim, t->m.sizes, &st) ||
        !(f->data = malloc(f->m.storage_nbytes ? (size_t)f->m.storage_nbytes : 1)))
        return;
    if (copy && host_convert(f, t)) {
        free(f->data);
        f->data = NULL;
    }
}

static enum td_code h_half_run(struct td_kctx *k)
{
    struct td_kt fin[TD_MAX_INPUTS], fout[TD_MAX_OUTPUTS];
    struct td_kctx c = *k;
    int half = k->compute_dtype, ni = 0, no = 0;
    enum td_code rc = TD_CODE_OK;
    c.compute_dtype = TD_DTYPE_FLOAT32;
    for (; ni < k->n_in && !rc; ni++) {
        fin[ni].data = NULL;
        if (k->in[ni]->m.dtype != half)
            continue;
        f32_scratch(k->in[ni], &fin[ni], true);
        c.in[ni] = &fin[ni];
        rc = fin[ni].data ? TD_CODE_OK : TD_CODE_RESOURCE_EXHAUSTED;
    }
    for (; no < k->n_out && !rc; no++) {
        fout[no].data = NULL;
        if (k->out[no]->m.dtype != half)
            continue;
        f32_scratch(k->out[no], &fout[no], false);
        c.out[no] = &fout[no];
        rc = fout[no].data ? TD_CODE_OK : TD_CODE_RESOURCE_EXHAUSTED;
    }
    if (!rc)
        rc = td_cpu_kernels[k->op](&c);
    for (int j = 0; j < no && !rc; j++)
        if (fout[j].data)
            rc = host_convert(k->out[j], &fout[j]);
    for (int i = 0; i < ni; i++)
        free(fin[i].data);
    for (int j = 0; j < no; j++)
        free(fout[j].data);
    half_calls += !rc;
    return rc;
}

/* The families the CUDA plugin runs natively (kernels/cuda/backend.cu's cu_half_kernel). */
static td_kernel_fn h_half_kernel(unsigned op, unsigned dt)
{
    if (!half_kernels || no_kernels || op >= TD_OP_COUNT || (dt != TD_DTYPE_FLOAT16 && dt != TD_DTYPE_BFLOAT16))
        return NULL;
    switch (td_op_table[op].family) {
    case TD_FAM_BINARY:
    case TD_FAM_UNARY:
    case TD_FAM_MATH_UNARY:
    case TD_FAM_MATH_BINARY:
    case TD_FAM_MATH_TERNARY:
    case TD_FAM_REDUCE:
    case TD_FAM_STAT:
    case TD_FAM_MATMUL:
    case TD_FAM_SOFTMAX:
    case TD_FAM_WHERE: return h_half_run;
    case TD_FAM_INDEX: return op == TD_OP_GATHER || op == TD_OP_INDEX ? h_half_run : NULL;
    case TD_FAM_CONV: return op != TD_OP_MAX_POOL_BACKWARD ? h_half_run : NULL;
    default: return NULL;
    }
}

static const struct td_device_backend host_backend = {
    .abi = TD_DEVICE_ABI,
    .kind = "cuda", /* it stands in for CUDA devices: cuda:0.. */
    .init = h_init,
    .describe = h_describe,
    .error_string = h_error_string,
    .is_fatal = h_is_fatal,
    .get_props = h_get_props,
    .mem_get_info = h_mem_get_info,
    .mem_alloc = h_mem_alloc,
    .mem_free = h_mem_free,
    .vmm_granularity = h_vmm_granularity,
    .vmm_reserve = h_vmm_reserve,
    .vmm_release = h_vmm_release,
    .vmm_map = h_vmm_map,
    .vmm_unmap = h_vmm_unmap,
    .host_alloc = h_host_alloc,
    .host_free = h_host_free,
    .stream_new = h_stream_new,
    .stream_free = h_stream_free,
    .stream_sync = h_stream_sync,
    .event_new = h_event_new,
    .event_free = h_event_free,
    .event_record = h_event_record,
    .event_query = h_event_query,
    .event_sync = h_event_sync,
    .stream_wait_event = h_stream_wait_event,
    .event_elapsed_ms = h_event_elapsed_ms,
    .memcpy_async = h_memcpy_async,
    .memset_async = h_memset_async,
    .kernel = h_kernel,
    .half_kernel = h_half_kernel,
};

const struct td_device_backend *td_device_host_backend(int ndevices, uint64_t mem_per_device, bool vmm)
{
    if (ndevices < 1 || ndevices > TD_MAX_DEVICES)
        return NULL;
    pthread_mutex_lock(&lock);
    bool busy = live_allocs > 0;
    for (int i = 0; i < ndev && !busy; i++)
        busy = devs[i].used || devs[i].res;
    if (!busy) {
        ndev = ndevices;
        have_vmm = vmm;
        fail_next = 0;
        for (int i = 0; i < TD_MAX_DEVICES; i++)
            devs[i] = (struct hdev){.cap = i < ndevices ? mem_per_device : 0,
                                    .dflt = {.magic = MAGIC_STREAM, .dev = i, .refs = 1}};
    }
    pthread_mutex_unlock(&lock);
    return busy ? NULL : &host_backend;
}

void td_device_host_fail_next(int n)
{
    pthread_mutex_lock(&lock);
    fail_next = n;
    pthread_mutex_unlock(&lock);
}

void td_device_host_stream_hold(int dev, td_stream_t s, bool hold)
{
    pthread_mutex_lock(&lock);
    struct hstream *h = bad_dev(dev) ? NULL : stream_of(dev, s);
    if (h) {
        stream_done(h, 0); /* what completed before the hold stays completed */
        h->held = hold;
    }
    pthread_mutex_unlock(&lock);
}

uint64_t td_device_host_used(int dev)
{
    pthread_mutex_lock(&lock);
    uint64_t u = bad_dev(dev) ? 0 : devs[dev].used;
    pthread_mutex_unlock(&lock);
    return u;
}

uint64_t td_device_host_syncs(void)
{
    pthread_mutex_lock(&lock);
    uint64_t n = nsyncs;
    pthread_mutex_unlock(&lock);
    return n;
}
