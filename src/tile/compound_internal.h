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
  unsigned char *in_chop;  /* [cols] 1 = sign flipped */
  unsigned char *out_chop; /* [rows] */
  float m_x, m_d;          /* auto_scale running maxima */
  int64_t transfer_counter;
  int64_t auto_every;      /* transfer_every < 0: vectors between transfers */
  float bg;                /* buffer granularity */
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
/* Buffer step of column `col` from its read a[rows]: writes d = v[rows] for the transfer
 * update, returns 1 if any element is non-zero. */
int aihw_chopped_buffer(aihw_tile *tile, const float *a, int64_t col, float lr, float *v);
/* Chopper flips after the transfer of column `col` (stream op of that transfer). */
void aihw_chopped_after_transfer(aihw_tile *tile, int64_t col, uint64_t op);
/* Initialises the chopped fields at creation (buffers allocated by the caller). */
aihw_status aihw_chopped_init(aihw_tile *tile);

#endif
