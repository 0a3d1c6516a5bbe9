/* IO parameters (reference §3.1, §3.2): aihwkit defaults and presets, validation of every
 * field, JSON round trip and JSON error reporting. */
#include <float.h>
#include <stdint.h>

#include "aihw/aihw.h"
#include "test_util.h"

/* Every field set to a valid value different from its default. is_perfect is on so that
 * inp_bound may differ from 1 while noise management stays on. Floats have many digits so
 * that the JSON text must carry all of them. */
static aihw_io_params all_fields_changed(void) {
  aihw_io_params p = aihw_io_params_default();
  p.is_perfect = 1;
  p.mv_type = AIHW_MV_POS_NEG_SEPARATE_DIGITAL_SUM;
  p.inp_bound = 2.7182817f;
  p.inp_res = 1.0f / 254.0f;
  p.inp_sto_round = 1;
  p.inp_noise = 0.012345678f;
  p.inp_asymmetry = 0.33333334f;
  p.out_bound = 19.999998f;
  p.out_res = 1022.0f;
  p.out_sto_round = 1;
  p.out_noise = 0.1f;
  p.out_noise_std = 0.3f;
  p.out_scale = -3.1415927f;
  p.out_asymmetry = 0.05f;
  p.bound_management = AIHW_BM_ITERATIVE_WORST_CASE;
  p.noise_management = AIHW_NM_AVERAGE_ABS_MAX;
  p.nm_thres = 7.5e-5f;
  p.nm_assumed_wmax = 0.9f;
  p.nm_decay = 0.0123f;
  p.max_bm_factor = 7;
  p.max_bm_res = 1e-30f;
  p.bm_test_negative_bound = 0;
  p.w_noise_type = AIHW_W_NOISE_PCM_READ;
  p.w_noise = 0.0175f;
  p.ir_drop = 1.5f;
  p.ir_drop_g_ratio = 3000.25f;
  p.out_nonlinearity = 0.7f;
  p.out_nonlinearity_std = 0.15f;
  p.slope_calibration = 0.5f;
  p.v_offset_std = 1.4e-45f; /* smallest subnormal */
  p.v_offset_w_min = 0.0f;
  p.r_series = 0.2f;
  p.r_series_max_total = 3.5f;
  p.w_read_asymmetry_dtod = 0.01f;
  p.bm_negative_bound_quirk = 1;
  p.v_offset_quirk = 1;
  return p;
}

