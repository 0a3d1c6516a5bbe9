/* Bulk Philox fills (rng.h). Every value equals the scalar definition of philox.h
 * (lane e%4 of aihw_rng_normal4 / aihw_rng_uniform4 of block e/4) bit for bit;
 * tests/unit/test_philox.c checks this over lengths, offsets and split points, for both
 * paths below and against each other.
 *
 * Two paths compute the same bits:
 *
 * - The portable path (always compiled, aihw_rng_fill_*_portable) relies on gcc's
 *   vectorisation: structure-of-arrays chunks of AIHW_RNG_LANES blocks, word k of block j
 *   in w[k][j], so every statement of a Philox round and of the Box-Muller transform is an
 *   independent loop over j. (The block-at-a-time loop does not vectorise: its four words
 *   play different roles.) The round is restated only to replace the 64-bit product by
 *   mulhi32, which computes the same bits.
 *
 * - The AVX2 path (under __AVX2__, unless AIHW_RNG_PORTABLE is defined) writes the same
 *   operations with intrinsics. A Philox counter word lives in the low half of a 64-bit
 *   lane, four blocks to a register, so _mm256_mul_epu32 gives the full 64-bit product:
 *   its low half is the next "lo" word as it stands and one shift gives "hi" (8
 *   instructions per round for 4 blocks instead of about 20 through mulhi32). Rounds 0
 *   and 1, whose inputs are partly common to all blocks of a row, are precomputed per call.
 *   Box-Muller runs on 8 pairs at a time in the float operation order of philox.h; the
 *   only rewrites are exact ones: the factor -2 of -2 ln u1 moved onto the polynomial's
 *   constants (scaling by a power of two commutes with rounding), the exponent and
 *   mantissa of u1 read from the integer conversion before its exact scaling by 2^-24,
 *   and the quarter turn and remainder of the angle taken from the word's bits instead
 *   of through float rounding that is exact on these inputs. Because the log depends on
 *   only the top 24 bits of one word and the sine/cosine on the top 24 of the other,
 *   both were checked equal to philox.h on all 2^24 inputs when written.
 *
 * Measured on one core of an AMD EPYC (Zen 3, AVX2, 2 vCPUs shared with other work, so
 * best of repeated runs) with gcc 12 and the Release flags, M values/s for rows of 32768
 * (and of 512): block at a time 64 normals, 385 uniforms; portable path 440 (395)
 * normals, 870 (790) uniforms; AVX2 path 670 (665) normals, 1620 (1530) uniforms. Of
 * the AVX2 normals' time about half is Philox, half Box-Muller, whose divide and square
 * root (which must stay IEEE operations) take a quarter of it.
 */
#include "core/rng.h"

#include <string.h>

/* Blocks per chunk. 24 blocks keep each counter word in three AVX2 registers and the
 * whole state in twelve; 16 and 32 measured 10-20 % slower. */
#define AIHW_RNG_LANES 24

/* A tail of at most this many blocks is generated block at a time, above it as a whole
 * chunk: a chunk costs about as much as 3 scalar blocks of normals, 8 of uniforms. */
#define AIHW_RNG_NORMAL_SCALAR_TAIL_BLOCKS 3
#define AIHW_RNG_UNIFORM_SCALAR_TAIL_BLOCKS 8

/* High 32 bits of the 64-bit product a * m, from 16-bit halves so that every partial
 * product fits a 32-bit lane (Warren, Hacker's Delight, 2nd ed., 8-2, mulhu). x86 has no
 * 32-bit lane high-multiply before AVX-512, and gcc's vectorisation of the widening
 * product (uint64_t)a * m spends more on shuffles than this does on multiplies. */
static inline uint32_t mulhi32(uint32_t a, uint32_t m) {
  uint32_t a_lo = a & 0xffffu, a_hi = a >> 16;
  uint32_t m_lo = m & 0xffffu, m_hi = m >> 16;
  uint32_t t = a_lo * m_lo;
  uint32_t u = a_hi * m_lo + (t >> 16);     /* <= (2^16-1)^2 + 2^16-1 < 2^32 */
  uint32_t v = a_lo * m_hi + (u & 0xffffu); /* likewise */
  return a_hi * m_hi + (u >> 16) + (v >> 16);
}

