/* Compound RPU-config presets by aihwkit name (reference §8.2): the vector unit cells
 * (<Device>2Preset, <Device>4Preset: VectorUnitCell of 2 or 4 preset devices, policy
 * SINGLE_RANDOM) and Tiki-Taka v1 (TikiTaka<Device>Preset: TransferCompound of two preset
 * devices, transfer_forward = PresetIOParameters with noise and bound management NONE,
 * transfer_update = PresetUpdateParameters, transfer_every 1 in mini-batches; the ReRamSB
 * variant sets subtract_symmetry_point), TTv2<Device>Preset and ChoppedTTv2<Device>Preset
 * (ChoppedTransferCompound with auto_scale, units_in_mbatch 0, transfer_every 1,
 * transfer_lr 1, momentum 0, transfer_update BL 1 without UM/UBLM, transfer_forward NM/BM
 * NONE, and the per-device fast_lr, auto_granularity, update BL and in_chop_prob of §8.2;
 * TTv2: in_chop_prob 0), AGAD<Device>Preset (DynamicTransferCompound with auto_scale,
 * units_in_mbatch 0, the same transfer periphery and update, and the per-device fast_lr,
 * auto_granularity, tail_weightening, in_chop_prob and update BL of §8.2; regular
 * choppers, buffer_cap 0) and MixedPrecision<Device>Preset (aihwkit's
 * DigitalRankUpdateRPUConfig: MixedPrecisionCompound defaults around the preset device;
 * also for GokmenVlasov). All use PresetIOParameters forward and backward and
 * PresetUpdateParameters. MixedPrecisionPCMPreset is not offered: its device is a
 * PCMPresetUnitCell (a OneSidedUnitCell), and aihw compounds do not nest.
 */
#include <stdio.h>
#include <string.h>

#include "aihw/tile.h"
#include "core/error.h"
#include "tile/tile_internal.h"

static const char *const preset_devices[] = {"ReRamES", "ReRamSB", "Capacitor",
                                             "EcRam",   "EcRamMO", "Idealized"};
enum { N_DEVICES = sizeof preset_devices / sizeof preset_devices[0] };

const char *aihw_compound_preset_names(void) {
  return "<D>2Preset, <D>4Preset, TikiTaka<D>Preset, TTv2<D>Preset, ChoppedTTv2<D>Preset, "
         "AGAD<D>Preset, MixedPrecision<D>Preset for <D> in ReRamES, ReRamSB, Capacitor, "
         "EcRam, EcRamMO, Idealized (MixedPrecision also GokmenVlasov), PCMPreset";
}

/* §8.2 per-device values of the TTv2 / ChoppedTTv2 presets, in preset_devices order:
 * fast_lr, auto_granularity, update BL, ChoppedTTv2 in_chop_prob and fast_lr. */
static const struct {
  float fast_lr, auto_granularity;
  int bl;
  float chop_prob, chop_fast_lr;
} ttv2_values[] = {
    {0.5f, 1000.0f, 31, 0.01f, 0.5f},  {0.5f, 1000.0f, 31, 0.01f, 0.5f},
    {0.1f, 1000.0f, 31, 0.01f, 0.1f},  {0.1f, 500.0f, 100, 0.01f, 1.0f},
    {0.1f, 500.0f, 100, 0.001f, 0.1f}, {0.1f, 500.0f, 100, 0.001f, 0.1f},
};

/* §8.2 AGAD presets, in preset_devices order: fast_lr, auto_granularity,
 * tail_weightening, in_chop_prob, update BL. */
static const struct {
  float fast_lr, auto_granularity, tail, chop_prob;
  int bl;
} agad_values[] = {
    {0.5f, 1000.0f, 5.0f, 0.02f, 31},  {0.5f, 1000.0f, 5.0f, 0.02f, 31},
    {0.1f, 1000.0f, 20.0f, 0.01f, 31}, {0.1f, 750.0f, 50.0f, 0.005f, 31},
    {0.1f, 500.0f, 50.0f, 0.005f, 100}, {0.1f, 500.0f, 50.0f, 0.005f, 100},
};

static aihw_status build(const char *device_name, aihw_compound_type type, int n,
                         aihw_tile_config *out) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  AIHW_TRY(aihw_io_params_preset("PresetIOParameters", &c.forward));
  AIHW_TRY(aihw_io_params_preset("PresetIOParameters", &c.backward));
  AIHW_TRY(aihw_update_params_preset("PresetUpdateParameters", &c.update));
  char full[64];
  snprintf(full, sizeof full, "%sPresetDevice", device_name);
  aihw_device_params d;
  AIHW_TRY(aihw_device_params_preset(full, &d));
  c.device = d;
  if (type != AIHW_COMPOUND_VECTOR && type != AIHW_COMPOUND_MIXED_PRECISION &&
      strcmp(device_name, "ReRamSB") == 0)
    d.subtract_symmetry_point = 1;
  c.compound = aihw_compound_params_default(type, &d, n);
  if (type == AIHW_COMPOUND_VECTOR) {
    c.compound.update_policy = AIHW_VECTOR_SINGLE_RANDOM;
  } else if (type == AIHW_COMPOUND_MIXED_PRECISION) {
    /* MixedPrecisionCompound(device=...) defaults */
  } else {
    AIHW_TRY(aihw_io_params_preset("PresetIOParameters", &c.compound.transfer_forward));
    c.compound.transfer_forward.noise_management = AIHW_NM_NONE;
    c.compound.transfer_forward.bound_management = AIHW_BM_NONE;
    c.compound.transfer_every = 1.0f;
    if (type == AIHW_COMPOUND_TRANSFER) {
      AIHW_TRY(
          aihw_update_params_preset("PresetUpdateParameters", &c.compound.transfer_update));
      c.compound.units_in_mbatch = 1;
    }
  }
  AIHW_TRY(aihw_compound_params_validate(&c.compound, "compound"));
  *out = c;
  return AIHW_OK;
}

