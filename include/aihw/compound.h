/* Compound devices (reference §5.10): a cross-point made of several single devices
 * ("sub-devices"), each a full pulsed device with its own weight and hidden parameters,
 * whose visible weight is the gamma-weighted sum W = sum_k gamma_k W_k, and the in-memory
 * training algorithms built on them (Tiki-Taka).
 *
 * A tile uses a compound when its configuration's `compound.type` is not
 * AIHW_COMPOUND_NONE (ANALOG tiles only); the tile's own `device` field is then ignored:
 * the sub-devices are compound.devices[0 .. n_devices-1]. Field names and defaults are
 * those of aihwkit's Python dataclasses (VectorUnitCell, ReferenceUnitCell,
 * TransferCompound, BufferedTransferCompound).
 *
 * Implemented: VectorUnitCell (all four update policies, gamma weighting),
 * ReferenceUnitCell, OneSidedUnitCell (g+ - g-, refresh), TransferCompound (Tiki-Taka
 * v1), BufferedTransferCompound (TTv2), ChoppedTransferCompound (c-TTv2),
 * DynamicTransferCompound (AGAD) and MixedPrecisionCompound (digital rank update: a
 * digital chi matrix transferred row-wise to one analog device; aihwkit's
 * DigitalRankUpdateRPUConfig is a tile configuration with this compound).
 */
#ifndef AIHW_COMPOUND_H
#define AIHW_COMPOUND_H

#include "aihw/common.h"
#include "aihw/device.h"
#include "aihw/io_params.h"
#include "aihw/update_params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Compound classes. JSON "type" = aihwkit class name (in parentheses). Append-only. */
typedef enum aihw_compound_type {
  AIHW_COMPOUND_NONE = 0,              /* single device: the tile's `device` */
  AIHW_COMPOUND_VECTOR = 1,            /* VectorUnitCell */
  AIHW_COMPOUND_REFERENCE = 2,         /* ReferenceUnitCell */
  AIHW_COMPOUND_ONE_SIDED = 3,         /* OneSidedUnitCell */
  AIHW_COMPOUND_TRANSFER = 4,          /* TransferCompound (Tiki-Taka v1) */
  AIHW_COMPOUND_BUFFERED_TRANSFER = 5, /* BufferedTransferCompound (TTv2) */
  AIHW_COMPOUND_CHOPPED_TRANSFER = 6,  /* ChoppedTransferCompound (c-TTv2) */
  AIHW_COMPOUND_DYNAMIC_TRANSFER = 7,  /* DynamicTransferCompound (AGAD, TTv4) */
  AIHW_COMPOUND_MIXED_PRECISION = 8    /* MixedPrecisionCompound */
} aihw_compound_type;

#define AIHW_COMPOUND_TYPE_COUNT 9
/* Most sub-devices of one compound. */
#define AIHW_COMPOUND_MAX_DEVICES 4

/* aihwkit VectorUnitCellUpdatePolicy: which sub-devices receive the coincidences of one
 * input vector. Append-only. */
typedef enum aihw_vector_policy {
  AIHW_VECTOR_ALL = 0,               /* every sub-device, the same coincidences */
  AIHW_VECTOR_SINGLE_FIXED = 1,      /* only sub-device first_update_idx */
  AIHW_VECTOR_SINGLE_SEQUENTIAL = 2, /* one per vector: idx = (idx + 1) mod n */
  AIHW_VECTOR_SINGLE_RANDOM = 3      /* one per vector: idx = floor(U n) */
} aihw_vector_policy;

