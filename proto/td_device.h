/*
 * td_device.h — the device records' constants and answers, part of the wire contract
 * (proto/ops.def's SET_DEVICE, DEVICE_QUERY, DEVICE_CTRL, STREAM_CTRL, EVENT_CTRL rows;
 * docs/design/devices.md).  Device numbers: 0 the CPU, 1 + i cuda:i (kernels/meta.h).
 */
#ifndef TD_DEVICE_WIRE_H
#define TD_DEVICE_WIRE_H

#include <stdint.h>

/* TD_DQ_PROPS's answer (and what a backend reports for a device) */
struct td_device_props {
    char name[128];             /* "NVIDIA H100 80GB HBM3" */
    uint64_t total_memory;      /* bytes */
    int major, minor;           /* compute capability */
    int multi_processor_count;
    int warp_size;
    uint64_t l2_cache_bytes;
};

/* DEVICE_QUERY answers (TD_DEVICE_QUERY_BYTES bytes, zero padded):
 *   TD_DQ_COUNT  int64 device count, then why there are none (NUL-terminated text)
 *   TD_DQ_PROPS  struct td_device_props of device 1 + i
 *   TD_DQ_MEMORY int64 words: allocated, reserved, peak allocated, peak reserved,
 *                allocations, frees, cache hits, out-of-memory refusals, free bytes,
 *                total bytes (mem_get_info); then fragmentation as a double; then
 *                the session's bytes in use, peak and limit (0: none) on the device */
enum { TD_DQ_COUNT = 0, TD_DQ_PROPS = 1, TD_DQ_MEMORY = 2, TD_DQ_DESCRIBE = 3 };
#define TD_DEVICE_QUERY_BYTES 1024
/* DEVICE_CTRL actions */
enum { TD_DC_EMPTY_CACHE = 0, TD_DC_RESET_PEAK = 1, TD_DC_SYNCHRONIZE = 2, TD_DC_SET_LIMIT = 3 /* value: bytes, 0 none */,
       TD_DC_SET_OPTIONS = 4 /* value: TD_KOPT_* bits for the session's later kernels; any device, 0 too */ };
/* STREAM_CTRL actions; QUERY answers one int64 (1: its work is done) in a sync */
enum { TD_SC_CREATE = 0, TD_SC_DESTROY = 1, TD_SC_SET_CURRENT = 2, TD_SC_WAIT_EVENT = 3, TD_SC_QUERY = 4,
       TD_SC_SYNCHRONIZE = 5 };
/* EVENT_CTRL actions; QUERY answers one int64, ELAPSED one double (ms), in a sync */
enum { TD_EC_CREATE = 0, TD_EC_DESTROY = 1, TD_EC_RECORD = 2, TD_EC_QUERY = 3, TD_EC_SYNCHRONIZE = 4,
       TD_EC_ELAPSED = 5 };
#define TD_EVENT_TIMING 1 /* EVENT_CTRL create flag: elapsed_time may measure from or to it */
#define TD_SESSION_MAX_STREAMS 64  /* streams a session may hold, all devices together */
#define TD_SESSION_MAX_EVENTS 4096 /* events a session may hold */

/* Numerics a session allows (torch.backends flags), for kernels that have a faster,
 * less exact way: TF32 tensor cores for float32 matmul (backends.cuda.matmul.allow_tf32,
 * off by default) and for float32 convolution (backends.cudnn.allow_tf32, on by default,
 * as in PyTorch). */
enum { TD_KOPT_ALLOW_TF32 = 1u << 0, TD_KOPT_CUDNN_TF32 = 1u << 1 };
#define TD_KOPT_DEFAULT TD_KOPT_CUDNN_TF32
#define TD_KOPT_ALL (TD_KOPT_ALLOW_TF32 | TD_KOPT_CUDNN_TF32)

#endif
