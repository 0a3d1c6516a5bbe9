/* Inference parameters (reference §6.1–6.6): aihwkit defaults field by field, validation of
 * every rule with the field named in the message, JSON round trips of every field, JSON
 * names, unknown keys and names, and failures that leave the parameters unchanged. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "aihw/common.h"
#include "aihw/inference.h"
#include "test_util.h"

/* Bitwise comparison: every field is 4 bytes, so the structs have no padding. */
static int same_params(const aihw_inference_params *a, const aihw_inference_params *b) {
  return memcmp(a, b, sizeof *a) == 0;
}

/* ---- defaults ----------------------------------------------------------------------- */

static void defaults_match_aihwkit_inference_rpu_config(void) {
  aihw_inference_params p = aihw_inference_params_default();
  const aihw_noise_model_params *nm = &p.noise_model;
  CHECK(nm->type == AIHW_NOISE_PCM_LIKE);
  CHECK_FEQ(nm->g_max, 25.0f);
  CHECK_FEQ(nm->t_read, 250e-9f);
  CHECK_FEQ(nm->t_0, 20.0f);
  CHECK_FEQ(nm->prog_noise_scale, 1.0f);
  CHECK_FEQ(nm->read_noise_scale, 1.0f);
  CHECK_FEQ(nm->drift_scale, 1.0f);
  CHECK(nm->n_prog_coeff == 3);
  CHECK_FEQ(nm->prog_coeff[0], 0.26348f);
  CHECK_FEQ(nm->prog_coeff[1], 1.9650f);
  CHECK_FEQ(nm->prog_coeff[2], -1.1731f);
  CHECK_FEQ(nm->prog_coeff_g_max_reference, 25.0f);
  CHECK(nm->read_noise_at_target == 0);

  CHECK(p.converter.type == AIHW_CONVERTER_SINGLE_PAIR);
  CHECK_FEQ(p.converter.g_max, 25.0f);
  CHECK_FEQ(p.converter.g_min, 0.0f);
  CHECK(p.drift_compensation == AIHW_DRIFT_COMPENSATION_GLOBAL);

  CHECK(p.clip.type == AIHW_CLIP_NONE);
  CHECK_FEQ(p.clip.fixed_value, -1.0f);
  CHECK_FEQ(p.clip.sigma, 2.5f);

  CHECK(p.remap.type == AIHW_REMAP_NONE);
  CHECK_FEQ(p.remap.remapped_wmax, 1.0f);
  CHECK_FEQ(p.remap.max_scale_range, 0.0f);
  CHECK_FEQ(p.remap.max_scale_ref, 0.0f);

  const aihw_weight_modifier_params *m = &p.modifier;
  CHECK(m->type == AIHW_MODIFIER_NONE);
  CHECK_FEQ(m->std_dev, 0.0f);
  CHECK(m->per_batch_sample == 0);
  CHECK_FEQ(m->res, 0.0f);
  CHECK(m->sto_round == 0);
  CHECK_FEQ(m->dorefa_clip, 0.6f);
  CHECK_FEQ(m->pdrop, 0.0f);
  CHECK(m->enable_during_test == 0);
  CHECK(m->rel_to_actual_wmax == 1);
  CHECK_FEQ(m->assumed_wmax, 1.0f);
  CHECK(m->copy_last_column == 0);
  CHECK(m->n_coeffs == 3);
  CHECK_FEQ(m->coeffs[0], 0.0105392f);
  CHECK_FEQ(m->coeffs[1], 0.0768f);
  CHECK_FEQ(m->coeffs[2], -0.046925f);
  CHECK_FEQ(m->g_max, 25.0f);
  CHECK_FEQ(m->pcm_zero_thres, 0.0f);
  CHECK_FEQ(m->pcm_t_inference, 0.0f);
  CHECK_FEQ(m->pcm_prob_at_reset, 0.0f);
  CHECK_FEQ(m->pcm_prob_at_gmax, 0.0f);
  CHECK_FEQ(m->pcm_prob_at_random, 0.0f);
  CHECK_FEQ(m->pcm_t0, 20.0f);
  CHECK_OK(aihw_inference_params_validate(&p, "inference"));
}

