/* PLplot wrapper of the aihw tool (plot.h): a curve with a shaded band, white background,
 * written atomically (temporary file in the target's folder, then rename).
 *
 * Colour map 0 is set before plinit (PLplot's defaults are white-on-black): index 0 is the
 * background, the others are the few colours the chart uses. Everything PLplot needs is
 * checked before plinit, because PLplot reports some failures (an unopenable file) by
 * exiting the process: the temporary file is created here first, so PLplot only ever
 * reopens a file that exists and is writable.
 */
#define _POSIX_C_SOURCE 200809L

#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <plplot.h>

/* Colour map 0 entries of the chart. */
enum {
  PLOT_BACKGROUND = 0,
  PLOT_INK = 1,    /* axes, labels, title */
  PLOT_GRID = 2,   /* grid lines and markers */
  PLOT_CURVE = 3,  /* the curve */
  PLOT_BAND = 4,   /* the band (semi-transparent) */
  PLOT_LEGEND = 5, /* legend background */
  PLOT_SERIES = 6, /* first series colour of plot_lines_chart (PLOT_MAX_SERIES of them) */
  PLOT_COLOURS = PLOT_SERIES + PLOT_MAX_SERIES
};

/* Series colours (colour map 0 from PLOT_SERIES on): dark blue, orange, green, red, grey. */
static const unsigned char SERIES_RGB[PLOT_MAX_SERIES][3] = {
    {20, 70, 160}, {220, 110, 20}, {40, 140, 60}, {190, 30, 45}, {110, 110, 110}};

static void set_err(char *err, size_t err_size, const char *fmt, ...) {
  if (err == NULL || err_size == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_size, fmt, ap);
  va_end(ap);
}

const char *plot_device_for_path(const char *path) {
  const char *dot = path != NULL ? strrchr(path, '.') : NULL;
  const char *slash = path != NULL ? strrchr(path, '/') : NULL;
  if (dot == NULL || (slash != NULL && dot < slash) || dot == path || dot[-1] == '/')
    return NULL;
  if (strcasecmp(dot, ".png") == 0)
    return "pngcairo";
  if (strcasecmp(dot, ".svg") == 0)
    return "svgcairo";
  return NULL;
}

/* Data range of y - band .. y + band over all points, padded so the curve never touches
 * the frame and the top leaves room for the marker labels. */
static void value_range(const plot_band_chart *c, double *lo, double *hi) {
  double a = INFINITY, b = -INFINITY;
  for (size_t k = 0; k < c->n; ++k) {
    const double band = c->band != NULL ? c->band[k] : 0.0;
    a = fmin(a, c->y[k] - band);
    b = fmax(b, c->y[k] + band);
  }
  double span = b - a;
  if (!(span > 0.0)) /* flat curve: a window around it */
    span = fabs(a) > 0.0 ? 0.2 * fabs(a) : 1.0;
  *lo = a - 0.06 * span;
  *hi = b + 0.12 * span;
}

static int check_chart(const plot_band_chart *c, char *err, size_t err_size) {
  if (c == NULL || c->x == NULL || c->y == NULL || c->n < 2) {
    set_err(err, err_size, "a chart needs at least 2 points");
    return -1;
  }
  if (c->n > (size_t)INT32_MAX / 2) {
    set_err(err, err_size, "too many points (%zu)", c->n);
    return -1;
  }
  for (size_t k = 0; k < c->n; ++k) {
    if (!isfinite(c->x[k]) || !isfinite(c->y[k]) ||
        (c->band != NULL && !(isfinite(c->band[k]) && c->band[k] >= 0.0))) {
      set_err(err, err_size, "point %zu is not finite", k);
      return -1;
    }
  }
  if (c->x[c->n - 1] == c->x[0]) {
    set_err(err, err_size, "the x values span no range");
    return -1;
  }
  return 0;
}

