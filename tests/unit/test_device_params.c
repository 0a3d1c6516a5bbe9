/* Device parameters (reference §5.1–5.9): aihwkit's Python defaults of every
 * single-device class, type names, validation, and JSON (round trip, which keys belong to
 * which class, error reporting). The device presets (§8.1) are tested in
 * test_config_presets.c. */
#include <stdint.h>

#include <cjson/cJSON.h>

#include "aihw/aihw.h"
#include "aihw/device.h"
#include "devices/device_params_table.h"
#include "test_util.h"

#define N_TYPES AIHW_DEVICE_TYPE_COUNT

static int is_pulsed(aihw_device_type t) {
  return t != AIHW_DEVICE_IDEAL && t != AIHW_DEVICE_FLOATING_POINT;
}

/* Field-by-field comparison through the field table, naming the first differing field;
 * then the whole struct bytewise (which also covers `type`, `piecewise_n` and unused
 * nodes, and any field the table might miss). */
static void check_same_params(const aihw_device_params *a, const aihw_device_params *b,
                              const char *context) {
  for (int i = 0; i < aihw_device_field_count; ++i) {
    const device_field *f = &aihw_device_fields[i];
    size_t size = f->kind == DEVICE_FIELD_NODES   ? AIHW_PIECEWISE_MAX * sizeof(float)
                  : f->kind == DEVICE_FIELD_DRIFT ? sizeof(aihw_drift_params)
                                                  : 4;
    if (memcmp((const char *)a + f->offset, (const char *)b + f->offset, size) != 0) {
      fprintf(stderr, "%s: field %s differs\n", context, f->name);
      CHECK(!"fields differ");
      return;
    }
  }
  CHECK(a->type == b->type);
  CHECK(a->piecewise_n == b->piecewise_n);
  CHECK(memcmp(a, b, sizeof *a) == 0);
}

/* ---- defaults ----------------------------------------------------------------------- */

static void check_drift_defaults(const aihw_drift_params *d) {
  CHECK_FEQ(d->nu, 0.0f);
  CHECK_FEQ(d->t_0, 1.0f);
  CHECK_FEQ(d->reset_tol, (float)1e-7);
  CHECK_FEQ(d->nu_dtod, 0.0f);
  CHECK_FEQ(d->nu_std, 0.0f);
  CHECK_FEQ(d->wg_ratio, 1.0f);
  CHECK_FEQ(d->g_offset, 0.0f);
  CHECK_FEQ(d->w_offset, 0.0f);
  CHECK_FEQ(d->nu_k, 0.0f);
  CHECK_FEQ(d->log_g0, 0.0f);
  CHECK_FEQ(d->w_noise_std, 0.0f);
}

/* §5.1 PulsedDevice table (Python defaults, not C++'s where they differ). */
static void check_pulsed_defaults(const aihw_device_params *p) {
  CHECK(p->construction_seed == 0);
  CHECK_FEQ(p->dw_min, (float)0.001);
  CHECK_FEQ(p->dw_min_dtod, (float)0.3);
  CHECK(p->dw_min_dtod_log_normal == 0);
  CHECK_FEQ(p->dw_min_std, (float)0.3);
  CHECK_FEQ(p->up_down, 0.0f);
  CHECK_FEQ(p->up_down_dtod, (float)0.01);
  CHECK_FEQ(p->w_max, (float)0.6);
  CHECK_FEQ(p->w_min, (float)-0.6);
  CHECK_FEQ(p->w_max_dtod, (float)0.3);
  CHECK_FEQ(p->w_min_dtod, (float)0.3);
  CHECK(p->enforce_consistency == 1);
  CHECK(p->perfect_bias == 0);
  CHECK_FEQ(p->corrupt_devices_prob, 0.0f);
  CHECK_FEQ(p->corrupt_devices_range, (float)0.1);
  CHECK_FEQ(p->lifetime, 0.0f);
  CHECK_FEQ(p->lifetime_dtod, 0.0f);
  CHECK_FEQ(p->diffusion, 0.0f);
  CHECK_FEQ(p->diffusion_dtod, 0.0f);
  CHECK_FEQ(p->reset, 0.0f);
  CHECK_FEQ(p->reset_dtod, 0.0f);
  CHECK_FEQ(p->reset_std, (float)0.01);
  CHECK(p->count_pulses == 0);
  check_drift_defaults(&p->drift);
}

static void check_write_noise_defaults(const aihw_device_params *p) {
  CHECK_FEQ(p->write_noise_std, 0.0f);
  CHECK(p->apply_write_noise_on_set == 1);
}

static void check_reverse_defaults(const aihw_device_params *p) {
  CHECK(p->reverse_up == 0 && p->reverse_down == 0);
  CHECK_FEQ(p->reverse_offset, (float)0.01);
}

