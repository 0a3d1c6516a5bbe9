/* CUDA backend: device copy of a tile and its batched IO-managed product (reference
 * §3.2–3.10), the GPU twin of src/tile/periphery.c.
 *
 * One call = row statistics (noise-management factor, finiteness) -> per BM round: input
 * stage (DAC) of the active samples -> one cuBLAS SGEMM -> one fused epilogue kernel per
 * sample row (non-idealities, ADC, bound test, final scaling and the digital output
 * stages). Only samples that saturated go into the next round, compacted on the host in
 * sample order so that the result does not depend on scheduling.
 *
 * Parity with the CPU: every random number comes from the same Philox coordinates
 * (seed, tile id, op counter, purpose, BM round, sample, element: element e is lane e % 4
 * of block e / 4, as aihw_rng_fill_*), every scalar step calls the same src/physics
 * function, compiled without FMA contraction and with IEEE division and square root; the
 * per-sample sums (u_sum, u_norm, ABS_MAX_NP_SUM) run sequentially in one thread as on
 * the CPU. What differs is the GEMM's summation order (cuBLAS vs OpenBLAS), so outputs
 * agree to GEMM rounding, and an output that lies on a quantisation boundary may round
 * to the neighbouring ADC level.
 *
 * Not implemented here (reported by aihw_cuda_backend_check_periphery): POS_NEG_SEPARATE*
 * mv types, IR drop, PCM_READ weight noise, read asymmetry (w_read_asymmetry_dtod).
 */
#include "backend/cuda/cuda_internal.cuh"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

extern "C" aihw_status aihw_cuda_backend_check_periphery(const aihw_periphery *p,
                                                         const char *what) {
  if (p == NULL || p->perfect)
    return AIHW_OK;
  const aihw_io_params *io = &p->io;
  if (io->mv_type == AIHW_MV_POS_NEG_SEPARATE ||
      io->mv_type == AIHW_MV_POS_NEG_SEPARATE_DIGITAL_SUM)
    return aihw_error(AIHW_ERR_UNSUPPORTED,
                      "%s.mv_type: POS_NEG_SEPARATE* is not implemented on CUDA yet "
                      "(ONE_PASS and IDEAL are)",
                      what);
  if (io->ir_drop > 0.0f)
    return aihw_error(AIHW_ERR_UNSUPPORTED,
                      "%s.ir_drop = %g: IR drop is not implemented on CUDA yet (use 0)", what,
                      (double)io->ir_drop);
  if (io->w_noise > 0.0f && io->w_noise_type == AIHW_W_NOISE_PCM_READ)
    return aihw_error(AIHW_ERR_UNSUPPORTED,
                      "%s.w_noise_type: PCM_READ is not implemented on CUDA yet "
                      "(ADDITIVE_CONSTANT is)",
                      what);
  if (p->w_asymmetry != NULL)
    return aihw_error(AIHW_ERR_UNSUPPORTED,
                      "%s.w_read_asymmetry_dtod = %g: not implemented on CUDA yet (use 0)",
                      what, (double)io->w_read_asymmetry_dtod);
  return AIHW_OK;
}

aihw_status aihw_cuda_upload_vector(float **dst, const float *src, int64_t n, const char *what) {
  *dst = nullptr;
  if (src == NULL)
    return AIHW_OK;
  CU_TRY(cudaMalloc((void **)dst, (size_t)n * sizeof(float)), what);
  CU_TRY(cudaMemcpy(*dst, src, (size_t)n * sizeof(float), cudaMemcpyHostToDevice), what);
  return AIHW_OK;
}

static aihw_status dperiph_init(aihw_dperiph *d, const aihw_periphery *p) {
  if (p == NULL)
    return AIHW_OK;
  AIHW_TRY(aihw_cuda_upload_vector(&d->out_noise_sigma, p->out_noise_sigma, p->out_len,
                         "copy of out_noise_std values"));
  AIHW_TRY(aihw_cuda_upload_vector(&d->v_offset, p->v_offset, p->out_len, "copy of voltage offsets"));
  AIHW_TRY(aihw_cuda_upload_vector(&d->nl, p->nl, p->out_len, "copy of non-linearities"));
  return AIHW_OK;
}