/* Sets colour map 0: white page, near-black ink, light grey grid, dark blue curve and a
 * light blue band at 30% opacity (where the band is drawn over the grid, the grid shows
 * through). */
static void set_colours(void) {
  plscmap0n(PLOT_COLOURS);
  plscolbg(255, 255, 255);
  plscol0(PLOT_INK, 25, 25, 25);
  plscol0(PLOT_GRID, 200, 200, 200);
  plscol0(PLOT_CURVE, 20, 70, 160);
  plscol0a(PLOT_BAND, 70, 130, 220, 0.30);
  plscol0(PLOT_LEGEND, 255, 255, 255);
  for (int k = 0; k < PLOT_MAX_SERIES; ++k)
    plscol0(PLOT_SERIES + k, SERIES_RGB[k][0], SERIES_RGB[k][1], SERIES_RGB[k][2]);
}

static void draw_legend(const plot_band_chart *c) {
  PLINT opt[2] = {PL_LEGEND_LINE, PL_LEGEND_COLOR_BOX};
  const char *text[2] = {c->curve_label != NULL ? c->curve_label : "",
                         c->band_label != NULL ? c->band_label : ""};
  PLINT text_colors[2] = {PLOT_INK, PLOT_INK};
  PLINT box_colors[2] = {0, PLOT_BAND}, box_patterns[2] = {0, 0};
  PLFLT box_scales[2] = {0.0, 0.8}, box_line_widths[2] = {0.0, 0.0};
  PLINT line_colors[2] = {PLOT_CURVE, 0}, line_styles[2] = {1, 1};
  PLFLT line_widths[2] = {2.5, 0.0};
  PLFLT width = 0.0, height = 0.0;
  const PLINT n = c->band_label != NULL ? 2 : 1;
  /* One row just above the frame, right-aligned (an inside position moved up by about
   * its own height): outside the data, whatever their shape. */
  pllegend(&width, &height, 0,
           PL_POSITION_TOP | PL_POSITION_RIGHT | PL_POSITION_INSIDE | PL_POSITION_VIEWPORT, 0.0,
           -0.075, 0.05, PLOT_LEGEND, PLOT_GRID, 1, 1, n, n, opt, 0.8, 0.85, 2.0, 0.0,
           text_colors, text, box_colors, box_patterns, box_scales, box_line_widths,
           line_colors, line_styles, line_widths, NULL, NULL, NULL, NULL);
}

/* Draws the whole chart on the initialised PLplot stream. pts holds 4n doubles. */
static void draw(const plot_band_chart *c, double *pts) {
  const size_t n = c->n;
  double x_lo = c->x[0], x_hi = c->x[0];
  for (size_t k = 1; k < n; ++k) {
    x_lo = fmin(x_lo, c->x[k]);
    x_hi = fmax(x_hi, c->x[k]);
  }
  double y_lo, y_hi;
  value_range(c, &y_lo, &y_hi);

  pladv(0);
  plschr(0.0, 1.05);
  plvpor(0.10, 0.97, 0.11, 0.855);
  plwind(x_lo, x_hi, y_lo, y_hi);

  /* Grid first, so that everything else lies on top of it. */
  plcol0(PLOT_GRID);
  plwidth(0.8);
  plbox("g", 0.0, 0, "g", 0.0, 0);

  if (c->band != NULL) {
    double *bx = pts, *by = pts + 2 * n;
    for (size_t k = 0; k < n; ++k) {
      bx[k] = c->x[k];
      by[k] = c->y[k] + c->band[k];
      bx[2 * n - 1 - k] = c->x[k];
      by[2 * n - 1 - k] = c->y[k] - c->band[k];
    }
    plcol0(PLOT_BAND);
    plfill((PLINT)(2 * n), bx, by);
  }

  for (size_t m = 0; m < c->marker_count; ++m) {
    const plot_marker *mk = &c->markers[m];
    if (!(mk->x >= x_lo && mk->x <= x_hi))
      continue;
    plcol0(PLOT_GRID);
    plwidth(1.5);
    pllsty(2);
    pljoin(mk->x, y_lo, mk->x, y_hi);
    pllsty(1);
    if (mk->label != NULL) {
      plcol0(PLOT_INK);
      plschr(0.0, 0.85);
      plptex(mk->x, y_hi - 0.045 * (y_hi - y_lo), 1.0, 0.0, 0.5, mk->label);
      plschr(0.0, 1.05);
    }
  }

  plcol0(PLOT_CURVE);
  plwidth(2.5);
  plline((PLINT)n, c->x, c->y);

  plcol0(PLOT_INK);
  plwidth(1.2);
  plbox("bcnst", 0.0, 0, "bcnstv", 0.0, 0);
  pllab(c->x_label != NULL ? c->x_label : "", c->y_label != NULL ? c->y_label : "", "");
  if (c->title != NULL) {
    plschr(0.0, 1.3);
    plmtex("t", 2.5, 0.0, 0.0, c->title);
    plschr(0.0, 1.05);
  }
  if (c->curve_label != NULL || c->band_label != NULL)
    draw_legend(c);
}

