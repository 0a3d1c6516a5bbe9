/* Mapping of a layer onto tiles (reference §7.3, aihwkit MappingParameter and
 * TileModuleArray): parameter defaults and validation, and the split rule of one
 * dimension — n = ceil(size / max) pieces (one when max is 0), near-equal sizes with the
 * larger pieces first (base, extra = divmod(size, n); sizes base + 1 for i < extra), never
 * "max + remainder". Verified against aihwkit 1.1.0 in tests/data/golden/mapping.json. */
#include <math.h>
#include <string.h>

#include "aihw/nn.h"
#include "core/error.h"
#include "nn/module_internal.h"

AIHW_API aihw_mapping_params aihw_mapping_params_default(void) {
  aihw_mapping_params p;
  memset(&p, 0, sizeof p);
  p.digital_bias = 1;
  p.weight_scaling_omega = 0.0f;
  p.max_input_size = 512;
  p.max_output_size = 512;
  p.handle_output_bound = 1;
  p.input_range = aihw_input_range_params_default();
  return p;
}

static aihw_status check_flag(int value, const char *what, const char *field) {
  if (value != 0 && value != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s = %d: must be 0 or 1", what, field,
                      value);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_mapping_params_validate(const aihw_mapping_params *params,
                                                  const char *what) {
  if (what == NULL)
    what = "mapping";
  if (params == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: mapping parameters are NULL", what);
  AIHW_TRY(check_flag(params->digital_bias, what, "digital_bias"));
  AIHW_TRY(check_flag(params->weight_scaling_columnwise, what, "weight_scaling_columnwise"));
  AIHW_TRY(check_flag(params->weight_scaling_lr_compensation, what,
                      "weight_scaling_lr_compensation"));
  AIHW_TRY(check_flag(params->learn_out_scaling, what, "learn_out_scaling"));
  AIHW_TRY(check_flag(params->out_scaling_columnwise, what, "out_scaling_columnwise"));
  AIHW_TRY(check_flag(params->handle_output_bound, what, "handle_output_bound"));
  if (!isfinite(params->weight_scaling_omega))
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s: weight_scaling_omega = %g: must be finite",
                      what, (double)params->weight_scaling_omega);
  if (params->weight_scaling_omega < 0.0f)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: weight_scaling_omega = %g: must be >= 0 (0 = no scaling)", what,
                      (double)params->weight_scaling_omega);
  if (params->max_input_size < 0)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: max_input_size = %lld: must be >= 0 (0 = unlimited)", what,
                      (long long)params->max_input_size);
  if (params->max_output_size < 0)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: max_output_size = %lld: must be >= 0 (0 = unlimited)", what,
                      (long long)params->max_output_size);
  AIHW_TRY(aihw_input_range_params_validate(&params->input_range, what));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_mapping_split(int64_t size, int64_t max, int64_t *sizes,
                                        int64_t capacity, int64_t *count) {
  static const char *fn = "aihw_mapping_split";
  if (count == NULL || (sizes == NULL && capacity > 0))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
  if (size < 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: size = %lld: must be >= 1", fn,
                      (long long)size);
  if (max < 0)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: max = %lld: must be >= 0 (0 = no split)",
                      fn, (long long)max);
  if (capacity < 0)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: capacity = %lld: must be >= 0", fn,
                      (long long)capacity);
  const int64_t n = max == 0 ? 1 : (size + max - 1) / max;
  const int64_t base = size / n, extra = size % n;
  for (int64_t i = 0; i < n && i < capacity; ++i)
    sizes[i] = base + (i < extra ? 1 : 0);
  *count = n;
  return AIHW_OK;
}
