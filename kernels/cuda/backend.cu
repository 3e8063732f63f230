/*
 * backend.cu — the CUDA plugin's struct td_device_backend (kernels/device.h): device
 * discovery, memory, virtual memory for expandable segments, pinned host memory,
 * streams, events, copies, and the kernel lookup.  The one exported symbol is
 * td_device_backend_entry; everything else is hidden (-fvisibility=hidden).
 *
 * Every entry that touches a device makes it current first (cudaSetDevice is cheap
 * when it already is), so the daemon may call from any thread.  Errors are the CUDA
 * runtime's codes; a failing call's non-sticky error is cleared at once, so it never
 * shows up later in an unrelated kernel launch.  Driver API errors (virtual memory)
 * are CUresult values offset by TD_CU_DRIVER_BASE, so error_string can name both.
 *
 * The driver API is reached through the runtime (cudaGetDriverEntryPointByVersion),
 * never by linking libcuda: the plugin loads on machines without a driver, where
 * init() then reports why there are no devices.  cuDNN is reached through dlopen only
 * (its version here, the convolutions in conv.cu), so a machine without cuDNN still
 * gets the plugin.  Kernels that find a bad index report it at the stream's next
 * stream_sync (TD_CU_ERR_INDEX, index_ops.cuh).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuda_common.cuh"
#include "index_ops.cuh"

#if TD_GPU_HAVE_VMM
#include <cuda.h>
#endif
#if TD_GPU_HAVE_BLASLT
#include <cublasLt.h>
#endif

#define TD_CU_DRIVER_BASE 100000

int td__cuda_allow_tf32 = 0;

static int n_devices;

static int fail(cudaError_t e)
{
    if (e != cudaSuccess)
        (void)cudaGetLastError(); /* clear it: only sticky errors should outlive their call */
    return (int)e;
}

/* dev is the backend's device index, 0 .. init()'s count - 1 */
#define SET_DEV(dev)                                          \
    do {                                                      \
        if ((dev) < 0 || (dev) >= n_devices)                  \
            return (int)cudaErrorInvalidDevice;               \
        cudaError_t e_ = cudaSetDevice(dev);                  \
        if (e_ != cudaSuccess)                                \
            return fail(e_);                                  \
    } while (0)

/* ---- driver entry points for virtual memory */
#if TD_GPU_HAVE_VMM
static struct {
    bool ok;
    CUresult (*reserve)(CUdeviceptr *, size_t, size_t, CUdeviceptr, unsigned long long);
    CUresult (*addr_free)(CUdeviceptr, size_t);
    CUresult (*create)(CUmemGenericAllocationHandle *, size_t, const CUmemAllocationProp *, unsigned long long);
    CUresult (*release)(CUmemGenericAllocationHandle);
    CUresult (*map)(CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle, unsigned long long);
    CUresult (*unmap)(CUdeviceptr, size_t);
    CUresult (*set_access)(CUdeviceptr, size_t, const CUmemAccessDesc *, size_t);
    CUresult (*granularity)(size_t *, const CUmemAllocationProp *, CUmemAllocationGranularity_flags);
    CUresult (*err_string)(CUresult, const char **);
} drv;