/* Raw words of blocks block0 .. block0 + AIHW_RNG_LANES - 1 of `row` (block numbers wrap
 * modulo 2^32 as in the scalar form): word k of block block0 + j in w[k][j]. Same rounds
 * as aihw_philox4x32_round. */
static inline void philox_lanes(const aihw_rng_stream *s, uint32_t row, uint32_t block0,
                                uint32_t w[4][AIHW_RNG_LANES]) {
  uint32_t c0[AIHW_RNG_LANES], c1[AIHW_RNG_LANES], c2[AIHW_RNG_LANES], c3[AIHW_RNG_LANES];
  for (uint32_t j = 0; j < AIHW_RNG_LANES; ++j) {
    c0[j] = block0 + j;
    c1[j] = row;
    c2[j] = s->c2;
    c3[j] = s->c3;
  }
  uint32_t k0 = s->key[0], k1 = s->key[1];
  /* Fully unrolled, the round keys become constants; measured 5-10 % faster. */
#pragma GCC unroll 10
  for (int round = 0; round < AIHW_PHILOX_ROUNDS; ++round) {
    for (int j = 0; j < AIHW_RNG_LANES; ++j) {
      uint32_t hi0 = mulhi32(c0[j], 0xD2511F53u), lo0 = c0[j] * 0xD2511F53u;
      uint32_t hi1 = mulhi32(c2[j], 0xCD9E8D57u), lo1 = c2[j] * 0xCD9E8D57u;
      uint32_t n0 = hi1 ^ c1[j] ^ k0;
      uint32_t n2 = hi0 ^ c3[j] ^ k1;
      c1[j] = lo1;
      c3[j] = lo0;
      c0[j] = n0;
      c2[j] = n2;
    }
    aihw_philox_bump_key(&k0, &k1);
  }
  memcpy(w[0], c0, sizeof c0);
  memcpy(w[1], c1, sizeof c1);
  memcpy(w[2], c2, sizeof c2);
  memcpy(w[3], c3, sizeof c3);
}

/* The 4 * AIHW_RNG_LANES normals of the chunk starting at block0, in element order. */
static inline void normal_lanes(const aihw_rng_stream *s, uint32_t row, uint32_t block0,
                                float *out) {
  uint32_t w[4][AIHW_RNG_LANES];
  philox_lanes(s, row, block0, w);
  float n[4][AIHW_RNG_LANES];
  for (int j = 0; j < AIHW_RNG_LANES; ++j)
    aihw_box_muller(w[0][j], w[1][j], &n[0][j], &n[1][j]);
  for (int j = 0; j < AIHW_RNG_LANES; ++j)
    aihw_box_muller(w[2][j], w[3][j], &n[2][j], &n[3][j]);
  for (int j = 0; j < AIHW_RNG_LANES; ++j)
    for (int k = 0; k < 4; ++k)
      out[4 * j + k] = n[k][j];
}

/* The 4 * AIHW_RNG_LANES uniforms of the chunk starting at block0, in element order. */
static inline void uniform_lanes(const aihw_rng_stream *s, uint32_t row, uint32_t block0,
                                 float *out) {
  uint32_t w[4][AIHW_RNG_LANES];
  philox_lanes(s, row, block0, w);
  for (int j = 0; j < AIHW_RNG_LANES; ++j)
    for (int k = 0; k < 4; ++k)
      out[4 * j + k] = aihw_uniform_from_u32(w[k][j]);
}

typedef void (*chunk_fn)(const aihw_rng_stream *, uint32_t, uint32_t, float *);

/* Whole chunks straight into `out`; the remainder through a chunk-sized or block-sized
 * buffer, whichever is cheaper. `chunk` makes AIHW_RNG_LANES blocks, `block` one; both
 * are inlined, being constants at each call. */
