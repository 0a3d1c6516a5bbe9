/* The kernels of the IO-managed product (reference §3.2-3.10), shared by the one-tile
 * call (cuda_periphery.cu) and the tile-grid call (cuda_grid.cu): what a call passes
 * (mv_args by value, mv_bufs with its device arrays), the per-sample and per-element
 * kernels as __device__ bodies, and their launch wrappers. Included by .cu files only; the
 * anonymous namespace gives each its own copy. */
#ifndef AIHW_BACKEND_CUDA_MV_KERNELS_CUH
#define AIHW_BACKEND_CUDA_MV_KERNELS_CUH

#include "backend/cuda/cuda_internal.cuh"

/* ---------------------------------------------------------------------------------- */
/* Kernels */

namespace {

/* What the kernels of one call need, by value. */
struct mv_args {
  aihw_io_params io;
  int transposed, nm, bm;
  int n, m, x_cols, y_cols;
  int x_ld; /* row stride of x (x_cols, or the layer's width for a tile of a grid) */
  float inp_res, out_res, inp_bound, out_bound, nm_thres, bm_red_limit, nl_factor;
  const float *out_noise_sigma, *v_offset, *nl;
  float call_alpha;
  uint32_t seed, tile_id;
  uint64_t op;
};

/* Per-call device arrays (carved from the tile's workspace). */
struct mv_bufs {
  const float *x; /* [batch][x_cols] staged input */
  float *u;       /* [active][n] prepared input */
  float *y;       /* [active][m] analog output */
  float *dst;     /* [batch][y_cols] final output */
  float *alpha, *red, *u_sum, *u_norm;
  int *skip, *idx, *done, *rounds;
  const float *out_alpha, *out_scales; /* [y_cols] or NULL */
  aihw_round_info *info;
  int active; /* grid calls: samples of this round (0: the tile has finished) */
};

__device__ inline float input_at(const mv_args &a, const float *x, int b, int j) {
  return j < a.x_cols ? x[(int64_t)b * a.x_ld + j] : 1.0f;
}

/* Block-wide reductions (blockDim.x a multiple of 32, at most 256). */
template <typename T, typename Op> __device__ T block_reduce(T v, Op op, T *shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int o = 16; o > 0; o >>= 1)
    v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  if (lane == 0)
    shared[warp] = v;
  __syncthreads();
  T r = shared[0];
  for (int k = 1; k < (int)(blockDim.x >> 5); ++k)
    r = op(r, shared[k]);
  __syncthreads();
  return r;
}

struct max_u32 {
  __device__ uint32_t operator()(uint32_t a, uint32_t b) const { return a > b ? a : b; }
};
struct max_f {
  __device__ float operator()(float a, float b) const { return a > b ? a : b; }
};
struct max_i {
  __device__ int operator()(int a, int b) const { return a > b ? a : b; }
};
struct or_i {
  __device__ int operator()(int a, int b) const { return a | b; }
};

/* max_j |x_j| with the bias rule of periphery.c row_abs_max (sequential, one thread). */
__device__ float row_abs_max_seq(const mv_args &a, const float *x, int b) {
  const float *row = x + (int64_t)b * a.x_ld;
  uint32_t m = 0;
  for (int j = 0; j < a.x_cols; ++j) {
    uint32_t v = aihw_float_bits(row[j]) & 0x7fffffffu;
    m = v > m ? v : m;
  }
  float r = aihw_bits_float(m);
  return a.n > a.x_cols && r < 1.0f ? 1.0f : r;
}

/* ABS_MAX_NP_SUM worst-case factor (periphery.c np_sum_factor), sequential sums. */
__device__ float np_sum_factor_seq(const mv_args &a, const float *x, int b) {
  float am = row_abs_max_seq(a, x, b);
  if (a.nm_thres > 0.0f && am > a.nm_thres)
    am = a.nm_thres;
  float psum = 0.0f, nsum = 0.0f;
  for (int j = 0; j < a.n; ++j) {
    float v = input_at(a, x, b, j);
    if (v > 0.0f)
      psum += v;
    else
      nsum += v;
  }
  float s = psum > -nsum ? psum : -nsum;
  float bound = a.io.out_bound > 0.0f ? a.io.out_bound : 1.0f;
  float np = (s * a.io.nm_assumed_wmax) / bound;
  if (a.inp_res > 0.0f) {
    float lim = (am / a.inp_res) * a.io.max_bm_res;
    np = lim < np ? lim : np;
  }
  return am > np ? am : np;
}

