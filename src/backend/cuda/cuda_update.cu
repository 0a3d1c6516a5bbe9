/* CUDA backend: the pulsed ConstantStep update, the GPU twin of src/tile/update.c
 * (file comment there, items 1-3).
 *
 * 1. plan_kernel: per sample, finiteness of x and d, their abs maxima and the update
 *    management (physics/update_math.h aihw_plan_sample).
 * 2. trains_kernel: per sample and vector element, the quantised probability and the
 *    bit-packed pulse train (one bit per time slot), from the CPU's Philox coordinates
 *    (op = counter + b; PROBABILITY_ROUND round = purpose; PULSE_X / PULSE_D row = slot).
 * 3. count_kernel + uncertain_kernel ("Two-pass aggregation" below; aggregate_kernel
 *    where 32-bit device indices do not suffice) or aggregate_kernel:
 *    per device (one thread per column, 8 rows per thread so that each
 *    x train is read once per 8 devices), the coincidence counts of every sample, the
 *    mean path and the aggregation test of row_constant_step; where the bounds are out of
 *    reach the batch is applied at once with the normals (op, STEP_NOISE, round 1, row i,
 *    elements 2j and 2j + 1), otherwise the device is flagged for single steps.
 * 4. single_rows_kernel: each row with flagged devices runs row_single_steps' loop in one
 *    warp: samples in order; a warp scan of the step counts gives every flagged device
 *    its steps' positions among the row's steps (columns in order), which address their
 *    normals (op + b, STEP_NOISE, round 0, row i, element = position).
 * Every draw and every float operation is the CPU's, in the CPU's order, so the weights
 * after a call are bit-identical to the CPU update (tests/parity/test_cuda_parity.c).
 *
 * Limits of this version (tile_cuda.c sends other calls to the host update): ConstantStep
 * only, pulse trains (not MEAN_COUNT / DETERMINISTIC_IMPLICIT), at most 128 slots, no
 * write noise, pulse counters or output scales.
 */
#include "backend/cuda/cuda_internal.cuh"

#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" {
#include "physics/device_math.h"
#include "physics/update_math.h"
}

namespace {

constexpr int kMaxWords = 4;    /* 128 time slots */
constexpr int kRowsPerThread = 8;

struct upd_args {
  int batch, rows, cols, x_cols, words;
  float lr, g;
  aihw_update_params up;
  aihw_step_rule rule;
  uint32_t seed, tile_id;
  uint64_t op0;
};

struct upd_bufs {
  const float *x, *d;
  aihw_sample_plan *plans;  /* [batch] */
  uint32_t *x_bits;         /* [batch][cols][words] */
  uint32_t *d_bits;         /* [batch][rows][words] */
  signed char *x_sign;      /* [batch][cols] */
  signed char *d_sign;      /* [batch][rows] */
  unsigned char *single;    /* [rows][cols] */
  int *row_single;          /* [rows] */
  aihw_round_info *info;
  float *w;
  const float *max_bound, *min_bound, *scale_up, *scale_down;
};

__device__ inline float block_max_bits(float v, uint32_t *shared) {
  uint32_t u = aihw_float_bits(v);
  for (int o = 16; o > 0; o >>= 1) {
    uint32_t other = __shfl_xor_sync(0xffffffffu, u, o);
    u = other > u ? other : u;
  }
  if ((threadIdx.x & 31) == 0)
    shared[threadIdx.x >> 5] = u;
  __syncthreads();
  uint32_t r = shared[0];
  for (int k = 1; k < (int)(blockDim.x >> 5); ++k)
    r = shared[k] > r ? shared[k] : r;
  __syncthreads();
  return aihw_bits_float(r);
}

/* abs max of v[0..n) (finite values: the max of the magnitude bits) and the first
 * non-finite element, reported as key + index. */
__device__ float row_abs_max(const float *v, int n, unsigned long long key,
                             aihw_round_info *info, uint32_t *shared) {
  float a = 0.0f;
  unsigned long long bad = ~0ull;
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    uint32_t bits = aihw_float_bits(v[j]) & 0x7fffffffu;
    if (bits >= 0x7f800000u) {
      if (bad == ~0ull)
        bad = key + (unsigned long long)j;
      continue;
    }
    float m = aihw_bits_float(bits);
    a = m > a ? m : a;
  }
  if (bad != ~0ull)
    atomicMin(&info->bad_index, bad);
  return block_max_bits(a, shared);
}

__global__ void plan_kernel(upd_args a, upd_bufs u) {
  __shared__ uint32_t shared[8];
  const int b = blockIdx.x;
  /* keys: x elements first, then d (the CPU checks all of x before d) */
  float xa = row_abs_max(u.x + (int64_t)b * a.x_cols, a.x_cols,
                         (unsigned long long)b * (unsigned long long)a.x_cols, u.info, shared);
  float da = row_abs_max(u.d + (int64_t)b * a.rows, a.rows,
                         (1ull << 62) + (unsigned long long)b * (unsigned long long)a.rows,
                         u.info, shared);
  if (threadIdx.x != 0)
    return;
  if (a.cols > a.x_cols && xa < 1.0f) /* the analog-bias input 1.0 */
    xa = 1.0f;
  u.plans[b] = aihw_plan_sample(&a.up, a.lr, a.g, xa, da);
}

