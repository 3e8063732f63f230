/*
 * metrics.h — counters for Prometheus (docs/operations.md lists every metric) and the
 * HTTP endpoint that serves them (--metrics HOST:PORT, libmicrohttpd).
 *
 * The counters are process-wide atomics, cheap enough to bump per record: a record's
 * time (bind + kernel) goes into a latency histogram of its op family (the op table's
 * families: binary, reduce, matmul, conv, ...), and a record that fails at its origin
 * counts under its status code (RESOURCE_EXHAUSTED also as an OOM).  A record that
 * fails because its input had failed is not counted again.
 */
#ifndef TD_METRICS_H
#define TD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "../kernels/status.h"

struct td_rpc;
struct td_metrics_server;

/* CLOCK_MONOTONIC in ns. */
uint64_t td_metrics_now(void);

/* A stamp of the record clock, for td_metrics_op's start: TSC ticks where the kernel keeps
 * CLOCK_MONOTONIC on the TSC (a third of the cost of a clock_gettime), else ns.  Only
 * differences of stamps mean anything, and only to td_metrics_op. */
uint64_t td_metrics_stamp(void);

/* A record of op `op` that started at stamp t0 (td_metrics_stamp) ended with code; returns
 * the end stamp, which the next record of a batch takes as its start (one clock read per
 * record).  The latency histogram gets it at the latest at this thread's next
 * td_metrics_flush (errors at once). */
uint64_t td_metrics_op(unsigned op, uint64_t t0, enum td_code code);
/* Nanoseconds between two stamps (t0 <= t1). */
uint64_t td_metrics_stamp_ns(uint64_t t0, uint64_t t1);
/* Adds this thread's pending record times to the histogram (td_session_exec calls it at
 * the end of every batch, before the reply). */
void td_metrics_flush(void);

/* Writes the exposition (text format 0.0.4) into a malloc'd string; NULL on OOM.
 * rpc (may be NULL) adds the per-transport session and queue gauges. */
char *td_metrics_render(struct td_rpc *rpc, uint64_t uptime_ms, size_t *len);

/* Serves GET /metrics on addr ("HOST:PORT", port 0 picks one; *port gets it).  NULL
 * with st filled when addr is bad or cannot be bound. */
struct td_metrics_server *td_metrics_serve(const char *addr, struct td_rpc *rpc, int *port, struct td_status *st);
void td_metrics_server_free(struct td_metrics_server *m);

#endif
