/* The CUDA backend's entry points in a build without CUDA (AIHW_CUDA=OFF or no nvcc):
 * no devices, and every call that would need one reports AIHW_ERR_UNSUPPORTED. With CUDA,
 * src/backend/cuda/ (.cu files) defines them instead and this file is empty. */
#include "backend/cuda_api.h"

#ifndef AIHW_HAVE_CUDA

#include <stddef.h>

#include "core/error.h"

static aihw_status no_cuda(void) {
  return aihw_error(AIHW_ERR_UNSUPPORTED,
                    "aihw was built without CUDA (AIHW_CUDA=OFF or no nvcc found)");
}

int aihw_cuda_backend_available(void) { return 0; }
int aihw_cuda_backend_device_count(void) { return 0; }
int aihw_cuda_backend_is_device_pointer(const void *p) { return 0; }

aihw_status aihw_cuda_backend_check_periphery(const aihw_periphery *p, const char *what) {
  return no_cuda();
}

aihw_status aihw_cuda_tile_create(int device, const float *w, int64_t rows, int64_t cols,
                                  const aihw_periphery *forward,
                                  const aihw_periphery *backward, aihw_cuda_tile **out) {
  return no_cuda();
}

void aihw_cuda_tile_destroy(aihw_cuda_tile *ct) {}
int aihw_cuda_tile_host_stale(const aihw_cuda_tile *ct) { return 0; }
void aihw_cuda_tile_set_host_stale(aihw_cuda_tile *ct, int stale) {}
aihw_status aihw_cuda_tile_set_devices(aihw_cuda_tile *ct, const float *max_bound,
                                       const float *min_bound, const float *scale_up,
                                       const float *scale_down) {
  return no_cuda();
}
aihw_status aihw_cuda_tile_update(aihw_cuda_tile *ct, const aihw_cuda_update_call *call) {
  return no_cuda();
}
int aihw_cuda_tile_device(const aihw_cuda_tile *ct) { return -1; }
aihw_status aihw_cuda_tile_upload_weights(aihw_cuda_tile *ct, const float *w) {
  return no_cuda();
}
aihw_status aihw_cuda_tile_download_weights(const aihw_cuda_tile *ct, float *w) {
  return no_cuda();
}
aihw_status aihw_cuda_tile_mv(aihw_cuda_tile *ct, aihw_periphery *p, int transposed,
                              const aihw_mv_call *call, const aihw_cuda_digital *digital) {
  return no_cuda();
}
int aihw_cuda_tile_inference_flags(const aihw_cuda_tile *ct) { return 0; }
void aihw_cuda_tile_set_inference_flags(aihw_cuda_tile *ct, int flags) {}
aihw_status aihw_cuda_tile_upload_reference(aihw_cuda_tile *ct, const float *reference) {
  return no_cuda();
}
aihw_status aihw_cuda_tile_upload_programmed(aihw_cuda_tile *ct, const float *programmed,
                                             const float *nu, int slices) {
  return no_cuda();
}
aihw_status aihw_cuda_tile_download_programmed(const aihw_cuda_tile *ct, float *programmed,
                                               float *nu, int slices) {
  return no_cuda();
}
aihw_status aihw_cuda_tile_program(aihw_cuda_tile *ct, const aihw_noise_model_params *nm,
                                   const aihw_converter_params *cv, uint32_t seed,
                                   uint32_t tile_id, uint64_t op) {
  return no_cuda();
}
aihw_status aihw_cuda_tile_drift(aihw_cuda_tile *ct, const aihw_noise_model_params *nm,
                                 const aihw_converter_params *cv, float t_inference,
                                 int at_target, uint32_t seed, uint32_t tile_id, uint64_t op) {
  return no_cuda();
}
aihw_status aihw_cuda_tile_readout(aihw_cuda_tile *ct, aihw_periphery *p,
                                   const aihw_mv_call *call, double *sums) {
  return no_cuda();
}
aihw_status aihw_cuda_grid_forward(const aihw_cuda_grid_tile *tiles, int64_t in_splits,
                                   int64_t out_splits, const float *x, int64_t batch,
                                   int64_t in, float *y, int64_t out, const float *bias) {
  return no_cuda();
}
aihw_status aihw_cuda_bench_sgemm(int device, int64_t batch, int64_t n_out, int64_t n_in,
                                  int repeats, double *median_s) {
  return no_cuda();
}
aihw_status aihw_cuda_bench_copy(int device, int64_t bytes, int repeats, double *median_s) {
  return no_cuda();
}
aihw_status aihw_cuda_bench_philox(int device, int64_t uniform_blocks, int64_t normal_blocks,
                                   int repeats, double *median_s) {
  return no_cuda();
}
aihw_status aihw_cuda_malloc(int device, size_t bytes, void **out) { return no_cuda(); }
void aihw_cuda_free(void *ptr) {}
aihw_status aihw_cuda_memcpy_h2d(void *dst, const void *src, size_t bytes) { return no_cuda(); }
aihw_status aihw_cuda_memcpy_d2h(void *dst, const void *src, size_t bytes) { return no_cuda(); }
void aihw_cuda_device_name(int device, char *buf, size_t size) {
  if (size > 0)
    buf[0] = '\0';
}

#else
typedef int aihw_cuda_stubs_unused; /* ISO C: a translation unit must not be empty */
#endif
