/*
 * graph.h — turning captured records into a graph body (internal to libtensord; the
 * daemon's side and the local numbering are daemon/graph.h, the API tensord.h).
 */
#ifndef TD_CLIENT_GRAPH_H
#define TD_CLIENT_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "../kernels/meta.h"
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

/*
 * A graph as td_graph_save writes it (little endian):
 *   "TDGRAPH1", then u32 n_in, n_out, n_consts, n_cw, u64 words;
 *   n_in + n_out + n_consts metas: u8 dtype, ndim, device, 5 zero bytes, i64 sizes[ndim],
 *   i64 strides[ndim];
 *   i32 out_src[n_out] (input i, or -1 - j: the storage of output j <= itself),
 *   i32 out_const[n_out] (-1, or the constant whose storage the output views);
 *   u8 in_written[n_in], zero-padded to 4 bytes; u32 cw[n_cw] (constants it writes);
 *   u64 body[words] (local numbering, as GRAPH_DEFINE's payload).
 * The constants' data is not in it: the caller saves those tensors (td_graph_constants).
 */
struct td__graph_file {
    uint32_t n_in, n_out, n_consts, n_cw;
    struct td_meta *m;  /* n_in + n_out + n_consts: inputs, outputs, constants (offset 0; storage_nbytes:
                         * what the strides reach) */
    int32_t *out_src, *out_const;
    uint8_t *in_written;
    uint32_t *cw;
    uint64_t *body;
    size_t words;
};

enum td_code td__graph_encode(const struct td__graph_file *f, uint8_t **bytes, size_t *len, struct td_status *st);
/* Checks everything but the body (the daemon checks that): counts, metas, indices. */
enum td_code td__graph_decode(const uint8_t *bytes, size_t len, struct td__graph_file *f, struct td_status *st);
void td__graph_file_fini(struct td__graph_file *f);

#endif
