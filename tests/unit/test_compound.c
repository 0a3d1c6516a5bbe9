/* Compound devices (reference §5.10): weight composition, VectorUnitCell update policies,
 * ReferenceUnitCell, decay/diffusion/clip, JSON, presets and bad input, on crafted inputs
 * where every step count is exact (compound_test_util.h). */
#include "aihw/aihw.h"
#include "compound_test_util.h"
#include "core/alloc.h"
#include "core/safetensors.h"
#include "test_util.h"
#include "tile/tile_internal.h"

static void test_vector_all(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_VECTOR, 2);
  aihw_tile *t = make(&c, 2, 3);
  CHECK(aihw_tile_compound_devices(t) == 2);
  const int col[2] = {0, 2};
  const float d[4] = {3.0f, -1.0f, 0.0f, 2.0f}; /* rint(lr d x / g) = d steps with lr = g */
  update_onehot(t, col, d, 2, G);
  float w0[6], w1[6], w[6];
  sub_weights(t, 0, w0);
  sub_weights(t, 1, w1);
  CHECK_OK(aihw_tile_get_weights(t, w, 2, 3));
  const float expect[6] = {-0.03f, 0.0f, 0.0f, 0.01f, 0.0f, -0.02f};
  for (int e = 0; e < 6; ++e) {
    CHECK_NEAR(w0[e], expect[e], 1e-7);
    CHECK_FEQ(w1[e], w0[e]);
    CHECK_FEQ(w[e], 0.5f * w0[e] + 0.5f * w1[e]);
  }
  aihw_tile_destroy(t);
}

/* gamma_vec weights the sum; SINGLE_FIXED updates only first_update_idx. */
static void test_vector_single_fixed_and_gamma(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_VECTOR, 2);
  c.compound.update_policy = AIHW_VECTOR_SINGLE_FIXED;
  c.compound.first_update_idx = 1;
  c.compound.n_gamma = 2;
  c.compound.gamma_vec[0] = 0.3f;
  c.compound.gamma_vec[1] = 2.0f;
  aihw_tile *t = make(&c, 1, 2);
  const float a[2] = {0.1f, -0.2f};
  CHECK_OK(aihw_tile_compound_set_weights(t, 0, a, 1, 2));
  const int col[1] = {1};
  const float d[1] = {-4.0f};
  update_onehot(t, col, d, 1, G);
  float w0[2], w1[2], w[2];
  sub_weights(t, 0, w0);
  sub_weights(t, 1, w1);
  CHECK_OK(aihw_tile_get_weights(t, w, 1, 2));
  CHECK_FEQ(w0[0], 0.1f);
  CHECK_FEQ(w0[1], -0.2f);
  CHECK_FEQ(w1[0], 0.0f);
  CHECK_NEAR(w1[1], 0.04f, 1e-7);
  for (int e = 0; e < 2; ++e)
    CHECK_FEQ(w[e], 0.3f * w0[e] + 2.0f * w1[e]);
  /* set_weights under SINGLE_FIXED sets only the fixed device */
  const float s[2] = {0.5f, 0.25f};
  CHECK_OK(aihw_tile_set_weights(t, s, 1, 2));
  sub_weights(t, 0, w0);
  sub_weights(t, 1, w1);
  CHECK_FEQ(w0[0], 0.1f);
  CHECK_FEQ(w1[0], 0.5f);
  CHECK_FEQ(w1[1], 0.25f);
  aihw_tile_destroy(t);
}

/* SINGLE_SEQUENTIAL: vector b goes to device (first + b) mod n, across calls. */
static void test_vector_sequential(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_VECTOR, 3);
  c.compound.update_policy = AIHW_VECTOR_SINGLE_SEQUENTIAL;
  c.compound.first_update_idx = 1;
  aihw_tile *t = make(&c, 1, 8);
  const int col1[5] = {0, 1, 2, 3, 4}, col2[3] = {5, 6, 7};
  const float d[5] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
  update_onehot(t, col1, d, 5, G);
  update_onehot(t, col2, d, 3, G);
  float w[3][8];
  for (int k = 0; k < 3; ++k)
    sub_weights(t, k, w[k]);
  for (int b = 0; b < 8; ++b)
    for (int k = 0; k < 3; ++k)
      CHECK_NEAR(w[k][b], k == (1 + b) % 3 ? -G : 0.0f, 1e-7);
  aihw_compound_counters n;
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  CHECK(n.update_count == 8);
  CHECK(n.current_device == (1 + 8) % 3);
  aihw_tile_destroy(t);
}

