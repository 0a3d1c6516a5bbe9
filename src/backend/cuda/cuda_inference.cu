/* CUDA backend: programming, drift and read noise of inference tiles (reference §6.5-§6.7,
 * §6.9), the GPU twin of src/inference/program.c, and the readout of the drift
 * compensation (§6.8, inference_tile.c compensation_readout).
 *
 * One thread handles one Philox block: four consecutive columns of one weight row, so a
 * single aihw_rng_normal4 call gives the four lanes their normals of a round, exactly the
 * element order of aihw_rng_fill_normal (element e = lane e % 4 of block e / 4). Per element
 * the kernels run program.c's generic form: every slice from aihw_conductance_to_g, its
 * moments of nu, programming noise (round 2 s) and drift exponent (round 2 s + 1) for
 * programming; for drift the read-noise normal of pair k's "on" device is round 2 k and
 * its other device's round 2 k + 1 (round s per slice for CUSTOM_PAIR and SINGLE_DEVICE).
 * program.c's pair shortcuts compute the same values (its file comment: the moments at the
 * device not at g_min; with g_min = 0 the "off" device stays exactly +0 through drift and
 * read noise), so the kernels skip the off device's work where g_min = 0 too, and the
 * results are bit-identical to the CPU: the same src/physics functions (libm-free
 * logarithms and powers in double), compiled without FMA contraction. The per-call scalars
 * that use libm (ln of the drift base, the read-noise time factor) are computed on the
 * host by the same expressions as program.c.
 *
 * Extreme weights of a matrix (for its conversion scale) and the finiteness check come
 * from one reduction kernel over order-preserving integer keys (program.c scan_weights),
 * read back with one synchronisation before anything is written.
 */
#include "backend/cuda/cuda_internal.cuh"

#include <algorithm>
#include <climits>
#include <cstring>

extern "C" {
#include "physics/converter_math.h"
#include "physics/noise_consts.h"
#include "physics/pcm_math.h"
}

#define INF_MAX_SLICES (2 * AIHW_INFERENCE_MAX_PAIRS)

/* ---- Flags and host/device copies -------------------------------------------------- */

extern "C" int aihw_cuda_tile_inference_flags(const aihw_cuda_tile *ct) {
  return ct != NULL ? ct->inf_flags : 0;
}

extern "C" void aihw_cuda_tile_set_inference_flags(aihw_cuda_tile *ct, int flags) {
  if (ct != NULL)
    ct->inf_flags = flags;
}

static aihw_status ensure_array(float **p, size_t count, const char *what) {
  if (*p != nullptr)
    return AIHW_OK;
  CU_TRY(cudaMalloc((void **)p, count * sizeof(float)), what);
  return AIHW_OK;
}

/* Device programmed weights and nu for `slices` slices (reallocated if the count changed). */
static aihw_status ensure_programmed(aihw_cuda_tile *ct, int slices) {
  const size_t n = (size_t)(ct->rows * ct->cols);
  if (ct->nu != nullptr && ct->nu_slices != slices) {
    cudaFree(ct->nu);
    ct->nu = nullptr;
  }
  AIHW_TRY(ensure_array(&ct->prog, n, "allocation of the device programmed weights"));
  AIHW_TRY(ensure_array(&ct->nu, n * (size_t)slices, "allocation of the device drift exponents"));
  ct->nu_slices = slices;
  return AIHW_OK;
}

extern "C" aihw_status aihw_cuda_tile_upload_reference(aihw_cuda_tile *ct,
                                                       const float *reference) {
  const size_t n = (size_t)(ct->rows * ct->cols);
  CU_TRY(cudaSetDevice(ct->device), "cudaSetDevice");
  AIHW_TRY(ensure_array(&ct->ref, n, "allocation of the device reference weights"));
  CU_TRY(cudaMemcpy(ct->ref, reference, n * sizeof(float), cudaMemcpyHostToDevice),
         "reference weights to the device");
  return AIHW_OK;
}

extern "C" aihw_status aihw_cuda_tile_upload_programmed(aihw_cuda_tile *ct,
                                                        const float *programmed,
                                                        const float *nu, int slices) {
  const size_t n = (size_t)(ct->rows * ct->cols);
  CU_TRY(cudaSetDevice(ct->device), "cudaSetDevice");
  AIHW_TRY(ensure_programmed(ct, slices));
  CU_TRY(cudaMemcpy(ct->prog, programmed, n * sizeof(float), cudaMemcpyHostToDevice),
         "programmed weights to the device");
  CU_TRY(cudaMemcpy(ct->nu, nu, n * (size_t)slices * sizeof(float), cudaMemcpyHostToDevice),
         "drift exponents to the device");
  return AIHW_OK;
}