typedef struct aihw_compound_params {
  aihw_compound_type type;
  int n_devices; /* unit_cell_devices: number used, 1..AIHW_COMPOUND_MAX_DEVICES */
  aihw_device_params devices[AIHW_COMPOUND_MAX_DEVICES]; /* pulsed models only */

  /* VectorUnitCell (ReferenceUnitCell: policy SINGLE_FIXED, gamma [1, -1], fixed) */
  aihw_vector_policy update_policy; /* ALL */
  int first_update_idx;             /* 0 */
  int n_gamma;                      /* gamma_vec length; 0 = default weighting */
  float gamma_vec[AIHW_COMPOUND_MAX_DEVICES]; /* [] (Vector: 1/n each) */

  /* TransferCompound (and BufferedTransferCompound) */
  float gamma;                   /* 0: visible weight is the last device ("fully hidden") */
  float transfer_every;          /* 1 (in mini-batches when units_in_mbatch) */
  int no_self_transfer;          /* 1 */
  int n_transfer_every;          /* transfer_every_vec length; 0 = derived */
  float transfer_every_vec[AIHW_COMPOUND_MAX_DEVICES]; /* [] */
  int units_in_mbatch;           /* 1 */
  int n_reads_per_transfer;      /* 1 (capped at the number of columns) */
  int transfer_columns;          /* 1 (0: row transfers) */
  float with_reset_prob;         /* 0 */
  int random_selection;          /* 0 */
  float fast_lr;                 /* 1 */
  float transfer_lr;             /* 1 */
  int n_transfer_lr;             /* transfer_lr_vec length; 0 = all transfer_lr */
  float transfer_lr_vec[AIHW_COMPOUND_MAX_DEVICES]; /* [] */
  int scale_transfer_lr;         /* 1 */
  int scale_fast_lr;             /* 1 (newest aihwkit; v1.1.0 behaves as 0) */
  aihw_io_params transfer_forward;   /* IOParameters(); BM and NM are forced NONE */
  aihw_update_params transfer_update; /* UpdateParameters() (Buffered: BL 1, UM/UBLM off) */

  /* BufferedTransferCompound */
  float thres_scale;  /* 1 */
  float step;         /* 1 */
  float momentum;     /* 0.1 (Chopped 0) */
  int forget_buffer;  /* 1 */

  /* ChoppedTransferCompound (c-TTv2; with in_chop_prob 0: the TTv2 presets) */
  float in_chop_prob;          /* 0.1 */
  int in_chop_random;          /* 1 */
  float out_chop_prob;         /* 0 */
  float buffer_granularity;    /* 1 */
  float auto_granularity;      /* 0 */
  int no_buffer;               /* 0 */
  int auto_scale;              /* 0 */
  float auto_momentum;         /* 0.99 */
  int correct_gradient_magnitudes; /* 0 */

  /* OneSidedUnitCell: devices[1] = g+, devices[0] = g- (W = W_1 - W_0); both of one type */
  int refresh_every;                 /* 0 = never (mini-batches when units_in_mbatch) */
  float refresh_upper_thres;         /* 0.75 */
  float refresh_lower_thres;         /* 0.25 */
  aihw_io_params refresh_forward;    /* IOParameters() (used as given, BM/NM included) */
  aihw_update_params refresh_update; /* UpdateParameters() */
  int copy_inverted;                 /* 0 */

  /* DynamicTransferCompound (AGAD; also every ChoppedTransfer field; defaults differ:
   * in_chop_random 0, momentum 0, units_in_mbatch 0, scale_fast_lr 0) */
  float tail_weightening;                /* 5 */
  float buffer_cap;                      /* 0 = no cap */
  int experimental_correct_accumulation; /* 0 */

  /* MixedPrecisionCompound: devices[0] is the analog device (aihwkit `device`);
   * transfer_every (whole mini-batches, integer, default 1) and transfer_lr (1) are the
   * shared fields above */
  int n_rows_per_transfer; /* -1 = all rows */
  int random_row;          /* 0 */
  float granularity;       /* 0 = the device's granularity */
  int n_x_bins;            /* 0 = x not quantised */
  int n_d_bins;            /* 0 = d not quantised */
  int stoc_round_x;        /* 1 */
  int stoc_round_d;        /* 1 */
} aihw_compound_params;

/* aihwkit's Python defaults of class `type` with `n_devices` copies of `device`
 * (n_devices clipped to [1, AIHW_COMPOUND_MAX_DEVICES]; ReferenceUnitCell: 2, policy
 * SINGLE_FIXED, gamma_vec [1, -1]). Fields of other classes hold their own class's
 * defaults. AIHW_COMPOUND_NONE gives the neutral defaults with n_devices 0. */
AIHW_API aihw_compound_params aihw_compound_params_default(aihw_compound_type type,
                                                          const aihw_device_params *device,
                                                          int n_devices);

/* Checks the fields of params->type; messages name the field (prefixed by `what.`) and
 * its range. NONE is valid. INVALID_ARGUMENT: type out of range; n_devices outside
 * [1, MAX] (Transfer: [2, MAX]; Reference: exactly 2); a sub-device that is not a pulsed
 * model or fails aihw_device_params_validate (message "what.devices[k]. ..."); policy out
 * of range; first_update_idx outside [0, n_devices); n_gamma not 0 or n_devices;
 * Transfer: last gamma 0, transfer_every < 0, n_transfer_every not 0 or n_devices, an
 * entry < 0, n_reads_per_transfer < 1, with_reset_prob outside [0, 1], n_transfer_lr not
 * 0 or n_devices, transfer_forward / transfer_update invalid, booleans not 0/1;
 * Buffered/Chopped: thres_scale <= 0, momentum outside [0, 1]; Chopped: exactly 2
 * devices, n_reads_per_transfer 1, no random_selection, with_reset_prob 0, chopper
 * probabilities in [0, 1], buffer_granularity and auto_granularity >= 0, auto_momentum in
 * [0, 1]. NOT_FINITE for NaN/Inf.
 * OneSided: exactly 2 devices of one type (aihwkit duplicates a single one),
 * refresh_every >= 0, thresholds finite, refresh_forward / refresh_update valid.
 * Dynamic: as Chopped, tail_weightening >= 0, buffer_cap >= 0. MixedPrecision: exactly 1
 * device, transfer_every a whole number >= 0, n_rows_per_transfer -1 or >= 1, bins >= 0.
 * UNSUPPORTED: sub-devices with count_pulses. */
