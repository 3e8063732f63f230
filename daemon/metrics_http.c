/*
 * metrics_http.c — the Prometheus exposition and its HTTP endpoint; see metrics.h.
 *
 * libmicrohttpd runs its own thread (MHD_USE_INTERNAL_POLLING_THREAD); each scrape
 * reads atomics and takes the session registry's lock briefly (td_rpc_gauges), so a
 * scrape never waits for a kernel.
 */
#include <microhttpd.h>

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../kernels/op.h"
#include "../proto/td_stats.h"
#include "log.h"
#include "metrics.h"
#include "metrics_data.h"
#include "rpc.h"
#include "session.h"

#ifndef TD_VERSION
#define TD_VERSION "unknown"
#endif

/* Label values for enum td_family (the op table's families). */
static const char *const family_names[TD_METRICS_FAMILIES] = {
    [TD_FAM_CTRL] = "ctrl", [TD_FAM_CREATE] = "create", [TD_FAM_BINARY] = "binary", [TD_FAM_UNARY] = "unary",
    [TD_FAM_WHERE] = "where", [TD_FAM_CLAMP] = "clamp", [TD_FAM_CAST] = "cast", [TD_FAM_COPY] = "copy",
    [TD_FAM_FILL] = "fill", [TD_FAM_REDUCE] = "reduce", [TD_FAM_MATMUL] = "matmul", [TD_FAM_VIEW] = "view",
    [TD_FAM_CAT] = "cat", [TD_FAM_MATH_UNARY] = "math_unary", [TD_FAM_MATH_BINARY] = "math_binary",
    [TD_FAM_MATH_TERNARY] = "math_ternary", [TD_FAM_SOFTMAX] = "softmax", [TD_FAM_CUMULATIVE] = "cumulative",
    [TD_FAM_STAT] = "stat", [TD_FAM_LINALG] = "linalg", [TD_FAM_INDEX] = "index", [TD_FAM_SORT] = "sort",
    [TD_FAM_MOVE] = "move", [TD_FAM_RANDOM] = "random", [TD_FAM_LINALG_PACKED] = "linalg_packed",
    [TD_FAM_FFT] = "fft", [TD_FAM_LINALG_LU] = "linalg_lu", [TD_FAM_OPTIM] = "optim", [TD_FAM_CONV] = "conv",
    [TD_FAM_LOSS] = "loss",
};

static const char *const code_names[TD_METRICS_CODES] = {
#define X(name, val) [val] = #name,
    TD_CODE_MAP(X)
#undef X
};

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !b->oom; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n) * 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

