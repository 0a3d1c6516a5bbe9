/* Inference parameters: aihwkit's defaults of InferenceRPUConfig's noise model, conductance
 * converter, drift compensation, weight clip, remap and modifier (reference §6.1–6.6), and
 * validation of every field. JSON lives in inference_params_json.c; both walk the field
 * tables defined here (inference_params_table.h).
 *
 * Defaults where aihwkit has none (its constructors require the argument): f_lst of
 * NPairConductanceConverter {1, 2, 3} and of DualPair {1, 3} (aihwkit example 32 and
 * tests), CustomPair f_lst {1} with g_lst {{0, 0, 25}, {25, 0, 0}} (which reproduces
 * SinglePair), CustomDriftPCMLikeNoiseModel's table g {0, 10, 25} uS, nu mean {0.08, 0.05,
 * 0.03}, nu std {0.03, 0.02, 0.01} (aihwkit's example and test). A field that a type does
 * not have keeps a neutral value, so that changing only `type` gives a usable object.
 *
 * Invariants: validation never changes the struct; it checks finiteness of every float of
 * the fields in use first (AIHW_ERR_NOT_FINITE), then ranges, then the rules between
 * fields. Messages name the field by its aihwkit path (`noise_model.g_converter.g_max`),
 * prefixed by `what.`, and state the allowed range.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "aihw/inference.h"
#include "core/error.h"
#include "inference/inference_params_table.h"

_Static_assert(sizeof(aihw_noise_model_type) == sizeof(int), "enum must have the size of int");
_Static_assert(sizeof(aihw_converter_type) == sizeof(int), "enum must have the size of int");
_Static_assert(sizeof(aihw_drift_compensation) == sizeof(int),
               "enum must have the size of int");
_Static_assert(sizeof(aihw_weight_clip_type) == sizeof(int), "enum must have the size of int");
_Static_assert(sizeof(aihw_weight_remap_type) == sizeof(int), "enum must have the size of int");
_Static_assert(sizeof(aihw_weight_modifier_type) == sizeof(int),
               "enum must have the size of int");

#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- enums -------------------------------------------------------------------------- */

static const char *const noise_model_names[] = {
    NULL, "PCMLikeNoiseModel", "StateIndependentNoiseModel", "CustomDriftPCMLikeNoiseModel"};
static const inf_unsupported noise_model_unsupported[] = {
    {"ReRamWan2022NoiseModel", NULL,
     "is an aihwkit ReRAM model (polynomial noise per time key, §6.6) that aihw does not "
     "implement"},
    {"ReRamCMONoiseModel", NULL,
     "is an aihwkit ReRAM model (single-device relaxation, §6.6) that aihw does not "
     "implement"},
    {"HermesNoiseModel", NULL,
     "is an aihwkit PCM model with piecewise nu(g) fits (§6.6) that aihw does not implement"},
    {NULL, NULL, NULL}};
const inf_enum aihw_inf_noise_model_enum = {
    noise_model_names, NULL, COUNT_OF(noise_model_names), noise_model_unsupported};

static const char *const converter_names[] = {
    "SinglePairConductanceConverter", "NPairConductanceConverter",
    "DualPairConductanceConverter", "CustomPairConductanceConverter",
    "SingleDeviceConductanceConverter"};
static const inf_unsupported converter_unsupported[] = {
    {"FusionConductanceConverter", NULL,
     "is aihwkit's converter for the Fusion chip, which aihw does not model"},
    {NULL, NULL, NULL}};
const inf_enum aihw_inf_converter_enum = {converter_names, NULL, COUNT_OF(converter_names),
                                          converter_unsupported};

static const char *const compensation_names[] = {NULL, "GlobalDriftCompensation",
                                                 "GlobalDriftCompensationWithExactReference",
                                                 "PerColumnDriftCompensation"};
const inf_enum aihw_inf_compensation_enum = {compensation_names, NULL,
                                             COUNT_OF(compensation_names), NULL};

static const char *const clip_names[] = {"NONE", "FIXED_VALUE", "LAYER_GAUSSIAN",
                                         "AVERAGE_CHANNEL_MAX"};
static const char *const clip_values[] = {"None", "FixedValue", "LayerGaussian",
                                          "AverageChannelMax"};