/* Compares every field exactly (floats bit for bit, so -0 and +0 differ). */
static int float_bits_equal(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

#define CHECK_SAME_FLOAT(a, b, f) CHECK(float_bits_equal((a).f, (b).f))
#define CHECK_SAME_INT(a, b, f) CHECK((int)(a).f == (int)(b).f)

static void check_all_fields_equal(aihw_io_params a, aihw_io_params b) {
  CHECK_SAME_INT(a, b, is_perfect);
  CHECK_SAME_INT(a, b, mv_type);
  CHECK_SAME_FLOAT(a, b, inp_bound);
  CHECK_SAME_FLOAT(a, b, inp_res);
  CHECK_SAME_INT(a, b, inp_sto_round);
  CHECK_SAME_FLOAT(a, b, inp_noise);
  CHECK_SAME_FLOAT(a, b, inp_asymmetry);
  CHECK_SAME_FLOAT(a, b, out_bound);
  CHECK_SAME_FLOAT(a, b, out_res);
  CHECK_SAME_INT(a, b, out_sto_round);
  CHECK_SAME_FLOAT(a, b, out_noise);
  CHECK_SAME_FLOAT(a, b, out_noise_std);
  CHECK_SAME_FLOAT(a, b, out_scale);
  CHECK_SAME_FLOAT(a, b, out_asymmetry);
  CHECK_SAME_INT(a, b, bound_management);
  CHECK_SAME_INT(a, b, noise_management);
  CHECK_SAME_FLOAT(a, b, nm_thres);
  CHECK_SAME_FLOAT(a, b, nm_assumed_wmax);
  CHECK_SAME_FLOAT(a, b, nm_decay);
  CHECK_SAME_INT(a, b, max_bm_factor);
  CHECK_SAME_FLOAT(a, b, max_bm_res);
  CHECK_SAME_INT(a, b, bm_test_negative_bound);
  CHECK_SAME_INT(a, b, w_noise_type);
  CHECK_SAME_FLOAT(a, b, w_noise);
  CHECK_SAME_FLOAT(a, b, ir_drop);
  CHECK_SAME_FLOAT(a, b, ir_drop_g_ratio);
  CHECK_SAME_FLOAT(a, b, out_nonlinearity);
  CHECK_SAME_FLOAT(a, b, out_nonlinearity_std);
  CHECK_SAME_FLOAT(a, b, slope_calibration);
  CHECK_SAME_FLOAT(a, b, v_offset_std);
  CHECK_SAME_FLOAT(a, b, v_offset_w_min);
  CHECK_SAME_FLOAT(a, b, r_series);
  CHECK_SAME_FLOAT(a, b, r_series_max_total);
  CHECK_SAME_FLOAT(a, b, w_read_asymmetry_dtod);
  CHECK_SAME_INT(a, b, bm_negative_bound_quirk);
  CHECK_SAME_INT(a, b, v_offset_quirk);
}

/* Writes p, reads it back into a default struct; returns the read-back value. */
static aihw_io_params json_round_trip(const aihw_io_params *p) {
  aihw_io_params back = aihw_io_params_default();
  char *json = NULL;
  CHECK_OK(aihw_io_params_to_json(p, &json));
  if (json != NULL)
    CHECK_OK(aihw_io_params_from_json(json, &back));
  free(json);
  return back;
}

static void defaults_match_aihwkit_python_defaults(void) {
  aihw_io_params p = aihw_io_params_default();
  CHECK(p.is_perfect == 0);
  CHECK(p.mv_type == AIHW_MV_ONE_PASS);
  CHECK_FEQ(p.inp_bound, 1.0f);
  CHECK_FEQ(p.inp_res, (float)(1.0 / 126.0));
  CHECK(p.inp_sto_round == 0);
  CHECK_FEQ(p.inp_noise, 0.0f);
  CHECK_FEQ(p.inp_asymmetry, 0.0f);
  CHECK_FEQ(p.out_bound, 12.0f);
  CHECK_FEQ(p.out_res, (float)(1.0 / 510.0));
  CHECK(p.out_sto_round == 0);
  CHECK_FEQ(p.out_noise, (float)0.06);
  CHECK_FEQ(p.out_noise_std, 0.0f);
  CHECK_FEQ(p.out_scale, 1.0f);
  CHECK_FEQ(p.out_asymmetry, 0.0f);
  CHECK(p.bound_management == AIHW_BM_ITERATIVE); /* Python, not C++'s NONE */
  CHECK(p.noise_management == AIHW_NM_ABS_MAX);
  CHECK_FEQ(p.nm_thres, 0.0f);
  CHECK_FEQ(p.nm_assumed_wmax, (float)0.6);
  CHECK_FEQ(p.nm_decay, (float)1e-3);
  CHECK(p.max_bm_factor == 1000);
  CHECK_FEQ(p.max_bm_res, 0.25f);
  CHECK(p.bm_test_negative_bound == 1);
  CHECK(p.w_noise_type == AIHW_W_NOISE_NONE);
  CHECK_FEQ(p.w_noise, 0.0f);
  CHECK_FEQ(p.ir_drop, 0.0f);
  CHECK_FEQ(p.ir_drop_g_ratio, (float)(1.0 / 0.35 / 5e-6)); /* not C++'s 5.7143e5 */
  CHECK_FEQ(p.out_nonlinearity, 0.0f);
  CHECK_FEQ(p.out_nonlinearity_std, 0.0f);
  CHECK_FEQ(p.slope_calibration, 0.0f); /* Python, not C++'s 0.5 */
  CHECK_FEQ(p.v_offset_std, 0.0f);
  CHECK_FEQ(p.v_offset_w_min, -1.0f); /* Python, not C++'s 0 */
  CHECK_FEQ(p.r_series, 0.0f);
  CHECK_FEQ(p.r_series_max_total, FLT_MAX);
  CHECK_FEQ(p.w_read_asymmetry_dtod, 0.0f);
  CHECK(p.bm_negative_bound_quirk == 0);
  CHECK(p.v_offset_quirk == 0);
  CHECK_OK(aihw_io_params_validate(&p, "forward"));
}

static void presets_match_aihwkit(void) {
  aihw_io_params d = aihw_io_params_default(), p;

  CHECK_OK(aihw_io_params_preset("IOParameters", &p));
  check_all_fields_equal(p, d);

  CHECK_OK(aihw_io_params_preset("PresetIOParameters", &p));
  aihw_io_params expected = d;
  expected.out_bound = 20.0f;
  expected.out_noise = (float)0.1;
  check_all_fields_equal(p, expected); /* BM, NM, resolutions, w_noise as default */
  CHECK_OK(aihw_io_params_validate(&p, NULL));

  CHECK_OK(aihw_io_params_preset("StandardIOParameters", &p));
  expected = d;
  expected.inp_res = (float)(1.0 / 254.0);
  expected.out_bound = 10.0f;
  expected.out_noise = (float)0.04;
  expected.out_res = (float)(1.0 / 254.0);
  check_all_fields_equal(p, expected);
  CHECK_OK(aihw_io_params_validate(&p, NULL));

  CHECK_OK(aihw_io_params_preset("PerfectIOParameters", &p));
  expected = d;
  expected.is_perfect = 1;
  check_all_fields_equal(p, expected);
  CHECK_OK(aihw_io_params_validate(&p, NULL));
}

static void preset_unknown_name_lists_known_names_and_keeps_out(void) {
  aihw_io_params p = all_fields_changed(), before = p;
  CHECK_STATUS(aihw_io_params_preset("FancyIOParameters", &p), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("FancyIOParameters");
  CHECK_ERROR_MENTIONS("IOParameters, PresetIOParameters, StandardIOParameters, "
                       "PerfectIOParameters");
  check_all_fields_equal(p, before);
}

static void null_arguments_are_invalid_argument(void) {
  aihw_io_params p = aihw_io_params_default();
  char *json = (char *)&p; /* must be reset to NULL on failure */
  CHECK_STATUS(aihw_io_params_preset(NULL, &p), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_io_params_preset("IOParameters", NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_io_params_validate(NULL, "forward"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_io_params_to_json(NULL, &json), AIHW_ERR_INVALID_ARGUMENT);
  CHECK(json == NULL);
  CHECK_STATUS(aihw_io_params_to_json(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_io_params_from_json(NULL, &p), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_io_params_from_json("{}", NULL), AIHW_ERR_INVALID_ARGUMENT);
}

static void validate_rejects_inp_bound_not_one_with_noise_management(void) {
  aihw_io_params p = aihw_io_params_default();
  p.inp_bound = 2.0f;
  CHECK_STATUS(aihw_io_params_validate(&p, "forward"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("forward.inp_bound = 2: must be 1 when noise_management is not NONE");
  p.inp_bound = 0.0f; /* "no bound" is still not 1 */
  CHECK_STATUS(aihw_io_params_validate(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("inp_bound = 0");
}

static void validate_allows_any_inp_bound_without_nm_or_when_perfect(void) {
  aihw_io_params p = aihw_io_params_default();
  p.inp_bound = 2.0f;
  p.noise_management = AIHW_NM_NONE;
  CHECK_OK(aihw_io_params_validate(&p, NULL));
  p.noise_management = AIHW_NM_CONSTANT;
  p.is_perfect = 1;
  CHECK_OK(aihw_io_params_validate(&p, NULL));
  p.is_perfect = 0;
  p.mv_type = AIHW_MV_IDEAL;
  CHECK_OK(aihw_io_params_validate(&p, NULL));
  /* perfect still checks the other fields */
  p.out_noise = -1.0f;
  CHECK_STATUS(aihw_io_params_validate(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("out_noise");
}

#define AT(field) offsetof(aihw_io_params, field)

/* One out-of-range value per range-checked field, with the message it must produce. */
static void validate_names_field_and_range(void) {
  static const struct {
    size_t offset;
    float value;
    const char *message;
  } floats[] = {
      {AT(inp_noise), -0.5f, "fwd.inp_noise = -0.5: must be >= 0"},
      {AT(inp_asymmetry), 1.5f, "fwd.inp_asymmetry = 1.5: must be in [0, 1]"},
      {AT(inp_asymmetry), -0.1f, "fwd.inp_asymmetry = -0.100000001: must be in [0, 1]"},
      {AT(out_noise), -1.0f, "fwd.out_noise = -1: must be >= 0"},
      {AT(out_noise_std), -1.0f, "fwd.out_noise_std = -1: must be >= 0"},
      {AT(out_asymmetry), 2.0f, "fwd.out_asymmetry = 2: must be in [0, 1]"},
      {AT(nm_thres), -1.0f, "fwd.nm_thres = -1: must be >= 0"},
      {AT(nm_assumed_wmax), 0.0f, "fwd.nm_assumed_wmax = 0: must be > 0"},
      {AT(nm_decay), 0.0f, "fwd.nm_decay = 0: must be in (0, 1]"},
      {AT(nm_decay), 1.5f, "fwd.nm_decay = 1.5: must be in (0, 1]"},
      {AT(max_bm_res), 0.0f, "fwd.max_bm_res = 0: must be > 0"},
      {AT(w_noise), -1.0f, "fwd.w_noise = -1: must be >= 0"},
      {AT(ir_drop), -1.0f, "fwd.ir_drop = -1: must be >= 0"},
      {AT(ir_drop_g_ratio), 0.0f, "fwd.ir_drop_g_ratio = 0: must be > 0"},
      {AT(out_nonlinearity), -1.0f, "fwd.out_nonlinearity = -1: must be >= 0"},
      {AT(out_nonlinearity_std), -1.0f, "fwd.out_nonlinearity_std = -1: must be >= 0"},
      {AT(slope_calibration), -1.0f, "fwd.slope_calibration = -1: must be >= 0"},
      {AT(v_offset_std), -1.0f, "fwd.v_offset_std = -1: must be >= 0"},
      {AT(r_series), -1.0f, "fwd.r_series = -1: must be >= 0"},
      {AT(r_series_max_total), -1.0f, "fwd.r_series_max_total = -1: must be >= 0"},
      {AT(w_read_asymmetry_dtod), -1.0f, "fwd.w_read_asymmetry_dtod = -1: must be >= 0"},
  };
  for (size_t i = 0; i < sizeof floats / sizeof floats[0]; ++i) {
    aihw_io_params p = aihw_io_params_default();
    memcpy((char *)&p + floats[i].offset, &floats[i].value, sizeof(float));
    CHECK_STATUS(aihw_io_params_validate(&p, "fwd"), AIHW_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS(floats[i].message);
  }

  aihw_io_params p = aihw_io_params_default();
  p.max_bm_factor = 0;
  CHECK_STATUS(aihw_io_params_validate(&p, "fwd"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("fwd.max_bm_factor = 0: must be >= 1");

  /* Without `what` the bare field name starts the message. */
  p = aihw_io_params_default();
  p.out_noise = -1.0f;
  CHECK_STATUS(aihw_io_params_validate(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK(strncmp(aihw_last_error(), "out_noise = -1", 14) == 0);
}

static void validate_accepts_any_finite_bound_resolution_scale_and_w_min(void) {
  aihw_io_params p = aihw_io_params_default();
  p.noise_management = AIHW_NM_NONE;
  const float values[] = {-5.0f, 0.0f, 0.5f, 254.0f, 1e30f};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; ++i) {
    p.inp_bound = p.inp_res = p.out_bound = p.out_res = values[i];
    p.out_scale = p.v_offset_w_min = values[i];
    CHECK_OK(aihw_io_params_validate(&p, NULL));
  }
}

static void validate_rejects_out_of_range_enums_and_booleans(void) {
  aihw_io_params p = aihw_io_params_default();
  p.noise_management = (aihw_noise_management)6;
  CHECK_STATUS(aihw_io_params_validate(&p, "bwd"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("bwd.noise_management = 6: must be one of NONE, ABS_MAX, "
                       "ABS_MAX_NP_SUM, MAX, CONSTANT, AVERAGE_ABS_MAX");

  p = aihw_io_params_default();
  p.mv_type = (aihw_mv_type)-1;
  CHECK_STATUS(aihw_io_params_validate(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("mv_type = -1");

  p = aihw_io_params_default();
  p.bound_management = (aihw_bound_management)3;
  CHECK_STATUS(aihw_io_params_validate(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("bound_management = 3");

  p = aihw_io_params_default();
  p.w_noise_type = (aihw_w_noise_type)3;
  CHECK_STATUS(aihw_io_params_validate(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("w_noise_type = 3");

  int *booleans[5];
  p = aihw_io_params_default();
  booleans[0] = &p.is_perfect;
  booleans[1] = &p.inp_sto_round;
  booleans[2] = &p.out_sto_round;
  booleans[3] = &p.bm_test_negative_bound;
  booleans[4] = &p.bm_negative_bound_quirk;
  const char *names[5] = {"is_perfect = 2", "inp_sto_round = 2", "out_sto_round = 2",
                          "bm_test_negative_bound = 2", "bm_negative_bound_quirk = 2"};
  for (int i = 0; i < 5; ++i) {
    int saved = *booleans[i];
    *booleans[i] = 2;
    CHECK_STATUS(aihw_io_params_validate(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS(names[i]);
    CHECK_ERROR_MENTIONS("must be 0 or 1");
    *booleans[i] = saved;
  }
  CHECK_OK(aihw_io_params_validate(&p, NULL));
}

/* Every float field: NaN and +-inf are NOT_FINITE naming the field, also when perfect;
 * only r_series_max_total admits +inf (like its default FLT_MAX, "no cap"). */
static void nan_and_inf_are_rejected(void) {
  static const struct {
    size_t offset;
    const char *name;
  } floats[] = {
      {AT(inp_bound), "inp_bound"},
      {AT(inp_res), "inp_res"},
      {AT(inp_noise), "inp_noise"},
      {AT(inp_asymmetry), "inp_asymmetry"},
      {AT(out_bound), "out_bound"},
      {AT(out_res), "out_res"},
      {AT(out_noise), "out_noise"},
      {AT(out_noise_std), "out_noise_std"},
      {AT(out_scale), "out_scale"},
      {AT(out_asymmetry), "out_asymmetry"},
      {AT(nm_thres), "nm_thres"},
      {AT(nm_assumed_wmax), "nm_assumed_wmax"},
      {AT(nm_decay), "nm_decay"},
      {AT(max_bm_res), "max_bm_res"},
      {AT(w_noise), "w_noise"},
      {AT(ir_drop), "ir_drop"},
      {AT(ir_drop_g_ratio), "ir_drop_g_ratio"},
      {AT(out_nonlinearity), "out_nonlinearity"},
      {AT(out_nonlinearity_std), "out_nonlinearity_std"},
      {AT(slope_calibration), "slope_calibration"},
      {AT(v_offset_std), "v_offset_std"},
      {AT(v_offset_w_min), "v_offset_w_min"},
      {AT(r_series), "r_series"},
      {AT(r_series_max_total), "r_series_max_total"},
      {AT(w_read_asymmetry_dtod), "w_read_asymmetry_dtod"},
  };
  const float bad[3] = {NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < sizeof floats / sizeof floats[0]; ++i) {
    for (int k = 0; k < 3; ++k) {
      aihw_io_params p = aihw_io_params_default();
      p.is_perfect = k == 2;
      memcpy((char *)&p + floats[i].offset, &bad[k], sizeof(float));
      int inf_allowed = k == 1 && strcmp(floats[i].name, "r_series_max_total") == 0;
      if (inf_allowed) {
        CHECK_OK(aihw_io_params_validate(&p, "fwd"));
        continue;
      }
      CHECK_STATUS(aihw_io_params_validate(&p, "fwd"), AIHW_ERR_NOT_FINITE);
      char needle[64];
      snprintf(needle, sizeof needle, "fwd.%s = ", floats[i].name);
      CHECK_ERROR_MENTIONS(needle);
      CHECK_ERROR_MENTIONS("must be finite");
    }
  }
}

static void json_round_trip_is_exact_for_every_field(void) {
  aihw_io_params p = all_fields_changed(), d = aihw_io_params_default();
  /* the fixture really changes every field (a forgotten one would pass vacuously) */
  CHECK(memcmp(&p, &d, sizeof p) != 0);
  int same_fields = 0;
  for (size_t at = 0; at < sizeof p; at += 4)
    same_fields += memcmp((char *)&p + at, (char *)&d + at, 4) == 0;
  CHECK(same_fields == 0);
  CHECK(sizeof p == 36 * 4); /* a new field must be added to the fixture and this test */
  CHECK_OK(aihw_io_params_validate(&p, NULL));

  check_all_fields_equal(json_round_trip(&p), p);
  check_all_fields_equal(json_round_trip(&d), d); /* FLT_MAX and 1/126 included */
  aihw_io_params s;
  CHECK_OK(aihw_io_params_preset("StandardIOParameters", &s));
  check_all_fields_equal(json_round_trip(&s), s);
}

/* 20000 pseudo-random finite bit patterns (fixed seed, all exponents, subnormals and both
 * signs) through out_scale, which accepts any finite value: each must come back bit-exact. */
static void json_float_text_round_trips_random_bit_patterns(void) {
  uint32_t state = 12345u;
  int failures = 0;
  for (int i = 0; i < 20000 && failures < 5; ++i) {
    state = state * 1664525u + 1013904223u;
    uint32_t bits = state ^ (state >> 13);
    float v;
    memcpy(&v, &bits, sizeof v);
    if (!isfinite(v))
      continue;
    aihw_io_params p = aihw_io_params_default();
    p.out_scale = v;
    aihw_io_params back = json_round_trip(&p);
    if (!float_bits_equal(back.out_scale, v)) {
      fprintf(stderr, "out_scale %.9g (0x%08x) came back as %.9g\n", (double)v, bits,
              (double)back.out_scale);
      ++failures;
    }
  }
  CHECK(failures == 0);
}

static void json_writes_shortest_float_text_and_python_enum_names(void) {
  aihw_io_params p = aihw_io_params_default();
  char *json = NULL;
  CHECK_OK(aihw_io_params_to_json(&p, &json));
  if (json == NULL)
    return;
  CHECK(strstr(json, "\"out_noise\":\t0.06") != NULL); /* not 0.0599999987 */
  CHECK(strstr(json, "\"out_bound\":\t12") != NULL);
  CHECK(strstr(json, "\"r_series_max_total\":\t3.4028235e+38") != NULL);
  CHECK(strstr(json, "\"mv_type\":\t\"ONE_PASS\"") != NULL);
  CHECK(strstr(json, "\"noise_management\":\t\"ABS_MAX\"") != NULL);
  CHECK(strstr(json, "\"bound_management\":\t\"ITERATIVE\"") != NULL);
  CHECK(strstr(json, "\"w_noise_type\":\t\"NONE\"") != NULL);
  CHECK(strstr(json, "\"is_perfect\":\tfalse") != NULL);
  CHECK(strstr(json, "\"bm_test_negative_bound\":\ttrue") != NULL);
  CHECK(strstr(json, "\"max_bm_factor\":\t1000") != NULL);
  free(json);
}

static void json_infinite_r_series_max_total_round_trips(void) {
  aihw_io_params p = aihw_io_params_default();
  p.r_series_max_total = INFINITY;
  aihw_io_params back = json_round_trip(&p);
  CHECK(isinf(back.r_series_max_total) && back.r_series_max_total > 0);
}

static void json_enum_names_match_aihwkit(void) {
  static const char *const mv[] = {"IDEAL", "ONE_PASS", "POS_NEG_SEPARATE",
                                   "POS_NEG_SEPARATE_DIGITAL_SUM"};
  static const char *const bm[] = {"NONE", "ITERATIVE", "ITERATIVE_WORST_CASE"};
  static const char *const nm[] = {"NONE", "ABS_MAX",  "ABS_MAX_NP_SUM",
                                   "MAX",  "CONSTANT", "AVERAGE_ABS_MAX"};
  static const char *const wn[] = {"NONE", "ADDITIVE_CONSTANT", "PCM_READ"};
  for (int i = 0; i < 4; ++i)
    CHECK(strcmp(aihw_mv_type_name((aihw_mv_type)i), mv[i]) == 0);
  for (int i = 0; i < 3; ++i)
    CHECK(strcmp(aihw_bound_management_name((aihw_bound_management)i), bm[i]) == 0);
  for (int i = 0; i < 6; ++i)
    CHECK(strcmp(aihw_noise_management_name((aihw_noise_management)i), nm[i]) == 0);
  for (int i = 0; i < 3; ++i)
    CHECK(strcmp(aihw_w_noise_type_name((aihw_w_noise_type)i), wn[i]) == 0);
  CHECK(aihw_mv_type_name((aihw_mv_type)4) == NULL);
  CHECK(aihw_mv_type_name((aihw_mv_type)-1) == NULL);
  CHECK(aihw_bound_management_name((aihw_bound_management)3) == NULL);
  CHECK(aihw_noise_management_name((aihw_noise_management)6) == NULL);
  CHECK(aihw_w_noise_type_name((aihw_w_noise_type)3) == NULL);

  /* Every member name reads back as its value ... */
  for (int i = 0; i < 6; ++i) {
    char json[128];
    aihw_io_params p = aihw_io_params_default();
    snprintf(json, sizeof json, "{\"noise_management\": \"%s\"}", nm[i]);
    CHECK_OK(aihw_io_params_from_json(json, &p));
    CHECK(p.noise_management == (aihw_noise_management)i);
  }
  /* ... and so do aihwkit's Enum values, which its own dumps contain. */
  aihw_io_params p = aihw_io_params_default();
  CHECK_OK(aihw_io_params_from_json("{\"mv_type\": \"PosNegSeparateDigitalSum\", "
                                    "\"bound_management\": \"IterativeWorstCase\", "
                                    "\"noise_management\": \"AbsMaxNPSum\", "
                                    "\"w_noise_type\": \"PCMRead\"}",
                                    &p));
  CHECK(p.mv_type == AIHW_MV_POS_NEG_SEPARATE_DIGITAL_SUM);
  CHECK(p.bound_management == AIHW_BM_ITERATIVE_WORST_CASE);
  CHECK(p.noise_management == AIHW_NM_ABS_MAX_NP_SUM);
  CHECK(p.w_noise_type == AIHW_W_NOISE_PCM_READ);
}

static void json_unknown_enum_name_lists_allowed_names(void) {
  aihw_io_params p = aihw_io_params_default();
  CHECK_STATUS(aihw_io_params_from_json("{\"noise_management\": \"ABSMAX\"}", &p),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("noise_management");
  CHECK_ERROR_MENTIONS("'ABSMAX'");
  CHECK_ERROR_MENTIONS("NONE, ABS_MAX, ABS_MAX_NP_SUM, MAX, CONSTANT, AVERAGE_ABS_MAX");
  CHECK_STATUS(aihw_io_params_from_json("{\"w_noise_type\": \"none\"}", &p), AIHW_ERR_FORMAT);
}

static void unsupported_aihwkit_enums_give_unsupported(void) {
  aihw_io_params p = aihw_io_params_default();
  CHECK_STATUS(aihw_io_params_from_json("{\"mv_type\": \"SPLIT_MODE\"}", &p),
               AIHW_ERR_UNSUPPORTED);
  CHECK_ERROR_MENTIONS("SPLIT_MODE");
  CHECK_ERROR_MENTIONS("IRDropT");
  CHECK_STATUS(aihw_io_params_from_json("{\"mv_type\": \"BitWise\"}", &p),
               AIHW_ERR_UNSUPPORTED);
  CHECK_ERROR_MENTIONS("BIT_WISE");
  CHECK_STATUS(aihw_io_params_from_json("{\"bound_management\": \"SHIFT\"}", &p),
               AIHW_ERR_UNSUPPORTED);
  CHECK_ERROR_MENTIONS("SHIFT");
  CHECK_ERROR_MENTIONS("aihwkit <= 0.3");
  check_all_fields_equal(p, aihw_io_params_default());
}

static void json_unknown_key_is_error_naming_key(void) {
  aihw_io_params p = aihw_io_params_default();
  CHECK_STATUS(aihw_io_params_from_json("{\"inp_bond\": 1}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("unknown IO parameter 'inp_bond'");
  /* keys are case-sensitive, like aihwkit's attribute names */
  CHECK_STATUS(aihw_io_params_from_json("{\"Out_Noise\": 0.1}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'Out_Noise'");
}

static void json_duplicate_key_is_error(void) {
  aihw_io_params p = aihw_io_params_default();
  CHECK_STATUS(aihw_io_params_from_json("{\"out_noise\": 0.1, \"out_noise\": 0.2}", &p),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'out_noise' appears twice");
}

static void json_wrong_type_names_key_and_expected_type(void) {
  aihw_io_params p = aihw_io_params_default();
  CHECK_STATUS(aihw_io_params_from_json("{\"out_noise\": \"0.1\"}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'out_noise': expected a number, got a string");
  CHECK_STATUS(aihw_io_params_from_json("{\"is_perfect\": \"true\"}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'is_perfect': expected true/false (or 0/1), got a string");
  CHECK_STATUS(aihw_io_params_from_json("{\"mv_type\": 1}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'mv_type': expected a string, got a number");
  CHECK_STATUS(aihw_io_params_from_json("{\"max_bm_factor\": null}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'max_bm_factor': expected an integer, got null");
  CHECK_STATUS(aihw_io_params_from_json("{\"inp_res\": [1]}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'inp_res': expected a number, got an array");
}

static void json_integer_field_must_be_integral_and_in_int_range(void) {
  aihw_io_params p = aihw_io_params_default();
  CHECK_STATUS(aihw_io_params_from_json("{\"max_bm_factor\": 2.5}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'max_bm_factor': expected an integer");
  CHECK_STATUS(aihw_io_params_from_json("{\"max_bm_factor\": 3e9}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("max_bm_factor");
  CHECK(p.max_bm_factor == 1000);
  CHECK_OK(aihw_io_params_from_json("{\"max_bm_factor\": 3.0}", &p));
  CHECK(p.max_bm_factor == 3);
  CHECK_OK(aihw_io_params_from_json("{\"max_bm_factor\": 2147483647}", &p));
  CHECK(p.max_bm_factor == 2147483647);
}

static void json_booleans_accept_true_false_and_0_1(void) {
  aihw_io_params p = aihw_io_params_default();
  CHECK_OK(aihw_io_params_from_json("{\"inp_sto_round\": true, \"out_sto_round\": 1, "
                                    "\"bm_test_negative_bound\": 0, "
                                    "\"bm_negative_bound_quirk\": false}",
                                    &p));
  CHECK(p.inp_sto_round == 1 && p.out_sto_round == 1);
  CHECK(p.bm_test_negative_bound == 0 && p.bm_negative_bound_quirk == 0);
  CHECK_STATUS(aihw_io_params_from_json("{\"out_sto_round\": 2}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'out_sto_round': expected true/false (or 0/1), got 2");
}

static void json_absent_keys_keep_previous_values(void) {
  aihw_io_params p = all_fields_changed(), expected = p;
  CHECK_OK(aihw_io_params_from_json("{\"out_noise\": 0.25}", &p));
  expected.out_noise = 0.25f;
  check_all_fields_equal(p, expected);
  CHECK_OK(aihw_io_params_from_json("{}", &p));
  check_all_fields_equal(p, expected);
}

static void json_failure_leaves_params_unchanged(void) {
  static const char *const bad[] = {
      "{\"out_noise\": 0.2, \"inp_bond\": 1}",     /* unknown key after a good one */
      "{\"out_noise\": 0.2, \"mv_type\": \"X\"}",  /* bad enum after a good one */
      "{\"out_noise\": 0.2, \"inp_bound\": 2}",    /* parses, fails validation */
      "{\"out_noise\": 0.2, \"out_bound\": 1e39}", /* overflows float: not finite */
      "{\"out_noise\": 0.2,",                      /* truncated */
      "[1, 2]",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    aihw_io_params p = aihw_io_params_default(), before = p;
    CHECK(aihw_io_params_from_json(bad[i], &p) != AIHW_OK);
    check_all_fields_equal(p, before);
  }
}

static void json_result_is_validated(void) {
  aihw_io_params p = aihw_io_params_default();
  CHECK_STATUS(aihw_io_params_from_json("{\"inp_bound\": 2}", &p), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("inp_bound = 2: must be 1 when noise_management is not NONE");
  CHECK_STATUS(aihw_io_params_from_json("{\"out_noise\": -0.1}", &p),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("out_noise = -0.1");
  CHECK_STATUS(aihw_io_params_from_json("{\"out_bound\": 1e999}", &p), AIHW_ERR_NOT_FINITE);
  CHECK_ERROR_MENTIONS("out_bound");
  /* the same key set together with NM NONE is fine */
  CHECK_OK(aihw_io_params_from_json("{\"inp_bound\": 2, \"noise_management\": \"NONE\"}", &p));
  CHECK_FEQ(p.inp_bound, 2.0f);
}

static void json_syntax_errors_are_format_with_position(void) {
  aihw_io_params p = aihw_io_params_default();
  /* the colon is missing: cJSON stops at byte 13, the value where ':' was expected */
  CHECK_STATUS(aihw_io_params_from_json("{\"out_noise\" 0.1}", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("parse error at byte 13 near '0.1}'");
  CHECK_STATUS(aihw_io_params_from_json("", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("parse error at byte 0");
  CHECK_STATUS(aihw_io_params_from_json("{} trailing", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("parse error");
  CHECK_STATUS(aihw_io_params_from_json("[1, 2]", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("expected a JSON object, got an array");
  CHECK_STATUS(aihw_io_params_from_json("0.5", &p), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("got a number");
}

static void to_json_rejects_invalid_params(void) {
  aihw_io_params p = aihw_io_params_default();
  char *json = NULL;
  p.out_noise = NAN;
  CHECK_STATUS(aihw_io_params_to_json(&p, &json), AIHW_ERR_NOT_FINITE);
  CHECK(json == NULL);
  CHECK_ERROR_MENTIONS("out_noise");
  p = aihw_io_params_default();
  p.w_noise_type = (aihw_w_noise_type)9;
  CHECK_STATUS(aihw_io_params_to_json(&p, &json), AIHW_ERR_INVALID_ARGUMENT);
  CHECK(json == NULL);
  CHECK_ERROR_MENTIONS("w_noise_type = 9");
}

TEST_MAIN(TEST(defaults_match_aihwkit_python_defaults), TEST(presets_match_aihwkit),
          TEST(preset_unknown_name_lists_known_names_and_keeps_out),
          TEST(null_arguments_are_invalid_argument),
          TEST(validate_rejects_inp_bound_not_one_with_noise_management),
          TEST(validate_allows_any_inp_bound_without_nm_or_when_perfect),
          TEST(validate_names_field_and_range),
          TEST(validate_accepts_any_finite_bound_resolution_scale_and_w_min),
          TEST(validate_rejects_out_of_range_enums_and_booleans),
          TEST(nan_and_inf_are_rejected), TEST(json_round_trip_is_exact_for_every_field),
          TEST(json_float_text_round_trips_random_bit_patterns),
          TEST(json_writes_shortest_float_text_and_python_enum_names),
          TEST(json_infinite_r_series_max_total_round_trips),
          TEST(json_enum_names_match_aihwkit), TEST(json_unknown_enum_name_lists_allowed_names),
          TEST(unsupported_aihwkit_enums_give_unsupported),
          TEST(json_unknown_key_is_error_naming_key), TEST(json_duplicate_key_is_error),
          TEST(json_wrong_type_names_key_and_expected_type),
          TEST(json_integer_field_must_be_integral_and_in_int_range),
          TEST(json_booleans_accept_true_false_and_0_1),
          TEST(json_absent_keys_keep_previous_values),
          TEST(json_failure_leaves_params_unchanged), TEST(json_result_is_validated),
          TEST(json_syntax_errors_are_format_with_position),
          TEST(to_json_rejects_invalid_params))