static void defaults_match_aihwkit_for_every_type(void) {
  for (int t = 0; t < N_TYPES; ++t) {
    aihw_device_params p = aihw_device_params_default((aihw_device_type)t);
    CHECK(p.type == (aihw_device_type)t);
    CHECK_OK(aihw_device_params_validate(&p, "device"));
    if (is_pulsed((aihw_device_type)t))
      check_pulsed_defaults(&p);
  }
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_IDEAL);
  CHECK(p.construction_seed == 0);
  CHECK_FEQ(p.diffusion, 0.0f);
  CHECK_FEQ(p.lifetime, 0.0f);
  CHECK_FEQ(p.reset_std, (float)0.01);

  p = aihw_device_params_default(AIHW_DEVICE_FLOATING_POINT);
  CHECK_FEQ(p.diffusion, 0.0f);
  CHECK_FEQ(p.lifetime, 0.0f);
  check_drift_defaults(&p.drift);

  p = aihw_device_params_default(AIHW_DEVICE_LINEAR_STEP); /* §5.5 */
  CHECK_FEQ(p.gamma_up, 0.0f);
  CHECK_FEQ(p.gamma_down, 0.0f);
  CHECK_FEQ(p.gamma_up_dtod, (float)0.05);
  CHECK_FEQ(p.gamma_down_dtod, (float)0.05);
  CHECK(p.allow_increasing == 0);
  CHECK(p.mean_bound_reference == 1);
  CHECK(p.mult_noise == 1);
  check_reverse_defaults(&p);
  check_write_noise_defaults(&p);

  p = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS);
  CHECK(p.mult_noise == 1);
  check_reverse_defaults(&p);
  check_write_noise_defaults(&p);

  p = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS_PMAX);
  CHECK_FEQ(p.p_max, 1000.0f);
  CHECK_FEQ(p.alpha, (float)0.0005);
  CHECK_FEQ(p.range_min, -1.0f);
  CHECK_FEQ(p.range_max, 1.0f);
  CHECK(p.mult_noise == 1);
  check_reverse_defaults(&p);
  check_write_noise_defaults(&p);

  p = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS_REFERENCE); /* §5.8b */
  CHECK(p.mult_noise == 0);
  CHECK_FEQ(p.slope_up_dtod, 0.0f);
  CHECK_FEQ(p.slope_down_dtod, 0.0f);
  CHECK_FEQ(p.reference_mean, 0.0f);
  CHECK_FEQ(p.reference_std, 0.0f);
  CHECK(p.subtract_symmetry_point == 0);
  check_write_noise_defaults(&p);

  p = aihw_device_params_default(AIHW_DEVICE_EXP_STEP); /* §5.6 */
  CHECK_FEQ(p.A_up, (float)0.00081);
  CHECK_FEQ(p.A_down, (float)0.36833);
  CHECK_FEQ(p.gamma_up, (float)12.44625);
  CHECK_FEQ(p.gamma_down, (float)12.78785);
  CHECK_FEQ(p.a, (float)0.244);
  CHECK_FEQ(p.b, (float)0.2425);
  CHECK_FEQ(p.dw_min_std_add, 0.0f);
  CHECK_FEQ(p.dw_min_std_slope, 0.0f);
  check_write_noise_defaults(&p);

  p = aihw_device_params_default(AIHW_DEVICE_POW_STEP); /* §5.7 */
  CHECK_FEQ(p.pow_gamma, 1.0f);
  CHECK_FEQ(p.pow_gamma_dtod, (float)0.1);
  CHECK_FEQ(p.pow_up_down, 0.0f);
  CHECK_FEQ(p.pow_up_down_dtod, 0.0f);
  check_write_noise_defaults(&p);

  p = aihw_device_params_default(AIHW_DEVICE_POW_STEP_REFERENCE);
  CHECK_FEQ(p.pow_gamma, 1.0f);
  CHECK_FEQ(p.pow_gamma_dtod, (float)0.1);
  CHECK_FEQ(p.pow_up_down, 0.0f);
  CHECK_FEQ(p.pow_up_down_dtod, 0.0f);
  CHECK_FEQ(p.reference_mean, 0.0f);
  CHECK_FEQ(p.reference_std, 0.0f);
  CHECK(p.subtract_symmetry_point == 0);
  CHECK(p.n_estimation_steps == -1);
  CHECK(p.pow_step_reference_nan_quirk == 0);

  p = aihw_device_params_default(AIHW_DEVICE_PIECEWISE_STEP); /* §5.8 */
  CHECK(p.piecewise_n == 1);
  CHECK_FEQ(p.piecewise_up[0], 1.0f);
  CHECK_FEQ(p.piecewise_down[0], 1.0f);
  check_write_noise_defaults(&p);
}

/* ---- type names --------------------------------------------------------------------- */

static const char *const class_names[N_TYPES] = {
    "IdealDevice",         "ConstantStepDevice",   "LinearStepDevice",
    "SoftBoundsDevice",    "SoftBoundsPmaxDevice", "SoftBoundsReferenceDevice",
    "ExpStepDevice",       "PowStepDevice",        "PowStepReferenceDevice",
    "PiecewiseStepDevice", "FloatingPointDevice"};

static const char *const preset_names[] = {
    "ReRamESPresetDevice",       "ReRamSBPresetDevice", "CapacitorPresetDevice",
    "EcRamPresetDevice",         "EcRamMOPresetDevice", "IdealizedPresetDevice",
    "GokmenVlasovPresetDevice",  "PCMPresetDevice",     "ReRamArrayOMPresetDevice",
    "ReRamArrayHfO2PresetDevice"};

static void type_names_are_aihwkit_class_names_both_ways(void) {
  for (int t = 0; t < N_TYPES; ++t) {
    CHECK(strcmp(aihw_device_type_name((aihw_device_type)t), class_names[t]) == 0);
    aihw_device_type back = AIHW_DEVICE_IDEAL;
    CHECK_OK(aihw_device_type_from_name(class_names[t], &back));
    CHECK(back == (aihw_device_type)t);
  }
  CHECK(aihw_device_type_name((aihw_device_type)N_TYPES) == NULL);
  CHECK(aihw_device_type_name((aihw_device_type)-1) == NULL);
  aihw_device_type t = AIHW_DEVICE_EXP_STEP;
  CHECK_STATUS(aihw_device_type_from_name("SoftBounds", &t), AIHW_ERR_INVALID_ARGUMENT);
  CHECK(t == AIHW_DEVICE_EXP_STEP);
  CHECK_ERROR_MENTIONS("'SoftBounds'");
  for (int i = 0; i < N_TYPES; ++i)
    CHECK_ERROR_MENTIONS(class_names[i]);
  CHECK_STATUS(aihw_device_type_from_name(NULL, &t), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_device_type_from_name("IdealDevice", NULL), AIHW_ERR_INVALID_ARGUMENT);
}

/* ---- presets ------------------------------------------------------------------------ */

static aihw_device_params load(const char *name) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_IDEAL);
  CHECK_OK(aihw_device_params_preset(name, &p));
  return p;
}

/* ---- JSON --------------------------------------------------------------------------- */

static aihw_device_params json_round_trip(const aihw_device_params *p) {
  aihw_device_params back = aihw_device_params_default(AIHW_DEVICE_IDEAL);
  char *json = NULL;
  CHECK_OK(aihw_device_params_to_json(p, &json));
  if (json != NULL)
    CHECK_OK(aihw_device_params_from_json(json, &back));
  free(json);
  return back;
}

/* Every field of the struct set to a value that is valid for every type and differs
 * from every class default. Floats have many digits, so the JSON must carry them all. */
