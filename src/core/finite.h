/* Scans of float arrays that every entry point needs: the first non-finite element and
 * the largest magnitude. Both are single vectorisable passes (they sit on the path of
 * every forward, backward and update call). */
#ifndef AIHW_CORE_FINITE_H
#define AIHW_CORE_FINITE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Index of the first NaN or Inf in v[0..n), or -1. The common all-finite case is one
 * vectorised pass: a float is finite exactly when its magnitude bits are below those of
 * infinity. */
static inline int64_t aihw_first_non_finite(const float *v, int64_t n) {
  uint32_t largest = 0;
  for (int64_t k = 0; k < n; ++k) {
    uint32_t bits;
    memcpy(&bits, &v[k], sizeof bits);
    bits &= 0x7fffffffu;
    largest = bits > largest ? bits : largest;
  }
  if (largest < 0x7f800000u)
    return -1;
  for (int64_t k = 0; k < n; ++k)
    if (!isfinite(v[k]))
      return k;
  return -1;
}

/* max |v[k]| over v[0..n) (0 for n = 0) for finite v, in one vectorised pass: the bit
 * patterns of non-negative floats order as unsigned integers, and an integer maximum
 * vectorises where a float one (NaN and signed-zero rules) does not. */
static inline float aihw_max_abs(const float *v, int64_t n) {
  uint32_t largest = 0;
  for (int64_t k = 0; k < n; ++k) {
    uint32_t bits;
    memcpy(&bits, &v[k], sizeof bits);
    bits &= 0x7fffffffu;
    largest = bits > largest ? bits : largest;
  }
  float m;
  memcpy(&m, &largest, sizeof m);
  return m;
}

#endif
