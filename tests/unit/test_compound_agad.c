/* DynamicTransferCompound (AGAD; reference §5.10): the transfer buffer against the
 * running / past means, the chopper period and the first-periods hold, on crafted inputs
 * (the fast device is set directly and the SGD gradients are 0, so only transfers act);
 * JSON, presets and saved state. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compound_test_util.h"
#include "core/safetensors.h"
#include "tile/tile_internal.h"

/* in_chop_prob 0.5 (period N = 2), tail_weightening 1 (mu = 1/2), one column per vector */
static aihw_tile_config agad_config(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_DYNAMIC_TRANSFER, 2);
  c.compound.in_chop_prob = 0.5f;
  c.compound.tail_weightening = 1.0f;
  c.compound.transfer_every = 1.0f;
  return c;
}

static void zero_updates(aihw_tile *t, int n) {
  const int64_t in = aihw_tile_in_size(t), out = aihw_tile_out_size(t);
  float *x = calloc((size_t)in, sizeof(float)), *d = calloc((size_t)out, sizeof(float));
  for (int64_t j = 0; j < in; ++j)
    x[j] = 1.0f;
  for (int k = 0; k < n; ++k)
    CHECK_OK(aihw_tile_update(t, x, 1, in, d, out, 0.04f));
  free(x);
  free(d);
}

/* 1 x 1, A = 0.6, lr_scale = lr / g_A = 1 (hand-computed):
 * t1: h = 0.6, running 0.3; t2: h = 1.2 -> n = 1, h = 0 (forget, momentum 0), no C update
 * (transfer_counter 1 <= N), running 0.45, chopper flips; t3: past = 0.45,
 * h = -(0.6 - 0.45) = -0.15, running 0.525; t4: h = -0.3, running 0.5625, flip;
 * t5: past 0.5625, h = -0.3 + 0.0375 = -0.2625. */
static void test_hand_computed(void) {
  aihw_tile_config c = agad_config();
  aihw_tile *t = make(&c, 1, 1);
  const float a[1] = {0.6f};
  CHECK_OK(aihw_tile_compound_set_weights(t, 0, a, 1, 1));
  float h, run, past, cw, in, out;
  const float want_h[5] = {0.6f, 0.0f, -0.15f, -0.3f, -0.2625f};
  const float want_run[5] = {0.3f, 0.45f, 0.525f, 0.5625f, 0.58125f};
  const float want_past[5] = {0.0f, 0.0f, 0.45f, 0.45f, 0.5625f};
  const float want_in[5] = {1.0f, -1.0f, -1.0f, 1.0f, 1.0f};
  for (int k = 0; k < 5; ++k) {
    const int64_t in_size = 1, out_size = 1;
    const float x[1] = {1.0f}, d[1] = {0.0f};
    CHECK_OK(aihw_tile_update(t, x, 1, in_size, d, out_size, 0.01f));
    CHECK_OK(aihw_tile_compound_get_buffer(t, 0, &h, 1, 1));
    CHECK_OK(aihw_tile_compound_get_means(t, &run, &past, 1, 1));
    CHECK_OK(aihw_tile_compound_get_choppers(t, &in, 1, &out, 1));
    CHECK_NEAR(h, want_h[k], 1e-6);
    CHECK_NEAR(run, want_run[k], 1e-6);
    CHECK_NEAR(past, want_past[k], 1e-6);
    CHECK(in == want_in[k] && out == 1.0f);
  }
  sub_weights(t, 1, &cw);
  CHECK(cw == 0.0f); /* the only whole step (t2) came before transfer_counter > N */
  aihw_tile_destroy(t);
}

/* 2 x 2, lr_scale 4: twelve transfers against a model of the pseudo-code (file comment of
 * compound_dynamic.c), C moving by n g_C once transfer_counter > N. */
