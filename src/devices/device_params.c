/* Device parameters: type names, aihwkit's Python defaults of every single-device class
 * (reference §5.1–5.9), the device presets of §8.1 (JSON files of configs/devices/,
 * compiled in by cmake/embed_configs.cmake), and validation.
 *
 * One table (aihw_device_fields, device_params_table.h) lists every field with its JSON
 * name, kind, range and the set of types it belongs to; validation and JSON
 * (device_params_json.c) walk it. Defaults are built in two steps: first every field gets
 * the default of the class it comes from (a "neutral" value, so that a field that does
 * not apply still holds something sensible), then the type's own differences are applied
 * (ExpStep's gamma_*, SoftBoundsReference's mult_noise). Validation never changes the
 * struct and looks only at the fields of params->type.
 */
#include "aihw/device.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "devices/device_params_table.h"
#include "embedded_device_presets.h" /* generated: embedded_device_preset_{names,jsons} */

#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

_Static_assert(sizeof(aihw_device_type) == sizeof(int), "enum must have the size of int");
_Static_assert(sizeof(float) == 4 && sizeof(int) == 4 && sizeof(uint32_t) == 4,
               "device fields are 4 bytes each");

/* ---- type names --------------------------------------------------------------------- */

static const char *const type_names[AIHW_DEVICE_TYPE_COUNT] = {
    "IdealDevice",         "ConstantStepDevice",   "LinearStepDevice",
    "SoftBoundsDevice",    "SoftBoundsPmaxDevice", "SoftBoundsReferenceDevice",
    "ExpStepDevice",       "PowStepDevice",        "PowStepReferenceDevice",
    "PiecewiseStepDevice", "FloatingPointDevice"};

AIHW_API const char *aihw_device_type_name(aihw_device_type type) {
  int i = (int)type;
  return i >= 0 && i < AIHW_DEVICE_TYPE_COUNT ? type_names[i] : NULL;
}

AIHW_API aihw_status aihw_device_type_from_name(const char *name, aihw_device_type *type) {
  if (name == NULL || type == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_device_type_from_name: %s is NULL",
                      name == NULL ? "name" : "type");
  for (int i = 0; i < AIHW_DEVICE_TYPE_COUNT; ++i) {
    if (strcmp(name, type_names[i]) == 0) {
      *type = (aihw_device_type)i;
      return AIHW_OK;
    }
  }
  return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "unknown device type '%s' (known: %s)", name,
                    AIHW_DEVICE_TYPE_LIST);
}

/* ---- field table -------------------------------------------------------------------- */

#define BIT(t) AIHW_DEVICE_BIT(AIHW_DEVICE_##t)
#define ALL_TYPES ((1u << AIHW_DEVICE_TYPE_COUNT) - 1u)
/* PulsedDevice and its subclasses: everything but IdealDevice and FloatingPointDevice. */
#define PULSED (ALL_TYPES & ~BIT(IDEAL) & ~BIT(FLOATING_POINT))
/* SoftBoundsPmaxDevice derives these four from p_max, alpha, range_min, range_max (§5.5). */
#define PULSED_NOT_PMAX (PULSED & ~BIT(SOFT_BOUNDS_PMAX))
/* Classes with write_noise_std / apply_write_noise_on_set (§5.1): not ConstantStep, not
 * PowStepReference. */
#define WRITE_NOISE                                                                           \
  (BIT(LINEAR_STEP) | BIT(SOFT_BOUNDS) | BIT(SOFT_BOUNDS_PMAX) | BIT(SOFT_BOUNDS_REFERENCE) | \
   BIT(EXP_STEP) | BIT(POW_STEP) | BIT(PIECEWISE_STEP))
#define SOFT_BOUNDS_FAMILY (BIT(LINEAR_STEP) | BIT(SOFT_BOUNDS) | BIT(SOFT_BOUNDS_PMAX))
#define REFERENCE (BIT(SOFT_BOUNDS_REFERENCE) | BIT(POW_STEP_REFERENCE))
#define POW (BIT(POW_STEP) | BIT(POW_STEP_REFERENCE))