static void noise_model_defaults_follow_each_aihwkit_class(void) {
  aihw_noise_model_params si = aihw_noise_model_params_default(AIHW_NOISE_STATE_INDEPENDENT);
  CHECK(si.type == AIHW_NOISE_STATE_INDEPENDENT);
  CHECK(si.n_prog_coeff == 3);
  CHECK_FEQ(si.prog_coeff[0], 0.2f);
  CHECK_FEQ(si.prog_coeff[1], 0.0f);
  CHECK_FEQ(si.prog_coeff[2], 0.0f);
  CHECK_FEQ(si.drift_nu_mean, 0.1f);
  CHECK_FEQ(si.drift_nu_std, 0.05f);
  CHECK_FEQ(si.g_max, 25.0f);
  CHECK_FEQ(si.t_0, 20.0f);
  CHECK_FEQ(si.t_read, 250e-9f);
  CHECK_FEQ(si.drift_scale, 1.0f);

  aihw_noise_model_params cd = aihw_noise_model_params_default(AIHW_NOISE_CUSTOM_DRIFT_PCM);
  aihw_noise_model_params pcm = aihw_noise_model_params_default(AIHW_NOISE_PCM_LIKE);
  CHECK_FEQ(cd.prog_coeff[0], pcm.prog_coeff[0]);
  CHECK_FEQ(cd.prog_coeff_g_max_reference, 25.0f);
  CHECK(cd.n_custom == 3);
  CHECK_FEQ(cd.custom_g[0], 0.0f);
  CHECK_FEQ(cd.custom_g[1], 10.0f);
  CHECK_FEQ(cd.custom_g[2], 25.0f);
  CHECK_FEQ(cd.custom_nu_mean[0], 0.08f);
  CHECK_FEQ(cd.custom_nu_mean[2], 0.03f);
  CHECK_FEQ(cd.custom_nu_std[0], 0.03f);
  CHECK_FEQ(cd.custom_nu_std[2], 0.01f);

  aihw_inference_params p = aihw_inference_params_default();
  for (int t = 0; t <= (int)AIHW_NOISE_CUSTOM_DRIFT_PCM; ++t) {
    p.noise_model = aihw_noise_model_params_default((aihw_noise_model_type)t);
    CHECK(p.noise_model.type == (aihw_noise_model_type)t);
    CHECK_OK(aihw_inference_params_validate(&p, NULL));
  }
}

static void converter_defaults_follow_each_aihwkit_class(void) {
  aihw_converter_params sd = aihw_converter_params_default(AIHW_CONVERTER_SINGLE_DEVICE);
  CHECK_FEQ(sd.g_max, 88.2f);
  CHECK_FEQ(sd.g_min, 9.0f);
  aihw_converter_params dual = aihw_converter_params_default(AIHW_CONVERTER_DUAL_PAIR);
  CHECK(dual.n_f == 2);
  CHECK_FEQ(dual.f_lst[0], 1.0f);
  CHECK_FEQ(dual.f_lst[1], 3.0f);
  CHECK_FEQ(dual.g_max, 25.0f);
  aihw_converter_params npair = aihw_converter_params_default(AIHW_CONVERTER_N_PAIR);
  CHECK(npair.n_f == 3);
  CHECK_FEQ(npair.f_lst[2], 3.0f);
  aihw_converter_params custom = aihw_converter_params_default(AIHW_CONVERTER_CUSTOM_PAIR);
  CHECK(custom.n_f == 1 && custom.n_g == 6);
  CHECK_FEQ(custom.g_lst[2], 25.0f);
  CHECK_FEQ(custom.g_lst[3], 25.0f);

  /* Every converter validates with a noise model of its g_max (aihwkit takes g_max from
   * the converter). */
  aihw_inference_params p = aihw_inference_params_default();
  for (int t = 0; t <= (int)AIHW_CONVERTER_SINGLE_DEVICE; ++t) {
    p.converter = aihw_converter_params_default((aihw_converter_type)t);
    p.noise_model.g_max = p.converter.g_max;
    CHECK_OK(aihw_inference_params_validate(&p, NULL));
  }
}

/* ---- validation --------------------------------------------------------------------- */

/* Applies `change` to the defaults and expects `status` with `needle` in the message. */
#define CHECK_INVALID(change, status, needle)                         \
  do {                                                                \
    aihw_inference_params p_ = aihw_inference_params_default();       \
    change;                                                           \
    aihw_inference_params before_ = p_;                               \
    CHECK_STATUS(aihw_inference_params_validate(&p_, "cfg"), status); \
    CHECK_ERROR_MENTIONS(needle);                                     \
    CHECK(same_params(&p_, &before_));                                \
  } while (0)

