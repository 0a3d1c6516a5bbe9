/* IO (periphery) parameters: aihwkit's Python `IOParameters()` defaults and IO presets
 * (reference §3.1), validation of every field including the §3.2 rule that noise
 * management needs inp_bound == 1, and JSON read/write with aihwkit's field names.
 *
 * One table (io_fields) lists every field with its JSON name, storage kind and allowed
 * range; validation and both JSON directions walk it, so a field added to the struct
 * needs exactly one new table row. Invariants: validation never changes the struct;
 * from_json works on a copy and stores it only after the whole object parsed and
 * validated; to_json writes each float with the fewest decimal digits that read back to
 * the same float32, so a write/read round trip is bit-exact.
 */
#include "aihw/io_params.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/json_util.h"

/* The area word of JSON error messages ("IO parameter 'out_noise': ..."). */
#define AREA "IO"

/* Enum fields are read and written as int through memcpy (see field_get_int). */
_Static_assert(sizeof(aihw_mv_type) == sizeof(int), "enum must have the size of int");
_Static_assert(sizeof(aihw_bound_management) == sizeof(int), "enum must have the size of int");
_Static_assert(sizeof(aihw_noise_management) == sizeof(int), "enum must have the size of int");
_Static_assert(sizeof(aihw_w_noise_type) == sizeof(int), "enum must have the size of int");

/* ---- enums -------------------------------------------------------------------------- */

/* An aihwkit Enum member that aihw does not implement, and why. */
typedef struct unsupported_member {
  const char *name;  /* Python member name */
  const char *value; /* aihwkit Enum value */
  const char *reason;
} unsupported_member;

/* An aihwkit Enum: JSON names are the Python member names (indexed by the C value); the
 * Enum *values* ("AbsMax") are accepted on input too, since aihwkit's own dumps use them. */
typedef struct enum_desc {
  const char *const *names;
  const char *const *values;
  int count;
  const unsupported_member *unsupported; /* terminated by a NULL name, or NULL */
} enum_desc;

static const char *const mv_names[] = {"IDEAL", "ONE_PASS", "POS_NEG_SEPARATE",
                                       "POS_NEG_SEPARATE_DIGITAL_SUM"};
static const char *const mv_values[] = {"Ideal", "OnePass", "PosNegSeparate",
                                        "PosNegSeparateDigitalSum"};
static const unsupported_member mv_unsupported[] = {
    {"SPLIT_MODE", "SplitMode",
     "exists only for aihwkit's TorchInferenceRPUConfigIRDropT tile, which aihw does not "
     "model"},
    {"BIT_WISE", "BitWise",
     "exists only for aihwkit's TorchInferenceRPUConfigIRDropT tile, which aihw does not "
     "model"},
    {NULL, NULL, NULL}};

static const char *const bm_names[] = {"NONE", "ITERATIVE", "ITERATIVE_WORST_CASE"};
static const char *const bm_values[] = {"None", "Iterative", "IterativeWorstCase"};
static const unsupported_member bm_unsupported[] = {
    {"SHIFT", "Shift",
     "was implemented only in aihwkit <= 0.3 and has no implementation in aihw "
     "(reference §3.10)"},
    {NULL, NULL, NULL}};

static const char *const nm_names[] = {"NONE", "ABS_MAX",  "ABS_MAX_NP_SUM",
                                       "MAX",  "CONSTANT", "AVERAGE_ABS_MAX"};
static const char *const nm_values[] = {"None", "AbsMax",   "AbsMaxNPSum",
                                        "Max",  "Constant", "AverageAbsMax"};

static const char *const wn_names[] = {"NONE", "ADDITIVE_CONSTANT", "PCM_READ"};
static const char *const wn_values[] = {"None", "AdditiveConstant", "PCMRead"};

#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const enum_desc mv_enum = {mv_names, mv_values, COUNT_OF(mv_names), mv_unsupported};
static const enum_desc bm_enum = {bm_names, bm_values, COUNT_OF(bm_names), bm_unsupported};
static const enum_desc nm_enum = {nm_names, nm_values, COUNT_OF(nm_names), NULL};
static const enum_desc wn_enum = {wn_names, wn_values, COUNT_OF(wn_names), NULL};

