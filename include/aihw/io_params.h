/* IO (periphery) parameters of an analog tile: DAC, ADC, noise, bounds, non-idealities.
 *
 * One aihw_io_params describes one direction of a tile (forward or backward). The fields
 * and their JSON names are those of aihwkit's `IOParameters` dataclass
 * (reference §3.1), with aihwkit's Python defaults. Resolutions follow aihwkit's
 * convention: a value r > 1 means "r steps" (the step is then 1/r of the range); r <= 0
 * switches quantisation off. Bounds <= 0 mean "no bound". All amounts are in the tile's
 * normalised units (inputs scaled into [-inp_bound, inp_bound] by noise management).
 *
 * The struct is plain data: fill it with aihw_io_params_default() or a preset, change
 * fields, then let aihw_io_params_validate() (called by every consumer) check it.
 * Fields marked [aihw] are not in aihwkit's Python dataclass: either aihwkit C++-only
 * constants exposed here, or switches that restore an aihwkit quirk (docs/physics.md).
 */
#ifndef AIHW_IO_PARAMS_H
#define AIHW_IO_PARAMS_H

#include "aihw/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the analog matrix-vector product is carried out (aihwkit AnalogMVType). */
typedef enum aihw_mv_type {
  AIHW_MV_IDEAL = 0,    /* exact product, same as is_perfect */
  AIHW_MV_ONE_PASS = 1, /* one analog pass over positive and negative inputs */
  AIHW_MV_POS_NEG_SEPARATE = 2,           /* negative inputs, then positive, summed in analog */
  AIHW_MV_POS_NEG_SEPARATE_DIGITAL_SUM = 3 /* two passes, each through the ADC, summed digitally */
} aihw_mv_type;

/* Bound management: repeat saturated MVMs with reduced input (aihwkit BoundManagementType). */
typedef enum aihw_bound_management {
  AIHW_BM_NONE = 0,
  AIHW_BM_ITERATIVE = 1,           /* halve the input until no output saturates */
  AIHW_BM_ITERATIVE_WORST_CASE = 2 /* second round uses the worst-case (NP-sum) factor */
} aihw_bound_management;

/* Noise management: per-sample input scaling factor (aihwkit NoiseManagementType). */
typedef enum aihw_noise_management {
  AIHW_NM_NONE = 0,
  AIHW_NM_ABS_MAX = 1,
  AIHW_NM_ABS_MAX_NP_SUM = 2,
  AIHW_NM_MAX = 3,
  AIHW_NM_CONSTANT = 4,
  AIHW_NM_AVERAGE_ABS_MAX = 5
} aihw_noise_management;

/* Output-referred weight read noise (aihwkit WeightNoiseType). */
typedef enum aihw_w_noise_type {
  AIHW_W_NOISE_NONE = 0,
  AIHW_W_NOISE_ADDITIVE_CONSTANT = 1, /* std w_noise * ||u||_2 per output */
  AIHW_W_NOISE_PCM_READ = 2           /* std w_noise * sqrt(sum_j |w_ij| u_j^2) */
} aihw_w_noise_type;

typedef struct aihw_io_params {
  int is_perfect;              /* 1: exact product times out_scale*alpha; rest ignored */
  aihw_mv_type mv_type;        /* default ONE_PASS */
  float inp_bound;             /* DAC range +-inp_bound; <=0 = none; must be 1 with NM */
  float inp_res;               /* DAC step as a fraction of 2*inp_bound, or >1 = steps */
  int inp_sto_round;           /* stochastic rounding in the DAC */
  float inp_noise;             /* std of Gaussian noise added after the DAC */
  float inp_asymmetry;         /* negative inputs scaled by (1 - inp_asymmetry) */
  float out_bound;             /* ADC range +-out_bound; <=0 = none (and no ADC steps) */
  float out_res;               /* ADC step as a fraction of 2*out_bound, or >1 = steps */
  int out_sto_round;           /* stochastic rounding in the ADC */
  float out_noise;             /* std of Gaussian noise added before the ADC */
  float out_noise_std;         /* output-to-output spread of out_noise (drawn once) */
  float out_scale;             /* fixed digital output scale */
  float out_asymmetry;         /* negative outputs scaled by (1 - out_asymmetry) */
  aihw_bound_management bound_management; /* default ITERATIVE; backward forces NONE */
  aihw_noise_management noise_management; /* default ABS_MAX */
  float nm_thres;              /* CONSTANT: the factor; otherwise a cap if > 0 */
  float nm_assumed_wmax;       /* [aihw] assumed max weight of ABS_MAX_NP_SUM, 0.6 */
  float nm_decay;              /* [aihw] AVERAGE_ABS_MAX running-average rate, 1e-3 */
  int max_bm_factor;           /* BM stops when the reduction exceeds this, 1000 */
  float max_bm_res;            /* BM stops when reduction > max_bm_res / DAC step, 0.25 */
  int bm_test_negative_bound;  /* negative saturation also triggers BM, default 1 */
  aihw_w_noise_type w_noise_type; /* default NONE */
  float w_noise;               /* weight read-noise strength */
  float ir_drop;               /* IR-drop scale, 0 = off */
  float ir_drop_g_ratio;       /* wire conductance / g_max, 1/0.35/5e-6 */
  float out_nonlinearity;      /* S-shaped output non-linearity strength */
  float out_nonlinearity_std;  /* its output-to-output spread */
  float slope_calibration;     /* output level where the NL slope is calibrated to 1 */
  float v_offset_std;          /* systematic voltage-offset spread per output */
  float v_offset_w_min;        /* weight of the implicit reference device, -1 */
  float r_series;              /* series resistance (fraction of output current) */
  float r_series_max_total;    /* [aihw] cap of the r_series correction, FLT_MAX */
  float w_read_asymmetry_dtod; /* polarity read dependence (POS_NEG_SEPARATE only) */
  /* [aihw] 1: reproduce aihwkit's order-dependent test when bm_test_negative_bound is
   * off (a negative saturation resets the "passed" flag, reference §3.8 quirk). */
  int bm_negative_bound_quirk;
  /* [aihw] 1: draw voltage offsets as aihwkit does (0 with probability 1/2, otherwise a
   * fresh N(0, v_offset_std^2) of either sign: a double-evaluated MAX macro, reference §3.2
   * quirk); 0 (default): the intended half-normal max(v_offset_std xi, 0). */
  int v_offset_quirk;
} aihw_io_params;