static void *driver_sym(const char *name)
{
    void *fn = NULL;
    cudaDriverEntryPointQueryResult q;
    /* 12000: the ABI these entry points have had since CUDA 12.0 */
    if (cudaGetDriverEntryPointByVersion(name, &fn, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess)
        fn = NULL;
    (void)cudaGetLastError();
    return fn;
}

static void driver_resolve(void)
{
    drv.reserve = (decltype(drv.reserve))driver_sym("cuMemAddressReserve");
    drv.addr_free = (decltype(drv.addr_free))driver_sym("cuMemAddressFree");
    drv.create = (decltype(drv.create))driver_sym("cuMemCreate");
    drv.release = (decltype(drv.release))driver_sym("cuMemRelease");
    drv.map = (decltype(drv.map))driver_sym("cuMemMap");
    drv.unmap = (decltype(drv.unmap))driver_sym("cuMemUnmap");
    drv.set_access = (decltype(drv.set_access))driver_sym("cuMemSetAccess");
    drv.granularity = (decltype(drv.granularity))driver_sym("cuMemGetAllocationGranularity");
    drv.err_string = (decltype(drv.err_string))driver_sym("cuGetErrorString");
    drv.ok = drv.reserve && drv.addr_free && drv.create && drv.release && drv.map && drv.unmap && drv.set_access &&
             drv.granularity;
}

static int drv_code(CUresult r) { return r == CUDA_SUCCESS ? 0 : TD_CU_DRIVER_BASE + (int)r; }

static CUmemAllocationProp pinned_prop(int dev)
{
    CUmemAllocationProp p;
    memset(&p, 0, sizeof p);
    p.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    p.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    p.location.id = dev;
    return p;
}
#endif

/* ---- discovery */

static int cu_init(char *why, size_t len)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        snprintf(why, len, "%s: %s (%d)", TD_GPU_HIP ? "hipGetDeviceCount" : "cudaGetDeviceCount", cudaGetErrorString(e),
                 (int)e);
        (void)cudaGetLastError();
        n_devices = 0;
        return 0;
    }
    if (n == 0)
        snprintf(why, len, "%s: no devices", TD_GPU_HIP ? "hipGetDeviceCount" : "cudaGetDeviceCount");
    if (n > TD_MAX_DEVICES)
        n = TD_MAX_DEVICES;
    const char *tf32 = getenv("TENSORD_CUDA_ALLOW_TF32");
    td__cuda_allow_tf32 = tf32 && tf32[0] == '1';
#if TD_GPU_HAVE_VMM
    driver_resolve();
#endif
    n_devices = n;
    return n;
}

static void cu_describe(char *buf, size_t len)
{
    int rt = 0, dr = 0;
    if (cudaRuntimeGetVersion(&rt) != cudaSuccess)
        rt = 0;
    if (cudaDriverGetVersion(&dr) != cudaSuccess)
        dr = 0;
    (void)cudaGetLastError();
#if TD_GPU_HIP /* HIP_VERSION: major * 10^7 + minor * 10^5 + patch */
    int w = snprintf(buf, len, "HIP runtime %d.%d, driver %d.%d", rt / 10000000, rt / 100000 % 100, dr / 10000000,
                     dr / 100000 % 100);
#else /* CUDA: major * 1000 + minor * 10 */
    int w = snprintf(buf, len, "CUDA runtime %d.%d, driver %d.%d", rt / 1000, rt % 1000 / 10, dr / 1000, dr % 1000 / 10);
#endif
    if (w < 0 || (size_t)w >= len)
        return;
#if TD_GPU_HAVE_BLASLT
    size_t lt = cublasLtGetVersion();
    w += snprintf(buf + w, len - (size_t)w, ", cuBLASLt %zu.%zu.%zu", lt / 10000, lt / 100 % 100, lt % 100);
    if ((size_t)w >= len)
        return;
#endif
#if TD_GPU_HAVE_CUDNN
    /* cuDNN's version: looked up, not linked (the plugin loads without it) */
    void *h = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (!h)
        h = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
    if (h) {
        size_t (*ver)(void) = (size_t (*)(void))dlsym(h, "cudnnGetVersion");
        if (ver) {
            size_t v = ver();
            snprintf(buf + w, len - (size_t)w, ", cuDNN %zu.%zu.%zu", v / 10000, v / 100 % 100, v % 100);
        }
        dlclose(h);
    } else {
        snprintf(buf + w, len - (size_t)w, ", cuDNN not found");
    }
#endif
}

/* ---- device-side index errors (index_ops.cuh): a record in device memory and a flag
 * in mapped host memory per stream, and one pair per device for the legacy stream
 * (k->stream NULL).  Made on the first indexing kernel of the stream. */

typedef struct td_cu_ierr_pair ierr_pair;
static ierr_pair legacy_ierr[TD_MAX_DEVICES];
static pthread_mutex_t ierr_mu = PTHREAD_MUTEX_INITIALIZER;
/* the last index error's message, for error_string on the thread that synchronized */
static __thread char ierr_msg[TD_KMSG_LEN];

static void ierr_free(ierr_pair *e)
{
    if (e->rec)
        (void)cudaFree(e->rec);
    if (e->flag)
        (void)cudaFreeHost(e->flag);
    e->rec = NULL, e->flag = NULL, e->dflag = NULL;
}