/* TTv2 (chopped = 0) and ChoppedTTv2 presets of device k. */
static aihw_status build_ttv2(int k, int chopped, aihw_tile_config *out) {
  aihw_tile_config c;
  AIHW_TRY(build(preset_devices[k], AIHW_COMPOUND_CHOPPED_TRANSFER, 2, &c));
  c.update.desired_bl = ttv2_values[k].bl;
  c.compound.auto_scale = 1;
  c.compound.units_in_mbatch = 0;
  c.compound.transfer_lr = 1.0f;
  c.compound.momentum = 0.0f;
  c.compound.forget_buffer = 1;
  c.compound.auto_granularity = ttv2_values[k].auto_granularity;
  c.compound.fast_lr = chopped ? ttv2_values[k].chop_fast_lr : ttv2_values[k].fast_lr;
  c.compound.in_chop_prob = chopped ? ttv2_values[k].chop_prob : 0.0f;
  c.compound.in_chop_random = 1;
  AIHW_TRY(aihw_compound_params_validate(&c.compound, "compound"));
  *out = c;
  return AIHW_OK;
}

/* AGAD (DynamicTransferCompound) preset of device k. */
static aihw_status build_agad(int k, aihw_tile_config *out) {
  aihw_tile_config c;
  AIHW_TRY(build(preset_devices[k], AIHW_COMPOUND_DYNAMIC_TRANSFER, 2, &c));
  c.update.desired_bl = agad_values[k].bl;
  c.compound.auto_scale = 1;
  c.compound.units_in_mbatch = 0;
  c.compound.fast_lr = agad_values[k].fast_lr;
  c.compound.auto_granularity = agad_values[k].auto_granularity;
  c.compound.tail_weightening = agad_values[k].tail;
  c.compound.in_chop_prob = agad_values[k].chop_prob;
  AIHW_TRY(aihw_compound_params_validate(&c.compound, "compound"));
  *out = c;
  return AIHW_OK;
}

/* aihwkit's PCMPreset: UnitCellRPUConfig(device=PCMPresetUnitCell()): a OneSidedUnitCell
 * of two PCMPresetDevices with refresh_every 1 (mini-batches), refresh_forward
 * PresetIOParameters, refresh_update PresetUpdateParameters(desired_bl 31) (§8.1). */
static aihw_status build_pcm(aihw_tile_config *out) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  AIHW_TRY(aihw_io_params_preset("PresetIOParameters", &c.forward));
  AIHW_TRY(aihw_io_params_preset("PresetIOParameters", &c.backward));
  AIHW_TRY(aihw_update_params_preset("PresetUpdateParameters", &c.update));
  aihw_device_params d;
  AIHW_TRY(aihw_device_params_preset("PCMPresetDevice", &d));
  c.device = d;
  c.compound = aihw_compound_params_default(AIHW_COMPOUND_ONE_SIDED, &d, 2);
  c.compound.refresh_every = 1;
  c.compound.units_in_mbatch = 1;
  AIHW_TRY(aihw_io_params_preset("PresetIOParameters", &c.compound.refresh_forward));
  AIHW_TRY(aihw_update_params_preset("PresetUpdateParameters", &c.compound.refresh_update));
  c.compound.refresh_update.desired_bl = 31;
  AIHW_TRY(aihw_compound_params_validate(&c.compound, "compound"));
  *out = c;
  return AIHW_OK;
}

int aihw_compound_preset(const char *name, aihw_tile_config *out, aihw_status *status) {
  if (strcmp(name, "PCMPreset") == 0) {
    *status = build_pcm(out);
    return 1;
  }
  if (strcmp(name, "MixedPrecisionGokmenVlasovPreset") == 0) {
    *status = build("GokmenVlasov", AIHW_COMPOUND_MIXED_PRECISION, 1, out);
    return 1;
  }
  for (int k = 0; k < N_DEVICES; ++k) {
    char want[64];
    snprintf(want, sizeof want, "TTv2%sPreset", preset_devices[k]);
    if (strcmp(name, want) == 0) {
      *status = build_ttv2(k, 0, out);
      return 1;
    }
    snprintf(want, sizeof want, "AGAD%sPreset", preset_devices[k]);
    if (strcmp(name, want) == 0) {
      *status = build_agad(k, out);
      return 1;
    }
    snprintf(want, sizeof want, "MixedPrecision%sPreset", preset_devices[k]);
    if (strcmp(name, want) == 0) {
      *status = build(preset_devices[k], AIHW_COMPOUND_MIXED_PRECISION, 1, out);
      return 1;
    }
    snprintf(want, sizeof want, "ChoppedTTv2%sPreset", preset_devices[k]);
    if (strcmp(name, want) == 0) {
      *status = build_ttv2(k, 1, out);
      return 1;
    }
    for (int n = 2; n <= 4; n += 2) {
      snprintf(want, sizeof want, "%s%dPreset", preset_devices[k], n);
      if (strcmp(name, want) == 0) {
        *status = build(preset_devices[k], AIHW_COMPOUND_VECTOR, n, out);
        return 1;
      }
    }
    snprintf(want, sizeof want, "TikiTaka%sPreset", preset_devices[k]);
    if (strcmp(name, want) == 0) {
      *status = build(preset_devices[k], AIHW_COMPOUND_TRANSFER, 2, out);
      return 1;
    }
  }
  return 0;
}