static const char *enum_name(const enum_desc *e, int v) {
  return v >= 0 && v < e->count ? e->names[v] : NULL;
}

AIHW_API const char *aihw_mv_type_name(aihw_mv_type v) { return enum_name(&mv_enum, (int)v); }
AIHW_API const char *aihw_bound_management_name(aihw_bound_management v) {
  return enum_name(&bm_enum, (int)v);
}
AIHW_API const char *aihw_noise_management_name(aihw_noise_management v) {
  return enum_name(&nm_enum, (int)v);
}
AIHW_API const char *aihw_w_noise_type_name(aihw_w_noise_type v) {
  return enum_name(&wn_enum, (int)v);
}

/* "NONE, ITERATIVE, ITERATIVE_WORST_CASE" into buf (truncated if too small). */
static const char *enum_list(const enum_desc *e, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < e->count && used < size; ++i) {
    int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", e->names[i]);
    if (n < 0)
      break;
    used += (size_t)n;
  }
  return buf;
}

/* ---- field table -------------------------------------------------------------------- */

typedef enum field_kind { KIND_FLOAT, KIND_INT, KIND_BOOL, KIND_ENUM } field_kind;

/* Allowed ranges. Every float must also be finite (checked first, AIHW_ERR_NOT_FINITE),
 * except that RULE_NONNEG_INF_OK admits +inf. */
typedef enum range_rule {
  RULE_FINITE,        /* any finite value */
  RULE_NONNEG,        /* >= 0 */
  RULE_POSITIVE,      /* > 0 */
  RULE_UNIT,          /* [0, 1] */
  RULE_DECAY,         /* (0, 1] */
  RULE_NONNEG_INF_OK, /* >= 0, +inf allowed */
  RULE_AT_LEAST_ONE,  /* integer >= 1 */
  RULE_NONE           /* booleans and enums: checked by kind */
} range_rule;

static const char *rule_text(range_rule rule) {
  switch (rule) {
  case RULE_FINITE: return "must be finite";
  case RULE_NONNEG: return "must be >= 0";
  case RULE_POSITIVE: return "must be > 0";
  case RULE_UNIT: return "must be in [0, 1]";
  case RULE_DECAY: return "must be in (0, 1]";
  case RULE_NONNEG_INF_OK: return "must be >= 0 (+inf allowed)";
  case RULE_AT_LEAST_ONE: return "must be >= 1";
  case RULE_NONE: break;
  }
  return "";
}

typedef struct field_desc {
  const char *name; /* struct field = JSON key = aihwkit name */
  field_kind kind;
  size_t offset;
  range_rule rule;
  const enum_desc *enumeration; /* KIND_ENUM only */
} field_desc;

