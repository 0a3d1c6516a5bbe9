/* Inference-tile parameters (reference §6): how weights become device conductances
 * (converters), how programming, drift and read noise act on them (noise models), how the
 * output is compensated for drift, and the hardware-aware-training pieces applied after
 * each update (clip -> remap -> weight modifier).
 *
 * Field and JSON names are those of aihwkit's classes (`PCMLikeNoiseModel`,
 * `SinglePairConductanceConverter`, `WeightClipParameter`, `WeightRemapParameter`,
 * `WeightModifierParameter`, ...), defaults are aihwkit's Python defaults. Conductances are
 * in microsiemens (uS), times in seconds.
 */
#ifndef AIHW_INFERENCE_H
#define AIHW_INFERENCE_H

#include "aihw/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AIHW_INFERENCE_MAX_TABLE 32 /* entries of user tables (custom drift, custom pairs) */
#define AIHW_INFERENCE_MAX_PAIRS 8  /* conductance pairs of an N-pair converter */
#define AIHW_INFERENCE_MAX_COEFFS 8 /* polynomial coefficients */

/* ---- Conductance converters (§6.5). Append-only. ---- */
typedef enum aihw_converter_type {
  AIHW_CONVERTER_SINGLE_PAIR = 0,   /* SinglePairConductanceConverter (default) */
  AIHW_CONVERTER_N_PAIR = 1,        /* NPairConductanceConverter(f_lst) */
  AIHW_CONVERTER_DUAL_PAIR = 2,     /* DualPairConductanceConverter(f_lst of 2) */
  AIHW_CONVERTER_CUSTOM_PAIR = 3,   /* CustomPairConductanceConverter(f_lst, g_lst) */
  AIHW_CONVERTER_SINGLE_DEVICE = 4  /* SingleDeviceConductanceConverter (affine, one device) */
} aihw_converter_type;

typedef struct aihw_converter_params {
  aihw_converter_type type;
  float g_max;   /* uS; 25 (SINGLE_DEVICE: 88.2) */
  float g_min;   /* uS; 0 (SINGLE_DEVICE: 9.0) */
  int n_f;       /* number of significance factors (N/DUAL/CUSTOM pair) */
  float f_lst[AIHW_INFERENCE_MAX_PAIRS]; /* significance of each pair, e.g. {1, 3} */
  int n_g;       /* CUSTOM_PAIR: number of table entries, 2 * n_f * L */
  /* CUSTOM_PAIR: 2 n_f lists of equal length L >= 2, concatenated: g+ of pair 0, g- of
   * pair 0, g+ of pair 1, ... (uS) */
  float g_lst[AIHW_INFERENCE_MAX_TABLE];
} aihw_converter_params;

/* ---- Noise models (§6.6). Append-only. ---- */
typedef enum aihw_noise_model_type {
  AIHW_NOISE_NONE = 0,              /* programming and drift leave weights unchanged */
  AIHW_NOISE_PCM_LIKE = 1,          /* PCMLikeNoiseModel (default) */
  AIHW_NOISE_STATE_INDEPENDENT = 2, /* StateIndependentNoiseModel */
  AIHW_NOISE_CUSTOM_DRIFT_PCM = 3   /* CustomDriftPCMLikeNoiseModel (nu tables) */
} aihw_noise_model_type;

typedef struct aihw_noise_model_params {
  aihw_noise_model_type type;
  float g_max;              /* uS, 25 */
  float t_read;             /* s, 250e-9 */
  float t_0;                /* s, 20 */
  float prog_noise_scale;   /* 1 */
  float read_noise_scale;   /* 1 */
  float drift_scale;        /* 1 */
  int n_prog_coeff;         /* 3 */
  float prog_coeff[AIHW_INFERENCE_MAX_COEFFS]; /* PCM: {0.26348, 1.9650, -1.1731} uS;
                                                  StateIndependent: {0.2, 0, 0} */
  float prog_coeff_g_max_reference; /* g_max the coefficients were fitted at, 25 uS (aihwkit
                                       ignores a user value: Appendix A.22; aihw honours it) */
  /* [aihw] 1: read-noise Q_s at the target conductance g_T (aihwkit's documentation);
   * 0 (default): at the programmed conductance, as aihwkit's code does (issue 436). */
  int read_noise_at_target;
  float drift_nu_mean;      /* StateIndependent: 0.1 */
  float drift_nu_std;       /* StateIndependent: 0.05 */
  int n_custom;             /* CustomDrift: table length */
  float custom_g[AIHW_INFERENCE_MAX_TABLE];       /* uS, increasing */
  float custom_nu_mean[AIHW_INFERENCE_MAX_TABLE];
  float custom_nu_std[AIHW_INFERENCE_MAX_TABLE];
} aihw_noise_model_params;

/* ---- Drift compensation (§6.8). Append-only. ---- */
typedef enum aihw_drift_compensation {
  AIHW_DRIFT_COMPENSATION_NONE = 0,
  AIHW_DRIFT_COMPENSATION_GLOBAL = 1,                  /* GlobalDriftCompensation (default) */
  AIHW_DRIFT_COMPENSATION_GLOBAL_EXACT_REFERENCE = 2,  /* ...WithExactReference */
  AIHW_DRIFT_COMPENSATION_PER_COLUMN = 3               /* PerColumnDriftCompensation */
} aihw_drift_compensation;

