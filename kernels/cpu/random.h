/*
 * random.h — the samplers of random.c that the creation kernels (create.c: RAND, RANDN,
 * RANDINT) share: torch.rand is empty().uniform_(), randn empty().normal_() and randint
 * empty().random_(low, high), in torch as here, so each draws the same values.
 */
#ifndef TD_CPU_RANDOM_H
#define TD_CPU_RANDOM_H

#include <stdint.h>

#include "../kernel.h"

struct td_rng;

/* o gets uniform [from, to) (normal: mean + std * N(0, 1)) values rounded the way torch
 * rounds them for dtype `final` (o holds float32 for float16/bfloat16). */
void td__rand_uniform(struct td_rng *r, struct td_kt *o, double from, double to, enum td_dtype final);
void td__rand_normal(struct td_rng *r, struct td_kt *o, double mean, double std, enum td_dtype final);
/* o gets from + (a draw mod span) per element; span 0 stands for 2^64 (td_rng_span) */
void td__rand_ints(struct td_rng *r, struct td_kt *o, int64_t from, uint64_t span);

#endif