#define FIELD(f, kind, rule) \
  { #f, kind, offsetof(aihw_io_params, f), rule, NULL }
#define ENUM_FIELD(f, e) \
  { #f, KIND_ENUM, offsetof(aihw_io_params, f), RULE_NONE, &e }

/* Where aihwkit is silent the range chosen here is the physically meaningful one:
 * a standard deviation or strength below 0 is a sign error, not a request. */
static const field_desc io_fields[] = {
    FIELD(is_perfect, KIND_BOOL, RULE_NONE),
    ENUM_FIELD(mv_type, mv_enum),
    /* Bounds and resolutions: any finite value; <= 0 means "no bound" / "no steps" and a
     * resolution > 1 counts steps (§3.2 checkRes), so every finite value has a meaning. */
    FIELD(inp_bound, KIND_FLOAT, RULE_FINITE),
    FIELD(inp_res, KIND_FLOAT, RULE_FINITE),
    FIELD(inp_sto_round, KIND_BOOL, RULE_NONE),
    FIELD(inp_noise, KIND_FLOAT, RULE_NONNEG),
    /* Asymmetries scale one polarity by (1 - a): a > 1 would flip its sign, a < 0 amplify. */
    FIELD(inp_asymmetry, KIND_FLOAT, RULE_UNIT),
    FIELD(out_bound, KIND_FLOAT, RULE_FINITE),
    FIELD(out_res, KIND_FLOAT, RULE_FINITE),
    FIELD(out_sto_round, KIND_BOOL, RULE_NONE),
    FIELD(out_noise, KIND_FLOAT, RULE_NONNEG),
    FIELD(out_noise_std, KIND_FLOAT, RULE_NONNEG),
    /* A digital gain: aihwkit accepts any value, so do we (0 and negative included). */
    FIELD(out_scale, KIND_FLOAT, RULE_FINITE),
    FIELD(out_asymmetry, KIND_FLOAT, RULE_UNIT),
    ENUM_FIELD(bound_management, bm_enum),
    ENUM_FIELD(noise_management, nm_enum),
    /* A cap or constant NM factor; 0 means "no cap" (§3.4), negative has no meaning. */
    FIELD(nm_thres, KIND_FLOAT, RULE_NONNEG),
    /* Scales the worst-case NP-sum estimate (§3.4); <= 0 would switch it off silently. */
    FIELD(nm_assumed_wmax, KIND_FLOAT, RULE_POSITIVE),
    /* Running-average rate: 0 would freeze the first value, > 1 overshoots (§3.4). */
    FIELD(nm_decay, KIND_FLOAT, RULE_DECAY),
    /* BM stops when (int)red > max_bm_factor; red starts at 1, so < 1 is meaningless. */
    FIELD(max_bm_factor, KIND_INT, RULE_AT_LEAST_ONE),
    FIELD(max_bm_res, KIND_FLOAT, RULE_POSITIVE),
    FIELD(bm_test_negative_bound, KIND_BOOL, RULE_NONE),
    ENUM_FIELD(w_noise_type, wn_enum),
    FIELD(w_noise, KIND_FLOAT, RULE_NONNEG),
    FIELD(ir_drop, KIND_FLOAT, RULE_NONNEG),
    /* Divides the IR-drop current (§3.7): must be a positive ratio. */
    FIELD(ir_drop_g_ratio, KIND_FLOAT, RULE_POSITIVE),
    FIELD(out_nonlinearity, KIND_FLOAT, RULE_NONNEG),
    /* aihwkit silently uses max(std, 0) here (§3.2); we reject the negative instead. */
    FIELD(out_nonlinearity_std, KIND_FLOAT, RULE_NONNEG),
    /* Applied only when > 0 (§3.2); a negative level is a sign error. */
    FIELD(slope_calibration, KIND_FLOAT, RULE_NONNEG),
    FIELD(v_offset_std, KIND_FLOAT, RULE_NONNEG),
    /* Weight of the implicit reference device (0 = none, aihwkit default -1): any value. */
    FIELD(v_offset_w_min, KIND_FLOAT, RULE_FINITE),
    /* aihwkit uses max(r_series, 0) (§3.7); we reject the negative instead. */
    FIELD(r_series, KIND_FLOAT, RULE_NONNEG),
    /* Cap of r_series*|y| (§3.7): default FLT_MAX, +inf means the same "no cap". */
    FIELD(r_series_max_total, KIND_FLOAT, RULE_NONNEG_INF_OK),
    FIELD(w_read_asymmetry_dtod, KIND_FLOAT, RULE_NONNEG),
    FIELD(bm_negative_bound_quirk, KIND_BOOL, RULE_NONE),
    FIELD(v_offset_quirk, KIND_BOOL, RULE_NONE),
};

#define N_FIELDS COUNT_OF(io_fields)

/* Every field is 4 bytes: a struct field missing from the table fails here. */
_Static_assert(sizeof(io_fields) / sizeof(io_fields[0]) * 4 == sizeof(aihw_io_params),
               "io_fields must list every field of aihw_io_params");

static float field_get_float(const aihw_io_params *p, const field_desc *f) {
  return aihw_json_get_float(p, f->offset);
}

/* Ints, booleans and enums (all stored with the size of int, see the static asserts). */
static int field_get_int(const aihw_io_params *p, const field_desc *f) {
  return aihw_json_get_int(p, f->offset);
}

/* ---- defaults and presets ----------------------------------------------------------- */

AIHW_API aihw_io_params aihw_io_params_default(void) {
  aihw_io_params p;
  memset(&p, 0, sizeof p);
  p.is_perfect = 0;
  p.mv_type = AIHW_MV_ONE_PASS;
  p.inp_bound = 1.0f;
  p.inp_res = (float)(1.0 / 126.0); /* 1/(2^7 - 2): 7-bit DAC */
  p.inp_sto_round = 0;
  p.inp_noise = 0.0f;
  p.inp_asymmetry = 0.0f;
  p.out_bound = 12.0f;
  p.out_res = (float)(1.0 / 510.0); /* 1/(2^9 - 2): 9-bit ADC */
  p.out_sto_round = 0;
  p.out_noise = (float)0.06;
  p.out_noise_std = 0.0f;
  p.out_scale = 1.0f;
  p.out_asymmetry = 0.0f;
  p.bound_management = AIHW_BM_ITERATIVE; /* Python default; C++ has NONE */
  p.noise_management = AIHW_NM_ABS_MAX;
  p.nm_thres = 0.0f;
  p.nm_assumed_wmax = (float)0.6;
  p.nm_decay = (float)1e-3;
  p.max_bm_factor = 1000;
  p.max_bm_res = 0.25f;
  p.bm_test_negative_bound = 1;
  p.w_noise_type = AIHW_W_NOISE_NONE;
  p.w_noise = 0.0f;
  p.ir_drop = 0.0f;
  p.ir_drop_g_ratio = (float)(1.0 / 0.35 / 5e-6); /* Python's expression, not C++'s 5.7143e5 */
  p.out_nonlinearity = 0.0f;
  p.out_nonlinearity_std = 0.0f;
  p.slope_calibration = 0.0f; /* Python default; C++ has 0.5 */
  p.v_offset_std = 0.0f;
  p.v_offset_w_min = -1.0f; /* Python default; C++ has 0 */
  p.r_series = 0.0f;
  p.r_series_max_total = FLT_MAX;
  p.w_read_asymmetry_dtod = 0.0f;
  p.bm_negative_bound_quirk = 0;
  p.v_offset_quirk = 0;
  return p;
}

AIHW_API aihw_status aihw_io_params_preset(const char *name, aihw_io_params *out) {
  static const char known[] =
      "IOParameters, PresetIOParameters, StandardIOParameters, PerfectIOParameters";
  if (name == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_io_params_preset: %s is NULL",
                      name == NULL ? "name" : "out");
  aihw_io_params p = aihw_io_params_default();
  if (strcmp(name, "IOParameters") == 0) {
    /* the defaults */
  } else if (strcmp(name, "PresetIOParameters") == 0) {
    /* aihwkit simulator/presets/utils.py (reference §3.1, §8) */
    p.bound_management = AIHW_BM_ITERATIVE;
    p.noise_management = AIHW_NM_ABS_MAX;
    p.inp_res = (float)(1.0 / 126.0);
    p.out_bound = 20.0f;
    p.out_noise = (float)0.1;
    p.out_res = (float)(1.0 / 510.0);
    p.w_noise = 0.0f;
  } else if (strcmp(name, "StandardIOParameters") == 0) {
    p.bound_management = AIHW_BM_ITERATIVE;
    p.noise_management = AIHW_NM_ABS_MAX;
    p.inp_res = (float)(1.0 / 254.0);
    p.out_bound = 10.0f;
    p.out_noise = (float)0.04;
    p.out_res = (float)(1.0 / 254.0);
  } else if (strcmp(name, "PerfectIOParameters") == 0) {
    p.is_perfect = 1;
  } else {
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "unknown IO preset '%s' (known: %s)", name,
                      known);
  }
  *out = p;
  return AIHW_OK;
}

/* ---- validation --------------------------------------------------------------------- */

/* "forward.out_noise" or "out_noise". */
static const char *field_label(const char *what, const char *name, char *buf, size_t size) {
  if (what != NULL)
    snprintf(buf, size, "%s.%s", what, name);
  else
    snprintf(buf, size, "%s", name);
  return buf;
}

static int float_in_range(float v, range_rule rule) {
  switch (rule) {
  case RULE_NONNEG:
  case RULE_NONNEG_INF_OK: return v >= 0.0f;
  case RULE_POSITIVE: return v > 0.0f;
  case RULE_UNIT: return v >= 0.0f && v <= 1.0f;
  case RULE_DECAY: return v > 0.0f && v <= 1.0f;
  case RULE_FINITE:
  case RULE_AT_LEAST_ONE:
  case RULE_NONE: return 1;
  }
  return 0;
}

static aihw_status check_field(const aihw_io_params *p, const field_desc *f, const char *what) {
  char label[160], list[160];
  switch (f->kind) {
  case KIND_FLOAT: {
    float v = field_get_float(p, f);
    if (!float_in_range(v, f->rule))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %.9g: %s",
                        field_label(what, f->name, label, sizeof label), (double)v,
                        rule_text(f->rule));
    return AIHW_OK;
  }
  case KIND_INT: {
    int v = field_get_int(p, f);
    if (f->rule == RULE_AT_LEAST_ONE && v < 1)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %d: %s",
                        field_label(what, f->name, label, sizeof label), v, rule_text(f->rule));
    return AIHW_OK;
  }
  case KIND_BOOL: {
    int v = field_get_int(p, f);
    if (v != 0 && v != 1)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %d: must be 0 or 1",
                        field_label(what, f->name, label, sizeof label), v);
    return AIHW_OK;
  }
  case KIND_ENUM: {
    int v = field_get_int(p, f);
    if (enum_name(f->enumeration, v) == NULL)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %d: must be one of %s (0..%d)",
                        field_label(what, f->name, label, sizeof label), v,
                        enum_list(f->enumeration, list, sizeof list),
                        f->enumeration->count - 1);
    return AIHW_OK;
  }
  }
  return aihw_error(AIHW_ERR_INTERNAL, "io_params: bad field kind");
}