static inline void fill(const aihw_rng_stream *s, uint32_t row, size_t first, float *out,
                        size_t n, chunk_fn chunk, chunk_fn block, size_t scalar_tail_blocks) {
  const uint32_t block0 = (uint32_t)(first / 4);
  const size_t chunk_len = 4 * AIHW_RNG_LANES;
  const size_t whole = n / chunk_len;
  for (size_t c = 0; c < whole; ++c)
    chunk(s, row, block0 + (uint32_t)(c * AIHW_RNG_LANES), out + c * chunk_len);
  size_t done = whole * chunk_len;
  if (done == n)
    return;
  uint32_t b = block0 + (uint32_t)(whole * AIHW_RNG_LANES);
  size_t tail_blocks = (n - done + 3) / 4;
  if (tail_blocks > scalar_tail_blocks) {
    float buf[4 * AIHW_RNG_LANES];
    chunk(s, row, b, buf);
    memcpy(out + done, buf, (n - done) * sizeof *out);
    return;
  }
  for (; done + 4 <= n; done += 4, ++b)
    block(s, row, b, out + done);
  if (done < n) {
    float v[4];
    block(s, row, b, v);
    for (size_t k = 0; done + k < n; ++k)
      out[done + k] = v[k];
  }
}

void aihw_rng_fill_normal_portable(const aihw_rng_stream *s, uint32_t row, size_t first,
                                   float *out, size_t n) {
  fill(s, row, first, out, n, normal_lanes, aihw_rng_normal4,
       AIHW_RNG_NORMAL_SCALAR_TAIL_BLOCKS);
}

void aihw_rng_fill_uniform_portable(const aihw_rng_stream *s, uint32_t row, size_t first,
                                    float *out, size_t n) {
  fill(s, row, first, out, n, uniform_lanes, aihw_rng_uniform4,
       AIHW_RNG_UNIFORM_SCALAR_TAIL_BLOCKS);
}

void aihw_rng_normal_blocks_portable(const aihw_rng_stream *s, uint32_t row,
                                     const uint32_t *blocks, size_t n_blocks, float *out) {
  for (size_t q = 0; q < n_blocks; ++q)
    aihw_rng_normal4(s, row, blocks[q], out + 4 * q);
}

#if defined(__AVX2__) && !defined(AIHW_RNG_PORTABLE)
#include <immintrin.h>

/* Sets of 4 blocks (16 values) per chunk. Four sets keep the Philox state in 16 registers,
 * enough independent work to hide the multiplier's latency, and divide rows of 64k values;
 * 2, 3, 5, 6 and 8 measured 5-20 % slower at n = 512 or n = 32768. */
#define AVX2_SETS 4

/* gcc inlines these only when told; the unrolled loops over sets need a constant count. */
#define AVX2_INLINE static inline __attribute__((always_inline))

/* Per-call values: the round keys and what rounds 0 and 1 compute the same way for every
 * block of the row (in round 0 only word 0, the block number, differs between blocks;
 * in round 1 words 0 and 1 are still common). */
typedef struct avx2_row {
  uint32_t key0, key1;
  __m256i block_offsets; /* 0, 1, 2, 3 in the low halves of the 64-bit lanes */
  __m256i r0_xor2;       /* round 0: word 2 = hi(block * M0) ^ c3 ^ k1 */
  __m256i r1_xor0;       /* round 1: word 0 = hi(word 2 * M1) ^ lo(c2 * M1) ^ k0 */
  __m256i r1_xor2;       /* round 1: word 2 = lo(block * M0) ^ hi(word 0 * M0) ^ k1 */
  __m256i r1_word3;      /* round 1: word 3 = lo(word 0 * M0), word 0 being common */
} avx2_row;

