/* First part of `aihw demo` (demo.c): what the analog periphery does to a product.
 *
 * Builds one 256 x 512 tile (256 outputs, 512 inputs) with weights W ~ U(-0.5, 0.5), a
 * batch of 128 inputs x ~ U(-1, 1) and 128 output gradients d ~ U(-1, 1), computes the
 * exact y = W x and z = W^T d with a FLOATING_POINT tile of the same weights, then the
 * same products through ANALOG tiles under several periphery settings, and prints for each
 * the relative error ||y_analog - y_exact|| / ||y_exact|| and the Pearson correlation of
 * forward and backward. All randomness is seeded Philox (results do not depend on
 * --threads). Runs in well under a second.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aihw/aihw.h"
#include "cli.h"

enum { DEMO_OUT = 256, DEMO_IN = 512, DEMO_BATCH = 128 };
#define DEMO_W_MAX 0.5f

/* One periphery setting of the comparison: forward and backward IO parameters. */
typedef struct demo_setting {
  const char *name;
  aihw_io_params forward, backward;
} demo_setting;

/* Relative error and Pearson correlation of a against the reference b (n elements). */
static void compare(const float *a, const float *b, size_t n, double *rel_err, double *corr) {
  double diff2 = 0.0, ref2 = 0.0, sa = 0.0, sb = 0.0;
  for (size_t k = 0; k < n; ++k) {
    double d = (double)a[k] - (double)b[k];
    diff2 += d * d;
    ref2 += (double)b[k] * (double)b[k];
    sa += a[k];
    sb += b[k];
  }
  const double ma = sa / (double)n, mb = sb / (double)n;
  double cab = 0.0, caa = 0.0, cbb = 0.0;
  for (size_t k = 0; k < n; ++k) {
    double da = (double)a[k] - ma, db = (double)b[k] - mb;
    cab += da * db;
    caa += da * da;
    cbb += db * db;
  }
  *rel_err = ref2 > 0.0 ? sqrt(diff2 / ref2) : sqrt(diff2);
  *corr = caa > 0.0 && cbb > 0.0 ? cab / sqrt(caa * cbb) : 0.0;
}

/* Creates a tile of `config`, sets W, runs forward on x and backward on d. */
static aihw_status run_tile(const aihw_tile_config *config, const float *w, const float *x,
                            const float *d, float *y, float *z, const char **what) {
  aihw_tile *tile = NULL;
  *what = "aihw_tile_create";
  aihw_status s = aihw_tile_create(config, DEMO_OUT, DEMO_IN, &tile);
  if (s == AIHW_OK) {
    *what = "aihw_tile_set_weights";
    s = aihw_tile_set_weights(tile, w, DEMO_OUT, DEMO_IN);
  }
  if (s == AIHW_OK) {
    *what = "aihw_tile_forward";
    s = aihw_tile_forward(tile, x, DEMO_BATCH, DEMO_IN, y, DEMO_OUT);
  }
  if (s == AIHW_OK) {
    *what = "aihw_tile_backward";
    s = aihw_tile_backward(tile, d, DEMO_BATCH, DEMO_OUT, z, DEMO_IN);
  }
  aihw_tile_destroy(tile);
  return s;
}

/* Fills the settings table; returns the number of settings or -1 if a preset is missing. */
static int make_settings(demo_setting *set) {
  int n = 0;
  aihw_io_params p;

  if (aihw_io_params_preset("PerfectIOParameters", &p) != AIHW_OK)
    return -1;
  set[n++] = (demo_setting){"perfect (is_perfect)", p, p};

  p = aihw_io_params_default();
  set[n++] = (demo_setting){"IOParameters (default)", p, p};

  p = aihw_io_params_default();
  p.out_noise = 0.0f;
  p.inp_noise = 0.0f;
  p.w_noise = 0.0f;
  set[n++] = (demo_setting){"default, noise off (DAC/ADC only)", p, p};

  if (aihw_io_params_preset("StandardIOParameters", &p) != AIHW_OK)
    return -1;
  set[n++] = (demo_setting){"StandardIOParameters", p, p};

  p = aihw_io_params_default();
  p.w_noise_type = AIHW_W_NOISE_PCM_READ;
  p.w_noise = 0.02f;
  set[n++] = (demo_setting){"default + w_noise 0.02 PCM_READ", p, p};
  return n;
}

