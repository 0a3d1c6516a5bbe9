/* Exact tests of the Philox generator (core/philox.h) and the bulk fills (core/rng.h):
 * Random123 known answers, the float transforms and their documented error bounds, and
 * the rule that a fill's element e is lane e%4 of block e/4 whatever the call pattern
 * (DESIGN.md §4 rule 2). */
#include <math.h>
#include <stdint.h>

#include "core/philox.h"
#include "core/rng.h"
#include "test_util.h"

static const double two_pi = 6.283185307179586476925286766559;

/* ---- Philox4x32-10 ---------------------------------------------------------------- */

static void check_philox(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                         uint32_t k1, uint32_t e0, uint32_t e1, uint32_t e2, uint32_t e3) {
  const uint32_t ctr[4] = {c0, c1, c2, c3};
  const uint32_t key[2] = {k0, k1};
  uint32_t out[4];
  aihw_philox4x32_10(ctr, key, out);
  CHECK(out[0] == e0);
  CHECK(out[1] == e1);
  CHECK(out[2] == e2);
  CHECK(out[3] == e3);
}

/* Known-answer vectors of Random123 (kat_vectors, philox4x32 with 10 rounds). */
static void philox_matches_random123_known_answers(void) {
  check_philox(0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u,
               0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u);
  check_philox(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
               0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu);
  check_philox(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u,
               0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u);
}

/* aihw_rng_block lays the counter out as {block, row, op low, op high|purpose|round}. */
static void rng_block_uses_documented_counter_layout(void) {
  aihw_rng_stream s =
      aihw_rng_stream_make(0xa4093822u, 0x299f31d0u, 0x0000abcd13198a2eull, 0x73u, 0x44u);
  CHECK(s.c2 == 0x13198a2eu);
  CHECK(s.c3 == 0xabcd7344u);
  uint32_t direct[4], via_stream[4];
  const uint32_t ctr[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0xabcd7344u};
  aihw_philox4x32_10(ctr, s.key, direct);
  aihw_rng_block(&s, 0x85a308d3u, 0x243f6a88u, via_stream);
  for (int k = 0; k < 4; ++k)
    CHECK(direct[k] == via_stream[k]);
}

/* ---- uniform transforms ------------------------------------------------------------ */

static void uniform_transforms_have_documented_ranges_and_values(void) {
  /* [0, 1): top 24 bits times 2^-24. */
  CHECK_FEQ(aihw_uniform_from_u32(0u), 0.0f);
  CHECK_FEQ(aihw_uniform_from_u32(0xffffffffu), 1.0f - 0x1p-24f);
  CHECK_FEQ(aihw_uniform_from_u32(0x100u), 0x1p-24f);
  CHECK_FEQ(aihw_uniform_from_u32(0xffu), 0.0f); /* low 8 bits are dropped */
  /* (0, 1]: (top 24 bits + 1) times 2^-24. */
  CHECK_FEQ(aihw_uniform_open0_from_u32(0u), 0x1p-24f);
  CHECK_FEQ(aihw_uniform_open0_from_u32(0xffffffffu), 1.0f);
  CHECK_FEQ(aihw_uniform_open0_from_u32(0x100u), 0x1p-23f);
  /* Both ranges hold over a sweep of words with every top-byte and low-byte pattern. */
  int in_range = 1;
  for (uint64_t x = 0; x <= 0xffffffffull; x += 0x00fedcbbull) {
    float u = aihw_uniform_from_u32((uint32_t)x);
    float v = aihw_uniform_open0_from_u32((uint32_t)x);
    in_range &= u >= 0.0f && u < 1.0f && v > 0.0f && v <= 1.0f;
    in_range &= v - u == 0x1p-24f; /* exact: both are multiples of 2^-24 below 2 */
  }
  CHECK(in_range);
}

/* ---- polynomial log and sincos against libm in double ------------------------------ */

