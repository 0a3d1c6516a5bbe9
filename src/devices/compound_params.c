/* Compound device parameters (reference §5.10): aihwkit's Python defaults and validation. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "aihw/compound.h"
#include "core/error.h"
#include "devices/device_state.h"

static const char *const type_names[AIHW_COMPOUND_TYPE_COUNT] = {
    "", "VectorUnitCell", "ReferenceUnitCell", "OneSidedUnitCell", "TransferCompound",
    "BufferedTransferCompound", "ChoppedTransferCompound", "DynamicTransferCompound",
    "MixedPrecisionCompound"};

AIHW_API const char *aihw_compound_type_name(aihw_compound_type type) {
  if ((int)type < 0 || (int)type >= AIHW_COMPOUND_TYPE_COUNT)
    return NULL;
  return type_names[type];
}

AIHW_API const char *aihw_vector_policy_name(aihw_vector_policy policy) {
  switch (policy) {
  case AIHW_VECTOR_ALL: return "ALL";
  case AIHW_VECTOR_SINGLE_FIXED: return "SINGLE_FIXED";
  case AIHW_VECTOR_SINGLE_SEQUENTIAL: return "SINGLE_SEQUENTIAL";
  case AIHW_VECTOR_SINGLE_RANDOM: return "SINGLE_RANDOM";
  }
  return NULL;
}

AIHW_API aihw_compound_params aihw_compound_params_default(aihw_compound_type type,
                                                          const aihw_device_params *device,
                                                          int n_devices) {
  aihw_compound_params c;
  memset(&c, 0, sizeof c);
  c.type = type;
  const aihw_device_params d =
      device != NULL ? *device : aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  if (n_devices < 1)
    n_devices = 1;
  if (n_devices > AIHW_COMPOUND_MAX_DEVICES)
    n_devices = AIHW_COMPOUND_MAX_DEVICES;
  if (type == AIHW_COMPOUND_REFERENCE || type == AIHW_COMPOUND_ONE_SIDED ||
      type == AIHW_COMPOUND_DYNAMIC_TRANSFER)
    n_devices = 2; /* aihwkit duplicates a single given device (AGAD: exactly 2) */
  if (type == AIHW_COMPOUND_MIXED_PRECISION)
    n_devices = 1;
  c.n_devices = type == AIHW_COMPOUND_NONE ? 0 : n_devices;
  for (int k = 0; k < AIHW_COMPOUND_MAX_DEVICES; ++k)
    c.devices[k] = d;
  c.update_policy = AIHW_VECTOR_ALL;
  c.first_update_idx = 0;
  c.gamma = 0.0f;
  c.transfer_every = 1.0f;
  c.no_self_transfer = 1;
  c.units_in_mbatch = 1;
  c.n_reads_per_transfer = 1;
  c.transfer_columns = 1;
  c.with_reset_prob = 0.0f;
  c.random_selection = 0;
  c.fast_lr = 1.0f;
  c.transfer_lr = 1.0f;
  c.scale_transfer_lr = 1;
  c.scale_fast_lr = 1;
  c.transfer_forward = aihw_io_params_default();
  c.transfer_update = aihw_update_params_default();
  c.thres_scale = 1.0f;
  c.step = 1.0f;
  c.momentum = 0.1f;
  c.forget_buffer = 1;
  c.in_chop_prob = 0.1f;
  c.in_chop_random = 1;
  c.out_chop_prob = 0.0f;
  c.buffer_granularity = 1.0f;
  c.auto_granularity = 0.0f;
  c.no_buffer = 0;
  c.auto_scale = 0;
  c.auto_momentum = 0.99f;
  c.correct_gradient_magnitudes = 0;
  c.refresh_every = 0;
  c.refresh_upper_thres = 0.75f;
  c.refresh_lower_thres = 0.25f;
  c.refresh_forward = aihw_io_params_default();
  c.refresh_update = aihw_update_params_default();
  c.copy_inverted = 0;
  c.tail_weightening = 5.0f;
  c.buffer_cap = 0.0f;
  c.experimental_correct_accumulation = 0;
  c.n_rows_per_transfer = -1;
  c.random_row = 0;
  c.granularity = 0.0f;
  c.n_x_bins = 0;
  c.n_d_bins = 0;
  c.stoc_round_x = 1;
  c.stoc_round_d = 1;
  if (type == AIHW_COMPOUND_REFERENCE) {
    c.update_policy = AIHW_VECTOR_SINGLE_FIXED;
    c.n_gamma = 2;
    c.gamma_vec[0] = 1.0f;
    c.gamma_vec[1] = -1.0f;
  }
  if (type == AIHW_COMPOUND_CHOPPED_TRANSFER || type == AIHW_COMPOUND_DYNAMIC_TRANSFER) {
    c.momentum = 0.0f;
    c.units_in_mbatch = 0;
    c.scale_fast_lr = 0;
  }
  if (type == AIHW_COMPOUND_DYNAMIC_TRANSFER)
    c.in_chop_random = 0; /* regular choppers */
  if (type == AIHW_COMPOUND_BUFFERED_TRANSFER || type == AIHW_COMPOUND_CHOPPED_TRANSFER ||
      type == AIHW_COMPOUND_DYNAMIC_TRANSFER) {
    c.transfer_update.desired_bl = 1;
    c.transfer_update.update_bl_management = 0;
    c.transfer_update.update_management = 0;
  }
  return c;
}

