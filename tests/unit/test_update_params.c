/* Pulsed-update parameters (reference §4.1, §8): aihwkit defaults and presets, validation
 * of every field, JSON round trip and JSON error reporting. */
#include <stdint.h>

#include "aihw/aihw.h"
#include "aihw/update_params.h"
#include "test_util.h"

/* Every field set to a valid value different from its default. */
static aihw_update_params all_fields_changed(void) {
  aihw_update_params p = aihw_update_params_default();
  p.desired_bl = 100;
  p.fixed_bl = 0;
  p.pulse_type = AIHW_PULSE_DETERMINISTIC_IMPLICIT;
  p.res = 0.012345678f;
  p.x_res_implicit = 1.0f / 3.0f;
  p.d_res_implicit = 254.0f;
  p.d_sparsity = 1;
  p.sto_round = 1;
  p.update_bl_management = 0;
  p.update_management = 0;
  p.um_grad_scale = 0.33333334f;
  p.um_reg_scale = -2.7182817f;
  p.res_steps_quirk = 1;
  return p;
}

static int float_bits_equal(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

static void check_all_fields_equal(aihw_update_params a, aihw_update_params b) {
  CHECK(a.desired_bl == b.desired_bl);
  CHECK(a.fixed_bl == b.fixed_bl);
  CHECK(a.pulse_type == b.pulse_type);
  CHECK(float_bits_equal(a.res, b.res));
  CHECK(float_bits_equal(a.x_res_implicit, b.x_res_implicit));
  CHECK(float_bits_equal(a.d_res_implicit, b.d_res_implicit));
  CHECK(a.d_sparsity == b.d_sparsity);
  CHECK(a.sto_round == b.sto_round);
  CHECK(a.update_bl_management == b.update_bl_management);
  CHECK(a.update_management == b.update_management);
  CHECK(float_bits_equal(a.um_grad_scale, b.um_grad_scale));
  CHECK(float_bits_equal(a.um_reg_scale, b.um_reg_scale));
  CHECK(a.res_steps_quirk == b.res_steps_quirk);
}

static aihw_update_params json_round_trip(const aihw_update_params *p) {
  aihw_update_params back = aihw_update_params_default();
  char *json = NULL;
  CHECK_OK(aihw_update_params_to_json(p, &json));
  if (json != NULL)
    CHECK_OK(aihw_update_params_from_json(json, &back));
  free(json);
  return back;
}

static void defaults_match_aihwkit_python_defaults(void) {
  aihw_update_params p = aihw_update_params_default();
  CHECK(p.desired_bl == 31);
  CHECK(p.fixed_bl == 1);
  CHECK(p.pulse_type == AIHW_PULSE_STOCHASTIC_COMPRESSED);
  CHECK_FEQ(p.res, 0.0f);
  CHECK_FEQ(p.x_res_implicit, 0.0f);
  CHECK_FEQ(p.d_res_implicit, 0.0f);
  CHECK(p.d_sparsity == 0);
  CHECK(p.sto_round == 0);
  CHECK(p.update_bl_management == 1);
  CHECK(p.update_management == 1);
  CHECK_FEQ(p.um_grad_scale, 1.0f);
  CHECK_FEQ(p.um_reg_scale, 1.0f);
  CHECK(p.res_steps_quirk == 0);
  CHECK_OK(aihw_update_params_validate(&p, "update"));
}

static void presets_match_aihwkit(void) {
  aihw_update_params d = aihw_update_params_default(), p = all_fields_changed();
  CHECK_OK(aihw_update_params_preset("UpdateParameters", &p));
  check_all_fields_equal(p, d);
  /* PresetUpdateParameters: BL 31, STOCHASTIC_COMPRESSED, UBLM and UM on (§8) — which
   * are the defaults, so the whole struct equals them. */
  p = all_fields_changed();
  CHECK_OK(aihw_update_params_preset("PresetUpdateParameters", &p));
  CHECK(p.desired_bl == 31);
  CHECK(p.pulse_type == AIHW_PULSE_STOCHASTIC_COMPRESSED);
  CHECK(p.update_bl_management == 1 && p.update_management == 1);
  check_all_fields_equal(p, d);
}

static void preset_unknown_name_lists_known_names_and_keeps_out(void) {
  aihw_update_params p = all_fields_changed(), before = p;
  CHECK_STATUS(aihw_update_params_preset("FastUpdate", &p), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("'FastUpdate'");
  CHECK_ERROR_MENTIONS("UpdateParameters, PresetUpdateParameters");
  check_all_fields_equal(p, before);
}

static void null_arguments_are_invalid_argument(void) {
  aihw_update_params p = aihw_update_params_default();
  char *json = (char *)&p;
  CHECK_STATUS(aihw_update_params_preset(NULL, &p), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_update_params_preset("UpdateParameters", NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_update_params_validate(NULL, "update"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_update_params_to_json(NULL, &json), AIHW_ERR_INVALID_ARGUMENT);
  CHECK(json == NULL);
  CHECK_STATUS(aihw_update_params_to_json(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_update_params_from_json(NULL, &p), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_update_params_from_json("{}", NULL), AIHW_ERR_INVALID_ARGUMENT);
}

static void validate_desired_bl_range_is_1_to_1024(void) {
  aihw_update_params p = aihw_update_params_default();
  p.desired_bl = 0;
  CHECK_STATUS(aihw_update_params_validate(&p, "update"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("update.desired_bl = 0: must be in [1, 1024]");
  p.desired_bl = 1025;
  CHECK_STATUS(aihw_update_params_validate(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK(strncmp(aihw_last_error(), "desired_bl = 1025", 17) == 0);
  p.desired_bl = 1;
  CHECK_OK(aihw_update_params_validate(&p, NULL));
  p.desired_bl = AIHW_UPDATE_MAX_BL;
  CHECK_OK(aihw_update_params_validate(&p, NULL));
}

#define AT(field) offsetof(aihw_update_params, field)

static void validate_names_field_and_range(void) {
  static const struct {
    size_t offset;
    float value;
    const char *message;
  } floats[] = {
      {AT(res), -0.1f, "up.res = -0.100000001: must be >= 0"},
      {AT(x_res_implicit), -1.0f, "up.x_res_implicit = -1: must be >= 0"},
      {AT(d_res_implicit), -1.0f, "up.d_res_implicit = -1: must be >= 0"},
      {AT(um_grad_scale), 0.0f, "up.um_grad_scale = 0: must be > 0"},
      {AT(um_grad_scale), -1.0f, "up.um_grad_scale = -1: must be > 0"},
  };
  for (size_t i = 0; i < sizeof floats / sizeof floats[0]; ++i) {
    aihw_update_params p = aihw_update_params_default();
    memcpy((char *)&p + floats[i].offset, &floats[i].value, sizeof(float));
    CHECK_STATUS(aihw_update_params_validate(&p, "up"), AIHW_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS(floats[i].message);
  }
  /* resolutions: 0 (off), bin widths and step counts are all accepted */
  aihw_update_params p = aihw_update_params_default();
  p.res = 0.5f;
  p.x_res_implicit = 254.0f;
  p.d_res_implicit = 1e-6f;
  p.um_reg_scale = -5.0f; /* unused by aihwkit: any finite value */
  CHECK_OK(aihw_update_params_validate(&p, NULL));
}

static void validate_rejects_out_of_range_enum_and_booleans(void) {
  aihw_update_params p = aihw_update_params_default();
  p.pulse_type = (aihw_pulse_type)6;
  CHECK_STATUS(aihw_update_params_validate(&p, "update"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("update.pulse_type = 6: must be one of NONE, STOCHASTIC_COMPRESSED, "
                       "STOCHASTIC, NONE_WITH_DEVICE, MEAN_COUNT, DETERMINISTIC_IMPLICIT");
  p.pulse_type = (aihw_pulse_type)-1;
  CHECK_STATUS(aihw_update_params_validate(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("pulse_type = -1");

  p = aihw_update_params_default();
  int *booleans[] = {&p.fixed_bl,          &p.d_sparsity,
                     &p.sto_round,         &p.update_bl_management,
                     &p.update_management, &p.res_steps_quirk};
  const char *names[] = {"fixed_bl = 2",          "d_sparsity = 2",
                         "sto_round = 2",         "update_bl_management = 2",
                         "update_management = 2", "res_steps_quirk = 2"};
  for (int i = 0; i < 6; ++i) {
    int saved = *booleans[i];
    *booleans[i] = 2;
    CHECK_STATUS(aihw_update_params_validate(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS(names[i]);
    CHECK_ERROR_MENTIONS("must be 0 or 1");
    *booleans[i] = saved;
  }
  CHECK_OK(aihw_update_params_validate(&p, NULL));
}

static void nan_and_inf_are_not_finite_naming_the_field(void) {
  static const struct {
    size_t offset;
    const char *name;
  } floats[] = {{AT(res), "res"},
                {AT(x_res_implicit), "x_res_implicit"},
                {AT(d_res_implicit), "d_res_implicit"},
                {AT(um_grad_scale), "um_grad_scale"},
                {AT(um_reg_scale), "um_reg_scale"}};
  const float bad[3] = {NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < sizeof floats / sizeof floats[0]; ++i) {
    for (int k = 0; k < 3; ++k) {
      aihw_update_params p = aihw_update_params_default();
      p.desired_bl = 0; /* a range error elsewhere: NaN must still be reported first */
      memcpy((char *)&p + floats[i].offset, &bad[k], sizeof(float));
      CHECK_STATUS(aihw_update_params_validate(&p, "up"), AIHW_ERR_NOT_FINITE);
      char needle[64];
      snprintf(needle, sizeof needle, "up.%s = ", floats[i].name);
      CHECK_ERROR_MENTIONS(needle);
      CHECK_ERROR_MENTIONS("must be finite");
    }
  }
}

static void json_round_trip_is_exact_for_every_field(void) {
  aihw_update_params p = all_fields_changed(), d = aihw_update_params_default();
  int same_fields = 0;
  for (size_t at = 0; at < sizeof p; at += 4)
    same_fields += memcmp((char *)&p + at, (char *)&d + at, 4) == 0;
  CHECK(same_fields == 0);   /* the fixture changes every field */
  CHECK(sizeof p == 13 * 4); /* a new field must be added to the fixture */
  CHECK_OK(aihw_update_params_validate(&p, NULL));
  check_all_fields_equal(json_round_trip(&p), p);
  check_all_fields_equal(json_round_trip(&d), d);
  for (int t = 0; t < 6; ++t) {
    aihw_update_params q = d;
    q.pulse_type = (aihw_pulse_type)t;
    check_all_fields_equal(json_round_trip(&q), q);
  }
}

/* 20000 pseudo-random finite bit patterns (fixed seed; all exponents, subnormals, both
 * signs, integers among them) through um_reg_scale, which accepts any finite value: each
 * must come back bit-exact. */
static void json_float_text_round_trips_random_bit_patterns(void) {
  uint32_t state = 2024u;
  int failures = 0;
  for (int i = 0; i < 20000 && failures < 5; ++i) {
    state = state * 1664525u + 1013904223u;
    uint32_t bits = state ^ (state >> 13);
    float v;
    memcpy(&v, &bits, sizeof v);
    if (i % 4 == 0)
      v = (float)(int32_t)(bits >> (bits & 15u)); /* integers: the "%.0f" branch */
    if (!isfinite(v))
      continue;
    aihw_update_params p = aihw_update_params_default();
    p.um_reg_scale = v;
    aihw_update_params back = json_round_trip(&p);
    if (!float_bits_equal(back.um_reg_scale, v)) {
      fprintf(stderr, "um_reg_scale %.9g (0x%08x) came back as %.9g\n", (double)v, bits,
              (double)back.um_reg_scale);
      ++failures;
    }
  }
  CHECK(failures == 0);
}

static void json_writes_shortest_floats_booleans_and_python_enum_names(void) {
  aihw_update_params p = aihw_update_params_default();
  p.res = 0.1f;
  char *json = NULL;
  CHECK_OK(aihw_update_params_to_json(&p, &json));
  if (json == NULL)
    return;
  CHECK(strstr(json, "\"desired_bl\":\t31") != NULL);
  CHECK(strstr(json, "\"fixed_bl\":\ttrue") != NULL);
  CHECK(strstr(json, "\"pulse_type\":\t\"STOCHASTIC_COMPRESSED\"") != NULL);
  CHECK(strstr(json, "\"res\":\t0.1,") != NULL); /* not 0.100000001 */
  CHECK(strstr(json, "\"d_sparsity\":\tfalse") != NULL);
  CHECK(strstr(json, "\"um_grad_scale\":\t1") != NULL);
  CHECK(strstr(json, "\"res_steps_quirk\":\tfalse") != NULL);
  free(json);
  /* integers are written as such when that is shortest: 1000, not 1e+03 */
  p.um_reg_scale = 1000.0f;
  p.x_res_implicit = 1e6f;
  CHECK_OK(aihw_update_params_to_json(&p, &json));
  if (json == NULL)
    return;
  CHECK(strstr(json, "\"um_reg_scale\":\t1000") != NULL);
  CHECK(strstr(json, "\"x_res_implicit\":\t1e+06") != NULL);
  free(json);
}

static void json_pulse_type_names_match_aihwkit(void) {
  static const char *const names[] = {"NONE",       "STOCHASTIC_COMPRESSED",
                                      "STOCHASTIC", "NONE_WITH_DEVICE",
                                      "MEAN_COUNT", "DETERMINISTIC_IMPLICIT"};
  static const char *const values[] = {"None",       "StochasticCompressed",
                                       "Stochastic", "NoneWithDevice",
                                       "MeanCount",  "DeterministicImplicit"};
  for (int i = 0; i < 6; ++i) {
    CHECK(strcmp(aihw_pulse_type_name((aihw_pulse_type)i), names[i]) == 0);
    char json[128];
    aihw_update_params p = aihw_update_params_default();
    snprintf(json, sizeof json, "{\"pulse_type\": \"%s\"}", names[i]);
    CHECK_OK(aihw_update_params_from_json(json, &p));
    CHECK(p.pulse_type == (aihw_pulse_type)i);
    /* aihwkit's Enum values, which its own dumps contain, read the same */
    p = aihw_update_params_default();
    snprintf(json, sizeof json, "{\"pulse_type\": \"%s\"}", values[i]);
    CHECK_OK(aihw_update_params_from_json(json, &p));
    CHECK(p.pulse_type == (aihw_pulse_type)i);
  }
  CHECK(aihw_pulse_type_name((aihw_pulse_type)6) == NULL);
  CHECK(aihw_pulse_type_name((aihw_pulse_type)-1) == NULL);
}

static void json_unknown_pulse_type_lists_allowed_names(void) {
  aihw_update_params p = aihw_update_params_default();
  CHECK_STATUS(aihw_update_params_from_json("{\"pulse_type\": \"STOCHASTIC_FAST\"}", &p),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("pulse_type");
  CHECK_ERROR_MENTIONS("'STOCHASTIC_FAST'");
  CHECK_ERROR_MENTIONS("NONE, STOCHASTIC_COMPRESSED, STOCHASTIC, NONE_WITH_DEVICE, MEAN_COUNT, "
                       "DETERMINISTIC_IMPLICIT");
}

static void json_unknown_and_duplicate_keys_are_errors_naming_the_key(void) {
  aihw_update_params p = aihw_update_params_default();
  CHECK_STATUS(aihw_update_params_from_json("{\"desired_BL\": 10}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("unknown update parameter 'desired_BL'");
  CHECK_STATUS(aihw_update_params_from_json("{\"res\": 0.1, \"res\": 0.2}", &p),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'res' appears twice");
}

static void json_wrong_type_names_key_and_expected_type(void) {
  aihw_update_params p = aihw_update_params_default();
  CHECK_STATUS(aihw_update_params_from_json("{\"res\": \"0.1\"}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'res': expected a number, got a string");
  CHECK_STATUS(aihw_update_params_from_json("{\"fixed_bl\": \"yes\"}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'fixed_bl': expected true/false (or 0/1), got a string");
  CHECK_STATUS(aihw_update_params_from_json("{\"fixed_bl\": 2}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'fixed_bl': expected true/false (or 0/1), got 2");
  CHECK_STATUS(aihw_update_params_from_json("{\"pulse_type\": 1}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'pulse_type': expected a string, got a number");
  CHECK_STATUS(aihw_update_params_from_json("{\"desired_bl\": null}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'desired_bl': expected an integer, got null");
  CHECK_STATUS(aihw_update_params_from_json("{\"desired_bl\": 2.5}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'desired_bl': expected an integer");
  CHECK_STATUS(aihw_update_params_from_json("[31]", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("expected a JSON object, got an array");
}

static void json_absent_keys_keep_previous_values(void) {
  aihw_update_params p = all_fields_changed(), expected = p;
  CHECK_OK(aihw_update_params_from_json("{\"desired_bl\": 7, \"sto_round\": false}", &p));
  expected.desired_bl = 7;
  expected.sto_round = 0;
  check_all_fields_equal(p, expected);
}

static void json_failure_leaves_params_unchanged_and_result_is_validated(void) {
  static const char *const bad[] = {
      "{\"desired_bl\": 5, \"desired_BL\": 1}",     /* unknown key after a good one */
      "{\"desired_bl\": 5, \"pulse_type\": \"X\"}", /* bad enum after a good one */
      "{\"desired_bl\": 5, \"um_grad_scale\": 0}",  /* parses, fails validation */
      "{\"desired_bl\": 5, \"res\": 1e39}",         /* overflows float: not finite */
      "{\"desired_bl\": 5,",                        /* truncated */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    aihw_update_params p = all_fields_changed(), before = p;
    CHECK(aihw_update_params_from_json(bad[i], &p) != AIHW_OK);
    check_all_fields_equal(p, before);
  }
  aihw_update_params p = aihw_update_params_default();
  CHECK_STATUS(aihw_update_params_from_json("{\"desired_bl\": 2000}", &p),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("desired_bl = 2000: must be in [1, 1024]");
  CHECK_STATUS(aihw_update_params_from_json("{\"res\": 1e39}", &p), AIHW_ERR_NOT_FINITE);
  CHECK_ERROR_MENTIONS("res = inf");
}

static void to_json_refuses_invalid_params(void) {
  aihw_update_params p = aihw_update_params_default();
  p.um_grad_scale = -1.0f;
  char *json = (char *)&p;
  CHECK_STATUS(aihw_update_params_to_json(&p, &json), AIHW_ERR_INVALID_ARGUMENT);
  CHECK(json == NULL);
  CHECK_ERROR_MENTIONS("um_grad_scale");
}

TEST_MAIN(TEST(defaults_match_aihwkit_python_defaults), TEST(presets_match_aihwkit),
          TEST(preset_unknown_name_lists_known_names_and_keeps_out),
          TEST(null_arguments_are_invalid_argument),
          TEST(validate_desired_bl_range_is_1_to_1024), TEST(validate_names_field_and_range),
          TEST(validate_rejects_out_of_range_enum_and_booleans),
          TEST(nan_and_inf_are_not_finite_naming_the_field),
          TEST(json_round_trip_is_exact_for_every_field),
          TEST(json_float_text_round_trips_random_bit_patterns),
          TEST(json_writes_shortest_floats_booleans_and_python_enum_names),
          TEST(json_pulse_type_names_match_aihwkit),
          TEST(json_unknown_pulse_type_lists_allowed_names),
          TEST(json_unknown_and_duplicate_keys_are_errors_naming_the_key),
          TEST(json_wrong_type_names_key_and_expected_type),
          TEST(json_absent_keys_keep_previous_values),
          TEST(json_failure_leaves_params_unchanged_and_result_is_validated),
          TEST(to_json_refuses_invalid_params))
