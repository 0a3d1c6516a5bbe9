/* Per-cross-point state of the devices of one tile (hidden parameters, reference §1.5,
 * §5.2) and the registry of device models.
 *
 * Storage is structure-of-arrays, each array [rows][cols] like the weights. The common
 * arrays exist for every pulsed model; `extra` holds the model's own per-device values
 * (LinearStep/SoftBounds: slope_up, slope_down; PowStep: gamma_up, gamma_down;
 * SoftBoundsReference: reference; PowStepReference: gamma_up, gamma_down, reference).
 * Hidden-parameter names and order follow aihwkit: max_bound, min_bound, dwmin_up,
 * dwmin_down, decay_scales, diffusion_rates, reset_bias, drift_nu, [persistent_weights],
 * extras.
 */
#ifndef AIHW_DEVICES_DEVICE_STATE_H
#define AIHW_DEVICES_DEVICE_STATE_H

#include <stdint.h>

#include "aihw/device.h"
#include "core/philox.h"

#define AIHW_DEVICE_MAX_EXTRA 3

typedef struct aihw_device_state {
  aihw_device_params params; /* validated copy; SoftBoundsPmax already resolved */
  int64_t rows, cols, size;  /* size = rows * cols */
  float *max_bound;          /* upper bound of each device */
  float *min_bound;          /* lower bound */
  float *scale_up;           /* absolute up-step size ("dwmin_up") */
  float *scale_down;         /* absolute down-step size ("dwmin_down"), positive */
  float *decay_scale;        /* 1 - 1/lifetime_ij, 1 = no decay ("decay_scales") */
  float *diffusion_rate;     /* std of one diffusion call ("diffusion_rates") */
  float *reset_bias;         /* value a reset returns to ("reset_bias") */
  float *drift_nu;           /* drift exponent, 0 = no drift ("drift_nu") */
  float *persistent;         /* true weights under write noise, or NULL */
  float *extra[AIHW_DEVICE_MAX_EXTRA]; /* model-specific arrays, see file comment */
  float granularity;         /* weight granularity g of the mean device (update management) */
  uint32_t tile_id;          /* second key word of the dtod stream */
  uint32_t dtod_round_base;  /* added to the dtod rounds (sub-device k of a compound: 32 k) */
} aihw_device_state;

/* Philox rounds (sub-streams) of the device-to-device draws at construction, stream
 * key = (construction_seed, tile_id), op counter 0, purpose AIHW_RNG_DEVICE_DTOD; row =
 * weight row i, element = column j. Models use AIHW_DTOD_MODEL + k. */
enum {
  AIHW_DTOD_W_MAX = 0,
  AIHW_DTOD_W_MIN = 1,
  AIHW_DTOD_GAIN = 2,
  AIHW_DTOD_UP_DOWN = 3,
  AIHW_DTOD_CORRUPT = 4,
  AIHW_DTOD_CORRUPT_VALUE = 5,
  AIHW_DTOD_DIFFUSION = 6,
  AIHW_DTOD_RESET = 7,
  AIHW_DTOD_LIFETIME = 8,
  AIHW_DTOD_DRIFT_NU = 9,
  AIHW_DTOD_MODEL = 16
};

/* One device model: everything that differs between models besides the step rule. */
typedef struct aihw_device_model {
  aihw_device_type type;
  const char *name;                        /* aihwkit class name */
  int n_extra;                             /* number of extra hidden arrays */
  const char *extra_names[AIHW_DEVICE_MAX_EXTRA];
  int has_write_noise;                     /* model supports write_noise_std */
  /* Draws the model's own dtod values into s->extra[] (already allocated) after the common
   * populate; may adjust the common arrays (e.g. SoftBoundsReference rescales bounds).
   * Stream: key (construction_seed, tile_id), purpose AIHW_RNG_DEVICE_DTOD, rounds
   * AIHW_DTOD_MODEL + k. Returns OUT_OF_MEMORY if scratch allocation fails. NULL if the
   * model has nothing to draw. */
  aihw_status (*populate_extra)(aihw_device_state *s);
  /* Granularity g of the mean device (§5.4–5.8). */
  float (*granularity)(const aihw_device_params *p);
} aihw_device_model;

/* Registry lookup; NULL for IDEAL, FLOATING_POINT and out-of-range types. */
const aihw_device_model *aihw_device_model_of(aihw_device_type type);

/* Fills out[cols] with the standard normals (uniforms in [0, 1)) of dtod sub-stream
 * `round` for weight row `row`, from key (construction_seed, tile_id). */
void aihw_dtod_normals(const aihw_device_state *s, uint32_t round, int64_t row, float *out);
void aihw_dtod_uniforms(const aihw_device_state *s, uint32_t round, int64_t row, float *out);

/* Allocates the state of a rows x cols tile of devices `params` (validated here) and draws
 * every device-to-device value (§5.2, then the model's populate_extra). */
aihw_status aihw_device_state_create(const aihw_device_params *params, int64_t rows,
                                     int64_t cols, uint32_t tile_id, aihw_device_state **out);
/* The same for sub-device k of a compound: its dtod rounds are offset by 32 k, so that
 * sub-devices with equal parameters still differ (aihwkit draws them in sequence). */
aihw_status aihw_device_state_create_sub(const aihw_device_params *params, int64_t rows,
                                         int64_t cols, uint32_t tile_id, int k,
                                         aihw_device_state **out);
void aihw_device_state_destroy(aihw_device_state *s);

#endif
