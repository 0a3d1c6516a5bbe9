/* A layer's tile grid on one GPU in one call (backend/cuda/cuda_grid.cu): the dispatch
 * point of linear.c's forward for LINEAR modules whose tiles are all on the same CUDA
 * device. Each tile's state after the call (op counter, round counts) is what its own
 * aihw_tile_forward would leave, and the layer output the sum linear.c forms. */
#include "backend/tile_cuda.h"

#include "backend/cuda_api.h"
#include "core/alloc.h"
#include "core/error.h"
#include "tile/tile_internal.h"

int aihw_cuda_grid_disabled = 0;
long aihw_cuda_grid_forward_count = 0;

/* Whether the grid call covers this tile (see cuda_grid.cu, "Limits"). */
static int grid_tile_ok(const aihw_tile *t, int device) {
  const float *abs_w;
  return t != NULL && t->cuda != NULL && aihw_cuda_tile_device(t->cuda) == device &&
         t->config.kind != AIHW_TILE_FLOATING_POINT && !t->forward.perfect &&
         t->forward.io.noise_management != AIHW_NM_AVERAGE_ABS_MAX && t->compound == NULL &&
         aihw_tile_read_weights(t, &abs_w) == t->weights &&
         t->op_counter <= AIHW_TILE_MAX_OP_COUNTER;
}

aihw_status aihw_tile_cuda_grid_forward(aihw_tile *const *tiles, int64_t in_splits,
                                        int64_t out_splits, const int64_t *in_starts,
                                        const int64_t *in_sizes, const int64_t *out_starts,
                                        const int64_t *out_sizes, const float *x,
                                        int64_t batch, int64_t in, float *y, int64_t out,
                                        const float *bias) {
  const int64_t K = in_splits * out_splits;
  if (aihw_cuda_grid_disabled || K < 2 || tiles[0] == NULL || tiles[0]->cuda == NULL ||
      batch < 1 || batch > 0x7fffffff)
    return AIHW_ERR_UNSUPPORTED;
  const int device = aihw_cuda_tile_device(tiles[0]->cuda);
  for (int64_t k = 0; k < K; ++k) {
    const aihw_tile *t = tiles[k];
    const int64_t r = k / out_splits, c = k % out_splits;
    if (!grid_tile_ok(t, device) || t->in_size != in_sizes[r] || t->out_size != out_sizes[c] ||
        t->cols != in_sizes[r])
      return AIHW_ERR_UNSUPPORTED;
  }
  aihw_cuda_grid_tile *g = aihw_calloc_array((size_t)K, sizeof *g, "grid call");
  if (g == NULL)
    return aihw_last_status();
  aihw_status s = AIHW_OK;
  for (int64_t k = 0; k < K && s == AIHW_OK; ++k) {
    aihw_tile *t = tiles[k];
    const int64_t r = k / out_splits, c = k % out_splits;
    if (t->last_rounds_capacity < batch) { /* as aihw_tile_cuda_forward */
      int *rounds = aihw_alloc_array((size_t)batch, sizeof(int), "forward round counts");
      if (rounds == NULL) {
        s = aihw_last_status();
        break;
      }
      aihw_free(t->last_rounds);
      t->last_rounds = rounds;
      t->last_rounds_capacity = batch;
    }
    g[k].ct = t->cuda;
    g[k].p = &t->forward;
    g[k].in_start = in_starts[r];
    g[k].n_in = in_sizes[r];
    g[k].out_start = out_starts[c];
    g[k].n_out = out_sizes[c];
    g[k].alpha = t->forward_alpha;
    g[k].seed = t->config.seed;
    g[k].tile_id = t->config.tile_id;
    g[k].op = t->op_counter;
    g[k].out_alpha = !t->training && t->compensation_valid ? t->drift_alpha : NULL;
    g[k].out_scales = t->out_scales;
    g[k].rounds = t->last_rounds;
  }
  if (s == AIHW_OK)
    s = aihw_cuda_grid_forward(g, in_splits, out_splits, x, batch, in, y, out, bias);
  aihw_free(g);
  if (s != AIHW_OK)
    return s == AIHW_ERR_UNSUPPORTED ? aihw_error(AIHW_ERR_INTERNAL, "%s", aihw_last_error())
                                     : s;
  for (int64_t k = 0; k < K; ++k)
    tiles[k]->op_counter++;
  ++aihw_cuda_grid_forward_count;
  return AIHW_OK;
}