/* Creates the temporary file "<path>.tmp-XXXXXX" with the mode a plain fopen would give;
 * returns its malloc'd name, or NULL with a message. */
static char *create_temporary(const char *path, char *err, size_t err_size) {
  const size_t tmp_len = strlen(path) + sizeof ".tmp-XXXXXX";
  char *tmp = malloc(tmp_len);
  if (tmp == NULL) {
    set_err(err, err_size, "out of memory");
    return NULL;
  }
  snprintf(tmp, tmp_len, "%s.tmp-XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    set_err(err, err_size, "cannot create a file next to '%s': %s", path, strerror(errno));
    free(tmp);
    return NULL;
  }
  /* mkstemp creates mode 0600; a plot is as readable as any file the user writes. */
  mode_t mask = umask(0);
  umask(mask);
  if (fchmod(fd, (mode_t)(0666 & ~mask)) != 0 || close(fd) != 0) {
    set_err(err, err_size, "cannot prepare a file next to '%s': %s", path, strerror(errno));
    unlink(tmp);
    free(tmp);
    return NULL;
  }
  return tmp;
}

int plot_check_path(const char *path, char *err, size_t err_size) {
  if (plot_device_for_path(path) == NULL) {
    set_err(err, err_size, "'%s': the file name must end in .png or .svg",
            path != NULL ? path : "(null)");
    return -1;
  }
  char *tmp = create_temporary(path, err, err_size);
  if (tmp == NULL)
    return -1;
  unlink(tmp);
  free(tmp);
  return 0;
}

/* Renders draw_fn(chart, scratch) into `path` through a temporary file (see the file
 * comment); the caller has checked the chart. */
static int render(const char *path, const char *device, int width_px, int height_px,
                  void (*draw_fn)(const void *, double *), const void *chart, size_t scratch_n,
                  char *err, size_t err_size) {
  double *scratch = malloc(sizeof *scratch * (scratch_n > 0 ? scratch_n : 1));
  if (scratch == NULL) {
    set_err(err, err_size, "out of memory");
    return -1;
  }
  char *tmp = create_temporary(path, err, err_size);
  if (tmp == NULL) {
    free(scratch);
    return -1;
  }
  plsdev(device);
  plsfnam(tmp);
  plspage(0.0, 0.0, width_px > 0 ? width_px : 960, height_px > 0 ? height_px : 640, 0, 0);
  set_colours();
  plinit();
  draw_fn(chart, scratch);
  plend();
  free(scratch);

  struct stat st;
  int rc = 0;
  if (stat(tmp, &st) != 0 || st.st_size == 0) {
    set_err(err, err_size, "PLplot wrote nothing to '%s'", path);
    rc = -1;
  } else if (rename(tmp, path) != 0) {
    set_err(err, err_size, "cannot rename the plot to '%s': %s", path, strerror(errno));
    rc = -1;
  }
  if (rc != 0)
    unlink(tmp);
  free(tmp);
  return rc;
}

