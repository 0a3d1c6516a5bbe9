/* Named configurations (reference §8): the device presets of §8.1 (every listed value,
 * everything else the base class defaults), the device name registry, and tile
 * configurations by name (§8.2): aihwkit's single-device RPU-config presets, the default
 * configurations of each tile kind, and SingleRPUConfig(device=<name>). */
#include "aihw/aihw.h"
#include "devices/device_params_table.h"
#include "test_util.h"

#define N_TYPES AIHW_DEVICE_TYPE_COUNT

static const char *const class_names[N_TYPES] = {
    "IdealDevice",         "ConstantStepDevice",   "LinearStepDevice",
    "SoftBoundsDevice",    "SoftBoundsPmaxDevice", "SoftBoundsReferenceDevice",
    "ExpStepDevice",       "PowStepDevice",        "PowStepReferenceDevice",
    "PiecewiseStepDevice", "FloatingPointDevice"};

static const char *const preset_names[] = {
    "ReRamESPresetDevice",       "ReRamSBPresetDevice", "CapacitorPresetDevice",
    "EcRamPresetDevice",         "EcRamMOPresetDevice", "IdealizedPresetDevice",
    "GokmenVlasovPresetDevice",  "PCMPresetDevice",     "ReRamArrayOMPresetDevice",
    "ReRamArrayHfO2PresetDevice"};

/* Field-by-field comparison through the field table, naming the first differing field;
 * then the whole struct bytewise (which also covers `type`, `piecewise_n`, unused nodes
 * and any field the table might miss). */
static void check_same_params(const aihw_device_params *a, const aihw_device_params *b,
                              const char *context) {
  for (int i = 0; i < aihw_device_field_count; ++i) {
    const device_field *f = &aihw_device_fields[i];
    size_t size = f->kind == DEVICE_FIELD_NODES   ? AIHW_PIECEWISE_MAX * sizeof(float)
                  : f->kind == DEVICE_FIELD_DRIFT ? sizeof(aihw_drift_params)
                                                  : 4;
    if (memcmp((const char *)a + f->offset, (const char *)b + f->offset, size) != 0) {
      fprintf(stderr, "%s: field %s differs\n", context, f->name);
      CHECK(!"fields differ");
      return;
    }
  }
  CHECK(a->type == b->type);
  CHECK(a->piecewise_n == b->piecewise_n);
  CHECK(memcmp(a, b, sizeof *a) == 0);
}

/* ---- device presets ----------------------------------------------------------------- */

static aihw_device_params load(const char *name) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_IDEAL);
  CHECK_OK(aihw_device_params_preset(name, &p));
  return p;
}

/* Each preset = its base class defaults with exactly the §8.1 values set (checked
 * bytewise, so that "all other fields = base class defaults" holds too). */
