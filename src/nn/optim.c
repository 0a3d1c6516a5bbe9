/* The optimizer of digital parameters and the learning-rate schedules (nn.h "Optimizer").
 *
 * torch.optim.SGD (_single_tensor_sgd, maximize off) per element, in float and in torch's
 * order of operations:
 *   g = g + weight_decay p                       (weight_decay != 0)
 *   buf = g                                      (first momentum step of the parameter)
 *   buf = momentum buf + (1 - dampening) g       (later momentum steps)
 *   g = nesterov ? g + momentum buf : buf        (momentum != 0)
 *   p = p - lr g
 * aihwkit's AnalogSGD is this SGD for every digital parameter plus each tile's own update
 * with the learning rate only (docs/physics.md "Optimizer").
 *
 * Schedules are torch's closed forms (StepLR and CosineAnnealingLR's _get_closed_form_lr),
 * evaluated in double and rounded once. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "nn/digital_internal.h"

/* ---- Parameters ------------------------------------------------------------------------ */

aihw_status aihw_nn_param_init(aihw_nn_param *p, int64_t n, const char *what) {
  memset(p, 0, sizeof *p);
  float *v = aihw_calloc_array((size_t)(2 * n), sizeof(float), what);
  if (v == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  p->value = v;
  p->momentum = v + n;
  p->n = n;
  return AIHW_OK;
}

void aihw_nn_param_free(aihw_nn_param *p) {
  aihw_free(p->value);
  memset(p, 0, sizeof *p);
}

int aihw_sgd_is_plain(const aihw_sgd_params *sgd) {
  return sgd->momentum == 0.0f && sgd->weight_decay == 0.0f;
}

void aihw_nn_param_sgd(aihw_nn_param *p, float *g, const aihw_sgd_params *sgd) {
  const int64_t n = p->n;
  float *w = p->value, *buf = p->momentum;
  const float wd = sgd->weight_decay, mom = sgd->momentum, lr = sgd->lr;
  if (wd != 0.0f)
    for (int64_t k = 0; k < n; ++k)
      g[k] = g[k] + wd * w[k];
  if (mom != 0.0f) {
    if (!p->momentum_valid) {
      memcpy(buf, g, (size_t)n * sizeof(float));
      p->momentum_valid = 1;
    } else {
      const float keep = 1.0f - sgd->dampening;
      for (int64_t k = 0; k < n; ++k)
        buf[k] = mom * buf[k] + keep * g[k];
    }
    if (sgd->nesterov)
      for (int64_t k = 0; k < n; ++k)
        g[k] = g[k] + mom * buf[k];
    else
      memcpy(g, buf, (size_t)n * sizeof(float));
  }
  for (int64_t k = 0; k < n; ++k)
    w[k] = w[k] - lr * g[k];
}

/* ---- SGD hyper-parameters --------------------------------------------------------------- */

AIHW_API aihw_sgd_params aihw_sgd_params_default(float lr) {
  aihw_sgd_params p = {lr, 0.0f, 0.0f, 0.0f, 0};
  return p;
}

static aihw_status check_field(const char *name, float v, float lo, float hi,
                               const char *range) {
  if (!isfinite(v))
    return aihw_error(AIHW_ERR_NOT_FINITE, "sgd params: %s = %g: must be finite", name,
                      (double)v);
  if (v < lo || v > hi)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "sgd params: %s = %g: must be %s", name,
                      (double)v, range);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_sgd_params_validate(const aihw_sgd_params *p) {
  if (p == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "sgd params: NULL");
  AIHW_TRY(check_field("lr", p->lr, 0.0f, INFINITY, ">= 0"));
  AIHW_TRY(check_field("momentum", p->momentum, 0.0f, INFINITY, ">= 0"));
  AIHW_TRY(check_field("dampening", p->dampening, 0.0f, 1.0f, "in [0, 1]"));
  AIHW_TRY(check_field("weight_decay", p->weight_decay, 0.0f, INFINITY, ">= 0"));
  if (p->nesterov != 0 && p->nesterov != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "sgd params: nesterov = %d: must be 0 or 1",
                      p->nesterov);
  if (p->nesterov && (p->momentum <= 0.0f || p->dampening != 0.0f))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "sgd params: nesterov = 1 needs momentum > 0 and dampening = 0 (momentum "
                      "= %g, dampening = %g), as torch",
                      (double)p->momentum, (double)p->dampening);
  return AIHW_OK;
}

/* ---- Schedules -------------------------------------------------------------------------- */

AIHW_API aihw_lr_schedule aihw_lr_schedule_default(void) {
  aihw_lr_schedule s = {AIHW_LR_CONSTANT, 1, 0.1f, 1, 0.0f};
  return s;
}

AIHW_API aihw_status aihw_lr_schedule_validate(const aihw_lr_schedule *s) {
  if (s == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "lr schedule: NULL");
  switch (s->kind) {
  case AIHW_LR_CONSTANT: return AIHW_OK;
  case AIHW_LR_STEP:
    if (s->step_size < 1)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "lr schedule (STEP): step_size = %lld: must be >= 1",
                        (long long)s->step_size);
    if (!isfinite(s->gamma))
      return aihw_error(AIHW_ERR_NOT_FINITE, "lr schedule (STEP): gamma = %g: must be finite",
                        (double)s->gamma);
    if (s->gamma < 0.0f)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "lr schedule (STEP): gamma = %g: must be >= 0", (double)s->gamma);
    return AIHW_OK;
  case AIHW_LR_COSINE:
    if (s->t_max < 1)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "lr schedule (COSINE): t_max = %lld: must be >= 1",
                        (long long)s->t_max);
    if (!isfinite(s->eta_min))
      return aihw_error(AIHW_ERR_NOT_FINITE,
                        "lr schedule (COSINE): eta_min = %g: must be finite",
                        (double)s->eta_min);
    if (s->eta_min < 0.0f)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "lr schedule (COSINE): eta_min = %g: must be >= 0", (double)s->eta_min);
    return AIHW_OK;
  }
  return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                    "lr schedule: kind = %d: must be CONSTANT (0), STEP (1) or COSINE (2)",
                    (int)s->kind);
}

AIHW_API aihw_status aihw_lr_at(const aihw_lr_schedule *schedule, float base_lr, int64_t epoch,
                                float *lr) {
  static const char *fn = "aihw_lr_at";
  if (lr == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: lr is NULL", fn);
  AIHW_TRY(aihw_lr_schedule_validate(schedule));
  if (!isfinite(base_lr))
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s: base_lr = %g: must be finite", fn,
                      (double)base_lr);
  if (base_lr < 0.0f)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: base_lr = %g: must be >= 0", fn,
                      (double)base_lr);
  if (epoch < 0)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: epoch = %lld: must be >= 0", fn,
                      (long long)epoch);
  const double base = (double)base_lr;
  double v = base;
  if (schedule->kind == AIHW_LR_STEP) {
    v = base * pow((double)schedule->gamma, (double)(epoch / schedule->step_size));
  } else if (schedule->kind == AIHW_LR_COSINE) {
    const double pi = 3.14159265358979323846, eta = (double)schedule->eta_min;
    v = eta + (base - eta) * (1.0 + cos(pi * (double)epoch / (double)schedule->t_max)) / 2.0;
  }
  *lr = (float)v;
  return AIHW_OK;
}