AVX2_INLINE void avx2_row_make(const aihw_rng_stream *s, uint32_t row, avx2_row *r) {
  uint32_t k0 = s->key[0], k1 = s->key[1];
  r->key0 = k0;
  r->key1 = k1;
  r->block_offsets = _mm256_setr_epi32(0, 0, 1, 0, 2, 0, 3, 0);
  uint64_t p1 = (uint64_t)0xCD9E8D57u * s->c2;
  uint32_t word0 = (uint32_t)(p1 >> 32) ^ row ^ k0; /* round 0's word 0 */
  uint32_t word1 = (uint32_t)p1;                    /* round 0's word 1 */
  r->r0_xor2 = _mm256_set1_epi32((int)(s->c3 ^ k1));
  aihw_philox_bump_key(&k0, &k1);
  uint64_t p0 = (uint64_t)0xD2511F53u * word0;
  r->r1_xor0 = _mm256_set1_epi32((int)(word1 ^ k0));
  r->r1_xor2 = _mm256_set1_epi32((int)((uint32_t)(p0 >> 32) ^ k1));
  r->r1_word3 = _mm256_set1_epi32((int)(uint32_t)p0);
}

/* Raw words of blocks block0 .. block0 + 4 sets - 1: word k of block block0 + 4 q + i in
 * the low half of 64-bit lane i of w[q][k] (high halves are garbage). Same rounds as
 * aihw_philox4x32_round. */
AVX2_INLINE void avx2_philox(const avx2_row *r, uint32_t block0, const uint32_t *blocks,
                             int sets, __m256i w[AVX2_SETS][4]) {
  const __m256i m0 = _mm256_set1_epi32((int)0xD2511F53u);
  const __m256i m1 = _mm256_set1_epi32((int)0xCD9E8D57u);
  __m256i c0[AVX2_SETS], c1[AVX2_SETS], c2[AVX2_SETS], c3[AVX2_SETS];
  const __m256i base = _mm256_add_epi32(_mm256_set1_epi32((int)block0), r->block_offsets);
#pragma GCC unroll 8
  for (int q = 0; q < sets; ++q) { /* rounds 0 and 1; block numbers wrap like uint32_t */
    /* blocks != NULL: the listed block numbers, 4 to a set (zero-extended into the
     * 64-bit lanes); else block0 + 4 q + lane */
    __m256i block =
        blocks != NULL
            ? _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(const void *)(blocks + 4 * q)))
            : _mm256_add_epi32(base, _mm256_set1_epi32(4 * q));
    __m256i p0 = _mm256_mul_epu32(block, m0);
    __m256i word2 = _mm256_xor_si256(_mm256_srli_epi64(p0, 32), r->r0_xor2);
    __m256i p1 = _mm256_mul_epu32(word2, m1);
    c0[q] = _mm256_xor_si256(_mm256_srli_epi64(p1, 32), r->r1_xor0);
    c1[q] = p1;
    c2[q] = _mm256_xor_si256(p0, r->r1_xor2);
    c3[q] = r->r1_word3;
  }
  uint32_t k0 = r->key0 + 2u * 0x9E3779B9u, k1 = r->key1 + 2u * 0xBB67AE85u;
#pragma GCC unroll 10
  for (int round = 2; round < AIHW_PHILOX_ROUNDS; ++round) {
    const __m256i key0 = _mm256_set1_epi32((int)k0), key1 = _mm256_set1_epi32((int)k1);
#pragma GCC unroll 8
    for (int q = 0; q < sets; ++q) {
      __m256i p0 = _mm256_mul_epu32(c0[q], m0);
      __m256i p1 = _mm256_mul_epu32(c2[q], m1);
      __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1[q]), key0);
      __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3[q]), key1);
      c1[q] = p1;
      c3[q] = p0;
      c0[q] = n0;
      c2[q] = n2;
    }
    aihw_philox_bump_key(&k0, &k1);
  }
#pragma GCC unroll 8
  for (int q = 0; q < sets; ++q) {
    w[q][0] = c0[q];
    w[q][1] = c1[q];
    w[q][2] = c2[q];
    w[q][3] = c3[q];
  }
}

/* Low halves of a's 64-bit lanes in the even 32-bit lanes, of b's in the odd ones. */
AVX2_INLINE __m256i avx2_interleave_low(__m256i a, __m256i b) {
  return _mm256_blend_epi32(a, _mm256_slli_epi64(b, 32), 0xAA);
}

/* Stores blocks 0..3 in element order from block02 (block 0 in the low 128 bits, block 2
 * in the high) and block13 (blocks 1 and 3). */