static void draw_band(const void *chart, double *pts) { draw(chart, pts); }

int plot_band_chart_write(const char *path, const plot_band_chart *chart, char *err,
                          size_t err_size) {
  const char *device = plot_device_for_path(path);
  if (device == NULL) {
    set_err(err, err_size, "'%s': the file name must end in .png or .svg",
            path != NULL ? path : "(null)");
    return -1;
  }
  if (check_chart(chart, err, err_size) != 0)
    return -1;
  return render(path, device, chart->width_px, chart->height_px, draw_band, chart,
                4 * chart->n, err, err_size);
}

/* ---- several series --------------------------------------------------------------------- */


static double series_x(const plot_lines_chart *c, double x) { return c->log_x ? log10(x) : x; }

static int check_lines(const plot_lines_chart *c, char *err, size_t err_size) {
  if (c == NULL || c->series == NULL || c->count < 1 || c->count > PLOT_MAX_SERIES) {
    set_err(err, err_size, "a chart needs 1 to %d series", PLOT_MAX_SERIES);
    return -1;
  }
  double lo = INFINITY, hi = -INFINITY;
  for (size_t s = 0; s < c->count; ++s) {
    const plot_series *ser = &c->series[s];
    if (ser->x == NULL || ser->y == NULL || ser->n < 1 || ser->n > (size_t)INT32_MAX / 2) {
      set_err(err, err_size, "series %zu has no points", s);
      return -1;
    }
    for (size_t k = 0; k < ser->n; ++k) {
      if (!isfinite(ser->x[k]) || !isfinite(ser->y[k]) || (c->log_x && !(ser->x[k] > 0.0)) ||
          (ser->band != NULL && !(isfinite(ser->band[k]) && ser->band[k] >= 0.0))) {
        set_err(err, err_size, "point %zu of series %zu is not finite%s", k, s,
                c->log_x ? " and positive" : "");
        return -1;
      }
      lo = fmin(lo, ser->x[k]);
      hi = fmax(hi, ser->x[k]);
    }
  }
  return 0;
}