AIHW_API aihw_status aihw_io_params_validate(const aihw_io_params *params, const char *what) {
  char label[160];
  if (params == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_io_params_validate: params is NULL");

  /* Finiteness first, so that a NaN is always AIHW_ERR_NOT_FINITE whatever its field. */
  for (int i = 0; i < N_FIELDS; ++i) {
    const field_desc *f = &io_fields[i];
    if (f->kind != KIND_FLOAT)
      continue;
    float v = field_get_float(params, f);
    int allowed_inf = f->rule == RULE_NONNEG_INF_OK && v > 0.0f;
    if (isnan(v) || (isinf(v) && !allowed_inf))
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s = %g: must be finite",
                        field_label(what, f->name, label, sizeof label), (double)v);
  }
  for (int i = 0; i < N_FIELDS; ++i)
    AIHW_TRY(check_field(params, &io_fields[i], what));

  /* §3.2 step 3: aihwkit aborts when NM is on and inp_bound != 1, because NM scales the
   * inputs into [-1, 1] (the whole DAC range only if that range is 1). A perfect or
   * IDEAL periphery never reaches that check (§3.2 step 1). */
  int perfect = params->is_perfect || params->mv_type == AIHW_MV_IDEAL;
  if (!perfect && params->noise_management != AIHW_NM_NONE && params->inp_bound != 1.0f)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s = %.9g: must be 1 when noise_management is not NONE (it is %s)",
                      field_label(what, "inp_bound", label, sizeof label),
                      (double)params->inp_bound,
                      aihw_noise_management_name(params->noise_management));
  return AIHW_OK;
}

