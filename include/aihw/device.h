/* Resistive device models of analog tiles (reference §5.1–5.9): what one pulse does to a
 * cross-point's weight, and how devices differ from each other (device-to-device, "dtod")
 * and from pulse to pulse (cycle-to-cycle, "ctoc").
 *
 * aihw_device_params is one flat struct for every single-device model; `type` selects the
 * model and which fields apply (the others are ignored, not validated and not written to
 * or read from JSON; they hold the default of the class they come from). Field and
 * JSON names are those of aihwkit's device dataclasses; defaults are aihwkit's Python
 * defaults of the respective class (e.g. gamma_up is 0 for LinearStepDevice but 12.44625
 * for ExpStepDevice). Weights are in the tile's units; step sizes are absolute.
 */
#ifndef AIHW_DEVICE_H
#define AIHW_DEVICE_H

#include "aihw/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Device models. JSON "type" = aihwkit class name (in parentheses). Append-only. */
typedef enum aihw_device_type {
  AIHW_DEVICE_IDEAL = 0,                 /* IdealDevice: exact update, no bounds */
  AIHW_DEVICE_CONSTANT_STEP = 1,         /* ConstantStepDevice */
  AIHW_DEVICE_LINEAR_STEP = 2,           /* LinearStepDevice */
  AIHW_DEVICE_SOFT_BOUNDS = 3,           /* SoftBoundsDevice */
  AIHW_DEVICE_SOFT_BOUNDS_PMAX = 4,      /* SoftBoundsPmaxDevice */
  AIHW_DEVICE_SOFT_BOUNDS_REFERENCE = 5, /* SoftBoundsReferenceDevice */
  AIHW_DEVICE_EXP_STEP = 6,              /* ExpStepDevice */
  AIHW_DEVICE_POW_STEP = 7,              /* PowStepDevice */
  AIHW_DEVICE_POW_STEP_REFERENCE = 8,    /* PowStepReferenceDevice */
  AIHW_DEVICE_PIECEWISE_STEP = 9,        /* PiecewiseStepDevice */
  AIHW_DEVICE_FLOATING_POINT = 10        /* FloatingPointDevice (floating-point tiles) */
} aihw_device_type;

#define AIHW_DEVICE_TYPE_COUNT 11
/* Most nodes of a PiecewiseStepDevice response. */
#define AIHW_PIECEWISE_MAX 64

/* Power-law conductance drift during training (aihwkit DriftParameter, §5.9). nu = 0: off.
 * For FloatingPointDevice only nu, t_0 and reset_tol apply (SimpleDriftParameter). */
typedef struct aihw_drift_params {
  float nu;          /* drift exponent, 0 */
  float t_0;         /* time unit of the drift calls, 1 */
  float reset_tol;   /* weight change that restarts the drift clock, 1e-7 */
  float nu_dtod;     /* relative dtod spread of nu, 0 */
  float nu_std;      /* relative ctoc spread of nu, 0 */
  float wg_ratio;    /* weight per conductance unit, 1 */
  float g_offset;    /* conductance offset, 0 */
  float w_offset;    /* weight offset, 0 */
  float nu_k;        /* conductance dependence of nu, 0 */
  float log_g0;      /* reference log-conductance of nu_k, 0 */
  float w_noise_std; /* read noise added after each drift call, 0 */
} aihw_drift_params;

