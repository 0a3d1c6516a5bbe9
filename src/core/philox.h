/* Philox4x32-10 counter-based random numbers (Salmon, Moraes, Dror, Shaw, "Parallel
 * random numbers: as easy as 1, 2, 3", SC'11; constants and known-answer vectors of the
 * Random123 library), plus the float transforms every backend uses.
 *
 * A draw is a pure function of a 64-bit key and a 128-bit counter, so any element of any
 * stream can be generated independently, in any order, on any thread or device. aihw
 * lays the words out as (docs/architecture.md, "Randomness"):
 *   key     = { seed, tile_id }
 *   counter = { block, row, op_counter & 0xffffffff,
 *               (op_counter >> 32) << 16 | purpose << 8 | round }
 * where `row` is usually the sample of a batch, `block` the index of a group of four
 * consecutive elements of that row (element e uses block e/4, lane e%4), `op_counter`
 * the tile's operation counter (48 bits), `purpose` an aihw_rng_purpose and `round` the
 * bound-management round or another small sub-stream index.
 *
 * The float transforms use only +, -, *, /, sqrt and bit operations (no libm), so gcc
 * vectorises them and CPU and CUDA produce identical bits (with FMA contraction off).
 */
#ifndef AIHW_CORE_PHILOX_H
#define AIHW_CORE_PHILOX_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/hd.h"

/* What a stream is for; part of the counter so that streams never overlap. */
typedef enum aihw_rng_purpose {
  AIHW_RNG_SYSTEMATIC = 1,       /* per-output parameters drawn at tile creation */
  AIHW_RNG_INPUT_NOISE = 2,      /* inp_noise */
  AIHW_RNG_INPUT_ROUND = 3,      /* DAC stochastic rounding */
  AIHW_RNG_OUTPUT_NOISE = 4,     /* out_noise */
  AIHW_RNG_OUTPUT_ROUND = 5,     /* ADC stochastic rounding */
  AIHW_RNG_WEIGHT_NOISE = 6,     /* w_noise (output-referred) */
  AIHW_RNG_INPUT_NOISE_NEG = 7,  /* unused by ONE_PASS; reserved */
  AIHW_RNG_OUTPUT_NOISE_NEG = 8, /* noise of the negative pass (POS_NEG_SEPARATE*) */
  AIHW_RNG_OUTPUT_ROUND_NEG = 9, /* ADC rounding of the negative pass (DIGITAL_SUM) */
  AIHW_RNG_WEIGHT_NOISE_NEG = 10, /* w_noise of the negative pass */
  AIHW_RNG_DEVICE_DTOD = 11,      /* device-to-device values (key: construction_seed) */
  AIHW_RNG_PULSE_X = 12,          /* x pulse trains of an update (row = time slot) */
  AIHW_RNG_PULSE_D = 13,          /* d pulse trains of an update (row = time slot) */
  AIHW_RNG_STEP_NOISE = 14,       /* cycle-to-cycle noise of device steps */
  AIHW_RNG_WRITE_NOISE = 15,      /* write noise of the visible weights */
  AIHW_RNG_POST_UPDATE = 16,      /* decay / diffusion / reset / drift noise */
  AIHW_RNG_PROBABILITY_ROUND = 17, /* stochastic rounding of pulse probabilities */
  AIHW_RNG_PROGRAM = 18,           /* programming noise and drift exponents (inference) */
  AIHW_RNG_DRIFT_READ = 19,        /* read noise of a drift-to-time call (inference) */
  AIHW_RNG_MODIFIER = 20,          /* weight modifier draws (hardware-aware training) */
  AIHW_RNG_INIT = 21,              /* initial weights of network layers */
  AIHW_RNG_DROPOUT = 22            /* dropout masks (row = sample, op counter = step) */
} aihw_rng_purpose;

#define AIHW_PHILOX_ROUNDS 10

