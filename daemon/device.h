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
    bool fake_half;       /* the stand-ins offer native float16/bfloat16 kernels (tests of that path) */
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

/* OK when device d exists and is not lost; else the error saying which. */
enum td_code td_device_usable(uint8_t d, struct td_status *st);

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

/* ---- transfers (bytes; host memory is the daemon's; daemon/device_transfer.c).  kind
 * as kernels/device.h, queued on s.  Returns once the host buffer may be reused: d2h
 * once the bytes are there; h2d of up to 8 MiB at once (the bytes go through a pinned
 * staging buffer and the DMA overlaps with what follows), larger ones when done. */
enum td_code td_device_copy(uint8_t d, void *dst, const void *src, uint64_t n, enum td_copy_kind kind, td_stream_t s,
                            struct td_status *st);
/* Waits for the staging copies in flight and frees the pinned buffers (td_devices_fini). */
void td__device_staging_fini(void);
/* Sets st from a backend error code: "CUDA error: <name>".  A fatal code (the backend's
 * is_fatal: a fault that poisons the device's context) also marks the device lost: the
 * op that hit it fails in its own session, and from then on td_device_usable refuses the
 * device to every session (the CPU and other devices go on). */
enum td_code td_device_error(uint8_t d, int code, const char *what, struct td_status *st);

/* ---- a session's streams and events (STREAM_CTRL, EVENT_CTRL, RECORD_STREAM)
 *
 * Each device has a default stream (id 0, made on first use) and the streams the client
 * created under ids of its choosing (> 0, unique in the session, at most
 * TD_SESSION_MAX_STREAMS); one of them is the device's current stream, on which the
 * executor queues kernels, copies and allocations.  Events (ids > 0, at most
 * TD_SESSION_MAX_EVENTS) take the device of the stream they are first recorded on.
 * Everything is synchronized, retired in the allocator and freed with the session. */

struct td_session_stream {
    int64_t id;
    uint8_t device;
    td_stream_t s;
    td_event_t probe; /* recorded and queried by stream query; made on first use */
};

struct td_session_event {
    int64_t id;
    uint8_t device; /* 0 until first recorded */
    bool timing;
    td_event_t e;
};

struct td_device_streams {
    td_stream_t s[TD_MAX_DEVICES];     /* default streams */
    td_event_t probe[TD_MAX_DEVICES];  /* their query events */
    int64_t current[TD_MAX_DEVICES];   /* current stream id per device (0: the default) */
    struct td_session_stream *streams; /* TD_SESSION_MAX_STREAMS slots once one is created */
    int n_streams;
    struct td_session_event *events;
    int n_events, cap_events;
};

/* The current stream of device d, made on first use. */
td_stream_t td_device_stream(struct td_device_streams *ss, uint8_t d, struct td_status *st);
/* STREAM_CTRL what (TD_SC_*); a query's answer (1 done, 0 pending) goes to *answer. */
enum td_code td_device_stream_ctrl(struct td_device_streams *ss, uint8_t d, int64_t what, int64_t id, int64_t other,
                                   int64_t *answer, struct td_status *st);
/* EVENT_CTRL what (TD_EC_*); query's int64 or elapsed time's double goes to answer[8]. */
enum td_code td_device_event_ctrl(struct td_device_streams *ss, uint8_t d, int64_t what, int64_t id, int64_t other,
                                  void *answer, struct td_status *st);
/* RECORD_STREAM: device storage t is used by stream id of its device too. */
enum td_code td_device_record_stream(struct td_device_streams *ss, struct td_storage *t, int64_t id,
                                     struct td_status *st);
/* Waits for every stream of the session on device d (every device: d == 0); the first
 * error goes to st.  The rule of the sync points that read device memory. */
enum td_code td_device_streams_sync(struct td_device_streams *ss, uint8_t d, struct td_status *st);
/* Synchronizes, retires and frees every stream and event (session end). */
void td_device_streams_free(struct td_device_streams *ss);

#endif