/* philox.h: relative error of aihw_log_positive below 2e-7 (measured maximum 1.52e-7 over
 * every float in [2^-24, 1]). The absolute error grows with |ln x| because the result's own
 * float rounding does (half an ulp of 16.6 is 9.5e-7); exact 0 at x = 1. */
static void log_positive_is_within_documented_relative_error(void) {
  const uint32_t lo = aihw_float_bits(0x1p-24f), hi = aihw_float_bits(1.0f);
  double worst = 0.0;
  long points = 0;
  for (uint32_t b = lo; b < hi; b += 97) {
    float x = aihw_bits_float(b);
    double exact = log((double)x);
    double rel = fabs((double)aihw_log_positive(x) - exact) / fabs(exact);
    worst = rel > worst ? rel : worst;
    ++points;
  }
  CHECK(points > 1000000); /* 2^-24 .. 1 spans 24 binades of 2^23 floats: ~2e6 points */
  CHECK(worst < 2e-7);
  CHECK_FEQ(aihw_log_positive(1.0f), 0.0f);
  CHECK_NEAR(aihw_log_positive(0x1p-24f), -24.0 * 0.69314718055994531, 2e-7 * 16.7);
  CHECK_NEAR(aihw_log_positive(0.5f), -0.69314718055994531, 2e-7 * 0.7);
}

/* philox.h: absolute error of aihw_sincos_turns below 1e-7 (measured maximum 9.5e-8 over
 * every float in [0, 1)). */
static void sincos_turns_is_within_documented_absolute_error(void) {
  double worst = 0.0;
  const uint32_t one = aihw_float_bits(1.0f);
  for (uint32_t b = 0; b < one; b += 97) {
    float t = aihw_bits_float(b);
    float s, c;
    aihw_sincos_turns(t, &s, &c);
    double es = fabs((double)s - sin(two_pi * (double)t));
    double ec = fabs((double)c - cos(two_pi * (double)t));
    worst = es > worst ? es : worst;
    worst = ec > worst ? ec : worst;
  }
  /* The uniforms Box-Muller actually feeds in: k 2^-24, every 7th k. */
  for (uint32_t k = 0; k < (1u << 24); k += 7) {
    float t = (float)k * 0x1p-24f;
    float s, c;
    aihw_sincos_turns(t, &s, &c);
    double es = fabs((double)s - sin(two_pi * (double)t));
    double ec = fabs((double)c - cos(two_pi * (double)t));
    worst = es > worst ? es : worst;
    worst = ec > worst ? ec : worst;
  }
  CHECK(worst < 1e-7);
  /* Quadrant boundaries and the ends of the range. */
  const float ts[] = {0.0f, 0.125f, 0.25f, 0.375f, 0.5f, 0.75f, 1.0f - 0x1p-24f};
  for (size_t i = 0; i < sizeof ts / sizeof ts[0]; ++i) {
    float s, c;
    aihw_sincos_turns(ts[i], &s, &c);
    CHECK_NEAR(s, sin(two_pi * (double)ts[i]), 1e-7);
    CHECK_NEAR(c, cos(two_pi * (double)ts[i]), 1e-7);
  }
  float s, c;
  aihw_sincos_turns(0.0f, &s, &c);
  CHECK_FEQ(s, 0.0f);
  CHECK_FEQ(c, 1.0f);
  aihw_sincos_turns(0.25f, &s, &c);
  CHECK_FEQ(s, 1.0f);
  CHECK_FEQ(c, 0.0f);
  aihw_sincos_turns(0.5f, &s, &c);
  CHECK_FEQ(s, 0.0f);
  CHECK_FEQ(c, -1.0f);
  aihw_sincos_turns(0.75f, &s, &c);
  CHECK_FEQ(s, -1.0f);
  CHECK_FEQ(c, 0.0f);
}