/* SINGLE_RANDOM: each vector reaches exactly one device; 60 vectors over 3 devices give
 * Binomial(60, 1/3) per device (mean 20, sd 3.65): [8, 32] is beyond 3.2 sd either way. */
static void test_vector_random(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_VECTOR, 3);
  c.compound.update_policy = AIHW_VECTOR_SINGLE_RANDOM;
  c.seed = 11;
  aihw_tile *t = make(&c, 1, 60);
  int col[60];
  float d[60];
  for (int b = 0; b < 60; ++b) {
    col[b] = b;
    d[b] = 1.0f;
  }
  update_onehot(t, col, d, 60, G);
  float w[3][60];
  for (int k = 0; k < 3; ++k)
    sub_weights(t, k, w[k]);
  int hits[3] = {0, 0, 0};
  for (int b = 0; b < 60; ++b) {
    int reached = 0;
    for (int k = 0; k < 3; ++k)
      if (w[k][b] != 0.0f) {
        ++reached;
        ++hits[k];
      }
    CHECK(reached == 1);
  }
  for (int k = 0; k < 3; ++k)
    CHECK(hits[k] >= 8 && hits[k] <= 32);
  aihw_tile_destroy(t);
}

/* ReferenceUnitCell: W = W_0 - W_1, only device 0 is set and updated. */
static void test_reference_cell(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_REFERENCE, 1);
  CHECK(c.compound.n_devices == 2);
  aihw_tile *t = make(&c, 1, 2);
  const float r[2] = {0.2f, -0.1f}, s[2] = {0.5f, 0.5f};
  CHECK_OK(aihw_tile_compound_set_weights(t, 1, r, 1, 2));
  CHECK_OK(aihw_tile_set_weights(t, s, 1, 2));
  float w[2], w1[2];
  CHECK_OK(aihw_tile_get_weights(t, w, 1, 2));
  CHECK_FEQ(w[0], 0.5f - 0.2f);
  CHECK_FEQ(w[1], 0.5f + 0.1f);
  const int col[1] = {0};
  const float d[1] = {2.0f};
  update_onehot(t, col, d, 1, G);
  sub_weights(t, 1, w1);
  CHECK_FEQ(w1[0], 0.2f);
  CHECK_OK(aihw_tile_get_weights(t, w, 1, 2));
  CHECK_NEAR(w[0], 0.5f - 0.02f - 0.2f, 1e-7);
  aihw_tile_destroy(t);
}

/* Tiki-Taka v1 config: fully hidden (gamma 0), transfer_lr 100 scaled by lr = g, so a
 * transfer adds exactly the read column of A to C (rint(a / g) steps). */
static void test_decay_diffusion_clip(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_VECTOR, 2);
  c.compound.devices[0].lifetime = 10.0f;  /* decay_scale 0.9 (no dtod) */
  c.compound.devices[1].lifetime = 5.0f;   /* 0.8 */
  c.compound.devices[0].lifetime_dtod = 0.0f;
  c.compound.devices[1].lifetime_dtod = 0.0f;
  aihw_tile *t = make(&c, 1, 2);
  const float w[2] = {0.5f, -0.4f};
  CHECK_OK(aihw_tile_set_weights(t, w, 1, 2));
  CHECK_OK(aihw_tile_post_update_step(t)); /* decay once */
  float w0[2], w1[2], v[2];
  sub_weights(t, 0, w0);
  sub_weights(t, 1, w1);
  CHECK_OK(aihw_tile_get_weights(t, v, 1, 2));
  CHECK_NEAR(w0[0], 0.45f, 1e-7);
  CHECK_NEAR(w1[0], 0.40f, 1e-7);
  CHECK_NEAR(w1[1], -0.32f, 1e-7);
  CHECK_FEQ(v[0], 0.5f * w0[0] + 0.5f * w1[0]);
  CHECK_OK(aihw_tile_clip_weights(t, 0.42f));
  sub_weights(t, 0, w0);
  CHECK_FEQ(w0[0], 0.42f);
  /* diffusion: every sub-device moves, each with its own normals */
  c = compound_config(AIHW_COMPOUND_VECTOR, 2);
  c.compound.devices[0].diffusion = 0.01f;
  c.compound.devices[1].diffusion = 0.01f;
  aihw_tile *u = make(&c, 1, 2);
  CHECK_OK(aihw_tile_post_update_step(u));
  sub_weights(u, 0, w0);
  sub_weights(u, 1, w1);
  CHECK(w0[0] != 0.0f && w1[0] != 0.0f && w0[0] != w1[0]);
  CHECK(fabsf(w0[0]) < 0.06f && fabsf(w1[1]) < 0.06f); /* 6 sigma of 0.01 */
  aihw_tile_destroy(t);
  aihw_tile_destroy(u);
}

