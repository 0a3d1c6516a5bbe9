/* Pulsed-update parameters of an analog tile (reference §4.1): how x and d become
 * stochastic pulse trains and how many coincidences drive the devices. Field and JSON
 * names are those of aihwkit's `UpdateParameters`, with its Python defaults.
 *
 * Policy (docs/physics.md): `res`, `x_res_implicit` and `d_res_implicit` > 1 mean "number
 * of steps" (1/r), as for the IO resolutions; aihwkit ignores that conversion (Appendix A
 * item 2), which `res_steps_quirk` restores.
 */
#ifndef AIHW_UPDATE_PARAMS_H
#define AIHW_UPDATE_PARAMS_H

#include "aihw/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* aihwkit PulseType. Append-only. */
typedef enum aihw_pulse_type {
  AIHW_PULSE_NONE = 0,                  /* floating-point update W -= lr d x^T, no device */
  AIHW_PULSE_STOCHASTIC_COMPRESSED = 1, /* default: stochastic pulse trains, coincidences */
  AIHW_PULSE_STOCHASTIC = 2,            /* same statistics as STOCHASTIC_COMPRESSED */
  AIHW_PULSE_NONE_WITH_DEVICE = 3,      /* floating-point update, then device bounds */
  AIHW_PULSE_MEAN_COUNT = 4,            /* deterministic counts from mean pulse numbers */
  AIHW_PULSE_DETERMINISTIC_IMPLICIT = 5 /* deterministic counts from quantised products */
} aihw_pulse_type;

/* Longest pulse train desired_bl may ask for. aihwkit has no hard limit, but a BL beyond
 * a few hundred is a typo rather than a request; 1024 leaves room for BL sweeps. */
#define AIHW_UPDATE_MAX_BL 1024

typedef struct aihw_update_params {
  int desired_bl;            /* (maximal) pulse-train length BL, default 31, 1..1024 */
  int fixed_bl;              /* keep BL = desired_bl, default 1 */
  aihw_pulse_type pulse_type; /* default STOCHASTIC_COMPRESSED */
  float res;                 /* probability quantisation step (0 = off; > 1 = steps) */
  float x_res_implicit;      /* DETERMINISTIC_IMPLICIT quantisation of x (0 = off) */
  float d_res_implicit;      /* DETERMINISTIC_IMPLICIT quantisation of d (0 = off) */
  int d_sparsity;            /* record the fraction of zero d pulses (diagnostics), 0 */
  int sto_round;             /* stochastic rounding of quantised probabilities, 0 */
  int update_bl_management;  /* per-sample BL from the expected coincidences, 1 */
  int update_management;     /* balance the x and d probabilities, 1 */
  float um_grad_scale;       /* scale of d in update management, 1 */
  float um_reg_scale;        /* accepted for compatibility; unused by aihwkit's CPU, 1 */
  int res_steps_quirk;       /* [aihw] 1: res > 1 is not inverted (aihwkit behaviour), 0 */
} aihw_update_params;

/* aihwkit's `UpdateParameters()` defaults. */
AIHW_API aihw_update_params aihw_update_params_default(void);

/* Presets by aihwkit name: "UpdateParameters" (defaults), "PresetUpdateParameters"
 * (desired_bl 31, STOCHASTIC_COMPRESSED, UBLM and UM on). Unknown names are
 * INVALID_ARGUMENT listing the known ones; *out unchanged on error. */
AIHW_API aihw_status aihw_update_params_preset(const char *name, aihw_update_params *out);

/* Checks every field; the message names the field (prefixed by `what.`) and its range:
 * desired_bl in [1, AIHW_UPDATE_MAX_BL]; res, x_res_implicit, d_res_implicit >= 0;
 * um_grad_scale > 0; booleans 0/1; pulse_type a member. NaN/Inf: AIHW_ERR_NOT_FINITE,
 * other violations AIHW_ERR_INVALID_ARGUMENT. */
AIHW_API aihw_status aihw_update_params_validate(const aihw_update_params *params,
                                                 const char *what);

/* JSON with aihwkit's field names; enums by Python member name ("STOCHASTIC_COMPRESSED").
 * Same conventions as aihw_io_params_to_json / _from_json (io_params.h). */
AIHW_API aihw_status aihw_update_params_to_json(const aihw_update_params *params,
                                                char **json_out);
AIHW_API aihw_status aihw_update_params_from_json(const char *json,
                                                  aihw_update_params *params);

AIHW_API const char *aihw_pulse_type_name(aihw_pulse_type v);

#ifdef __cplusplus
}
#endif
#endif
