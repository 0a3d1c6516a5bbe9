/* OneSidedUnitCell, MixedPrecisionCompound and DynamicTransferCompound (AGAD) against
 * aihwkit 1.1.0 value by value (tests/data/aihwkit/compound_device.json, produced by
 * scripts/aihwkit/crosscheck_compounds.py, whose docstring states the recipe): exact
 * ConstantStep devices and DETERMINISTIC_IMPLICIT counts make both simulators' results
 * deterministic, so for each of the 14 cases (OneSided update and copy_inverted,
 * MixedPrecision x 3, AGAD x 6, row transfers of TTv1, TTv2, c-TTv2 and AGAD) after each of 12 update calls (batches 2, 1, 3, ...) the sub-device
 * weights, the visible weights, MixedPrecision's chi and AGAD's buffer, running / past
 * means and input choppers must agree up to float rounding: 2e-5 on weights and buffers
 * (sums of up to a few hundred steps of 0.01 in float, differently ordered), 1e-6 on
 * chi and means; choppers exactly. A single step of difference (0.01) fails. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compound_test_util.h"
#include "golden_util.h"

static void set_param(aihw_compound_params *p, const cJSON *item) {
  const char *k = item->string;
  const float v = (float)item->valuedouble;
  const int b = cJSON_IsBool(item) ? cJSON_IsTrue(item) : (int)item->valuedouble;
  if (strcmp(k, "refresh_every") == 0) p->refresh_every = b;
  else if (strcmp(k, "units_in_mbatch") == 0) p->units_in_mbatch = b;
  else if (strcmp(k, "transfer_every") == 0) p->transfer_every = v;
  else if (strcmp(k, "n_rows_per_transfer") == 0) p->n_rows_per_transfer = b;
  else if (strcmp(k, "transfer_lr") == 0) p->transfer_lr = v;
  else if (strcmp(k, "granularity") == 0) p->granularity = v;
  else if (strcmp(k, "n_x_bins") == 0) p->n_x_bins = b;
  else if (strcmp(k, "n_d_bins") == 0) p->n_d_bins = b;
  else if (strcmp(k, "stoc_round_x") == 0) p->stoc_round_x = b;
  else if (strcmp(k, "stoc_round_d") == 0) p->stoc_round_d = b;
  else if (strcmp(k, "in_chop_prob") == 0) p->in_chop_prob = v;
  else if (strcmp(k, "in_chop_random") == 0) p->in_chop_random = b;
  else if (strcmp(k, "tail_weightening") == 0) p->tail_weightening = v;
  else if (strcmp(k, "fast_lr") == 0) p->fast_lr = v;
  else if (strcmp(k, "forget_buffer") == 0) p->forget_buffer = b;
  else if (strcmp(k, "momentum") == 0) p->momentum = v;
  else if (strcmp(k, "buffer_cap") == 0) p->buffer_cap = v;
  else if (strcmp(k, "out_chop_prob") == 0) p->out_chop_prob = v;
  else if (strcmp(k, "no_buffer") == 0) p->no_buffer = b;
  else if (strcmp(k, "copy_inverted") == 0) p->copy_inverted = b;
  else if (strcmp(k, "auto_scale") == 0) p->auto_scale = b;
  else if (strcmp(k, "experimental_correct_accumulation") == 0)
    p->experimental_correct_accumulation = b;
  else if (strcmp(k, "transfer_columns") == 0) p->transfer_columns = b;
  else if (strcmp(k, "transfer_bl") == 0) p->transfer_update.desired_bl = b;
  else if (strcmp(k, "scale_fast_lr") == 0) p->scale_fast_lr = b;
  else if (strcmp(k, "device_up_down") == 0)
    for (int d = 0; d < AIHW_COMPOUND_MAX_DEVICES; ++d)
      p->devices[d].up_down = v;
  else {
    fprintf(stderr, "unknown fixture parameter '%s'\n", k);
    exit(2);
  }
}

static aihw_compound_type type_of(const char *name) {
  for (int t = 1; t < AIHW_COMPOUND_TYPE_COUNT; ++t)
    if (strcmp(name, aihw_compound_type_name((aihw_compound_type)t)) == 0)
      return (aihw_compound_type)t;
  fprintf(stderr, "unknown compound '%s'\n", name);
  exit(2);
}

static void compare(const char *what, const char *key, const float *got, const cJSON *expect,
                    size_t n, double tol) {
  size_t m = 0;
  float *want = golden_floats(expect, key, &m);
  CHECK(m == n);
  double worst = 0.0;
  for (size_t e = 0; e < n && e < m; ++e) {
    const double diff = fabs((double)got[e] - (double)want[e]);
    worst = diff > worst ? diff : worst;
  }
  if (worst > tol)
    fprintf(stderr, "  %s %s: max |diff| %.3g > %.3g\n", what, key, worst, tol);
  CHECK(worst <= tol);
  free(want);
}

/* Input (slice) choppers: one per column, or per row for row transfers. */
static void compare_choppers(const aihw_tile *t, const cJSON *ex, const char *key, int by_cols,
                             int64_t rows, int64_t cols) {
  const int64_t n_in = by_cols ? cols : rows, n_out = by_cols ? rows : cols;
  float in[16], out[16];
  CHECK_OK(aihw_tile_compound_get_choppers(t, in, n_in, out, n_out));
  size_t nc = 0;
  float *want = golden_floats(ex, key, &nc);
  CHECK(nc == (size_t)n_in);
  for (int64_t j = 0; j < n_in && j < (int64_t)nc; ++j)
    CHECK((in[j] < 0.0f) == (want[j] != 0.0f));
  free(want);
}

