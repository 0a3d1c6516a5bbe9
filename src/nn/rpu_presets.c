/* Whole-RPU-configuration presets (reference §8.2): the presets whose mapping or
 * pre_post differ from the defaults, so that they belong to the module layer (tile
 * configuration + mapping + input range), not to aihw_tile_config_preset. Every other name
 * is aihw_tile_config_preset's, with the default mapping.
 *
 *   StandardHWATrainingPreset (presets/inference.py; Rasch et al. 2023): INFERENCE tile,
 *     forward = PresetIOParameters with inp_res 254, out_res 254, BM NONE, NM CONSTANT,
 *     nm_thres 1, w_noise 0.0175 PCM_READ, ir_drop 1, out_noise 0.04, out_bound 10; remap
 *     CHANNELWISE_SYMMETRIC (remapped_wmax 1); PCMLikeNoiseModel, GlobalDriftCompensation;
 *     clip FIXED_VALUE 1.0; mapping omega 1 columnwise, max_input_size 512,
 *     max_output_size 0, digital bias, learned columnwise output scales; input range
 *     enabled with InputRangeParameter's defaults (init_value 3, init_from_data 100,
 *     init_std_alpha 3, decay 0.001, 0.95 / 0.95, no output-clipping management,
 *     gradient_scale 1, relative).
 *   WebComposerInferenceRPUConfig (presets/web.py): INFERENCE tile, forward
 *     PresetIOParameters, modifier ADD_NORMAL std 0.1, clip FIXED_VALUE 1.0, mapping omega
 *     1 columnwise, learned output scales, digital bias, 512 x 512 tiles.
 *   OldWebComposerInferenceRPUConfig: as WebComposerInferenceRPUConfig with an analog bias
 *     column, no learned scaling and unlimited tile size (the reference lists only these
 *     differences; the rest is taken to be shared).
 * The backward of every INFERENCE tile stays InferenceRPUConfig's fixed perfect backward. */
#include <stdio.h>
#include <string.h>

#include "aihw/nn.h"
#include "core/error.h"

static aihw_status inference_base(aihw_tile_config *c) {
  *c = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  return aihw_io_params_preset("PresetIOParameters", &c->forward);
}

static aihw_status standard_hwa(aihw_tile_config *c, aihw_mapping_params *m) {
  AIHW_TRY(inference_base(c));
  aihw_io_params *f = &c->forward;
  f->inp_res = 254.0f;
  f->out_res = 254.0f;
  f->bound_management = AIHW_BM_NONE;
  f->noise_management = AIHW_NM_CONSTANT;
  f->nm_thres = 1.0f;
  f->w_noise = 0.0175f;
  f->w_noise_type = AIHW_W_NOISE_PCM_READ;
  f->ir_drop = 1.0f;
  f->out_noise = 0.04f;
  f->out_bound = 10.0f;
  c->inference.remap.type = AIHW_REMAP_CHANNELWISE_SYMMETRIC;
  c->inference.remap.remapped_wmax = 1.0f;
  c->inference.clip.type = AIHW_CLIP_FIXED_VALUE;
  c->inference.clip.fixed_value = 1.0f;
  *m = aihw_mapping_params_default();
  m->weight_scaling_omega = 1.0f;
  m->weight_scaling_columnwise = 1;
  m->max_input_size = 512;
  m->max_output_size = 0;
  m->digital_bias = 1;
  m->learn_out_scaling = 1;
  m->out_scaling_columnwise = 1;
  m->input_range.enable = 1;
  return AIHW_OK;
}

static aihw_status web_composer(aihw_tile_config *c, aihw_mapping_params *m, int old) {
  AIHW_TRY(inference_base(c));
  c->inference.modifier.type = AIHW_MODIFIER_ADD_NORMAL;
  c->inference.modifier.std_dev = 0.1f;
  c->inference.clip.type = AIHW_CLIP_FIXED_VALUE;
  c->inference.clip.fixed_value = 1.0f;
  *m = aihw_mapping_params_default();
  m->weight_scaling_omega = 1.0f;
  m->weight_scaling_columnwise = 1;
  if (old) {
    m->digital_bias = 0;
    m->max_input_size = 0;
    m->max_output_size = 0;
  } else {
    m->learn_out_scaling = 1;
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_rpu_config_preset(const char *name, aihw_tile_config *config,
                                            aihw_mapping_params *mapping) {
  if (name == NULL || config == NULL || mapping == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_rpu_config_preset: %s is NULL",
                      name == NULL ? "name" : config == NULL ? "config" : "mapping");
  aihw_tile_config c;
  aihw_mapping_params m;
  aihw_status s;
  if (strcmp(name, "StandardHWATrainingPreset") == 0) {
    s = standard_hwa(&c, &m);
  } else if (strcmp(name, "WebComposerInferenceRPUConfig") == 0) {
    s = web_composer(&c, &m, 0);
  } else if (strcmp(name, "OldWebComposerInferenceRPUConfig") == 0) {
    s = web_composer(&c, &m, 1);
  } else {
    s = aihw_tile_config_preset(name, &c);
    if (s != AIHW_OK) {
      char names[4096]; /* the tile presets' message lists their names */
      snprintf(names, sizeof names, "%s", aihw_last_error());
      return aihw_error(s, "%s; or one of the RPU-config presets StandardHWATrainingPreset, "
                           "WebComposerInferenceRPUConfig, OldWebComposerInferenceRPUConfig",
                        names);
    }
    m = aihw_mapping_params_default();
  }
  if (s == AIHW_OK)
    s = aihw_mapping_params_validate(&m, name);
  if (s == AIHW_OK) {
    *config = c;
    *mapping = m;
  }
  return s;
}