AIHW_API aihw_status aihw_compound_params_validate(const aihw_compound_params *params,
                                                   const char *what);

/* JSON object {"type": "<class name>", "unit_cell_devices": [<device JSON>, ...],
 * <fields of that class>...}: aihwkit's field names; update_policy by member name
 * ("SINGLE_FIXED"); gamma_vec, transfer_every_vec and transfer_lr_vec as arrays (empty =
 * default); transfer_forward and transfer_update as nested IO / update objects;
 * booleans as true/false. Reading starts from the class defaults (absent fields keep
 * them); "type" and "unit_cell_devices" are required; keys of other classes are FORMAT
 * errors; a ReferenceUnitCell with one device duplicates it. The result is validated;
 * *params unchanged on error. NONE has no JSON form (INVALID_ARGUMENT). *json_out is
 * malloc'ed (free()). */
AIHW_API aihw_status aihw_compound_params_to_json(const aihw_compound_params *params,
                                                  char **json_out);
AIHW_API aihw_status aihw_compound_params_from_json(const char *json,
                                                    aihw_compound_params *params);

/* aihwkit class name of a type ("TransferCompound"); "" for NONE; NULL if out of range. */
AIHW_API const char *aihw_compound_type_name(aihw_compound_type type);
AIHW_API const char *aihw_vector_policy_name(aihw_vector_policy policy);

/* ---- Compound state of a tile (reference §1.5 hidden parameters) ------------------ */

typedef struct aihw_tile aihw_tile;

/* Number of sub-devices of the tile's compound, 0 for a single-device tile (-1 NULL). */
AIHW_API int aihw_tile_compound_devices(const aihw_tile *tile);

/* Weights of sub-device k ([out_size][weight_cols]; aihwkit hidden_weights_k), exact. */
AIHW_API aihw_status aihw_tile_compound_get_weights(const aihw_tile *tile, int k, float *w,
                                                    int64_t rows, int64_t cols);
/* Sets sub-device k's weights exactly (finite; clipped to its bounds) and recomputes the
 * visible weights. Unchanged on error. */
AIHW_API aihw_status aihw_tile_compound_set_weights(aihw_tile *tile, int k, const float *w,
                                                    int64_t rows, int64_t cols);
/* Buffered/Chopped/DynamicTransfer buffer H_k of from-device k (aihwkit
 * buffered_FP_weight_k), or MixedPrecision's digital chi (k = 0, aihwkit
 * hidden_weights_chi), [out_size][weight_cols]; INVALID_ARGUMENT for other compounds or k. */
AIHW_API aihw_status aihw_tile_compound_get_buffer(const aihw_tile *tile, int k, float *h,
                                                   int64_t rows, int64_t cols);

/* Counters of the compound (diagnostics and schedule tests): vectors updated so far
 * (update_count), transfers performed from device k so far and the next column each
 * from-device reads (current_slice), the sub-device the next SINGLE_* vector goes to. */
typedef struct aihw_compound_counters {
  int64_t update_count;
  int64_t transfers[AIHW_COMPOUND_MAX_DEVICES];
  int64_t current_slice[AIHW_COMPOUND_MAX_DEVICES];
  int current_device;
  int64_t transfer_counter; /* Chopped: completed sweeps over the columns */
  float m_x, m_d;           /* Chopped auto_scale: running max|x|, max|d| */
  int64_t refresh_count;    /* OneSided: elements refreshed so far */
  int64_t current_row;      /* MixedPrecision: the next row a transfer starts at */
} aihw_compound_counters;

/* DynamicTransfer (AGAD) running and past means of the transfer reads, [out][cols]. */
AIHW_API aihw_status aihw_tile_compound_get_means(const aihw_tile *tile, float *running,
                                                  float *past, int64_t rows, int64_t cols);

/* Chopped/DynamicTransfer chopper signs (+1 / -1): in[weight_cols], out[out_size]; with
 * row transfers (transfer_columns = 0) the roles swap: in[out_size] (one per row, the
 * slices), out[weight_cols]. SHAPE error for other lengths. */
AIHW_API aihw_status aihw_tile_compound_get_choppers(const aihw_tile *tile, float *in,
                                                     int64_t cols, float *out, int64_t rows);
AIHW_API aihw_status aihw_tile_compound_get_counters(const aihw_tile *tile,
                                                     aihw_compound_counters *counters);

#ifdef __cplusplus
}
#endif
#endif