static bool ierr_make(ierr_pair *e, cudaStream_t s)
{
    e->flag = NULL, e->dflag = NULL;
    if (cudaMalloc((void **)&e->rec, sizeof *e->rec) != cudaSuccess) {
        (void)cudaGetLastError();
        e->rec = NULL;
        return false;
    }
    if (cudaHostAlloc((void **)&e->flag, sizeof(int), cudaHostAllocMapped | cudaHostAllocPortable) != cudaSuccess ||
        cudaMemsetAsync(e->rec, 0, sizeof *e->rec, s) != cudaSuccess) {
        (void)cudaGetLastError();
        if (e->flag)
            (void)cudaFreeHost(e->flag);
        (void)cudaFree(e->rec);
        e->rec = NULL, e->flag = NULL;
        return false;
    }
    *e->flag = 0;
    void *d = NULL;
    if (cudaHostGetDevicePointer(&d, e->flag, 0) != cudaSuccess) {
        (void)cudaGetLastError();
        ierr_free(e);
        return false;
    }
    e->dflag = (int *)d;
    return true;
}

bool td__cuda_ierr_slot(const struct td_kctx *k, struct td_cu_ierr_slot *slot)
{
    struct td_cu_stream *st = (struct td_cu_stream *)k->stream;
    int dev = st ? st->dev : k->device;
    if (dev < 0 || dev >= TD_MAX_DEVICES)
        return false;
    ierr_pair *e = st ? &st->ierr : &legacy_ierr[dev];
    pthread_mutex_lock(&ierr_mu);
    bool ok = e->rec || ierr_make(e, td_cu_stream_of(st));
    pthread_mutex_unlock(&ierr_mu);
    if (!ok)
        return false;
    slot->rec = e->rec;
    slot->flag = e->dflag;
    return true;
}

/* After a stream drained: its index error, if a kernel raised one (cleared here). */
static int ierr_check(ierr_pair *e, cudaStream_t s)
{
    if (!e->flag || !*(volatile int *)e->flag)
        return 0;
    struct td_cu_ierr r;
    memset(&r, 0, sizeof r);
    cudaError_t c = cudaMemcpyAsync(&r, e->rec, sizeof r, cudaMemcpyDeviceToHost, s);
    if (c == cudaSuccess)
        c = cudaMemsetAsync(e->rec, 0, sizeof r, s);
    if (c == cudaSuccess)
        c = cudaStreamSynchronize(s);
    if (c != cudaSuccess)
        return fail(c);
    *(volatile int *)e->flag = 0;
    td_cu_ierr_format(&r, ierr_msg, sizeof ierr_msg);
    return TD_CU_ERR_INDEX;
}

static const char *cu_error_string(int code)
{
    if (code == TD_CU_ERR_INDEX)
        return ierr_msg[0] ? ierr_msg : "index out of bounds in a device kernel";
#if TD_GPU_HAVE_VMM
    if (code >= TD_CU_DRIVER_BASE) {
        const char *s = NULL;
        if (drv.err_string && drv.err_string((CUresult)(code - TD_CU_DRIVER_BASE), &s) == CUDA_SUCCESS && s)
            return s;
        return "CUDA driver error";
    }
#endif
    return cudaGetErrorString((cudaError_t)code);
}

/* Sticky errors: the context is corrupt and every later call on it fails.  The
 * driver API uses the same numbers for these. */
static int cu_is_fatal(int code)
{
    if (code >= TD_CU_DRIVER_BASE)
        code -= TD_CU_DRIVER_BASE;
    switch (code) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
    case cudaErrorECCUncorrectable:
#if !TD_GPU_HIP /* HIP has no codes for these */
    case cudaErrorIllegalInstruction:
    case cudaErrorInvalidPc:
    case cudaErrorHardwareStackError:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorContextIsDestroyed:
#endif
        return 1;
    default:
        return 0;
    }
}

static int cu_get_props(int dev, struct td_device_props *p)
{
    cudaDeviceProp d;
    cudaError_t e = cudaGetDeviceProperties(&d, dev);
    if (e != cudaSuccess)
        return fail(e);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%.127s", d.name);
    p->total_memory = d.totalGlobalMem;
    p->major = d.major;
    p->minor = d.minor;
    p->multi_processor_count = d.multiProcessorCount;
    p->warp_size = d.warpSize;
    p->l2_cache_bytes = (uint64_t)d.l2CacheSize;
    return 0;
}

