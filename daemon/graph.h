/*
 * graph.h — a session's stored graphs (docs/design/graphs.md): op records captured by a
 * client once, checked and optimized here, then run by one GRAPH_RUN record per call.
 *
 * A body names graph-local handles: 1..n_inputs are the inputs, then the outputs, then
 * the constants (tensors the graph holds, e.g. a module's parameters), then temporaries.
 * td_graph_build checks that every record reads only handles that exist at that point
 * and writes each output or temporary once, drops the records nothing needs (pure ops
 * whose results are never read), and places each temporary's release right after its
 * last use.  The session maps local handles to its own ids when it runs the body
 * (session.c): constants and temporaries live under ids with the top bit set, which
 * clients never assign.
 */
#ifndef TD_GRAPH_H
#define TD_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "../kernels/meta.h"
#include "../kernels/status.h"

#define TD_GRAPH_MAX_LOCAL (1u << 24)        /* local handles per graph */
#define TD_GRAPH_MAX_BODY (16u << 20)        /* bytes of records per graph */
#define TD_GRAPH_SESSION_BYTES (256u << 20)  /* bytes of bodies per session */
#define TD_GRAPH_SESSION_COUNT 4096          /* graphs per session */

/* Daemon-owned handle ids: constants (graph serial, index) and temporaries (local id). */
#define TD_GRAPH_RESERVED (UINT64_C(1) << 63)
#define TD_GRAPH_TEMP_BIT (UINT64_C(1) << 62)
#define TD_GRAPH_CONST_ID(serial, k) (TD_GRAPH_RESERVED | ((uint64_t)(serial) << 24) | (uint64_t)(k))
#define TD_GRAPH_TEMP_ID(local) (TD_GRAPH_RESERVED | TD_GRAPH_TEMP_BIT | (uint64_t)(local))

struct td_graph {
    uint64_t id;        /* the client's number */
    uint64_t serial;    /* the session's: names its constants' handles */
    uint32_t n_inputs, n_outputs, n_consts, n_bound; /* n_bound: constants held so far */
    uint32_t n_local;   /* highest local handle */
    uint32_t n_records, n_given; /* after and before optimization */
    struct td_meta *in_m;        /* what each input must be (sizes, dtype, device) */
    uint64_t *held;              /* a held capture's outputs: the session's handles a replay writes */
    uint32_t n_held;
    uint64_t *body;              /* the optimized records */
    size_t words;
    struct td_graph *next;
};

/* A session's graphs. */
struct td_graphs {
    struct td_graph *head;
    uint64_t next_serial;
    size_t count, bytes;
};

/* Checks and optimizes body (len bytes of records) for a graph whose counts are set in g
 * (n_inputs, n_outputs, n_consts); fills n_local, body, words, n_records, n_given. */
enum td_code td_graph_build(struct td_graph *g, const uint8_t *body, size_t len, struct td_status *st);

struct td_graph *td_graphs_find(struct td_graphs *gs, uint64_t id);
/* Adds g (built) to gs, giving it a serial; RESOURCE_EXHAUSTED past the session's limits. */
enum td_code td_graphs_add(struct td_graphs *gs, struct td_graph *g, struct td_status *st);
/* Unlinks and returns graph id (NULL: none); the caller drops its constants and frees it. */
struct td_graph *td_graphs_take(struct td_graphs *gs, uint64_t id);
void td_graph_delete(struct td_graph *g);

#endif