typedef struct aihw_device_params {
  aihw_device_type type;

  /* PulsedDevice (every model except IDEAL and FLOATING_POINT) */
  uint32_t construction_seed;   /* seed of the dtod draws, 0 (aihw: 0 is an ordinary seed) */
  float dw_min;                 /* mean step size, 0.001 */
  float dw_min_dtod;            /* relative dtod spread of the step size, 0.3 */
  int dw_min_dtod_log_normal;   /* log-normal instead of normal step spread, 0 */
  float dw_min_std;             /* relative ctoc noise of each step, 0.3 */
  float up_down;                /* systematic up/down asymmetry, 0 */
  float up_down_dtod;           /* its dtod spread, 0.01 */
  float w_max, w_min;           /* mean bounds, 0.6 / -0.6 (w_min <= 0 <= w_max) */
  float w_max_dtod, w_min_dtod; /* relative dtod spreads of the bounds, 0.3 / 0.3 */
  int enforce_consistency;      /* non-negative steps, max_bound >= 0 >= min_bound, 1 */
  int perfect_bias;             /* last weight column (analog bias) is ideal, 0 */
  float corrupt_devices_prob;   /* probability that a device is stuck, 0 */
  float corrupt_devices_range;  /* stuck values drawn from +-range, 0.1 */
  float lifetime, lifetime_dtod;   /* decay time constant in decay calls (0 = none), 0 / 0 */
  float diffusion, diffusion_dtod; /* Gaussian diffusion per diffusion call, 0 / 0 */
  float reset, reset_dtod, reset_std; /* reset value, its dtod (additive) and ctoc, 0/0/0.01 */
  int count_pulses;             /* keep per-weight pulse counters, 0 */
  float write_noise_std;        /* write noise in units of dw_min (not ConstantStep), 0 */
  int apply_write_noise_on_set; /* also apply write noise when weights are set, 1 */
  aihw_drift_params drift;      /* drift during training, off */

  /* LinearStepDevice (gamma_* also ExpStepDevice, with other meaning and defaults) */
  float gamma_up, gamma_down;           /* LinearStep 0 / 0; ExpStep 12.44625 / 12.78785 */
  float gamma_up_dtod, gamma_down_dtod; /* LinearStep 0.05 / 0.05 */
  int allow_increasing;                 /* LinearStep 0 */
  int mean_bound_reference;             /* LinearStep 1 */
  int mult_noise;                       /* LinearStep/SoftBounds 1, SoftBoundsReference 0 */
  int reverse_up, reverse_down;         /* LinearStep/SoftBounds 0 / 0 */
  float reverse_offset;                 /* LinearStep/SoftBounds 0.01 */

  /* SoftBoundsPmaxDevice: w_min, w_max, dw_min and up_down are derived from these at tile
   * construction (§5.5); the struct's own w_min, w_max, dw_min, up_down are ignored and
   * are not JSON fields of this type. */
  float p_max;                 /* 1000 */
  float alpha;                 /* 0.0005 */
  float range_min, range_max;  /* -1 / 1 */

  /* ExpStepDevice */
  float A_up, A_down;                    /* 0.00081 / 0.36833 */
  float a, b;                            /* 0.244 / 0.2425 */
  float dw_min_std_add, dw_min_std_slope; /* 0 / 0 */

  /* PowStepDevice, PowStepReferenceDevice */
  float pow_gamma, pow_gamma_dtod;     /* 1 / 0.1 */
  float pow_up_down, pow_up_down_dtod; /* 0 / 0 */

  /* SoftBoundsReferenceDevice, PowStepReferenceDevice */
  float reference_mean, reference_std; /* 0 / 0 */
  int subtract_symmetry_point;         /* 0 */
  int n_estimation_steps;              /* PowStepReference: -1 = automatic */
  float slope_up_dtod, slope_down_dtod; /* SoftBoundsReference 0 / 0 */
  /* [aihw] 1: reproduce aihwkit's PowStepReference NaN jump to bmin - ref (§5.7); 0: the
   * step is 0 beyond the bound. */
  int pow_step_reference_nan_quirk;

  /* PiecewiseStepDevice: relative step size at piecewise_n equidistant weight nodes */
  int piecewise_n;                          /* number of nodes, 1 */
  float piecewise_up[AIHW_PIECEWISE_MAX];   /* [1] */
  float piecewise_down[AIHW_PIECEWISE_MAX]; /* [1] */
} aihw_device_params;

/* aihwkit's Python defaults of the class `type`. Fields that do not belong to the class
 * hold the default of the class they come from (e.g. LinearStep's gamma_up_dtod 0.05 in
 * a ConstantStepDevice), so the result is the same for every call. An out-of-range type
 * gives those neutral defaults with that type, which validation rejects. */