extern "C" aihw_status aihw_cuda_tile_download_programmed(const aihw_cuda_tile *ct,
                                                          float *programmed, float *nu,
                                                          int slices) {
  const size_t n = (size_t)(ct->rows * ct->cols);
  if (ct->prog == nullptr || ct->nu == nullptr || ct->nu_slices != slices)
    return aihw_error(AIHW_ERR_INTERNAL, "CUDA backend: no device programmed weights");
  CU_TRY(cudaSetDevice(ct->device), "cudaSetDevice");
  CU_TRY(cudaMemcpy(programmed, ct->prog, n * sizeof(float), cudaMemcpyDeviceToHost),
         "programmed weights to the host");
  CU_TRY(cudaMemcpy(nu, ct->nu, n * (size_t)slices * sizeof(float), cudaMemcpyDeviceToHost),
         "drift exponents to the host");
  return AIHW_OK;
}

/* ---- Per-call constants (program.c noise_consts, by value in kernel parameters) ------ */

namespace {

struct inf_consts {
  aihw_conductance_map map, map_target;
  aihw_noise_consts nc; /* physics/noise_consts.h */
  int at_target, pair, skip_off;
  int64_t rows, cols, nblk;
  uint32_t seed, tile_id;
  uint64_t op;
};

struct inf_ptrs {
  const float *w_in, *target, *nu_in;
  float *w_out, *w_out2, *nu_out;
};

/* Extremes of a matrix: order keys (program.c order_key), |w| bits, first non-finite. */
struct scan_result {
  int kmin, kmax;
  unsigned abs_max;
  unsigned long long first_bad;
};

} // namespace

static inf_consts consts_make(const aihw_noise_model_params *nm) {
  inf_consts c;
  memset(&c, 0, sizeof c);
  c.nc = aihw_noise_consts_make(nm);
  return c;
}

/* ---- Kernels ---------------------------------------------------------------------- */

__device__ inline int order_key(float x) {
  uint32_t b = aihw_float_bits(x);
  uint32_t flip = (uint32_t)((int32_t)b >> 31) & 0x7fffffffu;
  return (int)(b ^ flip);
}

static float key_float(int k) {
  uint32_t b = (uint32_t)k;
  uint32_t flip = (uint32_t)(k >> 31) & 0x7fffffffu;
  return aihw_bits_float(b ^ flip);
}

__global__ void scan_kernel(const float *__restrict__ w, int64_t n, scan_result *out) {
  int kmin = INT_MAX, kmax = INT_MIN;
  unsigned amax = 0;
  unsigned long long bad = ~0ull;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n;
       k += (int64_t)gridDim.x * blockDim.x) {
    const float v = w[k];
    const int key = order_key(v);
    const unsigned a = aihw_float_bits(v) & 0x7fffffffu;
    kmin = key < kmin ? key : kmin;
    kmax = key > kmax ? key : kmax;
    amax = a > amax ? a : amax;
    if (a >= 0x7f800000u && (unsigned long long)k < bad)
      bad = (unsigned long long)k;
  }
  for (int o = 16; o > 0; o >>= 1) {
    kmin = min(kmin, __shfl_xor_sync(0xffffffffu, kmin, o));
    kmax = max(kmax, __shfl_xor_sync(0xffffffffu, kmax, o));
    amax = max(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    unsigned long long ob = __shfl_xor_sync(0xffffffffu, bad, o);
    bad = ob < bad ? ob : bad;
  }
  if ((threadIdx.x & 31) == 0) {
    atomicMin(&out->kmin, kmin);
    atomicMax(&out->kmax, kmax);
    atomicMax(&out->abs_max, amax);
    if (bad != ~0ull)
      atomicMin(&out->first_bad, bad);
  }
}