/* Box-Muller of extreme words: the smallest u1 gives the largest radius sqrt(2 ln 2^24). */
static void box_muller_is_finite_at_extreme_words(void) {
  const uint32_t words[] = {0u, 0xffu, 0x100u, 0x7fffffffu, 0x80000000u, 0xffffffffu};
  int finite = 1;
  for (size_t i = 0; i < 6; ++i)
    for (size_t j = 0; j < 6; ++j) {
      float a, b;
      aihw_box_muller(words[i], words[j], &a, &b);
      finite &= isfinite(a) && isfinite(b) && fabsf(a) <= 5.77f && fabsf(b) <= 5.77f;
    }
  CHECK(finite);
  float a, b;
  aihw_box_muller(0u, 0u, &a, &b); /* u1 = 2^-24, angle 0 */
  CHECK_NEAR(a, sqrt(2.0 * 24.0 * 0.69314718055994531), 1e-5);
  CHECK_FEQ(b, 0.0f);
  aihw_box_muller(0xffffffffu, 0u, &a, &b); /* u1 = 1: radius 0 */
  CHECK_FEQ(a, 0.0f);
  CHECK_FEQ(b, 0.0f);
}

/* ---- bulk fills -------------------------------------------------------------------- */

static const size_t fill_lengths[] = {0,  1,  3,  4,   5,   12,  13,  17,   32,  33,
                                      95, 96, 97, 100, 108, 128, 129, 1000, 4099};

static int bits_equal(float a, float b) { return aihw_float_bits(a) == aihw_float_bits(b); }

/* Element e of a fill equals lane e%4 of block e/4 of the scalar definition, bit for bit,
 * for lengths that exercise the chunked body, a chunk-sized tail and a block-sized tail. */
static void fills_equal_scalar_blocks_element_by_element(void) {
  aihw_rng_stream s = aihw_rng_stream_make(20240611u, 3u, 77u, AIHW_RNG_OUTPUT_NOISE, 1u);
  static float out[4200 + 1];
  const size_t firsts[] = {0, 8, 4 * 1000003};
  for (size_t f = 0; f < 3; ++f)
    for (size_t i = 0; i < sizeof fill_lengths / sizeof fill_lengths[0]; ++i) {
      size_t first = firsts[f], n = fill_lengths[i];
      for (int uniform = 0; uniform < 2; ++uniform) {
        out[n] = -99.0f; /* guard: a fill must not write past n */
        if (uniform)
          aihw_rng_fill_uniform(&s, 5u, first, out, n);
        else
          aihw_rng_fill_normal(&s, 5u, first, out, n);
        int same = 1;
        for (size_t e = 0; e < n; ++e) {
          float v[4];
          uint32_t block = (uint32_t)((first + e) / 4);
          if (uniform)
            aihw_rng_uniform4(&s, 5u, block, v);
          else
            aihw_rng_normal4(&s, 5u, block, v);
          same &= bits_equal(out[e], v[(first + e) % 4]);
        }
        if (!same)
          fprintf(stderr, "  %s fill differs: first %zu, n %zu\n",
                  uniform ? "uniform" : "normal", first, n);
        CHECK(same);
        CHECK_FEQ(out[n], -99.0f);
      }
    }
}

/* Block numbers wrap modulo 2^32 the same way in both forms. */
static void fills_wrap_block_numbers_like_scalar_form(void) {
  aihw_rng_stream s = aihw_rng_stream_make(1u, 2u, 3u, AIHW_RNG_INPUT_NOISE, 0u);
  float out[400];
  size_t first = 4 * (size_t)(0xffffffffu - 20u);
  aihw_rng_fill_normal(&s, 9u, first, out, 400);
  int same = 1;
  for (uint32_t e = 0; e < 400; ++e) {
    float v[4];
    aihw_rng_normal4(&s, 9u, 0xffffffffu - 20u + e / 4, v);
    same &= bits_equal(out[e], v[e % 4]);
  }
  CHECK(same);
}