static aihw_device_params all_fields_changed(aihw_device_type type) {
  aihw_device_params p = aihw_device_params_default(type);
  p.construction_seed = 4294967295u;
  p.dw_min = 0.0123456789f;
  p.dw_min_dtod = 0.2718281f;
  p.dw_min_dtod_log_normal = 1;
  p.dw_min_std = 1.4142135f;
  p.up_down = -0.0314159f;
  p.up_down_dtod = 0.0271f;
  p.w_max = 0.7654321f;
  p.w_min = -0.5432109f;
  p.w_max_dtod = 0.11f;
  p.w_min_dtod = 0.12f;
  p.enforce_consistency = 0;
  p.perfect_bias = 1;
  p.corrupt_devices_prob = 0.125f;
  p.corrupt_devices_range = 0.333f;
  p.lifetime = 12345.678f;
  p.lifetime_dtod = 0.05f;
  p.diffusion = 1e-4f;
  p.diffusion_dtod = 0.2f;
  p.reset = -0.01f;
  p.reset_dtod = 0.02f;
  p.reset_std = 0.03f;
  p.count_pulses = 1;
  p.write_noise_std = 2.5f;
  p.apply_write_noise_on_set = 0;
  p.drift.nu = 0.05f;
  p.drift.t_0 = 20.0f;
  p.drift.reset_tol = 1e-6f;
  p.drift.nu_dtod = 0.2f;
  p.drift.nu_std = 0.1f;
  p.drift.wg_ratio = 25.0f;
  p.drift.g_offset = 0.5f;
  p.drift.w_offset = -0.25f;
  p.drift.nu_k = 0.01f;
  p.drift.log_g0 = 0.7f;
  p.drift.w_noise_std = 0.001f;
  p.gamma_up = 0.3f;
  p.gamma_down = 0.6f;
  p.gamma_up_dtod = 0.07f;
  p.gamma_down_dtod = 0.08f;
  p.allow_increasing = 1;
  p.mean_bound_reference = 0;
  /* mult_noise: 1 wherever reverse_up/down exist (they require it, §5.5), so only
   * SoftBoundsReference (default 0) sees it change here; mult_noise = 0 is covered by the
   * defaults' round trip. */
  p.mult_noise = 1;
  p.reverse_up = 1;
  p.reverse_down = 1;
  p.reverse_offset = 0.02f;
  p.p_max = 500.0f;
  p.alpha = 0.002f;
  p.range_min = -0.8f;
  p.range_max = 1.3f;
  p.A_up = -27.235f;
  p.A_down = -2.235f;
  p.a = -1.0f;
  p.b = 0.1f;
  p.dw_min_std_add = 0.042f;
  p.dw_min_std_slope = 0.108f;
  p.pow_gamma = 2.0f;
  p.pow_gamma_dtod = 0.15f;
  p.pow_up_down = 0.2f;
  p.pow_up_down_dtod = 0.05f;
  p.reference_mean = 0.1f;
  p.reference_std = 0.05f;
  p.subtract_symmetry_point = 1;
  p.n_estimation_steps = 777;
  p.slope_up_dtod = 0.1f;
  p.slope_down_dtod = 0.2f;
  p.pow_step_reference_nan_quirk = 1;
  p.piecewise_n = 5;
  for (int k = 0; k < 5; ++k) {
    p.piecewise_up[k] = 1.0f / (float)(k + 3);
    p.piecewise_down[k] = 0.1f * (float)(k + 2);
  }
  return p;
}

/* What reading the JSON of all_fields_changed(type) must give: the type's defaults with
 * the fields of that type taken from the changed struct. */
static aihw_device_params expected_after_round_trip(aihw_device_type type) {
  aihw_device_params changed = all_fields_changed(type);
  aihw_device_params e = aihw_device_params_default(type);
  unsigned bit = AIHW_DEVICE_BIT(type);
  for (int i = 0; i < aihw_device_field_count; ++i) {
    const device_field *f = &aihw_device_fields[i];
    if (!(f->types & bit))
      continue;
    if (f->kind == DEVICE_FIELD_DRIFT) {
      for (int k = 0; k < aihw_drift_field_count; ++k) {
        const device_field *d = &aihw_drift_fields[k];
        if (d->types & bit)
          memcpy((char *)&e.drift + d->offset, (char *)&changed.drift + d->offset, 4);
      }
    } else if (f->kind == DEVICE_FIELD_NODES) {
      memcpy((char *)&e + f->offset, (char *)&changed + f->offset,
             AIHW_PIECEWISE_MAX * sizeof(float));
      e.piecewise_n = changed.piecewise_n;
    } else {
      memcpy((char *)&e + f->offset, (char *)&changed + f->offset, 4);
    }
  }
  return e;
}

/* Counts the 4-byte words (type and piecewise_n excluded) in which a and b agree, among
 * the fields of `type` only. */
static int applicable_words_equal(const aihw_device_params *a, const aihw_device_params *b,
                                  aihw_device_type type) {
  unsigned bit = AIHW_DEVICE_BIT(type);
  int same = 0;
  for (int i = 0; i < aihw_device_field_count; ++i) {
    const device_field *f = &aihw_device_fields[i];
    if (!(f->types & bit))
      continue;
    if (f->kind == DEVICE_FIELD_DRIFT) {
      for (int k = 0; k < aihw_drift_field_count; ++k)
        if (aihw_drift_fields[k].types & bit)
          same += memcmp((const char *)&a->drift + aihw_drift_fields[k].offset,
                         (const char *)&b->drift + aihw_drift_fields[k].offset, 4) == 0;
    } else if (f->kind == DEVICE_FIELD_NODES) {
      same += memcmp((const char *)a + f->offset, (const char *)b + f->offset, 4) == 0;
    } else {
      same += memcmp((const char *)a + f->offset, (const char *)b + f->offset, 4) == 0;
    }
  }
  return same;
}

