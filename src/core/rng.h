/* Host-side bulk generation from Philox streams (philox.h). Element e of a row is always
 * lane e%4 of block e/4, whatever the length filled, so a value depends only on its
 * coordinates, never on how the work was split between threads. */
#ifndef AIHW_CORE_RNG_H
#define AIHW_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "core/philox.h"

/* out[e] = standard normal of element (first + e) of row `row`, e < n. `first` must be a
 * multiple of 4. */
void aihw_rng_fill_normal(const aihw_rng_stream *s, uint32_t row, size_t first, float *out,
                          size_t n);

/* out[e] = uniform [0, 1) of element (first + e) of row `row`; `first` a multiple of 4. */
void aihw_rng_fill_uniform(const aihw_rng_stream *s, uint32_t row, size_t first, float *out,
                           size_t n);

/* out[4 q + k] = normal k of block blocks[q] of row `row` (element 4 blocks[q] + k), for
 * q < n_blocks: the values the fills give at those elements, for scattered elements. */
void aihw_rng_normal_blocks(const aihw_rng_stream *s, uint32_t row, const uint32_t *blocks,
                            size_t n_blocks, float *out);

/* The portable reference path of the functions above: identical results, computed
 * without explicit SIMD (rng.c). The fills above use it where the compiler targets no
 * AVX2; exported so that tests can compare the two paths. */
void aihw_rng_fill_normal_portable(const aihw_rng_stream *s, uint32_t row, size_t first,
                                   float *out, size_t n);
void aihw_rng_fill_uniform_portable(const aihw_rng_stream *s, uint32_t row, size_t first,
                                    float *out, size_t n);
void aihw_rng_normal_blocks_portable(const aihw_rng_stream *s, uint32_t row,
                                     const uint32_t *blocks, size_t n_blocks, float *out);

#endif
