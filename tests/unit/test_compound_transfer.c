/* Tiki-Taka compounds (reference §5.10): the transfer schedule (which columns, when, how
 * many reads), TTv2 buffer and c-TTv2 chopper semantics against the pseudo-code on
 * crafted inputs with exact step counts (compound_test_util.h), reproducibility and
 * saved state. */
#ifdef _OPENMP
#include <omp.h>
#endif

#include "aihw/aihw.h"
#include "compound_test_util.h"
#include "core/alloc.h"
#include "core/safetensors.h"
#include "test_util.h"
#include "tile/tile_internal.h"

static aihw_tile_config tt_config(int n) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_TRANSFER, n);
  c.compound.transfer_lr = 100.0f;
  return c;
}

/* Samples x_b = e_b, d_b = [-(b+1), b+1]: A[0][b] += (b+1) g, A[1][b] -= (b+1) g. */
static void tt_batch(aihw_tile *t, int batch) {
  int col[8];
  float d[16];
  for (int b = 0; b < batch; ++b) {
    col[b] = b % (int)aihw_tile_in_size(t);
    d[2 * b] = -(float)(b + 1);
    d[2 * b + 1] = (float)(b + 1);
  }
  update_onehot(t, col, d, batch, G);
}

/* transfer_every 1 in mini-batches: one transfer of the next column after each batch. */
static void test_transfer_schedule_mbatch(void) {
  aihw_tile_config c = tt_config(2);
  aihw_tile *t = make(&c, 2, 3);
  float a[6], cw[6], w[6];
  tt_batch(t, 3); /* A = [[.01 .02 .03] [-.01 -.02 -.03]], then C[:,0] += A[:,0] */
  sub_weights(t, 1, cw);
  CHECK_NEAR(cw[0], 0.01f, 1e-7);
  CHECK_NEAR(cw[3], -0.01f, 1e-7);
  CHECK(cw[1] == 0.0f && cw[2] == 0.0f && cw[4] == 0.0f && cw[5] == 0.0f);
  tt_batch(t, 3); /* A doubles, C[:,1] += A[:,1] = +-0.04 */
  sub_weights(t, 0, a);
  sub_weights(t, 1, cw);
  CHECK_NEAR(a[1], 0.04f, 1e-7);
  CHECK_NEAR(cw[1], 0.04f, 1e-7);
  CHECK_NEAR(cw[4], -0.04f, 1e-7);
  CHECK(cw[2] == 0.0f && cw[5] == 0.0f);
  CHECK_OK(aihw_tile_get_weights(t, w, 2, 3)); /* fully hidden: visible = C */
  for (int e = 0; e < 6; ++e)
    CHECK_FEQ(w[e], cw[e]);
  aihw_compound_counters n;
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  CHECK(n.update_count == 6);
  CHECK(n.transfers[0] == 2 && n.transfers[1] == 0);
  CHECK(n.current_slice[0] == 2);
  aihw_tile_destroy(t);
}

/* transfer_every 2 in samples: transfers after vectors 2, 4, 6, across batch borders. */
static void test_transfer_schedule_samples(void) {
  aihw_tile_config c = tt_config(2);
  c.compound.units_in_mbatch = 0;
  c.compound.transfer_every = 2.0f;
  aihw_tile *t = make(&c, 2, 3);
  tt_batch(t, 3);
  tt_batch(t, 3);
  float cw[6];
  sub_weights(t, 1, cw);
  /* after vector 2: A[:,0] = .01; after 4 (batch 2, sample 0): A[:,1] = .02; after 6:
   * A[:,2] = .03 + .03 */
  CHECK_NEAR(cw[0], 0.01f, 1e-7);
  CHECK_NEAR(cw[1], 0.02f, 1e-7);
  CHECK_NEAR(cw[2], 0.06f, 1e-7);
  CHECK_NEAR(cw[5], -0.06f, 1e-7);
  aihw_compound_counters n;
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  CHECK(n.transfers[0] == 3);
  /* 2.5 samples: C roundf gives every 3rd vector */
  c.compound.transfer_every = 2.5f;
  aihw_tile *u = make(&c, 2, 3);
  tt_batch(u, 3);
  tt_batch(u, 3);
  CHECK_OK(aihw_tile_compound_get_counters(u, &n));
  CHECK(n.transfers[0] == 2);
  aihw_tile_destroy(t);
  aihw_tile_destroy(u);
}

