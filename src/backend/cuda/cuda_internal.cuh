/* Private to the CUDA backend's .cu files: error helpers, the device state of a tile
 * (struct aihw_cuda_tile) and small device utilities. */
#ifndef AIHW_BACKEND_CUDA_INTERNAL_CUH
#define AIHW_BACKEND_CUDA_INTERNAL_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <vector>

extern "C" {
#include "backend/cuda_api.h"
#include "core/error.h"
#include "core/philox.h"
#include "physics/periphery_math.h"
}

/* ---- Errors ------------------------------------------------------------------------- */

static inline aihw_status cuda_status(cudaError_t e, const char *what) {
  if (e == cudaSuccess)
    return AIHW_OK;
  aihw_status s = e == cudaErrorMemoryAllocation ? AIHW_ERR_OUT_OF_MEMORY
                  : (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver)
                      ? AIHW_ERR_UNSUPPORTED
                      : AIHW_ERR_INTERNAL;
  return aihw_error(s, "CUDA backend: %s failed: %s", what, cudaGetErrorString(e));
}

static inline aihw_status cublas_status(cublasStatus_t e, const char *what) {
  if (e == CUBLAS_STATUS_SUCCESS)
    return AIHW_OK;
  return aihw_error(e == CUBLAS_STATUS_ALLOC_FAILED ? AIHW_ERR_OUT_OF_MEMORY : AIHW_ERR_INTERNAL,
                    "CUDA backend: %s failed: cuBLAS status %d", what, (int)e);
}

#define CU_TRY(expr, what) AIHW_TRY(cuda_status((expr), (what)))
#define CUBLAS_TRY(expr, what) AIHW_TRY(cublas_status((expr), (what)))

/* ---- Device state ------------------------------------------------------------------- */

/* A growable device buffer. */
struct aihw_dbuf {
  void *ptr = nullptr;
  size_t bytes = 0;
};

static inline aihw_status aihw_dbuf_reserve(aihw_dbuf *b, size_t bytes, const char *what) {
  if (bytes <= b->bytes && b->ptr != nullptr)
    return AIHW_OK;
  void *p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes > 0 ? bytes : 1);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return cuda_status(e, what);
  }
  cudaFree(b->ptr);
  b->ptr = p;
  b->bytes = bytes;
  return AIHW_OK;
}

/* Systematic per-output values of one periphery on the device. */
struct aihw_dperiph {
  float *out_noise_sigma = nullptr, *v_offset = nullptr, *nl = nullptr;
};

/* Counters the host reads back after a kernel sequence (device copy in the workspace,
 * host copy pinned). */
struct aihw_round_info {
  unsigned long long bad_index; /* first non-finite input (row * cols + col), or ~0 */
  int failed;                   /* samples that saturated in this round; update: rows with
                                   devices that need single steps */
  float nm_running;
};

struct aihw_cuda_tile {
  int device;
  int64_t rows, cols;
  float *w; /* [rows][cols] */
  aihw_dperiph fwd, bwd;
  /* ConstantStep device state for the update ([rows][cols] each), or NULL */
  float *max_bound, *min_bound, *scale_up, *scale_down;
  cudaStream_t stream;
  cublasHandle_t blas;
  aihw_dbuf work, update_work;
  aihw_round_info *info; /* pinned */
  int host_stale;        /* device weights newer than the host copy */
  /* Inference tiles (cuda_inference.cu): reference, programmed weights [rows][cols] and
   * drift exponents [nu_slices][rows][cols], or NULL; AIHW_CUDA_* flags; the readout's
   * one-hot inputs and outputs; the scan counters. */
  float *ref = nullptr, *prog = nullptr, *nu = nullptr;
  int nu_slices = 0, inf_flags = 0;
  aihw_dbuf inf_work, inf_scan;
  std::vector<int> host_idx, host_done;
};

/* Copies the device counters to the pinned host copy and waits for the stream. */
static inline aihw_status aihw_read_info(aihw_cuda_tile *ct, const aihw_round_info *dinfo) {
  CU_TRY(cudaMemcpyAsync(ct->info, dinfo, sizeof(aihw_round_info), cudaMemcpyDeviceToHost,
                         ct->stream),
         "counters to the host");
  CU_TRY(cudaStreamSynchronize(ct->stream), "kernels");
  return AIHW_OK;
}

/* aihw_cuda_tile_mv (forward) for x = the identity of size cols (batch = x_cols = cols,
 * device memory): sample j is one-hot at column j, so the product is W's columns times the
 * prepared inputs, without a GEMM (when there is no input noise); the same results. For
 * the drift-compensation readout (cuda_inference.cu). */
aihw_status aihw_cuda_tile_mv_onehot(aihw_cuda_tile *ct, aihw_periphery *p,
                                     const aihw_mv_call *call);

/* Allocates *dst on the current device and copies n floats of host src there (src NULL:
 * *dst = NULL). */
aihw_status aihw_cuda_upload_vector(float **dst, const float *src, int64_t n, const char *what);

static inline size_t aihw_align256(size_t bytes) { return (bytes + 255u) / 256u * 256u; }

static inline unsigned aihw_blocks_for(int64_t count, int threads) {
  return (unsigned)((count + threads - 1) / threads);
}

#endif