static void every_device_preset_has_the_aihwkit_values(void) {
  aihw_device_params e, p;

  e = aihw_device_params_default(AIHW_DEVICE_EXP_STEP);
  e.dw_min = (float)0.00135, e.up_down = (float)0.259359, e.w_max = 1.0f, e.w_min = -1.0f;
  e.a = -0.5f, e.b = -0.5f, e.gamma_up = 5.0f, e.gamma_down = 5.0f;
  e.A_up = (float)-1.18445, e.A_down = (float)-0.081404;
  e.dw_min_dtod = (float)0.2, e.up_down_dtod = (float)0.05;
  e.w_max_dtod = (float)0.3, e.w_min_dtod = (float)0.3;
  e.dw_min_std = 5.0f, e.write_noise_std = 75.0f;
  p = load("ReRamESPresetDevice");
  check_same_params(&p, &e, "ReRamESPresetDevice");

  e = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS_REFERENCE);
  e.dw_min = (float)0.002, e.up_down = 0.0f, e.w_max = 1.25f, e.w_min = -0.75f;
  e.mult_noise = 0, e.dw_min_dtod = (float)0.3, e.up_down_dtod = (float)0.01;
  e.w_max_dtod = (float)(0.3 / 1.25), e.w_min_dtod = (float)(0.3 / 0.75);
  e.dw_min_std = 3.75f, e.write_noise_std = 56.0f;
  p = load("ReRamSBPresetDevice");
  check_same_params(&p, &e, "ReRamSBPresetDevice");

  e = aihw_device_params_default(AIHW_DEVICE_LINEAR_STEP);
  e.dw_min = (float)0.005, e.up_down = 0.0f, e.w_max = 1.0f, e.w_min = -1.0f;
  e.mult_noise = 0, e.gamma_up = (float)0.05, e.gamma_down = (float)0.05;
  e.dw_min_dtod = (float)0.1, e.up_down_dtod = (float)0.06;
  e.w_max_dtod = (float)0.07, e.w_min_dtod = (float)0.07;
  e.gamma_up_dtod = (float)0.01, e.gamma_down_dtod = (float)0.01;
  e.dw_min_std = (float)0.3, e.write_noise_std = 0.0f, e.mean_bound_reference = 1;
  e.lifetime = 1.0e6f, e.lifetime_dtod = (float)0.3;
  p = load("CapacitorPresetDevice");
  check_same_params(&p, &e, "CapacitorPresetDevice");

  e = aihw_device_params_default(AIHW_DEVICE_LINEAR_STEP);
  e.dw_min = (float)0.002, e.up_down = 0.0f, e.w_max = (float)1.1724, e.w_min = (float)-0.8276;
  e.mult_noise = 1, e.gamma_up = (float)0.1153, e.gamma_down = (float)0.5085;
  e.dw_min_dtod = (float)0.1, e.up_down_dtod = (float)0.01;
  e.w_max_dtod = (float)0.05, e.w_min_dtod = (float)0.05;
  e.gamma_up_dtod = (float)0.05, e.gamma_down_dtod = (float)0.05;
  e.dw_min_std = (float)0.3, e.write_noise_std = 0.0f, e.mean_bound_reference = 1;
  p = load("EcRamPresetDevice");
  check_same_params(&p, &e, "EcRamPresetDevice");

  e = aihw_device_params_default(AIHW_DEVICE_LINEAR_STEP);
  e.dw_min = (float)0.00028214, e.up_down = 0.0f;
  e.w_max = (float)1.1714, e.w_min = (float)-0.8286;
  e.mult_noise = 1, e.gamma_up = (float)0.4152, e.gamma_down = (float)0.7342;
  e.dw_min_dtod = (float)0.1, e.up_down_dtod = (float)0.01;
  e.w_max_dtod = (float)0.05, e.w_min_dtod = (float)0.05;
  e.gamma_up_dtod = (float)0.05, e.gamma_down_dtod = (float)0.05;
  e.dw_min_std = 2.0f, e.write_noise_std = 0.0f, e.mean_bound_reference = 1;
  p = load("EcRamMOPresetDevice");
  check_same_params(&p, &e, "EcRamMOPresetDevice");

  e = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  e.dw_min = (float)0.0002, e.dw_min_dtod = (float)0.3, e.dw_min_std = (float)0.3;
  e.up_down = 0.0f, e.up_down_dtod = 0.0f, e.w_max = 1.0f, e.w_min = -1.0f;
  e.w_max_dtod = (float)0.3, e.w_min_dtod = (float)0.3;
  p = load("IdealizedPresetDevice");
  check_same_params(&p, &e, "IdealizedPresetDevice");

  e = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  e.dw_min = (float)0.0016, e.dw_min_dtod = (float)0.3, e.dw_min_std = (float)0.3;
  e.up_down = 0.0f, e.up_down_dtod = (float)0.01, e.w_max = 1.0f, e.w_min = -1.0f;
  e.w_max_dtod = (float)0.3, e.w_min_dtod = (float)0.3;
  p = load("GokmenVlasovPresetDevice");
  check_same_params(&p, &e, "GokmenVlasovPresetDevice");

  e = aihw_device_params_default(AIHW_DEVICE_EXP_STEP);
  e.dw_min = (float)0.01, e.up_down = 0.0f, e.w_max = 2.0f, e.w_min = 0.0f;
  e.a = -1.0f, e.b = 0.0f, e.gamma_up = 2.5f, e.gamma_down = 2.5f;
  e.A_up = (float)-27.235, e.A_down = (float)-2.235;
  e.dw_min_dtod = (float)0.2, e.up_down_dtod = (float)0.05;
  e.w_max_dtod = (float)0.1, e.w_min_dtod = 0.0f;
  e.dw_min_std = (float)0.6, e.dw_min_std_add = (float)0.042, e.dw_min_std_slope = (float)0.108;
  e.write_noise_std = 0.0f, e.reset = (float)0.01, e.reset_dtod = (float)0.02;
  p = load("PCMPresetDevice");
  check_same_params(&p, &e, "PCMPresetDevice");

  e = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS_REFERENCE);
  e.enforce_consistency = 1, e.dw_min_dtod_log_normal = 1;
  e.dw_min = (float)0.0949, e.up_down = 0.0f, e.w_max = 1.0f, e.w_min = -1.0f;
  e.mult_noise = 0, e.dw_min_dtod = (float)0.7829, e.up_down_dtod = (float)0.01;
  e.w_max_dtod = (float)0.3499, e.w_min_dtod = (float)0.5695;
  e.dw_min_std = (float)0.4158, e.write_noise_std = (float)1.4113;
  e.corrupt_devices_range = (float)0.01, e.corrupt_devices_prob = 0.0f;
  e.subtract_symmetry_point = 1, e.reference_std = (float)0.05;
  p = load("ReRamArrayOMPresetDevice");
  check_same_params(&p, &e, "ReRamArrayOMPresetDevice");

  /* HfO2: as OM with six values changed */
  e.dw_min = (float)0.4622, e.dw_min_dtod = (float)0.7125;
  e.w_max_dtod = (float)0.4295, e.w_min_dtod = (float)0.599;
  e.dw_min_std = (float)0.2174, e.write_noise_std = (float)0.5841;
  p = load("ReRamArrayHfO2PresetDevice");
  check_same_params(&p, &e, "ReRamArrayHfO2PresetDevice");
}