AVX2_INLINE void avx2_store_blocks(float *out, __m256 block02, __m256 block13) {
  _mm256_storeu_ps(out, _mm256_permute2f128_ps(block02, block13, 0x20));
  _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(block02, block13, 0x31));
}

AVX2_INLINE void avx2_uniform(const avx2_row *r, uint32_t block0, int sets, float *out) {
  __m256i w[AVX2_SETS][4];
  avx2_philox(r, block0, NULL, sets, w);
  const __m256 scale = _mm256_set1_ps(0x1p-24f);
#pragma GCC unroll 8
  for (int q = 0; q < sets; ++q) { /* aihw_uniform_from_u32; x >> 8 converts exactly */
    __m256i w01 = _mm256_srli_epi32(avx2_interleave_low(w[q][0], w[q][1]), 8);
    __m256i w23 = _mm256_srli_epi32(avx2_interleave_low(w[q][2], w[q][3]), 8);
    __m256d f01 = _mm256_castps_pd(_mm256_mul_ps(_mm256_cvtepi32_ps(w01), scale));
    __m256d f23 = _mm256_castps_pd(_mm256_mul_ps(_mm256_cvtepi32_ps(w23), scale));
    avx2_store_blocks(out + 16 * q, _mm256_castpd_ps(_mm256_unpacklo_pd(f01, f23)),
                      _mm256_castpd_ps(_mm256_unpackhi_pd(f01, f23)));
  }
}

/* -2.0f * aihw_log_positive(u1) for u1 = ((a >> 8) + 1) 2^-24, bit for bit. */
AVX2_INLINE __m256 avx2_minus_two_log(__m256i a) {
  /* v = u1 2^24 exactly: u1's mantissa is v's and its exponent 24 less. */
  __m256 v =
      _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_srli_epi32(a, 8), _mm256_set1_epi32(1)));
  /* philox.h's split m 2^e, m in [0.707, 1.414], via the offset 0x3f3504f4 (musl's logf
   * uses 0x3f3504f3; one more puts m = 0x3fb504f3 = 1.41421354f on the upper side, as
   * philox.h's "m_bits > 0x3fb504f3" does): the arithmetic shift of bits - offset is e,
   * one more where m is halved, and the low 23 bits plus the offset are m's bits. */
  __m256i ix =
      _mm256_sub_epi32(_mm256_castps_si256(v), _mm256_set1_epi32(0x3f3504f4 + (24 << 23)));
  __m256i e = _mm256_srai_epi32(ix, 23);
  __m256 m = _mm256_castsi256_ps(_mm256_add_epi32(
      _mm256_and_si256(ix, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f3504f4)));
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 s = _mm256_div_ps(_mm256_sub_ps(m, one), _mm256_add_ps(m, one));
  __m256 s2 = _mm256_mul_ps(s, s);
  /* philox.h's constants times -2, which multiplies every intermediate by -2 exactly. */
  __m256 series = _mm256_add_ps(_mm256_set1_ps(-2.0f * (2.0f / 7.0f)),
                                _mm256_mul_ps(s2, _mm256_set1_ps(-2.0f * (2.0f / 9.0f))));
  series = _mm256_add_ps(_mm256_set1_ps(-2.0f * (2.0f / 5.0f)), _mm256_mul_ps(s2, series));
  series = _mm256_add_ps(_mm256_set1_ps(-2.0f * (2.0f / 3.0f)), _mm256_mul_ps(s2, series));
  series = _mm256_mul_ps(s2, series);
  __m256 atanh_part =
      _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(-2.0f * 2.0f), s), _mm256_mul_ps(s, series));
  __m256 e_part =
      _mm256_mul_ps(_mm256_cvtepi32_ps(e), _mm256_set1_ps(-2.0f * 0.693147180559945f));
  return _mm256_add_ps(e_part, atanh_part);
}

