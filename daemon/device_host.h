/*
 * device_host.h — the host stand-in device backend: every entry of struct
 * td_device_backend (kernels/device.h) over host memory, so the device code paths (the
 * caching allocator, staging, `tensord --fake-gpus N`) run on machines without a GPU.
 *
 * What it models faithfully: per-device capacity (allocations past it fail with "out of
 * memory"), virtual memory (reserve = PROT_NONE address range, map = backing pages
 * counted against capacity, granularity 2 MiB), and stream ordering: each stream counts
 * the work queued on it, an event remembers (stream, count), and work completes in
 * stream order.  The work itself (copies, memsets, kernels = the CPU kernels) runs
 * synchronously when queued; only its *completion* as the stream model reports it can
 * be held back (td_device_host_stream_hold) so tests can see work still pending.
 *
 * Not modelled: device memory being unreachable from the host (the stand-in's device
 * pointers are host pointers), concurrency between streams.  Thread-safe (one lock).
 */
#ifndef TD_DEVICE_HOST_H
#define TD_DEVICE_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "../kernels/device.h"

/* Error codes of the stand-in (error_string names them).  1 is never an error code:
 * event_query answers 1 for "pending". */
enum {
    TD_HOST_ERR_OOM = 2,       /* "out of memory" */
    TD_HOST_ERR_INVALID = 3,   /* "invalid argument" */
    TD_HOST_ERR_DEVICE = 4,    /* "invalid device ordinal" */
    TD_HOST_ERR_HANDLE = 5,    /* "invalid resource handle" */
    TD_HOST_ERR_NOT_READY = 6, /* "event not recorded or without timing" */
    TD_HOST_ERR_FATAL = 7,     /* "an illegal memory access was encountered": a sticky, fatal error */
};

#define TD_HOST_VMM_GRANULE (2ull << 20)

/*
 * The stand-in's table, configured for ndevices (1..TD_MAX_DEVICES) devices of
 * mem_per_device bytes each.  The state is process-wide: configuring again resets it
 * and is only allowed while nothing is allocated (else NULL).  vmm: false makes
 * vmm_granularity answer 0 (no virtual memory), so the allocator's mem_alloc path runs.
 */
const struct td_device_backend *td_device_host_backend(int ndevices, uint64_t mem_per_device, bool vmm);

/* ---- test hooks */

/* The next n physical allocations (mem_alloc, vmm_map) on any device fail with
 * TD_HOST_ERR_OOM; 0 cancels. */
void td_device_host_fail_next(int n);
/* While held, work queued on s stays pending (events recorded after it answer 1,
 * stream_wait_event blocks followers); releasing completes it.  stream_sync and
 * event_sync complete the work they wait for even while held (the caller waits for a
 * slow device).  NULL: the device's default stream. */
void td_device_host_stream_hold(int dev, td_stream_t s, bool hold);
/* The next copy (memcpy_async) fails with TD_HOST_ERR_FATAL, as a device fault that
 * poisons the context would (is_fatal answers 1 for it). */
void td_device_host_inject_fault(void);
/* Bytes of physical memory in use on dev (mem_alloc + mapped granules). */
uint64_t td_device_host_used(int dev);
/* on (the default): kernel() answers the CPU kernels; off: it answers none, so the
 * executor stages every op through host memory. */
void td_device_host_kernels(bool on);
/* on: half_kernel() answers float16/bfloat16 kernels for the families the CUDA plugin
 * runs natively (computing through float32 scratch); off (the default): none. */
void td_device_host_half_kernels(bool on);
/* Number of native float16/bfloat16 kernel runs so far. */
uint64_t td_device_host_half_calls(void);
/* Number of stream_sync calls so far (all devices): the allocator's tests check when it
 * waits for the device. */
uint64_t td_device_host_syncs(void);

#endif
