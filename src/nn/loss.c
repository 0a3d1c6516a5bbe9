/* Losses (torch.nn.CrossEntropyLoss, NLLLoss and MSELoss with mean reduction, as used by
 * aihwkit's examples, reference §10.2): values and gradients of the mean over the batch.
 * Cross-entropy uses the log-sum-exp with the row maximum subtracted, accumulated in
 * double, so that large logits neither overflow nor lose the small terms:
 *   loss_b = log sum_j exp(l_bj - m_b) + m_b - l_b,label,   dl_bj = (softmax_bj - [j = label])
 * / B.
 */
#include <math.h>

#include "aihw/nn.h"
#include "core/error.h"

static aihw_status check_sizes(const char *fn, int64_t batch, int64_t n, const char *n_name) {
  if (batch < 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: batch = %lld: must be >= 1", fn,
                      (long long)batch);
  if (n < 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s = %lld: must be >= 1", fn, n_name,
                      (long long)n);
  if (batch > INT64_MAX / n)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: batch x %s overflows", fn, n_name);
  return AIHW_OK;
}

static aihw_status check_finite(const char *fn, const char *name, const float *v, int64_t rows,
                                int64_t cols) {
  for (int64_t k = 0; k < rows * cols; ++k)
    if (!isfinite(v[k]))
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s: %s[%lld][%lld] = %g: must be finite", fn,
                        name, (long long)(k / cols), (long long)(k % cols), (double)v[k]);
  return AIHW_OK;
}

/* The arguments both class losses share: non-NULL pointers, sizes, labels in 0 .. classes
 * - 1, finite inputs (`name` names them in messages). */
static aihw_status check_class_args(const char *fn, const char *name, const float *v,
                                    const int32_t *labels, int64_t batch, int64_t classes,
                                    const float *loss) {
  if (v == NULL || labels == NULL || loss == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: NULL argument (%s)", fn,
                      v == NULL        ? name
                      : labels == NULL ? "labels"
                                       : "loss");
  AIHW_TRY(check_sizes(fn, batch, classes, "classes"));
  for (int64_t b = 0; b < batch; ++b)
    if (labels[b] < 0 || labels[b] >= classes)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s: labels[%lld] = %d: must be in 0 .. %lld", fn, (long long)b,
                        (int)labels[b], (long long)(classes - 1));
  return check_finite(fn, name, v, batch, classes);
}

AIHW_API aihw_status aihw_loss_cross_entropy(const float *logits, const int32_t *labels,
                                             int64_t batch, int64_t classes, float *loss,
                                             float *dlogits) {
  static const char *fn = "aihw_loss_cross_entropy";
  AIHW_TRY(check_class_args(fn, "logits", logits, labels, batch, classes, loss));
  double total = 0.0;
  const double inv_batch = 1.0 / (double)batch;
  for (int64_t b = 0; b < batch; ++b) {
    const float *l = logits + b * classes;
    double mx = l[0];
    for (int64_t j = 1; j < classes; ++j)
      mx = l[j] > mx ? l[j] : mx;
    double sum = 0.0;
    for (int64_t j = 0; j < classes; ++j)
      sum += exp((double)l[j] - mx);
    const double lse = mx + log(sum);
    total += lse - (double)l[labels[b]];
    if (dlogits != NULL)
      for (int64_t j = 0; j < classes; ++j) {
        const double p = exp((double)l[j] - lse);
        dlogits[b * classes + j] = (float)((p - (j == labels[b] ? 1.0 : 0.0)) * inv_batch);
      }
  }
  *loss = (float)(total * inv_batch);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_loss_nll(const float *logp, const int32_t *labels, int64_t batch,
                                   int64_t classes, float *loss, float *dlogp) {
  static const char *fn = "aihw_loss_nll";
  AIHW_TRY(check_class_args(fn, "logp", logp, labels, batch, classes, loss));
  double total = 0.0;
  for (int64_t b = 0; b < batch; ++b)
    total -= (double)logp[b * classes + labels[b]];
  if (dlogp != NULL) {
    const float g = (float)(-1.0 / (double)batch);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t j = 0; j < classes; ++j)
        dlogp[b * classes + j] = j == labels[b] ? g : 0.0f;
  }
  *loss = (float)(total / (double)batch);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_loss_mse(const float *y, const float *target, int64_t batch,
                                   int64_t n, float *loss, float *dy) {
  static const char *fn = "aihw_loss_mse";
  if (y == NULL || target == NULL || loss == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: NULL argument (%s)", fn,
                      y == NULL        ? "y"
                      : target == NULL ? "target"
                                       : "loss");
  AIHW_TRY(check_sizes(fn, batch, n, "n"));
  AIHW_TRY(check_finite(fn, "y", y, batch, n));
  AIHW_TRY(check_finite(fn, "target", target, batch, n));
  const double inv = 1.0 / ((double)batch * (double)n);
  double total = 0.0;
  for (int64_t k = 0; k < batch * n; ++k) {
    const double e = (double)y[k] - (double)target[k];
    total += e * e;
    if (dy != NULL)
      dy[k] = (float)(2.0 * e * inv);
  }
  *loss = (float)(total * inv);
  return AIHW_OK;
}