/* n_reads_per_transfer 2 on 3 columns reads (0, 1), then (2, 0); 9 is capped at 3. */
static void test_transfer_reads(void) {
  aihw_tile_config c = tt_config(2);
  c.compound.n_reads_per_transfer = 2;
  aihw_tile *t = make(&c, 2, 3);
  tt_batch(t, 3); /* transfer columns 0, 1 of A = [.01 .02 .03] */
  float cw[6];
  sub_weights(t, 1, cw);
  CHECK_NEAR(cw[0], 0.01f, 1e-7);
  CHECK_NEAR(cw[1], 0.02f, 1e-7);
  CHECK(cw[2] == 0.0f);
  tt_batch(t, 3); /* A = [.02 .04 .06]; columns 2, 0 */
  sub_weights(t, 1, cw);
  CHECK_NEAR(cw[0], 0.03f, 1e-7);
  CHECK_NEAR(cw[1], 0.02f, 1e-7);
  CHECK_NEAR(cw[2], 0.06f, 1e-7);
  aihw_compound_counters n;
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  CHECK(n.current_slice[0] == 1);
  c.compound.n_reads_per_transfer = 9;
  aihw_tile *u = make(&c, 2, 3);
  tt_batch(u, 3);
  sub_weights(u, 1, cw);
  CHECK_NEAR(cw[0], 0.01f, 1e-7);
  CHECK_NEAR(cw[1], 0.02f, 1e-7);
  CHECK_NEAR(cw[2], 0.03f, 1e-7);
  CHECK_OK(aihw_tile_compound_get_counters(u, &n));
  CHECK(n.current_slice[0] == 0);
  aihw_tile_destroy(t);
  aihw_tile_destroy(u);
}

/* Three devices: te_1 = te_0 out_size / n_reads = 2 mini-batches (every 6 vectors of 3),
 * the last device never transfers (no_self_transfer). */
static void test_transfer_three_devices(void) {
  aihw_tile_config c = tt_config(3);
  aihw_tile *t = make(&c, 2, 3);
  for (int k = 0; k < 4; ++k)
    tt_batch(t, 3);
  aihw_compound_counters n;
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  CHECK(n.transfers[0] == 4);
  CHECK(n.transfers[1] == 2);
  CHECK(n.transfers[2] == 0);
  float c1[6], c2[6];
  sub_weights(t, 1, c1);
  sub_weights(t, 2, c2);
  /* A -> B after every batch (columns 0, 1, 2, 0 of A = .01, .04, .09, .04);
   * B -> C after vectors 6 (B column 0 = .01) and 12 (B column 1 = .04). */
  const float b_expect[3] = {0.05f, 0.04f, 0.09f}, c_expect[3] = {0.01f, 0.04f, 0.0f};
  for (int j = 0; j < 3; ++j) {
    CHECK_NEAR(c1[j], b_expect[j], 1e-7);
    CHECK_NEAR(c1[3 + j], -b_expect[j], 1e-7);
    CHECK_NEAR(c2[j], c_expect[j], 1e-7);
    CHECK_NEAR(c2[3 + j], -c_expect[j], 1e-7);
  }
  aihw_tile_destroy(t);
}

/* gamma 0.5 (not fully hidden): W = 0.5 A + C; set_weights puts W / gamma_last in C. */
static void test_transfer_gamma(void) {
  aihw_tile_config c = tt_config(2);
  c.compound.gamma = 0.5f;
  aihw_tile *t = make(&c, 2, 3);
  const float s[6] = {0.1f, 0.2f, 0.3f, -0.1f, -0.2f, -0.3f};
  CHECK_OK(aihw_tile_set_weights(t, s, 2, 3));
  float a[6], cw[6], w[6];
  sub_weights(t, 0, a);
  sub_weights(t, 1, cw);
  for (int e = 0; e < 6; ++e) {
    CHECK_FEQ(a[e], 0.0f);
    CHECK_FEQ(cw[e], s[e]);
  }
  tt_batch(t, 3);
  sub_weights(t, 0, a);
  sub_weights(t, 1, cw);
  CHECK_OK(aihw_tile_get_weights(t, w, 2, 3));
  for (int e = 0; e < 6; ++e)
    CHECK_FEQ(w[e], 0.5f * a[e] + 1.0f * cw[e]);
  CHECK_NEAR(cw[0], 0.11f, 1e-6);
  aihw_tile_destroy(t);
}

