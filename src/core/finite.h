/* Scans of float arrays that every entry point needs: the first non-finite element and
 * the largest magnitude. Both are single vectorised passes over the magnitude bit
 * patterns (they sit on the path of every forward, backward and update call): the bit
 * patterns of non-negative floats order as unsigned integers, and an integer maximum
 * vectorises where a float one (NaN and signed-zero rules; fmaxf stays a library call)
 * does not. */
#ifndef AIHW_CORE_FINITE_H
#define AIHW_CORE_FINITE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The largest |v[k]| as a bit pattern (0 for n = 0); >= 0x7f800000 iff some v[k] is
 * infinite or NaN. */
static inline uint32_t aihw_max_magnitude_bits(const float *v, int64_t n) {
  uint32_t largest = 0;
  for (int64_t k = 0; k < n; ++k) {
    uint32_t bits;
    memcpy(&bits, &v[k], sizeof bits);
    bits &= 0x7fffffffu;
    largest = bits > largest ? bits : largest;
  }
  return largest;
}

/* Index of the first NaN or Inf in v[0..n), or -1 (one pass when all are finite). */
static inline int64_t aihw_first_non_finite(const float *v, int64_t n) {
  if (aihw_max_magnitude_bits(v, n) < 0x7f800000u)
    return -1;
  for (int64_t k = 0; k < n; ++k)
    if (!isfinite(v[k]))
      return k;
  return -1;
}

/* max |v[k]| over v[0..n) (0 for n = 0), for finite v. */
static inline float aihw_max_abs(const float *v, int64_t n) {
  const uint32_t largest = aihw_max_magnitude_bits(v, n);
  float m;
  memcpy(&m, &largest, sizeof m);
  return m;
}

#endif
