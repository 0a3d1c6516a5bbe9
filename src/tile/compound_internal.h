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
  float *buffer[AIHW_COMPOUND_MAX_DEVICES]; /* BufferedTransfer H_k, k < n - 1 */
} aihw_compound;

/* Visible weights from the sub-devices: W = sum_k gamma_k W_k (k ascending), or the last
 * device's weights when fully hidden. */
void aihw_compound_reduce(aihw_tile *tile);

#endif
