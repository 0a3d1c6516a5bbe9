/* The analog periphery of one direction of a tile (forward or backward): derived
 * parameters (§3.2), systematic per-output values drawn at construction, and the
 * batched IO-managed matrix-vector product with noise and bound management (§3.4–3.10).
 *
 * Shapes: the tile's weight matrix is W[rows][cols]. Forward maps vectors of length cols
 * to length rows (y = W u); backward maps length rows to length cols (z = W^T u).
 */
#ifndef AIHW_TILE_PERIPHERY_H
#define AIHW_TILE_PERIPHERY_H

#include <stdint.h>

#include "aihw/io_params.h"

typedef struct aihw_periphery {
  aihw_io_params io;      /* validated copy of the user's parameters */
  int transposed;         /* 0: forward (y = W u), 1: backward (z = W^T u) */
  int perfect;            /* is_perfect or mv_type IDEAL: exact product */
  int64_t in_len;         /* length of the input vector of this direction */
  int64_t out_len;        /* length of the output vector */
  float inp_res;          /* effective DAC step (<= 0: no quantisation) */
  float out_res;          /* effective ADC step */
  float inp_bound;        /* effective DAC bound (INFINITY when off) */
  float out_bound;        /* effective ADC bound */
  float nm_thres;         /* 0 when noise management is NONE */
  aihw_bound_management bm; /* NONE for the backward pass */
  float bm_red_limit;     /* max_bm_res / inp_res when inp_res > 0, else INFINITY */
  float *out_noise_sigma; /* [out_len] per-output out_noise (out_noise_std > 0), or NULL */
  float *v_offset;        /* [out_len] voltage offsets when active, or NULL */
  float *nl;              /* [out_len] non-linearity strengths (NL calibration), or NULL */
  float nl_factor;        /* slope calibration factor (1 if off) */
  float *w_asymmetry;     /* [rows][cols] read asymmetry factors a_ij, or NULL */
  float nm_running;       /* AVERAGE_ABS_MAX running value, -1 before the first vector */
} aihw_periphery;

/* Validates `io` (field names prefixed by `what`), derives parameters and draws the
 * systematic values from the tile's stream (op counter 0, purpose SYSTEMATIC,
 * `systematic_base` + k as round). On error nothing is allocated. */
aihw_status aihw_periphery_init(aihw_periphery *p, const aihw_io_params *io, int transposed,
                                int64_t rows, int64_t cols, uint32_t seed, uint32_t tile_id,
                                uint32_t systematic_base, const char *what);

void aihw_periphery_free(aihw_periphery *p);

/* Scratch memory reused between calls (owned by the tile). */
typedef struct aihw_workspace {
  void *data;
  size_t bytes;
} aihw_workspace;

/* Returns at least `bytes` of scratch (64-byte aligned), or NULL with OUT_OF_MEMORY set. */
void *aihw_workspace_get(aihw_workspace *ws, size_t bytes);
void aihw_workspace_free(aihw_workspace *ws);

/* Everything one periphery call needs from the tile. */
typedef struct aihw_mv_call {
  const float *w;         /* W[rows][cols] */
  const float *w_abs;     /* |W| (needed for IR drop and PCM_READ noise), or NULL */
  int64_t rows, cols;
  const float *x;         /* input rows [batch][x_cols]; elements >= x_cols read as 1.0 */
  int64_t x_cols;         /* <= in_len (in_len - 1 when an analog bias input is appended) */
  float *y;               /* output rows [batch][y_cols]; outputs >= y_cols are dropped */
  int64_t y_cols;         /* <= out_len */
  int64_t batch;
  float alpha;            /* digital output scale of the tile (fwd_alpha / bwd_alpha) */
  uint32_t seed, tile_id;
  uint64_t op_counter;    /* the call's position in the tile's streams */
  int *rounds;            /* optional [batch]: number of analog passes per sample */
} aihw_mv_call;

/* Runs the batched MVM through the periphery `p`. The input must already be checked
 * finite. Updates p->nm_running (AVERAGE_ABS_MAX). */
aihw_status aihw_periphery_mv(aihw_periphery *p, const aihw_mv_call *call,
                              aihw_workspace *ws);

/* Exact product y = alpha * op(W) x (FLOATING_POINT tiles and is_perfect periphery). */
aihw_status aihw_exact_mv(const aihw_mv_call *call, int transposed, aihw_workspace *ws);

#endif