static void class_names_give_the_class_defaults(void) {
  for (int t = 0; t < N_TYPES; ++t) {
    aihw_device_params p = load(class_names[t]);
    aihw_device_params d = aihw_device_params_default((aihw_device_type)t);
    check_same_params(&p, &d, class_names[t]);
  }
}

static void preset_names_list_every_accepted_name(void) {
  const char *list = aihw_device_preset_names();
  CHECK(list != NULL && list == aihw_device_preset_names()); /* static */
  for (int t = 0; t < N_TYPES; ++t)
    CHECK(strstr(list, class_names[t]) != NULL);
  for (size_t i = 0; i < sizeof preset_names / sizeof preset_names[0]; ++i)
    CHECK(strstr(list, preset_names[i]) != NULL);
  /* ... and every listed name is accepted: walk the comma-separated list */
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", list);
  int count = 0;
  for (char *name = strtok(buf, ", "); name != NULL; name = strtok(NULL, ", ")) {
    aihw_device_params p;
    CHECK_OK(aihw_device_params_preset(name, &p));
    CHECK_OK(aihw_device_params_validate(&p, name));
    ++count;
  }
  CHECK(count == N_TYPES + 10);
}

static void unknown_preset_lists_every_valid_name_and_keeps_out(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_EXP_STEP), before = p;
  CHECK_STATUS(aihw_device_params_preset("ReRamPresetDevice", &p), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("'ReRamPresetDevice'");
  CHECK_ERROR_MENTIONS(aihw_device_preset_names());
  check_same_params(&p, &before, "after failed preset");
  CHECK_STATUS(aihw_device_params_preset(NULL, &p), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_device_params_preset("IdealDevice", NULL), AIHW_ERR_INVALID_ARGUMENT);
}

/* ---- tile configurations ------------------------------------------------------------ */

static int same_bytes(const void *a, const void *b, size_t size) {
  return memcmp(a, b, size) == 0;
}

static aihw_io_params io_preset(const char *name) {
  aihw_io_params p = aihw_io_params_default();
  CHECK_OK(aihw_io_params_preset(name, &p));
  return p;
}

static aihw_update_params update_preset(const char *name) {
  aihw_update_params p = aihw_update_params_default();
  CHECK_OK(aihw_update_params_preset(name, &p));
  return p;
}

/* The parts that every configuration of a kind shares with that kind's defaults. */
static void check_common_defaults(const aihw_tile_config *c, aihw_tile_kind kind) {
  aihw_tile_config d = aihw_tile_config_default(kind);
  CHECK(c->kind == kind);
  CHECK(c->analog_bias == d.analog_bias);
  CHECK(c->seed == d.seed);
  CHECK(c->tile_id == d.tile_id);
}