/* Round 0 per sample: finiteness, NM factor (or the raw abs max for AVERAGE_ABS_MAX),
 * skip flag, identity index, reduction 1. One block of 256 threads per sample. */
__device__ __forceinline__ void row_stats_kernel_body(const mv_args &a, const mv_bufs &w) {
  __shared__ uint32_t su[8];
  __shared__ float sf[8];
  const int b = blockIdx.x;
  const float *row = w.x + (int64_t)b * a.x_ld;
  uint32_t amax = 0;
  float vmax = -INFINITY;
  unsigned long long bad = ~0ull;
  for (int j = threadIdx.x; j < a.x_cols; j += blockDim.x) {
    float v = row[j];
    uint32_t bits = aihw_float_bits(v) & 0x7fffffffu;
    if (bits >= 0x7f800000u && bad == ~0ull)
      bad = (unsigned long long)b * (unsigned long long)a.x_ld + (unsigned long long)j;
    amax = bits > amax ? bits : amax;
    vmax = v > vmax ? v : vmax;
  }
  if (bad != ~0ull)
    atomicMin(&w.info->bad_index, bad);
  amax = block_reduce(amax, max_u32(), su);
  vmax = block_reduce(vmax, max_f(), sf);
  if (threadIdx.x != 0)
    return;
  const int has_bias = a.n > a.x_cols;
  float alpha;
  switch (a.nm) {
  case AIHW_NM_ABS_MAX:
  case AIHW_NM_AVERAGE_ABS_MAX: {
    float r = aihw_bits_float(amax);
    alpha = has_bias && r < 1.0f ? 1.0f : r;
    break;
  }
  case AIHW_NM_MAX:
    alpha = has_bias && vmax < 1.0f ? 1.0f : vmax;
    break;
  case AIHW_NM_CONSTANT:
    alpha = a.nm_thres > 0.0f ? a.nm_thres : 1.0f;
    break;
  case AIHW_NM_ABS_MAX_NP_SUM:
    alpha = np_sum_factor_seq(a, w.x, b);
    break;
  default:
    alpha = 0.0f;
  }
  if ((a.nm == AIHW_NM_ABS_MAX || a.nm == AIHW_NM_MAX) && a.nm_thres > 0.0f &&
      alpha > a.nm_thres)
    alpha = a.nm_thres;
  w.alpha[b] = alpha;
  w.red[b] = 1.0f;
  w.idx[b] = b;
}

/* AVERAGE_ABS_MAX: the running average is sequential over the samples (one thread). */
__global__ void running_average_kernel(mv_args a, mv_bufs w, int batch, float running) {
  const float decay = a.io.nm_decay;
  for (int b = 0; b < batch; ++b) {
    float v = w.alpha[b];
    running = running < 0.0f ? v : running * (1.0f - decay) + decay * v;
    w.alpha[b] = running;
  }
  w.info->nm_running = running;
}

__device__ __forceinline__ void skip_kernel_body(const mv_args &a, const mv_bufs &w, int batch) {
  const int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b >= batch)
    return;
  w.skip[b] = a.nm != AIHW_NM_NONE && w.alpha[b] <= 0.0f &&
              (a.transposed || a.io.inp_noise <= 0.0f);
}

/* Reduction factor of a later BM round (periphery.c, "Per-sample reduction factor"). */
__device__ __forceinline__ void next_round_kernel_body(const mv_args &a, const mv_bufs &w, int active, uint32_t round) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= active)
    return;
  const int b = w.idx[k];
  if (a.bm == AIHW_BM_ITERATIVE_WORST_CASE && round == 1 && a.nm != AIHW_NM_ABS_MAX_NP_SUM &&
      a.nm != AIHW_NM_NONE) {
    w.alpha[b] = np_sum_factor_seq(a, w.x, b);
    w.red[b] = 1.0f;
  } else {
    w.red[b] *= 2.0f;
  }
}

