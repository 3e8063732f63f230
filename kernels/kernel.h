/*
 * kernel.h — the contract between the executor and the CPU kernels.
 *
 * The executor (daemon/exec.c) has already validated the record with td_meta_infer,
 * allocated the outputs (contiguous, uninitialized) and cast every input whose dtype
 * differs from the op's compute dtype, so a kernel sees:
 *   - inputs of one dtype (the compute dtype), arbitrary strides incl. 0 (broadcast),
 *     except WHERE's condition (bool) and ops whose inputs keep their own dtype (CAST,
 *     COPY_, CLONE, comparisons produce bool outputs from compute-dtype inputs);
 *   - outputs in their final dtype; for TD_RF_INPLACE the output is input 0's view,
 *     possibly strided;
 *   - never float16/bfloat16: the executor computes those in float32 and casts back;
 *   - complex64/complex128 only for TD_F_COMPLEX rows, and then the complex.c kernel
 *     when td__cpu_complex_kernel names one (the executor dispatches).
 * Kernels return a code only; the executor adds op name and shapes to the message.
 * Kernels must not allocate tensor storage (scratch via malloc is fine, freed before
 * return) and may run pieces on the intra-op pool (td_parallel_for).
 */
#ifndef TD_KERNEL_H
#define TD_KERNEL_H

#ifndef __cplusplus /* device plugins (nvcc, C++) see the kernel contract only */
#include <stdatomic.h>
#endif
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/td_device.h"
#include "meta.h"

/* A tensor as a kernel sees it: metadata plus the base of its storage. */
struct td_kt {
    struct td_meta m;
    char *data; /* element (i0..ik) is at data + (offset + sum i*stride) * elsize */
};

struct td_rng; /* per-session generator, kernels/rng.h */

struct td_kctx {
    uint16_t op;
    uint8_t flags; /* TD_RF_* */
    uint8_t compute_dtype;
    int n_in, n_out;
    struct td_kt *in[TD_MAX_INPUTS];
    struct td_kt *out[TD_MAX_OUTPUTS];
    const int64_t *attrs;
    uint32_t n_attr;
    struct td_rng *rng;
    /* optional: a failing kernel may write PyTorch's message here (TD_KMSG_LEN bytes, NUL-terminated);
     * the executor then uses it as the error message instead of its generic one */
    char *msg;
    /* device kernels (kernels/device.h): the stream to launch on and the device index;
     * NULL and 0 for CPU kernels */
    void *stream;
    int device;
    unsigned options; /* TD_KOPT_* (proto/td_device.h): the session's numerics switches */
};



#define TD_KMSG_LEN 200

typedef enum td_code (*td_kernel_fn)(struct td_kctx *k);

#ifndef __cplusplus
/* One declaration per op row: a row without a CPU kernel fails to link. */
#define TD_OP(NAME, name, nin, nout, fam, flags) enum td_code td_cpu_##name(struct td_kctx *k);
#include "../proto/ops.def"
#undef TD_OP

extern const td_kernel_fn td_cpu_kernels[TD_OP_COUNT];

/* kernels/cpu/complex.c: the kernel for op when its compute dtype is complex, or NULL
 * when td_cpu_kernels[op] handles complex itself (byte movers, matmul). */
td_kernel_fn td__cpu_complex_kernel(unsigned op);

/* Kernel scratch (kernels/cpu/scratch.c): td_scratch_alloc is malloc that refuses
 * (NULL, torch's out-of-memory message in k->msg) a size above the cap the daemon's
 * allocator sets to its memory cap; kernels whose scratch grows with client-chosen
 * attributes take it from here and fail with RESOURCE_EXHAUSTED.  Freed with free(). */
void td_scratch_set_limit(uint64_t bytes);
void *td_scratch_alloc(struct td_kctx *k, uint64_t bytes);

/* Intra-op parallelism: fn(ctx, begin, end) over [0, n) in chunks of at least grain. */
typedef void (*td_range_fn)(void *ctx, int64_t begin, int64_t end);
void td_parallel_for(int64_t n, int64_t grain, td_range_fn fn, void *ctx);
/* Threads used by td_parallel_for (1 = serial); set once at start-up.  Also makes
 * OpenBLAS single-threaded: GEMM parallelism goes through this pool (matmul.c). */
void td_parallel_init(int nthreads);
void td_parallel_fini(void);
/* The calling thread's cancellation flag (NULL: none).  While it is raised,
 * td_parallel_for skips the chunks not yet started, so a kernel whose session ended
 * stops within one chunk; its output is garbage and is never read. */
void td_parallel_set_cancel(const atomic_bool *flag);
/* The calling thread's intra-op limit (torch.set_num_threads of the session it runs):
 * td_parallel_for from this thread uses at most nthreads threads, itself included;
 * 0 (or less) lifts the limit.  Thread-local, so sessions on other threads are unaffected. */
void td_parallel_set_limit(int nthreads);
int td_parallel_get_limit(void);
/* Threads a td_parallel_for from this thread would use: min(limit, pool size). */
int td_parallel_threads(void);
#endif /* !__cplusplus */

#endif