static void json_round_trip_is_exact_for_every_type_and_field(void) {
  for (int t = 0; t < N_TYPES; ++t) {
    aihw_device_type type = (aihw_device_type)t;
    aihw_device_params p = all_fields_changed(type), d = aihw_device_params_default(type);
    CHECK_OK(aihw_device_params_validate(&p, class_names[t]));
    /* the fixture changes every field of the type (a forgotten one would pass vacuously) */
    const int keeps_mult_noise = type == AIHW_DEVICE_LINEAR_STEP ||
                                 type == AIHW_DEVICE_SOFT_BOUNDS ||
                                 type == AIHW_DEVICE_SOFT_BOUNDS_PMAX;
    CHECK(applicable_words_equal(&p, &d, type) == (keeps_mult_noise ? 1 : 0));
    aihw_device_params back = json_round_trip(&p);
    aihw_device_params expected = expected_after_round_trip(type);
    check_same_params(&back, &expected, class_names[t]);
    /* defaults round-trip too */
    back = json_round_trip(&d);
    check_same_params(&back, &d, class_names[t]);
  }
  /* presets round-trip */
  for (size_t i = 0; i < sizeof preset_names / sizeof preset_names[0]; ++i) {
    aihw_device_params p = load(preset_names[i]);
    aihw_device_params back = json_round_trip(&p);
    check_same_params(&back, &p, preset_names[i]);
  }
}

static char *to_json(const aihw_device_params *p) {
  char *json = NULL;
  CHECK_OK(aihw_device_params_to_json(p, &json));
  return json != NULL ? json : calloc(1, 1);
}

static void json_writes_only_the_fields_of_the_type(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  char *json = to_json(&p);
  CHECK(strstr(json, "\"type\":\t\"ConstantStepDevice\"") != NULL);
  CHECK(strstr(json, "\"dw_min\":\t0.001,") != NULL); /* shortest text */
  CHECK(strstr(json, "\"w_min\":\t-0.6,") != NULL);
  CHECK(strstr(json, "\"enforce_consistency\":\ttrue") != NULL);
  CHECK(strstr(json, "\"construction_seed\":\t0") != NULL);
  CHECK(strstr(json, "\"drift\":\t{") != NULL);
  CHECK(strstr(json, "\"reset_tol\":\t1e-07") != NULL);
  CHECK(strstr(json, "\"gamma_up\"") == NULL);
  CHECK(strstr(json, "\"write_noise_std\"") == NULL);
  CHECK(strstr(json, "\"apply_write_noise_on_set\"") == NULL);
  CHECK(strstr(json, "\"piecewise_up\"") == NULL);
  free(json);

  p = aihw_device_params_default(AIHW_DEVICE_IDEAL);
  json = to_json(&p);
  cJSON *root = cJSON_Parse(json);
  CHECK(cJSON_GetArraySize(root) ==
        5); /* type, construction_seed, lifetime, diffusion, reset_std */
  CHECK(cJSON_GetObjectItem(root, "reset_std") != NULL);
  CHECK(cJSON_GetObjectItem(root, "drift") == NULL);
  cJSON_Delete(root);
  free(json);

  p = aihw_device_params_default(AIHW_DEVICE_FLOATING_POINT);
  json = to_json(&p);
  root = cJSON_Parse(json);
  CHECK(cJSON_GetArraySize(root) == 4); /* type, lifetime, diffusion, drift */
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(root, "drift")) == 3); /* nu, t_0, reset_tol */
  cJSON_Delete(root);
  free(json);

  p = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS_PMAX);
  json = to_json(&p);
  CHECK(strstr(json, "\"p_max\":\t1000") != NULL);
  CHECK(strstr(json, "\"dw_min\"") == NULL);
  CHECK(strstr(json, "\"w_max\"") == NULL);
  CHECK(strstr(json, "\"up_down\"") == NULL);
  CHECK(strstr(json, "\"up_down_dtod\"") != NULL);
  free(json);

  p = aihw_device_params_default(AIHW_DEVICE_PIECEWISE_STEP);
  p.piecewise_n = 3;
  p.piecewise_up[1] = 0.5f, p.piecewise_up[2] = 0.25f;
  p.piecewise_down[1] = 2.0f, p.piecewise_down[2] = 0.1f;
  json = to_json(&p);
  CHECK(strstr(json, "\"piecewise_up\":\t[1, 0.5, 0.25]") != NULL);
  CHECK(strstr(json, "\"piecewise_down\":\t[1, 2, 0.1]") != NULL);
  CHECK(strstr(json, "piecewise_n") == NULL);
  free(json);
}

static void json_key_not_of_the_type_names_key_and_type(void) {
  static const struct {
    const char *json;
    const char *message[2];
  } cases[] = {
      {"{\"type\": \"ConstantStepDevice\", \"gamma_up\": 0.1}",
       {"'gamma_up'", "ConstantStepDevice"}},
      {"{\"type\": \"ConstantStepDevice\", \"write_noise_std\": 1}",
       {"'write_noise_std'", "ConstantStepDevice"}},
      {"{\"type\": \"PowStepReferenceDevice\", \"write_noise_std\": 1}",
       {"'write_noise_std'", "PowStepReferenceDevice"}},
      {"{\"type\": \"SoftBoundsPmaxDevice\", \"dw_min\": 0.01}",
       {"'dw_min'", "derives w_min, w_max, dw_min and up_down"}},
      {"{\"type\": \"SoftBoundsDevice\", \"gamma_up\": 1}", {"'gamma_up'", "SoftBoundsDevice"}},
      {"{\"type\": \"IdealDevice\", \"dw_min\": 0.01}", {"'dw_min'", "IdealDevice"}},
      {"{\"type\": \"IdealDevice\", \"drift\": {}}", {"'drift'", "IdealDevice"}},
      {"{\"type\": \"FloatingPointDevice\", \"drift\": {\"nu_dtod\": 0.1}}",
       {"'drift.nu_dtod'", "FloatingPointDevice"}},
      {"{\"type\": \"LinearStepDevice\", \"drift\": {\"mu\": 0.1}}",
       {"'drift.mu'", "LinearStepDevice"}},
      {"{\"type\": \"LinearStepDevice\", \"gama_up\": 0.1}",
       {"unknown device parameter 'gama_up'", "LinearStepDevice"}},
      {"{\"type\": \"PiecewiseStepDevice\", \"piecewise_n\": 2}",
       {"'piecewise_n'", "length of piecewise_up"}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_EXP_STEP), before = p;
    CHECK_STATUS(aihw_device_params_from_json(cases[i].json, &p), AIHW_ERR_FORMAT);
    CHECK_ERROR_MENTIONS(cases[i].message[0]);
    CHECK_ERROR_MENTIONS(cases[i].message[1]);
    check_same_params(&p, &before, cases[i].json);
  }
}