/* TTv2 buffer (§5.10 BufferedTransferCompound) against the pseudo-code restated here:
 * h = H + a |lr_t|, n = clip(trunc(h / bg), +-BL), H = forget ? h momentum : h - (1 -
 * momentum) n bg if n != 0, C += n g (one pulse per unit of n with BL 1, UM off). */
static void buffer_model(float *h, float a, float lr_t, float bg, float momentum, int forget,
                         float *c) {
  const float hv = *h + a * fabsf(lr_t);
  float n = truncf(hv / bg);
  n = n > 1.0f ? 1.0f : (n < -1.0f ? -1.0f : n);
  if (n != 0.0f)
    *h = forget ? hv * momentum : hv - (1.0f - momentum) * n * bg;
  else
    *h = hv;
  *c += n * G;
}

static void run_buffered(int forget, float momentum) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_BUFFERED_TRANSFER, 2);
  c.compound.transfer_update =
      aihw_compound_params_default(AIHW_COMPOUND_BUFFERED_TRANSFER, NULL, 2).transfer_update;
  c.compound.transfer_lr = 40.0f; /* lr_t = 40 lr = 0.4 */
  c.compound.forget_buffer = forget;
  c.compound.momentum = momentum;
  CHECK(c.compound.transfer_update.desired_bl == 1);
  aihw_tile *t = make(&c, 2, 2);
  float hm[4] = {0}, cm[4] = {0}, am[4] = {0};
  for (int step = 0; step < 8; ++step) {
    const int col[1] = {0};
    const float d[2] = {-3.0f, 1.0f}; /* A[:,0] += (.03, -.01) */
    update_onehot(t, col, d, 1, G);
    am[0] += 0.03f;
    am[2] -= 0.01f;
    float a[4];
    sub_weights(t, 0, a);
    const int j = step % 2; /* the column read after this batch */
    for (int o = 0; o < 2; ++o)
      buffer_model(&hm[o * 2 + j], a[o * 2 + j], 40.0f * G, G, momentum, forget, &cm[o * 2 + j]);
    float h[4], cw[4];
    CHECK_OK(aihw_tile_compound_get_buffer(t, 0, h, 2, 2));
    sub_weights(t, 1, cw);
    for (int e = 0; e < 4; ++e) {
      CHECK_NEAR(a[e], am[e], 1e-6);
      CHECK_NEAR(h[e], hm[e], 1e-6);
      CHECK_NEAR(cw[e], cm[e], 1e-6);
    }
  }
  float cw[4];
  sub_weights(t, 1, cw);
  CHECK(cw[0] > 0.0f); /* the test exercises transfers at all */
  CHECK(cw[2] < 0.0f);
  aihw_tile_destroy(t);
}

static void test_buffered_transfer(void) {
  run_buffered(1, 0.1f);
  run_buffered(0, 0.0f);
  run_buffered(0, 0.3f);
}

/* Reproducible for the same seed; different sub-devices draw different dtod values. */
static void test_reproducible_and_distinct(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  aihw_device_params d = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS);
  c.compound = aihw_compound_params_default(AIHW_COMPOUND_TRANSFER, &d, 2);
  c.compound.transfer_lr = 10.0f;
  c.seed = 3;
  aihw_tile *t1 = make(&c, 4, 5), *t2 = make(&c, 4, 5);
  float x[2 * 5], dd[2 * 4];
  for (int e = 0; e < 10; ++e)
    x[e] = 0.1f * (float)(e % 7) - 0.3f;
  for (int e = 0; e < 8; ++e)
    dd[e] = 0.2f * (float)(e % 5) - 0.4f;
  for (int r = 0; r < 5; ++r) {
    CHECK_OK(aihw_tile_update(t1, x, 2, 5, dd, 4, 0.1f));
    CHECK_OK(aihw_tile_update(t2, x, 2, 5, dd, 4, 0.1f));
  }
  float a1[20], a2[20], c1[20], c2[20];
  sub_weights(t1, 0, a1);
  sub_weights(t2, 0, a2);
  sub_weights(t1, 1, c1);
  sub_weights(t2, 1, c2);
  int moved = 0;
  for (int e = 0; e < 20; ++e) {
    CHECK_FEQ(a1[e], a2[e]);
    CHECK_FEQ(c1[e], c2[e]);
    moved += c1[e] != 0.0f;
  }
  CHECK(moved > 0);
  /* saturate both devices upwards: their bounds (dtod 0.3) differ element-wise */
  const float big[20] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
  CHECK_OK(aihw_tile_compound_set_weights(t1, 0, big, 4, 5));
  CHECK_OK(aihw_tile_compound_set_weights(t1, 1, big, 4, 5));
  sub_weights(t1, 0, a1);
  sub_weights(t1, 1, c1);
  int differ = 0;
  for (int e = 0; e < 20; ++e)
    differ += a1[e] != c1[e];
  CHECK(differ >= 15);
  aihw_tile_destroy(t1);
  aihw_tile_destroy(t2);
}