static void run_case(const cJSON *cs, int64_t rows, int64_t cols) {
  const char *name = cJSON_GetObjectItemCaseSensitive(cs, "name")->valuestring;
  const aihw_compound_type type =
      type_of(cJSON_GetObjectItemCaseSensitive(cs, "type")->valuestring);
  const float lr = (float)cJSON_GetObjectItemCaseSensitive(cs, "lr")->valuedouble;
  aihw_tile_config c = compound_config(type, 2);
  for (int k = 0; k < AIHW_COMPOUND_MAX_DEVICES; ++k)
    c.compound.devices[k].reset_std = 0.0f;
  c.compound.refresh_forward.is_perfect = 1;
  c.compound.refresh_update = exact_update();
  if (type == AIHW_COMPOUND_DYNAMIC_TRANSFER || type == AIHW_COMPOUND_CHOPPED_TRANSFER)
    c.compound.transfer_update.desired_bl = 1;
  const cJSON *item;
  cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(cs, "params")) set_param(&c.compound, item);
  aihw_tile *t = make(&c, rows, cols);
  size_t n = 0;
  float *w0 = golden_floats(cs, "w0", &n);
  CHECK(n == (size_t)(rows * cols));
  CHECK_OK(aihw_tile_set_weights(t, w0, rows, cols));
  free(w0);
  const size_t size = (size_t)(rows * cols);
  float *got = malloc(size * sizeof(float)), *past = malloc(size * sizeof(float));
  int call = 0;
  cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(cs, "calls")) {
    size_t nx = 0, nd = 0;
    float *x = golden_floats(item, "x", &nx), *d = golden_floats(item, "d", &nd);
    const int64_t batch = (int64_t)nx / cols;
    CHECK_OK(aihw_tile_update(t, x, batch, cols, d, rows, lr));
    free(x);
    free(d);
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(item, "expect");
    char what[96];
    snprintf(what, sizeof what, "%s call %d", name, call++);
    CHECK_OK(aihw_tile_get_weights(t, got, rows, cols));
    compare(what, "weights", got, ex, size, 2e-5);
    if (cJSON_GetObjectItemCaseSensitive(ex, "sub0") != NULL) {
      sub_weights(t, 0, got);
      compare(what, "sub0", got, ex, size, 2e-5);
      sub_weights(t, 1, got);
      compare(what, "sub1", got, ex, size, 2e-5);
    }
    if (cJSON_GetObjectItemCaseSensitive(ex, "buffer_only") != NULL) {
      CHECK_OK(aihw_tile_compound_get_buffer(t, 0, got, rows, cols));
      compare(what, "buffer_only", got, ex, size, 2e-5);
    }
    if (cJSON_GetObjectItemCaseSensitive(ex, "chi") != NULL) {
      CHECK_OK(aihw_tile_compound_get_buffer(t, 0, got, rows, cols));
      compare(what, "chi", got, ex, size, 1e-6);
    }
    if (cJSON_GetObjectItemCaseSensitive(ex, "buffer") != NULL) {
      CHECK_OK(aihw_tile_compound_get_buffer(t, 0, got, rows, cols));
      compare(what, "buffer", got, ex, size, 2e-5);
      CHECK_OK(aihw_tile_compound_get_means(t, got, past, rows, cols));
      compare(what, "running_mean", got, ex, size, 1e-6);
      compare(what, "past_mean", past, ex, size, 1e-6);
      compare_choppers(t, ex, "in_chopper", c.compound.transfer_columns, rows, cols);
    }
    if (cJSON_GetObjectItemCaseSensitive(ex, "in_chopper_only") != NULL)
      compare_choppers(t, ex, "in_chopper_only", c.compound.transfer_columns, rows, cols);
  }
  CHECK(call == 12);
  free(got);
  free(past);
  aihw_tile_destroy(t);
}

static void test_against_aihwkit(void) {
  cJSON *root = test_data_load("aihwkit", "compound_device.json");
  const int64_t rows = (int64_t)cJSON_GetObjectItemCaseSensitive(root, "rows")->valuedouble;
  const int64_t cols = (int64_t)cJSON_GetObjectItemCaseSensitive(root, "cols")->valuedouble;
  const cJSON *cs;
  int cases = 0;
  cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
    run_case(cs, rows, cols);
    ++cases;
  }
  CHECK(cases == 14);
  cJSON_Delete(root);
}

TEST_MAIN(TEST(test_against_aihwkit))