static void test_against_model(void) {
  aihw_tile_config c = agad_config();
  aihw_tile *t = make(&c, 2, 2);
  const float a[4] = {0.6f, -0.3f, 0.2f, 0.05f};
  CHECK_OK(aihw_tile_compound_set_weights(t, 0, a, 2, 2));
  float h[4] = {0}, run[4] = {0}, past[4] = {0}, cw[4] = {0};
  int chop[2] = {0, 0}, sw[2] = {0, 0};
  int64_t tc = 0;
  const int64_t period = 2;
  const float mu = 0.5f, lr_scale = 4.0f;
  int c_moved = 0;
  for (int k = 0; k < 12; ++k) {
    const int i = k % 2;
    const int64_t cur = tc % period + 1;
    const int switched = sw[i];
    sw[i] = 0;
    int any = 0;
    float n[2];
    for (int o = 0; o < 2; ++o) {
      const int e = o * 2 + i;
      if (switched)
        past[e] = run[e];
      const float sign = chop[i] ? -1.0f : 1.0f;
      float hv = h[e] + (a[e] - past[e]) * sign * lr_scale;
      n[o] = 0.0f;
      if (fabsf(hv) >= 1.0f) {
        n[o] = truncf(hv);
        hv = 0.0f;
        any = 1;
      }
      h[e] = hv;
      run[e] = (1.0f - mu) * run[e] + mu * a[e];
    }
    if (any && tc > period)
      for (int o = 0; o < 2; ++o) {
        cw[o * 2 + i] += n[o] * G;
        c_moved |= n[o] != 0.0f;
      }
    if (cur == period) {
      chop[i] ^= 1;
      sw[i] = 1;
    }
    if (i == 1)
      ++tc;
    zero_updates(t, 1);
    float gh[4], grun[4], gpast[4], gc[4];
    CHECK_OK(aihw_tile_compound_get_buffer(t, 0, gh, 2, 2));
    CHECK_OK(aihw_tile_compound_get_means(t, grun, gpast, 2, 2));
    sub_weights(t, 1, gc);
    for (int e = 0; e < 4; ++e) {
      CHECK_NEAR(gh[e], h[e], 1e-5);
      CHECK_NEAR(grun[e], run[e], 1e-6);
      CHECK_NEAR(gpast[e], past[e], 1e-6);
      CHECK_NEAR(gc[e], cw[e], 1e-6);
    }
  }
  CHECK(c_moved); /* the run reaches the transfer updates */
  aihw_compound_counters cnt;
  CHECK_OK(aihw_tile_compound_get_counters(t, &cnt));
  CHECK(cnt.transfer_counter == 6 && cnt.transfers[0] == 12);
  aihw_tile_destroy(t);
}