/* Moments of nu at conductance g (program.c nu_moments_chunk). */
__device__ inline void nu_moments(const inf_consts &c, float g, float *mu, float *sd) {
  switch (c.nc.type) {
  case AIHW_NOISE_PCM_LIKE: aihw_pcm_nu_moments(g, c.nc.g_max, mu, sd); break;
  case AIHW_NOISE_STATE_INDEPENDENT:
    *mu = c.nc.nu_mean;
    *sd = c.nc.nu_std;
    break;
  case AIHW_NOISE_CUSTOM_DRIFT_PCM:
    aihw_pcm_nu_moments_table(g, c.nc.custom_g, c.nc.custom_mean, c.nc.custom_mean_slope,
                              c.nc.custom_std, c.nc.custom_std_slope, c.nc.n_custom, mu, sd);
    break;
  default: *mu = *sd = 0.0f; break;
  }
}

/* Programming: NS >= the converter's slice count (compile-time, so that the per-lane
 * arrays stay in registers for the two-slice converters). */
template <int NS>
__global__ void program_kernel(const __grid_constant__ inf_consts c, inf_ptrs p) {
  const int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (t >= c.rows * c.nblk)
    return;
  const int64_t i = t / c.nblk, blk = t - i * c.nblk, j0 = 4 * blk;
  const int lanes = c.cols - j0 < 4 ? (int)(c.cols - j0) : 4;
  const int64_t base = i * c.cols + j0, plane = c.rows * c.cols;
  const int ns = c.map.n_slices;
  float g[4][NS], gp[4][NS];
#pragma unroll
  for (int l = 0; l < 4; ++l)
    if (l < lanes)
      aihw_conductance_to_g(&c.map, p.w_in[base + l], g[l], 1);
#pragma unroll
  for (int s = 0; s < NS; ++s) {
    if (s >= ns)
      break;
    aihw_rng_stream sp = aihw_rng_stream_make(c.seed, c.tile_id, c.op, AIHW_RNG_PROGRAM,
                                              (uint32_t)(2 * s));
    aihw_rng_stream sn = aihw_rng_stream_make(c.seed, c.tile_id, c.op, AIHW_RNG_PROGRAM,
                                              (uint32_t)(2 * s + 1));
    float xp[4], xn[4];
    aihw_rng_normal4(&sp, (uint32_t)i, (uint32_t)blk, xp);
    aihw_rng_normal4(&sn, (uint32_t)i, (uint32_t)blk, xn);
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      if (l >= lanes)
        break;
      float mu, sd;
      nu_moments(c, g[l][s], &mu, &sd);
      const float sigma =
          aihw_pcm_prog_sigma(c.nc.coeff, c.nc.n_coeff, g[l][s], c.nc.g_max,
                              c.nc.prog_factor);
      gp[l][s] = aihw_pcm_program(g[l][s], sigma, c.nc.prog_noise_scale, xp[l]);
      p.nu_out[s * plane + base + l] = aihw_pcm_nu(mu, sd, xn[l], c.nc.drift_scale);
    }
  }
#pragma unroll
  for (int l = 0; l < 4; ++l)
    if (l < lanes) {
      const float w = aihw_conductance_to_w(&c.map, gp[l], 1);
      p.w_out[base + l] = w;
      p.w_out2[base + l] = w;
    }
}

/* Drift and read noise of one slice (program.c drift_slice_chunk). */
__device__ inline float drift_one(const inf_consts &c, float g, float nu, float xi, float q_g) {
  const float df = c.nc.drifting ? aihw_pcm_drift_factor_ln(c.nc.ln_base, nu) : 1.0f;
  if (c.nc.type == AIHW_NOISE_STATE_INDEPENDENT)
    return aihw_state_independent_read(g, df, c.nc.g_max, c.nc.read_factor,
                                       c.nc.read_noise_scale, xi);
  return aihw_pcm_read(g, df, aihw_pcm_read_qs(q_g, c.nc.g_max) * c.nc.read_factor,
                       c.nc.read_noise_scale, xi);
}