static void draw_lines(const void *chart, double *pts) {
  const plot_lines_chart *c = chart;
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (size_t s = 0; s < c->count; ++s)
    for (size_t k = 0; k < c->series[s].n; ++k) {
      const plot_series *ser = &c->series[s];
      const double band = ser->band != NULL ? ser->band[k] : 0.0;
      x_lo = fmin(x_lo, series_x(c, ser->x[k]));
      x_hi = fmax(x_hi, series_x(c, ser->x[k]));
      y_lo = fmin(y_lo, ser->y[k] - band);
      y_hi = fmax(y_hi, ser->y[k] + band);
    }
  if (c->y_min < c->y_max) {
    y_lo = c->y_min;
    y_hi = c->y_max;
  } else {
    double span = y_hi - y_lo;
    if (!(span > 0.0))
      span = fabs(y_lo) > 0.0 ? 0.2 * fabs(y_lo) : 1.0;
    y_lo -= 0.06 * span;
    y_hi += 0.16 * span; /* room for the legend */
  }
  const double x_pad = x_hi > x_lo ? 0.02 * (x_hi - x_lo) : 0.5; /* one x: a unit window */
  x_lo -= x_pad;
  x_hi += x_pad;

  pladv(0);
  plschr(0.0, 1.05);
  plvpor(0.10, 0.97, 0.11, 0.855);
  plwind(x_lo, x_hi, y_lo, y_hi);
  plcol0(PLOT_GRID);
  plwidth(0.8);
  const double xt = c->log_x ? 0.0 : c->x_tick;
  const PLINT xsub = xt > 0.0 ? 1 : 0;
  plbox(c->log_x ? "gl" : "g", xt, xsub, "g", 0.0, 0);

  for (size_t s = 0; s < c->count; ++s) {
    const plot_series *ser = &c->series[s];
    const size_t n = ser->n;
    double *px = pts, *py = pts + 2 * n;
    const PLINT colour = (PLINT)(PLOT_SERIES + s);
    if (ser->band != NULL && n >= 2) {
      for (size_t k = 0; k < n; ++k) {
        px[k] = series_x(c, ser->x[k]);
        py[k] = ser->y[k] + ser->band[k];
        px[2 * n - 1 - k] = px[k];
        py[2 * n - 1 - k] = ser->y[k] - ser->band[k];
      }
      const unsigned char *rgb = SERIES_RGB[s];
      plscol0a(PLOT_BAND, rgb[0], rgb[1], rgb[2], 0.18);
      plcol0(PLOT_BAND);
      plfill((PLINT)(2 * n), px, py);
    }
    for (size_t k = 0; k < n; ++k)
      px[k] = series_x(c, ser->x[k]);
    plcol0(colour);
    plwidth(2.5);
    pllsty(ser->dashed ? 2 : 1);
    if (n >= 2)
      plline((PLINT)n, px, ser->y);
    pllsty(1);
    if (ser->points)
      plpoin((PLINT)n, px, ser->y, 17);
  }

  plcol0(PLOT_INK);
  plwidth(1.2);
  plbox(c->log_x ? "bcnstl" : "bcnst", xt, xsub, "bcnstv", 0.0, 0);
  pllab(c->x_label != NULL ? c->x_label : "", c->y_label != NULL ? c->y_label : "", "");
  if (c->title != NULL) {
    plschr(0.0, 1.3);
    plmtex("t", 2.5, 0.0, 0.0, c->title);
    plschr(0.0, 1.05);
  }

  PLINT opt[PLOT_MAX_SERIES], text_colors[PLOT_MAX_SERIES], line_colors[PLOT_MAX_SERIES];
  PLINT line_styles[PLOT_MAX_SERIES], zero[PLOT_MAX_SERIES] = {0};
  PLFLT line_widths[PLOT_MAX_SERIES], fzero[PLOT_MAX_SERIES] = {0};
  const char *text[PLOT_MAX_SERIES];
  PLINT n = 0;
  for (size_t s = 0; s < c->count; ++s) {
    if (c->series[s].label == NULL)
      continue;
    opt[n] = PL_LEGEND_LINE;
    text[n] = c->series[s].label;
    text_colors[n] = PLOT_INK;
    line_colors[n] = (PLINT)(PLOT_SERIES + s);
    line_styles[n] = c->series[s].dashed ? 2 : 1;
    line_widths[n] = 2.5;
    ++n;
  }
  if (n > 0) {
    PLFLT width = 0.0, height = 0.0;
    pllegend(&width, &height, 0, PL_POSITION_TOP | PL_POSITION_RIGHT | PL_POSITION_INSIDE, 0.02,
             0.02, 0.05, PLOT_LEGEND, PLOT_GRID, 1, n, 1, n, opt, 0.8, 0.85, 1.5, 0.0,
             text_colors, text, zero, zero, fzero, fzero, line_colors, line_styles,
             line_widths, NULL, NULL, NULL, NULL);
  }
}

int plot_lines_chart_write(const char *path, const plot_lines_chart *chart, char *err,
                           size_t err_size) {
  const char *device = plot_device_for_path(path);
  if (device == NULL) {
    set_err(err, err_size, "'%s': the file name must end in .png or .svg",
            path != NULL ? path : "(null)");
    return -1;
  }
  if (check_lines(chart, err, err_size) != 0)
    return -1;
  size_t most = 0;
  for (size_t s = 0; s < chart->count; ++s)
    most = chart->series[s].n > most ? chart->series[s].n : most;
  return render(path, device, chart->width_px, chart->height_px, draw_lines, chart, 4 * most,
                err, err_size);
}