/* Filling [0, n) in one call equals filling it in two calls split at a multiple of 4. */
static void fill_split_at_multiple_of_four_equals_one_call(void) {
  aihw_rng_stream s = aihw_rng_stream_make(99u, 0u, 1u << 20, AIHW_RNG_WEIGHT_NOISE, 2u);
  enum { n = 1003 };
  static float whole[n], parts[n];
  const size_t splits[] = {0, 4, 8, 92, 96, 100, 384, 500, 1000};
  for (int uniform = 0; uniform < 2; ++uniform) {
    void (*fill)(const aihw_rng_stream *, uint32_t, size_t, float *, size_t) =
        uniform ? aihw_rng_fill_uniform : aihw_rng_fill_normal;
    fill(&s, 11u, 0, whole, n);
    for (size_t i = 0; i < sizeof splits / sizeof splits[0]; ++i) {
      size_t k = splits[i];
      fill(&s, 11u, 0, parts, k);
      fill(&s, 11u, k, parts + k, n - k);
      CHECK(memcmp(whole, parts, sizeof whole) == 0);
    }
  }
}

/* rng.c's two paths (the AVX2 one, where compiled, and the portable reference) give the
 * same bits for every length from 0 to 300, which covers whole chunks and every tail of
 * both, at offsets that include block numbers wrapping past 2^32, on several streams. */
static void fast_and_portable_fills_are_identical(void) {
  enum { max_n = 300 };
  static float fast[max_n + 1], portable[max_n + 1];
  const size_t firsts[] = {0, 4, 4 * 1000003, 4 * (size_t)(0xffffffffu - 40u)};
  int same = 1;
  for (uint32_t k = 0; k < 3; ++k) {
    aihw_rng_stream s = aihw_rng_stream_make(0x9e3779b9u * (k + 1u), 17u * k,
                                             ((uint64_t)k << 40) | 12345u, AIHW_RNG_PROGRAM, k);
    for (size_t f = 0; f < sizeof firsts / sizeof firsts[0]; ++f)
      for (size_t n = 0; n <= max_n; ++n)
        for (int uniform = 0; uniform < 2; ++uniform) {
          fast[n] = portable[n] = -99.0f; /* guard: neither may write past n */
          if (uniform) {
            aihw_rng_fill_uniform(&s, 3u + k, firsts[f], fast, n);
            aihw_rng_fill_uniform_portable(&s, 3u + k, firsts[f], portable, n);
          } else {
            aihw_rng_fill_normal(&s, 3u + k, firsts[f], fast, n);
            aihw_rng_fill_normal_portable(&s, 3u + k, firsts[f], portable, n);
          }
          int equal = memcmp(fast, portable, (n + 1) * sizeof *fast) == 0;
          if (!equal)
            fprintf(stderr, "  %s paths differ: stream %u, first %zu, n %zu\n",
                    uniform ? "uniform" : "normal", k, firsts[f], n);
          same &= equal;
        }
  }
  CHECK(same);
}

/* Number of equal elements between two 256-long normal fills. */
static int count_equal(const aihw_rng_stream *a, uint32_t row_a, const aihw_rng_stream *b,
                       uint32_t row_b) {
  float x[256], y[256];
  aihw_rng_fill_normal(a, row_a, 0, x, 256);
  aihw_rng_fill_normal(b, row_b, 0, y, 256);
  int equal = 0;
  for (int e = 0; e < 256; ++e)
    equal += bits_equal(x[e], y[e]);
  return equal;
}

/* Every coordinate of the key and counter selects its own stream: changing any one of them
 * leaves (almost) no element equal. Two independent normals agree bitwise with probability
 * well below 1e-4, so more than 2 equal of 256 means a coordinate is ignored. */
/* Normals by block list (the pulsed update's scattered devices): every length from 0 to
 * 70 blocks (whole chunks of 16 and every tail), repeated, descending and wrapping block
 * numbers, against the scalar block and the portable path. */