/* aihwkit's `IOParameters()` defaults. */
AIHW_API aihw_io_params aihw_io_params_default(void);

/* Fills *out with a named preset and returns AIHW_OK, or AIHW_ERR_INVALID_ARGUMENT
 * naming the known presets. Names (aihwkit class names): "IOParameters",
 * "PresetIOParameters", "StandardIOParameters", "PerfectIOParameters" (is_perfect). */
AIHW_API aihw_status aihw_io_params_preset(const char *name, aihw_io_params *out);

/* Checks every field. On failure returns AIHW_ERR_INVALID_ARGUMENT (or
 * AIHW_ERR_NOT_FINITE for NaN/Inf) with a message naming the field and its allowed range,
 * e.g. "forward.inp_bound = 2: must be 1 when noise_management is not NONE".
 * `what` prefixes field names in the message ("forward", "backward"); may be NULL.
 * Ranges: every float finite (r_series_max_total may also be +inf); bounds, resolutions,
 * out_scale and v_offset_w_min any finite value; noises, stds, strengths, nm_thres,
 * ir_drop, out_nonlinearity, slope_calibration, r_series, r_series_max_total,
 * w_read_asymmetry_dtod >= 0; inp/out_asymmetry in [0, 1]; nm_assumed_wmax, max_bm_res,
 * ir_drop_g_ratio > 0; nm_decay in (0, 1]; max_bm_factor >= 1; booleans 0 or 1; enums
 * in range. Unless is_perfect or mv_type IDEAL: inp_bound == 1 when noise_management is
 * not NONE (reference §3.2). NaN/Inf are reported before range errors. Never changes
 * *params; thread-safe. */
AIHW_API aihw_status aihw_io_params_validate(const aihw_io_params *params, const char *what);

/* Serialises to a JSON object with aihwkit's field names; enums by their Python member
 * names ("ABS_MAX"), booleans as true/false, each float in the fewest decimal digits that
 * read back to the same float32 (so to_json/from_json round-trips bit-exactly); +inf
 * (r_series_max_total only) is written as 1e999. *json_out is allocated with malloc; the
 * caller frees it with free(). The parameters must pass aihw_io_params_validate(), whose
 * status is returned otherwise; AIHW_ERR_OUT_OF_MEMORY if an allocation fails. On any
 * failure *json_out is set to NULL (if json_out is not NULL). */
AIHW_API aihw_status aihw_io_params_to_json(const aihw_io_params *params, char **json_out);

/* Parses a JSON object. Fields absent from the JSON keep the value *params had on entry
 * (start from aihw_io_params_default() for aihwkit semantics). Enums may be given by
 * member name ("ABS_MAX") or by aihwkit's Enum value ("AbsMax"); booleans as true/false
 * or 0/1; max_bm_factor as an integral number in int range. Syntax errors (with the byte
 * position), a non-object, unknown or duplicate keys, wrong types and unknown enum names
 * are AIHW_ERR_FORMAT naming the key; aihwkit enum members aihw does not implement
 * (mv_type SPLIT_MODE, BIT_WISE; bound_management SHIFT) are AIHW_ERR_UNSUPPORTED. The
 * result is then validated (aihw_io_params_validate's statuses). On failure *params is
 * unchanged. */
AIHW_API aihw_status aihw_io_params_from_json(const char *json, aihw_io_params *params);

/* Name of an enum value as used in JSON ("ONE_PASS"), or NULL if out of range. */
AIHW_API const char *aihw_mv_type_name(aihw_mv_type v);
AIHW_API const char *aihw_bound_management_name(aihw_bound_management v);
AIHW_API const char *aihw_noise_management_name(aihw_noise_management v);
AIHW_API const char *aihw_w_noise_type_name(aihw_w_noise_type v);

#ifdef __cplusplus
}
#endif
#endif