#define F(f, kind, rule, types) \
  { #f, DEVICE_FIELD_##kind, offsetof(aihw_device_params, f), DEVICE_RULE_##rule, types }

/* Where aihwkit is silent the range chosen here is the physically meaningful one: a
 * spread (dtod, std) below 0 is a sign error, not a request. */
const device_field aihw_device_fields[] = {
    /* IdealDevice has construction_seed, diffusion, lifetime, reset_std (§5.1). */
    F(construction_seed, SEED, NONE, PULSED | BIT(IDEAL)),
    /* A zero or negative mean step would make every update a no-op or reversed. */
    F(dw_min, FLOAT, POSITIVE, PULSED_NOT_PMAX),
    F(dw_min_dtod, FLOAT, NONNEG, PULSED),
    F(dw_min_dtod_log_normal, BOOL, NONE, PULSED),
    F(dw_min_std, FLOAT, NONNEG, PULSED),
    F(up_down, FLOAT, FINITE, PULSED_NOT_PMAX),
    F(up_down_dtod, FLOAT, NONNEG, PULSED),
    /* w_min <= 0 <= w_max is checked with both (aihwkit aborts otherwise, §5.1). */
    F(w_max, FLOAT, FINITE, PULSED_NOT_PMAX),
    F(w_min, FLOAT, FINITE, PULSED_NOT_PMAX),
    F(w_max_dtod, FLOAT, NONNEG, PULSED),
    F(w_min_dtod, FLOAT, NONNEG, PULSED),
    F(enforce_consistency, BOOL, NONE, PULSED),
    F(perfect_bias, BOOL, NONE, PULSED),
    F(corrupt_devices_prob, FLOAT, UNIT, PULSED),
    /* Used as |range| by aihwkit (§5.2); we reject the sign error instead. */
    F(corrupt_devices_range, FLOAT, NONNEG, PULSED),
    F(lifetime, FLOAT, NONNEG, PULSED | BIT(IDEAL) | BIT(FLOATING_POINT)),
    F(lifetime_dtod, FLOAT, NONNEG, PULSED),
    F(diffusion, FLOAT, NONNEG, PULSED | BIT(IDEAL) | BIT(FLOATING_POINT)),
    F(diffusion_dtod, FLOAT, NONNEG, PULSED),
    F(reset, FLOAT, FINITE, PULSED),
    F(reset_dtod, FLOAT, NONNEG, PULSED),
    F(reset_std, FLOAT, NONNEG, PULSED | BIT(IDEAL)),
    F(count_pulses, BOOL, NONE, PULSED),
    F(write_noise_std, FLOAT, NONNEG, WRITE_NOISE),
    F(apply_write_noise_on_set, BOOL, NONE, WRITE_NOISE),
    F(drift, DRIFT, NONE, PULSED | BIT(FLOATING_POINT)),
    /* LinearStep: gamma >= 0 unless allow_increasing (checked with both); ExpStep: the
     * exponent rates of its exponential response, any finite value (§5.6). */
    F(gamma_up, FLOAT, FINITE, BIT(LINEAR_STEP) | BIT(EXP_STEP)),
    F(gamma_down, FLOAT, FINITE, BIT(LINEAR_STEP) | BIT(EXP_STEP)),
    F(gamma_up_dtod, FLOAT, NONNEG, BIT(LINEAR_STEP)),
    F(gamma_down_dtod, FLOAT, NONNEG, BIT(LINEAR_STEP)),
    F(allow_increasing, BOOL, NONE, BIT(LINEAR_STEP)),
    F(mean_bound_reference, BOOL, NONE, BIT(LINEAR_STEP)),
    F(mult_noise, BOOL, NONE, SOFT_BOUNDS_FAMILY | BIT(SOFT_BOUNDS_REFERENCE)),
    F(reverse_up, BOOL, NONE, SOFT_BOUNDS_FAMILY),
    F(reverse_down, BOOL, NONE, SOFT_BOUNDS_FAMILY),
    F(reverse_offset, FLOAT, FINITE, SOFT_BOUNDS_FAMILY),
    /* b = (range_max - range_min) / (1 - exp(-p_max alpha)) needs p_max alpha > 0. */
    F(p_max, FLOAT, POSITIVE, BIT(SOFT_BOUNDS_PMAX)),
    F(alpha, FLOAT, POSITIVE, BIT(SOFT_BOUNDS_PMAX)),
    F(range_min, FLOAT, FINITE, BIT(SOFT_BOUNDS_PMAX)),
    F(range_max, FLOAT, FINITE, BIT(SOFT_BOUNDS_PMAX)),
    /* ExpStep: presets use negative A and a (PCM: A_up -27.235, a -1), so any finite. */
    F(A_up, FLOAT, FINITE, BIT(EXP_STEP)),
    F(A_down, FLOAT, FINITE, BIT(EXP_STEP)),
    F(a, FLOAT, FINITE, BIT(EXP_STEP)),
    F(b, FLOAT, FINITE, BIT(EXP_STEP)),
    F(dw_min_std_add, FLOAT, FINITE, BIT(EXP_STEP)),
    F(dw_min_std_slope, FLOAT, FINITE, BIT(EXP_STEP)),
    /* A base in [0, 1] raised to pow_gamma <= 0 would not shrink towards the bound. */
    F(pow_gamma, FLOAT, POSITIVE, POW),
    F(pow_gamma_dtod, FLOAT, NONNEG, POW),
    F(pow_up_down, FLOAT, FINITE, POW),
    F(pow_up_down_dtod, FLOAT, NONNEG, POW),
    F(reference_mean, FLOAT, FINITE, REFERENCE),
    F(reference_std, FLOAT, NONNEG, REFERENCE),
    F(subtract_symmetry_point, BOOL, NONE, REFERENCE),
    /* <= 0 means "automatic" (§5.7), so every integer has a meaning. */
    F(n_estimation_steps, INT, NONE, BIT(POW_STEP_REFERENCE)),
    F(slope_up_dtod, FLOAT, NONNEG, BIT(SOFT_BOUNDS_REFERENCE)),
    F(slope_down_dtod, FLOAT, NONNEG, BIT(SOFT_BOUNDS_REFERENCE)),
    F(pow_step_reference_nan_quirk, BOOL, NONE, BIT(POW_STEP_REFERENCE)),
    /* Relative step sizes: a negative node would reverse the pulse direction. */
    F(piecewise_up, NODES, NONNEG, BIT(PIECEWISE_STEP)),
    F(piecewise_down, NODES, NONNEG, BIT(PIECEWISE_STEP)),
};
const int aihw_device_field_count = COUNT_OF(aihw_device_fields);
_Static_assert(COUNT_OF(aihw_device_fields) <= AIHW_DEVICE_FIELD_MAX,
               "raise AIHW_DEVICE_FIELD_MAX");

/* Table size in bytes of the fields it covers; with `type` and `piecewise_n` it must be
 * the whole struct, so a struct field missing from the table fails to compile. */
#define SCALAR_FIELDS (COUNT_OF(aihw_device_fields) - 3) /* all but drift and the nodes */
_Static_assert(SCALAR_FIELDS * 4 + sizeof(aihw_drift_params) +
                       2 * AIHW_PIECEWISE_MAX * sizeof(float) + 2 * 4 ==
                   sizeof(aihw_device_params),
               "aihw_device_fields must list every field of aihw_device_params");

#define D(f, rule, types) \
  { #f, DEVICE_FIELD_FLOAT, offsetof(aihw_drift_params, f), DEVICE_RULE_##rule, types }
/* FloatingPointDevice uses aihwkit's SimpleDriftParameter: nu, t_0, reset_tol only. */
#define SIMPLE_DRIFT (PULSED | BIT(FLOATING_POINT))

const device_field aihw_drift_fields[] = {
    /* nu = 0 switches drift off; a negative exponent (growing conductance) is allowed. */
    D(nu, FINITE, SIMPLE_DRIFT),
    /* Divides the elapsed time (§5.9). */
    D(t_0, POSITIVE, SIMPLE_DRIFT),
    D(reset_tol, NONNEG, SIMPLE_DRIFT),
    D(nu_dtod, NONNEG, PULSED),
    D(nu_std, NONNEG, PULSED),
    /* Divides (w - w_offset) inside the log of the nu_k term (§5.9). */
    D(wg_ratio, POSITIVE, PULSED),
    D(g_offset, FINITE, PULSED),
    D(w_offset, FINITE, PULSED),
    D(nu_k, FINITE, PULSED),
    D(log_g0, FINITE, PULSED),
    D(w_noise_std, NONNEG, PULSED),
};
const int aihw_drift_field_count = COUNT_OF(aihw_drift_fields);
_Static_assert(COUNT_OF(aihw_drift_fields) <= AIHW_DRIFT_FIELD_MAX,
               "raise AIHW_DRIFT_FIELD_MAX");

_Static_assert(COUNT_OF(aihw_drift_fields) * 4 == sizeof(aihw_drift_params),
               "aihw_drift_fields must list every field of aihw_drift_params");

const char *aihw_device_rule_text(device_range_rule rule) {
  switch (rule) {
  case DEVICE_RULE_FINITE: return "must be finite";
  case DEVICE_RULE_NONNEG: return "must be >= 0";
  case DEVICE_RULE_POSITIVE: return "must be > 0";
  case DEVICE_RULE_UNIT: return "must be in [0, 1]";
  case DEVICE_RULE_NONE: break;
  }
  return "";
}

/* ---- defaults ----------------------------------------------------------------------- */

static aihw_drift_params drift_default(void) {
  aihw_drift_params d;
  memset(&d, 0, sizeof d);
  d.nu = 0.0f; /* off */
  d.t_0 = 1.0f;
  d.reset_tol = (float)1e-7;
  d.nu_dtod = 0.0f;
  d.nu_std = 0.0f;
  d.wg_ratio = 1.0f;
  d.g_offset = 0.0f;
  d.w_offset = 0.0f;
  d.nu_k = 0.0f;
  d.log_g0 = 0.0f;
  d.w_noise_std = 0.0f;
  return d;
}

/* Every field at the default of the class it comes from (§5.1, §5.5–5.9). */
static aihw_device_params neutral_defaults(void) {
  aihw_device_params p;
  memset(&p, 0, sizeof p);
  /* PulsedDevice (§5.1) */
  p.construction_seed = 0;
  p.dw_min = (float)0.001;
  p.dw_min_dtod = (float)0.3;
  p.dw_min_dtod_log_normal = 0;
  p.dw_min_std = (float)0.3;
  p.up_down = 0.0f;
  p.up_down_dtod = (float)0.01;
  p.w_max = (float)0.6;
  p.w_min = (float)-0.6;
  p.w_max_dtod = (float)0.3;
  p.w_min_dtod = (float)0.3;
  p.enforce_consistency = 1; /* Python default; C++ has false */
  p.perfect_bias = 0;
  p.corrupt_devices_prob = 0.0f;
  p.corrupt_devices_range = (float)0.1;
  p.lifetime = 0.0f;
  p.lifetime_dtod = 0.0f;
  p.diffusion = 0.0f;
  p.diffusion_dtod = 0.0f;
  p.reset = 0.0f;
  p.reset_dtod = 0.0f;
  p.reset_std = (float)0.01; /* Python default; C++ has 0 */
  p.count_pulses = 0;
  p.write_noise_std = 0.0f;
  p.apply_write_noise_on_set = 1;
  p.drift = drift_default();
  /* LinearStepDevice (§5.5) */
  p.gamma_up = 0.0f;
  p.gamma_down = 0.0f;
  p.gamma_up_dtod = (float)0.05;
  p.gamma_down_dtod = (float)0.05;
  p.allow_increasing = 0;
  p.mean_bound_reference = 1;
  p.mult_noise = 1;
  p.reverse_up = 0;
  p.reverse_down = 0;
  p.reverse_offset = (float)0.01;
  /* SoftBoundsPmaxDevice (§5.5) */
  p.p_max = 1000.0f;
  p.alpha = (float)0.0005;
  p.range_min = -1.0f;
  p.range_max = 1.0f;
  /* ExpStepDevice (§5.6); its gamma_* are set per type below */
  p.A_up = (float)0.00081;
  p.A_down = (float)0.36833;
  p.a = (float)0.244;
  p.b = (float)0.2425;
  p.dw_min_std_add = 0.0f;
  p.dw_min_std_slope = 0.0f;
  /* PowStepDevice (§5.7) */
  p.pow_gamma = 1.0f;
  p.pow_gamma_dtod = (float)0.1;
  p.pow_up_down = 0.0f;
  p.pow_up_down_dtod = 0.0f;
  /* SoftBoundsReferenceDevice, PowStepReferenceDevice (§5.7, §5.8b) */
  p.reference_mean = 0.0f;
  p.reference_std = 0.0f;
  p.subtract_symmetry_point = 0;
  p.n_estimation_steps = -1;
  p.slope_up_dtod = 0.0f;
  p.slope_down_dtod = 0.0f;
  p.pow_step_reference_nan_quirk = 0;
  /* PiecewiseStepDevice (§5.8): one node, constant step; unused nodes stay 0 */
  p.piecewise_n = 1;
  p.piecewise_up[0] = 1.0f;
  p.piecewise_down[0] = 1.0f;
  return p;
}

AIHW_API aihw_device_params aihw_device_params_default(aihw_device_type type) {
  aihw_device_params p = neutral_defaults();
  p.type = type;
  switch (type) {
  case AIHW_DEVICE_EXP_STEP:
    p.gamma_up = (float)12.44625;
    p.gamma_down = (float)12.78785;
    break;
  case AIHW_DEVICE_SOFT_BOUNDS_REFERENCE: p.mult_noise = 0; break;
  /* SoftBounds(Pmax): gamma 1 and per-device bounds are implied by the type (§5.5). The
   * other classes are fully described by the neutral defaults. */
  case AIHW_DEVICE_IDEAL:
  case AIHW_DEVICE_CONSTANT_STEP:
  case AIHW_DEVICE_LINEAR_STEP:
  case AIHW_DEVICE_SOFT_BOUNDS:
  case AIHW_DEVICE_SOFT_BOUNDS_PMAX:
  case AIHW_DEVICE_POW_STEP:
  case AIHW_DEVICE_POW_STEP_REFERENCE:
  case AIHW_DEVICE_PIECEWISE_STEP:
  case AIHW_DEVICE_FLOATING_POINT: break;
  }
  return p;
}

/* ---- presets ------------------------------------------------------------------------ */

AIHW_API const char *aihw_device_preset_names(void) {
  return AIHW_DEVICE_TYPE_LIST ", " EMBEDDED_DEVICE_PRESET_LIST;
}

AIHW_API aihw_status aihw_device_params_preset(const char *name, aihw_device_params *out) {
  if (name == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_device_params_preset: %s is NULL",
                      name == NULL ? "name" : "out");
  for (int i = 0; i < AIHW_DEVICE_TYPE_COUNT; ++i) {
    if (strcmp(name, type_names[i]) == 0) {
      *out = aihw_device_params_default((aihw_device_type)i);
      return AIHW_OK;
    }
  }
  for (int i = 0; i < EMBEDDED_DEVICE_PRESET_COUNT; ++i) {
    if (strcmp(name, embedded_device_preset_names[i]) != 0)
      continue;
    aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
    aihw_status s = aihw_device_params_from_json(embedded_device_preset_jsons[i], &p);
    if (s != AIHW_OK) /* the build embeds only files the tests load: a bug if reached */
      return aihw_error(AIHW_ERR_INTERNAL, "device preset '%s' (configs/devices/%s.json): %s",
                        name, name, aihw_last_error());
    *out = p;
    return AIHW_OK;
  }
  return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "unknown device '%s' (known: %s)", name,
                    aihw_device_preset_names());
}

/* ---- validation --------------------------------------------------------------------- */

/* "device.w_min", "device.drift.t_0" or "w_min". */
static const char *field_label(const char *what, const char *group, const char *name, char *buf,
                               size_t size) {
  snprintf(buf, size, "%s%s%s%s%s", what != NULL ? what : "", what != NULL ? "." : "",
           group != NULL ? group : "", group != NULL ? "." : "", name);
  return buf;
}

static float get_float(const void *base, size_t offset) {
  float v;
  memcpy(&v, (const char *)base + offset, sizeof v);
  return v;
}

static int get_int(const void *base, size_t offset) {
  int v;
  memcpy(&v, (const char *)base + offset, sizeof v);
  return v;
}

static int float_in_range(float v, device_range_rule rule) {
  switch (rule) {
  case DEVICE_RULE_NONNEG: return v >= 0.0f;
  case DEVICE_RULE_POSITIVE: return v > 0.0f;
  case DEVICE_RULE_UNIT: return v >= 0.0f && v <= 1.0f;
  case DEVICE_RULE_FINITE:
  case DEVICE_RULE_NONE: return 1;
  }
  return 0;
}

/* Checks one float: NOT_FINITE first, then its range. */
static aihw_status check_float(float v, device_range_rule rule, const char *what,
                               const char *group, const char *name) {
  char label[160];
  if (!isfinite(v))
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s = %g: must be finite",
                      field_label(what, group, name, label, sizeof label), (double)v);
  if (!float_in_range(v, rule))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %.9g: %s",
                      field_label(what, group, name, label, sizeof label), (double)v,
                      aihw_device_rule_text(rule));
  return AIHW_OK;
}

