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
 * Attribute layouts (index: meaning):
 *   RELEASE     no attrs; the handles to drop are the inputs (up to 255 per record)
 *   UPLOAD      0 byte offset in the input's contiguous bytes, 1 length, 2 payload offset
 *   READ        0 byte offset in the input's contiguous bytes, 1 length (reply payload)
 *   MANUAL_SEED 0 seed
 *   CREATE      0 dtype, 1 ndim, 2.. sizes[ndim], then per op:
 *                 FULL: value scalar (2 words); ARANGE: start, step scalars (4 words);
 *                 LINSPACE: start, end as doubles (2 words); RANDINT: low, high
 *   BINARY      0-1 scalar operand (used when n_in == 1; TD_RF_SCALAR_LHS puts it first),
 *               2-3 alpha scalar (ADD, SUB), 2 rounding mode (DIV: TD_ROUND_*);
 *               LSHIFT, RSHIFT like the others (integer dtypes only)
 *   UNARY       none
 *   WHERE       none (cond, a, b)
 *   CLAMP       0 has_min, 1-2 min scalar, 3 has_max, 4-5 max scalar
 *   CAST        0 dtype (CLONE: none)
 *   COPY_       none (dst, src); FILL_: 0-1 value scalar
 *   REDUCE      0 dim mask (bit d = reduce dim d; all dims when reducing everything),
 *               1 keepdim, 2 output dtype or -1 (SUM, PROD, MEAN), 3 1 = flatten
 *               (ARGMAX/ARGMIN over all elements give a 0-d flat index)
 *   MATMUL      none
 *   VIEW        0 ndim, 1.. sizes (a -1 is inferred); VIEW_AS_REAL, VIEW_AS_COMPLEX: none
 *   AS_STRIDED  0 ndim, 1 storage offset, 2.. sizes, then strides
 *   PERMUTE     0 ndim, 1.. dims
 *   TRANSPOSE   0 dim0, 1 dim1
 *   EXPAND      0 ndim, 1.. sizes (-1 keeps)
 *   SQUEEZE     0 dim mask (all size-1 dims when the mask is all ones)
 *   UNSQUEEZE   0 dim
 *   SLICE       0 dim, 1 start, 2 end, 3 step (already clamped by the client; re-checked)
 *   SELECT      0 dim, 1 index
 *   CAT         0 dim
 *   LINALG_*    A (and B) are batches of matrices in the last two dims, batch dims equal
 *               (the client broadcasts); outputs and info semantics: kernels/shape_linalg.c.
 *               CHOLESKY 0 upper; QR 0 mode (0 reduced, 1 complete, 2 r); SVD 0 full_matrices,
 *               1 compute_uv; EIGH 0 upper, 1 compute_v; LSTSQ 0 rcond (double bits, < 0:
 *               default), 1 driver (0 gelsy, 1 gelsd, 2 gelss, 3 gels); INV, SOLVE, DET,
 *               SLOGDET, EIG: none
 *   GATHER      0 dim (self, index int64);  SCATTER: 0 dim, 1 reduce (0 none, 1 add, 2 multiply)
 *               (self, index int64, src of self's dtype)
 *   INDEX       0 first indexed dim, 1 mode; inputs (self, idx0..idxk-1): int64, one shape, on
 *               dims [dim, dim+k); output self[:dim] + idx shape + self[dim+k:].  Modes set negative
 *               wrapping and torch's message: 0 advanced indexing, 1 index_select/index_add_
 *               ("index out of range in self"), 2 take/put_, 3 index_fill_, 4 index_copy_,
 *               5 boolean mask: inputs (self, bool/uint8 mask over dims [dim, dim+mask.ndim)),
 *               attr 2 the number of true elements (learned first); output (count,) + the rest
 *   INDEX_PUT   0 dim, 1 mode, 2 accumulate; inputs (self, values of the indexed shape, idx...)
 *   NONZERO     0 count of non-zero elements (learned first); output (count, ndim) int64;
 *               with 1 = 1 (count mode) the output is that count itself, a 0-d int64
 *   SORT        0 dim, 1 descending, 2 stable (always stable), 3 k (optional; absent or < 0: the
 *               whole dim); outputs values, int64 indices, k long along dim: the first k of the
 *               stable sorted order (topk, kthvalue)
 *   SEARCHSORTED 0 right, 1 out_int32; inputs (sorted_sequence, values)
 *   HISTC       0 bins, 1 min, 2 max (double bits; the client resolves min == max)
 *   MATH_UNARY  LOGIT: 0 has_eps, 1 eps (double bits); NAN_TO_NUM: 0 nan, 1 posinf, 2 neginf
 *               (double bits, the client fills torch's defaults); predicates, FRAC: none
 *   MATH_BINARY like BINARY: 0-1 scalar operand when n_in == 1 (TD_RF_SCALAR_LHS: XLOGY)
 *   MATH_TERNARY LERP: inputs (start, end[, weight]), 0-1 weight scalar when n_in == 2;
 *               ADDCMUL/ADDCDIV: inputs (self, tensor1, tensor2), 0-1 value scalar
 *   SOFTMAX     0 dim, 1 dtype or -1;  CUMULATIVE: 0 dim, 1 dtype or -1 (CUMSUM, CUMPROD)
 *   STAT        0 dim mask, 1 keepdim, 2 dtype or -1 (NORM, NANSUM, NANMEAN), 3 per op:
 *               VAR/STD/VAR_MEAN/STD_MEAN correction; NORM p (double bits);
 *               AMINMAX 1 = a dim was given; MEDIAN ignores 0-1 (all elements, 0-d)
 *   FLIP        0 dim mask (bit d = flip dim d)
 *   TRIL, TRIU  0 diagonal
 *   UNIFORM_    0 from, 1 to (doubles as bits), 2 the tensor's dtype (bits drawn fit its mantissa)
 *   NORMAL_, LOG_NORMAL_  0 mean, 1 std (doubles); CAUCHY_: 0 median, 1 sigma
 *   EXPONENTIAL_ 0 lambda; GEOMETRIC_, BERNOULLI_: 0 p (doubles)
 *   RANDOM_     0 from, 1 to (int64, to exclusive)
 *   BERNOULLI_P none (input: the probabilities; output like it)
 *   MULTINOMIAL 0 num_samples, 1 replacement
 *   RANDPERM    0 dtype, 1 n
 *   GET_RNG_STATE, SET_RNG_STATE  none; input: contiguous uint8[32], the session generator's state
 *   SET_DEFAULT_DTYPE  0 dtype (floating): the session's default float for promotion (CTRL)
 *   SET_NUM_THREADS    0 n in [1, 4096]: the session's intra-op thread limit (CTRL); the
 *               records after it run on at most n threads (fewer when the pool is smaller)
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
};

enum td_scalar_kind { TD_SCALAR_BOOL = 0, TD_SCALAR_INT = 1, TD_SCALAR_FLOAT = 2 };

enum td_round_mode { TD_ROUND_NONE = 0, TD_ROUND_TRUNC = 1, TD_ROUND_FLOOR = 2 };

#endif
