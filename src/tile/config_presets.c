/* Tile configurations by aihwkit name (reference §8.2): the single-device RPU-config
 * presets, the default configurations of the three tile kinds, and
 * SingleRPUConfig(device=<any device name>).
 *
 * Every preset is built from the other parameter areas' own presets (IO, update, device),
 * so a value lives in exactly one place. aihwkit's PCMPreset (a PCMPresetUnitCell, §8.1)
 * is a compound preset (compound_presets.c).
 */
#include <string.h>

#include "aihw/tile.h"
#include "core/error.h"
#include "tile/tile_internal.h"

/* aihwkit's single-device presets (presets/configs.py) and their device (§8.2). */
static const struct {
  const char *name;
  const char *device;
} single_device_presets[] = {
    {"ReRamESPreset", "ReRamESPresetDevice"},
    {"ReRamSBPreset", "ReRamSBPresetDevice"},
    {"CapacitorPreset", "CapacitorPresetDevice"},
    {"EcRamPreset", "EcRamPresetDevice"},
    {"EcRamMOPreset", "EcRamMOPresetDevice"},
    {"IdealizedPreset", "IdealizedPresetDevice"},
    {"GokmenVlasovPreset", "GokmenVlasovPresetDevice"},
};

/* The default configuration of each kind, by aihwkit class name and short name. */
static const struct {
  const char *name;
  aihw_tile_kind kind;
} kind_names[] = {
    {"SingleRPUConfig", AIHW_TILE_ANALOG},
    {"analog", AIHW_TILE_ANALOG},
    {"InferenceRPUConfig", AIHW_TILE_INFERENCE},
    {"inference", AIHW_TILE_INFERENCE},
    {"FloatingPointRPUConfig", AIHW_TILE_FLOATING_POINT},
    {"floating-point", AIHW_TILE_FLOATING_POINT},
};

#define CONFIG_NAME_LIST                                                               \
  "ReRamESPreset, ReRamSBPreset, CapacitorPreset, EcRamPreset, EcRamMOPreset, "        \
  "IdealizedPreset, GokmenVlasovPreset, SingleRPUConfig, analog, InferenceRPUConfig, " \
  "inference, FloatingPointRPUConfig, floating-point"

#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* aihwkit's SingleRPUConfig(device=..., forward=PresetIOParameters(),
 * backward=PresetIOParameters(), update=PresetUpdateParameters()). */
static aihw_status single_device_preset(const char *device, aihw_tile_config *out) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  AIHW_TRY(aihw_io_params_preset("PresetIOParameters", &c.forward));
  AIHW_TRY(aihw_io_params_preset("PresetIOParameters", &c.backward));
  AIHW_TRY(aihw_update_params_preset("PresetUpdateParameters", &c.update));
  AIHW_TRY(aihw_device_params_preset(device, &c.device));
  *out = c;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_config_preset(const char *name, aihw_tile_config *out) {
  if (name == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_config_preset: %s is NULL",
                      name == NULL ? "name" : "out");
  for (int i = 0; i < COUNT_OF(single_device_presets); ++i)
    if (strcmp(name, single_device_presets[i].name) == 0)
      return single_device_preset(single_device_presets[i].device, out);
  for (int i = 0; i < COUNT_OF(kind_names); ++i) {
    if (strcmp(name, kind_names[i].name) == 0) {
      *out = aihw_tile_config_default(kind_names[i].kind);
      return AIHW_OK;
    }
  }
  aihw_status status = AIHW_OK; /* compound presets (compound_presets.c) */
  if (aihw_compound_preset(name, out, &status))
    return status;
  /* SingleRPUConfig(device=<name>): a device class or device preset. */
  aihw_device_params device;
  if (aihw_device_params_preset(name, &device) == AIHW_OK) {
    aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
    c.device = device;
    *out = c;
    return AIHW_OK;
  }
  return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                    "unknown tile configuration '%s' (known: %s, %s, and the device names %s)",
                    name, CONFIG_NAME_LIST, aihw_compound_preset_names(),
                    aihw_device_preset_names());
}