static void validation_names_the_field_and_its_range(void) {
  const aihw_status bad = AIHW_ERR_INVALID_ARGUMENT;
  CHECK_INVALID(p_.modifier.std_dev = -0.1f, bad, "cfg.modifier.std_dev");
  CHECK_INVALID(p_.modifier.std_dev = -0.1f, bad, ">= 0");
  CHECK_INVALID(p_.modifier.pdrop = 1.5f, bad, "cfg.modifier.pdrop");
  CHECK_INVALID(p_.modifier.pdrop = 1.5f, bad, "[0, 1]");
  CHECK_INVALID(p_.modifier.res = -1.0f, bad, "cfg.modifier.res");
  CHECK_INVALID(p_.modifier.assumed_wmax = 0.0f, bad, "cfg.modifier.assumed_wmax");
  CHECK_INVALID(p_.modifier.pcm_prob_at_reset = 2.0f, bad, "cfg.modifier.pcm_prob_at_reset");
  CHECK_INVALID(p_.modifier.pcm_prob_at_gmax = -0.5f, bad, "cfg.modifier.pcm_prob_at_gmax");
  CHECK_INVALID(p_.modifier.pcm_prob_at_random = 1.01f, bad, "pcm_prob_at_random");
  CHECK_INVALID(p_.modifier.pcm_t0 = 0.0f, bad, "cfg.modifier.pcm_t0");
  CHECK_INVALID(p_.modifier.g_max = -25.0f, bad, "cfg.modifier.g_max");
  CHECK_INVALID(p_.modifier.n_coeffs = 0, bad, "cfg.modifier.coeffs");
  CHECK_INVALID(p_.modifier.n_coeffs = 9, bad, "1 to 8");
  CHECK_INVALID(p_.modifier.sto_round = 2, bad, "cfg.modifier.sto_round");
  CHECK_INVALID(p_.modifier.type = (aihw_weight_modifier_type)11, bad, "cfg.modifier.type");
  CHECK_INVALID(p_.modifier.type = (aihw_weight_modifier_type)11, bad, "DROP_CONNECT");
  CHECK_INVALID(p_.modifier.per_batch_sample = 1, AIHW_ERR_UNSUPPORTED,
                "cfg.modifier.per_batch_sample");
  CHECK_INVALID(p_.modifier.std_dev = NAN, AIHW_ERR_NOT_FINITE, "cfg.modifier.std_dev");
  CHECK_INVALID(p_.modifier.coeffs[1] = INFINITY, AIHW_ERR_NOT_FINITE, "modifier.coeffs[1]");

  CHECK_INVALID(p_.clip.sigma = 0.0f, bad, "cfg.clip.sigma");
  CHECK_INVALID(p_.clip.type = (aihw_weight_clip_type)4, bad, "cfg.clip.type");
  CHECK_INVALID(p_.remap.remapped_wmax = 0.0f, bad, "cfg.remap.remapped_wmax");
  CHECK_INVALID(p_.remap.max_scale_range = -1.0f, bad, "cfg.remap.max_scale_range");
  CHECK_INVALID(p_.remap.max_scale_ref = -1.0f, bad, "cfg.remap.max_scale_ref");
  CHECK_INVALID((p_.remap.type = AIHW_REMAP_CHANNELWISE_SYMMETRIC,
                 p_.remap.max_scale_range = 2.0f, p_.remap.remapped_wmax = 0.5f),
                bad, "must be 1 when max_scale_range > 0");
  CHECK_INVALID(p_.drift_compensation = (aihw_drift_compensation)4, bad,
                "cfg.drift_compensation");

  CHECK_INVALID(p_.noise_model.t_0 = 0.0f, bad, "cfg.noise_model.t_0");
  CHECK_INVALID(p_.noise_model.t_read = -1.0f, bad, "cfg.noise_model.t_read");
  CHECK_INVALID(p_.noise_model.prog_noise_scale = -1.0f, bad, "noise_model.prog_noise_scale");
  CHECK_INVALID(p_.noise_model.read_noise_scale = -1.0f, bad, "noise_model.read_noise_scale");
  CHECK_INVALID(p_.noise_model.drift_scale = -1.0f, bad, "cfg.noise_model.drift_scale");
  CHECK_INVALID(p_.noise_model.n_prog_coeff = 0, bad, "cfg.noise_model.prog_coeff");
  CHECK_INVALID(p_.noise_model.prog_coeff_g_max_reference = 0.0f, bad,
                "noise_model.prog_coeff_g_max_reference");
  CHECK_INVALID(p_.noise_model.type = (aihw_noise_model_type)7, bad, "cfg.noise_model.type");
  CHECK_INVALID(p_.noise_model.t_0 = NAN, AIHW_ERR_NOT_FINITE, "cfg.noise_model.t_0");
  CHECK_INVALID(p_.noise_model.g_max = 50.0f, bad, "must equal noise_model.g_converter.g_max");
  CHECK_INVALID((p_.noise_model = aihw_noise_model_params_default(AIHW_NOISE_STATE_INDEPENDENT),
                 p_.noise_model.drift_nu_std = -0.01f),
                bad, "cfg.noise_model.drift_nu_std");

  CHECK_INVALID(p_.converter.g_min = 25.0f, bad, "cfg.noise_model.g_converter.g_min");
  CHECK_INVALID(p_.converter.g_min = -1.0f, bad, "noise_model.g_converter.g_min");
  CHECK_INVALID(p_.converter.type = (aihw_converter_type)5, bad,
                "cfg.noise_model.g_converter.type");
  CHECK_INVALID((p_.converter = aihw_converter_params_default(AIHW_CONVERTER_DUAL_PAIR),
                 p_.converter.n_f = 3, p_.converter.f_lst[2] = 2.0f),
                bad, "exactly 2");
  CHECK_INVALID((p_.converter = aihw_converter_params_default(AIHW_CONVERTER_N_PAIR),
                 p_.converter.f_lst[1] = 0.0f),
                bad, "g_converter.f_lst[1]");
  CHECK_INVALID((p_.converter = aihw_converter_params_default(AIHW_CONVERTER_CUSTOM_PAIR),
                 p_.converter.n_g = 5),
                bad, "g_converter.g_lst");
  CHECK_INVALID((p_.converter = aihw_converter_params_default(AIHW_CONVERTER_CUSTOM_PAIR),
                 p_.converter.g_lst[4] = -1.0f),
                bad, "g_converter.g_lst[4]");

  /* Custom drift tables: increasing g, non-negative stds, converter range inside. */
  CHECK_INVALID((p_.noise_model = aihw_noise_model_params_default(AIHW_NOISE_CUSTOM_DRIFT_PCM),
                 p_.noise_model.custom_g[1] = 0.0f),
                bad, "strictly increasing");
  CHECK_INVALID((p_.noise_model = aihw_noise_model_params_default(AIHW_NOISE_CUSTOM_DRIFT_PCM),
                 p_.noise_model.custom_nu_std[2] = -0.01f),
                bad, "custom_drift_model.nu_std_lst[2]");
  CHECK_INVALID((p_.noise_model = aihw_noise_model_params_default(AIHW_NOISE_CUSTOM_DRIFT_PCM),
                 p_.noise_model.n_custom = 1),
                bad, "2 to 32");
  CHECK_INVALID((p_.noise_model = aihw_noise_model_params_default(AIHW_NOISE_CUSTOM_DRIFT_PCM),
                 p_.noise_model.custom_g[0] = 1.0f),
                bad, "inside the table's");

  /* Without a label the path starts at the object. */
  aihw_inference_params p = aihw_inference_params_default();
  p.modifier.std_dev = -1.0f;
  CHECK_STATUS(aihw_inference_params_validate(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK(strncmp(aihw_last_error(), "modifier.std_dev", 16) == 0);
  CHECK_STATUS(aihw_inference_params_validate(NULL, NULL), AIHW_ERR_INVALID_ARGUMENT);
}

static void fields_a_type_does_not_have_are_not_validated(void) {
  aihw_inference_params p = aihw_inference_params_default();
  p.noise_model.drift_nu_std = -5.0f; /* PCMLikeNoiseModel has no drift_nu_std */
  p.noise_model.n_custom = 0;         /* nor a custom drift table */
  p.converter.n_f = 0;                /* SinglePair has no f_lst */
  CHECK_OK(aihw_inference_params_validate(&p, NULL));
  p.noise_model = aihw_noise_model_params_default(AIHW_NOISE_NONE);
  p.noise_model.t_0 = -1.0f; /* NONE uses nothing */
  p.noise_model.g_max = 7.0f;
  CHECK_OK(aihw_inference_params_validate(&p, NULL));
}

/* ---- JSON --------------------------------------------------------------------------- */

/* Writes p, reads it into a default object, and expects exactly p back. */
static void check_round_trip(const aihw_inference_params *p) {
  char *json = NULL;
  CHECK_OK(aihw_inference_params_to_json(p, &json));
  CHECK(json != NULL);
  if (json == NULL)
    return;
  aihw_inference_params back = aihw_inference_params_default();
  CHECK_OK(aihw_inference_params_from_json(json, &back));
  if (!same_params(p, &back))
    fprintf(stderr, "round trip differs for:\n%s\n", json);
  CHECK(same_params(p, &back));
  free(json);
}

static void json_round_trip_of_defaults_is_exact(void) {
  aihw_inference_params p = aihw_inference_params_default();
  check_round_trip(&p);
}

/* Every field changed to a valid non-default value with many digits. */
static void json_round_trip_of_every_field_is_bit_exact(void) {
  aihw_inference_params p = aihw_inference_params_default();
  aihw_noise_model_params *nm = &p.noise_model;
  nm->g_max = 31.415926f;
  nm->t_read = 3.3333333e-7f;
  nm->t_0 = 17.25f;
  nm->prog_noise_scale = 0.123456789f;
  nm->read_noise_scale = 1.7e-3f;
  nm->drift_scale = 2.0000002f;
  nm->n_prog_coeff = 4;
  nm->prog_coeff[0] = 0.3f;
  nm->prog_coeff[1] = -1e-30f;
  nm->prog_coeff[2] = 1.5f;
  nm->prog_coeff[3] = -0.0f;
  nm->prog_coeff_g_max_reference = 12.5f;
  nm->read_noise_at_target = 1;
  p.converter = aihw_converter_params_default(AIHW_CONVERTER_DUAL_PAIR);
  p.converter.g_max = nm->g_max;
  p.converter.g_min = 1.0000001f;
  p.converter.f_lst[0] = 0.7f;
  p.converter.f_lst[1] = 4.25f;
  p.drift_compensation = AIHW_DRIFT_COMPENSATION_PER_COLUMN;
  p.clip.type = AIHW_CLIP_LAYER_GAUSSIAN;
  p.clip.fixed_value = 0.70710677f;
  p.clip.sigma = 3.1f;
  p.remap.type = AIHW_REMAP_CHANNELWISE_SYMMETRIC;
  p.remap.remapped_wmax = 1.0f;
  p.remap.max_scale_range = 2.5f;
  p.remap.max_scale_ref = 0.3f;
  aihw_weight_modifier_params *m = &p.modifier;
  m->type = AIHW_MODIFIER_PCM_NOISE;
  m->std_dev = 0.0234567f;
  m->res = 1.0f / 254.0f;
  m->sto_round = 1;
  m->dorefa_clip = -0.55f;
  m->pdrop = 0.1f;
  m->enable_during_test = 1;
  m->rel_to_actual_wmax = 0;
  m->assumed_wmax = 1.9f;
  m->copy_last_column = 1;
  m->n_coeffs = 5;
  for (int k = 0; k < 5; ++k)
    m->coeffs[k] = 0.1f * (float)(k + 1) / 3.0f;
  m->g_max = 40.5f;
  m->pcm_zero_thres = 0.25f;
  m->pcm_t_inference = 86400.5f;
  m->pcm_prob_at_reset = 0.01f;
  m->pcm_prob_at_gmax = 0.02f;
  m->pcm_prob_at_random = 0.03f;
  m->pcm_t0 = 19.5f;
  CHECK_OK(aihw_inference_params_validate(&p, NULL));
  check_round_trip(&p);
}

static void json_round_trip_of_every_noise_model_and_converter(void) {
  aihw_inference_params p = aihw_inference_params_default();

  p.noise_model = aihw_noise_model_params_default(AIHW_NOISE_STATE_INDEPENDENT);
  p.noise_model.drift_nu_mean = 0.07f;
  p.noise_model.drift_nu_std = 0.021f;
  p.converter = aihw_converter_params_default(AIHW_CONVERTER_SINGLE_DEVICE);
  p.noise_model.g_max = p.converter.g_max;
  check_round_trip(&p);

  p.noise_model = aihw_noise_model_params_default(AIHW_NOISE_CUSTOM_DRIFT_PCM);
  p.noise_model.n_custom = 4;
  const float g[] = {0.0f, 5.5f, 12.0f, 30.0f};
  for (int k = 0; k < 4; ++k) {
    p.noise_model.custom_g[k] = g[k];
    p.noise_model.custom_nu_mean[k] = 0.1f - 0.01f * (float)k;
    p.noise_model.custom_nu_std[k] = 0.02f + 0.003f * (float)k;
  }
  p.converter = aihw_converter_params_default(AIHW_CONVERTER_CUSTOM_PAIR);
  p.converter.n_f = 2;
  p.converter.f_lst[1] = 3.0f;
  p.converter.n_g = 12; /* 4 lists of 3 */
  for (int k = 0; k < 12; ++k)
    p.converter.g_lst[k] = 2.0f * (float)(k % 3) + 0.5f * (float)(k / 3);
  p.noise_model.g_max = p.converter.g_max;
  CHECK_OK(aihw_inference_params_validate(&p, NULL));
  check_round_trip(&p);

  p.converter = aihw_converter_params_default(AIHW_CONVERTER_N_PAIR);
  p.converter.n_f = 5;
  for (int k = 0; k < 5; ++k)
    p.converter.f_lst[k] = 1.0f + (float)k;
  check_round_trip(&p);

  /* NONE is null and carries no converter: reading it back keeps the reader's (default)
   * converter. */
  p = aihw_inference_params_default();
  p.noise_model = aihw_noise_model_params_default(AIHW_NOISE_NONE);
  p.drift_compensation = AIHW_DRIFT_COMPENSATION_NONE;
  check_round_trip(&p);
  for (int c = 0; c <= (int)AIHW_DRIFT_COMPENSATION_PER_COLUMN; ++c) {
    p.drift_compensation = (aihw_drift_compensation)c;
    check_round_trip(&p);
  }
}

static void json_uses_aihwkit_class_field_and_enum_names(void) {
  aihw_inference_params p = aihw_inference_params_default();
  p.modifier.type = AIHW_MODIFIER_ADD_NORMAL;
  p.clip.type = AIHW_CLIP_AVERAGE_CHANNEL_MAX;
  p.remap.type = AIHW_REMAP_LAYERWISE_SYMMETRIC;
  char *json = NULL;
  CHECK_OK(aihw_inference_params_to_json(&p, &json));
  if (json == NULL)
    return;
  const char *expected[] = {"\"noise_model\"",
                            "\"type\":\t\"PCMLikeNoiseModel\"",
                            "\"prog_coeff\":\t[0.26348, 1.965, -1.1731]",
                            "\"g_converter\"",
                            "\"type\":\t\"SinglePairConductanceConverter\"",
                            "\"g_max\":\t25",
                            "\"t_read\":\t2.5e-07",
                            "\"drift_compensation\":\t\"GlobalDriftCompensation\"",
                            "\"type\":\t\"AVERAGE_CHANNEL_MAX\"",
                            "\"type\":\t\"LAYERWISE_SYMMETRIC\"",
                            "\"type\":\t\"ADD_NORMAL\"",
                            "\"rel_to_actual_wmax\":\ttrue",
                            "\"coeffs\":\t[0.0105392, 0.0768, -0.046925]",
                            "\"pcm_t0\":\t20"};
  for (size_t k = 0; k < sizeof expected / sizeof expected[0]; ++k) {
    if (strstr(json, expected[k]) == NULL)
      fprintf(stderr, "missing %s in\n%s\n", expected[k], json);
    CHECK(strstr(json, expected[k]) != NULL);
  }
  /* The converter lives inside the noise model, as in aihwkit. */
  CHECK(strstr(json, "\"g_converter\"") > strstr(json, "\"noise_model\""));
  CHECK(strstr(json, "\"g_converter\"") < strstr(json, "\"drift_compensation\""));
  free(json);

  p.noise_model.type = AIHW_NOISE_NONE;
  p.drift_compensation = AIHW_DRIFT_COMPENSATION_NONE;
  CHECK_OK(aihw_inference_params_to_json(&p, &json));
  if (json != NULL) {
    CHECK(strstr(json, "\"noise_model\":\tnull") != NULL);
    CHECK(strstr(json, "\"drift_compensation\":\tnull") != NULL);
    CHECK(strstr(json, "g_converter") == NULL);
  }
  free(json);
}

static void json_reads_member_names_and_enum_values(void) {
  aihw_inference_params p = aihw_inference_params_default();
  CHECK_OK(aihw_inference_params_from_json(
      "{\"modifier\": {\"type\": \"AddNormal\", \"std_dev\": 0.02}, "
      "\"clip\": {\"type\": \"FIXED_VALUE\", \"fixed_value\": 1.0}, "
      "\"remap\": {\"type\": \"ChannelwiseSymmetric\"}, "
      "\"drift_compensation\": \"GlobalDriftCompensationWithExactReference\"}",
      &p));
  CHECK(p.modifier.type == AIHW_MODIFIER_ADD_NORMAL);
  CHECK_FEQ(p.modifier.std_dev, 0.02f);
  CHECK(p.clip.type == AIHW_CLIP_FIXED_VALUE);
  CHECK_FEQ(p.clip.fixed_value, 1.0f);
  CHECK_FEQ(p.clip.sigma, 2.5f); /* keys not given keep their value */
  CHECK(p.remap.type == AIHW_REMAP_CHANNELWISE_SYMMETRIC);
  CHECK(p.drift_compensation == AIHW_DRIFT_COMPENSATION_GLOBAL_EXACT_REFERENCE);
  CHECK(p.noise_model.type == AIHW_NOISE_PCM_LIKE);

  CHECK_OK(aihw_inference_params_from_json(
      "{\"modifier\": {\"type\": \"PCMNoise\", \"sto_round\": 1}}", &p));
  CHECK(p.modifier.type == AIHW_MODIFIER_PCM_NOISE);
  CHECK(p.modifier.sto_round == 1);
  CHECK_FEQ(p.modifier.std_dev, 0.02f);
}

static void json_noise_model_takes_g_max_from_its_converter(void) {
  aihw_inference_params p = aihw_inference_params_default();
  /* PCMLikeNoiseModel(g_max=50) builds SinglePairConductanceConverter(g_max=50). */
  CHECK_OK(aihw_inference_params_from_json(
      "{\"noise_model\": {\"type\": \"PCMLikeNoiseModel\", \"g_max\": 50}}", &p));
  CHECK_FEQ(p.noise_model.g_max, 50.0f);
  CHECK(p.converter.type == AIHW_CONVERTER_SINGLE_PAIR);
  CHECK_FEQ(p.converter.g_max, 50.0f);
  /* A given converter sets the noise model's g_max. */
  CHECK_OK(aihw_inference_params_from_json(
      "{\"noise_model\": {\"type\": \"StateIndependentNoiseModel\", \"g_converter\": "
      "{\"type\": \"SingleDeviceConductanceConverter\"}}}",
      &p));
  CHECK(p.noise_model.type == AIHW_NOISE_STATE_INDEPENDENT);
  CHECK_FEQ(p.noise_model.prog_coeff[0], 0.2f);
  CHECK(p.converter.type == AIHW_CONVERTER_SINGLE_DEVICE);
  CHECK_FEQ(p.noise_model.g_max, 88.2f);
  CHECK_FEQ(p.converter.g_min, 9.0f);
  /* Both given and different: named mismatch, nothing changed. */
  aihw_inference_params before = p;
  CHECK_STATUS(aihw_inference_params_from_json(
                   "{\"noise_model\": {\"type\": \"PCMLikeNoiseModel\", \"g_max\": 30, "
                   "\"g_converter\": {\"type\": \"SinglePairConductanceConverter\"}}}",
                   &p),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("noise_model.g_max");
  CHECK(same_params(&p, &before));
  /* null: no noise model, converter kept. */
  CHECK_OK(aihw_inference_params_from_json("{\"noise_model\": null}", &p));
  CHECK(p.noise_model.type == AIHW_NOISE_NONE);
  CHECK(p.converter.type == AIHW_CONVERTER_SINGLE_DEVICE);
}

/* Expects `status` with `needle` in the message and params unchanged. */
static void check_rejected(const char *json, aihw_status status, const char *needle) {
  aihw_inference_params p = aihw_inference_params_default();
  p.modifier.std_dev = 0.125f; /* not a default, to see that nothing is reset */
  aihw_inference_params before = p;
  aihw_clear_error();
  CHECK_STATUS(aihw_inference_params_from_json(json, &p), status);
  CHECK_ERROR_MENTIONS(needle);
  CHECK(same_params(&p, &before));
}

static void json_unknown_keys_and_names_are_rejected_by_name(void) {
  const aihw_status format = AIHW_ERR_FORMAT;
  check_rejected("{\"noise\": {}}", format, "'noise'");
  check_rejected("{\"g_converter\": {}}", format, "noise_model.g_converter");
  check_rejected("{\"modifier\": {\"stddev\": 0.1}}", format, "'modifier.stddev'");
  check_rejected("{\"clip\": {\"type\": \"CLIP_ALL\"}}", format, "unknown value 'CLIP_ALL'");
  check_rejected("{\"clip\": {\"type\": \"CLIP_ALL\"}}", format, "AVERAGE_CHANNEL_MAX");
  check_rejected("{\"modifier\": {\"type\": \"DISCRETIZE_PER_CHANNEL\"}}", AIHW_ERR_UNSUPPORTED,
                 "DISCRETIZE_PER_CHANNEL");
  check_rejected("{\"modifier\": {\"type\": \"DiscretizePerChannel\"}}", AIHW_ERR_UNSUPPORTED,
                 "1.1.0");
  check_rejected("{\"remap\": {\"type\": \"CHANNELWISE_NORM\"}}", AIHW_ERR_UNSUPPORTED, "C++");
  check_rejected("{\"noise_model\": {\"type\": \"HermesNoiseModel\"}}", AIHW_ERR_UNSUPPORTED,
                 "HermesNoiseModel");
  check_rejected("{\"noise_model\": {\"type\": \"FooNoiseModel\"}}", format,
                 "unknown value 'FooNoiseModel'");
  check_rejected("{\"noise_model\": {\"g_max\": 25}}", format, "missing \"type\"");
  check_rejected("{\"noise_model\": {\"type\": \"PCMLikeNoiseModel\", \"drift_nu_mean\": 0.1}}",
                 format, "'noise_model.drift_nu_mean' is not a field of PCMLikeNoiseModel");
  check_rejected("{\"noise_model\": {\"type\": \"PCMLikeNoiseModel\", \"nu\": 0.1}}", format,
                 "'noise_model.nu'");
  check_rejected("{\"noise_model\": {\"type\": \"PCMLikeNoiseModel\", \"custom_drift_model\": "
                 "{}}}",
                 format, "custom_drift_model");
  check_rejected("{\"noise_model\": {\"type\": \"PCMLikeNoiseModel\", \"g_converter\": "
                 "{\"type\": \"SinglePairConductanceConverter\", \"f_lst\": [1, 2]}}}",
                 format, "'noise_model.g_converter.f_lst' is not a field of");
  check_rejected("{\"noise_model\": {\"type\": \"PCMLikeNoiseModel\", \"g_converter\": "
                 "{\"type\": \"FusionConductanceConverter\"}}}",
                 AIHW_ERR_UNSUPPORTED, "Fusion");
  check_rejected("{\"noise_model\": {\"type\": \"CustomDriftPCMLikeNoiseModel\", "
                 "\"custom_drift_model\": {\"g_lst\": [0, 25], \"nu_mean_lst\": [0.1, 0.05]}}}",
                 format, "missing \"nu_std_lst\"");
  check_rejected("{\"noise_model\": {\"type\": \"CustomDriftPCMLikeNoiseModel\", "
                 "\"custom_drift_model\": {\"g_lst\": [0, 25], \"nu_mean_lst\": [0.1], "
                 "\"nu_std_lst\": [0.1, 0.05]}}}",
                 format, "same length");
  check_rejected("{\"drift_compensation\": \"MyCompensation\"}", format, "MyCompensation");
  check_rejected("{\"drift_compensation\": 1}", format, "drift_compensation");
  check_rejected("{\"modifier\": {\"std_dev\": \"0.1\"}}", format, "expected a number");
  check_rejected("{\"modifier\": {\"coeffs\": []}}", format, "'modifier.coeffs'");
  check_rejected("{\"modifier\": {\"coeffs\": [1, 2, 3, 4, 5, 6, 7, 8, 9]}}", format,
                 "1 to 8 numbers");
  check_rejected("{\"modifier\": {\"sto_round\": 2}}", format, "true/false");
  check_rejected("{\"modifier\": {\"pdrop\": 0.1, \"pdrop\": 0.2}}", format, "appears twice");
  check_rejected("{\"clip\": {}, \"clip\": {}}", format, "'clip' appears twice");
  check_rejected("{\"modifier\": [1]}", format, "expected an object");
  check_rejected("[1, 2]", format, "expected a JSON object");
  check_rejected("{\"clip\": ", format, "parse error");
}

static void json_invalid_values_are_rejected_after_parsing(void) {
  check_rejected("{\"modifier\": {\"pdrop\": 1.5}}", AIHW_ERR_INVALID_ARGUMENT,
                 "modifier.pdrop");
  check_rejected("{\"modifier\": {\"per_batch_sample\": true}}", AIHW_ERR_UNSUPPORTED,
                 "per_batch_sample");
  check_rejected("{\"modifier\": {\"std_dev\": 1e60}}", AIHW_ERR_NOT_FINITE, "std_dev");
  check_rejected("{\"noise_model\": {\"type\": \"DualPairConductanceConverter\"}}",
                 AIHW_ERR_FORMAT, "DualPairConductanceConverter");
  check_rejected("{\"noise_model\": {\"type\": \"PCMLikeNoiseModel\", \"g_converter\": "
                 "{\"type\": \"DualPairConductanceConverter\", \"f_lst\": [1, 2, 3]}}}",
                 AIHW_ERR_INVALID_ARGUMENT, "exactly 2");
  check_rejected("{\"noise_model\": {\"type\": \"PCMLikeNoiseModel\", \"g_converter\": "
                 "{\"type\": \"CustomPairConductanceConverter\", \"f_lst\": [1], "
                 "\"g_lst\": [[0, 25], [25, 0], [1, 1]]}}}",
                 AIHW_ERR_FORMAT, "3 lists");
  check_rejected("{\"noise_model\": {\"type\": \"PCMLikeNoiseModel\", \"g_converter\": "
                 "{\"type\": \"CustomPairConductanceConverter\", \"f_lst\": [1], "
                 "\"g_lst\": [[0, 25], [25, 0, 1]]}}}",
                 AIHW_ERR_FORMAT, "same length");
  check_rejected("{\"noise_model\": {\"type\": \"PCMLikeNoiseModel\", \"g_converter\": "
                 "{\"type\": \"CustomPairConductanceConverter\", \"f_lst\": [1]}}}",
                 AIHW_ERR_FORMAT, "both");
}

static void json_null_arguments_and_invalid_params_are_errors(void) {
  aihw_inference_params p = aihw_inference_params_default();
  char *json = (char *)&p; /* must be reset to NULL on failure */
  CHECK_STATUS(aihw_inference_params_to_json(NULL, &json), AIHW_ERR_INVALID_ARGUMENT);
  CHECK(json == NULL);
  CHECK_STATUS(aihw_inference_params_to_json(&p, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_inference_params_from_json(NULL, &p), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_inference_params_from_json("{}", NULL), AIHW_ERR_INVALID_ARGUMENT);
  p.clip.sigma = -1.0f; /* only valid parameters are written */
  CHECK_STATUS(aihw_inference_params_to_json(&p, &json), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("clip.sigma");
  CHECK(json == NULL);
  /* An empty object changes nothing. */
  aihw_inference_params q = aihw_inference_params_default(), r = q;
  CHECK_OK(aihw_inference_params_from_json("{}", &q));
  CHECK(same_params(&q, &r));
}

TEST_MAIN(TEST(defaults_match_aihwkit_inference_rpu_config),
          TEST(noise_model_defaults_follow_each_aihwkit_class),
          TEST(converter_defaults_follow_each_aihwkit_class),
          TEST(validation_names_the_field_and_its_range),
          TEST(fields_a_type_does_not_have_are_not_validated),
          TEST(json_round_trip_of_defaults_is_exact),
          TEST(json_round_trip_of_every_field_is_bit_exact),
          TEST(json_round_trip_of_every_noise_model_and_converter),
          TEST(json_uses_aihwkit_class_field_and_enum_names),
          TEST(json_reads_member_names_and_enum_values),
          TEST(json_noise_model_takes_g_max_from_its_converter),
          TEST(json_unknown_keys_and_names_are_rejected_by_name),
          TEST(json_invalid_values_are_rejected_after_parsing),
          TEST(json_null_arguments_and_invalid_params_are_errors))