const inf_enum aihw_inf_clip_enum = {clip_names, clip_values, COUNT_OF(clip_names), NULL};

static const char *const remap_names[] = {"NONE", "LAYERWISE_SYMMETRIC",
                                          "CHANNELWISE_SYMMETRIC"};
static const char *const remap_values[] = {"None", "LayerwiseSymmetric",
                                           "ChannelwiseSymmetric"};
static const inf_unsupported remap_unsupported[] = {
    {"CHANNELWISE_NORM", "ChannelwiseNorm",
     "exists only in aihwkit's C++ WeightRemapper, not in its Python WeightRemapType"},
    {"CHANNELWISE_ASYMMETRIC", "ChannelwiseAsymmetric",
     "exists only in aihwkit's C++ WeightRemapper, not in its Python WeightRemapType"},
    {NULL, NULL, NULL}};
const inf_enum aihw_inf_remap_enum = {remap_names, remap_values, COUNT_OF(remap_names),
                                      remap_unsupported};

static const char *const modifier_names[] = {
    "NONE",   "COPY", "DISCRETIZE", "MULT_NORMAL", "ADD_NORMAL",  "DISCRETIZE_ADD_NORMAL",
    "DOREFA", "POLY", "PROG_NOISE", "PCM_NOISE",   "DROP_CONNECT"};
static const char *const modifier_values[] = {
    "None",   "Copy", "Discretize", "MultNormal", "AddNormal",  "DiscretizeAddNormal",
    "DoReFa", "Poly", "ProgNoise",  "PCMNoise",   "DropConnect"};
static const inf_unsupported modifier_unsupported[] = {
    {"DISCRETIZE_PER_CHANNEL", "DiscretizePerChannel",
     "appeared after aihwkit 1.1.0 (per-output-channel amax), the version aihw follows"},
    {NULL, NULL, NULL}};
const inf_enum aihw_inf_modifier_enum = {modifier_names, modifier_values,
                                         COUNT_OF(modifier_names), modifier_unsupported};

const char *aihw_inf_enum_name(const inf_enum *e, int v) {
  return v >= 0 && v < e->count ? e->names[v] : NULL;
}

const char *aihw_inf_enum_list(const inf_enum *e, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < e->count && used < size; ++i) {
    if (e->names[i] == NULL)
      continue;
    int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", e->names[i]);
    if (n < 0)
      break;
    used += (size_t)n;
  }
  return buf;
}

const char *aihw_inf_rule_text(inf_rule rule) {
  switch (rule) {
  case INF_RULE_FINITE: return "must be finite";
  case INF_RULE_NONNEG: return "must be >= 0";
  case INF_RULE_POSITIVE: return "must be > 0";
  case INF_RULE_UNIT: return "must be in [0, 1]";
  case INF_RULE_NONE: break;
  }
  return "";
}

/* ---- field tables ------------------------------------------------------------------- */

#define NM_PCM AIHW_INF_BIT(AIHW_NOISE_PCM_LIKE)
#define NM_SI AIHW_INF_BIT(AIHW_NOISE_STATE_INDEPENDENT)
#define NM_CD AIHW_INF_BIT(AIHW_NOISE_CUSTOM_DRIFT_PCM)
#define NM_ANY (NM_PCM | NM_SI | NM_CD)