/* One Philox4x32 round on the counter words (c0, c1, c2, c3) under round key (k0, k1):
 * two 32x32->64 multiplications, the high halves xored into the other words. This is the
 * definition; rng.c restates it over arrays of counters with a high multiply that x86 SIMD
 * does well, and tests/unit/test_philox.c checks the two agree bit for bit. */
AIHW_HD static inline void aihw_philox4x32_round(uint32_t *c0, uint32_t *c1, uint32_t *c2,
                                                 uint32_t *c3, uint32_t k0, uint32_t k1) {
  uint64_t p0 = (uint64_t)0xD2511F53u * *c0;
  uint64_t p1 = (uint64_t)0xCD9E8D57u * *c2;
  uint32_t n0 = (uint32_t)(p1 >> 32) ^ *c1 ^ k0;
  uint32_t n2 = (uint32_t)(p0 >> 32) ^ *c3 ^ k1;
  *c1 = (uint32_t)p1;
  *c3 = (uint32_t)p0;
  *c0 = n0;
  *c2 = n2;
}

/* Weyl key schedule between rounds. */
AIHW_HD static inline void aihw_philox_bump_key(uint32_t *k0, uint32_t *k1) {
  *k0 += 0x9E3779B9u;
  *k1 += 0xBB67AE85u;
}