/* c-TTv2 (§5.10 ChoppedTransferCompound) against the pseudo-code restated here, with
 * regular input choppers (in_chop_prob 0.5: period 2, so the chopper of a column flips
 * after every second sweep), a transfer after every vector, count_lr = fast_lr = 1
 * (absolute: scale_fast_lr 0), lr_t = transfer_lr lr = 0.4, bg = g: lr_scale = 40. */
static void test_json_round_trip(void) {
  const aihw_compound_type types[4] = {AIHW_COMPOUND_VECTOR, AIHW_COMPOUND_REFERENCE,
                                       AIHW_COMPOUND_TRANSFER,
                                       AIHW_COMPOUND_BUFFERED_TRANSFER};
  for (int k = 0; k < 4; ++k) {
    aihw_tile_config c = compound_config(types[k], 3);
    if (types[k] == AIHW_COMPOUND_VECTOR) {
      c.compound.update_policy = AIHW_VECTOR_SINGLE_RANDOM;
      c.compound.n_gamma = 3;
      c.compound.gamma_vec[2] = 0.1f;
    }
    c.compound.devices[1] = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS);
    c.compound.transfer_lr = 0.3f;
    c.compound.momentum = 0.25f;
    char *j1 = NULL, *j2 = NULL;
    CHECK_OK(aihw_tile_config_to_json(&c, &j1));
    aihw_tile_config back = aihw_tile_config_default(AIHW_TILE_ANALOG);
    CHECK_OK(aihw_tile_config_from_json(j1, &back));
    CHECK_OK(aihw_tile_config_to_json(&back, &j2));
    CHECK(j1 != NULL && j2 != NULL && strcmp(j1, j2) == 0);
    CHECK(back.compound.type == types[k]);
    CHECK(back.compound.n_devices == c.compound.n_devices);
    CHECK(back.compound.devices[1].type == AIHW_DEVICE_SOFT_BOUNDS);
    CHECK(strstr(j1, aihw_compound_type_name(types[k])) != NULL);
    free(j1);
    free(j2);
  }
  /* single-device configurations keep their JSON (no "compound" key) */
  aihw_tile_config plain = aihw_tile_config_default(AIHW_TILE_ANALOG);
  char *j = NULL;
  CHECK_OK(aihw_tile_config_to_json(&plain, &j));
  CHECK(j != NULL && strstr(j, "compound") == NULL);
  free(j);
  /* bad input: wrong class field, unknown type, missing devices; config unchanged */
  aihw_compound_params p = aihw_compound_params_default(AIHW_COMPOUND_VECTOR, NULL, 2);
  const aihw_compound_params before = p;
  CHECK_STATUS(aihw_compound_params_from_json(
                   "{\"type\": \"VectorUnitCell\", \"unit_cell_devices\": "
                   "[{\"type\": \"ConstantStepDevice\"}], \"transfer_lr\": 1}",
                   &p),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("transfer_lr");
  CHECK_STATUS(aihw_compound_params_from_json("{\"type\": \"Nope\", "
                                              "\"unit_cell_devices\": []}",
                                              &p),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("Nope");
  CHECK_STATUS(aihw_compound_params_from_json("{\"type\": \"TransferCompound\"}", &p),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("unit_cell_devices");
  CHECK_STATUS(aihw_compound_params_from_json(
                   "{\"type\": \"TransferCompound\", \"unit_cell_devices\": "
                   "[{\"type\": \"ConstantStepDevice\", \"dw_min\": -1}, "
                   "{\"type\": \"ConstantStepDevice\"}]}",
                   &p),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("unit_cell_devices[0]");
  CHECK(memcmp(&p, &before, sizeof p) == 0);
  /* aihwkit's one-device ReferenceUnitCell duplicates it */
  CHECK_OK(aihw_compound_params_from_json(
      "{\"type\": \"ReferenceUnitCell\", \"unit_cell_devices\": "
      "[{\"type\": \"LinearStepDevice\"}]}",
      &p));
  CHECK(p.n_devices == 2 && p.devices[1].type == AIHW_DEVICE_LINEAR_STEP);
  CHECK(p.gamma_vec[1] == -1.0f);
}

/* Saved state: a TTv2 tile of noisy SoftBounds devices (write noise on the slow device)
 * exported after training, written to bytes, read back and imported strictly into a
 * fresh tile, continues bit-identically: sub-device weights, buffers, counters. */
static void test_presets(void) {
  const char *devices[6] = {"ReRamES", "ReRamSB", "Capacitor", "EcRam", "EcRamMO",
                            "Idealized"};
  for (int k = 0; k < 6; ++k) {
    for (int v = 0; v < 5; ++v) {
      char name[64];
      if (v == 0)
        snprintf(name, sizeof name, "TikiTaka%sPreset", devices[k]);
      else if (v == 3)
        snprintf(name, sizeof name, "TTv2%sPreset", devices[k]);
      else if (v == 4)
        snprintf(name, sizeof name, "ChoppedTTv2%sPreset", devices[k]);
      else
        snprintf(name, sizeof name, "%s%dPreset", devices[k], 2 * v);
      aihw_tile_config c;
      CHECK_OK(aihw_tile_config_preset(name, &c));
      if (v >= 3) {
        CHECK(c.compound.type == AIHW_COMPOUND_CHOPPED_TRANSFER);
        CHECK(c.compound.auto_scale == 1 && c.compound.units_in_mbatch == 0);
        CHECK(c.compound.transfer_update.desired_bl == 1);
        CHECK(c.compound.transfer_forward.noise_management == AIHW_NM_NONE);
        CHECK((c.compound.in_chop_prob > 0.0f) == (v == 4));
        CHECK(c.update.desired_bl == (k < 3 ? 31 : 100));
        CHECK(c.compound.auto_granularity == (k < 3 ? 1000.0f : 500.0f));
        CHECK(c.compound.devices[0].subtract_symmetry_point == (k == 1));
      } else {
        CHECK(c.compound.type == (v == 0 ? AIHW_COMPOUND_TRANSFER : AIHW_COMPOUND_VECTOR));
        CHECK(c.compound.n_devices == (v == 0 ? 2 : 2 * v));
      }
      if (v == 0) {
        CHECK(c.compound.transfer_forward.noise_management == AIHW_NM_NONE);
        CHECK(c.compound.transfer_forward.bound_management == AIHW_BM_NONE);
        CHECK(c.compound.transfer_update.desired_bl == 31);
        CHECK(c.compound.devices[1].subtract_symmetry_point == (k == 1));
      } else if (v < 3) {
        CHECK(c.compound.update_policy == AIHW_VECTOR_SINGLE_RANDOM);
      }
      aihw_tile *t = make(&c, 3, 4);
      float x[4] = {0.5f, -0.5f, 0.25f, 1.0f}, d[3] = {0.3f, -0.2f, 0.1f};
      CHECK_OK(aihw_tile_update(t, x, 1, 4, d, 3, 0.1f));
      char *json = NULL;
      CHECK_OK(aihw_tile_config_to_json(&c, &json));
      aihw_tile_config back;
      CHECK_OK(aihw_tile_config_from_json(json, &back));
      CHECK(back.compound.type == c.compound.type);
      free(json);
      aihw_tile_destroy(t);
    }
  }
  aihw_tile_config c;
  CHECK_STATUS(aihw_tile_config_preset("TikiTakaNopePreset", &c), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("ChoppedTTv2<D>Preset");
  CHECK_OK(aihw_tile_config_preset("ChoppedTTv2EcRamPreset", &c));
  CHECK(c.compound.fast_lr == 1.0f && c.compound.in_chop_prob == 0.01f);
  CHECK_OK(aihw_tile_config_preset("TTv2ReRamESPreset", &c));
  CHECK(c.compound.fast_lr == 0.5f);
}

/* Decay, diffusion and clipping act on every sub-device, then the reduction. */
static void test_bad_config(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_TRANSFER, 1);
  aihw_tile *t = NULL;
  CHECK_STATUS(aihw_tile_create(&c, 2, 2, &t), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("compound.n_devices");
  CHECK(t == NULL);
  c = compound_config(AIHW_COMPOUND_VECTOR, 2);
  c.compound.devices[1] = aihw_device_params_default(AIHW_DEVICE_IDEAL);
  CHECK_STATUS(aihw_tile_create(&c, 2, 2, &t), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("compound.devices[1]");
  c = compound_config(AIHW_COMPOUND_VECTOR, 2);
  c.compound.devices[0].dw_min = -1.0f;
  CHECK_STATUS(aihw_tile_create(&c, 2, 2, &t), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("compound.devices[0].dw_min");
  c = compound_config(AIHW_COMPOUND_TRANSFER, 2);
  c.compound.transfer_every = NAN;
  CHECK_STATUS(aihw_tile_create(&c, 2, 2, &t), AIHW_ERR_NOT_FINITE);
  CHECK_ERROR_MENTIONS("compound.transfer_every");
  c = compound_config(AIHW_COMPOUND_TRANSFER, 2);
  c.compound.n_gamma = 1;
  CHECK_STATUS(aihw_tile_create(&c, 2, 2, &t), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("gamma_vec");
  c = compound_config(AIHW_COMPOUND_DYNAMIC_TRANSFER, 2);
  c.compound.in_chop_prob = 0.0f; /* AGAD needs a chopper period */
  CHECK_STATUS(aihw_tile_create(&c, 2, 2, &t), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("compound.in_chop_prob");
  c = compound_config(AIHW_COMPOUND_CHOPPED_TRANSFER, 2);
  c.compound.n_reads_per_transfer = 2;
  CHECK_STATUS(aihw_tile_create(&c, 2, 2, &t), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("n_reads_per_transfer");
  c = compound_config(AIHW_COMPOUND_VECTOR, 2);
  c.kind = AIHW_TILE_INFERENCE;
  CHECK_STATUS(aihw_tile_create(&c, 2, 2, &t), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("ANALOG");
  /* bad arguments of the per-sub-device operations refuse clearly and change nothing */
  c = compound_config(AIHW_COMPOUND_VECTOR, 2);
  t = make(&c, 2, 2);
  const float w_set[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  float w_after[4];
  CHECK_OK(aihw_tile_set_weights(t, w_set, 2, 2));
  CHECK_STATUS(aihw_tile_reset_columns(t, 0, 3, 1.0f), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("count");
  CHECK_STATUS(aihw_tile_drift_weights(t, NAN), AIHW_ERR_NOT_FINITE);
  CHECK_OK(aihw_tile_get_weights(t, w_after, 2, 2));
  CHECK(memcmp(w_set, w_after, sizeof w_after) == 0);
  CHECK_OK(aihw_tile_post_update_step(t)); /* nothing to do */
  float h[4];
  CHECK_STATUS(aihw_tile_compound_get_buffer(t, 0, h, 2, 2), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_tile_compound_get_weights(t, 2, h, 2, 2), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_tile_compound_get_weights(t, 0, h, 2, 3), AIHW_ERR_SHAPE);
  const float bad[4] = {0.0f, NAN, 0.0f, 0.0f};
  CHECK_STATUS(aihw_tile_compound_set_weights(t, 0, bad, 2, 2), AIHW_ERR_NOT_FINITE);
  aihw_tile_destroy(t);
}

/* JSON round trip of every implemented class through the tile configuration. */
TEST_MAIN(TEST(test_vector_all), TEST(test_vector_single_fixed_and_gamma),
          TEST(test_vector_sequential), TEST(test_vector_random), TEST(test_reference_cell),
          TEST(test_decay_diffusion_clip), TEST(test_json_round_trip), TEST(test_presets),
          TEST(test_bad_config))
