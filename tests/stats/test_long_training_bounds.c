/* Numerical guards (issue 9, item 6): long pulsed-training runs keep every device weight
 * within its device's bounds and every hidden parameter finite. For every device type and
 * every device preset, an 8 x 8 ANALOG tile with device-to-device variation gets 4,000
 * updates (batch 2, learning rate 0.5: far beyond saturation, so the bounds are hit over
 * and over) of random inputs and errors in [-1, 1], every 250th with extreme but finite
 * values (1e30 and 1e-30), and a post-update step (decay and diffusion, where set) every
 * 50 updates. After every 500 updates: all weights and hidden parameters finite; the
 * weights (the persistent weights when the device has write noise, since the visible
 * weights then carry the noise, as in aihwkit; plus the reference for
 * SoftBoundsReferenceDevice, whose bounds apply to w + reference) in [min_bound,
 * max_bound] of their device.
 * IdealDevice has no bounds: finite only (an update that would overflow float is refused
 * with NOT_FINITE, see update.c). Fixed seeds; the checks are invariants, so no tolerance
 * applies except a few ulps for w + reference. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "aihw/aihw.h"
#include "test_util.h"

enum { ROWS = 8, COLS = 8, BATCH = 2, UPDATES = 4000, CHECK_EVERY = 500 };

static uint32_t rng_state = 1;
static float uniform(void) { /* xorshift32 in [-1, 1) */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return (float)(rng_state >> 8) * 0x1p-23f - 1.0f;
}

/* Returns the number of violations found (printed). */
static int check_tile(const aihw_tile *t, const char *what, int update) {
  float w[ROWS * COLS], hidden[ROWS * COLS], lo[ROWS * COLS], hi[ROWS * COLS];
  int bad = 0;
  CHECK_OK(aihw_tile_get_weights(t, w, ROWS, COLS));
  for (int k = 0; k < ROWS * COLS; ++k)
    if (!isfinite(w[k]) && bad++ < 3)
      fprintf(stderr, "%s after %d updates: weight %d = %g\n", what, update, k, (double)w[k]);
  const int n_hidden = aihw_tile_hidden_count(t);
  int i_max = -1, i_min = -1, i_persistent = -1, i_reference = -1;
  for (int h = 0; h < n_hidden; ++h) {
    const char *name = aihw_tile_hidden_name(t, h);
    CHECK_OK(aihw_tile_get_hidden(t, h, hidden, ROWS, COLS));
    for (int k = 0; k < ROWS * COLS; ++k)
      if (!isfinite(hidden[k]) && bad++ < 3)
        fprintf(stderr, "%s after %d updates: hidden %s[%d] = %g\n", what, update, name, k,
                (double)hidden[k]);
    if (strcmp(name, "max_bound") == 0)
      i_max = h;
    else if (strcmp(name, "min_bound") == 0)
      i_min = h;
    else if (strcmp(name, "persistent_weights") == 0)
      i_persistent = h;
    else if (strcmp(name, "reference") == 0)
      i_reference = h;
  }
  if (i_max < 0 || i_min < 0)
    return bad; /* no bounds (IdealDevice) */
  CHECK_OK(aihw_tile_get_hidden(t, i_max, hi, ROWS, COLS));
  CHECK_OK(aihw_tile_get_hidden(t, i_min, lo, ROWS, COLS));
  if (i_persistent >= 0)
    CHECK_OK(aihw_tile_get_hidden(t, i_persistent, w, ROWS, COLS));
  if (i_reference >= 0) { /* SoftBoundsReferenceDevice bounds w + reference */
    CHECK_OK(aihw_tile_get_hidden(t, i_reference, hidden, ROWS, COLS));
    for (int k = 0; k < ROWS * COLS; ++k)
      w[k] += hidden[k];
  }
  /* w + reference is rounded once more than the device's own clipping (to [min - ref,
   * max - ref]): a few float ulps of slack there, none otherwise */
  for (int k = 0; k < ROWS * COLS; ++k) {
    const float slack = i_reference >= 0 ? 4.0f * FLT_EPSILON * (fabsf(lo[k]) + fabsf(hi[k]) +
                                                                 fabsf(hidden[k]))
                                         : 0.0f;
    if (!(w[k] >= lo[k] - slack && w[k] <= hi[k] + slack) && bad++ < 3)
      fprintf(stderr, "%s after %d updates: weight %d = %.9g outside [%.9g, %.9g]\n", what,
              update, k, (double)w[k], (double)lo[k], (double)hi[k]);
  }
  return bad;
}