static void block_list_normals_equal_scalar_blocks(void) {
  const aihw_rng_stream s = aihw_rng_stream_make(11, 3, 99, 5, 1);
  static uint32_t blocks[70];
  static float got[4 * 70], portable[4 * 70];
  uint32_t st = 5;
  for (int n = 0; n <= 70; ++n) {
    for (int q = 0; q < n; ++q) {
      st = st * 1664525u + 1013904223u;
      blocks[q] = q % 7 == 3 ? blocks[q > 0 ? q - 1 : 0]       /* repeat */
                  : q % 5 == 1 ? 0xffffffffu - (uint32_t)q     /* near the wrap */
                               : st >> (q % 3 == 0 ? 20 : 4); /* small and large */
    }
    aihw_rng_normal_blocks(&s, 17, blocks, (size_t)n, got);
    aihw_rng_normal_blocks_portable(&s, 17, blocks, (size_t)n, portable);
    int bad = 0;
    for (int q = 0; q < n; ++q) {
      float want[4];
      aihw_rng_normal4(&s, 17, blocks[q], want);
      bad += memcmp(want, got + 4 * q, sizeof want) != 0;
      bad += memcmp(want, portable + 4 * q, sizeof want) != 0;
    }
    CHECK(bad == 0);
  }
}

static void every_stream_coordinate_changes_the_stream(void) {
  const uint32_t seed = 42u, tile = 7u, purpose = AIHW_RNG_OUTPUT_NOISE, round = 0u;
  const uint64_t op = 1000u;
  aihw_rng_stream base = aihw_rng_stream_make(seed, tile, op, purpose, round);
  aihw_rng_stream variants[] = {
      aihw_rng_stream_make(seed + 1u, tile, op, purpose, round),
      aihw_rng_stream_make(seed, tile + 1u, op, purpose, round),
      aihw_rng_stream_make(seed, tile, op + 1u, purpose, round),
      aihw_rng_stream_make(seed, tile, op, AIHW_RNG_INPUT_NOISE, round),
      aihw_rng_stream_make(seed, tile, op, AIHW_RNG_OUTPUT_NOISE_NEG, round),
      aihw_rng_stream_make(seed, tile, op, purpose, round + 1u),
      aihw_rng_stream_make(seed, tile, op + (1ull << 32), purpose, round), /* high bits */
      aihw_rng_stream_make(seed, tile, op + (1ull << 47), purpose, round), /* top bit */
  };
  CHECK(count_equal(&base, 0u, &base, 0u) == 256);
  for (size_t i = 0; i < sizeof variants / sizeof variants[0]; ++i) {
    int equal = count_equal(&base, 0u, &variants[i], 0u);
    if (equal > 2)
      fprintf(stderr, "  variant %zu shares %d of 256 elements\n", i, equal);
    CHECK(equal <= 2);
  }
  CHECK(count_equal(&base, 0u, &base, 1u) <= 2); /* rows */
  /* The high op-counter bits land in counter word 3, the low ones in word 2. */
  aihw_rng_stream high = aihw_rng_stream_make(seed, tile, (1ull << 32) | 5u, purpose, round);
  CHECK(high.c2 == 5u);
  CHECK(high.c3 == ((1u << 16) | (purpose << 8) | round));
}

TEST_MAIN(TEST(philox_matches_random123_known_answers),
          TEST(rng_block_uses_documented_counter_layout),
          TEST(uniform_transforms_have_documented_ranges_and_values),
          TEST(log_positive_is_within_documented_relative_error),
          TEST(sincos_turns_is_within_documented_absolute_error),
          TEST(box_muller_is_finite_at_extreme_words),
          TEST(fills_equal_scalar_blocks_element_by_element),
          TEST(fills_wrap_block_numbers_like_scalar_form),
          TEST(fill_split_at_multiple_of_four_equals_one_call),
          TEST(fast_and_portable_fills_are_identical),
          TEST(block_list_normals_equal_scalar_blocks),
          TEST(every_stream_coordinate_changes_the_stream))
