/*
 * device.h — the daemon's devices: which backend serves them (the CUDA plugin loaded
 * with dlopen, or the host stand-in of --fake-gpus), device storage, per-session
 * streams, and the transfers between host and device.  docs/design/devices.md.
 *
 * Device numbers are the metas' (kernels/device.h): 0 the CPU, 1 + i cuda:i.  With no
 * backend or no device the daemon serves the CPU, and td_devices_why() says why.
 */
#ifndef TD_DAEMON_DEVICE_H
#define TD_DAEMON_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "../kernels/device.h"
#include "alloc.h"

struct td_devices_config {
    const char *plugin; /* path of the CUDA plugin; NULL: the default places */
    int fake;           /* > 0: that many host stand-in devices instead of a plugin */
    uint64_t fake_memory; /* bytes per stand-in device; 0: 1 GiB */
    bool fake_staged;     /* the stand-ins offer no kernels (tests of the executor's staging) */
};

/* Loads the backend and opens its devices; logs what it found.  Never fails: without
 * devices the daemon serves the CPU (td_devices_why). */
void td_devices_init(const struct td_devices_config *c);
/* Releases cached device memory and unloads the backend (after every session ended). */
void td_devices_fini(void);

int td_device_count(void);
/* Why there is no device ("" when there are some). */
const char *td_devices_why(void);
/* "cuda" backend description: runtime and library versions, or the stand-in's. */
const char *td_devices_describe(void);
/* The backend of device d (1 + i), NULL for the CPU or a device that does not exist. */
const struct td_device_backend *td_device_backend(uint8_t d);
bool td_device_props(uint8_t d, struct td_device_props *p);

/* ---- memory */

/* New storage of nbytes on device d, for work queued on stream s.  NULL +
 * RESOURCE_EXHAUSTED ("CUDA out of memory. ...") when it does not fit. */
struct td_storage *td_device_storage_new(uint8_t d, int64_t nbytes, td_stream_t s, struct td_status *st);
/* Called by td_storage_unref for device storages at their last reference. */
void td_device_storage_free(struct td_storage *s);

/* ---- a session's accounts: what its device storages cost it on each device (made on
 * first use, with the daemon's per-session limit), bound to the thread that runs it as
 * td_alloc_bind binds the CPU account */

struct td_device_accounts {
    uint64_t session;
    struct td_dalloc_account *a[TD_MAX_DEVICES];
};
void td_device_bind(struct td_device_accounts *acc); /* NULL: none */
void td_device_accounts_free(struct td_device_accounts *acc);
/* The session's bytes in use, peak and limit on device d (zeros before its first use). */
void td_device_account_usage(const struct td_device_accounts *acc, uint8_t d, uint64_t *in_use, uint64_t *peak,
                             uint64_t *limit);
/* Sets its limit on d (0: none): set_per_process_memory_fraction; resets its peak. */
enum td_code td_device_account_set_limit(struct td_device_accounts *acc, uint8_t d, uint64_t bytes,
                                         struct td_status *st);
void td_device_account_reset_peak(struct td_device_accounts *acc, uint8_t d);
/* The default limit of every session's account on each device (--session-gpu-memory-limit). */
void td_device_set_session_limit(uint64_t bytes);

struct td_device_usage {
    uint64_t allocated, reserved, peak_allocated, peak_reserved;
    uint64_t allocs, frees, cache_hits, ooms;
    double fragmentation;
};
bool td_device_usage(uint8_t d, struct td_device_usage *u);
void td_device_empty_cache(uint8_t d);
void td_device_reset_peak(uint8_t d);

/* ---- transfers (bytes; host memory is the daemon's).  kind as kernels/device.h;
 * queued on s and waited for when the host side is read or freed next: these return
 * once the host buffer may be reused (d2h: once the bytes are there). */
enum td_code td_device_copy(uint8_t d, void *dst, const void *src, uint64_t n, enum td_copy_kind kind, td_stream_t s,
                            struct td_status *st);
/* Sets st from a backend error code: "CUDA error: <name>". */
enum td_code td_device_error(uint8_t d, int code, const char *what, struct td_status *st);

/* ---- streams: one per session and device, created on first use */

struct td_device_streams {
    td_stream_t s[TD_MAX_DEVICES];
};
td_stream_t td_device_stream(struct td_device_streams *ss, uint8_t d, struct td_status *st);
/* Waits for every stream's queued work; the first error goes to st. */
enum td_code td_device_streams_sync(struct td_device_streams *ss, struct td_status *st);
void td_device_streams_free(struct td_device_streams *ss);

#endif