static void test_chopped_transfer(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_CHOPPED_TRANSFER, 2);
  c.compound.transfer_update =
      aihw_compound_params_default(AIHW_COMPOUND_CHOPPED_TRANSFER, NULL, 2).transfer_update;
  c.compound.in_chop_prob = 0.5f;
  c.compound.in_chop_random = 0;
  c.compound.transfer_lr = 0.4f;
  CHECK(c.compound.units_in_mbatch == 0 && c.compound.momentum == 0.0f);
  aihw_tile *t = make(&c, 2, 2);
  float am[4] = {0}, hm[4] = {0}, cm[4] = {0};
  int cin[2] = {0, 0}, tc = 0, flips = 0;
  for (int step = 0; step < 16; ++step) {
    const int j = (step / 3) % 2; /* x = e_j */
    const float d[2] = {-0.01f * (float)(1 + step % 3), 0.02f};
    const int col[1] = {j};
    update_onehot(t, col, d, 1, 1.0f);
    for (int o = 0; o < 2; ++o) /* A -= d x (with the column's chopper sign) */
      am[o * 2 + j] += (cin[j] ? 1.0f : -1.0f) * d[o];
    float a[4], h[4], cw[4], in[2], out[2];
    sub_weights(t, 0, a);
    const int i = step % 2; /* transfer column = current slice */
    for (int o = 0; o < 2; ++o) {
      float hv = hm[o * 2 + i] + 40.0f * a[o * 2 + i] * (cin[i] ? -1.0f : 1.0f);
      float n = 0.0f;
      if (fabsf(hv) >= 1.0f) {
        n = truncf(hv);
        n = n > 1.0f ? 1.0f : (n < -1.0f ? -1.0f : n);
        hv = hv * 0.0f;
      }
      hm[o * 2 + i] = hv;
      cm[o * 2 + i] += n * G;
    }
    if ((tc % 2) + 1 == 2) {
      cin[i] ^= 1;
      ++flips;
    }
    if (i == 1)
      ++tc;
    CHECK_OK(aihw_tile_compound_get_buffer(t, 0, h, 2, 2));
    sub_weights(t, 1, cw);
    CHECK_OK(aihw_tile_compound_get_choppers(t, in, 2, out, 2));
    for (int e = 0; e < 4; ++e) {
      CHECK_NEAR(a[e], am[e], 1e-6);
      CHECK_NEAR(h[e], hm[e], 1e-5);
      CHECK_NEAR(cw[e], cm[e], 1e-6);
    }
    CHECK(in[0] == (cin[0] ? -1.0f : 1.0f) && in[1] == (cin[1] ? -1.0f : 1.0f));
    CHECK(out[0] == 1.0f && out[1] == 1.0f);
  }
  aihw_compound_counters n;
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  CHECK(n.transfer_counter == 8);
  CHECK(flips == 8);
  CHECK(cm[0] != 0.0f || cm[1] != 0.0f);
  aihw_tile_destroy(t);
}

/* auto_scale: m_x, m_d follow m <- (1 - tau) m + tau new, tau = (1 - 0.99) / batch, after
 * m = new for the first vector; the count lr is fast_lr BL g / (m_x m_d). */
