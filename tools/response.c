/* `aihw response --device <name | file.json> [--pulses N] [--devices K] [--seed S] [--json]
 * [--plot FILE.png] [--threads T]`: the pulse response of a device model.
 *
 * aihwkit's recipe (utils/visualization.py: get_tile_for_plotting, compute_pulse_response):
 * an ANALOG tile of K rows x 1 column is K independent devices (each with its own
 * device-to-device draws, construction seed S); its weights are set to 0 (with write noise
 * where the device applies it on set); update management and BL management are off,
 * desired_bl = 1 and lr = 1, so an update with x = [[-1]] and d = +1 in every row has pulse
 * probability 1 on both sides and is exactly one up step per device (W <- W - lr d x^T
 * grows), and d = -1 one down step. N up pulses then N down pulses; after every pulse the
 * mean and the (population, ddof 0) standard deviation of the K weights are recorded:
 * step 0 is the initial state, step 2N the last.
 *
 * Output: a table of about 20 evenly spaced steps and a summary; --json one object with
 * the curves (at most 201 evenly spaced steps, always including 0 and 2N); --plot the mean
 * curve with a +-1 std band through PLplot (tools/plot.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aihw/aihw.h"
#include "cli.h"
#include "plot.h"

#define RESPONSE_DEFAULT_PULSES 500
#define RESPONSE_DEFAULT_DEVICES 100
#define RESPONSE_MAX_PULSES 1000000L
#define RESPONSE_MAX_DEVICES 1000000L
#define RESPONSE_JSON_POINTS 201  /* most steps in --json */
#define RESPONSE_TABLE_ROWS 21    /* about this many table rows */
#define RESPONSE_PLOT_POINTS 4001 /* most points drawn */
#define RESPONSE_MAX_FILE_BYTES (16L << 20)

void cli_response_usage(FILE *out) {
  fprintf(
      out,
      "usage: aihw response --device <name | file.json> [--pulses N] [--devices K]\n"
      "                     [--seed S] [--json] [--plot FILE.png] [--threads T]\n"
      "\n"
      "Pulse response of a device model, as aihwkit plots it: K independent devices\n"
      "(an ANALOG tile of K rows x 1 column) start at weight 0, get N single up pulses,\n"
      "then N single down pulses; prints the mean and standard deviation of the K\n"
      "weights after every pulse (subsampled).\n"
      "\n"
      "  --device D    a device class (\"SoftBoundsDevice\", its defaults) or preset\n"
      "                (\"ReRamSBPresetDevice\"), or a JSON file (a name ending in .json or\n"
      "                containing '/') with {\"type\": <class>, <fields>...}\n"
      "  --pulses N    up pulses, and as many down pulses (default %d)\n"
      "  --devices K   number of devices (default %d)\n"
      "  --seed S      seed of the device-to-device draws and the pulse noise (default 1)\n"
      "  --json        one JSON object: {\"device\", \"pulses\", \"devices\", \"step\",\n"
      "                \"mean\", \"std\"} with at most %d evenly spaced steps of 0..2N\n"
      "  --plot FILE   mean curve with a +-1 std band, as FILE.png or FILE.svg (PLplot)\n"
      "  --threads T   OpenMP and OpenBLAS threads (results do not depend on it)\n"
      "\n"
      "Known devices:",
      RESPONSE_DEFAULT_PULSES, RESPONSE_DEFAULT_DEVICES, RESPONSE_JSON_POINTS);
  /* The library's comma-separated list, wrapped at 88 columns. */
  const char *names = aihw_device_preset_names();
  int column = 88;
  while (*names != '\0') {
    const size_t len = strcspn(names, ",");
    if (column + 1 + (int)len + 1 > 88) {
      fputs("\n ", out);
      column = 1;
    }
    fprintf(out, " %.*s%s", (int)len, names, names[len] == ',' ? "," : "");
    column += 1 + (int)len + 1;
    names += len;
    while (*names == ',' || *names == ' ')
      ++names;
  }
  fputc('\n', out);
}

typedef struct response_options {
  const char *device; /* name or path as given */
  long pulses, devices, threads;
  uint32_t seed;
  int json;
  const char *plot_path; /* NULL: no plot */
} response_options;

