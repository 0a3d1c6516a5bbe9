/* The field table of aihw_device_params, shared by validation (device_params.c) and JSON
 * (device_params_json.c): for every field its JSON name (= aihwkit name), storage kind,
 * allowed range and the set of device types it belongs to.
 *
 * A field belongs to a type when aihwkit's dataclass of that type has it (reference
 * §5.1–5.9). Fields outside a type's set are neither validated nor written to or read
 * from JSON for that type; they keep the neutral default of the class they come from.
 */
#ifndef AIHW_DEVICES_DEVICE_PARAMS_TABLE_H
#define AIHW_DEVICES_DEVICE_PARAMS_TABLE_H

#include <stddef.h>

#include "aihw/device.h"

/* Bit of a type in a field's type set. */
#define AIHW_DEVICE_BIT(t) (1u << (unsigned)(t))

typedef enum device_field_kind {
  DEVICE_FIELD_FLOAT,
  DEVICE_FIELD_INT,
  DEVICE_FIELD_BOOL,
  DEVICE_FIELD_SEED,  /* uint32_t, JSON integer 0..4294967295 */
  DEVICE_FIELD_NODES, /* float[AIHW_PIECEWISE_MAX], the first piecewise_n used; JSON array */
  DEVICE_FIELD_DRIFT  /* aihw_drift_params, JSON object walked with the drift table */
} device_field_kind;

/* Allowed ranges. Every float must also be finite (checked first, AIHW_ERR_NOT_FINITE). */
typedef enum device_range_rule {
  DEVICE_RULE_NONE,     /* booleans, integers, seeds, drift: no range */
  DEVICE_RULE_FINITE,   /* any finite value */
  DEVICE_RULE_NONNEG,   /* >= 0 */
  DEVICE_RULE_POSITIVE, /* > 0 */
  DEVICE_RULE_UNIT      /* [0, 1] */
} device_range_rule;

typedef struct device_field {
  const char *name; /* struct field = JSON key = aihwkit name */
  device_field_kind kind;
  size_t offset; /* in aihw_device_params (drift table: in aihw_drift_params) */
  device_range_rule rule;
  unsigned types; /* AIHW_DEVICE_BIT()s of the types that have this field */
} device_field;

/* Upper bounds of the table sizes (for "seen" flags of the JSON reader); checked where
 * the tables are defined. */
#define AIHW_DEVICE_FIELD_MAX 96
#define AIHW_DRIFT_FIELD_MAX 16

/* Every field of aihw_device_params except `type` and `piecewise_n` (implied by the node
 * arrays), in JSON output order. */
extern const device_field aihw_device_fields[];
extern const int aihw_device_field_count;

/* The fields of aihw_drift_params; `types` says for which device types each applies
 * (FloatingPointDevice has only nu, t_0 and reset_tol). */
extern const device_field aihw_drift_fields[];
extern const int aihw_drift_field_count;

/* Text of a range rule ("must be >= 0"). */
const char *aihw_device_rule_text(device_range_rule rule);

/* "IdealDevice, ConstantStepDevice, ..." (every type name, in enum order). */
#define AIHW_DEVICE_TYPE_LIST                                                       \
  "IdealDevice, ConstantStepDevice, LinearStepDevice, SoftBoundsDevice, "           \
  "SoftBoundsPmaxDevice, SoftBoundsReferenceDevice, ExpStepDevice, PowStepDevice, " \
  "PowStepReferenceDevice, PiecewiseStepDevice, FloatingPointDevice"

#endif
