/*
 * graph.h — turning captured records into a graph body (internal to libtensord; the
 * daemon's side and the local numbering are daemon/graph.h, the API tensord.h).
 */
#ifndef TD_CLIENT_GRAPH_H
#define TD_CLIENT_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "../kernels/status.h"

/* What td__graph_plan makes of a capture. */
struct td__graph_plan {
    uint64_t *body;     /* the records in local numbering, releases left out */
    size_t words;
    uint64_t *consts;   /* the client handles the graph holds, in local order */
    uint32_t n_consts;
    uint8_t *in_written; /* per input: a record writes it */
    uint64_t *const_written; /* handles of the constants some record writes */
    uint32_t n_const_written;
    uint32_t n_escaped; /* tensors made during the capture, still held, not outputs */
    uint64_t *held;     /* outs == NULL: the outputs, those tensors, in the order they were made */
    uint32_t n_held;
};

/* rec: the captured records (len bytes, well formed: libtensord wrote them); handles up to
 * mark existed before the capture; ins and outs: the graph's inputs (existing before) and
 * outputs (made during it).  FAILED_PRECONDITION when the program still holds tensors the
 * capture made besides the outputs.  outs NULL: the outputs are every tensor the capture
 * made that the program still holds (held, n_held). */
enum td_code td__graph_plan(const uint8_t *rec, size_t len, uint64_t mark, const uint64_t *ins, int n_in,
                            const uint64_t *outs, int n_out, struct td__graph_plan *p, struct td_status *st);
void td__graph_plan_fini(struct td__graph_plan *p);

#endif