static void metric(struct buf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric with one sample: its HELP/TYPE lines and `name{labels} value`. */
static void one(struct buf *b, const char *name, const char *type, const char *help, const char *labels, uint64_t v)
{
    metric(b, name, type, help);
    put(b, "%s%s %llu\n", name, labels ? labels : "", (unsigned long long)v);
}

char *td_metrics_render(struct td_rpc *rpc, uint64_t uptime_ms, size_t *len)
{
    struct buf b = {.p = malloc(16384), .cap = 16384};
    if (!b.p)
        return NULL;
    static __thread struct td_stats st; /* big (per-session rows): not on MHD's thread stack */
    td_stats_get(&st);
    struct td_rpc_gauges g = {0};
    if (rpc)
        td_rpc_gauges(rpc, &g);

    metric(&b, "tensord_build_info", "gauge", "The daemon's version.");
    put(&b, "tensord_build_info{version=\"%s\"} 1\n", TD_VERSION);
    metric(&b, "tensord_uptime_seconds", "gauge", "Seconds since the daemon started.");
    put(&b, "tensord_uptime_seconds %.3f\n", (double)uptime_ms / 1000);
    metric(&b, "tensord_sessions", "gauge", "Live sessions by transport.");
    put(&b, "tensord_sessions{transport=\"shm\"} %llu\n", (unsigned long long)g.sessions_shm);
    put(&b, "tensord_sessions{transport=\"grpc\"} %llu\n", (unsigned long long)g.sessions_grpc);
    one(&b, "tensord_sessions_opened_total", "counter", "Sessions opened since start.", NULL, st.sessions_total);
    one(&b, "tensord_tensors", "gauge", "Live tensor handles over all sessions.", NULL, st.tensors);
    one(&b, "tensord_storages", "gauge", "Live storages.", NULL, st.storages);
    one(&b, "tensord_ops_executed_total", "counter", "Records executed successfully.", NULL, st.ops_executed);
    one(&b, "tensord_record_failures_total", "counter", "Records that failed, counting those whose input failed.", NULL, st.errors);

    metric(&b, "tensord_op_duration_seconds", "histogram", "Time to bind and run a record, by op family.");
    for (int f = 0; f < TD_METRICS_FAMILIES; f++) {
        uint64_t cum = 0, n[TD_METRICS_BUCKETS + 1];
        for (int k = 0; k <= TD_METRICS_BUCKETS; k++) {
            n[k] = atomic_load_explicit(&td__metrics.ops[f].bucket[k], memory_order_relaxed);
            cum += n[k];
        }
        if (cum == 0)
            continue; /* families never run stay out of the scrape */
        const char *fam = family_names[f] ? family_names[f] : "other";
        cum = 0;
        for (int k = 0; k < TD_METRICS_BUCKETS; k++) {
            cum += n[k];
            put(&b, "tensord_op_duration_seconds_bucket{family=\"%s\",le=\"%g\"} %llu\n", fam,
                (double)td__metrics_bucket_ns[k] / 1e9, (unsigned long long)cum);
        }
        cum += n[TD_METRICS_BUCKETS];
        put(&b, "tensord_op_duration_seconds_bucket{family=\"%s\",le=\"+Inf\"} %llu\n", fam, (unsigned long long)cum);
        put(&b, "tensord_op_duration_seconds_sum{family=\"%s\"} %.9f\n", fam,
            (double)atomic_load(&td__metrics.ops[f].sum_ns) / 1e9);
        put(&b, "tensord_op_duration_seconds_count{family=\"%s\"} %llu\n", fam, (unsigned long long)cum);
    }
    metric(&b, "tensord_op_errors_total", "counter", "Records that failed at their origin, by status code.");
    for (int c = 1; c < TD_METRICS_CODES; c++)
        put(&b, "tensord_op_errors_total{code=\"%s\"} %llu\n", code_names[c],
            (unsigned long long)atomic_load(&td__metrics.errors[c]));
    one(&b, "tensord_ooms_total", "counter", "Allocations the allocator refused (limit, session quota, system).", NULL, st.alloc_ooms);
    one(&b, "tensord_memory_pressure_releases_total", "counter",
        "Times cached CPU memory went back at once because the machine or the cgroup ran short.", NULL,
        st.alloc_pressure_releases);
    one(&b, "tensord_bad_messages_total", "counter", "Client messages rejected before execution.", NULL, st.bad_messages);

    one(&b, "tensord_memory_allocated_bytes", "gauge", "Bytes in tensors, by device.", "{device=\"cpu\"}", st.bytes_in_use);
    one(&b, "tensord_memory_reserved_bytes", "gauge", "Bytes the allocator holds (allocated + cached), by device.", "{device=\"cpu\"}", st.bytes_reserved);
    one(&b, "tensord_memory_peak_bytes", "gauge", "Most bytes allocated at once, by device.", "{device=\"cpu\"}", st.bytes_peak);

    metric(&b, "tensord_memory_fragmentation_ratio", "gauge", "1 - largest free block / free bytes, by device.");
    put(&b, "tensord_memory_fragmentation_ratio{device=\"cpu\"} %.6f\n", st.fragmentation);
    one(&b, "tensord_memory_arenas", "gauge", "Open CPU arenas (memfds).", NULL, st.arenas);
    one(&b, "tensord_queue_messages", "gauge", "Client messages received and waiting to execute (all sessions).", NULL, g.queued_msgs);
    one(&b, "tensord_queue_bytes", "gauge", "Bytes of those messages.", NULL, g.queued_bytes);
    one(&b, "tensord_queue_sessions_paused", "gauge", "Sessions whose stream is not read: their queue is full.", NULL, g.paused);

    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

struct td_metrics_server {
    struct MHD_Daemon *d;
    struct td_rpc *rpc;
    uint64_t started_ns;
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct td_metrics_server *m = cls;
    (void)version, (void)upload_data, (void)upload_size, (void)con_cls;
    struct MHD_Response *r;
    unsigned status = MHD_HTTP_OK;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        static const char msg[] = "only GET\n";
        r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/metrics") != 0) {
        static const char msg[] = "tensord serves /metrics\n";
        r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_FOUND;
    } else {
        size_t len = 0;
        char *text = td_metrics_render(m->rpc, (td_metrics_now() - m->started_ns) / 1000000, &len);
        if (!text)
            return MHD_NO;
        r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    }
    if (!r)
        return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

struct td_metrics_server *td_metrics_serve(const char *addr, struct td_rpc *rpc, int *port, struct td_status *st)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof host || !colon[1]) {
        td_status_set(st, TD_CODE_INVALID_ARGUMENT, "metrics address '%s' is not HOST:PORT", addr);
        return NULL;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:9480 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
    int e = getaddrinfo(host, colon + 1, &hints, &ai);
    if (e != 0) {
        td_status_set(st, TD_CODE_INVALID_ARGUMENT, "metrics address '%s': %s", addr, gai_strerror(e));
        return NULL;
    }
    struct td_metrics_server *m = calloc(1, sizeof *m);
    if (!m) {
        freeaddrinfo(ai);
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    m->rpc = rpc;
    m->started_ns = td_metrics_now();
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    m->d = MHD_start_daemon(flags, 0, NULL, NULL, answer, m, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!m->d) {
        free(m);
        td_status_set(st, TD_CODE_UNAVAILABLE, "cannot serve metrics on %s (in use, or no permission)", addr);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    if (port)
        *port = info ? (int)info->port : 0;
    return m;
}

void td_metrics_server_free(struct td_metrics_server *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->d);
    free(m);
}