#define NM_FIELD(f, kind, rule, types) \
  { #f, kind, offsetof(aihw_noise_model_params, f), rule, NULL, 0, 0, types }
#define NM_LIST(f, n, max, rule, types)                             \
  {                                                                 \
#f, INF_LIST, offsetof(aihw_noise_model_params, f), rule, NULL, \
        offsetof(aihw_noise_model_params, n), max, types            \
  }

/* Order of aihwkit's attributes; g_converter and custom_drift_model are written by hand. */
static const inf_field noise_model_fields[] = {
    NM_FIELD(g_max, INF_FLOAT, INF_RULE_POSITIVE, NM_ANY),
    NM_LIST(prog_coeff, n_prog_coeff, AIHW_INFERENCE_MAX_COEFFS, INF_RULE_FINITE, NM_ANY),
    /* The polynomial is rescaled by g_max / reference (§6.6): 0 would divide by zero. */
    NM_FIELD(prog_coeff_g_max_reference, INF_FLOAT, INF_RULE_POSITIVE, NM_PCM | NM_CD),
    NM_FIELD(t_0, INF_FLOAT, INF_RULE_POSITIVE, NM_ANY),
    NM_FIELD(t_read, INF_FLOAT, INF_RULE_POSITIVE, NM_ANY),
    NM_FIELD(prog_noise_scale, INF_FLOAT, INF_RULE_NONNEG, NM_ANY),
    NM_FIELD(read_noise_scale, INF_FLOAT, INF_RULE_NONNEG, NM_ANY),
    NM_FIELD(drift_scale, INF_FLOAT, INF_RULE_NONNEG, NM_ANY),
    /* nu = |mean + std xi| (§6.6): a negative mean only mirrors the distribution. */
    NM_FIELD(drift_nu_mean, INF_FLOAT, INF_RULE_NONNEG, NM_SI),
    NM_FIELD(drift_nu_std, INF_FLOAT, INF_RULE_NONNEG, NM_SI),
    NM_FIELD(read_noise_at_target, INF_BOOL, INF_RULE_NONE, NM_PCM | NM_CD),
};
const inf_table aihw_inf_noise_model_table = {noise_model_fields, COUNT_OF(noise_model_fields)};

#define CV_N AIHW_INF_BIT(AIHW_CONVERTER_N_PAIR)
#define CV_DUAL AIHW_INF_BIT(AIHW_CONVERTER_DUAL_PAIR)
#define CV_CUSTOM AIHW_INF_BIT(AIHW_CONVERTER_CUSTOM_PAIR)

/* g_lst (CustomPair, a list of lists) is written by hand. */
static const inf_field converter_fields[] = {
    /* NPair divides by each f (§6.5): a factor <= 0 has no meaning. */
    {"f_lst", INF_LIST, offsetof(aihw_converter_params, f_lst), INF_RULE_POSITIVE, NULL,
     offsetof(aihw_converter_params, n_f), AIHW_INFERENCE_MAX_PAIRS,
     CV_N | CV_DUAL | CV_CUSTOM},
    {"g_max", INF_FLOAT, offsetof(aihw_converter_params, g_max), INF_RULE_POSITIVE, NULL, 0, 0,
     AIHW_INF_ALL_TYPES},
    {"g_min", INF_FLOAT, offsetof(aihw_converter_params, g_min), INF_RULE_NONNEG, NULL, 0, 0,
     AIHW_INF_ALL_TYPES},
};
const inf_table aihw_inf_converter_table = {converter_fields, COUNT_OF(converter_fields)};

#define FLAT_FIELD(s, f, kind, rule) \
  { #f, kind, offsetof(s, f), rule, NULL, 0, 0, AIHW_INF_ALL_TYPES }
#define FLAT_ENUM(s, f, e) \
  { #f, INF_ENUM, offsetof(s, f), INF_RULE_NONE, &e, 0, 0, AIHW_INF_ALL_TYPES }

static const inf_field clip_fields[] = {
    FLAT_ENUM(aihw_weight_clip_params, type, aihw_inf_clip_enum),
    /* <= 0 switches the fixed value off (§6.2), so every finite value has a meaning. */
    FLAT_FIELD(aihw_weight_clip_params, fixed_value, INF_FLOAT, INF_RULE_FINITE),
    FLAT_FIELD(aihw_weight_clip_params, sigma, INF_FLOAT, INF_RULE_POSITIVE),
};
const inf_table aihw_inf_clip_table = {clip_fields, COUNT_OF(clip_fields)};
_Static_assert(sizeof(aihw_weight_clip_params) == 3 * 4, "clip_fields must list every field");

static const inf_field remap_fields[] = {
    FLAT_ENUM(aihw_weight_remap_params, type, aihw_inf_remap_enum),
    FLAT_FIELD(aihw_weight_remap_params, remapped_wmax, INF_FLOAT, INF_RULE_POSITIVE),
    FLAT_FIELD(aihw_weight_remap_params, max_scale_range, INF_FLOAT, INF_RULE_NONNEG),
    FLAT_FIELD(aihw_weight_remap_params, max_scale_ref, INF_FLOAT, INF_RULE_NONNEG),
};
const inf_table aihw_inf_remap_table = {remap_fields, COUNT_OF(remap_fields)};
_Static_assert(sizeof(aihw_weight_remap_params) == 4 * 4, "remap_fields must list every field");

#define MOD_FIELD(f, kind, rule) FLAT_FIELD(aihw_weight_modifier_params, f, kind, rule)

/* `type` first (it says what the rest means), then aihwkit's dataclass order. */
static const inf_field modifier_fields[] = {
    FLAT_ENUM(aihw_weight_modifier_params, type, aihw_inf_modifier_enum),
    MOD_FIELD(std_dev, INF_FLOAT, INF_RULE_NONNEG),
    MOD_FIELD(per_batch_sample, INF_BOOL, INF_RULE_NONE),
    /* A step in units of amax (§6.3); 0 switches discretisation off. */
    MOD_FIELD(res, INF_FLOAT, INF_RULE_NONNEG),
    MOD_FIELD(sto_round, INF_BOOL, INF_RULE_NONE),
    /* Enters as |dorefa_clip / tanh(amax)|: every finite value has a meaning. */
    MOD_FIELD(dorefa_clip, INF_FLOAT, INF_RULE_FINITE),
    MOD_FIELD(pdrop, INF_FLOAT, INF_RULE_UNIT),
    MOD_FIELD(enable_during_test, INF_BOOL, INF_RULE_NONE),
    MOD_FIELD(rel_to_actual_wmax, INF_BOOL, INF_RULE_NONE),
    /* Divides the weights (§6.3). */
    MOD_FIELD(assumed_wmax, INF_FLOAT, INF_RULE_POSITIVE),
    MOD_FIELD(copy_last_column, INF_BOOL, INF_RULE_NONE),
    {"coeffs", INF_LIST, offsetof(aihw_weight_modifier_params, coeffs), INF_RULE_FINITE, NULL,
     offsetof(aihw_weight_modifier_params, n_coeffs), AIHW_INFERENCE_MAX_COEFFS,
     AIHW_INF_ALL_TYPES},
    MOD_FIELD(g_max, INF_FLOAT, INF_RULE_POSITIVE),
    MOD_FIELD(pcm_zero_thres, INF_FLOAT, INF_RULE_NONNEG),
    MOD_FIELD(pcm_t_inference, INF_FLOAT, INF_RULE_NONNEG),
    MOD_FIELD(pcm_prob_at_reset, INF_FLOAT, INF_RULE_UNIT),
    MOD_FIELD(pcm_prob_at_gmax, INF_FLOAT, INF_RULE_UNIT),
    MOD_FIELD(pcm_prob_at_random, INF_FLOAT, INF_RULE_UNIT),
    MOD_FIELD(pcm_t0, INF_FLOAT, INF_RULE_POSITIVE),
};
const inf_table aihw_inf_modifier_table = {modifier_fields, COUNT_OF(modifier_fields)};
/* 18 scalar fields + n_coeffs + coeffs[]: a struct field missing from the table fails. */
_Static_assert(sizeof(aihw_weight_modifier_params) == (19 + AIHW_INFERENCE_MAX_COEFFS) * 4,
               "modifier_fields must list every field");

/* ---- defaults ----------------------------------------------------------------------- */

AIHW_API aihw_noise_model_params aihw_noise_model_params_default(aihw_noise_model_type type) {
  aihw_noise_model_params p;
  memset(&p, 0, sizeof p);
  p.type = type;
  p.g_max = 25.0f; /* from the default SinglePairConductanceConverter */
  p.t_read = 250e-9f;
  p.t_0 = 20.0f;
  p.prog_noise_scale = 1.0f;
  p.read_noise_scale = 1.0f;
  p.drift_scale = 1.0f;
  p.n_prog_coeff = 3;
  if (type == AIHW_NOISE_STATE_INDEPENDENT) {
    p.prog_coeff[0] = 0.2f; /* uS, state independent */
  } else {
    p.prog_coeff[0] = 0.26348f; /* uS, fitted at g_max = 25 uS (§6.6) */
    p.prog_coeff[1] = 1.9650f;
    p.prog_coeff[2] = -1.1731f;
  }
  p.prog_coeff_g_max_reference = 25.0f;
  p.read_noise_at_target = 0;
  p.drift_nu_mean = 0.1f;
  p.drift_nu_std = 0.05f;
  static const float g[] = {0.0f, 10.0f, 25.0f};
  static const float nu_mean[] = {0.08f, 0.05f, 0.03f};
  static const float nu_std[] = {0.03f, 0.02f, 0.01f};
  p.n_custom = COUNT_OF(g);
  for (int k = 0; k < p.n_custom; ++k) {
    p.custom_g[k] = g[k];
    p.custom_nu_mean[k] = nu_mean[k];
    p.custom_nu_std[k] = nu_std[k];
  }
  return p;
}

AIHW_API aihw_converter_params aihw_converter_params_default(aihw_converter_type type) {
  aihw_converter_params c;
  memset(&c, 0, sizeof c);
  c.type = type;
  c.g_max = 25.0f;
  c.g_min = 0.0f;
  switch (type) {
  case AIHW_CONVERTER_SINGLE_PAIR: break;
  case AIHW_CONVERTER_N_PAIR:
    c.n_f = 3;
    c.f_lst[0] = 1.0f;
    c.f_lst[1] = 2.0f;
    c.f_lst[2] = 3.0f;
    break;
  case AIHW_CONVERTER_DUAL_PAIR:
    c.n_f = 2;
    c.f_lst[0] = 1.0f;
    c.f_lst[1] = 3.0f;
    break;
  case AIHW_CONVERTER_CUSTOM_PAIR: {
    static const float g_lst[] = {0.0f, 0.0f, 25.0f, 25.0f, 0.0f, 0.0f}; /* g+ ; g- */
    c.n_f = 1;
    c.f_lst[0] = 1.0f;
    c.n_g = COUNT_OF(g_lst);
    memcpy(c.g_lst, g_lst, sizeof g_lst);
    break;
  }
  case AIHW_CONVERTER_SINGLE_DEVICE:
    c.g_max = 88.2f; /* aihwkit writes 88.199997, the same float32 */
    c.g_min = 9.0f;
    break;
  }
  return c;
}

AIHW_API aihw_inference_params aihw_inference_params_default(void) {
  aihw_inference_params p;
  memset(&p, 0, sizeof p);
  p.noise_model = aihw_noise_model_params_default(AIHW_NOISE_PCM_LIKE);
  p.converter = aihw_converter_params_default(AIHW_CONVERTER_SINGLE_PAIR);
  p.drift_compensation = AIHW_DRIFT_COMPENSATION_GLOBAL;
  p.clip.type = AIHW_CLIP_NONE;
  p.clip.fixed_value = -1.0f;
  p.clip.sigma = 2.5f;
  p.remap.type = AIHW_REMAP_NONE;
  p.remap.remapped_wmax = 1.0f;
  p.remap.max_scale_range = 0.0f;
  p.remap.max_scale_ref = 0.0f;
  aihw_weight_modifier_params *m = &p.modifier;
  m->type = AIHW_MODIFIER_NONE;
  m->std_dev = 0.0f;
  m->per_batch_sample = 0;
  m->res = 0.0f; /* Python default; C++ has 0.1 */
  m->sto_round = 0;
  m->dorefa_clip = 0.6f;
  m->pdrop = 0.0f;
  m->enable_during_test = 0;
  m->rel_to_actual_wmax = 1;
  m->assumed_wmax = 1.0f;
  m->copy_last_column = 0;
  m->n_coeffs = 3; /* = [0.26348 / 25, 0.0768, -0.001877 * 25] (§6.3) */
  m->coeffs[0] = 0.0105392f;
  m->coeffs[1] = 0.0768f;
  m->coeffs[2] = -0.046925f;
  m->g_max = 25.0f;
  m->pcm_zero_thres = 0.0f;
  m->pcm_t_inference = 0.0f;
  m->pcm_prob_at_reset = 0.0f;
  m->pcm_prob_at_gmax = 0.0f;
  m->pcm_prob_at_random = 0.0f;
  m->pcm_t0 = 20.0f;
  return p;
}

/* ---- validation --------------------------------------------------------------------- */

/* "what.noise_model.g_max" (what may be NULL, group may be ""). */
static const char *label(char *buf, size_t size, const char *what, const char *group,
                         const char *name) {
  snprintf(buf, size, "%s%s%s%s%s", what != NULL ? what : "", what != NULL ? "." : "", group,
           group[0] != '\0' && name[0] != '\0' ? "." : "", name);
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

static int in_range(float v, inf_rule rule) {
  switch (rule) {
  case INF_RULE_NONNEG: return v >= 0.0f;
  case INF_RULE_POSITIVE: return v > 0.0f;
  case INF_RULE_UNIT: return v >= 0.0f && v <= 1.0f;
  case INF_RULE_FINITE:
  case INF_RULE_NONE: return 1;
  }
  return 0;
}

/* Floats of a field (1 for INF_FLOAT, count for a list, clamped to capacity). */
static int float_count(const void *base, const inf_field *f) {
  if (f->kind == INF_FLOAT)
    return 1;
  if (f->kind != INF_LIST)
    return 0;
  int n = get_int(base, f->count_offset);
  return n < 0 ? 0 : n > f->max_count ? f->max_count : n;
}

static aihw_status check_finite(const void *base, const inf_table *t, unsigned type_bit,
                                const char *what, const char *group) {
  char name[200];
  for (int i = 0; i < t->count; ++i) {
    const inf_field *f = &t->fields[i];
    if (!(f->types & type_bit))
      continue;
    for (int k = 0; k < float_count(base, f); ++k) {
      float v = get_float(base, f->offset + (size_t)k * sizeof(float));
      if (!isfinite(v)) {
        label(name, sizeof name, what, group, f->name);
        if (f->kind == INF_LIST)
          return aihw_error(AIHW_ERR_NOT_FINITE, "%s[%d] = %g: must be finite", name, k,
                            (double)v);
        return aihw_error(AIHW_ERR_NOT_FINITE, "%s = %g: must be finite", name, (double)v);
      }
    }
  }
  return AIHW_OK;
}

static aihw_status check_enum(int v, const inf_enum *e, const char *name) {
  char list[400];
  if (v >= 0 && v < e->count)
    return AIHW_OK;
  return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %d: must be one of %s (0..%d)", name, v,
                    aihw_inf_enum_list(e, list, sizeof list), e->count - 1);
}

static aihw_status check_fields(const void *base, const inf_table *t, unsigned type_bit,
                                const char *what, const char *group) {
  char name[200];
  for (int i = 0; i < t->count; ++i) {
    const inf_field *f = &t->fields[i];
    if (!(f->types & type_bit))
      continue;
    label(name, sizeof name, what, group, f->name);
    switch (f->kind) {
    case INF_FLOAT: {
      float v = get_float(base, f->offset);
      if (!in_range(v, f->rule))
        return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %.9g: %s", name, (double)v,
                          aihw_inf_rule_text(f->rule));
      break;
    }
    case INF_BOOL: {
      int v = get_int(base, f->offset);
      if (v != 0 && v != 1)
        return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %d: must be 0 or 1", name, v);
      break;
    }
    case INF_ENUM: AIHW_TRY(check_enum(get_int(base, f->offset), f->enumeration, name)); break;
    case INF_LIST: {
      int n = get_int(base, f->count_offset);
      if (n < 1 || n > f->max_count)
        return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                          "%s: %d entries: must have 1 to %d (the count field is n_%s)", name,
                          n, f->max_count, f->name);
      for (int k = 0; k < n; ++k) {
        float v = get_float(base, f->offset + (size_t)k * sizeof(float));
        if (!in_range(v, f->rule))
          return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s[%d] = %.9g: %s", name, k, (double)v,
                            aihw_inf_rule_text(f->rule));
      }
      break;
    }
    }
  }
  return AIHW_OK;
}