/* The first piecewise_n nodes of one array (piecewise_n already checked). */
static aihw_status check_nodes(const aihw_device_params *p, const device_field *f,
                               device_range_rule rule, const char *what) {
  const float *nodes = (const float *)(const void *)((const char *)p + f->offset);
  for (int k = 0; k < p->piecewise_n; ++k) {
    char name[64];
    snprintf(name, sizeof name, "%s[%d]", f->name, k);
    AIHW_TRY(check_float(nodes[k], rule, what, NULL, name));
  }
  return AIHW_OK;
}

static aihw_status check_field(const aihw_device_params *p, const device_field *f,
                               const char *what, int pass) {
  char label[160];
  unsigned bit = AIHW_DEVICE_BIT(p->type);
  switch (f->kind) {
  case DEVICE_FIELD_FLOAT: {
    float v = get_float(p, f->offset);
    /* pass 0: finiteness of every float, so that NaN is NOT_FINITE whatever its field */
    return check_float(v, pass == 0 ? DEVICE_RULE_FINITE : f->rule, what, NULL, f->name);
  }
  case DEVICE_FIELD_BOOL: {
    int v = get_int(p, f->offset);
    if (pass == 1 && v != 0 && v != 1)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %d: must be 0 or 1",
                        field_label(what, NULL, f->name, label, sizeof label), v);
    return AIHW_OK;
  }
  case DEVICE_FIELD_INT:
  case DEVICE_FIELD_SEED: return AIHW_OK;
  case DEVICE_FIELD_NODES:
    return check_nodes(p, f, pass == 0 ? DEVICE_RULE_FINITE : f->rule, what);
  case DEVICE_FIELD_DRIFT:
    for (int i = 0; i < aihw_drift_field_count; ++i) {
      const device_field *d = &aihw_drift_fields[i];
      if (d->types & bit)
        AIHW_TRY(check_float(get_float(&p->drift, d->offset),
                             pass == 0 ? DEVICE_RULE_FINITE : d->rule, what, "drift", d->name));
    }
    return AIHW_OK;
  }
  return aihw_error(AIHW_ERR_INTERNAL, "device_params: bad field kind");
}