static void test_chopped_auto_scale(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_CHOPPED_TRANSFER, 2);
  c.compound.auto_scale = 1;
  c.compound.in_chop_prob = 0.0f;
  aihw_tile *t = make(&c, 2, 3);
  const float x[6] = {0.5f, -1.0f, 0.25f, 2.0f, 0.0f, 0.1f};
  const float d[4] = {0.3f, -0.1f, 0.05f, 0.6f};
  CHECK_OK(aihw_tile_update(t, x, 2, 3, d, 2, 1.0f));
  aihw_compound_counters n;
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  const float tau = (1.0f - 0.99f) / 2.0f;
  CHECK_FEQ(n.m_x, (1.0f - tau) * 1.0f + tau * 2.0f);
  CHECK_FEQ(n.m_d, (1.0f - tau) * 0.3f + tau * 0.6f);
  CHECK(n.transfers[0] == 2); /* units_in_mbatch 0, transfer_every 1: after each vector */
  aihw_tile_destroy(t);
}

static void train_some(aihw_tile *t, int batches, uint32_t salt) {
  train_some_lr(t, batches, salt, 0.2f);
}

static void state_round_trip(int chopped) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  aihw_device_params dv = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS);
  c.compound = aihw_compound_params_default(
      chopped ? AIHW_COMPOUND_CHOPPED_TRANSFER : AIHW_COMPOUND_BUFFERED_TRANSFER, &dv, 2);
  c.compound.devices[1].write_noise_std = 0.5f;
  c.compound.transfer_lr = 20.0f;
  if (chopped) {
    c.compound.in_chop_prob = 0.3f;
    c.compound.out_chop_prob = 0.2f;
    c.compound.auto_scale = 1;
    c.compound.units_in_mbatch = 1;
  } else {
    c.compound.n_reads_per_transfer = 2;
  }
  c.seed = 9;
  c.analog_bias = 1;
  aihw_tile *a = make(&c, 4, 5), *b = make(&c, 4, 5);
  train_some(a, 6, 0);
  aihw_st_dict *d = NULL, *back = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_tile_state_export(a, d, "t."));
  CHECK(aihw_st_dict_contains(d, "t.compound.1.hidden.persistent_weights"));
  CHECK(aihw_st_dict_contains(d, "t.compound.chop_in") == chopped);
  CHECK(aihw_st_dict_contains(d, "t.compound.0.buffer"));
  void *bytes = NULL;
  size_t size = 0;
  CHECK_OK(aihw_st_write_memory(d, &bytes, &size));
  CHECK_OK(aihw_st_read_memory(bytes, size, &back));
  CHECK_OK(aihw_tile_state_import(b, back, "t.", 1));
  train_some(a, 5, 1);
  train_some(b, 5, 1);
  float wa[24], wb[24];
  for (int k = 0; k < 2; ++k) {
    sub_weights(a, k, wa);
    sub_weights(b, k, wb);
    CHECK(memcmp(wa, wb, sizeof wa) == 0);
  }
  CHECK_OK(aihw_tile_compound_get_buffer(a, 0, wa, 4, 6));
  CHECK_OK(aihw_tile_compound_get_buffer(b, 0, wb, 4, 6));
  CHECK(memcmp(wa, wb, sizeof wa) == 0);
  CHECK_OK(aihw_tile_get_weights(a, wa, 4, 6));
  CHECK_OK(aihw_tile_get_weights(b, wb, 4, 6));
  CHECK(memcmp(wa, wb, sizeof wa) == 0);
  aihw_compound_counters na, nb;
  CHECK_OK(aihw_tile_compound_get_counters(a, &na));
  CHECK_OK(aihw_tile_compound_get_counters(b, &nb));
  CHECK(memcmp(&na, &nb, sizeof na) == 0);
  CHECK(na.transfers[0] == 11);
  if (chopped) {
    float ia[6], ib[6], oa[4], ob[4];
    CHECK_OK(aihw_tile_compound_get_choppers(a, ia, 6, oa, 4));
    CHECK_OK(aihw_tile_compound_get_choppers(b, ib, 6, ob, 4));
    CHECK(memcmp(ia, ib, sizeof ia) == 0 && memcmp(oa, ob, sizeof oa) == 0);
    CHECK(na.m_x > 0.0f && na.transfer_counter == 1);
  }
  /* a state without the compound tensors is refused (strict), naming them */
  aihw_st_dict *bare = NULL;
  CHECK_OK(aihw_st_dict_create(&bare));
  const size_t n = aihw_st_dict_count(d);
  for (size_t e = 0; e < n; ++e) {
    aihw_st_tensor ten;
    CHECK_OK(aihw_st_dict_at(d, e, &ten));
    if (strstr(ten.name, "compound.") == NULL)
      CHECK_OK(aihw_st_dict_add(bare, ten.name, ten.dtype, ten.shape, ten.ndim, ten.data));
  }
  aihw_tile *fresh = make(&c, 4, 5);
  CHECK_STATUS(aihw_tile_state_import(fresh, bare, "t.", 1), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("compound.0.weights");
  aihw_tile_destroy(fresh);
  aihw_st_dict_destroy(bare);
  aihw_free(bytes);
  aihw_st_dict_destroy(d);
  aihw_st_dict_destroy(back);
  aihw_tile_destroy(a);
  aihw_tile_destroy(b);
}