/* ---- JSON output -------------------------------------------------------------------- */

/* Floats go through aihw_json_float_item: shortest round-trip text; +inf (only
 * r_series_max_total may hold it) as 1e999, since JSON has no infinity. */
static cJSON *field_to_json(const aihw_io_params *p, const field_desc *f) {
  switch (f->kind) {
  case KIND_FLOAT: return aihw_json_float_item(field_get_float(p, f));
  case KIND_INT: return cJSON_CreateNumber((double)field_get_int(p, f));
  case KIND_BOOL: return cJSON_CreateBool(field_get_int(p, f) != 0);
  case KIND_ENUM: return cJSON_CreateString(enum_name(f->enumeration, field_get_int(p, f)));
  }
  return NULL;
}

AIHW_API aihw_status aihw_io_params_to_json(const aihw_io_params *params, char **json_out) {
  static const char function[] = "aihw_io_params_to_json";
  AIHW_TRY(aihw_json_write_begin(function, params, json_out));
  /* Only valid parameters are written, so that what we write we can always read back. */
  AIHW_TRY(aihw_io_params_validate(params, NULL));

  cJSON *root = cJSON_CreateObject();
  int ok = root != NULL;
  for (int i = 0; ok && i < N_FIELDS; ++i)
    ok = aihw_json_add_item(root, io_fields[i].name, field_to_json(params, &io_fields[i]));
  return aihw_json_write_end(function, root, ok, json_out);
}