static int cu_mem_get_info(int dev, uint64_t *free_bytes, uint64_t *total_bytes)
{
    size_t f = 0, t = 0;
    SET_DEV(dev);
    cudaError_t e = cudaMemGetInfo(&f, &t);
    *free_bytes = f;
    *total_bytes = t;
    return fail(e);
}

/* ---- memory */

static int cu_mem_alloc(int dev, uint64_t bytes, void **ptr)
{
    *ptr = NULL;
    SET_DEV(dev);
    return fail(cudaMalloc(ptr, bytes));
}

static int cu_mem_free(int dev, void *ptr)
{
    SET_DEV(dev);
    return fail(cudaFree(ptr));
}

static uint64_t cu_vmm_granularity(int dev)
{
#if TD_GPU_HAVE_VMM
    if (!drv.ok || dev < 0 || dev >= n_devices || cudaSetDevice(dev) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    CUmemAllocationProp p = pinned_prop(dev);
    size_t g = 0;
    if (drv.granularity(&g, &p, CU_MEM_ALLOC_GRANULARITY_MINIMUM) != CUDA_SUCCESS)
        return 0;
    return g;
#else
    (void)dev;
    return 0;
#endif
}

static int cu_vmm_reserve(int dev, uint64_t bytes, void **va)
{
#if TD_GPU_HAVE_VMM
    *va = NULL;
    if (!drv.ok)
        return (int)cudaErrorNotSupported;
    SET_DEV(dev);
    CUdeviceptr p = 0;
    CUresult r = drv.reserve(&p, bytes, 0, 0, 0);
    *va = (void *)(uintptr_t)p;
    return drv_code(r);
#else
    (void)dev, (void)bytes;
    *va = NULL;
    return (int)cudaErrorNotSupported;
#endif
}

static int cu_vmm_release(int dev, void *va, uint64_t bytes)
{
#if TD_GPU_HAVE_VMM
    if (!drv.ok)
        return (int)cudaErrorNotSupported;
    SET_DEV(dev);
    return drv_code(drv.addr_free((CUdeviceptr)(uintptr_t)va, bytes));
#else
    (void)dev, (void)va, (void)bytes;
    return (int)cudaErrorNotSupported;
#endif
}

static int cu_vmm_map(int dev, void *va, uint64_t bytes, uint64_t *handle)
{
#if TD_GPU_HAVE_VMM
    if (!drv.ok)
        return (int)cudaErrorNotSupported;
    SET_DEV(dev);
    CUmemAllocationProp p = pinned_prop(dev);
    CUmemGenericAllocationHandle h;
    CUdeviceptr d = (CUdeviceptr)(uintptr_t)va;
    CUresult r = drv.create(&h, bytes, &p, 0);
    if (r != CUDA_SUCCESS)
        return drv_code(r);
    r = drv.map(d, bytes, 0, h, 0);
    if (r != CUDA_SUCCESS) {
        drv.release(h);
        return drv_code(r);
    }
    CUmemAccessDesc a;
    memset(&a, 0, sizeof a);
    a.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    a.location.id = dev;
    a.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
    r = drv.set_access(d, bytes, &a, 1);
    if (r != CUDA_SUCCESS) {
        drv.unmap(d, bytes);
        drv.release(h);
        return drv_code(r);
    }
    *handle = (uint64_t)h;
    return 0;
#else
    (void)dev, (void)va, (void)bytes, (void)handle;
    return (int)cudaErrorNotSupported;
#endif
}

static int cu_vmm_unmap(int dev, void *va, uint64_t bytes, uint64_t handle)
{
#if TD_GPU_HAVE_VMM
    if (!drv.ok)
        return (int)cudaErrorNotSupported;
    SET_DEV(dev);
    CUresult r = drv.unmap((CUdeviceptr)(uintptr_t)va, bytes);
    CUresult r2 = drv.release((CUmemGenericAllocationHandle)handle); /* physical memory goes once unmapped */
    return drv_code(r != CUDA_SUCCESS ? r : r2);
#else
    (void)dev, (void)va, (void)bytes, (void)handle;
    return (int)cudaErrorNotSupported;
#endif
}

static int cu_host_alloc(uint64_t bytes, void **ptr)
{
    *ptr = NULL;
    return fail(cudaHostAlloc(ptr, bytes, cudaHostAllocPortable));
}

static int cu_host_free(void *ptr) { return fail(cudaFreeHost(ptr)); }

/* ---- streams and events */

static int cu_stream_new(int dev, td_stream_t *s)
{
    *s = NULL;
    SET_DEV(dev);
    struct td_cu_stream *st = (struct td_cu_stream *)calloc(1, sizeof *st);
    if (!st)
        return (int)cudaErrorMemoryAllocation;
    st->dev = dev;
    cudaError_t e = cudaStreamCreateWithFlags(&st->s, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        free(st);
        return fail(e);
    }
    *s = st;
    return 0;
}

static int cu_stream_free(int dev, td_stream_t s)
{
    struct td_cu_stream *st = (struct td_cu_stream *)s;
    if (!st)
        return 0;
    SET_DEV(dev);
    td__cuda_stream_release(st);
    td__cuda_conv_release(st);
    (void)cudaStreamSynchronize(st->s); /* its kernels may still write the error record */
    ierr_free(&st->ierr);
    cudaError_t e = cudaStreamDestroy(st->s);
    free(st);
    return fail(e);
}

static int cu_stream_sync(int dev, td_stream_t s)
{
    SET_DEV(dev);
    int e = fail(cudaStreamSynchronize(td_cu_stream_of(s)));
    if (e)
        return e;
    return ierr_check(s ? &((struct td_cu_stream *)s)->ierr : &legacy_ierr[dev], td_cu_stream_of(s));
}

static int cu_event_new(int dev, td_event_t *e, int timing)
{
    *e = NULL;
    SET_DEV(dev);
    cudaEvent_t ev;
    cudaError_t r = cudaEventCreateWithFlags(&ev, timing ? cudaEventDefault : cudaEventDisableTiming);
    *e = r == cudaSuccess ? (td_event_t)ev : NULL;
    return fail(r);
}

static int cu_event_free(int dev, td_event_t e)
{
    SET_DEV(dev);
    return fail(cudaEventDestroy((cudaEvent_t)e));
}

static int cu_event_record(int dev, td_event_t e, td_stream_t s)
{
    SET_DEV(dev);
    return fail(cudaEventRecord((cudaEvent_t)e, td_cu_stream_of(s)));
}

static int cu_event_query(int dev, td_event_t e)
{
    SET_DEV(dev);
    cudaError_t r = cudaEventQuery((cudaEvent_t)e);
    if (r == cudaErrorNotReady) {
        (void)cudaGetLastError();
        return 1;
    }
    return fail(r);
}

static int cu_event_sync(int dev, td_event_t e)
{
    SET_DEV(dev);
    return fail(cudaEventSynchronize((cudaEvent_t)e));
}

static int cu_stream_wait_event(int dev, td_stream_t s, td_event_t e)
{
    SET_DEV(dev);
    return fail(cudaStreamWaitEvent(td_cu_stream_of(s), (cudaEvent_t)e, 0));
}

static int cu_event_elapsed_ms(int dev, td_event_t start, td_event_t end, float *ms)
{
    SET_DEV(dev);
    return fail(cudaEventElapsedTime(ms, (cudaEvent_t)start, (cudaEvent_t)end));
}

static int cu_memcpy_async(int dev, void *dst, const void *src, uint64_t n, enum td_copy_kind kind, td_stream_t s)
{
    cudaMemcpyKind k;
    switch (kind) {
    case TD_COPY_H2D: k = cudaMemcpyHostToDevice; break;
    case TD_COPY_D2H: k = cudaMemcpyDeviceToHost; break;
    case TD_COPY_D2D: k = cudaMemcpyDeviceToDevice; break;
    default: return (int)cudaErrorInvalidValue;
    }
    SET_DEV(dev);
    if (n == 0)
        return 0;
    return fail(cudaMemcpyAsync(dst, src, n, k, td_cu_stream_of(s)));
}

static int cu_memset_async(int dev, void *dst, int value, uint64_t n, td_stream_t s)
{
    SET_DEV(dev);
    if (n == 0)
        return 0;
    return fail(cudaMemsetAsync(dst, value, n, td_cu_stream_of(s)));
}

/* ---- kernels */

static td_kernel_fn cu_kernel(unsigned op, unsigned dt)
{
    td_kernel_fn f;
    if (dt >= TD_DTYPE_COUNT)
        return NULL;
    /* the byte movers take every dtype (complex too); the rest compute dtypes only */
    if ((f = td__cuda_copy_kernel(op, dt)) || (f = td__cuda_index_kernel(op, dt)) ||
        (f = td__cuda_create_kernel(op, dt)))
        return f;
    if (!td_cu_compute_dtype((int)dt))
        return NULL;
    if ((f = td__cuda_binary_kernel(op, dt)) || (f = td__cuda_unary_kernel(op, dt)) ||
        (f = td__cuda_math_kernel(op, dt)) ||
        (f = td__cuda_reduce_kernel(op, dt)) || (f = td__cuda_matmul_kernel(op, dt)) ||
        (f = td__cuda_softmax_kernel(op, dt)) || (f = td__cuda_optim_kernel(op, dt)) ||
        (f = td__cuda_conv_kernel(op, dt)) || (f = td__cuda_pool_kernel(op, dt)) ||
        (f = td__cuda_random_kernel(op, dt)) || (f = td__cuda_scan_kernel(op, dt)) ||
        (f = td__cuda_sort_kernel(op, dt)))
        return f;
    return NULL;
}

/* float16/bfloat16 read and written as they are (device.h): the families whose kernels
 * load them into float and store them rounded */
static td_kernel_fn cu_half_kernel(unsigned op, unsigned dt)
{
    td_kernel_fn f;
    if (!td_cu_is_half((int)dt))
        return NULL;
    if (op == TD_OP_WHERE || op == TD_OP_CAT || op == TD_OP_FLIP || op == TD_OP_TRIL || op == TD_OP_TRIU) /* byte movers */
        return td__cuda_copy_kernel(op, dt);
    if ((f = td__cuda_index_half_kernel(op, dt)))
        return f;
    if ((f = td__cuda_binary_kernel(op, dt)) || (f = td__cuda_unary_kernel(op, dt)) ||
        (f = td__cuda_math_kernel(op, dt)) ||
        (f = td__cuda_reduce_kernel(op, dt)) || (f = td__cuda_matmul_kernel(op, dt)) ||
        (f = td__cuda_softmax_kernel(op, dt)) || (f = td__cuda_conv_kernel(op, dt)) ||
        (f = td__cuda_pool_kernel(op, dt)))
        return f;
    return NULL;
}

static struct td_device_backend make_table(void)
{
    struct td_device_backend b;
    memset(&b, 0, sizeof b);
    b.abi = TD_DEVICE_ABI;
    b.kind = TD_GPU_KIND;
    b.init = cu_init;
    b.describe = cu_describe;
    b.error_string = cu_error_string;
    b.is_fatal = cu_is_fatal;
    b.get_props = cu_get_props;
    b.mem_get_info = cu_mem_get_info;
    b.mem_alloc = cu_mem_alloc;
    b.mem_free = cu_mem_free;
    b.vmm_granularity = cu_vmm_granularity;
    b.vmm_reserve = cu_vmm_reserve;
    b.vmm_release = cu_vmm_release;
    b.vmm_map = cu_vmm_map;
    b.vmm_unmap = cu_vmm_unmap;
    b.host_alloc = cu_host_alloc;
    b.host_free = cu_host_free;
    b.stream_new = cu_stream_new;
    b.stream_free = cu_stream_free;
    b.stream_sync = cu_stream_sync;
    b.event_new = cu_event_new;
    b.event_free = cu_event_free;
    b.event_record = cu_event_record;
    b.event_query = cu_event_query;
    b.event_sync = cu_event_sync;
    b.stream_wait_event = cu_stream_wait_event;
    b.event_elapsed_ms = cu_event_elapsed_ms;
    b.memcpy_async = cu_memcpy_async;
    b.memset_async = cu_memset_async;
    b.kernel = cu_kernel;
    b.half_kernel = cu_half_kernel;
    return b;
}

extern "C" __attribute__((visibility("default"))) const struct td_device_backend *td_device_backend_entry(void)
{
    static const struct td_device_backend table = make_table(); /* C++ makes this thread-safe */
    return &table;
}