static void test_state_round_trip(void) {
  state_round_trip(0);
  state_round_trip(1);
}

/* §8.2 compound presets: every name loads, builds a tile that trains and saves as JSON. */
/* Bit-identical at 1 and 2 threads: c-TTv2 with random choppers and auto_scale, and TTv1
 * with a noisy transfer read, on a 40 x 70 tile (big enough for the threaded paths). */
static void run_threads(int threads, aihw_compound_type type, float *out_a, float *out_c) {
#ifdef _OPENMP
  omp_set_num_threads(threads);
#else
  (void)threads;
#endif
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  aihw_device_params dv = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS);
  c.compound = aihw_compound_params_default(type, &dv, 2);
  c.compound.transfer_lr = 10.0f;
  if (type == AIHW_COMPOUND_CHOPPED_TRANSFER) {
    c.compound.auto_scale = 1;
    c.compound.out_chop_prob = 0.1f;
  }
  c.seed = 21;
  aihw_tile *t = make(&c, 40, 70);
  float *x = malloc(sizeof(float) * 8 * 70), *d = malloc(sizeof(float) * 8 * 40);
  for (int r = 0; r < 6; ++r) {
    for (int e = 0; e < 8 * 70; ++e)
      x[e] = 0.01f * (float)((e * 37 + r * 11) % 200) - 1.0f;
    for (int e = 0; e < 8 * 40; ++e)
      d[e] = 0.01f * (float)((e * 53 + r * 7) % 100) - 0.5f;
    CHECK_OK(aihw_tile_update(t, x, 8, 70, d, 40, 0.1f));
  }
  CHECK_OK(aihw_tile_compound_get_weights(t, 0, out_a, 40, 70));
  CHECK_OK(aihw_tile_compound_get_weights(t, 1, out_c, 40, 70));
  free(x);
  free(d);
  aihw_tile_destroy(t);
}

static void test_thread_count_invariance(void) {
  const aihw_compound_type types[2] = {AIHW_COMPOUND_TRANSFER, AIHW_COMPOUND_CHOPPED_TRANSFER};
  for (int k = 0; k < 2; ++k) {
    float *a1 = malloc(sizeof(float) * 2800), *c1 = malloc(sizeof(float) * 2800);
    float *a2 = malloc(sizeof(float) * 2800), *c2 = malloc(sizeof(float) * 2800);
    run_threads(1, types[k], a1, c1);
    run_threads(2, types[k], a2, c2);
    CHECK(memcmp(a1, a2, sizeof(float) * 2800) == 0);
    CHECK(memcmp(c1, c2, sizeof(float) * 2800) == 0);
    int moved = 0;
    for (int e = 0; e < 2800; ++e)
      moved += c1[e] != 0.0f;
    CHECK(moved > 0);
    free(a1);
    free(c1);
    free(a2);
    free(c2);
  }
}

TEST_MAIN(TEST(test_thread_count_invariance), TEST(test_transfer_schedule_mbatch), TEST(test_transfer_schedule_samples),
          TEST(test_transfer_reads), TEST(test_transfer_three_devices),
          TEST(test_transfer_gamma), TEST(test_buffered_transfer),
          TEST(test_chopped_transfer), TEST(test_chopped_auto_scale),
          TEST(test_reproducible_and_distinct), TEST(test_state_round_trip))
