/* Field tables of aihw_inference_params (reference §6.1–6.6), shared by defaults and
 * validation (inference_params.c) and JSON (inference_params_json.c).
 *
 * Each parameter object (noise model, converter, clip, remap, modifier) has one table
 * listing its fields with JSON name (= aihwkit name), storage kind, allowed range and, for
 * the class-typed objects (noise model, converter), the set of types that have the field:
 * a field outside its type's set is neither validated nor written or read, exactly as the
 * aihwkit class of that type has no such attribute. Tables (custom drift model, custom pair
 * g_lst) that are not flat lists are handled by hand in both files.
 */
#ifndef AIHW_INFERENCE_PARAMS_TABLE_H
#define AIHW_INFERENCE_PARAMS_TABLE_H

#include <stddef.h>

#include "aihw/inference.h"

/* Bit of a type in a field's type set; AIHW_INF_ALL_TYPES: every type. */
#define AIHW_INF_BIT(t) (1u << (unsigned)(t))
#define AIHW_INF_ALL_TYPES 0xffffffffu

typedef enum inf_field_kind {
  INF_FLOAT,
  INF_BOOL, /* int 0/1 */
  INF_ENUM, /* int, names in an inf_enum */
  INF_LIST  /* float[max_count] with an int count at count_offset */
} inf_field_kind;

/* Allowed ranges. Every float must also be finite (checked first, AIHW_ERR_NOT_FINITE). */
typedef enum inf_rule {
  INF_RULE_NONE,     /* booleans, enums */
  INF_RULE_FINITE,   /* any finite value */
  INF_RULE_NONNEG,   /* >= 0 */
  INF_RULE_POSITIVE, /* > 0 */
  INF_RULE_UNIT      /* [0, 1] */
} inf_rule;

/* An aihwkit member that aihw does not implement, and why. */
typedef struct inf_unsupported {
  const char *name;  /* Python member / class name */
  const char *value; /* aihwkit Enum value (NULL for classes) */
  const char *reason;
} inf_unsupported;

/* An aihwkit Enum (names = Python member names, values = Enum values, both accepted on
 * input) or a family of classes (names = class names, values NULL). */
typedef struct inf_enum {
  const char *const *names;
  const char *const *values; /* NULL: no alternative spellings */
  int count;
  const inf_unsupported *unsupported; /* terminated by a NULL name, or NULL */
} inf_enum;

typedef struct inf_field {
  const char *name;
  inf_field_kind kind;
  size_t offset;
  inf_rule rule;
  const inf_enum *enumeration; /* INF_ENUM */
  size_t count_offset;         /* INF_LIST: offset of the int count */
  int max_count;               /* INF_LIST: capacity of the array */
  unsigned types;              /* AIHW_INF_BIT()s of the types that have the field */
} inf_field;

typedef struct inf_table {
  const inf_field *fields;
  int count;
} inf_table;

extern const inf_enum aihw_inf_noise_model_enum;  /* class names, NONE -> NULL entry */
extern const inf_enum aihw_inf_converter_enum;    /* class names */
extern const inf_enum aihw_inf_compensation_enum; /* class names, NONE -> NULL entry */
extern const inf_enum aihw_inf_clip_enum;         /* WeightClipType */
extern const inf_enum aihw_inf_remap_enum;        /* WeightRemapType */
extern const inf_enum aihw_inf_modifier_enum;     /* WeightModifierType */

extern const inf_table aihw_inf_noise_model_table; /* aihw_noise_model_params */
extern const inf_table aihw_inf_converter_table;   /* aihw_converter_params */
extern const inf_table aihw_inf_clip_table;        /* aihw_weight_clip_params */
extern const inf_table aihw_inf_remap_table;       /* aihw_weight_remap_params */
extern const inf_table aihw_inf_modifier_table;    /* aihw_weight_modifier_params */

/* Name of enum member v, or NULL if out of range (or the NULL entry of NONE). */
const char *aihw_inf_enum_name(const inf_enum *e, int v);
/* "A, B, C" into buf (truncated if too small); NULL entries skipped. */
const char *aihw_inf_enum_list(const inf_enum *e, char *buf, size_t size);
/* Text of a range rule ("must be >= 0"). */
const char *aihw_inf_rule_text(inf_rule rule);

#endif
