/*
 * clang_compat.h — force-included (-include) into every object of the clang fuzz build.
 * glibc's <complex.h> defines CMPLX only for GCC >= 4.7 (clang reports itself as GCC
 * 4.2), though clang has the __builtin_complex it expands to; the kernels use CMPLX.
 * Nothing else belongs here: the fuzz build compiles the daemon's sources unchanged.
 */
#ifndef TD_CLANG_COMPAT_H
#define TD_CLANG_COMPAT_H
#include <complex.h>
#ifndef CMPLX
#define CMPLX(x, y) __builtin_complex((double)(x), (double)(y))
#endif
#endif
