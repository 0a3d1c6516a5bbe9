/* Per-call constants of a noise model (reference §6.6, §6.9): what the programming and
 * drift element loops read, derived once per call from aihw_noise_model_params. Shared
 * by the CPU loops (src/inference/program.c) and the CUDA kernels
 * (src/backend/cuda/cuda_inference.cu, which pass the struct by value), so that the
 * derivation exists once. */
#ifndef AIHW_PHYSICS_NOISE_CONSTS_H
#define AIHW_PHYSICS_NOISE_CONSTS_H

#include <string.h>

#include "aihw/inference.h"
#include "physics/converter_math.h"
#include "physics/pcm_math.h"

typedef struct aihw_noise_consts {
  aihw_noise_model_type type;
  float g_max;
  float prog_factor; /* g_max / g_ref (PCM, custom drift); 1 (state independent) */
  float prog_noise_scale, read_noise_scale, drift_scale;
  int n_coeff;
  float coeff[AIHW_INFERENCE_MAX_COEFFS];
  float nu_mean, nu_std; /* state independent */
  int n_custom;          /* custom drift tables, as doubles, with interpolation slopes */
  double custom_g[AIHW_INFERENCE_MAX_TABLE];
  double custom_mean[AIHW_INFERENCE_MAX_TABLE], custom_mean_slope[AIHW_INFERENCE_MAX_TABLE];
  double custom_std[AIHW_INFERENCE_MAX_TABLE], custom_std_slope[AIHW_INFERENCE_MAX_TABLE];
  /* drift calls (aihw_noise_consts_set_time) */
  int drifting;      /* t > t_0 */
  double ln_base;    /* ln of the float t/t_0 */
  float read_factor; /* sqrt(ln((t + t_read)/(2 t_read))), rounded to float */
} aihw_noise_consts;

/* The constants of `nm` (drift fields zero). */
static inline aihw_noise_consts aihw_noise_consts_make(const aihw_noise_model_params *nm) {
  aihw_noise_consts c;
  memset(&c, 0, sizeof c);
  c.type = nm->type;
  c.g_max = nm->g_max;
  c.prog_factor = nm->type == AIHW_NOISE_STATE_INDEPENDENT
                      ? 1.0f
                      : (float)((double)nm->g_max / (double)nm->prog_coeff_g_max_reference);
  c.prog_noise_scale = nm->prog_noise_scale;
  c.read_noise_scale = nm->read_noise_scale;
  c.drift_scale = nm->drift_scale;
  c.n_coeff = nm->n_prog_coeff;
  memcpy(c.coeff, nm->prog_coeff, sizeof c.coeff);
  c.nu_mean = nm->drift_nu_mean;
  c.nu_std = nm->drift_nu_std;
  if (nm->type == AIHW_NOISE_CUSTOM_DRIFT_PCM) {
    c.n_custom = nm->n_custom;
    for (int k = 0; k < nm->n_custom; ++k) {
      c.custom_g[k] = (double)nm->custom_g[k];
      c.custom_mean[k] = (double)nm->custom_nu_mean[k];
      c.custom_std[k] = (double)nm->custom_nu_std[k];
    }
    aihw_interp_slopes(c.custom_g, c.custom_mean, c.n_custom, c.custom_mean_slope);
    aihw_interp_slopes(c.custom_g, c.custom_std, c.n_custom, c.custom_std_slope);
  }
  return c;
}

/* The drift fields for a drift to t_inference seconds after programming. */
static inline void aihw_noise_consts_set_time(aihw_noise_consts *c,
                                              const aihw_noise_model_params *nm,
                                              float t_inference) {
  const float base = aihw_pcm_drift_base((double)t_inference, (double)nm->t_0);
  c->drifting = base != 1.0f;
  c->ln_base = aihw_pcm_log(base);
  c->read_factor =
      (float)aihw_pcm_read_factor((double)t_inference, (double)nm->t_0, (double)nm->t_read);
}

#endif