int demo_periphery(uint32_t seed) {
  const size_t nw = (size_t)DEMO_OUT * DEMO_IN;
  const size_t nx = (size_t)DEMO_BATCH * DEMO_IN, ny = (size_t)DEMO_BATCH * DEMO_OUT;
  float *w = malloc(nw * sizeof *w), *x = malloc(nx * sizeof *x), *d = malloc(ny * sizeof *d);
  float *y_exact = malloc(ny * sizeof(float)), *z_exact = malloc(nx * sizeof(float));
  float *y = malloc(ny * sizeof(float)), *z = malloc(nx * sizeof(float));
  int rc = CLI_EXIT_FAILURE;
  if (!w || !x || !d || !y_exact || !z_exact || !y || !z) {
    fprintf(stderr, "aihw demo: out of memory\n");
    goto done;
  }
  cli_fill_uniform(w, DEMO_OUT, DEMO_IN, -DEMO_W_MAX, DEMO_W_MAX, seed, 1);
  cli_fill_uniform(x, DEMO_BATCH, DEMO_IN, -1.0f, 1.0f, seed, 2);
  cli_fill_uniform(d, DEMO_BATCH, DEMO_OUT, -1.0f, 1.0f, seed, 3);

  const char *what = NULL;
  aihw_tile_config exact = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  exact.seed = seed;
  aihw_status s = run_tile(&exact, w, x, d, y_exact, z_exact, &what);
  if (s != AIHW_OK) {
    rc = cli_report_failure("demo", what, s);
    goto done;
  }

  demo_setting settings[8];
  int n_settings = make_settings(settings);
  if (n_settings < 0) {
    rc = cli_report_failure("demo", "aihw_io_params_preset", aihw_last_status());
    goto done;
  }

  const aihw_io_params def = aihw_io_params_default();
  printf("ANALOG tile %d outputs x %d inputs vs the exact product (FLOATING_POINT)\n",
         DEMO_OUT, DEMO_IN);
  printf("  W ~ U(-%.1f, %.1f); forward x ~ U(-1, 1) [%d][%d]; backward d ~ U(-1, 1) "
         "[%d][%d]; seed %u\n",
         (double)DEMO_W_MAX, (double)DEMO_W_MAX, DEMO_BATCH, DEMO_IN, DEMO_BATCH, DEMO_OUT,
         (unsigned)seed);
  printf("  default periphery: inp_res 1/%.0f (DAC), out_res 1/%.0f (ADC), out_bound %g, "
         "out_noise %g,\n  noise management %s, bound management %s (forward only)\n",
         def.inp_res > 0.0f && def.inp_res < 1.0f ? 1.0 / (double)def.inp_res
                                                  : (double)def.inp_res,
         def.out_res > 0.0f && def.out_res < 1.0f ? 1.0 / (double)def.out_res
                                                  : (double)def.out_res,
         (double)def.out_bound, (double)def.out_noise,
         aihw_noise_management_name(def.noise_management),
         aihw_bound_management_name(def.bound_management));
  printf("\n  %-34s %12s %10s %12s %10s\n", "periphery (forward and backward)", "fwd rel.err",
         "fwd corr", "bwd rel.err", "bwd corr");
  printf("  %-34s %12s %10s %12s %10s\n", "----------------------------------", "-----------",
         "--------", "-----------", "--------");
  for (int k = 0; k < n_settings; ++k) {
    aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_ANALOG);
    config.device = aihw_device_params_default(AIHW_DEVICE_IDEAL); /* weights stored exactly */
    config.forward = settings[k].forward;
    config.backward = settings[k].backward;
    config.seed = seed;
    s = run_tile(&config, w, x, d, y, z, &what);
    if (s != AIHW_OK) {
      rc = cli_report_failure("demo", what, s);
      goto done;
    }
    double fwd_err, fwd_corr, bwd_err, bwd_corr;
    compare(y, y_exact, ny, &fwd_err, &fwd_corr);
    compare(z, z_exact, nx, &bwd_err, &bwd_corr);
    printf("  %-34s %11.3f%% %10.5f %11.3f%% %10.5f\n", settings[k].name, 100.0 * fwd_err,
           fwd_corr, 100.0 * bwd_err, bwd_corr);
  }
  printf("\n  rel.err = ||y - y_exact|| / ||y_exact|| over the whole batch; corr = Pearson.\n");
  rc = CLI_EXIT_OK;
done:
  free(w);
  free(x);
  free(d);
  free(y_exact);
  free(z_exact);
  free(y);
  free(z);
  return rc;
}