template <int NS>
__global__ void drift_kernel(const __grid_constant__ inf_consts c, inf_ptrs p) {
  const int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (t >= c.rows * c.nblk)
    return;
  const int64_t i = t / c.nblk, blk = t - i * c.nblk, j0 = 4 * blk;
  const int lanes = c.cols - j0 < 4 ? (int)(c.cols - j0) : 4;
  const int64_t base = i * c.cols + j0, plane = c.rows * c.cols;
  const int ns = c.map.n_slices;
  float g[4][NS], gt[4][NS], xi[4][NS];
#pragma unroll
  for (int l = 0; l < 4; ++l) { /* lanes past the row end convert 0 and are not stored */
    aihw_conductance_to_g(&c.map, l < lanes ? p.w_in[base + l] : 0.0f, g[l], 1);
    if (c.at_target)
      aihw_conductance_to_g(&c.map_target, l < lanes ? p.target[base + l] : 0.0f, gt[l], 1);
  }
  if (c.pair) {
    const float g_min = c.map.g_min;
#pragma unroll
    for (int k = 0; k < NS / 2; ++k) {
      if (2 * k >= ns)
        break;
      aihw_rng_stream s_on = aihw_rng_stream_make(c.seed, c.tile_id, c.op, AIHW_RNG_DRIFT_READ,
                                                  (uint32_t)(2 * k));
      float z_on[4], z_off[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      aihw_rng_normal4(&s_on, (uint32_t)i, (uint32_t)blk, z_on);
      if (!c.skip_off) {
        aihw_rng_stream s_off = aihw_rng_stream_make(c.seed, c.tile_id, c.op,
                                                     AIHW_RNG_DRIFT_READ, (uint32_t)(2 * k + 1));
        aihw_rng_normal4(&s_off, (uint32_t)i, (uint32_t)blk, z_off);
      }
#pragma unroll
      for (int l = 0; l < 4; ++l) {
        const int minus_on = (g[l][2 * k] == g_min) & (g[l][2 * k + 1] != g_min);
        xi[l][2 * k] = aihw_fselect(minus_on, z_off[l], z_on[l]);
        xi[l][2 * k + 1] = aihw_fselect(minus_on, z_on[l], z_off[l]);
      }
    }
  } else {
#pragma unroll
    for (int s = 0; s < NS; ++s) {
      if (s >= ns)
        break;
      aihw_rng_stream st = aihw_rng_stream_make(c.seed, c.tile_id, c.op, AIHW_RNG_DRIFT_READ,
                                                (uint32_t)s);
      float z[4];
      aihw_rng_normal4(&st, (uint32_t)i, (uint32_t)blk, z);
#pragma unroll
      for (int l = 0; l < 4; ++l)
        xi[l][s] = z[l];
    }
  }
#pragma unroll
  for (int l = 0; l < 4; ++l) {
    if (l >= lanes)
      break;
    float gf[NS];
#pragma unroll
    for (int s = 0; s < NS; ++s) {
      if (s >= ns)
        break;
      /* g_min = 0: a device at 0 stays exactly +0 (see the file comment). */
      if (c.skip_off && g[l][s] == 0.0f) {
        gf[s] = 0.0f;
        continue;
      }
      const float nu = p.nu_in[s * plane + base + l];
      gf[s] = drift_one(c, g[l][s], nu, xi[l][s], c.at_target ? gt[l][s] : g[l][s]);
    }
    p.w_out[base + l] = aihw_conductance_to_w(&c.map, gf, 1);
  }
}

__global__ void eye_kernel(float *eye, int64_t n) {
  const int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (j < n)
    eye[j * n + j] = 1.0f;
}

/* sums[i] = sum_j |y[j][i]| in double, j ascending (inference_tile.c's order). */
__global__ void column_abs_sum_kernel(const float *__restrict__ y, int64_t n, int64_t m,
                                      double *sums) {
  const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (i >= m)
    return;
  double s = 0.0;
  for (int64_t j = 0; j < n; ++j)
    s += fabs((double)y[j * m + i]);
  sums[i] = s;
}

/* ---- Host side ---------------------------------------------------------------------- */

static bool is_pair(aihw_converter_type t) {
  return t == AIHW_CONVERTER_SINGLE_PAIR || t == AIHW_CONVERTER_N_PAIR ||
         t == AIHW_CONVERTER_DUAL_PAIR;
}

/* Extremes and finiteness of a device matrix; NOT_FINITE "fn: name[i][j] = v: must be
 * finite" (program.c's message) for the first non-finite element. */
static aihw_status scan(aihw_cuda_tile *ct, const float *w, const char *fn, const char *name,
                        float *lo, float *hi) {
  const int64_t n = ct->rows * ct->cols;
  cudaStream_t st = ct->stream;
  AIHW_TRY(aihw_dbuf_reserve(&ct->inf_scan, sizeof(scan_result), "CUDA scan counters"));
  scan_result init = {INT_MAX, INT_MIN, 0u, ~0ull}, r;
  scan_result *d = (scan_result *)ct->inf_scan.ptr;
  CU_TRY(cudaMemcpyAsync(d, &init, sizeof init, cudaMemcpyHostToDevice, st), "scan counters");
  const unsigned blocks = (unsigned)std::min<int64_t>((n + 255) / 256, 2048);
  scan_kernel<<<blocks, 256, 0, st>>>(w, n, d);
  CU_TRY(cudaMemcpyAsync(&r, d, sizeof r, cudaMemcpyDeviceToHost, st), "scan counters");
  CU_TRY(cudaStreamSynchronize(st), "weight scan");
  if (r.abs_max >= 0x7f800000u) {
    const unsigned long long e = r.first_bad;
    float v = 0.0f;
    cudaMemcpy(&v, w + e, sizeof v, cudaMemcpyDeviceToHost);
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s: %s[%llu][%llu] = %g: must be finite", fn, name,
                      e / (unsigned long long)ct->cols, e % (unsigned long long)ct->cols,
                      (double)v);
  }
  *lo = key_float(r.kmin);
  *hi = key_float(r.kmax);
  return AIHW_OK;
}

