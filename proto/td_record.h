/*
 * td_record.h — the binary op record, part of the wire contract (version TD_WIRE_VERSION).
 *
 * A batch is a byte string of records packed back to back, each 8-byte aligned:
 *
 *   struct td_rec_hdr            8 bytes
 *   uint64_t handles[n_out+n_in] outputs first, then inputs
 *   int64_t  attrs[n_attr]       op-specific, layouts below
 *
 * `words` is the whole record's length in 8-byte words, so a reader can skip a record
 * it does not understand and validate that every count fits inside it.  The common op
 * (binary, scalar slot, alpha) is 8 + 24 + 32 = 64 bytes: one cache line.
 * The same bytes travel in the gRPC `OpBatch.records` field and (later) in the shared
 * memory ring.  All integers are little-endian (the only byte order we build for).
 *
 * Scalars take two attribute words: TD_SCALAR_{BOOL,INT,FLOAT} and the bits (an int64
 * or a double reinterpreted); a complex value has no scalar form and travels as a 0-d
 * tensor input.  Dtypes are enum td_dtype values (kernels/dtype.h).
 *
 * Attribute layouts: proto/ops.args, the argument schema of every row of ops.def (names,
 * kinds, defaults, in wire order).  proto/gen_ops.py generates libtensord's typed record
 * builders (client_c/td_ops.h) and the Python extension's entry points from it, so no
 * client packs attribute words by hand.
 */
#ifndef TD_RECORD_H
#define TD_RECORD_H

#include <stdint.h>

#define TD_WIRE_VERSION 2 /* 2: every message answered; per-record failures */

/* A record never exceeds this many words (guards the daemon's parser). */
#define TD_REC_MAX_WORDS 1024
#define TD_MAX_DIMS 16

struct td_rec_hdr {
    uint16_t words;     /* whole record, 8-byte words */
    uint16_t op;        /* enum td_op */
    uint8_t n_out;
    uint8_t n_in;
    uint8_t n_attr;
    uint8_t flags;      /* TD_RF_* */
};
_Static_assert(sizeof(struct td_rec_hdr) == 8, "record header is one word");

enum td_rec_flag {
    TD_RF_INPLACE = 1u << 0,    /* write into input 0, create no output */
    TD_RF_SCALAR_LHS = 1u << 1, /* the scalar attribute is the left operand */
    /* out=: the last n_out inputs (n_out of the op's row) are existing tensors of exactly
     * the result's sizes and dtype; the op writes into them and creates no output */
    TD_RF_OUT = 1u << 2,
    /* EMPTY of uint8: the block keeps whatever bytes it holds (memory of the same uid's
     * freed storages, never another uid's): the caller writes them all itself (numpy
     * conversions, td_block_new); any other op or dtype ignores it */
    TD_RF_UNINIT = 1u << 3,
};

enum td_scalar_kind { TD_SCALAR_BOOL = 0, TD_SCALAR_INT = 1, TD_SCALAR_FLOAT = 2 };

enum td_round_mode { TD_ROUND_NONE = 0, TD_ROUND_TRUNC = 1, TD_ROUND_FLOOR = 2 };

/* SHARE's mode bits (daemon/share.h): the token dies when opened; it outlives its owner
 * session by the daemon's --share-linger. */
enum td_share_mode { TD_SHARE_ONE_SHOT = 1, TD_SHARE_PINNED = 2 };

#endif