static void dperiph_free(aihw_dperiph *d) {
  cudaFree(d->out_noise_sigma);
  cudaFree(d->v_offset);
  cudaFree(d->nl);
  d->out_noise_sigma = d->v_offset = d->nl = nullptr;
}

extern "C" void aihw_cuda_tile_destroy(aihw_cuda_tile *ct) {
  if (ct == NULL)
    return;
  cudaSetDevice(ct->device);
  cudaFree(ct->w);
  dperiph_free(&ct->fwd);
  dperiph_free(&ct->bwd);
  cudaFree(ct->work.ptr);
  cudaFree(ct->update_work.ptr);
  cudaFree(ct->ref);
  cudaFree(ct->prog);
  cudaFree(ct->nu);
  cudaFree(ct->inf_work.ptr);
  cudaFree(ct->inf_scan.ptr);
  cudaFree(ct->max_bound);
  cudaFree(ct->min_bound);
  cudaFree(ct->scale_up);
  cudaFree(ct->scale_down);
  if (ct->info != nullptr)
    cudaFreeHost(ct->info);
  if (ct->blas != nullptr)
    cublasDestroy(ct->blas);
  if (ct->stream != nullptr)
    cudaStreamDestroy(ct->stream);
  cudaGetLastError();
  delete ct;
}

static aihw_status tile_create(aihw_cuda_tile *ct, const float *w,
                               const aihw_periphery *forward, const aihw_periphery *backward) {
  CU_TRY(cudaSetDevice(ct->device), "cudaSetDevice");
  CU_TRY(cudaStreamCreateWithFlags(&ct->stream, cudaStreamNonBlocking), "cudaStreamCreate");
  CUBLAS_TRY(cublasCreate(&ct->blas), "cublasCreate");
  CUBLAS_TRY(cublasSetStream(ct->blas, ct->stream), "cublasSetStream");
  /* Plain float32 products (no TF32): parity with the CPU to float rounding. */
  CUBLAS_TRY(cublasSetMathMode(ct->blas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  CU_TRY(cudaMallocHost((void **)&ct->info, sizeof(aihw_round_info)), "cudaMallocHost");
  CU_TRY(cudaMalloc((void **)&ct->w, (size_t)(ct->rows * ct->cols) * sizeof(float)),
         "allocation of the device weights");
  AIHW_TRY(aihw_cuda_tile_upload_weights(ct, w));
  AIHW_TRY(dperiph_init(&ct->fwd, forward));
  AIHW_TRY(dperiph_init(&ct->bwd, backward));
  return AIHW_OK;
}

extern "C" aihw_status aihw_cuda_tile_create(int device, const float *w, int64_t rows,
                                             int64_t cols, const aihw_periphery *forward,
                                             const aihw_periphery *backward,
                                             aihw_cuda_tile **out) {
  const int count = aihw_cuda_backend_device_count();
  if (count == 0)
    return aihw_error(AIHW_ERR_UNSUPPORTED, "CUDA device %d: no CUDA device is available",
                      device);
  if (device < 0 || device >= count)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "CUDA device = %d: must be in [0, %d]",
                      device, count - 1);
  AIHW_TRY(aihw_cuda_backend_check_periphery(forward, "forward"));
  AIHW_TRY(aihw_cuda_backend_check_periphery(backward, "backward"));
  aihw_cuda_tile *ct = new (std::nothrow) aihw_cuda_tile();
  if (ct == nullptr)
    return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "CUDA backend: out of host memory");
  ct->device = device;
  ct->rows = rows;
  ct->cols = cols;
  aihw_status s = tile_create(ct, w, forward, backward);
  if (s != AIHW_OK) {
    aihw_cuda_tile_destroy(ct);
    return s;
  }
  *out = ct;
  return AIHW_OK;
}

extern "C" int aihw_cuda_tile_device(const aihw_cuda_tile *ct) { return ct ? ct->device : -1; }

