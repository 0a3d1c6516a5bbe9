/* Private layout of a LINEAR layer (linear.c), shared with its digital periphery around
 * the tiles (linear_hwa.c: learned output scales, input ranges, output-bound masks). */
#ifndef AIHW_NN_LINEAR_INTERNAL_H
#define AIHW_NN_LINEAR_INTERNAL_H

#include "nn/digital_internal.h"

struct aihw_linear_hwa; /* linear_hwa.c */

struct aihw_linear_state {
  aihw_tile_kind tile_kind;
  aihw_mapping_params mapping;
  int has_bias;
  int analog_bias; /* bias is the tiles' trailing column (single tile only) */
  int64_t in_splits, out_splits;
  int64_t *in_sizes, *in_starts, *out_sizes, *out_starts; /* one allocation */
  int64_t max_in_block, max_out_block;
  aihw_tile **tiles;           /* [in_index * out_splits + out_index] */
  float *bias;                 /* digital bias [out] (bias_param.value), NULL otherwise */
  aihw_nn_param bias_param;    /* the digital bias with its momentum buffer */
  aihw_nn_buffer acc_x, acc_d; /* accumulated rows [acc_rows][in], [acc_rows][out] */
  int64_t acc_rows;
  aihw_nn_buffer work_a, work_b, work_sum; /* gather / scatter workspaces */
  struct aihw_linear_hwa *hwa; /* digital periphery state (linear_hwa.c), never NULL */
};

static inline aihw_tile *grid_tile(const aihw_linear_state *s, int64_t r, int64_t c) {
  return s->tiles[r * s->out_splits + c];
}

static inline int64_t tile_count(const aihw_linear_state *s) { return s->in_splits * s->out_splits; }

/* ---- digital periphery (linear_hwa.c) ---------------------------------------------------- */

/* Shared by the plain step (linear.c) and the HWA step (linear_hwa.c): one tile's update
 * with d [rows][n_out] (scaled in place by the §4.7 learning-rate compensation when on;
 * needs s->work_sum of n_out floats); the digital bias's SGD step from the accumulated
 * gradients (g: out floats of scratch), which also clears them; every tile's post-update
 * step. */
aihw_status aihw_linear_update_tile(aihw_linear_state *s, aihw_tile *tile, const float *x,
                                    int64_t rows, int64_t n_in, float *d, int64_t n_out,
                                    float lr, int lr_compensation);
void aihw_linear_step_bias(aihw_module *m, const aihw_sgd_params *sgd, float *g);
aihw_status aihw_linear_post_update(aihw_linear_state *s);

/* Allocates s->hwa for a new layer (after its splits and tiles exist): the learned output
 * scales (1), the input ranges (init_value) and the output bound of the tiles' forward
 * IO (out_scale out_bound 0.999 for ANALOG / INFERENCE tiles with out_bound > 0). */
aihw_status aihw_linear_hwa_init(aihw_module *m, const aihw_tile_config *config);
void aihw_linear_hwa_free(struct aihw_linear_hwa *h);
/* 1 when learned scales or input ranges are on: forward, backward and step then take the
 * periphery path below instead of linear.c's plain loops. */
int aihw_linear_hwa_active(const aihw_linear_state *s);
aihw_status aihw_linear_hwa_forward(aihw_module *m, const float *x, int64_t batch, float *y);
aihw_status aihw_linear_hwa_backward(aihw_module *m, const float *dy, int64_t batch,
                                     float *dx);
aihw_status aihw_linear_hwa_step(aihw_module *m, const aihw_sgd_params *sgd);
/* Hooks of the plain loops: records the output-bound mask of tile (r, c) from its forward
 * output yc [batch][n_out] (r == 0 starts a new forward); returns dc [batch][n_out] with
 * the masked rows zeroed (a copy in the periphery's workspace) or dc itself. */
aihw_status aihw_linear_hwa_record_bound(aihw_module *m, int64_t r, int64_t c, const float *yc,
                                         int64_t batch);
aihw_status aihw_linear_hwa_mask_d(aihw_module *m, int64_t r, int64_t c, const float *dc,
                                   int64_t batch, const float **out);
/* 1 when the layer masks gradients at saturated tile outputs (handle_output_bound); a
 * forward that records no mask (the fused GPU grid, evaluation only) forgets the last one. */
int aihw_linear_hwa_bound_on(const aihw_linear_state *s);
void aihw_linear_hwa_forget_bound(aihw_linear_state *s);
/* set_weights resets the learned scales to 1 (aihwkit's set_scales). */
void aihw_linear_hwa_reset_alpha(aihw_linear_state *s);
/* The learned scale of row i of tile (r, c) (1 without learned scaling). */
float aihw_linear_hwa_alpha(const aihw_linear_state *s, int64_t r, int64_t c, int64_t i);
/* State tensors (P"out_scaling_alpha", P"input_range", P"input_range_update_idx" and their
 * momentum buffers) and their import plans. */
aihw_status aihw_linear_hwa_export(const aihw_module *m, struct aihw_st_dict *dict,
                                   const char *prefix);
aihw_status aihw_linear_hwa_prepare(aihw_module *m, aihw_nn_import *im, const char *prefix);
int aihw_linear_hwa_has_gradients(const aihw_linear_state *s);

#endif