static int is_transfer(aihw_compound_type t) {
  return t == AIHW_COMPOUND_TRANSFER || t == AIHW_COMPOUND_BUFFERED_TRANSFER ||
         t == AIHW_COMPOUND_CHOPPED_TRANSFER || t == AIHW_COMPOUND_DYNAMIC_TRANSFER;
}

#define FINITE(field)                                                                     \
  do {                                                                                    \
    if (!isfinite(p->field))                                                              \
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s.%s = %g: must be finite", what, #field, \
                        (double)p->field);                                                \
  } while (0)

#define BOOL(field)                                                                       \
  do {                                                                                    \
    if (p->field != 0 && p->field != 1)                                                   \
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s.%s = %d: must be 0 or 1", what,    \
                        #field, p->field);                                                \
  } while (0)

static aihw_status check_vec(const float *v, int n, int n_devices, const char *what,
                             const char *name, float lower) {
  if (n != 0 && n != n_devices)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s.%s has %d entries: must be empty (default) or one per device (%d)",
                      what, name, n, n_devices);
  for (int k = 0; k < n; ++k) {
    if (!isfinite(v[k]))
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s.%s[%d] = %g: must be finite", what, name, k,
                        (double)v[k]);
    if (v[k] < lower)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s.%s[%d] = %g: must be >= %g", what,
                        name, k, (double)v[k], (double)lower);
  }
  return AIHW_OK;
}

/* OneSidedUnitCell (§5.10): two devices of one type, refresh parameters. */
static aihw_status validate_one_sided(const aihw_compound_params *p, const char *what) {
  if (p->devices[0].type != p->devices[1].type)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s.unit_cell_devices: a OneSidedUnitCell needs two devices of one type "
                      "(got %s and %s)",
                      what, aihw_device_type_name(p->devices[0].type),
                      aihw_device_type_name(p->devices[1].type));
  FINITE(refresh_upper_thres);
  FINITE(refresh_lower_thres);
  BOOL(units_in_mbatch);
  BOOL(copy_inverted);
  if (p->refresh_every < 0)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s.refresh_every = %d: must be >= 0 (0 = no refresh)", what,
                      p->refresh_every);
  char sub[96];
  snprintf(sub, sizeof sub, "%s.refresh_forward", what);
  AIHW_TRY(aihw_io_params_validate(&p->refresh_forward, sub));
  snprintf(sub, sizeof sub, "%s.refresh_update", what);
  return aihw_update_params_validate(&p->refresh_update, sub);
}