/* Trains of the x (blockIdx.z = 0) or d (1) vector of sample blockIdx.y; thread = one
 * Philox block of 4 elements (update.c make_trains). */
__global__ void trains_kernel(upd_args a, upd_bufs u) {
  const int b = blockIdx.y, which = blockIdx.z;
  const int n = which ? a.rows : a.cols, n_real = which ? a.rows : a.x_cols;
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  const int j0 = 4 * t;
  if (j0 >= n)
    return;
  const int lanes = n - j0 < 4 ? n - j0 : 4;
  const int words = a.words;
  uint32_t *bits = (which ? u.d_bits + (int64_t)b * a.rows * words
                          : u.x_bits + (int64_t)b * a.cols * words);
  signed char *sign = which ? u.d_sign + (int64_t)b * a.rows : u.x_sign + (int64_t)b * a.cols;
  const aihw_sample_plan pl = u.plans[b];
  uint32_t acc[4][kMaxWords];
  for (int l = 0; l < 4; ++l)
    for (int w = 0; w < kMaxWords; ++w)
      acc[l][w] = 0u;
  if (pl.bl == 0) {
    for (int l = 0; l < lanes; ++l) {
      sign[j0 + l] = 0;
      for (int w = 0; w < words; ++w)
        bits[(int64_t)(j0 + l) * words + w] = 0u;
    }
    return;
  }
  const uint64_t op = a.op0 + (uint64_t)b;
  const uint32_t purpose = which ? AIHW_RNG_PULSE_D : AIHW_RNG_PULSE_X;
  const float res = aihw_probability_res(&a.up, a.up.res);
  float round_uni[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  if (a.up.sto_round && res > 0.0f) {
    aihw_rng_stream s = aihw_rng_stream_make(a.seed, a.tile_id, op,
                                             AIHW_RNG_PROBABILITY_ROUND, purpose);
    aihw_rng_uniform4(&s, 0u, (uint32_t)t, round_uni);
  }
  const float scale = which ? pl.a_scale : pl.b_scale;
  const float *v = which ? u.d + (int64_t)b * a.rows : u.x + (int64_t)b * a.x_cols;
  float prob[4];
  int sg[4];
  for (int l = 0; l < 4; ++l) {
    const int j = j0 + l;
    const float value = l < lanes ? (j < n_real ? v[j] : 1.0f) : 0.0f;
    float pp = fabsf(value) * scale;
    pp = aihw_discretize(pp, res, a.up.sto_round, a.up.sto_round ? round_uni[l] : 0.5f);
    prob[l] = pp;
    sg[l] = pp > 0.0f ? (value > 0.0f ? 1 : -1) : 0;
  }
  aihw_rng_stream s = aihw_rng_stream_make(a.seed, a.tile_id, op, purpose, 0u);
  for (int slot = 0; slot < pl.bl; ++slot) {
    float uni[4];
    aihw_rng_uniform4(&s, (uint32_t)slot, (uint32_t)t, uni);
    const uint32_t bit = 1u << (slot & 31);
    const int w = slot >> 5;
#pragma unroll
    for (int l = 0; l < 4; ++l)
#pragma unroll
      for (int ww = 0; ww < kMaxWords; ++ww)
        if (ww == w && prob[l] > uni[l])
          acc[l][ww] |= bit;
  }
  for (int l = 0; l < lanes; ++l) {
    uint32_t any = 0u;
#pragma unroll
    for (int ww = 0; ww < kMaxWords; ++ww) {
      if (ww < words)
        bits[(int64_t)(j0 + l) * words + ww] = acc[l][ww];
      any |= acc[l][ww];
    }
    sign[j0 + l] = (signed char)(any == 0u ? 0 : sg[l]);
  }
}

__device__ inline int coincidences(const upd_args &a, const upd_bufs &u, int b, int i, int j) {
  const uint32_t *xb = u.x_bits + ((int64_t)b * a.cols + j) * a.words;
  const uint32_t *db = u.d_bits + ((int64_t)b * a.rows + i) * a.words;
  int n = 0;
  for (int w = 0; w < a.words; ++w)
    n += __popc(xb[w] & db[w]);
  return n * (int)u.x_sign[(int64_t)b * a.cols + j] * (int)u.d_sign[(int64_t)b * a.rows + i];
}

/* update.c row_constant_step's test and aggregated step for device (i, j), from the
 * sample loop's counts and path extremes: the batch at once where the bounds are out of
 * reach (normals: op, STEP_NOISE, round 1, row i, elements 2j and 2j + 1), else the device
 * is flagged for single steps. */
__device__ __forceinline__ void finish_device(const upd_args &a, const upd_bufs &u, int i, int j,
                                              int net, int total, float hi, float lo, float su,
                                              float sd) {
  const int64_t k = (int64_t)i * a.cols + j;
  unsigned char single = 0;
  if (total != 0) {
    const float sigma = a.rule.dw_min_std;
    const int downs = (total + net) / 2, ups = (total - net) / 2;
    const float var = sigma * sigma * ((float)ups * su * su + (float)downs * sd * sd);
    const float reach = 9.0f * sqrtf(var); /* update.c AIHW_AGGREGATE_SIGMAS */
    const float w = u.w[k];
    const float margin = 1e-6f * (fabsf(w) + fabsf(hi) + fabsf(lo) + reach);
    if (w + hi + reach + margin < u.max_bound[k] && w + lo - reach - margin > u.min_bound[k]) {
      float dw = (float)ups * su - (float)downs * sd;
      if (sigma > 0.0f) {
        aihw_rng_stream s = aihw_rng_stream_make(a.seed, a.tile_id, a.op0, AIHW_RNG_STEP_NOISE,
                                                 1u);
        float xi[4];
        aihw_rng_normal4(&s, (uint32_t)i, (uint32_t)(j / 2), xi); /* elements 2j, 2j+1 */
        const int l = (2 * j) & 3;
        dw += su * sigma * sqrtf((float)ups) * xi[l] - sd * sigma * sqrtf((float)downs) * xi[l + 1];
      }
      u.w[k] = w + dw;
    } else {
      single = 1;
      u.row_single[i] = 1; /* benign race: every writer stores 1 */
    }
  }
  u.single[k] = single;
}

/* update.c row_constant_step for the devices (i0 .. i0+7, j). */
__global__ void aggregate_kernel(upd_args a, upd_bufs u) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  const int i0 = blockIdx.y * kRowsPerThread;
  if (j >= a.cols)
    return;
  int net[kRowsPerThread], total[kRowsPerThread];
  float pos[kRowsPerThread], hi[kRowsPerThread], lo[kRowsPerThread];
  float su[kRowsPerThread], sd[kRowsPerThread];
#pragma unroll
  for (int r = 0; r < kRowsPerThread; ++r) {
    net[r] = total[r] = 0;
    pos[r] = hi[r] = lo[r] = 0.0f;
    const int i = i0 + r;
    const int64_t k = (int64_t)i * a.cols + j;
    su[r] = i < a.rows ? u.scale_up[k] : 0.0f;
    sd[r] = i < a.rows ? u.scale_down[k] : 0.0f;
  }
  const int vector_d = a.words == 1 && a.rows % kRowsPerThread == 0;
  for (int b = 0; b < a.batch; ++b) {
    if (u.plans[b].bl == 0)
      continue;
    const int xs = u.x_sign[(int64_t)b * a.cols + j];
    if (xs == 0)
      continue; /* no coincidence in any row: counts 0, paths unchanged */
    const uint32_t *xb = u.x_bits + ((int64_t)b * a.cols + j) * a.words;
    uint32_t xw[kMaxWords];
#pragma unroll
    for (int w = 0; w < kMaxWords; ++w)
      xw[w] = w < a.words ? xb[w] : 0u;
    /* The d trains and signs of the thread's 8 rows for this sample: with one word per
     * train and rows a multiple of 8 they are 32 + 8 aligned bytes, read as vectors. */
    uint32_t dw[kRowsPerThread];
    int dsg[kRowsPerThread];
    if (vector_d) {
      const uint4 *dv = (const uint4 *)(u.d_bits + (int64_t)b * a.rows + i0);
      const uint4 d0 = dv[0], d1 = dv[1];
      const uint2 sg = *(const uint2 *)(u.d_sign + (int64_t)b * a.rows + i0);
      dw[0] = d0.x, dw[1] = d0.y, dw[2] = d0.z, dw[3] = d0.w;
      dw[4] = d1.x, dw[5] = d1.y, dw[6] = d1.z, dw[7] = d1.w;
#pragma unroll
      for (int r = 0; r < kRowsPerThread; ++r)
        dsg[r] = (int)(signed char)(((r < 4 ? sg.x : sg.y) >> (8 * (r & 3))) & 0xffu);
    } else {
#pragma unroll
      for (int r = 0; r < kRowsPerThread; ++r) {
        const int i = i0 + r;
        dsg[r] = i < a.rows ? u.d_sign[(int64_t)b * a.rows + i] : 0;
        dw[r] = 0u;
      }
    }
#pragma unroll
    for (int r = 0; r < kRowsPerThread; ++r) {
      /* no break: a constant trip count keeps the per-row arrays in registers */
      const int i = i0 + r;
      const int ds = dsg[r];
      if (ds == 0)
        continue;
      int n;
      if (vector_d) {
        n = __popc(xw[0] & dw[r]);
      } else {
        const uint32_t *db = u.d_bits + ((int64_t)b * a.rows + i) * a.words;
        n = 0;
#pragma unroll
        for (int w = 0; w < kMaxWords; ++w)
          if (w < a.words)
            n += __popc(xw[w] & db[w]);
      }
      const int c = n * xs * ds;
      if (c == 0)
        continue;
      net[r] += c;
      total[r] += c < 0 ? -c : c;
      aihw_mean_path_step(c, su[r], sd[r], &pos[r], &hi[r], &lo[r]);
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerThread; ++r)
    if (i0 + r < a.rows)
      finish_device(a, u, i0 + r, j, net[r], total[r], hi[r], lo[r], su[r], sd[r]);
}

/* ---- Two-pass aggregation -----------------------------------------------------------
 * aggregate_kernel spends most of its instructions on the path extremes hi and lo (the
 * running position, two compare-selects per coincidence), which only feed the bounds
 * test. count_kernel takes the counts alone (net and total: an and, a popcount and two
 * integer adds per device and sample) and settles the test from bounds on hi and lo that
 * need no path:
 *   0 <= hi <= ups su (1 + e) + e M,   max(0, F - e M) <= hi,
 *   -(downs sd (1 + e) + e M) <= lo <= 0,   lo <= min(0, F + e M),
 * with F = ups su - downs sd (the exact end point), M = ups su + downs sd and
 * e = (batch + 4) 2^-22, which exceeds the float rounding of batch products and sums.
 * Float addition, fabsf and the products with positive constants are monotone, so a test
 * passed with the upper bounds (and the margin from them) is passed by the exact hi, lo
 * (the device is aggregated, as the CPU would), and one failed with the lower bounds is
 * failed by them (single steps). The remaining devices are listed and uncertain_kernel
 * runs aggregate_kernel's exact sample loop for each. Decisions and results are
 * therefore the same as aggregate_kernel's. */

__device__ __forceinline__ void count_finish(const upd_args &a, const upd_bufs &u, int i, int j,
                                             int net, int total, float su, float sd,
                                             uint32_t *list, unsigned *list_count) {
  const int64_t k = (int64_t)i * a.cols + j;
  if (total == 0) {
    u.single[k] = 0;
    return;
  }
  if (!(su >= 0.0f && sd >= 0.0f)) { /* the bounds above assume non-negative step sizes */
    list[atomicAdd(list_count, 1u)] = (uint32_t)k;
    return;
  }
  const float sigma = a.rule.dw_min_std;
  const int downs = (total + net) / 2, ups = (total - net) / 2;
  const float var = sigma * sigma * ((float)ups * su * su + (float)downs * sd * sd);
  const float reach = 9.0f * sqrtf(var);
  const float w = u.w[k], max_b = u.max_bound[k], min_b = u.min_bound[k];
  const double e = (double)(a.batch + 4) * 0x1p-22;
  const double up = (double)ups * (double)su, down = (double)downs * (double)sd;
  const double m = up + down, f = up - down;
  /* doubles rounded outwards to float by a relative 2^-20 */
  const float hi_up = (float)((up * (1.0 + e) + e * m) * (1.0 + 0x1p-20));
  const float lo_dn = (float)(-(down * (1.0 + e) + e * m) * (1.0 + 0x1p-20));
  const double hl = f - e * m, lh = f + e * m;
  const float hi_lo = hl > 0.0 ? (float)(hl * (1.0 - 0x1p-20)) : 0.0f;
  const float lo_hi = lh < 0.0 ? (float)(lh * (1.0 - 0x1p-20)) : 0.0f;
  const float margin_up = 1e-6f * (fabsf(w) + hi_up + fabsf(lo_dn) + reach);
  if (w + hi_up + reach + margin_up < max_b && w + lo_dn - reach - margin_up > min_b) {
    finish_device(a, u, i, j, net, total, 0.0f, 0.0f, su, sd); /* hi, lo unused: passes */
    return;
  }
  const float margin_dn = 1e-6f * (fabsf(w) + hi_lo + fabsf(lo_hi) + reach);
  if (!(w + hi_lo + reach + margin_dn < max_b) || !(w + lo_hi - reach - margin_dn > min_b)) {
    u.single[k] = 1;
    u.row_single[i] = 1;
    return;
  }
  list[atomicAdd(list_count, 1u)] = (uint32_t)k;
}

/* The counts of devices (i0 .. i0+7, j) over the batch, then count_finish. */
__global__ void count_kernel(upd_args a, upd_bufs u, uint32_t *list, unsigned *list_count) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  const int i0 = blockIdx.y * kRowsPerThread;
  if (j >= a.cols)
    return;
  int net[kRowsPerThread], total[kRowsPerThread];
#pragma unroll
  for (int r = 0; r < kRowsPerThread; ++r)
    net[r] = total[r] = 0;
  const int vector_d = a.words == 1 && a.rows % kRowsPerThread == 0;
  for (int b = 0; b < a.batch; ++b) {
    /* a train without pulses has sign 0 and no bits: its coincidences are 0 either way */
    const int xs = u.x_sign[(int64_t)b * a.cols + j];
    if (xs == 0 || u.plans[b].bl == 0)
      continue;
    const uint32_t *xb = u.x_bits + ((int64_t)b * a.cols + j) * a.words;
    if (vector_d) {
      const uint32_t xw = xb[0];
      const uint4 *dv = (const uint4 *)(u.d_bits + (int64_t)b * a.rows + i0);
      const uint4 d0 = dv[0], d1 = dv[1];
      const uint2 sg = *(const uint2 *)(u.d_sign + (int64_t)b * a.rows + i0);
      const uint32_t dw[kRowsPerThread] = {d0.x, d0.y, d0.z, d0.w, d1.x, d1.y, d1.z, d1.w};
#pragma unroll
      for (int r = 0; r < kRowsPerThread; ++r) {
        const int ds = (int)(signed char)(((r < 4 ? sg.x : sg.y) >> (8 * (r & 3))) & 0xffu);
        const int n = __popc(xw & dw[r]); /* 0 where ds = 0 (no pulses, no bits) */
        net[r] += n * xs * ds;
        total[r] += n;
      }
    } else {
      uint32_t xw[kMaxWords];
#pragma unroll
      for (int w = 0; w < kMaxWords; ++w)
        xw[w] = w < a.words ? xb[w] : 0u;
#pragma unroll
      for (int r = 0; r < kRowsPerThread; ++r) {
        const int i = i0 + r;
        const int ds = i < a.rows ? u.d_sign[(int64_t)b * a.rows + i] : 0;
        if (ds == 0)
          continue;
        const uint32_t *db = u.d_bits + ((int64_t)b * a.rows + i) * a.words;
        int n = 0;
#pragma unroll
        for (int w = 0; w < kMaxWords; ++w)
          if (w < a.words)
            n += __popc(xw[w] & db[w]);
        net[r] += n * xs * ds;
        total[r] += n;
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerThread; ++r) {
    const int i = i0 + r;
    if (i >= a.rows)
      continue;
    const int64_t k = (int64_t)i * a.cols + j;
    count_finish(a, u, i, j, net[r], total[r], u.scale_up[k], u.scale_down[k], list,
                 list_count);
  }
}

/* count_kernel for one-word trains (BL <= 32), with the counts taken branch-free: the d
 * trains of the block's 8 rows are staged in shared memory per chunk of 64 samples, each
 * beside a sign mask (all ones for d > 0; trains of samples without pulses staged as 0),
 * so that per device and sample n = popc(x & d), total += n and same += n where the
 * signs of x and d agree (one LOP3 with the two masks); net = 2 same - total. A train
 * without pulses has no bits, so its coincidences are 0 whatever its sign. */
constexpr int kCountChunk = 64;

__global__ void __launch_bounds__(128) count_fast_kernel(upd_args a, upd_bufs u, uint32_t *list,
                                                         unsigned *list_count) {
  __shared__ uint4 d_sh[kCountChunk][2], m_sh[kCountChunk][2];
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  const int i0 = blockIdx.y * kRowsPerThread;
  const bool live = j < a.cols;
  int total[kRowsPerThread], same[kRowsPerThread];
#pragma unroll
  for (int r = 0; r < kRowsPerThread; ++r)
    total[r] = same[r] = 0;
  for (int b0 = 0; b0 < a.batch; b0 += kCountChunk) {
    const int nb = a.batch - b0 < kCountChunk ? a.batch - b0 : kCountChunk;
    __syncthreads();
    for (int e = threadIdx.x; e < kCountChunk * kRowsPerThread; e += blockDim.x) {
      const int bb = e / kRowsPerThread, r = e % kRowsPerThread, i = i0 + r, b = b0 + bb;
      uint32_t dw = 0u, mask = 0u;
      if (bb < nb && i < a.rows && u.plans[b].bl != 0) {
        dw = u.d_bits[(int64_t)b * a.rows + i];
        mask = u.d_sign[(int64_t)b * a.rows + i] > 0 ? 0xffffffffu : 0u;
      }
      ((uint32_t *)d_sh[bb])[r] = dw;
      ((uint32_t *)m_sh[bb])[r] = mask;
    }
    __syncthreads();
    if (!live)
      continue;
    const signed char *xs_col = u.x_sign + (int64_t)b0 * a.cols + j;
    const uint32_t *xb_col = u.x_bits + (int64_t)b0 * a.cols + j;
    for (int bb = 0; bb < nb; ++bb) {
      const uint32_t xw = xb_col[(int64_t)bb * a.cols];
      const uint32_t xm = xs_col[(int64_t)bb * a.cols] > 0 ? 0xffffffffu : 0u;
      const uint4 d0 = d_sh[bb][0], d1 = d_sh[bb][1], m0 = m_sh[bb][0], m1 = m_sh[bb][1];
      const uint32_t dw[kRowsPerThread] = {d0.x, d0.y, d0.z, d0.w, d1.x, d1.y, d1.z, d1.w};
      const uint32_t dm[kRowsPerThread] = {m0.x, m0.y, m0.z, m0.w, m1.x, m1.y, m1.z, m1.w};
#pragma unroll
      for (int r = 0; r < kRowsPerThread; ++r) {
        const int n = __popc(xw & dw[r]);
        total[r] += n;
        same[r] += (int)((uint32_t)n & ~(xm ^ dm[r]));
      }
    }
  }
  if (!live)
    return;
#pragma unroll
  for (int r = 0; r < kRowsPerThread; ++r) {
    const int i = i0 + r;
    if (i >= a.rows)
      continue;
    const int64_t k = (int64_t)i * a.cols + j;
    count_finish(a, u, i, j, 2 * same[r] - total[r], total[r], u.scale_up[k], u.scale_down[k],
                 list, list_count);
  }
}

/* aggregate_kernel's exact sample loop and test for the listed devices, one warp per
 * device: the lanes find the coincidence counts of 32 samples at a time, then every lane
 * runs the sequential path over them (the same float operations in the same order). */
__global__ void uncertain_kernel(upd_args a, upd_bufs u, const uint32_t *list,
                                 const unsigned *list_count) {
  const unsigned count = *list_count;
  const int lane = threadIdx.x & 31;
  const unsigned warps = gridDim.x * blockDim.x / 32;
  for (unsigned t = (blockIdx.x * blockDim.x + threadIdx.x) / 32; t < count; t += warps) {
    const uint32_t k = list[t];
    const int i = (int)(k / (uint32_t)a.cols), j = (int)(k % (uint32_t)a.cols);
    const float su = u.scale_up[k], sd = u.scale_down[k];
    int net = 0, total = 0;
    float pos = 0.0f, hi = 0.0f, lo = 0.0f;
    for (int b0 = 0; b0 < a.batch; b0 += 32) {
      const int b = b0 + lane;
      const int mine = b < a.batch && u.plans[b].bl != 0 ? coincidences(a, u, b, i, j) : 0;
      const int n = a.batch - b0 < 32 ? a.batch - b0 : 32;
      for (int q = 0; q < n; ++q) {
        const int c = __shfl_sync(0xffffffffu, mine, q);
        if (c == 0)
          continue;
        net += c;
        total += c < 0 ? -c : c;
        aihw_mean_path_step(c, su, sd, &pos, &hi, &lo);
      }
    }
    if (lane == 0)
      finish_device(a, u, i, j, net, total, hi, lo, su, sd);
  }
}

/* The steps of one flagged device (i, j) of sample b, its first normal at element e of
 * the row's stream s; returns the number of steps. */
__device__ inline int single_device_steps(const upd_args &a, const upd_bufs &u, int b, int i,
                                          int j, int c, uint32_t e, const aihw_rng_stream *s,
                                          int noisy) {
  const int up = c < 0;
  const int n = c < 0 ? -c : c;
  const int64_t k = (int64_t)i * a.cols + j;
  aihw_step_device dev;
  dev.max_bound = u.max_bound[k];
  dev.min_bound = u.min_bound[k];
  dev.scale_up = u.scale_up[k];
  dev.scale_down = u.scale_down[k];
  dev.extra[0] = dev.extra[1] = dev.extra[2] = 0.0f;
  float w = u.w[k];
  uint32_t cached = 0xffffffffu;
  float xi4[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int t = 0; t < n; ++t, ++e) {
    float xi = 0.0f;
    if (noisy) {
      if (e / 4 != cached) {
        cached = e / 4;
        aihw_rng_normal4(s, (uint32_t)i, cached, xi4);
      }
      xi = xi4[e % 4];
    }
    w = aihw_constant_step(&a.rule, &dev, w, up, xi);
  }
  u.w[k] = w;
  return n;
}

/* Exclusive prefix sum over the warp; *total gets the warp's sum. */
__device__ inline int warp_exclusive_scan(int v, int *total) {
  const int lane = threadIdx.x & 31;
  int x = v;
  for (int o = 1; o < 32; o <<= 1) {
    int y = __shfl_up_sync(0xffffffffu, x, o);
    if (lane >= o)
      x += y;
  }
  *total = __shfl_sync(0xffffffffu, x, 31);
  return x - v;
}

/* Rows per block of single_rows_kernel (one warp each) and flagged columns listed per row
 * in shared memory. */
constexpr int kSingleWarps = 8;
constexpr int kMaxListed = 1024;

/* update.c row_single_steps with the flagged columns of row i, one warp per row. The
 * flagged columns are first listed in order (ballot compaction); then per sample,
 * in order, each lane takes a contiguous piece of the list, and a warp scan of the
 * pieces' step counts gives every device the position of its first step among the row's
 * steps (columns in order), which addresses its normals. A row with more flagged columns
 * than the list holds walks all columns instead (same result, slower). */
__global__ void single_rows_kernel(upd_args a, upd_bufs u) {
  __shared__ int listed_all[kSingleWarps][kMaxListed];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int i = blockIdx.x * kSingleWarps + warp;
  if (i >= a.rows || !u.row_single[i])
    return; /* warp-uniform */
  int *listed = listed_all[warp];
  const unsigned char *active = u.single + (int64_t)i * a.cols;
  const int noisy = a.rule.dw_min_std > 0.0f;
  /* list the flagged columns in order, 32 at a time (coalesced flags, ballot compaction) */
  int n_listed = 0;
  for (int base = 0; base < a.cols; base += 32) {
    const int j = base + lane;
    const int flag = j < a.cols && active[j] != 0;
    const unsigned mask = __ballot_sync(0xffffffffu, flag);
    if (flag) {
      const int at = n_listed + __popc(mask & ((1u << lane) - 1u));
      if (at < kMaxListed)
        listed[at] = j;
    }
    n_listed += __popc(mask);
  }
  const int use_list = n_listed <= kMaxListed;
  __syncwarp();
  const int n_items = use_list ? n_listed : a.cols;
  const int chunk = (n_items + 31) / 32;
  const int e_begin = lane * chunk;
  const int e_end = e_begin + chunk < n_items ? e_begin + chunk : n_items;
  for (int b = 0; b < a.batch; ++b) {
    if (u.plans[b].bl == 0 || u.d_sign[(int64_t)b * a.rows + i] == 0)
      continue; /* warp-uniform */
    int steps = 0;
    for (int q = e_begin; q < e_end; ++q) {
      const int j = use_list ? listed[q] : q;
      if (use_list || active[j]) {
        const int c = coincidences(a, u, b, i, j);
        steps += c < 0 ? -c : c;
      }
    }
    int total = 0;
    uint32_t e = (uint32_t)warp_exclusive_scan(steps, &total);
    if (steps == 0)
      continue;
    aihw_rng_stream s = aihw_rng_stream_make(a.seed, a.tile_id, a.op0 + (uint64_t)b,
                                             AIHW_RNG_STEP_NOISE, 0u);
    for (int q = e_begin; q < e_end; ++q) {
      const int j = use_list ? listed[q] : q;
      if (!use_list && !active[j])
        continue;
      const int c = coincidences(a, u, b, i, j);
      if (c != 0)
        e += (uint32_t)single_device_steps(a, u, b, i, j, c, e, &s, noisy);
    }
  }
}

} // namespace

extern "C" aihw_status aihw_cuda_tile_set_devices(aihw_cuda_tile *ct, const float *max_bound,
                                                  const float *min_bound,
                                                  const float *scale_up,
                                                  const float *scale_down) {
  CU_TRY(cudaSetDevice(ct->device), "cudaSetDevice");
  const int64_t n = ct->rows * ct->cols;
  float **dst[4] = {&ct->max_bound, &ct->min_bound, &ct->scale_up, &ct->scale_down};
  const float *src[4] = {max_bound, min_bound, scale_up, scale_down};
  for (int q = 0; q < 4; ++q) {
    cudaFree(*dst[q]);
    *dst[q] = nullptr;
  }
  for (int q = 0; q < 4; ++q)
    AIHW_TRY(aihw_cuda_upload_vector(dst[q], src[q], n, "copy of the device state"));
  return AIHW_OK;
}

extern "C" aihw_status aihw_cuda_tile_update(aihw_cuda_tile *ct,
                                             const aihw_cuda_update_call *c) {
  if (ct->max_bound == nullptr)
    return aihw_error(AIHW_ERR_INTERNAL, "CUDA update: the device state is not on the device");
  const int words = (c->bl_max + 31) / 32;
  if (words > kMaxWords || c->batch > 0x7fffffff)
    return aihw_error(AIHW_ERR_UNSUPPORTED, "CUDA update: %d time slots (at most %d)",
                      c->bl_max, 32 * kMaxWords);
  const int64_t batch = c->batch, rows = ct->rows, cols = ct->cols, x_cols = c->x_cols;
  const int x_dev = aihw_cuda_backend_is_device_pointer(c->x);
  const int d_dev = aihw_cuda_backend_is_device_pointer(c->d);
  size_t off = 0;
  auto take = [&off](size_t bytes) {
    size_t at = off;
    off += aihw_align256(bytes);
    return at;
  };
  const size_t o_x = x_dev ? 0 : take((size_t)(batch * x_cols) * 4);
  const size_t o_d = d_dev ? 0 : take((size_t)(batch * rows) * 4);
  const size_t o_plans = take((size_t)batch * sizeof(aihw_sample_plan));
  const size_t o_xb = take((size_t)(batch * cols * words) * 4);
  const size_t o_db = take((size_t)(batch * rows * words) * 4);
  const size_t o_xs = take((size_t)(batch * cols));
  const size_t o_ds = take((size_t)(batch * rows));
  const size_t o_single = take((size_t)(rows * cols));
  const size_t o_rows = take((size_t)rows * 4);
  const size_t o_info = take(sizeof(aihw_round_info));
  /* two-pass aggregation (count_kernel): a list of device indices in 32 bits */
  const int two_pass = (uint64_t)rows * (uint64_t)cols <= (uint64_t)UINT32_MAX;
  const size_t o_list = two_pass ? take((size_t)(rows * cols) * 4) : 0;
  const size_t o_count = take(sizeof(unsigned));
  CU_TRY(cudaSetDevice(ct->device), "cudaSetDevice");
  AIHW_TRY(aihw_dbuf_reserve(&ct->update_work, off, "CUDA update workspace"));
  char *base = (char *)ct->update_work.ptr;
  cudaStream_t st = ct->stream;

  upd_bufs u;
  memset(&u, 0, sizeof u);
  u.x = x_dev ? c->x : (const float *)(base + o_x);
  u.d = d_dev ? c->d : (const float *)(base + o_d);
  if (!x_dev)
    CU_TRY(cudaMemcpyAsync(base + o_x, c->x, (size_t)(batch * x_cols) * 4,
                           cudaMemcpyHostToDevice, st),
           "x to the device");
  if (!d_dev)
    CU_TRY(cudaMemcpyAsync(base + o_d, c->d, (size_t)(batch * rows) * 4,
                           cudaMemcpyHostToDevice, st),
           "d to the device");
  u.plans = (aihw_sample_plan *)(base + o_plans);
  u.x_bits = (uint32_t *)(base + o_xb);
  u.d_bits = (uint32_t *)(base + o_db);
  u.x_sign = (signed char *)(base + o_xs);
  u.d_sign = (signed char *)(base + o_ds);
  u.single = (unsigned char *)(base + o_single);
  u.row_single = (int *)(base + o_rows);
  u.info = (aihw_round_info *)(base + o_info);
  uint32_t *list = (uint32_t *)(base + o_list);
  unsigned *list_count = (unsigned *)(base + o_count);
  u.w = ct->w;
  u.max_bound = ct->max_bound;
  u.min_bound = ct->min_bound;
  u.scale_up = ct->scale_up;
  u.scale_down = ct->scale_down;

  upd_args a;
  memset(&a, 0, sizeof a);
  a.batch = (int)batch;
  a.rows = (int)rows;
  a.cols = (int)cols;
  a.x_cols = (int)x_cols;
  a.words = words;
  a.lr = c->lr;
  a.g = c->granularity;
  a.up = c->up;
  a.rule = c->rule;
  a.seed = c->seed;
  a.tile_id = c->tile_id;
  a.op0 = c->op_counter;

  ct->info->bad_index = ~0ull;
  ct->info->failed = 0;
  CU_TRY(cudaMemcpyAsync(u.info, ct->info, sizeof(aihw_round_info), cudaMemcpyHostToDevice, st),
         "counters to the device");
  CU_TRY(cudaMemsetAsync(u.row_single, 0, (size_t)rows * 4, st), "cudaMemset");
  plan_kernel<<<(unsigned)batch, 256, 0, st>>>(a, u);
  AIHW_TRY(aihw_read_info(ct, u.info));
  const unsigned long long bad = ct->info->bad_index;
  if (bad != ~0ull) {
    const int is_d = (int)(bad >> 62);
    const unsigned long long e = bad & ((1ull << 62) - 1);
    const unsigned long long len = is_d ? (unsigned long long)rows : (unsigned long long)x_cols;
    float v = 0.0f;
    cudaMemcpy(&v, (is_d ? u.d : u.x) + e, sizeof v, cudaMemcpyDeviceToHost);
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s[%llu][%llu] is %g; %s must be finite",
                      is_d ? "d" : "x", e / len, e % len, (double)v,
                      is_d ? "gradients" : "inputs");
  }
  /* AIHW_CUDA_TIMING=1: the time of each kernel on stderr (diagnostics). */
  static const int timing = getenv("AIHW_CUDA_TIMING") != NULL;
  cudaEvent_t ev[4];
  if (timing)
    for (int q = 0; q < 4; ++q) {
      cudaEventCreate(&ev[q]);
    }
  if (timing)
    cudaEventRecord(ev[0], st);
  const int64_t longest = rows > cols ? rows : cols;
  dim3 tgrid(aihw_blocks_for((longest + 3) / 4, 128), (unsigned)batch, 2);
  trains_kernel<<<tgrid, 128, 0, st>>>(a, u);
  if (timing)
    cudaEventRecord(ev[1], st);
  dim3 agrid(aihw_blocks_for(cols, 128), aihw_blocks_for(rows, kRowsPerThread));
  if (two_pass) {
    CU_TRY(cudaMemsetAsync(list_count, 0, sizeof(unsigned), st), "cudaMemset");
    if (words == 1)
      count_fast_kernel<<<agrid, 128, 0, st>>>(a, u, list, list_count);
    else
      count_kernel<<<agrid, 128, 0, st>>>(a, u, list, list_count);
    int sms = 132;
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, ct->device);
    uncertain_kernel<<<(unsigned)(32 * sms), 128, 0, st>>>(a, u, list, list_count);
  } else {
    aggregate_kernel<<<agrid, 128, 0, st>>>(a, u);
  }
  if (timing)
    cudaEventRecord(ev[2], st);
  single_rows_kernel<<<aihw_blocks_for(rows, kSingleWarps), 32 * kSingleWarps, 0, st>>>(a, u);
  if (timing)
    cudaEventRecord(ev[3], st);
  CU_TRY(cudaStreamSynchronize(st), "pulsed update");
  if (timing) {
    float ms[3];
    for (int q = 0; q < 3; ++q)
      cudaEventElapsedTime(&ms[q], ev[q], ev[q + 1]);
    std::vector<int> flagged((size_t)rows);
    cudaMemcpy(flagged.data(), u.row_single, (size_t)rows * 4, cudaMemcpyDeviceToHost);
    long n_flagged = 0;
    for (int v : flagged)
      n_flagged += v != 0;
    unsigned n_uncertain = 0;
    if (two_pass)
      cudaMemcpy(&n_uncertain, list_count, sizeof n_uncertain, cudaMemcpyDeviceToHost);
    fprintf(stderr, "cuda update %lldx%lld b%lld: trains %.3f ms, aggregate %.3f ms, single "
            "steps %.3f ms (%ld rows with flagged devices, %u devices took the exact "
            "aggregation test)\n",
            (long long)rows, (long long)cols, (long long)batch, (double)ms[0], (double)ms[1],
            (double)ms[2], n_flagged, n_uncertain);
    for (int q = 0; q < 4; ++q)
      cudaEventDestroy(ev[q]);
  }
  CU_TRY(cudaGetLastError(), "update kernels");
  return AIHW_OK;
}
