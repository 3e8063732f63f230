/*
 * rng.h — the per-session random generator (Philox-free, simple and reproducible):
 * xoshiro256** seeded through splitmix64.  Same seed, same sequence, on any machine.
 * Not thread-safe: a session owns one and runs its ops in order.
 */
#ifndef TD_RNG_H
#define TD_RNG_H

#include <stdint.h>

struct td_rng {
    uint64_t s[4];
};

void td_rng_seed(struct td_rng *r, uint64_t seed);
uint64_t td_rng_next(struct td_rng *r);
/* uniform in [0, 1) with 53 (double) or 24 (float) random bits */
double td_rng_uniform(struct td_rng *r);
/* standard normal (Box-Muller, both values used in order) */
double td_rng_normal(struct td_rng *r);
/* uniform integer in [0, n) without modulo bias, n > 0 */
uint64_t td_rng_below(struct td_rng *r, uint64_t n);

#endif