/* ---- Hardware-aware training pieces (§6.2–6.4). Append-only enums. ---- */
typedef enum aihw_weight_clip_type {
  AIHW_CLIP_NONE = 0,
  AIHW_CLIP_FIXED_VALUE = 1,
  AIHW_CLIP_LAYER_GAUSSIAN = 2,
  AIHW_CLIP_AVERAGE_CHANNEL_MAX = 3
} aihw_weight_clip_type;

typedef struct aihw_weight_clip_params {
  aihw_weight_clip_type type; /* NONE */
  float fixed_value;          /* -1 (off) */
  float sigma;                /* 2.5 */
} aihw_weight_clip_params;

typedef enum aihw_weight_remap_type {
  AIHW_REMAP_NONE = 0,
  AIHW_REMAP_LAYERWISE_SYMMETRIC = 1,
  AIHW_REMAP_CHANNELWISE_SYMMETRIC = 2
} aihw_weight_remap_type;

typedef struct aihw_weight_remap_params {
  aihw_weight_remap_type type; /* NONE */
  float remapped_wmax;         /* 1 */
  float max_scale_range;       /* 0 */
  float max_scale_ref;         /* 0 */
} aihw_weight_remap_params;

typedef enum aihw_weight_modifier_type {
  AIHW_MODIFIER_NONE = 0,
  AIHW_MODIFIER_COPY = 1,
  AIHW_MODIFIER_DISCRETIZE = 2,
  AIHW_MODIFIER_MULT_NORMAL = 3,
  AIHW_MODIFIER_ADD_NORMAL = 4,
  AIHW_MODIFIER_DISCRETIZE_ADD_NORMAL = 5,
  AIHW_MODIFIER_DOREFA = 6,
  AIHW_MODIFIER_POLY = 7,
  AIHW_MODIFIER_PROG_NOISE = 8,
  AIHW_MODIFIER_PCM_NOISE = 9,
  AIHW_MODIFIER_DROP_CONNECT = 10
} aihw_weight_modifier_type;

typedef struct aihw_weight_modifier_params {
  aihw_weight_modifier_type type; /* NONE */
  float std_dev;                  /* 0 */
  int per_batch_sample;           /* 0 (1 is unsupported, as on aihwkit's CPU) */
  float res;                      /* 0 */
  int sto_round;                  /* 0 */
  float dorefa_clip;              /* 0.6 */
  float pdrop;                    /* 0 */
  int enable_during_test;         /* 0 */
  int rel_to_actual_wmax;         /* 1 */
  float assumed_wmax;             /* 1 */
  int copy_last_column;           /* 0 */
  int n_coeffs;                   /* 3 */
  float coeffs[AIHW_INFERENCE_MAX_COEFFS]; /* {0.0105392, 0.0768, -0.046925} */
  float g_max;                    /* 25 */
  float pcm_zero_thres;           /* 0 */
  float pcm_t_inference;          /* 0 */
  float pcm_prob_at_reset;        /* 0 */
  float pcm_prob_at_gmax;         /* 0 */
  float pcm_prob_at_random;       /* 0 */
  float pcm_t0;                   /* 20 */
} aihw_weight_modifier_params;

/* Everything an INFERENCE tile adds to the periphery (aihwkit InferenceRPUConfig minus
 * forward/backward/mapping). */
typedef struct aihw_inference_params {
  aihw_noise_model_params noise_model;
  /* JSON: noise_model.g_converter (as in aihwkit); its g_max must equal noise_model.g_max */
  aihw_converter_params converter;
  aihw_drift_compensation drift_compensation;
  aihw_weight_clip_params clip;
  aihw_weight_remap_params remap;
  aihw_weight_modifier_params modifier;
} aihw_inference_params;

/* aihwkit defaults: PCMLikeNoiseModel(), SinglePairConductanceConverter(),
 * GlobalDriftCompensation(), clip/remap/modifier NONE. */
AIHW_API aihw_inference_params aihw_inference_params_default(void);
/* Defaults of one noise model type / converter type (aihwkit class defaults). */
AIHW_API aihw_noise_model_params aihw_noise_model_params_default(aihw_noise_model_type type);
AIHW_API aihw_converter_params aihw_converter_params_default(aihw_converter_type type);

/* Checks every field; the message names the field (prefixed by `what.`) and its range. */
AIHW_API aihw_status aihw_inference_params_validate(const aihw_inference_params *params,
                                                    const char *what);

/* JSON object {"noise_model": {"type": "PCMLikeNoiseModel", ..., "g_converter": {"type":
 * "SinglePairConductanceConverter", ...}} | null (NONE), "drift_compensation":
 * "GlobalDriftCompensation" | null, "clip": {...}, "remap": {...}, "modifier": {...}} with
 * aihwkit's class, field and enum names. Same conventions as aihw_io_params_to_json /
 * _from_json. */
AIHW_API aihw_status aihw_inference_params_to_json(const aihw_inference_params *params,
                                                   char **json_out);
AIHW_API aihw_status aihw_inference_params_from_json(const char *json,
                                                     aihw_inference_params *params);

#ifdef __cplusplus
}
#endif
#endif