static void check_parts_valid(const aihw_tile_config *c, const char *name) {
  CHECK_OK(aihw_io_params_validate(&c->forward, "forward"));
  CHECK_OK(aihw_io_params_validate(&c->backward, "backward"));
  CHECK_OK(aihw_update_params_validate(&c->update, "update"));
  CHECK_OK(aihw_device_params_validate(&c->device, name));
}

static void single_device_presets_use_preset_device_io_and_update(void) {
  static const char *const names[][2] = {
      {"ReRamESPreset", "ReRamESPresetDevice"},
      {"ReRamSBPreset", "ReRamSBPresetDevice"},
      {"CapacitorPreset", "CapacitorPresetDevice"},
      {"EcRamPreset", "EcRamPresetDevice"},
      {"EcRamMOPreset", "EcRamMOPresetDevice"},
      {"IdealizedPreset", "IdealizedPresetDevice"},
      {"GokmenVlasovPreset", "GokmenVlasovPresetDevice"},
  };
  aihw_io_params io = io_preset("PresetIOParameters");
  aihw_update_params up = update_preset("PresetUpdateParameters");
  for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
    aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_INFERENCE);
    CHECK_OK(aihw_tile_config_preset(names[i][0], &c));
    check_common_defaults(&c, AIHW_TILE_ANALOG);
    CHECK(same_bytes(&c.forward, &io, sizeof io));
    CHECK(same_bytes(&c.backward, &io, sizeof io));
    CHECK_FEQ(c.forward.out_bound, 20.0f); /* PresetIOParameters, not IOParameters' 12 */
    CHECK_FEQ(c.backward.out_noise, (float)0.1);
    CHECK(same_bytes(&c.update, &up, sizeof up));
    aihw_device_params d = load(names[i][1]);
    CHECK(same_bytes(&c.device, &d, sizeof d));
    check_parts_valid(&c, names[i][0]);
  }
  /* spot checks of the device inside a preset */
  aihw_tile_config c;
  CHECK_OK(aihw_tile_config_preset("ReRamSBPreset", &c));
  CHECK(c.device.type == AIHW_DEVICE_SOFT_BOUNDS_REFERENCE);
  CHECK_FEQ(c.device.w_max, 1.25f);
  CHECK_OK(aihw_tile_config_preset("ReRamESPreset", &c));
  CHECK(c.device.type == AIHW_DEVICE_EXP_STEP);
  CHECK_FEQ(c.device.write_noise_std, 75.0f);
  CHECK_OK(aihw_tile_config_preset("GokmenVlasovPreset", &c));
  CHECK(c.device.type == AIHW_DEVICE_CONSTANT_STEP);
  CHECK_FEQ(c.device.dw_min, (float)0.0016);
  CHECK(c.update.desired_bl == 31 && c.update.pulse_type == AIHW_PULSE_STOCHASTIC_COMPRESSED);
}

static void check_is_kind_default(const aihw_tile_config *c, aihw_tile_kind kind) {
  aihw_tile_config d = aihw_tile_config_default(kind);
  check_common_defaults(c, kind);
  CHECK(same_bytes(&c->forward, &d.forward, sizeof d.forward));
  CHECK(same_bytes(&c->backward, &d.backward, sizeof d.backward));
  CHECK(same_bytes(&c->update, &d.update, sizeof d.update));
  CHECK(same_bytes(&c->device, &d.device, sizeof d.device));
}

static void kind_names_give_the_kind_defaults(void) {
  aihw_tile_config c;
  const char *analog[] = {"SingleRPUConfig", "analog"};
  const char *inference[] = {"InferenceRPUConfig", "inference"};
  const char *floating[] = {"FloatingPointRPUConfig", "floating-point"};
  for (int i = 0; i < 2; ++i) {
    CHECK_OK(aihw_tile_config_preset(analog[i], &c));
    check_is_kind_default(&c, AIHW_TILE_ANALOG);
    /* aihwkit SingleRPUConfig(): IOParameters(), UpdateParameters(), ConstantStepDevice() */
    CHECK(c.device.type == AIHW_DEVICE_CONSTANT_STEP);
    CHECK(c.update.pulse_type == AIHW_PULSE_STOCHASTIC_COMPRESSED);
    CHECK_FEQ(c.forward.out_bound, 12.0f);

    CHECK_OK(aihw_tile_config_preset(inference[i], &c));
    check_is_kind_default(&c, AIHW_TILE_INFERENCE);
    CHECK(c.device.type == AIHW_DEVICE_IDEAL);
    CHECK(c.update.pulse_type == AIHW_PULSE_NONE);
    CHECK(c.backward.is_perfect == 1);

    CHECK_OK(aihw_tile_config_preset(floating[i], &c));
    check_is_kind_default(&c, AIHW_TILE_FLOATING_POINT);
    CHECK(c.device.type == AIHW_DEVICE_FLOATING_POINT);
    CHECK(c.update.pulse_type == AIHW_PULSE_NONE);
  }
}