static aihw_status launch(aihw_cuda_tile *ct, bool drift, int slices, const inf_consts &c,
                          const inf_ptrs &p) {
  const int64_t threads = c.rows * c.nblk;
  const unsigned blocks = aihw_blocks_for(threads, 128);
  cudaStream_t st = ct->stream;
  if (slices <= 2) {
    if (drift)
      drift_kernel<2><<<blocks, 128, 0, st>>>(c, p);
    else
      program_kernel<2><<<blocks, 128, 0, st>>>(c, p);
  } else {
    if (drift)
      drift_kernel<INF_MAX_SLICES><<<blocks, 128, 0, st>>>(c, p);
    else
      program_kernel<INF_MAX_SLICES><<<blocks, 128, 0, st>>>(c, p);
  }
  CU_TRY(cudaGetLastError(), drift ? "drift kernel launch" : "programming kernel launch");
  CU_TRY(cudaStreamSynchronize(st), drift ? "drift kernel" : "programming kernel");
  return AIHW_OK;
}

static aihw_status check_custom_pair(const aihw_converter_params *cv, const char *fn) {
  if (cv->type == AIHW_CONVERTER_CUSTOM_PAIR && !(aihw_custom_pair_max_weight_us(cv) > 0.0f))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: noise_model.g_converter.g_lst: sum_k f_k (g+_k - g-_k) is 0 at "
                      "every entry: the tables represent no weight",
                      fn);
  return AIHW_OK;
}

extern "C" aihw_status aihw_cuda_tile_program(aihw_cuda_tile *ct,
                                              const aihw_noise_model_params *nm,
                                              const aihw_converter_params *cv, uint32_t seed,
                                              uint32_t tile_id, uint64_t op) {
  static const char *fn = "aihw_inference_program";
  AIHW_TRY(check_custom_pair(cv, fn));
  if (ct->ref == nullptr)
    return aihw_error(AIHW_ERR_INTERNAL, "CUDA backend: no device reference weights");
  CU_TRY(cudaSetDevice(ct->device), "cudaSetDevice");
  const int slices = aihw_converter_slice_count(cv);
  const size_t n = (size_t)(ct->rows * ct->cols);
  float lo = 0.0f, hi = 0.0f;
  AIHW_TRY(scan(ct, ct->ref, fn, "w_target", &lo, &hi));
  AIHW_TRY(ensure_programmed(ct, slices));
  cudaStream_t st = ct->stream;
  if (nm->type == AIHW_NOISE_NONE) {
    CU_TRY(cudaMemcpyAsync(ct->prog, ct->ref, n * 4, cudaMemcpyDeviceToDevice, st), "copy");
    CU_TRY(cudaMemcpyAsync(ct->w, ct->ref, n * 4, cudaMemcpyDeviceToDevice, st), "copy");
    CU_TRY(cudaMemsetAsync(ct->nu, 0, n * (size_t)slices * 4, st), "memset");
    CU_TRY(cudaStreamSynchronize(st), "programming copies");
    return AIHW_OK;
  }
  inf_consts c = consts_make(nm);
  c.map = aihw_conductance_map_make(cv, lo, hi);
  c.rows = ct->rows;
  c.cols = ct->cols;
  c.nblk = (ct->cols + 3) / 4;
  c.seed = seed;
  c.tile_id = tile_id;
  c.op = op;
  inf_ptrs p = {ct->ref, nullptr, nullptr, ct->prog, ct->w, ct->nu};
  return launch(ct, false, slices, c, p);
}