/* Input stage (periphery.c prepare_row): thread = one Philox block of 4 inputs. */
__device__ __forceinline__ void prepare_kernel_body(const mv_args &a, const mv_bufs &w, uint32_t round) {
  const int k = blockIdx.y;
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  const int j0 = 4 * t;
  if (j0 >= a.n)
    return;
  const int b = w.idx[k];
  float *u = w.u + (int64_t)k * a.n;
  const int lanes = a.n - j0 < 4 ? a.n - j0 : 4;
  if (round == 0 && w.skip[b]) {
    for (int l = 0; l < lanes; ++l)
      u[j0 + l] = 0.0f;
    return;
  }
  const float alpha = w.alpha[b];
  const int nm_scaling = a.nm != AIHW_NM_NONE && alpha > 0.0f;
  float scale = 1.0f;
  if (nm_scaling)
    scale = scale / alpha;
  if (a.bm != AIHW_BM_NONE)
    scale = scale / w.red[b];
  const int scaling = nm_scaling || a.bm != AIHW_BM_NONE;
  float uni[4] = {0.5f, 0.5f, 0.5f, 0.5f}, noise[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  const int sto = a.inp_res > 0.0f && a.io.inp_sto_round;
  if (sto) {
    aihw_rng_stream s = aihw_rng_stream_make(a.seed, a.tile_id, a.op, AIHW_RNG_INPUT_ROUND,
                                             round);
    aihw_rng_uniform4(&s, (uint32_t)b, (uint32_t)t, uni);
  }
  if (a.io.inp_noise > 0.0f) {
    aihw_rng_stream s = aihw_rng_stream_make(a.seed, a.tile_id, a.op, AIHW_RNG_INPUT_NOISE,
                                             round);
    aihw_rng_normal4(&s, (uint32_t)b, (uint32_t)t, noise);
  }
  for (int l = 0; l < lanes; ++l) {
    const int j = j0 + l;
    float v;
    if (j < a.x_cols)
      v = scaling ? w.x[(int64_t)b * a.x_ld + j] * scale : w.x[(int64_t)b * a.x_ld + j];
    else
      v = scaling ? 1.0f * scale : 1.0f;
    if (a.inp_res > 0.0f)
      v = aihw_discretize(v, a.inp_res, sto, uni[l]);
    if (a.inp_bound < INFINITY)
      v = aihw_clip(v, -a.inp_bound, a.inp_bound);
    if (a.io.inp_noise > 0.0f)
      v = v + a.io.inp_noise * noise[l];
    if (a.io.inp_asymmetry != 0.0f) {
      const float f = 1.0f - a.io.inp_asymmetry;
      v = v < 0.0f ? v * f : v;
    }
    u[j] = v;
  }
}

/* Sequential per-sample sums of the prepared input (periphery.c prepare_row). */
__device__ __forceinline__ void input_sums_kernel_body(const mv_args &a, const mv_bufs &w, int active, int need_sum,
                                  int need_norm) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= active)
    return;
  const float *u = w.u + (int64_t)k * a.n;
  if (need_sum) {
    float sum = 0.0f;
    for (int j = 0; j < a.n; ++j)
      sum += u[j];
    w.u_sum[k] = sum;
  }
  if (need_norm) {
    float sum = 0.0f;
    for (int j = 0; j < a.n; ++j)
      sum += u[j] * u[j];
    w.u_norm[k] = sqrtf(sum);
  }
}

/* The fused epilogue of one sample row (periphery.c finish_row, ONE_PASS): 256 threads,
 * each handling Philox blocks of 4 outputs. */