/* MixedPrecisionCompound (§5.10). */
static aihw_status validate_mixed(const aihw_compound_params *p, const char *what) {
  FINITE(transfer_every);
  FINITE(transfer_lr);
  FINITE(granularity);
  BOOL(random_row);
  BOOL(stoc_round_x);
  BOOL(stoc_round_d);
  if (p->transfer_every < 0.0f || p->transfer_every != floorf(p->transfer_every) ||
      p->transfer_every > 1e9f)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s.transfer_every = %g: must be a whole number of mini-batches in "
                      "[0, 1e9] (0 = no transfer)",
                      what, (double)p->transfer_every);
  if (p->n_rows_per_transfer == 0 || p->n_rows_per_transfer < -1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s.n_rows_per_transfer = %d: must be -1 (all rows) or >= 1", what,
                      p->n_rows_per_transfer);
  if (p->granularity < 0.0f)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s.granularity = %g: must be >= 0 (0 = the device's)", what,
                      (double)p->granularity);
  if (p->n_x_bins < 0 || p->n_d_bins < 0)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s.n_x_bins = %d, n_d_bins = %d: must be >= 0 (0 = no quantisation)",
                      what, p->n_x_bins, p->n_d_bins);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_compound_params_validate(const aihw_compound_params *p,
                                                   const char *what) {
  if (what == NULL)
    what = "compound";
  if (p == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: parameters are NULL", what);
  const char *name = aihw_compound_type_name(p->type);
  if (name == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s.type = %d: must be in [0, %d]", what,
                      (int)p->type, AIHW_COMPOUND_TYPE_COUNT - 1);
  if (p->type == AIHW_COMPOUND_NONE)
    return AIHW_OK;
  const int chopped = p->type == AIHW_COMPOUND_CHOPPED_TRANSFER ||
                      p->type == AIHW_COMPOUND_DYNAMIC_TRANSFER;
  const int pair = p->type == AIHW_COMPOUND_REFERENCE || p->type == AIHW_COMPOUND_ONE_SIDED;
  const int mixed = p->type == AIHW_COMPOUND_MIXED_PRECISION;
  const int lo = is_transfer(p->type) || pair ? 2 : 1;
  const int hi = pair || chopped ? 2 : mixed ? 1 : AIHW_COMPOUND_MAX_DEVICES;
  if (p->n_devices < lo || p->n_devices > hi)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s.n_devices = %d: a %s needs %d..%d unit_cell_devices", what,
                      p->n_devices, name, lo, hi);
  for (int k = 0; k < p->n_devices; ++k) {
    char sub[96];
    snprintf(sub, sizeof sub, "%s.devices[%d]", what, k);
    if (aihw_device_model_of(p->devices[k].type) == NULL)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s.type = %s: sub-devices of a compound must be pulsed models", sub,
                        aihw_device_type_name(p->devices[k].type)
                            ? aihw_device_type_name(p->devices[k].type)
                            : "(out of range)");
    AIHW_TRY(aihw_device_params_validate(&p->devices[k], sub));
    if (p->devices[k].count_pulses)
      return aihw_error(AIHW_ERR_UNSUPPORTED,
                        "%s.count_pulses = 1: pulse counters of sub-devices are not "
                        "implemented",
                        sub);
  }
  if (aihw_vector_policy_name(p->update_policy) == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s.update_policy = %d: must be ALL (0), SINGLE_FIXED (1), "
                      "SINGLE_SEQUENTIAL (2) or SINGLE_RANDOM (3)",
                      what, (int)p->update_policy);
  if (p->first_update_idx < 0 || p->first_update_idx >= p->n_devices)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s.first_update_idx = %d: must be in [0, %d]",
                      what, p->first_update_idx, p->n_devices - 1);
  AIHW_TRY(check_vec(p->gamma_vec, p->n_gamma, p->n_devices, what, "gamma_vec", -INFINITY));
  if (p->type == AIHW_COMPOUND_ONE_SIDED)
    return validate_one_sided(p, what);
  if (mixed)
    return validate_mixed(p, what);
  if (!is_transfer(p->type))
    return AIHW_OK;
  FINITE(gamma);
  FINITE(transfer_every);
  FINITE(with_reset_prob);
  FINITE(fast_lr);
  FINITE(transfer_lr);
  if (p->n_gamma > 0 && p->gamma_vec[p->n_gamma - 1] == 0.0f)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s.gamma_vec[%d] = 0: the last (slow) device's weighting must not be 0",
                      what, p->n_gamma - 1);
  if (p->transfer_every < 0.0f && !chopped)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s.transfer_every = %g: must be >= 0 (0 = no transfer; automatic "
                      "negative periods belong to ChoppedTransferCompound)",
                      what, (double)p->transfer_every);
  AIHW_TRY(check_vec(p->transfer_every_vec, p->n_transfer_every, p->n_devices, what,
                     "transfer_every_vec", 0.0f));
  AIHW_TRY(check_vec(p->transfer_lr_vec, p->n_transfer_lr, p->n_devices, what,
                     "transfer_lr_vec", -INFINITY));
  BOOL(no_self_transfer);
  BOOL(units_in_mbatch);
  BOOL(transfer_columns);
  BOOL(random_selection);
  BOOL(scale_transfer_lr);
  BOOL(scale_fast_lr);
  BOOL(forget_buffer);
  if (p->n_reads_per_transfer < 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s.n_reads_per_transfer = %d: must be >= 1",
                      what, p->n_reads_per_transfer);
  if (!(p->with_reset_prob >= 0.0f && p->with_reset_prob <= 1.0f))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s.with_reset_prob = %g: must be in [0, 1]",
                      what, (double)p->with_reset_prob);
  char sub[96];
  snprintf(sub, sizeof sub, "%s.transfer_forward", what);
  AIHW_TRY(aihw_io_params_validate(&p->transfer_forward, sub));
  snprintf(sub, sizeof sub, "%s.transfer_update", what);
  AIHW_TRY(aihw_update_params_validate(&p->transfer_update, sub));
  if (p->type == AIHW_COMPOUND_DYNAMIC_TRANSFER) {
    FINITE(tail_weightening);
    FINITE(buffer_cap);
    BOOL(experimental_correct_accumulation);
    if (!(p->in_chop_prob > 0.0f && p->in_chop_prob <= 1.0f))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s.in_chop_prob = %g: a DynamicTransferCompound needs a chopper "
                        "period: must be in (0, 1]",
                        what, (double)p->in_chop_prob);
    if (p->tail_weightening < 0.0f || p->buffer_cap < 0.0f)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s.tail_weightening = %g, buffer_cap = %g: must be >= 0", what,
                        (double)p->tail_weightening, (double)p->buffer_cap);
  }
  if (chopped) {
    FINITE(in_chop_prob);
    FINITE(out_chop_prob);
    FINITE(buffer_granularity);
    FINITE(auto_granularity);
    FINITE(auto_momentum);
    BOOL(in_chop_random);
    BOOL(no_buffer);
    BOOL(auto_scale);
    BOOL(correct_gradient_magnitudes);
    if (p->n_reads_per_transfer != 1 || p->random_selection || p->with_reset_prob != 0.0f)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s: ChoppedTransferCompound needs n_reads_per_transfer = 1, "
                        "random_selection = 0 and with_reset_prob = 0 (got %d, %d, %g)",
                        what, p->n_reads_per_transfer, p->random_selection,
                        (double)p->with_reset_prob);
    if (!(p->in_chop_prob >= 0.0f && p->in_chop_prob <= 1.0f) ||
        !(p->out_chop_prob >= 0.0f && p->out_chop_prob <= 1.0f))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s.in_chop_prob = %g, out_chop_prob = %g: must be in [0, 1]", what,
                        (double)p->in_chop_prob, (double)p->out_chop_prob);
    if (p->buffer_granularity < 0.0f || p->auto_granularity < 0.0f)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s.buffer_granularity = %g, auto_granularity = %g: must be >= 0",
                        what, (double)p->buffer_granularity, (double)p->auto_granularity);
    if (!(p->auto_momentum >= 0.0f && p->auto_momentum <= 1.0f))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s.auto_momentum = %g: must be in [0, 1]",
                        what, (double)p->auto_momentum);
  }
  if (p->type == AIHW_COMPOUND_BUFFERED_TRANSFER || chopped) {
    FINITE(thres_scale);
    FINITE(step);
    FINITE(momentum);
    if (p->thres_scale <= 0.0f)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s.thres_scale = %g: must be > 0", what,
                        (double)p->thres_scale);
    if (!(p->momentum >= 0.0f && p->momentum <= 1.0f))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s.momentum = %g: must be in [0, 1]",
                        what, (double)p->momentum);
  }
  return AIHW_OK;
}