/* aihwkit SingleRPUConfig(device=X()): ANALOG defaults (IOParameters, UpdateParameters)
 * with that device, for every name the device registry accepts. */
static void device_names_give_single_rpu_config_with_that_device(void) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", aihw_device_preset_names());
  aihw_tile_config d = aihw_tile_config_default(AIHW_TILE_ANALOG);
  int count = 0;
  for (char *name = strtok(buf, ", "); name != NULL; name = strtok(NULL, ", ")) {
    aihw_tile_config c;
    CHECK_OK(aihw_tile_config_preset(name, &c));
    check_common_defaults(&c, AIHW_TILE_ANALOG);
    CHECK(same_bytes(&c.forward, &d.forward, sizeof d.forward));
    CHECK(same_bytes(&c.backward, &d.backward, sizeof d.backward));
    CHECK(same_bytes(&c.update, &d.update, sizeof d.update));
    aihw_device_params dev = load(name);
    CHECK(same_bytes(&c.device, &dev, sizeof dev));
    ++count;
  }
  CHECK(count == AIHW_DEVICE_TYPE_COUNT + 10);
}

static void unknown_name_lists_every_valid_name_and_keeps_out(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_INFERENCE), before = c;
  CHECK_STATUS(aihw_tile_config_preset("PCMPresetX", &c), AIHW_ERR_INVALID_ARGUMENT);
  CHECK(same_bytes(&c, &before, sizeof c));
  CHECK_ERROR_MENTIONS("'PCMPresetX'");
  static const char *const expected[] = {
      "ReRamESPreset", "ReRamSBPreset",      "CapacitorPreset",    "EcRamPreset",
      "EcRamMOPreset", "IdealizedPreset",    "GokmenVlasovPreset", "SingleRPUConfig",
      "analog",        "InferenceRPUConfig", "inference",          "FloatingPointRPUConfig",
      "floating-point"};
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; ++i)
    CHECK_ERROR_MENTIONS(expected[i]);
  CHECK_ERROR_MENTIONS(aihw_device_preset_names());
  CHECK_STATUS(aihw_tile_config_preset(NULL, &c), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_tile_config_preset("analog", NULL), AIHW_ERR_INVALID_ARGUMENT);
}

/* Every named configuration is complete and consistent: a tile can be built from it. */
static void every_named_configuration_creates_a_tile(void) {
  char buf[2048];
  snprintf(buf, sizeof buf,
           "ReRamESPreset, ReRamSBPreset, CapacitorPreset, EcRamPreset, EcRamMOPreset, "
           "IdealizedPreset, GokmenVlasovPreset, SingleRPUConfig, analog, "
           "InferenceRPUConfig, inference, FloatingPointRPUConfig, floating-point, %s",
           aihw_device_preset_names());
  for (char *name = strtok(buf, ", "); name != NULL; name = strtok(NULL, ", ")) {
    aihw_tile_config c;
    CHECK_OK(aihw_tile_config_preset(name, &c));
    aihw_tile *tile = NULL;
    CHECK_OK(aihw_tile_create(&c, 4, 3, &tile));
    if (tile == NULL)
      fprintf(stderr, "  (configuration %s)\n", name);
    aihw_tile_destroy(tile);
  }
}

TEST_MAIN(TEST(every_device_preset_has_the_aihwkit_values),
          TEST(class_names_give_the_class_defaults),
          TEST(preset_names_list_every_accepted_name),
          TEST(unknown_preset_lists_every_valid_name_and_keeps_out),
          TEST(single_device_presets_use_preset_device_io_and_update),
          TEST(kind_names_give_the_kind_defaults),
          TEST(device_names_give_single_rpu_config_with_that_device),
          TEST(unknown_name_lists_every_valid_name_and_keeps_out),
          TEST(every_named_configuration_creates_a_tile))