__device__ __forceinline__ void epilogue_kernel_body(const mv_args &a, const mv_bufs &w, uint32_t round) {
  __shared__ int si[8];
  const int k = blockIdx.x;
  const int b = w.idx[k];
  float *dst = w.dst + (int64_t)b * a.y_cols;
  if (w.info->bad_index != ~0ull)
    return; /* a non-finite input: the call fails and y stays untouched */
  if (round == 0 && w.skip[b]) {
    for (int i = threadIdx.x; i < a.y_cols; i += blockDim.x)
      dst[i] = 0.0f;
    if (threadIdx.x == 0) {
      if (w.rounds != nullptr)
        w.rounds[b] = 0;
      w.done[k] = 1;
    }
    return;
  }
  const aihw_io_params &io = a.io;
  float *y = w.y + (int64_t)k * a.m;
  const int w_noise = io.w_noise > 0.0f && io.w_noise_type == AIHW_W_NOISE_ADDITIVE_CONSTANT;
  const int o_round = io.out_sto_round && a.out_res > 0.0f;
  const float w_sigma = w_noise ? io.w_noise * w.u_norm[k] : 0.0f;
  const float u_sum = a.v_offset != nullptr && io.v_offset_w_min != 0.0f ? w.u_sum[k] : 0.0f;
  const float bound = a.out_bound;
  int above = 0, below = 0, last_sat = -1;
  const int blocks = (a.m + 3) / 4;
  for (int t = threadIdx.x; t < blocks; t += blockDim.x) {
    float w_xi[4], o_xi[4], o_uni[4];
    if (w_noise) {
      aihw_rng_stream s = aihw_rng_stream_make(a.seed, a.tile_id, a.op, AIHW_RNG_WEIGHT_NOISE,
                                               round);
      aihw_rng_normal4(&s, (uint32_t)b, (uint32_t)t, w_xi);
    }
    if (io.out_noise > 0.0f) {
      aihw_rng_stream s = aihw_rng_stream_make(a.seed, a.tile_id, a.op, AIHW_RNG_OUTPUT_NOISE,
                                               round);
      aihw_rng_normal4(&s, (uint32_t)b, (uint32_t)t, o_xi);
    }
    if (o_round) {
      aihw_rng_stream s = aihw_rng_stream_make(a.seed, a.tile_id, a.op, AIHW_RNG_OUTPUT_ROUND,
                                               round);
      aihw_rng_uniform4(&s, (uint32_t)b, (uint32_t)t, o_uni);
    }
    const int i0 = 4 * t;
    const int lanes = a.m - i0 < 4 ? a.m - i0 : 4;
    for (int l = 0; l < lanes; ++l) {
      const int i = i0 + l;
      float v = y[i];
      if (a.v_offset != nullptr)
        v = aihw_voltage_offset(v, a.v_offset[i], io.r_series, io.r_series_max_total,
                                io.v_offset_w_min, u_sum);
      if (w_noise)
        v = v + w_sigma * w_xi[l];
      if (a.nl != nullptr)
        v = aihw_output_nonlinearity(v, a.nl[i], a.nl_factor);
      if (io.out_asymmetry > 0.0f) {
        const float f = 1.0f - io.out_asymmetry;
        v = v < 0.0f ? v * f : v;
      }
      if (io.out_noise > 0.0f) {
        const float sigma = a.out_noise_sigma != nullptr ? a.out_noise_sigma[i] : io.out_noise;
        v = v + sigma * o_xi[l];
      }
      if (a.out_res > 0.0f)
        v = o_round ? aihw_discretize(v, a.out_res, 1, o_uni[l])
                    : aihw_discretize(v, a.out_res, 0, 0.5f);
      const int hi = v > bound, lo = v < -bound;
      above |= hi;
      below |= lo;
      if (hi || lo)
        last_sat = i;
      y[i] = v;
    }
  }
  int passed = 1;
  if (bound < INFINITY) {
    above = block_reduce(above, or_i(), si);
    below = block_reduce(below, or_i(), si);
    passed = !above && !(below && io.bm_test_negative_bound);
    if (above && below && !io.bm_test_negative_bound && io.bm_negative_bound_quirk) {
      last_sat = block_reduce(last_sat, max_i(), si);
      passed = y[last_sat] < -bound; /* every thread reads the same value */
    }
  }
  /* Every y[i] written above (by thread i / 4 of its block) is read below by thread i, and
   * y[last_sat] is read before the clipping below. */
  __syncthreads();
  const float alpha = w.alpha[b], red = w.red[b];
  const int nm_scaling = a.nm != AIHW_NM_NONE && alpha > 0.0f;
  float scale = 1.0f;
  if (nm_scaling)
    scale = scale / alpha;
  if (a.bm != AIHW_BM_NONE) {
    scale = scale / red;
    if (!passed && ((double)red > (double)io.max_bm_factor ||
                    (a.inp_res > 0.0f && red > a.bm_red_limit)))
      passed = 1;
  } else {
    passed = 1;
  }
  if (!passed) {
    if (threadIdx.x == 0) {
      w.done[k] = 0;
      atomicAdd(&w.info->failed, 1);
    }
    return;
  }
  const int clip = bound < INFINITY && (above || below);
  const float out_scale_total = io.out_scale * a.call_alpha;
  const float factor = a.transposed ? (nm_scaling ? out_scale_total * alpha : out_scale_total)
                                    : out_scale_total / scale;
  for (int i = threadIdx.x; i < a.y_cols; i += blockDim.x) {
    float v = y[i];
    if (clip)
      v = aihw_clip(v, -bound, bound);
    v = v * factor;
    if (w.out_alpha != nullptr)
      v = v * w.out_alpha[i];
    if (w.out_scales != nullptr)
      v = v * w.out_scales[i];
    dst[i] = v;
  }
  if (threadIdx.x == 0) {
    if (w.rounds != nullptr)
      w.rounds[b] = (int)round + 1;
    w.done[k] = 1;
  }
}