extern "C" int aihw_cuda_tile_host_stale(const aihw_cuda_tile *ct) {
  return ct != NULL && ct->host_stale;
}

extern "C" void aihw_cuda_tile_set_host_stale(aihw_cuda_tile *ct, int stale) {
  ct->host_stale = stale;
}

extern "C" aihw_status aihw_cuda_tile_upload_weights(aihw_cuda_tile *ct, const float *w) {
  CU_TRY(cudaSetDevice(ct->device), "cudaSetDevice");
  CU_TRY(cudaMemcpy(ct->w, w, (size_t)(ct->rows * ct->cols) * sizeof(float),
                    cudaMemcpyHostToDevice),
         "weights to the device");
  return AIHW_OK;
}

extern "C" aihw_status aihw_cuda_tile_download_weights(const aihw_cuda_tile *ct, float *w) {
  CU_TRY(cudaSetDevice(ct->device), "cudaSetDevice");
  CU_TRY(cudaMemcpy(w, ct->w, (size_t)(ct->rows * ct->cols) * sizeof(float),
                    cudaMemcpyDeviceToHost),
         "weights to the host");
  return AIHW_OK;
}

/* ---------------------------------------------------------------------------------- */
/* Kernels */

namespace {

/* What the kernels of one call need, by value. */
struct mv_args {
  aihw_io_params io;
  int transposed, nm, bm;
  int n, m, x_cols, y_cols;
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
};

__device__ inline float input_at(const mv_args &a, const float *x, int b, int j) {
  return j < a.x_cols ? x[(int64_t)b * a.x_cols + j] : 1.0f;
}

/* Block-wide reductions over 256 threads (blockDim.x must be 256). */
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
  const float *row = x + (int64_t)b * a.x_cols;
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
__global__ void row_stats_kernel(mv_args a, mv_bufs w) {
  __shared__ uint32_t su[8];
  __shared__ float sf[8];
  const int b = blockIdx.x;
  const float *row = w.x + (int64_t)b * a.x_cols;
  uint32_t amax = 0;
  float vmax = -INFINITY;
  unsigned long long bad = ~0ull;
  for (int j = threadIdx.x; j < a.x_cols; j += blockDim.x) {
    float v = row[j];
    uint32_t bits = aihw_float_bits(v) & 0x7fffffffu;
    if (bits >= 0x7f800000u && bad == ~0ull)
      bad = (unsigned long long)b * (unsigned long long)a.x_cols + (unsigned long long)j;
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

__global__ void skip_kernel(mv_args a, mv_bufs w, int batch) {
  const int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b >= batch)
    return;
  w.skip[b] = a.nm != AIHW_NM_NONE && w.alpha[b] <= 0.0f &&
              (a.transposed || a.io.inp_noise <= 0.0f);
}

/* Reduction factor of a later BM round (periphery.c, "Per-sample reduction factor"). */
__global__ void next_round_kernel(mv_args a, mv_bufs w, int active, uint32_t round) {
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
__global__ void prepare_kernel(mv_args a, mv_bufs w, uint32_t round) {
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
      v = scaling ? w.x[(int64_t)b * a.x_cols + j] * scale : w.x[(int64_t)b * a.x_cols + j];
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
__global__ void input_sums_kernel(mv_args a, mv_bufs w, int active, int need_sum,
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
__global__ void epilogue_kernel(mv_args a, mv_bufs w, uint32_t round) {
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

} // namespace

/* ---------------------------------------------------------------------------------- */
/* The call */

extern "C" int aihw_cuda_backend_is_device_pointer(const void *p) {
  cudaPointerAttributes attr;
  if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged;
}

/* Y[active][out] = U[active][in] op(W): forward uses W^T, backward W. */
static aihw_status device_gemm(aihw_cuda_tile *ct, int transposed, const float *u, int active,
                               float *y) {
  const float one = 1.0f, zero = 0.0f;
  const int rows = (int)ct->rows, cols = (int)ct->cols;
  if (!transposed)
    CUBLAS_TRY(cublasSgemm(ct->blas, CUBLAS_OP_T, CUBLAS_OP_N, rows, active, cols, &one, ct->w,
                           cols, u, cols, &zero, y, rows),
               "cublasSgemm (forward)");
  else
    CUBLAS_TRY(cublasSgemm(ct->blas, CUBLAS_OP_N, CUBLAS_OP_N, cols, active, rows, &one, ct->w,
                           cols, u, rows, &zero, y, cols),
               "cublasSgemm (backward)");
  return AIHW_OK;
}

static aihw_status mv_run(aihw_cuda_tile *ct, aihw_periphery *p, int transposed,
                          const aihw_mv_call *c, const aihw_cuda_digital *dig) {
  const int perfect = p == NULL || p->perfect;
  const int64_t n = transposed ? ct->rows : ct->cols, m = transposed ? ct->cols : ct->rows;
  const int64_t batch = c->batch, x_cols = c->x_cols, y_cols = c->y_cols;
  const int x_dev = aihw_cuda_backend_is_device_pointer(c->x),
            y_dev = aihw_cuda_backend_is_device_pointer(c->y);
  const int has_in_scales = dig != NULL && dig->in_scales != NULL;
  const int has_out_alpha = dig != NULL && dig->out_alpha != NULL;
  const int has_out_scales = dig != NULL && dig->out_scales != NULL;

  /* Workspace layout. */
  size_t off = 0;
  auto take = [&off](size_t bytes) {
    size_t at = off;
    off += aihw_align256(bytes);
    return at;
  };
  const size_t o_x = (!x_dev || has_in_scales) ? take((size_t)(batch * x_cols) * 4) : 0;
  const size_t o_u = take((size_t)(batch * n) * 4);
  const size_t o_y = take((size_t)(batch * m) * 4);
  const size_t o_dst = y_dev ? 0 : take((size_t)(batch * y_cols) * 4);
  const size_t o_alpha = take((size_t)batch * 4), o_red = take((size_t)batch * 4);
  const size_t o_sum = take((size_t)batch * 4), o_norm = take((size_t)batch * 4);
  const size_t o_skip = take((size_t)batch * 4), o_idx = take((size_t)batch * 4);
  const size_t o_done = take((size_t)batch * 4), o_rounds = take((size_t)batch * 4);
  const size_t o_dig = take((size_t)(x_cols + 2 * y_cols) * 4);
  const size_t o_info = take(sizeof(aihw_round_info));
  CU_TRY(cudaSetDevice(ct->device), "cudaSetDevice");
  AIHW_TRY(aihw_dbuf_reserve(&ct->work, off, "CUDA workspace"));
  char *base = (char *)ct->work.ptr;
  cudaStream_t st = ct->stream;

  float *dig_in = (float *)(base + o_dig);
  float *dig_alpha = dig_in + x_cols, *dig_scales = dig_alpha + y_cols;
  if (has_in_scales)
    CU_TRY(cudaMemcpyAsync(dig_in, dig->in_scales, (size_t)x_cols * 4, cudaMemcpyHostToDevice,
                           st),
           "input scales to the device");
  if (has_out_alpha)
    CU_TRY(cudaMemcpyAsync(dig_alpha, dig->out_alpha, (size_t)y_cols * 4,
                           cudaMemcpyHostToDevice, st),
           "output factors to the device");
  if (has_out_scales)
    CU_TRY(cudaMemcpyAsync(dig_scales, dig->out_scales, (size_t)y_cols * 4,
                           cudaMemcpyHostToDevice, st),
           "output scales to the device");

  /* Stage the input. */
  const float *x = c->x;
  if (!x_dev) {
    float *xs = (float *)(base + o_x);
    CU_TRY(cudaMemcpyAsync(xs, c->x, (size_t)(batch * x_cols) * 4, cudaMemcpyHostToDevice, st),
           "input to the device");
    x = xs;
  }
  if (has_in_scales) {
    float *xs = (float *)(base + o_x);
    scale_input_kernel<<<aihw_blocks_for(batch * x_cols, 256), 256, 0, st>>>(x, dig_in, xs,
                                                                        (int)batch,
                                                                        (int)x_cols);
    x = xs;
  }

  mv_args a;
  memset(&a, 0, sizeof a);
  a.transposed = transposed;
  a.n = (int)n;
  a.m = (int)m;
  a.x_cols = (int)x_cols;
  a.y_cols = (int)y_cols;
  a.call_alpha = c->alpha;
  a.seed = c->seed;
  a.tile_id = c->tile_id;
  a.op = c->op_counter;
  mv_bufs w;
  memset(&w, 0, sizeof w);
  w.x = x;
  w.u = (float *)(base + o_u);
  w.y = (float *)(base + o_y);
  w.dst = y_dev ? c->y : (float *)(base + o_dst);
  w.alpha = (float *)(base + o_alpha);
  w.red = (float *)(base + o_red);
  w.u_sum = (float *)(base + o_sum);
  w.u_norm = (float *)(base + o_norm);
  w.skip = (int *)(base + o_skip);
  w.idx = (int *)(base + o_idx);
  w.done = (int *)(base + o_done);
  w.rounds = c->rounds != NULL ? (int *)(base + o_rounds) : nullptr;
  w.out_alpha = has_out_alpha ? dig_alpha : nullptr;
  w.out_scales = has_out_scales ? dig_scales : nullptr;
  /* Counters: written by the kernels in device memory, read through the pinned copy. */
  w.info = (aihw_round_info *)(base + o_info);
  ct->info->bad_index = ~0ull;
  ct->info->failed = 0;
  ct->info->nm_running = p != NULL ? p->nm_running : -1.0f;
  CU_TRY(cudaMemcpyAsync(w.info, ct->info, sizeof(aihw_round_info), cudaMemcpyHostToDevice, st),
         "counters to the device");

  if (perfect) {
    /* Exact product: finiteness is checked by row_stats with NM NONE. */
    a.nm = AIHW_NM_NONE;
    row_stats_kernel<<<(unsigned)batch, 256, 0, st>>>(a, w);
    AIHW_TRY(aihw_read_info(ct, w.info));
    if (ct->info->bad_index != ~0ull)
      goto not_finite;
    const float *u = x;
    if (x_cols != n) {
      exact_input_kernel<<<aihw_blocks_for(batch * n, 256), 256, 0, st>>>(a, w, (int)batch);
      u = w.u;
    }
    AIHW_TRY(device_gemm(ct, transposed, u, (int)batch, w.y));
    exact_output_kernel<<<aihw_blocks_for(batch * y_cols, 256), 256, 0, st>>>(a, w, (int)batch);
    if (c->rounds != NULL)
      for (int64_t b = 0; b < batch; ++b)
        c->rounds[b] = 1;
  } else {
    const aihw_io_params *io = &p->io;
    const aihw_dperiph *dp = transposed ? &ct->bwd : &ct->fwd;
    a.io = *io;
    a.nm = (int)io->noise_management;
    a.bm = (int)p->bm;
    a.inp_res = p->inp_res;
    a.out_res = p->out_res;
    a.inp_bound = p->inp_bound;
    a.out_bound = p->out_bound;
    a.nm_thres = p->nm_thres;
    a.bm_red_limit = p->bm_red_limit;
    a.nl_factor = p->nl_factor;
    a.out_noise_sigma = dp->out_noise_sigma;
    a.v_offset = dp->v_offset;
    a.nl = dp->nl;
    const int need_sum = p->v_offset != NULL && io->v_offset_w_min != 0.0f;
    const int need_norm = io->w_noise > 0.0f && io->w_noise_type == AIHW_W_NOISE_ADDITIVE_CONSTANT;

    row_stats_kernel<<<(unsigned)batch, 256, 0, st>>>(a, w);
    if (a.nm == AIHW_NM_AVERAGE_ABS_MAX) {
      /* The check comes first: the running value must not change on a failed call. */
      AIHW_TRY(aihw_read_info(ct, w.info));
      if (ct->info->bad_index != ~0ull)
        goto not_finite;
      running_average_kernel<<<1, 1, 0, st>>>(a, w, (int)batch, p->nm_running);
    }
    skip_kernel<<<aihw_blocks_for(batch, 256), 256, 0, st>>>(a, w, (int)batch);

    int64_t active = batch;
    ct->host_idx.resize((size_t)batch);
    ct->host_done.resize((size_t)batch);
    for (uint32_t round = 0; active > 0; ++round) {
      if (round > 0)
        next_round_kernel<<<aihw_blocks_for(active, 128), 128, 0, st>>>(a, w, (int)active, round);
      dim3 grid(aihw_blocks_for((n + 3) / 4, 128), (unsigned)active);
      prepare_kernel<<<grid, 128, 0, st>>>(a, w, round);
      if (need_sum || need_norm)
        input_sums_kernel<<<aihw_blocks_for(active, 128), 128, 0, st>>>(a, w, (int)active,
                                                                    need_sum, need_norm);
      AIHW_TRY(device_gemm(ct, transposed, w.u, (int)active, w.y));
      epilogue_kernel<<<(unsigned)active, 256, 0, st>>>(a, w, round);
      AIHW_TRY(aihw_read_info(ct, w.info));
      if (round == 0 && ct->info->bad_index != ~0ull)
        goto not_finite;
      if (ct->info->failed == 0)
        break;
      /* Keep the samples that saturated, in order (as the CPU path). */
      CU_TRY(cudaMemcpyAsync(ct->host_done.data(), w.done, (size_t)active * 4,
                             cudaMemcpyDeviceToHost, st),
             "round flags to the host");
      CU_TRY(cudaMemcpyAsync(ct->host_idx.data(), w.idx, (size_t)active * 4,
                             cudaMemcpyDeviceToHost, st),
             "round indices to the host");
      CU_TRY(cudaStreamSynchronize(st), "round flags");
      int64_t next = 0;
      for (int64_t k = 0; k < active; ++k)
        if (ct->host_done[(size_t)k] == 0)
          ct->host_idx[(size_t)next++] = ct->host_idx[(size_t)k];
      active = next;
      CU_TRY(cudaMemcpyAsync(w.idx, ct->host_idx.data(), (size_t)active * 4,
                             cudaMemcpyHostToDevice, st),
             "round indices to the device");
      ct->info->failed = 0;
      CU_TRY(cudaMemcpyAsync(w.info, ct->info, sizeof(aihw_round_info), cudaMemcpyHostToDevice, st),
             "counters to the device");
    }
    if (a.nm == AIHW_NM_AVERAGE_ABS_MAX)
      p->nm_running = ct->info->nm_running;
    if (c->rounds != NULL)
      CU_TRY(cudaMemcpyAsync(c->rounds, w.rounds, (size_t)batch * 4, cudaMemcpyDeviceToHost, st),
             "round counts to the host");
  }
  if (!y_dev)
    CU_TRY(cudaMemcpyAsync(c->y, w.dst, (size_t)(batch * y_cols) * 4, cudaMemcpyDeviceToHost,
                           st),
           "output to the host");
  CU_TRY(cudaStreamSynchronize(st), "forward/backward");
  CU_TRY(cudaGetLastError(), "kernel launch");
  return AIHW_OK;

not_finite : {
  const unsigned long long e = ct->info->bad_index;
  float v = 0.0f;
  cudaMemcpy(&v, x + e, sizeof v, cudaMemcpyDeviceToHost);
  return aihw_error(AIHW_ERR_NOT_FINITE, "%s[%llu][%llu] is %g; inputs must be finite",
                    transposed ? "d" : "x", e / (unsigned long long)x_cols,
                    e % (unsigned long long)x_cols, (double)v);
}
}

extern "C" aihw_status aihw_cuda_tile_mv(aihw_cuda_tile *ct, aihw_periphery *p,
                                         int transposed, const aihw_mv_call *call,
                                         const aihw_cuda_digital *digital) {
  if (call->batch > 0x7fffffff || (transposed ? ct->cols : ct->rows) * call->batch > INT64_MAX / 8)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "CUDA backend: batch = %lld is too large",
                      (long long)call->batch);
  return mv_run(ct, p, transposed, call, digital);
}