static aihw_status check_table_finite(const float *v, int n, const char *what,
                                      const char *group, const char *name) {
  char text[200];
  for (int k = 0; k < n; ++k)
    if (!isfinite(v[k]))
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s[%d] = %g: must be finite",
                        label(text, sizeof text, what, group, name), k, (double)v[k]);
  return AIHW_OK;
}

/* CustomDriftPCMLikeNoiseModel's table (aihwkit asserts: >= 2 entries, g ascending, g >= 0,
 * std >= 0; and the converter's range inside the table's). We require g strictly
 * increasing, so that the interpolation never divides by a zero interval. */
static aihw_status check_custom_drift(const aihw_noise_model_params *nm,
                                      const aihw_converter_params *cv, const char *what) {
  const char *group = "noise_model.custom_drift_model";
  char name[200];
  const int n = nm->n_custom;
  if (n < 2 || n > AIHW_INFERENCE_MAX_TABLE)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %d entries (n_custom): must have 2 to %d",
                      label(name, sizeof name, what, group, "g_lst"), n,
                      AIHW_INFERENCE_MAX_TABLE);
  for (int k = 0; k < n; ++k) {
    if (!(nm->custom_g[k] >= 0.0f))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s[%d] = %.9g: must be >= 0",
                        label(name, sizeof name, what, group, "g_lst"), k,
                        (double)nm->custom_g[k]);
    if (k > 0 && !(nm->custom_g[k] > nm->custom_g[k - 1]))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s[%d] = %.9g: must be strictly increasing (previous %.9g)",
                        label(name, sizeof name, what, group, "g_lst"), k,
                        (double)nm->custom_g[k], (double)nm->custom_g[k - 1]);
    if (!(nm->custom_nu_mean[k] >= 0.0f))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s[%d] = %.9g: must be >= 0",
                        label(name, sizeof name, what, group, "nu_mean_lst"), k,
                        (double)nm->custom_nu_mean[k]);
    if (!(nm->custom_nu_std[k] >= 0.0f))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s[%d] = %.9g: must be >= 0",
                        label(name, sizeof name, what, group, "nu_std_lst"), k,
                        (double)nm->custom_nu_std[k]);
  }
  if (cv->g_min < nm->custom_g[0] || cv->g_max > nm->custom_g[n - 1])
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: the converter's range [%.9g, %.9g] uS must lie inside the table's "
                      "[%.9g, %.9g] uS",
                      label(name, sizeof name, what, group, "g_lst"), (double)cv->g_min,
                      (double)cv->g_max, (double)nm->custom_g[0], (double)nm->custom_g[n - 1]);
  return AIHW_OK;
}