/* aihw_box_muller on 8 pairs (a, b): n0 = r cos, n1 = r sin, bit for bit. */
AVX2_INLINE void avx2_box_muller(__m256i a, __m256i b, __m256 *n0, __m256 *n1) {
  __m256 r = _mm256_sqrt_ps(avx2_minus_two_log(a));
  /* With t = (b >> 8) 2^-24, aihw_sincos_turns' k = (int)(4 t + 0.5) is the top two bits
   * of b + 2^29 (mod 4, which is all it uses), and t - k/4 = (x - k 2^22) 2^-24 exactly
   * is bits 29..8 of b as a signed number times 2^-24; that scaling folds exactly into
   * the constant 2 pi. */
  __m256i k = _mm256_add_epi32(b, _mm256_set1_epi32(1 << 29));
  __m256i offset = _mm256_srai_epi32(_mm256_slli_epi32(b, 2), 10);
  __m256 angle = _mm256_mul_ps(_mm256_cvtepi32_ps(offset),
                               _mm256_set1_ps(6.28318530717958647f * 0x1p-24f));
  __m256 a2 = _mm256_mul_ps(angle, angle);
  __m256 sp = _mm256_add_ps(_mm256_set1_ps(-1.0f / 5040.0f),
                            _mm256_mul_ps(a2, _mm256_set1_ps(1.0f / 362880.0f)));
  sp = _mm256_add_ps(_mm256_set1_ps(1.0f / 120.0f), _mm256_mul_ps(a2, sp));
  sp = _mm256_add_ps(_mm256_set1_ps(-1.0f / 6.0f), _mm256_mul_ps(a2, sp));
  sp = _mm256_add_ps(_mm256_set1_ps(1.0f), _mm256_mul_ps(a2, sp));
  __m256 sine = _mm256_mul_ps(angle, sp);
  __m256 cp = _mm256_add_ps(_mm256_set1_ps(-1.0f / 720.0f),
                            _mm256_mul_ps(a2, _mm256_set1_ps(1.0f / 40320.0f)));
  cp = _mm256_add_ps(_mm256_set1_ps(1.0f / 24.0f), _mm256_mul_ps(a2, cp));
  cp = _mm256_add_ps(_mm256_set1_ps(-0.5f), _mm256_mul_ps(a2, cp));
  __m256 cosine = _mm256_add_ps(_mm256_set1_ps(1.0f), _mm256_mul_ps(a2, cp));
  /* Quadrant k: odd ones swap sine and cosine (blendv reads bit 31, k's bit 0 shifted up);
   * sine is negated in quadrants 2, 3 (k's bit 1), cosine in 1, 2 (bit 1 xor bit 0). */
  const __m256i sign = _mm256_set1_epi32((int)0x80000000u);
  __m256i odd = _mm256_slli_epi32(k, 1);
  __m256 sin_sign = _mm256_castsi256_ps(_mm256_and_si256(k, sign));
  __m256 cos_sign = _mm256_castsi256_ps(_mm256_and_si256(_mm256_xor_si256(k, odd), sign));
  __m256 sin_out =
      _mm256_xor_ps(_mm256_blendv_ps(sine, cosine, _mm256_castsi256_ps(odd)), sin_sign);
  __m256 cos_out =
      _mm256_xor_ps(_mm256_blendv_ps(cosine, sine, _mm256_castsi256_ps(odd)), cos_sign);
  *n0 = _mm256_mul_ps(r, cos_out);
  *n1 = _mm256_mul_ps(r, sin_out);
}

AVX2_INLINE void avx2_normal(const avx2_row *r, uint32_t block0, const uint32_t *blocks,
                             int sets, float *out) {
  __m256i w[AVX2_SETS][4];
  avx2_philox(r, block0, blocks, sets, w);
  /* Pairs (word 0, word 1) and (word 2, word 3) of each block side by side. */
  __m256i pairs[AVX2_SETS][2];
#pragma GCC unroll 8
  for (int q = 0; q < sets; ++q) {
    pairs[q][0] = avx2_interleave_low(w[q][0], w[q][2]);
    pairs[q][1] = avx2_interleave_low(w[q][1], w[q][3]);
  }
  /* Not unrolled: the transform alone fills the registers; measured 5-10 % faster. */
#pragma GCC unroll 1
  for (int q = 0; q < sets; ++q) {
    __m256 n0, n1;
    avx2_box_muller(pairs[q][0], pairs[q][1], &n0, &n1);
    /* Lane 2i of n0, n1 holds values 0, 1 of block i, lane 2i + 1 values 2, 3. */
    avx2_store_blocks(out + 16 * q, _mm256_unpacklo_ps(n0, n1), _mm256_unpackhi_ps(n0, n1));
  }
}