/* Bijective 10-round Philox4x32 of `ctr` under `key` (Random123's philox4x32_R(10,...)). */
AIHW_HD static inline void aihw_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
                                              uint32_t out[4]) {
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < AIHW_PHILOX_ROUNDS; ++round) {
    aihw_philox4x32_round(&c0, &c1, &c2, &c3, k0, k1);
    aihw_philox_bump_key(&k0, &k1); /* the bump after the last round is unused */
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* Uniform float in [0, 1): the top 24 bits, exactly representable. */
AIHW_HD static inline float aihw_uniform_from_u32(uint32_t x) {
  return (float)(x >> 8) * 0x1p-24f;
}

/* Uniform float in (0, 1]: never 0, so its logarithm is finite. */
AIHW_HD static inline float aihw_uniform_open0_from_u32(uint32_t x) {
  return (float)((x >> 8) + 1u) * 0x1p-24f;
}

AIHW_HD static inline uint32_t aihw_float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

AIHW_HD static inline float aihw_bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* Natural logarithm of a normal, positive float (used for u in [2^-24, 1]); relative
 * error below 2e-7 (measured 1.52e-7 over every float in [2^-24, 1]; the absolute error is
 * at most 1.5e-6, near ln 2^-24 = -16.6 where half an ulp of the result is already
 * 9.5e-7, and below 7.2e-8 where |ln x| <= 1; exactly 0 at x = 1).
 * log(m 2^e) = e ln2 + 2 atanh(s), s = (m-1)/(m+1), m in [0.707, 1.414). */
AIHW_HD static inline float aihw_log_positive(float x) {
  uint32_t bits = aihw_float_bits(x);
  int32_t e = (int32_t)((bits >> 23) & 0xffu) - 127;
  uint32_t m_bits = (bits & 0x007fffffu) | 0x3f800000u; /* m in [1, 2) */
  /* m > sqrt(2) (0x3fb504f3 = 1.41421354f; positive floats order as their bits): halve m
   * by decrementing its exponent. Integer operations only, because gcc will not
   * if-convert a conditional float multiply (it "could trap"), and a branch here stops
   * the vectorisation of rng.c's loops. */
  uint32_t big = m_bits > 0x3fb504f3u;
  m_bits -= big << 23;
  e += (int32_t)big;
  float m = aihw_bits_float(m_bits);
  float s = (m - 1.0f) / (m + 1.0f); /* |s| < 0.1716 */
  float s2 = s * s;
  float series =
      s2 * (2.0f / 3.0f + s2 * (2.0f / 5.0f + s2 * (2.0f / 7.0f + s2 * (2.0f / 9.0f))));
  return (float)e * 0.693147180559945f + (2.0f * s + s * series);
}

/* sin and cos of 2*pi*t for t in [0, 1); absolute error below 1e-7 (measured 9.5e-8 over
 * every float in [0, 1)); exact at multiples of a quarter turn. The angle is reduced
 * to a quarter turn k and a remainder r in [-1/8, 1/8] turn, evaluated by Taylor
 * polynomials, then rotated by k quarter turns. */
AIHW_HD static inline void aihw_sincos_turns(float t, float *sin_out, float *cos_out) {
  float q = t * 4.0f;
  int32_t k = (int32_t)(q + 0.5f);                         /* 0..4, nearest quarter */
  float a = (t - (float)k * 0.25f) * 6.28318530717958647f; /* |a| <= pi/4 */
  float a2 = a * a;
  float s =
      a * (1.0f + a2 * (-1.0f / 6.0f + a2 * (1.0f / 120.0f + a2 * (-1.0f / 5040.0f +
                                                                   a2 * (1.0f / 362880.0f)))));
  float c = 1.0f +
            a2 * (-0.5f + a2 * (1.0f / 24.0f + a2 * (-1.0f / 720.0f + a2 * (1.0f / 40320.0f))));
  int32_t quadrant = k & 3;
  float sr = quadrant == 0 ? s : quadrant == 1 ? c : quadrant == 2 ? -s : -c;
  float cr = quadrant == 0 ? c : quadrant == 1 ? -s : quadrant == 2 ? -c : s;
  *sin_out = sr;
  *cos_out = cr;
}

/* Two independent standard normals from two uniform words (Box-Muller). */
AIHW_HD static inline void aihw_box_muller(uint32_t a, uint32_t b, float *n0, float *n1) {
  float u1 = aihw_uniform_open0_from_u32(a);
  float r = sqrtf(-2.0f * aihw_log_positive(u1));
  float sn, cs;
  aihw_sincos_turns(aihw_uniform_from_u32(b), &sn, &cs);
  *n0 = r * cs;
  *n1 = r * sn;
}

/* A stream: key plus the fixed upper counter words (op counter, purpose, round). */
typedef struct aihw_rng_stream {
  uint32_t key[2];
  uint32_t c2; /* op counter, low 32 bits */
  uint32_t c3; /* op counter high 16 bits << 16 | purpose << 8 | round */
} aihw_rng_stream;

AIHW_HD static inline aihw_rng_stream aihw_rng_stream_make(uint32_t seed, uint32_t tile_id,
                                                           uint64_t op_counter,
                                                           uint32_t purpose, uint32_t round) {
  aihw_rng_stream s;
  s.key[0] = seed;
  s.key[1] = tile_id;
  s.c2 = (uint32_t)op_counter;
  s.c3 = ((uint32_t)(op_counter >> 32) << 16) | ((purpose & 0xffu) << 8) | (round & 0xffu);
  return s;
}

/* The four raw words of block `block` of row `row`. */
AIHW_HD static inline void aihw_rng_block(const aihw_rng_stream *s, uint32_t row,
                                          uint32_t block, uint32_t out[4]) {
  uint32_t ctr[4] = {block, row, s->c2, s->c3};
  aihw_philox4x32_10(ctr, s->key, out);
}

/* Four standard normals of block `block` of row `row` (elements 4*block .. 4*block+3). */
AIHW_HD static inline void aihw_rng_normal4(const aihw_rng_stream *s, uint32_t row,
                                            uint32_t block, float out[4]) {
  uint32_t w[4];
  aihw_rng_block(s, row, block, w);
  aihw_box_muller(w[0], w[1], &out[0], &out[1]);
  aihw_box_muller(w[2], w[3], &out[2], &out[3]);
}

/* Four uniforms in [0, 1) of block `block` of row `row`. */
AIHW_HD static inline void aihw_rng_uniform4(const aihw_rng_stream *s, uint32_t row,
                                             uint32_t block, float out[4]) {
  uint32_t w[4];
  aihw_rng_block(s, row, block, w);
  for (int k = 0; k < 4; ++k)
    out[k] = aihw_uniform_from_u32(w[k]);
}

#endif