static void long_run(const aihw_tile_config *config, const char *what) {
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(config, ROWS, COLS, &t));
  if (t == NULL)
    return;
  float x[BATCH * COLS], d[BATCH * ROWS];
  rng_state = 12345;
  int bad = 0;
  for (int u = 1; u <= UPDATES && bad == 0; ++u) {
    for (int k = 0; k < BATCH * COLS; ++k)
      x[k] = uniform();
    for (int k = 0; k < BATCH * ROWS; ++k)
      d[k] = uniform();
    if (u % 250 == 0) { /* extreme but finite */
      x[0] = 1e30f;
      d[0] = -1e30f;
      x[1] = 1e-30f;
      d[1] = 1e-30f;
    }
    const aihw_status s = aihw_tile_update(t, x, BATCH, COLS, d, ROWS, 0.5f);
    /* devices without bounds refuse an update that would overflow float (update.c) */
    CHECK(s == AIHW_OK || (s == AIHW_ERR_NOT_FINITE && u % 250 == 0));
    if (u % 50 == 0)
      CHECK_OK(aihw_tile_post_update_step(t));
    if (u % CHECK_EVERY == 0)
      bad += check_tile(t, what, u);
  }
  CHECK(bad == 0);
  aihw_tile_destroy(t);
}

static aihw_tile_config analog_config(aihw_device_params device) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = 99;
  c.device = device;
  return c;
}

static void every_device_type_stays_bounded_and_finite(void) {
  for (int type = 0; type < AIHW_DEVICE_TYPE_COUNT; ++type) {
    if (type == AIHW_DEVICE_FLOATING_POINT)
      continue; /* floating-point tiles only */
    aihw_device_params p = aihw_device_params_default((aihw_device_type)type);
    if (type != AIHW_DEVICE_IDEAL) { /* variation, decay and diffusion on top */
      p.dw_min_dtod = 0.3f;
      p.w_max_dtod = 0.3f;
      p.w_min_dtod = 0.3f;
      p.up_down_dtod = 0.1f;
      p.lifetime = 50.0f;
      p.diffusion = 0.01f;
    }
    aihw_tile_config c = analog_config(p);
    long_run(&c, aihw_device_type_name((aihw_device_type)type));
    if (type != AIHW_DEVICE_IDEAL) { /* and with write noise (persistent weights) */
      p.write_noise_std = 0.5f;
      c = analog_config(p);
      char name[96];
      snprintf(name, sizeof name, "%s with write noise",
               aihw_device_type_name((aihw_device_type)type));
      long_run(&c, name);
    }
  }
}

static void every_device_preset_stays_bounded_and_finite(void) {
  char names[1024];
  snprintf(names, sizeof names, "%s", aihw_device_preset_names());
  int count = 0;
  for (char *name = strtok(names, ", "); name != NULL; name = strtok(NULL, ", ")) {
    aihw_device_params p;
    CHECK_OK(aihw_device_params_preset(name, &p));
    aihw_tile_config c = analog_config(p);
    long_run(&c, name);
    ++count;
  }
  CHECK(count >= 10);
}

TEST_MAIN(TEST(every_device_type_stays_bounded_and_finite),
          TEST(every_device_preset_stays_bounded_and_finite))