/* ---- JSON input --------------------------------------------------------------------- */

/* Enums by Python member name or Enum value; aihwkit members aihw lacks are UNSUPPORTED. */
static aihw_status enum_from_json(const field_desc *f, const cJSON *item, int *out) {
  const enum_desc *e = f->enumeration;
  char list[160];
  const char *s = NULL;
  AIHW_TRY(aihw_json_read_string(AREA, NULL, f->name, item, &s));
  int v = aihw_json_enum_index(s, e->names, e->values, e->count);
  if (v >= 0) {
    *out = v;
    return AIHW_OK;
  }
  for (const unsupported_member *u = e->unsupported; u != NULL && u->name != NULL; ++u)
    if (aihw_json_names_member(s, u->name, u->value))
      return aihw_json_unsupported_value(AREA, NULL, f->name, u->name, u->reason);
  return aihw_json_unknown_value(AREA, NULL, f->name, s, enum_list(e, list, sizeof list));
}

/* Stores one JSON value into *p (the caller's working copy). Out-of-range doubles become
 * +-inf, which validation then rejects as not finite, except where +inf is allowed
 * (r_series_max_total). */
static aihw_status field_from_json(const field_desc *f, const cJSON *item, aihw_io_params *p) {
  int v = 0; /* ints, booleans and enums */
  switch (f->kind) {
  case KIND_FLOAT: {
    float x = 0.0f;
    AIHW_TRY(aihw_json_read_float(AREA, NULL, f->name, item, &x));
    aihw_json_set_float(p, f->offset, x);
    return AIHW_OK;
  }
  case KIND_INT: AIHW_TRY(aihw_json_read_int(AREA, NULL, f->name, item, &v)); break;
  case KIND_BOOL: AIHW_TRY(aihw_json_read_bool(AREA, NULL, f->name, item, &v)); break;
  case KIND_ENUM: AIHW_TRY(enum_from_json(f, item, &v)); break;
  default: return aihw_error(AIHW_ERR_INTERNAL, "io_params: bad field kind");
  }
  aihw_json_set_int(p, f->offset, v);
  return AIHW_OK;
}

static aihw_status object_from_json(const cJSON *root, aihw_io_params *work) {
  char seen[N_FIELDS];
  memset(seen, 0, sizeof seen);
  for (const cJSON *item = root->child; item != NULL; item = item->next) {
    int index = aihw_json_find_named(io_fields, sizeof io_fields[0], N_FIELDS, item->string);
    if (index < 0)
      return aihw_error(AIHW_ERR_FORMAT, "unknown IO parameter '%s'", item->string);
    AIHW_TRY(aihw_json_mark_seen(AREA, NULL, item->string, seen, index));
    AIHW_TRY(field_from_json(&io_fields[index], item, work));
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_io_params_from_json(const char *json, aihw_io_params *params) {
  AIHW_TRY(aihw_json_read_begin("aihw_io_params_from_json", json, params));
  cJSON *root = NULL;
  AIHW_TRY(aihw_json_parse_object(AREA, json, &root));
  aihw_io_params work = *params;
  aihw_status status = object_from_json(root, &work);
  cJSON_Delete(root);
  if (status != AIHW_OK)
    return status;
  AIHW_TRY(aihw_io_params_validate(&work, NULL));
  *params = work;
  return AIHW_OK;
}