static void test_params_json_presets(void) {
  aihw_device_params d = exact_device();
  aihw_compound_params p = aihw_compound_params_default(AIHW_COMPOUND_DYNAMIC_TRANSFER, &d, 2);
  CHECK(p.in_chop_prob == 0.1f && p.in_chop_random == 0 && p.tail_weightening == 5.0f);
  CHECK(p.buffer_cap == 0.0f && p.momentum == 0.0f && p.forget_buffer == 1 && p.step == 1.0f);
  CHECK(p.units_in_mbatch == 0 && p.fast_lr == 1.0f && p.transfer_lr == 1.0f);
  CHECK(p.buffer_granularity == 1.0f && !p.experimental_correct_accumulation);
  CHECK(p.transfer_update.desired_bl == 1 && !p.transfer_update.update_management);
  p.buffer_cap = 3.0f;
  p.tail_weightening = 20.0f;
  char *json = NULL;
  CHECK_OK(aihw_compound_params_to_json(&p, &json));
  aihw_compound_params q;
  CHECK_OK(aihw_compound_params_from_json(json, &q));
  CHECK(q.buffer_cap == 3.0f && q.tail_weightening == 20.0f && q.in_chop_random == 0);
  free(json);
  p.tail_weightening = -1.0f;
  CHECK_STATUS(aihw_compound_params_validate(&p, "c"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("c.tail_weightening");
  /* §8.2: fast_lr, auto_granularity, tail_weightening, in_chop_prob, update BL */
  static const struct {
    const char *name;
    float fast_lr, ag, tail, chop;
    int bl;
  } want[] = {{"AGADReRamESPreset", 0.5f, 1000.0f, 5.0f, 0.02f, 31},
              {"AGADReRamSBPreset", 0.5f, 1000.0f, 5.0f, 0.02f, 31},
              {"AGADCapacitorPreset", 0.1f, 1000.0f, 20.0f, 0.01f, 31},
              {"AGADEcRamPreset", 0.1f, 750.0f, 50.0f, 0.005f, 31},
              {"AGADEcRamMOPreset", 0.1f, 500.0f, 50.0f, 0.005f, 100},
              {"AGADIdealizedPreset", 0.1f, 500.0f, 50.0f, 0.005f, 100}};
  for (int k = 0; k < 6; ++k) {
    aihw_tile_config c;
    CHECK_OK(aihw_tile_config_preset(want[k].name, &c));
    CHECK(c.compound.type == AIHW_COMPOUND_DYNAMIC_TRANSFER);
    CHECK(c.compound.fast_lr == want[k].fast_lr && c.compound.auto_granularity == want[k].ag);
    CHECK(c.compound.tail_weightening == want[k].tail &&
          c.compound.in_chop_prob == want[k].chop && c.update.desired_bl == want[k].bl);
    CHECK(c.compound.auto_scale == 1 && c.compound.units_in_mbatch == 0 &&
          c.compound.in_chop_random == 0 && c.compound.buffer_cap == 0.0f);
    CHECK(c.compound.transfer_forward.noise_management == AIHW_NM_NONE &&
          c.compound.transfer_update.desired_bl == 1);
    CHECK(c.compound.devices[0].subtract_symmetry_point == (k == 1));
  }
}

static void train_some(aihw_tile *t, int batches, uint32_t salt) {
  train_some_lr(t, batches, salt, 0.2f);
}

/* AGAD preset with random choppers too: save, load, continue bit-identically. */
static void test_state_round_trip(void) {
  aihw_tile_config c;
  CHECK_OK(aihw_tile_config_preset("AGADReRamSBPreset", &c));
  c.compound.in_chop_prob = 0.3f;
  c.compound.in_chop_random = 1;
  c.compound.out_chop_prob = 0.2f;
  c.compound.forget_buffer = 0;
  c.compound.buffer_cap = 2.0f;
  c.seed = 17;
  c.analog_bias = 1;
  aihw_tile *a = make(&c, 4, 5), *b = make(&c, 4, 5);
  train_some(a, 9, 0);
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_tile_state_export(a, d, "t."));
  CHECK(aihw_st_dict_contains(d, "t.compound.running_mean"));
  CHECK(aihw_st_dict_contains(d, "t.compound.chop_switched"));
  CHECK_OK(aihw_tile_state_import(b, d, "t.", 1));
  train_some(a, 8, 1);
  train_some(b, 8, 1);
  float wa[24], wb[24], pa[24], pb[24];
  for (int k = 0; k < 2; ++k) {
    sub_weights(a, k, wa);
    sub_weights(b, k, wb);
    CHECK(memcmp(wa, wb, sizeof wa) == 0);
  }
  CHECK_OK(aihw_tile_compound_get_buffer(a, 0, wa, 4, 6));
  CHECK_OK(aihw_tile_compound_get_buffer(b, 0, wb, 4, 6));
  CHECK(memcmp(wa, wb, sizeof wa) == 0);
  CHECK_OK(aihw_tile_compound_get_means(a, wa, pa, 4, 6));
  CHECK_OK(aihw_tile_compound_get_means(b, wb, pb, 4, 6));
  CHECK(memcmp(wa, wb, sizeof wa) == 0 && memcmp(pa, pb, sizeof pa) == 0);
  aihw_compound_counters na, nb;
  CHECK_OK(aihw_tile_compound_get_counters(a, &na));
  CHECK_OK(aihw_tile_compound_get_counters(b, &nb));
  CHECK(memcmp(&na, &nb, sizeof na) == 0);
  CHECK(na.transfers[0] == 51 && na.transfer_counter == 8);
  float ia[6], ib[6], oa[4], ob[4];
  CHECK_OK(aihw_tile_compound_get_choppers(a, ia, 6, oa, 4));
  CHECK_OK(aihw_tile_compound_get_choppers(b, ib, 6, ob, 4));
  CHECK(memcmp(ia, ib, sizeof ia) == 0 && memcmp(oa, ob, sizeof oa) == 0);
  aihw_st_dict_destroy(d);
  aihw_tile_destroy(a);
  aihw_tile_destroy(b);
}

TEST_MAIN(TEST(test_hand_computed), TEST(test_against_model), TEST(test_params_json_presets),
          TEST(test_state_round_trip))