extern "C" aihw_status aihw_cuda_tile_drift(aihw_cuda_tile *ct,
                                            const aihw_noise_model_params *nm,
                                            const aihw_converter_params *cv, float t_inference,
                                            int at_target, uint32_t seed, uint32_t tile_id,
                                            uint64_t op) {
  static const char *fn = "aihw_inference_drift";
  AIHW_TRY(check_custom_pair(cv, fn));
  const int slices = aihw_converter_slice_count(cv);
  if (ct->prog == nullptr || ct->nu == nullptr || ct->nu_slices != slices ||
      (at_target && ct->ref == nullptr))
    return aihw_error(AIHW_ERR_INTERNAL, "CUDA backend: no device programmed weights");
  CU_TRY(cudaSetDevice(ct->device), "cudaSetDevice");
  const size_t n = (size_t)(ct->rows * ct->cols);
  float lo = 0.0f, hi = 0.0f;
  AIHW_TRY(scan(ct, ct->prog, fn, "w_prog", &lo, &hi));
  cudaStream_t st = ct->stream;
  if (nm->type == AIHW_NOISE_NONE) {
    CU_TRY(cudaMemcpyAsync(ct->w, ct->prog, n * 4, cudaMemcpyDeviceToDevice, st), "copy");
    CU_TRY(cudaStreamSynchronize(st), "drift copy");
    return AIHW_OK;
  }
  inf_consts c = consts_make(nm);
  aihw_noise_consts_set_time(&c.nc, nm, t_inference);
  c.map = aihw_conductance_map_make(cv, lo, hi);
  c.map_target = c.map;
  c.at_target = at_target != 0;
  if (at_target) {
    float tlo = 0.0f, thi = 0.0f;
    AIHW_TRY(scan(ct, ct->ref, fn, "w_target", &tlo, &thi));
    c.map_target = aihw_conductance_map_make(cv, tlo, thi);
  }
  c.pair = is_pair(cv->type);
  c.skip_off = c.pair && c.map.g_min == 0.0f;
  c.rows = ct->rows;
  c.cols = ct->cols;
  c.nblk = (ct->cols + 3) / 4;
  c.seed = seed;
  c.tile_id = tile_id;
  c.op = op;
  inf_ptrs p = {ct->prog, at_target ? ct->ref : nullptr, ct->nu, ct->w, nullptr, nullptr};
  return launch(ct, true, slices, c, p);
}

extern "C" aihw_status aihw_cuda_tile_readout(aihw_cuda_tile *ct, aihw_periphery *p,
                                              const aihw_mv_call *call, double *sums) {
  const int64_t n = ct->cols, m = ct->rows;
  CU_TRY(cudaSetDevice(ct->device), "cudaSetDevice");
  const size_t eye_bytes = aihw_align256((size_t)(n * n) * 4);
  const size_t y_bytes = aihw_align256((size_t)(n * m) * 4);
  AIHW_TRY(aihw_dbuf_reserve(&ct->inf_work, eye_bytes + y_bytes + (size_t)m * 8,
                             "CUDA readout buffers"));
  char *base = (char *)ct->inf_work.ptr;
  float *eye = (float *)base, *y = (float *)(base + eye_bytes);
  double *dsums = (double *)(base + eye_bytes + y_bytes);
  cudaStream_t st = ct->stream;
  CU_TRY(cudaMemsetAsync(eye, 0, (size_t)(n * n) * 4, st), "readout inputs");
  eye_kernel<<<aihw_blocks_for(n, 256), 256, 0, st>>>(eye, n);
  aihw_mv_call c = *call;
  c.x = eye;
  c.x_cols = n;
  c.y = y;
  c.y_cols = m;
  c.batch = n;
  c.rounds = NULL;
  AIHW_TRY(aihw_cuda_tile_mv_onehot(ct, p, &c));
  column_abs_sum_kernel<<<aihw_blocks_for(m, 128), 128, 0, st>>>(y, n, m, dsums);
  CU_TRY(cudaMemcpyAsync(sums, dsums, (size_t)m * 8, cudaMemcpyDeviceToHost, st),
         "readout sums to the host");
  CU_TRY(cudaStreamSynchronize(st), "readout");
  return AIHW_OK;
}