/* Whole chunks straight into `out`; the remainder through a buffer, from a chunk of 1, 2
 * or AVX2_SETS sets, the fewest that cover it (the short chunks are cheaper, but each is
 * another inlined copy of the rounds). */
AVX2_INLINE void avx2_fill(const aihw_rng_stream *s, uint32_t row, size_t first, float *out,
                           size_t n, int normal) {
  avx2_row r;
  avx2_row_make(s, row, &r);
  uint32_t block = (uint32_t)(first / 4);
  const size_t chunk_len = 16 * AVX2_SETS;
  size_t done = 0;
  for (; done + chunk_len <= n; done += chunk_len, block += 4 * AVX2_SETS) {
    if (normal)
      avx2_normal(&r, block, NULL, AVX2_SETS, out + done);
    else
      avx2_uniform(&r, block, AVX2_SETS, out + done);
  }
  if (done == n)
    return;
  float buf[16 * AVX2_SETS];
  size_t sets = (n - done + 15) / 16;
  if (sets == 1) {
    if (normal)
      avx2_normal(&r, block, NULL, 1, buf);
    else
      avx2_uniform(&r, block, 1, buf);
  } else if (sets == 2) {
    if (normal)
      avx2_normal(&r, block, NULL, 2, buf);
    else
      avx2_uniform(&r, block, 2, buf);
  } else {
    if (normal)
      avx2_normal(&r, block, NULL, AVX2_SETS, buf);
    else
      avx2_uniform(&r, block, AVX2_SETS, buf);
  }
  memcpy(out + done, buf, (n - done) * sizeof *out);
}

void aihw_rng_fill_normal(const aihw_rng_stream *s, uint32_t row, size_t first, float *out,
                          size_t n) {
  avx2_fill(s, row, first, out, n, 1);
}

void aihw_rng_fill_uniform(const aihw_rng_stream *s, uint32_t row, size_t first, float *out,
                           size_t n) {
  avx2_fill(s, row, first, out, n, 0);
}

void aihw_rng_normal_blocks(const aihw_rng_stream *s, uint32_t row, const uint32_t *blocks,
                            size_t n_blocks, float *out) {
  avx2_row r;
  avx2_row_make(s, row, &r);
  const size_t chunk_blocks = 4 * AVX2_SETS;
  size_t done = 0;
  for (; done + chunk_blocks <= n_blocks; done += chunk_blocks)
    avx2_normal(&r, 0, blocks + done, AVX2_SETS, out + 4 * done);
  if (done == n_blocks)
    return;
  /* the tail through a padded copy of the list (the padding repeats a listed block) */
  uint32_t list[4 * AVX2_SETS];
  float buf[16 * AVX2_SETS];
  const size_t left = n_blocks - done;
  for (size_t q = 0; q < chunk_blocks; ++q)
    list[q] = blocks[done + (q < left ? q : 0)];
  if (left <= 4)
    avx2_normal(&r, 0, list, 1, buf);
  else
    avx2_normal(&r, 0, list, AVX2_SETS, buf);
  memcpy(out + 4 * done, buf, 4 * left * sizeof *out);
}

#else

void aihw_rng_fill_normal(const aihw_rng_stream *s, uint32_t row, size_t first, float *out,
                          size_t n) {
  aihw_rng_fill_normal_portable(s, row, first, out, n);
}

void aihw_rng_normal_blocks(const aihw_rng_stream *s, uint32_t row, const uint32_t *blocks,
                            size_t n_blocks, float *out) {
  aihw_rng_normal_blocks_portable(s, row, blocks, n_blocks, out);
}

void aihw_rng_fill_uniform(const aihw_rng_stream *s, uint32_t row, size_t first, float *out,
                           size_t n) {
  aihw_rng_fill_uniform_portable(s, row, first, out, n);
}

#endif