static void json_type_is_required_and_must_be_a_known_class(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_EXP_STEP);
  CHECK_STATUS(aihw_device_params_from_json("{\"dw_min\": 0.01}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("missing \"type\"");
  CHECK_ERROR_MENTIONS("ConstantStepDevice");
  CHECK_STATUS(aihw_device_params_from_json("{\"type\": 3}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'type': expected a string, got a number");
  CHECK_STATUS(aihw_device_params_from_json("{\"type\": \"SoftBounds\"}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("unknown device type 'SoftBounds'");
  for (int t = 0; t < N_TYPES; ++t)
    CHECK_ERROR_MENTIONS(class_names[t]);
  CHECK_STATUS(aihw_device_params_from_json(
                   "{\"type\": \"IdealDevice\", \"type\": \"IdealDevice\"}", &p),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'type' appears twice");
  CHECK_STATUS(aihw_device_params_from_json("{\"type\": \"TransferCompound\"}", &p),
               AIHW_ERR_UNSUPPORTED);
  CHECK_ERROR_MENTIONS("TransferCompound");
  CHECK_ERROR_MENTIONS("compound");
  CHECK(p.type == AIHW_DEVICE_EXP_STEP);
}

static void json_wrong_value_types_name_key_and_expected_type(void) {
  static const struct {
    const char *json;
    const char *message;
  } cases[] = {
      {"{\"type\": \"ConstantStepDevice\", \"dw_min\": \"0.1\"}",
       "'dw_min': expected a number, got a string"},
      {"{\"type\": \"ConstantStepDevice\", \"perfect_bias\": 2}",
       "'perfect_bias': expected true/false (or 0/1), got 2"},
      {"{\"type\": \"ConstantStepDevice\", \"count_pulses\": null}",
       "'count_pulses': expected true/false (or 0/1), got null"},
      {"{\"type\": \"ConstantStepDevice\", \"construction_seed\": -1}",
       "'construction_seed': expected an integer in 0..4294967295, got -1"},
      {"{\"type\": \"ConstantStepDevice\", \"construction_seed\": 4294967296}",
       "'construction_seed': expected an integer in 0..4294967295"},
      {"{\"type\": \"ConstantStepDevice\", \"construction_seed\": 1.5}",
       "'construction_seed': expected an integer in 0..4294967295, got 1.5"},
      {"{\"type\": \"ConstantStepDevice\", \"construction_seed\": \"7\"}",
       "'construction_seed': expected an integer in 0..4294967295, got a string"},
      {"{\"type\": \"PowStepReferenceDevice\", \"n_estimation_steps\": 2.5}",
       "'n_estimation_steps': expected an integer"},
      {"{\"type\": \"ConstantStepDevice\", \"drift\": 0.1}",
       "'drift': expected an object, got a number"},
      {"{\"type\": \"ConstantStepDevice\", \"drift\": {\"nu\": true}}",
       "'drift.nu': expected a number, got a boolean"},
      {"{\"type\": \"PiecewiseStepDevice\", \"piecewise_up\": 1}",
       "'piecewise_up': expected an array of numbers, got a number"},
      {"{\"type\": \"PiecewiseStepDevice\", \"piecewise_up\": [1, \"2\"]}",
       "'piecewise_up': node 1: expected a number, got a string"},
      {"{\"type\": \"PiecewiseStepDevice\", \"piecewise_up\": []}",
       "'piecewise_up': expected 1 to 64 nodes, got 0"},
      {"{\"type\": \"ConstantStepDevice\", \"dw_min\": 0.1, \"dw_min\": 0.2}",
       "'dw_min' appears twice"},
      {"[{\"type\": \"ConstantStepDevice\"}]", "expected a JSON object, got an array"},
      {"{\"type\": \"ConstantStepDevice\",", "JSON parse error"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_LINEAR_STEP), before = p;
    CHECK_STATUS(aihw_device_params_from_json(cases[i].json, &p), AIHW_ERR_FORMAT);
    CHECK_ERROR_MENTIONS(cases[i].message);
    check_same_params(&p, &before, cases[i].json);
  }
  aihw_device_params p;
  CHECK_OK(aihw_device_params_from_json(
      "{\"type\": \"ConstantStepDevice\", \"construction_seed\": 4294967295}", &p));
  CHECK(p.construction_seed == 4294967295u);
  CHECK_OK(aihw_device_params_from_json(
      "{\"type\": \"ConstantStepDevice\", \"perfect_bias\": 1, \"count_pulses\": true}", &p));
  CHECK(p.perfect_bias == 1 && p.count_pulses == 1);
}

static void json_piecewise_arrays_give_n_and_must_have_equal_length(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_IDEAL);
  CHECK_OK(aihw_device_params_from_json("{\"type\": \"PiecewiseStepDevice\", "
                                        "\"piecewise_up\": [1.5, 1, 0.5], "
                                        "\"piecewise_down\": [0.5, 1, 1.5]}",
                                        &p));
  CHECK(p.piecewise_n == 3);
  CHECK_FEQ(p.piecewise_up[0], 1.5f);
  CHECK_FEQ(p.piecewise_up[2], 0.5f);
  CHECK_FEQ(p.piecewise_down[2], 1.5f);
  CHECK_FEQ(p.piecewise_up[3], 0.0f);

  aihw_device_params before = p;
  CHECK_STATUS(aihw_device_params_from_json("{\"type\": \"PiecewiseStepDevice\", "
                                            "\"piecewise_up\": [1, 2]}",
                                            &p),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("piecewise_up has 2 nodes but piecewise_down has 1");
  check_same_params(&p, &before, "unequal lengths");

  char json[2048];
  int n =
      snprintf(json, sizeof json, "{\"type\": \"PiecewiseStepDevice\", \"piecewise_up\": [");
  for (int k = 0; k < AIHW_PIECEWISE_MAX + 1; ++k)
    n += snprintf(json + n, sizeof json - (size_t)n, "%s1", k ? ", " : "");
  snprintf(json + n, sizeof json - (size_t)n, "]}");
  CHECK_STATUS(aihw_device_params_from_json(json, &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("expected 1 to 64 nodes, got 65");
}

static void json_absent_fields_take_the_class_defaults(void) {
  aihw_device_params p = all_fields_changed(AIHW_DEVICE_EXP_STEP);
  CHECK_OK(aihw_device_params_from_json("{\"type\": \"ExpStepDevice\", \"dw_min\": 0.05}", &p));
  aihw_device_params e = aihw_device_params_default(AIHW_DEVICE_EXP_STEP);
  e.dw_min = 0.05f;
  check_same_params(&p, &e, "ExpStep from partial JSON");
}

static void json_failure_leaves_params_unchanged_and_result_is_validated(void) {
  static const struct {
    const char *json;
    int status;
    const char *message;
  } cases[] = {
      {"{\"type\": \"ConstantStepDevice\", \"w_min\": 0.1}", AIHW_ERR_INVALID_ARGUMENT,
       "w_min = 0.100000001: must be <= 0"},
      {"{\"type\": \"ConstantStepDevice\", \"dw_min\": 1e39}", AIHW_ERR_NOT_FINITE,
       "dw_min = inf"},
      {"{\"type\": \"PiecewiseStepDevice\", \"piecewise_up\": [-1], "
       "\"piecewise_down\": [1]}",
       AIHW_ERR_INVALID_ARGUMENT, "piecewise_up[0] = -1: must be >= 0"},
      {"{\"type\": \"FloatingPointDevice\", \"drift\": {\"t_0\": 0}}",
       AIHW_ERR_INVALID_ARGUMENT, "drift.t_0 = 0: must be > 0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    aihw_device_params p = all_fields_changed(AIHW_DEVICE_POW_STEP), before = p;
    CHECK_STATUS(aihw_device_params_from_json(cases[i].json, &p), cases[i].status);
    CHECK_ERROR_MENTIONS(cases[i].message);
    check_same_params(&p, &before, cases[i].json);
  }
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_LINEAR_STEP);
  p.dw_min = 0.0f;
  char *json = (char *)&p;
  CHECK_STATUS(aihw_device_params_to_json(&p, &json), AIHW_ERR_INVALID_ARGUMENT);
  CHECK(json == NULL);
  CHECK_STATUS(aihw_device_params_to_json(NULL, &json), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_device_params_to_json(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_device_params_from_json(NULL, &p), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_device_params_from_json("{}", NULL), AIHW_ERR_INVALID_ARGUMENT);
}

/* ---- validation --------------------------------------------------------------------- */

#define AT(field) offsetof(aihw_device_params, field)
#define DRIFT_AT(field) \
  (offsetof(aihw_device_params, drift) + offsetof(aihw_drift_params, field))

static void validate_names_field_and_range(void) {
  static const struct {
    aihw_device_type type;
    size_t offset;
    float value;
    const char *message;
  } cases[] = {
      {AIHW_DEVICE_CONSTANT_STEP, AT(dw_min), 0.0f, "dev.dw_min = 0: must be > 0"},
      {AIHW_DEVICE_EXP_STEP, AT(dw_min), -0.1f, "dev.dw_min = -0.100000001: must be > 0"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(dw_min_dtod), -1.0f, "dev.dw_min_dtod = -1: must be >= 0"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(dw_min_std), -1.0f, "dev.dw_min_std = -1: must be >= 0"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(up_down_dtod), -1.0f,
       "dev.up_down_dtod = -1: must be >= 0"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(w_max_dtod), -1.0f, "dev.w_max_dtod = -1: must be >= 0"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(w_min_dtod), -1.0f, "dev.w_min_dtod = -1: must be >= 0"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(w_min), 0.5f,
       "dev.w_min = 0.5: must be <= 0 ([w_min, w_max] must contain 0)"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(w_max), -0.5f,
       "dev.w_max = -0.5: must be >= 0 ([w_min, w_max] must contain 0)"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(corrupt_devices_prob), 1.5f,
       "dev.corrupt_devices_prob = 1.5: must be in [0, 1]"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(corrupt_devices_prob), -0.5f,
       "dev.corrupt_devices_prob = -0.5: must be in [0, 1]"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(corrupt_devices_range), -1.0f,
       "dev.corrupt_devices_range = -1: must be >= 0"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(lifetime), -1.0f, "dev.lifetime = -1: must be >= 0"},
      {AIHW_DEVICE_IDEAL, AT(lifetime), -1.0f, "dev.lifetime = -1: must be >= 0"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(lifetime_dtod), -1.0f,
       "dev.lifetime_dtod = -1: must be >= 0"},
      {AIHW_DEVICE_FLOATING_POINT, AT(diffusion), -1.0f, "dev.diffusion = -1: must be >= 0"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(diffusion_dtod), -1.0f,
       "dev.diffusion_dtod = -1: must be >= 0"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(reset_dtod), -1.0f, "dev.reset_dtod = -1: must be >= 0"},
      {AIHW_DEVICE_IDEAL, AT(reset_std), -1.0f, "dev.reset_std = -1: must be >= 0"},
      {AIHW_DEVICE_LINEAR_STEP, AT(write_noise_std), -1.0f,
       "dev.write_noise_std = -1: must be >= 0"},
      {AIHW_DEVICE_LINEAR_STEP, AT(gamma_up), -0.5f,
       "dev.gamma_up = -0.5: must be >= 0 unless allow_increasing"},
      {AIHW_DEVICE_LINEAR_STEP, AT(gamma_down), -0.5f,
       "dev.gamma_down = -0.5: must be >= 0 unless allow_increasing"},
      {AIHW_DEVICE_LINEAR_STEP, AT(gamma_up_dtod), -1.0f,
       "dev.gamma_up_dtod = -1: must be >= 0"},
      {AIHW_DEVICE_LINEAR_STEP, AT(gamma_down_dtod), -1.0f,
       "dev.gamma_down_dtod = -1: must be >= 0"},
      {AIHW_DEVICE_SOFT_BOUNDS_PMAX, AT(p_max), 0.0f, "dev.p_max = 0: must be > 0"},
      {AIHW_DEVICE_SOFT_BOUNDS_PMAX, AT(alpha), -1.0f, "dev.alpha = -1: must be > 0"},
      {AIHW_DEVICE_SOFT_BOUNDS_PMAX, AT(range_min), 2.0f,
       "dev.range_min = 2: must be < range_max = 1"},
      {AIHW_DEVICE_SOFT_BOUNDS_PMAX, AT(range_min), 0.5f, "dev.range_min = 0.5: must be <= 0"},
      /* p_max alpha = 1e-39: b = range / (p_max alpha) overflows float */
      {AIHW_DEVICE_SOFT_BOUNDS_PMAX, AT(alpha), 1e-42f,
       "derived bounds and step size to be finite and non-zero"},
      /* b = 0.1 / (1 - exp(-0.5)) = 0.254: w_max = -1 + 0.254 < 0 */
      {AIHW_DEVICE_SOFT_BOUNDS_PMAX, AT(range_max), -0.9f,
       "dev.range_max = -0.899999976: the derived w_max = range_min + b = -0.74"},
      {AIHW_DEVICE_POW_STEP, AT(pow_gamma), 0.0f, "dev.pow_gamma = 0: must be > 0"},
      {AIHW_DEVICE_POW_STEP_REFERENCE, AT(pow_gamma_dtod), -1.0f,
       "dev.pow_gamma_dtod = -1: must be >= 0"},
      {AIHW_DEVICE_POW_STEP, AT(pow_up_down_dtod), -1.0f,
       "dev.pow_up_down_dtod = -1: must be >= 0"},
      {AIHW_DEVICE_POW_STEP_REFERENCE, AT(reference_std), -1.0f,
       "dev.reference_std = -1: must be >= 0"},
      {AIHW_DEVICE_SOFT_BOUNDS_REFERENCE, AT(slope_up_dtod), -1.0f,
       "dev.slope_up_dtod = -1: must be >= 0"},
      {AIHW_DEVICE_SOFT_BOUNDS_REFERENCE, AT(slope_down_dtod), -1.0f,
       "dev.slope_down_dtod = -1: must be >= 0"},
      {AIHW_DEVICE_PIECEWISE_STEP, AT(piecewise_down), -1.0f,
       "dev.piecewise_down[0] = -1: must be >= 0"},
      {AIHW_DEVICE_CONSTANT_STEP, DRIFT_AT(t_0), 0.0f, "dev.drift.t_0 = 0: must be > 0"},
      {AIHW_DEVICE_FLOATING_POINT, DRIFT_AT(reset_tol), -1.0f,
       "dev.drift.reset_tol = -1: must be >= 0"},
      {AIHW_DEVICE_CONSTANT_STEP, DRIFT_AT(nu_dtod), -1.0f,
       "dev.drift.nu_dtod = -1: must be >= 0"},
      {AIHW_DEVICE_CONSTANT_STEP, DRIFT_AT(nu_std), -1.0f,
       "dev.drift.nu_std = -1: must be >= 0"},
      {AIHW_DEVICE_CONSTANT_STEP, DRIFT_AT(wg_ratio), 0.0f,
       "dev.drift.wg_ratio = 0: must be > 0"},
      {AIHW_DEVICE_CONSTANT_STEP, DRIFT_AT(w_noise_std), -1.0f,
       "dev.drift.w_noise_std = -1: must be >= 0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    aihw_device_params p = aihw_device_params_default(cases[i].type);
    memcpy((char *)&p + cases[i].offset, &cases[i].value, sizeof(float));
    CHECK_STATUS(aihw_device_params_validate(&p, "dev"), AIHW_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS(cases[i].message);
  }
  /* Without `what` the bare field name starts the message. */
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  p.dw_min = 0.0f;
  CHECK_STATUS(aihw_device_params_validate(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK(strncmp(aihw_last_error(), "dw_min = 0", 10) == 0);
}

static void validate_accepts_boundary_and_signed_values(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_LINEAR_STEP);
  p.gamma_up = -0.5f; /* allowed with allow_increasing */
  p.allow_increasing = 1;
  p.w_min = 0.0f, p.w_max = 0.0f; /* [0, 0] contains 0 */
  p.corrupt_devices_prob = 1.0f;
  p.up_down = -0.9f;
  p.reset = -0.3f;
  p.drift.nu = -0.01f;
  CHECK_OK(aihw_device_params_validate(&p, NULL));
  p = aihw_device_params_default(AIHW_DEVICE_EXP_STEP);
  p.gamma_up = -3.0f, p.A_up = -27.0f, p.a = -1.0f, p.b = -0.5f, p.dw_min_std_add = -0.1f;
  CHECK_OK(aihw_device_params_validate(&p, NULL));
  p = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS_PMAX);
  p.range_min = 0.0f; /* w_min = 0 */
  p.dw_min = -1.0f;   /* derived for this type: the struct's value is ignored */
  CHECK_OK(aihw_device_params_validate(&p, NULL));
  p = aihw_device_params_default(AIHW_DEVICE_POW_STEP_REFERENCE);
  p.n_estimation_steps = -100; /* <= 0: automatic */
  CHECK_OK(aihw_device_params_validate(&p, NULL));
}

static void validate_ignores_fields_not_of_the_type(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  p.gamma_up = NAN;
  p.write_noise_std = -1.0f;
  p.pow_gamma = 0.0f;
  p.piecewise_n = 0;
  p.mult_noise = 7;
  CHECK_OK(aihw_device_params_validate(&p, NULL));
  p = aihw_device_params_default(AIHW_DEVICE_IDEAL);
  p.dw_min = -1.0f;
  p.w_min = 1.0f;
  p.drift.t_0 = 0.0f;
  CHECK_OK(aihw_device_params_validate(&p, NULL));
  p = aihw_device_params_default(AIHW_DEVICE_FLOATING_POINT);
  p.drift.nu_dtod = -1.0f; /* not a field of SimpleDriftParameter */
  p.reset_std = -1.0f;
  CHECK_OK(aihw_device_params_validate(&p, NULL));
}

static void validate_nan_and_inf_are_not_finite_before_range_errors(void) {
  static const struct {
    aihw_device_type type;
    size_t offset;
    const char *name;
  } cases[] = {
      {AIHW_DEVICE_CONSTANT_STEP, AT(dw_min), "dw_min"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(w_max), "w_max"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(reset), "reset"},
      {AIHW_DEVICE_IDEAL, AT(reset_std), "reset_std"},
      {AIHW_DEVICE_EXP_STEP, AT(A_up), "A_up"},
      {AIHW_DEVICE_EXP_STEP, AT(gamma_down), "gamma_down"},
      {AIHW_DEVICE_LINEAR_STEP, AT(reverse_offset), "reverse_offset"},
      {AIHW_DEVICE_SOFT_BOUNDS_PMAX, AT(range_max), "range_max"},
      {AIHW_DEVICE_POW_STEP, AT(pow_up_down), "pow_up_down"},
      {AIHW_DEVICE_SOFT_BOUNDS_REFERENCE, AT(reference_mean), "reference_mean"},
      {AIHW_DEVICE_PIECEWISE_STEP, AT(piecewise_up), "piecewise_up[0]"},
      {AIHW_DEVICE_CONSTANT_STEP, DRIFT_AT(nu_k), "drift.nu_k"},
      {AIHW_DEVICE_FLOATING_POINT, DRIFT_AT(nu), "drift.nu"},
  };
  const float bad[3] = {NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    for (int k = 0; k < 3; ++k) {
      aihw_device_params p = aihw_device_params_default(cases[i].type);
      p.corrupt_devices_prob = 2.0f; /* a range error elsewhere: NaN is reported first */
      p.drift.t_0 = 0.0f;
      memcpy((char *)&p + cases[i].offset, &bad[k], sizeof(float));
      CHECK_STATUS(aihw_device_params_validate(&p, "dev"), AIHW_ERR_NOT_FINITE);
      char needle[64];
      snprintf(needle, sizeof needle, "dev.%s = ", cases[i].name);
      CHECK_ERROR_MENTIONS(needle);
      CHECK_ERROR_MENTIONS("must be finite");
    }
  }
}

static void validate_rejects_bad_type_piecewise_n_and_booleans(void) {
  aihw_device_params p = aihw_device_params_default((aihw_device_type)N_TYPES);
  CHECK_STATUS(aihw_device_params_validate(&p, "dev"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("dev.type = 11: must be one of IdealDevice");
  CHECK_ERROR_MENTIONS("FloatingPointDevice (0..10)");
  char *json = (char *)&p;
  CHECK_STATUS(aihw_device_params_to_json(&p, &json), AIHW_ERR_INVALID_ARGUMENT);
  CHECK(json == NULL);

  p = aihw_device_params_default(AIHW_DEVICE_PIECEWISE_STEP);
  p.piecewise_n = 0;
  CHECK_STATUS(aihw_device_params_validate(&p, "dev"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("dev.piecewise_n = 0: must be in [1, 64]");
  p.piecewise_n = AIHW_PIECEWISE_MAX + 1;
  CHECK_STATUS(aihw_device_params_validate(&p, "dev"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("piecewise_n = 65");
  p.piecewise_n = 2; /* node 1 is 0 in the defaults: a valid (zero) step */
  CHECK_OK(aihw_device_params_validate(&p, "dev"));

  static const struct {
    aihw_device_type type;
    size_t offset;
    const char *name;
  } booleans[] = {
      {AIHW_DEVICE_CONSTANT_STEP, AT(dw_min_dtod_log_normal), "dw_min_dtod_log_normal"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(enforce_consistency), "enforce_consistency"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(perfect_bias), "perfect_bias"},
      {AIHW_DEVICE_CONSTANT_STEP, AT(count_pulses), "count_pulses"},
      {AIHW_DEVICE_EXP_STEP, AT(apply_write_noise_on_set), "apply_write_noise_on_set"},
      {AIHW_DEVICE_LINEAR_STEP, AT(allow_increasing), "allow_increasing"},
      {AIHW_DEVICE_LINEAR_STEP, AT(mean_bound_reference), "mean_bound_reference"},
      {AIHW_DEVICE_SOFT_BOUNDS, AT(mult_noise), "mult_noise"},
      {AIHW_DEVICE_SOFT_BOUNDS_PMAX, AT(reverse_up), "reverse_up"},
      {AIHW_DEVICE_SOFT_BOUNDS, AT(reverse_down), "reverse_down"},
      {AIHW_DEVICE_SOFT_BOUNDS_REFERENCE, AT(subtract_symmetry_point),
       "subtract_symmetry_point"},
      {AIHW_DEVICE_POW_STEP_REFERENCE, AT(pow_step_reference_nan_quirk),
       "pow_step_reference_nan_quirk"},
  };
  for (size_t i = 0; i < sizeof booleans / sizeof booleans[0]; ++i) {
    p = aihw_device_params_default(booleans[i].type);
    int two = 2;
    memcpy((char *)&p + booleans[i].offset, &two, sizeof two);
    CHECK_STATUS(aihw_device_params_validate(&p, "dev"), AIHW_ERR_INVALID_ARGUMENT);
    char needle[96];
    snprintf(needle, sizeof needle, "dev.%s = 2: must be 0 or 1", booleans[i].name);
    CHECK_ERROR_MENTIONS(needle);
  }
  CHECK_STATUS(aihw_device_params_validate(NULL, "dev"), AIHW_ERR_INVALID_ARGUMENT);
}

TEST_MAIN(TEST(defaults_match_aihwkit_for_every_type),
          TEST(type_names_are_aihwkit_class_names_both_ways),
          TEST(json_round_trip_is_exact_for_every_type_and_field),
          TEST(json_writes_only_the_fields_of_the_type),
          TEST(json_key_not_of_the_type_names_key_and_type),
          TEST(json_type_is_required_and_must_be_a_known_class),
          TEST(json_wrong_value_types_name_key_and_expected_type),
          TEST(json_piecewise_arrays_give_n_and_must_have_equal_length),
          TEST(json_absent_fields_take_the_class_defaults),
          TEST(json_failure_leaves_params_unchanged_and_result_is_validated),
          TEST(validate_names_field_and_range),
          TEST(validate_accepts_boundary_and_signed_values),
          TEST(validate_ignores_fields_not_of_the_type),
          TEST(validate_nan_and_inf_are_not_finite_before_range_errors),
          TEST(validate_rejects_bad_type_piecewise_n_and_booleans))