/* Returns 0 to go on, 1 after --help (exit 0), 2 after a usage error (printed). */
static int parse_args(int argc, char **argv, response_options *o) {
  for (int i = 1; i < argc; ++i) {
    const char *value = NULL;
    long v = 0;
    int found;
    if (cli_is_flag(argv, i, "--help") || cli_is_flag(argv, i, "-h")) {
      cli_response_usage(stdout);
      return 1;
    }
    if (cli_is_flag(argv, i, "--json")) {
      o->json = 1;
      continue;
    }
    if ((found = cli_option_value(argc, argv, &i, "--device", &value)) != 0) {
      if (found < 0)
        return 2;
      o->device = value;
      continue;
    }
    if ((found = cli_option_value(argc, argv, &i, "--plot", &value)) != 0) {
      if (found < 0)
        return 2;
      if (plot_device_for_path(value) == NULL) {
        fprintf(stderr, "aihw response: option --plot: '%s' must end in .png or .svg\n", value);
        return 2;
      }
      o->plot_path = value;
      continue;
    }
    if ((found = cli_option_value(argc, argv, &i, "--pulses", &value)) != 0) {
      if (found < 0 ||
          cli_parse_long("response", "--pulses", value, 1, RESPONSE_MAX_PULSES, &v) != 0)
        return 2;
      o->pulses = v;
      continue;
    }
    if ((found = cli_option_value(argc, argv, &i, "--devices", &value)) != 0) {
      if (found < 0 ||
          cli_parse_long("response", "--devices", value, 1, RESPONSE_MAX_DEVICES, &v) != 0)
        return 2;
      o->devices = v;
      continue;
    }
    if ((found = cli_option_value(argc, argv, &i, "--seed", &value)) != 0) {
      if (found < 0 || cli_parse_long("response", "--seed", value, 0, 4294967295L, &v) != 0)
        return 2;
      o->seed = (uint32_t)v;
      continue;
    }
    if ((found = cli_option_value(argc, argv, &i, "--threads", &value)) != 0) {
      if (found < 0 || cli_parse_long("response", "--threads", value, 1, 4096, &v) != 0)
        return 2;
      o->threads = v;
      continue;
    }
    cli_usage_error("response", argv[i], cli_response_usage);
    return 2;
  }
  if (o->device == NULL) {
    fprintf(stderr, "aihw response: --device is required\n\n");
    cli_response_usage(stderr);
    return 2;
  }
  return 0;
}

