/*
 * checked.h — overflow-checked int64 arithmetic for sizes, strides, offsets and byte
 * counts.  Every such number may come from the network, so the meta layer and the CPU
 * iterators compute with these instead of bare + and *: signed overflow is undefined
 * behaviour (the sanitizer build aborts on it) and in the release build it wraps, which
 * can turn an out-of-bounds view into one that seems to fit its storage.
 *
 * Each helper returns true when the exact result does not fit in int64_t (then *r
 * holds the wrapped value and must not be used), like the GCC/Clang builtins they wrap.
 */
#ifndef TD_CHECKED_H
#define TD_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

static inline bool td_add_overflow(int64_t a, int64_t b, int64_t *r) { return __builtin_add_overflow(a, b, r); }
static inline bool td_mul_overflow(int64_t a, int64_t b, int64_t *r) { return __builtin_mul_overflow(a, b, r); }

/* *acc += a * b; true (acc unchanged) when the product or the sum overflows. */
static inline bool td_muladd_overflow(int64_t *acc, int64_t a, int64_t b)
{
    int64_t p, s;
    if (__builtin_mul_overflow(a, b, &p) || __builtin_add_overflow(*acc, p, &s))
        return true;
    *acc = s;
    return false;
}

#endif