/* Rules that involve more than one field. */
static aihw_status check_relations(const aihw_device_params *p, const char *what) {
  char label[160];
  unsigned bit = AIHW_DEVICE_BIT(p->type);
  if (bit & PULSED_NOT_PMAX) {
    /* §5.1: aihwkit aborts unless [w_min, w_max] contains 0. */
    if (!(p->w_min <= 0.0f))
      return aihw_error(
          AIHW_ERR_INVALID_ARGUMENT, "%s = %.9g: must be <= 0 ([w_min, w_max] must contain 0)",
          field_label(what, NULL, "w_min", label, sizeof label), (double)p->w_min);
    if (!(p->w_max >= 0.0f))
      return aihw_error(
          AIHW_ERR_INVALID_ARGUMENT, "%s = %.9g: must be >= 0 ([w_min, w_max] must contain 0)",
          field_label(what, NULL, "w_max", label, sizeof label), (double)p->w_max);
  }
  if (p->type == AIHW_DEVICE_LINEAR_STEP && !p->allow_increasing) {
    /* Without allow_increasing aihwkit takes |gamma| (§5.5): a negative value cannot be
     * what was meant. */
    if (p->gamma_up < 0.0f)
      return aihw_error(
          AIHW_ERR_INVALID_ARGUMENT, "%s = %.9g: must be >= 0 unless allow_increasing",
          field_label(what, NULL, "gamma_up", label, sizeof label), (double)p->gamma_up);
    if (p->gamma_down < 0.0f)
      return aihw_error(
          AIHW_ERR_INVALID_ARGUMENT, "%s = %.9g: must be >= 0 unless allow_increasing",
          field_label(what, NULL, "gamma_down", label, sizeof label), (double)p->gamma_down);
  }
  if ((p->type == AIHW_DEVICE_LINEAR_STEP || p->type == AIHW_DEVICE_SOFT_BOUNDS ||
       p->type == AIHW_DEVICE_SOFT_BOUNDS_PMAX) &&
      (p->reverse_up || p->reverse_down) && !p->mult_noise)
    /* aihwkit: reverse_up/down require mult_noise (§5.5). */
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = 0: must be 1 when %s is set",
                      field_label(what, NULL, "mult_noise", label, sizeof label),
                      p->reverse_up ? "reverse_up" : "reverse_down");
  if (p->type == AIHW_DEVICE_SOFT_BOUNDS_PMAX) {
    /* The derived w_min = range_min must be <= 0 and w_max = range_min + b >= 0 (§5.5). */
    if (!(p->range_min < p->range_max))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %.9g: must be < range_max = %.9g",
                        field_label(what, NULL, "range_min", label, sizeof label),
                        (double)p->range_min, (double)p->range_max);
    if (!(p->range_min <= 0.0f))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s = %.9g: must be <= 0 (it is the device's w_min, and [w_min, "
                        "w_max] must contain 0)",
                        field_label(what, NULL, "range_min", label, sizeof label),
                        (double)p->range_min);
    double b = ((double)p->range_max - (double)p->range_min) /
               -expm1(-(double)p->p_max * (double)p->alpha);
    if (!((float)b < INFINITY && (float)(b * (double)p->alpha) > 0.0f))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s = %.9g: p_max * alpha = %.9g is too small or large for the "
                        "derived bounds and step size to be finite and non-zero",
                        field_label(what, NULL, "alpha", label, sizeof label), (double)p->alpha,
                        (double)p->p_max * (double)p->alpha);
    if (!((double)p->range_min + b >= 0.0))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s = %.9g: the derived w_max = range_min + b = %.9g must be >= 0",
                        field_label(what, NULL, "range_max", label, sizeof label),
                        (double)p->range_max, (double)p->range_min + b);
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_device_params_validate(const aihw_device_params *params,
                                                 const char *what) {
  char label[160];
  if (params == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_device_params_validate: params is NULL");
  if (aihw_device_type_name(params->type) == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %d: must be one of %s (0..%d)",
                      field_label(what, NULL, "type", label, sizeof label), (int)params->type,
                      AIHW_DEVICE_TYPE_LIST, AIHW_DEVICE_TYPE_COUNT - 1);
  unsigned bit = AIHW_DEVICE_BIT(params->type);
  if (bit & BIT(PIECEWISE_STEP)) {
    int n = params->piecewise_n;
    if (n < 1 || n > AIHW_PIECEWISE_MAX)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %d: must be in [1, %d]",
                        field_label(what, NULL, "piecewise_n", label, sizeof label), n,
                        AIHW_PIECEWISE_MAX);
  }
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < aihw_device_field_count; ++i)
      if (aihw_device_fields[i].types & bit)
        AIHW_TRY(check_field(params, &aihw_device_fields[i], what, pass));
  return check_relations(params, what);
}