AIHW_API aihw_device_params aihw_device_params_default(aihw_device_type type);

/* A device by name: a model class name ("SoftBoundsDevice", defaults) or a device preset
 * of aihwkit (§8.1: "ReRamESPresetDevice", "ReRamSBPresetDevice", "CapacitorPresetDevice",
 * "EcRamPresetDevice", "EcRamMOPresetDevice", "IdealizedPresetDevice",
 * "GokmenVlasovPresetDevice", "PCMPresetDevice", "ReRamArrayOMPresetDevice",
 * "ReRamArrayHfO2PresetDevice"). Presets are the JSON files of configs/devices/, compiled
 * into the library. Unknown names: INVALID_ARGUMENT listing every valid name. */
AIHW_API aihw_status aihw_device_params_preset(const char *name, aihw_device_params *out);

/* Comma-separated list of every name aihw_device_params_preset() accepts. Static. */
AIHW_API const char *aihw_device_preset_names(void);

/* Checks the fields that apply to params->type; the message names the field (prefixed by
 * `what.`, drift fields by `what.drift.`, nodes as `piecewise_up[k]`) and its allowed
 * range. NaN/Inf in a float that applies: AIHW_ERR_NOT_FINITE; otherwise
 * AIHW_ERR_INVALID_ARGUMENT for: type out of range; dw_min <= 0 (pulsed types);
 * w_min > 0 or w_max < 0; a *_dtod, *_std, lifetime, diffusion or
 * corrupt_devices_range < 0; corrupt_devices_prob outside [0, 1]; LinearStep gamma_up or
 * gamma_down < 0 without allow_increasing; pow_gamma <= 0; piecewise_n outside
 * [1, AIHW_PIECEWISE_MAX] or a node < 0; SoftBoundsPmax p_max or alpha <= 0,
 * range_min >= range_max, range_min > 0 or derived w_max < 0; drift t_0 <= 0,
 * wg_ratio <= 0, reset_tol < 0; booleans not 0/1. */
AIHW_API aihw_status aihw_device_params_validate(const aihw_device_params *params,
                                                 const char *what);

/* JSON object {"type": "<class name>", <fields of that type>...}; drift as a nested
 * object "drift" (FloatingPointDevice: only nu, t_0, reset_tol); piecewise_up and
 * piecewise_down as arrays of the same length 1..AIHW_PIECEWISE_MAX (that length is
 * piecewise_n); construction_seed as an integer 0..4294967295; booleans as true/false
 * (0/1 accepted on input); floats with the fewest digits that read back exactly.
 * Reading starts from the defaults of the given "type" (required), so absent fields take
 * that class's defaults; keys that do not belong to the type are FORMAT errors naming
 * the key and the type; aihwkit compound classes ("TransferCompound", ...) are
 * UNSUPPORTED. The result is validated. *params unchanged on error. to_json writes only
 * valid parameters; *json_out is malloc'ed, freed by the caller with free(). */
AIHW_API aihw_status aihw_device_params_to_json(const aihw_device_params *params,
                                                char **json_out);
AIHW_API aihw_status aihw_device_params_from_json(const char *json,
                                                  aihw_device_params *params);

/* aihwkit class name of a type ("ConstantStepDevice"), NULL if out of range. */
AIHW_API const char *aihw_device_type_name(aihw_device_type type);
/* Inverse of aihw_device_type_name; INVALID_ARGUMENT listing the names if unknown. */
AIHW_API aihw_status aihw_device_type_from_name(const char *name, aihw_device_type *type);

/* Weight granularity g (the step size update management assumes) and number of states
 * (w_max - w_min) / g of the mean device, per model (§5.4–5.8). */
AIHW_API aihw_status aihw_device_params_granularity(const aihw_device_params *params,
                                                    float *granularity, float *n_states);

#ifdef __cplusplus
}
#endif
#endif