/* Fills *params from the --device argument. Returns an exit status. */
static int load_device(const char *device, aihw_device_params *params) {
  if (!cli_names_a_file(device)) {
    if (aihw_device_params_preset(device, params) != AIHW_OK) {
      fprintf(stderr, "aihw response: --device: %s\n", aihw_last_error());
      return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
  }
  char *text = cli_read_text_file("response", "device file", device, RESPONSE_MAX_FILE_BYTES);
  if (text == NULL)
    return CLI_EXIT_FAILURE;
  aihw_status s = aihw_device_params_from_json(text, params);
  free(text);
  if (s != AIHW_OK) {
    fprintf(stderr, "aihw response: device file '%s': %s: %s\n", device, aihw_status_name(s),
            aihw_last_error());
    return CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

/* Index of the k-th of `points` evenly spaced steps of 0..last (0 and last included). */
static long subsample_index(long k, long points, long last) {
  if (last + 1 <= points)
    return k;
  return (long)llround((double)k * (double)last / (double)(points - 1));
}

static long subsample_count(long points, long last) {
  return last + 1 <= points ? last + 1 : points;
}

/* The curves: mean[s], std[s] of the weights after s pulses, s = 0 .. 2N. */
typedef struct response_curves {
  long steps; /* 2N + 1 */
  double *mean, *std;
} response_curves;

static void record(response_curves *c, long step, const float *w, long k_devices) {
  double sum = 0.0;
  for (long k = 0; k < k_devices; ++k)
    sum += w[k];
  const double mean = sum / (double)k_devices;
  double ss = 0.0;
  for (long k = 0; k < k_devices; ++k) {
    const double dev = (double)w[k] - mean;
    ss += dev * dev;
  }
  c->mean[step] = mean;
  c->std[step] = sqrt(ss / (double)k_devices);
}

/* Runs the pulse sequence on the tile. Returns AIHW_OK or the failing call's status, with
 * *what naming it. */
static aihw_status run_pulses(const response_options *o, const aihw_device_params *device,
                              response_curves *c, const char **what) {
  const long n_dev = o->devices;
  aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_ANALOG);
  config.device = *device;
  config.device.construction_seed = o->seed;
  config.seed = o->seed;
  config.update.desired_bl = 1;
  config.update.update_management = 0;
  config.update.update_bl_management = 0;

  float *w = calloc((size_t)n_dev, sizeof *w), *d = malloc((size_t)n_dev * sizeof *d);
  const float x = -1.0f;
  aihw_tile *tile = NULL;
  aihw_status s = AIHW_ERR_OUT_OF_MEMORY;
  *what = "allocating the weights";
  if (w == NULL || d == NULL)
    goto done;
  *what = "aihw_tile_create";
  s = aihw_tile_create(&config, n_dev, 1, &tile);
  if (s != AIHW_OK)
    goto done;
  /* Like aihwkit's set_weights(w_init = 0): devices that apply write noise on set get it. */
  *what = "aihw_tile_set_weights";
  s = aihw_tile_set_weights(tile, w, n_dev, 1);
  if (s == AIHW_OK) {
    *what = "aihw_tile_get_weights";
    s = aihw_tile_get_weights(tile, w, n_dev, 1);
  }
  if (s != AIHW_OK)
    goto done;
  record(c, 0, w, n_dev);
  for (long step = 1; step < c->steps; ++step) {
    const float direction = step <= o->pulses ? 1.0f : -1.0f;
    if (step == 1 || step == o->pulses + 1)
      for (long k = 0; k < n_dev; ++k)
        d[k] = direction;
    *what = "aihw_tile_update";
    s = aihw_tile_update(tile, &x, 1, 1, d, n_dev, 1.0f);
    if (s != AIHW_OK)
      goto done;
    *what = "aihw_tile_get_weights";
    s = aihw_tile_get_weights(tile, w, n_dev, 1);
    if (s != AIHW_OK)
      goto done;
    record(c, step, w, n_dev);
  }
done:
  aihw_tile_destroy(tile);
  free(w);
  free(d);
  return s;
}

/* Writes s as a JSON string (quotes and escapes included). */
static void json_string(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; ++p) {
    if (*p == '"' || *p == '\\')
      fprintf(out, "\\%c", *p);
    else if (*p < 0x20)
      fprintf(out, "\\u%04x", *p);
    else
      fputc(*p, out);
  }
  fputc('"', out);
}

static void json_number(FILE *out, double v) {
  if (isfinite(v))
    fprintf(out, "%.7g", v);
  else
    fputs("null", out);
}

static void print_json(const response_options *o, const response_curves *c) {
  const long last = c->steps - 1, count = subsample_count(RESPONSE_JSON_POINTS, last);
  printf("{\"device\": ");
  json_string(stdout, o->device);
  printf(", \"pulses\": %ld, \"devices\": %ld, \"step\": [", o->pulses, o->devices);
  for (long k = 0; k < count; ++k)
    printf("%s%ld", k > 0 ? ", " : "", subsample_index(k, RESPONSE_JSON_POINTS, last));
  const double *curves[2] = {c->mean, c->std};
  const char *names[2] = {"mean", "std"};
  for (int q = 0; q < 2; ++q) {
    printf("], \"%s\": [", names[q]);
    for (long k = 0; k < count; ++k) {
      if (k > 0)
        fputs(", ", stdout);
      json_number(stdout, curves[q][subsample_index(k, RESPONSE_JSON_POINTS, last)]);
    }
  }
  printf("]}\n");
}

static void print_table(const response_options *o, const aihw_device_params *device,
                        const response_curves *c) {
  const long n = o->pulses, last = c->steps - 1;
  printf("aihw response: %s (%s), %ld devices, %ld up then %ld down pulses, seed %u\n",
         o->device, aihw_device_type_name(device->type), o->devices, n, n, (unsigned)o->seed);
  printf("  one pulse = one update with x = -1, d = +-1, lr 1, BL 1, no update management;\n"
         "  mean and std (ddof 0) of the %ld weights after each pulse\n\n",
         o->devices);
  printf("  %8s  %-5s  %12s  %12s\n", "pulse", "phase", "mean", "std");
  const long rows = subsample_count(RESPONSE_TABLE_ROWS, last);
  for (long k = 0; k < rows; ++k) {
    const long step = subsample_index(k, RESPONSE_TABLE_ROWS, last);
    const char *phase = step == 0 ? "start" : step <= n ? "up" : "down";
    printf("  %8ld  %-5s  %12.6f  %12.6f\n", step, phase, c->mean[step], c->std[step]);
  }

  const double up_step = c->mean[1] - c->mean[0];
  const double down_step = c->mean[n + 1] - c->mean[n];
  double lo = c->mean[0], hi = c->mean[0];
  for (long s = 1; s <= last; ++s) {
    lo = fmin(lo, c->mean[s]);
    hi = fmax(hi, c->mean[s]);
  }
  printf("\n  mean step at start:     up %+.6g (pulse 1), down %+.6g (pulse %ld)\n", up_step,
         down_step, n + 1);
  float granularity = 0.0f, n_states = 0.0f;
  if (aihw_device_params_granularity(device, &granularity, &n_states) == AIHW_OK)
    printf("  number of states:       %.0f = (w_max - w_min) / %.6g of the mean device "
           "(model)\n",
           (double)n_states, (double)granularity);
  if (up_step > 0.0)
    printf("  mean weight covered:    [%.6f, %.6f] = %.0f up steps of the start "
           "(measured)\n",
           lo, hi, (hi - lo) / up_step);
  printf("  final mean weight:      %.6f (std %.6f) after %ld pulses\n", c->mean[last],
         c->std[last], last);
}

/* PLplot's text escape is '#': double it so the name prints as given. */
static void plot_escape(const char *in, char *out, size_t size) {
  size_t used = 0;
  for (; *in != '\0' && used + 2 < size; ++in) {
    if (*in == '#')
      out[used++] = '#';
    out[used++] = *in;
  }
  out[used] = '\0';
}

static int write_plot(const response_options *o, const aihw_device_params *device,
                      const response_curves *c) {
  const long last = c->steps - 1, count = subsample_count(RESPONSE_PLOT_POINTS, last);
  double *x = malloc(sizeof *x * (size_t)count), *y = malloc(sizeof *y * (size_t)count);
  double *band = malloc(sizeof *band * (size_t)count);
  int rc = CLI_EXIT_FAILURE;
  if (x == NULL || y == NULL || band == NULL) {
    fprintf(stderr, "aihw response: out of memory for the plot\n");
    goto done;
  }
  for (long k = 0; k < count; ++k) {
    const long s = subsample_index(k, RESPONSE_PLOT_POINTS, last);
    x[k] = (double)s;
    y[k] = c->mean[s];
    band[k] = c->std[s];
  }
  char name[512], title[600], curve_label[64];
  const char *slash = strrchr(o->device, '/');
  plot_escape(slash != NULL ? slash + 1 : o->device, name, sizeof name);
  if (cli_names_a_file(o->device)) /* the file's base name: a title, not a path */
    snprintf(title, sizeof title, "%s (%s)", aihw_device_type_name(device->type), name);
  else
    snprintf(title, sizeof title, "%s", name);
  snprintf(curve_label, sizeof curve_label, "mean of %ld devices", o->devices);
  const plot_marker turn = {(double)o->pulses, "up  |  down"};
  const plot_band_chart chart = {.title = title,
                                 .x_label = "pulse number",
                                 .y_label = "weight",
                                 .x = x,
                                 .y = y,
                                 .band = band,
                                 .n = (size_t)count,
                                 .curve_label = curve_label,
                                 .band_label = "\xc2\xb1"
                                               "1 std",
                                 .markers = &turn,
                                 .marker_count = 1};
  char err[512];
  if (plot_band_chart_write(o->plot_path, &chart, err, sizeof err) != 0) {
    fprintf(stderr, "aihw response: --plot: %s\n", err);
    goto done;
  }
  if (!o->json)
    printf("  plot:                   %s\n", o->plot_path);
  rc = CLI_EXIT_OK;
done:
  free(x);
  free(y);
  free(band);
  return rc;
}

int cli_response_run(int argc, char **argv) {
  response_options o = {
      .pulses = RESPONSE_DEFAULT_PULSES, .devices = RESPONSE_DEFAULT_DEVICES, .seed = 1};
  int parsed = parse_args(argc, argv, &o);
  if (parsed == 1)
    return CLI_EXIT_OK;
  if (parsed != 0)
    return CLI_EXIT_USAGE;
  if (o.threads > 0)
    cli_set_threads((int)o.threads);

  if (o.plot_path != NULL) {
    char err[512];
    if (plot_check_path(o.plot_path, err, sizeof err) != 0) {
      fprintf(stderr, "aihw response: --plot: %s\n", err);
      return CLI_EXIT_FAILURE;
    }
  }
  aihw_device_params device;
  int rc = load_device(o.device, &device);
  if (rc != CLI_EXIT_OK)
    return rc;

  response_curves c = {.steps = 2 * o.pulses + 1};
  c.mean = malloc(sizeof *c.mean * (size_t)c.steps);
  c.std = malloc(sizeof *c.std * (size_t)c.steps);
  if (c.mean == NULL || c.std == NULL) {
    fprintf(stderr, "aihw response: out of memory for %ld steps\n", c.steps);
    rc = CLI_EXIT_FAILURE;
    goto done;
  }
  const char *what = NULL;
  aihw_status s = run_pulses(&o, &device, &c, &what);
  if (s != AIHW_OK) {
    rc = cli_report_failure("response", what, s);
    goto done;
  }
  if (o.json)
    print_json(&o, &c);
  else
    print_table(&o, &device, &c);
  if (o.plot_path != NULL)
    rc = write_plot(&o, &device, &c);
done:
  free(c.mean);
  free(c.std);
  return rc;
}