/* CustomPairConductanceConverter: g_lst holds 2 n_f lists (g+ and g- of each pair, aihwkit's
 * order) of equal length L >= 2, concatenated: entry j of list l is g_lst[l L + j]. */
static aihw_status check_custom_pair(const aihw_converter_params *cv, const char *what) {
  const char *group = "noise_model.g_converter";
  char name[200];
  label(name, sizeof name, what, group, "g_lst");
  const int lists = 2 * cv->n_f;
  if (cv->n_g < 2 * lists || cv->n_g > AIHW_INFERENCE_MAX_TABLE || cv->n_g % lists != 0)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: %d entries (n_g): must be 2 n_f = %d lists of equal length >= 2, "
                      "at most %d entries in all",
                      name, cv->n_g, lists, AIHW_INFERENCE_MAX_TABLE);
  for (int k = 0; k < cv->n_g; ++k)
    if (!(cv->g_lst[k] >= 0.0f))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s[%d] = %.9g: must be >= 0 uS", name, k,
                        (double)cv->g_lst[k]);
  return AIHW_OK;
}

static aihw_status validate_noise_and_converter(const aihw_noise_model_params *nm,
                                                const aihw_converter_params *cv,
                                                const char *what) {
  char name[200];
  AIHW_TRY(check_enum((int)nm->type, &aihw_inf_noise_model_enum,
                      label(name, sizeof name, what, "noise_model", "type")));
  AIHW_TRY(check_enum((int)cv->type, &aihw_inf_converter_enum,
                      label(name, sizeof name, what, "noise_model.g_converter", "type")));
  const unsigned nm_bit = AIHW_INF_BIT(nm->type), cv_bit = AIHW_INF_BIT(cv->type);
  const int custom_drift = nm->type == AIHW_NOISE_CUSTOM_DRIFT_PCM;
  const int custom_pair = cv->type == AIHW_CONVERTER_CUSTOM_PAIR;

  AIHW_TRY(check_finite(nm, &aihw_inf_noise_model_table, nm_bit, what, "noise_model"));
  if (custom_drift && nm->n_custom >= 0 && nm->n_custom <= AIHW_INFERENCE_MAX_TABLE) {
    const char *g = "noise_model.custom_drift_model";
    AIHW_TRY(check_table_finite(nm->custom_g, nm->n_custom, what, g, "g_lst"));
    AIHW_TRY(check_table_finite(nm->custom_nu_mean, nm->n_custom, what, g, "nu_mean_lst"));
    AIHW_TRY(check_table_finite(nm->custom_nu_std, nm->n_custom, what, g, "nu_std_lst"));
  }
  AIHW_TRY(
      check_finite(cv, &aihw_inf_converter_table, cv_bit, what, "noise_model.g_converter"));
  if (custom_pair && cv->n_g >= 0 && cv->n_g <= AIHW_INFERENCE_MAX_TABLE)
    AIHW_TRY(check_table_finite(cv->g_lst, cv->n_g, what, "noise_model.g_converter", "g_lst"));

  AIHW_TRY(check_fields(nm, &aihw_inf_noise_model_table, nm_bit, what, "noise_model"));
  AIHW_TRY(
      check_fields(cv, &aihw_inf_converter_table, cv_bit, what, "noise_model.g_converter"));
  if (cv->type == AIHW_CONVERTER_DUAL_PAIR && cv->n_f != 2)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: %d entries: DualPairConductanceConverter needs exactly 2",
                      label(name, sizeof name, what, "noise_model.g_converter", "f_lst"),
                      cv->n_f);
  if (!(cv->g_min < cv->g_max))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %.9g: must be < g_max = %.9g",
                      label(name, sizeof name, what, "noise_model.g_converter", "g_min"),
                      (double)cv->g_min, (double)cv->g_max);
  if (custom_pair)
    AIHW_TRY(check_custom_pair(cv, what));
  if (nm->type == AIHW_NOISE_NONE)
    return AIHW_OK;
  /* aihwkit's noise models take g_max from their converter (§6.6). */
  if (nm->g_max != cv->g_max)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s = %.9g: must equal noise_model.g_converter.g_max = %.9g (aihwkit "
                      "takes a noise model's g_max from its converter)",
                      label(name, sizeof name, what, "noise_model", "g_max"), (double)nm->g_max,
                      (double)cv->g_max);
  if (custom_drift)
    AIHW_TRY(check_custom_drift(nm, cv, what));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_inference_params_validate(const aihw_inference_params *params,
                                                    const char *what) {
  char name[200];
  if (params == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_inference_params_validate: params is NULL");
  const unsigned all = AIHW_INF_ALL_TYPES;
  AIHW_TRY(check_finite(&params->clip, &aihw_inf_clip_table, all, what, "clip"));
  AIHW_TRY(check_finite(&params->remap, &aihw_inf_remap_table, all, what, "remap"));
  AIHW_TRY(check_finite(&params->modifier, &aihw_inf_modifier_table, all, what, "modifier"));
  AIHW_TRY(validate_noise_and_converter(&params->noise_model, &params->converter, what));
  AIHW_TRY(check_enum((int)params->drift_compensation, &aihw_inf_compensation_enum,
                      label(name, sizeof name, what, "", "drift_compensation")));
  AIHW_TRY(check_fields(&params->clip, &aihw_inf_clip_table, all, what, "clip"));
  AIHW_TRY(check_fields(&params->remap, &aihw_inf_remap_table, all, what, "remap"));
  AIHW_TRY(check_fields(&params->modifier, &aihw_inf_modifier_table, all, what, "modifier"));

  /* §6.4: aihwkit's bounded channel-wise remap aborts unless remapped_wmax is 1. */
  const aihw_weight_remap_params *r = &params->remap;
  if (r->type == AIHW_REMAP_CHANNELWISE_SYMMETRIC && r->max_scale_range > 0.0f &&
      r->remapped_wmax != 1.0f)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s = %.9g: must be 1 when max_scale_range > 0 (it is %.9g) with "
                      "CHANNELWISE_SYMMETRIC",
                      label(name, sizeof name, what, "remap", "remapped_wmax"),
                      (double)r->remapped_wmax, (double)r->max_scale_range);
  /* aihwkit's CPU and CUDA tiles abort on per_batch_sample (§6.3). */
  if (params->modifier.per_batch_sample)
    return aihw_error(AIHW_ERR_UNSUPPORTED,
                      "%s = 1: not supported (must be 0; aihwkit's CPU and CUDA tiles reject "
                      "it too)",
                      label(name, sizeof name, what, "modifier", "per_batch_sample"));
  return AIHW_OK;
}
