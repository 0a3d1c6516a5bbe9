/* Internal state of a compound device (compound.c) and its state-file hooks
 * (compound_state.c). */
#ifndef AIHW_TILE_COMPOUND_INTERNAL_H
#define AIHW_TILE_COMPOUND_INTERNAL_H

#include "aihw/compound.h"
#include "tile/tile_internal.h"

/* Transfers use op counters from here on (compound.c, "Random numbers"). */
#define AIHW_COMPOUND_TRANSFER_OPS (UINT64_C(1) << 47)

typedef struct aihw_compound {
  aihw_compound_params params; /* validated copy */
  int n;
  aihw_device_state *dev[AIHW_COMPOUND_MAX_DEVICES];
  float *w[AIHW_COMPOUND_MAX_DEVICES]; /* visible weights of each sub-device */
  float gamma[AIHW_COMPOUND_MAX_DEVICES];
  int fully_hidden;   /* transfer: visible weights = last device's */
  int transfer;       /* TransferCompound or BufferedTransferCompound */
  float granularity;  /* mean of the sub-devices' granularities */
  int64_t update_count;
  int current_device;
  int64_t current_slice[AIHW_COMPOUND_MAX_DEVICES];
  int64_t transfers[AIHW_COMPOUND_MAX_DEVICES];
  uint64_t transfer_ops;
  float transfer_every[AIHW_COMPOUND_MAX_DEVICES];
  float transfer_lr[AIHW_COMPOUND_MAX_DEVICES];
  int64_t n_reads;
  aihw_periphery read; /* transfer reads (BM and NM off) */
  float *buffer[AIHW_COMPOUND_MAX_DEVICES]; /* Buffered/Chopped H_k, k < n - 1 */
  /* ChoppedTransfer (compound_chopped.c) */
  int chopped;
  int64_t n_slices, n_out;  /* transfer slices (cols; rows for row transfers), read length */
  unsigned char *in_chop;  /* [n_slices] 1 = sign flipped */
  unsigned char *out_chop; /* [n_out] */
  float m_x, m_d;          /* auto_scale running maxima */
  int64_t transfer_counter;
  int64_t auto_every;      /* transfer_every < 0: vectors between transfers */
  float bg;                /* buffer granularity */
  /* DynamicTransferCompound (AGAD, compound_dynamic.c); chopped is set too */
  int dynamic;
  float *running_mean, *past_mean; /* [rows][cols] */
  unsigned char *chop_switched;    /* [cols] 1 = the column's in-chopper just flipped */
  /* OneSidedUnitCell (compound_onesided.c) */
  int one_sided;
  int64_t refresh_count;     /* elements refreshed so far */
  aihw_periphery refresh;    /* refresh reads (refresh_forward) */
  /* MixedPrecisionCompound (compound_mixed.c) */
  int mixed;
  float *chi;                /* digital rank-update accumulator [rows][cols] */
  int64_t current_row;
  float mp_granularity;      /* transfer granularity */
  /* Drift during training of each sub-device (compound_ops.c; NULL until the first) */
  float *drift_w0[AIHW_COMPOUND_MAX_DEVICES], *drift_prev[AIHW_COMPOUND_MAX_DEVICES];
  double *drift_t[AIHW_COMPOUND_MAX_DEVICES];
  double drift_now[AIHW_COMPOUND_MAX_DEVICES];
} aihw_compound;

/* Visible weights from the sub-devices: W = sum_k gamma_k W_k (k ascending), or the last
 * device's weights when fully hidden. */
void aihw_compound_reduce(aihw_tile *tile);

/* ChoppedTransfer pieces (compound_chopped.c). Fast update of samples [b0, b1) of a batch
 * of `batch` into device 0 with the choppers' signs and the count learning rate (auto_scale
 * updates m_x, m_d per sample first). */
aihw_status aihw_chopped_fast_update(aihw_tile *tile, const float *x, const float *d,
                                     int64_t b0, int64_t b1, int64_t batch, float lr,
                                     uint64_t op0);
/* Buffer step of slice `col` (a column, or a row for row transfers) from its read
 * a[n_out]: writes d = v[n_out] for the transfer update, returns 1 if any element is
 * non-zero. The buffer element of (slice, output o) is aihw_chopped_index(). */
static inline int64_t aihw_chopped_index(const aihw_compound *c, int64_t cols, int64_t slice,
                                         int64_t o) {
  return c->params.transfer_columns ? o * cols + slice : slice * cols + o;
}
int aihw_chopped_buffer(aihw_tile *tile, const float *a, int64_t col, float lr, float *v);
/* Chopper flips after the transfer of column `col` (stream op of that transfer). */
void aihw_chopped_after_transfer(aihw_tile *tile, int64_t col, uint64_t op);
/* Initialises the chopped fields at creation (buffers allocated by the caller). */
aihw_status aihw_chopped_init(aihw_tile *tile);
/* Count (fast) learning rate of a chopped / dynamic compound (compound_chopped.c). */
float aihw_chopped_count_lr(const aihw_tile *tile, float lr);

/* Systematic draws of the refresh read periphery (transfer reads use 32). */
enum { AIHW_COMPOUND_SYSTEMATIC_REFRESH = 48 };
/* Transfer / refresh op counter of the next read (compound.c; checks exhaustion). */
aihw_status aihw_compound_next_ops(aihw_compound *c, int64_t n, uint64_t *op);
/* Reads a = W x for one-hot rows x [n][cols] of `w` through periphery `pe` (perfect:
 * exact), a [n][rows] (compound.c). */
aihw_status aihw_compound_read(aihw_tile *tile, aihw_periphery *pe, const float *w,
                               const float *x, int64_t n, float *a, uint64_t op);
/* The array sub-device k's physics acts on (persistent under write noise). */
float *aihw_compound_device_weights(aihw_compound *c, int k);
/* Clips sub-device k to its bounds and redraws its visible weights (write noise). */
aihw_status aihw_compound_settle(aihw_tile *tile, int k, uint64_t op, int write_noise);

/* OneSidedUnitCell (compound_onesided.c). */
aihw_status aihw_onesided_init(aihw_tile *tile);
void aihw_onesided_set_weights(aihw_tile *tile, const float *w);
aihw_status aihw_onesided_update(aihw_tile *tile, const float *x, int64_t batch,
                                 const float *d, float lr);

/* MixedPrecisionCompound (compound_mixed.c). */
aihw_status aihw_mixed_init(aihw_tile *tile);
aihw_status aihw_mixed_update(aihw_tile *tile, const float *x, int64_t batch, const float *d,
                              float lr);

/* DynamicTransferCompound (compound_dynamic.c). */
aihw_status aihw_dynamic_init(aihw_tile *tile);
/* Buffer step of column `col` (as aihw_chopped_buffer); returns 1 if the transfer update
 * is to be applied. */
int aihw_dynamic_buffer(aihw_tile *tile, const float *a, int64_t col, float lr, float *v);
void aihw_dynamic_after_transfer(aihw_tile *tile, int64_t col, uint64_t op);

#endif
