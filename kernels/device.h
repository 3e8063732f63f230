/*
 * device.h — the contract between the daemon and a device backend: the CUDA plugin
 * (kernels/cuda, built with nvcc into libtensord_cuda.so and loaded with dlopen), its
 * ROCm build (the same sources through hipcc), and the host-memory stand-in
 * (daemon/device_host.c) that lets every machine run the device code paths: the
 * caching allocator's tests and `tensord --fake-gpus N`.
 *
 * Plain C with no CUDA types, so the daemon builds without the toolkit.  Every entry
 * returns 0 on success or the backend's own error code, which error_string() names
 * (the daemon puts that name in the message the client sees).  Streams and events are
 * opaque pointers the backend created.  Entries never block unless their name says so
 * (stream_sync, event_sync); copies and kernels are queued on the stream they are given.
 *
 * Kernels take the CPU kernels' context (kernels/kernel.h): data pointers are device
 * pointers, k->stream the stream to launch on, k->device the device index.  kernel()
 * says which ops the backend runs itself at a compute dtype; the executor runs every
 * other op by staging its operands through host memory and the CPU kernel, so every op
 * of the op table works on a device while its own kernel is still missing.
 * docs/design/devices.md describes the whole design.
 */
#ifndef TD_DEVICE_H
#define TD_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "../proto/td_device.h"
#include "kernel.h"

#define TD_DEVICE_ABI 3 /* 2: half_kernel; 3: struct td_rng is torch's generator state */

typedef void *td_stream_t;
typedef void *td_event_t;

enum td_copy_kind { TD_COPY_H2D = 1, TD_COPY_D2H = 2, TD_COPY_D2D = 3 };

struct td_device_backend {
    uint32_t abi;     /* TD_DEVICE_ABI: the daemon refuses any other */
    const char *kind; /* "cuda" */

    /* Number of usable devices (0..TD_MAX_DEVICES).  0 with why filled when there are
     * none ("cudaGetDeviceCount: CUDA driver version is insufficient (35)"): the
     * daemon serves the CPU and reports why.  Called once, before anything else. */
    int (*init)(char *why, size_t len);
    /* Versions of the runtime and libraries, for status and logs ("CUDA 13.0, cuBLAS 13.0.0, cuDNN 9.19.0"). */
    void (*describe)(char *buf, size_t len);
    const char *(*error_string)(int code);
    /* Whether code leaves the device unusable for everyone (sticky context errors:
     * illegal address, launch failure); the daemon then stops using the device. */
    int (*is_fatal)(int code);

    int (*get_props)(int dev, struct td_device_props *p);
    int (*mem_get_info)(int dev, uint64_t *free_bytes, uint64_t *total_bytes);

    /* Whole allocations (cudaMalloc / cudaFree); free waits for nothing, so the
     * allocator only frees memory no queued work uses. */
    int (*mem_alloc)(int dev, uint64_t bytes, void **ptr);
    int (*mem_free)(int dev, void *ptr);

    /* Virtual memory for expandable segments: reserve an address range, back pieces of
     * it with physical memory and give them back.  vmm_granularity is the piece size
     * (0: not supported, the allocator uses mem_alloc).  vmm_map creates `bytes` of
     * physical memory, maps it at va (inside a reserved range, granularity aligned)
     * with read/write access for dev, and returns a handle for vmm_unmap. */
    uint64_t (*vmm_granularity)(int dev);
    int (*vmm_reserve)(int dev, uint64_t bytes, void **va);
    int (*vmm_release)(int dev, void *va, uint64_t bytes);
    int (*vmm_map)(int dev, void *va, uint64_t bytes, uint64_t *handle);
    int (*vmm_unmap)(int dev, void *va, uint64_t bytes, uint64_t handle);

    /* Pinned host memory for staging copies. */
    int (*host_alloc)(uint64_t bytes, void **ptr);
    int (*host_free)(void *ptr);

    int (*stream_new)(int dev, td_stream_t *s);
    int (*stream_free)(int dev, td_stream_t s);
    int (*stream_sync)(int dev, td_stream_t s); /* blocks */
    int (*event_new)(int dev, td_event_t *e, int timing);
    int (*event_free)(int dev, td_event_t e);
    int (*event_record)(int dev, td_event_t e, td_stream_t s);
    /* 0: the work before the event is done; 1: still pending; else an error code */
    int (*event_query)(int dev, td_event_t e);
    int (*event_sync)(int dev, td_event_t e); /* blocks */
    int (*stream_wait_event)(int dev, td_stream_t s, td_event_t e);
    int (*event_elapsed_ms)(int dev, td_event_t start, td_event_t end, float *ms);

    /* n bytes, queued on s.  Host memory is the daemon's (pinned or not). */
    int (*memcpy_async)(int dev, void *dst, const void *src, uint64_t n, enum td_copy_kind kind, td_stream_t s);
    int (*memset_async)(int dev, void *dst, int value, uint64_t n, td_stream_t s);

    /* The device kernel for op at compute dtype dt (enum td_dtype), or NULL: the
     * executor stages that op through the host.  A backend that names any kernel names
     * COPY_ for every dtype pair too (the executor casts operands with it). */
    td_kernel_fn (*kernel)(unsigned op, unsigned dt);
    /* The kernel for op when its operands and floating results are float16 or bfloat16
     * (dt) and the kernel reads and writes them as they are, computing in float32 as the
     * CPU does between its casts (so the executor skips both conversion passes); NULL
     * (or no entry): the compute-dtype kernel between casts. */
    td_kernel_fn (*half_kernel)(unsigned op, unsigned dt);
};

/* The one symbol a plugin exports (dlsym), and the host stand-in's table. */
#define TD_DEVICE_ENTRY "td_device_backend_entry"
typedef const struct td_device_backend *(*td_device_entry_fn)(void);

#endif
