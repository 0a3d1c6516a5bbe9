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

#include "backend/cuda/cuda_mv_kernels.cuh"

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

/* Y[k][i] = W[i][j] U[k][j], j = idx[k]: the product for inputs that are zero except at
 * column j of sample j (the compensation readout's one-hot rows, aihw_cuda_tile_mv_onehot).
 * Every other term of the dot product is an exact zero, so this is the GEMM's value (up to
 * the sign of a zero result). 32 x 32 blocks through shared memory. */
__global__ void onehot_product_kernel(const float *__restrict__ w, const float *__restrict__ u,
                                      const int *__restrict__ idx, float *__restrict__ y,
                                      int active, int n, int m) {
  __shared__ float t[32][33];
  const int k0 = blockIdx.y * 32, i0 = blockIdx.x * 32;
  const int k = k0 + threadIdx.x;
  const int j = k < active ? idx[k] : 0;
  for (int r = threadIdx.y; r < 32; r += blockDim.y) {
    const int i = i0 + r;
    t[r][threadIdx.x] =
        k < active && i < m ? w[(int64_t)i * n + j] * u[(int64_t)k * n + j] : 0.0f;
  }
  __syncthreads();
  for (int r = threadIdx.y; r < 32; r += blockDim.y) {
    const int kk = k0 + r, i = i0 + threadIdx.x;
    if (kk < active && i < m)
      y[(int64_t)kk * m + i] = t[threadIdx.x][r];
  }
}

static aihw_status mv_run(aihw_cuda_tile *ct, aihw_periphery *p, int transposed,
                          const aihw_mv_call *c, const aihw_cuda_digital *dig, int onehot) {
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
  a.x_ld = (int)x_cols;
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
    if (onehot && !transposed && u == x) /* x one-hot and used as it is */
      onehot_product_kernel<<<dim3(aihw_blocks_for(m, 32), aihw_blocks_for(batch, 32)),
                              dim3(32, 8), 0, st>>>(ct->w, u, w.idx, w.y, (int)batch, (int)n,
                                                    (int)m);
    else
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
      if (onehot && !transposed && io->inp_noise <= 0.0f) /* the prepared rows stay one-hot */
        onehot_product_kernel<<<dim3(aihw_blocks_for(m, 32), aihw_blocks_for(active, 32)),
                                dim3(32, 8), 0, st>>>(ct->w, w.u, w.idx, w.y, (int)active,
                                                      (int)n, (int)m);
      else
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
  return mv_run(ct, p, transposed, call, digital, 0);
}

aihw_status aihw_cuda_tile_mv_onehot(aihw_cuda_tile *ct, aihw_periphery *p,
                                     const aihw_mv_call *call) {
  if (call->batch != ct->cols || call->x_cols != ct->cols)
    return aihw_error(AIHW_ERR_INTERNAL, "CUDA backend: one-hot product of the wrong shape");
  return mv_run(ct, p, 0, call, NULL, 1);
}