/* Exact product helpers: input with the bias column, and the scaled output. */
__global__ void exact_input_kernel(mv_args a, mv_bufs w, int batch) {
  const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= (int64_t)batch * a.n)
    return;
  const int b = (int)(e / a.n), j = (int)(e % a.n);
  w.u[e] = input_at(a, w.x, b, j);
}

__global__ void exact_output_kernel(mv_args a, mv_bufs w, int batch) {
  const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= (int64_t)batch * a.y_cols || w.info->bad_index != ~0ull)
    return;
  const int b = (int)(e / a.y_cols), i = (int)(e % a.y_cols);
  float v = w.y[(int64_t)b * a.m + i] * a.call_alpha;
  if (w.out_alpha != nullptr)
    v = v * w.out_alpha[i];
  if (w.out_scales != nullptr)
    v = v * w.out_scales[i];
  w.dst[e] = v;
}

__global__ void scale_input_kernel(const float *x, const float *scales, float *out, int batch,
                                   int cols) {
  const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= (int64_t)batch * cols)
    return;
  out[e] = x[e] * scales[e % cols];
}


/* ---- Launch wrappers: one tile (arguments by value) or a grid of tiles (argument arrays
 * in device memory, tile = blockIdx.z; samples past a tile's `active` do nothing). ---- */

__global__ void row_stats_kernel(mv_args a, mv_bufs w) { row_stats_kernel_body(a, w); }
__global__ void skip_kernel(mv_args a, mv_bufs w, int batch) { skip_kernel_body(a, w, batch); }
__global__ void next_round_kernel(mv_args a, mv_bufs w, int active, uint32_t round) {
  next_round_kernel_body(a, w, active, round);
}
__global__ void prepare_kernel(mv_args a, mv_bufs w, uint32_t round) {
  prepare_kernel_body(a, w, round);
}
__global__ void input_sums_kernel(mv_args a, mv_bufs w, int active, int need_sum,
                                  int need_norm) {
  input_sums_kernel_body(a, w, active, need_sum, need_norm);
}
__global__ void epilogue_kernel(mv_args a, mv_bufs w, uint32_t round) {
  epilogue_kernel_body(a, w, round);
}

__global__ void row_stats_grid(const mv_args *A, const mv_bufs *W) {
  row_stats_kernel_body(A[blockIdx.z], W[blockIdx.z]);
}
__global__ void skip_grid(const mv_args *A, const mv_bufs *W, int batch) {
  skip_kernel_body(A[blockIdx.z], W[blockIdx.z], batch);
}
__global__ void next_round_grid(const mv_args *A, const mv_bufs *W, uint32_t round) {
  const mv_bufs &w = W[blockIdx.z];
  next_round_kernel_body(A[blockIdx.z], w, w.active, round);
}
__global__ void prepare_grid(const mv_args *A, const mv_bufs *W, uint32_t round) {
  const mv_bufs &w = W[blockIdx.z];
  if ((int)blockIdx.y >= w.active)
    return;
  prepare_kernel_body(A[blockIdx.z], w, round);
}
__global__ void input_sums_grid(const mv_args *A, const mv_bufs *W, int need_sum,
                                int need_norm) {
  const mv_bufs &w = W[blockIdx.z];
  input_sums_kernel_body(A[blockIdx.z], w, w.active, need_sum, need_norm);
}
__global__ void epilogue_grid(const mv_args *A, const mv_bufs *W, uint32_t round) {
  const mv_bufs &w = W[blockIdx.z];
  if ((int)blockIdx.x >= w.active)
    return;
  epilogue_kernel_body(A[blockIdx.z], w, round);
}

} // namespace

#endif
